"""What the Overview, Inequalities and Practices pages show, computed once per loaded dataset and choice.

Why (issue 13, item 3): twenty sessions share one server process, so a page load may cost the
server about 0.1 s of CPU. Recomputing the inequality trend over every period, the what-if's
simulated SII, the practice comparison, or building a plotly figure (plotly validates every
property: 10-30 ms a figure) on each run cost 0.15-0.4 s a load. Each function here computes
one block of a page from the package's own functions (:mod:`hiexplore.inequality_report`,
:mod:`hiexplore.practice_compare`, :mod:`hiexplore.charts`, :mod:`hiexplore.trends`,
:mod:`hiexplore.la_deprivation`) and keeps the result on the loaded :class:`~hiexplore.dataset.Dataset`
(:func:`hiexplore.dataset.derived`, keyed by the choice), so every session and every later run
reads it. A rebuilt dataset is a new object with empty caches. :func:`warm_pages` computes each
page's default choice before the server listens.

Results are shared between sessions: callers read them and never change them (pages only pass
them to Streamlit, which copies what it sends). Figures are :class:`plotly.graph_objects.Figure`
objects: ``st.plotly_chart`` of a built figure only copies and serialises it (about 1 ms).
A page may pass ``busy`` (e.g. ``lambda: st.spinner(...)``): entered only while a result is
computed, so a spinner shows for a new choice and never for a kept one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .catalogue import catalogue, get_indicator
from .dataset import derived
from .errors import HiexploreError

if TYPE_CHECKING:
    from .dataset import Dataset
    from .inequality_report import WhatIf
    from .practice_compare import FunnelData

__all__ = [
    "Busy",
    "DOT_PLOT_EACH_END",
    "DeprivationView",
    "EthnicityView",
    "GradientView",
    "HEADLINE",
    "HeadlineView",
    "LATrendView",
    "PREFERRED",
    "PracticeSelectionView",
    "PracticesView",
    "SeriesView",
    "TrendView",
    "default_indicator",
    "deprivation_view",
    "ethnicity_view",
    "gradient_view",
    "holdings_view",
    "indicator_label",
    "inequality_report_for",
    "inequality_trend_view",
    "la_trend_keys",
    "la_trend_view",
    "overview_headline",
    "practice_selection_view",
    "practices_view",
    "trend_series_view",
    "warm_pages",
    "what_if_view",
]

#: The cache fields on :class:`~hiexplore.dataset.Dataset` and how many results each keeps (a
#: full field is emptied: :func:`hiexplore.dataset.derived`): small results of one page choice
#: each; the practice comparisons and selections (a frame of every practice each: megabytes for
#: England); one area's trend (one per area a user opens on the Map explorer).
VIEWS = "_page_views_cache"
SELECTIONS = "_page_selection_cache"
SERIES = "_page_series_cache"
KEEP = {VIEWS: 256, SELECTIONS: 32, SERIES: 128}

#: The Overview's headline: the first indicator of each programme the dataset holds.
HEADLINE: dict[str, tuple[str, ...]] = {
    "screening": ("cervical_screening_25_49", "breast_screening_53_70", "bowel_screening_60_74", "cervical_screening_50_64"),
    "immunisation": ("mmr1_24m", "mmr2_5y", "dtap_ipv_hib_hepb_12m"),
}
#: the indicators each page prefers to open on, when current (see :func:`default_indicator`)
PREFERRED: dict[str, tuple[str, ...]] = {
    "inequalities": ("mmr1_24m",),
    "practices": ("cervical_screening_25_49", "mmr1_24m"),
    "la_trend": ("mmr1_24m",),
}
DOT_PLOT_EACH_END = 30  # practices drawn at each end of the dot plot when more are selected


#: what a page passes as ``busy``: a context manager shown while a result is computed (a
#: spinner), never while it is read from the cache
Busy = Callable[[], AbstractContextManager[Any]]


def _view(ds: Dataset, key: tuple, build: Callable[[], Any], *, field: str = VIEWS, busy: Busy | None = None) -> Any:
    if busy is None:
        return derived(ds, field, key, build, keep=KEEP[field])

    def shown() -> Any:
        with busy():
            return build()

    return derived(ds, field, key, shown, keep=KEEP[field])


def indicator_label(key: str) -> str:
    """An indicator's short name and programme, as the pages' pickers show it."""
    ind = get_indicator(key)
    return f"{ind.short_name} [{ind.programme}]"


# --------------------------------------------------------------------------------------------
# The default choice
# --------------------------------------------------------------------------------------------

def default_indicator(ds: Dataset, preferred: Sequence[str] = (), keys: Sequence[str] | None = None) -> str | None:
    """The indicator a page opens on: the newest one whose figures are current.

    Among ``keys`` (default: every indicator with practice figures), those whose latest period is
    not out of date (:func:`hiexplore.periods.figure_age`: within 2 years of the dataset's newest
    figures) and, of those, the ones whose latest period ends last; the first of ``preferred``
    among them, else the first in catalogue order. When none is current (or no period is
    recognised), the same rule over every key. None when there are no keys.

    Why: the Practices page opened on cervical screening 2017/18 (out of date by six years) in a
    dataset whose immunisation figures run to 2024/25.
    """
    from .periods import figure_age

    def build() -> str | None:
        options = list(ds.indicator_keys() if keys is None else keys)
        if not options:
            return None
        ends: dict[str, Any] = {}
        current: list[str] = []
        for k in options:
            periods = ds.periods(k)
            if not periods:
                continue
            age = figure_age(ds, periods[-1])
            ends[k] = age.period_end
            if age.out_of_date is False:
                current.append(k)
        pool = current or [k for k in options if ends.get(k) is not None] or options
        dated = [k for k in pool if ends.get(k) is not None]
        if dated:
            newest = max(ends[k] for k in dated)
            pool = [k for k in dated if ends[k] == newest]
        return next((k for k in preferred if k in pool), pool[0])

    return _view(ds, ("default_indicator", tuple(preferred), None if keys is None else tuple(keys)), build)


# --------------------------------------------------------------------------------------------
# Inequalities
# --------------------------------------------------------------------------------------------

def _by_label(by: str) -> str:
    return "IMD decile" if by == "imd_decile" else "IMD quintile"


def inequality_report_for(ds: Dataset, indicator: str, geography: str = "lsoa", by: str = "imd_decile",
                          period: str | None = None) -> dict[str, Any]:
    """:func:`hiexplore.inequality_report.inequality_report`, once per dataset and choice (shared: read only)."""
    from .inequality_report import inequality_report

    return _view(ds, ("report", indicator, geography, by, period),
                 lambda: inequality_report(ds, indicator, geography, by=by, period=period))


@dataclass(frozen=True)
class GradientView:
    """The Inequalities page's gradient: the report, its groups, chart and table."""

    report: dict[str, Any]
    groups: pd.DataFrame
    label: str
    england: float | None
    acceptable: float | None
    figure: Any
    table: pd.DataFrame

    @property
    def gap(self) -> float:
        """Uptake in the least deprived group minus the most deprived (percentage points)."""
        return float(self.groups["value"].iloc[-1] - self.groups["value"].iloc[0])


