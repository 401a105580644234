"""Writers for flags and target lists: CSV, XLSX (data + metadata sheet), GeoJSON, GeoPackage.

The format follows the file extension, as geopandas' writers do. Figures keep full precision.
In CSV and XLSX, text cells that a spreadsheet would run as a formula (starting ``= + - @``, tab
or carriage return, judged after Unicode NFKC normalisation so that full-width ``＝ ＋ － ＠``
and other look-alikes are caught too) are neutralised with a leading apostrophe (OWASP "CSV
injection"). GeoJSON and GeoPackage are read by GIS software, not spreadsheets: their names are
written unchanged, byte for byte.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .dataset import Dataset
from .errors import RequestError

__all__ = [
    "FORMATS", "FORMULA_START", "looks_like_formula", "neutralise_formulas", "figure_notes", "metadata_rows",
    "write_table", "to_geoframe",
]

FORMATS = (".csv", ".xlsx", ".geojson", ".gpkg")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet could run as a formula, judged after NFKC normalisation.

    Why NFKC: spreadsheets and the tools between them fold compatibility characters, so a
    full-width ``＝`` (U+FF1D), ``＋``, ``－``, ``＠`` or a small ``﹦`` can become a real ``=``.

    >>> looks_like_formula("＝HYPERLINK(1)"), looks_like_formula("=1+1"), looks_like_formula("Leicester")
    (True, True, False)
    """
    return isinstance(value, str) and unicodedata.normalize("NFKC", value).startswith(FORMULA_START)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that start like a formula with an apostrophe; numbers are untouched.

    For CSV and XLSX only (see :func:`looks_like_formula`); the rest of the text is kept as
    it was, so a neutralised cell reads as the original with one apostrophe in front.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            mask = s.map(looks_like_formula)
            if mask.any():
                out[col] = s.where(~mask, "'" + s.astype(str))
    return out


def figure_notes(attrs: dict) -> list[tuple[str, str]]:
    """(field, sentence) pairs on the age and suppression of the figures, from a frame's attrs.

    What :func:`hiexplore.flags.compute_flags` / ``compute_targets`` record: "out of date"
    (period ...), "period warning" (a list mixing periods), "period end" and the rule, and
    "suppressed" (practices with fewer than 5 eligible and the eligible people they leave out).
    The CLI prints the same pairs, the metadata sheet and layer carry them.
    """
    rows: list[tuple[str, str]] = []
    if attrs.get("period_note"):
        rows.append(("period warning", str(attrs["period_note"])))
    if attrs.get("out_of_date"):
        rows.append(("out of date", str(attrs.get("age_mark") or "out of date")))
    if "period_end" in attrs:
        rows.append((
            "period end",
            f"{attrs.get('period_end')} (out of date: ended more than {attrs.get('out_of_date_years')} years "
            f"before the newest period in the dataset, {attrs.get('newest_period_end')})",
        ))
    if "periods" in attrs:
        rows.append(("periods by indicator", json.dumps(attrs["periods"], default=str)))
    suppressed = attrs.get("suppressed")
    for item in suppressed if isinstance(suppressed, list) else [suppressed] if suppressed else []:
        rows.append(("suppressed", str(item["text"])))
    if attrs.get("funnel_left_out", {}).get("text"):
        rows.append(("funnel", str(attrs["funnel_left_out"]["text"])))
    return rows


def metadata_rows(ds: Dataset | None, frame: pd.DataFrame, kind: str) -> list[tuple[str, str]]:
    """(field, value) pairs describing sources, periods, methods, thresholds and generation time."""
    rows: list[tuple[str, str]] = [
        ("generated", datetime.now(UTC).replace(microsecond=0).isoformat()),
        ("content", {"flags": "flags", "practices": "GP practice comparison (95% CIs, rank in PCN and "
                     "among practices of the same IMD quintile, funnel plot status)",
                     "patches": "outreach patches: contiguous groups of flagged neighbourhoods a team can "
                     "cover in a day, ranked (hiexplore.patches)"}.get(kind, "ranked outreach target list")),
    ]
    if ds is not None:
        man = ds.manifest
        rows.append(("dataset", str(man.get("name"))))
        if man.get("synthetic"):
            rows.append(("SYNTHETIC", "generated demo data: not real figures"))
        if man.get("damaged_files"):
            rows.append((
                "PARTIAL",
                "built without damaged source files (their data is missing): "
                + "; ".join(f"{d.get('file')} ({d.get('reason')})" for d in man["damaged_files"]),
            ))
        rows.append(("geography vintage", f"LSOA {man.get('geography_vintage')}"))
        rows.append(("catchments", str(man.get("catchments"))))
        if man.get("catchments") == "modelled":
            rows.append((
                "MODELLED",
                "neighbourhood figures are apportioned through MODELLED practice catchments "
                "(spatial interaction model), not observed registrations",
            ))
    if "imd_decile" in frame and "geography" in frame and (frame["geography"].astype(str) != "lsoa").any():
        rows.append((
            "imd_decile",
            "for areas other than LSOAs: the decile of the population-weighted mean LSOA IMD rank "
            "(registered patients for practices and PCNs), not an MHCLG measure; MHCLG's local "
            "authority summaries are in `hiexplore info`",
        ))
    if "indicator" in frame:
        rows.append(("indicators", ", ".join(sorted(frame["indicator"].astype(str).unique()))))
    if "period" in frame:
        rows.append(("periods", ", ".join(sorted(frame["period"].astype(str).unique()))))
    rows.append((
        "methods",
        "Wilson score intervals (95%, 99.8%; Wilson 1927, Newcombe & Altman 2000, OHID method); "
        "benchmark comparison as Fingertips (interval excludes benchmark); LSOA figures apportioned "
        "from GP practices by registered patients; aggregates sum numerators and denominators; "
        "expected uptake by cross-validated regression on deprivation and population mix; "
        "clusters by local Moran's I on empirical-Bayes rates (queen contiguity).",
    ))
    if "trend" in frame:
        from .stats.trend import TREND_METHOD

        periods = frame.attrs.get("trend_periods")
        rows.append((
            "trend",
            "trend, trend_points: " + str(frame.attrs.get("trend_method") or TREND_METHOD)
            + (f"; periods tested {periods}" if periods else "")
            + "; 'not enough points' where fewer than 5 of those periods have a usable figure"
            + ("; neighbourhood trends are of apportioned (estimated) figures"
               if "geography" in frame and frame["geography"].astype(str).isin(["lsoa", "msoa", "ward", "lad"]).any()
               else ""),
        ))
    for key in ("thresholds", "weights", "benchmark", "expected_model", "patches"):
        if key in frame.attrs:
            rows.append((key, json.dumps(frame.attrs[key], default=str)))
    rows.extend(figure_notes(frame.attrs))
    if ds is not None:
        for src in ds.manifest.get("sources", []):
            rows.append((
                "source",
                f"{src.get('title')} | {src.get('publisher')} | {src.get('period')} | "
                f"{src.get('licence')} | {src.get('file')} | sha256 {src.get('sha256')}",
            ))
    return rows


