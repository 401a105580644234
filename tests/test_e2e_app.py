"""End to end in headless Chromium: start the app, open every page, click the map, download.

The browser may reach only 127.0.0.1 (and data:/blob: URLs): the app must work offline. Screenshots
go to tests/_artifacts/ for a person to look at.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_healthy

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "_artifacts"
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path_factory: pytest.TempPathFactory, dataset: Path | None, extra_env: dict[str, str] | None = None):
    """Start ``streamlit run app.py`` on a free port (on ``dataset`` if given) until healthy."""
    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    env = dict(os.environ)
    if dataset is not None:
        env["HIEXPLORE_DATASET"] = str(dataset)
    env.update(extra_env or {})
    port = _free_port()
    log = tmp_path_factory.mktemp("log") / "server.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, log.read_text)
    yield url, log
    proc.terminate()
    proc.wait(timeout=20)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    dataset = None
    if not (REPO / "data" / "llr" / "manifest.json").is_file():
        from hiexplore.demo import write_demo

        dataset = tmp_path_factory.mktemp("e2e") / "demo"
        write_demo(dataset, 300, 40, 3)
    yield from _serve(tmp_path_factory, dataset)


@pytest.fixture(scope="module")
def zoom_server(tmp_path_factory: pytest.TempPathFactory):
    """The app on a synthetic region big enough (6,000 LSOAs) for the national zoom map."""
    from hiexplore.demo import write_demo
    from hiexplore.maps_national import ZOOM_MAP_THRESHOLD

    dataset = tmp_path_factory.mktemp("e2e_zoom") / "region"
    write_demo(dataset, ZOOM_MAP_THRESHOLD + 1_000, 900, 5)
    yield from ((url, log, dataset) for url, log in _serve(tmp_path_factory, dataset))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield b
        b.close()


def _page(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    blocked: list[str] = []

    def route(r):
        u = r.request.url
        if u.startswith(("data:", "blob:", "about:")) or u.split("://", 1)[-1].startswith("127.0.0.1"):
            return r.continue_()
        blocked.append(u)
        return r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, page, blocked, errors


def _wait_idle(page, timeout: float = 90_000) -> None:
    """Wait until the script has stopped running for a sustained second (not just started)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    page.wait_for_function(
        """() => {
            const busy = document.querySelector('[data-testid="stStatusWidget"]')
                || document.querySelector('[data-testid="stSkeleton"]');
            const now = Date.now();
            if (busy) { window.__hxIdleSince = null; return false; }
            window.__hxIdleSince = window.__hxIdleSince || now;
            return now - window.__hxIdleSince > 1500;
        }""",
        timeout=timeout, polling=250,
    )


#: the Map explorer's map component (app_support/mapview.py)
MAP_IFRAME = "iframe[title*='hiexplore_map']"


def _map_frame(page, timeout: float = 120_000):
    """The map component's frame, once it has drawn a layer's values."""
    page.locator(MAP_IFRAME).first.wait_for(timeout=timeout)
    deadline = time.time() + timeout / 1000
    while not (frames := [f for f in page.frames if "hiexplore_map" in f.url]) and time.time() < deadline:
        page.wait_for_timeout(200)
    assert frames, "the map component's frame did not load"
    frames[0].wait_for_function("() => window.hxState && window.hxState.valuesApplied > 0", timeout=timeout)
    return frames[0]


