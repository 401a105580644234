"""Cheap content sniffing shared by every reader: header rows, sheet names, geometry fields.

Readers recognise files by content, never by file name alone (users rename files). Everything
here reads only the first bytes/rows of a file and never raises: on anything unreadable it
returns ``None`` so that the next reader may try.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zipfile
import zlib
from pathlib import Path

__all__ = [
    "read_head_bytes",
    "open_text",
    "decode_bytes",
    "csv_rows",
    "csv_header",
    "sheet_names",
    "zip_members",
    "geo_fields",
    "sha256_file",
    "is_zip",
    "is_gzip",
    "is_spreadsheet",
    "norm",
]

GEO_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb"}


def norm(text: object) -> str:
    """Normalise a header cell for comparison: lower case, single spaces, no BOM or newlines."""
    s = str(text).replace("\ufeff", "").replace("\n", " ").replace("\r", " ")
    return " ".join(s.split()).strip().lower()


def is_gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def zip_members(path: Path) -> list[str] | None:
    if not is_zip(path):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            return [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError):
        return None


def read_head_bytes(path: Path, n: int = 65536) -> bytes | None:
    """The first ``n`` decompressed bytes of a plain, gzipped, or single-CSV zip file."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                return fh.read(n)
        members = zip_members(path)
        if members is not None:
            csvs = [m for m in members if m.lower().endswith((".csv", ".txt"))]
            if len(csvs) != 1:
                return None
            with zipfile.ZipFile(path) as zf, zf.open(csvs[0]) as fh:
                return fh.read(n)
        with open(path, "rb") as fh:
            return fh.read(n)
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error):
        return None


def decode_bytes(raw: bytes) -> str | None:
    """Decode as UTF-8 (BOM stripped), UTF-16 with BOM, or cp1252; None for binary data."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in raw[:4096]:
        return None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as err:
            # a multi-byte character cut at the end of the sample is not a decoding failure
            # (utf-8-sig reports positions after its BOM)
            start = err.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
            if enc == "utf-8-sig" and start >= len(raw) - 4:
                try:
                    return raw[:start].decode(enc)
                except UnicodeDecodeError:
                    continue
    return None


def open_text(path: Path, n: int = 65536) -> str | None:
    raw = read_head_bytes(path, n)
    if raw is None:
        return None
    return decode_bytes(raw)


def csv_rows(path: Path, nrows: int = 5, n_bytes: int = 65536) -> list[list[str]] | None:
    """The first ``nrows`` parsed CSV rows (quotes and embedded newlines handled)."""
    text = open_text(path, n_bytes)
    if text is None or not text.strip():
        return None
    try:
        dialect_delim = ","
        first = text.splitlines()[0] if text.splitlines() else ""
        if first.count("\t") > first.count(",") and first.count("\t") > 0:
            dialect_delim = "\t"
        reader = csv.reader(io.StringIO(text), delimiter=dialect_delim)
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) >= nrows:
                break
        return rows
    except csv.Error:
        return None


def csv_header(path: Path) -> list[str] | None:
    """The normalised first row of a CSV-like file, or None if it is not text."""
    rows = csv_rows(path, nrows=1)
    if not rows:
        return None
    return [norm(c) for c in rows[0]]


def is_spreadsheet(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # legacy .xls (OLE2)
        return True
    if not head.startswith(b"PK"):
        return False
    members = zip_members(path) or []
    return any(m in ("xl/workbook.xml", "content.xml") for m in members)


def sheet_names(path: Path) -> list[str] | None:
    """Sheet names of an xlsx/xls/ods workbook (python-calamine), or None if not a workbook."""
    if not is_spreadsheet(path):
        return None
    try:
        from python_calamine import CalamineWorkbook

        # from bytes, not from the path: calamine picks the format by content, so a renamed
        # .ods/.xlsx still opens
        return list(CalamineWorkbook.from_filelike(io.BytesIO(Path(path).read_bytes())).sheet_names)
    except Exception:  # noqa: BLE001 - any failure means "not a workbook we can read"
        return None


def geo_fields(path: Path) -> list[str] | None:
    """Attribute field names of a vector file (GeoJSON, GeoPackage, zipped shapefile), else None."""
    suffix = path.suffix.lower()
    if suffix not in GEO_SUFFIXES:
        return None
    target = str(path)
    if suffix == ".zip":
        members = zip_members(path) or []
        if not any(m.lower().endswith((".shp", ".gpkg", ".geojson", ".json")) for m in members):
            return None
        target = f"zip://{path}"
    if suffix == ".json":
        head = open_text(path, 4096) or ""
        if '"FeatureCollection"' not in head.replace(" ", "") and "Feature" not in head:
            return None
    try:
        import pyogrio

        info = pyogrio.read_info(target)
        if info.get("geometry_type") is None:
            return None
        return [norm(f) for f in info["fields"]]
    except Exception:  # noqa: BLE001
        return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
