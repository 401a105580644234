"""Overview: what the dataset holds, the headline inequality per programme, flags to act on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_support.data import get_deprivation_summary, get_flags, get_inequality
from app_support.layout import banner, current_dataset, indicator_label
from app_support.router import ensure_router  # noqa: E402
from app_support.trends_block import overview_la_trends
from hiexplore.catalogue import catalogue
from hiexplore.dataset import own_practices
from hiexplore.errors import HiexploreError
from hiexplore.la_deprivation import summary_caption, summary_table
from hiexplore.periods import figure_age, mixed_periods_note
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
c2.metric("GP practices", f"{len(own_practices(ds.practices)):,}",
          help="Commissioned for the areas or standing inside them (neighbours that only lend patients "
               "to neighbourhood figures are not counted)")
c3.metric("Indicators loaded", f"{len(ds.indicator_keys())}")
c4.metric("Catchments", ds.catchment_source)

st.subheader("Headline inequality by programme")
st.caption(
    "Uptake in the most vs least deprived fifth of neighbourhoods (IMD 2025 quintiles), and the slope "
    "index of inequality (SII: the gap in percentage points across the whole deprivation range; positive "
    "means uptake rises as deprivation falls)."
)
HEADLINE = {
    "screening": ["cervical_screening_25_49", "breast_screening_53_70", "bowel_screening_60_74", "cervical_screening_50_64"],
    "immunisation": ["mmr1_24m", "mmr2_5y", "dtap_ipv_hib_hepb_12m"],
}
rows = []
ages = {}
for programme, keys in HEADLINE.items():
    key = next((k for k in keys if k in ds.indicator_keys()), None)
    if key is None:
        rows.append({"programme": programme, "indicator": "not loaded", "period": "", "age": "", "most deprived 20%": None,
                     "least deprived 20%": None, "SII (pp)": None, "flagged areas": None, "people to reach": None})
        continue
    try:
        rep = get_inequality(ds, key, "lsoa", "imd_quintile")
        groups = {g["group"]: g for g in rep["groups"]}
        flags = get_flags(ds, key, "lsoa")
    except HiexploreError as err:
        st.warning(f"{md(indicator_label(key))}: {md(err)}")
        continue
    ages[catalogue()[key].short_name] = age = figure_age(ds, rep["period"])
    rows.append({
        "programme": programme,
        "indicator": catalogue()[key].short_name,
        "period": rep["period"],
        "age": age.mark or "current",
        "most deprived 20%": groups.get(min(groups), {}).get("value"),
        "least deprived 20%": groups.get(max(groups), {}).get("value"),
        "SII (pp)": f"{rep['sii']:.1f} ({rep['sii_lower']:.1f} to {rep['sii_upper']:.1f})",
        "flagged areas": int(flags["flagged"].sum()),
        "people to reach": int(flags.loc[flags["flagged"], "people_to_reach"].sum()),
    })
note = mixed_periods_note(ages)
if note and any(a.out_of_date for a in ages.values()):
    st.warning(md(note))
if rows:
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            "most deprived 20%": st.column_config.NumberColumn(format="%.1f%%"),
            "least deprived 20%": st.column_config.NumberColumn(format="%.1f%%"),
            "flagged areas": st.column_config.NumberColumn(format="localized"),
            "people to reach": st.column_config.NumberColumn(format="localized"),
        },
    )
st.caption("Flagged: LSOAs significantly below England (95% CI) or below the standard's acceptable level. " + md(ds.provenance_line()))

st.subheader("Deprivation of the local authorities and ICB")
depr = get_deprivation_summary(ds)
if len(depr):
    st.dataframe(summary_table(depr), hide_index=True, column_config={
        "% LSOAs in most deprived 10%": st.column_config.NumberColumn(format="%.1f%%"),
    })
st.caption(md(summary_caption(depr) + " " + ds.provenance_line()))

# --- Recent trends by local authority (issue 14 item 2): a block of its own, app_support/trends_block.py
overview_la_trends(ds)

c1, c2, c3, c4 = st.columns(4)
c1.page_link("pages/map_explorer.py", label="Map explorer", icon=":material/map:")
c2.page_link("pages/practices.py", label="Compare practices", icon=":material/local_hospital:")
c3.page_link("pages/targets.py", label="Download target lists", icon=":material/target:")
c4.page_link("pages/inequalities.py", label="Inequality gradients", icon=":material/trending_down:")

st.subheader("What this dataset holds")
periods = []
for key in ds.indicator_keys():
    ps = ds.periods(key)
    latest = figure_age(ds, ps[-1]) if ps else None
    periods.append({"indicator": key, "name": catalogue()[key].name, "programme": catalogue()[key].programme,
                    "periods": ", ".join(ps), "latest ends": latest.period_end if latest else None,
                    "age": (latest.mark or "current") if latest else ""})
st.dataframe(pd.DataFrame(periods), hide_index=True)
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
