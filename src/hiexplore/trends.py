"""Recent trends of every area's figures, per dataset: labels, series and a small chart.

Each area, practice, PCN, ICB, sub-ICB and local authority figure gets the Fingertips "Recent
trend" of its five most recent periods of the same kind (quarters with quarters, years with
years) up to the period shown: the chi-squared test for trend in proportions at the 99.9% level
(:mod:`hiexplore.stats.trend`, where the method and its source are written out).

Where the figures come from, per geography (the same as the flags, :func:`hiexplore.apportion.area_figures`):

* ``practice``: the published practice figures (COVER GP-level quarters in the embedded data);
* ``pcn``, ``icb``, ``sub_icb``: sums of practices, per period;
* ``lsoa``, ``msoa``, ``ward``, ``lad``: practice figures **apportioned** through the
  catchments, per period (modelled estimates: a trend of an estimate is an estimate);
* ``utla`` (upper-tier local authority): the published COVER LA quarters, which in the embedded
  LLR data go back to 2016/17 (COVER's ``numerator`` there is estimated from the published
  percentage and denominator: ``value_note`` says so).

A period in which an area has no usable figure (missing, suppressed, denominator 0) counts as a
missing point, so its trend reads "not enough points" with ``trend_points`` < 5.
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .apportion import percent
from .catalogue import get_indicator, standard_for
from .dataset import derived
from .errors import RequestError
from .periods import period_end, period_kind, period_score
from .stats.trend import TREND_ALPHA, TREND_METHOD, TREND_POINTS, trend_test

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = [
    "TREND_GEOGRAPHIES",
    "TREND_COLUMNS",
    "SERIES_COLUMNS",
    "area_trends",
    "trend_series",
    "trend_table",
    "trend_geographies",
    "trend_caption",
    "series_sources",
    "trend_figure",
    "direction_note",
]

#: the flags' geographies and the upper-tier local authority (published COVER LA quarters)
TREND_GEOGRAPHIES = ("lsoa", "msoa", "ward", "lad", "practice", "pcn", "icb", "sub_icb", "utla")
#: what :func:`area_trends` returns (the first three are the issue's contract)
TREND_COLUMNS = ["area_code", "trend", "trend_points", "trend_periods", "chi2", "p_value"]
#: what :func:`trend_series` returns (the first seven are the issue's contract)
SERIES_COLUMNS = ["period", "period_end", "value", "numerator", "denominator", "england", "standard",
                  "in_trend", "value_note", "method"]
ESTIMATED_NUMERATOR = "numerator estimated from the published percentage and denominator"
_COLOURS = {"area": "#0072B2", "england": "#E69F00", "standard": "#D55E00", "grey": "#999999"}  # Okabe-Ito


def _check(ds: Dataset, indicator: str, geography: str) -> None:
    get_indicator(indicator)  # an unknown key lists the valid ones
    if geography not in TREND_GEOGRAPHIES:
        raise RequestError(f"Unknown geography {geography!r} for a trend.", valid=list(TREND_GEOGRAPHIES))


def _periods(ds: Dataset, indicator: str, geography: str) -> list[str]:
    """The periods with figures at ``geography``: the practice periods, or the LA ones for utla."""
    return list(ds.periods(indicator, "utla" if geography == "utla" else "practice"))


def _panel(ds: Dataset, indicator: str, geography: str) -> dict[str, Any]:
    """Every area's figures in every period at ``geography``, once per loaded dataset.

    Why: the derived store asks for the trend of each indicator x geography x period; the
    per-period figures are the expensive part and the same for all of them.
    """
    ind: pd.DataFrame = ds.indicators
    return derived(ds, "_trend_panel_cache", (indicator, geography, id(ind), len(ind)),
                   lambda: _build_panel(ds, indicator, geography), keep=32)


def _build_panel(ds: Dataset, indicator: str, geography: str) -> dict[str, Any]:
    periods = _periods(ds, indicator, geography)
    if geography == "utla":
        rows = ds.indicators[(ds.indicators["indicator"] == indicator) & (ds.indicators["area_type"] == "utla")]
        long = rows[["area_code", "area_name", "period", "numerator", "denominator", "value"]].copy()
        note = rows["value_note"] if "value_note" in rows else pd.Series(None, index=rows.index, dtype=object)
        if "numerator_estimated" in rows:
            est = rows["numerator_estimated"].fillna(False).astype(bool)
            note = note.where(~est | note.notna(), ESTIMATED_NUMERATOR)
        long["value_note"] = note.to_numpy()
        long["method"] = "published"
    elif geography in _FROM_LSOA or geography == "pcn":
        long = _summed(ds, indicator, geography)
    else:
        from .apportion import area_figures

        parts = []
        for p in periods:
            try:
                f = area_figures(ds, indicator, geography, p)
            except RequestError:
                continue
            cols = [c for c in ("area_code", "area_name", "period", "numerator", "denominator", "value",
                                "value_note", "method") if c in f]
            parts.append(f[cols])
        long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_LONG)
        for c in ("value_note", "method"):
            if c not in long:
                long[c] = None
    long = long.drop_duplicates(["area_code", "period"], keep="first").reset_index(drop=True)
    long["area_code"] = long["area_code"].astype(str)
    codes = pd.Index(sorted(long["area_code"].unique()))
    cols = pd.Index(periods)
    num = long.pivot(index="area_code", columns="period", values="numerator").reindex(index=codes, columns=cols)
    den = long.pivot(index="area_code", columns="period", values="denominator").reindex(index=codes, columns=cols)
    return {"periods": periods, "codes": codes, "long": long,
            "num": num.to_numpy(dtype=float, na_value=np.nan), "den": den.to_numpy(dtype=float, na_value=np.nan)}


_LONG = ["area_code", "area_name", "period", "numerator", "denominator", "value", "value_note", "method"]
_FROM_LSOA = ("msoa", "ward", "lad")


def _summed(ds: Dataset, indicator: str, geography: str) -> pd.DataFrame:
    """MSOA, ward and LAD figures per period as sums of the apportioned LSOA panel; PCN figures as
    sums of the practice panel's published counts (suppressed practices left out).

    Why: the same sums :func:`hiexplore.apportion.area_figures` makes (``aggregate_lsoa``; the
    PCN branch), from panels already built, instead of apportioning every period again for
    each geography (``tests/test_trends.py`` checks they agree).
    """
    from .apportion import METHOD_AGGREGATED, METHOD_APPORTIONED

    if geography == "pcn":
        base = _panel(ds, indicator, "practice")["long"]
        pr = ds.practices
        keep = [c for c in ("practice_code", "pcn_code", "pcn_name") if c in pr]
        m = base.merge(pr[keep].drop_duplicates("practice_code"), left_on="area_code", right_on="practice_code")
        code, name, method = "pcn_code", "pcn_name", METHOD_AGGREGATED
        names_from = pr
    else:
        base = _panel(ds, indicator, "lsoa")["long"]
        lk = ds.lookup
        keep = [c for c in ("lsoa_code", f"{geography}_code", f"{geography}_name") if c in lk]
        m = base.merge(lk[keep], left_on="area_code", right_on="lsoa_code", how="left")
        code, name, method = f"{geography}_code", f"{geography}_name", METHOD_APPORTIONED
        names_from = lk
    m = m.dropna(subset=[code, "numerator", "denominator"])
    if m.empty:
        return pd.DataFrame(columns=_LONG)
    g = m.groupby([code, "period"], sort=False).agg(numerator=("numerator", "sum"),
                                                     denominator=("denominator", "sum")).reset_index()
    g = g.rename(columns={code: "area_code"})
    if name in names_from:
        names = names_from.dropna(subset=[code]).drop_duplicates(code).set_index(code)[name]
        g["area_name"] = g["area_code"].map(names)
    else:
        g["area_name"] = g["area_code"]
    g["value"] = percent(g["numerator"], g["denominator"])
    g["value_note"] = None
    g["method"] = method
    return g[_LONG]


def _window(periods: list[str], period: str | None, last: int = TREND_POINTS) -> list[int]:
    """Positions of the ``last`` most recent periods of the same kind as ``period`` (the latest
    when None), up to and including it, oldest first."""
    if not periods:
        return []
    if period is None:
        period = max(periods, key=lambda p: (np.nan_to_num(period_score(p), nan=-np.inf)))
    if period not in periods:
        raise RequestError(f"Period {period!r} has no figures for a trend.", valid=periods)
    kind, score = period_kind(period), period_score(period)
    same = [i for i, p in enumerate(periods)
            if period_kind(p) == kind and np.isfinite(period_score(p)) and period_score(p) <= score]
    return sorted(same, key=lambda i: period_score(periods[i]))[-last:]


def area_trends(
    ds: Dataset,
    indicator: str,
    geography: str,
    *,
    period: str | None = None,
    alpha: float = TREND_ALPHA,
) -> pd.DataFrame:
    """The recent trend of every area of ``geography``: ``area_code, trend, trend_points`` and more.

    The five most recent periods of the same kind as ``period`` (default: the latest), up to
    and including it; ``trend`` is "increasing", "decreasing", "no significant change" or "not
    enough points" (fewer than 5 usable points), ``trend_points`` the usable points,
    ``trend_periods`` the periods tested ("2023/24 Q2 to 2024/25 Q2"), ``chi2`` and ``p_value``
    the test's (NaN without a test). ``attrs["method"]`` names the method and its source.
    """
    _check(ds, indicator, geography)
    panel = _panel(ds, indicator, geography)
    cols = _window(panel["periods"], period)
    used = [panel["periods"][i] for i in cols]
    if cols:
        scores = np.array([period_score(p) for p in used])
        label, points, chi2, pval, _ = trend_test(panel["num"][:, cols], panel["den"][:, cols], scores, alpha=alpha)
    else:
        n = len(panel["codes"])
        label, points = np.full(n, "not enough points", dtype=object), np.zeros(n, dtype=np.int64)
        chi2 = pval = np.full(n, np.nan)
    span = "" if not used else used[0] if len(used) == 1 else f"{used[0]} to {used[-1]}"
    out = pd.DataFrame({"area_code": panel["codes"].to_numpy(dtype=object), "trend": label, "trend_points": points,
                        "trend_periods": span, "chi2": chi2, "p_value": pval}, columns=TREND_COLUMNS)
    out["trend_points"] = out["trend_points"].astype("int64")
    out.attrs.update({"method": TREND_METHOD, "alpha": alpha, "periods": used, "indicator": indicator,
                      "geography": geography})
    return out


def trend_table(ds: Dataset, indicator: str, geography: str, *, period: str | None = None) -> pd.DataFrame:
    """Every area's name, latest figure and recent trend: the table beside the trend chart.

    Columns ``area_code, area_name, period, value, value_note, trend, trend_points,
    trend_periods, p_value``; ``period`` and ``value`` are each area's figure in the trend's
    last period (``period``, default the latest). ``attrs`` as :func:`area_trends`.
    """
    tr = area_trends(ds, indicator, geography, period=period)
    long = _panel(ds, indicator, geography)["long"]
    last = tr.attrs["periods"][-1] if tr.attrs["periods"] else None
    now = long[long["period"] == last].drop_duplicates("area_code").set_index("area_code")
    names = long.dropna(subset=["area_name"]).drop_duplicates("area_code", keep="last").set_index("area_code")["area_name"]
    out = pd.DataFrame({
        "area_code": tr["area_code"],
        "area_name": tr["area_code"].map(names).fillna(tr["area_code"]),
        "period": last,
        "value": tr["area_code"].map(now["value"]).astype(float),
        "value_note": tr["area_code"].map(now["value_note"]) if "value_note" in now else None,
        "trend": tr["trend"], "trend_points": tr["trend_points"], "trend_periods": tr["trend_periods"],
        "p_value": tr["p_value"],
    })
    out.attrs.update(tr.attrs)
    return out


_KIND_WORD = {"quarter": "quarter", "month": "month", "financial year": "year", "calendar year": "year",
              "financial years range": "period", "calendar years range": "period"}


_FILE_NAME = re.compile(r"\s*\([^()]*\.(?:ods|xlsx?|csv|zip|gz|json|txt)\)", re.I)  # "(COVER_2019_2020_Q1.ods)"


def series_sources(ds: Dataset, indicator: str, geography: str) -> list[str]:
    """The publishers' titles of the rows a series rests on (COVER LA tables for ``utla``, the
    practice files otherwise, and England's), without the file names in brackets."""
    ind = ds.indicators[ds.indicators["indicator"] == indicator]
    types = ("utla", "england") if geography == "utla" else ("practice", "england")
    src = ind.loc[ind["area_type"].isin(types), "source"].dropna().astype(str)
    return sorted({_FILE_NAME.sub("", s).strip() for s in src} - {""})


