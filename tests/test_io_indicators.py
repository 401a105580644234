"""Indicator readers: real official files (skipped when ../shared/data is absent) and bad input.

Real files are parsed once per module (fixtures of scope="module") so the whole file runs in
well under a minute. Synthetic files are written to tmp_path in the exact published layouts.
"""

from __future__ import annotations

import doctest
import math
import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.catalogue import INDICATOR_KEYS
from hiexplore.errors import InputFileError
from hiexplore.io import indicators as ind
from hiexplore.schemas import INDICATOR_AREA_TYPES

SMOKING = ("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
FTN = ("screening", "fingertipsnext_healthdata_94063_breast_screening_53_70_subset.csv")
CERVICAL = ("screening", "phe_cervical_coverage_gp_practice_dec2017_bbc.csv")
GP_DIR = ("immunisation", "cover_gp_quarterly")
UTLA_DIR = ("immunisation", "cover_quarterly_utla")
LLR_UTLAS = ("E06000016", "E06000017", "E10000018")
COVER_KEYS = {
    "dtap_ipv_hib_hepb_12m",
    "menb_12m",
    "pcv1_12m",
    "rota_12m",
    "dtap_ipv_hib_hepb_24m",
    "mmr1_24m",
    "hib_menc_24m",
    "pcv_booster_24m",
    "menb_booster_24m",
    "dtap_ipv_hib_5y",
    "hib_menc_5y",
    "dtap_ipv_booster_5y",
    "mmr1_5y",
    "mmr2_5y",
}
GP_PERIODS = {
    "17": "2023/24 Q1",
    "18": "2023/24 Q2",
    "19": "2023/24 Q3",
    "20": "2023/24 Q4",
    "21": "2024/25 Q1",
    "22": "2024/25 Q2",
}

FT_HEADER = [
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
    "Column not used",
    "Time period Sortable",
    "New data",
    "Compared to goal",
    "Time period range",
]


# ----------------------------------------------------------------------------------------------
# module-scope parses of the real files
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoking():
    return ind.read_fingertips_csv(shared_path(*SMOKING))[0]


@pytest.fixture(scope="module")
def ftn():
    return ind.read_fingertipsnext_csv(shared_path(*FTN))[0]


@pytest.fixture(scope="module")
def cervical():
    return ind.read_cervical_practice_csv(shared_path(*CERVICAL))[0]


@pytest.fixture(scope="module")
def cover_gp():
    folder = shared_path(*GP_DIR)
    return {p.name: ind.read_cover_gp_ods(p)[0] for p in sorted(folder.glob("*.ods"))}


@pytest.fixture(scope="module")
def cover_utla():
    folder = shared_path(*UTLA_DIR)
    start = time.process_time()  # CPU time: robust to other jobs sharing the machine
    results = {p.name: ind.read_cover_utla_ods(p)[0] for p in sorted(folder.glob("*.ods"))}
    results["_seconds"] = time.process_time() - start
    return results


@pytest.fixture(scope="module")
def qk1_practices() -> set[str]:
    """LLR practice codes (ICB QK1) from the Feb 2023 epraccur file."""
    with zipfile.ZipFile(shared_path("gp", "epraccur_2023-02-20.zip")) as zf:
        frame = pd.read_csv(zf.open("epraccur.csv"), header=None, dtype=str)
    return set(frame.loc[frame[3] == "QK1", 0])


# ----------------------------------------------------------------------------------------------
# the public surface and small pure functions
# ----------------------------------------------------------------------------------------------


def test_public_surface():
    assert set(ind.__all__) == {
        "READERS",
        "read_fingertips_csv",
        "read_fingertipsnext_csv",
        "read_cervical_practice_csv",
        "read_cover_gp_ods",
        "read_cover_utla_ods",
        "financial_quarter",
        "period_from_text",
        "check_period_labels",
        "FINGERTIPS_PERIOD_FORMS",
        "FINGERTIPSNEXT_PERIOD_FORMS",
    }
    assert [r.name for r in ind.READERS] == [
        "fingertips_csv",
        "fingertipsnext_csv",
        "phe_cervical_practice",
        "cover_gp_ods",
        "cover_utla_ods",
    ]
    assert {r.kind for r in ind.READERS} == {"indicators"}


def test_doctests():
    result = doctest.testmod(ind)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("Quarterly GP ... 2023 to 2024: quarter 3, October  to December 2023", "2023/24 Q3"),
        ("England - 2019/20, Quarter 1: April to June 2019", "2019/20 Q1"),
        (
            "statistics for children in England aged up to 5 years, January to March 2023",
            "2022/23 Q4",
        ),
        (
            "Table 1. Childhood immunisations by GP practice code for quarter 2 2024 to 2025",
            "2024/25 Q2",
        ),
    ],
)
def test_period_from_text(text, period):
    assert ind.period_from_text([text])[0] == period


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("12mDTaPIPVHibHepB%", ("value", "12m", "dtap_ipv_hib_hepb_12m")),
        ("12m DTaP/IPV/Hib %", ("value", "12m", "dtap_ipv_hib_hepb_12m")),
        ("24m DTaP/IPV/Hib(Hep) %", ("value", "24m", "dtap_ipv_hib_hepb_24m")),
        ("12 month PCV1%", ("value", "12m", "pcv1_12m")),
        ("12m PCV2%", ("value", "12m", None)),  # two doses, the pre-2020 schedule: not PCV1
        ("Coverage at 24 months MMR1 (%)", ("value", "24m", "mmr1_24m")),
        ("Coverage at 5 years DTaP/IPV Booster (%)", ("value", "5y", "dtap_ipv_booster_5y")),
        ("5y DTaPIPV%", ("value", "5y", "dtap_ipv_booster_5y")),
        ("5y DTaP/IPV/Hib/HepB3%", ("value", "5y", "dtap_ipv_hib_5y")),
        ("Coverage at 5 years MMR2 booster (%)", ("value", "5y", "mmr2_5y")),
        ("24m MenB Booster%", ("value", "24m", "menb_booster_24m")),
        ("3m BCG %", ("value", "3m", None)),
        ("5 year denominator", ("denominator", "5y", None)),
        (
            "Number of children who reached 24 months in reporting quarter",
            ("denominator", "24m", None),
        ),
        ("ICB name", None),
    ],
)
def test_cover_column_names_map_to_catalogue_keys(header, expected):
    assert ind._cover_column(header) == expected


