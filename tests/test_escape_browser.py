"""Issue 11.1 in a real browser: names carrying injection payloads are shown, never run.

The app is served on the payload dataset (conftest ``payload_dataset``: every kind of name holds
``{{ 7*7 }}``, ``{% if 1 %}x{% endif %}``, ``${7*7}``, ``%{x}``, ``<img src=x onerror=alert(1)>``,
``</script><script>alert(1)</script>`` and ``javascript:alert(1)``). Each page and the standalone
``hiexplore map`` file are opened; no JavaScript dialog may fire and the literal text is shown.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from payloads import TAG
from test_e2e_app import ARTIFACTS, _page, _serve, _wait_idle
from typer.testing import CliRunner

pytestmark = pytest.mark.browser
INDICATOR = "smoking_prevalence_qof"
SHOWN = "T{{ 7*7 }}T T{% if 1 %}x{% endif %}T T${7*7}T T%{x}T T<img src=x onerror=alert(1)>T"


@pytest.fixture(scope="module")
def payload_server(tmp_path_factory: pytest.TempPathFactory, payload_dataset: Path):
    yield from _serve(tmp_path_factory, payload_dataset)


@pytest.fixture(scope="module")
def chromium():
    from test_e2e_app import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        yield b
        b.close()


def _watch_dialogs(page) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(d) -> None:
        dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def _map_frame(page):
    from test_e2e_app import _map_frame as component_frame

    fr = component_frame(page, timeout=60_000)
    fr.wait_for_selector("path.leaflet-interactive", timeout=60_000)
    return fr


def _hover_tooltip(fr, mouse, offset: tuple[float, float] = (0.0, 0.0)) -> str:
    """Hover the first area polygon that is on top at its centre; the tooltip's text."""
    point = fr.evaluate("""() => {
        for (const p of document.querySelectorAll('path.leaflet-interactive')) {
            const r = p.getBoundingClientRect();
            if (r.width < 8 || r.height < 8) continue;
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (document.elementFromPoint(x, y) === p && p.getAttribute('fill-opacity') !== null) return [x, y];
        }
        return null;
    }""")
    assert point, "no area polygon to hover"
    mouse.move(offset[0] + point[0], offset[1] + point[1])
    fr.wait_for_selector(".hx-tip", timeout=15_000)
    return fr.inner_text(".hx-tip")


@pytest.fixture()
def clean_uploads():
    """The Data page stages uploads under data/.uploads/<session>: remove what this test staged."""
    uploads = Path(__file__).resolve().parents[1] / "data" / ".uploads"
    before = set(uploads.iterdir()) if uploads.is_dir() else set()
    yield
    if uploads.is_dir():
        for d in set(uploads.iterdir()) - before:
            shutil.rmtree(d, ignore_errors=True)
        if not any(uploads.iterdir()):
            uploads.rmdir()


def test_pages_show_payload_names_as_text_and_fire_no_dialog(payload_server, chromium, payload_dataset,
                                                             clean_uploads) -> None:
    url, _ = payload_server
    ctx, page, blocked, errors = _page(chromium, url)
    dialogs = _watch_dialogs(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # Map explorer: area labels, a tooltip and the profile show the names literally
    page.goto(f"{url}/map_explorer?ind={INDICATOR}&geo=lsoa&layer=uptake")
    _wait_idle(page)
    fr = _map_frame(page)
    labels = fr.locator(".hx-label").all_inner_texts()
    assert any(SHOWN in t for t in labels), labels[:2]
    from test_e2e_app import MAP_IFRAME

    box = page.locator(MAP_IFRAME).first.bounding_box()
    tip = _hover_tooltip(fr, page.mouse, (box["x"], box["y"]))
    assert TAG in tip, tip  # all seven payloads, as text
    page.wait_for_function("(s) => document.body.innerText.includes('Profile of') && document.body.innerText.includes(s)",
                           arg=TAG, timeout=60_000)  # all seven payloads, through markdown
    page.screenshot(path=str(ARTIFACTS / "escape_map_explorer.png"))

    # Practices: the chart's practice labels (plotly decodes the escapes back to the text)
    page.goto(f"{url}/practices?ind={INDICATOR}")
    _wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    ticks = " ".join(page.locator(".js-plotly-plot .ytick text").all_text_contents())
    assert "T{{ 7*7 }}T" in ticks and "T<img src=x onerror=alert(1)>T" in ticks, ticks[:300]

    # Targets (its map's labels), Inequalities and Overview open cleanly
    page.goto(f"{url}/targets?inds={INDICATOR}&geo=lsoa")
    _wait_idle(page)
    page.get_by_text("where outreach changes most").first.wait_for(timeout=60_000)
    page.goto(f"{url}/inequalities?ind={INDICATOR}")
    _wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.goto(f"{url}/overview")
    _wait_idle(page)
    page.get_by_text("Headline inequality").first.wait_for(timeout=60_000)

    # Data: an upload whose name carries payloads is listed as text; a refused one is named literally
    page.goto(f"{url}/data")
    _wait_idle(page)
    boundary = next((payload_dataset.parent / "sources").glob("boundaries_lsoa21_*.geojson")).read_bytes()
    page.locator("input[type='file']").set_input_files([
        {"name": "T{{ 7*7 }}T T<img src=x onerror=alert(1)>T.geojson", "mimeType": "application/geo+json",
         "buffer": boundary},
        {"name": "T{% if 1 %}x{% endif %}T javascript:alert(1).exe", "mimeType": "text/plain", "buffer": b"x"},
    ])
    _wait_idle(page)
    page.wait_for_function("() => document.body.innerText.includes('T{% if 1 %}x{% endif %}T javascript:alert(1).exe')",
                           timeout=60_000)
    # the uploader shortens long names in the middle, as text: "T{{ 7...1)>T.geojson"
    shown = page.evaluate("() => document.body.innerText")
    assert "T{{ 7" in shown and ")>T.geojson" in shown
    # the dataset's folder name (sidebar and the list of datasets) is shown as it is
    # (the page reruns after the upload: wait until its last section, the dataset list, is drawn)
    name_js = json.dumps(payload_dataset.name)
    page.wait_for_function(f"() => document.body.innerText.split({name_js}).length - 1 >= 2", timeout=60_000)
    shown = page.evaluate("() => document.body.innerText")
    assert shown.count(payload_dataset.name) >= 2, payload_dataset.name
    page.get_by_role("button", name="Check the files").click()
    _wait_idle(page)
    page.get_by_text("recognised and valid").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "escape_data.png"))

    body = page.evaluate("() => document.body.innerText")
    assert "T49T" not in body
    assert not page.locator("[data-testid='stException']").count()
    assert not dialogs, dialogs
    assert not errors, errors
    ctx.close()


