"""Readers of GP practice files: where practices are, who commissions them, which PCN they join.

* ``read_epraccur``: NHS ODS *epraccur* (headerless, 27 fields; the zip as downloaded or the CSV).
* ``read_epcn``: NHS ODS *ePCN* workbook (2019 and 2022 layouts; the zip or the xlsx).
* ``read_qof_geographies``: QOF ``MAPPING_NHS_GEOGRAPHIES_<year>.csv`` (practice -> PCN -> CCG -> STP).
* ``read_codepoint``: OS Code-Point Open per-area CSVs (headerless, 10 fields; or the product zip).
* ``place_practices``: postcode -> easting/northing -> latitude/longitude, reporting the unplaced.

Two of these formats have no header row, so their sniffers judge the *values*: field counts,
organisation codes, postcodes, dates, integers. epraccur (27 fields) and Code-Point (10 fields)
can never be taken for one another.

The private text helpers here (``_csv_sources``, ``_read_frame``) are shared with
``registrations.py``: reading whole files must not silently drop a badly encoded tail, which
``_sniff.decode_bytes`` (written for head samples) is allowed to do.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ._common import require_columns, source_info
from ._sniff import csv_header, csv_rows, is_gzip, is_spreadsheet, is_zip, norm, zip_members
from .registry import OGL, Reader, ReadResult

__all__ = [
    "READERS",
    "EPRACCUR_FIELDS",
    "CODEPOINT_FIELDS",
    "Placement",
    "read_epraccur",
    "read_epcn",
    "read_qof_geographies",
    "read_codepoint",
    "place_practices",
    "normalise_postcode",
    "sniff_epraccur",
    "sniff_epcn",
    "sniff_qof_geographies",
    "sniff_codepoint",
]

EPRACCUR_FIELDS = 27
CODEPOINT_FIELDS = 10
GP_PRACTICE_SETTING = 4
OS_ATTRIBUTION = (
    "Contains Ordnance Survey data © Crown copyright and database right {year}. "
    "Contains Royal Mail data © Royal Mail copyright and database right {year}. "
    "Contains National Statistics data © Crown copyright and database right {year}."
)

_ORG_CODE = re.compile(r"^[A-Z0-9]{3,10}$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")  # spaces removed
_YYYYMMDD = re.compile(r"^\d{8}$")
_INT = re.compile(r"^\d+$")
_GSS = re.compile(r"^[A-Z]\d{8}$")


# --------------------------------------------------------------------------------------------
# Whole-file text helpers (shared with registrations.py)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TextSource:
    """One CSV's decoded text, the zip member it came from (if any) and that member's date."""

    text: str
    member: str | None
    member_date: dt.datetime | None
    encoding: str


def _where(member: str | None) -> str:
    return f" (zip member {member!r})" if member else ""


def _decode(raw: bytes, path: Path, member: str | None = None) -> tuple[str, str]:
    """Decode a whole file: UTF-8 (BOM optional), UTF-16 with BOM, else Windows-1252."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise InputFileError(
                path, f"could not decode the file as UTF-16 text{_where(member)}: {err.reason}"
            ) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InputFileError(
            path,
            "could not read the file as text: expected a UTF-8 or Windows-1252 encoded CSV, found "
            f"binary data (a NUL byte at offset {nul}){_where(member)}; UTF-16 without a byte-order "
            "mark, a spreadsheet or a compressed file are not CSV text",
            row=raw.count(b"\n", 0, nul) + 1,
        )
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        raise InputFileError(
            path,
            f"could not decode byte 0x{raw[err.start]:02x}{_where(member)}: expected UTF-8 or "
            "Windows-1252 encoded text",
            row=raw.count(b"\n", 0, err.start) + 1,
        ) from None


def _check_not_empty(raw: bytes, path: Path, member: str | None = None) -> None:
    if not raw.strip():
        raise InputFileError(path, f"the file is empty{_where(member)}: expected CSV rows")


