"""Map explorer (public health consultants): deprivation, uptake and flags on neighbourhood maps."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from app_support.data import get_flags, get_profile_flags
from app_support.layout import GEO_LABELS, banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_choice
from app_support.trends_block import profile_trend
from hiexplore.errors import HiexploreError
from hiexplore.mapping import DEPRIVATION_MEASURES, LAYERS, MAP_GEOGRAPHIES, area_at, indicator_map
from hiexplore.maps import use_vendored_assets
from hiexplore.profile import area_profile
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("Map explorer")
st.caption("Find the most deprived neighbourhoods with the lowest uptake. Click an area for its profile.")

keys = ds.indicator_keys()
c1, c2, c3 = st.columns(3)
with c1:
    layer = url_choice("Layer", "layer", list(LAYERS), "uptake",
                       format_func=lambda v: {"uptake": "Uptake", "deprivation": "Deprivation (IMD)",
                                              "flags": "Flags (low uptake outlined, cold spots dashed)"}[v])
with c2:
    geos = [g for g in MAP_GEOGRAPHIES if (ds.areas["area_type"] == g).any()]
    geography = url_choice("Geography", "geo", geos, "lsoa", format_func=lambda g: GEO_LABELS.get(g, g))
with c3:
    if layer == "deprivation":
        editions = [str(e) for e in sorted(ds.deprivation["edition"].unique())]
        edition = url_choice("IoD edition", "iod", editions, editions[-1])
        indicator = None
    else:
        indicator = url_choice("Indicator", "ind", keys, "mmr1_24m" if "mmr1_24m" in keys else keys[0],
                               format_func=indicator_label)
        edition = None
c4, c5, c6 = st.columns(3)
with c4:
    if layer == "deprivation":
        measures = [m for m in DEPRIVATION_MEASURES if f"{m}_decile" in ds.deprivation.columns
                    and ds.deprivation.loc[ds.deprivation["edition"] == int(edition), f"{m}_decile"].notna().any()]
        measure = url_choice("Measure", "measure", measures, "imd",
                             format_func=lambda m: "IMD (overall)" if m == "imd" else m.replace("_", " ").title() + " domain")
    else:
        measure = "imd"
        periods = ds.periods(indicator)
        period = url_choice("Period", "period", periods, periods[-1])
with c5:
    scheme_options = ["quantiles", "fisher_jenks", "equal_interval"] + (["standard"] if layer != "deprivation" else [])
    scheme = url_choice("Classes", "scheme", scheme_options,
                        "equal_interval" if layer == "deprivation" else "quantiles",
                        format_func=lambda s: {"quantiles": "Quantiles", "fisher_jenks": "Natural breaks (Fisher-Jenks)",
                                               "equal_interval": "Equal intervals", "standard": "Standard's bands"}[s])
with c6:
    palette = url_choice("Palette (colour-blind safe)", "pal", ["viridis", "cividis", "YlGnBu", "PuBu"], "viridis")

banner(ds, geography)
try:
    flags = None
    if layer != "deprivation":
        flags = get_flags(ds, indicator, geography, period=period)
    m = indicator_map(
        ds, indicator, geography, layer=layer, period=None if layer == "deprivation" else period,
        scheme=scheme, palette=palette, edition=int(edition) if edition else None, measure=measure,
        values=flags,
    )
except HiexploreError as err:
    st.error(md(err))
    st.stop()

left, right = st.columns([5, 3])
with left:
    out = st_folium(use_vendored_assets(m), height=680, use_container_width=True,
                    returned_objects=["last_active_drawing", "last_clicked"], key="map")
    source_caption(ds, indicator, None if layer == "deprivation" else period)
# A click selects the area under it: the shape's own code on the classic map, else (the national
# zoom map draws local authorities or MSOAs when zoomed out) the chosen geography's area at the
# clicked point. Only a new click counts, so the area box keeps a choice made after it.
clicked = None
drawing = (out or {}).get("last_active_drawing") or {}
point = (out or {}).get("last_clicked") or {}
seen = ((drawing.get("properties") or {}).get("c"), point.get("lat"), point.get("lng"))
before = st.session_state.get("map_click_seen", (None, None, None))
if any(v is not None for v in seen) and seen != before:
    st.session_state["map_click_seen"] = seen
    if seen[0] is not None and seen[0] != before[0]:
        clicked = seen[0]
    elif point:
        clicked = area_at(ds, geography, point.get("lat"), point.get("lng"))

with right:
    if flags is not None:
        table = flags[["area_code", "area_name", "value", "lower_ci_95", "upper_ci_95", "imd_decile",
                       "people_to_reach", "flagged", "trend", "estimate_note"]].sort_values("value")
        age_mark = flags.attrs.get("age_mark") if flags.attrs.get("out_of_date") else ""
        st.markdown(f"**{len(table)} areas, {int(flags['flagged'].sum())} flagged** (sortable table; lowest first)"
                    + (f" · **{age_mark}**" if age_mark else ""))
        if flags.attrs.get("suppressed"):
            st.caption(flags.attrs["suppressed"]["text"])
        st.dataframe(
            table, hide_index=True, height=640,
            column_config={
                "value": st.column_config.NumberColumn("uptake %", format="%.1f"),
                "lower_ci_95": st.column_config.NumberColumn("95% CI low", format="%.1f"),
                "upper_ci_95": st.column_config.NumberColumn("95% CI high", format="%.1f"),
                "people_to_reach": st.column_config.NumberColumn("people to reach", format="localized"),
                "trend": st.column_config.TextColumn("recent trend", help="Fingertips recent trend: chi-squared "
                                                     "test for trend over the 5 latest periods, 99.9% level"),
                "imd_decile": st.column_config.NumberColumn(
                    "IMD decile" if geography == "lsoa" else "IMD decile of mean LSOA rank",
                    help=None if geography == "lsoa" else "Decile of the population-weighted mean LSOA rank: "
                    "not an MHCLG measure (see the Overview for MHCLG's local authority summaries)."),
            },
        )
    else:
        dep = ds.deprivation[ds.deprivation["edition"] == int(edition)]
        lk = ds.lookup[["lsoa_code", "lsoa_name", "lad_name"]] if "lad_name" in ds.lookup else ds.lookup[["lsoa_code"]]
        cols = ["lsoa_code", "imd_decile", "imd_rank"] + (["imd_score"] if dep["imd_score"].notna().any() else [])
        table = lk.merge(dep[cols], on="lsoa_code").sort_values("imd_rank")
        st.markdown(f"**{len(table)} neighbourhoods by IMD {edition} rank** (1 = most deprived in England)")
        st.dataframe(table, hide_index=True, height=520)

st.subheader("Area profile")
codes = flags["area_code"].tolist() if flags is not None else ds.areas.loc[ds.areas["area_type"] == geography, "area_code"].tolist()
names = ds.areas[ds.areas["area_type"] == geography].drop_duplicates("area_code").set_index("area_code")["area_name"]
if clicked in codes:
    st.query_params["area"] = clicked
area = url_choice("Area (or click the map)", "area", codes, clicked or (codes[0] if codes else None),
                  format_func=lambda c: f"{names.get(c, c)} ({c})")
if area:
    prof = area_profile(ds, area, geography, flags_for=lambda key: (
        get_flags(ds, key, geography) if key == indicator else get_profile_flags(ds, key, geography)))
    st.markdown(f"**Profile of {md(names.get(area, area))} ({md(area)})**")
    stale = prof.out_of_date_labels()
    if stale:
        st.warning(md(f"Out of date in this profile: {', '.join(stale)} (period ended more than 2 years "
                      "before the newest figures in this dataset)."))
    if prof.deprivation_line():
        st.markdown(prof.deprivation_line())
    if prof.practices_line():
        st.markdown(md(prof.practices_line()))
    if not prof.indicators.empty:
        st.dataframe(prof.table(), hide_index=True,
                     column_config={"age": st.column_config.TextColumn("age", width="medium"),
                                    "value %": st.column_config.NumberColumn(format="%.1f"),
                                    "benchmark %": st.column_config.NumberColumn(format="%.1f"),
                                    "people to reach": st.column_config.NumberColumn(format="localized")})
        # the recent trend of one indicator here (issue 14 item 2): app_support/trends_block.py
        profile_trend(ds, area, geography, prof.indicators["indicator"].tolist(), indicator)
    source_caption(ds)
