"""Readers of published indicator tables: Fingertips, FingertipsNext, PHE cervical, UKHSA COVER.

Every reader returns the canonical long ``indicators`` frame (:class:`hiexplore.schemas.Indicators`,
validated once here) with indicators named by their catalogue key. Rows of indicators that are
not in the catalogue are dropped with a note, as are rows for geographies the data model has no
area type for (CCGs, STPs, PHE centres...). Recognition is by content only (header rows, sheet
names, cell text), never by file name.

Beside the canonical columns every frame carries these extra columns (the schema allows extras):

``value_note``           why a value is missing or qualified, as published (e.g. Fingertips'
                         "Value note", COVER's ``[note 1]`` or ``[x]``, PHE's ``<under 6>``); a
                         COVER practice whose denominator is suppressed (fewer than 5) but whose
                         percentage is published reads "fewer than 5 eligible (suppressed):
                         66.7%, no interval" (:mod:`hiexplore.suppression`).
``numerator_estimated``  True where the publisher gives a percentage and a denominator but no
                         numerator, so ``numerator = round(denominator * value / 100)`` (COVER).
``parent_code``,         the parent area as published (Fingertips "Parent Code", the ICB of a
``parent_name``          COVER practice, the CCG of a PHE cervical practice, the region of a UTLA).

and, per format: ``lower_ci_998``/``upper_ci_998`` (Fingertips: the published 99.8% limits beside
the 95% ones in ``lower_ci``/``upper_ci``), ``la_ods_code`` (COVER GP: the practice's local
authority, ODS code such as 508) and ``ods_code`` (COVER UTLA: the UTLA's ODS code).

Periods are kept as each publisher states them: Fingertips "Time period" ("2022/23"),
FingertipsNext "Year" ("2022"), COVER's financial quarter ("2023/24 Q1", from the cover sheet's
title), PHE cervical "2017/18 Q3 (Dec 2017)" (quarter and month of the coverage date).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..catalogue import catalogue
from ..errors import InputFileError
from ..schemas import PRACTICE_PATTERN, validate_table
from ..suppression import (
    COVER_GP_SOURCE,
    SUPPRESSED_BELOW,
    SUPPRESSED_PREFIX,
    is_suppressed,
    mark_suppressed,
)
from ._common import first_bad_row, read_all_bytes, require_columns, source_info, to_number
from ._sniff import csv_rows, decode_bytes, is_spreadsheet, norm
from .registry import Reader, ReadResult, SourceInfo

__all__ = [
    "READERS",
    "read_fingertips_csv",
    "read_fingertipsnext_csv",
    "read_cervical_practice_csv",
    "read_cover_gp_ods",
    "read_cover_utla_ods",
    "financial_quarter",
    "period_from_text",
    "check_period_labels",
    "FINGERTIPS_PERIOD_FORMS",
    "FINGERTIPSNEXT_PERIOD_FORMS",
]

CANONICAL = (
    "indicator",
    "area_type",
    "area_code",
    "area_name",
    "period",
    "numerator",
    "denominator",
    "value",
    "lower_ci",
    "upper_ci",
    "source",
)
COMMON_EXTRAS = ("value_note", "numerator_estimated", "parent_code", "parent_name")
KEY = ["indicator", "area_type", "area_code", "period"]

OHID = "Office for Health Improvement and Disparities (OHID)"
UKHSA = "UK Health Security Agency (UKHSA; Public Health England before October 2021)"
PHE = "Public Health England"

HEADER_SEARCH_ROWS = 30  # title and note rows above a table's header, at most

# --------------------------------------------------------------------------------------------
# periods
# --------------------------------------------------------------------------------------------

_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?"
)
_RANGE_RE = re.compile(rf"(?<![a-z]){_MONTH}\s+to\s+{_MONTH}\s*,?\s*((?:19|20)\d\d)(?!\d)", re.I)
_FY_Q_RE = re.compile(
    r"((?:19|20)\d\d)\s*(?:/|-|to)\s*(?:19|20)?(\d\d)\s*,?\s*:?\s*quarter\s*([1-4])", re.I
)
_Q_FY_RE = re.compile(
    r"quarter\s*([1-4])\s*,?\s*((?:19|20)\d\d)\s*(?:/|-|to)\s*(?:19|20)?(\d\d)(?!\d)", re.I
)
_MONTH_YEAR_RE = re.compile(rf"(?<![a-z]){_MONTH}\s*[-_ ]?\s*((?:19|20)\d\d)(?!\d)", re.I)


def _month_number(text: str) -> int:
    return list(calendar.month_abbr).index(text[:3].title())


def financial_quarter(month: int, year: int) -> str:
    """The English financial-year quarter holding ``month`` of ``year`` (Q1 = April to June).

    >>> financial_quarter(6, 2023), financial_quarter(12, 2017), financial_quarter(3, 2025)
    ('2023/24 Q1', '2017/18 Q3', '2024/25 Q4')
    """
    start = year if month >= 4 else year - 1
    quarter = (month - 4) % 12 // 3 + 1
    return f"{start}/{(start + 1) % 100:02d} Q{quarter}"


#: the forms a Fingertips "Time period" takes: financial year, calendar year, financial or
#: calendar quarter, rolling years (as in Fingertips' own exports)
FINGERTIPS_PERIOD_FORMS = ("2023/24", "2023", "2023/24 Q1", "2023 Q1", "2021 - 23")
#: FingertipsNext "Year": a calendar year or a financial year
FINGERTIPSNEXT_PERIOD_FORMS = ("2023", "2023/24")
#: an Excel day number (a "Time period" cell a spreadsheet turned into a date, shown as a number)
_EXCEL_SERIAL_RE = re.compile(r"^\d{5}(\.\d+)?$")
_DATE_RES = (
    re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})(\s+\d{1,2}:\d{2}(:\d{2})?)?$"),  # 01/04/2023
    re.compile(r"^\d{4}[/.-]\d{1,2}[/.-]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$"),  # 2023-04-01
    re.compile(rf"^\d{{1,2}}[\s-]*{_MONTH}[\s-]*((19|20)\d\d|\d\d)$", re.I),  # 01-Apr-2023
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (1900 date system, after its leap-year bug)


def check_period_labels(
    labels: pd.Series, rows: np.ndarray, path: Path, column: str, forms: Sequence[str]
) -> None:
    """Refuse period labels that a spreadsheet turned into dates or day numbers.

    Excel reads "2023/24" or "Apr-23" as a date and may save it back as ``01/04/2023``,
    ``2023-04-01 00:00:00`` or its day number ``45017``: such a label names a day, not the
    publisher's period, and would be kept as a period nobody published. The error names the
    file, row and column, what was found, and the ``forms`` expected.

    >>> _excel_day("45017")
    '2023-04-01'
    """
    text = labels.astype("string").str.strip().fillna("").reset_index(drop=True)
    serial = text.str.fullmatch(_EXCEL_SERIAL_RE.pattern).fillna(False)
    date = pd.Series(False, index=text.index)
    for rx in _DATE_RES:
        date |= text.str.fullmatch(rx.pattern, flags=re.I).fillna(False)
    pos = first_bad_row(serial | date)
    if pos is None:
        return
    found = str(text.iloc[pos])
    what = (
        f"an Excel day number (day {found.split('.')[0]} is {_excel_day(found)})" if serial.iloc[pos]
        else "a date"
    )
    n = int((serial | date).sum())
    shown = ", ".join(repr(f) for f in forms[:-1]) + f" or {forms[-1]!r}" if len(forms) > 1 else repr(forms[0])
    raise InputFileError(
        path,
        f"expected a period such as {shown}, found {found!r}, {what}: a spreadsheet turned the "
        f"period into a date{f' ({n} rows like this)' if n > 1 else ''}; export the file again, "
        "or format the column as text before saving",
        row=int(rows[pos]), column=column,
    )


def _excel_day(serial: str) -> str:
    return (_EXCEL_EPOCH + dt.timedelta(days=int(float(serial)))).isoformat()


def period_from_text(texts: Iterable[object]) -> tuple[str, str] | None:
    """The financial quarter stated in title text, and the words it came from; None if absent.

    Looks for a month range ending in a year ("April to June 2023", "October  to December
    2023"), then "2019/20, Quarter 1", then "quarter 1 2023 to 2024".

    >>> period_from_text(["Quarterly ... in England 2023 to 2024: quarter 1, April to June 2023"])
    ('2023/24 Q1', 'April to June 2023')
    >>> period_from_text(["England - 2019/20, Quarter 4"])[0]
    '2019/20 Q4'
    """
    cells = [" ".join(str(t).split()) for t in texts if isinstance(t, str) and t.strip()]
    for text in cells:
        m = _RANGE_RE.search(text)
        if m:
            return financial_quarter(_month_number(m.group(2)), int(m.group(3))), m.group(0)
    for text in cells:
        m = _FY_Q_RE.search(text)
        if m:
            start = int(m.group(1))
            return f"{start}/{(start + 1) % 100:02d} Q{m.group(3)}", m.group(0)
        m = _Q_FY_RE.search(text)
        if m:
            start = int(m.group(2))
            return f"{start}/{(start + 1) % 100:02d} Q{m.group(1)}", m.group(0)
    return None


def _month_year(texts: Iterable[object]) -> tuple[int, int, str] | None:
    for text in texts:
        if not isinstance(text, str):
            continue
        m = _MONTH_YEAR_RE.search(text)
        if m:
            return _month_number(m.group(1)), int(m.group(2)), m.group(0)
    return None


# --------------------------------------------------------------------------------------------
# shared helpers: reading, numbers, checks, finishing
# --------------------------------------------------------------------------------------------

# Cells meaning "not published": asterisks, n/a, .., bracketed notes such as [note 1] [x] [c] [z],
# <under 6> / <Suppressed>, and COVER's banded "70% to 100%" for suppressed small areas.
_MARKER_PATTERN = (
    r"\s*(?:\*+|n/?a|\.{1,2}|-|x|z|c|:|(?:\[[^\]]*\]\s*)+|<[^>]*>"
    r"|\d+(?:\.\d+)?\s*%?\s*to\s*\d+(?:\.\d+)?\s*%)\s*"
)


_MARKER_RE = re.compile(_MARKER_PATTERN, re.I)


def _markers(series: pd.Series) -> pd.Series:
    """True where a cell is a published 'not available / suppressed' marker."""
    return pd.Series(
        [isinstance(v, str) and _MARKER_RE.fullmatch(v) is not None for v in series],
        index=series.index,
        dtype=bool,
    )


def _numbers(
    series: pd.Series,
    rows: np.ndarray,
    path: Path,
    column: str,
    *,
    sheet: str | None = None,
    non_negative: bool = True,
    allow: Sequence[str] = (),
) -> pd.Series:
    """``_common.to_number`` reporting the row a user sees (``rows``: one row number per cell)."""
    try:
        out = to_number(
            series.reset_index(drop=True),
            path,
            column,
            row_offset=0,
            allow=allow,
            sheet=sheet,
            non_negative=non_negative,
        )
    except InputFileError as err:
        row = None if err.row is None else int(rows[err.row])
        raise InputFileError(path, err.detail, row=row, column=column, sheet=sheet) from None
    out.index = series.index
    return out


def _cell_numbers(
    cells: pd.Series,
    rows: np.ndarray,
    path: Path,
    column: str,
    *,
    sheet: str | None = None,
    non_negative: bool = True,
) -> pd.Series:
    """Spreadsheet cells (numbers already, or text) as floats; text goes through ``_numbers``."""
    is_text = np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=len(cells))
    try:
        out = pd.Series(
            np.where(is_text, np.nan, cells.where(~is_text, np.nan)).astype(float),
            index=cells.index,
        )
    except (TypeError, ValueError):
        return _numbers(cells, rows, path, column, sheet=sheet, non_negative=non_negative)
    if is_text.any():
        out[is_text] = _numbers(
            cells[is_text], rows[is_text], path, column, sheet=sheet, non_negative=non_negative
        )
    if non_negative:
        pos = first_bad_row((out < 0).fillna(False))
        if pos is not None:
            raise InputFileError(
                path,
                f"expected a count of zero or more, found {out.iloc[pos]:g}",
                row=int(rows[pos]),
                column=column,
                sheet=sheet,
            )
    return out


def _check_percent(
    path: Path, values: pd.Series, rows: np.ndarray, column: str, sheet: str | None = None
) -> None:
    bad = ((values < 0) | (values > 100 + 1e-9)).fillna(False)
    pos = first_bad_row(bad)
    if pos is not None:
        raise InputFileError(
            path,
            f"expected a percentage between 0 and 100, found {values.iloc[pos]:g}",
            row=int(rows[pos]),
            column=column,
            sheet=sheet,
        )


def _check_within(
    path: Path,
    num: pd.Series,
    den: pd.Series,
    rows: np.ndarray,
    num_col: str,
    den_col: str,
    sheet: str | None = None,
) -> None:
    bad = (num > den + 1e-6).fillna(False)
    pos = first_bad_row(bad)
    if pos is not None:
        raise InputFileError(
            path,
            "numerator must be less than or equal to denominator: "
            f"{num_col} {num.iloc[pos]:g} is greater than {den_col} {den.iloc[pos]:g}",
            row=int(rows[pos]),
            column=num_col,
            sheet=sheet,
        )


def _check_limits_ordered(
    path: Path, lower: pd.Series, upper: pd.Series, rows: np.ndarray, column: str, what: str
) -> None:
    """Published confidence limits: the lower one may not lie above the upper one."""
    pos = first_bad_row((lower > upper + 1e-9).fillna(False))
    if pos is not None:
        raise InputFileError(
            path,
            f"expected the {what} to be at most the upper one, found {lower.iloc[pos]:g} above "
            f"{upper.iloc[pos]:g}",
            row=int(rows[pos]),
            column=column,
        )


class _Csv(NamedTuple):
    """A CSV table: its header, its cells (``_row`` = the row a spreadsheet shows), the header's
    row and the records above it (title text, where a period may be stated)."""

    header: list[str]
    frame: pd.DataFrame
    header_row: int
    above: list[list[str]]


def _read_csv(path: Path, is_header: Callable[[set[str]], bool] | None = None) -> _Csv:
    """All records of a CSV (a real parser: quoted commas, quotes and newlines in names).

    The header is the first of the first :data:`HEADER_SEARCH_ROWS` records whose normalised
    cells pass ``is_header`` (title rows above it are skipped), else the first record. Ragged
    rows below it fail: they mean truncation.
    """
    text = decode_bytes(read_all_bytes(path))
    if text is None:
        raise InputFileError(path, "not a text (CSV) file")
    if not text.strip():
        raise InputFileError(path, "the file is empty: expected a header row and data rows", row=1)
    lines = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    # a title line above the table has no separators: the first line that has one decides
    first = next((ln for ln in lines if "\t" in ln or "," in ln), lines[0])
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as err:
        raise InputFileError(
            path,
            f"the CSV could not be parsed ({err}); the file looks truncated or damaged",
            row=len(records) + 1,
        ) from None
    while records and not any(c.strip() for c in records[-1]):
        records.pop()
    h = 0
    if is_header is not None:
        h = next(
            (i for i, rec in enumerate(records[:HEADER_SEARCH_ROWS])
             if is_header({norm(c) for c in rec})),
            0,
        )
    if len(records) < h + 2:
        raise InputFileError(path, "the file has a header row but no data rows", row=h + 2)
    header = [c.replace("\ufeff", "") for c in records[h]]
    width = len(header)
    body: list[list[str]] = []
    row_numbers: list[int] = []
    for i, rec in enumerate(records[h + 1 :], start=h + 2):
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != width:
            raise InputFileError(
                path,
                f"expected {width} fields as in the header, found {len(rec)}; "
                "the file looks truncated or a line was split",
                row=i,
            )
        body.append(rec)
        row_numbers.append(i)
    frame = pd.DataFrame(body, columns=_unique(header), dtype=object)
    frame["_row"] = np.asarray(row_numbers, dtype=int)
    return _Csv(header, frame, h + 1, records[:h])


def _unique(names: Sequence[object]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        base = str(name)
        out.append(base if not seen[base] else f"{base}.{seen[base]}")
        seen[base] += 1
    return out


def _columns_by(header: Sequence[str], key: Callable[[object], str]) -> dict[str, str]:
    """Map header key -> frame column name (the frame's columns are ``_unique(header)``)."""
    out: dict[str, str] = {}
    for original, name in zip(header, _unique(header), strict=True):
        out.setdefault(key(original), name)
    return out


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("string").str.strip().fillna("") == "")


def _text(series: pd.Series) -> pd.Series:
    """Trimmed text with blanks (and NaN) as None."""

    def one(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        return str(v).strip() or None

    return series.map(one).astype(object)


def _code_text(series: pd.Series) -> pd.Series:
    """Codes as text: spreadsheet numbers 509.0 -> '509'; markers and blanks -> missing."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return np.nan
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        s = str(v).strip()
        if not s or re.fullmatch(_MARKER_PATTERN, s, flags=re.I):
            return np.nan
        return s

    return series.map(one).astype(object)


def _finish(
    path: Path,
    frame: pd.DataFrame,
    *,
    source: SourceInfo,
    notes: list[str],
    meta: dict[str, Any],
    extras: Sequence[str] = (),
    sheet: str | None = None,
) -> ReadResult:
    """Order the columns, validate against the Indicators schema, and wrap as a ReadResult.

    ``frame['_row']`` carries the source row of each output row, so schema failures name it.
    """
    frame = frame.copy()
    notes = list(dict.fromkeys(notes))  # the same remark from several sheets, once
    for col in (*CANONICAL, *COMMON_EXTRAS, *extras):
        if col not in frame:
            frame[col] = np.nan
    frame["numerator_estimated"] = frame["numerator_estimated"].fillna(False).astype(bool)
    for col in ("area_name", "value_note", "parent_code", "parent_name"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    frame.index = pd.Index(frame["_row"].astype(int) - 2)
    frame = frame[[*CANONICAL, *COMMON_EXTRAS, *extras]]
    try:
        out = validate_table("indicators", frame, source=path)
    except InputFileError as err:
        if sheet is None:
            raise
        raise InputFileError(
            path, err.detail, row=err.row, column=err.column, sheet=sheet
        ) from None
    out = out.reset_index(drop=True)
    meta = {
        **meta,
        "rows": len(out),
        "indicators": sorted(out["indicator"].unique()),
        "periods": sorted(out["period"].unique()),
        "area_types": {k: int(v) for k, v in out["area_type"].value_counts().items()},
    }
    return ReadResult(kind="indicators", frame=out, source=source, notes=notes, meta=meta)


def _dedupe(frame: pd.DataFrame, notes: list[str], why: str = "") -> pd.DataFrame:
    dup = frame.duplicated(KEY, keep="first")
    if dup.any():
        ex = frame.loc[dup, ["area_code", "period"]].head(3)
        examples = ", ".join(f"{c} {p}" for c, p in ex.itertuples(index=False))
        notes.append(
            f"{int(dup.sum())} duplicate rows (same indicator, area and period{why}) dropped, "
            f"keeping the first in file order; e.g. {examples}"
        )
    return frame.loc[~dup]


def _marker_note(counter: Counter[str], what: str) -> str:
    shown = ", ".join(f"{k!r} x{v}" for k, v in counter.most_common(6))
    return f"{sum(counter.values())} {what} not published (suppressed or excluded: {shown}) -> NaN"


def _ftid_to_key() -> dict[int, str]:
    return {ind.fingertips_id: key for key, ind in catalogue().items() if ind.fingertips_id}


def _catalogue_keys(ids: pd.Series, path: Path, column: str) -> pd.Series:
    """Fingertips indicator IDs -> catalogue keys (None where not in the catalogue).

    A file none of whose IDs is in the catalogue is refused: it is not an error in one row but
    the wrong export, so the message lists both sets of IDs.
    """
    lookup = _ftid_to_key()
    keys = ids.map(lambda v: lookup.get(int(v)) if pd.notna(v) else None)
    if keys.isna().all():
        found = sorted({int(v) for v in ids.dropna().unique()})
        raise InputFileError(
            path,
            f"none of the indicator IDs in the file ({', '.join(map(str, found[:10]))}) is in the "
            f"hiexplore catalogue; catalogue Fingertips IDs: {', '.join(map(str, sorted(lookup)))}",
            column=column,
        )
    return keys


def _keep_eligible_sex(
    frame: pd.DataFrame, sex: pd.Series, notes: list[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Where an export holds several sexes for an indicator, keep the catalogue's eligible one."""
    sex_norm = sex.astype("string").str.strip().str.lower().fillna("")
    keep = pd.Series(True, index=frame.index)
    for key, idx in frame.groupby("indicator").groups.items():
        present = set(sex_norm.loc[idx]) - {""}
        if len(present) <= 1:
            continue
        wanted = catalogue()[key].eligible_sex
        drop = sex_norm.loc[idx].ne(wanted) & sex_norm.loc[idx].ne("")
        keep.loc[drop[drop].index] = False
        notes.append(
            f"{key}: {int(drop.sum())} rows for other sexes ({sorted(present - {wanted})}) dropped; "
            f"kept {wanted!r}, the catalogue's eligible population"
        )
    return frame.loc[keep], sex.loc[keep]


# --------------------------------------------------------------------------------------------
# 1. Fingertips "all data" CSV export
# --------------------------------------------------------------------------------------------

FT_REQUIRED = (
    "Indicator ID",
    "Area Code",
    "Area Type",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Count",
    "Denominator",
)
_FT_SNIFF = {"indicator id", "area code", "area type", "time period", "value"}
_OLD_CODE_PREFIX = re.compile(r"^n([EWSN]\d{8})$")


def _fingertips_area_types(label: str) -> tuple[str, ...]:
    """Fingertips "Area Type" label -> canonical area type(s); () for geographies not modelled.

    A unitary authority ("UA") is both an upper-tier and a lower-tier authority, so it is
    returned as both, as Fingertips' own "Counties & UAs" / "Districts & UAs" exports do.
    """
    s = norm(label)
    if s in {"gps", "gp", "gp practices", "general practice", "general practices"}:
        return ("practice",)
    if s.startswith(("pcn", "primary care network")):
        return ("pcn",)
    if s.startswith(("sub-icb", "sub icb", "icb sub-location", "icb sub location")):
        return ("sub_icb",)
    if s.startswith(("icb", "integrated care board")):
        return ("icb",)
    if s == "england":
        return ("england",)
    if s.startswith(("region", "nhs region")):
        return ("region",)
    if s.startswith(("counties & uas", "county & ua", "upper tier")) or s == "county":
        return ("utla",)
    if s.startswith(("districts & uas", "district & ua", "lower tier")) or s == "district":
        return ("lad",)
    if s in {"ua", "uas", "unitary authority", "unitary authorities"}:
        return ("utla", "lad")
    return ()


def _header_row_of(
    path: Path, wanted: set[str], n: int = 20, key: Callable[[object], str] = norm
) -> int | None:
    rows = csv_rows(path, nrows=n) or []
    for i, row in enumerate(rows, start=1):
        if wanted <= {key(c) for c in row}:
            return i
    return None


def _fill_ids_from_names(ids: pd.Series, names: pd.Series, notes: list[str]) -> pd.Series:
    """Blank Indicator IDs: take the ID other rows with the same Indicator Name carry.

    Some exports (rows appended for a newer period) leave the ID blank but keep the name; the
    catalogue's own names are the fallback.
    """
    blank = ids.isna()
    if not blank.any():
        return ids
    key = names.astype("string").map(lambda v: norm(v) if isinstance(v, str) else "")
    by_name = {k: v for k, v in zip(key[~blank], ids[~blank], strict=True) if k}
    for ind in catalogue().values():
        if ind.fingertips_id:
            by_name.setdefault(norm(ind.name), float(ind.fingertips_id))
    filled = ids.copy()
    mapped = key[blank].map(by_name)
    filled[blank] = mapped.to_numpy(dtype="float64", na_value=np.nan)
    n = int((blank & filled.notna()).sum())
    if n:
        notes.append(f"{n} rows had a blank Indicator ID; it was taken from their Indicator Name")
    return filled


def _sniff_fingertips(path: Path) -> bool:
    """A Fingertips export: its header (on row 1, or moved a few rows down) names these columns."""
    try:
        return _header_row_of(Path(path), _FT_SNIFF, n=10) is not None
    except Exception:  # noqa: BLE001 - a sniffer never raises
        return False


def read_fingertips_csv(path: str | Path) -> list[ReadResult]:
    """Read an OHID Fingertips "all data" CSV export (27 columns) into the indicators table.

    Indicator IDs map to catalogue keys through ``fingertips_id``; category rows (deprivation
    deciles etc.) and superseded geographies (CCG, STP, PHE centre...) are dropped with notes.
    The published 95% limits go to ``lower_ci``/``upper_ci`` and the 99.8% limits to
    ``lower_ci_998``/``upper_ci_998``: Fingertips' own intervals, kept rather than recomputed.
    Rows whose value is suppressed keep their place with a NaN value and the published note.
    Title rows above the header (re-saved exports) are skipped, with a note; rows in errors are
    the file's own.
    """
    path = Path(path)
    header, raw, header_row, _ = _read_csv(path, lambda cells: _FT_SNIFF <= cells)
    require_columns(path, header, FT_REQUIRED, row=header_row)
    col = _columns_by(header, norm)
    notes: list[str] = []
    if header_row > 1:
        notes.append(f"header found on row {header_row} (the {header_row - 1} row(s) above it skipped)")
    rows = raw["_row"].to_numpy()

    def c(name: str) -> pd.Series:
        return raw[col[norm(name)]] if norm(name) in col else pd.Series(np.nan, index=raw.index)

    # indicators: ids -> catalogue keys
    ids = _numbers(c("Indicator ID"), rows, path, "Indicator ID")
    ids = _fill_ids_from_names(ids, c("Indicator Name"), notes)
    keys = _catalogue_keys(ids, path, "Indicator ID")
    unknown = keys.isna()
    if unknown.any():
        names = c("Indicator Name")[unknown].astype("string").unique()[:5]
        notes.append(
            f"{int(unknown.sum())} rows of indicators not in the catalogue dropped "
            f"(IDs {sorted({int(v) for v in ids[unknown].dropna()})[:10]}: {list(names)})"
        )
    # category rows (e.g. deprivation deciles) are not areas
    category = ~_blank(c("Category Type"))
    if (category & ~unknown).any():
        kinds = c("Category Type")[category & ~unknown].astype("string").value_counts()
        notes.append(
            f"{int((category & ~unknown).sum())} category rows dropped (not areas): "
            + "; ".join(f"{k} x{v}" for k, v in kinds.head(6).items())
        )
    keep = ~unknown & ~category
    # area types
    labels = c("Area Type").astype("string").fillna("")
    types = labels.map(_fingertips_area_types)
    unmodelled = keep & types.map(len).eq(0)
    if unmodelled.any():
        counts = labels[unmodelled].value_counts()
        notes.append(
            f"{int(unmodelled.sum())} rows for area types with no canonical area type dropped: "
            + "; ".join(f"{k} x{v}" for k, v in counts.items())
        )
    keep &= ~unmodelled
    sub = raw.loc[keep]
    srows = rows[keep.to_numpy()]

    def s(name: str) -> pd.Series:
        return c(name).loc[keep]

    for name in ("Area Code", "Time period"):
        pos = first_bad_row(_blank(s(name)).reset_index(drop=True))
        if pos is not None:
            raise InputFileError(
                path, "expected a value, found a blank cell", row=int(srows[pos]), column=name
            )
    check_period_labels(s("Time period"), srows, path, "Time period", FINGERTIPS_PERIOD_FORMS)
    value = _numbers(s("Value"), srows, path, "Value", non_negative=False)
    lo = _numbers(s("Lower CI 95.0 limit"), srows, path, "Lower CI 95.0 limit", non_negative=False)
    hi = _numbers(s("Upper CI 95.0 limit"), srows, path, "Upper CI 95.0 limit", non_negative=False)
    lo998 = _numbers(
        s("Lower CI 99.8 limit"), srows, path, "Lower CI 99.8 limit", non_negative=False
    )
    hi998 = _numbers(
        s("Upper CI 99.8 limit"), srows, path, "Upper CI 99.8 limit", non_negative=False
    )
    count = _numbers(s("Count"), srows, path, "Count")
    den = _numbers(s("Denominator"), srows, path, "Denominator")
    _check_within(path, count, den, srows, "Count", "Denominator")
    for low, high, level in ((lo, hi, "95.0"), (lo998, hi998, "99.8")):
        _check_limits_ordered(path, low, high, srows, f"Lower CI {level} limit", f"lower {level}% limit")
    pct = keys.loc[keep].map(lambda k: catalogue()[k].unit == "%").astype(bool)
    _check_percent(path, value.where(pct), srows, "Value")

    codes = s("Area Code").astype("string").str.strip()
    pos = first_bad_row(~codes.str.fullmatch(r"[A-Za-z0-9_]{3,12}").fillna(False).reset_index(drop=True))
    if pos is not None:
        raise InputFileError(
            path, f"expected an area code such as E92000001 or C82001, found {codes.iloc[pos]!r}",
            row=int(srows[pos]), column="Area Code",
        )
    renamed = codes.str.fullmatch(_OLD_CODE_PREFIX.pattern).fillna(False)
    if renamed.any():
        notes.append(
            f"{int(renamed.sum())} area codes carried Fingertips' 'n' prefix for new ICB/sub-ICB "
            "areas (e.g. nE38000006); the prefix was removed to give the ONS code"
        )
    codes = codes.str.replace(_OLD_CODE_PREFIX.pattern, r"\1", regex=True)
    parents = (
        s("Parent Code")
        .astype("string")
        .str.strip()
        .str.replace(_OLD_CODE_PREFIX.pattern, r"\1", regex=True)
    )
    note_text = _text(s("Value note"))
    no_value = value.isna()
    if no_value.any():
        why = note_text[no_value].fillna("(no note)").value_counts()
        notes.append(
            f"{int(no_value.sum())} rows have no published value and are kept with value NaN: "
            + "; ".join(f"{k!r} x{v}" for k, v in why.items())
        )
    frame = pd.DataFrame(
        {
            "indicator": keys.loc[keep],
            "area_types": types.loc[keep],
            "area_code": codes,
            "area_name": _text(s("Area Name")),
            "period": s("Time period").astype("string").str.strip(),
            "numerator": count,
            "denominator": den,
            "value": value,
            "lower_ci": lo,
            "upper_ci": hi,
            "lower_ci_998": lo998,
            "upper_ci_998": hi998,
            "value_note": note_text,
            "numerator_estimated": False,
            "parent_code": _text(parents),
            "parent_name": _text(s("Parent Name")),
            "_row": sub["_row"],
        }
    )
    frame, _ = _keep_eligible_sex(frame, s("Sex").loc[frame.index], notes)
    both = frame["area_types"].map(len).gt(1)
    if both.any():
        notes.append(
            f"{int(both.sum())} unitary-authority rows (Area Type 'UA') are both upper- and "
            "lower-tier authorities: each is kept once as utla and once as lad"
        )
    frame = frame.explode("area_types").rename(columns={"area_types": "area_type"})
    frame = _dedupe(
        frame, notes, why="; Fingertips repeats some areas, such as for Age 'Not applicable'"
    )
    names = sorted(c("Indicator Name")[keep].astype("string").dropna().unique())
    periods = sorted(frame["period"].unique())
    title = "Fingertips data export: " + "; ".join(names[:3])
    src = source_info(
        path,
        title,
        f"{OHID}, Fingertips",
        periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}",
    )
    frame["source"] = f"OHID Fingertips export ({path.name})"
    return [
        _finish(
            path,
            frame,
            source=src,
            notes=notes,
            meta={"format": "fingertips_csv"},
            extras=("lower_ci_998", "upper_ci_998"),
        )
    ]


# --------------------------------------------------------------------------------------------
# 2. FingertipsNext health-data CSV
# --------------------------------------------------------------------------------------------

FTN_REQUIRED = (
    "IndicatorId",
    "AreaCode",
    "Year",
    "Value",
    "Count",
    "Denominator",
    "LowerCI",
    "UpperCI",
)
_FTN_SNIFF = {"indicatorid", "areacode", "year", "value"}
_FTN_SNIFF_ANY = {"lowerci", "upperci", "count", "denominator", "ageid", "sexid", "categorytypeid"}

_CODE_TYPES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^E92\d{6}$"), ("england",)),
    (re.compile(r"^E54\d{6}$"), ("icb",)),
    (re.compile(r"^E38\d{6}$"), ("sub_icb",)),
    (re.compile(r"^E(40|12)\d{6}$"), ("region",)),
    (re.compile(r"^E10\d{6}$"), ("utla",)),
    (re.compile(r"^E07\d{6}$"), ("lad",)),
    (re.compile(r"^E0[689]\d{6}$"), ("utla", "lad")),
    (re.compile(r"^U\d{5}$"), ("pcn",)),
    (re.compile(r"^[A-Z]\d{5}$"), ("practice",)),
)


