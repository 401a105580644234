"""Outreach patches: flagged neighbourhoods grouped into contiguous patches a team covers in a day.

Issue 14, item 1. :func:`build_patches` returns one row per patch (and one per flagged area
that could not join a patch), ranked, with the union of its areas' boundaries.

Method
------
1. **Who takes part.** The flagged areas of the target list across the chosen programmes
   (:func:`hiexplore.flags.compute_targets` over the stored flags,
   :func:`hiexplore.derived.stored_flags`). With ``bridges=True``, unflagged areas that touch
   flagged areas of two different flagged parts (connected components) take part too, marked
   as bridges, with no people to reach; a bridge that ends up joining nothing is dropped again.
2. **Contiguity** is queen contiguity of the dataset's boundaries
   (:func:`hiexplore.spatial.queen_weights`, boundaries touching within 1 m), *without* the
   nearest-area links that function adds for islands: an island is not contiguous with
   anything, so it can only be a patch on its own.
3. **Regionalisation: max-p with a floor** (Duque, Anselin and Rey 2012; the heuristic of Wei,
   Rey and Knaap 2020, PySAL ``spopt.region.MaxPHeuristic``), run on each connected part of the
   flagged areas on its own (spopt's default would link disconnected parts by an artificial
   join, which would break contiguity). The spatially extensive attribute is people to reach,
   the floor ``min_people``; the attributes whose within-region dissimilarity max-p minimises
   are the areas' centroid coordinates (British National Grid, km), so among the partitions
   with the most patches it prefers compact ones. Max-p is chosen over SKATER and AZP because
   the issue's first constraint is a floor on a sum (people to reach), which is what max-p
   enforces and maximises the number of patches under; SKATER takes the number of regions as
   given and floors a count, AZP takes the number of regions too. spopt's construction phase is
   used (best of :data:`MAXP_CONSTRUCTION` constructions), not its simulated-annealing
   refinement (see :func:`_maxp_labels`).
4. **Span.** Max-p has no constraint on size. A patch whose span (the largest distance between
   two of its area centroids) exceeds ``max_km`` is split in two around its two farthest areas:
   each area goes to the part whose seed area is nearer, the parts grown outwards through
   contiguity from the two seeds (so both stay contiguous), and again until every part spans at
   most ``max_km``. Parts below the floor then join a neighbouring patch if the union still spans
   at most ``max_km`` (the neighbour giving the smallest span), or join each other into a new
   patch that meets the floor; what is left stays alone (``singleton``), listed with its
   reason. This post-step is deterministic and keeps every constraint; it does not search for
   the partition with the most patches among those that meet the span limit (an exact method
   would be a mixed-integer programme, too slow at national size).
5. **Large parts.** A connected part of more than :data:`MAX_PART_AREAS` areas is first cut at
   the median of its longer side (centroids), recursively, and the connected pieces are
   regionalised one by one: max-p's dissimilarity matrix is n x n, and patches span at most a
   few km anyway. Patches cannot cross a cut: at national size a few more areas stay alone.
6. **Rank.** ``priority_score`` = ``weights.people_to_reach`` x people to reach / the largest
   patch's + ``weights.core20`` x Core20 share + ``weights.deprivation`` x (11 - most deprived
   decile) / 10 (:class:`PatchWeights`; by default people to reach only). Patches come first
   (``rank`` 1, 2, ...), then the areas left alone, each group by score, then people to reach,
   then the first area code. ``patch_id`` is ``P001``... for patches and ``S001``... for the
   areas alone, in rank order.

Randomness: max-p draws with numpy's global generator; it is seeded with ``seed`` for each part
(and the caller's generator state is put back afterwards), so a seed gives the same patches.

Every figure is an estimate apportioned from GP practices through the dataset's catchments
(``estimate_note``); ``value_note``, ``period_end`` and ``out_of_date`` carry the notes and age of
the figures of the areas in the patch, and ``attrs`` carries the target list's (periods,
out-of-date, suppression) for the export's metadata sheet.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from .catalogue import get_indicator
from .dataset import Dataset
from .errors import RequestError

__all__ = [
    "PATCH_GEOGRAPHIES",
    "PATCH_COLUMNS",
    "PatchWeights",
    "DEFAULT_PATCH_WEIGHTS",
    "DEFAULT_MIN_PEOPLE",
    "DEFAULT_MAX_KM",
    "MAX_PART_AREAS",
    "build_patches",
    "patches_map",
    "PATCH_TABLE_COLUMNS",
    "span_km",
]

PATCH_GEOGRAPHIES = ("lsoa", "msoa", "ward")
DEFAULT_MIN_PEOPLE = 150
DEFAULT_MAX_KM = 3.0
#: largest connected part regionalised in one max-p run (its dissimilarity matrix is n x n)
MAX_PART_AREAS = 300
#: max-p heuristic settings (spopt's defaults are 99 and 10): the number of random constructions
#: (their best is kept), and simulated-annealing rounds where spopt's construction phase cannot
#: be called alone; 25 constructions keep the national demo near 10 CPU-seconds
MAXP_CONSTRUCTION = 25
MAXP_SA = 1
MAXP_TOP_N = 2
TOP_PRACTICES = 5
DISTANCE_CRS = "EPSG:27700"

PATCH_COLUMNS = [
    "patch_id", "rank", "singleton", "n_areas", "area_codes", "area_names", "bridge", "bridge_codes",
    "people_to_reach", "eligible_population", "most_deprived_decile", "core20_share", "practices",
    "practices_basis", "centroid_lat", "centroid_lon", "span_km", "priority_score", "reason",
    "estimate_note", "value_note", "period_end", "out_of_date", "geography", "indicators", "period",
]


#: what the Targets page shows beside the patch map (the downloads carry every column)
PATCH_TABLE_COLUMNS = [
    "patch_id", "n_areas", "people_to_reach", "reason", "most_deprived_decile", "core20_share", "span_km",
    "out_of_date", "practices", "area_codes",
]


@dataclass(frozen=True)
class PatchWeights:
    """Weights of a patch's ``priority_score`` (each component scaled to 0-1).

    - ``people_to_reach``: the patch's people to reach / the largest patch's.
    - ``core20``: the share of its residents living in Core20 areas (most deprived 20%).
    - ``deprivation``: (11 - its most deprived IMD decile) / 10.

    The default ranks by people to reach alone, as the issue asks; the others let a team put
    deprivation first (proportionate universalism) without changing the code.
    """

    people_to_reach: float = 1.0
    core20: float = 0.0
    deprivation: float = 0.0


DEFAULT_PATCH_WEIGHTS = PatchWeights()


def span_km(x_km: np.ndarray, y_km: np.ndarray) -> float:
    """The largest distance between two of the points (km): a patch's span; 0 for one point.

    >>> span_km(np.array([0.0, 3.0, 0.0]), np.array([0.0, 4.0, 1.0]))
    5.0
    """
    if len(x_km) < 2:
        return 0.0
    x = np.asarray(x_km, dtype=float)
    y = np.asarray(y_km, dtype=float)
    return float(np.sqrt(((x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2).max()))


def build_patches(
    ds: Dataset,
    indicators: list[str],
    geography: str = "lsoa",
    min_people: int = DEFAULT_MIN_PEOPLE,
    max_km: float = DEFAULT_MAX_KM,
    seed: int = 0,
    period: str | None = None,
    *,
    bridges: bool = False,
    weights: PatchWeights = DEFAULT_PATCH_WEIGHTS,
) -> gpd.GeoDataFrame:
    """Group the flagged areas of ``indicators`` into contiguous outreach patches (module docstring).

    Parameters
    ----------
    ds : Dataset
    indicators : list of str
        Indicator keys; an area takes part when it is flagged on any of them.
    geography : {"lsoa", "msoa", "ward"}
    min_people : int
        The floor: a patch reaches at least this many people to reach (all programmes).
    max_km : float
        The largest distance between two area centroids of a patch.
    seed : int
        Seeds max-p's random draws: the same seed gives the same patches.
    period : str, optional
        The period of every indicator (default: each one's latest).
    bridges : bool
        Let unflagged areas that touch two flagged parts join them (marked ``bridge_codes``).
    weights : PatchWeights
        Weights of the ranking score.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per patch, then one per flagged area left alone, in EPSG:4326: the columns of
        :data:`PATCH_COLUMNS` plus ``people_to_reach_<indicator>`` and
        ``eligible_population_<indicator>`` per programme; ``attrs`` carries the target list's
        attrs and ``patches`` (method, parameters, counts).
    """
    from .derived import stored_flags

    keys = _check(ds, indicators, geography, min_people, max_km)
    flags = {k: stored_flags(ds, k, geography, period) for k in keys}
    from .flags import compute_targets

    targets = compute_targets(ds, keys, geography, flags_for=lambda k: flags[k])
    areas = _area_table(ds, geography, targets, flags)
    flagged = areas.index[areas["flagged"]]
    adj = _adjacency(ds, geography, areas)
    members = set(flagged)
    bridge_set: set[str] = set()
    if bridges:
        bridge_set = _bridges(adj, members)
        members |= bridge_set
    groups, alone = _regionalise(areas, adj, sorted(members), float(min_people), float(max_km), seed)
    groups = [_drop_idle_bridges(g, adj, bridge_set) for g in groups]
    alone = [a for a in alone if a not in bridge_set]
    return _frame(ds, geography, keys, areas, groups, alone, bridge_set, targets, flags,
                  min_people=min_people, max_km=max_km, seed=seed, bridges=bridges, weights=weights)


def _check(ds: Dataset, indicators: Iterable[str], geography: str, min_people: float, max_km: float) -> list[str]:
    """Refuse what cannot be grouped, saying what is valid."""
    keys = [str(k).strip() for k in indicators if str(k).strip()]
    if not keys:
        raise RequestError("Give at least one indicator.", valid=list(ds.indicator_keys()))
    if geography not in PATCH_GEOGRAPHIES:
        raise RequestError(
            f"Patches need neighbourhood boundaries: geography {geography!r} cannot be grouped.",
            valid=list(PATCH_GEOGRAPHIES),
        )
    if not np.isfinite(min_people) or min_people < 0:
        raise RequestError(f"--min-people must be zero or more, got {min_people!r}.")
    if not np.isfinite(max_km) or max_km <= 0:
        raise RequestError(f"--max-km must be a positive distance in km, got {max_km!r}.")
    return keys


def _area_table(ds: Dataset, geography: str, targets: pd.DataFrame,
                flags: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per area: flagged, people to reach (total, per programme), eligible, deprivation, xy (km)."""
    polys = ds.areas[ds.areas["area_type"] == geography].drop_duplicates("area_code").set_index("area_code")
    t = targets.set_index("area_code")
    codes = polys.index.intersection(t.index)
    out = pd.DataFrame(index=pd.Index(codes, name="area_code"))
    out["area_name"] = polys["area_name"].reindex(codes).astype(object)
    out["flagged"] = t["flagged"].reindex(codes).fillna(False).astype(bool)
    out["people"] = 0.0
    for k, f in flags.items():
        sub = f.drop_duplicates("area_code").set_index("area_code")
        reach = sub["people_to_reach"].where(sub["flagged"].astype(bool), 0.0).fillna(0.0)
        out[f"people_to_reach_{k}"] = reach.reindex(codes).fillna(0.0).to_numpy(float)
        out[f"eligible_population_{k}"] = sub["denominator"].reindex(codes).fillna(0.0).to_numpy(float)
        out["people"] += out[f"people_to_reach_{k}"]
    out.loc[~out["flagged"], "people"] = 0.0
    for col in ("imd_decile", "core20", "low_confidence", "value_note", "period_end", "out_of_date"):
        out[col] = t[col].reindex(codes).to_numpy() if col in t else None
    out["residents"] = _residents(ds, geography, codes)
    geo = gpd.GeoSeries(polys.geometry.reindex(codes).to_numpy(), crs=ds.areas.crs).to_crs(DISTANCE_CRS)
    cent = geo.centroid
    out["x_km"] = cent.x.to_numpy() / 1000.0
    out["y_km"] = cent.y.to_numpy() / 1000.0
    out["geometry_bng"] = geo.to_numpy()  # plain column: attrs are deep-copied by every pandas step
    return out


def _residents(ds: Dataset, geography: str, codes: pd.Index) -> np.ndarray:
    """Residents per area (Census 2021 via the population table), 1 each when it has none."""
    pop = ds.population
    if not len(pop) or "residents" not in pop:
        return np.ones(len(codes))
    per_lsoa = pop.set_index("lsoa_code")["residents"]
    if geography == "lsoa":
        return per_lsoa.reindex(codes).fillna(0.0).to_numpy(float)
    lk = ds.lookup[["lsoa_code", f"{geography}_code"]].drop_duplicates("lsoa_code")
    agg = lk.assign(r=lk["lsoa_code"].map(per_lsoa).fillna(0.0)).groupby(f"{geography}_code")["r"].sum()
    return agg.reindex(codes).fillna(0.0).to_numpy(float)


def _adjacency(ds: Dataset, geography: str, areas: pd.DataFrame) -> dict[str, list[str]]:
    """Queen neighbours of every area (boundaries within 1 m), without island links."""
    from .spatial import queen_weights

    gdf = gpd.GeoDataFrame({"area_code": list(areas.index)}, geometry=areas["geometry_bng"].to_numpy(),
                           crs=DISTANCE_CRS)
    if len(gdf) < 2:
        return {c: [] for c in areas.index}
    sw = queen_weights(gdf, id_col="area_code")
    fake = {frozenset(p) for p in sw.attached}
    return {c: sorted(n for n in sw.w.neighbors[c] if frozenset((c, n)) not in fake) for c in sw.ids}


def _components(nodes: Iterable[str], adj: dict[str, list[str]]) -> list[list[str]]:
    """Connected parts of ``nodes`` (sorted, each sorted), through ``adj`` restricted to them."""
    inside = set(nodes)
    seen: set[str] = set()
    parts = []
    for start in sorted(inside):
        if start in seen:
            continue
        stack, part = [start], []
        seen.add(start)
        while stack:
            a = stack.pop()
            part.append(a)
            for b in adj.get(a, ()):
                if b in inside and b not in seen:
                    seen.add(b)
                    stack.append(b)
        parts.append(sorted(part))
    return parts


def _bridges(adj: dict[str, list[str]], flagged: set[str]) -> set[str]:
    """Unflagged areas touching flagged areas of two or more different flagged parts."""
    label = {a: i for i, part in enumerate(_components(flagged, adj)) for a in part}
    return {a for a, nbrs in adj.items() if a not in flagged
            and len({label[b] for b in nbrs if b in label}) >= 2}


def _drop_idle_bridges(group: list[str], adj: dict[str, list[str]], bridge_set: set[str]) -> list[str]:
    """Remove bridges the patch does not need: its flagged areas stay connected without them."""
    out = list(group)
    for b in sorted(set(group) & bridge_set, reverse=True):
        trial = [a for a in out if a != b]
        flagged = [a for a in trial if a not in bridge_set]
        if flagged and len(_components(trial, adj)) == 1:
            out = trial
    return out


def _regionalise(areas: pd.DataFrame, adj: dict[str, list[str]], members: list[str], floor: float,
                 max_km: float, seed: int) -> tuple[list[list[str]], list[str]]:
    """(patches as lists of area codes, areas left alone): steps 3 to 5 of the module docstring."""
    people = areas["people"].astype(float).to_dict()
    xy = dict(zip(areas.index, areas[["x_km", "y_km"]].to_numpy(float), strict=True))
    state = np.random.get_state()
    patches: list[list[str]] = []
    leftovers: list[list[str]] = []
    try:
        for part in _components(members, adj):
            for piece in _cut(part, xy, adj):
                total = _total(piece, people)
                if total < floor or len(piece) == 1:
                    (patches if total >= floor else leftovers).append(piece)
                    continue
                for region in _maxp(piece, people, xy, adj, floor, seed):
                    for sub in _split_span(region, xy, adj, max_km):
                        (patches if _total(sub, people) >= floor else leftovers).append(sub)
    finally:
        np.random.set_state(state)
    patches, alone = _place_leftovers(patches, leftovers, people, xy, adj, floor, max_km)
    return patches, alone


def _total(codes: list[str], people: dict[str, float]) -> float:
    return float(sum(people[c] for c in codes))


def _cut(part: list[str], xy: dict[str, np.ndarray], adj: dict[str, list[str]]) -> list[list[str]]:
    """A connected part cut at the median of its longer side until pieces have at most
    :data:`MAX_PART_AREAS` areas; each piece connected."""
    if len(part) <= MAX_PART_AREAS:
        return [part]
    pts = np.array([xy[c] for c in part])
    axis = 0 if np.ptp(pts[:, 0]) >= np.ptp(pts[:, 1]) else 1
    order = [part[i] for i in np.lexsort((pts[:, 1 - axis], pts[:, axis]))]
    half = len(order) // 2
    out: list[list[str]] = []
    for side in (order[:half], order[half:]):
        for piece in _components(side, adj):
            out.extend(_cut(piece, xy, adj))
    return out


def _maxp(piece: list[str], people: dict[str, float], xy: dict[str, np.ndarray], adj: dict[str, list[str]],
          floor: float, seed: int) -> list[list[str]]:
    """spopt max-p on one connected piece (total at least the floor): regions as code lists."""
    from libpysal.weights import W

    pos = {c: i for i, c in enumerate(piece)}
    neighbours = {i: [pos[b] for b in adj.get(c, ()) if b in pos] for i, c in enumerate(piece)}
    w = W(neighbours, id_order=list(range(len(piece))), silence_warnings=True)
    pts = np.array([xy[c] for c in piece])
    frame = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "people": [people[c] for c in piece]})
    np.random.seed(seed)
    labels = _maxp_labels(frame, w, floor)
    regions: dict[int, list[str]] = {}
    for code, lab in zip(piece, labels, strict=True):
        regions.setdefault(int(lab), []).append(code)
    return [sorted(r) for _, r in sorted(regions.items(), key=lambda kv: min(kv[1]))]


