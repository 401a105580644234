"""Folium choropleths for area indicators, with legends that stand on their own, and offline HTML.

Why this module looks the way it does:

* A map leaves the app as a file (an email attachment, a slide, a committee paper), so the legend
  states what is mapped, its units, the class ranges, what grey means, the source and the date,
  and whether the figures are synthetic or modelled. Nothing relies on the app around it.
* Public health teams often open files on locked-down machines: :func:`map_to_html` inlines the
  Leaflet assets vendored in ``hiexplore/static`` so a saved map draws with no network at all.
  Tiles are optional and the default is none; boundaries, legend and labels draw without them.
* Names come from files the user loads, so they are data, never code: every name that reaches HTML
  is escaped (:func:`hiexplore.safe_text.html_text`), and map elements render once into literals
  (:func:`literal_root`): branca would otherwise compile and run rendered output, names included,
  as a Jinja template (issue 11.1).
* Colours are colour-blind-safe sequential palettes (viridis, ColorBrewer YlGnBu), ordered so that
  the *worse* end of the indicator is darker whatever its polarity.
* Payload matters (33,000 LSOAs nationally): geometry is simplified as a coverage (shared edges
  stay shared), coordinates are rounded, features carry only a class index and a pre-escaped
  tooltip, and one JavaScript style function colours every feature from that index.

As in geopandas' ``explore.py``, folium is imported lazily and data are reprojected to EPSG:4326
only here, at the map boundary.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import RequestError
from .map_values import (
    COLD_SPOT_LABELS,
    MISSING_COLOUR,
    PALETTES,
    SCHEMES,
    Classification,
    MapValues,
    _fmt_number,
    _is_cold,  # noqa: F401 - kept where it was (tests, older callers)
    _is_missing,
    class_colours,
    classify_values,
    map_values,
)
from .safe_text import html_text

if TYPE_CHECKING:  # pragma: no cover - typing only; folium is imported lazily at run time
    import folium

__all__ = [
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
]

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

#: Tile choices. ``None`` draws boundaries on a plain background (works offline).
TILES: tuple[str | None, ...] = (None, "osm")

_FILL_OPACITY_PLAIN = 1.0  # nothing under the areas to see through
_FILL_OPACITY_TILES = 0.7  # let streets and place names show through
_AREA_LINE = "#555555"
_BACKGROUND = "#eef0f2"
_FLAG_LINE = "#000000"
_HALO = "#ffffff"
_PRACTICE_MAX_RADIUS = 11.0  # pixels, for the largest list size on the map
_PRACTICE_MIN_RADIUS = 2.5
_AUTO_LABEL_MAX_AREAS = 40  # name areas on the map itself only when there are few of them
_STATIC = "static"
_EARTH_CIRCUMFERENCE_M = 40_075_016.686  # at the equator (WGS84), for zoom arithmetic


# --------------------------------------------------------------------------------------------
# Small formatting helpers (all user-derived text goes through _esc)
# --------------------------------------------------------------------------------------------


def _esc(value: object) -> str:
    """HTML-escape anything that came from a user's file (names, codes, free text).

    :func:`hiexplore.safe_text.html_text`: also writes ``{ }`` and the backtick as character
    references, so no name can open a Jinja expression when branca re-reads a rendered element.
    """
    return html_text(value)


def _fmt_value(value: object, units: str = "", decimals: int = 1) -> str:
    """A value for a tooltip: '65.2%' or '12.0 per 1,000'; 'no data' when missing."""
    if _is_missing(value):
        return "no data"
    try:
        number = _fmt_number(float(value), decimals)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _esc(value)
    if not units:
        return number
    return f"{number}{_esc(units)}" if units.lstrip().startswith("%") else f"{number} {_esc(units)}"


def _fmt_field(value: object) -> str:
    if _is_missing(value):
        return "no data"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{int(value):,}" if float(value).is_integer() else f"{float(value):,.1f}"
    return _esc(value)


# --------------------------------------------------------------------------------------------
# Geometry: simplify as a coverage, reproject at the boundary, round, and serialise
# --------------------------------------------------------------------------------------------


def _prepare_geometry(
    areas: gpd.GeoDataFrame, simplify_tolerance: float | None, precision: int
) -> gpd.GeoSeries:
    """Simplified, EPSG:4326, rounded geometry, index-aligned with ``areas``.

    Simplification runs in metres (British National Grid) so ``simplify_tolerance`` means the
    same everywhere. ``shapely.coverage_simplify`` keeps shared edges shared (no slivers or gaps
    between neighbouring LSOAs); it needs a valid coverage, otherwise each polygon is simplified
    on its own with ``preserve_topology=True``.
    """
    geoms = areas.geometry
    if geoms.crs is None:
        geoms = geoms.set_crs("EPSG:4326")  # the canonical dataset's CRS
    if simplify_tolerance and simplify_tolerance > 0:
        metric = geoms.to_crs("EPSG:27700") if geoms.crs.is_geographic else geoms
        values = metric.values
        simplified = None
        if hasattr(shapely, "coverage_simplify") and hasattr(shapely, "coverage_is_valid"):
            try:
                if bool(shapely.coverage_is_valid(values)):
                    simplified = shapely.coverage_simplify(values, simplify_tolerance)
            except shapely.errors.GEOSException:  # pragma: no cover - defensive
                simplified = None
        if simplified is None:
            simplified = shapely.simplify(values, simplify_tolerance, preserve_topology=True)
        geoms = gpd.GeoSeries(simplified, index=geoms.index, crs=metric.crs)
    geoms = geoms.to_crs("EPSG:4326")
    rounded = shapely.transform(geoms.values, lambda xy: np.round(xy, precision))
    return gpd.GeoSeries(rounded, index=geoms.index, crs="EPSG:4326")


def _label_features(areas: gpd.GeoDataFrame, precision: int) -> dict[str, Any]:
    """Name points, each with the zoom ``z`` from which the name fits across its area.

    Without this, names of small city-centre areas pile on top of each other when zoomed out.
    Widths are measured in British National Grid metres; a name needs about 6.5 px a letter.
    """
    geoms = areas.geometry if areas.crs is not None else areas.geometry.set_crs("EPSG:4326")
    metric = geoms.to_crs("EPSG:27700")
    lonlat = metric.representative_point().to_crs("EPSG:4326")
    usable_m = ((metric.bounds["maxx"] - metric.bounds["minx"]) * 0.8).clip(lower=1.0)
    props = []
    for name, width, lat in zip(areas["area_name"], usable_m, lonlat.y, strict=True):
        text = "" if _is_missing(name) else str(name)
        needed_px = 6.5 * len(text) + 8
        metres_per_px_at_zoom0 = _EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) / 256
        zoom = math.log2(needed_px * metres_per_px_at_zoom0 / width)
        props.append({"n": _esc(text), "z": round(zoom, 2)})
    points = shapely.transform(lonlat.values, lambda xy: np.round(xy, precision))
    return _feature_collection(points, props)


def _feature_collection(geoms: Sequence[Any], props: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection carrying only the properties the map uses."""
    features = [
        {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
        for g, p in zip(geoms, props, strict=True)
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------------------------
# Folium pieces
# --------------------------------------------------------------------------------------------

_CSS = f"""
<style>
.hx-box {{background: #ffffff; color: #1a1a1a; padding: 8px 11px;
  border-radius: 5px; box-shadow: 0 1px 5px rgba(0,0,0,0.35); max-width: 320px;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;}}
.hx-title {{max-width: 560px;}}
.hx-title h2 {{font-size: 16px; line-height: 1.25; margin: 0; font-weight: 700;}}
.hx-title .hx-sub {{margin-top: 2px; color: #333;}}
.hx-legend {{max-height: 42vh; overflow-y: auto; max-width: 270px; font-size: 12px;}}
.hx-legend h3 {{font-size: 13px; margin: 0 0 2px 0; font-weight: 700; display: inline;}}
.hx-legend summary {{cursor: pointer; margin-bottom: 2px;}}
.hx-legend summary::after {{content: ' (click to hide)'; font-size: 11px; color: #555;}}
.hx-legend details:not([open]) summary::after {{content: ' (click to show the key)';}}
@media (max-width: 700px) {{ .hx-title {{max-width: 50vw;}} .hx-legend {{max-width: 45vw;}} }}
.hx-legend .hx-units, .hx-legend .hx-scheme {{color: #333; margin-bottom: 3px;}}
.hx-legend table {{border-collapse: collapse; margin: 3px 0 4px 0;}}
.hx-legend td {{padding: 1px 4px 1px 0; vertical-align: middle; white-space: nowrap;}}
.hx-legend td.hx-n {{color: #555; text-align: right; padding-left: 8px; font-size: 12px;}}
.hx-sw {{display: inline-block; width: 22px; height: 14px; border: 1px solid #555;
  vertical-align: middle; box-sizing: border-box;}}
.hx-sw-flag {{background: #fff; border: 3px solid {_FLAG_LINE};
  box-shadow: 0 0 0 2px {_HALO}, 0 0 0 3px #999;}}
.hx-sw-cold {{background: #fff; border: 2px dashed #000;}}
.hx-note {{margin: 5px 0 3px 0; padding: 3px 6px; border-left: 4px solid #b35806;
  background: #fff3e0; color: #4a2500; font-weight: 600;}}
.hx-source {{margin-top: 4px; color: #444; font-size: 11.5px;}}
.hx-tip {{font: 12.5px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;}}
.hx-label {{background: none; border: none; color: #111; font: 600 11px/1.1 system-ui, Arial,
  sans-serif; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; white-space: nowrap;
  text-align: center; pointer-events: none;}}
.hx-label div {{transform: translate(-50%, -50%); display: inline-block;}}
.folium-map.hx-plain, .folium-map.hx-plain.leaflet-container {{background: {_BACKGROUND};}}
</style>
"""


class _LiteralParts(NamedTuple):
    figure: type
    literal: type
    macro: type
    geojson: type
    feature_group: type
    layer_control: type


@functools.cache
def _literal_classes() -> _LiteralParts:
    """Folium/branca classes whose rendered output is never read again as a template.

    branca's ``MacroElement.render`` wraps what each element's macro produced (which holds the
    map's data: names, tooltips, legends) in ``Element(text)``, and ``Element`` compiles its text
    as a Jinja template that the page render then runs: a name ``{{ 7*7 }}`` became ``49`` and
    ``{{ lipsum.__globals__.os.popen(...) }}`` ran a command. Here:

    * ``macro`` renders each macro once into a :class:`_Literal` (never compiled); hiexplore's own
      elements and the folium layers that carry text (``geojson``, ``feature_group``,
      ``layer_control``) use it;
    * ``figure`` also swaps any other element's output for a literal before the page is rendered,
      so no element (folium's own included) has its output run as a template.

    Text is also escaped with :mod:`hiexplore.safe_text` at each sink (defence in depth).
    """
    import folium
    from branca.element import Element, Figure, MacroElement

    class _Literal(Element):
        """Already-rendered text, emitted verbatim (never compiled as a template)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self._name = "Literal"
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    class _LiteralMacro(MacroElement):
        """``MacroElement.render`` with the rendered parts kept as literals."""

        def render(self, **kwargs: Any) -> None:
            figure = self.get_root()
            if not isinstance(figure, Figure):
                raise TypeError("An element can only be rendered inside a Figure.")
            module = self._template.module.__dict__
            for part, section in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
                macro = module.get(part)
                if macro is not None:
                    section.add_child(_Literal(str(macro(self, kwargs))), name=self.get_name())
            for element in self._children.values():
                element.render(**kwargs)

    class _LiteralFigure(Figure):
        def render(self, **kwargs: Any) -> str:
            for child in self._children.values():
                child.render(**kwargs)
            for section in (self.header, self.html, self.script):
                for key, element in list(section._children.items()):
                    if type(element) is Element and element._template_str is not None:
                        literal = _Literal(element._template_str)
                        literal._parent = section
                        section._children[key] = literal
            return self._template.render(this=self, kwargs=kwargs)

    class GeoJson(folium.GeoJson, _LiteralMacro):
        pass

    class FeatureGroup(folium.FeatureGroup, _LiteralMacro):
        pass

    class LayerControl(folium.LayerControl, _LiteralMacro):
        pass

    return _LiteralParts(_LiteralFigure, _Literal, _LiteralMacro, GeoJson, FeatureGroup, LayerControl)


def literal_root(m: folium.Map) -> folium.Map:
    """Put ``m`` in a Figure whose render never runs element output as a template (see above)."""
    figure_cls = _literal_classes().figure
    if not isinstance(m.get_root(), figure_cls):
        figure_cls().add_child(m)
    return m


@functools.cache
def _macro_classes() -> tuple[type, type]:
    """Folium element classes, built on first use so importing hiexplore never imports folium."""
    from folium.template import Template

    MacroElement = _literal_classes().macro  # noqa: N806 - rendered output stays literal

    class _Css(MacroElement):
        """The map's stylesheet, in the page header (streamlit-folium keeps headers)."""

        _template = Template(
            "{% macro header(this, kwargs) %}" + _CSS + "{% endmacro %}"
            "{% macro script(this, kwargs) %}"
            "{% if this.plain %}L.DomUtil.addClass({{ this._parent.get_name() }}.getContainer(),"
            " 'hx-plain');{% endif %}"
            "{% endmacro %}"
        )

        def __init__(self, plain: bool) -> None:
            super().__init__()
            self._name = "HxCss"
            self.plain = plain

    class _HtmlControl(MacroElement):
        """A Leaflet control holding pre-escaped HTML (a legend or a title box).

        Built by the map's own script rather than as a page element, so it survives
        streamlit-folium's re-rendering and travels with the map.
        """

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "(function() {"
            " var ctl = L.control({position: {{ this.position|tojson }}});"
            " ctl.onAdd = function() {"
            "  var div = L.DomUtil.create('div', {{ this.css_class|tojson }});"
            "  div.innerHTML = {{ this.html|tojson }};"
            "  L.DomEvent.disableClickPropagation(div);"
            "  L.DomEvent.disableScrollPropagation(div);"
            "  return div; };"
            " ctl.addTo({{ this._parent.get_name() }});"
            "})();"
            "{% endmacro %}"
        )

        def __init__(self, html_text: str, position: str, css_class: str) -> None:
            super().__init__()
            self._name = "HxControl"
            self.html = html_text
            self.position = position
            self.css_class = css_class

    return _Css, _HtmlControl


def _style_js(palette_by_class: Sequence[str], fill_opacity: float) -> str:
    """One style function for every area: colour looked up from the feature's class index."""
    return (
        "function(f) { var c = f.properties.k;"
        f" var pal = {json.dumps(list(palette_by_class))};"
        f" return {{fillColor: (c >= 0 && c < pal.length) ? pal[c] : {json.dumps(MISSING_COLOUR)},"
        f" fillOpacity: {fill_opacity}, color: {json.dumps(_AREA_LINE)}, weight: 0.5,"
        " opacity: 0.7}; }"
    )


def _on_each_area_js(style_js: str, popups: bool) -> str:
    bind_popup = "layer.bindPopup(f.properties.t, {maxWidth: 320});" if popups else ""
    return (
        "function(f, layer) {"
        " var base = " + style_js + ";"
        " layer.bindTooltip(f.properties.t, {sticky: true, className: 'hx-tip'});"
        + bind_popup
        + " layer.on({"
        " mouseover: function(e) { e.target.setStyle({weight: 2.5, color: '#000000',"
        " opacity: 1}); },"
        " mouseout: function(e) { e.target.setStyle(base(e.target.feature)); } }); }"
    )


def _outline_style_js(color: str, weight: float, dash: str | None = None) -> str:
    dash_part = f", dashArray: {json.dumps(dash)}" if dash else ""
    return (
        "function() { return {fill: false, color: "
        + json.dumps(color)
        + f", weight: {weight}, opacity: 1{dash_part}"
        + "}; }"
    )


def practice_points_layer(
    practices: pd.DataFrame,
    *,
    name: str = "GP practices",
    max_radius: float = _PRACTICE_MAX_RADIUS,
    max_list_size: float | None = None,
    pane: str | None = None,
    show: bool = True,
) -> folium.GeoJson:
    """GP practices as circles whose *area* is proportional to list size.

    Needs ``practice_code, practice_name, latitude, longitude, list_size``; practices without a
    position are left out. ``max_list_size`` fixes the scale (so maps can be compared); by
    default the largest list on the map gets ``max_radius`` pixels. Circles, not pin icons, so
    no image assets are needed offline.
    """
    from folium.utilities import JsCode

    needed = ["practice_code", "practice_name", "latitude", "longitude", "list_size"]
    missing = [c for c in needed if c not in practices.columns]
    if missing:
        raise RequestError(
            f"practices is missing column(s) {missing}; found {list(practices.columns)}.",
            valid=needed,
        )
    pts = practices.dropna(subset=["latitude", "longitude"])
    sizes = pd.to_numeric(pts["list_size"], errors="coerce")
    top = (
        float(max_list_size)
        if max_list_size
        else float(np.nanmax(sizes))
        if sizes.notna().any()
        else 0.0
    )
    features = []
    for (_, row), size in zip(pts.iterrows(), sizes, strict=True):
        radius = _practice_radius(size, top, max_radius)
        tip = (
            f"<b>{_esc(row['practice_name'])}</b> ({_esc(row['practice_code'])})"
            f"<br>List size: {_fmt_field(size)}"
        )
        features.append(
            {
                "type": "Feature",
                "properties": {"r": round(radius, 1), "t": tip},
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        round(float(row["longitude"]), 5),
                        round(float(row["latitude"]), 5),
                    ],
                },
            }
        )
    pane_js = f", pane: {json.dumps(pane)}" if pane else ""
    point_js = (
        "function(f, latlng) { return L.circleMarker(latlng, {radius: f.properties.r,"
        " fillColor: '#ffffff', fillOpacity: 0.9, color: '#000000', weight: 1.3" + pane_js + "}); }"
    )
    on_each = "function(f, layer) { layer.bindTooltip(f.properties.t, {className: 'hx-tip'}); }"
    return _literal_classes().geojson(
        {"type": "FeatureCollection", "features": features},
        name=name,
        show=show,
        on_each_feature=JsCode(on_each),
        point_to_layer=JsCode(point_js),
    )


