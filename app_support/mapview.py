"""The Map explorer's map component: geometry once per session, values on every change.

A Streamlit custom component (``hiexplore/static/index.html`` and ``mapview.js``, local files, no
CDN). The shapes of a geography (:func:`hiexplore.map_payload.map_geometry`) are sent the first
time this session shows that geography; every later run sends only the layer's values
(:func:`hiexplore.map_payload.map_layer_values`), which the component uses to re-colour the
shapes already on screen. A frame that lacks the shapes (a new frame after leaving the page)
asks for them through its value (``need``), and the next run sends them once more.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

_STATIC = str(resources.files("hiexplore").joinpath("static"))
_component = components.declare_component("hiexplore_map", path=_STATIC)

#: session keys: geometry keys already sent, and the last ``need`` request answered
SENT = "_hx_map_geometry_sent"
ANSWERED = "_hx_map_need_answered"


def map_view(geometry: Callable[[], dict[str, Any]], geometry_key: str, values: dict[str, Any], *,
             height: int = 640, show_practices: bool = False, key: str = "hx_map") -> dict[str, Any] | None:
    """Draw the map; returns the component's value (``click``: the last click, with ``code``
    when it hit an area of the chosen geography, and ``lat``/``lng``).

    ``geometry`` is called only when the shapes must be sent (first time this session, or the
    frame asked for them).
    """
    sent: set[str] = st.session_state.setdefault(SENT, set())
    prev = st.session_state.get(key) or {}
    request = (prev.get("frame"), prev.get("seq")) if isinstance(prev, dict) else (None, None)
    asked = isinstance(prev, dict) and prev.get("need") == geometry_key and request != st.session_state.get(ANSWERED)
    send = geometry_key not in sent or asked
    if asked:  # answered once: the same request (same frame, same number) is not answered again
        st.session_state[ANSWERED] = request
    payload = geometry() if send else None
    sent.add(geometry_key)
    return _component(geometry=payload, geometry_key=geometry_key, values=values, height=height,
                      show_practices=show_practices, key=key, default=None)
