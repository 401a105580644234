"""Targets (planners): a ranked list of neighbourhoods for outreach, with reasons, map and downloads."""

from __future__ import annotations

import streamlit as st

from app_support.data import get_target_file
from app_support.foliumview import show_folium
from app_support.layout import GEO_LABELS, banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_bool, url_choice, url_int, url_multi
from app_support.targets_cache import TARGET_FILES, get_map_text, get_targets_map, shared_targets
from hiexplore.charts import TARGET_KEY_COLUMNS
from hiexplore.errors import HiexploreError
from hiexplore.safe_text import markdown_text as md
from hiexplore.targets_view import (
    DEFAULT_GEOGRAPHY,
    DEFAULT_TOP,
    default_indicators,
    select_targets,
    target_file_stem,
)

ensure_router()

ds = current_dataset()
st.title("Targets: where outreach changes most")
st.caption("Choose programmes and a geography: areas low on several programmes at once come first, then by "
           "priority (people to reach, deprivation with Core20 first, lower than expected, cold spots).")

keys = ds.indicator_keys()
default = default_indicators(ds)
c1, c2 = st.columns([3, 1])
with c1:
    indicators = url_multi("Indicators", "inds", keys, default, format_func=indicator_label)
with c2:
    geography = url_choice("Geography", "geo", ["lsoa", "msoa", "ward", "lad", "practice", "pcn"], DEFAULT_GEOGRAPHY,
                           format_func=lambda g: GEO_LABELS.get(g, g))
if not indicators:
    st.info("Choose at least one indicator.")
    st.stop()
banner(ds, geography)
try:
    targets = shared_targets(ds, indicators, geography)  # one frame for every session: read only
except HiexploreError as err:
    st.error(md(err))
    st.stop()

lk = ds.lookup
f1, f2 = st.columns([3, 2])
with f1:
    sel_lad: list[str] = []
    sel_pcn: list[str] = []
    if geography in ("lsoa", "msoa", "ward") and "lad_name" in lk:
        lads = lk.drop_duplicates("lad_code").set_index("lad_code")["lad_name"].to_dict()
        sel_lad = url_multi("Local authority", "lad", sorted(lads), format_func=lambda c: lads.get(c, c))
    elif geography in ("practice", "pcn"):
        pcns = ds.practices.dropna(subset=["pcn_code"]).drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"].to_dict()
        sel_pcn = url_multi("PCN", "pcn", sorted(pcns), format_func=lambda c: pcns.get(c, c))
with f2:
    sel_dec = url_multi("IMD decile", "dec", [str(d) for d in range(1, 11)])
f3, f4, f5 = st.columns([2, 1, 1], vertical_alignment="bottom")
with f3:
    core20 = url_bool("Core20 only (most deprived 20%)", "core20", False)
with f4:
    min_reach = url_int("Min. people to reach", "minreach", 0, 0, 100000)
with f5:
    top = url_int("Show the top N", "top", DEFAULT_TOP, 1, 100000)

sel = select_targets(ds, targets, geography, lads=sel_lad, pcns=sel_pcn, deciles=sel_dec, core20=core20,
                     min_reach=min_reach, top=top)

st.markdown(f"**{len(sel)} target areas** (of {int(targets['flagged'].sum())} flagged, {len(targets)} in all) · "
            f"combined people to reach: **{int(sel['people_to_reach'].sum()):,}**")
if targets.attrs.get("period_note"):
    (st.warning if targets.attrs.get("out_of_date") else st.info)(md(targets.attrs["period_note"]))
for item in targets.attrs.get("suppressed") or []:
    st.caption(md(item["text"]))
periods = [v["period"] for v in targets.attrs.get("periods", {}).values()]
if geography != "practice" and len(sel):
    try:  # rendered once per dataset and choice for every session (app_support/targets_cache.py)
        text = get_map_text(ds, indicators, geography, len(sel), GEO_LABELS.get(geography, geography))
        show_folium(get_targets_map(ds, indicators, geography, sel, text), height=560)
    except HiexploreError as err:
        st.info("No map: " + md(err))
elif geography == "practice":
    st.info("Practice targets are listed in the table (practices are points, not areas).")
# key columns first (rank, area, people to reach, reasons), so they show without scrolling sideways
show = [*TARGET_KEY_COLUMNS, "area_code", "indicators_flagged", "imd_decile", "core20", "trend", "out_of_date",
        "period_end", "priority_score"]
key_cols = {c: (st.column_config.NumberColumn(label, format="localized" if c == "people_to_reach" else "%d", width=w)
                if c != "area_name" and c != "reasons" else st.column_config.TextColumn(label, width=w))
            for c, (label, w) in TARGET_KEY_COLUMNS.items()}
st.dataframe(sel[[c for c in show if c in sel]], hide_index=True, height=420, width="stretch", column_config={
    **key_cols,
    "area_code": st.column_config.TextColumn("area code"),
    "indicators_flagged": st.column_config.NumberColumn("indicators flagged", format="%d"),
    "priority_score": st.column_config.NumberColumn("priority", format="%.2f"),
    "trend": st.column_config.TextColumn("recent trend", help="Fingertips recent trend of the figures the area "
                                         "is flagged on: 5 latest periods, 99.9% level"),
})
source_caption(ds, indicators=indicators, geography=geography, periods=periods,
               lead="Periods: " + "; ".join(f"{k}: {v['period']}" for k, v in targets.attrs.get("periods", {}).items()))

st.header("Download")
cols = st.columns(3)
stem = target_file_stem(geography, indicators)
for col, (ext, mime) in zip(cols, TARGET_FILES, strict=True):
    try:  # written once per choice and shared by every session (app_support.data)
        data = get_target_file(ds, indicators, geography, sel["area_code"].tolist(), f"{stem}{ext}")
    except HiexploreError as err:
        col.warning(md(err))
        continue
    col.download_button(f"Download {ext[1:].upper()}", data, file_name=f"{stem}{ext}", mime=mime, key=f"dl{ext}")
st.caption("The same files `hiexplore targets` writes. XLSX has a metadata sheet (sources, periods, methods, "
           "thresholds, weights, out-of-date and suppression warnings, generated time).")

# --- Outreach patches (issue 14, item 1): its own section, see app_support/patches_section.py ---
from app_support.patches_section import patches_section  # noqa: E402

patches_section(ds, indicators, geography, sel["area_code"].tolist())

# --- briefing pack (issue 14.3): one area's offline report, on the indicators chosen above
from app_support.briefing import briefing_block  # noqa: E402

_top = str(sel["area_code"].iloc[0]) if len(sel) else None
if geography == "lsoa" and _top is not None:  # the ward of the top target
    _wards = lk.loc[lk["lsoa_code"] == _top, "ward_code"]
    _top = str(_wards.iloc[0]) if len(_wards) else None
briefing_block(ds, indicators, kind=geography if geography in ("pcn", "ward", "lad", "icb") else
               ("pcn" if geography == "practice" else "ward"), area=_top)