def trend_caption(ds: Dataset, indicator: str, geography: str) -> str:
    """What a trend chart and table of ``geography`` rest on, in a sentence: the kind of period,
    the publishers' titles and the span, estimated numerators, and the method.

    Titles come from files: a page escapes the sentence for its sink.
    """
    panel = _panel(ds, indicator, geography)
    periods = panel["periods"]
    if not periods:
        return ""
    kinds = [period_kind(p) for p in periods]
    word = _KIND_WORD.get(kinds[-1] or "", "period")
    same = [p for p, k in zip(periods, kinds, strict=True) if k == kinds[-1]]
    if geography == "utla":
        rows = ds.indicators[(ds.indicators["indicator"] == indicator) & (ds.indicators["area_type"] == "utla")]
        titles = sorted({_FILE_NAME.sub("", str(s)).strip() for s in rows["source"].dropna()})
        basis = "published figures: " + "; ".join(titles) if titles else "published figures"
    else:
        basis = {"lsoa": "apportioned from practices, so estimates", "msoa": "apportioned from practices, so estimates",
                 "ward": "apportioned from practices, so estimates", "lad": "apportioned from practices, so estimates",
                 "practice": "published practice figures", "pcn": "sums of practices",
                 "icb": "sums of commissioned practices", "sub_icb": "sums of commissioned practices"}[geography]
    notes = panel["long"]["value_note"].dropna().astype(str)
    estimated = " The numerators are estimated from the published percentages and denominators." if (
        notes == ESTIMATED_NUMERATOR).any() else ""
    return (f"Each area's figure per {word}, {same[0]} to {same[-1]} ({basis}), with England and the "
            f"standard's acceptable level where there is one.{estimated} Recent trend: the 5 latest {word}s, "
            f"{TREND_METHOD}.")


