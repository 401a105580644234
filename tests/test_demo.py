"""The synthetic demo: exact shape, determinism, and the structure that makes it worth exploring.

Structure is tested as relations a real dataset also shows: a deprivation gradient in uptake,
spatially autocorrelated deprivation (Moran's I), overlapping catchments that sum to list sizes,
nested geographies, younger and more diverse populations where deprivation is higher.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
import zipfile

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from conftest import shared_path
from hiexplore import demo
from hiexplore.catalogue import catalogue
from hiexplore.demo import demo_manifest, generate_demo, write_demo
from hiexplore.errors import DatasetError, RequestError
from hiexplore.schemas import TABLES, validate_table

N_LSOAS, N_PRACTICES, SEED = 1_500, 290, 11


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_demo(N_LSOAS, N_PRACTICES, SEED)


def _practice_deciles(tables: dict[str, pd.DataFrame]) -> pd.Series:
    """Practice IMD decile (1 = most deprived tenth) from its patients' LSOA IMD scores."""
    reg = tables["registrations"].merge(tables["deprivation"][["lsoa_code", "imd_score"]])
    reg["w"] = reg["patients"] * reg["imd_score"]
    sums = reg.groupby("practice_code")[["w", "patients"]].sum()
    score = sums["w"] / sums["patients"]
    return pd.qcut(score.rank(method="first", ascending=False), 10, labels=range(1, 11)).astype(int)


def _morans_i(values: np.ndarray, neighbours: dict[int, list[int]]) -> float:
    r"""Moran's I with binary weights: :math:`I = \frac{n}{S_0} \frac{\sum_{ij} w_{ij} z_i z_j}{\sum_i z_i^2}`."""
    z = values - values.mean()
    i_idx = np.concatenate([np.full(len(v), k) for k, v in neighbours.items()])
    j_idx = np.concatenate([np.asarray(v, dtype=np.int64) for v in neighbours.values()])
    return float(len(z) / len(i_idx) * (z[i_idx] * z[j_idx]).sum() / (z * z).sum())


# --- public surface -----------------------------------------------------------------------------


def test_exported_surface_is_what_was_meant() -> None:
    assert {"generate_demo", "demo_manifest", "write_demo"} <= set(demo.__all__)
    assert all(hasattr(demo, name) for name in demo.__all__)


def test_every_canonical_table_is_returned(tables: dict[str, pd.DataFrame]) -> None:
    assert set(tables) == set(TABLES)


# --- exact shape ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_validates(tables: dict[str, pd.DataFrame], name: str) -> None:
    validate_table(name, tables[name])


def test_exact_counts(tables: dict[str, pd.DataFrame]) -> None:
    areas = tables["areas"]
    assert len(tables["lookup"]) == N_LSOAS
    assert (areas["area_type"] == "lsoa").sum() == N_LSOAS
    assert len(tables["deprivation"]) == N_LSOAS
    assert len(tables["population"]) == N_LSOAS
    assert len(tables["practices"]) == N_PRACTICES
    assert set(areas["area_type"]) == {"lsoa", "msoa", "ward", "lad", "pcn", "icb"}


@pytest.mark.parametrize(("n_lsoas", "n_practices"), [(20, 2), (20, 50), (137, 7)])
def test_tiny_and_odd_sizes_are_still_complete(n_lsoas: int, n_practices: int) -> None:
    t = generate_demo(n_lsoas, n_practices, seed=3)
    for name, frame in t.items():
        validate_table(name, frame)
    assert len(t["lookup"]) == n_lsoas and len(t["practices"]) == n_practices
    sums = t["registrations"].groupby("practice_code")["patients"].sum()
    assert (
        sums.reindex(t["practices"]["practice_code"]).tolist()
        == t["practices"]["list_size"].tolist()
    )


