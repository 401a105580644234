"""The Campaigns page (AppTest) on the embedded LLR data, against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hiexplore.campaigns.store import CampaignStore
from hiexplore.dataset import load_dataset

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
# The page on its own: app.py's router guard reruns every AppTest run (AppTest resets Streamlit's
# pages-folder flag), which swallows a button's click; the page alone has no pages/ folder beside it.
PAGE = str(REPO / "pages" / "campaigns.py")


@pytest.fixture()
def page(db_url: str, embedded_dataset: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HIEXPLORE_DATASET", str(embedded_dataset))

    def make() -> AppTest:
        return AppTest.from_file(PAGE, default_timeout=180)

    return make


def test_record_a_campaign_on_the_page_then_see_did_it_work(page, db_url: str) -> None:
    at = page().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No campaigns recorded yet" in i.value for i in at.info)
    at.text_input(key="new_name").input("MMR catch-up <script>alert(1)</script>")
    at.multiselect(key="new_inds").select("mmr1_24m")
    at.text_input(key="new_team").input("Leicester CDT")
    at.date_input(key="new_start").set_value(date(2024, 1, 15))
    at.multiselect(key="new_prac").select("C82001").select("C82002")
    at.text_input(key="new_who").input("A. Analyst")
    at.button(key="new_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    store = CampaignStore(db_url)
    (saved,) = store.list()
    assert saved["practices"] == ["C82001", "C82002"] and saved["recorded_by"] == "A. Analyst"
    assert at.query_params["campaign"] == str(saved["id"])
    # the Did it work? tab: verdict, numbers, caveats and the comparison list
    assert any(s.value.startswith(("Too few quarters to tell", "Cannot tell")) for s in [*at.info, *at.success])
    assert any(m.label == "Quarters before / after" and m.value == "3 / 3" for m in at.metric)
    assert any("What it can and cannot show" in m.value for m in at.markdown)
    assert any("\\<script\\>" in m.value for m in at.markdown)  # the name is shown as text, not markup
    assert len(at.dataframe) >= 3
    store.dispose()


def test_a_bad_value_on_the_page_says_why_and_writes_nothing(page, db_url: str) -> None:
    at = page().run()
    at.text_input(key="new_name").input("Backwards")
    at.multiselect(key="new_inds").select("mmr1_24m")
    at.text_input(key="new_team").input("T")
    at.date_input(key="new_start").set_value(date(2024, 3, 1))
    at.checkbox(key="new_hasend").check()
    at.date_input(key="new_end").set_value(date(2024, 1, 1))
    at.multiselect(key="new_areas").select("E01013600")
    at.button(key="new_save").click().run()
    assert not at.exception
    # messages reach markdown escaped (text a user typed is shown as itself): compare what is shown
    shown = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]
    assert any("Not saved: The end date 2024-01-01 is before the start date 2024-03-01" in m for m in shown)
    store = CampaignStore(db_url)
    assert store.list() == []
    store.dispose()


def test_edit_and_close_on_the_page(page, db_url: str, embedded_dataset: Path) -> None:
    store = CampaignStore(db_url)
    cid = store.add(name="Rutland MMR", indicators="mmr1_24m", team="Rutland", start="2023-10-01",
                    areas="E06000017", ds=load_dataset(embedded_dataset))
    at = page().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.label == "Targeted / comparison" and m.value == "1 / 2" for m in at.metric)  # UTLA level
    at.text_area(key=f"edit{cid}v1_notes").input("school sessions")
    at.button(key=f"edit{cid}v1_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert store.get(cid)["notes"] == "school sessions"
    at.button[[b.label for b in at.button].index("Close campaign")].click().run()
    assert not at.exception
    assert store.get(cid)["status"] == "closed"
    store.dispose()


def test_the_page_runs_inside_the_app(page, db_url: str, embedded_dataset: Path) -> None:
    """Through app.py's navigation, with a campaign on record: no exception, the evaluation shown."""
    store = CampaignStore(db_url)
    store.add(name="MMR catch-up", indicators="mmr1_24m", team="CDT", start="2024-01-15",
              areas="E01013600,E01013601,E01013602", ds=load_dataset(embedded_dataset))
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/campaigns.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Campaigns")
    assert any("APPORTIONED" in m.value for m in at.markdown)  # LSOA figures are modelled, and it says so
    store.dispose()


def test_a_campaign_from_another_dataset_cannot_be_edited_into_losing_codes(page, db_url: str,
                                                                           demo_dataset: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store = CampaignStore(db_url)
    cid = store.add(name="LLR campaign", indicators="mmr1_24m", team="T", start="2024-01-15",
                    areas="E01013600", practices="C82001")  # recorded without a dataset check
    monkeypatch.setenv("HIEXPLORE_DATASET", str(demo_dataset))
    at = page().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("does not hold" in w.value for w in at.warning)
    assert not any(b.key == f"edit{cid}v1_save" for b in at.button)
    assert store.get(cid)["areas"] == ["E01013600"]
    store.dispose()
