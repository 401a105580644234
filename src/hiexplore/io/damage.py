"""Is a file damaged? Decided before recognition, so a broken data file is never "not recognised".

A file is *data-like* when its extension (csv, csv.gz, gz, zip, xlsx, xls, ods, json, geojson,
gpkg, fgb) or its leading bytes (gzip ``1f 8b``, zip ``PK\\x03\\x04``, OLE2 ``d0 cf 11 e0``, the
SQLite header) say it is a data file. A data-like file is **damaged** when it cannot be opened or
decoded: it is empty, a gzip stream ends early or fails its CRC, a zip has no central directory
or a member fails its CRC, a workbook does not open, a GeoPackage is not (or not all of) an
SQLite database, a zipped shapefile lacks its .shp, .shx or .dbf, a JSON file is cut off or is
not JSON, a text file holds NUL bytes, or the file is a saved HTML page. The whole file is read
(a gzip or zip stream to its end) because damage is often at the end: a download that stopped.

A file whose content is sound but whose extension lies (an XLSX workbook named .ods, a gzip file
named .csv) is not damaged: readers recognise files by content, so it is read by its content and
:func:`inspect_file` returns a warning naming it. Files of no known layout (README, PDF, licence)
are neither: recognition lists them as "not recognised".

Nothing here raises for a damaged file; the build decides (stop, or skip with ``--skip-damaged``).
A zip that would decompress to more than :data:`~hiexplore.uploads.ZIP_MAX_TOTAL` is refused by
:func:`~hiexplore.uploads.check_zip` (an :class:`~hiexplore.errors.InputFileError`) before any of
its members is decompressed here.
"""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["DATA_SUFFIXES", "FileCheck", "inspect_file", "content_type"]

#: extensions that say "data file" (``.txt`` does not: READMEs and licences are .txt)
DATA_SUFFIXES = (".csv", ".gz", ".zip", ".xlsx", ".xls", ".ods", ".json", ".geojson", ".gpkg", ".fgb")
_TEXT_SUFFIXES = {".csv": "a CSV", ".json": "a JSON file", ".geojson": "a GeoJSON file"}
_BINARY_SUFFIXES = {
    ".gz": "a gzip file", ".zip": "a ZIP archive", ".xlsx": "an XLSX workbook", ".xls": "an XLS workbook",
    ".ods": "an ODS workbook", ".gpkg": "a GeoPackage", ".fgb": "a FlatGeobuf file",
}
_CONTENT_NAMES = {
    "gzip": "a gzip file", "zip": "a ZIP archive", "xlsx": "an XLSX workbook", "ods": "an ODS workbook",
    "xls": "an XLS workbook", "sqlite": "an SQLite database (GeoPackage)", "fgb": "a FlatGeobuf file",
    "text": "a text file", "html": "an HTML page",
}
_EXPECTED_CONTENT = {
    ".gz": {"gzip"}, ".zip": {"zip"}, ".xlsx": {"xlsx"}, ".xls": {"xls", "xlsx"}, ".ods": {"ods"},
    ".gpkg": {"sqlite"}, ".fgb": {"fgb"}, ".csv": {"text"}, ".json": {"text"}, ".geojson": {"text"},
}
_CHUNK = 1 << 20
#: JSON files larger than this are not parsed whole here (the reader parses them anyway): only
#: their end is checked, which is where a download that stopped shows
_JSON_PARSE_LIMIT = 64 * 1024 * 1024
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf")


@dataclass(frozen=True)
class FileCheck:
    """What :func:`inspect_file` found: ``damaged`` is the reason (None if sound), ``warning`` a
    mismatch between extension and content that did not stop it being read, ``data_like`` whether
    the extension or leading bytes say it is a data file at all."""

    data_like: bool
    damaged: str | None = None
    warning: str | None = None


def _suffix(path: Path) -> str:
    """The extension that says what the file is: ``.csv.gz`` counts as ``.gz``."""
    return path.suffix.lower()


def _is_html(head: bytes) -> bool:
    """A saved web page: '<!DOCTYPE html', '<html', '<head' or '<body' first (an XHTML page may
    open with an XML declaration)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<?xml"):
        return b"<!doctype html" in text[:512] or b"<html" in text[:512]
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def content_type(head: bytes, path: Path | None = None) -> str:
    """What the leading bytes say: gzip, zip/xlsx/ods (a zip's members tell), xls, sqlite, fgb,
    html, or text (anything else, binary garbage included: the NUL check finds that)."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if path is not None:
            return _zip_kind(path)
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"fgb\x03"):
        return "fgb"
    if _is_html(head):
        return "html"
    return "text"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names:
                mime = zf.read("mimetype")[:100]
                if b"opendocument.spreadsheet" in mime:
                    return "ods"
            if "content.xml" in names and "META-INF/manifest.xml" in names:
                return "ods"
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, KeyError, ValueError):
        pass
    return "zip"


