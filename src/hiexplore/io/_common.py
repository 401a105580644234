"""Plumbing every reader shares, so that each fails the same clear way: file, row, column,
expected, found.

- whole-file bytes (plain, gzip, single-CSV zip) and numbers (:func:`to_number`);
- tables found by their header row in a CSV or any workbook sheet (:func:`load_tables`), with
  the header test a reader gives; sniffers look at the same rows through :func:`header_of`;
- checks on a :class:`Table` (codes, duplicates, blanks, pandera models) whose errors name the
  row a user sees in the file.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import functools
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..errors import InputFileError
from ..schemas import schema_errors_to_message
from ._sniff import csv_rows, is_gzip, is_spreadsheet, norm, sha256_file, zip_members
from .registry import SourceInfo

__all__ = [
    "require_columns",
    "to_number",
    "source_info",
    "first_bad_row",
    "read_all_bytes",
    "LSOA_RE",
    "LAST_LSOA11",
    "Table",
    "Gap",
    "closest_column",
    "load_csv",
    "load_sheets",
    "load_tables",
    "csv_rows_from_text",
    "header_of",
    "sniff_header",
    "text_column",
    "shown",
    "as_numbers",
    "check_codes",
    "check_unique",
    "check_filled",
    "validate_frame",
    "plain_strings",
]

LSOA_RE = re.compile(r"^[EW]01\d{6}$")
#: the last LSOA 2011 code in each nation: any higher code was created in 2021
LAST_LSOA11 = {"E": 33768, "W": 1958}


def require_columns(
    path: Path,
    found: Iterable[str],
    required: Sequence[str],
    *,
    row: int = 1,
    sheet: str | None = None,
) -> None:
    """Raise if any of ``required`` (compared normalised) is not among ``found``."""
    have = {norm(c) for c in found}
    missing = [c for c in required if norm(c) not in have]
    if missing:
        raise InputFileError(
            path,
            f"missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"expected the header to contain {', '.join(repr(r) for r in required)}; "
            f"found {', '.join(repr(str(f)) for f in list(found)[:30])}",
            row=row,
            column=missing[0],
            sheet=sheet,
        )


def first_bad_row(mask: pd.Series) -> int | None:
    idx = np.flatnonzero(mask.to_numpy())
    return int(idx[0]) if len(idx) else None


def to_number(
    series: pd.Series,
    path: Path,
    column: str,
    *,
    row_offset: int = 2,
    allow: Iterable[str] = (),
    thousands: bool = True,
    sheet: str | None = None,
    non_negative: bool = True,
) -> pd.Series:
    """Parse a column of numbers (thousands separators allowed); blanks and ``allow`` become NaN.

    Anything else non-numeric raises naming the first bad row (``row_offset`` maps the 0-based
    position to the row a user sees: 2 for a CSV with a header on row 1).
    """
    text = series.astype("string").str.strip()
    if thousands:
        text = text.str.replace(",", "", regex=False)
    allowed = {a.lower() for a in allow} | {"", "nan", "none", "<na>"}
    blank = text.isna() | text.str.lower().isin(allowed)
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    pos = first_bad_row(bad)
    if pos is not None:
        raise InputFileError(
            path,
            f"expected a number, found {series.iloc[pos]!r}",
            row=pos + row_offset,
            column=column,
            sheet=sheet,
        )
    if non_negative:
        neg = values < 0
        pos = first_bad_row(neg.fillna(False))
        if pos is not None:
            raise InputFileError(
                path,
                f"expected a count of zero or more, found {series.iloc[pos]!r}",
                row=pos + row_offset,
                column=column,
                sheet=sheet,
            )
    return values.astype("float64")


def source_info(path: Path, title: str, publisher: str, period: str, **kw: str) -> SourceInfo:
    return SourceInfo(
        title=title, publisher=publisher, period=period, file=path.name, sha256=sha256_file(path), **kw
    )


def read_all_bytes(path: Path) -> bytes:
    """All (decompressed) bytes of a plain, gzipped or single-CSV zip file."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        members = zip_members(path)
        if members is not None:
            csvs = [m for m in members if m.lower().endswith((".csv", ".txt"))]
            if len(csvs) != 1:
                raise InputFileError(
                    path, f"expected a zip holding one CSV file, found {members[:10]}"
                )
            with zipfile.ZipFile(path) as zf:
                return zf.read(csvs[0])
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile) as err:
        raise InputFileError(path, f"the compressed file is truncated or damaged ({err})") from None
    except OSError as err:
        raise InputFileError(path, f"could not read the file ({err})") from None


