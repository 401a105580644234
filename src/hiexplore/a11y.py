"""Accessibility in one place: the app's text colour, the contrast check behind it, map frame names.

Streamlit draws captions, help text and placeholders in the theme's text colour at 60% opacity
("fadedText60"). With Streamlit's default text colour (#2f2d2b) that grey (#828180 on white) has a
contrast of 3.9:1, under WCAG 2's 4.5:1 for normal text, on every caption of every page (sources,
periods, suppression notes). hiexplore sets the theme's text colour to GOV.UK's text colour
(#0b0c0c), so the same captions are #6d6d6d on white (5.2:1) and at least 4.5:1 on Streamlit's
grey panels. The value lives here; ``.streamlit/config.toml`` and ``hiexplore app`` (its command
line) both carry it, and a test keeps the three equal.

A map is shown by streamlit-folium in an iframe whose ``title`` is the component's name
("streamlit_folium.st_folium"), which says nothing to a screen-reader user (and tests find the
frame by it). :func:`label_map_frame` gives the frame an ``aria-label`` (which takes precedence
over ``title`` for its accessible name) saying what the map shows and where the table of the same
areas is (:func:`map_frame_label`: below it or beside it), and keeps the map's shapes from standing
between Tab and that table. The Map explorer's own map component (``static/mapview.js``) does the
same from its values' ``label`` (:func:`hiexplore.map_payload.map_layer_values`).

Map boxes (title, legend) are opaque white, so their text's contrast is what its colours say
(axe-core can measure it; over a see-through box it cannot tell).
"""

from __future__ import annotations

import functools
from typing import Any

from .safe_text import script_json

__all__ = [
    "TEXT_COLOUR",
    "FADED_TEXT_OPACITY",
    "THEME",
    "AA_NORMAL_TEXT",
    "theme_flags",
    "relative_luminance",
    "contrast_ratio",
    "blend",
    "label_map_frame",
    "map_frame_label",
    "TABLE_PLACES",
]

#: The app's text colour: GOV.UK Design System's text colour (govuk-colour "black").
TEXT_COLOUR = "#0b0c0c"
#: Streamlit's captions and help text are the text colour at this opacity ("fadedText60").
FADED_TEXT_OPACITY = 0.6
#: Streamlit theme options hiexplore sets (``[theme]`` in .streamlit/config.toml).
THEME: dict[str, str] = {"textColor": TEXT_COLOUR}
#: WCAG 2 success criterion 1.4.3 (contrast, minimum): 4.5:1 for normal-size text.
AA_NORMAL_TEXT = 4.5


def theme_flags() -> list[str]:
    """``THEME`` as ``streamlit run`` command-line options (for ``hiexplore app``)."""
    return [arg for key, value in THEME.items() for arg in (f"--theme.{key}", value)]


def _rgb(colour: str) -> tuple[int, int, int]:
    text = colour.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    if len(text) != 6:
        raise ValueError(f"expected a colour like '#0b0c0c', got {colour!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def relative_luminance(colour: str) -> float:
    """Relative luminance of an sRGB colour, as WCAG 2 defines it.

    Notes
    -----
    .. math:: L = 0.2126 R + 0.7152 G + 0.0722 B, \\quad
              C = c/12.92 \\text{ if } c \\le 0.04045 \\text{ else } ((c + 0.055)/1.055)^{2.4}

    with :math:`c` each 8-bit channel divided by 255 (W3C, WCAG 2.2, "relative luminance").

    >>> relative_luminance("#ffffff"), relative_luminance("#000000")
    (1.0, 0.0)
    """
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio :math:`(L_1 + 0.05) / (L_2 + 0.05)`, :math:`L_1` the lighter.

    Source: W3C, WCAG 2.2, "contrast ratio". Published figures: black on white is 21:1, and
    #767676 is the lightest grey that passes 4.5:1 on white (4.54:1, WebAIM's contrast checker).

    >>> round(contrast_ratio("#000000", "#ffffff"), 2)
    21.0
    >>> round(contrast_ratio("#767676", "#ffffff"), 2)
    4.54
    """
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def blend(foreground: str, background: str, opacity: float) -> str:
    """The colour seen when ``foreground`` at ``opacity`` is drawn over ``background``.

    >>> blend("#2f2d2b", "#ffffff", FADED_TEXT_OPACITY)  # Streamlit's default caption grey
    '#828180'
    """
    fg, bg = _rgb(foreground), _rgb(background)
    return "#" + "".join(f"{round(opacity * f + (1 - opacity) * b):02x}" for f, b in zip(fg, bg, strict=True))


#: Where a map's table of the same areas sits, as its frame's name says it.
TABLE_PLACES = ("below", "beside")


def map_frame_label(what: str, geography: str, table: str = "below", lists: str = "the same areas") -> str:
    """The accessible name of a map's frame: what it shows, by which areas, and where the table
    of the same areas is (a screen-reader user goes there for the figures).

    >>> map_frame_label("MMR1 at 24 months, 2024/25 Q2", "LSOAs")
    'Map of MMR1 at 24 months, 2024/25 Q2 by LSOAs: the table below it lists the same areas'
    """
    if table not in TABLE_PLACES:
        raise ValueError(f"table should be one of {', '.join(TABLE_PLACES)}, got {table!r} instead")
    return f"Map of {what} by {geography}: the table {table} it lists {lists}"


@functools.cache
def _frame_class() -> type:
    """The map element carrying the script (built on first use: importing hiexplore never imports
    folium). Its rendered script stays literal, like every hiexplore map element."""
    from folium.template import Template

    from .maps import _literal_classes

    class _AppFrame(_literal_classes().macro):  # type: ignore[misc, valid-type]
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "(function() { var f = null; try { f = window.frameElement; } catch (e) {}"
            " if (!f) { return; }"
            " f.setAttribute('aria-label', {{ this.label_json }});"
            " var map = {{ this._parent.get_name() }};"
            " var skip = function(layer) { var el = layer.getElement && layer.getElement();"
            "  if (el && el.tagName.toLowerCase() === 'path') { el.setAttribute('tabindex', '-1'); } };"
            " map.eachLayer(skip); map.on('layeradd', function(e) { skip(e.layer); });"
            "})();"
            "{% endmacro %}"
        )

        def __init__(self, label_json: str) -> None:
            super().__init__()
            self._name = "HxAppFrame"
            self.label_json = label_json

    return _AppFrame


def label_map_frame(m: Any, label: str) -> Any:
    """Name the iframe a map is shown in and take its shapes out of the Tab order; returns ``m``.

    Call it on a map the app shows with a table of the same areas below or beside it. In the app's frame the map's
    script (so it survives streamlit-folium's re-renders):

    * sets the frame's ``aria-label`` to ``label`` (its accessible name, over the component-name
      ``title``), carried as escaped JSON (:func:`hiexplore.safe_text.script_json`);
    * gives every area and practice shape ``tabindex="-1"``: Leaflet 1.9 puts focus listeners on
      shapes with tooltips, which makes Chromium stop at each of them (634 LSOAs in LLR) before
      the table beside the map. The table and the page's area box give the same figures and
      choice by keyboard; the map itself stays focusable (arrow keys pan, +/- zoom).

    Outside a frame (a map saved as HTML, with no table beside it) the script does nothing, so
    there each shape's tooltip can still be reached with Tab.
    """
    m.add_child(_frame_class()(script_json(label)))
    return m
