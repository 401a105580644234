"""Readers of official files, one per format, and the registry that recognises them by content.

``recognise(path)`` returns the first reader whose ``sniff`` accepts the file (order matters:
more specific layouts first); ``read_any(path)`` reads it.
"""

from __future__ import annotations

from pathlib import Path

from . import deprivation, geography, indicators, population, postcodes, practices, registrations
from .registry import OGL, Reader, ReadResult, SourceInfo

__all__ = ["READERS", "recognise", "read_any", "Reader", "ReadResult", "SourceInfo", "OGL"]

READERS: list[Reader] = [
    *deprivation.READERS,
    *geography.READERS,
    *practices.READERS,
    *postcodes.READERS,
    *registrations.READERS,
    *indicators.READERS,
    *population.READERS,
]


def recognise(path: str | Path) -> Reader | None:
    """The reader for ``path`` judged by content, or None if no reader recognises it."""
    p = Path(path)
    for reader in READERS:
        try:
            if reader.sniff(p):
                return reader
        except Exception:  # noqa: BLE001 - a sniffer must never stop recognition
            continue
    return None


def read_any(path: str | Path) -> list[ReadResult]:
    reader = recognise(path)
    if reader is None:
        from ..errors import InputFileError

        raise InputFileError(path, "not a file hiexplore recognises (no reader matched its content)")
    return reader.read(Path(path))
