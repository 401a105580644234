"""Readers of ONS population estimates and Census 2021 tables on LSOAs, recognised by header.

- **population**: ONS small-area estimates by single year of age (SAPE, e.g. mid-2020 on LSOA
  2011: ``lsoa11_code, total_population, 0 ... 90+`` as repackaged by demographr, or the ONS
  workbook ``LSOA Code ... All Ages, 0 ... 90+``) summed into the age bands that eligibility
  rules need (:data:`AGE_BANDS`); and the SAPE21DT11 mid-2018 population-density workbook
  (``Code, Name, Mid-2018 population, Area Sq Km``).
- **ethnicity**: Census 2021 TS021 (ethnic group, 5 categories), long (demographr:
  ``lsoa21_code, total_residents, ethnic_group, n, prop``) or the ONS bulk CSV
  (``geography code, Ethnic group: Total: All usual residents, Ethnic group: Asian ...``),
  returned wide as residents and shares.
- **household_deprivation**: Census 2021 TS011 (households by number of deprivation
  dimensions) in the same two layouts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..errors import InputFileError
from ..schemas import LSOA_PATTERN, Population
from ._common import (
    Gap,
    Table,
    as_numbers,
    check_codes,
    check_unique,
    load_tables,
    shown,
    sniff_header,
    source_info,
    text_column,
    validate_frame,
)
from ._sniff import norm
from .geography import lsoa_code_gap, lsoa_vintage_from_codes, match_fields, recognised_fields
from .registry import Reader, ReadResult

__all__ = [
    "READERS",
    "AGE_BANDS",
    "ETHNIC_GROUPS",
    "DEPRIVATION_DIMENSIONS",
    "read_population_syoa",
    "read_population_density",
    "read_ethnicity",
    "read_household_deprivation",
    "age_bands",
]

ONS = "Office for National Statistics (ONS)"
CENSUS_2021 = "Census 2021 (21 March 2021)"

#: band -> (first age, last age or None for "and over"). The broad bands describe a population;
#: the rest are eligible ages of national programmes: cervical screening 25-49 and 50-64, breast
#: 50-70 (53-70 for the coverage indicator), bowel 60-74, and the one-year cohorts of the
#: childhood immunisation schedule (ages 1, 2 and 5).
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "age_0_4": (0, 4),
    "age_5_15": (5, 15),
    "age_16_24": (16, 24),
    "age_25_49": (25, 49),
    "age_50_64": (50, 64),
    "age_65_74": (65, 74),
    "age_75_plus": (75, None),
    "age_50_70": (50, 70),
    "age_53_70": (53, 70),
    "age_60_74": (60, 74),
    "age_1_1": (1, 1),
    "age_2_2": (2, 2),
    "age_5_5": (5, 5),
}

#: Census 2021 five-category ethnic groups: column suffix -> words that identify the label
ETHNIC_GROUPS: dict[str, str] = {
    "asian": r"^asian",
    "black": r"^black",
    "mixed": r"^mixed",
    "white": r"^white",
    "other": r"^other",
}
#: TS011 household deprivation categories: column suffix -> words that identify the label
DEPRIVATION_DIMENSIONS: dict[str, str] = {
    "not_deprived": r"not deprived",
    "deprived_1": r"deprived in one dimension",
    "deprived_2": r"deprived in two dimensions",
    "deprived_3": r"deprived in three dimensions",
    "deprived_4": r"deprived in four dimensions",
}

_AGE_RE = re.compile(r"^(?:age ?)?(\d{1,3})(\+| and over)?$")
_TOTAL_RE = re.compile(r"^(total_population|total population|all ages|all_ages|population)$")


def _lsoa_col(columns: Sequence[str]) -> tuple[str, str | None] | None:
    """(column, year) of the LSOA code column, accepting ONS's bare ``geography code``/``Code``."""
    hit = next((f for f in match_fields(columns) if f.canonical == "lsoa_code"), None)
    if hit is not None:
        return hit.column, hit.year
    bare = next((c for c in columns if norm(c) in ("geography code", "code", "area code")), None)
    return (bare, None) if bare is not None else None


