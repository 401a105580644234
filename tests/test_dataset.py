"""The canonical dataset folder: validated writes, atomic replacement, loading, the manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from hiexplore.dataset import TABLE_FILES, load_dataset, read_manifest, write_dataset
from hiexplore.errors import DatasetError


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_demo_round_trip_and_manifest(demo_dataset: Path) -> None:
    ds = load_dataset(demo_dataset)
    assert ds.synthetic and ds.manifest["synthetic"] is True
    assert set(ds.manifest["tables"]) >= {"areas", "lookup", "registrations", "indicators"}
    assert ds.manifest["tables"]["lookup"] == len(ds.lookup) == 300
    assert (ds.areas["area_type"] == "lsoa").sum() == 300
    assert ds.areas.crs.to_epsg() == 4326
    assert "mmr1_24m" in ds.indicator_keys()
    # indicators without data are listed with the file that would fill them, never as zero
    missing = {i["indicator"] for i in ds.manifest["indicators_not_loaded"]}
    assert "smoking_prevalence_qof" in missing
    assert "smoking_prevalence_qof" not in set(ds.indicators["indicator"])


def test_failed_write_leaves_previous_dataset_byte_for_byte(demo_dataset: Path, tmp_path: Path) -> None:
    ds = load_dataset(demo_dataset)
    target = tmp_path / "ds"
    tables = {name: getattr(ds, name) for name in TABLE_FILES}
    write_dataset(target, tables, dict(ds.manifest))
    before = _digest(target)
    bad = dict(tables)
    broken = ds.indicators.copy()
    broken.loc[0, "numerator"] = broken.loc[0, "denominator"] + 10  # numerator > denominator
    bad["indicators"] = broken
    with pytest.raises(DatasetError, match="numerator must be less than or equal to denominator"):
        write_dataset(target, bad, dict(ds.manifest))
    assert _digest(target) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ds.")], "temporary folder left behind"


def test_missing_table_and_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="missing table"):
        write_dataset(tmp_path / "x", {"areas": pd.DataFrame()}, {})
    with pytest.raises(DatasetError, match="not a hiexplore dataset"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", "utf-8")
    with pytest.raises(DatasetError, match="not valid JSON"):
        read_manifest(tmp_path)


def test_load_rejects_a_corrupted_table(demo_dataset: Path, tmp_path: Path) -> None:
    ds = load_dataset(demo_dataset)
    target = tmp_path / "ds"
    write_dataset(target, {n: getattr(ds, n) for n in TABLE_FILES}, dict(ds.manifest))
    (target / "registrations.parquet").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="registrations"):
        load_dataset(target)
    man = json.loads((target / "manifest.json").read_text("utf-8"))
    assert man["synthetic"] is True


def test_derived_builds_once_per_key_and_keeps_a_bounded_number() -> None:
    from types import SimpleNamespace

    from hiexplore.dataset import derived

    ds = SimpleNamespace()
    calls: list[int] = []

    def build(k: int) -> int:
        calls.append(k)
        return k * 10

    assert [derived(ds, "_c", k, lambda k=k: build(k), keep=2) for k in (1, 1, 2, 2)] == [10, 10, 20, 20]
    assert calls == [1, 2]
    derived(ds, "_c", 3, lambda: build(3), keep=2)  # a third key empties the full cache first
    assert set(ds.__dict__["_c"]) == {3}
    assert derived(ds, "_c", 1, lambda: build(1), keep=2) == 10 and calls == [1, 2, 3, 1]
    assert derived(object(), "_c", 1, lambda: build(1)) == 10 and calls[-1] == 1  # no __dict__: built anew


def test_a_datasets_derived_caches_are_declared_fields(demo_dataset: Path) -> None:
    """Each cache a loaded dataset keeps is a field of :class:`Dataset`, not an ad-hoc attribute."""
    import dataclasses
    import re

    from hiexplore.dataset import Dataset, derived, load_dataset

    ds = load_dataset(demo_dataset)
    declared = {f.name for f in dataclasses.fields(Dataset) if f.name.endswith("_cache")}
    src = Path(__file__).resolve().parents[1] / "src" / "hiexplore"
    used = {m for p in src.rglob("*.py") for m in re.findall(r'"(_[a-z_]+_cache)"', p.read_text("utf-8"))}
    used |= {m for p in src.rglob("*.py") for m in re.findall(r"ds\.(_[a-z_]+_cache)\b", p.read_text("utf-8"))}
    assert used and used <= declared
    assert derived(ds, "_features_cache", "k", lambda: 42) == 42 and ds._features_cache == {"k": 42}
    assert derived(ds, "_features_cache", "k", lambda: 0) == 42  # kept
    with pytest.raises(AttributeError, match="declare it"):
        derived(ds, "_undeclared", "k", lambda: 1)
    assert "_features_cache" not in repr(ds)  # not part of the content