def test_codes_look_real_but_are_synthetic(tables: dict[str, pd.DataFrame]) -> None:
    lookup, practices = tables["lookup"], tables["practices"]
    for col, prefix in [
        ("lsoa_code", "E019"),
        ("msoa_code", "E029"),
        ("ward_code", "E059"),
        ("lad_code", "E069"),
        ("sub_icb_code", "E389"),
        ("icb_code", "E549"),
        ("region_code", "E129"),
    ]:
        assert lookup[col].str.fullmatch(prefix + r"\d{5}").all(), col
    assert practices["practice_code"].str.fullmatch(r"Z\d{5}").all()
    assert practices["pcn_code"].str.fullmatch(r"UZ\d{4}").all()
    assert lookup["lad_name"].str.startswith("Synthetic ").all()
    assert lookup["lsoa_name"].str.fullmatch(r"Synthetic \w+ \d{3}[A-Z]+").all()
    assert (practices["status"] == "open").all()


@pytest.mark.shared
def test_no_synthetic_practice_code_is_a_real_one(tables: dict[str, pd.DataFrame]) -> None:
    path = shared_path("gp", "epraccur_2023-02-20.zip")
    with zipfile.ZipFile(path) as zf, zf.open("epraccur.csv") as fh:
        real = pd.read_csv(fh, header=None, usecols=[0], dtype=str)[0]
    assert not real.str.startswith("Z").any()
    assert not set(real) & set(tables["practices"]["practice_code"])


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(tables: dict[str, pd.DataFrame]) -> None:
    again = generate_demo(N_LSOAS, N_PRACTICES, SEED)
    for name, frame in tables.items():
        if name == "areas":
            assert_geodataframe_equal(frame, again[name], check_less_precise=False)
        else:
            pd.testing.assert_frame_equal(frame, again[name], check_exact=True)


def test_different_seed_gives_different_data(tables: dict[str, pd.DataFrame]) -> None:
    other = generate_demo(N_LSOAS, N_PRACTICES, SEED + 1)
    assert not np.array_equal(other["deprivation"]["imd_score"], tables["deprivation"]["imd_score"])
    assert not other["practices"]["list_size"].equals(tables["practices"]["list_size"])
    assert not other["lookup"]["msoa_code"].equals(tables["lookup"]["msoa_code"])  # new borders


# --- geography -----------------------------------------------------------------------------------


def test_geographies_nest(tables: dict[str, pd.DataFrame]) -> None:
    lookup = tables["lookup"]
    for child, parent in [
        ("msoa_code", "lad_code"),
        ("ward_code", "lad_code"),
        ("lad_code", "sub_icb_code"),
        ("sub_icb_code", "icb_code"),
        ("icb_code", "region_code"),
    ]:
        assert (lookup.groupby(child)[parent].nunique() == 1).all(), (child, parent)
    msoa_size = lookup.groupby("msoa_code").size()
    assert 4 <= msoa_size.mean() <= 6
    assert 60 <= lookup.groupby("lad_code").size().mean() <= 150


def test_areas_are_valid_polygons_in_england(tables: dict[str, pd.DataFrame]) -> None:
    areas = tables["areas"]
    assert areas.crs is not None and areas.crs.to_epsg() == 4326
    assert shapely.is_valid(areas.geometry.values).all()
    minx, miny, maxx, maxy = areas.total_bounds
    assert -3.5 < minx < maxx < 0.5 and 51.0 < miny < maxy < 54.0
    # every parent polygon is the union of its LSOAs: equal total area at each level
    bng = areas.to_crs(27700)
    area = bng.geometry.area.groupby(bng["area_type"]).sum()
    for level in ("msoa", "ward", "lad", "pcn", "icb"):
        assert area[level] == pytest.approx(area["lsoa"], rel=1e-9), level


def test_practices_stand_in_their_lsoa(tables: dict[str, pd.DataFrame]) -> None:
    areas = tables["areas"]
    lsoas = areas[areas["area_type"] == "lsoa"].set_index("area_code").geometry
    prac = tables["practices"]
    points = shapely.points(prac["longitude"], prac["latitude"])
    polys = lsoas.loc[prac["lsoa_code"]].values
    assert shapely.contains(polys, points).all()
    lookup = tables["lookup"].set_index("lsoa_code")
    assert (lookup.loc[prac["lsoa_code"], "icb_code"].to_numpy() == prac["icb_code"]).all()


