"""Inequalities: uptake by deprivation decile, SII and RII, trends, ethnicity, and a what-if."""

from __future__ import annotations

import streamlit as st

from app_support.data import get_flags
from app_support.layout import GEO_LABELS, banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_choice
from hiexplore.errors import HiexploreError
from hiexplore.inequality_report import SIGN_CONVENTION, ethnicity_share_columns
from hiexplore.page_views import (
    PREFERRED,
    default_indicator,
    ethnicity_view,
    gradient_view,
    inequality_trend_view,
    what_if_view,
)
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("Inequalities")
keys = ds.indicator_keys()
c1, c2, c3, c4 = st.columns([3, 2, 1.6, 1.6])  # the indicator's name is the longest
with c1:
    indicator = url_choice("Indicator", "ind", keys, default_indicator(ds, PREFERRED["inequalities"]),
                           format_func=indicator_label)
with c2:
    geography = url_choice("Areas", "geo", ["lsoa", "msoa", "ward", "practice"], "lsoa",
                           format_func=lambda g: GEO_LABELS.get(g, g))
with c3:
    by = url_choice("Group by", "by", ["imd_decile", "imd_quintile"], "imd_decile",
                    format_func=lambda b: "IMD decile" if b == "imd_decile" else "IMD quintile")
with c4:
    periods = ds.periods(indicator)
    period = url_choice("Period", "period", periods, periods[-1])
banner(ds, geography)
try:
    view = gradient_view(ds, indicator, geography, by, period, busy=lambda: st.spinner("Inequality gradient ..."))
except HiexploreError as err:
    st.error(md(err))
    st.stop()

rep, label = view.report, view.label
m1, m2, m3 = st.columns(3)
m1.metric("Slope index of inequality (SII)", f"{rep['sii']:.1f} pp", help=SIGN_CONVENTION)
m1.caption(f"95% CI {rep['sii_lower']:.1f} to {rep['sii_upper']:.1f} percentage points")
m2.metric("Relative index of inequality (RII)", f"{rep['rii']:.3f}")
m2.caption(f"95% CI {rep['rii_lower']:.3f} to {rep['rii_upper']:.3f}")
m3.metric(f"Gap: most vs least deprived {label}", f"{view.gap:.1f} pp")
st.caption(rep["direction"][:1].upper() + rep["direction"][1:] + ". " + SIGN_CONVENTION)

st.plotly_chart(view.figure, width="stretch")
if rep.get("suppressed"):
    st.caption(md(rep["suppressed"]))
source_caption(ds, indicator, rep["period"], geography=geography, kinds=("deprivation",))
st.dataframe(view.table, hide_index=True, column_config={
    "uptake %": st.column_config.NumberColumn(format="%.1f"),
    "95% CI low": st.column_config.NumberColumn(format="%.1f"),
    "95% CI high": st.column_config.NumberColumn(format="%.1f"),
    "population share %": st.column_config.NumberColumn(format="%.1f"),
})
st.caption("Numerators and denominators of neighbourhoods are apportioned estimates, rounded to whole people."
           if geography != "practice" else "Numerators and denominators as published per practice.")

# --- trend over periods
if len(periods) > 1:
    st.header("Trend")
    tv = inequality_trend_view(ds, indicator, geography, by,
                               busy=lambda: st.spinner("The gradient in every period ..."))
    st.plotly_chart(tv.figure, width="stretch")
    source_caption(ds, indicator, geography=geography, kinds=("deprivation",))
    st.dataframe(tv.table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.1f")
        for c in ("SII (pp)", "SII low (pp)", "SII high (pp)", "most deprived %", "least deprived %")})

# --- ethnicity
shares = ethnicity_share_columns(ds)
if geography == "lsoa" and shares:
    st.header("By ethnic-group share of the neighbourhood (Census 2021)")
    group = url_choice("Ethnic group", "eth", shares, shares[0], format_func=lambda c: c[6:].title())
    ev = ethnicity_view(ds, indicator, group, period, busy=lambda: st.spinner("Uptake by ethnic-group share ..."))
    st.plotly_chart(ev.figure, width="stretch")
    source_caption(ds, indicator, period, geography="lsoa", kinds=("ethnicity",))
    st.dataframe(ev.table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.1f") for c in ("uptake %", "95% CI low", "95% CI high")})

# --- what-if
st.header("What if the flagged areas reached the standard?")
try:
    get_flags(ds, indicator, geography, period=period)  # says why when there are none
except HiexploreError as err:
    st.info(md(err))
    st.stop()
whatif = what_if_view(ds, indicator, geography, by, period, busy=lambda: st.spinner("Raising the flagged areas ..."))
if whatif is None:
    st.info("This indicator has no national standard to raise areas to.")
else:
    target = whatif.target_pct
    w1, w2, w3 = st.columns(3)
    w1.metric("More people reached", f"{whatif.extra_reached:,.0f}")
    w2.metric("SII now", f"{whatif.sii_before:.1f} pp")
    w3.metric("SII after", f"{whatif.sii_after:.1f} pp", delta=f"{whatif.sii_change:.1f} pp", delta_color="inverse")
    st.caption(f"Raising every flagged {GEO_LABELS.get(geography, geography)} below {target:g}% to {target:g}% "
               "(the level people to reach counts towards), other areas unchanged.")
    source_caption(ds, indicator, period, geography=geography, kinds=("deprivation",))
