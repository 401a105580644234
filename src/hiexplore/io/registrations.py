"""Readers of GP registration counts: who is registered where (catchments) and list sizes.

* ``read_registrations``: NHS Digital "Patients Registered at a GP Practice" by LSOA
  (``gp-reg-pat-prac-lsoa-all/-male/-female``), the observed catchments. Accepts the published
  header, the R-mangled ``Number.of.Patients`` copies with a leading row-number column, and a zip
  of several such CSVs (one result each).
* ``read_list_sizes``: practice list sizes from three layouts: the House of Commons Library
  ``gp-by-age.csv`` bands, NHS Digital ``gp-reg-pat-prac-quin-age.csv`` and QOF
  ``PREVALENCE_<year>.csv`` (``PRACTICE_LIST_SIZE``).

Patients with no LSOA (``NO2011``/``NO2021``) are patients: they are kept under ``NO_LSOA`` so
that a practice's catchment still sums to its list size.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ._common import require_columns, source_info, to_number
from ._sniff import csv_header, is_spreadsheet, is_zip, norm, zip_members
from .practices import (
    _bad,
    _csv_sources,
    _fail_first,
    _one_csv,
    _qof_period,
    _read_frame,
    _strip,
    _TextSource,
)
from .registry import OGL, Reader, ReadResult

__all__ = [
    "READERS",
    "NO_LSOA",
    "read_registrations",
    "read_list_sizes",
    "sniff_registrations",
    "sniff_hoc_list_sizes",
    "sniff_quinary_age",
    "sniff_qof_prevalence",
]

NO_LSOA = "NO_LSOA"
#: NHS Digital moved the patients-by-LSOA files to 2021 LSOAs in 2022; earlier extracts use 2011.
LSOA21_FROM = dt.date(2022, 1, 1)
SEXES = ("ALL", "MALE", "FEMALE")

_PRACTICE = re.compile(r"^[A-Z0-9]{3,10}$")
_LSOA = re.compile(r"^[EW]01\d{6}$")
_PSEUDO = re.compile(r"^NO(2011|2021)$")
_AGE5 = re.compile(r"^(\d+)_(\d+)$|^(\d+)\+$")
_DATE_FORMATS = ("%d%b%Y", "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%b-%Y", "%d-%b-%y")


def _key(header: object) -> str:
    """``Number.of.Patients``, ``Number of Patients`` and ``NUMBER_OF_PATIENTS`` -> one key."""
    return re.sub(r"[^a-z0-9%+]+", "_", norm(header)).strip("_")


def _is_row_number_column(header: object) -> bool:
    return _key(header) in ("", "unnamed_0", "x", "row_names")


def _keys_of(header: Sequence[str]) -> list[str]:
    keys = [_key(h) for h in header]
    if keys and _is_row_number_column(header[0]):
        keys = keys[1:]
    return keys


def _columns(
    raw: pd.DataFrame,
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    row_numbers: bool = True,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The file's name for each required (and present optional) key, in any spelling (:func:`_key`).

    With ``row_numbers`` a leading row-number column (R's ``write.csv``) is dropped first. A
    missing key raises naming it as NHS Digital spells it (``PRACTICE_CODE``).
    """
    cols = list(raw.columns)
    if row_numbers and cols and _is_row_number_column(cols[0]):
        raw, cols = raw.iloc[:, 1:], cols[1:]
    keys = [_key(c) for c in cols]
    missing = [k for k in required if k not in keys]
    if missing:
        require_columns(path, cols, [k.upper() for k in missing])
    return raw, {k: cols[keys.index(k)] for k in (*required, *optional) if k in keys}


def _practice_codes(
    raw: pd.DataFrame,
    column: str,
    path: Path,
    expected: str = "a practice code",
    keep: np.ndarray | None = None,
) -> pd.Series:
    """Practice codes, upper-cased; the first malformed one (among ``keep`` rows) names its row."""
    practice = _strip(raw[column]).str.upper()
    bad = ~practice.str.match(_PRACTICE.pattern).to_numpy()
    _fail_first(bad if keep is None else keep & bad, raw[column], path, column, expected, row_offset=2)
    return practice


def _parse_extract_date(text: str) -> dt.date | None:
    s = text.strip().upper()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s.title() if "%b" in fmt else s, fmt).date()
        except ValueError:
            continue
    return None


