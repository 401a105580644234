"""Expected uptake from area characteristics (scikit-learn), and observed-vs-expected labels.

:func:`expected_uptake` regresses uptake on the characteristics the caller names (IMD
domain scores or deciles, Census 2021 shares, ...), weighting areas by their denominator,
and reports the cross-validated R^2 so that users can judge how much the characteristics
explain. :func:`vs_expected` labels an area "lower than expected" when its confidence
interval lies wholly below its expected value. Models (registry :data:`MODELS`):
``"ridge"`` (standardised ridge regression, penalty chosen by internal cross-validation)
and ``"gbm"`` (histogram gradient boosting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..errors import RequestError

__all__ = [
    "MODELS",
    "CV_FOLDS",
    "SEED",
    "MIN_AREAS",
    "ExpectedModel",
    "expected_uptake",
    "vs_expected",
    "LOWER_THAN_EXPECTED",
    "AS_EXPECTED",
    "HIGHER_THAN_EXPECTED",
    "NO_DATA",
]

MODELS = ("ridge", "gbm")
CV_FOLDS = 5
SEED = 0
#: below this many usable areas (or 2 per fold) no model is fitted: expected = weighted mean
MIN_AREAS = 20
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))
#: native threads for fitting: area-level data are small, and OpenMP thread pools can stall
#: badly on shared or CPU-quota-limited machines (200 boosting rounds: 1 s vs 25 s seen)
FIT_THREADS = 1

LOWER_THAN_EXPECTED = "lower than expected"
AS_EXPECTED = "as expected"
HIGHER_THAN_EXPECTED = "higher than expected"
NO_DATA = "no data"


@dataclass(frozen=True)
class ExpectedModel:
    """Summary of an expected-uptake model.

    Attributes
    ----------
    model : str
        ``"ridge"``, ``"gbm"`` or ``"weighted mean"`` (fallback).
    features : tuple of str
        Characteristics used.
    n : int
        Areas used to fit (non-missing target and positive weight).
    r2_cv : float
        Weighted R^2 of out-of-fold predictions (NaN for the fallback).
    r2_in_sample : float
        Weighted R^2 of the model refitted on all areas (NaN for the fallback).
    cv : int
        Number of folds.
    seed : int
        Seed of the fold split (and of the boosting model).
    imputed : dict
        Feature -> number of areas whose missing value was replaced by the median.
    coefficients : dict
        Ridge only: feature -> coefficient per standard deviation of the feature.
    notes : tuple of str
        Plain-language notes (imputation, fallback, ...).
    """

    model: str
    features: tuple[str, ...]
    n: int
    r2_cv: float
    r2_in_sample: float
    cv: int
    seed: int
    imputed: dict[str, int] = field(default_factory=dict)
    coefficients: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _estimator(model: str, seed: int, impute: bool = True) -> Any:
    """A fresh scikit-learn Pipeline for ``model``.

    ``impute=False`` leaves out the median imputer, for features with no missing value: it
    would change nothing, and its fit costs as much as the model's at national size.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "ridge":
        return Pipeline(
            ([("impute", SimpleImputer(strategy="median"))] if impute else [])
            + [
                ("scale", StandardScaler()),
                ("model", RidgeCV(alphas=RIDGE_ALPHAS)),
            ]
        )
    return Pipeline(
        ([("impute", SimpleImputer(strategy="median"))] if impute else [])
        + [
            (
                "model",
                HistGradientBoostingRegressor(
                    max_iter=200, learning_rate=0.05, min_samples_leaf=10, random_state=seed
                ),
            ),
        ]
    )


def _weighted_r2(
    y: NDArray[np.float64], pred: NDArray[np.float64], w: NDArray[np.float64]
) -> float:
    mean = np.average(y, weights=w)
    total = np.sum(w * (y - mean) ** 2)
    if total <= 0:
        return float("nan")
    return float(1.0 - np.sum(w * (y - pred) ** 2) / total)


