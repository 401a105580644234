"""Make sure every page runs inside app.py's st.navigation router.

Streamlit still honours the legacy ``pages/`` folder until the first script run calls
``st.navigation``: the first session after start-up that opens a page's own address (e.g. a shared
link to /targets) would run that page alone, without app.py's layout, sidebar or navigation. This
guard switches the legacy mode off and reruns, so the router in app.py takes over.
:func:`router_from_start` does the same before the server starts (``hiexplore app``), so the
first page after start runs once, not a legacy run and then a rerun.
"""

from __future__ import annotations

import streamlit as st


def _legacy_flag_owner() -> type | None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - older/newer Streamlit without the legacy flag
        return None
    return PagesManager


def router_from_start() -> None:
    """Before Streamlit serves: the legacy ``pages/`` mode off for the whole process, so the
    first script run is already app.py's router (no legacy run, no rerun: issue 13, cold page)."""
    owner = _legacy_flag_owner()
    if owner is not None and hasattr(owner, "uses_pages_directory"):
        owner.uses_pages_directory = False


def ensure_router() -> None:
    owner = _legacy_flag_owner()
    if owner is None:
        return
    if owner.uses_pages_directory:
        owner.uses_pages_directory = False
        st.rerun()
