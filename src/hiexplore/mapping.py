"""Maps of a dataset: the one function behind ``hiexplore map`` and the app's map explorer.

The composition layer, and the only map module that knows a dataset: it reads the figures
(the stored flags, :func:`hiexplore.derived.stored_flags`, or deprivation deciles), turns them
into :class:`hiexplore.map_values.MapValues` (:func:`layer_values`) and hands them with the
boundaries to a builder that only draws: :func:`hiexplore.maps.draw_choropleth` (SVG) or
:func:`hiexplore.maps_national.draw_zoom_map` (canvas, zoom-switching), so that the static HTML
map for a report and the interactive page draw the same thing. Imports go one way:
``mapping -> maps_national -> maps -> map_values``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .catalogue import get_indicator, standard_for
from .dataset import Dataset, derived
from .errors import RequestError
from .map_values import MapValues
from .map_values import map_values as _map_values

if TYPE_CHECKING:  # pragma: no cover
    from .maps_national import ZoomLevel

__all__ = [
    "LAYERS", "MAP_GEOGRAPHIES", "DEPRIVATION_MEASURES", "map_values", "layer_values", "indicator_map",
    "national_indicator_map", "uses_zoom_levels", "zoom_chain", "caveat_note", "area_at",
]

LAYERS = ("uptake", "deprivation", "flags")
MAP_GEOGRAPHIES = ("lsoa", "msoa", "ward", "lad", "pcn")
DEPRIVATION_MEASURES = (
    "imd", "income", "employment", "education", "health", "crime", "barriers", "living_environment",
    "idaci", "idaopi",
)


def caveat_note(ds: Dataset, geography: str, *, apportioned: bool = True) -> str | None:
    """The synthetic / modelled / partial warning that must travel with a figure, or None.

    ``apportioned=False`` for figures that do not come through the catchments (deprivation
    deciles): the modelled-catchments sentence does not apply to them.
    """
    notes = []
    if ds.synthetic:
        notes.append("SYNTHETIC demo data: not real figures.")
    damaged = (ds.manifest or {}).get("damaged_files") or []
    if damaged:  # counted, not named: file names are user text and this note is shown as markdown
        notes.append(
            f"PARTIAL: this dataset was built without {len(damaged)} damaged source file(s) (listed on "
            "the Data page and by `hiexplore info`); its figures lack their data."
        )
    if apportioned and ds.catchment_source == "modelled" and geography not in ("practice",):
        notes.append(
            "Neighbourhood figures are estimates apportioned from GP practices through MODELLED "
            "catchments (spatial interaction model), not observed registrations."
        )
    return " ".join(notes) or None


def map_values(
    ds: Dataset,
    indicator: str | None,
    geography: str,
    *,
    layer: str = "uptake",
    period: str | None = None,
    edition: int | None = None,
    measure: str = "imd",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Values to colour each area by, and the legend's words (title, units, thresholds...)."""
    if layer not in LAYERS:
        raise RequestError(f"Unknown layer {layer!r}.", valid=list(LAYERS))
    if geography not in MAP_GEOGRAPHIES:
        raise RequestError(f"Unknown map geography {geography!r}.", valid=list(MAP_GEOGRAPHIES))
    if layer == "deprivation":
        from .flags import area_deprivation

        dep: pd.DataFrame = ds.deprivation
        editions = sorted(dep["edition"].unique())
        ed = int(edition or editions[-1])
        if ed not in editions:
            raise RequestError(f"IoD edition {ed} is not in this dataset.", valid=[str(e) for e in editions])
        areas = ds.areas
        codes = areas.loc[areas["area_type"] == geography, "area_code"]
        if measure != "imd" or geography == "lsoa":
            col = f"{measure}_decile"
            if col not in dep.columns:
                raise RequestError(f"Deprivation measure {measure!r} is not in this dataset.",
                                   valid=[c[:-7] for c in dep.columns if c.endswith("_decile")])
            d = dep[dep["edition"] == ed].set_index("lsoa_code")
            if geography == "lsoa":
                vals = pd.DataFrame({"area_code": codes, "value": codes.map(d[col]).to_numpy()})
            else:
                lk = ds.lookup[["lsoa_code", f"{geography}_code"]] if geography != "pcn" else None
                if lk is None:
                    raise RequestError("Domain deciles are mapped at LSOA, MSOA, ward or LAD level.",
                                       valid=["lsoa", "msoa", "ward", "lad"])
                lk = lk.assign(v=lk["lsoa_code"].map(d[col]))
                mean = lk.groupby(f"{geography}_code")["v"].mean()
                vals = pd.DataFrame({"area_code": codes, "value": codes.map(mean).round().to_numpy()})
        else:
            dd = area_deprivation(ds, geography, codes)
            vals = pd.DataFrame({"area_code": codes.to_numpy(), "value": dd["imd_decile"].to_numpy()})
        vals["area_name"] = vals["area_code"].map(areas.drop_duplicates("area_code").set_index("area_code")["area_name"])
        label = "IMD" if measure == "imd" else measure.replace("_", " ").title() + " domain"
        title = f"{label} decile, English Indices of Deprivation {ed}"
        legend_title = f"{label} decile (IoD{ed})"
        if geography != "lsoa":  # not an MHCLG measure: say what it is (see la_deprivation for theirs)
            how = ("decile of the population-weighted mean LSOA rank" if measure == "imd"
                   else "mean of its LSOAs' deciles, rounded")
            title = f"{label}: {how} (not an MHCLG measure), English Indices of Deprivation {ed}"
            legend_title = f"{label}, {how} (IoD{ed})"
        legend = {
            "title": title,
            "units": "decile (1 = most deprived 10% of England)",
            "scheme": "equal_interval",
            "k": 10 if vals["value"].nunique() > 5 else 5,
            "higher_is_better": True,
            "legend_title": legend_title,
            "thresholds": None,
            "period": f"IoD{ed}",
        }
        return vals, legend
    if indicator is None:
        raise RequestError("Choose an indicator.", valid=list(ds.indicator_keys()))
    from .derived import stored_flags

    ind = get_indicator(indicator)
    geo = geography
    flags = stored_flags(ds, indicator, geo, period)
    period = str(flags["period"].iloc[0])
    std = standard_for(indicator, period)
    vals = flags.copy()
    mark = flags.attrs.get("age_mark") if flags.attrs.get("out_of_date") else ""
    legend = {
        "title": f"{ind.name}, {period}" + (f" · {mark}" if mark else ""),
        "units": "% of eligible population",
        "scheme": "quantiles",
        "k": 5,
        "higher_is_better": ind.higher_is_better,
        "legend_title": f"{ind.short_name} (%)",
        "thresholds": (
            {"acceptable": std.acceptable, "achievable": std.achievable} if std and std.acceptable else None
        ),
        "period": period,
        "age_mark": mark or None,
    }
    if layer == "flags":
        legend["legend_title"] = f"{ind.short_name} (%): flagged areas outlined"
    return vals, legend


