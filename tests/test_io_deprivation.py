"""IoD readers: the real MHCLG/humaniverse/Leicester files, published layouts, and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.errors import InputFileError
from hiexplore.io import deprivation as dep
from hiexplore.io import geography, population
from hiexplore.io.registry import ReadResult

FILE1 = ("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
FILE2 = ("iod2019", "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz")
FILE6 = ("iod2019", "File_6_-_IoD2019_Population_Denominators.csv.gz")
IOD25 = ("iod2025", "humaniverse_imd2025_england_lsoa21.csv.gz")
IOD25_IND = ("iod2025", "humaniverse_imd2025_england_lsoa21_indicators.csv.gz")
LEICESTER = ("leicester_city_council", "deprivation-in-leicester-2025.xlsx")

ID_COLS = [
    "LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
    "Local Authority District name (2019)",
]
# the published MHCLG IoD2019 File 7 header (File 5 is its score columns)
DOMAIN_TEXT = {
    "imd": ("Index of Multiple Deprivation (IMD) Score", "Index of Multiple Deprivation (IMD)"),
    "income": ("Income Score (rate)", "Income"),
    "employment": ("Employment Score (rate)", "Employment"),
    "education": ("Education, Skills and Training Score", "Education, Skills and Training"),
    "health": ("Health Deprivation and Disability Score", "Health Deprivation and Disability"),
    "crime": ("Crime Score", "Crime"),
    "barriers": ("Barriers to Housing and Services Score", "Barriers to Housing and Services"),
    "living_environment": ("Living Environment Score", "Living Environment"),
    "idaci": (
        "Income Deprivation Affecting Children Index (IDACI) Score (rate)",
        "Income Deprivation Affecting Children Index (IDACI)",
    ),
    "idaopi": (
        "Income Deprivation Affecting Older People (IDAOPI) Score (rate)",
        "Income Deprivation Affecting Older People (IDAOPI)",
    ),
}
SUBDOMAINS = [
    "Children and Young People Sub-domain", "Adult Skills Sub-domain",
    "Geographical Barriers Sub-domain", "Wider Barriers Sub-domain", "Indoors Sub-domain",
    "Outdoors Sub-domain",
]
POP2019 = {
    "population_total": "Total population: mid 2015 (excluding prisoners)",
    "population_0_15": "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "population_16_59": "Population aged 16-59: mid 2015 (excluding prisoners)",
    "population_60_plus": "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "population_working_age": (
        "Working age population 18-59/64: for use with Employment Deprivation Domain "
        "(excluding prisoners) "
    ),
}


def _copy(src: Path, tmp_path: Path, name: str = "upload_7f3a") -> Path:
    """A copy under a meaningless name: readers must recognise content, not file names."""
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


@pytest.fixture(scope="module")
def file1() -> pd.DataFrame:
    return dep.read_iod2019(shared_path(*FILE1))


@pytest.fixture(scope="module")
def file2() -> pd.DataFrame:
    return dep.read_iod2019(shared_path(*FILE2))


@pytest.fixture(scope="module")
def iod25() -> list[ReadResult]:
    return dep.READERS[1].read(shared_path(*IOD25))


@pytest.fixture(scope="module")
def leicester() -> list[ReadResult]:
    return dep.READERS[0].read(shared_path(*LEICESTER))


# ---------------------------------------------------------------------------------------------
# real files


@pytest.mark.shared
def test_file1_ranks_with_thousands_separators(file1: pd.DataFrame) -> None:
    assert len(file1) == 32_844
    assert list(file1.columns) == ["lsoa_code", "edition", "imd_rank", "imd_decile"]
    assert file1["lsoa_code"].is_unique
    # "29,199" is the published first rank (City of London 001A)
    assert file1.loc[file1["lsoa_code"] == "E01000001", "imd_rank"].item() == 29_199
    assert file1["imd_rank"].min() == 1 and file1["imd_rank"].max() == 32_844
    # MHCLG ranks have a few published ties (26 pairs), so nearly but not exactly a permutation
    assert file1["imd_rank"].nunique() > 32_800
    assert sorted(file1["imd_decile"].unique()) == list(range(1, 11))
    assert (file1["edition"] == 2019).all()


@pytest.mark.shared
def test_file2_domains_agree_with_file1(file1: pd.DataFrame, file2: pd.DataFrame) -> None:
    assert len(file2) == 32_844
    for d in ("imd", "income", "employment", "education", "health", "crime", "barriers",
              "living_environment"):
        assert {f"{d}_rank", f"{d}_decile"} <= set(file2.columns)
        assert file2[f"{d}_decile"].between(1, 10).all()
    assert not any(c.endswith("_score") for c in file2.columns)
    both = file1.merge(file2, on="lsoa_code", suffixes=("_1", "_2"))
    assert len(both) == 32_844
    assert (both["imd_rank_1"] == both["imd_rank_2"]).all()
    assert (both["imd_decile_1"] == both["imd_decile_2"]).all()


@pytest.mark.shared
def test_file6_population_denominators() -> None:
    res = dep.READERS[1].read(shared_path(*FILE6))[0]
    f = res.frame
    assert len(f) == 32_844
    assert set(dep.POPULATION_COLUMNS) <= set(f.columns)
    assert f["population_total"].sum() > 50_000_000
    assert (f["population_total"] > 0).all()
    # the published total is children + 16-59 + 60 and over
    parts = f["population_0_15"] + f["population_16_59"] + f["population_60_plus"]
    assert np.allclose(parts, f["population_total"])
    assert res.meta == {"vintage": "2011", "edition": 2019,
                        "layout": "File 6: population denominators",
                        "population_period": "mid-2015"}


@pytest.mark.shared
def test_iod2025_humaniverse(iod25: list[ReadResult]) -> None:
    (res,) = iod25
    f = res.frame
    assert res.kind == "deprivation"
    assert len(f) == 33_755 and f["lsoa_code"].is_unique
    assert res.meta["vintage"] == "2021" and res.meta["edition"] == 2025
    assert sorted(f["imd_rank"]) == list(range(1, 33_756))
    assert sorted(f["imd_decile"].unique()) == list(range(1, 11))
    for d in ("imd", "income", "employment", "education", "health", "crime", "barriers",
              "living_environment"):
        assert {f"{d}_score", f"{d}_rank", f"{d}_decile"} <= set(f.columns)
    assert "idaci_score" not in f.columns  # the extract has no supplementary indices
    assert (f["imd_score"] >= 0).all() and (f["health_score"] < 0).any()
    assert res.source.publisher.startswith("Ministry of Housing")
    assert "humaniverse" in res.source.attribution
    assert len(res.source.sha256) == 64


@pytest.mark.shared
def test_iod2025_covers_llr(iod25: list[ReadResult]) -> None:
    lookup = geography.read_lookup(shared_path("lookups", "geographr_lookup_lsoa21_icb24.csv.gz"))[0][0]
    llr = set(lookup.loc[lookup["icb_code"] == "E54000015", "lsoa_code"])
    assert len(llr) == 634
    assert llr <= set(iod25[0].frame["lsoa_code"])


@pytest.mark.shared
def test_leicester_workbook_matches_national_iod2025(
    leicester: list[ReadResult], iod25: list[ReadResult]
) -> None:
    dep_res, bnd = leicester
    assert dep_res.kind == "deprivation" and bnd.kind == "boundaries"
    f = dep_res.frame.set_index("lsoa_code")
    assert len(f) == 200 and f.index.str.startswith("E01").all()
    assert {"idaci_score", "idaopi_decile", "population_total", "population_0_15"} <= set(f.columns)
    assert not any("sub" in c or "quintile" in c for c in f.columns)
    national = iod25[0].frame.set_index("lsoa_code").loc[f.index]
    for col in ("imd_score", "imd_rank", "imd_decile", "income_score", "barriers_rank",
                "living_environment_score"):
        assert np.allclose(f[col], national[col]), col
    assert dep_res.meta["edition"] == 2025 and dep_res.meta["vintage"] == "2021"
    g = bnd.frame
    assert len(g) == 200 and g.crs.to_epsg() == 4326
    assert g.is_valid.all() and (g["area_type"] == "lsoa").all()
    minx, miny, maxx, maxy = g.total_bounds
    assert -1.3 < minx < maxx < -1.0 and 52.5 < miny < maxy < 52.8  # Leicester
    assert bnd.meta["area_type"] == "lsoa" and bnd.meta["vintage"] == "2021"
    assert bnd.meta["repaired"] == 0


# ---------------------------------------------------------------------------------------------
# sniffing by content


@pytest.mark.shared
@pytest.mark.parametrize("parts", [FILE1, FILE2, FILE6, IOD25])
def test_iod_sniffer_recognises_renamed_files(parts: tuple[str, str], tmp_path: Path) -> None:
    p = _copy(shared_path(*parts), tmp_path)
    assert dep.sniff_iod(p)
    assert not dep.sniff_leicester(p)
    res = dep.READERS[1].read(p)
    assert res[0].source.file == "upload_7f3a"


@pytest.mark.shared
def test_leicester_sniffer_recognises_renamed_workbook(tmp_path: Path) -> None:
    p = _copy(shared_path(*LEICESTER), tmp_path)
    assert dep.sniff_leicester(p) and dep.sniff_iod(p)
    assert [r.kind for r in dep.READERS[0].read(p)] == ["deprivation", "boundaries"]


@pytest.mark.shared
@pytest.mark.parametrize(
    "parts",
    [
        ("lookups", "geographr_lookup_lsoa21_icb24.csv.gz"),
        ("lookups", "hoclib_lsoa_geog_lookup.csv.gz"),  # has IMD quintiles, not ranks
        ("lookups", "geographr_lookup_lsoa11_lsoa21_ltla22.csv.gz"),
        ("lookups", "LSOA11_WD21_LAD21_EW_LU_V2.xlsx"),
        ("population", "demographr_population20_lsoa11_syoa.csv.gz"),
        ("census2021", "demographr_ethnicity21_lsoa21.csv.gz"),
        ("boundaries", "geographr_ons_bsc", "llr_lsoa21_bsc.geojson"),
        ("leicester_city_council", "county-wards.xlsx"),
        ("fingertips_gp", "fingertips_93553_gp_imd_score_fingertipsR.csv"),
        IOD25_IND,
    ],
)
def test_iod_sniffers_reject_other_files(parts: tuple[str, ...], tmp_path: Path) -> None:
    p = _copy(shared_path(*parts), tmp_path)
    assert not dep.sniff_iod(p)
    assert not dep.sniff_leicester(p)


def test_sniffers_never_raise(tmp_path: Path) -> None:
    for content in (b"", b"\x00\x01\x02binary", b"PK\x03\x04 not a zip", b"\x1f\x8b broken gzip"):
        p = tmp_path / "x"
        p.write_bytes(content)
        for reader in dep.READERS:
            assert reader.sniff(p) is False
    assert dep.sniff_iod(tmp_path / "does-not-exist") is False


# ---------------------------------------------------------------------------------------------
# published layouts not in the shared data, generated from File 2's frame


def _file7(file2: pd.DataFrame, n: int = 300, *, scores_only: bool = False) -> pd.DataFrame:
    """An IoD2019 File 7 (or File 5) in the published MHCLG layout, from File 2's ranks."""
    base = file2.head(n).reset_index(drop=True)
    rng = np.random.default_rng(7)
    cols: dict[str, object] = {
        ID_COLS[0]: base["lsoa_code"], ID_COLS[1]: "Somewhere 001A",
        ID_COLS[2]: "E06000016", ID_COLS[3]: "Leicester",
    }
    for d, (score, stem) in DOMAIN_TEXT.items():
        cols[score] = np.round(rng.uniform(0, 1, n), 3) if "rate" in score else np.round(rng.normal(0, 1, n), 3)
        if d == "imd":
            cols[score] = np.round(rng.uniform(1, 80, n), 3)
        if scores_only:
            continue
        rank = base.get(f"{d}_rank", pd.Series(rng.integers(1, 32_845, n)))
        decile = base.get(f"{d}_decile", pd.Series(rng.integers(1, 11, n)))
        cols[f"{stem} Rank (where 1 is most deprived)"] = rank.astype(int)
        cols[f"{stem} Decile (where 1 is most deprived 10% of LSOAs)"] = decile.astype(int)
    for sub in SUBDOMAINS:
        cols[f"{sub} Score"] = np.round(rng.normal(0, 1, n), 3)
        if not scores_only:
            cols[f"{sub} Rank (where 1 is most deprived)"] = rng.integers(1, 32_845, n)
            cols[f"{sub} Decile (where 1 is most deprived 10% of LSOAs)"] = rng.integers(1, 11, n)
    if not scores_only:
        for text in POP2019.values():
            cols[text] = rng.integers(100, 3000, n)
    return pd.DataFrame(cols)


