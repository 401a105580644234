"""Geography readers: ONS boundaries, LSOA lookups, the 2011->2021 crosswalk and ward lookups."""

from __future__ import annotations

import re
import shutil
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from conftest import shared_path
from hiexplore.errors import InputFileError
from hiexplore.io import deprivation, population
from hiexplore.io import geography as geo
from hiexplore.io.registry import ReadResult

LLR_LADS = [
    "E06000016", "E06000017", "E07000129", "E07000130", "E07000131", "E07000132", "E07000133",
    "E07000134", "E07000135",
]
BSC = ("boundaries", "geographr_ons_bsc")
MARTINJC = ("boundaries", "ons_2011_bgc_martinjc")
LOOKUPS = "lookups"
WARD_LU = "Ward_to_Local_Authority_District_to_County_to_Region_to_Country_(December_2022)_Lookup_in_United_Kingdom.csv"


def _copy(src: Path, tmp_path: Path, name: str = "upload_b41c") -> Path:
    """A copy under a meaningless name (no extension): recognition must be by content."""
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def _read(reader_kind: str, path: Path) -> list[ReadResult]:
    reader = next(r for r in geo.READERS if r.kind == reader_kind)
    return reader.read(path)


# ---------------------------------------------------------------------------------------------
# boundaries


@pytest.mark.shared
def test_martinjc_lsoa11_llr_with_four_repairs() -> None:
    frames, repaired, notes = [], 0, []
    for lad in LLR_LADS:
        (res,) = _read("boundaries", shared_path(*MARTINJC, "lsoa11_by_lad", f"{lad}.json"))
        assert res.meta["area_type"] == "lsoa" and res.meta["vintage"] == "2011"
        assert res.meta["generalisation"] == "BGC"  # guessed from vertex spacing
        frames.append(res.frame)
        repaired += res.meta["repaired"]
        notes += res.notes
    allf = pd.concat(frames, ignore_index=True)
    assert len(allf) == 611 and allf["area_code"].is_unique
    assert repaired == 4
    assert any(n.startswith("repaired 2 invalid polygons with make_valid") for n in notes)
    assert shapely.is_valid(allf.geometry.to_numpy()).all()
    assert set(shapely.get_type_id(allf.geometry.to_numpy())) <= {3, 6}  # polygonal only
    # the LSOA 2011 set is IoD2019's LLR set
    iod = deprivation.read_iod2019(shared_path("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"))
    assert set(allf["area_code"]) <= set(iod["lsoa_code"])


@pytest.mark.shared
def test_martinjc_msoa11_and_wards13() -> None:
    msoa = [_read("boundaries", shared_path(*MARTINJC, "msoa11_by_lad", f"{lad}.json"))[0] for lad in LLR_LADS]
    assert sum(len(r.frame) for r in msoa) == 125
    assert sum(r.meta["repaired"] for r in msoa) == 2
    wards = [_read("boundaries", shared_path(*MARTINJC, "wards13_by_lad", f"{lad}.json"))[0] for lad in LLR_LADS]
    assert sum(len(r.frame) for r in wards) == 171
    w = wards[0]
    assert w.meta["area_type"] == "ward" and w.meta["vintage"] == "2013"
    assert w.frame["area_name"].notna().all()  # WD13NM, not the Welsh-name field


@pytest.mark.shared
def test_llr_lsoa21_bsc_geojson() -> None:
    (res,) = _read("boundaries", shared_path(*BSC, "llr_lsoa21_bsc.geojson"))
    g = res.frame
    assert len(g) == 634 and g.crs.to_epsg() == 4326
    assert list(g.columns) == ["area_code", "area_name", "area_type", "geometry"]
    assert res.meta == {"area_type": "lsoa", "vintage": "2021", "generalisation": "BSC", "repaired": 0,
                        "code_field": "lsoa21_code"}
    assert g["area_name"].str.match(r"^.+ \d{3}[A-Z]$").all()
    assert "Contains OS data" in res.source.attribution


@pytest.mark.shared
def test_national_lsoa21_gpkg_is_fast() -> None:
    t0 = time.perf_counter()
    (res,) = _read("boundaries", shared_path(*BSC, "boundaries_lsoa21.gpkg"))
    elapsed = time.perf_counter() - t0
    assert len(res.frame) == 35_672
    assert res.frame["area_code"].str[:3].isin(["E01", "W01"]).all()
    assert res.meta["vintage"] == "2021" and res.meta["area_type"] == "lsoa"
    assert elapsed < 5, f"reading 35,672 LSOAs took {elapsed:.1f} s"


