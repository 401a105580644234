"""Issue 14 item 2: recent trends (Fingertips' chi-squared test for trend) and where they show."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.periods import period_kind, period_score
from hiexplore.stats import trend as T
from hiexplore.stats.trend import TREND_ALPHA, proportion_trend, trend_test

Q = ["2023/24 Q1", "2023/24 Q2", "2023/24 Q3", "2023/24 Q4", "2024/25 Q1", "2024/25 Q2"]


# --- the method ---------------------------------------------------------------------------------

def test_worked_example_of_r_prop_trend_test() -> None:
    """R's ?prop.trend.test: smokers <- c(83, 90, 129, 70); patients <- c(86, 93, 136, 82);
    prop.trend.test(smokers, patients) gives X-squared = 8.2249, df = 1, p-value = 0.004132."""
    r = proportion_trend([83, 90, 129, 70], [86, 93, 136, 82], ["2021", "2022", "2023", "2024"], min_points=4)
    assert r.chi2 == pytest.approx(8.2249, abs=5e-5)
    assert r.p == pytest.approx(0.004132, abs=5e-7)
    assert r.points == 4 and r.slope < 0
    # significant at 1% but not at Fingertips' 99.9% level
    assert r.label == "no significant change"
    assert proportion_trend([83, 90, 129, 70], [86, 93, 136, 82], ["2021", "2022", "2023", "2024"],
                            min_points=4, alpha=0.01).label == "decreasing"
    # the statistic is the weighted regression sum of squares (numpy's weighted least squares)
    x, n = np.array([83, 90, 129, 70.]), np.array([86, 93, 136, 82.])
    p = x.sum() / n.sum()
    w = n / (p * (1 - p))
    s = np.arange(1, 5.0)
    fit = np.polyfit(s, x / n, 1, w=np.sqrt(w))
    pred = np.polyval(fit, s)
    fbar = (w * x / n).sum() / w.sum()
    assert (w * (pred - fbar) ** 2).sum() == pytest.approx(r.chi2, rel=1e-9)


def test_doctests_run() -> None:
    assert doctest.testmod(T).failed == 0


def test_direction_and_significance() -> None:
    up = proportion_trend([700, 750, 800, 850, 900], [1000] * 5, Q[:5])
    down = proportion_trend([900, 850, 800, 750, 700], [1000] * 5, Q[:5])
    flat = proportion_trend([800, 801, 799, 800, 800], [1000] * 5, Q[:5])
    assert (up.label, down.label, flat.label) == ("increasing", "decreasing", "no significant change")
    assert up.p < TREND_ALPHA and down.p < TREND_ALPHA and flat.p > 0.5
    assert up.chi2 == pytest.approx(down.chi2)  # mirror images: same statistic, opposite slopes


def test_fewer_than_five_points_is_not_enough() -> None:
    r = proportion_trend([700, 800, 900, 950], [1000] * 4, Q[:4])
    assert r.label == "not enough points" and r.points == 4 and np.isnan(r.p)
    assert proportion_trend([], [], []).label == "not enough points"


def test_zero_and_missing_denominators_are_not_points() -> None:
    r = proportion_trend([700, 750, 0, 850, 900], [1000, 1000, 0, 1000, 1000], Q[:5])
    assert (r.label, r.points) == ("not enough points", 4)
    r = proportion_trend([700, 750, np.nan, 850, 900, 950], [1000, 1000, np.nan, 1000, 1000, 1000], Q)
    assert (r.label, r.points) == ("not enough points", 4)  # the last five periods hold four figures
    # 0% or 100% throughout: nothing to test, no error
    r = proportion_trend([50] * 5, [50] * 5, Q[:5])
    assert (r.label, r.chi2, r.p) == ("no significant change", 0.0, 1.0)


def test_only_the_last_five_of_the_same_kind_are_tested() -> None:
    periods = ["2019/20", "2020/21", "2021/22", "2022/23", "2023/24", *Q]
    # annual figures rising steeply, quarterly ones flat: the latest period is a quarter
    num = [500, 600, 700, 800, 900, 800, 800, 801, 799, 800, 800]
    r = proportion_trend(num, [1000] * 11, periods)
    assert r.periods == tuple(Q[1:]) and r.label == "no significant change"
    # with a year last, only the years count
    r = proportion_trend(num[:5] + [800], [1000] * 6, [*periods[:5], "2024/25"])
    assert r.periods == ("2020/21", "2021/22", "2022/23", "2023/24", "2024/25")
    assert r.label == "increasing"
    # six quarters, given out of order: the five most recent, in time order
    r = proportion_trend([9, 1, 2, 3, 4, 5], [10] * 6, [Q[5], Q[0], Q[1], Q[2], Q[3], Q[4]])
    assert r.periods == tuple(Q[1:])


def test_direction_note_follows_polarity_and_doctests_run() -> None:
    from hiexplore import trends
    from hiexplore.trends import direction_note

    assert direction_note("increasing", "higher is better") == ", getting better"
    assert direction_note("decreasing", "lower is better") == ", getting better"
    assert direction_note("increasing", "lower is better") == ", getting worse"
    assert direction_note("not enough points", "lower is better") == ""
    assert doctest.testmod(trends).failed == 0


def test_period_kinds_and_scores() -> None:
    assert period_kind("2024/25 Q1") == period_kind("2024 Q3") == "quarter"
    assert period_kind("2023/24") == "financial year" and period_kind("2023") == "calendar year"
    assert period_score("2024/25 Q1") - period_score("2023/24 Q4") == 1.0
    assert period_score("2024/25 Q1") - period_score("2023/24 Q1") == 4.0  # a year is 4 quarters
    assert np.isnan(period_score("latest"))


def test_many_series_at_once_match_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    den = rng.integers(0, 400, size=(50, 5)).astype(float)
    num = np.floor(den * rng.uniform(0.6, 0.99, size=(50, 5)))
    labels, points, chi2, p, _ = trend_test(num, den, np.arange(5.0))
    for i in range(50):
        one = proportion_trend(num[i], den[i], Q[:5])
        assert (one.label, one.points) == (labels[i], points[i])
        if one.points == 5:
            assert one.chi2 == pytest.approx(chi2[i]) and one.p == pytest.approx(p[i])


def test_published_fingertips_recent_trend_markers() -> None:
    """Fingertips' own "Recent Trend" markers on QOF smoking prevalence (indicator 91547, 2022/23,
    England, ICBs, counties, UAs and districts; 319 markers), recomputed from the same export's counts.

    317 of 319 agree. The two that do not (Basingstoke and Deane E07000084, Preston E07000123:
    Fingertips "No significant change", the test "increasing"/"decreasing" at p < 0.001) both
    have a 2018/19 denominator about 20% above their other years in the export, which
    presumably differs from what Fingertips tested when it set the marker.
    """
    path = shared_path("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
    f = pd.read_csv(path, low_memory=False)
    f = f[f["Category Type"].isna()].drop_duplicates(["Area Code", "Time period"])
    marked = f[f["Recent Trend"].fillna("").str.match(r"(Increasing|Decreasing|No significant change)")]
    assert len(marked) >= 300
    disagree = []
    for _, row in marked.iterrows():
        s = f[(f["Area Code"] == row["Area Code"]) & (f["Time period"] <= row["Time period"])]
        got = proportion_trend(s["Count"], s["Denominator"], s["Time period"].tolist()).label
        want = row["Recent Trend"].split(" and ")[0].lower()
        if got != want:
            disagree.append(row["Area Code"])
    assert sorted(disagree) == ["E07000084", "E07000123"]


# --- per dataset ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ds(embedded_dataset):
    from hiexplore.dataset import load_dataset

    return load_dataset(embedded_dataset)


@pytest.mark.parametrize("geography", ["practice", "lsoa", "pcn", "icb", "utla"])
def test_area_trends_on_the_embedded_data(ds, geography: str) -> None:
    from hiexplore.trends import area_trends

    t = area_trends(ds, "mmr1_24m", geography)
    assert list(t.columns[:3]) == ["area_code", "trend", "trend_points"]
    assert set(t["trend"]) <= set(T.TREND_LABELS) and len(t) > 0
    assert ((t["trend"] == "not enough points") == (t["trend_points"] < 5)).all()
    assert t["trend_points"].between(0, 5).all() and t["area_code"].is_unique
    # the latest period's five quarters: 2023/24 Q2 to 2024/25 Q2 for practice figures; LA to 2024/25 Q4
    assert t["trend_periods"].iloc[0] == ("2023/24 Q4 to 2024/25 Q4" if geography == "utla" else "2023/24 Q2 to 2024/25 Q2")
    early = area_trends(ds, "mmr1_24m", geography, period="2023/24 Q3")
    if geography != "utla":  # three quarters of practice figures by then
        assert set(early["trend"]) == {"not enough points"}


def test_la_trend_matches_the_method_on_its_published_quarters(ds) -> None:
    from hiexplore.trends import area_trends, trend_series

    s = trend_series(ds, "mmr1_24m", "utla", "E06000016")
    assert list(s.columns[:7]) == ["period", "period_end", "value", "numerator", "denominator", "england", "standard"]
    assert s["period"].iloc[0] == "2016/17 Q1" and s["period"].iloc[-1] == "2024/25 Q4"  # COVER LA back to 2016/17
    assert s["period_end"].is_monotonic_increasing and s["in_trend"].sum() == 5
    last5 = s[s["in_trend"]]
    want = proportion_trend(last5["numerator"], last5["denominator"], last5["period"].tolist())
    t = area_trends(ds, "mmr1_24m", "utla").set_index("area_code").loc["E06000016"]
    assert (t["trend"], t["trend_points"]) == (want.label, 5) and t["p_value"] == pytest.approx(want.p)
    assert s.attrs["trend"] == want.label
    assert (s["standard"] == 90.0).all()  # MMR1's acceptable level
    assert s["value_note"].str.contains("estimated").all()  # COVER LA numerators are estimates


def test_lsoa_series_is_apportioned_and_says_so(ds) -> None:
    from hiexplore.errors import RequestError
    from hiexplore.trends import trend_series

    s = trend_series(ds, "mmr1_24m", "lsoa", "E01013600")
    assert s["period"].tolist() == Q and (s["method"] == "apportioned from practices").all()
    assert s["england"].notna().all()
    with pytest.raises(RequestError):
        trend_series(ds, "mmr1_24m", "lsoa", "E99999999")
    with pytest.raises(RequestError):
        trend_series(ds, "mmr1_24m", "county", "E01013600")


def test_trend_figure_properties(ds) -> None:
    from hiexplore.trends import trend_figure, trend_series

    s = trend_series(ds, "mmr1_24m", "utla", "E06000016")
    fig = trend_figure(s, source=ds.provenance_line())
    names = [t.name for t in fig.data]
    assert names == ["Leicester", "England", "standard (acceptable)"]
    assert list(fig.data[0].x) == s["period"].tolist()
    assert fig.layout.xaxis.title.text == "period" and "%" in fig.layout.yaxis.title.text
    assert "recent trend: " + s.attrs["trend"] in fig.layout.title.text
    assert "Sources:" in fig.layout.annotations[0].text and "99.9%" in fig.layout.annotations[0].text
    symbols = list(fig.data[0].marker.symbol)
    assert symbols.count("circle") == 5  # the five periods tested are filled
    payload = json.dumps(fig.to_plotly_json(), default=str)
    assert "Okabe" not in payload and "#0072B2" in payload


# --- where trends show: flags, targets, practices, profile, CLI ------------------------------------

def test_flags_carry_the_trend_of_their_period(ds) -> None:
    from hiexplore.flags import FLAG_COLUMNS, compute_flags
    from hiexplore.trends import area_trends

    assert FLAG_COLUMNS[-2:] == ["trend", "trend_points"]
    f = compute_flags(ds, "mmr1_24m", "pcn")
    want = area_trends(ds, "mmr1_24m", "pcn").set_index("area_code")
    got = f.set_index("area_code")
    assert (got["trend"] == want["trend"].reindex(got.index)).all()
    assert (got["trend_points"] == want["trend_points"].reindex(got.index)).all()
    assert f.attrs["trend_periods"] == "2023/24 Q2 to 2024/25 Q2" and "99.9%" in f.attrs["trend_method"]
    early = compute_flags(ds, "mmr1_24m", "pcn", period="2023/24 Q2")  # two quarters by then
    assert set(early["trend"]) == {"not enough points"} and early["trend_points"].max() == 2


def test_cli_outputs_carry_trend_columns(embedded_dataset, tmp_path) -> None:
    from typer.testing import CliRunner

    from hiexplore.cli import app

    run = CliRunner()
    ds_arg = ["--dataset", str(embedded_dataset)]
    out = run.invoke(app, ["flags", *ds_arg, "--indicator", "mmr1_24m", "--geography", "pcn",
                           "--out", str(tmp_path / "f.csv")])
    assert out.exit_code == 0, out.output
    f = pd.read_csv(tmp_path / "f.csv")
    assert {"trend", "trend_points"} <= set(f.columns) and f["trend"].notna().all()
    out = run.invoke(app, ["targets", *ds_arg, "--indicator", "mmr1_24m,dtap_ipv_hib_hepb_12m", "--geography", "pcn",
                           "--out", str(tmp_path / "t.xlsx")])
    assert out.exit_code == 0, out.output
    t = pd.read_excel(tmp_path / "t.xlsx", sheet_name=0)
    assert {"trend", "trend_points", "mmr1_24m_trend"} <= set(t.columns)
    # "Short name: label" for each indicator the area is flagged on (all when on none)
    pattern = r"^(?:(?:MMR1 at 24 months|6-in-1 at 12 months): [a-z ]+(?:; |$))+$"
    assert t["trend"].str.match(pattern).all() and t["trend"].str.contains("MMR1 at 24 months").any()
    meta = pd.read_excel(tmp_path / "t.xlsx", sheet_name=1)
    assert meta["field"].eq("trend").any()
    out = run.invoke(app, ["practices", *ds_arg, "--indicator", "mmr1_24m", "--out", str(tmp_path / "p.csv")])
    assert out.exit_code == 0, out.output
    p = pd.read_csv(tmp_path / "p.csv")
    assert {"trend", "trend_points"} <= set(p.columns)
    assert (p.loc[p["trend_points"] < 5, "trend"] == "not enough points").all()
    out = run.invoke(app, ["profile", *ds_arg, "--area", "E01013600", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["indicator"]: r for r in json.loads(out.output)["indicators"]}
    assert rows["mmr1_24m"]["trend"] in T.TREND_LABELS and rows["mmr1_24m"]["trend_points"] == 5
    assert rows["cervical_screening_25_49"]["trend"] == "not enough points"  # one period only
    out = run.invoke(app, ["trend", *ds_arg, "--indicator", "mmr1_24m", "--geography", "utla", "--area",
                           "E10000018", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert got["trend"] in T.TREND_LABELS and got["series"][0]["period"] == "2016/17 Q1"
    assert {"period", "period_end", "value", "numerator", "denominator", "england", "standard"} <= set(got["series"][0])
    out = run.invoke(app, ["trend", *ds_arg, "--indicator", "mmr1_24m", "--geography", "practice", "--json"])
    assert out.exit_code == 0, out.output
    assert {"area_code", "trend", "trend_points"} <= set(json.loads(out.output)["areas"][0])


def test_profile_shows_the_trend(ds) -> None:
    from hiexplore.profile import area_profile

    p = area_profile(ds, "E01013600")
    assert "recent trend" in p.table().columns
    assert "Recent trend: not enough points (1 of 5)." in p.text()


def test_app_shows_la_and_profile_trend_charts(embedded_dataset, monkeypatch) -> None:
    """The Overview's LA block and the Map explorer's profile each draw a trend chart with England
    and the standard, and a table beside it (AppTest on the embedded data)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    monkeypatch.setenv("HIEXPLORE_DATASET", str(embedded_dataset))
    at = AppTest.from_file(app, default_timeout=300)
    at.query_params.update({"la_trend_ind": "mmr1_24m", "la_trend_area": "E10000018"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Recent trends by local authority" in [s.value for s in at.subheader]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    la = [s for s in specs if "Leicestershire" in s["layout"]["title"]["text"]]
    assert len(la) == 1 and [d["name"] for d in la[0]["data"]] == ["Leicestershire", "England", "standard (acceptable)"]
    assert la[0]["data"][0]["x"][0] == "2016/17 Q1"
    assert any({"area_name", "trend"} <= set(df.value.columns) for df in at.dataframe)
    at = AppTest.from_file(app, default_timeout=300)
    at.switch_page("pages/map_explorer.py")
    at.query_params.update({"ind": "mmr1_24m", "geo": "lsoa", "area": "E01013600"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any("Leicester 003A" in s["layout"]["title"]["text"] for s in specs)
    assert any("apportioned from practices" in c.value for c in at.caption)


def test_summed_panels_agree_with_area_figures(ds) -> None:
    """MSOA and PCN trend figures are sums of the LSOA and practice panels: the same numbers as
    the flags' own figures (:func:`hiexplore.apportion.area_figures`)."""
    from hiexplore.apportion import area_figures
    from hiexplore.trends import _panel

    for geography in ("msoa", "pcn"):
        long = _panel(ds, "mmr1_24m", geography)["long"]
        for period in ("2023/24 Q1", "2024/25 Q2"):
            want = area_figures(ds, "mmr1_24m", geography, period).set_index("area_code")
            got = long[long["period"] == period].set_index("area_code").reindex(want.index)
            np.testing.assert_allclose(got["numerator"], want["numerator"], rtol=1e-9)
            np.testing.assert_allclose(got["denominator"], want["denominator"], rtol=1e-9)
            assert (got["area_name"].astype(str) == want["area_name"].astype(str)).all()


def test_trend_chart_and_table_show_names_literally(payload_dataset) -> None:
    """Names are data: in the chart they are escaped for plotly's pseudo-HTML, hover templates
    are constants, and the table keeps them as they were."""
    import html

    from payloads import EVALUATED, TAG

    from hiexplore.dataset import load_dataset
    from hiexplore.trends import trend_figure, trend_series, trend_table

    pds = load_dataset(payload_dataset)
    indicator = "smoking_prevalence_qof"
    for geography in ("practice", "pcn"):
        table = trend_table(pds, indicator, geography)
        assert table["area_name"].str.startswith(TAG).all()
        s = trend_series(pds, indicator, geography, table["area_code"].iloc[0])
        fig = trend_figure(s, source=pds.provenance_line())
        spec = fig.to_plotly_json()
        text = json.dumps(spec)
        assert "<img" not in text and "{{" not in text and not [e for e in EVALUATED if e in text]
        assert TAG in html.unescape(spec["data"][0]["name"]) and TAG in html.unescape(spec["layout"]["title"]["text"])
        assert {t.get("hovertemplate") for t in spec["data"]} <= {
            "%{x}: %{y:.1f}%<extra></extra>", "England %{x}: %{y:.1f}%<extra></extra>",
            "standard %{x}: %{y:.0f}%<extra></extra>"}


def test_app_trend_charts_show_payload_names_escaped(payload_dataset, monkeypatch) -> None:
    """The profile's trend chart on a dataset whose every name carries injection payloads: the
    title and legend show the name (escaped for plotly), hover templates stay constant."""
    import html
    from pathlib import Path

    from payloads import MARKERS, TAG
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HIEXPLORE_DATASET", str(payload_dataset))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.switch_page("pages/map_explorer.py")
    at.query_params.update({"ind": "smoking_prevalence_qof", "geo": "lsoa"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    trend = [s for s in specs if "recent trend" in str(s["layout"]["title"]["text"])]
    assert trend, "no trend chart under the profile"
    for spec in trend:
        title = spec["layout"]["title"]["text"]
        assert "<img" not in title and "{{" not in title and TAG in html.unescape(title)
        for trace in spec["data"]:
            assert not any(m in trace.get("hovertemplate", "") for m in MARKERS)
            assert "<img" not in trace["name"] and "{{" not in trace["name"]


def test_trend_caption_says_what_the_series_rests_on(ds) -> None:
    from hiexplore.trends import trend_caption

    la = trend_caption(ds, "mmr1_24m", "utla")
    assert "per quarter, 2016/17 Q1 to 2024/25 Q4" in la and "COVER" in la and "numerators are estimated" in la
    smoking = trend_caption(ds, "smoking_prevalence_qof", "utla")
    assert "per year" in smoking and "the 5 latest years" in smoking and "quarter" not in smoking
    assert "apportioned from practices, so estimates" in trend_caption(ds, "mmr1_24m", "lsoa")
    from hiexplore.trends import trend_series

    s = trend_series(ds, "mmr1_24m", "utla", "E06000016")
    assert s.attrs["sources"] == ["UKHSA COVER GP-level", "UKHSA COVER quarterly by UTLA"]  # England's and the LA's
