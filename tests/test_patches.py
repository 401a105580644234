"""Outreach patches (issue 14, item 1) on the embedded LLR data, checked from the written files.

Contiguity is checked with libpysal's own queen weights on the boundaries of each patch's areas
(read from the written GeoJSON's ``area_codes``), the floor and the span from the figures and the
area centroids, never from the columns the code wrote about itself alone.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist
from typer.testing import CliRunner

from hiexplore.cli import app
from hiexplore.dataset import load_dataset
from hiexplore.derived import stored_targets
from hiexplore.errors import RequestError
from hiexplore.exports import write_table
from hiexplore.patches import PATCH_COLUMNS, build_patches

INDICATORS = ["mmr1_24m", "cervical_screening_25_49"]
#: (min_people, max_km): the issue's defaults and a tighter pair that forces splitting
CONFIGS = [(150, 3.0), (60, 1.5)]


@pytest.fixture(scope="module")
def llr(embedded_dataset: Path):
    return load_dataset(embedded_dataset)


@pytest.fixture(scope="module")
def lsoas(llr) -> gpd.GeoDataFrame:
    """LLR LSOA boundaries in British National Grid, indexed by code."""
    a = llr.areas[llr.areas["area_type"] == "lsoa"].to_crs(27700)
    return a.drop_duplicates("area_code").set_index("area_code")


@pytest.fixture(scope="module")
def written(llr, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, float], dict[str, Path]]:
    """Each config built once and written in every format."""
    out: dict[tuple[int, float], dict[str, Path]] = {}
    for floor, km in CONFIGS:
        frame = build_patches(llr, INDICATORS, "lsoa", min_people=floor, max_km=km, seed=3)
        folder = tmp_path_factory.mktemp(f"patches_{floor}")
        out[(floor, km)] = {"frame": frame, **{ext: write_table(frame, folder / f"patches{ext}", ds=llr,
                                                                 kind="patches")
                                               for ext in (".csv", ".xlsx", ".geojson", ".gpkg")}}
    return out


def _codes(cell: str) -> list[str]:
    return [c for c in str(cell).split(",") if c]


@pytest.mark.parametrize("config", CONFIGS)
def test_patches_are_contiguous_meet_the_floor_and_span_at_most_max_km(written, lsoas, config) -> None:
    from libpysal.weights import Queen

    floor, km = config
    g = gpd.read_file(written[config][".geojson"])
    patches = g[g["singleton"].astype(str) == "False"]
    assert len(patches) >= 10, "LLR has enough flagged areas for many patches"
    for row in patches.itertuples():
        codes = _codes(row.area_codes)
        polys = lsoas.loc[codes].reset_index()
        if len(codes) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = Queen.from_dataframe(polys, ids=codes, silence_warnings=True)
            assert w.n_components == 1, f"{row.patch_id} is not contiguous: {codes}"
        assert row.people_to_reach >= floor, row.patch_id
        cent = polys.geometry.centroid
        span = pdist(np.column_stack([cent.x, cent.y])).max() / 1000 if len(codes) > 1 else 0.0
        assert span <= km + 1e-9, f"{row.patch_id} spans {span:.2f} km"
        assert row.span_km == pytest.approx(span, abs=1e-3)
        # the geometry is the union of its areas: the same area, one piece
        union = gpd.GeoSeries([row.geometry], crs=4326).to_crs(27700).iloc[0]
        assert union.area == pytest.approx(polys.geometry.area.sum(), rel=1e-3)
    assert (g["singleton"].astype(str) == "True").sum() == written[config]["frame"].attrs["patches"]["areas_alone"]


@pytest.mark.parametrize("config", CONFIGS)
def test_every_flagged_area_is_in_one_patch_or_listed_alone(written, llr, config) -> None:
    frame = written[config]["frame"]
    targets = stored_targets(llr, INDICATORS, "lsoa")
    flagged = set(targets.loc[targets["flagged"], "area_code"])
    listed = [c for cell in frame["area_codes"] for c in _codes(cell)]
    bridges = {c for cell in frame["bridge_codes"] for c in _codes(cell)}
    assert len(listed) == len(set(listed)), "an area is in two patches"
    assert set(listed) - bridges == flagged
    assert not bridges, "bridges are off by default"
    alone = frame[frame["singleton"]]
    assert (alone["n_areas"] == 1).all()
    assert alone["reason"].str.contains("left alone").all()
    # people to reach add up: the patches' and the areas' alone are the target list's
    total = targets.loc[targets["flagged"], "people_to_reach"].sum()
    assert frame["people_to_reach"].sum() == pytest.approx(total)
    per = frame[[f"people_to_reach_{k}" for k in INDICATORS]].sum(axis=1)
    assert np.allclose(per, frame["people_to_reach"])


def test_ranked_by_people_to_reach_with_ids_in_rank_order(written) -> None:
    frame = written[CONFIGS[0]]["frame"]
    patches = frame[~frame["singleton"]]
    assert list(frame.columns[: len(PATCH_COLUMNS[:9])]) == PATCH_COLUMNS[:9]
    assert patches["people_to_reach"].is_monotonic_decreasing
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))
    assert list(patches["patch_id"]) == [f"P{i:03d}" for i in range(1, len(patches) + 1)]
    assert frame.loc[frame["singleton"], "patch_id"].str.startswith("S").all()
    assert frame["singleton"].is_monotonic_increasing, "patches first, then the areas left alone"


def test_patch_rows_carry_estimate_age_practices_and_deprivation(written, llr) -> None:
    frame = written[CONFIGS[0]]["frame"]
    top = frame.iloc[0]
    # the cervical figures of LLR are from 2017: every row that rests on them says so
    cerv = frame["people_to_reach_cervical_screening_25_49"] > 0
    assert frame.loc[cerv, "out_of_date"].all()
    assert frame.loc[cerv, "reason"].str.contains("out of date").all()
    assert frame["estimate_note"].str.contains("MODELLED catchments").all()
    assert frame["practices_basis"].str.startswith("modelled").all()
    assert top["practices"].count("%") >= 1 and "(" in top["practices"]
    # the practices' shares are of the patch's registered residents: they add up to about 100%
    shares = [float(s.rsplit(" ", 1)[1].rstrip("%")) for s in top["practices"].split("; ")]
    assert sum(shares) == pytest.approx(100, abs=len(shares))
    codes = _codes(top["area_codes"])
    dec = llr.deprivation[llr.deprivation["lsoa_code"].isin(codes)]
    dec = dec[dec["edition"] == llr.deprivation["edition"].max()]["imd_decile"]
    assert top["most_deprived_decile"] == dec.min()
    assert 0 <= frame["core20_share"].min() and frame["core20_share"].max() <= 1
    assert frame["centroid_lat"].between(52, 53.2).all() and frame["centroid_lon"].between(-2, -0.4).all()
    assert top["reason"].startswith(f"{top['patch_id']}: {top['n_areas']} neighbouring areas within")
    one = frame[(frame["n_areas"] == 1) & ~frame["singleton"]]
    assert len(one) and one["reason"].str.match(r"P\d{3}: 1 area, ").all()  # reads as one area


def test_same_seed_same_patches(llr, written) -> None:
    again = build_patches(llr, INDICATORS, "lsoa", min_people=150, max_km=3.0, seed=3)
    first = written[CONFIGS[0]]["frame"]
    assert list(again["area_codes"]) == list(first["area_codes"])
    assert list(again["patch_id"]) == list(first["patch_id"])


def test_every_format_is_written_and_read_back(written) -> None:
    files = written[CONFIGS[0]]
    frame = files["frame"]
    csv = pd.read_csv(files[".csv"], encoding="utf-8-sig")
    xlsx = pd.read_excel(files[".xlsx"], sheet_name=None)
    geo = gpd.read_file(files[".geojson"])
    gpkg = gpd.read_file(files[".gpkg"], layer="patches")
    for table in (csv, xlsx["data"], geo, gpkg):
        assert list(table["patch_id"]) == list(frame["patch_id"])
        assert list(table["area_codes"]) == list(frame["area_codes"])
        assert "people_to_reach_mmr1_24m" in table and "eligible_population" in table
    assert "geometry" not in csv and "geometry" not in xlsx["data"]
    assert geo.geometry.notna().all() and gpkg.geometry.notna().all()
    meta = dict(zip(xlsx["metadata"]["field"], xlsx["metadata"]["value"], strict=True))
    assert "outreach patches" in meta["content"]
    assert json.loads(meta["patches"])["min_people"] == 150
    assert "MODELLED" in meta and "out of date" in meta
    layers = gpd.list_layers(files[".gpkg"])["name"].tolist()
    assert layers == ["patches", "metadata"]


def test_a_floor_nobody_reaches_leaves_every_area_alone_and_listed(llr) -> None:
    frame = build_patches(llr, ["mmr1_24m"], "lsoa", min_people=10**6, max_km=3.0)
    targets = stored_targets(llr, ["mmr1_24m"], "lsoa")
    assert frame["singleton"].all()
    assert sorted(frame["area_codes"]) == sorted(targets.loc[targets["flagged"], "area_code"])
    assert frame.attrs["patches"]["patches"] == 0


def test_bad_requests_name_what_is_valid(llr) -> None:
    with pytest.raises(RequestError, match="lsoa, msoa, ward"):
        build_patches(llr, INDICATORS, "pcn")
    with pytest.raises(RequestError, match="max-km"):
        build_patches(llr, INDICATORS, max_km=0)
    with pytest.raises(RequestError, match="at least one indicator"):
        build_patches(llr, [])


def test_cli_contract(embedded_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    res = CliRunner().invoke(app, [
        "patches", "--dataset", str(embedded_dataset), "--indicator", "mmr1_24m,cervical_screening_25_49",
        "--geography", "lsoa", "--min-people", "200", "--max-km", "2.5", "--seed", "1", "--out", str(out),
    ])
    assert res.exit_code == 0, res.output
    assert "patches" in res.output and "left alone" in res.output and "Out of date" in res.output
    table = pd.read_csv(out, encoding="utf-8-sig")
    for col in ("patch_id", "area_codes", "people_to_reach", "people_to_reach_mmr1_24m",
                "people_to_reach_cervical_screening_25_49", "eligible_population", "practices",
                "most_deprived_decile", "core20_share", "centroid_lat", "centroid_lon", "reason"):
        assert col in table, col
    patches = table[~table["singleton"].astype(bool)]
    assert (patches["people_to_reach"] >= 200).all() and (patches["span_km"] <= 2.5).all()
    bad = CliRunner().invoke(app, ["patches", "--dataset", str(embedded_dataset), "--indicator", "mmr1_24m",
                                   "--geography", "practice", "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code != 0


def test_targets_page_shows_patches_map_table_and_downloads(embedded_dataset: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HIEXPLORE_DATASET", str(embedded_dataset))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.switch_page("pages/targets.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(h.value.startswith("Outreach patches") for h in at.subheader)
    tables = [d.value for d in at.dataframe if "patch_id" in d.value.columns]
    assert tables and tables[0]["patch_id"].iloc[0] == "P001"
    assert "area_codes" in tables[0] and "reason" in tables[0]
    labels = [b.label for b in at.get("download_button")]
    assert {"Patches CSV", "Patches XLSX", "Patches GEOJSON", "Patches GPKG"} <= set(labels), labels
    at.number_input(key="patch_min_people").set_value(400).run()
    assert not at.exception
    again = [d.value for d in at.dataframe if "patch_id" in d.value.columns][0]
    patches = again[again["patch_id"].str.startswith("P")]
    assert (patches["people_to_reach"] >= 400).all() and len(patches) < len(tables[0])


def test_names_from_files_stay_text_in_exports_and_on_the_map(embedded_dataset: Path, tmp_path: Path) -> None:
    """Area and practice names are data: written literally (CSV: formula-neutralised only), and
    escaped in the map's tooltips, never run as markup or template."""
    from payloads import TAG

    from hiexplore.maps import map_to_html
    from hiexplore.patches import patches_map

    ds = load_dataset(embedded_dataset)  # its own copy: the names are changed in memory
    ds.areas["area_name"] = "=" + TAG + " " + ds.areas["area_code"].astype(str)
    ds.practices["practice_name"] = TAG + " " + ds.practices["practice_code"].astype(str)
    frame = build_patches(ds, INDICATORS, "lsoa", seed=3)
    csv = pd.read_csv(write_table(frame, tmp_path / "p.csv", ds=ds, kind="patches"), encoding="utf-8-sig")
    geo = gpd.read_file(write_table(frame, tmp_path / "p.geojson", ds=ds, kind="patches"))
    assert csv["area_names"].str.startswith("'=" + TAG).all()  # neutralised, otherwise unchanged
    assert geo["area_names"].str.startswith("=" + TAG).all()  # GIS formats: byte for byte
    assert geo["practices"].str.contains(TAG, regex=False).all()
    page = map_to_html(patches_map(ds, frame))
    assert "<img src=x" not in page and "T49T" not in page