# ---------------------------------------------------------------------------------------------
# tables found by their header row (CSV or workbook), and the checks that name file/row/column


@dataclass
class Table:
    """A table found in a CSV or a workbook sheet (blank cells -> NA; codes and names as text).

    ``header_row`` is the 1-based row of the header, so frame position ``i`` is the row
    ``header_row + 1 + i`` a user sees (:attr:`row_offset`).
    """

    frame: pd.DataFrame
    header_row: int
    sheet: str | None
    notes: list[str]

    @property
    def row_offset(self) -> int:
        return self.header_row + 1


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    return err.object[err.start : err.end].decode("cp1252", errors="replace"), err.end


def _decode(raw: bytes, path: Path, notes: list[str]) -> str:
    """UTF-8 (BOM stripped) or UTF-16; stray Windows-1252 bytes in a UTF-8 file are kept readable.

    Official CSVs re-saved in Excel often carry a few cp1252 bytes (``Ynys M\\xf4n``); decoding
    those bytes alone as cp1252 keeps the rest of the UTF-8 text intact, and the note says so.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as err:
            raise InputFileError(path, f"not readable as UTF-16 text ({err.reason})") from None
    if b"\x00" in raw[:4096]:
        raise InputFileError(path, "expected a text (CSV) file, found binary data")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        try:
            codecs.lookup_error("hiexplore-cp1252")
        except LookupError:
            codecs.register_error("hiexplore-cp1252", _cp1252_fallback)
        text = raw.decode("utf-8-sig", errors="hiexplore-cp1252")
        notes.append(
            f"not valid UTF-8 (first bad byte {raw[err.start:err.start + 1]!r} on line {line}); "
            "those bytes were read as Windows-1252"
        )
        return text


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _strip_trailing_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop all-blank rows at the end (spreadsheets pad tables); interior rows keep their place."""
    if frame.empty:
        return frame
    filled = frame.notna().any(axis=1).to_numpy()
    idx = np.flatnonzero(filled)
    last = int(idx[-1]) + 1 if len(idx) else 0
    return frame.iloc[:last]


