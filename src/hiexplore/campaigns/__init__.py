"""The campaign log (what was done where) and its before-and-after evaluation.

:mod:`.store` keeps campaigns in SQLite or PostgreSQL through SQLAlchemy 2 and Alembic;
:mod:`.evaluate` compares uptake before and after a campaign's start in its areas with matched
comparison areas (difference-in-differences with an event study). Importing the package has no
side effects and loads neither SQLAlchemy nor statsmodels: the names below load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CampaignConflict", "CampaignStore", "default_db_url", "get_store", "migrate", "evaluate_campaign"]


def __getattr__(name: str) -> Any:
    if name == "evaluate_campaign":
        from .evaluate import evaluate_campaign

        return evaluate_campaign
    if name in __all__:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module 'hiexplore.campaigns' has no attribute {name!r}")
