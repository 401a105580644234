"""Three areas no other test builds (issue 12): Birmingham, Cornwall and Norfolk from ../shared/data.

Each is built once (module scope) from the real files, and checked for: at least 95% of its
commissioned active practices placed; flags at practice, PCN, ICB, LSOA and ward level; every
ICB and sub-ICB figure equal to the sum over its commissioned practices; unplaced ones listed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from conftest import SHARED_DATA
from hiexplore.apportion import area_figures
from hiexplore.dataset import load_dataset
from hiexplore.flags import compute_flags
from hiexplore.io.practices import read_epraccur

AREAS = {"E08000025": "Birmingham", "E06000052": "Cornwall", "E10000020": "Norfolk"}
#: their commissioners (ICB ODS codes) in epraccur 2023-02-20
ICBS = {"E08000025": "QHL", "E06000052": "QT6", "E10000020": "QMM"}
#: files these builds do not need (history tables, LLR-only extracts): left out to save time
NOT_NEEDED = (
    "immunisation/cover_quarterly_utla", "fingertips_gp/", "iod2019/", "leicester_city_council/",
    "boundaries/ons_2011_bgc_martinjc/", "gp_registrations/bwdph", "lookups/LSOA11_WD21",
    "lookups/Rural_Urban", "lookups/hoclib", "population/SAPE21", "screening/fingertipsnext",
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: real-data tests skipped")
    src = tmp_path_factory.mktemp("three") / "src"
    for f in SHARED_DATA.rglob("*"):
        rel = str(f.relative_to(SHARED_DATA))
        if f.is_file() and not rel.startswith(NOT_NEEDED):
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(f, src / rel)
    return src


@pytest.fixture(scope="module", params=list(AREAS), ids=list(AREAS.values()))
def built(request: pytest.FixtureRequest, source: Path, tmp_path_factory: pytest.TempPathFactory):
    from hiexplore.build import build_dataset

    code = request.param
    out = build_dataset([source], tmp_path_factory.mktemp(code) / code, areas=[code], name=AREAS[code])
    return code, load_dataset(out)


def test_commissioned_practices_placed(built) -> None:
    code, ds = built
    epr = read_epraccur(SHARED_DATA / "gp" / "epraccur_2023-02-20.zip")[0].frame
    active = epr[(epr["status"] == "open") & (epr["setting"] == 4) & (epr["icb_code"] == ICBS[code])]
    pr = ds.practices.set_index("practice_code")
    commissioned = pr[pr["in_area_by"].isin(["commissioner", "both"])]
    assert len(commissioned) >= 50 and set(commissioned.index) <= set(active["practice_code"])
    placed = commissioned["latitude"].notna()
    assert placed.mean() >= 0.95, (code, placed.mean())
    # the unplaced ones are listed by code, with name and postcode, in the manifest
    listed = {u["practice_code"] for u in ds.manifest["unplaced_practices"]}
    assert listed == set(commissioned.index[~placed])
    assert all(u["postcode"] for u in ds.manifest["unplaced_practices"])
    # practices standing in the area are all there, commissioned here or not
    assert (pr["lsoa_code"].notna() == pr["in_area_by"].isin(["location", "both"])).all()


@pytest.mark.parametrize("geography", ["practice", "pcn", "icb", "lsoa", "ward"])
def test_flags_at_every_level(built, geography: str) -> None:
    _code, ds = built
    f = compute_flags(ds, "mmr1_24m", geography, permutations=99)
    assert len(f) >= 1 and f["reasons"].notna().all() and f["value"].notna().any()
    if geography == "lsoa":
        lsoas = set(ds.areas.loc[ds.areas["area_type"] == "lsoa", "area_code"])
        assert set(f["area_code"]) <= lsoas and len(f) >= 0.95 * len(lsoas)


@pytest.mark.parametrize("geography", ["icb", "sub_icb"])
def test_icb_and_sub_icb_are_sums_of_commissioned_practices(built, geography: str) -> None:
    code, ds = built
    ind = "cervical_screening_25_49"
    figs = area_figures(ds, ind, geography)
    pr = ds.practices[ds.practices["in_area_by"].isin(["commissioner", "both"])]
    rows = ds.indicators[
        (ds.indicators["indicator"] == ind) & (ds.indicators["area_type"] == "practice")
        & (ds.indicators["period"] == figs["period"].iloc[0])
    ].merge(pr[["practice_code", f"{geography}_code"]], left_on="area_code", right_on="practice_code")
    want = rows.dropna(subset=["numerator", "denominator"]).groupby(f"{geography}_code")[["numerator", "denominator"]].sum()
    got = figs.set_index("area_code")[["numerator", "denominator"]]
    if geography == "icb":
        ons = ds.lookup.dropna(subset=["icb_code_nhs"]).drop_duplicates("icb_code_nhs").set_index("icb_code_nhs")["icb_code"]
        want.index = want.index.map(ons)
        assert list(got.index) == [ons[ICBS[code]]]
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_names=False)
    assert (figs["practices"] == rows.dropna(subset=["denominator"]).groupby(f"{geography}_code").size().to_numpy()).all()
