"""Readers of the ONS and NHS postcode directories: postcode -> grid reference (and LSOA).

Both place GP practices as Code-Point Open does (``kind="postcodes"``, the same columns:
``postcode, easting, northing, quality, lad_code``, plus ``lsoa_code`` (LSOA 2021) and
``terminated``). Unlike Code-Point they keep terminated postcodes, with the position they had,
so a practice whose postcode was retired since the epraccur extract can still be placed.

* ``read_onspd``: the ONS Postcode Directory CSV (one header row; ``pcd, pcd2, pcds, dointr,
  doterm, ..., oseast1m, osnrth1m, osgrdind, ..., lsoa21``; releases from 2025 spell them
  ``PCD7, PCD8, PCDS, DOINTR, DOTERM, ..., EAST1M, NORTH1M, ..., LSOA21CD``). Layout: ONS,
  "ONS Postcode Directory User Guide" (record specification), as published with each release.
* ``read_nhspd``: the NHS Postcode Directory (ONS for NHS England; the ``gridall`` /
  ``nhg<yy><mmm>.csv`` file): headerless, fixed column order ``PCD2, PCDS, DOINTR, DOTERM,
  OSEAST100M, OSNRTH100M, OSCTY, ODSLAUA, OSLAUA, OSWARD, USERTYPE, OSGRDIND, CTRY, ...,
  OSEAST1M (37th), OSNRTH1M (38th), OA11, LSOA11, MSOA11, ..., OA21, LSOA21 (48th), MSOA21``
  (NHSPD User Guide, "record specification"; 49 fields since the 2021 geographies were added,
  38 or more in older releases).

A plain CSV, a ``.gz`` or the release zip (its largest CSV of the layout) is read in one pass
with only the needed columns, so the 2.7 million rows of a full release fit in memory.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ._common import source_info
from ._sniff import csv_rows, is_gzip, is_spreadsheet, is_zip, norm
from .practices import OS_ATTRIBUTION, normalise_postcode
from .registry import OGL, Reader, ReadResult

__all__ = ["READERS", "read_onspd", "read_nhspd", "sniff_onspd", "sniff_nhspd", "NHSPD_COLUMNS"]

_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$")
_YYYYMM = re.compile(r"^\d{6}$")
_INT = re.compile(r"^\d*$")

#: NHSPD field positions (0-based) used here, from the NHSPD record specification
NHSPD_COLUMNS = {"pcd2": 0, "pcds": 1, "dointr": 2, "doterm": 3, "oslaua": 8, "osgrdind": 11,
                 "oseast1m": 36, "osnrth1m": 37, "lsoa11": 39, "lsoa21": 47}
NHSPD_MIN_FIELDS = 38

#: ONSPD header names (any release) for each column we need
_ONSPD_ALIASES: dict[str, tuple[str, ...]] = {
    "postcode": ("pcds", "pcd", "pcd2", "pcd7", "pcd8"),
    "dointr": ("dointr",),
    "doterm": ("doterm",),
    "easting": ("oseast1m", "east1m"),
    "northing": ("osnrth1m", "north1m"),
    "quality": ("osgrdind", "gridind"),
    "lad_code": ("oslaua", "lad25cd", "lad24cd", "lad23cd", "laua"),
    "lsoa_code": ("lsoa21", "lsoa21cd"),
}


def _pc_ok(value: str) -> bool:
    return bool(_POSTCODE.match(value.strip().upper()))


# --------------------------------------------------------------------------------------------
# opening: plain, gzip or the release zip


def _zip_member(path: Path, judge: Any) -> str | None:
    """The largest CSV member of the zip whose head ``judge(rows)`` accepts."""
    with zipfile.ZipFile(path) as zf:
        best: tuple[int, str] | None = None
        for info in zf.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".csv"):
                continue
            with zf.open(info) as fh:
                head = fh.read(8192).decode("utf-8", "replace").lstrip("\ufeff")
            lines = head.splitlines()[:-1] or head.splitlines()
            try:
                rows = [r for r in csv.reader(lines[:5]) if r]
            except Exception:  # noqa: BLE001
                continue
            if rows and judge(rows) and (best is None or info.file_size > best[0]):
                best = (info.file_size, info.filename)
        return best[1] if best else None


def _head_rows(path: Path, judge: Any) -> list[list[str]] | None:
    if is_zip(path) and not is_spreadsheet(path):
        return [["zip"]] if _zip_member(path, judge) else None
    return csv_rows(path, nrows=5)


@contextmanager
def _open(path: Path, judge: Any) -> Iterator[tuple[IO[bytes], str | None]]:
    """The (decompressed) byte stream; a damaged gzip or zip is named, not raised as EOFError."""
    try:
        with _open_raw(path, judge) as opened:
            yield opened
    except (EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise InputFileError(path, f"the compressed file is damaged or truncated: {err}") from None


@contextmanager
def _open_raw(path: Path, judge: Any) -> Iterator[tuple[IO[bytes], str | None]]:
    if is_gzip(path):
        with gzip.open(path, "rb") as fh:
            yield fh, None
    elif is_zip(path) and not is_spreadsheet(path):
        member = _zip_member(path, judge)
        if member is None:
            raise InputFileError(path, "the zip archive holds no CSV of the expected layout")
        with zipfile.ZipFile(path) as zf, zf.open(member) as fh:
            yield fh, member
    else:
        with open(path, "rb") as fh:
            yield fh, None


def _read(path: Path, judge: Any, **kwargs: Any) -> tuple[pd.DataFrame, str | None]:
    try:
        with _open(path, judge) as (fh, member):
            frame = pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kwargs)
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "the file is empty: expected postcode directory rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, zipfile.BadZipFile, OSError, zlib.error) as err:
        m = re.search(r"line (\d+)", str(err))
        raise InputFileError(
            path, f"could not read the postcode directory: {str(err).splitlines()[0]}",
            row=int(m.group(1)) if m else None,
        ) from None
    if frame.empty and kwargs.get("nrows") != 0:
        raise InputFileError(path, "the postcode directory has no data rows", row=2)
    return frame, member


# --------------------------------------------------------------------------------------------
# checks shared by both


def _short_rows(path: Path, judge: Any, n_fields: int) -> None:
    """pandas pads a row cut short with blanks: a file cut off mid-row is named instead.

    Streams the (decompressed) file once more, keeping only its tail and a line count.
    """
    tail, lines = b"", 0
    with _open(path, judge) as (fh, _member):
        while chunk := fh.read(1 << 22):
            lines += chunk.count(b"\n")
            tail = (tail + chunk)[-65536:]
    text = tail.decode("utf-8", "replace").rstrip("\r\n")
    last = text.rsplit("\n", 1)[-1]
    got = len(next(csv.reader([last]), []))
    if 0 < got < n_fields:
        row = lines + (0 if tail.endswith(b"\n") else 1)
        raise InputFileError(
            path, f"the last row has {got} field(s), expected {n_fields}: the file looks truncated", row=row
        )


def _finish(path: Path, raw: dict[str, pd.Series], labels: dict[str, str], off: int, what: str,
            member: str | None) -> list[ReadResult]:
    from .practices import _fail_first  # the shared "first bad row" message

    pc = raw["postcode"].str.strip()
    _fail_first(~pc.str.upper().str.match(_POSTCODE.pattern).fillna(False), raw["postcode"], path,
                labels["postcode"], "a UK postcode", row_offset=off)
    for key in ("easting", "northing"):
        _fail_first(~raw[key].str.strip().str.match(_INT.pattern).fillna(False), raw[key], path,
                    labels[key], "a whole number of metres (or blank)", row_offset=off)
    east = pd.to_numeric(raw["easting"].str.strip(), errors="coerce")
    north = pd.to_numeric(raw["northing"].str.strip(), errors="coerce")
    _fail_first((east > 700_000).fillna(False), raw["easting"], path, labels["easting"],
                "a British National Grid easting of at most 700,000 m", row_offset=off)
    _fail_first((north > 1_300_000).fillna(False), raw["northing"], path, labels["northing"],
                "a British National Grid northing of at most 1,300,000 m", row_offset=off)
    # ONS writes 0/0 (or 1/1300000 in Northern Ireland-era releases) for "no grid reference"
    nogrid = (east.fillna(0) == 0) & (north.fillna(0) == 0) | (north == 999_999)
    quality = pd.to_numeric(raw["quality"].str.strip(), errors="coerce") if "quality" in raw else np.nan
    doterm = raw["doterm"].str.strip() if "doterm" in raw else pd.Series("", index=pc.index)
    frame = pd.DataFrame({
        "postcode": normalise_postcode(pc),
        "easting": east.mask(nogrid).astype("float64"),
        "northing": north.mask(nogrid).astype("float64"),
        "quality": quality,
        "lad_code": raw["lad_code"].str.strip().replace("", pd.NA) if "lad_code" in raw else pd.NA,
        "lsoa_code": raw["lsoa_code"].str.strip().replace("", pd.NA) if "lsoa_code" in raw else pd.NA,
        "terminated": doterm != "",
    })
    # a directory lists a postcode once; keep the live row if a release repeats one
    frame = frame.sort_values("terminated", kind="stable").drop_duplicates("postcode").sort_index()
    dates = raw["dointr"].str.strip() if "dointr" in raw else pd.Series(dtype=str)
    latest = max((d for d in dates.unique() if _YYYYMM.match(d)), default=None) if len(dates) else None
    period = f"{latest[:4]}-{latest[4:]}" if latest else "unknown"
    notes = [
        f"{len(frame):,} postcodes ({int(frame['terminated'].sum()):,} terminated, kept with their last "
        f"position); {int(frame['easting'].isna().sum()):,} without a grid reference"
        + (f"; read from zip member {member!r}" if member else "")
    ]
    if period != "unknown":
        notes.append(f"release period taken from the latest date of introduction ({period})")
    if frame["lsoa_code"].isna().all():
        notes.append("no LSOA 2021 column in this release: postcodes are placed by grid reference only")
    year = period[:4] if period != "unknown" else "[year]"
    info = source_info(path, what, "Office for National Statistics", period, licence="OS OpenData and ONS: " + OGL,
                       attribution=OS_ATTRIBUTION.format(year=year))
    return [ReadResult("postcodes", frame.reset_index(drop=True), info, notes, {"period": period, "crs": "EPSG:27700"})]


# --------------------------------------------------------------------------------------------
# ONSPD


def _onspd_columns(header: list[str]) -> dict[str, int]:
    keys = [re.sub(r"[^a-z0-9]", "", norm(h)) for h in header]
    out: dict[str, int] = {}
    for canon, names in _ONSPD_ALIASES.items():
        for n in names:
            if n in keys:
                out[canon] = keys.index(n)
                break
    return out


def _onspd_judge(rows: list[list[str]]) -> bool:
    cols = _onspd_columns(rows[0])
    if not {"postcode", "easting", "northing", "doterm"} <= set(cols):
        return False
    body = rows[1:]
    return not body or any(len(r) > cols["postcode"] and _pc_ok(r[cols["postcode"]]) for r in body)


def sniff_onspd(path: Path) -> bool:
    """A header with a postcode (pcd/pcds/PCD7...), doterm and 1 m grid columns (oseast1m/EAST1M)."""
    try:
        rows = _head_rows(Path(path), _onspd_judge)
        return bool(rows) and (rows == [["zip"]] or _onspd_judge(rows))
    except Exception:  # noqa: BLE001 - a sniffer never raises
        return False


def read_onspd(path: Path) -> list[ReadResult]:
    """Read the ONS Postcode Directory: postcode, grid reference, quality, LAD and LSOA 2021."""
    path = Path(path)
    head, _ = _read(path, _onspd_judge, nrows=0)
    cols = _onspd_columns(list(head.columns))
    lost = [n[0] for k, n in _ONSPD_ALIASES.items() if k in ("postcode", "easting", "northing") and k not in cols]
    if lost:
        raise InputFileError(path, f"expected the column(s) {', '.join(lost)} in the header row, found "
                             + ", ".join(map(str, list(head.columns)[:20])), row=1)
    names = list(head.columns)
    _short_rows(path, _onspd_judge, len(names))
    frame, member = _read(path, _onspd_judge, usecols=sorted(cols.values()))
    raw = {k: frame[names[i]].astype("string").fillna("") for k, i in cols.items()}
    labels = {k: names[i] for k, i in cols.items()}
    return _finish(path, raw, labels, 2, "ONS Postcode Directory (ONSPD)", member)


# --------------------------------------------------------------------------------------------
# NHSPD


def _nhspd_judge(rows: list[list[str]]) -> bool:
    c = NHSPD_COLUMNS
    return all(
        len(r) >= NHSPD_MIN_FIELDS
        and _pc_ok(r[c["pcd2"]]) and _pc_ok(r[c["pcds"]])
        and bool(_YYYYMM.match(r[c["dointr"]].strip()))
        and bool(_INT.match(r[c["oseast1m"]].strip())) and bool(_INT.match(r[c["osnrth1m"]].strip()))
        for r in rows
    )


def sniff_nhspd(path: Path) -> bool:
    """Headerless, 38+ fields: two postcode spellings, a YYYYMM date, 1 m grid at fields 37-38."""
    try:
        rows = _head_rows(Path(path), _nhspd_judge)
        return bool(rows) and (rows == [["zip"]] or _nhspd_judge(rows))
    except Exception:  # noqa: BLE001 - a sniffer never raises
        return False


def read_nhspd(path: Path) -> list[ReadResult]:
    """Read the NHS Postcode Directory (headerless): postcode, grid reference, LAD, LSOA 2021."""
    path = Path(path)
    with _open(path, _nhspd_judge) as (fh, _member):
        first = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace").readline()
    n_fields = len(next(csv.reader([first]), []))
    if n_fields < NHSPD_MIN_FIELDS:
        raise InputFileError(path, f"expected at least {NHSPD_MIN_FIELDS} fields (NHSPD has no header row), "
                             f"found {n_fields}", row=1)
    want = {"postcode": NHSPD_COLUMNS["pcds"], "dointr": NHSPD_COLUMNS["dointr"],
            "doterm": NHSPD_COLUMNS["doterm"], "quality": NHSPD_COLUMNS["osgrdind"],
            "lad_code": NHSPD_COLUMNS["oslaua"], "easting": NHSPD_COLUMNS["oseast1m"],
            "northing": NHSPD_COLUMNS["osnrth1m"]}
    if n_fields > NHSPD_COLUMNS["lsoa21"]:
        want["lsoa_code"] = NHSPD_COLUMNS["lsoa21"]
    _short_rows(path, _nhspd_judge, n_fields)
    frame, member = _read(path, _nhspd_judge, header=None, usecols=sorted(set(want.values())))
    raw = {k: frame[i].astype("string").fillna("") for k, i in want.items()}
    published = {i: name.upper() for name, i in NHSPD_COLUMNS.items()}
    labels = {k: f"{i + 1} ({published[i]})" for k, i in want.items()}
    return _finish(path, raw, labels, 1, "NHS Postcode Directory (NHSPD)", member)


READERS: list[Reader] = [
    Reader("ons_postcode_directory", "postcodes",
           "ONS Postcode Directory (ONSPD): postcode grid references and LSOA 2021 (header row)",
           sniff_onspd, read_onspd),
    Reader("nhs_postcode_directory", "postcodes",
           "NHS Postcode Directory (NHSPD): postcode grid references and LSOA 2021 (headerless, 38+ fields)",
           sniff_nhspd, read_nhspd),
]