# ----------------------------------------------------------------------------------------------
# 1. Fingertips CSV: the real smoking export
# ----------------------------------------------------------------------------------------------


@pytest.mark.shared
def test_smoking_practice_rows_and_periods(smoking, qk1_practices):
    f = smoking.frame
    assert set(f["indicator"].unique()) == {"smoking_prevalence_qof"}
    gp = f[f["area_type"] == "practice"]
    assert len(gp) == 12_645  # SOURCES.md 3.2: Area Type "GPs" over 2022/23 and 2023/24
    assert gp.groupby("period").size().to_dict() == {"2022/23": 6378, "2023/24": 6267}
    assert gp.loc[gp["area_code"].isin(qk1_practices), "area_code"].nunique() == 133
    assert set(f["area_type"].unique()) <= set(INDICATOR_AREA_TYPES)
    assert {"practice", "england", "icb", "sub_icb", "region", "utla", "lad"} <= set(
        f["area_type"].unique()
    )
    assert any("blank Indicator ID" in n for n in smoking.notes)


@pytest.mark.shared
def test_smoking_published_ci_kept_with_998_columns(smoking):
    f = smoking.frame
    row = f[(f["area_code"] == "A81001") & (f["period"] == "2022/23")].iloc[0]
    assert row["value"] == pytest.approx(15.40767386)
    assert (row["lower_ci"], row["upper_ci"]) == pytest.approx((14.22242703, 16.67249633))
    assert (row["lower_ci_998"], row["upper_ci_998"]) == pytest.approx((13.57506973, 17.43775864))
    assert (row["numerator"], row["denominator"]) == (514, 3336)
    both = f.dropna(subset=["lower_ci", "upper_ci", "lower_ci_998", "upper_ci_998"])
    assert len(both) > 5000
    assert (both["lower_ci"] <= both["value"]).all() and (both["value"] <= both["upper_ci"]).all()
    assert (both["lower_ci_998"] <= both["lower_ci"]).all()
    assert (both["upper_ci"] <= both["upper_ci_998"]).all()


@pytest.mark.shared
def test_smoking_drops_categories_and_unmodelled_areas_with_notes(smoking):
    notes = " | ".join(smoking.notes)
    assert "100 category rows dropped" in notes and "deprivation deciles" in notes
    assert "CCG x270" in notes and "PHE Centre" in notes
    f = smoking.frame
    # Fingertips' "n" prefix on new ICB/sub-ICB codes is removed
    assert f.loc[f["area_type"] == "sub_icb", "area_code"].str.match(r"^E38\d{6}$").all()
    # a unitary authority is both a UTLA and a LAD
    leic = f[(f["area_code"] == "E06000016") & (f["period"] == "2021/22")]
    assert set(leic["area_type"]) == {"utla", "lad"}
    # no duplicated key survives (2015/16 repeats every area for Age "Not applicable")
    assert not f.duplicated(["indicator", "area_type", "area_code", "period"]).any()
    assert "duplicate rows" in notes


@pytest.mark.shared
def test_smoking_missing_values_are_kept_as_nan_with_note(smoking):
    f = smoking.frame
    missing = f[f["value"].isna()]
    assert len(missing) >= 6
    assert set(missing["value_note"].dropna()) == {"Value missing in source data"}
    assert any("no published value" in n for n in smoking.notes)


# ----------------------------------------------------------------------------------------------
# 1b. Fingertips CSV: synthetic files in the same 27-column layout (bad input)
# ----------------------------------------------------------------------------------------------


def _ft_row(**over: object) -> list[str]:
    base = {
        "Indicator ID": "91547",
        "Indicator Name": "Smoking prevalence in adults (15+) - current smokers (QOF)",
        "Parent Code": "E92000001",
        "Parent Name": "England",
        "Area Code": "C82001",
        "Area Name": "Practice A",
        "Area Type": "GPs",
        "Sex": "Persons",
        "Age": "15+ yrs",
        "Time period": "2022/23",
        "Value": "15.5",
        "Lower CI 95.0 limit": "14.2",
        "Upper CI 95.0 limit": "16.7",
        "Lower CI 99.8 limit": "13.6",
        "Upper CI 99.8 limit": "17.4",
        "Count": "155",
        "Denominator": "1000",
        "Time period range": "1y",
    }
    base.update({k: str(v) for k, v in over.items()})
    return [base.get(h, "") for h in FT_HEADER]


def _write_csv(
    path: Path, rows: list[list[str]], header: list[str] = FT_HEADER, before: str = ""
) -> Path:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(before + buf.getvalue(), encoding="utf-8")
    return path


def test_fingertips_names_with_newlines_and_quotes(tmp_path):
    path = _write_csv(
        tmp_path / "x.csv",
        [
            _ft_row(),
            _ft_row(**{"Area Code": "C82002", "Area Name": 'The "Old" Surgery,\nMarket St'}),
            _ft_row(
                **{
                    "Area Code": "E92000001",
                    "Area Name": "England",
                    "Area Type": "England",
                    "Count": "9000",
                    "Denominator": "60000",
                    "Value": "15",
                }
            ),
        ],
    )
    res = ind.read_fingertips_csv(path)[0]
    f = res.frame
    assert f.loc[f["area_code"] == "C82002", "area_name"].item() == 'The "Old" Surgery,\nMarket St'
    assert set(f["area_type"].unique()) == {"practice", "england"}
    assert res.source.period == "2022/23"


def test_fingertips_unknown_indicator_rows_dropped_with_note(tmp_path):
    path = _write_csv(
        tmp_path / "x.csv",
        [
            _ft_row(),
            _ft_row(**{"Indicator ID": "90999", "Indicator Name": "Something else"}),
        ],
    )
    res = ind.read_fingertips_csv(path)[0]
    assert len(res.frame) == 1
    assert any("not in the catalogue" in n and "90999" in n for n in res.notes)


