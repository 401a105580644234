"""The briefing pack: one self-contained report on a PCN, ward, LAD or ICB (issue 14, item 3).

Why: a planner or PCN manager takes one file to a meeting, offline, and finds there the area's
headline figures and trends for every loaded indicator, a map of its neighbourhoods, its top
targets and patches, its practices against England and their peers, the inequality gradient,
what is modelled or estimated, and every source with its date and licence.

Nothing here computes a statistic of its own: headline figures are the stored flags
(:func:`hiexplore.derived.stored_flags`) of the area's geography, targets
:func:`hiexplore.derived.stored_targets` at LSOA level, practices
:func:`hiexplore.practice_compare.compare_practices`, the gradient
:func:`hiexplore.inequality_report.inequality_report`, trends :mod:`hiexplore.trends` and patches
:mod:`hiexplore.patches` (where this build has them; the pack says so where it does not).

The HTML is one file: inline CSS, the map and charts as inline SVG drawn here from the
geometry and the figures, no script, no link or image outside the file. Every text that comes
from a file (area, practice, PCN and source names, notes, reasons) is escaped with
:func:`hiexplore.safe_text.html_text`; no input string is template source. The PDF is the same
HTML through WeasyPrint, whose URL fetcher here refuses anything but ``data:`` URIs.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .catalogue import get_indicator
from .errors import HiexploreError, RequestError
from .mapping import caveat_note
from .safe_text import html_text as h

if TYPE_CHECKING:
    import geopandas as gpd

    from .dataset import Dataset

__all__ = [
    "AREA_KINDS",
    "BRIEF_FORMATS",
    "BriefingPack",
    "area_kind",
    "briefing_pack",
    "write_briefing",
]

#: the kinds of area a briefing pack covers, and how each is named
AREA_KINDS: dict[str, str] = {"pcn": "PCN", "ward": "ward", "lad": "local authority (LAD)", "icb": "ICB"}
BRIEF_FORMATS = (".html", ".pdf")
TOP_TARGETS = 10  # neighbourhoods listed (and numbered on the map)
TOP_PATCHES = 8
PATCH_SECONDS = 90.0  # how long a pack waits for the dataset's patches (see _patches)
MAX_FOCUS = 3  # indicators given practice tables and a gradient (most people to reach first)
MAX_PRACTICES = 20  # practice rows per indicator (lowest uptake first); the rest are counted
SERVING_SHARE = 0.02  # a practice "serves" a ward or LAD with at least this share of its residents
MAP_WIDTH = 520.0  # the map's box in SVG units (the legend goes under it)
MAP_HEIGHT = 400.0
LEGEND_STEP = 17.0
# ColorBrewer OrRd (5 classes): sequential, colour-blind safe, prints in grey
PALETTE = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
NOT_FLAGGED = "#eeeeee"
BAR_COLOUR = "#0072b2"  # Okabe-Ito blue
MARK_COLOUR = "#d55e00"  # Okabe-Ito vermillion


def area_kind(ds: Dataset, code: str) -> str:
    """The kind of ``code`` in this dataset: "pcn", "ward", "lad" or "icb".

    Looked up in the dataset's areas (PCN polygons are the LSOAs each PCN serves most) and, for
    codes of the lookup, its ward, LAD and ICB columns. An unknown code raises a
    :class:`RequestError` naming it and the kinds accepted.
    """
    code = str(code).strip()
    hit = [t for t in ds.areas.loc[ds.areas["area_code"] == code, "area_type"] if t in AREA_KINDS]
    if hit:
        return str(hit[0])
    for kind in ("ward", "lad", "icb"):
        col = f"{kind}_code"
        if col in ds.lookup and (ds.lookup[col].astype(str) == code).any():
            return kind
    if "pcn_code" in ds.practices and (ds.practices["pcn_code"].astype(str) == code).any():
        return "pcn"
    examples = []
    for kind in AREA_KINDS:
        codes = ds.areas.loc[ds.areas["area_type"] == kind, "area_code"].astype(str).tolist()[:2]
        examples += [f"{c} ({AREA_KINDS[kind]})" for c in codes]
    raise RequestError(
        f"Area {code!r} is not a PCN, ward, LAD or ICB of dataset {ds.name}; a briefing pack needs one of "
        f"those kinds ({', '.join(AREA_KINDS.values())}).",
        valid=examples + ["... (see hiexplore info)"],
    )


def _area_name(ds: Dataset, code: str, kind: str) -> str:
    names = ds.areas.loc[(ds.areas["area_code"] == code) & (ds.areas["area_type"] == kind), "area_name"]
    if len(names):
        return str(names.iloc[0])
    if kind == "pcn":
        n = ds.practices.loc[ds.practices["pcn_code"].astype(str) == code, "pcn_name"].dropna()
    else:
        n = ds.lookup.loc[ds.lookup[f"{kind}_code"].astype(str) == code, f"{kind}_name"].dropna()
    return str(n.iloc[0]) if len(n) else code


def _own(ds: Dataset) -> pd.DataFrame:
    from .dataset import own_practices

    return own_practices(ds.practices)


def area_lsoas(ds: Dataset, code: str, kind: str) -> list[str]:
    """The neighbourhoods (LSOAs) of an area: those of the lookup for a ward, LAD or ICB; for a
    PCN, the LSOAs whose registered residents are mostly with its practices (as its polygon)."""
    if kind != "pcn":
        return sorted(ds.lookup.loc[ds.lookup[f"{kind}_code"].astype(str) == code, "lsoa_code"].astype(str).unique())
    reg = ds.registrations[ds.registrations["in_area"]].merge(
        _own(ds)[["practice_code", "pcn_code"]], on="practice_code")
    by = reg.groupby(["lsoa_code", "pcn_code"], as_index=False)["patients"].sum()
    top = by.sort_values("patients").drop_duplicates("lsoa_code", keep="last")
    return sorted(top.loc[top["pcn_code"].astype(str) == code, "lsoa_code"].astype(str))


def area_practices(ds: Dataset, code: str, kind: str, lsoas: Sequence[str]) -> pd.DataFrame:
    """The practices a pack compares: a PCN's members; an ICB's own practices; for a ward or LAD
    those standing in it and those with at least :data:`SERVING_SHARE` of its registered
    residents. Columns practice_code, practice_name, share (of the area's registered residents)."""
    own = _own(ds)
    reg = ds.registrations[ds.registrations["in_area"] & ds.registrations["lsoa_code"].isin(list(lsoas))]
    share = reg.groupby("practice_code")["patients"].sum()
    share = share / share.sum() if share.sum() > 0 else share
    if kind == "pcn":
        codes = set(own.loc[own["pcn_code"].astype(str) == code, "practice_code"])
    elif kind == "icb":  # practices carry the NHS ICB code (QK1), areas the ONS one (E54000015)
        lk = ds.lookup
        same = {code} | (set(lk.loc[lk["icb_code"].astype(str) == code, "icb_code_nhs"].dropna().astype(str))
                         if "icb_code_nhs" in lk else set())
        codes = set(own.loc[own["icb_code"].astype(str).isin(same), "practice_code"])
    else:
        codes = set(own.loc[own["lsoa_code"].astype(str).isin(set(lsoas)), "practice_code"])
        codes |= set(share[share >= SERVING_SHARE].index) & set(own["practice_code"])
    out = own[own["practice_code"].isin(codes)][["practice_code", "practice_name"]].drop_duplicates("practice_code")
    out = out.assign(share=out["practice_code"].map(share).fillna(0.0).to_numpy(float))
    return out.sort_values(["share", "practice_code"], ascending=[False, True]).reset_index(drop=True)


def _is_true(v: Any) -> bool:
    return v is not None and v is not pd.NA and not (isinstance(v, float) and math.isnan(v)) and bool(v)


def _text(v: Any) -> str:
    """A cell's text: missing (None, NaN, NA) is empty."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _num(v: Any, fmt: str = "{:.1f}", missing: str = "-") -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return missing
    return missing if not math.isfinite(x) else fmt.format(x)


@dataclass(frozen=True)
class BriefingPack:
    """Everything a briefing shows, computed by the package's own functions (see module doc)."""

    dataset_name: str
    area_code: str
    area_name: str
    kind: str
    generated: str
    indicators: list[str]
    focus: list[str]
    headline: pd.DataFrame
    not_loaded: list[dict[str, Any]]
    trends: dict[str, pd.DataFrame]
    trends_note: str
    neighbourhoods: pd.DataFrame
    map_svg: str
    targets: pd.DataFrame
    targets_notes: list[str]
    patches: pd.DataFrame | None
    patches_note: str
    practices: dict[str, pd.DataFrame]
    practices_notes: dict[str, str]
    gradients: dict[str, dict[str, Any]]
    gradient_notes: dict[str, str]
    caveats: list[str]
    details: list[str]
    sources: pd.DataFrame
    provenance: str
    synthetic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def people_to_reach(self) -> float:
        """People to reach in the area's flagged neighbourhoods, summed over the indicators."""
        t = self.neighbourhoods
        return float(t["people_to_reach"].fillna(0).sum()) if len(t) else 0.0

    def html(self) -> str:
        """The pack as one self-contained HTML document (no script, nothing outside the file)."""
        return _render_html(self)

    def pdf(self, path: str | Path) -> Path:
        """Write the pack as PDF through WeasyPrint (Debian's fonts); returns the path."""
        return _write_pdf(self.html(), Path(path))


# ---------------------------------------------------------------------------------------------
# gathering


def briefing_pack(ds: Dataset, area_code: str, *, indicators: Sequence[str] | None = None) -> BriefingPack:
    """The briefing pack of ``area_code`` (a PCN, ward, LAD or ICB of ``ds``).

    ``indicators`` are those the targets, patches, practices and gradient sections cover
    (default: every loaded indicator; the practices and gradient sections take the
    :data:`MAX_FOCUS` with the most people to reach in the area). The headline table always
    covers every loaded indicator.
    """
    from .derived import stored_flags, stored_targets

    code = str(area_code).strip()
    kind = area_kind(ds, code)
    name = _area_name(ds, code, kind)
    loaded = ds.indicator_keys()
    if indicators:
        unknown = [k for k in indicators if k not in loaded]
        if unknown:
            raise RequestError(f"Indicator(s) {', '.join(unknown)} have no practice figures in dataset {ds.name}.",
                               valid=loaded)
        chosen = list(dict.fromkeys(indicators))
    else:
        chosen = loaded
    caveats: list[str] = []
    note = caveat_note(ds, "lsoa")
    if note:
        caveats.append(note)

    # headline: the area's row of each indicator's stored flags at its own geography
    rows = []
    for key in loaded:
        ind = get_indicator(key)
        try:
            f = stored_flags(ds, key, kind)
        except HiexploreError as err:
            rows.append({"indicator": key, "label": ind.short_name, "programme": ind.programme, "error": str(err)})
            continue
        r = f[f["area_code"].astype(str) == code]
        if r.empty:
            rows.append({"indicator": key, "label": ind.short_name, "programme": ind.programme,
                         "error": f"no figure for this {AREA_KINDS[kind]} in {f['period'].iloc[0] if len(f) else '?'}"})
            continue
        row = r.iloc[0].to_dict()
        row.update(indicator=key, label=ind.short_name, programme=ind.programme, unit=ind.unit,
                   polarity=ind.polarity, error="",
                   age_mark=f.attrs.get("age_mark", "") if _is_true(row.get("out_of_date")) else "",
                   suppressed=(f.attrs.get("suppressed") or {}).get("text") if isinstance(f.attrs.get("suppressed"), dict) else None)
        rows.append(row)
    headline = pd.DataFrame(rows)
    details: list[str] = []  # the long notes, listed in full under "What is modelled or estimated"
    stale = sorted({str(r["label"]) for r in rows if r.get("age_mark")})
    if stale:
        caveats.append(f"OUT OF DATE: {', '.join(stale)} (period ended more than 2 years before the newest in "
                       "the dataset); marked wherever shown.")
    estimates = sorted({str(r.get("estimate_note")) for r in rows
                        if _text(r.get("estimate_note")) and r.get("estimate_note") != "published figure"})
    if estimates:
        caveats.append(f"The {AREA_KINDS[kind]}'s own figures are: " + "; ".join(estimates) + ".")
    supp = sorted({str(r["suppressed"]) for r in rows if r.get("suppressed")})
    if supp:
        caveats.append(f"SUPPRESSED counts: {len(supp)} indicator(s) have practices with fewer than 5 eligible, "
                       "left out of neighbourhood and area sums (see What is modelled or estimated).")
        details += [f"Suppressed: {x}" for x in supp]

    lsoas = area_lsoas(ds, code, kind)
    # targets: LSOA-level ranked list across the chosen indicators, the area's neighbourhoods
    targets = pd.DataFrame()
    targets_notes: list[str] = []
    try:
        all_targets = stored_targets(ds, chosen, "lsoa")
        targets = all_targets[all_targets["area_code"].astype(str).isin(set(lsoas))].reset_index(drop=True)
        targets.attrs = dict(all_targets.attrs)
        if all_targets.attrs.get("period_note"):
            targets_notes.append("The list mixes periods (each indicator's latest): see What is modelled or estimated.")
            details.append(str(all_targets.attrs["period_note"]))
    except HiexploreError as err:
        targets_notes.append(f"No target list: {err}")
    neighbourhoods = _neighbourhoods(ds, lsoas, targets)
    ranked = neighbourhoods[neighbourhoods["flagged"]].head(TOP_TARGETS)
    map_svg = _map_svg(ds, neighbourhoods, ranked)

    # the focus: chosen indicators with the most people to reach in the area
    reach = {k: float(targets.get(f"{k}_people_to_reach", pd.Series(dtype=float)).fillna(0).sum()) for k in chosen}
    focus = sorted(chosen, key=lambda k: (-reach[k], chosen.index(k)))[:MAX_FOCUS]

    trends, trends_note = _trends(ds, loaded, kind, code)
    patches, patches_note = _patches(ds, chosen, lsoas)
    practices, practices_notes = _practices(ds, code, kind, lsoas, focus)
    gradients, gradient_notes = _gradients(ds, focus, lsoas)
    return BriefingPack(
        dataset_name=ds.name, area_code=code, area_name=name, kind=kind,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), indicators=chosen, focus=focus,
        headline=headline, not_loaded=list(ds.manifest.get("indicators_not_loaded") or []),
        trends=trends, trends_note=trends_note, neighbourhoods=neighbourhoods, map_svg=map_svg,
        targets=ranked, targets_notes=[t for t in targets_notes if t], patches=patches, patches_note=patches_note,
        practices=practices, practices_notes=practices_notes, gradients=gradients, gradient_notes=gradient_notes,
        caveats=caveats, details=details, sources=source_table(ds.manifest), provenance=ds.provenance_line(), synthetic=ds.synthetic,
    )


