"""The pages' charts, built here so that they read at a glance and can be tested without a browser.

Each function returns a plotly figure whose legend, axis ranges, labels and colours are decided
here, not in a page: colours from the Okabe-Ito palette (Okabe and Ito 2008, colour-blind safe),
each colour one meaning (shapes repeat it), reference values (England, the standard) drawn as
lines named in the legend or labelled outside the plotting area so that no label sits on a
line or a point, and value axes fitted to the data (with the reference lines) instead of 0-100.
Text from files (practice names, periods) is escaped (:func:`hiexplore.safe_text.html_text`):
plotly reads pseudo-HTML in labels.

:func:`source_line` names, under each chart or table, the sources of what it shows (the
indicator's own files and periods, and the geography's), from the dataset's manifest.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .safe_text import html_text as ht

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .dataset import Dataset
    from .practice_compare import FunnelData

__all__ = [
    "GEOGRAPHY_SOURCE_KINDS",
    "OKABE_ITO",
    "PRACTICE_CATEGORIES",
    "TARGETS_MAP_CSS",
    "TARGET_KEY_COLUMNS",
    "fitted_range",
    "gradient_figure",
    "gradient_table_display",
    "practice_category",
    "practice_ci_figure",
    "practice_funnel_figure",
    "reference_values",
    "source_index",
    "source_line",
    "sources_for",
    "targets_map",
    "trend_figure",
    "trend_table_display",
]

#: Okabe and Ito (2008), "Color Universal Design": distinguishable with any colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999",
}
#: The caterpillar chart's three categories: (label, colour, marker symbol), in legend order.
PRACTICE_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("Significantly below England (95% CI)", OKABE_ITO["vermillion"], "circle"),
    ("Below the acceptable standard only", OKABE_ITO["orange"], "diamond"),
    ("Neither", OKABE_ITO["blue"], "square"),
)
#: Manifest source kinds behind figures at each geography, besides the indicator's own files:
#: neighbourhood figures are practice figures apportioned by population through catchments.
GEOGRAPHY_SOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "practice": ("practices",),
    "pcn": ("practices", "pcn_membership"),
    "lsoa": ("population",),
    "msoa": ("population",),
    "ward": ("population", "lookup"),
    "lad": ("population", "lookup"),
}
_PRACTICE_BASED = ("practice", "pcn", "lsoa", "msoa", "ward")  # figures made from practice rows
_FONT = {"size": 13, "color": "#1a1a1a"}
_FILE_IN_SOURCE = re.compile(r"\(([^()]+)\)")


# --------------------------------------------------------------------------------------------
# Source lines
# --------------------------------------------------------------------------------------------

def sources_for(
    ds: Dataset,
    indicators: Iterable[str] = (),
    *,
    geography: str | None = None,
    periods: Iterable[str] | None = None,
    kinds: Iterable[str] = (),
    latest_deprivation: bool = True,
) -> list[dict[str, Any]]:
    """The manifest entries behind a figure: the files that hold ``indicators`` (in ``periods``,
    all when None) at the level the figure rests on, and the files of the given ``kinds``
    (``deprivation``, ``ethnicity``, ``boundaries``...) and of the geography
    (:data:`GEOGRAPHY_SOURCE_KINDS`). In manifest order, each entry once.

    Indicator files are found from the ``source`` column of the indicator rows used: practice
    rows for practice-based figures (practices, PCNs, neighbourhoods; their England benchmark is
    the same file's total), every row otherwise (local authorities, or no ``geography``), so
    LA-level files never appear under a practice chart. Deprivation files are those of the latest edition, the one
    figures are grouped and flagged by, unless ``latest_deprivation`` is False.
    """
    entries = list(ds.manifest.get("sources", []))
    wanted: set[int] = set()
    indicators = [str(k) for k in indicators]
    if indicators:
        index = source_index(ds)
        rows = index[index["indicator"].isin(indicators)]
        if periods is not None:
            rows = rows[rows["period"].isin([str(p) for p in periods])]
        if geography in _PRACTICE_BASED:
            rows = rows[rows["area_type"] == "practice"]
        texts = rows["source"].dropna().astype(str).unique() if "source" in rows else []
        named = {m.strip() for t in texts for m in _FILE_IN_SOURCE.findall(t)}
        for i, src in enumerate(entries):
            if "indicators" in (src.get("kinds") or []) and str(src.get("file", "")) in named:
                wanted.add(i)
    kinds = set(kinds) | set(GEOGRAPHY_SOURCE_KINDS.get(geography or "", ()))
    editions = ds.manifest.get("deprivation_editions") or []
    latest = str(max(editions)) if latest_deprivation and editions else None
    deprivation = [i for i, src in enumerate(entries) if "deprivation" in (src.get("kinds") or [])]
    of_latest = {i for i in deprivation if latest and latest in f"{entries[i].get('title')} {entries[i].get('period')}"}
    # boundaries: those of the figure's geography when the titles tell (LSOA, MSOA, LAD, ward)
    geo_word = {"lsoa": "lsoa", "msoa": "msoa", "lad": "lad", "ward": "ward"}.get(geography or "")
    boundary = [i for i, src in enumerate(entries) if "boundaries" in (src.get("kinds") or [])]
    of_geo = {i for i in boundary if geo_word and geo_word in str(entries[i].get("title", "")).lower()}
    extra: set[int] = set()
    for i, src in enumerate(entries):
        own = set(src.get("kinds") or [])
        if kinds & own:
            if i in deprivation and of_latest and i not in of_latest and own <= {"deprivation"}:
                continue  # an older edition than the one the figure uses
            if i in boundary and of_geo and i not in of_geo and own <= {"boundaries"}:
                continue  # another geography's boundaries
            extra.add(i)
    # the indicator's own files first, then the rest in manifest order
    return [entries[i] for i in sorted(wanted)] + [entries[i] for i in sorted(extra - wanted)]


def source_line(
    ds: Dataset,
    indicators: Iterable[str] = (),
    *,
    geography: str | None = None,
    periods: Iterable[str] | None = None,
    kinds: Iterable[str] = (),
    latest_deprivation: bool = True,
    limit: int = 6,
) -> str:
    """The source line under one chart or table: publishers, titles and periods of the files it
    rests on (:func:`sources_for`), grouped by title with their range of periods, and the licence.

    Falls back to every source of the dataset when none can be told (an old manifest). Kept per
    loaded dataset and arguments (every caption of every page run asks for one).
    """
    from .dataset import derived

    indicators = tuple(str(k) for k in indicators)
    periods = None if periods is None else tuple(str(p) for p in periods)
    kinds = tuple(sorted(set(kinds)))

    def build() -> str:
        chosen = sources_for(ds, indicators, geography=geography, periods=periods, kinds=kinds,
                             latest_deprivation=latest_deprivation)
        return ds.provenance_line(limit=limit, sources=chosen or None)

    return derived(ds, "_source_lines_cache", ("line", indicators, geography, periods, kinds, latest_deprivation, limit),
                   build, keep=_SOURCE_LINES_KEPT)


#: source lines kept per loaded dataset (a few per page and choice)
_SOURCE_LINES_KEPT = 1024
_SOURCE_INDEX_COLUMNS = ("indicator", "period", "area_type", "source")


def source_index(ds: Dataset) -> pd.DataFrame:
    """The distinct (indicator, period, area_type, source) rows of the dataset's indicator table,
    once per loaded dataset: what :func:`sources_for` looks the files up in (a filter of a few
    thousand rows instead of the whole table: 15,000 rows for LLR, millions nationally)."""
    from .dataset import derived

    ind: pd.DataFrame = ds.indicators

    def build() -> pd.DataFrame:
        cols = [c for c in _SOURCE_INDEX_COLUMNS if c in ind]
        return ind[cols].drop_duplicates().reset_index(drop=True)

    return derived(ds, "_source_lines_cache", ("index", id(ind), len(ind)), build, keep=_SOURCE_LINES_KEPT)


# --------------------------------------------------------------------------------------------
# Axes
# --------------------------------------------------------------------------------------------

def fitted_range(values: Iterable[float | None], *, margin: float = 0.08, floor: float | None = 0.0,
                 ceiling: float | None = 100.0, min_span: float = 2.0) -> list[float]:
    """An axis range that fits ``values`` (data, interval ends and reference lines) with a margin
    of ``margin`` times their span on each side (at least ``min_span`` wide), kept within
    [floor, ceiling] (percentages: 0-100).

    >>> fitted_range([88.0, 95.0, 90.0])
    [87.44, 95.56]
    """
    v = np.array([x for x in values if x is not None and math.isfinite(float(x))], dtype=float)
    if v.size == 0:
        return [floor if floor is not None else 0.0, ceiling if ceiling is not None else 1.0]
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, min_span)
    pad = margin * span
    mid_short = (min_span - (hi - lo)) / 2 if hi - lo < min_span else 0.0
    lo, hi = lo - mid_short - pad, hi + mid_short + pad
    if floor is not None:
        lo = max(lo, floor)
    if ceiling is not None:
        hi = min(hi, ceiling)
    return [round(lo, 4), round(hi, 4)]


def _title(title: str, subtitle: str = "") -> dict[str, Any]:
    """The chart title at the top left, escaped, with the age mark (if any) on a line under it."""
    return {"text": ht(title) + (f"<br><sup>{ht(subtitle)}</sup>" if subtitle else ""), "x": 0, "xanchor": "left",
            "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}}


def _reference_trace(go: Any, value: float, *, name: str, dash: str, colour: str, axis: str,
                     span: Sequence[Any]) -> Any:
    """A reference value (England, a standard) as a line named in the legend, not a label on it."""
    xs, ys = (list(span), [value] * len(span)) if axis == "y" else ([value] * len(span), list(span))
    return go.Scatter(x=xs, y=ys, mode="lines", name=name, line={"dash": dash, "color": colour, "width": 2},
                      hoverinfo="skip")


# --------------------------------------------------------------------------------------------
# Practices
# --------------------------------------------------------------------------------------------

def practice_category(frame: pd.DataFrame) -> pd.Series:
    """Each practice's category on the caterpillar chart (:data:`PRACTICE_CATEGORIES`).

    Significantly below England when ``vs_benchmark`` is "Worse" (95% CI wholly below England,
    whether or not also below the standard); below the standard only when its ``standard_band``
    starts "below" and it is not significantly below England; neither otherwise.
    """
    below_eng = frame["vs_benchmark"].astype(str).str.lower().eq("worse")
    below_std = frame["standard_band"].astype(str).str.lower().str.startswith("below")
    labels = [c[0] for c in PRACTICE_CATEGORIES]
    out = np.where(below_eng, labels[0], np.where(below_std, labels[1], labels[2]))
    return pd.Series(out, index=frame.index, name="category")


def practice_ci_figure(chart: pd.DataFrame, *, england: float | None, acceptable: float | None,
                       title: str, subtitle: str = "") -> go.Figure:
    """The caterpillar chart: each practice's uptake with its 95% CI, one colour per category.

    ``chart`` has ``practice_name, area_code, value, lower_ci_95, upper_ci_95, vs_benchmark,
    standard_band``, ordered as drawn (bottom to top). The legend names the three categories
    (every category, even when empty, so the key never changes); England (dashed) and the
    acceptable standard (dotted) are labelled above the plot, beside their lines. The y axis
    spans exactly the rows, so there is no empty band above the first.
    """
    import plotly.graph_objects as go

    chart = chart.copy()
    chart["category"] = practice_category(chart)
    names = (chart["practice_name"].fillna(chart["area_code"]).astype(str) + " (" + chart["area_code"].astype(str)
             + ")").map(ht)
    chart["label"] = names.to_numpy()
    fig = go.Figure()
    for label, colour, symbol in PRACTICE_CATEGORIES:
        part = chart[chart["category"] == label]
        # an empty category keeps its legend entry (plotly drops entries of traces with no data)
        xs, ys = (part["value"], part["label"]) if len(part) else ([None], [None])
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name=label,
            marker={"color": colour, "size": 9, "symbol": symbol, "line": {"color": "#1a1a1a", "width": 0.5}},
            error_x={"type": "data", "symmetric": False, "array": part["upper_ci_95"] - part["value"],
                     "arrayminus": part["value"] - part["lower_ci_95"], "color": "#555555", "thickness": 1.2},
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>", showlegend=True,
        ))
    refs = [(v, t, d) for v, t, d in ((england, "England", "dash"), (acceptable, "acceptable", "dot")) if v is not None]
    xr = fitted_range(list(chart["lower_ci_95"]) + list(chart["upper_ci_95"]) + [v for v, _, _ in refs])
    for value, _text, dash in refs:
        fig.add_vline(x=value, line_dash=dash, line_color="#1a1a1a", line_width=1.5)
    # labels above the plot, each on the side of its line away from the other line
    right_px = 20
    if refs:
        ordered = sorted(refs, key=lambda r: r[0])
        for j, (value, text, _) in enumerate(ordered):
            left = j == 0 and len(ordered) > 1
            label = f"{text} {value:.1f}%"
            fig.add_annotation(x=value, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                               xanchor="right" if left else "left", xshift=-4 if left else 4,
                               text=label, font={"size": 12, "color": "#1a1a1a"})
            if not left:
                # a label right of a line near the axis end runs past the plot: room for it in
                # the right margin (at a narrow width it was cut, "acceptable 90.0" without its %)
                right_px = max(right_px, _label_overhang_px(label, (xr[1] - value) / (xr[1] - xr[0])))
    n = len(chart)
    # px above the plot, top down: title (and the age mark), the legend, the reference labels
    title_px = 50 if subtitle else 36
    top = title_px + 30 + 24
    height = max(340, 22 * n + top + 60)
    fig.update_layout(
        title=_title(title, subtitle),
        xaxis={"title": "Uptake (% of eligible registered patients)", "range": xr},
        yaxis={"title": None, "type": "category", "range": [-0.5, max(n, 1) - 0.5], "automargin": True,
               "tickfont": {"size": 12, "color": "#1a1a1a"}, "categoryorder": "array",
               "categoryarray": list(chart["label"])},
        legend={"orientation": "h", "yref": "container", "y": 1 - title_px / height, "yanchor": "top",
                "x": 0, "xanchor": "left", "traceorder": "normal"},
        height=height, margin={"l": 10, "r": right_px, "t": top, "b": 50}, font=_FONT,
    )
    return fig


#: width of one character of a 12 px label (Source Sans, the theme's font), generously
_LABEL_CHAR_PX = 7.5
#: the narrowest plot area the pages give a chart (px): a 1280-wide window with the sidebar open
_NARROW_PLOT_PX = 560


def _label_overhang_px(label: str, room: float) -> int:
    """Pixels a left-anchored label needs beyond the plot's right edge when its line stands at
    ``room`` (fraction of the axis) from that edge, in the narrowest plot the pages draw.

    >>> _label_overhang_px("acceptable 90.0%", 0.05), _label_overhang_px("England 72.0%", 0.6)
    (96, 0)
    """
    need = len(label) * _LABEL_CHAR_PX + 4 - room * _NARROW_PLOT_PX
    return max(0, math.ceil(need))


def practice_funnel_figure(funnel: FunnelData, selected: Sequence[bool], *, title: str,
                           subtitle: str = "") -> go.Figure:
    """The funnel plot: uptake against denominator with 95% and 99.8% limits around the pooled mean.

    Limits and the pooled mean are lines named in the legend (no label on a line); the y axis
    fits the points and limits; selected practices are blue, the others grey.
    """
    import plotly.graph_objects as go

    ok, target, curve = funnel.points, funnel.target, funnel.curve
    sel = np.asarray(selected, dtype=bool)
    fig = go.Figure()
    for col, dash, name in (("lower_99_8", "dot", "99.8% limits"), ("upper_99_8", "dot", None),
                            ("lower_95", "dash", "95% limits"), ("upper_95", "dash", None)):
        fig.add_trace(go.Scatter(x=curve["denominator"], y=curve[col], mode="lines",
                                 line={"dash": dash, "color": "#555555", "width": 1.5},
                                 name=name or col, legendgroup=dash, showlegend=name is not None, hoverinfo="skip"))
    fig.add_trace(_reference_trace(go, 100 * target, name=f"Pooled mean {100 * target:.1f}%", dash="solid",
                                   colour="#1a1a1a", axis="y",
                                   span=[float(curve["denominator"].min()), float(curve["denominator"].max())]))
    for mask, name, marker in ((~sel, "Other practices", {"color": "#bbbbbb", "size": 7}),
                               (sel, "Selected practices", {"color": OKABE_ITO["blue"], "size": 9,
                                                            "line": {"color": "#000000", "width": 1}})):
        part = ok.loc[mask]
        fig.add_trace(go.Scatter(x=part["denominator"], y=part["value"], mode="markers", marker=marker, name=name,
                                 text=part["practice_name"].astype(str).map(ht),
                                 hovertemplate="%{text}: %{y:.1f}%<extra></extra>"))
    yr = fitted_range(list(ok["value"]) + [100 * target], margin=0.06)
    fig.update_layout(
        title=_title(title, subtitle),
        xaxis_title="Eligible registered patients (denominator)", yaxis={"title": "Uptake (%)", "range": yr},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        height=480, margin={"l": 10, "r": 20, "t": 120 if subtitle else 100, "b": 50}, font=_FONT,
    )
    return fig


# --------------------------------------------------------------------------------------------
# Inequalities
# --------------------------------------------------------------------------------------------

def gradient_figure(groups: pd.DataFrame, *, x_title: str, title: str, subtitle: str = "",
                    england: float | None = None, standard: float | None = None,
                    standard_label: str = "Acceptable standard", colour: str = OKABE_ITO["blue"],
                    lower: str = "lower_ci_95", upper: str = "upper_ci_95") -> go.Figure:
    """Uptake per group (deprivation decile or quintile, ethnic-share quintile) with 95% CIs.

    Points with error bars, not bars: the y axis fits the data, the intervals and the England
    and standard lines (named in the legend) rather than running from 0 to 100, and a bar on
    a cut axis would mislead.
    """
    import plotly.graph_objects as go

    x = groups["group"].astype(str).tolist()
    fig = go.Figure(go.Scatter(
        x=x, y=groups["value"], mode="markers", name="Uptake (95% CI)",
        marker={"color": colour, "size": 11, "line": {"color": "#1a1a1a", "width": 0.5}},
        error_y={"type": "data", "symmetric": False, "array": groups[upper] - groups["value"],
                 "arrayminus": groups["value"] - groups[lower], "color": "#333333", "thickness": 1.5},
        hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
    ))
    refs = []
    for value, name, dash, line_colour in ((england, "England {:.1f}%", "dash", "#1a1a1a"),
                                           (standard, standard_label + " {:g}%", "dot", OKABE_ITO["purple"])):
        if value is None or not math.isfinite(value):
            continue
        # a line across the whole plot, named in the legend (an empty trace carries the key)
        fig.add_hline(y=value, line_dash=dash, line_color=line_colour, line_width=2)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name.format(value),
                                 line={"dash": dash, "color": line_colour, "width": 2}, hoverinfo="skip"))
        refs.append(value)
    yr = fitted_range(list(groups[lower]) + list(groups[upper]) + refs)
    fig.update_layout(
        title=_title(title, subtitle),
        xaxis={"title": x_title, "type": "category"}, yaxis={"title": "Uptake (%) with 95% CI", "range": yr},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        height=420, margin={"l": 10, "r": 20, "t": 110 if subtitle else 90, "b": 50}, font=_FONT,
    )
    return fig


def trend_figure(trend: pd.DataFrame, *, label: str, title: str) -> go.Figure:
    """Most vs least deprived group's uptake by period, y axis fitted to the two lines."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for col, colour, symbol in (("most deprived", OKABE_ITO["vermillion"], "circle"),
                                ("least deprived", OKABE_ITO["blue"], "square")):
        fig.add_trace(go.Scatter(x=trend["period"].astype(str).map(ht), y=trend[col], mode="lines+markers",
                                 name=f"{col} {label}", line={"color": colour}, marker={"symbol": symbol, "size": 8}))
    yr = fitted_range(list(trend["most deprived"]) + list(trend["least deprived"]))
    fig.update_layout(
        title=_title(title), xaxis_title="Period",
        yaxis={"title": "Uptake (%)", "range": yr},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        height=380, margin={"l": 10, "r": 20, "t": 90, "b": 50}, font=_FONT,
    )
    return fig


