"""The inequality gradient of one indicator by deprivation, with the SII and RII.

Areas (apportioned LSOAs by default) are grouped by IMD decile or quintile; the gradient table
sums numerators and denominators per group, and the slope and relative indices of inequality are
fitted across the groups ordered from most to least deprived (OHID / PHEindicatormethods method;
see :func:`hiexplore.stats.inequality.sii_rii`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .apportion import area_figures
from .catalogue import get_indicator
from .errors import RequestError
from .flags import area_deprivation
from .periods import figure_age
from .stats.inequality import gradient_table, sii_rii

__all__ = ["BY_CHOICES", "SIGN_CONVENTION", "grouped_areas", "inequality_report"]

BY_CHOICES = ("imd_decile", "imd_quintile")
SIGN_CONVENTION = (
    "Sign convention (OHID): groups are ordered from most deprived (rank 0) to least deprived "
    "(rank 1); a positive SII means uptake is higher in less deprived areas (the absolute gap, in "
    "percentage points, across the whole deprivation range); the RII is the ratio of the fitted "
    "values at the least and most deprived ends, so RII > 1 means the same in relative terms."
)


def grouped_areas(ds: object, indicator: str, geography: str, by: str, period: str | None) -> pd.DataFrame:
    """Area figures with their IMD decile and quintile attached."""
    if by not in BY_CHOICES:
        raise RequestError(f"Unknown grouping {by!r}.", valid=list(BY_CHOICES))
    figs = area_figures(ds, indicator, geography, period)
    dep = area_deprivation(ds, geography, figs["area_code"])
    figs["imd_decile"] = dep["imd_decile"].to_numpy()
    figs["imd_quintile"] = np.ceil(figs["imd_decile"] / 2)
    return figs.dropna(subset=["imd_decile"])


def inequality_report(
    ds: object,
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
        "synthetic": bool(getattr(ds, "synthetic", False)),
        "catchments": getattr(ds, "catchment_source", "unknown"),
        "source": ds.provenance_line() if hasattr(ds, "provenance_line") else "",  # type: ignore[attr-defined]
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