def _practice_radius(size: object, top: float, max_radius: float = _PRACTICE_MAX_RADIUS) -> float:
    """Radius in pixels so that circle area is proportional to list size."""
    if _is_missing(size) or top <= 0:
        return _PRACTICE_MIN_RADIUS
    return max(_PRACTICE_MIN_RADIUS, max_radius * math.sqrt(max(float(size), 0.0) / top))  # type: ignore[arg-type]


def area_profile_html(
    area_name: str,
    rows: Mapping[str, object] | pd.DataFrame,
    *,
    area_code: str | None = None,
    note: str | None = None,
) -> str:
    """A small escaped HTML table about one area, for a popup or a side panel.

    ``rows`` maps a label to a value, or is a DataFrame with ``label`` and ``value`` columns
    (an optional ``units`` column is appended to each value).
    """
    if isinstance(rows, pd.DataFrame):
        if not {"label", "value"} <= set(rows.columns):
            raise RequestError(
                f"rows needs 'label' and 'value' columns; found {list(rows.columns)}.",
                valid=["label", "value", "units"],
            )
        units = rows["units"] if "units" in rows.columns else pd.Series("", index=rows.index)
        items = [
            (r, _fmt_value(v, "" if _is_missing(u) else str(u)) if _is_number(v) else _fmt_field(v))
            for r, v, u in zip(rows["label"], rows["value"], units, strict=True)
        ]
    else:
        items = [(k, _fmt_field(v)) for k, v in rows.items()]
    head = f"<b>{_esc(area_name)}</b>"
    if area_code:
        head += f" <span style='color:#555'>({_esc(area_code)})</span>"
    body = "".join(
        f"<tr><td style='padding:1px 8px 1px 0;color:#333'>{_esc(label)}</td>"
        f"<td style='padding:1px 0;text-align:right'>{value}</td></tr>"
        for label, value in items
    )
    note_html = f"<div class='hx-note'>{_esc(note)}</div>" if note else ""
    return f"<div class='hx-profile'>{head}{note_html}<table>{body}</table></div>"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


