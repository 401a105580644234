"""Safety checks for files that users upload and names they type, before anything is parsed.

Plain functions, no Streamlit: the Data page, the CLI and the tests call the same checks.

- :func:`check_upload` -- the browser's file name and size: no path parts, a file type hiexplore
  reads, not empty, under the size limit; with the first bytes, that the content is what the
  extension claims (a ``.xlsx`` that is not a zip package is refused before a parser sees it).
- :func:`safe_dataset_path` -- a dataset name typed by a user becomes a folder directly inside
  the data folder, never anywhere else (``..``, ``/``, ``\\``, drive letters, symlinks).
- :func:`check_zip` -- a zip bomb guard run on any zip container (zip, xlsx, ods) before a reader
  opens it: declared sizes, compression ratios and member names from the central directory, and
  optionally the real decompressed size with a hard cap (a central directory can lie).
- Upload staging: each app session writes its accepted uploads into its own folder
  (:func:`session_staging`) through :func:`stage_uploads`; a rejected upload is never kept
  (refused before it is written, or deleted at once by :func:`discard_rejected` /
  :func:`discard_upload` when the checks, the validation report or a build refuse it), and
  :func:`sweep_staging` removes the folders of sessions that have ended (Streamlit has no
  reliable session-end hook, so: at each upload and at app start, folders whose session is gone
  or that have been idle longer than a TTL) and keeps all staging under a size bound, evicting
  the oldest folders first.

Every refusal raises a :class:`~hiexplore.errors.RequestError` (what was typed or sent is wrong)
or an :class:`~hiexplore.errors.InputFileError` (the file itself is unsafe), saying what was
expected and what was found.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
import zipfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the report is a DataFrame; uploads.py itself stays light to import
    import pandas as pd

from .errors import InputFileError, RequestError

__all__ = [
    "ALLOWED_SUFFIXES",
    "DEFAULT_MAX_BYTES",
    "DATASET_NAME",
    "ZIP_MAX_RATIO",
    "ZIP_MAX_TOTAL",
    "ZIP_MAX_MEMBERS",
    "check_upload",
    "safe_dataset_path",
    "check_zip",
    "human_size",
    "STAGING_DIR",
    "STAGING_TTL_SECONDS",
    "STAGING_MAX_BYTES",
    "UploadLike",
    "StagingLedger",
    "StagedUploads",
    "session_staging",
    "stage_uploads",
    "clear_staging",
    "discard_upload",
    "discard_rejected",
    "DELETED_NOTE",
    "OWNER_FILE",
    "sweep_staging",
    "staging_size",
]

#: file types hiexplore reads (readers recognise content; the extension only gates uploads)
ALLOWED_SUFFIXES = (
    ".csv", ".txt", ".gz", ".zip", ".xlsx", ".xls", ".ods", ".geojson", ".json", ".gpkg", ".fgb",
)
#: the Data page's default upload limit (Streamlit's own server.maxUploadSize is 200 MB too)
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: a dataset name: letters, digits, '-' and '_', starting with a letter or digit, up to 40
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
#: names Windows reserves (a folder called "con" cannot be made there)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
#: zip bomb limits: real official packages compress text at most ~60:1 (the ONS RUC ODS, 155 MB)
ZIP_MAX_RATIO = 200.0
ZIP_MAX_TOTAL = 2 * 1024**3
ZIP_MAX_MEMBERS = 10_000
_RATIO_FLOOR = 1024 * 1024  # small members (an empty sheet's XML) may compress very well
# what a file of each type starts with; gz must be gzip, zip-based types a zip package ...
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".gz": (b"\x1f\x8b",),
    ".zip": (b"PK\x03\x04", b"PK\x05\x06"),
    ".xlsx": (b"PK\x03\x04",),
    ".ods": (b"PK\x03\x04",),
    ".xls": (b"\xd0\xcf\x11\xe0", b"PK\x03\x04"),  # old OLE2 workbooks; some .xls are xlsx
    ".gpkg": (b"SQLite format 3\x00",),
    ".fgb": (b"fgb\x03",),
}
_TEXT_SUFFIXES = {".csv", ".txt", ".geojson", ".json"}


def human_size(n: float) -> str:
    """Bytes as a user reads them: 512 B, 3.2 MB, 1.5 GB (powers of 1024, as upload limits are)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return f"{n:,.1f} TB"  # pragma: no cover


