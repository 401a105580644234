"""Generate ``tests/data/bad/``: broken copies of real official files, one defect per file.

Every case starts from a small slice of a real file under ``../shared/data`` (see its
``SOURCES.md``; mostly the rows for Rutland, E06000017, so that the untouched slices in
``valid/`` form a coherent minimal source set) and applies one defect a user meets in practice:
truncation, the wrong encoding or delimiter, a header moved down, renamed/missing/extra columns,
duplicate or foreign codes, impossible counts, suppressed values, merged header rows, missing
shapefile parts, broken geometries, markup in names.

``MANIFEST.csv`` lists, per case: the reader meant to read it, the format, the defect and its
kind, the expected outcome (``error``: an :class:`~hiexplore.errors.InputFileError` naming the
file and, where ``row``/``column`` say ``yes``, the row and the column; ``accepted``: read, with
``note`` matched against the reader's notes when given) and a description.

The output is deterministic (fixed zip/gzip timestamps, normalised workbook metadata), so a
re-run over the same real files gives byte-identical files. The big cases (a 500 MB upload, a
zip bomb) are not stored: ``tests/test_bad_inputs.py`` makes them in a temporary folder.

Run from the repository root::

    /work/venv/bin/python tests/make_bad_corpus.py            # writes tests/data/bad/
    /work/venv/bin/python tests/make_bad_corpus.py --check    # exit 1 if the corpus is stale
"""

from __future__ import annotations

import argparse
import copy
import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIEXPLORE_SHARED_DATA", REPO.parent / "shared" / "data"))
OUT = REPO / "tests" / "data" / "bad"
RUTLAND = "E06000017"
LLR_CCGS = ("03W", "04C", "04V")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
MANIFEST_COLUMNS = (
    "case", "reader", "format", "defect", "kind", "expected", "row", "column", "note", "base",
    "description",
)


@dataclass
class Case:
    case: str  # file name under tests/data/bad
    reader: str
    format: str
    defect: str
    kind: str  # the defect group counted in the summary table
    expected: str  # "error" or "accepted"
    data: bytes
    row: bool = False
    column: bool = False
    note: str = ""  # regex: in the notes (accepted) or in the message (error)
    base: str = ""
    description: str = ""


CASES: list[Case] = []
VALID: dict[str, bytes] = {}


def add(case: str, reader: str, fmt: str, defect: str, kind: str, expected: str, data: bytes,
        *, row: bool = False, column: bool = False, note: str = "", base: str = "",
        description: str = "") -> None:
    if any(c.case == case for c in CASES):
        raise ValueError(f"duplicate case name {case}")
    CASES.append(Case(case, reader, fmt, defect, kind, expected, data, row, column, note, base,
                      description or defect))


# ---------------------------------------------------------------------------------------------
# deterministic containers


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as fh:
        fh.write(data)
    return buf.getvalue()


