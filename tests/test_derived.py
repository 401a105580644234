"""Derived results stored with the dataset (issue 13, item 1): the flags of every indicator x
geography x period, computed once, validated on load, recomputed when stale or damaged, and read
(not computed) by the CLI and the app pages."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import hiexplore.flags as flags_module
from hiexplore import derived as derived_module
from hiexplore.cli import app
from hiexplore.dataset import load_dataset
from hiexplore.derived import (
    DERIVED_DIR,
    derive_flags,
    derived_record,
    engine_version,
    flag_keys,
    flags_in_memory,
    inputs_hash,
    store_notes,
    stored_flags,
    stored_targets,
)
from hiexplore.flags import FLAG_GEOGRAPHIES, compute_flags, compute_targets

runner = CliRunner()


def _plain_attrs(attrs: dict) -> dict:
    """attrs as JSON keeps them (tuples become lists): what the store promises back."""
    return json.loads(json.dumps(attrs, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def _same(stored: pd.DataFrame, fresh: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(stored, fresh, check_exact=True)
    assert stored.attrs == _plain_attrs(fresh.attrs)


@pytest.fixture(autouse=True)
def store_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests use temporary datasets: first-use flags are written, as in the app."""
    monkeypatch.setenv("HIEXPLORE_DERIVED_WRITE", "1")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset with its whole flag store derived (as `hiexplore demo` does)."""
    from hiexplore.demo import write_demo

    out = tmp_path_factory.mktemp("derived") / "small"
    write_demo(out, 60, 8, 11)
    summary = derive_flags(load_dataset(out))
    assert summary.keys == len(flag_keys(load_dataset(out))) > 0
    return out


@pytest.fixture()
def copy(small: Path, tmp_path: Path) -> Path:
    """A private copy of the derived dataset that a test may change."""
    out = tmp_path / "copy"
    shutil.copytree(small, out)
    return out


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple]]:
    """Every call of ``hiexplore.flags.compute_flags`` from here on, recorded (the real one runs)."""
    calls: list[tuple] = []
    real = flags_module.compute_flags

    def wrapper(ds, indicator, geography, **kwargs):
        calls.append((indicator, geography, kwargs.get("period")))
        return real(ds, indicator, geography, **kwargs)

    monkeypatch.setattr(flags_module, "compute_flags", wrapper)
    yield calls


def test_store_covers_every_key_and_equals_fresh_flags(small: Path) -> None:
    ds = load_dataset(small)
    keys = flag_keys(ds)
    assert {g for _, g, _ in keys} == set(FLAG_GEOGRAPHIES)
    assert len({(k, p) for k, _, p in keys}) == sum(len(ds.periods(k)) for k in ds.indicator_keys())
    record = derived_record(small)
    assert record["inputs_hash"] == inputs_hash(ds) and record["engine_version"] == engine_version()
    assert record["keys"] == len(keys) and record["bytes"] > 0 and record["seconds"] > 0
    for indicator, geography, period in keys:
        try:
            fresh = compute_flags(ds, indicator, geography, period=period)
        except flags_module.RequestError as err:
            with pytest.raises(flags_module.RequestError, match="."):
                stored_flags(ds, indicator, geography, period)
            assert f"{indicator} {geography} {period}" in record["errors"], err
            continue
        _same(stored_flags(ds, indicator, geography, period), fresh)
    # period=None is the latest, as compute_flags has it
    k = ds.indicator_keys()[0]
    _same(stored_flags(ds, k, "lsoa"), compute_flags(ds, k, "lsoa"))
    assert store_notes(ds) == []


def test_fresh_store_is_read_not_computed(small: Path, counted: list[tuple]) -> None:
    ds = load_dataset(small)
    keys = ds.indicator_keys()[:2]
    assert not flags_in_memory(ds, keys[0], "lsoa")
    for k in keys:
        for g in FLAG_GEOGRAPHIES:
            stored_flags(ds, k, g)
    assert flags_in_memory(ds, keys[0], "lsoa") and flags_in_memory(ds, keys[0], "lsoa", ds.latest_period(keys[0]))
    stored_targets(ds, keys, "lsoa")
    assert counted == []
    # another benchmark is not stored: computed on request, and counted
    stored_flags(ds, keys[0], "lsoa", benchmark="icb")
    assert counted == [(keys[0], "lsoa", None)]


def test_targets_from_the_store_equal_computed_targets(small: Path) -> None:
    ds = load_dataset(small)
    keys = ds.indicator_keys()[:2]
    got = stored_targets(ds, keys, "msoa", top=5)
    want = compute_targets(ds, keys, "msoa", top=5)
    pd.testing.assert_frame_equal(got, want)


def test_changed_input_table_makes_the_store_stale(copy: Path, counted: list[tuple]) -> None:
    ind = pd.read_parquet(copy / "indicators.parquet")
    practice = ind.index[(ind["area_type"] == "practice") & (ind["numerator"] > 0)][0]
    key = str(ind.at[practice, "indicator"])
    ind.loc[practice, "numerator"] = ind.at[practice, "numerator"] - 1
    ind.loc[practice, "value"] = 100 * ind.at[practice, "numerator"] / ind.at[practice, "denominator"]
    ind.to_parquet(copy / "indicators.parquet", index=False)
    ds = load_dataset(copy)
    period = str(ind.at[practice, "period"])
    got = stored_flags(ds, key, "practice", period)
    assert counted == [(key, "practice", period)]  # recomputed, not read
    assert any("stale (the dataset's tables changed)" in n for n in store_notes(ds))
    code = str(ind.at[practice, "area_code"])
    assert got.loc[got["area_code"] == code, "numerator"].iloc[0] == ind.at[practice, "numerator"]
    _same(got, flags_module.compute_flags(ds, key, "practice", period=period))
    # ... and stored: a new load reads it without computing
    counted.clear()
    _same(stored_flags(load_dataset(copy), key, "practice", period), got)
    assert counted == []


def test_changed_engine_version_makes_the_store_stale(small: Path, copy: Path, counted: list[tuple],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ds = load_dataset(copy)
    k = ds.indicator_keys()[0]
    monkeypatch.setattr(derived_module, "engine_version", lambda: "another-engine")
    stored_flags(ds, k, "ward")
    assert counted == [(k, "ward", ds.latest_period(k))]
    stored_flags(ds, k, "lad")
    assert len(counted) == 2
    # one note for the whole stale store, not one per key
    assert [n for n in store_notes(ds) if "stale (the flags code changed)" in n] == store_notes(ds)
    assert len(store_notes(ds)) == 1


def test_engine_version_follows_the_flags_code() -> None:
    root = Path(derived_module.__file__).parent
    assert (root / "flags.py").read_bytes()  # part of _ENGINE_SOURCES
    assert "flags.py" in derived_module._ENGINE_SOURCES and len(engine_version()) == 20


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "bad_record", "not_flags"])
def test_corrupt_derived_file_is_detected_and_recomputed(copy: Path, counted: list[tuple], damage: str) -> None:
    ds = load_dataset(copy)
    k = ds.indicator_keys()[0]
    period = ds.latest_period(k)
    name = derived_module._key_name(k, "lsoa", period)
    folder = copy / DERIVED_DIR / "flags"
    parquet, record = folder / f"{name}.parquet", folder / f"{name}.json"
    if damage == "flip_byte":
        data = bytearray(parquet.read_bytes())
        data[len(data) // 2] ^= 0x01
        parquet.write_bytes(bytes(data))
    elif damage == "truncate":
        parquet.write_bytes(parquet.read_bytes()[:100])
    elif damage == "bad_record":
        record.write_text("{not json", "utf-8")
    else:  # consistent with its record, but not a flags table
        frame = pd.read_parquet(parquet).drop(columns=["flagged"])
        frame.to_parquet(parquet, index=False)
        rec = json.loads(record.read_text("utf-8"))
        rec.update(sha256=derived_module._sha256(parquet.read_bytes()), columns=list(frame.columns),
                   dtypes=[str(t) for t in frame.dtypes])
        record.write_text(json.dumps(rec), "utf-8")
    got = stored_flags(ds, k, "lsoa", period)
    assert counted == [(k, "lsoa", period)]
    notes = store_notes(ds)
    expected = {"flip_byte": "corrupt", "truncate": "corrupt", "bad_record": "unreadable record",
                "not_flags": "not a flags table (no column flagged)"}[damage]
    assert len(notes) == 1 and str(folder) in notes[0] and expected in notes[0], notes
    _same(got, flags_module.compute_flags(ds, k, "lsoa", period=period))
    # repaired on disk
    counted.clear()
    _same(stored_flags(load_dataset(copy), k, "lsoa", period), got)
    assert counted == []


def test_unwritable_store_is_kept_in_memory_and_said(copy: Path, counted: list[tuple]) -> None:
    shutil.rmtree(copy / DERIVED_DIR)
    (copy / DERIVED_DIR).write_text("a file where the derived folder should be", "utf-8")
    ds = load_dataset(copy)
    k = ds.indicator_keys()[0]
    with pytest.warns(RuntimeWarning, match="kept in memory only"):
        first = stored_flags(ds, k, "msoa")
    second = stored_flags(ds, k, "msoa")
    assert len(counted) == 1  # computed once for this loaded dataset
    _same(second, first)
    assert any("kept in memory only" in n and str(copy) in n for n in store_notes(ds))


def test_derive_flags_replaces_the_store_whole(copy: Path) -> None:
    ds = load_dataset(copy)
    stray = copy / DERIVED_DIR / "flags" / "stray.json"
    stray.write_text("{}", "utf-8")
    keys = flag_keys(ds)[:3]
    summary = derive_flags(ds, keys=keys)
    assert not stray.exists() and summary.keys == 3
    assert len(list((copy / DERIVED_DIR / "flags").glob("*.json"))) == 3
    assert "derived flags:" in summary.line() and " MB" in summary.line()


def test_cli_reads_the_store(small: Path, tmp_path: Path, counted: list[tuple]) -> None:
    ds = load_dataset(small)
    k1, k2 = ds.indicator_keys()[:2]
    out = runner.invoke(app, ["flags", "--dataset", str(small), "--indicator", k1, "--geography", "lsoa",
                              "--out", str(tmp_path / "f.csv")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["targets", "--dataset", str(small), "--indicator", f"{k1},{k2}",
                              "--geography", "msoa", "--out", str(tmp_path / "t.csv")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["map", "--dataset", str(small), "--indicator", k1, "--geography", "lsoa",
                              "--layer", "flags", "--out", str(tmp_path / "m.html")])
    assert out.exit_code == 0, out.output
    assert counted == []
    written = pd.read_csv(tmp_path / "f.csv")
    assert len(written) == len(stored_flags(ds, k1, "lsoa"))


def test_cli_demo_derives_and_prints_what_it_adds(tmp_path: Path) -> None:
    out = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--lsoas", "30", "--practices", "4"])
    assert out.exit_code == 0, out.output
    assert "derived flags:" in out.output and " s, " in out.output and " MB" in out.output
    record = derived_record(tmp_path / "d")
    ds = load_dataset(tmp_path / "d")
    assert record["keys"] == len(flag_keys(ds)) and record["inputs_hash"] == inputs_hash(ds)


@pytest.mark.parametrize("page", ["overview", "map_explorer", "practices", "targets", "inequalities"])
def test_pages_read_the_store(small: Path, counted: list[tuple], monkeypatch: pytest.MonkeyPatch,
                              page: str) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HIEXPLORE_DATASET", str(small))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert counted == []


def test_info_says_whether_the_store_is_fresh(copy: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["info", str(copy)])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("Derived flags:"))
    assert line.endswith(": fresh") and f"{derived_record(copy)['keys']} keys" in line
    pop = pd.read_parquet(copy / "population.parquet")
    pop.iloc[:1].to_parquet(copy / "population.parquet", index=False)  # a changed input table
    out = runner.invoke(app, ["info", str(copy)])
    assert "STALE: the tables changed since" in out.output
    shutil.rmtree(copy / DERIVED_DIR)
    assert "Derived flags: none stored" in runner.invoke(app, ["info", str(copy)]).output


def test_cli_build_derives_and_prints_what_it_adds(tmp_path: Path) -> None:
    from test_bad_inputs import BAD, _sources

    if not BAD.is_dir():
        pytest.skip(f"bad-input corpus not generated at {BAD} (run tests/make_bad_corpus.py)")
    src = _sources(tmp_path)
    out = runner.invoke(app, ["build", "--source", str(src), "--out", str(tmp_path / "built")])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("derived flags:"))
    assert " s, " in line and " MB" in line
    ds = load_dataset(tmp_path / "built")
    record = derived_record(tmp_path / "built")
    assert record["keys"] == len(flag_keys(ds)) > 0 and record["inputs_hash"] == inputs_hash(ds)
    assert "fresh" in runner.invoke(app, ["info", str(tmp_path / "built")]).output


def test_no_writes_when_the_environment_says_so(copy: Path, counted: list[tuple],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIEXPLORE_DERIVED_WRITE", "0")
    shutil.rmtree(copy / DERIVED_DIR)
    ds = load_dataset(copy)
    k = ds.indicator_keys()[0]
    _same(stored_flags(ds, k, "pcn"), flags_module.compute_flags(ds, k, "pcn"))
    stored_flags(ds, k, "pcn")
    assert not (copy / DERIVED_DIR).exists() and len(counted) == 2  # ours and the test's own
    assert any("HIEXPLORE_DERIVED_WRITE=0" in n for n in store_notes(ds))


def test_app_says_in_the_sidebar_when_stored_flags_were_recomputed(copy: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HIEXPLORE_DATASET", str(copy))
    monkeypatch.setattr(derived_module, "engine_version", lambda: "another-engine")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    notes = [t.value for t in at.sidebar.text]
    assert any("stale (the flags code changed)" in n and str(copy) in n for n in notes), notes
    assert not any("stale" in t.value for t in at.main.text)  # the page itself is not moved
    at.run()  # the same notes on the next run: the sidebar does not change from run to run
    assert [t.value for t in at.sidebar.text] == notes