def _base_name(name: str) -> str:
    """The last part of a browser-supplied name, refusing anything that tries to be a path."""
    if not isinstance(name, str) or not name.strip():
        raise RequestError("The uploaded file has no name.")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise RequestError(f"The file name {name!r} contains control characters.")
    posix, win = PurePosixPath(name), PureWindowsPath(name)
    if name != posix.name or name != win.name or name in (".", ".."):
        raise RequestError(
            f"The file name {name!r} contains a folder path; expected a plain file name such as "
            "'epraccur.zip'."
        )
    if name.startswith("."):
        raise RequestError(f"The file name {name!r} starts with a dot (a hidden file); rename it.")
    return name


def check_upload(
    name: str,
    size: int,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    head: bytes | None = None,
    allowed: tuple[str, ...] = ALLOWED_SUFFIXES,
) -> str:
    """Refuse an upload before it is written or parsed; return the safe plain file name.

    ``name`` and ``size`` are what the browser sent (``UploadedFile.name`` / ``.size``);
    ``head`` (optional) is the first bytes of the content, to check that the content is of the
    type the extension names. Raises :class:`RequestError` naming the file and what is wrong.

    >>> check_upload("epraccur.zip", 932_395)
    'epraccur.zip'
    >>> check_upload("big.csv", 500 * 1024**2, 200 * 1024**2)
    Traceback (most recent call last):
    ...
    hiexplore.errors.RequestError: big.csv: 500 MB is over the upload limit of 200 MB.
    """
    base = _base_name(name)
    suffix = Path(base).suffix.lower()
    if suffix not in allowed:
        raise RequestError(
            f"{base}: file type {suffix or '(none)'} is not accepted.", valid=list(allowed)
        )
    if size < 0:
        raise RequestError(f"{base}: the size {size} is not a size.")
    if size == 0:
        raise RequestError(f"{base}: the file is empty (0 bytes).")
    if size > max_bytes:
        raise RequestError(
            f"{base}: {human_size(size)} is over the upload limit of {human_size(max_bytes)}."
        )
    if head is not None:
        _check_magic(base, suffix, head)
    return base


def _check_magic(base: str, suffix: str, head: bytes) -> None:
    if suffix in _MAGIC:
        if not head.startswith(_MAGIC[suffix]):
            raise RequestError(
                f"{base}: the content is not a {suffix} file (it starts with {head[:8]!r}); "
                "was it renamed?"
            )
    elif suffix in _TEXT_SUFFIXES:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return  # UTF-16 text with its BOM: the readers decode it
        if b"\x00" in head[:4096] or head.startswith((b"PK\x03\x04", b"\x1f\x8b", b"\xd0\xcf\x11\xe0")):
            raise RequestError(
                f"{base}: expected text ({suffix}), found binary content (it starts with "
                f"{head[:8]!r}); was a workbook or an archive renamed?"
            )


def safe_dataset_path(data_dir: str | Path, name: str) -> Path:
    """The folder ``data_dir / name`` for a dataset, or :class:`RequestError` if it would escape.

    Only letters, digits, ``-`` and ``_`` (up to 40, starting with a letter or digit): no
    separators, no ``..``, no absolute paths, no Windows reserved names; and the resolved path
    must sit directly inside the resolved data folder (a symlink out of it is refused).

    >>> safe_dataset_path("/srv/data", "llr-2025").as_posix()
    '/srv/data/llr-2025'
    """
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
        raise RequestError(
            f"Dataset name {name!r} is not allowed: use letters, digits, '-' and '_' only, "
            "starting with a letter or digit (up to 40 characters)."
        )
    if name.lower() in _RESERVED:
        raise RequestError(f"Dataset name {name!r} is reserved by Windows; choose another.")
    root = Path(data_dir).expanduser().resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise RequestError(
            f"Dataset name {name!r} would be written outside the data folder {root} "
            f"(it resolves to {target})."
        )
    return target


