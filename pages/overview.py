"""Overview: what the dataset holds, the headline inequality per programme, flags to act on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_support.data import get_deprivation_summary, get_flags, get_inequality
from app_support.layout import banner, current_dataset, indicator_label, source_caption
from app_support.router import ensure_router  # noqa: E402
from app_support.trends_block import overview_la_trends
from hiexplore.catalogue import catalogue
from hiexplore.dataset import practice_counts
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
        "key": key,
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
shown = [r["key"] for r in rows if r.get("key")]
if rows:
    # one column per programme, one row per measure: reads at a glance and fits any width
    def _cell(col: str, v: object) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return ""
        if col.endswith("20%"):
            return f"{float(v):.1f}%"
        if col in ("flagged areas", "people to reach"):
            return f"{int(v):,}"
        return str(v)

    head = pd.DataFrame([{k: _cell(k, v) for k, v in r.items() if k != "key"} for r in rows]).set_index("programme")
    st.dataframe(head.T.rename_axis("measure").reset_index(), hide_index=True, width="stretch")
source_caption(ds, indicators=shown, geography="lsoa", kinds=("deprivation",),
               lead="Flagged: LSOAs significantly below England (95% CI) or below the standard's acceptable level.")

st.header("Deprivation of the local authorities and ICB")
depr = get_deprivation_summary(ds)
if len(depr):
    tab = summary_table(depr)
    # the long per-edition notes go under the table, so that it fits without scrolling sideways
    notes = {f"{e}: {n}" for e, n in zip(tab["IoD"], tab.pop("note"), strict=True) if str(n).strip()}
    st.dataframe(tab, hide_index=True, width="stretch", column_config={
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
    for note in sorted(notes):
        st.caption(md("Note, " + note))
st.caption(md(summary_caption(depr)))
source_caption(ds, kinds=("deprivation",), latest_deprivation=False)

# --- Recent trends by local authority (issue 14 item 2): a block of its own, app_support/trends_block.py
overview_la_trends(ds)

c1, c2, c3, c4 = st.columns(4)
c1.page_link("pages/map_explorer.py", label="Map explorer", icon=":material/map:")
c2.page_link("pages/practices.py", label="Compare practices", icon=":material/local_hospital:")
c3.page_link("pages/targets.py", label="Download target lists", icon=":material/target:")
c4.page_link("pages/inequalities.py", label="Inequality gradients", icon=":material/trending_down:")

st.header("What this dataset holds")
periods = []
for key in ds.indicator_keys():
    ps = ds.periods(key)
    latest = figure_age(ds, ps[-1]) if ps else None
    span = "" if not ps else (ps[0] if len(ps) == 1 else f"{ps[0]} to {ps[-1]} ({len(ps)})")
    periods.append({"indicator": key, "name": catalogue()[key].short_name, "programme": catalogue()[key].programme,
                    "periods": span, "latest ends": latest.period_end if latest else None,
                    "age": ("out of date" if latest.out_of_date else "current") if latest else ""})
st.dataframe(pd.DataFrame(periods), hide_index=True, width="stretch")
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
