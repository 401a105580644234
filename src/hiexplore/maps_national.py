"""Maps that stay fast at national size: geography switched by zoom, drawn on a canvas.

All of England is 33,755 LSOAs. As one folium GeoJSON layer (SVG, one DOM path per area, a
pre-built tooltip per area) the national LSOA map weighed 23.5 MB and took 10 s to first paint
in headless Chromium. This module draws the same choropleth the way the UKHSA dashboard does:

* **a geography per zoom range** (:class:`ZoomLevel`): local authorities when zoomed out, MSOAs
  from zoom 9, LSOAs from zoom 11, each coloured by its *own* figures (not averaged pixels), on
  one set of class breaks (those of the finest level) so colours mean the same at every zoom;
* **geometry simplified per level** as a coverage (``shapely.coverage_simplify``: shared edges
  stay shared, no slivers), in metres, then **quantised** to 10^-precision degrees and
  **delta-encoded** as integers: a few bytes per vertex instead of ~18 in GeoJSON;
* **canvas rendering** (``L.canvas``): one bitmap instead of tens of thousands of SVG paths;
* **lazy, tiled data**: each level's features are grouped into grid cells whose data stay as
  JSON text until the cell is first in view at that level's zoom, so the first paint parses and
  draws only the ~300 local authorities; tooltips are built on hover from compact arrays.

The page stays a single offline file: :func:`hiexplore.maps.map_to_html` inlines Leaflet as for
every other map, and nothing is fetched. :func:`hiexplore.mapping.indicator_map` switches to
:func:`hiexplore.mapping.national_indicator_map` by itself when a geography has more than
:data:`ZOOM_MAP_THRESHOLD` areas.

This module only draws: :func:`draw_zoom_map` takes each level's areas and
:class:`hiexplore.map_values.MapValues`; the figures come from :mod:`hiexplore.mapping` (which
imports this module, never the reverse). The app's map component draws the same levels from
:mod:`hiexplore.map_payload`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import RequestError
from .map_values import MISSING_COLOUR, SCHEMES, MapValues, map_values
from .maps import (
    TILES,
    _esc,
    _macro_classes,
    _practice_keys,
    _title_html,
    legend_box,
    literal_root,
)
from .safe_text import script_json

if TYPE_CHECKING:  # pragma: no cover
    import folium

__all__ = [
    "ZOOM_MAP_THRESHOLD",
    "ZoomLevel",
    "LEVELS",
    "levels_for",
    "encode_polygons",
    "decode_polygons",
    "zoom_choropleth",
    "draw_zoom_map",
]

#: geographies with more areas than this are mapped by :func:`hiexplore.mapping.national_indicator_map`
ZOOM_MAP_THRESHOLD = 5_000
#: size of the grid cells (degrees of longitude, latitude) that a level's features are loaded by
CELL_DEGREES = (0.6, 0.4)
#: the finest level's features are added only within this many screen-widths of the view
VIEW_PAD = 0.3
#: GP practices are drawn from this zoom on (thousands of circles say nothing nationally)
PRACTICE_ZOOM = 10
_TOOLTIP_DECIMALS = 1


@dataclass(frozen=True)
class ZoomLevel:
    """One geography of a zoom-switching map and how its geometry is prepared.

    ``min_zoom`` <= zoom < ``max_zoom`` (``None``: no upper limit). ``tolerance_m`` is the
    coverage-simplification tolerance in metres (British National Grid); ``precision`` the
    decimals of a degree kept (4 is ~10 m, 3 is ~100 m).
    """

    geography: str
    min_zoom: float
    max_zoom: float | None
    tolerance_m: float
    precision: int

    def shows(self, zoom: float) -> bool:
        return zoom >= self.min_zoom and (self.max_zoom is None or zoom < self.max_zoom)


_LAD = ZoomLevel("lad", 0, 9, 300.0, 3)
#: the zoom ranges per mapped geography: the coarse levels shown before the requested one
LEVELS: dict[str, tuple[ZoomLevel, ...]] = {
    "lsoa": (_LAD, ZoomLevel("msoa", 9, 11, 60.0, 4), ZoomLevel("lsoa", 11, None, 12.0, 5)),
    "msoa": (_LAD, ZoomLevel("msoa", 9, None, 30.0, 4)),
    "ward": (_LAD, ZoomLevel("ward", 9, None, 30.0, 4)),
    "lad": (ZoomLevel("lad", 0, None, 60.0, 4),),
    "pcn": (ZoomLevel("pcn", 0, None, 30.0, 4),),
}
_NAMES = {"lad": "local authorities", "msoa": "MSOAs", "lsoa": "LSOAs", "ward": "wards",
          "pcn": "PCNs"}


def levels_for(geography: str) -> tuple[ZoomLevel, ...]:
    """The zoom levels used to map ``geography`` (its own level last)."""
    try:
        return LEVELS[geography]
    except KeyError:
        raise RequestError(f"No zoom levels for geography {geography!r}.", valid=list(LEVELS)) from None


# --------------------------------------------------------------------------------------------
# Geometry: simplify as a coverage, quantise, delta-encode
# --------------------------------------------------------------------------------------------


def encode_polygons(geoms: Sequence[Any], precision: int) -> list[list[list[int]]]:
    """Polygons as delta-encoded integer rings: ``[[ring, ...] per polygon part, ...]`` per area.

    Each ring is ``[x0, y0, dx1, dy1, ...]`` in units of 10^-precision degrees (lon, lat), the
    closing vertex left out, repeated vertices (after rounding) dropped; rings that collapse to
    fewer than three vertices are dropped. Inverse of :func:`decode_polygons`.

    >>> from shapely.geometry import Polygon
    >>> encode_polygons([Polygon([(-1.0, 52.0), (-0.99, 52.0), (-0.99, 52.01)])], 3)
    [[[-1000, 52000, 10, 0, 0, 10]]]
    """
    scale = 10.0**precision
    out: list[list[list[int]]] = []
    for g in geoms:
        parts: list[list[int]] = []
        if g is not None and not g.is_empty:
            polys = g.geoms if hasattr(g, "geoms") else [g]
            for poly in polys:
                if poly.is_empty:
                    continue
                for ring in (poly.exterior, *poly.interiors):
                    q = np.rint(np.asarray(ring.coords)[:, :2] * scale).astype(np.int64)
                    if len(q) > 1 and (q[0] == q[-1]).all():
                        q = q[:-1]
                    if len(q) > 1:
                        keep = np.r_[True, (np.diff(q, axis=0) != 0).any(axis=1)]
                        q = q[keep]
                    if len(q) < 3:
                        continue
                    d = np.vstack([q[:1], np.diff(q, axis=0)])
                    parts.append(d.ravel().tolist())
        # rings of one area: the first of each polygon part is its outer ring (even-odd fill)
        out.append(parts)
    return out


def decode_polygons(encoded: list[list[list[int]]], precision: int) -> list[list[np.ndarray]]:
    """Rings of (lon, lat) from :func:`encode_polygons` (what the page's script does)."""
    scale = 10.0**precision
    return [
        [np.cumsum(np.asarray(r, dtype=np.int64).reshape(-1, 2), axis=0) / scale for r in area]
        for area in encoded
    ]


def _prepared(areas: gpd.GeoDataFrame, level: ZoomLevel) -> gpd.GeoSeries:
    from .maps import _prepare_geometry

    return _prepare_geometry(areas, level.tolerance_m, level.precision)


def level_geometry(level: ZoomLevel, areas: gpd.GeoDataFrame) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """One level's drawable areas simplified, quantised and encoded: (encoded rings, bounds,
    representative points), in the order of ``areas`` (areas without a shape left out)."""
    areas = areas[areas.geometry.notna() & ~areas.geometry.is_empty]
    geoms = _prepared(areas, level)
    encoded = encode_polygons(geoms.values, level.precision)
    bounds = shapely.bounds(geoms.values)
    pts = shapely.get_coordinates(geoms.representative_point().values)
    return encoded, bounds, pts


# --------------------------------------------------------------------------------------------
# Payload
# --------------------------------------------------------------------------------------------


def _fmt(x: object, decimals: int = _TOOLTIP_DECIMALS) -> object:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None if x is None else str(x)
    return round(v, decimals) if math.isfinite(v) else None


def _field_values(col: pd.Series) -> list[object]:
    if pd.api.types.is_bool_dtype(col):
        return [None if pd.isna(v) else ("yes" if v else "no") for v in col.tolist()]
    if pd.api.types.is_numeric_dtype(col):
        arr = col.to_numpy(dtype=float)
        whole = np.all(np.isnan(arr) | (arr == np.round(arr)))
        return [None if not math.isfinite(v) else (int(v) if whole else round(v, 1)) for v in arr.tolist()]
    return [None if pd.isna(v) else str(v) for v in col.tolist()]


def _cells(points: np.ndarray, single: bool) -> tuple[np.ndarray, int]:
    """Grid-cell number of each area (from its representative point) and the number of cells."""
    if single or len(points) == 0:
        return np.zeros(len(points), dtype=np.int64), 1
    cx = np.floor(points[:, 0] / CELL_DEGREES[0]).astype(np.int64)
    cy = np.floor(points[:, 1] / CELL_DEGREES[1]).astype(np.int64)
    _, cell = np.unique(np.column_stack([cx, cy]), axis=0, return_inverse=True)
    cell = cell.ravel()
    return cell, int(cell.max()) + 1


def _level_payload(
    level: ZoomLevel,
    areas: gpd.GeoDataFrame,
    mv: MapValues,
    geometry: tuple[list[Any], np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, Any], tuple[list[Any], np.ndarray, np.ndarray]]:
    """The JSON-able description of one level: cells of features with compact arrays."""
    areas = areas[areas.geometry.notna() & ~areas.geometry.is_empty].reset_index(drop=True)
    if geometry is None:
        geometry = level_geometry(level, areas)
    encoded, bounds, pts = geometry
    codes = areas["area_code"].astype(str)
    joined = mv.aligned(codes)
    value = joined["value"].to_numpy(dtype=float)
    k = joined["k"].to_numpy(dtype=np.int64)
    lower = joined["lower"] if joined["lower"].notna().any() else None
    upper = joined["upper"] if joined["upper"].notna().any() else None
    flagged = joined["flagged"].to_numpy(dtype=bool)
    cold = joined["cold"].to_numpy(dtype=bool)
    extra = [(label, _field_values(joined[c])) for c, label in mv.tooltip_fields]
    names = areas["area_name"].astype(str).tolist()
    code_list = codes.tolist()
    v_list = [_fmt(v) for v in value.tolist()]
    lo_list = [_fmt(v) for v in lower.tolist()] if lower is not None else None
    hi_list = [_fmt(v) for v in upper.tolist()] if upper is not None else None
    single = level.min_zoom == 0 or len(codes) < 2_000
    cell, n_cells = _cells(pts, single)
    cells = []
    for c in range(n_cells):
        idx = np.flatnonzero(cell == c)
        if not len(idx):
            continue
        il = idx.tolist()
        data = {
            "c": [code_list[i] for i in il],
            "n": [names[i] for i in il],
            "v": [v_list[i] for i in il],
            "k": k[idx].tolist(),
            "g": [encoded[i] for i in il],
        }
        if lo_list is not None and hi_list is not None:
            data["lo"] = [lo_list[i] for i in il]
            data["hi"] = [hi_list[i] for i in il]
        if flagged[idx].any():
            data["f"] = flagged[idx].astype(int).tolist()
        if cold[idx].any():
            data["s"] = cold[idx].astype(int).tolist()
        if extra:
            data["x"] = [[vals_[i] for i in il] for _, vals_ in extra]
        b = bounds[idx]
        box = [float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])), float(np.nanmax(b[:, 2])),
               float(np.nanmax(b[:, 3]))]
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
        cells.append({"b": [round(v, 4) for v in box], "d": text, "n": len(il)})
    payload = {
        "geo": level.geography,
        "name": _NAMES.get(level.geography, level.geography),
        "min": level.min_zoom,
        "max": level.max_zoom,
        "p": level.precision,
        "labels": [label for label, _ in extra],
        "cells": cells,
    }
    return payload, geometry