def gradient_view(ds: Dataset, indicator: str, geography: str = "lsoa", by: str = "imd_decile",
                  period: str | None = None, *, busy: Busy | None = None) -> GradientView:
    """Uptake by IMD decile or quintile with the SII and RII (:func:`inequality_report_for`),
    England and the standard (:func:`hiexplore.charts.reference_values`), the chart
    (:func:`hiexplore.charts.gradient_figure`) and the table beside it."""
    from .charts import gradient_figure, gradient_table_display, reference_values

    def build() -> GradientView:
        rep = inequality_report_for(ds, indicator, geography, by, period)
        groups = pd.DataFrame(rep["groups"])
        label = _by_label(by)
        england, acceptable = reference_values(ds, indicator, rep["period"])
        fig = gradient_figure(groups, x_title=f"{label} (IoD 2025; 1 = most deprived)", england=england,
                              standard=acceptable,
                              title=f"{indicator_label(indicator)} by {label}, {rep['period']} (1 = most deprived)",
                              subtitle=rep.get("age_mark") or "")
        return GradientView(rep, groups, label, england, acceptable, fig, gradient_table_display(groups, label))

    return _view(ds, ("gradient", indicator, geography, by, period), build, busy=busy)


@dataclass(frozen=True)
class TrendView:
    """The SII and the two end groups per period, its chart and its table."""

    trend: pd.DataFrame
    figure: Any
    table: pd.DataFrame


