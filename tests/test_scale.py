"""National scale: the zoom-switching map and the speed-ups that must not change any figure.

Fast tests on a small synthetic demo (the national figures are in benchmarks/national.py and
benchmarks/maps_paint.py). Maps are tested on their rendered HTML, as the other map tests are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Polygon

from hiexplore import flags as F
from hiexplore import maps_national as MN
from hiexplore.apportion import _catchment, apportion_to_lsoa, area_figures, practice_figures
from hiexplore.dataset import load_dataset
from hiexplore.demo import write_demo
from hiexplore.errors import RequestError
from hiexplore.map_values import classes_on
from hiexplore.mapping import indicator_map, national_indicator_map
from hiexplore.maps import classify_values, map_to_html

IND = "mmr1_24m"


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("scale") / "demo"
    write_demo(path, 400, 60, 5)
    return load_dataset(path)


def _cfg(html: str) -> dict:
    """The zoom levels' configuration embedded in the page's script."""
    match = re.search(r"var cfg = (\{.*?\});\n", html)
    assert match, "no zoom-level configuration in the page"
    return json.loads(match.group(1).replace("<\\/", "</"))


# --- geometry encoding -----------------------------------------------------------------------


def test_encode_decode_round_trip_within_precision() -> None:
    hole = Polygon(
        [(-1.2, 52.6), (-1.1, 52.6), (-1.1, 52.7), (-1.2, 52.7)],
        [[(-1.17, 52.63), (-1.13, 52.63), (-1.13, 52.67)]],
    )
    multi = MultiPolygon([Polygon([(0.1, 51.0), (0.2, 51.0), (0.2, 51.1)]), hole])
    enc = MN.encode_polygons([hole, multi, None], 5)
    assert [len(a) for a in enc] == [2, 3, 0]  # rings: outer + hole; two parts (one with a hole)
    dec = MN.decode_polygons(enc, 5)
    np.testing.assert_allclose(dec[0][0], np.asarray(hole.exterior.coords)[:-1], atol=1e-5)
    np.testing.assert_allclose(dec[0][1], np.asarray(hole.interiors[0].coords)[:-1], atol=1e-5)
    assert all(isinstance(v, int) for ring in enc[1] for v in ring)


def test_encoding_drops_collapsed_rings() -> None:
    tiny = Polygon([(0.0, 0.0), (0.00001, 0.0), (0.00001, 0.00001)])
    assert MN.encode_polygons([tiny], 3) == [[]]


# --- the zoom-switching map ------------------------------------------------------------------


def test_indicator_map_switches_to_zoom_levels_above_threshold(ds, monkeypatch) -> None:
    monkeypatch.setattr(MN, "ZOOM_MAP_THRESHOLD", 100)  # the demo has 400 LSOAs
    html = map_to_html(indicator_map(ds, IND, "lsoa"))
    cfg = _cfg(html)
    assert [lv["geo"] for lv in cfg["levels"]] == ["lad", "msoa", "lsoa"]
    assert [(lv["min"], lv["max"]) for lv in cfg["levels"]] == [(0, 9), (9, 11), (11, None)]
    counts = {lv["geo"]: sum(c["n"] for c in lv["cells"]) for lv in cfg["levels"]}
    areas = ds.areas["area_type"].value_counts()
    assert counts == {g: int(areas[g]) for g in ("lad", "msoa", "lsoa")}
    assert "L.canvas(" in html and "L.geoJson(" not in html  # no SVG GeoJSON layer
    assert "Showing" in html and "zoom in for" in html
    assert "SYNTHETIC demo data" in html  # the caveat travels with the national map too


def test_below_threshold_keeps_the_classic_map(ds) -> None:
    html = map_to_html(indicator_map(ds, IND, "lsoa"))
    assert "var cfg = " not in html  # 400 areas: one SVG GeoJSON layer as before
    html = map_to_html(indicator_map(ds, IND, "msoa", zoom_levels=True))
    assert [lv["geo"] for lv in _cfg(html)["levels"]] == ["lad", "msoa"]


def test_each_level_shows_its_own_figures_on_shared_classes(ds) -> None:
    html = map_to_html(national_indicator_map(ds, IND, "lsoa", show_practices=False))
    cfg = _cfg(html)
    lsoa_figs = area_figures(ds, IND, "lsoa").set_index("area_code")["value"]
    lad_figs = area_figures(ds, IND, "lad").set_index("area_code")["value"]
    classes = classify_values(lsoa_figs.reindex(ds.areas.loc[ds.areas.area_type == "lsoa", "area_code"]).to_numpy())
    for lv, figs in ((cfg["levels"][0], lad_figs), (cfg["levels"][2], lsoa_figs)):
        for cell in lv["cells"]:
            d = json.loads(cell["d"])
            got = np.array(d["v"], dtype=float)
            np.testing.assert_allclose(got, figs.reindex(d["c"]).round(1).to_numpy(), atol=0.051)
            want_k = classes_on(classes.bins, "quantiles", True, figs.reindex(d["c"]).to_numpy())
            assert d["k"] == want_k.tolist()
    # the finest level's classes are exactly the classic map's
    lsoa_k = [k for c in cfg["levels"][2]["cells"] for k in json.loads(c["d"])["k"]]
    assert sorted(lsoa_k) == sorted(classes.classes.tolist())


def test_payload_small_and_offline(ds, tmp_path: Path) -> None:
    html = map_to_html(national_indicator_map(ds, IND, "lsoa"))
    assert len(html.encode()) < 1_000_000  # 400 LSOAs + 60 practices; Leaflet inlined
    srcs = re.findall(r"""<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["']([^"']+)""", html)
    assert not [s for s in srcs if s.startswith(("http:", "https:", "//"))]
    assert "cdn" not in " ".join(srcs).lower()
    assert "/* leaflet.js vendored in hiexplore/static */" in html


def test_names_cannot_close_the_script(ds) -> None:
    areas = ds.areas[ds.areas["area_type"] == "lad"].head(3).copy()
    areas["area_name"] = ["</script><b>x</b>", "Ashby & Co", "O'Neil"]
    values = pd.DataFrame({"area_code": areas["area_code"], "value": [50.0, 60.0, 70.0]})
    html = map_to_html(MN.zoom_choropleth([(MN.levels_for("lad")[0], areas, values)], title="t",
                                          units="%", source_line="s"))
    script = html[html.index("var cfg = "):]
    assert "</script><b>" not in script[: script.index("</script>")]
    assert "\\u003c/script\\u003e\\u003cb\\u003ex" in html  # script-safe JSON (safe_text.script_json)


def test_cells_split_the_finest_level_by_grid() -> None:
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-3, 1, 5000), rng.uniform(51, 54, 5000)])
    cell, n = MN._cells(pts, single=False)
    assert n > 20 and cell.max() == n - 1
    span = pd.DataFrame({"c": cell, "x": pts[:, 0]}).groupby("c")["x"].agg(lambda s: s.max() - s.min())
    assert (span <= MN.CELL_DEGREES[0] + 1e-9).all()
    assert MN._cells(pts, single=True) == (pytest.approx(np.zeros(5000)), 1)


