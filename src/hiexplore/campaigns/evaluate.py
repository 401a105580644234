"""Did it work: uptake before and after a campaign's start, targeted areas against matched comparison areas.

Method
------
1. **Units and quarters.** Targeted practices use the published COVER GP quarterly figures;
   targeted upper-tier local authorities use COVER's UTLA quarters (back to 2016/17 where the
   dataset holds them); targeted LSOAs, MSOAs, wards or districts use the practice figures
   apportioned through the dataset's catchments (modelled where the catchments are, and said so).
   Quarters are financial-year quarters (``2023/24 Q1`` = April to June 2023); the quarter holding
   the start date is the first "after" quarter.
2. **Comparison group.** Units not targeted (nor targeted on the same programme by another
   campaign running at the same time), in the same ICB as the targeted ones (all of the dataset's
   upper-tier LAs for an LA-level campaign), matched by **nearest neighbours**: for each targeted
   unit the ``k`` closest untargeted units, without replacement, on standardised baseline uptake
   (mean of the before quarters) and IMD rank (scikit-learn ``NearestNeighbors``, Euclidean).
3. **Estimate.** Two-way fixed-effects difference-in-differences,

   .. math:: y_{it} = \\alpha_i + \\gamma_t + \\beta D_{it} + \\varepsilon_{it},

   where :math:`D_{it} = 1` for a targeted unit in a quarter from the start on; :math:`\\beta`
   is the effect in percentage points. Standard errors are clustered by unit (Liang and Zeger
   1986; statsmodels ``cov_type="cluster"`` with the small-sample correction) and the 95% CI uses
   the t distribution with G - 1 degrees of freedom (G = number of units; Cameron and Miller 2015).
   With one start date for every targeted unit, TWFE is the standard 2x2-style DiD and has none
   of the staggered-adoption bias (Goodman-Bacon 2021).
4. **Event study.** The same model with one indicator per quarter relative to the start (the
   quarter before the start, -1, is the reference). The before-quarter effects are the check of
   parallel trends: a joint Wald test that they are all zero is reported when there are at least
   two before quarters.

What it cannot show is said in plain words (:func:`evaluate_campaign`'s ``caveats``): too few
quarters before or after, small counts, few units, apportioned (modelled) neighbourhood figures,
estimated numerators, and other campaigns overlapping in time or place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from ..catalogue import get_indicator
from ..errors import RequestError

__all__ = [
    "CONFIDENCE",
    "MATCH_K",
    "RESULT_KEYS",
    "did_estimate",
    "evaluate_campaign",
    "event_study_figure",
    "match_comparison",
    "overlapping_campaigns",
    "quarter_index",
    "quarter_label",
    "start_quarter_index",
    "synthetic_panel",
]

CONFIDENCE = 0.95
MATCH_K = 3  # comparison units per targeted unit (nearest neighbours, without replacement)
MIN_BEFORE_FOR_TRENDS = 2  # before quarters needed for any check of parallel trends
ENOUGH_BEFORE = 4  # before quarters for a check worth the name
PRETREND_ALPHA = 0.05  # a joint pre-trend test below this: parallel trends fail, no verdict on the effect
SMALL_DENOMINATOR = 50  # targeted children (or people) per quarter below which counts are small
FEW_UNITS = 5  # targeted or comparison units below which clustered errors are unreliable
RESULT_KEYS = ("effect", "lower_ci", "upper_ci", "quarters_before", "quarters_after", "treated",
               "comparison", "method")
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "grey": "#999999", "vermillion": "#D55E00"}
_QUARTER = re.compile(r"^\s*(\d{4})/(\d{2})\s+Q([1-4])\b")
_MATCH_METHOD = ("nearest neighbours (k={k} per targeted unit, without replacement) on standardised "
                 "baseline uptake (mean of the before quarters) and IMD rank, {pool}")
_DID_METHOD = ("difference-in-differences, two-way fixed effects (unit and quarter), OLS with standard "
               "errors clustered by {unit} (statsmodels), 95% CI from t with G-1 degrees of freedom")


def quarter_index(period: str) -> int | None:
    """``'2023/24 Q1'`` -> a running quarter number (financial year x 4 + quarter - 1); else None.

    >>> quarter_index("2023/24 Q1") - quarter_index("2022/23 Q4")
    1
    """
    m = _QUARTER.match(str(period))
    if not m:
        return None
    return int(m.group(1)) * 4 + int(m.group(3)) - 1


def quarter_label(index: int) -> str:
    """The inverse of :func:`quarter_index`.

    >>> quarter_label(quarter_index("2024/25 Q2"))
    '2024/25 Q2'
    """
    fy, q = divmod(index, 4)
    return f"{fy}/{(fy + 1) % 100:02d} Q{q + 1}"


def start_quarter_index(start: date) -> int:
    """The financial-year quarter holding ``start`` (Q1 = April to June).

    >>> quarter_label(start_quarter_index(date(2024, 1, 15)))
    '2023/24 Q4'
    """
    fy = start.year if start.month >= 4 else start.year - 1
    return fy * 4 + ((start.month - 4) % 12) // 3


# --------------------------------------------------------------------------------------------
# the estimator (array in, numbers out; tested on synthetic panels with a known effect)
# --------------------------------------------------------------------------------------------


def _twfe_design(panel: pd.DataFrame, regressors: pd.DataFrame) -> pd.DataFrame:
    units = pd.get_dummies(panel["unit"].astype(str), prefix="u", dtype=float)
    quarters = pd.get_dummies(panel["quarter"].astype(int), prefix="q", dtype=float).iloc[:, 1:]
    return pd.concat([regressors.reset_index(drop=True), units.reset_index(drop=True),
                      quarters.reset_index(drop=True)], axis=1)


def _fit(panel: pd.DataFrame, regressors: pd.DataFrame) -> Any:
    """OLS with unit and quarter dummies, errors clustered by unit (small-sample corrected, t with G-1 df).

    One BLAS thread: the matrices are small, and threads only contend on a busy machine.
    """
    x = _twfe_design(panel, regressors)
    groups = pd.factorize(panel["unit"].astype(str))[0]
    with threadpool_limits(1):
        model = sm.OLS(panel["value"].to_numpy(float), x.to_numpy(float))
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True}, use_t=True)
    return res, list(x)


def did_estimate(panel: pd.DataFrame, start_quarter: int, *, confidence: float = CONFIDENCE,
                 event_study: bool = True) -> dict[str, Any]:
    """Difference-in-differences with an event study on a long panel.

    ``panel`` has one row per unit and quarter: ``unit``, ``quarter`` (running index as from
    :func:`quarter_index`), ``treated`` (bool, constant within a unit) and ``value`` (uptake, %).
    Rows with a missing value are dropped. Returns the effect (percentage points), its CI,
    standard error and p-value, the counts, and the event-study rows (relative quarter, effect,
    CI; the reference quarter -1 is 0 by construction) with the pre-trend Wald test
    (``event_study=False`` skips that second fit).
    """
    p = panel.dropna(subset=["value"]).copy()
    p["treated"] = p["treated"].astype(bool)
    p["rel"] = p["quarter"].astype(int) - int(start_quarter)
    quarters = sorted(p["quarter"].unique())
    before = [q for q in quarters if q < start_quarter]
    after = [q for q in quarters if q >= start_quarter]
    n_t = int(p.loc[p["treated"], "unit"].nunique())
    n_c = int(p.loc[~p["treated"], "unit"].nunique())
    out: dict[str, Any] = {
        "effect": None, "lower_ci": None, "upper_ci": None, "std_error": None, "p_value": None,
        "quarters_before": len(before), "quarters_after": len(after),
        "n_treated": n_t, "n_comparison": n_c, "n_observations": int(len(p)),
        "confidence": confidence, "event_study": [], "pretrend_p_value": None,
    }
    if not before or not after or n_t == 0 or n_c == 0:
        return out
    d = (p["treated"] & (p["rel"] >= 0)).astype(float).rename("did")
    res, names = _fit(p, d.to_frame())
    lo, hi = res.conf_int(alpha=1 - confidence)[0]
    out.update(effect=float(res.params[0]), lower_ci=float(lo), upper_ci=float(hi),
               std_error=float(res.bse[0]), p_value=float(res.pvalues[0]))
    # event study: one dummy per relative quarter of the treated units, -1 the reference
    rels = sorted(int(r) for r in p.loc[p["treated"], "rel"].unique() if r != -1)
    if -1 not in set(p.loc[p["treated"], "rel"]):
        rels = rels[1:]  # no quarter just before: the earliest before-quarter is the reference
    if rels and event_study:
        ev = pd.DataFrame({f"e{r}": (p["treated"] & (p["rel"] == r)).astype(float).to_numpy() for r in rels})
        res_e, _ = _fit(p, ev)
        ci = res_e.conf_int(alpha=1 - confidence)
        rows = []
        for j, r in enumerate(rels):
            rows.append({"relative_quarter": r, "period": quarter_label(start_quarter + r),
                         "effect": float(res_e.params[j]), "lower_ci": float(ci[j][0]),
                         "upper_ci": float(ci[j][1])})
        ref = -1 if -1 in set(p.loc[p["treated"], "rel"]) else min(int(r) for r in p.loc[p["treated"], "rel"])
        rows.append({"relative_quarter": ref, "period": quarter_label(start_quarter + ref), "effect": 0.0,
                     "lower_ci": 0.0, "upper_ci": 0.0, "reference": True})
        out["event_study"] = sorted(rows, key=lambda r: r["relative_quarter"])
        pre = [j for j, r in enumerate(rels) if r < 0]
        n_clusters = n_t + n_c
        # a clustered covariance has rank at most G - 1: a joint test of more terms is not defined
        if len(before) >= MIN_BEFORE_FOR_TRENDS and pre and len(pre) <= n_clusters - 1:
            r_mat = np.zeros((len(pre), len(res_e.params)))
            for i, j in enumerate(pre):
                r_mat[i, j] = 1.0
            test = res_e.wald_test(r_mat, scalar=True, use_f=True)
            out["pretrend_p_value"] = float(test.pvalue)
    return out


def synthetic_panel(n_treated: int = 10, n_comparison: int = 30, quarters_before: int = 6,
                    quarters_after: int = 4, effect: float = 0.0, seed: int = 0,
                    noise: float = 2.0) -> pd.DataFrame:
    """A SYNTHETIC panel with a known effect: unit and quarter effects plus noise (for tests and docs)."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_comparison
    q = np.arange(quarters_before + quarters_after) + 8092  # 2023/24 Q1 onwards
    unit_fx = rng.normal(85, 5, n)
    time_fx = rng.normal(0, 1, len(q)).cumsum()
    rows = []
    for i in range(n):
        treated = i < n_treated
        for t, qq in enumerate(q):
            v = unit_fx[i] + time_fx[t] + rng.normal(0, noise)
            if treated and t >= quarters_before:
                v += effect
            rows.append((f"U{i:03d}", int(qq), treated, v))
    return pd.DataFrame(rows, columns=["unit", "quarter", "treated", "value"])


