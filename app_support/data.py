"""Cached wrappers over the package's functions; the pages call these, never the cache directly.

Bounded caches (``max_entries``/``ttl``), no widget reads inside cached functions (Streamlit's
own guidance). The dataset is keyed by its path and manifest mtime, so a rebuilt dataset reloads.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from hiexplore.dataset import Dataset, is_dataset, load_dataset

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data"
EMBEDDED = DATA_DIR / "llr"
DEMO = DATA_DIR / "demo"


def available_datasets() -> dict[str, Path]:
    """Dataset folders the sidebar offers: the embedded LLR data, the demo, and any other built."""
    found: dict[str, Path] = {}
    env = os.environ.get("HIEXPLORE_DATASET")
    if env and is_dataset(env):
        found[Path(env).name] = Path(env)
    if DATA_DIR.is_dir():
        for p in sorted(DATA_DIR.iterdir()):
            if p.is_dir() and not p.name.startswith(".") and is_dataset(p):
                found.setdefault(p.name, p)
    return found


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


@st.cache_resource(max_entries=4, show_spinner=False)
def campaign_store(url: str):
    """One campaign store (engine, migrated on first use) per database URL, shared by the sessions."""
    from hiexplore.campaigns.store import CampaignStore

    return CampaignStore(url)


def get_campaign_store():
    from hiexplore.campaigns.store import default_db_url

    return campaign_store(default_db_url())


@st.cache_data(max_entries=64, ttl=3600, show_spinner="Evaluating the campaign ...")
def evaluation_frame(path: str, mtime: float, campaign_json: str, others_json: str, indicator: str) -> dict:
    import json

    from hiexplore.campaigns.evaluate import evaluate_campaign

    return evaluate_campaign(_load(path, mtime), json.loads(campaign_json), indicator=indicator,
                             others=json.loads(others_json))


def get_evaluation(ds: Dataset, campaign: dict, others: list[dict], indicator: str) -> dict:
    """The evaluation, recomputed when the campaign, the log or the dataset changes."""
    import json

    return evaluation_frame(str(ds.path), _mtime(ds.path), json.dumps(campaign, sort_keys=True),
                            json.dumps(others, sort_keys=True), indicator)
