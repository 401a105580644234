"""Outreach patches (issue 14, item 1): ``build_patches`` on LLR and on a national demo dataset.

Targets: LLR under 5 s, a national demo dataset under 60 s. The flags are read from the
dataset's derived store as the CLI and the app read them (``stored_flags``): computing them is
timed on its own line (``flags``), once per dataset, and is not part of the patches figure.

Cases:

* ``llr``: the embedded data (``data/llr``, 634 LSOAs), MMR1 at 24 months and cervical
  screening 25-49 (613 flagged LSOAs), the issue's defaults (150 people, 3 km), seed 0;
* ``national``: the synthetic national dataset (``hiexplore demo`` at national size: 33,755
  LSOAs, 6,500 practices), the same two indicators and defaults.

Each line gives wall and CPU time (the machine is shared: CPU time shows when other work
competed), the number of patches and of areas left alone.

Usage::

    python benchmarks/patches.py             # both cases
    python benchmarks/patches.py --llr-only  # the quick one
    python benchmarks/patches.py --json      # ... ending with one JSON line
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timings, emit, machine, print_table  # noqa: E402

from hiexplore.dataset import load_dataset  # noqa: E402
from hiexplore.demo import NATIONAL_LSOAS, NATIONAL_PRACTICES, write_demo  # noqa: E402
from hiexplore.derived import stored_flags  # noqa: E402
from hiexplore.patches import build_patches  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
INDICATORS = ["mmr1_24m", "cervical_screening_25_49"]
TARGETS_S = {"llr": 5.0, "national": 60.0}


def _case(t: Timings, name: str, path: Path) -> dict[str, Any]:
    ds = load_dataset(path)
    with t.time(f"{name}: flags (stored or computed once)"):
        for k in INDICATORS:
            stored_flags(ds, k, "lsoa")
    with t.time(f"{name}: build_patches") as row:
        frame = build_patches(ds, INDICATORS, "lsoa", seed=0)
    info = frame.attrs["patches"]
    row["note"] = (f"{info['flagged_areas']:,} flagged LSOAs -> {info['patches']:,} patches, "
                   f"{info['areas_alone']:,} left alone")
    return {"s": row["s"], "cpu_s": row["cpu_s"], **{k: info[k] for k in ("flagged_areas", "patches", "areas_alone")},
            "target_s": TARGETS_S[name], "met": row["s"] < TARGETS_S[name]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    ap.add_argument("--llr-only", action="store_true", help="skip the national case")
    ap.add_argument("--lsoas", type=int, default=NATIONAL_LSOAS)
    ap.add_argument("--practices", type=int, default=NATIONAL_PRACTICES)
    args = ap.parse_args(argv)
    t = Timings()
    result: dict[str, Any] = {"machine": machine(), "cases": {}}
    result["cases"]["llr"] = _case(t, "llr", REPO / "data" / "llr")
    if not args.llr_only:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "national"
            t.run("national: write the demo dataset", lambda: write_demo(path, args.lsoas, args.practices, 1))
            result["cases"]["national"] = _case(t, "national", path)
    rows = [(r["name"], f"{r['s']:.2f} s", f"cpu {r['cpu_s']:.2f} s; {r.get('note', '')}") for r in t.rows]
    m = result["machine"]
    print_table(f"Outreach patches ({m['cores']} cores, {m['cpu']}, load {m['load_1min_at_start']})", rows)
    print("targets met: " + ", ".join(f"{k} (< {c['target_s']:g} s) {'yes' if c['met'] else 'NO'}"
                                      for k, c in result["cases"].items()))
    if args.json:
        emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
