"""Every click answers at once (issue 13, item 3): what makes the server fast from its first page.

One loaded dataset per server process, shared by every session and reloaded when the folder
changes; derived caches built once when sessions ask at the same time; the warm-up that
``hiexplore app`` runs before it serves (flags stored once, with progress; the dataset loaded;
its first flags read). Correctness only: the speed itself is measured by
``benchmarks/app_latency.py`` and ``benchmarks/concurrency.py``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from conftest import small_demo, wait_healthy
from hiexplore.dataset import derived
from hiexplore.derived import (
    DERIVED_DIR,
    derive_flags,
    derived_record,
    ensure_derived,
    store_is_fresh,
)
from hiexplore.flags import FLAG_GEOGRAPHIES

REPO = Path(__file__).resolve().parents[1]
KEEP = ("mmr1_24m", "cervical_screening_25_49")
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset without a derived store (what a fresh checkout's data/llr is)."""
    # two indicators, one period each: a store of 12 keys, so each derivation here takes seconds
    return small_demo(tmp_path_factory.mktemp("warm") / "tiny", 60, 8, 5, KEEP)


@pytest.fixture(scope="module")
def derived_copy(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``tiny`` with its flags stored (one derivation for the module)."""
    from hiexplore.dataset import load_dataset

    out = tmp_path_factory.mktemp("warm_derived") / "tiny"
    shutil.copytree(tiny, out)
    derive_flags(load_dataset(out))
    return out


@pytest.fixture()
def fresh_copy(derived_copy: Path, tmp_path: Path) -> Path:
    out = tmp_path / "tiny"
    shutil.copytree(derived_copy, out)
    return out


def _bench():
    """benchmarks/concurrency.py as a module (its websocket user drives a page as a browser does)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hiexplore_bench_concurrency", REPO / "benchmarks" / "concurrency.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- one dataset per process, reloaded when the folder changes ---------------------------------


def test_sessions_share_one_loaded_dataset_until_the_folder_changes(fresh_copy: Path, tmp_path: Path) -> None:
    from app_support.data import dataset_stamp, get_dataset

    first = get_dataset(fresh_copy)
    assert get_dataset(fresh_copy) is first  # a second session: the same object, not a reload
    stamp = dataset_stamp(fresh_copy)
    assert stamp

    # a rebuild writes the new dataset beside the old one and renames it into place
    rebuilt = tmp_path / ".tiny.building"
    shutil.copytree(fresh_copy, rebuilt)
    manifest = json.loads((rebuilt / "manifest.json").read_text("utf-8"))
    manifest["name"] = "rebuilt"
    (rebuilt / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    shutil.rmtree(fresh_copy)
    rebuilt.rename(fresh_copy)

    assert dataset_stamp(fresh_copy) != stamp
    second = get_dataset(fresh_copy)
    assert second is not first
    assert second.manifest["name"] == "rebuilt"
    assert get_dataset(fresh_copy) is second


def test_dataset_stamp_changes_with_a_rewritten_manifest_within_the_same_second(fresh_copy: Path) -> None:
    from app_support.data import dataset_stamp

    before = dataset_stamp(fresh_copy)
    path = fresh_copy / "manifest.json"
    text = path.read_text("utf-8")
    tmp = fresh_copy / "manifest.json.new"
    tmp.write_text(text, "utf-8")  # same content, a new file renamed over the old one
    os.replace(tmp, path)
    assert dataset_stamp(fresh_copy) != before
    assert dataset_stamp(fresh_copy / "absent") == ""


# --- derived caches built once when sessions ask at the same time ------------------------------


def test_concurrent_sessions_build_a_derived_result_once() -> None:
    class Holder:  # any object with a __dict__ takes a derived cache
        pass

    ds, builds, results = Holder(), [], []
    start = threading.Barrier(8)

    def build() -> object:
        builds.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every other thread to arrive while it builds
        return object()

    def session() -> None:
        start.wait()
        results.append(derived(ds, "_weights_cache", "lsoa", build))

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)
    # another key is its own build
    assert derived(ds, "_weights_cache", "msoa", object) is not results[0]


# --- the flags stored once before serving ------------------------------------------------------


def test_ensure_derived_stores_once_then_only_reads(tiny: Path, tmp_path: Path) -> None:
    path = tmp_path / "tiny"
    shutil.copytree(tiny, path)
    assert not store_is_fresh(path)
    lines: list[str] = []
    summary = ensure_derived(path, echo=lines.append)
    assert summary is not None and summary.keys == 2 * len(FLAG_GEOGRAPHIES)  # two indicators, one period
    assert store_is_fresh(path)
    assert any("derived flags:" in line for line in lines)  # progress and what it added
    created = derived_record(path)["created"]

    assert ensure_derived(path) is None  # fresh: nothing recomputed
    assert derived_record(path)["created"] == created

    # a changed input table makes the store stale (and ensure_derived would store it again)
    (path / "manifest.json").touch()
    assert store_is_fresh(path)  # the manifest is not an input of the flags
    reg = path / "registrations.parquet"
    frame = pd.read_parquet(reg)
    frame.loc[frame.index[0], "patients"] = frame["patients"].iloc[0] + 7
    frame.to_parquet(reg, index=False)
    assert not store_is_fresh(path)


def test_warm_up_loads_the_shared_dataset_and_its_first_flags(fresh_copy: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With the store fresh, the warm-up stores nothing again; it leaves the dataset loaded for
    every session and the first pages' flags in its memory (storing them when absent is
    test_hiexplore_app_stores_flags_before_it_serves, through ``hiexplore app``)."""
    from app_support.data import get_dataset
    from app_support.warm import warm_up
    from hiexplore.derived import flags_in_memory

    monkeypatch.setenv("HIEXPLORE_DERIVED_WRITE", "1")
    created = derived_record(fresh_copy)["created"]
    lines: list[str] = []
    took = warm_up(fresh_copy, echo=lines.append)
    assert derived_record(fresh_copy)["created"] == created
    ds = get_dataset(fresh_copy)
    assert all(flags_in_memory(ds, key, "lsoa") and flags_in_memory(ds, key, "practice")
               for key in ds.indicator_keys())
    assert any("warmed up" in line for line in lines)
    assert took["total_s"] >= took["load_s"]
    warm_up(fresh_copy)
    assert get_dataset(fresh_copy) is ds  # a second warm-up: the same shared object


def test_warm_up_writes_nothing_when_writes_are_off(tiny: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from app_support.warm import warm_up

    path = tmp_path / "tiny"
    shutil.copytree(tiny, path)
    monkeypatch.setenv("HIEXPLORE_DERIVED_WRITE", "0")
    lines: list[str] = []
    warm_up(path, echo=lines.append)
    assert not (path / DERIVED_DIR).exists()
    assert any("HIEXPLORE_DERIVED_WRITE=0" in line for line in lines)  # said, not silent


def test_warm_up_names_a_dataset_that_cannot_be_read(fresh_copy: Path) -> None:
    from app_support.warm import warm_up
    from hiexplore.errors import HiexploreError

    (fresh_copy / "areas.parquet").write_bytes(b"not parquet")
    with pytest.raises(HiexploreError, match="areas.parquet"):
        warm_up(fresh_copy)


@pytest.mark.browser
def test_hiexplore_app_stores_flags_before_it_serves(tiny: Path, tmp_path: Path) -> None:
    """`hiexplore app` on a dataset without stored flags: stored, with progress, before the
    health endpoint answers; the first page then finds them fresh."""
    pytest.importorskip("streamlit")
    path = tmp_path / "tiny"
    shutil.copytree(tiny, path)
    port = _free_port()
    out = tmp_path / "out.log"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {
        "STREAMLIT_SERVER_HEADLESS": "true", "HIEXPLORE_DERIVED_WRITE": "1"}
    with open(out, "w") as fo:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hiexplore", "app", "--dataset", str(path), "--port", str(port)],
            stdout=fo, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, out.read_text, 240)
        assert store_is_fresh(path)  # stored before the server listened
        log = out.read_text()
        assert "warming up" in log and "derived flags:" in log and "warmed up" in log
        # the map explorer answers, and its map component's files are served: a component
        # declared by the warm-up, before the server's runtime existed, was not (its iframe
        # never loaded and the page waited ~60 s)
        pytest.importorskip("websockets", reason="websockets is not installed")
        bench = _bench()
        url = f"http://127.0.0.1:{port}"
        import asyncio

        report = asyncio.run(bench._drive(url, 2, 0, 1, 60.0, 120.0))  # overview, map explorer
        assert {x.page for x in report.loads} == {"overview", "map_explorer"}
        assert not report.failed, [x.problem for x in report.failed]
        with urllib.request.urlopen(f"{url}/component/app_support.mapview.hiexplore_map/index.html", timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group started above, and only that
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def test_periods_and_indicator_keys_are_worked_out_once_per_dataset(fresh_copy: Path) -> None:
    """Every page asks them for every indicator on every run: kept on the loaded dataset, and
    each call still gets its own list."""
    from hiexplore.dataset import load_dataset

    ds = load_dataset(fresh_copy)
    keys = ds.indicator_keys()
    assert keys == [k for k in KEEP if k in keys] or set(keys) == set(KEEP)
    periods = ds.periods(keys[0])
    assert len(periods) == 1
    assert ("periods", keys[0], "practice") in ds._periods_cache
    periods.append("changed by a caller")
    keys.clear()
    assert ds.periods(keys[0] if keys else ds.indicator_keys()[0]) != periods
    assert set(ds.indicator_keys()) == set(KEEP)


def test_target_downloads_are_the_files_the_cli_writes(fresh_copy: Path, tmp_path: Path) -> None:
    """The Targets page's downloads, now written once per choice for every session, are still
    exactly what ``write_table`` writes for those rows (CSV compared byte for byte)."""
    from app_support.data import get_dataset, get_target_file
    from hiexplore.derived import stored_targets
    from hiexplore.exports import write_table

    ds = get_dataset(fresh_copy)
    targets = stored_targets(ds, list(KEEP), "lsoa")
    codes = targets["area_code"].head(5).tolist()
    got = get_target_file(ds, list(KEEP), "lsoa", codes, "t.csv")
    full = targets.loc[targets["area_code"].isin(codes)]
    full.attrs.update(targets.attrs)
    assert got == write_table(full, tmp_path / "t.csv", ds=ds, kind="targets").read_bytes()
    assert got.count(b"\r\n") == len(codes) + 1  # header and the five areas
    xlsx = get_target_file(ds, list(KEEP), "lsoa", codes, "t.xlsx")
    assert xlsx[:2] == b"PK" and pd.read_excel(io.BytesIO(xlsx), sheet_name="data")["area_code"].tolist() == codes