def _one_extract_date(values: pd.Series, path: Path, column: str) -> dt.date:
    """The file's single extract date (a file mixing months is two files glued together)."""
    text = _strip(values)
    uniq = text.unique().tolist()
    first = uniq[0]
    if len(uniq) > 1:
        pos = _bad(text != first)
        raise InputFileError(
            path,
            f"expected one extract date in the file, found {first!r} and {text.iloc[pos]!r}",
            row=(pos or 0) + 2,
            column=column,
        )
    date = _parse_extract_date(first)
    if date is None:
        raise InputFileError(
            path,
            f"expected an extract date such as 01APR2020, found {first!r}",
            row=2,
            column=column,
        )
    return date


def _no_duplicates(
    frame: pd.DataFrame, keys: list[str], path: Path, label: str, row_offset: int = 2
) -> None:
    dup = frame.duplicated(keys, keep="first")
    pos = _bad(dup)
    if pos is None:
        return
    row = frame.iloc[pos]
    match = (frame[keys] == row[keys]).all(axis=1).to_numpy()
    first = int(np.flatnonzero(match)[0])
    what = ", ".join(f"{k}={row[k]!r}" for k in keys)
    raise InputFileError(
        path,
        f"duplicate {label} row ({what}), first seen on row {first + row_offset}: expected one row "
        f"per {' / '.join(keys)}; {int(dup.sum())} duplicate row(s) in all",
        row=pos + row_offset,
    )


def _counts(series: pd.Series, path: Path, column: str) -> pd.Series:
    values = to_number(series, path, column)
    pos = _bad(values.isna())
    if pos is not None:
        raise InputFileError(
            path,
            f"expected a number of patients, found a blank ({series.iloc[pos]!r})",
            row=pos + 2,
            column=column,
        )
    return values


# --------------------------------------------------------------------------------------------
# Patients registered by LSOA
# --------------------------------------------------------------------------------------------

_REG_REQUIRED = ("practice_code", "lsoa_code", "sex", "number_of_patients", "extract_date")


def _registration_head(head: str) -> bool:
    first = head.splitlines()[0] if head.splitlines() else ""
    try:
        header = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return False
    keys = set(_keys_of(header))
    return {"practice_code", "lsoa_code", "number_of_patients"} <= keys


def sniff_registrations(path: Path) -> bool:
    """Header with PRACTICE_CODE, LSOA_CODE and a number-of-patients column (any spelling)."""
    try:
        path = Path(path)
        header = csv_header(path)
        if header is not None:
            return {"practice_code", "lsoa_code", "number_of_patients"} <= set(_keys_of(header))
        if is_zip(path) and not is_spreadsheet(path):
            with zipfile.ZipFile(path) as zf:
                for name in (zip_members(path) or [])[:6]:
                    if name.lower().endswith(".csv"):
                        with zf.open(name) as fh:
                            head = fh.read(2048).decode("utf-8", "replace").lstrip("\ufeff")
                        if _registration_head(head):
                            return True
        return False
    except Exception:  # noqa: BLE001 - a sniffer never raises
        return False


