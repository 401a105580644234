"""Issue 11.1 on the pages (AppTest, no browser): names from files are shown as text.

Every markdown sink (markdown, captions, alerts) gets names escaped, so the rendered text is the
literal name; plotly figures keep their hovertemplates constant and their labels escaped. The
browser test (test_escape_browser.py) checks what a person sees.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from payloads import MARKERS, TAG
from streamlit.testing.v1 import AppTest

from hiexplore.safe_text import PAYLOADS

APP = str(Path(__file__).resolve().parents[1] / "app.py")
INDICATOR = "smoking_prevalence_qof"
PAGES = {
    "overview": {},
    "map_explorer": {"ind": INDICATOR, "geo": "lsoa"},
    "practices": {"ind": INDICATOR},
    "targets": {"inds": INDICATOR, "geo": "lsoa"},
    "inequalities": {"ind": INDICATOR},
    "data": {},
}


def _run(page: str, payload_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("HIEXPLORE_DATASET", str(payload_dataset))
    at = AppTest.from_file(APP, default_timeout=180)
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
    for k, v in PAGES[page].items():
        at.query_params[k] = v
    return at.run()


def _markdown_values(at: AppTest) -> list[str]:
    out = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader"):
        out += [str(e.value) for e in getattr(at, kind)]
    return out


def _unescape_md(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@pytest.mark.parametrize("page", list(PAGES))
def test_markdown_sinks_never_carry_raw_payloads(payload_dataset: Path, monkeypatch: pytest.MonkeyPatch,
                                                 page: str) -> None:
    at = _run(page, payload_dataset, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    for value in _markdown_values(at):
        for payload in PAYLOADS:
            assert payload not in value, (payload, value[:200])
        # what markdown shows after its escapes is the name itself, never a link, tag or maths
        assert not re.search(r"(?<!\\)(<img|\]\(javascript|\{\{|\{%|\$\{|%\{)", value), value[:200]


def test_profile_markdown_shows_the_area_name_literally(payload_dataset: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run("map_explorer", payload_dataset, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    profile = [v for v in (str(m.value) for m in at.markdown) if v.startswith("**Profile of")]
    assert profile and TAG in _unescape_md(profile[0])


@pytest.mark.parametrize("page", ["practices", "inequalities"])
def test_plotly_figures_keep_templates_constant_and_labels_escaped(payload_dataset: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   page: str) -> None:
    at = _run(page, payload_dataset, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert charts, "the page drew no chart"
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        for trace in spec["data"]:
            template = trace.get("hovertemplate", "")
            # constant: no name (marker "T<payload>T") and no escaped text went into the template
            assert not any(m in template for m in MARKERS), template
            assert "T{" not in template and "&#123;" not in template and "&lt;" not in template
            for key in ("x", "y", "text", "customdata"):
                for v in trace.get(key) or []:
                    if isinstance(v, str):
                        assert "<img" not in v and "{" not in v and "%{" not in v, v[:120]
        title = str(spec["layout"].get("title", {}).get("text", ""))
        assert "<img" not in title and "{{" not in title
    if page == "practices":
        labels = [v for c in charts for t in json.loads(c.proto.spec)["data"] for v in (t.get("y") or [])
                  if isinstance(v, str)]
        assert any("T&#123;&#123; 7*7 &#125;&#125;T" in v and "&lt;img src=x" in v for v in labels)


@pytest.mark.parametrize(("page", "column"), [("map_explorer", "area_name"), ("practices", "practice_name")])
def test_tables_hold_the_literal_names(payload_dataset: Path, monkeypatch: pytest.MonkeyPatch, page: str,
                                       column: str) -> None:
    """Tables (st.dataframe) get names as data, unescaped and unevaluated: the grid shows text."""
    at = _run(page, payload_dataset, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames and len(frames[0]), f"no table with {column}"
    assert frames[0][column].astype(str).str.startswith(TAG).all()
