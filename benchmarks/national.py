"""National scale: build, apportion and flag all of England, against a straightforward baseline.

Builds the synthetic national dataset (``hiexplore demo``: 33,755 LSOAs, 6,500 practices,
~1.26M practice-by-LSOA registration rows, 19 indicators x 2 periods), then times, one run each:

* ``build``: generate the demo and write it as a validated dataset folder (``write_demo``);
* ``load``: read and validate it back (``load_dataset``), what every later session pays;
* ``apportion``: one indicator, practices -> LSOAs (``area_figures``; the first call also builds
  the practice x LSOA share matrix, which later indicators reuse), and the sparse product alone;
* ``flags``: :func:`hiexplore.flags.compute_flags` for every indicator at LSOA level: Wilson 95%
  and 99.8% intervals, England benchmark, standard band, IMD decile/Core20, people to reach,
  flagged, priority score and rank, and the reasons sentence;
* ``flags + expected``: the same with the expected-uptake model (scikit-learn, 5-fold CV);
* ``flags + clusters``: the same with LISA clusters (``--cluster-permutations``, default 99);
* ``SII``: the inequality report of one indicator (SII/RII by IMD decile, 100,000 simulations);
* ``LISA``: queen weights over 33,755 LSOAs, and local Moran's I of one indicator with 999
  permutations;

and the same apportioning and flagging done by a straightforward pandas baseline written below
(registrations merged with practice figures and grouped by LSOA; Wilson intervals, benchmark
comparison, standard band and reasons row by row with ``DataFrame.apply``), checked to give the
same numbers.

``total_s`` = build + load + apportion + flags (every indicator; no expected model, no
clusters: those two add context to the priority order but do not decide which areas are
flagged, and are timed on their own lines). ``baseline_s`` = the same build + load + the
baseline's apportion and flags. ``ratio`` = baseline_s / total_s; ``compute_ratio`` compares the
apportion + flags parts alone. ``peak_mb`` is the peak resident memory of the process after the
hiexplore pipeline (before the baseline runs).

Usage::

    python benchmarks/national.py            # readable table
    python benchmarks/national.py --json     # ... ending with one JSON line
    python benchmarks/national.py --lsoas 2000 --practices 385   # a quick smaller run
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timings, emit, machine, peak_rss_mb, print_table  # noqa: E402

from hiexplore.apportion import area_figures  # noqa: E402
from hiexplore.catalogue import get_indicator  # noqa: E402
from hiexplore.dataset import load_dataset  # noqa: E402
from hiexplore.demo import NATIONAL_LSOAS, NATIONAL_PRACTICES, write_demo  # noqa: E402
from hiexplore.flags import _reason, _target_pct, compute_flags  # noqa: E402
from hiexplore.inequality_report import inequality_report  # noqa: E402
from hiexplore.spatial import local_moran_rate, queen_weights  # noqa: E402
from hiexplore.stats.intervals import critical_z  # noqa: E402

INDICATOR = "mmr1_24m"  # the one indicator timed on its own
TOTAL_TARGET_S = 10.0
RATIO_TARGET = 5.0
PEAK_TARGET_MB = 2048.0
Z95 = critical_z(0.95)
Z998 = critical_z(0.998)


# ============================================================================================
# The straightforward baseline: what one would write first in pandas
# ============================================================================================


def _wilson_row(num: float, den: float, z: float) -> tuple[float, float]:
    """Wilson score interval (percent) for one area, as a row-wise ``apply`` would compute it.

    The same arithmetic as :func:`hiexplore.stats.intervals.proportion_ci`, one area at a time.
    """
    if not den > 0:
        return (math.nan, math.nan)
    centre = 2.0 * num + z * z
    spread = z * math.sqrt(z * z + 4.0 * num * (1.0 - num / den))
    denom = 2.0 * (den + z * z)
    lower = 0.0 if num == 0 else min(max((centre - spread) / denom, 0.0), 1.0)
    upper = 1.0 if num == den else min(max((centre + spread) / denom, 0.0), 1.0)
    return (lower * 100.0, upper * 100.0)


def baseline_apportion(ds: Any, indicator: str, period: str) -> pd.DataFrame:
    """Practice figures -> LSOAs by merge + groupby (no sparse matrix)."""
    ind = ds.indicators
    rows = ind[
        (ind["indicator"] == indicator) & (ind["period"] == period) & (ind["area_type"] == "practice")
    ]
    rows = rows.dropna(subset=["numerator", "denominator"])
    rows = rows[rows["denominator"] > 0]
    reg = ds.registrations.copy()
    reg["practice_total"] = reg.groupby("practice_code")["patients"].transform("sum")
    reg["share"] = reg["patients"] / reg["practice_total"]
    m = reg.merge(
        rows[["area_code", "numerator", "denominator"]],
        left_on="practice_code",
        right_on="area_code",
        how="left",
    )
    m = m[m["in_area"]]
    m["num"] = m["share"] * m["numerator"]
    m["den"] = m["share"] * m["denominator"]
    m["reg_with"] = np.where(m["numerator"].notna(), m["patients"], 0.0)
    g = m.groupby("lsoa_code").agg(
        numerator=("num", "sum"), denominator=("den", "sum"),
        registered=("reg_with", "sum"), total=("patients", "sum"),
    ).reset_index()
    g["coverage"] = g["registered"] / g["total"]
    g["value"] = np.where(g["denominator"] > 0, 100 * g["numerator"] / g["denominator"], np.nan)
    return g


def baseline_flags(ds: Any, indicator: str) -> pd.DataFrame:
    """The flags' core columns, computed row by row where that is the obvious way."""
    info = get_indicator(indicator)
    ind = ds.indicators
    period = sorted(ind.loc[ind["indicator"] == indicator, "period"].unique())[-1]
    g = baseline_apportion(ds, indicator, period)
    g["area_name"] = g["lsoa_code"].map(ds.lookup.set_index("lsoa_code")["lsoa_name"])
    ci95 = g.apply(lambda r: _wilson_row(r["numerator"], r["denominator"], Z95), axis=1)
    g["lower_ci_95"] = [c[0] for c in ci95]
    g["upper_ci_95"] = [c[1] for c in ci95]
    ci998 = g.apply(lambda r: _wilson_row(r["numerator"], r["denominator"], Z998), axis=1)
    g["lower_ci_998"] = [c[0] for c in ci998]
    g["upper_ci_998"] = [c[1] for c in ci998]
    eng = ind[(ind["indicator"] == indicator) & (ind["period"] == period) & (ind["area_type"] == "england")]
    bval = float(100 * eng["numerator"].iloc[0] / eng["denominator"].iloc[0])
    g["benchmark_value"] = bval

    def compare(r: pd.Series) -> str:
        if not (np.isfinite(r["lower_ci_95"]) and np.isfinite(r["upper_ci_95"])):
            return "Not compared"
        if r["lower_ci_95"] > bval:
            return "Better" if info.higher_is_better else "Worse"
        if r["upper_ci_95"] < bval:
            return "Worse" if info.higher_is_better else "Better"
        return "Similar"

    g["vs_benchmark"] = g.apply(compare, axis=1)
    target, acceptable, achievable = _target_pct(indicator, period)

    def band(v: float) -> str:
        if not np.isfinite(v):
            return "no data"
        if acceptable is None:
            return "no standard"
        if achievable is not None and v >= achievable:
            return "achievable"
        return "acceptable" if v >= acceptable else "below acceptable"

    g["standard_band"] = g["value"].apply(band)
    dep = ds.deprivation
    dep = dep[dep["edition"] == dep["edition"].max()][["lsoa_code", "imd_decile", "imd_score"]]
    g = g.merge(dep, on="lsoa_code", how="left")
    g["core20"] = g["imd_decile"] <= 2
    g["people_to_reach"] = g.apply(
        lambda r: max(0.0, math.ceil(round(target / 100 * r["denominator"] - r["numerator"], 9)))
        if target is not None and r["denominator"] > 0 else 0.0,
        axis=1,
    )
    g["low_confidence"] = g["denominator"] < 30
    g["flagged"] = (g["denominator"] > 0) & (
        (g["vs_benchmark"] == "Worse") | (g["standard_band"] == "below acceptable")
    )
    g["expected_value"] = np.nan
    g["vs_expected"] = "not assessed"
    g["cluster"] = "not assessed"
    g["reasons"] = g.apply(
        lambda r: _reason(r.to_dict(), info.short_name, "England", acceptable, info.higher_is_better),
        axis=1,
    )
    top = g.loc[g["flagged"], "people_to_reach"].max()
    g["priority_score"] = np.where(
        g["flagged"],
        0.35 * g["people_to_reach"] / (top if top and top > 0 else 1.0)
        + 0.20 * (11 - g["imd_decile"]) / 10 + 0.20 * g["core20"],
        0.0,
    )
    return g.sort_values("priority_score", ascending=False)