def _maxp_labels(frame: pd.DataFrame, w: object, floor: float) -> np.ndarray:
    """Region label of each row: spopt's max-p construction phase, the most compact of its best.

    The construction phase (Wei, Rey and Knaap 2020, section 3.1) grows regions from random
    seeds until each meets the floor, assigns the enclaves, and keeps every partition with the
    largest number of regions; of those, the one with the least within-region dissimilarity
    (sum of pairwise Manhattan distances between centroids) is taken. spopt's simulated-annealing
    refinement (``MaxPHeuristic.solve``) is left out where spopt exposes the phase: it only moves
    areas between regions to lower that dissimilarity, the span post-step bounds size anyway, and
    it cost ~20 CPU-seconds of 25 on LLR. Where spopt does not expose it, ``MaxPHeuristic`` runs.
    """
    from scipy.spatial.distance import pdist, squareform

    try:
        from spopt.region.maxp import _calculate_within_region_distance, _construction_phase
    except ImportError:  # pragma: no cover - a future spopt without the private phase
        from spopt.region import MaxPHeuristic

        model = MaxPHeuristic(frame, w, ["x", "y"], "people", floor, top_n=MAXP_TOP_N,
                              max_iterations_construction=MAXP_CONSTRUCTION, max_iterations_sa=MAXP_SA,
                              policy="keep")
        model.solve()
        return np.asarray(model.labels_)
    attr = frame[["x", "y"]].to_numpy(float)
    dist = squareform(pdist(attr, metric="cityblock"))
    _, candidates = _construction_phase(np.arange(len(frame)), attr, frame["people"].to_numpy(float), dist, w,
                                        floor, MAXP_TOP_N, MAXP_CONSTRUCTION)
    best = min(candidates, key=lambda rl: _calculate_within_region_distance(rl[1], dist))
    return np.asarray(best[0])