def _csv_sources(
    path: Path, *, accept: Callable[[str, str], bool] | None = None
) -> list[_TextSource]:
    """Every CSV text in ``path``: a plain or gzipped CSV, or the CSV members of a zip.

    ``accept(member_name, head_text) -> bool`` filters zip members (all ``.csv``/``.txt`` by
    default). Raises InputFileError for empty, damaged or undecodable input.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputFileError(path, f"could not open the file: {err.strerror or err}") from None
    if size == 0:
        raise InputFileError(path, "the file is empty: expected CSV rows")
    if is_gzip(path):
        try:
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        except (OSError, EOFError, zlib.error) as err:
            raise InputFileError(
                path, f"the gzip file is damaged or truncated (expected a complete .gz): {err}"
            ) from None
        _check_not_empty(raw, path)
        text, enc = _decode(raw, path)
        return [_TextSource(text, None, None, enc)]
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic.startswith(b"PK"):
        if is_spreadsheet(path):
            raise InputFileError(path, "this is a spreadsheet workbook: expected a CSV file")
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise InputFileError(
                path, f"the zip archive is damaged or truncated (expected a complete zip): {err}"
            ) from None
        out: list[_TextSource] = []
        with zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            names = [i.filename for i in infos]
            for info in infos:
                if not info.filename.lower().endswith((".csv", ".txt")):
                    continue
                try:
                    raw = zf.read(info)
                except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
                    raise InputFileError(
                        path, f"the zip member {info.filename!r} is damaged or truncated: {err}"
                    ) from None
                if accept is not None:
                    head = raw[:8192].decode("utf-8", errors="replace").lstrip("\ufeff")
                    if not accept(info.filename, head):
                        continue
                _check_not_empty(raw, path, info.filename)
                text, enc = _decode(raw, path, info.filename)
                out.append(_TextSource(text, info.filename, dt.datetime(*info.date_time), enc))
        if not out:
            raise InputFileError(
                path,
                "the zip archive holds no CSV of the expected layout; found members "
                + ", ".join(repr(n) for n in names[:20]),
            )
        return out
    raw = path.read_bytes()
    _check_not_empty(raw, path)
    text, enc = _decode(raw, path)
    return [_TextSource(text, None, None, enc)]


def _one_csv(path: Path, *, accept: Callable[[str, str], bool] | None = None) -> _TextSource:
    sources = _csv_sources(path, accept=accept)
    if len(sources) > 1:
        raise InputFileError(
            path,
            "expected one CSV in the zip archive, found "
            + ", ".join(repr(s.member) for s in sources),
        )
    return sources[0]


_LINE_RE = re.compile(r"line (\d+)")
_ROW_RE = re.compile(r"starting at row (\d+)")
_ARROW_COLS_RE = re.compile(r"Expected (\d+) columns, got (\d+): (.*)", re.DOTALL)
#: texts at least this long are parsed with pyarrow (5x faster on a national registrations file)
_ARROW_MIN_CHARS = 2_000_000


def _arrow_frame(src: _TextSource, path: Path, *, header: bool) -> pd.DataFrame | None:
    """Parse with pyarrow; None (let the C parser explain) on errors other than a bad row."""
    try:
        return pd.read_csv(
            io.BytesIO(src.text.encode("utf-8")),
            engine="pyarrow",
            header=0 if header else None,
            dtype=str,
            keep_default_na=False,
        )
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types; handled below
        m = _ARROW_COLS_RE.search(str(err))
        if not m:
            return None
        want, got, snippet = int(m.group(1)), int(m.group(2)), m.group(3).strip()
        text = src.text.rstrip("\r\n")
        pos = text.find(snippet + "\n") if snippet else -1
        if pos < 0 and snippet and text.endswith(snippet):
            pos = len(text) - len(snippet)
        last = pos >= 0 and pos == text.rfind("\n") + 1
        raise InputFileError(
            path,
            f"expected {want} fields, found {got}{_where(src.member)}"
            + (": the file looks truncated" if last and got < want else ""),
            row=text.count("\n", 0, pos) + 1 if pos >= 0 else None,
        ) from None


def _read_frame(src: _TextSource, path: Path, *, header: bool) -> pd.DataFrame:
    """Parse CSV text into strings only (no NA guessing), failing with the row on bad input."""
    frame = None
    if len(src.text) >= _ARROW_MIN_CHARS:
        frame = _arrow_frame(src, path, header=header)
    if frame is None:
        frame = _c_frame(src, path, header=header)
    if frame.empty:
        raise InputFileError(
            path, f"the file has a header row but no data rows{_where(src.member)}", row=2
        )
    _check_last_row(src, path, frame.shape[1])
    return frame


def _c_frame(src: _TextSource, path: Path, *, header: bool) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.StringIO(src.text),
            header=0 if header else None,
            dtype=str,
            keep_default_na=False,
        )
    except pd.errors.EmptyDataError:
        raise InputFileError(
            path, f"the file is empty{_where(src.member)}: expected CSV rows"
        ) from None
    except pd.errors.ParserError as err:
        msg = str(err)
        row: int | None = None
        if m := _ROW_RE.search(msg):
            row = int(m.group(1)) + 1
            detail = "an unterminated quoted field (is the file truncated?)"
        elif m := _LINE_RE.search(msg):
            row = int(m.group(1))
            detail = msg.split(". ", 1)[-1].replace("C error: ", "")
        else:
            detail = msg
        raise InputFileError(
            path, f"could not parse the CSV{_where(src.member)}: {detail}", row=row
        ) from None


def _check_last_row(src: _TextSource, path: Path, n_fields: int) -> None:
    """A file cut short leaves a last row with too few fields; pandas would pad it silently."""
    text = src.text.rstrip("\r\n")
    start = text.rfind("\n") + 1
    try:
        last = next(csv.reader([text[start:]]), [])
    except csv.Error:
        return
    if 0 < len(last) < n_fields:
        raise InputFileError(
            path,
            f"the last row has {len(last)} field(s), expected {n_fields}{_where(src.member)}: "
            "the file looks truncated",
            row=text.count("\n") + 1,
        )


def _bad(mask: pd.Series | np.ndarray) -> int | None:
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(idx[0]) if len(idx) else None


def _fail_first(
    mask: pd.Series | np.ndarray,
    values: pd.Series,
    path: Path,
    column: str,
    expected: str,
    *,
    row_offset: int,
    sheet: str | None = None,
) -> None:
    """Raise naming the first row where ``mask`` is True (``expected``, found the value)."""
    pos = _bad(mask)
    if pos is not None:
        found = values.iloc[pos]
        raise InputFileError(
            path,
            f"expected {expected}, found {found!r}"
            + (
                f"; {int(np.asarray(mask).sum()) - 1} more row(s) like it"
                if np.asarray(mask).sum() > 1
                else ""
            ),
            row=pos + row_offset,
            column=column,
            sheet=sheet,
        )


def _strip(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().fillna("")


def _dates(
    values: pd.Series, path: Path, column: str, *, row_offset: int, sheet: str | None = None
) -> pd.Series:
    """YYYYMMDD text, numbers (20191001.0) or date cells -> datetime64; blanks -> NaT."""

    def as_text(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, dt.datetime | dt.date):
            return v.strftime("%Y%m%d")
        if isinstance(v, float | int) and not isinstance(v, bool) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    text = values.map(as_text) if values.dtype == object else _strip(values)
    text = pd.Series(text, index=values.index).astype("string").fillna("")
    parsed = pd.to_datetime(text.where(text != ""), format="%Y%m%d", errors="coerce")
    _fail_first(
        ((text != "") & (parsed.isna() | ~text.str.match(r"^\d{8}$"))).to_numpy(),
        values,
        path,
        column,
        "a date as YYYYMMDD (or blank)",
        row_offset=row_offset,
        sheet=sheet,
    )
    return parsed.astype("datetime64[ns]")


def _source_period(date: dt.datetime | None) -> str:
    if date is None or date.year <= 1980:  # zip's "no date" is 1980-01-01
        return "unknown"
    return date.strftime("%Y-%m-%d")


def _qof_period(path: Path) -> str:
    """QOF files carry no date; their published names end in the year the QOF year ends."""
    m = re.search(r"_(20\d{2})(?:_v\d+)?\.csv$", path.name, flags=re.IGNORECASE)
    if not m:
        return "unknown"
    end = int(m.group(1))
    return f"{end - 1}-{str(end)[2:]}"


def normalise_postcode(series: pd.Series) -> pd.Series:
    """Upper case with one space before the inward code (``le10 1aa`` -> ``LE10 1AA``)."""
    compact = series.astype("string").str.upper().str.replace(r"\s+", "", regex=True)
    spaced = compact.str[:-3] + " " + compact.str[-3:]
    return spaced.where(compact.str.len() >= 5, compact.where(compact != "", pd.NA))


def _postcode_key(series: pd.Series) -> pd.Series:
    return series.astype("string").str.upper().str.replace(r"\s+", "", regex=True)


def _looks_like_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(re.sub(r"\s+", "", value.upper())))


# --------------------------------------------------------------------------------------------
# epraccur
# --------------------------------------------------------------------------------------------

_EPRACCUR_STATUS = {"A": "open", "C": "closed", "D": "closed", "P": "closed"}


def _epraccur_row_ok(r: Sequence[str]) -> bool:
    return (
        bool(_ORG_CODE.match(r[0].strip().upper()))
        and bool(_YYYYMMDD.match(r[10].strip()))
        and r[12].strip().upper() in _EPRACCUR_STATUS
        and (not r[25].strip() or bool(_INT.match(r[25].strip())))
    )


def sniff_epraccur(path: Path) -> bool:
    """Headerless, 27 fields; an org code, a postcode in field 9, a YYYYMMDD open date,
    an A/C/D/P status and an integer prescribing setting.

    Every row of the head must have 27 fields, but one odd row (a lower-case code, a date that
    went through a spreadsheet) does not hide the file: the reader then names or mends it.
    """
    try:
        rows = csv_rows(Path(path), nrows=5)
        if not rows:
            return False
        if any(len(r) != EPRACCUR_FIELDS for r in rows):
            return False
        good = sum(_epraccur_row_ok(r) for r in rows)
        if good < max(1, len(rows) - 1):
            return False
        return any(_looks_like_postcode(r[9]) for r in rows)
    except Exception:  # noqa: BLE001 - a sniffer never raises
        return False


#: spreadsheet day numbers (1900 date system) of 1948-07-05 (the NHS) to 2099-12-31
_SERIAL_DAYS = (17_719, 73_050)


def _serial_dates(values: pd.Series, column: str, notes: list[str], *, row_offset: int) -> pd.Series:
    """Spreadsheet day numbers (27120 = 1974-04-01) turned back into YYYYMMDD, with a note."""
    looks = values.str.fullmatch(r"\d{5}(\.0+)?").fillna(False).astype(bool)
    num = pd.Series(pd.to_numeric(values.where(looks), errors="coerce"), index=values.index).astype("float64")
    serial = pd.Series(num.between(*_SERIAL_DAYS).fillna(False).to_numpy(dtype=bool), index=values.index)
    if not serial.any():
        return values
    dates = pd.Timestamp("1899-12-30") + pd.to_timedelta(num[serial], unit="D")
    fixed = values.copy()
    fixed[serial] = dates.dt.strftime("%Y%m%d")
    rows = (np.flatnonzero(serial.to_numpy()) + row_offset).tolist()
    first = np.flatnonzero(serial.to_numpy())[0]
    notes.append(
        f"{column}: {len(rows)} date(s) written as a spreadsheet serial day number read as dates "
        f"(e.g. {values.iloc[first]} -> {dates.iloc[0]:%Y-%m-%d}) on row(s) "
        + ", ".join(map(str, rows[:10]))
    )
    return fixed


def _epraccur_member(name: str, head: str) -> bool:
    return name.lower().endswith(".csv")


def read_epraccur(path: Path) -> list[ReadResult]:
    """Read NHS ODS epraccur (GP and other prescribing organisations), one row per code.

    ``status`` is "open" for ODS status A (active) and "closed" otherwise (C closed, D dormant,
    P proposed); ``status_code`` keeps the letter. ``setting`` 4 is a GP practice.
    """
    path = Path(path)
    src = _one_csv(path, accept=_epraccur_member)
    try:
        rows = list(csv.reader(io.StringIO(src.text, newline="")))
    except csv.Error as err:  # e.g. a NUL byte; a stray carriage return is read as a line end
        raise InputFileError(path, f"not a well-formed CSV ({err})") from None
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise InputFileError(path, "the file is empty: expected epraccur rows")
    for i, r in enumerate(rows):
        if len(r) != EPRACCUR_FIELDS:
            hint = (
                " (is the file truncated?)"
                if i == len(rows) - 1 and len(r) < EPRACCUR_FIELDS
                else ""
            )
            raise InputFileError(
                path,
                f"expected {EPRACCUR_FIELDS} fields (epraccur has no header row), found {len(r)}{hint}",
                row=i + 1,
            )
    raw = pd.DataFrame(rows, dtype="string")
    off = 1  # headerless: data row i is line i + 1
    notes_rows: list[str] = []
    padded = (raw != raw.apply(lambda c: c.str.strip())).any(axis=1).to_numpy()
    raw = raw.apply(lambda c: c.str.strip())
    if padded.any():
        pos = np.flatnonzero(padded)
        notes_rows.append(
            f"spaces around values trimmed on {len(pos)} row(s): "
            + ", ".join(str(p + off) for p in pos[:10])
            + (" ..." if len(pos) > 10 else "")
        )
    lower = (raw[0] != raw[0].str.upper()).to_numpy()
    if lower.any():
        pos = np.flatnonzero(lower)
        notes_rows.append(
            f"{len(pos)} organisation code(s) in lower case read in upper case (e.g. "
            f"{raw[0].iloc[pos[0]]!r}) on row(s) " + ", ".join(str(p + off) for p in pos[:10])
        )
    for i, label in ((10, "10 (Open Date)"), (11, "11 (Close Date)")):
        raw[i] = _serial_dates(raw[i], label, notes_rows, row_offset=off)
    code = raw[0].str.upper()
    _fail_first(
        ~code.str.match(_ORG_CODE.pattern),
        raw[0],
        path,
        "0 (Organisation Code)",
        "an organisation code of 3-10 letters/digits",
        row_offset=off,
    )
    status_code = raw[12].str.upper()
    _fail_first(
        ~status_code.isin(list(_EPRACCUR_STATUS)),
        raw[12],
        path,
        "12 (Status Code)",
        "status A, C, D or P",
        row_offset=off,
    )
    setting_txt = raw[25]
    _fail_first(
        (setting_txt != "") & ~setting_txt.str.match(r"^\d+$"),
        setting_txt,
        path,
        "25 (Prescribing Setting)",
        "an integer prescribing setting",
        row_offset=off,
    )
    dup = code.duplicated()
    pos = _bad(dup)
    if pos is not None:
        first = int(np.flatnonzero((code == code.iloc[pos]).to_numpy())[0])
        raise InputFileError(
            path,
            f"duplicate organisation code {code.iloc[pos]!r} (first on row {first + off}): expected "
            "one row per code",
            row=pos + off,
            column="0 (Organisation Code)",
        )

    def blank_na(s: pd.Series) -> pd.Series:
        return s.where(s != "", pd.NA)

    frame = pd.DataFrame(
        {
            "practice_code": code,
            "practice_name": blank_na(raw[1]),
            "icb_code": blank_na(raw[3].str.upper()),
            "sub_icb_code": blank_na(raw[14].str.upper()),
            "postcode": normalise_postcode(raw[9]),
            "status": status_code.map(_EPRACCUR_STATUS).astype("string"),
            "status_code": status_code,
            "setting": pd.to_numeric(blank_na(setting_txt)).astype("Int64"),
            "open_date": _dates(raw[10], path, "10 (Open Date)", row_offset=off),
            "close_date": _dates(raw[11], path, "11 (Close Date)", row_offset=off),
        }
    )
    period = _source_period(src.member_date)
    notes = [
        f"{len(frame):,} organisations; {int((frame['status'] == 'open').sum()):,} open, of which "
        f"{int(((frame['status'] == 'open') & (frame['setting'] == GP_PRACTICE_SETTING)).sum()):,} "
        "GP practices (prescribing setting 4)",
    ]
    if period == "unknown":
        latest = pd.concat([frame["open_date"], frame["close_date"]]).max()
        notes.append(
            "period unknown: a plain epraccur CSV carries no extract date (the downloaded zip does); "
            f"the latest open/close date in the file is {latest:%Y-%m-%d}"
            if pd.notna(latest)
            else "period unknown: the file carries no extract date"
        )
    else:
        notes.append(f"extract dated {period} (date of {src.member!r} in the zip)")
    if src.encoding == "cp1252":
        notes.append("decoded as Windows-1252 (not UTF-8)")
    notes.extend(notes_rows)
    info = source_info(
        path,
        "GP and prescribing organisations (epraccur)",
        "NHS England Organisation Data Service (ODS)",
        period,
        licence=OGL,
    )
    return [ReadResult("practices", frame, info, notes, {"period": period})]


# --------------------------------------------------------------------------------------------
# ePCN workbook
# --------------------------------------------------------------------------------------------


def _sheet_key(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


_EPCN_SHEETS = {"pcndetails", "pcncorepartnerdetails"}


def _epcn_workbook(path: Path) -> tuple[Any, dt.datetime | None, str | None]:
    """The ePCN workbook (calamine), the date of its zip member if zipped, and that member."""
    from python_calamine import CalamineWorkbook

    if is_spreadsheet(path):
        return CalamineWorkbook.from_filelike(io.BytesIO(Path(path).read_bytes())), None, None
    if not is_zip(path):
        return None, None, None
    with zipfile.ZipFile(path) as zf:
        books = [
            i for i in zf.infolist() if i.filename.lower().endswith((".xlsx", ".xls", ".xlsm"))
        ]
        if len(books) != 1:
            return None, None, None
        data = zf.read(books[0])
    return (
        CalamineWorkbook.from_filelike(io.BytesIO(data)),
        dt.datetime(*books[0].date_time),
        books[0].filename,
    )


def sniff_epcn(path: Path) -> bool:
    """A workbook (or a zip holding one) with the sheets 'PCN(s) Details' and
    'PCN Core Partner Details', whatever the spacing."""
    try:
        path = Path(path)
        members = zip_members(path) or []
        if "content.xml" in members:  # OpenDocument: ePCN is published as xlsx only
            return False
        if is_zip(path) and not is_spreadsheet(path):
            if not any(m.lower().endswith((".xlsx", ".xls", ".xlsm")) for m in members):
                return False
        wb, _, _ = _epcn_workbook(path)
        if wb is None:
            return False
        return _EPCN_SHEETS <= {_sheet_key(s) for s in wb.sheet_names}
    except Exception:  # noqa: BLE001
        return False


def _core_modified(path: Path, member: str | None) -> dt.datetime | None:
    """``dcterms:modified`` of an xlsx: the only date a bare ePCN workbook carries."""
    try:
        if member is None:
            with zipfile.ZipFile(path) as zf:
                core = zf.read("docProps/core.xml").decode("utf-8", "replace")
        else:
            with (
                zipfile.ZipFile(path) as outer,
                zipfile.ZipFile(io.BytesIO(outer.read(member))) as zf,
            ):
                core = zf.read("docProps/core.xml").decode("utf-8", "replace")
    except (KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    m = re.search(r"<dcterms:modified[^>]*>(\d{4})-(\d{2})-(\d{2})", core)
    return dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _find_col(headers: Sequence[str], *patterns: str) -> int | None:
    for pat in patterns:
        for i, h in enumerate(headers):
            if re.fullmatch(pat, h):
                return i
    return None


def _sheet_rows(wb: Any, name: str) -> list[list[Any]]:
    return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _header_index(rows: list[list[Any]], marker: str, limit: int = 10) -> int | None:
    for i, r in enumerate(rows[:limit]):
        if any(marker in norm(c) for c in r):
            return i
    return None


def read_epcn(path: Path) -> list[ReadResult]:
    """Read NHS ODS ePCN: one row per practice-to-PCN relationship (ended ones included).

    ``sub_icb_code`` is the practice's parent CCG (sub-ICB location); ``end_date`` is NaT while the
    relationship lasts. Both the 2019 layout and the 2022 one (headers with line breaks) work.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputFileError(path, "the file is empty: expected an ePCN workbook (xlsx)")
    try:
        wb, member_date, member = _epcn_workbook(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputFileError(
            path, f"could not open the ePCN workbook (damaged or truncated?): {err}"
        ) from None
    except Exception as err:  # noqa: BLE001 - calamine raises its own error types
        raise InputFileError(
            path, f"could not open the ePCN workbook (damaged or truncated?): {err}"
        ) from None
    if wb is None:
        raise InputFileError(
            path, "expected an ePCN workbook (xlsx), or a zip holding exactly one, found neither"
        )
    by_key = {_sheet_key(s): s for s in wb.sheet_names}
    if "pcncorepartnerdetails" not in by_key:
        raise InputFileError(
            path,
            "expected a sheet 'PCN Core Partner Details' (and 'PCNDetails'); found sheets "
            + ", ".join(repr(s) for s in wb.sheet_names),
        )
    sheet = by_key["pcncorepartnerdetails"]
    try:
        rows = _sheet_rows(wb, sheet)
    except Exception as err:  # noqa: BLE001
        raise InputFileError(path, f"could not read the sheet: {err}", sheet=sheet) from None
    h = _header_index(rows, "partner organisation code")
    if h is None:
        raise InputFileError(
            path,
            "expected a header row with 'Partner Organisation Code' in the first 10 rows, found "
            + (", ".join(repr(str(c)) for c in rows[0][:12]) if rows else "an empty sheet"),
            row=1,
            sheet=sheet,
        )
    headers = [norm(c) for c in rows[h]]
    cols = {
        "practice_code": _find_col(headers, r"partner organisation code"),
        "practice_name": _find_col(headers, r"partner name"),
        "sub_icb_code": _find_col(
            headers, r"practice parent (ccg|sub icb( location| loc)?|commissioner) code"
        ),
        "pcn_code": _find_col(headers, r"pcn code"),
        "pcn_name": _find_col(headers, r"pcn name"),
        "pcn_sub_icb_code": _find_col(
            headers, r"pcn parent (ccg|sub icb( location| loc)?|commissioner) code"
        ),
        "start_date": _find_col(headers, r"practice to pcn relationship start date.*"),
        "end_date": _find_col(headers, r"practice to pcn relationship end date.*"),
    }
    labels = {
        "practice_code": "Partner Organisation Code",
        "sub_icb_code": "Practice Parent CCG Code",
        "pcn_code": "PCN Code",
        "pcn_name": "PCN Name",
        "start_date": "Practice to PCN Relationship Start Date",
        "end_date": "Practice to PCN Relationship End Date",
    }
    lost = [labels[k] for k in labels if cols[k] is None]
    if lost:
        require_columns(path, [str(c) for c in rows[h]], lost, row=h + 1, sheet=sheet)
        raise InputFileError(  # reached only if a header is present but spelt unexpectedly
            path, f"could not place the column(s) {lost}", row=h + 1, sheet=sheet
        )
    width = len(rows[h])
    data = pd.DataFrame([list(r) + [""] * (width - len(r)) for r in rows[h + 1 :]], dtype="object")
    if data.empty:
        raise InputFileError(path, "the sheet has a header but no rows", row=h + 2, sheet=sheet)
    off = h + 2
    empty = data.apply(lambda s: s.map(lambda v: v is None or str(v).strip() == "")).all(axis=1)
    keep = ~empty.to_numpy()
    text = {
        k: _strip(data[i].map(lambda v: "" if v is None else str(v)))
        for k, i in cols.items()
        if i is not None and k not in ("start_date", "end_date")
    }
    practice = text["practice_code"].str.upper()
    _fail_first(
        keep & ~practice.str.match(_ORG_CODE.pattern).to_numpy(),
        data[cols["practice_code"]],
        path,
        labels["practice_code"],
        "a practice code",
        row_offset=off,
        sheet=sheet,
    )
    pcn = text["pcn_code"].str.upper()
    _fail_first(
        keep & ~pcn.str.match(_ORG_CODE.pattern).to_numpy(),
        data[cols["pcn_code"]],
        path,
        labels["pcn_code"],
        "a PCN code",
        row_offset=off,
        sheet=sheet,
    )
    start = _dates(
        data[cols["start_date"]].where(keep, None),
        path,
        labels["start_date"],
        row_offset=off,
        sheet=sheet,
    )
    end = _dates(
        data[cols["end_date"]].where(keep, None),
        path,
        labels["end_date"],
        row_offset=off,
        sheet=sheet,
    )
    frame = pd.DataFrame(
        {
            "practice_code": practice,
            "pcn_code": pcn,
            "pcn_name": text["pcn_name"].replace("", pd.NA),
            "sub_icb_code": text["sub_icb_code"].str.upper().replace("", pd.NA),
            "start_date": start,
            "end_date": end,
        }
    )
    # extras: the practice's name and the PCN's own parent (a practice may join a PCN over the
    # border: C83653, Lincolnshire CCG, in an East Leicestershire PCN)
    if "practice_name" in text:
        frame["practice_name"] = text["practice_name"].replace("", pd.NA)
    if "pcn_sub_icb_code" in text:
        frame["pcn_sub_icb_code"] = text["pcn_sub_icb_code"].str.upper().replace("", pd.NA)
    frame = frame[keep].reset_index(drop=True)
    backwards = (
        frame["end_date"].notna()
        & frame["start_date"].notna()
        & (frame["end_date"] < frame["start_date"])
    )
    notes = [
        f"{len(frame):,} practice-to-PCN rows ({int(frame['end_date'].isna().sum()):,} current, no end "
        f"date), {frame['practice_code'].nunique():,} practices, {frame['pcn_code'].nunique():,} PCNs "
        f"(sheet {sheet!r})"
    ]
    if backwards.any():
        notes.append(f"{int(backwards.sum())} rows end before they start (kept as published)")
    details = by_key.get("pcndetails")
    if details is not None:
        try:
            drows = _sheet_rows(wb, details)
            dh = _header_index(drows, "pcn code")
            if dh is not None:
                ci = [norm(c) for c in drows[dh]].index("pcn code")
                known = {
                    str(r[ci]).strip().upper()
                    for r in drows[dh + 1 :]
                    if len(r) > ci and str(r[ci]).strip()
                }
                notes.append(f"{len(known):,} PCNs listed in sheet {details!r}")
                unknown = sorted(set(frame["pcn_code"]) - known)
                if unknown:
                    notes.append(
                        f"{len(unknown)} PCN code(s) of the partner sheet are not in {details!r}: "
                        + ", ".join(unknown[:10])
                    )
        except Exception:  # noqa: BLE001 - the details sheet only adds notes
            pass
    date = member_date if member_date is not None and member_date.year > 1980 else None
    date = date or _core_modified(path, member)
    period = _source_period(date)
    info = source_info(
        path,
        "Primary care networks: practice membership (ePCN)",
        "NHS England Organisation Data Service (ODS)",
        period,
        licence=OGL,
    )
    return [ReadResult("pcn_membership", frame, info, notes, {"period": period})]


# --------------------------------------------------------------------------------------------
# QOF NHS geographies mapping
# --------------------------------------------------------------------------------------------

_QOF_GEO_ALIASES: dict[str, tuple[str, ...]] = {
    "practice_code": ("practice_code",),
    "practice_name": ("practice_name",),
    "pcn_code": ("pcn_ods_code", "pcn_code"),
    "pcn_name": ("pcn_name",),
    "sub_icb_code": (
        "ccg_ods_code",
        "sub_icb_loc_ods_code",
        "sub_icb_location_ods_code",
        "sub_icb_ods_code",
    ),
    "sub_icb_name": ("ccg_name", "sub_icb_loc_name", "sub_icb_location_name", "sub_icb_name"),
    "icb_code": ("stp_ons_code", "icb_ons_code"),
    "icb_code_nhs": ("stp_ods_code", "icb_ods_code"),
    "icb_name": ("stp_name", "icb_name"),
}


def _key(header: object) -> str:
    return re.sub(r"[^a-z0-9%]+", "_", norm(header)).strip("_")


def _alias_map(keys: Sequence[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for canon, names in aliases.items():
        out[canon] = next((keys.index(n) for n in names if n in keys), None)
    return out


def sniff_qof_geographies(path: Path) -> bool:
    """QOF mapping header: PRACTICE_CODE, PCN_ODS_CODE, a CCG/sub-ICB and an STP/ICB code."""
    try:
        header = csv_header(Path(path))
        if not header:
            return False
        keys = [_key(h) for h in header]
        m = _alias_map(keys, _QOF_GEO_ALIASES)
        return all(
            m[k] is not None for k in ("practice_code", "pcn_code", "sub_icb_code", "icb_code_nhs")
        )
    except Exception:  # noqa: BLE001
        return False


def read_qof_geographies(path: Path) -> list[ReadResult]:
    """Read QOF ``MAPPING_NHS_GEOGRAPHIES``: practice -> PCN -> CCG (sub-ICB) -> STP (ICB).

    ``icb_code`` is the STP/ICB **ONS** code (E54...), the one boundaries use; ``icb_code_nhs`` its
    ODS code (e.g. QK1), the one epraccur uses.
    """
    path = Path(path)
    src = _one_csv(path)
    raw = _read_frame(src, path, header=True)
    keys = [_key(c) for c in raw.columns]
    m = _alias_map(keys, _QOF_GEO_ALIASES)
    labels = {k: v[0].upper() for k, v in _QOF_GEO_ALIASES.items()}
    lost = [labels[k] for k, i in m.items() if i is None]
    if lost:
        require_columns(path, list(raw.columns), lost)
    frame = pd.DataFrame({k: _strip(raw.iloc[:, i]) for k, i in m.items() if i is not None})
    off = 2
    for col in ("practice_code", "pcn_code", "sub_icb_code", "icb_code_nhs"):
        frame[col] = frame[col].str.upper()
    _fail_first(
        ~frame["practice_code"].str.match(_ORG_CODE.pattern),
        frame["practice_code"],
        path,
        labels["practice_code"],
        "a practice code",
        row_offset=off,
    )
    _fail_first(
        ~frame["icb_code"].str.match(_GSS.pattern) & (frame["icb_code"] != ""),
        frame["icb_code"],
        path,
        labels["icb_code"],
        "an ONS code such as E54000015",
        row_offset=off,
    )
    dup = frame["practice_code"].duplicated()
    pos = _bad(dup)
    if pos is not None:
        raise InputFileError(
            path,
            f"duplicate practice {frame['practice_code'].iloc[pos]!r}: expected one row per practice",
            row=pos + off,
            column=labels["practice_code"],
        )
    frame = frame.replace("", pd.NA)
    period = _qof_period(path)
    notes = [
        f"{len(frame):,} practices, {frame['pcn_code'].nunique():,} PCNs, "
        f"{frame['sub_icb_code'].nunique():,} CCGs/sub-ICBs, {frame['icb_code'].nunique():,} STPs/ICBs"
    ]
    if period == "unknown":
        notes.append("period unknown: QOF mapping files carry no date (their name usually does)")
    else:
        notes.append(f"QOF year {period} (from the published file name)")
    info = source_info(
        path,
        "QOF mapping of practices to NHS geographies",
        "NHS England (NHS Digital), QOF",
        period,
    )
    return [ReadResult("practice_geography", frame, info, notes, {"period": period})]


# --------------------------------------------------------------------------------------------
# OS Code-Point Open
# --------------------------------------------------------------------------------------------


def _codepoint_row_ok(r: Sequence[str]) -> bool:
    return (
        len(r) == CODEPOINT_FIELDS
        and _looks_like_postcode(r[0])
        and all(_INT.match(r[i].strip()) for i in (1, 2, 3))
        and (not r[8].strip() or bool(_GSS.match(r[8].strip())))
    )


def _codepoint_text_ok(text: str) -> bool:
    rows = list(csv.reader(io.StringIO(text)))[:5]
    rows = [r for r in rows if r]
    return bool(rows) and all(_codepoint_row_ok(r) for r in rows)


def _codepoint_member(name: str, head: str) -> bool:
    # the head may end mid-row, so only whole rows are judged
    lines = head.splitlines()
    return bool(lines) and _codepoint_text_ok("\n".join(lines[: min(5, max(1, len(lines) - 1))]))


def sniff_codepoint(path: Path) -> bool:
    """Headerless, 10 fields: a postcode, integer quality/easting/northing, a GSS district code.

    Also the product zip (``Data/CSV/<area>.csv`` members)."""
    try:
        path = Path(path)
        members = zip_members(path)
        if members is not None and not is_spreadsheet(path):
            csvs = [m for m in members if m.lower().endswith(".csv")]
            with zipfile.ZipFile(path) as zf:
                for name in csvs[:6]:
                    with zf.open(name) as fh:
                        head = fh.read(4096).decode("utf-8", "replace")
                    if _codepoint_member(name, head):
                        return True
            return False
        rows = csv_rows(path, nrows=5)
        return bool(rows) and all(_codepoint_row_ok(r) for r in rows)
    except Exception:  # noqa: BLE001
        return False


def _codepoint_metadata(path: Path) -> tuple[str, str | None]:
    """Release date and version from the product's ``metadata.txt`` (beside the CSV or in the zip)."""
    text = None
    try:
        if is_zip(path):
            with zipfile.ZipFile(path) as zf:
                meta = [n for n in zf.namelist() if n.lower().endswith("metadata.txt")]
                if meta:
                    text = zf.read(meta[0]).decode("latin-1")
        else:
            for cand in (
                path.parent / "metadata.txt",
                path.parent.parent / "Doc" / "metadata.txt",
                path.parent.parent.parent / "Doc" / "metadata.txt",
            ):
                if cand.is_file():
                    text = cand.read_text(encoding="latin-1")
                    break
    except (OSError, zipfile.BadZipFile):
        text = None
    if not text:
        return "unknown", None
    date = re.search(r"COPYRIGHT DATE:\s*(\d{4})(\d{2})(\d{2})", text)
    version = re.search(r"DATASET VERSION NUMBER:\s*([\d.]+)", text)
    period = f"{date.group(1)}-{date.group(2)}-{date.group(3)}" if date else "unknown"
    return period, version.group(1) if version else None


def _read_codepoint_text(src: _TextSource, path: Path) -> pd.DataFrame:
    raw = _read_frame(src, path, header=False)
    where = _where(src.member)
    if raw.shape[1] != CODEPOINT_FIELDS:
        raise InputFileError(
            path,
            f"expected {CODEPOINT_FIELDS} fields (Code-Point Open has no header row), found "
            f"{raw.shape[1]}{where}",
            row=1,
        )
    off = 1
    raw = raw.apply(lambda s: s.str.strip())
    key = _postcode_key(raw[0])
    _fail_first(
        ~key.str.match(_POSTCODE.pattern).fillna(False),
        raw[0],
        path,
        "Postcode",
        f"a UK postcode{where}",
        row_offset=off,
    )
    for i, name in ((1, "Positional_quality_indicator"), (2, "Eastings"), (3, "Northings")):
        _fail_first(
            ~raw[i].str.match(r"^\d+$"),
            raw[i],
            path,
            name,
            f"a whole number of zero or more{where}",
            row_offset=off,
        )
    for i, name, top in ((2, "Eastings", 700_000), (3, "Northings", 1_300_000)):
        _fail_first(
            pd.to_numeric(raw[i], errors="coerce") > top,
            raw[i],
            path,
            name,
            f"a British National Grid coordinate of at most {top:,} m{where}",
            row_offset=off,
        )
    dc = raw[8]
    _fail_first(
        (dc != "") & ~dc.str.match(_GSS.pattern),
        dc,
        path,
        "Admin_district_code",
        f"a GSS code such as E06000016 (or blank){where}",
        row_offset=off,
    )
    quality = raw[1].astype("int64")
    east = raw[2].astype("float64")
    north = raw[3].astype("float64")
    nocoord = (east == 0) & (north == 0)
    return pd.DataFrame(
        {
            "postcode": normalise_postcode(raw[0]),
            "easting": east.mask(nocoord),
            "northing": north.mask(nocoord),
            "quality": quality,
            "lad_code": dc.where(dc != "", pd.NA).astype("string"),
        }
    )


def read_codepoint(path: Path) -> list[ReadResult]:
    """Read OS Code-Point Open: one row per postcode with its British National Grid position.

    A per-area CSV or the whole product zip (every ``Data/CSV/*.csv``). Postcodes without
    coordinates (quality 90, easting = northing = 0) keep a row with NaN easting/northing.
    """
    path = Path(path)
    sources = _csv_sources(path, accept=_codepoint_member)
    frames = [_read_codepoint_text(s, path) for s in sources]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    dup = frame["postcode"].duplicated()
    pos = _bad(dup)
    if pos is not None:
        raise InputFileError(
            path,
            f"duplicate postcode {frame['postcode'].iloc[pos]!r}: expected one row per postcode",
            row=pos + 1 if len(frames) == 1 else None,
            column="Postcode",
        )
    period, version = _codepoint_metadata(path)
    nocoord = int(frame["easting"].isna().sum())
    notes = [
        f"{len(frame):,} postcodes"
        + (f" from {len(sources)} postcode-area files" if len(sources) > 1 else "")
        + f"; positional quality: {', '.join(f'{q}: {n:,}' for q, n in frame['quality'].value_counts().sort_index().items())}"
    ]
    if nocoord:
        notes.append(
            f"{nocoord:,} postcodes have no coordinates (quality 90); their easting/northing are blank"
        )
    if period == "unknown":
        notes.append("release unknown: no Code-Point metadata.txt beside the file")
    year = period[:4] if period != "unknown" else "[year]"
    info = source_info(
        path,
        "OS Code-Point Open" + (f" {version}" if version else ""),
        "Ordnance Survey",
        period,
        licence="OS OpenData: " + OGL,
        attribution=OS_ATTRIBUTION.format(year=year),
    )
    meta: dict[str, Any] = {"period": period, "crs": "EPSG:27700"}
    if version:
        meta["version"] = version
    return [ReadResult("postcodes", frame, info, notes, meta)]


# --------------------------------------------------------------------------------------------
# Placing practices
# --------------------------------------------------------------------------------------------


class Placement(NamedTuple):
    """Practices with coordinates added, and the codes of those that could not be placed."""

    frame: pd.DataFrame
    unplaced: list[str]


def _to_wgs84(easting: np.ndarray, northing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(easting, northing)
    return np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")


def place_practices(
    practices: pd.DataFrame, postcodes: pd.DataFrame | Iterable[pd.DataFrame]
) -> Placement:
    """Add ``easting``, ``northing`` (EPSG:27700) and ``latitude``, ``longitude`` (EPSG:4326).

    Postcodes match ignoring spaces and case. A practice is unplaced when its postcode is blank,
    absent from ``postcodes`` or has no coordinates there; its coordinates stay NaN.
    Code-Point gives the postcode's position, not the building's.
    """
    if not isinstance(postcodes, pd.DataFrame):
        postcodes = pd.concat(list(postcodes), ignore_index=True)
    for name, frame, needed in (
        ("practices", practices, ("practice_code", "postcode")),
        ("postcodes", postcodes, ("postcode", "easting", "northing")),
    ):
        lost = [c for c in needed if c not in frame.columns]
        if lost:
            raise ValueError(
                f"{name} frame is missing column(s) {', '.join(map(repr, lost))}; found "
                f"{', '.join(map(repr, frame.columns))}"
            )
    out = practices.drop(columns=["easting", "northing", "latitude", "longitude"], errors="ignore")
    out = out.reset_index(drop=True)
    grid = pd.DataFrame(
        {
            "key": _postcode_key(postcodes["postcode"]).to_numpy(),
            "easting": pd.to_numeric(postcodes["easting"]).astype("float64").to_numpy(),
            "northing": pd.to_numeric(postcodes["northing"]).astype("float64").to_numpy(),
        }
    ).drop_duplicates("key")
    grid = grid.set_index("key")
    keys = _postcode_key(out["postcode"])
    east = grid["easting"].reindex(keys.to_numpy()).to_numpy()
    north = grid["northing"].reindex(keys.to_numpy()).to_numpy()
    ok = ~(np.isnan(east) | np.isnan(north))
    lat = np.full(len(out), np.nan)
    lon = np.full(len(out), np.nan)
    if ok.any():
        lat[ok], lon[ok] = _to_wgs84(east[ok], north[ok])
    out["easting"] = east
    out["northing"] = north
    out["latitude"] = lat
    out["longitude"] = lon
    unplaced = out.loc[~ok, "practice_code"].astype(str).tolist()
    return Placement(out, unplaced)


READERS: list[Reader] = [
    Reader(
        "ods_epraccur",
        "practices",
        "NHS ODS epraccur: GP practices and other prescribing organisations (headerless, 27 fields)",
        sniff_epraccur,
        read_epraccur,
    ),
    Reader(
        "ods_epcn",
        "pcn_membership",
        "NHS ODS ePCN workbook: practice to primary care network relationships",
        sniff_epcn,
        read_epcn,
    ),
    Reader(
        "qof_nhs_geographies",
        "practice_geography",
        "QOF MAPPING_NHS_GEOGRAPHIES: practice, PCN, CCG/sub-ICB and STP/ICB",
        sniff_qof_geographies,
        read_qof_geographies,
    ),
    Reader(
        "os_codepoint_open",
        "postcodes",
        "OS Code-Point Open: postcode positions (headerless, 10 fields)",
        sniff_codepoint,
        read_codepoint,
    ),
]
