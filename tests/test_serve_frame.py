"""What every page pays (issue 13, item 3): the served app's frame.

``hiexplore app`` (``app_support/serve.py``) starts Streamlit with settings that cut work from
every page load, takes the router from the first run on, imports every page's libraries and
hides the warmed heap from the per-run garbage collection. Correctness only: the speed itself
is measured by ``benchmarks/app_latency.py`` (and the server's CPU per load by
``benchmarks/concurrency.py``).
"""

from __future__ import annotations

import ast
import gc
import json
import subprocess
import sys
import tomllib
import weakref
from pathlib import Path

import pytest

from conftest import wait_healthy

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app_support.serve import SERVE_OPTIONS, serve_flags  # noqa: E402


def _scripts() -> list[Path]:
    """The files Streamlit runs as scripts: app.py and every page."""
    return [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]


def test_config_toml_carries_the_served_settings() -> None:
    """``streamlit run app.py`` from the repository reads .streamlit/config.toml; ``hiexplore app``
    passes SERVE_OPTIONS: the same settings either way."""
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    for key, value in SERVE_OPTIONS.items():
        section, name = key.split(".")
        assert str(config[section][name]).lower() == value, key
    assert SERVE_OPTIONS["runner.magicEnabled"] == "false"
    assert SERVE_OPTIONS["server.fileWatcherType"] == "none"


def test_streamlit_accepts_the_served_settings() -> None:
    """Each option is one ``streamlit run`` knows (an unknown one stops the server at start)."""
    from streamlit.web import cli as stcli

    ctx = stcli.main_run.make_context("run", [str(REPO / "app.py"), *serve_flags(), "--server.port", "8613"])
    given = {k: v for k, v in ctx.params.items() if v is not None}
    assert given["runner_magicEnabled"] is False or str(given["runner_magicEnabled"]).lower() == "false"
    assert given["server_fileWatcherType"] == "none"
    assert serve_flags()[:2] == ["--runner.magicEnabled", "false"]


def test_no_script_relies_on_magic() -> None:
    """With magic off, a bare expression in a script would show nothing: there is none (calls,
    docstrings and awaits are what magic leaves alone anyway)."""
    found = []
    for path in _scripts():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            for field in ("body", "orelse", "finalbody"):
                body = getattr(node, field, None)
                if not isinstance(body, list):
                    continue
                for i, stmt in enumerate(body):
                    if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, ast.Call | ast.Await | ast.Yield):
                        continue
                    docstring = (i == 0 and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
                                 and isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef))
                    if not docstring:
                        found.append(f"{path.name}:{stmt.lineno}: {ast.unparse(stmt)[:60]}")
    assert not found, found


def test_router_from_start_keeps_streamlit_off_the_legacy_pages_folder() -> None:
    """app.py's folder has a ``pages/`` folder: Streamlit's first session would run the legacy
    multipage mode (then app.py's guard reruns). Set before serving, Streamlit never does."""
    from streamlit.runtime.pages_manager import PagesManager

    from app_support.router import router_from_start

    saved = PagesManager.uses_pages_directory
    try:
        PagesManager.uses_pages_directory = None
        PagesManager(str(REPO / "app.py"))
        assert PagesManager.uses_pages_directory is True  # what Streamlit does on its own here
        PagesManager.uses_pages_directory = None
        router_from_start()
        PagesManager(str(REPO / "app.py"))
        assert PagesManager.uses_pages_directory is False
    finally:
        PagesManager.uses_pages_directory = saved


def test_freeze_heap_hides_the_warmed_objects_and_a_dropped_dataset_is_still_freed(tmp_path: Path) -> None:
    """After the freeze a full collection no longer walks what the warm-up made; a dataset
    loaded before it and later dropped (a rebuilt dataset replacing it) is still freed."""
    from app_support.warm import freeze_heap
    from hiexplore.dataset import load_dataset
    from hiexplore.demo import write_demo

    write_demo(tmp_path / "d", 40, 6, 2)
    ds = load_dataset(tmp_path / "d")
    ds.provenance_line()
    ref = weakref.ref(ds)
    try:
        frozen = freeze_heap()
        assert frozen > 10_000 and gc.get_freeze_count() == frozen
        assert len(gc.get_objects(generation=2)) < frozen  # the warmed heap is out of the collector's sight
        del ds
        assert ref() is None  # freed by reference counting, frozen or not
    finally:
        gc.unfreeze()


