"""Load trusts only the bytes a validated write produced: checksums in ``validated.json``.

A table whose SHA-256 matches what the validated write recorded (under the same schemas) gets
the structural checks only; anything else (a changed byte, no ``validated.json``, other
schemas, ``validate=False`` writes) is validated in full, and a bad value is reported.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import hiexplore.dataset as dataset_module
from hiexplore.dataset import (
    TABLE_FILES,
    VALIDATED_FILE,
    load_dataset,
    validated_checksums,
    write_dataset,
)
from hiexplore.errors import DatasetError
from hiexplore.schemas import SCHEMA_FINGERPRINT


@pytest.fixture()
def copy_of_demo(demo_dataset: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(demo_dataset, out)
    return out


@pytest.fixture()
def validated_tables(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the tables load_dataset sends through the full validation."""
    calls: list[str] = []
    full = dataset_module.validate_table

    def counting(name: str, frame: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
        calls.append(name)
        return full(name, frame, **kwargs)

    monkeypatch.setattr(dataset_module, "validate_table", counting)
    return calls


def _frames(ds: object) -> dict[str, pd.DataFrame]:
    return {name: getattr(ds, name) for name in TABLE_FILES}


def test_validated_write_records_each_file_checksum(demo_dataset: Path) -> None:
    record = json.loads((demo_dataset / VALIDATED_FILE).read_text("utf-8"))
    assert record["schema"] == SCHEMA_FINGERPRINT and len(SCHEMA_FINGERPRINT) == 64
    on_disk = {
        fname: hashlib.sha256((demo_dataset / fname).read_bytes()).hexdigest()
        for fname in TABLE_FILES.values()
        if (demo_dataset / fname).is_file()
    }
    assert record["sha256"] == on_disk
    assert validated_checksums(demo_dataset) == on_disk


def test_untouched_files_skip_the_value_checks_and_load_the_same(
    copy_of_demo: Path, validated_tables: list[str]
) -> None:
    fast = load_dataset(copy_of_demo)
    assert validated_tables == []  # every file matched its checksum
    (copy_of_demo / VALIDATED_FILE).unlink()  # as an older dataset: no checksums
    full = load_dataset(copy_of_demo)
    assert sorted(validated_tables) == sorted(TABLE_FILES)
    for name, frame in _frames(fast).items():
        other = _frames(full)[name]
        if name == "areas":
            assert frame.drop(columns="geometry").equals(other.drop(columns="geometry"))
            assert frame.geometry.geom_equals_exact(other.geometry, tolerance=0).all()
        else:
            pd.testing.assert_frame_equal(frame, other, check_exact=True)


def test_a_tampered_file_is_validated_in_full_and_its_bad_value_reported(
    copy_of_demo: Path, validated_tables: list[str]
) -> None:
    ind = pd.read_parquet(copy_of_demo / "indicators.parquet")
    ind.loc[3, "numerator"] = ind.loc[3, "denominator"] + 10  # numerator > denominator
    ind.to_parquet(copy_of_demo / "indicators.parquet", index=False)  # checksum no longer matches
    with pytest.raises(DatasetError, match="numerator must be less than or equal to denominator"):
        load_dataset(copy_of_demo)
    assert "indicators" in validated_tables
    assert "lookup" not in validated_tables  # the untouched files still take the short path


def test_a_changed_value_that_passes_the_checks_still_loads(
    copy_of_demo: Path, validated_tables: list[str]
) -> None:
    reg = pd.read_parquet(copy_of_demo / "registrations.parquet")
    reg.loc[0, "patients"] += 1
    reg.to_parquet(copy_of_demo / "registrations.parquet", index=False)
    ds = load_dataset(copy_of_demo)
    assert validated_tables == ["registrations"]
    assert ds.registrations.loc[0, "patients"] == reg.loc[0, "patients"]


def test_checksums_of_other_schemas_or_a_damaged_record_are_not_trusted(
    copy_of_demo: Path, validated_tables: list[str]
) -> None:
    vpath = copy_of_demo / VALIDATED_FILE
    record = json.loads(vpath.read_text("utf-8"))
    vpath.write_text(json.dumps({**record, "schema": "0" * 64}), "utf-8")
    assert validated_checksums(copy_of_demo) == {}
    load_dataset(copy_of_demo)
    assert sorted(validated_tables) == sorted(TABLE_FILES)
    vpath.write_text("{not json", "utf-8")
    assert validated_checksums(copy_of_demo) == {}
    validated_tables.clear()
    load_dataset(copy_of_demo)
    assert sorted(validated_tables) == sorted(TABLE_FILES)


def test_a_bad_value_in_an_older_dataset_is_reported(copy_of_demo: Path) -> None:
    (copy_of_demo / VALIDATED_FILE).unlink()
    reg = pd.read_parquet(copy_of_demo / "registrations.parquet")
    reg = pd.concat([reg, reg.iloc[[5]]], ignore_index=True)  # the same pair twice
    reg.to_parquet(copy_of_demo / "registrations.parquet", index=False)
    with pytest.raises(DatasetError, match="registrations table is invalid"):
        load_dataset(copy_of_demo)


def test_unvalidated_writes_record_no_checksums(demo_dataset: Path, tmp_path: Path) -> None:
    ds = load_dataset(demo_dataset)
    out = write_dataset(tmp_path / "raw", _frames(ds), dict(ds.manifest), validate=False)
    assert not (out / VALIDATED_FILE).exists()
    assert validated_checksums(out) == {}
    again = write_dataset(tmp_path / "checked", _frames(ds), dict(ds.manifest))
    assert set(validated_checksums(again)) == {f for f in TABLE_FILES.values() if (again / f).exists()}


def test_load_without_validation_reads_the_files_as_they_are(copy_of_demo: Path) -> None:
    ind = pd.read_parquet(copy_of_demo / "indicators.parquet")
    ind.loc[3, "numerator"] = ind.loc[3, "denominator"] + 10
    ind.to_parquet(copy_of_demo / "indicators.parquet", index=False)
    ds = load_dataset(copy_of_demo, validate=False)  # the caller's explicit choice
    assert ds.indicators.loc[3, "numerator"] == ind.loc[3, "numerator"]