def test_levels_validation() -> None:
    with pytest.raises(RequestError, match="No zoom levels"):
        MN.levels_for("nowhere")
    with pytest.raises(RequestError, match="at least one level"):
        MN.zoom_choropleth([], title="t", units="%", source_line="s")
    lv = MN.ZoomLevel("lsoa", 11, None, 10.0, 5)
    assert lv.shows(11) and lv.shows(18) and not lv.shows(10.75)


def test_standard_scheme_classes_match_classic(ds) -> None:
    y = np.array([50.0, 69.99, 70.0, 79.9, 80.0, np.nan])
    c = classify_values(y, "standard", thresholds={"acceptable": 70, "achievable": 80})
    assert classes_on(c.bins, "standard", True, y).tolist() == c.classes.tolist()


# --- speed-ups that must not change a figure -------------------------------------------------


def test_reasons_vectorised_equal_row_by_row(ds) -> None:
    for geo in ("lsoa", "practice"):
        figs = F.compute_flags(ds, IND, geo, permutations=99)
        ref = [F._reason(r, "MMR1", "England", 90.0, True) for r in figs.to_dict("records")]
        assert list(F._reasons(figs, "MMR1", "England", 90.0, True)) == ref
    rng = np.random.default_rng(3)
    n = 2_000
    den = rng.choice([0.0, 2.0, 50.0, np.nan], n)
    value = np.where(den > 0, rng.uniform(0, 100, n), np.nan)
    odd = pd.DataFrame({
        "denominator": den, "value": value, "lower_ci_95": value - 3, "upper_ci_95": value + 3,
        "standard_band": rng.choice(["below acceptable", "acceptable"], n),
        "vs_benchmark": rng.choice(["Worse", "Better", "Similar", "Not compared"], n),
        "benchmark_value": 71.25, "imd_decile": rng.choice([1.0, 2.0, 6.0, np.nan], n),
        "core20": rng.choice([True, False], n),
        "vs_expected": rng.choice(["lower than expected", "as expected"], n),
        "expected_value": rng.uniform(50, 90, n),
        "cluster": rng.choice(["low-low (cold spot)", "not significant"], n),
        "people_to_reach": rng.choice([0.0, 1.0, 1234.0, 123_456.0, np.nan], n),
        "low_confidence": rng.choice([True, False], n), "flagged": rng.choice([True, False], n),
    })
    # values whose one-decimal text is not in the lookup table, a benchmark that varies by row,
    # deciles as objects with gaps, text columns holding None
    odd.loc[:9, "value"] = [0.25, 2.675, 1000.04, 1e20, -0.04, 0.35, 999.95, 12.25, 50.05, 7.0]
    odd.loc[:9, "denominator"] = 50.0
    odd["benchmark_value"] = rng.choice([71.25, 64.0, 0.05], n)
    odd["imd_decile"] = odd["imd_decile"].astype(object)
    odd["vs_benchmark"] = odd["vs_benchmark"].astype(object)
    odd.loc[10:19, "vs_benchmark"] = None
    for acceptable, higher in ((None, True), (95.0, False)):
        ref = [F._reason(r, "X", "ICB", acceptable, higher) for r in odd.to_dict("records")]
        assert list(F._reasons(odd, "X", "ICB", acceptable, higher)) == ref


