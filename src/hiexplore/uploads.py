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

Every refusal raises a :class:`~hiexplore.errors.RequestError` (what was typed or sent is wrong)
or an :class:`~hiexplore.errors.InputFileError` (the file itself is unsafe), saying what was
expected and what was found.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

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