def layer_values(
    ds: Dataset,
    indicator: str | None,
    geography: str,
    *,
    layer: str = "uptake",
    period: str | None = None,
    scheme: str | None = None,
    k: int | None = None,
    palette: str = "viridis",
    edition: int | None = None,
    measure: str = "imd",
    values: pd.DataFrame | None = None,
) -> MapValues:
    """One layer of a dataset as :class:`~hiexplore.map_values.MapValues`, over all of the
    geography's areas: the figures (stored flags, never computed here, or ``values`` the app
    already holds), classes, colours and the legend's words (units, period, out-of-date mark,
    sources, the synthetic / modelled / partial caveat)."""
    vals, legend = map_values(ds, indicator, geography, layer=layer, period=period, edition=edition,
                              measure=measure)
    if values is not None:  # the app passes flags it already holds
        vals = values
    vals = layer_columns(vals, layer)
    areas = ds.areas
    codes = areas.loc[(areas["area_type"] == geography) & areas.geometry.notna() & ~areas.geometry.is_empty,
                      "area_code"].astype(str)
    return _map_values(
        vals, codes=codes, **legend_arguments(legend, scheme, k), palette=palette,
        source_line=map_source_line(ds), note=caveat_note(ds, geography, apportioned=layer != "deprivation"),
        period=legend.get("period"), age_mark=legend.get("age_mark"),
        tooltip_fields=tooltip_fields([vals]),
        flagged_label="Flagged for action",
    )


def uses_zoom_levels(ds: Dataset, geography: str) -> bool:
    """Whether ``geography`` is drawn as the zoom-switching map (more than
    ``maps_national.ZOOM_MAP_THRESHOLD`` areas: one SVG layer of that many takes seconds)."""
    from .maps_national import ZOOM_MAP_THRESHOLD

    return int((ds.areas["area_type"] == geography).sum()) > ZOOM_MAP_THRESHOLD