def _span(codes: list[str], xy: dict[str, np.ndarray]) -> float:
    pts = np.array([xy[c] for c in codes])
    return span_km(pts[:, 0], pts[:, 1])


def _split_span(region: list[str], xy: dict[str, np.ndarray], adj: dict[str, list[str]], max_km: float) -> list[list[str]]:
    """Split a region spanning more than ``max_km`` around its two farthest areas, recursively.

    Both parts are grown from their seed through contiguity, each area claimed by the part
    whose seed is nearer when the growth reaches it (a shortest-first search): both connected.
    """
    if len(region) < 2 or _span(region, xy) <= max_km:
        return [region]
    from scipy.spatial.distance import pdist, squareform

    pts = np.array([xy[c] for c in region])
    d = squareform(pdist(pts))
    a, b = np.unravel_index(int(np.argmax(d)), d.shape)
    pos = {c: i for i, c in enumerate(region)}
    owner: dict[str, int] = {}
    heap = [(0.0, region[a], 0), (0.0, region[b], 1)]
    seeds = (a, b)
    while heap:
        dist, code, side = heapq.heappop(heap)
        if code in owner:
            continue
        owner[code] = side
        for n in adj.get(code, ()):
            if n in pos and n not in owner:
                heapq.heappush(heap, (float(d[seeds[side], pos[n]]), n, side))
    parts = [sorted(c for c in region if owner.get(c) == s) for s in (0, 1)]
    return [sub for part in parts if part for sub in _split_span(part, xy, adj, max_km)]