def _area_types_from_code(code: object) -> tuple[str, ...]:
    text = str(code).strip()
    for pattern, types in _CODE_TYPES:
        if pattern.match(text):
            return types
    return ()


def _is_ftn_header(cells: set[str]) -> bool:
    return _FTN_SNIFF <= cells and bool(cells & _FTN_SNIFF_ANY)


def _sniff_fingertipsnext(path: Path) -> bool:
    """FingertipsNext healthdata: IndicatorId/AreaCode/Year/Value plus its CI or id columns
    (on row 1, or below a few title rows)."""
    try:
        rows = csv_rows(Path(path), nrows=10) or []
        return any(_is_ftn_header({norm(c) for c in row}) for row in rows)
    except Exception:  # noqa: BLE001
        return False


def read_fingertipsnext_csv(path: str | Path) -> list[ReadResult]:
    """Read a FingertipsNext ``healthdata.csv`` layout (one row per indicator, area and year).

    The file has no area-type column, so the type comes from the code (E92 England, E54 ICB,
    E38 sub-ICB, E40/E12 region, U+5 digits PCN, letter+5 digits practice). Sub-ICB codes can
    appear twice a year (two boundary vintages): the first is kept and the rest counted.
    Title rows above the header are skipped, with a note.
    """
    path = Path(path)
    header, raw, header_row, _ = _read_csv(path, _is_ftn_header)
    require_columns(path, header, FTN_REQUIRED, row=header_row)
    col = _columns_by(header, norm)
    rows = raw["_row"].to_numpy()
    notes: list[str] = []
    if header_row > 1:
        notes.append(f"header found on row {header_row} (the {header_row - 1} row(s) above it skipped)")

    def c(name: str) -> pd.Series:
        return raw[col[norm(name)]] if norm(name) in col else pd.Series(np.nan, index=raw.index)

    ids = _numbers(c("IndicatorId"), rows, path, "IndicatorId")
    keys = _catalogue_keys(ids, path, "IndicatorId")
    unknown = keys.isna()
    if unknown.any():
        notes.append(
            f"{int(unknown.sum())} rows of indicators not in the catalogue dropped "
            f"(IDs {sorted({int(v) for v in ids[unknown].dropna()})[:10]})"
        )
    category = ~_blank(c("CategoryType")) | ~_blank(c("Category"))
    if (category & ~unknown).any():
        notes.append(f"{int((category & ~unknown).sum())} category rows dropped (not areas)")
    keep = ~unknown & ~category
    codes = c("AreaCode").astype("string").str.strip()
    types = codes.map(_area_types_from_code)
    unmodelled = keep & types.map(len).eq(0)
    if unmodelled.any():
        notes.append(
            f"{int(unmodelled.sum())} rows with area codes of no known type dropped "
            f"(e.g. {list(codes[unmodelled].unique()[:5])})"
        )
    keep &= ~unmodelled
    srows = rows[keep.to_numpy()]

    def s(name: str) -> pd.Series:
        return c(name).loc[keep]

    value = _numbers(s("Value"), srows, path, "Value", non_negative=False)
    lo = _numbers(s("LowerCI"), srows, path, "LowerCI", non_negative=False)
    hi = _numbers(s("UpperCI"), srows, path, "UpperCI", non_negative=False)
    count = _numbers(s("Count"), srows, path, "Count")
    den = _numbers(s("Denominator"), srows, path, "Denominator")
    _check_within(path, count, den, srows, "Count", "Denominator")
    _check_limits_ordered(path, lo, hi, srows, "LowerCI", "lower limit")
    pct = keys.loc[keep].map(lambda k: catalogue()[k].unit == "%").astype(bool)
    _check_percent(path, value.where(pct), srows, "Value")
    year = s("Year").astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    if (year.fillna("") == "").any():
        pos = first_bad_row((year.fillna("") == "").reset_index(drop=True))
        raise InputFileError(
            path, "expected a year, found a blank cell", row=int(srows[pos]), column="Year"
        )
    check_period_labels(year, srows, path, "Year", FINGERTIPSNEXT_PERIOD_FORMS)
    frame = pd.DataFrame(
        {
            "indicator": keys.loc[keep],
            "area_types": types.loc[keep],
            "area_code": codes.loc[keep],
            "area_name": np.nan,
            "period": year,
            "numerator": count,
            "denominator": den,
            "value": value,
            "lower_ci": lo,
            "upper_ci": hi,
            "numerator_estimated": False,
            "_row": raw.loc[keep, "_row"],
        }
    )
    frame, _ = _keep_eligible_sex(frame, s("Sex").loc[frame.index], notes)
    frame = frame.explode("area_types").rename(columns={"area_types": "area_type"})
    frame = _dedupe(
        frame, notes, why=": FingertipsNext repeats some sub-ICB (E38) codes within a year"
    )
    periods = sorted(frame["period"].unique())
    names = [catalogue()[k].name for k in sorted(frame["indicator"].unique())]
    src = source_info(
        path,
        "FingertipsNext health data export: " + "; ".join(names[:3]),
        OHID,
        periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}",
    )
    frame["source"] = f"OHID FingertipsNext export ({path.name})"
    return [_finish(path, frame, source=src, notes=notes, meta={"format": "fingertipsnext_csv"})]