def indicator_map(
    ds: Dataset,
    indicator: str | None,
    geography: str = "lsoa",
    *,
    layer: str = "uptake",
    period: str | None = None,
    scheme: str | None = None,
    k: int | None = None,
    palette: str = "viridis",
    show_practices: bool = True,
    edition: int | None = None,
    measure: str = "imd",
    tiles: str | None = None,
    values: pd.DataFrame | None = None,
    zoom_levels: bool | None = None,
) -> Any:
    """A folium map of one layer for a dataset, with legend, sources, caveats and tooltips.

    ``zoom_levels``: draw the zoom-switching canvas map of :func:`national_indicator_map`
    (local authorities, then MSOAs, then LSOAs as one zooms in). ``None`` (the default) does so
    by itself when ``geography`` has more than ``maps_national.ZOOM_MAP_THRESHOLD`` (5,000)
    areas, as a national LSOA or MSOA map has; one SVG layer of that many areas would take
    seconds to draw.
    """
    from .maps import draw_choropleth

    if zoom_levels is None:
        zoom_levels = uses_zoom_levels(ds, geography)
    if zoom_levels:
        return national_indicator_map(
            ds, indicator, geography, layer=layer, period=period, scheme=scheme, k=k,
            palette=palette, show_practices=show_practices, edition=edition, measure=measure,
            tiles=tiles, values=values,
        )
    mv = layer_values(ds, indicator, geography, layer=layer, period=period, scheme=scheme, k=k,
                      palette=palette, edition=edition, measure=measure, values=values)
    areas = ds.areas
    polys = areas[areas["area_type"] == geography][["area_code", "area_name", "geometry"]]
    return draw_choropleth(polys, mv, practices=map_practices(ds) if show_practices else None, tiles=tiles)


def zoom_chain(
    ds: Dataset,
    indicator: str | None,
    geography: str,
    *,
    layer: str = "uptake",
    period: str | None = None,
    scheme: str | None = None,
    k: int | None = None,
    palette: str = "viridis",
    edition: int | None = None,
    measure: str = "imd",
    values: pd.DataFrame | None = None,
    levels: Sequence[ZoomLevel] | None = None,
) -> list[tuple[ZoomLevel, Any, MapValues]]:
    """Each zoom level's areas and values, coarsest first, on the finest level's classes.

    Each level's figures are the dataset's own for that geography (local authorities, MSOAs,
    LSOAs: stored flags, never computed here); ``values`` (what the app already holds) stand
    for the requested geography. The coarser levels draw no cluster dashes.
    """
    from .maps_national import levels_for

    chain = tuple(levels) if levels is not None else levels_for(geography)
    if chain[-1].geography != geography:
        raise RequestError(
            f"The last zoom level must be the mapped geography {geography!r}.",
            valid=[lv.geography for lv in chain],
        )
    areas_all = ds.areas
    finest = layer_values(ds, indicator, geography, layer=layer, period=period, scheme=scheme, k=k,
                          palette=palette, edition=edition, measure=measure, values=values)
    wide = replace(finest, tooltip_fields=tuple(TOOLTIP_FIELDS))
    out = []
    for lv in chain:
        polys = areas_all[areas_all["area_type"] == lv.geography][["area_code", "area_name", "geometry"]]
        if polys.empty:
            continue
        if lv.geography == geography:
            out.append((lv, polys, finest))
            continue
        vals = _coarse_values(ds, indicator, lv.geography, layer=layer, period=period, edition=edition,
                              measure=measure)
        out.append((lv, polys, wide.on_breaks(layer_columns(vals, layer), polys["area_code"].astype(str))))
    if not out or out[-1][0].geography != geography:
        raise RequestError(f"The dataset has no {geography} boundaries to map.")
    return out


def _coarse_values(ds: Dataset, indicator: str | None, geography: str, *, layer: str, period: str | None,
                   edition: int | None, measure: str) -> pd.DataFrame:
    """A coarser zoom level's own figures (stored flags or deprivation), without cluster dashes."""
    if layer == "deprivation" or geography == "lad":
        vals, _ = map_values(ds, indicator, geography, layer=layer, period=period, edition=edition, measure=measure)
    else:
        from .derived import stored_flags

        if indicator is None:
            raise RequestError("Choose an indicator.", valid=list(ds.indicator_keys()))
        vals = stored_flags(ds, indicator, geography, period)  # computed once per dataset
    return vals.drop(columns=["cluster"]) if "cluster" in vals else vals


