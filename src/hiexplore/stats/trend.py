r"""Recent trend of a proportion: the chi-squared test for trend (Fingertips' "Recent trend").

OHID Fingertips marks each indicator's *recent trend* from its five most recent data points:
for proportions, the chi-squared test for trend in proportions (Cochran-Armitage), judged at the
99.9% level; the result reads "increasing", "decreasing" or "no significant change", and a
series with fewer than five usable points gets no trend ("not enough points" here).

Notes
-----
With numerators :math:`x_i` of denominators :math:`n_i` at period scores :math:`s_i`
(consecutive periods one apart), :math:`f_i = x_i / n_i`, the pooled proportion
:math:`p = \sum x_i / \sum n_i` and weights :math:`w_i = n_i / (p(1 - p))`, the statistic is
the weighted regression sum of squares of :math:`f` on :math:`s`:

.. math::

    \chi^2 = \frac{\left[\sum_i n_i (s_i - \bar s)(f_i - p)\right]^2}
                  {p (1 - p) \sum_i n_i (s_i - \bar s)^2},
    \qquad \bar s = \frac{\sum_i n_i s_i}{\sum_i n_i}

on 1 degree of freedom; the direction is the sign of the slope (the bracketed sum). This is
R's ``stats::prop.trend.test`` (Armitage 1955), whose documented example gives
:math:`\chi^2 = 8.2249`, p = 0.004132 (checked in ``tests/test_trends.py``):

>>> r = proportion_trend([83, 90, 129, 70], [86, 93, 136, 82], ["2021", "2022", "2023", "2024"], min_points=4)
>>> round(r.chi2, 4), round(r.p, 6), r.label
(8.2249, 0.004132, 'no significant change')

(significant at 1% but not at Fingertips' 0.1%.) A series whose proportions are all 0 or all 1
has no variation to test (:math:`p(1-p) = 0`): "no significant change", chi2 0, p 1.

Definition: OHID, *Fingertips: Public Health Profiles, technical guidance, "Recent trends"*
(https://fingertips.phe.org.uk/profile/guidance): the recent trend is calculated from the five
most recent data points; proportions use the chi-squared test for trend; significance at the
99.9% level (:data:`TREND_ALPHA` = 0.001). Armitage P (1955) Tests for linear trends in
proportions and frequencies. Biometrics 11:375-386.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ..periods import period_kind, period_score

__all__ = [
    "TREND_ALPHA",
    "TREND_POINTS",
    "TREND_LABELS",
    "TREND_METHOD",
    "TrendResult",
    "proportion_trend",
    "trend_test",
]

#: Fingertips judges a recent trend significant at the 99.9% level
TREND_ALPHA = 0.001
#: Fingertips' recent trend uses the five most recent data points
TREND_POINTS = 5
INCREASING, DECREASING, NO_CHANGE, NOT_ENOUGH = (
    "increasing", "decreasing", "no significant change", "not enough points")
TREND_LABELS = (INCREASING, DECREASING, NO_CHANGE, NOT_ENOUGH)
TREND_METHOD = ("chi-squared test for trend in proportions (Cochran-Armitage) over the 5 most recent "
                "periods of the same kind, 99.9% level (OHID Fingertips 'Recent trends')")


@dataclass(frozen=True)
class TrendResult:
    """One series' recent trend: label, usable points, chi-squared, p-value, slope and periods."""

    label: str
    points: int
    chi2: float
    p: float
    slope: float
    periods: tuple[str, ...]
    alpha: float = TREND_ALPHA


def trend_test(
    numerators: ArrayLike,
    denominators: ArrayLike,
    scores: ArrayLike,
    *,
    alpha: float = TREND_ALPHA,
    min_points: int = TREND_POINTS,
) -> tuple[NDArray[np.object_], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The test on many series at once: rows are series, columns their periods (same for all).

    ``numerators`` and ``denominators`` are (series x periods) arrays, ``scores`` the periods'
    scores (one per column). A point is usable where both counts are finite, the denominator is
    above 0 and 0 <= numerator <= denominator; a series with fewer than ``min_points`` usable
    points is "not enough points" (chi2 and p NaN). Returns (label, points, chi2, p, slope).
    """
    x = np.atleast_2d(np.asarray(numerators, dtype=float))
    n = np.atleast_2d(np.asarray(denominators, dtype=float))
    s = np.broadcast_to(np.asarray(scores, dtype=float), x.shape)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0) & (x <= n)
    points = ok.sum(axis=1).astype(np.int64)
    x0, n0 = np.where(ok, x, 0.0), np.where(ok, n, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = n0.sum(axis=1)
        p = x0.sum(axis=1) / total
        sbar = (n0 * s).sum(axis=1) / total
        ds = np.where(ok, s - sbar[:, None], 0.0)
        f = np.where(ok, x / n, 0.0)
        sxy = (n0 * ds * (f - p[:, None])).sum(axis=1)
        sxx = (n0 * ds**2).sum(axis=1)
        var = p * (1 - p)
        chi2 = np.where(var > 0, sxy**2 / (var * sxx), 0.0)
    enough = points >= min_points
    chi2 = np.where(enough, chi2, np.nan)
    pval = np.where(enough, stats.chi2.sf(np.nan_to_num(chi2), 1), np.nan)
    slope = np.where(enough & (sxx > 0), sxy / np.where(sxx > 0, sxx, 1.0), np.nan)
    label = np.where(~enough, NOT_ENOUGH,
                     np.where(pval < alpha, np.where(slope > 0, INCREASING, DECREASING), NO_CHANGE))
    return label.astype(object), points, chi2, pval, slope


def proportion_trend(
    numerators: Sequence[float] | ArrayLike,
    denominators: Sequence[float] | ArrayLike,
    periods: Sequence[str],
    *,
    alpha: float = TREND_ALPHA,
    last: int = TREND_POINTS,
    min_points: int | None = None,
) -> TrendResult:
    """Recent trend of one series (see the module doc for the method and its source).

    Only periods of the same kind as the most recent one count (quarters with quarters, years
    with years: :func:`hiexplore.periods.period_kind`); of those, the ``last`` (5) most recent
    are tested, scored by their position in time (so a missing quarter leaves a gap). Points
    with a missing or zero denominator are not usable; fewer than ``min_points`` (default
    ``last``) usable points give "not enough points".

    >>> proportion_trend([900, 880, 850, 800, 750], [1000] * 5,
    ...                  ["2023/24 Q1", "2023/24 Q2", "2023/24 Q3", "2023/24 Q4", "2024/25 Q1"]).label
    'decreasing'
    """
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    labels = [str(p) for p in periods]
    if not (len(x) == len(n) == len(labels)):
        raise ValueError(f"numerators, denominators and periods differ in length: {len(x)}, {len(n)}, {len(labels)}")
    need = last if min_points is None else min_points
    scores = np.array([period_score(p) for p in labels], dtype=float)
    known = np.isfinite(scores)
    if not known.any():
        return TrendResult(NOT_ENOUGH, 0, float("nan"), float("nan"), float("nan"), ())
    newest = int(np.nanargmax(np.where(known, scores, -np.inf)))
    kind = period_kind(labels[newest])
    same = [i for i in range(len(labels)) if known[i] and period_kind(labels[i]) == kind]
    same = sorted(same, key=lambda i: scores[i])[-last:]
    label, points, chi2, pval, slope = trend_test(x[same][None, :], n[same][None, :], scores[same],
                                                  alpha=alpha, min_points=need)
    return TrendResult(str(label[0]), int(points[0]), float(chi2[0]), float(pval[0]), float(slope[0]),
                       tuple(labels[i] for i in same), alpha)
