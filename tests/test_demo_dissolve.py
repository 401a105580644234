"""The demo's lattice dissolve gives the polygons a GEOS coverage union gives (up to where each
ring starts), for nested areas, scattered groups, holes, islands in holes and islands in those."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from hiexplore import demo


def _geos_union(lsoas: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = groups >= 0
    labels, inv = np.unique(groups[keep], return_inverse=True)
    pos = demo._rank_within(inv)
    table = np.full((len(labels), int(pos.max()) + 1), None, dtype=object)
    table[inv, pos] = lsoas[keep]
    return labels, shapely.coverage_union_all(table, axis=1)


def _lsoa_polygons(geo: dict, lonlat) -> np.ndarray:  # noqa: ANN001
    row, col = demo._cells_rc(geo)
    ring = np.r_[np.arange(6), 0]
    cell = geo["cell"]
    n = geo["n"]
    return shapely.from_ragged_array(
        shapely.GeometryType.POLYGON,
        lonlat(
            ((2 * col + (row & 1))[cell, None] + demo._HEX_DX[ring]).ravel(),
            ((3 * row)[cell, None] + demo._HEX_DY[ring]).ravel(),
        ),
        (np.arange(n + 1) * len(ring), np.arange(n + 1)),
    )


@pytest.mark.parametrize("n, seed", [(20, 1), (211, 3), (1_500, 4)])
def test_lattice_dissolve_equals_the_coverage_union(n: int, seed: int) -> None:
    geo = demo._geography(demo._hex_grid(n), np.random.default_rng(seed))
    lonlat = demo._lattice_to_wgs84(geo)
    lsoas = _lsoa_polygons(geo, lonlat)
    rng = np.random.default_rng(seed)
    x, y = geo["x"], geo["y"]
    r = np.hypot(x - x.mean(), y - y.mean()) / demo.HEX_RADIUS_M
    cases = {
        "msoa": geo["msoa"],
        "ward": geo["ward"],
        "lad": geo["lad"],
        "one": np.zeros(n, dtype=np.int64),
        "scattered": rng.integers(0, max(2, n // 10), n),
        "lad with holes": np.where(rng.random(n) < 0.2, -1, geo["lad"]),
        # one group: a disc, a ring around a hole, and the outside around another hole
        "nested": np.where((r < 2) | ((r >= 4) & (r < 6)) | (r >= 8), 0, 1),
        "nested, gaps empty": np.where((r < 2) | ((r >= 4) & (r < 6)) | (r >= 8), 0, -1),
    }
    for case, groups in cases.items():
        labels, ours = demo._dissolve(geo, groups, lonlat)
        geos_labels, theirs = _geos_union(lsoas, groups)
        assert np.array_equal(labels, geos_labels), case
        assert shapely.is_valid(ours).all(), case
        same = shapely.equals_exact(shapely.normalize(ours), shapely.normalize(theirs), tolerance=0)
        assert same.all(), case
        # GEOS's orientation: shells clockwise
        polys = ours[shapely.get_type_id(ours) == 3]
        assert not shapely.is_ccw(shapely.get_exterior_ring(polys)).any(), case


def test_cycles_names_each_ring_by_its_smallest_element_and_counts_to_its_end() -> None:
    nxt = np.array([2, 0, 1, 4, 3, 5])  # rings 0 -> 2 -> 1 -> 0, 3 <-> 4, and 5 alone
    rep, dist = demo._cycles(nxt)
    assert rep.tolist() == [0, 0, 0, 3, 3, 5]
    assert dist.tolist() == [2, 0, 1, 1, 0, 0]  # from 0: 0, 2, 1 (the end)