def _blank_to_na(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype("object")
    out = out.where(~out.map(lambda v: v is None or (isinstance(v, str) and not v.strip())), None)
    return out


# ---------------------------------------------------------------------------------------------
# what a header row lacks, for the error when no row of the first ones is the header

HEADER_ROWS = 20  # title and note rows above a table's header, at most


@dataclass(frozen=True)
class Gap:
    """One reason a row is not the header a reader looks for (used only to explain a failure).

    A missing column (the default) is described by ``what`` ("an LSOA code column such as
    'LSOA21CD'"); ``spellings`` are names it goes by, compared with the row's cells to offer the
    closest match. Cells in ``ignore`` (normalised: those the reader recognised as other columns)
    and, when ``like`` is given, cells without that pattern (``"lsoa"``) are never offered: a
    dropped LSOA column must not be "matched" to ``PCON_CODE``. With ``missing=False``, ``what``
    says what the row has that it should not.
    """

    what: str
    spellings: tuple[str, ...] = ()
    ignore: frozenset[str] = frozenset()
    like: str = ""
    missing: bool = True


#: a reader's account of a candidate row (cells as published) -> its gaps, [] if it is a header
HeaderGaps = Callable[[Sequence[object]], list[Gap]]


def closest_column(
    spellings: Iterable[str], cells: Iterable[object], ignore: Iterable[str] = (), like: str = ""
) -> str | None:
    """The cell (as published) nearest to any of ``spellings``, compared normalised; None if no
    cell is at least 60% alike (difflib's ratio), so a renamed column is named, noise is not.
    Cells in ``ignore`` or not matching the regex ``like`` are left out."""
    skip = set(ignore)
    pattern = re.compile(like) if like else None
    pool: dict[str, str] = {}
    for c in cells:
        key = norm(c)
        if key and key not in skip and (pattern is None or pattern.search(key)):
            pool.setdefault(key, str(c).replace("\ufeff", "").strip())
    best, score = None, 0.0
    for spelling in spellings:
        target = norm(spelling)
        for hit in difflib.get_close_matches(target, list(pool), n=1, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, target, hit).ratio()
            if ratio > score:
                best, score = pool[hit], ratio
    return best


def _cells_shown(cells: Sequence[object], limit: int = 12) -> str:
    filled = [str(c).replace("\ufeff", "").strip() for c in cells]
    filled = [c for c in filled if c]
    more = f" and {len(filled) - limit} more" if len(filled) > limit else ""
    return ", ".join(repr(c) for c in filled[:limit]) + more


def header_not_found(
    path: Path,
    heads: Sequence[tuple[str | None, int, Sequence[object]]],
    gaps: HeaderGaps | None,
    lead: str,
    *,
    tail: str = "",
) -> InputFileError:
    """The error for a table whose header row was not found among ``heads`` (sheet, 0-based
    row, cells). Names the row that came closest (fewest gaps, then most filled cells, then the
    first), what it is missing with the nearest name it has, and what it holds."""
    best: tuple[tuple[int, int, int], str | None, int, Sequence[object], list[Gap]] | None = None
    for order, (sheet, i, cells) in enumerate(heads):
        filled = sum(bool(norm(c)) for c in cells)
        if not filled:
            continue
        found = gaps(cells) if gaps is not None else []
        key = (len(found), -filled, order)
        if best is None or key < best[0]:
            best = (key, sheet, i, cells, found)
    if best is None or not best[4]:
        # no reader account (or none that fits the closest row): say what the file holds
        cells = best[3] if best is not None else (heads[0][2] if heads else [])
        return InputFileError(
            path,
            f"{lead}; expected the column names of this format; found {_cells_shown(cells)}"
            + (f"; {tail}" if tail else ""),
            row=1,
        )
    _, sheet, i, cells, found = best
    parts: list[str] = []
    column = None
    for gap in found:
        if not gap.missing:
            parts.append(gap.what)
            continue
        near = closest_column(gap.spellings, cells, gap.ignore, gap.like)
        parts.append(f"missing {gap.what}" + (f" (closest match: {near!r})" if near else ""))
        column = column or near
    where = f"row {i + 1}" + (f" of sheet {sheet!r}" if sheet is not None else "")
    return InputFileError(
        path,
        f"{lead}; the best match, {where}, is {'; '.join(parts)}; that row holds "
        f"{_cells_shown(cells)}" + (f"; {tail}" if tail else ""),
        row=i + 1,
        column=column,
        sheet=sheet,
    )


def load_csv(
    path: Path,
    header: Callable[[list[str]], bool] | None = None,
    gaps: HeaderGaps | None = None,
) -> Table:
    """Read a CSV (plain, gzip or zip; comma, tab or semicolon) into a :class:`Table`.

    ``header(normalised_cells)`` picks the header row among the first 20 rows (default row 1),
    so title blocks above the table are skipped; when no row passes, ``gaps`` says what the
    closest row lacks (see :class:`Gap`). Code and name columns stay text; other columns
    are typed by the parser (readers re-check them with :func:`as_numbers`, which names the
    first bad cell). Parser failures become :class:`InputFileError` naming the row.
    """
    notes: list[str] = []
    text = _decode(read_all_bytes(path), path, notes)
    if not text.strip():
        raise InputFileError(path, "the file is empty", row=1)
    skip = 0
    if header is not None:
        rows = csv_rows_from_text(text, HEADER_ROWS)
        found = [i for i, r in enumerate(rows) if header([norm(c) for c in r])]
        if not found:
            raise header_not_found(
                path, [(None, i, r) for i, r in enumerate(rows)], gaps,
                f"no header row found in the first {HEADER_ROWS} rows",
            )
        skip = found[0]
    lines = text[:1_000_000].split("\n", skip + 1)
    first = lines[skip] if len(lines) > skip else ""
    head = csv_rows_from_text(text, skip + 1)
    # codes and names stay text (a code such as 00123 keeps its zeros); counts parse as numbers
    # in the C parser, which is several times faster than parsing text columns afterwards
    texty = {c: str for c in (head[skip] if len(head) > skip else []) if _TEXTY.search(norm(c))}
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=texty or None,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skiprows=skip,
            sep=_delimiter(first),
        )
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "the file is empty", row=1) from None
    except pd.errors.ParserError as err:
        msg = str(err).strip()
        m = re.search(r"line (\d+)", msg)
        row = int(m.group(1)) + skip if m else None
        m = re.search(r"starting at row (\d+)", msg)
        if m:
            row = int(m.group(1)) + 1 + skip
        hint = " (an unclosed quote: is the file truncated?)" if "EOF" in msg else ""
        raise InputFileError(
            path, f"not a well-formed CSV: {msg.split('C error: ')[-1]}{hint}", row=row
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) and not text.endswith(("\n", "\r")):
        # a download that stopped part-way through the last row: fewer fields than the header
        last = text.rsplit("\n", 1)[-1]
        fields = next(csv.reader([last], delimiter=_delimiter(first)), [])
        if 0 < len(fields) < frame.shape[1]:
            raise InputFileError(
                path,
                f"the last row has {len(fields)} of the header's {frame.shape[1]} fields and no line "
                "break at its end: expected a value, found a blank (is the file truncated?)",
                row=skip + 1 + len(frame),
                column=str(frame.columns[len(fields)]),
            )
    frame = _strip_trailing_blank(frame)
    if frame.empty:
        raise InputFileError(path, "the file has a header row but no data rows", row=skip + 2)
    return Table(frame, skip + 1, None, notes)