# --------------------------------------------------------------------------------------------
# The page's script
# --------------------------------------------------------------------------------------------

_JS = r"""
(function() {
  var map = __HX_MAP__;
  var cfg = __HX_CFG__;
  var renderer = L.canvas({padding: 0.3, tolerance: 2});
  var pal = cfg.palette, missing = cfg.missing;
  function esc(s) { return String(s).replace(/[&<>"']/g, function(c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
  function decode(g, scale) {
    var out = [];
    for (var r = 0; r < g.length; r++) {
      var ring = g[r], x = 0, y = 0, pts = new Array(ring.length / 2);
      for (var i = 0; i < ring.length; i += 2) { x += ring[i]; y += ring[i + 1]; pts[i / 2] = [y / scale, x / scale]; }
      out.push(pts);
    }
    return out;
  }
  function fmt(v, units) { return v === null || v === undefined ? 'no data' : v.toFixed(cfg.decimals) + units; }
  function tip(layer) {
    var d = layer.hxData, i = layer.hxIndex, lv = layer.hxLevel;
    var html = '<b>' + esc(d.n[i]) + '</b> <span style="color:#555">(' + esc(d.c[i]) + ')</span><br>' + fmt(d.v[i], cfg.units);
    if (d.lo && d.v[i] !== null && d.lo[i] !== null) {
      html += ' <span style="color:#444">(95% CI ' + d.lo[i].toFixed(cfg.decimals) + ' to ' + d.hi[i].toFixed(cfg.decimals) + ')</span>';
    }
    if (d.x) { for (var j = 0; j < d.x.length; j++) { var xv = d.x[j][i];
      html += '<br>' + esc(lv.labels[j]) + ': ' + (xv === null ? 'no data' : esc(typeof xv === 'number' ? xv.toLocaleString('en-GB') : xv)); } }
    if (d.f && d.f[i]) { html += '<br><b>' + esc(cfg.flaggedLabel) + '</b>'; }
    if (d.s && d.s[i]) { html += '<br>Cold spot (cluster of low values)'; }
    return html;
  }
  function style(d, i) {
    var k = d.k[i], flag = d.f && d.f[i], cold = d.s && d.s[i];
    return {renderer: renderer, fillColor: (k >= 0 && k < pal.length) ? pal[k] : missing,
      fillOpacity: cfg.fillOpacity, color: flag ? '#000000' : '#555555',
      weight: flag ? 2.4 : (cold ? 1.6 : 0.4), opacity: flag || cold ? 1 : 0.6,
      dashArray: cold && !flag ? '4 3' : null, fillRule: 'evenodd'};
  }
  function build(lv, cell) {
    var d = JSON.parse(cell.d), scale = Math.pow(10, lv.p), group = L.featureGroup();
    for (var i = 0; i < d.g.length; i++) {
      if (!d.g[i].length) { continue; }
      var poly = L.polygon(decode(d.g[i], scale), style(d, i));
      poly.hxData = d; poly.hxIndex = i; poly.hxLevel = lv;
      group.addLayer(poly);
    }
    group.bindTooltip(function(layer) { return tip(layer); }, {sticky: true, className: 'hx-tip'});
    group.on('mouseover', function(e) { e.layer.setStyle({weight: 2.5, color: '#000000', opacity: 1}); });
    group.on('mouseout', function(e) { e.layer.setStyle(style(e.layer.hxData, e.layer.hxIndex)); });
    cell.d = null;  // parsed once; the text can go
    return group;
  }
  var status = L.control({position: 'topleft'});
  status.onAdd = function() { var div = L.DomUtil.create('div', 'hx-box hx-zoom-status'); return div; };
  status.addTo(map);
  function update() {
    var z = map.getZoom(), view = map.getBounds().pad(cfg.viewPad), shown = null;
    for (var l = 0; l < cfg.levels.length; l++) {
      var lv = cfg.levels[l], active = z >= lv.min && (lv.max === null || z < lv.max);
      if (active) { shown = lv; }
      for (var c = 0; c < lv.cells.length; c++) {
        var cell = lv.cells[c], b = cell.b;
        var want = active && (lv.cells.length === 1 || view.intersects(L.latLngBounds([b[1], b[0]], [b[3], b[2]])));
        if (want && !cell.layer) { cell.layer = build(lv, cell); }
        if (cell.layer) {
          if (want && !map.hasLayer(cell.layer)) { cell.layer.addTo(map); }
          if (!want && map.hasLayer(cell.layer)) { map.removeLayer(cell.layer); }
        }
      }
    }
    var el = status.getContainer();
    if (el && shown) {
      var next = null;
      for (var m = 0; m < cfg.levels.length; m++) { if (cfg.levels[m].min > z) { next = cfg.levels[m]; break; } }
      el.innerHTML = 'Showing <b>' + esc(shown.name) + '</b>' + (next ? ' &middot; zoom in for ' + esc(next.name) : '');
    }
    window.hxMapLevel = shown ? shown.geo : null;
  }
  var prac = cfg.practices, pracLayer = null;
  function updatePractices() {
    if (!prac) { return; }
    var want = map.getZoom() >= prac.minZoom;
    if (want && !pracLayer) {
      pracLayer = L.featureGroup();
      for (var i = 0; i < prac.lat.length; i++) {
        var mk = L.circleMarker([prac.lat[i], prac.lon[i]], {renderer: renderer, radius: prac.r[i],
          fillColor: '#ffffff', fillOpacity: 0.9, color: '#000000', weight: 1.3});
        mk.hxIndex = i; pracLayer.addLayer(mk);
      }
      pracLayer.bindTooltip(function(layer) { var i = layer.hxIndex;
        return '<b>' + esc(prac.n[i]) + '</b> (' + esc(prac.c[i]) + ')<br>List size: ' +
          (prac.s[i] === null ? 'no data' : prac.s[i].toLocaleString('en-GB')); }, {className: 'hx-tip'});
    }
    if (pracLayer) {
      if (want && !map.hasLayer(pracLayer)) { pracLayer.addTo(map); pracLayer.bringToFront(); }
      if (!want && map.hasLayer(pracLayer)) { map.removeLayer(pracLayer); }
    }
  }
  map.on('zoomend moveend', function() { update(); updatePractices(); });
  update();
  updatePractices();
  window.hxMap = map;
  requestAnimationFrame(function() { requestAnimationFrame(function() { window.hxPainted = performance.now(); }); });
})();
"""


