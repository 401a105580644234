"""Many users at once: the app on loopback with 20 sessions at the same time, every page answering.

Drives ``benchmarks/concurrency.py``: 20 websocket sessions (the Streamlit protocol the browser's
frontend speaks) and one headless Chromium user, all at once, each moving through two pages;
no new page load starts after 45 s, so the run is bounded. Every page load must answer (script
finished, no exception, the page's heading shown), the browser must ask nothing of the internet,
and the server log must hold no traceback or error. The p50/p95 figures go to
``tests/_artifacts/concurrency.json`` and to the end of the test run's output.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "_artifacts"
SESSIONS, BROWSERS, PAGES, BUDGET_S, PAGE_TIMEOUT_S = 20, 1, 2, 45.0, 80.0
pytestmark = pytest.mark.browser


def _bench():
    spec = importlib.util.spec_from_file_location("hiexplore_bench_concurrency", REPO / "benchmarks" / "concurrency.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class _Figures:
    def __init__(self, line: str) -> None:
        self.line = line

    def pytest_terminal_summary(self, terminalreporter) -> None:  # noqa: ANN001
        terminalreporter.section("concurrency")
        terminalreporter.write_line(self.line)


def test_twenty_sessions_at_once_every_page_answers(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    pytest.importorskip("websockets", reason="websockets is not installed")
    bench = _bench()
    report = bench.run(SESSIONS, BROWSERS, PAGES, BUDGET_S, PAGE_TIMEOUT_S, workdir=tmp_path, warm_page=True)
    s = report.summary()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "concurrency.json").write_text(json.dumps(s, indent=2), encoding="utf-8")
    c, d = s["time_to_content_s"], s["time_to_done_s"]
    line = (
        f"{SESSIONS} websocket + {BROWSERS} browser users at once: {s['page_loads']} page loads, "
        f"{s['failed']} failed, {s['wall_s']} s; time to content p50 {c.get('p50')} s, p95 {c.get('p95')} s; "
        f"time to done p50 {d.get('p50')} s, p95 {d.get('p95')} s"
    )
    print(line)
    pm = request.config.pluginmanager
    if not pm.has_plugin("hiexplore-concurrency-figures"):
        pm.register(_Figures(line), "hiexplore-concurrency-figures")

    failed = "\n".join(f"{x.kind} {x.session} {x.page}: {x.problem}" for x in report.failed)
    assert not report.failed, failed
    assert not report.log_problems, "\n".join(report.log_problems[:20])
    assert not report.js_errors, report.js_errors[:5]
    assert not report.blocked, f"the browser asked the internet for {report.blocked[:3]}"
    ws = [x for x in report.loads if x.kind == "websocket"]
    assert {x.session for x in ws} == set(range(SESSIONS))  # every user was served
    assert {x.page for x in ws} == {p for p, _, _ in bench.PAGES}  # and every page
    assert any(x.kind == "browser" and x.ok for x in report.loads)
    assert report.wall_s < BUDGET_S + PAGE_TIMEOUT_S  # bounded
