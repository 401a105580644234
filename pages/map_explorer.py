"""Map explorer (public health consultants): deprivation, uptake and flags on neighbourhood maps."""

from __future__ import annotations

import streamlit as st

from app_support.data import get_flags, get_profile_flags
from app_support.layout import GEO_LABELS, current_dataset, indicator_label, source_caption
from app_support.mapview import map_values, map_view
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_choice
from app_support.trends_block import profile_trend
from hiexplore.errors import HiexploreError
from hiexplore.map_payload import (
    MAP_TABLE_ROWS,
    area_choices,
    area_groups,
    map_area_profile,
    map_table,
    map_table_csv,
)
from hiexplore.map_values import PALETTES
from hiexplore.mapping import DEPRIVATION_MEASURES, LAYERS, MAP_GEOGRAPHIES, area_at
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("Map explorer")
st.caption("Find the most deprived neighbourhoods with the lowest uptake. Click an area for its profile.")

keys = ds.indicator_keys()
# The map is the largest thing on the page and starts above the fold: the four choices that say
# what is mapped sit above it; how it is coloured (classes, palette, practices) just under it.
c1, c2, c3, c4 = st.columns([1.25, 1.05, 1.7, 1])
map_slot = st.container()
c5, c6, c7 = st.columns([1.25, 1.05, 2.7], vertical_alignment="bottom")
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
with c4:
    period = None
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
    palette = url_choice("Palette", "pal", list(PALETTES), "viridis",
                         help="Sequential palettes that stay ordered for colour-blind readers; darker = worse.")
with c7:
    # GP practice circles would bury small neighbourhoods: off by default at LSOA level
    show_practices = st.checkbox("Show GP practices (circle area = list size)", value=geography != "lsoa",
                                 key=f"practices_{geography}")
try:
    flags = None
    if layer != "deprivation":
        flags = get_flags(ds, indicator, geography, period=period)
    # the same stored flags as the table's (England benchmark), as JSON shared by every session
    values = map_values(ds, indicator, geography, layer=layer, period=period, scheme=scheme, palette=palette,
                        edition=int(edition) if edition else None, measure=measure, show_practices=show_practices)
    with map_slot:
        out = map_view(ds, geography, values, height=620, show_practices=show_practices)
except HiexploreError as err:
    map_slot.error(md(err))
    st.stop()
# A click selects the area under it: the shape's own code where it is one of the chosen geography,
# else (the national zoom map draws local authorities or MSOAs when zoomed out) the chosen
# geography's area at the clicked point. Only a new click counts, so the area box keeps a choice
# made after it.
clicked = None
click = (out or {}).get("click") or {}
seen = (click.get("n"), click.get("lat"), click.get("lng"))
if click and seen != st.session_state.get("map_click_seen"):
    st.session_state["map_click_seen"] = seen
    clicked = click.get("code") or area_at(ds, geography, click.get("lat"), click.get("lng"))

if flags is not None:
    table = map_table(ds, flags, indicator, geography, period)  # every area; repeated words as categories
    age_mark = flags.attrs.get("age_mark") if flags.attrs.get("out_of_date") else ""
    st.markdown(f"**{len(table)} areas, {int(flags['flagged'].sum())} flagged** (the map's figures as a sortable "
                "table; lowest first)" + (f" · **{age_mark}**" if age_mark else ""))
    if flags.attrs.get("suppressed"):
        st.caption(flags.attrs["suppressed"]["text"])
    if len(table) > MAP_TABLE_ROWS:  # a national table: the lowest rows here, every row in the download
        st.caption(f"Showing the {MAP_TABLE_ROWS:,} lowest of {len(table):,} areas (sorting here sorts these); "
                   "download the whole table below.")
    st.dataframe(
        table.head(MAP_TABLE_ROWS), hide_index=True, height=360,
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
    if len(table) > MAP_TABLE_ROWS:
        st.download_button(f"Download all {len(table):,} areas (CSV)", map_table_csv(ds, flags, indicator, geography, period),
                           file_name=f"{indicator}_{geography}_{period}.csv".replace("/", "-").replace(" ", "_"),
                           mime="text/csv", on_click="ignore")
else:
    dep = ds.deprivation[ds.deprivation["edition"] == int(edition)]
    lk = ds.lookup[["lsoa_code", "lsoa_name", "lad_name"]] if "lad_name" in ds.lookup else ds.lookup[["lsoa_code"]]
    cols = ["lsoa_code", "imd_decile", "imd_rank"] + (["imd_score"] if dep["imd_score"].notna().any() else [])
    table = lk.merge(dep[cols], on="lsoa_code").sort_values("imd_rank")
    st.markdown(f"**{len(table)} neighbourhoods by IMD {edition} rank** (1 = most deprived in England)")
    st.dataframe(table, hide_index=True, height=360)
# the sources of the map and its table, under both: the table stays directly below the map (the
# map's legend carries its own source line)
source_caption(ds, None if layer == "deprivation" else indicator, None if layer == "deprivation" else period,
               geography=geography, kinds=("boundaries",) + (("deprivation",) if layer == "deprivation" else ()))

st.header("Area profile")
codes = flags["area_code"].tolist() if flags is not None else ds.areas.loc[ds.areas["area_type"] == geography, "area_code"].tolist()
labels = area_choices(ds, geography)  # "Name (code)", built once per dataset and geography
if clicked in codes:
    st.query_params["area"] = clicked
groups = area_groups(ds, geography)  # None, or areas by local authority (national size)
if groups is None:
    area = url_choice("Area (or click the map)", "area", codes, clicked or (codes[0] if codes else None),
                      format_func=lambda c: labels.get(c, c))
else:
    by_group, group_of = groups
    wanted = clicked or st.query_params.get("area") or (codes[0] if codes else None)
    if clicked in group_of:  # a click on the map moves the first box to the clicked area's authority
        st.query_params["alad"] = group_of[clicked]
    g1, g2 = st.columns([1, 2])
    with g1:
        group = url_choice("Local authority of the area", "alad", list(by_group),
                           group_of.get(wanted, next(iter(by_group))))
    members = by_group[group]
    with g2:
        area = url_choice("Area (or click the map)", "area", members, wanted if wanted in members else members[0],
                          format_func=lambda c: labels.get(c, c))
if area:
    # once per loaded dataset and area: the latest stored flags of every indicator
    prof = map_area_profile(ds, area, geography, flags_for=lambda key: get_profile_flags(ds, key, geography))
    st.markdown(f"**Profile of {md(prof.area_name)} ({md(area)})**")
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
