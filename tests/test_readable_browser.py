"""Issue 13.4 in a real browser: each page opened once at 1440x900 (tables re-measured at
1280x720) on the embedded LLR data, asserting what a reader would trip on: a "Page not found"
notice on a direct link, tables cut at the right, key columns off screen, charts without their
legend, axes from 0 to 100, alt text printed as body text, truncated widget labels.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from test_e2e_app import CHROMIUM, _serve, _wait_idle

from hiexplore.charts import PRACTICE_CATEGORIES, TARGET_KEY_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedded_dataset: Path):
    yield from _serve(tmp_path_factory, embedded_dataset)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        pg = b.new_page(viewport={"width": 1440, "height": 900})
        yield pg
        b.close()


def _open(page, url: str, wait_for: str = "[data-testid=stMainBlockContainer] h1") -> None:
    page.goto(url)
    page.wait_for_selector(wait_for, timeout=120_000)
    _wait_idle(page)


def _cut_tables(page) -> list[dict]:
    """Dataframes whose content is wider than their box (a horizontal scroll would be needed)."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid=stDataFrame]')].map(d => {
        const sc = d.querySelector('.dvn-scroller');
        return {sw: sc ? sc.scrollWidth : 0, cw: sc ? sc.clientWidth : 0,
                head: [...d.querySelectorAll('[role=columnheader]')].map(h => h.textContent).slice(0, 3)};
    }).filter(t => t.sw > t.cw + 1)""")


def _truncated(page) -> list:
    """Widget labels, selected values and multiselect chips shown cut short (ellipsis or clipped)."""
    return page.evaluate("""() => [
      ...[...document.querySelectorAll('[data-testid=stMain] input[role=combobox]')]
         .filter(e => e.value && e.scrollWidth > e.clientWidth + 1).map(e => [e.value, e.scrollWidth, e.clientWidth]),
      ...[...document.querySelectorAll(['stSelectbox', 'stMultiSelect', 'stWidgetLabel', 'stCheckbox']
            .map(t => `[data-testid=stMain] [data-testid=${t}] *`).join(', '))]
         .filter(e => e.children.length == 0 && e.textContent.trim() && e.clientWidth > 0
                      && e.scrollWidth > e.clientWidth + 1)
         .map(e => [e.textContent.slice(0, 60), e.scrollWidth, e.clientWidth])]""")


def _no_truncation_at_both_sizes(page) -> None:
    for size in ({"width": 1440, "height": 900}, {"width": 1280, "height": 720}):
        page.set_viewport_size(size)
        time.sleep(1.0)
        assert _truncated(page) == [], size
    page.set_viewport_size({"width": 1440, "height": 900})
    time.sleep(0.5)


def _page_text(page) -> str:
    return page.locator("[data-testid=stMain]").inner_text()


def test_overview_direct_link_and_tables_not_cut(page, server) -> None:
    url, _ = server
    _open(page, f"{url}/overview")
    page.get_by_text("Headline inequality by programme").wait_for(timeout=60_000)
    assert page.get_by_role("heading", name=re.compile("hiexplore: health inequalities explorer")).is_visible()
    assert page.get_by_text("Page not found").count() == 0
    assert "does not seem to exist" not in page.content()
    page.locator("[data-testid=stDataFrame]").nth(2).wait_for(timeout=60_000)
    for size in ({"width": 1440, "height": 900}, {"width": 1280, "height": 720}):
        page.set_viewport_size(size)
        time.sleep(1.5)
        assert _cut_tables(page) == [], size
    page.set_viewport_size({"width": 1440, "height": 900})


def test_practices_caterpillar_has_its_three_category_legend(page, server) -> None:
    url, _ = server
    _open(page, f"{url}/practices?ind=cervical_screening_25_49&pcn=U30213", ".js-plotly-plot")
    _no_truncation_at_both_sizes(page)  # the indicator's name and a PCN's chip shown whole
    chart = page.locator(".js-plotly-plot").first
    legend = [t.strip() for t in chart.locator(".legendtext").all_text_contents()]
    assert legend == [c[0] for c in PRACTICE_CATEGORIES]
    notes = " ".join(chart.locator(".annotation-text").all_text_contents())
    assert "England" in notes and "acceptable" in notes
    funnel_legend = " ".join(page.locator(".js-plotly-plot").nth(1).locator(".legendtext").all_text_contents())
    assert "Pooled mean" in funnel_legend and "95% limits" in funnel_legend
    text = _page_text(page)
    assert "Alt text" not in text
    assert text.count("Sources:") == 3  # one source line per chart and table: caterpillar, funnel, table


def test_targets_key_columns_visible_and_map_legend_whole(page, server) -> None:
    url, _ = server
    _open(page, f"{url}/targets", "[data-testid=stDataFrame]")
    for size in ({"width": 1440, "height": 900}, {"width": 1280, "height": 720}):
        page.set_viewport_size(size)
        time.sleep(1.5)
        grid = page.locator("[data-testid=stDataFrame]").first
        heads = grid.locator("[role=columnheader]").all_text_contents()
        assert heads[:4] == [label for label, _ in TARGET_KEY_COLUMNS.values()], size
        box = grid.evaluate("d => d.querySelector('.dvn-scroller').clientWidth")
        assert box >= sum(w for _, w in TARGET_KEY_COLUMNS.values()), (size, box)
        assert _truncated(page) == [], size  # e.g. the Core20 checkbox's label, the indicators' chips
    page.set_viewport_size({"width": 1440, "height": 900})
    frame = page.frame_locator("iframe[title='streamlit_folium.st_folium']").first
    legend = frame.locator(".hx-legend")
    legend.wait_for(timeout=60_000)
    assert legend.evaluate("e => e.scrollHeight <= e.clientHeight + 1")  # no row cut by a scroll box
    box = legend.bounding_box()
    iframe = page.locator("iframe[title='streamlit_folium.st_folium']").first.bounding_box()
    assert box and iframe and box["y"] >= iframe["y"] and box["y"] + box["height"] <= iframe["y"] + iframe["height"] + 1
    assert frame.locator(".hx-legend").get_by_text("No data").count() == 1
    # a mouse wheel turned over the map scrolls the page (Leaflet's wheel zoom is off in pages)
    page.locator("iframe[title='streamlit_folium.st_folium']").first.scroll_into_view_if_needed()
    iframe = page.locator("iframe[title='streamlit_folium.st_folium']").first.bounding_box()
    main_scroll = "() => document.querySelector('[data-testid=stMain]').scrollTop"
    before = page.evaluate(main_scroll)
    page.mouse.move(iframe["x"] + iframe["width"] / 2, iframe["y"] + iframe["height"] / 2)
    page.mouse.wheel(0, 300)
    time.sleep(1.0)
    assert page.evaluate(main_scroll) > before + 100


def test_inequalities_axis_fits_and_no_alt_text_in_the_body(page, server) -> None:
    url, _ = server
    _open(page, f"{url}/inequalities?ind=mmr1_24m", ".js-plotly-plot")
    _no_truncation_at_both_sizes(page)
    chart = page.locator(".js-plotly-plot").first
    ticks = [float(t.replace("\u2212", "-")) for t in chart.locator(".ytick text").all_text_contents() if t.strip()]
    assert ticks and min(ticks) > 50 and max(ticks) <= 100  # fitted to the data, not 0-100
    legend = " ".join(chart.locator(".legendtext").all_text_contents())
    assert "England" in legend and "standard" in legend
    text = _page_text(page)
    assert "Alt text" not in text
    assert "population share %" in text or page.get_by_text("population share %").count()