def _place_leftovers(patches: list[list[str]], leftovers: list[list[str]], people: dict[str, float],
                     xy: dict[str, np.ndarray], adj: dict[str, list[str]], floor: float,
                     max_km: float) -> tuple[list[list[str]], list[str]]:
    """Parts below the floor join a neighbouring patch (union within ``max_km``), or each other
    into a new patch that meets the floor; the rest are areas left alone."""
    patches = [list(p) for p in patches]
    owner = {a: i for i, p in enumerate(patches) for a in p}
    rest: list[list[str]] = []
    for part in sorted(leftovers, key=lambda p: (-_total(p, people), p[0])):
        near = sorted({owner[n] for a in part for n in adj.get(a, ()) if n in owner})
        best, best_span = None, None
        for i in near:
            s = _span(patches[i] + part, xy)
            if s <= max_km and (best_span is None or s < best_span):
                best, best_span = i, s
        if best is None:
            rest.append(part)
            continue
        patches[best] = sorted(patches[best] + part)
        owner.update({a: best for a in part})
    # what is left: merge neighbouring leftovers while the union spans at most max_km
    alone: list[str] = []
    pool = sorted((list(p) for p in rest), key=lambda p: (-_total(p, people), p[0]))
    where = {a: j for j, p in enumerate(pool) for a in p}
    absorbed = [False] * len(pool)
    for i in range(len(pool)):  # the largest first: each grows through its touching leftovers
        grown = not absorbed[i]
        while grown:
            grown = False
            for j in sorted({where[n] for a in pool[i] for n in adj.get(a, ()) if n in where} - {i}):
                if not absorbed[j] and _span(pool[i] + pool[j], xy) <= max_km:
                    pool[i] = sorted(pool[i] + pool[j])
                    absorbed[j] = True
                    where.update({a: i for a in pool[j]})
                    grown = True
    pool = [p for p, gone in zip(pool, absorbed, strict=True) if not gone]
    for part in pool:
        if _total(part, people) >= floor:
            patches.append(part)
        else:
            alone.extend(part)
    return [sorted(p) for p in patches], sorted(alone)


