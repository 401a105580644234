"""Practices (PCN managers): filter and compare GP practices with CIs, a funnel plot, rankings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_support.data import get_flags
from app_support.layout import banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_bool, url_choice, url_multi
from hiexplore.charts import practice_ci_figure, practice_funnel_figure
from hiexplore.errors import HiexploreError
from hiexplore.exports import neutralise_formulas
from hiexplore.practice_compare import (
    OVERDISPERSION,
    compare_practices,
    filter_practices,
    practice_funnel,
    practice_table,
    practices_scope_line,
)
from hiexplore.safe_text import markdown_text as md
from hiexplore.stats.funnel import FUNNEL_LEFT_OUT

ensure_router()

DOT_PLOT_EACH_END = 30  # practices drawn at each end of the dot plot when more are selected

ds = current_dataset()
st.title("Practices: compare GP practices")
st.caption("Filter practices, compare them on any indicator with 95% confidence intervals, and see "
           "which sit outside the funnel's control limits.")
banner(ds, "practice")

keys = ds.indicator_keys()
c1, c2, c3 = st.columns([3, 2, 2])  # the indicator's name is the longest: room to show it whole
with c1:
    indicator = url_choice("Indicator", "ind", keys,
                           "cervical_screening_25_49" if "cervical_screening_25_49" in keys else keys[0],
                           format_func=indicator_label)
with c2:
    periods = ds.periods(indicator)
    period = url_choice("Period", "period", periods, periods[-1])
with c3:
    od = url_choice("Funnel overdispersion", "od", list(OVERDISPERSION), "none",
                    help="Spiegelhalter (2005): widen the limits when practices vary more than chance allows.")

try:
    flags = get_flags(ds, indicator, "practice", period=period)
    # ranks in PCN and among peers of similar deprivation, funnel status: over all practices
    data = compare_practices(ds, indicator, period=period, overdispersion=od, flags=flags)
except HiexploreError as err:
    st.error(md(err))
    st.stop()

f1, f2, f3, f4 = st.columns([1, 1, 2, 1.3])  # PCN chips carry names: room to show them whole
with f1:
    icbs = sorted(data["icb_code"].dropna().astype(str).unique())
    sel_icb = url_multi("ICB", "icb", icbs)
with f2:
    subs = sorted(data["sub_icb_code"].dropna().astype(str).unique())
    sel_sub = url_multi("Sub-ICB", "sub", subs)
with f3:
    pcns = data.dropna(subset=["pcn_code"]).drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"].to_dict()
    sel_pcn = url_multi("PCN", "pcn", sorted(pcns), format_func=lambda c: f"{pcns.get(c, c)} ({c})")
with f4:
    deciles = [str(d) for d in range(1, 11)]
    sel_dec = url_multi("IMD decile of patients", "dec", deciles)
lo_size, hi_size = st.slider("List size", 0, int(np.nanmax(data["list_size"].fillna(0))) + 1,
                             (0, int(np.nanmax(data["list_size"].fillna(0))) + 1), step=500)
only_flagged = url_bool("Only flagged practices", "flagged", False)

sel = filter_practices(data, icb=sel_icb, sub_icb=sel_sub, pcn=sel_pcn, imd_deciles=sel_dec,
                      list_size=(lo_size, hi_size), only_flagged=only_flagged)
left_out = data.attrs["funnel_left_out"]
age_mark = flags.attrs.get("age_mark") or ""
when = f"{period}" + (f" · {age_mark}" if age_mark else "")

st.markdown(f"**{len(sel)} of {len(data)} practices selected** · {md(indicator_label(indicator))} · {md(when)}")
st.caption(md(practices_scope_line(data, ds.practices)))
if age_mark:
    st.warning(f"{md(indicator_label(indicator))}: {md(age_mark)}, more than {flags.attrs['out_of_date_years']:g} years "
               f"before the newest figures in this dataset (period ending {flags.attrs['newest_period_end']}).")

# --- comparison with CIs (a suppressed practice has a value but no interval: table only)
chart = sel.dropna(subset=["value", "lower_ci_95", "upper_ci_95"]).sort_values("value")
no_figure = len(sel) - len(chart)
suppressed_sel = int(sel["funnel"].eq(FUNNEL_LEFT_OUT).sum())
with_figure = len(chart)
if with_figure > 2 * DOT_PLOT_EACH_END:  # a national selection: the ends, not 6,000 rows
    chart = pd.concat([chart.head(DOT_PLOT_EACH_END), chart.tail(DOT_PLOT_EACH_END)])
bench = float(flags["benchmark_value"].iloc[0])
thr = flags.attrs.get("thresholds", {})
fig = practice_ci_figure(chart, england=bench, acceptable=thr.get("acceptable"),
                         title=f"{indicator_label(indicator)}, {period}: practices with 95% confidence intervals",
                         subtitle=age_mark)
st.plotly_chart(fig, width="stretch")
st.caption((f"The chart shows the {DOT_PLOT_EACH_END} lowest and {DOT_PLOT_EACH_END} highest of {with_figure:,} "
            "selected practices; filter by ICB, sub-ICB or PCN to see the others (all are in the table). "
            if with_figure > 2 * DOT_PLOT_EACH_END else "")
           + (f"{no_figure} selected practices are only in the table: "
              f"{suppressed_sel} with fewer than 5 eligible (suppressed: a value but no interval), "
              f"{no_figure - suppressed_sel} with no published figure. " if no_figure else "")
           + "Each practice is coloured by the one category it falls in (legend above the chart); dashed line: "
           "England, dotted line: the acceptable standard.")
source_caption(ds, indicator, period, geography="practice")

# --- funnel plot
funnel = practice_funnel(data, od)
if funnel is not None:
    ok = funnel.points
    ff = practice_funnel_figure(funnel, ok.index.isin(sel.index),
                                title=f"Funnel plot: {indicator_label(indicator)}, {period} (overdispersion: {od})",
                                subtitle=age_mark)
    st.plotly_chart(ff, width="stretch")
    if left_out["text"]:
        st.info(f"{md(left_out['text'])} ({len(ok)} practices placed.)")
    st.caption("Funnel plot (Spiegelhalter 2005) around the pooled mean of all practices in the dataset; "
               "points outside the dotted 99.8% limits differ by more than chance.")
    source_caption(ds, indicator, period, geography="practice")

# --- table and download
table = practice_table(sel)
if "in_area_by" in table:
    st.caption("In area by: 'commissioner' (commissioned for the dataset's areas, wherever it stands), "
               "'location' (stands inside them, commissioned elsewhere), 'both', or 'catchment' "
               "(a neighbouring practice whose patients live here).")
st.dataframe(table, hide_index=True, column_config={
    "in_area_by": st.column_config.TextColumn("in area by"),
    "value": st.column_config.NumberColumn("uptake %", format="%.1f"),
    "value_note": st.column_config.TextColumn("value note", width="large"),
    "lower_ci_95": st.column_config.NumberColumn("95% CI low", format="%.1f"),
    "upper_ci_95": st.column_config.NumberColumn("95% CI high", format="%.1f"),
    "rank_in_pcn": st.column_config.NumberColumn("rank in PCN", format="%d"),
    "rank_among_peers": st.column_config.NumberColumn("rank among similar deprivation", format="%d"),
})
st.download_button("Download this table (CSV)", neutralise_formulas(table).to_csv(index=False).encode("utf-8-sig"),
                   file_name=f"practices_{indicator}_{period.replace('/', '-').replace(' ', '_')}.csv", mime="text/csv")
source_caption(ds, indicator, period, geography="practice", kinds=("pcn_membership", "list_sizes", "deprivation"))

# --- briefing pack (issue 14.3): a PCN's (or other area's) offline report, on this indicator
from app_support.briefing import briefing_block  # noqa: E402

briefing_block(ds, [indicator], kind="pcn", area=sel_pcn[0] if sel_pcn else None)