@pytest.mark.shared
def test_zipped_gpkg_lsoa11(tmp_path: Path) -> None:
    p = _copy(shared_path(*BSC, "boundaries_lsoa11.gpkg.zip"), tmp_path)
    assert geo.sniff_boundaries(p)
    (res,) = _read("boundaries", p)
    assert len(res.frame) == 34_753
    assert res.meta["vintage"] == "2011"
    assert shapely.is_valid(res.frame.geometry.to_numpy()).all()


@pytest.mark.shared
def test_lad22_buc_is_reprojected_from_bng() -> None:
    (res,) = _read("boundaries", shared_path("boundaries", "ons_lad22_buc", "lad22_buc.geojson"))
    g = res.frame
    assert len(g) == 374 and g.crs.to_epsg() == 4326
    assert res.meta["area_type"] == "lad" and res.meta["vintage"] == "2022"
    assert res.meta["generalisation"] == "BUC"
    assert "reprojected from EPSG:27700 to EPSG:4326" in res.notes
    leic = g[g["area_code"] == "E06000016"].geometry.iloc[0].centroid
    assert abs(leic.x + 1.13) < 0.05 and abs(leic.y - 52.64) < 0.05


@pytest.mark.shared
def test_wards22_split_ward_is_merged() -> None:
    (res,) = _read("boundaries", shared_path(*BSC, "boundaries_wards22.gpkg"))
    assert len(res.frame) == 8_482 and res.frame["area_code"].is_unique
    assert any("E05014284" in n and n.startswith("merged 2 features") for n in res.notes)


@pytest.mark.shared
@pytest.mark.parametrize(
    "parts, area_type",
    [
        ((*BSC, "llr_msoa21_bsc.geojson"), "msoa"),
        ((*BSC, "llr_wards22_bsc.geojson"), "ward"),
        ((*BSC, "boundaries_ltla24.gpkg"), "lad"),
        ((*MARTINJC, "lsoa11_by_lad", "E06000017.json"), "lsoa"),
    ],
)
def test_boundary_sniffer_recognises_renamed_files(parts: tuple[str, ...], area_type: str, tmp_path: Path) -> None:
    p = _copy(shared_path(*parts), tmp_path)
    assert geo.sniff_boundaries(p)
    assert not geo.sniff_lookup(p) and not geo.sniff_crosswalk(p) and not geo.sniff_ward_lookup(p)
    (res,) = _read("boundaries", p)
    assert res.meta["area_type"] == area_type


@pytest.mark.shared
def test_zipped_shapefile_in_bng(tmp_path: Path) -> None:
    g = gpd.read_file(shared_path(*BSC, "llr_msoa21_bsc.geojson")).to_crs(27700)
    shp = tmp_path / "shp"
    shp.mkdir()
    g.rename(columns={"msoa21_code": "MSOA21CD", "msoa21_name": "MSOA21NM"}).to_file(shp / "MSOA_2021_EW_BGC.shp")
    z = tmp_path / "download"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    assert geo.sniff_boundaries(z)
    (res,) = _read("boundaries", z)
    assert len(res.frame) == 127 and res.frame.crs.to_epsg() == 4326
    assert res.meta["vintage"] == "2021" and res.meta["generalisation"] == "BGC"  # named in the member
    assert any(n.startswith("reprojected from EPSG:27700") for n in res.notes)
    # without its .prj the CRS is unknown: a clear error rather than a guess
    z2 = tmp_path / "noprj"
    with zipfile.ZipFile(z2, "w") as zf:
        for f in shp.iterdir():
            if f.suffix != ".prj":
                zf.write(f, f.name)
    with pytest.raises(InputFileError, match=r"no coordinate reference system \(a shapefile needs its \.prj"):
        geo.read_boundaries(z2)