@pytest.mark.shared
def test_file7_published_layout(file2: pd.DataFrame, tmp_path: Path) -> None:
    src = _file7(file2)
    p = tmp_path / "f7"
    src.to_csv(p, index=False)
    assert dep.sniff_iod(p)
    (res,) = dep.READERS[1].read(p)
    f = res.frame
    expected = {f"{d}_{m}" for d in dep.DOMAINS for m in dep.MEASURES} | set(dep.POPULATION_COLUMNS)
    assert expected <= set(f.columns)
    assert not any("sub" in c for c in f.columns)
    assert res.meta["layout"].startswith("File 7") and res.meta["edition"] == 2019
    for d, (score, stem) in DOMAIN_TEXT.items():
        assert np.allclose(f[f"{d}_score"], src[score]), d
        assert (f[f"{d}_rank"] == src[f"{stem} Rank (where 1 is most deprived)"]).all()
    assert (f["imd_rank"].to_numpy() == file2["imd_rank"].head(300).to_numpy()).all()
    assert (f["population_working_age"] == src[POP2019["population_working_age"]]).all()


@pytest.mark.shared
def test_file5_scores_only(file2: pd.DataFrame, tmp_path: Path) -> None:
    p = tmp_path / "f5"
    _file7(file2, scores_only=True).to_csv(p, index=False)
    (res,) = dep.READERS[1].read(p)
    assert res.meta["layout"] == "File 5: scores"
    assert {f"{d}_score" for d in dep.DOMAINS} == {c for c in res.frame.columns if c.endswith("_score")}
    assert not any(c.endswith(("_rank", "_decile")) for c in res.frame.columns)


