"""Compare areas with a benchmark (the Fingertips RAG comparison) and with fixed standards.

:func:`compare_with_benchmark` labels an area "Better"/"Similar"/"Worse" (or
"Higher"/"Similar"/"Lower" when no polarity applies) when its confidence interval excludes
the benchmark, exactly as the "Compared to England value or percentiles" column of a
Fingertips export does. :func:`standard_band` places values against an acceptable and an
achievable threshold (e.g. screening coverage standards).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import RequestError
from .intervals import DEFAULT_CONFIDENCE, proportion_ci

__all__ = [
    "POLARITIES",
    "BETTER",
    "WORSE",
    "SIMILAR",
    "HIGHER",
    "LOWER",
    "NOT_COMPARED",
    "compare_with_benchmark",
    "compare_proportion_with_benchmark",
    "standard_band",
    "BAND_ACHIEVABLE",
    "BAND_ACCEPTABLE",
    "BAND_BELOW",
    "BAND_NO_DATA",
]

BETTER, WORSE, SIMILAR = "Better", "Worse", "Similar"
HIGHER, LOWER = "Higher", "Lower"
NOT_COMPARED = "Not compared"

#: polarity -> (label when significantly higher, label when significantly lower)
POLARITIES: dict[str, tuple[str, str]] = {
    "higher is better": (BETTER, WORSE),
    "lower is better": (WORSE, BETTER),
    "no judgement": (HIGHER, LOWER),
}

BAND_ACHIEVABLE = "achievable"
BAND_ACCEPTABLE = "acceptable"
BAND_BELOW = "below acceptable"
BAND_NO_DATA = "no data"


def _polarity(polarity: str) -> tuple[str, str]:
    try:
        return POLARITIES[polarity]
    except (KeyError, TypeError):
        raise RequestError(f"Unknown polarity {polarity!r}.", valid=list(POLARITIES)) from None


def _floats(name: str, values: ArrayLike) -> NDArray[np.float64]:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise RequestError(f"{name} must be numbers, got {values!r}.") from None


def _same_length(named: dict[str, ArrayLike], *, single: str) -> list[NDArray[np.float64]]:
    """The inputs as float arrays broadcast together (a single value stands for every row)."""
    arrays = [_floats(name, values) for name, values in named.items()]
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        names, sizes = list(named), [str(a.size) for a in arrays]
        raise RequestError(
            f"{', '.join(names[:-1])} and {names[-1]} must have the same length (or one {single}); got "
            f"{', '.join(sizes[:-1])} and {sizes[-1]} values."
        ) from None


def compare_with_benchmark(
    lower: ArrayLike,
    upper: ArrayLike,
    benchmark: ArrayLike,
    *,
    polarity: str = "higher is better",
) -> NDArray[np.object_]:
    r"""Label each area by whether its confidence interval excludes the benchmark.

    Parameters
    ----------
    lower, upper : array_like
        Each area's confidence limits at the level being tested (95% or 99.8%).
    benchmark : float or array_like
        The comparator value (e.g. England), one for all or one per area.
    polarity : {"higher is better", "lower is better", "no judgement"}
        Turns "significantly higher/lower" into "Better"/"Worse", or keeps
        "Higher"/"Lower" with ``"no judgement"``.

    Returns
    -------
    numpy.ndarray of str
        ``"Better"``, ``"Similar"``, ``"Worse"`` (or ``"Higher"``, ``"Similar"``,
        ``"Lower"``); ``"Not compared"`` where a limit or the benchmark is missing.
        These are the strings Fingertips exports use.

    Notes
    -----
    With interval :math:`[L_i, U_i]` and benchmark :math:`B`, an area is significantly
    higher when :math:`L_i > B`, lower when :math:`U_i < B`, and similar otherwise
    (OHID Fingertips technical guidance, "Comparing values to a benchmark"; the interval
    method of the area's own statistic, e.g. Wilson for proportions).

    Examples
    --------
    Smoking prevalence (lower is better) against England's 14.71% in 2022/23:

    >>> compare_with_benchmark([14.22, 11.72, 16.0], [16.67, 13.06, 18.0], 14.71,
    ...                        polarity="lower is better").tolist()
    ['Similar', 'Better', 'Worse']
    """
    high_label, low_label = _polarity(polarity)
    lo, hi, b = _same_length(
        {"lower": lower, "upper": upper, "benchmark": benchmark}, single="benchmark"
    )
    missing = ~(np.isfinite(lo) & np.isfinite(hi) & np.isfinite(b))
    with np.errstate(invalid="ignore"):
        out = np.where(lo > b, high_label, np.where(hi < b, low_label, SIMILAR)).astype(object)
    out[missing] = NOT_COMPARED
    return out


def compare_proportion_with_benchmark(
    numerator: ArrayLike,
    denominator: ArrayLike,
    benchmark: ArrayLike,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    polarity: str = "higher is better",
    method: str = "wilson",
    multiplier: float = 100.0,
) -> NDArray[np.object_]:
    """Compare proportions with a benchmark using their own confidence intervals.

    The intervals come from :func:`~hiexplore.stats.intervals.proportion_ci` at
    ``confidence`` (0.95 or 0.998 in Fingertips); ``benchmark`` is on the ``multiplier``
    scale (percent by default). See :func:`compare_with_benchmark`.

    >>> compare_proportion_with_benchmark([514, 1149], [3336, 9282], 14.71089355,
    ...                                   polarity="lower is better").tolist()
    ['Similar', 'Better']
    """
    lower, upper = proportion_ci(numerator, denominator, confidence, method, multiplier)
    return compare_with_benchmark(lower, upper, benchmark, polarity=polarity)


def standard_band(
    value: ArrayLike,
    acceptable: ArrayLike,
    achievable: ArrayLike | None = None,
    *,
    polarity: str = "higher is better",
) -> NDArray[np.object_]:
    """Place values against an acceptable and (optionally) an achievable standard.

    Parameters
    ----------
    value : array_like
        The values (e.g. coverage in percent).
    acceptable : float or array_like
        The lower threshold (e.g. 70 for breast screening coverage).
    achievable : float or array_like, optional
        The higher threshold (e.g. 80). Without it the bands are only "acceptable" and
        "below acceptable".
    polarity : {"higher is better", "lower is better"}
        With "lower is better" a value meets a standard when it is at or below it.

    Returns
    -------
    numpy.ndarray of str
        ``"achievable"``, ``"acceptable"``, ``"below acceptable"``, or ``"no data"`` where
        the value is missing. A value equal to a threshold meets it.

    >>> standard_band([82.0, 75.0, 60.0, float("nan")], 70, 80).tolist()
    ['achievable', 'acceptable', 'below acceptable', 'no data']
    >>> standard_band([82.0, 60.0], 70).tolist()
    ['acceptable', 'below acceptable']
    """
    if polarity not in ("higher is better", "lower is better"):
        raise RequestError(
            f"Unknown polarity {polarity!r} for a standard.",
            valid=["higher is better", "lower is better"],
        )
    sign = 1.0 if polarity == "higher is better" else -1.0
    v, acc, ach = _same_length(
        {"value": value, "acceptable": acceptable,
         "achievable": np.nan if achievable is None else achievable},
        single="standard",
    )
    if achievable is not None:
        both = np.isfinite(acc) & np.isfinite(ach)
        if np.any(both & (sign * ach < sign * acc)):
            raise RequestError(
                "the achievable standard must be at least as demanding as the acceptable one "
                f"(polarity {polarity!r})."
            )
    with np.errstate(invalid="ignore"):
        meets_acc = sign * v >= sign * acc
        meets_ach = np.isfinite(ach) & (sign * v >= sign * ach)
    out = np.where(meets_ach, BAND_ACHIEVABLE, np.where(meets_acc, BAND_ACCEPTABLE, BAND_BELOW))
    out = out.astype(object)
    out[~np.isfinite(v)] = BAND_NO_DATA
    return out
