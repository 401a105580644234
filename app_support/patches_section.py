"""Targets page, outreach patches (issue 14, item 1): settings, map, table and downloads.

Kept apart from ``pages/targets.py`` so the page's own layout can change without touching it:
the page calls :func:`patches_section` once, after its target list. Everything shown is
computed by :func:`hiexplore.patches.build_patches` (what ``hiexplore patches`` writes).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app_support.data import _load, dataset_stamp
from app_support.layout import GEO_LABELS
from hiexplore.dataset import Dataset
from hiexplore.errors import HiexploreError
from hiexplore.patches import (
    DEFAULT_MAX_KM,
    DEFAULT_MIN_PEOPLE,
    PATCH_GEOGRAPHIES,
    PATCH_TABLE_COLUMNS,
    MapChoice,
    build_patches,
    patches_on_map,
    patches_table_rows,
)
from hiexplore.safe_text import markdown_text as md

from .foliumview import show_folium

__all__ = ["patches_section", "get_patches_table", "get_patches_map", "get_patch_files", "patches_map_choice",
           "PATCH_FILES"]

#: the section's downloads: extension and MIME type
PATCH_FILES = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               ".geojson": "application/geo+json", ".gpkg": "application/geopackage+sqlite3"}


@st.cache_data(max_entries=16, ttl=3600, show_spinner="Grouping flagged areas into patches ...")
def _patches_frame(path: str, stamp: str, indicators: tuple[str, ...], geography: str, min_people: int,
                   max_km: float, seed: int, bridges: bool):
    return build_patches(_load(path, stamp), list(indicators), geography, min_people=min_people,
                         max_km=max_km, seed=seed, bridges=bridges)


@st.cache_resource(max_entries=16, ttl=3600, show_spinner="Grouping flagged areas into patches ...")
def _patches_table(path: str, stamp: str, indicators: tuple[str, ...], geography: str, min_people: int,
                   max_km: float, seed: int, bridges: bool):
    frame = _patches_frame(path, stamp, indicators, geography, min_people, max_km, seed, bridges)
    table = pd.DataFrame(frame[[c for c in PATCH_TABLE_COLUMNS if c in frame]])
    table.attrs = {"patches": dict(frame.attrs.get("patches", {}))}
    return table


def get_patches_table(ds: Dataset, indicators: list[str], geography: str, min_people: int, max_km: float,
                      seed: int, bridges: bool):
    """The section's table (:data:`PATCH_TABLE_COLUMNS`, no shapes) and its summary
    (``attrs["patches"]``), ONE frame every session reads (read only): a national list of
    patches with their shapes, unpickled per run, cost more than the rest of the page."""
    return _patches_table(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography,
                          *_settings(min_people, max_km, seed, bridges))


def _settings(min_people: int, max_km: float, seed: int, bridges: bool) -> tuple[int, float, int, bool]:
    return int(min_people), float(max_km), int(seed), bool(bridges)


def patch_file_stem(geography: str, indicators: list[str] | tuple[str, ...]) -> str:
    """The downloads' file name without extension (at most 80 characters)."""
    return f"patches_{geography}_{'_'.join(indicators)}"[:80]


