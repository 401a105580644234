"""The Targets page's map, made once per choice for every session, and its warm-up (issue 13).

A Targets page load used to build its folium map (reproject, simplify, one tooltip per area) and
render it through streamlit-folium on every run: about 0.3 s of server CPU per page load, paid
by every session. :func:`get_targets_map` keeps the rendered map (:func:`.foliumview.folium_frame`)
in a bounded cache shared by the sessions, keyed by the dataset (path and stamp: a rebuilt dataset
gets new maps), the indicators, the geography, the target areas shown (after the page's filters)
and the map's words and date; :func:`warm_targets` makes the default choice's list, map, files and
outreach patches before the server listens, so that no session pays for them (the warmed
heap is then frozen out of Streamlit's per-run garbage collection by ``serve.py``).
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from hiexplore.dataset import Dataset
from hiexplore.errors import HiexploreError

from .data import _load, dataset_stamp, get_target_file, targets_frame

__all__ = ["get_targets_map", "targets_map_frame", "shared_targets", "get_map_text", "warm_targets",
           "TARGET_FILES"]

#: what the Targets page imports beyond ``app_support.warm.WARM_MODULES`` (folium.plugins compiles
#: its templates on import: about 0.1 s of the page's first load); no component module here
WARM_IMPORTS = ("folium.plugins", "app_support.briefing", "app_support.patches_section", "hiexplore.brief")
#: the page's downloads: extension and MIME type
TARGET_FILES = (
    (".csv", "text/csv"),
    (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (".geojson", "application/geo+json"),
)


@st.cache_data(max_entries=32, ttl=3600, show_spinner="Drawing the map ...")
def targets_map_frame(path: str, stamp: str, indicators: tuple[str, ...], geography: str, codes: tuple[str, ...],
                      title: str, source: str, note: str | None, label: str, made_on: str) -> dict[str, Any]:
    """The rendered targets map of the rows ``codes`` of the ranked list (component arguments, and
    ``made_ns``: when it was rendered).

    ``made_on`` (ISO date) is the legend's date: part of the key, so a map made yesterday is not
    shown today.
    """
    from hiexplore.a11y import label_map_frame
    from hiexplore.charts import targets_map
    from hiexplore.maps import use_vendored_assets

    from .foliumview import folium_frame

    targets = targets_frame(path, stamp, indicators, geography)
    sel = targets[targets["area_code"].isin(codes)]
    m = targets_map(_load(path, stamp), sel, geography, title=title, source=source, note=note,
                    made_on=dt.date.fromisoformat(made_on))
    label_map_frame(m, label)
    return {**folium_frame(use_vendored_assets(m), key="tmap"), "made_ns": time.time_ns()}


def get_targets_map(ds: Dataset, indicators: Sequence[str], geography: str, sel, text) -> dict[str, Any]:
    """The targets map of the rows of ``sel`` (:func:`hiexplore.targets_view.select_targets`) with
    the words of ``text`` (:func:`hiexplore.targets_view.targets_map_text`), rendered once per
    dataset and choice; raises the :class:`~hiexplore.errors.HiexploreError` saying why there is
    no map (e.g. no target area has a boundary)."""
    return targets_map_frame(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography,
                             tuple(str(c) for c in sel["area_code"]), text.title, text.source, text.note,
                             text.label, dt.date.today().isoformat())


def shared_targets(ds: Dataset, indicators: Sequence[str], geography: str):
    """The ranked list (:func:`.data.targets_frame`): ONE frame every session reads. Read only:
    :func:`hiexplore.targets_view.select_targets` returns a new frame."""
    return targets_frame(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _map_text(path: str, stamp: str, indicators: tuple[str, ...], geography: str, shown: int, label: str):
    from hiexplore.targets_view import targets_map_text

    targets = targets_frame(path, stamp, indicators, geography)
    return targets_map_text(_load(path, stamp), targets, list(indicators), geography, shown, label)


def get_map_text(ds: Dataset, indicators: Sequence[str], geography: str, shown: int, label: str):
    """:func:`hiexplore.targets_view.targets_map_text` once per dataset and choice (its source line
    reads every indicator row of the dataset)."""
    return _map_text(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography, int(shown), label)


def warm_targets(ds: Dataset, *, echo: Callable[[str], None] | None = None) -> float:
    """Make what a first Targets page load asks for with the default choice: the ranked list, the
    map of the top targets, the three downloads and the outreach patches (their map and files).
    Seconds taken.

    Runs in ``app_support.warm.warm_up`` before the server listens (no component is declared
    here), and only over a fresh derived store (without one, the flags would be computed here: the
    page does that on first use, in memory). A part that cannot be made is left to the page, which
    says why; ``echo`` is told which. (``serve.py`` then freezes the warmed heap out of the
    per-run garbage collection: :func:`app_support.warm.freeze_heap`.)
    """
    from hiexplore.derived import store_is_fresh
    from hiexplore.patches import DEFAULT_MAX_KM, DEFAULT_MIN_PEOPLE
    from hiexplore.targets_view import (
        DEFAULT_GEOGRAPHY,
        DEFAULT_TOP,
        default_indicators,
        select_targets,
        target_file_stem,
    )

    from .layout import GEO_LABELS
    from .patches_section import get_patch_files, get_patches_map, get_patches_table

    t0 = time.perf_counter()
    say = echo or (lambda _msg: None)
    for name in WARM_IMPORTS:
        importlib.import_module(name)
    indicators = default_indicators(ds)
    geography = DEFAULT_GEOGRAPHY
    if not indicators or not store_is_fresh(ds.path):
        return time.perf_counter() - t0
    try:
        targets = shared_targets(ds, indicators, geography)
        sel = select_targets(ds, targets, geography, top=DEFAULT_TOP)
        if len(sel):
            try:
                get_targets_map(ds, indicators, geography, sel,
                                get_map_text(ds, indicators, geography, len(sel), GEO_LABELS[geography]))
            except HiexploreError as err:  # e.g. no target has a boundary: the page says why
                say(f"note: Targets map not made at start ({err})")
        stem = target_file_stem(geography, indicators)
        for ext, _mime in TARGET_FILES:
            try:
                get_target_file(ds, indicators, geography, sel["area_code"].tolist(), f"{stem}{ext}")
            except HiexploreError as err:  # this format cannot be written: the page says why
                say(f"note: Targets {ext} not made at start ({err})")
        settings = (DEFAULT_MIN_PEOPLE, float(DEFAULT_MAX_KM), 0, False)
        get_patches_table(ds, indicators, geography, *settings)
        get_patches_map(ds, indicators, geography, *settings, sel["area_code"].tolist())
        get_patch_files(ds, indicators, geography, *settings)
    except HiexploreError as err:
        say(f"note: the Targets page's default choice not made at start ({err}); the page makes it on first use")
    return time.perf_counter() - t0