def _frame(ds: Dataset, geography: str, keys: list[str], areas: pd.DataFrame, groups: list[list[str]],
           alone: list[str], bridge_set: set[str], targets: pd.DataFrame, flags: dict[str, pd.DataFrame],
           *, min_people: float, max_km: float, seed: int, bridges: bool,
           weights: PatchWeights) -> gpd.GeoDataFrame:
    """One row per patch and per area left alone, ranked, with geometry (EPSG:4326)."""
    basis = _practices_basis(ds)
    members = [(g, False) for g in groups] + [([a], True) for a in alone]
    label = {c: i for i, (codes, _) in enumerate(members) for c in codes}
    lines = _practice_lines(ds, geography, label)
    geo = gpd.GeoSeries(areas["geometry_bng"].to_numpy(), crs=DISTANCE_CRS)
    in_rows = np.array([c in label for c in areas.index])
    parts = gpd.GeoDataFrame({"row": [label[c] for c in areas.index[in_rows]]},
                             geometry=geo.to_numpy()[in_rows], crs=DISTANCE_CRS)
    shapes_bng = parts.dissolve(by="row").geometry.reindex(range(len(members)))
    cents = gpd.GeoSeries(shapes_bng.centroid.to_numpy(), crs=DISTANCE_CRS).to_crs(4326)
    xy = dict(zip(areas.index, areas[["x_km", "y_km"]].to_numpy(float), strict=True))
    shapes = list(shapes_bng.to_numpy())
    out = _aggregate(areas, members, bridge_set, keys)
    out["practices"] = [lines.get(i, "") for i in range(len(members))]
    out["practices_basis"] = basis
    out["centroid_lat"] = cents.y.to_numpy()
    out["centroid_lon"] = cents.x.to_numpy()
    out["span_km"] = [round(_span(codes, xy), 3) if len(codes) > 1 else 0.0 for codes, _ in members]
    in_patch = out.loc[~out["singleton"].astype(bool), "people_to_reach"]
    top = float(in_patch.max()) if len(in_patch) else 0.0
    if not top > 0:
        top = float(out["people_to_reach"].max()) if len(out) else 0.0
    top = top if top > 0 else 1.0
    dec = pd.to_numeric(out.get("most_deprived_decile"), errors="coerce")
    out["priority_score"] = (
        weights.people_to_reach * pd.to_numeric(out["people_to_reach"]) / top
        + weights.core20 * pd.to_numeric(out["core20_share"])
        + weights.deprivation * ((11 - dec) / 10).fillna(0.0)
    ).astype(float)
    out["_first"] = out["area_codes"].astype(str)
    order = out.sort_values(["singleton", "priority_score", "people_to_reach", "_first"],
                            ascending=[True, False, False, True]).index
    out = out.loc[order].drop(columns="_first")
    shapes = [shapes[i] for i in order]
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    n_patch = int((~out["singleton"].astype(bool)).sum())
    out.insert(0, "patch_id", [f"P{i:03d}" if i <= n_patch else f"S{i - n_patch:03d}" for i in out["rank"]])
    out["geography"] = geography
    out["indicators"] = ", ".join(keys)
    out["period"] = "; ".join(f"{k}: {f['period'].iloc[0]}" for k, f in flags.items() if len(f))
    out["estimate_note"] = _estimate_note(ds, out)
    out["reason"] = [_reason(r, keys, min_people, max_km) for r in out.to_dict("records")]
    per = [c for k in keys for c in (f"people_to_reach_{k}", f"eligible_population_{k}")]
    cols = PATCH_COLUMNS[:9] + per + [c for c in PATCH_COLUMNS[9:]] + ["low_confidence_areas"]
    gdf = gpd.GeoDataFrame(out[cols], geometry=gpd.GeoSeries(shapes, crs=DISTANCE_CRS).to_crs(4326).to_numpy(),
                           crs=4326)
    gdf["out_of_date"] = gdf["out_of_date"].astype(bool)
    gdf["singleton"] = gdf["singleton"].astype(bool)
    gdf["bridge"] = gdf["bridge"].astype(bool)
    gdf.attrs.update(targets.attrs)
    gdf.attrs.pop("out_of_area", None)
    gdf.attrs["patches"] = {
        "method": "max-p regions with a floor (spopt max-p construction phase, best of "
                  f"{MAXP_CONSTRUCTION}; Wei, Rey & Knaap 2020) on queen "
                  "contiguity of the flagged areas, attributes = centroid coordinates (compactness); "
                  "patches spanning more than max_km split around their two farthest areas; parts "
                  "below the floor merged into a neighbouring patch within max_km, else left alone",
        "min_people": min_people, "max_km": max_km, "seed": seed, "bridges": bridges,
        "weights": asdict(weights), "geography": geography, "indicators": keys,
        "patches": n_patch, "areas_alone": int(len(gdf) - n_patch),
        "flagged_areas": int(areas["flagged"].sum()),
        "people_to_reach_in_patches": float(gdf.loc[~gdf["singleton"], "people_to_reach"].sum()),
        "people_to_reach_alone": float(gdf.loc[gdf["singleton"], "people_to_reach"].sum()),
        "practices_basis": basis,
        "span": "largest distance between two area centroids of the patch (British National Grid)",
        "eligible_population": "sum over the programmes of the eligible people (denominators) of "
                               "the patch's flagged areas: someone eligible for two counts twice",
        "core20_share": "share of the patch's residents (Census 2021) living in Core20 areas",
    }
    return gdf