def _number_block(table: Table, columns: Sequence[str], path: Path) -> np.ndarray:
    """Parse many count columns at once; the first bad or blank cell names its row and column."""
    block = table.frame[list(columns)]
    arr = np.column_stack([as_numbers(table, c, path).to_numpy() for c in columns])
    bad = np.isnan(arr)
    if bad.any():
        rows, cols = np.nonzero(bad)
        order = np.lexsort((cols, rows))
        r, c = int(rows[order[0]]), int(cols[order[0]])
        found = block.iloc[r, c]
        blank = found is None or pd.isna(found) or not str(found).strip()
        hint = " (is the file truncated?)" if blank and r == len(block) - 1 else ""
        what = "a blank" if blank else shown(found)
        raise InputFileError(
            path, f"expected a number, found {what}{hint}",
            row=r + table.row_offset, column=str(columns[c]), sheet=table.sheet,
        )
    return arr


# ---------------------------------------------------------------------------------------------
# single year of age


def _age_columns(columns: Sequence[str]) -> dict[str, tuple[int, bool]]:
    out: dict[str, tuple[int, bool]] = {}
    for c in columns:
        m = _AGE_RE.match(norm(c))
        if m:
            out[c] = (int(m.group(1)), bool(m.group(2)))
    return out


def _syoa_header(cells: list[str]) -> bool:
    if _lsoa_col(cells) is None or not any(_TOTAL_RE.match(c) for c in cells):
        return False
    ages = {a for a, _ in _age_columns(cells).values()}
    return set(range(0, 90)) <= ages


def _syoa_gaps(cells: Sequence[object]) -> list[Gap]:
    """What a row lacks to be a single-year-of-age header: LSOA code, total, ages 0 to 89."""
    texts = ["" if c is None else str(c) for c in cells]
    ages = _age_columns(texts)
    totals = [c for c in texts if _TOTAL_RE.match(norm(c))]
    known = frozenset(norm(c) for c in (*ages, *totals))
    out: list[Gap] = []
    if _lsoa_col(texts) is None:
        out.append(lsoa_code_gap(texts, ("LSOA Code", "lsoa11_code"), ignore=known))
    if not totals:
        out.append(Gap("a total column such as 'All Ages' or 'total_population'",
                       ("All Ages", "total_population", "total population"),
                       known | recognised_fields(texts), like="total|all|pop"))
    lacking = sorted(set(range(0, 90)) - {a for a, _ in ages.values()})
    if lacking:
        shown = ", ".join(repr(str(a)) for a in lacking[:5]) + (" ..." if len(lacking) > 5 else "")
        out.append(Gap(f"the single-year-of-age column(s) {shown} (expected one per age 0 to 89, "
                       "then '90+')"))
    return out


def age_bands(single_years: pd.DataFrame, top_age: int, bands: dict[str, tuple[int, int | None]] = AGE_BANDS) -> pd.DataFrame:
    """Sum single-year-of-age columns (named by integer age) into ``bands``.

    ``top_age`` is the open-ended last column (90 for "90+"): a band that reaches past it
    cannot be formed and raises ValueError rather than silently undercount.
    """
    out = {}
    for name, (lo, hi) in bands.items():
        last = top_age if hi is None else hi
        if hi is not None and hi >= top_age:
            raise ValueError(f"band {name} reaches age {hi}, beyond the open-ended {top_age}+")
        out[name] = single_years[list(range(lo, last + 1))].sum(axis=1)
    return pd.DataFrame(out, index=single_years.index)


