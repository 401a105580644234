"""Readers that find their header by testing whole rows say, when no row passes, which expected
column the closest row lacks, the nearest name it has, and which row (and sheet) that was.

The files are the bad corpus (``tests/data/bad``, broken copies of real official files made by
``tests/make_bad_corpus.py``) and small files written here.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from hiexplore.errors import InputFileError
from hiexplore.io import READERS, geography
from hiexplore.io._common import Gap, closest_column, header_not_found, load_csv

BAD = Path(__file__).resolve().parent / "data" / "bad"
BY_NAME = {r.name: r for r in READERS}


def _manifest() -> dict[str, dict[str, str]]:
    if not (BAD / "MANIFEST.csv").is_file():
        return {}
    with open(BAD / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        return {row["case"]: row for row in csv.DictReader(fh)}


CASES = _manifest()
needs_corpus = pytest.mark.skipif(not CASES, reason="corpus not generated: run tests/make_bad_corpus.py")


def _error(case: str, path: Path | None = None) -> InputFileError:
    with pytest.raises(InputFileError) as err:
        BY_NAME[CASES[case]["reader"]].read(path or BAD / case)
    return err.value


#: case -> (row, sheet, column named, what the message must say)
PINNED: dict[str, tuple[int, str | None, str | None, str]] = {
    "lookup_hoclib__renamed_key_column.csv": (
        1, None, "LSOA_CODE (old)",
        "no header row found in the first 20 rows; the best match, row 1, is missing an LSOA code "
        "column such as 'LSOA21CD' or 'lsoa21_code' (closest match: 'LSOA_CODE (old)'); that row "
        "holds 'LSOA_CODE (old)', 'MSOA_CODE', ",
    ),
    "lookup_hoclib__missing_key_column.csv": (
        1, None, None,
        "the best match, row 1, is missing an LSOA code column such as 'LSOA21CD' or "
        "'lsoa21_code'; that row holds 'MSOA_CODE', 'PCON_CODE'",
    ),
    "lookup_lsoa11_lsoa21__renamed_key_column.csv": (
        1, None, "lsoa11_code (old)",
        "missing an LSOA 2011 code column such as 'LSOA11CD' or 'lsoa11_code' "
        "(closest match: 'lsoa11_code (old)')",
    ),
    "lookup_lsoa21_ward24__renamed_key_column.csv": (
        1, None, "lsoa21_code (old)", "(closest match: 'lsoa21_code (old)')",
    ),
    "ward_lookup__renamed_key_column.csv": (
        1, None, "WD22CD (old)",
        "missing a ward code column such as 'WD22CD' or 'ward22_code' (closest match: 'WD22CD (old)')",
    ),
    "iod2019_file1__renamed_key_column.csv": (
        1, None, "LSOA code (2011) (old)",
        "missing an LSOA code column such as 'LSOA code (2011)' or 'lsoa21_code' "
        "(closest match: 'LSOA code (2011) (old)')",
    ),
    "iod2025_humaniverse__missing_key_column.csv": (
        1, None, None, "is missing an LSOA code column such as 'LSOA code (2011)' or 'lsoa21_code'; ",
    ),
    "population_syoa__missing_count_column.csv": (
        1, None, None,
        "is missing the single-year-of-age column(s) '0' (expected one per age 0 to 89, then '90+')",
    ),
    "population_syoa__renamed_key_column.csv": (1, None, "lsoa11_code (old)", "(closest match: 'lsoa11_code (old)')"),
    "population_density__renamed_population_column.xlsx": (
        5, "Mid-2018 Population Density", "Population",
        "no sheet has the expected header in its first 20 rows; the best match, row 5 of sheet "
        "'Mid-2018 Population Density', is missing a population column such as 'Mid-2018 "
        "population' (closest match: 'Population'); that row holds 'Code', 'Name', 'Population', "
        "'Area Sq Km', 'People per Sq Km'; sheets found: [",
    ),
    "ethnicity__missing_count_column.csv": (
        1, None, None, "is missing the count column 'n' (long layout: lsoa21_code, ethnic_group, n)",
    ),
    "household_deprivation__renamed_key_column.csv": (
        1, None, "lsoa21_code (old)", "(closest match: 'lsoa21_code (old)')",
    ),
}


@needs_corpus
@pytest.mark.parametrize("case", sorted(PINNED))
def test_header_not_found_names_the_missing_column(case: str) -> None:
    row, sheet, column, text = PINNED[case]
    err = _error(case)
    assert text in str(err), str(err)
    assert (err.row, err.sheet, err.column) == (row, sheet, column)
    assert err.path.name == case
    if column is None:
        assert "closest match" not in str(err)  # a dropped column is not "matched" to a neighbour


@needs_corpus
def test_best_match_is_the_header_row_below_titles(tmp_path: Path) -> None:
    """With title rows above a renamed header, the error names the header's row, not row 1."""
    case = "lookup_lsoa21_ward24__renamed_key_column.csv"
    p = tmp_path / case
    p.write_bytes(b"Table 1: LSOA to ward\nSource: ONS\n\n" + (BAD / case).read_bytes())
    err = _error(case, p)
    assert (err.row, err.column) == (4, "lsoa21_code (old)")
    assert "the best match, row 4, is missing an LSOA code column" in str(err)