def test_boundaries_bad_input(tmp_path: Path) -> None:
    def write(features: list[dict]) -> Path:
        p = tmp_path / "b.geojson"
        gpd.GeoDataFrame.from_features(features, crs=4326).to_file(p, driver="GeoJSON")
        return p

    # in Leicester: boundaries elsewhere are refused (test_boundaries_outside_england)
    square = {"type": "Polygon", "coordinates": [[[-1.2, 52.6], [-1.1, 52.6], [-1.1, 52.7], [-1.2, 52.7], [-1.2, 52.6]]]}
    bowtie = {"type": "Polygon", "coordinates": [[[-1.2, 52.6], [-1.1, 52.7], [-1.1, 52.6], [-1.2, 52.7], [-1.2, 52.6]]]}
    ok = write([
        {"type": "Feature", "properties": {"LSOA21CD": "E01000001", "LSOA21NM": "A 001A"}, "geometry": square},
        {"type": "Feature", "properties": {"LSOA21CD": "E01000002", "LSOA21NM": "A 001B"}, "geometry": bowtie},
    ])
    gdf, meta, notes = geo.read_boundaries(ok)
    assert meta["repaired"] == 1 and gdf.is_valid.all()
    assert gdf.geometry.iloc[1].geom_type == "MultiPolygon"  # the bow tie's two triangles
    assert "repaired 1 invalid polygons with make_valid (E01000002)" in notes

    bad = write([
        {"type": "Feature", "properties": {"LSOA21CD": "E01000001"}, "geometry": square},
        {"type": "Feature", "properties": {"LSOA21CD": "X99"}, "geometry": square},
    ])
    with pytest.raises(InputFileError, match="expected an LSOA code, found 'X99'") as err:
        geo.read_boundaries(bad)
    assert (err.value.row, err.value.column) == (2, "LSOA21CD")

    point = write([{"type": "Feature", "properties": {"LSOA21CD": "E01000001"},
                    "geometry": {"type": "Point", "coordinates": [0, 0]}}])
    assert not geo.sniff_boundaries(point)
    with pytest.raises(InputFileError, match="not a boundary file"):
        geo.read_boundaries(point)

    nocode = write([{"type": "Feature", "properties": {"name": "x"}, "geometry": square}])
    assert not geo.sniff_boundaries(nocode)


def test_boundary_sniffer_never_raises(tmp_path: Path) -> None:
    for content in (b"", b"{not json", b"SQLite format 3\x00garbage", b"PK\x03\x04junk", b"\x1f\x8bxx"):
        p = tmp_path / "x"
        p.write_bytes(content)
        assert geo.sniff_boundaries(p) is False


# ---------------------------------------------------------------------------------------------
# lookups


@pytest.fixture(scope="module")
def icb24() -> ReadResult:
    return _read("lookup", shared_path(LOOKUPS, "geographr_lookup_lsoa21_icb24.csv.gz"))[0]


@pytest.fixture(scope="module")
def llr_lsoa21() -> set[str]:
    g, _, _ = geo.read_boundaries(shared_path(*BSC, "llr_lsoa21_bsc.geojson"))
    return set(g["area_code"])


@pytest.mark.shared
def test_icb_lookup_maps_llr_to_e54000015(icb24: ReadResult, llr_lsoa21: set[str]) -> None:
    f = icb24.frame
    assert len(f) == 33_755 and icb24.meta["vintage"] == "2021"
    assert icb24.meta["parent_vintages"] == {"sub_icb": "2024", "icb": "2024"}
    llr = f[f["lsoa_code"].isin(llr_lsoa21)]
    assert len(llr) == 634
    assert (llr["icb_code"] == "E54000015").all() and (llr["icb_code_nhs"] == "QK1").all()
    assert llr["sub_icb_code_nhs"].value_counts().to_dict() == {"04V": 234, "03W": 200, "04C": 200}
    assert f["sub_icb_code"].str.startswith("E38").all() and f["icb_code"].str.startswith("E54").all()
    assert {"lsoa_name", "sub_icb_name", "icb_name"} <= set(f.columns)


@pytest.mark.shared
def test_ward24_lookup(llr_lsoa21: set[str]) -> None:
    (res,) = _read("lookup", shared_path(LOOKUPS, "geographr_lookup_lsoa21_ward24_ltla24.csv.gz"))
    f = res.frame
    assert len(f) == 35_672 and res.meta["vintage"] == "2021"
    assert list(f.columns) == ["lsoa_code", "lsoa_name", "ward_code", "ward_name", "lad_code", "lad_name"]
    assert set(f.loc[f["lad_code"].isin(LLR_LADS), "lsoa_code"]) == llr_lsoa21
    assert res.meta["parent_vintages"] == {"ward": "2024", "lad": "2024"}


