"""The embedded LLR dataset: rebuilt from ../shared/data it matches what is committed, and the
facts the foundation issue names hold on it (real data)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import EMBEDDED, SHARED_DATA
from hiexplore.dataset import TABLE_FILES, load_dataset
from hiexplore.flags import FLAG_GEOGRAPHIES, compute_flags, compute_targets

LLR_AREAS = ["E06000016", "E06000017", "E10000018"]
VOLATILE = {"created", "path"}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: cannot rebuild the embedded dataset")
    from hiexplore.build import build_dataset

    out = tmp_path_factory.mktemp("rebuild") / "llr"
    build_dataset([SHARED_DATA], out, areas=LLR_AREAS, name="llr")
    return out


@pytest.fixture(scope="module")
def llr(embedded_dataset: Path):
    return load_dataset(embedded_dataset)


def test_rebuild_matches_committed(rebuilt: Path, embedded_dataset: Path) -> None:
    for name, fname in TABLE_FILES.items():
        reader = gpd.read_parquet if name == "areas" else pd.read_parquet
        new, old = reader(rebuilt / fname), reader(embedded_dataset / fname)
        if name == "areas":
            assert new.drop(columns="geometry").equals(old.drop(columns="geometry")), name
            assert new.geometry.geom_equals_exact(old.geometry, tolerance=1e-9).all(), name
        else:
            pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9, obj=name)
    man_new = json.loads((rebuilt / "manifest.json").read_text("utf-8"))
    man_old = json.loads((embedded_dataset / "manifest.json").read_text("utf-8"))
    for key in set(man_new) | set(man_old):
        if key not in VOLATILE:
            assert man_new.get(key) == man_old.get(key), key


def test_llr_facts(llr) -> None:
    assert not llr.synthetic and llr.catchment_source == "modelled"
    lsoas = llr.areas[llr.areas["area_type"] == "lsoa"]
    assert len(lsoas) == 634 and lsoas.geometry.notna().all() and lsoas.is_valid.all()
    assert set(llr.lookup["lsoa_code"]) == set(lsoas["area_code"])
    assert llr.lookup["lad_code"].nunique() == 9 and (llr.lookup["icb_code"] == "E54000015").all()
    dep25 = llr.deprivation[llr.deprivation["edition"] == 2025]
    assert len(dep25) == 634 and dep25["imd_decile"].between(1, 10).all()
    dep19 = llr.deprivation[llr.deprivation["edition"] == 2019]
    assert dep19["crosswalked"].all() and dep19["imd_decile"].notna().all()
    # all 134 active LLR GP practices are placed inside an LLR LSOA, commissioned and located
    qk1 = llr.practices[llr.practices["icb_code"] == "QK1"]
    assert len(qk1) == 134 and qk1["lsoa_code"].isin(lsoas["area_code"]).all()
    assert (qk1["in_area_by"] == "both").all()
    # two practices stand in LLR but are commissioned elsewhere (C82076 by Lincolnshire); practices
    # over the border lend the patients they have in LLR to its neighbourhood figures
    by = llr.practices.set_index("practice_code")["in_area_by"]
    assert set(by[by == "location"].index) == {"C82040", "C82076"}
    assert (by == "catchment").sum() >= 10 and llr.manifest["unplaced_practices"] == []
    # each practice's catchment sums to its list size, counting patients outside the areas
    reg = llr.registrations.groupby("practice_code")["patients"].sum()
    sizes = llr.practices.set_index("practice_code")["list_size"].reindex(reg.index)
    assert np.allclose(reg, sizes, rtol=1e-9)
    own = llr.registrations[llr.registrations["practice_code"].isin(by[by != "catchment"].index)]
    outside = own.loc[~own["in_area"], "patients"].sum()
    assert 0 < outside < 0.05 * own["patients"].sum()
    assert (llr.registrations["catchment_source"] == "modelled").all()
    # immunisation (COVER) and cervical screening are loaded; breast/bowel are listed as not loaded
    assert {"mmr1_24m", "cervical_screening_25_49"} <= set(llr.indicator_keys())
    missing = {i["indicator"] for i in llr.manifest["indicators_not_loaded"]}
    assert {"bowel_screening_60_74", "breast_screening_53_70"} <= missing
    sources = {s["file"] for s in llr.manifest["sources"]}
    assert "epraccur_2023-02-20.zip" in sources and all(len(s["sha256"]) == 64 for s in llr.manifest["sources"])


def test_llr_is_small_enough_to_commit() -> None:
    size = sum(p.stat().st_size for p in EMBEDDED.glob("*"))
    assert size < 20 * 1024 * 1024


@pytest.mark.parametrize("geography", FLAG_GEOGRAPHIES)
def test_flags_every_indicator_on_llr(llr, geography: str) -> None:
    for key in llr.indicator_keys():
        f = compute_flags(llr, key, geography, permutations=99)
        assert len(f) and f["reasons"].notna().all()
        if geography in ("icb", "sub_icb"):
            assert (f["method"] == "sum of commissioned practices").all()
        elif geography != "practice":
            assert f["method"].iloc[0] in ("apportioned from practices", "sum of practices")


def test_llr_outputs_open(llr, tmp_path: Path) -> None:
    from hiexplore.exports import write_table

    t = compute_targets(llr, ["mmr1_24m", "cervical_screening_25_49"], "lsoa", top=25)
    x = write_table(t, tmp_path / "t.xlsx", ds=llr, kind="targets")
    wb = openpyxl.load_workbook(x)
    meta = {r[0]: r[1] for r in wb["metadata"].iter_rows(min_row=2, values_only=True)}
    assert "MODELLED" in meta and "source" in meta
    g = write_table(t, tmp_path / "t.geojson", ds=llr, kind="targets")
    back = gpd.read_file(g)
    assert len(back) == len(t) == 25 and back.geometry.notna().all()


def test_apportioning_uses_the_eligible_age_band(llr) -> None:
    from hiexplore.apportion import area_figures, eligible_columns

    assert eligible_columns("mmr1_24m", llr.registrations) == ("patients_age_0_15",)
    assert eligible_columns("cervical_screening_25_49", llr.registrations) == ("patients_age_16_49",)
    lsoa = area_figures(llr, "mmr1_24m", "lsoa")
    assert (lsoa["weighted_by"] == "registered patients aged 0-15").all()
    # every practice of the catchment model: the areas' own and the neighbours lending patients
    ind = llr.indicators
    prac = ind[(ind["indicator"] == "mmr1_24m") & (ind["area_type"] == "practice")
               & (ind["period"] == lsoa["period"].iloc[0])
               & ind["area_code"].isin(set(llr.practices["practice_code"]))].dropna(subset=["denominator"])
    assert len(prac) > len(area_figures(llr, "mmr1_24m", "practice").dropna(subset=["denominator"]))
    out = lsoa.attrs["out_of_area"]
    # conservation with the age-band weights: in-area LSOAs + the reported out-of-area part
    assert lsoa["denominator"].sum() + out["denominator"] == pytest.approx(
        prac.loc[prac["denominator"] > 0, "denominator"].sum(), rel=1e-9
    )


def test_committed_derived_flags_match_the_tables(embedded_dataset: Path) -> None:
    """derived/ is compared sensibly: not byte for byte with a rebuild (the rebuild comparison
    above covers the tables and the manifest), but a committed store must have been made from
    the committed tables, and the key it was made for must read back as the flags computed now
    when the code has not changed since."""
    from hiexplore.derived import derived_record, engine_version, inputs_hash, stored_flags

    record = derived_record(embedded_dataset)
    if not record:
        pytest.skip("data/llr has no derived/ store: it is not committed (git-ignored, rebuilt on first use or by `hiexplore build`)")
    ds = load_dataset(embedded_dataset)
    assert record["inputs_hash"] == inputs_hash(ds), "derived/ was made from other tables: rebuild data/llr"
    if record["engine_version"] == engine_version():
        got = stored_flags(ds, "mmr1_24m", "msoa")
        pd.testing.assert_frame_equal(got, compute_flags(ds, "mmr1_24m", "msoa"))