# --------------------------------------------------------------------------------------------
# The choropleth
# --------------------------------------------------------------------------------------------


def _tooltip_html(
    name: object,
    code: object,
    value: object,
    lower: object,
    upper: object,
    units: str,
    decimals: int,
    extra: Sequence[tuple[str, object]],
    flagged: bool,
    cold: bool,
    flagged_label: str,
) -> str:
    parts = [f"<b>{_esc(name)}</b> <span style='color:#555'>({_esc(code)})</span>"]
    line = _fmt_value(value, units, decimals)
    if not _is_missing(value) and not _is_missing(lower) and not _is_missing(upper):
        line += (
            f" <span style='color:#444'>(95% CI {_fmt_number(float(lower), decimals)}"  # type: ignore[arg-type]
            f" to {_fmt_number(float(upper), decimals)})</span>"  # type: ignore[arg-type]
        )
    parts.append(line)
    for label, v in extra:
        parts.append(f"{_esc(label)}: {_fmt_field(v)}")
    if flagged:
        parts.append(f"<b>{_esc(flagged_label)}</b>")
    if cold:
        parts.append("Cold spot (cluster of low values)")
    return "<br>".join(parts)


def _legend_html(
    *,
    legend_title: str,
    units: str,
    scheme: str,
    classification: Classification,
    colours: Sequence[str],
    higher_is_better: bool,
    any_flagged: bool,
    flagged_label: str,
    any_cold: bool,
    practice_keys: Sequence[tuple[int, float]],
    note: str | None,
    source_line: str,
    made_on: dt.date,
    fill_opacity: float,
    extra_note: str = "",
) -> str:
    """The legend box: key, units, classes, counts, caveat and sources, foldable by a click.

    ``extra_note`` (HTML) goes in just before the sources, inside the foldable part.
    """
    labels, counts, n_missing = classification.labels, classification.counts, classification.n_missing
    rows = [
        f"<tr><td><span class='hx-sw' style='background:{c};opacity:{fill_opacity}'></span></td>"
        f"<td>{_esc(lab)}</td><td class='hx-n'>{n:,}</td></tr>"
        for c, lab, n in zip(colours, labels, counts, strict=True)
    ]
    rows.append(
        f"<tr><td><span class='hx-sw' style='background:{MISSING_COLOUR};opacity:{fill_opacity}'></span></td>"
        f"<td>No data</td><td class='hx-n'>{n_missing:,}</td></tr>"
    )
    extra = []
    if any_flagged:
        extra.append(
            f"<tr><td><span class='hx-sw hx-sw-flag'></span></td>"
            f"<td colspan='2'>{_esc(flagged_label)}</td></tr>"
        )
    if any_cold:
        extra.append(
            "<tr><td><span class='hx-sw hx-sw-cold'></span></td>"
            "<td colspan='2'>Cold spot: cluster of low values</td></tr>"
        )
    for size, radius in practice_keys:
        d = 2 * radius + 2
        extra.append(
            f"<tr><td style='text-align:center'><svg width='{d:.0f}' height='{d:.0f}'>"
            f"<circle cx='{d / 2:.1f}' cy='{d / 2:.1f}' r='{radius:.1f}' fill='#fff' "
            f"stroke='#000' stroke-width='1.3'/></svg></td>"
            f"<td colspan='2'>GP practice, {size:,} patients</td></tr>"
        )
    worse = "low" if higher_is_better else "high"
    polarity = "higher is better" if higher_is_better else "lower is better"
    parts = [
        f"<details open><summary><h3>{_esc(legend_title)}</h3></summary>",
        f"<div class='hx-units'>Units: {_esc(units) if units else 'none'}</div>",
        f"<div class='hx-scheme'>Classes: {_esc(SCHEMES[scheme])}. Darker = worse "
        f"({polarity}, so {worse} values are darker).</div>",
        "<table>" + "".join(rows) + "".join(extra) + "</table>",
    ]
    if labels:
        parts.insert(
            3, "<div class='hx-units' style='font-size:11.5px'>Number of areas on the right.</div>"
        )
    if note:
        parts.append(f"<div class='hx-note'>{_esc(note)}</div>")
    parts.append(extra_note)
    parts.append(
        f"<div class='hx-source'>{_esc(source_line)}<br>Map made {made_on:%d %B %Y}.</div></details>"
    )
    return "".join(parts)


