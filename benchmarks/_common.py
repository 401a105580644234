"""Shared helpers of the benchmark scripts: timers, peak memory, the machine, and output.

Each benchmark prints a readable table, or with ``--json`` ends with one JSON line. Timings are
wall-clock (``time.perf_counter``) of one run each, as the issue asks; the machine is shared, so
the CPU time of the process is recorded beside each figure to show when other work competed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Timings", "peak_rss_mb", "machine", "print_table", "emit"]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        mem_gb = float("nan")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "load_1min_at_start": round(load, 2),
    }


@dataclass
class Timings:
    """Named wall-clock (and CPU) timings, in the order they were taken."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    @contextmanager
    def time(self, name: str, note: str = "") -> Iterator[dict[str, Any]]:
        row: dict[str, Any] = {"name": name, "note": note}
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield row
        finally:
            row["s"] = time.perf_counter() - wall
            row["cpu_s"] = time.process_time() - cpu
            row["peak_mb"] = peak_rss_mb()
            self.rows.append(row)

    def run(self, name: str, func: Callable[[], Any], note: str = "") -> Any:
        with self.time(name, note):
            return func()

    def __getitem__(self, name: str) -> float:
        for row in self.rows:
            if row["name"] == name:
                return float(row["s"])
        raise KeyError(name)


def print_table(title: str, rows: list[tuple[str, str, str]], file: Any = None) -> None:
    """Three columns: what, figure, comparison / note."""
    out = file or sys.stdout
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(title, file=out)
    print("-" * len(title), file=out)
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>{w1}}  {c}", file=out)


def emit(payload: dict[str, Any]) -> None:
    """The JSON line that ends a ``--json`` run."""
    print(json.dumps(payload, sort_keys=False, default=float))