def test_deprivation_is_spatially_autocorrelated(tables: dict[str, pd.DataFrame]) -> None:
    """Moran's I of the LSOA IMD score on rook contiguity (shared hexagon edges) > 0.3."""
    areas = tables["areas"]
    lsoas = areas[areas["area_type"] == "lsoa"].to_crs(27700)
    dep = tables["deprivation"].set_index("lsoa_code").loc[lsoas["area_code"]]
    # hexagons meet along edges only, so "touches" is rook contiguity
    left, right = shapely.STRtree(lsoas.geometry.values).query(
        lsoas.geometry.values, predicate="touches"
    )
    neighbours = pd.Series(right).groupby(left).agg(list).to_dict()
    assert len(left) / len(lsoas) > 5.5  # six neighbours inside the grid
    for col in ("imd_score", "income_score", "health_score"):
        assert _morans_i(dep[col].to_numpy(), neighbours) > 0.3, col
    shuffled = np.random.default_rng(0).permutation(dep["imd_score"].to_numpy())
    assert abs(_morans_i(shuffled, neighbours)) < 0.1


def test_deprivation_ranks_and_deciles_are_national(tables: dict[str, pd.DataFrame]) -> None:
    dep = tables["deprivation"]
    assert (dep["edition"] == 2025).all() and not dep["crosswalked"].any()
    for domain in ("imd", *demo._DOMAIN_LOADING):
        rank = dep[f"{domain}_rank"]
        assert sorted(rank) == list(range(1, N_LSOAS + 1)), domain
        assert (dep[f"{domain}_decile"] == np.ceil(rank * 10 / N_LSOAS)).all(), domain
        assert (
            dep[f"{domain}_decile"].value_counts().between(N_LSOAS // 10, N_LSOAS // 10 + 1).all()
        )
    # rank 1 is the most deprived: the highest score
    assert dep.loc[dep["imd_rank"].idxmin(), "imd_score"] == dep["imd_score"].max()
    corr = dep[["imd_score", "income_score", "employment_score", "barriers_score"]].corr()
    assert corr.loc["imd_score", "income_score"] > 0.85
    assert corr.loc["imd_score", "barriers_score"] < 0.5
    assert 15 < dep["imd_score"].mean() < 28  # IoD 2025 mean 21.7


# --- people --------------------------------------------------------------------------------------


def test_population_adds_up_and_follows_deprivation(tables: dict[str, pd.DataFrame]) -> None:
    pop = tables["population"]
    bands = pop[list(demo.AGE_BANDS)]
    assert (bands.sum(axis=1) == pop["population"]).all()
    shares = pop[[f"share_{g}" for g in demo.ETHNIC_GROUPS]].sum(axis=1)
    assert np.allclose(shares, 1.0, atol=1e-3)
    assert 1_500 < pop["population"].mean() < 1_900
    imd = tables["deprivation"].set_index("lsoa_code").loc[pop["lsoa_code"], "imd_score"].to_numpy()
    older = ((pop["age_65_74"] + pop["age_75_plus"]) / pop["population"]).to_numpy()
    assert np.corrcoef(imd, older)[0, 1] < -0.3
    assert np.corrcoef(imd, pop["share_white"])[0, 1] < -0.2
    denom = tables["deprivation"]
    assert (
        denom["population_0_15"] + denom["population_16_59"] + denom["population_60_plus"]
        == denom["population_total"]
    ).all()


# --- catchments ----------------------------------------------------------------------------------


def test_registrations_sum_exactly_to_list_sizes(tables: dict[str, pd.DataFrame]) -> None:
    reg, prac = tables["registrations"], tables["practices"]
    sums = reg.groupby("practice_code")["patients"].sum().reindex(prac["practice_code"])
    assert (sums.to_numpy() == prac["list_size"].to_numpy()).all()
    assert (reg["patients"] > 0).all() and (reg["patients"] == reg["patients"].round()).all()
    assert (reg["catchment_source"] == "synthetic").all() and reg["in_area"].all()
    assert set(reg["lsoa_code"]) == set(tables["lookup"]["lsoa_code"])  # nobody unserved


def test_catchments_overlap(tables: dict[str, pd.DataFrame]) -> None:
    reg = tables["registrations"]
    per_lsoa = reg.groupby("lsoa_code")["practice_code"].nunique()
    assert (per_lsoa >= 2).mean() > 0.9
    per_practice = reg.groupby("practice_code").size()
    assert per_practice.between(*demo.CATCHMENT_ROWS).all()
    # the nearest LSOAs dominate: a practice's top 10 LSOAs hold a large share of its list
    top = reg.sort_values("patients", ascending=False).groupby("practice_code").head(10)
    share = (
        top.groupby("practice_code")["patients"].sum()
        / reg.groupby("practice_code")["patients"].sum()
    )
    assert share.median() > 0.3


def test_registered_patients_track_residents(tables: dict[str, pd.DataFrame]) -> None:
    reg = tables["registrations"].groupby("lsoa_code")["patients"].sum()
    pop = tables["population"].set_index("lsoa_code")["population"]
    ratio = reg.reindex(pop.index) / pop
    ratio /= ratio.median()
    assert ratio.between(0.7, 1.3).mean() > 0.95


# --- indicators ----------------------------------------------------------------------------------


def test_every_screening_and_immunisation_indicator_is_present(
    tables: dict[str, pd.DataFrame],
) -> None:
    ind = tables["indicators"]
    wanted = {k for k, v in catalogue().items() if v.programme in ("screening", "immunisation")}
    assert set(ind["indicator"]) == wanted
    assert set(ind["period"]) == set(demo.DEMO_PERIODS)
    practice_rows = ind[ind["area_type"] == "practice"]
    assert len(practice_rows) == len(wanted) * len(demo.DEMO_PERIODS) * N_PRACTICES
    assert (ind["source"] == demo.DEMO_SOURCE).all()


def test_indicator_figures_are_consistent(tables: dict[str, pd.DataFrame]) -> None:
    ind = tables["indicators"]
    ok = ind["denominator"] > 0
    assert ok.mean() > 0.99
    assert (
        ind.loc[ok, "value"] - 100 * ind.loc[ok, "numerator"] / ind.loc[ok, "denominator"]
    ).abs().max() < 1e-9
    assert (ind.loc[ok, "lower_ci"] <= ind.loc[ok, "value"]).all()
    assert (ind.loc[ok, "value"] <= ind.loc[ok, "upper_ci"]).all()
    practice = (
        ind[ind["area_type"] == "practice"]
        .groupby(["indicator", "period"])[["numerator", "denominator"]]
        .sum()
    )
    england = ind[ind["area_type"] == "england"].set_index(["indicator", "period"])[
        ["numerator", "denominator"]
    ]
    pd.testing.assert_frame_equal(practice.sort_index(), england.sort_index())


def test_denominators_follow_eligible_populations(tables: dict[str, pd.DataFrame]) -> None:
    ind = tables["indicators"]
    prac = tables["practices"].set_index("practice_code")["list_size"]
    rows = ind[ind["area_type"] == "practice"]
    share = (rows["denominator"] / rows["area_code"].map(prac)).groupby(rows["indicator"]).median()
    assert 0.08 < share["breast_screening_53_70"] < 0.14  # women 53-70
    assert 0.14 < share["cervical_screening_25_49"] < 0.22  # women 25-49
    assert 0.005 < share["mmr1_24m"] < 0.02  # one year of age


def test_uptake_has_a_deprivation_gradient(tables: dict[str, pd.DataFrame]) -> None:
    """Weighted uptake in the most deprived tenth of practices is clearly below the least."""
    dec = _practice_deciles(tables)
    ind = tables["indicators"]
    rows = ind[ind["area_type"] == "practice"].assign(decile=lambda d: d["area_code"].map(dec))
    sums = rows.groupby(["indicator", "decile"])[["numerator", "denominator"]].sum()
    uptake = (100 * sums["numerator"] / sums["denominator"]).unstack("decile")
    gap = uptake[10] - uptake[1]
    assert (gap > 4).all(), gap.sort_values().head()
    assert 8 < gap.mean() < 18
    # and it runs the whole way: decile 5 in between
    assert ((uptake[1] < uptake[5]) & (uptake[5] < uptake[10])).mean() > 0.9


# --- manifest and writing ------------------------------------------------------------------------


def test_manifest_says_synthetic_and_is_deterministic() -> None:
    m = demo_manifest(N_LSOAS, N_PRACTICES, SEED)
    assert m == demo_manifest(N_LSOAS, N_PRACTICES, SEED)
    assert m["synthetic"] is True and m["catchments"] == "synthetic"
    assert m["geography_vintage"] == "2021" and m["name"] == "demo"
    assert "synthetic" in m["title"].lower() and "synthetic" in m["notice"].lower()
    (source,) = m["sources"]
    assert source["title"] == demo.DEMO_SOURCE and source["publisher"] == "hiexplore"
    assert source["licence"] == "synthetic — not real data"
    assert {"title", "publisher", "period", "licence", "file", "sha256"} <= set(source)
    assert json.loads(json.dumps(m)) == m
    assert demo_manifest(N_LSOAS, N_PRACTICES, SEED + 1)["demo_key"] != m["demo_key"]
    assert (
        demo_manifest(N_LSOAS, N_PRACTICES, SEED, created="2030-01-01")["created"] == "2030-01-01"
    )


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ((5, 10, 1), "n_lsoas"),
        ((100, 1, 1), "n_practices"),
        ((100, 10, -1), "seed"),
        ((100.0, 10, 1), "n_lsoas"),
        ((100, 10, True), "seed"),
        ((10**6, 10, 1), "n_lsoas"),
    ],
)
def test_bad_sizes_name_the_argument(args: tuple, word: str) -> None:
    with pytest.raises(RequestError, match=f"'{word}' should be"):
        generate_demo(*args)