def test_lookup_reader_says_why_a_crosswalk_is_not_a_lookup(tmp_path: Path) -> None:
    p = tmp_path / "cw.csv"
    p.write_text("LSOA11CD,LSOA21CD,CHGIND,LAD22CD\nE01000001,E01000001,U,E09000001\n")
    with pytest.raises(InputFileError) as err:
        geography.read_lookup(p)
    assert "has LSOA codes of 2011 and of 2021: an LSOA 2011 to 2021 lookup, not an LSOA lookup" in str(
        err.value
    )
    assert err.value.row == 1


def test_ward_lookup_reader_says_why_an_lsoa_lookup_is_not_one(tmp_path: Path) -> None:
    p = tmp_path / "lu.csv"
    p.write_text("LSOA21CD,WD24CD,LAD24CD\nE01000001,E05000001,E09000001\n")
    with pytest.raises(InputFileError, match="has an LSOA code column \\('LSOA21CD'\\): an LSOA lookup, not a ward"):
        geography.read_ward_lookup(p)


def test_closest_column_ignores_recognised_and_unlike_cells() -> None:
    cells = ["MSOA_CODE", "PCON_CODE", "LSOA_CODE (old)"]
    assert closest_column(["LSOA_CODE"], cells) == "MSOA_CODE"  # plain difflib: a neighbour
    assert closest_column(["LSOA_CODE"], cells, {"msoa_code"}, like="lsoa") == "LSOA_CODE (old)"
    assert closest_column(["LSOA_CODE"], cells[:2], {"msoa_code"}, like="lsoa") is None
    assert closest_column(["Area Sq Km"], ["Code", "Name"]) is None  # nothing 60% alike


def test_header_not_found_prefers_fewest_gaps_then_fuller_rows(tmp_path: Path) -> None:
    def gaps(cells: object) -> list[Gap]:
        have = {str(c).strip().lower() for c in cells}  # type: ignore[attr-defined]
        return [Gap(f"column {w!r}", (w,)) for w in ("code", "value") if w not in have]

    heads = [(None, 0, ["A title"]), (None, 1, ["code", "valeu", "note"]), (None, 2, ["x", "y", "z"])]
    err = header_not_found(tmp_path / "f.csv", heads, gaps, "no header row found")
    assert (err.row, err.column) == (2, "valeu")
    assert re.search(r"the best match, row 2, is missing column 'value' \(closest match: 'valeu'\); "
                     r"that row holds 'code', 'valeu', 'note'$", str(err))
    # without a reader's account, the old message: what row 1 holds
    err = header_not_found(tmp_path / "f.csv", heads, None, "no header row found")
    assert err.row == 1 and "expected the column names of this format; found 'code'" in str(err)


def test_load_csv_without_gaps_keeps_the_plain_message(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="no header row found in the first 20 rows; expected the "
                       "column names of this format; found 'a', 'b'") as err:
        load_csv(p, lambda cells: "code" in cells)
    assert err.value.row == 1