def test_standalone_map_file_shows_names_and_fires_no_dialog(chromium, payload_dataset, tmp_path) -> None:
    from hiexplore.cli import app

    out = tmp_path / "map.html"
    res = CliRunner().invoke(app, ["map", "--dataset", str(payload_dataset), "--indicator", INDICATOR,
                                   "--geography", "lsoa", "--layer", "deprivation", "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    dialogs = _watch_dialogs(page)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    page.wait_for_selector("path.leaflet-interactive", timeout=30_000)
    labels = page.locator(".hx-label").all_inner_texts()
    assert any(SHOWN in t for t in labels), labels[:2]
    tip = _hover_tooltip(page.main_frame, page.mouse)
    assert SHOWN in tip, tip
    page.wait_for_timeout(500)  # an injected onerror would have fired by now
    page.screenshot(path=str(ARTIFACTS / "escape_standalone_map.png"))
    assert not dialogs, dialogs
    assert not errors, errors
    page.close()


def test_standalone_zoom_map_shows_names_and_fires_no_dialog(chromium, payload_dataset, tmp_path) -> None:
    """The canvas zoom map (national scale) builds its tooltips in JavaScript from script data."""
    from hiexplore.dataset import load_dataset
    from hiexplore.mapping import indicator_map
    from hiexplore.maps import save_map

    out = save_map(indicator_map(load_dataset(payload_dataset), INDICATOR, "lsoa", zoom_levels=True),
                   tmp_path / "zoom.html")
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    dialogs = _watch_dialogs(page)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    page.wait_for_function("() => window.hxPainted && window.hxMap", timeout=30_000)
    # zoom in, then hover a point inside a drawn area
    page.evaluate("() => window.hxMap.setZoom(window.hxMap.getZoom() + 2, {animate: false})")
    page.wait_for_timeout(500)
    point = page.evaluate("""() => {
        const m = window.hxMap, size = m.getSize(), r = m.getContainer().getBoundingClientRect();
        for (const [fx, fy] of [[0.5, 0.5], [0.45, 0.55], [0.55, 0.45], [0.4, 0.4], [0.6, 0.6], [0.3, 0.7]]) {
            const pt = L.point(size.x * fx, size.y * fy), lp = m.containerPointToLayerPoint(pt);
            let hit = false;
            m.eachLayer(l => { if (l.hxData && l._containsPoint && l._containsPoint(lp)) hit = true; });
            if (hit) return [r.left + pt.x, r.top + pt.y];
        }
        return null;
    }""")
    assert point, "no drawn area"
    page.mouse.move(point[0] - 1, point[1] - 1)
    page.mouse.move(point[0], point[1])
    page.wait_for_selector(".hx-tip", timeout=15_000)
    tip = page.inner_text(".hx-tip")
    assert TAG in tip or SHOWN in tip, tip
    page.screenshot(path=str(ARTIFACTS / "escape_zoom_map.png"))
    assert not dialogs, dialogs
    assert not errors, errors
    page.close()