# --------------------------------------------------------------------------------------------
# comparison group
# --------------------------------------------------------------------------------------------


def match_comparison(units: pd.DataFrame, *, k: int = MATCH_K) -> pd.DataFrame:
    """Nearest-neighbour matches for the targeted units among the pool, without replacement.

    ``units``: one row per unit with ``unit``, ``treated``, ``baseline`` (mean before uptake, %)
    and ``imd_rank``. Both are standardised over all the units (a missing IMD rank takes the
    mean); for each targeted unit in turn the ``k`` nearest pool units not yet taken are kept.
    Returns the chosen comparison units with ``matched_to`` and ``distance``.
    """
    u = units.dropna(subset=["baseline"]).reset_index(drop=True)
    feats = u[["baseline", "imd_rank"]].astype(float)
    feats = feats.fillna(feats.mean()).fillna(0.0)
    sd = feats.std(ddof=0).replace(0, 1.0)
    z = ((feats - feats.mean()) / sd).to_numpy()
    treated = np.flatnonzero(u["treated"].to_numpy(bool))
    pool = np.flatnonzero(~u["treated"].to_numpy(bool))
    if len(treated) == 0 or len(pool) == 0:
        return u.iloc[0:0].assign(matched_to=pd.Series(dtype=str), distance=pd.Series(dtype=float))
    nn = NearestNeighbors(n_neighbors=len(pool)).fit(z[pool])
    dist, idx = nn.kneighbors(z[treated])
    taken: dict[int, tuple[str, float]] = {}
    for row in range(len(treated)):
        got = 0
        for d, j in zip(dist[row], idx[row], strict=True):
            if got >= k:
                break
            cand = int(pool[j])
            if cand in taken:
                continue
            taken[cand] = (str(u.loc[treated[row], "unit"]), float(d))
            got += 1
    chosen = u.loc[list(taken)].copy()
    chosen["matched_to"] = [taken[i][0] for i in chosen.index]
    chosen["distance"] = [taken[i][1] for i in chosen.index]
    return chosen.sort_values("distance").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# campaigns on a dataset
