"""The Data page in a real browser: refused uploads never stay on the server, and a session's
staging folder is cleared once its session has ended (issue 11, item 5).

The app runs on 127.0.0.1 on a free port (not test_cli_host.py's fixed one, so that the two can
run side by side under xdist) with a short ``server.disconnectedSessionTTL`` so that a closed tab's session ends within seconds.
Staging lives in the app's own ``data/.uploads`` (git-ignored); the test removes what it made.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_healthy

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
STAGING = REPO / "data" / ".uploads"
BAD = REPO / "tests" / "data" / "bad"
GOOD_CSV = BAD / "cervical_dec2017__utf8_bom.csv"
DAMAGED_CSV = BAD / "cervical_dec2017__negative_count.csv"
LEFTOVER = "leftover-from-an-earlier-run"  # staging of a server that stopped (or crashed) before
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from hiexplore.demo import write_demo

    dataset = tmp_path_factory.mktemp("uploads") / "demo"
    write_demo(dataset, 200, 30, 2)
    log = tmp_path_factory.mktemp("log") / "server.log"
    port = _free_port()
    (STAGING / LEFTOVER).mkdir(parents=True, exist_ok=True)
    (STAGING / LEFTOVER / GOOD_CSV.name).write_bytes(GOOD_CSV.read_bytes())
    env = dict(os.environ, HIEXPLORE_DATASET=str(dataset))
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats",
             "false", "--server.disconnectedSessionTTL", "1"],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log.read_text)
        before = set(_sessions())
        yield url
        for name in set(_sessions()) - before:  # only what this test's sessions made
            shutil.rmtree(STAGING / name, ignore_errors=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(STAGING / LEFTOVER, ignore_errors=True)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        yield b
        b.close()


def _sessions() -> list[str]:
    return sorted(p.name for p in STAGING.iterdir() if p.is_dir()) if STAGING.is_dir() else []


def _files(session: str) -> list[str]:
    folder = STAGING / session
    return sorted(p.name for p in folder.iterdir() if p.name != ".owner") if folder.is_dir() else []


def _wait_for(check, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {check.__doc__ or check}")
        time.sleep(0.25)


def _open_data_page(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.goto(f"{url}/data")
    page.get_by_text("Validation report").first.wait_for(timeout=90_000)
    return ctx, page


def test_refused_uploads_are_deleted_and_ended_sessions_cleared(server, browser, tmp_path: Path) -> None:
    url = server
    renamed = tmp_path / "areas.xlsx"
    renamed.write_text("area_code,area_name\nE01000001,x\n")  # text pretending to be a workbook
    before = set(_sessions())

    start = browser.new_context(viewport={"width": 1440, "height": 900})
    first_page = start.new_page()
    first_page.goto(f"{url}/overview")  # not the Data page: the sweep at app start does this
    _wait_for(lambda: LEFTOVER not in _sessions())
    start.close()

    ctx, page = _open_data_page(browser, url)
    page.locator("input[type='file']").set_input_files([str(renamed), str(GOOD_CSV), str(DAMAGED_CSV)])
    page.get_by_text("areas.xlsx: the content is not a .xlsx file").first.wait_for(timeout=60_000)
    _wait_for(lambda: len(set(_sessions()) - before) == 1 and len(_files(next(iter(set(_sessions()) - before)))) == 2)
    (first,) = set(_sessions()) - before
    assert _files(first) == sorted([GOOD_CSV.name, DAMAGED_CSV.name])  # the refused one was never written

    page.get_by_role("button", name="Check the files").click()
    _wait_for(lambda: _files(first) == [GOOD_CSV.name])  # the validation report refused it: deleted at once
    page.get_by_text("1 recognised and valid, 1 with problems").first.wait_for(timeout=60_000)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)  # the report itself
    ARTIFACTS = REPO / "tests" / "_artifacts"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data_upload_refused.png"))
    ctx.close()  # the session ends (its websocket closes; the server forgets it after 1 s)
    time.sleep(2)

    ctx, page = _open_data_page(browser, url)
    page.locator("input[type='file']").set_input_files([str(GOOD_CSV)])
    _wait_for(lambda: first not in _sessions())  # swept: its session has ended
    _wait_for(lambda: len(set(_sessions()) - before) == 1)
    (second,) = set(_sessions()) - before
    _wait_for(lambda: _files(second) == [GOOD_CSV.name])
    ctx.close()
