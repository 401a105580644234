"""SII/RII (phe_sii method) and the gradient table, on published decile data and by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from conftest import shared_path
from hiexplore.errors import RequestError
from hiexplore.stats.inequality import (
    VALUE_TYPES,
    SIIResult,
    gradient_direction,
    gradient_table,
    relative_ranks,
    sii_rii,
)

SMOKING = ("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")

# The example data of PHEindicatormethods' phe_sii documentation (R/SII_function.R):
# two areas, deciles 1 (most deprived) to 10, life-expectancy-like values.
PHE_POP = [
    [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534],
    [21675, 20065, 19750, 24713, 20112, 19618, 22408, 19752, 18939, 19312],
]
PHE_VALUE = [
    [75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3],
    [70.5, 71.6, 72.5, 73.5, 73.1, 76.2, 78.7, 80.6, 80.9, 80],
]
PHE_LOWER = [
    [72.7, 75.3, 80.9, 80.2, 77.1, 78, 79, 81.4, 75.8, 83.2],
    [70.1, 71.1, 72, 73.1, 72.7, 75.7, 78.2, 80.1, 80.4, 79.5],
]
PHE_UPPER = [
    [79.1, 81.4, 86.8, 87.1, 83.8, 84.2, 84.4, 86.9, 85.4, 89.4],
    [71, 72.1, 73.2, 73.7, 75.8, 78.8, 79.8, 81.2, 81.3, 80.9],
]
PHE_SE = [
    [1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57],
    [0.23, 0.26, 0.3, 0.16, 0.79, 0.78, 0.4, 0.28, 0.23, 0.35],
]


def closed_form_sii(population, value) -> float:
    """Weighted least-squares slope written out (e.g. SEER HD*Calc):
    SII = sum p R (mu - mu_bar) / (sum p R^2 - (sum p R)^2)."""
    p = np.asarray(population, float) / np.sum(population)
    r = np.cumsum(p) - p / 2
    mu = np.asarray(value, float)
    mu_bar = np.sum(p * mu)
    return float(np.sum(p * r * (mu - mu_bar)) / (np.sum(p * r**2) - np.sum(p * r) ** 2))


@pytest.fixture(scope="module")
def deciles() -> pd.DataFrame:
    df = pd.read_csv(shared_path(*SMOKING))
    rows = df[
        (df["Time period"] == "2021/22")
        & (df["Area Type"] == "England")
        & df["Category Type"].str.startswith("District & UA deprivation deciles", na=False)
    ]
    assert len(rows) == 10
    assert rows["Category"].iloc[0].startswith("Most deprived decile")
    assert rows["Category"].iloc[-1].startswith("Least deprived decile")
    return rows.assign(imd_decile=np.arange(1, 11))


@pytest.mark.shared
def test_gradient_table_reproduces_published_deciles(deciles: pd.DataFrame) -> None:
    """England's smoking prevalence by IMD2019 decile (Fingertips, 2021/22): values and
    95% Wilson limits as published to 5 decimal places (within 5e-6 percentage points)."""
    shuffled = deciles.sample(frac=1, random_state=3)
    t = gradient_table(shuffled, numerator="Count", denominator="Denominator")
    assert t["group"].tolist() == list(range(1, 11))
    np.testing.assert_allclose(t["value"], deciles["Value"], rtol=0, atol=5e-6)
    np.testing.assert_allclose(t["lower_95"], deciles["Lower CI 95.0 limit"], rtol=0, atol=5e-6)
    np.testing.assert_allclose(t["upper_95"], deciles["Upper CI 95.0 limit"], rtol=0, atol=5e-6)
    assert t["population_share"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(t["relative_rank"], relative_ranks(deciles["Denominator"]))


@pytest.mark.shared
def test_sii_on_published_deciles(deciles: pd.DataFrame) -> None:
    """Smoking is higher in more deprived deciles, so the SII is negative (rank 0 = most
    deprived) and the RII below 1; the point SII is the weighted least-squares slope."""
    num, den = deciles["Count"].to_numpy(), deciles["Denominator"].to_numpy()
    r = sii_rii(den, numerator=num, seed=1)
    assert r.sii == pytest.approx(100 * closed_form_sii(den, num / den), rel=1e-12)
    assert r.sii == pytest.approx(-8.12, abs=0.005)
    assert r.sii_lower < r.sii < r.sii_upper < 0
    assert 0 < r.rii_lower < r.rii < r.rii_upper < 1
    assert r.intercept == pytest.approx(19.45, abs=0.005)
    assert r.rii == pytest.approx((r.intercept + r.sii) / r.intercept)
    assert r.direction.startswith("higher in more deprived groups")
    # on the logit scale the gradient is also negative and of similar size
    t = sii_rii(den, numerator=num, transform=True, seed=1)
    assert t.transform == "logit"
    assert t.sii_lower < t.sii < t.sii_upper < 0
    assert t.sii == pytest.approx(r.sii, abs=0.5)


@pytest.mark.parametrize("area", [0, 1])
def test_phe_sii_documentation_example(area: int) -> None:
    """phe_sii's example: SE given or CIs given "gives the same result". The point SII is
    the closed-form slope; the limits agree within phe_sii's own test tolerance (0.05)."""
    pop, val = PHE_POP[area], PHE_VALUE[area]
    by_ci = sii_rii(
        pop,
        value=val,
        lower_ci=PHE_LOWER[area],
        upper_ci=PHE_UPPER[area],
        value_type="other",
        reps=10_000,
    )
    by_se = sii_rii(pop, value=val, se=PHE_SE[area], value_type="other", reps=10_000)
    assert by_ci.sii == pytest.approx(closed_form_sii(pop, val), rel=1e-12)
    assert by_ci.sii == by_se.sii and by_ci.rii == by_se.rii
    for name in ("sii_lower", "sii_upper", "rii_lower", "rii_upper"):
        assert getattr(by_ci, name) == pytest.approx(getattr(by_se, name), abs=0.05)
    assert by_ci.multiplier == 1.0 and by_ci.sii > 0