def inequality_trend_view(ds: Dataset, indicator: str, geography: str = "lsoa", by: str = "imd_decile", *,
                          busy: Busy | None = None) -> TrendView:
    """:func:`hiexplore.inequality_report.inequality_trend` over the cached reports of each period,
    with :func:`hiexplore.charts.trend_figure` and :func:`hiexplore.charts.trend_table_display`."""
    from .charts import trend_figure, trend_table_display
    from .inequality_report import inequality_trend

    def build() -> TrendView:
        trend = inequality_trend(ds, indicator, geography, by=by,
                                 report_for=lambda p: inequality_report_for(ds, indicator, geography, by, p))
        label = _by_label(by)
        fig = trend_figure(trend, label=label,
                           title=f"{indicator_label(indicator)}: most vs least deprived {label} over time")
        return TrendView(trend, fig, trend_table_display(trend))

    return _view(ds, ("inequality_trend", indicator, geography, by), build, busy=busy)


@dataclass(frozen=True)
class EthnicityView:
    """Uptake by fifth of neighbourhoods ranked by an ethnic group's share, chart and table."""

    name: str
    bands: pd.DataFrame
    figure: Any
    table: pd.DataFrame


def ethnicity_view(ds: Dataset, indicator: str, share: str, period: str | None = None, *,
                   busy: Busy | None = None) -> EthnicityView:
    """:func:`hiexplore.inequality_report.ethnicity_gradient` with its chart and table."""
    from .charts import OKABE_ITO, gradient_figure, gradient_table_display, reference_values
    from .inequality_report import ethnicity_gradient

    def build() -> EthnicityView:
        t = ethnicity_gradient(ds, indicator, share, period=period)
        name = share[6:].title()
        england, acceptable = reference_values(ds, indicator, period or str(ds.latest_period(indicator)))
        fig = gradient_figure(t, x_title=f"Quintile of {name} residents' share (Census 2021; 5 = highest share)",
                              england=england, standard=acceptable, colour=OKABE_ITO["green"], lower="lower_95",
                              upper="upper_95",
                              title=f"Uptake by fifth of neighbourhoods ranked by {name} share (5 = highest share)")
        return EthnicityView(name, t, fig, gradient_table_display(t, f"{name} share quintile"))

    return _view(ds, ("ethnicity", indicator, share, period), build, busy=busy)


def what_if_view(ds: Dataset, indicator: str, geography: str = "lsoa", by: str = "imd_decile",
                 period: str | None = None, *, busy: Busy | None = None) -> WhatIf | None:
    """:func:`hiexplore.inequality_report.what_if_standard` over the stored flags
    (:func:`hiexplore.derived.stored_flags`); raises their error when there are none."""
    from .derived import stored_flags
    from .inequality_report import what_if_standard

    def build() -> WhatIf | None:
        flags = stored_flags(ds, indicator, geography, period)
        return what_if_standard(ds, indicator, geography, by=by, period=period, flags=flags)

    return _view(ds, ("what_if", indicator, geography, by, period), build, busy=busy)


# --------------------------------------------------------------------------------------------
# Practices
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PracticesView:
    """Every practice compared on one indicator, period and overdispersion, and the filters' options."""

    flags: pd.DataFrame
    data: pd.DataFrame
    funnel: FunnelData | None
    icbs: list[str]
    sub_icbs: list[str]
    pcns: dict[str, str]
    list_size_max: int
    scope_line: str


