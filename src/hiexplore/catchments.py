"""Modelled GP practice catchments: a doubly constrained spatial interaction model.

Screening and immunisation figures are published per GP practice. They reach neighbourhoods
(LSOAs) through NHS Digital's "Patients registered at a GP practice by LSOA" file. Where that file
is missing, this module *models* each practice's catchment from what a user does have: LSOA
populations (by age), practice locations (postcode points) and published list sizes (by age band).

The model (Wilson 1971, doubly constrained) allocates the registered population of each LSOA
``i`` and age band ``b`` to practices ``j``:

.. math::

    T_{ijb} = A_{ib}\\,B_{jb}\\,O_{ib}\\,D_{jb}\\,f_{ij}, \\qquad
    \\sum_j T_{ijb} = O_{ib}, \\qquad \\sum_i T_{ijb} = D_{jb}

where ``O_ib`` is the LSOA's population in the band times the band's registration ratio,
``D_jb`` the practice's published list in the band, and the balancing factors ``A``, ``B`` are
found by iterative proportional fitting (Furness 1965), all bands at once on a sparse candidate
set (each LSOA's 20 nearest practices), so a national run (33,755 LSOAs x 6,700 practices) takes
seconds.

Constraints and how registrations are reconciled with population:

* **Practices: exact.** Every practice's catchment sums to its published list size (and to each
  age band of it). Patients the model places in LSOAs outside the dataset's area come back with
  ``in_area=False``: counted, not lost.
* **LSOAs: targets.** GP lists exceed the resident population (about 7% in England, 13% at ages
  16-49: people who moved away, died or emigrated and are not yet removed). Each LSOA's target is
  its mid-year population times the *national* registered/resident ratio of its age band
  (:func:`registration_ratios`). The true local ratio varies (0.83-1.33 between Pennine LSOAs),
  so by default the target is met softly (``CatchmentParams.lsoa_constraint`` = 0.965, the
  KL-relaxed balancing of Chizat et al. 2018): an LSOA may take a few per cent more or fewer
  patients where the list sizes around it ask for that. ``lsoa_constraint=1`` is the textbook
  model with exact LSOA totals; it scored a little lower and converges far more slowly.
* **The buffer: capped.** LSOAs outside the area, added around it so that border practices have
  somewhere to draw from, carry ``sum_j T_ijb <= O_ib`` only: practices not in the tables also
  serve them (Erlander and Stewart 1990 on entropy models with inequality constraints).

The deterrence function, fitted on observed registrations (see :class:`CatchmentParams`), is

.. math::

    f_{ij} = (d_{ij} + d_0)^{-\\alpha}\\,
             \\exp\\!\\left(-\\beta\\,(c_j / c_\\mathrm{ref})^{\\theta}\\,d_{ij}\\right)\\,
             \\exp\\!\\left(-\\varphi\\,\\lvert c_i - c_j \\rvert\\right)

with ``d`` the straight-line distance (km) from the LSOA's point to the practice's postcode,
``c_j`` the share of the practice's list aged 0-15, ``c_i`` the LSOA's share of residents aged
0-15 and ``c_ref`` the national median practice share. The first two factors are Tanner's
combined power-exponential decay; ``theta`` lets practices with young lists draw from nearer
(and practices with old lists from further); ``phi`` favours practices whose list resembles the
neighbourhood's age profile.

References
----------
Wilson, A. G. (1971). A family of spatial interaction models, and associated developments.
*Environment and Planning A* 3(1), 1-32.
Furness, K. P. (1965). Time function iteration. *Traffic Engineering and Control* 7, 458-460.
Tanner, J. C. (1961). Factors affecting the amount of travel. Road Research Technical Paper 51.
Erlander, S. and Stewart, N. F. (1990). *The Gravity Model in Transportation Analysis*, VSP.
Chizat, L., Peyre, G., Schmitzer, B. and Vialard, F.-X. (2018). Scaling algorithms for unbalanced
optimal transport problems. *Mathematics of Computation* 87, 2563-2609.
Thibault, A., Chizat, L., Dossal, C. and Papadakis, N. (2021). Overrelaxed Sinkhorn-Knopp
algorithm for regularized optimal transport. *Algorithms* 14(5), 143.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.spatial import cKDTree

from .errors import DatasetError, RequestError

__all__ = [
    "AGE_BANDS",
    "BAND_AGES",
    "CALIBRATION_SUMMARY",
    "DEFAULT_PARAMS",
    "PLAIN_PARAMS",
    "REFERENCE_CHILD_SHARE",
    "UNALLOCATED_LSOA",
    "CalibrationResult",
    "CatchmentFit",
    "CatchmentParams",
    "calibrate_decay",
    "catchment_accuracy",
    "catchment_accuracy_by_practice",
    "fit_catchments",
    "lsoa_age_bands",
    "lsoa_points",
    "model_catchments",
    "practice_age_bands",
    "registration_ratios",
]

#: Age bands used when both the origins and the practices carry them (column names).
AGE_BANDS: tuple[str, ...] = ("age_0_15", "age_16_49", "age_50_64", "age_65_plus")
#: Inclusive single-year ages of each band (``None`` = open-ended). These are the bands both
#: sides can make: practice lists come as total, 16+, 50+ and 65+ (NHS Digital via the House of
#: Commons Library); ONS single years of age (or hiexplore's population bands) add up to them.
BAND_AGES: Mapping[str, tuple[int, int | None]] = {
    "age_0_15": (0, 15),
    "age_16_49": (16, 49),
    "age_50_64": (50, 64),
    "age_65_plus": (65, None),
}
#: hiexplore.io.population's bands that sum to each of :data:`AGE_BANDS`.
_POPULATION_READER_BANDS: Mapping[str, tuple[str, ...]] = {
    "age_0_15": ("age_0_4", "age_5_15"),
    "age_16_49": ("age_16_24", "age_25_49"),
    "age_50_64": ("age_50_64",),
    "age_65_plus": ("age_65_74", "age_75_plus"),
}
#: Cumulative list columns (total, 16+, 50+, 65+): hiexplore.io.registrations.read_list_sizes
#: names, then the House of Commons Library ``gp-by-age.csv`` names.
_LIST_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("list_size", "list_16_plus", "list_50_plus", "list_65_plus"),
    ("TOTAL", "16OV", "50OV", "65OV"),
)
#: Median over English practices of the share of the list aged 0-15 (NHS Digital, April 2020,
#: 6,730 practices, via the House of Commons Library's ``gp-by-age.csv``): 0.1804.
REFERENCE_CHILD_SHARE: float = 0.1804
#: Pseudo LSOA code for patients of a practice with no LSOA within reach (bad coordinates).
UNALLOCATED_LSOA: str = "UNALLOCATED"
_TOTAL = "total"
_SHARE_RATIO_CLIP = (0.5, 2.0)
_MAX_LSOAS_PER_PRACTICE = 400
_RELAXATION = 1.5
_F_FLOOR = 1e-30


@dataclass(frozen=True)
class CatchmentParams:
    """Constants of the deterrence function and of the candidate set.

    The defaults (:data:`DEFAULT_PARAMS`) were fitted by :func:`calibrate_decay` on one region's
    observed registrations: NHS Digital "Patients registered at a GP practice", April 2020, for
    the 79 Pennine Lancashire practices with over 1,000 patients (see ``docs/catchments.md`` and
    :data:`CALIBRATION_SUMMARY`). They are used elsewhere as national defaults, which is an
    assumption: catchments may be wider in rural areas and tighter in London.

    Attributes
    ----------
    beta_per_km
        Exponential decay rate for a practice with the reference share of children.
    alpha
        Power decay exponent (Tanner); 0 gives a pure exponential.
    offset_km
        ``d_0``, added to the distance in the power term (an LSOA point's distance to a practice
        in the same LSOA is not zero for its residents).
    child_reach
        ``theta``: the decay rate scales as ``(c_j / c_ref) ** theta`` (clipped to 0.5-2).
    age_similarity
        ``phi``: penalty per unit difference in the 0-15 share of LSOA and practice list.
    k_nearest
        Candidate practices per LSOA (nearest first).
    reach_multiple
        Each practice also gets its nearest LSOAs until they hold this multiple of its list.
    max_distance_m
        Candidate practices must lie within this straight-line distance.
    lsoa_constraint
        Strength of the LSOA (origin) constraint, in (0, 1]. 1 is Wilson's doubly constrained
        model: each in-area LSOA receives exactly its population times the registration
        ratio. Below 1 those totals are targets (KL-relaxed): an LSOA may receive a few per cent
        more or fewer, as registered/resident ratios really do vary between LSOAs (about
        +-7% in Pennine Lancashire). List sizes stay exact either way.
    """

    beta_per_km: float = 0.74
    alpha: float = 0.46
    offset_km: float = 0.2
    child_reach: float = 1.12
    age_similarity: float = 6.7
    k_nearest: int = 20
    reach_multiple: float = 4.0
    max_distance_m: float = 30_000.0
    lsoa_constraint: float = 0.965

    def __post_init__(self) -> None:
        rules = {
            "beta_per_km": (self.beta_per_km >= 0, ">= 0"),
            "alpha": (self.alpha >= 0, ">= 0"),
            "offset_km": (self.offset_km > 0, "> 0"),
            "child_reach": (True, "finite"),
            "age_similarity": (self.age_similarity >= 0, ">= 0"),
            "k_nearest": (self.k_nearest >= 1, ">= 1"),
            "reach_multiple": (self.reach_multiple >= 0, ">= 0"),
            "max_distance_m": (self.max_distance_m > 0, "> 0"),
            "lsoa_constraint": (0 < self.lsoa_constraint <= 1, "in (0, 1]"),
        }
        for name, (ok, rule) in rules.items():
            value = getattr(self, name)
            if not ok or not math.isfinite(float(value)):
                raise RequestError(f"CatchmentParams.{name} must be {rule}, got {value!r}.")


#: The fitted defaults (see :class:`CatchmentParams`).
DEFAULT_PARAMS = CatchmentParams()
#: The plain model of the issue: exponential decay only, no age terms (used for the baseline).
PLAIN_PARAMS = CatchmentParams(
    beta_per_km=1.0,
    alpha=0.0,
    child_reach=0.0,
    age_similarity=0.0,
    k_nearest=80,
    lsoa_constraint=1.0,
)
#: Where :data:`DEFAULT_PARAMS` came from and how well they do (benchmarks/catchment_accuracy.py).
CALIBRATION_SUMMARY: Mapping[str, Any] = {
    "observed": (
        "NHS Digital 'Patients registered at a GP practice' by LSOA (gp-reg-pat-prac-lsoa-all),"
        " April 2020, Pennine Lancashire extract (bwd-ph/mapdata)"
    ),
    "practices_scored": 79,
    "inputs": (
        "ONS mid-2020 LSOA 2011 population by age; epraccur postcodes placed with Code-Point"
        " Open; April 2020 list sizes by age band"
    ),
    "accuracy": 0.7963,
    "accuracy_plain_baseline": 0.7048,
    "accuracy_heldout_mean": 0.7927,
    "accuracy_insample_same_halves": 0.7959,
}


# ----------------------------------------------------------------------------------------------
# Inputs: age bands, LSOA points, registration ratios


def lsoa_age_bands(population: pd.DataFrame, *, code_column: str = "lsoa_code") -> pd.DataFrame:
    """LSOA populations in :data:`AGE_BANDS`.

    ``population`` has one row per LSOA and either one column per single year of age (``"0"``
    ... ``"89"`` and the open-ended ``"90+"``, as in ONS SAPE mid-year estimates; ints are
    accepted too) or the bands of ``hiexplore.io.population.read_population_syoa``
    (``age_0_4``, ``age_5_15``, ``age_16_24``, ``age_25_49``, ``age_50_64``, ``age_65_74``,
    ``age_75_plus``). Returns ``code_column``, ``population`` (the sum of the bands) and the bands.
    """
    if code_column not in population.columns:
        raise DatasetError(
            f"lsoa_age_bands: column {code_column!r} not found; have {list(population.columns)}"
        )
    out = pd.DataFrame({code_column: population[code_column].astype(str).to_numpy()})
    reader_cols = {c for cols in _POPULATION_READER_BANDS.values() for c in cols}
    if reader_cols <= set(population.columns):
        for band, cols in _POPULATION_READER_BANDS.items():
            out[band] = population[list(cols)].to_numpy(dtype=float).sum(axis=1)
        out["population"] = out[list(AGE_BANDS)].sum(axis=1)
        return out
    ages: dict[int, Any] = {}
    for col in population.columns:
        name = str(col).strip().rstrip("+")
        if name.isdigit():
            ages[int(name)] = col
    if not ages or min(ages) != 0:
        raise DatasetError(
            "lsoa_age_bands: expected single-year-of-age columns '0', '1', ..., '90+' or the"
            f" bands {sorted(reader_cols)}; found columns {list(population.columns)[:12]}"
        )
    missing = [a for a in range(max(ages) + 1) if a not in ages]
    if missing:
        raise DatasetError(f"lsoa_age_bands: single-year-of-age columns missing for ages {missing}")
    for band, (lo, hi) in BAND_AGES.items():
        cols = [ages[a] for a in ages if a >= lo and (hi is None or a <= hi)]
        out[band] = population[cols].to_numpy(dtype=float).sum(axis=1)
    out["population"] = out[list(AGE_BANDS)].sum(axis=1)
    return out


def practice_age_bands(list_sizes: pd.DataFrame) -> pd.DataFrame:
    """Practice lists in :data:`AGE_BANDS` from cumulative counts (total, 16+, 50+, 65+).

    The columns may be those of ``hiexplore.io.registrations.read_list_sizes`` (``list_size``,
    ``list_16_plus``, ``list_50_plus``, ``list_65_plus``) or of the House of Commons Library's
    ``gp-by-age.csv`` (``TOTAL``, ``16OV``, ``50OV``, ``65OV``). Other columns are kept;
    ``list_size`` is set to the total.
    """
    for names in _LIST_COLUMNS:
        if set(names) <= set(list_sizes.columns):
            break
    else:
        raise DatasetError(
            "practice_age_bands: expected cumulative list columns"
            f" {list(_LIST_COLUMNS[0])} or {list(_LIST_COLUMNS[1])};"
            f" found {list(list_sizes.columns)}"
        )
    v = list_sizes[list(names)].to_numpy(dtype=float)
    bands = np.column_stack([v[:, 0] - v[:, 1], v[:, 1] - v[:, 2], v[:, 2] - v[:, 3], v[:, 3]])
    bad = np.flatnonzero((bands < 0).any(axis=1) | ~np.isfinite(bands).all(axis=1))
    if len(bad):
        raise DatasetError(
            "practice_age_bands: cumulative counts must be numbers that do not increase with age"
            f" (total >= 16+ >= 50+ >= 65+); violated in rows {bad[:10].tolist()}"
        )
    out = list_sizes.copy()
    out["list_size"] = v[:, 0]
    for k, band in enumerate(AGE_BANDS):
        out[band] = bands[:, k]
    return out


def registration_ratios(
    population: pd.DataFrame, practices: pd.DataFrame, *, bands: bool = True
) -> dict[str, float]:
    """Registered patients per resident, overall and per age band.

    Pass the *national* tables (all English LSOAs and all practices). GP lists exceed the
    population (about 1.07 in England in April 2020: people who moved away or died and are not yet
    removed, students registered twice...), most of all at ages 16-49. The model multiplies each
    LSOA's population by these ratios so that origins and destinations add up.
    """
    out = {_TOTAL: float(practices["list_size"].sum() / population["population"].sum())}
    if bands and set(AGE_BANDS) <= set(population.columns) & set(practices.columns):
        for band in AGE_BANDS:
            out[band] = float(practices[band].sum() / population[band].sum())
    return out


def lsoa_points(
    boundaries: Any,
    postcodes: pd.DataFrame | None = None,
    *,
    code_column: str = "lsoa_code",
) -> pd.DataFrame:
    """One point per LSOA in British National Grid metres (EPSG:27700).

    Population-weighted centroids are not in the data, so where ``postcodes`` (Code-Point Open
    ``x``/``y`` in EPSG:27700) are given, an LSOA's point is the mean of the postcode units that
    fall inside it: a proxy for a population-weighted centroid (postcode units hold about 15
    addresses each; non-residential ones are included). Otherwise the polygon centroid is used.
    ``boundaries`` is a GeoDataFrame of LSOA polygons in any CRS.
    Returns ``code_column``, ``x``, ``y``, ``point_source`` (``postcode_mean``/``centroid``).
    """
    import geopandas as gpd

    if code_column not in boundaries.columns:
        raise DatasetError(f"lsoa_points: column {code_column!r} not in the boundaries")
    polys = boundaries[[code_column, "geometry"]].to_crs(27700)
    cent = polys.geometry.centroid
    out = pd.DataFrame(
        {
            code_column: polys[code_column].astype(str).to_numpy(),
            "x": cent.x.to_numpy(),
            "y": cent.y.to_numpy(),
            "point_source": "centroid",
        }
    )
    if postcodes is not None and len(postcodes):
        pts = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(postcodes["x"], postcodes["y"]), crs=27700
        )
        joined = gpd.sjoin(pts, polys, predicate="within", how="inner")
        joined["x"] = joined.geometry.x
        joined["y"] = joined.geometry.y
        means = joined.groupby(code_column)[["x", "y"]].mean()
        hit = out[code_column].isin(means.index).to_numpy()
        codes = out.loc[hit, code_column]
        out.loc[hit, "x"] = means["x"].reindex(codes).to_numpy()
        out.loc[hit, "y"] = means["y"].reindex(codes).to_numpy()
        out.loc[hit, "point_source"] = "postcode_mean"
    return out


# ----------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class CatchmentFit:
    """A fitted catchment model.

    ``catchments``: ``practice_code``, ``lsoa_code``, ``patients``, ``catchment_source``
    (``"modelled"``), ``in_area`` and, when age bands were used, ``patients_<band>``.
    ``origin_residual``: per LSOA, modelled minus target registered patients (0 in the area
    when ``lsoa_constraint`` is 1, a few per cent either way below 1; <= 0 outside the area).
    ``out_of_area_share``: per practice, the share of the list living outside the dataset's
    area. ``unallocated``: patients of practices with no LSOA within reach (kept on the pseudo
    LSOA :data:`UNALLOCATED_LSOA`).
    """

    catchments: pd.DataFrame
    params: CatchmentParams
    bands: tuple[str, ...]
    ratios: Mapping[str, float]
    iterations: int
    converged: bool
    origin_residual: pd.Series
    out_of_area_share: pd.Series
    unallocated: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))


def _require(frame: pd.DataFrame, name: str, columns: Sequence[str], key: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DatasetError(
            f"{name}: expected columns {list(columns)}; missing {absent}"
            f" (found {list(frame.columns)})"
        )
    dup = frame[key].astype(str)
    dup = dup[dup.duplicated()]
    if len(dup):
        raise DatasetError(f"{name}: {key} must be unique; repeated: {dup.unique()[:10].tolist()}")
    for col in columns:
        if col == key:
            continue
        vals = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(vals))
        if col not in ("x", "y"):
            bad = np.union1d(bad, np.flatnonzero(vals < 0))
        if len(bad):
            rows = frame[key].astype(str).to_numpy()[bad[:5]].tolist()
            raise DatasetError(
                f"{name}: column {col!r} must be a finite number"
                f"{'' if col in ('x', 'y') else ' >= 0'}; bad value for {rows}"
            )


@dataclass(frozen=True)
class _Inputs:
    """Validated arrays for the model: origins (n), practices (m), bands (B)."""

    lsoa_codes: np.ndarray
    practice_codes: np.ndarray
    ox: np.ndarray
    oy: np.ndarray
    px: np.ndarray
    py: np.ndarray
    origin_mass: np.ndarray  # n x B, registered-patient targets
    practice_mass: np.ndarray  # m x B, list sizes
    exact: np.ndarray  # n bool: equality constraint (in area)
    child_origin: np.ndarray | None  # n, share aged 0-15
    child_practice: np.ndarray | None  # m
    bands: tuple[str, ...]
    ratios: dict[str, float]


def _prepare(
    origins: pd.DataFrame,
    practices: pd.DataFrame,
    in_area: Collection[str] | None,
    registration_ratio: float | Mapping[str, float] | None,
    use_bands: bool,
) -> _Inputs:
    _require(origins, "origins", ["lsoa_code", "x", "y", "population"], "lsoa_code")
    _require(practices, "practices", ["practice_code", "x", "y", "list_size"], "practice_code")
    bands: tuple[str, ...] = ()
    if (
        use_bands
        and set(AGE_BANDS) <= set(origins.columns)
        and set(AGE_BANDS) <= set(practices.columns)
    ):
        bands = AGE_BANDS
        _require(practices, "practices", ["practice_code", *AGE_BANDS], "practice_code")
        _require(origins, "origins", ["lsoa_code", *AGE_BANDS], "lsoa_code")
        gap = np.abs(
            practices[list(AGE_BANDS)].to_numpy(float).sum(axis=1)
            - practices["list_size"].to_numpy(float)
        )
        if (gap > 0.5).any():
            codes = practices["practice_code"].astype(str).to_numpy()[gap > 0.5][:5].tolist()
            raise DatasetError(
                f"practices: age-band columns do not add up to list_size for {codes}"
            )
    cols = list(bands) if bands else ["population"]
    pcols = list(bands) if bands else ["list_size"]
    pop = origins[cols].to_numpy(dtype=float)
    lists = practices[pcols].to_numpy(dtype=float)
    names = list(bands) if bands else [_TOTAL]

    if registration_ratio is None:
        ratios = {
            n: float(lists[:, k].sum() / pop[:, k].sum()) if pop[:, k].sum() > 0 else 1.0
            for k, n in enumerate(names)
        }
    elif isinstance(registration_ratio, Mapping):
        missing = [n for n in names if n not in registration_ratio]
        if missing:
            raise RequestError(
                f"registration_ratio has no value for {missing}.", list(registration_ratio)
            )
        ratios = {n: float(registration_ratio[n]) for n in names}
    else:
        ratios = dict.fromkeys(names, float(registration_ratio))
    scale = np.array([ratios[n] for n in names])

    codes = origins["lsoa_code"].astype(str).to_numpy()
    if in_area is None:
        exact = np.ones(len(codes), dtype=bool)
    else:
        exact = np.isin(codes, np.array(sorted({str(c) for c in in_area}), dtype=object))

    child_o = child_p = None
    if bands:
        tot_o = pop.sum(axis=1)
        tot_p = lists.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            child_o = np.where(tot_o > 0, pop[:, 0] / tot_o, REFERENCE_CHILD_SHARE)
            child_p = np.where(tot_p > 0, lists[:, 0] / tot_p, REFERENCE_CHILD_SHARE)
    return _Inputs(
        lsoa_codes=codes,
        practice_codes=practices["practice_code"].astype(str).to_numpy(),
        ox=origins["x"].to_numpy(dtype=float),
        oy=origins["y"].to_numpy(dtype=float),
        px=practices["x"].to_numpy(dtype=float),
        py=practices["y"].to_numpy(dtype=float),
        origin_mass=pop * scale[None, :],
        practice_mass=lists,
        exact=exact,
        child_origin=child_o,
        child_practice=child_p,
        bands=bands,
        ratios=ratios,
    )


@dataclass(frozen=True)
class _Pairs:
    """The sparse candidate set: origin ``i`` x practice ``j`` at distance ``d_km``."""

    i: np.ndarray
    j: np.ndarray
    d_km: np.ndarray
    n: int
    m: int


def _candidates(inp: _Inputs, params: CatchmentParams, max_distance_m: float) -> _Pairs:
    """Each LSOA's ``k_nearest`` practices, plus each practice's nearest LSOAs until they hold
    ``reach_multiple`` times its list (so that a practice in a dense cluster, not among the
    nearest few of many LSOAs, still has people to draw from), all within ``max_distance_m``."""
    n, m = len(inp.ox), len(inp.px)
    if n == 0 or m == 0:
        return _Pairs(np.zeros(0, int), np.zeros(0, int), np.zeros(0), n, m)
    opts = np.column_stack([inp.ox, inp.oy])
    ppts = np.column_stack([inp.px, inp.py])
    kk = min(params.k_nearest, m)
    d, j = cKDTree(ppts).query(opts, k=kk, distance_upper_bound=max_distance_m)
    d = d.reshape(n, kk)
    j = j.reshape(n, kk)
    ok = np.isfinite(d)
    i_all = [np.broadcast_to(np.arange(n)[:, None], d.shape)[ok]]
    j_all = [j[ok]]
    if params.reach_multiple > 0:
        mass = inp.origin_mass.sum(axis=1)
        need = params.reach_multiple * inp.practice_mass.sum(axis=1)
        ko = min(
            n,
            max(1, int(np.ceil(need.max() / max(np.median(mass), 1.0))) * 2 + 1),
            _MAX_LSOAS_PER_PRACTICE,
        )
        d2, i2 = cKDTree(opts).query(ppts, k=ko, distance_upper_bound=max_distance_m)
        d2 = d2.reshape(m, ko)
        i2 = i2.reshape(m, ko)
        ok2 = np.isfinite(d2)
        held = np.where(ok2, mass[np.where(ok2, i2, 0)], 0.0)
        before = np.cumsum(held, axis=1) - held
        ok2 &= before < need[:, None]
        i_all.append(i2[ok2])
        j_all.append(np.broadcast_to(np.arange(m)[:, None], d2.shape)[ok2])
    i = np.concatenate(i_all)
    jj = np.concatenate(j_all)
    key = np.unique(i.astype(np.int64) * m + jj)
    i = key // m
    jj = key % m
    dist = np.hypot(inp.ox[i] - inp.px[jj], inp.oy[i] - inp.py[jj])
    return _Pairs(i=i, j=jj, d_km=dist / 1000.0, n=n, m=m)


def _deterrence(inp: _Inputs, pairs: _Pairs, params: CatchmentParams) -> np.ndarray:
    d = pairs.d_km
    beta = np.full(len(d), params.beta_per_km)
    f = np.ones(len(d))
    if inp.child_practice is not None and (params.child_reach or params.age_similarity):
        cj = inp.child_practice[pairs.j]
        ci = inp.child_origin[pairs.i] if inp.child_origin is not None else cj
        if params.child_reach:
            rel = np.clip(cj / REFERENCE_CHILD_SHARE, *_SHARE_RATIO_CLIP)
            beta = beta * rel**params.child_reach
        if params.age_similarity:
            f *= np.exp(-params.age_similarity * np.abs(ci - cj))
    if params.alpha:
        f *= (d + params.offset_km) ** (-params.alpha)
    f *= np.exp(-beta * d)
    # keep every candidate pair usable (no underflow to exactly zero)
    return np.maximum(f, _F_FLOOR)


def _balance(
    inp: _Inputs,
    pairs: _Pairs,
    f: np.ndarray,
    *,
    strength: float,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int, bool]:
    """Furness / IPF for all bands at once; returns the flows per pair x band.

    Each sweep sets the LSOA factors, then the practice factors so that list sizes hold. With
    the prior ``q_ij = O_i f_ij`` and ``T_ij = alpha_i q_ij b_j``, the LSOA step is
    ``alpha_i = (sum_j q_ij b_j / O_i) ** -strength``: ``strength`` = 1 meets the LSOA total
    exactly (Furness); below 1 it is the KL-relaxed ("unbalanced") step of Chizat, Peyre,
    Schmitzer and Vialard (2018), which trades LSOA totals against the distance pattern and
    always converges fast. Outside the area ``alpha_i <= 1``, i.e. ``sum_j T_ij <= O_i``.
    The factors are over-relaxed geometrically, ``x <- x^(1-w) x_new^w`` with ``w`` = 1.5
    (Thibault, Chizat, Dossal and Papadakis 2021), which saves about half the sweeps; if that
    misbehaves the plain updates are used. The returned flows use plain practice factors, so
    list sizes hold exactly. Converged: one more sweep would move less than ``tol`` of all
    registered patients between LSOAs (for ``strength`` = 1: the LSOA totals are off by less).
    """
    n, m = pairs.n, pairs.m
    big_o = inp.origin_mass
    big_d = inp.practice_mass
    total = max(float(big_o.sum()), 1.0)
    mat = sp.csr_matrix((f, (pairs.i, pairs.j)), shape=(n, m))
    mat_t = mat.T.tocsr()
    exact = inp.exact[:, None]

    def lsoa_step(rs: np.ndarray) -> np.ndarray:
        # a = O_i * alpha_i, the factor on f (the prior mass O_i folded in)
        a = np.where(rs > 0, big_o / rs, 0.0)
        if strength != 1.0:
            a = np.where(rs > 0, a**strength * big_o ** (1.0 - strength), 0.0)
        return a

    def cap(a: np.ndarray) -> np.ndarray:
        return np.where(exact, a, np.minimum(a, big_o))

    def run(omega: float) -> tuple[np.ndarray, np.ndarray, int, bool, bool]:
        a = np.ones_like(big_o)
        b = np.ones_like(big_d)
        b_plain = b
        it = 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for it in range(1, max_iter + 1):
                a_new = lsoa_step(mat @ b)
                if omega != 1.0:
                    a_new = np.where(a > 0, a ** (1 - omega) * a_new**omega, a_new)
                a = cap(a_new)
                cs = mat_t @ a
                b_plain = np.where(cs > 0, big_d / cs, 0.0)
                b = (
                    np.where(b > 0, b ** (1 - omega) * b_plain**omega, b_plain)
                    if omega != 1.0
                    else b_plain
                )
                if it % 10 == 0 or it == max_iter:
                    if not (np.isfinite(a).all() and np.isfinite(b).all()):
                        return a, b_plain, it, False, False
                    rs = mat @ b_plain
                    move = np.abs(cap(lsoa_step(rs)) * rs - a * rs).sum() / total
                    if move < tol:
                        return a, b_plain, it, True, True
        return a, b_plain, it, False, bool(np.isfinite(a).all() and np.isfinite(b_plain).all())

    a, b, it, converged, finite = run(_RELAXATION)
    if not finite:
        a, b, it2, converged, finite = run(1.0)
        it += it2
    if not finite:
        raise RequestError(
            "The catchment model diverged: some practices cannot be given their list from the"
            " LSOAs near them. Add origins around the practices (a wider buffer), raise"
            " max_distance_m or reach_multiple, or lower lsoa_constraint."
        )
    flows = (a[pairs.i] * b[pairs.j]) * f[:, None]
    return flows, it, converged


def _assemble(
    inp: _Inputs,
    pairs: _Pairs,
    flows: np.ndarray,
    params: CatchmentParams,
    it: int,
    converged: bool,
) -> CatchmentFit:
    in_area = inp.exact
    total = flows.sum(axis=1)
    keep = total > 0
    out = pd.DataFrame(
        {
            "practice_code": inp.practice_codes[pairs.j[keep]],
            "lsoa_code": inp.lsoa_codes[pairs.i[keep]],
            "patients": total[keep],
            "catchment_source": "modelled",
            "in_area": in_area[pairs.i[keep]],
        }
    )
    if inp.bands:
        for k, band in enumerate(inp.bands):
            out[f"patients_{band}"] = flows[keep, k]
    # practices with no LSOA within reach keep their patients, on a pseudo LSOA
    got = np.bincount(pairs.j, weights=total, minlength=pairs.m)
    want = inp.practice_mass.sum(axis=1)
    lost = want - got
    unalloc_idx = np.flatnonzero(lost > 1e-9 * np.maximum(want, 1.0))
    if len(unalloc_idx):
        extra = pd.DataFrame(
            {
                "practice_code": inp.practice_codes[unalloc_idx],
                "lsoa_code": UNALLOCATED_LSOA,
                "patients": lost[unalloc_idx],
                "catchment_source": "modelled",
                "in_area": False,
            }
        )
        if inp.bands:
            lost_b = inp.practice_mass - np.column_stack(
                [
                    np.bincount(pairs.j, weights=flows[:, k], minlength=pairs.m)
                    for k in range(len(inp.bands))
                ]
            )
            for k, band in enumerate(inp.bands):
                extra[f"patients_{band}"] = lost_b[unalloc_idx, k]
        out = pd.concat([out, extra], ignore_index=True)
    out = out.sort_values(["practice_code", "lsoa_code"], kind="stable").reset_index(drop=True)
    resid = np.bincount(pairs.i, weights=total, minlength=pairs.n) - inp.origin_mass.sum(axis=1)
    by_prac = out.groupby("practice_code", sort=True)
    outside = out["patients"].where(~out["in_area"], 0.0).groupby(out["practice_code"]).sum()
    share = (outside / by_prac["patients"].sum()).rename("out_of_area_share")
    return CatchmentFit(
        catchments=out,
        params=params,
        bands=inp.bands,
        ratios=inp.ratios,
        iterations=it,
        converged=converged,
        origin_residual=pd.Series(
            resid, index=pd.Index(inp.lsoa_codes, name="lsoa_code"), name="origin_residual"
        ),
        out_of_area_share=share,
        unallocated=pd.Series(
            lost[unalloc_idx],
            index=pd.Index(inp.practice_codes[unalloc_idx], name="practice_code"),
            name="unallocated",
        ),
    )


def fit_catchments(
    origins: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    params: CatchmentParams = DEFAULT_PARAMS,
    max_distance_m: float | None = None,
    in_area: Collection[str] | None = None,
    registration_ratio: float | Mapping[str, float] | None = None,
    age_bands: bool = True,
    tol: float = 1e-4,
    max_iter: int = 5000,
) -> CatchmentFit:
    """Fit the doubly constrained model and return the catchments with diagnostics.

    Parameters
    ----------
    origins
        One row per LSOA: ``lsoa_code``, ``x``, ``y`` (EPSG:27700 metres; see :func:`lsoa_points`),
        ``population`` and, optionally, the :data:`AGE_BANDS` columns (:func:`lsoa_age_bands`).
        Include a buffer of LSOAs around the area (10 km or more) so that border practices
        have their whole catchment.
    practices
        One row per practice: ``practice_code``, ``x``, ``y``, ``list_size`` and optionally the
        :data:`AGE_BANDS` (:func:`practice_age_bands`). Age bands are used only when both
        tables have them and ``age_bands`` is true; each band is balanced separately.
    params
        The deterrence constants (:data:`DEFAULT_PARAMS`).
    max_distance_m
        Overrides ``params.max_distance_m``.
    in_area
        The dataset's LSOA codes. Their totals are met exactly; other origins (the buffer) are
        only capped at their registered population, because practices outside the tables also
        serve them. Patients allocated there come back with ``in_area=False``. ``None``: every
        origin is in the area and constrained exactly (the textbook doubly constrained model).
    registration_ratio
        Registered patients per resident (overall, or per band as returned by
        :func:`registration_ratios` on *national* tables). ``None``: sum of list sizes divided
        by the sum of populations of the given tables, right only for self-contained inputs.
    tol, max_iter
        Stop when the LSOA totals are off by less than ``tol`` of all registered patients (sum
        of absolute LSOA errors over the total; 1e-4 is one patient in 10,000). The practice
        totals are exact after every sweep. ``CatchmentFit.origin_residual`` has the rest.
    """
    inp = _prepare(origins, practices, in_area, registration_ratio, age_bands)
    maxd = params.max_distance_m if max_distance_m is None else float(max_distance_m)
    if maxd <= 0:
        raise RequestError(f"max_distance_m must be > 0, got {max_distance_m!r}.")
    pairs = _candidates(inp, params, maxd)
    f = _deterrence(inp, pairs, params)
    flows, it, converged = _balance(
        inp, pairs, f, strength=params.lsoa_constraint, tol=tol, max_iter=max_iter
    )
    return _assemble(inp, pairs, flows, params, it, converged)


def model_catchments(
    origins: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    params: CatchmentParams = DEFAULT_PARAMS,
    max_distance_m: float | None = None,
    in_area: Collection[str] | None = None,
    registration_ratio: float | Mapping[str, float] | None = None,
    age_bands: bool = True,
) -> pd.DataFrame:
    """Modelled catchments: patients of each practice by LSOA (``catchment_source="modelled"``).

    The frame has ``practice_code``, ``lsoa_code``, ``patients``, ``catchment_source``,
    ``in_area`` (and ``patients_<band>`` when age bands are used). Each practice's rows sum to
    its list size, in-area and out-of-area patients together. See :func:`fit_catchments` for
    the arguments and the module docstring for the model.

    Examples
    --------
    Two practices 4 km apart, each next to one LSOA of equal size: each practice serves
    mostly its own LSOA, and the totals hold.

    >>> o = pd.DataFrame({"lsoa_code": ["A", "B"], "x": [0.0, 4000.0], "y": [0.0, 0.0],
    ...                   "population": [1000.0, 1000.0]})
    >>> p = pd.DataFrame({"practice_code": ["P1", "P2"], "x": [0.0, 4000.0], "y": [0.0, 0.0],
    ...                   "list_size": [1000.0, 1000.0]})
    >>> c = model_catchments(o, p)
    >>> c.groupby("practice_code").patients.sum().round(6).tolist()
    [1000.0, 1000.0]
    >>> float(c.query("practice_code == 'P1' and lsoa_code == 'A'").patients.iloc[0]) > 900
    True
    """
    return fit_catchments(
        origins,
        practices,
        params=params,
        max_distance_m=max_distance_m,
        in_area=in_area,
        registration_ratio=registration_ratio,
        age_bands=age_bands,
    ).catchments


# ----------------------------------------------------------------------------------------------
# Accuracy


def catchment_accuracy_by_practice(
    observed: pd.DataFrame,
    modelled: pd.DataFrame,
    *,
    practices: Collection[str] | None = None,
    partial: Collection[str] = (),
    area: Collection[str] | None = None,
) -> pd.DataFrame:
    """Per practice, the overlap of observed and modelled catchments.

    ``overlap = sum_lsoa min(observed share, modelled share)`` where a share is the fraction of
    the practice's patients (in the compared rows) living in the LSOA: 1 for identical
    catchments, 0 for disjoint ones (one minus the total variation distance). Observed rows
    on pseudo LSOAs (``NO2011``) count in the observed total and match nothing.

    ``partial`` practices are those whose observed rows cover only the LSOAs in ``area`` (an
    extract that keeps every practice's rows for the area's LSOAs but all rows only for the
    area's own practices); for them both sides are restricted to ``area`` before the shares.

    Returns ``practice_code``, ``observed_patients`` (the weight), ``modelled_patients``,
    ``overlap``, ``partial``.
    """
    for name, frame in (("observed", observed), ("modelled", modelled)):
        _need = [c for c in ("practice_code", "lsoa_code", "patients") if c not in frame.columns]
        if _need:
            raise DatasetError(f"{name}: missing columns {_need} (found {list(frame.columns)})")
    obs = observed[["practice_code", "lsoa_code", "patients"]].astype(
        {"practice_code": str, "lsoa_code": str, "patients": float}
    )
    mod = modelled[["practice_code", "lsoa_code", "patients"]].astype(
        {"practice_code": str, "lsoa_code": str, "patients": float}
    )
    codes = sorted(set(obs["practice_code"]) if practices is None else {str(p) for p in practices})
    obs = obs[obs["practice_code"].isin(codes)]
    mod = mod[mod["practice_code"].isin(codes)]
    part = {str(p) for p in partial}
    if part:
        if area is None:
            raise RequestError("catchment_accuracy: 'partial' practices need the 'area' LSOAs.")
        area_set = {str(a) for a in area}
        obs = obs[~obs["practice_code"].isin(part) | obs["lsoa_code"].isin(area_set)]
        mod = mod[~mod["practice_code"].isin(part) | mod["lsoa_code"].isin(area_set)]
    o = obs.groupby(["practice_code", "lsoa_code"])["patients"].sum()
    m = mod.groupby(["practice_code", "lsoa_code"])["patients"].sum()
    o_tot = o.groupby(level=0).sum()
    m_tot = m.groupby(level=0).sum()
    shares = pd.concat(
        [
            (o / o_tot.reindex(o.index, level=0).to_numpy()).rename("o"),
            (m / m_tot.reindex(m.index, level=0).to_numpy()).rename("m"),
        ],
        axis=1,
    ).fillna(0.0)
    overlap = shares.min(axis=1).groupby(level=0).sum()
    idx = pd.Index(codes, name="practice_code")
    out = pd.DataFrame(
        {
            "observed_patients": o_tot.reindex(idx).fillna(0.0),
            "modelled_patients": m_tot.reindex(idx).fillna(0.0),
            "overlap": overlap.reindex(idx).fillna(0.0),
        }
    )
    out["partial"] = out.index.isin(part)
    return out.reset_index()


def catchment_accuracy(
    observed: pd.DataFrame,
    modelled: pd.DataFrame,
    *,
    practices: Collection[str] | None = None,
    partial: Collection[str] = (),
    area: Collection[str] | None = None,
) -> float:
    """List-weighted mean overlap of observed and modelled catchments.

    .. math::

        \\mathrm{accuracy} = \\frac{\\sum_j N_j \\sum_i \\min(o_{ij}, m_{ij})}{\\sum_j N_j}

    with ``o_ij``, ``m_ij`` the observed and modelled shares of practice ``j``'s patients in
    LSOA ``i`` and ``N_j`` its observed patients (its list size when the extract is complete).
    Arguments as in :func:`catchment_accuracy_by_practice`.

    >>> obs = pd.DataFrame({"practice_code": ["P", "P"], "lsoa_code": ["A", "B"],
    ...                     "patients": [75.0, 25.0]})
    >>> mod = pd.DataFrame({"practice_code": ["P", "P"], "lsoa_code": ["A", "B"],
    ...                     "patients": [50.0, 50.0]})
    >>> catchment_accuracy(obs, mod)
    0.75
    """
    per = catchment_accuracy_by_practice(
        observed, modelled, practices=practices, partial=partial, area=area
    )
    w = per["observed_patients"].to_numpy(dtype=float)
    if w.sum() <= 0:
        raise RequestError("catchment_accuracy: no observed patients for the practices asked.")
    return float((per["overlap"].to_numpy() * w).sum() / w.sum())


# ----------------------------------------------------------------------------------------------
# Calibration


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate_decay`: the fitted constants and their accuracy."""

    params: CatchmentParams
    accuracy: float
    evaluations: int
    history: pd.DataFrame


_FITTABLE = (
    "beta_per_km",
    "alpha",
    "offset_km",
    "child_reach",
    "age_similarity",
    "lsoa_constraint",
)
_POSITIVE = {"beta_per_km", "alpha", "offset_km", "age_similarity"}


def calibrate_decay(
    origins: pd.DataFrame,
    practices: pd.DataFrame,
    observed: pd.DataFrame,
    *,
    initial: CatchmentParams = DEFAULT_PARAMS,
    fit: Sequence[str] = ("beta_per_km", "alpha", "child_reach", "age_similarity"),
    score_practices: Collection[str] | None = None,
    partial: Collection[str] = (),
    area: Collection[str] | None = None,
    in_area: Collection[str] | None = None,
    registration_ratio: float | Mapping[str, float] | None = None,
    age_bands: bool = True,
    max_evaluations: int = 150,
    tol: float = 1e-5,
) -> CalibrationResult:
    """Fit the deterrence constants to observed registrations by maximising the accuracy.

    Wilson's calibration matches the modelled mean trip length to the observed one; with
    several constants we maximise :func:`catchment_accuracy` directly (Nelder-Mead on the
    constants, positive ones on a log scale). ``score_practices`` restricts the practices whose
    accuracy is maximised: fit on one half and score the other with :func:`catchment_accuracy`
    to see how much the fit overfits. The candidate set is built once.
    """
    unknown = [name for name in fit if name not in _FITTABLE]
    if unknown:
        raise RequestError(f"calibrate_decay: cannot fit {unknown}.", list(_FITTABLE))
    inp = _prepare(origins, practices, in_area, registration_ratio, age_bands)
    pairs = _candidates(inp, initial, initial.max_distance_m)
    rows: list[dict[str, float]] = []

    def unpack(z: np.ndarray) -> CatchmentParams:
        values = {
            name: (float(np.exp(v)) if name in _POSITIVE else float(v))
            for name, v in zip(fit, z, strict=True)
        }
        return replace(initial, **values)

    def loss(z: np.ndarray) -> float:
        try:
            params = unpack(z)
        except RequestError:
            return 1.0
        f = _deterrence(inp, pairs, params)
        flows, it, conv = _balance(
            inp, pairs, f, strength=params.lsoa_constraint, tol=tol, max_iter=3000
        )
        mod = _assemble(inp, pairs, flows, params, it, conv).catchments
        acc = catchment_accuracy(
            observed, mod, practices=score_practices, partial=partial, area=area
        )
        rows.append({**{name: getattr(params, name) for name in fit}, "accuracy": acc})
        return -acc

    z0 = np.array(
        [
            math.log(max(getattr(initial, n), 1e-3)) if n in _POSITIVE else getattr(initial, n)
            for n in fit
        ]
    )
    res = minimize(
        loss,
        z0,
        method="Nelder-Mead",
        options={
            "maxfev": max_evaluations,
            "xatol": 1e-2,
            "fatol": 1e-4,
            "initial_simplex": np.vstack([z0] + [z0 + 0.3 * e for e in np.eye(len(z0))]),
        },
    )
    best = unpack(res.x)
    history = pd.DataFrame(rows)
    return CalibrationResult(
        params=best,
        accuracy=float(-res.fun),
        evaluations=len(rows),
        history=history,
    )