def check_zip(
    path: str | Path,
    max_ratio: float = ZIP_MAX_RATIO,
    max_total: int = ZIP_MAX_TOTAL,
    *,
    max_members: int = ZIP_MAX_MEMBERS,
    stream: bool = False,
) -> None:
    """Refuse a zip container (zip, xlsx, ods) that would decompress to too much.

    Reads only the central directory: the number of members, their declared total size
    (``max_total`` bytes), each member's compression ratio (``max_ratio``, for members over
    1 MB), and member names that climb out of the archive (``..``, absolute). With
    ``stream=True`` every member is also decompressed in chunks, stopping as soon as
    ``max_total`` bytes have come out, so a central directory that understates sizes is caught
    too. Files that are not zips pass untouched. Raises :class:`InputFileError` naming the file
    and the member.
    """
    p = Path(path)
    if not zipfile.is_zipfile(p):
        return
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            if len(infos) > max_members:
                raise InputFileError(
                    p, f"the archive holds {len(infos):,} members; at most {max_members:,} are accepted"
                )
            total = 0
            for info in infos:
                name = info.filename
                if name.startswith(("/", "\\")) or ".." in PurePosixPath(name.replace("\\", "/")).parts:
                    raise InputFileError(p, f"member {name!r} has a path that leaves the archive")
                total += info.file_size
                if info.file_size > _RATIO_FLOOR:
                    ratio = info.file_size / max(info.compress_size, 1)
                    if ratio > max_ratio:
                        raise InputFileError(
                            p,
                            f"member {name!r} would expand {ratio:,.0f}-fold "
                            f"({human_size(info.compress_size)} to {human_size(info.file_size)}); at "
                            f"most {max_ratio:,.0f}-fold is accepted (a zip bomb?)",
                        )
                if total > max_total:
                    raise InputFileError(
                        p,
                        f"the archive would expand to more than {human_size(max_total)} "
                        f"(reached at member {name!r}); at most {human_size(max_total)} is accepted",
                    )
            if stream:
                _stream_check(zf, p, max_total)
    except zipfile.BadZipFile as err:
        raise InputFileError(p, f"not a readable zip archive ({err})") from None


def _stream_check(zf: zipfile.ZipFile, p: Path, max_total: int) -> None:
    out = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                out += len(chunk)
                if out > max_total:
                    raise InputFileError(
                        p,
                        f"the archive decompresses to more than {human_size(max_total)} (reached "
                        f"in member {info.filename!r}); at most {human_size(max_total)} is accepted",
                    )


# --- upload staging: one folder per app session, cleared when the session ends, bounded in size

#: the staging folder's name inside the data folder (a dot folder: never offered as a dataset)
STAGING_DIR = ".uploads"
#: a session's staging idle this long is treated as ended, live or not (6 hours)
STAGING_TTL_SECONDS = 6 * 3600
#: all sessions' staged files together; the oldest folders are evicted beyond this (2 GB)
STAGING_MAX_BYTES = 2 * 1024**3
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$")
_PART = ".part-"
#: names the server process that owns a staging folder (its pid), so that two app servers sharing
#: a data folder never sweep each other's live sessions
OWNER_FILE = ".owner"
#: what the validation report says of a refused upload
DELETED_NOTE = "upload deleted from the server"


class UploadLike(Protocol):
    """What :func:`stage_uploads` needs of an upload (Streamlit's ``UploadedFile`` has it)."""

    file_id: str
    name: str
    size: int

    def getbuffer(self) -> memoryview: ...


@dataclass
class StagingLedger:
    """What a session has staged (upload id -> file name) and refused (upload id -> reason).

    Kept by the caller for the session (the Data page keeps it in ``st.session_state``), so that
    a refused upload still shown by the browser's uploader is not written again at each rerun.
    """

    staged: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    #: uploads a successful build used and :func:`clear_staging` deleted (not staged again)
    used: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StagedUploads:
    """The outcome of :func:`stage_uploads`: files now staged, refusals, and what was deleted."""

    folder: Path
    files: tuple[Path, ...]
    problems: tuple[str, ...]
    removed: tuple[str, ...]