def _element(cfg: dict[str, Any]) -> Any:
    from folium.template import Template

    from .maps import _literal_classes

    class ZoomLevels(_literal_classes().macro):
        """The zoom-switching canvas layers and their data (one script, no external files)."""

        _template = Template(
            "{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}"
        )

        def __init__(self, cfg: dict[str, Any]) -> None:
            super().__init__()
            self._name = "HxZoomLevels"
            self.cfg = cfg

        def render(self, **kwargs: Any) -> None:
            # names are data: no "<" or "{" of theirs reaches the script or a template
            cfg_js = script_json(self.cfg)
            self.js = _JS.replace("__HX_MAP__", self._parent.get_name()).replace("__HX_CFG__", cfg_js)
            super().render(**kwargs)

    return ZoomLevels(cfg)


def _practice_payload(practices: pd.DataFrame, max_radius: float | None = None,
                      min_zoom: float = PRACTICE_ZOOM) -> dict[str, Any]:
    """GP practices as compact arrays, drawn as canvas circles from ``min_zoom`` on."""
    from .maps import _practice_radius

    needed = ["practice_code", "practice_name", "latitude", "longitude", "list_size"]
    missing = [c for c in needed if c not in practices.columns]
    if missing:
        raise RequestError(
            f"practices is missing column(s) {missing}; found {list(practices.columns)}.", valid=needed
        )
    pts = practices.dropna(subset=["latitude", "longitude"])
    sizes = pd.to_numeric(pts["list_size"], errors="coerce")
    top = float(np.nanmax(sizes)) if sizes.notna().any() else 0.0
    return {
        "minZoom": min_zoom,
        "lat": np.round(pts["latitude"].to_numpy(float), 5).tolist(),
        "lon": np.round(pts["longitude"].to_numpy(float), 5).tolist(),
        "r": [round(_practice_radius(v, top, *(() if max_radius is None else (max_radius,))), 1)
              for v in sizes.tolist()],
        "c": pts["practice_code"].astype(str).tolist(),
        "n": pts["practice_name"].astype(str).tolist(),
        "s": [None if not math.isfinite(v) else int(v) for v in sizes.astype(float).tolist()],
    }