def _neighbourhoods(ds: Dataset, lsoas: Sequence[str], targets: pd.DataFrame) -> pd.DataFrame:
    """The area's LSOAs with their name, IMD decile and targets row (0 people where not flagged)."""
    base = pd.DataFrame({"area_code": list(lsoas)})
    names = ds.lookup.drop_duplicates("lsoa_code").set_index("lsoa_code")["lsoa_name"]
    base["area_name"] = base["area_code"].map(names)
    cols = ["area_code", "priority_rank", "indicators_flagged", "people_to_reach", "indicators", "reasons", "imd_decile",
            "core20", "out_of_date", "period_end", "value_note", "flagged"]
    if len(targets):
        base = base.merge(targets[[c for c in cols if c in targets]], on="area_code", how="left")
    for c in cols:
        if c not in base:
            base[c] = np.nan
    base["flagged"] = base["flagged"].fillna(False).astype(bool)
    base["people_to_reach"] = base["people_to_reach"].where(base["flagged"], 0.0).fillna(0.0)
    base["most_to_reach"] = _most_to_reach(targets, base["area_code"])
    base = base.sort_values(["flagged", "priority_rank"], ascending=[False, True]).reset_index(drop=True)
    # the rank among this area's neighbourhoods (the map's numbers); priority_rank is the dataset's
    base["rank_here"] = pd.array(np.where(base["flagged"], np.arange(1, len(base) + 1), np.nan), dtype="Int64")
    return base