@pytest.mark.shared
def test_lsoa11_msoa11_drops_scottish_zones() -> None:
    (res,) = _read("lookup", shared_path(LOOKUPS, "geographr_lookup_lsoa11_msoa11.csv.gz"))
    f = res.frame
    assert len(f) == 34_753  # 32,844 English + 1,909 Welsh
    assert f["lsoa_code"].str[:3].isin(["E01", "W01"]).all()
    assert "dropped 6,976 rows for Scottish data zones / NI areas (not LSOAs)" in res.notes
    assert res.meta["vintage"] == "2011"


@pytest.mark.shared
def test_hoclib_lookup_infers_vintage() -> None:
    (res,) = _read("lookup", shared_path(LOOKUPS, "hoclib_lsoa_geog_lookup.csv.gz"))
    assert len(res.frame) == 34_753
    assert list(res.frame.columns) == ["lsoa_code", "msoa_code", "lad_code", "lad_name", "region_name"]
    assert res.meta["vintage"] == "2011"
    assert any("inferred from the codes" in n for n in res.notes)


@pytest.mark.shared
def test_lsoa11_ward21_workbook() -> None:
    (res,) = _read("lookup", shared_path(LOOKUPS, "LSOA11_WD21_LAD21_EW_LU_V2.xlsx"))
    assert len(res.frame) == 34_753 and res.meta["vintage"] == "2011"
    assert "sheet LSOA11_WD21_LAD21_EW_LU" in res.source.title
    llr = res.frame[res.frame["lad_code"].isin(LLR_LADS)]
    assert len(llr) == 611


@pytest.mark.shared
def test_crosswalk_counts() -> None:
    (res,) = _read("lsoa_crosswalk", shared_path(LOOKUPS, "geographr_lookup_lsoa11_lsoa21_ltla22.csv.gz"))
    f = res.frame
    assert list(f.columns) == ["lsoa11_code", "lsoa21_code", "change_code", "lad_code"]
    assert len(f) == 35_795
    assert f["lsoa11_code"].nunique() == 34_753 and f["lsoa21_code"].nunique() == 35_672
    assert f["change_code"].value_counts().to_dict() == {"U": 33_647, "S": 1_900, "M": 239, "X": 9}
    assert "change codes: M 239, S 1,900, U 33,647, X 9" in res.notes


@pytest.mark.shared
def test_ward_lookup_dec2022() -> None:
    (res,) = _read("ward_lookup", shared_path(LOOKUPS, WARD_LU))
    f = res.frame
    assert len(f) == 8_483 and res.meta["vintage"] == "2022"
    assert {"ward_code", "ward_name", "lad_code", "lad_name", "region_code", "region_name"} <= set(f.columns)
    assert (f["ward_code"] == "E05014284").sum() == 2  # split between Ryedale and Scarborough
    leic = f[f["lad_code"] == "E06000016"]
    assert len(leic) == 21 and (leic["region_code"] == "E12000004").all()
    assert f["ward_code"].iloc[0] == "E05001263"  # the BOM did not stick to the header


@pytest.mark.shared
@pytest.mark.parametrize(
    "name, kind",
    [
        ("geographr_lookup_lsoa21_icb24.csv.gz", "lookup"),
        ("geographr_lookup_lsoa21_ward24_ltla24.csv.gz", "lookup"),
        ("geographr_lookup_lsoa11_msoa11.csv.gz", "lookup"),
        ("hoclib_lsoa_geog_lookup.csv.gz", "lookup"),
        ("LSOA11_WD21_LAD21_EW_LU_V2.xlsx", "lookup"),
        ("geographr_lookup_lsoa11_lsoa21_ltla22.csv.gz", "lsoa_crosswalk"),
        (WARD_LU, "ward_lookup"),
    ],
)
def test_lookup_sniffers_by_content(name: str, kind: str, tmp_path: Path) -> None:
    p = _copy(shared_path(LOOKUPS, name), tmp_path)
    claimed = [r.kind for r in geo.READERS if r.sniff(p)]
    assert claimed == [kind]
    assert not any(r.sniff(p) for r in deprivation.READERS + population.READERS)