def read_population_syoa(path: str | Path, period: str | None = None) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Read ONS single-year-of-age LSOA estimates into ``lsoa_code, population, age_*``.

    The single years must add up to the total on every row (a mismatch means the columns were
    misread). ``period`` (e.g. "mid-2020") is taken from a workbook's sheet name where it says
    so; the demographr CSV does not state it, so it defaults to "mid-2020" with a note.
    """
    p = Path(path)
    table = load_tables(p, _syoa_header, _syoa_gaps)[0]
    notes = list(table.notes)
    cols = list(table.frame.columns)
    lsoa, year = _lsoa_col(cols)  # type: ignore[misc]
    total = next(c for c in cols if _TOTAL_RE.match(norm(c)))
    ages = _age_columns(cols)
    top = max(a for a, _ in ages.values())
    codes = text_column(table, lsoa)
    check_codes(codes, p, lsoa, table, vintage=year)
    check_unique(codes, p, lsoa, table)
    age_cols = sorted(ages, key=lambda c: ages[c][0])
    values = _number_block(table, [total, *age_cols], p)
    totals, single = values[:, 0], values[:, 1:]
    diff = np.abs(single.sum(axis=1) - totals)
    if (diff > 0.5).any():
        i = int(np.flatnonzero(diff > 0.5)[0])
        raise InputFileError(
            p, f"expected the single years of age to sum to the total ({totals[i]:,.0f}), "
            f"found {single[i].sum():,.0f}", row=i + table.row_offset, column=total, sheet=table.sheet,
        )
    frame_ages = pd.DataFrame(single, columns=[ages[c][0] for c in age_cols])
    frame = pd.concat(
        [pd.DataFrame({"lsoa_code": codes.astype(str).to_numpy(), "population": totals}),
         age_bands(frame_ages, top)],
        axis=1,
    )
    frame = validate_frame(Population, frame, p, table, what="population table",
                           column_names={"lsoa_code": lsoa, "population": total})
    if period is None:
        m = re.search(r"mid[- ]?(\d{4})", (table.sheet or "").lower())
        if m:
            period = f"mid-{m.group(1)}"
        else:
            period = "mid-2020"
            notes.append("period not stated in the file; taken as mid-2020 (ONS SAPE23DT2 as in demographr)")
    vintage = year or lsoa_vintage_from_codes(frame["lsoa_code"])
    notes.append(f"top age {top}+ is open-ended; persons (both sexes)")
    meta = {"vintage": vintage, "period": period, "sex": "persons", "top_age": top}
    return frame, meta, notes


def _syoa_results(path: Path) -> list[ReadResult]:
    frame, meta, notes = read_population_syoa(path)
    src = source_info(
        path, title=f"ONS small area population estimates by single year of age, LSOA {meta['vintage']}",
        publisher=ONS, period=meta["period"],
    )
    return [ReadResult("population", frame, src, notes, meta)]


# ---------------------------------------------------------------------------------------------
# population density (SAPE21DT11)

_DENSITY_POP = re.compile(r"^mid-?(\d{4}) population$")


def _density_header(cells: list[str]) -> bool:
    return (
        _lsoa_col(cells) is not None
        and "area sq km" in cells
        and any(_DENSITY_POP.match(c) for c in cells)
    )


def _density_gaps(cells: Sequence[object]) -> list[Gap]:
    """What a row lacks to be the SAPE21DT11 header: LSOA code, 'Mid-YYYY population', area."""
    texts = ["" if c is None else str(c) for c in cells]
    have = [norm(c) for c in texts]
    pops = [c for c in have if _DENSITY_POP.match(c)]
    known = frozenset(pops) | ({"area sq km"} & set(have))
    out: list[Gap] = []
    if _lsoa_col(texts) is None:
        out.append(lsoa_code_gap(texts, ("LSOA Code", "LSOA11CD"), ignore=known))
    if not pops:
        out.append(Gap("a population column such as 'Mid-2018 population'",
                       ("Mid-2018 population", "population"), known | recognised_fields(texts),
                       like="pop"))
    if "area sq km" not in have:
        out.append(Gap("an 'Area Sq Km' column", ("Area Sq Km",), known | recognised_fields(texts),
                       like="area|km"))
    return out


def read_population_density(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Read ONS SAPE21DT11 (mid-2018 LSOA population density): lsoa_code, population, area_sq_km.

    The workbook has a title block above the header; the header row is found by its text.
    """
    p = Path(path)
    table = load_tables(p, _density_header, _density_gaps)[0]
    notes = list(table.notes)
    cols = list(table.frame.columns)
    lsoa, year = _lsoa_col(cols)  # type: ignore[misc]
    pop = next(c for c in cols if _DENSITY_POP.match(norm(c)))
    area = next(c for c in cols if norm(c) == "area sq km")
    codes = text_column(table, lsoa)
    check_codes(codes, p, lsoa, table)
    check_unique(codes, p, lsoa, table)
    values = _number_block(table, [pop, area], p)
    frame = pd.DataFrame(
        {"lsoa_code": codes.astype(str).to_numpy(), "population": values[:, 0], "area_sq_km": values[:, 1]}
    )
    frame = validate_frame(Population, frame, p, table, what="population table",
                           column_names={"lsoa_code": lsoa, "population": pop})
    period = f"mid-{_DENSITY_POP.match(norm(pop)).group(1)}"  # type: ignore[union-attr]
    vintage = year or lsoa_vintage_from_codes(frame["lsoa_code"])
    if year is None:
        notes.append(f"LSOA vintage {vintage} inferred from the codes")
    return frame, {"vintage": vintage, "period": period}, notes