def session_staging(data_dir: str | Path, session_id: str) -> Path:
    """The staging folder of one app session: ``data_dir/.uploads/<session_id>``.

    >>> session_staging("/srv/data", "0f3c9a1e-77aa-4c1b").as_posix()
    '/srv/data/.uploads/0f3c9a1e-77aa-4c1b'
    """
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise RequestError(f"Session id {session_id!r} is not a valid staging folder name.")
    return Path(data_dir) / STAGING_DIR / session_id


def _folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            try:
                total += (Path(dirpath) / f).stat().st_size
            except OSError:
                pass
    return total


def staging_size(root: str | Path) -> int:
    """Bytes held under a staging root (every session's folder)."""
    root = Path(root)
    return _folder_size(root) if root.is_dir() else 0


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _owner_alive_elsewhere(folder: Path) -> bool:
    """True when another, still running server process owns ``folder`` (see OWNER_FILE)."""
    try:
        pid = int((folder / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _record_rejection(ledger: StagingLedger, key: str, message: str) -> None:
    ledger.staged.pop(key, None)
    ledger.rejected[key] = message


def stage_uploads(
    staging: str | Path,
    uploads: Sequence[UploadLike],
    ledger: StagingLedger,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    total_max_bytes: int = STAGING_MAX_BYTES,
    allowed: tuple[str, ...] = ALLOWED_SUFFIXES,
) -> StagedUploads:
    """Bring a session's staging folder in line with the uploads its browser now holds.

    Each new upload is checked (:func:`check_upload` with its first bytes) before it is
    written; it is written under a hidden temporary name and renamed, so no reader ever sees
    half a file; a zip container is then checked (:func:`check_zip`) and **deleted at once** if
    refused. Refusals are kept in ``ledger.rejected`` (the same upload is not written again)
    and returned as messages. Files the user has removed from the uploader are deleted.
    All staging (every session) is kept under ``total_max_bytes``: other sessions' oldest
    folders are evicted first (:func:`sweep_staging`), and an upload that still does not fit
    is refused.
    """
    folder = Path(staging)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / OWNER_FILE).write_text(str(os.getpid()))  # this server; also the last activity
    os.utime(folder)  # last activity: what the TTL sweep measures
    problems: list[str] = []
    removed: list[str] = []
    wanted: set[str] = set()
    for up in uploads:
        key = str(getattr(up, "file_id", "") or f"{up.name}:{up.size}")
        if key in ledger.rejected:
            problems.append(ledger.rejected[key])
            continue
        if key in ledger.used:
            continue
        name = ledger.staged.get(key)
        if name is not None and (folder / name).is_file():
            wanted.add(name)
            continue
        try:
            buf = up.getbuffer()
            name = check_upload(up.name, up.size, max_bytes, head=bytes(buf[:16]), allowed=allowed)
            if name in wanted:
                raise RequestError(f"{name}: another uploaded file has the same name; rename one of them.")
            _make_room(folder, up.size, total_max_bytes, name)
            dest = folder / name
            part = folder / f"{_PART}{name}"
            part.write_bytes(buf)
            os.replace(part, dest)
            try:
                check_zip(dest)
            except InputFileError:
                _unlink(dest)  # a refused archive does not stay on the server
                removed.append(name)
                raise
        except (RequestError, InputFileError) as err:
            _record_rejection(ledger, key, str(err))
            problems.append(str(err))
            continue
        ledger.staged[key] = name
        wanted.add(name)
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name not in wanted and path.name != OWNER_FILE:
            _unlink(path)  # withdrawn from the uploader, or a half-written leftover
            removed.append(path.name)
    for key in [k for k, n in ledger.staged.items() if n not in wanted]:
        del ledger.staged[key]
    files = tuple(sorted(folder / n for n in wanted))
    return StagedUploads(folder, files, tuple(problems), tuple(removed))


def _make_room(folder: Path, incoming: int, total_max_bytes: int, name: str) -> None:
    root = folder.parent
    existing = folder / name
    if existing.is_file():  # about to be replaced: its bytes do not count twice
        incoming -= existing.stat().st_size
    if staging_size(root) + incoming <= total_max_bytes:
        return
    sweep_staging(root, keep=folder.name, ttl=None, max_bytes=max(total_max_bytes - incoming, 0))
    used = staging_size(root)
    if used + incoming > total_max_bytes:
        raise RequestError(
            f"{name}: upload staging is full ({human_size(used)} held, limit "
            f"{human_size(total_max_bytes)}); remove files you no longer need, or build first."
        )


def clear_staging(staging: str | Path, ledger: StagingLedger) -> list[str]:
    """Delete a session's staging folder after a successful build; return the names deleted.

    The uploads are remembered as used, so the uploader still showing them does not stage
    them again; uploading a file anew stages it again.
    """
    folder = Path(staging)
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != OWNER_FILE) if folder.is_dir() else []
    shutil.rmtree(folder, ignore_errors=True)
    ledger.used.update(ledger.staged)
    ledger.staged.clear()
    return names