def test_cli_lists_patches_and_refuses_in_one_line(embedded_dataset: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    assert "patches" in CliRunner().invoke(app, ["--help"]).output
    out = subprocess.run(
        [sys.executable, "-m", "hiexplore", "patches", "--dataset", str(embedded_dataset), "--indicator",
         "mmr1_24m", "--geography", "pcn", "--out", str(tmp_path / "p.csv")],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: Patches need neighbourhood boundaries: geography 'pcn'")
    assert "lsoa, msoa, ward" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "p.csv").exists()


def test_bridges_join_two_flagged_parts_and_only_when_needed() -> None:
    """A worked example on a chain A-B-C-D-E (0.5 km apart): A and C flagged with 100 people to
    reach each, floor 150. B touches both flagged parts: a bridge, kept because the patch needs it;
    D and E touch one part only. Without B the two areas stay alone."""
    from hiexplore.patches import _bridges, _drop_idle_bridges, _regionalise

    codes = list("ABCDE")
    adj = {c: [n for n in (codes[i - 1] if i else None, codes[i + 1] if i < 4 else None) if n]
           for i, c in enumerate(codes)}
    areas = pd.DataFrame({"people": [100.0, 0.0, 100.0, 0.0, 0.0], "x_km": [0.0, 0.5, 1.0, 1.5, 2.0],
                          "y_km": 0.0}, index=codes)
    flagged = {"A", "C"}
    bridges = _bridges(adj, flagged)
    assert bridges == {"B"}
    groups, alone = _regionalise(areas, adj, sorted(flagged | bridges), 150.0, 3.0, seed=0)
    assert [_drop_idle_bridges(g, adj, bridges) for g in groups] == [["A", "B", "C"]] and alone == []
    groups, alone = _regionalise(areas, adj, sorted(flagged), 150.0, 3.0, seed=0)
    assert groups == [] and alone == ["A", "C"]
    # a bridge the patch does not need is dropped: A and C also touch directly
    adj2 = {**adj, "A": ["B", "C"], "C": ["A", "B", "D"]}
    assert _bridges(adj2, flagged) == set()
    assert _drop_idle_bridges(["A", "B", "C"], adj2, {"B"}) == ["A", "C"]
    # and the span limit holds: 3 km apart they cannot make one patch
    far = areas.assign(x_km=[0.0, 1.6, 3.2, 4.8, 6.4])
    groups, alone = _regionalise(far, adj, ["A", "B", "C"], 150.0, 3.0, seed=0)
    assert groups == [] and set(alone) == {"A", "B", "C"}
