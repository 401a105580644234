"""Funnel limits: PHEindicatormethods' published test funnels, overdispersion by hand, properties."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hiexplore.errors import RequestError
from hiexplore.stats.funnel import (
    FUNNEL_METHODS,
    estimate_overdispersion,
    funnel_curve,
    funnel_limits,
    funnel_significance,
)

# PHEindicatormethods tests/testthat/testdata_funnel_prop_outputs.csv (commit 63894a99),
# the expected output of phe_funnels() for its PCT test data; limits in percent to 6 dp,
# capped at 0 and 100. Baseline (pooled mean) 80.642448%.
PHE_FUNNEL = """Population,Lower2s0025limit,Upper2s0025limit,Lower3s0001limit,Upper3s0001limit
1,3.204264,100,0,100
2,25.885383,100,0,100
3,35.933491,100,10.150815,100
5,46.011039,100,26.039864,100
10,56.154344,100,42.03259,100
16,61.282902,100,50.118675,100
18,62.390093,98.894803,51.864359,100
41,68.548635,92.73626,61.574398,99.710497
45,69.098645,92.186251,62.441586,98.843309
102,72.974925,88.309971,68.553233,92.731663
1008,78.203374,83.081521,76.796814,84.488082
9998,79.867989,81.416907,79.421375,81.863521
43036,80.269164,81.015732,80.053899,81.230996
110000,80.408963,80.875933,80.274317,81.010578
"""
PHE_BASELINE = 0.80642448

# testdata_funnel_prop_outputs_with_axis_variation.csv (commit 3352ce5d): the same data
# restricted to denominators < 31,000, limits to 8 dp, baseline 82.18033788%.
PHE_FUNNEL_AXIS = """Population,Lower2s0025limit,Upper2s0025limit,Lower3s0001limit,Upper3s0001limit
10000,81.43030244,82.93037332,80.99777342,83.36290233
12882,81.51950729,82.84116846,81.13842075,83.222255
19884,81.64843798,82.71223778,81.34170295,83.0189728
24705,81.70315005,82.6575257,81.42796628,82.93270948
33000,81.76745696,82.5932188,81.52935757,82.83131819
"""
PHE_BASELINE_AXIS = 0.8218033788

# testdata_funnel_prop_inputs.csv: PCTs with their published significance
# (phe_funnel_significance), a subset covering every label.
PHE_INPUTS = """area,numerator,denominator,significance
New Forest PCT,35078.4880000,41980,High (0.001)
Norwich PCT,24803.6256000,31824,Low (0.001)
South Gloucestershire PCT,50050.7443000,61921,Not significant
Kingston PCT,35795.6324000,45449,Low (0.001)
Central Derby PCT,24648.7596000,30521,Not significant
West Norfolk PCT,26789.2380000,33012,High (0.025)
North Tees PCT,36850.0492000,45449,High (0.025)
Mid-Hampshire PCT,34502.0685000,42485,High (0.025)
Sheffield West PCT,23910.2469000,29457,High (0.025)
Heywood and Middleton PCT,14493.3552000,17964,Not significant
North Devon PCT,30277.5312000,37828,Low (0.025)
East Devon PCT,21139.2936000,25992,High (0.025)
Mid Devon PCT,20759.6500000,25750,Not significant
North Norfolk PCT,18504.9982000,22739,High (0.025)
South Tyneside PCT,29709.0543000,36583,High (0.025)
Rowley Regis and Tipton PCT,13240.9172000,16477,Not significant
Bracknell Forest PCT,21306.0303000,26333,Not significant
"""
COLUMNS = ["lower_95", "upper_95", "lower_99_8", "upper_99_8"]


def _published(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_reproduces_phe_funnels_published_limits() -> None:
    """Within 1.5e-6 percentage points: 6-dp publication plus the 8-figure baseline."""
    ref = _published(PHE_FUNNEL)
    got = funnel_limits(ref["Population"], PHE_BASELINE)
    np.testing.assert_allclose(
        got[COLUMNS].to_numpy(), ref.iloc[:, 1:].to_numpy(), rtol=0, atol=1.5e-6
    )
    np.testing.assert_allclose(got["target"], 80.642448)


def test_reproduces_phe_funnels_axis_variation_limits() -> None:
    """Within 2e-8 percentage points (published to 8 dp, baseline to 8 dp)."""
    ref = _published(PHE_FUNNEL_AXIS)
    got = funnel_limits(ref["Population"], PHE_BASELINE_AXIS)
    np.testing.assert_allclose(
        got[COLUMNS].to_numpy(), ref.iloc[:, 1:].to_numpy(), rtol=0, atol=2e-8
    )


def test_reproduces_phe_funnel_significance_labels() -> None:
    ref = _published(PHE_INPUTS)
    labels = funnel_significance(ref["numerator"], ref["denominator"], PHE_BASELINE)
    assert labels.tolist() == ref["significance"].tolist()


def test_pooled_target_is_the_default() -> None:
    x, n = np.array([10, 30, 60]), np.array([100, 100, 200])
    f = funnel_limits(n, numerators=x)
    assert f["target"].iloc[0] == pytest.approx(100 * 100 / 400)
    with pytest.raises(RequestError, match="give a target proportion, or the numerators"):
        funnel_limits(n)


# -- overdispersion: a data set whose answer is worked out by hand ---------------------------
# Ten areas of 100 around 0.5 (s = 0.05) with z-scores -3 -2 -1 -0.5 0 0 0.5 1 2 3.
# Winsorising 10% in each tail (numpy linear quantiles: 10th percentile -2.1, 90th 2.1):
#   phi = (2.1^2 + 2^2 + 1 + 0.25 + 0 + 0 + 0.25 + 1 + 2^2 + 2.1^2) / 10 = 1.932
#   w_i = 1/0.05^2 = 400; sum w = 4000; sum w^2 / sum w = 400
#   tau2 = (10 * 1.932 - 9) / (4000 - 400) = 10.32 / 3600 = 0.0028666...
# Without winsorising: phi = (9 + 4 + 1 + 0.25) * 2 / 10 = 2.85.
Z = np.array([-3, -2, -1, -0.5, 0, 0, 0.5, 1, 2, 3])
HAND_X = 50 + 5 * Z
HAND_N = np.full(10, 100)


def test_overdispersion_by_hand() -> None:
    od = estimate_overdispersion(HAND_X, HAND_N)
    assert od.target == pytest.approx(0.5)
    assert od.phi == pytest.approx(1.932, abs=1e-12)
    assert od.tau2 == pytest.approx(10.32 / 3600, abs=1e-15)
    assert od.n_areas == 10
    assert od.chi2_p == pytest.approx(stats.chi2.sf(19.32, 9))
    assert estimate_overdispersion(HAND_X, HAND_N, winsorise=0).phi == pytest.approx(2.85)


def test_overdispersed_limits_by_hand() -> None:
    z95 = stats.norm.ppf(0.975)
    mult = funnel_limits(HAND_N, numerators=HAND_X, overdispersion="multiplicative")
    assert mult["upper_95"].iloc[0] == pytest.approx(100 * (0.5 + z95 * np.sqrt(1.932) * 0.05))
    assert mult["phi"].iloc[0] == pytest.approx(1.932)
    add = funnel_limits(HAND_N, numerators=HAND_X, overdispersion="additive")
    assert add["lower_95"].iloc[0] == pytest.approx(
        100 * (0.5 - z95 * np.sqrt(0.05**2 + 10.32 / 3600))
    )
    assert add["tau2"].iloc[0] == pytest.approx(10.32 / 3600)


def test_underdispersion_does_not_narrow_the_limits() -> None:
    x = np.array([50, 50, 51, 49, 50, 50])
    n = np.full(6, 100)
    plain = funnel_limits(n, 0.5)
    od = funnel_limits(n, 0.5, numerators=x, overdispersion="multiplicative")
    assert od["phi"].iloc[0] < 1
    np.testing.assert_allclose(od[COLUMNS], plain[COLUMNS])
    add = funnel_limits(n, 0.5, numerators=x, overdispersion="additive")
    assert add["tau2"].iloc[0] == 0.0
    np.testing.assert_allclose(add[COLUMNS], plain[COLUMNS])


def test_binomial_limits_by_brute_force() -> None:
    """Spiegelhalter's interpolated binomial quantile, checked at n = 20, theta = 0.3."""
    n, theta, p = 20, 0.3, 0.975
    cdf = stats.binom.cdf(np.arange(21), n, theta)
    r = int(np.argmax(cdf >= p))
    alpha = (cdf[r] - p) / (cdf[r] - cdf[r - 1])
    got = funnel_limits([n], theta, method="binomial", multiplier=1)
    assert got["upper_95"].iloc[0] == pytest.approx((r - alpha) / n)