_STATUS_CSS = (
    "<style>.hx-zoom-status{font-size:12px;padding:4px 8px;max-width:360px}</style>"
)


def zoom_choropleth(
    levels: Sequence[tuple[ZoomLevel, gpd.GeoDataFrame, pd.DataFrame]],
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
    synthetic_or_modelled_note: str | None = None,
    tooltip_fields: Mapping[str, str] | Sequence[str] = (),
    flagged_label: str = "Flagged for action",
    made_on: dt.date | None = None,
    height: str | int = "100%",
    geometry_cache: dict[Any, Any] | None = None,
) -> folium.Map:
    """A choropleth whose geography changes with the zoom, drawn on a canvas.

    ``levels`` lists, coarsest first, each :class:`ZoomLevel` with its areas (``area_code,
    area_name, geometry``) and values (``area_code, value`` and optionally CIs, ``flagged``,
    ``cluster`` and the ``tooltip_fields``). Classes are fitted on the last (finest) level and
    applied to every level (:meth:`MapValues.on_breaks`), so a colour means the same range at
    every zoom; the legend counts the finest level's areas. Then :func:`draw_zoom_map`.
    """
    if not levels:
        raise RequestError("zoom_choropleth needs at least one level.")
    for lv, areas, values in levels:
        for frame, frame_name, cols in ((areas, "areas", ["area_code", "area_name"]),
                                        (values, "values", ["area_code", "value"])):
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise RequestError(
                    f"{lv.geography} {frame_name} is missing column(s) {missing}; found {list(frame.columns)}.",
                    valid=cols,
                )
    fields = (
        dict(tooltip_fields)
        if isinstance(tooltip_fields, Mapping)
        else {c: c.replace("_", " ").capitalize() for c in tooltip_fields}
    )
    _, finest_areas, finest_values = levels[-1]
    finest_fields = {c: label for c, label in fields.items() if c in finest_values.columns}
    fv = finest_values.drop_duplicates("area_code")
    mv = map_values(fv, codes=finest_areas["area_code"].astype(str), title=title, units=units,
                    source_line=source_line, legend_title=legend_title, scheme=scheme, k=k,
                    thresholds=thresholds, palette=palette, higher_is_better=higher_is_better,
                    note=synthetic_or_modelled_note, tooltip_fields=finest_fields,
                    flagged_label=flagged_label)
    wide = replace(mv, tooltip_fields=tuple(fields.items()))  # a coarser level may fill any of them
    drawn = [(lv, areas, wide.on_breaks(values, areas["area_code"].astype(str)))
             for lv, areas, values in levels[:-1]]
    drawn.append((levels[-1][0], finest_areas, mv))
    return draw_zoom_map(drawn, practices=practices, tiles=tiles, made_on=made_on, height=height,
                         geometry_cache=geometry_cache)


