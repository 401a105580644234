"""Proportion confidence intervals: the published Fingertips limits, scipy, edge cases, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import shared_path
from hiexplore.errors import RequestError
from hiexplore.stats.intervals import (
    CI_METHODS,
    check_confidence,
    confidence_label,
    critical_z,
    proportion_ci,
    proportion_table,
)

SMOKING = ("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
LIMITS = {
    0.95: ("Lower CI 95.0 limit", "Upper CI 95.0 limit"),
    0.998: ("Lower CI 99.8 limit", "Upper CI 99.8 limit"),
}


@pytest.fixture(scope="module")
def smoking() -> pd.DataFrame:
    return pd.read_csv(shared_path(*SMOKING))


@pytest.mark.shared
@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_reproduces_every_published_gp_limit(smoking: pd.DataFrame, confidence: float) -> None:
    """All 6,378 GP practices (2022/23), both levels, to the published precision.

    Fingertips publishes these limits rounded to 10 significant figures, i.e. to 8 decimal
    places for values of 10% and more: every recomputed limit is within half a unit of the
    8th decimal place (5e-9 percentage points) of the published one.
    """
    lo_col, hi_col = LIMITS[confidence]
    gp = smoking[smoking["Area Type"] == "GPs"].dropna(
        subset=["Count", "Denominator", lo_col, hi_col]
    )
    assert len(gp) == 6378
    lower, upper = proportion_ci(gp["Count"], gp["Denominator"], confidence)
    assert np.abs(lower - gp[lo_col].to_numpy()).max() < 5.001e-9
    assert np.abs(upper - gp[hi_col].to_numpy()).max() < 5.001e-9
    # the published value is the same proportion
    value = 100 * gp["Count"] / gp["Denominator"]
    assert np.abs(value - gp["Value"]).max() < 5.001e-9


@pytest.mark.shared
def test_reproduces_published_limits_with_non_integer_denominators(smoking: pd.DataFrame) -> None:
    """England, regions, PHE centres, counties and ONS groups (2013/14, 2014/15).

    Their denominators are non-integer (e.g. England 46,608,551.5) and are themselves
    published rounded to 3 decimal places, so the tolerance is 2e-8 percentage points.
    District and UA rows are left out: their published Count is rounded while the
    published value and limits use the unrounded count (value != 100 * Count / Denominator).
    """
    types = [
        "England",
        "Regions (statistical)",
        "PHE Centre",
        "County",
        "ONS 2011 group (superseded)",
        "ONS 2011 subgroup (superseded)",
    ]
    rows = smoking[smoking["Area Type"].isin(types)].dropna(
        subset=["Count", "Denominator", "Lower CI 95.0 limit"]
    )
    rows = rows[rows["Denominator"] % 1 != 0]
    assert len(rows) >= 100
    lower, upper = proportion_ci(rows["Count"], rows["Denominator"], 0.95)
    assert np.abs(lower - rows["Lower CI 95.0 limit"].to_numpy()).max() < 2e-8
    assert np.abs(upper - rows["Upper CI 95.0 limit"].to_numpy()).max() < 2e-8


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_and_exact_agree_with_scipy(confidence: float) -> None:
    counts = [(0, 10), (1, 10), (5, 10), (10, 10), (81, 263), (3, 1000), (999, 1000)]
    x = np.array([c[0] for c in counts])
    n = np.array([c[1] for c in counts])
    for method, scipy_method in [("wilson", "wilson"), ("exact", "exact")]:
        lower, upper = proportion_ci(x, n, confidence, method, multiplier=1)
        for i, (k, m) in enumerate(counts):
            ref = stats.binomtest(int(k), int(m)).proportion_ci(
                confidence_level=confidence, method=scipy_method
            )
            assert lower[i] == pytest.approx(ref.low, abs=1e-12)
            assert upper[i] == pytest.approx(ref.high, abs=1e-12)


def test_edges_and_missing() -> None:
    lower, upper = proportion_ci([0, 10, 5, np.nan, 3], [10, 10, 0, 10, np.nan])
    assert lower[0] == 0.0 and upper[0] > 0
    assert upper[1] == 100.0 and lower[1] < 100
    assert np.isnan(lower[2:]).all() and np.isnan(upper[2:]).all()


def test_non_integer_counts_and_series_input() -> None:
    x = pd.Series([12.5, 40.25], index=["A", "B"])
    lower, upper = proportion_ci(x, pd.Series([50.5, 80.0], index=["A", "B"]))
    assert isinstance(lower, np.ndarray) and lower.shape == (2,)
    assert (lower < 100 * x.to_numpy() / [50.5, 80.0]).all()


def test_confidence_percent_accepted_and_label() -> None:
    a = proportion_ci(30, 100, 0.998)
    b = proportion_ci(30, 100, 99.8)
    np.testing.assert_array_equal(a, b)
    assert confidence_label(0.998) == "99_8"
    assert check_confidence(95) == 0.95
    assert critical_z(0.95) == pytest.approx(1.959963984540054)


def test_table_carries_method_and_confidence() -> None:
    t = proportion_table(pd.Series([65, 82], index=["A1", "A2"]), [100, 100], 0.998)
    assert list(t.index) == ["A1", "A2"]
    assert set(t["confidence"]) == {"99.8%"}
    assert set(t["method"]) == {"Wilson"}
    assert set(t["statistic"]) == {"percentage"}
    assert proportion_table([1], [2], method="exact", multiplier=1)["statistic"].iloc[0] == (
        "proportion"
    )


@pytest.mark.parametrize(
    ("num", "den", "message"),
    [
        (
            [-1, 2],
            [10, 10],
            "numerators must be greater than or equal to zero; found -1 at position 0",
        ),
        (
            [11],
            [10],
            "numerators must be less than or equal to denominator for a proportion statistic; found 11 > 10 at position 0",
        ),
        ([1], [-5], "denominators must be greater than or equal to zero; found -5 at position 0"),
        (["a"], [10], "numerators and denominators must be numbers"),
    ],
)
def test_error_messages(num: list, den: list, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        proportion_ci(num, den)


def test_unknown_method_lists_valid_ones() -> None:
    with pytest.raises(RequestError) as info:
        proportion_ci(1, 2, method="agresti")
    assert "Unknown confidence interval method 'agresti'" in str(info.value)
    assert info.value.valid == sorted(CI_METHODS)


@pytest.mark.parametrize("bad", [0.2, 1.0, 100, -0.95, "high", float("nan")])
def test_bad_confidence(bad: object) -> None:
    with pytest.raises(RequestError, match="confidence should be"):
        proportion_ci(1, 2, confidence=bad)  # type: ignore[arg-type]
