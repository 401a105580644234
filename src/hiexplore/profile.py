"""The profile of one area: every loaded indicator there, its deprivation and the practices serving it.

What the Map explorer shows under "Area profile" and ``hiexplore profile`` prints. For each
indicator with data at the area's geography, its flags row (latest period): value and Wilson
95% CI, benchmark and comparison, the standard's band, people to reach, whether it is flagged
and why (:func:`hiexplore.flags.compute_flags`). For an LSOA, also its IMD decile in each IoD
edition and the practices whose registered patients live there, with each one's share (from the
dataset's catchments, observed or modelled: the profile says which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from .catalogue import get_indicator
from .errors import HiexploreError, RequestError
from .mapping import caveat_note

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = ["PROFILE_GEOGRAPHIES", "AreaProfile", "area_profile", "area_geography", "indicator_label"]

PROFILE_GEOGRAPHIES = ("lsoa", "msoa", "ward", "lad", "pcn", "practice")
TOP_PRACTICES = 8  # practices listed as serving an LSOA, largest share first


def indicator_label(key: str) -> str:
    """The short name and programme, as the app labels an indicator ("MMR1 24m [immunisation]")."""
    ind = get_indicator(key)
    return f"{ind.short_name} [{ind.programme}]"


@dataclass(frozen=True)
class AreaProfile:
    """One area's profile; ``indicators`` has one row per indicator with data there."""

    area_code: str
    area_name: str
    geography: str
    indicators: pd.DataFrame
    deprivation: pd.DataFrame = field(default_factory=pd.DataFrame)
    practices: pd.DataFrame = field(default_factory=pd.DataFrame)
    catchments: str = "unknown"
    caveat: str | None = None
    source: str = ""

    def table(self) -> pd.DataFrame:
        """The table the Map explorer shows (its column headers)."""
        f = self.indicators
        if f.empty:
            return pd.DataFrame()
        return pd.DataFrame({
            "indicator": f["indicator_label"], "period": f["period"], "age": f["age"], "value %": f["value"],
            "95% CI": [note if isinstance(note, str) and note else f"{lo:.1f}-{hi:.1f}"
                       for lo, hi, note in zip(f["lower_ci_95"], f["upper_ci_95"], f["value_note"], strict=True)],
            "benchmark %": f["benchmark_value"], "vs benchmark": f["vs_benchmark"],
            "standard": f["standard_band"], "people to reach": f["people_to_reach"],
            "flagged": f["flagged"], "why": f["reasons"],
            "recent trend": [_trend_text(tr, n) for tr, n in zip(f["trend"], f["trend_points"], strict=True)],
        })

    def out_of_date_labels(self) -> list[str]:
        """Labels of the indicators whose figure is out of date here (for a warning)."""
        f = self.indicators
        if f.empty:
            return []
        return f.loc[f["age"].fillna("") != "", "indicator_label"].tolist()

    def deprivation_line(self) -> str:
        """"IMD 2019 decile **3** · IMD 2025 decile **2**" (Markdown), empty when not an LSOA."""
        d = self.deprivation
        if d.empty:
            return ""
        return " · ".join(f"IMD {int(e)} decile **{int(x)}**" for e, x in zip(d["edition"], d["imd_decile"], strict=True)
                          if pd.notna(x))

    def practices_line(self) -> str:
        """The practices serving an LSOA with their shares of its registered residents."""
        if self.practices.empty:
            return ""
        return ("Practices serving it (share of its registered residents, "
                f"{self.catchments} catchments): " + "; ".join(
                    f"{n} {s:.0%}" for n, s in zip(self.practices["practice_name"], self.practices["share"], strict=True)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (``hiexplore profile --json``): missing figures are null."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
            return [{k: (v.isoformat()[:10] if hasattr(v, "isoformat") else v.item() if hasattr(v, "item") else v)
                     for k, v in r.items()} for r in out]

        return {
            "area_code": self.area_code, "area_name": self.area_name, "geography": self.geography,
            "catchments": self.catchments, "caveat": self.caveat, "source": self.source,
            "indicators": records(self.indicators), "deprivation": records(self.deprivation),
            "practices": records(self.practices),
        }

    def text(self) -> str:
        """Printable lines for ``hiexplore profile``."""
        lines = [f"Profile of {self.area_name} ({self.area_code}), {self.geography}"]
        if self.caveat:
            lines.append(self.caveat)
        if self.deprivation_line():
            lines.append(self.deprivation_line().replace("**", ""))
        if self.practices_line():
            lines.append(self.practices_line())
        if self.indicators.empty:
            lines.append("No indicator has figures for this area.")
        for _, r in self.indicators.iterrows():
            value = "no figure" if pd.isna(r["value"]) else f"{r['value']:.1f}% ({r['lower_ci_95']:.1f}-{r['upper_ci_95']:.1f})"
            reach = "n/a" if pd.isna(r["people_to_reach"]) else f"{r['people_to_reach']:,.0f}"
            if isinstance(r["value_note"], str) and r["value_note"]:
                value = r["value_note"]
            age = f" ({r['age']})" if r["age"] else ""
            lines.append(
                f"- {r['indicator_label']}, {r['period']}{age}: {value}; benchmark {r['benchmark_value']:.1f}% "
                f"({r['vs_benchmark']}); standard {r['standard_band']}; people to reach {reach}; "
                f"{'FLAGGED' if r['flagged'] else 'not flagged'}: {r['reasons']} "
                f"Recent trend: {_trend_text(r['trend'], r['trend_points'])}."
            )
        lines.append(self.source)
        return "\n".join(lines)


def _trend_text(trend: object, points: object) -> str:
    """"decreasing (5 points)"; "not enough points (3 of 5)"; "not assessed" where absent."""
    if trend is None or (isinstance(trend, float) and pd.isna(trend)):
        return "not assessed"
    n = None if points is None or pd.isna(points) else int(points)
    if trend == "not enough points":
        return f"not enough points ({n} of 5)" if n is not None else str(trend)
    return f"{trend} ({n} points)" if n is not None else str(trend)


_PROFILE_COLUMNS = ["indicator", "indicator_label", "period", "value", "lower_ci_95", "upper_ci_95", "benchmark_value",
                    "vs_benchmark", "standard_band", "people_to_reach", "flagged", "reasons", "estimate_note",
                    "period_end", "out_of_date", "value_note", "age", "trend", "trend_points"]


def area_geography(ds: Dataset, area: str) -> str:
    """The geography of an area code in this dataset (an area's type, or "practice")."""
    hit = ds.areas.loc[ds.areas["area_code"] == area, "area_type"]
    hit = [t for t in hit if t in PROFILE_GEOGRAPHIES]
    if hit:
        return str(hit[0])
    if (ds.practices["practice_code"] == area).any():
        return "practice"
    examples = ds.areas.drop_duplicates("area_type")["area_code"].tolist()[:6]
    raise RequestError(f"Area {area!r} is not in dataset {ds.name}.", valid=examples + ["... (see hiexplore info)"])


def area_profile(
    ds: Dataset,
    area: str,
    geography: str | None = None,
    *,
    flags_for: Callable[[str], pd.DataFrame] | None = None,
) -> AreaProfile:
    """The profile of ``area`` (see the module doc); ``geography`` defaults to the area's own.

    ``flags_for(indicator)`` returns the flags frame of an indicator at ``geography`` (the app
    passes its cached frames); by default, quick flags (no clusters, no expected model) of the
    latest period. An indicator whose flags cannot be computed here is left out.
    """
    geography = geography or area_geography(ds, area)
    if geography not in PROFILE_GEOGRAPHIES:
        raise RequestError(f"Unknown geography {geography!r} for a profile.", valid=list(PROFILE_GEOGRAPHIES))
    if flags_for is None:
        from .flags import compute_flags

        def flags_for(key: str) -> pd.DataFrame:
            return compute_flags(ds, key, geography, with_clusters=False, with_expected=False)

    rows = []
    for key in ds.indicator_keys():
        try:
            f = flags_for(key)
        except HiexploreError:
            continue
        r = f[f["area_code"] == area]
        if r.empty:
            continue
        row = r.iloc[0].to_dict()
        row["indicator"] = key
        row["indicator_label"] = indicator_label(key)
        stale = row.get("out_of_date")
        # "out of date (period ...)" where the figure ended long before the dataset's newest
        row["age"] = f.attrs.get("age_mark", "") if stale is not None and pd.notna(stale) and bool(stale) else ""
        rows.append({c: row.get(c) for c in _PROFILE_COLUMNS})
    indicators = pd.DataFrame(rows, columns=_PROFILE_COLUMNS)
    if geography == "practice":
        names = ds.practices.drop_duplicates("practice_code").set_index("practice_code")["practice_name"]
    else:
        names = ds.areas[ds.areas["area_type"] == geography].drop_duplicates("area_code").set_index("area_code")["area_name"]
    deprivation = pd.DataFrame()
    practices = pd.DataFrame()
    if geography == "lsoa":
        dep = ds.deprivation[ds.deprivation["lsoa_code"] == area]
        cols = [c for c in ("edition", "imd_decile", "imd_rank", "imd_score") if c in dep]
        deprivation = dep[cols].sort_values("edition").reset_index(drop=True)
        reg = ds.registrations[(ds.registrations["lsoa_code"] == area) & ds.registrations["in_area"]]
        if len(reg):
            share = reg.groupby("practice_code")["patients"].sum().sort_values(ascending=False)
            share = (share / share.sum()).head(TOP_PRACTICES)
            pnames = ds.practices.set_index("practice_code")["practice_name"]
            practices = pd.DataFrame({
                "practice_code": share.index.astype(str),
                "practice_name": [pnames.get(p, p) for p in share.index],
                "share": share.to_numpy(float),
            })
    return AreaProfile(
        area_code=area, area_name=str(names.get(area, area)), geography=geography, indicators=indicators,
        deprivation=deprivation, practices=practices, catchments=ds.catchment_source,
        caveat=caveat_note(ds, geography), source=ds.provenance_line(),
    )
