"""Funnel plot control limits for proportions, with optional overdispersion (Spiegelhalter 2005).

* :func:`funnel_limits` gives the limits at each area's denominator (a tidy frame);
* :func:`funnel_curve` gives them over a smooth grid of denominators, for drawing;
* :func:`funnel_significance` labels each area as PHEindicatormethods does
  ("High (0.001)", "Low (0.025)", "Not significant", ...);
* :func:`estimate_overdispersion` gives the winsorised multiplicative factor phi and the
  additive random-effects variance tau^2.

Methods (registry :data:`FUNNEL_METHODS`): ``"normal"`` (the score-test limits used by
OHID Fingertips and PHEindicatormethods ``phe_funnels``) and ``"binomial"`` (exact,
with Spiegelhalter's interpolation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ..errors import RequestError
from ..suppression import SUPPRESSED_BELOW, is_suppressed
from .intervals import check_confidence, confidence_label, critical_z

__all__ = [
    "FUNNEL_METHODS",
    "OVERDISPERSION_METHODS",
    "DEFAULT_LEVELS",
    "WINSORISE",
    "Overdispersion",
    "estimate_overdispersion",
    "funnel_limits",
    "funnel_curve",
    "funnel_significance",
    "FUNNEL_LEFT_OUT",
    "funnel_frame",
]

DEFAULT_LEVELS: tuple[float, ...] = (0.95, 0.998)
WINSORISE = 0.1
FUNNEL_METHODS = ("normal", "binomial")
OVERDISPERSION_METHODS = ("none", "multiplicative", "additive")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Overdispersion:
    """Overdispersion estimated from winsorised z-scores (Spiegelhalter 2005, section 5).

    Attributes
    ----------
    phi : float
        Multiplicative factor :math:`\\hat\\phi = \\frac1I\\sum z_{w,i}^2`.
    tau2 : float
        Additive between-area variance (proportion scale squared), 0 when
        :math:`I\\hat\\phi \\le I - 1`.
    n_areas : int
        Number of areas used (I).
    winsorise : float
        Fraction winsorised in each tail.
    target : float
        The target proportion the z-scores were taken around (0-1 scale).
    chi2_p : float
        P-value of :math:`I\\hat\\phi` against :math:`\\chi^2_{I-1}` (a guide to whether the
        data are overdispersed at all).
    """

    phi: float
    tau2: float
    n_areas: int
    winsorise: float
    target: float
    chi2_p: float


def _levels(confidence: float | tuple[float, ...] | list[float]) -> tuple[float, ...]:
    values = (confidence,) if np.isscalar(confidence) else tuple(confidence)  # type: ignore[arg-type]
    if not values:
        raise RequestError("give at least one confidence level, e.g. (0.95, 0.998).")
    return tuple(check_confidence(c) for c in values)


def _choice(name: str, value: str, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise RequestError(f"Unknown {name} {value!r}.", valid=list(valid))
    return value


def _denominators(denominators: ArrayLike) -> FloatArray:
    try:
        n = np.asarray(denominators, dtype=float)
    except (TypeError, ValueError):
        raise RequestError("denominators must be numbers.") from None
    if np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise RequestError("denominators must be greater than zero (and not missing).")
    return n


def _counts(numerators: ArrayLike, denominators: ArrayLike) -> tuple[FloatArray, FloatArray]:
    n = _denominators(denominators)
    try:
        x = np.asarray(numerators, dtype=float)
    except (TypeError, ValueError):
        raise RequestError("numerators must be numbers.") from None
    if x.shape != n.shape:
        raise RequestError(f"numerators and denominators differ in length ({x.size} and {n.size}).")
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        raise RequestError("numerators must be greater than or equal to zero (and not missing).")
    if np.any(x > n):
        raise RequestError(
            "numerators must be less than or equal to denominator for a proportion statistic."
        )
    return x, n


def _target(target: float | None, numerators: ArrayLike | None, denominators: ArrayLike) -> float:
    if target is None:
        if numerators is None:
            raise RequestError(
                "give a target proportion, or the numerators so that the pooled mean "
                "sum(numerators) / sum(denominators) can be used."
            )
        x, n = _counts(numerators, denominators)
        return float(x.sum() / n.sum())
    t = float(target)
    if not 0.0 < t < 1.0:
        raise RequestError(
            f"target must be a proportion strictly between 0 and 1 (0-1 scale), got {target!r}."
        )
    return t


def estimate_overdispersion(
    numerators: ArrayLike,
    denominators: ArrayLike,
    target: float | None = None,
    *,
    winsorise: float = WINSORISE,
) -> Overdispersion:
    r"""Winsorised overdispersion of proportions around a target (Spiegelhalter 2005).

    Notes
    -----
    For area :math:`i` with proportion :math:`y_i`, denominator :math:`n_i` and target
    :math:`\theta_0`: :math:`s_i = \sqrt{\theta_0(1-\theta_0)/n_i}` and
    :math:`z_i = (y_i - \theta_0)/s_i`. The z-scores below the ``winsorise`` quantile and
    above the ``1 - winsorise`` quantile are set to those quantiles (linear interpolation
    between order statistics, numpy's default), giving :math:`z_{w,i}`. Then

    .. math::

        \hat\phi = \frac1I\sum_i z_{w,i}^2, \qquad
        \hat\tau^2 = \max\left(0,\;
        \frac{I\hat\phi - (I-1)}{\sum_i w_i - \sum_i w_i^2 / \sum_i w_i}\right),
        \quad w_i = 1/s_i^2,

    the multiplicative factor and the DerSimonian-Laird-style additive variance of
    Spiegelhalter DJ (2005) Funnel plots for comparing institutional performance.
    Stat Med 24:1185-1202, section 5.

    Examples
    --------
    Ten areas of 100 with z-scores -3, -2, -1, -0.5, 0, 0, 0.5, 1, 2, 3 around 0.5:
    winsorising at 10% moves +/-3 to +/-2.1, so phi = (2(4.41 + 4 + 1 + 0.25))/10 = 1.932.

    >>> z = [-3, -2, -1, -0.5, 0, 0, 0.5, 1, 2, 3]
    >>> od = estimate_overdispersion([50 + 5 * v for v in z], [100] * 10)
    >>> round(od.phi, 6), round(od.tau2, 7)
    (1.932, 0.0028667)
    """
    x, n = _counts(numerators, denominators)
    if x.size < 2:
        raise RequestError("overdispersion needs at least two areas.")
    if not 0.0 <= winsorise < 0.5:
        raise RequestError(f"winsorise must be between 0 and 0.5, got {winsorise!r}.")
    theta = _target(target, x, n) if target is None else _target(target, None, n)
    s = np.sqrt(theta * (1.0 - theta) / n)
    z = (x / n - theta) / s
    if winsorise > 0:
        lo, hi = np.quantile(z, [winsorise, 1.0 - winsorise])
        z = np.clip(z, lo, hi)
    count = z.size
    phi = float(np.mean(z**2))
    w = 1.0 / s**2
    tau2 = max(0.0, (count * phi - (count - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    chi2_p = float(stats.chi2.sf(count * phi, count - 1))
    return Overdispersion(
        phi=phi, tau2=float(tau2), n_areas=count, winsorise=winsorise, target=theta, chi2_p=chi2_p
    )


def _normal_limits(theta: float, level: float, spread: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = critical_z(level)
    return theta - z * spread, theta + z * spread


def _binomial_limits(theta: float, n: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    if np.any(np.abs(n - np.round(n)) > 1e-9):
        raise RequestError(
            "exact binomial funnel limits need whole-number denominators; use method='normal'."
        )
    n_int = np.round(n)
    out = []
    for p in (0.5 - level / 2.0, 0.5 + level / 2.0):
        r = stats.binom.ppf(p, n_int, theta)
        f_r = stats.binom.cdf(r, n_int, theta)
        f_prev = stats.binom.cdf(r - 1, n_int, theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(f_r > f_prev, (f_r - p) / (f_r - f_prev), 0.0)
        out.append((r - alpha) / n_int)
    return out[0], out[1]


def _limits_frame(
    n: FloatArray,
    theta: float,
    levels: tuple[float, ...],
    method: str,
    overdispersion: str,
    od: Overdispersion | None,
    multiplier: float,
) -> pd.DataFrame:
    s = np.sqrt(theta * (1.0 - theta) / n)
    phi = od.phi if od is not None else np.nan
    tau2 = od.tau2 if od is not None else np.nan
    frame: dict[str, object] = {"denominator": n, "target": theta * multiplier}
    for level in levels:
        if method == "binomial":
            lower, upper = _binomial_limits(theta, n, level)
            if overdispersion == "multiplicative" and phi > 1:
                lower = theta + np.sqrt(phi) * (lower - theta)
                upper = theta + np.sqrt(phi) * (upper - theta)
        else:
            spread = s
            if overdispersion == "multiplicative" and phi > 1:
                spread = np.sqrt(phi) * s
            elif overdispersion == "additive":
                spread = np.sqrt(s**2 + tau2)
            lower, upper = _normal_limits(theta, level, spread)
        label = confidence_label(level)
        frame[f"lower_{label}"] = np.clip(lower, 0.0, 1.0) * multiplier
        frame[f"upper_{label}"] = np.clip(upper, 0.0, 1.0) * multiplier
    frame["method"] = method
    frame["overdispersion"] = overdispersion
    frame["phi"] = phi
    frame["tau2"] = tau2
    return pd.DataFrame(frame)


def funnel_limits(
    denominators: ArrayLike,
    target: float | None = None,
    *,
    numerators: ArrayLike | None = None,
    confidence: float | tuple[float, ...] = DEFAULT_LEVELS,
    method: str = "normal",
    overdispersion: str | None = None,
    winsorise: float = WINSORISE,
    multiplier: float = 100.0,
) -> pd.DataFrame:
    r"""Funnel plot control limits for proportions at the given denominators.

    Parameters
    ----------
    denominators : array_like
        The denominators (one per area, or any grid).
    target : float, optional
        Target proportion on the 0-1 scale. Defaults to the pooled mean
        :math:`\sum x_i / \sum n_i`, which needs ``numerators``.
    numerators : array_like, optional
        Areas' numerators, aligned with ``denominators``: used for the pooled target and
        for estimating overdispersion.
    confidence : float or tuple of float, default (0.95, 0.998)
        Levels of the limits (about 2 and 3 standard deviations).
    method : {"normal", "binomial"}, default "normal"
        ``"normal"``: :math:`\theta_0 \pm z\sqrt{\theta_0(1-\theta_0)/n}`, the OHID
        Fingertips / PHEindicatormethods ``phe_funnels`` limits (the observed proportion
        whose Wilson interval just reaches the target). ``"binomial"``: exact binomial
        limits interpolated between integers (Spiegelhalter 2005, appendix).
    overdispersion : {None, "multiplicative", "additive"}
        Widen the limits for overdispersion estimated from ``numerators``
        (:func:`estimate_overdispersion`). Multiplicative limits use
        :math:`\sqrt{\hat\phi}` and only when :math:`\hat\phi > 1`; additive limits use
        :math:`\sqrt{s^2 + \hat\tau^2}` (normal method only).
    winsorise : float, default 0.1
        Fraction of z-scores winsorised in each tail when estimating overdispersion.
    multiplier : float, default 100
        Output scale: 100 for percentages.

    Returns
    -------
    pandas.DataFrame
        One row per denominator: ``denominator``, ``target``, ``lower_95``, ``upper_95``,
        ``lower_99_8``, ``upper_99_8`` (one pair per level), ``method``,
        ``overdispersion``, ``phi`` and ``tau2`` (NaN without overdispersion). Limits
        are clipped to [0, multiplier].

    Notes
    -----
    Normal limits: :math:`\theta_0 \pm z_c s(n)`, :math:`s(n)=\sqrt{\theta_0(1-\theta_0)/n}`,
    :math:`z_c = \Phi^{-1}(1/2 + c/2)`. Exact limits: with :math:`r_p` the p-quantile of
    Binomial(n, :math:`\theta_0`) and
    :math:`\alpha = \frac{F(r_p) - p}{F(r_p) - F(r_p - 1)}`, the limit is
    :math:`(r_p - \alpha)/n`. Spiegelhalter DJ (2005) Funnel plots for comparing
    institutional performance. Stat Med 24:1185-1202.

    Examples
    --------
    PHEindicatormethods' test funnel (baseline 80.642448%), at a denominator of 110,000:

    >>> f = funnel_limits([110000], 0.80642448)
    >>> f[["lower_95", "upper_95", "lower_99_8", "upper_99_8"]].round(5).iloc[0].tolist()
    [80.40896, 80.87593, 80.27432, 81.01058]
    """
    _choice("method", method, FUNNEL_METHODS)
    od_name = "none" if overdispersion is None else overdispersion
    _choice("overdispersion", od_name, OVERDISPERSION_METHODS)
    if od_name == "additive" and method == "binomial":
        raise RequestError(
            "additive overdispersion is defined on the normal approximation; use method='normal'."
        )
    levels = _levels(confidence)
    n = _denominators(denominators)
    theta = _target(target, numerators, n if numerators is not None else denominators)
    od = None
    if od_name != "none":
        if numerators is None:
            raise RequestError(
                "overdispersion is estimated from the areas' data: give numerators as well."
            )
        od = estimate_overdispersion(numerators, denominators, theta, winsorise=winsorise)
    return _limits_frame(n, theta, levels, method, od_name, od, multiplier)


def funnel_curve(
    target: float,
    *,
    min_denominator: float = 1.0,
    max_denominator: float,
    points: int = 100,
    confidence: float | tuple[float, ...] = DEFAULT_LEVELS,
    method: str = "normal",
    overdispersion: Overdispersion | None = None,
    overdispersion_method: str = "multiplicative",
    multiplier: float = 100.0,
) -> pd.DataFrame:
    """Smooth funnel limits over a geometric grid of denominators, for drawing the funnel.

    ``overdispersion`` is a result of :func:`estimate_overdispersion` (so that the curve
    matches the limits used for the areas); ``overdispersion_method`` says how to apply it.
    The grid has ``points`` values from ``min_denominator`` to ``max_denominator``
    (whole numbers for the binomial method). Columns as in :func:`funnel_limits`.

    >>> curve = funnel_curve(0.8, min_denominator=10, max_denominator=10000, points=4)
    >>> curve["denominator"].tolist()
    [10.0, 100.0, 1000.0, 10000.0]
    >>> bool((curve["upper_95"].diff().dropna() < 0).all())
    True
    """
    _choice("method", method, FUNNEL_METHODS)
    levels = _levels(confidence)
    theta = _target(target, None, [1.0])
    if not (0 < min_denominator < max_denominator) or points < 2:
        raise RequestError(
            "need 0 < min_denominator < max_denominator and at least 2 points, got "
            f"{min_denominator!r}, {max_denominator!r}, {points!r}."
        )
    grid = np.geomspace(min_denominator, max_denominator, int(points))
    if method == "binomial":
        grid = np.unique(np.maximum(np.round(grid), 1.0))
    od_name = "none"
    if overdispersion is not None:
        od_name = _choice(
            "overdispersion_method", overdispersion_method, ("multiplicative", "additive")
        )
        if od_name == "additive" and method == "binomial":
            raise RequestError(
                "additive overdispersion is defined on the normal approximation; "
                "use method='normal'."
            )
    return _limits_frame(grid, theta, levels, method, od_name, overdispersion, multiplier)


def funnel_significance(
    numerators: ArrayLike,
    denominators: ArrayLike,
    target: float | None = None,
    *,
    method: str = "normal",
    overdispersion: str | None = None,
    winsorise: float = WINSORISE,
) -> NDArray[np.object_]:
    """Label each area against the 95% and 99.8% funnel limits, as PHEindicatormethods does.

    Labels: ``"Low (0.001)"``, ``"Low (0.025)"``, ``"High (0.001)"``, ``"High (0.025)"``
    (below/above the 99.8% or 95% limits) and ``"Not significant"``; the numbers are the
    one-sided tail probabilities (``phe_funnel_significance``). The target defaults to
    the pooled mean.

    >>> funnel_significance([10, 50, 90], [100, 100, 100], 0.5).tolist()
    ['Low (0.001)', 'Not significant', 'High (0.001)']
    """
    x, n = _counts(numerators, denominators)
    limits = funnel_limits(
        n,
        target,
        numerators=x,
        confidence=(0.95, 0.998),
        method=method,
        overdispersion=overdispersion,
        winsorise=winsorise,
        multiplier=1.0,
    )
    p = x / n
    lo95, hi95 = limits["lower_95"].to_numpy(), limits["upper_95"].to_numpy()
    lo998, hi998 = limits["lower_99_8"].to_numpy(), limits["upper_99_8"].to_numpy()
    out = np.full(p.shape, "Not significant", dtype=object)
    out[p > hi95] = "High (0.025)"
    out[p > hi998] = "High (0.001)"
    out[p < lo95] = "Low (0.025)"
    out[p < lo998] = "Low (0.001)"
    return out


#: the ``funnel`` label of rows that cannot be placed on a funnel plot
FUNNEL_LEFT_OUT = "left out (suppressed)"


def funnel_frame(frame: pd.DataFrame, *, overdispersion: str | None = None) -> pd.DataFrame:
    """``frame`` (one row per area, with numerator, denominator) with a ``funnel`` label per row.

    Only rows with a numerator and a positive denominator are placed and tested (around their
    pooled mean, :func:`funnel_significance`); suppressed rows (fewer than 5 eligible, see
    :mod:`hiexplore.suppression`) are labelled :data:`FUNNEL_LEFT_OUT`, rows with no figure
    ``"n/a"``. ``attrs["funnel_left_out"]`` counts both, with a sentence to print near the chart;
    ``attrs["funnel_points"]`` is the number placed.

    >>> f = pd.DataFrame({"numerator": [10, 50, 90, None], "denominator": [100, 100, 100, None],
    ...                   "value_note": [None, None, None, "fewer than 5 eligible (suppressed): 50.0%, no interval"]})
    >>> out = funnel_frame(f)
    >>> out["funnel"].tolist(), out.attrs["funnel_left_out"]["suppressed"]
    (['Low (0.001)', 'Not significant', 'High (0.001)', 'left out (suppressed)'], 1)
    """
    out = frame.copy()
    num = pd.to_numeric(out["numerator"], errors="coerce").to_numpy(float)
    den = pd.to_numeric(out["denominator"], errors="coerce").to_numpy(float)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    suppressed = is_suppressed(out) & ~ok
    labels = np.full(len(out), "n/a", dtype=object)
    labels[suppressed] = FUNNEL_LEFT_OUT
    if ok.any():
        labels[ok] = funnel_significance(num[ok], den[ok], overdispersion=overdispersion)
    out["funnel"] = labels
    n_sup = int(suppressed.sum())
    n_none = int((~ok & ~suppressed).sum())
    parts = []
    if n_sup:
        parts.append(f"{n_sup} with fewer than {SUPPRESSED_BELOW} eligible (suppressed: no interval)")
    if n_none:
        parts.append(f"{n_none} with no published figure")
    text = (f"{n_sup + n_none} left out of the funnel plot and its significance: " + "; ".join(parts) + "."
            if parts else "")
    out.attrs["funnel_left_out"] = {"suppressed": n_sup, "no_figure": n_none, "text": text}
    out.attrs["funnel_points"] = int(ok.sum())
    return out