def _aggregate(areas: pd.DataFrame, members: list[tuple[list[str], bool]], bridge_set: set[str],
               keys: list[str]) -> pd.DataFrame:
    """Per row (patch or area alone), in ``members`` order: the sums and extremes of its areas.

    Figures (people to reach, eligible, deprivation, age, notes) are of its flagged areas; the
    Core20 share is of the residents of all its areas (bridges included: they are visited too).
    """
    m = pd.DataFrame([(i, c) for i, (codes, _) in enumerate(members) for c in codes], columns=["row", "area_code"])
    m["is_bridge"] = m["area_code"].isin(bridge_set)
    a = areas.drop(columns="geometry_bng").reindex(m["area_code"]).reset_index(drop=True)
    a.attrs = {}
    a["row"] = m["row"].to_numpy()
    a["area_code"] = m["area_code"].to_numpy()
    a["is_bridge"] = m["is_bridge"].to_numpy()
    a["core"] = a["core20"].fillna(False).astype(bool)
    a["res_core"] = a["residents"].where(a["core"], 0.0)
    g_all = a.groupby("row", sort=True)
    f = a[~a["is_bridge"]]
    f = f.assign(low=f["low_confidence"].fillna(False).astype(bool),
                 old=f["out_of_date"].fillna(False).astype(bool),
                 end=pd.to_datetime(f["period_end"]))
    g = f.groupby("row", sort=True)
    idx = pd.RangeIndex(len(members))
    out = pd.DataFrame(index=idx)
    out["singleton"] = [single for _, single in members]
    out["n_areas"] = [len(codes) for codes, _ in members]
    out["area_codes"] = [",".join(codes) for codes, _ in members]
    name = dict(zip(areas.index, areas["area_name"].astype(str), strict=True))
    out["area_names"] = [", ".join(name[c] for c in codes) for codes, _ in members]
    out["bridge_codes"] = [",".join(c for c in codes if c in bridge_set) for codes, _ in members]
    out["bridge"] = out["bridge_codes"] != ""
    out["people_to_reach"] = g["people"].sum().reindex(idx).fillna(0.0)
    eligible = [f"eligible_population_{k}" for k in keys]
    out["eligible_population"] = g[eligible].sum().sum(axis=1).reindex(idx).fillna(0.0)
    out["most_deprived_decile"] = g["imd_decile"].min().reindex(idx).astype(float)
    res = g_all["residents"].sum().reindex(idx)
    share = g_all["res_core"].sum().reindex(idx) / res
    out["core20_share"] = share.where(res > 0, g_all["core"].mean().reindex(idx)).astype(float)
    out["low_confidence_areas"] = g["low"].sum().reindex(idx).fillna(0).astype(int)
    notes = f[np.array([isinstance(v, str) and v != "" for v in f["value_note"]], dtype=bool)]
    out["value_note"] = (notes.groupby("row")["value_note"].agg(lambda s: "; ".join(dict.fromkeys(s)))
                         .reindex(idx).astype(object))
    out["value_note"] = out["value_note"].where(out["value_note"].notna(), None)
    out["period_end"] = g["end"].min().reindex(idx)
    out["out_of_date"] = g["old"].any().reindex(idx).fillna(False).astype(bool)
    for k in keys:
        out[f"people_to_reach_{k}"] = g[f"people_to_reach_{k}"].sum().reindex(idx).fillna(0.0)
    for k in keys:
        out[f"eligible_population_{k}"] = g[f"eligible_population_{k}"].sum().reindex(idx).fillna(0.0)
    return out