def _what(kind: str) -> str:
    return _CONTENT_NAMES.get(kind, kind)


def inspect_file(path: str | Path) -> FileCheck:
    """Whether ``path`` is a data file, and if so whether it is damaged (the reason) or misnamed.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = Path(d, "File_1.csv"); _ = p.write_bytes(b"")
    >>> inspect_file(p).damaged
    'empty file'
    >>> _ = p.write_bytes(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    >>> inspect_file(p).damaged
    'an HTML page, not a CSV'
    >>> _ = Path(d, "README.txt").write_text("notes"); inspect_file(Path(d, "README.txt")).data_like
    False
    """
    p = Path(path)
    suffix = _suffix(p)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        return FileCheck(True, f"cannot be opened ({err.strerror or err})")
    kind = content_type(head, p) if head else "empty"
    by_name = suffix in DATA_SUFFIXES
    by_bytes = kind in ("gzip", "zip", "xlsx", "ods", "xls", "sqlite", "fgb")
    if not (by_name or by_bytes):
        return FileCheck(False)
    if size == 0:
        return FileCheck(True, "empty file")
    expected = _EXPECTED_CONTENT.get(suffix)
    named = _BINARY_SUFFIXES.get(suffix) or _TEXT_SUFFIXES.get(suffix)
    if kind == "html":
        return FileCheck(True, f"an HTML page, not {named or 'a data file'}")
    warning = None
    if expected is not None and kind not in expected:
        if kind == "text" and suffix in _BINARY_SUFFIXES and suffix != ".gz":
            # text (or garbage) where a binary container was promised: nothing can open it
            if suffix == ".gpkg":
                return FileCheck(True, f"not a GeoPackage: not an SQLite database (it starts with {head[:16]!r})")
            return FileCheck(True, f"not {named}: it starts with {head[:16]!r}")
        # sound content under the wrong name (a browser that un-gzipped a .csv.gz, a workbook saved
        # with the wrong extension): readers go by content, so it is read, with a warning
        warning = f"{_what(kind)} named {suffix}; read by its content"
    damaged = _check_content(p, kind, suffix)
    return FileCheck(True, damaged, None if damaged else warning)


def _check_content(p: Path, kind: str, suffix: str) -> str | None:
    if kind == "gzip":
        return _check_gzip(p)
    if kind in ("zip", "xlsx", "ods"):
        return _check_zip(p, kind)
    if kind == "xls":
        return _check_workbook(p, "XLS")
    if kind == "sqlite":
        return _check_sqlite(p)
    if kind == "text":
        return _check_text_file(p, suffix)
    return None


def _check_gzip(p: Path) -> str | None:
    """Decompress the whole stream (members too): EOF before the end is 'truncated gzip'."""
    d = zlib.decompressobj(wbits=47)  # gzip header, auto-detected
    nul_at: int | None = None
    out_pos = 0
    head = b""
    try:
        with open(p, "rb") as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                while chunk:
                    data = d.decompress(chunk)
                    if len(head) < 4096:
                        head += data[: 4096 - len(head)]
                    if nul_at is None and (i := data.find(b"\x00")) >= 0:
                        nul_at = out_pos + i
                    out_pos += len(data)
                    chunk = d.unused_data
                    if chunk:  # a second gzip member follows
                        d = zlib.decompressobj(wbits=47)
    except zlib.error as err:
        return f"corrupt gzip ({err})"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if not d.eof:
        return f"truncated gzip (the compressed stream ends early, after {out_pos:,} bytes of content)"
    if out_pos == 0:
        return "empty file (an empty gzip stream)"
    if _is_html(head):
        return "an HTML page inside the gzip, not a CSV"
    if nul_at is not None and not head.startswith((b"\xff\xfe", b"\xfe\xff")) and _looks_text(head):
        return f"NUL bytes in a text file (first at byte {nul_at:,} of the decompressed content)"
    return None


def _looks_text(head: bytes) -> bool:
    """Mostly printable: a CSV with NUL bytes in it, not a binary file (a tar inside a gzip)."""
    sample = head[:4096].replace(b"\x00", b"")
    if not sample:
        return True
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in sample)
    return printable / len(sample) > 0.9


