"""Confidence intervals for proportions: Wilson score (the Fingertips method) and exact.

One function, :func:`proportion_ci`, with a registry of methods (:data:`CI_METHODS`); an
unknown method name raises :class:`~hiexplore.errors.RequestError` listing the valid ones.
:func:`proportion_table` returns the same numbers as a tidy frame that carries its method,
confidence level and statistic, as PHEindicatormethods' ``phe_proportion`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ..errors import RequestError

__all__ = [
    "CI_METHODS",
    "DEFAULT_CONFIDENCE",
    "critical_z",
    "check_confidence",
    "confidence_label",
    "proportion_ci",
    "proportion_table",
]

DEFAULT_CONFIDENCE = 0.95

FloatArray = NDArray[np.float64]


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a fraction in (0, 1), accepting percentages from 50 to 99.99.

    >>> check_confidence(0.998), check_confidence(95)
    (0.998, 0.95)
    """
    try:
        level = float(confidence)
    except (TypeError, ValueError):
        raise RequestError(
            f"confidence should be a number such as 0.95 or 0.998, got {confidence!r} instead."
        ) from None
    if 50.0 <= level < 100.0:
        level = level / 100.0
    if not (0.5 <= level < 1.0) or not np.isfinite(level):
        raise RequestError(
            "confidence should be between 0.5 and 1 (e.g. 0.95, 0.998) or between 50 and 100 "
            f"(e.g. 95, 99.8), got {confidence!r} instead."
        )
    return level


def critical_z(confidence: float) -> float:
    r"""Two-sided standard normal critical value :math:`z = \Phi^{-1}(1/2 + c/2)`.

    >>> round(critical_z(0.95), 6), round(critical_z(0.998), 6)
    (1.959964, 3.090232)
    """
    level = check_confidence(confidence)
    return float(stats.norm.ppf(0.5 + level / 2.0))


def confidence_label(confidence: float) -> str:
    """Column-name fragment for a confidence level: 0.95 -> ``"95"``, 0.998 -> ``"99_8"``.

    >>> confidence_label(0.95), confidence_label(0.998)
    ('95', '99_8')
    """
    pct = round(check_confidence(confidence) * 100.0, 6)
    text = f"{pct:.6f}".rstrip("0").rstrip(".")
    return text.replace(".", "_")