def _practice_lines(ds: Dataset, geography: str, label: dict[str, int]) -> dict[int, str]:
    """Row -> "NAME (code) 41%; ...": the practices whose registered patients live in the row's
    areas (in-area registrations, all ages), with each one's share of them, largest first."""
    reg = ds.registrations
    reg = reg[reg["in_area"].astype(bool)][["practice_code", "lsoa_code", "patients"]]
    if geography != "lsoa":
        lk = ds.lookup.drop_duplicates("lsoa_code").set_index("lsoa_code")[f"{geography}_code"]
        codes = reg["lsoa_code"].map(lk)
    else:
        codes = reg["lsoa_code"]
    reg = reg.assign(row=codes.map(label)).dropna(subset=["row"])
    if reg.empty:
        return {}
    names = ds.practices.drop_duplicates("practice_code").set_index("practice_code")["practice_name"]
    per = reg.groupby(["row", "practice_code"], observed=True)["patients"].sum().reset_index()
    per = per[per["patients"] > 0]
    per = per.sort_values(["row", "patients", "practice_code"], ascending=[True, False, True], kind="stable")
    per["share"] = per["patients"] / per.groupby("row")["patients"].transform("sum")
    per["n"] = per.groupby("row").cumcount()
    code = per["practice_code"].astype(str)
    per["text"] = (code.map(names).fillna(code).astype(str) + " (" + code + ") "
                   + (per["share"] * 100).round().astype(int).astype(str) + "%")
    top = per[per["n"] < TOP_PRACTICES].groupby("row")["text"].agg("; ".join)
    rest = per[per["n"] >= TOP_PRACTICES].groupby("row").agg(k=("share", "size"), s=("share", "sum"))
    tail = ("; " + rest["k"].astype(str) + " others " + (rest["s"] * 100).round().astype(int).astype(str) + "%")
    text = top.add(tail.reindex(top.index).fillna(""))
    out: dict[int, str] = {int(r): str(t) for r, t in text.items()}
    return out


def _practices_basis(ds: Dataset) -> str:
    """What the practice shares rest on: observed registrations or modelled catchments."""
    src = sorted(set(ds.registrations["catchment_source"].astype(str)))
    if src == ["observed"]:
        return "observed: NHS Digital patients registered at GP practices by LSOA"
    if "modelled" in src and "observed" in src:
        return "partly modelled: observed registrations where published, modelled catchments elsewhere"
    if "modelled" in src:
        return "modelled: practice catchments estimated by a spatial interaction model (not observed registrations)"
    return f"catchments: {', '.join(src) or 'unknown'}"


def _estimate_note(ds: Dataset, out: pd.DataFrame) -> list[str]:
    base = ("estimate: apportioned from GP practice figures through "
            + ("MODELLED catchments" if ds.catchment_source == "modelled" else f"{ds.catchment_source} catchments"))
    if ds.synthetic:
        base = "SYNTHETIC demo data; " + base
    notes = []
    for low in out["low_confidence_areas"] if "low_confidence_areas" in out else [0] * len(out):
        notes.append(base + (f"; {int(low)} area(s) rest on fewer than 30 eligible people" if low else ""))
    return notes


def _reason(row: dict, keys: list[str], min_people: float, max_km: float) -> str:
    """One line a planner can read aloud."""
    parts = ", ".join(
        f"{get_indicator(k).short_name} {int(row[f'people_to_reach_{k}']):,}"
        for k in keys if row.get(f"people_to_reach_{k}", 0) > 0
    )
    dec = row.get("most_deprived_decile")
    dep = f"most deprived decile {int(dec)}" if dec is not None and np.isfinite(dec) else "deprivation unknown"
    core = f"{row['core20_share']:.0%} of residents in Core20 areas"
    age = "; figures out of date" if row.get("out_of_date") else ""
    if row["singleton"]:
        why = (f"left alone: no neighbouring flagged areas within {max_km:g} km make "
               f"{min_people:g} people to reach with it")
        return (f"{row['patch_id']}: 1 area, {int(row['people_to_reach']):,} people to reach ({parts}); "
                f"{dep}, {core}; {why}{age}.")
    bridge = f"; joined through {row['bridge_codes'].count(',') + 1} unflagged area(s)" if row.get("bridge") else ""
    where = ("1 area" if row["n_areas"] == 1
             else f"{row['n_areas']} neighbouring areas within {row['span_km']:.1f} km")
    return (f"{row['patch_id']}: {where}, "
            f"{int(row['people_to_reach']):,} people to reach ({parts}); {dep}, {core}{bridge}; "
            f"estimates{age}.")


#: above this many patches the page's map draws a subset (:func:`patches_on_map`): at national size
#: (~6,400 patches) one Leaflet frame of SVG shapes took the browser seconds per Targets page load
MAP_MAX_PATCHES = 300
#: the patches drawn when none holds a target shown (the first by people to reach)
MAP_FALLBACK_PATCHES = 50


@dataclass(frozen=True)
class MapChoice:
    """Which patches the map draws: ``ids`` (None: every patch) and the line saying so (None
    when the map draws them all)."""

    ids: tuple[str, ...] | None
    note: str | None


def patches_on_map(patches: pd.DataFrame, target_codes: Sequence[str] | None = None, *,
                   max_patches: int | None = None, fallback: int | None = None) -> MapChoice:
    """Which patches a map draws, and the line saying so.

    ``patches``: :func:`build_patches`' frame, or its :data:`PATCH_TABLE_COLUMNS` (rank order). Up
    to ``max_patches`` (default :data:`MAP_MAX_PATCHES`) patches (areas left alone excluded), every
    one. Above it, the patches holding the target areas shown (``target_codes``: the page's
    filtered list), at most ``max_patches`` of them, first by people to reach (the frame's order,
    ``rank``); where none holds a target shown, the first ``fallback`` (default
    :data:`MAP_FALLBACK_PATCHES`) by people to reach. The table and the downloads keep every
    patch: the note says so (never a silent subset).
    """
    cap = MAP_MAX_PATCHES if max_patches is None else int(max_patches)
    few = MAP_FALLBACK_PATCHES if fallback is None else int(fallback)
    if "singleton" in patches:
        shown = patches[~patches["singleton"].astype(bool)]
    else:  # the page's table (:data:`PATCH_TABLE_COLUMNS`): patches are P001..., areas alone S001...
        shown = patches[patches["patch_id"].astype(str).str.startswith("P")]
    if "rank" in shown:
        shown = shown.sort_values("rank", kind="stable")
    total = len(shown)
    if total <= cap:
        return MapChoice(None, None)
    wanted = {str(c) for c in (target_codes or ())}
    ids = ([str(i) for i, codes in zip(shown["patch_id"], shown["area_codes"], strict=True)
            if not wanted.isdisjoint(str(codes).split(","))] if wanted else [])
    if ids:
        what = "holding the targets shown"
        if len(ids) > cap:
            ids, what = ids[:cap], f"with the most people to reach among the {len(ids):,} holding the targets shown"
    else:
        ids = [str(i) for i in shown["patch_id"].iloc[:min(few, cap)]]
        what = "with the most people to reach (none holds a target shown)"
    n = len(ids)
    note = (f"Map: the {n:,} patch{'' if n == 1 else 'es'} {what}; all {total:,} are in the table and "
            "downloads.")
    return MapChoice(tuple(ids), note)