def _most_to_reach(targets: pd.DataFrame, codes: pd.Series, top: int = 3) -> list[str]:
    """Per area, the flagged indicators with the most people to reach: "MMR1 at 24 months 12; ..."."""
    keys = list(targets.attrs.get("indicators") or [])
    if targets.empty or not keys:
        return [""] * len(codes)
    t = targets.set_index("area_code")
    out = []
    for code in codes:
        if code not in t.index:
            out.append("")
            continue
        r = t.loc[code]
        items = [(float(r.get(f"{k}_people_to_reach") or 0), k) for k in keys if _is_true(r.get(f"{k}_flagged"))]
        items.sort(key=lambda x: -x[0])
        text = "; ".join(f"{get_indicator(k).short_name} {n:,.0f}" for n, k in items[:top])
        out.append(text + (f"; and {len(items) - top} more" if len(items) > top else ""))
    return out


def _trends(ds: Dataset, keys: Sequence[str], kind: str, code: str) -> tuple[dict[str, pd.DataFrame], str]:
    """Each indicator's series for the area (:func:`hiexplore.trends.trend_series`: its periods of
    the latest period's kind, with England's; ``attrs`` carry the recent trend), where built."""
    try:
        from .trends import trend_series
    except ImportError:
        return {}, "Trends are not available in this build of hiexplore (hiexplore.trends is missing)."
    out: dict[str, pd.DataFrame] = {}
    for key in keys:
        try:
            s = trend_series(ds, key, kind, code)
        except HiexploreError:
            continue
        if s is not None and len(s) > 1:
            out[key] = s
    note = ("Recent trend: Fingertips' chi-squared test for trend in proportions over the 5 latest periods "
            "of the same kind (99.9% level); figures below a PCN or ICB are apportioned estimates.")
    if not out:
        note = "No indicator has more than one period for this area in this dataset."
    return out, note


def _in_background(fn: Callable[[], Any]) -> Future:
    """Run ``fn`` in a daemon thread (never keeps the process alive); its result as a Future."""
    fut: Future = Future()

    def run() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(fn())
        except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the Future
            fut.set_exception(err)

    threading.Thread(target=run, name="hiexplore-brief-patches", daemon=True).start()
    return fut


