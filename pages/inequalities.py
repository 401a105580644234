"""Inequalities: uptake by deprivation decile, SII and RII, trends, ethnicity, and a what-if."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_support.data import get_flags, get_inequality
from app_support.layout import GEO_LABELS, banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_choice
from hiexplore.errors import HiexploreError
from hiexplore.inequality_report import (
    SIGN_CONVENTION,
    ethnicity_gradient,
    ethnicity_share_columns,
    inequality_trend,
    what_if_standard,
)
from hiexplore.safe_text import html_text as ht
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("Inequalities")
keys = ds.indicator_keys()
c1, c2, c3, c4 = st.columns(4)
with c1:
    indicator = url_choice("Indicator", "ind", keys, "mmr1_24m" if "mmr1_24m" in keys else keys[0],
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
    rep = get_inequality(ds, indicator, geography, by, period)
except HiexploreError as err:
    st.error(md(err))
    st.stop()

groups = pd.DataFrame(rep["groups"])
label = "IMD decile" if by == "imd_decile" else "IMD quintile"
m1, m2, m3 = st.columns(3)
m1.metric("Slope index of inequality (SII)", f"{rep['sii']:.1f} pp", help=SIGN_CONVENTION)
m1.caption(f"95% CI {rep['sii_lower']:.1f} to {rep['sii_upper']:.1f} percentage points")
m2.metric("Relative index of inequality (RII)", f"{rep['rii']:.3f}")
m2.caption(f"95% CI {rep['rii_lower']:.3f} to {rep['rii_upper']:.3f}")
m3.metric(f"Gap: most vs least deprived {label}", f"{groups['value'].iloc[-1] - groups['value'].iloc[0]:.1f} pp")
st.caption(rep["direction"][:1].upper() + rep["direction"][1:] + ". " + SIGN_CONVENTION)

fig = go.Figure(go.Bar(
    x=groups["group"].astype(str), y=groups["value"], marker_color="#0072b2",
    error_y={"type": "data", "symmetric": False, "array": groups["upper_ci_95"] - groups["value"],
             "arrayminus": groups["value"] - groups["lower_ci_95"], "color": "#333"},
    customdata=[label] * len(groups),  # text is data; the template stays constant
    hovertemplate="%{customdata} %{x}: %{y:.1f}%<extra></extra>",
))
fig.update_layout(title=f"{ht(indicator_label(indicator))} by {label}, {ht(rep['period'])} (1 = most deprived)"
                  + (f"<br>{ht(rep['age_mark'])}" if rep.get("age_mark") else ""),
                  xaxis_title=f"{label} (IoD 2025; 1 = most deprived)", yaxis_title="Uptake (%) with 95% CI",
                  height=420)
fig.update_xaxes(type="category")
st.plotly_chart(fig, width="stretch")
st.caption(f"Alt text: bar chart of uptake by {label} with 95% confidence intervals.")
if rep.get("suppressed"):
    st.caption(rep["suppressed"])
source_caption(ds, indicator, rep["period"])
st.dataframe(groups, hide_index=True)

# --- trend over periods
if len(periods) > 1:
    st.header("Trend")
    trend = inequality_trend(ds, indicator, geography, by=by,
                             report_for=lambda p: get_inequality(ds, indicator, geography, by, p))
    tf = go.Figure()
    for col, colour in (("most deprived", "#d55e00"), ("least deprived", "#0072b2")):
        tf.add_trace(go.Scatter(x=trend["period"].map(ht), y=trend[col], mode="lines+markers", name=f"{col} {label}",
                                line={"color": colour}))
    tf.update_layout(title=f"{ht(indicator_label(indicator))}: most vs least deprived {label} over time",
                     xaxis_title="Period", yaxis_title="Uptake (%)", height=380)
    st.plotly_chart(tf, width="stretch")
    st.caption("Alt text: line chart of uptake in the most and least deprived groups by period.")
    source_caption(ds, indicator)
    st.dataframe(trend, hide_index=True)

# --- ethnicity
shares = ethnicity_share_columns(ds)
if geography == "lsoa" and shares:
    st.header("By ethnic-group share of the neighbourhood (Census 2021)")
    group = url_choice("Ethnic group", "eth", shares, shares[0], format_func=lambda c: c[6:].title())
    t = ethnicity_gradient(ds, indicator, group, period=period)
    ef = go.Figure(go.Bar(x=t["group"].astype(str), y=t["value"], marker_color="#009e73",
                          error_y={"type": "data", "symmetric": False, "array": t["upper_95"] - t["value"],
                                   "arrayminus": t["value"] - t["lower_95"]}))
    ef.update_layout(title=f"Uptake by fifth of neighbourhoods ranked by {group[6:].title()} share (5 = highest share)",
                     xaxis_title=f"Quintile of {group[6:].title()} residents' share (Census 2021)",
                     yaxis_title="Uptake (%) with 95% CI", height=380)
    st.plotly_chart(ef, width="stretch")
    st.caption("Alt text: bar chart of uptake by quintile of the ethnic group's share. Source: ONS Census 2021 TS021. "
               + md(ds.provenance_line()))

# --- what-if
st.header("What if the flagged areas reached the standard?")
try:
    flags = get_flags(ds, indicator, geography, period=period)
except HiexploreError as err:
    st.info(md(err))
    st.stop()
whatif = what_if_standard(ds, indicator, geography, by=by, period=period, flags=flags)
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
    source_caption(ds, indicator, period)
