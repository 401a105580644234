"""Spatial weights, LISA for rates and Gi*: esda's published test values, a planted cold spot."""

from __future__ import annotations

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import Queen
from libpysal.weights.distance import DistanceBand
from shapely.geometry import box

from conftest import shared_path
from hiexplore.errors import RequestError
from hiexplore.spatial import (
    CLUSTER_LABELS,
    SpatialWeights,
    getis_ord_star,
    local_moran_rate,
    queen_weights,
)


def grid(k: int = 10, size: float = 100.0) -> gpd.GeoDataFrame:
    """k x k square cells of ``size`` metres, codes Ciijj."""
    cells = [(i, j) for j in range(k) for i in range(k)]
    return gpd.GeoDataFrame(
        {
            "area_code": [f"C{i:02d}{j:02d}" for i, j in cells],
            "i": [c[0] for c in cells],
            "j": [c[1] for c in cells],
        },
        geometry=[box(i * size, j * size, (i + 1) * size, (j + 1) * size) for i, j in cells],
        crs="EPSG:27700",
    )


@pytest.fixture(scope="module")
def sids() -> tuple[object, np.ndarray, np.ndarray]:
    """North Carolina SIDS data, shipped with libpysal (used by esda's own tests)."""
    w = libpysal.io.open(libpysal.examples.get_path("sids2.gal")).read()
    f = libpysal.io.open(libpysal.examples.get_path("sids2.dbf"))
    return w, np.array(f.by_col["SID79"]), np.array(f.by_col["BIR79"])


def test_local_moran_rate_reproduces_esda_published_values(sids) -> None:
    """esda/tests/test_moran.py::TestMoranLocalRate (permutations=99, seed=12345):
    z_sim[0] = 0.02702781851384379, p_z_sim[0] = 0.4892187730835096 (rtol 1e-7)."""
    w, e, b = sids
    out = local_moran_rate(e, b, w, permutations=99, seed=12345)
    np.testing.assert_allclose(out["z_sim"].iloc[0], 0.02702781851384379, rtol=1e-7)
    np.testing.assert_allclose(out["p_z_sim"].iloc[0], 0.4892187730835096, rtol=1e-7)
    # the local statistics add up to the global rate-adjusted Moran's I that esda's
    # TestMoranRate asserts (0.16622343552567395): sum(I_i) = (n - 1) * I
    assert out["I"].sum() / (len(out) - 1) == pytest.approx(0.16622343552567395, rel=1e-10)
    assert list(out.index) == [str(i) for i in w.id_order]
    assert w.transform == "O"  # the caller's weights are not row-standardised in place


def test_getis_ord_star_reproduces_esda_published_values() -> None:
    """esda/tests/test_getisord.py::TestGLocal.test_star_binary (seed=10):
    Zs[0] = -1.39727626, p_sim[0] = 0.102."""
    points = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)])
    w = DistanceBand(points, threshold=15)
    out = getis_ord_star([2, 3, 3.2, 5, 8, 7], w, seed=10)
    np.testing.assert_allclose(out["z"].iloc[0], -1.39727626, rtol=1e-7)
    np.testing.assert_allclose(out["p_sim"].iloc[0], 0.102, rtol=1e-6)
    assert (out["label"] == "not significant").all()


def test_reproducible_and_no_side_effect_on_numpy_state(sids) -> None:
    w, e, b = sids
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = local_moran_rate(e, b, w, permutations=199, seed=5)
    c = local_moran_rate(e, b, w, permutations=199, seed=5)
    d = local_moran_rate(e, b, w, permutations=199, seed=6)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    pd.testing.assert_frame_equal(a, c)
    assert not a["p_sim"].equals(d["p_sim"])
    g1 = getis_ord_star(e / b, w, permutations=199, seed=5)
    g2 = getis_ord_star(e / b, w, permutations=199, seed=5)
    pd.testing.assert_frame_equal(g1, g2)


