"""Issue 11.1: text from input files never becomes code, at every sink.

The dataset is ``payload_dataset`` (conftest): Rutland in the publishers' own layouts with every
name (LSOA, ward, LAD, ICB, sub-ICB, region, PCN, practice), the Fingertips value note, the dataset
name and one file name carrying the seven payloads of :data:`hiexplore.safe_text.PAYLOADS`.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from payloads import EVALUATED, MARKERS, PAYLOAD_FILE, TAG
from typer.testing import CliRunner

from hiexplore.cli import app
from hiexplore.dataset import load_dataset
from hiexplore.safe_text import PAYLOADS, html_text, markdown_text, script_json

runner = CliRunner()
INDICATOR = "smoking_prevalence_qof"  # the slice with value notes and an England benchmark


def _unescaped_markup(page: str) -> list[str]:
    """Payload markup that reached the page as markup (it must only arrive escaped)."""
    bad = ["<img src=x", "</script><script>alert(1)", "onerror=alert(1)>T"]
    return [b for b in bad if b in page]


def _shown(page: str) -> str:
    """What a person reads in the page's tooltips and boxes: JSON/JS and HTML escapes undone."""
    text = page.encode("utf-8").decode("unicode_escape", errors="ignore") if "\\u" in page else page
    for _ in range(2):
        text = html.unescape(text)
    return text


# --------------------------------------------------------------------------------------------
# the helpers


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_text_shows_the_literal_and_leaves_no_markup_or_template(payload: str) -> None:
    out = html_text(f"T{payload}T")
    assert html.unescape(out) == f"T{payload}T"
    assert not re.search(r"[<>{}`\"']", out)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_json_round_trips_and_cannot_close_a_script_or_open_a_template(payload: str) -> None:
    value = {"n": [f"T{payload}T", None, 1.5], "d": json.dumps({"x": payload})}
    out = script_json(value)
    assert json.loads(out) == value
    assert not re.search(r"[<>&'`]|\{\{|\{%|\{#|\$\{|%\{", out)
    assert "\u2028" not in script_json("a\u2028b") and json.loads(script_json("a\u2028b")) == "a\u2028b"


def test_script_json_turns_nan_into_null() -> None:
    assert script_json({"v": [float("nan"), 2.0]}) == '{"v":[null,2.0]}'


def test_markdown_text_escapes_links_html_maths_and_shortcodes() -> None:
    out = markdown_text("[x](javascript:alert(1)) <img> $7*7$ :red[x] **b**\nnew")
    assert "\n" not in out
    assert not re.search(r"(?<!\\)[\[\]()<>$*:]", out)  # every markdown character is escaped
    assert re.sub(r"\\(.)", r"\1", out) == "[x](javascript:alert(1)) <img> $7*7$ :red[x] **b** new"


def test_literal_figure_emits_rendered_output_once_even_for_raw_text() -> None:
    """The root fix: branca no longer runs an element's rendered output as a template.

    (branca still *compiles* that output when the element renders, so unbalanced braces would
    stop the map: names are also escaped at every sink, which the other tests check.)
    """
    import folium

    from hiexplore.maps import literal_root, map_to_html

    m = literal_root(folium.Map(location=[52.6, -0.7], tiles=None))
    raw = "T{{ 7*7 }}T T{% if 1 %}x{% endif %}T T{{ cycler.__init__.__globals__ }}T"  # unescaped on purpose
    folium.GeoJson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"t": raw},
         "geometry": {"type": "Point", "coordinates": [-0.7, 52.6]}}]}, name=raw).add_to(m)
    page = map_to_html(m)
    assert raw in page
    assert "T49T" not in page and "TxT" not in page


def test_hiexplore_layers_never_compile_rendered_text_as_a_template() -> None:
    """hiexplore's own elements and the folium layers it uses keep rendered output literal, so
    even raw, unbalanced template syntax neither runs nor stops the map."""
    import folium

    from hiexplore.maps import _literal_classes, _macro_classes, literal_root, map_to_html

    safe = _literal_classes()
    m = literal_root(folium.Map(location=[52.6, -0.7], tiles=None))
    raw = "T{{ 7*7 }}T T{% if 1 %}x{% endif %}T T{{ 7*7 T{% endif %}"
    group = safe.feature_group(name=raw).add_to(m)
    safe.geojson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"t": raw},
         "geometry": {"type": "Point", "coordinates": [-0.7, 52.6]}}]}, name=raw).add_to(group)
    safe.layer_control().add_to(m)
    m.add_child(_macro_classes()[1](raw, "topleft", "hx-box"))
    page = map_to_html(m)
    assert page.count(raw) >= 3  # the data, the layer names and the control's HTML
    assert "T49T" not in page and "TxT" not in page