def test_warm_frame_imports_the_pages_libraries_but_declares_no_component() -> None:
    """In a fresh process (what serve.py is before Streamlit starts): every FRAME_MODULES entry
    imported, the router set, and no custom component declared before the runtime exists (its
    frontend files would then not be served)."""
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from app_support.warm import FRAME_MODULES, warm_frame\n"
        "notes = []\n"
        "took = warm_frame(echo=notes.append)\n"
        "from streamlit.runtime.pages_manager import PagesManager\n"
        "import streamlit.delta_generator as dg\n"
        "print(json.dumps({'missing': [m for m in FRAME_MODULES if m not in sys.modules], 'notes': notes,\n"
        "  'router': PagesManager.uses_pages_directory, 'took': took, 'bare_check': dg._use_warning_has_been_displayed,\n"
        "  'components': [m for m in ('streamlit_folium', 'app_support.mapview', 'app_support.patches_section')\n"
        "                 if m in sys.modules]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["missing"] == [] and got["notes"] == []
    assert got["router"] is False
    assert got["bare_check"] is True  # Streamlit's once-per-process stack walk is not paid by a page
    assert got["components"] == []
    assert got["took"]["frame_imports_s"] > 0


@pytest.mark.parametrize("module", ["streamlit_folium", "app_support.mapview", "app_support.patches_section"])
def test_component_modules_stay_out_of_the_warm_up(module: str) -> None:
    from app_support.warm import FRAME_MODULES, WARM_MODULES

    assert module not in FRAME_MODULES and module not in WARM_MODULES


# --- the frontend told where the server is (app_support/frontend.py) ---------------------------


def test_page_paths_are_app_pys_pages() -> None:
    from app_support.frontend import PAGE_PATHS

    tree = ast.parse((REPO / "app.py").read_text(encoding="utf-8"))
    paths = [kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", "") == "Page" for kw in node.keywords if kw.arg == "url_path"]
    assert sorted(paths) == sorted(PAGE_PATHS)


def test_boot_script_goes_first_in_the_head_once() -> None:
    from app_support.frontend import MARK, with_boot_script

    html = '<html><head>\n<meta charset="UTF-8" /><script type="module" src="./static/js/index.js"></script></head></html>'
    once = with_boot_script(html)
    assert once.count(MARK) == 1 and once.index(MARK) < once.index("index.js")
    assert with_boot_script(once) == once
    assert once.replace(once[once.index("<script id="):once.index("</script>") + len("</script>")], "").replace(
        "<head>\n    ", "<head>") == html  # nothing else changed
    assert with_boot_script("<p>no head</p>") == "<p>no head</p>"
    odd = with_boot_script(html, base_url="</script><script>alert(1)</script>")
    assert odd.count("</script>") == html.count("</script>") + 1  # a base path is data, never markup


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """``app_support/serve.py`` (what ``hiexplore app`` runs) on a small demo, without the warm-up."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip(f"headless Chromium not installed at {chromium} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import os
    import socket

    from hiexplore.demo import write_demo

    tmp = tmp_path_factory.mktemp("frame")
    write_demo(tmp / "demo", 60, 8, 5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, HIEXPLORE_WARM="0", HIEXPLORE_DATASET=str(tmp / "demo"), HIEXPLORE_DERIVED_WRITE="0")
    log = tmp / "server.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "app_support" / "serve.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, log.read_text, 120)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.mark.browser
def test_a_page_address_connects_without_the_404_probe(served: str) -> None:
    """Opened at /data, Streamlit's frontend used to ask /data/_stcore/health first (404, then a
    100 ms retry); served by serve.py it asks the server's own address at once, and the page works."""
    import urllib.request

    from playwright.sync_api import sync_playwright

    from app_support.frontend import BASE_JS, MARK, PAGE_PATHS

    with urllib.request.urlopen(f"{served}/data", timeout=10) as r:
        assert MARK in r.read().decode("utf-8") and r.headers["Cache-Control"] == "no-cache"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        asked: list[str] = []
        page.on("request", lambda req: asked.append(req.url))
        page.goto(f"{served}/data")
        page.get_by_text("Validation report").first.wait_for(timeout=60_000)
        assert f"{served}/_stcore/health" in asked
        assert not [u for u in asked if "/data/_stcore/" in u], asked
        assert page.evaluate("() => window.__streamlit.BACKEND_BASE_URL") == f"{served}/"
        assert not page.locator("[data-testid='stException']").count()
        # the root sets nothing (Streamlit's own probe is already right there)
        page.goto(served)
        page.get_by_text("Dataset").first.wait_for(timeout=60_000)
        assert page.evaluate("() => window.__streamlit === undefined")
        # the prefix behind a proxy is kept; addresses that are not pages are left to Streamlit
        cases = [("/data", ""), ("/", ""), ("/hiexplore/targets/", ""), ("/hiexplore/", ""), ("/nope/x", ""),
                 ("/data", "data"), ("/data/data", "data"), ("/a/data/targets", "data/"), ("/a/other/targets", "data")]
        got = page.evaluate(f"([pages, cases]) => cases.map(([p, prefix]) => ({BASE_JS})(p, pages, prefix.replace(/\\/+$/, '')))",
                            [list(PAGE_PATHS), cases])
        # a prefix behind a proxy is kept; the root, other addresses, and the app's own base path
        # (server.baseUrlPath "data": /data is the app's root) are left to Streamlit's probe
        assert got == ["/", None, "/hiexplore/", None, None, None, "/data/", "/a/data/", None]
        browser.close()


