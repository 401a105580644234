"""MHCLG's local authority summary measures: the statistic, the national ranking, CLI and page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from hiexplore.cli import app
from hiexplore.errors import RequestError
from hiexplore.la_deprivation import MANIFEST_KEY, build_summary, deprivation_summary, summary_lines
from hiexplore.stats.deprivation_summary import summarise_deprivation

runner = CliRunner()


def _worked() -> pd.DataFrame:
    # area A: LSOAs of 100 and 300 people; area B: one LSOA of 200 people; area C: 50 people
    return pd.DataFrame({
        "area_code": ["A", "A", "B", "C"],
        "imd_score": [40.0, 20.0, 10.0, 30.0],
        "imd_rank": [100.0, 3000.0, 20000.0, 1500.0],
        "imd_decile": [1, 1, 6, 1],
        "weight": [100.0, 300.0, 200.0, 50.0],
    })


def test_worked_example() -> None:
    s = summarise_deprivation(_worked())
    # A: score (40*100 + 20*300)/400 = 25; rank (100*100 + 3000*300)/400 = 2275
    assert s.loc["A", "average_score"] == pytest.approx(25.0)
    assert s.loc["A", "average_rank"] == pytest.approx(2275.0)
    # C's mean rank 1500 < A's 2275 < B's 20000: rank of average rank 1 = most deprived; the
    # average scores (C 30 > A 25 > B 10) order them the same way, highest first
    assert list(s.loc[["C", "A", "B"], "rank_of_average_rank"]) == [1, 2, 3]
    assert list(s.loc[["C", "A", "B"], "rank_of_average_score"]) == [1, 2, 3]
    assert list(s["share_lsoas_most_deprived_10pct"]) == [1.0, 0.0, 1.0]
    assert (s["ranked_among"] == 3).all() and list(s["n_lsoas"]) == [2, 1, 1]


def test_weights_matter_and_the_unweighted_mean_differs() -> None:
    frame = _worked()
    equal = summarise_deprivation(frame.assign(weight=1.0))
    assert equal.loc["A", "average_score"] == pytest.approx(30.0)  # (40 + 20) / 2
    assert summarise_deprivation(frame).loc["A", "average_score"] != pytest.approx(30.0)


def test_partial_scores_give_no_average_score_and_bad_input_is_named() -> None:
    frame = _worked()
    frame.loc[1, "imd_score"] = np.nan
    s = summarise_deprivation(frame)
    assert np.isnan(s.loc["A", "average_score"]) and s.loc["B", "average_score"] == pytest.approx(10.0)
    with pytest.raises(RequestError, match="weight"):
        summarise_deprivation(frame.drop(columns="weight"))
    with pytest.raises(RequestError, match="negative"):
        summarise_deprivation(frame.assign(weight=-1.0))


def _read(*parts: str) -> pd.DataFrame:
    from hiexplore.io import read_any

    return read_any(shared_path(*parts))[0].frame


def test_national_ranks_on_real_iod2025_match_a_hand_computation() -> None:
    """IoD2025 scores and national ranks, weighted by Census 2021 residents, for every LAD,
    upper tier and ICB of England; Leicester checked against pandas on the raw files."""
    dep = _read("iod2025", "humaniverse_imd2025_england_lsoa21.csv.gz")
    lk = _read("lookups", "geographr_lookup_lsoa21_icb24.csv.gz")
    lads = _read("lookups", "geographr_lookup_lsoa21_ward24_ltla24.csv.gz")
    lookup = lads.merge(lk[["lsoa_code", "icb_code"]], on="lsoa_code", how="left")
    lookup = lookup[lookup["lsoa_code"].str.startswith("E01")]
    eth = pd.read_csv(shared_path("census2021", "demographr_ethnicity21_lsoa21.csv.gz"),
                      usecols=["lsoa21_code", "total_residents"]).drop_duplicates("lsoa21_code")
    residents = eth.set_index("lsoa21_code")["total_residents"]
    kept = lookup[lookup["lad_code"].isin(["E06000016", "E07000129"])]
    rows = pd.DataFrame(build_summary({2025: dep.assign(edition=2025)}, lookup, kept, residents))
    lad = rows[rows["area_type"] == "lad"].set_index("area_code")
    assert set(lad.index) == {"E06000016", "E07000129"}
    assert (lad["ranked_among"] == lookup["lad_code"].nunique()).all()
    assert lad["ranked_against"].str.contains("in England").all()
    assert lad["weight"].str.startswith("Census 2021 usual residents").all()
    # hand computation from the raw files
    raw = pd.read_csv(shared_path("iod2025", "humaniverse_imd2025_england_lsoa21.csv.gz"))
    raw = raw.merge(lookup[["lsoa_code", "lad_code"]], left_on="lsoa21_code", right_on="lsoa_code")
    raw["w"] = raw["lsoa21_code"].map(residents)
    by = raw.groupby("lad_code").apply(
        lambda g: pd.Series({"score": np.average(g["IMD_score"], weights=g["w"]),
                             "rank": np.average(g["IMD_rank"], weights=g["w"]),
                             "d1": (g["IMD_decile"] == 1).mean()}), include_groups=False)
    by["rank_of_rank"] = by["rank"].rank(method="min")
    for code in lad.index:
        assert lad.loc[code, "average_score"] == pytest.approx(by.loc[code, "score"], rel=1e-6)
        assert lad.loc[code, "rank_of_average_rank"] == by.loc[code, "rank_of_rank"]
        assert lad.loc[code, "share_lsoas_most_deprived_10pct"] == pytest.approx(by.loc[code, "d1"])
    assert lad.loc["E06000016", "share_lsoas_most_deprived_10pct"] == pytest.approx(40 / 200)
    # an ICB only partly kept keeps its whole-area figures and says so
    icb = rows[rows["area_type"] == "icb"].iloc[0]
    assert icb["ranked_among"] == 42 and "of its" in icb["note"]


def test_iod_population_denominators_are_the_weight_where_the_files_carry_them() -> None:
    f1 = _read("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
    f6 = _read("iod2019", "File_6_-_IoD2019_Population_Denominators.csv.gz")
    dep = f1.merge(f6[["lsoa_code", "population_total"]], on="lsoa_code")
    # LSOA 2011 codes: place them with File 1's own LAD column
    raw = pd.read_csv(shared_path("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"))
    lookup = pd.DataFrame({"lsoa_code": raw.iloc[:, 0], "lad_code": raw.iloc[:, 2]})
    rows = pd.DataFrame(build_summary({2019: dep}, lookup, lookup[lookup["lad_code"] == "E06000016"], None))
    r = rows.iloc[0]
    assert "IoD2019 population denominators" in r["weight"] and "mid-2015" in r["weight"]
    assert r["ranked_among"] == 317 and "in England" in r["ranked_against"]  # the 317 LADs of 2019
    assert r["average_score"] is None and r["rank_of_average_score"] is None  # File 1 has no scores


def test_dataset_without_national_figures_says_what_it_ranks_against(demo_dataset: Path) -> None:
    from hiexplore.dataset import load_dataset

    ds = load_dataset(demo_dataset)
    assert not ds.manifest.get(MANIFEST_KEY)
    frame = deprivation_summary(ds)
    assert set(frame["area_type"]) >= {"lad"}
    assert frame["ranked_against"].str.contains("not all of England").all()
    assert frame["note"].str.contains("SYNTHETIC").all()
    n = frame.loc[frame["area_type"] == "lad", "area_code"].nunique()
    ranks = frame.loc[(frame["area_type"] == "lad") & (frame["edition"] == frame["edition"].max()), "rank_of_average_rank"]
    assert sorted(ranks) == list(range(1, n + 1))


def test_info_prints_and_exports_the_summary(embedded_dataset: Path) -> None:
    out = runner.invoke(app, ["info", str(embedded_dataset)])
    assert out.exit_code == 0, out.output
    assert "rank of average rank" in out.output and "weights:" in out.output and "ranked against" in out.output
    assert "Leicester" in out.output
    js = runner.invoke(app, ["info", str(embedded_dataset), "--json"])
    rows = json.loads(js.output)[MANIFEST_KEY]  # strict JSON: no NaN
    types = {r["area_type"] for r in rows}
    assert types == {"lad", "utla", "icb"}
    leic = [r for r in rows if r["area_code"] == "E06000016" and r["area_type"] == "lad" and r["edition"] == 2025][0]
    assert leic["average_score"] > 30 and leic["share_lsoas_most_deprived_10pct"] == pytest.approx(0.2)
    assert isinstance(leic["rank_of_average_rank"], int) and leic["weight"]
    assert summary_lines(pd.DataFrame(rows))


def test_overview_shows_the_summary_with_its_weights(demo_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HIEXPLORE_DATASET", str(demo_dataset))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Deprivation of the local authorities" in h.value for h in at.header)
    tables = [d.value for d in at.dataframe if "rank of average rank" in d.value.columns]
    assert tables and tables[0]["rank of average rank"].str.contains(" of ").all()
    assert any("Weights:" in c.value.replace("\\", "") and "Ranked against" in c.value.replace("\\", "") for c in at.caption)


def test_docstring_example_runs() -> None:
    import doctest

    import hiexplore.stats.deprivation_summary as mod

    result = doctest.testmod(mod)
    assert result.attempted >= 4 and result.failed == 0


def test_aggregate_imd_decile_is_named_for_what_it_is(demo_dataset: Path) -> None:
    """The decile of an aggregate's mean LSOA rank is not an MHCLG measure: maps and exports say so."""
    from hiexplore.dataset import load_dataset
    from hiexplore.exports import metadata_rows
    from hiexplore.flags import compute_flags
    from hiexplore.mapping import map_values

    ds = load_dataset(demo_dataset)
    _, lad = map_values(ds, None, "lad", layer="deprivation")
    assert "not an MHCLG measure" in lad["title"] and "mean LSOA rank" in lad["legend_title"]
    _, lsoa = map_values(ds, None, "lsoa", layer="deprivation")
    assert "MHCLG" not in lsoa["title"]  # an LSOA's decile is MHCLG's own
    flags = compute_flags(ds, "mmr1_24m", "msoa", with_clusters=False, with_expected=False)
    meta = dict(metadata_rows(ds, flags, "flags"))
    assert "not an MHCLG measure" in meta["imd_decile"]
    lsoa_flags = compute_flags(ds, "mmr1_24m", "lsoa", with_clusters=False, with_expected=False)
    assert "imd_decile" not in dict(metadata_rows(ds, lsoa_flags, "flags"))


def test_small_files_rank_only_among_themselves_and_say_so() -> None:
    """Without national IoD files or populations, ranks are among the areas given and weights equal."""
    dep = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3"], "imd_rank": [10.0, 20.0, 30000.0],
                        "imd_decile": [1, 1, 10], "imd_score": [50.0, 40.0, 2.0]})
    lookup = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3"], "lad_code": ["A", "A", "B"]})
    rows = pd.DataFrame(build_summary({2025: dep}, lookup, lookup[lookup["lad_code"] == "A"], None))
    assert list(rows["area_code"]) == ["A"]
    r = rows.iloc[0]
    assert r["weight"].startswith("equal weights") and r["average_score"] == pytest.approx(45.0)
    assert r["ranked_among"] == 2 and "in the files given" in r["ranked_against"]
    assert r["rank_of_average_rank"] == 1 and r["note"] == ""


def test_an_edition_without_imd_ranks_gives_no_rows() -> None:
    pops = pd.DataFrame({"lsoa_code": ["L1", "L2"], "population_total": [1000.0, 1200.0]})
    lookup = pd.DataFrame({"lsoa_code": ["L1", "L2"], "lad_code": ["A", "B"]})
    assert build_summary({2019: pops}, lookup, lookup, None) == []
