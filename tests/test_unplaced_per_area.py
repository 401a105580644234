"""Issue 12 item 2: the 5% unplaced-practice rule is judged for each requested area.

The real LLR inputs are copied (linked) under tmp_path with two Rutland practices' postcode rows
taken out of the Code-Point Open files: Empingham (C82044, LE15 8PR) and Market Overton &
Somerby (C82649, LE15 7PP). Rutland (E06000017) is commissioned by sub-ICB 03W (32 open GP
practices), so 2 of 32 = 6.2% of its practices cannot be placed, while the ICB (QK1, 134
practices: 1.5%) and Leicestershire (2.5%) stay under 5%.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_practice_membership import CODEPOINT, LLR_AREAS, _mirror, _need_shared

from conftest import SHARED_DATA
from hiexplore import build as B
from hiexplore.dataset import load_dataset, unplaced_practices
from hiexplore.errors import DatasetError

GONE = {"LE15 8PR": "C82044", "LE15 7PP": "C82649"}


@pytest.fixture(scope="module")
def rutland_unplaced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared data with the Code-Point rows of two Rutland practices' postcodes removed."""
    _need_shared()
    tmp = tmp_path_factory.mktemp("rutland_unplaced")
    edited = {f"{CODEPOINT}/le.csv", f"{CODEPOINT}/gp_practice_postcodes.csv"}
    src = _mirror(tmp, edited)
    for rel in edited:
        lines = (SHARED_DATA / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [ln for ln in lines if not any(ln.startswith(f'"{pc}"') for pc in GONE)]
        assert len(lines) - len(kept) >= 1, rel  # the postcodes were there to take out
        (src / rel).write_text("".join(kept), encoding="utf-8")
    return src


def test_stop_names_the_area_over_five_percent(rutland_unplaced: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    with pytest.raises(DatasetError) as err:
        B.build_dataset([rutland_unplaced], tmp_path / "out", areas=LLR_AREAS, echo=lines.append)
    msg = str(err.value)
    # the area over the limit, by code and name, with its share; the others are not blamed
    assert "E06000017 Rutland: 2 of 32 practices (6.2%)" in msg
    assert "E10000018" not in msg and "E06000016" not in msg and "--allow-unplaced" in msg
    # the list: code, name and postcode of each
    assert "C82044  EMPINGHAM MEDICAL CENTRE  LE15 8PR" in msg
    assert "C82649  MARKET OVERTON & SOMERBY SURGERIES  LE15 7PP" in msg
    # the build output gives every area's share, the ones under the limit too
    assert any(ln.strip().startswith("E10000018 Leicestershire: 2 of ") for ln in lines), lines
    assert not (tmp_path / "out").exists()


def test_allow_unplaced_builds_and_manifest_names_the_areas(rutland_unplaced: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hiexplore.cli import app

    out = B.build_dataset([rutland_unplaced], tmp_path / "out", areas=LLR_AREAS, allow_unplaced=True)
    ds = load_dataset(out)
    listed = {u["practice_code"]: u for u in ds.manifest["unplaced_practices"]}
    assert set(listed) == set(GONE.values())
    # 03W commissions for Rutland and for Leicestershire (not for Leicester City)
    for code in GONE.values():
        assert listed[code]["areas"] == ["E06000017", "E10000018"]
        assert listed[code]["area_names"] == ["Rutland", "Leicestershire"]
    assert listed["C82044"]["postcode"] == "LE15 8PR" and listed["C82044"]["sub_icb_code"] == "03W"
    assert any(n.startswith("built with --allow-unplaced although E06000017 Rutland: 2 of 32")
               for n in ds.manifest["notes"])
    table = unplaced_practices(ds.manifest).set_index("practice_code")
    assert table.loc["C82044", "areas"] == "E06000017 Rutland; E10000018 Leicestershire"
    res = CliRunner().invoke(app, ["info", str(out)])
    assert res.exit_code == 0, res.output
    assert "C82044  EMPINGHAM MEDICAL CENTRE  LE15 8PR  [E06000017 Rutland; E10000018 Leicestershire]" in res.output


def _lookup() -> pd.DataFrame:
    """A made-up national lookup: sub-ICB X holds all of district A (4 LSOAs) and all of B (16);
    Y holds district C (10) and one stray LSOA of D; Z holds the other 9 of D."""
    rows = [("A", "X")] * 4 + [("B", "X")] * 16 + [("C", "Y")] * 10 + [("D", "Y")] + [("D", "Z")] * 9
    return pd.DataFrame({
        "lsoa_code": [f"E0100{i:04d}" for i in range(len(rows))],
        "lad_code": [r[0] for r in rows], "lad_name": [f"District {r[0]}" for r in rows],
        "sub_icb_code_nhs": [r[1] for r in rows], "icb_code_nhs": "Q1",
    })


def test_requested_areas_cover_rule() -> None:
    got = {a.code: a for a in B.requested_areas(_lookup(), ["A", "B", "D"])}
    # X is only 20% in A but holds all of A: it commissions for A; B holds most of X
    assert got["A"].sub_icb == {"X"} and got["B"].sub_icb == {"X"} and got["A"].label == "A District A"
    # D's stray LSOA in Y (10% of D, 9% of Y) does not make Y D's commissioner
    assert got["D"].sub_icb == {"Z"} and got["D"].touching_sub_icb == {"Y", "Z"}
    assert B.requested_areas(_lookup(), None) == []


def test_area_membership_commissioner_location_and_fallback() -> None:
    areas = B.requested_areas(_lookup(), ["A", "D"])
    pr = pd.DataFrame({
        "practice_code": ["p1", "p2", "p3", "p4"],
        "sub_icb_code": ["X", "Z", "Y", "Y"],
        "icb_code": ["Q1"] * 4,
        # p3 stands in D's stray LSOA (E01000030, sub-ICB Y); p4 is placed nowhere
        "lsoa_code": [None, None, "E01000030", None],
    })
    commissioned = np.array([True, True, False, True])
    got = B.area_membership(pr, areas, commissioned, {"X", "Y", "Z"})
    # p4: commissioned for the areas together, for neither alone: it goes where Y touches (D)
    assert got == [["A"], ["D"], ["D"], ["D"]]


def test_unplaced_shares_doctest() -> None:
    assert doctest.testmod(B, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_without_areas_judged_per_icb_and_said() -> None:
    """No --areas (all of England): the share is judged per ICB, and the message says so."""
    pr = pd.DataFrame({
        "practice_code": [f"P{i}" for i in range(30)],
        "practice_name": [f"Practice {i}" for i in range(30)],
        "postcode": [f"AB1 {i}XY" for i in range(30)],
        "icb_code": ["QAA"] * 10 + ["QBB"] * 20,
        "sub_icb_code": ["01A"] * 10 + ["02B"] * 20,
        "easting": [1.0] * 30, "list_size": [1000.0] * 30, "lsoa_code": [None] * 30,
    })
    pr.loc[[0, 12], "easting"] = np.nan  # 1 of 10 in QAA (10%), 1 of 20 in QBB (5%: not over)
    commissioned = np.ones(30, dtype=bool)
    lines: list[str] = []
    with pytest.raises(DatasetError) as err:
        B._check_unplaced(pr, commissioned, [], {"01A", "02B"}, {"QAA": "NHS Alpha ICB"}, False, lines.append, [])
    msg = str(err.value)
    assert "no --areas given: all of England, judged per ICB" in msg
    assert "QAA NHS Alpha ICB: 1 of 10 practices (10.0%)" in msg and "QBB:" not in msg
    assert "P0  Practice 0  AB1 0XY" in msg and "P12" not in msg
    notes: list[str] = []
    listed = B._check_unplaced(pr, commissioned, [], {"01A", "02B"}, {}, True, lines.append, notes)
    assert [(u["practice_code"], u["areas"]) for u in listed] == [("P0", ["QAA"]), ("P12", ["QBB"])]
    assert any(n.startswith("built with --allow-unplaced although QAA: 1 of 10") for n in notes)


def test_practice_of_a_covering_sub_icb_outside_the_dataset_is_said() -> None:
    """District A alone: sub-ICB X (20% in A) commissions for it but not for the dataset; an
    unplaced X practice is judged for A and listed as not in the dataset."""
    areas = B.requested_areas(_lookup(), ["A"])
    pr = pd.DataFrame({
        "practice_code": ["p1", "p2"], "practice_name": ["One", "Two"], "postcode": ["ZZ1 1ZZ", "ZZ1 2ZZ"],
        "icb_code": ["Q1", "Q1"], "sub_icb_code": ["X", "X"], "easting": [np.nan, 1.0],
        "list_size": [1000.0, 1000.0], "lsoa_code": [None, "E01000000"],
    })
    notes: list[str] = []
    listed = B._check_unplaced(pr, np.array([False, False]), areas, {"X", "Y", "Z"}, {}, True, lambda _: None, notes)
    assert [(u["practice_code"], u["areas"], u["in_dataset"]) for u in listed] == [("p1", ["A"], False)]
    assert "not in the dataset" in listed[0]["reason"] and any("1 of them, p1, are not in the dataset" in n for n in notes)
    assert unplaced_practices({"unplaced_practices": listed}).loc[0, "areas"] == "A District A"