def _title_html(title: str, note: str | None) -> str:
    """The title box: the map's title and the synthetic / modelled caveat under it."""
    return f"<h2>{_esc(title)}</h2>" + (f"<div class='hx-note'>{_esc(note)}</div>" if note else "")


def _practice_keys(practices: pd.DataFrame | None) -> list[tuple[int, float]]:
    """The legend's practice circles for the practices drawn (none without list sizes)."""
    if practices is None or not len(practices):
        return []
    sizes = pd.to_numeric(practices["list_size"], errors="coerce")
    return _practice_legend_keys(float(sizes.max())) if sizes.notna().any() else []


def _practice_legend_keys(top: float) -> list[tuple[int, float]]:
    """Two reference list sizes (a round number near the largest, and a quarter of it)."""
    if top <= 0:
        return []
    magnitude = 10 ** math.floor(math.log10(top))
    big = int(max(magnitude, math.floor(top / magnitude) * magnitude))
    small = max(1, big // 4)
    return [(big, _practice_radius(big, top)), (small, _practice_radius(small, top))]


def choropleth(
    areas: gpd.GeoDataFrame,
    values: pd.DataFrame,
    *,
    title: str,
    units: str,
    source_line: str,
    legend_title: str | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    thresholds: Any = None,
    palette: str = "viridis",
    higher_is_better: bool = True,
    practices: pd.DataFrame | None = None,
    tiles: str | None = None,
    simplify_tolerance: float | None = 15.0,
    precision: int = 5,
    synthetic_or_modelled_note: str | None = None,
    tooltip_fields: Mapping[str, str] | Sequence[str] = (),
    flagged_label: str = "Flagged for action",
    cold_spot_labels: Sequence[str] = COLD_SPOT_LABELS,
    popups: bool = False,
    area_labels: bool | None = None,
    decimals: int | None = None,
    made_on: dt.date | None = None,
    height: str | int = "100%",
) -> folium.Map:
    """A choropleth of one indicator over areas, with a legend that stands on its own.

    ``areas`` has ``area_code, area_name, geometry`` (any CRS; none means EPSG:4326);
    ``values`` has ``area_code, value`` and optionally ``lower_ci_95``/``upper_ci_95`` (or
    ``lower_ci``/``upper_ci``), ``flagged`` (drawn as a black outline with a white halo),
    ``cluster`` (cold spots drawn with a dashed outline) and the columns in ``tooltip_fields``
    (a list, or a mapping column -> label). Areas with no value are grey and counted in the
    legend. ``simplify_tolerance`` is in metres (``None`` or 0 keeps the geometry);
    ``precision`` is the number of decimals kept in the coordinates (5 is about 1 m).

    :func:`hiexplore.map_values.map_values` then :func:`draw_choropleth`. Returns a
    ``folium.Map``; use :func:`save_map` / :func:`map_to_html` for an offline file.
    """
    areas = _drawable(areas)
    mv = map_values(
        values, codes=areas["area_code"].astype(str), title=title, units=units,
        source_line=source_line, legend_title=legend_title, scheme=scheme, k=k,
        thresholds=thresholds, palette=palette, higher_is_better=higher_is_better,
        note=synthetic_or_modelled_note, tooltip_fields=tooltip_fields,
        flagged_label=flagged_label, cold_spot_labels=cold_spot_labels, decimals=decimals,
    )
    return draw_choropleth(areas, mv, practices=practices, tiles=tiles,
                           simplify_tolerance=simplify_tolerance, precision=precision, popups=popups,
                           area_labels=area_labels, made_on=made_on, height=height)


def _drawable(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The areas with a shape to draw (checked: a GeoDataFrame with codes and names)."""
    if not isinstance(areas, gpd.GeoDataFrame):
        raise RequestError(f"areas should be a GeoDataFrame, got {type(areas).__name__}.")
    missing = [c for c in ("area_code", "area_name") if c not in areas.columns]
    if missing:
        raise RequestError(
            f"areas is missing column(s) {missing}; found {list(areas.columns)}.",
            valid=["area_code", "area_name"],
        )
    return areas[areas.geometry.notna() & ~areas.geometry.is_empty]


def legend_box(mv: MapValues, *, practice_keys: Sequence[tuple[int, float]] = (),
               made_on: dt.date | None = None, fill_opacity: float = _FILL_OPACITY_PLAIN,
               extra_note: str = "", with_note: bool = True) -> str:
    """The legend box's (escaped) HTML for one layer's values."""
    return _legend_html(
        legend_title=mv.legend_title,
        units=mv.units,
        scheme=mv.scheme,
        classification=mv.classification,
        colours=mv.colours,
        higher_is_better=mv.higher_is_better,
        any_flagged=mv.any_flagged,
        flagged_label=mv.flagged_label,
        any_cold=mv.any_cold,
        practice_keys=practice_keys,
        note=mv.note if with_note else None,
        source_line=mv.source_line,
        made_on=made_on or dt.date.today(),
        fill_opacity=fill_opacity,
        extra_note=extra_note,
    )


def draw_choropleth(
    areas: gpd.GeoDataFrame,
    mv: MapValues,
    *,
    practices: pd.DataFrame | None = None,
    tiles: str | None = None,
    simplify_tolerance: float | None = 15.0,
    precision: int = 5,
    popups: bool = False,
    area_labels: bool | None = None,
    made_on: dt.date | None = None,
    height: str | int = "100%",
) -> folium.Map:
    """Draw one layer's :class:`~hiexplore.map_values.MapValues` over ``areas`` (SVG, folium).

    Draws what it is given: classes, colours and legend words come with ``mv``; areas
    without a row in ``mv.frame`` are grey.
    """
    import folium
    from folium.utilities import JsCode

    if tiles not in TILES:
        raise RequestError(f"Unknown tiles {tiles!r}.", valid=[str(t) for t in TILES])
    areas = _drawable(areas)
    joined = mv.aligned(areas["area_code"].astype(str))
    flagged = joined["flagged"].to_numpy(dtype=bool)
    cold = joined["cold"].to_numpy(dtype=bool)
    d = mv.decimals
    geoms = _prepare_geometry(areas, simplify_tolerance, precision)
    props = []
    for i, (code, name) in enumerate(zip(joined["area_code"], areas["area_name"], strict=True)):
        extra = [(label, joined[col].iat[i]) for col, label in mv.tooltip_fields]
        props.append(
            {
                "k": int(joined["k"].iat[i]),
                "c": _esc(code),  # area code: what a click reports back to the app
                "t": _tooltip_html(name, code, joined["value"].iat[i], joined["lower"].iat[i],
                                   joined["upper"].iat[i], mv.units, d, extra, bool(flagged[i]),
                                   bool(cold[i]), mv.flagged_label),
            }
        )

    m = folium.Map(
        location=None,
        tiles="OpenStreetMap" if tiles == "osm" else None,
        control_scale=True,
        zoom_control="bottomleft",  # the title box takes the top-left corner
        zoom_snap=0.25,
        height=height,
    )
    literal_root(m)
    safe = _literal_classes()  # layers whose rendered text is never run as a template
    m.get_root().title = _esc(mv.title)
    css_cls, control_cls = _macro_classes()
    m.add_child(css_cls(plain=tiles is None))
    folium.map.CustomPane("hx-outlines", z_index=450, pointer_events=False).add_to(m)
    folium.map.CustomPane("hx-points", z_index=460, pointer_events=True).add_to(m)

    fill_opacity = _FILL_OPACITY_PLAIN if tiles is None else _FILL_OPACITY_TILES
    style_js = _style_js(mv.colours, fill_opacity)
    safe.geojson(
        _feature_collection(geoms.values, props),
        name=_esc(mv.legend_title),
        control=False,
        style=JsCode(style_js),
        on_each_feature=JsCode(_on_each_area_js(style_js, popups)),
    ).add_to(m)

    overlays = 0
    if cold.any():
        group = safe.feature_group(name="Cold spots", show=True).add_to(m)
        outline = _feature_collection(geoms.values[cold], [{} for _ in range(int(cold.sum()))])
        for colour, weight, dash in ((_HALO, 3.5, None), ("#000000", 2.0, "5 4")):
            safe.geojson(
                outline,
                style=JsCode(_outline_style_js(colour, weight, dash)),
                interactive=False,
                pane="hx-outlines",
                control=False,
            ).add_to(group)
        overlays += 1
    if flagged.any():
        group = safe.feature_group(name=_esc(mv.flagged_label), show=True).add_to(m)
        outline = _feature_collection(
            geoms.values[flagged], [{} for _ in range(int(flagged.sum()))]
        )
        for colour, weight in ((_HALO, 6.0), (_FLAG_LINE, 2.8)):
            safe.geojson(
                outline,
                style=JsCode(_outline_style_js(colour, weight)),
                interactive=False,
                pane="hx-outlines",
                control=False,
            ).add_to(group)
        overlays += 1

    n_areas = len(areas)
    if area_labels or (area_labels is None and n_areas <= _AUTO_LABEL_MAX_AREAS):
        label_fc = _label_features(areas, precision)
        label_js = (
            "function(f, latlng) { var mk = L.marker(latlng, {interactive: false,"
            " keyboard: false, icon: L.divIcon({className: 'hx-label', iconSize: null,"
            " html: '<div>' + f.properties.n + '</div>'})});"
            # show a name only from the zoom at which it fits inside its area
            " var upd = function() { var el = mk.getElement();"
            "  if (el && mk._map) { el.style.display ="
            "   mk._map.getZoom() >= f.properties.z ? '' : 'none'; } };"
            " mk.on('add', function() { mk._map.on('zoomend', upd); upd(); });"
            " mk.on('remove', function() { if (mk._map) { mk._map.off('zoomend', upd); } });"
            " return mk; }"
        )
        safe.geojson(label_fc, name="Area names", point_to_layer=JsCode(label_js)).add_to(m)
        overlays += 1

    if practices is not None and len(practices):
        practice_points_layer(practices, pane="hx-points").add_to(m)
        overlays += 1

    m.add_child(control_cls(_title_html(mv.title, mv.note), "topleft", "hx-box hx-title"))
    if overlays:  # a control listing only one base layer would be clutter
        safe.layer_control(collapsed=False, position="topright").add_to(m)
    legend = legend_box(mv, practice_keys=_practice_keys(practices), made_on=made_on,
                        fill_opacity=fill_opacity)
    m.add_child(control_cls(legend, "bottomright", "hx-box hx-legend"))

    minx, miny, maxx, maxy = geoms.total_bounds
    if all(map(math.isfinite, (minx, miny, maxx, maxy))):
        m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]], padding=(8, 8))
    return m


# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# Offline HTML
# --------------------------------------------------------------------------------------------

_SCRIPT_SRC = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["'][^>]*>\s*</script>""", re.I)
_LINK_HREF = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']([^"']+)["'][^>]*/?>""", re.I)
_EXTERNAL = re.compile(r"^(https?:)?//", re.I)
#: Libraries folium links by default that hiexplore's maps do not use: their links are dropped.
_DROPPABLE = (
    "bootstrap",
    "glyphicons",
    "fontawesome",
    "font-awesome",
    "awesome-markers",
    "awesome_markers",
    "leaflet.awesome.rotate",
)
_VENDORED = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
}


