"""Apportioning practice figures to LSOAs conserves counts; aggregation sums numerators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hiexplore.apportion import METHOD_APPORTIONED, aggregate_lsoa, apportion_to_lsoa, area_figures
from hiexplore.dataset import load_dataset
from hiexplore.errors import RequestError


def _reg(rows: list[tuple[str, str, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients", "in_area"]).assign(
        catchment_source="modelled"
    )


def test_worked_example_and_out_of_area_reported() -> None:
    reg = _reg([("P1", "L1", 75, True), ("P1", "L2", 25, True), ("P2", "L2", 50, True), ("P2", "OUT", 50, False)])
    prac = pd.DataFrame({"practice_code": ["P1", "P2"], "numerator": [80.0, 40.0], "denominator": [100.0, 80.0]})
    out = apportion_to_lsoa(reg, prac).set_index("lsoa_code")
    assert out.loc["L1", "numerator"] == pytest.approx(60.0)  # 0.75 * 80
    assert out.loc["L2", "numerator"] == pytest.approx(20.0 + 20.0)  # 0.25*80 + 0.5*40
    assert out.loc["L2", "denominator"] == pytest.approx(25.0 + 40.0)
    assert out["method"].eq(METHOD_APPORTIONED).all()
    assert out.attrs["out_of_area"]["numerator"] == pytest.approx(20.0)  # P2's half outside
    assert "OUT" not in out.index


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 12), st.floats(0.5, 500), st.booleans()),
             min_size=1, max_size=60),
    st.integers(0, 10_000),
)
def test_apportioning_conserves_counts(rows: list, seed: int) -> None:
    reg = _reg([(f"P{p}", f"L{lsoa}", w, inside) for p, lsoa, w, inside in rows])
    reg = reg.groupby(["practice_code", "lsoa_code"], as_index=False).agg(
        patients=("patients", "sum"), in_area=("in_area", "first"), catchment_source=("catchment_source", "first"))
    rng = np.random.default_rng(seed)
    codes = sorted(reg["practice_code"].unique())
    den = rng.integers(1, 1000, len(codes)).astype(float)
    prac = pd.DataFrame({"practice_code": codes, "denominator": den, "numerator": np.floor(den * rng.random(len(codes)))})
    out = apportion_to_lsoa(reg, prac)
    for col in ("numerator", "denominator"):
        total = out[col].sum() + out.attrs["out_of_area"][col]
        assert total == pytest.approx(prac[col].sum(), rel=1e-9, abs=1e-9)


def test_area_figures_every_geography_sum_to_the_same_total(demo_dataset) -> None:
    ds = load_dataset(demo_dataset)
    lsoa = area_figures(ds, "mmr1_24m", "lsoa")
    for geo in ("msoa", "ward", "lad"):
        agg = area_figures(ds, "mmr1_24m", geo)
        assert agg["numerator"].sum() == pytest.approx(lsoa["numerator"].sum())
        assert agg["denominator"].sum() == pytest.approx(lsoa["denominator"].sum())
    prac = area_figures(ds, "mmr1_24m", "practice")
    pcn = area_figures(ds, "mmr1_24m", "pcn")
    assert pcn["denominator"].sum() == pytest.approx(prac["denominator"].sum())
    # synthetic catchments are all in-area: LSOA totals equal the practices'
    assert lsoa["denominator"].sum() == pytest.approx(prac["denominator"].sum())
    assert ((lsoa["value"] >= 0) & (lsoa["value"] <= 100)).all()


def test_bad_requests_list_valid_choices(demo_dataset) -> None:
    ds = load_dataset(demo_dataset)
    with pytest.raises(RequestError, match="Unknown indicator 'mmr9'.*Valid choices: .*mmr1_24m"):
        area_figures(ds, "mmr9", "lsoa")
    with pytest.raises(RequestError, match="Unknown geography 'county'.*lsoa"):
        area_figures(ds, "mmr1_24m", "county")
    with pytest.raises(RequestError, match="Period '1999' is not in the data.*2024/25"):
        area_figures(ds, "mmr1_24m", "lsoa", "1999")
    with pytest.raises(RequestError, match="not loaded in this dataset.*Fingertips"):
        area_figures(ds, "smoking_prevalence_qof", "lsoa")


def test_aggregate_needs_the_geography_in_the_lookup() -> None:
    lsoa = pd.DataFrame({"lsoa_code": ["L1"], "numerator": [1.0], "denominator": [2.0], "registered": [2.0],
                         "catchment_source": ["x"]})
    with pytest.raises(RequestError, match="no msoa codes"):
        aggregate_lsoa(lsoa, pd.DataFrame({"lsoa_code": ["L1"]}), "msoa")