def _choose(page, label: str) -> str:
    """Pick, in the selectbox labelled ``label``, the first option that is not chosen now."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    current = box.locator("input").input_value()
    box.locator("input").click()
    options = page.locator("[role=option]")
    options.first.wait_for(timeout=30_000)
    texts = options.all_inner_texts()
    choice = next(t for t in texts if t.strip() and t.strip() != current.strip())
    options.filter(has_text=choice).first.click()
    return choice


def _click_until_area_changes(page, x: float, y: float, before: str | None) -> bool:
    """Click at (x, y) until the URL's area changes: the map component may re-render once after
    its first value, swallowing the first click."""
    for _ in range(4):
        page.mouse.click(x, y)
        try:
            page.wait_for_function(
                "(b) => new URLSearchParams(window.location.search).get('area') !== b", arg=before, timeout=15_000
            )
            return True
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try the click again
            page.wait_for_timeout(1000)
    return False


@pytest.mark.parametrize("path,text", [
    ("overview", "Headline inequality"),
    ("overview", "Deprivation of the local authorities and ICB"),
    ("map_explorer", "Map explorer"),
    ("practices", "compare GP practices"),
    ("targets", "where outreach changes most"),
    ("inequalities", "Inequalities"),
    ("data", "Validation report"),
])
def test_each_page_opens_offline(server, browser, path: str, text: str) -> None:
    url, _ = server
    ctx, page, blocked, errors = _page(browser, url)
    page.goto(f"{url}/{path}")
    _wait_idle(page)
    page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
    assert not page.locator("[data-testid='stException']").count()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path}.png"), full_page=False)
    assert not errors, errors
    assert not blocked, f"the page asked the internet for {blocked[:3]} (it must work offline)"
    ctx.close()


def test_click_an_area_opens_its_profile(server, browser) -> None:
    url, _ = server
    ctx, page, blocked, errors = _page(browser, url)
    page.goto(f"{url}/map_explorer?layer=uptake&geo=lsoa")
    _wait_idle(page)
    frame = page.frame_locator(MAP_IFRAME)
    paths = frame.locator("path.leaflet-interactive")
    paths.first.wait_for(timeout=60_000)
    assert paths.count() > 50
    before = page.evaluate("() => new URLSearchParams(window.location.search).get('area')")
    iframe = page.locator(MAP_IFRAME)
    iframe.scroll_into_view_if_needed()
    page.evaluate("() => window.scrollBy(0, 0)")
    fr = _map_frame(page)
    # an area polygon that is really on top at its centre (not under the legend or a practice)
    point = fr.evaluate("""() => {
        for (const p of document.querySelectorAll('path.leaflet-interactive')) {
            const r = p.getBoundingClientRect();
            if (r.width < 8 || r.height < 8) continue;
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (document.elementFromPoint(x, y) === p && p.getAttribute('fill-opacity') !== null
                && y > 120 && y < 420) return [x, y];
        }
        return null;
    }""")
    assert point, "no clickable area polygon found"
    frame_box = iframe.bounding_box()
    assert frame_box["y"] + point[1] < 1000, "the chosen point is off screen"
    assert _click_until_area_changes(page, frame_box["x"] + point[0], frame_box["y"] + point[1], before), (
        "clicking an area did not select it"
    )
    _wait_idle(page)
    after = page.evaluate("() => new URLSearchParams(window.location.search).get('area')")
    assert after and after != before
    # the profile now describes the clicked area
    page.wait_for_function("(c) => document.body.innerText.includes('Profile of') && document.body.innerText.includes(c)",
                           arg=after, timeout=60_000)
    page.get_by_text("Area profile").wait_for()
    page.screenshot(path=str(ARTIFACTS / "map_clicked.png"))
    assert not errors, errors
    assert not [b for b in blocked if not b.startswith("https://tile")], blocked  # only optional tiles may be asked for
    ctx.close()


def test_download_a_target_list(server, browser) -> None:
    url, _ = server
    ctx, page, blocked, errors = _page(browser, url)
    page.goto(f"{url}/targets")
    _wait_idle(page)
    button = page.get_by_role("button", name="Download CSV")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    data = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert rows, "empty target list"
    for col in ("priority_rank", "area_code", "area_name", "people_to_reach", "reasons", "indicators_flagged"):
        assert col in rows[0]
    ranks = [int(float(r["priority_rank"])) for r in rows]
    assert ranks == sorted(ranks)
    assert all(r["reasons"] for r in rows)
    page.screenshot(path=str(ARTIFACTS / "targets_download.png"))
    ctx.close()


def test_click_on_the_national_zoom_map_selects_the_area_under_it(zoom_server, browser) -> None:
    """The canvas map draws local authorities when zoomed out; a click there selects the LSOA
    (the chosen geography) under the pointer, and the profile opens for it."""
    from hiexplore.dataset import load_dataset
    from hiexplore.mapping import area_at

    url, _, dataset = zoom_server
    ctx, page, blocked, errors = _page(browser, url)
    page.goto(f"{url}/map_explorer?layer=uptake&geo=lsoa")
    _wait_idle(page, timeout=180_000)
    iframe = page.locator(MAP_IFRAME)
    fr = _map_frame(page)
    assert "Showing" in fr.inner_text("#hx-status"), "not the zoom-switching map"
    # a point on a drawn shape near the middle of the map (in the iframe's coordinates)
    target = fr.evaluate("""() => {
        const m = window.hxMap, size = m.getSize(), at = m.getContainer().getBoundingClientRect();
        for (const [fx, fy] of [[0.5, 0.5], [0.45, 0.55], [0.55, 0.45], [0.4, 0.4], [0.6, 0.6]]) {
            const x = size.x * fx, y = size.y * fy, ll = m.containerPointToLatLng([x, y]);
            let hit = false;
            m.eachLayer(l => { if (l.hxLevel !== undefined && l.getBounds && l.getBounds().contains(ll)) hit = true; });
            if (hit) return {x: at.left + x, y: at.top + y};
        }
        return null;
    }""")
    assert target, "no drawn shape near the middle of the map"
    box = iframe.bounding_box()
    before = page.evaluate("() => new URLSearchParams(window.location.search).get('area')")
    assert _click_until_area_changes(page, box["x"] + target["x"], box["y"] + target["y"], before), (
        "clicking the zoom map did not select an area"
    )
    # the area selected is the LSOA under the point the map reported
    clicked_at = fr.evaluate("() => window.hxLastClick")
    expected = area_at(load_dataset(dataset, validate=False), "lsoa", clicked_at["lat"], clicked_at["lng"])
    assert expected
    assert page.evaluate("() => new URLSearchParams(window.location.search).get('area')") == expected
    _wait_idle(page, timeout=180_000)
    page.wait_for_function("(c) => document.body.innerText.includes('Profile of') && document.body.innerText.includes(c)",
                           arg=expected, timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "zoom_map_clicked.png"))
    assert not errors, errors
    assert not blocked, blocked
    ctx.close()


GEOMETRY_FILES = "/component/app_support.mapview.hiexplore_map_files/"


@pytest.mark.parametrize("which", ["server", "zoom_server"])
def test_indicator_change_recolours_the_map_without_resending_its_geometry(request, browser, which: str) -> None:
    """Issue 13.2: changing the indicator re-colours the map already on screen (classic SVG map
    on LLR, national zoom canvas map on 6,000 LSOAs); the shapes arrived once, as a file over
    HTTP from the app's own origin (never through the websocket), and were not fetched again."""
    url = request.getfixturevalue(which)[0]
    ctx, page, blocked, errors = _page(browser, url)
    received: list[bytes] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda pl: received.append(pl if isinstance(pl, bytes) else pl.encode("utf-8"))))
    fetched: list = []  # HTTP responses for geometry files (the browser's cache hits included)
    page.on("response", lambda r: fetched.append(r) if GEOMETRY_FILES in r.url else None)
    page.goto(f"{url}/map_explorer?layer=uptake&geo=lsoa")
    _wait_idle(page, timeout=180_000)
    fr = _map_frame(page)
    fr.evaluate("() => { window.__hxSameFrame = 'kept'; }")  # lost if the frame were rebuilt
    before = fr.evaluate("() => window.hxFills()")
    title = fr.inner_text("#hx-title")
    sample = fr.evaluate("() => window.hxGeometrySample()")
    on_wire = ",".join(str(v) for v in sample).encode("ascii")  # the file's compact JSON
    assert len(fetched) == 1 and fetched[0].status == 200, [(r.url, r.status) for r in fetched]
    body = gzip.decompress(fetched[0].body())  # served gzipped as application/gzip
    assert on_wire in body, "the geometry sample is not in the fetched file"
    assert fetched[0].url.rsplit("/", 1)[-1].startswith("lsoa-") and fetched[0].url.endswith(".json.gz")
    assert not any(on_wire in b or on_wire.replace(b",", b", ") in b for b in received), \
        "the geometry crossed the websocket too"
    n0, state0 = len(received), fr.evaluate("() => window.hxState")
    assert state0["geometryFetches"] == 1 and state0["geometryInline"] == 0, state0

    chosen = _choose(page, "Indicator")
    fr.wait_for_function("(t) => document.getElementById('hx-title').textContent !== t", arg=title, timeout=120_000)
    _wait_idle(page, timeout=180_000)
    after = fr.evaluate("() => window.hxFills()")
    state = fr.evaluate("() => window.hxState")
    assert fr.evaluate("() => window.__hxSameFrame") == "kept", "the map frame was rebuilt"
    assert state["valuesApplied"] > state0["valuesApplied"]
    assert state["geometryReceived"] == 1 and state["geometryBuilds"] == 1 and state["geometryFetches"] == 1, state
    shared = [k for k in before if k in after]
    assert len(shared) > 20
    changed = sum(before[k] != after[k] for k in shared)
    assert changed > len(shared) // 10, f"only {changed} of {len(shared)} areas changed colour after {chosen!r}"
    later = received[n0:]
    assert len(fetched) == 1, "the geometry file was fetched again"
    map_bytes = max((len(b) for b in later if b"geometry_key" in b), default=0)
    assert 0 < map_bytes < len(body) / 2, (map_bytes, len(body))
    print(f"{which}: geometry file {len(body):,} bytes once, map element {map_bytes:,} bytes on an indicator change")
    for _ in range(2) if which == "server" else ():  # another page and back, twice: each new frame
        page.get_by_role("link", name="Overview").first.click()  # fetches the shapes' file again (this
        page.get_by_text("Headline inequality").first.wait_for(timeout=60_000)  # context's routing turns
        page.get_by_role("link", name="Map explorer").first.click()  # the HTTP cache off: see below)
        _wait_idle(page, timeout=180_000)
        again = _map_frame(page)
        assert again.evaluate("() => window.__hxSameFrame") is None  # a new frame ...
        assert len(again.evaluate("() => window.hxFills()")) == len(after)  # ... with every shape drawn
        assert again.evaluate("() => window.hxState")["geometryInline"] == 0
    assert not any(on_wire in b or on_wire.replace(b",", b", ") in b for b in received), \
        "the geometry crossed the websocket"
    assert not errors, errors
    assert not blocked, blocked
    ctx.close()


