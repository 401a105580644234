"""AppTest smoke tests for every page, and the main widgets driven (no browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["overview", "map_explorer", "practices", "targets", "inequalities", "data"]


@pytest.fixture()
def app_on_demo(demo_dataset: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HIEXPLORE_DATASET", str(demo_dataset))

    def make(page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        if page != "overview":
            at.switch_page(f"pages/{page}.py")
        return at

    return make


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs(app_on_demo, page: str) -> None:
    at = app_on_demo(page).run()
    assert not at.exception, [e.value for e in at.exception]
    # a synthetic dataset says so on every screen
    assert any("SYNTHETIC" in e.value for e in at.error)


def test_overview_headline(app_on_demo) -> None:
    at = app_on_demo("overview").run()
    assert at.title[0].value.startswith("hiexplore")
    assert len(at.dataframe) >= 2
    assert at.query_params.get("dataset") == os.path.basename(os.environ["HIEXPLORE_DATASET"])


def test_map_explorer_layers_and_url_state(app_on_demo) -> None:
    at = app_on_demo("map_explorer").run()
    at.selectbox(key="w_layer").select("deprivation").run()
    assert not at.exception
    assert at.query_params["layer"] == "deprivation"
    at.selectbox(key="w_geo").select("msoa").run()
    assert not at.exception and at.query_params["geo"] == "msoa"
    at.selectbox(key="w_layer").select("flags").run()
    assert not at.exception


def test_practices_filters(app_on_demo) -> None:
    at = app_on_demo("practices").run()
    at.selectbox(key="w_od").select("multiplicative").run()
    assert not at.exception
    at.checkbox(key="w_flagged").check().run()
    assert not at.exception and at.query_params["flagged"] == "1"


def test_targets_filters_and_downloads(app_on_demo) -> None:
    at = app_on_demo("targets").run()
    assert not at.exception
    at.checkbox(key="w_core20").check().run()
    assert not at.exception
    at.selectbox(key="w_geo").select("practice").run()
    assert not at.exception


def test_inequalities_by_quintile(app_on_demo) -> None:
    at = app_on_demo("inequalities").run()
    at.selectbox(key="w_by").select("imd_quintile").run()
    assert not at.exception
    assert any("SII" in m.label for m in at.metric)


def test_inequalities_says_no_significant_gradient(embedded_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MMR1 at 24 months by LSOA decile in LLR: SII 3.0, 95% CI -0.3 to 6.4, so no claim of a direction."""
    monkeypatch.setenv("HIEXPLORE_DATASET", str(embedded_dataset))
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("pages/inequalities.py")
    at.query_params.update({"ind": "mmr1_24m", "geo": "lsoa", "by": "imd_decile"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    assert any(c.startswith("No significant gradient between most and least deprived groups") for c in captions), captions
    assert not any(c.startswith("Higher in") for c in captions)
