"""The "Briefing pack" download block of the Targets and Practices pages (issue 14.3).

Widgets and layout only: the pack is :func:`hiexplore.brief.briefing_pack` (what ``hiexplore
brief`` writes), rendered once per dataset, area and indicators and kept in a bounded cache.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app_support.data import _load, dataset_stamp
from app_support.state import url_choice
from hiexplore.brief import AREA_KINDS
from hiexplore.dataset import Dataset
from hiexplore.errors import HiexploreError
from hiexplore.safe_text import markdown_text as md

__all__ = ["briefing_block"]


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def briefing_files(path: str, stamp: str, area: str, indicators: tuple[str, ...]) -> dict:
    """The pack's HTML and PDF bytes (PDF None with the reason when WeasyPrint cannot run here)."""
    import tempfile
    from pathlib import Path

    from hiexplore.brief import briefing_pack

    pack = briefing_pack(_load(path, stamp), area, indicators=list(indicators) or None)
    out = {"html": pack.html().encode("utf-8"), "pdf": None, "pdf_error": "", "name": pack.area_name,
           "kind": pack.kind, "people": pack.people_to_reach}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out["pdf"] = pack.pdf(Path(tmp) / "brief.pdf").read_bytes()
    except HiexploreError as err:
        out["pdf_error"] = str(err)
    return out


def briefing_block(ds: Dataset, indicators: Sequence[str], *, kind: str = "ward", area: str | None = None) -> None:
    """Choose a PCN, ward, LAD or ICB and download its briefing pack (HTML and PDF)."""
    st.header("Briefing pack")
    st.caption("One offline report on an area for a meeting: headline figures and trends of every indicator, a map of "
               "its neighbourhoods, top targets and patches, its practices against England and their peers, the "
               "inequality gradient, what is modelled or estimated, and every source. The same file as `hiexplore brief`.")
    kinds = [k for k in AREA_KINDS if (ds.areas["area_type"] == k).any()]
    if not kinds:
        st.info("This dataset has no PCN, ward, LAD or ICB areas.")
        return
    c1, c2, c3 = st.columns([1, 3, 2])
    with c1:
        chosen_kind = url_choice("Area type", "bkind", kinds, kind if kind in kinds else kinds[0],
                                 format_func=lambda k: AREA_KINDS[k])
    names = (ds.areas[ds.areas["area_type"] == chosen_kind].drop_duplicates("area_code")
             .sort_values("area_name").set_index("area_code")["area_name"].astype(str).to_dict())
    with c2:
        code = url_choice("Area", "barea", list(names), area if area in names else next(iter(names)),
                          format_func=lambda c: f"{names.get(c, c)} ({c})")
    req = (str(ds.path), code, tuple(indicators))
    with c3:
        st.write("")
        if st.button("Prepare briefing pack", key="brief_go", help="Takes a few seconds the first time."):
            st.session_state["brief_request"] = req
    if st.session_state.get("brief_request") != req or code is None:
        return
    try:
        with st.spinner("Preparing the briefing pack ..."):
            files = briefing_files(str(ds.path), dataset_stamp(ds.path), code, tuple(indicators))
    except HiexploreError as err:
        st.error(md(err))
        return
    stem = f"briefing_{code}"
    st.markdown(f"**{md(files['name'])}** ({md(AREA_KINDS[files['kind']])} {md(code)}): "
                f"{files['people']:,.0f} people to reach in its flagged neighbourhoods.")
    d1, d2 = st.columns(2)
    d1.download_button("Download briefing pack (HTML)", files["html"], file_name=f"{stem}.html", mime="text/html",
                       key="brief_html")
    if files["pdf"] is not None:
        d2.download_button("Download briefing pack (PDF)", files["pdf"], file_name=f"{stem}.pdf",
                           mime="application/pdf", key="brief_pdf")
    else:
        d2.warning("No PDF here: " + md(files["pdf_error"]))
