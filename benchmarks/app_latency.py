"""How long a page takes, against a bare Streamlit page measured in the same run.

Starts two servers on 127.0.0.1 with the same Streamlit: hiexplore as ``hiexplore app`` starts
it (``app_support/serve.py``: warm-up, then ``app.py``; the embedded ``data/llr`` dataset or
``--dataset``) and a bare page (a title and a line of text), each timed from when its
``/_stcore/health`` answers. One headless
Chromium (Debian's, network cut off but loopback) then measures, from navigation to finished (the
page's script has stopped: no running widget for 1.5 s, the idle window itself subtracted):

* ``cold_first_s``: the first hiexplore page after the server started (caches cold);
* per page, after one unmeasured visit of every page, ``--repeats`` warm loads (median), each beside a bare-page load taken right before it,
  so both see the same machine at the same moment;
* the map explorer's indicator change: pick another indicator in the page and wait until the
  page is finished again (the map redrawn), as a user does.

It prints each figure with its ratio to the bare page's median, and the targets of issue 13
(warm pages and the indicator change <= 2x the bare page; cold first page <= 3x). ``--json``
ends with one JSON line.

Usage::

    python benchmarks/app_latency.py [--repeats 5] [--dataset DIR] [--pages map_explorer ...] [--json]

``--pages`` measures only the pages named (the first is the cold one; the indicator change only
with ``map_explorer``) beside the bare page: e.g. ``--dataset /work/natdemo --pages map_explorer``
for the national Map explorer (issue 13.3: <= 3x the bare page) without the other pages' minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, machine  # noqa: E402
from concurrency import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE_JS,
    PAGES,
    dataset_env,
    start_server,
    stop_server,
)

REPO = Path(__file__).resolve().parents[1]
BARE_APP = 'import streamlit as st\nst.title("Bare page")\nst.write("A line of text.")\n'
IDLE_WINDOW_S = 1.5
TARGET_WARM = 2.0
TARGET_COLD = 3.0


def _start_bare(tmp: Path, env: dict[str, str]) -> tuple[Any, str]:
    """The bare page (a title and a line of text), served like the app."""
    script = tmp / "bare.py"
    script.write_text(BARE_APP, encoding="utf-8")
    return start_server(tmp / "bare.log", env, script=script)


def _load(page: Any, url: str, text: str, timeout_s: float = 120.0) -> float:
    """Seconds from navigation until the page shows ``text`` and its script has finished."""
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_s * 1000)
    page.evaluate("() => { window.__hxIdleSince = null; }")
    page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000, polling=100)
    return time.perf_counter() - t0 - IDLE_WINDOW_S


def _change_indicator(page: Any, timeout_s: float = 120.0) -> float | None:
    """Seconds from picking another indicator on the map explorer until the page has finished."""
    box = page.get_by_label("Indicator", exact=False).first
    if not box.count():
        return None
    box.click()
    options = page.locator("[role='option']")
    options.first.wait_for(timeout=10_000)
    chosen = None
    for i in range(options.count()):
        if options.nth(i).get_attribute("aria-selected") != "true":
            chosen = options.nth(i)
            break
    if chosen is None:
        page.keyboard.press("Escape")
        return None
    t0 = time.perf_counter()
    chosen.click()
    page.evaluate("() => { window.__hxIdleSince = null; }")
    page.wait_for_timeout(150)  # let the rerun start before waiting for it to end
    page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000, polling=100)
    return time.perf_counter() - t0 - IDLE_WINDOW_S


def run(repeats: int = 5, dataset: Path | None = None, pages_wanted: list[str] | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chosen = [p for p in PAGES if pages_wanted is None or p[0] in pages_wanted]
    if not chosen:
        raise ValueError(f"no page among {pages_wanted}; pages: {[p[0] for p in PAGES]}")

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = dataset_env(tmp)
        if dataset is not None:
            env["HIEXPLORE_DATASET"] = str(dataset)
        app, app_url = start_server(tmp / "app.log", env)
        bare, bare_url = _start_bare(tmp, env)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                ctx.route("**/*", lambda r: r.continue_()
                          if r.request.url.startswith(("data:", "blob:", "about:", "http://127.0.0.1"))
                          else r.abort())
                page = ctx.new_page()
                cold = _load(page, f"{app_url}/{chosen[0][0]}", chosen[0][2])
                for path, _name, text in chosen[1:]:  # warm every page's caches once, unmeasured
                    _load(page, f"{app_url}/{path}", text)
                bare_times: list[float] = []
                pages: dict[str, list[float]] = {}
                for _ in range(repeats):
                    for path, _name, text in chosen:
                        bare_times.append(_load(page, bare_url, "Bare page"))
                        pages.setdefault(path, []).append(_load(page, f"{app_url}/{path}", text))
                changes: list[float] = []
                if any(p[0] == "map_explorer" for p in chosen):
                    _load(page, f"{app_url}/map_explorer", "Map explorer")
                for _ in range(repeats) if any(p[0] == "map_explorer" for p in chosen) else ():
                    bare_times.append(_load(page, bare_url, "Bare page"))
                    _load(page, f"{app_url}/map_explorer", "Map explorer")
                    took = _change_indicator(page)
                    if took is not None:
                        changes.append(took)
                browser.close()
        finally:
            stop_server(app)
            stop_server(bare)
    bare_med = statistics.median(bare_times)
    result: dict[str, Any] = {
        "machine": machine(),
        "repeats": repeats,
        "bare_median_s": round(bare_med, 3),
        "bare_loads": len(bare_times),
        "cold_page": chosen[0][0],
        "cold_first_s": round(cold, 3),
        "cold_ratio": round(cold / bare_med, 2),
        "pages": {p: {"median_s": round(statistics.median(v), 3),
                      "ratio": round(statistics.median(v) / bare_med, 2)} for p, v in pages.items()},
    }
    if changes:
        med = statistics.median(changes)
        result["indicator_change"] = {"median_s": round(med, 3), "ratio": round(med / bare_med, 2)}
    worst = max(v["ratio"] for v in result["pages"].values())
    result["targets"] = {
        "warm_pages_max_ratio": worst,
        "warm_pages_met": worst <= TARGET_WARM,
        "indicator_change_met": bool(changes) and result["indicator_change"]["ratio"] <= TARGET_WARM,
        "cold_met": result["cold_ratio"] <= TARGET_COLD,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dataset", type=Path, default=None)
    ap.add_argument("--pages", nargs="+", choices=[p[0] for p in PAGES], default=None, metavar="PAGE",
                    help="measure only these pages (and the bare page); default: every page")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    res = run(args.repeats, args.dataset, args.pages)
    if args.json:
        emit(res)
        return 0
    print(f"bare Streamlit page, median of {res['bare_loads']} loads: "
          f"{res['bare_median_s']:.2f} s")
    print(f"cold first page ({res['cold_page']}): {res['cold_first_s']:.2f} s ({res['cold_ratio']:.1f}x; target <= {TARGET_COLD:.0f}x)")
    for p, v in res["pages"].items():
        print(f"  {p:<14} {v['median_s']:6.2f} s  {v['ratio']:4.1f}x  (target <= {TARGET_WARM:.0f}x)")
    if "indicator_change" in res:
        ic = res["indicator_change"]
        print(f"map explorer, indicator change: {ic['median_s']:.2f} s ({ic['ratio']:.1f}x)")
    print("targets:", res["targets"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