def _density_results(path: Path) -> list[ReadResult]:
    frame, meta, notes = read_population_density(path)
    src = source_info(
        path, title=f"ONS LSOA population density ({meta['period']})", publisher=ONS,
        period=meta["period"],
    )
    return [ReadResult("population", frame, src, notes, meta)]


# ---------------------------------------------------------------------------------------------
# Census 2021 categorical tables (TS021 ethnic group, TS011 household deprivation)


class _Census:
    """One Census table: how its long (demographr) and wide (ONS bulk CSV) layouts are named."""

    def __init__(self, kind: str, total: str, prefix: str, long_group: str, long_total: str,
                 categories: dict[str, str], title: str, table_id: str) -> None:
        self.kind = kind
        self.total = total  # output column: residents / households
        self.prefix = prefix  # ONS wide header prefix, e.g. "ethnic group"
        self.long_group = long_group  # demographr category column
        self.long_total = long_total  # demographr total column
        self.categories = {k: re.compile(v) for k, v in categories.items()}
        self.title = title
        self.table_id = table_id

    def layout(self, cells: list[str]) -> str | None:
        if _lsoa_col(cells) is None:
            return None
        if self.long_group in cells and "n" in cells:
            return "long"
        if f"{self.prefix}: total: all {'usual residents' if self.total == 'residents' else 'households'}" in cells:
            return "wide"
        return None

    def total_label(self) -> str:
        """The wide layout's total column as ONS spells it."""
        whole = "All usual residents" if self.total == "residents" else "All households"
        return f"{self.prefix.capitalize()}: Total: {whole}"

    def gaps(self, cells: Sequence[object]) -> list[Gap]:
        """What a row lacks to be this table's header, in the layout it looks closer to."""
        texts = ["" if c is None else str(c) for c in cells]
        have = {norm(c) for c in texts}
        out: list[Gap] = []
        if _lsoa_col(texts) is None:
            out.append(lsoa_code_gap(texts, ("lsoa21_code", "geography code")))
        if any(c.startswith(f"{self.prefix}:") for c in have):  # the ONS wide layout
            if norm(self.total_label()) not in have:
                out.append(Gap(f"the total column {self.total_label()!r}", (self.total_label(),),
                               recognised_fields(texts)))
            return out
        for name, what in ((self.long_group, "category"), ("n", "count")):
            if name not in have:
                out.append(Gap(f"the {what} column {name!r} (long layout: lsoa21_code, "
                               f"{self.long_group}, n)", (name,), recognised_fields(texts)))
        return out

    def category(self, label: str) -> str | None:
        return next((k for k, rx in self.categories.items() if rx.search(label)), None)


_ETHNICITY = _Census(
    "ethnicity", "residents", "ethnic group", "ethnic_group", "total_residents", ETHNIC_GROUPS,
    "Census 2021 TS021: ethnic group (5 categories)", "TS021",
)
_HOUSEHOLD = _Census(
    "household_deprivation", "households", "household deprivation", "deprivation_dimensions",
    "total_households", DEPRIVATION_DIMENSIONS,
    "Census 2021 TS011: households by deprivation dimensions", "TS011",
)


