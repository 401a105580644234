"""Suppressed small counts: a published percentage whose denominator was withheld.

UKHSA's COVER GP-level tables publish each practice's coverage (%) but suppress the denominator
when fewer than :data:`SUPPRESSED_BELOW` (5) children were eligible (``[note 1]``). Such a
percentage rests on 1 to 4 children: it has no interval, so it cannot be compared with a
benchmark, banded against a standard, flagged, placed on a funnel plot or apportioned to
neighbourhoods. It is kept, and every view and export reads its ``value_note``:
"fewer than 5 eligible (suppressed): 66.7%, no interval" (:func:`suppressed_note`).

:func:`mark_suppressed` writes that note; the COVER reader calls it (so a dataset built now
carries it) and so does the per-indicator split of a loaded dataset (so a dataset built before
carries it too). :func:`is_suppressed` finds the rows again by their note, and
:func:`suppression_summary` says how many eligible people the neighbourhood estimates miss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "SUPPRESSED_BELOW",
    "SUPPRESSED_PREFIX",
    "COVER_GP_SOURCE",
    "suppressed_note",
    "mark_suppressed",
    "is_suppressed",
    "suppression_summary",
]

#: COVER suppresses denominators under this number ([note 1])
SUPPRESSED_BELOW = 5
SUPPRESSED_PREFIX = f"fewer than {SUPPRESSED_BELOW} eligible (suppressed)"
#: the ``source`` text of rows read from a COVER GP-level table (:func:`read_cover_gp_ods`)
COVER_GP_SOURCE = "UKHSA COVER GP-level"


def suppressed_note(value: float) -> str:
    """The ``value_note`` of a suppressed practice.

    >>> suppressed_note(66.66667)
    'fewer than 5 eligible (suppressed): 66.7%, no interval'
    """
    return f"{SUPPRESSED_PREFIX}: {value:.1f}%, no interval"


def mark_suppressed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give COVER GP-level practice rows with a value but no denominator their ``value_note``.

    Returns ``frame`` itself when nothing needs marking, else a copy. Rows of other sources are
    left alone: a missing denominator elsewhere does not mean "fewer than 5".
    """
    if frame.empty or not {"source", "denominator", "value", "area_type"} <= set(frame.columns):
        return frame
    value = frame["value"].to_numpy(float)
    mask = (
        frame["denominator"].isna().to_numpy()
        & np.isfinite(value)
        & (frame["area_type"] == "practice").to_numpy(bool)
        & frame["source"].astype(str).str.startswith(COVER_GP_SOURCE).to_numpy(bool)
    )
    note = frame["value_note"] if "value_note" in frame else pd.Series(None, index=frame.index, dtype=object)
    todo = mask & ~note.astype(str).str.startswith(SUPPRESSED_PREFIX).to_numpy(bool)
    if not todo.any():
        return frame
    out = frame.copy()
    notes = note.astype(object).to_numpy(copy=True)
    notes[todo] = [suppressed_note(v) for v in value[todo]]
    out["value_note"] = pd.Series(notes, index=out.index, dtype=object)
    out["numerator"] = out["numerator"].where(~mask)  # no numerator can rest on a withheld denominator
    return out


def is_suppressed(frame: pd.DataFrame) -> np.ndarray:
    """True for the rows whose ``value_note`` says the denominator was suppressed."""
    if "value_note" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame["value_note"].astype(str).str.startswith(SUPPRESSED_PREFIX).to_numpy(bool)


def suppression_summary(practice_rows: pd.DataFrame, indicator: str, period: str) -> dict[str, Any] | None:
    """How many eligible people are missing from estimates built on ``practice_rows``; None if none.

    Each suppressed practice had 1 to 4 eligible people (fewer than 5, and a percentage needs at
    least one), so ``n`` such practices leave out between ``n`` and ``4 n`` people; the exact
    number is not published.

    >>> rows = pd.DataFrame({"value_note": [suppressed_note(50.0), None, suppressed_note(100.0)]})
    >>> suppression_summary(rows, "mmr1_24m", "2023/24 Q1")["text"]
    'mmr1_24m 2023/24 Q1: 2 practices with fewer than 5 eligible each (suppressed) are left out: between 2 and 8 eligible people (up to 4 each) are missing from the neighbourhood and PCN estimates built from practices.'
    """
    n = int(is_suppressed(practice_rows).sum())
    if n == 0:
        return None
    most = (SUPPRESSED_BELOW - 1) * n
    return {
        "indicator": indicator,
        "period": period,
        "practices": n,
        "eligible_missing_min": n,
        "eligible_missing_max": most,
        "text": (
            f"{indicator} {period}: {n} practice{'s' if n != 1 else ''} with fewer than "
            f"{SUPPRESSED_BELOW} eligible each (suppressed) {'are' if n != 1 else 'is'} left out: "
            f"between {n} and {most} eligible people (up to {SUPPRESSED_BELOW - 1} each) are "
            "missing from the neighbourhood and PCN estimates built from practices."
        ),
    }