def test_geometry_file_is_the_datasets_and_a_new_session_takes_it_from_the_browser_cache(server, browser) -> None:
    """Issue 13.3: a new session (page load) in the same browser draws the shapes from the HTTP
    cache (the file's name is its content's hash), not from the server; the file served is the
    one for the dataset and geography shown; nothing but 127.0.0.1 is asked. No routing here
    (Playwright's request routing turns the HTTP cache off): every request is recorded instead."""
    from hiexplore.map_payload import geometry_payload

    url, _ = server
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    asked: list[str] = []
    ctx.on("request", lambda r: asked.append(r.url))
    page = ctx.new_page()
    sizes = []
    for geo in ("lsoa", "lsoa", "msoa"):
        page.goto(f"{url}/map_explorer?layer=uptake&geo={geo}")
        _wait_idle(page, timeout=180_000)
        fr = _map_frame(page)
        fr.wait_for_function("(g) => window.hxAreaCount() && window.hxAreaCount().geo === g", arg=geo,
                             timeout=60_000)
        state = fr.evaluate("() => window.hxState")
        assert state["geometryFetches"] == 1 and state["geometryInline"] == 0, state
        sizes.append(fr.evaluate(f"""() => performance.getEntriesByType('resource')
            .filter(e => e.name.includes('{GEOMETRY_FILES}')).map(e => [e.name, e.transferSize])"""))
    (first_name, first), (again_name, again), (msoa_name, msoa) = (s[0] for s in sizes)
    assert first > 0 and again == 0 and again_name == first_name, sizes  # the 2nd session: from the cache
    assert msoa > 0 and msoa_name != first_name and "/msoa-" in msoa_name, sizes
    served = [u for u in asked if GEOMETRY_FILES in u]
    assert len(served) == 3  # each frame asks; the cache answers the second
    if (REPO / "data" / "llr" / "manifest.json").is_file():  # the fixture serves the embedded data
        from hiexplore.dataset import load_dataset

        ds = load_dataset(REPO / "data" / "llr")
        for name, geo in ((first_name, "lsoa"), (msoa_name, "msoa")):
            assert name.endswith("/" + geometry_payload(ds, geo).name), (name, geo)
    outside = [u for u in asked if not u.startswith(("data:", "blob:", "about:", "http://127.0.0.1"))]
    assert not outside, outside
    ctx.close()