def _read_registration_text(src: _TextSource, path: Path) -> ReadResult:
    raw, col = _columns(_read_frame(src, path, header=True), path, _REG_REQUIRED, ("practice_name",))
    off = 2
    practice = _practice_codes(raw, col["practice_code"], path, "a practice code such as P81002")
    lsoa = _strip(raw[col["lsoa_code"]]).str.upper()
    pseudo = lsoa.str.match(_PSEUDO.pattern)
    _fail_first(
        ~(lsoa.str.match(_LSOA.pattern) | pseudo),
        raw[col["lsoa_code"]],
        path,
        col["lsoa_code"],
        "an LSOA code (E01/W01 and 6 digits) or the no-LSOA pseudo-code NO2011/NO2021",
        row_offset=off,
    )
    sex = _strip(raw[col["sex"]]).str.upper()
    _fail_first(
        ~sex.isin(SEXES), raw[col["sex"]], path, col["sex"], "ALL, MALE or FEMALE", row_offset=off
    )
    patients = _counts(raw[col["number_of_patients"]], path, col["number_of_patients"])
    extract = _one_extract_date(raw[col["extract_date"]], path, col["extract_date"])

    pseudo_codes = sorted(set(lsoa[pseudo]))
    if len(pseudo_codes) > 1:
        raise InputFileError(
            path,
            f"expected one no-LSOA pseudo-code, found both {' and '.join(pseudo_codes)}: the file mixes "
            "LSOA 2011 and 2021 codes",
            row=(_bad(lsoa == pseudo_codes[1]) or 0) + off,
            column=col["lsoa_code"],
        )
    by_date = "2021" if extract >= LSOA21_FROM else "2011"
    notes: list[str] = []
    if pseudo_codes:
        vintage = pseudo_codes[0][2:]
        evidence = f"the pseudo-code {pseudo_codes[0]}"
        if vintage != by_date:
            notes.append(
                f"the pseudo-code {pseudo_codes[0]} says LSOA {vintage} but an extract of "
                f"{extract:%d %b %Y} would be expected on LSOA {by_date}; using {vintage}"
            )
    else:
        vintage = by_date
        evidence = f"the extract date {extract:%d %b %Y}"

    frame = pd.DataFrame(
        {
            "practice_code": practice,
            "lsoa_code": lsoa.mask(pseudo, NO_LSOA),
            "sex": sex,
            "patients": patients,
        }
    )
    _no_duplicates(frame, ["practice_code", "lsoa_code", "sex"], path, "practice / LSOA / sex")

    no_lsoa = float(frame.loc[pseudo.to_numpy(), "patients"].sum())
    real = frame["lsoa_code"] != NO_LSOA
    notes.insert(
        0,
        f"{len(frame):,} rows: {frame['practice_code'].nunique():,} practices, "
        f"{frame.loc[real, 'lsoa_code'].nunique():,} LSOAs, {frame['patients'].sum():,.0f} patients "
        f"(sex {', '.join(sorted(frame['sex'].unique()))})",
    )
    notes.append(
        f"{no_lsoa:,.0f} patients on {int(pseudo.sum()):,} rows have no LSOA "
        f"({pseudo_codes[0] if pseudo_codes else 'NO2011/NO2021'}): kept as lsoa_code {NO_LSOA!r}"
    )
    notes.append(f"LSOA {vintage} codes, decided from {evidence}; cross-check with the boundaries")
    if src.encoding == "cp1252":
        notes.append("decoded as Windows-1252 (not UTF-8)")
    period = f"{extract:%Y-%m}"
    names: dict[str, str] = {}
    if "practice_name" in col:
        nm = pd.DataFrame({"c": practice, "n": _strip(raw[col["practice_name"]])}).drop_duplicates(
            "c"
        )
        names = dict(zip(nm["c"], nm["n"], strict=True))
    meta: dict[str, Any] = {
        "vintage": vintage,
        "period": period,
        "extract_date": extract.isoformat(),
        "no_lsoa_patients": no_lsoa,
        "practice_names": names,
    }
    if src.member:
        meta["member"] = src.member
    info = source_info(
        path,
        "Patients Registered at a GP Practice, by LSOA"
        + (f" ({src.member})" if src.member else ""),
        "NHS England (NHS Digital)",
        period,
        licence=OGL,
    )
    return ReadResult("registrations", frame, info, notes, meta)


def read_registrations(path: Path) -> list[ReadResult]:
    """Read patients registered at each practice by LSOA of residence (the observed catchments).

    One result per CSV (a zip of the all/male/female files gives three). ``patients`` is float;
    ``meta`` carries ``vintage`` ("2011"/"2021"), ``period`` ("YYYY-MM"), ``extract_date``,
    ``no_lsoa_patients`` and ``practice_names``.
    """
    path = Path(path)
    sources = _csv_sources(path, accept=lambda name, head: _registration_head(head))
    return [_read_registration_text(s, path) for s in sources]


# --------------------------------------------------------------------------------------------
# List sizes: House of Commons Library bands
# --------------------------------------------------------------------------------------------

_HOC_COLUMNS = {
    "total": "list_size",
    "16ov": "list_16_plus",
    "17ov": "list_17_plus",
    "18ov": "list_18_plus",
    "30_74": "list_30_74",
    "50ov": "list_50_plus",
    "0_64": "list_0_64",
    "65ov": "list_65_plus",
    "65ov%": "share_65_plus",
}
_HOC_PERIOD = "2020-04"


