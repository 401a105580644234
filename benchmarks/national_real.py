"""All of England from the real files: ``hiexplore build --source ../shared/data`` with no --areas.

Prints the build's wall time, CPU time, peak memory (RSS) and the share of England's active GP
practices (epraccur, prescribing setting 4, status A) that were placed; with ``--json`` it ends
with one JSON line. Aim (issue 12 item 4): under 3 minutes and 4 GB on the 2-core machine, and at
least 99% of active practices placed.

    python benchmarks/national_real.py [--source ../shared/data] [--out DIR] [--json]

``--out`` keeps the dataset (else a temporary folder is removed afterwards); open it with
``hiexplore app --dataset DIR``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine, peak_rss_mb, print_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.source.is_dir():
        print(f"source folder {args.source} not found", file=sys.stderr)
        return 2
    from hiexplore.build import build_dataset
    from hiexplore.dataset import load_dataset
    from hiexplore.io.practices import read_epraccur

    tmp = None
    out = args.out
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="national_real_"))
        out = tmp / "england"
    info = machine()
    wall, cpu = time.perf_counter(), time.process_time()
    build_dataset([args.source], out, name="england")
    wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    peak = peak_rss_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    ds = load_dataset(out)
    epr = read_epraccur(next(args.source.rglob("epraccur*.zip")))[0].frame
    active = epr[(epr["status"] == "open") & (epr["setting"] == 4) & epr["practice_code"].str.match(r"^[A-Z]\d{5}$")]
    pr = ds.practices.set_index("practice_code")
    placed = pr.index[pr["latitude"].notna()]
    english = active[active["icb_code"].astype("string").str.startswith("Q").fillna(False)
                     & (active["icb_code"] != "Q99")]  # English ICBs; Q99 (7A* sub-codes) is Wales
    share = float(english["practice_code"].isin(placed).mean())
    lsoas = int((ds.areas["area_type"] == "lsoa").sum())
    unplaced = len(ds.manifest.get("unplaced_practices") or [])
    rows = [
        ("LSOAs", f"{lsoas:,}", "every LSOA 2021 in England: 33,755"),
        ("practices in the dataset", f"{len(pr):,}", f"{ds.manifest.get('practice_membership')}"),
        ("active GP practices placed", f"{share:.2%}", f"of {len(english):,} in epraccur; {unplaced} listed unplaced"),
        ("indicators", f"{ds.indicators['indicator'].nunique()}", ", ".join(sorted(ds.indicators["indicator"].unique()))),
        ("build wall time", f"{wall_s:.1f} s", "aim < 180 s"),
        ("build CPU time", f"{cpu_s:.1f} s", "of this process (the machine is shared)"),
        ("peak memory (RSS)", f"{max(peak, children):,.0f} MB", "aim < 4,096 MB"),
    ]
    print_table(f"All of England from {args.source} ({info['cores']} cores, load {info['load_1min_at_start']})", rows)
    if args.json:
        emit({"lsoas": lsoas, "practices": len(pr), "placed_share": share, "unplaced_listed": unplaced,
              "wall_s": wall_s, "cpu_s": cpu_s, "peak_mb": max(peak, children), "machine": info})
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
