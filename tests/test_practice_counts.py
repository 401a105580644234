"""The Overview and the Practices page count the same practices and say so in the same words.

The areas' practices are those commissioned for them or standing in them; neighbouring practices
that only lend patients to the catchment model (``in_area_by == "catchment"``) are named apart.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hiexplore import dataset as D
from hiexplore import practice_compare as PC
from hiexplore.dataset import load_dataset, practice_counts

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_doctests() -> None:
    for module in (D, PC):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted >= 1, module.__name__


def test_llr_counts_leave_the_neighbours_out(embedded_dataset: Path) -> None:
    ds = load_dataset(embedded_dataset)
    by = ds.practices["in_area_by"]
    counts = practice_counts(ds.practices)
    assert counts.own == int((by != "catchment").sum()) and counts.neighbours == int((by == "catchment").sum())
    assert counts.neighbours >= 1 and counts.own + counts.neighbours == len(ds.practices)
    assert counts.sentence() == (f"{counts.own} GP practices; {counts.neighbours} neighbouring practices "
                                 "also serve residents (catchment model)")
    # the Practices page's line starts with the Overview's sentence and counts the gaps against it
    data = PC.compare_practices(ds, "mmr1_24m")
    line = PC.practices_scope_line(data, ds.practices)
    assert line.startswith(counts.sentence() + ". Compared here: the areas' ")
    gap = counts.own - data["area_code"].nunique()
    assert gap > 0 and f"; {gap} of them have no figure for this indicator and period." in line
    assert not set(data["area_code"]) & set(ds.practices.loc[by == "catchment", "practice_code"])


@pytest.fixture()
def app_on(demo_dataset: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HIEXPLORE_DATASET", str(demo_dataset))

    def run(page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        if page != "overview":
            at.switch_page(f"pages/{page}.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


def test_overview_and_practices_page_agree(app_on, demo_dataset: Path) -> None:
    counts = practice_counts(load_dataset(demo_dataset).practices)
    over = app_on("overview")
    metric = next(m for m in over.metric if m.label == "GP practices")
    assert metric.value == f"{counts.own:,}"
    assert any(c.value.replace("\\", "").startswith(counts.sentence()) for c in over.caption)
    prac = app_on("practices")
    scope = [c.value.replace("\\", "") for c in prac.caption if "Compared here" in c.value]
    assert scope and scope[0].startswith(counts.sentence() + ". Compared here: the areas' ")
