"""Readers: indicators (placeholder, being written)."""

from __future__ import annotations

from .registry import Reader

READERS: list[Reader] = []
