"""What the Overview, Inequalities and Practices pages show, kept per loaded dataset and choice
(issue 13 item 3: ``hiexplore.page_views``), the warm-up that computes each page's default choice,
and the default indicator (the newest current one).

Correctness only: each cached view equals the package functions computed afresh, another choice
or another (rebuilt) dataset gives its own result, and after the warm-up the default pages
compute nothing. Speed is measured by ``benchmarks/app_latency.py`` and ``benchmarks/concurrency.py``.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from conftest import small_demo
from hiexplore import page_views as pv
from hiexplore.dataset import Dataset, load_dataset
from hiexplore.derived import DERIVED_DIR, derive_flags
from hiexplore.flags import compute_flags
from hiexplore.inequality_report import inequality_report, inequality_trend, what_if_standard
from hiexplore.periods import figure_age
from hiexplore.practice_compare import compare_practices, filter_practices, practice_table

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
KEEP = ("mmr1_24m", "cervical_screening_25_49")
IND = "mmr1_24m"


def _tiny(out: Path, seed: int) -> Path:
    """A small synthetic dataset with two indicators of two periods each (no derived store)."""
    return small_demo(out, 60, 8, seed, KEEP, latest_only=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small dataset with its flags stored (what the warm-up needs: a fresh store)."""
    out = _tiny(tmp_path_factory.mktemp("views") / "tiny", 5)
    derive_flags(load_dataset(out))
    return out


@pytest.fixture(scope="module")
def ds(tiny: Path) -> Dataset:
    return load_dataset(tiny)


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Another dataset of the same shape (another seed): what a rebuild with new files gives."""
    return load_dataset(_tiny(tmp_path_factory.mktemp("views_other") / "tiny", 6))


@pytest.fixture(scope="module")
def llr(embedded_dataset: Path) -> Dataset:
    return load_dataset(embedded_dataset)


def _latest(ds: Dataset, key: str = IND) -> str:
    return ds.periods(key)[-1]


# --- inequalities


def test_gradient_view_is_the_report_kept_per_choice(ds: Dataset) -> None:
    p = _latest(ds)
    view = pv.gradient_view(ds, IND, "lsoa", "imd_decile", p)
    fresh = inequality_report(ds, IND, "lsoa", by="imd_decile", period=p)
    assert view.report["sii"] == pytest.approx(fresh["sii"])
    assert view.report["groups"] == fresh["groups"]
    assert list(view.figure.data[0].y) == pytest.approx([g["value"] for g in fresh["groups"]])
    assert view.table["uptake %"].tolist() == pytest.approx([round(g["value"], 1) for g in fresh["groups"]])
    assert pv.gradient_view(ds, IND, "lsoa", "imd_decile", p) is view  # kept: the same object
    # another choice, another result
    quint = pv.gradient_view(ds, IND, "lsoa", "imd_quintile", p)
    assert quint is not view and len(quint.groups) < len(view.groups) and quint.label == "IMD quintile"
    older = pv.gradient_view(ds, IND, "lsoa", "imd_decile", ds.periods(IND)[0])
    assert older.report["period"] == ds.periods(IND)[0] != view.report["period"]
    assert older.report["sii"] == pytest.approx(
        inequality_report(ds, IND, "lsoa", by="imd_decile", period=ds.periods(IND)[0])["sii"])


def test_trend_and_what_if_views_match_the_package_functions(ds: Dataset) -> None:
    p = _latest(ds)
    tv = pv.inequality_trend_view(ds, IND, "lsoa", "imd_decile")
    pd.testing.assert_frame_equal(tv.trend, inequality_trend(ds, IND, "lsoa", by="imd_decile"))
    assert len(tv.trend) == 2 and list(tv.figure.data[0].y) == pytest.approx(tv.trend["most deprived"].tolist())
    w = pv.what_if_view(ds, IND, "lsoa", "imd_decile", p)
    fresh = what_if_standard(ds, IND, "lsoa", by="imd_decile", period=p, flags=compute_flags(ds, IND, "lsoa", period=p))
    assert (w.extra_reached, w.sii_before, w.sii_after) == pytest.approx((fresh.extra_reached, fresh.sii_before,
                                                                           fresh.sii_after))
    by_quintile = pv.what_if_view(ds, IND, "lsoa", "imd_quintile", p)
    assert by_quintile is not w and len(by_quintile.before) < len(w.before)


def test_busy_is_shown_only_while_a_result_is_computed(ds: Dataset) -> None:
    """A page's spinner (``busy``) is entered for a new choice, not when the result is kept."""
    from contextlib import contextmanager

    entered: list[str] = []

    @contextmanager
    def busy():
        entered.append("in")
        yield

    fresh = load_dataset(ds.path)  # nothing kept yet
    first = pv.gradient_view(fresh, IND, "lsoa", "imd_quintile", _latest(fresh), busy=busy)
    assert entered == ["in"]
    assert pv.gradient_view(fresh, IND, "lsoa", "imd_quintile", _latest(fresh), busy=busy) is first
    assert entered == ["in"]


