"""Expected uptake (scikit-learn) and observed-vs-expected labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.errors import RequestError
from hiexplore.stats.expected import MIN_AREAS, MODELS, expected_uptake, vs_expected


def synthetic(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "imd_score": rng.uniform(5, 60, n),
            "pct_white": rng.uniform(20, 98, n),
            "noise": rng.normal(size=n),
            "denominator": rng.integers(50, 2000, n).astype(float),
        }
    )
    df["value"] = 85 - 0.25 * df["imd_score"] + 0.05 * df["pct_white"] + rng.normal(0, 1.5, n)
    return df


def test_ridge_recovers_a_linear_relation() -> None:
    df = synthetic()
    expected, s = expected_uptake(df, features=["imd_score", "pct_white", "noise"])
    assert s.model == "ridge" and s.n == 300 and s.cv == 5
    assert s.r2_cv > 0.85 and s.r2_in_sample >= s.r2_cv - 0.01
    assert expected.shape == (300,)
    # coefficients per SD of the feature: imd strongly negative, noise near zero
    sd = df[["imd_score", "pct_white", "noise"]].std(ddof=0)
    assert s.coefficients["imd_score"] == pytest.approx(-0.25 * sd["imd_score"], rel=0.1)
    assert abs(s.coefficients["noise"]) < 0.3
    assert s.notes == ()


def test_gbm_runs_and_is_seeded() -> None:
    df = synthetic(150)
    e1, s1 = expected_uptake(df, features=["imd_score", "pct_white"], model="gbm", cv=3, seed=2)
    e2, s2 = expected_uptake(df, features=["imd_score", "pct_white"], model="gbm", cv=3, seed=2)
    np.testing.assert_array_equal(e1, e2)
    assert s1 == s2
    assert s1.model == "gbm" and s1.r2_cv > 0.5 and s1.coefficients == {}


def test_weights_matter() -> None:
    """A single heavy area pulls the fit; equal weights do not."""
    df = synthetic(100)
    df.loc[0, ["value", "denominator"]] = [20.0, 1e7]
    weighted, _ = expected_uptake(df, features=["imd_score"])
    unweighted, _ = expected_uptake(df, weights=None, features=["imd_score"])
    assert abs(weighted[0] - 20) < abs(unweighted[0] - 20)


def test_missing_features_are_imputed_and_reported() -> None:
    df = synthetic()
    df.loc[[1, 2, 3], "pct_white"] = np.nan
    expected, s = expected_uptake(df, features=["imd_score", "pct_white"])
    assert s.imputed == {"pct_white": 3}
    assert "median" in s.notes[0] and "pct_white (3 areas)" in s.notes[0]
    assert np.isfinite(expected).all()


def test_rows_without_target_still_get_an_expected_value() -> None:
    df = synthetic()
    df.loc[[5, 6], "value"] = np.nan
    df.loc[7, "denominator"] = 0
    expected, s = expected_uptake(df, features=["imd_score"])
    assert s.n == 297
    assert np.isfinite(expected[[5, 6, 7]]).all()


def test_tiny_n_falls_back_to_weighted_mean() -> None:
    df = synthetic(MIN_AREAS - 1)
    expected, s = expected_uptake(df, features=["imd_score"])
    assert s.model == "weighted mean"
    assert np.isnan(s.r2_cv) and np.isnan(s.r2_in_sample)
    mean = np.average(df["value"], weights=df["denominator"])
    np.testing.assert_allclose(expected, mean)
    assert "No model fitted because only 19 areas have data" in s.notes[-1]


def test_all_missing_feature_falls_back() -> None:
    df = synthetic()
    df["empty"] = np.nan
    _, s = expected_uptake(df, features=["empty"])
    assert s.model == "weighted mean" and "['empty'] have no values" in s.notes[-1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "forest"}, "Unknown model 'forest'"),
        ({"features": None}, "name the characteristics"),
        ({"features": ["imd_rank"]}, "column\\(s\\) \\['imd_rank'\\] not found"),
        ({"features": ["label"]}, "must be numeric"),
        ({"cv": 1}, "at least 2"),
    ],
)
def test_errors(kwargs: dict, message: str) -> None:
    df = synthetic(40).assign(label="x")
    args = {"features": ["imd_score"]} | kwargs
    with pytest.raises(RequestError, match=message) as info:
        expected_uptake(df, **args)
    if kwargs.get("model") == "forest":
        assert info.value.valid == list(MODELS)
    if kwargs.get("features", 1) is None:
        assert "imd_score" in info.value.valid and "value" not in info.value.valid


def test_vs_expected() -> None:
    out = vs_expected(
        [60, 75, 90, np.nan, 70], [55, 70, 86, 1, 65], [65, 80, 94, 2, 75], [72, 72, 72, 72, 75]
    )
    assert out.tolist() == [
        "lower than expected",
        "as expected",
        "higher than expected",
        "no data",
        "as expected",
    ]


@pytest.mark.shared
def test_gp_smoking_explained_by_imd_score() -> None:
    """Real data: 2022/23 smoking prevalence of 6,378 practices against their IMD 2019
    score (Fingertips 93553). Deprivation explains about half of the variation."""
    smoking = pd.read_csv(
        shared_path("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
    )
    gp = smoking[(smoking["Area Type"] == "GPs") & (smoking["Time period"] == "2022/23")]
    imd = pd.read_csv(
        shared_path("fingertips_gp", "fingertips_93553_gp_imd_score_fingertipsR.csv"),
        encoding="utf-8-sig",
    )
    imd = imd[imd["Year"] == 2019].rename(columns={"AreaCode": "Area Code", "Value": "imd_score"})
    df = gp.merge(imd[["Area Code", "imd_score"]], on="Area Code", how="left")
    expected, s = expected_uptake(df, target="Value", weights="Denominator", features=["imd_score"])
    assert s.n == 6378 and s.imputed == {"imd_score": 19}
    assert 0.45 < s.r2_cv < 0.65
    assert s.coefficients["imd_score"] > 0
    labels = vs_expected(
        df["Value"], df["Lower CI 95.0 limit"], df["Upper CI 95.0 limit"], expected
    )
    assert set(labels) == {"lower than expected", "as expected", "higher than expected"}
