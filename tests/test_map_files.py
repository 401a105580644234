"""Issue 13.3: the Map explorer's shapes as a served, content-addressed file; its values and
first area's profile built once per loaded dataset and shared by every session; the default view
prepared at app start (:func:`hiexplore.map_payload.warm_map`).

The browser side (the file fetched over HTTP from 127.0.0.1 only, taken from the browser's cache
by a new session, never sent through the websocket) is
tests/test_e2e_app.py::test_geometry_file_is_the_datasets_and_a_new_session_takes_it_from_the_browser_cache
and test_indicator_change_recolours_the_map_without_resending_its_geometry.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import small_demo
from hiexplore.dataset import load_dataset
from hiexplore.derived import derive_flags, store_is_fresh
from hiexplore.map_payload import (
    area_choices,
    area_groups,
    geometry_file,
    geometry_files_dir,
    geometry_payload,
    map_area_profile,
    map_geometry,
    map_layer_values,
    map_values_json,
    warm_map,
)

KEEP = ("mmr1_24m", "mmr2_5y")
N = 220  #: LSOAs: two or three local authorities (the demo makes one per ~100)


def _small(out: Path, seed: int) -> Path:
    """A small demo with two indicators, their latest period, flags stored for LSOAs."""
    small_demo(out, N, 12, seed, KEEP)
    ds = load_dataset(out)
    derive_flags(ds, keys=[(k, "lsoa", ds.periods(k)[-1]) for k in KEEP])
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _small(tmp_path_factory.mktemp("mapfiles") / "small", 5)


def test_geometry_file_is_the_gzipped_shapes_named_by_their_content(small: Path, tmp_path: Path) -> None:
    ds = load_dataset(small)
    payload, path = geometry_file(ds, "lsoa", tmp_path)
    assert path == tmp_path / payload.name and path.is_file()
    assert payload.name.startswith("lsoa-") and payload.name.endswith(".json.gz")
    shapes = json.loads(gzip.decompress(path.read_bytes()))
    assert shapes == json.loads(json.dumps(map_geometry(ds, "lsoa")))  # what the component draws
    assert shapes["key"] == payload.key and len(shapes["levels"][-1]["g"]) == N
    # kept in memory without the rings (one bytes object instead of millions of small lists)
    assert all("g" not in lv and "cells" not in lv for lv in payload.meta["levels"])
    stamp = path.stat().st_mtime_ns
    assert geometry_file(ds, "lsoa", tmp_path)[1] == path and path.stat().st_mtime_ns == stamp  # written once
    path.unlink()  # a cleaned cache folder: written again on the next ask
    assert geometry_file(ds, "lsoa", tmp_path)[1].is_file()
    assert geometry_file(ds, "msoa", tmp_path)[0].name.startswith("msoa-")
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left behind
    # files not written for 30 days go when another is written; recent ones stay
    import os

    stale, recent = tmp_path / "lsoa-0000.json.gz", tmp_path / "lsoa-1111.json.gz"
    stale.write_bytes(b"x")
    recent.write_bytes(b"y")
    os.utime(stale, (1, 1))
    geometry_file(ds, "ward", tmp_path)
    assert not stale.exists() and recent.exists() and path.exists()


def test_a_rebuilt_dataset_gets_a_new_geometry_file(small: Path, tmp_path: Path) -> None:
    """Same folder, other shapes (another build): another name, so no browser keeps the old ones."""
    first = tmp_path / "ds"
    shutil.copytree(small, first)
    old = geometry_payload(load_dataset(first), "lsoa").name
    shutil.rmtree(first)
    _small(first, 6)
    new_ds = load_dataset(first)
    new = geometry_payload(new_ds, "lsoa").name
    assert new != old
    assert geometry_file(new_ds, "lsoa", tmp_path / "files")[1].name == new


def test_geometry_files_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIEXPLORE_MAP_FILES", str(tmp_path / "x"))
    assert geometry_files_dir() == tmp_path / "x"
    monkeypatch.delenv("HIEXPLORE_MAP_FILES")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert geometry_files_dir() == tmp_path / "cache" / "hiexplore" / "map-geometry"


def test_map_values_json_is_built_once_per_choice_and_is_the_layer(small: Path) -> None:
    ds = load_dataset(small)
    period = ds.periods("mmr1_24m")[-1]
    choice = dict(layer="uptake", period=period, scheme="quantiles", palette="viridis")
    text = map_values_json(ds, "mmr1_24m", "lsoa", **choice)
    assert map_values_json(ds, "mmr1_24m", "lsoa", **choice) is text  # shared, not rebuilt
    assert json.loads(text) == json.loads(json.dumps(map_layer_values(ds, "mmr1_24m", "lsoa", **choice)))
    other = map_values_json(ds, "mmr1_24m", "lsoa", **{**choice, "palette": "YlGnBu"})
    assert json.loads(other)["palette"] != json.loads(text)["palette"]
    assert json.loads(map_values_json(ds, "mmr2_5y", "lsoa", layer="uptake"))["title"] != json.loads(text)["title"]


def test_area_choices_and_profile(small: Path) -> None:
    ds = load_dataset(small)
    labels = area_choices(ds, "lsoa")
    areas = ds.areas[ds.areas["area_type"] == "lsoa"]
    code, name = str(areas["area_code"].iloc[0]), str(areas["area_name"].iloc[0])
    assert len(labels) == N and labels[code] == f"{name} ({code})"
    prof = map_area_profile(ds, code, "lsoa")
    assert prof.area_code == code and prof.area_name == name and set(prof.indicators["indicator"]) == set(KEEP)
    assert map_area_profile(ds, code, "lsoa") is prof


def test_warm_map_prepares_the_default_view(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the page asks first (LSOA shapes file, MMR1 24m latest period in quantiles/viridis,
    the first area's profile) is ready before any session."""
    monkeypatch.setenv("HIEXPLORE_MAP_FILES", str(tmp_path))
    assert store_is_fresh(small)
    ds = load_dataset(small)
    took = warm_map(ds)
    assert {"geometry_s", "values_s"} <= set(took)
    assert (tmp_path / geometry_payload(ds, "lsoa").name).is_file()
    assert len(ds._map_values_cache) == 1
    # the page's own call (pages/map_explorer.py, default view) finds it built
    period = ds.periods("mmr1_24m")[-1]
    built = next(iter(ds._map_values_cache.values()))
    assert map_values_json(ds, "mmr1_24m", "lsoa", layer="uptake", period=period, scheme="quantiles",
                           palette="viridis", edition=None, measure="imd", show_practices=False) is built
    flags_first = str(pd.read_parquet(next((small / "derived" / "flags").glob("mmr1_24m-lsoa*.parquet")))
                      ["area_code"].iloc[0])
    assert ("profile", flags_first, "lsoa") in ds._map_area_cache
    assert ds._trend_panel_cache  # the profile's trend chart reads its panel
    assert ("table", "mmr1_24m", "lsoa", period) in ds._map_area_cache and ("groups", "lsoa") in ds._map_area_cache