def to_geoframe(frame: pd.DataFrame, ds: Dataset) -> gpd.GeoDataFrame:
    """Attach geometry: area polygons, or practice points for the practice geography.

    A GeoDataFrame that has its own geometry (outreach patches: the union of their areas) keeps it.
    """
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        return frame.to_crs(4326) if frame.crs is not None else frame.set_crs(4326)
    geography = str(frame["geography"].iloc[0]) if "geography" in frame and len(frame) else "lsoa"
    if geography == "practice":
        pr = ds.practices.set_index("practice_code")
        lon = frame["area_code"].map(pr["longitude"])
        lat = frame["area_code"].map(pr["latitude"])
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    areas = ds.areas
    polys = areas[areas["area_type"] == geography].drop_duplicates("area_code").set_index("area_code")["geometry"]
    geom = frame["area_code"].map(polys)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom.to_numpy(), crs=4326), crs=4326)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.BooleanDtype) or out[col].dtype == bool:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif str(out[col].dtype) in ("Int64", "Float64"):
            out[col] = out[col].astype("float64")
    return out


def write_table(frame: pd.DataFrame, path: str | Path, *, ds: Dataset | None = None, kind: str = "flags") -> Path:
    """Write ``frame`` in the format named by the extension of ``path``."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise RequestError(f"Cannot write {p.name!r}: unknown file type {ext or '(none)'}.", valid=list(FORMATS))
    p.parent.mkdir(parents=True, exist_ok=True)
    plain = _plain(frame)
    plain.attrs = dict(frame.attrs)
    if ext in (".csv", ".xlsx") and isinstance(plain, gpd.GeoDataFrame):  # tables: no geometry
        plain = pd.DataFrame(plain.drop(columns=plain.geometry.name))
        plain.attrs = dict(frame.attrs)
    if ext == ".csv":
        safe = neutralise_formulas(plain)
        # CRLF rows: the csv writer then quotes any cell holding a bare \r, so a spreadsheet
        # cannot start a new row (or a formula) inside a cell
        safe.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    elif ext == ".xlsx":
        safe = neutralise_formulas(plain)
        meta = pd.DataFrame(metadata_rows(ds, frame, kind), columns=["field", "value"])
        with pd.ExcelWriter(p, engine="xlsxwriter", datetime_format="yyyy-mm-dd", date_format="yyyy-mm-dd") as xw:
            data = safe.replace({np.inf: np.nan, -np.inf: np.nan})
            data.to_excel(xw, sheet_name="data", index=False)
            neutralise_formulas(meta).to_excel(xw, sheet_name="metadata", index=False)
            ws = xw.sheets["data"]
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, len(data), len(data.columns) - 1)
            xw.sheets["metadata"].set_column(0, 0, 22)
            xw.sheets["metadata"].set_column(1, 1, 120)
    else:
        if ds is None:
            raise RequestError("A geographic export needs the dataset (for the boundaries).")
        gdf = to_geoframe(plain, ds)  # GIS formats: names unchanged
        gdf = gdf[gdf.geometry.notna()]
        if ext == ".geojson":
            if p.exists():
                p.unlink()
            gdf.to_file(p, driver="GeoJSON")
        else:
            if p.exists():
                p.unlink()
            gdf.to_file(p, driver="GPKG", layer=kind)
            meta = pd.DataFrame(metadata_rows(ds, frame, kind), columns=["field", "value"])
            gpd.GeoDataFrame(meta, geometry=[None] * len(meta), crs=4326).to_file(p, driver="GPKG", layer="metadata")
    return p
