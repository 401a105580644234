"""Server CPU per page load: what one more user costs the server, whatever else the machine does.

Starts the app as ``hiexplore app`` does (``app_support/serve.py``: warm-up, then Streamlit, on a
free 127.0.0.1 port; ``HIEXPLORE_DATASET`` or the embedded ``data/llr``), then, page by page,
opens a NEW websocket session (the protocol the browser's frontend speaks, as in
``concurrency.py``) and loads the page ``--repeats + 1`` times, reading the server process's CPU
time from ``/proc`` around each load. It prints, per page, the first load in the process
(``first_cpu_s``: what the warm-up left undone) and the median of the later ones
(``cpu_median_s``). CPU time does not swing with the machine's load the way wall-clock time does;
20 sessions at once share one Python process, so this is what queues them
(``concurrency.py``'s p95).

Usage::

    python benchmarks/page_cpu.py [--repeats 4] [--json] [page ...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, machine  # noqa: E402
from concurrency import (  # noqa: E402
    PAGES,
    Report,
    _ws_user,
    dataset_env,
    process_cpu_s,
    start_server,
    stop_server,
)


def run(pages: list[str], repeats: int = 4) -> dict[str, Any]:
    names = [p for p, _, _ in PAGES]
    result: dict[str, Any] = {"machine": machine(), "repeats": repeats, "pages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp) / "server.log", dataset_env(Path(tmp)))
        try:
            for page in pages:
                cpus: list[float] = []
                problems: list[str] = []
                for _ in range(repeats + 1):
                    report = Report(1, 0, 1, 0.0)
                    cpu0 = process_cpu_s(proc.pid) or 0.0
                    asyncio.run(_ws_user(url, names.index(page), 1, report, time.monotonic() + 3600, 120.0))
                    cpus.append((process_cpu_s(proc.pid) or 0.0) - cpu0)
                    problems += [x.problem for x in report.loads if not x.ok]
                result["pages"][page] = {"first_cpu_s": round(cpus[0], 3),
                                         "cpu_median_s": round(statistics.median(cpus[1:]), 3),
                                         "ok": not problems, "problems": problems[:3]}
        finally:
            stop_server(proc)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="*", help="pages to load (default: every page of concurrency.PAGES)")
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    known = [p for p, _, _ in PAGES]
    unknown = [p for p in args.pages if p not in known]
    if unknown:
        ap.error(f"unknown page(s) {', '.join(unknown)}; pages: {', '.join(known)}")
    res = run(args.pages or known, args.repeats)
    if args.json:
        emit(res)
    else:
        print(f"server CPU per page load (new session, warm process), load {res['machine']['load_1min_at_start']}")
        for page, v in res["pages"].items():
            print(f"  {page:<14} first {v['first_cpu_s']:.3f} s   later (median of {args.repeats}) "
                  f"{v['cpu_median_s']:.3f} s" + ("" if v["ok"] else f"   FAILED: {v['problems']}"))
    return 0 if all(v["ok"] for v in res["pages"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