def test_write_demo_hands_tables_and_manifest_to_the_dataset_writer(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    calls = []
    fake = types.ModuleType("hiexplore.dataset")
    fake.write_dataset = lambda out, tables, manifest: calls.append((out, tables, manifest))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hiexplore.dataset", fake)
    assert write_demo(tmp_path / "demo", 40, 6, 2) == tmp_path / "demo"
    ((out, tables, manifest),) = calls
    assert out == tmp_path / "demo" and set(tables) == set(TABLES)
    assert manifest == demo_manifest(40, 6, 2)


def test_write_demo_without_a_dataset_writer_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setitem(sys.modules, "hiexplore.dataset", types.ModuleType("hiexplore.dataset"))
    with pytest.raises(DatasetError, match="write_dataset"):
        write_demo(tmp_path, 40, 6, 2)


# --- national size -------------------------------------------------------------------------------


@pytest.mark.slow
def test_national_size_is_fast_and_complete(request: pytest.FixtureRequest) -> None:
    """33,755 LSOAs, 6,500 practices, ~1.2M registrations in a few seconds (run: -m slow)."""
    if "slow" not in (request.config.getoption("markexpr") or "") and not os.environ.get(
        "HIEXPLORE_SLOW"
    ):
        pytest.skip("national-size demo: run with -m slow or HIEXPLORE_SLOW=1")
    start = time.perf_counter()
    t = generate_demo(demo.NATIONAL_LSOAS, demo.NATIONAL_PRACTICES, 1)
    seconds = time.perf_counter() - start
    print(
        f"national demo generated in {seconds:.2f} s; rows: "
        + ", ".join(f"{k} {len(v):,}" for k, v in t.items())
    )
    assert (
        len(t["lookup"]) == demo.NATIONAL_LSOAS and len(t["practices"]) == demo.NATIONAL_PRACTICES
    )
    assert 1_100_000 < len(t["registrations"]) < 1_350_000
    sums = t["registrations"].groupby("practice_code")["patients"].sum()
    assert (
        sums.reindex(t["practices"]["practice_code"]).to_numpy()
        == t["practices"]["list_size"].to_numpy()
    ).all()
    for name, frame in t.items():
        validate_table(name, frame)
    assert seconds < 10