def _check_zip(p: Path, kind: str) -> str | None:
    """Central directory present, every member decompresses and matches its CRC-32."""
    if not zipfile.is_zipfile(p):
        return "truncated zip (no central directory: the download stopped?)"
    try:
        with zipfile.ZipFile(p) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        return f"corrupt zip ({err})"
    from ..uploads import check_zip

    check_zip(p)  # a zip bomb is refused (InputFileError) before a member is decompressed
    try:
        with zipfile.ZipFile(p) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if not infos:
                return "an empty ZIP archive (no files in it)"
            for info in infos:
                try:
                    with zf.open(info) as fh:
                        first = fh.read(4096)
                        nul = b"\x00" in first
                        while fh.read(_CHUNK):
                            pass
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as err:
                    return f"corrupt zip member {info.filename!r} ({err})"
                if info.filename.lower().endswith(".csv"):
                    if _is_html(first):
                        return f"an HTML page, not a CSV (zip member {info.filename!r})"
                    if nul and not first.startswith((b"\xff\xfe", b"\xfe\xff")):
                        return f"NUL bytes in a text file (zip member {info.filename!r})"
            names = [i.filename for i in infos]
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as err:
        return f"corrupt zip ({err})"
    if kind in ("xlsx", "ods"):
        return _check_workbook(p, kind.upper())
    return _check_shapefile_parts(names)


def _check_shapefile_parts(names: list[str]) -> str | None:
    """A zipped shapefile needs its .shp, .shx and .dbf side by side."""
    stems: dict[str, set[str]] = {}
    for n in names:
        pp = PurePosixPath(n)
        if pp.suffix.lower() in (*_SHAPEFILE_PARTS, ".prj", ".cpg"):
            stems.setdefault(str(pp.with_suffix("")).lower(), set()).add(pp.suffix.lower())
    for stem, parts in sorted(stems.items()):
        missing = [s for s in _SHAPEFILE_PARTS if s not in parts]
        if missing and (parts & set(_SHAPEFILE_PARTS)):
            name = PurePosixPath(stem).name
            return f"a shapefile zip without its {' and '.join(missing)} ({name}: has {', '.join(sorted(parts))})"
    return None


def _check_workbook(p: Path, label: str) -> str | None:
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_filelike(io.BytesIO(p.read_bytes()))
        names = list(wb.sheet_names)
    except Exception as err:  # noqa: BLE001 - calamine raises several unrelated types
        return f"an {label} workbook that cannot be opened ({type(err).__name__}: {str(err)[:200]})"
    if not names:
        return f"an {label} workbook with no sheets"
    return None


def _check_sqlite(p: Path) -> str | None:
    """The SQLite header's page count times page size must fit in the file; then quick_check."""
    with open(p, "rb") as fh:
        header = fh.read(100)
    if len(header) < 100:
        return "truncated GeoPackage (shorter than an SQLite header)"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages, change, valid_for = struct.unpack(">I", header[28:32])[0], header[24:28], header[92:96]
    size = p.stat().st_size
    if pages and change == valid_for and size < pages * page_size:
        return f"truncated GeoPackage ({size:,} of {pages * page_size:,} bytes)"
    try:
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            row = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
    except sqlite3.Error as err:
        return f"a GeoPackage that cannot be opened ({err})"
    if not row or row[0] != "ok":
        return f"a corrupt GeoPackage (SQLite quick_check: {row[0] if row else 'no answer'})"
    return None


def _check_text_file(p: Path, suffix: str) -> str | None:
    """NUL bytes anywhere in a text file (UTF-16 excepted); a JSON file must parse to its end."""
    with open(p, "rb") as fh:
        head = fh.read(4)
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    named = _TEXT_SUFFIXES.get(suffix, "a text file")
    if not utf16:
        pos = 0
        with open(p, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                i = chunk.find(b"\x00")
                if i >= 0:
                    if pos + i == 0 and not _looks_text(chunk[:4096]):
                        return f"binary data, not {named} (it starts with {chunk[:8]!r})"
                    return f"NUL bytes in a text file (first at byte {pos + i:,})"
                pos += len(chunk)
    if suffix in (".json", ".geojson"):
        if p.stat().st_size > _JSON_PARSE_LIMIT:
            return _check_json_tail(p)
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-16") if utf16 else raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            return f"{named} that is not UTF-8 text (byte {err.start:,})"
        if not text.strip():
            return "empty file (only white space)"
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            cut = err.pos >= len(text.rstrip()) - 1 or (
                err.msg.startswith("Unterminated string") and "\n" not in text[err.pos:]
            )
            if cut:
                return f"JSON cut off mid-way (truncated at line {err.lineno}, column {err.colno})"
            return f"not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})"
    elif suffix == ".csv":
        with open(p, "rb") as fh:
            if not fh.read(1 << 16).strip(b" \t\r\n\xef\xbb\xbf"):
                return "empty file (only white space)"
    return None


def _check_json_tail(p: Path) -> str | None:
    """A large JSON document must end with '}' or ']' (white space aside)."""
    with open(p, "rb") as fh:
        fh.seek(max(0, p.stat().st_size - 4096))
        tail = fh.read().rstrip(b" \t\r\n\x00")
    if not tail.endswith((b"}", b"]")):
        return f"JSON cut off mid-way (it ends with {tail[-16:]!r})"
    return None
