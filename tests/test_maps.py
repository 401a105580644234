"""Maps are tested on their rendered HTML (as geopandas tests ``explore``): no browser needed.

The real LLR LSOA 2021 boundaries (634 areas) carry synthetic values, so the tests see real
geometry (shared edges, multipolygons, small city-centre areas) and known numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from conftest import shared_path
from hiexplore import maps
from hiexplore.errors import RequestError

LLR_LSOA = ("boundaries", "geographr_ons_bsc", "llr_lsoa21_bsc.geojson")
EVIL = "<script>alert(1)</script>"
TITLE = "Breast screening coverage, women aged 53-70"
UNITS = "% of eligible women"
SOURCE = "Source: synthetic values for tests; boundaries ONS (OGL v3)"
NOTE = "Synthetic data: not real screening figures"
SEED = 20240601


def _js(text: str) -> str:
    """How plain text appears inside the JSON strings the map's scripts carry."""
    return json.dumps(text)[1:-1]


@pytest.fixture(scope="module")
def llr_areas() -> gpd.GeoDataFrame:
    areas = gpd.read_file(shared_path(*LLR_LSOA))
    areas = areas.rename(columns={"lsoa21_code": "area_code", "lsoa21_name": "area_name"})
    areas.loc[areas.index[0], "area_name"] = EVIL
    return areas


