"""Pandera schemas of the canonical dataset: validated once, at the boundary.

Every table of a dataset folder (see docs/DATA_MODEL.md) has a ``DataFrameModel`` here.
:func:`validate_table` runs one lazily (every failing row at once) and turns failures into a
:class:`~hiexplore.errors.DatasetError` (or an :class:`~hiexplore.errors.InputFileError` when a
source path is given) naming the row and column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
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
    "validate_table",
    "schema_errors_to_message",
]

AREA_TYPES = ("lsoa", "msoa", "ward", "lad", "pcn", "icb")
INDICATOR_AREA_TYPES = (
    "practice", "lsoa", "msoa", "ward", "lad", "utla", "pcn", "sub_icb", "icb", "region", "england",
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
    try:
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