_TEXTY = re.compile(r"code|name|(cd|cdh|nm|nmw)$|^geography|group|dimension|label|^date$")


def csv_rows_from_text(text: str, n: int) -> list[list[str]]:
    """The first ``n`` records of CSV text (quotes and embedded newlines handled)."""
    first = text[:100_000].split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text[:1_000_000]), delimiter=_delimiter(first))
    out: list[list[str]] = []
    try:
        for row in reader:
            out.append(row)
            if len(out) >= n:
                break
    except csv.Error:
        pass
    return out


def _workbook(path: Path) -> Any:
    from python_calamine import CalamineWorkbook

    try:  # from bytes: calamine then goes by content, so an XLSX named .ods still opens
        return CalamineWorkbook.from_filelike(io.BytesIO(Path(path).read_bytes()))
    except Exception as err:  # noqa: BLE001 - calamine raises several unrelated types
        raise InputFileError(path, f"not a readable workbook ({err})") from None


def load_sheets(path: Path, header: Callable[[list[str]], bool], max_header_row: int = 20) -> list[Table]:
    """Every sheet of a workbook whose header row (within the first rows) satisfies ``header``."""
    wb = _workbook(path)
    tables: list[Table] = []
    for name in wb.sheet_names:
        try:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as err:  # noqa: BLE001
            raise InputFileError(path, f"sheet could not be read ({err})", sheet=name) from None
        hit = next(
            (i for i, r in enumerate(rows[:max_header_row]) if header([norm(c) for c in r])), None
        )
        if hit is None:
            continue
        cols = [str(c).replace("\ufeff", "").strip() for c in rows[hit]]
        width = len(cols)
        body = [list(r[:width]) + [""] * (width - len(r)) for r in rows[hit + 1 :]]
        frame = _blank_to_na(pd.DataFrame(body, columns=cols, dtype=object))
        tables.append(Table(_strip_trailing_blank(frame), hit + 1, name, []))
    return tables


def load_tables(
    path: Path, header: Callable[[list[str]], bool], gaps: HeaderGaps | None = None
) -> list[Table]:
    """The tables of a CSV or workbook whose header satisfies ``header``; raise if there are none.

    The error then names the row (and sheet) that came closest and, through ``gaps``, the
    expected columns it lacks with the nearest name it has.
    """
    if is_spreadsheet(path):
        tables = load_sheets(path, header, HEADER_ROWS)
        if not tables:
            wb = _workbook(path)
            heads: list[tuple[str | None, int, Sequence[object]]] = []
            for name in wb.sheet_names:
                try:
                    rows = wb.get_sheet_by_name(name).to_python(nrows=HEADER_ROWS, skip_empty_area=False)
                except Exception:  # noqa: BLE001 - load_sheets read every sheet already
                    continue
                heads += [(name, i, r) for i, r in enumerate(rows)]
            raise header_not_found(
                path, heads, gaps,
                f"no sheet has the expected header in its first {HEADER_ROWS} rows",
                tail=f"sheets found: {list(wb.sheet_names)}",
            )
        filled = [t for t in tables if not t.frame.empty]
        if not filled:
            t = tables[0]
            raise InputFileError(path, "the sheet has a header row but no data rows",
                                 row=t.header_row + 1, sheet=t.sheet)
        return filled
    return [load_csv(path, header, gaps)]