def draw_zoom_map(
    levels: Sequence[tuple[ZoomLevel, gpd.GeoDataFrame, MapValues]],
    *,
    practices: pd.DataFrame | None = None,
    tiles: str | None = None,
    made_on: dt.date | None = None,
    height: str | int = "100%",
    geometry_cache: dict[Any, Any] | None = None,
) -> folium.Map:
    """Draw the zoom-switching canvas map of each level's :class:`MapValues` (coarsest first).

    Draws what it is given: the legend, colours and words are those of the last (finest)
    level's values. ``geometry_cache`` (a dict) keeps the simplified, encoded geometry between
    calls, keyed by geography and level settings.
    """
    import folium

    if not levels:
        raise RequestError("draw_zoom_map needs at least one level.")
    if tiles not in TILES:
        raise RequestError(f"Unknown tiles {tiles!r}.", valid=[str(t) for t in TILES])
    finest_level, _, mv = levels[-1]
    if mv.scheme not in SCHEMES:
        raise RequestError(f"Unknown classification scheme {mv.scheme!r}.", valid=list(SCHEMES))
    payloads = []
    bounds = None
    cache = geometry_cache if geometry_cache is not None else {}
    for lv, areas, lv_values in levels:
        key = (lv, len(areas), tuple(areas["area_code"].astype(str).iloc[[0, -1]]) if len(areas) else ())
        payload, geometry = _level_payload(lv, areas, lv_values, cache.get(key))
        cache[key] = geometry
        payloads.append(payload)
        if len(geometry[1]):
            b = geometry[1]
            box = (np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3]))
            bounds = box if bounds is None else (min(bounds[0], box[0]), min(bounds[1], box[1]),
                                                 max(bounds[2], box[2]), max(bounds[3], box[3]))

    fill_opacity = 1.0 if tiles is None else 0.7
    m = folium.Map(
        location=None,
        tiles="OpenStreetMap" if tiles == "osm" else None,
        control_scale=True,
        zoom_control="bottomleft",
        zoom_snap=0.25,
        prefer_canvas=True,
        height=height,
    )
    literal_root(m)
    m.get_root().title = _esc(mv.title)
    css_cls, control_cls = _macro_classes()
    m.add_child(css_cls(plain=tiles is None))
    m.get_root().header.add_child(folium.Element(_STATUS_CSS))
    units = mv.units
    cfg = {
        "levels": payloads,
        "palette": list(mv.colours),
        "missing": MISSING_COLOUR,
        "fillOpacity": fill_opacity,
        "units": units if units.lstrip().startswith("%") else (f" {units}" if units else ""),
        "decimals": _TOOLTIP_DECIMALS,
        "flaggedLabel": mv.flagged_label,
        "viewPad": VIEW_PAD,
    }

    if practices is not None and len(practices):
        cfg["practices"] = _practice_payload(practices)
    practice_keys = _practice_keys(practices)

    m.add_child(control_cls(_title_html(mv.title, mv.note), "topleft", "hx-box hx-title"))
    m.add_child(_element(cfg))  # after the title, so the zoom status sits under it
    zooms = "; ".join(
        f"{_NAMES.get(lv.geography, lv.geography)} from zoom {lv.min_zoom:g}" if lv.min_zoom else
        f"{_NAMES.get(lv.geography, lv.geography)} when zoomed out"
        for lv, _, _ in levels
    )
    if practice_keys:
        zooms += f"; GP practices from zoom {PRACTICE_ZOOM:g}"
    legend = legend_box(
        replace(mv, frame=pd.concat([v.frame[["flagged", "cold"]] for _, _, v in levels])),
        practice_keys=practice_keys, made_on=made_on, fill_opacity=fill_opacity,
        extra_note=zoom_note(levels, zooms),
    )
    m.add_child(control_cls(legend, "bottomright", "hx-box hx-legend"))
    if bounds is not None and all(map(math.isfinite, bounds)):
        m.fit_bounds([[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]],
                     padding=(8, 8))
    return m


def zoom_note(levels: Sequence[tuple[ZoomLevel, Any, Any]], zooms: str | None = None) -> str:
    """The legend's (escaped HTML) line on which geography is drawn at which zoom."""
    finest = levels[-1][0].geography
    if zooms is None:
        zooms = "; ".join(
            f"{_NAMES.get(lv.geography, lv.geography)} from zoom {lv.min_zoom:g}" if lv.min_zoom else
            f"{_NAMES.get(lv.geography, lv.geography)} when zoomed out"
            for lv, _, _ in levels
        )
    return (
        f"<div class='hx-source'>Geography changes with the zoom: {_esc(zooms)}. Each area is "
        f"coloured by its own figure; classes and counts are those of the "
        f"{_esc(_NAMES.get(finest, finest))}.</div>"
    )
