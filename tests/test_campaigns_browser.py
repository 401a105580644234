"""The Campaigns page in a real browser (headless Chromium): record a campaign, then see "did it work"."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_e2e_app import _serve

from hiexplore.campaigns.store import CampaignStore

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "_artifacts"
# slow (a Streamlit server and Chromium, ~30 s): the same flow is proven without a browser by
# tests/test_campaigns_page.py on both engines; this one is the real-browser check and screenshot.
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def app_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, embedded_dataset: Path):
    db = f"sqlite:///{tmp_path / 'campaigns.sqlite'}"
    served = _serve(tmp_path_factory, embedded_dataset, {"HIEXPLORE_DB": db})
    url, log = next(served)
    yield url, db
    next(served, None)  # stops the server
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def _pick(page, label: str, text: str) -> None:
    """Choose ``text`` in the multiselect labelled ``label`` (type it, then Enter)."""
    box = page.get_by_label(label, exact=False).first
    box.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def test_record_a_campaign_in_the_browser_and_see_did_it_work(app_url) -> None:
    from playwright.sync_api import sync_playwright

    url, db = app_url
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = b.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/campaigns")
        page.get_by_role("tab", name="Record a campaign").click(timeout=120_000)
        page.get_by_label("Name").fill("MMR catch-up (browser)")
        _pick(page, "Programmes (indicators)", "MMR1 at 24")
        page.get_by_label("Team").fill("Leicester City CDT")
        for part, value in (("year", "2024"), ("month", "01"), ("day", "15")):  # a segmented date field
            page.get_by_role("spinbutton", name=f"{part}, Start").click()
            page.keyboard.type(value)
        _pick(page, "GP practices", "C82001")
        page.get_by_role("button", name="Save campaign").click()
        page.get_by_text("What it can and cannot show").wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "campaigns_did_it_work.png"))
        body = page.inner_text("body")
        b.close()
    assert not errors, errors
    store = CampaignStore(db)
    (saved,) = store.list()
    store.dispose()
    assert saved["name"] == "MMR catch-up (browser)" and saved["indicators"] == ["mmr1_24m"]
    assert saved["practices"] == ["C82001"] and saved["start_date"] == "2024-01-15"
    assert "Quarters before / after" in body and "3 / 3" in body