@st.cache_data(max_entries=16, ttl=3600, show_spinner="Drawing the patches ...")
def _patches_map_frame(path: str, stamp: str, indicators: tuple[str, ...], geography: str, min_people: int,
                       max_km: float, seed: int, bridges: bool, made_on: str,
                       ids: tuple[str, ...] | None = None, note: str | None = None) -> dict[str, Any]:
    """``{"frame": rendered map, "error": None, "note": note, "made_ns": when}``, or no frame and
    the reason (e.g. no patch meets the floor): a reason is kept too, so an empty choice is not
    tried again on every run. ``ids``: the patches drawn (None: all), ``note`` saying which
    (:func:`hiexplore.patches.patches_on_map`)."""
    from hiexplore.a11y import label_map_frame, map_frame_label
    from hiexplore.maps import use_vendored_assets
    from hiexplore.patches import patches_map

    from .foliumview import folium_frame

    patches = _patches_frame(path, stamp, indicators, geography, min_people, max_km, seed, bridges)
    try:
        m = patches_map(_load(path, stamp), patches, made_on=dt.date.fromisoformat(made_on), ids=ids)
    except HiexploreError as err:
        return {"frame": None, "error": str(err), "note": note, "ids": ids, "made_ns": time.time_ns()}
    total = int((~patches["singleton"].astype(bool)).sum())
    what = (f"{total} outreach patches" if ids is None else f"{len(ids)} of the {total} outreach patches")
    lists = ("the same patches, then the flagged areas left alone" if ids is None
             else "every patch, then the flagged areas left alone")
    label_map_frame(m, map_frame_label(
        f"{what} (flagged {GEO_LABELS[geography]} areas grouped), shaded by people to reach", "patch",
        table="below", lists=lists))
    return {"frame": folium_frame(use_vendored_assets(m), key="patchmap"), "error": None, "note": note,
            "ids": ids, "made_ns": time.time_ns()}


def patches_map_choice(ds: Dataset, indicators: list[str], geography: str, min_people: int, max_km: float,
                       seed: int, bridges: bool, target_codes: Sequence[str] | None = None) -> MapChoice:
    """Which patches the map draws for the target areas shown (:func:`hiexplore.patches.patches_on_map`
    over the shared table: every patch up to :data:`hiexplore.patches.MAP_MAX_PATCHES`)."""
    table = get_patches_table(ds, indicators, geography, min_people, max_km, seed, bridges)
    return patches_on_map(table, None if target_codes is None else [str(c) for c in target_codes])


def get_patches_map(ds: Dataset, indicators: list[str], geography: str, min_people: int, max_km: float,
                    seed: int, bridges: bool, target_codes: Sequence[str] | None = None) -> dict[str, Any]:
    """The patches map (:func:`hiexplore.patches.patches_map`) rendered once per dataset, settings,
    patches drawn and day for every session: ``{"frame", "error", "note", "ids"}`` (:func:`_patches_map_frame`).

    Above :data:`hiexplore.patches.MAP_MAX_PATCHES` patches it draws those holding
    ``target_codes`` (the target areas shown above it), and ``note`` says so; below, every patch
    whatever the targets (one map per settings)."""
    choice = patches_map_choice(ds, indicators, geography, min_people, max_km, seed, bridges, target_codes)
    return _patches_map_frame(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography,
                              *_settings(min_people, max_km, seed, bridges), dt.date.today().isoformat(),
                              choice.ids, choice.note)


@st.cache_data(max_entries=16, ttl=3600, show_spinner="Writing the patch files ...")
def _patch_files(path: str, stamp: str, indicators: tuple[str, ...], geography: str, min_people: int,
                 max_km: float, seed: int, bridges: bool) -> dict[str, tuple[bytes | None, str]]:
    """Every download's bytes (None and the reason where a format cannot be written), by extension."""
    from hiexplore.exports import write_table

    patches = _patches_frame(path, stamp, indicators, geography, min_people, max_km, seed, bridges)
    ds = _load(path, stamp)
    stem = patch_file_stem(geography, indicators)
    out: dict[str, tuple[bytes | None, str]] = {}
    for ext in PATCH_FILES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                out[ext] = (write_table(patches, Path(tmp) / f"{stem}{ext}", ds=ds,
                                        kind="patches").read_bytes(), "")
            except HiexploreError as err:
                out[ext] = (None, str(err))
    return out


def get_patch_files(ds: Dataset, indicators: list[str], geography: str, min_people: int, max_km: float,
                    seed: int, bridges: bool) -> dict[str, tuple[bytes | None, str]]:
    """The files ``hiexplore patches`` writes for these settings, written once per dataset and
    settings for every session (four files took about 0.25 s of every Targets run)."""
    return _patch_files(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography,
                        *_settings(min_people, max_km, seed, bridges))


