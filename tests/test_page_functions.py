"""What the pages show, computed by package functions: what-if, practice comparison, area profile.

The pages call these functions (no ranks, funnels or what-if arithmetic in ``pages/``); the
CLI verbs ``hiexplore practices`` and ``hiexplore profile`` print the same results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hiexplore.cli import app
from hiexplore.dataset import Dataset, load_dataset
from hiexplore.errors import RequestError
from hiexplore.flags import compute_flags
from hiexplore.inequality_report import (
    ethnicity_gradient,
    ethnicity_share_columns,
    grouped_areas,
    inequality_report,
    inequality_trend,
    what_if_standard,
)
from hiexplore.practice_compare import (
    PRACTICE_COLUMNS,
    compare_practices,
    filter_practices,
    practice_funnel,
    practice_table,
)
from hiexplore.profile import area_geography, area_profile

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(demo_dataset: Path) -> Dataset:
    return load_dataset(demo_dataset)


@pytest.fixture(scope="module")
def practice_data(demo: Dataset) -> pd.DataFrame:
    return compare_practices(demo, "mmr1_24m")


# --- practice comparison


def test_rank_in_pcn_by_hand(practice_data: pd.DataFrame) -> None:
    data = practice_data
    for pcn, g in data.dropna(subset=["pcn_code", "value"]).groupby("pcn_code"):
        values = g["value"].to_numpy()
        for idx, v in zip(g.index, values, strict=True):
            # rank 1 = highest uptake; ties share the lowest rank
            assert data.loc[idx, "rank_in_pcn"] == 1 + int((values > v).sum()), pcn
            assert data.loc[idx, "pcn_size"] == len(values)


def test_peers_share_the_imd_quintile(practice_data: pd.DataFrame) -> None:
    data = practice_data.dropna(subset=["value", "imd_decile"])
    assert (data["imd_quintile"] == np.ceil(data["imd_decile"] / 2)).all()
    for _, g in data.groupby("imd_quintile"):
        assert (g["peers"] == len(g)).all()
        assert sorted(g["rank_among_peers"].astype(int)) == sorted(
            1 + int((g["value"] > v).sum()) for v in g["value"])


def test_funnel_status_and_limits(demo: Dataset, practice_data: pd.DataFrame) -> None:
    with_counts = practice_data.dropna(subset=["numerator", "denominator"])
    with_counts = with_counts[with_counts["denominator"] > 0]
    assert practice_data.loc[with_counts.index, "funnel"].notna().all()
    funnel = practice_funnel(practice_data)
    assert funnel is not None
    assert funnel.target == pytest.approx(with_counts["numerator"].sum() / with_counts["denominator"].sum())
    c = funnel.curve
    assert (c["lower_99_8"] <= c["lower_95"]).all() and (c["upper_95"] <= c["upper_99_8"]).all()
    width = (c["upper_95"] - c["lower_95"]).to_numpy()
    assert width[0] > width[-1]  # the funnel narrows as the denominator grows
    assert practice_funnel(practice_data.head(2)) is None
    wider = practice_funnel(compare_practices(demo, "mmr1_24m", overdispersion="multiplicative"), "multiplicative")
    assert wider is not None
    with pytest.raises(RequestError, match="overdispersion"):
        compare_practices(demo, "mmr1_24m", overdispersion="lots")


def test_filters_keep_the_ranks_and_refuse_an_unknown_pcn(practice_data: pd.DataFrame) -> None:
    pcn = str(practice_data["pcn_code"].dropna().iloc[0])
    sel = filter_practices(practice_data, pcn=[pcn])
    assert len(sel) and (sel["pcn_code"] == pcn).all()
    pd.testing.assert_series_equal(sel["rank_among_peers"], practice_data.loc[sel.index, "rank_among_peers"])
    assert len(filter_practices(practice_data, only_flagged=True)) == int(practice_data["flagged"].sum())
    with pytest.raises(RequestError, match="PCN NOPE"):
        filter_practices(practice_data, pcn=["NOPE"])
    table = practice_table(sel)
    assert list(table.columns) == [c for c in PRACTICE_COLUMNS if c in sel]
    assert table["value"].is_monotonic_increasing


def test_practices_cli_csv_xlsx_and_bad_pcn(demo_dataset: Path, practice_data: pd.DataFrame, tmp_path: Path) -> None:
    pcn = str(practice_data["pcn_code"].dropna().iloc[0])
    out = runner.invoke(app, ["practices", "--dataset", str(demo_dataset), "--indicator", "mmr1_24m",
                              "--pcn", pcn, "--out", str(tmp_path / "p.csv")])
    assert out.exit_code == 0, out.output
    got = pd.read_csv(tmp_path / "p.csv", encoding="utf-8-sig")
    assert (got["pcn_code"] == pcn).all() and len(got) == int((practice_data["pcn_code"] == pcn).sum())
    for col in ("rank_in_pcn", "pcn_size", "rank_among_peers", "peers", "funnel", "lower_ci_95", "upper_ci_95"):
        assert col in got
    assert (got["rank_in_pcn"] <= got["pcn_size"]).all()
    out = runner.invoke(app, ["practices", "--dataset", str(demo_dataset), "--indicator", "mmr1_24m",
                              "--out", str(tmp_path / "p.xlsx")])
    assert out.exit_code == 0, out.output
    meta = pd.read_excel(tmp_path / "p.xlsx", sheet_name="metadata")
    content = meta.loc[meta["field"] == "content", "value"].iloc[0]
    assert "practice comparison" in content
    assert (meta["field"] == "SYNTHETIC").any()
    assert len(pd.read_excel(tmp_path / "p.xlsx", sheet_name="data")) == len(practice_data)
    bad = subprocess.run([sys.executable, "-m", "hiexplore", "practices", "--dataset", str(demo_dataset),
                          "--indicator", "mmr1_24m", "--pcn", "NOPE", "--out", str(tmp_path / "x.csv")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "PCN NOPE" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.csv").exists()


# --- what-if


def test_what_if_raises_flagged_areas_to_the_target(demo: Dataset) -> None:
    flags = compute_flags(demo, "mmr1_24m", "lsoa")
    w = what_if_standard(demo, "mmr1_24m", "lsoa", by="imd_quintile", flags=flags)
    assert w is not None and w.target_pct == flags.attrs["thresholds"]["target_pct"]
    f = flags.dropna(subset=["imd_decile"])
    f = f[f["denominator"] > 0]
    lift = f["flagged"] & (f["value"] < w.target_pct)
    gain = np.maximum(f.loc[lift, "numerator"], w.target_pct / 100 * f.loc[lift, "denominator"]) - f.loc[lift, "numerator"]
    assert w.extra_reached == pytest.approx(float(gain.sum()))
    assert w.areas_raised == int(lift.sum())
    assert len(w.before) == len(w.after) == 5  # quintiles
    assert (w.after["value"] >= w.before["value"] - 1e-9).all()
    assert (w.after["denominator"] == w.before["denominator"]).all()
    assert w.sii_change == pytest.approx(w.sii_after - w.sii_before)
    # computed without the cached flags gives the same answer
    again = what_if_standard(demo, "mmr1_24m", "lsoa", by="imd_quintile")
    assert again is not None and again.extra_reached == pytest.approx(w.extra_reached)


def test_what_if_without_a_standard_is_none(demo: Dataset) -> None:
    flags = compute_flags(demo, "mmr1_24m", "lsoa", with_clusters=False, with_expected=False)
    flags.attrs["thresholds"] = {"target_pct": None}
    assert what_if_standard(demo, "mmr1_24m", "lsoa", flags=flags) is None
    with pytest.raises(RequestError, match="grouping"):
        what_if_standard(demo, "mmr1_24m", "lsoa", by="income", flags=flags)


def test_trend_is_one_report_per_period(demo: Dataset) -> None:
    trend = inequality_trend(demo, "mmr1_24m", "lsoa", by="imd_quintile")
    periods = demo.periods("mmr1_24m")
    assert list(trend["period"]) == periods and len(periods) > 1
    last = inequality_report(demo, "mmr1_24m", "lsoa", by="imd_quintile", period=periods[-1])
    row = trend.iloc[-1]
    assert row["SII"] == pytest.approx(last["sii"]) and row["SII low"] <= row["SII"] <= row["SII high"]
    assert row["most deprived"] == pytest.approx(last["groups"][0]["value"])
    assert row["least deprived"] == pytest.approx(last["groups"][-1]["value"])


def test_ethnicity_gradient_bands(demo: Dataset) -> None:
    shares = ethnicity_share_columns(demo)
    assert shares and all(c.startswith("share_") for c in shares)
    t = ethnicity_gradient(demo, "mmr1_24m", shares[0])
    figs = grouped_areas(demo, "mmr1_24m", "lsoa", "imd_decile", None)
    assert list(t["group"]) == [1, 2, 3, 4, 5]
    assert t["denominator"].sum() == pytest.approx(figs["denominator"].sum())
    assert ((t["lower_95"] <= t["value"]) & (t["value"] <= t["upper_95"])).all()
    with pytest.raises(RequestError, match="share"):
        ethnicity_gradient(demo, "mmr1_24m", "share_martian")


# --- area profile


def test_profile_of_an_lsoa(demo: Dataset) -> None:
    code = str(demo.areas.loc[demo.areas["area_type"] == "lsoa", "area_code"].iloc[3])
    assert area_geography(demo, code) == "lsoa"
    prof = area_profile(demo, code)
    quick = compute_flags(demo, "mmr1_24m", "lsoa", with_clusters=False, with_expected=False)
    row = quick[quick["area_code"] == code].iloc[0]
    mine = prof.indicators.set_index("indicator").loc["mmr1_24m"]
    assert mine["value"] == pytest.approx(row["value"]) and mine["reasons"] == row["reasons"]
    assert list(prof.deprivation["edition"]) == sorted(demo.deprivation["edition"].unique())
    assert prof.practices["share"].is_monotonic_decreasing and prof.practices["share"].sum() <= 1 + 1e-9
    assert "SYNTHETIC" in (prof.caveat or "") and prof.source
    table = prof.table()
    assert list(table.columns[:4]) == ["indicator", "period", "age", "value %"] and len(table) == len(prof.indicators)
    assert prof.deprivation_line().startswith("IMD ")


def test_profile_of_other_geographies_and_unknown_codes(demo: Dataset) -> None:
    msoa = str(demo.areas.loc[demo.areas["area_type"] == "msoa", "area_code"].iloc[0])
    prof = area_profile(demo, msoa)
    assert prof.geography == "msoa" and len(prof.indicators) and prof.practices.empty
    practice = str(demo.practices["practice_code"].iloc[0])
    assert area_geography(demo, practice) == "practice"
    with pytest.raises(RequestError, match="not in dataset"):
        area_profile(demo, "E01999999")


def test_profile_cli_text_and_json(embedded_dataset: Path) -> None:
    out = runner.invoke(app, ["profile", "--dataset", str(embedded_dataset), "--area", "E01013600"])
    assert out.exit_code == 0, out.output
    assert "Profile of Leicester 003A (E01013600)" in out.output and "MODELLED" in out.output
    js = runner.invoke(app, ["profile", "--dataset", str(embedded_dataset), "--area", "E01013600", "--json"])
    data = json.loads(js.output)
    assert data["geography"] == "lsoa" and data["catchments"] == "modelled"
    assert {d["edition"] for d in data["deprivation"]} == {2019, 2025}
    keys = {r["indicator"] for r in data["indicators"]}
    assert "mmr1_24m" in keys and all(r["lower_ci_95"] <= r["value"] <= r["upper_ci_95"]
                                      for r in data["indicators"] if r["value"] is not None)
    assert data["practices"] and abs(sum(p["share"] for p in data["practices"])) <= 1.0 + 1e-9


# --- pages only show


@pytest.mark.parametrize(("page", "banned"), [
    ("practices.py", ["groupby", "rank(", "funnel_significance", "funnel_curve", "estimate_overdispersion"]),
    ("inequalities.py", ["sii_rii", "np.maximum", "target / 100", "qcut", "gradient_table", "for p in periods"]),
    ("map_explorer.py", ["registrations", "groupby"]),
])
def test_pages_hold_no_computation(page: str, banned: list[str]) -> None:
    import re

    text = (REPO / "pages" / page).read_text("utf-8")
    # whole names only: gradient_table_display (a package function that formats) is not gradient_table
    assert [b for b in banned if re.search(re.escape(b) + (r"\b" if b[-1].isalnum() else ""), text)] == []