def _validated(numerator: ArrayLike, denominator: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Broadcast to float arrays and check the plain-language rules of a proportion."""
    try:
        x = np.asarray(numerator, dtype=float)
        n = np.asarray(denominator, dtype=float)
        x, n = np.broadcast_arrays(x, n)
    except (TypeError, ValueError) as exc:
        raise RequestError(
            f"numerators and denominators must be numbers of the same length ({exc})."
        ) from None
    bad = np.flatnonzero(x < 0)
    if bad.size:
        raise RequestError(
            "numerators must be greater than or equal to zero; "
            f"found {x.flat[bad[0]]:g} at position {bad[0]} ({bad.size} in all)."
        )
    bad = np.flatnonzero(n < 0)
    if bad.size:
        raise RequestError(
            "denominators must be greater than or equal to zero; "
            f"found {n.flat[bad[0]]:g} at position {bad[0]} ({bad.size} in all)."
        )
    bad = np.flatnonzero((x > n) & (n > 0))
    if bad.size:
        i = bad[0]
        raise RequestError(
            "numerators must be less than or equal to denominator for a proportion statistic; "
            f"found {x.flat[i]:g} > {n.flat[i]:g} at position {i} ({bad.size} in all)."
        )
    if np.isinf(x).any() or np.isinf(n).any():
        raise RequestError("numerators and denominators must be finite numbers.")
    return x.astype(float), n.astype(float)


def _wilson(x: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = 2.0 * x + z * z
        spread = z * np.sqrt(z * z + 4.0 * x * (1.0 - x / n))
        denom = 2.0 * (n + z * z)
        lower = (centre - spread) / denom
        upper = (centre + spread) / denom
    # at x = 0 and x = n the limits are exactly 0 and 1; remove rounding noise there
    lower = np.where(x == 0, 0.0, lower)
    upper = np.where(x == n, 1.0, upper)
    return lower, upper


def _exact(x: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    alpha = 2.0 * float(stats.norm.sf(z))
    # beta quantiles overflow for counts within a rounding error of 0 or n: snap those
    x = np.where(x < 1e-9, 0.0, np.where(n - x < 1e-9, n, x))
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = stats.beta.ppf(alpha / 2.0, x, n - x + 1.0)
        upper = stats.beta.ppf(1.0 - alpha / 2.0, x + 1.0, n - x)
    lower = np.where(x == 0, 0.0, lower)
    upper = np.where(x == n, 1.0, upper)
    return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)


#: name -> function(numerator, denominator, z) returning (lower, upper) on the 0-1 scale
CI_METHODS: dict[str, Callable[[FloatArray, FloatArray, float], tuple[FloatArray, FloatArray]]] = {
    "wilson": _wilson,
    "exact": _exact,
}
_METHOD_NAMES = {"wilson": "Wilson", "exact": "Clopper-Pearson exact"}


def _method(
    method: str,
) -> Callable[[FloatArray, FloatArray, float], tuple[FloatArray, FloatArray]]:
    try:
        return CI_METHODS[method]
    except (KeyError, TypeError):
        raise RequestError(
            f"Unknown confidence interval method {method!r}.", valid=sorted(CI_METHODS)
        ) from None


def proportion_ci(
    numerator: ArrayLike,
    denominator: ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    method: str = "wilson",
    multiplier: float = 100.0,
) -> tuple[FloatArray, FloatArray]:
    r"""Lower and upper confidence limits of the proportions ``numerator / denominator``.

    Parameters
    ----------
    numerator, denominator : array_like
        Counts (non-integer counts are allowed, as in apportioned data). Broadcast together.
    confidence : float, default 0.95
        Two-sided level, e.g. 0.95 or 0.998 (95 or 99.8 are accepted too).
    method : {"wilson", "exact"}, default "wilson"
        ``"wilson"``: Wilson score interval, the OHID Fingertips method. ``"exact"``:
        Clopper-Pearson interval from beta quantiles.
    multiplier : float, default 100
        Scale of the result: 100 for percentages, 1 for proportions.

    Returns
    -------
    lower, upper : numpy.ndarray
        Float arrays of the broadcast shape, scaled by ``multiplier``. ``NaN`` where the
        denominator is 0 (whatever the numerator) or either input is missing.

    Raises
    ------
    RequestError
        For negative counts, a numerator above its denominator, an unknown method or an
        impossible confidence level.

    Notes
    -----
    With :math:`z = \Phi^{-1}(1/2 + c/2)`, observed count :math:`x` and denominator :math:`n`,
    the Wilson score limits (Wilson 1927; Newcombe and Altman 2000, as in PHEindicatormethods
    ``wilson_lower``/``wilson_upper``) are

    .. math::

        \frac{2x + z^2 \mp z\sqrt{z^2 + 4x\left(1 - x/n\right)}}{2\left(n + z^2\right)}

    The exact limits (Clopper and Pearson 1934) are
    :math:`B^{-1}(\alpha/2;\, x,\, n-x+1)` and :math:`B^{-1}(1-\alpha/2;\, x+1,\, n-x)`
    with :math:`\alpha = 1 - c`; 0 and 1 when :math:`x = 0` and :math:`x = n`.

    References: Wilson EB (1927) J Am Stat Assoc 22:209-212. Newcombe RG, Altman DG (2000)
    Proportions and their differences, in Altman DG et al. (eds) *Statistics with
    Confidence*, 2nd edn, BMJ Books, pp 46-48. Clopper CJ, Pearson ES (1934) Biometrika
    26:404-413.

    Examples
    --------
    Newcombe and Altman's example, 81 of 263: 95% Wilson interval 0.255 to 0.366.

    >>> lo, hi = proportion_ci(81, 263, multiplier=1)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.255, 0.366)

    Checked by hand for 65 of 100 with z = 1.959964: (133.8415 -/+ 19.0874) / 207.6829.

    >>> lo, hi = proportion_ci([65, 0], [100, 10])
    >>> lo.round(2).tolist(), hi.round(2).tolist()
    ([55.25, 0.0], [73.64, 27.75])
    """
    z = critical_z(confidence)
    func = _method(method)
    x, n = _validated(numerator, denominator)
    usable = np.isfinite(x) & np.isfinite(n) & (n > 0)
    xs = np.where(usable, x, 0.0)
    ns = np.where(usable, n, 1.0)
    lower, upper = func(xs, ns, z)
    # rounding can take a limit a hair outside [0, 1] next to x = 0 or x = n
    lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
    lower = np.where(usable, lower, np.nan) * multiplier
    upper = np.where(usable, upper, np.nan) * multiplier
    return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)


def proportion_table(
    numerator: ArrayLike,
    denominator: ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    method: str = "wilson",
    multiplier: float = 100.0,
) -> pd.DataFrame:
    """Proportions with their limits as a frame carrying method, confidence and statistic.

    Columns: ``numerator``, ``denominator``, ``value``, ``lower_ci``, ``upper_ci``,
    ``confidence`` (e.g. ``"95%"``), ``statistic`` (``"percentage"`` or ``"proportion"``)
    and ``method``. The index follows ``numerator`` when it is a pandas Series.

    >>> proportion_table([65], [100]).round(2).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'numerator': 65.0, 'denominator': 100.0, 'value': 65.0, 'lower_ci': 55.25,
      'upper_ci': 73.64, 'confidence': '95%', 'statistic': 'percentage', 'method': 'Wilson'}]
    """
    lower, upper = proportion_ci(numerator, denominator, confidence, method, multiplier)
    x, n = _validated(numerator, denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(n > 0, x / np.where(n > 0, n, 1.0), np.nan) * multiplier
    index = numerator.index if isinstance(numerator, pd.Series) else None
    level = check_confidence(confidence)
    return pd.DataFrame(
        {
            "numerator": np.ravel(x),
            "denominator": np.ravel(n),
            "value": np.ravel(value),
            "lower_ci": np.ravel(lower),
            "upper_ci": np.ravel(upper),
            "confidence": f"{round(level * 100, 6):g}%",
            "statistic": "percentage" if multiplier == 100 else "proportion",
            "method": _METHOD_NAMES[method],
        },
        index=index,
    )
