"""Deprivation of larger areas (local authorities, counties, ICBs), the way MHCLG publishes it.

MHCLG's "local authority district summaries" of the English Indices of Deprivation describe an
area by the deprivation of the LSOAs in it. :func:`summarise_deprivation` computes three of its
measures for any grouping of LSOAs:

* **average score**: the population-weighted mean of the LSOAs' IMD scores,
  :math:`\\bar S_a = \\sum_i w_i S_i / \\sum_i w_i` over the LSOAs :math:`i` of area :math:`a`;
* **rank of average rank**: areas ranked (1 = most deprived) by the population-weighted mean of
  their LSOAs' national IMD ranks, :math:`\\bar R_a = \\sum_i w_i R_i / \\sum_i w_i` (rank 1 =
  the most deprived LSOA in England, so the smallest mean rank is the most deprived area);
* **proportion of LSOAs in the most deprived 10% nationally**: the unweighted share of the
  area's LSOAs in national IMD decile 1.

Source: MHCLG, *The English Indices of Deprivation 2019: Technical report*, section 3.6
("Summary measures for higher-level geographies"), and the IoD2025 research report, which
define these measures with the IoD population denominators (File 6) as weights. Where the
published denominators are not at hand, Census 2021 usual residents stand in; the caller names
the weight used, and every row carries it.

The ranks are relative to the areas given: MHCLG ranks every LA in England, so pass all of
them (as ``hiexplore build`` does from the national IoD file) or say what the rank is against.

Example (three LSOAs in two areas; weights 100, 300 and 200):

>>> lsoas = pd.DataFrame({
...     "area_code": ["A", "A", "B"], "imd_score": [40.0, 20.0, 10.0],
...     "imd_rank": [100.0, 3000.0, 20000.0], "imd_decile": [1, 1, 6], "weight": [100, 300, 200]})
>>> s = summarise_deprivation(lsoas)
>>> float(s.loc["A", "average_score"]), float(s.loc["A", "average_rank"])
(25.0, 2275.0)
>>> int(s.loc["A", "rank_of_average_rank"]), int(s.loc["B", "rank_of_average_rank"])
(1, 2)
>>> float(s.loc["A", "share_lsoas_most_deprived_10pct"]), float(s.loc["B", "share_lsoas_most_deprived_10pct"])
(1.0, 0.0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import RequestError

__all__ = ["SUMMARY_MEASURES", "summarise_deprivation"]

#: the output columns, in order
SUMMARY_MEASURES = (
    "n_lsoas",
    "population",
    "average_score",
    "rank_of_average_score",
    "average_rank",
    "rank_of_average_rank",
    "share_lsoas_most_deprived_10pct",
    "ranked_among",
)


def summarise_deprivation(
    lsoas: pd.DataFrame,
    *,
    area: str = "area_code",
    weight: str = "weight",
) -> pd.DataFrame:
    """Average score, rank of average rank and share of LSOAs in decile 1, per area.

    Parameters
    ----------
    lsoas : pandas.DataFrame
        One row per LSOA with the columns ``area``, ``imd_rank`` (national, 1 = most deprived),
        ``imd_decile`` (national, 1 = most deprived 10%), ``imd_score`` (may be all missing:
        IoD2019 scores are not always at hand; then the average score is missing too) and
        ``weight`` (the population used as weight).
    area, weight : str
        The columns naming each LSOA's area and its weight.

    Returns
    -------
    pandas.DataFrame
        Indexed by area code, with :data:`SUMMARY_MEASURES`. ``ranked_among`` is the number of
        areas the ranks are taken among (those with a rank and a positive total weight).
        Ranks are 1 = most deprived; ties take the lowest rank (``method="min"``).
    """
    need = [area, "imd_rank", "imd_decile", weight]
    missing = [c for c in need if c not in lsoas]
    if missing:
        raise RequestError(f"summarise_deprivation needs the column(s) {missing}; got {list(lsoas.columns)}")
    frame = lsoas.dropna(subset=[area, "imd_rank"])
    w = pd.to_numeric(frame[weight], errors="coerce").fillna(0.0).astype(float)
    if (w < 0).any():
        raise RequestError(f"weights must not be negative; found {float(w.min())} in column {weight!r}")
    score = pd.to_numeric(frame["imd_score"], errors="coerce") if "imd_score" in frame else pd.Series(np.nan, index=frame.index)
    work = pd.DataFrame({
        "area": frame[area].to_numpy(),
        "w": w.to_numpy(),
        "wr": (frame["imd_rank"].astype(float) * w).to_numpy(),
        "ws": (score * w).to_numpy(),
        "w_scored": np.where(score.notna(), w, 0.0),
        "d1": (pd.to_numeric(frame["imd_decile"], errors="coerce") == 1).to_numpy(),
    })
    g = work.groupby("area", sort=True).agg(
        n_lsoas=("w", "size"), population=("w", "sum"), wr=("wr", "sum"), ws=("ws", "sum"),
        w_scored=("w_scored", "sum"), d1=("d1", "sum"),
    )
    out = pd.DataFrame(index=g.index)
    out.index.name = area
    out["n_lsoas"] = g["n_lsoas"].astype(int)
    out["population"] = g["population"]
    positive = g["population"] > 0
    out["average_rank"] = (g["wr"] / g["population"]).where(positive)
    # a score average only where every LSOA of the area has a score (else it would be partial)
    complete = np.isclose(g["w_scored"], g["population"]) & positive
    out["average_score"] = (g["ws"] / g["population"]).where(complete)
    out["share_lsoas_most_deprived_10pct"] = g["d1"] / g["n_lsoas"]
    out["rank_of_average_rank"] = out["average_rank"].rank(method="min", ascending=True).astype("Int64")
    out["rank_of_average_score"] = out["average_score"].rank(method="min", ascending=False).astype("Int64")
    out["ranked_among"] = int(out["average_rank"].notna().sum())
    return out[list(SUMMARY_MEASURES)]