def make_zip(members: dict[str, bytes], *, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = compress
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


_STAMP = re.compile(rb"(<(dcterms:created|dcterms:modified|meta:creation-date|dc:date)[^>]*>)[^<]*(</)")


def normalise_package(data: bytes) -> bytes:
    """Re-zip an xlsx/ods with fixed timestamps and metadata dates (byte-identical re-runs)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in ("docProps/core.xml", "meta.xml"):
                body = _STAMP.sub(rb"\g<1>2020-01-01T00:00:00Z\g<3>", body)
            out = zipfile.ZipInfo(info.filename, FIXED_TIME)
            # ODS: "mimetype" first and stored, as the format requires
            out.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            out.external_attr = 0o644 << 16
            zf.writestr(out, body)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# text tables that keep the original bytes of the rows they do not touch


def _records(text: str) -> list[str]:
    """Split CSV text into records (a quoted field may hold newlines), keeping each as written."""
    out: list[str] = []
    cur: list[str] = []
    quotes = 0
    for line in text.splitlines(keepends=True):
        cur.append(line)
        quotes += line.count('"')
        if quotes % 2 == 0:
            out.append("".join(cur))
            cur, quotes = [], 0
    if cur:
        out.append("".join(cur))
    return out


@dataclass
class TextTable:
    """A CSV as raw records: ``header`` (None for headerless formats) and ``rows``."""

    header: str | None
    rows: list[str]
    bom: bool = False
    pre: list[str] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str, *, headerless: bool = False,
                  keep: Callable[[list[str]], bool] | None = None, limit: int | None = None) -> TextTable:
        bom = text.startswith("\ufeff")
        recs = _records(text.lstrip("\ufeff"))
        header = None if headerless else recs[0]
        body = recs if headerless else recs[1:]
        if keep is not None:
            body = [r for r in body if keep(_cells(r))]
        if limit is not None:
            body = body[:limit]
        return cls(header, body, bom)

    @property
    def nl(self) -> str:
        sample = self.header or (self.rows[0] if self.rows else "\n")
        return "\r\n" if sample.endswith("\r\n") else "\n"

    def columns(self) -> list[str]:
        assert self.header is not None
        return [c.replace("\ufeff", "") for c in _cells(self.header)]

    def col(self, name: str | int) -> int:
        return name if isinstance(name, int) else self.columns().index(name)

    def get(self, i: int, name: str | int) -> str:
        return _cells(self.rows[i])[self.col(name)]

    def copy(self) -> TextTable:
        return copy.deepcopy(self)

    def set(self, i: int, name: str | int, value: str) -> TextTable:
        t = self.copy()
        cells = _cells(t.rows[i])
        cells[t.col(name)] = value
        t.rows[i] = _join(cells, quote_all=t.rows[i].startswith('"'), nl=t.nl)
        return t

    def set_header(self, name: str, new: str) -> TextTable:
        t = self.copy()
        cells = _cells(t.header or "")
        cells[t.col(name)] = new
        t.header = _join(cells, quote_all=(t.header or "").startswith('"'), nl=t.nl)
        return t

    def drop_column(self, name: str) -> TextTable:
        t = self.copy()
        j = t.col(name)
        qa = (t.header or "").startswith('"')
        t.header = _join([c for k, c in enumerate(_cells(t.header or "")) if k != j], quote_all=qa, nl=t.nl)
        t.rows = [
            _join([c for k, c in enumerate(_cells(r)) if k != j], quote_all=r.startswith('"'), nl=t.nl)
            for r in t.rows
        ]
        return t

    def add_column(self, name: str, value: Callable[[int], str]) -> TextTable:
        t = self.copy()
        if t.header is not None:
            t.header = _join([*_cells(t.header), name], quote_all=t.header.startswith('"'), nl=t.nl)
        t.rows = [_join([*_cells(r), value(i)], quote_all=r.startswith('"'), nl=t.nl)
                  for i, r in enumerate(t.rows)]
        return t

    def with_rows(self, rows: list[str]) -> TextTable:
        t = self.copy()
        t.rows = rows
        return t

    def text(self) -> str:
        return ("\ufeff" if self.bom else "") + "".join(self.pre) + (self.header or "") + "".join(self.rows)

    def bytes(self, encoding: str = "utf-8") -> bytes:
        return self.text().encode(encoding)

    def redelimit(self, delim: str) -> str:
        recs = ([self.header] if self.header else []) + self.rows
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=delim, lineterminator=self.nl)
        for r in recs:
            w.writerow(_cells(r))
        return buf.getvalue()


def _cells(record: str) -> list[str]:
    return next(csv.reader(io.StringIO(record.rstrip("\r\n"))), [])


def _join(cells: list[str], *, quote_all: bool, nl: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=nl).writerow(cells)
    return buf.getvalue()


def read_text(rel: str) -> str:
    p = SHARED / rel
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            name = next(n for n in zf.namelist() if n.lower().endswith(".csv"))
            raw = zf.read(name)
    return raw.decode("utf-8")


def cut_mid(t: TextTable, frac: float = 0.5) -> bytes:
    """The file cut part-way through its last record (a download that stopped)."""
    data = t.bytes()
    last = t.rows[-1].encode()
    return data[: len(data) - len(last) + max(1, int(len(last) * frac))]


# ---------------------------------------------------------------------------------------------
# the CSV suite: the same defects for every CSV-like reader


@dataclass
class CsvSpec:
    prefix: str
    reader: str
    base: str  # path under shared/data
    table: TextTable
    code: str | int  # key column (area / practice / postcode)
    count: str | int | None = None  # a count that must be a number >= 0
    numerator: str | None = None  # numerator/denominator pair (numerator > denominator)
    denominator: str | None = None
    name: str | int | None = None  # a text column for an accented name (cp1252)
    header_search: bool = True  # the reader finds a header below title rows
    foreign_code: str = ""  # a well-formed code of the wrong country (Scotland)
    vintage_code: str = ""  # a code of the wrong vintage for this file
    gzip_base: bool = False  # also a truncated .gz copy
    target: int = 0  # first row the defects edit (rows before it may be dropped by design)
    extra: dict[str, str] = field(default_factory=dict)  # defect key -> outcome() spec, or "skip"


def outcome(spec: str) -> tuple[str, bool, bool, str]:
    """'error/row/column', 'error/row', 'error', 'accepted', 'accepted~note regex'."""
    head, _, note = spec.partition("~")
    parts = head.split("/")
    return parts[0], "row" in parts, "column" in parts, note


def csv_suite(s: CsvSpec) -> None:
    t, p, r, b = s.table, s.prefix, s.reader, s.base
    VALID[f"{p}.csv"] = t.bytes()
    headed = t.header is not None
    rc = "error/row/column"  # headerless formats name a column by its position and meaning

    def case(suffix: str, key: str, default: str, data: bytes, defect: str, kind: str, description: str = "") -> None:
        spec = s.extra.get(key, default)
        if spec == "skip":
            return
        expected, row, column, note = outcome(spec)
        add(f"{p}__{suffix}", r, "csv.gz" if suffix.endswith(".gz") else "csv", defect, kind, expected, data,
            row=row, column=column, note=note, base=b, description=description)

    case("truncated_mid_row.csv", "truncated", "error/row", cut_mid(t), "truncated mid-row", "truncated",
         "the download stopped inside the last row")
    case("truncated_at_row_end.csv", "truncated_clean", "accepted", t.with_rows(t.rows[: len(t.rows) // 2]).bytes(),
         "truncated at a row boundary", "truncated",
         "only the first half of the rows (a row boundary): nothing in the file can tell")
    if s.gzip_base:
        z = gz(t.bytes())
        case("truncated.csv.gz", "truncated_gz", "error", z[: len(z) * 2 // 3], "truncated gzip", "truncated",
             "a gzip file cut at two thirds")
    case("empty.csv", "empty", "error", b"", "empty file", "empty")
    if headed:
        case("header_only.csv", "header_only", "error/row", (("\ufeff" if t.bom else "") + (t.header or "")).encode(),
             "header row only", "empty")
    case("utf16.csv", "utf16", "accepted", t.text().lstrip("\ufeff").encode("utf-16"), "UTF-16 with BOM",
         "encoding", "saved as 'Unicode text' (UTF-16 LE with BOM)")
    case("utf8_bom.csv", "bom", "accepted", ("\ufeff" + t.text().lstrip("\ufeff")).encode(), "UTF-8 BOM",
         "encoding")
    if s.name is not None:
        accented = t.set(0, s.name, t.get(0, s.name) + " (Caf\u00e9 Br\u00fbl\u00e9e)")
        case("cp1252.csv", "cp1252", "accepted", accented.text().lstrip("\ufeff").encode("cp1252"),
             "Windows-1252 encoding", "encoding",
             "re-saved in Excel as Windows-1252; one name holds accented letters")
    case("semicolon.csv", "semicolon", "accepted", t.redelimit(";").encode(), "semicolon delimiter", "delimiter",
         "re-saved with a European-locale Excel (';')")
    case("pipe.csv", "pipe", "error", t.redelimit("|").encode(), "pipe delimiter", "delimiter")
    if headed:
        moved = t.copy()
        moved.pre = ["Table 1: published figures" + t.nl, "Source: see the publisher's notes" + t.nl, t.nl]
        case("header_moved_down.csv", "header_moved", "accepted" if s.header_search else "error/row",
             moved.bytes(), "header moved down 3 rows", "header moved", "a title block above the header")
        code_name = t.columns()[t.col(s.code)]
        case("renamed_key_column.csv", "renamed", "error/row", t.set_header(code_name, code_name + " (old)").bytes(),
             f"key column {code_name!r} renamed", "columns")
        case("missing_key_column.csv", "missing", "error/row", t.drop_column(code_name).bytes(),
             f"key column {code_name!r} missing", "columns")
        if s.count is not None:
            cname = t.columns()[t.col(s.count)]
            case("missing_count_column.csv", "missing_count", "error/row", t.drop_column(cname).bytes(),
                 f"count column {cname!r} missing", "columns")
        case("extra_column.csv", "extra", "accepted", t.add_column("Comments", lambda i: "checked" if i % 2 else "").bytes(),
             "an extra column", "columns")
    case("duplicate_code.csv", "duplicate", rc, t.with_rows([*t.rows, t.rows[s.target]]).bytes(), "duplicate key row",
         "duplicate codes", "a row repeated at the end")
    case("blank_code.csv", "blank", rc, t.set(s.target + 1, s.code, "").bytes(), "blank key in a row", "codes")
    case("malformed_code.csv", "malformed", rc, t.set(s.target + 2, s.code, "N/A").bytes(), "malformed key", "codes")
    if s.foreign_code:
        case("wrong_country_code.csv", "foreign", rc, t.set(s.target + 3, s.code, s.foreign_code).bytes(),
             f"code of another country ({s.foreign_code})", "wrong country/vintage")
    if s.vintage_code:
        case("wrong_vintage_code.csv", "vintage", rc, t.set(s.target + 4, s.code, s.vintage_code).bytes(),
             f"code of the wrong vintage ({s.vintage_code})", "wrong country/vintage",
             "an LSOA created in 2021 in a column headed 2011")
    if s.count is not None:
        i = s.target + 5
        case("negative_count.csv", "negative", rc, t.set(i, s.count, "-" + t.get(i, s.count).lstrip("-")).bytes(),
             "negative count", "bad numbers")
        case("non_numeric_count.csv", "non_numeric", rc, t.set(i + 1, s.count, "12a").bytes(), "non-numeric count",
             "bad numbers")
    if s.numerator and s.denominator:
        i = next(k for k in range(s.target + 3, len(t.rows)) if _num(t.get(k, s.denominator)) > 0)
        big = str(int(_num(t.get(i, s.denominator)) * 2 + 5))
        case("numerator_gt_denominator.csv", "num_gt_den", rc, t.set(i, s.numerator, big).bytes(),
             f"{s.numerator} > {s.denominator}", "numerator > denominator")
    case("binary_garbage.csv", "binary", "error", bytes(range(256)) * 8, "binary data named .csv", "not the format",
         "random bytes with a .csv name")

def _num(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


# ---------------------------------------------------------------------------------------------
# the bases: small slices of the real files (Rutland where the file is by area)


def rutland_lsoa21() -> list[str]:
    t = TextTable.from_text(read_text("lookups/geographr_lookup_lsoa21_ward24_ltla24.csv.gz"),
                            keep=lambda c: c[5] == RUTLAND)
    return sorted({t.get(i, "lsoa21_code") for i in range(len(t.rows))})


def rutland_lsoa11() -> list[str]:
    t = TextTable.from_text(read_text("lookups/geographr_lookup_lsoa11_lsoa21_ltla22.csv.gz"),
                            keep=lambda c: c[6] == RUTLAND)
    return sorted({t.get(i, "lsoa11_code") for i in range(len(t.rows))})


def llr_practices() -> tuple[TextTable, list[str]]:
    """epraccur rows: the Rutland (LE15) and the first QK1 GP practices."""
    t = TextTable.from_text(read_text("gp/epraccur_2023-02-20.zip"), headerless=True)
    keep = [r for r in t.rows if _cells(r)[3] == "QK1" and _cells(r)[25] == "4"
            and _cells(r)[12] == "A"]
    rutland = [r for r in keep if _cells(r)[9].startswith("LE15")]
    rows = rutland + [r for r in keep if r not in rutland][:16]
    t = t.with_rows(rows)
    return t, [_cells(r)[0] for r in rows]


def build_csv_cases() -> dict[str, object]:
    lsoa21, lsoa11 = rutland_lsoa21(), rutland_lsoa11()
    s21, s11 = set(lsoa21), set(lsoa11)
    practices_t, practices = llr_practices()
    pset = set(practices)
    ctx: dict[str, object] = {"lsoa21": lsoa21, "lsoa11": lsoa11, "practices": practices}

    # deprivation
    f1 = "iod2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    csv_suite(CsvSpec("iod2019_file1", "iod", f1,
                      TextTable.from_text(read_text(f1), keep=lambda c: c[2] == RUTLAND),
                      code="LSOA code (2011)", count="Index of Multiple Deprivation (IMD) Rank",
                      name="LSOA name (2011)", foreign_code="S01006506", vintage_code="E01035000",
                      gzip_base=True, extra={"missing_count": "accepted"}))
    f25 = "iod2025/humaniverse_imd2025_england_lsoa21.csv.gz"
    iod25 = TextTable.from_text(read_text(f25), keep=lambda c: c[0] in s21)
    # an IoD file may hold any subset of the measures: one measure column fewer is still a table
    csv_suite(CsvSpec("iod2025_humaniverse", "iod", f25, iod25, code="lsoa21_code", count="IMD_rank",
                      foreign_code="S01006506", extra={"missing_count": "accepted"}))
    # decile out of its range and a rank beyond the number of LSOAs ranked
    add("iod2025_humaniverse__decile_11.csv", "iod", "csv", "decile 11", "bad numbers", "error",
        iod25.set(2, "IMD_decile", "11.0").bytes(), row=True, column=True, base=f25)
    add("iod2025_humaniverse__rank_beyond_national.csv", "iod", "csv", "rank above 33,755", "bad numbers",
        "error", iod25.set(2, "IMD_rank", "40000.0").bytes(), row=True, column=True, base=f25)

    # geography lookups
    cw = "lookups/geographr_lookup_lsoa11_lsoa21_ltla22.csv.gz"
    csv_suite(CsvSpec("lookup_lsoa11_lsoa21", "ons_lsoa11_lsoa21_lookup", cw,
                      TextTable.from_text(read_text(cw), keep=lambda c: c[6] == RUTLAND),
                      code="lsoa11_code", name="lsoa11_name", foreign_code="S01006506"))
    lk = "lookups/geographr_lookup_lsoa21_ward24_ltla24.csv.gz"
    csv_suite(CsvSpec("lookup_lsoa21_ward24", "ons_lsoa_lookup", lk,
                      TextTable.from_text(read_text(lk), keep=lambda c: c[5] == RUTLAND),
                      code="lsoa21_code", name="ward24_name", foreign_code="S01006506",
                      extra={"foreign": "accepted~Scottish data zones"}))
    # for the minimal valid source set only (no cases): the LSOA 2021 -> sub-ICB -> ICB lookup
    ic = "lookups/geographr_lookup_lsoa21_icb24.csv.gz"
    VALID["lookup_lsoa21_icb24.csv"] = TextTable.from_text(read_text(ic), keep=lambda c: c[1] in s21).bytes()
    hl = "lookups/hoclib_lsoa_geog_lookup.csv.gz"
    csv_suite(CsvSpec("lookup_hoclib", "ons_lsoa_lookup", hl,
                      TextTable.from_text(read_text(hl), keep=lambda c: c[4] == RUTLAND),
                      code="LSOA_CODE", name="PCON_NAME"))
    wl = ("lookups/Ward_to_Local_Authority_District_to_County_to_Region_to_Country_(December_2022)"
          "_Lookup_in_United_Kingdom.csv")
    wt = TextTable.from_text(read_text(wl), keep=lambda c: c[2] == RUTLAND or c[1] in (
        "Eilean \u00e1 Ch\u00e8o", "Sg\u00eere an Rubha"))
    csv_suite(CsvSpec("ward_lookup", "ons_ward_lookup", wl, wt, code="WD22CD", name="WD22NM"))
    # the real file's Scottish Gaelic ward names, re-saved as Windows-1252
    add("ward_lookup__cp1252_real_names.csv", "ons_ward_lookup", "csv", "Windows-1252 encoding (real names)",
        "encoding", "accepted", wt.text().lstrip("\ufeff").encode("cp1252"), note="Windows-1252", base=wl,
        description="the real Gaelic ward names (Eilean \u00e1 Ch\u00e8o) in Windows-1252")

    # practices, PCNs, postcodes
    csv_suite(CsvSpec("epraccur", "ods_epraccur", "gp/epraccur_2023-02-20.zip", practices_t, code=0, name=1,
                      header_search=False, extra={"semicolon": "error/row"}))
    VALID["epraccur.zip"] = make_zip({"epraccur.csv": practices_t.bytes()})
    zb = make_zip({"epraccur.csv": practices_t.bytes()})
    add("epraccur__truncated_zip.zip", "ods_epraccur", "zip", "truncated zip", "truncated", "error",
        zb[: len(zb) // 2], base="gp/epraccur_2023-02-20.zip")
    add("epraccur__zip_two_csvs.zip", "ods_epraccur", "zip", "zip with two CSV files", "not the format", "error",
        make_zip({"epraccur.csv": practices_t.bytes(), "epraccur_old.csv": practices_t.bytes()}),
        base="gp/epraccur_2023-02-20.zip")
    add("epraccur__short_row.csv", "ods_epraccur", "csv", "a row with 10 of 27 fields", "columns", "error",
        practices_t.with_rows([*practices_t.rows[:3], ",".join(_cells(practices_t.rows[3])[:10]) + "\n",
                               *practices_t.rows[4:]]).bytes(), row=True, base="gp/epraccur_2023-02-20.zip")
    add("epraccur__bad_open_date.csv", "ods_epraccur", "csv", "open date not YYYYMMDD", "bad numbers", "error",
        practices_t.set(2, 10, "31/12/1974").bytes(), row=True, column=True, base="gp/epraccur_2023-02-20.zip")

    qg = "gp/qof_2020_21/MAPPING_NHS_GEOGRAPHIES_2021.csv"
    qgt = TextTable.from_text(read_text(qg), keep=lambda c: c[9] in LLR_CCGS, limit=30)
    csv_suite(CsvSpec("qof_geographies", "qof_nhs_geographies", qg, qgt, code="PRACTICE_CODE",
                      name="PRACTICE_NAME", header_search=False,
                      extra={"semicolon": "error/row", "renamed": "error/row/column", "missing": "error/row/column"}))
    cp = "postcodes/os_codepoint_open_2025_4/le.csv"
    pcs = {_cells(r)[9] for r in practices_t.rows}
    cpt = TextTable.from_text(read_text(cp), headerless=True)
    cpt = cpt.with_rows([r for r in cpt.rows if _cells(r)[0] in pcs]
                        + [r for r in cpt.rows if _cells(r)[0].startswith("LE15 6")][:20])
    csv_suite(CsvSpec("codepoint", "os_codepoint_open", cp, cpt, code=0, count=2, header_search=False,
                      extra={"semicolon": "error/row"}))
    add("codepoint__easting_out_of_grid.csv", "os_codepoint_open", "csv", "easting beyond the National Grid",
        "bad numbers", "error", cpt.set(3, 2, "9999999").bytes(), row=True, column=True, base=cp)

    # registrations and list sizes
    rg = "gp_registrations/bwdph_lsoapops_gp-reg-pat-prac-lsoa-all_2020-04_pennine.csv"
    rgt = TextTable.from_text(read_text(rg), limit=40)
    csv_suite(CsvSpec("registrations", "nhs_gp_registrations_lsoa", rg, rgt, code="PRACTICE_CODE",
                      count="Number.of.Patients", name="PRACTICE_NAME", header_search=False,
                      extra={"semicolon": "error/row/column", "duplicate": "error/row", **NAMED_COLUMNS}))
    add("registrations__two_extract_dates.csv", "nhs_gp_registrations_lsoa", "csv", "two extract dates",
        "columns", "error", rgt.set(7, "EXTRACT_DATE", "01JAN2021").bytes(), row=True, column=True, base=rg)
    hb = "gp_registrations/hoclib_gp-by-age.csv"
    hbt = TextTable.from_text(read_text(hb), keep=lambda c: c[0] in pset)
    csv_suite(CsvSpec("hoclib_list_sizes", "hoclib_gp_list_sizes_by_age", hb, hbt, code="PRACTICE_CODE",
                      count="TOTAL", numerator="65OV", denominator="TOTAL", header_search=False,
                      extra={"semicolon": "error/row", "duplicate": "error/row"}))
    add("hoclib_list_sizes__share_above_one.csv", "hoclib_gp_list_sizes_by_age", "csv", "65OV% above 1",
        "bad numbers", "error", hbt.set(2, "65OV%", "1.7").bytes(), row=True, column=True, base=hb)
    pv = "gp/qof_2020_21/PREVALENCE_2021_v2.csv"
    qsel = set(_cells(r)[14] for r in qgt.rows[:4])
    pvt = TextTable.from_text(read_text(pv), keep=lambda c: c[0] in qsel)
    # one row per practice and disease group: a repeated row changes nothing (the largest list size)
    csv_suite(CsvSpec("qof_prevalence", "qof_prevalence_list_sizes", pv, pvt, code="PRACTICE_CODE",
                      count="PRACTICE_LIST_SIZE", header_search=False,
                      extra={"semicolon": "error/row", "duplicate": "accepted", "missing_count": "error/row/column"}))
    # quinary age: no real gp-reg-pat-prac-quin-age file is in shared/data; the documented layout
    # with real practice codes and list sizes from hoclib (split evenly over the bands)
    quin = quinary_from(hbt)
    csv_suite(CsvSpec("quinary_age", "nhs_gp_registrations_quinary_age", hb + " (layout: NHS Digital quin-age)",
                      quin, code="ORG_CODE", count="NUMBER_OF_PATIENTS", name="POSTCODE", header_search=False,
                      extra={"semicolon": "error/row", "duplicate": "error/row", "missing_count": "error/row/column"}))

    # indicators
    ft = "fingertips_gp/fingertips_91547_smoking_prevalence_qof_gp.csv"
    ftt = TextTable.from_text(read_text(ft))
    # practice rows first (the defects edit them), then England and two area-group rows
    keep_rows = [r for r in ftt.rows if _cells(r)[4] in pset][:24] + ftt.rows[:3]
    ftt = ftt.with_rows(keep_rows)
    csv_suite(CsvSpec("fingertips", "fingertips_csv", ft, ftt, code="Area Code", count="Count",
                      numerator="Count", denominator="Denominator", name="Area Name",
                      extra={"semicolon": "error/row/column", "duplicate": "accepted~duplicate rows", **NAMED_COLUMNS, **HEADER_FOUND}))
    gi = next(i for i, r in enumerate(ftt.rows) if _cells(r)[6] == "GPs")
    sup = ftt.set(gi, "Value", "").set(gi, "Count", "").set(gi, "Lower CI 95.0 limit", "")
    sup = sup.set(gi, "Upper CI 95.0 limit", "").set(gi, "Value note", "Value suppressed for disclosure control due to small count")
    add("fingertips__suppressed_value_note.csv", "fingertips_csv", "csv", "suppressed value with a value note",
        "value notes/suppression", "accepted", sup.bytes(), note=r"(?i)suppress|value note", base=ft,
        description="a practice's value blanked with Fingertips' 'Value suppressed' note")
    dq = ftt.set(gi + 1, "Value note", "There is a data quality issue with this value. Potential underestimate "
                 "of the value due to double counting of patients in QOF")
    add("fingertips__data_quality_note.csv", "fingertips_csv", "csv", "value note (data quality)",
        "value notes/suppression", "accepted", dq.bytes(), base=ft,
        description="kept row by row in the value_note column")
    add("fingertips__value_not_number.csv", "fingertips_csv", "csv", "value '*' instead of a number", "bad numbers",
        "error", ftt.set(gi, "Value", "*").bytes(), row=True, column=True, base=ft)
    add("fingertips__ci_inverted.csv", "fingertips_csv", "csv", "lower CI above upper CI", "bad numbers", "error",
        ftt.set(gi, "Lower CI 95.0 limit", "99").bytes(), row=True, column=True, base=ft)
    add("fingertips__percent_above_100.csv", "fingertips_csv", "csv", "a percentage of 250", "bad numbers",
        "error", ftt.set(gi, "Value", "250").bytes(), row=True, column=True, base=ft)
    fn = "screening/fingertipsnext_healthdata_94063_breast_screening_53_70_subset.csv"
    csv_suite(CsvSpec("fingertipsnext", "fingertipsnext_csv", fn, TextTable.from_text(read_text(fn), limit=30),
                      code="AreaCode", count="Count", numerator="Count", denominator="Denominator",
                      extra={"semicolon": "error/row/column", "duplicate": "accepted~duplicate rows",
                             "blank": "accepted~no known type dropped",
                             "malformed": "accepted~no known type dropped", **NAMED_COLUMNS, **HEADER_FOUND}))
    cv = "screening/phe_cervical_coverage_gp_practice_dec2017_bbc.csv"
    cvt = TextTable.from_text(read_text(cv), keep=lambda c: "Leicest" in c[3] or "Rutland" in c[3], limit=25)
    # the period is read from the title or the file name: the case names keep "dec2017"
    csv_suite(CsvSpec("cervical_dec2017", "phe_cervical_practice", cv, cvt, code="Organisation.Code",
                      count="Eligible25to49", numerator="No..of.women.screened.in.previous.42.months",
                      denominator="Eligible25to49", name="Organisation",
                      extra={"semicolon": "error/row/column", "duplicate": "accepted~duplicate rows",
                             "blank": "accepted~without a practice code dropped",
                             "malformed": "accepted~without a practice code dropped", **NAMED_COLUMNS, **HEADER_FOUND}))
    si = next(i for i in range(len(cvt.rows)) if cvt.get(i, "Eligible25to49").isdigit())
    add("cervical_dec2017__suppressed_under_6.csv", "phe_cervical_practice", "csv", "'<under 6>' suppression",
        "value notes/suppression", "accepted",
        cvt.set(si, "No..of.women.screened.in.previous.42.months", "<under 6>").set(si, "X3.5.year.coverage..", "-2").bytes(),
        note=r"(?i)suppress|under 6", base=cv)

    # population, census
    ps = "population/demographr_population20_lsoa11_syoa.csv.gz"
    pst = TextTable.from_text(read_text(ps), keep=lambda c: c[1] in s11)
    csv_suite(CsvSpec("population_syoa", "ons_population_syoa", ps, pst, code="lsoa11_code", count="0",
                      name="lsoa11_name", foreign_code="S01006506", vintage_code="E01035000",
                      numerator="90+", denominator="total_population"))
    et = "census2021/demographr_ethnicity21_lsoa21.csv.gz"
    ett = TextTable.from_text(read_text(et), keep=lambda c: c[0] in s21)
    csv_suite(CsvSpec("ethnicity", "census21_ethnicity", et, ett, code="lsoa21_code", count="n",
                      numerator="n", denominator="total_residents", foreign_code="S01006506"))
    hd = "census2021/demographr_household_deprivation21_lsoa21.csv.gz"
    hdt = TextTable.from_text(read_text(hd), keep=lambda c: c[0] in s21)
    csv_suite(CsvSpec("household_deprivation", "census21_household_deprivation", hd, hdt, code="lsoa21_code",
                      count="n", numerator="n", denominator="total_households"))
    return ctx


#: readers that check their header against a list of required names name the missing column
NAMED_COLUMNS = {"renamed": "error/row/column", "missing": "error/row/column", "missing_count": "error/row/column"}
#: readers that search for their header below title rows say so in a note
HEADER_FOUND = {"header_moved": "accepted~header found on row 4"}
AGES = [f"{lo}_{lo + 4}" for lo in range(0, 95, 5)] + ["95+"]


def quinary_from(hoc: TextTable) -> TextTable:
    header = ("PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,ORG_CODE,POSTCODE,SEX,AGE_GROUP_5,"
              "NUMBER_OF_PATIENTS\n")
    rows: list[str] = []
    for i in range(min(3, len(hoc.rows))):
        code, total = hoc.get(i, "PRACTICE_CODE"), int(_num(hoc.get(i, "TOTAL")))
        per = total // 40

        def row(sex: str, age: str, n: int, code: str = code) -> str:
            return f"GP_PRAC_PAT_LIST,01APR2020,GP,03W,E38000051,{code},LE15 6NT,{sex},{age},{n}\n"

        rows.append(row("ALL", "ALL", per * 40))
        rows.append(row("FEMALE", "ALL", per * 20))
        rows.append(row("MALE", "ALL", per * 20))
        rows += [row(sex, a, per) for sex in ("FEMALE", "MALE") for a in AGES]
    return TextTable(header, rows)


# ---------------------------------------------------------------------------------------------
# workbooks (xlsx, ods)


def sheet_rows(rel: str, nrows: int | None = None) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(SHARED / rel))
    return {n: wb.get_sheet_by_name(n).to_python(nrows=nrows, skip_empty_area=False) for n in wb.sheet_names}


def write_xlsx(sheets: dict[str, list[list[object]]], merges: dict[str, list[str]] | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append([None if v == "" else v for v in r])
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_package(buf.getvalue())


def write_ods(sheets: dict[str, list[list[object]]]) -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="odf") as xw:
        for name, rows in sheets.items():
            width = max((len(r) for r in rows), default=1)
            frame = pd.DataFrame([list(r) + [""] * (width - len(r)) for r in rows], dtype=object)
            frame = frame.map(lambda v: None if v == "" else v)
            frame.to_excel(xw, sheet_name=name, header=False, index=False)
    return normalise_package(buf.getvalue())


def _merged_title(rows: list[list[object]], title: str) -> tuple[list[list[object]], list[str]]:
    """Two rows above the header: a title merged across, and a group row with merged spans."""
    width = len(rows[0])
    from openpyxl.utils import get_column_letter

    last = get_column_letter(width)
    half = max(1, width // 2)
    group = ["Geography"] + [""] * (half - 1) + ["Figures"] + [""] * (width - half - 1)
    merges = [f"A1:{last}1", f"A2:{get_column_letter(half)}2"]
    if width - half > 1:
        merges.append(f"{get_column_letter(half + 1)}2:{last}2")
    return [[title] + [""] * (width - 1), group, *rows], merges


def build_workbook_cases(ctx: dict[str, object]) -> None:
    practices = set(ctx["practices"])  # type: ignore[arg-type]

    # Leicester City Council IoD2025 workbook (xlsx with polygons)
    lc = "leicester_city_council/deprivation-in-leicester-2025.xlsx"
    rows = sheet_rows(lc)["Feuil1"][:7]
    head = [str(c) for c in rows[0]]
    base = write_xlsx({"Feuil1": rows})
    VALID["leicester_iod2025.xlsx"] = base
    r = "leicester_iod2025"
    add("leicester_iod2025__truncated.xlsx", r, "xlsx", "truncated workbook", "truncated", "error",
        base[: len(base) // 2], base=lc)
    add("leicester_iod2025__empty.xlsx", r, "xlsx", "empty file", "empty", "error", b"", base=lc)
    mr, merges = _merged_title(rows, "Deprivation in Leicester 2025")
    add("leicester_iod2025__merged_header_rows.xlsx", r, "xlsx", "merged title and group rows above the header",
        "merged header", "accepted", write_xlsx({"Feuil1": mr}, {"Feuil1": merges}), base=lc)
    shape = next(i for i, h in enumerate(head) if h == "LSOAGeo Shape")
    bad = copy.deepcopy(rows)
    bad[3][shape] = '{"type": "Polygon", "coordinates": [[[-1.1, 52.6], [-1.1'
    add("leicester_iod2025__broken_polygon.xlsx", r, "xlsx", "a cut-off GeoJSON polygon", "geometry", "error",
        write_xlsx({"Feuil1": bad}), row=True, column=True, base=lc)
    bad = copy.deepcopy(rows)
    bad[4][head.index("IMD2025_decile")] = "high"
    add("leicester_iod2025__non_numeric_decile.xlsx", r, "xlsx", "decile 'high'", "bad numbers", "error",
        write_xlsx({"Feuil1": bad}), row=True, column=True, base=lc)
    add("leicester_iod2025__duplicate_code.xlsx", r, "xlsx", "duplicate LSOA", "duplicate codes", "error",
        write_xlsx({"Feuil1": [*rows, rows[2]]}), row=True, column=True, base=lc)
    bad = copy.deepcopy(rows)
    bad[2][0] = "<script>alert(1)</script>"
    add("leicester_iod2025__markup_in_code.xlsx", r, "xlsx", "markup in the LSOA code", "codes", "error",
        write_xlsx({"Feuil1": bad}), row=True, column=True, base=lc)

    # ONS LSOA11 -> WD21 -> LAD21 lookup workbook
    lw = "lookups/LSOA11_WD21_LAD21_EW_LU_V2.xlsx"
    allrows = sheet_rows(lw)["LSOA11_WD21_LAD21_EW_LU"]
    rows = [allrows[0]] + [x for x in allrows[1:] if x[4] == RUTLAND]
    sheet = "LSOA11_WD21_LAD21_EW_LU"
    r = "ons_lsoa_lookup"
    base = write_xlsx({sheet: rows})
    VALID["lookup_lsoa11_wd21.xlsx"] = base
    mr, merges = _merged_title(rows, "LSOA (2011) to Ward (2021) to LAD (2021) best-fit lookup")
    add("lookup_lsoa11_wd21__merged_header_rows.xlsx", r, "xlsx", "merged title and group rows above the header",
        "merged header", "accepted", write_xlsx({sheet: mr}, {sheet: merges}), base=lw)
    split = [["LSOA11", "", "WD21", "", "LAD21", ""], ["CD", "NM", "CD", "NM", "CD", "NM"], *rows[1:]]
    add("lookup_lsoa11_wd21__header_split_in_merged_cells.xlsx", r, "xlsx",
        "header split over two rows with merged cells", "merged header", "error",
        write_xlsx({sheet: split}, {sheet: ["A1:B1", "C1:D1", "E1:F1"]}), base=lw,
        description="'LSOA11' merged over 'CD'/'NM': no single row names the columns")
    add("lookup_lsoa11_wd21__truncated.xlsx", r, "xlsx", "truncated workbook", "truncated", "error",
        base[: len(base) * 3 // 4], base=lw)
    bad = copy.deepcopy(rows)
    bad[5][0] = "E0101"
    add("lookup_lsoa11_wd21__malformed_code.xlsx", r, "xlsx", "short LSOA code", "codes", "error",
        write_xlsx({sheet: bad}), row=True, column=True, base=lw)
    add("lookup_lsoa11_wd21__duplicate_code.xlsx", r, "xlsx", "duplicate LSOA with another ward", "duplicate codes",
        "error", write_xlsx({sheet: [*rows, [rows[3][0], rows[3][1], "E05999999", "Nowhere", RUTLAND, "Rutland"]]}),
        row=True, column=True, base=lw)
    add("lookup_lsoa11_wd21__header_only.xlsx", r, "xlsx", "header row only", "empty", "error",
        write_xlsx({sheet: rows[:1]}), base=lw)
    moved = [[""] * 6] * 4 + rows
    add("lookup_lsoa11_wd21__header_moved_down.xlsx", r, "xlsx", "header on row 5", "header moved", "accepted",
        write_xlsx({sheet: moved}), base=lw)

    # ONS SAPE population density workbook
    pdn = "population/SAPE21DT11-mid-2018-lsoa-population-density.xlsx"
    sheets = sheet_rows(pdn)
    main = "Mid-2018 Population Density"
    hdr = next(i for i, x in enumerate(sheets[main]) if x and x[0] == "Code")
    body = [x for x in sheets[main][hdr + 1:] if x and str(x[0]).startswith("E01") and x[0] in set(ctx["lsoa11"])]  # type: ignore[arg-type]
    small = {n: rows[:12] for n, rows in sheets.items() if n != main}
    small[main] = sheets[main][: hdr + 1] + body
    r = "ons_population_density"
    base = write_xlsx(small)
    VALID["population_density.xlsx"] = base

    def pdv(i: int, j: int, v: object) -> bytes:
        s = copy.deepcopy(small)
        s[main][hdr + 1 + i][j] = v
        return write_xlsx(s)

    add("population_density__negative_population.xlsx", r, "xlsx", "negative population", "bad numbers", "error",
        pdv(3, 2, -1665), row=True, column=True, base=pdn)
    add("population_density__non_numeric_population.xlsx", r, "xlsx", "population '..'", "bad numbers", "error",
        pdv(4, 2, ".."), row=True, column=True, base=pdn)
    add("population_density__bad_code.xlsx", r, "xlsx", "code 'Rutland'", "codes", "error",
        pdv(2, 0, "Rutland"), row=True, column=True, base=pdn)
    s = copy.deepcopy(small)
    s[main][hdr] = ["Code", "Name", "Population", "Area Sq Km", "People per Sq Km"]
    add("population_density__renamed_population_column.xlsx", r, "xlsx", "population column renamed",
        "columns", "error", write_xlsx(s), base=pdn)
    s = copy.deepcopy(small)
    s[main] = s[main][: hdr + 1]
    add("population_density__no_rows.xlsx", r, "xlsx", "header row only", "empty", "error", write_xlsx(s), base=pdn)
    add("population_density__truncated.xlsx", r, "xlsx", "truncated workbook", "truncated", "error",
        base[: len(base) // 3], base=pdn)

    # NHS ODS ePCN workbook
    ep = "gp/ePCN_2019-12.xlsx"
    sheets = sheet_rows(ep)
    details = sheets["PCN Details"]
    partners = sheets["PCN Core Partner Details"]
    part = [partners[0]] + [x for x in partners[1:] if x[0] in practices][:20]
    pcns = {x[4] for x in part[1:]}
    det = [details[0]] + [x for x in details[1:] if x[0] in pcns]
    small = {"PCN Details": det, "PCN Core Partner Details": part}
    r = "ods_epcn"
    base = write_xlsx(small)
    VALID["epcn.xlsx"] = base
    add("epcn__truncated.xlsx", r, "xlsx", "truncated workbook", "truncated", "error", base[: len(base) // 2], base=ep)
    s = copy.deepcopy(small)
    s["PCN Core Partner Details"][2][0] = "N/A"
    add("epcn__bad_practice_code.xlsx", r, "xlsx", "practice code 'N/A'", "codes", "error", write_xlsx(s),
        row=True, column=True, base=ep)
    s = copy.deepcopy(small)
    s["PCN Core Partner Details"][3][8] = "2019-13-45"
    add("epcn__bad_start_date.xlsx", r, "xlsx", "start date '2019-13-45'", "bad numbers", "error", write_xlsx(s),
        row=True, column=True, base=ep)
    s = copy.deepcopy(small)
    s["PCN Core Partner Details"] = [[c for k, c in enumerate(x) if k != 4] for x in s["PCN Core Partner Details"]]
    add("epcn__missing_pcn_code_column.xlsx", r, "xlsx", "'PCN Code' column missing", "columns", "error",
        write_xlsx(s), column=True, base=ep)
    add("epcn__partner_sheet_only_header.xlsx", r, "xlsx", "partner sheet with no rows", "empty", "error",
        write_xlsx({**small, "PCN Core Partner Details": small["PCN Core Partner Details"][:1]}), base=ep)
    mr, merges = _merged_title(small["PCN Core Partner Details"], "ePCN: practice to PCN relationships")
    add("epcn__merged_header_rows.xlsx", r, "xlsx", "merged title rows above the header", "merged header",
        "accepted", write_xlsx({**small, "PCN Core Partner Details": mr}, {"PCN Core Partner Details": merges}),
        base=ep)

    # UKHSA COVER by GP practice (ODS)
    cg = "immunisation/cover_gp_quarterly/17_coverGP_Apr23Jun23.ods"
    sheets = sheet_rows(cg)
    gp = sheets["GP_Code"]
    ghdr = next(i for i, x in enumerate(gp) if x and x[0] == "ICB code")
    gp_small = gp[: ghdr + 1] + [x for x in gp[ghdr + 1:] if x[0] == "QK1"][:15]
    icb = sheets["ICB_Code"]
    ihdr = next(i for i, x in enumerate(icb) if x and str(x[0]).strip() == "ICB Code")
    icb_small = icb[: ihdr + 1] + [x for x in icb[ihdr + 1:] if x[0] in ("QK1", "QOX")]
    small = {"Information": sheets["Information"], "GP_Code": gp_small, "ICB_Code": icb_small,
             "Data_caveats": sheets["Data_caveats"], "Version_Control": sheets["Version_Control"]}
    r = "cover_gp_ods"
    base = write_ods(small)
    VALID["cover_gp.ods"] = base
    gh = [str(c) for c in gp[ghdr]]

    def cgv(i: int, col: str, v: object) -> bytes:
        s = copy.deepcopy(small)
        s["GP_Code"][ghdr + 1 + i][gh.index(col)] = v
        return write_ods(s)

    add("cover_gp__truncated.ods", r, "ods", "truncated workbook", "truncated", "error", base[: len(base) // 2], base=cg)
    add("cover_gp__suppressed_note.ods", r, "ods", "'[note 1]' suppressed denominator", "value notes/suppression",
        "accepted", cgv(2, "12m Denominator", "[note 1]"), note=r"note|suppress", base=cg)
    add("cover_gp__percent_above_100.ods", r, "ods", "coverage 140%", "bad numbers", "error",
        cgv(3, "24m MMR1%", 140.0), row=True, column=True, base=cg)
    add("cover_gp__negative_denominator.ods", r, "ods", "denominator -12", "bad numbers", "error",
        cgv(4, "12m Denominator", -12.0), row=True, column=True, base=cg)
    add("cover_gp__non_numeric_percent.ods", r, "ods", "coverage 'ninety'", "bad numbers", "error",
        cgv(5, "12m MenB%", "ninety"), row=True, column=True, base=cg)
    add("cover_gp__bad_gp_code.ods", r, "ods", "GP code '???'", "codes", "accepted",
        cgv(6, "GP code", "???"), note="not a practice code dropped", base=cg,
        description="COVER's own non-practice rows are dropped by design: noted with an example")
    add("cover_gp__duplicate_practice.ods", r, "ods", "a practice twice", "duplicate codes", "accepted",
        write_ods({**small, "GP_Code": [*gp_small, gp_small[ghdr + 2]]}), note=r"(?i)duplicate|twice|once|repeated",
        base=cg, description="COVER lists a practice that moved ICB twice: one row kept, noted")
    s = copy.deepcopy(small)
    s["GP_Code"] = [[c for k, c in enumerate(x) if k != gh.index("GP code")] for x in s["GP_Code"]]
    add("cover_gp__missing_gp_code_column.ods", r, "ods", "'GP code' column missing", "columns", "error",
        write_ods(s), column=True, base=cg)
    s = copy.deepcopy(small)
    s["GP_Code"] = [[""] * 3] * 6 + s["GP_Code"]
    add("cover_gp__header_moved_down.ods", r, "ods", "six blank rows above the title", "header moved",
        "accepted", write_ods(s), base=cg)

    # UKHSA COVER by upper-tier LA (ODS)
    cu = "immunisation/cover_quarterly_utla/COVER_2024_2025_Q4.ods"
    sheets = sheet_rows(cu)
    small = {}
    for n, rows in sheets.items():
        if n.startswith("Table_"):
            keep = rows[:8] + [x for x in rows[8:] if any(
                str(c).strip() in ("Leicester", "Rutland", "Leicestershire", "E06000016", "E06000017",
                                   "E10000018") for c in x)]
            small[n] = keep
        else:
            small[n] = rows
    r = "cover_utla_ods"
    base = write_ods(small)
    VALID["cover_utla.ods"] = base
    t5 = small["Table_5"]
    h5 = next(i for i, x in enumerate(t5) if x and x[0] == "Code")
    add("cover_utla__truncated.ods", r, "ods", "truncated workbook", "truncated", "error", base[: len(base) // 2],
        base=cu)

    def cuv(row: int, col: int, v: object, table: str = "Table_5") -> bytes:
        s = copy.deepcopy(small)
        s[table][row][col] = v
        return write_ods(s)

    li = next(i for i, x in enumerate(t5) if i > h5 and x[0] in ("E06000016", "E06000017", "E10000018"))
    add("cover_utla__percent_above_100.ods", r, "ods", "coverage 180%", "bad numbers", "error",
        cuv(li, 6, 180.0), row=True, column=True, base=cu)
    add("cover_utla__non_numeric_denominator.ods", r, "ods", "denominator 'lots'", "bad numbers", "error",
        cuv(li, 5, "lots"), row=True, column=True, base=cu)
    add("cover_utla__suppressed_c.ods", r, "ods", "'[c]' suppressed coverage", "value notes/suppression",
        "accepted", cuv(li, 6, "[c]"), note=r"\[c\]|suppress|marker", base=cu)
    add("cover_utla__wrong_country_code.ods", r, "ods", "a Scottish council code in Table 5",
        "wrong country/vintage", "accepted", cuv(li, 0, "S12000017"), note=r"(?i)not|drop|skip|unknown",
        base=cu, description="a code outside England: left out, with a note")


# ---------------------------------------------------------------------------------------------
# boundaries (GeoJSON, GeoPackage, zipped shapefile)


def build_geo_cases(ctx: dict[str, object]) -> None:
    import geopandas as gpd

    os.environ.setdefault("OGR_CURRENT_DATE", "2020-01-01T00:00:00Z")  # GPKG timestamps
    r = "ons_boundaries"
    mj = "boundaries/ons_2011_bgc_martinjc/lsoa11_by_lad/E06000017.json"
    fc = json.loads((SHARED / mj).read_text("utf-8"))
    base_fc = {k: v for k, v in fc.items() if k != "features"}
    feats = fc["features"][:6]

    def gj(features: list[dict], **extra: object) -> bytes:
        return json.dumps({**base_fc, **extra, "features": features}, separators=(",", ":")).encode()

    base = gj(feats)
    VALID["boundaries_lsoa11_rutland.geojson"] = base
    add("boundaries_lsoa11__truncated.geojson", r, "geojson", "truncated JSON", "truncated", "error",
        base[: len(base) // 2], base=mj)
    add("boundaries_lsoa11__empty.geojson", r, "geojson", "empty file", "empty", "error", b"", base=mj)
    add("boundaries_lsoa11__no_features.geojson", r, "geojson", "FeatureCollection with no features", "empty",
        "error", gj([]), base=mj)

    def edit(i: int, fn: Callable[[dict], None]) -> list[dict]:
        out = copy.deepcopy(feats)
        fn(out[i])
        return out

    def rename(f: dict) -> None:
        f["properties"] = {"CODE": f["properties"]["LSOA11CD"], "NAME": f["properties"]["LSOA11NM"]}

    add("boundaries_lsoa11__renamed_code_field.geojson", r, "geojson", "code field renamed 'CODE'", "columns",
        "error", gj([{**f, "properties": {"CODE": f["properties"]["LSOA11CD"]}} for f in feats]), base=mj)
    add("boundaries_lsoa11__one_feature_renamed.geojson", r, "geojson", "one feature without LSOA11CD", "columns",
        "error", gj(edit(2, rename)), row=True, column=True, base=mj)
    add("boundaries_lsoa11__duplicate_code.geojson", r, "geojson", "the same LSOA twice", "duplicate codes",
        "accepted", gj([*feats, copy.deepcopy(feats[1])]), note=r"(?i)duplicate|merged|dissolved", base=mj,
        description="an LSOA in two parts: merged into one area, noted")
    add("boundaries_lsoa11__bowtie_polygon.geojson", r, "geojson", "self-intersecting polygon", "geometry",
        "accepted", gj(edit(1, lambda f: f.update(geometry={"type": "Polygon", "coordinates": [[
            [-0.7, 52.6], [-0.6, 52.7], [-0.6, 52.6], [-0.7, 52.7], [-0.7, 52.6]]]}))),
        note="repaired", base=mj, description="a bow-tie ring: repaired with make_valid, noted")
    add("boundaries_lsoa11__null_geometry.geojson", r, "geojson", "a feature with null geometry", "geometry",
        "error", gj(edit(3, lambda f: f.update(geometry=None))), row=True, column=True, base=mj)
    add("boundaries_lsoa11__empty_geometry.geojson", r, "geojson", "an empty polygon", "geometry", "error",
        gj(edit(4, lambda f: f.update(geometry={"type": "Polygon", "coordinates": []}))), row=True,
        column=True, base=mj)
    add("boundaries_lsoa11__point_geometry.geojson", r, "geojson", "a point instead of a polygon", "geometry",
        "error", gj(edit(2, lambda f: f.update(geometry={"type": "Point", "coordinates": [-0.7, 52.65]}))),
        row=True, column=True, base=mj)
    add("boundaries_lsoa11__unclosed_ring.geojson", r, "geojson", "a ring that is not closed", "geometry", "error",
        gj(edit(1, lambda f: f.update(geometry={"type": "Polygon", "coordinates": [[
            [-0.7, 52.6], [-0.6, 52.7], [-0.6, 52.6]]]}))), column=True, base=mj)
    add("boundaries_lsoa11__wrong_country_code.geojson", r, "geojson", "a Scottish data zone code",
        "wrong country/vintage", "error",
        gj(edit(0, lambda f: f["properties"].update(LSOA11CD="S01006506"))), row=True, column=True, base=mj)
    add("boundaries_lsoa11__blank_code.geojson", r, "geojson", "a blank code", "codes", "error",
        gj(edit(5, lambda f: f["properties"].update(LSOA11CD=""))), row=True, column=True, base=mj)
    evil = "<script>alert(1)</script>"
    add("boundaries_lsoa11__script_in_name.geojson", r, "geojson", "markup in an area name", "markup",
        "accepted", gj(edit(0, lambda f: f["properties"].update(LSOA11NM=evil))), base=mj,
        description="an area called <script>alert(1)</script>: read as text; maps escape it")
    add("boundaries_lsoa11__not_geojson.geojson", r, "geojson", "JSON that is not GeoJSON", "not the format",
        "error", json.dumps({"type": "FeatureCollection", "rows": [1, 2, 3]}).encode(), base=mj)

    # LSOA 2021 (BSC) for Rutland as GeoPackage and zipped shapefile
    bs = "boundaries/geographr_ons_bsc/llr_lsoa21_bsc.geojson"
    gdf = gpd.read_file(SHARED / bs)
    gdf = gdf[gdf["lsoa21_code"].isin(set(ctx["lsoa21"]))].reset_index(drop=True)  # type: ignore[arg-type]
    VALID["boundaries_lsoa21_rutland.geojson"] = gdf.to_json(drop_id=True).encode()
    ms = gpd.read_file(SHARED / "boundaries/geographr_ons_bsc/llr_msoa21_bsc.geojson")
    ms = ms[ms["msoa21_name"].str.startswith("Rutland ")].reset_index(drop=True)
    VALID["boundaries_msoa21_rutland.geojson"] = ms.to_json(drop_id=True).encode()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        gdf.head(8).to_file(t / "lsoa21.gpkg", driver="GPKG", layer="lsoa21")
        gp_bytes = (t / "lsoa21.gpkg").read_bytes()
        add("boundaries_lsoa21__truncated.gpkg", r, "gpkg", "truncated GeoPackage", "truncated", "error",
            gp_bytes[: len(gp_bytes) // 2], base=bs)
        add("boundaries_lsoa21__garbage.gpkg", r, "gpkg", "not a GeoPackage (text)", "not the format", "error",
            b"this is not a database\n" * 20, base=bs)
        bng = gdf.head(8).to_crs(27700).rename(columns={"lsoa21_code": "LSOA21CD", "lsoa21_name": "LSOA21NM"})
        (t / "shp").mkdir()
        bng.to_file(t / "shp" / "lsoa21.shp", driver="ESRI Shapefile")
        parts = {p.name: _fix_dbf_date(p.read_bytes()) if p.suffix == ".dbf" else p.read_bytes()
                 for p in sorted((t / "shp").iterdir())}
    VALID["boundaries_lsoa21_shapefile.zip"] = make_zip(parts)
    no_prj = {k: v for k, v in parts.items() if not k.endswith(".prj")}
    add("boundaries_lsoa21__shapefile_missing_prj.zip", r, "zip", "zipped shapefile without .prj",
        "shapefile parts", "error", make_zip(no_prj), column=True, base=bs,
        description="British National Grid coordinates and no .prj: the CRS cannot be known")
    add("boundaries_lsoa21__shapefile_missing_dbf.zip", r, "zip", "zipped shapefile without .dbf",
        "shapefile parts", "error", make_zip({k: v for k, v in parts.items() if not k.endswith(".dbf")}),
        base=bs)
    add("boundaries_lsoa21__shapefile_missing_shx.zip", r, "zip", "zipped shapefile without .shx",
        "shapefile parts", "error", make_zip({k: v for k, v in parts.items() if not k.endswith(".shx")}),
        base=bs)
    add("boundaries_lsoa21__shapefile_in_folder.zip", r, "zip", "shapefile inside a folder in the zip",
        "shapefile parts", "accepted", make_zip({f"LSOA_2021/{k}": v for k, v in parts.items()}),
        note="reprojected", base=bs)
    add("boundaries_lsoa21__zip_of_readme.zip", r, "zip", "zip holding only a readme", "not the format",
        "error", make_zip({"readme.txt": b"Boundaries to follow.\n"}), base=bs)


def build_geocheck_cases(ctx: dict[str, object]) -> None:
    """Issue 11 items 3 and 4: boundaries in the wrong place or CRS, a feature over the vertex
    budget, files with no English area; Fingertips periods that a spreadsheet turned into dates."""
    import geopandas as gpd
    import numpy as np
    import shapely

    r = "ons_boundaries"
    bs = "boundaries/geographr_ons_bsc/llr_lsoa21_bsc.geojson"
    gdf = gpd.read_file(SHARED / bs)
    gdf = gdf[gdf["lsoa21_code"].isin(set(ctx["lsoa21"]))].reset_index(drop=True)  # type: ignore[arg-type]
    base = json.loads(gdf.to_json(drop_id=True))

    def fc(fn: Callable[[dict], None] | None = None, only: int | None = None, **extra: object) -> bytes:
        out = copy.deepcopy(base)
        out.update(extra)
        for i, f in enumerate(out["features"]):
            if fn is not None and (only is None or i == only):
                fn(f)
        return json.dumps(out, separators=(",", ":")).encode()

    def move(fx: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
        def edit(f: dict) -> None:
            g = shapely.geometry.shape(f["geometry"])
            g = shapely.transform(g, fx)
            f["geometry"] = json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-7)))
        return edit

    swap = move(lambda c: c[:, ::-1])
    add("boundaries_lsoa21__lonlat_swapped.geojson", r, "geojson", "latitude and longitude swapped", "coordinates",
        "error", fc(swap), row=True, column=True, note="coordinates look like lon/lat swapped", base=bs,
        description="every coordinate written (lat, lon) instead of (lon, lat)")
    add("boundaries_lsoa21__one_feature_swapped.geojson", r, "geojson", "one feature with lat/lon swapped",
        "coordinates", "error", fc(swap, only=3), row=True, column=True,
        note="coordinates look like lon/lat swapped", base=bs)
    bng_member = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    add("boundaries_lsoa21__degrees_labelled_bng.geojson", r, "geojson", "degrees labelled EPSG:27700 (crs member)",
        "coordinates", "error", fc(crs=bng_member), row=True, column=True,
        note="degrees labelled as British National Grid", base=bs,
        description="lon/lat coordinates under a GeoJSON crs member naming British National Grid")
    bng = gdf.to_crs(27700)
    bng["geometry"] = shapely.set_precision(bng.geometry.to_numpy(), 0.1)
    metres = json.loads(bng.to_json(drop_id=True))
    metres.pop("crs", None)  # the point of the case: no CRS stated
    add("boundaries_lsoa21__bng_metres_without_crs.geojson", r, "geojson",
        "British National Grid metres with no crs member", "coordinates", "error",
        json.dumps(metres, separators=(",", ":")).encode(), row=True, column=True,
        note="coordinates look like metres", base=bs,
        description="GeoJSON means WGS 84 when it names no CRS: eastings and northings read as degrees")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp) / "shp"
        t.mkdir()
        wrong = gdf.rename(columns={"lsoa21_code": "LSOA21CD", "lsoa21_name": "LSOA21NM"})
        wrong.set_crs(27700, allow_override=True).to_file(t / "lsoa21.shp", driver="ESRI Shapefile")
        parts = {q.name: _fix_dbf_date(q.read_bytes()) if q.suffix == ".dbf" else q.read_bytes()
                 for q in sorted(t.iterdir())}
    add("boundaries_lsoa21__degrees_labelled_bng_prj.zip", r, "zip", "degrees labelled EPSG:27700 (.prj)",
        "coordinates", "error", make_zip(parts), row=True, column=True,
        note="degrees labelled as British National Grid", base=bs,
        description="a zipped shapefile whose .prj says British National Grid over lon/lat coordinates")
    france = move(lambda c: c + np.array([1.5, -4.0]))
    add("boundaries_lsoa21__shifted_into_france.geojson", r, "geojson", "boundaries shifted into France",
        "wrong country/vintage", "error", fc(france), row=True, column=True,
        note=r"lies outside England.*in France", base=bs, description="Rutland moved 4 degrees south, 1.5 east")
    scot = move(lambda c: c + np.array([-3.5, 4.5]))
    add("boundaries_lsoa21__shifted_into_scotland.geojson", r, "geojson", "boundaries shifted into Scotland",
        "wrong country/vintage", "error", fc(scot), row=True, column=True,
        note=r"lies outside England.*inside Scotland's extent", base=bs,
        description="Rutland moved 4.5 degrees north, 3.5 west (the Highlands)")
    add("boundaries_lsoa21__one_feature_in_scotland.geojson", r, "geojson", "one feature shifted into Scotland",
        "wrong country/vintage", "error", fc(scot, only=5), row=True, column=True,
        note=r"'E0\d+' lies outside England", base=bs)
    add("boundaries_lsoa21__one_feature_at_null_island.geojson", r, "geojson", "one feature at 0,0 (null island)",
        "wrong country/vintage", "error", fc(move(lambda c: c - c.mean(axis=0)), only=2), row=True, column=True,
        note=r"lies outside England.*outside the UK", base=bs,
        description="a feature whose coordinates were centred on 0, 0 by a broken export")
    add("boundaries_lsoa21__welsh_code_in_england.geojson", r, "geojson", "a Welsh code on an English polygon",
        "wrong country/vintage", "error",
        fc(lambda f: f["properties"].update(lsoa21_code="W01001950"), only=1), row=True, column=True,
        note=r"'W01001950' lies outside Wales", base=bs)
    add("boundaries_lsoa21__code_not_in_lookup.geojson", r, "geojson", "an LSOA code no lookup knows",
        "codes", "accepted", fc(lambda f: f["properties"].update(lsoa21_code="E01039999"), only=4), base=bs,
        description="a well-formed code that is not an LSOA 2021: read here, refused by the build, which "
        "names it (the lookup does not hold it)")
    nat = "boundaries/geographr_ons_bsc/boundaries_lsoa21.gpkg"
    wales = gpd.read_file(SHARED / nat, where="lsoa21_code LIKE 'W01%' AND lsoa21_name LIKE 'Monmouthshire%'")
    wales = wales.sort_values("lsoa21_code").head(12).reset_index(drop=True)
    add("boundaries_lsoa21__welsh_only.geojson", r, "geojson", "a Welsh-only boundary file", "wrong country/vintage",
        "error", wales.to_json(drop_id=True).encode(), column=True, note="holds no area in England: its 12 LSOA codes",
        base=nat, description="12 Monmouthshire LSOAs: real boundaries, but none in England")
    wd = "boundaries/geographr_ons_bsc/boundaries_wards22.gpkg"
    scot_wards = gpd.read_file(SHARED / wd, where="ward22_code LIKE 'S13%'")
    scot_wards = scot_wards.sort_values("ward22_code").head(6).reset_index(drop=True)
    add("boundaries_wards22__scotland_only.geojson", r, "geojson", "a Scottish-only ward file", "wrong country/vintage",
        "error", scot_wards.to_json(drop_id=True).encode(), column=True,
        note=r"holds no area in England: its 6 ward codes are all in Scotland", base=wd,
        description="the first 6 Scottish wards of the ONS UK ward boundaries")
    lad = "boundaries/ons_lad22_buc/lad22_buc.geojson"
    lads = gpd.read_file(SHARED / lad)
    rut = lads[lads["LAD22CD"].isin(["E06000017", "E06000016"])][["LAD22CD", "LAD22NM", "geometry"]]
    rut = rut.sort_values("LAD22CD").reset_index(drop=True)
    sea = rut.copy()
    sea["geometry"] = shapely.set_precision(shapely.transform(rut.geometry.to_numpy(), lambda c: c + [400_000, 0]), 1.0)
    sea_fc = json.loads(sea.to_json(drop_id=True))
    sea_fc["crs"] = bng_member
    add("boundaries_lad22__shifted_into_north_sea.geojson", r, "geojson", "British National Grid shifted 400 km east",
        "wrong country/vintage", "error", json.dumps(sea_fc, separators=(",", ":")).encode(), row=True, column=True,
        note=r"'E06000016' lies outside England.*outside the UK", base=lad,
        description="Leicester and Rutland (BNG, crs member) with 400 km added to every easting: the North Sea")
    ms = "boundaries/geographr_ons_bsc/llr_msoa21_bsc.geojson"
    msoa = gpd.read_file(SHARED / ms)
    msoa = msoa[msoa["msoa21_name"].str.startswith("Rutland ")].reset_index(drop=True)
    msoa["geometry"] = shapely.transform(msoa.geometry.to_numpy(), lambda c: c[:, ::-1])
    with tempfile.TemporaryDirectory() as tmp:
        gp = Path(tmp) / "msoa21.gpkg"
        msoa.set_crs(4326, allow_override=True).to_file(gp, driver="GPKG", layer="msoa21")
        gp_bytes = gp.read_bytes()
    add("boundaries_msoa21__lonlat_swapped.gpkg", r, "gpkg", "latitude and longitude swapped (GeoPackage)",
        "coordinates", "error", gp_bytes, row=True, column=True, note="coordinates look like lon/lat swapped",
        base=ms)

    # a feature over the vertex budget: Rutland's first LSOA with one edge cut into 100,000 pieces
    # (gzip keeps the stored file small; the 6 MB case is made by the test)
    def dense(f: dict) -> None:
        g = shapely.geometry.shape(f["geometry"])
        x0, y0, x1, y1 = g.bounds
        xs = np.round(np.linspace(x0, x1, 100_001), 6)
        ring = [[float(x), round(y0, 6)] for x in xs] + [[round(x1, 6), round(y1, 6)], [round(x0, 6), round(y1, 6)],
                                                         [float(xs[0]), round(y0, 6)]]
        f["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    add("boundaries_lsoa21__too_many_vertices.geojson.gz", r, "geojson.gz", "a feature with 100,004 vertices",
        "geometry", "error", gz(fc(dense, only=0)), row=True, column=True,
        note=r"has 100,004 vertices, more than the 100,000", base=bs,
        description="a box whose bottom edge has 100,001 vertices (gzipped GeoJSON)")

    # Leicester's workbook: one LSOA polygon (a GeoJSON cell) swapped to (lat, lon)
    lc = "leicester_city_council/deprivation-in-leicester-2025.xlsx"
    rows = sheet_rows(lc)["Feuil1"][:7]
    shape = [str(c) for c in rows[0]].index("LSOAGeo Shape")
    bad = copy.deepcopy(rows)
    cell = shapely.from_geojson(str(bad[3][shape]))
    bad[3][shape] = shapely.to_geojson(shapely.transform(cell, lambda c: c[:, ::-1]))
    add("leicester_iod2025__polygon_lonlat_swapped.xlsx", "leicester_iod2025", "xlsx",
        "one LSOA polygon with lat/lon swapped", "wrong country/vintage", "error", write_xlsx({"Feuil1": bad}),
        row=True, column=True, note=r"lies outside England.*coordinates look like lon/lat swapped", base=lc,
        description="the third LSOA's 'LSOAGeo Shape' written (lat, lon): it lands off Somalia")

    # Fingertips periods that a spreadsheet turned into dates
    ft = "fingertips_gp/fingertips_91547_smoking_prevalence_qof_gp.csv"
    ftt = TextTable.from_text(read_text(ft))
    pset = set(ctx["practices"])  # type: ignore[arg-type]
    ftt = ftt.with_rows([x for x in ftt.rows if _cells(x)[4] in pset][:24] + ftt.rows[:3])
    gi = next(i for i, x in enumerate(ftt.rows) if _cells(x)[6] == "GPs")
    forms = r"expected a period such as '2023/24', '2023', '2023/24 Q1', '2023 Q1' or '2021 - 23'"
    for name, value, what, note in (
        ("excel_serial", "45017", "an Excel day number (45017)", r"found '45017', an Excel day number \(day 45017 is 2023-04-01\)"),
        ("excel_serial_decimal", "45017.0", "an Excel day number with a decimal", r"found '45017\.0', an Excel day number"),
        ("ddmmyyyy", "01/04/2023", "a dd/mm/yyyy date", r"found '01/04/2023', a date"),
        ("d_m_yy", "1/4/23", "a d/m/yy date", r"found '1/4/23', a date"),
        ("iso_date", "2023-04-01", "an ISO date", r"found '2023-04-01', a date"),
        ("iso_datetime", "2023-04-01 00:00:00", "an ISO date and time", r"found '2023-04-01 00:00:00', a date"),
        ("dd_mon_yyyy", "01-Apr-2023", "a dd-Mon-yyyy date", r"found '01-Apr-2023', a date"),
    ):
        add(f"fingertips__period_{name}.csv", "fingertips_csv", "csv", f"Time period as {what}", "dates as periods",
            "error", ftt.set(gi, "Time period", value).bytes(), row=True, column=True, note=f"{forms}, {note}",
            base=ft, description=f"one practice's 'Time period' re-saved by a spreadsheet as {value!r}")
    every = ftt.copy()
    for i in range(len(every.rows)):
        every = every.set(i, "Time period", "44652")
    add("fingertips__period_all_excel_serials.csv", "fingertips_csv", "csv", "every Time period an Excel day number",
        "dates as periods", "error", every.bytes(), row=True, column=True,
        note=r"found '44652', an Excel day number \(day 44652 is 2022-04-01\).*\(\d+ rows like this\)", base=ft)
    add("fingertips__period_quarter_label.csv", "fingertips_csv", "csv", "a financial-quarter Time period",
        "dates as periods", "accepted", ftt.set(gi, "Time period", "2023/24 Q1").bytes(), base=ft,
        description="'2023/24 Q1' is a period Fingertips publishes: read as it is")
    fn = "screening/fingertipsnext_healthdata_94063_breast_screening_53_70_subset.csv"
    fnt = TextTable.from_text(read_text(fn), limit=30)
    yforms = r"expected a period such as '2023' or '2023/24'"
    for name, value, note in (
        ("excel_serial", "44927", r"found '44927', an Excel day number \(day 44927 is 2023-01-01\)"),
        ("ddmmyyyy", "01/01/2023", r"found '01/01/2023', a date"),
        ("iso_date", "2023-01-01", r"found '2023-01-01', a date"),
    ):
        add(f"fingertipsnext__year_{name}.csv", "fingertipsnext_csv", "csv", f"Year as {value!r}", "dates as periods",
            "error", fnt.set(0, "Year", value).bytes(), row=True, column=True, note=f"{yforms}, {note}", base=fn,
            description=f"the England row's 'Year' re-saved by a spreadsheet as {value!r}")


def _fix_dbf_date(data: bytes) -> bytes:
    """A dBase header carries the date it was written (bytes 1-3): pin it."""
    return data[:1] + bytes([120, 1, 1]) + data[4:]


# ---------------------------------------------------------------------------------------------
# damaged files (issue 11, item 2): data files that cannot be opened or decoded. The build stops on
# each, naming the file and the reason (``note``: a regex on hiexplore.io.damage.inspect_file's
# reason), or lists it with --skip-damaged. ``misnamed``: sound content under a lying extension,
# read by its content with a warning (``note``: a regex on the warning).

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>502 Bad Gateway</title></head>\n"
    b"<body><h1>502 Bad Gateway</h1><p>The server returned an invalid response. Please try again "
    b"later.</p></body></html>\n"
)


def _flip(data: bytes, at: int, n: int = 16) -> bytes:
    """``n`` bytes inverted from ``at``: a bad sector, a bit-rotted download."""
    return data[:at] + bytes(b ^ 0xFF for b in data[at:at + n]) + data[at + n:]


def _workbook_rows(data: bytes) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


def build_damaged_cases() -> None:
    def dmg(case: str, reader: str, fmt: str, defect: str, data: bytes, note: str, base: str,
            description: str = "") -> None:
        add(case, reader, fmt, defect, "damaged", "damaged", data, note=note, base=base,
            description=description or defect)

    f1 = "iod2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    iod = gz(VALID["iod2019_file1.csv"])
    dmg("iod2019_file1__gzip_cut_in_header.csv.gz", "iod", "csv.gz", "gzip cut inside the header row",
        iod[:120], r"^truncated gzip", f1, "a download that stopped after 120 bytes")
    dmg("iod2019_file1__gzip_cut_before_trailer.csv.gz", "iod", "csv.gz", "gzip without its 8-byte trailer",
        iod[:-8], r"^truncated gzip", f1, "every row present; the CRC and length trailer missing")
    dmg("iod2019_file1__gzip_bad_crc.csv.gz", "iod", "csv.gz", "gzip whose CRC does not match",
        _flip(iod, len(iod) - 8, 4), r"^corrupt gzip", f1, "the trailer's CRC-32 changed: the content is not what was written")
    f25 = "iod2025/humaniverse_imd2025_england_lsoa21.csv.gz"
    i25 = gz(VALID["iod2025_humaniverse.csv"])
    dmg("iod2025_humaniverse__gzip_corrupt_block.csv.gz", "iod", "csv.gz", "gzip with a corrupt block",
        _flip(i25, len(i25) // 2, 32), r"^(corrupt|truncated) gzip", f25, "32 bytes in the middle inverted")

    cg = "immunisation/cover_gp_quarterly/17_coverGP_Apr23Jun23.ods"
    ep = "gp/ePCN_2019-12.xlsx"
    ft = "fingertips_gp/fingertips_91547_smoking_prevalence_qof_gp.csv"
    dmg("cover_gp__zero_bytes.ods", "cover_gp_ods", "ods", "zero-byte .ods", b"", r"^empty file$", cg)
    dmg("epcn__zero_bytes.xlsx", "ods_epcn", "xlsx", "zero-byte .xlsx", b"", r"^empty file$", ep)
    dmg("fingertips__zero_bytes.csv", "fingertips_csv", "csv", "zero-byte .csv", b"", r"^empty file$", ft)

    # saved HTML error pages named like the data file that was asked for
    lc = "leicester_city_council/deprivation-in-leicester-2025.xlsx"
    dmg("fingertips__html_error_page.csv", "fingertips_csv", "csv", "HTML error page named .csv", HTML_ERROR_PAGE,
        r"^an HTML page, not a CSV$", ft, "the browser saved the server's 502 page as the CSV")
    dmg("leicester_iod2025__html_error_page.xlsx", "leicester_iod2025", "xlsx", "HTML error page named .xlsx",
        HTML_ERROR_PAGE, r"^an HTML page, not an XLSX workbook$", lc)
    dmg("epraccur__html_error_page.zip", "ods_epraccur", "zip", "HTML error page named .zip", HTML_ERROR_PAGE,
        r"^an HTML page, not a ZIP archive$", "gp/epraccur_2023-02-20.zip")
    bs = "boundaries/geographr_ons_bsc/llr_lsoa21_bsc.geojson"
    dmg("boundaries_lsoa21__html_error_page.geojson", "ons_boundaries", "geojson", "HTML error page named .geojson",
        b"\n\n  " + HTML_ERROR_PAGE.replace(b"<!DOCTYPE html>", b"<!doctype HTML>"), r"^an HTML page, not a GeoJSON file$", bs,
        "lower-case doctype after blank lines")

    # NUL bytes in text
    fb = VALID["fingertips.csv"]
    dmg("fingertips__nul_bytes_mid_file.csv", "fingertips_csv", "csv", "a run of NUL bytes inside a CSV",
        fb[: len(fb) // 2] + bytes(512) + fb[len(fb) // 2:], r"^NUL bytes in a text file", ft,
        "512 NUL bytes where a disk or copy lost a block")
    cp = "postcodes/os_codepoint_open_2025_4/le.csv"
    dmg("codepoint__nul_padded.csv", "os_codepoint_open", "csv", "CSV padded with NUL bytes",
        VALID["codepoint.csv"] + bytes(4096), r"^NUL bytes in a text file", cp,
        "a pre-allocated download that never filled its last 4 kB")
    hd = "census2021/demographr_household_deprivation21_lsoa21.csv.gz"
    hb = VALID["household_deprivation.csv"]
    dmg("household_deprivation__nul_bytes.csv.gz", "census21_household_deprivation", "csv.gz",
        "NUL bytes inside a gzipped CSV", gz(hb[:300] + b"\x00\x00\x00\x00" + hb[300:]), r"^NUL bytes in a text file",
        hd)

    # zips: cut, corrupt member, shapefile without .shp
    er = "gp/epraccur_2023-02-20.zip"
    ez = VALID["epraccur.zip"]
    dmg("epraccur__zip_cut_near_end.zip", "ods_epraccur", "zip", "zip cut before its central directory",
        ez[: len(ez) - 40], r"^truncated zip", er, "the last 40 bytes (the end of the central directory) missing")
    dmg("epraccur__zip_corrupt_member.zip", "ods_epraccur", "zip", "zip member fails its CRC",
        _flip(ez, 30 + len("epraccur.csv") + 200, 16), r"^corrupt zip member 'epraccur\.csv'", er,
        "16 bytes of the compressed CSV inverted")
    shp = zipfile.ZipFile(io.BytesIO(VALID["boundaries_lsoa21_shapefile.zip"]))
    parts = {n: shp.read(n) for n in shp.namelist()}
    dmg("boundaries_lsoa21__shapefile_missing_shp.zip", "ons_boundaries", "zip", "zipped shapefile without .shp",
        make_zip({k: v for k, v in parts.items() if not k.endswith(".shp")}), r"^a shapefile zip without its \.shp",
        bs, ".dbf, .shx and .prj but no geometry file")
    cu = "immunisation/cover_quarterly_utla/COVER_2024_2025_Q4.ods"
    ods = VALID["cover_utla.ods"]
    dmg("cover_utla__ods_cut.ods", "cover_utla_ods", "ods", "ODS cut short", ods[: len(ods) * 9 // 10],
        r"^truncated zip", cu)
    pdn = "population/SAPE21DT11-mid-2018-lsoa-population-density.xlsx"
    px = zipfile.ZipFile(io.BytesIO(VALID["population_density.xlsx"]))
    sheet = next(n for n in px.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    members = {n: px.read(n) for n in px.namelist()}
    bad = make_zip(members)
    off = bad.index(sheet.encode()) + len(sheet) + 60  # inside that member's compressed data
    dmg("population_density__corrupt_sheet.xlsx", "ons_population_density", "xlsx", "xlsx with a corrupt worksheet",
        _flip(bad, off, 16), r"^corrupt zip member 'xl/worksheets/", pdn)

    # workbooks that do not open
    lw = "lookups/LSOA11_WD21_LAD21_EW_LU_V2.xlsx"
    dmg("lookup_lsoa11_wd21__ole2_garbage.xls", "ons_lsoa_lookup", "xls", "OLE2 header, garbage after",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + hashlib.sha256(b"x").digest() * 64, r"^an XLS workbook that cannot be opened",
        lw, "an .xls whose compound-file header is followed by noise")
    dmg("hoclib_list_sizes__csv_named.xlsx", "hoclib_gp_list_sizes_by_age", "xlsx", "a CSV named .xlsx",
        VALID["hoclib_list_sizes.csv"], r"^not an XLSX workbook", "gp_registrations/hoclib_gp-by-age.csv",
        "text where a workbook (a zip package) was promised")

    # GeoPackage and JSON
    dmg("boundaries_lsoa21__gpkg_is_geojson.gpkg", "ons_boundaries", "gpkg", "GeoJSON saved as .gpkg",
        VALID["boundaries_lsoa21_rutland.geojson"], r"^not a GeoPackage: not an SQLite database", bs)
    mj = "boundaries/ons_2011_bgc_martinjc/lsoa11_by_lad/E06000017.json"
    gj = VALID["boundaries_lsoa11_rutland.geojson"]
    dmg("boundaries_lsoa11__json_cut.json", "ons_boundaries", "json", "JSON cut mid-way", gj[: len(gj) * 2 // 3],
        r"^JSON cut off mid-way", mj, "a .json boundary file cut at two thirds")
    dmg("boundaries_lsoa11__json_invalid.geojson", "ons_boundaries", "geojson", "JSON with a syntax error",
        gj.replace(b'"features":[', b'"features":[,', 1), r"^not valid JSON", mj)

    # sound content, lying extension: read by content, with a warning naming it
    def misnamed(case: str, reader: str, fmt: str, defect: str, data: bytes, note: str, base: str) -> None:
        add(case, reader, fmt, defect, "misnamed", "misnamed", data, note=note, base=base)

    misnamed("cover_gp__xlsx_named.ods", "cover_gp_ods", "ods", "an XLSX workbook named .ods",
             write_xlsx(_workbook_rows(VALID["cover_gp.ods"])), r"^an XLSX workbook named \.ods", cg)
    misnamed("leicester_iod2025__ods_named.xlsx", "leicester_iod2025", "xlsx", "an ODS workbook named .xlsx",
             write_ods(_workbook_rows(VALID["leicester_iod2025.xlsx"])), r"^an ODS workbook named \.xlsx", lc)
    misnamed("epcn__xlsx_named.ods", "ods_epcn", "ods", "the ePCN XLSX workbook named .ods",
             VALID["epcn.xlsx"], r"^an XLSX workbook named \.ods", ep)
    et = "census2021/demographr_ethnicity21_lsoa21.csv.gz"
    misnamed("ethnicity__gzip_named.csv", "census21_ethnicity", "csv", "a gzip file named .csv",
             gz(VALID["ethnicity.csv"]), r"^a gzip file named \.csv", et)


# ---------------------------------------------------------------------------------------------


def build_suppression_cases() -> None:
    """Issue 11 item 7: a COVER practice whose denominator is suppressed but whose % is published.

    Real LLR rows of 2023/24 Q1; one practice's 24-month denominator becomes ``[note 1]`` (as
    COVER prints it for fewer than 5 children) while its MMR1 % stays: the reader must keep the
    value and say, row by row and in its notes, that the denominator was suppressed.
    """
    cg = "immunisation/cover_gp_quarterly/17_coverGP_Apr23Jun23.ods"
    sheets = sheet_rows(cg)
    gp = sheets["GP_Code"]
    ghdr = next(i for i, x in enumerate(gp) if x and x[0] == "ICB code")
    rows = [copy.deepcopy(x) for x in gp[ghdr + 1:] if x[0] == "QK1"][:12]
    gh = [str(c) for c in gp[ghdr]]
    rows[3][gh.index("24m Denominator")] = "[note 1]"
    rows[3][gh.index("24m MMR1%")] = 66.7
    small = {"Information": sheets["Information"], "GP_Code": gp[: ghdr + 1] + rows}
    add("cover_gp__suppressed_denominator_value_kept.ods", "cover_gp_ods", "ods",
        "'[note 1]' denominator beside a published 66.7%", "value notes/suppression", "accepted",
        write_ods(small), note=r"practice figures have a suppressed denominator \(fewer than 5 eligible", base=cg,
        description="kept with value_note 'fewer than 5 eligible (suppressed): 66.7%, no interval'; never flagged")


def build_epraccur_row_cases(ctx: dict[str, object]) -> None:
    """One bad row in epraccur (issue 11 item 4): normalised with a note, never 'not recognised'.

    The row is the second of the file, inside the head a sniffer looks at.
    """
    t, _codes = llr_practices()
    base = "gp/epraccur_2023-02-20.zip"
    code = _cells(t.rows[1])[0]
    add("epraccur__lower_case_code.csv", "ods_epraccur", "csv", "one practice code in lower case", "bad numbers",
        "accepted", t.set(1, 0, code.lower()).bytes(), note=r"lower case.*upper case.*row\(s\) 2",
        base=base, description="a hand-edited row; the code is upper-cased and the row named in a note")
    padded = t.set(1, 0, code + "   ").set(1, 9, _cells(t.rows[1])[9] + "  ")
    add("epraccur__trailing_spaces.csv", "ods_epraccur", "csv", "trailing spaces in a code and a postcode",
        "bad numbers", "accepted", padded.bytes(), note=r"spaces.*trimmed.*row\(s\): 2", base=base,
        description="fixed-width padding left by a spreadsheet export; trimmed with a note")
    add("epraccur__serial_open_date.csv", "ods_epraccur", "csv", "open date as a spreadsheet serial (27120)",
        "bad numbers", "accepted", t.set(1, 10, "27120").bytes(), note=r"serial.*1974-04-01.*row\(s\) 2",
        base=base, description="the file went through Excel, which turned 19740401 into its day number")
    add("epraccur__text_open_date.csv", "ods_epraccur", "csv", "open date as text in the second row",
        "bad numbers", "error", t.set(1, 10, "April 1974").bytes(), row=True, column=True, base=base,
        description="not a date hiexplore can read: the error names row 2 and the Open Date column")


def build_postcode_directory_cases(ctx: dict[str, object]) -> None:
    """ONSPD and NHSPD (issue 12 item 2): Rutland's real Code-Point positions in the published layouts.

    Neither directory is in ../shared/data, so each case writes Code-Point Open rows of LE15
    (gp_practice_postcodes.csv) into the record specification of the ONS Postcode Directory
    User Guide (header ``pcd, pcd2, pcds, dointr, doterm, ..., oseast1m, osnrth1m, osgrdind, ...,
    lsoa21, msoa21``) and of the NHSPD User Guide (headerless; OSEAST1M/OSNRTH1M at fields 37/38,
    LSOA21 at 48 of 49).
    """
    base = "postcodes/os_codepoint_open_2025_4/gp_practice_postcodes.csv"
    cp = [r for r in csv.reader(read_text(base).splitlines()) if r and r[0].startswith("LE15")][:12]
    head = ("pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,parish,usertype,oseast1m,osnrth1m,"
            "osgrdind,oshlthau,nhser,ctry,rgn,streg,pcon,eer,teclec,ttwa,pct,itl,statsward,oa01,casward,"
            "npark,lsoa01,msoa01,ur01ind,oac01,oa11,lsoa11,msoa11,wz11,sicbl,bua24,ru11ind,oac11,lat,long,"
            "lep1,lep2,pfa,imd,calncv,icb,oa21,lsoa21,msoa21").split(",")

    def onspd(rows: list[list[str]], edit: Callable[[int, dict[str, str]], None] | None = None) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(head)
        for i, r in enumerate(rows):
            out, inw = r[0].split()
            rec = dict.fromkeys(head, "")
            rec.update(pcd=(out + inw) if len(out) == 4 else f"{out:<4}{inw}"[:7], pcd2=f"{out:<4} {inw}",
                       pcds=r[0], dointr="198001", oslaua=r[8], osward=r[9], oseast1m=r[2], osnrth1m=r[3],
                       osgrdind="1", ctry="E92000001")
            if edit:
                edit(i, rec)
            w.writerow([rec[c] for c in head])
        return buf.getvalue().encode()

    def nhspd(rows: list[list[str]], edit: Callable[[int, list[str]], None] | None = None) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        for i, r in enumerate(rows):
            out, inw = r[0].split()
            rec = [""] * 49
            rec[0], rec[1], rec[2], rec[8], rec[11] = f"{out:<4} {inw}", r[0], "198001", r[8], "1"
            rec[36], rec[37] = r[2], r[3].zfill(7)
            if edit:
                edit(i, rec)
            w.writerow(rec)
        return buf.getvalue().encode()

    ok_on, ok_nh = onspd(cp), nhspd(cp)
    # the valid set's directory places every practice of the valid epraccur slice (the Code-Point
    # slice holds only Rutland's postcodes): a build from valid/ must not stop on unplaced practices
    t, _codes = llr_practices()
    wanted = {_cells(r)[9].strip() for r in t.rows}
    every = [r for r in csv.reader(read_text(base).splitlines()) if r and r[0] in wanted]
    VALID["onspd.csv"] = onspd(every)
    for name, rd, good in (("onspd", "ons_postcode_directory", ok_on), ("nhspd", "nhs_postcode_directory", ok_nh)):
        add(f"{name}__truncated.csv", rd, "csv", "cut in the middle of a row", "truncated", "error",
            good[: len(good) // 2], base=base)
        add(f"{name}__empty.csv", rd, "csv", "empty file", "empty", "error", b"", base=base)
        add(f"{name}__gzip_truncated.csv.gz", rd, "gz", "truncated gzip", "truncated", "error",
            gz(good)[: len(gz(good)) // 2], base=base)
    add("onspd__bad_easting.csv", "ons_postcode_directory", "csv", "an easting with a letter", "bad numbers",
        "error", onspd(cp, lambda i, r: r.update(oseast1m="49x123") if i == 3 else None), row=True, column=True,
        base=base)
    add("onspd__terminated_and_no_grid.csv", "ons_postcode_directory", "csv",
        "a terminated postcode and one without a grid reference", "value notes/suppression", "accepted",
        onspd(cp, lambda i, r: r.update(doterm="202301") if i == 1 else
              (r.update(oseast1m="0", osnrth1m="0") if i == 2 else None)),
        note=r"1 terminated.*1 without a grid reference", base=base)
    add("onspd__no_easting_column.csv", "ons_postcode_directory", "csv", "the oseast1m column left out",
        "columns", "error", b"pcds,dointr,doterm,osnrth1m\n" + b"".join(
            f"{r[0]},198001,,{r[3]}\n".encode() for r in cp), row=True, base=base)
    add("nhspd__northing_off_grid.csv", "nhs_postcode_directory", "csv", "a northing beyond Great Britain",
        "bad numbers", "error", nhspd(cp, lambda i, r: r.__setitem__(37, "9999999") if i == 4 else None),
        row=True, column=True, base=base)
    add("nhspd__short_rows.csv", "nhs_postcode_directory", "csv", "rows of 20 fields (not the NHSPD layout)",
        "columns", "error", b"".join(
            (",".join(f'"{c}"' for c in (next(csv.reader([line]))[:20])) + "\n").encode()
            for line in ok_nh.decode().splitlines()), row=True, base=base)


def generate() -> dict[str, bytes]:
    CASES.clear()
    VALID.clear()
    ctx = build_csv_cases()
    build_workbook_cases(ctx)
    build_geo_cases(ctx)
    build_geocheck_cases(ctx)
    build_damaged_cases()
    build_suppression_cases()
    build_epraccur_row_cases(ctx)
    build_postcode_directory_cases(ctx)
    files: dict[str, bytes] = {c.case: c.data for c in CASES}
    files.update({f"valid/{k}": v for k, v in VALID.items()})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    for c in sorted(CASES, key=lambda c: c.case):
        w.writerow([c.case, c.reader, c.format, c.defect, c.kind, c.expected, "yes" if c.row else "no",
                    "yes" if c.column else "no", c.note, c.base, c.description])
    files["MANIFEST.csv"] = buf.getvalue().encode()
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with the folder instead of writing")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"real data not found at {SHARED}", file=sys.stderr)
        return 2
    files = generate()
    if args.check:
        stale = [n for n, d in files.items() if not (args.out / n).is_file() or (args.out / n).read_bytes() != d]
        extra = [str(p.relative_to(args.out)) for p in args.out.rglob("*") if p.is_file()
                 and str(p.relative_to(args.out)) not in files]
        for n in stale + extra:
            print(f"stale: {n}")
        return 1 if stale or extra else 0
    if args.out.exists():
        shutil.rmtree(args.out)
    for name, data in files.items():
        p = args.out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    total = sum(len(d) for d in files.values())
    digest = hashlib.sha256(b"".join(files[n] for n in sorted(files))).hexdigest()[:12]
    print(f"wrote {len(CASES)} cases and {len(VALID)} valid slices to {args.out} "
          f"({total / 1e6:.2f} MB, digest {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
