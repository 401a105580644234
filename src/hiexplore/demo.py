"""The synthetic demo dataset: every canonical table, at any size up to national, from a seed.

Why synthetic: the app must open with something to explore before a user has loaded a single
official file, the tests and benchmarks need a dataset of national size that no licence restricts,
and nobody should mistake it for real places, practices or people. So the codes look like ONS
and ODS codes but live in ranges no real code uses (``E01900001``..., practices ``Z00001``...,
PCNs ``UZ0001``...), the names say "Synthetic", and the manifest says ``"synthetic": true``.

What makes it realistic enough to explore:

- LSOAs are hexagons on a lattice in British National Grid (around the East Midlands), grouped
  into compact, nested MSOAs (~5 LSOAs), wards (~5), LADs (~100), sub-ICBs (~320), ICBs (~800)
  and regions (~3,750) by constrained nearest-seed (Voronoi) partitions;
- deprivation is spatially autocorrelated: each IoD domain is a mix of a shared smooth random
  field (several scales plus "inner-city" blobs) and its own field, with the published
  cross-domain correlations; the IMD score is then built the way MHCLG builds it (exponentially
  transformed domain ranks, weighted);
- age structure and ethnic mix follow deprivation (younger and more diverse where deprived);
- practices have log-normal list sizes (mean ~9,000) and serve overlapping catchments: each
  practice's nearest 20-300 LSOAs with distance decay, balanced by iterative proportional fitting
  so that LSOA registrations track residents, and rounded so each catchment sums exactly to the
  list size;
- screening and immunisation uptake is a logistic function of the practice's registered
  population deprivation (most deprived tenth of practices ~10-15 points lower), a smooth spatial
  field, and persistent and yearly practice noise, for two periods.

Everything is vectorised numpy (no per-LSOA Python loops); national size (33,755 LSOAs, 6,500
practices, ~1.2M registration rows) takes a few seconds. Randomness is explicit: one
:class:`numpy.random.SeedSequence` per seed, spawned into independent streams per component, so
the same seed gives identical frames.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import Transformer
from scipy.ndimage import gaussian_filter
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree
from scipy.special import expit, logit, ndtri

from .catalogue import catalogue
from .errors import DatasetError, RequestError

__all__ = [
    "NATIONAL_LSOAS",
    "NATIONAL_PRACTICES",
    "DEFAULT_N_LSOAS",
    "DEFAULT_N_PRACTICES",
    "DEFAULT_SEED",
    "MIN_LSOAS",
    "MAX_LSOAS",
    "MAX_PRACTICES",
    "DEMO_PERIODS",
    "DEMO_SOURCE",
    "AGE_BANDS",
    "ETHNIC_GROUPS",
    "generate_demo",
    "demo_manifest",
    "write_demo",
]

# --- sizes -----------------------------------------------------------------------------------
NATIONAL_LSOAS = 33_755  # LSOAs 2021 in England
NATIONAL_PRACTICES = 6_500
DEFAULT_N_LSOAS = 2_000  # about one ICB's worth: quick to build, big enough to explore
DEFAULT_N_PRACTICES = 385
DEFAULT_SEED = 1
MIN_LSOAS = 20  # deciles and nested geographies need a few LSOAs
MAX_LSOAS = 40_000  # national with headroom
MAX_PRACTICES = 8_000

# --- geography -------------------------------------------------------------------------------
HEX_RADIUS_M = 760.0  # circumradius: 1.5 km2 per LSOA keeps a national grid inside England
GRID_CENTRE_BNG = (445_000.0, 300_000.0)  # East Midlands, British National Grid metres
GRID_ASPECT = 1.3  # height / width: England is taller than wide
BNG, WGS84 = "EPSG:27700", "EPSG:4326"
# target LSOAs per area (England 2021: ~6,850 MSOAs, ~6,900 wards, 296 LADs, 106 sub-ICBs,
# 42 ICBs, 9 regions)
LSOAS_PER = {"region": 3_750, "icb": 800, "sub_icb": 320, "lad": 100, "msoa": 5, "ward": 4.9}
PRACTICES_PER_PCN = 5
LLOYD_STEPS = 2  # relaxation steps that make partitions compact and evenly sized

# --- people ----------------------------------------------------------------------------------
AGE_BANDS = (
    "age_0_4",
    "age_5_15",
    "age_16_24",
    "age_25_49",
    "age_50_64",
    "age_65_74",
    "age_75_plus",
)
_AGE_LIMITS = ((0, 4), (5, 15), (16, 24), (25, 49), (50, 64), (65, 74), (75, 99))
_AGE_BASE = np.array([0.055, 0.135, 0.105, 0.330, 0.195, 0.100, 0.080])  # England 2021, roughly
_AGE_DEPRIVATION = np.array([0.15, 0.12, 0.10, 0.05, -0.08, -0.18, -0.22])  # younger if deprived
_AGE_OLDER_FIELD = np.array([-0.10, -0.08, -0.15, -0.10, 0.10, 0.20, 0.25])  # "retirement" areas
ETHNIC_GROUPS = ("asian", "black", "mixed", "white", "other")
_ETHNIC_BASE = np.array([0.096, 0.042, 0.030, 0.810, 0.022])  # Census 2021 England
_ETHNIC_DIVERSITY = np.array([1.1, 1.2, 0.6, 0.0, 0.9])  # loadings on the diversity field
LSOA_POP_MIN, LSOA_POP_SHAPE, LSOA_POP_SCALE = 1_000.0, 4.0, 170.0  # mean ~1,680 residents
MEAN_LIST_SIZE, LIST_SIZE_SIGMA, LIST_SIZE_RANGE = 9_000.0, 0.55, (1_000.0, 60_000.0)
FEMALE_SHARE = 0.5

# --- deprivation (IoD 2025 shape) ------------------------------------------------------------
# loading of each domain on the shared deprivation field (gives the published correlations:
# income-employment ~0.93, barriers and living environment weakly related)
_DOMAIN_LOADING = {
    "income": 0.96,
    "employment": 0.97,
    "education": 0.88,
    "health": 0.87,
    "crime": 0.80,
    "barriers": 0.15,
    "living_environment": 0.28,
    "idaci": 0.93,
    "idaopi": 0.88,
}
_IMD_WEIGHTS = {  # IoD 2019/2025 technical report: domain weights of the IMD
    "income": 0.225,
    "employment": 0.225,
    "education": 0.135,
    "health": 0.135,
    "crime": 0.093,
    "barriers": 0.093,
    "living_environment": 0.093,
}
# score scale per domain: ("rate", a, b) -> sigmoid(a + b z); ("score100", a, b) ->
# 100 sigmoid(a + b z); ("z", sd) -> sd z. Fitted to IoD 2025 medians and 90th centiles.
_DOMAIN_SCALE: dict[str, tuple[Any, ...]] = {
    "income": ("rate", -1.49, 1.05),
    "employment": ("rate", -2.09, 0.80),
    "education": ("score100", -1.62, 1.23),
    "health": ("z", 0.885),
    "crime": ("z", 0.837),
    "barriers": ("score100", -1.39, 0.64),
    "living_environment": ("score100", -1.53, 1.04),
    "idaci": ("rate", -1.90, 1.00),
    "idaopi": ("rate", -1.90, 0.90),
}

# --- indicators ------------------------------------------------------------------------------
DEMO_PERIODS = ("2023/24", "2024/25")
DEMO_SOURCE = "hiexplore synthetic demo generator"
ENGLAND_CODE = "E92000001"  # the one real code: the synthetic country stands in for England
# England-level uptake (percent, roughly 2023/24) and the gap (points) between the most and the
# least deprived tenth of practices
_UPTAKE = {
    "breast_screening_53_70": (70.0, 13.0),
    "breast_screening_50_70": (66.0, 13.0),
    "cervical_screening_25_49": (66.0, 14.0),
    "cervical_screening_50_64": (74.0, 10.0),
    "bowel_screening_60_74": (72.0, 14.0),
    "dtap_ipv_hib_hepb_12m": (91.5, 9.0),
    "menb_12m": (91.0, 9.0),
    "pcv1_12m": (93.0, 8.0),
    "rota_12m": (89.0, 11.0),
    "dtap_ipv_hib_hepb_24m": (92.5, 9.0),
    "mmr1_24m": (89.0, 11.0),
    "hib_menc_24m": (88.8, 11.0),
    "pcv_booster_24m": (88.5, 11.0),
    "menb_booster_24m": (88.0, 12.0),
    "dtap_ipv_hib_5y": (93.0, 8.0),
    "hib_menc_5y": (91.0, 10.0),
    "dtap_ipv_booster_5y": (83.0, 14.0),
    "mmr1_5y": (92.5, 8.0),
    "mmr2_5y": (84.0, 14.0),
}
_DEFAULT_UPTAKE = {"screening": (70.0, 12.0), "immunisation": (90.0, 10.0)}
_TREND_LOGIT = {"screening": 0.03, "immunisation": -0.03}  # per year: screening up, jabs down
_PRACTICE_SD = {"programme": 0.22, "indicator": 0.10, "period": 0.07, "spatial": 0.20}
Z95 = 1.959963984540054

# --- catchments ------------------------------------------------------------------------------
CATCHMENT_ROWS = (20, 300)  # each practice's candidate LSOAs: its nearest 20-300
CATCHMENT_ROWS_MEAN = 205  # candidates at the mean list size (~185 non-empty rows survive)
NEAREST_PRACTICES = 3  # every LSOA is a candidate of its 3 nearest practices (no orphans)
DECAY_KM = 1.2  # exponential distance decay of registrations
TAIL_WEIGHT, TAIL_KM = 0.02, 8.0  # a long tail: people who moved but kept their GP
IPF_STEPS = 8

DEMO_CREATED = "2025-06-01T00:00:00+00:00"  # fixed: the manifest is a function of its arguments
GENERATOR_VERSION = 1

_PLACE_HEADS = tuple(
    "Alder Bram Carr Dene Elm Fern Gorse Hazel Ivy Kestrel Larch Marl Nettle Oak Pike Quarry "
    "Rush Sedge Thorn Umber Vetch Willow Yarrow Ash Birch Clover Damson Eyot Flint Gale Heron "
    "Lark".split()
)
_PLACE_TAILS = tuple(
    "ford ley ton bury wick ham field by thorpe mouth stead combe worth hurst well bridge".split()
)
_SUBPLACES = tuple(
    "North South East West Central Park Abbey Castle Hill Vale Green Meadows Brook Fields Heath "
    "Common Riverside Moor Bridge Marsh Priory Grange Wood Cross".split()
)
_STREETS = tuple(
    "Station Road|High Street|Church Lane|Park View|Mill Lane|Victoria Road|"
    "Queens Road|Kings Road|Market Place|Riverside|Orchard|The Green".split("|")
)
_PRACTICE_KINDS = tuple(
    "Surgery|Medical Centre|Health Centre|Medical Practice|Family Practice".split("|")
)
_POSTCODE_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


# ============================================================================================
# public API
# ============================================================================================


def generate_demo(
    n_lsoas: int = DEFAULT_N_LSOAS,
    n_practices: int = DEFAULT_N_PRACTICES,
    seed: int = DEFAULT_SEED,
) -> dict[str, pd.DataFrame]:
    """Every canonical table of a synthetic dataset: deterministic for ``seed``.

    Returns ``{"areas", "lookup", "deprivation", "practices", "registrations", "indicators",
    "population"}``; ``areas`` is a GeoDataFrame in EPSG:4326. Exactly ``n_lsoas`` LSOAs and
    ``n_practices`` practices; each practice's registrations sum exactly to its list size.

    >>> t = generate_demo(200, 40, seed=3)
    >>> len(t["lookup"]), len(t["practices"])
    (200, 40)
    >>> bool((t["registrations"].groupby("practice_code")["patients"].sum()
    ...       == t["practices"].set_index("practice_code")["list_size"]).all())
    True
    """
    n_lsoas, n_practices, seed = _check_sizes(n_lsoas, n_practices, seed)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    rng_geo, rng_dep, rng_pop, rng_prac, rng_reg, rng_ind, rng_names = streams

    grid = _hex_grid(n_lsoas)
    geo = _geography(grid, rng_geo)  # LSOAs in code order from here on
    names = _names(geo, rng_names)
    lookup = _lookup(geo, names)
    dep = _deprivation(geo, rng_dep)
    population = _population(geo, dep, rng_pop)
    deprivation = _deprivation_table(geo, dep, population)
    prac = _practices(geo, names, n_practices, rng_prac)
    registrations, reg_idx = _registrations(geo, population, prac, rng_reg)
    indicators = _indicators(geo, dep, population, prac, reg_idx, rng_ind)
    areas = _areas(geo, names, prac, reg_idx)
    return {
        "areas": areas,
        "lookup": lookup,
        "deprivation": deprivation,
        "practices": prac["table"],
        "registrations": registrations,
        "indicators": indicators,
        "population": population,
    }


def demo_manifest(
    n_lsoas: int = DEFAULT_N_LSOAS,
    n_practices: int = DEFAULT_N_PRACTICES,
    seed: int = DEFAULT_SEED,
    *,
    created: str | None = None,
) -> dict[str, Any]:
    """The manifest of a demo dataset: says ``synthetic`` everywhere a screen might look.

    Deterministic (``created`` is a fixed date unless given) so that the same arguments give the
    same manifest; ``demo_key`` identifies the content (generator version + arguments).

    >>> m = demo_manifest(200, 40, 3)
    >>> m["synthetic"], m["catchments"], m["sources"][0]["licence"]
    (True, 'synthetic', 'synthetic — not real data')
    """
    n_lsoas, n_practices, seed = _check_sizes(n_lsoas, n_practices, seed)
    generator = {
        "module": "hiexplore.demo",
        "version": GENERATOR_VERSION,
        "n_lsoas": n_lsoas,
        "n_practices": n_practices,
        "seed": seed,
    }
    key = hashlib.sha256(json.dumps(generator, sort_keys=True).encode()).hexdigest()[:16]
    period = f"{DEMO_PERIODS[0]} to {DEMO_PERIODS[-1]}"
    return {
        "name": "demo",
        "title": f"Synthetic demo: {n_lsoas:,} LSOAs, {n_practices:,} practices (seed {seed})",
        "synthetic": True,
        "notice": (
            "SYNTHETIC DATA: generated by hiexplore. The places, practices, people and figures "
            "are invented; do not use them for decisions."
        ),
        "created": created or DEMO_CREATED,
        "geography_vintage": "2021",
        "catchments": "synthetic",
        "deprivation_editions": [2025],
        "periods": list(DEMO_PERIODS),
        "generator": generator,
        "demo_key": key,
        "sources": [
            {
                "title": DEMO_SOURCE,
                "publisher": "hiexplore",
                "period": period,
                "licence": "synthetic — not real data",
                "file": "",
                "sha256": "",
                "attribution": (
                    "Synthetic data generated by hiexplore.demo "
                    f"(version {GENERATOR_VERSION}, seed {seed}); shaped after ONS, MHCLG "
                    "(IoD 2025), NHS Digital and OHID Fingertips publications, but contains none "
                    "of their data."
                ),
            }
        ],
    }


def write_demo(
    out_dir: str | Path,
    n_lsoas: int = DEFAULT_N_LSOAS,
    n_practices: int = DEFAULT_N_PRACTICES,
    seed: int = DEFAULT_SEED,
) -> Path:
    """Generate the demo and write it as a dataset folder (via ``dataset.write_dataset``).

    Kept here so the CLI verb ``hiexplore demo`` and the app's first run share one path; the
    writing itself (atomic replace, GeoParquet) belongs to :mod:`hiexplore.dataset`.
    """
    try:
        from .dataset import write_dataset  # lazily: the demo does not need IO to generate
    except ImportError as err:
        raise DatasetError(
            "cannot write the demo: hiexplore.dataset.write_dataset is not available"
        ) from err
    tables = generate_demo(n_lsoas, n_practices, seed)
    manifest = demo_manifest(n_lsoas, n_practices, seed)
    write_dataset(Path(out_dir), tables, manifest)
    return Path(out_dir)


# ============================================================================================
# arguments
# ============================================================================================


def _check_sizes(n_lsoas: Any, n_practices: Any, seed: Any) -> tuple[int, int, int]:
    """Integers in range, or a RequestError that names the argument and echoes the value."""
    out = []
    for name, value, lo, hi in (
        ("n_lsoas", n_lsoas, MIN_LSOAS, MAX_LSOAS),
        ("n_practices", n_practices, 2, MAX_PRACTICES),
        ("seed", seed, 0, 2**63 - 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise RequestError(f"'{name}' should be a whole number, got {value!r} instead.")
        if not lo <= int(value) <= hi:
            raise RequestError(
                f"'{name}' should be between {lo:,} and {hi:,}, got {int(value):,} instead."
            )
        out.append(int(value))
    return out[0], out[1], out[2]


# ============================================================================================
# geography
# ============================================================================================


def _hex_grid(n: int) -> dict[str, np.ndarray]:
    """``n`` pointy-top hexagons filled row by row (the last row partial), in BNG metres.

    Centres (and, in :func:`_areas`, vertices) are computed from integer lattice indices (units
    of half a hexagon's width and half its radius), so neighbours share bit-identical vertices:
    parents are traced on the lattice and rook contiguity finds every shared edge.
    """
    ncols = max(2, math.ceil(math.sqrt(n / (GRID_ASPECT * 2 / math.sqrt(3)))))
    nrows = math.ceil(n / ncols)
    idx = np.arange(n)
    row, col = idx // ncols, idx % ncols
    half_w = HEX_RADIUS_M * math.sqrt(3) / 2
    half_r = HEX_RADIUS_M / 2
    x0 = GRID_CENTRE_BNG[0] - ncols * half_w
    y0 = GRID_CENTRE_BNG[1] - nrows * 1.5 * HEX_RADIUS_M / 2
    cx_i = 2 * col + (row & 1)  # centre in lattice units
    cy_i = 3 * row
    return {
        "row": row,
        "col": col,
        "shape": np.array([nrows, ncols]),
        "x": cx_i * half_w + x0,
        "y": cy_i * half_r + y0,
        "lattice": np.array([x0, y0, half_w, half_r]),
    }


def _partition(
    xy: np.ndarray, parent: np.ndarray, target: float, rng: np.random.Generator
) -> np.ndarray:
    """Compact groups of about ``target`` points, nested in ``parent`` (labels 0..k-1).

    Seeds are drawn within each parent, relaxed by a few Lloyd steps, and every point joins its
    nearest seed *of the same parent* (a parent offset on a third axis keeps other parents'
    seeds out of reach). Labels run in order of (parent, first point), so codes read in order.
    """
    _, parent = np.unique(parent, return_inverse=True)
    n = len(xy)
    sizes = np.bincount(parent)
    k = np.maximum(1, np.rint(sizes / target)).astype(np.int64)
    order = np.lexsort((rng.random(n), parent))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(n) - starts[parent[order]]
    seed_idx = order[pos < k[parent[order]]]
    seeds = xy[seed_idx].astype(float)
    seed_parent = parent[seed_idx]
    big = 100.0 * (np.ptp(xy, axis=0).max() + 1.0)
    pts = np.column_stack([xy, parent * big])
    labels = np.zeros(n, dtype=np.int64)
    for step in range(LLOYD_STEPS + 1):
        tree = cKDTree(np.column_stack([seeds, seed_parent * big]))
        labels = tree.query(pts, workers=-1)[1]
        if step == LLOYD_STEPS:
            break
        count = np.bincount(labels, minlength=len(seeds))
        has = count > 0
        for d in range(2):
            total = np.bincount(labels, weights=xy[:, d], minlength=len(seeds))
            seeds[has, d] = total[has] / count[has]
    used, first = np.unique(labels, return_index=True)
    rank = np.lexsort((first, parent[first]))
    relabel = np.empty(len(seeds), dtype=np.int64)
    relabel[used[rank]] = np.arange(len(used))
    return relabel[labels]


def _geography(grid: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, Any]:
    """Nested areas for every cell, then LSOAs re-ordered by (LAD, MSOA, cell) like ONS codes."""
    xy = np.column_stack([grid["x"], grid["y"]]) / 1000.0  # km
    n = len(xy)
    region = _partition(xy, np.zeros(n, dtype=np.int64), LSOAS_PER["region"], rng)
    icb = _partition(xy, region, LSOAS_PER["icb"], rng)
    sub_icb = _partition(xy, icb, LSOAS_PER["sub_icb"], rng)
    lad = _partition(xy, sub_icb, LSOAS_PER["lad"], rng)
    msoa = _partition(xy, lad, LSOAS_PER["msoa"], rng)
    ward = _partition(xy, lad, LSOAS_PER["ward"], rng)
    cell = np.lexsort((np.arange(n), msoa))  # msoa labels already run in LAD order
    out: dict[str, Any] = {
        "n": n,
        "cell": cell,  # LSOA i is grid cell cell[i]
        "x": grid["x"][cell],
        "y": grid["y"][cell],
        "shape": tuple(int(v) for v in grid["shape"]),
        "lattice": grid["lattice"],
    }
    for name, lab in (
        ("region", region),
        ("icb", icb),
        ("sub_icb", sub_icb),
        ("lad", lad),
        ("msoa", msoa),
        ("ward", ward),
    ):
        out[name] = lab[cell]
    # ward labels ran in first-cell order; renumber them in LSOA order too
    _, first = np.unique(out["ward"], return_index=True)
    relabel = np.empty(len(first), dtype=np.int64)
    relabel[out["ward"][np.sort(first)]] = np.arange(len(first))
    out["ward"] = relabel[out["ward"]]
    return out


@cache
def _bng_to_wgs84() -> Transformer:
    """One BNG -> EPSG:4326 transformer per process (building one costs ~50 ms; pyproj >= 3.1
    transformers are thread-safe)."""
    return Transformer.from_crs(BNG, WGS84, always_xy=True)


def _codes(prefix: str, n: int, width: int, start: int) -> np.ndarray:
    """``prefix`` + zero-padded ``start, start + 1, ...`` as Python strings (vectorised)."""
    numbers = np.char.zfill(np.arange(start, start + n).astype(str), width)
    return np.char.add(prefix, numbers).astype(object)


def _str(values: Any) -> pd.api.extensions.ExtensionArray:
    """``values`` as pandas' string array (Arrow-backed), converted once."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray) and values.dtype == "str":
        return values
    return pd.array(np.asarray(values, dtype=object), dtype="str")


def _full_str(value: str, n: int) -> pd.api.extensions.ExtensionArray:
    """``n`` copies of ``value`` as a string array (filled by Arrow: no index array to gather)."""
    return pd.array(pa.repeat(pa.scalar(value, type=pa.large_string()), n), dtype="str")


def _take_str(values: Any, idx: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[idx]`` as a string array, gathered by Arrow (no million-item Python objects)."""
    return _str(values).take(idx)


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0-based position of each element within its group (groups sorted or not, stable)."""
    order = np.argsort(groups, kind="stable")
    sizes = np.bincount(groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.empty(len(groups), dtype=np.int64)
    pos[order] = np.arange(len(groups)) - starts[groups[order]]
    return pos


def _letters(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (LSOA name suffixes)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _subplace_names(place: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``"<place> <North|South|...>"``, numbered once the words run out."""
    m = len(_SUBPLACES)
    return np.array(
        [
            f"{p} {_SUBPLACES[i % m]}" + (f" {i // m + 1}" if i >= m else "")
            for p, i in zip(place.tolist(), k.tolist(), strict=True)
        ],
        dtype=object,
    )


def _names(geo: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Codes and names of every area: synthetic ranges (E0x9.....) and invented place names."""
    n_lad = int(geo["lad"].max()) + 1
    combos = np.array([h + t for h in _PLACE_HEADS for t in _PLACE_TAILS], dtype=object)
    pick = rng.permutation(len(combos))
    place = np.array(
        [
            combos[pick[i % len(combos)]] + ("" if i < len(combos) else f" {i // len(combos) + 1}")
            for i in range(n_lad)
        ],
        dtype=object,
    )
    lad_name = np.array([f"Synthetic {p}" for p in place], dtype=object)
    n_msoa = int(geo["msoa"].max()) + 1
    msoa_lad = np.zeros(n_msoa, dtype=np.int64)
    msoa_lad[geo["msoa"]] = geo["lad"]
    msoa_num = _rank_within(msoa_lad) + 1
    # "<LAD name> 001", then "<MSOA name>A": object arrays add element-wise (str +)
    numbers = np.char.zfill(np.arange(int(msoa_num.max()) + 1).astype(str), 3).astype(object)
    msoa_name = lad_name[msoa_lad] + " " + numbers[msoa_num]
    lsoa_letter = _rank_within(geo["msoa"])
    letters = np.array([_letters(k) for k in range(int(lsoa_letter.max()) + 1)], dtype=object)
    lsoa_name = msoa_name[geo["msoa"]] + letters[lsoa_letter]
    n_ward = int(geo["ward"].max()) + 1
    ward_lad = np.zeros(n_ward, dtype=np.int64)
    ward_lad[geo["ward"]] = geo["lad"]
    ward_name = _subplace_names(place[ward_lad], _rank_within(ward_lad))

    def parent_of(child: str, parent: str) -> np.ndarray:
        out = np.zeros(int(geo[child].max()) + 1, dtype=np.int64)
        out[geo[child]] = geo[parent]
        return out

    icb_first_lad = np.zeros(int(geo["icb"].max()) + 1, dtype=np.int64)
    icb_first_lad[geo["icb"][::-1]] = geo["lad"][::-1]  # the first LAD of each ICB
    icb_name = np.array(
        [f"NHS Synthetic {place[a]} Integrated Care Board" for a in icb_first_lad], dtype=object
    )
    n_sub = int(geo["sub_icb"].max()) + 1
    sub_code = _codes("E38", n_sub, 6, 900_001)
    sub_icb_of = parent_of("sub_icb", "icb")
    sub_name = np.array(
        [
            f"{icb_name[i].removesuffix(' Integrated Care Board')} ICB - {c[-3:]}"
            for i, c in zip(sub_icb_of.tolist(), sub_code.tolist(), strict=True)
        ],
        dtype=object,
    )
    return {
        "place": place,
        "lsoa_code": _codes("E01", geo["n"], 6, 900_001),
        "lsoa_name": lsoa_name,
        "msoa_code": _codes("E02", n_msoa, 6, 900_001),
        "msoa_name": msoa_name,
        "ward_code": _codes("E05", n_ward, 6, 900_001),
        "ward_name": ward_name,
        "lad_code": _codes("E06", n_lad, 6, 900_001),
        "lad_name": lad_name,
        "sub_icb_code": sub_code,
        "sub_icb_name": sub_name,
        "icb_code": _codes("E54", len(icb_name), 6, 900_001),
        "icb_name": icb_name,
        "region_code": _codes("E12", int(geo["region"].max()) + 1, 6, 900_001),
    }


def _lookup(geo: dict[str, Any], names: dict[str, np.ndarray]) -> pd.DataFrame:
    cols: dict[str, Any] = {"lsoa_code": _str(names["lsoa_code"]), "lsoa_name": _str(names["lsoa_name"])}
    for level in ("msoa", "ward", "lad", "sub_icb", "icb"):  # parents gathered by Arrow
        cols[f"{level}_code"] = _take_str(names[f"{level}_code"], geo[level])
        cols[f"{level}_name"] = _take_str(names[f"{level}_name"], geo[level])
    cols["region_code"] = _take_str(names["region_code"], geo["region"])
    return pd.DataFrame(cols)


# ============================================================================================
# deprivation and population
# ============================================================================================


def _field(geo: dict[str, Any], rng: np.random.Generator, sigma: float) -> np.ndarray:
    """A standardised smooth Gaussian random field over the grid, read at each LSOA."""
    raw = gaussian_filter(rng.standard_normal(geo["shape"]), sigma, mode="reflect")
    val = raw.ravel()[geo["cell"]]
    return (val - val.mean()) / (val.std() + 1e-12)


def _standardise(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / (v.std() + 1e-12)


def _deprivation_field(geo: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """The shared deprivation field: three scales, inner-city blobs, and LSOA-level noise."""
    nrows, ncols = geo["shape"]
    blobs = np.zeros(geo["shape"])
    n_blobs = max(1, geo["n"] // 700)
    blobs[rng.integers(0, nrows, n_blobs), rng.integers(0, ncols, n_blobs)] = rng.gamma(
        2.0, 1.0, n_blobs
    )
    towns = gaussian_filter(blobs, 3.0, mode="constant").ravel()[geo["cell"]]
    parts = (
        0.45 * _field(geo, rng, 1.5)
        + 0.55 * _field(geo, rng, 4.0)
        + 0.45 * _field(geo, rng, 12.0)
        + 0.55 * _standardise(towns)
        + 0.40 * rng.standard_normal(geo["n"])
    )
    return _standardise(parts)


def _ranks_desc(score: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score = most deprived (ties broken by position, deterministically)."""
    order = np.argsort(-score, kind="stable")
    rank = np.empty(len(score), dtype=np.float64)
    rank[order] = np.arange(1, len(score) + 1)
    return rank


def _deciles(rank: np.ndarray) -> np.ndarray:
    """National deciles from ranks: 1 = most deprived tenth."""
    return np.ceil(rank * 10.0 / len(rank))


def _deprivation(geo: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Domain latents, scores, ranks and deciles; the IMD from exponentially transformed ranks.

    Notes
    -----
    The IMD combines domain ranks :math:`R` (scaled to (0, 1], 1 = most deprived) through the
    exponential transformation :math:`X = -23 \\ln(1 - R (1 - e^{-100/23}))` and weights them
    (income and employment 22.5%, education and health 13.5%, crime, barriers and living
    environment 9.3%): English Indices of Deprivation 2019 technical report (MHCLG, 2019), s. 3.
    """
    shared = _deprivation_field(geo, rng)
    n = geo["n"]
    out: dict[str, Any] = {"shared": shared}
    imd = np.zeros(n)
    for domain, load in _DOMAIN_LOADING.items():
        own = _standardise(0.7 * _field(geo, rng, 3.0) + 0.3 * rng.standard_normal(n))
        base = shared if domain not in ("idaci", "idaopi") else out["income_latent"]
        z = load * base + math.sqrt(1 - load * load) * own
        out[f"{domain}_latent"] = z
        rank = _ranks_desc(z)  # rank the latent: no ties from rounding
        zq = ndtri((n + 0.5 - rank) / n)  # normal scores: calibrated tails whatever the field
        kind, *par = _DOMAIN_SCALE[domain]
        if kind == "rate":
            score = np.round(expit(par[0] + par[1] * zq), 3)
        elif kind == "score100":
            score = np.round(100 * expit(par[0] + par[1] * zq), 3)
        else:
            score = np.round(par[0] * zq, 3)
        out[f"{domain}_score"] = score
        out[f"{domain}_rank"] = rank
        out[f"{domain}_decile"] = _deciles(rank)
        if domain in _IMD_WEIGHTS:
            r = (n + 1 - rank) / n
            imd += _IMD_WEIGHTS[domain] * -23.0 * np.log(1 - r * (1 - math.exp(-100 / 23)))
    out["imd_score"] = np.round(imd, 3)
    out["imd_rank"] = _ranks_desc(imd)
    out["imd_decile"] = _deciles(out["imd_rank"])
    # normal scores of the IMD rank: the deprivation covariate used for people and uptake
    out["z"] = ndtri((n + 0.5 - out["imd_rank"]) / n)
    return out


def _round_rows(expected: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Round each row of ``expected`` to integers that sum exactly to ``totals`` (cumulative)."""
    cs = np.cumsum(expected, axis=1)
    cs = cs / cs[:, -1:] * totals[:, None]
    cs[:, -1] = totals
    fl = np.floor(cs + 0.5)
    return np.diff(np.concatenate([np.zeros((len(totals), 1)), fl], axis=1), axis=1)


def _population(geo: dict[str, Any], dep: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """Residents by age band and ethnic mix: younger and more diverse where deprived."""
    n = geo["n"]
    z = dep["z"]
    pop = np.round(LSOA_POP_MIN + rng.gamma(LSOA_POP_SHAPE, LSOA_POP_SCALE, n))
    older = _field(geo, rng, 5.0)
    log_age = (
        np.log(_AGE_BASE)[None, :]
        + z[:, None] * _AGE_DEPRIVATION[None, :]
        + older[:, None] * _AGE_OLDER_FIELD[None, :]
        + 0.05 * rng.standard_normal((n, len(AGE_BANDS)))
    )
    share = np.exp(log_age)
    share /= share.sum(axis=1, keepdims=True)
    ages = _round_rows(share * pop[:, None], pop)
    diversity = _standardise(0.55 * z + 0.85 * _field(geo, rng, 4.0) + 0.2 * rng.standard_normal(n))
    log_eth = (
        np.log(_ETHNIC_BASE)[None, :] + (diversity[:, None] - 0.3) * _ETHNIC_DIVERSITY[None, :]
    )
    eth = np.exp(log_eth)
    eth /= eth.sum(axis=1, keepdims=True)
    cols: dict[str, Any] = {"lsoa_code": _str(_codes("E01", n, 6, 900_001)), "population": pop}
    for j, band in enumerate(AGE_BANDS):
        cols[band] = ages[:, j]
    for j, group in enumerate(ETHNIC_GROUPS):
        cols[f"share_{group}"] = np.round(eth[:, j], 4)
    return pd.DataFrame(cols)


def _deprivation_table(
    geo: dict[str, Any], dep: dict[str, Any], population: pd.DataFrame
) -> pd.DataFrame:
    """IoD 2025 shape: IMD and domain score/rank/decile, and the population denominators."""
    cols: dict[str, Any] = {
        "lsoa_code": population["lsoa_code"].array,  # the same string array, not re-converted
        "edition": np.full(geo["n"], 2025, dtype=np.int64),
        "imd_score": dep["imd_score"],
        "imd_rank": dep["imd_rank"],
        "imd_decile": dep["imd_decile"],
        "crosswalked": np.zeros(geo["n"], dtype=bool),
    }
    for domain in _DOMAIN_LOADING:
        for part in ("score", "rank", "decile"):
            cols[f"{domain}_{part}"] = dep[f"{domain}_{part}"]
    a = {band: population[band].to_numpy() for band in AGE_BANDS}
    total = population["population"].to_numpy()
    cols["population_total"] = total
    cols["population_0_15"] = a["age_0_4"] + a["age_5_15"]
    cols["population_16_59"] = a["age_16_24"] + a["age_25_49"] + np.round(a["age_50_64"] * 10 / 15)
    cols["population_60_plus"] = total - cols["population_0_15"] - cols["population_16_59"]
    return pd.DataFrame(cols)


# ============================================================================================
# practices and catchments
# ============================================================================================


def _practices(
    geo: dict[str, Any], names: dict[str, np.ndarray], n_practices: int, rng: np.random.Generator
) -> dict[str, Any]:
    """Practices placed inside LSOAs, with log-normal list sizes, grouped into PCNs (~5)."""
    n = geo["n"]
    home = np.sort(rng.choice(n, n_practices, replace=n_practices > n))  # codes in spatial order
    radius = HEX_RADIUS_M * math.sqrt(3) / 2 * 0.85 * np.sqrt(rng.random(n_practices))
    angle = rng.random(n_practices) * 2 * math.pi
    px = geo["x"][home] + radius * np.cos(angle)
    py = geo["y"][home] + radius * np.sin(angle)
    mu = math.log(MEAN_LIST_SIZE) - LIST_SIZE_SIGMA**2 / 2
    list_size = np.clip(np.round(rng.lognormal(mu, LIST_SIZE_SIGMA, n_practices)), *LIST_SIZE_RANGE)
    pcn = _partition(
        np.column_stack([px, py]) / 1000.0, geo["sub_icb"][home], PRACTICES_PER_PCN, rng
    )
    lon, lat = _bng_to_wgs84().transform(px, py)
    lad = geo["lad"][home]
    place = names["place"][lad]
    street = rng.integers(0, len(_STREETS), n_practices)
    kind = rng.integers(0, len(_PRACTICE_KINDS), n_practices)
    practice_name = np.array(
        [
            f"{p} {_STREETS[s]} {_PRACTICE_KINDS[k]}"
            for p, s, k in zip(place.tolist(), street.tolist(), kind.tolist(), strict=True)
        ],
        dtype=object,
    )
    n_pcn = int(pcn.max()) + 1
    pcn_first = np.zeros(n_pcn, dtype=np.int64)
    pcn_first[pcn[::-1]] = np.arange(n_practices)[::-1]
    pcn_lad = lad[pcn_first]
    pcn_name = np.array(
        [
            f"Synthetic {s} PCN"
            for s in _subplace_names(names["place"][pcn_lad], _rank_within(pcn_lad))
        ],
        dtype=object,
    )
    code = _codes("Z", n_practices, 5, 1)
    letters = _POSTCODE_LETTERS[rng.integers(0, len(_POSTCODE_LETTERS), (n_practices, 2))]
    postcode = np.array(
        [
            f"ZZ{a % 99 + 1} {d}{x}{y}"
            for a, d, (x, y) in zip(
                lad.tolist(), rng.integers(1, 10, n_practices).tolist(), letters.tolist(), strict=True
            )
        ],
        dtype=object,
    )
    table = pd.DataFrame(
        {
            "practice_code": code,
            "practice_name": practice_name,
            "pcn_code": _codes("UZ", n_pcn, 4, 1)[pcn],
            "pcn_name": pcn_name[pcn],
            "sub_icb_code": names["sub_icb_code"][geo["sub_icb"][home]],
            "icb_code": names["icb_code"][geo["icb"][home]],
            "postcode": postcode,
            "latitude": np.round(lat, 6),
            "longitude": np.round(lon, 6),
            "list_size": list_size,
            "status": np.full(n_practices, "open", dtype=object),
            "lsoa_code": names["lsoa_code"][home],
        }
    )
    return {
        "table": table,
        "home": home,
        "x": px,
        "y": py,
        "list": list_size,
        "pcn": pcn,
        "pcn_code": _codes("UZ", n_pcn, 4, 1),
        "pcn_name": pcn_name,
    }


def _registrations(
    geo: dict[str, Any], population: pd.DataFrame, prac: dict[str, Any], rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Overlapping catchments: nearest LSOAs with distance decay, balanced, rounded exactly.

    Candidates are each practice's nearest 20-300 LSOAs (more for bigger lists) plus each LSOA's
    nearest practices; weights decay with distance (with a long tail) and carry noise; iterative
    proportional fitting makes practice totals equal list sizes and LSOA totals track residents;
    cumulative (systematic) rounding with a random offset per practice then gives integers that
    sum exactly to each list size. Empty pairs are dropped.
    """
    n, n_p = geo["n"], len(prac["list"])
    lsoa_xy = np.column_stack([geo["x"], geo["y"]])
    prac_xy = np.column_stack([prac["x"], prac["y"]])
    lo, hi = CATCHMENT_ROWS
    k_p = np.clip(np.rint(CATCHMENT_ROWS_MEAN * np.sqrt(prac["list"] / MEAN_LIST_SIZE)), lo, hi)
    k_p = np.minimum(k_p, n).astype(np.int64)
    # each practice's nearest k_p LSOAs; queried in groups of similar k_p (sorted), so that
    # few neighbours beyond a practice's own k_p are searched for and thrown away
    tree = cKDTree(lsoa_xy)
    by_k = np.argsort(k_p, kind="stable")
    l_parts = []
    for chunk in np.array_split(by_k, min(8, n_p)):
        kc = int(k_p[chunk].max())
        near = tree.query(prac_xy[chunk], k=kc, workers=-1)[1].reshape(len(chunk), kc)
        l_parts.append(near[np.arange(kc)[None, :] < k_p[chunk][:, None]])
    p_a = np.repeat(by_k, k_p[by_k])
    l_a = np.concatenate(l_parts)
    k_l = min(NEAREST_PRACTICES, n_p)
    _, near_p = cKDTree(prac_xy).query(lsoa_xy, k=k_l, workers=-1)
    near_p = near_p.reshape(n, k_l)
    key = np.concatenate([p_a * n + l_a, near_p.ravel() * n + np.repeat(np.arange(n), k_l)])
    key.sort()  # sort + adjacent difference: several times faster than np.unique here
    key = key[np.r_[True, key[1:] != key[:-1]]]
    p, lsoa = np.divmod(key, n)
    rows = np.bincount(p, minlength=n_p)  # pairs are sorted by practice: gathers are repeats
    # one scratch array for the gathers by LSOA (mode="clip": np.take buffers `out` otherwise)
    buf = np.empty(len(key))
    dx = np.repeat(prac["x"], rows)
    dx -= np.take(geo["x"], lsoa, out=buf, mode="clip")
    dy = np.repeat(prac["y"], rows)
    dy -= np.take(geo["y"], lsoa, out=buf, mode="clip")
    d_km = np.hypot(dx, dy, out=dx)
    d_km /= 1000.0
    w = np.exp(np.divide(d_km, -TAIL_KM, out=dy), out=dy)
    w *= TAIL_WEIGHT
    w += np.exp(np.divide(d_km, -DECAY_KM, out=buf), out=buf)
    w *= rng.gamma(2.0, 0.5, len(key))
    row_target = prac["list"]
    resid = population["population"].to_numpy()
    col_target = resid * row_target.sum() / resid.sum()
    for _ in range(IPF_STEPS):
        w *= np.repeat(row_target / np.bincount(p, weights=w, minlength=n_p), rows)
        col = np.bincount(lsoa, weights=w, minlength=n)
        col = np.where(col > 0, col_target / np.where(col > 0, col, 1.0), 1.0)
        w *= np.take(col, lsoa, out=buf, mode="clip")
    w *= np.repeat(row_target / np.bincount(p, weights=w, minlength=n_p), rows)
    # systematic rounding within each practice
    ends = np.cumsum(rows)
    local = np.cumsum(w, out=w)
    local -= np.repeat(np.concatenate([[0.0], local[ends[:-1] - 1]]), rows)
    local /= np.repeat(local[ends - 1], rows)
    local *= np.repeat(row_target, rows)
    local[ends - 1] = row_target
    prev = d_km  # scratch again: the cumulative count before each pair, 0 at each practice's start
    prev[0] = 0.0
    prev[1:] = local[:-1]
    prev[ends[:-1]] = 0.0
    offset = np.repeat(rng.random(n_p), rows)
    count = np.floor(np.add(local, offset, out=local), out=local)
    count -= np.floor(np.add(prev, offset, out=prev), out=prev)
    nz = count > 0
    p, lsoa, count = p[nz], lsoa[nz], count[nz]
    table = pd.DataFrame(
        {
            "practice_code": _take_str(prac["table"]["practice_code"], p),
            "lsoa_code": _take_str(population["lsoa_code"], lsoa),
            "patients": count.astype(np.float64),
            "catchment_source": _full_str("synthetic", len(p)),
            "in_area": np.ones(len(p), dtype=bool),
        }
    )
    return table, {"p": p, "lsoa": lsoa, "patients": count}


# ============================================================================================
# indicators
# ============================================================================================


def _wilson(num: np.ndarray, den: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval in percent (Wilson 1927; as in PHEindicatormethods), NaN if den=0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = num / den
        centre = (2 * num + z * z) / (2 * (den + z * z))
        half = z * np.sqrt(z * z + 4 * num * (1 - p)) / (2 * (den + z * z))
        lower, upper = 100 * (centre - half), 100 * (centre + half)
    lower = np.where(num <= 0, 0.0, lower)  # exact ends, not 1e-14 inside the value
    upper = np.where(num >= den, 100.0, upper)
    bad = den <= 0
    lower[bad] = np.nan
    upper[bad] = np.nan
    return lower, upper


def _eligible_share(ages: tuple[int, int], sex: str, band_share: np.ndarray) -> np.ndarray:
    """Share of a list in an age range (uniform within bands), halved for one sex."""
    a, b = ages
    weight = np.zeros(len(_AGE_LIMITS))
    for j, (lo, hi) in enumerate(_AGE_LIMITS):
        overlap = min(b, hi) - max(a, lo) + 1
        if overlap > 0:
            weight[j] = overlap / (hi - lo + 1)
    share = band_share @ weight
    return share * (FEMALE_SHARE if sex in ("female", "male") else 1.0)


def _indicators(
    geo: dict[str, Any],
    dep: dict[str, Any],
    population: pd.DataFrame,
    prac: dict[str, Any],
    reg: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Practice-level screening and immunisation uptake with a deprivation gradient + England.

    logit(uptake) = logit(England level) - beta x (practice deprivation, normal score of the
    patient-weighted IMD score) + spatial field + practice effects (programme, indicator, year);
    beta is set so the most deprived tenth of practices sits ``gap`` points below the least.
    Numerators are binomial draws on denominators = list size x eligible share of the practice's
    registered age mix.
    """
    n_p = len(prac["list"])
    p, lsoa, pts = reg["p"], reg["lsoa"], reg["patients"]
    reg_total = np.bincount(p, weights=pts, minlength=n_p)
    imd_reg = np.bincount(p, weights=pts * dep["imd_score"][lsoa], minlength=n_p) / reg_total
    rank = np.empty(n_p)
    rank[np.argsort(imd_reg, kind="stable")] = np.arange(1, n_p + 1)
    dep_z = ndtri((rank - 0.5) / n_p)  # higher = more deprived
    pop_tot = population["population"].to_numpy()[lsoa]  # gathered once for every band
    band_share = np.empty((n_p, len(AGE_BANDS)))
    weight = np.empty(len(p))
    for j, b in enumerate(AGE_BANDS):  # patients x the LSOA's share in the band, by practice
        np.take(population[b].to_numpy(), lsoa, out=weight, mode="clip")
        weight *= pts
        weight /= pop_tot
        band_share[:, j] = np.bincount(p, weights=weight, minlength=n_p) / reg_total
    spatial = _field(geo, rng, 4.0)[prac["home"]] * _PRACTICE_SD["spatial"]
    programme_effect = {
        g: rng.normal(0, _PRACTICE_SD["programme"], n_p) for g in ("screening", "immunisation")
    }
    # gap in dep_z between the mean of the most and of the least deprived tenth of practices
    z_gap = 2 * float(np.mean(np.sort(dep_z)[-max(1, n_p // 10) :]))
    frames = []
    for ind in catalogue().values():
        if ind.programme not in ("screening", "immunisation"):
            continue
        level, gap = _UPTAKE.get(ind.key, _DEFAULT_UPTAKE[ind.programme])
        p0 = level / 100
        beta = gap / 100 / (p0 * (1 - p0) * max(z_gap, 1.0))
        share = _eligible_share(ind.eligible_ages, ind.eligible_sex, band_share)
        den_base = prac["list"] * share
        ind_effect = rng.normal(0, _PRACTICE_SD["indicator"], n_p)
        for t, period in enumerate(DEMO_PERIODS):
            years_back = len(DEMO_PERIODS) - 1 - t
            den = np.round(den_base * rng.normal(1.0, 0.02, n_p)).clip(0)
            eta = (
                logit(p0)
                - beta * dep_z
                + spatial
                + programme_effect[ind.programme]
                + ind_effect
                + rng.normal(0, _PRACTICE_SD["period"], n_p)
                - _TREND_LOGIT[ind.programme] * years_back
            )
            num = rng.binomial(den.astype(np.int64), expit(eta)).astype(np.float64)
            frames.append((ind.key, period, den, num))
    n_f = len(frames)
    # rows: every practice for each (indicator, period), then England (index n_p): sums
    f_idx = np.concatenate([np.repeat(np.arange(n_f), n_p), np.arange(n_f)])
    a_idx = np.concatenate([np.tile(np.arange(n_p), n_f), np.full(n_f, n_p)])
    den = np.concatenate([f[2] for f in frames] + [np.array([f[2].sum() for f in frames])])
    num = np.concatenate([f[3] for f in frames] + [np.array([f[3].sum() for f in frames])])
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, 100 * num / np.where(den > 0, den, 1), np.nan)
    lower, upper = _wilson(num, den)
    codes = np.append(prac["table"]["practice_code"].to_numpy(dtype=object), ENGLAND_CODE)
    names = np.append(prac["table"]["practice_name"].to_numpy(dtype=object), "England (synthetic)")
    return pd.DataFrame(
        {
            "indicator": _take_str([f[0] for f in frames], f_idx),
            "area_type": _take_str(["practice", "england"], (a_idx == n_p).astype(np.int64)),
            "area_code": _take_str(codes, a_idx),
            "area_name": _take_str(names, a_idx),
            "period": _take_str([f[1] for f in frames], f_idx),
            "numerator": num,
            "denominator": den,
            "value": value,
            "lower_ci": lower,
            "upper_ci": upper,
            "source": _full_str(DEMO_SOURCE, len(den)),
        }
    )


# ============================================================================================
# areas
# ============================================================================================


# vertex k of a hexagon, in lattice units from its centre, counter-clockwise from the top (the
# LSOA polygons' rings); edge k runs from vertex k to k + 1, and the neighbour across it is the
# cell at (row + _EDGE_DROW[k], col + _EDGE_DCOL[row % 2][k]) (odd rows are shifted right)
_HEX_DX = np.array([0, -1, -1, 0, 1, 1])
_HEX_DY = np.array([2, 1, -1, -2, -1, 1])
_EDGE_DROW = np.array([1, 0, -1, -1, 0, 1])
_EDGE_DCOL = np.array([[-1, -1, -1, 0, 1, 0], [0, -1, 0, 1, 1, 1]])


def _cells_rc(geo: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every grid cell, in grid order (LSOA i is cell ``geo["cell"][i]``)."""
    return np.divmod(np.arange(geo["n"]), geo["shape"][1])


def _lattice_to_wgs84(geo: dict[str, Any]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """EPSG:4326 coordinates of lattice vertices by table look-up: ``(ix, iy) -> (m, 2)``.

    Every vertex of every area is a vertex of some LSOA hexagon, so each of those ~2 vertices per
    LSOA is reprojected once with pyproj instead of once per polygon that uses it; ``ix``/``iy``
    are integer lattice coordinates (half a hexagon's width / half its radius from the origin).
    """
    x0, y0, half_w, half_r = geo["lattice"]
    nrows, ncols = geo["shape"]
    height = 3 * nrows + 5  # lattice index ranges: i in [-1, 2 ncols], j in [-2, 3 nrows - 1]
    row, col = _cells_rc(geo)
    used = np.zeros((2 * ncols + 3) * height, dtype=bool)
    ix = (2 * col + (row & 1))[:, None] + _HEX_DX
    iy = (3 * row)[:, None] + _HEX_DY
    used[((ix + 1) * height + iy + 2).ravel()] = True
    idx = np.flatnonzero(used)
    lon = np.full(len(used), np.nan)
    lat = np.full(len(used), np.nan)
    lon[idx], lat[idx] = _bng_to_wgs84().transform(
        (idx // height - 1) * half_w + x0, (idx % height - 2) * half_r + y0
    )

    def lonlat(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
        k = (ix + 1) * height + iy + 2
        return np.column_stack([lon[k], lat[k]])

    return lonlat


def _cycles(nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a permutation made of disjoint cycles: each element's cycle, named by its smallest
    element, and the number of steps from the element to the end of its cycle when the cycle is
    cut just before that smallest element. Pointer doubling: about log2(longest cycle) passes.
    """
    rep = np.arange(len(nxt))
    jump = nxt
    while True:  # minimum over 2^t elements ahead; stops changing once it covers the cycle
        new = np.minimum(rep, rep[jump])
        if np.array_equal(new, rep):
            break
        rep, jump = new, jump[jump]
    last = nxt == rep
    dist = (~last).astype(np.int64)
    jump = np.where(last, np.arange(len(nxt)), nxt)
    while not (jump[jump] == jump).all():  # list ranking; the cut ends absorb (distance 0)
        dist = dist + dist[jump]
        jump = jump[jump]
    return rep, dist


def _closed_runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``start, ..., start + length - 1, start`` for every run, concatenated (closed rings)."""
    size = lengths + 1
    ends = np.cumsum(size)
    off = np.arange(int(ends[-1])) - np.repeat(ends - size, size)
    off[ends - 1] = 0
    return np.repeat(starts, size) + off


def _dissolve(
    geo: dict[str, Any], groups: np.ndarray, lonlat: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Union of the LSOA hexagons of each group (label per LSOA, -1 = none): (labels, geometry).

    Traced on the lattice instead of a GEOS coverage union (several times faster, the same
    polygons up to where each ring starts): an edge of a hexagon is on its group's boundary when
    the cell across it is in another group or off the grid; each boundary edge is followed by the
    next one around the same vertex, which on a hexagonal lattice is unique (three cells meet at
    every vertex), so the boundary splits into simple rings that never touch. Counter-clockwise
    rings (group on the left) are shells, clockwise ones holes; a hole goes to the shell that
    contains it. Rings are written clockwise (holes counter-clockwise) as GEOS does; groups of
    several shells are MultiPolygons.
    """
    nrows, ncols = geo["shape"]
    n = geo["n"]
    valid = groups >= 0
    labels, dense = np.unique(groups[valid], return_inverse=True)
    if not len(labels):
        return labels, np.empty(0, dtype=object)
    cell_group = np.full(n, -1, dtype=np.int64)
    cell_group[geo["cell"][valid]] = dense
    cells = np.flatnonzero(cell_group >= 0)
    row, col = np.divmod(cells, ncols)
    nrow = row[:, None] + _EDGE_DROW
    ncol = col[:, None] + _EDGE_DCOL[row & 1]
    nb = nrow * ncols + ncol
    on_grid = (nrow >= 0) & (nrow < nrows) & (ncol >= 0) & (ncol < ncols) & (nb < n)
    nb = np.where(on_grid, nb, 0)
    boundary = np.where(on_grid, cell_group[nb], -1) != cell_group[cells][:, None]
    ci, k = np.nonzero(boundary)  # boundary edges, by cell then edge
    edge_id = np.full(n * 6, -1, dtype=np.int64)
    edge_id[cells[ci] * 6 + k] = np.arange(len(ci))
    # the next edge from the end vertex (k + 1): this cell's edge k + 1 if the cell across it is
    # outside the group, else that cell's edge k + 5 (which starts at the same vertex)
    k1 = (k + 1) % 6
    turn = boundary[ci, k1]
    nxt = np.where(turn, edge_id[cells[ci] * 6 + k1], edge_id[nb[ci, k1] * 6 + (k + 5) % 6])
    rep, dist = _cycles(nxt)
    ix = 2 * col[ci] + (row[ci] & 1) + _HEX_DX[k]  # start vertex of each edge
    iy = 3 * row[ci] + _HEX_DY[k]
    reps = np.flatnonzero(rep == np.arange(len(rep)))  # one per ring, ascending
    n_ring = len(reps)
    ring_of = np.zeros(len(rep), dtype=np.int64)
    ring_of[reps] = np.arange(n_ring)
    cyc = ring_of[rep]
    ring_group = cell_group[cells[ci[reps]]]
    length = np.bincount(cyc, minlength=n_ring)
    area2 = np.bincount(cyc, weights=ix * iy[nxt] - ix[nxt] * iy, minlength=n_ring)  # shoelace
    shell = area2 > 0
    # each hole's shell: the only shell of its group, or else the smallest shell containing it
    owner = np.where(shell, np.arange(n_ring), -1)
    shells = np.flatnonzero(shell)
    shells = shells[np.argsort(ring_group[shells], kind="stable")]
    n_shells = np.bincount(ring_group[shells], minlength=len(labels))
    first = np.cumsum(n_shells) - n_shells
    holes = np.flatnonzero(~shell)
    owner[holes] = shells[first[ring_group[holes]]]
    hard = holes[n_shells[ring_group[holes]] > 1]
    if len(hard):  # test one vertex of each such hole against every shell of its group
        count = n_shells[ring_group[hard]]
        pair_hole = np.repeat(hard, count)
        pos = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        pair_shell = shells[np.repeat(first[ring_group[hard]], count) + pos]
        by_ring = np.lexsort((dist, cyc))
        starts = np.cumsum(length) - length
        polys = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON,
            np.column_stack([ix, iy])[by_ring][_closed_runs(starts, length)].astype(np.float64),
            (np.concatenate([[0], np.cumsum(length + 1)]), np.arange(n_ring + 1)),
        )
        vertex = reps[pair_hole]
        hit = np.flatnonzero(shapely.contains_xy(polys[pair_shell], ix[vertex], iy[vertex]))
        hit = hit[np.lexsort((area2[pair_shell[hit]], pair_hole[hit]))]
        hit = hit[np.r_[True, pair_hole[hit][1:] != pair_hole[hit][:-1]]]
        owner[pair_hole[hit]] = pair_shell[hit]
    # rings in output order: group, polygon (its shell's first edge), shell before its holes
    order = np.lexsort((reps, ~shell, reps[owner], ring_group))
    r_len = length[order]
    r_start = np.empty(n_ring, dtype=np.int64)
    r_start[order] = np.cumsum(r_len) - r_len
    edges = np.empty(len(rep), dtype=np.int64)
    edges[r_start[cyc] + dist] = np.arange(len(rep))  # within a ring backwards: shells clockwise
    edges = edges[_closed_runs(r_start[order], r_len)]
    new_poly = np.r_[True, owner[order][1:] != owner[order][:-1]]
    polys = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON,
        lonlat(ix[edges], iy[edges]),
        (np.concatenate([[0], np.cumsum(r_len + 1)]), np.append(np.flatnonzero(new_poly), n_ring)),
    )
    poly_group = ring_group[order][new_poly]
    n_polys = np.bincount(poly_group, minlength=len(labels))
    out = np.empty(len(labels), dtype=object)
    one = n_polys[poly_group] == 1
    out[poly_group[one]] = polys[one]
    if not one.all():  # groups of several polygons (polygons in group order)
        many = np.flatnonzero(n_polys > 1)
        out[many] = shapely.multipolygons(polys[~one], indices=np.searchsorted(many, poly_group[~one]))
    return labels, out


def _areas(
    geo: dict[str, Any],
    names: dict[str, np.ndarray],
    prac: dict[str, Any],
    reg: dict[str, np.ndarray],
) -> gpd.GeoDataFrame:
    """LSOA hexagons and their dissolved parents (MSOA, ward, LAD, PCN, ICB), in EPSG:4326.

    A PCN's area is the LSOAs where it has more registered patients than any other PCN.
    Everything is built from lattice coordinates: vertices are reprojected once by table look-up
    and parents are traced on the lattice (:func:`_dissolve`), not unioned with GEOS.
    """
    n = geo["n"]
    lonlat = _lattice_to_wgs84(geo)
    row, col = _cells_rc(geo)
    ring = np.r_[np.arange(6), 0]  # closed
    cell = geo["cell"]
    lsoa_geom = shapely.from_ragged_array(  # several times faster than shapely.polygons(rings)
        shapely.GeometryType.POLYGON,
        lonlat(
            ((2 * col + (row & 1))[cell, None] + _HEX_DX[ring]).ravel(),
            ((3 * row)[cell, None] + _HEX_DY[ring]).ravel(),
        ),
        (np.arange(n + 1) * len(ring), np.arange(n + 1)),
    )
    msoa_lab, msoa_geom = _dissolve(geo, geo["msoa"], lonlat)
    ward_lab, ward_geom = _dissolve(geo, geo["ward"], lonlat)
    lad_lab, lad_geom = _dissolve(geo, geo["lad"], lonlat)
    icb_lab, icb_geom = _dissolve(geo, geo["icb"], lonlat)
    # PCN areas: each LSOA goes to the PCN with most of its registered patients (the lowest PCN
    # label on a tie); patients are whole numbers, so the sums are exact in any order
    n_pcn = len(prac["pcn_code"])
    by_lsoa = csr_matrix(
        (reg["patients"], (reg["lsoa"], prac["pcn"][reg["p"]])), shape=(n, n_pcn)
    )  # duplicates summed, columns sorted within each row
    nnz = np.diff(by_lsoa.indptr)
    has = np.flatnonzero(nnz > 0)
    row_of = np.repeat(np.arange(n), nnz)
    best = np.maximum.reduceat(by_lsoa.data, by_lsoa.indptr[has])  # rows of `has`, in order
    at_max = np.flatnonzero(by_lsoa.data == np.repeat(best, nnz[has]))
    top = at_max[np.r_[True, row_of[at_max][1:] != row_of[at_max][:-1]]]  # first max per row
    pcn_of = np.full(n, -1, dtype=np.int64)
    pcn_of[has] = by_lsoa.indices[top]
    pcn_lab, pcn_geom = _dissolve(geo, pcn_of, lonlat)
    parts = [
        ("lsoa", names["lsoa_code"], names["lsoa_name"], lsoa_geom),
        ("msoa", names["msoa_code"][msoa_lab], names["msoa_name"][msoa_lab], msoa_geom),
        ("ward", names["ward_code"][ward_lab], names["ward_name"][ward_lab], ward_geom),
        ("lad", names["lad_code"][lad_lab], names["lad_name"][lad_lab], lad_geom),
        ("pcn", prac["pcn_code"][pcn_lab], prac["pcn_name"][pcn_lab], pcn_geom),
        ("icb", names["icb_code"][icb_lab], names["icb_name"][icb_lab], icb_geom),
    ]
    geoms = np.concatenate([g for *_, g in parts])
    return gpd.GeoDataFrame(
        {
            "area_code": np.concatenate([c for _, c, _, _ in parts]),
            "area_name": np.concatenate([nm for _, _, nm, _ in parts]),
            "area_type": np.concatenate([np.full(len(c), t, dtype=object) for t, c, _, _ in parts]),
        },
        geometry=geoms,
        crs=WGS84,
    )