# --------------------------------------------------------------------------------------------
# 3. PHE cervical screening coverage by GP practice (workbook, or its R CSV copy)
# --------------------------------------------------------------------------------------------


def _header_key(text: object) -> str:
    """Header key equal for a workbook's names and R's ``make.names`` copies of them.

    "3.5 year coverage (%)" and "X3.5.year.coverage.." -> "35yearcoverage";
    "No. of women screened in previous 42 months" and its dotted copy -> the same key.
    """
    s = norm(text)
    if re.match(r"^x\d", s):  # R prefixes names starting with a digit with "X"
        s = s[1:]
    return re.sub(r"[^a-z0-9]", "", s)


_CERV_CODE_KEYS = ("organisationcode", "practicecode", "gppracticecode", "orgcode")
_CERV_GROUPS = (
    # key, eligible, screened, coverage: header keys, and the names shown in messages
    (
        "cervical_screening_25_49",
        "eligible25to49",
        "noofwomenscreenedinprevious42months",
        "35yearcoverage",
        (
            "Eligible 25 to 49",
            "No. of women screened in previous 42 months",
            "3.5 year coverage (%)",
        ),
    ),
    (
        "cervical_screening_50_64",
        "eligible50to64",
        "noofwomenscreenedinprevious66months",
        "55yearcoverage",
        (
            "Eligible 50 to 64",
            "No. of women screened in previous 66 months",
            "5.5 year coverage (%)",
        ),
    ),
)
# PHE's coverage codes for suppressed practices (the counts show the reason as text)
_CERV_CODES = {-2.0: "<under 6>", -1.75: "<Suppressed>", -1.5: "numerator <under 6>"}