def test_one_decimal_table_equals_format() -> None:
    x = np.concatenate([np.arange(0, 1000.05, 0.05), np.random.default_rng(1).uniform(0, 100, 20_000),
                        [np.nan, np.inf, -0.0, -0.04, 0.25, 0.35, 2.675, 999.95, 1000.04, 1e20]])
    assert F._fmt_text(x).to_pylist() == [format(v, ".1f") for v in x.tolist()]


def test_cached_apportioning_equals_fresh(ds) -> None:
    rows = practice_figures(ds.indicators, IND).rename(columns={"area_code": "practice_code"})
    fresh = apportion_to_lsoa(ds.registrations, rows)
    cached = apportion_to_lsoa(ds.registrations, rows, catchments=_catchment(ds.registrations))
    pd.testing.assert_frame_equal(fresh, cached)
    via_ds = area_figures(ds, IND, "lsoa")
    again = area_figures(ds, IND, "lsoa")  # from the dataset's cache
    pd.testing.assert_frame_equal(via_ds, again)
    merged = ds.registrations[ds.registrations["in_area"]].merge(
        rows[["practice_code", "numerator"]], on="practice_code")
    share = merged["patients"] / merged["practice_code"].map(
        ds.registrations.groupby("practice_code")["patients"].sum())
    expect = (share * merged["numerator"]).groupby(merged["lsoa_code"]).sum()
    np.testing.assert_allclose(via_ds.set_index("area_code")["numerator"].reindex(expect.index), expect,
                               rtol=1e-12)


def test_deprivation_cache_follows_the_codes_asked(ds) -> None:
    codes = area_figures(ds, IND, "msoa")["area_code"]
    first = F.area_deprivation(ds, "msoa", codes)
    flipped = F.area_deprivation(ds, "msoa", codes.iloc[::-1].reset_index(drop=True))
    np.testing.assert_array_equal(first["imd_decile"].to_numpy()[::-1], flipped["imd_decile"].to_numpy())
    unknown = F.area_deprivation(ds, "msoa", pd.Series(["E02999999"], name="area_code"))
    assert unknown["imd_decile"].isna().all() and not unknown["core20"].any()


def test_geometry_is_reused_between_maps(ds) -> None:
    ds._zoom_geometry_cache.clear()
    national_indicator_map(ds, IND, "lsoa", show_practices=False)
    cache = ds._zoom_geometry_cache
    assert len(cache) == 3
    before = {k: id(v) for k, v in cache.items()}
    national_indicator_map(ds, "mmr2_5y", "lsoa", show_practices=False)
    assert {k: id(v) for k, v in cache.items()} == before


def test_zoom_map_accepts_geodataframes_in_other_crs(ds) -> None:
    lad = ds.areas[ds.areas["area_type"] == "lad"].to_crs(27700)
    values = pd.DataFrame({"area_code": lad["area_code"], "value": np.linspace(60, 90, len(lad))})
    html = map_to_html(MN.zoom_choropleth([(MN.levels_for("lad")[0], gpd.GeoDataFrame(lad), values)],
                                          title="t", units="%", source_line="s"))
    lon = json.loads(_cfg(html)["levels"][0]["cells"][0]["d"])["g"][0][0][0] / 1e4
    assert -10 < lon < 3  # reprojected to degrees at the map boundary


def test_flags_sorted_by_rank_then_value_missing_last(ds) -> None:
    for geo in ("lsoa", "practice"):
        f = F.compute_flags(ds, IND, geo, with_clusters=False, with_expected=False)
        again = f.sort_values(["priority_rank", "value"], na_position="last", kind="stable")
        pd.testing.assert_frame_equal(f, again.reset_index(drop=True))
        assert f["priority_rank"].head(int(f["flagged"].sum())).tolist() == list(range(1, int(f["flagged"].sum()) + 1))
