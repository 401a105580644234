"""What the Targets page shows for a choice: its default indicators, the filtered list, the map's words.

The page (``pages/targets.py``) and the server's warm-up (``app_support/targets_cache.py``) both
call these, so that the map and files the warm-up makes for the default choice are exactly the
ones a first visitor's page asks for (same rows, same title, same cache keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import Dataset

__all__ = [
    "DEFAULT_INDICATORS",
    "DEFAULT_GEOGRAPHY",
    "DEFAULT_TOP",
    "default_indicators",
    "select_targets",
    "target_file_stem",
    "TargetsMapText",
    "targets_map_text",
]

#: the page's first choice: one immunisation and one screening programme, by LSOA, top 50
DEFAULT_INDICATORS = ("mmr1_24m", "cervical_screening_25_49")
DEFAULT_GEOGRAPHY = "lsoa"
DEFAULT_TOP = 50


def default_indicators(ds: Dataset) -> list[str]:
    """The indicators the page opens on: :data:`DEFAULT_INDICATORS` the dataset has, else its first."""
    keys = ds.indicator_keys()
    return [k for k in DEFAULT_INDICATORS if k in keys] or keys[:1]


def select_targets(ds: Dataset, targets: pd.DataFrame, geography: str, *, lads: Iterable[str] = (),
                   pcns: Iterable[str] = (), deciles: Iterable[str] = (), core20: bool = False,
                   min_reach: int = 0, top: int = DEFAULT_TOP) -> pd.DataFrame:
    """The flagged rows of ``targets`` (ranked, :func:`hiexplore.flags.rank_targets`) that pass the
    page's filters, best first, at most ``top``.

    ``lads``: local authority codes (neighbourhood geographies); ``pcns``: PCN codes (practice
    and PCN geographies); ``deciles``: IMD deciles as text ("1".."10"); ``core20``: the most
    deprived 20% only; ``min_reach``: at least this many people to reach.
    """
    lads, pcns, deciles = list(lads), list(pcns), list(deciles)
    lk = ds.lookup
    keep = np.array(targets["flagged"].fillna(False), dtype=bool)  # one mask, one take at the end:
    codes = targets["area_code"]  # a national list has 33,755 rows, the page shows 50
    if lads:
        col = f"{geography}_code"
        keep &= codes.isin(set(lk.loc[lk["lad_code"].isin(lads), col]) if col in lk else set()).to_numpy()
    if pcns:
        if geography == "pcn":
            keep &= codes.isin(pcns).to_numpy()
        else:
            keep &= codes.isin(ds.practices.loc[ds.practices["pcn_code"].isin(pcns), "practice_code"]).to_numpy()
    if deciles:
        keep &= targets["imd_decile"].astype("Int64").astype(str).isin(deciles).to_numpy()
    if core20:
        keep &= targets["core20"].fillna(False).astype(bool).to_numpy()
    keep &= (targets["people_to_reach"] >= min_reach).fillna(False).to_numpy(dtype=bool)
    out = targets.iloc[np.flatnonzero(keep)[:max(int(top), 0)]].copy()
    out.attrs = dict(targets.attrs)
    return out


def target_file_stem(geography: str, indicators: Sequence[str]) -> str:
    """The downloads' file name without extension (at most 80 characters)."""
    return f"targets_{geography}_{'_'.join(indicators)}"[:80]


@dataclass(frozen=True)
class TargetsMapText:
    """The words of the targets map: title, source line, caveat note and its frame's name."""

    title: str
    source: str
    note: str | None
    label: str


def targets_map_text(ds: Dataset, targets: pd.DataFrame, indicators: Sequence[str], geography: str,
                     shown: int, geography_label: str | None = None) -> TargetsMapText:
    """Title (programmes and, when old, the age mark), source line (the indicators' files and the
    boundaries), the modelled/synthetic/partial caveat and the frame's accessible name for
    ``shown`` target areas (``geography_label``: the page's word for the geography)."""
    from .catalogue import get_indicator
    from .charts import source_line
    from .mapping import caveat_note

    periods = [v["period"] for v in targets.attrs.get("periods", {}).values()]
    age = targets.attrs.get("age_mark")
    title = ("Target areas by people to reach: " + ", ".join(get_indicator(k).short_name for k in indicators)
             + (f" · {age}" if age else ""))
    return TargetsMapText(
        title=title,
        source=source_line(ds, list(indicators), geography=geography, periods=periods, kinds=("boundaries",)),
        note=caveat_note(ds, geography),
        label=(f"Map of the {shown} target areas by {geography_label or geography}, "
               "shaded by people to reach: the table below it lists the same areas"),
    )