def _is_cervical_header(keys: set[str]) -> bool:
    return bool(keys & set(_CERV_CODE_KEYS)) and any({g[1], g[3]} <= keys for g in _CERV_GROUPS)


def _sniff_cervical(path: Path) -> bool:
    """PHE cervical-by-practice table: Organisation Code + Eligible 25 to 49 + 3.5 year coverage."""
    try:
        path = Path(path)
        heads = _workbook_heads(path)
        if heads is not None:
            return any(
                _is_cervical_header({_header_key(c) for c in row})
                for rows in heads.values()
                for row in rows
            )
        rows = csv_rows(path, nrows=HEADER_SEARCH_ROWS) or []
        return any(_is_cervical_header({_header_key(c) for c in row}) for row in rows)
    except Exception:  # noqa: BLE001
        return False


def _cervical_table(
    path: Path,
) -> tuple[list[str], pd.DataFrame, str | None, list[object], int]:
    """(header, cells with _row, sheet name or None, title cells above the header, header row)."""
    if not is_spreadsheet(path):
        header, frame, header_row, above = _read_csv(
            path, lambda cells: _is_cervical_header({_header_key(c) for c in cells})
        )
        return header, frame, None, [c for rec in above for c in rec], header_row
    wb = _open_workbook(path)
    for name in wb.sheet_names:
        rows = _sheet_rows(wb, name)
        for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            if _is_cervical_header({_header_key(c) for c in row}):
                frame = _table_frame(rows, i)
                titles = [c for r in rows[:i] for c in r]
                return [str(c) for c in rows[i]], frame, name, titles, i + 1
    raise InputFileError(
        path,
        "no sheet holds the cervical screening table: expected a header row with "
        "'Organisation Code', 'Eligible 25 to 49' and '3.5 year coverage (%)' in the first "
        f"{HEADER_SEARCH_ROWS} rows; sheets: {', '.join(wb.sheet_names)}",
    )


