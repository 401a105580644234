"""Population readers: ONS single-year-of-age and density estimates, Census 2021 TS021/TS011."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.errors import InputFileError
from hiexplore.io import deprivation, geography
from hiexplore.io import population as pop
from hiexplore.io.registry import ReadResult

SYOA = ("population", "demographr_population20_lsoa11_syoa.csv.gz")
DENSITY = ("population", "SAPE21DT11-mid-2018-lsoa-population-density.xlsx")
ETHNICITY = ("census2021", "demographr_ethnicity21_lsoa21.csv.gz")
HOUSEHOLD = ("census2021", "demographr_household_deprivation21_lsoa21.csv.gz")
BROAD = ["age_0_4", "age_5_15", "age_16_24", "age_25_49", "age_50_64", "age_65_74", "age_75_plus"]


def _copy(src: Path, tmp_path: Path, name: str = "upload_c0de") -> Path:
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def _reader(name: str) -> pd.DataFrame:
    return next(r for r in pop.READERS if r.name == name)


@pytest.fixture(scope="module")
def syoa() -> ReadResult:
    return _reader("ons_population_syoa").read(shared_path(*SYOA))[0]


@pytest.fixture(scope="module")
def ethnicity() -> ReadResult:
    return _reader("census21_ethnicity").read(shared_path(*ETHNICITY))[0]


# ---------------------------------------------------------------------------------------------
# real files


@pytest.mark.shared
def test_single_year_of_age_bands(syoa: ReadResult) -> None:
    f = syoa.frame
    assert syoa.kind == "population"
    assert len(f) == 34_753 and f["lsoa_code"].is_unique
    assert list(f.columns) == ["lsoa_code", "population", *pop.AGE_BANDS]
    assert syoa.meta["vintage"] == "2011" and syoa.meta["period"] == "mid-2020"
    assert f["population"].sum() == 59_719_724  # England and Wales, mid-2020
    assert (f["population"] > 0).all()
    # the broad bands partition the population exactly
    assert (f[BROAD].sum(axis=1) == f["population"]).all()
    # nested eligible ages
    assert (f["age_53_70"] <= f["age_50_70"]).all()
    assert (f["age_50_64"] <= f["age_50_70"]).all()
    assert (f["age_1_1"] + f["age_2_2"] <= f["age_0_4"]).all()
    assert (f["age_5_5"] <= f["age_5_15"]).all()
    first = f.iloc[0]  # Hartlepool 009A: ages 1, 2 and 5 are 32, 22 and 31
    assert (first["lsoa_code"], first["age_1_1"], first["age_2_2"], first["age_5_5"]) == ("E01011949", 32, 22, 31)


@pytest.mark.shared
def test_density_workbook_below_a_title_block() -> None:
    (res,) = _reader("ons_population_density").read(shared_path(*DENSITY))
    f = res.frame
    assert len(f) == 34_753 and list(f.columns) == ["lsoa_code", "population", "area_sq_km"]
    assert res.meta == {"vintage": "2011", "period": "mid-2018"}
    assert (f["area_sq_km"] > 0).all() and f["population"].sum() > 59_000_000
    assert f.loc[f["lsoa_code"] == "E01020634", "population"].item() == 1665


@pytest.mark.shared
def test_ethnicity_shares(ethnicity: ReadResult) -> None:
    f = ethnicity.frame
    assert ethnicity.kind == "ethnicity"
    assert len(f) == 35_672 and f["lsoa_code"].is_unique
    shares = [f"share_{g}" for g in pop.ETHNIC_GROUPS]
    assert list(f.columns) == ["lsoa_code", "residents", *shares]
    assert np.allclose(f[shares].sum(axis=1), 1.0)
    assert f[shares].ge(0).all().all() and f[shares].le(1).all().all()
    assert f["residents"].sum() == 59_597_576  # Census 2021 usual residents, E+W (demographr)
    assert ethnicity.meta["vintage"] == "2021"
    e1 = f.set_index("lsoa_code").loc["E01000001"]
    assert e1["residents"] == 1474 and np.isclose(e1["share_asian"], 158 / 1474)


@pytest.mark.shared
def test_household_deprivation_shares() -> None:
    (res,) = _reader("census21_household_deprivation").read(shared_path(*HOUSEHOLD))
    f = res.frame
    assert res.kind == "household_deprivation"
    assert len(f) == 35_672
    shares = [f"share_{d}" for d in pop.DEPRIVATION_DIMENSIONS]
    assert list(f.columns) == ["lsoa_code", "households", *shares]
    assert np.allclose(f[shares].sum(axis=1), 1.0)
    assert f["households"].sum() == 24_783_097
    assert res.meta["vintage"] == "2021"


@pytest.mark.shared
@pytest.mark.parametrize(
    "parts, name",
    [
        (SYOA, "ons_population_syoa"),
        (DENSITY, "ons_population_density"),
        (ETHNICITY, "census21_ethnicity"),
        (HOUSEHOLD, "census21_household_deprivation"),
    ],
)
def test_population_sniffers_by_content(parts: tuple[str, str], name: str, tmp_path: Path) -> None:
    p = _copy(shared_path(*parts), tmp_path)
    assert [r.name for r in pop.READERS if r.sniff(p)] == [name]
    assert not any(r.sniff(p) for r in deprivation.READERS + geography.READERS)


@pytest.mark.shared
@pytest.mark.parametrize(
    "parts",
    [
        ("iod2019", "File_6_-_IoD2019_Population_Denominators.csv.gz"),
        ("lookups", "geographr_lookup_lsoa21_ward24_ltla24.csv.gz"),
        ("leicester_city_council", "deprivation-in-leicester-2025.xlsx"),
        ("boundaries", "geographr_ons_bsc", "llr_msoa21_bsc.geojson"),
        ("gp_registrations", "hoclib_gp-by-age.csv"),
    ],
)
def test_population_sniffers_reject_other_kinds(parts: tuple[str, ...], tmp_path: Path) -> None:
    p = _copy(shared_path(*parts), tmp_path)
    assert not any(r.sniff(p) for r in pop.READERS)


def test_population_sniffers_never_raise(tmp_path: Path) -> None:
    for content in (b"", b"\x00\x00binary", b"PK\x03\x04", b"\x1f\x8b"):
        p = tmp_path / "x"
        p.write_bytes(content)
        assert not any(r.sniff(p) for r in pop.READERS)


# ---------------------------------------------------------------------------------------------
# other published layouts, generated


def _syoa_csv(tmp_path: Path, rows: int = 3, *, header_total: str = "total_population") -> tuple[Path, pd.DataFrame]:
    ages = {str(a): [float(a % 7 + i) for i in range(rows)] for a in range(90)}
    ages["90+"] = [2.0] * rows
    body = pd.DataFrame(ages)
    f = pd.DataFrame(
        {
            "lsoa11_name": [f"X 00{i}A" for i in range(rows)],
            "lsoa11_code": [f"E0100000{i + 1}" for i in range(rows)],
            header_total: body.sum(axis=1),
        }
    )
    f = pd.concat([f, body], axis=1)
    p = tmp_path / "syoa.csv"
    f.to_csv(p, index=False)
    return p, f


def test_ons_workbook_layout_and_period_from_sheet(tmp_path: Path) -> None:
    _, f = _syoa_csv(tmp_path)
    ons = f.rename(columns={"lsoa11_code": "LSOA Code", "lsoa11_name": "LSOA Name", "total_population": "All Ages"})
    p = tmp_path / "wb"
    with pd.ExcelWriter(p, engine="openpyxl") as xw:
        pd.DataFrame({"Contents": ["Mid-2020 estimates"]}).to_excel(xw, sheet_name="Contents", index=False)
        ons.to_excel(xw, sheet_name="Mid-2020 Persons", index=False, startrow=4)
    assert pop.sniff_population_syoa(p)
    frame, meta, notes = pop.read_population_syoa(p)
    assert meta["period"] == "mid-2020" and not any("not stated" in n for n in notes)
    assert (frame["population"].to_numpy() == f["total_population"].to_numpy()).all()
    assert (frame["age_75_plus"] == f[[str(a) for a in range(75, 90)] + ["90+"]].sum(axis=1)).all()


def test_ons_bulk_census_layout(ethnicity_wide: Path) -> None:
    frame, meta, _ = pop.read_ethnicity(ethnicity_wide)
    assert meta["layout"] == "wide"
    row = frame.set_index("lsoa_code").loc["E01000001"]
    assert row["residents"] == 100 and np.isclose(row["share_black"], 0.05)
    assert np.isclose(frame.filter(like="share_").sum(axis=1), 1).all()


@pytest.fixture
def ethnicity_wide(tmp_path: Path) -> Path:
    """The ONS bulk-download layout of TS021: high-level groups and their detailed parts."""
    p = tmp_path / "ts021"
    pd.DataFrame(
        {
            "date": [2021, 2021],
            "geography": ["City of London 001A", "City of London 001B"],
            "geography code": ["E01000001", "E01000002"],
            "Ethnic group: Total: All usual residents": [100, 200],
            "Ethnic group: Asian, Asian British or Asian Welsh": [10, 20],
            "Ethnic group: Asian, Asian British or Asian Welsh: Bangladeshi": [1, 2],
            "Ethnic group: Black, Black British, Black Welsh, Caribbean or African": [5, 10],
            "Ethnic group: Mixed or Multiple ethnic groups": [5, 10],
            "Ethnic group: White": [75, 150],
            "Ethnic group: White: English, Welsh, Scottish, Northern Irish or British": [70, 140],
            "Ethnic group: Other ethnic group": [5, 10],
        }
    ).to_csv(p, index=False)
    return p


def test_ons_bulk_household_layout(tmp_path: Path) -> None:
    p = tmp_path / "ts011"
    pd.DataFrame(
        {
            "date": [2021],
            "geography": ["x"],
            "geography code": ["E01035000"],
            "Household deprivation: Total: All households": [400],
            "Household deprivation: Household is not deprived in any dimension": [200],
            "Household deprivation: Household is deprived in one dimension": [100],
            "Household deprivation: Household is deprived in two dimensions": [60],
            "Household deprivation: Household is deprived in three dimensions": [30],
            "Household deprivation: Household is deprived in four dimensions": [10],
        }
    ).to_csv(p, index=False)
    assert pop.sniff_household_deprivation(p) and not pop.sniff_ethnicity(p)
    frame, meta, _ = pop.read_household_deprivation(p)
    assert meta["vintage"] == "2021"  # E01035000 was created in 2021
    assert frame["share_deprived_4"].item() == 0.025


# ---------------------------------------------------------------------------------------------
# bad input


def test_ages_must_add_up(tmp_path: Path) -> None:
    p, f = _syoa_csv(tmp_path)
    f.loc[1, "total_population"] += 5
    f.to_csv(p, index=False)
    with pytest.raises(InputFileError, match="expected the single years of age to sum to the total") as err:
        pop.read_population_syoa(p)
    assert (err.value.row, err.value.column) == (3, "total_population")


def test_non_numeric_count(tmp_path: Path) -> None:
    p, f = _syoa_csv(tmp_path)
    f = f.astype({"42": object})
    f.loc[2, "42"] = "n/a"
    f.to_csv(p, index=False)
    with pytest.raises(InputFileError, match="expected a number, found 'n/a'") as err:
        pop.read_population_syoa(p)
    assert (err.value.row, err.value.column) == (4, "42")


def test_negative_count(tmp_path: Path) -> None:
    p, f = _syoa_csv(tmp_path)
    f.loc[0, "7"] = -1
    f.to_csv(p, index=False)
    with pytest.raises(InputFileError, match="expected a count of zero or more, found '-1'") as err:
        pop.read_population_syoa(p)
    assert (err.value.row, err.value.column) == (2, "7")


def test_truncated_syoa(tmp_path: Path) -> None:
    p, _ = _syoa_csv(tmp_path)
    text = p.read_text()
    p.write_text(text[: text.rindex(",", 0, len(text) - 200)])
    with pytest.raises(InputFileError, match=r"found a blank \(is the file truncated\?\)") as err:
        pop.read_population_syoa(p)
    assert err.value.row == 4


def test_duplicate_lsoa_in_syoa(tmp_path: Path) -> None:
    p, f = _syoa_csv(tmp_path)
    f.loc[2, "lsoa11_code"] = f.loc[0, "lsoa11_code"]
    f.to_csv(p, index=False)
    with pytest.raises(InputFileError, match="duplicate LSOA code 'E01000001'") as err:
        pop.read_population_syoa(p)
    assert (err.value.row, err.value.column) == (4, "lsoa11_code")


def test_missing_age_column_is_not_syoa(tmp_path: Path) -> None:
    p, f = _syoa_csv(tmp_path)
    f.drop(columns=["37"]).to_csv(p, index=False)
    assert not pop.sniff_population_syoa(p)
    with pytest.raises(InputFileError, match="no header row found") as err:
        pop.read_population_syoa(p)
    assert "is missing the single-year-of-age column(s) '37'" in str(err.value)


LONG = "lsoa21_code,total_residents,ethnic_group,n,prop\n"
GROUPS = [
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
]


def _long(tmp_path: Path, rows: list[tuple[str, float, str, float]]) -> Path:
    p = tmp_path / "eth.csv"
    body = "".join(f'{c},{t},"{g}",{n},{n / t}\n' for c, t, g, n in rows)
    p.write_text(LONG + body, encoding="utf-8")
    return p


def test_unknown_ethnic_group(tmp_path: Path) -> None:
    rows = [("E01000001", 100.0, g, 20.0) for g in GROUPS]
    rows[2] = ("E01000001", 100.0, "Martian", 20.0)
    with pytest.raises(InputFileError, match="unknown category 'Martian'; expected one of asian, black") as err:
        pop.read_ethnicity(_long(tmp_path, rows))
    assert (err.value.row, err.value.column) == (4, "ethnic_group")


def test_repeated_group_and_varying_total(tmp_path: Path) -> None:
    rows = [("E01000001", 100.0, g, 20.0) for g in GROUPS] + [("E01000001", 100.0, "White", 1.0)]
    with pytest.raises(InputFileError, match="duplicate LSOA and ethnic_group code") as err:
        pop.read_ethnicity(_long(tmp_path, rows))
    assert err.value.row == 7
    rows = [("E01000001", 100.0, g, 20.0) for g in GROUPS]
    rows[4] = ("E01000001", 101.0, GROUPS[4], 20.0)
    with pytest.raises(InputFileError, match="expected one total_residents per LSOA") as err:
        pop.read_ethnicity(_long(tmp_path, rows))
    assert err.value.column == "total_residents"


def test_missing_group_counts_as_zero(tmp_path: Path) -> None:
    rows = [("E01000001", 80.0, g, 20.0) for g in GROUPS[:4]]
    frame, _, notes = pop.read_ethnicity(_long(tmp_path, rows))
    assert frame["share_other"].item() == 0.0
    assert "1 LSOAs lack some categories (counted as 0)" in notes


def test_missing_category_column_in_wide_layout(ethnicity_wide: Path) -> None:
    f = pd.read_csv(ethnicity_wide).drop(columns=["Ethnic group: White"])
    f.to_csv(ethnicity_wide, index=False)
    with pytest.raises(InputFileError, match="missing column\\(s\\) for white") as err:
        pop.read_ethnicity(ethnicity_wide)
    assert err.value.row == 1


def test_age_bands_refuses_to_undercount() -> None:
    single = pd.DataFrame([[1.0] * 91], columns=list(range(91)))
    with pytest.raises(ValueError, match="beyond the open-ended 90\\+"):
        pop.age_bands(single, 90, {"age_85_94": (85, 94)})
    assert pop.age_bands(single, 90, {"age_75_plus": (75, None)})["age_75_plus"].item() == 16
