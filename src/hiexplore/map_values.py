"""What one map layer shows, ready to draw: values per area, classes, colours and legend words.

The seam between the figures and the pictures. :func:`map_values` turns one frame of figures
(the stored flags of an indicator, or deprivation deciles) into a :class:`MapValues`: each
area's value and class, the class breaks (mapclassify, through :func:`classify_values`), the
colours (colour-blind-safe sequential palettes) and the legend's words (title, units, period,
source, the estimate / out-of-date caveats). The builders (:func:`hiexplore.maps.draw_choropleth`,
:func:`hiexplore.maps_national.draw_zoom_map` and the app's map component) draw what they are
given and compute nothing; :mod:`hiexplore.mapping` composes a dataset's figures into one.

No folium, no geometry, no dataset here: a colour change in the app needs only this.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .errors import RequestError

__all__ = [
    "SCHEMES",
    "PALETTES",
    "MISSING_COLOUR",
    "COLD_SPOT_LABELS",
    "Classification",
    "classify_values",
    "class_colours",
    "classes_on",
    "MapValues",
    "map_values",
]

#: Classification schemes and the plain-words description the legend prints for each.
SCHEMES: dict[str, str] = {
    "quantiles": "quantiles (about the same number of areas in each class)",
    "fisher_jenks": "natural breaks (Fisher-Jenks)",
    "equal_interval": "equal-width ranges",
    "standard": "the national standard's thresholds",
}

#: Sequential palettes, lightest first, keyed by number of classes. Viridis is matplotlib's
#: (van der Walt & Smith, CC0), sampled evenly; YlGnBu is ColorBrewer's (Brewer, Apache-2.0).
#: Both stay ordered in lightness for the common colour-vision deficiencies.
PALETTES: dict[str, dict[int, tuple[str, ...]]] = {
    "viridis": {
        2: ("#fde725", "#440154"),
        3: ("#fde725", "#21918c", "#440154"),
        4: ("#fde725", "#35b779", "#31688e", "#440154"),
        5: ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"),
        6: ("#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"),
        7: ("#fde725", "#90d743", "#35b779", "#21918c", "#31688e", "#443983", "#440154"),
        # 8 to 10 (deprivation deciles): viridisLite's viridis(n), the same even sampling
        8: ("#fde725", "#9fda3a", "#4ac16d", "#1fa187", "#277f8e", "#365c8d", "#46337e", "#440154"),
        9: ("#fde725", "#aadc32", "#5dc863", "#27ad81", "#21908c", "#2c728e", "#3b528b", "#472d7b",
            "#440154"),
        10: ("#fde725", "#b4de2c", "#6dcd59", "#35b779", "#1f9e89", "#26828e", "#31688e", "#3e4a89",
             "#482878", "#440154"),
    },
    "YlGnBu": {
        2: ("#edf8b1", "#2c7fb8"),
        3: ("#edf8b1", "#7fcdbb", "#2c7fb8"),
        4: ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"),
        5: ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"),
        6: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"),
        7: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
        8: ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
        9: (
            "#ffffd9",
            "#edf8b1",
            "#c7e9b4",
            "#7fcdbb",
            "#41b6c4",
            "#1d91c0",
            "#225ea8",
            "#253494",
            "#081d58",
        ),
    },
}

#: Fill for areas with no value: a neutral grey absent from both palettes.
MISSING_COLOUR = "#c8c8c8"

#: ``cluster`` values (case-insensitive) drawn as cold spots: clusters of low values, as
#: labelled by LISA ("LL", "low-low") or Getis-Ord Gi* ("cold spot", "cold spot 95%" ...).
#: Any value containing the word "cold" or starting "low-low" also counts, so
#: ``hiexplore.spatial``'s "low-low (cold spot)" is a cold spot.
COLD_SPOT_LABELS: tuple[str, ...] = (
    "cold",
    "coldspot",
    "cold spot",
    "cold-spot",
    "ll",
    "low-low",
    "low low",
    "low-low cluster",
)

_COLD_PATTERN = re.compile(r"\bcold\b|^(ll|low[- ]low)\b")


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


class Classification(NamedTuple):
    """Classes for a set of values: unpack as ``labels, classes, bins, scheme = ...``.

    ``classes[i]`` is the class of value *i* (0 = lowest values) or -1 where the value is missing;
    ``labels[c]`` describes class *c* in plain words; ``bins`` are the upper bounds
    (mapclassify schemes, right-closed) or the thresholds (``"standard"``).
    """

    labels: tuple[str, ...]
    classes: np.ndarray
    bins: tuple[float, ...]
    scheme: str

    @property
    def counts(self) -> tuple[int, ...]:
        """Number of values in each class (missing values excluded)."""
        return tuple(int((self.classes == c).sum()) for c in range(len(self.labels)))

    @property
    def n_missing(self) -> int:
        """Number of missing values (class -1)."""
        return int((self.classes < 0).sum())


def _fmt_number(x: float, decimals: int) -> str:
    return f"{x:,.{decimals}f}"


def _choose_decimals(edges: Sequence[float], start: int = 1, most: int = 4) -> int:
    """Fewest decimals (from ``start``) at which neighbouring class edges print differently."""
    for d in range(start, most + 1):
        shown = [_fmt_number(e, d) for e in edges]
        if len(set(shown)) == len(shown):
            return d
    return most


def _threshold_parts(thresholds: Any) -> tuple[float | None, float | None] | None:
    """(acceptable, achievable) from a catalogue Standard or a mapping; None for plain numbers."""
    if hasattr(thresholds, "acceptable") or hasattr(thresholds, "achievable"):
        return getattr(thresholds, "acceptable", None), getattr(thresholds, "achievable", None)
    if isinstance(thresholds, Mapping):
        unknown = set(thresholds) - {"acceptable", "achievable"}
        if unknown:
            raise RequestError(
                f"Unknown threshold name(s) {sorted(unknown)!r} in thresholds.",
                valid=["acceptable", "achievable"],
            )
        return thresholds.get("acceptable"), thresholds.get("achievable")
    return None


def _classify_standard(
    y: np.ndarray,
    valid: np.ndarray,
    thresholds: Any,
    higher_is_better: bool,
    decimals: int | None,
) -> Classification:
    """Fixed bands from a standard's thresholds.

    Standards are written "coverage >= 70% is acceptable", so for higher-is-better indicators the
    bands are closed on the left (70.0 is acceptable); mapclassify's ``UserDefined`` closes them
    on the right, hence ``np.searchsorted`` here.
    """
    if thresholds is None:
        raise RequestError(
            "scheme='standard' needs thresholds: pass the indicator's standard "
            "(hiexplore.catalogue.standard_for(key, period)), a mapping "
            "{'acceptable': .., 'achievable': ..} or a list of cut points."
        )
    named = _threshold_parts(thresholds)
    if named is not None:
        acceptable, achievable = (None if v is None else float(v) for v in named)
        cuts = sorted(v for v in (acceptable, achievable) if v is not None)
        if not cuts:
            raise RequestError("The standard has no acceptable or achievable threshold to map.")
        if (
            acceptable is not None
            and achievable is not None
            and acceptable != achievable
            and ((acceptable < achievable) != higher_is_better)
        ):
            raise RequestError(
                f"Thresholds acceptable={acceptable:g}, achievable={achievable:g} do not fit "
                f"higher_is_better={higher_is_better}: check the indicator's polarity."
            )
    else:
        try:
            cuts = sorted(float(t) for t in thresholds)
        except (TypeError, ValueError) as exc:
            raise RequestError(
                f"thresholds should be a Standard, a mapping or numbers, got {thresholds!r}."
            ) from exc
        if not cuts:
            raise RequestError("thresholds is empty: give at least one cut point.")
    d = decimals if decimals is not None else _choose_decimals(cuts)
    f = [_fmt_number(c, d) for c in cuts]
    side = "right" if higher_is_better else "left"
    classes = np.full(len(y), -1, dtype=np.int64)
    classes[valid] = np.searchsorted(np.asarray(cuts), y[valid], side=side)
    if higher_is_better:
        generic = [f"under {f[0]}"]
        generic += [f"{f[i]} to under {f[i + 1]}" for i in range(len(f) - 1)]
        generic += [f"{f[-1]} or more"]
    else:
        generic = [f"{f[0]} or less"]
        generic += [f"over {f[i]} to {f[i + 1]}" for i in range(len(f) - 1)]
        generic += [f"over {f[-1]}"]
    labels = generic
    if named is not None:
        if higher_is_better:
            words = ["Below acceptable" if acceptable is not None else "Below achievable"]
            if acceptable is not None:
                words.append("Acceptable")
            if achievable is not None:
                words.append("Achievable")
        else:
            words = []
            if achievable is not None:
                words.append("Achievable")
            if acceptable is not None:
                words.append("Acceptable")
            words.append("Above acceptable" if acceptable is not None else "Not achievable")
        if len(words) == len(generic):
            labels = [f"{w} ({g})" for w, g in zip(words, generic, strict=True)]
    return Classification(tuple(labels), classes, tuple(cuts), "standard")


def classify_values(
    values: Sequence[float] | np.ndarray | pd.Series,
    scheme: str = "quantiles",
    k: int = 5,
    thresholds: Any = None,
    *,
    higher_is_better: bool = True,
    decimals: int | None = None,
) -> Classification:
    """Put values into ``k`` classes by one of :data:`SCHEMES`, through one registry.

    ``quantiles``, ``fisher_jenks`` and ``equal_interval`` are mapclassify's
    ``classify(y, scheme, k)``; ``standard`` uses ``thresholds`` (a catalogue ``Standard``, a
    mapping with ``acceptable``/``achievable``, or cut points). Missing values get class -1 and
    are left out of the class breaks. If there are fewer distinct values than ``k``, fewer
    classes are made (say 3 distinct values cannot fill 5 quantiles).

    >>> labels, classes, bins, scheme = classify_values([50, 65, 72, None, 85], "standard",
    ...                                                  thresholds={"acceptable": 70, "achievable": 80})
    >>> labels
    ('Below acceptable (under 70.0)', 'Acceptable (70.0 to under 80.0)', 'Achievable (80.0 or more)')
    >>> classes.tolist()
    [0, 0, 1, -1, 2]
    """
    if scheme not in SCHEMES:
        raise RequestError(f"Unknown classification scheme {scheme!r}.", valid=list(SCHEMES))
    y = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(dtype=float)
    valid = np.isfinite(y)
    if scheme == "standard":
        return _classify_standard(y, valid, thresholds, higher_is_better, decimals)
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise RequestError(f"k should be a whole number of classes of at least 2, got {k!r}.")
    classes = np.full(len(y), -1, dtype=np.int64)
    yv = y[valid]
    if yv.size == 0:
        return Classification((), classes, (), scheme)
    distinct = np.unique(yv)
    if distinct.size == 1:
        classes[valid] = 0
        d = decimals if decimals is not None else 1
        return Classification(
            (_fmt_number(distinct[0], d),), classes, (float(distinct[0]),), scheme
        )
    k_eff = int(min(k, distinct.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mapclassify warns when quantile bins coincide
        import mapclassify

        fitted = mapclassify.classify(yv, scheme, k=k_eff)
    bins = np.asarray(fitted.bins, dtype=float)
    yb = np.asarray(fitted.yb, dtype=np.int64)
    # keep only classes that received values (quantiles can merge bins on heavy ties)
    used = np.unique(yb)
    classes[valid] = np.searchsorted(used, yb)
    uppers = bins[used]
    lowers = [float(yv.min()), *map(float, bins[used[:-1]])]
    edges = [float(yv.min()), *map(float, uppers)]
    d = decimals if decimals is not None else _choose_decimals(edges)
    labels = tuple(
        f"{_fmt_number(lo, d)} to {_fmt_number(hi, d)}"
        for lo, hi in zip(lowers, uppers, strict=True)
    )
    return Classification(labels, classes, tuple(float(b) for b in uppers), scheme)


def _spread(colours: Sequence[str], n: int) -> list[str]:
    """``n`` colours evenly along ``colours`` (linear in sRGB between neighbours), ends kept."""
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=float)
    at = np.linspace(0, len(colours) - 1, n)
    lo = np.floor(at).astype(int).clip(max=len(colours) - 2)
    w = (at - lo)[:, None]
    mixed = np.rint(rgb[lo] * (1 - w) + rgb[lo + 1] * w).astype(int)
    return ["#" + "".join(f"{v:02x}" for v in row) for row in mixed]


def class_colours(n: int, palette: str = "viridis", higher_is_better: bool = True) -> list[str]:
    """Colours for classes 0..n-1 (ascending values) with the *worse* end darker.

    Palettes are stored lightest first, so they fit lower-is-better indicators as they are and
    are reversed when higher is better (low values are then the worse, darker, end).
    """
    if palette not in PALETTES:
        raise RequestError(f"Unknown palette {palette!r}.", valid=list(PALETTES))
    if n <= 0:
        return []
    sizes = PALETTES[palette]
    if n == 1:
        three = sizes[3]
        return [three[1]]
    if n not in sizes and n <= max(sizes):
        raise RequestError(
            f"Palette {palette!r} has no {n}-class version.", valid=[str(s) for s in sizes]
        )
    # more classes than the palette has (deprivation deciles on ColorBrewer's 9): spread along it
    colours = list(sizes[n]) if n in sizes else _spread(sizes[max(sizes)], n)
    return colours[::-1] if higher_is_better else colours



def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _truthy(value: object) -> bool:
    if _is_missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "y", "1", "flagged"}
    return bool(value)


def _is_cold(value: object, labels: Sequence[str]) -> bool:
    if _is_missing(value):
        return False
    text = str(value).strip().lower()
    return text in labels or bool(_COLD_PATTERN.search(text))




def classes_on(bins: Sequence[float], scheme: str, higher_is_better: bool, y: np.ndarray) -> np.ndarray:
    """Class of each value on fixed class bounds (another level's), -1 where missing.

    What a zoom map needs so that a colour means the same range at every zoom: the coarser
    levels are put in the finest level's classes.
    """
    y = np.asarray(y, dtype=float)
    out = np.full(len(y), -1, dtype=np.int64)
    ok = np.isfinite(y)
    if not len(bins):
        return out
    edges = np.asarray(bins, dtype=float)
    if scheme == "standard":
        out[ok] = np.searchsorted(edges, y[ok], side="right" if higher_is_better else "left")
    else:  # mapclassify: upper bounds, right-closed; values past the last bound join the last class
        out[ok] = np.minimum(np.searchsorted(edges, y[ok], side="left"), len(edges) - 1)
    return out


# --------------------------------------------------------------------------------------------
# One layer's values
# --------------------------------------------------------------------------------------------

#: the columns of :attr:`MapValues.frame` besides the tooltip fields
FRAME_COLUMNS = ("area_code", "value", "lower", "upper", "flagged", "cold", "k")


@dataclass(frozen=True, eq=False)
class MapValues:
    """One map layer's figures, classes, colours and legend words: everything a builder draws.

    ``frame`` has one row per area: ``area_code`` (text), ``value``, ``lower``/``upper`` (the
    95% interval, NaN where there is none), ``flagged`` and ``cold`` (outlines), ``k`` (class
    index, -1 = no data, drawn grey) and the ``tooltip_fields`` columns. ``classification``
    counts the areas of the layer the classes were fitted on (the legend's counts).
    """

    frame: pd.DataFrame
    classification: Classification
    colours: tuple[str, ...]
    title: str
    units: str
    legend_title: str
    scheme: str
    palette: str
    higher_is_better: bool
    source_line: str
    note: str | None = None
    period: str | None = None
    age_mark: str | None = None
    tooltip_fields: tuple[tuple[str, str], ...] = ()
    flagged_label: str = "Flagged for action"
    decimals: int = 1

    @property
    def any_flagged(self) -> bool:
        return bool(self.frame["flagged"].any())

    @property
    def any_cold(self) -> bool:
        return bool(self.frame["cold"].any())

    def aligned(self, codes: Sequence[str] | pd.Series) -> pd.DataFrame:
        """The frame in the order of ``codes`` (areas without a row: no data, class -1)."""
        idx = pd.Index(pd.Series(codes, dtype="object").astype(str), name="area_code")
        out = self.frame.set_index("area_code").reindex(idx)
        # not read by the builders; pandas deep-copies attrs into every column taken from the
        # frame (once per area and field), which cost more than the rest of a map (issue 13)
        out.attrs = {}
        out["k"] = out["k"].fillna(-1).astype(np.int64)
        out["flagged"] = out["flagged"].fillna(False).astype(bool)
        out["cold"] = out["cold"].fillna(False).astype(bool)
        return out.reset_index()

    def on_breaks(self, values: pd.DataFrame, codes: Sequence[str] | pd.Series | None = None,
                  cold_spot_labels: Sequence[str] = COLD_SPOT_LABELS) -> MapValues:
        """Another level's figures in these classes and colours (same legend): a zoom map's
        coarser levels. Tooltip fields the frame lacks are left out of its tooltips."""
        fields = tuple((c, label) for c, label in self.tooltip_fields if c in values.columns)
        frame = _normalised(values, fields, cold_spot_labels, codes, strict=False)
        frame["k"] = classes_on(self.classification.bins, self.scheme, self.higher_is_better,
                                frame["value"].to_numpy(dtype=float))
        return replace(self, frame=frame, tooltip_fields=fields)

    def legend(self) -> dict[str, Any]:
        """The legend as plain data (JSON-able): what is mapped, in which units, when, from
        where, with which caveats, and each class's range, colour and number of areas."""
        c = self.classification
        return {
            "title": self.title,
            "legend_title": self.legend_title,
            "units": self.units,
            "period": self.period,
            "out_of_date": self.age_mark or None,
            "note": self.note,
            "source": self.source_line,
            "scheme": self.scheme,
            "scheme_text": SCHEMES[self.scheme],
            "palette": self.palette,
            "higher_is_better": self.higher_is_better,
            "classes": [{"label": lab, "colour": col, "count": n}
                        for lab, col, n in zip(c.labels, self.colours, c.counts, strict=True)],
            "no_data": {"colour": MISSING_COLOUR, "count": c.n_missing},
            "flagged": self.flagged_label if self.any_flagged else None,
            "cold_spots": self.any_cold,
        }


def _column(values: pd.DataFrame, *names: str) -> pd.Series | None:
    for n in names:
        if n in values.columns:
            return values[n]
    return None


def _normalised(
    values: pd.DataFrame,
    fields: Sequence[tuple[str, str]],
    cold_spot_labels: Sequence[str],
    codes: Sequence[str] | pd.Series | None,
    *,
    strict: bool,
) -> pd.DataFrame:
    """``values`` as :attr:`MapValues.frame` (without ``k``), one row per area (per code)."""
    missing = [c for c in ("area_code", "value") if c not in values.columns]
    if missing:
        raise RequestError(
            f"values is missing column(s) {missing}; found {list(values.columns)}.",
            valid=["area_code", "value"],
        )
    area = values["area_code"].astype(str)
    if strict:
        dupes = area[area.duplicated()].unique().tolist()
        if dupes:
            raise RequestError(
                f"values has more than one row for area_code(s) {dupes[:10]}: give one value per area."
            )
    keep = ~area.duplicated().to_numpy()
    src = values.loc[keep]
    lower, upper = _column(src, "lower_ci_95", "lower_ci"), _column(src, "upper_ci_95", "upper_ci")
    labels = tuple(s.lower() for s in cold_spot_labels)
    frame = pd.DataFrame({
        "area_code": area[keep].to_numpy(),
        "value": pd.to_numeric(src["value"], errors="coerce").to_numpy(dtype=float),
        "lower": np.nan if lower is None else pd.to_numeric(lower, errors="coerce").to_numpy(dtype=float),
        "upper": np.nan if upper is None else pd.to_numeric(upper, errors="coerce").to_numpy(dtype=float),
        "flagged": src["flagged"].map(_truthy).to_numpy(dtype=bool) if "flagged" in src else False,
        "cold": src["cluster"].map(lambda v: _is_cold(v, labels)).to_numpy(dtype=bool) if "cluster" in src else False,
    })
    for col, _ in fields:
        if col not in FRAME_COLUMNS:
            frame[col] = src[col].to_numpy()
    if codes is not None:
        idx = pd.Index(pd.Series(codes, dtype="object").astype(str), name="area_code")
        frame = frame.set_index("area_code").reindex(idx).reset_index()
        frame["flagged"] = frame["flagged"].fillna(False).astype(bool)
        frame["cold"] = frame["cold"].fillna(False).astype(bool)
    return frame


def map_values(
    values: pd.DataFrame,
    *,
    title: str,
    units: str,
    source_line: str,
    codes: Sequence[str] | pd.Series | None = None,
    legend_title: str | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    thresholds: Any = None,
    palette: str = "viridis",
    higher_is_better: bool = True,
    note: str | None = None,
    period: str | None = None,
    age_mark: str | None = None,
    tooltip_fields: Mapping[str, str] | Sequence[str] = (),
    flagged_label: str = "Flagged for action",
    cold_spot_labels: Sequence[str] = COLD_SPOT_LABELS,
    decimals: int | None = None,
) -> MapValues:
    """One frame of figures (stored flags, deprivation deciles ...) as a :class:`MapValues`.

    ``values`` has ``area_code, value`` and optionally ``lower_ci_95``/``upper_ci_95`` (or
    ``lower_ci``/``upper_ci``), ``flagged``, ``cluster`` (cold spots) and the
    ``tooltip_fields`` columns (a list, or a mapping column -> label). ``codes``: the areas on
    the map, in order; areas without a value are then counted as "no data" in the legend.
    Classes come from :func:`classify_values` (mapclassify), colours from
    :func:`class_colours` (darker = worse). Nothing is computed from a dataset here.

    >>> mv = map_values(pd.DataFrame({"area_code": ["A", "B", "C"], "value": [50.0, 75.0, 90.0]}),
    ...                 title="MMR1", units="%", source_line="COVER", codes=["A", "B", "C", "D"],
    ...                 scheme="standard", thresholds={"acceptable": 70, "achievable": 80})
    >>> mv.frame["k"].tolist(), mv.legend()["no_data"]["count"]
    ([0, 1, 2, -1], 1)
    """
    if isinstance(tooltip_fields, Mapping):
        fields = tuple((str(c), str(label)) for c, label in tooltip_fields.items())
    else:
        fields = tuple((str(c), str(c).replace("_", " ").capitalize()) for c in tooltip_fields)
    absent = [c for c, _ in fields if c not in values.columns]
    if absent:
        raise RequestError(
            f"tooltip_fields {absent} are not columns of values.",
            valid=[str(c) for c in values.columns],
        )
    frame = _normalised(values, fields, cold_spot_labels, codes, strict=True)
    classification = classify_values(frame["value"].to_numpy(), scheme, k, thresholds,
                                     higher_is_better=higher_is_better, decimals=decimals)
    frame["k"] = classification.classes
    colours = tuple(class_colours(len(classification.labels), palette, higher_is_better))
    return MapValues(
        frame=frame, classification=classification, colours=colours, title=title, units=units,
        legend_title=legend_title or title, scheme=scheme, palette=palette,
        higher_is_better=higher_is_better, source_line=source_line, note=note, period=period,
        age_mark=age_mark or None, tooltip_fields=fields, flagged_label=flagged_label,
        decimals=decimals if decimals is not None else 1,
    )
