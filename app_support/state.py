"""Every choice a user makes lives in the URL (st.query_params) so a view can be shared.

The URL is the single source of truth: each run seeds the widget's session state from the query
parameter before the widget is drawn, and a widget's ``on_change`` writes its new value back to
the URL. So a value set from elsewhere (a click on the map, a shared link) wins over the widget's
remembered state, and a user's change is never undone on the next run.

A choice the URL does not carry yet (a page opened at its bare address takes its defaults) is
written to the URL once per run, all together, by :func:`flush_url_batch` at the end of app.py's
run (:func:`begin_url_batch` at its start): the browser adds a history entry for every change of
the address, so writing each default as its widget was drawn left up to a dozen entries of the
same page behind one click (Back then seemed to do nothing), each one a message and a re-render.
A page run on its own (tests) writes each default at once, as before; a user's change is always
written at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st


def _sync(key: str, to_url: Callable[[Any], str]) -> Callable[[], None]:
    def on_change() -> None:
        st.query_params[key] = to_url(st.session_state[f"w_{key}"])

    return on_change


def _seed(key: str, value: Any) -> None:
    st.session_state[f"w_{key}"] = value


#: session-state key of this run's URL defaults, while app.py batches them
_BATCH = "_hx_url_batch"


def begin_url_batch() -> None:
    """app.py, first in each run: defaults written from here on wait for :func:`flush_url_batch`
    (a batch left by a run that stopped early is dropped: its values are worked out again)."""
    st.session_state[_BATCH] = {}


def flush_url_batch() -> None:
    """app.py, last in each run: this run's defaults written to the URL in one change."""
    pending = st.session_state.pop(_BATCH, None) or {}
    changed = {k: v for k, v in pending.items() if st.query_params.get(k) != v}
    if changed:
        st.query_params.update(changed)


def write_default(key: str, value: str) -> None:
    """Put a default (or a corrected value) in the URL: batched while app.py runs, else at once."""
    batch = st.session_state.get(_BATCH)
    if isinstance(batch, dict):
        batch[key] = value
    else:
        st.query_params[key] = value


def url_choice(label: str, key: str, options: Sequence[str], default: str | None = None, *, sidebar: bool = False,
               format_func: Callable[[Any], str] = str, help: str | None = None) -> str | None:  # noqa: A002
    """A selectbox bound to the URL query parameter ``key``."""
    options = list(options)
    current = st.query_params.get(key)
    if current not in options:
        current = default if default in options else (options[0] if options else None)
    if current is not None:
        _seed(key, current)
        if st.query_params.get(key) != current:
            write_default(key, current)
    where = st.sidebar if sidebar else st
    return where.selectbox(label, options, key=f"w_{key}", format_func=format_func, help=help,
                           on_change=_sync(key, str))


def url_multi(label: str, key: str, options: Sequence[str], default: Sequence[str] = (), *,
              format_func: Callable[[Any], str] = str) -> list[str]:
    options = list(options)
    raw = st.query_params.get(key)
    current = [v for v in raw.split(",") if v in options] if raw is not None else [d for d in default if d in options]
    _seed(key, current)
    if st.query_params.get(key) != ",".join(current):
        write_default(key, ",".join(current))
    return st.multiselect(label, options, key=f"w_{key}", format_func=format_func,
                          on_change=_sync(key, lambda v: ",".join(v)))


def url_int(label: str, key: str, default: int, min_value: int = 0, max_value: int = 1_000_000) -> int:
    raw = st.query_params.get(key)
    try:
        current = int(raw) if raw is not None else default
    except ValueError:
        current = default
    current = min(max(current, min_value), max_value)
    _seed(key, current)
    if st.query_params.get(key) != str(current):
        write_default(key, str(current))
    return int(st.number_input(label, min_value=min_value, max_value=max_value, key=f"w_{key}",
                               on_change=_sync(key, lambda v: str(int(v)))))


def url_bool(label: str, key: str, default: bool = False) -> bool:
    raw = st.query_params.get(key)
    current = raw == "1" if raw is not None else default
    _seed(key, current)
    if st.query_params.get(key) != ("1" if current else "0"):
        write_default(key, "1" if current else "0")
    return st.checkbox(label, key=f"w_{key}", on_change=_sync(key, lambda v: "1" if v else "0"))
