"""hiexplore app: routes the pages and owns the sidebar's dataset picker (a thin view)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app_support.data import show_store_notes, sweep_staging_at_start  # noqa: E402
from app_support.frontend import page_icon  # noqa: E402
from app_support.layout import dataset_sidebar  # noqa: E402
from app_support.router import ensure_router  # noqa: E402
from app_support.state import begin_url_batch, flush_url_batch  # noqa: E402

ensure_router()
begin_url_batch()  # this run's URL defaults written once, at the end (app_support/state.py)
sweep_staging_at_start()  # uploads left by an earlier run of the server do not linger

st.set_page_config(page_title="hiexplore: health inequalities explorer", page_icon=page_icon(), layout="wide")

pages = [
    # served at the root; url_path only keys the page (Streamlit hashes it), /overview is the link below
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True, url_path="home"),
    st.Page("pages/map_explorer.py", title="Map explorer", icon=":material/map:", url_path="map_explorer"),
    st.Page("pages/practices.py", title="Practices (PCN managers)", icon=":material/local_hospital:", url_path="practices"),
    st.Page("pages/targets.py", title="Targets (planners)", icon=":material/target:", url_path="targets"),
    st.Page("pages/inequalities.py", title="Inequalities", icon=":material/trending_down:", url_path="inequalities"),
    st.Page("pages/campaigns.py", title="Campaigns", icon=":material/campaign:", url_path="campaigns"),
    st.Page("pages/data.py", title="Data", icon=":material/folder_open:", url_path="data"),
]


def _overview_link() -> None:
    """/overview (a shared link, the page's own address): the default page lives at the root,
    so this hidden page sends the reader there, keeping the link's choices, instead of
    Streamlit's "Page not found"."""
    st.switch_page(pages[0], query_params=dict(st.query_params))


pages.append(st.Page(_overview_link, title="Overview (link)", url_path="overview", visibility="hidden"))
nav = st.navigation(pages)
dataset_sidebar()
nav.run()
show_store_notes()  # after the page: what its flags needed (recomputed, kept in memory only)
flush_url_batch()