def trend_geographies(ds: Dataset, indicator: str) -> list[str]:
    """The geographies of :data:`TREND_GEOGRAPHIES` with figures for ``indicator`` in ``ds``."""
    have = set(ds.indicators.loc[ds.indicators["indicator"] == indicator, "area_type"].unique())
    out = [g for g in TREND_GEOGRAPHIES if g != "utla" and "practice" in have]
    return out + (["utla"] if "utla" in have else [])


def _england(ds: Dataset, indicator: str) -> pd.Series:
    """England's value (percent) per period, from its counts where published, else its value."""
    rows = ds.indicators[(ds.indicators["indicator"] == indicator) & (ds.indicators["area_type"] == "england")]
    if rows.empty:
        return pd.Series(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        counted = 100.0 * rows["numerator"].astype(float) / rows["denominator"].astype(float)
    value = counted.where(rows["denominator"].astype(float) > 0, rows["value"].astype(float))
    return pd.Series(value.to_numpy(), index=rows["period"].astype(str).to_numpy()).groupby(level=0).first()


def trend_series(
    ds: Dataset,
    indicator: str,
    geography: str,
    area_code: str,
    *,
    period: str | None = None,
) -> pd.DataFrame:
    """One area's figures in every period of the same kind as ``period`` (default the latest), up to it.

    Columns :data:`SERIES_COLUMNS`: ``period, period_end, value, numerator, denominator,
    england`` (England's value that period), ``standard`` (the acceptable level of the national
    standard in force, NaN without one), ``in_trend`` (one of the points the recent trend tests),
    ``value_note`` and ``method`` (published, apportioned from practices, sum of practices).
    Oldest first. ``attrs`` carry the trend (``trend``, ``trend_points``, ``trend_periods``,
    ``p_value``), the method, the area's name and the standard's source.
    """
    _check(ds, indicator, geography)
    panel = _panel(ds, indicator, geography)
    code = str(area_code)
    if code not in panel["codes"]:
        raise RequestError(f"No {geography} {code!r} has {indicator!r} figures in this dataset.",
                           valid=panel["codes"][:20].tolist())
    periods = panel["periods"]
    if not periods:
        raise RequestError(f"No periods of {indicator!r} at {geography}.")
    if period is None:
        period = max(periods, key=lambda p: (np.nan_to_num(period_score(p), nan=-np.inf)))
    kind, score = period_kind(period), period_score(period)
    chosen = sorted((p for p in periods if period_kind(p) == kind and period_score(p) <= score), key=period_score)
    long = panel["long"]
    mine = long[long["area_code"] == code].set_index("period").reindex(chosen)
    england = _england(ds, indicator).reindex(chosen)
    std = [standard_for(indicator, p) for p in chosen]
    window = [periods[i] for i in _window(periods, period)]
    out = pd.DataFrame({
        "period": chosen,
        "period_end": pd.to_datetime([period_end(p) for p in chosen]),
        "value": mine["value"].to_numpy(dtype=float, na_value=np.nan),
        "numerator": mine["numerator"].to_numpy(dtype=float, na_value=np.nan),
        "denominator": mine["denominator"].to_numpy(dtype=float, na_value=np.nan),
        "england": england.to_numpy(dtype=float, na_value=np.nan),
        "standard": [np.nan if s is None or s.acceptable is None else float(s.acceptable) for s in std],
        "in_trend": [p in window for p in chosen],
        "value_note": mine["value_note"].astype(object).where(mine["value_note"].notna(), None).to_numpy(),
        "method": mine["method"].astype(object).where(mine["method"].notna(), None).to_numpy(),
    }, columns=SERIES_COLUMNS)
    tr = area_trends(ds, indicator, geography, period=period)
    row = tr[tr["area_code"] == code].iloc[0]
    names = long.loc[long["area_code"] == code, "area_name"].dropna()
    out.attrs.update({
        "indicator": indicator, "geography": geography, "area_code": code,
        "area_name": str(names.iloc[-1]) if len(names) else code,
        "trend": str(row["trend"]), "trend_points": int(row["trend_points"]),
        "trend_periods": str(row["trend_periods"]),
        "p_value": None if pd.isna(row["p_value"]) else float(row["p_value"]),
        "method": TREND_METHOD,
        "standard_source": next((s.source for s in reversed(std) if s is not None), None),
        "sources": series_sources(ds, indicator, geography),
    })
    return out


def direction_note(trend: str, polarity: str | None) -> str:
    """", getting better" / ", getting worse" after a significant trend, as Fingertips words it
    ("Increasing and getting better"), from the indicator's polarity; "" otherwise.

    >>> direction_note("decreasing", "higher is better"), direction_note("no significant change", "higher is better")
    (', getting worse', '')
    """
    if trend not in ("increasing", "decreasing") or not polarity:
        return ""
    better = (trend == "increasing") == str(polarity).startswith("higher")
    return ", getting better" if better else ", getting worse"


def trend_figure(series: pd.DataFrame, *, source: str = "", title: str | None = None) -> Any:
    """A small plotly chart of :func:`trend_series`: the area per period, England and the standard.

    The points the recent trend tests are filled, older ones hollow; the title gives the trend
    and its periods, the caption (bottom) the method and ``source``. Okabe-Ito colours with
    distinct dashes and markers (colour-blind safe). Names are data: the area name is escaped
    (plotly reads pseudo-HTML) and hover templates are constants.
    """
    import plotly.graph_objects as go

    from .safe_text import html_text

    a = series.attrs
    ind = get_indicator(str(a.get("indicator"))) if a.get("indicator") else None
    name = html_text(str(a.get("area_name", "area")))
    fig = go.Figure()
    x = series["period"].astype(str).tolist()
    inside = series["in_trend"].to_numpy(bool)
    fig.add_trace(go.Scatter(
        x=x, y=series["value"], mode="lines+markers", name=name,
        line={"color": _COLOURS["area"], "width": 2.5},
        marker={"size": 8, "symbol": ["circle" if t else "circle-open" for t in inside], "color": _COLOURS["area"]},
        hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
    ))
    if series["england"].notna().any():
        fig.add_trace(go.Scatter(
            x=x, y=series["england"], mode="lines", name="England",
            line={"color": _COLOURS["england"], "width": 2, "dash": "dash"},
            hovertemplate="England %{x}: %{y:.1f}%<extra></extra>",
        ))
    if series["standard"].notna().any():
        fig.add_trace(go.Scatter(
            x=x, y=series["standard"], mode="lines", name="standard (acceptable)",
            line={"color": _COLOURS["standard"], "width": 1.5, "dash": "dot", "shape": "hv"},
            hovertemplate="standard %{x}: %{y:.0f}%<extra></extra>",
        ))
    trend = a.get("trend", "")
    head = html_text(f"{ind.short_name}: " if ind else "") + name
    sub = html_text(f"recent trend: {trend}" + direction_note(trend, ind.polarity if ind else None)
                    + (f" ({a.get('trend_periods')}, {a.get('trend_points')} points)" if a.get("trend_periods") else ""))
    values = pd.concat([series["value"], series["england"], series["standard"]]).dropna()
    lo = float(values.min()) if len(values) else 0.0
    hi = float(values.max()) if len(values) else 100.0
    pad = max(2.0, (hi - lo) * 0.15)
    note = ("Filled points: the 5 periods tested (chi-squared test for trend in proportions, 99.9% level, "
            "Fingertips method). " + source).strip()
    lines = [html_text(line) for line in textwrap.wrap(note, width=78)][:8]
    # level labels ("23/24 Q1"), the latest always shown: all of up to 6, else at most 5
    step = 1 if len(x) <= 6 else math.ceil(len(x) / 5)
    ticks = x[::-1][::step][::-1]
    top, plot = 70, 200  # pixels: title above the plot area, and the plot area itself
    bottom = 115 + 14 * len(lines)  # tick labels and axis title, legend (room for 2 rows), the caption
    fig.update_layout(
        title={"text": title if title is not None else f"{head}<br><span style='font-size:12px'>{sub}</span>",
               "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        xaxis={"title": "period", "tickangle": 0, "tickmode": "array", "tickvals": ticks,
               "ticktext": [re.sub(r"^(?:19|20)(\d\d)/(\d\d)", r"\1/\2", str(v)) for v in ticks]},
        yaxis_title=("uptake, % of those eligible" if ind is None or ind.programme in ("screening", "immunisation")
                     else f"{ind.short_name}, %"),
        yaxis={"range": [max(0.0, lo - pad), min(100.0, hi + pad)]},
        legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": -62 / plot, "yanchor": "top"},
        height=top + plot + bottom, margin={"t": top, "b": bottom, "l": 60, "r": 20},
        annotations=[{
            "text": "<br>".join(lines), "xref": "paper", "yref": "paper", "x": 0.0, "y": -108 / plot,
            "yanchor": "top", "showarrow": False, "xanchor": "left", "align": "left",
            "font": {"size": 10, "color": "#444"},
        }],
    )
    return fig
