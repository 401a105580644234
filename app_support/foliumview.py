"""A folium map rendered once, shown by streamlit-folium's component on every run (issue 13).

``st_folium(m)`` renders the whole map (every shape's GeoJSON through Jinja, then regular
expressions over the result) on every run of the page: about 0.3 s of server CPU for the Targets
page's two maps, paid again by every session. :func:`folium_frame` does that rendering once and
returns the component's arguments as plain strings, which the page keeps in a cache shared by the
sessions (``app_support/targets_cache.py``); :func:`show_folium` hands them to streamlit-folium's
own component, so the browser gets exactly what ``st_folium(m, returned_objects=[])`` sends (same
frame, titled "streamlit_folium.st_folium", same script, header and assets).

The rendering steps are those of ``streamlit_folium.st_folium`` (0.27, MIT licence) for a plain
``folium.Map``, written out here because importing ``streamlit_folium`` declares its component,
and a component declared before the server's runtime exists is not served (the warm-up renders
the default maps before the server listens). ``tests/test_targets_cache.py`` checks that the
arguments equal streamlit-folium's own for the Targets maps.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from textwrap import dedent
from typing import Any

__all__ = ["folium_frame", "show_folium"]

_SCRIPT_SRC = re.compile(r'<script\b[^>]*\bsrc=["\'][^"\']*["\'][^>]*>.*?</script\b[^>]*>', re.IGNORECASE | re.DOTALL)
_CSS_LINK = re.compile(r'<link rel="stylesheet" href=".*?"/>')
_ICON_PATH = re.compile(r'(L\.Icon\.Default\.imagePath\s*=\s*["\'])([^"\']*?/dist)(["\'])')
_MAP_DIV = re.compile(r'<div class="folium-map" id=".*" ></div>')
_VAR_SUFFIX = re.compile("_[a-z0-9]+(?!_)")
_ELEMENT_REF = re.compile(r"\{\{\s*'([A-Za-z_$][A-Za-z0-9_$]*)'\s*\}\}")
_DRAWN = re.compile(r"drawnItems_draw_control_div_\d+")
_HASH_VARS = re.compile(r"(_[a-z0-9]+)")
_HASH_URLS = re.compile(r"(maps\/[-a-z0-9]+\/)")


def _leaflet(m: Any, base_id: str, mappings: dict[str, str]) -> str:
    """``streamlit_folium._generate_leaflet_string`` for a map and its children (no DualMap)."""
    from jinja2 import UndefinedError

    mappings[m._id] = base_id
    try:
        element_id = m.element_name.replace("map_", "").replace("tile_layer_", "")
        parent_id = m.element_parent_name.replace("map_", "").replace("tile_layer_", "")
        if element_id not in mappings:
            mappings[element_id] = m._parent._id
        if parent_id not in mappings:
            mappings[parent_id] = m._parent._parent._id
    except AttributeError:
        pass
    m._id = base_id
    try:
        out = m._template.module.script(m)
    except UndefinedError:
        out = m._template.render(this=m, kwargs={})
    for idx, child in enumerate(m._children.values()):
        with contextlib.suppress(UndefinedError, AttributeError):
            out += "\n" + _leaflet(child, f"{base_id}_{idx}", mappings)
    return out


def _replace_vars(leaflet: str, mappings: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        text = match.group()
        found = mappings.get(text.strip("_"))
        return text.replace(text.strip("_"), found) if found else text

    return _VAR_SUFFIX.sub(replace, leaflet)


def _js_hash(script: str, key: str) -> str:
    """``streamlit_folium.generate_js_hash(script, key, False)``: the component's key, so that a
    different map remounts the frame and the same map does not."""
    text = _HASH_VARS.sub("", script) + key
    text = _HASH_URLS.sub("", text) + key + "False"
    return hashlib.sha256(text.encode()).hexdigest()


def folium_frame(m: Any, key: str, *, scroll_wheel_zoom: bool = False) -> dict[str, Any]:
    """Render ``m`` (a ``folium.Map``) once: the arguments ``st_folium(m, key=key,
    returned_objects=[])`` would send its component, as plain data (strings, lists, dicts).

    ``scroll_wheel_zoom`` is off by default: the map sits in a page that scrolls, and a mouse
    wheel turned over it should scroll the page, not zoom the map out from under the reader (the
    +/- buttons, a double click and the keyboard still zoom). The map is rendered, so it is spent:
    build a new one for another frame.
    """
    import branca
    import folium
    import folium.elements

    if not scroll_wheel_zoom:
        m.options["scroll_wheel_zoom"] = False
    m.get_root().render()
    m.render()
    html = _MAP_DIV.sub("", m.get_root().html.render()).strip()
    name = f"{m._name.lower()}_{m._id}"
    header = m.get_root().header.render()
    header = _CSS_LINK.sub("", _SCRIPT_SRC.sub("", header))
    header = _ICON_PATH.sub(r"\1\2/images/\3", header).replace(name, "map_div")
    mappings: dict[str, str] = {}
    leaflet = _leaflet(m, "div", mappings)
    leaflet = _ELEMENT_REF.sub(r"\1", _replace_vars(leaflet, mappings))
    leaflet = dedent(_DRAWN.sub("drawnItems", leaflet.replace("alert(coords);", "")))
    if "drawnItems" not in leaflet:
        leaflet += "\nvar drawnItems = [];"
    m_id = f"{m._name.lower()}_{m._id}"  # after the leaflet string renamed the map: "map_div"
    try:
        (s, w), (n, e) = m.get_bounds()
    except AttributeError:
        (s, w), (n, e) = (None, None), (None, None)

    def walk(el: Any):
        if isinstance(el, branca.colormap.ColorMap | folium.elements.JSCSSMixin):
            yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    css: list[str] = []
    js: list[str] = []
    for el in walk(m):
        if isinstance(el, branca.colormap.ColorMap):
            js[:0] = ["https://d3js.org/d3.v4.min.js", "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"]
        css.extend(href for _, href in getattr(el, "default_css", []))
        js.extend(src for _, src in getattr(el, "default_js", []))
    return {
        "script": leaflet,
        "header": header,
        "html": html,
        "id": m_id,
        "key": _js_hash(leaflet, key),
        "css_links": list(dict.fromkeys(css)),
        "js_links": list(dict.fromkeys(js)),
        "bounds": {"_southWest": {"lat": s, "lng": w}, "_northEast": {"lat": n, "lng": e}},
    }


def show_folium(frame: dict[str, Any], *, height: int) -> None:
    """Show a map rendered by :func:`folium_frame` in streamlit-folium's frame, full width, with no
    value sent back (as ``st_folium(m, returned_objects=[], use_container_width=True)``): panning
    or zooming never reruns the page."""
    from streamlit_folium import _component_func

    _component_func(script=frame["script"], header=frame["header"], html=frame["html"], id=frame["id"],
                    key=frame["key"], height=height, width=None, returned_objects=[], default={}, zoom=None,
                    center=None, feature_group=None, return_on_hover=False, layer_control=None, pixelated=False,
                    css_links=frame["css_links"], js_links=frame["js_links"], wrap_longitude=False)
