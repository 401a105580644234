"""Spatial weights, local Moran's I for rates (LISA) and Getis-Ord Gi* hot spots (esda).

* :func:`queen_weights` builds queen-contiguity weights and attaches each island (an area
  with no contiguous neighbour, e.g. across a river or an estuary) to its nearest
  neighbour, saying so;
* :func:`local_moran_rate` finds clusters of high or low rates with Assuncao and Reis's
  empirical-Bayes standardised rates (``esda.Moran_Local_Rate``);
* :func:`getis_ord_star` finds hot and cold spots with Gi* (``esda.G_Local(star=True)``).

Randomness: esda draws its permutations after ``numpy.random.seed(seed)`` (global state).
These functions take an explicit ``seed`` and ``permutations``, and restore numpy's global
random state afterwards, so that results are reproducible and calling them has no side
effect on other random numbers.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .errors import RequestError

__all__ = [
    "PERMUTATIONS",
    "SEED",
    "QUEEN_TOLERANCE",
    "ALPHA",
    "CLUSTER_LABELS",
    "HOTSPOT_LABELS",
    "SpatialWeights",
    "queen_weights",
    "local_moran_rate",
    "getis_ord_star",
]

T = TypeVar("T")

PERMUTATIONS = 999
SEED = 0
ALPHA = 0.05
#: esda quadrant code (PySAL scheme) -> label
QUADRANTS = {1: "high-high", 2: "low-high", 3: "low-low", 4: "high-low"}
CLUSTER_LABELS = {
    "high-high": "high-high (hot spot)",
    "low-low": "low-low (cold spot)",
    "high-low": "high-low",
    "low-high": "low-high",
}
NOT_SIGNIFICANT = "not significant"
HOTSPOT_LABELS = ("hot spot", "cold spot", NOT_SIGNIFICANT)
#: a projected CRS for distances between centroids when the data are in degrees
DISTANCE_CRS = "EPSG:27700"
#: keep esda's simulated statistics (needed for z_sim, p_z_sim) up to this many values
MAX_KEPT_SIMULATIONS = 20_000_000
#: metres within which two areas count as touching (generalised boundaries leave tiny gaps)
QUEEN_TOLERANCE = 1.0


@dataclass(frozen=True)
class SpatialWeights:
    """Contiguity weights with the record of islands that were attached.

    Attributes
    ----------
    w : libpysal.weights.W
        Binary weights (transform "O"), ids = the area codes.
    ids : tuple of str
        Area codes in the order of ``w``.
    islands : tuple of str
        Areas that had no contiguous neighbour.
    attached : tuple of (str, str)
        (island, nearest area) links that were added, both ways.
    note : str
        Plain-language note for the user ("" when there were no islands).
    """

    w: object
    ids: tuple[str, ...]
    islands: tuple[str, ...]
    attached: tuple[tuple[str, str], ...]
    note: str


def queen_weights(
    gdf: gpd.GeoDataFrame, id_col: str = "area_code", *, tolerance: float = QUEEN_TOLERANCE
) -> SpatialWeights:
    """Queen-contiguity weights; islands are linked to their nearest area (KNN, k=1).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        One polygon per area.
    id_col : str, default "area_code"
        Column of unique area codes, used as the weights' ids.
    tolerance : float, default 1.0
        Areas closer than this many metres count as touching (EPSG:27700 is used when the
        data are in degrees; without a CRS, the data's own units). 0 means strictly sharing
        a point.

    Returns
    -------
    SpatialWeights

    Notes
    -----
    Two areas are queen neighbours when their boundaries share at least one point (Rey
    and Anselin 2007, PySAL). This is tested geometrically (shapely ``intersects`` through
    the spatial index, after a ``tolerance`` buffer and ``make_valid`` of invalid
    polygons), not by matching vertices as libpysal ``Queen.from_dataframe`` does: in
    generalised boundaries neighbours often share an edge without sharing its vertices
    (all 611 LLR LSOAs of the ONS 2011 generalised clipped GeoJSON come out as islands
    with vertex matching), and generalisation leaves gaps of centimetres. On boundaries
    whose neighbours do share vertices (ONS 2021 BSC) the two give the same weights.

    An island's nearest area is the one with the nearest centroid; the link is added in
    both directions so that the weights stay symmetric.
    """
    from libpysal.weights import W
    from scipy.spatial import cKDTree

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise RequestError("queen_weights needs a GeoDataFrame of area polygons.")
    if id_col not in gdf.columns:
        raise RequestError(f"id column {id_col!r} not found.", valid=[str(c) for c in gdf.columns])
    if len(gdf) < 2:
        raise RequestError("spatial weights need at least two areas.")
    if not np.isfinite(tolerance) or tolerance < 0:
        raise RequestError(f"tolerance must be zero or a positive distance, got {tolerance!r}.")
    codes = gdf[id_col].astype(str).to_numpy()
    dupes = pd.Series(codes)[pd.Series(codes).duplicated()].unique().tolist()
    if dupes:
        raise RequestError(f"area codes must be unique; repeated: {dupes[:10]}.")
    geo = gpd.GeoSeries(gdf.geometry.to_numpy(), crs=gdf.crs)
    empty = (geo.isna() | geo.is_empty).to_numpy()
    if empty.any():
        raise RequestError(f"{int(empty.sum())} area(s) have no geometry, e.g. {codes[empty][0]}.")
    if geo.crs is not None and geo.crs.is_geographic:
        geo = geo.to_crs(DISTANCE_CRS)
    invalid = ~geo.is_valid.to_numpy()
    if invalid.any():
        geo = geo.copy()
        geo[invalid] = geo[invalid].make_valid()
    probe = geo.buffer(tolerance) if tolerance > 0 else geo
    left, right = geo.sindex.query(probe, predicate="intersects")
    keep = left != right
    pairs = np.unique(
        np.concatenate(
            [np.column_stack([left[keep], right[keep]]), np.column_stack([right[keep], left[keep]])]
        ),
        axis=0,
    )
    degree = np.bincount(pairs[:, 0], minlength=len(codes))
    island_rows = np.flatnonzero(degree == 0)
    islands = tuple(codes[island_rows])
    attached: list[tuple[str, str]] = []
    if island_rows.size:
        cent = geo.centroid
        xy = np.column_stack([cent.x.to_numpy(), cent.y.to_numpy()])
        _, nearest = cKDTree(xy).query(xy[island_rows], k=2)
        other = np.where(nearest[:, 0] == island_rows, nearest[:, 1], nearest[:, 0])
        extra = np.column_stack([island_rows, other])
        pairs = np.unique(np.concatenate([pairs, extra, extra[:, ::-1]]), axis=0)
        attached = [(codes[a], codes[b]) for a, b in extra]
    grouped = pd.Series(codes[pairs[:, 1]]).groupby(pairs[:, 0]).agg(list)
    neighbours = {code: [] for code in codes}
    neighbours.update({codes[k]: v for k, v in grouped.items()})
    w = W(neighbours, id_order=list(codes), silence_warnings=True)
    note = ""
    if attached:
        shown = ", ".join(f"{a} -> {b}" for a, b in attached[:10])
        more = " ..." if len(attached) > 10 else ""
        note = (
            f"{len(attached)} area(s) share no boundary with any other and were linked to "
            f"their nearest area (k-nearest neighbour, k=1): {shown}{more}."
        )
    return SpatialWeights(
        w=w,
        ids=tuple(str(i) for i in w.id_order),
        islands=islands,
        attached=tuple(attached),
        note=note,
    )


def _weights(w: object) -> object:
    from libpysal.weights import W

    base = w.w if isinstance(w, SpatialWeights) else w
    if not isinstance(base, W):
        raise RequestError(
            "w must be the result of queen_weights(...) or a libpysal.weights.W object."
        )
    return copy.deepcopy(base)


def _values(name: str, values: ArrayLike, ids: list[str]) -> NDArray[np.float64]:
    if isinstance(values, pd.Series) and set(map(str, values.index)) >= set(map(str, ids)):
        values = values.set_axis(values.index.map(str)).reindex([str(i) for i in ids])
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise RequestError(f"{name} must be numbers.") from None
    if arr.size != len(ids):
        raise RequestError(f"{name} has {arr.size} values but the weights have {len(ids)} areas.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        shown = ", ".join(str(ids[i]) for i in bad[:5])
        raise RequestError(
            f"{name} is missing for {bad.size} area(s) ({shown}{' ...' if bad.size > 5 else ''}); "
            "local statistics need a value for every area in the weights."
        )
    return arr


def _check_run(permutations: int, alpha: float) -> int:
    if int(permutations) != permutations or permutations < 99:
        raise RequestError(
            f"permutations must be a whole number of at least 99, got {permutations!r}."
        )
    if not 0 < alpha < 1:
        raise RequestError(f"alpha must be between 0 and 1, got {alpha!r}.")
    return int(permutations)


def _seeded(func: Callable[[], T]) -> T:
    """Run ``func`` and put numpy's global random state back afterwards."""
    state = np.random.get_state()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return func()
    finally:
        np.random.set_state(state)


def local_moran_rate(
    events: ArrayLike,
    base: ArrayLike,
    w: SpatialWeights | object,
    *,
    permutations: int = PERMUTATIONS,
    seed: int | None = SEED,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    r"""Local Moran's I of empirical-Bayes standardised rates, with cluster labels.

    Parameters
    ----------
    events, base : array_like
        Event counts (e.g. people not screened) and populations at risk, aligned with the
        weights' ids (a pandas Series indexed by area code is aligned automatically).
    w : SpatialWeights or libpysal.weights.W
        Weights (row-standardised internally; the caller's object is not changed).
    permutations : int, default 999
        Conditional permutations for the pseudo p-values.
    seed : int, default 0
        Seed of the permutations.
    alpha : float, default 0.05
        Significance level for the cluster labels.

    Returns
    -------
    pandas.DataFrame
        Indexed by area code: ``events``, ``base``, ``rate`` (events / base),
        ``eb_index`` (Assuncao-Reis standardised rate), ``I``, ``p_sim``, ``z_sim`` and
        ``p_z_sim`` (NaN when areas x permutations exceeds 20 million, to bound memory),
        ``quadrant`` ("high-high", "low-high", "low-low", "high-low") and
        ``cluster``: "high-high (hot spot)", "low-low (cold spot)", "high-low",
        "low-high" when ``p_sim <= alpha``, else "not significant".

    Notes
    -----
    Assuncao and Reis (1999) EB index: with :math:`r_i = e_i/b_i`,
    :math:`\bar r = \sum e/\sum b`, :math:`s^2 = \sum b_i (r_i-\bar r)^2/\sum b` and
    :math:`\bar b = \sum b / n`, the variance is
    :math:`v_i = s^2 - \bar r/\bar b + \bar r/b_i` (replaced by :math:`\bar r/b_i` when
    negative) and :math:`z_i = (r_i - \bar r)/\sqrt{v_i}`. Local Moran (Anselin 1995):

    .. math:: I_i = (n-1)\,\frac{z_i \sum_j w_{ij} z_j}{\sum_k z_k^2}

    with row-standardised :math:`w_{ij}`; pseudo p-values by conditional permutation.
    Anselin L (1995) Local indicators of spatial association - LISA. Geogr Anal 27:93-115.
    Assuncao RM, Reis EA (1999) A new proposal to adjust Moran's I for population density.
    Stat Med 18:2147-2162. Rey SJ, Anselin L (2007) PySAL; esda ``Moran_Local_Rate``.
    """
    from esda.moran import Moran_Local_Rate

    perms = _check_run(permutations, alpha)
    weights = _weights(w)
    ids = [str(i) for i in weights.id_order]
    e = _values("events", events, ids)
    b = _values("base", base, ids)
    if np.any(e < 0):
        raise RequestError("events must not be negative.")
    if np.any(b <= 0):
        raise RequestError("base (population at risk) must be greater than zero for every area.")
    if np.any(e > b):
        raise RequestError("events must not exceed the population at risk (base).")

    lm = _seeded(
        lambda: Moran_Local_Rate(
            e,
            b,
            weights,
            transformation="r",
            permutations=perms,
            seed=seed,
            keep_simulations=len(ids) * perms <= MAX_KEPT_SIMULATIONS,
            n_jobs=1,
        ),
    )
    quadrant = pd.Series(lm.q).map(QUADRANTS).to_numpy()
    significant = lm.p_sim <= alpha
    cluster = np.where(significant, pd.Series(quadrant).map(CLUSTER_LABELS), NOT_SIGNIFICANT)
    return pd.DataFrame(
        {
            "events": e,
            "base": b,
            "rate": e / b,
            "eb_index": np.asarray(lm.y, dtype=float),
            "I": lm.Is,
            "p_sim": lm.p_sim,
            "z_sim": lm.z_sim,
            "p_z_sim": lm.p_z_sim,
            "quadrant": quadrant,
            "cluster": cluster,
        },
        index=pd.Index(ids, name="area_code"),
    )


def getis_ord_star(
    values: ArrayLike,
    w: SpatialWeights | object,
    *,
    permutations: int = PERMUTATIONS,
    seed: int | None = SEED,
    alpha: float = ALPHA,
    transform: str = "B",
) -> pd.DataFrame:
    r"""Getis-Ord Gi* hot and cold spots.

    Parameters
    ----------
    values : array_like
        One value per area (e.g. uptake %), aligned with the weights' ids.
    w : SpatialWeights or libpysal.weights.W
    permutations : int, default 999
    seed : int, default 0
    alpha : float, default 0.05
    transform : {"B", "R"}, default "B"
        Binary weights (the classic Gi*) or row-standardised.

    Returns
    -------
    pandas.DataFrame
        Indexed by area code: ``value``, ``Gs`` (Gi*), ``z`` (standardised Gi*),
        ``p_sim`` and ``label``: "hot spot" (z > 0) or "cold spot" (z < 0) when
        ``p_sim <= alpha``, else "not significant".

    Notes
    -----
    .. math:: G_i^* = \frac{\sum_j w_{ij} x_j}{\sum_j x_j}

    with :math:`w_{ii} = 1` (the area counts itself), standardised by its expectation and
    variance under randomisation; pseudo p-values by conditional permutation. Getis A,
    Ord JK (1992) Geogr Anal 24:189-206; Ord JK, Getis A (1995) Geogr Anal 27:286-306;
    esda ``G_Local(star=True)``.
    """
    from esda.getisord import G_Local

    perms = _check_run(permutations, alpha)
    if transform not in ("B", "R"):
        raise RequestError(f"Unknown weights transform {transform!r}.", valid=["B", "R"])
    weights = _weights(w)
    ids = [str(i) for i in weights.id_order]
    y = _values("values", values, ids)
    lg = _seeded(
        lambda: G_Local(
            y,
            weights,
            transform=transform,
            permutations=perms,
            star=True,
            keep_simulations=len(ids) * perms <= MAX_KEPT_SIMULATIONS,
            n_jobs=1,
            seed=seed,
        ),
    )
    z = np.asarray(lg.Zs, dtype=float)
    significant = np.asarray(lg.p_sim) <= alpha
    label = np.where(
        significant & (z > 0),
        "hot spot",
        np.where(significant & (z < 0), "cold spot", NOT_SIGNIFICANT),
    )
    return pd.DataFrame(
        {"value": y, "Gs": lg.Gs, "z": z, "p_sim": lg.p_sim, "label": label},
        index=pd.Index(ids, name="area_code"),
    )
