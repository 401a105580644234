"""The inequality gradient of one indicator by deprivation, with the SII and RII.

Areas (apportioned LSOAs by default) are grouped by IMD decile or quintile; the gradient table
sums numerators and denominators per group, and the slope and relative indices of inequality are
fitted across the groups ordered from most to least deprived (OHID / PHEindicatormethods method;
see :func:`hiexplore.stats.inequality.sii_rii`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .apportion import area_figures
from .catalogue import get_indicator
from .errors import HiexploreError, RequestError
from .flags import area_deprivation
from .periods import figure_age
from .stats.inequality import gradient_table, sii_rii

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = [
    "BY_CHOICES",
    "ETHNIC_GROUPS",
    "SIGN_CONVENTION",
    "WhatIf",
    "ethnicity_gradient",
    "ethnicity_share_columns",
    "grouped_areas",
    "inequality_report",
    "inequality_trend",
    "what_if_standard",
]

BY_CHOICES = ("imd_decile", "imd_quintile")
ETHNIC_GROUPS = ("asian", "black", "mixed", "white", "other")  # Census 2021 TS021 high-level groups
SIGN_CONVENTION = (
    "Sign convention (OHID): groups are ordered from most deprived (rank 0) to least deprived "
    "(rank 1); a positive SII means uptake is higher in less deprived areas (the absolute gap, in "
    "percentage points, across the whole deprivation range); the RII is the ratio of the fitted "
    "values at the least and most deprived ends, so RII > 1 means the same in relative terms."
)


def grouped_areas(ds: Dataset, indicator: str, geography: str, by: str, period: str | None) -> pd.DataFrame:
    """Area figures with their IMD decile and quintile attached."""
    if by not in BY_CHOICES:
        raise RequestError(f"Unknown grouping {by!r}.", valid=list(BY_CHOICES))
    figs = area_figures(ds, indicator, geography, period)
    dep = area_deprivation(ds, geography, figs["area_code"])
    figs["imd_decile"] = dep["imd_decile"].to_numpy()
    figs["imd_quintile"] = np.ceil(figs["imd_decile"] / 2)
    return figs.dropna(subset=["imd_decile"])


def inequality_report(
    ds: Dataset,
    indicator: str,
    geography: str = "lsoa",
    *,
    by: str = "imd_decile",
    period: str | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """Gradient table, SII and RII with 95% CIs, and a printable text; all JSON-safe.

    Also ``period_end`` (ISO date), ``out_of_date`` and ``age_mark`` ("out of date (period ...)"
    when the period ended more than 2 years before the newest in the dataset, else "") and
    ``suppressed`` (the practices with fewer than 5 eligible left out, or None); the text says both.
    """
    ind = get_indicator(indicator)
    figs = grouped_areas(ds, indicator, geography, by, period)
    figs = figs[figs["denominator"] > 0]
    if figs[by].nunique() < 2:
        raise RequestError(
            f"The {geography} areas with data for {indicator!r} fall in fewer than two {by.replace('_', ' ')}s: "
            "no gradient can be fitted. Try a finer geography or a larger area."
        )
    table = gradient_table(figs, by=by)
    res = sii_rii(
        table["denominator"].to_numpy(float),
        numerator=table["numerator"].to_numpy(float),
        value_type="proportion",
        seed=seed,
    )
    period_used = str(figs["period"].iloc[0])
    groups = []
    for r in table.to_dict("records"):
        groups.append({
            "group": int(r["group"]),
            "numerator": float(r["numerator"]),
            "denominator": float(r["denominator"]),
            "value": float(r["value"]),
            "lower_ci_95": float(r["lower_95"]),
            "upper_ci_95": float(r["upper_95"]),
            "population_share": float(r["population_share"]),
            "areas": int((figs[by] == r["group"]).sum()),
        })
    out: dict[str, Any] = {
        "indicator": indicator,
        "indicator_name": ind.name,
        "geography": geography,
        "by": by,
        "period": period_used,
        "sii": res.sii,
        "sii_lower": res.sii_lower,
        "sii_upper": res.sii_upper,
        "rii": res.rii,
        "rii_lower": res.rii_lower,
        "rii_upper": res.rii_upper,
        "confidence": res.confidence,
        "method": res.method,
        "direction": res.direction,
        "significant": res.significant,
        "sign_convention": SIGN_CONVENTION,
        "groups": groups,
        "synthetic": ds.synthetic,
        "catchments": ds.catchment_source,
        "source": ds.provenance_line(),
    }
    age = figure_age(ds, period_used)
    suppressed = figs.attrs.get("suppressed")
    out.update({
        "period_end": None if age.period_end is None else age.period_end.isoformat(),
        "out_of_date": age.out_of_date,
        "age_mark": age.mark if age.out_of_date else "",
        "suppressed": suppressed["text"] if suppressed else None,
    })
    label = "IMD decile" if by == "imd_decile" else "IMD quintile"
    lines = [
        f"{ind.name} - {period_used}" + (f" - {out['age_mark']}" if out["age_mark"] else "")
        + f" - by {label} ({geography} areas, {len(figs)} with data)",
        f"{label:<14}{'areas':>7}{'numerator':>14}{'denominator':>14}{'value %':>10}{'95% CI':>18}{'pop. share':>12}",
    ]
    for g in groups:
        ci = f"{g['lower_ci_95']:.1f}-{g['upper_ci_95']:.1f}"
        lines.append(
            f"{g['group']:<14}{g['areas']:>7}{g['numerator']:>14,.1f}{g['denominator']:>14,.1f}"
            f"{g['value']:>10.1f}{ci:>18}{g['population_share']:>12.1%}"
        )
    lines.append(
        f"SII {res.sii:.2f} percentage points (95% CI {res.sii_lower:.2f} to {res.sii_upper:.2f}); "
        f"RII {res.rii:.3f} (95% CI {res.rii_lower:.3f} to {res.rii_upper:.3f})"
    )
    lines.append(res.direction)
    lines.append(SIGN_CONVENTION)
    if out["catchments"] == "modelled" and geography not in ("practice", "pcn"):
        lines.append("Neighbourhood figures rest on MODELLED practice catchments (apportioned estimates).")
    if out["suppressed"]:
        lines.append(f"Suppressed: {out['suppressed']}")
    if out["synthetic"]:
        lines.append("SYNTHETIC demo data: not real figures.")
    lines.append(out["source"])
    out["text"] = "\n".join(lines)
    return out


@dataclass(frozen=True)
class WhatIf:
    """The gradient before and after raising flagged areas to the standard (see :func:`what_if_standard`)."""

    target_pct: float
    extra_reached: float
    sii_before: float
    sii_after: float
    before: pd.DataFrame
    after: pd.DataFrame
    areas_raised: int

    @property
    def sii_change(self) -> float:
        return self.sii_after - self.sii_before


def what_if_standard(
    ds: Dataset,
    indicator: str,
    geography: str = "lsoa",
    *,
    by: str = "imd_decile",
    period: str | None = None,
    flags: pd.DataFrame | None = None,
    seed: int = 1,
) -> WhatIf | None:
    """What if every flagged area below the standard's target reached it? None without a target.

    Each flagged area with uptake below the target (the level people to reach counts towards,
    ``flags.attrs["thresholds"]["target_pct"]``) gets numerator max(numerator, target/100 x
    denominator); other areas are unchanged. The gradient (:func:`gradient_table`) and the SII
    (:func:`sii_rii`, OHID method, ``seed`` for its simulated CI) are computed before and after,
    over areas with a deprivation group and a positive denominator. ``flags`` may pass the flags
    already computed for ``indicator``, ``geography`` and ``period`` (the app's cached frame).
    """
    if by not in BY_CHOICES:
        raise RequestError(f"Unknown grouping {by!r}.", valid=list(BY_CHOICES))
    if flags is None:
        from .flags import compute_flags

        flags = compute_flags(ds, indicator, geography, period=period)
    target = flags.attrs.get("thresholds", {}).get("target_pct")
    if target is None:
        return None
    f = flags.copy()
    f["imd_quintile"] = np.ceil(f["imd_decile"] / 2)
    f = f.dropna(subset=[by])
    f = f[f["denominator"] > 0]
    raised = f.copy()
    lift = raised["flagged"] & (raised["value"] < target)
    raised.loc[lift, "numerator"] = np.maximum(raised.loc[lift, "numerator"], target / 100 * raised.loc[lift, "denominator"])
    before = gradient_table(f, by=by)
    after = gradient_table(raised, by=by)
    sii_before = sii_rii(before["denominator"].to_numpy(float), numerator=before["numerator"].to_numpy(float), seed=seed)
    sii_after = sii_rii(after["denominator"].to_numpy(float), numerator=after["numerator"].to_numpy(float), seed=seed)
    return WhatIf(
        target_pct=float(target),
        extra_reached=float(raised["numerator"].sum() - f["numerator"].sum()),
        sii_before=float(sii_before.sii),
        sii_after=float(sii_after.sii),
        before=before,
        after=after,
        areas_raised=int(lift.sum()),
    )


def inequality_trend(
    ds: Dataset,
    indicator: str,
    geography: str = "lsoa",
    *,
    by: str = "imd_decile",
    report_for: Callable[[str], dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """SII with its 95% CI and the most and least deprived groups' uptake, per period.

    One row per period of ``indicator`` (oldest first) for which :func:`inequality_report` can
    be computed (a period it refuses, e.g. with fewer than two groups, is left out).
    ``report_for(period)`` may pass the app's cached reports.
    """
    if report_for is None:
        def report_for(period: str) -> dict[str, Any]:
            return inequality_report(ds, indicator, geography, by=by, period=period)

    rows = []
    for p in ds.periods(indicator):
        try:
            r = report_for(p)
        except HiexploreError:
            continue
        g = pd.DataFrame(r["groups"])
        rows.append({"period": p, "SII": r["sii"], "SII low": r["sii_lower"], "SII high": r["sii_upper"],
                     "most deprived": g["value"].iloc[0], "least deprived": g["value"].iloc[-1]})
    return pd.DataFrame(rows, columns=["period", "SII", "SII low", "SII high", "most deprived", "least deprived"])


def ethnicity_share_columns(ds: Dataset) -> list[str]:
    """The population table's ``share_<group>`` columns of the Census 2021 high-level ethnic groups."""
    return [c for c in ds.population.columns if c.startswith("share_") and c[6:] in ETHNIC_GROUPS]


def ethnicity_gradient(ds: Dataset, indicator: str, share: str, *, period: str | None = None) -> pd.DataFrame:
    """Uptake by fifth of LSOAs ranked by an ethnic group's share of residents (5 = highest share).

    LSOAs with figures and an IMD decile are cut into quintiles of ``share`` (Census 2021 TS021;
    ``pandas.qcut``, fewer bands where shares tie), and :func:`gradient_table` sums numerators
    and denominators per band, with Wilson 95% CIs.
    """
    if share not in ethnicity_share_columns(ds):
        raise RequestError(f"No ethnic-group share {share!r} in this dataset.", valid=ethnicity_share_columns(ds))
    figs = grouped_areas(ds, indicator, "lsoa", "imd_decile", period)
    figs = figs.merge(ds.population[["lsoa_code", share]], left_on="area_code", right_on="lsoa_code")
    figs["band"] = pd.qcut(figs[share], 5, labels=False, duplicates="drop") + 1
    return gradient_table(figs, by="band")