@pytest.mark.shared
@pytest.mark.parametrize(
    "parts",
    [
        ("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
        ("iod2025", "humaniverse_imd2025_england_lsoa21.csv.gz"),
        ("population", "demographr_population20_lsoa11_syoa.csv.gz"),
        ("census2021", "demographr_household_deprivation21_lsoa21.csv.gz"),
        ("leicester_city_council", "deprivation-in-leicester-2025.xlsx"),
        ("lookups", "Rural_Urban_Classification_2011_lookup_tables_for_small_area_geographies.ods"),
    ],
)
def test_lookup_sniffers_reject_other_kinds(parts: tuple[str, ...], tmp_path: Path) -> None:
    p = _copy(shared_path(*parts), tmp_path)
    assert not geo.sniff_lookup(p) and not geo.sniff_crosswalk(p) and not geo.sniff_ward_lookup(p)
    assert not geo.sniff_boundaries(p)


@pytest.mark.shared
def test_msoa21_from_names(llr_lsoa21: set[str]) -> None:
    lsoa, _, _ = geo.read_boundaries(shared_path(*BSC, "llr_lsoa21_bsc.geojson"))
    msoa, _, _ = geo.read_boundaries(shared_path(*BSC, "llr_msoa21_bsc.geojson"))
    out = geo.msoa21_from_names(lsoa, msoa)
    assert list(out.columns) == ["lsoa_code", "msoa_code", "msoa_name"]
    assert len(out) == 634 and out["msoa_code"].notna().all()
    assert out["msoa_code"].nunique() == 127
    assert out.loc[out["lsoa_code"] == "E01013606", "msoa_name"].item() == "Leicester 008"
    # it agrees with the MSOA codes Leicester City Council publishes for its 200 LSOAs
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(shared_path("leicester_city_council", "deprivation-in-leicester-2025.xlsx"))).get_sheet_by_name("Feuil1").to_python()
    header = [str(c).replace("\ufeff", "") for c in rows[0]]
    leic = pd.DataFrame(rows[1:], columns=header).set_index("LSOA code")["MSOA Code"]
    ours = out.set_index("lsoa_code").loc[leic.index, "msoa_code"]
    assert (ours.to_numpy() == leic.to_numpy()).all()
    # a lookup frame works too, and unmatched names give NA rather than a wrong code
    lk = pd.DataFrame({"lsoa_code": ["E01000001", "E01999999"], "lsoa_name": ["Leicester 008A", "Nowhere 001A"]})
    res = geo.msoa21_from_names(lk, msoa)
    assert res["msoa_code"].iloc[0] == "E02002834" and pd.isna(res["msoa_code"].iloc[1])
    with pytest.raises(ValueError, match="expected columns msoa_code/msoa_name or area_code/area_name"):
        geo.msoa21_from_names(lk, pd.DataFrame({"x": [1]}))


# ---------------------------------------------------------------------------------------------
# lookups: bad input

LU_HEADER = "LSOA21CD,LSOA21NM,WD24CD,WD24NM,LAD24CD,LAD24NM"
LU_ROWS = [
    "E01013606,Leicester 008A,E05010458,Abbey,E06000016,Leicester",
    "E01013611,Leicester 034D,E05010459,Aylestone,E06000016,Leicester",
]


def _lu(tmp_path: Path, rows: list[str], header: str = LU_HEADER) -> Path:
    p = tmp_path / "lu.csv"
    p.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return p


def test_ons_lookup_names(tmp_path: Path) -> None:
    frame, meta, notes, sheet = geo.read_lookup(_lu(tmp_path, LU_ROWS))[0]
    assert list(frame.columns) == ["lsoa_code", "lsoa_name", "ward_code", "ward_name", "lad_code", "lad_name"]
    assert meta["vintage"] == "2021" and meta["parent_vintages"] == {"ward": "2024", "lad": "2024"}
    assert sheet is None and notes == []


def test_lookup_duplicate_lsoa(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="duplicate LSOA code 'E01013606' \\(first on row 2\\)") as err:
        geo.read_lookup(_lu(tmp_path, [*LU_ROWS, LU_ROWS[0]]))
    assert (err.value.row, err.value.column) == (4, "LSOA21CD")


