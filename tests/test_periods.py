"""Issue 11 item 8: period labels to end dates, and the out-of-date rule (package level)."""

from __future__ import annotations

import doctest
from datetime import date

import pytest

from hiexplore import periods as P
from hiexplore.periods import (
    FigureAge,
    is_out_of_date,
    mixed_periods_note,
    newest_period_end,
    out_of_date_mark,
    period_end,
)


@pytest.mark.parametrize(
    ("label", "end"),
    [
        # COVER financial-year quarters: Q1 Apr-Jun ... Q4 Jan-Mar of the second year
        ("2023/24 Q1", date(2023, 6, 30)),
        ("2023/24 Q2", date(2023, 9, 30)),
        ("2023/24 Q3", date(2023, 12, 31)),
        ("2023/24 Q4", date(2024, 3, 31)),
        ("2024/25 Q2", date(2024, 9, 30)),
        # Fingertips financial years and ranges of them
        ("2023/24", date(2024, 3, 31)),
        ("1999/00", date(2000, 3, 31)),
        ("2016/17 - 18/19", date(2019, 3, 31)),
        # calendar years (FingertipsNext "Year") and ranges
        ("2023", date(2023, 12, 31)),
        ("2018 - 20", date(2020, 12, 31)),
        ("2023 Q1", date(2023, 3, 31)),
        # quarter-end months, alone or in PHE cervical's label
        ("December 2017", date(2017, 12, 31)),
        ("Dec 2017", date(2017, 12, 31)),
        ("2017/18 Q3 (Dec 2017)", date(2017, 12, 31)),
        ("March 2024", date(2024, 3, 31)),
        ("February 2024", date(2024, 2, 29)),
    ],
)
def test_period_end_reads_every_form_in_the_data(label: str, end: date) -> None:
    assert period_end(label) == end


@pytest.mark.parametrize("label", ["latest", "", None, float("nan"), "Q3", "2023/24 Q7"])
def test_period_end_unknown_forms_are_none(label: object) -> None:
    assert period_end(label) is None


def test_every_period_of_the_embedded_dataset_is_read(embedded_dataset) -> None:
    import pandas as pd

    labels = pd.read_parquet(embedded_dataset / "indicators.parquet", columns=["period"])["period"].unique()
    unread = [p for p in labels if period_end(p) is None]
    assert not unread
    assert newest_period_end(labels) == date(2025, 3, 31)  # COVER UTLA 2024/25 Q4


def test_out_of_date_is_more_than_the_named_years_before_the_newest() -> None:
    newest = date(2025, 3, 31)
    assert is_out_of_date(date(2017, 12, 31), newest) is True
    assert is_out_of_date(date(2023, 3, 31), newest) is False  # exactly 2 years: not more than
    assert is_out_of_date(date(2023, 3, 30), newest) is True
    assert is_out_of_date(date(2023, 3, 30), newest, years=3) is False
    assert is_out_of_date(date(2024, 9, 30), newest, years=0.5) is False
    assert is_out_of_date(date(2024, 9, 29), newest, years=0.5) is True
    assert is_out_of_date(None, newest) is None and is_out_of_date(date(2020, 1, 1), None) is None


def test_marks_and_mixed_period_note() -> None:
    assert out_of_date_mark("2017/18 Q3 (Dec 2017)") == "out of date (period 2017/18 Q3 (Dec 2017))"
    old = FigureAge("2017/18 Q3 (Dec 2017)", date(2017, 12, 31), True, date(2025, 3, 31), 2)
    new = FigureAge("2024/25 Q2", date(2024, 9, 30), False, date(2025, 3, 31), 2)
    assert old.mark == out_of_date_mark(old.period) and new.mark == ""
    note = mixed_periods_note({"Cervical": old, "MMR1": new})
    assert note is not None and note.startswith("This list mixes periods")
    assert "Cervical 2017/18 Q3 (Dec 2017), out of date (period 2017/18 Q3 (Dec 2017))" in note
    assert mixed_periods_note({"MMR1": new, "MMR2": new}) is None


def test_doctests() -> None:
    result = doctest.testmod(P)
    assert result.attempted >= 4 and result.failed == 0
