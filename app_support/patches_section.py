"""Targets page, outreach patches (issue 14, item 1): settings, map, table and downloads.

Kept apart from ``pages/targets.py`` so the page's own layout can change without touching it:
the page calls :func:`patches_section` once, after its target list. Everything shown is
computed by :func:`hiexplore.patches.build_patches` (what ``hiexplore patches`` writes).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st
from streamlit_folium import st_folium

from app_support.data import _load, dataset_stamp
from app_support.layout import GEO_LABELS
from hiexplore.a11y import label_map_frame, map_frame_label
from hiexplore.dataset import Dataset
from hiexplore.errors import HiexploreError
from hiexplore.exports import write_table
from hiexplore.maps import use_vendored_assets
from hiexplore.patches import (
    DEFAULT_MAX_KM,
    DEFAULT_MIN_PEOPLE,
    PATCH_GEOGRAPHIES,
    PATCH_TABLE_COLUMNS,
    build_patches,
    patches_map,
)
from hiexplore.safe_text import markdown_text as md

__all__ = ["patches_section", "get_patches"]


@st.cache_data(max_entries=16, ttl=3600, show_spinner="Grouping flagged areas into patches ...")
def _patches_frame(path: str, stamp: str, indicators: tuple[str, ...], geography: str, min_people: int,
                   max_km: float, seed: int, bridges: bool):
    return build_patches(_load(path, stamp), list(indicators), geography, min_people=min_people,
                         max_km=max_km, seed=seed, bridges=bridges)


def get_patches(ds: Dataset, indicators: list[str], geography: str, min_people: int, max_km: float,
                seed: int, bridges: bool):
    """:func:`build_patches`, cached per dataset and settings (bounded)."""
    frame = _patches_frame(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography, int(min_people),
                           float(max_km), int(seed), bool(bridges))
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    return out


def patches_section(ds: Dataset, indicators: list[str], geography: str) -> None:
    """Patches as a map and a table, with the same downloads as ``hiexplore patches``."""
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
        patches = get_patches(ds, indicators, geography, min_people, max_km, seed, bridges)
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
    try:
        m = patches_map(ds, patches)
        shown = int((~patches["singleton"].astype(bool)).sum())
        label_map_frame(m, map_frame_label(
            f"{shown} outreach patches (flagged {GEO_LABELS[geography]} areas grouped), shaded by people to "
            "reach", "patch", table="below", lists="the same patches, then the flagged areas left alone"))
        st_folium(use_vendored_assets(m), height=560, use_container_width=True, returned_objects=[],
                  key="patchmap")
    except HiexploreError as err:
        st.info("No patch map: " + md(err))
    st.dataframe(patches[[c for c in PATCH_TABLE_COLUMNS if c in patches]], hide_index=True, height=420,
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
    cols = st.columns(4)
    stem = f"patches_{geography}_{'_'.join(indicators)}"[:80]
    mimes = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             ".geojson": "application/geo+json", ".gpkg": "application/geopackage+sqlite3"}
    for col, (ext, mime) in zip(cols, mimes.items(), strict=True):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                data = write_table(patches, Path(tmp) / f"{stem}{ext}", ds=ds, kind="patches").read_bytes()
            except HiexploreError as err:
                col.warning(md(err))
                continue
        col.download_button(f"Patches {ext[1:].upper()}", data, file_name=f"{stem}{ext}", mime=mime,
                            key=f"patchdl{ext}")
    st.caption("The same files `hiexplore patches` writes (one row per patch, then the areas left alone; "
               "GeoJSON and GeoPackage with the union of each patch's areas; XLSX with a metadata sheet).")
