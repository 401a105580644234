"""Formula neutralising in exports (issue 11, item 6): after NFKC, and only in CSV and XLSX.

Spreadsheets run a cell that starts with ``= + - @`` (or a tab / carriage return before one);
full-width look-alikes (``＝ ＋ － ＠``) fold to those under NFKC, so they are neutralised too.
GeoJSON and GeoPackage go to GIS software: their names must come back exactly as written.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from hiexplore.dataset import load_dataset
from hiexplore.exports import looks_like_formula, neutralise_formulas, write_table

ASCII = ["=HYPERLINK(\"http://x\",\"click\")", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1+1"]
FULL_WIDTH = ["＝HYPERLINK(\"http://x\")", "＋SUM(1,2)", "－2＋3", "＠SUM(A1)", "﹦1+1"]
HARMLESS = ["Leicester 034D", "Saint-Denis", "Ashby-de-la-Zouch = town", "Ｌｅｉｃｅｓｔｅｒ"]
NAMES = ASCII + FULL_WIDTH + HARMLESS
NEUTRALISED = ["'" + n for n in ASCII + FULL_WIDTH] + HARMLESS


@pytest.fixture(scope="module")
def frame_and_ds(demo_dataset: Path) -> tuple[pd.DataFrame, object]:
    ds = load_dataset(demo_dataset)
    codes = ds.areas.loc[ds.areas["area_type"] == "lsoa", "area_code"].drop_duplicates().head(len(NAMES))
    frame = pd.DataFrame({
        "area_code": codes.to_list(),
        "area_name": NAMES,
        "geography": "lsoa",
        "value": [-1.5 + i for i in range(len(NAMES))],
    })
    return frame, ds


def test_full_width_formula_starts_are_caught_after_nfkc() -> None:
    assert all(looks_like_formula(n) for n in ASCII + FULL_WIDTH)
    assert not any(looks_like_formula(n) for n in HARMLESS)
    out = neutralise_formulas(pd.DataFrame({"area_name": NAMES}))
    assert out["area_name"].tolist() == NEUTRALISED  # the original text is kept after the apostrophe


def test_csv_neutralises_full_width_formulas(frame_and_ds, tmp_path: Path) -> None:
    frame, ds = frame_and_ds
    out = write_table(frame, tmp_path / "t.csv", ds=ds)
    with open(out, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["area_name"] for r in rows] == NEUTRALISED
    assert [float(r["value"]) for r in rows] == frame["value"].tolist()


def test_xlsx_neutralises_full_width_formulas(frame_and_ds, tmp_path: Path) -> None:
    frame, ds = frame_and_ds
    out = write_table(frame, tmp_path / "t.xlsx", ds=ds)
    ws = load_workbook(out)["data"]
    header = [c.value for c in ws[1]]
    col = header.index("area_name")
    assert [r[col] for r in ws.iter_rows(min_row=2, values_only=True)] == NEUTRALISED
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_geojson_keeps_names_unchanged(frame_and_ds, tmp_path: Path) -> None:
    frame, ds = frame_and_ds
    out = write_table(frame, tmp_path / "t.geojson", ds=ds)
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    by_code = {f["properties"]["area_code"]: f["properties"]["area_name"] for f in features}
    assert len(by_code) == len(frame)
    assert [by_code[c] for c in frame["area_code"]] == NAMES
    raw = out.read_bytes()
    assert "＝HYPERLINK".encode() in raw and b"'=HYPERLINK" not in raw


def test_geopackage_keeps_names_unchanged(frame_and_ds, tmp_path: Path) -> None:
    frame, ds = frame_and_ds
    out = write_table(frame, tmp_path / "t.gpkg", ds=ds, kind="flags")
    with sqlite3.connect(out) as con:
        stored = dict(con.execute("SELECT area_code, area_name FROM flags").fetchall())
    assert [stored[c] for c in frame["area_code"]] == NAMES
    assert all(isinstance(v, str) and v.encode() == n.encode() for v, n in zip(
        [stored[c] for c in frame["area_code"]], NAMES, strict=True))
