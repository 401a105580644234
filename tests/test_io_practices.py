"""Practice readers: epraccur, ePCN, QOF geographies, Code-Point Open, and placing practices.

Real-file tests reproduce the counts in ../shared/data/SOURCES.md (sections 5 and 8) and skip
when the files are absent; the rest run on small files written here.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.errors import InputFileError
from hiexplore.io import practices as P
from hiexplore.io import recognise, registrations

LLR_CCGS = {"03W", "04C", "04V"}
CP = ("postcodes", "os_codepoint_open_2025_4")


# ---------------------------------------------------------------- fixtures and helpers


def epraccur_row(code: str = "C82001", **over: str) -> list[str]:
    """One epraccur row (27 fields) in the published layout."""
    row = [""] * P.EPRACCUR_FIELDS
    row[0], row[1], row[2], row[3] = code, "SOUTH LEICS MEDICAL", "Y60", "QK1"
    row[4], row[9], row[10], row[12] = "SMEETON ROAD", "LE8 0LG", "19740401", "A"
    row[13], row[14], row[15], row[17], row[25] = "B", "03W", "20130401", "0116 2793308", "4"
    for k, v in over.items():
        row[int(k[1:])] = v
    return row


def write_rows(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def codepoint_row(
    pc: str = "LE1 1AA", e: str = "459318", n: str = "304176", q: str = "10"
) -> list[str]:
    return [pc, q, e, n, "E92000001", "E19000001", "E18000004", "", "E06000016", "E05010463"]


def write_codepoint(path: Path, rows: list[list[str]]) -> Path:
    # Code-Point quotes text fields only
    lines = []
    for r in rows:
        lines.append(",".join(f'"{v}"' if i not in (1, 2, 3) else v for i, v in enumerate(r)))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def epraccur() -> pd.DataFrame:
    return P.read_epraccur(shared_path("gp", "epraccur_2023-02-20.zip"))[0].frame


@pytest.fixture(scope="module")
def llr_active(epraccur: pd.DataFrame) -> pd.DataFrame:
    f = epraccur
    return f[(f["icb_code"] == "QK1") & (f["status"] == "open") & (f["setting"] == 4)]


# ---------------------------------------------------------------- epraccur (real)


@pytest.mark.shared
def test_epraccur_zip_reproduces_sources_counts(epraccur: pd.DataFrame, llr_active) -> None:
    res = P.read_epraccur(shared_path("gp", "epraccur_2023-02-20.zip"))[0]
    assert res.kind == "practices"
    assert res.source.period == "2023-02-20" == res.meta["period"]
    assert res.source.file == "epraccur_2023-02-20.zip" and len(res.source.sha256) == 64
    assert res.source.sha256.startswith("3b20217ec814c845")
    f = res.frame
    assert len(f) == 15_663 and f["practice_code"].is_unique
    assert {
        "practice_code",
        "practice_name",
        "icb_code",
        "sub_icb_code",
        "postcode",
        "status",
        "setting",
        "open_date",
        "close_date",
        "status_code",
    } <= set(f.columns)
    qk1 = f[f["icb_code"] == "QK1"]
    assert len(qk1) == 220 and (qk1["status"] == "open").sum() == 216
    assert len(llr_active) == 134
    assert set(llr_active["sub_icb_code"]) == LLR_CCGS
    row = f.set_index("practice_code").loc["C82001"]
    assert row["postcode"] == "LE8 0LG" and row["sub_icb_code"] == "03W"
    assert row["open_date"] == pd.Timestamp("1974-04-01") and pd.isna(row["close_date"])
    closed = f.set_index("practice_code").loc["A81003"]
    assert closed["status"] == "closed" and closed["status_code"] == "C"
    assert closed["close_date"] == pd.Timestamp("2017-10-31")
    assert set(f["status_code"]) == {"A", "C", "D", "P"}
    assert set(f.loc[f["status_code"] == "P", "status"]) == {"closed"}


@pytest.mark.shared
def test_epraccur_plain_csv_with_meaningless_name(tmp_path: Path, epraccur: pd.DataFrame) -> None:
    with zipfile.ZipFile(shared_path("gp", "epraccur_2023-02-20.zip")) as zf:
        target = tmp_path / "download (3).dat"
        target.write_bytes(zf.read("epraccur.csv"))
    assert P.sniff_epraccur(target) and not P.sniff_codepoint(target)
    res = P.read_epraccur(target)[0]
    assert res.source.period == "unknown"
    assert any("period unknown" in n and "latest open/close date" in n for n in res.notes)
    pd.testing.assert_frame_equal(res.frame, epraccur)


# ---------------------------------------------------------------- ePCN (real)


@pytest.mark.shared
def test_epcn_2022_zip_llr_counts() -> None:
    res = P.read_epcn(shared_path("gp", "epcn_2022-04-27.zip"))[0]
    assert res.kind == "pcn_membership" and res.source.period == "2022-04-27"
    f = res.frame
    assert len(f) == 7_359
    assert list(f.columns[:6]) == [
        "practice_code",
        "pcn_code",
        "pcn_name",
        "sub_icb_code",
        "start_date",
        "end_date",
    ]
    assert f["start_date"].dtype == "datetime64[ns]" and f["end_date"].dtype == "datetime64[ns]"
    # SOURCES' 154 rows are the LLR *PCNs'* rows: one Lincolnshire practice sits in an LLR PCN
    llr = f[f["pcn_sub_icb_code"].isin(LLR_CCGS)]
    assert len(llr) == 154 and llr["pcn_code"].nunique() == 27
    assert llr["end_date"].isna().sum() == 133
    by_practice = f[f["sub_icb_code"].isin(LLR_CCGS)]
    assert len(by_practice) == 153
    assert set(llr["practice_code"]) - set(by_practice["practice_code"]) == {"C83653"}
    assert any("1,318 PCNs listed" in n for n in res.notes)


@pytest.mark.shared
def test_epcn_2019_layout_single_line_headers() -> None:
    res = P.read_epcn(shared_path("gp", "ePCN_2019-12.xlsx"))[0]
    f = res.frame
    assert len(f) == 6_757 and f["pcn_code"].nunique() == 1_250
    assert f["end_date"].isna().all()
    assert (f["start_date"] == pd.Timestamp("2019-10-01")).mean() > 0.9
    assert res.source.period == "2019-12-04"  # the workbook's own modified date


# ---------------------------------------------------------------- QOF geographies (real)


@pytest.mark.shared
def test_qof_geographies_llr() -> None:
    res = P.read_qof_geographies(
        shared_path("gp", "qof_2020_21", "MAPPING_NHS_GEOGRAPHIES_2021.csv")
    )[0]
    assert res.kind == "practice_geography" and res.source.period == "2020-21"
    f = res.frame
    assert len(f) == 6_571 and f["practice_code"].is_unique
    assert list(f.columns) == [
        "practice_code",
        "practice_name",
        "pcn_code",
        "pcn_name",
        "sub_icb_code",
        "sub_icb_name",
        "icb_code",
        "icb_code_nhs",
        "icb_name",
    ]
    llr = f[f["icb_code"] == "E54000015"]
    assert len(llr) == 133 and set(llr["icb_code_nhs"]) == {"QK1"}
    assert set(llr["sub_icb_code"]) == LLR_CCGS


# ---------------------------------------------------------------- Code-Point (real) and placing


@pytest.mark.shared
def test_codepoint_le() -> None:
    res = P.read_codepoint(shared_path(*CP, "le.csv"))[0]
    f = res.frame
    assert res.kind == "postcodes" and len(f) == 23_249
    assert list(f.columns) == ["postcode", "easting", "northing", "quality", "lad_code"]
    row = f.set_index("postcode").loc["LE1 1AA"]
    assert (row["easting"], row["northing"], row["quality"]) == (459318, 304176, 10)
    assert row["lad_code"] == "E06000016"
    assert f["quality"].value_counts().to_dict() == {10: 23_133, 50: 115, 30: 1}
    assert res.source.period == "2025-10-20" and res.meta["version"] == "2025.4.0"
    assert "Ordnance Survey" in res.source.attribution and "2025" in res.source.attribution


@pytest.mark.shared
def test_all_134_llr_practices_placed(llr_active: pd.DataFrame) -> None:
    postcodes = [
        P.read_codepoint(shared_path(*CP, n))[0].frame for n in ("le.csv", "de.csv", "ng.csv")
    ]
    placed, unplaced = P.place_practices(llr_active, postcodes)
    assert unplaced == [] and len(placed) == 134
    assert placed["latitude"].between(52.3, 53.0).all()
    assert placed["longitude"].between(-1.7, -0.4).all()
    c82001 = placed.set_index("practice_code").loc["C82001"]
    assert (c82001["easting"], c82001["northing"]) == (468105, 293590)
    assert c82001["latitude"] == pytest.approx(52.5359, abs=1e-3)
    assert c82001["longitude"] == pytest.approx(-0.9974, abs=1e-3)


@pytest.mark.shared
def test_pennine_practices_placed(epraccur: pd.DataFrame) -> None:
    reg = registrations.read_registrations(
        shared_path(
            "gp_registrations", "bwdph_lsoapops_gp-reg-pat-prac-lsoa-all_2020-04_pennine.csv"
        )
    )[0].frame
    totals = reg.groupby("practice_code")["patients"].sum()
    big = totals[totals > 1000].index
    assert len(big) == 79
    postcodes = [
        P.read_codepoint(shared_path(*CP, f"{a}.csv"))[0].frame for a in ("bb", "bl", "ol", "pr")
    ]
    placed, unplaced = P.place_practices(epraccur[epraccur["practice_code"].isin(big)], postcodes)
    assert len(placed) == 79 and unplaced == []
    assert placed["latitude"].between(53.3, 54.1).all()


# ---------------------------------------------------------------- sniffers on the real files

REAL = {
    "epraccur": ("gp", "epraccur_2023-02-20.zip"),
    "epcn22": ("gp", "epcn_2022-04-27.zip"),
    "epcn19": ("gp", "ePCN_2019-12.xlsx"),
    "qofgeo": ("gp", "qof_2020_21", "MAPPING_NHS_GEOGRAPHIES_2021.csv"),
    "qofprev": ("gp", "qof_2020_21", "PREVALENCE_2021_v2.csv"),
    "codepoint": (*CP, "le.csv"),
    "cpheaders": (*CP, "Code-Point_Open_Column_Headers.csv"),
    "registrations": (
        "gp_registrations",
        "bwdph_lsoapops_gp-reg-pat-prac-lsoa-all_2020-04_pennine.csv",
    ),
    "hoc": ("gp_registrations", "hoclib_gp-by-age.csv"),
    "fingertips": ("fingertips_gp", "fingertips_93553_gp_imd_score_fingertipsR.csv"),
    "breast": ("screening", "fingertipsnext_healthdata_94063_breast_screening_53_70_subset.csv"),
}
EXPECT = {
    "epraccur": "ods_epraccur",
    "epcn22": "ods_epcn",
    "epcn19": "ods_epcn",
    "qofgeo": "qof_nhs_geographies",
    "qofprev": "qof_prevalence_list_sizes",
    "codepoint": "os_codepoint_open",
    "registrations": "nhs_gp_registrations_lsoa",
    "hoc": "hoclib_gp_list_sizes_by_age",
}


@pytest.mark.shared
def test_sniffers_on_renamed_copies_accept_only_their_own(
    shared_data: Path, tmp_path: Path
) -> None:
    readers = P.READERS + registrations.READERS
    for i, (label, parts) in enumerate(REAL.items()):
        src = shared_data.joinpath(*parts)
        if not src.exists():
            continue
        copy = tmp_path / f"file{i}"  # no extension, no hint in the name
        shutil.copyfile(src, copy)
        matched = [r.name for r in readers if r.sniff(copy)]
        assert matched == ([EXPECT[label]] if label in EXPECT else []), label


@pytest.mark.shared
def test_registry_recognises_practice_files(shared_data: Path) -> None:
    for label in ("epraccur", "epcn22", "epcn19", "qofgeo", "codepoint"):
        reader = recognise(shared_data.joinpath(*REAL[label]))
        assert reader is not None and reader.name == EXPECT[label], label


# ---------------------------------------------------------------- headerless sniffers apart


def test_epraccur_and_codepoint_sniffers_reject_each_other(tmp_path: Path) -> None:
    ep = write_rows(tmp_path / "a", [epraccur_row(), epraccur_row("C82002")])
    cp = write_codepoint(tmp_path / "b", [codepoint_row(), codepoint_row("LE10 1AB")])
    assert P.sniff_epraccur(ep) and not P.sniff_codepoint(ep)
    assert P.sniff_codepoint(cp) and not P.sniff_epraccur(cp)
    # a headed file is neither
    hdr = write_rows(tmp_path / "c", [["PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC"]])
    assert not P.sniff_codepoint(hdr) and not P.sniff_epraccur(hdr)


def test_sniffers_never_raise(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01\x02PK\x03\x04garbage")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    for reader in P.READERS:
        for p in (junk, empty, tmp_path, tmp_path / "missing"):
            assert reader.sniff(p) is False


def test_readers_list() -> None:
    assert [(r.name, r.kind) for r in P.READERS] == [
        ("ods_epraccur", "practices"),
        ("ods_epcn", "pcn_membership"),
        ("qof_nhs_geographies", "practice_geography"),
        ("os_codepoint_open", "postcodes"),
    ]
    assert set(P.__all__) >= {
        "READERS",
        "read_epraccur",
        "read_epcn",
        "read_codepoint",
        "place_practices",
    }


# ---------------------------------------------------------------- epraccur: bad input


def test_epraccur_small_file_and_zip_member_date(tmp_path: Path) -> None:
    rows = [epraccur_row(), epraccur_row("Y00001", c12="P", c25="", c9=" le1  1aa")]
    plain = write_rows(tmp_path / "e.csv", rows)
    f = P.read_epraccur(plain)[0].frame
    assert f["status"].tolist() == ["open", "closed"]
    assert f["postcode"].tolist() == ["LE8 0LG", "LE1 1AA"]
    assert f["setting"].isna().tolist() == [False, True]
    z = tmp_path / "z.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(zipfile.ZipInfo("epraccur.csv", (2024, 5, 17, 9, 0, 0)), plain.read_bytes())
        zf.writestr("epraccur.pdf", b"%PDF-1.4")
    assert P.sniff_epraccur(z)
    assert P.read_epraccur(z)[0].source.period == "2024-05-17"


def test_epraccur_truncated(tmp_path: Path) -> None:
    p = write_rows(tmp_path / "e", [epraccur_row(), epraccur_row("C82002")])
    p.write_bytes(p.read_bytes()[:-60])
    with pytest.raises(
        InputFileError, match=r"row 2: expected 27 fields .* found \d+ \(is the file truncated\?\)"
    ):
        P.read_epraccur(p)


def test_epraccur_wrong_field_count_names_row(tmp_path: Path) -> None:
    p = write_rows(tmp_path / "e", [epraccur_row(), epraccur_row()[:26], epraccur_row("C3")])
    with pytest.raises(InputFileError) as err:
        P.read_epraccur(p)
    assert (
        err.value.row == 2
        and "expected 27 fields" in str(err.value)
        and "found 26" in str(err.value)
    )


@pytest.mark.parametrize(
    ("over", "column", "words"),
    [
        ({"c12": "X"}, "12 (Status Code)", "status A, C, D or P"),
        ({"c10": "1974-04-01"}, "10 (Open Date)", "YYYYMMDD"),
        ({"c11": "20171341"}, "11 (Close Date)", "YYYYMMDD"),
        ({"c25": "GP"}, "25 (Prescribing Setting)", "integer"),
        ({"c0": "C8 2001"}, "0 (Organisation Code)", "organisation code"),
    ],
)
def test_epraccur_bad_values(tmp_path: Path, over: dict[str, str], column: str, words: str) -> None:
    p = write_rows(tmp_path / "e", [epraccur_row(), epraccur_row("C82002", **over)])
    with pytest.raises(InputFileError, match=words) as err:
        P.read_epraccur(p)
    assert err.value.row == 2 and err.value.column == column


def test_epraccur_duplicate_code(tmp_path: Path) -> None:
    p = write_rows(tmp_path / "e", [epraccur_row(), epraccur_row("C82002"), epraccur_row()])
    with pytest.raises(
        InputFileError, match=r"duplicate organisation code 'C82001' \(first on row 1\)"
    ) as err:
        P.read_epraccur(p)
    assert err.value.row == 3


def test_epraccur_empty_and_encoding(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        P.read_epraccur(empty)
    utf16 = write_rows(tmp_path / "u16", [epraccur_row()], encoding="utf-16-le")  # no BOM
    with pytest.raises(InputFileError, match="UTF-8 or Windows-1252"):
        P.read_epraccur(utf16)
    cp1252 = write_rows(tmp_path / "w", [epraccur_row(c1="CAFÉ SURGERY")], encoding="cp1252")
    res = P.read_epraccur(cp1252)[0]
    assert res.frame["practice_name"].iloc[0] == "CAFÉ SURGERY"
    assert any("Windows-1252" in n for n in res.notes)


def test_epraccur_damaged_zip(tmp_path: Path) -> None:
    plain = write_rows(tmp_path / "e.csv", [epraccur_row()] * 1)
    z = tmp_path / "z.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(plain, "epraccur.csv")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(z.read_bytes()[:-30])
    with pytest.raises(InputFileError, match="damaged or truncated"):
        P.read_epraccur(cut)


# ---------------------------------------------------------------- ePCN: small workbooks


def write_epcn(path: Path, partner_header: list[str], partner_rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "PCNDetails"
    ws.append(["PCN Code", "PCN Name", "Current Clinical \nCommissioning \nGroup Code"])
    ws.append(["U00001", "ONE PCN", "03W"])
    ws2 = wb.create_sheet("PCN Core Partner Details")
    ws2.append(partner_header)
    for r in partner_rows:
        ws2.append(r)
    wb.save(path)
    return path


HEADER_2022 = [
    "Partner\nOrganisation\nCode",
    "Partner\nName",
    "Practice\nParent\nCCG Code",
    "Practice\nParent\nCCG Name",
    "PCN Code",
    "PCN Name",
    "PCN Parent\nCCG Code",
    "PCN Parent\nCCG Name",
    "Practice to PCN\nRelationship\nStart Date",
    "Practice to PCN\nRelationship\nEnd Date",
]


def partner(code: str, start: object = "20191001", end: object = "") -> list[object]:
    return [
        code,
        "A SURGERY",
        "03W",
        "NHS ELR CCG",
        "U00001",
        "ONE PCN",
        "03W",
        "NHS ELR CCG",
        start,
        end,
    ]


def test_epcn_small_workbook_dates_of_every_kind(tmp_path: Path) -> None:
    import datetime as dt

    p = write_epcn(
        tmp_path / "w.xlsx",
        HEADER_2022,
        [
            partner("C82001"),
            partner("C82002", 20191001.0, 20200331),
            partner("C82003", dt.datetime(2020, 4, 1)),
        ],
    )
    assert P.sniff_epcn(p)
    f = P.read_epcn(p)[0].frame
    assert f["start_date"].tolist() == [pd.Timestamp("2019-10-01")] * 2 + [
        pd.Timestamp("2020-04-01")
    ]
    assert f["end_date"].isna().tolist() == [True, False, True]
    assert f["sub_icb_code"].tolist() == ["03W"] * 3


def test_epcn_missing_column(tmp_path: Path) -> None:
    header = [h for h in HEADER_2022 if h != "PCN Code"]
    p = write_epcn(tmp_path / "w.xlsx", header, [partner("C82001")[:4] + partner("C82001")[5:]])
    with pytest.raises(InputFileError, match="missing column.*'PCN Code'") as err:
        P.read_epcn(p)
    assert err.value.sheet == "PCN Core Partner Details" and err.value.row == 1
    assert err.value.column == "PCN Code"


def test_epcn_bad_date_names_sheet_row_column(tmp_path: Path) -> None:
    p = write_epcn(
        tmp_path / "w.xlsx", HEADER_2022, [partner("C82001"), partner("C82002", "1/10/2019")]
    )
    with pytest.raises(
        InputFileError, match=r"expected a date as YYYYMMDD.*found '1/10/2019'"
    ) as err:
        P.read_epcn(p)
    assert (err.value.sheet, err.value.row) == ("PCN Core Partner Details", 3)
    assert err.value.column == "Practice to PCN Relationship Start Date"


def test_epcn_wrong_workbook_and_truncated(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Sheet1"
    other = tmp_path / "other.xlsx"
    wb.save(other)
    assert not P.sniff_epcn(other)
    with pytest.raises(
        InputFileError, match="expected a sheet 'PCN Core Partner Details'.*'Sheet1'"
    ):
        P.read_epcn(other)
    good = write_epcn(tmp_path / "w.xlsx", HEADER_2022, [partner("C82001")])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert not P.sniff_epcn(cut)
    with pytest.raises(InputFileError, match="damaged or truncated|expected an ePCN workbook"):
        P.read_epcn(cut)


# ---------------------------------------------------------------- QOF geographies: bad input

QOF_GEO_HEADER = (
    "NAT_ONS_CODE,NAT_CODE,COUNTRY,REGION_ODS_CODE,REGION_ONS_CODE,REGION_NAME,STP_ODS_CODE,"
    "STP_ONS_CODE,STP_NAME,CCG_ODS_CODE,CCG_ONS_CODE,CCG_NAME,PCN_ODS_CODE,PCN_NAME,PRACTICE_CODE,"
    "PRACTICE_NAME"
)
QOF_GEO_ROW = (
    "E92000001,ENG,England,Y60,E40000008,Midlands,QK1,E54000015,LLR,03W,E38000051,NHS ELR CCG,"
    "U00001,ONE PCN,{code},A Surgery"
)


def test_qof_geographies_bad_input(tmp_path: Path) -> None:
    dup = tmp_path / "g.csv"
    dup.write_text(
        "\n".join(
            [QOF_GEO_HEADER, QOF_GEO_ROW.format(code="C82001"), QOF_GEO_ROW.format(code="C82001")]
        )
    )
    assert P.sniff_qof_geographies(dup)
    with pytest.raises(InputFileError, match="duplicate practice 'C82001'") as err:
        P.read_qof_geographies(dup)
    assert err.value.row == 3
    missing = tmp_path / "m.csv"
    missing.write_text(
        QOF_GEO_HEADER.replace("STP_ONS_CODE", "X") + "\n" + QOF_GEO_ROW.format(code="C1")
    )
    with pytest.raises(InputFileError, match="missing column.*'STP_ONS_CODE'") as err:
        P.read_qof_geographies(missing)
    assert err.value.column == "STP_ONS_CODE"


# ---------------------------------------------------------------- Code-Point: bad input


def test_codepoint_bad_easting_names_row_and_column(tmp_path: Path) -> None:
    p = write_codepoint(tmp_path / "c", [codepoint_row(), codepoint_row("LE1 1AB", e="45x318")])
    with pytest.raises(InputFileError, match="whole number") as err:
        P.read_codepoint(p)
    assert (err.value.row, err.value.column) == (2, "Eastings")


def test_codepoint_bad_postcode_duplicate_and_truncated(tmp_path: Path) -> None:
    bad = write_codepoint(tmp_path / "b", [codepoint_row(), codepoint_row("NOT A PC")])
    with pytest.raises(InputFileError, match="UK postcode") as err:
        P.read_codepoint(bad)
    assert (err.value.row, err.value.column) == (2, "Postcode")
    dup = write_codepoint(tmp_path / "d", [codepoint_row(), codepoint_row("le11aa")])
    with pytest.raises(InputFileError, match="duplicate postcode 'LE1 1AA'") as err:
        P.read_codepoint(dup)
    assert err.value.row == 2
    trunc = write_codepoint(tmp_path / "t", [codepoint_row(), codepoint_row("LE1 1AB")])
    trunc.write_bytes(trunc.read_bytes()[:-40])
    with pytest.raises(InputFileError, match="truncated") as err:
        P.read_codepoint(trunc)
    assert err.value.row == 2


def test_codepoint_wrong_field_count_and_empty(tmp_path: Path) -> None:
    p = write_codepoint(tmp_path / "c", [codepoint_row()[:9]])
    with pytest.raises(InputFileError, match="expected 10 fields.*found 9"):
        P.read_codepoint(p)
    e = tmp_path / "e"
    e.write_text("\n\n")
    with pytest.raises(InputFileError, match="empty"):
        P.read_codepoint(e)


def test_codepoint_no_coordinates_and_product_zip(tmp_path: Path) -> None:
    le = write_codepoint(
        tmp_path / "le.csv", [codepoint_row(), codepoint_row("LE1 9ZZ", e="0", n="0", q="90")]
    )
    de = write_codepoint(tmp_path / "de.csv", [codepoint_row("DE1 1AA", e="435000", n="336000")])
    z = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Doc/Code-Point_Open_Column_Headers.csv", "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\n")
        zf.writestr(
            "Doc/metadata.txt", "DATASET VERSION NUMBER: 2025.4.0\nCOPYRIGHT DATE: 20251020\n"
        )
        zf.write(de, "Data/CSV/de.csv")
        zf.write(le, "Data/CSV/le.csv")
    assert P.sniff_codepoint(z) and not P.sniff_epraccur(z)
    res = P.read_codepoint(z)[0]
    assert len(res.frame) == 3 and res.source.period == "2025-10-20"
    assert any("no coordinates" in n for n in res.notes)
    assert res.frame.set_index("postcode").loc["LE1 9ZZ", ["easting", "northing"]].isna().all()


# ---------------------------------------------------------------- placing practices


def test_place_practices_matches_ignoring_space_and_case() -> None:
    practices = pd.DataFrame(
        {
            "practice_code": ["A1", "A2", "A3", "A4"],
            "postcode": ["le1 1aa", "LE11AA", None, "ZZ1 1ZZ"],
        },
        index=[10, 11, 12, 13],
    )
    postcodes = pd.DataFrame(
        {
            "postcode": ["LE1 1AA", "LE1 9ZZ"],
            "easting": [459318.0, np.nan],
            "northing": [304176.0, np.nan],
        }
    )
    placed, unplaced = P.place_practices(practices, postcodes)
    assert unplaced == ["A3", "A4"]
    assert placed["easting"].tolist()[:2] == [459318.0, 459318.0]
    assert placed.loc[0, "latitude"] == pytest.approx(
        52.634, abs=0.01
    )  # Leicester centre; catches swapped axes or CRS
    assert placed.loc[0, "longitude"] == pytest.approx(-1.131, abs=0.01)
    assert placed["latitude"].isna().tolist() == [False, False, True, True]


def test_place_practices_missing_column() -> None:
    with pytest.raises(ValueError, match="practices frame is missing column.*'postcode'"):
        P.place_practices(pd.DataFrame({"practice_code": ["A1"]}), pd.DataFrame())
