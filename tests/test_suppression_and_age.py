"""Issue 11 items 7 and 8 on the real LLR data: suppressed counts say so, every figure says its age.

Package, exports, CLI and app (AppTest) checks. The practice used throughout is C82620 (DR S
SHAFI): in COVER 2024/25 Q2 its MMR1 coverage is 66.7% with the denominator suppressed
(``[note 1]``, fewer than 5 children).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from conftest import shared_path
from hiexplore import flags as F
from hiexplore.apportion import area_figures
from hiexplore.cli import app
from hiexplore.dataset import load_dataset
from hiexplore.exports import metadata_rows, write_table
from hiexplore.mapping import map_values
from hiexplore.stats.funnel import FUNNEL_LEFT_OUT, funnel_frame, funnel_significance
from hiexplore.suppression import is_suppressed, mark_suppressed, suppressed_note

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PRACTICE, MMR, CERV = "C82620", "mmr1_24m", "cervical_screening_25_49"
MMR_PERIOD, CERV_PERIOD = "2024/25 Q2", "2017/18 Q3 (Dec 2017)"
NOTE = "fewer than 5 eligible (suppressed): 66.7%, no interval"
STALE = f"out of date (period {CERV_PERIOD})"
OLD_FLAG_COLUMNS = [
    "area_code", "area_name", "geography", "indicator", "period", "numerator", "denominator",
    "value", "lower_ci_95", "upper_ci_95", "lower_ci_998", "upper_ci_998", "benchmark_value",
    "vs_benchmark", "standard_band", "imd_decile", "core20", "expected_value", "vs_expected",
    "cluster", "people_to_reach", "priority_score", "priority_rank", "flagged", "reasons",
]


@pytest.fixture(scope="module")
def llr(embedded_dataset: Path):
    return load_dataset(embedded_dataset)


@pytest.fixture(scope="module")
def mmr_practices(llr) -> pd.DataFrame:
    return F.compute_flags(llr, MMR, "practice", period=MMR_PERIOD)


# --- 7. suppressed counts -------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow  # the whole national file (~7 s); the corpus case below proves the same on a real slice
def test_cover_reader_writes_the_suppressed_note() -> None:
    from hiexplore.io.indicators import read_cover_gp_ods

    res = read_cover_gp_ods(shared_path("immunisation", "cover_gp_quarterly", "22_coverGP_Jul24Sept24.ods"))[0]
    f = res.frame
    row = f[(f["area_code"] == PRACTICE) & (f["indicator"] == MMR)].iloc[0]
    assert row["value"] == pytest.approx(66.6667, abs=1e-3)
    assert pd.isna(row["denominator"]) and pd.isna(row["numerator"])
    assert row["value_note"] == NOTE
    sup = is_suppressed(f)
    # every suppressed row is a practice with a value and no denominator, and every such row is marked
    assert sup.sum() > 100
    assert f.loc[sup, "denominator"].isna().all() and f.loc[sup, "value"].notna().all()
    unmarked = f["denominator"].isna() & f["value"].notna() & (f["area_type"] == "practice") & ~sup
    assert not unmarked.any()
    assert any(f"{int(sup.sum())} practice figures have a suppressed denominator" in n for n in res.notes)


def test_only_cover_practice_rows_are_marked() -> None:
    rows = pd.DataFrame({
        "area_type": ["practice", "practice", "icb", "practice"],
        "source": ["UKHSA COVER GP-level (x.ods)", "Fingertips data export (y.csv)", "UKHSA COVER GP-level (x.ods)",
                   "UKHSA COVER GP-level (x.ods)"],
        "numerator": [np.nan, np.nan, np.nan, 9.0], "denominator": [np.nan, np.nan, np.nan, 10.0],
        "value": [50.0, 50.0, 50.0, 90.0], "value_note": [None, None, None, None],
    })
    out = mark_suppressed(rows)
    assert out["value_note"].tolist() == [suppressed_note(50.0), None, None, None]
    assert is_suppressed(out).tolist() == [True, False, False, False]
    assert mark_suppressed(out) is out  # already marked: nothing to do


def test_suppressed_practice_is_never_banded_or_flagged(mmr_practices: pd.DataFrame) -> None:
    f = mmr_practices
    row = f[f["area_code"] == PRACTICE].iloc[0]
    assert row["value"] == pytest.approx(66.667, abs=1e-3)
    assert row["value_note"] == NOTE
    assert row["standard_band"] == "not banded (suppressed)"  # not "below acceptable" on 66.7%
    assert row["vs_benchmark"] == "Not compared" and not row["flagged"]
    assert pd.isna(row["priority_rank"]) and pd.isna(row["lower_ci_95"]) and pd.isna(row["people_to_reach"])
    assert row["reasons"] == f"MMR1 at 24 months: {NOTE}; not flagged."
    assert "no eligible population" not in row["reasons"]
    sup = is_suppressed(f)
    assert (f.loc[sup, "standard_band"] == "not banded (suppressed)").all() and not f.loc[sup, "flagged"].any()
    assert f.attrs["suppressed"]["practices"] == int(sup.sum()) >= 1


def test_funnel_leaves_suppressed_practices_out_with_a_count(mmr_practices: pd.DataFrame) -> None:
    out = funnel_frame(mmr_practices)
    sup = is_suppressed(mmr_practices)
    assert (out.loc[sup, "funnel"] == FUNNEL_LEFT_OUT).all()
    left = out.attrs["funnel_left_out"]
    assert left["suppressed"] == int(sup.sum())
    assert left["text"].startswith(f"{left['suppressed'] + left['no_figure']} left out of the funnel plot")
    placed = ~out["funnel"].isin([FUNNEL_LEFT_OUT, "n/a"])
    assert out.attrs["funnel_points"] == int(placed.sum()) == len(out) - left["suppressed"] - left["no_figure"]
    ok = mmr_practices[placed]
    expect = funnel_significance(ok["numerator"], ok["denominator"])
    assert out.loc[placed, "funnel"].tolist() == list(expect)


def test_apportioning_reports_eligible_people_missing(llr) -> None:
    # neighbourhood figures rest on every practice of the dataset (the areas' own and the
    # neighbouring ones whose patients live there), not only those the practice level lists
    from hiexplore.apportion import _indicator_rows, practice_figures

    rows = practice_figures(_indicator_rows(llr, MMR), MMR, MMR_PERIOD)
    practice = rows[rows["area_code"].isin(set(llr.practices["practice_code"]))]
    n = int(is_suppressed(practice).sum())
    assert n >= int(is_suppressed(area_figures(llr, MMR, "practice", MMR_PERIOD)).sum()) > 0
    lsoa = area_figures(llr, MMR, "lsoa", MMR_PERIOD)
    sup = lsoa.attrs["suppressed"]
    assert sup["practices"] == n and sup["eligible_missing_min"] == n and sup["eligible_missing_max"] == 4 * n
    assert sup["indicator"] == MMR and sup["period"] == MMR_PERIOD
    assert f"{n} practices with fewer than 5 eligible each (suppressed)" in sup["text"]
    assert f"between {n} and {4 * n} eligible people" in sup["text"]
    # the sums hold only the published denominators (the suppressed ones are not guessed)
    published = practice.loc[~is_suppressed(practice), "denominator"].sum()
    inside = lsoa["denominator"].sum() + lsoa.attrs["out_of_area"]["denominator"]
    assert inside == pytest.approx(published, rel=1e-9)
    assert area_figures(llr, MMR, "ward", MMR_PERIOD).attrs["suppressed"] == sup


# --- 8. every figure says how old it is -------------------------------------------------------


def test_flags_carry_period_end_and_out_of_date(llr) -> None:
    cerv = F.compute_flags(llr, CERV, "lsoa", with_clusters=False, with_expected=False)
    mmr = F.compute_flags(llr, MMR, "lsoa", with_clusters=False, with_expected=False)
    assert F.FLAG_COLUMNS[: len(OLD_FLAG_COLUMNS)] == OLD_FLAG_COLUMNS  # nothing dropped or moved
    for f in (cerv, mmr):
        assert list(f.columns[: len(F.FLAG_COLUMNS)]) == F.FLAG_COLUMNS
    assert (cerv["period_end"] == pd.Timestamp("2017-12-31")).all() and cerv["out_of_date"].all()
    assert (mmr["period_end"] == pd.Timestamp("2024-09-30")).all() and not mmr["out_of_date"].any()
    assert cerv["reasons"].str.endswith(f"; {STALE}.").all()
    assert not mmr["reasons"].str.contains("out of date").any()
    assert cerv.attrs["age_mark"] == STALE and cerv.attrs["newest_period_end"] == "2025-03-31"
    # the threshold is a named parameter
    lenient = F.compute_flags(llr, CERV, "lsoa", with_clusters=False, with_expected=False, out_of_date_years=10)
    assert not lenient["out_of_date"].any() and not lenient["reasons"].str.contains("out of date").any()


def test_reasons_vectorised_equal_row_by_row_with_age_and_suppression(mmr_practices: pd.DataFrame) -> None:
    f = mmr_practices
    for mark in ("", STALE):
        ref = [F._reason(r, "MMR1", "England", 90.0, True, mark) for r in f.to_dict("records")]
        assert list(F._reasons(f, "MMR1", "England", 90.0, True, mark)) == ref
    assert any(NOTE in r for r in ref) and all(r.endswith(f"; {STALE}.") for r in ref)


def test_targets_mixing_periods_say_so(llr) -> None:
    t = F.compute_targets(llr, [MMR, CERV], "lsoa")
    assert t.attrs["period_note"].startswith("This list mixes periods: ")
    assert STALE in t.attrs["period_note"] and MMR_PERIOD in t.attrs["period_note"]
    assert t.attrs["periods"][CERV] == {"period": CERV_PERIOD, "period_end": "2017-12-31", "out_of_date": True}
    assert t.attrs["periods"][MMR]["out_of_date"] is False
    assert t["out_of_date"].all()  # every LLR neighbourhood is flagged on cervical (all below 80%)
    assert (t.loc[t["indicators"].str.contains(CERV), "period_end"] == pd.Timestamp("2017-12-31")).all()
    assert [s["indicator"] for s in t.attrs["suppressed"]] == [MMR]
    # a row's age is that of the figures it is flagged on: with a 9-month rule, smoking 2023/24
    # (ended March 2024) is out of date and MMR1 2024/25 Q2 (ended September 2024) is not
    smoke = "smoking_prevalence_qof"
    t = F.compute_targets(llr, [MMR, smoke], "lsoa", out_of_date_years=0.75)
    on_smoke = t["indicators"].str.contains(smoke)
    only_mmr = t["flagged"] & ~on_smoke
    assert on_smoke.any() and only_mmr.any()
    assert t.loc[on_smoke, "out_of_date"].all() and not t.loc[only_mmr, "out_of_date"].any()
    assert (t.loc[on_smoke, "period_end"] == pd.Timestamp("2024-03-31")).all()
    assert (t.loc[only_mmr, "period_end"] == pd.Timestamp("2024-09-30")).all()
    assert t.attrs["period_note"].endswith("out of date (period 2023/24).")
    one = F.compute_targets(llr, [MMR], "lsoa", top=5)
    assert one.attrs["period_note"] is None and not one["out_of_date"].any()


def test_area_profile_and_map_title_mark_old_figures(llr) -> None:
    from hiexplore.errors import RequestError
    from hiexplore.profile import PROFILE_COLUMNS, area_profile

    frames = {k: F.compute_flags(llr, k, "lsoa", with_clusters=False, with_expected=False) for k in (CERV, MMR)}

    def flags_for(key: str) -> pd.DataFrame:
        if key not in frames:
            raise RequestError(f"{key} not needed here")
        return frames[key]

    area = frames[MMR]["area_code"].iloc[0]
    prof = area_profile(llr, area, "lsoa", flags_for=flags_for).indicators.set_index("indicator")
    assert list(prof.reset_index().columns) == PROFILE_COLUMNS and set(prof.index) == {CERV, MMR}
    assert prof.loc[CERV, "age"] == STALE and bool(prof.loc[CERV, "out_of_date"])
    assert prof.loc[MMR, "age"] == "" and not bool(prof.loc[MMR, "out_of_date"])
    assert prof.loc[CERV, "period_end"] == pd.Timestamp("2017-12-31")
    _, legend = map_values(llr, CERV, "lsoa")
    assert legend["title"].endswith(f"{CERV_PERIOD} · {STALE}")
    _, legend = map_values(llr, MMR, "lsoa")
    assert "out of date" not in legend["title"]


def test_exports_carry_age_and_suppression(llr, mmr_practices: pd.DataFrame, tmp_path: Path) -> None:
    t = F.compute_targets(llr, [MMR, CERV], "lsoa", top=10)
    meta = dict(metadata_rows(llr, t, "targets"))
    assert meta["period warning"] == t.attrs["period_note"]
    assert STALE in meta["out of date"] and "suppressed" in meta
    assert json.loads(meta["periods by indicator"])[CERV]["out_of_date"] is True
    x = write_table(t, tmp_path / "t.xlsx", ds=llr, kind="targets")
    sheet = pd.read_excel(x, sheet_name="metadata", engine="openpyxl")
    assert {"period warning", "out of date", "suppressed", "period end"} <= set(sheet["field"])
    import openpyxl

    ws = openpyxl.load_workbook(x)["data"]
    cell = ws.cell(2, [c.value for c in ws[1]].index("period_end") + 1)
    assert cell.value.date() == date(2017, 12, 31) and cell.number_format == "yyyy-mm-dd"  # a date, shown as one
    g = gpd.read_file(write_table(t, tmp_path / "t.gpkg", ds=llr, kind="targets"), layer="metadata")
    assert "period warning" in set(g["field"])
    gj = gpd.read_file(write_table(t, tmp_path / "t.geojson", ds=llr, kind="targets"))
    assert {"period_end", "out_of_date"} <= set(gj.columns) and gj["out_of_date"].all()
    c = pd.read_csv(write_table(mmr_practices, tmp_path / "f.csv", ds=llr), encoding="utf-8-sig")
    assert c.loc[c["area_code"] == PRACTICE, "value_note"].item() == NOTE
    assert c.loc[c["area_code"] == PRACTICE, "period_end"].item() == "2024-09-30"
    assert dict(metadata_rows(llr, mmr_practices, "flags"))["suppressed"] == mmr_practices.attrs["suppressed"]["text"]


def test_cli_prints_age_and_suppression(embedded_dataset: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["targets", "--dataset", str(embedded_dataset), "--indicator", f"{MMR},{CERV}",
                              "--geography", "lsoa", "--top", "5", "--out", str(tmp_path / "t.csv")])
    assert out.exit_code == 0, out.output
    assert "Period warning: This list mixes periods" in out.output and STALE in out.output
    assert "Suppressed: mmr1_24m 2024/25 Q2:" in out.output
    out = runner.invoke(app, ["flags", "--dataset", str(embedded_dataset), "--indicator", MMR, "--geography",
                              "practice", "--period", MMR_PERIOD, "--out", str(tmp_path / "f.csv")])
    assert out.exit_code == 0, out.output
    assert "left out of the funnel plot and its significance" in out.output
    assert "with fewer than 5 eligible (suppressed" in out.output
    out = runner.invoke(app, ["flags", "--dataset", str(embedded_dataset), "--indicator", CERV, "--geography",
                              "lsoa", "--out", str(tmp_path / "c.csv")])
    assert out.exit_code == 0 and f"Out of date: {STALE}" in out.output


# --- the pages (AppTest on the embedded data) --------------------------------------------------


@pytest.fixture()
def app_on_llr(embedded_dataset: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HIEXPLORE_DATASET", str(embedded_dataset))

    def make(page: str, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=300)
        for k, v in params.items():
            at.query_params[k] = v
        if page != "overview":
            at.switch_page(f"pages/{page}.py")
        return at.run()

    return make


def shown(markdown: str) -> str:
    """The text a reader sees: text from files reaches markdown backslash-escaped (safe_text)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_overview_marks_the_old_headline(app_on_llr) -> None:
    at = app_on_llr("overview")
    assert not at.exception
    assert any(shown(w.value).startswith("This list mixes periods") and STALE in shown(w.value) for w in at.warning)
    head = at.dataframe[0].value.set_index("measure")  # one column per programme (fits any width)
    ages = dict(zip(head.loc["indicator"], head.loc["age"], strict=True))
    assert ages["Cervical screening (25-49)"] == STALE and ages["MMR1 at 24 months"] == "current"
    held = next(d.value for d in at.dataframe[1:] if {"indicator", "age"} <= set(d.value.columns)).set_index("indicator")
    # short, so that the table fits: the period is in its own column
    assert held.loc[CERV, "age"] == "out of date" and held.loc[MMR, "age"] == "current"


