"""Shared page furniture: the dataset picker, the synthetic/modelled banner, source captions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from hiexplore.catalogue import get_indicator
from hiexplore.dataset import Dataset
from hiexplore.mapping import caveat_note
from hiexplore.page_views import (
    indicator_label as indicator_label,  # re-exported: the pages' pickers
)
from hiexplore.safe_text import markdown_text as md

from .data import EMBEDDED, available_datasets, ensure_demo, get_dataset
from .state import write_default

GEO_LABELS = {
    "lsoa": "LSOA (neighbourhood)",
    "msoa": "MSOA",
    "ward": "Ward",
    "lad": "Local authority",
    "practice": "GP practice",
    "pcn": "PCN",
}


def dataset_sidebar() -> None:
    """Pick the dataset (embedded LLR by default; the URL keeps the choice)."""
    options = available_datasets()
    if not options:
        options = {"demo": ensure_demo()}
    names = list(options)
    env = os.environ.get("HIEXPLORE_DATASET")
    default = Path(env).name if env and Path(env).name in options else (EMBEDDED.name if EMBEDDED.name in options else names[0])
    current = st.query_params.get("dataset", default)
    if current not in options:
        current = default
    st.session_state["w_dataset"] = current
    if st.query_params.get("dataset") != current:
        write_default("dataset", current)

    def on_change() -> None:
        st.query_params["dataset"] = st.session_state["w_dataset"]

    choice = st.sidebar.selectbox(
        "Dataset", names, key="w_dataset", on_change=on_change,
        help="Any folder built by `hiexplore build` or `hiexplore demo` under data/.",
    )
    st.session_state["dataset_path"] = str(options[choice])
    ds = get_dataset(options[choice])
    if ds.synthetic:
        st.sidebar.error("SYNTHETIC demo data: not real figures.")
    else:
        st.sidebar.caption(f"Real data · built {md(str(ds.manifest.get('created', ''))[:10])} · LSOA {md(ds.vintage)}")
    if ds.catchment_source == "modelled":
        st.sidebar.warning("Catchments are MODELLED: neighbourhood figures are estimates.")
    n_damaged = len(ds.manifest.get("damaged_files") or [])
    if n_damaged:
        st.sidebar.warning(f"PARTIAL: built without {n_damaged} damaged source file(s); see the Data page.")


def current_dataset() -> Dataset:
    path = st.session_state.get("dataset_path")
    if not path:
        dataset_sidebar()
        path = st.session_state["dataset_path"]
    return get_dataset(Path(path))


def banner(ds: Dataset, geography: str = "lsoa") -> None:
    """The synthetic / modelled warning, on every screen that rests on it."""
    note = caveat_note(ds, geography)
    if note:
        (st.error if ds.synthetic else st.warning)(md(note))


def source_caption(ds: Dataset, indicator: str | None = None, period: str | None = None, *,
                   indicators: Sequence[str] | None = None, geography: str | None = None,
                   periods: Sequence[str] | None = None, kinds: Sequence[str] = (), lead: str = "",
                   latest_deprivation: bool = True) -> None:
    """One line under a figure or table: indicator, period, age, and the sources of what it shows
    (:func:`hiexplore.charts.source_line`: the indicator's own files and the geography's, when
    ``geography``, ``kinds`` or ``indicators`` say what the figure rests on; every source otherwise)."""
    from hiexplore.charts import source_line

    parts = [md(lead)] if lead else []
    if indicator:
        ind = get_indicator(indicator)
        parts.append(f"**{md(ind.name)}**")
    if period:
        parts.append(f"period {md(period)}")
    if indicator and period:
        from hiexplore.periods import figure_age

        age = figure_age(ds, period)
        if age.out_of_date:
            parts.append(f"**{md(age.mark)}**")
    if indicators is None and geography is None and not kinds:
        # called without saying what the figure rests on (as before this existed): every source
        line = ds.provenance_line()
    else:
        keys = list(indicators) if indicators is not None else ([indicator] if indicator else [])
        if periods is None and period and indicator:
            periods = [period]
        line = source_line(ds, keys, geography=geography, periods=periods, kinds=kinds,
                           latest_deprivation=latest_deprivation)
    # source titles and periods come from files: escaped, so they are shown and never read as markdown
    st.caption(" · ".join(parts + [md(line)]))


