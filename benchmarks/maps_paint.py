"""Map payload and first paint in headless Chromium: LLR-size and national maps.

Measures, for each map, the time to build the HTML page (Python), its size (the payload: one
offline file, Leaflet inlined), and in headless Chromium (Playwright, network cut off except
``file:``) the time from navigation start to the first paint of the areas:

* ``llr``: the classic choropleth (:func:`hiexplore.maps.choropleth`, SVG) of Leicester,
  Leicestershire and Rutland's 634 LSOAs (ONS super-generalised 2021 boundaries from
  ../shared/data; the synthetic demo's first 634 LSOAs if those are absent);
* ``national``: :func:`hiexplore.maps_national.zoom_choropleth` over all LSOAs of England and
  Wales (35,672; MSOAs 7,264; local authorities), ONS super-generalised boundaries - or the
  synthetic national demo's 33,755 hexagons if the boundaries are absent - first painted at
  the national view, then zoomed to LSOA level over Leicester (``national_zoom_lsoa``);
* ``national_demo``: the same map built from a dataset through
  :func:`hiexplore.mapping.indicator_map` (synthetic national demo; first and second build,
  the second reusing the simplified geometry);
* ``baseline_national`` (unless ``--no-baseline``): the issue's baseline, every LSOA in one
  folium GeoJSON layer with folium's defaults (SVG), Leaflet inlined.

"First paint" is when the areas are on screen: for the canvas maps, two animation frames after
the page's script added the first level (``window.hxPainted``); for SVG maps, two frames after
the first ``path.leaflet-interactive`` exists. Each map is loaded ``--runs`` times in a fresh
page and the median is reported.

Usage::

    python benchmarks/maps_paint.py [--json] [--no-baseline] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, machine, print_table  # noqa: E402

from hiexplore import maps  # noqa: E402
from hiexplore.maps_national import LEVELS, zoom_choropleth  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIEXPLORE_SHARED_DATA", REPO.parent / "shared" / "data"))
BSC = SHARED / "boundaries" / "geographr_ons_bsc"
CHROMIUM = Path("/usr/bin/chromium")
LLR_PAYLOAD_MB, LLR_PAINT_S, NATIONAL_PAINT_S = 2.0, 1.5, 3.0
LEICESTER = (52.636, -1.133)  # where the national map is zoomed to LSOA level


def _read(name: str, code: str, label: str) -> gpd.GeoDataFrame:
    g = gpd.read_file(BSC / name)
    return g.rename(columns={code: "area_code", label: "area_name"})[["area_code", "area_name", "geometry"]]


def _values(areas: gpd.GeoDataFrame, seed: int) -> pd.DataFrame:
    """Smooth synthetic uptake (so classes form regions, as real data do) with CIs and flags."""
    rng = np.random.default_rng(seed)
    pts = areas.geometry.representative_point()
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    value = 75 + 6 * np.sin(x * 3.1) + 5 * np.cos(y * 2.3) + rng.normal(0, 3, len(areas))
    half = rng.uniform(1.5, 6.0, len(areas))
    return pd.DataFrame({
        "area_code": areas["area_code"].to_numpy(),
        "value": value.round(2),
        "lower_ci_95": (value - half).round(2),
        "upper_ci_95": (value + half).round(2),
        "flagged": value + half < 70,
        "people_to_reach": rng.integers(0, 400, len(areas)),
    })


def paint(pages: Any, path: Path, runs: int, zoom_to: tuple[float, float, int] | None = None) -> dict[str, Any]:
    """Median first paint (s) of ``path`` over ``runs`` fresh pages; external requests blocked."""
    times, zooms, blocked, errors = [], [], [], []
    for _ in range(runs):
        page = pages.new_page(viewport={"width": 1280, "height": 800})

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(("file:", "data:", "about:", "blob:")):
                r.continue_()
            else:
                blocked.append(url)
                r.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.resolve().as_uri(), wait_until="commit", timeout=120_000)
        page.wait_for_function(
            "() => window.hxPainted !== undefined || document.querySelector('path.leaflet-interactive')",
            polling="raf", timeout=120_000,
        )
        t = page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() =>"
            " r(window.hxPainted !== undefined ? Math.min(window.hxPainted, performance.now())"
            " : performance.now()))))"
        )
        times.append(t / 1000.0)
        if zoom_to is not None:
            lat, lon, z = zoom_to
            t0 = page.evaluate(
                "([lat, lon, z]) => new Promise(r => { var t0 = performance.now();"
                " window.hxMap.setView([lat, lon], z, {animate: false});"
                " requestAnimationFrame(() => requestAnimationFrame(() => r([performance.now() - t0,"
                " window.hxMapLevel])))})",
                [lat, lon, z],
            )
            zooms.append((t0[0] / 1000.0, t0[1]))
        page.close()
    out: dict[str, Any] = {"first_paint_s": statistics.median(times), "runs": times,
                           "blocked_requests": len(blocked), "page_errors": errors[:3]}
    if zooms:
        out["zoom_paint_s"] = statistics.median(z for z, _ in zooms)
        out["zoom_level"] = zooms[0][1]
    return out


def _timed(func: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t


def build_maps(tmp: Path, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    made_on = dt.date(2025, 1, 1)
    results: dict[str, dict[str, Any]] = {}
    real = (BSC / "boundaries_lsoa21.gpkg").is_file() and (BSC / "llr_lsoa21_bsc.geojson").is_file()
    ds = None
    if not real or args.demo:
        from hiexplore.dataset import load_dataset
        from hiexplore.demo import NATIONAL_LSOAS, NATIONAL_PRACTICES, write_demo

        demo = tmp / "national"
        write_demo(demo, NATIONAL_LSOAS, NATIONAL_PRACTICES, 1)
        ds = load_dataset(demo)

    # warm up: the first map of a process pays folium's, mapclassify's and jinja's start-up
    if real:
        warm = _read("boundaries_ltla24.gpkg", "ltla24_code", "ltla24_name").head(5)
    else:
        warm = ds.areas[ds.areas["area_type"] == "lad"].head(5)  # type: ignore[union-attr]
    maps.map_to_html(maps.choropleth(warm, _values(warm, 0), title="warm-up", units="%",
                                     source_line="-", made_on=made_on))

    # --- LLR: the classic choropleth ---------------------------------------------------------
    if real:
        llr = gpd.read_file(BSC / "llr_lsoa21_bsc.geojson").rename(
            columns={"lsoa21_code": "area_code", "lsoa21_name": "area_name"})
        source = "ONS LSOA 2021 super-generalised boundaries (LLR)"
    else:
        a = ds.areas  # type: ignore[union-attr]
        llr = a[a["area_type"] == "lsoa"].head(634)
        source = "synthetic demo hexagons (first 634 LSOAs)"
    m, secs = _timed(lambda: maps.choropleth(
        llr, _values(llr, 1), title="Uptake (synthetic values)", units="%",
        source_line="Synthetic values", made_on=made_on))
    html, secs_html = _timed(lambda: maps.map_to_html(m))
    secs += secs_html
    path = tmp / "llr.html"
    path.write_text(html, encoding="utf-8")
    results["llr"] = {"features": len(llr), "build_s": secs, "payload_mb": path.stat().st_size / 1e6,
                      "path": path, "source": source}

    # --- national: zoom-switching canvas map ------------------------------------------------
    if real:
        lad = _read("boundaries_ltla24.gpkg", "ltla24_code", "ltla24_name")
        lad = lad[lad["area_code"].str[0].isin(["E", "W"])]
        msoa = _read("boundaries_msoa21.gpkg", "msoa21_code", "msoa21_name")
        lsoa = _read("boundaries_lsoa21.gpkg", "lsoa21_code", "lsoa21_name")
        source = "ONS 2021 super-generalised boundaries, England and Wales"
    else:
        a = ds.areas  # type: ignore[union-attr]
        lad, msoa, lsoa = (a[a["area_type"] == t] for t in ("lad", "msoa", "lsoa"))
        source = "synthetic national demo (hexagons)"
    levels = [(lv, g, _values(g, i)) for i, (lv, g) in enumerate(zip(LEVELS["lsoa"], (lad, msoa, lsoa), strict=True))]
    m, secs = _timed(lambda: zoom_choropleth(
        levels, title="Uptake (synthetic values)", units="%", source_line="Synthetic values",
        tooltip_fields={"people_to_reach": "People to reach"}, made_on=made_on))
    html, secs_html = _timed(lambda: maps.map_to_html(m))
    path = tmp / "national.html"
    path.write_text(html, encoding="utf-8")
    results["national"] = {"features": len(lsoa), "build_s": secs + secs_html,
                           "payload_mb": path.stat().st_size / 1e6, "path": path, "source": source,
                           "zoom_to": (*LEICESTER, 12)}

    # --- national through indicator_map (synthetic dataset) ---------------------------------
    if ds is not None:
        from hiexplore.mapping import indicator_map

        for run in ("national_demo", "national_demo_again"):
            m, secs = _timed(lambda: indicator_map(ds, "mmr1_24m", "lsoa"))
            html, secs_html = _timed(lambda m=m: maps.map_to_html(m))
            path = tmp / f"{run}.html"
            path.write_text(html, encoding="utf-8")
            results[run] = {"features": int((ds.areas["area_type"] == "lsoa").sum()),
                            "build_s": secs + secs_html, "payload_mb": path.stat().st_size / 1e6,
                            "path": path, "source": "synthetic national demo via indicator_map",
                            "paint": run == "national_demo"}

    # --- the baseline: one folium GeoJSON layer, folium defaults -------------------
    if not args.no_baseline:
        import folium

        def baseline() -> str:
            fm = folium.Map(location=[53.0, -1.5], zoom_start=6, tiles=None)
            folium.GeoJson(lsoa, name="LSOAs").add_to(fm)
            return maps.map_to_html(fm)

        html, secs = _timed(baseline)
        path = tmp / "baseline_national.html"
        path.write_text(html, encoding="utf-8")
        results["baseline_national"] = {"features": len(lsoa), "build_s": secs,
                                        "payload_mb": path.stat().st_size / 1e6, "path": path,
                                        "source": source}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    ap.add_argument("--no-baseline", action="store_true", help="skip the one-layer folium baseline")
    ap.add_argument("--demo", action="store_true",
                    help="also map the synthetic national demo through indicator_map")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", help="copy the HTML pages to this folder")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"headless Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    info = machine()
    with tempfile.TemporaryDirectory(prefix="hiexplore-maps-") as tmp_name:
        tmp = Path(tmp_name)
        results = build_maps(tmp, args)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
            )
            try:
                for name, r in results.items():
                    if r.get("paint") is False:
                        continue
                    runs = 1 if name.startswith("baseline") else args.runs
                    r.update(paint(browser, r["path"], runs, r.get("zoom_to")))
            finally:
                browser.close()
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for r in results.values():
                (keep / r["path"].name).write_bytes(r["path"].read_bytes())
    rows = []
    for name, r in results.items():
        fp = f"{r['first_paint_s']:.2f} s" if "first_paint_s" in r else "-"
        note = f"{r['features']:,} LSOAs; build {r['build_s']:.2f} s; {r['source']}"
        if "zoom_paint_s" in r:
            note += f"; zoom to {r['zoom_level']} at Leicester: {r['zoom_paint_s']:.2f} s"
        if r.get("blocked_requests"):
            note += f"; {r['blocked_requests']} external requests BLOCKED"
        rows.append((name, f"{r['payload_mb']:.2f} MB", f"first paint {fp}; {note}"))
    print_table(f"Map payload and first paint (headless Chromium, {info['cores']} cores, "
                f"{info['cpu']}, load {info['load_1min_at_start']})", rows)
    met = {
        "llr_payload": results["llr"]["payload_mb"] < LLR_PAYLOAD_MB,
        "llr_paint": results["llr"]["first_paint_s"] < LLR_PAINT_S,
        "national_paint": results["national"]["first_paint_s"] < NATIONAL_PAINT_S,
        "offline": all(not r.get("blocked_requests") for r in results.values()),
    }
    print("targets met: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in met.items()))
    if args.json:
        out = {name: {k: (str(v) if isinstance(v, Path) else v) for k, v in r.items() if k != "path"}
               for name, r in results.items()}
        emit({"maps": out, "met": met, "machine": info})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
