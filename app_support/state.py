"""Every choice a user makes lives in the URL (st.query_params) so a view can be shared."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st


def url_choice(label: str, key: str, options: Sequence[str], default: str | None = None, *, sidebar: bool = False,
               format_func=str, help: str | None = None) -> str:  # noqa: A002
    """A selectbox whose value is read from and written to the URL query parameter ``key``."""
    options = list(options)
    current = st.query_params.get(key)
    if current not in options:
        current = default if default in options else (options[0] if options else None)
    where = st.sidebar if sidebar else st
    index = options.index(current) if current in options else 0
    value = where.selectbox(label, options, index=index, key=f"w_{key}", format_func=format_func, help=help)
    if value is not None and st.query_params.get(key) != value:
        st.query_params[key] = value
    return value


def url_multi(label: str, key: str, options: Sequence[str], default: Sequence[str] = (), *, format_func=str) -> list[str]:
    options = list(options)
    raw = st.query_params.get(key)
    current = [v for v in raw.split(",") if v in options] if raw else [d for d in default if d in options]
    value = st.multiselect(label, options, default=current, key=f"w_{key}", format_func=format_func)
    joined = ",".join(value)
    if st.query_params.get(key, "") != joined:
        st.query_params[key] = joined
    return value


def url_int(label: str, key: str, default: int, min_value: int = 0, max_value: int = 1_000_000) -> int:
    raw = st.query_params.get(key)
    try:
        current = int(raw) if raw is not None else default
    except ValueError:
        current = default
    value = int(st.number_input(label, min_value=min_value, max_value=max_value, value=current, key=f"w_{key}"))
    if st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)
    return value


def url_bool(label: str, key: str, default: bool = False) -> bool:
    raw = st.query_params.get(key)
    current = raw == "1" if raw is not None else default
    value = st.checkbox(label, value=current, key=f"w_{key}")
    if st.query_params.get(key) != ("1" if value else "0"):
        st.query_params[key] = "1" if value else "0"
    return value