def test_fingertips_only_unknown_indicators_is_an_error(tmp_path):
    path = _write_csv(tmp_path / "x.csv", [_ft_row(**{"Indicator ID": "90999"})])
    with pytest.raises(InputFileError, match="none of the indicator IDs") as err:
        ind.read_fingertips_csv(path)
    assert "91547" in str(err.value)  # lists the catalogue's IDs


def test_fingertips_missing_column(tmp_path):
    header = [h for h in FT_HEADER if h != "Count"]
    rows = [[c for h, c in zip(FT_HEADER, _ft_row(), strict=True) if h != "Count"]]
    path = _write_csv(tmp_path / "x.csv", rows, header=header)
    with pytest.raises(InputFileError, match=r"missing column\(s\) 'Count'") as err:
        ind.read_fingertips_csv(path)
    assert err.value.row == 1 and err.value.column == "Count"


def test_fingertips_text_in_count_column(tmp_path):
    path = _write_csv(tmp_path / "x.csv", [_ft_row(), _ft_row(**{"Count": "many"})])
    with pytest.raises(InputFileError, match="expected a number, found 'many'") as err:
        ind.read_fingertips_csv(path)
    assert (err.value.row, err.value.column) == (3, "Count")
    assert "row 3" in str(err.value) and "x.csv" in str(err.value)


def test_fingertips_numerator_above_denominator(tmp_path):
    path = _write_csv(tmp_path / "x.csv", [_ft_row(), _ft_row(**{"Count": "1200"})])
    with pytest.raises(
        InputFileError,
        match="numerator must be less than or equal to "
        "denominator: Count 1200 is greater than "
        "Denominator 1000",
    ) as err:
        ind.read_fingertips_csv(path)
    assert (err.value.row, err.value.column) == (3, "Count")


def test_fingertips_percentage_out_of_range(tmp_path):
    path = _write_csv(tmp_path / "x.csv", [_ft_row(Value="150")])
    with pytest.raises(InputFileError, match="percentage between 0 and 100") as err:
        ind.read_fingertips_csv(path)
    assert (err.value.row, err.value.column) == (2, "Value")


def test_fingertips_truncated_file(tmp_path):
    full = _write_csv(tmp_path / "full.csv", [_ft_row(), _ft_row(**{"Area Code": "C82002"})])
    raw = full.read_bytes()
    cut = tmp_path / "cut.csv"
    cut.write_bytes(raw[: len(raw) - 60])  # the last record loses its last fields
    with pytest.raises(InputFileError, match="truncated") as err:
        ind.read_fingertips_csv(cut)
    assert err.value.row == 3
    quoted = _write_csv(tmp_path / "q.csv", [_ft_row(**{"Area Name": "A, B"})])
    text = quoted.read_text()
    (tmp_path / "q2.csv").write_text(text[: text.index("A, B") + 2])  # ends inside quotes
    with pytest.raises(InputFileError, match="truncated"):
        ind.read_fingertips_csv(tmp_path / "q2.csv")


def test_fingertips_blank_period(tmp_path):
    path = _write_csv(tmp_path / "x.csv", [_ft_row(), _ft_row(**{"Time period": " "})])
    with pytest.raises(InputFileError, match="expected a value, found a blank cell") as err:
        ind.read_fingertips_csv(path)
    assert (err.value.row, err.value.column) == (3, "Time period")


def test_fingertips_empty_and_header_only(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputFileError, match="empty"):
        ind.read_fingertips_csv(tmp_path / "empty.csv")
    path = _write_csv(tmp_path / "h.csv", [])
    with pytest.raises(InputFileError, match="no data rows"):
        ind.read_fingertips_csv(path)


def test_fingertips_header_moved_down(tmp_path):
    """Title rows above the header are skipped (as the ONS/IoD readers do), and every row named
    in an error or carried in ``_row`` is still the row the user sees in the file."""
    before = "Exported from Fingertips\nSmoking prevalence, all ages\n\n"
    path = _write_csv(tmp_path / "x.csv", [_ft_row()], before=before)
    assert ind._sniff_fingertips(path)
    res = ind.read_fingertips_csv(path)[0]
    assert res.frame["area_code"].tolist() == ["C82001"]
    assert "header found on row 4 (the 3 row(s) above it skipped)" in res.notes
    path = _write_csv(tmp_path / "bad.csv", [_ft_row(), _ft_row(Count="many")], before=before)
    with pytest.raises(InputFileError, match="expected a number, found 'many'") as err:
        ind.read_fingertips_csv(path)
    assert (err.value.row, err.value.column) == (6, "Count")
    header = [h for h in FT_HEADER if h != "Denominator"]
    row = [v for h, v in zip(FT_HEADER, _ft_row(), strict=True) if h != "Denominator"]
    path = _write_csv(tmp_path / "nodenom.csv", [row], header=header, before=before)
    with pytest.raises(InputFileError, match=r"missing column\(s\) 'Denominator'") as err:
        ind.read_fingertips_csv(path)
    assert err.value.row == 4  # the header's row, not row 1


def test_fingertipsnext_and_cervical_csv_header_moved_down(tmp_path):
    header = ["IndicatorId", "AreaCode", "Year", "Value", "Count", "Denominator", "LowerCI", "UpperCI"]
    path = _write_csv(
        tmp_path / "n.csv", [["94063", "E92000001", "2022", "66", "6", "10", "65", "67"]],
        header=header, before="FingertipsNext export\n\n",
    )
    assert ind._sniff_fingertipsnext(path)
    res = ind.read_fingertipsnext_csv(path)[0]
    assert res.frame["area_code"].tolist() == ["E92000001"]
    assert "header found on row 3 (the 2 row(s) above it skipped)" in res.notes
    header = ["Organisation.Code", "Eligible25to49", "No..of.women.screened.in.previous.42.months",
              "X3.5.year.coverage.."]
    path = _write_csv(
        tmp_path / "c.csv", [["C82001", "100", "70", "70"], ["C82002", "100", "120", "120"]],
        header=header, before="Cervical screening coverage by GP practice, December 2017\n\n",
    )
    assert ind._sniff_cervical(path)
    with pytest.raises(InputFileError, match="numerator must be less than or equal") as err:
        ind.read_cervical_practice_csv(path)
    assert err.value.row == 5  # title, blank, header, C82001, C82002
    path = _write_csv(
        tmp_path / "c2.csv", [["C82001", "100", "70", "70"]], header=header,
        before="Cervical screening coverage by GP practice, December 2017\n\n",
    )
    res = ind.read_cervical_practice_csv(path)[0]
    assert set(res.frame["period"]) == {"2017/18 Q3 (Dec 2017)"}  # from the title row above


