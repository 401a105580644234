"""The Map explorer's map component: geometry as a cacheable file, values on every change.

A Streamlit custom component (``hiexplore/static/index.html`` and ``mapview.js``, local files, no
CDN). The shapes of a geography (:func:`hiexplore.map_payload.geometry_payload`) are written once
per dataset and geography to a content-addressed file in :func:`hiexplore.map_payload.geometry_files_dir`,
which this module declares as a second component folder so that Streamlit serves it from the same
origin (``/component/<name>/<file>``). The component fetches that file over HTTP (the browser's
cache keeps it: its name changes whenever its content does), so the shapes no longer cross the
websocket on every new session (7 MB at national size, serialised per session). Every run sends
only the layer's values (:func:`hiexplore.map_payload.map_values_json`, one JSON string shared by
every session), which the component uses to re-colour the shapes already on screen.

If the file cannot be written or fetched, the frame asks for the shapes through its value
(``need``) and the next run sends them through the websocket, once.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from hiexplore.dataset import Dataset
from hiexplore.map_payload import (
    GeometryPayload,
    geometry_file,
    geometry_files_dir,
    geometry_payload,
    map_values_json,
)

_STATIC = str(resources.files("hiexplore").joinpath("static"))
_component = components.declare_component("hiexplore_map", path=_STATIC)


def _files_component() -> Any | None:
    """The folder of geometry files, declared as a component so that Streamlit serves its files."""
    folder = geometry_files_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return components.declare_component("hiexplore_map_files", path=str(folder))


_files = _files_component()

#: session keys: geometry keys already sent, and the last ``need`` request answered
SENT = "_hx_map_geometry_sent"
ANSWERED = "_hx_map_need_answered"


def geometry_url(ds: Dataset, geography: str) -> tuple[GeometryPayload, str | None]:
    """The geography's geometry payload and the URL of its file, relative to the map's frame
    (None when the file cannot be written: the shapes then travel through the websocket)."""
    if _files is None:
        return geometry_payload(ds, geography), None
    try:
        with st.spinner("Preparing the boundaries ..."):
            payload, path = geometry_file(ds, geography, Path(_files.path))
    except OSError:
        return geometry_payload(ds, geography), None
    return payload, f"../{_files.name}/{path.name}"


def map_values(ds: Dataset, indicator: str | None, geography: str, **choice: Any) -> str:
    """One map layer's values as JSON, shared by every session (:func:`map_values_json`)."""
    return map_values_json(ds, indicator, geography, **choice)


def map_view(ds: Dataset, geography: str, values: str, *, height: int = 640, show_practices: bool = False,
             key: str = "hx_map") -> dict[str, Any] | None:
    """Draw the map; returns the component's value (``click``: the last click, with ``code``
    when it hit an area of the chosen geography, and ``lat``/``lng``).

    The shapes go inline (one JSON string) only when their file cannot be served, or when the
    frame asked for them (``need``: its fetch failed).
    """
    payload, url = geometry_url(ds, geography)
    sent: set[str] = st.session_state.setdefault(SENT, set())
    prev = st.session_state.get(key) or {}
    request = (prev.get("frame"), prev.get("seq")) if isinstance(prev, dict) else (None, None)
    asked = isinstance(prev, dict) and prev.get("need") == payload.key and request != st.session_state.get(ANSWERED)
    send = asked or (url is None and payload.key not in sent)
    if asked:  # answered once: the same request (same frame, same number) is not answered again
        st.session_state[ANSWERED] = request
    inline = payload.body.decode("utf-8") if send else None
    sent.add(payload.key)
    return _component(geometry=inline, geometry_key=payload.key, geometry_url=url, values=values, height=height,
                      show_practices=show_practices, key=key, default=None)