def test_map_draws_from_shapes_sent_inline_when_their_file_cannot_be_fetched(server, browser) -> None:
    """The file is refused (a proxy, a cleaned cache folder): the frame asks once and the next
    run sends the shapes through the websocket; every area is drawn, no error."""
    url, _ = server
    ctx, page, blocked, errors = _page(browser, url)
    refused: list[str] = []
    page.route(f"**{GEOMETRY_FILES}**", lambda r: (refused.append(r.request.url), r.abort())[1])
    page.goto(f"{url}/map_explorer?layer=uptake&geo=lsoa")
    _wait_idle(page, timeout=180_000)
    fr = _map_frame(page)
    fr.wait_for_function("() => window.hxState.geometryInline === 1 && window.hxAreaCount()", timeout=120_000)
    count = fr.evaluate("() => window.hxAreaCount()")
    assert refused and count["all"] > 0 and count["valued"] > 0, (refused, count)
    assert fr.evaluate("() => window.hxState")["geometryBuilds"] == 1
    assert not errors, errors
    assert not blocked, blocked
    ctx.close()


def test_map_explorer_map_is_largest_above_the_fold_and_says_its_caveat_once(server, browser) -> None:
    """Issue 13.4 (Map explorer): at 1280x720 the map is content-wide, at least 600 px tall and
    starts above the fold; the legend folds into a corner clear of the middle (the city); the
    estimates caveat appears once, whole; GP practices are off at LSOA level; keyboard reaches it."""
    url, _ = server
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.goto(f"{url}/map_explorer?layer=uptake&geo=lsoa")
    _wait_idle(page, timeout=180_000)
    fr = _map_frame(page)
    frame_box = page.locator(MAP_IFRAME).first.bounding_box()
    controls = page.locator("[data-testid='stHorizontalBlock']").first.bounding_box()  # the content width
    inner = fr.evaluate("""() => { const r = document.getElementById('hx-map').getBoundingClientRect();
        const l = document.querySelector('.hx-legend').getBoundingClientRect();
        return {map: [r.x, r.y, r.width, r.height], legend: [l.x, l.y, l.width, l.height]}; }""")
    mx, my, mw, mh = inner["map"]
    assert mh >= 600 and mw >= 0.98 * controls["width"], (inner, controls)
    assert frame_box["y"] + my < 720 - 250, "the map does not start above the fold"
    lx, ly, lw, lh = inner["legend"]
    cx, cy = mx + mw / 2, my + mh / 2
    assert not (lx <= cx <= lx + lw and ly <= cy <= ly + lh), "the legend covers the middle of the map"
    assert lw <= mw / 3
    # the caveat: once, whole, with the map (the sidebar's dataset note is separate furniture)
    note = fr.inner_text("#hx-note")
    assert note.startswith("Neighbourhood figures are estimates") and note.rstrip().endswith("registrations.")
    main_text = page.locator("[data-testid='stMain']").first.inner_text()
    assert "Neighbourhood figures are estimates" not in main_text
    assert "Neighbourhood figures are estimates" not in fr.inner_text(".hx-legend")
    # GP practices: off by default at LSOA level, and small when shown
    assert fr.evaluate("() => document.querySelectorAll('.leaflet-hx-points-pane path').length") == 0
    page.get_by_text("Show GP practices").click()
    fr.wait_for_function("() => document.querySelectorAll('.leaflet-hx-points-pane path').length > 20",
                         timeout=60_000)
    biggest = fr.evaluate("""() => Math.max(...[...document.querySelectorAll('.leaflet-hx-points-pane path')]
        .map(p => p.getBoundingClientRect().width))""")
    assert biggest <= 2 * 7 + 3
    assert fr.evaluate("() => document.getElementById('hx-map').tabIndex") >= 0  # keyboard reaches the map
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_explorer_1280x720.png"))
    ctx.close()