def national_indicator_map(
    ds: Dataset,
    indicator: str | None,
    geography: str = "lsoa",
    *,
    layer: str = "uptake",
    period: str | None = None,
    scheme: str | None = None,
    k: int | None = None,
    palette: str = "viridis",
    show_practices: bool = True,
    edition: int | None = None,
    measure: str = "imd",
    tiles: str | None = None,
    values: pd.DataFrame | None = None,
    levels: Sequence[ZoomLevel] | None = None,
) -> Any:
    """:func:`indicator_map` for national sizes: the zoom-switching map of :func:`zoom_chain`.

    The simplified geometry is kept on the dataset object, so a second indicator or layer only
    re-colours.
    """
    from .maps_national import draw_zoom_map

    chain = zoom_chain(ds, indicator, geography, layer=layer, period=period, scheme=scheme, k=k,
                       palette=palette, edition=edition, measure=measure, values=values, levels=levels)
    cache = ds._zoom_geometry_cache  # the dataset's own field: geometry is the same for every map
    if len(cache) > 12:
        cache.clear()
    return draw_zoom_map(chain, practices=map_practices(ds) if show_practices else None, tiles=tiles,
                         geometry_cache=cache)


# --- what every map of a dataset shares (the classic and the national zoom map) -------------

#: extra tooltip lines, in order, where the mapped values have the column
TOOLTIP_FIELDS = (
    ("people_to_reach", "People to reach"),
    ("imd_decile", "IMD decile"),
    ("vs_benchmark", "vs benchmark"),
    ("standard_band", "Standard"),
    ("cluster", "Cluster"),
)


def layer_columns(values: pd.DataFrame, layer: str) -> pd.DataFrame:
    """The values without the columns a layer does not draw (flag outlines, cluster dashes)."""
    if layer != "flags" and "flagged" in values:
        values = values.drop(columns=["flagged"])
    if layer == "uptake" and "cluster" in values:
        values = values.drop(columns=["cluster"])
    return values


def tooltip_fields(frames: list[pd.DataFrame]) -> dict[str, str]:
    """Column -> label of the tooltip lines that any of the mapped frames can fill."""
    return {col: label for col, label in TOOLTIP_FIELDS if any(col in f for f in frames)}


def map_practices(ds: Dataset) -> pd.DataFrame:
    """GP practices with a location, as the maps draw them."""
    pr: pd.DataFrame = ds.practices
    return pr.dropna(subset=["latitude", "longitude"])[
        ["practice_code", "practice_name", "latitude", "longitude", "list_size"]
    ]


def map_source_line(ds: Dataset) -> str:
    """Sources, build date and the OS copyright line printed on every map."""
    manifest = ds.manifest
    source = ds.provenance_line(limit=2)
    return (f"{source} Built {str(manifest.get('created', ''))[:10]}. "
            "Contains OS data © Crown copyright and database right.")


def legend_arguments(legend: dict[str, Any], scheme: str | None, k: int | None) -> dict[str, Any]:
    """The choropleth arguments that :func:`map_values`' legend words decide."""
    return {
        "title": legend["title"],
        "units": legend["units"],
        "legend_title": legend["legend_title"],
        "scheme": scheme or legend["scheme"],
        "k": k or legend["k"],
        "thresholds": legend["thresholds"],
        "higher_is_better": legend["higher_is_better"],
    }


def area_at(ds: Dataset, geography: str, lat: float, lon: float) -> str | None:
    """The code of the ``geography`` area containing the point (WGS84 degrees), or None.

    What a click on a map means for the app: the national zoom map draws local authorities or
    MSOAs when zoomed out, so a click is resolved by location against the areas the user chose
    (not the shape drawn). The spatial index is built once per dataset and geography. Points on
    a shared boundary go to the first area found.
    """
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    areas = ds.areas

    def index_of_areas() -> tuple[np.ndarray, Any]:
        polys = areas[areas["area_type"] == geography]
        if polys.crs is not None and polys.crs.to_epsg() != 4326:
            polys = polys.to_crs(4326)
        return polys["area_code"].to_numpy(), polys.sindex

    codes, index = derived(ds, "_area_at_cache", (geography, id(areas), len(areas)), index_of_areas)
    from shapely.geometry import Point

    hits = index.query(Point(lon, lat), predicate="intersects")
    return str(codes[int(np.min(hits))]) if len(hits) else None