def test_the_payload_dataset_carries_the_payloads_in_every_kind_of_name(payload_dataset: Path) -> None:
    ds = load_dataset(payload_dataset)
    for kind in ("lsoa", "msoa", "ward", "lad", "icb", "pcn"):
        names = ds.areas.loc[ds.areas["area_type"] == kind, "area_name"]
        assert len(names) and names.str.startswith(TAG).all(), kind
    for col in ("lsoa_name", "msoa_name", "ward_name", "lad_name", "icb_name", "sub_icb_name", "region_name"):
        assert ds.lookup[col].str.startswith(TAG).all(), col
    assert ds.practices["practice_name"].str.startswith(TAG).all()
    assert ds.practices["pcn_name"].str.startswith(TAG).all()
    notes = ds.indicators["value_note"].dropna()
    assert len(notes) and notes.str.startswith(TAG).all()
    assert any(s["file"] == PAYLOAD_FILE for s in ds.manifest["sources"])
    assert ds.name.startswith("Rutland T{{ 7*7 }}T")


# --------------------------------------------------------------------------------------------
# maps: `hiexplore map`, the classic and the zoom map, tooltips, popups, legends, titles


def _check_map_page(page: str, names: list[str]) -> None:
    assert not [e for e in EVALUATED if e in page], "a name was run as a template"
    assert not _unescaped_markup(page)
    shown = _shown(page)
    for name in names:
        assert name in shown, name[:40]
    for marker in MARKERS:
        assert marker in shown


@pytest.mark.parametrize(("layer", "geography"), [("deprivation", "lsoa"), ("uptake", "lsoa"), ("uptake", "msoa"),
                                                  ("uptake", "ward"), ("flags", "pcn")])
