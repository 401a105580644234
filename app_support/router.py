"""Make sure every page runs inside app.py's st.navigation router.

Streamlit still honours the legacy ``pages/`` folder until the first script run calls
``st.navigation``: the first session after start-up that opens a page's own address (e.g. a shared
link to /targets) would run that page alone, without app.py's layout, sidebar or navigation. This
guard switches the legacy mode off and reruns, so the router in app.py takes over.
"""

from __future__ import annotations

import streamlit as st


def ensure_router() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - older/newer Streamlit without the legacy flag
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