def test_lookup_bad_code_and_truncation(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="expected an LSOA code like E01000001, found 'Leicester'") as err:
        geo.read_lookup(_lu(tmp_path, [*LU_ROWS, "Leicester,E01013612,E05010459,x,E06000016,L"]))
    assert (err.value.row, err.value.column) == (4, "LSOA21CD")
    p = tmp_path / "cut.csv"
    p.write_text(LU_HEADER + "\n" + LU_ROWS[0] + '\nE01013611,"Leicester 03', encoding="utf-8")
    with pytest.raises(InputFileError, match="unclosed quote"):
        geo.read_lookup(p)


def test_lookup_missing_column(tmp_path: Path) -> None:
    """Without an LSOA column it is not a lookup at all: the error says what was looked for."""
    p = _lu(tmp_path, LU_ROWS, header=LU_HEADER.replace("LSOA21CD", "AREA"))
    assert not geo.sniff_lookup(p)
    with pytest.raises(InputFileError, match="no header row found") as err:
        geo.read_lookup(p)
    assert "is missing an LSOA code column such as 'LSOA21CD' or 'lsoa21_code'" in str(err.value)
    assert err.value.row == 1


def test_crosswalk_bad_change_code_and_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "cw.csv"
    p.write_text("LSOA11CD,LSOA21CD,CHGIND,LAD22CD\nE01000001,E01000001,U,E09000001\nE01000002,E01000002,Q,E09000001\n")
    with pytest.raises(InputFileError, match="expected a change code U, S, M or X, found 'Q'") as err:
        geo.read_lsoa_crosswalk(p)
    assert (err.value.row, err.value.column) == (3, "CHGIND")
    p.write_text("LSOA11CD,LSOA21CD,LAD22CD\nE01000001,E01000001,E09000001\n")
    with pytest.raises(InputFileError, match="missing column 'CHGIND'") as err:
        geo.read_lsoa_crosswalk(p)
    assert err.value.row == 1


def test_ward_lookup_bad_code(tmp_path: Path) -> None:
    p = tmp_path / "w.csv"
    p.write_bytes("\ufeffWD22CD,WD22NM,LAD22CD,LAD22NM\nE05010458,Abbey,E06000016,Leicester\nE0501,x,E06000016,Leicester\n".encode())
    assert geo.sniff_ward_lookup(p)
    with pytest.raises(InputFileError, match="expected a ward code like E05000001, found 'E0501'") as err:
        geo.read_ward_lookup(p)
    assert (err.value.row, err.value.column) == (3, "WD22CD")


def test_nhs_and_ons_codes_are_put_right(tmp_path: Path) -> None:
    p = tmp_path / "icb.csv"
    p.write_text("LSOA21CD,ICB24CD,ICB24CDH\nE01013606,QK1,E54000015\n")
    frame, _, notes, _ = geo.read_lookup(p)[0]
    assert frame["icb_code"].item() == "E54000015" and frame["icb_code_nhs"].item() == "QK1"
    assert any("ONS E54 codes" in n for n in notes)


def test_lsoa_vintage_from_codes() -> None:
    assert geo.lsoa_vintage_from_codes(["E01000001", "E01033768"]) == "2011"
    assert geo.lsoa_vintage_from_codes(["E01000001", "E01033769"]) == "2021"
    assert geo.lsoa_vintage_from_codes(["W01002000"]) == "2021"


def test_guess_generalisation_from_name() -> None:
    g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    assert geo.guess_generalisation(g, "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BSC_V4")[0] == "BSC"
    code, how = geo.guess_generalisation(g.iloc[:0])
    assert code == "unknown"


def test_repair_keeps_polygonal_parts_only() -> None:
    # a polygon whose repair yields a polygon plus a dangling line
    spike = shapely.Polygon([(0, 0), (2, 0), (2, 2), (0, 2), (0, 0), (-1, -1), (0, 0)])
    g = gpd.GeoDataFrame({"area_code": ["A"]}, geometry=[spike], crs=4326)
    out, codes = geo.repair_polygons(g)
    assert codes == ["A"]
    assert out.geometry.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    assert np.isclose(out.geometry.iloc[0].area, 4.0)


# ---------------------------------------------------------------------------------------------
# geography checks (issue 11, item 3): budgets, CRS mix-ups, extents, England


def _scribble(n: int, seed: int = 0) -> list[list[float]]:
    """A closed ring of ``n`` vertices round Leicester whose long spikes cross each other
    thousands of times: GEOS's make_valid takes seconds on 300 vertices, minutes on more."""
    rng = np.random.default_rng(seed)
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = 0.05 * (1 + 0.9 * np.where(np.arange(n) % 2, 1, -1))
    x, y = -1.13 + r * np.cos(ang), 52.63 + 0.6 * r * np.sin(ang)
    x[1::4], x[2::4] = x[2::4].copy(), x[1::4].copy()
    ring = np.column_stack([x, y]).round(10).tolist()
    return ring + [ring[0]]


