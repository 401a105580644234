"""Slope and relative index of inequality (SII, RII) and the deprivation gradient table.

:func:`sii_rii` follows OHID's method as implemented in PHEindicatormethods ``phe_sii``
(Low and Low 2004): groups ordered from most to least deprived get a relative rank at the
midpoint of their share of the cumulative population; the indicator is regressed on the
rank by population-weighted least squares; confidence limits come from Monte Carlo
simulation of each group's value from its own standard error. :func:`gradient_table`
builds the per-group table (value, 95% CI, population share, rank) from area data.

Sign convention (the same as ``phe_sii``): groups are ordered **most deprived first**, so
rank 0 is the most deprived end and rank 1 the least deprived end, and

* SII = fitted value at rank 1 - fitted value at rank 0: **positive when the value is
  higher in less deprived groups** (e.g. screening uptake), negative when it is higher in
  more deprived groups (e.g. smoking);
* RII = fitted value at rank 1 / fitted value at rank 0 (``(Y0 + SII) / Y0``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..errors import RequestError
from .intervals import check_confidence, confidence_label, critical_z, proportion_ci

__all__ = [
    "REPS",
    "SEED",
    "VALUE_TYPES",
    "SIIResult",
    "relative_ranks",
    "sii_rii",
    "gradient_direction",
    "gradient_table",
]

#: phe_sii's default number of simulations
REPS = 100_000
SEED = 0
MIN_GROUPS = 5
MAX_GROUPS = 100
#: value_type -> name of the transformation used for its standard error (and ``transform``)
VALUE_TYPES = {"proportion": "logit", "rate": "log", "other": "none"}

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SIIResult:
    """Slope and relative index of inequality with simulation confidence limits.

    ``sii`` is on the output scale (``multiplier`` times the value scale; percentage points
    for proportions by default); ``intercept`` is the fitted value at the most deprived end
    (rank 0) on the same scale; ``rii`` is a ratio. ``direction`` says in words which way
    the gradient runs, or that there is no significant gradient; ``significant`` is False when
    the SII's interval includes 0 or the RII's includes 1 (see :func:`gradient_direction`).
    """

    sii: float
    sii_lower: float
    sii_upper: float
    rii: float
    rii_lower: float
    rii_upper: float
    intercept: float
    confidence: float
    value_type: str
    transform: str
    multiplier: float
    n_groups: int
    reps: int
    seed: int | None
    method: str
    direction: str
    significant: bool

    def to_frame(self) -> pd.DataFrame:
        """One-row frame with the fields as columns (CI columns named by level)."""
        row = asdict(self)
        label = confidence_label(self.confidence)
        for stat in ("sii", "rii"):
            row[f"{stat}_lower_{label}"] = row.pop(f"{stat}_lower")
            row[f"{stat}_upper_{label}"] = row.pop(f"{stat}_upper")
        return pd.DataFrame([row])


def relative_ranks(population: ArrayLike) -> FloatArray:
    r"""Midpoints of each group's range in the cumulative population share.

    With shares :math:`a_j = P_j / \sum P` in order, :math:`b_j = \sum_{k<j} a_k + a_j/2`.

    >>> relative_ranks([12, 10, 78]).round(2).tolist()
    [0.06, 0.17, 0.61]
    """
    p = np.asarray(population, dtype=float)
    a = p / p.sum()
    return np.cumsum(a) - a / 2.0


def _forward(values: FloatArray, kind: str) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "logit":
            return np.log(values / (1.0 - values))
        if kind == "log":
            return np.log(values)
    return values


def _inverse(values: FloatArray, kind: str) -> FloatArray:
    if kind == "logit":
        return 1.0 / (1.0 + np.exp(-values))
    if kind == "log":
        return np.exp(values)
    return values


def _array(name: str, values: ArrayLike | None, k: int) -> FloatArray | None:
    if values is None:
        return None
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise RequestError(f"{name} must be numbers.") from None
    if arr.size != k:
        raise RequestError(f"{name} has {arr.size} values but there are {k} groups.")
    missing = np.flatnonzero(~np.isfinite(arr))
    if missing.size:
        raise RequestError(
            f"the SII needs a {name} for every group: group {missing[0] + 1} "
            f"(counting from the most deprived) has none ({missing.size} missing in all)."
        )
    return arr


def _hat_matrix(population: FloatArray) -> FloatArray:
    """(X'AX)^-1 X'A for X = [1, rank] and weights A = population shares (2 x k)."""
    a = population / population.sum()
    x = np.column_stack([np.ones_like(a), relative_ranks(population)])
    xtw = x.T * a
    return np.linalg.solve(xtw @ x, xtw)


def sii_rii(
    population: ArrayLike,
    *,
    value: ArrayLike | None = None,
    numerator: ArrayLike | None = None,
    lower_ci: ArrayLike | None = None,
    upper_ci: ArrayLike | None = None,
    se: ArrayLike | None = None,
    value_type: str = "proportion",
    transform: bool = False,
    confidence: float = 0.95,
    reps: int = REPS,
    seed: int | None = SEED,
    multiplier: float | None = None,
) -> SIIResult:
    r"""Slope index of inequality (SII) and relative index of inequality (RII).

    Parameters
    ----------
    population : array_like
        Population (for proportions, the denominator) of each group, **ordered from most
        to least deprived** (IMD decile 1 first).
    value : array_like, optional
        Indicator value of each group: a proportion on the 0-1 scale, a rate, or any other
        value. For proportions it defaults to ``numerator / population``.
    numerator : array_like, optional
        Counts, for proportions.
    lower_ci, upper_ci : array_like, optional
        95% confidence limits of ``value`` (same scale), used for the standard errors.
    se : array_like, optional
        Standard errors of ``value`` on the transformed scale (logit for proportions, log
        for rates, none for others) instead of limits. For proportions with only
        ``numerator`` given, 95% Wilson limits are computed.
    value_type : {"proportion", "rate", "other"}, default "proportion"
        As ``phe_sii``'s ``value_type`` 2, 1, 0.
    transform : bool, default False
        Fit the regression on the logit (proportions) or log (rates) scale and
        back-transform, as ``phe_sii(transform = TRUE)``; recommended when the gradient is
        not linear on the natural scale.
    confidence : float, default 0.95
        Level of the SII and RII limits (e.g. 0.95 or 0.998).
    reps : int, default 100,000
        Number of simulations (``phe_sii``'s default); at least 1,000.
    seed : int or None, default 0
        Seed of the numpy Generator used for the simulations.
    multiplier : float, optional
        Scale of the SII and intercept: default 100 for proportions (percentage points),
        1 otherwise.

    Returns
    -------
    SIIResult
        Frozen dataclass; ``.to_frame()`` gives a one-row table.

    Notes
    -----
    With group populations :math:`P_j` (most deprived first), shares
    :math:`a_j = P_j/\sum P`, ranks :math:`b_j = \sum_{k<j}a_k + a_j/2` and values
    :math:`y_j`, fit :math:`y_j\sqrt{a_j} = \beta_0\sqrt{a_j} + \beta_1 b_j\sqrt{a_j}`
    by least squares (i.e. weighted least squares of :math:`y` on :math:`b` with weights
    :math:`a`). Then :math:`\mathrm{SII} = \beta_1` (fitted value at rank 1 minus rank 0)
    and :math:`\mathrm{RII} = (\beta_0 + \beta_1)/\beta_0`. With ``transform`` the fit is
    on :math:`g(y)` (logit or log) and
    :math:`\mathrm{SII} = g^{-1}(\beta_0+\beta_1) - g^{-1}(\beta_0)`,
    :math:`\mathrm{RII} = g^{-1}(\beta_0+\beta_1)/g^{-1}(\beta_0)`.

    Standard errors: :math:`\mathrm{se}_j = (g(U_j) - g(L_j)) / (2 \times 1.959964)` from
    95% limits. Confidence limits: ``reps`` sets of :math:`g(y_j) + \mathrm{se}_j
    \varepsilon`, :math:`\varepsilon \sim N(0,1)`, are back-transformed (untransformed
    fit) and refitted; the limits are the order statistics at positions
    ``round(reps * (1 - c'))`` and ``round(reps * c')`` with :math:`c' = c + (1-c)/2`. With
    ``transform`` the simulated slopes' limits are turned into SII/RII limits around the
    fitted midpoint :math:`\beta_0 + \beta_1/2`, as ``phe_sii`` does.

    References: Low A, Low A (2004) Measuring the gap: quantifying and comparing local
    health inequalities. J Public Health 26:388-395. PHEindicatormethods ``phe_sii``
    (UKHSA), ``R/SII_function.R`` and ``FindXValues``/``SimulationFunc`` in ``R/utils.R``.

    Examples
    --------
    A perfect linear gradient over five equal quintiles, 10% to 30% (ranks 0.1 ... 0.9,
    slope 25 points per unit rank, so the fitted values at ranks 0 and 1 are 7.5% and
    32.5%, RII = 32.5 / 7.5):

    >>> r = sii_rii([1000] * 5, value=[0.10, 0.15, 0.20, 0.25, 0.30], se=[0.05] * 5,
    ...             reps=2000, seed=1)
    >>> round(r.sii, 6), round(r.intercept, 6), round(r.rii, 4)
    (25.0, 7.5, 4.3333)
    >>> r.sii_lower < r.sii < r.sii_upper
    True
    """
    kind = _value_type(value_type)
    pop = _array("population", population, np.size(population))
    assert pop is not None
    k = pop.size
    if not MIN_GROUPS <= k <= MAX_GROUPS:
        raise RequestError(
            f"the SII needs between {MIN_GROUPS} and {MAX_GROUPS} groups (e.g. deprivation "
            f"quintiles or deciles), got {k}."
        )
    if np.any(pop <= 0):
        raise RequestError("some groups have a zero or negative population.")
    level = check_confidence(confidence)
    if int(reps) != reps or reps < 1000:
        raise RequestError(f"reps must be a whole number of at least 1,000, got {reps!r}.")
    reps = int(reps)
    if transform and kind == "none":
        raise RequestError("transform needs value_type 'proportion' or 'rate'.")
    if transform and se is not None:
        raise RequestError(
            "with transform=True give 95% confidence limits (lower_ci, upper_ci), not se."
        )
    mult = (
        (100.0 if value_type == "proportion" else 1.0) if multiplier is None else float(multiplier)
    )
    if not np.isfinite(mult) or mult <= 0:
        raise RequestError(f"multiplier must be a positive number, got {multiplier!r}.")

    num = _array("numerator", numerator, k)
    val = _array("value", value, k)
    if val is None:
        if value_type != "proportion" or num is None:
            raise RequestError("give the value of each group (or, for proportions, the numerator).")
        if np.any(num > pop) or np.any(num < 0):
            raise RequestError(
                "numerators must be between zero and the population (denominator) of the group."
            )
        val = num / pop
    lo = _array("lower_ci", lower_ci, k)
    hi = _array("upper_ci", upper_ci, k)
    se_arr = _array("se", se, k)
    if se_arr is None and (lo is None or hi is None):
        if value_type == "proportion" and num is not None:
            lo, hi = proportion_ci(num, pop, 0.95, "wilson", multiplier=1.0)
        else:
            raise RequestError(
                "give the 95% confidence limits (lower_ci and upper_ci) or the standard "
                "errors (se) of each group's value."
            )
    if value_type == "proportion":
        checks = {"value": val} | ({} if lo is None else {"lower_ci": lo, "upper_ci": hi})
        for name, arr in checks.items():
            if np.any(arr <= 0) or np.any(arr >= 1):
                raise RequestError(
                    f"{name} proportions must be strictly between 0 and 1 (use the 0-1 scale, "
                    "not percentages; groups with 0% or 100% cannot be transformed)."
                )
    elif value_type == "rate":
        checks = {"value": val} | ({} if lo is None else {"lower_ci": lo, "upper_ci": hi})
        for name, arr in checks.items():
            if np.any(arr <= 0):
                raise RequestError(f"{name} rates must be greater than zero.")
    if se_arr is None:
        assert lo is not None and hi is not None
        if np.any(hi < lo):
            raise RequestError("some groups have an upper confidence limit below the lower one.")
        se_arr = (_forward(hi, kind) - _forward(lo, kind)) / (2.0 * critical_z(0.95))
    if np.any(se_arr < 0):
        raise RequestError("standard errors must not be negative.")

    hat = _hat_matrix(pop)
    g_val = _forward(val, kind)
    rng = np.random.default_rng(seed)
    draws = g_val + se_arr * rng.standard_normal((reps, k))
    cv = level + (1.0 - level) / 2.0
    pos_lower = max(int(np.round(reps * (1.0 - cv))), 1) - 1
    pos_upper = min(int(np.round(reps * cv)), reps) - 1

    if not transform:
        b0, b1 = hat @ val
        sii, rii, intercept = b1, (b0 + b1) / b0, b0
        coefs = _inverse(draws, kind) @ hat.T
        sim_sii = np.sort(coefs[:, 1])
        sim_rii = np.sort((coefs[:, 0] + coefs[:, 1]) / coefs[:, 0])
        sii_lo, sii_hi = sim_sii[pos_lower], sim_sii[pos_upper]
        rii_lo, rii_hi = sim_rii[pos_lower], sim_rii[pos_upper]
        tname = "none"
    else:
        b0, b1 = hat @ g_val
        y0, y1 = _inverse(np.array([b0, b0 + b1]), kind)
        sii, rii, intercept = y1 - y0, y1 / y0, y0
        slopes = np.sort((draws @ hat.T)[:, 1])
        mid = b0 + b1 / 2.0
        limits = []
        for slope in (slopes[pos_lower], slopes[pos_upper]):
            lo_y, hi_y = _inverse(np.array([mid - slope / 2.0, mid + slope / 2.0]), kind)
            limits.append((hi_y - lo_y, hi_y / lo_y))
        (sii_lo, rii_lo), (sii_hi, rii_hi) = limits
        tname = kind

    sii_out, lo_out, hi_out = float(sii * mult), float(sii_lo * mult), float(sii_hi * mult)
    direction = gradient_direction(sii_out, lo_out, hi_out, float(rii_lo), float(rii_hi), confidence=level)
    return SIIResult(
        sii=sii_out,
        sii_lower=lo_out,
        sii_upper=hi_out,
        rii=float(rii),
        rii_lower=float(rii_lo),
        rii_upper=float(rii_hi),
        intercept=float(intercept * mult),
        confidence=level,
        value_type=value_type,
        transform=tname,
        multiplier=mult,
        n_groups=k,
        reps=reps,
        seed=seed,
        method=(
            "SII/RII as PHEindicatormethods phe_sii (Low and Low 2004): population-weighted "
            f"least squares on cumulative-rank midpoints, most deprived first; limits by "
            f"simulation ({reps:,} reps)"
        ),
        direction=direction,
        significant=not direction.startswith(NOT_SIGNIFICANT),
    )


#: the words every view uses when the interval cannot tell a gradient from none
NOT_SIGNIFICANT = "no significant gradient"


def gradient_direction(
    sii: float,
    sii_lower: float,
    sii_upper: float,
    rii_lower: float | None = None,
    rii_upper: float | None = None,
    *,
    confidence: float = 0.95,
) -> str:
    """Which way the gradient runs, in words, or "no significant gradient".

    Why: an SII of 3.0 points with a 95% CI of -0.3 to 6.4 is compatible with no gradient at
    all, so saying "higher in less deprived groups" would claim more than the data show. The
    gradient is called significant only when the SII's interval excludes 0 **and** the RII's
    (when given) excludes 1, the usual reading of a confidence interval for a difference and a
    ratio (Low and Low 2004; OHID Fingertips inequality reports).

    >>> gradient_direction(3.0, -0.3, 6.4, 0.996, 1.072)
    'no significant gradient between most and least deprived groups (the 95% CI of the SII, -0.3 to 6.4, includes 0)'
    >>> gradient_direction(16.4, 15.6, 17.1, 1.256, 1.284)
    'higher in less deprived groups (value rises from most to least deprived)'
    >>> gradient_direction(-4.0, -4.2, -3.8, 0.720, 0.746)
    'higher in more deprived groups (value falls from most to least deprived)'
    """
    label = f"{check_confidence(confidence) * 100:g}%"
    values = [sii, sii_lower, sii_upper] + [v for v in (rii_lower, rii_upper) if v is not None]
    if not np.all(np.isfinite(values)):
        return f"{NOT_SIGNIFICANT} (the SII or its interval could not be estimated)"
    if sii_lower <= 0.0 <= sii_upper:
        return (
            f"{NOT_SIGNIFICANT} between most and least deprived groups (the {label} CI of the SII, "
            f"{sii_lower:.1f} to {sii_upper:.1f}, includes 0)"
        )
    if rii_lower is not None and rii_upper is not None and rii_lower <= 1.0 <= rii_upper:
        return (
            f"{NOT_SIGNIFICANT} between most and least deprived groups (the {label} CI of the RII, "
            f"{rii_lower:.3f} to {rii_upper:.3f}, includes 1)"
        )
    if sii > 0:
        return "higher in less deprived groups (value rises from most to least deprived)"
    if sii < 0:
        return "higher in more deprived groups (value falls from most to least deprived)"
    return f"{NOT_SIGNIFICANT} between most and least deprived groups"  # pragma: no cover - CI spans 0


def _value_type(value_type: str) -> str:
    try:
        return VALUE_TYPES[value_type]
    except (KeyError, TypeError):
        raise RequestError(f"Unknown value_type {value_type!r}.", valid=list(VALUE_TYPES)) from None


def gradient_table(
    frame: pd.DataFrame,
    by: str = "imd_decile",
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    population: str | None = None,
    confidence: float = 0.95,
    multiplier: float = 100.0,
) -> pd.DataFrame:
    """Per-group numerator, denominator, value and Wilson CI, ordered most deprived first.

    Parameters
    ----------
    frame : pandas.DataFrame
        Area-level (or already grouped) data.
    by : str, default "imd_decile"
        Group column; its sorted values run from most deprived (IMD decile/quintile 1) to
        least deprived.
    numerator, denominator : str
        Count columns, summed within groups.
    population : str, optional
        Column used for the population shares and ranks; defaults to ``denominator``.
    confidence : float, default 0.95
        Level of the Wilson limits.
    multiplier : float, default 100
        Scale of ``value`` and the limits.

    Returns
    -------
    pandas.DataFrame
        One row per group in order: ``group``, ``numerator``, ``denominator``,
        ``population``, ``value``, ``lower_<level>``, ``upper_<level>``,
        ``population_share``, ``relative_rank``. Pass it to :func:`sii_rii` as
        ``sii_rii(t.population, numerator=t.numerator)`` (when population is the
        denominator).

    >>> df = pd.DataFrame({"imd_decile": [2, 1, 1, 2, 3, 4, 5],
    ...                    "numerator": [10, 30, 20, 10, 15, 12, 10],
    ...                    "denominator": [100, 100, 100, 100, 100, 100, 100]})
    >>> t = gradient_table(df)
    >>> t["group"].tolist(), t["value"].tolist()
    ([1, 2, 3, 4, 5], [25.0, 10.0, 15.0, 12.0, 10.0])
    >>> t["population_share"].round(3).tolist()
    [0.286, 0.286, 0.143, 0.143, 0.143]
    """
    if not isinstance(frame, pd.DataFrame):
        raise RequestError("gradient_table needs a pandas DataFrame.")
    wanted = [by, numerator, denominator] + ([population] if population else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise RequestError(
            f"column(s) {missing} not found in the data.", valid=[str(c) for c in frame.columns]
        )
    data = frame.dropna(subset=[by])
    cols = [numerator, denominator] + (
        [population] if population and population not in (numerator, denominator) else []
    )
    grouped = data.groupby(by, sort=True)[cols].sum(min_count=1)
    out = pd.DataFrame(
        {
            "group": grouped.index.to_numpy(),
            "numerator": grouped[numerator].to_numpy(dtype=float),
            "denominator": grouped[denominator].to_numpy(dtype=float),
        }
    )
    out["population"] = (
        grouped[population].to_numpy(dtype=float) if population else out["denominator"]
    )
    lower, upper = proportion_ci(
        out["numerator"], out["denominator"], confidence, "wilson", multiplier
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["value"] = out["numerator"] / out["denominator"] * multiplier
    label = confidence_label(confidence)
    out[f"lower_{label}"] = lower
    out[f"upper_{label}"] = upper
    total = out["population"].sum()
    out["population_share"] = out["population"] / total
    out["relative_rank"] = relative_ranks(out["population"].to_numpy())
    return out