# --- practices


def test_practice_views_match_and_follow_the_filters(ds: Dataset) -> None:
    p = _latest(ds)
    view = pv.practices_view(ds, IND, p, "none")
    fresh = compare_practices(ds, IND, period=p, flags=compute_flags(ds, IND, "practice", period=p))
    pd.testing.assert_frame_equal(view.data, fresh)
    everyone = pv.practice_selection_view(ds, IND, p, "none", list_size=(0, view.list_size_max))
    expected = practice_table(filter_practices(fresh, list_size=(0, view.list_size_max)))
    pd.testing.assert_frame_equal(everyone.table, expected)
    assert everyone.csv.decode("utf-8-sig").splitlines()[0].split(",")[:3] == list(expected.columns[:3])
    assert len(everyone.csv.decode("utf-8-sig").splitlines()) == len(expected) + 1
    pcn = sorted(view.pcns)[0]
    one = pv.practice_selection_view(ds, IND, p, "none", pcn=[pcn], list_size=(0, view.list_size_max))
    assert one is not everyone and set(one.selected["pcn_code"]) == {pcn} and len(one.table) < len(everyone.table)
    blue = [t for t in one.funnel_figure.data if t.name == "Selected practices"][0]
    assert len(blue.x) == len(one.selected.dropna(subset=["numerator", "denominator"]))
    assert pv.practice_selection_view(ds, IND, p, "none", pcn=[pcn], list_size=(0, view.list_size_max)) is one
    wider = pv.practices_view(ds, IND, p, "multiplicative")
    assert wider is not view and wider.funnel.overdispersion == "multiplicative"


# --- a rebuilt dataset, the Overview


def test_a_reloaded_or_rebuilt_dataset_gets_its_own_results(tiny: Path, ds: Dataset, other: Dataset) -> None:
    p = _latest(ds)
    mine = pv.gradient_view(ds, IND, "lsoa", "imd_decile", p)
    reloaded = load_dataset(tiny)  # what the app does when the folder's stamp changes
    again = pv.gradient_view(reloaded, IND, "lsoa", "imd_decile", p)
    assert again is not mine and again.report["sii"] == pytest.approx(mine.report["sii"])
    theirs = pv.gradient_view(other, IND, "lsoa", "imd_decile", _latest(other))
    assert theirs.report["sii"] != pytest.approx(mine.report["sii"])
    assert theirs.report["sii"] == pytest.approx(inequality_report(other, IND, "lsoa", period=_latest(other))["sii"])
    assert not pv.overview_headline(other).table.equals(pv.overview_headline(ds).table)


def test_overview_headline_is_the_quintile_report_and_the_flags(llr: Dataset) -> None:
    head = pv.overview_headline(llr)
    rows = head.table.set_index("measure")
    rep = inequality_report(llr, IND, "lsoa", by="imd_quintile")
    flags = compute_flags(llr, IND, "lsoa")
    assert rows.loc["SII (pp)", "immunisation"] == f"{rep['sii']:.1f} ({rep['sii_lower']:.1f} to {rep['sii_upper']:.1f})"
    assert rows.loc["flagged areas", "immunisation"] == f"{int(flags['flagged'].sum()):,}"
    assert rows.loc["age", "screening"].startswith("out of date") and rows.loc["age", "immunisation"] == "current"
    assert head.mixed_note and "mixes periods" in head.mixed_note
    assert head.shown == ["cervical_screening_25_49", IND]


def test_source_lines_are_kept_per_dataset_and_arguments(llr: Dataset) -> None:
    from hiexplore.charts import source_line, sources_for

    line = source_line(llr, ["cervical_screening_25_49"], geography="practice")
    assert line == llr.provenance_line(limit=6, sources=sources_for(llr, ["cervical_screening_25_49"],
                                                                    geography="practice"))
    assert "Cervical" in line and "immunisation" not in line.lower()
    assert source_line(llr, ["cervical_screening_25_49"], geography="practice") is line
    assert source_line(llr, [IND], geography="practice") != line
    assert source_line(llr, ["cervical_screening_25_49"], geography="practice", kinds=("deprivation",)) != line