def _patches(ds: Dataset, keys: Sequence[str], lsoas: Sequence[str]) -> tuple[pd.DataFrame | None, str]:
    """Outreach patches (:func:`hiexplore.patches.build_patches`) touching the area's LSOAs."""
    try:
        from .patches import build_patches
    except ImportError:
        return None, "Patches are not available in this build of hiexplore (hiexplore.patches is missing)."
    from .dataset import derived

    # the dataset's patches, once per loaded dataset and indicators (every area's pack shares them),
    # built in a background thread and waited for PATCH_SECONDS: max-p can take minutes on a large
    # connected set of flagged areas, and the pack must not hang on it (a later pack gets them)
    job = derived(ds, "_brief_patches_cache", tuple(keys),
                  lambda: _in_background(lambda: build_patches(ds, list(keys), geography="lsoa")), keep=2)
    try:
        p = job.result(timeout=PATCH_SECONDS)
    except FutureTimeout:
        return None, (f"Patches for these indicators were not ready after {PATCH_SECONDS:g} s (max-p is still "
                      "grouping the flagged neighbourhoods; a pack made later in this session includes them, "
                      "and `hiexplore patches` lists them).")
    except HiexploreError as err:
        return None, f"No patches: {err}"
    except (KeyError, ValueError, IndexError) as err:  # said, never silent: the rest of the pack stands
        return None, f"Patches could not be built for this dataset ({type(err).__name__}: {err})."
    if p is None or len(p) == 0:
        return None, "No patch meets the patch rules in this dataset."
    inside = set(lsoas)

    def codes(v: Any) -> list[str]:
        if isinstance(v, str):
            return [c.strip() for c in re.split(r"[,;\s]+", v) if c.strip()]
        return [str(c) for c in (v if v is not None else [])]

    frame = pd.DataFrame(p.drop(columns="geometry", errors="ignore"))
    hit = frame[[bool(set(codes(v)) & inside) for v in frame["area_codes"]]].copy()
    if hit.empty:
        return None, "No patch touches this area's neighbourhoods."
    hit["lsoas_here"] = [len(set(codes(v)) & inside) for v in hit["area_codes"]]
    hit["lsoas"] = [len(codes(v)) for v in hit["area_codes"]]
    alone = hit[hit["singleton"].map(_is_true)] if "singleton" in hit else hit.iloc[0:0]
    hit = hit.drop(index=alone.index).sort_values("people_to_reach", ascending=False)
    note = ""
    if len(hit) > TOP_PATCHES:
        note = f"{len(hit) - TOP_PATCHES} more patches touch this area (hiexplore patches lists them all). "
    if len(alone):
        names = [_text(x) for x in alone.sort_values("people_to_reach", ascending=False)["area_names"]]
        more = f" and {len(names) - 12} more" if len(names) > 12 else ""
        note += (f"{len(alone)} flagged neighbourhood(s) here join no patch (no flagged neighbour within reach, or "
                 f"fewer than the floor's people to reach): {', '.join(names[:12])}{more}.")
    return (hit.head(TOP_PATCHES).reset_index(drop=True) if len(hit) else None), note.strip()