@pytest.mark.shared
def test_iod2025_published_layout(iod25: list[ReadResult], tmp_path: Path) -> None:
    f = iod25[0].frame.head(50)
    src = pd.DataFrame(
        {
            "LSOA code (2021)": f["lsoa_code"],
            "LSOA name (2021)": "x",
            "Local Authority District code (2024)": "E06000016",
            "Local Authority District name (2024)": "Leicester",
            "Index of Multiple Deprivation (IMD) Score": f["imd_score"],
            "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)": f["imd_rank"].astype(int),
            "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)": f["imd_decile"].astype(int),
            "Income Score (rate)": f["income_score"],
            "Total population: mid 2022": 1500,
            "Working age population 18-66 (for use with Employment Deprivation Domain): mid 2022": 900,
        }
    )
    p = tmp_path / "iod2025"
    src.to_csv(p, index=False)
    (res,) = dep.READERS[1].read(p)
    assert res.meta["edition"] == 2025 and res.meta["vintage"] == "2021"
    assert res.meta["population_period"] == "mid-2022"
    assert np.allclose(res.frame["imd_score"], f["imd_score"])
    assert (res.frame["population_working_age"] == 900).all()
    with pytest.raises(InputFileError, match="expected IoD2019, found IoD2025"):
        dep.read_iod2019(p)


