"""Cached wrappers over the package's functions; the pages call these, never the cache directly.

Bounded caches (``max_entries``/``ttl``), no widget reads inside cached functions (Streamlit's
own guidance). The dataset is keyed by its path and manifest mtime, so a rebuilt dataset reloads.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from hiexplore.dataset import Dataset, is_dataset, is_hidden_folder, list_datasets, load_dataset
from hiexplore.errors import RequestError
from hiexplore.uploads import STAGING_DIR, StagingLedger, session_staging, sweep_staging

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data"
EMBEDDED = DATA_DIR / "llr"
DEMO = DATA_DIR / "demo"
STAGING_ROOT = DATA_DIR / STAGING_DIR


def available_datasets() -> dict[str, Path]:
    """Dataset folders the sidebar offers: the embedded LLR data, the demo, and any other built."""
    found: dict[str, Path] = {}
    env = os.environ.get("HIEXPLORE_DATASET")
    if env and is_dataset(env) and not is_hidden_folder(env):
        found[Path(env).name] = Path(env)
    for p in list_datasets(DATA_DIR):  # never a hidden or half-built .NAME.building-* folder
        found.setdefault(p.name, p)
    return found


def session_id() -> str:
    """This browser session's id: Streamlit's own (so that ended sessions can be recognised),
    or a random one kept in the session where that is not a usable folder name (AppTest)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    sid = str(getattr(ctx, "session_id", "") or "")
    try:
        session_staging(DATA_DIR, sid)
        return sid
    except RequestError:
        return st.session_state.setdefault("upload_session", uuid.uuid4().hex)


def live_session_ids() -> set[str] | None:
    """Ids of the sessions this server still holds (connected or awaiting reconnection).

    Streamlit has no public session-end hook; its runtime's session manager lists the sessions
    it keeps. None when that cannot be read (e.g. under AppTest): the sweep then relies on the
    TTL alone.
    """
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        return {info.session.id for info in Runtime.instance()._session_mgr.list_sessions()}
    except Exception:  # noqa: BLE001 - private API: fall back to the TTL, never break the page
        return None


def upload_staging() -> tuple[Path, StagingLedger]:
    """This session's staging folder and ledger, after sweeping ended sessions' folders."""
    sid = session_id()
    sweep_staging(STAGING_ROOT, keep=sid, live=live_session_ids())
    ledger = st.session_state.setdefault("upload_ledger", StagingLedger())
    return session_staging(DATA_DIR, sid), ledger


@st.cache_resource(show_spinner=False)
def sweep_staging_at_start() -> list[tuple[str, str]]:
    """Once per server process: staging left by an earlier run (or a crash) is cleared."""
    return sweep_staging(STAGING_ROOT, live=live_session_ids())


def ensure_demo() -> Path:
    """The synthetic demo, generated on first use if missing."""
    if not is_dataset(DEMO):
        from hiexplore.demo import write_demo

        write_demo(DEMO, 634, 134, 1)
    return DEMO


def _mtime(path: Path) -> float:
    try:
        return (path / "manifest.json").stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(max_entries=4, show_spinner="Loading dataset ...")
def _load(path: str, mtime: float) -> Dataset:
    return load_dataset(path)


def get_dataset(path: Path) -> Dataset:
    return _load(str(path), _mtime(path))


@st.cache_data(max_entries=64, ttl=3600, show_spinner="Computing flags ...")
def flags_frame(path: str, mtime: float, indicator: str, geography: str, benchmark: str, period: str | None) -> pd.DataFrame:
    from hiexplore.flags import compute_flags

    ds = _load(path, mtime)
    return compute_flags(ds, indicator, geography, benchmark=benchmark, period=period)


def get_flags(ds: Dataset, indicator: str, geography: str, benchmark: str = "england", period: str | None = None) -> pd.DataFrame:
    return flags_frame(str(ds.path), _mtime(ds.path), indicator, geography, benchmark, period)


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def profile_frame(path: str, mtime: float, indicator: str, geography: str) -> pd.DataFrame:
    """Quick flags (no clusters, no expected model) for an area's profile of every indicator."""
    from hiexplore.flags import compute_flags

    return compute_flags(_load(path, mtime), indicator, geography, with_clusters=False, with_expected=False)


def get_profile_flags(ds: Dataset, indicator: str, geography: str) -> pd.DataFrame:
    return profile_frame(str(ds.path), _mtime(ds.path), indicator, geography)


@st.cache_data(max_entries=32, ttl=3600, show_spinner="Ranking targets ...")
def targets_frame(path: str, mtime: float, indicators: tuple[str, ...], geography: str) -> pd.DataFrame:
    from hiexplore.flags import compute_targets

    return compute_targets(_load(path, mtime), list(indicators), geography)


def get_targets(ds: Dataset, indicators: list[str], geography: str) -> pd.DataFrame:
    return targets_frame(str(ds.path), _mtime(ds.path), tuple(indicators), geography)


@st.cache_data(max_entries=32, ttl=3600, show_spinner="Inequality gradient ...")
def inequality_frame(path: str, mtime: float, indicator: str, geography: str, by: str, period: str | None) -> dict:
    from hiexplore.inequality_report import inequality_report

    return inequality_report(_load(path, mtime), indicator, geography, by=by, period=period)


def get_inequality(ds: Dataset, indicator: str, geography: str, by: str = "imd_decile", period: str | None = None) -> dict:
    return inequality_frame(str(ds.path), _mtime(ds.path), indicator, geography, by, period)


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def deprivation_summary_frame(path: str, mtime: float) -> pd.DataFrame:
    from hiexplore.la_deprivation import deprivation_summary

    return deprivation_summary(_load(path, mtime))


def get_deprivation_summary(ds: Dataset) -> pd.DataFrame:
    return deprivation_summary_frame(str(ds.path), _mtime(ds.path))
