"""Issue 13.5: accessibility, checked in Debian's Chromium.

* axe-core (the copy bundled in axe-playwright-python, injected from the package: the browser may
  reach only 127.0.0.1, so nothing comes from a CDN) runs on every page, in every frame (the maps'
  too): no critical or serious violation.
* Every map has a table of the same areas beside it, reached from the top of the page with Tab
  (the map's shapes are not Tab stops: see hiexplore.a11y.label_map_frame).

One app server (the embedded data) and one Chromium for the module.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_e2e_app import ARTIFACTS, CHROMIUM, REPO, _serve, _wait_idle

pytestmark = pytest.mark.browser

#: Every page of app.py's navigation (its address), with text that shows it has rendered. The
#: Overview is the default page, at / (its url_path /overview opens a "Page not found" dialog).
PAGES = {
    "": "Headline inequality",
    "map_explorer": "Map explorer",
    "practices": "compare GP practices",
    "targets": "where outreach changes most",
    "inequalities": "Inequalities",
    "campaigns": "Campaign log",
    "data": "Validation report",
}
#: Impacts that fail the test (axe's "moderate" and "minor" are reported, not failed), and the
#: rules of lesser impact that fail it too because the pages meet them (a screen-reader user
#: moving by headings meets no skipped level: page title h1, sections h2).
FAILING_IMPACTS = ("critical", "serious")
ALSO_FAILING_RULES = ("heading-order",)
#: Elements of Streamlit's own chrome that hiexplore cannot change, left out of the axe run.
#: Each entry: (CSS selector, why). Keep it short: a page's own element never belongs here.
#: None is needed with Streamlit 1.67: its chrome (navigation, toolbar, dataframe, uploader) has no
#: critical or serious violation (the uploader's minor presentation-role-conflict is only reported).
EXCLUDED: tuple[tuple[str, str], ...] = ()
#: Tab presses allowed from the top of a page to its map's table, and inside the map on the way.
MAX_TABS = 60
MAX_TABS_IN_MAP = 10
#: Pages with a map, and which of its areas the table beside it lists: on the Map explorer every
#: area (flagged or not), on Targets the target areas (coloured; the others are grey).
MAP_PAGES = {"map_explorer": "all", "targets": "valued"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    dataset = None
    if not (REPO / "data" / "llr" / "manifest.json").is_file():
        from hiexplore.demo import write_demo

        dataset = tmp_path_factory.mktemp("a11y") / "demo"
        write_demo(dataset, 300, 40, 3)
    yield from _serve(tmp_path_factory, dataset)


@pytest.fixture(scope="module")
def page(server):
    """One Chromium page for the module; requests leaving 127.0.0.1 are blocked and recorded."""
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    from playwright.sync_api import sync_playwright

    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        ctx = browser.new_context(viewport={"width": 1440, "height": 900})
        blocked: list[str] = []

        def route(r) -> None:
            u = r.request.url
            if u.startswith(("data:", "blob:", "about:")) or u.split("://", 1)[-1].startswith("127.0.0.1"):
                r.continue_()
            else:
                blocked.append(u)
                r.abort()

        ctx.route("**/*", route)
        pg = ctx.new_page()
        pg.hx_url, pg.hx_blocked = url, blocked
        yield pg
        browser.close()


def _open(page, path: str) -> None:
    page.goto(f"{page.hx_url}/{path}")
    _wait_idle(page)
    page.get_by_text(PAGES[path.split("?")[0]], exact=False).first.wait_for(timeout=60_000)
    assert not page.locator("[data-testid='stException']").count(), f"{path}: the page raised"
    if path in MAP_PAGES:  # a map is drawn once its frame has its shapes
        page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=60_000)
        frame = None
        for _ in range(100):
            frame = next((f for f in page.frames if "st_folium" in f.url), None)
            if frame is not None:
                break
            page.wait_for_timeout(100)
        assert frame is not None, f"{path}: the map's frame did not load"
        frame.wait_for_selector("path.leaflet-interactive, canvas", state="attached", timeout=60_000)


def _axe(page) -> dict:
    """Run axe-core on the page and its frames (axe must be in each frame to look inside it)."""
    from axe_playwright_python.base import AXE_SCRIPT

    for frame in page.frames[1:]:
        frame.evaluate(AXE_SCRIPT)
    page.evaluate(AXE_SCRIPT)
    context = {"include": [["html"]], "exclude": [[sel] for sel, _ in EXCLUDED]}
    return page.evaluate("([context, options]) => axe.run(context, options)",
                         [context, {"resultTypes": ["violations"]}])


def _failures(path: str, results: dict) -> list[str]:
    return [
        f"/{path}: [{v['impact']}] {v['id']} at {' >> '.join(node['target'])}: {v['help']}"
        for v in results["violations"] if v["impact"] in FAILING_IMPACTS or v["id"] in ALSO_FAILING_RULES
        for node in v["nodes"]
    ]


def _map_areas(page) -> dict:
    """The map's frame (accessible name, box) and its drawn areas (all, and those with a value)."""
    frame_el = page.locator("iframe[title='streamlit_folium.st_folium']").first
    frame = next(f for f in page.frames if "st_folium" in f.url)
    areas = frame.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let all = 0, valued = 0;
        map.eachLayer(l => { const p = l.feature && l.feature.properties;
            if (p && p.c !== undefined && p.k !== undefined) { all += 1; if (p.k >= 0) valued += 1; } });
        return {all, valued};
    }""")
    return {"label": frame_el.get_attribute("aria-label") or "", "box": frame_el.bounding_box(), **areas}


def _table_beside(page) -> tuple[int, dict]:
    """Rows of the first data table in a column (beside the map), and its box."""
    table = page.locator("[data-testid='stColumn'] [data-testid='stDataFrame']").first
    rows = int(table.locator("[role='grid']").get_attribute("aria-rowcount")) - 1  # less the header
    return rows, table.bounding_box()


def _tabs_to_table(page) -> list[str]:
    """Press Tab from the top of the page until focus is in a data table's grid (at most
    MAX_TABS times): where focus was after each press ('map', 'table', 'other')."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    trail: list[str] = []
    while len(trail) < MAX_TABS and trail[-1:] != ["table"]:
        page.keyboard.press("Tab")
        trail.append(page.evaluate("""() => { const a = document.activeElement;
            if (a && a.closest('[data-testid=stDataFrame] [data-testid=stDataFrameResizable]')) return 'table';
            return a && a.tagName === 'IFRAME' && a.title.includes('st_folium') ? 'map' : 'other'; }"""))
    return trail