@pytest.fixture(scope="module")
def llr_values(llr_areas: gpd.GeoDataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    n = len(llr_areas)
    value = rng.uniform(45, 90, n)
    values = pd.DataFrame(
        {
            "area_code": llr_areas["area_code"].to_numpy(),
            "value": value,
            "lower_ci_95": value - 3,
            "upper_ci_95": value + 3,
            "flagged": value < 55,
            "cluster": np.where(np.arange(n) % 17 == 0, "low-low (cold spot)", "not significant"),
            "denominator": rng.integers(150, 900, n),
        }
    )
    values.loc[values.index[5::50], "value"] = np.nan  # some areas with no data
    return values


@pytest.fixture(scope="module")
def llr_practices(llr_areas: gpd.GeoDataFrame) -> pd.DataFrame:
    points = llr_areas.to_crs(27700).geometry.representative_point().to_crs(4326).iloc[::25]
    n = len(points)
    names = [f"Practice {i}" for i in range(n)]
    names[0] = EVIL
    return pd.DataFrame(
        {
            "practice_code": [f"C82{i:03d}" for i in range(n)],
            "practice_name": names,
            "latitude": points.y.to_numpy(),
            "longitude": points.x.to_numpy(),
            "list_size": np.linspace(3000, 24000, n).round(),
        }
    )


@pytest.fixture(scope="module")
def llr_map(llr_areas, llr_values, llr_practices):
    return maps.choropleth(
        llr_areas,
        llr_values,
        title=TITLE,
        units=UNITS,
        source_line=SOURCE,
        legend_title="Coverage (53-70)",
        synthetic_or_modelled_note=NOTE,
        practices=llr_practices,
        tooltip_fields={"denominator": "Eligible women"},
        made_on=dt.date(2025, 11, 23),
    )


@pytest.fixture(scope="module")
def llr_html(llr_map, tmp_path_factory) -> str:
    path = maps.save_map(llr_map, tmp_path_factory.mktemp("maps") / "llr.html")
    return path.read_text("utf-8")


# ----- classification ---------------------------------------------------------------------------


def test_unknown_scheme_lists_the_valid_ones():
    with pytest.raises(RequestError) as info:
        maps.classify_values([1, 2, 3], scheme="jenks")
    message = str(info.value)
    assert "'jenks'" in message
    for name in maps.SCHEMES:
        assert name in message


def test_missing_values_get_class_minus_one_and_are_left_out_of_breaks():
    labels, classes, bins, scheme = maps.classify_values(
        [10.0, None, 20.0, float("nan"), 30.0, 40.0], "equal_interval", k=3
    )
    assert classes.tolist()[1] == -1 and classes.tolist()[3] == -1
    assert (classes[[0, 2, 4, 5]] >= 0).all()
    assert bins[-1] == 40.0
    assert labels[0].startswith("10.0 to ")


def test_quantiles_put_about_the_same_number_of_values_in_each_class():
    y = np.random.default_rng(SEED).normal(70, 8, 500)
    result = maps.classify_values(y, "quantiles", k=5)
    assert len(result.labels) == 5
    assert all(abs(c - 100) <= 2 for c in result.counts)


def test_fewer_distinct_values_than_k_makes_fewer_classes():
    result = maps.classify_values([1, 1, 2, 2, 3, 3], "fisher_jenks", k=5)
    assert len(result.labels) == 3
    assert sorted(set(result.classes.tolist())) == [0, 1, 2]


def test_standard_bands_are_closed_on_the_left_as_standards_are_written():
    """'>= 70% is acceptable': exactly 70.0 is acceptable, exactly 80.0 achievable."""
    std = {"acceptable": 70.0, "achievable": 80.0}
    labels, classes, bins, _ = maps.classify_values(
        [69.99, 70.0, 79.99, 80.0, None], "standard", thresholds=std
    )
    assert classes.tolist() == [0, 1, 1, 2, -1]
    assert labels[0].startswith("Below acceptable") and labels[2].startswith("Achievable")
    assert bins == (70.0, 80.0)


def test_standard_accepts_the_catalogue_standard_and_lower_is_better():
    from hiexplore.catalogue import Standard

    result = maps.classify_values([60, 75, 85], "standard", thresholds=Standard(70.0, 80.0, "test"))
    assert result.classes.tolist() == [0, 1, 2]
    lower = maps.classify_values(
        [4, 5, 8, 12],
        "standard",
        thresholds={"acceptable": 10, "achievable": 5},
        higher_is_better=False,
    )
    assert lower.classes.tolist() == [0, 0, 1, 2]  # 5.0 is achievable ("5.0 or less")
    assert lower.labels[0].startswith("Achievable") and lower.labels[-1].startswith("Above")


def test_standard_without_thresholds_says_what_to_pass():
    with pytest.raises(RequestError, match="thresholds"):
        maps.classify_values([1, 2], "standard")


# ----- colours ----------------------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize("palette", sorted(maps.PALETTES))
@pytest.mark.parametrize("k", [3, 5, 7])
def test_worse_end_is_darker_whatever_the_polarity(palette, k):
    up = maps.class_colours(k, palette, higher_is_better=True)
    down = maps.class_colours(k, palette, higher_is_better=False)
    assert up == down[::-1]
    lum_up = [_luminance(c) for c in up]
    assert lum_up == sorted(lum_up)  # higher is better: low values (class 0) darkest
    lum_down = [_luminance(c) for c in down]
    assert lum_down == sorted(lum_down, reverse=True)  # lower is better: high values darkest


def test_legend_swatches_follow_the_polarity(llr_areas, llr_values):
    llr_areas = llr_areas.iloc[:150]  # enough for five classes; keeps the test quick
    html_up = maps.map_to_html(
        maps.choropleth(llr_areas, llr_values, title="t", units="%", source_line="s")
    )
    html_down = maps.map_to_html(
        maps.choropleth(
            llr_areas, llr_values, title="t", units="%", source_line="s", higher_is_better=False
        )
    )
    swatch = re.compile(r"hx-sw\\u0027 style=\\u0027background:(#[0-9a-f]{6})")
    up, down = swatch.findall(html_up), swatch.findall(html_down)
    expected = maps.class_colours(5, "viridis", True)
    assert up[:5] == expected and down[:5] == expected[::-1]
    assert up[5] == maps.MISSING_COLOUR  # the no-data swatch comes last


# ----- the rendered map -------------------------------------------------------------------------


def test_legend_states_title_units_classes_missing_source_and_date(llr_html, llr_values):
    for text in ("Coverage (53-70)", f"Units: {UNITS}", SOURCE, "Map made 23 November 2025"):
        assert _js(text) in llr_html, text
    labels = maps.classify_values(llr_values["value"], "quantiles", 5).labels
    assert len(labels) == 5
    for label in labels:
        assert _js(label) in llr_html, label
    assert "No data" in llr_html and maps.MISSING_COLOUR in llr_html
    assert "Darker = worse (higher is better" in llr_html


def test_synthetic_note_is_in_the_title_box_and_the_legend(llr_html):
    assert llr_html.count(_js(NOTE)) == 2
    assert "hx-box hx-title" in llr_html and "hx-box hx-legend" in llr_html


def test_saved_map_has_no_external_script_or_stylesheet(llr_html):
    scripts = re.findall(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']*)", llr_html, re.I)
    links = re.findall(r"<link\b[^>]*\bhref\s*=\s*[\"']([^\"']*)", llr_html, re.I)
    assert not [u for u in scripts + links if re.match(r"^(https?:)?//", u, re.I)]
    assert "Leaflet 1.9.4" in llr_html  # the vendored library is inlined
    assert "jQuery v3.7.1" not in llr_html  # not used by hiexplore's layers, so not shipped
    assert "L.tileLayer" not in llr_html  # tiles=None: a plain background


def test_user_text_is_escaped_everywhere(llr_html):
    assert EVIL not in llr_html
    assert "\\u003cscript\\u003ealert(1)" not in llr_html  # unescaped text inside JSON
    # the area and the practice called <script>...: both shown, both as text
    assert llr_html.count("\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;") == 2


def test_title_source_and_note_are_escaped(llr_areas, llr_values):
    m = maps.choropleth(
        llr_areas.iloc[:20],
        llr_values.iloc[:20],
        title=EVIL,
        units=EVIL,
        source_line=EVIL,
        legend_title=EVIL,
        synthetic_or_modelled_note=EVIL,
    )
    page = maps.map_to_html(m)
    assert EVIL not in page and "\\u003cscript\\u003ealert(1)" not in page
    assert "<title>&lt;script&gt;" in page


def test_flagged_outline_and_cold_spot_layers_are_present(llr_html):
    assert _js("Flagged for action") in llr_html
    assert "Cold spots" in llr_html
    assert '"#000000", weight: 2.8' in llr_html  # the flagged outline (over a white halo)
    assert 'dashArray: "5 4"' in llr_html  # cold spots: dashed
    assert "Cold spot: cluster of low values" in llr_html
    assert "L.control.layers" in llr_html


def test_practices_are_circles_sized_by_list_size(llr_html, llr_practices):
    assert "L.circleMarker" in llr_html
    assert "GP practice, 20,000 patients" in llr_html
    radii = [float(r) for r in re.findall(r'"r": ([0-9.]+)', llr_html)]
    assert len(radii) == len(llr_practices)
    assert max(radii) == pytest.approx(11.0)


def test_tooltip_shows_value_with_confidence_interval(llr_html, llr_values):
    row = llr_values.dropna(subset=["value"]).iloc[0]
    expected = (
        f"{row['value']:.1f}% of eligible women \\u003cspan style=\\u0027color:#444\\u0027\\u003e"
        f"(95% CI {row['lower_ci_95']:.1f} to {row['upper_ci_95']:.1f})"
    )
    assert expected in llr_html


def test_payload_of_the_llr_lsoa_map_is_small(llr_html):
    size = len(llr_html.encode("utf-8"))
    print(f"\nLLR LSOA map (634 areas, practices, all assets inlined): {size / 1e6:.2f} MB")
    assert size < 2_000_000


def test_simplified_areas_still_share_their_edges(llr_areas):
    geoms = maps._prepare_geometry(llr_areas, 15.0, 5)
    before = sum(len(shapely.get_coordinates(g)) for g in llr_areas.geometry)
    after = sum(len(shapely.get_coordinates(g)) for g in geoms)
    assert after < before
    if hasattr(shapely, "coverage_simplify"):
        # rounding to 1e-5 degrees can leave hairline slivers; none wider than that
        assert shapely.coverage_is_valid(geoms.values, gap_width=1e-5)


def test_tiles_osm_adds_a_tile_layer_and_still_saves_offline(llr_areas, llr_values):
    m = maps.choropleth(
        llr_areas.iloc[:30],
        llr_values.iloc[:30],
        title="t",
        units="%",
        source_line="s",
        tiles="osm",
    )
    page = maps.map_to_html(m)
    assert "L.tileLayer" in page
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=\"https?:", page)


def test_unknown_tiles_list_the_choices(llr_areas, llr_values):
    with pytest.raises(RequestError, match="osm"):
        maps.choropleth(
            llr_areas, llr_values, title="t", units="%", source_line="s", tiles="stamen"
        )


def test_missing_columns_are_named(llr_areas, llr_values):
    with pytest.raises(RequestError, match="'value'"):
        maps.choropleth(
            llr_areas, llr_values.drop(columns="value"), title="t", units="%", source_line="s"
        )


def test_few_areas_are_labelled_on_the_map(llr_areas, llr_values):
    page = maps.map_to_html(
        maps.choropleth(llr_areas.iloc[:12], llr_values, title="t", units="%", source_line="s")
    )
    assert "hx-label" in page and _js("Area names") in page
    assert "\\u0026lt;script\\u0026gt;" in page  # the malicious name, escaped, as a label


# ----- offline HTML -----------------------------------------------------------------------------


def test_jquery_is_inlined_only_when_the_page_uses_it():
    import folium

    m = folium.Map(location=[52.6, -1.1], tiles=None)
    folium.CircleMarker([52.6, -1.1], popup=folium.Popup("<b>x</b>")).add_to(m)  # uses $(...)
    page = maps.map_to_html(m)
    assert "jQuery v3.7.1" in page
    assert "bootstrap" not in page.lower().split("<body>")[0].split("leaflet 1.9.4")[0]


def test_an_asset_we_do_not_vendor_is_refused_not_silently_broken():
    import folium
    from branca.element import JavascriptLink

    m = folium.Map(location=[52.6, -1.1], tiles=None)
    m.get_root().header.add_child(JavascriptLink("https://example.org/plugin.js"))
    with pytest.raises(RequestError, match="plugin.js"):
        maps.map_to_html(m)


def test_area_profile_html_escapes():
    out = maps.area_profile_html(EVIL, {"Coverage": 71.25, EVIL: EVIL}, area_code="E01")
    assert EVIL not in out and out.count("&lt;script&gt;") == 3
    frame = pd.DataFrame({"label": ["Coverage"], "value": [71.25], "units": ["%"]})
    assert "71.2%" in maps.area_profile_html("A", frame) or "71.3%" in maps.area_profile_html(
        "A", frame
    )


def test_public_surface():
    assert set(maps.__all__) == {
        "SCHEMES",
        "PALETTES",
        "MISSING_COLOUR",
        "TILES",
        "COLD_SPOT_LABELS",
        "Classification",
        "classify_values",
        "class_colours",
        "choropleth",
        "draw_choropleth",
        "legend_box",
        "practice_points_layer",
        "area_profile_html",
        "map_to_html",
        "save_map",
        "use_vendored_assets",
    }
    for name in maps.__all__:
        assert hasattr(maps, name)


@pytest.mark.parametrize(
    ("label", "cold"),
    [
        ("low-low (cold spot)", True),  # hiexplore.spatial's LISA label
        ("cold spot", True),  # Gi*
        ("LL", True),
        ("Cold Spot 95%", True),
        ("high-high (hot spot)", False),
        ("low-high", False),
        ("not significant", False),
        (None, False),
    ],
)
def test_cold_spot_labels(label, cold):
    assert maps._is_cold(label, maps.COLD_SPOT_LABELS) is cold


def test_use_vendored_assets_leaves_no_cdn_link_for_streamlit_folium():
    """streamlit-folium loads each element's default_js/default_css: none may be a CDN."""
    import folium

    m = folium.Map()
    folium.GeoJson({"type": "FeatureCollection", "features": []}).add_to(m)
    maps.use_vendored_assets(m)

    def walk(el):
        yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    links = [u for el in walk(m) for _, u in getattr(el, "default_js", []) + getattr(el, "default_css", [])]
    assert links, "Leaflet itself must still be loaded"
    assert not [u for u in links if u.startswith(("http:", "https:", "//"))]
    assert any(u.startswith("data:text/javascript") for u in links)
    assert any(u.startswith("data:text/css") for u in links)


# --- a click on any map, resolved to an area by where it falls ------------------------------


def test_area_at_finds_the_area_under_each_point(embedded_dataset):
    from hiexplore.dataset import load_dataset
    from hiexplore.mapping import area_at

    ds = load_dataset(embedded_dataset)
    for geo in ("lsoa", "msoa", "lad"):
        polys = ds.areas[ds.areas["area_type"] == geo].sample(n=min(25, int((ds.areas["area_type"] == geo).sum())),
                                                            random_state=1)
        for code, geom in zip(polys["area_code"], polys.geometry, strict=True):
            pt = geom.representative_point()  # inside the polygon, even a concave one
            assert area_at(ds, geo, pt.y, pt.x) == code
    # an LSOA click and its LAD click agree with the lookup
    lsoa = ds.areas[ds.areas["area_type"] == "lsoa"].iloc[0]
    pt = lsoa.geometry.representative_point()
    lad = ds.lookup.set_index("lsoa_code").loc[lsoa["area_code"], "lad_code"]
    assert area_at(ds, "lad", pt.y, pt.x) == lad
    # outside every area, or not a point at all: nothing
    assert area_at(ds, "lsoa", 0.0, 0.0) is None
    assert area_at(ds, "lsoa", float("nan"), -1.1) is None
    assert area_at(ds, "lsoa", None, "x") is None
