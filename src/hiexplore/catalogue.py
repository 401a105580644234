"""The indicator catalogue: every screening and immunisation indicator the readers can load.

Package data (``catalogue.json``), not per dataset. Each entry gives the key used everywhere in
hiexplore, the Fingertips indicator id where there is one, the eligible population, polarity and
the national standard(s) with their source document. Standards can change over time (bowel
screening's thresholds changed in April 2025): :func:`standard_for` picks the one in force for a
period.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .errors import RequestError

__all__ = ["Standard", "Indicator", "catalogue", "get_indicator", "standard_for", "INDICATOR_KEYS"]


@dataclass(frozen=True)
class Standard:
    """A national standard's thresholds (percent) and the document that sets them."""

    acceptable: float | None
    achievable: float | None
    source: str
    from_period: str | None = None


@dataclass(frozen=True)
class Indicator:
    key: str
    fingertips_id: int | None
    name: str
    short_name: str
    programme: str  # screening | immunisation | other
    eligible_population: str
    eligible_sex: str  # female | male | persons
    eligible_ages: tuple[int, int]
    unit: str
    polarity: str  # "higher is better" | "lower is better"
    standards: tuple[Standard, ...]
    reach_target: str | None  # which threshold "people to reach" counts towards
    load_with: str  # the file a user would load to fill it

    @property
    def higher_is_better(self) -> bool:
        return self.polarity.startswith("higher")


@cache
def catalogue() -> dict[str, Indicator]:
    """All indicators, keyed by their hiexplore key, in catalogue order."""
    raw = json.loads(resources.files("hiexplore").joinpath("catalogue.json").read_text("utf-8"))
    out: dict[str, Indicator] = {}
    for item in raw["indicators"]:
        standards = tuple(Standard(**s) for s in item["standards"])
        out[item["key"]] = Indicator(
            key=item["key"],
            fingertips_id=item["fingertips_id"],
            name=item["name"],
            short_name=item["short_name"],
            programme=item["programme"],
            eligible_population=item["eligible_population"],
            eligible_sex=item["eligible_sex"],
            eligible_ages=tuple(item["eligible_ages"]),
            unit=item["unit"],
            polarity=item["polarity"],
            standards=standards,
            reach_target=item["reach_target"],
            load_with=item["load_with"],
        )
    return out


INDICATOR_KEYS: tuple[str, ...] = tuple(catalogue())


def get_indicator(key: str) -> Indicator:
    """The catalogue entry for ``key``; an unknown key lists the valid ones."""
    cat = catalogue()
    if key not in cat:
        raise RequestError(f"Unknown indicator {key!r}.", valid=list(cat))
    return cat[key]


def _period_year(period: str) -> int | None:
    m = re.search(r"(19|20)\d\d", str(period))
    return int(m.group(0)) if m else None


def standard_for(key: str, period: str | None = None) -> Standard | None:
    """The standard in force for ``period`` (the latest whose ``from_period`` year is not after it).

    >>> standard_for("bowel_screening_60_74", "2025/26 Q1").acceptable
    62.0
    >>> standard_for("bowel_screening_60_74", "2023/24").acceptable
    55.0
    """
    ind = get_indicator(key)
    if not ind.standards:
        return None
    year = _period_year(period) if period else None
    chosen = ind.standards[0]
    for std in ind.standards:
        if std.from_period is None:
            continue
        start = _period_year(std.from_period)
        if year is None or (start is not None and year >= start):
            chosen = std
    return chosen