def sniff_hoc_list_sizes(path: Path) -> bool:
    """Header PRACTICE_CODE, TOTAL, 16OV ... 65OV% (House of Commons Library gp-by-age)."""
    try:
        header = csv_header(Path(path))
        return bool(header) and {"practice_code", "total", "16ov", "65ov", "65ov%"} <= set(header)
    except Exception:  # noqa: BLE001
        return False


def _read_hoc(src: _TextSource, path: Path) -> ReadResult:
    raw = _read_frame(src, path, header=True)
    cols = {norm(c): c for c in raw.columns}
    required = ["practice_code", *_HOC_COLUMNS]
    if any(k not in cols for k in required):
        require_columns(path, list(raw.columns), [k.upper() for k in required])
    practice = _practice_codes(raw, cols["practice_code"], path)
    frame = pd.DataFrame({"practice_code": practice})
    for src_key, canon in _HOC_COLUMNS.items():
        frame[canon] = to_number(raw[cols[src_key]], path, cols[src_key])
    share = frame["share_65_plus"]
    _fail_first(
        (share > 1).to_numpy(),
        raw[cols["65ov%"]],
        path,
        cols["65ov%"],
        "a proportion between 0 and 1",
        row_offset=2,
    )
    for src_key, canon in _HOC_COLUMNS.items():
        if canon.startswith("list_") and canon != "list_size":
            _fail_first(
                (frame[canon] > frame["list_size"]).to_numpy(),
                raw[cols[src_key]],
                path,
                cols[src_key],
                f"a band no larger than the practice's {cols['total']}",
                row_offset=2,
            )
    _no_duplicates(frame, ["practice_code"], path, "practice")
    notes = [
        f"{len(frame):,} practices, {frame['list_size'].sum():,.0f} patients",
        "House of Commons Library bands derived from NHS Digital's April 2020 practice single-year-"
        "of-age files; the period is the source's (the file carries no date)",
    ]
    info = source_info(
        path,
        "GP practice list sizes by age band (gp-by-age)",
        "House of Commons Library, from NHS Digital Patients Registered at a GP Practice",
        _HOC_PERIOD,
        licence="Open Parliament Licence v3.0 (underlying data: " + OGL + ")",
    )
    return ReadResult("list_sizes", frame, info, notes, {"period": _HOC_PERIOD})


# --------------------------------------------------------------------------------------------
# List sizes: NHS Digital quinary age by practice
# --------------------------------------------------------------------------------------------

_QUIN_REQUIRED = ("org_code", "sex", "age_group_5", "number_of_patients", "extract_date")


def sniff_quinary_age(path: Path) -> bool:
    """Header with ORG_CODE, SEX, AGE_GROUP_5 and NUMBER_OF_PATIENTS (gp-reg-pat-prac-quin-age)."""
    try:
        header = csv_header(Path(path))
        return bool(header) and {"org_code", "sex", "age_group_5", "number_of_patients"} <= set(
            _keys_of(header)
        )
    except Exception:  # noqa: BLE001
        return False


def _band_name(prefix: str, age: str) -> str:
    m = _AGE5.match(age)
    assert m is not None
    return f"{prefix}_{m.group(1)}_{m.group(2)}" if m.group(1) else f"{prefix}_{m.group(3)}_plus"


def _band_order(age: str) -> int:
    m = _AGE5.match(age)
    assert m is not None
    return int(m.group(1) or m.group(3))