def test_page_icon_is_the_icon_file_and_streamlit_passes_it_through() -> None:
    """A ``data:`` URL is sent as it is: no media file registered per run, no request per load."""
    import base64

    from streamlit.commands.page_config import _get_favicon_string

    from app_support.frontend import ICON, page_icon

    icon = page_icon()
    assert icon.startswith("data:image/png;base64,")
    assert base64.b64decode(icon.split(",", 1)[1]) == ICON.read_bytes()
    assert _get_favicon_string(icon) == icon
    assert _get_favicon_string(str(ICON)) != icon  # a path: Streamlit makes a media file of it
    assert "page_icon=page_icon()" in (REPO / "app.py").read_text(encoding="utf-8")


@pytest.mark.browser
def test_opening_a_page_adds_one_history_entry_with_every_default_in_the_url(served: str) -> None:
    """Each change of the address is a browser history entry: the defaults a page takes are
    written to the URL together at the end of the run (app_support/state.py), so Back leaves the
    page instead of stepping through a dozen copies of it (13 entries on Practices before)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.add_init_script("window.__pushes = []; const push = history.pushState.bind(history);"
                             " history.pushState = (s, t, u) => { window.__pushes.push(String(u)); return push(s, t, u); };")
        page.goto(f"{served}/practices")
        page.get_by_text("compare GP practices").first.wait_for(timeout=90_000)
        page.wait_for_function("() => location.search.includes('flagged=')", timeout=60_000)
        page.wait_for_timeout(1500)  # anything written late would show by now
        assert not page.locator("[data-testid='stException']").count()
        query = page.evaluate("() => location.search")
        for key in ("dataset=", "ind=", "period=", "flagged="):
            assert key in query, query
        pushes = page.evaluate("() => window.__pushes")
        assert len(pushes) == 1 and "ind=" in pushes[0], pushes  # one entry: the address with its defaults
        # a user's change is written at once, and the page keeps working
        page.get_by_text("Only flagged", exact=False).first.click()
        page.wait_for_function("() => location.search.includes('flagged=1')", timeout=60_000)
        browser.close()
