"""Practices (PCN managers): filter and compare GP practices with CIs, a funnel plot, rankings."""

from __future__ import annotations

import streamlit as st

from app_support.layout import banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_bool, url_choice, url_multi
from hiexplore.errors import HiexploreError
from hiexplore.page_views import (
    PREFERRED,
    default_indicator,
    practice_selection_view,
    practices_view,
)
from hiexplore.practice_compare import OVERDISPERSION
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("Practices: compare GP practices")
st.caption("Filter practices, compare them on any indicator with 95% confidence intervals, and see "
           "which sit outside the funnel's control limits.")
banner(ds, "practice")

keys = ds.indicator_keys()
c1, c2, c3 = st.columns([3, 2, 2])  # the indicator's name is the longest: room to show it whole
with c1:
    indicator = url_choice("Indicator", "ind", keys, default_indicator(ds, PREFERRED["practices"]),
                           format_func=indicator_label)
with c2:
    periods = ds.periods(indicator)
    period = url_choice("Period", "period", periods, periods[-1])
with c3:
    od = url_choice("Funnel overdispersion", "od", list(OVERDISPERSION), "none",
                    help="Spiegelhalter (2005): widen the limits when practices vary more than chance allows.")

try:
    # ranks in PCN and among peers of similar deprivation, funnel status: over all practices
    pv = practices_view(ds, indicator, period, od, busy=lambda: st.spinner("Comparing the practices ..."))
except HiexploreError as err:
    st.error(md(err))
    st.stop()
data, flags = pv.data, pv.flags

f1, f2, f3, f4 = st.columns([1, 1, 2, 1.3])  # PCN chips carry names: room to show them whole
with f1:
    sel_icb = url_multi("ICB", "icb", pv.icbs)
with f2:
    sel_sub = url_multi("Sub-ICB", "sub", pv.sub_icbs)
with f3:
    pcns = pv.pcns
    sel_pcn = url_multi("PCN", "pcn", sorted(pcns), format_func=lambda c: f"{pcns.get(c, c)} ({c})")
with f4:
    deciles = [str(d) for d in range(1, 11)]
    sel_dec = url_multi("IMD decile of patients", "dec", deciles)
lo_size, hi_size = st.slider("List size", 0, pv.list_size_max, (0, pv.list_size_max), step=500)
only_flagged = url_bool("Only flagged practices", "flagged", False)

view = practice_selection_view(ds, indicator, period, od, icb=sel_icb, sub_icb=sel_sub, pcn=sel_pcn,
                               imd_deciles=sel_dec, list_size=(lo_size, hi_size), only_flagged=only_flagged,
                               busy=lambda: st.spinner("Drawing the selection ..."))
sel = view.selected
left_out = data.attrs["funnel_left_out"]
age_mark = view.age_mark
when = f"{period}" + (f" · {age_mark}" if age_mark else "")

st.markdown(f"**{len(sel)} of {len(data)} practices selected** · {md(indicator_label(indicator))} · {md(when)}")
st.caption(md(pv.scope_line))
if age_mark:
    st.warning(f"{md(indicator_label(indicator))}: {md(age_mark)}, more than {flags.attrs['out_of_date_years']:g} years "
               f"before the newest figures in this dataset (period ending {flags.attrs['newest_period_end']}).")

# --- comparison with CIs (a suppressed practice has a value but no interval: table only)
st.plotly_chart(view.ci_figure, width="stretch")
st.caption(view.ci_caption)
source_caption(ds, indicator, period, geography="practice")

# --- funnel plot
if view.funnel_figure is not None:
    st.plotly_chart(view.funnel_figure, width="stretch")
    if left_out["text"]:
        st.info(f"{md(left_out['text'])} ({len(pv.funnel.points)} practices placed.)")
    st.caption("Funnel plot (Spiegelhalter 2005) around the pooled mean of all practices in the dataset; "
               "points outside the dotted 99.8% limits differ by more than chance.")
    source_caption(ds, indicator, period, geography="practice")

# --- table and download
table = view.table
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
st.download_button("Download this table (CSV)", view.csv,
                   file_name=f"practices_{indicator}_{period.replace('/', '-').replace(' ', '_')}.csv", mime="text/csv")
source_caption(ds, indicator, period, geography="practice", kinds=("pcn_membership", "list_sizes", "deprivation"))

# --- briefing pack (issue 14.3): a PCN's (or other area's) offline report, on this indicator
from app_support.briefing import briefing_block  # noqa: E402

briefing_block(ds, [indicator], kind="pcn", area=sel_pcn[0] if sel_pcn else None)
