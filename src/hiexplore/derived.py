"""Derived results stored with the dataset: the flags of every indicator x geography x period.

Why: flags carry 999-permutation local Moran clusters and a cross-validated expected-uptake
model; computed per request they made every page 2.5-4x slower than a bare one (issue 13).
They depend only on the dataset's tables and on the code that computes them, so they are
computed once (at the end of ``hiexplore build`` and ``hiexplore demo``, or on first use) and
stored in the dataset folder::

    derived/
      derived.json                    what a full derivation wrote: inputs_hash, engine_version,
                                      created, seconds, bytes, keys, errors
      flags/<indicator>.<geography>.<period hash>.parquet   one key's flags, exactly as
                                      :func:`hiexplore.flags.compute_flags` returned them
      flags/<same name>.json          its record: key, inputs_hash, engine_version, sha256 of the
                                      parquet file, rows, dtypes, attrs (or the request error)

Every stored key is validated when read: its record must name the same key, the hash of the
dataset's input tables (:func:`inputs_hash`) and the current :func:`engine_version`, and the
parquet file's SHA-256 must match the record. Anything else (stale, absent, corrupt, unreadable)
is recomputed and stored again, atomically (temporary file, then rename); a damaged file is
never used. A dataset folder that cannot be written keeps the result in memory for the loaded
dataset and says so (:func:`store_notes`, and a ``RuntimeWarning``).

The stored variant is the default one: England benchmark, default priority weights,
``flags.SEED`` and ``flags.PERMUTATIONS``. Other benchmarks are computed on request (they are
not bounded in number). Columns are stored as ``compute_flags`` returns them, whatever they are.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .dataset import TABLE_FILES, _swap_into_place, derived
from .errors import DatasetError, RequestError

__all__ = [
    "DERIVED_DIR",
    "FLAGS_ENGINE",
    "DerivedSummary",
    "engine_version",
    "inputs_hash",
    "flag_keys",
    "stored_flags",
    "stored_targets",
    "flags_in_memory",
    "derive_flags",
    "derive_dataset",
    "ensure_derived",
    "store_is_fresh",
    "derived_record",
    "derived_status",
    "store_notes",
    "writes_allowed",
    "WRITE_ENV",
]

DERIVED_DIR = "derived"
FLAGS_DIR = "flags"
RECORD_FILE = "derived.json"
#: bump when the flags logic changes in a way the source hash below would not see
FLAGS_ENGINE = "flags-2"  # flags-2: trend and trend_points (issue 14)
#: the modules whose code decides the flags: any change to them makes stored flags stale
_ENGINE_SOURCES = ("flags.py", "apportion.py", "spatial.py", "catalogue.py", "catalogue.json",
                   "schemas.py", "stats", "trends.py", "periods.py")
WRITE_ENV = "HIEXPLORE_DERIVED_WRITE"
_PARQUET: dict[str, Any] = {"compression": "zstd", "write_statistics": False}
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DerivedSummary:
    """What :func:`derive_flags` added to a dataset folder."""

    path: Path
    keys: int
    errors: int
    seconds: float
    bytes: int

    def line(self) -> str:
        """The line build and demo print: ``derived flags: 12.3 s, 4.1 MB (228 keys)``."""
        return (f"derived flags: {self.seconds:.1f} s, {self.bytes / 1e6:.1f} MB "
                f"({self.keys} indicator x geography x period keys, {self.errors} without flags)")


@lru_cache(maxsize=1)
def engine_version() -> str:
    """Hash of what decides the flags: the code, its version, esda's version, numba or not.

    ``FLAGS_ENGINE`` and ``hiexplore.__version__`` are named versions; the SHA-256 of the
    source of the modules in ``_ENGINE_SOURCES`` catches a change nobody versioned. esda's
    permutation inference runs compiled (numba) where numba is installed, with the same seeded
    permutations but not bit-identical arithmetic, so that is part of the version too.
    """
    h = hashlib.sha256(f"{FLAGS_ENGINE}|{__version__}".encode())
    root = Path(__file__).resolve().parent
    for name in _ENGINE_SOURCES:
        p = root / name
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p]
        for f in files:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    try:
        esda = importlib.metadata.version("esda")
    except importlib.metadata.PackageNotFoundError:
        esda = "absent"
    h.update(f"|esda {esda}|numba {importlib.util.find_spec('numba') is not None}".encode())
    return h.hexdigest()[:20]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def inputs_hash(ds: Any) -> str:
    """SHA-256 over the SHA-256 of each input table file, as loaded.

    :func:`hiexplore.dataset.load_dataset` keeps the hash of the bytes it parsed
    (``ds.file_sha256``), so a file replaced after loading does not pass for the loaded one;
    otherwise the files in the dataset folder are hashed (once per loaded dataset).
    """
    sums = getattr(ds, "file_sha256", None)
    if not sums:
        sums = derived(ds, "_derived_file_sums_cache", "files", lambda: _file_sums(Path(ds.path)), keep=1)
    return _combine(sums)


def _file_sums(root: Path) -> dict[str, str]:
    return {f: _sha256((root / f).read_bytes()) for f in TABLE_FILES.values() if (root / f).is_file()}


def _combine(sums: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(sums):
        h.update(f"{name}={sums[name]}\n".encode())
    return h.hexdigest()[:20]


def flag_keys(ds: Any) -> list[tuple[str, str, str]]:
    """Every (indicator, geography, period) with practice figures: what a derivation stores.

    Neighbourhood figures all start from practice rows, so every geography of
    :data:`hiexplore.flags.FLAG_GEOGRAPHIES` offers the practice periods.
    """
    from .flags import FLAG_GEOGRAPHIES

    return [(k, g, p) for k, periods in _periods(ds).items() for p in periods for g in FLAG_GEOGRAPHIES]


def _periods(ds: Any) -> dict[str, list[str]]:
    """Indicator -> its practice periods (oldest first), once per loaded dataset.

    Why: every page request asks which key it wants; filtering the indicators table each time
    would cost more than reading the stored flags at national size.
    """
    return derived(ds, "_derived_periods_cache", "periods",
                   lambda: {k: list(ds.periods(k)) for k in ds.indicator_keys()}, keep=1)


def _resolve(ds: Any, indicator: str, period: str | None) -> str | None:
    """The period a request means (None: the latest), or None when the store has no such key."""
    periods = _periods(ds).get(indicator)
    if not periods:
        return None
    if period is None:
        return periods[-1]
    return period if period in periods else None


def _key_name(indicator: str, geography: str, period: str) -> str:
    """File stem of a key: readable where it can be, a hash where text could be anything."""
    digest = hashlib.sha256(f"{indicator}\0{geography}\0{period}".encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch == "_" else "-" for ch in f"{indicator}.{geography}")[:80]
    return f"{safe}.{digest}"


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(path.resolve()), threading.Lock())


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _compute(ds: Any, indicator: str, geography: str, period: str) -> tuple[pd.DataFrame | None, dict]:
    """One key's flags, or the request error that says why there are none."""
    from .flags import compute_flags

    try:
        frame = compute_flags(ds, indicator, geography, period=period)
    except RequestError as err:
        return None, {"error": str(err.args[0]) if err.args else str(err)}
    return frame, {}


