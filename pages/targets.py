"""Targets (planners): a ranked list of neighbourhoods for outreach, with reasons, map and downloads."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from app_support.data import get_target_file, get_targets
from app_support.layout import GEO_LABELS, banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_bool, url_choice, url_int, url_multi
from hiexplore.catalogue import get_indicator
from hiexplore.errors import HiexploreError
from hiexplore.mapping import caveat_note
from hiexplore.maps import choropleth, use_vendored_assets
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("Targets: where outreach changes most")
st.caption("Choose programmes and a geography: areas low on several programmes at once come first, then by "
           "priority (people to reach, deprivation with Core20 first, lower than expected, cold spots).")

keys = ds.indicator_keys()
default = [k for k in ("mmr1_24m", "cervical_screening_25_49") if k in keys] or keys[:1]
c1, c2 = st.columns([3, 1])
with c1:
    indicators = url_multi("Indicators", "inds", keys, default, format_func=indicator_label)
with c2:
    geography = url_choice("Geography", "geo", ["lsoa", "msoa", "ward", "lad", "practice", "pcn"], "lsoa",
                           format_func=lambda g: GEO_LABELS.get(g, g))
if not indicators:
    st.info("Choose at least one indicator.")
    st.stop()
banner(ds, geography)
try:
    targets = get_targets(ds, indicators, geography)
except HiexploreError as err:
    st.error(md(err))
    st.stop()

f1, f2, f3, f4, f5 = st.columns(5)
lk = ds.lookup
with f1:
    if geography in ("lsoa", "msoa", "ward") and "lad_name" in lk:
        lads = lk.drop_duplicates("lad_code").set_index("lad_code")["lad_name"].to_dict()
        sel_lad = url_multi("Local authority", "lad", sorted(lads), format_func=lambda c: lads.get(c, c))
    else:
        sel_lad = []
with f2:
    if geography in ("practice", "pcn"):
        pcns = ds.practices.dropna(subset=["pcn_code"]).drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"].to_dict()
        sel_pcn = url_multi("PCN", "pcn", sorted(pcns), format_func=lambda c: pcns.get(c, c))
    else:
        sel_pcn = []
with f3:
    sel_dec = url_multi("IMD decile", "dec", [str(d) for d in range(1, 11)])
with f4:
    core20 = url_bool("Core20 only (most deprived 20%)", "core20", False)
with f5:
    min_reach = url_int("Min. people to reach", "minreach", 0, 0, 100000)
top = url_int("Show the top N", "top", 50, 1, 100000)

sel = targets[targets["flagged"]].copy()
if sel_lad:
    col = f"{geography}_code"
    if geography == "lsoa":
        codes = set(lk.loc[lk["lad_code"].isin(sel_lad), "lsoa_code"])
    else:
        codes = set(lk.loc[lk["lad_code"].isin(sel_lad), col])
    sel = sel[sel["area_code"].isin(codes)]
if sel_pcn:
    if geography == "pcn":
        sel = sel[sel["area_code"].isin(sel_pcn)]
    else:
        sel = sel[sel["area_code"].isin(ds.practices.loc[ds.practices["pcn_code"].isin(sel_pcn), "practice_code"])]
if sel_dec:
    sel = sel[sel["imd_decile"].astype("Int64").astype(str).isin(sel_dec)]
if core20:
    sel = sel[sel["core20"].fillna(False).astype(bool)]
sel = sel[sel["people_to_reach"] >= min_reach].head(top)

st.markdown(f"**{len(sel)} target areas** (of {int(targets['flagged'].sum())} flagged, {len(targets)} in all) · "
            f"combined people to reach: **{int(sel['people_to_reach'].sum()):,}**")
if targets.attrs.get("period_note"):
    (st.warning if targets.attrs.get("out_of_date") else st.info)(md(targets.attrs["period_note"]))
for item in targets.attrs.get("suppressed") or []:
    st.caption(md(item["text"]))
left, right = st.columns([1, 1])
with right:
    show = ["priority_rank", "area_code", "area_name", "indicators_flagged", "out_of_date", "people_to_reach", "imd_decile", "core20",
            "priority_score", "period_end", "reasons"]
    st.dataframe(sel[[c for c in show if c in sel]], hide_index=True, height=520, column_config={
        "people_to_reach": st.column_config.NumberColumn("people to reach", format="localized"),
        "priority_score": st.column_config.NumberColumn("priority", format="%.2f"),
        "reasons": st.column_config.TextColumn("reasons", width="large"),
    })
with left:
    if geography != "practice":
        areas = ds.areas[ds.areas["area_type"] == geography][["area_code", "area_name", "geometry"]]
        vals = sel[["area_code", "people_to_reach", "reasons", "imd_decile"]].rename(columns={"people_to_reach": "value"})
        vals["flagged"] = True
        try:
            m = choropleth(areas, vals, title="Target areas: people to reach ("
                           + ", ".join(get_indicator(k).short_name for k in indicators) + ")"
                           + (f" · {targets.attrs['age_mark']}" if targets.attrs.get("age_mark") else ""),
                           units="people", source_line=ds.provenance_line(limit=2), legend_title="People to reach",
                           scheme="quantiles", k=min(5, max(1, len(vals))), higher_is_better=False,
                           synthetic_or_modelled_note=caveat_note(ds, geography),
                           tooltip_fields={"imd_decile": "IMD decile"})
            st_folium(use_vendored_assets(m), height=520, use_container_width=True, returned_objects=[], key="tmap")
        except HiexploreError as err:
            st.info("No map: " + md(err))
    else:
        st.info("Practice targets are listed in the table (practices are points, not areas).")
source_caption(ds, None, "; ".join(f"{k}: {v['period']}" for k, v in targets.attrs.get("periods", {}).items()))

st.subheader("Download")
full = targets.loc[targets["area_code"].isin(sel["area_code"])]
full.attrs.update(targets.attrs)
cols = st.columns(3)
stem = f"targets_{geography}_{'_'.join(indicators)}"[:80]
for col, ext, mime in zip(cols, (".csv", ".xlsx", ".geojson"),
                          ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           "application/geo+json"), strict=True):
    try:  # written once per choice and shared by every session (app_support.data)
        data = get_target_file(ds, indicators, geography, full["area_code"].tolist(), f"{stem}{ext}")
    except HiexploreError as err:
        col.warning(md(err))
        continue
    col.download_button(f"Download {ext[1:].upper()}", data, file_name=f"{stem}{ext}", mime=mime, key=f"dl{ext}")
st.caption("The same files `hiexplore targets` writes. XLSX has a metadata sheet (sources, periods, methods, "
           "thresholds, weights, out-of-date and suppression warnings, generated time).")