def _static_text(relative: str) -> str:
    return resources.files("hiexplore").joinpath(_STATIC, relative).read_text("utf-8")


def _leaflet_css_inlined() -> str:
    """Leaflet's CSS with its layer-control icons as data URIs (the only images we use)."""
    css = _static_text(_VENDORED["leaflet.css"])
    folder = resources.files("hiexplore").joinpath(_STATIC, "leaflet", "images")

    def to_data_uri(match: re.Match[str]) -> str:
        name = match.group(1)
        target = folder.joinpath(name)
        if not target.is_file():
            return match.group(0)  # e.g. marker icons: not vendored, not used by hiexplore maps
        encoded = base64.b64encode(target.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{encoded})"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", to_data_uri, css)


def _uses_jquery(page: str) -> bool:
    return bool(re.search(r"(?<![\w.])(\$|jQuery)\s*[.(]", page))


def map_to_html(m: folium.Map | Any) -> str:
    """The map as one standalone HTML page with every script and stylesheet inlined.

    Leaflet (and jQuery, only if the page's own scripts call it) come from
    ``hiexplore/static``; links to libraries the map does not use (Bootstrap, Font Awesome,
    awesome-markers) are dropped. A link to anything else would break offline, so it is an error
    rather than a silently broken file. Tile URLs stay: tiles are optional and fail quietly.
    """
    page = m.get_root().render()
    needs_jquery = _uses_jquery(_SCRIPT_SRC.sub("", page))
    if "AwesomeMarkers" in page:
        raise RequestError(
            "This map uses awesome-marker icons, which are not vendored for offline use; "
            "use CircleMarker (see practice_points_layer) instead."
        )
    problems: list[str] = []
    inlined: set[str] = set()

    def replace_script(match: re.Match[str]) -> str:
        url = match.group(1)
        if not _EXTERNAL.match(url):
            return match.group(0)
        low = url.lower()
        base = low.rsplit("/", 1)[-1]
        key = (
            "leaflet.js"
            if base in {"leaflet.js", "leaflet-src.js"}
            else ("jquery" if "jquery" in base and "awesome" not in low else None)
        )
        if key == "jquery" and not needs_jquery:
            return ""
        if key is not None:
            if key in inlined:
                return ""
            inlined.add(key)
            return f"<script>/* {key} vendored in hiexplore/static */\n{_static_text(_VENDORED[key])}</script>"
        if any(tag in low for tag in _DROPPABLE):
            return ""
        problems.append(url)
        return match.group(0)

    def replace_link(match: re.Match[str]) -> str:
        url = match.group(1)
        tag = match.group(0).lower()
        if not _EXTERNAL.match(url) or "stylesheet" not in tag:
            return match.group(0)
        low = url.lower()
        if low.rsplit("/", 1)[-1] == "leaflet.css":
            if "leaflet.css" in inlined:
                return ""
            inlined.add("leaflet.css")
            return f"<style>/* leaflet.css vendored in hiexplore/static */\n{_leaflet_css_inlined()}</style>"
        if any(t in low for t in _DROPPABLE):
            return ""
        problems.append(url)
        return match.group(0)

    page = _SCRIPT_SRC.sub(replace_script, page)
    page = _LINK_HREF.sub(replace_link, page)
    if problems:
        raise RequestError(
            f"Cannot make an offline map: no vendored copy of {problems}.",
            valid=sorted(_VENDORED),
        )
    return page


