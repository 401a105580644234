"""The fast paths of schema validation give pandera's answers: joint uniqueness on integer keys
(or a sortedness proof), the structural check used for checksum-verified files, and the
pandera backend loaded without hypothesis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from hiexplore.demo import generate_demo
from hiexplore.errors import DatasetError
from hiexplore.schemas import (
    TABLES,
    _rows_unique,
    _strictly_increasing,
    structure_matches,
    validate_table,
)


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_demo(120, 12, 4)


def _pandera_message(name: str, frame: pd.DataFrame) -> str:
    with pytest.raises(pa.errors.SchemaErrors) as err:
        TABLES[name].validate(frame, lazy=True)
    return str(err.value.failure_cases.head(8).to_dict("records"))


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": ["x", "x", "y"], "b": [1.0, 2.0, 1.0]}),  # sorted, unique
        pd.DataFrame({"a": ["y", "x", "x"], "b": [1.0, 2.0, 1.0]}),  # unsorted, unique
        pd.DataFrame({"a": ["x", "y", "x"], "b": [1.0, 1.0, 1.0]}),  # unsorted, duplicated
        pd.DataFrame({"a": ["x", "x", "y"], "b": [1.0, 1.0, 2.0]}),  # sorted, duplicated
        pd.DataFrame({"a": ["x", None, None], "b": [1.0, np.nan, np.nan]}),  # missing twice
        pd.DataFrame({"a": ["x", None, "y"], "b": [np.nan, np.nan, np.nan]}),
        pd.DataFrame({"a": pd.Series(["x", 1, "x"], dtype=object), "b": [1, 1, 1]}),  # mixed
    ],
)
def test_rows_unique_agrees_with_pandas(frame: pd.DataFrame) -> None:
    expected = not frame.duplicated(["a", "b"], keep=False).any()
    assert _rows_unique(frame, ["a", "b"]) == expected
    assert _rows_unique(frame, ["a", "b", "not a column"]) == expected  # absent: skipped


def test_rows_unique_on_random_keys_agrees_with_pandas() -> None:
    rng = np.random.default_rng(3)
    for size in (2, 50, 5_000):
        frame = pd.DataFrame(
            {
                "a": pd.array(rng.choice(list("pqrs"), size), dtype="str"),
                "b": rng.integers(0, 40, size).astype(float),
                "c": pd.array(rng.choice(["u", "v", None], size), dtype="str"),
            }
        )
        for cols in (["a"], ["a", "b"], ["a", "b", "c"]):
            assert _rows_unique(frame, cols) == (not frame.duplicated(cols).any())
        ordered = frame.drop_duplicates(["a", "b", "c"]).sort_values(["a", "b", "c"])
        ordered = ordered.dropna()
        assert _strictly_increasing(ordered.reset_index(drop=True), ["a", "b", "c"])
        assert _rows_unique(ordered, ["a", "b", "c"])


def test_a_duplicated_pair_is_reported_as_pandera_reports_it(tables: dict[str, pd.DataFrame]) -> None:
    reg = tables["registrations"]
    bad = pd.concat([reg, reg.iloc[[2]]], ignore_index=True)
    with pytest.raises(DatasetError, match="registrations table is invalid") as err:
        validate_table("registrations", bad)
    assert "multiple_fields_uniqueness" in str(err.value)
    assert "row 2" in str(err.value) and f"row {len(reg)}" in str(err.value)
    assert "multiple_fields_uniqueness" in _pandera_message("registrations", bad)


def test_every_demo_table_validates_as_the_full_model_does(tables: dict[str, pd.DataFrame]) -> None:
    for name, frame in tables.items():
        out = validate_table(name, frame)
        theirs = TABLES[name].validate(frame, lazy=True)
        if name == "areas":
            assert out.drop(columns="geometry").equals(theirs.drop(columns="geometry"))
        else:
            pd.testing.assert_frame_equal(out, theirs, check_exact=True)
        assert structure_matches(name, out)


def test_validation_leaves_the_callers_frame_as_it_was(tables: dict[str, pd.DataFrame]) -> None:
    prac = tables["practices"].copy()
    prac["list_size"] = prac["list_size"].astype("int64")  # coerced to float by validation
    before = prac.copy(deep=True)
    out = validate_table("practices", prac)
    assert out["list_size"].dtype == np.float64
    pd.testing.assert_frame_equal(prac, before)


def test_structure_check_needs_every_column_with_its_validated_dtype(
    tables: dict[str, pd.DataFrame],
) -> None:
    reg = validate_table("registrations", tables["registrations"])
    assert structure_matches("registrations", reg)
    assert not structure_matches("registrations", reg.drop(columns="patients"))
    assert not structure_matches("registrations", reg.astype({"patients": "int64"}))
    assert not structure_matches("registrations", reg.astype({"in_area": object}))
    assert structure_matches("registrations", reg.assign(extra=1))  # not strict: extras allowed


def test_text_columns_of_another_dtype_are_coerced_as_pandera_does(
    tables: dict[str, pd.DataFrame],
) -> None:
    prac = tables["practices"].astype({"practice_code": object, "pcn_name": "string[pyarrow]"})
    ours = validate_table("practices", prac)
    theirs = TABLES["practices"].validate(prac, lazy=True)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert ours["practice_code"].dtype == tables["practices"]["practice_code"].dtype


@pytest.mark.parametrize(
    "name, column, value, check",
    [
        ("lookup", "lsoa_code", "X01000001", "str_matches"),
        ("registrations", "catchment_source", "guessed", "isin"),
        ("practices", "status", "merged", "isin"),
        ("areas", "area_code", "E1", "str_length"),
        ("lookup", "lsoa_code", None, "not_nullable"),
    ],
)
def test_text_value_checks_still_run(
    tables: dict[str, pd.DataFrame], name: str, column: str, value: object, check: str
) -> None:
    frame = tables[name].copy()
    frame.loc[1, column] = value
    with pytest.raises(DatasetError, match=f"{name} table is invalid") as err:
        validate_table(name, frame)
    assert check in str(err.value) and "row 1" in str(err.value)
