"""How old a figure is: the end date of a period label, and whether it is out of date.

Publishers label periods in their own ways (see :mod:`hiexplore.io.indicators`): COVER and
Fingertips quarters ("2023/24 Q1"), financial years ("2023/24"), calendar years ("2022", as
FingertipsNext's "Year"), multi-year ranges ("2018 - 20", "2016/17 - 18/19") and PHE cervical
"2017/18 Q3 (Dec 2017)" (a quarter and the month of the coverage date). :func:`period_end` turns
each into the last day it covers, so that figures of different ages shown side by side (cervical
screening from December 2017 beside MMR1 from 2024/25) can be told apart.

A figure is **out of date** when its period ended more than ``out_of_date_years`` (default
:data:`OUT_OF_DATE_YEARS`, 2) before the newest period in the dataset: the dataset's own
newest figure is the yardstick, not today's date, so a dataset is judged on what it holds.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd

__all__ = [
    "OUT_OF_DATE_YEARS",
    "FigureAge",
    "period_end",
    "newest_period_end",
    "is_out_of_date",
    "out_of_date_mark",
    "figure_age",
    "dataset_newest_end",
    "mixed_periods_note",
    "period_kind",
    "period_score",
]

#: a figure is out of date when its period ended more than this many years before the newest one
OUT_OF_DATE_YEARS = 2

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTH_YEAR = re.compile(rf"(?<![a-z]){_MONTH}\s*[-_ ]?\s*((?:19|20)\d\d)(?!\d)", re.I)
_FY_Q = re.compile(r"^((?:19|20)\d\d)\s*/\s*(\d\d)\s*q([1-4])$", re.I)
_FY = re.compile(r"^((?:19|20)\d\d)\s*/\s*(\d\d)$")
_FY_RANGE = re.compile(r"^(?:19|20)\d\d\s*/\s*\d\d\s*-\s*(\d\d)\s*/\s*(\d\d)$")
_YEAR = re.compile(r"^((?:19|20)\d\d)$")
_YEAR_RANGE = re.compile(r"^(?:19|20)\d\d\s*-\s*((?:19|20)?\d\d)$")
_Q_YEAR = re.compile(r"^((?:19|20)\d\d)\s*q([1-4])$", re.I)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _century(two_digits: str, near: int) -> int:
    """The four-digit year ending in ``two_digits`` that is closest after ``near``'s century."""
    year = near // 100 * 100 + int(two_digits)
    return year + 100 if year < near else year


def period_end(label: object) -> date | None:
    """The last day a period label covers; None where the label is not a form we know.

    Forms: a month and year anywhere in the label ("December 2017", "2017/18 Q3 (Dec 2017)":
    the month's last day, the publisher's own coverage date); a financial-year quarter
    ("2023/24 Q1": Q1 ends 30 June, Q4 ends 31 March of the second year); a financial year
    ("2023/24": 31 March 2024) or a range of them ("2016/17 - 18/19"); a calendar year
    ("2023": 31 December) or a range ("2018 - 20"); a calendar quarter ("2023 Q1").

    >>> [str(period_end(p)) for p in ("2023/24 Q1", "2024/25 Q4", "2023/24", "2023")]
    ['2023-06-30', '2025-03-31', '2024-03-31', '2023-12-31']
    >>> str(period_end("2017/18 Q3 (Dec 2017)")), str(period_end("December 2017"))
    ('2017-12-31', '2017-12-31')
    >>> period_end("latest") is None
    True
    """
    if label is None or (isinstance(label, float) and label != label):
        return None
    text = " ".join(str(label).split())
    if m := _MONTH_YEAR.search(text):
        return _month_end(int(m.group(2)), _MONTHS[m.group(1)[:3].lower()])
    if m := _FY_Q.match(text):
        start, quarter = int(m.group(1)), int(m.group(3))
        month = (3 + 3 * quarter - 1) % 12 + 1  # Q1 -> 6, Q2 -> 9, Q3 -> 12, Q4 -> 3
        return _month_end(start + (1 if quarter == 4 else 0), month)
    if m := _FY.match(text):
        return date(_century(m.group(2), int(m.group(1))), 3, 31)
    if m := _FY_RANGE.match(text):
        start = int(text[:4])
        return date(_century(m.group(2), start), 3, 31)
    if m := _YEAR.match(text):
        return date(int(m.group(1)), 12, 31)
    if m := _YEAR_RANGE.match(text):
        end = m.group(1)
        return date(int(end) if len(end) == 4 else _century(end, int(text[:4])), 12, 31)
    if m := _Q_YEAR.match(text):
        return _month_end(int(m.group(1)), 3 * int(m.group(2)))
    return None


def newest_period_end(periods: Iterable[object]) -> date | None:
    """The latest end date among ``periods`` (labels we cannot read are left out); None if none."""
    ends = [e for e in (period_end(p) for p in set(periods)) if e is not None]
    return max(ends) if ends else None


