"""Pandera schemas of the canonical dataset: validated once, at the boundary.

Every table of a dataset folder (see docs/DATA_MODEL.md) has a ``DataFrameModel`` here.
:func:`validate_table` runs one lazily (every failing row at once) and turns failures into a
:class:`~hiexplore.errors.DatasetError` (or an :class:`~hiexplore.errors.InputFileError` when a
source path is given) naming the row and column.

Speed (a national dataset has ~1.3M registration rows): the multi-column uniqueness of a table
(``Config.unique``) is checked on integer keys (each column factorised, then one sort; or no sort
when the rows are already in key order) instead of pandas' ``DataFrame.duplicated`` on strings,
and text columns that already have pandas' string dtype skip pandera's element-by-element dtype
check. Only when a column needs coercing, or something fails, is the whole model run again, so
the result and the errors are pandera's own, row by row.
:func:`structure_matches` is the cheap part alone (columns and dtypes), for files whose checksum
shows they are exactly what a validated write produced (see :mod:`hiexplore.dataset`);
:data:`SCHEMA_FINGERPRINT` identifies these schemas, so a checksum recorded under other schemas
is not trusted.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera
import pandera.pandas as pa
from pandera.engines.pandas_engine import STRING, Engine
from pandera.typing import Series

from .errors import DatasetError, InputFileError

__all__ = [
    "AREA_TYPES",
    "INDICATOR_AREA_TYPES",
    "Areas",
    "Lookup",
    "Deprivation",
    "Practices",
    "Registrations",
    "Indicators",
    "Population",
    "TABLES",
    "SCHEMA_FINGERPRINT",
    "validate_table",
    "structure_matches",
    "schema_errors_to_message",
]

AREA_TYPES = ("lsoa", "msoa", "ward", "lad", "pcn", "icb")
INDICATOR_AREA_TYPES = (
    "practice", "lsoa", "msoa", "ward", "lad", "utla", "pcn", "sub_icb", "icb", "region", "england",
    # COVER's V81999 rows: an ICB's children with no known practice (allocated by residence)
    "icb_unregistered",
)
LSOA_PATTERN = r"^[EW]01\d{6}$"
PRACTICE_PATTERN = r"^[A-Z]\d{5}$|^[A-Z]{1,2}\d{3,5}[A-Z0-9]?$"


class Areas(pa.DataFrameModel):
    """``areas.parquet``: one polygon per area (GeoParquet, EPSG:4326)."""

    area_code: Series[str] = pa.Field(str_length={"min_value": 3})
    area_name: Series[str] = pa.Field(nullable=True)
    area_type: Series[str] = pa.Field(isin=list(AREA_TYPES))

    class Config:
        coerce = True
        unique = ["area_type", "area_code"]


class Lookup(pa.DataFrameModel):
    """``lookup.parquet``: one row per LSOA with its parents (names beside codes)."""

    lsoa_code: Series[str] = pa.Field(str_matches=LSOA_PATTERN, unique=True)
    lsoa_name: Series[str] = pa.Field(nullable=True)
    msoa_code: Series[str] = pa.Field(nullable=True)
    msoa_name: Series[str] = pa.Field(nullable=True)
    ward_code: Series[str] = pa.Field(nullable=True)
    ward_name: Series[str] = pa.Field(nullable=True)
    lad_code: Series[str] = pa.Field(nullable=True)
    lad_name: Series[str] = pa.Field(nullable=True)
    sub_icb_code: Series[str] = pa.Field(nullable=True)
    sub_icb_name: Series[str] = pa.Field(nullable=True)
    icb_code: Series[str] = pa.Field(nullable=True)
    icb_name: Series[str] = pa.Field(nullable=True)
    region_code: Series[str] = pa.Field(nullable=True)

    class Config:
        coerce = True


DOMAINS = (
    "imd", "income", "employment", "education", "health", "crime", "barriers",
    "living_environment", "idaci", "idaopi",
)


class Deprivation(pa.DataFrameModel):
    """``deprivation.parquet``: one row per LSOA (dataset vintage) and IoD edition.

    Scores are missing where the edition's source files publish none (IoD2019 Files 1/2 carry
    ranks and deciles only). ``crosswalked`` marks IoD2019 values carried from 2011 to 2021 LSOAs.
    """

    lsoa_code: Series[str] = pa.Field(str_matches=LSOA_PATTERN)
    edition: Series[int] = pa.Field(isin=[2015, 2019, 2025])
    imd_score: Series[float] = pa.Field(nullable=True, ge=0)
    imd_rank: Series[float] = pa.Field(nullable=True, ge=1)
    imd_decile: Series[float] = pa.Field(nullable=True, ge=1, le=10)
    crosswalked: Series[bool]

    class Config:
        coerce = True
        strict = False
        unique = ["lsoa_code", "edition"]


class Practices(pa.DataFrameModel):
    """``practices.parquet``: GP practices placed from their postcode."""

    practice_code: Series[str] = pa.Field(unique=True)
    practice_name: Series[str] = pa.Field(nullable=True)
    pcn_code: Series[str] = pa.Field(nullable=True)
    pcn_name: Series[str] = pa.Field(nullable=True)
    sub_icb_code: Series[str] = pa.Field(nullable=True)
    icb_code: Series[str] = pa.Field(nullable=True)
    postcode: Series[str] = pa.Field(nullable=True)
    latitude: Series[float] = pa.Field(nullable=True, ge=49, le=61)
    longitude: Series[float] = pa.Field(nullable=True, ge=-9, le=2.5)
    list_size: Series[float] = pa.Field(nullable=True, ge=0)
    status: Series[str] = pa.Field(isin=["open", "closed"])
    lsoa_code: Series[str] = pa.Field(nullable=True)
    # why the practice is in the dataset (absent in datasets built before it existed)
    in_area_by: Series[str] | None = pa.Field(isin=["commissioner", "location", "both", "catchment"])

    class Config:
        coerce = True
        strict = False


class Registrations(pa.DataFrameModel):
    """``registrations.parquet``: the catchments: patients of a practice living in an LSOA.

    ``in_area`` is False for LSOAs outside the dataset's areas: those patients are counted (so a
    practice's catchment sums to its list size) but not mapped.
    """

    practice_code: Series[str]
    lsoa_code: Series[str]
    patients: Series[float] = pa.Field(ge=0)
    catchment_source: Series[str] = pa.Field(isin=["observed", "modelled", "synthetic"])
    in_area: Series[bool]

    class Config:
        coerce = True
        strict = False
        unique = ["practice_code", "lsoa_code"]


class Indicators(pa.DataFrameModel):
    """``indicators.parquet`` (long): published figures per area and period."""

    indicator: Series[str]
    area_type: Series[str] = pa.Field(isin=list(INDICATOR_AREA_TYPES))
    area_code: Series[str]
    area_name: Series[str] = pa.Field(nullable=True)
    period: Series[str]
    numerator: Series[float] = pa.Field(nullable=True, ge=0)
    denominator: Series[float] = pa.Field(nullable=True, ge=0)
    value: Series[float] = pa.Field(nullable=True)
    lower_ci: Series[float] = pa.Field(nullable=True)
    upper_ci: Series[float] = pa.Field(nullable=True)
    source: Series[str]

    class Config:
        coerce = True
        strict = False
        unique = ["indicator", "area_type", "area_code", "period"]

    @pa.dataframe_check(error="numerator must be less than or equal to denominator")
    def numerator_within_denominator(cls, df: pd.DataFrame) -> Series[bool]:
        ok = df["numerator"].isna() | df["denominator"].isna() | (
            df["numerator"] <= df["denominator"] + 1e-6
        )
        return ok


class Population(pa.DataFrameModel):
    """``population.parquet``: residents per LSOA (Census 2021 / ONS estimates) and their mix.

    Age-band columns are named ``age_<lo>_<hi>`` (persons); share columns ``share_<group>``.
    """

    lsoa_code: Series[str] = pa.Field(str_matches=LSOA_PATTERN, unique=True)
    population: Series[float] = pa.Field(ge=0, nullable=True)

    class Config:
        coerce = True
        strict = False


TABLES: dict[str, type[pa.DataFrameModel]] = {
    "areas": Areas,
    "lookup": Lookup,
    "deprivation": Deprivation,
    "practices": Practices,
    "registrations": Registrations,
    "indicators": Indicators,
    "population": Population,
}


def _fingerprint() -> str:
    """Identifies the checks a validated write ran: this module's source and pandera's version.

    Any edit here (or another pandera) changes it, so checksums recorded before are not trusted
    and the next load validates in full; empty if the source cannot be read (never trusted).
    """
    try:
        source = Path(__file__).read_bytes()
    except OSError:
        return ""
    return hashlib.sha256(source + b"\0pandera " + pandera.__version__.encode()).hexdigest()


SCHEMA_FINGERPRINT = _fingerprint()


def schema_errors_to_message(err: pa.errors.SchemaErrors, limit: int = 8) -> tuple[str, int | None, str | None]:
    """Summarise pandera's lazy failures: (message, first row index, first column)."""
    fc = err.failure_cases
    lines = []
    first_row: int | None = None
    first_col: str | None = None
    for rec in fc.head(limit).to_dict("records"):
        col = rec.get("column")
        idx = rec.get("index")
        check = rec.get("check")
        case = rec.get("failure_case")
        if first_row is None and idx is not None and not pd.isna(idx):
            first_row = int(idx)
        if first_col is None and col is not None and not pd.isna(col):
            first_col = str(col)
        lines.append(f"row {idx}, column {col!r}: expected {check}, found {case!r}")
    more = len(fc) - limit
    msg = "; ".join(lines) + (f"; and {more} more problems" if more > 0 else "")
    return msg, first_row, first_col


