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


def test_estimate_note_says_what_each_geography_rests_on(ds) -> None:
    """A PCN is the sum of its practices' published counts, not an apportioned estimate; LSOAs are."""
    notes = {g: set(compute_flags(ds, "mmr1_24m", g, permutations=99, low_confidence_below=0)["estimate_note"])
             for g in ("practice", "pcn", "lsoa")}
    assert notes["practice"] == {"published figure"}
    assert notes["pcn"] == {"sum of its practices' published figures"}
    assert notes["lsoa"] == {"estimate (apportioned)"}


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


def test_targets_combine_per_indicator_columns_whatever_the_order(ds) -> None:
    """cluster, low_confidence and out_of_date come from the figures a row rests on (those it is
    flagged on), not from the first indicator listed; thresholds are each indicator's own."""
    keys = ["mmr1_24m", "cervical_screening_25_49"]
    frames = {k: compute_flags(ds, k, "lsoa", permutations=99, with_expected=False) for k in keys}
    a, b = frames[keys[0]].copy(), frames[keys[1]].copy()
    # area x is flagged on the second indicator only, area y on both, area z on neither
    x, y, z = sorted(set(a["area_code"]) & set(b["area_code"]))[:3]
    for frame, flags in ((a, {x: False, y: True, z: False}), (b, {x: True, y: True, z: False})):
        for code, flag in flags.items():
            frame.loc[frame["area_code"] == code, "flagged"] = flag
    a.loc[a["area_code"].isin([x, y]), ["cluster", "low_confidence", "out_of_date"]] = ["not significant", False, False]
    b.loc[b["area_code"].isin([x, y]), ["cluster", "low_confidence", "out_of_date"]] = ["cold spot (low-low)", True, True]
    a.loc[a["area_code"] == z, "cluster"] = "cold spot (low-low)"
    b.loc[b["area_code"] == z, "cluster"] = "cold spot (low-low)"
    # area w has no row for the first indicator: its name and deprivation still come through
    w = sorted(set(b["area_code"]) - {x, y, z})[0]
    a = a[a["area_code"] != w]
    got = {}
    for order in (keys, keys[::-1]):
        frames2 = {keys[0]: a, keys[1]: b}
        t = compute_targets(ds, order, "lsoa", flags_for=frames2.__getitem__).set_index("area_code")
        got[tuple(order)] = t
        assert t.loc[x, "cluster"] == "cold spot (low-low)" and bool(t.loc[x, "low_confidence"])
        assert bool(t.loc[x, "out_of_date"])
        assert t.loc[y, "cluster"] == "Cervical screening (25-49): cold spot (low-low); MMR1 at 24 months: not significant"
        assert bool(t.loc[y, "low_confidence"]) and bool(t.loc[y, "out_of_date"])
        assert t.loc[z, "cluster"] == "cold spot (low-low)"
        assert t.loc[w, "area_name"] == b.set_index("area_code").loc[w, "area_name"]
        assert t.loc[w, "imd_decile"] == b.set_index("area_code").loc[w, "imd_decile"]
        assert set(t.attrs["thresholds"]) == set(keys)
        assert t.attrs["thresholds"]["cervical_screening_25_49"] == b.attrs["thresholds"]
    cols = ["cluster", "low_confidence", "out_of_date", "area_name", "imd_decile"]
    pd.testing.assert_frame_equal(got[tuple(keys)].loc[[x, y, z, w], cols], got[tuple(keys[::-1])].loc[[x, y, z, w], cols])
