"""Relations between outputs (hypothesis), the docstring examples, and the exported surface."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hiexplore.stats as hstats
from hiexplore.errors import RequestError
from hiexplore.stats import (
    compare_proportion_with_benchmark,
    funnel_curve,
    funnel_limits,
    proportion_ci,
    sii_rii,
    standard_band,
    vs_expected,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALLOWED = (RequestError, ValueError)

denominators = st.floats(min_value=1.0, max_value=1e7, allow_nan=False)
fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def counts(draw: st.DrawFn) -> tuple[float, float]:
    n = draw(st.one_of(st.integers(1, 10_000).map(float), denominators))
    x = draw(fractions) * n
    return min(x, n), n


# -- intervals ---------------------------------------------------------------------------


@SETTINGS
@given(counts(), st.sampled_from(["wilson", "exact"]), st.sampled_from([0.9, 0.95, 0.998]))
def test_interval_contains_the_value(xn: tuple[float, float], method: str, level: float) -> None:
    x, n = xn
    lower, upper = proportion_ci(x, n, level, method, multiplier=1)
    value = x / n
    assert 0.0 <= lower <= value + 1e-12
    assert value - 1e-12 <= upper <= 1.0


@SETTINGS
@given(counts(), st.sampled_from(["wilson", "exact"]))
def test_998_interval_contains_the_95_interval(xn: tuple[float, float], method: str) -> None:
    x, n = xn
    lo95, hi95 = proportion_ci(x, n, 0.95, method)
    lo998, hi998 = proportion_ci(x, n, 0.998, method)
    assert lo998 <= lo95 + 1e-9 and hi95 <= hi998 + 1e-9


@SETTINGS
@given(counts(), st.floats(0.0, 100.0))
def test_significant_at_998_implies_significant_at_95(
    xn: tuple[float, float], bench: float
) -> None:
    x, n = xn
    strict = compare_proportion_with_benchmark(x, n, bench, confidence=0.998).item()
    loose = compare_proportion_with_benchmark(x, n, bench, confidence=0.95).item()
    if strict != "Similar":
        assert loose == strict


# -- funnels -----------------------------------------------------------------------------


@SETTINGS
@given(
    st.floats(0.001, 0.999),
    hnp.arrays(np.float64, st.integers(2, 30), elements=st.floats(1.0, 1e6)),
)
def test_funnel_limits_narrow_as_the_denominator_grows(target: float, n: np.ndarray) -> None:
    n = np.sort(n)
    f = funnel_limits(n, target)
    for level in ("95", "99_8"):
        assert (np.diff(f[f"upper_{level}"]) <= 1e-9).all()
        assert (np.diff(f[f"lower_{level}"]) >= -1e-9).all()
        assert (f[f"lower_{level}"] <= f["target"] + 1e-9).all()
        assert (f[f"upper_{level}"] >= f["target"] - 1e-9).all()
    assert (f["lower_99_8"] <= f["lower_95"] + 1e-9).all()
    assert (f["upper_99_8"] >= f["upper_95"] - 1e-9).all()


@SETTINGS
@given(
    hnp.arrays(np.float64, st.integers(5, 40), elements=st.floats(0.05, 0.95)),
    st.integers(50, 5000),
    st.sampled_from(["multiplicative", "additive"]),
)
def test_overdispersed_limits_are_never_narrower(p: np.ndarray, n: int, how: str) -> None:
    den = np.full(p.size, float(n))
    x = np.round(p * den)
    plain = funnel_limits(den, numerators=x)
    wide = funnel_limits(den, numerators=x, overdispersion=how)
    assert (wide["upper_95"] >= plain["upper_95"] - 1e-9).all()
    assert (wide["lower_95"] <= plain["lower_95"] + 1e-9).all()


@SETTINGS
@given(st.floats(0.01, 0.99), st.floats(1.0, 100.0), st.floats(2.0, 1e4))
def test_funnel_curve_narrows(target: float, low: float, factor: float) -> None:
    curve = funnel_curve(target, min_denominator=low, max_denominator=low * factor, points=20)
    assert (np.diff(curve["upper_99_8"]) <= 1e-9).all()
    assert (np.diff(curve["lower_99_8"]) >= -1e-9).all()


# -- SII ---------------------------------------------------------------------------------


@st.composite
def gradients(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(5, 12))
    pop = draw(hnp.arrays(np.float64, k, elements=st.floats(100.0, 1e5)))
    value = draw(hnp.arrays(np.float64, k, elements=st.floats(0.02, 0.98)))
    return pop, value


@SETTINGS
@given(gradients(), st.booleans())
def test_sii_sign_flips_when_the_gradient_is_reversed(data, transform: bool) -> None:
    pop, value = data
    kwargs = dict(lower_ci=value * 0.9, upper_ci=np.minimum(value * 1.1, 0.99), reps=1000)
    forward = sii_rii(pop, value=value, transform=transform, **kwargs)
    rev = {k: v[::-1] if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    backward = sii_rii(pop[::-1], value=value[::-1], transform=transform, **rev)
    assert backward.sii == pytest.approx(-forward.sii, rel=1e-9, abs=1e-9)
    assert backward.rii == pytest.approx(1.0 / forward.rii, rel=1e-9)
    assert forward.sii_lower <= forward.sii_upper


# -- labels ------------------------------------------------------------------------------


@SETTINGS
@given(
    hnp.arrays(np.float64, 6, elements=st.floats(allow_nan=True, allow_infinity=False, width=32)),
    st.floats(0, 100),
    st.floats(0, 100),
)
def test_standard_band_is_total(values: np.ndarray, a: float, b: float) -> None:
    acc, ach = sorted((a, b))
    out = standard_band(values, acc, ach)
    assert set(out) <= {"achievable", "acceptable", "below acceptable", "no data"}
    assert (out == "no data").sum() == np.isnan(values).sum()


@SETTINGS
@given(st.floats(0, 100), st.floats(0, 10), st.floats(0, 100))
def test_vs_expected_is_consistent_with_the_interval(value: float, half: float, e: float) -> None:
    label = vs_expected(value, value - half, value + half, e).item()
    if value + half < e:
        assert label == "lower than expected"
    elif value - half > e:
        assert label == "higher than expected"
    else:
        assert label == "as expected"


# -- odd inputs raise only RequestError (or ValueError) ----------------------------------

odd_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**12),
    st.just(0),
)
odd_arrays = st.lists(odd_numbers, min_size=0, max_size=8)


@SETTINGS
@given(odd_arrays, odd_arrays, st.one_of(odd_numbers, st.text(max_size=3)), st.text(max_size=8))
def test_intervals_fail_cleanly(num, den, level, method) -> None:
    try:
        proportion_ci(num, den, level, method)
        proportion_ci(num, den)
    except ALLOWED:
        pass


@SETTINGS
@given(
    odd_arrays, odd_arrays, odd_numbers, st.sampled_from([None, "multiplicative", "additive", "x"])
)
def test_funnels_fail_cleanly(num, den, target, how) -> None:
    try:
        funnel_limits(den, target, numerators=num, overdispersion=how)
    except ALLOWED:
        pass


@SETTINGS
@given(
    odd_arrays,
    odd_arrays,
    odd_arrays,
    st.sampled_from(["proportion", "rate", "other", "?"]),
    st.booleans(),
)
def test_sii_fails_cleanly(pop, value, se, value_type, transform) -> None:
    try:
        sii_rii(pop, value=value, se=se, value_type=value_type, transform=transform, reps=1000)
    except ALLOWED:
        pass
    try:
        sii_rii(pop, numerator=value, value_type=value_type, reps=1000)
    except ALLOWED:
        pass


# -- docstring examples and exported surface ---------------------------------------------

MODULES = [
    "hiexplore.stats.intervals",
    "hiexplore.stats.compare",
    "hiexplore.stats.funnel",
    "hiexplore.stats.inequality",
    "hiexplore.stats.expected",
    "hiexplore.spatial",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_exported_surface() -> None:
    assert set(hstats.__all__) == {
        "CI_METHODS",
        "critical_z",
        "proportion_ci",
        "proportion_table",
        "POLARITIES",
        "compare_with_benchmark",
        "compare_proportion_with_benchmark",
        "standard_band",
        "FUNNEL_METHODS",
        "Overdispersion",
        "estimate_overdispersion",
        "funnel_limits",
        "funnel_curve",
        "funnel_significance",
        "SIIResult",
        "relative_ranks",
        "sii_rii",
        "gradient_table",
        "ExpectedModel",
        "expected_uptake",
        "vs_expected",
        "TREND_ALPHA",
        "TREND_LABELS",
        "TrendResult",
        "proportion_trend",
        "trend_test",
    }
    for name in hstats.__all__:
        assert getattr(hstats, name) is not None
    for name in MODULES:
        module = importlib.import_module(name)
        assert all(hasattr(module, n) for n in module.__all__)