def test_simulated_limits_match_the_normal_theory() -> None:
    """For value_type 'other' the slope is linear in the values, so its simulated
    distribution is exactly normal with sd = sqrt(sum h_j^2 se_j^2)."""
    pop, val, se = PHE_POP[0], PHE_VALUE[0], np.array(PHE_SE[0])
    a = np.asarray(pop, float) / np.sum(pop)
    x = np.column_stack([np.ones(10), relative_ranks(pop)])
    h = np.linalg.solve((x.T * a) @ x, x.T * a)[1]
    sd = np.sqrt(np.sum(h**2 * se**2))
    for confidence in (0.95, 0.998):
        r = sii_rii(pop, value=val, se=se, value_type="other", confidence=confidence, reps=100_000)
        half = stats.norm.ppf(0.5 + confidence / 2) * sd
        assert r.sii_lower == pytest.approx(r.sii - half, abs=0.02 * half)
        assert r.sii_upper == pytest.approx(r.sii + half, abs=0.02 * half)


def test_transform_by_hand() -> None:
    """Values exactly logit-linear in rank: logit(y) = -2 + 1.5 b. The transformed fit
    recovers the line, so SII = expit(-0.5) - expit(-2) and RII = expit(-0.5)/expit(-2)."""
    pop = [1000] * 5
    y = expit(-2 + 1.5 * relative_ranks(pop))
    r = sii_rii(pop, value=y, lower_ci=y * 0.9, upper_ci=y * 1.1, transform=True, reps=2000)
    assert r.sii == pytest.approx(100 * (expit(-0.5) - expit(-2)), rel=1e-12)
    assert r.rii == pytest.approx(expit(-0.5) / expit(-2), rel=1e-12)
    assert r.intercept == pytest.approx(100 * expit(-2), rel=1e-12)
    assert r.sii_lower < r.sii < r.sii_upper


def test_wilson_limits_used_when_only_counts_are_given() -> None:
    num, den = np.array([30, 25, 20, 18, 12]), np.array([100, 100, 100, 100, 100])
    auto = sii_rii(den, numerator=num, reps=5000, seed=4)
    from hiexplore.stats.intervals import proportion_ci

    lo, hi = proportion_ci(num, den, multiplier=1)
    given = sii_rii(den, numerator=num, lower_ci=lo, upper_ci=hi, reps=5000, seed=4)
    assert auto == given


def test_seeded_and_reproducible() -> None:
    kwargs = dict(value=PHE_VALUE[1], se=PHE_SE[1], value_type="other", reps=5000)
    a = sii_rii(PHE_POP[1], seed=7, **kwargs)
    b = sii_rii(PHE_POP[1], seed=7, **kwargs)
    c = sii_rii(PHE_POP[1], seed=8, **kwargs)
    assert a == b
    assert a.sii == c.sii and a.sii_lower != c.sii_lower


