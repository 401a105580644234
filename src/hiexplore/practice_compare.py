"""Compare GP practices on one indicator: rank in PCN, rank among deprivation peers, funnel status.

What the Practices page shows and ``hiexplore practices`` writes. Each practice's row is its
flags row (:func:`hiexplore.flags.compute_flags` at the practice level: value, Wilson 95% CI,
benchmark comparison, standard band, people to reach, reasons) joined with its practice details,
plus:

* ``rank_in_pcn`` of ``pcn_size``: rank by uptake within its PCN (1 = highest uptake; ties
  take the lowest rank), among the PCN's practices with a published figure;
* ``rank_among_peers`` of ``peers``: the same among practices of the same IMD quintile of
  registered population (``imd_quintile`` = ceil(decile / 2)), so a practice is compared with
  others serving similarly deprived patients;
* ``funnel``: its position against the funnel plot's control limits around the pooled mean of
  every practice in the dataset (Spiegelhalter 2005; :func:`hiexplore.stats.funnel.funnel_significance`),
  with optional overdispersion ("multiplicative" or "additive", Spiegelhalter 2005, section 4).

``trend`` and ``trend_points`` are the practice's recent trend over its five most recent
quarters (or years) and the usable points (:func:`hiexplore.trends.area_trends`).

Ranks and the funnel are taken over every practice of the dataset, before any filter, so a
filtered view keeps the same ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import RequestError
from .stats.funnel import estimate_overdispersion, funnel_curve, funnel_frame

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = [
    "OVERDISPERSION",
    "PRACTICE_COLUMNS",
    "FunnelData",
    "compare_practices",
    "filter_practices",
    "practice_funnel",
    "practice_table",
]

OVERDISPERSION = ("none", "multiplicative", "additive")
#: the columns of the Practices page's table and of ``hiexplore practices``, in order
PRACTICE_COLUMNS = [
    "area_code", "practice_name", "in_area_by", "value", "value_note", "pcn_name", "list_size", "numerator", "denominator",
    "lower_ci_95", "upper_ci_95", "vs_benchmark", "standard_band", "funnel", "imd_decile", "rank_in_pcn", "pcn_size",
    "rank_among_peers", "peers", "people_to_reach", "flagged", "period_end", "out_of_date", "trend", "trend_points", "reasons",
]


def _check_overdispersion(overdispersion: str) -> None:
    if overdispersion not in OVERDISPERSION:
        raise RequestError(f"Unknown overdispersion {overdispersion!r}.", valid=list(OVERDISPERSION))


def compare_practices(
    ds: Dataset,
    indicator: str,
    *,
    period: str | None = None,
    overdispersion: str = "none",
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every practice's flags row with its details, ranks and funnel status (see module doc).

    ``flags`` may pass the practice-level flags already computed for ``indicator`` and
    ``period`` (the app's cached frame); otherwise they are computed here.
    """
    _check_overdispersion(overdispersion)
    if flags is None:
        from .flags import compute_flags

        flags = compute_flags(ds, indicator, "practice", period=period)
    # flags already carry in_area_by (why the practice is the area's); the details add the rest
    details = ds.practices.drop(columns=[c for c in ("in_area_by",) if c in flags])
    data = flags.merge(details, left_on="area_code", right_on="practice_code", how="left")
    data.attrs = dict(flags.attrs)
    data["rank_in_pcn"] = data.groupby("pcn_code")["value"].rank(ascending=False, method="min")
    data["pcn_size"] = data.groupby("pcn_code")["value"].transform("count")
    data["imd_quintile"] = np.ceil(data["imd_decile"] / 2)
    data["rank_among_peers"] = data.groupby("imd_quintile")["value"].rank(ascending=False, method="min")
    data["peers"] = data.groupby("imd_quintile")["value"].transform("count")
    # suppressed practices (fewer than 5 eligible) are left out of the funnel and counted
    attrs = dict(data.attrs)
    data = funnel_frame(data, overdispersion=None if overdispersion == "none" else overdispersion)
    data.attrs = {**attrs, **data.attrs}
    return data


def _with_counts(data: pd.DataFrame) -> pd.DataFrame:
    ok = data.dropna(subset=["numerator", "denominator"])
    return ok[ok["denominator"] > 0]


def filter_practices(
    data: pd.DataFrame,
    *,
    icb: Sequence[str] = (),
    sub_icb: Sequence[str] = (),
    pcn: Sequence[str] = (),
    imd_deciles: Sequence[str | int] = (),
    list_size: tuple[float, float] | None = None,
    only_flagged: bool = False,
) -> pd.DataFrame:
    """The rows of :func:`compare_practices` that pass every filter given (empty = no filter).

    A PCN code that no practice has raises, naming the valid codes: a mistyped code must not
    give an empty table that looks like an answer.
    """
    if pcn:
        known = set(data["pcn_code"].dropna().astype(str))
        unknown = [c for c in pcn if c not in known]
        if unknown:
            raise RequestError(f"No practice of this dataset is in PCN {', '.join(unknown)}.", valid=sorted(known))
    mask = pd.Series(True, index=data.index)
    if icb:
        mask &= data["icb_code"].astype(str).isin(icb)
    if sub_icb:
        mask &= data["sub_icb_code"].astype(str).isin(sub_icb)
    if pcn:
        mask &= data["pcn_code"].astype(str).isin(pcn)
    if imd_deciles:
        mask &= data["imd_decile"].astype("Int64").astype(str).isin([str(d) for d in imd_deciles])
    if list_size is not None:
        mask &= data["list_size"].fillna(0).between(*list_size)
    if only_flagged:
        mask &= data["flagged"]
    return data[mask].copy()


def practice_table(selected: pd.DataFrame) -> pd.DataFrame:
    """The table shown and downloaded: :data:`PRACTICE_COLUMNS` present, lowest uptake first."""
    table = selected[[c for c in PRACTICE_COLUMNS if c in selected]].sort_values("value")
    table.attrs = dict(selected.attrs)
    return table


@dataclass(frozen=True)
class FunnelData:
    """A funnel plot's points (practices with counts), pooled mean (a proportion) and limits."""

    points: pd.DataFrame
    target: float
    curve: pd.DataFrame
    overdispersion: str


def practice_funnel(data: pd.DataFrame, overdispersion: str = "none") -> FunnelData | None:
    """Points, pooled mean and 95%/99.8% limits for the funnel plot; None under 3 practices.

    The limits run from 0.8 times the smallest denominator to 1.2 times the largest, around
    the pooled mean of every practice (sum of numerators / sum of denominators).
    """
    _check_overdispersion(overdispersion)
    ok = _with_counts(data)
    if len(ok) < 3:
        return None
    target = float(ok["numerator"].sum() / ok["denominator"].sum())
    over = None if overdispersion == "none" else estimate_overdispersion(ok["numerator"], ok["denominator"], target)
    curve = funnel_curve(target, min_denominator=max(1.0, ok["denominator"].min() * 0.8),
                         max_denominator=ok["denominator"].max() * 1.2, overdispersion=over,
                         overdispersion_method=overdispersion if overdispersion != "none" else "multiplicative")
    return FunnelData(points=ok, target=target, curve=curve, overdispersion=overdispersion)