def _census_long(spec: _Census, table: Table, path: Path, notes: list[str]) -> tuple[pd.DataFrame, str, str | None]:
    cols = list(table.frame.columns)
    lsoa, year = _lsoa_col(cols)  # type: ignore[misc]
    by_norm = {norm(c): c for c in cols}
    group_col, n_col = by_norm[spec.long_group], by_norm["n"]
    total_col = by_norm.get(spec.long_total)
    codes = text_column(table, lsoa)
    check_codes(codes, path, lsoa, table)
    labels = text_column(table, group_col)
    lookup = {u: spec.category(norm(u)) for u in labels.dropna().unique()}
    cats = labels.map(lookup)
    unknown = np.flatnonzero(cats.isna().to_numpy())
    if len(unknown):
        i = int(unknown[0])
        raise InputFileError(
            path, f"unknown category {labels.iloc[i]!r}; expected one of {', '.join(spec.categories)}",
            row=i + table.row_offset, column=group_col, sheet=table.sheet,
        )
    check_unique(codes + " / " + cats.astype(str), path, group_col, table, what=f"LSOA and {spec.long_group}")
    value_cols = [n_col] + ([total_col] if total_col else [])
    values = _number_block(table, value_cols, path)
    long = pd.DataFrame({"lsoa_code": codes.to_numpy(), "cat": cats.to_numpy(), "n": values[:, 0]})
    wide = long.pivot(index="lsoa_code", columns="cat", values="n").reindex(columns=list(spec.categories))
    if total_col:
        totals = pd.Series(values[:, 1], index=codes.to_numpy())
        per = totals.groupby(level=0).agg(["min", "max"])
        varies = per["min"] != per["max"]
        if varies.any():
            code = str(per.index[varies.to_numpy()][0])
            i = int(np.flatnonzero((codes == code).to_numpy())[1])
            raise InputFileError(
                path, f"expected one {spec.long_total} per LSOA, found different values for {code}",
                row=i + table.row_offset, column=total_col, sheet=table.sheet,
            )
        total = per["max"].reindex(wide.index)
    else:
        total = wide.sum(axis=1)
    missing = wide.isna().sum(axis=1)
    if (missing > 0).any():
        notes.append(f"{int((missing > 0).sum()):,} LSOAs lack some categories (counted as 0)")
    wide = wide.fillna(0.0)
    return _census_frame(spec, wide, total, notes), lsoa, year


def _census_wide(spec: _Census, table: Table, path: Path, notes: list[str]) -> tuple[pd.DataFrame, str, str | None]:
    cols = list(table.frame.columns)
    lsoa, year = _lsoa_col(cols)  # type: ignore[misc]
    codes = text_column(table, lsoa)
    check_codes(codes, path, lsoa, table)
    check_unique(codes, path, lsoa, table)
    total_col = next(c for c in cols if norm(c).startswith(f"{spec.prefix}: total"))
    cat_cols: dict[str, str] = {}
    for c in cols:
        parts = norm(c).split(": ")
        if len(parts) == 2 and parts[0] == spec.prefix:
            cat = spec.category(parts[1])
            if cat is not None:
                cat_cols.setdefault(cat, c)
    absent = [k for k in spec.categories if k not in cat_cols]
    if absent:
        raise InputFileError(
            path, f"missing column(s) for {', '.join(absent)}; expected '{spec.prefix.capitalize()}: ...' "
            "for every category", row=table.header_row, column=absent[0], sheet=table.sheet,
        )
    values = _number_block(table, [total_col, *cat_cols.values()], path)
    wide = pd.DataFrame(values[:, 1:], columns=list(cat_cols), index=codes.to_numpy())
    total = pd.Series(values[:, 0], index=codes.to_numpy())
    return _census_frame(spec, wide, total, notes), lsoa, year