def validate_table(
    name: str,
    frame: pd.DataFrame,
    *,
    source: Path | None = None,
    row_offset: int = 2,
) -> pd.DataFrame:
    """Validate a canonical table lazily; raise one error listing every failing row.

    With ``source`` (the file the frame was read from) the error is an InputFileError whose row is
    the frame index + ``row_offset`` (header on row 1, so the first data row is row 2).
    """
    model = TABLES[name]
    fast = _fast_schema(name)
    if all(frame[c].dtype == fast.string_dtype for c in fast.string_columns if c in frame):
        try:
            # a shallow copy validated in place: pandera's own defensive copy would duplicate
            # every column; copy-on-write keeps the caller's frame as it was whatever coercion does
            out = fast.schema.validate(frame.copy(deep=False), lazy=True, inplace=True)
            if not _rows_unique(out, fast.unique):
                raise _Duplicates
            return out
        except (pa.errors.SchemaErrors, _Duplicates):
            pass
    try:  # text to coerce, or something failed: the full model, as pandera words its errors
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        msg, row, col = schema_errors_to_message(err)
        if source is not None:
            raise InputFileError(
                source,
                f"not a valid {name} table: {msg}",
                row=None if row is None else row + row_offset,
                column=col,
            ) from None
        raise DatasetError(f"{name} table is invalid: {msg}") from None