def _cervical_period(
    path: Path, texts: list[object], sheet: str | None, notes: list[str]
) -> tuple[str, str]:
    for where, candidates in (
        ("the file's title/header text", texts),
        (f"the sheet name {sheet!r}", [sheet] if sheet else []),
        (f"the file name {path.name!r}", [path.stem]),
    ):
        found = _month_year(candidates)
        if found:
            month, year, words = found
            abbr = calendar.month_abbr[month]
            notes.append(
                f"the period ({words!r}) was taken from {where}; the table has no date column "
                "(pass period= to override)"
            )
            label = f"{financial_quarter(month, year)} ({abbr} {year})"
            if month in (3, 6, 9, 12):
                last = calendar.monthrange(year, month)[1]
                return label, f"quarter ending {last} {abbr} {year}"
            return label, f"{calendar.month_name[month]} {year}"
    raise InputFileError(
        path,
        "the cervical screening table states no period (no month and year in its title, sheet "
        "name or file name); pass period=, e.g. period='2017/18 Q3 (Dec 2017)'",
    )


def read_cervical_practice_csv(path: str | Path, period: str | None = None) -> list[ReadResult]:
    """Read PHE's "Cervical screening coverage by GP practice" table (workbook or R CSV copy).

    Both header spellings match ("Eligible 25 to 49" / "Eligible25to49", "3.5 year coverage (%)"
    / "X3.5.year.coverage.."). Gives cervical_screening_25_49 (3.5-year) and _50_64 (5.5-year) at
    practice level only; aggregates are computed downstream, not taken from here. Suppressed
    practices (coverage codes -2 "<under 6>", -1.75 "<Suppressed>", -1.5 numerator only) keep
    their row with NaN value. The table has no date column: the period comes from ``period=``,
    else a month and year in the title rows, the sheet name ("Dec2017") or the file name.
    """
    path = Path(path)
    header, raw, sheet, titles, header_row = _cervical_table(path)
    keys = _columns_by(header, _header_key)
    notes: list[str] = []
    code_key = next((k for k in _CERV_CODE_KEYS if k in keys), None)
    if code_key is None:
        require_columns(path, header, ["Organisation Code"], row=header_row, sheet=sheet)
    groups = [g for g in _CERV_GROUPS if g[1] in keys or g[3] in keys]
    if not groups:
        require_columns(path, header, _CERV_GROUPS[0][4], row=header_row, sheet=sheet)
    for g in groups:
        missing = [shown for k, shown in zip(g[1:4], g[4], strict=True) if k not in keys]
        if missing:
            require_columns(path, header, missing, row=header_row, sheet=sheet)
    if header_row > 1 and sheet is None:
        notes.append(f"header found on row {header_row} (the {header_row - 1} row(s) above it skipped)")
    if period is None:
        period_label, source_period = _cervical_period(path, [*header, *titles], sheet, notes)
    else:
        period_label, source_period = period, period
    rows = raw["_row"].to_numpy()
    codes = raw[keys[code_key]].astype("string").str.strip()
    is_practice = codes.str.fullmatch(PRACTICE_PATTERN).fillna(False)
    if (~is_practice).any():
        notes.append(
            f"{int((~is_practice).sum())} rows without a practice code dropped "
            f"(e.g. {list(codes[~is_practice].fillna('').unique()[:3])})"
        )
    raw = raw.loc[is_practice]
    rows = rows[is_practice.to_numpy()]
    name = raw[keys["organisation"]] if "organisation" in keys else pd.Series(np.nan, raw.index)
    ccg = raw[keys["ccg"]] if "ccg" in keys else pd.Series(np.nan, raw.index)
    parts = []
    for key, k_den, k_num, k_val, _shown in groups:
        den_raw, num_raw, val_raw = raw[keys[k_den]], raw[keys[k_num]], raw[keys[k_val]]
        marks = Counter(
            str(v).strip()
            for v in pd.concat([den_raw[_markers(den_raw)], num_raw[_markers(num_raw)]])
        )
        den = _numbers(
            den_raw.where(~_markers(den_raw)), rows, path, keys[k_den], sheet=sheet, allow=("NA",)
        )
        num = _numbers(
            num_raw.where(~_markers(num_raw)), rows, path, keys[k_num], sheet=sheet, allow=("NA",)
        )
        val = _numbers(
            val_raw, rows, path, keys[k_val], sheet=sheet, non_negative=False, allow=("NA",)
        )
        coded = val < 0
        note = pd.Series(np.nan, index=raw.index, dtype=object)
        for code, label in _CERV_CODES.items():
            note[np.isclose(val.fillna(0), code)] = f"suppressed: {label} (coverage code {code:g})"
        note[coded & note.isna()] = "suppressed (negative coverage code)"
        val = val.mask(coded)
        num = num.mask(coded)
        # a fraction (0.75) rather than a percent (75)? compare with the counts
        implied = 100 * num / den.where(den > 0)
        ok = implied.notna() & val.notna()
        if ok.sum() >= 5:
            as_pct = (val[ok] - implied[ok]).abs().median()
            as_frac = (100 * val[ok] - implied[ok]).abs().median()
            if as_frac < as_pct:
                val = val * 100
                notes.append(f"{key}: coverage was published as a fraction; multiplied by 100")
        _check_within(path, num, den, rows, keys[k_num], keys[k_den], sheet=sheet)
        _check_percent(path, val, rows, keys[k_val], sheet=sheet)
        if coded.any():
            counts = note[coded].value_counts()
            notes.append(
                f"{key}: {int(coded.sum())} practices suppressed, kept with value NaN ("
                + "; ".join(f"{k.removeprefix('suppressed: ')} x{v}" for k, v in counts.items())
                + ")"
                + (f"; count cells {dict(marks.most_common(3))}" if marks else "")
            )
        parts.append(
            pd.DataFrame(
                {
                    "indicator": key,
                    "area_type": "practice",
                    "area_code": codes.loc[raw.index],
                    "area_name": _text(name),
                    "period": period_label,
                    "numerator": num,
                    "denominator": den,
                    "value": val,
                    "value_note": note,
                    "numerator_estimated": False,
                    "parent_name": _text(ccg),
                    "_row": raw["_row"],
                }
            )
        )
    frame = _dedupe(pd.concat(parts), notes)
    src = source_info(path, "Cervical screening coverage by GP practice", PHE, source_period)
    frame["source"] = f"PHE cervical screening coverage by GP practice ({path.name})"
    return [
        _finish(
            path,
            frame,
            source=src,
            notes=notes,
            sheet=sheet,
            meta={"format": "phe_cervical_practice", "sheet": sheet},
        )
    ]