def header_of(path: Path, max_rows: int = 20) -> list[tuple[str | None, list[str]]]:
    """Candidate header rows, normalised: (sheet, cells) for the first rows of every sheet/CSV.

    Never raises (sniffers use it). Cached on (path, size, mtime): every sniffer asks.
    """
    try:
        st = Path(path).stat()
    except OSError:
        return []
    return list(_header_of(str(path), st.st_size, st.st_mtime_ns, max_rows))


@functools.lru_cache(maxsize=64)
def _header_of(
    path_s: str, _size: int, _mtime: int, max_rows: int
) -> tuple[tuple[str | None, list[str]], ...]:
    path = Path(path_s)
    out: list[tuple[str | None, list[str]]] = []
    try:
        if is_spreadsheet(path):
            from python_calamine import CalamineWorkbook

            wb = CalamineWorkbook.from_filelike(io.BytesIO(Path(path).read_bytes()))
            for name in wb.sheet_names:
                for row in wb.get_sheet_by_name(name).to_python(nrows=max_rows, skip_empty_area=False):
                    out.append((name, [norm(c) for c in row]))
            return tuple(out)
        rows = csv_rows(path, nrows=max_rows)
        for row in rows or []:
            out.append((None, [norm(c) for c in row]))
    except Exception:  # noqa: BLE001 - a sniffer must never raise
        return ()
    return tuple(out)


def sniff_header(path: Path, pred: Callable[[list[str]], bool]) -> bool:
    """True if any of the first rows (any sheet) passes ``pred``; never raises (a sniffer)."""
    try:
        return any(pred(cells) for _, cells in header_of(Path(path)))
    except Exception:  # noqa: BLE001
        return False


def text_column(table: Table, column: str) -> pd.Series:
    """A column as stripped strings (NA kept)."""
    return table.frame[column].astype("string").str.strip()


def shown(value: object) -> str:
    """A cell as a user would read it in the file: 11 not np.int64(11), 11 not 11.0."""
    if isinstance(value, bool | np.bool_):
        return repr(str(value))
    if isinstance(value, int | np.integer):
        return repr(str(int(value)))
    if isinstance(value, float | np.floating):
        return "a blank" if np.isnan(value) else repr(f"{value:g}" if float(value).is_integer() else str(value))
    if value is None or value is pd.NA:
        return "a blank"
    return repr(str(value))


def as_numbers(
    table: Table, column: str, path: Path, *, non_negative: bool = True
) -> pd.Series:
    """A column as float64: already-numeric columns pass straight through; text goes through
    :func:`~hiexplore.io._common.to_number` (thousands separators; the first bad cell raises)."""
    s = table.frame[column]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        values = s.astype("float64").reset_index(drop=True)
    else:
        fast = pd.to_numeric(s, errors="coerce") if s.dtype == object else None
        if fast is not None and bool((fast.notna() | s.isna()).all()):
            values = fast.astype("float64").reset_index(drop=True)
        else:
            return to_number(
                s, path, column, row_offset=table.row_offset, sheet=table.sheet,
                non_negative=non_negative,
            ).reset_index(drop=True)
    if non_negative:
        pos = np.flatnonzero((values < 0).to_numpy())
        if len(pos):
            i = int(pos[0])
            raise InputFileError(
                path, f"expected a count of zero or more, found {shown(s.iloc[i])}",
                row=i + table.row_offset, column=column, sheet=table.sheet,
            )
    return values