def _read_quinary(src: _TextSource, path: Path) -> ReadResult:
    raw, col = _columns(_read_frame(src, path, header=True), path, _QUIN_REQUIRED, ("type",))
    notes: list[str] = []
    keep = np.ones(len(raw), dtype=bool)
    if "type" in col:
        typ = _strip(raw[col["type"]]).str.upper()
        keep = (typ == "GP").to_numpy()
        if not keep.all():
            notes.append(f"{int((~keep).sum()):,} rows of other TYPE than GP were left out")
    practice = _practice_codes(raw, col["org_code"], path, keep=keep)
    sex = _strip(raw[col["sex"]]).str.upper()
    _fail_first(
        keep & ~sex.isin(SEXES).to_numpy(),
        raw[col["sex"]],
        path,
        col["sex"],
        "ALL, MALE or FEMALE",
        row_offset=2,
    )
    age = _strip(raw[col["age_group_5"]]).str.upper()
    _fail_first(
        keep & ~(age.str.match(_AGE5.pattern) | (age == "ALL")).to_numpy(),
        raw[col["age_group_5"]],
        path,
        col["age_group_5"],
        "an age group such as 0_4, 95+ or ALL",
        row_offset=2,
    )
    patients = _counts(raw[col["number_of_patients"]], path, col["number_of_patients"])
    extract = _one_extract_date(raw[col["extract_date"]], path, col["extract_date"])
    long = pd.DataFrame({"practice_code": practice, "sex": sex, "age": age, "patients": patients})
    _no_duplicates(long, ["practice_code", "sex", "age"], path, "practice / sex / age group")
    long = long[keep]

    practices = pd.Index(long["practice_code"].drop_duplicates(), name="practice_code")
    allall = long[(long["sex"] == "ALL") & (long["age"] == "ALL")].set_index("practice_code")[
        "patients"
    ]
    by_sex = (
        long[(long["sex"] != "ALL") & (long["age"] == "ALL")]
        .groupby("practice_code")["patients"]
        .sum()
    )
    list_size = allall.reindex(practices)
    fallback = list_size.isna() & practices.isin(by_sex.index)
    if fallback.any():
        list_size[fallback] = by_sex.reindex(practices[fallback]).to_numpy()
        notes.append(
            f"{int(fallback.sum())} practices have no ALL/ALL row: list size = male + female"
        )
    frame = pd.DataFrame(
        {"practice_code": practices.astype("string"), "list_size": list_size.to_numpy()}
    )
    bands = long[(long["sex"] != "ALL") & (long["age"] != "ALL")]
    ages = sorted(bands["age"].unique(), key=_band_order)
    for sx, prefix in (("FEMALE", "f"), ("MALE", "m")):
        wide = bands[bands["sex"] == sx].pivot(
            index="practice_code", columns="age", values="patients"
        )
        for a in ages:
            values = (
                wide[a].reindex(practices)
                if a in wide.columns
                else pd.Series(np.nan, index=practices)
            )
            frame[_band_name(prefix, a)] = values.to_numpy(dtype="float64")
    band_cols = [c for c in frame.columns if c.startswith(("f_", "m_"))]
    if band_cols:
        gap = (frame[band_cols].sum(axis=1, min_count=1) - frame["list_size"]).abs() > 0.5
        if gap.any():
            notes.append(
                f"{int(gap.sum())} practices' male + female bands do not add up to their list size "
                "(patients of other or unknown sex are in ALL only)"
            )
    period = f"{extract:%Y-%m}"
    notes.insert(
        0,
        f"{len(frame):,} practices, {frame['list_size'].sum():,.0f} patients, {len(ages)} age groups",
    )
    info = source_info(
        path,
        "Patients Registered at a GP Practice: practice by five-year age group",
        "NHS England (NHS Digital)",
        period,
        licence=OGL,
    )
    return ReadResult(
        "list_sizes", frame, info, notes, {"period": period, "extract_date": extract.isoformat()}
    )


# --------------------------------------------------------------------------------------------
# List sizes: QOF prevalence
# --------------------------------------------------------------------------------------------

_QOF_REQUIRED = ("practice_code", "patient_list_type", "practice_list_size")


def sniff_qof_prevalence(path: Path) -> bool:
    """QOF PREVALENCE header: PRACTICE_CODE, PATIENT_LIST_TYPE, PRACTICE_LIST_SIZE."""
    try:
        header = csv_header(Path(path))
        return bool(header) and set(_QOF_REQUIRED) <= {_key(h) for h in header}
    except Exception:  # noqa: BLE001
        return False


def _list_type_column(list_type: str) -> str | None:
    if list_type == "TOTAL":
        return "list_size"
    m = re.fullmatch(r"(\d+)OV", list_type)
    return f"list_{int(m.group(1))}_plus" if m else None