@pytest.mark.shared
def test_published_workbook_with_title_rows(file1: pd.DataFrame, tmp_path: Path) -> None:
    """A workbook like MHCLG's: a Notes sheet first, the data sheet with rows above its header."""
    head = file1.head(40)
    data = pd.DataFrame(
        {
            ID_COLS[0]: head["lsoa_code"], ID_COLS[1]: "n", ID_COLS[2]: "E09000001", ID_COLS[3]: "x",
            "Index of Multiple Deprivation (IMD) Rank": head["imd_rank"].astype(int),
            "Index of Multiple Deprivation (IMD) Decile": head["imd_decile"].astype(int),
        }
    )
    p = tmp_path / "workbook"
    with pd.ExcelWriter(p, engine="openpyxl") as xw:
        pd.DataFrame({"Notes": ["English Indices of Deprivation 2019", "File 1"]}).to_excel(
            xw, sheet_name="Notes", index=False
        )
        data.to_excel(xw, sheet_name="IMD2019", index=False, startrow=2)
    assert dep.sniff_iod(p)
    (res,) = dep.READERS[1].read(p)
    assert "IMD2019" in res.source.title
    assert (res.frame["imd_rank"].to_numpy() == head["imd_rank"].to_numpy()).all()
    # an error in a workbook names the sheet and the spreadsheet row (header on row 3)
    data = data.astype({"Index of Multiple Deprivation (IMD) Decile": object})
    data.loc[4, "Index of Multiple Deprivation (IMD) Decile"] = "ten"
    with pd.ExcelWriter(p, engine="openpyxl") as xw:
        data.to_excel(xw, sheet_name="IMD2019", index=False, startrow=2)
    with pytest.raises(InputFileError) as err:
        dep.read_iod2019(p)
    assert err.value.sheet == "IMD2019" and err.value.row == 8
    assert err.value.column == "Index of Multiple Deprivation (IMD) Decile"


