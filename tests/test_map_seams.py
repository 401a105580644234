"""Issue 13.2: one map layer that draws what it is given.

The seam: :func:`hiexplore.map_values.map_values` turns one frame of figures into classes,
colours and legend words; the builders (classic SVG, national zoom canvas) draw a MapValues
and compute nothing; imports go one way (mapping -> maps_national -> maps -> map_values).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hiexplore.map_values import MISSING_COLOUR, map_values

SRC = Path(__file__).resolve().parents[1] / "src" / "hiexplore"


def _imports(module: str) -> set[str]:
    """Every hiexplore module ``module`` imports, at the top or inside a function."""
    tree = ast.parse((SRC / f"{module}.py").read_text("utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out.add(node.module or "")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hiexplore."):
            out.add(node.module.split(".", 1)[1])
    return out


def test_builders_import_no_dataset_layer_and_no_flags() -> None:
    """No import circle between mapping and maps_national; no builder reads or computes flags."""
    for builder in ("maps", "maps_national", "map_values"):
        assert not _imports(builder) & {"mapping", "derived", "flags", "dataset"}, builder
    assert "mapping" not in _imports("maps_national")
    assert "maps_national" not in _imports("maps") and "maps" not in _imports("map_values")


@pytest.mark.parametrize("first", ["hiexplore.maps_national", "hiexplore.maps", "hiexplore.map_values",
                                   "hiexplore.mapping"])
def test_each_map_module_imports_first_on_its_own(first: str) -> None:
    res = subprocess.run([sys.executable, "-c", f"import {first}; import hiexplore.mapping"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"area_code": ["A", "B", "C", "D"], "value": [50.0, 72.0, 85.0, None],
                         "lower_ci_95": [45.0, 70.0, 80.0, None], "upper_ci_95": [55.0, 74.0, 90.0, None],
                         "flagged": [True, False, False, False], "cluster": ["low-low (cold spot)", "", "", ""],
                         "people_to_reach": [12, 3, 0, None]})


def test_map_values_classes_colours_and_legend_words() -> None:
    mv = map_values(_frame(), codes=["A", "B", "C", "D", "E"], title="MMR1, 2024/25 Q1", units="%",
                    source_line="UKHSA COVER", scheme="standard",
                    thresholds={"acceptable": 70, "achievable": 80}, palette="viridis", period="2024/25 Q1",
                    age_mark="out of date (period 2017/18)", note="Neighbourhood figures are estimates",
                    tooltip_fields={"people_to_reach": "People to reach"})
    assert mv.frame["area_code"].tolist() == ["A", "B", "C", "D", "E"]
    assert mv.frame["k"].tolist() == [0, 1, 2, -1, -1]
    assert mv.frame["flagged"].tolist() == [True, False, False, False, False]
    assert mv.frame["cold"].tolist() == [True, False, False, False, False]
    legend = mv.legend()
    assert [c["count"] for c in legend["classes"]] == [1, 1, 1]
    assert legend["no_data"] == {"colour": MISSING_COLOUR, "count": 2}
    assert legend["classes"][0]["colour"] == "#440154"  # the worse (low) end is darker
    assert legend["units"] == "%" and legend["period"] == "2024/25 Q1" and legend["source"] == "UKHSA COVER"
    assert legend["out_of_date"].startswith("out of date") and "estimates" in legend["note"]
    assert legend["flagged"] == "Flagged for action" and legend["cold_spots"] is True
    # a coarser zoom level on the same breaks: same colours and legend, its own classes
    coarse = mv.on_breaks(pd.DataFrame({"area_code": ["X", "Y"], "value": [71.0, 95.0]}))
    assert coarse.frame["k"].tolist() == [1, 2] and coarse.colours == mv.colours
    assert coarse.tooltip_fields == ()  # it has no people_to_reach column


def test_builders_draw_the_colours_they_are_given() -> None:
    """A builder computes nothing: the palette of the MapValues is what the page carries."""
    import geopandas as gpd
    from shapely.geometry import box

    from hiexplore.maps import draw_choropleth, map_to_html
    from hiexplore.maps_national import ZoomLevel, draw_zoom_map

    areas = gpd.GeoDataFrame({"area_code": list("ABCD"), "area_name": list("abcd")},
                             geometry=[box(-1 + i * 0.01, 52, -0.99 + i * 0.01, 52.01) for i in range(4)],
                             crs=4326)
    mv = map_values(_frame(), codes=list("ABCD"), title="T", units="%", source_line="S", k=3)
    recoloured = mv.__class__(**{**mv.__dict__, "colours": ("#010203", "#040506", "#070809")})
    classic = map_to_html(draw_choropleth(areas, recoloured))
    zoom = map_to_html(draw_zoom_map([(ZoomLevel("lsoa", 0, None, 1.0, 5), areas, recoloured)]))
    for page in (classic, zoom):
        assert "#010203" in page and "#070809" in page
        assert "#440154" not in page  # viridis, which map_values chose, is not redrawn


# --------------------------------------------------------------------------------------------
# the app's two payloads: geometry once, values on each change


@pytest.fixture(scope="module")
def demo_ds(demo_dataset: Path):
    from hiexplore.dataset import load_dataset

    return load_dataset(demo_dataset)


def test_values_payload_carries_no_geometry_and_follows_the_geometry_order(demo_ds) -> None:
    import json

    from hiexplore.map_payload import geometry_key, map_geometry, map_layer_values

    geo = map_geometry(demo_ds, "lsoa")
    assert geo["key"] == geometry_key(demo_ds, "lsoa") and map_geometry(demo_ds, "lsoa") is geo  # built once
    assert geometry_key(demo_ds, "msoa") != geo["key"]
    from dataclasses import replace

    rebuilt = replace(demo_ds, file_sha256={**demo_ds.file_sha256, "areas.parquet": "changed"})
    assert geometry_key(rebuilt, "lsoa") != geo["key"]  # new boundaries: the frame must get them
    a = map_layer_values(demo_ds, "mmr1_24m", "lsoa")
    b = map_layer_values(demo_ds, "mmr2_5y", "lsoa", scheme="equal_interval", palette="YlGnBu")
    for vals in (a, b):
        assert vals["geometry"] == geo["key"]
        assert len(vals["levels"]) == len(geo["levels"])
        assert all(len(v["k"]) == len(lv["c"]) for v, lv in zip(vals["levels"], geo["levels"], strict=True))
        text = json.dumps(vals)
        assert '"g"' not in text and geo["levels"][-1]["c"][0] not in text  # no shapes, no codes
        assert len(text) < len(json.dumps(geo))  # the demo's hexagons are light; real shapes weigh more
    assert a["levels"][-1]["k"] != b["levels"][-1]["k"] and a["palette"] != b["palette"]
    # the figures are the stored flags', in the geometry's order
    from hiexplore.derived import stored_flags

    flags = stored_flags(demo_ds, "mmr1_24m", "lsoa").set_index("area_code")["value"]
    want = [None if pd.isna(flags.get(c)) else round(float(flags[c]), 1) for c in geo["levels"][-1]["c"]]
    assert a["levels"][-1]["v"] == want
    assert a["legend"]["period"] and a["legend"]["units"] and "SYNTHETIC" in a["note"]
    assert "hx-note" not in a["legendHtml"]  # the caveat is shown once, above the map, not in the legend


def test_zoom_geometry_has_coarser_levels_and_values_for_each(demo_ds) -> None:
    from hiexplore.map_payload import map_geometry, map_layer_values

    geo = map_geometry(demo_ds, "lsoa", zoom_levels=True)
    assert geo["canvas"] and [lv["geo"] for lv in geo["levels"]][-1] == "lsoa" and len(geo["levels"]) > 1
    vals = map_layer_values(demo_ds, "mmr1_24m", "lsoa", zoom_levels=True)
    assert [len(v["k"]) for v in vals["levels"]] == [len(lv["c"]) for lv in geo["levels"]]
    assert "Geography changes with the zoom" in vals["legendHtml"]


@pytest.mark.parametrize("palette", ["viridis", "YlGnBu"])
def test_deprivation_deciles_map_in_ten_colours(demo_ds, palette: str) -> None:
    """The deprivation layer's ten deciles: each palette gives ten distinct colours, darkest for
    the most deprived decile (this layer failed with "no 10-class version" before)."""
    from hiexplore.map_payload import map_layer_values

    vals = map_layer_values(demo_ds, None, "lsoa", layer="deprivation", palette=palette)
    colours = vals["palette"]
    assert len(colours) == len(set(colours)) == len(vals["legend"]["classes"]) == 10
    lightness = [sum(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours]
    assert lightness == sorted(lightness)  # decile 1 (most deprived) darkest


def test_deprivation_map_does_not_call_itself_an_apportioned_estimate(embedded_dataset: Path) -> None:
    """IMD deciles do not come through the modelled catchments: no "estimates" caveat on them
    (it stays on every uptake map of the same dataset)."""
    from hiexplore.dataset import load_dataset
    from hiexplore.mapping import layer_values

    ds = load_dataset(embedded_dataset)
    if ds.catchment_source != "modelled":
        pytest.skip("the embedded dataset's catchments are not modelled")
    assert "MODELLED" in (layer_values(ds, "mmr1_24m", "lsoa").note or "")
    assert "MODELLED" not in (layer_values(ds, None, "lsoa", layer="deprivation").note or "")


def test_values_payload_names_the_map_frame_with_its_title_and_table(demo_ds) -> None:
    """The component's frame is named from the values (a change of indicator renames it)."""
    from hiexplore.map_payload import map_layer_values

    a = map_layer_values(demo_ds, "mmr1_24m", "lsoa")
    b = map_layer_values(demo_ds, None, "msoa", layer="deprivation")
    assert a["label"] == f"Map of {a['title']} by LSOAs: the table below it lists the same areas"
    assert b["label"].startswith(f"Map of {b['title']} by MSOAs: the table below it")
