"""The app's map as two payloads: the geometry of a geography (serialised once per loaded
dataset, served as a content-addressed file: :func:`geometry_payload`, :func:`geometry_file`) and
one layer's values (sent on every change of indicator, period, classes or palette; one JSON string
per choice shared by every session: :func:`map_values_json`).

The Map explorer's map component (``app_support/mapview.py`` and ``static/index.html``)
fetches :func:`map_geometry` once per geography and frame, keeps it, and re-colours the
shapes already drawn from each :func:`map_layer_values`: a change of indicator re-sends a few
arrays of class numbers, not the boundaries. Both payloads are plain JSON-able dicts; the
figures come from :mod:`hiexplore.mapping` (stored flags, never computed here), the classes,
colours and legend words from :class:`hiexplore.map_values.MapValues`.

Text is data: names travel as JSON strings and the component escapes them where it shows them;
the legend is HTML built by :func:`hiexplore.maps.legend_box`, which escapes every piece of text.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .a11y import map_frame_label
from .dataset import Dataset, derived
from .errors import HiexploreError
from .mapping import (
    layer_values,
    map_practices,
    uses_zoom_levels,
    zoom_chain,
)
from .maps import legend_box
from .maps_national import (
    _NAMES,
    _TOOLTIP_DECIMALS,
    ZoomLevel,
    _cells,
    _field_values,
    _fmt,
    _practice_payload,
    level_geometry,
    levels_for,
)

__all__ = ["CLASSIC_LEVEL", "PRACTICE_RADIUS", "GeometryPayload", "geometry_file", "geometry_files_dir",
           "area_choices", "geometry_key", "geometry_payload", "map_geometry", "map_layer_values", "map_values_json",
           "area_groups", "map_area_profile", "map_table", "map_table_csv", "warm_map"]

#: how a geography of up to 5,000 areas is drawn in the app: one level, SVG (as the classic map)
CLASSIC_LEVEL = dict(min_zoom=0, max_zoom=None, tolerance_m=15.0, precision=5)
#: the largest GP practice circle in the app, in pixels (small: a circle must not bury an LSOA)
PRACTICE_RADIUS = 7.0
_LABEL_MAX_AREAS = 40


def _levels(ds: Dataset, geography: str, zoom_levels: bool | None) -> tuple[ZoomLevel, ...]:
    zoom = uses_zoom_levels(ds, geography) if zoom_levels is None else zoom_levels
    if zoom:
        return levels_for(geography)
    return (ZoomLevel(geography, **CLASSIC_LEVEL),)


def geometry_key(ds: Dataset, geography: str, zoom_levels: bool | None = None) -> str:
    """What names one geography's geometry in a session: the dataset's boundaries and levels."""
    levels = _levels(ds, geography, zoom_levels)
    sums = [ds.file_sha256.get(f, "") for f in ("areas.parquet", "practices.parquet")]  # shapes, practices
    ident = "|".join([str(ds.path), *sums, str(len(ds.areas)), geography,
                      *(f"{lv.geography}:{lv.min_zoom}:{lv.tolerance_m}:{lv.precision}" for lv in levels)])
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]


def map_geometry(ds: Dataset, geography: str, *, zoom_levels: bool | None = None) -> dict[str, Any]:
    """The shapes of ``geography`` (and its coarser zoom levels), as the component draws them.

    ``{"key", "canvas", "bounds", "levels": [{"geo", "name", "min", "max", "p", "c" (codes),
    "n" (names), "g" (delta-encoded rings, :func:`hiexplore.maps_national.encode_polygons`),
    "cells": [{"b", "i"}]}], "labels", "practices", "zoomNote"}``. Built once per loaded
    dataset and geography (kept on the dataset object).
    """
    levels = _levels(ds, geography, zoom_levels)
    key = geometry_key(ds, geography, zoom_levels)
    return derived(ds, "_map_geometry_cache", key, lambda: _build_geometry(ds, geography, levels, key), keep=6)


@dataclass(frozen=True)
class GeometryPayload:
    """One geography's shapes serialised once per loaded dataset, for every session.

    ``body`` is :func:`map_geometry` as compact JSON (UTF-8), ``name`` the file name it is served
    under, gzipped (``<geography>-<SHA-256 of body, 24 hex>.json.gz``: Streamlit serves it as
    ``application/gzip`` without compressing it again per request, the browser inflates it with
    ``DecompressionStream``; content-addressed, so a file of that
    name never changes and a browser may keep it; a rebuilt dataset with other shapes gets
    another name). ``meta`` is the geometry without its rings and cells, what
    :func:`map_layer_values` aligns the values with: the app keeps one bytes object instead of
    millions of small lists (each session's end runs Python's garbage collector over them all).
    """

    key: str
    name: str
    body: bytes
    meta: dict[str, Any]


def geometry_payload(ds: Dataset, geography: str, *, zoom_levels: bool | None = None) -> GeometryPayload:
    """:func:`map_geometry` serialised once per loaded dataset and geography (see :class:`GeometryPayload`)."""
    key = geometry_key(ds, geography, zoom_levels)

    def build() -> GeometryPayload:
        geometry = _build_geometry(ds, geography, _levels(ds, geography, zoom_levels), key)
        body = json.dumps(geometry, separators=(",", ":"), allow_nan=False).encode("utf-8")
        meta = {k: v for k, v in geometry.items() if k not in ("levels", "practices", "labels")}
        meta["levels"] = [{k: v for k, v in lv.items() if k not in ("g", "cells", "n")} for lv in geometry["levels"]]
        meta["practices"] = {"s": geometry["practices"]["s"]} if geometry["practices"] else None
        name = f"{geography}-{hashlib.sha256(body).hexdigest()[:24]}.json.gz"
        return GeometryPayload(key=key, name=name, body=body, meta=meta)

    return derived(ds, "_map_geometry_payload_cache", key, build, keep=8)


#: where the app writes the geometry files it serves (else ``$XDG_CACHE_HOME/hiexplore/map-geometry``)
GEOMETRY_FILES_ENV = "HIEXPLORE_MAP_FILES"


def geometry_files_dir() -> Path:
    """The folder of served geometry files: ``HIEXPLORE_MAP_FILES``, else the user's cache folder.

    Content-addressed files only (:class:`GeometryPayload`), so datasets and app processes can
    share it; nothing else is written there, and nothing else is served from it.
    """
    env = os.environ.get(GEOMETRY_FILES_ENV)
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hiexplore" / "map-geometry"


def geometry_file(ds: Dataset, geography: str, folder: Path | None = None, *,
                  zoom_levels: bool | None = None) -> tuple[GeometryPayload, Path]:
    """The geometry payload and its gzipped file in ``folder`` (written once, atomically, if absent).

    Raises ``OSError`` when the folder cannot be written (the app then sends the shapes through
    the websocket, as before).
    """
    payload = geometry_payload(ds, geography, zoom_levels=zoom_levels)
    folder = Path(folder) if folder is not None else geometry_files_dir()
    path = folder / payload.name
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{payload.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_bytes(gzip.compress(payload.body, compresslevel=6, mtime=0))
        os.replace(tmp, path)
        _prune(folder, keep=path)
    return payload, path


#: geometry files not written for this long are removed when another is written (a server still
#: using one writes it again when its next session asks; a frame that misses it gets it inline)
GEOMETRY_FILE_MAX_AGE_S = 30 * 24 * 3600


def _prune(folder: Path, keep: Path) -> None:
    import time

    cutoff = time.time() - GEOMETRY_FILE_MAX_AGE_S
    for old in folder.glob("*.json.gz"):
        try:
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue  # another process removed or replaced it: nothing to do


def _build_geometry(ds: Dataset, geography: str, levels: tuple[ZoomLevel, ...], key: str) -> dict[str, Any]:
    areas_all = ds.areas
    out_levels = []
    bounds = None
    for lv in levels:
        polys = areas_all[(areas_all["area_type"] == lv.geography) & areas_all.geometry.notna()
                          & ~areas_all.geometry.is_empty]
        if polys.empty:
            continue
        encoded, b, pts = level_geometry(lv, polys)
        cell, n_cells = _cells(pts, lv.min_zoom == 0 or len(polys) < 2_000)
        cells = []
        for c in range(n_cells):
            idx = np.flatnonzero(cell == c)
            if len(idx):
                bb = b[idx]
                cells.append({"b": [round(float(v), 4) for v in (np.nanmin(bb[:, 0]), np.nanmin(bb[:, 1]),
                                                              np.nanmax(bb[:, 2]), np.nanmax(bb[:, 3]))],
                              "i": idx.tolist()})
        out_levels.append({
            "geo": lv.geography, "name": _NAMES.get(lv.geography, lv.geography), "min": lv.min_zoom,
            "max": lv.max_zoom, "p": lv.precision, "c": polys["area_code"].astype(str).tolist(),
            "n": polys["area_name"].astype(str).tolist(), "g": encoded, "cells": cells,
        })
        box = (float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])), float(np.nanmax(b[:, 2])),
               float(np.nanmax(b[:, 3])))
        bounds = box if bounds is None else (min(bounds[0], box[0]), min(bounds[1], box[1]),
                                             max(bounds[2], box[2]), max(bounds[3], box[3]))
    if not out_levels or out_levels[-1]["geo"] != geography:
        from .errors import RequestError

        raise RequestError(f"The dataset has no {geography} boundaries to map.")
    finest = areas_all[(areas_all["area_type"] == geography) & areas_all.geometry.notna()
                       & ~areas_all.geometry.is_empty]
    labels = None
    if len(finest) <= _LABEL_MAX_AREAS:  # few areas: their names on the map itself
        from .maps import _label_features

        fc = _label_features(finest[["area_code", "area_name", "geometry"]], 5)
        labels = {"n": finest["area_name"].astype(str).tolist(),
                  "lon": [f["geometry"]["coordinates"][0] for f in fc["features"]],
                  "lat": [f["geometry"]["coordinates"][1] for f in fc["features"]],
                  "z": [f["properties"]["z"] for f in fc["features"]]}
    practices = map_practices(ds)
    zoom = len(levels) > 1
    return {
        "key": key,
        "canvas": zoom,
        "bounds": [round(v, 5) for v in bounds] if bounds and all(map(math.isfinite, bounds)) else None,
        "levels": out_levels,
        "labels": labels,
        "practices": _practice_payload(practices, PRACTICE_RADIUS, min_zoom=10 if zoom else 0)
        if len(practices) else None,
        "zoomNote": "; ".join(
            f"{lv['name']} from zoom {lv['min']:g}" if lv["min"] else f"{lv['name']} when zoomed out"
            for lv in out_levels
        ) if zoom else "",
    }


def _compact(column: list[object]) -> list[object] | dict[str, list[Any]]:
    """A tooltip column; text as ``{"u": distinct values, "i": index per area (-1: none)}``,
    since a few words ("below acceptable") repeat over thousands of areas."""
    if not any(isinstance(v, str) for v in column):
        return column
    distinct = list(dict.fromkeys(v for v in column if v is not None))
    where = {v: i for i, v in enumerate(distinct)}
    return {"u": distinct, "i": [-1 if v is None else where[v] for v in column]}


def map_layer_values(
    ds: Dataset,
    indicator: str | None,
    geography: str,
    *,
    layer: str = "uptake",
    period: str | None = None,
    scheme: str | None = None,
    k: int | None = None,
    palette: str = "viridis",
    edition: int | None = None,
    measure: str = "imd",
    values: pd.DataFrame | None = None,
    zoom_levels: bool | None = None,
    show_practices: bool = False,
) -> dict[str, Any]:
    """One layer's values for the shapes of :func:`map_geometry` (same geography, same order).

    ``{"geometry", "title", "label", "ageMark", "note", "legendHtml", "legend", "palette",
    "missing", "units", "decimals", "flaggedLabel", "levels": [{"k", "v", "lo", "hi", "f", "s",
    "x", "labels"}]}``: class numbers, figures and tooltip fields per area, aligned with the
    geometry's codes; the legend as escaped HTML and as plain data (:meth:`MapValues.legend`);
    ``label`` the map frame's accessible name (:func:`hiexplore.a11y.map_frame_label`: the app
    shows the table of the same areas below the map).
    """
    from .maps_national import zoom_note

    geometry = geometry_payload(ds, geography, zoom_levels=zoom_levels).meta
    if geometry["canvas"]:
        chain = zoom_chain(ds, indicator, geography, layer=layer, period=period, scheme=scheme, k=k,
                           palette=palette, edition=edition, measure=measure, values=values)
        by_geo = {lv.geography: mv for lv, _, mv in chain}
    else:
        finest = layer_values(ds, indicator, geography, layer=layer, period=period, scheme=scheme, k=k,
                              palette=palette, edition=edition, measure=measure, values=values)
        by_geo = {geography: finest}
    mv = by_geo[geography]
    levels = []
    for lv in geometry["levels"]:
        joined = by_geo[lv["geo"]].aligned(lv["c"])
        lower, upper = joined["lower"], joined["upper"]
        fields = by_geo[lv["geo"]].tooltip_fields
        levels.append({
            "k": joined["k"].astype(int).tolist(),
            "v": [_fmt(v) for v in joined["value"].tolist()],
            "lo": [_fmt(v) for v in lower.tolist()] if lower.notna().any() else None,
            "hi": [_fmt(v) for v in upper.tolist()] if upper.notna().any() else None,
            "f": joined["flagged"].astype(int).tolist() if joined["flagged"].any() else None,
            "s": joined["cold"].astype(int).tolist() if joined["cold"].any() else None,
            "x": [_compact(_field_values(joined[c])) for c, _ in fields] or None,
            "labels": [label for _, label in fields],
        })
    any_flag = any(m.any_flagged for m in by_geo.values())
    any_cold = any(m.any_cold for m in by_geo.values())
    practices = geometry["practices"]
    keys = []
    if practices and show_practices:
        from .maps import _practice_legend_keys, _practice_radius

        sizes = [s for s in practices["s"] if s is not None]
        top = float(max(sizes)) if sizes else 0.0
        keys = [(size, _practice_radius(size, top, PRACTICE_RADIUS)) for size, _ in _practice_legend_keys(top)]
    extra = ""
    if geometry["canvas"]:
        extra = zoom_note([(ZoomLevel(lv["geo"], lv["min"], lv["max"], 0, lv["p"]), None, None)
                           for lv in geometry["levels"]], geometry["zoomNote"])
    flag_frame = pd.DataFrame({"flagged": [any_flag], "cold": [any_cold]})
    from dataclasses import replace

    legend_mv = replace(mv, frame=flag_frame)
    units = mv.units
    return {
        "geometry": geometry["key"],
        "title": mv.title,
        "label": map_frame_label(mv.title, _NAMES.get(geography, geography)),
        "ageMark": mv.age_mark,
        "note": mv.note,
        "legendHtml": legend_box(legend_mv, practice_keys=keys, extra_note=extra, with_note=False),
        "legend": mv.legend(),
        "palette": list(mv.colours),
        "missing": mv.legend()["no_data"]["colour"],
        "units": units if units.lstrip().startswith("%") else (f" {units}" if units else ""),
        "decimals": _TOOLTIP_DECIMALS,
        "flaggedLabel": mv.flagged_label,
        "levels": levels,
    }


def map_values_json(ds: Dataset, indicator: str | None, geography: str, *, layer: str = "uptake",
                    period: str | None = None, scheme: str | None = None, k: int | None = None,
                    palette: str = "viridis", edition: int | None = None, measure: str = "imd",
                    zoom_levels: bool | None = None, show_practices: bool = False) -> str:
    """:func:`map_layer_values` of the stored flags as compact JSON, built once per loaded
    dataset and choice and shared by every session (a national layer is ~1-2 MB of JSON: made
    per session it cost more server time than the rest of the page)."""
    choice = (indicator, geography, layer, period, scheme, k, palette, edition, measure, zoom_levels,
              bool(show_practices))

    def build() -> str:
        payload = map_layer_values(ds, indicator, geography, layer=layer, period=period, scheme=scheme, k=k,
                                   palette=palette, edition=edition, measure=measure, zoom_levels=zoom_levels,
                                   show_practices=show_practices)
        return json.dumps(payload, separators=(",", ":"), allow_nan=False)

    return derived(ds, "_map_values_cache", choice, build, keep=32)


def area_choices(ds: Dataset, geography: str) -> dict[str, str]:
    """``{code: "Name (code)"}`` of a geography's areas, in the dataset's order, built once per
    loaded dataset: the Map explorer's area box labels 33,755 LSOAs at national size, which a
    name looked up per option in a pandas Series made cost ~0.2 s of server time per page load."""
    def build() -> dict[str, str]:
        areas = ds.areas[ds.areas["area_type"] == geography].drop_duplicates("area_code")
        return {str(c): f"{n} ({c})" for c, n in zip(areas["area_code"].astype(str), areas["area_name"].astype(str), strict=True)}

    return derived(ds, "_map_area_cache", ("choices", geography), build, keep=16)


def map_area_profile(ds: Dataset, area: str, geography: str, flags_for: Any = None) -> Any:
    """:func:`hiexplore.profile.area_profile` of one area, once per loaded dataset and area (the
    stored flags it reads, latest period, England benchmark, do not change while the dataset is
    loaded): every new session of the Map explorer shows the profile of the same first area."""
    from .profile import area_profile

    return derived(ds, "_map_area_cache", ("profile", area, geography),
                   lambda: area_profile(ds, area, geography, flags_for=flags_for), keep=64)


#: the Map explorer's table of the mapped areas: what it shows of the flags, in this order
MAP_TABLE_COLUMNS = ("area_code", "area_name", "value", "lower_ci_95", "upper_ci_95", "imd_decile",
                     "people_to_reach", "flagged", "trend", "estimate_note")


def map_table(ds: Dataset, flags: pd.DataFrame, indicator: str, geography: str, period: str | None) -> pd.DataFrame:
    """The map's figures as the Map explorer's sortable table (lowest value first), once per
    loaded dataset and key; ``flags`` are the stored flags of that key.

    Every area and every shown column, as they are; text columns with few distinct values
    (trend, estimate note: one of a handful of sentences over 33,755 LSOAs) become categories,
    which the browser receives dictionary-encoded: the national table went from 6.7 MB to
    3.4 MB of Arrow per page load, its conversion from 0.10 s to 0.01 s of server time.
    """
    def build() -> pd.DataFrame:
        table = flags[[c for c in MAP_TABLE_COLUMNS if c in flags.columns]].sort_values("value")
        for col in table.columns:
            text = table[col].dtype == object or pd.api.types.is_string_dtype(table[col])
            if col not in ("area_code", "area_name") and text and table[col].nunique() <= max(16, len(table) // 100):
                table[col] = table[col].astype("category")
        return table

    return derived(ds, "_map_area_cache", ("table", indicator, geography, period), build, keep=64)


#: more rows than this, and the Map explorer's table shows the lowest this many (with a note and
#: the whole table as a download): 33,755 rows cost the browser about a second per page load
MAP_TABLE_ROWS = 2_000
#: the columns the whole table's download adds to the shown ones: what says a figure's period,
#: age and caveats wherever it is exported
MAP_TABLE_EXPORT_EXTRA = ("indicator", "period", "period_end", "out_of_date", "value_note")


def map_table_csv(ds: Dataset, flags: pd.DataFrame, indicator: str, geography: str, period: str | None) -> bytes:
    """The whole map table (every area, lowest value first) as the CSV ``hiexplore flags``
    writes (:func:`hiexplore.exports.write_table`: formulas neutralised, CRLF rows), with the
    period and out-of-date columns; once per loaded dataset and key."""
    def build() -> bytes:
        import tempfile

        from .exports import write_table

        cols = [c for c in (*MAP_TABLE_COLUMNS, *MAP_TABLE_EXPORT_EXTRA) if c in flags.columns]
        frame = flags[cols].sort_values("value")
        frame.attrs = dict(flags.attrs)
        with tempfile.TemporaryDirectory() as tmp:
            return write_table(frame, Path(tmp) / "map_table.csv", ds=ds).read_bytes()

    return derived(ds, "_map_area_cache", ("csv", indicator, geography, period), build, keep=64)


#: more areas than this, and the Map explorer's area box is two boxes: local authority, then area
AREA_BOX_MAX = 2_000


def area_groups(ds: Dataset, geography: str) -> tuple[dict[str, list[str]], dict[str, str]] | None:
    """For a geography with more than :data:`AREA_BOX_MAX` areas (LSOAs, MSOAs, wards at
    national size): ``({"<local authority> (<code>)": [area codes]}, {area code: that label})``,
    local authorities by name, "Other areas" last for areas the lookup does not place; else None.

    One box of 33,755 LSOAs cost the browser about a second per page load (and a keyboard user a
    long list); a local authority holds at most a few hundred.
    """
    def build() -> tuple[dict[str, list[str]], dict[str, str]] | None:
        codes = list(area_choices(ds, geography))
        col = f"{geography}_code"
        lookup = ds.lookup
        if len(codes) <= AREA_BOX_MAX or col not in lookup.columns or "lad_code" not in lookup.columns:
            return None
        lk = lookup.dropna(subset=[col, "lad_code"]).drop_duplicates(col)
        names = lk["lad_name"].astype(str) if "lad_name" in lk.columns else lk["lad_code"].astype(str)
        lad = dict(zip(lk[col].astype(str), names + " (" + lk["lad_code"].astype(str) + ")", strict=True))
        groups: dict[str, list[str]] = {}
        for code in codes:
            groups.setdefault(lad.get(code, "Other areas"), []).append(code)
        order = sorted(groups, key=lambda g: (g == "Other areas", g.lower()))
        by_group = {g: groups[g] for g in order}
        return by_group, {c: g for g, members in by_group.items() for c in members}

    return derived(ds, "_map_area_cache", ("groups", geography), build, keep=64)


#: the Map explorer's default view (``pages/map_explorer.py``): what :func:`warm_map` prepares
DEFAULT_VIEW = dict(indicator="mmr1_24m", geography="lsoa", layer="uptake", scheme="quantiles", palette="viridis")


def warm_map(ds: Dataset) -> dict[str, float]:
    """Prepare the Map explorer's default view before the first session asks (app start,
    ``app_support/warm.py``): LSOA shapes serialised and written to their served file, the
    values of MMR1 at 24 months (else the first indicator), latest period, quantiles, viridis,
    its table (and download), the area boxes, the first area's profile and its trend panel, when the dataset's flag store is fresh (flags are never
    computed here); seconds per step.

    ``hiexplore app`` (``app_support/serve.py``) then freezes the warmed heap out of the
    per-run garbage collection (``app_support.warm.freeze_heap``).
    """
    import time

    from .derived import store_is_fresh, stored_flags

    took: dict[str, float] = {}
    geography = DEFAULT_VIEW["geography"]
    if not (ds.areas["area_type"] == geography).any():
        return took
    t = time.perf_counter()
    try:
        geometry_file(ds, geography)
    except OSError:
        geometry_payload(ds, geography)  # the app sends the shapes inline then
    took["geometry_s"] = time.perf_counter() - t
    keys = ds.indicator_keys() if store_is_fresh(ds.path) else []  # never compute flags here
    if keys:
        indicator = DEFAULT_VIEW["indicator"] if DEFAULT_VIEW["indicator"] in keys else keys[0]
        periods = ds.periods(indicator)
        t = time.perf_counter()
        try:
            map_values_json(ds, indicator, geography, layer=DEFAULT_VIEW["layer"], period=periods[-1] if periods else None,
                            scheme=DEFAULT_VIEW["scheme"], palette=DEFAULT_VIEW["palette"], edition=None,
                            measure="imd", show_practices=False)
            flags = stored_flags(ds, indicator, geography, periods[-1] if periods else None)
            table = map_table(ds, flags, indicator, geography, periods[-1] if periods else None)
            if len(table) > MAP_TABLE_ROWS:  # the whole table's download
                map_table_csv(ds, flags, indicator, geography, periods[-1] if periods else None)
            area_choices(ds, geography)
            area_groups(ds, geography)
            if len(flags):  # the page's first area: the first of the flags' rows
                first = str(flags["area_code"].iloc[0])
                map_area_profile(ds, first, geography, flags_for=lambda key: stored_flags(ds, key, geography))
                from .trends import trend_series

                trend_series(ds, indicator, geography, first)  # the profile's trend chart (its panel)
        except HiexploreError:
            pass  # the page says why when it is opened
        took["values_s"] = time.perf_counter() - t
    return took