# --------------------------------------------------------------------------------------------


def _dates(c: dict[str, Any]) -> tuple[date, date]:
    start = date.fromisoformat(str(c["start_date"]))
    end = date.fromisoformat(str(c["end_date"])) if c.get("end_date") else date.max
    return start, end


def overlapping_campaigns(campaign: dict[str, Any], others: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Other campaigns running at the same time that share an area, a practice or a programme."""
    s0, e0 = _dates(campaign)
    place = set(campaign.get("areas", [])) | set(campaign.get("practices", []))
    progs = set(campaign.get("indicators", []))
    out = []
    for o in others:
        if o.get("id") == campaign.get("id"):
            continue
        s1, e1 = _dates(o)
        if s1 > e0 or s0 > e1:
            continue
        shared_place = sorted(place & (set(o.get("areas", [])) | set(o.get("practices", []))))
        shared_prog = sorted(progs & set(o.get("indicators", [])))
        if shared_place or shared_prog:
            out.append({"id": o.get("id"), "name": o.get("name"), "start_date": o.get("start_date"),
                        "end_date": o.get("end_date"), "shared_areas": shared_place,
                        "shared_indicators": shared_prog})
    return out


def _practice_panel(ds: Any, indicator: str) -> pd.DataFrame:
    ind = ds.indicators
    rows = ind[(ind["indicator"] == indicator) & (ind["area_type"] == "practice")]
    rows = rows[rows["area_code"].isin(set(ds.practices["practice_code"]))]
    return rows[["area_code", "period", "numerator", "denominator", "value"]].rename(columns={"area_code": "unit"})


def _utla_panel(ds: Any, indicator: str) -> pd.DataFrame:
    ind = ds.indicators
    rows = ind[(ind["indicator"] == indicator) & (ind["area_type"] == "utla")]
    return rows[["area_code", "period", "numerator", "denominator", "value"]].rename(columns={"area_code": "unit"})


def _apportioned_panel(ds: Any, indicator: str, geography: str) -> pd.DataFrame:
    from ..apportion import area_figures

    frames = []
    for period in ds.periods(indicator):
        if quarter_index(period) is None:
            continue
        f = area_figures(ds, indicator, geography, period)
        frames.append(f[["area_code", "numerator", "denominator", "value"]].assign(period=period))
    if not frames:
        return pd.DataFrame(columns=["unit", "period", "numerator", "denominator", "value"])
    return pd.concat(frames, ignore_index=True).rename(columns={"area_code": "unit"})


def _level(ds: Any, campaign: dict[str, Any], indicator: str) -> tuple[str, list[str]]:
    """The geography to evaluate at and the targeted unit codes there."""
    from .store import known_area_codes

    practices = list(campaign.get("practices") or [])
    areas = list(campaign.get("areas") or [])
    known = known_area_codes(ds) if areas else {}
    types = {c: known.get(c, "unknown") for c in areas}
    unknown = [c for c, t in types.items() if t == "unknown"]
    if unknown:
        raise RequestError(f"Campaign area code(s) {', '.join(unknown)} are not in dataset {ds.name}: "
                           "evaluate it on the dataset it was recorded on.")
    pcn_practices = []
    if any(t == "pcn" for t in types.values()):
        pr = ds.practices
        pcns = [c for c, t in types.items() if t == "pcn"]
        pcn_practices = pr.loc[pr["pcn_code"].isin(pcns), "practice_code"].astype(str).tolist()
    if practices or (areas and all(t == "pcn" for t in types.values())):
        return "practice", sorted(set(practices) | set(pcn_practices))
    utla_codes = set(ds.indicators.loc[(ds.indicators["indicator"] == indicator)
                                       & (ds.indicators["area_type"] == "utla"), "area_code"])
    if areas and all(c in utla_codes for c in areas):
        return "utla", areas
    kinds = {t for t in types.values() if t != "pcn"}
    if len(kinds) == 1 and kinds <= {"lsoa", "msoa", "ward", "lad"}:
        return kinds.pop(), [c for c in areas if types[c] != "pcn"]
    # mixed kinds: every targeted neighbourhood as its LSOAs
    lk = ds.lookup
    lsoas: set[str] = set()
    for c, t in types.items():
        if t == "lsoa":
            lsoas.add(c)
        elif f"{t}_code" in lk:
            lsoas |= set(lk.loc[lk[f"{t}_code"] == c, "lsoa_code"].astype(str))
    return "lsoa", sorted(lsoas)


def _icb_of(ds: Any, geography: str, codes: Sequence[str]) -> pd.Series:
    """ICB code of each unit (for the same-ICB comparison pool)."""
    if geography == "practice":
        return ds.practices.set_index("practice_code")["icb_code"].reindex(codes)
    lk = ds.lookup
    col = f"{geography}_code"
    if col not in lk:
        return pd.Series(np.nan, index=pd.Index(codes))
    m = lk.dropna(subset=[col]).drop_duplicates(col).set_index(col)["icb_code"]
    return m.reindex(codes)


def evaluate_campaign(ds: Any, campaign: dict[str, Any], *, indicator: str | None = None,
                      others: Sequence[dict[str, Any]] = (), k: int = MATCH_K) -> dict[str, Any]:
    """Before-and-after in the campaign's units against matched comparison units (see the module doc).

    ``campaign`` is a dict as :meth:`CampaignStore.get` returns; ``others`` the rest of the log
    (for overlaps, and to keep units targeted by another campaign on the same programme out of
    the comparison group). Returns a JSON-ready dict with at least :data:`RESULT_KEYS`, plus
    the event study, the comparison list, the verdict and the caveats in plain words.
    """
    from ..flags import area_deprivation

    keys = list(campaign.get("indicators") or [])
    indicator = indicator or (keys[0] if keys else None)
    if indicator is None:
        raise RequestError("The campaign names no indicator to evaluate.")
    have = ds.indicator_keys()
    if indicator not in have:
        raise RequestError(f"Indicator {indicator!r} has no practice-level data in dataset {ds.name}.", valid=have)
    ind = get_indicator(indicator)
    start = date.fromisoformat(str(campaign["start_date"]))
    q0 = start_quarter_index(start)
    geography, treated_codes = _level(ds, campaign, indicator)
    if geography == "practice":
        raw = _practice_panel(ds, indicator)
    elif geography == "utla":
        raw = _utla_panel(ds, indicator)
    else:
        raw = _apportioned_panel(ds, indicator, geography)
    raw = raw.assign(quarter=raw["period"].map(quarter_index)).dropna(subset=["quarter"])
    raw["quarter"] = raw["quarter"].astype(int)
    raw["unit"] = raw["unit"].astype(str)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(raw["denominator"].fillna(0) > 0, 100 * raw["numerator"] / raw["denominator"], raw["value"])
    raw["value"] = v
    non_quarterly = [p for p in ds.periods(indicator) if quarter_index(p) is None]
    overlaps = overlapping_campaigns(campaign, others)
    # comparison pool: same ICB, not targeted, not targeted by an overlapping campaign on this programme
    excluded: set[str] = set()
    for o in others:
        if o.get("id") == campaign.get("id") or indicator not in (o.get("indicators") or []):
            continue
        if any(ov["id"] == o.get("id") for ov in overlaps):
            excluded |= set(o.get("areas") or []) | set(o.get("practices") or [])
    units = sorted(raw["unit"].unique())
    treated_set = set(treated_codes) & set(units)
    if geography == "utla":
        pool_rule = "among the dataset's other upper-tier local authorities"
        pool = [u for u in units if u not in treated_set and u not in excluded]
    else:
        icb = _icb_of(ds, geography, units)
        t_icbs = set(icb.reindex(sorted(treated_set)).dropna())
        pool = [u for u in units if u not in treated_set and u not in excluded
                and (not t_icbs or icb.get(u) in t_icbs)]
        pool_rule = f"within the same ICB ({', '.join(sorted(map(str, t_icbs))) or 'unknown'})"
    before = raw[raw["quarter"] < q0]
    base = before.groupby("unit")["value"].mean()
    dep = area_deprivation(ds, "utla" if geography == "utla" else geography,
                           pd.Series(sorted(treated_set) + pool, dtype=str)).set_index("area_code")
    cand = pd.DataFrame({"unit": sorted(treated_set) + pool})
    cand["treated"] = cand["unit"].isin(treated_set)
    cand["baseline"] = cand["unit"].map(base)
    cand["imd_rank"] = cand["unit"].map(dep["imd_rank"])
    chosen = match_comparison(cand, k=k)
    names = _names(ds, geography)
    panel = raw[raw["unit"].isin(treated_set | set(chosen["unit"]))].copy()
    panel["treated"] = panel["unit"].isin(treated_set)
    est = did_estimate(panel, q0)
    quarters = sorted(raw["quarter"].unique())
    result: dict[str, Any] = {
        "campaign_id": campaign.get("id"),
        "campaign": campaign.get("name"),
        "indicator": indicator,
        "indicator_name": ind.name,
        "dataset": ds.name,
        "geography": geography,
        "start_date": start.isoformat(),
        "start_quarter": quarter_label(q0),
        "periods": [quarter_label(q) for q in quarters],
        **{k_: est[k_] for k_ in ("effect", "lower_ci", "upper_ci", "std_error", "p_value", "quarters_before",
                                  "quarters_after", "confidence", "pretrend_p_value", "n_observations")},
        "units": "percentage points",
        "treated": [{"code": c, "name": names.get(c, c),
                     "baseline": _num(base.get(c)), "imd_rank": _num(dep["imd_rank"].get(c))}
                    for c in sorted(treated_set)],
        "treated_missing": sorted(set(treated_codes) - treated_set),
        "comparison": [{"code": r.unit, "name": names.get(r.unit, r.unit), "baseline": _num(r.baseline),
                        "imd_rank": _num(r.imd_rank), "matched_to": r.matched_to, "distance": _num(r.distance)}
                       for r in chosen.itertuples()],
        "method": (_DID_METHOD.format(unit=_UNIT_WORD.get(geography, geography)) + "; comparison group: "
                   + _MATCH_METHOD.format(k=k, pool=pool_rule)),
        "matching": "nearest neighbours",
        "event_study": est["event_study"],
        "trend": _trend(panel),
        "overlapping_campaigns": overlaps,
        "areas_not_used": ([a for a in campaign.get("areas") or [] if a not in set(treated_codes)]
                           if geography == "practice" and campaign.get("practices") else []),
        "source": ds.provenance_line(limit=2),
        "synthetic": bool(ds.synthetic),
    }
    result["caveats"] = _caveats(ds, result, panel, geography, non_quarterly)
    result["verdict"] = _verdict(result)
    return result


_UNIT_WORD = {"practice": "GP practice", "utla": "local authority", "lsoa": "LSOA", "msoa": "MSOA",
              "ward": "ward", "lad": "district"}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else round(f, 4)


def _names(ds: Any, geography: str) -> dict[str, str]:
    if geography == "practice":
        return ds.practices.set_index("practice_code")["practice_name"].astype(str).to_dict()
    a = ds.areas
    out = dict(zip(a["area_code"].astype(str), a["area_name"].astype(str), strict=True))
    if geography == "utla":
        ind = ds.indicators[ds.indicators["area_type"] == "utla"].dropna(subset=["area_name"])
        out.update(dict(zip(ind["area_code"].astype(str), ind["area_name"].astype(str), strict=False)))
    return out


def _trend(panel: pd.DataFrame) -> list[dict[str, Any]]:
    """Mean uptake per quarter, targeted against comparison (the raw picture behind the estimate)."""
    if panel.empty:
        return []
    g = panel.groupby(["quarter", "treated"])["value"].mean().unstack()
    return [{"period": quarter_label(int(q)), "targeted": _num(g.loc[q].get(True)),
             "comparison": _num(g.loc[q].get(False))} for q in g.index]


def _caveats(ds: Any, r: dict[str, Any], panel: pd.DataFrame, geography: str,
             non_quarterly: list[str]) -> list[str]:
    out: list[str] = []
    nb, na = r["quarters_before"], r["quarters_after"]
    held = f"{r['periods'][0]} to {r['periods'][-1]}" if r["periods"] else "none"
    out.append(f"{nb} quarter{'s' if nb != 1 else ''} before the start quarter ({r['start_quarter']}) and {na} "
               f"from it on; quarters held: {held}.")
    if na == 0:
        out.append("The dataset holds no quarter from the start on: there is nothing after to compare yet.")
    if nb == 0:
        out.append("The dataset holds no quarter before the start: there is no baseline to compare with.")
    elif nb < MIN_BEFORE_FOR_TRENDS:
        out.append("Only one quarter before the start: parallel trends (that targeted and comparison areas "
                   "were moving alike before) cannot be checked at all.")
    elif nb < ENOUGH_BEFORE:
        out.append(f"Only {nb} quarters before the start: the check of parallel trends has little power.")
    if r.get("pretrend_p_value") is not None and r["pretrend_p_value"] < PRETREND_ALPHA:
        out.append(f"Before the start, targeted and comparison areas already moved differently (pre-trend test "
                   f"p = {r['pretrend_p_value']:.3f}): the estimate may reflect that, not the campaign.")
    nt, nc = len(r["treated"]), len(r["comparison"])
    if nt < FEW_UNITS or nc < FEW_UNITS:
        out.append(f"{nt} targeted and {nc} comparison units: with so few, errors clustered by unit are "
                   "unreliable and the interval may be too narrow or too wide.")
    if geography == "practice" and r.get("areas_not_used"):
        out.append(f"Evaluated on the campaign's GP practices; its areas ({', '.join(r['areas_not_used'][:5])}) "
                   "are not used, since practice figures are published and area figures are modelled from them.")
    if r["treated_missing"]:
        out.append(f"No figures for targeted {', '.join(r['treated_missing'][:10])} (suppressed or not published): "
                   "left out.")
    if not panel.empty and "denominator" in panel:
        td = panel[panel["treated"]].groupby("quarter")["denominator"].sum()
        if len(td) and float(td.min()) < SMALL_DENOMINATOR:
            out.append(f"Small counts: as few as {int(td.min())} eligible people in the targeted units in a "
                       "quarter, so quarter-to-quarter noise is large.")
    if geography in ("lsoa", "msoa", "ward", "lad"):
        word = "MODELLED" if ds.catchment_source == "modelled" else "registration-based"
        out.append(f"Neighbourhood figures are APPORTIONED estimates from GP practice figures through {word} "
                   "catchments: neighbouring areas share practices, so comparison areas partly carry the targeted "
                   "areas' change (which pulls the estimate towards zero) and their errors are related.")
    if "numerator_estimated" in ds.indicators and bool(
            ds.indicators.loc[ds.indicators["indicator"] == r["indicator"], "numerator_estimated"].fillna(False).any()):
        out.append("Numerators are estimated from the published coverage and denominator (COVER publishes no "
                   "numerator).")
    if non_quarterly:
        out.append(f"Periods that are not quarters ({', '.join(non_quarterly[:5])}) are not used.")
    for o in r["overlapping_campaigns"]:
        what = []
        if o["shared_areas"]:
            what.append(f"areas {', '.join(o['shared_areas'][:5])}")
        if o["shared_indicators"]:
            what.append(f"programmes {', '.join(o['shared_indicators'])}")
        out.append(f"Campaign {o['id']} ({o['name']}, from {o['start_date']}) overlaps in time and shares "
                   f"{' and '.join(what)}: the change cannot be told apart from its effect.")
    if ds.synthetic:
        out.append("SYNTHETIC demo data: not real figures.")
    return out


def _verdict(r: dict[str, Any]) -> str:
    if r["effect"] is None:
        return ("Too few quarters to tell: the dataset needs quarters both before and after the start "
                f"({r['quarters_before']} before, {r['quarters_after']} after).")
    e, lo, hi = r["effect"], r["lower_ci"], r["upper_ci"]
    span = f"{e:+.1f} percentage points (95% CI {lo:+.1f} to {hi:+.1f})"
    pre_p = r.get("pretrend_p_value")
    if pre_p is not None and pre_p < PRETREND_ALPHA:
        return ("Cannot tell: before the start the targeted and comparison units were already moving "
                f"differently (pre-trend test p = {pre_p:.3f}), so the difference-in-differences, {span}, "
                "is not a fair estimate of the campaign's effect.")
    few = r["quarters_before"] < ENOUGH_BEFORE or r["quarters_after"] < 2
    prefix = "Too few quarters to tell with confidence. " if few else ""
    if lo > 0:
        return (f"{prefix}Uptake rose more in the targeted units than in comparable ones: {span}.")
    if hi < 0:
        return f"{prefix}Uptake fell more in the targeted units than in comparable ones: {span}."
    return (f"{prefix}No clear difference from comparable units: {span}; the interval includes no change.")


def event_study_figure(result: dict[str, Any]) -> Any:
    """Plotly event-study chart: effect per quarter relative to the start, with 95% CIs.

    Before-quarters (grey) are the check of parallel trends; after-quarters (blue) the effect.
    Okabe-Ito colours (colour-blind safe); units, source and method in the title and caption.
    """
    import plotly.graph_objects as go

    rows = result.get("event_study") or []
    fig = go.Figure()
    for label, sel, colour in (("before the start (parallel-trends check)", lambda r: r < 0, OKABE_ITO["grey"]),
                               ("from the start on (effect)", lambda r: r >= 0, OKABE_ITO["blue"])):
        pts = [r for r in rows if sel(r["relative_quarter"])]
        if not pts:
            continue
        fig.add_trace(go.Scatter(
            x=[r["relative_quarter"] for r in pts], y=[r["effect"] for r in pts], mode="markers",
            name=label, marker={"color": colour, "size": 10, "symbol": "circle" if colour != OKABE_ITO["grey"] else "square"},
            error_y={"type": "data", "symmetric": False,
                     "array": [r["upper_ci"] - r["effect"] for r in pts],
                     "arrayminus": [r["effect"] - r["lower_ci"] for r in pts]},
            text=[r["period"] for r in pts],
            hovertemplate="%{text}: %{y:.1f} points<extra></extra>",
        ))
    fig.add_hline(y=0, line={"color": "#444", "width": 1})
    fig.add_vline(x=-0.5, line={"color": OKABE_ITO["vermillion"], "dash": "dash"},
                  annotation_text=f"start {result.get('start_quarter', '')}", annotation_position="top")
    fig.update_layout(
        title={"text": "Effect by quarter relative to the start<br><sup>"
                       f"{result.get('indicator_name', '')}: targeted less matched comparison units</sup>",
               "x": 0.0, "xanchor": "left"},
        xaxis_title="quarters relative to the start (−1 = reference)",
        yaxis_title="effect, percentage points (95% CI)",
        legend={"orientation": "h", "y": -0.25}, height=440, margin={"t": 80, "b": 110},
    )
    return fig