@pytest.fixture(scope="module")
def audit(page) -> dict[str, dict]:
    """Each page opened once: axe's findings and, on a page with a map, its table and Tab path."""
    found: dict[str, dict] = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in PAGES:
        _open(page, path)
        results = _axe(page)
        found[path] = {"engine": results["testEngine"]["name"], "failures": _failures(path, results),
                       "frames": len(page.frames) - 1}
        if path in MAP_PAGES:
            found[path]["map"] = _map_areas(page)
            found[path]["table"] = _table_beside(page)
            found[path]["tabs"] = _tabs_to_table(page)
            page.screenshot(path=str(ARTIFACTS / f"a11y_tab_{re.sub(r'[^a-z0-9]+', '_', path)}.png"))
        found[path]["hidden_parts"] = _open_hidden_parts(page, path, found[path]["failures"])
    return found


def _open_hidden_parts(page, path: str, failures: list[str]) -> int:
    """Open every expander and each tab in turn, running axe on what they show (axe skips what is
    hidden); returns how many were opened. Neither reruns the page."""
    opened = 0
    closed = page.locator("[data-testid='stExpander'] details:not([open]) > summary")
    if closed.count():
        for i in reversed(range(closed.count())):
            closed.nth(i).click()
            opened += 1
        page.wait_for_timeout(300)
        failures += _failures(f"{path} (expanders open)", _axe(page))
    tabs = page.locator("[data-testid='stTabs'] [role='tab']")
    for i in range(1, tabs.count()):  # the first tab is shown already
        tabs.nth(i).click()
        page.wait_for_timeout(300)
        failures += _failures(f"{path} (tab {tabs.nth(i).inner_text()!r})", _axe(page))
        opened += 1
    return opened


