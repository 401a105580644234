"""Registration readers: patients by practice and LSOA, and practice list sizes (three layouts).

The real Pennine Lancashire sample (SOURCES.md 8.2) is the R-mangled copy, so the published
header is tested on small files written here; the NHS Digital quinary-age layout is not in the
shared data at all and is tested on a fixture in its documented layout.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.errors import InputFileError
from hiexplore.io import practices, recognise
from hiexplore.io import registrations as R

PENNINE = ("gp_registrations", "bwdph_lsoapops_gp-reg-pat-prac-lsoa-all_2020-04_pennine.csv")
HEADER = "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,SEX,NUMBER_OF_PATIENTS"


def reg_file(path: Path, rows: list[str], header: str = HEADER, date: str = "01JAN2023") -> Path:
    """A gp-reg-pat-prac-lsoa file in the published layout; rows are 'practice,lsoa,sex,n'."""
    lines = [header]
    for r in rows:
        code, lsoa, sex, n = r.split(",")
        lines.append(f"GP_PRAC_PAT_LIST,{date},{code},SURGERY {code},{lsoa},{sex},{n}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = ["P81001,E01012345,ALL,120", "P81001,E01012346,ALL,30", "P81002,E01012345,ALL,7"]


# ---------------------------------------------------------------- the real sample


@pytest.fixture(scope="module")
def pennine():
    return R.read_registrations(shared_path(*PENNINE))


@pytest.mark.shared
def test_pennine_sample_reproduces_sources_counts(pennine) -> None:
    assert len(pennine) == 1
    res = pennine[0]
    f = res.frame
    assert res.kind == "registrations"
    assert list(f.columns) == ["practice_code", "lsoa_code", "sex", "patients"]
    assert f["patients"].dtype == "float64"
    assert len(f) == 8_640 and f["practice_code"].nunique() == 262
    assert f["patients"].sum() == 589_463  # nobody lost: NO2011 patients stay in
    no_lsoa = f[f["lsoa_code"] == R.NO_LSOA]
    assert len(no_lsoa) == 36 and no_lsoa["patients"].sum() == 103
    # 679 distinct codes in LSOA_CODE: 678 LSOAs plus the NO2011 pseudo-code
    assert f.loc[f["lsoa_code"] != R.NO_LSOA, "lsoa_code"].nunique() == 678
    assert f.loc[f["lsoa_code"] != R.NO_LSOA, "lsoa_code"].str.match(r"^E01\d{6}$").all()
    assert set(f["sex"]) == {"ALL"}
    assert res.meta["vintage"] == "2011" and res.meta["period"] == "2020-04"
    assert res.meta["extract_date"] == "2020-04-01" and res.meta["no_lsoa_patients"] == 103
    assert res.meta["practice_names"]["A82003"] == "ULVERSTON HEALTH CENTRE (MURRAY)"
    assert res.source.period == "2020-04" and res.source.sha256.startswith("300af2b7e775f598")
    assert any("103 patients on 36 rows have no LSOA (NO2011)" in n for n in res.notes)


@pytest.mark.shared
def test_hoc_list_sizes(shared_data: Path) -> None:
    res = R.read_list_sizes(shared_path("gp_registrations", "hoclib_gp-by-age.csv"))[0]
    f = res.frame
    assert res.kind == "list_sizes" and res.meta["period"] == "2020-04"
    assert list(f.columns) == [
        "practice_code",
        "list_size",
        "list_16_plus",
        "list_17_plus",
        "list_18_plus",
        "list_30_74",
        "list_50_plus",
        "list_0_64",
        "list_65_plus",
        "share_65_plus",
    ]
    assert len(f) == 6_730 and f["practice_code"].is_unique
    a81001 = f.set_index("practice_code").loc["A81001"]
    assert a81001["list_size"] == 4111 and a81001["list_65_plus"] == 950
    assert a81001["share_65_plus"] == pytest.approx(0.231087327)
    # bands nest inside the total
    assert (f["list_16_plus"] >= f["list_18_plus"]).all() and (
        f["list_size"] >= f["list_16_plus"]
    ).all()
    assert ((f["list_0_64"] + f["list_65_plus"]) == f["list_size"]).mean() > 0.99


@pytest.mark.shared
def test_hoc_list_sizes_cover_llr_practices() -> None:
    hoc = R.read_list_sizes(shared_path("gp_registrations", "hoclib_gp-by-age.csv"))[0].frame
    ep = practices.read_epraccur(shared_path("gp", "epraccur_2023-02-20.zip"))[0].frame
    llr = ep[(ep["icb_code"] == "QK1") & (ep["status"] == "open") & (ep["setting"] == 4)]
    missing = set(llr["practice_code"]) - set(hoc["practice_code"])
    # SOURCES 8.3 says all 134; the April 2020 table lacks the LLR SAS provider opened in 2012
    assert missing == {"Y03584"}


@pytest.mark.shared
def test_qof_prevalence_list_sizes() -> None:
    res = R.read_list_sizes(shared_path("gp", "qof_2020_21", "PREVALENCE_2021_v2.csv"))[0]
    f = res.frame
    assert res.kind == "list_sizes" and res.meta["period"] == "2020-21"
    assert len(f) == 6_571 and f["practice_code"].is_unique and f["list_size"].notna().all()
    assert list(f.columns) == [
        "practice_code",
        "list_size",
        "list_6_plus",
        "list_16_plus",
        "list_17_plus",
        "list_18_plus",
        "list_50_plus",
    ]
    a81001 = f.set_index("practice_code").loc["A81001"]
    assert a81001["list_size"] == 4098 and a81001["list_6_plus"] == 3852


PENNINE_NAMES = {
    "reg": (PENNINE, "nhs_gp_registrations_lsoa"),
    "hoc": (("gp_registrations", "hoclib_gp-by-age.csv"), "hoclib_gp_list_sizes_by_age"),
    "qof": (("gp", "qof_2020_21", "PREVALENCE_2021_v2.csv"), "qof_prevalence_list_sizes"),
}


@pytest.mark.shared
def test_sniffers_on_renamed_copies(shared_data: Path, tmp_path: Path) -> None:
    readers = R.READERS + practices.READERS
    for label, (parts, expected) in PENNINE_NAMES.items():
        copy = tmp_path / f"{label}_copy.txt"
        shutil.copyfile(shared_data.joinpath(*parts), copy)
        assert [r.name for r in readers if r.sniff(copy)] == [expected], label
        reader = recognise(copy)
        assert reader is not None and reader.name == expected, label
    for other in (
        ("gp", "epraccur_2023-02-20.zip"),
        ("gp", "qof_2020_21", "MAPPING_NHS_GEOGRAPHIES_2021.csv"),
        ("gp", "qof_2020_21", "ORGANISATION_REFERENCE_2021.csv"),
        ("postcodes", "os_codepoint_open_2025_4", "le.csv"),
        ("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv"),
    ):
        path = shared_data.joinpath(*other)
        if path.exists():
            assert not any(r.sniff(path) for r in R.READERS), other


# ---------------------------------------------------------------- published layout, vintages


def test_current_header_and_2021_vintage_from_pseudo_code(tmp_path: Path) -> None:
    p = reg_file(tmp_path / "x", [*GOOD, "P81002,NO2021,ALL,4"], date="01JAN2023")
    assert R.sniff_registrations(p)
    res = R.read_registrations(p)[0]
    assert res.meta["vintage"] == "2021" and res.meta["period"] == "2023-01"
    assert res.frame["lsoa_code"].tolist()[-1] == R.NO_LSOA
    assert res.meta["no_lsoa_patients"] == 4
    assert any("NO2021" in n for n in res.notes)


@pytest.mark.parametrize(("date", "vintage"), [("01DEC2021", "2011"), ("01JAN2022", "2021")])
def test_vintage_from_extract_date_without_pseudo_code(
    tmp_path: Path, date: str, vintage: str
) -> None:
    res = R.read_registrations(reg_file(tmp_path / "x", GOOD, date=date))[0]
    assert res.meta["vintage"] == vintage
    assert any("decided from the extract date" in n for n in res.notes)


def test_pseudo_code_wins_over_date_with_a_note(tmp_path: Path) -> None:
    res = R.read_registrations(
        reg_file(tmp_path / "x", [*GOOD, "P81001,NO2011,ALL,1"], date="01JUL2022")
    )[0]
    assert res.meta["vintage"] == "2011"
    assert any("says LSOA 2011" in n for n in res.notes)


def test_space_header_quoted_values_and_row_number_column(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text(
        '"","PUBLICATION","EXTRACT_DATE","PRACTICE_CODE","PRACTICE_NAME","LSOA_CODE","SEX","Number of Patients"\n'
        '"1","GP_PRAC_PAT_LIST","01APR2020","P81001","A, B SURGERY","E01012345","ALL","1,200"\n'
        '"2","GP_PRAC_PAT_LIST","01APR2020","p81002","C","e01012345","ALL",3\n'
    )
    res = R.read_registrations(p)[0]
    assert res.frame["patients"].tolist() == [1200.0, 3.0]
    assert res.frame["practice_code"].tolist() == ["P81001", "P81002"]
    assert res.frame["lsoa_code"].tolist() == ["E01012345", "E01012345"]
    assert res.meta["practice_names"]["P81001"] == "A, B SURGERY"


def test_zip_of_all_male_female(tmp_path: Path) -> None:
    z = tmp_path / "gp-reg-pat-prac-lsoa-male-female.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for sex in ("ALL", "MALE", "FEMALE"):
            rows = [r.replace(",ALL,", f",{sex},") for r in GOOD]
            zf.write(
                reg_file(tmp_path / f"{sex}.csv", rows), f"gp-reg-pat-prac-lsoa-{sex.lower()}.csv"
            )
        zf.writestr("readme.txt", "not a csv of registrations")
    assert R.sniff_registrations(z)
    results = R.read_registrations(z)
    assert [set(r.frame["sex"]) for r in results] == [{"ALL"}, {"MALE"}, {"FEMALE"}]
    assert [r.meta["member"] for r in results][0] == "gp-reg-pat-prac-lsoa-all.csv"


# ---------------------------------------------------------------- registrations: bad input


def test_missing_column(tmp_path: Path) -> None:
    p = reg_file(tmp_path / "x", GOOD, header=HEADER.replace("LSOA_CODE", "LSOA"))
    with pytest.raises(InputFileError, match="missing column.*'LSOA_CODE'.*found") as err:
        R.read_registrations(p)
    assert (err.value.row, err.value.column) == (1, "LSOA_CODE")


def test_non_numeric_patients(tmp_path: Path) -> None:
    p = reg_file(tmp_path / "x", [GOOD[0], "P81001,E01012346,ALL,ten"])
    with pytest.raises(InputFileError, match="expected a number, found 'ten'") as err:
        R.read_registrations(p)
    assert (err.value.row, err.value.column) == (3, "NUMBER_OF_PATIENTS")


def test_negative_patients(tmp_path: Path) -> None:
    p = reg_file(tmp_path / "x", [GOOD[0], GOOD[1], "P81002,E01012345,ALL,-7"])
    with pytest.raises(InputFileError, match="zero or more, found '-7'") as err:
        R.read_registrations(p)
    assert err.value.row == 4


def test_blank_patients(tmp_path: Path) -> None:
    p = reg_file(tmp_path / "x", [GOOD[0], "P81002,E01012345,ALL, "])
    with pytest.raises(InputFileError, match="found a blank") as err:
        R.read_registrations(p)
    assert err.value.row == 3


def test_duplicate_rows(tmp_path: Path) -> None:
    p = reg_file(tmp_path / "x", [*GOOD, "p81001,E01012346,ALL,31"])
    with pytest.raises(
        InputFileError, match=r"duplicate practice / LSOA / sex row .*first seen on row 3"
    ) as err:
        R.read_registrations(p)
    assert err.value.row == 5


def test_bad_lsoa_sex_and_practice(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="LSOA code .* or the no-LSOA pseudo-code") as err:
        R.read_registrations(reg_file(tmp_path / "a", [GOOD[0], "P81001,E02000001,ALL,3"]))
    assert (err.value.row, err.value.column) == (3, "LSOA_CODE")
    with pytest.raises(InputFileError, match="ALL, MALE or FEMALE, found 'M'") as err:
        R.read_registrations(reg_file(tmp_path / "b", [GOOD[0], "P81001,E01012346,M,3"]))
    assert err.value.column == "SEX"
    with pytest.raises(InputFileError, match="practice code") as err:
        R.read_registrations(reg_file(tmp_path / "c", [GOOD[0], " ,E01012346,ALL,3"]))
    assert (err.value.row, err.value.column) == (3, "PRACTICE_CODE")


def test_both_pseudo_codes_and_two_extract_dates(tmp_path: Path) -> None:
    mixed = reg_file(tmp_path / "a", [*GOOD, "P81001,NO2011,ALL,1", "P81002,NO2021,ALL,1"])
    with pytest.raises(InputFileError, match="both NO2011 and NO2021") as err:
        R.read_registrations(mixed)
    assert err.value.row == 6
    p = reg_file(tmp_path / "b", GOOD)
    text = p.read_text().splitlines()
    text[3] = text[3].replace("01JAN2023", "01FEB2023")
    p.write_text("\n".join(text) + "\n")
    with pytest.raises(
        InputFileError, match="one extract date.*'01JAN2023' and '01FEB2023'"
    ) as err:
        R.read_registrations(p)
    assert (err.value.row, err.value.column) == (4, "EXTRACT_DATE")


def test_truncated_empty_and_encoding(tmp_path: Path) -> None:
    p = reg_file(tmp_path / "t", GOOD)
    p.write_bytes(p.read_bytes()[:-25])  # cut inside the last row
    with pytest.raises(InputFileError, match="truncated") as err:
        R.read_registrations(p)
    assert err.value.row == 4
    e = tmp_path / "e"
    e.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        R.read_registrations(e)
    h = tmp_path / "h"
    h.write_text(HEADER + "\n")
    with pytest.raises(InputFileError, match="header row but no data rows") as err:
        R.read_registrations(h)
    assert err.value.row == 2
    u = tmp_path / "u"
    u.write_bytes(reg_file(tmp_path / "g", GOOD).read_text().encode("utf-16-be"))
    with pytest.raises(InputFileError, match="UTF-8 or Windows-1252") as err:
        R.read_registrations(u)
    assert err.value.row == 1
    quoted = tmp_path / "q"
    quoted.write_text(HEADER + '\nGP_PRAC_PAT_LIST,01JAN2023,P81001,"UNFINISHED,E01012345,ALL,3\n')
    with pytest.raises(InputFileError, match="unterminated quoted field") as err:
        R.read_registrations(quoted)
    assert err.value.row == 2


# ---------------------------------------------------------------- list sizes: quinary age fixture

QUIN_HEADER = (
    "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,ORG_CODE,POSTCODE,SEX,AGE_GROUP_5,"
    "NUMBER_OF_PATIENTS"
)
AGES = [f"{lo}_{lo + 4}" for lo in range(0, 95, 5)] + ["95+"]


def quin_file(
    path: Path, practices: dict[str, tuple[list[int], list[int]]], *, skip_all: str = ""
) -> Path:
    """The documented gp-reg-pat-prac-quin-age layout: ALL/ALL, sex/ALL and sex/band rows."""
    lines = [QUIN_HEADER]
    for code, (female, male) in practices.items():

        def row(sex: str, age: str, n: int, code: str = code) -> str:
            return f"GP_PRAC_PAT_LIST,01APR2020,GP,04C,E38000097,{code},LE1 1AA,{sex},{age},{n}"

        if code != skip_all:
            lines.append(row("ALL", "ALL", sum(female) + sum(male)))
        lines.append(row("FEMALE", "ALL", sum(female)))
        lines.append(row("MALE", "ALL", sum(male)))
        lines += [row("FEMALE", a, n) for a, n in zip(AGES, female, strict=True)]
        lines += [row("MALE", a, n) for a, n in zip(AGES, male, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_quinary_age_layout(tmp_path: Path) -> None:
    f1 = list(range(1, 21))
    m1 = list(range(101, 121))
    p = quin_file(
        tmp_path / "q", {"C82001": (f1, m1), "C82002": ([2] * 20, [3] * 20)}, skip_all="C82002"
    )
    assert R.sniff_quinary_age(p) and not R.sniff_registrations(p) and not R.sniff_hoc_list_sizes(p)
    res = R.read_list_sizes(p)[0]
    f = res.frame.set_index("practice_code")
    assert res.kind == "list_sizes" and res.meta["period"] == "2020-04"
    assert list(res.frame.columns[:3]) == ["practice_code", "list_size", "f_0_4"]
    assert res.frame.columns[21] == "f_95_plus" and res.frame.columns[-1] == "m_95_plus"
    assert len(res.frame.columns) == 2 + 2 * 20
    assert f.loc["C82001", "list_size"] == sum(f1) + sum(m1)
    assert f.loc["C82001", "f_0_4"] == 1 and f.loc["C82001", "m_90_94"] == 119
    assert f.loc["C82002", "list_size"] == 100  # no ALL/ALL row: male + female
    assert any("no ALL/ALL row" in n for n in res.notes)


def test_quinary_age_bad_input(tmp_path: Path) -> None:
    p = quin_file(tmp_path / "q", {"C82001": ([1] * 20, [1] * 20)})
    lines = p.read_text().splitlines()
    bad_age = lines.copy()
    bad_age[5] = bad_age[5].replace(",5_9,", ",5-9,")
    (tmp_path / "a").write_text("\n".join(bad_age))
    with pytest.raises(
        InputFileError, match="age group such as 0_4, 95\\+ or ALL, found '5-9'"
    ) as err:
        R.read_list_sizes(tmp_path / "a")
    assert (err.value.row, err.value.column) == (6, "AGE_GROUP_5")
    (tmp_path / "d").write_text("\n".join([*lines, lines[4]]))
    with pytest.raises(InputFileError, match="duplicate practice / sex / age group") as err:
        R.read_list_sizes(tmp_path / "d")
    assert err.value.row == len(lines) + 1


# ---------------------------------------------------------------- list sizes: HoC and QOF bad input

HOC_HEADER = "PRACTICE_CODE,TOTAL,16OV,17OV,18OV,30_74,50OV,0_64,65OV,65OV%"


def test_hoc_bad_share_missing_column_and_duplicates(tmp_path: Path) -> None:
    p = tmp_path / "h"
    p.write_text(HOC_HEADER + "\nA81001,4111,3345,3307,3258,2228,1716,3161,950,23.1\n")
    with pytest.raises(InputFileError, match="proportion between 0 and 1, found '23.1'") as err:
        R.read_list_sizes(p)
    assert (err.value.row, err.value.column) == (2, "65OV%")
    p.write_text(
        HOC_HEADER.replace(",50OV", "") + "\nA81001,4111,3345,3307,3258,2228,3161,950,0.2\n"
    )
    assert R.sniff_hoc_list_sizes(p)
    with pytest.raises(InputFileError, match="missing column.*'50OV'"):
        R.read_list_sizes(p)
    row = "A81001,4111,3345,3307,3258,2228,1716,3161,950,0.2"
    p.write_text("\n".join([HOC_HEADER, row, row]) + "\n")
    with pytest.raises(InputFileError, match="duplicate practice row") as err:
        R.read_list_sizes(p)
    assert err.value.row == 3


def test_qof_prevalence_bad_list_type_and_unknown_layout(tmp_path: Path) -> None:
    p = tmp_path / "PREVALENCE_2324.csv"
    p.write_text(
        "PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PRACTICE_LIST_SIZE\n"
        "A81001,AF,95,TOTAL,4098\nA81001,AST,333,SIXPLUS,3852\n"
    )
    with pytest.raises(InputFileError, match="TOTAL or an age floor") as err:
        R.read_list_sizes(p)
    assert (err.value.row, err.value.column) == (3, "PATIENT_LIST_TYPE")
    q = tmp_path / "q.csv"
    q.write_text(
        "PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PRACTICE_LIST_SIZE\nA81001,AF,9,TOTAL,40\n"
    )
    assert R.read_list_sizes(q)[0].meta["period"] == "unknown"
    other = tmp_path / "o.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="expected a list-size layout") as err:
        R.read_list_sizes(other)
    assert err.value.row == 1


def test_readers_and_exports() -> None:
    assert [(r.name, r.kind) for r in R.READERS] == [
        ("nhs_gp_registrations_lsoa", "registrations"),
        ("hoclib_gp_list_sizes_by_age", "list_sizes"),
        ("nhs_gp_registrations_quinary_age", "list_sizes"),
        ("qof_prevalence_list_sizes", "list_sizes"),
    ]
    assert {"READERS", "read_registrations", "read_list_sizes", "NO_LSOA"} <= set(R.__all__)
    assert all(not r.sniff(Path("/nonexistent/file")) for r in R.READERS)


def test_frames_are_typed(tmp_path: Path) -> None:
    f = R.read_registrations(reg_file(tmp_path / "x", GOOD))[0].frame
    assert pd.api.types.is_string_dtype(f["practice_code"]) and f["patients"].dtype == "float64"


@pytest.fixture(params=["c", "pyarrow"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Large files go through pyarrow; run the row-numbering checks through both parsers."""
    if request.param == "pyarrow":
        monkeypatch.setattr(practices, "_ARROW_MIN_CHARS", 0)
    return request.param


def test_both_parsers_agree_and_name_rows(tmp_path: Path, engine: str) -> None:
    good = R.read_registrations(reg_file(tmp_path / "g", GOOD))[0].frame
    assert good["patients"].tolist() == [120.0, 30.0, 7.0]
    t = reg_file(tmp_path / "t", GOOD)
    t.write_bytes(t.read_bytes()[:-25])
    with pytest.raises(InputFileError, match="truncated") as err:
        R.read_registrations(t)
    assert err.value.row == 4
    short = reg_file(tmp_path / "s", GOOD)
    lines = short.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]  # drop the count of the second data row
    short.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match="found a blank|expected 7 fields, found 6") as err:
        R.read_registrations(short)
    assert err.value.row == 3
    q = tmp_path / "q"
    q.write_text(HEADER + '\nGP_PRAC_PAT_LIST,01JAN2023,P81001,"UNFINISHED,E01012345,ALL,3\n')
    with pytest.raises(InputFileError, match="unterminated quoted field|truncated") as err:
        R.read_registrations(q)
    assert err.value.row == 2
