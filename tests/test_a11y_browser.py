"""Issue 13.5: accessibility, checked in Debian's Chromium.

* axe-core (the copy bundled in axe-playwright-python, injected from the package: the browser may
  reach only 127.0.0.1, so nothing comes from a CDN) runs on every page, in every frame (the maps'
  too): no critical or serious violation.
* Every map, whichever kind it is (the Map explorer's own component, app_support/mapview.py, or a
  streamlit-folium map), has a table of the same areas directly below it or beside it, reached
  with Tab (the map's shapes are not Tab stops: static/mapview.js and
  hiexplore.a11y.label_map_frame; the map itself is one stop, arrows pan, +/- zoom).

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
#: Tab presses allowed from the top of a page to its first map's table (from a map to its table),
#: and inside the map on the way.
MAX_TABS = 60
MAX_TABS_IN_MAP = 10
#: The maps' frames: the app's map component (its frame is titled by Streamlit from the
#: component's name) and streamlit-folium's.
MAP_FRAMES = "iframe[title*='hiexplore_map'], iframe[title='streamlit_folium.st_folium']"
#: A map's table is beside it (to its right, overlapping it in height) or directly below it
#: (overlapping it across, its top at most this many pixels under the map's bottom).
BELOW_PX = 300
#: Pages with maps, in page order, and which areas each map's table lists: on the Map explorer
#: every area (flagged or not); on Targets the target areas (coloured; the others are grey), then
#: the outreach patches (one row per patch drawn, then each flagged area left alone, not drawn).
#: All three tables are below their maps now; beside is accepted as well (the old layout).
MAP_PAGES = {"map_explorer": ("all",), "targets": ("valued", "patches")}


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
        frames = page.locator(MAP_FRAMES)
        for i in range(len(MAP_PAGES[path])):
            frames.nth(i).wait_for(state="attached", timeout=90_000)
        for i in range(len(MAP_PAGES[path])):
            frame = _content(page, i)
            frame.wait_for_selector("path.leaflet-interactive, canvas", state="attached", timeout=60_000)
            if frame.evaluate("() => !!window.hxState"):  # the component: shapes coloured by values
                frame.wait_for_function("() => window.hxState.valuesApplied > 0", timeout=60_000)


def _content(page, i: int):
    """The i-th map frame's content (a Playwright Frame), once it has loaded its page."""
    handle = page.locator(MAP_FRAMES).nth(i).element_handle()
    for _ in range(300):
        frame = handle.content_frame()
        if frame is not None and frame.url not in ("", "about:blank"):
            return frame
        page.wait_for_timeout(100)
    raise AssertionError(f"map frame {i} did not load")


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


def _map_areas(page, i: int) -> dict:
    """The i-th map's frame (kind, accessible name, box) and its areas (all, and those with a
    value): the component's areas of the chosen geography, or a folium map's area shapes."""
    frame_el = page.locator(MAP_FRAMES).nth(i)
    frame_el.scroll_into_view_if_needed()
    frame = _content(page, i)
    areas = frame.evaluate("""() => {
        if (window.hxAreaCount) return {kind: 'component', ...window.hxAreaCount()};
        const map = Object.values(window).find(v => v instanceof L.Map);
        let all = 0, valued = 0;
        map.eachLayer(l => { const p = l.feature && l.feature.properties;
            if (p && p.c !== undefined && p.k !== undefined) { all += 1; if (p.k >= 0) valued += 1; } });
        return {kind: 'folium', all, valued};
    }""")
    return {"label": frame_el.get_attribute("aria-label") or "", "box": frame_el.bounding_box(), **areas}


def _placed(box: dict, map_box: dict) -> str | None:
    """Where a table's box is from a map's: 'beside', 'below' or None (neither)."""
    right, bottom = map_box["x"] + map_box["width"], map_box["y"] + map_box["height"]
    if box["x"] >= right - 1 and box["y"] < bottom and box["y"] + box["height"] > map_box["y"]:
        return "beside"
    across = min(box["x"] + box["width"], right) - max(box["x"], map_box["x"])
    if across > 0 and bottom - 1 <= box["y"] <= bottom + BELOW_PX:
        return "below"
    return None