def test_practices_page_counts_suppressed_practices_left_out(app_on_llr) -> None:
    at = app_on_llr("practices", ind=MMR, period=MMR_PERIOD)
    assert not at.exception
    info = [shown(i.value) for i in at.info if "left out of the funnel plot" in shown(i.value)]
    assert info and "with fewer than 5 eligible (suppressed" in info[0]
    table = at.dataframe[0].value
    assert table.loc[table["area_code"] == PRACTICE, "value_note"].item() == NOTE
    at = app_on_llr("practices", ind=CERV)
    assert any(STALE in shown(w.value) for w in at.warning)


def test_targets_page_says_the_list_mixes_periods(app_on_llr) -> None:
    at = app_on_llr("targets")
    assert not at.exception
    assert any(shown(w.value).startswith("This list mixes periods") for w in at.warning)
    assert any("practices with fewer than 5 eligible each (suppressed)" in shown(c.value) for c in at.caption)


def test_inequality_report_says_age_and_suppression(llr) -> None:
    from hiexplore.inequality_report import inequality_report

    cerv = inequality_report(llr, CERV, "lsoa", by="imd_quintile")
    assert cerv["period_end"] == "2017-12-31" and cerv["out_of_date"] is True and cerv["age_mark"] == STALE
    assert STALE in cerv["text"].splitlines()[0]
    mmr = inequality_report(llr, MMR, "lsoa", by="imd_quintile", period=MMR_PERIOD)
    assert mmr["out_of_date"] is False and mmr["age_mark"] == ""
    assert mmr["suppressed"].startswith("mmr1_24m 2024/25 Q2: ") and f"Suppressed: {mmr['suppressed']}" in mmr["text"]
    json.dumps(mmr)  # still JSON-safe