def practices_view(ds: Dataset, indicator: str, period: str | None = None, overdispersion: str = "none", *,
                   busy: Busy | None = None) -> PracticesView:
    """:func:`hiexplore.practice_compare.compare_practices` over the stored practice flags, the
    funnel (:func:`~hiexplore.practice_compare.practice_funnel`) and the filters' choices."""
    from .derived import stored_flags
    from .practice_compare import compare_practices, practice_funnel, practices_scope_line

    def build() -> PracticesView:
        flags = stored_flags(ds, indicator, "practice", period)
        data = compare_practices(ds, indicator, period=period, overdispersion=overdispersion, flags=flags)
        pcns = data.dropna(subset=["pcn_code"]).drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"].to_dict()
        return PracticesView(
            flags=flags, data=data, funnel=practice_funnel(data, overdispersion),
            icbs=sorted(data["icb_code"].dropna().astype(str).unique()),
            sub_icbs=sorted(data["sub_icb_code"].dropna().astype(str).unique()),
            pcns={str(k): str(v) for k, v in pcns.items()},
            list_size_max=int(np.nanmax(data["list_size"].fillna(0))) + 1 if len(data) else 1,
            scope_line=practices_scope_line(data, ds.practices),
        )

    return _view(ds, ("practices", indicator, period, overdispersion), build, field=SELECTIONS, busy=busy)


@dataclass(frozen=True)
class PracticeSelectionView:
    """What the Practices page shows for one selection: charts, their captions, the table and its CSV."""

    selected: pd.DataFrame
    ci_figure: Any
    ci_caption: str
    funnel_figure: Any | None
    table: pd.DataFrame
    csv: bytes
    age_mark: str


def practice_selection_view(
    ds: Dataset,
    indicator: str,
    period: str | None = None,
    overdispersion: str = "none",
    *,
    icb: Sequence[str] = (),
    sub_icb: Sequence[str] = (),
    pcn: Sequence[str] = (),
    imd_deciles: Sequence[str] = (),
    list_size: tuple[float, float] | None = None,
    only_flagged: bool = False,
    busy: Busy | None = None,
) -> PracticeSelectionView:
    """The practices that pass the filters (:func:`~hiexplore.practice_compare.filter_practices`),
    the dot plot with 95% CIs (:func:`hiexplore.charts.practice_ci_figure`: the
    :data:`DOT_PLOT_EACH_END` lowest and highest when more are selected), the funnel plot with the
    selection in blue, the table (:func:`~hiexplore.practice_compare.practice_table`) and its CSV
    (formulas neutralised, UTF-8 with BOM). Kept per filter choice (a bounded cache)."""
    from .charts import practice_ci_figure, practice_funnel_figure
    from .exports import neutralise_formulas
    from .practice_compare import filter_practices, practice_table
    from .stats.funnel import FUNNEL_LEFT_OUT

    pv = practices_view(ds, indicator, period, overdispersion, busy=busy)
    key = ("selection", indicator, period, overdispersion, tuple(icb), tuple(sub_icb), tuple(pcn),
           tuple(str(d) for d in imd_deciles), None if list_size is None else tuple(float(x) for x in list_size),
           bool(only_flagged))

    def build() -> PracticeSelectionView:
        data, flags = pv.data, pv.flags
        sel = filter_practices(data, icb=icb, sub_icb=sub_icb, pcn=pcn, imd_deciles=imd_deciles,
                               list_size=list_size, only_flagged=only_flagged)
        age_mark = flags.attrs.get("age_mark") or ""
        shown_period = str(period if period is not None else flags.attrs.get("period", ""))
        chart = sel.dropna(subset=["value", "lower_ci_95", "upper_ci_95"]).sort_values("value")
        no_figure = len(sel) - len(chart)
        suppressed = int(sel["funnel"].eq(FUNNEL_LEFT_OUT).sum())
        with_figure = len(chart)
        if with_figure > 2 * DOT_PLOT_EACH_END:  # a national selection: the ends, not 6,000 rows
            chart = pd.concat([chart.head(DOT_PLOT_EACH_END), chart.tail(DOT_PLOT_EACH_END)])
        bench = float(flags["benchmark_value"].iloc[0])
        thr = flags.attrs.get("thresholds", {})
        label = indicator_label(indicator)
        fig = practice_ci_figure(chart, england=bench, acceptable=thr.get("acceptable"),
                                 title=f"{label}, {shown_period}: practices with 95% confidence intervals",
                                 subtitle=age_mark)
        caption = ((f"The chart shows the {DOT_PLOT_EACH_END} lowest and {DOT_PLOT_EACH_END} highest of {with_figure:,} "
                    "selected practices; filter by ICB, sub-ICB or PCN to see the others (all are in the table). "
                    if with_figure > 2 * DOT_PLOT_EACH_END else "")
                   + (f"{no_figure} selected practices are only in the table: "
                      f"{suppressed} with fewer than 5 eligible (suppressed: a value but no interval), "
                      f"{no_figure - suppressed} with no published figure. " if no_figure else "")
                   + "Each practice is coloured by the one category it falls in (legend above the chart); dashed line: "
                   "England, dotted line: the acceptable standard.")
        funnel_fig = None
        if pv.funnel is not None:
            funnel_fig = practice_funnel_figure(
                pv.funnel, pv.funnel.points.index.isin(sel.index),
                title=f"Funnel plot: {label}, {shown_period} (overdispersion: {overdispersion})", subtitle=age_mark)
        table = practice_table(sel)
        csv = neutralise_formulas(table).to_csv(index=False).encode("utf-8-sig")
        return PracticeSelectionView(sel, fig, caption, funnel_fig, table, csv, age_mark)

    return _view(ds, key, build, field=SELECTIONS, busy=busy)