def discard_upload(staging: str | Path, path: str | Path, message: str, ledger: StagingLedger) -> bool:
    """Delete one staged file that was refused (by a reader or a build); True if it was staged.

    Files outside ``staging`` (e.g. a folder the user pointed at) are never touched.
    """
    folder = Path(staging).resolve()
    p = Path(path)
    try:
        p = p.resolve()
    except OSError:
        return False
    if p.parent != folder or not p.is_file():
        return False
    _unlink(p)
    keys = [k for k, n in ledger.staged.items() if n == p.name] or [f"file:{p.name}"]
    for key in keys:
        _record_rejection(ledger, key, f"{p.name}: deleted after it was refused: {message}")
    return True


def discard_rejected(staging: str | Path, report: pd.DataFrame, ledger: StagingLedger) -> pd.DataFrame:
    """Delete the staged files a validation report refused (status "error" or "skipped").

    ``report`` is :func:`hiexplore.build.validation_report`'s frame (columns ``file``,
    ``status``, ``problem``, ``notes``); the copy returned says "upload deleted from the
    server" in ``notes`` on each row whose file was deleted.
    """
    out = report.copy()
    for idx, row in out.iterrows():
        if row["status"] not in ("error", "skipped"):
            continue
        why = row.get("problem") or "no reader recognised its content"
        if discard_upload(staging, row["file"], str(why), ledger):
            out.loc[idx, "notes"] = "; ".join(n for n in (str(row.get("notes") or ""), DELETED_NOTE) if n)
    return out


def sweep_staging(
    root: str | Path,
    *,
    keep: str | None = None,
    live: Collection[str] | None = None,
    ttl: float | None = STAGING_TTL_SECONDS,
    max_bytes: int | None = STAGING_MAX_BYTES,
    now: float | None = None,
) -> list[tuple[str, str]]:
    """Remove staging folders of ended sessions, then evict oldest-first above ``max_bytes``.

    A folder goes when its session is not among ``live`` (when the caller can tell which
    sessions exist), or when it has been idle (folder mtime) for more than ``ttl`` seconds;
    ``keep`` (the calling session) is never removed. ``live`` only speaks for this server
    process: a folder that another running server owns (its pid in ``.owner``) is judged by the
    TTL and the size bound alone. Stray files in the root go too. Returns ``(name, reason)`` for
    each removal.
    """
    base = Path(root)
    if not base.is_dir():
        return []
    now = time.time() if now is None else now
    removed: list[tuple[str, str]] = []
    folders: list[tuple[float, Path]] = []
    for p in base.iterdir():
        if p.name == keep:
            continue
        if not p.is_dir() or p.is_symlink():
            _unlink(p)
            removed.append((p.name, "not a session folder"))
            continue
        idle = now - p.stat().st_mtime
        if live is not None and p.name not in live and not _owner_alive_elsewhere(p):
            reason = "its session has ended"
        elif ttl is not None and idle > ttl:
            reason = f"idle for more than {ttl / 3600:g} hours"
        else:
            folders.append((p.stat().st_mtime, p))
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append((p.name, reason))
    if max_bytes is not None:
        total = staging_size(base)
        for _mtime, p in sorted(folders, key=lambda t: t[0]):
            if total <= max_bytes:
                break
            size = _folder_size(p)
            shutil.rmtree(p, ignore_errors=True)
            total -= size
            removed.append((p.name, f"staging over {human_size(max_bytes)}: oldest evicted"))
    return removed