def test_every_page_has_no_critical_or_serious_axe_violation_nor_skipped_heading(page, audit) -> None:
    assert set(audit) == set(PAGES)
    assert {a["engine"] for a in audit.values()} == {"axe-core"}
    assert sum(a["frames"] for a in audit.values()) >= len(MAP_PAGES), "the maps' frames were not checked"
    assert audit["campaigns"]["hidden_parts"] >= 2, "the Campaigns page's tabs were not checked"
    assert not page.hx_blocked, f"the browser asked the internet for {page.hx_blocked[:3]} (axe must come from the package)"
    failures = [f for a in audit.values() for f in a["failures"]]
    assert not failures, "accessibility violations:\n" + "\n".join(failures)


def test_every_page_of_the_navigation_is_checked() -> None:
    """A page added to app.py's st.navigation is added here too (the default one is at /)."""
    app_py = (REPO / "app.py").read_text(encoding="utf-8")
    pages = re.findall(r'st\.Page\("pages/\w+\.py".*?url_path="(\w+)"', app_py)
    default = re.findall(r'st\.Page\("pages/\w+\.py"[^\n]*default=True[^\n]*url_path="(\w+)"', app_py)
    assert len(pages) >= 7 and len(default) == 1
    assert {"" if p in default else p for p in pages} == set(PAGES)


def test_exclusions_stay_few_and_explained() -> None:
    assert len(EXCLUDED) <= 3, "only a few selectors of Streamlit's own chrome may be left out of axe"
    for selector, why in EXCLUDED:
        assert selector.strip() and len(why) > 20, (selector, why)
        assert "stMain" not in selector and "stVerticalBlock" not in selector, "never a page's content"


@pytest.mark.parametrize("path", list(MAP_PAGES))
def test_each_map_has_a_table_of_its_areas_beside_it(audit, path: str) -> None:
    frame, (rows, box) = audit[path]["map"], audit[path]["table"]
    which = MAP_PAGES[path]
    assert frame[which] > 0 and rows == frame[which], (
        f"{path}: the map draws {frame[which]} areas ({which}), the table beside it lists {rows}")
    assert box["x"] >= frame["box"]["x"] + frame["box"]["width"] - 1, "the table is not beside the map"
    assert box["y"] < frame["box"]["y"] + frame["box"]["height"], "the table is not beside the map"


@pytest.mark.parametrize("path", list(MAP_PAGES))
def test_each_maps_table_is_reached_by_tab_without_stopping_at_every_area(audit, path: str) -> None:
    trail = audit[path]["tabs"]
    assert trail[-1:] == ["table"], f"{path}: Tab did not reach the table in {MAX_TABS} presses: {trail}"
    assert trail.count("map") <= MAX_TABS_IN_MAP, (
        f"{path}: {trail.count('map')} Tab presses inside the map before its table")


@pytest.mark.parametrize("path", list(MAP_PAGES))
def test_each_map_frame_has_an_accessible_name_pointing_to_its_table(audit, path: str) -> None:
    label = audit[path]["map"]["label"]
    assert label.startswith("Map of") and "table beside it" in label, f"{path}: the map's frame is named {label!r}"


def test_axe_comes_from_the_package_not_a_cdn() -> None:
    """The script injected is the file shipped in the wheel; the addresses in it are only the
    rules' help pages and licences (the page test above proves nothing is fetched at run time)."""
    axe = pytest.importorskip("axe_playwright_python.base", reason="axe-playwright-python is not installed")
    path = Path(axe.AXE_FILE_PATH)
    assert path.is_file() and path.stat().st_size > 100_000
    assert axe.AXE_SCRIPT.startswith("/*! axe v4")
    hosts = set(re.findall(r"https?://([a-z0-9.-]+)", axe.AXE_SCRIPT))
    assert hosts <= {"dequeuniversity.com", "github.com", "mozilla.org", "www.w3.org"}, hosts