#: above this many rows the page's patch table shows the patches on the map and the first rows
#: by rank (:func:`patches_table_rows`): a national table (~15,000 rows with their reasons) sent
#: 8 MB to the browser on every Targets page load
TABLE_MAX_ROWS = 500


def patches_table_rows(table: pd.DataFrame, ids: Sequence[str] | None = None, *,
                       max_rows: int | None = None) -> tuple[pd.DataFrame, str | None]:
    """The rows a page shows of a patch table (rank order), and the line saying so (None: all).

    Up to ``max_rows`` (default :data:`TABLE_MAX_ROWS`) rows, every one. Above it, the patches
    on the map (``ids``, :func:`patches_on_map`) and the first rows by rank (patches by people to
    reach, then the areas left alone) up to ``max_rows``, in rank order: the map's table still
    lists every patch drawn. The downloads hold every row.
    """
    cap = TABLE_MAX_ROWS if max_rows is None else int(max_rows)
    if len(table) <= cap:
        return table, None
    on_map = table["patch_id"].astype(str).isin({str(i) for i in ids or ()}).to_numpy()
    keep = on_map.copy()
    room = max(0, cap - int(on_map.sum()))
    keep[np.flatnonzero(~on_map)[:room]] = True
    rows = table[keep]
    note = (f"Table: {len(rows):,} of {len(table):,} rows (the patches on the map, then the first by people "
            "to reach); the downloads hold every patch and every area left alone.")
    return rows, note


def patches_map(ds: Dataset, patches: gpd.GeoDataFrame, *, title: str | None = None,
                made_on: dt.date | None = None, ids: Sequence[str] | None = None):
    """A folium map of the patches (areas left alone are in the table, not on the map).

    Coloured by people to reach (quantile classes), outlined by patch; the tooltip gives the
    patch's areas, span, deprivation and practices. Legend, units, sources and the modelled or
    synthetic caveat as on every map (:func:`hiexplore.maps.choropleth`); the patches fitted clear
    of the title and legend boxes, as on the Targets map.
    """
    from .charts import TARGETS_MAP_PADDING
    from .mapping import caveat_note
    from .maps import choropleth

    shown = patches[~patches["singleton"].astype(bool)]
    if shown.empty:
        raise RequestError("No patch meets the floor: every flagged area is listed alone in the table.")
    part = ""
    if ids is not None:  # a subset (:func:`patches_on_map`): the title says how many of all
        total = len(shown)
        shown = shown[shown["patch_id"].astype(str).isin({str(i) for i in ids})]
        if shown.empty:
            raise RequestError("None of the patches asked for is in this list of patches.")
        part = f"{len(shown):,} of {total:,} patches"
    age = patches.attrs.get("age_mark")  # which programme's figures are out of date: on the map itself
    head = title or ("Outreach patches: people to reach" + (f" ({part})" if part else "") + (f" · {age}" if age else ""))
    areas = gpd.GeoDataFrame(
        {"area_code": shown["patch_id"].astype(str).to_numpy(),
         "area_name": shown["patch_id"].astype(str).to_numpy()},  # short: drawn as a label on the patch
        geometry=shown.geometry.to_numpy(), crs=patches.crs or 4326)
    values = pd.DataFrame({
        "area_code": shown["patch_id"].astype(str).to_numpy(),
        "value": shown["people_to_reach"].to_numpy(float),
        "flagged": True,  # every patch outlined, so that neighbouring patches of one class stay apart
        "n_areas": shown["n_areas"].to_numpy(),
        "span": [f"{v:.1f} km" for v in shown["span_km"]],
        "most_deprived_decile": shown["most_deprived_decile"].to_numpy(),
        "practices": shown["practices"].astype(str).to_numpy(),
    })
    m = choropleth(
        areas, values, title=head, units="people", source_line=ds.provenance_line(limit=2),
        legend_title="People to reach per patch", scheme="quantiles", k=min(5, max(2, len(values))),
        higher_is_better=False, synthetic_or_modelled_note=caveat_note(ds, str(patches["geography"].iloc[0])),
        tooltip_fields={"n_areas": "Areas", "span": "Span", "most_deprived_decile": "Most deprived IMD decile",
                        "practices": "Practices (share of residents)"},
        decimals=0, flagged_label="Patch outline", area_labels=True, made_on=made_on,
    )
    # fitted clear of the title box (top left) and the legend (right), as the Targets map: no patch
    # hidden under them (the legend keeps its inner scroll: shown whole it covered the layer control)
    minx, miny, maxx, maxy = areas.to_crs(4326).total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]], padding_top_left=TARGETS_MAP_PADDING[0],
                 padding_bottom_right=TARGETS_MAP_PADDING[1])
    return m
