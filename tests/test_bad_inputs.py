"""Bad input, safe output: the corpus of broken official files, uploads, zip bombs, atomic builds,
formula-safe exports and escaped maps.

The corpus under ``tests/data/bad`` is generated from the real files by ``tests/make_bad_corpus.py``
and described case by case in its ``MANIFEST.csv``. Every case must end in one of two ways:

- ``error``: an :class:`~hiexplore.errors.InputFileError` whose message names the file, with
  ``err.row`` / ``err.column`` set where the manifest says the defect has a row / a column;
- ``accepted``: read, with the manifest's ``note`` found among the reader's notes (what was
  dropped or repaired);
- ``damaged``: a data file that cannot be opened or decoded: :func:`hiexplore.io.damage.inspect_file`
  gives a reason matching ``note``, a build stops on it naming the file and the reason, and a
  build with ``skip_damaged`` lists it in the manifest's ``damaged_files``;
- ``misnamed``: sound content under a lying extension: read by its content, with a warning
  matching ``note``.

Nothing else may escape a reader, through its own ``read`` or through ``read_any``. A summary
table (cases passed per defect kind) is written to ``tests/_artifacts/bad_corpus_summary.txt``
and printed at the end of the run.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_DATA
from hiexplore.build import build_dataset, validation_report
from hiexplore.errors import (
    DamagedFileError,
    DatasetError,
    HiexploreError,
    InputFileError,
    RequestError,
)
from hiexplore.io import READERS, read_any
from hiexplore.io.damage import inspect_file
from hiexplore.uploads import (
    DEFAULT_MAX_BYTES,
    check_upload,
    check_zip,
    safe_dataset_path,
)

HERE = Path(__file__).resolve().parent
BAD = HERE / "data" / "bad"
VALID = BAD / "valid"
ARTIFACTS = HERE / "_artifacts"
SUMMARY = ARTIFACTS / "bad_corpus_summary.txt"
BY_NAME = {r.name: r for r in READERS}
EVIL = "<script>alert(1)</script>"


def _manifest() -> list[dict[str, str]]:
    if not (BAD / "MANIFEST.csv").is_file():
        return []
    with open(BAD / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


CASES = _manifest()
CASE_BY_NAME = {c["case"]: c for c in CASES}


@dataclass(frozen=True)
class Outcome:
    status: str  # "error", "accepted" or "crash" (an exception that is not hiexplore's)
    detail: str
    problems: tuple[str, ...]


@functools.cache
def run_case(case: str) -> Outcome:
    """Read one corpus case with its reader and with read_any; list how it differs from the manifest."""
    m = CASE_BY_NAME[case]
    path = BAD / case
    problems: list[str] = []
    if m["expected"] in ("damaged", "misnamed"):
        return _run_damage_case(m, path)
    try:
        results = BY_NAME[m["reader"]].read(path)
    except InputFileError as err:
        status, detail = "error", str(err)
        if err.path.name != path.name and path.name not in detail:
            problems.append(f"the message does not name the file: {detail}")
        if m["row"] == "yes" and err.row is None:
            problems.append(f"no row named: {detail}")
        if m["column"] == "yes" and err.column is None:
            problems.append(f"no column named: {detail}")
        if m["note"] and not re.search(m["note"], detail):
            problems.append(f"message does not match {m['note']!r}: {detail}")
    except HiexploreError as err:
        status, detail = "error", f"{type(err).__name__}: {err}"
        problems.append(f"expected an InputFileError naming the file, got {detail}")
    except Exception as err:  # noqa: BLE001 - the point of the corpus: anything else is a bug
        status, detail = "crash", f"{type(err).__name__}: {err}"
        problems.append(f"the reader crashed: {detail}")
    else:
        status = "accepted"
        notes = [n for r in results for n in r.notes]
        detail = f"{sum(len(r.frame) for r in results)} rows; notes: {notes}"
        if not results:
            problems.append("accepted but returned no table")
        if m["note"] and not any(re.search(m["note"], n) for n in notes):
            problems.append(f"no note matching {m['note']!r}: {notes}")
    if status != m["expected"]:
        problems.insert(0, f"expected {m['expected']}, got {status}: {detail}")
    try:  # the path a user's file takes: recognise by content, then read
        read_any(path)
    except HiexploreError:
        pass
    except Exception as err:  # noqa: BLE001
        problems.append(f"read_any crashed: {type(err).__name__}: {err}")
    return Outcome(status, detail, tuple(problems))


def _run_damage_case(m: dict[str, str], path: Path) -> Outcome:
    """A damaged file: inspect_file's reason matches the note, and no reader crashes on it. A
    misnamed file: a warning matching the note, not damaged, and its reader reads it."""
    problems: list[str] = []
    check = inspect_file(path)
    if m["expected"] == "damaged":
        status, detail = ("damaged", check.damaged) if check.damaged else ("accepted", "not damaged")
        if not check.data_like:
            problems.append("not seen as a data file")
        if check.damaged and not re.search(m["note"], check.damaged):
            problems.append(f"reason does not match {m['note']!r}: {check.damaged}")
    else:
        status, detail = ("misnamed", check.warning) if check.warning and not check.damaged else (
            "damaged" if check.damaged else "accepted", check.damaged or "no warning")
        if check.warning and not re.search(m["note"], check.warning):
            problems.append(f"warning does not match {m['note']!r}: {check.warning}")
    reader = BY_NAME[m["reader"]]
    try:
        results = reader.read(path)
    except HiexploreError as err:
        if m["expected"] == "misnamed":
            problems.append(f"not read by its content: {err}")
    except Exception as err:  # noqa: BLE001 - a damaged file must never crash a reader
        problems.append(f"the reader crashed: {type(err).__name__}: {err}")
    else:
        if m["expected"] == "misnamed" and not any(len(r.frame) for r in results):
            problems.append("read by its content, but no rows")
    try:
        read_any(path)
    except HiexploreError:
        pass
    except Exception as err:  # noqa: BLE001
        problems.append(f"read_any crashed: {type(err).__name__}: {err}")
    if status != m["expected"]:
        problems.insert(0, f"expected {m['expected']}, got {status}: {detail}")
    return Outcome(status, str(detail), tuple(problems))


needs_corpus = pytest.mark.skipif(not CASES, reason=f"corpus not generated: run tests/make_bad_corpus.py ({BAD})")


# ---------------------------------------------------------------------------------------------
# the corpus


@needs_corpus
def test_corpus_covers_every_reader_and_defect() -> None:
    assert len(CASES) >= 100
    readers = Counter(c["reader"] for c in CASES)
    assert set(readers) == set(BY_NAME), f"readers without cases: {set(BY_NAME) - set(readers)}"
    assert min(readers.values()) >= 5
    kinds = {c["kind"] for c in CASES}
    for kind in ("truncated", "empty", "delimiter", "encoding", "header moved", "columns",
                 "duplicate codes", "wrong country/vintage", "numerator > denominator", "bad numbers",
                 "value notes/suppression", "merged header", "shapefile parts", "geometry", "markup"):
        assert kind in kinds
    defects = " ".join(c["defect"] for c in CASES)
    for word in ("UTF-16", "Windows-1252", "BOM", "without .prj", "null geometry", "empty polygon"):
        assert word in defects
    for c in CASES:
        assert (BAD / c["case"]).is_file(), c["case"]
        assert c["expected"] in ("error", "accepted", "damaged", "misnamed")
    on_disk = sum(p.stat().st_size for p in BAD.rglob("*") if p.is_file())
    assert on_disk < 5_000_000, f"the committed corpus is {on_disk / 1e6:.1f} MB"


@needs_corpus
@pytest.mark.parametrize("case", [c["case"] for c in CASES])
def test_corpus_case(case: str) -> None:
    outcome = run_case(case)
    assert not outcome.problems, "\n".join(outcome.problems)


class _SummaryPlugin:
    def __init__(self, text: str) -> None:
        self.text = text

    def pytest_terminal_summary(self, terminalreporter) -> None:  # noqa: ANN001
        terminalreporter.section("bad-input corpus")
        for line in self.text.splitlines():
            terminalreporter.write_line(line)


@needs_corpus
def test_corpus_summary_table(request: pytest.FixtureRequest) -> None:
    rows: dict[str, Counter[str]] = {}
    for c in CASES:
        o = run_case(c["case"])
        k = rows.setdefault(c["kind"], Counter())
        k["cases"] += 1
        k["passed"] += not o.problems
        k[c["expected"]] += 1
    width = max(len(k) for k in rows) + 2
    cols = ("cases", "passed", "error", "accepted", "damaged", "misnamed")
    lines = [f"{'defect kind':<{width}}" + "".join(f"{c:>{len(c) + 2}}" for c in cols)]
    for kind in sorted(rows):
        k = rows[kind]
        lines.append(f"{kind:<{width}}" + "".join(f"{k[c]:>{len(c) + 2}}" for c in cols))
    total = Counter()
    for k in rows.values():
        total.update(k)
    lines.append(f"{'total':<{width}}" + "".join(f"{total[c]:>{len(c) + 2}}" for c in cols))
    readers = Counter(c["reader"] for c in CASES)
    lines.append(f"{len(readers)} readers, {min(readers.values())}-{max(readers.values())} cases each")
    text = "\n".join(lines) + "\n"
    ARTIFACTS.mkdir(exist_ok=True)
    SUMMARY.write_text(text, encoding="utf-8")
    print(text)
    pm = request.config.pluginmanager
    if not pm.has_plugin("hiexplore-bad-corpus-summary"):
        pm.register(_SummaryPlugin(text), "hiexplore-bad-corpus-summary")
    assert total["passed"] == total["cases"], f"see {SUMMARY}"


@pytest.mark.shared
@needs_corpus
def test_corpus_is_generated_reproducibly_from_the_real_files() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}")
    import make_bad_corpus

    files = make_bad_corpus.generate()
    stale = [n for n, data in files.items() if not (BAD / n).is_file() or (BAD / n).read_bytes() != data]
    extra = [p.relative_to(BAD).as_posix() for p in BAD.rglob("*") if p.is_file()
             and p.relative_to(BAD).as_posix() not in files]
    assert not stale and not extra, f"re-run tests/make_bad_corpus.py: stale {stale[:5]}, extra {extra[:5]}"


#: issue 11 items 3-4: the corpus cases and the message each must give, word for word
GEOCHECK_MESSAGES = {
    "boundaries_lsoa21__lonlat_swapped.geojson":
        "row 1, column 'geometry': feature 'E01013787': coordinates look like lon/lat swapped: found x "
        "52.5812 to 52.6639, y -0.8210 to -0.6957, latitudes of Great Britain in x and its longitudes "
        "in y; GeoJSON and EPSG:4326 files give longitude (x) first (26 of 26 features like this)",
    "boundaries_lsoa21__degrees_labelled_bng_prj.zip":
        "row 1, column 'geometry': feature 'E01013787': degrees labelled as British National Grid: the "
        "file says EPSG:27700 (OSGB36 / British National Grid), in metres, but found x -0.8210 to "
        "-0.6957, y 52.5812 to 52.6639, longitudes and latitudes; its CRS should be EPSG:4326 (26 of "
        "26 features like this)",
    "boundaries_lsoa21__bng_metres_without_crs.geojson":
        "row 1, column 'geometry': feature 'E01013787': coordinates look like metres (British National "
        "Grid?) but the file says EPSG:4326 (WGS 84), in degrees: x 479,960 to 488,414, y 298,870 to "
        "308,059; state the CRS (a GeoJSON 'crs' member or a shapefile .prj) or reproject to WGS 84 "
        "(26 of 26 features like this)",
    "boundaries_lsoa21__shifted_into_france.geojson":
        "row 1, column 'geometry': feature 'E01013787' lies outside England: expected British National "
        "Grid x 87,323 to 655,654, y 7,054 to 657,550 (ONS extent, +-10 km), found x 597,503 to "
        "606,674, y -142,939 to -133,777 (longitude 0.6790 to 0.8043, latitude 48.5812 to 48.6639), "
        "in France (longitude 0.74, latitude 48.62); are the boundaries shifted or in the wrong CRS? "
        "(26 of 26 features are outside)",
    "boundaries_lsoa21__one_feature_in_scotland.geojson":
        "row 6, column 'geometry': feature 'E01013792' lies outside England: expected British National "
        "Grid x 87,323 to 655,654, y 7,054 to 657,550 (ONS extent, +-10 km), found x 269,970 to "
        "277,012, y 799,892 to 809,256 (longitude -4.1471 to -4.0336, latitude 57.0718 to 57.1573), "
        "inside Scotland's extent; are the boundaries shifted or in the wrong CRS?",
    "boundaries_lsoa21__welsh_code_in_england.geojson":
        "row 2, column 'geometry': feature 'W01001950' lies outside Wales: expected British National "
        "Grid x 146,597 to 355,273, y 165,524 to 395,313 (ONS extent, +-10 km), found x 484,259 to "
        "492,532, y 312,311 to 318,472 (longitude -0.7536 to -0.6318, latitude 52.7014 to 52.7565), "
        "inside England's extent; are the boundaries shifted or in the wrong CRS?",
    "boundaries_lsoa21__one_feature_at_null_island.geojson":
        "row 3, column 'geometry': feature 'E01013789' lies outside England: expected British National "
        "Grid x 87,323 to 655,654, y 7,054 to 657,550 (ONS extent, +-10 km), found x 614,505 to "
        "634,823, y -5,532,590 to -5,522,319 (longitude -0.0725 to 0.1100, latitude -0.0500 to "
        "0.0429), outside the UK (longitude 0.02, latitude 0.00); are the boundaries shifted or in the "
        "wrong CRS?",
    "boundaries_wards22__scotland_only.geojson":
        "column 'ward22_code': holds no area in England: its 6 ward codes are all in Scotland (e.g. "
        "'S13002516'); hiexplore maps England, so it needs E-coded areas",
    "leicester_iod2025__polygon_lonlat_swapped.xlsx":
        "row 4, column 'LSOAGeo Shape': feature 'E01013612' lies outside England: expected British "
        "National Grid x 87,323 to 655,654, y 7,054 to 657,550 (ONS extent, +-10 km), found x "
        "7,692,172 to 7,695,025, y -5,750,074 to -5,746,710 (longitude 52.6021 to 52.6167, latitude "
        "-1.1611 to -1.1435), at longitude 52.61, latitude -1.15: coordinates look like lon/lat "
        "swapped; are the boundaries shifted or in the wrong CRS?",
    "boundaries_lsoa21__welsh_only.geojson":
        "column 'lsoa21_code': holds no area in England: its 12 LSOA codes are all in Wales (e.g. "
        "'W01001542'); hiexplore maps England, so it needs E-coded areas",
    "boundaries_lsoa21__too_many_vertices.geojson.gz":
        "row 1, column 'geometry': feature 'E01013787' has 100,004 vertices, more than the 100,000 a "
        "boundary may have: use an ONS generalised file (BGC or BSC), or simplify it first",
    "fingertips__period_excel_serial.csv":
        "row 2, column 'Time period': expected a period such as '2023/24', '2023', '2023/24 Q1', "
        "'2023 Q1' or '2021 - 23', found '45017', an Excel day number (day 45017 is 2023-04-01): a "
        "spreadsheet turned the period into a date; export the file again, or format the column as "
        "text before saving",
    "fingertips__period_ddmmyyyy.csv":
        "row 2, column 'Time period': expected a period such as '2023/24', '2023', '2023/24 Q1', "
        "'2023 Q1' or '2021 - 23', found '01/04/2023', a date: a spreadsheet turned the period into "
        "a date; export the file again, or format the column as text before saving",
    "fingertipsnext__year_excel_serial.csv":
        "row 2, column 'Year': expected a period such as '2023' or '2023/24', found '44927', an Excel "
        "day number (day 44927 is 2023-01-01): a spreadsheet turned the period into a date; export "
        "the file again, or format the column as text before saving",
}


@needs_corpus
def test_geography_and_period_cases_and_their_messages() -> None:
    """Issue 11 items 3-4: at least 20 such cases, and the messages pinned word for word."""
    kinds = Counter(c["kind"] for c in CASES)
    assert kinds["coordinates"] >= 5 and kinds["dates as periods"] >= 12
    moved = [c for c in CASES if c["kind"] == "wrong country/vintage" and c["reader"] == "ons_boundaries"]
    assert len(moved) >= 8
    assert kinds["coordinates"] + kinds["dates as periods"] + len(moved) >= 25
    for case, message in GEOCHECK_MESSAGES.items():
        m = CASE_BY_NAME[case]
        with pytest.raises(InputFileError) as err:
            BY_NAME[m["reader"]].read(BAD / case)
        assert str(err.value) == f"file {case}, {message}"
        assert (BAD / case).stat().st_size < 1_000_000


@needs_corpus
def test_a_value_note_is_kept_row_by_row() -> None:
    (res,) = BY_NAME["fingertips_csv"].read(BAD / "fingertips__data_quality_note.csv")
    assert res.frame["value_note"].astype("string").str.contains("data quality issue").fillna(False).sum() == 1


# ---------------------------------------------------------------------------------------------
# a failed build leaves the previous dataset as it was


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _sources(tmp_path: Path, *, broken: str | None = None, drop: tuple[str, ...] = ()) -> Path:
    src = tmp_path / "sources"
    src.mkdir()
    for p in sorted(VALID.iterdir()):
        if p.name != "epraccur.csv" and p.name not in drop:  # epraccur.zip holds the same rows
            shutil.copyfile(p, src / p.name)
    if broken is not None:
        shutil.copyfile(BAD / broken, src / broken)
    return src


@pytest.fixture
def previous(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    from hiexplore.demo import write_demo

    data = tmp_path / "data"
    data.mkdir()
    current = data / "current"
    write_demo(current, 40, 4, 1)
    return current, _digest(current)


BROKEN_FOR_BUILD = [
    "iod2019_file1__truncated_mid_row.csv",
    "lookup_lsoa21_ward24__duplicate_code.csv",
    "boundaries_lsoa11__null_geometry.geojson",
]


@needs_corpus
@pytest.mark.parametrize("broken", BROKEN_FOR_BUILD)
def test_failed_build_leaves_previous_dataset_byte_for_byte(
    tmp_path: Path, previous: tuple[Path, dict[str, str]], broken: str
) -> None:
    current, before = previous
    src = _sources(tmp_path, broken=broken)
    with pytest.raises(InputFileError) as err:
        build_dataset([src], current, name="current")
    m = CASE_BY_NAME[broken]
    assert err.value.path.name == broken
    if m["row"] == "yes":
        assert err.value.row is not None
    assert _digest(current) == before
    assert sorted(p.name for p in current.parent.iterdir()) == ["current"]  # no half-built folder
    report = validation_report([src]).set_index("file")
    assert report.loc[str(src / broken), "status"] == "error"
    assert broken in report.loc[str(src / broken), "problem"]
    assert set(report.drop(index=str(src / broken))["status"]) == {"ok"}


@needs_corpus
def test_failure_while_writing_leaves_previous_dataset_byte_for_byte(
    tmp_path: Path, previous: tuple[Path, dict[str, str]]
) -> None:
    """Without the sub-ICB/ICB lookup every file reads, but the dataset fails validation on write."""
    current, before = previous
    src = _sources(tmp_path, drop=("lookup_lsoa21_icb24.csv",))
    with pytest.raises(DatasetError, match="lookup table is invalid"):
        build_dataset([src], current, name="current")
    assert _digest(current) == before
    assert sorted(p.name for p in current.parent.iterdir()) == ["current"]


@needs_corpus
def test_the_valid_slices_build_a_dataset_and_replace_the_previous_one(
    tmp_path: Path, previous: tuple[Path, dict[str, str]]
) -> None:
    from hiexplore.dataset import load_dataset

    current, before = previous
    src = _sources(tmp_path)
    build_dataset([src], current, name="current")
    assert _digest(current) != before
    ds = load_dataset(current)
    assert ds.name == "current" and not ds.synthetic
    assert sorted(p.name for p in current.parent.iterdir()) == ["current"]


@needs_corpus
def test_what_a_reader_dropped_is_noted_in_the_dataset_manifest(tmp_path: Path) -> None:
    from hiexplore.dataset import read_manifest

    src = _sources(tmp_path, drop=("lookup_lsoa21_ward24.csv",))
    shutil.copyfile(BAD / "lookup_lsoa21_ward24__wrong_country_code.csv", src / "lookup.csv")
    out = build_dataset([src], tmp_path / "out")
    text = str(read_manifest(out))
    assert "dropped 1 rows for Scottish data zones" in text


# ---------------------------------------------------------------------------------------------
# damaged files stop the build (issue 11, item 2)

DAMAGED = [c["case"] for c in CASES if c["expected"] == "damaged"]
MISNAMED = [c["case"] for c in CASES if c["expected"] == "misnamed"]


@needs_corpus
def test_the_corpus_holds_the_damaged_kinds_of_the_issue() -> None:
    assert len(DAMAGED) >= 20
    reasons = " | ".join(CASE_BY_NAME[c]["note"] for c in DAMAGED + MISNAMED)
    for words in ("truncated gzip", "empty file", "an HTML page, not a CSV", r"an XLSX workbook named \.ods",
                  "NUL bytes", "truncated zip", "corrupt zip member", "not a GeoPackage",
                  r"a shapefile zip without its \.shp", "JSON cut off mid-way"):
        assert words in reasons, words
    formats = {CASE_BY_NAME[c]["format"] for c in DAMAGED}
    assert {"csv", "csv.gz", "zip", "xlsx", "xls", "ods", "json", "geojson", "gpkg"} <= formats


@needs_corpus
@pytest.mark.parametrize("broken", DAMAGED)
def test_a_damaged_file_stops_the_build_naming_it_and_the_reason(
    tmp_path: Path, previous: tuple[Path, dict[str, str]], broken: str
) -> None:
    current, before = previous
    src = _sources(tmp_path, broken=broken)
    lines: list[str] = []
    with pytest.raises(DamagedFileError) as err:
        build_dataset([src], current, name="current", echo=lines.append)
    assert isinstance(err.value, InputFileError)
    assert err.value.path.name == broken
    assert re.search(CASE_BY_NAME[broken]["note"], err.value.reason)
    assert str(err.value).startswith(f"file {broken}: damaged: {err.value.reason}. Nothing was replaced.")
    assert "--skip-damaged" in str(err.value)
    assert _digest(current) == before  # the previous dataset, byte for byte
    assert sorted(p.name for p in current.parent.iterdir()) == ["current"]
    assert lines[-1] == "files read: 0, not recognised: 0, damaged: 1"
    assert any(line.startswith("  DAMAGED: ") and broken in line for line in lines)
    report = validation_report([src / broken]).set_index("file")  # the Data page's check
    row = report.loc[str(src / broken)]
    assert row["status"] == "damaged" and broken in row["problem"]
    assert row["problem"] == f"file {broken}: damaged: {err.value.reason}"


@needs_corpus
def test_skip_damaged_builds_without_them_and_lists_each_with_its_reason(tmp_path: Path) -> None:
    from hiexplore.dataset import read_manifest

    src = _sources(tmp_path)
    for name in DAMAGED + MISNAMED:
        shutil.copyfile(BAD / name, src / name)
    (src / "README.txt").write_text("What these files are.\n", "utf-8")
    lines: list[str] = []
    out = build_dataset([src], tmp_path / "data" / "out", skip_damaged=True, echo=lines.append)
    man = read_manifest(out)
    listed = {d["file"]: d["reason"] for d in man["damaged_files"]}
    assert sorted(listed) == sorted(DAMAGED)
    for name in DAMAGED:
        assert re.search(CASE_BY_NAME[name]["note"], listed[name]), (name, listed[name])
        assert any(line.startswith("  skipped (damaged): ") and name in line for line in lines)
    assert man["skipped_files"] == ["README.txt"]  # no known layout: still "not recognised"
    for name in MISNAMED:  # read by content, the warning kept with the dataset
        assert any(n.startswith(f"{name}: ") and re.search(CASE_BY_NAME[name]["note"], n.split(": ", 1)[1])
                   for n in man["notes"]), name
        assert any(line.startswith("  warning: ") and name in line for line in lines)
        row = validation_report([src / name]).iloc[0]
        assert row["status"] == "ok" and re.search(CASE_BY_NAME[name]["note"], row["notes"]), row.to_dict()
    n_valid = len([p for p in VALID.iterdir() if p.name != "epraccur.csv"])
    assert lines[-1] == f"files read: {n_valid + len(MISNAMED)}, not recognised: 1, damaged: {len(DAMAGED)}"


# ---------------------------------------------------------------------------------------------
# uploads: size, type and name checks before anything is parsed


def test_a_500_mb_upload_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "gp-reg-pat-prac-lsoa-all.csv"
    with open(big, "wb") as fh:  # sparse: 500 MB on paper, nothing on disk
        fh.truncate(500 * 1024 * 1024)
    size = big.stat().st_size
    with pytest.raises(RequestError, match=r"gp-reg-pat-prac-lsoa-all\.csv: 500 MB is over the upload limit of 200 MB"):
        check_upload(big.name, size, DEFAULT_MAX_BYTES)
    assert check_upload(big.name, size, 600 * 1024 * 1024) == big.name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../../etc/passwd.csv", "folder path"),
        ("/etc/passwd.csv", "folder path"),
        ("..\\..\\boot.ini.csv", "folder path"),
        ("C:\\data\\x.csv", "folder path"),
        ("..", "folder path"),
        (".hidden.csv", "hidden"),
        ("notes\x00.csv", "control characters"),
        ("", "no name"),
        ("payload.exe", r"file type \.exe is not accepted\. Valid choices: \.csv"),
        ("archive.tar", "file type .tar is not accepted"),
        ("noextension", r"file type \(none\)"),
    ],
)
def test_unsafe_upload_names_and_types(name: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        check_upload(name, 1000)


def test_upload_content_must_match_its_type() -> None:
    assert check_upload("ePCN.xlsx", 10, head=b"PK\x03\x04rest") == "ePCN.xlsx"
    assert check_upload("utf16.csv", 10, head="a,b\n".encode("utf-16")) == "utf16.csv"
    assert check_upload("File_1.csv.gz", 10, head=b"\x1f\x8b\x08") == "File_1.csv.gz"
    with pytest.raises(RequestError, match=r"ePCN\.xlsx: the content is not a \.xlsx file"):
        check_upload("ePCN.xlsx", 10, head=b"PRACTICE_CODE,TOTAL\n")
    with pytest.raises(RequestError, match="expected text .* found binary content"):
        check_upload("renamed.csv", 10, head=b"PK\x03\x04\x14\x00")
    with pytest.raises(RequestError, match="the file is empty"):
        check_upload("empty.csv", 0)
    with pytest.raises(RequestError, match=r"not a \.gpkg file"):
        check_upload("areas.gpkg", 10, head=b"{\"type\": \"FeatureCollection\"")


@pytest.mark.parametrize(
    "name", ["../outside", "..", ".", "a/b", "a\\b", "/abs", "~root", "-flag", "x" * 41, "CON", "name with space",
             "caf\u00e9", "", "ok\n"],
)
def test_dataset_names_cannot_escape_the_data_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(RequestError):
        safe_dataset_path(tmp_path, name)


def test_dataset_name_resolves_inside_and_symlinks_out_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert safe_dataset_path(data, "llr-2025_v2") == (data / "llr-2025_v2").resolve()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (data / "sneaky").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RequestError, match="outside the data folder"):
        safe_dataset_path(data, "sneaky")


# ---------------------------------------------------------------------------------------------
# zip bombs (made here, never committed)


def _zeros_zip(path: Path, member: str, size: int) -> Path:
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(member, "w", force_zip64=True) as fh:
            for _ in range(size >> 20):
                fh.write(chunk)
    return path


def test_a_zip_bomb_is_refused_before_a_reader_opens_it(tmp_path: Path) -> None:
    bomb = _zeros_zip(tmp_path / "epraccur.zip", "epraccur.csv", 300 * 1024 * 1024)
    assert bomb.stat().st_size < 1_000_000  # ~300 kB that would become 300 MB
    with pytest.raises(InputFileError, match=r"member 'epraccur\.csv' would expand [\d,]+-fold") as err:
        check_zip(bomb)
    assert err.value.path.name == "epraccur.zip"
    # an xlsx is a zip too: a bomb in a worksheet is caught the same way
    sheet = _zeros_zip(tmp_path / "ePCN.xlsx", "xl/worksheets/sheet1.xml", 64 * 1024 * 1024)
    with pytest.raises(InputFileError, match="sheet1.xml"):
        check_zip(sheet)


def test_zip_total_size_member_count_and_paths(tmp_path: Path) -> None:
    wide = tmp_path / "wide.zip"
    with zipfile.ZipFile(wide, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(12):
            zf.writestr(f"part{i}.csv", os.urandom(64 * 1024))  # incompressible: ratio ~1
    with pytest.raises(InputFileError, match="would expand to more than 512 KB"):
        check_zip(wide, max_total=512 * 1024)
    with pytest.raises(InputFileError, match="at most 5 are accepted"):
        check_zip(wide, max_members=5)
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../../outside.csv", "a,b\n")
    with pytest.raises(InputFileError, match="leaves the archive"):
        check_zip(slip)
    check_zip(tmp_path / "wide.zip")  # within the defaults
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n1,2\n")
    check_zip(plain)  # not a zip: nothing to check


def test_zip_stream_check_counts_real_bytes(tmp_path: Path) -> None:
    z = tmp_path / "z.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.csv", os.urandom(600 * 1024))
    check_zip(z, max_total=1024 * 1024, stream=True)
    with pytest.raises(InputFileError):
        check_zip(z, max_total=512 * 1024, stream=True)


@pytest.mark.shared
def test_real_official_packages_pass_the_zip_guard() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}")
    for rel in ("gp/epraccur_2023-02-20.zip", "gp/ePCN_2019-12.xlsx",
                "boundaries/geographr_ons_bsc/boundaries_lsoa11.gpkg.zip",
                "lookups/Rural_Urban_Classification_2011_lookup_tables_for_small_area_geographies.ods"):
        check_zip(SHARED_DATA / rel)


# ---------------------------------------------------------------------------------------------
# safe output: exports that a spreadsheet will not run, maps that a browser will not run

FORMULAS = ["=HYPERLINK(\"http://x\",\"click\")", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1,\"x\""]


def _export_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "area_code": ["E01013606"] * len(FORMULAS) + ["E01013611"],
        "area_name": [*FORMULAS, "Leicester 034D"],
        "value": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0],
    })


def test_csv_export_neutralises_formula_cells(tmp_path: Path) -> None:
    from hiexplore.exports import write_table

    out = write_table(_export_frame(), tmp_path / "targets.csv")
    with open(out, newline="", encoding="utf-8-sig") as fh:  # keep a bare CR inside a quoted cell
        rows = list(csv.DictReader(fh))
    names = [r["area_name"] for r in rows]
    assert names[:-1] == ["'" + f for f in FORMULAS]
    assert names[-1] == "Leicester 034D"
    assert [float(r["value"]) for r in rows] == [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0]  # numbers untouched
    assert not any(re.match(r"^[=+\-@\t\r]", c) for r in rows for k, c in r.items() if k != "value")


def test_csv_export_a_carriage_return_cannot_start_a_formula_row(tmp_path: Path) -> None:
    from hiexplore.exports import write_table

    frame = pd.DataFrame({"area_name": ["Leicester\r=1+1", "Rutland\n@SUM(A1)"], "value": [1.0, 2.0]})
    out = write_table(frame, tmp_path / "targets.csv")
    with open(out, newline="", encoding="utf-8-sig") as fh:  # csv splits rows where a spreadsheet does
        rows = list(csv.reader(fh))
    assert len(rows) == 3
    assert not any(re.match(r"^[=+\-@]", c) for r in rows for c in r)


def test_xlsx_export_has_no_formula_cells(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from hiexplore.exports import write_table

    out = write_table(_export_frame(), tmp_path / "targets.xlsx")
    wb = load_workbook(out)
    ws = wb["data"]
    header = [c.value for c in ws[1]]
    name_col, value_col = header.index("area_name"), header.index("value")
    cells = list(ws.iter_rows(min_row=2))
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)  # no formula anywhere
    # openpyxl shows a carriage return as Excel stores it, _x000D_
    names = [str(r[name_col].value).replace("_x000D_", "\r") for r in cells]
    assert names[:-1] == ["'" + f for f in FORMULAS]
    assert [r[value_col].value for r in cells] == [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0]
    assert all(c.data_type != "f" for row in wb["metadata"].iter_rows() for c in row)


@needs_corpus
def test_map_of_a_boundary_file_named_script_escapes_it() -> None:
    from hiexplore import maps

    (res,) = BY_NAME["ons_boundaries"].read(BAD / "boundaries_lsoa11__script_in_name.geojson")
    areas = res.frame
    assert EVIL in set(areas["area_name"])  # read as text, unchanged
    values = pd.DataFrame({"area_code": areas["area_code"], "value": np.linspace(50, 80, len(areas))})
    practices = pd.DataFrame({"practice_code": ["C82001"], "practice_name": [EVIL], "latitude": [52.66],
                              "longitude": [-0.72], "list_size": [9000]})
    m = maps.choropleth(areas, values, title="Coverage", units="%", source_line="test", popups=True,
                        practices=practices)
    html = maps.map_to_html(m)
    assert EVIL not in html
    assert "<script>alert" not in html and "\\u003cscript\\u003ealert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.replace("\\u0026", "&")
    profile = maps.area_profile_html(EVIL, {EVIL: EVIL}, area_code=EVIL, note=EVIL)
    assert EVIL not in profile and profile.count("&lt;script&gt;") >= 3


#: issue 11 items 3-4 through a whole build: the file is named, the previous dataset kept
GEOCHECK_BROKEN_FOR_BUILD = {
    "boundaries_lsoa21__shifted_into_scotland.geojson": "lies outside England",
    "boundaries_lsoa21__code_not_in_lookup.geojson":
        "1 of its 26 English LSOA 2021 codes is not in the LSOA 2021 lookup (E01039999): are the "
        "boundaries and the lookup of the same vintage, and are these codes right?",
    "fingertips__period_excel_serial.csv": "found '45017', an Excel day number",
}


@needs_corpus
@pytest.mark.parametrize("broken", list(GEOCHECK_BROKEN_FOR_BUILD))
def test_geocheck_build_stops_naming_the_file_and_keeps_previous_dataset(
    tmp_path: Path, previous: tuple[Path, dict[str, str]], broken: str
) -> None:
    current, before = previous
    src = _sources(tmp_path, broken=broken)
    with pytest.raises(InputFileError) as err:
        build_dataset([src], current, name="current")
    assert err.value.path.name == broken
    assert GEOCHECK_BROKEN_FOR_BUILD[broken] in err.value.detail
    assert _digest(current) == before
    assert sorted(p.name for p in current.parent.iterdir()) == ["current"]


@needs_corpus
def test_boundary_codes_are_checked_against_a_national_lookup_only() -> None:
    """A lookup holding most of a boundary file's codes names the rest; a local extract beside
    national boundaries (most codes outside it) is not a mismatch."""
    from hiexplore.build import check_boundary_codes

    path = BAD / "boundaries_lsoa21__code_not_in_lookup.geojson"
    (res,) = BY_NAME["ons_boundaries"].read(path)
    codes = sorted(set(res.frame["area_code"]) - {"E01039999"})
    check_boundary_codes([(path, res)], [*codes, "E01039999"])  # all known
    check_boundary_codes([(path, res)], codes[:3])  # a local extract: 3 of 26
    with pytest.raises(InputFileError) as err:
        check_boundary_codes([(path, res)], codes)
    assert (err.value.path, err.value.column) == (path, "lsoa21_code")
    assert "(E01039999)" in err.value.detail