# ---------------------------------------------------------------------------------------------
# bad input: the error names file, row and column and says what was expected

HEADER = ",".join(ID_COLS) + ",Index of Multiple Deprivation (IMD) Rank,Index of Multiple Deprivation (IMD) Decile"


def _write(tmp_path: Path, rows: list[str], name: str = "bad.csv", header: str = HEADER) -> Path:
    p = tmp_path / name
    p.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return p


GOOD = [
    'E01000001,City of London 001A,E09000001,City of London,"29,199",9',
    'E01000002,City of London 001B,E09000001,City of London,"30,379",10',
    "E01000003,City of London 001C,E09000001,City of London,14915,5",
]


def test_good_fixture_reads(tmp_path: Path) -> None:
    f = dep.read_iod2019(_write(tmp_path, GOOD))
    assert f["imd_rank"].tolist() == [29_199, 30_379, 14_915]
    assert f["lsoa_code"].tolist() == ["E01000001", "E01000002", "E01000003"]


def test_non_numeric_rank(tmp_path: Path) -> None:
    rows = [*GOOD[:2], "E01000003,City of London 001C,E09000001,City of London,14x15,5"]
    with pytest.raises(InputFileError, match=r"expected a number, found '14x15'") as err:
        dep.read_iod2019(_write(tmp_path, rows))
    assert err.value.row == 4
    assert err.value.column == "Index of Multiple Deprivation (IMD) Rank"
    assert "bad.csv" in str(err.value)


def test_decile_out_of_range(tmp_path: Path) -> None:
    rows = [*GOOD[:2], "E01000003,City of London 001C,E09000001,City of London,14915,11"]
    with pytest.raises(InputFileError, match="expected a whole decile from 1 to 10, found '11'") as err:
        dep.read_iod2019(_write(tmp_path, rows))
    assert (err.value.row, err.value.column) == (4, "Index of Multiple Deprivation (IMD) Decile")


def test_rank_beyond_the_editions_lsoas(tmp_path: Path) -> None:
    rows = [*GOOD[:2], 'E01000003,City of London 001C,E09000001,City of London,"40,000",5']
    with pytest.raises(InputFileError, match=r"expected a whole rank from 1 to 32,844 \(IoD2019"):
        dep.read_iod2019(_write(tmp_path, rows))


def test_duplicate_lsoa(tmp_path: Path) -> None:
    rows = [*GOOD, "E01000002,City of London 001B,E09000001,City of London,30379,10"]
    with pytest.raises(InputFileError, match="duplicate LSOA code 'E01000002' \\(first on row 3\\)") as err:
        dep.read_iod2019(_write(tmp_path, rows))
    assert (err.value.row, err.value.column) == (5, "LSOA code (2011)")


def test_bad_lsoa_code(tmp_path: Path) -> None:
    rows = [*GOOD[:1], "E0100000X,City of London 001B,E09000001,City of London,30379,10"]
    with pytest.raises(InputFileError, match="expected an LSOA code like E01000001, found 'E0100000X'") as err:
        dep.read_iod2019(_write(tmp_path, rows))
    assert (err.value.row, err.value.column) == (3, "LSOA code (2011)")


def test_truncated_csv_last_row(tmp_path: Path) -> None:
    p = tmp_path / "cut.csv"
    p.write_text("\n".join([HEADER, *GOOD[:2], "E01000003,City of London 001C,E09000001,Cit"]), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"found a blank \(is the file truncated\?\)") as err:
        dep.read_iod2019(p)
    assert err.value.row == 4 and err.value.column == "Index of Multiple Deprivation (IMD) Rank"