# --- the default indicator


def test_default_indicator_is_the_newest_current_one(llr: Dataset) -> None:
    chosen = pv.default_indicator(llr, pv.PREFERRED["practices"])
    # cervical screening (the page's preference) ends in 2017: out of date; MMR1 is among the newest
    assert chosen == IND
    age = figure_age(llr, llr.periods(chosen)[-1])
    assert age.out_of_date is False and age.period_end == max(figure_age(llr, llr.periods(k)[-1]).period_end
                                                              for k in llr.indicator_keys())
    # no preference: the first of the newest current ones in catalogue order
    assert pv.default_indicator(llr) == "dtap_ipv_hib_hepb_12m"
    # none current among the keys offered: the newest of them, the preferred first
    old = ["cervical_screening_50_64", "cervical_screening_25_49"]
    assert pv.default_indicator(llr, ("cervical_screening_25_49",), old) == "cervical_screening_25_49"
    assert pv.default_indicator(llr, (), []) is None


def test_an_out_of_date_preference_gives_way(tiny: Path, tmp_path: Path) -> None:
    """A synthetic case: the same dataset with cervical screening's periods made six years older."""
    out = tmp_path / "old_cervical"
    shutil.copytree(tiny, out)
    shutil.rmtree(out / DERIVED_DIR, ignore_errors=True)
    table = out / "indicators.parquet"
    frame = pd.read_parquet(table)
    old = frame["indicator"] == "cervical_screening_25_49"
    frame.loc[old, "period"] = frame.loc[old, "period"].map({"2023/24": "2017/18", "2024/25": "2018/19"})
    frame.to_parquet(table, index=False)
    assert pv.default_indicator(load_dataset(tiny), pv.PREFERRED["practices"]) == "cervical_screening_25_49"
    assert pv.default_indicator(load_dataset(out), pv.PREFERRED["practices"]) == IND


def test_practices_page_opens_on_the_newest_current_indicator(embedded_dataset: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HIEXPLORE_DATASET", str(embedded_dataset))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.switch_page("pages/practices.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["ind"] == IND
    assert not [w.value for w in at.warning if "out of date" in w.value]


# --- the warm-up


WATCHED = {
    "hiexplore.inequality_report": ("inequality_report", "inequality_trend", "what_if_standard", "ethnicity_gradient"),
    "hiexplore.practice_compare": ("compare_practices", "practice_funnel", "filter_practices"),
    "hiexplore.charts": ("gradient_figure", "trend_figure", "practice_ci_figure", "practice_funnel_figure"),
    "hiexplore.trends": ("trend_table", "trend_series", "trend_figure"),
    "hiexplore.la_deprivation": ("deprivation_summary",),
    "hiexplore.flags": ("compute_flags",),
}


def test_warm_up_leaves_the_default_pages_ready(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After ``warm_up`` (what ``hiexplore app`` runs before it listens), the Overview,
    Inequalities and Practices pages on their default choices compute nothing: every package
    function behind them is counted, and a non-default choice shows the count works."""
    import importlib

    from streamlit.testing.v1 import AppTest

    from app_support.warm import warm_up

    took = warm_up(tiny)
    assert took["pages_s"] > 0
    calls: Counter[str] = Counter()
    for module, names in WATCHED.items():
        mod = importlib.import_module(module)
        for name in names:
            def counted(*args, _f=getattr(mod, name), _n=f"{module}.{name}", **kwargs):
                calls[_n] += 1
                return _f(*args, **kwargs)

            monkeypatch.setattr(mod, name, counted)
    monkeypatch.setenv("HIEXPLORE_DATASET", str(tiny))
    for page in ("overview", "inequalities", "practices"):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
        if page != "overview":
            at.switch_page(f"pages/{page}.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.get("plotly_chart") or page == "overview"
        assert calls == Counter(), (page, calls)
    at.selectbox(key="w_ind").select(IND).run()  # Practices on another indicator than its default
    assert not at.exception
    assert calls["hiexplore.practice_compare.compare_practices"] == 1
    assert calls["hiexplore.charts.practice_ci_figure"] == 1
