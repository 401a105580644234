"""Issue 13.5 (without a browser): the app's text colour passes WCAG AA, wherever the app is started,
and a map shown in the app names its frame and keeps its shapes out of the Tab order.

The browser half (axe-core on every page, the table beside each map by keyboard) is
tests/test_a11y_browser.py.
"""

from __future__ import annotations

import doctest
import json
import re
import tomllib
from pathlib import Path

import folium
import pytest

from hiexplore import a11y
from hiexplore.a11y import (
    AA_NORMAL_TEXT,
    FADED_TEXT_OPACITY,
    TEXT_COLOUR,
    blend,
    contrast_ratio,
    label_map_frame,
    theme_flags,
)
from hiexplore.cli import app_command
from hiexplore.maps import literal_root, map_to_html
from hiexplore.safe_text import PAYLOADS

REPO = Path(__file__).resolve().parents[1]
# Streamlit 1.67's light-theme backgrounds a caption can sit on: the page, the sidebar, widgets
# and code spans (#fafafa), the sidebar's widgets.
BACKGROUNDS = ("#ffffff", "#f8f8f7", "#fafafa", "#f1f0ee")


def test_contrast_doctests_reproduce_the_published_figures() -> None:
    assert doctest.testmod(a11y).failed == 0


def test_contrast_ratio_is_symmetric_and_bounded() -> None:
    for fg, bg in (("#0b0c0c", "#ffffff"), ("#828180", "#f8f8f7"), ("#123456", "#123456")):
        r = contrast_ratio(fg, bg)
        assert r == pytest.approx(contrast_ratio(bg, fg))
        assert 1.0 <= r <= 21.0
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected a colour like"):
        contrast_ratio("grey", "#ffffff")


def test_streamlit_default_caption_fails_aa_and_ours_passes_on_every_background() -> None:
    """Why the theme is set: the default caption grey is 3.9:1; ours is at least 4.5:1 everywhere."""
    default = blend("#2f2d2b", "#ffffff", FADED_TEXT_OPACITY)
    assert contrast_ratio(default, "#ffffff") < AA_NORMAL_TEXT
    for bg in BACKGROUNDS:
        caption = blend(TEXT_COLOUR, bg, FADED_TEXT_OPACITY)
        assert contrast_ratio(caption, bg) >= AA_NORMAL_TEXT, (bg, caption)


def test_config_toml_and_hiexplore_app_carry_the_same_theme() -> None:
    """.streamlit/config.toml is read only when the app starts from the repository folder;
    ``hiexplore app`` passes the same theme on the command line so it holds from anywhere."""
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["theme"] == a11y.THEME
    cmd = app_command(REPO / "app.py", 8615, "127.0.0.1")
    i = cmd.index("--theme.textColor")
    assert cmd[i + 1] == TEXT_COLOUR
    assert theme_flags() == ["--theme.textColor", TEXT_COLOUR]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"  # the rest is unchanged


def _labelled_map_html(label: str) -> str:
    m = folium.Map(location=[52.6, -1.1], zoom_start=10, tiles=None)
    literal_root(m)
    folium.GeoJson({"type": "FeatureCollection", "features": []}).add_to(m)
    return map_to_html(label_map_frame(m, label))


def test_map_frame_script_names_the_frame_and_untabs_shapes() -> None:
    page = _labelled_map_html("Map of MMR1 by LSOA: the table beside it lists the same areas")
    assert "setAttribute('aria-label', \"Map of MMR1 by LSOA: the table beside it lists the same areas\")" in page
    assert "setAttribute('tabindex', '-1')" in page
    assert "window.frameElement" in page  # a saved map (no frame) keeps its shapes tabbable


@pytest.mark.parametrize("payload", PAYLOADS)
def test_map_frame_label_from_file_text_stays_text(payload: str) -> None:
    """Area and indicator names reach the label: escaped script JSON that reads back as the same
    text, neither markup, a script break-out nor a template."""
    label = f"Map of T{payload}T"
    page = _labelled_map_html(label)
    literal = re.search(r"setAttribute\('aria-label', (\"(?:[^\"\\]|\\.)*\")\)", page).group(1)
    assert json.loads(literal) == label
    assert not re.search(r"[<>'`]|\{\{|\{%|\$\{|%\{", literal)
    assert "T49T" not in page


def test_map_frame_label_says_where_the_table_is() -> None:
    assert a11y.map_frame_label("MMR1, 2024/25 Q2", "wards") == (
        "Map of MMR1, 2024/25 Q2 by wards: the table below it lists the same areas")
    assert a11y.map_frame_label("patches", "patch", table="beside", lists="the same patches").endswith(
        "the table beside it lists the same patches")
    with pytest.raises(ValueError, match="one of below, beside, got 'above'"):
        a11y.map_frame_label("x", "LSOAs", table="above")


def test_map_component_names_its_frame_and_untabs_shapes() -> None:
    """The app's map component (static/mapview.js) does what label_map_frame does for folium maps:
    the values' label names the frame (as text: setAttribute and document.title, never markup)
    and every SVG shape gets tabindex -1 as it is added; the map container stays a Tab stop."""
    js = (REPO / "src" / "hiexplore" / "static" / "mapview.js").read_text(encoding="utf-8")
    name = re.search(r"function nameFrame\(label\) \{(.*?)\n  \}", js, re.S).group(1)
    assert "f.setAttribute('aria-label', label)" in name and "document.title = label" in name
    assert "innerHTML" not in name
    assert "nameFrame(vals.label)" in js and "map.on('layeradd', function (e) { untab(e.layer); })" in js
    assert "el.setAttribute('tabindex', '-1')" in js and "keyboard: true" in js
