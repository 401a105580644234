"""Benchmark comparison (the published Fingertips column) and standard bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.errors import RequestError
from hiexplore.stats.compare import (
    POLARITIES,
    compare_proportion_with_benchmark,
    compare_with_benchmark,
    standard_band,
)

SMOKING = ("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
COMPARED = "Compared to England value or percentiles"


@pytest.fixture(scope="module")
def gp_2022() -> tuple[pd.DataFrame, float]:
    df = pd.read_csv(shared_path(*SMOKING))
    england = df[
        (df["Area Type"] == "England") & (df["Time period"] == "2022/23") & df["Category"].isna()
    ]["Value"]
    assert len(england) == 1
    gp = df[(df["Area Type"] == "GPs") & (df["Time period"] == "2022/23")]
    gp = gp.dropna(subset=[COMPARED])
    return gp, float(england.iloc[0])


@pytest.mark.shared
def test_reproduces_published_comparison_from_published_limits(gp_2022) -> None:
    """All 6,378 practices: 2,894 Better, 798 Similar, 2,686 Worse, matched exactly.

    Smoking prevalence is "lower is better"; the published comparison is at 95%.
    """
    gp, england = gp_2022
    assert england == pytest.approx(14.71089355)
    labels = compare_with_benchmark(
        gp["Lower CI 95.0 limit"], gp["Upper CI 95.0 limit"], england, polarity="lower is better"
    )
    assert len(gp) == 6378
    assert (labels == gp[COMPARED].to_numpy()).all()
    assert pd.Series(labels).value_counts().to_dict() == {
        "Better": 2894,
        "Worse": 2686,
        "Similar": 798,
    }


@pytest.mark.shared
def test_reproduces_published_comparison_from_counts_at_95_not_998(gp_2022) -> None:
    gp, england = gp_2022
    at_95 = compare_proportion_with_benchmark(
        gp["Count"], gp["Denominator"], england, confidence=0.95, polarity="lower is better"
    )
    assert (at_95 == gp[COMPARED].to_numpy()).all()
    at_998 = compare_proportion_with_benchmark(
        gp["Count"], gp["Denominator"], england, confidence=0.998, polarity="lower is better"
    )
    # the 99.8% comparison is more conservative: 502 practices become "Similar"
    differ = at_998 != gp[COMPARED].to_numpy()
    assert differ.sum() == 502
    assert set(at_998[differ]) == {"Similar"}


def test_polarity_wording() -> None:
    lower, upper = [1.0, 4.0, 7.0], [3.0, 6.0, 9.0]
    assert compare_with_benchmark(lower, upper, 5.0).tolist() == ["Worse", "Similar", "Better"]
    assert compare_with_benchmark(lower, upper, 5.0, polarity="lower is better").tolist() == [
        "Better",
        "Similar",
        "Worse",
    ]
    assert compare_with_benchmark(lower, upper, 5.0, polarity="no judgement").tolist() == [
        "Lower",
        "Similar",
        "Higher",
    ]


def test_touching_the_benchmark_is_similar_and_missing_is_not_compared() -> None:
    out = compare_with_benchmark(
        [5.0, np.nan, 1.0, 1.0], [6.0, 2.0, 5.0, 2.0], [5.0, 1.0, 5.0, np.nan]
    )
    assert out.tolist() == ["Similar", "Not compared", "Similar", "Not compared"]


def test_per_area_benchmarks_broadcast() -> None:
    out = compare_with_benchmark([1.0, 1.0], [2.0, 2.0], [0.5, 3.0])
    assert out.tolist() == ["Better", "Worse"]


def test_unknown_polarity_lists_valid_ones() -> None:
    with pytest.raises(RequestError) as info:
        compare_with_benchmark([1], [2], 3, polarity="up")
    assert info.value.valid == list(POLARITIES)


def test_standard_band() -> None:
    value = [85.0, 80.0, 79.9, 70.0, 69.9, np.nan]
    assert standard_band(value, 70, 80).tolist() == [
        "achievable",
        "achievable",
        "acceptable",
        "acceptable",
        "below acceptable",
        "no data",
    ]
    assert standard_band(value, 70).tolist() == [
        "acceptable",
        "acceptable",
        "acceptable",
        "acceptable",
        "below acceptable",
        "no data",
    ]
    # lower is better: e.g. a maximum waiting time
    assert standard_band([5.0, 9.0, 20.0], 10, 6, polarity="lower is better").tolist() == [
        "achievable",
        "acceptable",
        "below acceptable",
    ]


def test_standard_band_errors() -> None:
    with pytest.raises(RequestError, match="achievable standard must be at least as demanding"):
        standard_band([1.0], 80, 70)
    with pytest.raises(RequestError, match="Unknown polarity"):
        standard_band([1.0], 80, polarity="no judgement")
    with pytest.raises(RequestError, match="value must be numbers"):
        standard_band(["x"], 80)


def test_inputs_of_different_lengths_are_refused_naming_each_length() -> None:
    with pytest.raises(RequestError, match=r"^lower, upper and benchmark must have the same length \(or one "
                       r"benchmark\); got 2, 3 and 4 values\.$"):
        compare_with_benchmark([1, 2], [3, 4, 5], [1, 2, 3, 4])
    with pytest.raises(RequestError, match=r"^value, acceptable and achievable must have the same length \(or "
                       r"one standard\); got 3, 2 and 1 values\.$"):
        standard_band([1, 2, 3], [70, 80], None)
