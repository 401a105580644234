"""Cached wrappers over the package's functions; the pages call these, never the cache directly.

Bounded caches (``max_entries``/``ttl``), no widget reads inside cached functions (Streamlit's
own guidance). One loaded dataset is shared by every session of the server process, keyed by
its path and the stamp of its ``manifest.json`` (:func:`dataset_stamp`), so a rebuilt or
replaced dataset folder reloads and an unchanged one is never loaded twice.
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
        from hiexplore.derived import derive_flags

        write_demo(DEMO, 634, 134, 1)
        derive_flags(load_dataset(DEMO))  # what `hiexplore demo` does: flags stored with it
    return DEMO


def dataset_stamp(path: Path) -> str:
    """What says a dataset folder changed: its manifest's mtime (ns), inode and size.

    Every build writes a new ``manifest.json`` and swaps the folder in by renaming, so a
    rebuilt dataset has a new stamp even within one second of the old one; "" when absent.
    """
    try:
        st_ = (Path(path) / "manifest.json").stat()
    except OSError:
        return ""
    return f"{st_.st_mtime_ns}-{st_.st_ino}-{st_.st_size}"


@st.cache_resource(max_entries=4, show_spinner="Loading dataset ...")
def _load(path: str, stamp: str) -> Dataset:
    return load_dataset(path)


def get_dataset(path: Path) -> Dataset:
    """The dataset at ``path``, loaded once per server process and shared by every session."""
    return _load(str(path), dataset_stamp(path))


@st.cache_data(max_entries=16, ttl=3600, show_spinner="Computing flags against this benchmark ...")
def flags_frame(path: str, stamp: str, indicator: str, geography: str, benchmark: str, period: str | None) -> pd.DataFrame:
    """Flags against a benchmark other than England: not stored, so computed and cached here."""
    from hiexplore.flags import compute_flags

    ds = _load(path, stamp)
    return compute_flags(ds, indicator, geography, benchmark=benchmark, period=period)


def get_flags(ds: Dataset, indicator: str, geography: str, benchmark: str = "england", period: str | None = None) -> pd.DataFrame:
    """The dataset's stored flags (``derived/``); computed and stored there only on first use."""
    from hiexplore.derived import flags_in_memory, stored_flags

    if benchmark.strip().lower() != "england":
        return flags_frame(str(ds.path), dataset_stamp(ds.path), indicator, geography, benchmark, period)
    if flags_in_memory(ds, indicator, geography, period):
        return stored_flags(ds, indicator, geography, period)
    with st.spinner("Reading the stored flags (computed once and stored if absent) ..."):
        return stored_flags(ds, indicator, geography, period)


def show_store_notes() -> None:
    """Say in the sidebar what happened to the current dataset's stored flags (recomputed when
    stale or damaged, or kept in memory only): app.py calls it after the page, once per run.

    In the sidebar, so that a note appearing does not move the page's own elements (a moved
    map component is remounted); every run, so the sidebar is the same from run to run. Plain
    text (``st.text``): a note quotes file paths, which are data, never markdown.
    """
    from hiexplore.derived import store_notes

    path = st.session_state.get("dataset_path")
    if not path:
        return
    for note in store_notes(get_dataset(Path(path))):
        st.sidebar.text(f"Note: {note}")


def get_profile_flags(ds: Dataset, indicator: str, geography: str) -> pd.DataFrame:
    """An area's profile of every indicator: the stored flags of each (latest period)."""
    return get_flags(ds, indicator, geography)


@st.cache_resource(max_entries=16, ttl=3600, show_spinner="Ranking targets ...")
def targets_frame(path: str, stamp: str, indicators: tuple[str, ...], geography: str) -> pd.DataFrame:
    """The ranked target list over the stored flags of each indicator, ranked once per dataset,
    indicators and geography (issue 13: ranking took 0.6-1.2 s of one core per page load, paid
    again by each of 20 sessions at once), and kept as ONE frame that every session reads, never
    a copy per run (unpickling a national list of 33,755 rows cost each run more than the page's
    own work). Read only: callers select from it into new frames."""
    from hiexplore.derived import stored_targets

    return stored_targets(_load(path, stamp), list(indicators), geography)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def target_file_bytes(path: str, stamp: str, indicators: tuple[str, ...], geography: str,
                      codes: tuple[str, ...], name: str) -> bytes:
    """One download of the Targets page (``name``'s extension picks CSV, XLSX or GeoJSON), over
    the rows of ``codes``: written once per choice for every session, not on every run of the
    page (three files took about 0.5 s of each Targets run)."""
    import tempfile

    from hiexplore.exports import write_table

    targets = targets_frame(path, stamp, indicators, geography)
    full = targets.loc[targets["area_code"].isin(codes)]
    full.attrs.update(targets.attrs)
    with tempfile.TemporaryDirectory() as tmp:
        return write_table(full, Path(tmp) / name, ds=_load(path, stamp), kind="targets").read_bytes()


def get_target_file(ds: Dataset, indicators: list[str], geography: str, codes: list[str], name: str) -> bytes:
    """The bytes ``hiexplore targets --out name`` would write for these areas; raises the
    :class:`~hiexplore.errors.HiexploreError` that says why a format cannot be written."""
    return target_file_bytes(str(ds.path), dataset_stamp(ds.path), tuple(indicators), geography,
                             tuple(str(c) for c in codes), name)


@st.cache_resource(max_entries=4, show_spinner=False)
def campaign_store(url: str):
    """One campaign store (engine, migrated on first use) per database URL, shared by the sessions."""
    from hiexplore.campaigns.store import CampaignStore

    return CampaignStore(url)


def get_campaign_store():
    from hiexplore.campaigns.store import default_db_url

    return campaign_store(default_db_url())


@st.cache_data(max_entries=64, ttl=3600, show_spinner="Evaluating the campaign ...")
def evaluation_frame(path: str, stamp: str, campaign_json: str, others_json: str, indicator: str) -> dict:
    import json

    from hiexplore.campaigns.evaluate import evaluate_campaign

    return evaluate_campaign(_load(path, stamp), json.loads(campaign_json), indicator=indicator,
                             others=json.loads(others_json))


def get_evaluation(ds: Dataset, campaign: dict, others: list[dict], indicator: str) -> dict:
    """The evaluation, recomputed when the campaign, the log or the dataset changes."""
    import json

    return evaluation_frame(str(ds.path), dataset_stamp(ds.path), json.dumps(campaign, sort_keys=True),
                            json.dumps(others, sort_keys=True), indicator)