def test_fingertips_keeps_eligible_sex_only(tmp_path):
    path = _write_csv(
        tmp_path / "x.csv",
        [
            _ft_row(),
            _ft_row(Sex="Male", Value="20", Count="200"),
            _ft_row(Sex="Female", Value="11", Count="110"),
        ],
    )
    res = ind.read_fingertips_csv(path)[0]
    assert res.frame["value"].tolist() == [15.5]  # smoking's eligible population: persons
    assert any("other sexes" in n for n in res.notes)


# ----------------------------------------------------------------------------------------------
# 2. FingertipsNext
# ----------------------------------------------------------------------------------------------


@pytest.mark.shared
def test_fingertipsnext_rows_and_england_value(ftn):
    f = ftn.frame
    assert set(f["indicator"].unique()) == {"breast_screening_53_70"}
    counts = f["area_type"].value_counts().to_dict()
    # SOURCES.md 8.4: 59 practices; 68 E38 rows, each code twice a year -> 34; 4 ICB; 2 England.
    # (SOURCES says 62 PCN rows; the file holds 60 U-codes: 193 = 2 + 4 + 68 + 60 + 59.)
    assert counts == {"pcn": 60, "practice": 59, "sub_icb": 34, "icb": 4, "england": 2}
    eng = f[(f["area_type"] == "england") & (f["period"] == "2022")].iloc[0]
    assert round(eng["value"], 2) == 66.64
    assert (eng["numerator"], eng["denominator"]) == (4_305_230, 6_460_635)
    assert eng["lower_ci"] < eng["value"] < eng["upper_ci"]
    assert set(f["period"].unique()) == {"2022", "2023"}
    assert any("34 duplicate rows" in n and "E38" in n for n in ftn.notes)


def test_fingertipsnext_missing_column_and_bad_count(tmp_path):
    header = ["IndicatorId", "AreaCode", "Year", "Value", "Count", "LowerCI", "UpperCI"]
    path = _write_csv(
        tmp_path / "n.csv", [["94063", "E92000001", "2022", "66", "6", "1", "2"]], header=header
    )
    with pytest.raises(InputFileError, match=r"missing column\(s\) 'Denominator'"):
        ind.read_fingertipsnext_csv(path)
    header = [*header, "Denominator"]
    path = _write_csv(
        tmp_path / "n2.csv",
        [
            ["94063", "E92000001", "2022", "66", "six", "65", "67", "10"],
        ],
        header=header,
    )
    with pytest.raises(InputFileError, match="expected a number, found 'six'") as err:
        ind.read_fingertipsnext_csv(path)
    assert (err.value.row, err.value.column) == (2, "Count")


# ----------------------------------------------------------------------------------------------
# 3. PHE cervical screening by practice
# ----------------------------------------------------------------------------------------------


@pytest.mark.shared
def test_cervical_practices_llr_and_period(cervical):
    f = cervical.frame
    assert set(f["indicator"].unique()) == {"cervical_screening_25_49", "cervical_screening_50_64"}
    assert set(f["area_type"].unique()) == {"practice"}
    assert f.groupby("indicator").size().to_dict() == {
        "cervical_screening_25_49": 7569,
        "cervical_screening_50_64": 7569,
    }
    llr = f[f["parent_name"].str.contains("Leicester", na=False)]
    assert llr.groupby("indicator")["area_code"].nunique().tolist() == [141, 141]
    assert set(f["period"].unique()) == {"2017/18 Q3 (Dec 2017)"}
    assert cervical.source.period == "quarter ending 31 Dec 2017"
    assert any("file name" in n for n in cervical.notes)  # said where the period came from


@pytest.mark.shared
def test_cervical_suppression_and_values(cervical):
    f = cervical.frame
    young = f[f["indicator"] == "cervical_screening_25_49"]
    suppressed = young[young["value"].isna()]
    # coverage codes: -2 "<under 6>" x323, -1.75 "<Suppressed>" x59, -1.5 numerator only x20
    assert len(suppressed) == 402
    assert suppressed["value_note"].str.contains("<under 6>").sum() == 343
    assert suppressed["numerator"].isna().all()
    ok = young.dropna(subset=["value", "numerator", "denominator"])
    assert np.allclose(ok["value"], 100 * ok["numerator"] / ok["denominator"])
    first = young[young["area_code"] == "B82007"].iloc[0]
    assert (first["numerator"], first["denominator"]) == (820, 1088)
    assert any("402 practices suppressed" in n for n in cervical.notes)


