"""Flags: which areas have low uptake, why, how many people to reach, and in what order.

One row per area with the value and its 95%/99.8% Wilson intervals, the comparison with a
benchmark, the national standard's band, deprivation (IMD decile, Core20), the uptake expected for
an area like it, spatial cluster membership, people to reach, a priority score and rank, and the
reasons in a sentence a planner can read aloud.

An area is **flagged** when its uptake is significantly worse than the benchmark (95% interval) or
below the standard's acceptable level. Flagged areas are ranked by a weighted priority score
(:class:`PriorityWeights`): people to reach, deprivation (Core20 first: proportionate
universalism), lower-than-expected uptake and cold-spot membership.

Every row also says how old its figure is (``period_end``, ``out_of_date``: see
:mod:`hiexplore.periods`) and carries the publisher's ``value_note``; a practice whose denominator
is suppressed (fewer than 5 eligible, :mod:`hiexplore.suppression`) is shown with its note and
never compared, banded or flagged on its value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .apportion import _indicator_rows, area_figures
from .catalogue import get_indicator, standard_for
from .dataset import Dataset, derived
from .errors import RequestError
from .periods import OUT_OF_DATE_YEARS, FigureAge, figure_age, mixed_periods_note
from .stats.compare import compare_with_benchmark, standard_band
from .stats.intervals import proportion_ci
from .suppression import SUPPRESSED_PREFIX, is_suppressed

__all__ = [
    "FLAG_COLUMNS",
    "FLAG_GEOGRAPHIES",
    "PriorityWeights",
    "DEFAULT_WEIGHTS",
    "LOW_CONFIDENCE_DENOMINATOR",
    "benchmark_value",
    "area_deprivation",
    "compute_flags",
    "compute_targets",
    "people_to_reach",
]

FLAG_COLUMNS = [
    "area_code", "area_name", "geography", "indicator", "period", "numerator", "denominator",
    "value", "lower_ci_95", "upper_ci_95", "lower_ci_998", "upper_ci_998", "benchmark_value",
    "vs_benchmark", "standard_band", "imd_decile", "core20", "expected_value", "vs_expected",
    "cluster", "people_to_reach", "priority_score", "priority_rank", "flagged", "reasons",
    "period_end", "out_of_date", "value_note", "trend", "trend_points",
]
FLAG_GEOGRAPHIES = ("lsoa", "msoa", "ward", "lad", "practice", "pcn", "icb", "sub_icb")
SPATIAL_GEOGRAPHIES = ("lsoa", "msoa", "ward")
LOW_CONFIDENCE_DENOMINATOR = 30.0  # apportioned estimates resting on fewer people are marked
SEED = 20261123
PERMUTATIONS = 999


@dataclass(frozen=True)
class PriorityWeights:
    """Weights of the priority score (they sum to 1; each component is scaled to 0-1).

    - ``people_to_reach``: the area's people to reach / the largest among flagged areas.
    - ``deprivation``: (11 - IMD decile) / 10, so decile 1 scores 1.0 and decile 10 scores 0.1.
    - ``core20``: 1 for areas in the most deprived 20% nationally (Core20PLUS5).
    - ``lower_than_expected``: 1 where uptake is significantly lower than expected for an area
      with its deprivation and population mix.
    - ``cold_spot``: 1 for members of a low-low spatial cluster (local Moran's I).
    """

    people_to_reach: float = 0.35
    deprivation: float = 0.20
    core20: float = 0.20
    lower_than_expected: float = 0.15
    cold_spot: float = 0.10


DEFAULT_WEIGHTS = PriorityWeights()


def people_to_reach(numerator: np.ndarray, denominator: np.ndarray, target_pct: float | None) -> np.ndarray:
    """People to screen/vaccinate for the area to reach ``target_pct``: ceil(t*D - N), at least 0.

    >>> people_to_reach(np.array([48.0]), np.array([100.0]), 62.0).tolist()
    [14.0]
    """
    if target_pct is None:
        return np.zeros(len(numerator))
    need = np.ceil(np.round(target_pct / 100.0 * denominator - numerator, 9))
    return np.where(np.isfinite(need), np.maximum(need, 0.0), np.nan)


def _target_pct(indicator: str, period: str) -> tuple[float | None, float | None, float | None]:
    std = standard_for(indicator, period)
    ind = get_indicator(indicator)
    if std is None:
        return None, None, None
    target = std.acceptable if ind.reach_target == "acceptable" else (std.achievable or std.acceptable)
    return target, std.acceptable, std.achievable


def benchmark_value(ds: Dataset, indicator: str, period: str, benchmark: str) -> tuple[float, str]:
    """The benchmark's value (percent) and a label: England, the dataset's ICB, or any area code."""
    ind_rows = _indicator_rows(ds, indicator)
    rows = ind_rows[(ind_rows["indicator"] == indicator) & (ind_rows["period"] == period)]
    b = benchmark.strip()
    if b.lower() == "england":
        eng = rows[rows["area_type"] == "england"]
        if eng.empty:
            raise RequestError(
                f"No England figure for {indicator!r} in {period!r}; choose another benchmark.",
                valid=["icb", *sorted(rows["area_code"].unique())[:10]],
            )
        r = eng.iloc[0]
        return _row_value(r), "England"
    if b.lower() == "icb":
        icb_codes = ds.lookup["icb_code"].dropna().unique()
        icb = rows[(rows["area_type"] == "icb") & rows["area_code"].isin(icb_codes)]
        if len(icb):
            return _row_value(icb.iloc[0]), f"ICB {icb.iloc[0]['area_code']}"
        figs = area_figures(ds, indicator, "practice", period)
        return float(100 * figs["numerator"].sum() / figs["denominator"].sum()), "ICB (sum of its practices)"
    match = rows[rows["area_code"] == b]
    if len(match):
        return _row_value(match.iloc[0]), f"{match.iloc[0].get('area_name') or b}"
    for geo in ("lad", "msoa", "ward", "pcn", "lsoa", "practice"):
        try:
            figs = area_figures(ds, indicator, geo, period)
        except RequestError:
            continue
        hit = figs[figs["area_code"] == b]
        if len(hit):
            return float(hit["value"].iloc[0]), str(hit["area_name"].iloc[0] or b)
    raise RequestError(
        f"Unknown benchmark {benchmark!r}.",
        valid=["england", "icb", *sorted(rows["area_code"].astype(str).unique())[:20]],
    )


def _row_value(r: pd.Series) -> float:
    if pd.notna(r.get("numerator")) and pd.notna(r.get("denominator")) and r["denominator"] > 0:
        return float(100.0 * r["numerator"] / r["denominator"])
    return float(r["value"])


def area_deprivation(ds: Dataset, geography: str, area_codes: pd.Series) -> pd.DataFrame:
    """IMD decile and score of each area: LSOAs directly; other areas population-weighted.

    For an aggregate (MSOA, ward, LAD, PCN, practice) the decile is that of the
    population-weighted mean LSOA rank (practices and PCNs weight by registered patients, as
    Fingertips' practice IMD score does), placed on the national LSOA rank deciles. That is
    **not** an MHCLG measure (it groups areas for gradients); MHCLG's own summaries of a local
    authority or ICB (average score, rank of average rank, share of LSOAs in the most deprived
    10%) are :func:`hiexplore.la_deprivation.deprivation_summary`.
    """
    table, edition = _deprivation_table(ds, geography)
    out = pd.DataFrame({"area_code": area_codes})
    codes = pd.Index(area_codes)
    for col in ("imd_rank", "imd_score", "imd_decile"):
        if col in table:
            out[col] = table[col].reindex(codes).to_numpy()
        else:
            out[col] = np.nan
    out["core20"] = out["imd_decile"] <= 2
    out.loc[out["imd_decile"].isna(), "core20"] = False
    out["imd_edition"] = edition
    return out


def _deprivation_table(ds: Dataset, geography: str) -> tuple[pd.DataFrame, int]:
    """Rank, score and decile per area code of ``geography`` (latest edition), once per dataset.

    Kept in ``ds.__dict__`` like the spatial weights: every indicator's flags need the same
    table, and the population-weighted means take a groupby over the registrations.
    """
    dep: pd.DataFrame = ds.deprivation
    return derived(ds, "_deprivation_cache", (geography, id(dep), len(dep)),
                   lambda: _build_deprivation_table(ds, geography))


def _build_deprivation_table(ds: Dataset, geography: str) -> tuple[pd.DataFrame, int]:
    dep: pd.DataFrame = ds.deprivation
    edition = int(dep["edition"].max())
    d = dep[dep["edition"] == edition].set_index("lsoa_code")
    n_national = 33755 if edition >= 2025 else 32844
    if geography == "lsoa":
        table = d[[c for c in ("imd_rank", "imd_score", "imd_decile") if c in d]]
    else:
        if geography in ("practice", "pcn", "sub_icb"):
            reg: pd.DataFrame = ds.registrations
            w = reg[reg["in_area"]][["practice_code", "lsoa_code", "patients"]].rename(columns={"patients": "w"})
            if geography == "practice":
                w = w.rename(columns={"practice_code": "area_code"})
            else:
                pr = ds.practices.set_index("practice_code")[f"{geography}_code"]
                w["area_code"] = w["practice_code"].map(pr)
        else:
            lk: pd.DataFrame = ds.lookup
            w = lk[["lsoa_code", f"{geography}_code"]].rename(columns={f"{geography}_code": "area_code"})
            pop = ds.population.set_index("lsoa_code")["population"] if len(ds.population) else None
            w["w"] = w["lsoa_code"].map(pop).fillna(1.0) if pop is not None else 1.0
        w = w.assign(rank=w["lsoa_code"].map(d["imd_rank"]))
        if "imd_score" in d:
            w["score"] = w["lsoa_code"].map(d["imd_score"])
        else:
            w["score"] = np.nan
        w = w.dropna(subset=["rank"])
        w["wr"] = w["rank"] * w["w"]
        w["ws"] = w["score"] * w["w"]
        g = w.groupby("area_code").agg(wr=("wr", "sum"), ws=("ws", "sum"), w=("w", "sum"))
        mean_rank = g["wr"] / g["w"]
        table = pd.DataFrame(
            {
                "imd_rank": mean_rank,
                "imd_score": g["ws"] / g["w"],
                "imd_decile": np.clip(np.ceil(mean_rank / n_national * 10), 1, 10),
            }
        )
    return table, edition


def _features(ds: Dataset, geography: str, codes: pd.Series) -> pd.DataFrame:
    """Deprivation domain scores and Census shares of each area (population-weighted)."""
    key = (geography, id(ds.deprivation), id(ds.population))
    table = derived(ds, "_features_cache", key, lambda: _feature_table(ds, geography))
    if geography == "lsoa":
        return table.reindex(codes).reset_index()
    return table.reindex(codes).reset_index().rename(columns={"index": "area_code"})


def _feature_table(ds: Dataset, geography: str) -> pd.DataFrame:
    """The table behind :func:`_features`, indexed by area code."""
    dep: pd.DataFrame = ds.deprivation
    edition = int(dep["edition"].max())
    d = dep[dep["edition"] == edition]
    cols = [c for c in d.columns if (c.endswith("_score") or c.endswith("_rank")) and d[c].notna().mean() > 0.9]
    cols = [c for c in cols if c.endswith("_score")] or cols
    feats = d[["lsoa_code", *cols]]
    pop: pd.DataFrame = ds.population
    if len(pop):
        shares = [c for c in pop.columns if c.startswith("share_") and pop[c].notna().mean() > 0.9]
        feats = feats.merge(pop[["lsoa_code", *shares]], on="lsoa_code", how="left")
    if geography == "lsoa":
        return feats.rename(columns={"lsoa_code": "area_code"}).set_index("area_code")
    if geography in ("practice", "pcn", "sub_icb"):
        reg: pd.DataFrame = ds.registrations
        w = reg[reg["in_area"]][["practice_code", "lsoa_code", "patients"]].rename(columns={"patients": "w"})
        if geography != "practice":
            w["area_code"] = w["practice_code"].map(ds.practices.set_index("practice_code")[f"{geography}_code"])
        else:
            w["area_code"] = w["practice_code"]
    else:
        lk: pd.DataFrame = ds.lookup
        w = lk[["lsoa_code", f"{geography}_code"]].rename(columns={f"{geography}_code": "area_code"})
        w["w"] = w["lsoa_code"].map(pop.set_index("lsoa_code")["population"]).fillna(1.0) if len(pop) else 1.0
    m = w.merge(feats, on="lsoa_code", how="inner")
    fcols = [c for c in feats.columns if c != "lsoa_code"]
    for c in fcols:
        m[c] = m[c] * m["w"]
    g = m.groupby("area_code")[[*fcols, "w"]].sum()
    g[fcols] = g[fcols].div(g["w"], axis=0)
    return g[fcols]


def _clusters(ds: Dataset, geography: str, figs: pd.DataFrame, seed: int, permutations: int) -> pd.Series:
    if geography not in SPATIAL_GEOGRAPHIES:
        return pd.Series("not assessed", index=figs.index)
    from .spatial import local_moran_rate, queen_weights

    areas = ds.areas
    polys = areas[areas["area_type"] == geography].set_index("area_code")
    ok = figs[(figs["denominator"] > 0) & figs["area_code"].isin(polys.index)]
    if len(ok) < 8:
        return pd.Series("not assessed", index=figs.index)
    key = (geography, hash(tuple(ok["area_code"])))
    w = derived(ds, "_weights_cache", key,  # weights depend only on the polygons
                lambda: queen_weights(polys.loc[ok["area_code"]].reset_index(), id_col="area_code"))
    res = local_moran_rate(
        ok["numerator"].to_numpy(float), ok["denominator"].to_numpy(float), w,
        permutations=permutations, seed=seed,
    )
    labels = pd.Series("not assessed", index=figs.index, dtype=object)
    labels.loc[ok.index] = res["cluster"].to_numpy()
    return labels


def _expected(ds: Dataset, geography: str, figs: pd.DataFrame, seed: int) -> tuple[np.ndarray, pd.Series, dict]:
    from .stats.expected import expected_uptake, vs_expected

    feats = _features(ds, geography, figs["area_code"])
    feature_cols = [c for c in feats.columns if c != "area_code"]
    frame = figs[["value", "denominator"]].reset_index(drop=True).join(feats[feature_cols].reset_index(drop=True))
    ok = (frame["denominator"] > 0) & frame["value"].notna()
    expected = np.full(len(frame), np.nan)
    summary: dict = {"features": feature_cols}
    if ok.sum() >= 10 and feature_cols:
        exp, model = expected_uptake(
            frame[ok].reset_index(drop=True), target="value", weights="denominator",
            features=feature_cols, seed=seed,
        )
        expected[ok.to_numpy()] = np.asarray(exp, dtype=float)
        summary = asdict(model) if hasattr(model, "__dataclass_fields__") else dict(model)
    labels = vs_expected(
        figs["value"].to_numpy(float), figs["lower_ci_95"].to_numpy(float), figs["upper_ci_95"].to_numpy(float), expected
    )
    return expected, pd.Series(np.asarray(labels, dtype=object), index=figs.index), summary


def _fmt_pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.1f}%"


def _reason(
    row: dict, short: str, bench_label: str, acceptable: float | None, higher_better: bool, age_mark: str = ""
) -> str:
    tail = f"; {age_mark}." if age_mark else "."
    note = row.get("value_note")
    if isinstance(note, str) and note.startswith(SUPPRESSED_PREFIX):
        return f"{short}: {note}; not flagged{tail}"
    if not (row["denominator"] > 0) or not np.isfinite(row["value"]):
        return f"{short}: no eligible population recorded, so no figure{tail}"
    parts = [
        f"{short} {row['value']:.1f}% (95% CI {row['lower_ci_95']:.1f}-{row['upper_ci_95']:.1f})"
    ]
    clauses = []
    if acceptable is not None and row["standard_band"] == "below acceptable":
        clauses.append(f"below the {acceptable:g}% acceptable standard")
    vs = str(row["vs_benchmark"])
    worse = "lower" if higher_better else "higher"
    if vs == "Worse":
        clauses.append(f"significantly {worse} than {bench_label} ({row['benchmark_value']:.1f}%)")
    elif vs == "Better":
        better = "higher" if higher_better else "lower"
        clauses.append(f"significantly {better} than {bench_label} ({row['benchmark_value']:.1f}%)")
    elif vs == "Similar":
        clauses.append(f"similar to {bench_label} ({row['benchmark_value']:.1f}%)")
    if clauses:
        parts[0] += ", " + " and ".join(clauses)
    if row.get("imd_decile") == 1:
        parts.append("most deprived decile")
    elif pd.notna(row.get("imd_decile")) and row.get("core20"):
        parts.append(f"IMD decile {int(row['imd_decile'])} (Core20)")
    elif pd.notna(row.get("imd_decile")):
        parts.append(f"IMD decile {int(row['imd_decile'])}")
    if row.get("vs_expected") == "lower than expected":
        parts.append(f"lower than the {row['expected_value']:.1f}% expected for an area like it")
    if "cold spot" in str(row.get("cluster")):
        parts.append("part of a low-uptake cluster (cold spot)")
    ptr = row.get("people_to_reach")
    if pd.notna(ptr) and ptr > 0:
        approx = "about " if row.get("low_confidence") else ""
        parts.append(f"{approx}{int(ptr):,} more {'person' if ptr == 1 else 'people'} to reach")
    if not row["flagged"]:
        parts.append("not flagged")
    if age_mark:
        parts.append(age_mark)
    return "; ".join(parts) + "."


#: percentages 0.0 to 1000.0 are formatted by looking up their tenths
_ONE_DECIMAL_TENTHS = 10_001
#: people-to-reach counts below this are looked up ("1,234") instead of formatted
_COUNT_TABLE_SIZE = 100_000


@lru_cache(maxsize=1)
def _one_decimal_text() -> pa.Array:
    """"0.0", "0.1", ... "1000.0", built on first use."""
    return pa.array([f"{i // 10}.{i % 10}" for i in range(_ONE_DECIMAL_TENTHS)], type=pa.string())


@lru_cache(maxsize=1)
def _count_text() -> pa.Array:
    return pa.array([f"{i:,}" for i in range(_COUNT_TABLE_SIZE)], type=pa.string())


def _take_text(table: pa.Array, codes: np.ndarray, others: np.ndarray, other_text: list[str]) -> pa.Array:
    """``table[code]`` for every row, except the rows ``others`` (a mask), which take
    ``other_text`` in order: the values a lookup table does not hold, formatted one by one."""
    codes = codes.copy()
    if other_text:
        codes[others] = len(table) + np.arange(len(other_text))
        table = pa.concat_arrays([table, pa.array(other_text, type=pa.string())])
    return table.take(pa.array(codes))


def _fmt_text(values: np.ndarray) -> pa.Array:
    """``format(x, ".1f")`` of every value, as an Arrow string array (the same strings).

    ``rint(10 x)`` gives the position of the correctly rounded tenth in the table except within
    a hair of a half, where (as for negatives, NaN and large values) ``format`` is called.
    """
    x = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        tenths = x * 10.0
        c = np.rint(tenths)
        fast = (
            np.isfinite(x) & (x >= 0) & ~np.signbit(x) & (c < _ONE_DECIMAL_TENTHS)
            & (np.abs(tenths - np.floor(tenths) - 0.5) > 1e-6)
        )
    codes = np.where(fast, c, 0).astype(np.int64)
    return _take_text(_one_decimal_text(), codes, ~fast, [format(v, ".1f") for v in x[~fast].tolist()])


def _choose(codes: np.ndarray, texts: Sequence[str]) -> pa.Array:
    """``texts[code]`` for every row, as an Arrow string array."""
    return pa.array(list(texts), type=pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def _count_words(counts: np.ndarray) -> pa.Array:
    """``f"{int(x):,}"`` of non-negative counts (0 where not finite), via a lookup table."""
    x = np.where(np.isfinite(counts) & (counts >= 0), counts, 0.0).astype(np.int64)
    big = x >= _COUNT_TABLE_SIZE
    return _take_text(_count_text(), np.where(big, 0, x), big, [f"{v:,}" for v in x[big].tolist()])


def _mask(figs: pd.DataFrame, name: str) -> np.ndarray:
    """Truthiness of a column per row, as ``bool(x)`` would judge it (missing column: False)."""
    if name not in figs.columns:
        return np.zeros(len(figs), dtype=bool)
    s = figs[name]
    if s.dtype == bool:
        return s.to_numpy(bool)
    return np.array([bool(x) for x in s.tolist()], dtype=bool)


def _equals(figs: pd.DataFrame, name: str, text: str) -> np.ndarray:
    if name not in figs.columns:
        return np.zeros(len(figs), dtype=bool)
    return np.asarray(figs[name].astype(str) == text, dtype=bool)


def _reasons(
    figs: pd.DataFrame, short: str, bench_label: str, acceptable: float | None, higher_better: bool,
    age_mark: str = "",
) -> pd.api.extensions.ExtensionArray:
    """:func:`_reason` of every row at once: the same sentences, built column by column.

    At national size (33,755 LSOAs x 19 indicators) building sentences row by row cost more
    than all the statistics. Here each fragment ("; IMD decile 3", "; not flagged"...) is taken
    per row from a few prepared strings (numbers from lookup tables of their formatted text),
    and the fragments are joined in Arrow, without a Python string per row. ``age_mark`` ("out
    of date (period ...)") ends every sentence when the figures are out of date.
    """
    n = len(figs)
    if n == 0:
        return pd.array([], dtype="str")
    tail = f"; {age_mark}." if age_mark else "."
    den = figs["denominator"].to_numpy(float)
    value = figs["value"].to_numpy(float)
    no_figure = ~(den > 0) | ~np.isfinite(value)
    below = _equals(figs, "standard_band", "below acceptable") if acceptable is not None else np.zeros(n, bool)
    # the benchmark clause: 0 none, 1 worse, 2 better, 3 similar
    bench = np.select(
        [_equals(figs, "vs_benchmark", "Worse"), _equals(figs, "vs_benchmark", "Better"),
         _equals(figs, "vs_benchmark", "Similar")],
        [1, 2, 3], 0,
    )
    worse, better = ("lower", "higher") if higher_better else ("higher", "lower")
    standard = f"below the {acceptable:g}% acceptable standard" if acceptable is not None else ""
    heads = ["", f"significantly {worse} than {bench_label} (", f"significantly {better} than {bench_label} (",
             f"similar to {bench_label} ("]
    # ", <standard>", ", <standard> and <benchmark>", ", <benchmark>" or nothing
    lead = np.select([below & (bench > 0), below, bench > 0], [1, 2, 3], 0)
    lead_text = _choose(lead, ["", ", " + standard + " and ", ", " + standard, ", "])
    bench_value = _fmt_text(figs["benchmark_value"].to_numpy(float))
    has_bench = bench > 0
    bench_num = pc.if_else(pa.array(has_bench), bench_value, "")
    bench_tail = _choose(has_bench.astype(int), ["", "%)"])
    decile = figs["imd_decile"].to_numpy(float) if "imd_decile" in figs else np.full(n, np.nan)
    core20 = _mask(figs, "core20")
    # 0: no decile; then two codes per decile value found (without, with Core20)
    finite = np.isfinite(decile)
    found, position = np.unique(np.where(finite, decile, 0.0), return_inverse=True)
    dep_codes = np.where(finite, 1 + 2 * position.reshape(-1) + core20, 0)
    dep_texts = [""]
    for d in found.tolist():
        dep_texts += (["; most deprived decile"] * 2 if d == 1
                      else [f"; IMD decile {int(d)}", f"; IMD decile {int(d)} (Core20)"])
    lower_exp = _equals(figs, "vs_expected", "lower than expected")
    if lower_exp.any():
        exp_text = pc.if_else(pa.array(lower_exp), _fmt_text(figs["expected_value"].to_numpy(float)), "")
    else:
        exp_text = pa.array(np.full(n, ""), type=pa.string())
    exp_codes = lower_exp.astype(int)
    if "cluster" in figs.columns:
        cold = np.asarray(figs["cluster"].astype(str).str.contains("cold spot", regex=False), dtype=bool)
    else:
        cold = np.zeros(n, dtype=bool)
    ptr = figs["people_to_reach"].to_numpy(float) if "people_to_reach" in figs else np.full(n, np.nan)
    reach = ptr > 0  # False where missing
    low_conf = _mask(figs, "low_confidence")
    reach_head = np.where(reach, 1 + low_conf.astype(int), 0)
    reach_tail = np.where(reach, np.where(ptr == 1, 1, 2), 0)
    reach_num = pc.if_else(pa.array(reach), _count_words(ptr), "")
    flagged = _mask(figs, "flagged")
    sentence = pc.binary_join_element_wise(
        f"{short} ", _fmt_text(value), "% (95% CI ", _fmt_text(figs["lower_ci_95"].to_numpy(float)), "-",
        _fmt_text(figs["upper_ci_95"].to_numpy(float)), ")",
        lead_text, _choose(bench, heads), bench_num, bench_tail,
        _choose(dep_codes, dep_texts),
        _choose(exp_codes, ["", "; lower than the "]), exp_text,
        _choose(exp_codes, ["", "% expected for an area like it"]),
        _choose(cold.astype(int), ["", "; part of a low-uptake cluster (cold spot)"]),
        _choose(reach_head, ["", "; ", "; about "]), reach_num,
        _choose(reach_tail, ["", " more person to reach", " more people to reach"]),
        _choose((~flagged).astype(int), ["", "; not flagged"]),
        tail,
        "",  # the separator
    )
    missing = f"{short}: no eligible population recorded, so no figure{tail}"
    if no_figure.any():
        sentence = pc.if_else(pa.array(no_figure), missing, sentence)
    suppressed = is_suppressed(figs)
    if suppressed.any():
        notes = pa.array(figs["value_note"].astype(object).where(suppressed, "").tolist(), type=pa.string())
        said = pc.binary_join_element_wise(f"{short}: ", notes, f"; not flagged{tail}", "")
        sentence = pc.if_else(pa.array(suppressed), said, sentence)
    return pd.array(sentence, dtype="str")


def compute_flags(
    ds: Dataset,
    indicator: str,
    geography: str,
    *,
    benchmark: str = "england",
    period: str | None = None,
    weights: PriorityWeights = DEFAULT_WEIGHTS,
    seed: int = SEED,
    permutations: int = PERMUTATIONS,
    with_clusters: bool = True,
    with_expected: bool = True,
    low_confidence_below: float = LOW_CONFIDENCE_DENOMINATOR,
    out_of_date_years: float = OUT_OF_DATE_YEARS,
) -> pd.DataFrame:
    """Flags for one indicator at one geography: the columns of :data:`FLAG_COLUMNS` and more.

    ``period_end`` is the last day of the period and ``out_of_date`` is True where it ended more
    than ``out_of_date_years`` before the newest period in the dataset (:mod:`hiexplore.periods`);
    the reasons then end "out of date (period ...)". Practices whose denominator is suppressed
    (fewer than 5 eligible) keep their value with ``value_note`` "fewer than 5 eligible
    (suppressed): 66.7%, no interval" and are never compared, banded or flagged on it;
    ``attrs["suppressed"]`` counts them (and, for neighbourhoods, the eligible people missing).

    ``trend`` is the Fingertips recent trend of the area's five most recent periods of the
    same kind up to ``period`` ("increasing", "decreasing", "no significant change", "not
    enough points"), ``trend_points`` its usable points (:func:`hiexplore.trends.area_trends`);
    ``attrs`` name the method and the periods tested (``trend_method``, ``trend_periods``).

    Apportioned figures resting on fewer than ``low_confidence_below`` eligible people are marked
    ``low_confidence`` (their people to reach reads "about N"; ``estimate_note`` says why).
    ``with_clusters=False`` / ``with_expected=False`` skip the spatial clusters and the expected
    model (their columns say "not assessed"), for quick profiles of many indicators at once.
    """
    if geography not in FLAG_GEOGRAPHIES:
        raise RequestError(f"Unknown geography {geography!r}.", valid=list(FLAG_GEOGRAPHIES))
    ind = get_indicator(indicator)
    figs = area_figures(ds, indicator, geography, period)
    period = str(figs["period"].iloc[0]) if len(figs) else (period or "")
    if figs.empty:
        raise RequestError(f"No {geography} figures for {indicator!r} in {period!r}.")
    if not (figs["denominator"] > 0).any():
        raise RequestError(
            f"Every {geography} area has a denominator of 0 for {indicator!r} in {period!r}: nothing to flag."
        )
    num = figs["numerator"].to_numpy(float)
    den = figs["denominator"].to_numpy(float)
    for conf, tag in ((0.95, "95"), (0.998, "998")):
        lo, hi = proportion_ci(num, den, confidence=conf)
        figs[f"lower_ci_{tag}"] = lo
        figs[f"upper_ci_{tag}"] = hi
    bval, blabel = benchmark_value(ds, indicator, period, benchmark)
    figs["benchmark_value"] = bval
    figs["benchmark"] = blabel
    figs["vs_benchmark"] = compare_with_benchmark(
        figs["lower_ci_95"].to_numpy(float), figs["upper_ci_95"].to_numpy(float), bval, polarity=ind.polarity
    )
    figs["vs_benchmark_998"] = compare_with_benchmark(
        figs["lower_ci_998"].to_numpy(float), figs["upper_ci_998"].to_numpy(float), bval, polarity=ind.polarity
    )
    target, acceptable, achievable = _target_pct(indicator, period)
    if acceptable is not None:
        figs["standard_band"] = standard_band(figs["value"].to_numpy(float), acceptable, achievable)
    else:
        figs["standard_band"] = "no standard"
    if "value_note" not in figs:
        figs["value_note"] = None
    suppressed = is_suppressed(figs)
    if suppressed.any():  # a percentage of 1 to 4 people is not banded
        figs["standard_band"] = figs["standard_band"].where(~suppressed, "not banded (suppressed)")
    dep = area_deprivation(ds, geography, figs["area_code"])
    figs["imd_decile"] = dep["imd_decile"].to_numpy()
    figs["imd_score"] = dep["imd_score"].to_numpy()
    figs["core20"] = dep["core20"].to_numpy(bool)
    if with_expected:
        expected, vs_exp, model = _expected(ds, geography, figs, seed)
    else:
        expected, vs_exp, model = np.full(len(figs), np.nan), "not assessed", {}
    figs["expected_value"] = expected
    figs["vs_expected"] = vs_exp
    figs["cluster"] = (
        _clusters(ds, geography, figs, seed, permutations) if with_clusters else "not assessed"
    )
    figs["people_to_reach"] = people_to_reach(num, den, target)
    figs["low_confidence"] = (figs["denominator"] < low_confidence_below) & (
        figs["method"] != "published"
    )
    figs["estimate_note"] = np.where(
        figs["low_confidence"],
        f"low confidence: an estimate resting on fewer than {low_confidence_below:g} eligible people",
        np.select(
            [figs["method"] == "published", figs["method"].astype(str).str.startswith("sum of")],
            ["published figure", "sum of its practices' published figures"],
            "estimate (apportioned)",
        ),
    )
    if "basis_note" in figs:  # sums of commissioned practices say what they rest on
        figs["estimate_note"] = np.where(figs["low_confidence"], figs["estimate_note"], figs["basis_note"])
        figs = figs.drop(columns="basis_note")
    sig_worse = figs["vs_benchmark"] == "Worse"
    figs["flagged"] = (figs["denominator"] > 0) & (sig_worse | (figs["standard_band"] == "below acceptable"))
    figs["priority_score"] = _priority(figs, weights)
    figs["priority_rank"] = (
        figs["priority_score"].where(figs["flagged"]).rank(ascending=False, method="first").astype("Int64")
    )
    age = figure_age(ds, period, out_of_date_years=out_of_date_years)
    figs["period_end"] = pd.Series(pd.Timestamp(age.period_end) if age.period_end else pd.NaT,
                                   index=figs.index, dtype="datetime64[ns]")
    figs["out_of_date"] = pd.array([age.out_of_date] * len(figs), dtype="boolean")
    mark = age.mark if age.out_of_date else ""
    figs["trend"], figs["trend_points"], trend_attrs = _trends(ds, indicator, geography, period, figs["area_code"])
    figs["reasons"] = _reasons(figs, ind.short_name, blabel, acceptable, ind.higher_is_better, mark)
    # by rank, then value, missing last (as sort_values(na_position="last"), stable): one take
    order = np.lexsort((figs["value"].to_numpy(float), figs["priority_rank"].to_numpy(float, na_value=np.nan)))
    figs = figs.take(order).reset_index(drop=True)
    extra = [c for c in figs.columns if c not in FLAG_COLUMNS]
    out = figs[FLAG_COLUMNS + extra]
    out.attrs["expected_model"] = model
    out.attrs["weights"] = asdict(weights)
    out.attrs["thresholds"] = {"target_pct": target, "acceptable": acceptable, "achievable": achievable}
    out.attrs["benchmark"] = blabel
    out.attrs.update(trend_attrs)
    out.attrs.update(_age_attrs(age))
    out.attrs["suppressed"] = figs.attrs.get("suppressed")
    if geography == "practice":  # what a funnel plot of these practices leaves out, and why
        from .stats.funnel import funnel_frame

        out.attrs["funnel_left_out"] = funnel_frame(out[["numerator", "denominator", "value_note"]]).attrs[
            "funnel_left_out"]
    return out


def _trends(ds: Dataset, indicator: str, geography: str, period: str,
            codes: pd.Series) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """Each area's recent trend up to ``period``, its usable points and the method and periods
    tested (:func:`hiexplore.trends.area_trends`). An area without figures in the trend's
    periods reads "not enough points" with 0 points.
    """
    from .trends import area_trends

    tr = area_trends(ds, indicator, geography, period=period).set_index("area_code")
    keys = codes.astype(str)
    label = keys.map(tr["trend"]).fillna("not enough points").to_numpy(dtype=object)
    points = keys.map(tr["trend_points"]).fillna(0).to_numpy(dtype="int64")
    periods = tr.attrs.get("periods") or []
    return label, points, {"trend_method": tr.attrs.get("method"),
                           "trend_periods": f"{periods[0]} to {periods[-1]}" if periods else None}


def _age_attrs(age: FigureAge) -> dict[str, object]:
    """The figure-age facts a flags frame carries for exports and captions."""
    return {
        "period_end": None if age.period_end is None else age.period_end.isoformat(),
        "out_of_date": age.out_of_date,
        "age_mark": age.mark,
        "newest_period_end": None if age.newest_period_end is None else age.newest_period_end.isoformat(),
        "out_of_date_years": age.out_of_date_years,
    }


def _priority(figs: pd.DataFrame, weights: PriorityWeights) -> np.ndarray:
    ptr = figs["people_to_reach"].fillna(0).to_numpy(float)
    flagged = figs["flagged"].to_numpy(bool)
    top = ptr[flagged].max() if flagged.any() else 0.0
    reach = ptr / top if top > 0 else np.zeros_like(ptr)
    decile = figs["imd_decile"].to_numpy(float)
    dep = np.where(np.isfinite(decile), (11 - decile) / 10, 0.0)
    score = (
        weights.people_to_reach * reach
        + weights.deprivation * dep
        + weights.core20 * figs["core20"].to_numpy(float)
        + weights.lower_than_expected * (figs["vs_expected"] == "lower than expected").to_numpy(float)
        + weights.cold_spot * figs["cluster"].astype(str).str.contains("cold spot").to_numpy(float)
    )
    return np.where(flagged, score, 0.0)


def compute_targets(
    ds: Dataset,
    indicators: list[str],
    geography: str,
    *,
    top: int | None = None,
    benchmark: str = "england",
    weights: PriorityWeights = DEFAULT_WEIGHTS,
    out_of_date_years: float = OUT_OF_DATE_YEARS,
    flags_for: Callable[[str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Ranked outreach targets across indicators: areas low on several programmes first.

    One row per area: the number of indicators flagged, combined people to reach, the mean
    priority score of its flagged indicators, and the reasons joined. Sorted by indicators
    flagged, then combined priority, then people to reach. ``flags_for(indicator)`` supplies
    each indicator's flags (:func:`hiexplore.derived.stored_targets` passes the stored ones);
    by default they are computed here with ``benchmark``, ``weights`` and ``out_of_date_years``.

    ``value_note`` joins the notes of the area's figures ("MMR1 at 24 months: fewer than 5
    eligible (suppressed): 66.7%, no interval"), missing where there are none.
    ``trend`` is the recent trend (:mod:`hiexplore.trends`) of the figures the area is flagged
    on (all its indicators when it is flagged on none): the label itself for one indicator,
    "MMR1 24m: decreasing; ..." for several; ``trend_points`` the fewest usable points among
    them; ``<indicator>_trend`` each indicator's.
    ``period_end`` is the oldest period end among the indicators the area is flagged on (all
    the indicators when it is flagged on none) and ``out_of_date`` is True when any of them is
    out of date (:func:`compute_flags`). ``attrs["periods"]`` gives each indicator's period,
    ``attrs["period_note"]`` says so when the list mixes periods (None otherwise), and
    ``attrs["suppressed"]`` lists the suppression summaries of the indicators.
    """
    if not indicators:
        raise RequestError("Give at least one indicator.", valid=list(ds.indicator_keys()))
    if flags_for is None:
        def flags_for(k: str) -> pd.DataFrame:
            return compute_flags(ds, k, geography, benchmark=benchmark, weights=weights,
                                 out_of_date_years=out_of_date_years)
    per = [flags_for(k) for k in indicators]
    long = pd.concat(per, ignore_index=True)
    flagged = long[long["flagged"]]
    g = long.groupby("area_code")
    out = pd.DataFrame(
        {
            "indicators_flagged": flagged.groupby("area_code").size(),
            "people_to_reach": flagged.groupby("area_code")["people_to_reach"].sum(),
            "priority_score": flagged.groupby("area_code")["priority_score"].mean(),
            "indicators": flagged.groupby("area_code")["indicator"].agg(", ".join),
            "reasons": flagged.groupby("area_code")["reasons"].agg(" | ".join),
        }
    ).reindex(g.size().index)
    noted = long[long["value_note"].notna() & (long["value_note"].astype(str) != "")]
    out["value_note"] = (
        (noted["indicator"].map(lambda k: get_indicator(k).short_name) + ": " + noted["value_note"].astype(str))
        .groupby(noted["area_code"]).agg("; ".join).reindex(out.index)
    )
    out["indicators_flagged"] = out["indicators_flagged"].fillna(0).astype(int)
    out["people_to_reach"] = out["people_to_reach"].fillna(0)
    out["priority_score"] = out["priority_score"].fillna(0)
    out["flagged"] = out["indicators_flagged"] > 0
    out["indicators"] = out["indicators"].fillna("")
    out["reasons"] = out["reasons"].fillna("Not flagged on " + ", ".join(indicators) + ".")
    # facts of the area itself: the first indicator that has a row for it (the same in all)
    for col in ("area_name", "geography", "imd_decile", "core20"):
        out[col] = g[col].first().reindex(out.index)
    out["period"] = "; ".join(sorted({f"{k}: {p}" for k, p in zip(long["indicator"], long["period"], strict=True)}))
    # facts of each indicator's figure (age, cluster, confidence) are combined over the figures the
    # row rests on: those it is flagged on, else all of its indicators
    basis = long[long["flagged"] | ~long["area_code"].isin(flagged["area_code"])]
    out["cluster"] = _combined_labels(basis, "cluster").reindex(out.index)
    out["low_confidence"] = basis.groupby("area_code")["low_confidence"].agg(
        lambda s: bool(s.fillna(False).astype(bool).any())).reindex(out.index)
    oldest = basis.groupby("area_code").agg(period_end=("period_end", "min"),
                                            out_of_date=("out_of_date", lambda s: bool(s.fillna(False).any())))
    out["period_end"] = oldest["period_end"].reindex(out.index)
    out["out_of_date"] = oldest["out_of_date"].reindex(out.index).astype("boolean")
    if "trend" in long:  # the recent trend of the same figures
        if len(indicators) == 1:
            out["trend"] = long.groupby("area_code")["trend"].first().reindex(out.index)
        else:
            said = basis["indicator"].map(lambda k: get_indicator(k).short_name) + ": " + basis["trend"].astype(str)
            out["trend"] = said.groupby(basis["area_code"]).agg("; ".join).reindex(out.index)
        out["trend_points"] = basis.groupby("area_code")["trend_points"].min().reindex(out.index).astype("Int64")
    for k, f in zip(indicators, per, strict=True):
        sub = f.set_index("area_code")
        out[f"{k}_value"] = sub["value"].reindex(out.index)
        out[f"{k}_people_to_reach"] = sub["people_to_reach"].reindex(out.index)
        out[f"{k}_flagged"] = sub["flagged"].reindex(out.index)
        if "trend" in sub:
            out[f"{k}_trend"] = sub["trend"].reindex(out.index)
    out = out.reset_index().rename(columns={"index": "area_code"})
    out = out.sort_values(
        ["flagged", "indicators_flagged", "priority_score", "people_to_reach"], ascending=False
    ).reset_index(drop=True)
    out["priority_rank"] = np.where(out["flagged"], np.arange(1, len(out) + 1), np.nan)
    out["priority_rank"] = out["priority_rank"].astype("Int64")
    out.insert(0, "priority_rank", out.pop("priority_rank"))
    if top is not None:
        out = out[out["flagged"]].head(top)
    out.attrs.update(per[0].attrs)
    out.attrs.pop("funnel_left_out", None)  # one indicator's funnel says nothing about the list
    if len(indicators) > 1:  # each indicator's own standard, benchmark and model, not the first's
        for key in ("thresholds", "expected_model", "benchmark"):
            by_ind = {k: f.attrs.get(key) for k, f in zip(indicators, per, strict=True)}
            same = key == "benchmark" and len({str(v) for v in by_ind.values()}) == 1
            out.attrs[key] = per[0].attrs.get(key) if same else by_ind
    out.attrs["indicators"] = indicators
    ages = {k: figure_age(ds, str(f["period"].iloc[0]), out_of_date_years=out_of_date_years)
            for k, f in zip(indicators, per, strict=True)}
    out.attrs["periods"] = {k: {"period": a.period, "period_end": a.period_end and a.period_end.isoformat(),
                                "out_of_date": a.out_of_date} for k, a in ages.items()}
    out.attrs["period_note"] = mixed_periods_note({get_indicator(k).short_name: a for k, a in ages.items()})
    stale = [f"{get_indicator(k).short_name}: {a.mark}" for k, a in ages.items() if a.out_of_date]
    out.attrs["age_mark"] = "; ".join(stale)
    out.attrs["out_of_date"] = bool(stale)
    out.attrs["period_end"] = min((a.period_end for a in ages.values() if a.period_end), default=None)
    if out.attrs["period_end"] is not None:
        out.attrs["period_end"] = out.attrs["period_end"].isoformat()
    out.attrs["suppressed"] = [f.attrs["suppressed"] for f in per if f.attrs.get("suppressed")] or None
    return out


def _combined_labels(rows: pd.DataFrame, col: str) -> pd.Series:
    """Per area, one label from its indicators' ``col``: the label itself when they agree, else
    "Cervical screening (25-49): not significant; MMR1 at 24 months: cold spot (low-low)" (sorted,
    so the order the indicators were given in does not matter).

    >>> rows = pd.DataFrame({"area_code": ["a", "a", "b", "b"], "indicator": ["mmr1_24m", "mmr2_5y"] * 2,
    ...                      "cluster": ["cold spot", "cold spot", "cold spot", "not significant"]})
    >>> _combined_labels(rows, "cluster").to_dict()["a"]
    'cold spot'
    """
    def one(frame: pd.DataFrame) -> object:
        labels = frame[col]
        if labels.isna().all():
            return None
        if labels.astype(str).nunique() == 1:
            return labels.dropna().iloc[0]
        return "; ".join(sorted(f"{get_indicator(k).short_name}: {v}"
                                for k, v in zip(frame["indicator"], labels, strict=True) if pd.notna(v)))

    return rows.groupby("area_code")[["indicator", col]].apply(one)


def _ceil(x: float) -> int:
    return int(math.ceil(x))