def _encode(frame: pd.DataFrame, record: dict) -> tuple[bytes, dict]:
    """Parquet bytes of one key's flags and the record that validates them."""
    buf = io.BytesIO()
    plain = frame.copy()
    plain.attrs = {}
    plain.to_parquet(buf, index=False, **_PARQUET)
    data = buf.getvalue()
    record = {
        **record,
        "sha256": _sha256(data),
        "rows": int(len(frame)),
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "attrs": json.loads(json.dumps(frame.attrs, default=_json_default)),
    }
    return data, record


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_key(folder: Path, name: str, data: bytes | None, record: dict) -> int:
    """Write one key (parquet first, then its record, each atomically); bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    if data is not None:
        _write_atomic(folder / f"{name}.parquet", data)
        size += len(data)
    text = (json.dumps(record, indent=1, default=_json_default) + "\n").encode()
    _write_atomic(folder / f"{name}.json", text)
    return size + len(text)


def _read_key(folder: Path, name: str, key: dict, ihash: str, engine: str) -> tuple[pd.DataFrame | None, dict] | str:
    """The stored flags of one key, or why they cannot be used (absent, stale, corrupt)."""
    rpath = folder / f"{name}.json"
    try:
        record = json.loads(rpath.read_text("utf-8"))
    except FileNotFoundError:
        return "absent"
    except (OSError, ValueError) as err:
        return f"{rpath}: unreadable record ({err})"
    if not isinstance(record, dict) or record.get("key") != key:
        return f"{rpath}: record is for another key or malformed"
    if record.get("inputs_hash") != ihash:
        return f"{rpath}: stale (the dataset's tables changed)"
    if record.get("engine_version") != engine:
        return f"{rpath}: stale (the flags code changed)"
    if "error" in record:
        return None, record
    ppath = folder / f"{name}.parquet"
    try:
        data = ppath.read_bytes()
    except OSError as err:
        return f"{ppath}: unreadable ({err})"
    if _sha256(data) != record.get("sha256"):
        return f"{ppath}: corrupt (SHA-256 differs from its record)"
    try:
        frame = pd.read_parquet(io.BytesIO(data))
        if [str(c) for c in frame.columns] != record["columns"] or len(frame) != record["rows"]:
            return f"{ppath}: columns or rows differ from its record"
        from .flags import FLAG_COLUMNS

        missing = [c for c in FLAG_COLUMNS if c not in frame.columns]
        if missing:
            return f"{ppath}: not a flags table (no column {', '.join(missing)})"
        for col, dtype in zip(record["columns"], record["dtypes"], strict=True):
            if str(frame[col].dtype) != dtype:
                frame[col] = frame[col].astype(dtype)
    except Exception as err:  # noqa: BLE001 - any failure to read back means: recompute
        return f"{ppath}: cannot be read back ({err})"
    frame.attrs = dict(record.get("attrs") or {})
    return frame, record


def _notes(ds: Any) -> list[str]:
    return ds.__dict__.setdefault("_derived_notes", []) if hasattr(ds, "__dict__") else []


def store_notes(ds: Any) -> list[str]:
    """What happened to the store for this loaded dataset: recomputed keys, read-only folder."""
    return list(_notes(ds))


def _note(ds: Any, text: str, *, warn: bool = False) -> None:
    notes = _notes(ds)
    if text not in notes:
        notes.append(text)
        if warn:
            warnings.warn(text, RuntimeWarning, stacklevel=3)


def _load_or_compute(ds: Any, indicator: str, geography: str, period: str) -> tuple[pd.DataFrame | None, dict]:
    """One key from the store; computed and stored when absent, stale or corrupt."""
    folder = Path(ds.path) / DERIVED_DIR / FLAGS_DIR
    name = _key_name(indicator, geography, period)
    key = {"indicator": indicator, "geography": geography, "period": period}
    ihash, engine = inputs_hash(ds), engine_version()
    with _lock(folder / name):
        got = _read_key(folder, name, key, ihash, engine)
        if not isinstance(got, str):
            return got
        if ": stale (" in got:  # one note per reason, not one per key: a whole store goes stale
            why = got.split(": stale (", 1)[1].rstrip(")")
            _note(ds, f"{folder}: stored flags are stale ({why}); recomputed and stored as used")
        elif got != "absent":
            _note(ds, f"recomputed derived flags: {got}")
        frame, extra = _compute(ds, indicator, geography, period)
        base = {"key": key, "inputs_hash": ihash, "engine_version": engine, **extra}
        data, record = _encode(frame, base) if frame is not None else (None, base)
        if not writes_allowed():
            _note(ds, f"derived flags kept in memory only: {WRITE_ENV}=0 (nothing written to {folder})")
            return frame, record
        try:
            _write_key(folder, name, data, record)
        except OSError as err:
            _note(ds, f"derived flags kept in memory only: cannot write {folder} ({err.strerror or err})",
                  warn=True)
        return frame, record


def writes_allowed() -> bool:
    """False when ``HIEXPLORE_DERIVED_WRITE=0``: first-use flags are then kept in memory only.

    Why: the test suite must not write into the committed ``data/llr`` (its store goes stale
    whenever the flags code changes); ``tests/conftest.py`` sets it. :func:`derive_flags`, an
    explicit request, writes regardless.
    """
    return os.environ.get(WRITE_ENV, "1").strip().lower() not in ("0", "false", "no")


def stored_flags(
    ds: Any,
    indicator: str,
    geography: str,
    period: str | None = None,
    *,
    benchmark: str = "england",
) -> pd.DataFrame:
    """The flags of one indicator x geography x period, from the dataset's derived store.

    The same frame :func:`hiexplore.flags.compute_flags` returns for these arguments (columns,
    dtypes, order and ``attrs``), read from ``derived/`` (see the module docstring); computed
    and stored there first when absent, stale or corrupt. ``period=None`` is the latest.
    A benchmark other than England is computed on request, not stored. Keys the store does not
    cover (an unknown indicator, geography or period) go to ``compute_flags``, which raises
    the :class:`~hiexplore.errors.RequestError` listing the valid choices.
    """
    from .flags import FLAG_GEOGRAPHIES, compute_flags

    if benchmark.strip().lower() != "england" or not hasattr(ds, "path") or not hasattr(ds, "indicator_keys"):
        return compute_flags(ds, indicator, geography, benchmark=benchmark, period=period)
    key_period = _resolve(ds, indicator, period)
    if geography not in FLAG_GEOGRAPHIES or key_period is None:
        return compute_flags(ds, indicator, geography, benchmark=benchmark, period=period)
    frame, record = derived(ds, "_stored_flags_cache", (indicator, geography, key_period),
                            lambda: _load_or_compute(ds, indicator, geography, key_period), keep=64)
    if frame is None:
        raise RequestError(str(record.get("error", "no flags")))
    out = frame.copy()
    out.attrs = json.loads(json.dumps(frame.attrs))  # callers may change theirs
    return out


def flags_in_memory(ds: Any, indicator: str, geography: str, period: str | None = None) -> bool:
    """True when :func:`stored_flags` has this key in memory already (no read, no compute).

    Why: the app shows a spinner only when the flags may take a moment (read or first compute).
    """
    if not hasattr(ds, "indicator_keys") or not hasattr(ds, "__dict__"):
        return False
    return (indicator, geography, _resolve(ds, indicator, period)) in ds.__dict__.get("_stored_flags_cache", {})


def stored_targets(
    ds: Any,
    indicators: list[str],
    geography: str,
    *,
    top: int | None = None,
    benchmark: str = "england",
) -> pd.DataFrame:
    """:func:`hiexplore.flags.compute_targets` over the stored flags of each indicator."""
    from .flags import compute_targets

    return compute_targets(
        ds, indicators, geography, top=top, benchmark=benchmark,
        flags_for=lambda k: stored_flags(ds, k, geography, benchmark=benchmark),
    )


def derived_record(path: str | Path) -> dict[str, Any]:
    """``derived/derived.json`` of a dataset folder, or {} when it has none (or unreadable)."""
    try:
        record = json.loads((Path(path) / DERIVED_DIR / RECORD_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def store_is_fresh(path: str | Path) -> bool:
    """True when a dataset folder's ``derived/`` was written whole for these tables and this code.

    Reads the record and hashes the table files (no load); says nothing about single keys,
    each of which is still checked when read.
    """
    record = derived_record(path)
    return (bool(record) and record.get("inputs_hash") == _combine(_file_sums(Path(path)))
            and record.get("engine_version") == engine_version()
            and (Path(path) / DERIVED_DIR / FLAGS_DIR).is_dir())


def derived_status(path: str | Path) -> str:
    """One line on a dataset folder's stored flags, for ``hiexplore info``: fresh, stale or none.

    The tables are hashed from the files (the bytes a load would parse), so this reads the
    folder without loading the dataset.
    """
    record = derived_record(path)
    if not record:
        return "none stored (computed on first use and stored then, or run `hiexplore build`/`demo`)"
    if record.get("inputs_hash") != _combine(_file_sums(Path(path))):
        state = "STALE: the tables changed since; keys are recomputed on first use"
    elif record.get("engine_version") != engine_version():
        state = "STALE: the flags code changed since; keys are recomputed on first use"
    else:
        state = "fresh"
    return (f"{record.get('keys', '?')} keys, {len(record.get('errors') or {})} without flags, "
            f"created {record.get('created', '?')} in {record.get('seconds', '?')} s, "
            f"{(record.get('bytes') or 0) / 1e6:.1f} MB: {state}")


def derive_flags(ds: Any, *, keys: Iterable[tuple[str, str, str]] | None = None,
                 echo: Echo | None = None) -> DerivedSummary:
    """Compute the flags of every key and write ``derived/`` whole, replacing any older one.

    Written beside the dataset's ``derived/`` and renamed into place, so a failure leaves the
    previous store as it was. Keys whose flags cannot be computed (no England figure, every
    denominator 0) are stored with the reason, so a page can say it without recomputing.
    Raises :class:`~hiexplore.errors.DatasetError` naming the folder if it cannot be written.
    """
    t0 = time.perf_counter()
    root = Path(ds.path).resolve()
    target = root / DERIVED_DIR
    todo = list(keys) if keys is not None else flag_keys(ds)
    ihash, engine = inputs_hash(ds), engine_version()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{DERIVED_DIR}.building-", dir=root))
    except OSError as err:
        raise DatasetError(f"{root}: cannot write derived flags ({err.strerror or err})") from None
    try:
        os.chmod(tmp, 0o755)
        size = 0
        errors: dict[str, str] = {}
        for i, (indicator, geography, period) in enumerate(todo, 1):
            frame, extra = _compute(ds, indicator, geography, period)
            key = {"indicator": indicator, "geography": geography, "period": period}
            base = {"key": key, "inputs_hash": ihash, "engine_version": engine, **extra}
            data, record = _encode(frame, base) if frame is not None else (None, base)
            size += _write_key(tmp / FLAGS_DIR, _key_name(indicator, geography, period), data, record)
            if frame is None:
                errors[f"{indicator} {geography} {period}"] = extra["error"]
            if echo is not None and i % 50 == 0:
                echo(f"  derived flags: {i}/{len(todo)} ...")
        seconds = time.perf_counter() - t0
        summary = {
            "inputs_hash": ihash,
            "engine_version": engine,
            "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "seconds": round(seconds, 2),
            "bytes": size,
            "keys": len(todo),
            "errors": errors,
            "stored_variant": "england benchmark, default weights, flags.SEED, flags.PERMUTATIONS",
        }
        text = json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
        (tmp / RECORD_FILE).write_text(text, "utf-8")
        size += len(text.encode())
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    ds.__dict__.pop("_stored_flags_cache", None)  # read the new store from now on
    out = DerivedSummary(path=target, keys=len(todo), errors=len(errors),
                         seconds=time.perf_counter() - t0, bytes=size)
    if echo is not None:
        echo(out.line())
    return out


def derive_dataset(path: str | Path, *, echo: Echo | None = None) -> DerivedSummary:
    """Load the dataset at ``path`` and store its flags: the last step of every build.

    What ``hiexplore build``, ``hiexplore demo`` and the app's Data page run after writing a
    dataset, so its pages read flags instead of computing them.
    """
    from .dataset import load_dataset

    if echo is not None:
        echo("Computing derived flags (every indicator x geography x period) ...")
    return derive_flags(load_dataset(path), echo=echo)


def ensure_derived(path: str | Path, *, echo: Echo | None = None) -> DerivedSummary | None:
    """Store a dataset's flags unless ``derived/`` is already fresh; None when it was.

    What ``hiexplore app`` runs before it serves (issue 13): without it the first sessions
    after start each find the store absent or stale and compute flags while users wait, all
    at once on a shared machine. Done once here, with progress on ``echo``, every page then
    reads them. Raises :class:`~hiexplore.errors.DatasetError` when the folder cannot be
    written (the caller says so and serves anyway: the app then keeps flags in memory).
    """
    if store_is_fresh(path):
        return None
    if echo is not None:
        echo(f"{path}: derived flags {derived_status(path)}")
    return derive_dataset(path, echo=echo)
