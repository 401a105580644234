"""Readers of the English Indices of Deprivation (MHCLG), recognised by their header text.

Layouts read (CSV plain/gzip/zip, or the published xlsx/ods workbooks, header found in the first
rows of any sheet):

- IoD2019 on LSOA 2011: File 1 (IMD rank and decile; the national CSV copies carry quoted
  thousands separators such as ``"29,199"``), File 2 (domain ranks and deciles), File 3
  (IDACI/IDAOPI), File 5 (scores), File 6 (population denominators), File 7 (everything).
  IoD2015 files with the same headers read as edition 2015.
- IoD2025 on LSOA 2021: the MHCLG layouts (``LSOA code (2021)``, ``Index of Multiple
  Deprivation (IMD) Score`` ...) and the tidy extract of the humaniverse ``IMD`` R package
  (``lsoa21_code``, ``IMD_decile``, ``Income_rank``, ``Housing_and_Services_score`` ...).
- Leicester City Council's ``deprivation-in-leicester-2025`` workbook (IoD2025 for Leicester's
  200 LSOAs with their polygons in ``LSOAGeo Shape``), offered as deprivation and boundaries.

Every frame has ``lsoa_code``, ``edition`` and, where the file has them,
``<domain>_score/_rank/_decile`` for the domains in :data:`DOMAINS` and the population
denominators in :data:`POPULATION_COLUMNS`. Files of one edition (File 1, 2, 6 ...) are returned
separately; the dataset build merges them on ``lsoa_code``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputFileError
from ..schemas import Deprivation
from ._common import (
    Gap,
    Table,
    as_numbers,
    check_codes,
    check_filled,
    check_unique,
    load_tables,
    shown,
    sniff_header,
    source_info,
    text_column,
    validate_frame,
)
from ._sniff import norm
from .geography import (
    check_country_extents,
    guess_generalisation,
    lsoa_code_gap,
    lsoa_vintage_from_codes,
    match_fields,
    recognised_fields,
    repair_polygons,
)
from .registry import Reader, ReadResult

__all__ = [
    "READERS",
    "DOMAINS",
    "MEASURES",
    "POPULATION_COLUMNS",
    "NATIONAL_LSOAS",
    "read_deprivation",
    "read_iod2019",
    "read_iod2025",
    "read_leicester_iod2025",
    "iod_columns",
]

MHCLG = "Ministry of Housing, Communities and Local Government (MHCLG)"
DOMAINS = (
    "imd", "income", "employment", "education", "health", "crime", "barriers",
    "living_environment", "idaci", "idaopi",
)
MEASURES = ("score", "rank", "decile")
POPULATION_COLUMNS = (
    "population_total", "population_0_15", "population_16_59", "population_60_plus",
    "population_working_age",
)
#: LSOAs ranked in each edition (England): a rank above this is not a rank of that edition
NATIONAL_LSOAS = {2015: 32844, 2019: 32844, 2025: 33755}
PUBLISHED = {2015: "30 September 2015", 2019: "26 September 2019", 2025: "30 October 2025"}

# domain patterns on the normalised header, most specific first (IDACI starts with "Income")
_DOMAIN_RES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (d, re.compile(p))
    for d, p in (
        ("idaci", r"idaci|affecting children"),
        ("idaopi", r"idaopi|affecting older"),
        ("imd", r"^(index of multiple deprivation|imd)"),
        ("income", r"^income"),
        ("employment", r"^employ"),
        ("education", r"^educ"),
        ("health", r"^health"),
        ("crime", r"^crime"),
        ("barriers", r"^(barriers|hous)"),
        ("living_environment", r"^(living|livenv|environment)"),
    )
)
_MEASURE_RES = (
    ("decile", re.compile(r"decile")),
    ("rank", re.compile(r"rank")),
    ("score", re.compile(r"score")),
)
# IoD population denominators (File 6/7) and the Leicester workbook's Pop_* columns
_POP_RES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (c, re.compile(p))
    for c, p in (
        ("population_0_15", r"children aged 0-15|^pop_0015"),
        ("population_16_59", r"^population aged 16-59|^pop_1659"),
        ("population_60_plus", r"aged 60 and over|^pop_o60"),
        ("population_working_age", r"^working age population|^pop_18\d\d"),
        ("population_total", r"^total population|^pop_\d{4}$"),
    )
)
_SKIP = re.compile(r"sub|quintile|percentile")


@dataclass
class IoDColumns:
    """How a header maps onto the canonical deprivation columns (original names kept)."""

    lsoa: str
    lsoa_year: str | None
    measures: dict[str, str] = field(default_factory=dict)  # canonical -> original
    lad_year: int | None = None
    imd_year: int | None = None
    population_year: int | None = None
    tidy: bool = False  # repackaged names (lsoa21_code, IMD_decile) rather than MHCLG text

    @property
    def has_measures(self) -> bool:
        return any(not c.startswith("population") for c in self.measures)

    @property
    def n_population(self) -> int:
        return sum(c.startswith("population") for c in self.measures)


def iod_columns(columns: list[str]) -> IoDColumns | None:
    """Recognise an IoD header; None unless it has an LSOA code and deprivation measures."""
    lsoa = next((f for f in match_fields(columns) if f.canonical == "lsoa_code"), None)
    if lsoa is None:
        return None
    cols = IoDColumns(lsoa.column, lsoa.year, tidy="_" in norm(lsoa.column))
    _add_measures(cols, columns)
    if not cols.has_measures and cols.n_population < 2:
        return None
    return cols


def _add_measures(cols: IoDColumns, columns: Sequence[str]) -> None:
    """Fill ``cols`` with the measure and population columns of a header (and the years they
    name); apart from iod_columns, the header errors use it to tell what a row lacks."""
    for col in columns:
        h = norm(col)
        if col == cols.lsoa or not h:
            continue
        m = re.match(r"^local authority district code \((\d{4})\)$", h)
        if m:
            cols.lad_year = int(m.group(1))
            continue
        if _SKIP.search(h) and not h.startswith(("total population", "population aged")):
            continue
        pop = next((c for c, rx in _POP_RES if rx.search(h)), None)
        if pop is not None:
            cols.measures.setdefault(pop, col)
            m = re.search(r"mid[ -]?(\d{4})|_(\d{4})$", h)
            if m:
                cols.population_year = int(m.group(1) or m.group(2))
            continue
        domain = next((d for d, rx in _DOMAIN_RES if rx.search(h)), None)
        measure = next((m for m, rx in _MEASURE_RES if rx.search(h)), None)
        if domain is None or measure is None:
            continue
        cols.measures.setdefault(f"{domain}_{measure}", col)
        m = re.match(r"^imd ?(\d{4})", h)
        if domain == "imd" and m:
            cols.imd_year = int(m.group(1))


def _iod_header(cells: list[str]) -> bool:
    return iod_columns(cells) is not None


def _leicester_header(cells: list[str]) -> bool:
    return "lsoageo shape" in cells and _iod_header(cells)


_MEASURE_SPELLINGS = (
    "Index of Multiple Deprivation (IMD) Rank", "Index of Multiple Deprivation (IMD) Decile",
    "Index of Multiple Deprivation (IMD) Score", "IMD_rank", "IMD_decile", "IMD_score",
)


def _iod_gaps(cells: Sequence[object]) -> list[Gap]:
    """What a row lacks to be an IoD header: an LSOA code column, deprivation measures."""
    texts = ["" if c is None else str(c) for c in cells]
    lsoa = next((f for f in match_fields(texts) if f.canonical == "lsoa_code"), None)
    probe = IoDColumns(lsoa.column if lsoa else "", None)
    _add_measures(probe, texts)
    used = frozenset(norm(c) for c in probe.measures.values())
    out: list[Gap] = []
    if lsoa is None:
        out.append(lsoa_code_gap(texts, ("LSOA code (2011)", "lsoa21_code"), ignore=used))
    if not probe.has_measures and probe.n_population < 2:
        out.append(Gap(
            "deprivation measures: a score, rank or decile column such as "
            "'Index of Multiple Deprivation (IMD) Rank' or 'IMD_decile' (or two population "
            "denominators)", _MEASURE_SPELLINGS, recognised_fields(texts) | used,
            like="imd|index|deprivation|score|rank|decile",
        ))
    return out


def _leicester_gaps(cells: Sequence[object]) -> list[Gap]:
    have = {norm(c) for c in cells}
    shape = [] if "lsoageo shape" in have else [
        Gap("the polygon column 'LSOAGeo Shape'", ("LSOAGeo Shape",), like="geo|shape")
    ]
    return _iod_gaps(cells) + shape


def _edition(cols: IoDColumns, vintage: str, notes: list[str]) -> int:
    """The IoD edition from what the header says, most direct clue first."""
    if cols.imd_year in NATIONAL_LSOAS:
        return int(cols.imd_year)
    if cols.lad_year is not None:
        # each edition names the LAD boundaries it used: 2013 (IoD2015), 2019, 2024 (IoD2025)
        if cols.lad_year <= 2015:
            return 2015
        return 2019 if cols.lad_year < 2023 else 2025
    if cols.population_year is not None:
        # denominators are mid-2012 (IoD2015), mid-2015 (IoD2019), mid-2022 (IoD2025)
        if cols.population_year <= 2012:
            return 2015
        return 2019 if cols.population_year < 2020 else 2025
    edition = 2019 if vintage == "2011" else 2025
    notes.append(f"edition IoD{edition} assumed from the LSOA {vintage} geography")
    return edition


def _layout(measures: set[str]) -> str:
    pops = any(m.startswith("population") for m in measures)
    scores = any(m.endswith("_score") for m in measures)
    ranks = any(m.endswith(("_rank", "_decile")) for m in measures)
    domains = {m.rsplit("_", 1)[0] for m in measures if not m.startswith("population")}
    if scores and ranks:
        return "File 7: all ranks, deciles and scores" if pops else "ranks, deciles and scores"
    if scores:
        return "File 5: scores"
    if ranks and domains == {"imd"}:
        return "File 1: Index of Multiple Deprivation"
    if ranks and domains <= {"idaci", "idaopi"}:
        return "File 3: supplementary indices (IDACI, IDAOPI)"
    if ranks:
        return "File 2: domains of deprivation"
    return "File 6: population denominators"


@dataclass
class Parsed:
    frame: pd.DataFrame
    meta: dict[str, Any]
    notes: list[str]
    title: str
    table: Table
    columns: IoDColumns


def _parse(table: Table, path: Path) -> Parsed:
    cols = iod_columns(list(table.frame.columns))
    if cols is None:  # pragma: no cover - load_tables only returns matching tables
        raise InputFileError(path, "not an Indices of Deprivation table", sheet=table.sheet)
    notes = list(table.notes)
    codes = text_column(table, cols.lsoa)
    check_codes(codes, path, cols.lsoa, table, vintage=cols.lsoa_year)
    check_unique(codes, path, cols.lsoa, table)
    vintage = cols.lsoa_year or lsoa_vintage_from_codes(codes)
    edition = _edition(cols, vintage, notes)
    n_max = NATIONAL_LSOAS.get(edition)
    out: dict[str, Any] = {"lsoa_code": codes.astype(str).to_numpy(), "edition": edition}
    for canon, orig in cols.measures.items():
        values = as_numbers(table, orig, path, non_negative=not canon.endswith("_score"))
        check_filled(values, path, orig, table)
        if canon.endswith("_decile"):
            _check_range(values, path, orig, table, 1, 10, "a whole decile from 1 to 10")
        elif canon.endswith("_rank"):
            hi = n_max or np.inf
            what = f"a whole rank from 1 to {n_max:,} (IoD{edition} ranks {n_max:,} LSOAs)" if n_max else "a whole rank of 1 or more"
            _check_range(values, path, orig, table, 1, hi, what)
        out[canon] = values.to_numpy()
    frame = pd.DataFrame(out)
    order = ["lsoa_code", "edition"]
    order += [f"{d}_{m}" for d in DOMAINS for m in MEASURES if f"{d}_{m}" in frame]
    order += [c for c in POPULATION_COLUMNS if c in frame]
    frame = frame[order]
    frame = validate_frame(
        Deprivation, frame, path, table, what="deprivation table",
        column_names={"lsoa_code": cols.lsoa, **cols.measures},
    )
    frame["edition"] = frame["edition"].astype("int64")
    meta: dict[str, Any] = {"vintage": vintage, "edition": edition, "layout": _layout(set(cols.measures))}
    if cols.n_population and cols.population_year:
        meta["population_period"] = f"mid-{cols.population_year}"
    if cols.tidy:
        notes.append("column names as renamed by a repackaging (e.g. the humaniverse IMD R package)")
    title = f"English Indices of Deprivation {edition} ({meta['layout']})"
    return Parsed(frame, meta, notes, title, table, cols)


def _check_range(values: pd.Series, path: Path, column: str, table: Table, lo: float, hi: float, what: str) -> None:
    arr = values.to_numpy(dtype=float)
    bad = (arr < lo) | (arr > hi) | (np.mod(arr, 1) != 0)
    pos = np.flatnonzero(bad & ~np.isnan(arr))
    if len(pos):
        i = int(pos[0])
        raise InputFileError(
            path, f"expected {what}, found {shown(table.frame[column].iloc[i])}",
            row=i + table.row_offset, column=column, sheet=table.sheet,
        )


def _parse_all(path: Path) -> list[Parsed]:
    return [_parse(t, path) for t in load_tables(path, _iod_header, _iod_gaps)]


def read_deprivation(path: str | Path) -> pd.DataFrame:
    """Read any recognised IoD table (the first one in a workbook) into the canonical columns.

    Raises :class:`InputFileError` naming file, row and column for a missing LSOA code column,
    a non-numeric or out-of-range rank/decile, a blank (truncated) row or a repeated LSOA.
    """
    return _parse_all(Path(path))[0].frame


def _read_edition(path: str | Path, edition: int) -> pd.DataFrame:
    p = Path(path)
    parsed = _parse_all(p)
    for item in parsed:
        if item.meta["edition"] == edition:
            return item.frame
    found = sorted({item.meta["edition"] for item in parsed})
    raise InputFileError(p, f"expected IoD{edition}, found IoD{', IoD'.join(map(str, found))}")


def read_iod2019(path: str | Path) -> pd.DataFrame:
    """Read an IoD2019 file (File 1, 2, 3, 5, 6 or 7; CSV or workbook) on LSOA 2011."""
    return _read_edition(path, 2019)


def read_iod2025(path: str | Path) -> pd.DataFrame:
    """Read an IoD2025 file (MHCLG layouts or the humaniverse tidy CSV) on LSOA 2021."""
    return _read_edition(path, 2025)


def _iod_results(path: Path) -> list[ReadResult]:
    results = []
    for item in _parse_all(path):
        edition = item.meta["edition"]
        publisher = MHCLG
        attribution = ""
        if item.columns.tidy:
            attribution = "Repackaged by the humaniverse IMD R package (MIT code; data OGL v3)"
        title = item.title + (f" (sheet {item.table.sheet})" if item.table.sheet else "")
        period = f"IoD{edition}" + (f", published {PUBLISHED[edition]}" if edition in PUBLISHED else "")
        src = source_info(path, title=title, publisher=publisher, period=period, attribution=attribution)
        notes = item.notes + [f"{len(item.frame):,} LSOAs ({item.meta['vintage']} geography)"]
        results.append(ReadResult("deprivation", item.frame, src, notes, item.meta))
    return results


# ---------------------------------------------------------------------------------------------
# Leicester City Council's deprivation-in-leicester-2025 workbook


def read_leicester_iod2025(path: str | Path) -> tuple[pd.DataFrame, gpd.GeoDataFrame, dict[str, Any], list[str]]:
    """Read Leicester's IoD2025 workbook: the deprivation frame and the LSOA polygons.

    The sheet (``Feuil1``) repeats MHCLG's IoD2025 scores, ranks and deciles per LSOA 2021 with
    ONS geography and a GeoJSON polygon per LSOA in ``LSOAGeo Shape``. Returns
    (deprivation frame, boundaries GeoDataFrame, boundaries meta, notes).
    """
    p = Path(path)
    tables = load_tables(p, _leicester_header, _leicester_gaps)
    parsed = _parse(tables[0], p)
    table = parsed.table
    shape_col = next(c for c in table.frame.columns if norm(c) == "lsoageo shape")
    name_col = next((f.column for f in match_fields(table.frame.columns) if f.canonical == "lsoa_name"), None)
    geoms = []
    for i, text in enumerate(table.frame[shape_col].tolist()):
        try:
            geom = shapely.from_geojson(str(text)) if isinstance(text, str) and text.strip() else None
        except Exception:  # noqa: BLE001 - shapely raises GEOSException/ValueError variants
            geom = None
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputFileError(
                p, f"expected a GeoJSON polygon, found {str(text)[:60]!r}",
                row=i + table.row_offset, column=shape_col, sheet=table.sheet,
            )
        geoms.append(geom)
    gdf = gpd.GeoDataFrame(
        {
            "area_code": parsed.frame["lsoa_code"].to_numpy(),
            "area_name": text_column(table, name_col).to_numpy() if name_col else pd.NA,
            "area_type": "lsoa",
        },
        geometry=geoms,
        crs=4326,
    )
    check_country_extents(gdf, p, column=shape_col, row_offset=table.row_offset)
    gdf, repaired = repair_polygons(gdf, path=p, column=shape_col, row_offset=table.row_offset)
    notes = list(parsed.notes)
    if repaired:
        notes.append(f"repaired {len(repaired)} invalid polygons with make_valid ({', '.join(repaired[:10])})")
    generalisation, how = guess_generalisation(gdf)
    notes.append(f"generalisation {generalisation}: {how}")
    meta = {"area_type": "lsoa", "vintage": parsed.meta["vintage"], "generalisation": generalisation,
            "repaired": len(repaired)}
    return parsed.frame, gdf, meta, notes


def _leicester_results(path: Path) -> list[ReadResult]:
    frame, gdf, bmeta, notes = read_leicester_iod2025(path)
    publisher = "Leicester City Council (re-publishing MHCLG IoD2025 with ONS geography)"
    attribution = "Leicester Open Data portal; licence believed OGL v3 (not stated in the file)"
    dep = source_info(
        path, title="Deprivation in Leicester 2025 (IoD2025 scores, ranks and deciles)",
        publisher=publisher, period="IoD2025", attribution=attribution,
    )
    bnd = source_info(
        path, title="Leicester LSOA 2021 polygons (deprivation-in-leicester-2025)",
        publisher=publisher, period="2021", attribution=attribution,
    )
    meta = {"vintage": bmeta["vintage"], "edition": int(frame["edition"].iloc[0]) if len(frame) else 2025,
            "layout": "Leicester City Council IoD2025 workbook", "population_period": "mid-2022"}
    return [
        ReadResult("deprivation", frame, dep, [n for n in notes if not n.startswith(("generalisation", "repaired"))], meta),
        ReadResult("boundaries", gdf, bnd, [n for n in notes if n.startswith(("generalisation", "repaired"))], bmeta),
    ]


def sniff_iod(path: Path) -> bool:
    """An LSOA code column plus IoD rank/decile/score or population-denominator columns."""
    return sniff_header(path, _iod_header)


def sniff_leicester(path: Path) -> bool:
    """The Leicester workbook: IoD columns and an ``LSOAGeo Shape`` polygon column."""
    return sniff_header(path, _leicester_header)


READERS: list[Reader] = [
    Reader(
        "leicester_iod2025",
        "deprivation",
        "Leicester City Council deprivation-in-leicester-2025 workbook (IoD2025 + LSOA polygons)",
        sniff_leicester,
        _leicester_results,
    ),
    Reader(
        "iod",
        "deprivation",
        "English Indices of Deprivation 2015/2019/2025 (MHCLG files 1-7, humaniverse extract)",
        sniff_iod,
        _iod_results,
    ),
]