def test_result_frame() -> None:
    r = sii_rii(PHE_POP[0], value=PHE_VALUE[0], se=PHE_SE[0], value_type="other", reps=1000)
    assert isinstance(r, SIIResult)
    frame = r.to_frame()
    assert {"sii", "sii_lower_95", "sii_upper_95", "rii_lower_95", "method"} <= set(frame.columns)
    assert "simulation (1,000 reps)" in r.method


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"population": [1, 2, 3, 4]}, "between 5 and 100 groups"),
        ({"population": [0, 1, 1, 1, 1]}, "zero or negative population"),
        ({"value": [10, 20, 30, 40, 50]}, "strictly between 0 and 1"),
        ({"value_type": "ratio"}, "Unknown value_type 'ratio'"),
        ({"reps": 100}, "at least 1,000"),
        (
            {"value": [0.1, np.nan, 0.2, 0.2, 0.3]},
            "group 2 \\(counting from the most deprived\\) has none",
        ),
        ({"value_type": "other", "transform": True}, "transform needs value_type"),
        ({"transform": True}, "not se"),
        ({"se": None}, "give the 95% confidence limits"),
        ({"multiplier": -1}, "multiplier must be a positive number"),
    ],
)
def test_errors(kwargs: dict, message: str) -> None:
    args = {
        "population": [100] * 5,
        "value": [0.1, 0.2, 0.2, 0.3, 0.3],
        "se": [0.1] * 5,
    } | kwargs
    population = args.pop("population")
    with pytest.raises(RequestError, match=message):
        sii_rii(population, **args)


def test_value_type_registry_in_error() -> None:
    with pytest.raises(RequestError) as info:
        sii_rii([1] * 5, value=[1] * 5, se=[1] * 5, value_type="count")
    assert info.value.valid == list(VALUE_TYPES)


def test_gradient_table_errors() -> None:
    with pytest.raises(RequestError, match="column\\(s\\) \\['imd_quintile'\\] not found"):
        gradient_table(pd.DataFrame({"numerator": [1], "denominator": [2]}), by="imd_quintile")


# --- significance in words (issue 11, item 9)


def test_an_interval_spanning_zero_is_no_significant_gradient() -> None:
    """SII 3.0, 95% CI -0.3 to 6.4 (MMR1 at 24 months by LSOA decile in LLR) is not a gradient."""
    words = gradient_direction(3.0, -0.3, 6.4, 0.996, 1.072)
    assert words.startswith("no significant gradient")
    assert "-0.3 to 6.4" in words and "includes 0" in words
    assert "higher in" not in words


def test_significant_gradients_say_which_way() -> None:
    up = gradient_direction(16.4, 15.6, 17.1, 1.256, 1.284)
    down = gradient_direction(-4.0, -4.2, -3.8, 0.720, 0.746)
    assert up.startswith("higher in less deprived groups")
    assert down.startswith("higher in more deprived groups")


def test_an_rii_interval_spanning_one_is_no_significant_gradient() -> None:
    words = gradient_direction(2.0, 0.1, 3.9, 0.99, 1.05, confidence=0.998)
    assert words.startswith("no significant gradient") and "99.8% CI of the RII" in words
    assert gradient_direction(float("nan"), float("nan"), float("nan")).startswith("no significant gradient")


def test_sii_rii_flags_significance_from_its_own_interval() -> None:
    """A flat gradient with wide intervals is not significant; a steep one with narrow ones is."""
    pop = [200] * 5
    flat = sii_rii(pop, numerator=[100, 104, 96, 102, 101], seed=1, reps=2000)
    assert flat.sii_lower < 0 < flat.sii_upper
    assert not flat.significant and flat.direction.startswith("no significant gradient")
    steep = sii_rii([20000] * 5, numerator=[10000, 11000, 12000, 13000, 14000], seed=1, reps=2000)
    assert steep.significant and steep.direction.startswith("higher in less deprived groups")
    falling = sii_rii([20000] * 5, numerator=[14000, 13000, 12000, 11000, 10000], seed=1, reps=2000)
    assert falling.significant and falling.direction.startswith("higher in more deprived groups")
    assert bool(falling.to_frame()["significant"].iloc[0]) is True