def _practices(ds: Dataset, code: str, kind: str, lsoas: Sequence[str],
               focus: Sequence[str]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    from .derived import stored_flags
    from .practice_compare import compare_practices

    members = area_practices(ds, code, kind, lsoas)
    out: dict[str, pd.DataFrame] = {}
    notes: dict[str, str] = {}
    for key in focus:
        try:
            data = compare_practices(ds, key, flags=stored_flags(ds, key, "practice"))
        except HiexploreError as err:
            notes[key] = f"No practice comparison: {err}"
            continue
        sel = data[data["area_code"].isin(set(members["practice_code"]))].copy()
        sel["share"] = sel["area_code"].map(members.set_index("practice_code")["share"])
        sel = sel.sort_values("value", na_position="last")
        more = len(sel) - MAX_PRACTICES
        note = []
        if more > 0:
            note.append(f"{more} more of the {len(sel)} practices are in `hiexplore practices`.")
        left = data.attrs.get("funnel_left_out") or {}
        if isinstance(left, dict) and left.get("text"):
            note.append(str(left["text"]))
        if data.attrs.get("age_mark") and data.attrs.get("out_of_date"):
            note.append(f"OUT OF DATE: {data.attrs['age_mark']}.")
        sel = sel.head(MAX_PRACTICES)
        sel.attrs = dict(data.attrs)
        out[key] = sel
        notes[key] = " ".join(note)
    if not len(members):
        notes["_"] = f"No practice of this dataset is in or serves this {AREA_KINDS[kind]}."
    return out, notes


def _gradients(ds: Dataset, focus: Sequence[str], lsoas: Sequence[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    from .flags import area_deprivation
    from .inequality_report import inequality_report

    dep = area_deprivation(ds, "lsoa", pd.Series(list(lsoas), dtype=str))
    here = dep["imd_decile"].dropna().astype(int).value_counts().to_dict() if len(dep) else {}
    out: dict[str, dict[str, Any]] = {}
    notes: dict[str, str] = {}
    for key in focus:
        try:
            rep = inequality_report(ds, key, "lsoa")
        except HiexploreError as err:
            notes[key] = f"No gradient: {err}"
            continue
        rep["area_lsoas_by_group"] = {int(k): int(v) for k, v in here.items()}
        out[key] = rep
    return out, notes


def source_table(manifest: dict[str, Any]) -> pd.DataFrame:
    """The manifest's sources grouped by publisher and title: periods, licence, files.

    Every source is listed (none left out); the quarterly files of one table share a row
    with their range of periods.
    """
    from .dataset import _period_sort_key

    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for src in manifest.get("sources", []) or []:
        key = (str(src.get("publisher", "?")), str(src.get("title", "?")), str(src.get("licence", "?")))
        g = groups.setdefault(key, {"periods": set(), "files": []})
        g["periods"].add(str(src.get("period", "?")))
        g["files"].append(str(src.get("file", "?")))
    rows = []
    for (publisher, title, licence), g in groups.items():
        ps = sorted(g["periods"], key=_period_sort_key)
        rows.append({"publisher": publisher, "title": title,
                     "period": ps[0] if len(ps) == 1 else f"{ps[0]} to {ps[-1]} ({len(ps)} periods)",
                     "licence": licence, "files": "; ".join(g["files"])})
    return pd.DataFrame(rows, columns=["publisher", "title", "period", "licence", "files"])


# ---------------------------------------------------------------------------------------------
# drawing (inline SVG: numbers and fixed words only; names stay in the HTML around it)


def _map_svg(ds: Dataset, hoods: pd.DataFrame, ranked: pd.DataFrame) -> str:
    """The area's LSOAs coloured by people to reach (5 quantile classes of the flagged ones),
    the top targets numbered by rank; British National Grid, north up, with a scale bar."""
    areas: gpd.GeoDataFrame = ds.areas[(ds.areas["area_type"] == "lsoa")
                                       & ds.areas["area_code"].isin(set(hoods["area_code"]))]
    if areas.empty:
        return ""
    g = areas[["area_code", "geometry"]].to_crs(27700)
    g = g.merge(hoods[["area_code", "people_to_reach", "flagged"]], on="area_code", how="left")
    minx, miny, maxx, maxy = g.total_bounds
    span = max(maxx - minx, maxy - miny, 1.0)
    g["geometry"] = g.geometry.simplify(span / 800)
    scale = min(MAP_WIDTH / max(maxx - minx, 1.0), MAP_HEIGHT / max(maxy - miny, 1.0))
    pad = 10.0

    def xy(x: float, y: float) -> str:
        return f"{pad + (x - minx) * scale:.1f},{pad + (maxy - y) * scale:.1f}"

    flagged = g.loc[g["flagged"].fillna(False).astype(bool), "people_to_reach"].to_numpy(float)
    bins = _class_bins(flagged)
    parts = []
    for geom, ptr, flag in zip(g.geometry, g["people_to_reach"], g["flagged"], strict=True):
        colour = PALETTE[_class_of(float(ptr), bins)] if _is_true(flag) and bins else NOT_FLAGGED
        d = []
        polys = getattr(geom, "geoms", [geom])
        for poly in polys:
            for ring in [poly.exterior, *poly.interiors]:
                pts = list(ring.coords)
                d.append("M" + " L".join(xy(x, y) for x, y, *_ in pts) + " Z")
        parts.append(f'<path d="{" ".join(d)}" fill="{colour}" stroke="#666" stroke-width="0.4" fill-rule="evenodd"/>')
    outline = g.geometry.union_all() if hasattr(g.geometry, "union_all") else g.geometry.unary_union
    d = []
    for poly in getattr(outline, "geoms", [outline]):
        if hasattr(poly, "exterior"):
            d.append("M" + " L".join(xy(x, y) for x, y, *_ in poly.exterior.coords) + " Z")
    parts.append(f'<path d="{" ".join(d)}" fill="none" stroke="#222" stroke-width="1.2"/>')
    pos = g.set_index("area_code").geometry.representative_point()
    placed: list[tuple[float, float]] = []
    for rank, code in zip(ranked["rank_here"], ranked["area_code"], strict=True):
        if code in pos.index and pd.notna(rank):
            p = pos[code]
            x0, y0_ = (float(v) for v in xy(p.x, p.y).split(","))
            x, y = _free_spot(x0, y0_, placed)
            placed.append((x, y))
            if (x, y) != (x0, y0_):  # moved off a crowded spot: a leader line to its area
                parts.append(f'<circle cx="{x0:.1f}" cy="{y0_:.1f}" r="1.6" fill="#000"/>'
                             f'<line x1="{x0:.1f}" y1="{y0_:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#000" stroke-width="0.6"/>')
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="#fff" stroke="#000" stroke-width="0.8"/>'
                         f'<text x="{x:.1f}" y="{y + 3.5:.1f}" font-size="10" text-anchor="middle">{int(rank)}</text>')
    # scale bar: a round number of km about a fifth of the width
    km = max(0.5, _round_km((maxx - minx) / 5000))
    bar = km * 1000 * scale
    y0 = pad + (maxy - miny) * scale + 14
    parts.append(f'<line x1="{pad}" y1="{y0:.1f}" x2="{pad + bar:.1f}" y2="{y0:.1f}" stroke="#000" stroke-width="2"/>'
                 f'<text x="{pad + bar + 4:.1f}" y="{y0 + 4:.1f}" font-size="11">{km:g} km</text>'
                 f'<text x="{pad + (maxx - minx) * scale:.1f}" y="{y0 + 4:.1f}" font-size="11" text-anchor="end">N \u2191</text>')
    legend = _legend_svg(bins, x=pad, y=y0 + 24)
    total_h = y0 + 26 + LEGEND_STEP * (len(bins) + 1 if bins else 1) + 8
    width = pad * 2 + (maxx - minx) * scale
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {max(width, 300):.0f} {total_h:.0f}" '
            f'width="{max(width, 300):.0f}" height="{total_h:.0f}" role="img" '
            f'aria-label="Map of the area\'s neighbourhoods coloured by people to reach">'
            + "".join(parts) + legend + "</svg>")


def _free_spot(x: float, y: float, placed: list[tuple[float, float]], gap: float = 17.0) -> tuple[float, float]:
    """(x, y), or the nearest spot on rings around it where a rank label overlaps no other."""
    if all(math.hypot(x - a, y - b) >= gap for a, b in placed):
        return x, y
    for ring in range(1, 6):
        for step in range(8 * ring):
            ang = 2 * math.pi * step / (8 * ring)
            cx, cy = x + ring * gap * math.cos(ang), y + ring * gap * math.sin(ang)
            if all(math.hypot(cx - a, cy - b) >= gap for a, b in placed):
                return cx, cy
    return x, y


def _round_km(x: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 20, 50):
        if x <= step:
            return float(step)
    return float(round(x, -1))


def _class_bins(values: np.ndarray) -> list[float]:
    """Upper bounds of up to 5 quantile classes (mapclassify), empty without flagged areas."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return []
    import mapclassify

    k = int(min(5, len(np.unique(values))))
    if k < 2:
        return [float(values.max())]
    return [float(b) for b in mapclassify.Quantiles(values, k=k).bins]


def _class_of(value: float, bins: list[float]) -> int:
    for i, b in enumerate(bins):
        if value <= b:
            return min(i, len(PALETTE) - 1)
    return min(len(bins) - 1, len(PALETTE) - 1)


def _legend_svg(bins: list[float], *, x: float, y: float) -> str:
    parts = [f'<text x="{x}" y="{y - 6}" font-size="11" font-weight="bold">People to reach</text>'
             f'<text x="{x}" y="{y + 4}" font-size="9">flagged neighbourhoods, summed over the chosen indicators</text>']
    y += 8
    lo = None
    for i, b in enumerate(bins):
        yy = y + 6 + LEGEND_STEP * i
        label = f"up to {b:,.0f}" if lo is None else f"over {lo:,.0f} to {b:,.0f}"
        parts.append(f'<rect x="{x}" y="{yy}" width="16" height="13" fill="{PALETTE[min(i, 4)]}" stroke="#666" stroke-width="0.4"/>'
                     f'<text x="{x + 22}" y="{yy + 11}" font-size="11">{label}</text>')
        lo = b
    yy = y + 6 + LEGEND_STEP * len(bins)
    parts.append(f'<rect x="{x}" y="{yy}" width="16" height="13" fill="{NOT_FLAGGED}" stroke="#666" stroke-width="0.4"/>'
                 f'<text x="{x + 22}" y="{yy + 11}" font-size="11">not flagged</text>')
    return "".join(parts)


def _gradient_svg(rep: dict[str, Any]) -> str:
    """Bars of uptake by IMD decile (1 = most deprived) with 95% CI whiskers, the area's
    LSOA count per decile under each bar."""
    groups = rep["groups"]
    if not groups:
        return ""
    w, hgt, left, bottom = 460.0, 190.0, 36.0, 40.0
    top_v = max(100.0, max(g["upper_ci_95"] for g in groups))
    lo_v = max(0.0, math.floor(min(g["lower_ci_95"] for g in groups) / 10) * 10 - 10)
    bw = (w - left - 10) / len(groups)

    def yv(v: float) -> float:
        return 10 + (hgt - 10 - bottom) * (1 - (v - lo_v) / (top_v - lo_v))

    here = rep.get("area_lsoas_by_group", {})
    parts = []
    for t in np.linspace(lo_v, top_v, 5):
        parts.append(f'<line x1="{left}" x2="{w - 10}" y1="{yv(t):.1f}" y2="{yv(t):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{yv(t) + 3:.1f}" font-size="8" text-anchor="end">{t:.0f}</text>')
    for i, g in enumerate(groups):
        x = left + i * bw + 3
        colour = MARK_COLOUR if here.get(g["group"]) else BAR_COLOUR
        parts.append(f'<rect x="{x:.1f}" y="{yv(g["value"]):.1f}" width="{bw - 6:.1f}" height="{yv(lo_v) - yv(g["value"]):.1f}" fill="{colour}"/>')
        cx = x + (bw - 6) / 2
        parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{yv(g["lower_ci_95"]):.1f}" y2="{yv(g["upper_ci_95"]):.1f}" stroke="#000"/>')
        parts.append(f'<text x="{cx:.1f}" y="{hgt - bottom + 12:.1f}" font-size="8" text-anchor="middle">{g["group"]}</text>')
        if here.get(g["group"]):
            parts.append(f'<text x="{cx:.1f}" y="{hgt - bottom + 22:.1f}" font-size="7" text-anchor="middle" fill="{MARK_COLOUR}">{here[g["group"]]}</text>')
    by = "IMD decile" if rep.get("by") == "imd_decile" else "IMD quintile"
    parts.append(f'<text x="{(w + left) / 2:.0f}" y="{hgt - 4:.0f}" font-size="9" text-anchor="middle">'
                 f'{by} (1 = most deprived); orange: deciles with this area\'s neighbourhoods (count under the bar)</text>')
    parts.append(f'<text x="10" y="{(hgt - bottom) / 2:.0f}" font-size="9" transform="rotate(-90 10 {(hgt - bottom) / 2:.0f})" '
                 'text-anchor="middle">uptake %</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {hgt:.0f}" width="{w:.0f}" height="{hgt:.0f}" '
            f'role="img" aria-label="Bar chart of uptake by deprivation">' + "".join(parts) + "</svg>")


def _spark_svg(values: Sequence[float], england: Sequence[float]) -> str:
    """A small line of the area's values (blue) and England's (grey, dashed) over the periods."""
    v = np.asarray(values, float)
    e = np.asarray(england, float)
    both = np.concatenate([v[np.isfinite(v)], e[np.isfinite(e)]])
    if len(v) < 2 or len(both) == 0:
        return ""
    lo, hi = float(both.min()), float(both.max())
    hi = hi if hi > lo else lo + 1
    w, hgt = 120.0, 28.0

    def line(a: np.ndarray, colour: str, dash: str = "") -> str:
        pts = [f"{4 + i * (w - 8) / (len(a) - 1):.1f},{hgt - 4 - (x - lo) / (hi - lo) * (hgt - 8):.1f}"
               for i, x in enumerate(a) if np.isfinite(x)]
        if len(pts) < 2:
            return ""
        return f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>'

    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {hgt:.0f}" width="{w:.0f}" height="{hgt:.0f}" '
            'role="img" aria-label="Trend line">' + line(e, "#888", ' stroke-dasharray="3,2"') + line(v, BAR_COLOUR) + "</svg>")


# ---------------------------------------------------------------------------------------------
# the document


_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-left { content: "hiexplore briefing pack: " string(area); font-family: "DejaVu Sans", sans-serif;
    font-size: 7pt; color: #555; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-family: "DejaVu Sans", sans-serif;
    font-size: 7pt; color: #555; } }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 8.5pt; color: #111;
  line-height: 1.35; max-width: 1100px; margin: 0 auto; padding: 0 8px; }
h1 { font-size: 17pt; margin: 0 0 2px 0; string-set: area content(); }
h2 { font-size: 12.5pt; margin: 14px 0 4px 0; border-bottom: 2px solid #0072b2; padding-bottom: 2px;
  break-after: avoid; }
h3 { font-size: 10pt; margin: 10px 0 3px 0; break-after: avoid; }
p { margin: 3px 0; }
ul { margin: 3px 0; padding-left: 16px; }
.sub { color: #444; margin-bottom: 6px; }
.key { margin: 6px 0; }
.key div { display: inline-block; vertical-align: top; width: 30%; border: 1px solid #bbb; padding: 4px 8px;
  margin: 0 4px 4px 0; border-radius: 3px; }
.key b { font-size: 14pt; display: block; }
.warn { border-left: 4px solid #d55e00; background: #fff4ec; padding: 3px 8px; margin: 3px 0; }
.note { color: #444; font-size: 7.5pt; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; font-size: 7.5pt; }
th { background: #e8eef4; text-align: left; font-weight: bold; }
th, td { border: 1px solid #ccc; padding: 2px 4px; vertical-align: top; }
tr { break-inside: avoid; }
td.n { text-align: right; white-space: nowrap; }
.flag { color: #b30000; font-weight: bold; }
.old { color: #8a4b00; font-weight: bold; }
.side { display: flex; gap: 10px; align-items: flex-start; }
.side > .mapbox { flex: 0 0 48%; }
.side > .tablebox { flex: 1 1 0; min-width: 0; }
.mapbox svg { width: 100%; height: auto; }
.chart svg { width: 70%; height: auto; }
.files { overflow-wrap: anywhere; word-break: break-all; }
@media print { h2.newpage { break-before: page; } .side { display: block; } .side > .mapbox { width: 72%; margin: 0 auto; } }
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; headers are fixed words, cells are already-escaped HTML."""
    head = "".join(f"<th scope=\"col\">{h(x)}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _value_cell(r: dict[str, Any]) -> str:
    """"74.0% (72.6-75.4)", or the publisher's note (a suppressed figure has no interval)."""
    note = _text(r.get("value_note"))
    if note:
        return h(note)
    if _num(r.get("value")) == "-":
        return "no figure"
    return f"{_num(r.get('value'))}% ({_num(r.get('lower_ci_95'))}-{_num(r.get('upper_ci_95'))})"


def _render_html(p: BriefingPack) -> str:
    kind = AREA_KINDS[p.kind]
    out: list[str] = []
    add = out.append
    add("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
    add(f"<title>Briefing pack: {h(p.area_name)} ({h(p.area_code)})</title>")
    add("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    add(f"<style>{_CSS}</style></head><body>")
    add(f"<h1>{h(p.area_name)}</h1>")
    add(f"<p class=\"sub\">Briefing pack for the {h(kind)} {h(p.area_code)} · dataset {h(p.dataset_name)} · "
        f"made {h(p.generated)} by hiexplore</p>")
    if p.synthetic:
        add("<p class=\"warn\"><b>SYNTHETIC demo data: not real figures.</b></p>")
    head = p.headline
    n_flagged = int(head["flagged"].map(_is_true).sum()) if "flagged" in head else 0
    hoods = p.neighbourhoods
    n_flag_hoods = int(hoods["flagged"].sum()) if len(hoods) else 0
    add("<div class=\"key\">"
        f"<div><b>{p.people_to_reach:,.0f}</b>people to reach in its flagged neighbourhoods</div>"
        f"<div><b>{n_flag_hoods} of {len(hoods)}</b>neighbourhoods (LSOAs) flagged</div>"
        f"<div><b>{n_flagged} of {len(head)}</b>indicators flagged for the {h(kind)} as a whole</div>"
        "</div>")
    add("<p class=\"note\">People to reach: how many more eligible people would have to take part for a "
        "neighbourhood to reach each indicator's target (the standard's achievable level), summed over the "
        f"{len(p.indicators)} indicator(s) chosen for targets where it is flagged (a child due several vaccines "
        "counts once for each).</p>")
    for c in p.caveats:
        add(f"<p class=\"warn\">{h(c)}</p>")

    # --- headline figures
    add("<h2>Headline figures, every loaded indicator</h2>")
    rows, why = [], []
    for r in head.to_dict("records"):
        label = f"{h(r['label'])}<br><span class=\"note\">{h(r['programme'])}</span>"
        if _text(r.get("error")):
            rows.append([label, "", f"<i>{h(r['error'])}</i>", "", "", "", "", "", ""])
            continue
        old = "<br><span class=\"old\">OUT OF DATE</span>" if r.get("age_mark") else ""
        flagged = _is_true(r.get("flagged"))
        if flagged:
            why.append(f"<li><b>{h(r['label'])}</b>: {h(r.get('reasons'))}</li>")
        rows.append([
            label, h(r.get("period")) + old, _value_cell(r), f"{_num(r.get('benchmark_value'))}%",
            h(r.get("vs_benchmark")), h(r.get("standard_band")), h(r.get("trend")),
            _num(r.get("people_to_reach"), "{:,.0f}"), "<span class=\"flag\">FLAGGED</span>" if flagged else "no",
        ])
    add(_table(["indicator", "period", f"{kind} value (95% CI)", "England", "vs England", "standard",
                "recent trend", "people to reach", "flagged"], rows, numeric=(3, 7)))
    if why:
        add("<p><b>Why flagged</b></p><ul>" + "".join(why) + "</ul>")
    for item in p.not_loaded:
        add(f"<p class=\"note\">Not loaded: {h(item.get('indicator'))} ({h(item.get('note', ''))}). Shown as not "
            f"loaded, never as zero; load {h(item.get('load_with', ''))}.</p>")

    # --- trends
    add("<h2>Trends</h2>")
    if p.trends:
        rows = []
        for key, s in p.trends.items():
            periods = [str(x) for x in s["period"]]
            vals = [float(x) if pd.notna(x) else float("nan") for x in s["value"]]
            eng = [float(x) if pd.notna(x) else float("nan") for x in s.get("england", pd.Series([np.nan] * len(s)))]
            rows.append([h(get_indicator(key).short_name), h(f"{periods[0]} to {periods[-1]}") + f" ({len(periods)})",
                         f"{_num(vals[0])}% to {_num(vals[-1])}%",
                         h(s.attrs.get("trend", "")) + (f"<br><span class=\"note\">{h(s.attrs.get('trend_periods'))}</span>"
                                                        if s.attrs.get("trend_periods") else ""),
                         _spark_svg(vals, eng)])
        add(_table(["indicator", "periods", "first to latest", "recent trend", f"{kind} (blue), England (grey dashes)"],
                   rows))
    if p.trends_note:
        add(f"<p class=\"note\">{h(p.trends_note)}</p>")

    # --- map and targets
    add("<h2 class=\"newpage\">Neighbourhoods and top targets</h2>")
    add(f"<p>Neighbourhoods (LSOA 2021) of the {h(kind)}"
        + (" (the LSOAs whose registered residents are mostly with its practices)" if p.kind == "pcn" else "")
        + ", coloured by people to reach; the numbers on the map are the ranks in the table.</p>")
    trows = []
    for r in p.targets.to_dict("records"):
        old = " <span class=\"old\">OUT OF DATE figures</span>" if _is_true(r.get("out_of_date")) else ""
        vn = f"<br><span class=\"note\">{h(r.get('value_note'))}</span>" if _text(r.get("value_note")) else ""
        trows.append([f"{_num(r.get('rank_here'), '{:.0f}')}<br><span class=\"note\">({_num(r.get('priority_rank'), '{:.0f}')})</span>",
                      f"{h(r.get('area_name'))}<br><span class=\"note\">{h(r.get('area_code'))}</span>",
                      _num(r.get("people_to_reach"), "{:,.0f}"), _num(r.get("imd_decile"), "{:.0f}"),
                      f"{_num(r.get('indicators_flagged'), '{:.0f}')}", f"{h(r.get('most_to_reach'))}{old}{vn}"])
    table = (_table(["rank here (in dataset)", "neighbourhood", "people to reach", "IMD decile", "indicators flagged",
                     "most people to reach on"],
                    trows, numeric=(0, 2, 3, 4))
             if trows else "<p>No neighbourhood of this area is flagged on the chosen indicators.</p>")
    add(f"<div class=\"side\"><div class=\"mapbox\">{p.map_svg}</div><div class=\"tablebox\">" + table
        + "".join(f"<p class=\"note\">{h(t)}</p>" for t in p.targets_notes) + "</div></div>")
    add(f"<p class=\"note\">Map and list: {h(p.provenance)} Boundaries: ONS (OGL v3), contains OS data © Crown "
        "copyright and database right. Figures are apportioned estimates (see What is modelled or estimated).</p>")

    # --- patches
    add("<h2>Outreach patches</h2>")
    if p.patches is not None and len(p.patches):
        add("<p class=\"note\">Contiguous groups of flagged neighbourhoods a team can cover in a day (at least 150 "
            "people to reach, at most 3 km across; max-p regionalisation, hiexplore.patches), those touching this "
            "area, most people to reach first; a patch may reach over its border.</p>")
        rows = []
        for r in p.patches.to_dict("records"):
            alone = _is_true(r.get("singleton"))
            label = f"{h(r.get('patch_id'))} (rank {_num(r.get('rank'), '{:.0f}')})" + (" alone" if alone else "")
            old = " <span class=\"old\">OUT OF DATE figures</span>" if _is_true(r.get("out_of_date")) else ""
            rows.append([label, f"{r['lsoas_here']} of {r['lsoas']}", _num(r.get("people_to_reach"), "{:,.0f}"),
                         _num(r.get("span_km"), "{:.1f} km"),
                         f"{h(r.get('reason', ''))}{old}<br><span class=\"note\">{h(r.get('area_names'))}</span>",
                         f"<span class=\"note\">{h(r.get('practices'))}</span>"])
        add(_table(["patch", "its LSOAs in this area", "people to reach", "across", "why (neighbourhoods)",
                    "practices"], rows, numeric=(1, 2, 3)))
    if p.patches_note:
        add(f"<p class=\"note\">{h(p.patches_note)}</p>")

    # --- practices
    add("<h2>Practices against England and their peers</h2>")
    add(f"<p class=\"note\">For the {len(p.focus)} indicator(s) with the most people to reach here, lowest uptake "
        "first. Rank in PCN and rank among peers (practices of the same IMD quintile of registered population) are "
        "over every practice of the dataset, 1 = highest uptake; funnel: position against the funnel plot's "
        "control limits (Spiegelhalter 2005). Practice figures are as published.</p>")
    if "_" in p.practices_notes:
        add(f"<p>{h(p.practices_notes['_'])}</p>")
    for key, sel in p.practices.items():
        ind = get_indicator(key)
        period = str(sel["period"].iloc[0]) if len(sel) and "period" in sel else ""
        eng = _num(sel["benchmark_value"].iloc[0]) if len(sel) else "-"
        old = " <span class=\"old\">OUT OF DATE</span>" if sel.attrs.get("out_of_date") else ""
        add(f"<h3>{h(ind.short_name)}, {h(period)}{old} (England {eng}%)</h3>")
        rows = []
        for r in sel.to_dict("records"):
            flag = " <span class=\"flag\">flagged</span>" if _is_true(r.get("flagged")) else ""
            rows.append([
                f"{h(r.get('practice_name'))}<br><span class=\"note\">{h(r.get('area_code'))} · {h(r.get('pcn_name'))}</span>",
                _value_cell(r), h(r.get("vs_benchmark")) + flag,
                f"{_num(r.get('rank_in_pcn'), '{:.0f}')} of {_num(r.get('pcn_size'), '{:.0f}')}",
                f"{_num(r.get('rank_among_peers'), '{:.0f}')} of {_num(r.get('peers'), '{:.0f}')}",
                h(r.get("funnel")), _num(r.get("people_to_reach"), "{:,.0f}"),
            ])
        add(_table(["practice", "uptake (95% CI)", "vs England", "rank in PCN", "rank among peers", "funnel",
                    "people to reach"], rows, numeric=(6,)) if rows else "<p>No practice figures here.</p>")
        if p.practices_notes.get(key):
            add(f"<p class=\"note\">{h(p.practices_notes[key])}</p>")
    for key, text in p.practices_notes.items():
        if key != "_" and key not in p.practices:
            add(f"<p class=\"note\">{h(get_indicator(key).short_name)}: {h(text)}</p>")

    # --- gradient
    add("<h2>The inequality gradient</h2>")
    add("<p class=\"note\">Uptake by deprivation across all the dataset's neighbourhoods (the context this "
        "area sits in; orange bars are the deciles of its own neighbourhoods), with the slope (SII) and relative "
        "(RII) indices of inequality (OHID method). Neighbourhood figures are apportioned estimates.</p>")
    for rep in p.gradients.values():
        old = " <span class=\"old\">OUT OF DATE</span>" if rep.get("age_mark") else ""
        add(f"<h3>{h(rep['indicator_name'])}, {h(rep['period'])}{old}</h3>")
        add(f"<div class=\"chart\">{_gradient_svg(rep)}</div>")
        add(f"<p>SII {rep['sii']:.2f} percentage points (95% CI {rep['sii_lower']:.2f} to {rep['sii_upper']:.2f}); "
            f"RII {rep['rii']:.3f} (95% CI {rep['rii_lower']:.3f} to {rep['rii_upper']:.3f}): {h(rep['direction'])}.</p>")
    for key, text in p.gradient_notes.items():
        add(f"<p class=\"note\">{h(get_indicator(key).short_name)}: {h(text)}</p>")
    if p.gradients:
        add(f"<p class=\"note\">{h(next(iter(p.gradients.values()))['sign_convention'])}</p>")

    # --- modelled / estimated and sources
    add("<h2>What is modelled or estimated</h2><ul>")
    for c in p.caveats + p.details:
        add(f"<li>{h(c)}</li>")
    add("<li>Neighbourhood (LSOA), ward and LAD figures are apportioned from GP practice figures through practice catchments; "
        "PCN and ICB figures sum their practices. COVER publishes no numerator: numerators are estimated from the "
        "denominator and the published percentage.</li></ul>")
    add("<h2>Sources</h2>")
    rows = [[h(r["publisher"]), f"{h(r['title'])}<br><span class=\"note files\">{h(r['files'])}</span>", h(r["period"]),
             h(r["licence"])] for r in p.sources.to_dict("records")]
    add(_table(["publisher", "title (files)", "period (date)", "licence"], rows))
    add(f"<p class=\"note\">{h(p.provenance)}</p>")
    add("</body></html>")
    return "\n".join(out)


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's URL fetcher: data: URIs only; the pack never reaches outside the file."""
    if url.startswith("data:"):
        from weasyprint import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"the briefing pack fetches nothing outside the file (refused {url[:80]!r})")


def _write_pdf(html_doc: str, path: Path) -> Path:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as err:  # OSError: Pango missing (apt-get install libpango-1.0-0)
        raise HiexploreError(f"Cannot write {path}: WeasyPrint is not usable here ({err}).") from err
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html_doc, url_fetcher=_refuse_fetch, base_url=None).write_pdf(str(path))
    return path


def write_briefing(pack: BriefingPack, out: str | Path) -> Path:
    """Write ``pack`` as HTML or PDF, chosen by the suffix of ``out`` (.html or .pdf)."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in BRIEF_FORMATS:
        raise RequestError(f"--out {str(out)!r}: a briefing pack is written as .html or .pdf, got {suffix or 'no suffix'!r}.",
                           valid=list(BRIEF_FORMATS))
    if suffix == ".pdf":
        return pack.pdf(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pack.html(), encoding="utf-8")
    return path