def _map_table(page, i: int, map_box: dict) -> dict:
    """The data table beside or directly below the i-th map (the nearest), marked
    ``data-hx-map-table=i`` for the Tab walk: its rows and where it is."""
    tables = page.locator("[data-testid='stDataFrame']")
    found = []
    for j in range(tables.count()):
        box = tables.nth(j).bounding_box()
        where = box and _placed(box, map_box)
        if where:
            gap = box["y"] - map_box["y"] - map_box["height"] if where == "below" else box["x"] - map_box["x"]
            found.append((gap, j, where, box))
    assert found, f"no table beside or directly below map {i}"
    _, j, where, box = min(found)
    table = tables.nth(j)
    table.evaluate("(el, i) => el.setAttribute('data-hx-map-table', String(i))", i)
    rows = int(table.locator("[role='grid']").get_attribute("aria-rowcount")) - 1  # less the header
    return {"rows": rows, "where": where, "box": box}


def _where_focus(page) -> str:
    """Where focus is: 'table<i>' (in map i's table), 'map<i>' (on map i's Leaflet container),
    'map<i>:path' (on one of its shapes), 'map<i>:<tag>' (another element in its frame), 'other'."""
    where = page.evaluate("""(sel) => { const a = document.activeElement;
        const t = a && a.closest('[data-hx-map-table]');
        if (t && a.closest('[data-testid=stDataFrameResizable]')) return 'table' + t.dataset.hxMapTable;
        const i = [...document.querySelectorAll(sel)].indexOf(a);
        return i >= 0 ? 'map' + i : 'other'; }""", MAP_FRAMES)
    if where.startswith("map"):
        inner = _content(page, int(where[3:])).evaluate("""() => { const a = document.activeElement;
            if (!a || a === document.body) return '';
            if (a.classList.contains('leaflet-container')) return 'container';
            return a.tagName.toLowerCase(); }""")
        where += "" if inner == "container" else f":{inner or 'frame'}"
    return where


def _tabs_to_table(page, i: int, start: str = "top") -> list[str]:
    """Press Tab from the top of the page (or from map i's frame) until focus is in map i's table
    (at most MAX_TABS times): where focus was after each press (see :func:`_where_focus`)."""
    if start == "top":
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    else:
        page.locator(MAP_FRAMES).nth(i).evaluate("el => el.focus()")
    trail: list[str] = []
    while len(trail) < MAX_TABS and trail[-1:] != [f"table{i}"]:
        page.keyboard.press("Tab")
        trail.append(_where_focus(page))
    return trail


def _keys_move_map(page, i: int) -> dict:
    """Focus map i's Leaflet container as Tab does, press an arrow key and '+': did the map pan
    and zoom (the keyboard's way around the map)?"""
    frame = _content(page, i)
    page.locator(MAP_FRAMES).nth(i).scroll_into_view_if_needed()
    view = """() => { const m = window.hxMap || Object.values(window).find(v => v instanceof L.Map);
        const c = m.getCenter(); return [c.lat, c.lng, m.getZoom()]; }"""
    frame.evaluate("() => document.querySelector('.leaflet-container').focus()")
    before = frame.evaluate(view)
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(600)
    panned = frame.evaluate(view)
    page.keyboard.press("+")
    page.wait_for_timeout(600)
    zoomed = frame.evaluate(view)
    return {"panned": panned[1] > before[1], "zoomed": zoomed[2] > panned[2]}


def _legend_contrast(page, i: int) -> dict:
    """axe's colour-contrast rule on map i's legend (inside its frame): how many text nodes pass,
    fail, or could not be judged (a see-through box over the map leaves axe unable to tell)."""
    page.locator(MAP_FRAMES).nth(i).evaluate("(el, i) => el.setAttribute('data-hx-axe-map', String(i))", i)
    context = {"include": [[f"iframe[data-hx-axe-map='{i}']", ".hx-legend"]]}
    r = page.evaluate("([context, options]) => axe.run(context, options)",
                      [context, {"runOnly": ["color-contrast"]}])
    return {kind: sum(len(v["nodes"]) for v in r[kind]) for kind in ("passes", "violations", "incomplete")}


def _alone(page) -> int:
    """The flagged areas the Targets page's patches section lists alone (from its summary line)."""
    text = page.get_by_text(re.compile(r"flagged areas could not join one")).first.inner_text()
    return int(re.search(r"([\d,]+) flagged areas could not join one", text).group(1).replace(",", ""))


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
            maps = []
            for i, which in enumerate(MAP_PAGES[path]):
                m = _map_areas(page, i)
                m["which"] = which
                m["alone"] = _alone(page) if which == "patches" else 0
                m["table"] = _map_table(page, i, m["box"])
                maps.append(m)
            found[path]["maps"] = maps
            found[path]["tabs"] = _tabs_to_table(page, 0)
            page.screenshot(path=str(ARTIFACTS / f"a11y_tab_{re.sub(r'[^a-z0-9]+', '_', path)}.png"))
            for i, m in enumerate(maps):
                m["tabs_from_map"] = _tabs_to_table(page, i, start="map")
                m["keys"] = _keys_move_map(page, i)
                m["legend_contrast"] = _legend_contrast(page, i)
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
    assert sum(a["frames"] for a in audit.values()) >= sum(map(len, MAP_PAGES.values())), (
        "the maps' frames were not checked")
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