def _cervical_workbook(path: Path, *, title: str = "Cervical screening coverage") -> Path:
    """The original workbook layout: original header names under a title, hidden 'Dec2017'."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Contents"
    wb.active["A1"] = "Cervical screening coverage by GP practice"
    ws = wb.create_sheet("Dec2017")
    ws.sheet_state = "hidden"
    ws.append([title])
    ws.append([])
    ws.append(
        [
            "Region",
            "CCG",
            "Organisation",
            "Organisation Code",
            "Eligible 25 to 49",
            "No. of women screened in previous 42 months",
            "3.5 year coverage (%)",
            "Eligible 50 to 64",
            "No. of women screened in previous 66 months",
            "5.5 year coverage (%)",
        ]
    )
    ws.append(
        [
            "Midlands",
            "NHS Leicester City CCG",
            "A SURGERY",
            "C82001",
            1000,
            700,
            70.0,
            500,
            400,
            80.0,
        ]
    )
    ws.append(
        [
            "Midlands",
            "NHS Leicester City CCG",
            "B SURGERY",
            "C82002",
            "<under 6>",
            "<under 6>",
            -2,
            100,
            75,
            75.0,
        ]
    )
    wb.save(path)
    return path


def test_cervical_workbook_layout_period_from_sheet_name(tmp_path):
    path = _cervical_workbook(tmp_path / "upload.xlsx")
    assert ind._sniff_cervical(path)
    res = ind.read_cervical_practice_csv(path)[0]
    f = res.frame
    assert set(f["period"].unique()) == {"2017/18 Q3 (Dec 2017)"}
    assert res.meta["sheet"] == "Dec2017"
    a = f[(f["area_code"] == "C82001") & (f["indicator"] == "cervical_screening_25_49")].iloc[0]
    assert (a["numerator"], a["denominator"], a["value"]) == (700, 1000, 70.0)
    b = f[(f["area_code"] == "C82002") & (f["indicator"] == "cervical_screening_25_49")].iloc[0]
    assert math.isnan(b["value"]) and "<under 6>" in b["value_note"]


def test_cervical_workbook_period_from_title_text(tmp_path):
    path = _cervical_workbook(tmp_path / "w.xlsx", title="Coverage at 31 March 2018")
    f = ind.read_cervical_practice_csv(path)[0].frame
    assert set(f["period"].unique()) == {"2017/18 Q4 (Mar 2018)"}


@pytest.mark.shared
def test_cervical_csv_renamed_needs_period(tmp_path):
    copy = tmp_path / "upload_7"
    shutil.copy(shared_path(*CERVICAL), copy)
    assert ind._sniff_cervical(copy)
    with pytest.raises(InputFileError, match="states no period.*pass period="):
        ind.read_cervical_practice_csv(copy)
    res = ind.read_cervical_practice_csv(copy, period="2017/18 Q3 (Dec 2017)")[0]
    assert len(res.frame) == 15_138


def test_cervical_numerator_above_denominator(tmp_path):
    header = [
        "Organisation.Code",
        "Eligible25to49",
        "No..of.women.screened.in.previous.42.months",
        "X3.5.year.coverage..",
    ]
    path = _write_csv(
        tmp_path / "c_dec2017.csv",
        [["C82001", "100", "90", "90"], ["C82002", "100", "120", "120"]],
        header=header,
    )
    with pytest.raises(InputFileError, match="numerator must be less than or equal") as err:
        ind.read_cervical_practice_csv(path)
    assert err.value.row == 3
    assert err.value.column == "No..of.women.screened.in.previous.42.months"


# ----------------------------------------------------------------------------------------------
# 4. COVER GP-level ODS
# ----------------------------------------------------------------------------------------------


@pytest.mark.shared
def test_cover_gp_quarters_practices_and_keys(cover_gp):
    assert len(cover_gp) == 6
    for name, res in cover_gp.items():
        f = res.frame
        assert set(f["period"].unique()) == {GP_PERIODS[name[:2]]}, name
        assert set(f["indicator"].unique()) == COVER_KEYS
        assert set(f["area_type"].unique()) == {"practice", "icb", "icb_unregistered", "england"}
        # V81999 (practice unknown) rows are each ICB's unregistered children, not practices
        unreg = f[f["area_type"] == "icb_unregistered"]
        assert len(unreg) and not unreg.duplicated(["indicator", "area_code"]).any()
        assert not f.loc[f["area_type"] == "practice", "area_code"].str.startswith("V81").any()
        qk1 = f[(f["area_type"] == "practice") & (f["parent_code"] == "QK1")]
        # SOURCES.md: 126-127 QK1 rows a quarter, one of them V81999 ("practice unknown")
        assert 126 <= qk1["area_code"].nunique() <= 127, name
        assert f.loc[f["area_type"] == "practice", "area_name"].isna().all()
        assert set(f.loc[f["area_code"] == "C82001", "la_ods_code"].dropna()) <= {
            "508",
            "509",
            "510",
        }
    assert cover_gp["17_coverGP_Apr23Jun23.ods"].meta["header_row"] == 3
    assert cover_gp["22_coverGP_Jul24Sept24.ods"].meta["header_row"] == 5


@pytest.mark.shared
def test_cover_gp_numerator_is_estimated_from_percentage(cover_gp):
    res = cover_gp["17_coverGP_Apr23Jun23.ods"]
    f = res.frame
    ok = f.dropna(subset=["value", "denominator"])
    assert (ok["numerator"] == np.round(ok["denominator"] * ok["value"] / 100)).all()
    assert f["numerator_estimated"].all()
    assert any("round(denominator x value / 100)" in n for n in res.notes)
    assert any("[note 1]" in n and "not published" in n for n in res.notes)
    a = f[(f["area_code"] == "A81001") & (f["indicator"] == "dtap_ipv_hib_hepb_12m")].iloc[0]
    assert (a["denominator"], a["value"], a["numerator"]) == (15, pytest.approx(93.3333333), 14)


@pytest.mark.shared
def test_cover_gp_llr_practices_reproduce_published_icb_row(cover_gp):
    """Summed QK1 practices against the published QK1 ICB row of the same file.

    Tolerance: the practices' denominators sum to 98-100% of the ICB's, and the pooled coverage
    is within 1 percentage point. They cannot agree exactly: practices with fewer than 5
    children have their denominator suppressed ([note 1]); children whose practice is unknown
    (pseudo-code V81999) count in the ICB total but at no practice; and practice numerators
    are estimates, rounded from a percentage. Observed: at most 1.0% of the denominator and
    0.56 points (2023/24 Q1 5y DTaP/IPV).
    """
    for name, res in cover_gp.items():
        f = res.frame
        prac = f[(f["area_type"] == "practice") & (f["parent_code"] == "QK1")]
        prac = prac.dropna(subset=["numerator", "denominator"])
        sums = prac.groupby("indicator")[["numerator", "denominator"]].sum()
        icb = f[(f["area_type"] == "icb") & (f["area_code"] == "QK1")].set_index("indicator")
        assert set(icb.index) == COVER_KEYS, name
        share = sums["denominator"] / icb["denominator"]
        assert share.between(0.98, 1.0).all(), (name, share.to_dict())
        pooled = 100 * sums["numerator"] / sums["denominator"]
        assert ((pooled - icb["value"]).abs() < 1.0).all(), (name, (pooled - icb["value"]))


def _ods(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    with pd.ExcelWriter(path, engine="odf") as writer:
        for name, rows in sheets.items():
            pd.DataFrame(rows).to_excel(writer, sheet_name=name, header=False, index=False)
    return path


GP_HEADER = [
    "ICB code",
    "ICB name",
    "Local authority code",
    "GP code",
    "12m Denominator",
    "12mDTaPIPVHibHepB%",
    "12m MenB%",
    "12m PCV1%",
    "12m Rota%",
]
INFO = [
    ["Cover of vaccination evaluated rapidly (COVER) programme"],
    [
        "Quarterly GP vaccination coverage statistics ... 2023 to 2024: quarter 1, April to "
        "June 2023"
    ],
]


def _gp_sheet(*rows: list[object], header: list[str] = GP_HEADER) -> list[list[object]]:
    return [
        ["Table 1. Childhood immunisations by GP practice code"],
        ["[note 1] ..."],
        header,
        *rows,
    ]


def test_cover_gp_synthetic_reads(tmp_path):
    path = _ods(
        tmp_path / "data",
        {
            "Information": INFO,
            "GP_Code": _gp_sheet(
                ["QK1", "NHS LLR ICB", 509, "C82001", 20, 90, 85, 95, 80],
                ["QK1", "NHS LLR ICB", 509, "C82002", "[note 1]", 100, 100, 100, 100],
            ),
        },
    )
    assert ind._sniff_cover_gp(path) and not ind._sniff_cover_utla(path)
    res = ind.read_cover_gp_ods(path)[0]
    f = res.frame
    assert set(f["period"].unique()) == {"2023/24 Q1"} and res.meta["header_row"] == 3
    a = f[(f["area_code"] == "C82001") & (f["indicator"] == "dtap_ipv_hib_hepb_12m")].iloc[0]
    assert (a["numerator"], a["denominator"], a["la_ods_code"]) == (18, 20, "509")
    b = f[(f["area_code"] == "C82002") & (f["indicator"] == "menb_12m")].iloc[0]
    assert math.isnan(b["denominator"]) and math.isnan(b["numerator"]) and b["value"] == 100
    assert any("no ICB_Code sheet" in n for n in res.notes)


def test_cover_gp_without_gp_code_sheet(tmp_path):
    path = _ods(tmp_path / "x.ods", {"Information": INFO, "Other": [["nothing here"]]})
    with pytest.raises(
        InputFileError, match="no GP-level table: expected a sheet 'GP_Code'"
    ) as err:
        ind.read_cover_gp_ods(path)
    assert err.value.sheet == "GP_Code"
    assert "'Information', 'Other'" in str(err.value)


def test_cover_gp_missing_column(tmp_path):
    header = [h for h in GP_HEADER if h != "GP code"]
    path = _ods(
        tmp_path / "x.ods",
        {
            "Information": INFO,
            "GP_Code": _gp_sheet(["QK1", "NHS LLR ICB", 509, 20, 90, 85, 95, 80], header=header),
        },
    )
    with pytest.raises(InputFileError, match=r"missing column\(s\) 'GP code'") as err:
        ind.read_cover_gp_ods(path)
    assert (err.value.sheet, err.value.row, err.value.column) == ("GP_Code", 3, "GP code")


def test_cover_gp_text_in_denominator(tmp_path):
    path = _ods(
        tmp_path / "x.ods",
        {
            "Information": INFO,
            "GP_Code": _gp_sheet(
                ["QK1", "NHS LLR ICB", 509, "C82001", 20, 90, 85, 95, 80],
                ["QK1", "NHS LLR ICB", 509, "C82002", "lots", 90, 85, 95, 80],
            ),
        },
    )
    with pytest.raises(InputFileError, match="expected a number, found 'lots'") as err:
        ind.read_cover_gp_ods(path)
    assert (err.value.sheet, err.value.row, err.value.column) == ("GP_Code", 5, "12m Denominator")
    assert "sheet 'GP_Code', row 5, column '12m Denominator'" in str(err.value)


def test_cover_gp_percentage_above_100(tmp_path):
    path = _ods(
        tmp_path / "x.ods",
        {
            "Information": INFO,
            "GP_Code": _gp_sheet(["QK1", "NHS LLR ICB", 509, "C82001", 20, 190, 85, 95, 80]),
        },
    )
    with pytest.raises(InputFileError, match="percentage between 0 and 100, found 190") as err:
        ind.read_cover_gp_ods(path)
    assert (err.value.row, err.value.column) == (4, "12mDTaPIPVHibHepB%")


def test_cover_gp_without_period(tmp_path):
    path = _ods(
        tmp_path / "x.ods",
        {
            "Information": [["COVER"]],
            "GP_Code": _gp_sheet(["QK1", "NHS LLR ICB", 509, "C82001", 20, 90, 85, 95, 80]),
        },
    )
    with pytest.raises(InputFileError, match="could not find the reporting quarter"):
        ind.read_cover_gp_ods(path)


# ----------------------------------------------------------------------------------------------
# 5. COVER by upper-tier local authority
# ----------------------------------------------------------------------------------------------


def _quarter_from_name(name: str) -> str:
    m = re.fullmatch(r"COVER_(\d{4})_(\d{4})_Q(\d)\.ods", name)
    assert m, name
    return f"{m.group(1)}/{m.group(2)[2:]} Q{m.group(3)}"


@pytest.mark.shared
def test_cover_utla_every_file_has_llr_mmr1_and_its_quarter(cover_utla):
    files = {k: v for k, v in cover_utla.items() if k != "_seconds"}
    assert len(files) == 24
    for name, res in files.items():
        f = res.frame
        assert set(f["period"].unique()) == {_quarter_from_name(name)}, name
        mmr = f[(f["indicator"] == "mmr1_24m") & (f["area_type"] == "utla")].set_index("area_code")
        for code in LLR_UTLAS:
            assert 70 <= mmr.loc[code, "value"] <= 100, (name, code)
            assert mmr.loc[code, "parent_code"] == "E12000004", (name, code)
        assert set(f["area_type"].unique()) == {"utla", "region", "england"}, name
        assert f.loc[f["area_type"] == "utla", "area_code"].str.match(r"^E(0[689]|10)\d{6}$").all()
        assert f.loc[f["area_type"] == "region", "area_code"].nunique() == 9, name
        assert f["numerator_estimated"].all()


@pytest.mark.shared
def test_cover_utla_layouts_and_pcv(cover_utla):
    old = cover_utla["COVER_2019_2020_Q1.ods"]
    assert "pcv1_12m" not in set(old.frame["indicator"])  # only PCV2 was published then
    assert any("PCV2" in n and "not the same measure" in n for n in old.notes)
    assert len(set(old.frame["indicator"])) == 13
    assert cover_utla["COVER_2024_2025_Q3.ods"].meta["sheets"] == ["Table5", "Table6", "Table7"]
    assert cover_utla["COVER_2024_2025_Q4.ods"].meta["sheets"] == ["Table_5", "Table_6", "Table_7"]
    new = cover_utla["COVER_2024_2025_Q4.ods"].frame
    assert set(new["indicator"]) == COVER_KEYS
    leic = new[(new["area_code"] == "E06000016") & (new["indicator"] == "mmr1_24m")].iloc[0]
    assert leic["value"] == 88.6 and leic["ods_code"] == "509" and leic["area_name"] == "Leicester"
    # 2021-22 Q1 published Buckinghamshire and the Northamptonshires with no ONS code
    mid = cover_utla["COVER_2021_2022_Q1.ods"]
    assert "E06000060" in set(mid.frame["area_code"])
    assert any("without an ONS code" in n for n in mid.notes)
    # 2024-25 Q3 excluded England's figures ([x]): the row stays, with NaN
    eng = cover_utla["COVER_2024_2025_Q3.ods"].frame.query("area_type == 'england'")
    assert eng["value"].isna().all() and set(eng["value_note"]) == {"[x]"}


@pytest.mark.shared
def test_cover_utla_reads_all_files_quickly(cover_utla):
    assert cover_utla["_seconds"] < 30  # 24 files; about 8 s of CPU on the dev machine


def test_cover_utla_without_a_utla_table(tmp_path):
    path = _ods(
        tmp_path / "x.ods",
        {
            "Cover": [["Quarterly vaccination coverage statistics: April to June 2023"]],
            "12m_UTLA_GOR": [
                ["Upper Tier LA Name", "12m Denominator", "12m MMR1%"],
                ["Leicester", 5, 90],
            ],
        },
    )
    assert not ind._sniff_cover_utla(path)
    with pytest.raises(
        InputFileError, match="no COVER table by upper-tier local authority.*'ONS UTLA code'"
    ):
        ind.read_cover_utla_ods(path)


def test_cover_utla_synthetic_old_layout(tmp_path):
    header = [
        "ONS Government Office Region Code",
        "ONS Government Office Region Name",
        "ONS Upper Tier LA Code",
        "ODS Upper Tier LA Code",
        "Upper Tier LA Name",
        "24m Denominator",
        "24m MMR1%",
    ]
    path = _ods(
        tmp_path / "x.ods",
        {
            "Information": [["England - 2019/20, Quarter 1: April to June 2019"]],
            "24m_UTLA_GOR": [
                header,
                ["", "", "", "", "England", 1000, 90],
                ["E12000004", "East Midlands", "E06000016", 509, "Leicester", 100, 91],
                ["", "", "E06000017", 510, "Rutland", 10, "*"],
                ["", "East Midlands Total", "", "", "", 110, 90.5],
                ["", "", "", "*", "Please see caveats tab", "", ""],
            ],
        },
    )
    assert ind._sniff_cover_utla(path)
    res = ind.read_cover_utla_ods(path)[0]
    f = res.frame.set_index("area_code")
    assert f.loc["E92000001", "area_type"] == "england"
    assert f.loc["E12000004", ["area_type", "area_name"]].tolist() == ["region", "East Midlands"]
    assert f.loc["E06000016", ["numerator", "ods_code", "parent_code"]].tolist() == [
        91,
        "509",
        "E12000004",
    ]
    assert math.isnan(f.loc["E06000017", "value"]) and f.loc["E06000017", "value_note"] == "*"
    assert set(res.frame["period"]) == {"2019/20 Q1"}


# ----------------------------------------------------------------------------------------------
# sniffers: content, not names; each format to its own reader; never raising
# ----------------------------------------------------------------------------------------------


def _sniffed(path: Path) -> set[str]:
    return {r.name for r in ind.READERS if r.sniff(path)}


@pytest.mark.shared
def test_sniffers_pick_their_own_format_even_renamed(tmp_path):
    samples = {
        "fingertips_csv": shared_path(*SMOKING),
        "fingertipsnext_csv": shared_path(*FTN),
        "phe_cervical_practice": shared_path(*CERVICAL),
        "cover_gp_ods": shared_path(*GP_DIR, "22_coverGP_Jul24Sept24.ods"),
        "cover_utla_ods": shared_path(*UTLA_DIR, "COVER_2019_2020_Q1.ods"),
        "cover_utla_ods ": shared_path(*UTLA_DIR, "COVER_2024_2025_Q4.ods"),
    }
    for i, (expected, path) in enumerate(samples.items()):
        assert _sniffed(path) == {expected.strip()}, path.name
        copy = tmp_path / f"upload_{i}"
        shutil.copy(path, copy)
        assert _sniffed(copy) == {expected.strip()}, f"renamed {path.name}"


@pytest.mark.shared
def test_sniffers_reject_other_files(tmp_path):
    others = [
        shared_path("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
        shared_path("fingertips_gp", "fingertips_93553_gp_imd_score_fingertipsR.csv"),
        shared_path("gp", "ePCN_2019-12.xlsx"),
        shared_path("gp", "epraccur_2023-02-20.zip"),
    ]
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "binary").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "fake.ods").write_bytes(b"PK\x03\x04 not really a zip")
    for path in [
        *others,
        tmp_path / "empty",
        tmp_path / "binary",
        tmp_path / "fake.ods",
        tmp_path / "does-not-exist",
    ]:
        assert _sniffed(path) == set(), path.name


def test_read_results_validate_against_the_schema(tmp_path):
    """Every output column the schema knows has the canonical name and type."""
    path = _write_csv(tmp_path / "x.csv", [_ft_row()])
    f = ind.read_fingertips_csv(path)[0].frame
    assert list(f.columns[:11]) == list(ind.CANONICAL)
    assert f["indicator"].isin(INDICATOR_KEYS).all()
    assert f["numerator"].dtype == float and f["value"].dtype == float


def test_a_lower_limit_above_the_upper_one_names_its_row_and_column(tmp_path):
    path = _write_csv(tmp_path / "ft.csv", [_ft_row(), _ft_row(**{"Lower CI 99.8 limit": "18.0"})])
    with pytest.raises(InputFileError, match=r"expected the lower 99\.8% limit to be at most the upper one, "
                       r"found 18 above 17\.4") as err:
        ind.read_fingertips_csv(path)
    assert (err.value.row, err.value.column) == (3, "Lower CI 99.8 limit")
    header = ["IndicatorId", "AreaCode", "Year", "Value", "Count", "LowerCI", "UpperCI", "Denominator"]
    path = _write_csv(tmp_path / "n.csv", [["94063", "E92000001", "2022", "66", "6", "68", "65", "10"]],
                      header=header)
    with pytest.raises(InputFileError, match=r"expected the lower limit to be at most the upper one, "
                       r"found 68 above 65") as err:
        ind.read_fingertipsnext_csv(path)
    assert (err.value.row, err.value.column) == (2, "LowerCI")


# ----------------------------------------------------------------------------------------------
# periods that a spreadsheet turned into dates (issue 11, item 4)
# ----------------------------------------------------------------------------------------------

FT_FORMS = "expected a period such as '2023/24', '2023', '2023/24 Q1', '2023 Q1' or '2021 - 23'"


@pytest.mark.parametrize(
    ("label", "found"),
    [
        ("45017", "found '45017', an Excel day number (day 45017 is 2023-04-01)"),
        ("45017.0", "found '45017.0', an Excel day number (day 45017 is 2023-04-01)"),
        ("01/04/2023", "found '01/04/2023', a date"),
        ("1/4/23", "found '1/4/23', a date"),
        ("01.04.2023", "found '01.04.2023', a date"),
        ("2023-04-01", "found '2023-04-01', a date"),
        ("2023-04-01 00:00:00", "found '2023-04-01 00:00:00', a date"),
        ("01-Apr-2023", "found '01-Apr-2023', a date"),
        ("1 April 2023", "found '1 April 2023', a date"),
    ],
)
def test_dates_as_periods_are_refused(label: str, found: str) -> None:
    labels = pd.Series(["2022/23", label, "2023/24"])
    with pytest.raises(InputFileError) as err:
        ind.check_period_labels(labels, np.array([5, 6, 7]), Path("ft.csv"), "Time period",
                                ind.FINGERTIPS_PERIOD_FORMS)
    assert (err.value.row, err.value.column) == (6, "Time period")
    assert err.value.detail == (
        f"{FT_FORMS}, {found}: a spreadsheet turned the period into a date; export the file "
        "again, or format the column as text before saving"
    )


@pytest.mark.parametrize(
    "label",
    ["2022/23", "2023", "2023/24 Q1", "2023 Q1", "2021 - 23", "2016/17 - 18/19", "Apr 2023",
     "2023/24 Q1 (Jun)", "2019/20 Q4"],
)
def test_published_period_forms_are_kept(label: str) -> None:
    ind.check_period_labels(pd.Series([label]), np.array([2]), Path("ft.csv"), "Time period",
                            ind.FINGERTIPS_PERIOD_FORMS)


@pytest.mark.shared
def test_real_fingertips_periods_pass(smoking):
    """Every period of the real exports is one of the published forms (no false alarm)."""
    assert smoking.frame["period"].str.fullmatch(r"20\d\d/\d\d").all()


def _edited_real_csv(tmp_path: Path, rel: tuple[str, ...], column: str, value: str,
                     where: dict[str, str]) -> tuple[Path, int]:
    """The real export's first 400 rows with ``column`` set to ``value`` on the first row
    matching ``where``; returns the file and that row's number (header = row 1)."""
    import csv as _csv
    import io as _io

    src = shared_path(*rel).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    rows = list(_csv.reader(_io.StringIO("".join(src[:400]))))
    head = rows[0]
    i = next(k for k, r in enumerate(rows[1:], start=1)
             if all(r[head.index(c)] == v for c, v in where.items()))
    rows[i][head.index(column)] = value
    buf = _io.StringIO()
    _csv.writer(buf, lineterminator="\n").writerows(rows)
    out = tmp_path / "export.csv"
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out, i + 1