class _Duplicates(Exception):
    """Raised by the fast uniqueness check; the full model then reports the rows."""


@dataclass(frozen=True)
class _FastSchema:
    """The table's schema as :func:`validate_table` first runs it (see the module docstring)."""

    schema: pa.DataFrameSchema  # without Config.unique, text columns without their dtype check
    unique: list[str]  # the columns that must be jointly unique (checked by _rows_unique)
    string_columns: list[str]  # text columns: must already have exactly ``string_dtype``
    string_dtype: object


@cache
def _fast_schema(name: str) -> _FastSchema:
    """Split off what is checked faster outside pandera.

    Joint uniqueness goes to :func:`_rows_unique`. A text column that already has pandas'
    string dtype (one comparison per column in :func:`validate_table`) needs no coercion, and
    pandera's dtype check of it compares every element: all true by construction, a few
    milliseconds per column spent building an empty list of failures. Value checks (patterns,
    allowed values, missing, unique) stay in pandera.
    """
    schema = TABLES[name].to_schema()
    unique = list(schema.unique or [])
    text = [c for c, col in schema.columns.items() if isinstance(col.dtype, STRING)]
    string_dtype = Engine.dtype(str).type if text else None
    fast = schema.update_columns({c: {"dtype": None} for c in text}) if text else copy.deepcopy(schema)
    fast.unique = None
    return _FastSchema(fast, unique, text, string_dtype)