# --------------------------------------------------------------------------------------------
# spreadsheets (COVER ODS, PHE workbook): opening, header search, frames
# --------------------------------------------------------------------------------------------


def _open_workbook(path: Path) -> Any:
    """A calamine workbook, detected by content (a renamed file still opens)."""
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    except Exception as err:  # noqa: BLE001 - calamine raises its own error types
        raise InputFileError(path, f"not a readable spreadsheet ({err})") from None


def _sheet_rows(wb: Any, name: str, nrows: int | None = None) -> list[list[Any]]:
    sheet = wb.get_sheet_by_name(name)
    rows = sheet.to_python(nrows=nrows) if nrows else sheet.to_python()
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [""] * (width - len(r)) for r in rows]


@lru_cache(maxsize=8)
def _heads_cached(path: str, mtime_ns: int, size: int, nrows: int) -> dict[str, list[list[Any]]]:
    wb = _open_workbook(Path(path))
    return {name: _sheet_rows(wb, name, nrows) for name in wb.sheet_names}


def _workbook_heads(
    path: Path, nrows: int = HEADER_SEARCH_ROWS
) -> dict[str, list[list[Any]]] | None:
    """The first rows of every sheet (cached: three sniffers look at the same workbook)."""
    if not is_spreadsheet(path):
        return None
    try:
        st = path.stat()
        return _heads_cached(str(path.resolve()), st.st_mtime_ns, st.st_size, nrows)
    except Exception:  # noqa: BLE001
        return None


def _table_frame(rows: list[list[Any]], header_index: int) -> pd.DataFrame:
    """Cells below the header as an object frame named by the header; ``_row`` is 1-based."""
    header = _unique([str(c).strip() for c in rows[header_index]])
    body = rows[header_index + 1 :]
    frame = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=object)
    frame["_row"] = np.arange(header_index + 2, header_index + 2 + len(body), dtype=int)
    return frame


def _sheet_table(
    rows: list[list[Any]], header_index: int
) -> tuple[list[str], pd.DataFrame, dict[str, str]]:
    """A sheet's table below its header row: the header as published, the cells (with
    ``_row``), and the frame column for each normalised header name (the first if repeated)."""
    header = [str(c).strip() for c in rows[header_index]]
    table = _table_frame(rows, header_index)
    return header, table, _columns_by(table.columns[:-1].tolist(), norm)


def _first_sheet_texts(wb: Any) -> list[object]:
    if not wb.sheet_names:
        return []
    return [c for r in _sheet_rows(wb, wb.sheet_names[0], 40) for c in r if isinstance(c, str)]


def _quarter_of_workbook(path: Path, wb: Any) -> tuple[str, str]:
    """The quarter from the cover sheet's title text, else from any table title."""
    found = period_from_text(_first_sheet_texts(wb))
    if found is None:
        titles = [c for n in wb.sheet_names for r in _sheet_rows(wb, n, 3) for c in r]
        found = period_from_text(titles)
    if found is None:
        raise InputFileError(
            path,
            "could not find the reporting quarter: expected title text such as 'April to June "
            "2023' or 'quarter 1 2023 to 2024' on the cover sheet",
            sheet=wb.sheet_names[0] if wb.sheet_names else None,
        )
    return found


# --------------------------------------------------------------------------------------------
# COVER column names -> catalogue keys
# --------------------------------------------------------------------------------------------

_ANTIGENS: tuple[tuple[str, dict[str, str]], ...] = (
    # (prefix of the squashed measure name, {cohort: catalogue key}); order matters
    (
        "dtapipvhib",
        {"12m": "dtap_ipv_hib_hepb_12m", "24m": "dtap_ipv_hib_hepb_24m", "5y": "dtap_ipv_hib_5y"},
    ),
    ("dtapipv", {"5y": "dtap_ipv_booster_5y"}),
    ("mmr1", {"24m": "mmr1_24m", "5y": "mmr1_5y"}),
    ("mmr2", {"5y": "mmr2_5y"}),
    ("hibmenc", {"24m": "hib_menc_24m", "5y": "hib_menc_5y"}),
    ("pcvboo", {"24m": "pcv_booster_24m"}),
    ("pcv1", {"12m": "pcv1_12m"}),
    ("menbboo", {"24m": "menb_booster_24m"}),
    ("menb", {"12m": "menb_12m"}),
    ("rota", {"12m": "rota_12m"}),
)


def _cover_column(header: object) -> tuple[str, str, str | None] | None:
    """Classify a COVER column: ("denominator", cohort, None) or ("value", cohort, key or None).

    Handles every spelling seen 2019-2025: "12m DTaP/IPV/Hib %", "12mDTaPIPVHibHepB%",
    "12 month PCV1%", "Coverage at 24 months MMR1 (%)", "Number of children who reached
    5 years in reporting quarter". ``key`` is None for measures not in the catalogue (BCG, HepB,
    and PCV2: two PCV doses by 12 months before the 2020 schedule change, not PCV1).
    """
    s = re.sub(r"\[note\s*\d+\]", "", norm(header)).strip()
    m = re.match(r"number of (?:eligible )?children who reached (\d+) (month|year)s?", s)
    if m:
        return ("denominator", f"{m.group(1)}{m.group(2)[0]}", None)
    s = re.sub(r"^coverage at\s+", "", s)
    m = re.match(r"^(\d{1,2})\s*(months?|years?)(?![a-z])", s) or re.match(
        r"^(\d{1,2})\s*([my])", s
    )
    if not m:
        return None
    cohort = f"{m.group(1)}{m.group(2)[0]}"
    rest = re.sub(r"[^a-z0-9]", "", s[m.end() :])
    if rest in {"denominator", "denom"}:
        return ("denominator", cohort, None)
    if rest.endswith(("num", "denom")):
        return None
    if not rest:
        return None
    rest = rest.replace("booster", "boo")
    for prefix, by_cohort in _ANTIGENS:
        if rest.startswith(prefix):
            key = by_cohort.get(cohort)
            return ("value", cohort, key if key in catalogue() else None)
    return ("value", cohort, None)


def _cover_long(
    path: Path,
    table: pd.DataFrame,
    header: Sequence[str],
    *,
    sheet: str,
    base: pd.DataFrame,
    notes: list[str],
    marks: Counter[str],
    skipped: Counter[str],
) -> list[pd.DataFrame]:
    """Wide COVER table (one denominator per cohort, one % column per vaccine) -> long rows.

    ``base`` holds area_type/area_code/... for each kept row of ``table`` (same index).
    Numerator = round(denominator * value / 100): COVER publishes no numerators here.
    """
    kinds = {h: _cover_column(h) for h in _unique(header)}
    dens = {k[1]: h for h, k in kinds.items() if k and k[0] == "denominator"}
    rows = table["_row"].to_numpy()
    keys: list[str] = []
    nums: list[np.ndarray] = []
    den_out: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    vnotes: list[list[object]] = []
    den_values: dict[str, pd.Series] = {}
    for cohort, h in dens.items():
        cells = table[h]
        mk = _markers(cells)
        marks.update(str(v).strip() for v in cells[mk])
        den_values[cohort] = _cell_numbers(cells.where(~mk), rows, path, h, sheet=sheet)
    for h, kind in kinds.items():
        if not kind or kind[0] != "value":
            continue
        _, cohort, key = kind
        if key is None:
            skipped[h] += 1
            continue
        if cohort not in den_values:
            raise InputFileError(
                path,
                f"no {cohort} denominator column for {h!r}; expected e.g. "
                f"'{cohort} Denominator' in the same header row",
                column=h,
                sheet=sheet,
            )
        cells = table[h]
        mk = _markers(cells)
        marks.update(str(v).strip() for v in cells[mk])
        value = _cell_numbers(cells.where(~mk), rows, path, h, sheet=sheet, non_negative=False)
        _check_percent(path, value, rows, h, sheet=sheet)
        den = den_values[cohort].to_numpy(float)
        keys.append(key)
        vals.append(value.to_numpy(float))
        den_out.append(den)
        nums.append(np.round(den * vals[-1] / 100))
        vnotes.append([str(v).strip() if m else None for v, m in zip(cells, mk, strict=True)])
    if not keys:
        return []
    n = len(base)
    long = base.iloc[np.tile(np.arange(n), len(keys))].assign(
        indicator=np.repeat(keys, n),
        numerator=np.concatenate(nums),
        denominator=np.concatenate(den_out),
        value=np.concatenate(vals),
        value_note=[v for part in vnotes for v in part],
        numerator_estimated=True,
    )
    return [long]


def _cover_notes(notes: list[str], marks: Counter[str], skipped: Counter[str]) -> None:
    notes.append(
        "COVER publishes coverage (%) and a denominator but no numerator: numerator = "
        "round(denominator x value / 100), an estimate (numerator_estimated = True)"
    )
    marks.pop("", None)
    if marks:
        notes.append(_marker_note(marks, "cells"))
    if skipped:
        pcv2 = [h for h in skipped if "pcv2" in re.sub(r"[^a-z0-9]", "", h.lower())]
        other = [h for h in skipped if h not in pcv2]
        if pcv2:
            notes.append(
                f"{pcv2} skipped: PCV2 (two doses by 12 months, the schedule before 2020) is not "
                "the same measure as PCV1 and has no catalogue entry"
            )
        if other:
            notes.append(f"columns not in the catalogue skipped: {sorted(other)}")