def _read_qof(src: _TextSource, path: Path) -> ReadResult:
    # QOF files have no row-number column: a first column named "X" would be data
    raw, col = _columns(_read_frame(src, path, header=True), path, _QOF_REQUIRED, row_numbers=False)
    practice = _practice_codes(raw, col["practice_code"], path)
    ltype = _strip(raw[col["patient_list_type"]]).str.upper()
    target = ltype.map(_list_type_column)
    _fail_first(
        target.isna().to_numpy(),
        raw[col["patient_list_type"]],
        path,
        col["patient_list_type"],
        "TOTAL or an age floor such as 18OV",
        row_offset=2,
    )
    size = _counts(raw[col["practice_list_size"]], path, col["practice_list_size"])
    long = pd.DataFrame({"practice_code": practice, "column": target, "size": size})
    wide = long.pivot_table(
        index="practice_code", columns="column", values="size", aggfunc="max", sort=False
    )
    totals = long[long["column"] == "list_size"].groupby("practice_code")["size"]
    spread = totals.max() - totals.min()
    ordered = ["list_size"] + sorted(
        (c for c in wide.columns if c != "list_size"), key=lambda c: int(c.split("_")[1])
    )
    frame = wide.reindex(columns=ordered).reset_index()
    frame.columns.name = None
    frame["practice_code"] = frame["practice_code"].astype("string")
    notes = [
        f"{len(frame):,} practices, {frame['list_size'].sum():,.0f} patients (the largest TOTAL "
        "PRACTICE_LIST_SIZE over disease groups)"
    ]
    no_total = int(frame["list_size"].isna().sum())
    if no_total:
        notes.append(f"{no_total} practices have no TOTAL list type: list size left blank")
    if (spread > 0).any():
        notes.append(f"{int((spread > 0).sum())} practices' TOTAL list sizes differ between groups")
    period = _qof_period(path)
    notes.append(
        "period unknown: QOF files carry no date (their name usually does)"
        if period == "unknown"
        else f"QOF year {period} (from the published file name); list sizes as at 1 January"
    )
    info = source_info(
        path, "QOF prevalence: practice list sizes", "NHS England (NHS Digital), QOF", period
    )
    return ReadResult("list_sizes", frame, info, notes, {"period": period})


def read_list_sizes(path: Path) -> list[ReadResult]:
    """Read practice list sizes from whichever of the three layouts ``path`` holds.

    The HoC Library bands (``list_16_plus`` ... ``share_65_plus``), NHS Digital quinary ages
    (``f_<lo>_<hi>``, ``m_<lo>_<hi>``, ``f_95_plus``) or QOF prevalence (``list_<n>_plus``).
    """
    path = Path(path)
    src = _one_csv(path)
    first = src.text.split("\n", 1)[0]
    try:
        header = [norm(h) for h in next(csv.reader([first.rstrip("\r")]), [])]
    except csv.Error as err:  # a stray carriage return or NUL byte in the header line
        raise InputFileError(path, f"the header row is not well-formed CSV ({err})", row=1) from None
    keys = set(_keys_of(header))
    if {"practice_code", "total", "65ov%"} <= set(header):
        return [_read_hoc(src, path)]
    if {"org_code", "age_group_5"} <= keys:
        return [_read_quinary(src, path)]
    if {"practice_code", "patient_list_type"} <= keys:
        return [_read_qof(src, path)]
    raise InputFileError(
        path,
        "expected a list-size layout: PRACTICE_CODE,TOTAL,16OV,...,65OV% (House of Commons Library), "
        "...,ORG_CODE,...,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS (NHS Digital quinary age) or "
        "PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PRACTICE_LIST_SIZE (QOF); found "
        + ", ".join(repr(h) for h in header[:12]),
        row=1,
    )


READERS: list[Reader] = [
    Reader(
        "nhs_gp_registrations_lsoa",
        "registrations",
        "NHS Digital Patients Registered at a GP Practice by LSOA (gp-reg-pat-prac-lsoa-*)",
        sniff_registrations,
        read_registrations,
    ),
    Reader(
        "hoclib_gp_list_sizes_by_age",
        "list_sizes",
        "House of Commons Library gp-by-age: practice list sizes by broad age band",
        sniff_hoc_list_sizes,
        read_list_sizes,
    ),
    Reader(
        "nhs_gp_registrations_quinary_age",
        "list_sizes",
        "NHS Digital Patients Registered at a GP Practice by five-year age (gp-reg-pat-prac-quin-age)",
        sniff_quinary_age,
        read_list_sizes,
    ),
    Reader(
        "qof_prevalence_list_sizes",
        "list_sizes",
        "QOF PREVALENCE: PRACTICE_LIST_SIZE per practice",
        sniff_qof_prevalence,
        read_list_sizes,
    ),
]
