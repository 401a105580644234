"""Statistics: intervals, benchmark comparison, funnel limits, SII/RII, expected uptake.

One statistic per module; every public name is re-exported here::

    intervals   proportion_ci, proportion_table, critical_z      (Wilson 1927; exact)
    compare     compare_with_benchmark, standard_band           (Fingertips RAG)
    funnel      funnel_limits, funnel_curve, funnel_significance,
                estimate_overdispersion                         (Spiegelhalter 2005)
    inequality  sii_rii, gradient_table, relative_ranks         (phe_sii; Low and Low 2004)
    expected    expected_uptake, vs_expected                    (scikit-learn)
    trend       proportion_trend, trend_test, TrendResult       (Fingertips recent trend;
                                                                 chi-squared test for trend)

Spatial statistics (weights, LISA, Gi*) are in :mod:`hiexplore.spatial`. scikit-learn is
imported only when :func:`expected_uptake` runs.
"""

from __future__ import annotations

from .compare import (
    POLARITIES,
    compare_proportion_with_benchmark,
    compare_with_benchmark,
    standard_band,
)
from .expected import ExpectedModel, expected_uptake, vs_expected
from .funnel import (
    FUNNEL_METHODS,
    Overdispersion,
    estimate_overdispersion,
    funnel_curve,
    funnel_limits,
    funnel_significance,
)
from .inequality import SIIResult, gradient_table, relative_ranks, sii_rii
from .intervals import CI_METHODS, critical_z, proportion_ci, proportion_table
from .trend import TREND_ALPHA, TREND_LABELS, TrendResult, proportion_trend, trend_test

__all__ = [
    # intervals
    "CI_METHODS",
    "critical_z",
    "proportion_ci",
    "proportion_table",
    # compare
    "POLARITIES",
    "compare_with_benchmark",
    "compare_proportion_with_benchmark",
    "standard_band",
    # funnel
    "FUNNEL_METHODS",
    "Overdispersion",
    "estimate_overdispersion",
    "funnel_limits",
    "funnel_curve",
    "funnel_significance",
    # inequality
    "SIIResult",
    "relative_ranks",
    "sii_rii",
    "gradient_table",
    # expected
    "ExpectedModel",
    "expected_uptake",
    "vs_expected",
    # trend
    "TREND_ALPHA",
    "TREND_LABELS",
    "TrendResult",
    "proportion_trend",
    "trend_test",
]