def _rows_unique(frame: pd.DataFrame, columns: list[str]) -> bool:
    """True if no two rows share ``columns`` (missing values count as equal, as in pandas).

    Each column is factorised to integer codes and the codes combined into one int64 key per row
    (while the product of the numbers of distinct values fits), then sorted: several times faster
    than ``DataFrame.duplicated`` on a million rows of strings. Columns the frame lacks are
    skipped, as pandera does.
    """
    cols = [c for c in columns if c in frame.columns]
    if not cols or len(frame) < 2 or _strictly_increasing(frame, cols):
        return True
    key = np.zeros(len(frame), dtype=np.int64)
    span = 1
    for c in cols:
        codes, uniques = pd.factorize(frame[c], use_na_sentinel=True)
        k = len(uniques) + 1  # code -1 (missing) -> 0
        if span * k >= 2**62:  # would overflow: fold the key so far into dense codes first
            key = pd.factorize(key)[0].astype(np.int64)
            span = int(key.max()) + 1
        key = key * k + (codes.astype(np.int64) + 1)
        span *= k
    key.sort()
    return not bool((key[1:] == key[:-1]).any())


def _strictly_increasing(frame: pd.DataFrame, columns: list[str]) -> bool:
    """True if the rows are in strictly increasing order of ``columns`` (then no two are equal).

    A few vectorised comparisons of each row with the next: tables written in key order (the demo
    writes its catchments by practice, then LSOA) are proven unique without hashing or sorting.
    Missing values, or values that do not compare, answer False (the caller then checks fully).
    """
    n = len(frame)
    before = np.zeros(n - 1, dtype=bool)  # row < next row on the columns so far
    tied = np.ones(n - 1, dtype=bool)  # row == next row on the columns so far
    try:
        for c in columns:
            values = frame[c].array
            lo, hi = values[:-1], values[1:]
            before |= tied & _as_bool(lo < hi)
            tied &= _as_bool(lo == hi)
            if not (before | tied).all():
                return False
    except (TypeError, ValueError):
        return False
    return bool(before.all())


def _as_bool(result: object) -> np.ndarray:
    """A comparison's result as a numpy bool array, missing as False."""
    if isinstance(result, np.ndarray):
        return result.astype(bool, copy=False)
    return result.to_numpy(dtype=bool, na_value=False)  # type: ignore[attr-defined]


def structure_matches(name: str, frame: pd.DataFrame) -> bool:
    """True if ``frame`` has every column of the table's schema with exactly the dtype validation
    would leave (so coercion would change nothing); value checks are not run.

    For files whose checksum proves they are what a validated write produced: the values were
    checked then; this guards the columns and types every later step relies on.
    """
    schema = TABLES[name].to_schema()
    for col_name, col in schema.columns.items():
        if col_name not in frame.columns:
            if col.required:
                return False
            continue
        if col.dtype is not None and not col.dtype.check(Engine.dtype(frame[col_name].dtype)):
            return False
    if schema.strict and set(frame.columns) - set(schema.columns):
        return False
    return True