def check_codes(
    codes: pd.Series,
    path: Path,
    column: str,
    table: Table,
    *,
    pattern: re.Pattern[str] = LSOA_RE,
    what: str = "an LSOA code like E01000001",
    vintage: str | None = None,
) -> None:
    """Every code present and well formed; else name the first bad row.

    With ``vintage="2011"`` (the header says LSOA 2011) a code created in 2021 is an error too.
    """
    bad = codes.isna() | ~codes.fillna("").str.match(pattern.pattern)
    if vintage == "2011" and pattern is LSOA_RE:
        num = pd.to_numeric(codes.str[3:], errors="coerce")
        new = ((codes.str[0] == "E") & (num > LAST_LSOA11["E"])) | (
            (codes.str[0] == "W") & (num > LAST_LSOA11["W"])
        )
        pos = np.flatnonzero((new.fillna(False) & ~bad).to_numpy())
        if len(pos) and not bad.to_numpy()[: pos[0]].any():
            i = int(pos[0])
            raise InputFileError(
                path,
                f"expected an LSOA 2011 code (the header says 2011), found {codes.iloc[i]!r}, "
                "a code created in 2021",
                row=i + table.row_offset,
                column=column,
                sheet=table.sheet,
            )
    pos = np.flatnonzero(bad.to_numpy())
    if len(pos):
        i = int(pos[0])
        found = codes.iloc[i]
        shown = "a blank" if pd.isna(found) or found == "" else repr(found)
        hint = " (is the file truncated?)" if i == len(codes) - 1 and shown == "a blank" else ""
        raise InputFileError(
            path,
            f"expected {what}, found {shown}{hint}",
            row=i + table.row_offset,
            column=column,
            sheet=table.sheet,
        )


def check_unique(codes: pd.Series, path: Path, column: str, table: Table, what: str = "LSOA") -> None:
    """One row per code: a repeated code names the row of its second appearance."""
    dup = codes.duplicated(keep="first") & codes.notna()
    pos = np.flatnonzero(dup.to_numpy())
    if len(pos):
        i = int(pos[0])
        first = int(np.flatnonzero((codes == codes.iloc[i]).to_numpy())[0])
        raise InputFileError(
            path,
            f"duplicate {what} code {codes.iloc[i]!r} (first on row {first + table.row_offset}); "
            f"expected one row per {what}",
            row=i + table.row_offset,
            column=column,
            sheet=table.sheet,
        )


def check_filled(values: pd.Series, path: Path, column: str, table: Table) -> None:
    """A column that must be complete (ranks, deciles, counts): a blank names its row."""
    pos = np.flatnonzero(values.isna().to_numpy())
    if len(pos):
        i = int(pos[0])
        hint = " (is the file truncated?)" if i == len(values) - 1 else ""
        raise InputFileError(
            path,
            f"expected a number, found a blank{hint}",
            row=i + table.row_offset,
            column=column,
            sheet=table.sheet,
        )


def validate_frame(
    model: type[pa.DataFrameModel] | pa.DataFrameSchema,
    frame: pd.DataFrame,
    path: Path,
    table: Table | None = None,
    *,
    what: str = "table",
    column_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Validate with a canonical pandera model (columns the frame lacks are not required).

    Lazy validation lists every failure; the error names the first row as a user sees it and
    the column by its name in the file (``column_names`` maps canonical -> original). The
    frame's index must be the 0-based position of each row in the table.
    """
    schema = model.to_schema() if isinstance(model, type) else model
    absent = [c for c in schema.columns if c not in frame.columns]
    if absent:
        schema = schema.remove_columns(absent)
    offset = table.row_offset if table is not None else 1
    index = frame.index
    shown = frame.set_axis(np.asarray(index) + offset, axis=0)  # failures name the user's rows
    try:
        out = schema.validate(shown, lazy=True)
    except pa.errors.SchemaErrors as err:
        msg, row, col = schema_errors_to_message(err)
        if column_names:
            for canon, orig in column_names.items():
                msg = msg.replace(f"column {canon!r}", f"column {orig!r}")
            if col is not None:
                col = column_names.get(col, col)
        raise InputFileError(
            path,
            f"not a valid {what}: {msg}",
            row=row,
            column=col,
            sheet=table.sheet if table is not None else None,
        ) from None
    return out.set_axis(index, axis=0)


def plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas' default ``str`` dtype (missing = NaN), as pandera's coercion leaves
    them, so that every reader hands the build one kind of string column."""
    cols = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype({c: "str" for c in cols}) if cols else frame
