"""Overview: what the dataset holds, the headline inequality per programme, flags to act on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_support.layout import banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.trends_block import overview_la_trends
from hiexplore.dataset import practice_counts
from hiexplore.page_views import deprivation_view, holdings_view, overview_headline
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("hiexplore: health inequalities explorer")
st.markdown(
    "Deprivation, cancer screening and childhood immunisation uptake on neighbourhood maps, with "
    "**low-uptake areas flagged** for Community Delivery outreach: reasons and people to reach."
)
banner(ds)

man = ds.manifest
c1, c2, c3, c4 = st.columns(4)
c1.metric("Neighbourhoods (LSOA 2021)", f"{(ds.areas['area_type'] == 'lsoa').sum():,}")
counts = practice_counts(ds.practices)
c2.metric("GP practices", f"{counts.own:,}",
          help="Commissioned for the areas or standing inside them, as on the Practices page (neighbours "
               "that only lend patients to neighbourhood figures are not counted)")
c3.metric("Indicators loaded", f"{len(ds.indicator_keys())}")
c4.metric("Catchments", ds.catchment_source)
st.caption(md(counts.sentence()) + ".")

st.header("Headline inequality by programme")
st.caption(
    "Uptake in the most vs least deprived fifth of neighbourhoods (IMD 2025 quintiles), and the slope "
    "index of inequality (SII: the gap in percentage points across the whole deprivation range; positive "
    "means uptake rises as deprivation falls)."
)
head = overview_headline(ds, busy=lambda: st.spinner("Headline figures ..."))
for key, problem in head.problems:
    st.warning(f"{md(indicator_label(key))}: {md(problem)}")
if head.mixed_note:
    st.warning(md(head.mixed_note))
shown = head.shown
if len(head.table):
    # one column per programme, one row per measure: reads at a glance and fits any width
    st.dataframe(head.table, hide_index=True, width="stretch")
source_caption(ds, indicators=shown, geography="lsoa", kinds=("deprivation",),
               lead="Flagged: LSOAs significantly below England (95% CI) or below the standard's acceptable level.")

st.header("Deprivation of the local authorities and ICB")
depr = deprivation_view(ds)
if len(depr.table):
    # the long per-edition notes go under the table, so that it fits without scrolling sideways
    st.dataframe(depr.table, hide_index=True, width="stretch", column_config={
        "area": st.column_config.TextColumn(width=235),
        "type": st.column_config.TextColumn(width=105),
        "IoD": st.column_config.TextColumn(width=70),
        "average score": st.column_config.TextColumn("avg score", width=75),
        "rank of average rank": st.column_config.TextColumn("rank of avg rank", width=115),
        "% LSOAs in most deprived 10%": st.column_config.NumberColumn(
            "% in most deprived 10%", format="%.1f%%", width=140,
            help="Share of the area's LSOAs in the most deprived 10% of England"),
        "LSOAs": st.column_config.NumberColumn(width=60),
    })
    for note in depr.notes:
        st.caption(md("Note, " + note))
st.caption(md(depr.caption))
source_caption(ds, kinds=("deprivation",), latest_deprivation=False)

# --- Recent trends by local authority (issue 14 item 2): a block of its own, app_support/trends_block.py
overview_la_trends(ds)

c1, c2, c3, c4 = st.columns(4)
c1.page_link("pages/map_explorer.py", label="Map explorer", icon=":material/map:")
c2.page_link("pages/practices.py", label="Compare practices", icon=":material/local_hospital:")
c3.page_link("pages/targets.py", label="Download target lists", icon=":material/target:")
c4.page_link("pages/inequalities.py", label="Inequality gradients", icon=":material/trending_down:")

st.header("What this dataset holds")
st.dataframe(holdings_view(ds), hide_index=True, width="stretch")
source_caption(ds, indicators=ds.indicator_keys())
missing = man.get("indicators_not_loaded", [])
if missing:
    with st.expander(f"{len(missing)} indicators not loaded (and the file that would fill each)"):
        st.dataframe(pd.DataFrame(missing), hide_index=True)
with st.expander("Sources, publishers, periods and licences"):
    src = pd.DataFrame(man.get("sources", []))
    if len(src):
        cols = [c for c in ("title", "publisher", "period", "licence", "file", "rows_kept", "sha256") if c in src]
        st.dataframe(src[cols], hide_index=True)
    st.caption(md(man.get("comparability", "")))
    for note in man.get("notes", []):  # notes name the source files: shown as text
        st.caption(f"Note: {md(note)}")