def expected_uptake(
    frame: pd.DataFrame,
    target: str = "value",
    weights: str | None = "denominator",
    features: list[str] | tuple[str, ...] | None = None,
    *,
    model: str = "ridge",
    cv: int = CV_FOLDS,
    seed: int = SEED,
) -> tuple[NDArray[np.float64], ExpectedModel]:
    r"""Expected value of ``target`` for every area, from the named characteristics.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per area.
    target : str, default "value"
        The observed uptake column (any scale, e.g. percent).
    weights : str or None, default "denominator"
        Column of weights (the eligible population); ``None`` weights areas equally.
    features : list of str
        Columns of characteristics (numeric). Required.
    model : {"ridge", "gbm"}, default "ridge"
    cv : int, default 5
        Folds for the cross-validated R^2 (shuffled, seeded).
    seed : int, default 0

    Returns
    -------
    expected : numpy.ndarray
        Expected value for each row of ``frame`` (also rows whose target is missing).
    summary : ExpectedModel

    Notes
    -----
    Missing feature values are replaced by the feature's median (the number replaced is in
    ``summary.imputed`` and ``summary.notes``). Rows with a missing target or a zero weight
    are not used to fit. With fewer than :data:`MIN_AREAS` usable areas (or fewer than two
    per fold) no model is fitted: the expected value is the weighted mean, ``r2_cv`` is NaN
    and a note says so. The weighted R^2 is
    :math:`1 - \sum_i w_i (y_i - \hat y_i)^2 / \sum_i w_i (y_i - \bar y_w)^2`; ``r2_cv``
    uses out-of-fold :math:`\hat y_i` (scikit-learn ``cross_val_predict``, Pedregosa et al.
    2011, J Mach Learn Res 12:2825-2830). Ridge: Hoerl and Kennard (1970) Technometrics
    12:55-67; gradient boosting: Friedman (2001) Ann Stat 29:1189-1232.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"imd_score": rng.uniform(5, 60, 200)})
    >>> df["denominator"] = 500
    >>> df["value"] = 80 - 0.3 * df["imd_score"] + rng.normal(0, 1, 200)
    >>> expected, summary = expected_uptake(df, features=["imd_score"])
    >>> summary.model, summary.n, summary.r2_cv > 0.9
    ('ridge', 200, True)
    """
    if model not in MODELS:
        raise RequestError(f"Unknown model {model!r}.", valid=list(MODELS))
    if not isinstance(frame, pd.DataFrame):
        raise RequestError("expected_uptake needs a pandas DataFrame.")
    if not features:
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        raise RequestError(
            "name the characteristics to use as features.",
            valid=[str(c) for c in numeric if c not in (target, weights)],
        )
    features = list(features)
    needed = [target] + features + ([weights] if weights else [])
    missing_cols = [c for c in needed if c not in frame.columns]
    if missing_cols:
        raise RequestError(
            f"column(s) {missing_cols} not found in the data.",
            valid=[str(c) for c in frame.columns],
        )
    not_numeric = [c for c in needed if not pd.api.types.is_numeric_dtype(frame[c])]
    if not_numeric:
        raise RequestError(f"column(s) {not_numeric} must be numeric.")
    if int(cv) != cv or cv < 2:
        raise RequestError(f"cv must be a whole number of folds, at least 2, got {cv!r}.")
    cv = int(cv)

    x_all = frame[features].to_numpy(dtype=float)
    y_all = frame[target].to_numpy(dtype=float)
    w_all = frame[weights].to_numpy(dtype=float) if weights else np.ones(len(frame))
    if np.any(w_all[np.isfinite(w_all)] < 0):
        raise RequestError(f"weights in {weights!r} must not be negative.")
    fit = np.isfinite(y_all) & np.isfinite(w_all) & (w_all > 0)
    n = int(fit.sum())
    notes: list[str] = []
    if n == 0:
        raise RequestError(f"no area has both a {target!r} value and a positive weight.")
    y, w = y_all[fit], w_all[fit]

    imputed: dict[str, int] = {}
    for j, name in enumerate(features):
        count = int(np.sum(~np.isfinite(x_all[:, j])))
        if count:
            imputed[name] = count
    all_missing = [name for j, name in enumerate(features) if not np.isfinite(x_all[fit, j]).any()]
    if imputed:
        notes.append(
            "missing values replaced by the feature's median: "
            + ", ".join(f"{k} ({v} areas)" for k, v in imputed.items())
            + "."
        )

    if n < max(MIN_AREAS, 2 * cv) or all_missing:
        mean = float(np.average(y, weights=w))
        reason = (
            f"feature(s) {all_missing} have no values"
            if all_missing
            else f"only {n} areas have data (a model needs at least {max(MIN_AREAS, 2 * cv)})"
        )
        notes.append(f"No model fitted because {reason}: expected = the weighted mean, {mean:.4g}.")
        summary = ExpectedModel(
            model="weighted mean",
            features=tuple(features),
            n=n,
            r2_cv=float("nan"),
            r2_in_sample=float("nan"),
            cv=cv,
            seed=seed,
            imputed=imputed,
            notes=tuple(notes),
        )
        return np.full(len(frame), mean), summary

    from sklearn.model_selection import KFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    x = x_all[fit]
    folds = KFold(n_splits=cv, shuffle=True, random_state=seed)
    with threadpool_limits(limits=FIT_THREADS):
        impute = bool(imputed)
        est = _estimator(model, seed, impute)
        oof = cross_val_predict(est, x, y, cv=folds, params={"model__sample_weight": w})
        est = _estimator(model, seed, impute)
        est.fit(x, y, model__sample_weight=w)
        expected = est.predict(x_all)
    coefficients: dict[str, float] = {}
    if model == "ridge":
        coefficients = {
            name: float(c) for name, c in zip(features, est.named_steps["model"].coef_, strict=True)
        }
    summary = ExpectedModel(
        model=model,
        features=tuple(features),
        n=n,
        r2_cv=_weighted_r2(y, oof, w),
        r2_in_sample=_weighted_r2(y, expected[fit], w),
        cv=cv,
        seed=seed,
        imputed=imputed,
        coefficients=coefficients,
        notes=tuple(notes),
    )
    return np.asarray(expected, dtype=float), summary


def vs_expected(
    value: ArrayLike, lower_ci: ArrayLike, upper_ci: ArrayLike, expected: ArrayLike
) -> NDArray[np.object_]:
    """Label areas whose confidence interval excludes their expected value.

    ``"lower than expected"`` when the upper limit is below the expected value,
    ``"higher than expected"`` when the lower limit is above it, ``"as expected"``
    otherwise, and ``"no data"`` where any input is missing. ``value`` is only checked for
    being present (the decision uses the interval).

    >>> vs_expected([60, 75, 90], [55, 70, 86], [65, 80, 94], [72, 72, 72]).tolist()
    ['lower than expected', 'as expected', 'higher than expected']
    """
    try:
        v, lo, hi, e = np.broadcast_arrays(
            *(np.asarray(a, dtype=float) for a in (value, lower_ci, upper_ci, expected))
        )
    except (TypeError, ValueError):
        raise RequestError(
            "value, limits and expected values must be numbers of equal length."
        ) from None
    with np.errstate(invalid="ignore"):
        out = np.where(
            hi < e, LOWER_THAN_EXPECTED, np.where(lo > e, HIGHER_THAN_EXPECTED, AS_EXPECTED)
        ).astype(object)
    out[~(np.isfinite(v) & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(e))] = NO_DATA
    return out
