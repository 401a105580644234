"""Issue 13.4, "readable at a glance": the figures' legends, axes, colours, number formats and
source lines, checked on the figures themselves (no browser) on the embedded real LLR data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiexplore.charts import (
    OKABE_ITO,
    PRACTICE_CATEGORIES,
    TARGETS_MAP_CSS,
    fitted_range,
    gradient_figure,
    gradient_table_display,
    practice_category,
    practice_ci_figure,
    practice_funnel_figure,
    reference_values,
    source_line,
    sources_for,
    targets_map,
    trend_figure,
    trend_table_display,
)

SCREENING = "cervical_screening_25_49"
IMMS = "mmr1_24m"


@pytest.fixture(scope="module")
def ds(embedded_dataset: Path):
    from hiexplore.dataset import load_dataset

    return load_dataset(embedded_dataset)


@pytest.fixture(scope="module")
def practices(ds):
    from hiexplore.derived import stored_flags
    from hiexplore.practice_compare import compare_practices

    flags = stored_flags(ds, SCREENING, "practice")
    return compare_practices(ds, SCREENING, flags=flags), flags


# --- source lines ---------------------------------------------------------------------------

def test_screening_source_line_names_the_screening_file_not_immunisation(ds) -> None:
    line = source_line(ds, [SCREENING], geography="practice")
    files = {s["file"] for s in sources_for(ds, [SCREENING], geography="practice")}
    assert "phe_cervical_coverage_gp_practice_dec2017_bbc.csv" in files
    assert "Cervical screening coverage by GP practice" in line and "Public Health England" in line
    assert "COVER" not in line and "vaccination" not in line.lower()
    assert line.startswith("Sources: Public Health England")  # the indicator's own file first
    assert line.endswith("Open Government Licence v3.0.")


def test_immunisation_source_line_names_the_gp_files_and_periods_of_the_figure(ds) -> None:
    line = source_line(ds, [IMMS], geography="lsoa", periods=["2024/25 Q2"], kinds=("deprivation",))
    assert "COVER quarterly GP vaccination coverage statistics" in line and "(2024/25 Q2)" in line
    assert "upper-tier" not in line  # the LA-level COVER files do not make neighbourhood figures
    assert "Cervical" not in line
    assert "IoD2025" in line and "IoD2019" not in line  # the edition figures are grouped by
    assert "population estimates" in line  # neighbourhoods: apportioned by population
    every = source_line(ds, kinds=("deprivation",), latest_deprivation=False)
    assert "IoD2019" in every and "IoD2025" in every and "COVER" not in every


def test_la_level_source_line_keeps_la_files(ds) -> None:
    files = {s["file"] for s in sources_for(ds, [IMMS], geography="lad")}
    assert any(f.startswith("COVER_") for f in files)


def test_map_source_line_names_only_its_geographys_boundaries(ds) -> None:
    line = source_line(ds, [IMMS], geography="lsoa", kinds=("boundaries",))
    assert "LSOA 2021 boundaries" in line and "MSOA 2021 boundaries" not in line and "LAD 2024 boundaries" not in line


# --- practices: the caterpillar chart and the funnel ----------------------------------------

def test_practice_categories_mean_one_thing_each(practices) -> None:
    data, _ = practices
    cat = practice_category(data)
    labels = [c[0] for c in PRACTICE_CATEGORIES]
    below_eng = data["vs_benchmark"].eq("Worse")
    below_std = data["standard_band"].astype(str).str.startswith("below")
    assert (cat[below_eng] == labels[0]).all()
    assert (cat[~below_eng & below_std] == labels[1]).all()
    assert (cat[~below_eng & ~below_std] == labels[2]).all()
    assert set(cat) == set(labels)  # the LLR data has practices in all three


def test_caterpillar_legend_colours_axes_and_labels(practices) -> None:
    data, flags = practices
    chart = data.dropna(subset=["value", "lower_ci_95", "upper_ci_95"]).sort_values("value")
    england = float(flags["benchmark_value"].iloc[0])
    fig = practice_ci_figure(chart, england=england, acceptable=80.0, title="Cervical <b>x</b>", subtitle="out of date")
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == [c[0] for c in PRACTICE_CATEGORIES]  # exactly the three categories, in order
    assert fig.layout.showlegend is not False
    okabe = {c.upper() for c in OKABE_ITO.values()}
    assert all(t.marker.color.upper() in okabe for t in fig.data)
    assert len({t.marker.color for t in fig.data}) == 3 and len({t.marker.symbol for t in fig.data}) == 3
    # every practice drawn once, in the colour of its category
    assert sum(len(t.y) for t in fig.data) == len(chart)
    # a category with no practice keeps its legend entry (one PCN's few practices)
    few = practice_ci_figure(chart[chart["vs_benchmark"].ne("Worse")], england=england, acceptable=80.0, title="t")
    assert [t.name for t in few.data] == [c[0] for c in PRACTICE_CATEGORIES]
    assert list(few.data[0].x) == [None] and sum(len(t.y) for t in few.data[1:]) == int(chart["vs_benchmark"].ne("Worse").sum())
    # no empty band above the first row: the category axis spans exactly the rows
    assert list(fig.layout.yaxis.range) == [-0.5, len(chart) - 0.5]
    # x axis fits the intervals and both reference lines, not 0-100
    lo, hi = fig.layout.xaxis.range
    assert lo <= chart["lower_ci_95"].min() and hi >= chart["upper_ci_95"].max()
    assert lo < england < hi and lo < 80.0 < hi
    assert lo > 0 or hi < 100
    # reference labels sit above the plot area (paper y = 1, anchored below the text), beside their line
    notes = {a.text: a for a in fig.layout.annotations}
    assert set(notes) == {f"England {england:.1f}%", "acceptable 80.0%"}
    for a in notes.values():
        assert a.yref == "paper" and a.y == 1 and a.yanchor == "bottom" and a.showarrow is False
    eng_note, std_note = notes[f"England {england:.1f}%"], notes["acceptable 80.0%"]
    assert (eng_note.xanchor, std_note.xanchor) == (("right", "left") if england < 80 else ("left", "right"))
    # the title is escaped text; the legend is above the plot, clear of the labels
    assert "&lt;b&gt;" in fig.layout.title.text
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yref == "container"
    assert fig.layout.margin.t >= 90


def test_caterpillar_keeps_room_for_a_reference_label_near_the_right_end(practices) -> None:
    """MMR1 practices reach 100%: the acceptable line (90%) stands near the axis end and its label,
    right of it, needs the right margin (at 1280 px wide it was cut to "acceptable 90.0")."""
    data, _ = practices
    chart = data.dropna(subset=["value", "lower_ci_95", "upper_ci_95"]).sort_values("value").copy()
    low = practice_ci_figure(chart, england=50.0, acceptable=55.0, title="t")
    chart["value"], chart["lower_ci_95"], chart["upper_ci_95"] = 95.0, 25.0, 100.0  # near 100%, wide CIs: MMR1
    high = practice_ci_figure(chart, england=88.9, acceptable=90.0, title="t")
    lo, hi = high.layout.xaxis.range
    label = [a for a in high.layout.annotations if a.xanchor == "left"][0]
    assert label.text == "acceptable 90.0%"
    room_px = (hi - 90.0) / (hi - lo) * 560  # the narrowest plot area the pages draw
    assert room_px + high.layout.margin.r >= len(label.text) * 7.5
    assert low.layout.margin.r == 20  # lines far from the end: the usual margin
    assert high.layout.margin.r > 20


def test_funnel_names_its_lines_in_the_legend_and_fits_the_points(practices) -> None:
    from hiexplore.practice_compare import practice_funnel

    data, _ = practices
    funnel = practice_funnel(data, "none")
    sel = np.zeros(len(funnel.points), dtype=bool)
    sel[:5] = True
    fig = practice_funnel_figure(funnel, sel, title="Funnel")
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names == ["99.8% limits", "95% limits", f"Pooled mean {100 * funnel.target:.1f}%",
                     "Other practices", "Selected practices"]
    assert not fig.layout.annotations and not fig.layout.shapes  # no label sits on a line
    lo, hi = fig.layout.yaxis.range
    assert lo <= funnel.points["value"].min() and hi >= funnel.points["value"].max() and (lo, hi) != (0, 100)
    assert fig.layout.font.size >= 13


# --- inequalities ---------------------------------------------------------------------------

def test_gradient_axis_fits_the_data_with_england_and_the_standard(ds) -> None:
    from hiexplore.inequality_report import inequality_report

    rep = inequality_report(ds, IMMS, "lsoa", by="imd_decile")
    groups = pd.DataFrame(rep["groups"])
    england, acceptable = reference_values(ds, IMMS, rep["period"])
    assert england is not None and acceptable == 90.0
    fig = gradient_figure(groups, x_title="IMD decile", title="MMR1", england=england, standard=acceptable)
    lo, hi = fig.layout.yaxis.range
    data_lo = min(groups["lower_ci_95"].min(), england, acceptable)
    data_hi = max(groups["upper_ci_95"].max(), england, acceptable)
    span = data_hi - data_lo
    assert data_lo - 0.2 * span <= lo <= data_lo and data_hi <= hi <= data_hi + 0.2 * span
    assert lo > 50  # not 0-100
    assert fig.data[0].type == "scatter" and fig.data[0].mode == "markers"  # no bars on a cut axis
    assert [t.name for t in fig.data] == ["Uptake (95% CI)", f"England {england:.1f}%", "Acceptable standard 90%"]
    assert sorted(s.y0 for s in fig.layout.shapes) == sorted([england, acceptable])


def test_trend_axis_fits_both_lines() -> None:
    trend = pd.DataFrame({"period": ["2023/24 Q1", "2023/24 Q2"], "SII": [7.53, 3.86], "SII low": [4.1, 0.76],
                          "SII high": [11.05, 7.04], "most deprived": [89.2, 91.8], "least deprived": [95.5, 95.1]})
    fig = trend_figure(trend, label="IMD decile", title="MMR1")
    lo, hi = fig.layout.yaxis.range
    assert 85 < lo <= 89.2 and 95.5 <= hi < 100
    table = trend_table_display(trend)
    assert table["SII (pp)"].tolist() == [7.5, 3.9] and table["most deprived %"].tolist() == [89.2, 91.8]


def test_gradient_table_counts_whole_percentages_one_decimal_shares_as_percent(ds) -> None:
    from hiexplore.inequality_report import inequality_report

    groups = pd.DataFrame(inequality_report(ds, IMMS, "lsoa", by="imd_decile")["groups"])
    t = gradient_table_display(groups, "IMD decile")
    assert list(t.columns) == ["IMD decile", "areas", "numerator", "denominator", "uptake %", "95% CI low",
                               "95% CI high", "population share %"]
    for col in ("numerator", "denominator", "areas"):
        assert pd.api.types.is_integer_dtype(t[col].dtype), (col, t[col].dtype)
    for col in ("uptake %", "95% CI low", "95% CI high", "population share %"):
        assert (t[col] == t[col].round(1)).all()
    assert abs(t["population share %"].sum() - 100) < 0.6  # shares as percentages of the whole
    assert t.loc[0, "numerator"] == round(groups.loc[0, "numerator"])


def test_fitted_range_stays_within_percent_and_has_a_minimum_span() -> None:
    assert fitted_range([99.5, 99.9]) [1] == 100.0
    lo, hi = fitted_range([50.0, 50.0])
    assert hi - lo >= 2.0
    assert fitted_range([]) == [0.0, 100.0]


# --- the Targets map ------------------------------------------------------------------------

def test_targets_map_draws_only_the_targets_filled_by_people_to_reach(ds) -> None:
    from hiexplore.derived import stored_targets
    from hiexplore.maps import map_to_html

    targets = stored_targets(ds, [IMMS, SCREENING], "lsoa")
    sel = targets[targets["flagged"]].head(20)
    m = targets_map(ds, sel, "lsoa", title="Target areas by people to reach", source="Sources: test.")
    html = map_to_html(m)
    codes = set(re.findall(r'\\"c\\": \\"(E0\d{7})\\"|"c": "(E0\d{7})"', html))
    drawn = {a or b for a, b in codes}
    assert drawn == set(sel["area_code"])  # just the target areas
    assert TARGETS_MAP_CSS in html  # the legend is never cut by an inner scroll box
    assert "Flagged for action" not in html  # thin outlines: no flag outline over every target
    assert "People to reach" in html and "Units: people" in html
    # fitted to the targets' bounds, clear of the title box and the legend
    fits = re.findall(r"\.fitBounds\(\s*(\[\[.*?\]\]),\s*(\{.*?\})\s*\)", html, flags=re.S)
    assert fits
    bounds, options = fits[-1]  # the last fit wins
    (s, w), (n, e) = json.loads(bounds)
    minx, miny, maxx, maxy = ds.areas[ds.areas["area_code"].isin(sel["area_code"])].total_bounds
    assert np.allclose([s, w, n, e], [miny, minx, maxy, maxx], atol=1e-6)
    assert json.loads(options) == {"paddingTopLeft": [20, 170], "paddingBottomRight": [300, 20]}