def test_truncated_inside_a_quote(tmp_path: Path) -> None:
    p = tmp_path / "cut.csv"
    p.write_text("\n".join([HEADER, *GOOD[:2], 'E01000003,City of London 001C,E09000001,City of London,"14,9']), encoding="utf-8")
    with pytest.raises(InputFileError, match="unclosed quote") as err:
        dep.read_iod2019(p)
    assert err.value.row == 4


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    rows = [*GOOD[:2], "E01000003,City of London 001C,E09000001,City of London,14915,5,extra"]
    with pytest.raises(InputFileError, match="not a well-formed CSV: Expected 6 fields in line 4, saw 7") as err:
        dep.read_iod2019(_write(tmp_path, rows))
    assert err.value.row == 4


@pytest.mark.shared
def test_truncated_gzip(tmp_path: Path) -> None:
    raw = shared_path(*FILE1).read_bytes()
    p = tmp_path / "cut.gz"
    p.write_bytes(raw[: len(raw) // 2])
    assert dep.sniff_iod(p)  # the head is still readable ...
    with pytest.raises(InputFileError, match="compressed file is truncated or damaged"):
        dep.READERS[1].read(p)  # ... but reading it all is not


def test_wrong_header(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD, header=HEADER.replace("LSOA code (2011)", "Area"))
    assert not dep.sniff_iod(p)
    with pytest.raises(InputFileError, match="no header row found in the first 20 rows") as err:
        dep.read_iod2019(p)
    assert err.value.row == 1
    assert "the best match, row 1, is missing an LSOA code column such as 'LSOA code (2011)'" in str(err.value)


def test_header_without_measures_is_not_iod(tmp_path: Path) -> None:
    p = _write(tmp_path, ["E01000001,x,E09000001,y"], header=",".join(ID_COLS))
    assert not dep.sniff_iod(p)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(InputFileError, match="the file is empty"):
        dep.read_deprivation(p)


def test_cp1252_bytes_in_a_utf8_file_still_read(tmp_path: Path) -> None:
    rows = [*GOOD[:2], "W01000001,Ynys M\xf4n 001A,W06000001,Ynys M\xf4n,14915,5"]
    p = tmp_path / "mixed.csv"
    p.write_bytes(("\n".join([HEADER, *rows[:2]]) + "\n").encode("utf-8") + (rows[2] + "\n").encode("cp1252"))
    (res,) = dep.READERS[1].read(p)
    assert len(res.frame) == 3
    assert any("not valid UTF-8" in n and "Windows-1252" in n and "line 4" in n for n in res.notes)


def test_zipped_and_semicolon_csv(tmp_path: Path) -> None:
    import zipfile

    z = tmp_path / "download"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("File_1.csv", "\n".join([HEADER, *GOOD]) + "\n")
    assert dep.sniff_iod(z)
    assert dep.read_iod2019(z)["imd_rank"].tolist() == [29_199, 30_379, 14_915]
    semi = tmp_path / "semi.csv"
    semi.write_text("\n".join(line.replace(",", ";") for line in [HEADER, *GOOD[2:]]) + "\n")
    assert dep.read_iod2019(semi)["imd_rank"].tolist() == [14_915]


def test_utf16_file_reads(tmp_path: Path) -> None:
    p = tmp_path / "u16.csv"
    p.write_bytes(("\n".join([HEADER, *GOOD]) + "\n").encode("utf-16"))
    assert dep.sniff_iod(p)
    assert len(dep.read_iod2019(p)) == 3


def test_iod2025_reader_rejects_2019(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="expected IoD2025, found IoD2019"):
        dep.read_iod2025(_write(tmp_path, GOOD))


def test_tidy_names_assume_edition_from_geography(tmp_path: Path) -> None:
    p = tmp_path / "tidy.csv"
    p.write_text("lsoa21_code,IMD_decile,IMD_rank,IMD_score\nE01035000,3,4000,30.5\n", encoding="utf-8")
    (res,) = dep.READERS[1].read(p)
    assert res.meta["edition"] == 2025 and res.meta["vintage"] == "2021"
    assert any("assumed" in n for n in res.notes)


def test_population_module_is_not_claiming_iod(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD)
    assert not any(r.sniff(p) for r in population.READERS)
    assert not any(r.sniff(p) for r in geography.READERS)