def test_binomial_tends_to_normal() -> None:
    n = [1e6]
    b = funnel_limits(n, 0.3, method="binomial")
    g = funnel_limits(n, 0.3)
    np.testing.assert_allclose(b[COLUMNS], g[COLUMNS], atol=2e-3)


def test_curve_narrows_and_matches_point_limits() -> None:
    curve = funnel_curve(0.7, min_denominator=10, max_denominator=1e5, points=50)
    assert (np.diff(curve["upper_99_8"]) <= 0).all()
    assert (np.diff(curve["lower_99_8"]) >= 0).all()
    point = funnel_limits(curve["denominator"], 0.7)
    np.testing.assert_allclose(curve[COLUMNS], point[COLUMNS])
    od = estimate_overdispersion(HAND_X, HAND_N)
    wide = funnel_curve(0.5, max_denominator=1000, overdispersion=od)
    assert (wide["phi"] == od.phi).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "poisson"}, "Unknown method 'poisson'"),
        ({"overdispersion": "both"}, "Unknown overdispersion 'both'"),
        ({"overdispersion": "multiplicative"}, "give numerators as well"),
        (
            {"method": "binomial", "overdispersion": "additive", "numerators": [1, 2]},
            "additive overdispersion",
        ),
        ({"confidence": 0.2}, "confidence should be"),
    ],
)
def test_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        funnel_limits([10, 20], 0.5, **kwargs)


def test_method_registry_listed_in_error() -> None:
    with pytest.raises(RequestError) as info:
        funnel_limits([10], 0.5, method="exact")
    assert info.value.valid == list(FUNNEL_METHODS)


def test_input_errors() -> None:
    with pytest.raises(RequestError, match="denominators must be greater than zero"):
        funnel_limits([0, 10], 0.5)
    with pytest.raises(RequestError, match="strictly between 0 and 1"):
        funnel_limits([10], 50)
    with pytest.raises(RequestError, match="numerators must be less than or equal to denominator"):
        funnel_significance([11], [10])
    with pytest.raises(RequestError, match="whole-number denominators"):
        funnel_limits([10.5], 0.5, method="binomial")