def test_practice_flags_and_targets_carry_the_suppressed_note(llr, mmr_practices: pd.DataFrame) -> None:
    left = mmr_practices.attrs["funnel_left_out"]
    assert left["suppressed"] == int(is_suppressed(mmr_practices).sum())
    assert dict(metadata_rows(llr, mmr_practices, "flags"))["funnel"] == left["text"]
    t = F.compute_targets(llr, [MMR], "practice")
    assert "funnel_left_out" not in t.attrs
    row = t[t["area_code"] == PRACTICE].iloc[0]
    assert row["value_note"] == f"MMR1 at 24 months: {NOTE}" and not row["flagged"]
    assert t.loc[t["area_code"] != PRACTICE, "value_note"].isna().sum() > 50


def test_bad_corpus_suppressed_denominator_keeps_the_value_with_its_note() -> None:
    from hiexplore.io.indicators import read_cover_gp_ods

    path = Path(__file__).parent / "data" / "bad" / "cover_gp__suppressed_denominator_value_kept.ods"
    f = read_cover_gp_ods(path)[0].frame
    hit = f[is_suppressed(f)]
    assert set(hit["indicator"]) >= {MMR} and hit["area_code"].nunique() == 1
    row = hit[hit["indicator"] == MMR].iloc[0]
    assert row["value"] == pytest.approx(66.7) and pd.isna(row["denominator"])
    assert row["value_note"] == NOTE


def test_inequalities_page_says_how_many_practices_are_left_out(app_on_llr) -> None:
    at = app_on_llr("inequalities", ind=MMR)
    assert not at.exception
    # escaped like any text that names data (safe_text): what a reader sees is checked
    assert any(shown(c.value).startswith("mmr1_24m 2024/25 Q2: ") and "(suppressed)" in shown(c.value) for c in at.caption)
