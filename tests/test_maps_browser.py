"""A saved map draws in a real browser with the network cut off (only file:// and 127.0.0.1).

This is the check that matters for users on locked-down machines: the HTML test proves no
external links remain; this one proves Leaflet really runs from the inlined copy.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore import maps

CHROMIUM = Path("/usr/bin/chromium")
LLR_LSOA = ("boundaries", "geographr_ons_bsc", "llr_lsoa21_bsc.geojson")

pytestmark = pytest.mark.browser


def _allowed(url: str) -> bool:
    return url.startswith(("file:", "data:", "about:", "blob:")) or url.split("://", 1)[
        -1
    ].startswith("127.0.0.1")


@pytest.mark.parametrize("tiles", [None, "osm"])
def test_llr_map_renders_offline(tmp_path: Path, tiles: str | None) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

    areas = gpd.read_file(shared_path(*LLR_LSOA)).rename(
        columns={"lsoa21_code": "area_code", "lsoa21_name": "area_name"}
    )
    rng = np.random.default_rng(7)
    values = pd.DataFrame(
        {"area_code": areas["area_code"], "value": rng.uniform(50, 90, len(areas))}
    )
    values["flagged"] = values["value"] < 56
    m = maps.choropleth(
        areas,
        values,
        title="Offline check",
        units="%",
        source_line="Source: synthetic",
        synthetic_or_modelled_note="Synthetic data",
        tiles=tiles,
        made_on=dt.date(2025, 1, 1),
    )
    page_path = maps.save_map(m, tmp_path / "llr.html")

    blocked: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})

            def route(r) -> None:
                if _allowed(r.request.url):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.resolve().as_uri())
            page.wait_for_selector("path.leaflet-interactive", timeout=15_000)
            n_paths = page.locator("path.leaflet-interactive").count()
            legend = page.locator(".hx-legend").inner_text()
            title = page.locator(".hx-title").inner_text()
            page.screenshot(path=str(tmp_path / "llr.png"))
        finally:
            browser.close()

    assert not errors, errors
    assert n_paths >= len(areas)  # every area drawn (plus the flagged outlines)
    assert "Units: %" in legend and "No data" in legend and "Source: synthetic" in legend
    assert "Synthetic data" in title and "Synthetic data" in legend
    if tiles is None:
        assert blocked == []  # nothing at all was fetched from the network
    else:
        assert blocked and all("tile.openstreetmap.org" in u for u in blocked)