def _feature_collection(path: Path, rings: list[list[list[float]]], **extra: object) -> Path:
    import json

    feats = [
        {"type": "Feature", "properties": {"LSOA21CD": f"E0102562{i}", "LSOA21NM": f"Leicester 00{i}A"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for i, ring in enumerate(rings)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", **extra, "features": feats}))
    return path


def test_monster_polygon_is_refused_within_seconds(tmp_path: Path) -> None:
    """A 6 MB GeoJSON holding one self-intersecting 200,000-vertex polygon ran for over 5
    minutes: the vertex budget now refuses it, by name, before any validity test or repair."""
    from hiexplore.io import read_any

    p = _feature_collection(tmp_path / "monster.geojson", [_scribble(200_000)])
    assert p.stat().st_size > 6_000_000
    t0 = time.perf_counter()
    with pytest.raises(InputFileError) as err:
        read_any(p)
    elapsed = time.perf_counter() - t0
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert str(err.value) == (
        "file monster.geojson, row 1, column 'geometry': feature 'E01025620' has 200,001 vertices, "
        "more than the 100,000 a boundary may have: use an ONS generalised file (BGC or BSC), or "
        "simplify it first"
    )


def test_vertex_budget_is_a_parameter(tmp_path: Path) -> None:
    p = _feature_collection(tmp_path / "b.geojson", [_scribble(60)[:40] + [_scribble(60)[0]]])
    with pytest.raises(InputFileError, match=r"has 41 vertices, more than the 40 a boundary may have"):
        geo.read_boundaries(p, max_vertices=40)


def test_repair_has_a_time_budget(tmp_path: Path) -> None:
    """Under the vertex budget, a polygon whose repair would take minutes: the child process
    running make_valid is stopped at the budget and the file refused, naming the feature."""
    ok = [[-1.2, 52.6], [-1.1, 52.6], [-1.1, 52.7], [-1.2, 52.7], [-1.2, 52.6]]
    p = _feature_collection(tmp_path / "slow.geojson", [ok, _scribble(2_000)])
    t0 = time.perf_counter()
    with pytest.raises(InputFileError) as err:
        geo.read_boundaries(p, repair_seconds=1.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 8, f"took {elapsed:.1f} s"
    assert (err.value.row, err.value.column) == (2, "geometry")
    assert re.match(
        r"1 invalid polygon\(s\) could not be repaired within 1 s \(E01025621; the first: "
        r"(Ring )?Self-intersection\[", err.value.detail,
    ), err.value.detail
    assert err.value.detail.endswith(
        "2,001 vertices): simplify or repair the boundaries in a GIS first, or use an ONS generalised "
        "file (BGC or BSC)"
    )


def test_repair_within_budget_runs_in_a_child_and_matches_make_valid() -> None:
    bowtie = shapely.Polygon([(-1.2, 52.6), (-1.1, 52.7), (-1.1, 52.6), (-1.2, 52.7)])
    g = gpd.GeoDataFrame({"area_code": ["E01000001"]}, geometry=[bowtie], crs=4326)
    out, codes = geo.repair_polygons(g, path="b.geojson", seconds=30)
    assert codes == ["E01000001"]
    assert out.geometry.iloc[0].equals(shapely.make_valid(bowtie))


@pytest.mark.parametrize(
    ("extra", "ring", "message"),
    [
        ({}, [[52.6, -1.2], [52.6, -1.1], [52.7, -1.1], [52.7, -1.2], [52.6, -1.2]],
         "coordinates look like lon/lat swapped: found x 52.6000 to 52.7000, y -1.2000 to -1.1000"),
        ({"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}},
         [[-1.2, 52.6], [-1.1, 52.6], [-1.1, 52.7], [-1.2, 52.7], [-1.2, 52.6]],
         "degrees labelled as British National Grid: the file says EPSG:27700 (OSGB36 / British National "
         "Grid), in metres, but found x -1.2000 to -1.1000, y 52.6000 to 52.7000"),
        ({}, [[458000, 303000], [459000, 303000], [459000, 304000], [458000, 304000], [458000, 303000]],
         "coordinates look like metres (British National Grid?) but the file says EPSG:4326 (WGS 84), "
         "in degrees: x 458,000 to 459,000, y 303,000 to 304,000"),
        ({}, [[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9], [2.3, 48.8]],
         "lies outside England: expected British National Grid x 87,323 to 655,654, y 7,054 to 657,550 "
         "(ONS extent, +-10 km), found "),
    ],
    ids=["swapped", "degrees_as_bng", "metres_as_degrees", "paris"],
)
def test_coordinates_that_cannot_be_england_are_refused(
    tmp_path: Path, extra: dict, ring: list, message: str
) -> None:
    ok = [[-1.2, 52.6], [-1.1, 52.6], [-1.1, 52.7], [-1.2, 52.7], [-1.2, 52.6]]
    rings = [ring] if extra else [ok, ring]  # with a crs member every feature is in that CRS
    p = _feature_collection(tmp_path / "b.geojson", rings, **extra)
    with pytest.raises(InputFileError) as err:
        geo.read_boundaries(p)
    assert message in err.value.detail
    assert (err.value.row, err.value.column) == (len(rings), "geometry")
    assert f"feature 'E0102562{len(rings) - 1}'" in err.value.detail


def test_paris_is_named_as_france(tmp_path: Path) -> None:
    paris = [[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9], [2.3, 48.8]]
    with pytest.raises(InputFileError, match=r"in France \(longitude 2\.35, latitude 48\.85\); are the "
                       r"boundaries shifted or in the wrong CRS\?"):
        geo.read_boundaries(_feature_collection(tmp_path / "b.geojson", [paris]))


@pytest.mark.shared
def test_country_extents_are_the_ons_figures() -> None:
    """The constants are the extents of each nation's districts in ONS LAD Dec 2022 BUC."""
    lads = gpd.read_file(shared_path("boundaries", "ons_lad22_buc", "lad22_buc.geojson"))
    assert lads.crs.to_epsg() == 27700
    for letter, (_name, extent) in geo.COUNTRY_EXTENTS_BNG.items():
        measured = lads[lads["LAD22CD"].str.startswith(letter)].total_bounds
        assert np.allclose(measured, extent, atol=1.0), (letter, measured)


@pytest.mark.shared
def test_uk_and_national_files_pass_the_checks() -> None:
    """No false alarm on the real UK ward file: English, Welsh, Scottish and NI wards, each
    inside its own nation's extent."""
    g, _, _ = geo.read_boundaries(shared_path(*BSC, "boundaries_wards22.gpkg"))
    assert set(g["area_code"].str[0]) == {"E", "W", "S", "N"}
    assert len(g) == 8_482


def test_welsh_only_file_is_refused(tmp_path: Path) -> None:
    import json

    sq = [[-3.2, 51.5], [-3.1, 51.5], [-3.1, 51.6], [-3.2, 51.6], [-3.2, 51.5]]  # Cardiff
    feats = [{"type": "Feature", "properties": {"LSOA21CD": f"W0100187{i}"},
              "geometry": {"type": "Polygon", "coordinates": [sq]}} for i in range(2)]
    p = tmp_path / "wales.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(InputFileError) as err:
        geo.read_boundaries(p)
    assert err.value.detail == (
        "holds no area in England: its 2 LSOA codes are all in Wales (e.g. 'W01001870'); hiexplore "
        "maps England, so it needs E-coded areas"
    )
    assert err.value.column == "LSOA21CD"


def test_a_repair_process_that_dies_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repair's child process fails for real (its shapely import breaks): the file is
    refused with the reason, not a traceback."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "shapely.py").write_text("raise ImportError('shapely is broken here')\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    bowtie = shapely.Polygon([(-1.2, 52.6), (-1.1, 52.7), (-1.1, 52.6), (-1.2, 52.7)])
    g = gpd.GeoDataFrame({"area_code": ["E01000001"]}, geometry=[bowtie], crs=4326)
    with pytest.raises(InputFileError) as err:
        geo.repair_polygons(g, path="b.geojson")
    assert (err.value.row, err.value.column) == (1, "geometry")
    assert err.value.detail == (
        "1 invalid polygon(s) could not be repaired: make_valid failed in its process (exit 1: "
        "ImportError: shapely is broken here)"
    )
