"""The canonical dataset: a folder of (Geo)Parquet tables plus ``manifest.json``.

Validated on write and on load (pandera, :mod:`hiexplore.schemas`). Writes are atomic: the new
dataset is written into a temporary folder beside the target and renamed into place, so a failed
build leaves the previous dataset byte-for-byte intact.

Load does not repeat the value checks a validated write already ran on the very same bytes. A
validated write also records, in ``validated.json``, the SHA-256 of each table file it wrote and
the fingerprint of the schemas it checked them against
(:data:`hiexplore.schemas.SCHEMA_FINGERPRINT`). On load each file is read once into memory and
hashed; a table whose hash and schema fingerprint match is parsed from those same bytes and gets
the structural checks only: every column present, with the dtype validation would leave
(:func:`hiexplore.schemas.structure_matches`). Every other table is validated in full: a file
that differs by one byte (edited, corrupted, replaced), a dataset written by an older version
or with ``validate=False`` (no ``validated.json``), schemas changed since the write, or a
structure that does not match. The checksums guard against accidental change, not against
someone who rewrites ``validated.json`` on purpose to match a changed file (who could as well
change the code). ``validated.json`` is not part of the content: ``manifest.json`` is unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd

from . import __version__
from .catalogue import catalogue
from .errors import DatasetError
from .schemas import SCHEMA_FINGERPRINT, TABLES, structure_matches, validate_table

__all__ = [
    "unplaced_practices",
    "own_practices",
    "PracticeCounts",
    "practice_counts",
    "TABLE_FILES",
    "Dataset",
    "write_dataset",
    "load_dataset",
    "read_manifest",
    "validated_checksums",
    "dataset_summary",
    "is_dataset",
    "derived",
    "list_datasets",
    "remove_leftovers",
    "is_hidden_folder",
]

T = TypeVar("T")
TABLE_FILES: dict[str, str] = {name: f"{name}.parquet" for name in TABLES}
VALIDATED_FILE = "validated.json"  # checksums of the table files a validated write produced
# zstd; no column statistics: every table is read whole (never filtered by row group), and the
# min/max of each column cost a tenth of the write for nothing
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": False}
GEO_TABLES = {"areas"}
REQUIRED_TABLES = ("areas", "lookup", "deprivation", "practices", "registrations", "indicators")


@dataclass
class Dataset:
    """A loaded canonical dataset. Tables are validated frames; ``manifest`` is the JSON dict."""

    path: Path
    manifest: dict[str, Any]
    areas: gpd.GeoDataFrame
    lookup: pd.DataFrame
    deprivation: pd.DataFrame
    practices: pd.DataFrame
    registrations: pd.DataFrame
    indicators: pd.DataFrame
    population: pd.DataFrame = field(default_factory=pd.DataFrame)
    # What is derived from the tables, built on first use by :func:`derived` (key -> result);
    # not part of the content: never compared, printed or written.
    _area_at_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _brief_patches_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _catchment_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _deprivation_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _derived_file_sums_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _derived_periods_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _features_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _indicator_rows_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _map_geometry_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _map_geometry_payload_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _map_values_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _map_area_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lsoa_names_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _newest_period_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _page_selection_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _page_series_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _page_views_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _periods_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _source_lines_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _stored_flags_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _trend_panel_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _weights_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _zoom_geometry_cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: SHA-256 of each table file's bytes as loaded (what derived results are keyed by)
    file_sha256: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic", False))

    @property
    def catchment_source(self) -> str:
        return str(self.manifest.get("catchments", "unknown"))

    @property
    def vintage(self) -> str:
        return str(self.manifest.get("geography_vintage", "2021"))

    def indicator_keys(self) -> list[str]:
        """Catalogue keys with practice-level data here (what maps and flags can use), in order.

        Worked out once per loaded dataset (every page asks, several times a run); a new list
        each call, so a caller may change its own.
        """
        def build() -> list[str]:
            rows = self.indicators[self.indicators["area_type"] == "practice"]
            have = set(rows["indicator"].unique())
            return [k for k in catalogue() if k in have]

        return list(derived(self, "_periods_cache", ("indicator_keys",), build, keep=1024))

    def periods(self, indicator: str, area_type: str | None = "practice") -> list[str]:
        """Periods with data for ``indicator`` (practice-level by default; None = any level).

        Worked out once per loaded dataset and key: a filter of the whole indicators table,
        asked for every indicator on every page run (about 1 s per Overview run at national size).
        """
        def build() -> list[str]:
            rows = self.indicators[self.indicators["indicator"] == indicator]
            if area_type is not None:
                rows = rows[rows["area_type"] == area_type]
            return sorted(rows["period"].unique(), key=_period_sort_key)

        return list(derived(self, "_periods_cache", ("periods", indicator, area_type), build, keep=1024))

    def latest_period(self, indicator: str) -> str | None:
        periods = self.periods(indicator)
        return periods[-1] if periods else None

    def provenance_line(self, limit: int = 5, sources: list[dict] | None = None) -> str:
        """One short line naming the sources and their dates, for captions under every figure.

        Sources of the same title (e.g. six quarterly COVER files) are grouped with their range
        of periods; the full list with licences and checksums is in the manifest. ``sources``
        (manifest entries) narrows the line to what one figure shows
        (:func:`hiexplore.charts.source_line` picks them); None names every source.
        """
        if self.synthetic:
            return "SYNTHETIC demo data (hiexplore generator): not real figures."
        import re

        groups: dict[tuple[str, str], list[str]] = {}
        for src in self.manifest.get("sources", []) if sources is None else sources:
            title = re.sub(r"\s*\([^)]*\)", "", str(src.get("title", "?"))).strip(" ,;:")
            publisher = re.sub(r"\s*\(.*\)$", "", str(src.get("publisher", "?"))).strip()
            groups.setdefault((publisher, title), []).append(str(src.get("period", "?")))
        parts = []
        for (publisher, title), periods in groups.items():
            ps = sorted(set(periods), key=_period_sort_key)
            span = ps[0] if len(ps) == 1 else f"{ps[0]} to {ps[-1]}"
            parts.append(f"{publisher}, {title} ({span})")
        more = len(parts) - limit
        shown = "; ".join(parts[:limit]) + (f"; and {more} more (see the manifest)" if more > 0 else "")
        return f"Sources: {shown}. Open Government Licence v3.0."


def derived(ds: Dataset, name: str, key: Hashable, build: Callable[[], T], *, keep: int = 16) -> T:
    """``build()`` once per loaded dataset object and ``key``, kept in the cache field ``name``.

    What is derived from a dataset (the share matrix, the indicators split by key, spatial
    indexes, deprivation per geography) stays true because a loaded dataset is not changed in
    place; the key names what it depends on. At most ``keep`` results are kept per name (the
    cache is emptied when a new key would exceed it; ``keep=1`` keeps only the latest). A
    :class:`Dataset` declares each cache as a field (an undeclared name is a programming error);
    other objects keep it in their ``__dict__``, and objects without one get a fresh result.

    Thread-safe, and built once: the app shares one loaded dataset between all its sessions
    (threads), so sessions asking for the same key at once wait for one build instead of each
    repeating it (issue 13: 20 sessions racing on 2 cores). Different keys build in parallel.
    """
    if isinstance(ds, Dataset):
        if name not in _CACHE_FIELDS:
            raise AttributeError(f"Dataset has no derived cache {name!r}; declare it as a field ({sorted(_CACHE_FIELDS)})")
        cache: dict[Hashable, Any] = getattr(ds, name)
    elif hasattr(ds, "__dict__"):
        cache = ds.__dict__.setdefault(name, {})
    else:
        return build()  # nowhere to keep it: a fresh result, nothing to share
    try:
        return cache[key]
    except KeyError:
        pass
    with _build_lock(cache, key):
        try:  # another thread may have built it while this one waited
            return cache[key]
        except KeyError:
            pass
        value = build()
        if len(cache) >= keep:
            cache.clear()
        cache[key] = value
        return value


_BUILD_LOCKS: dict[tuple[int, Hashable], threading.RLock] = {}
_BUILD_LOCKS_GUARD = threading.Lock()


def _build_lock(cache: dict, key: Hashable) -> threading.RLock:
    """The lock of one (cache, key): one build at a time, other keys free.

    Locks are kept for the life of the process (one per key ever built: a few hundred per
    dataset); a cache id reused after its dataset was freed only shares a lock, never a value.
    """
    with _BUILD_LOCKS_GUARD:
        return _BUILD_LOCKS.setdefault((id(cache), key), threading.RLock())


_CACHE_FIELDS = frozenset(f.name for f in fields(Dataset) if f.name.endswith("_cache"))


def _period_sort_key(period: str) -> tuple:
    import re

    nums = [int(n) for n in re.findall(r"\d+", str(period))]
    return (nums, str(period))


def is_dataset(path: str | Path) -> bool:
    return (Path(path) / "manifest.json").is_file()


def is_hidden_folder(path: str | Path) -> bool:
    """A folder no list of datasets shows: hidden (``.name``), which includes the temporary
    ``.NAME.building-*`` and ``.NAME.old-*`` folders of a build in progress or killed."""
    name = Path(path).name
    return name.startswith(".") and name not in ("", ".", "..")


def list_datasets(data_dir: str | Path) -> list[Path]:
    """The dataset folders directly inside ``data_dir``, sorted by name; hidden and
    half-built folders (``.NAME.building-*``, ``.NAME.old-*``) are never listed."""
    root = Path(data_dir)
    if not root.is_dir():
        return []
    return [p for p in sorted(root.iterdir()) if p.is_dir() and not is_hidden_folder(p) and is_dataset(p)]


# folders this process is writing now (Streamlit builds in threads of one process)
_IN_PROGRESS: set[Path] = set()
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<what>building|old)-(?:(?P<pid>\d+)-)?[^/]*$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process: its live folders are in _IN_PROGRESS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return False
    return True


def remove_leftovers(out_dir: str | Path) -> list[str]:
    """Remove what killed builds left in the folder ``out_dir`` is built into; one message each.

    A build writes ``.NAME.building-PID-*`` and swaps it in by moving the old dataset to
    ``.NAME.old-PID-*``; a build killed in between leaves them behind. Every such folder in the
    parent folder is a leftover unless its process still runs (a build going on now, of any
    name), which is left alone. If a dataset itself is missing (killed between the two renames)
    the newest of its ``.NAME.old-*`` copies is renamed back: the previous dataset is never lost.
    """
    parent = Path(out_dir).resolve().parent
    if not parent.is_dir():
        return []
    messages: list[str] = []
    leftovers: list[tuple[Path, str, str]] = []
    for p in sorted(parent.iterdir()):
        m = _LEFTOVER.match(p.name)
        if not m or not p.is_dir() or p.resolve() in _IN_PROGRESS:
            continue
        if m.group("pid") and _pid_alive(int(m.group("pid"))):
            continue
        leftovers.append((p, m.group("name"), m.group("what")))
    for name in sorted({n for _, n, _ in leftovers}):
        target = parent / name
        olds = [p for p, n, what in leftovers if n == name and what == "old" and is_dataset(p)]
        if not target.exists() and olds:
            newest = max(olds, key=lambda q: (q / "manifest.json").stat().st_mtime)
            os.rename(newest, target)
            messages.append(
                f"restored the previous dataset {name} from {newest.name} (a build was killed while swapping it)"
            )
            leftovers = [item for item in leftovers if item[0] != newest]
    for p, name, what in leftovers:
        shutil.rmtree(p, ignore_errors=True)
        if p.exists():
            messages.append(f"could not remove the leftover {p.name} of an interrupted build")
        else:
            kind = "half-written folder" if what == "building" else "old copy"
            messages.append(f"removed leftover {p.name} ({kind} of an interrupted build of {name})")
    return messages


def read_manifest(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    mpath = p / "manifest.json"
    if not mpath.is_file():
        raise DatasetError(
            f"{p} is not a hiexplore dataset (no manifest.json). Build one with "
            "`hiexplore build --source DIR --out DIR` or `hiexplore demo --out DIR`."
        )
    try:
        return json.loads(mpath.read_text("utf-8"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{mpath}: manifest is not valid JSON (line {err.lineno}): {err.msg}") from None


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (datetime, pd.Timestamp)):
        return obj.isoformat()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_dataset(
    out_dir: str | Path,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    *,
    validate: bool = True,
) -> Path:
    """Validate ``tables`` and write them atomically to ``out_dir`` with ``manifest.json``.

    The folder is written beside the target and swapped in with renames; if anything fails, the
    temporary folder is removed and whatever was at ``out_dir`` before is left untouched.
    """
    out = Path(out_dir).resolve()
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise DatasetError(f"cannot write dataset {out}: missing table(s) {', '.join(missing)}")
    unknown = [t for t in tables if t not in TABLE_FILES]
    if unknown:
        raise DatasetError(f"unknown table(s) {unknown}; expected {list(TABLE_FILES)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    # the pid in the name lets the next build tell a killed build's leftover from a live one
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-{os.getpid()}-", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a dataset is an ordinary shared folder
    _IN_PROGRESS.add(tmp.resolve())
    try:
        counts: dict[str, int] = {}
        checksums: dict[str, str] = {}
        for name, frame in tables.items():
            frame = validate_table(name, frame) if validate else frame
            frame = frame.reset_index(drop=True)
            target = tmp / TABLE_FILES[name]
            if name in GEO_TABLES:
                if not isinstance(frame, gpd.GeoDataFrame):
                    raise DatasetError(f"table {name!r} must be a GeoDataFrame")
                if frame.crs is None or frame.crs.to_epsg() != 4326:
                    frame = frame.to_crs(4326)
                frame.to_parquet(target, index=False, **PARQUET_OPTIONS)
            else:
                frame.to_parquet(target, index=False, **PARQUET_OPTIONS)
            counts[name] = int(len(frame))
            if validate:
                checksums[TABLE_FILES[name]] = _sha256(target.read_bytes())
        man = dict(manifest)
        man.setdefault("name", out.name)
        man.setdefault("created", datetime.now(UTC).replace(microsecond=0).isoformat())
        man.setdefault("synthetic", False)
        man.setdefault("geography_vintage", "2021")
        man["hiexplore_version"] = __version__
        man["tables"] = counts
        ind_rows = tables["indicators"]
        loaded = set(ind_rows.loc[ind_rows["area_type"] == "practice", "indicator"].unique())
        benchmark_only = set(ind_rows["indicator"].unique()) - loaded
        man["indicators_loaded"] = [k for k in catalogue() if k in loaded]
        man["indicators_not_loaded"] = [
            {
                "indicator": k,
                "load_with": ind.load_with,
                "note": (
                    "only England/regional figures loaded (no GP practice figures for these areas)"
                    if k in benchmark_only
                    else "no data"
                ),
            }
            for k, ind in catalogue().items()
            if k not in loaded
        ]
        (tmp / "manifest.json").write_text(
            json.dumps(man, indent=1, default=_json_default, ensure_ascii=False) + "\n", "utf-8"
        )
        if validate and SCHEMA_FINGERPRINT:
            record = {"schema": SCHEMA_FINGERPRINT, "sha256": checksums}
            (tmp / VALIDATED_FILE).write_text(json.dumps(record, indent=1) + "\n", "utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _IN_PROGRESS.discard(tmp.resolve())
    return out


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first and removed after."""
    if out.exists():
        if not out.is_dir():
            raise DatasetError(f"{out} exists and is not a folder")
        old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        _IN_PROGRESS.add(old.resolve())
        try:
            os.rename(out, old)
            try:
                os.rename(tmp, out)
            except BaseException:
                os.rename(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        finally:
            _IN_PROGRESS.discard(old.resolve())
    else:
        os.rename(tmp, out)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validated_checksums(path: str | Path) -> dict[str, str]:
    """``{file name: sha256}`` recorded by a validated write under the current schemas, or {}.

    Empty when ``validated.json`` is absent or unreadable, or was written under other schemas
    (its checks may not be the ones that would run now).
    """
    vpath = Path(path) / VALIDATED_FILE
    try:
        record = json.loads(vpath.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not SCHEMA_FINGERPRINT or not isinstance(record, dict):
        return {}
    sums = record.get("sha256")
    if record.get("schema") != SCHEMA_FINGERPRINT or not isinstance(sums, dict):
        return {}
    return {str(k): str(v) for k, v in sums.items()}


def load_dataset(path: str | Path, *, validate: bool = True) -> Dataset:
    """Load and validate a dataset folder written by :func:`write_dataset`.

    Tables whose bytes match the checksum a validated write recorded get the structural checks
    only; all others are validated in full (see the module docstring).
    """
    p = Path(path)
    manifest = read_manifest(p)
    trusted = validated_checksums(p) if validate else {}
    frames: dict[str, pd.DataFrame] = {}
    sums: dict[str, str] = {}
    for name, fname in TABLE_FILES.items():
        fpath = p / fname
        if not fpath.is_file():
            if name in REQUIRED_TABLES:
                raise DatasetError(f"dataset {p} is incomplete: {fname} is missing")
            frames[name] = pd.DataFrame()
            continue
        verified = False
        try:
            if validate:  # read once: the bytes hashed are the bytes parsed
                data = fpath.read_bytes()
                sums[fname] = _sha256(data)
                verified = fname in trusted and sums[fname] == trusted[fname]
                source: Any = io.BytesIO(data)
            else:
                source = fpath
            frame = gpd.read_parquet(source) if name in GEO_TABLES else pd.read_parquet(source)
        except Exception as err:  # noqa: BLE001 - any parquet failure is a dataset problem
            raise DatasetError(f"{fpath}: cannot read table {name!r}: {err}") from None
        if validate and len(frame) and not (verified and structure_matches(name, frame)):
            frame = validate_table(name, frame)
        frames[name] = frame
    return Dataset(path=p, manifest=manifest, file_sha256=sums, **frames)  # type: ignore[arg-type]


def dataset_summary(path: str | Path) -> dict[str, Any]:
    """What ``hiexplore info`` prints: the manifest, with table counts read from disk."""
    p = Path(path)
    man = read_manifest(p)
    counts = {}
    for name, fname in TABLE_FILES.items():
        fpath = p / fname
        if fpath.is_file():
            import pyarrow.parquet as pq

            counts[name] = pq.ParquetFile(fpath).metadata.num_rows
    man = dict(man)
    man["tables"] = counts
    man["path"] = str(p.resolve())
    return man


def unplaced_practices(manifest: dict[str, Any]) -> pd.DataFrame:
    """The practices a build could not place (``code, name, postcode, icb, areas, reason``), from the manifest.

    ``areas``: the requested area(s) each belongs to, "E06000017 Rutland; ..."; ``in_dataset``:
    whether it is one of the dataset's practices (both None in manifests written before the
    per-area check). What the Data page lists and ``hiexplore info`` prints;
    empty (with the columns) when none.
    """
    cols = ["practice_code", "practice_name", "postcode", "icb_code", "areas", "in_dataset", "reason"]
    rows = manifest.get("unplaced_practices") or []

    def areas(r: dict[str, Any]) -> str | None:
        codes = r.get("areas")
        if not codes:
            return None
        names = r.get("area_names") or codes
        return "; ".join(c if n == c else f"{c} {n}" for c, n in zip(codes, names, strict=False))

    return pd.DataFrame([{**{c: r.get(c) for c in cols}, "areas": areas(r)} for r in rows], columns=cols)


def own_practices(practices: pd.DataFrame) -> pd.DataFrame:
    """The areas' own practices: commissioned for them or standing inside them.

    Drops the neighbours (``in_area_by == "catchment"``) that only lend the patients they have in
    the areas to neighbourhood figures; datasets built before ``in_area_by`` keep every row.
    """
    if "in_area_by" not in practices:
        return practices
    return practices[practices["in_area_by"] != "catchment"]


@dataclass(frozen=True)
class PracticeCounts:
    """How many GP practices a dataset holds, told apart as every page and the CLI say it.

    ``own``: the areas' practices (commissioned for them or standing inside them: what the
    Practices page compares and flags); ``neighbours``: practices beyond the areas that only lend
    the patients they have there to neighbourhood figures (``in_area_by == "catchment"``).
    """

    own: int
    neighbours: int

    def sentence(self) -> str:
        """'128 GP practices; 8 neighbouring practices also serve residents (catchment model)'.

        >>> PracticeCounts(128, 8).sentence()
        '128 GP practices; 8 neighbouring practices also serve residents (catchment model)'
        >>> PracticeCounts(1, 1).sentence()
        '1 GP practice; 1 neighbouring practice also serves residents (catchment model)'
        >>> PracticeCounts(1234, 0).sentence()
        '1,234 GP practices'
        """
        out = f"{self.own:,} GP practice{'' if self.own == 1 else 's'}"
        if self.neighbours:
            one = self.neighbours == 1
            out += (f"; {self.neighbours:,} neighbouring practice{'' if one else 's'} also "
                    f"serve{'s' if one else ''} residents (catchment model)")
        return out


def practice_counts(practices: pd.DataFrame) -> PracticeCounts:
    """The areas' own practices (:func:`own_practices`) and the catchment-only neighbours."""
    own = len(own_practices(practices))
    return PracticeCounts(own=own, neighbours=len(practices) - own)
