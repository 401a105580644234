"""Recent-trend blocks (issue 14 item 2): the LA trend chart on the Overview and one area's chart
under the Map explorer's profile. Widgets, calls and layout only: :mod:`hiexplore.trends` computes.

Kept apart from the pages so that a page adds its block with one call.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hiexplore.catalogue import get_indicator
from hiexplore.dataset import Dataset
from hiexplore.errors import HiexploreError
from hiexplore.page_views import (
    PREFERRED,
    default_indicator,
    la_trend_keys,
    la_trend_view,
    trend_series_view,
)
from hiexplore.safe_text import markdown_text as md
from hiexplore.trends import direction_note

from .layout import indicator_label
from .state import url_choice

TREND_COLUMNS_SHOWN = {
    "area_name": st.column_config.TextColumn("area"),
    "value": st.column_config.NumberColumn("latest %", format="%.1f"),
    "trend": st.column_config.TextColumn("recent trend"),
    "trend_points": st.column_config.NumberColumn("pts", help="usable points of the 5 tested"),
}
TREND_DETAIL = {
    **TREND_COLUMNS_SHOWN,
    "trend_periods": st.column_config.TextColumn("periods tested"),
    "p_value": st.column_config.NumberColumn("p", format="%.4f", help="chi-squared test for trend, 1 df"),
}


def get_trend_series(ds: Dataset, indicator: str, geography: str, area: str) -> pd.DataFrame:
    """One area's series (kept with the loaded dataset, :func:`hiexplore.page_views.trend_series_view`;
    attrs kept). Shared by every session: read only."""
    return trend_series_view(ds, indicator, geography, area).series


def _chart(ds: Dataset, indicator: str, geography: str, area: str) -> None:
    """The area's trend chart, built once per dataset, indicator and area."""
    st.plotly_chart(trend_series_view(ds, indicator, geography, area).figure, width="stretch")


def _series_table(series: pd.DataFrame, *, compact: bool = False) -> None:
    """The figures behind the chart (a table beside every figure); notes and method unless compact."""
    shown = series.drop(columns=["period_end"]).rename(columns={"in_trend": "tested"})
    if compact:
        shown = shown[["period", "value", "england", "standard", "tested"]].iloc[::-1]
    st.dataframe(shown, hide_index=True, column_config={
        "value": st.column_config.NumberColumn("value %", format="%.1f"),
        "england": st.column_config.NumberColumn("England %", format="%.1f"),
        "standard": st.column_config.NumberColumn("standard %", format="%.0f"),
        "numerator": st.column_config.NumberColumn(format="%.0f"),
        "denominator": st.column_config.NumberColumn(format="%.0f"),
    })


def overview_la_trends(ds: Dataset) -> None:
    """Overview block: an indicator's recent trend in each upper-tier LA (COVER LA quarters)."""
    st.subheader("Recent trends by local authority")
    keys = la_trend_keys(ds)
    if not keys:
        st.info("This dataset has no local authority figures over time (COVER upper-tier LA quarters), "
                "so there is no LA trend to show. Neighbourhood and practice trends are in the flags "
                "and target lists (columns trend, trend_points).")
        return
    c1, c2 = st.columns(2)
    with c1:
        indicator = url_choice("Indicator (LA trend)", "la_trend_ind", keys,
                               default_indicator(ds, PREFERRED["la_trend"], keys), format_func=indicator_label)
    try:
        view = la_trend_view(ds, indicator, busy=lambda: st.spinner("Local authority trends ..."))
    except HiexploreError as err:
        st.warning(md(err))
        return
    table, names = view.table, view.names
    st.caption(md(view.caption))
    with c2:
        area = url_choice("Local authority", "la_trend_area", table["area_code"].tolist(),
                          format_func=lambda c: f"{names.get(c, c)} ({c})")
    left, right = st.columns(2)
    with left:
        if area:
            _chart(ds, indicator, "utla", area)
    with right:
        st.markdown(f"**{md(indicator_label(indicator))}: every local authority**")
        st.dataframe(table[list(TREND_COLUMNS_SHOWN)], hide_index=True, column_config=TREND_COLUMNS_SHOWN)
        st.caption(md(f"Periods tested: {view.periods}. Increasing / decreasing: significant at the 99.9% level "
                      "over the 5 latest periods; not enough points: fewer than 5 of them have a figure."))
    with st.expander("Figures behind the chart, and each authority's test (periods, p-value)"):
        st.dataframe(table[list(TREND_DETAIL)], hide_index=True, column_config=TREND_DETAIL)
        if area:
            _series_table(get_trend_series(ds, indicator, "utla", area))


def profile_trend(ds: Dataset, area: str, geography: str, indicators: list[str], default: str | None) -> None:
    """Under an area's profile: one indicator's figures over time there, England and the standard."""
    if not indicators:
        return
    st.markdown("**Recent trend here**")
    indicator = url_choice("Trend of", "trend_ind", indicators, default if default in indicators else indicators[0],
                           format_func=indicator_label)
    try:
        series = get_trend_series(ds, indicator, geography, area)
    except HiexploreError as err:
        st.info(md(err))
        return
    left, right = st.columns(2)
    with left:
        _chart(ds, indicator, geography, area)
    with right:
        a = series.attrs
        word = str(a.get("trend", "")) + direction_note(str(a.get("trend", "")), get_indicator(indicator).polarity)
        st.markdown(f"Recent trend: **{md(word)}** ({md(a.get('trend_periods', ''))}, "
                    f"{a.get('trend_points', 0)} of 5 points).")
        notes = {str(m) for m in series["method"].dropna()} - {"published"}
        if notes:
            st.caption(md("Figures here are " + ", ".join(sorted(notes))
                          + ": estimates, so their trend is an estimate too."))
        _series_table(series, compact=True)
    with st.expander("Figures behind the chart (counts, notes, method)"):
        _series_table(series)