def test_finds_a_planted_cold_spot() -> None:
    """10 x 10 grid, 1,000 people per cell, uptake-gap rate about 10% except a 3 x 3 block
    at 2%: the centre of the block is a low-low cluster and a Gi* cold spot."""
    g = grid()
    rng = np.random.default_rng(0)
    base = np.full(len(g), 1000.0)
    cold = g["i"].between(3, 5) & g["j"].between(3, 5)
    events = np.where(cold, 20, rng.binomial(1000, 0.10, len(g))).astype(float)
    sw = queen_weights(g)
    lisa = local_moran_rate(events, base, sw, seed=1)
    centre = "C0404"
    assert lisa.loc[centre, "cluster"] == CLUSTER_LABELS["low-low"] == "low-low (cold spot)"
    found = lisa.index[lisa["cluster"] == "low-low (cold spot)"]
    block_and_ring = g.loc[g["i"].between(2, 6) & g["j"].between(2, 6), "area_code"]
    assert set(found) <= set(block_and_ring)
    assert len(set(found) & set(g.loc[cold, "area_code"])) >= 5
    assert not (lisa.loc[g.loc[cold, "area_code"], "cluster"] == "high-high (hot spot)").any()
    gi = getis_ord_star(events / base, sw, seed=1)
    assert gi.loc[centre, "label"] == "cold spot"
    assert (gi.loc[g.loc[cold, "area_code"], "label"] == "cold spot").sum() >= 5
    assert "hot spot" not in set(gi.loc[g.loc[cold, "area_code"], "label"])


def test_series_inputs_are_aligned_by_area_code() -> None:
    g = grid(4)
    sw = queen_weights(g)
    rate = pd.Series(np.arange(16.0), index=g["area_code"])
    a = getis_ord_star(rate, sw, permutations=99)
    b = getis_ord_star(rate.iloc[::-1], sw, permutations=99)
    pd.testing.assert_frame_equal(a, b)


def test_islands_are_attached_to_their_nearest_area() -> None:
    g = grid(3)
    island = gpd.GeoDataFrame(
        {"area_code": ["ISLE"], "i": [9], "j": [9]},
        geometry=[box(500, 500, 600, 600)],
        crs="EPSG:27700",
    )
    sw = queen_weights(pd.concat([g, island], ignore_index=True))
    assert isinstance(sw, SpatialWeights)
    assert sw.islands == ("ISLE",)
    assert sw.attached == (("ISLE", "C0202"),)
    assert sw.w.neighbors["ISLE"] == ["C0202"] and "ISLE" in sw.w.neighbors["C0202"]
    assert sw.w.islands == []
    assert "linked to their nearest area (k-nearest neighbour, k=1): ISLE -> C0202" in sw.note
    assert queen_weights(g).note == ""


def test_islands_in_geographic_crs() -> None:
    cells = [
        box(-1.2 + 0.01 * i, 52.6 + 0.01 * j, -1.19 + 0.01 * i, 52.61 + 0.01 * j)
        for j in range(3)
        for i in range(3)
    ]
    g = gpd.GeoDataFrame(
        {"area_code": [f"G{k}" for k in range(9)]}, geometry=cells, crs="EPSG:4326"
    )
    far = gpd.GeoDataFrame(
        {"area_code": ["FAR"]}, geometry=[box(-1.0, 52.6, -0.99, 52.61)], crs="EPSG:4326"
    )
    sw = queen_weights(pd.concat([g, far], ignore_index=True))
    assert sw.attached == (("FAR", "G2"),)
    assert sorted(sw.w.neighbors["G4"]) == ["G0", "G1", "G2", "G3", "G5", "G6", "G7", "G8"]