def test_hiexplore_map_shows_names_literally(payload_dataset: Path, tmp_path: Path, layer: str,
                                             geography: str) -> None:
    out = tmp_path / "map.html"
    res = runner.invoke(app, ["map", "--dataset", str(payload_dataset), "--indicator", INDICATOR,
                              "--geography", geography, "--layer", layer, "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text("utf-8")
    ds = load_dataset(payload_dataset)
    names = ds.areas.loc[ds.areas["area_type"] == geography, "area_name"].tolist()
    _check_map_page(page, names[:3] + ds.practices["practice_name"].tolist()[:1])


def test_zoom_map_data_and_boxes_show_names_literally(payload_dataset: Path) -> None:
    from hiexplore.mapping import indicator_map
    from hiexplore.maps import map_to_html

    ds = load_dataset(payload_dataset)
    m = indicator_map(ds, INDICATOR, "lsoa", zoom_levels=True)
    page = map_to_html(m)
    assert "HxZoomLevels" in page or "hxMapLevel" in page  # it is the canvas zoom map
    names = ds.areas.loc[ds.areas["area_type"] == "lsoa", "area_name"].tolist()
    _check_map_page(page, names[:3] + ds.practices["practice_name"].tolist()[:1])
    # the script data has no raw brace or angle bracket from a name: all are \u escapes
    assert "T{{" not in page and "<img" not in page


def test_title_legend_notes_and_layer_names_show_payloads_literally(payload_dataset: Path) -> None:
    """Every text argument of a map (title, units, legend, caveat, source, flag label, tooltip
    labels) is shown as text, on the classic and on the zoom map."""
    from hiexplore.maps import choropleth, map_to_html
    from hiexplore.maps_national import ZoomLevel, zoom_choropleth

    ds = load_dataset(payload_dataset)
    areas = ds.areas[ds.areas["area_type"] == "lsoa"][["area_code", "area_name", "geometry"]]
    values = pd.DataFrame({"area_code": areas["area_code"], "value": range(len(areas)),
                           "flagged": [True] * len(areas), "note": [f"{TAG} note"] * len(areas)})
    text = {"title": f"{TAG} title", "units": f"{TAG} units", "source_line": f"{TAG} source",
            "legend_title": f"{TAG} legend", "synthetic_or_modelled_note": f"{TAG} caveat",
            "flagged_label": f"{TAG} flag", "tooltip_fields": {"note": f"{TAG} label"}}
    classic = map_to_html(choropleth(areas, values, popups=True, practices=ds.practices, **text))
    level = ZoomLevel("lsoa", 0, None, 15.0, 5)
    zoom = map_to_html(zoom_choropleth([(level, areas, values)], practices=ds.practices, **text))
    for page in (classic, zoom):
        _check_map_page(page, [str(v) for v in text.values() if isinstance(v, str)] + [f"{TAG} label"])
        assert "<title>T&#123;&#123; 7*7 &#125;&#125;T" in page


def test_popups_profile_and_practice_layer_escape_names(payload_dataset: Path) -> None:
    from hiexplore.maps import area_profile_html, practice_points_layer

    ds = load_dataset(payload_dataset)
    name = ds.areas["area_name"].iloc[0]
    note = ds.indicators["value_note"].dropna().iloc[0]
    prof = area_profile_html(name, {"Value note": note, f"row {PAYLOADS[4]}": "1"}, area_code="E01", note=note)
    assert not _unescaped_markup(prof) and "{{" not in prof
    assert html.unescape(prof).count(TAG) == 3  # the name, the note line and the note cell
    layer = practice_points_layer(ds.practices)
    tips = [f["properties"]["t"] for f in layer.data["features"]]
    assert all("<img" not in t and "{{" not in t for t in tips)
    assert all(TAG in html.unescape(t) for t in tips)


def test_targets_page_map_frames_show_names_literally(payload_dataset: Path) -> None:
    """The Targets page's maps go to the browser through ``app_support.foliumview.folium_frame``
    (rendered once, its script rewritten as streamlit-folium does): the area names, practice names
    and source titles in them arrive escaped, never run as a template or read as markup."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from app_support.foliumview import folium_frame
    from hiexplore.charts import targets_map
    from hiexplore.derived import stored_targets
    from hiexplore.patches import patches_map
    from hiexplore.targets_view import targets_map_text

    ds = load_dataset(payload_dataset)
    targets = stored_targets(ds, [INDICATOR], "lsoa")
    sel = targets.head(20)  # the map draws the rows it is given (this slice flags none)
    assert len(sel)
    text = targets_map_text(ds, targets, [INDICATOR], "lsoa", len(sel), "LSOA")
    frame = folium_frame(targets_map(ds, sel, "lsoa", title=text.title, source=text.source, note=text.note), key="t")
    names = [str(n) for n in ds.areas.set_index("area_code").loc[sel["area_code"], "area_name"]]
    _check_map_page(frame["script"] + frame["header"] + frame["html"], names[:3] + [text.source])
    # the patches map: each patch's tooltip names its practices (names from the practice file)
    practice = str(ds.practices["practice_name"].iloc[0])
    areas = ds.areas.iloc[:2]
    patches = gpd.GeoDataFrame(
        {"patch_id": ["P001", "P002"], "singleton": [False, False], "people_to_reach": [12.0, 30.0],
         "n_areas": [1, 1], "span_km": [0.0, 0.0], "most_deprived_decile": [3, 5],
         "practices": [f"{practice} (60%)"] * 2, "geography": ["lsoa"] * 2},
        geometry=areas.geometry.to_numpy(), crs=areas.crs)
    frame = folium_frame(patches_map(ds, patches), key="p")
    _check_map_page(frame["script"] + frame["header"] + frame["html"], [practice])


# --------------------------------------------------------------------------------------------
# exports keep the literal text (formula neutralising unchanged)


@pytest.mark.parametrize("ext", ["csv", "xlsx", "geojson", "gpkg"])
@pytest.mark.parametrize("verb", ["flags", "targets"])
def test_exports_keep_names_literally(payload_dataset: Path, tmp_path: Path, verb: str, ext: str) -> None:
    out = tmp_path / f"{verb}.{ext}"
    res = runner.invoke(app, [verb, "--dataset", str(payload_dataset), "--indicator", INDICATOR,
                              "--geography", "lsoa", "--out", str(out)])
    assert res.exit_code == 0, res.output
    if ext == "csv":
        frame = pd.read_csv(out, comment=None)
    elif ext == "xlsx":
        frame = pd.read_excel(out, sheet_name=0)
        meta = pd.read_excel(out, sheet_name="metadata")
        assert meta.astype(str).apply(lambda c: c.str.contains(PAYLOAD_FILE, regex=False)).any().any()
    else:
        frame = gpd.read_file(out, layer=verb) if ext == "gpkg" else gpd.read_file(out)
    names = frame["area_name"].astype(str)
    assert len(names) and names.str.startswith(TAG).all()
    assert not names.str.contains("T49T").any()


def test_export_formula_neutralising_still_applies_to_payload_names() -> None:
    from hiexplore.exports import neutralise_formulas

    frame = pd.DataFrame({"area_name": ["=T{{ 7*7 }}T", "T{{ 7*7 }}T"]})
    assert neutralise_formulas(frame)["area_name"].tolist() == ["'=T{{ 7*7 }}T", "T{{ 7*7 }}T"]


def test_safe_text_public_surface() -> None:
    import hiexplore.safe_text as st_

    assert set(st_.__all__) == {"html_text", "script_json", "markdown_text", "plain_text", "PAYLOADS"}
    assert len(PAYLOADS) == 7 and all(hasattr(st_, n) for n in st_.__all__)


def test_safe_text_doctests_run() -> None:
    import doctest

    import hiexplore.safe_text as module

    result = doctest.testmod(module)
    assert result.attempted >= 3 and result.failed == 0