@pytest.mark.shared
def test_fingertips_excel_serial_period_is_refused_with_row(tmp_path: Path) -> None:
    rel = ("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
    gp = {"Area Type": "England", "Category Type": ""}
    ok, _ = _edited_real_csv(tmp_path, rel, "Time period", "2023/24 Q1", gp)
    assert "2023/24 Q1" in set(ind.read_fingertips_csv(ok)[0].frame["period"])  # a published form: kept
    p, row = _edited_real_csv(tmp_path, rel, "Time period", "45017", gp)
    with pytest.raises(InputFileError) as err:
        ind.read_fingertips_csv(p)
    assert (err.value.row, err.value.column) == (row, "Time period")
    assert err.value.detail.startswith(f"{FT_FORMS}, found '45017', an Excel day number (day 45017 is 2023-04-01)")


@pytest.mark.shared
def test_fingertipsnext_date_year_is_refused_with_row(tmp_path: Path) -> None:
    rel = ("screening", "fingertipsnext_healthdata_94063_breast_screening_53_70_subset.csv")
    p, row = _edited_real_csv(tmp_path, rel, "Year", "01/01/2023", {"AreaCode": "E92000001"})
    with pytest.raises(InputFileError) as err:
        ind.read_fingertipsnext_csv(p)
    assert (err.value.row, err.value.column) == (row, "Year")
    assert err.value.detail.startswith(
        "expected a period such as '2023' or '2023/24', found '01/01/2023', a date: a spreadsheet "
        "turned the period into a date"
    )