def reference_values(ds: Dataset, indicator: str, period: str) -> tuple[float | None, float | None]:
    """England's value and the acceptable standard (percent) for ``indicator`` in ``period``;
    None where the dataset has no England figure or the indicator no standard."""
    from .catalogue import standard_for
    from .errors import HiexploreError
    from .flags import benchmark_value

    try:
        england: float | None = float(benchmark_value(ds, indicator, period, "england")[0])
    except HiexploreError:
        england = None
    std = standard_for(indicator, period)
    return england, (float(std.acceptable) if std is not None and std.acceptable is not None else None)


def gradient_table_display(groups: pd.DataFrame, label: str) -> pd.DataFrame:
    """The gradient table as shown and exported beside its chart: counts as whole numbers
    (apportioned numerators and denominators are estimates: rounded to whole people), uptake and
    its interval to one decimal, and the population share as a percentage to one decimal.

    >>> g = pd.DataFrame({"group": [1], "numerator": [265.97], "denominator": [292.35], "value": [90.977],
    ...                   "lower_ci_95": [87.14], "upper_ci_95": [93.75], "population_share": [0.098], "areas": [43]})
    >>> t = gradient_table_display(g, "IMD decile")
    >>> [int(t.loc[0, c]) for c in ("areas", "numerator", "denominator")], float(t.loc[0, "uptake %"]), float(t.loc[0, "population share %"])
    ([43, 266, 292], 91.0, 9.8)
    """
    lower = "lower_ci_95" if "lower_ci_95" in groups else "lower_95"
    upper = "upper_ci_95" if "upper_ci_95" in groups else "upper_95"
    out = pd.DataFrame({
        label: groups["group"].to_numpy(),
        "numerator": groups["numerator"].round().astype("Int64").to_numpy(),
        "denominator": groups["denominator"].round().astype("Int64").to_numpy(),
        "uptake %": groups["value"].round(1).to_numpy(),
        "95% CI low": groups[lower].round(1).to_numpy(),
        "95% CI high": groups[upper].round(1).to_numpy(),
    })
    if "areas" in groups:
        out.insert(1, "areas", groups["areas"].round().astype("Int64").to_numpy())
    if "population_share" in groups:
        out["population share %"] = (100 * groups["population_share"]).round(1).to_numpy()
    return out