# --------------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeadlineView:
    """The Overview's headline: one column per programme, one row per measure (text cells)."""

    table: pd.DataFrame
    shown: list[str]
    problems: list[tuple[str, str]]
    mixed_note: str | None


def _cell(col: str, v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if col.endswith("20%"):
        return f"{float(v):.1f}%"
    if col in ("flagged areas", "people to reach"):
        return f"{int(v):,}"
    return str(v)


def overview_headline(ds: Dataset, *, busy: Busy | None = None) -> HeadlineView:
    """Per programme (:data:`HEADLINE`), its first indicator's uptake in the most and least
    deprived fifth of neighbourhoods, the SII with its 95% CI (:func:`inequality_report_for`,
    IMD quintiles), flagged areas and people to reach (stored flags), period and age.

    ``problems`` are (indicator, message) for an indicator whose figures could not be made;
    ``mixed_note`` says when the periods differ and one of them is out of date.
    """
    from .derived import stored_flags
    from .periods import figure_age, mixed_periods_note

    def build() -> HeadlineView:
        keys_here = ds.indicator_keys()
        rows: list[dict[str, Any]] = []
        ages = {}
        problems: list[tuple[str, str]] = []
        for programme, keys in HEADLINE.items():
            key = next((k for k in keys if k in keys_here), None)
            if key is None:
                rows.append({"programme": programme, "indicator": "not loaded", "period": "", "age": "",
                             "most deprived 20%": None, "least deprived 20%": None, "SII (pp)": None,
                             "flagged areas": None, "people to reach": None})
                continue
            try:
                rep = inequality_report_for(ds, key, "lsoa", "imd_quintile")
                groups = {g["group"]: g for g in rep["groups"]}
                flags = stored_flags(ds, key, "lsoa")
            except HiexploreError as err:
                problems.append((key, str(err)))
                continue
            ages[catalogue()[key].short_name] = age = figure_age(ds, rep["period"])
            rows.append({
                "key": key, "programme": programme, "indicator": catalogue()[key].short_name,
                "period": rep["period"], "age": age.mark or "current",
                "most deprived 20%": groups.get(min(groups), {}).get("value"),
                "least deprived 20%": groups.get(max(groups), {}).get("value"),
                "SII (pp)": f"{rep['sii']:.1f} ({rep['sii_lower']:.1f} to {rep['sii_upper']:.1f})",
                "flagged areas": int(flags["flagged"].sum()),
                "people to reach": int(flags.loc[flags["flagged"], "people_to_reach"].sum()),
            })
        note = mixed_periods_note(ages)
        mixed = note if note and any(a.out_of_date for a in ages.values()) else None
        table = pd.DataFrame()
        if rows:
            head = pd.DataFrame([{k: _cell(k, v) for k, v in r.items() if k != "key"} for r in rows]).set_index("programme")
            table = head.T.rename_axis("measure").reset_index()
        return HeadlineView(table, [r["key"] for r in rows if r.get("key")], problems, mixed)

    return _view(ds, ("overview_headline",), build, busy=busy)


@dataclass(frozen=True)
class DeprivationView:
    """The Overview's deprivation table of the LAs and ICB, its notes and caption."""

    table: pd.DataFrame
    notes: list[str]
    caption: str


def deprivation_view(ds: Dataset) -> DeprivationView:
    """:func:`hiexplore.la_deprivation.deprivation_summary` as the Overview shows it: the table
    (:func:`~hiexplore.la_deprivation.summary_table`) without its long per-edition notes, which
    go under it ("IoD2025: ..."), and :func:`~hiexplore.la_deprivation.summary_caption`."""
    from .la_deprivation import deprivation_summary, summary_caption, summary_table

    def build() -> DeprivationView:
        depr = deprivation_summary(ds)
        tab = summary_table(depr) if len(depr) else pd.DataFrame()
        notes: list[str] = []
        if len(tab):
            notes = sorted({f"{e}: {n}" for e, n in zip(tab["IoD"], tab.pop("note"), strict=True) if str(n).strip()})
        return DeprivationView(tab, notes, summary_caption(depr))

    return _view(ds, ("deprivation",), build)


def holdings_view(ds: Dataset) -> pd.DataFrame:
    """"What this dataset holds": each indicator's periods, the end of its latest and its age."""
    from .periods import figure_age

    def build() -> pd.DataFrame:
        rows = []
        for key in ds.indicator_keys():
            ps = ds.periods(key)
            latest = figure_age(ds, ps[-1]) if ps else None
            span = "" if not ps else (ps[0] if len(ps) == 1 else f"{ps[0]} to {ps[-1]} ({len(ps)})")
            rows.append({"indicator": key, "name": catalogue()[key].short_name, "programme": catalogue()[key].programme,
                         "periods": span, "latest ends": latest.period_end if latest else None,
                         "age": ("out of date" if latest.out_of_date else "current") if latest else ""})
        return pd.DataFrame(rows)

    return _view(ds, ("holdings",), build)


# --------------------------------------------------------------------------------------------
# Recent trends (the Overview's LA block, the Map explorer's area profile)
# --------------------------------------------------------------------------------------------

def la_trend_keys(ds: Dataset) -> list[str]:
    """Indicators with upper-tier LA figures over time (:func:`hiexplore.trends.trend_geographies`)."""
    from .trends import trend_geographies

    return _view(ds, ("la_trend_keys",), lambda: [k for k in ds.indicator_keys() if "utla" in trend_geographies(ds, k)])


@dataclass(frozen=True)
class LATrendView:
    """Every upper-tier LA's latest figure and recent trend, and what it rests on."""

    table: pd.DataFrame
    caption: str
    names: dict[str, str]
    periods: str


def la_trend_view(ds: Dataset, indicator: str, *, busy: Busy | None = None) -> LATrendView:
    """:func:`hiexplore.trends.trend_table` at ``utla`` with :func:`~hiexplore.trends.trend_caption`."""
    from .trends import trend_caption, trend_table

    def build() -> LATrendView:
        table = trend_table(ds, indicator, "utla")
        caption = trend_caption(ds, indicator, "utla").replace("Each area's", "Each local authority's")
        names = {str(k): str(v) for k, v in zip(table["area_code"], table["area_name"], strict=True)}
        periods = str(table["trend_periods"].iloc[0]) if len(table) else ""
        return LATrendView(table, caption, names, periods)

    return _view(ds, ("la_trend", indicator), build, busy=busy)


@dataclass(frozen=True)
class SeriesView:
    """One area's figures over time (:func:`hiexplore.trends.trend_series`) and its chart."""

    series: pd.DataFrame
    figure: Any


def trend_series_view(ds: Dataset, indicator: str, geography: str, area: str, *,
                      busy: Busy | None = None) -> SeriesView:
    """:func:`hiexplore.trends.trend_series` and :func:`hiexplore.trends.trend_figure`, whose
    caption names the series' sources (else the dataset's first two)."""
    from .trends import trend_figure, trend_series

    def build() -> SeriesView:
        series = trend_series(ds, indicator, geography, area)
        sources = series.attrs.get("sources") or []
        source = ("Sources: " + "; ".join(sources) + ". Open Government Licence v3.0.") if sources \
            else ds.provenance_line(limit=2)
        return SeriesView(series, trend_figure(series, source=source))

    return _view(ds, ("trend_series", indicator, geography, str(area)), build, field=SERIES, busy=busy)


# --------------------------------------------------------------------------------------------
# Warm-up
# --------------------------------------------------------------------------------------------

def warm_pages(ds: Dataset) -> dict[str, float]:
    """Compute what the Overview, Inequalities and Practices pages show on their default choice
    (seconds per page), so that the first session after start reads it instead of computing it.

    Run by ``app_support/warm.py`` before the server listens. A block that cannot be computed
    (an indicator without flags, a dataset without LSOA figures) is skipped: its page says why.
    Nothing is done when the dataset's derived flags are not stored and fresh
    (:func:`hiexplore.derived.store_is_fresh`): the flags would be computed here, which the
    warm-up leaves to the pages in that case.
    """
    from .charts import source_index
    from .derived import store_is_fresh
    from .inequality_report import ethnicity_share_columns

    took: dict[str, float] = {}
    if not store_is_fresh(ds.path):
        return took

    def step(name: str, *calls: Any) -> None:
        t = time.perf_counter()
        for call in calls:
            try:
                call()
            except HiexploreError:
                continue
        took[name] = took.get(name, 0.0) + time.perf_counter() - t

    step("sources", lambda: source_index(ds))
    step("overview", lambda: overview_headline(ds), lambda: deprivation_view(ds), lambda: holdings_view(ds))
    keys = la_trend_keys(ds)
    if keys:
        la = default_indicator(ds, PREFERRED["la_trend"], keys)
        step("overview", lambda: la_trend_view(ds, la),
             lambda: trend_series_view(ds, la, "utla", la_trend_view(ds, la).table["area_code"].iloc[0]))
    ind = default_indicator(ds, PREFERRED["inequalities"])
    if ind is not None:
        period = ds.periods(ind)[-1] if ds.periods(ind) else None
        shares = ethnicity_share_columns(ds)
        step("inequalities", lambda: gradient_view(ds, ind, "lsoa", "imd_decile", period),
             lambda: inequality_trend_view(ds, ind, "lsoa", "imd_decile"),
             lambda: ethnicity_view(ds, ind, shares[0], period) if shares else None,
             lambda: what_if_view(ds, ind, "lsoa", "imd_decile", period))
    ind = default_indicator(ds, PREFERRED["practices"])
    if ind is not None:
        period = ds.periods(ind)[-1] if ds.periods(ind) else None

        def practices() -> None:
            pv = practices_view(ds, ind, period, "none")
            practice_selection_view(ds, ind, period, "none", list_size=(0, pv.list_size_max))

        step("practices", practices)
    return took