def _census_frame(spec: _Census, wide: pd.DataFrame, total: pd.Series, notes: list[str]) -> pd.DataFrame:
    over = wide.sum(axis=1) - total
    if (over.abs() > 0.5).any():
        notes.append(
            f"{int((over.abs() > 0.5).sum()):,} LSOAs whose categories do not add up to the total "
            "(shares use the published total)"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = wide.div(total.where(total > 0), axis=0)
    frame = pd.DataFrame({"lsoa_code": wide.index.astype(str), spec.total: total.to_numpy()})
    for cat in spec.categories:
        frame[f"share_{cat}"] = shares[cat].to_numpy() if cat in shares else np.nan
    return frame.reset_index(drop=True)


def _census_schema(spec: _Census) -> pa.DataFrameSchema:
    share = {f"share_{c}": pa.Column(float, pa.Check.in_range(0, 1), nullable=True) for c in spec.categories}
    return pa.DataFrameSchema(
        {
            "lsoa_code": pa.Column(str, pa.Check.str_matches(LSOA_PATTERN), unique=True),
            spec.total: pa.Column(float, pa.Check.ge(0)),
            **share,
        },
        coerce=True,
    )


def _read_census(spec: _Census, path: str | Path) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    p = Path(path)
    table = load_tables(p, lambda cells: spec.layout(cells) is not None, spec.gaps)[0]
    notes = list(table.notes)
    layout = spec.layout([norm(c) for c in table.frame.columns])
    reader = _census_long if layout == "long" else _census_wide
    frame, lsoa, year = reader(spec, table, p, notes)
    # rows of the wide frame are LSOAs, not file rows: name the LSOA in the message instead
    frame = validate_frame(_census_schema(spec), frame, p, None, what=f"{spec.table_id} table",
                           column_names={"lsoa_code": lsoa})
    vintage = year or lsoa_vintage_from_codes(frame["lsoa_code"])
    meta = {"vintage": vintage, "period": CENSUS_2021, "layout": layout}
    return frame, meta, notes


def read_ethnicity(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Read Census 2021 TS021 into ``lsoa_code, residents, share_asian/black/mixed/white/other``.

    Shares are of all usual residents (0-1). Long (demographr) and wide (ONS bulk CSV) layouts.
    """
    return _read_census(_ETHNICITY, path)


def read_household_deprivation(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Read Census 2021 TS011 into ``lsoa_code, households, share_not_deprived, share_deprived_1..4``.

    Dimensions are ONS's four: employment, education, health and disability, housing.
    """
    return _read_census(_HOUSEHOLD, path)


def _census_results(spec: _Census, path: Path) -> list[ReadResult]:
    frame, meta, notes = _read_census(spec, path)
    src = source_info(path, title=f"{spec.title}, LSOA {meta['vintage']}", publisher=ONS, period=CENSUS_2021)
    return [ReadResult(spec.kind, frame, src, notes, meta)]


# ---------------------------------------------------------------------------------------------
# sniffers and registry entries


def sniff_population_syoa(path: Path) -> bool:
    """An LSOA column, a total and single-year-of-age columns 0..89 (+90+)."""
    return sniff_header(path, _syoa_header)


def sniff_population_density(path: Path) -> bool:
    """An LSOA code column, ``Mid-YYYY population`` and ``Area Sq Km`` (any row of the first 20)."""
    return sniff_header(path, _density_header)


def sniff_ethnicity(path: Path) -> bool:
    """Census TS021: ``ethnic_group`` long layout or ``Ethnic group: Total: All usual residents``."""
    return sniff_header(path, lambda c: _ETHNICITY.layout(c) is not None)


def sniff_household_deprivation(path: Path) -> bool:
    """Census TS011: ``deprivation_dimensions`` long layout or ``Household deprivation: Total``."""
    return sniff_header(path, lambda c: _HOUSEHOLD.layout(c) is not None)


READERS: list[Reader] = [
    Reader("ons_population_syoa", "population",
           "ONS LSOA population estimates by single year of age (SAPE; demographr extract)",
           sniff_population_syoa, _syoa_results),
    Reader("ons_population_density", "population",
           "ONS SAPE21DT11 LSOA population density workbook", sniff_population_density,
           _density_results),
    Reader("census21_ethnicity", "ethnicity", "Census 2021 TS021 ethnic group (5 categories) by LSOA",
           sniff_ethnicity, lambda p: _census_results(_ETHNICITY, p)),
    Reader("census21_household_deprivation", "household_deprivation",
           "Census 2021 TS011 household deprivation by LSOA", sniff_household_deprivation,
           lambda p: _census_results(_HOUSEHOLD, p)),
]