def trend_table_display(trend: pd.DataFrame) -> pd.DataFrame:
    """The trend table as shown: the SII and its interval (percentage points) and both groups'
    uptake (percent), each to one decimal."""
    out = trend.copy()
    for col in ("SII", "SII low", "SII high", "most deprived", "least deprived"):
        if col in out:
            out[col] = out[col].astype(float).round(1)
    return out.rename(columns={"SII": "SII (pp)", "SII low": "SII low (pp)", "SII high": "SII high (pp)",
                               "most deprived": "most deprived %", "least deprived": "least deprived %"})


# --------------------------------------------------------------------------------------------
# Targets map
# --------------------------------------------------------------------------------------------

#: The Targets map's legend is shown whole (no inner scroll that cuts its last rows).
TARGETS_MAP_CSS = "<style>.hx-legend {max-height: none !important; overflow-y: visible !important;}</style>"


#: The Targets table's key columns, first and at these widths (px) so that rank, area, people to
#: reach and reasons show without scrolling sideways: column -> (label, width).
TARGET_KEY_COLUMNS: dict[str, tuple[str, int]] = {
    "priority_rank": ("rank", 60), "area_name": ("area", 150), "people_to_reach": ("people to reach", 110),
    "reasons": ("reasons", 440),
}

#: Pixels kept clear when fitting the targets: (left, top) for the title box, (right, bottom) for the legend.
TARGETS_MAP_PADDING = ((20, 170), (300, 20))