def save_map(m: folium.Map | Any, path: str | Path) -> Path:
    """Write :func:`map_to_html` to ``path`` (UTF-8); returns the path written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(map_to_html(m), encoding="utf-8")
    return target


def _data_uri(mime: str, text: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def use_vendored_assets(m: folium.Map | Any) -> folium.Map | Any:
    """Point every element's script/stylesheet links at the vendored copies, as data URIs.

    streamlit-folium loads the ``default_js``/``default_css`` links of a map's elements into
    its iframe; by default they are CDN addresses, so the app's map would be blank offline.
    After this call Leaflet and jQuery come from ``hiexplore/static`` (inlined as ``data:``
    URIs) and links to libraries hiexplore maps do not use are dropped. Returns ``m``.
    """
    leaflet_js = _data_uri("text/javascript", _static_text(_VENDORED["leaflet.js"]))
    leaflet_css = _data_uri("text/css", _leaflet_css_inlined())
    jquery_js = _data_uri("text/javascript", _static_text(_VENDORED["jquery"]))

    def walk(el: Any) -> Any:
        yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(m):
        if hasattr(el, "default_js"):
            js = []
            for name, url in el.default_js:
                base = str(url).lower().rsplit("/", 1)[-1]
                if base in {"leaflet.js", "leaflet-src.js"}:
                    js.append((name, leaflet_js))
                elif "jquery" in base and "awesome" not in str(url).lower():
                    js.append((name, jquery_js))
                elif not _EXTERNAL.match(str(url)):
                    js.append((name, url))
            el.default_js = js
        if hasattr(el, "default_css"):
            css = []
            for name, url in el.default_css:
                base = str(url).lower().rsplit("/", 1)[-1]
                if base == "leaflet.css":
                    css.append((name, leaflet_css))
                elif not _EXTERNAL.match(str(url)):
                    css.append((name, url))
            el.default_css = css
    return m
