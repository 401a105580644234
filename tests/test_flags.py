"""Flags and targets: the contract columns, people to reach, reasons, exports, bad requests."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from hiexplore.dataset import load_dataset
from hiexplore.errors import RequestError
from hiexplore.exports import neutralise_formulas, write_table
from hiexplore.flags import FLAG_COLUMNS, compute_flags, compute_targets, people_to_reach


@pytest.fixture(scope="module")
def ds(demo_dataset: Path):
    return load_dataset(demo_dataset)


@pytest.mark.parametrize("geography", ["lsoa", "msoa", "ward", "lad", "practice", "pcn"])
def test_flag_columns_and_relations(ds, geography: str) -> None:
    f = compute_flags(ds, "mmr1_24m", geography, permutations=99)
    assert list(f.columns[: len(FLAG_COLUMNS)]) == FLAG_COLUMNS
    ok = f[f["denominator"] > 0]
    assert (ok["lower_ci_95"] <= ok["value"] + 1e-9).all() and (ok["value"] <= ok["upper_ci_95"] + 1e-9).all()
    assert (ok["lower_ci_998"] <= ok["lower_ci_95"] + 1e-9).all()
    # flagged = significantly worse than England or below the acceptable standard
    expect = (ok["vs_benchmark"] == "Worse") | (ok["standard_band"] == "below acceptable")
    assert (ok["flagged"] == expect).all()
    # people to reach is what lifts the area to the target (95% for childhood immunisation)
    need = np.maximum(np.ceil(0.95 * ok["denominator"] - ok["numerator"] - 1e-9), 0)
    assert np.allclose(ok["people_to_reach"], need)
    ranked = f.dropna(subset=["priority_rank"])
    assert ranked["flagged"].all() and sorted(ranked["priority_rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["priority_score"].is_monotonic_decreasing
    assert f["reasons"].str.contains("MMR1 at 24 months").all()


def test_reason_sentence_reads_aloud(ds) -> None:
    f = compute_flags(ds, "mmr1_24m", "lsoa", permutations=99)
    row = f[f["flagged"] & (f["people_to_reach"] > 0)].iloc[0]
    text = row["reasons"]
    assert text.startswith(f"MMR1 at 24 months {row['value']:.1f}% (95% CI {row['lower_ci_95']:.1f}-")
    assert "more people to reach" in text or "more person to reach" in text
    assert text.endswith(".")


def test_people_to_reach_worked_example() -> None:
    assert people_to_reach(np.array([48.0, 70.0]), np.array([100.0, 100.0]), 62.0).tolist() == [14.0, 0.0]


def test_targets_rank_multi_programme_areas_first(ds) -> None:
    t = compute_targets(ds, ["mmr1_24m", "cervical_screening_25_49"], "lsoa")
    flagged = t[t["flagged"]]
    assert flagged["indicators_flagged"].is_monotonic_decreasing
    both = flagged[flagged["indicators_flagged"] == 2]
    assert len(both) and (both["people_to_reach"] >= both["mmr1_24m_people_to_reach"]).all()
    top = compute_targets(ds, ["mmr1_24m"], "lsoa", top=5)
    assert len(top) == 5 and top["flagged"].all()


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".geojson", ".gpkg"])
def test_exports_open_back(ds, tmp_path: Path, ext: str) -> None:
    f = compute_flags(ds, "mmr1_24m", "lsoa", permutations=99)
    path = write_table(f, tmp_path / f"flags{ext}", ds=ds, kind="flags")
    if ext == ".csv":
        back = pd.read_csv(path)
        assert list(back.columns[: len(FLAG_COLUMNS)]) == FLAG_COLUMNS and len(back) == len(f)
        assert np.allclose(back["value"], f["value"])  # full precision kept
    elif ext == ".xlsx":
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["data", "metadata"]
        meta = {r[0]: r[1] for r in wb["metadata"].iter_rows(min_row=2, values_only=True)}
        assert "SYNTHETIC" in meta and "methods" in meta and "thresholds" in meta and "generated" in meta
        assert wb["data"].max_row == len(f) + 1
    else:
        g = gpd.read_file(path, layer="flags") if ext == ".gpkg" else gpd.read_file(path)
        assert len(g) == len(f) and g.geometry.notna().all()


def test_formula_cells_are_neutralised() -> None:
    frame = pd.DataFrame({"area_name": ["=HYPERLINK(\"x\")", "+1", "-cmd", "@SUM(A1)", "Leicester"], "value": [1, -2, 3, 4, 5]})
    out = neutralise_formulas(frame)
    assert out["area_name"].tolist() == ["'=HYPERLINK(\"x\")", "'+1", "'-cmd", "'@SUM(A1)", "Leicester"]
    assert out["value"].tolist() == [1, -2, 3, 4, 5]


def test_bad_requests(ds, tmp_path: Path) -> None:
    with pytest.raises(RequestError, match="Unknown geography 'region'.*lsoa, msoa, ward, lad, practice, pcn, icb, sub_icb"):
        compute_flags(ds, "mmr1_24m", "region")
    with pytest.raises(RequestError, match="Unknown indicator"):
        compute_flags(ds, "nope", "lsoa")
    with pytest.raises(RequestError, match="Unknown benchmark"):
        compute_flags(ds, "mmr1_24m", "lsoa", benchmark="E99999999")
    with pytest.raises(RequestError, match="unknown file type .txt"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.txt")


def test_denominator_zero_everywhere_is_a_clear_error(ds) -> None:
    import copy

    broken = copy.copy(ds)
    ind = ds.indicators.copy()
    sel = ind["indicator"] == "mmr1_24m"
    ind.loc[sel, ["numerator", "denominator"]] = 0.0
    broken.indicators = ind
    with pytest.raises(RequestError, match="denominator of 0"):
        compute_flags(broken, "mmr1_24m", "practice")


def test_small_numbers_are_marked_low_confidence(ds) -> None:
    f = compute_flags(ds, "mmr1_24m", "lsoa", permutations=99, low_confidence_below=40)
    low = f[f["low_confidence"]]
    assert len(low) and (low["denominator"] < 40).all()
    assert low["estimate_note"].str.startswith("low confidence").all()
    reach = low[low["people_to_reach"] > 0]
    assert reach["reasons"].str.contains(r"about \d", regex=True).all()
    ok = f[~f["low_confidence"]]
    assert (ok["denominator"] >= 40).all() and not ok["reasons"].str.contains("about ").any()
    prac = compute_flags(ds, "mmr1_24m", "practice", permutations=99, low_confidence_below=1e9)
    assert not prac["low_confidence"].any()  # published counts are exact, never marked