def test_tolerance_bridges_small_gaps_only() -> None:
    """Two 100 m squares 0.5 m apart: neighbours with the default 1 m tolerance, islands
    (then attached to each other, with a note) when tolerance is 0."""
    g = gpd.GeoDataFrame(
        {"area_code": ["A", "B"]},
        geometry=[box(0, 0, 100, 100), box(100.5, 0, 200.5, 100)],
        crs="EPSG:27700",
    )
    assert queen_weights(g).islands == ()
    assert queen_weights(g).w.neighbors["A"] == ["B"]
    strict = queen_weights(g, tolerance=0)
    assert strict.islands == ("A", "B") and strict.w.neighbors["A"] == ["B"]
    with pytest.raises(RequestError, match="tolerance must be zero or a positive distance"):
        queen_weights(g, tolerance=-1)


@pytest.mark.shared
def test_queen_weights_equal_libpysal_queen_on_2021_bsc_lsoas() -> None:
    """LLR LSOA 2021 (ONS BSC): the same neighbours as libpysal's vertex-matching Queen."""
    lsoa = gpd.read_file(shared_path("boundaries", "geographr_ons_bsc", "llr_lsoa21_bsc.geojson"))
    sw = queen_weights(lsoa, "lsoa21_code")
    assert sw.w.n == 634 and sw.islands == ()
    assert set(sw.ids) == set(lsoa["lsoa21_code"])
    queen = Queen.from_dataframe(lsoa, ids="lsoa21_code", use_index=False, silence_warnings=True)
    ours = {(i, j) for i, js in sw.w.neighbors.items() for j in js}
    theirs = {(i, j) for i, js in queen.neighbors.items() for j in js}
    assert ours == theirs
    assert len(ours) == 3698
    assert queen_weights(lsoa, "lsoa21_code", tolerance=0).w.neighbors == sw.w.neighbors


@pytest.mark.shared
def test_queen_weights_on_2011_generalised_lsoas_without_shared_vertices() -> None:
    """ONS 2011 generalised clipped LSOAs (martinjc GeoJSON, LLR, 4 invalid polygons):
    neighbours share edges but not vertices, so vertex matching finds no neighbour at all;
    the geometric test finds about six per area and no islands."""
    folder = shared_path("boundaries", "ons_2011_bgc_martinjc", "lsoa11_by_lad")
    lsoa = pd.concat([gpd.read_file(f) for f in sorted(folder.glob("*.json"))], ignore_index=True)
    assert len(lsoa) == 611 and (~lsoa.is_valid).sum() == 4
    queen = Queen.from_dataframe(lsoa, ids="LSOA11CD", use_index=False, silence_warnings=True)
    assert len(queen.islands) == 611
    sw = queen_weights(lsoa, "LSOA11CD")
    assert sw.islands == () and sw.note == ""
    assert 5.5 < sw.w.mean_neighbors < 6.2
    full = sw.w.full()[0]
    assert (full == full.T).all()


def test_weights_errors() -> None:
    g = grid(2)
    with pytest.raises(RequestError, match="id column 'lsoa_code' not found") as info:
        queen_weights(g, "lsoa_code")
    assert "area_code" in info.value.valid
    with pytest.raises(RequestError, match="area codes must be unique"):
        queen_weights(g.assign(area_code="X"))
    with pytest.raises(RequestError, match="GeoDataFrame"):
        queen_weights(pd.DataFrame(g))


def test_statistic_errors(sids) -> None:
    w, e, b = sids
    with pytest.raises(RequestError, match="events is missing for 1 area\\(s\\) \\(37009\\)"):
        local_moran_rate(np.r_[np.nan, e[1:]], b, w)
    with pytest.raises(RequestError, match="base .* greater than zero"):
        local_moran_rate(e, np.r_[0, b[1:]], w)
    with pytest.raises(RequestError, match="has 3 values but the weights have 100 areas"):
        getis_ord_star([1, 2, 3], w)
    with pytest.raises(RequestError, match="at least 99"):
        getis_ord_star(e, w, permutations=10)
    with pytest.raises(RequestError, match="Unknown weights transform"):
        getis_ord_star(e, w, transform="V")
    with pytest.raises(RequestError, match="libpysal.weights.W"):
        getis_ord_star(e, {"a": ["b"]})