# --------------------------------------------------------------------------------------------
# 4. COVER quarterly GP-level ODS
# --------------------------------------------------------------------------------------------

_ICB_ODS = re.compile(r"^Q[A-Z0-9]{2}$")


def _find_header(rows: list[list[Any]], wanted: str, also: Sequence[str] = ()) -> int | None:
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cells = {norm(c) for c in row}
        if wanted in cells and all(a in cells for a in also):
            return i
    return None


_PSEUDO_PRACTICE = re.compile(r"^V8199\d$")  # ODS pseudo-codes: practice unknown / none


def _one_row_per_practice(table: pd.DataFrame, code_col: str, notes: list[str]) -> pd.DataFrame:
    """A practice listed twice (one blank row, one with figures): keep the row with figures."""
    code = table[code_col].astype("string").str.strip()
    cells = table.drop(columns="_row").to_numpy(object)
    filled = pd.Series([sum(isinstance(v, float) for v in row) for row in cells], index=table.index)
    order = filled.sort_values(ascending=False, kind="stable").index
    dup = code.loc[order].duplicated(keep="first")
    if not dup.any():
        return table
    gone = dup[dup].index
    with_figures = int((filled.loc[gone] > 1).sum())
    notes.append(
        f"{len(gone)} repeated practice rows dropped, keeping each practice's row with the most "
        f"figures ({with_figures} of the dropped rows had figures of their own); "
        f"e.g. {sorted(set(code.loc[gone]))[:3]}"
    )
    return table.drop(index=gone)


def _gp_sheet_name(names: Sequence[str], heads: dict[str, list[list[Any]]] | None) -> str | None:
    for name in names:
        if re.sub(r"[^a-z]", "", name.lower()) == "gpcode":
            return name
    for name in names:
        if heads and _find_header(heads.get(name, []), "icb code", ("gp code",)) is not None:
            return name
    return None


def _sniff_cover_gp(path: Path) -> bool:
    """COVER GP-level workbook: a GP_Code sheet, or a sheet headed 'ICB code' ... 'GP code'."""
    try:
        heads = _workbook_heads(Path(path))
        if not heads:
            return False
        name = _gp_sheet_name(list(heads), heads)
        return name is not None and _find_header(heads[name], "icb code") is not None
    except Exception:  # noqa: BLE001
        return False


def read_cover_gp_ods(path: str | Path) -> list[ReadResult]:
    """Read a UKHSA COVER quarterly GP-level ODS: practices (GP_Code) and ICBs (ICB_Code).

    The header row moves between releases, so it is found by its 'ICB code' cell. Coverage is
    published as a percentage with a denominator and no numerator, so
    ``numerator = round(denominator * value / 100)`` (flagged by ``numerator_estimated``).
    Suppressed cells ([note 1], blank, [x], *) become NaN. Practices have no name in this table.
    The ICB_Code sheet gives published ICB rows (ODS codes such as QK1) and its Total row the
    England row, to check practice sums against. The period is the financial quarter in the
    Information sheet's title ("April to June 2023" -> "2023/24 Q1").
    """
    path = Path(path)
    wb = _open_workbook(path)
    names = list(wb.sheet_names)
    heads = {n: _sheet_rows(wb, n, HEADER_SEARCH_ROWS) for n in names}
    gp_sheet = _gp_sheet_name(names, heads)
    if gp_sheet is None:
        raise InputFileError(
            path,
            "no GP-level table: expected a sheet 'GP_Code' with a header row holding 'ICB code' "
            f"and 'GP code'; found sheets {', '.join(repr(n) for n in names)}",
            sheet="GP_Code",
        )
    rows = _sheet_rows(wb, gp_sheet)
    hi = _find_header(rows, "icb code")
    if hi is None:
        raise InputFileError(
            path,
            f"no header row: expected a row with the cell 'ICB code' in the first "
            f"{HEADER_SEARCH_ROWS} rows",
            column="ICB code",
            sheet=gp_sheet,
        )
    header, table, col = _sheet_table(rows, hi)
    require_columns(path, header, ["ICB code", "GP code"], row=hi + 1, sheet=gp_sheet)
    if not any((k := _cover_column(h)) and k[0] == "denominator" for h in header):
        require_columns(path, header, ["12m Denominator"], row=hi + 1, sheet=gp_sheet)
    period, words = _quarter_of_workbook(path, wb)
    notes: list[str] = [f"period {period} from the title text {words!r}"]
    gp = table[col["gp code"]].astype("string").str.strip()
    is_practice = gp.str.fullmatch(PRACTICE_PATTERN).fillna(False)
    pseudo = gp.str.fullmatch(_PSEUDO_PRACTICE.pattern, case=False).fillna(False)
    icb_of = _code_text(table[col["icb code"]])
    unregistered = table.loc[pseudo & icb_of.notna()]
    unregistered = unregistered.loc[~icb_of.loc[unregistered.index].duplicated()]
    if pseudo.any():
        notes.append(
            f"{int(pseudo.sum())} rows for pseudo-practice codes (V81999: practice unknown; "
            "unregistered children, allocated to an ICB by residence) kept as "
            f"{len(unregistered)} 'icb_unregistered' rows (one per ICB), not as practices"
        )
    other = table.loc[~is_practice & ~pseudo & ~_blank(table[col["gp code"]])]
    if len(other):
        notes.append(
            f"{len(other)} rows whose GP code is not a practice code dropped "
            f"(e.g. {list(gp.loc[other.index][:3])})"
        )
    table = _one_row_per_practice(table.loc[is_practice & ~pseudo], col["gp code"], notes)
    la = table[col["local authority code"]] if "local authority code" in col else None
    base = pd.DataFrame(
        {
            "area_type": "practice",
            "area_code": gp.loc[table.index],
            "area_name": np.nan,
            "period": period,
            "parent_code": _code_text(table[col["icb code"]]),
            "parent_name": _text(table[col["icb name"]]) if "icb name" in col else np.nan,
            "la_ods_code": _code_text(la) if la is not None else np.nan,
            "_row": table["_row"],
        }
    )
    marks: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    parts = _cover_long(
        path, table, header, sheet=gp_sheet, base=base, notes=notes, marks=marks, skipped=skipped
    )
    if len(unregistered) and parts:
        ubase = pd.DataFrame(
            {
                "area_type": "icb_unregistered",
                "area_code": icb_of.loc[unregistered.index],
                "area_name": "children with no known practice",
                "period": period,
                "parent_code": icb_of.loc[unregistered.index],
                "parent_name": _text(unregistered[col["icb name"]]) if "icb name" in col else np.nan,
                "la_ods_code": np.nan,
                "_row": unregistered["_row"],
            }
        )
        parts += _cover_long(
            path, unregistered, header, sheet=gp_sheet, base=ubase, notes=[], marks=Counter(),
            skipped=Counter(),
        )
    if not parts:
        raise InputFileError(
            path,
            "no vaccine coverage columns of the catalogue found in the header row",
            row=hi + 1,
            sheet=gp_sheet,
        )
    meta: dict[str, Any] = {"format": "cover_gp_ods", "sheet": gp_sheet, "header_row": hi + 1}
    icb_parts = _cover_icb_sheet(path, wb, names, period, notes, marks, skipped, meta)
    _cover_notes(notes, marks, skipped)
    frame = pd.concat([*(p.assign(_sheet=gp_sheet) for p in parts), *icb_parts])
    frame = _dedupe(frame, notes)
    frame = frame.drop(columns="_sheet")
    src = source_info(
        path,
        "COVER quarterly GP vaccination coverage statistics for children aged up to 5 years",
        UKHSA,
        period,
    )
    frame["source"] = f"{COVER_GP_SOURCE} ({path.name})"
    frame = mark_suppressed(frame)
    n_sup = int(is_suppressed(frame).sum())
    if n_sup:
        notes.append(
            f"{n_sup} practice figures have a suppressed denominator (fewer than "
            f"{SUPPRESSED_BELOW} eligible, [note 1]): kept with value_note '{SUPPRESSED_PREFIX}: "
            "<value>%, no interval'; never flagged, banded, apportioned or put on a funnel plot"
        )
    return [
        _finish(
            path, frame, source=src, notes=notes, meta=meta, extras=("la_ods_code",), sheet=gp_sheet
        )
    ]


def _cover_icb_sheet(
    path: Path,
    wb: Any,
    names: Sequence[str],
    period: str,
    notes: list[str],
    marks: Counter[str],
    skipped: Counter[str],
    meta: dict[str, Any],
) -> list[pd.DataFrame]:
    icb_sheet = next((n for n in names if re.sub(r"[^a-z]", "", n.lower()) == "icbcode"), None)
    if icb_sheet is None:
        notes.append("no ICB_Code sheet: no published ICB rows to check practice sums against")
        return []
    rows = _sheet_rows(wb, icb_sheet)
    hi = _find_header(rows, "icb code")
    if hi is None:
        notes.append(f"sheet {icb_sheet!r} has no 'ICB code' header row: ICB rows not read")
        return []
    header, table, col = _sheet_table(rows, hi)
    code = table[col["icb code"]].astype("string").str.strip()
    is_icb = code.str.fullmatch(_ICB_ODS.pattern).fillna(False)
    is_total = code.str.lower().eq("total").fillna(False)
    dropped = table.loc[~is_icb & ~is_total & ~_blank(table[col["icb code"]])]
    if len(dropped):
        notes.append(f"ICB_Code rows that are not ICBs dropped: {list(code.loc[dropped.index])}")
    table = table.loc[is_icb | is_total]
    total = is_total.loc[table.index]
    base = pd.DataFrame(
        {
            "area_type": np.where(total, "england", "icb"),
            "area_code": np.where(total, "E92000001", code.loc[table.index]),
            "area_name": np.where(
                total, "England", _text(table[col["icb name"]]) if "icb name" in col else None
            ),
            "period": period,
            "_row": table["_row"],
        },
        index=table.index,
    )
    parts = _cover_long(
        path, table, header, sheet=icb_sheet, base=base, notes=notes, marks=marks, skipped=skipped
    )
    meta["icb_sheet"] = icb_sheet
    if total.any():
        notes.append(
            "the ICB_Code Total row is kept as the England row (the total of this GP-level "
            "table, not the official UTLA-based England figure)"
        )
    return [p.assign(_sheet=icb_sheet) for p in parts]