def patches_section(ds: Dataset, indicators: list[str], geography: str,
                    target_codes: Sequence[str] | None = None) -> None:
    """Patches as a map and a table, with the same downloads as ``hiexplore patches``.

    ``target_codes``: the target areas the page shows (its filters); above
    :data:`hiexplore.patches.MAP_MAX_PATCHES` patches the map draws the patches holding them, and
    says so (the table and downloads keep every patch)."""
    st.subheader("Outreach patches: a day's work each")
    if geography not in PATCH_GEOGRAPHIES:
        st.info("Patches group neighbourhoods (LSOA, MSOA or ward): choose one of those geographies.")
        return
    st.caption("Flagged neighbourhoods grouped into contiguous patches (touching boundaries) that each reach "
               "at least the floor of people to reach and span at most the distance below (between area "
               "centres). Max-p regions (PySAL spopt); see docs/patches.md.")
    c1, c2, c3, c4 = st.columns(4)
    min_people = c1.number_input("Floor: people to reach per patch", 0, 100000, DEFAULT_MIN_PEOPLE, 10,
                                 key="patch_min_people")
    max_km = c2.number_input("Largest span (km)", 0.5, 50.0, DEFAULT_MAX_KM, 0.5, key="patch_max_km")
    seed = c3.number_input("Seed", 0, 10**6, 0, 1, key="patch_seed")
    bridges = c4.checkbox("Let unflagged areas bridge two flagged parts", False, key="patch_bridges")
    try:
        patches = get_patches_table(ds, indicators, geography, min_people, max_km, seed, bridges)
    except HiexploreError as err:
        st.error(md(err))
        return
    info = patches.attrs.get("patches", {})
    st.markdown(f"**{info.get('patches', 0)} patches** reach **{info.get('people_to_reach_in_patches', 0):,.0f}** "
                f"people; **{info.get('areas_alone', 0)} flagged areas** could not join one and are listed "
                f"alone (**{info.get('people_to_reach_alone', 0):,.0f}** people).")
    st.caption(md("Practice shares: " + str(info.get("practices_basis", ""))))
    # the map full width and the table under it, as the Targets map above (in a half-width column
    # the map's title and legend boxes covered most of the patches)
    drawn = get_patches_map(ds, indicators, geography, min_people, max_km, seed, bridges, target_codes)
    if drawn.get("note"):
        st.caption(md(drawn["note"]))
    if drawn["frame"] is not None:
        show_folium(drawn["frame"], height=560)
    else:
        st.info("No patch map: " + md(drawn["error"]))
    rows, table_note = patches_table_rows(patches, drawn.get("ids") or ())
    st.dataframe(rows, hide_index=True, height=420,
                 width="stretch", column_config={
                     "patch_id": st.column_config.TextColumn("patch"),
                     "n_areas": st.column_config.NumberColumn("areas"),
                     "people_to_reach": st.column_config.NumberColumn("people to reach", format="localized"),
                     "most_deprived_decile": st.column_config.NumberColumn("most deprived decile", format="%d"),
                     "core20_share": st.column_config.ProgressColumn("Core20 share", min_value=0.0,
                                                                     max_value=1.0, format="percent"),
                     "span_km": st.column_config.NumberColumn("span (km)", format="%.1f"),
                     "reason": st.column_config.TextColumn("why (read aloud)", width="large"),
                 })
    if table_note:
        st.caption(md(table_note))
    cols = st.columns(4)
    stem = patch_file_stem(geography, indicators)
    files = get_patch_files(ds, indicators, geography, min_people, max_km, seed, bridges)
    for col, (ext, mime) in zip(cols, PATCH_FILES.items(), strict=True):
        data, why = files[ext]
        if data is None:
            col.warning(md(why))
            continue
        col.download_button(f"Patches {ext[1:].upper()}", data, file_name=f"{stem}{ext}", mime=mime,
                            key=f"patchdl{ext}")
    st.caption("The same files `hiexplore patches` writes (one row per patch, then the areas left alone; "
               "GeoJSON and GeoPackage with the union of each patch's areas; XLSX with a metadata sheet).")