def test_map_table_is_every_area_with_repeated_words_as_categories(small: Path) -> None:
    from hiexplore.derived import stored_flags
    from hiexplore.map_payload import MAP_TABLE_COLUMNS, map_table

    ds = load_dataset(small)
    period = ds.periods("mmr1_24m")[-1]
    flags = stored_flags(ds, "mmr1_24m", "lsoa", period)
    table = map_table(ds, flags, "mmr1_24m", "lsoa", period)
    assert list(table.columns) == list(MAP_TABLE_COLUMNS) and len(table) == len(flags) == N
    assert table["value"].is_monotonic_increasing or table["value"].dropna().is_monotonic_increasing
    assert isinstance(table["estimate_note"].dtype, pd.CategoricalDtype)
    assert not isinstance(table["area_name"].dtype, pd.CategoricalDtype)
    same = flags.set_index("area_code").loc[table["area_code"]]
    assert (table["estimate_note"].astype(object).fillna("").to_numpy() == same["estimate_note"].fillna("").to_numpy()).all()
    assert map_table(ds, flags, "mmr1_24m", "lsoa", period) is table


def test_area_groups_split_a_long_area_box_by_local_authority(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hiexplore.map_payload as mp

    ds = load_dataset(small)
    assert area_groups(ds, "lsoa") is None  # N areas: one box
    monkeypatch.setattr(mp, "AREA_BOX_MAX", 10)
    ds = load_dataset(small)
    by_group, group_of = area_groups(ds, "lsoa")
    assert sorted(group_of) == sorted(area_choices(ds, "lsoa")) and sum(map(len, by_group.values())) == N
    lk = ds.lookup.drop_duplicates("lsoa_code").set_index("lsoa_code")
    code = next(iter(group_of))
    assert group_of[code] == f"{lk.loc[code, 'lad_name']} ({lk.loc[code, 'lad_code']})"
    assert list(by_group) == sorted(by_group, key=lambda g: (g == "Other areas", g.lower()))


def test_map_table_csv_is_every_area_with_its_period_and_age(small: Path) -> None:
    import io

    from hiexplore.derived import stored_flags
    from hiexplore.map_payload import map_table_csv

    ds = load_dataset(small)
    period = ds.periods("mmr1_24m")[-1]
    flags = stored_flags(ds, "mmr1_24m", "lsoa", period)
    data = map_table_csv(ds, flags, "mmr1_24m", "lsoa", period)
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert len(frame) == N and {"area_code", "value", "estimate_note", "period", "out_of_date"} <= set(frame.columns)
    assert set(frame["period"]) == {period}


def test_map_explorer_page_at_national_size_splits_the_area_box_and_shortens_the_table(
        small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thresholds lowered so that a small dataset takes the national path of the page: the
    table shows the lowest rows with a note and a download of every row; the area box is two
    boxes (local authority, then area), and another authority lists its own areas."""
    from streamlit.testing.v1 import AppTest

    import hiexplore.map_payload as mp

    monkeypatch.setattr(mp, "AREA_BOX_MAX", 10)
    monkeypatch.setattr(mp, "MAP_TABLE_ROWS", 20)
    monkeypatch.setenv("HIEXPLORE_DATASET", str(small))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.switch_page("pages/map_explorer.py")
    at.query_params.update({"layer": "uptake", "geo": "lsoa", "ind": "mmr1_24m"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Showing the 20 lowest of {N} areas" in str(c.value) for c in at.caption)
    assert len(at.dataframe[0].value) == 20
    assert [b.label for b in at.get("download_button")] == [f"Download all {N} areas (CSV)"]
    lad_box = at.selectbox(key="w_alad")
    area_box = at.selectbox(key="w_area")
    ds = load_dataset(small)
    by_group, group_of = area_groups(ds, "lsoa")
    assert lad_box.options == list(by_group) and group_of[area_box.value] == lad_box.value
    assert area_box.options == [area_choices(ds, "lsoa")[c] for c in by_group[lad_box.value]]
    other = next(g for g in by_group if g != lad_box.value)
    lad_box.select(other).run()
    assert not at.exception, [e.value for e in at.exception]
    chosen = at.selectbox(key="w_area").value
    assert group_of[chosen] == other
    assert any(str(m.value).startswith("**Profile of") and chosen in str(m.value) for m in at.markdown)


def test_app_latency_takes_the_pages_to_measure() -> None:
    """``benchmarks/app_latency.py --pages map_explorer`` (the national run): a page name it does
    not know is refused before any server starts."""
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("hiexplore_bench_app_latency", root / "benchmarks" / "app_latency.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as err:
        module.main(["--pages", "nowhere"])
    assert err.value.code == 2
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with pytest.raises(ValueError, match="map_explorer"):
        module.run(1, None, ["nowhere"])
