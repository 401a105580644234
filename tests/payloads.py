"""A real-layout source set whose every name carries the seven injection payloads (issue 11.1).

The small valid slices in ``tests/data/bad/valid/`` (real Rutland rows in the publishers' layouts)
are copied and every name column rewritten: LSOA, MSOA, ward, LAD, sub-ICB, ICB, PCN, practice
and region names, the Fingertips indicator name and value note, and one file name. Each name
becomes ``T<p1>T T<p2>T ... <original>`` so a sink that runs text as a template changes a
marker (``T{{ 7*7 }}T`` -> ``T49T``; ``T{% if 1 %}x{% endif %}T`` -> ``TxT``), which the tests
look for. ``hiexplore build`` then makes the dataset from these files, as a user's upload would.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from hiexplore.safe_text import PAYLOADS

VALID = Path(__file__).resolve().parent / "data" / "bad" / "valid"
MARKERS: tuple[str, ...] = tuple(f"T{p}T" for p in PAYLOADS)
#: every rewritten name starts with this (a prefix keeps ONS's "MSOA name + letter" LSOA names)
TAG = " ".join(MARKERS)
#: what a marker becomes if a sink runs it as a Jinja template or a JS template literal
EVALUATED: tuple[str, ...] = ("T49T", "TxT")
#: the cervical screening file is renamed to carry payloads (no "/" is allowed in a file name)
PAYLOAD_FILE = "cervical_dec2017 T{{ 7*7 }}T T<img src=x onerror=alert(1)>T T{% if 1 %}x{% endif %}T.csv"
# columns that hold names in the valid slices (lower-cased header -> rewritten)
_NAME_COLUMNS = {
    "lsoa11_name", "lsoa21_name", "lsoa name (2011)", "local authority district name (2019)",
    "msoa21_name", "sicbl24_name", "icb24_name", "ward24_name", "ltla24_name", "ltla22_name",
    "wd22nm", "lad22nm", "rgn22nm", "lad_name", "pcon_name", "region_name", "stp_name", "ccg_name",
    "pcn_name", "practice_name", "organisation", "indicator name", "area name", "parent name",
    "value note", "pcn name", "practice name", "sub icb location name", "current sub icb location name",
    "lsoa21nm", "msoa21nm",
}


def named(original: str) -> str:
    """The payload-carrying version of a name (empty stays empty: a blank is not a name)."""
    return original if not original.strip() else f"{TAG} {original}"


def _rewrite_csv(path: Path, headerless_name_col: int | None = None) -> None:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return
    if headerless_name_col is not None:
        cols = {headerless_name_col}
        body = rows
    else:
        cols = {i for i, h in enumerate(rows[0]) if h.strip().lower() in _NAME_COLUMNS}
        body = rows[1:]
    if not cols:
        return
    notes = {i for i in cols if headerless_name_col is None and rows[0][i].strip().lower() == "value note"}
    for row in body:
        for i in cols:
            if i < len(row):
                row[i] = named("note") if i in notes else named(row[i])
    out = io.StringIO(newline="")
    csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))


def _rewrite_geojson(path: Path) -> None:
    data = json.loads(path.read_text("utf-8"))
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        for key, value in list(props.items()):
            if isinstance(value, str) and (key.lower().endswith("_name") or key.lower().endswith("nm")):
                props[key] = named(value)
    path.write_text(json.dumps(data), encoding="utf-8")


def _rewrite_xlsx(path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    for ws in wb.worksheets:
        header_row, cols = None, set()
        for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, 15)):
            found = {c.column for c in row if isinstance(c.value, str) and c.value.strip().lower() in _NAME_COLUMNS}
            if found:
                header_row, cols = row[0].row, found
                break
        if header_row is None:
            continue
        for row in ws.iter_rows(min_row=header_row + 1):
            for c in row:
                if c.column in cols and isinstance(c.value, str):
                    c.value = named(c.value)
    wb.save(path)


def _england_for_latest_period(path: Path) -> None:
    """Give the Fingertips slice an England row in its practices' period, so maps and flags of
    ``smoking_prevalence_qof`` have a benchmark: the 2023/24 practice rows are dropped and the
    England row (published for 2013/14) is re-dated 2022/23. A test fixture, not a published figure."""
    text = path.read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    col = rows[0].index("Time period")
    kept = [rows[0]]
    for row in rows[1:]:
        if row[col] == "2023/24":
            continue
        if row[4] == "E92000001":
            row[col] = "2022/23"
        kept.append(row)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(kept)
    path.write_text(out.getvalue(), encoding="utf-8")


def make_payload_sources(dst: Path) -> Path:
    """Copy the valid slices to ``dst`` with every name rewritten to carry the payloads."""
    shutil.copytree(VALID, dst)
    for path in sorted(dst.iterdir()):
        if path.name == "epraccur.csv":
            _rewrite_csv(path, headerless_name_col=1)
        elif path.suffix == ".csv":
            _rewrite_csv(path)
        elif path.suffix == ".geojson":
            _rewrite_geojson(path)
        elif path.suffix == ".xlsx":
            _rewrite_xlsx(path)
    # zips and ODS keep their names (the same rows come from the files above); one file name
    # carries payloads, and the shapefile and zipped epraccur are left out so the rewritten
    # GeoJSON and CSV are the ones used
    _england_for_latest_period(dst / "fingertips.csv")
    (dst / "cervical_dec2017.csv").rename(dst / PAYLOAD_FILE)
    for name in ("boundaries_lsoa21_shapefile.zip", "epraccur.zip"):
        (dst / name).unlink()
    return dst
