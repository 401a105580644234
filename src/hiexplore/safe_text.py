"""Text read from files is data, never code: one place that makes it safe for each kind of sink.

Area, ward, PCN, practice, ICB and indicator names, value notes and file names all come from files a
user can upload. They reach HTML (map tooltips, legends, profiles), ``<script>`` blocks (map data),
Jinja templates (branca/folium re-compile what a map element renders, so text in a rendered map is
template source on the next pass), plotly labels (which read pseudo-HTML) and Streamlit markdown.
Each sink gets the escape made for it, here, and nowhere else:

* :func:`html_text` for HTML text and attribute values (also inert for Jinja, plotly and JS
  template literals, because ``{ }`` and the backtick become character references);
* :func:`script_json` for data placed in a ``<script>`` or a template (JSON with ``< > & '``,
  U+2028/9 and ``{ }`` and the backtick escaped as ``\\uXXXX`` inside strings, so the text
  can neither close the script nor open a Jinja/JS template expression);
* :func:`markdown_text` for Streamlit markdown (every ASCII punctuation character that markdown,
  Streamlit's ``:colour[...]``/``:icon:`` shortcodes or its ``$...$`` maths could read is
  backslash-escaped; line breaks become spaces so one name cannot start a new block).

Each returns text that *shows* the original literally: ``T{{ 7*7 }}T`` stays ``T{{ 7*7 }}T``.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

__all__ = ["html_text", "script_json", "markdown_text", "plain_text", "PAYLOADS"]

#: Strings that would run or change meaning if a sink treated text as code (used by the tests and
#: by anyone checking a new sink): Jinja expression and statement, JS template literal, plotly
#: hovertemplate field, HTML with an event handler, a script break-out and a javascript: URL.
PAYLOADS: tuple[str, ...] = (
    "{{ 7*7 }}",
    "{% if 1 %}x{% endif %}",
    "${7*7}",
    "%{x}",
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "javascript:alert(1)",
)

# every template syntax a sink might apply opens with a brace: Jinja ({{ {% {#), JS template
# literals (${ and the backtick) and plotly (%{); without the brace "%" and "$" are plain text
_HTML_EXTRA = str.maketrans({"{": "&#123;", "}": "&#125;", "`": "&#96;"})
_JSON_IN_STRING = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "'": "\\u0027",
        "{": "\\u007b",
        "}": "\\u007d",
        "`": "\\u0060",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&\"'%@/;?])")


def plain_text(value: object) -> str:
    """``value`` as display text: ``None`` and NaN become an empty string, the rest ``str()``."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def html_text(value: object) -> str:
    """Escape ``value`` for HTML text or a quoted attribute; shows the literal text.

    ``& < > " '`` as :func:`html.escape` does, and ``{ }`` and the backtick as numeric
    character references, so the result is also inert if a library later re-reads the HTML as a
    Jinja, JS template-literal or plotly template (branca does the first).

    >>> html_text("T{{ 7*7 }}T <b>")
    'T&#123;&#123; 7*7 &#125;&#125;T &lt;b&gt;'
    """
    return html.escape(plain_text(value), quote=True).translate(_HTML_EXTRA)


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside ``<script>`` and inside a Jinja template's source.

    Inside JSON strings ``< > & '``, U+2028/2029, ``{ }`` and the backtick are written as
    ``\\uXXXX`` (the parsed value is unchanged); outside strings JSON has none of them except
    structural braces, which never form ``{{``, ``{%`` or ``{#``. NaN becomes ``null``.

    >>> script_json({"n": "</script>{{x}}"})
    '{"n":"\\\\u003c/script\\\\u003e\\\\u007b\\\\u007bx\\\\u007d\\\\u007d"}'
    """
    text = json.dumps(_nan_to_none(value), separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return _JSON_STRING.sub(lambda m: m.group(0).translate(_JSON_IN_STRING), text)


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    return value


def markdown_text(value: object) -> str:
    """Escape ``value`` for Streamlit markdown (``st.markdown``, ``st.caption``, widget labels).

    Backslash-escapes markdown, HTML and Streamlit's shortcode/maths punctuation so a name is
    shown literally (``[x](javascript:...)`` is not a link, ``$x$`` is not maths, ``:red[x]`` is
    not coloured) and folds line breaks into spaces.

    >>> markdown_text("[x](javascript:alert(1))")
    '\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
    """
    text = " ".join(plain_text(value).splitlines())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