# --------------------------------------------------------------------------------------------
# 5. COVER quarterly official statistics by upper-tier local authority
# --------------------------------------------------------------------------------------------

_UTLA_CODE_HEADERS = {
    "ons upper tier la code",
    "ons utla code",
    "ons upper tier local authority code",
    "code",
}
_UTLA_NAME_HEADERS = {
    "upper tier la name",
    "utla name",
    "upper tier local authority name",
    "local authority",
}
_UTLA_CODE = re.compile(r"^E(0[6-9]|10)\d{6}$")
_REGION_CODE = re.compile(r"^E12\d{6}$")
# UTLAs created in 2020-21 appear in some files with an ODS code but no ONS code
_NEW_UTLA_CODES = {
    "buckinghamshire": "E06000060",
    "north northamptonshire": "E06000061",
    "west northamptonshire": "E06000062",
}


def _utla_header(rows: list[list[Any]]) -> int | None:
    """Index of a UTLA table's header: an ONS UTLA code column and a cohort denominator."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cells = {norm(c) for c in row}
        specific = (_UTLA_CODE_HEADERS - {"code"}) & cells
        if not specific and not ("code" in cells and _UTLA_NAME_HEADERS & cells):
            continue
        kinds = [_cover_column(c) for c in row]
        if any(k and k[0] == "denominator" for k in kinds) and any(
            k and k[0] == "value" and k[2] for k in kinds
        ):
            return i
    return None


def _sniff_cover_utla(path: Path) -> bool:
    """COVER by UTLA: some sheet holds a table headed by an ONS UTLA code and vaccine columns."""
    try:
        heads = _workbook_heads(Path(path))
        return bool(heads) and any(_utla_header(rows) is not None for rows in heads.values())
    except Exception:  # noqa: BLE001
        return False


def _pick(cells: Sequence[str], test: Callable[[str], bool]) -> int | None:
    return next((i for i, c in enumerate(cells) if test(c)), None)


def _utla_areas(table: pd.DataFrame, header: list[str], notes: list[str]) -> pd.DataFrame:
    """Classify each row as utla / region / england and give its code, name and parent region."""
    cells = [norm(h) for h in header]
    names = table.columns[:-1].tolist()
    i_code = _pick(cells, lambda c: c in _UTLA_CODE_HEADERS)
    i_name = _pick(cells, lambda c: c in _UTLA_NAME_HEADERS)
    i_rcode = _pick(cells, lambda c: c.endswith("region code"))
    i_rname = _pick(cells, lambda c: c.endswith("region name"))
    i_ods = _pick(
        cells,
        lambda c: (
            (c.startswith("ods") and c.endswith("code")) or c == "organisation data service code"
        ),
    )

    def get(i: int | None) -> list[Any]:
        if i is None:
            return [np.nan] * len(table)
        return _code_text(table[names[i]]).tolist()

    codes, uname, rcode, rname, ods = map(get, (i_code, i_name, i_rcode, i_rname, i_ods))
    out = []
    region = None
    fixed: list[str] = []
    for code, name, rc, rn, oc in zip(codes, uname, rcode, rname, ods, strict=True):
        code = code if isinstance(code, str) else ""
        name = name if isinstance(name, str) else ""
        rc = rc if isinstance(rc, str) else ""
        rn = rn if isinstance(rn, str) else ""
        region_name = re.sub(r"\s+total$", "", rn, flags=re.I).strip()
        if _REGION_CODE.match(rc):
            region = (rc, region_name)
        elif _REGION_CODE.match(code):
            region = (code, region_name or name)
        if _UTLA_CODE.match(code):
            row = ("utla", code, name or None, oc, *(region or (None, None)))
        elif (
            code.startswith("E92")
            or rc.startswith("E92")
            or (not code and "england" in (name.lower(), region_name.lower()))
        ):
            row = ("england", "E92000001", "England", None, None, None)
        elif _REGION_CODE.match(code):
            row = ("region", code, region_name or name or None, None, "E92000001", "England")
        elif region_name and not name and region and not code:
            row = ("region", region[0], region_name, None, "E92000001", "England")
        elif name.lower() in _NEW_UTLA_CODES and not code:
            fixed.append(name)
            row = ("utla", _NEW_UTLA_CODES[name.lower()], name, oc, *(region or (None, None)))
        else:
            row = (None, None, None, None, None, None)
        out.append(row)
    if fixed:
        notes.append(
            f"UTLAs published without an ONS code given theirs from their name: {sorted(set(fixed))}"
        )
    return pd.DataFrame(
        out,
        columns=["area_type", "area_code", "area_name", "ods_code", "parent_code", "parent_name"],
        index=table.index,
    )


def read_cover_utla_ods(path: str | Path) -> list[ReadResult]:
    """Read a UKHSA COVER quarterly ODS (official statistics) into utla, region, england rows.

    Tables are found by content in any layout 2019-2025 (``12m_UTLA_GOR``..., ``Table5``...,
    ``Table_5``...): a header with an ONS UTLA code column and a cohort denominator, searched
    below the title rows. Old files' PCV2 column is skipped (a different measure from PCV1).
    Coverage comes with a denominator but no numerator: numerator = round(denominator * value
    / 100). The period is the quarter in the cover sheet title (not the table titles, one of
    which names the wrong quarter in 2022-23 Q1).
    """
    path = Path(path)
    wb = _open_workbook(path)
    period, words = _quarter_of_workbook(path, wb)
    notes: list[str] = [f"period {period} from the title text {words!r}"]
    marks: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    parts: list[pd.DataFrame] = []
    used: list[str] = []
    for name in wb.sheet_names:
        rows = _sheet_rows(wb, name)
        hi = _utla_header(rows)
        if hi is None:
            continue
        header, table, _ = _sheet_table(rows, hi)
        areas = _utla_areas(table, header, notes)
        has_data = table.drop(columns="_row").map(lambda v: isinstance(v, float)).any(axis=1)
        lost = areas["area_type"].isna() & has_data
        if lost.any():
            notes.append(
                f"sheet {name!r}: {int(lost.sum())} rows with figures but no recognisable area "
                f"dropped (rows {table.loc[lost, '_row'].tolist()[:5]})"
            )
        keep = areas["area_type"].notna()
        base = areas.loc[keep].assign(period=period, _row=table.loc[keep, "_row"], _sheet=name)
        got = _cover_long(
            path,
            table.loc[keep],
            header,
            sheet=name,
            base=base,
            notes=notes,
            marks=marks,
            skipped=skipped,
        )
        if got:
            used.append(name)
            parts += got
    if not parts:
        raise InputFileError(
            path,
            "no COVER table by upper-tier local authority: expected a sheet whose header row has "
            "'ONS UTLA code' (or 'Code' and 'Local authority') and columns such as "
            f"'24m denominator', '24m MMR1%'; sheets: {', '.join(wb.sheet_names)}",
        )
    _cover_notes(notes, marks, skipped)
    frame = _dedupe(pd.concat(parts), notes)
    frame = frame.drop(columns="_sheet")
    src = source_info(
        path,
        "COVER quarterly vaccination coverage statistics for children aged up to 5 years, by "
        "upper-tier local authority",
        UKHSA,
        period,
    )
    frame["source"] = f"UKHSA COVER quarterly by UTLA ({path.name})"
    return [
        _finish(
            path,
            frame,
            source=src,
            notes=notes,
            extras=("ods_code",),
            meta={"format": "cover_utla_ods", "sheets": used},
        )
    ]


READERS: list[Reader] = [
    Reader(
        "fingertips_csv",
        "indicators",
        "OHID Fingertips 'all data' CSV export (indicators in the catalogue)",
        _sniff_fingertips,
        read_fingertips_csv,
    ),
    Reader(
        "fingertipsnext_csv",
        "indicators",
        "OHID FingertipsNext healthdata CSV (IndicatorId, AreaCode, Year, Value, CIs)",
        _sniff_fingertipsnext,
        read_fingertipsnext_csv,
    ),
    Reader(
        "phe_cervical_practice",
        "indicators",
        "PHE cervical screening coverage by GP practice (workbook or CSV copy)",
        _sniff_cervical,
        read_cervical_practice_csv,
    ),
    Reader(
        "cover_gp_ods",
        "indicators",
        "UKHSA COVER quarterly childhood immunisation coverage by GP practice (ODS)",
        _sniff_cover_gp,
        read_cover_gp_ods,
    ),
    Reader(
        "cover_utla_ods",
        "indicators",
        "UKHSA COVER quarterly childhood immunisation coverage by upper-tier LA (ODS)",
        _sniff_cover_utla,
        read_cover_utla_ods,
    ),
]