MAPS = [(path, i) for path, maps in MAP_PAGES.items() for i in range(len(maps))]


def test_the_map_explorer_shows_the_component_and_targets_folium_maps(audit) -> None:
    """Both kinds of map are checked (a selector that missed one kind would skip its checks)."""
    assert [m["kind"] for m in audit["map_explorer"]["maps"]] == ["component"]
    assert [m["kind"] for m in audit["targets"]["maps"]] == ["folium", "folium"]


@pytest.mark.parametrize(("path", "i"), MAPS)
def test_each_map_has_a_table_of_its_areas_beside_or_below_it(audit, path: str, i: int) -> None:
    m = audit[path]["maps"][i]
    which, rows = m["which"], m["table"]["rows"]
    drawn = m["valued" if which == "patches" else which]
    assert drawn > 0 and rows == drawn + m["alone"], (
        f"{path}: map {i} draws {drawn} areas ({which}), {m['alone']} listed alone; its table lists {rows}")
    assert m["table"]["where"] in ("beside", "below")


@pytest.mark.parametrize(("path", "i"), MAPS)
def test_each_maps_table_is_reached_by_tab_without_stopping_at_every_area(audit, path: str, i: int) -> None:
    trails = [("from the map", audit[path]["maps"][i]["tabs_from_map"])]
    if i == 0:
        trails.append(("from the top of the page", audit[path]["tabs"]))
    for start, trail in trails:
        assert trail[-1:] == [f"table{i}"], f"{path}: Tab {start} did not reach map {i}'s table in {MAX_TABS}: {trail}"
        in_map = [t for t in trail if t.startswith(f"map{i}")]
        assert len(in_map) <= MAX_TABS_IN_MAP, f"{path}: {len(in_map)} Tab presses inside map {i}: {trail}"
        assert not any(t.endswith(":path") for t in trail), f"{path}: Tab stops at a map's shapes: {trail}"
    trail = audit[path]["maps"][i]["tabs_from_map"]
    assert trail.count(f"map{i}") == 1, f"{path}: map {i} itself is not one Tab stop: {trail}"


@pytest.mark.parametrize(("path", "i"), MAPS)
def test_each_maps_legend_text_has_enough_contrast_as_axe_measures_it(audit, path: str, i: int) -> None:
    found = audit[path]["maps"][i]["legend_contrast"]
    assert found["passes"] >= 3 and found["violations"] == 0 and found["incomplete"] == 0, (path, i, found)


@pytest.mark.parametrize(("path", "i"), MAPS)
def test_each_map_pans_with_arrow_keys_and_zooms_with_plus(audit, path: str, i: int) -> None:
    assert audit[path]["maps"][i]["keys"] == {"panned": True, "zoomed": True}, path


@pytest.mark.parametrize(("path", "i"), MAPS)
def test_each_map_frame_has_an_accessible_name_pointing_to_its_table(audit, path: str, i: int) -> None:
    m = audit[path]["maps"][i]
    label = m["label"]
    assert label.startswith("Map of") and f"table {m['table']['where']} it lists" in label, (
        f"{path}: map {i}'s frame is named {label!r}, its table is {m['table']['where']} it")


def test_axe_comes_from_the_package_not_a_cdn() -> None:
    """The script injected is the file shipped in the wheel; the addresses in it are only the
    rules' help pages and licences (the page test above proves nothing is fetched at run time)."""
    axe = pytest.importorskip("axe_playwright_python.base", reason="axe-playwright-python is not installed")
    path = Path(axe.AXE_FILE_PATH)
    assert path.is_file() and path.stat().st_size > 100_000
    assert axe.AXE_SCRIPT.startswith("/*! axe v4")
    hosts = set(re.findall(r"https?://([a-z0-9.-]+)", axe.AXE_SCRIPT))
    assert hosts <= {"dequeuniversity.com", "github.com", "mozilla.org", "www.w3.org"}, hosts