def targets_map(ds: Dataset, targets: pd.DataFrame, geography: str, *, title: str, source: str,
                note: str | None = None, made_on: dt.date | None = None) -> Any:
    """A map of just the target areas, fitted to their bounds, filled by people to reach.

    ``targets`` has ``area_code, people_to_reach`` (and ``imd_decile`` for the tooltip). Only
    those areas are drawn (the map's bounds are theirs), with the choropleth's thin area
    outlines (no flag outline: every area drawn is a target) and quantile classes of people to
    reach, darker = more; the legend is never cut by a scroll box (dated ``made_on``, default
    today). Built with the public :func:`hiexplore.maps.choropleth`.
    """
    from branca.element import Element

    from .errors import RequestError
    from .maps import choropleth

    areas = ds.areas[ds.areas["area_type"] == geography][["area_code", "area_name", "geometry"]]
    areas = areas[areas["area_code"].isin(targets["area_code"])]
    if areas.empty:
        raise RequestError(f"None of the {len(targets)} target areas has a {geography} boundary in this dataset.")
    cols = [c for c in ("area_code", "people_to_reach", "imd_decile") if c in targets]
    vals = targets[cols].drop_duplicates("area_code").rename(columns={"people_to_reach": "value"})
    m = choropleth(areas, vals, title=title, units="people", source_line=source, legend_title="People to reach",
                   scheme="quantiles", k=min(5, max(1, len(vals))), higher_is_better=False, decimals=0,
                   synthetic_or_modelled_note=note, made_on=made_on,
                   tooltip_fields={"imd_decile": "IMD decile"} if "imd_decile" in vals else ())
    m.get_root().header.add_child(Element(TARGETS_MAP_CSS), name="hx_targets_css")
    # fitted again, clear of the title box (top left) and the legend (right): no target hidden under them
    minx, miny, maxx, maxy = areas.to_crs(4326).total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]], padding_top_left=TARGETS_MAP_PADDING[0],
                 padding_bottom_right=TARGETS_MAP_PADDING[1])
    return m