def check_same(ours: pd.DataFrame, base: pd.DataFrame) -> dict[str, float]:
    """How far the baseline is from hiexplore: largest absolute difference of the numbers, and
    the areas whose flag or reasons sentence differ (both should be 0)."""
    a = ours.set_index("area_code")
    b = base.set_index("lsoa_code").reindex(a.index)
    worst = 0.0
    for col in ("numerator", "denominator", "lower_ci_95", "upper_ci_998", "people_to_reach"):
        diff = np.nanmax(np.abs(a[col].to_numpy(float) - b[col].to_numpy(float)))
        worst = max(worst, float(diff))
    return {
        "max_abs_diff": worst,
        "flag_differs": int((a["flagged"].to_numpy(bool) != b["flagged"].to_numpy(bool)).sum()),
        "reason_differs": int((a["reasons"].to_numpy() != b["reasons"].to_numpy()).sum()),
    }


# ============================================================================================
# The run
# ============================================================================================


def run(args: argparse.Namespace) -> dict[str, Any]:
    t = Timings()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="hiexplore-national-") as tmp:
        out = Path(args.out or tmp) / "national"
        t.run("build", lambda: write_demo(out, args.lsoas, args.practices, args.seed),
              "generate + validate + write (hiexplore demo)")
        ds = t.run("load", lambda: load_dataset(out), "read + validate")
    keys = ds.indicator_keys()
    sizes = {
        "lsoas": int(len(ds.lookup)),
        "practices": int(len(ds.practices)),
        "registration_rows": int(len(ds.registrations)),
        "indicators": len(keys),
    }
    figs = t.run("apportion", lambda: area_figures(ds, INDICATOR, "lsoa"),
                 f"{INDICATOR}, incl. building the share matrix")
    from hiexplore.apportion import _dataset_catchment

    _, shares_t, _ = _dataset_catchment(ds)
    num = np.random.default_rng(0).uniform(0, 100, shares_t.shape[1])
    reps = 50
    with t.time("apportion_product", f"sparse product alone, mean of {reps}") as row:
        for _ in range(reps):
            shares_t @ num
    row["s"] /= reps
    row["cpu_s"] /= reps

    flags: dict[str, pd.DataFrame] = {}
    with t.time("flags", f"{len(keys)} indicators at LSOA"):
        for k in keys:
            flags[k] = compute_flags(ds, k, "lsoa", with_clusters=False, with_expected=False)
    peak_pipeline = peak_rss_mb()
    with t.time("flags_expected", f"{len(keys)} indicators, + expected model"):
        for k in keys:
            compute_flags(ds, k, "lsoa", with_clusters=False, with_expected=True)
    sii = t.run("sii", lambda: inequality_report(ds, INDICATOR, "lsoa"), "one indicator, by IMD decile")
    polys = ds.areas[ds.areas["area_type"] == "lsoa"]
    weights = t.run("lisa_weights", lambda: queen_weights(polys, id_col="area_code"),
                    f"queen contiguity, {len(polys):,} LSOAs")
    f0 = figs[figs["denominator"] > 0].set_index("area_code").reindex(list(weights.ids))
    f0 = f0.fillna({"numerator": 0.0, "denominator": 1.0})
    t.run("lisa", lambda: local_moran_rate(f0["numerator"], f0["denominator"], weights,
                                           permutations=999, seed=1),
          "local Moran (EB rates), 999 permutations, one indicator")
    t.run("lisa_99", lambda: local_moran_rate(f0["numerator"], f0["denominator"], weights,
                                              permutations=99, seed=1),
          "the same with 99 permutations")
    if args.clusters_all:
        with t.time("flags_clusters",
                    f"{len(keys)} indicators, + LISA ({args.cluster_permutations} permutations)"):
            for k in keys:
                compute_flags(ds, k, "lsoa", with_clusters=True, with_expected=False,
                              permutations=args.cluster_permutations)

    total = t["build"] + t["load"] + t["apportion"] + t["flags"]
    result: dict[str, Any] = {}
    if not args.no_baseline:
        period = ds.latest_period(INDICATOR)
        t.run("baseline_apportion", lambda: baseline_apportion(ds, INDICATOR, period),
              "merge + groupby")
        base: dict[str, pd.DataFrame] = {}
        with t.time("baseline_flags", f"{len(keys)} indicators, row-wise"):
            for k in keys:
                base[k] = baseline_flags(ds, k)
        checks = [check_same(flags[k], base[k]) for k in keys]
        result["baseline_check"] = {
            "max_abs_diff": max(c["max_abs_diff"] for c in checks),
            "flag_differs": sum(c["flag_differs"] for c in checks),
            "reason_differs": sum(c["reason_differs"] for c in checks),
        }
        baseline = t["build"] + t["load"] + t["baseline_apportion"] + t["baseline_flags"]
        result["baseline_s"] = baseline
        result["ratio"] = baseline / total
        result["compute_ratio"] = (t["baseline_apportion"] + t["baseline_flags"]) / (
            t["apportion"] + t["flags"]
        )
        result["apportion_ratio"] = t["baseline_apportion"] / t["apportion"]
        result["product_ratio"] = t["baseline_apportion"] / t["apportion_product"]
    result.update(
        {
            "total_s": total,
            "session_s": t["load"] + t["apportion"] + t["flags"],
            "total_cpu_s": sum(r["cpu_s"] for r in t.rows if r["name"] in ("build", "load", "apportion", "flags")),
            "peak_mb": peak_pipeline,
            "peak_mb_with_baseline": peak_rss_mb(),
            "sii": float(sii["sii"]),
            "sizes": sizes,
            "machine": info,
            "timings": {r["name"]: round(r["s"], 4) for r in t.rows},
            "cpu": {r["name"]: round(r["cpu_s"], 4) for r in t.rows},
            "targets": {
                "total_s_under": TOTAL_TARGET_S,
                "ratio_at_least": RATIO_TARGET,
                "peak_mb_under": PEAK_TARGET_MB,
            },
        }
    )
    result["met"] = {
        "total": total < TOTAL_TARGET_S,
        "ratio": result.get("ratio", 0.0) >= RATIO_TARGET,
        "peak": peak_pipeline < PEAK_TARGET_MB,
    }
    result["_rows"] = t.rows
    return result