def is_out_of_date(end: date | None, newest: date | None, years: float = OUT_OF_DATE_YEARS) -> bool | None:
    """True where ``end`` is more than ``years`` years before ``newest``; None if either is unknown.

    ``years`` may be fractional; it is counted in whole months (0.5 = 6 months), calendar-wise.

    >>> is_out_of_date(date(2017, 12, 31), date(2025, 3, 31)), is_out_of_date(date(2023, 3, 31), date(2025, 3, 31))
    (True, False)
    """
    if end is None or newest is None:
        return None
    limit = pd.Timestamp(newest) - pd.DateOffset(months=round(float(years) * 12))  # whole months
    return bool(pd.Timestamp(end) < limit)


def out_of_date_mark(period: object) -> str:
    """The words every view and export puts beside an out-of-date figure.

    >>> out_of_date_mark("2017/18 Q3 (Dec 2017)")
    'out of date (period 2017/18 Q3 (Dec 2017))'
    """
    return f"out of date (period {period})"


@dataclass(frozen=True)
class FigureAge:
    """How old one indicator's figures are, against the newest period in the dataset."""

    period: str
    period_end: date | None
    out_of_date: bool | None
    newest_period_end: date | None
    out_of_date_years: float

    @property
    def mark(self) -> str:
        """"out of date (period ...)" when out of date; "" when not; a plain note when unknown."""
        if self.out_of_date:
            return out_of_date_mark(self.period)
        if self.out_of_date is None:
            return f"age unknown (period {self.period} not recognised)"
        return ""


def figure_age(ds: object, period: str, *, out_of_date_years: float = OUT_OF_DATE_YEARS) -> FigureAge:
    """:class:`FigureAge` of ``period`` in dataset ``ds`` (newest period over all its indicators)."""
    newest = dataset_newest_end(ds)
    end = period_end(period)
    return FigureAge(str(period), end, is_out_of_date(end, newest, out_of_date_years), newest, out_of_date_years)


def dataset_newest_end(ds: object) -> date | None:
    """The newest period end among all the dataset's indicator rows, once per loaded dataset."""
    from .dataset import derived

    ind: pd.DataFrame = ds.indicators  # type: ignore[attr-defined]
    return derived(ds, "_newest_period_cache", (id(ind), len(ind)),
                   lambda: newest_period_end(ind["period"].unique().tolist()), keep=1)


def mixed_periods_note(ages: dict[str, FigureAge]) -> str | None:
    """A sentence for a list that puts figures of different periods together; None if one period.

    ``ages`` maps a label (an indicator's name) to its :class:`FigureAge`.

    >>> a = FigureAge("2017/18 Q3 (Dec 2017)", date(2017, 12, 31), True, date(2025, 3, 31), 2)
    >>> b = FigureAge("2024/25 Q2", date(2024, 9, 30), False, date(2025, 3, 31), 2)
    >>> mixed_periods_note({"Cervical 25-49": a, "MMR1": b})
    'This list mixes periods: Cervical 25-49 2017/18 Q3 (Dec 2017), out of date (period 2017/18 Q3 (Dec 2017)); MMR1 2024/25 Q2.'
    """
    if len({a.period for a in ages.values()}) < 2:
        return None
    parts = [f"{label} {a.period}" + (f", {a.mark}" if a.mark else "") for label, a in ages.items()]
    return "This list mixes periods: " + "; ".join(parts) + "."


_QUARTER = re.compile(r"(?<![a-z0-9])q[1-4](?![0-9])", re.I)
#: months between consecutive periods of each kind (what :func:`period_score` counts in)
_KIND_MONTHS = {"quarter": 3, "month": 1, "financial year": 12, "calendar year": 12,
                "financial years range": 12, "calendar years range": 12}


def period_kind(label: object) -> str | None:
    """What kind of period a label is, so that trends compare like with like; None if unknown.

    "quarter" (financial or calendar: "2023/24 Q1", "2023 Q1", "2017/18 Q3 (Dec 2017)"),
    "month" ("December 2017"), "financial year" ("2023/24"), "calendar year" ("2023"),
    "financial years range" ("2016/17 - 18/19"), "calendar years range" ("2018 - 20").

    >>> [period_kind(p) for p in ("2023/24 Q1", "2023/24", "2023", "2018 - 20", "Dec 2017", "latest")]
    ['quarter', 'financial year', 'calendar year', 'calendar years range', 'month', None]
    """
    if label is None or (isinstance(label, float) and label != label):
        return None
    text = " ".join(str(label).split())
    if period_end(text) is None:
        return None
    if _QUARTER.search(text):
        return "quarter"
    if _MONTH_YEAR.search(text):
        return "month"
    if _FY.match(text):
        return "financial year"
    if _FY_RANGE.match(text):
        return "financial years range"
    if _YEAR.match(text):
        return "calendar year"
    if _YEAR_RANGE.match(text):
        return "calendar years range"
    return None


def period_score(label: object) -> float:
    """A period's position in time in units of its kind (consecutive quarters differ by 1); NaN if unknown.

    The score of a trend test (:mod:`hiexplore.stats.trend`): the end month counted in quarters
    for quarters, in years for years, so a missing period leaves a gap.

    >>> period_score("2024/25 Q1") - period_score("2023/24 Q4"), period_score("2024/25") - period_score("2022/23")
    (1.0, 2.0)
    """
    kind, end = period_kind(label), period_end(label)
    if kind is None or end is None:
        return float("nan")
    return (end.year * 12 + end.month - 1) / _KIND_MONTHS[kind]
