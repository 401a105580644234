"""Many users at once: 20 sessions against one app server on loopback, every page answering.

Starts the app as ``hiexplore app`` does (``app_support/serve.py``: warm-up, then Streamlit in
the same process) on a free 127.0.0.1 port (the embedded ``data/llr`` dataset, or a small
synthetic demo if it has not been built) and waits for ``/_stcore/health``. Then, all at once:

* ``--sessions`` websocket users (default 20): each opens its own Streamlit session on
  ``/_stcore/stream``, exactly as the browser's frontend does, and moves through ``--pages``
  pages one after the other (different users start on different pages, so every page is hit),
  as a user clicking through the sidebar would. A page has answered when its script finished
  successfully, with no exception element and with the page's own heading text among the
  elements it sent.
* ``--browsers`` headless Chromium users (default 2; one browser, one context each): the same
  pages rendered for real, with the network cut off except 127.0.0.1 (the app must work offline);
  a page has answered when its heading is on screen, its script has stopped (no running widget
  for 1.5 s) and there is no exception box and no JavaScript error.

Why websockets for the crowd: on a 2-core test machine, 20 Chromium renderers would compete with
the server for the same cores, measuring the test machine rather than the app. Real users render
on their own machines; the server's work per user is what the websocket sessions reproduce.

For each page load it reports, from the request: time to content (the first element arrives /
the heading is on screen) and time to done (script finished / page idle), as p50 / p95 / max,
and checks the server log for tracebacks and errors. New page loads stop being started after
``--budget`` seconds, so the run is bounded.

Usage::

    python benchmarks/concurrency.py [--sessions 20] [--browsers 2] [--pages 3] [--budget 60] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("HIEXPLORE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
#: (url path, page name the frontend sends, text that is on the page once it has drawn its content)
PAGES: list[tuple[str, str, str]] = [
    ("overview", "", "Headline inequality"),
    ("map_explorer", "map_explorer", "Map explorer"),
    ("practices", "practices", "compare GP practices"),
    ("targets", "targets", "where outreach changes most"),
    ("inequalities", "inequalities", "Inequalities"),
    ("data", "data", "Validation report"),
]
#: lines of the server log that mean something went wrong
LOG_PROBLEM = re.compile(r"Traceback|\bError\b|Exception")
#: element types whose text is searched for a page's heading
TEXT_ELEMENTS = ("heading", "markdown", "caption", "alert", "text")
IDLE_JS = """() => {
    const busy = document.querySelector('[data-testid="stStatusWidget"]')
        || document.querySelector('[data-testid="stSkeleton"]');
    const now = Date.now();
    if (busy) { window.__hxIdleSince = null; return false; }
    window.__hxIdleSince = window.__hxIdleSince || now;
    return now - window.__hxIdleSince > 1500;
}"""


@dataclass
class Load:
    kind: str  # "websocket" or "browser"
    session: int
    page: str
    content_s: float | None = None
    done_s: float | None = None
    ok: bool = False
    problem: str = ""


@dataclass
class Report:
    sessions: int
    browsers: int
    pages_per_session: int
    wall_s: float
    loads: list[Load] = field(default_factory=list)
    server_cpu_s: float | None = None  # CPU time the server process used during the run
    load_1min: float | None = None  # the machine's 1-minute load average when the run started
    blocked: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    log_problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Load]:
        return [x for x in self.loads if not x.ok]

    def stats(self, what: str, kind: str = "websocket") -> dict[str, float]:
        xs = sorted(getattr(x, what) for x in self.loads
                    if x.kind == kind and x.ok and getattr(x, what) is not None)
        if not xs:
            return {"n": 0}
        return {"n": len(xs), "p50": percentile(xs, 50), "p95": percentile(xs, 95), "max": xs[-1]}

    def summary(self) -> dict[str, Any]:
        def r(d: dict[str, float]) -> dict[str, float]:
            return {k: round(v, 2) for k, v in d.items()}

        ws = [x for x in self.loads if x.kind == "websocket" and x.ok and x.done_s is not None]
        return {
            "sessions": self.sessions,
            "browsers": self.browsers,
            "pages_per_session": self.pages_per_session,
            "page_loads": len(self.loads),
            "failed": len(self.failed),
            "wall_s": round(self.wall_s, 1),
            "server_cpu_s": None if self.server_cpu_s is None else round(self.server_cpu_s, 1),
            "server_cpu_per_load_s": (None if self.server_cpu_s is None or not self.loads
                                      else round(self.server_cpu_s / len(self.loads), 3)),
            "load_1min_at_start": self.load_1min,
            "time_to_content_s": r(self.stats("content_s")),
            "time_to_done_s": r(self.stats("done_s")),
            # the figure: p95 time to done of the websocket sessions (target <= 5 s)
            "p95_done_s": round(self.stats("done_s").get("p95", float("nan")), 2),
            "browser_time_to_content_s": r(self.stats("content_s", "browser")),
            "browser_time_to_done_s": r(self.stats("done_s", "browser")),
            "by_page_p95_done_s": {
                p: round(percentile(sorted(x.done_s for x in ws if x.page == p), 95), 2)
                for p, _, _ in PAGES if any(x.page == p for x in ws)
            },
            "blocked_requests": len(self.blocked),
            "js_errors": len(self.js_errors),
            "log_problems": self.log_problems[:5],
            "cores": os.cpu_count(),
        }


def percentile(sorted_xs: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p95 is a load that happened)."""
    if not sorted_xs:
        return float("nan")
    k = max(0, min(len(sorted_xs) - 1, int(-(-q * len(sorted_xs) // 100)) - 1))
    return sorted_xs[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dataset_env(tmp: Path) -> dict[str, str]:
    """The app's environment: the embedded dataset if built, else a small seeded demo."""
    env = dict(os.environ)
    if not (REPO / "data" / "llr" / "manifest.json").is_file():
        from hiexplore.demo import write_demo

        demo = tmp / "demo"
        if not (demo / "manifest.json").is_file():
            write_demo(demo, 300, 40, 3)
        env["HIEXPLORE_DATASET"] = str(demo)
    return env


def start_server(log: Path, env: dict[str, str], port: int | None = None, timeout: float = 900.0,
                 script: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The app as ``hiexplore app`` starts it (``app_support/serve.py``: warm-up, then Streamlit
    in the same process), or ``streamlit run script``, on 127.0.0.1; returns when
    ``/_stcore/health`` answers 200. The timeout covers a warm-up that stores the flags first."""
    port = port or free_port()
    launch = ([sys.executable, "-m", "streamlit", "run", str(script)] if script is not None
              else [sys.executable, str(REPO / "app_support" / "serve.py")])
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [*launch, "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"the app did not become healthy in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, from /proc; None where unreadable.

    Why: on a shared machine the wall-clock figures swing with other people's work; the CPU
    the server spent on the run does not, and says how much work each page load costs it.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def log_problems(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if LOG_PROBLEM.search(line)]


async def _ws_user(url: str, i: int, pages: int, report: Report, stop_starting: float, timeout: float) -> None:
    """One user: a Streamlit session over the websocket, moving through ``pages`` pages."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ok_status = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
    ws_url = url.replace("http://", "ws://", 1) + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                  open_timeout=timeout, ping_interval=None) as ws:
        for k in range(pages):
            if time.monotonic() > stop_starting:
                break
            path, page_name, marker = PAGES[(i + k) % len(PAGES)]
            load = Load("websocket", i, path)
            report.loads.append(load)
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_name = page_name
            t0 = time.perf_counter()
            seen_marker, exceptions = False, []
            try:
                await ws.send(msg.SerializeToString())
                deadline = t0 + timeout
                while True:
                    raw = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.perf_counter()))
                    fwd = ForwardMsg()
                    fwd.ParseFromString(raw)
                    kind = fwd.WhichOneof("type")
                    if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                        el = fwd.delta.new_element
                        et = el.WhichOneof("type")
                        if load.content_s is None:
                            load.content_s = time.perf_counter() - t0
                        if et == "exception":
                            exceptions.append(f"{el.exception.type}: {el.exception.message}"[:300])
                        elif et in TEXT_ELEMENTS and marker.lower() in str(getattr(getattr(el, et), "body", "")).lower():
                            seen_marker = True
                    elif kind == "script_finished" and fwd.script_finished == ok_status:
                        load.done_s = time.perf_counter() - t0
                        break
                    elif kind == "script_finished" and fwd.script_finished != ForwardMsg.ScriptFinishedStatus.Value(
                            "FINISHED_EARLY_FOR_RERUN"):
                        load.problem = f"script finished with status {fwd.script_finished}"
                        break
                if exceptions:
                    load.problem = "; ".join(exceptions)
                elif not load.problem and not seen_marker:
                    load.problem = f"the page did not show {marker!r}"
                load.ok = not load.problem
            except Exception as err:  # noqa: BLE001 - a timeout or a dropped socket is a result
                load.problem = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"


async def _browser_users(url: str, n: int, pages: int, report: Report, stop_starting: float,
                         timeout: float) -> None:
    """``n`` users in one headless Chromium (one context each), the network cut off but loopback."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        async def route(r: Any) -> None:
            u = r.request.url
            if u.startswith(("data:", "blob:", "about:")) or u.split("://", 1)[-1].startswith("127.0.0.1"):
                await r.continue_()
            else:
                report.blocked.append(u)
                await r.abort()

        async def user(i: int) -> None:
            ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
            await ctx.route("**/*", route)
            page = await ctx.new_page()
            page.on("pageerror", lambda e: report.js_errors.append(f"browser {i}: {e}"))
            try:
                for k in range(pages):
                    if time.monotonic() > stop_starting:
                        break
                    path, _, text = PAGES[(i * 2 + k + 1) % len(PAGES)]
                    load = Load("browser", i, path)
                    report.loads.append(load)
                    t0 = time.perf_counter()
                    try:
                        await page.goto(f"{url}/{path}", wait_until="commit", timeout=timeout * 1000)
                        await page.get_by_text(text, exact=False).first.wait_for(timeout=timeout * 1000)
                        load.content_s = time.perf_counter() - t0
                        await page.wait_for_function(IDLE_JS, timeout=timeout * 1000, polling=250)
                        load.done_s = time.perf_counter() - t0 - 1.5  # minus the idle window itself
                        boxes = page.locator("[data-testid='stException']")
                        if await boxes.count():
                            load.problem = (await boxes.first.inner_text())[:300]
                        load.ok = not load.problem
                    except Exception as err:  # noqa: BLE001 - a timeout is a result, not a crash
                        load.problem = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            finally:
                await ctx.close()

        await asyncio.gather(*(user(i) for i in range(n)))
        await browser.close()


async def _drive(url: str, sessions: int, browsers: int, pages: int, budget: float, timeout: float) -> Report:
    report = Report(sessions, browsers, pages, 0.0)
    start = time.perf_counter()
    stop_starting = time.monotonic() + budget
    jobs = [_ws_user(url, i, pages, report, stop_starting, timeout) for i in range(sessions)]
    if browsers:
        jobs.append(_browser_users(url, browsers, pages, report, stop_starting, timeout))
    await asyncio.gather(*jobs)
    report.wall_s = time.perf_counter() - start
    return report


def run(sessions: int = 20, browsers: int = 2, pages_per_session: int = 3, budget: float = 60.0,
        page_timeout: float = 60.0, workdir: Path | None = None, warm_page: bool = False) -> Report:
    """Start the app, drive the users all at once, stop the app; the report includes the log check.

    Caches are cold, as the issue asks: the sessions arrive right after the server answers
    ``/_stcore/health``, so they see only what ``hiexplore app``'s own warm-up did before it
    listened. ``warm_page`` loads one page first (what earlier runs did), unmeasured.
    """
    if browsers and not CHROMIUM.exists():
        raise FileNotFoundError(f"headless Chromium not found at {CHROMIUM}")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = workdir or Path(tmp_s)
        log = tmp / "server.log"
        proc, url = start_server(log, dataset_env(tmp))
        try:
            if warm_page:  # one page first, unmeasured (earlier runs' warm-up)
                warm = asyncio.run(_drive(url, 1, 0, 1, budget, page_timeout))
                if warm.failed:
                    raise RuntimeError(f"the warm-up page failed: {warm.failed[0].problem}")
            load_1min = round(os.getloadavg()[0], 2)
            cpu0 = process_cpu_s(proc.pid)
            report = asyncio.run(_drive(url, sessions, browsers, pages_per_session, budget, page_timeout))
            cpu1 = process_cpu_s(proc.pid)
            report.load_1min = load_1min
            if cpu0 is not None and cpu1 is not None:
                report.server_cpu_s = cpu1 - cpu0
        finally:
            stop_server(proc)
        report.log_problems = log_problems(log)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20, help="websocket users")
    ap.add_argument("--browsers", type=int, default=2, help="headless Chromium users alongside them")
    ap.add_argument("--pages", type=int, default=3, help="pages each user opens, one after the other")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds after which no new page load starts")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one page may take")
    ap.add_argument("--warm-page", action="store_true",
                    help="load one page before the run (unmeasured); by default caches are cold")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    report = run(args.sessions, args.browsers, args.pages, args.budget, args.timeout, warm_page=args.warm_page)
    s = report.summary()
    if args.json:
        print(json.dumps({**s, "loads": [asdict(x) for x in report.loads]}))
    else:
        print(f"{s['sessions']} websocket + {s['browsers']} browser users at once, {s['pages_per_session']} pages "
              f"each, on {s['cores']} cores: {s['page_loads']} page loads, {s['failed']} failed, "
              f"{s['wall_s']} s wall; server CPU {s['server_cpu_s']} s ({s['server_cpu_per_load_s']} s per page "
              f"load); 1-minute load {s['load_1min_at_start']} at the start")
        print(f"{'':30}{'p50':>7}{'p95':>7}{'max':>7}")
        for label, x in (("websocket: time to content", s["time_to_content_s"]),
                         ("websocket: time to done", s["time_to_done_s"]),
                         ("browser: time to content", s["browser_time_to_content_s"]),
                         ("browser: time to done", s["browser_time_to_done_s"])):
            if x.get("n"):
                print(f"{label:<30}{x['p50']:>6.1f}s{x['p95']:>6.1f}s{x['max']:>6.1f}s")
        print("websocket p95 time to done by page: "
              + ", ".join(f"{k} {v:.1f}s" for k, v in s["by_page_p95_done_s"].items()))
        print(f"blocked external requests: {s['blocked_requests']}; JS errors: {s['js_errors']}; "
              f"server log problems: {len(report.log_problems)}")
        for x in report.failed:
            print(f"  FAILED {x.kind} {x.session} {x.page}: {x.problem}")
    return 0 if not report.failed and not report.log_problems and not report.js_errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