def _fmt_s(s: float) -> str:
    return f"{s * 1000:,.1f} ms" if s < 1 else f"{s:,.2f} s"


def report(result: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    baseline_of = {"apportion": "baseline_apportion", "flags": "baseline_flags",
                   "apportion_product": "baseline_apportion"}
    timing = result["timings"]
    for r in result["_rows"]:
        note = r["note"]
        b = baseline_of.get(r["name"])
        if b and b in timing:
            note += f"  [baseline {_fmt_s(timing[b])}: {timing[b] / r['s']:,.1f}x faster]"
        rows.append((r["name"], _fmt_s(r["s"]), f"cpu {_fmt_s(r['cpu_s'])}; {note}"))
    rows.append(("total_s", _fmt_s(result["total_s"]),
                 f"build + load + apportion + flags (cpu {_fmt_s(result['total_cpu_s'])})"))
    rows.append(("session_s", _fmt_s(result["session_s"]),
                 "load + apportion + flags: a session on an existing national dataset"))
    if "baseline_s" in result:
        rows.append(("baseline_s", _fmt_s(result["baseline_s"]), "build + load + baseline"))
        rows.append(("ratio", f"{result['ratio']:.1f}x", f"compute only {result['compute_ratio']:.1f}x"))
    rows.append(("peak_mb", f"{result['peak_mb']:,.0f} MB",
                 f"peak RSS; {result['peak_mb_with_baseline']:,.0f} MB after the baseline"))
    s = result["sizes"]
    m = result["machine"]
    title = (
        f"National benchmark: {s['lsoas']:,} LSOAs, {s['practices']:,} practices, "
        f"{s['registration_rows']:,} registration rows, {s['indicators']} indicators "
        f"({m['cores']} cores, {m['cpu']}, load {m['load_1min_at_start']})"
    )
    print_table(title, rows)
    print("targets met: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["met"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    ap.add_argument("--lsoas", type=int, default=NATIONAL_LSOAS)
    ap.add_argument("--practices", type=int, default=NATIONAL_PRACTICES)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="keep the dataset in this folder (default: a temporary one)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the pandas baseline")
    ap.add_argument("--clusters-all", action="store_true",
                    help="also time flags with LISA clusters for every indicator")
    ap.add_argument("--cluster-permutations", type=int, default=99)
    args = ap.parse_args(argv)
    result = run(args)
    report(result)
    if args.json:
        result.pop("_rows")
        emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
