"""Readers of ONS geography: boundaries, LSOA lookups, the LSOA 2011->2021 crosswalk, wards.

Formats recognised by content (never by file name):

- **boundaries**: GeoJSON, GeoPackage, FlatGeobuf, zipped shapefile or zipped GeoPackage in any
  CRS, with ONS field names for LSOA/MSOA/ward/LAD 2011-2024 (``LSOA11CD``, ``lsoa21_code``,
  ``MSOA11CD``, ``WD13CD``, ``ward22_code``, ``LAD22CD``, ``ltla24_code`` ...). Returned in
  EPSG:4326 with invalid polygons repaired (``make_valid``, polygonal parts kept, within
  :data:`REPAIR_SECONDS`). Refused, naming the feature: more than :data:`MAX_FEATURE_VERTICES`
  vertices, lon/lat swapped, degrees labelled as British National Grid (or metres as degrees),
  a feature outside the ONS extent of the nation its code names (:data:`COUNTRY_EXTENTS_BNG`),
  a file with no English area.
- **lookup**: one row per LSOA with its parents (ONS ``LSOA21_WD24_LAD24``,
  ``LSOA21_SICBL24_ICB24``, ``LSOA11_WD21_LAD21`` workbook, geographr and House of Commons
  Library compilations).
- **lsoa_crosswalk**: the ONS LSOA 2011 -> 2021 best-fit lookup (``change_code`` U/S/M/X).
- **ward_lookup**: ONS Ward -> LAD -> County -> Region lookups.

Also the ONS geography knowledge other readers use: :func:`match_fields` (which header names are
LSOA/MSOA/ward/LAD codes and of which year) and :func:`lsoa_vintage_from_codes`. The table
plumbing (header search, code checks, validation) is in ``_common.py``.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputFileError
from ..schemas import Areas, Lookup
from ._common import (
    LAST_LSOA11,
    LSOA_RE,
    Gap,
    Table,
    check_codes,
    check_unique,
    load_tables,
    plain_strings,
    sniff_header,
    source_info,
    text_column,
    validate_frame,
)
from ._sniff import is_gzip, is_spreadsheet, norm, read_head_bytes, zip_members
from .registry import Reader, ReadResult

__all__ = [
    "READERS",
    "lsoa_code_gap",
    "recognised_fields",
    "read_boundaries",
    "read_lookup",
    "read_lsoa_crosswalk",
    "read_ward_lookup",
    "msoa21_from_names",
    "repair_polygons",
    "check_vertex_budget",
    "check_coordinates",
    "check_country_extents",
    "check_has_england",
    "guess_generalisation",
    "MAX_FEATURE_VERTICES",
    "REPAIR_SECONDS",
    "COUNTRY_EXTENTS_BNG",
    "EXTENT_MARGIN_M",
    "lsoa_vintage_from_codes",
]

ONS = "Office for National Statistics (ONS)"
OS_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data (c) Crown copyright and database right"
)
#: ONS generalisations, finest first, with the median vertex spacing (m) we take as their upper end
GENERALISATIONS = (("BFC", 25.0), ("BGC", 250.0), ("BSC", 1200.0), ("BUC", float("inf")))
AREA_TYPES = ("lsoa", "msoa", "ward", "lad")

#: most vertices one boundary feature may have. ONS generalised LSOAs have a few hundred (the
#: largest BSC LSOA 2021 has 179); checked with ``shapely.get_num_coordinates`` before any
#: validity test or repair, whose cost grows faster than the vertex count.
MAX_FEATURE_VERTICES = 100_000
#: seconds ``make_valid`` may take for one file's invalid polygons. The repair runs in a child
#: process that is killed at the limit: GEOS cannot be interrupted in-process, and its cost
#: depends on the number of self-intersections, not only on the vertices (a 300-vertex
#: scribble takes seconds), so no vertex budget alone can bound it.
REPAIR_SECONDS = 10.0
#: bounding boxes (x min, y min, x max, y max) in British National Grid metres (EPSG:27700) of
#: the four nations, by the first letter of their ONS codes: the extents of the English (E),
#: Welsh (W), Scottish (S) and Northern Irish (N) districts in ONS "Local Authority Districts
#: (December 2022) Boundaries UK BUC" (ONS Open Geography Portal; OGL v3), measured by
#: ``tests/test_io_geography.py`` from the copy in ``../shared/data``. England's agrees with its
#: extreme points: Lowestoft Ness (655,586 E), Marshall Meadows Bay (657,537 N), Lizard Point
#: (11,509 N); the Isles of Scilly reach 80,703 E, 6,400 N (Bishop Rock).
COUNTRY_EXTENTS_BNG: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "E": ("England", (87_323.0, 7_054.0, 655_654.0, 657_550.0)),
    "W": ("Wales", (146_597.0, 165_524.0, 355_273.0, 395_313.0)),
    "S": ("Scotland", (5_513.0, 530_255.0, 468_685.0, 1_220_310.0)),
    "N": ("Northern Ireland", (-116.0, 466_188.0, 177_683.0, 610_194.0)),
}
#: allowance around those extents: the ultra-generalised (BUC) lines cut corners that full
#: resolution (BFC/BFE) boundaries and offshore rocks (Bishop Rock) reach
EXTENT_MARGIN_M = 10_000.0
#: a rough lon/lat box of metropolitan France, only to name where shifted polygons landed
_FRANCE_LONLAT = (-5.2, 42.3, 8.3, 51.1)


def lsoa_vintage_from_codes(codes: Iterable[str]) -> str:
    """'2021' if any code was created in 2021 (above E01033768 / W01001958), else '2011'.

    A subset holding only codes unchanged since 2011 reads as '2011': prefer the vintage in
    the column name (``LSOA21CD``) where there is one.
    """
    s = pd.Series(list(codes), dtype="string").dropna()
    s = s[s.str.match(LSOA_RE.pattern)]
    if s.empty:
        return "2011"
    num = pd.to_numeric(s.str[3:], errors="coerce")
    new = ((s.str[0] == "E") & (num > LAST_LSOA11["E"])) | ((s.str[0] == "W") & (num > LAST_LSOA11["W"]))
    return "2021" if bool(new.any()) else "2011"


def _year(two_or_four: str | None) -> str | None:
    if not two_or_four:
        return None
    return two_or_four if len(two_or_four) == 4 else f"20{two_or_four}"


# ---------------------------------------------------------------------------------------------
# field names


#: canonical column -> pattern on the normalised header; group "y" is the 2/4-digit year
_FIELDS: tuple[tuple[str, str], ...] = (
    ("lsoa_code", r"^lsoa[ _]?(?P<y>\d\d)?[ _]?(cd|code)( \((?P<y4>20\d\d)\))?$"),
    ("lsoa_name", r"^lsoa[ _]?(?P<y>\d\d)?[ _]?(nm|name)( \((?P<y4>20\d\d)\))?$"),
    ("msoa_code", r"^msoa[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
    ("msoa_name", r"^msoa[ _]?(?P<y>\d\d)?[ _]?(nm|name)$"),
    ("ward_code", r"^(wd|ward)[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
    ("ward_name", r"^(wd|ward)[ _]?(?P<y>\d\d)?[ _]?(nm|name)$"),
    ("lad_code", r"^(lad|ltla)[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
    ("lad_name", r"^(lad|ltla)[ _]?(?P<y>\d\d)?[ _]?(nm|name)$"),
    ("sub_icb_code_nhs", r"^sicbl[ _]?(?P<y>\d\d)?[ _]?(cdh|code_nhs)$"),
    ("sub_icb_code", r"^sicbl[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
    ("sub_icb_name", r"^sicbl[ _]?(?P<y>\d\d)?[ _]?(nm|name)$"),
    ("icb_code_nhs", r"^icb[ _]?(?P<y>\d\d)?[ _]?(cdh|code_nhs)$"),
    ("icb_code", r"^icb[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
    ("icb_name", r"^icb[ _]?(?P<y>\d\d)?[ _]?(nm|name)$"),
    ("county_code", r"^(cty|county)[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
    ("county_name", r"^(cty|county)[ _]?(?P<y>\d\d)?[ _]?(nm|name)$"),
    ("region_code", r"^(rgn|region)[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
    ("region_name", r"^(rgn|region)[ _]?(?P<y>\d\d)?[ _]?(nm|name)$|^region$"),
)
_FIELD_RES = tuple((canon, re.compile(p)) for canon, p in _FIELDS)
_PARENT_CODES = ("msoa_code", "ward_code", "lad_code", "sub_icb_code", "icb_code")
_MEASURE_WORDS = re.compile(r"score|rank|decile|quintile|geo ?shape|population|residents|households")


@dataclass
class FieldMatch:
    column: str  # as in the file
    canonical: str
    year: str | None


def match_fields(columns: Sequence[str]) -> list[FieldMatch]:
    """ONS geography columns recognised in a header (original names kept), in header order."""
    out: list[FieldMatch] = []
    for col in columns:
        h = norm(col)
        for canon, rx in _FIELD_RES:
            m = rx.match(h)
            if m:
                gd = m.groupdict()
                out.append(FieldMatch(str(col), canon, _year(gd.get("y4") or gd.get("y"))))
                break
    return out


def _by_canon(fields: list[FieldMatch]) -> dict[str, list[FieldMatch]]:
    d: dict[str, list[FieldMatch]] = {}
    for f in fields:
        d.setdefault(f.canonical, []).append(f)
    return d


def _has_measures(cells: Sequence[str]) -> bool:
    return any(_MEASURE_WORDS.search(c) for c in cells)


def _crosswalk_header(cells: list[str]) -> bool:
    d = _by_canon(match_fields(cells))
    years = {f.year for f in d.get("lsoa_code", [])}
    return {"2011", "2021"} <= years


def _lookup_header(cells: list[str]) -> bool:
    if not cells or _has_measures(cells) or _crosswalk_header(cells):
        return False
    d = _by_canon(match_fields(cells))
    return len(d.get("lsoa_code", [])) == 1 and any(p in d for p in _PARENT_CODES)


def _ward_lookup_header(cells: list[str]) -> bool:
    if not cells or _has_measures(cells):
        return False
    d = _by_canon(match_fields(cells))
    return "ward_code" in d and "lad_code" in d and "lsoa_code" not in d


# what a row lacks to be one of these headers (for the error when no row is)

#: how LSOA code columns are spelt: ONS, repackagings (geographr, demographr), MHCLG, HoC Library
_LSOA_SPELLINGS = (
    "LSOA21CD", "LSOA11CD", "lsoa21_code", "lsoa11_code", "LSOA_CODE", "LSOA code",
    "LSOA code (2011)", "LSOA code (2021)",
)
_PARENT_SPELLINGS = (
    "MSOA21CD", "WD24CD", "LAD24CD", "SICBL24CD", "ICB24CD", "msoa21_code", "ward24_code",
    "ltla24_code", "MSOA_CODE", "LAD_CODE",
)


def _texts(cells: Sequence[object]) -> list[str]:
    return ["" if c is None else str(c) for c in cells]


def recognised_fields(cells: Sequence[object]) -> frozenset[str]:
    """Normalised names of the cells that are ONS geography columns (never a 'closest match')."""
    return frozenset(norm(f.column) for f in match_fields(_texts(cells)))


def lsoa_code_gap(
    cells: Sequence[object],
    examples: Sequence[str] = ("LSOA21CD", "lsoa21_code"),
    ignore: Iterable[str] = (),
    what: str = "an LSOA code column",
) -> Gap:
    """A missing LSOA code column, with ``examples`` as the names to show (the format's own)."""
    shown = " or ".join(repr(e) for e in examples)
    return Gap(
        f"{what} such as {shown}",
        (*examples, *_LSOA_SPELLINGS),
        recognised_fields(cells) | frozenset(norm(c) for c in ignore),
        like="lsoa",
    )


def _measure_gap(cells: Sequence[str], what: str) -> list[Gap]:
    found = [c for c in cells if _MEASURE_WORDS.search(norm(c))]
    if not found:
        return []
    return [Gap(f"has measure columns such as {found[0].strip()!r}, which {what} has not "
                "(is it another kind of file?)", missing=False)]


def _lookup_gaps(cells: Sequence[object]) -> list[Gap]:
    texts = _texts(cells)
    d = _by_canon(match_fields(texts))
    out: list[Gap] = []
    lsoas = d.get("lsoa_code", [])
    if not lsoas:
        out.append(lsoa_code_gap(texts))
    if not any(p in d for p in _PARENT_CODES):
        out.append(Gap(
            "a parent area code column such as 'MSOA21CD', 'WD24CD', 'LAD24CD', 'SICBL24CD' or "
            "'ICB24CD'", _PARENT_SPELLINGS, recognised_fields(texts), like="msoa|wd|ward|lad|ltla|icb",
        ))
    if {"2011", "2021"} <= {f.year for f in lsoas}:
        out.append(Gap("has LSOA codes of 2011 and of 2021: an LSOA 2011 to 2021 lookup, not an "
                       "LSOA lookup", missing=False))
    elif len(lsoas) > 1:
        out.append(Gap(f"has {len(lsoas)} LSOA code columns "
                       f"({', '.join(repr(f.column) for f in lsoas)}); expected one", missing=False))
    return out + _measure_gap(texts, "an LSOA lookup")


def _crosswalk_gaps(cells: Sequence[object]) -> list[Gap]:
    texts = _texts(cells)
    years = {f.year for f in match_fields(texts) if f.canonical == "lsoa_code"}
    return [
        lsoa_code_gap(texts, (f"LSOA{y[2:]}CD", f"lsoa{y[2:]}_code"), what=f"an LSOA {y} code column")
        for y in ("2011", "2021") if y not in years
    ]


def _ward_lookup_gaps(cells: Sequence[object]) -> list[Gap]:
    texts = _texts(cells)
    d = _by_canon(match_fields(texts))
    known = recognised_fields(texts)
    out: list[Gap] = []
    if "ward_code" not in d:
        out.append(Gap("a ward code column such as 'WD22CD' or 'ward22_code'",
                       ("WD22CD", "WD24CD", "ward22_code", "ward24_code", "WD_CODE", "ward code"), known,
                       like="wd|ward"))
    if "lad_code" not in d:
        out.append(Gap("a local authority code column such as 'LAD22CD' or 'ltla22_code'",
                       ("LAD22CD", "LAD24CD", "ltla22_code", "lad22_code", "LAD_CODE"), known,
                       like="lad|ltla|local authority"))
    if "lsoa_code" in d:
        out.append(Gap(f"has an LSOA code column ({d['lsoa_code'][0].column!r}): an LSOA lookup, "
                       "not a ward lookup", missing=False))
    return out + _measure_gap(texts, "a ward lookup")


# ---------------------------------------------------------------------------------------------
# lookups


def _lookup_frame(table: Table, path: Path, notes: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    fields = match_fields(table.frame.columns)
    d = _by_canon(fields)
    lsoa = d["lsoa_code"][0]
    out = pd.DataFrame({"lsoa_code": text_column(table, lsoa.column)})
    names = {"lsoa_code": lsoa.column}
    parents: dict[str, str] = {}
    for f in fields:
        if f.canonical in out.columns or f.canonical == "lsoa_code":
            continue
        out[f.canonical] = text_column(table, f.column)
        names[f.canonical] = f.column
        if f.year and f.canonical.endswith("_code"):
            parents[f.canonical.removesuffix("_code")] = f.year
    # Scottish data zones and NI super output areas are not LSOAs
    other = out["lsoa_code"].fillna("").str.match(r"^(S01|95|N0)")
    if other.any():
        notes.append(
            f"dropped {int(other.sum()):,} rows for Scottish data zones / NI areas (not LSOAs)"
        )
    _swap_ons_nhs(out, notes)
    keep = ~other.to_numpy()
    # rows keep their file positions for errors: check before dropping
    check_codes(out["lsoa_code"].where(~other, "E01000000"), path, lsoa.column, table,
                vintage=lsoa.year)
    check_unique(out["lsoa_code"].where(~other), path, lsoa.column, table)
    for canon in ("msoa_code", "ward_code", "lad_code"):
        if canon in out:
            blank = out[canon].isna() & ~other
            if blank.all():
                raise InputFileError(
                    path, "expected codes in this column, found none", column=names[canon],
                    row=table.row_offset, sheet=table.sheet,
                )
    order = ["lsoa_code"] + [c for c, _ in _FIELDS if c in out.columns and c != "lsoa_code"]
    out = out[order]
    vintage = lsoa.year or lsoa_vintage_from_codes(out["lsoa_code"])
    if lsoa.year is None:
        notes.append(f"LSOA vintage {vintage} inferred from the codes (the header names no year)")
    out = validate_frame(Lookup, out[keep], path, table, what="LSOA lookup", column_names=names)
    out = out.reset_index(drop=True)
    meta = {
        "vintage": vintage,
        "parents": [c.removesuffix("_code") for c in order if c in _PARENT_CODES or c == "region_code"],
        "parent_vintages": parents,
    }
    return out, meta


def _swap_ons_nhs(out: pd.DataFrame, notes: list[str]) -> None:
    """``sub_icb_code``/``icb_code`` carry ONS codes (E38/E54); NHS codes go to ``*_nhs``."""
    for canon, prefix in (("sub_icb_code", "E38"), ("icb_code", "E54")):
        nhs = f"{canon}_nhs"
        if canon in out and nhs in out:
            ons_here = out[canon].dropna().str.startswith(prefix).mean() if out[canon].notna().any() else 1
            ons_there = out[nhs].dropna().str.startswith(prefix).mean() if out[nhs].notna().any() else 0
            if ons_here < 0.5 and ons_there > 0.5:
                out[[canon, nhs]] = out[[nhs, canon]].to_numpy()
                notes.append(f"{canon}: ONS {prefix} codes taken from the column the file marks as NHS")


def read_lookup(path: str | Path) -> list[tuple[pd.DataFrame, dict[str, Any], list[str], str | None]]:
    """Read an ONS LSOA lookup: ``lsoa_code`` + whichever parents the file has.

    Parents are ``msoa``, ``ward``, ``lad``, ``sub_icb``, ``icb``, ``county``, ``region``
    ``_code``/``_name``; sub-ICB and ICB carry the ONS codes (E38/E54) with the NHS codes beside
    them as ``*_code_nhs``. Scottish data zones are dropped (they are not LSOAs). Returns one
    ``(frame, meta, notes, sheet)`` per table found; meta ``vintage`` is "2011" or "2021".
    """
    p = Path(path)
    out = []
    for table in load_tables(p, _lookup_header, _lookup_gaps):
        notes = list(table.notes)
        frame, meta = _lookup_frame(table, p, notes)
        out.append((frame, meta, notes, table.sheet))
    return out


def _read_lookup_results(path: Path) -> list[ReadResult]:
    results = []
    label = {"msoa": "MSOA", "ward": "ward", "lad": "LAD", "sub_icb": "sub-ICB", "icb": "ICB",
             "region": "region"}
    for frame, meta, notes, sheet in read_lookup(path):
        years = meta["parent_vintages"]
        parents = ", ".join(
            f"{label.get(k, k)} {years[k]}" if k in years else label.get(k, k) for k in meta["parents"]
        )
        src = source_info(
            path,
            title=f"ONS lookup: LSOA {meta['vintage']} to {parents or 'parent areas'}"
            + (f" (sheet {sheet})" if sheet else ""),
            publisher=ONS,
            period=", ".join(f"{label.get(k, k)} {v}" for k, v in years.items()) or meta["vintage"],
        )
        results.append(ReadResult("lookup", frame, src, notes, meta))
    return results


def read_lsoa_crosswalk(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Read the ONS LSOA 2011 -> 2021 best-fit lookup: lsoa11_code, lsoa21_code, change_code, lad_code.

    ``change_code`` is ONS's CHGIND: U unchanged, S split, M merged, X irregular. Each
    (2011, 2021) pair appears once.
    """
    p = Path(path)
    table = load_tables(p, _crosswalk_header, _crosswalk_gaps)[0]
    notes = list(table.notes)
    d = _by_canon(match_fields(table.frame.columns))
    c11 = next(f for f in d["lsoa_code"] if f.year == "2011")
    c21 = next(f for f in d["lsoa_code"] if f.year == "2021")
    norm_cols = {norm(c): c for c in table.frame.columns}
    chg = next((norm_cols[k] for k in ("change_code", "chgind", "change code") if k in norm_cols), None)
    if chg is None:
        raise InputFileError(
            p, "missing column 'CHGIND' (or 'change_code'): expected the change indicator U/S/M/X",
            row=table.header_row, column="CHGIND", sheet=table.sheet,
        )
    out = pd.DataFrame(
        {
            "lsoa11_code": text_column(table, c11.column),
            "lsoa21_code": text_column(table, c21.column),
            "change_code": text_column(table, chg).str.upper(),
        }
    )
    if "lad_code" in d:
        out["lad_code"] = text_column(table, d["lad_code"][0].column)
    check_codes(out["lsoa11_code"], p, c11.column, table)
    check_codes(out["lsoa21_code"], p, c21.column, table)
    bad = ~out["change_code"].fillna("").isin(["U", "S", "M", "X"])
    pos = np.flatnonzero(bad.to_numpy())
    if len(pos):
        i = int(pos[0])
        raise InputFileError(
            p, f"expected a change code U, S, M or X, found {out['change_code'].iloc[i]!r}",
            row=i + table.row_offset, column=chg, sheet=table.sheet,
        )
    pair = out["lsoa11_code"] + ">" + out["lsoa21_code"]
    check_unique(pair, p, c21.column, table, what="LSOA 2011 > 2021 pair")
    return plain_strings(out.reset_index(drop=True)), notes


def _read_crosswalk_results(path: Path) -> list[ReadResult]:
    frame, notes = read_lsoa_crosswalk(path)
    counts = frame["change_code"].value_counts().to_dict()
    notes.append("change codes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    src = source_info(
        path, title="ONS LSOA 2011 to LSOA 2021 best-fit lookup", publisher=ONS, period="2021"
    )
    return [ReadResult("lsoa_crosswalk", frame, src, notes, {"vintage": "2011->2021"})]


def read_ward_lookup(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Read an ONS Ward -> LAD (-> County -> Region) lookup, one row per ward and LAD.

    Columns: ward_code, ward_name, lad_code, lad_name, and county/region codes and names where
    the file has them (blank for the nations without counties or regions). Meta ``vintage`` is
    the wards' year.
    """
    p = Path(path)
    table = load_tables(p, _ward_lookup_header, _ward_lookup_gaps)[0]
    notes = list(table.notes)
    fields = match_fields(table.frame.columns)
    out = pd.DataFrame(index=table.frame.index)
    names: dict[str, str] = {}
    for f in fields:
        if f.canonical not in out.columns:
            out[f.canonical] = text_column(table, f.column)
            names[f.canonical] = f.column
    ward = next(f for f in fields if f.canonical == "ward_code")
    rx = re.compile(r"^[EWSN]\d{8}$")
    check_codes(out["ward_code"], p, ward.column, table, pattern=rx, what="a ward code like E05000001")
    check_codes(out["lad_code"], p, names["lad_code"], table, pattern=rx, what="a LAD code like E06000016")
    # a ward split between districts (E05014284 in Dec 2022) has one row per district
    pair = out["ward_code"] + ">" + out["lad_code"]
    check_unique(pair, p, ward.column, table, what="ward and LAD")
    meta = {"vintage": ward.year or "unknown"}
    return plain_strings(out.reset_index(drop=True)), meta, notes


def _read_ward_lookup_results(path: Path) -> list[ReadResult]:
    frame, meta, notes = read_ward_lookup(path)
    src = source_info(
        path, title=f"ONS Ward to LAD to County to Region lookup ({meta['vintage']})",
        publisher=ONS, period=str(meta["vintage"]),
    )
    return [ReadResult("ward_lookup", frame, src, notes, meta)]


def msoa21_from_names(lsoas: pd.DataFrame, msoas: pd.DataFrame) -> pd.DataFrame:
    """LSOA 2021 -> MSOA 2021 from names, for want of a national lookup file.

    ONS names every LSOA after its MSOA plus one letter (``Leicester 008A`` lies in
    ``Leicester 008``), so dropping the final letter gives the MSOA name. ``lsoas`` may be a
    boundaries frame (area_code/area_name) or a lookup (lsoa_code/lsoa_name); ``msoas`` a
    boundaries frame or one with msoa_code/msoa_name. Returns lsoa_code, msoa_code, msoa_name
    for every LSOA; both are NA where no MSOA has the name (check ``msoa_code.isna()``).
    """
    lcode, lname = _code_name(lsoas, "lsoa")
    mcode, mname = _code_name(msoas, "msoa")
    names = lsoas[lname].astype("string").str.strip()
    base = names.str.extract(r"^(.*\d{3})[A-Z]$", expand=False)
    index = (
        msoas.assign(_n=msoas[mname].astype("string").str.strip())
        .drop_duplicates("_n")
        .set_index("_n")[mcode]
        .astype("string")
    )
    code = base.map(index)
    out = pd.DataFrame(
        {
            "lsoa_code": lsoas[lcode].astype("string").to_numpy(),
            "msoa_code": code.to_numpy(),
            "msoa_name": base.where(code.notna()).to_numpy(),
        }
    )
    return plain_strings(out.astype("string"))


def _code_name(frame: pd.DataFrame, kind: str) -> tuple[str, str]:
    for code, name in ((f"{kind}_code", f"{kind}_name"), ("area_code", "area_name")):
        if code in frame.columns and name in frame.columns:
            return code, name
    raise ValueError(
        f"expected columns {kind}_code/{kind}_name or area_code/area_name, found {list(frame.columns)}"
    )


# ---------------------------------------------------------------------------------------------
# boundaries

_AREA_FIELDS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (
        area,
        re.compile(rf"^{pfx}[ _]?(?P<y>\d\d)?[ _]?(cd|code)$"),
        re.compile(rf"^{pfx}[ _]?(?P<y>\d\d)?[ _]?(nm|name)$"),
    )
    for area, pfx in (("lsoa", "lsoa"), ("msoa", "msoa"), ("ward", "(wd|ward)"), ("lad", "(lad|ltla)"))
)
_CODE_PATTERNS = {"lsoa": r"^[EW]01\d{6}$", "msoa": r"^[EW]02\d{6}$"}


@dataclass
class VectorSource:
    """A vector dataset recognised by content: the GDAL name to open and the layers in it."""

    target: str
    layers: list[str]
    hint: str  # text inside the file that may name its generalisation (layer/member/JSON name)


def _vector_source(path: Path) -> VectorSource | None:
    """Recognise GeoPackage, GeoJSON, FlatGeobuf, shapefile, or a zip of one, by content."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    target: str | None = None
    hint = ""
    if head.startswith(b"SQLite format 3\x00") or head.startswith(b"fgb\x03"):
        target = str(path)
    elif head[:4] == b"\x00\x00\x27\x0a" and path.suffix.lower() == ".shp":
        target = str(path)
    elif head.startswith(b"PK") and not is_spreadsheet(path):
        members = zip_members(path) or []
        for ext in (".gpkg", ".shp", ".geojson", ".json", ".fgb"):
            hits = [m for m in members if m.lower().endswith(ext) and "__macosx" not in m.lower()]
            if hits:
                target = f"/vsizip/{{{path.resolve()}}}/{hits[0]}"
                hint = hits[0]
                break
    else:
        raw = read_head_bytes(path, 4096) if is_gzip(path) else head
        text = (raw or b"").decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")
        if text.startswith("{") and re.search(r'"type"\s*:\s*"Feature(Collection)?"', text):
            if is_gzip(path):
                target = f"/vsigzip/{path.resolve()}"  # GDAL takes no {...} quoting here
            else:
                target = str(path)
            m = re.search(r'"name"\s*:\s*"([^"]*)"', text[:600])
            hint = m.group(1) if m else ""
    if target is None:
        return None
    try:
        import warnings

        import pyogrio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layers = [str(name) for name, _ in pyogrio.list_layers(target)]
    except Exception:  # noqa: BLE001
        return None
    if len(layers) == 1 and not hint:
        hint = layers[0] if head.startswith(b"SQLite") else ""
    return VectorSource(target, layers, hint)


def _layer_info(src: VectorSource, layer: str) -> dict[str, Any] | None:
    try:
        import warnings

        import pyogrio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pyogrio.read_info(src.target, layer=layer)
    except Exception:  # noqa: BLE001
        return None


def _area_fields(fields: Sequence[str]) -> tuple[str, str, str | None, str | None] | None:
    """(area_type, code field, name field, vintage) for the finest area type the fields name."""
    for area, code_rx, name_rx in _AREA_FIELDS:
        code = next((f for f in fields if code_rx.match(norm(f))), None)
        if code is None:
            continue
        year = _year(code_rx.match(norm(code)).group("y"))  # type: ignore[union-attr]
        name = next(
            (f for f in fields if name_rx.match(norm(f)) and not norm(f).endswith("nmw")), None
        )
        return area, code, name, year
    return None


def _boundary_layer(path: Path) -> tuple[VectorSource, str, dict[str, Any], tuple] | None:
    src = _vector_source(path)
    if src is None:
        return None
    for layer in src.layers:
        info = _layer_info(src, layer)
        if not info or info.get("geometry_type") in (None, "Point", "MultiPoint", "LineString"):
            continue
        fields = [str(f) for f in info["fields"]]
        area = _area_fields(fields)
        if area is not None:
            return src, layer, info, area
    return None


def _geojson_head_verdict(path: Path) -> bool | None:
    """Decide a plain GeoJSON from its first feature's text, without GDAL parsing it all.

    None when the head does not show both the first feature's properties and geometry type
    (ONS files may put a long geometry first): the caller then asks GDAL.
    """
    raw = read_head_bytes(path, 65536)
    if raw is None or is_gzip(path):
        return None
    text = raw.decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")
    if not text.startswith("{") or not re.search(r'"type"\s*:\s*"FeatureCollection"', text):
        return None
    start = text.find('"features"')  # skip the CRS member, which has "properties" too
    if start < 0:
        return None
    props = re.search(r'"properties"\s*:\s*\{([^{}]*)\}', text[start:])
    geom = re.search(r'"geometry"\s*:\s*\{\s*"type"\s*:\s*"(\w+)"', text[start:])
    if props is None or geom is None:
        return None
    keys = re.findall(r'"([^"]+)"\s*:', props.group(1))
    return geom.group(1) in ("Polygon", "MultiPolygon") and _area_fields(keys) is not None


def sniff_boundaries(path: Path) -> bool:
    """A polygon layer with ONS LSOA/MSOA/ward/LAD code fields (GeoJSON, GPKG, zip, FGB)."""
    try:
        verdict = _geojson_head_verdict(Path(path))
        if verdict is not None:
            return verdict
        return _boundary_layer(Path(path)) is not None
    except Exception:  # noqa: BLE001
        return False


def _polygonal(geom: Any) -> Any:
    """The polygonal part of a repaired geometry (make_valid may add lines or points)."""
    from shapely.geometry import MultiPolygon, Polygon

    if geom is None or geom.is_empty or isinstance(geom, Polygon | MultiPolygon):
        return geom
    polys: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            polys.append(part)
        elif isinstance(part, MultiPolygon):
            polys.extend(part.geoms)
        elif hasattr(part, "geoms"):
            sub = _polygonal(part)
            if isinstance(sub, Polygon):
                polys.append(sub)
            elif isinstance(sub, MultiPolygon):
                polys.extend(sub.geoms)
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


_REPAIR_CHILD = (
    "import pickle, sys, shapely\n"
    "geoms = shapely.from_wkb(pickle.load(sys.stdin.buffer))\n"
    "sys.stdout.buffer.write(pickle.dumps(shapely.to_wkb(shapely.make_valid(geoms))))\n"
)


def _make_valid_bounded(geoms: np.ndarray, seconds: float) -> np.ndarray | None:
    """``shapely.make_valid`` in a child process killed after ``seconds``; None on timeout.

    A child process, not a thread: GEOS holds the CPU in C code that no Python thread can stop,
    and a killed process leaves nothing behind. Starting it costs about 0.1 s, paid only by
    files that have invalid polygons.
    """
    if not sys.executable:  # an embedded interpreter cannot start a child: repair in-process
        return np.asarray(shapely.make_valid(geoms), dtype=object)
    payload = pickle.dumps(shapely.to_wkb(geoms))
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", _REPAIR_CHILD], input=payload, capture_output=True,
            timeout=seconds, check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as err:  # the child died (out of memory, a GEOS abort)
        tail = err.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] if err.stderr else []
        raise RuntimeError(f"make_valid failed in its process (exit {err.returncode}{': ' + tail[0] if tail else ''})") from None
    return np.asarray(shapely.from_wkb(pickle.loads(done.stdout)), dtype=object)  # noqa: S301 - our child's output


def repair_polygons(
    gdf: gpd.GeoDataFrame,
    code_column: str = "area_code",
    *,
    path: str | Path | None = None,
    seconds: float = REPAIR_SECONDS,
    column: str = "geometry",
    row_offset: int = 1,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Repair invalid polygons with ``shapely.make_valid``, keeping polygonal parts only.

    Generalised ONS boundaries can self-intersect (4 of the 611 LLR LSOA 2011 BGC polygons do);
    overlays and area sums fail on them. Returns the frame and the codes that were repaired.
    The repair has ``seconds`` to finish (:data:`REPAIR_SECONDS`); beyond that the file is
    refused (an :class:`InputFileError` naming ``path``, the features and why they are invalid;
    rows are frame positions plus ``row_offset``) rather than left to run for minutes.
    """
    geoms = gdf.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if not invalid.any():
        return gdf, []
    pos = np.flatnonzero(invalid)
    try:
        fixed = _make_valid_bounded(geoms[invalid], seconds)
    except RuntimeError as err:
        raise InputFileError(
            path or "boundaries", f"{len(pos)} invalid polygon(s) could not be repaired: {err}",
            row=int(pos[0]) + row_offset, column=column,
        ) from None
    if fixed is None:
        codes = [str(c) for c in gdf[code_column].iloc[pos[:5]]]
        why = shapely.is_valid_reason(geoms[pos[0]])
        n = shapely.get_num_coordinates(geoms[invalid])
        raise InputFileError(
            path or "boundaries",
            f"{len(pos)} invalid polygon(s) could not be repaired within {seconds:g} s "
            f"({', '.join(codes)}{' ...' if len(pos) > 5 else ''}; the first: {why}, "
            f"{int(n[0]):,} vertices): simplify or repair the boundaries in a GIS first, or use "
            "an ONS generalised file (BGC or BSC)",
            row=int(pos[0]) + row_offset, column=column,
        )
    out = gdf.copy()
    out.loc[invalid, out.geometry.name] = [_polygonal(g) for g in fixed]
    return out, [str(c) for c in gdf.loc[invalid, code_column]]


def check_vertex_budget(
    geoms: np.ndarray, codes: Sequence[object], path: str | Path, *, limit: int = MAX_FEATURE_VERTICES
) -> None:
    """Refuse a feature with more than ``limit`` vertices, before anything costly runs on it.

    Counted with ``shapely.get_num_coordinates`` (linear, milliseconds for 200,000 vertices);
    validity tests and ``make_valid`` on such a feature can take minutes.
    """
    n = shapely.get_num_coordinates(geoms)
    over = np.flatnonzero(n > limit)
    if len(over):
        i = int(over[0])
        more = f" ({len(over)} features are over it)" if len(over) > 1 else ""
        raise InputFileError(
            path,
            f"feature {codes[i]!r} has {int(n[i]):,} vertices, more than the {limit:,} a boundary "
            f"may have{more}: use an ONS generalised file (BGC or BSC), or simplify it first",
            row=i + 1, column="geometry",
        )


def _span(b: np.ndarray, fmt: str = ",.0f") -> str:
    return f"x {b[0]:{fmt}} to {b[2]:{fmt}}, y {b[1]:{fmt}} to {b[3]:{fmt}}"


def check_coordinates(
    geoms: np.ndarray, codes: Sequence[object], crs: Any, path: str | Path
) -> None:
    """Coordinates that cannot be what the file's CRS says, before reprojection.

    - lon/lat swapped: a geographic CRS with x (longitude) in 49..61 and y (latitude) in
      -9..2.5, which is Great Britain read the wrong way round;
    - metres labelled as degrees: a geographic CRS with coordinates beyond +-180 (British
      National Grid written into a GeoJSON without its ``crs`` member, say);
    - degrees labelled as a projected CRS (EPSG:27700 in a ``.prj`` or ``crs`` member): every
      coordinate of the feature within +-180, which no area in metres from such an origin is.

    Each names the first feature, its row and the coordinates found.
    """
    if crs is None or len(geoms) == 0:
        return
    b = shapely.bounds(geoms)
    name = crs.name if hasattr(crs, "name") else str(crs)
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    label = f"EPSG:{epsg} ({name})" if epsg else name
    checks: list[tuple[np.ndarray, str]] = []
    if crs.is_geographic:
        swapped = (b[:, 0] >= 49) & (b[:, 2] <= 61) & (b[:, 1] >= -9) & (b[:, 3] <= 2.5)
        checks.append((swapped, "coordinates look like lon/lat swapped: found {span}, latitudes of "
                       "Great Britain in x and its longitudes in y; GeoJSON and EPSG:4326 files give "
                       "longitude (x) first"))
        metres = (np.abs(b) > 180).any(axis=1)
        checks.append((metres, "coordinates look like metres (British National Grid?) but the file "
                       f"says {label}, in degrees: {{span}}; state the CRS (a GeoJSON 'crs' "
                       "member or a shapefile .prj) or reproject to WGS 84"))
    elif crs.is_projected:
        degrees = (np.abs(b) <= 180).all(axis=1)
        what = "British National Grid" if epsg == 27700 else label
        checks.append((degrees, f"degrees labelled as {what}: the file says {label}, in metres, but "
                       "found {span}, longitudes and latitudes; its CRS should be EPSG:4326"))
    for bad, message in checks:
        pos = np.flatnonzero(bad)
        if len(pos):
            i = int(pos[0])
            span = _span(b[i], ".4f" if (np.abs(b[i]) <= 180).all() else ",.0f")
            more = f" ({len(pos)} of {len(geoms)} features like this)" if len(pos) > 1 else ""
            raise InputFileError(
                path, f"feature {codes[i]!r}: " + message.format(span=span) + more,
                row=i + 1, column="geometry",
            )


def _bng_bounds(geoms: np.ndarray) -> np.ndarray:
    """Each lon/lat geometry's box (n x 4) in British National Grid, from all its vertices.

    Every vertex is transformed (0.4 M vertices for all LSOAs of England and Wales: under a
    second): the four corners of a lon/lat box land well outside the feature in BNG for large
    areas (the Western Isles), so corners alone would refuse true boundaries.
    """
    import pyproj

    to_bng = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    out = np.full((len(geoms), 4), np.inf)
    if not len(coords):
        return out
    ex, ny = to_bng.transform(coords[:, 0], coords[:, 1], errcheck=False)
    ex = np.where(np.isfinite(ex), ex, np.inf)
    ny = np.where(np.isfinite(ny), ny, np.inf)
    starts = np.r_[0, np.flatnonzero(np.diff(idx)) + 1]
    which = idx[starts]
    out[which, 0] = np.minimum.reduceat(ex, starts)
    out[which, 1] = np.minimum.reduceat(ny, starts)
    out[which, 2] = np.maximum.reduceat(ex, starts)
    out[which, 3] = np.maximum.reduceat(ny, starts)
    return out


def _inside(box: np.ndarray, extent: tuple[float, float, float, float], margin: float) -> np.ndarray:
    x0, y0, x1, y1 = extent
    return (
        (box[:, 0] >= x0 - margin) & (box[:, 1] >= y0 - margin)
        & (box[:, 2] <= x1 + margin) & (box[:, 3] <= y1 + margin)
    )


def _where(lonlat: np.ndarray, bng: np.ndarray) -> str:
    """Where a misplaced feature is: another nation of the UK, France, or just its position."""
    for name, extent in COUNTRY_EXTENTS_BNG.values():
        if _inside(bng[None, :], extent, 0.0)[0]:
            return f"inside {name}'s extent"
    # rounded first, and + 0.0, so that a centre just below zero does not print as -0.00
    lon, lat = round((lonlat[0] + lonlat[2]) / 2, 2) + 0.0, round((lonlat[1] + lonlat[3]) / 2, 2) + 0.0
    if 49 <= lon <= 61 and -9 <= lat <= 2.5:
        return f"at longitude {lon:.2f}, latitude {lat:.2f}: coordinates look like lon/lat swapped"
    x0, y0, x1, y1 = _FRANCE_LONLAT
    if x0 <= lon <= x1 and y0 <= lat <= y1:
        return f"in France (longitude {lon:.2f}, latitude {lat:.2f})"
    return f"outside the UK (longitude {lon:.2f}, latitude {lat:.2f})"


def check_country_extents(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    code_column: str = "area_code",
    margin: float = EXTENT_MARGIN_M,
    column: str = "geometry",
    row_offset: int = 1,
) -> None:
    """Every feature inside the extent of the nation its code names, after reprojection.

    An ``E`` code must lie within England's box (:data:`COUNTRY_EXTENTS_BNG`, +- ``margin``),
    a ``W`` code within Wales's, and so on; a code of no nation within the UK's. Catches
    boundaries shifted or mis-projected into another country. The error names the feature,
    its row (frame position plus ``row_offset``), the box it should be in and where it was found.
    """
    if gdf.empty:
        return
    lonlat = shapely.bounds(gdf.geometry.to_numpy())
    bng = _bng_bounds(gdf.geometry.to_numpy())
    codes = gdf[code_column].astype("string").fillna("")
    first = codes.str[:1].to_numpy()
    uk = tuple(
        f(e[1][k] for e in COUNTRY_EXTENTS_BNG.values()) for k, f in ((0, min), (1, min), (2, max), (3, max))
    )
    ok = np.zeros(len(gdf), dtype=bool)
    for letter, (_, extent) in COUNTRY_EXTENTS_BNG.items():
        here = first == letter
        ok[here] = _inside(bng[here], extent, margin)
    other = ~np.isin(first, list(COUNTRY_EXTENTS_BNG))
    ok[other] = _inside(bng[other], uk, margin)  # type: ignore[arg-type]
    ok |= shapely.is_empty(gdf.geometry.to_numpy()) | shapely.is_missing(gdf.geometry.to_numpy())  # no place at all: other checks' business
    pos = np.flatnonzero(~ok)
    if not len(pos):
        return
    i = int(pos[0])
    name, extent = COUNTRY_EXTENTS_BNG.get(first[i], ("the UK", uk))  # type: ignore[arg-type]
    more = f" ({len(pos)} of {len(gdf)} features are outside)" if len(pos) > 1 else ""
    found = (
        "no finite British National Grid position" if not np.isfinite(bng[i]).all() else _span(bng[i])
    )
    raise InputFileError(
        path,
        f"feature {codes.iloc[i]!r} lies outside {name}: expected British National Grid "
        f"{_span(np.asarray(extent))} (ONS extent, +-{margin / 1000:g} km), found {found} "
        f"(longitude {lonlat[i, 0]:.4f} to {lonlat[i, 2]:.4f}, latitude {lonlat[i, 1]:.4f} to "
        f"{lonlat[i, 3]:.4f}), {_where(lonlat[i], bng[i])}; are the boundaries shifted or in the "
        f"wrong CRS?{more}",
        row=i + row_offset, column=column,
    )


def check_has_england(codes: pd.Series, path: str | Path, area: str, column: str) -> None:
    """A boundary file with no English area is of no use here: say what it holds instead."""
    c = codes.astype("string").fillna("")
    if c.empty or c.str.startswith("E").any():
        return
    names = {k: v[0] for k, v in COUNTRY_EXTENTS_BNG.items()}
    found = c.str[:1].map(lambda k: names.get(k, f"codes starting {k!r}")).value_counts()
    shown = (
        f"{'all ' if len(c) > 1 else ''}in {found.index[0]}" if len(found) == 1
        else ", ".join(f"{v:,} in {k}" for k, v in found.items())
    )
    label = {"ward": "ward"}.get(area, area.upper())
    raise InputFileError(
        path,
        f"holds no area in England: its {len(c):,} {label} code{'s' if len(c) > 1 else ''} "
        f"{'are' if len(c) > 1 else 'is'} {shown} (e.g. {c.iloc[0]!r}); hiexplore maps England, "
        "so it needs E-coded areas",
        column=column,
    )


def guess_generalisation(gdf: gpd.GeoDataFrame, hint: str = "", sample: int = 400) -> tuple[str, str]:
    """ONS generalisation code (BFC/BFE/BGC/BSC/BUC) and how it was decided.

    First from text inside the file (ONS layer names end ``..._BSC_V4``); else guessed from the
    median spacing of boundary vertices in metres: ONS generalises to about 20 m (BGC), 200 m
    (BSC) and 500 m (BUC), which leaves medians of roughly 70-170 m, 300-1,000 m and 1,500 m on
    the files we have seen. Returns ("unknown", reason) when it cannot tell.
    """
    m = re.search(r"(?<![a-z])(bfc|bfe|bgc|bsc|buc)(?![a-z])", hint.lower())
    if m:
        return m.group(1).upper(), f"named in the file ({hint})"
    try:
        g = gdf.geometry
        g = g[~g.is_empty & g.notna()]
        if g.empty:
            return "unknown", "no geometries"
        if len(g) > sample:
            g = g.sample(sample, random_state=0)
        crs = g.crs
        if crs is not None and crs.is_geographic:
            # a metric CRS: British National Grid for GB/NI, else the UTM zone of the centre
            # (computed directly: geopandas' estimate_utm_crs queries the PROJ database, ~0.3 s)
            minx, miny, maxx, maxy = g.total_bounds
            if -11 <= minx and maxx <= 3 and 49 <= miny and maxy <= 61.5:
                crs = "EPSG:27700"
            else:
                lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
                zone = int((lon + 180) // 6) % 60 + 1
                crs = f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"
        rings = shapely.get_exterior_ring(shapely.get_parts(g.to_crs(crs).to_numpy()))
        coords, idx = shapely.get_coordinates(rings, return_index=True)
        step = np.hypot(*np.diff(coords, axis=0).T)
        same = idx[1:] == idx[:-1]
        spacing = float(np.median(step[same]))
    except Exception as err:  # noqa: BLE001
        return "unknown", f"could not measure vertex spacing ({err})"
    code = next(c for c, upper in GENERALISATIONS if spacing <= upper)
    return code, f"guessed from the median vertex spacing ({spacing:,.0f} m)"


def _merge_duplicate_codes(gdf: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """One feature per code: parts published as separate features are unioned.

    ONS Wards Dec 2022 hold E05014284 twice (its parts in Ryedale and Scarborough); the
    canonical areas table has one polygon per code.
    """
    dup = gdf["area_code"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return gdf
    parts = gdf[dup]
    merged = parts.dissolve(by="area_code", aggfunc="first", as_index=False, sort=False)
    merged = merged[gdf.columns]
    codes = list(merged["area_code"])
    notes.append(
        f"merged {int(dup.sum())} features sharing {len(codes)} code(s) into one polygon each "
        f"({', '.join(codes[:10])}{' ...' if len(codes) > 10 else ''})"
    )
    first = ~gdf["area_code"].duplicated(keep="first").to_numpy()
    keep = gdf[~dup | first].copy()
    keep = keep.set_index("area_code", drop=False)
    keep.loc[merged["area_code"], keep.geometry.name] = merged.geometry.to_numpy()
    return keep.reset_index(drop=True)


def _read_vector(target: str, layer: str, columns: list[str], path: Path | None = None) -> gpd.GeoDataFrame:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            try:
                return gpd.read_file(target, layer=layer, columns=columns, engine="pyogrio", use_arrow=True)
            except ImportError:
                return gpd.read_file(target, layer=layer, columns=columns, engine="pyogrio")
        except InputFileError:
            raise
        except Exception as err:  # noqa: BLE001 - GDAL/GEOS raise their own types (unclosed ring ...)
            raise InputFileError(
                path or Path(target), f"the geometry could not be read ({type(err).__name__}: {err})",
                column="geometry",
            ) from None


def read_boundaries(
    path: str | Path,
    *,
    max_vertices: int = MAX_FEATURE_VERTICES,
    repair_seconds: float = REPAIR_SECONDS,
) -> tuple[gpd.GeoDataFrame, dict[str, Any], list[str]]:
    """Read ONS boundaries: GeoDataFrame(area_code, area_name, area_type, geometry) in EPSG:4326.

    Area type and vintage come from the field names (``LSOA11CD`` -> lsoa 2011, ``ward22_code``
    -> ward 2022, ``ltla24_code`` -> lad 2024). Invalid polygons are repaired. Meta: area_type,
    vintage, generalisation, repaired (count).

    Geography is checked, each failure an :class:`InputFileError` naming the feature and row:
    no feature over ``max_vertices`` (counted before anything costly runs); coordinates that
    cannot be in the stated CRS (lon/lat swapped, degrees labelled as British National Grid,
    metres labelled as degrees); after reprojection, every feature inside the extent of the
    nation its code names; at least one English area; repairs done within ``repair_seconds``.
    """
    p = Path(path)
    found = _boundary_layer(p)
    if found is None:
        raise InputFileError(
            p,
            "not a boundary file: expected a GeoJSON, GeoPackage or zipped shapefile with polygons "
            "and an ONS code field such as LSOA21CD, lsoa21_code, MSOA11CD, WD22CD or LAD22CD",
        )
    src, layer, info, (area, code_f, name_f, year) = found
    notes: list[str] = []
    if info.get("crs") is None:
        raise InputFileError(
            p,
            "the layer has no coordinate reference system (a shapefile needs its .prj file beside "
            "the .shp; ONS files in British National Grid are EPSG:27700)",
            column="geometry",
        )
    cols = [code_f] + ([name_f] if name_f else [])
    gdf = _read_vector(src.target, layer, cols, p)
    if len(src.layers) > 1:
        notes.append(f"read layer {layer!r} of {len(src.layers)}")
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputFileError(
            p, f"feature {gdf[code_f].iloc[i]!r} has no geometry; expected a polygon",
            row=i + 1, column="geometry",
        )
    types = set(shapely.get_type_id(geoms).tolist()) - {3, 6}
    if types:
        i = int(np.flatnonzero(~np.isin(shapely.get_type_id(geoms), [3, 6]))[0])
        raise InputFileError(
            p, f"expected polygons, found a {geoms[i].geom_type} for {gdf[code_f].iloc[i]!r}",
            row=i + 1, column="geometry",
        )
    codes_raw = gdf[code_f].to_numpy()
    check_vertex_budget(geoms, codes_raw, p, limit=max_vertices)
    check_coordinates(geoms, codes_raw, gdf.crs, p)
    crs = gdf.crs
    if crs is not None and crs.to_epsg() != 4326:
        if "CRS84" in crs.to_string().upper():  # lon/lat WGS 84: the same coordinates
            gdf = gdf.set_crs(4326, allow_override=True)
        else:
            notes.append(f"reprojected from {crs.to_string()} to EPSG:4326")
            gdf = gdf.to_crs(4326)
    from pyarrow import ArrowException

    text: dict[str, Any] = {}
    for field in (code_f, name_f):
        if not field:
            continue
        try:
            text[field] = gdf[field].astype("string").str.strip()
            text[field].to_numpy()  # arrow strings are checked only when materialised
        except (ValueError, TypeError, UnicodeError, ArrowException) as err:  # bytes that are not UTF-8
            raise InputFileError(p, f"not readable as text ({err})", column=field) from None
    code_s = text[code_f]
    name_s = text[name_f] if name_f else pd.NA
    out = gpd.GeoDataFrame(
        {
            "area_code": code_s,
            "area_name": name_s,
            "area_type": area,
        },
        geometry=gdf.geometry.to_numpy(),
        crs=4326,
    )
    table = Table(out, 0, None, [])  # features are numbered from 1
    pattern = _CODE_PATTERNS.get(area)
    if pattern:
        check_codes(out["area_code"], p, code_f, table, pattern=re.compile(pattern),
                    what=f"an {area.upper()} code")
    blank = out["area_code"].isna() | (out["area_code"] == "")
    if blank.any():
        check_codes(out["area_code"], p, code_f, table, pattern=re.compile(r"^\S+$"),
                    what=f"an {area.upper()} code")
    check_has_england(out["area_code"], p, area, code_f)
    check_country_extents(out, p)
    out, repaired = repair_polygons(out, path=p, seconds=repair_seconds)
    if repaired:
        shown = ", ".join(repaired[:10]) + (" ..." if len(repaired) > 10 else "")
        notes.append(f"repaired {len(repaired)} invalid polygons with make_valid ({shown})")
    out = _merge_duplicate_codes(out, notes)
    out = validate_frame(Areas, out, p, None, what="boundary layer",
                         column_names={"area_code": code_f, "area_name": name_f or "area_name"})
    vintage = year
    if vintage is None and area == "lsoa":
        vintage = lsoa_vintage_from_codes(out["area_code"])
        notes.append(f"LSOA vintage {vintage} inferred from the codes")
    generalisation, how = guess_generalisation(out, src.hint)
    notes.append(f"generalisation {generalisation}: {how}")
    meta = {
        "area_type": area,
        "vintage": vintage or "unknown",
        "generalisation": generalisation,
        "repaired": len(repaired),
        "code_field": code_f,
    }
    return out, meta, notes


def _read_boundary_results(path: Path) -> list[ReadResult]:
    gdf, meta, notes = read_boundaries(path)
    gen = meta["generalisation"]
    src = source_info(
        path,
        title=f"ONS {meta['area_type'].upper()} {meta['vintage']} boundaries"
        + (f" ({gen})" if gen != "unknown" else ""),
        publisher=ONS,
        period=str(meta["vintage"]),
        attribution=OS_ATTRIBUTION,
    )
    return [ReadResult("boundaries", gdf, src, notes, meta)]


# ---------------------------------------------------------------------------------------------
# sniffers and the registry entries


def sniff_lookup(path: Path) -> bool:
    """An LSOA column plus at least one parent code column (MSOA, ward, LAD, sub-ICB, ICB)."""
    return sniff_header(Path(path), _lookup_header)


def sniff_crosswalk(path: Path) -> bool:
    """Both an LSOA 2011 and an LSOA 2021 code column."""
    return sniff_header(Path(path), _crosswalk_header)


def sniff_ward_lookup(path: Path) -> bool:
    """Ward and LAD code columns and no LSOA column."""
    return sniff_header(Path(path), _ward_lookup_header)


READERS: list[Reader] = [
    Reader(
        "ons_boundaries",
        "boundaries",
        "ONS LSOA/MSOA/ward/LAD boundaries (GeoJSON, GeoPackage, zipped shapefile or GeoPackage)",
        sniff_boundaries,
        _read_boundary_results,
    ),
    Reader(
        "ons_lsoa11_lsoa21_lookup",
        "lsoa_crosswalk",
        "ONS LSOA 2011 to LSOA 2021 best-fit lookup (CSV or workbook)",
        sniff_crosswalk,
        _read_crosswalk_results,
    ),
    Reader(
        "ons_lsoa_lookup",
        "lookup",
        "ONS LSOA to MSOA / ward / LAD / sub-ICB / ICB lookup (CSV or workbook)",
        sniff_lookup,
        _read_lookup_results,
    ),
    Reader(
        "ons_ward_lookup",
        "ward_lookup",
        "ONS Ward to LAD to County to Region lookup",
        sniff_ward_lookup,
        _read_ward_lookup_results,
    ),
]
