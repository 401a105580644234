"""Campaigns: the log of what was done where, and "did it work" against comparable areas (a thin view)."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from app_support.data import get_campaign_store, get_evaluation
from app_support.layout import banner, current_dataset, indicator_label
from app_support.router import ensure_router  # noqa: E402
from app_support.state import url_choice
from hiexplore.campaigns.evaluate import event_study_figure
from hiexplore.campaigns.store import CampaignConflict, known_area_codes, redact_url
from hiexplore.errors import HiexploreError
from hiexplore.safe_text import markdown_text as md

ensure_router()

ds = current_dataset()
st.title("Campaigns: did it work?")
st.caption("Record outreach campaigns (programmes, areas or practices, dates), then compare uptake before and "
           "after the start with comparable areas that were not targeted. The same log as `hiexplore campaign`.")
try:
    store = get_campaign_store()
except HiexploreError as err:
    st.error(f"The campaign database could not be opened: {md(err)}")
    st.stop()
except Exception as err:  # noqa: BLE001 - a database that cannot be reached is said, never hidden
    st.error(f"The campaign database could not be opened ({type(err).__name__}): {md(err)}")
    st.stop()

st.caption(f"Campaign log: `{redact_url(store.url)}` (HIEXPLORE_DB sets another database).")

campaigns = store.list()
by_id = {str(c["id"]): c for c in campaigns}
keys = ds.indicator_keys()
known = known_area_codes(ds)
area_names = dict(zip(ds.areas["area_code"].astype(str), ds.areas["area_name"].astype(str), strict=True))
area_options = sorted(c for c, t in known.items() if t in ("lsoa", "msoa", "ward", "pcn", "lad", "utla"))
practice_names = ds.practices.set_index("practice_code")["practice_name"].astype(str).to_dict()


def _area_label(code: str) -> str:
    return f"{code} {area_names.get(code, '')} [{known.get(code, '')}]"


def _practice_label(code: str) -> str:
    return f"{code} {practice_names.get(code, '')}"


def _campaign_label(cid: str) -> str:
    c = by_id.get(cid)
    return f"{cid}: {c['name']} ({c['start_date']}, {c['status']})" if c else cid


cid = None
if campaigns:
    cid = url_choice("Campaign (for *Edit or close* and *Did it work?*)", "campaign", list(by_id),
                     str(campaigns[-1]["id"]), format_func=_campaign_label)
tab_eval, tab_log, tab_add, tab_edit = st.tabs(["Did it work?", "Log", "Record a campaign", "Edit or close"])

with tab_log:
    if not campaigns:
        st.info("No campaigns recorded yet: use **Record a campaign**.")
    else:
        frame = store.frame()
        st.dataframe(frame, hide_index=True, width="stretch", column_config={
            "notes": st.column_config.TextColumn("notes", width="large"),
        })
        cols = st.columns(2)
        for col, ext, mime in zip(cols, (".csv", ".xlsx"), (
                "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), strict=True):
            with tempfile.TemporaryDirectory() as tmp:
                data = store.export(Path(tmp) / f"campaigns{ext}").read_bytes()
            col.download_button(f"Download {ext[1:].upper()}", data, file_name=f"campaigns{ext}", mime=mime,
                                key=f"cdl{ext}")


def _campaign_form(prefix: str, current: dict | None) -> dict | None:
    """The fields of a campaign; returns them when the form is submitted."""
    cur = current or {}
    with st.form(f"{prefix}_form", clear_on_submit=False):
        name = st.text_input("Name", value=cur.get("name", ""), key=f"{prefix}_name")
        c1, c2 = st.columns(2)
        with c1:
            inds = st.multiselect("Programmes (indicators)", keys, default=[k for k in cur.get("indicators", [])
                                                                              if k in keys],
                                  format_func=indicator_label, key=f"{prefix}_inds")
            team = st.text_input("Team", value=cur.get("team", ""), key=f"{prefix}_team")
        with c2:
            start = st.date_input("Start", value=date.fromisoformat(cur["start_date"]) if cur else date.today(),
                                  format="YYYY-MM-DD", key=f"{prefix}_start")
            has_end = st.checkbox("Has an end date", value=bool(cur.get("end_date")), key=f"{prefix}_hasend")
            end = st.date_input("End (saved only if ticked above)", value=date.fromisoformat(cur["end_date"]) if cur.get("end_date") else
                                date.today(), format="YYYY-MM-DD", key=f"{prefix}_end")
        areas = st.multiselect("Areas (LSOA, MSOA, ward, PCN, local authority)", area_options,
                               default=[a for a in cur.get("areas", []) if a in known], format_func=_area_label,
                               key=f"{prefix}_areas")
        practices = st.multiselect("GP practices", sorted(practice_names),
                                   default=[p for p in cur.get("practices", []) if p in practice_names],
                                   format_func=_practice_label, key=f"{prefix}_prac")
        notes = st.text_area("Notes", value=cur.get("notes", ""), key=f"{prefix}_notes")
        who = st.text_input("Recorded by", value="", key=f"{prefix}_who", disabled=current is not None,
                            help="Your name (default: the login name of the app's server).")
        submitted = st.form_submit_button("Save campaign" if current is None else "Save changes", key=f"{prefix}_save")
    if not submitted:
        return None
    return {"name": name, "indicators": inds, "team": team, "start_date": start,
            "end_date": end if has_end else None, "areas": areas, "practices": practices, "notes": notes,
            "recorded_by": who}


with tab_add:
    fields = _campaign_form("new", None)
    if fields is not None:
        try:
            new_id = store.add(name=fields["name"], indicators=fields["indicators"], team=fields["team"],
                               start=fields["start_date"], end=fields["end_date"], areas=fields["areas"],
                               practices=fields["practices"], notes=fields["notes"], ds=ds,
                               recorded_by=fields["recorded_by"] or None)
        except HiexploreError as err:
            st.error(f"Not saved: {md(err)}")
        else:
            st.query_params["campaign"] = str(new_id)
            st.success(f"Saved as campaign {new_id}.")
            st.rerun()

with tab_edit:
    if not campaigns:
        st.info("No campaigns to edit yet.")
    else:
        current = by_id[cid]
        st.caption(f"Recorded {current['recorded_at']} by {md(current['recorded_by'])}; version "
                   f"{current['version']}. If someone else saves it first, your change is refused, not lost: "
                   "reload and make it again.")
        foreign = [a for a in current["areas"] if a not in known] + [
            p for p in current["practices"] if p not in practice_names]
        if foreign:
            st.warning(md(
                f"This campaign names codes that dataset {ds.name} does not hold ({', '.join(foreign[:8])}); it was "
                f"recorded on {current['dataset'] or 'another dataset'}. Open that dataset to edit it, so that "
                "nothing is dropped. It can still be closed here."))
            fields = None
        else:
            fields = _campaign_form(f"edit{cid}v{current['version']}", current)
        if fields is not None:
            fields.pop("recorded_by")
            try:
                store.edit(int(cid), version=current["version"], ds=ds, **fields)
            except (CampaignConflict, HiexploreError) as err:
                st.error(f"Not saved: {md(err)}")
            else:
                st.success(f"Campaign {cid} saved.")
                st.rerun()
        with st.form(f"close{cid}"):
            end = st.date_input("Close on (end date)", value=date.today(), format="YYYY-MM-DD")
            if st.form_submit_button("Close campaign"):
                try:
                    store.close(int(cid), end, version=current["version"])
                except HiexploreError as err:
                    st.error(f"Not closed: {md(err)}")
                else:
                    st.rerun()

with tab_eval:
    if not campaigns:
        st.info("Record a campaign first; its evaluation appears here.")
    else:
        c = by_id[cid]
        st.markdown(f"**Campaign {cid}: {md(c['name'])}** · {md(c['team'])} · from "
                    f"{c['start_date']}{' to ' + c['end_date'] if c['end_date'] else ''}")
        inds = [k for k in c["indicators"] if k in keys]
        if not inds:
            st.warning("None of this campaign's programmes has practice-level data in this dataset.")
            st.stop()
        indicator = url_choice("Programme", "cind", inds, inds[0], format_func=indicator_label)
        others = [o for o in campaigns if o["id"] != c["id"]]
        try:
            r = get_evaluation(ds, c, others, indicator)
        except HiexploreError as err:
            st.error(str(err))
            st.stop()
        banner(ds, "practice" if r["geography"] in ("practice", "utla") else r["geography"])
        (st.success if r["effect"] is not None and r["lower_ci"] > 0 else st.info)(md(r["verdict"]))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Effect (percentage points)", "n/a" if r["effect"] is None else f"{r['effect']:+.1f}")
        m2.metric("95% CI", "n/a" if r["effect"] is None else f"{r['lower_ci']:+.1f} to {r['upper_ci']:+.1f}")
        m3.metric("Quarters before / after", f"{r['quarters_before']} / {r['quarters_after']}")
        m4.metric("Targeted / comparison", f"{len(r['treated'])} / {len(r['comparison'])}")
        st.markdown("**What it can and cannot show**\n\n" + "\n".join(f"- {md(x)}" for x in r["caveats"]))
        left, right = st.columns([3, 2])
        with left:
            if r["event_study"]:
                st.plotly_chart(event_study_figure(r), width="stretch")
            else:
                st.info("No event study: the dataset needs quarters both before and after the start.")
            if r["trend"]:
                st.caption("Mean uptake (%) by quarter, targeted and comparison units")
                st.dataframe(pd.DataFrame(r["trend"]), hide_index=True, width="stretch", column_config={
                    "targeted": st.column_config.NumberColumn("targeted (%)", format="%.1f"),
                    "comparison": st.column_config.NumberColumn("comparison (%)", format="%.1f")})
        with right:
            st.markdown(f"**Comparison group** ({md(r['matching'])}, {len(r['comparison'])} units)")
            unit_cols = {"baseline": st.column_config.NumberColumn("baseline uptake (%)", format="%.1f"),
                         "imd_rank": st.column_config.NumberColumn("IMD rank (1 = most deprived)", format="%.0f"),
                         "distance": st.column_config.NumberColumn("match distance", format="%.2f")}
            st.dataframe(pd.DataFrame(r["comparison"]), hide_index=True, width="stretch", height=260,
                         column_config=unit_cols)
            st.markdown("**Targeted**")
            st.dataframe(pd.DataFrame(r["treated"]), hide_index=True, width="stretch", height=180,
                         column_config=unit_cols)
        st.caption(md(f"Method: {r['method']}. {r['source']}"))
        st.download_button("Download the evaluation (JSON)", json.dumps(r, indent=1, default=str),
                           file_name=f"campaign_{cid}_{indicator}_evaluation.json", mime="application/json")
