"""Issue 14.3: the briefing pack (``hiexplore brief``, ``hiexplore.brief``).

Rendered for an LLR PCN and a ward of the embedded data, in both formats, and read back (the PDF
with pdftotext): the area name, a people-to-reach figure and the sources are there; the HTML
makes no request outside the file; names carrying the injection payloads show literally.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hiexplore.brief import AREA_KINDS, area_kind, briefing_pack, source_table, write_briefing
from hiexplore.cli import app
from hiexplore.dataset import load_dataset
from hiexplore.errors import RequestError

runner = CliRunner()
PCN = "U30213"  # CROSS COUNTIES PCN (Harborough and Oadby & Wigston)
WARD = "E05010458"  # Abbey, Leicester


def _pdftotext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    # -raw: in the order the PDF draws text, so a table cell's words stay together
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())  # words as read, lines joined


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def llr(embedded_dataset: Path):
    return load_dataset(embedded_dataset)


@pytest.fixture(scope="module")
def packs(llr, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, str, str]]:
    """Each area's pack, its HTML and its PDF's text (one build per area for the module)."""
    out = tmp_path_factory.mktemp("brief")
    made = {}
    for code in (PCN, WARD):
        pack = briefing_pack(llr, code)
        page = write_briefing(pack, out / f"{code}.html").read_text("utf-8")
        pdf = write_briefing(pack, out / f"{code}.pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-"
        made[code] = (pack, page, _pdftotext(pdf))
    return made


@pytest.mark.parametrize("code, kind, name", [(PCN, "pcn", "CROSS COUNTIES PCN"), (WARD, "ward", "Abbey")])
def test_pdf_and_html_read_back_name_people_to_reach_and_sources(packs, llr, code: str, kind: str, name: str) -> None:
    pack, page, text = packs[code]
    assert pack.kind == kind and pack.area_name == name
    shown = _flat(html.unescape(re.sub(r"<[^>]+>", " ", page)))
    reach = f"{pack.people_to_reach:,.0f}"
    assert pack.people_to_reach > 0
    for body in (text, shown):
        assert name in body
        assert f"{reach} people to reach in its flagged neighbourhoods" in body
        # every source of the manifest: its publisher and its licence, and the sources section
        assert "Sources" in body and "Open Government Licence v3.0" in body
        for src in source_table(llr.manifest).to_dict("records"):
            assert _flat(src["title"])[:40] in body, src["title"]
        # the modelled catchments and the out-of-date figures are said
        assert "MODELLED catchments" in body
        assert "OUT OF DATE" in body
        # every loaded indicator has a headline row (its short name), and the not-loaded ones are named
        for key in llr.indicator_keys():
            from hiexplore.catalogue import get_indicator

            assert get_indicator(key).short_name in body
        for item in llr.manifest["indicators_not_loaded"]:
            assert f"Not loaded: {item['indicator']}" in body
    # trends (hiexplore.trends) and patches (hiexplore.patches) are wired in, not "not available"
    assert pack.trends and "not available in this build" not in text
    some = next(iter(pack.trends.values()))
    assert some.attrs["trend"] and some.attrs["trend"] in text
    if pack.patches is not None:
        lsoas = set(pack.neighbourhoods["area_code"])
        for r in pack.patches.itertuples():
            assert set(r.area_codes.split(",")) & lsoas and r.patch_id in text
    else:
        assert pack.patches_note in shown
    # the top target's people to reach is in the table beside the map
    top = pack.targets.iloc[0]
    assert str(top["area_code"]) in text and f"{top['people_to_reach']:,.0f}" in text


def test_pcn_and_ward_cover_their_own_neighbourhoods_and_practices(packs, llr) -> None:
    pcn, ward = packs[PCN][0], packs[WARD][0]
    lk = llr.lookup
    assert set(ward.neighbourhoods["area_code"]) == set(lk.loc[lk["ward_code"] == WARD, "lsoa_code"])
    members = set(llr.practices.loc[llr.practices["pcn_code"] == PCN, "practice_code"])
    for sel in pcn.practices.values():
        assert set(sel["area_code"]) <= members and len(sel)
    # the ranks on the map are the area's own, 1..n, in the dataset's priority order
    ranked = pcn.targets
    assert ranked["rank_here"].tolist() == list(range(1, len(ranked) + 1))
    assert ranked["priority_rank"].is_monotonic_increasing


class _Refs(HTMLParser):
    """Every URL-bearing attribute, every tag, and every url(...) in style."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for k, v in attrs:
            if k in ("src", "href", "srcset", "poster", "data", "action", "xlink:href", "background") and v:
                self.urls.append(v)
            if k == "style" and v:
                self.urls += re.findall(r"url\(([^)]*)\)", v)

    def handle_data(self, data: str) -> None:
        self.urls += re.findall(r"url\(([^)]*)\)", data) if "@" in data or "{" in data else []


@pytest.mark.parametrize("code", [PCN, WARD])
def test_html_is_self_contained(packs, code: str) -> None:
    page = packs[code][1]
    refs = _Refs()
    refs.feed(page)
    outside = [u for u in refs.urls if not u.strip(" '\"").startswith("data:")]
    assert outside == []
    assert not refs.tags & {"script", "link", "iframe", "object", "embed", "img", "base"}
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", re.sub(r'xmlns="[^"]+"', "", page))
    assert "@import" not in page
    assert "<svg" in page  # the map and the charts are drawn inline


@pytest.mark.browser
def test_html_makes_no_request_in_a_browser(packs, tmp_path: Path) -> None:
    """Opened from disk in headless Chromium with every request recorded: only the file itself."""
    from test_e2e_app import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "pack.html"
    path.write_text(packs[PCN][1], "utf-8")
    seen: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.route("**/*", lambda route: (seen.append(route.request.url),
                                          route.continue_() if route.request.url.startswith("file:") else route.abort()))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        assert "CROSS COUNTIES PCN" in page.inner_text("h1")
        browser.close()
    assert seen == [path.as_uri()]


def test_area_kinds_resolve_from_the_lookups_and_an_unknown_code_is_refused(llr) -> None:
    assert area_kind(llr, PCN) == "pcn"
    assert area_kind(llr, WARD) == "ward"
    assert area_kind(llr, "E06000016") == "lad"
    assert area_kind(llr, "E54000015") == "icb"
    with pytest.raises(RequestError) as err:
        area_kind(llr, "E01013600")  # an LSOA: not a kind a briefing covers
    msg = str(err.value)
    assert "E01013600" in msg and all(label in msg for label in AREA_KINDS.values())


def test_cli_writes_by_suffix_and_refuses_other_suffixes_and_unknown_areas(payload_dataset: Path, tmp_path: Path) -> None:
    """On the payload dataset (built by ``hiexplore build``, so its flags are stored with it)."""
    ds = str(payload_dataset)
    code = str(load_dataset(payload_dataset).areas.query("area_type == 'ward'")["area_code"].iloc[0])
    bad = runner.invoke(app, ["brief", "--dataset", ds, "--area", code, "--out", str(tmp_path / "b.docx")])
    assert bad.exit_code != 0 and isinstance(bad.exception, RequestError)
    assert ".html" in str(bad.exception) and ".pdf" in str(bad.exception) and "b.docx" in str(bad.exception)
    assert not (tmp_path / "b.docx").exists()
    unknown = runner.invoke(app, ["brief", "--dataset", ds, "--area", "X99", "--out", str(tmp_path / "b.html")])
    assert unknown.exit_code != 0 and "X99" in str(unknown.exception) and "PCN, ward" in str(unknown.exception)
    # the real command line: exit code 2 and the message on stderr
    proc = subprocess.run([sys.executable, "-m", "hiexplore", "brief", "--dataset", ds, "--area", "X99",
                           "--out", str(tmp_path / "b.html")], capture_output=True, text=True)
    assert proc.returncode == 2 and "X99" in proc.stderr and "error:" in proc.stderr
    for name, head in (("b.PDF", b"%PDF-"), ("b.html", b"<!DOCTYPE html>")):
        ok = runner.invoke(app, ["brief", "--dataset", ds, "--area", code, "--out", str(tmp_path / name),
                                 "--indicator", "smoking_prevalence_qof"])
        assert ok.exit_code == 0, ok.output
        assert (tmp_path / name).read_bytes()[:len(head)] == head
        assert "people to reach" in ok.output and code in ok.output
    assert "Smoking prevalence (QOF)" in _pdftotext(tmp_path / "b.PDF")


def test_payload_names_show_literally_in_html_and_pdf(payload_dataset: Path, tmp_path: Path) -> None:
    from payloads import EVALUATED, MARKERS

    ds = load_dataset(payload_dataset)
    code = str(ds.areas.loc[ds.areas["area_type"] == "pcn", "area_code"].iloc[0])
    pack = briefing_pack(ds, code)
    assert MARKERS[0] in pack.area_name
    page = write_briefing(pack, tmp_path / "p.html").read_text("utf-8")
    assert "<script" not in page.lower() and "onerror=alert(1)>" not in page
    refs = _Refs()
    refs.feed(page)
    assert "img" not in refs.tags and "script" not in refs.tags and refs.urls == []  # javascript: is text, no link
    shown = html.unescape(page)
    for marker in MARKERS:
        assert marker in shown, marker
    text = _pdftotext(write_briefing(pack, tmp_path / "p.pdf"))
    packed = "".join(text.split())  # a long name may wrap anywhere (after "</", after "%")
    for marker in MARKERS:
        assert "".join(marker.split()) in packed, marker
    for evaluated in EVALUATED:
        assert evaluated not in text and evaluated not in shown


def test_briefing_pack_download_on_targets_and_practices_pages(demo_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages' "Briefing pack" block: choose an area, prepare, then an HTML and a PDF download.

    Both pages on the same indicator and area, so the second is served from the pack cache.
    """
    from streamlit.testing.v1 import AppTest

    from app_support.briefing import briefing_files
    from app_support.data import dataset_stamp

    monkeypatch.setenv("HIEXPLORE_DATASET", str(demo_dataset))
    repo = Path(__file__).resolve().parents[1]
    monkeypatch.syspath_prepend(str(repo))
    key = "cervical_screening_25_49"
    area = ""  # the ward the Targets page offers first; the Practices page is then set to it
    for page, kind, params in (("targets", "ward", {"inds": key}), ("practices", "pcn", {"ind": key})):
        # the page on its own: app.py's router guard reruns every AppTest run, which swallows a
        # click (see tests/test_campaigns_page.py)
        at = AppTest.from_file(str(repo / "pages" / f"{page}.py"), default_timeout=300)
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.selectbox(key="w_bkind").value == kind  # a planner's ward, a PCN manager's PCN
        if page == "practices":
            at.selectbox(key="w_bkind").select("ward").run()
            at.selectbox(key="w_barea").select(area).run()
        area = at.selectbox(key="w_barea").value
        at.button(key="brief_go").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("people to reach in its flagged neighbourhoods" in m.value for m in at.markdown)
        downloads = [e for e in at.get("download_button") if "briefing" in str(e.proto.label).lower()]
        assert [str(e.proto.label) for e in downloads] == ["Download briefing pack (HTML)",
                                                           "Download briefing pack (PDF)"]
    # the same pack as the package makes: a synthetic dataset says so in it
    files = briefing_files(str(demo_dataset), dataset_stamp(demo_dataset), area, (key,))
    assert b"SYNTHETIC demo data" in files["html"] and files["pdf"][:5] == b"%PDF-"


def test_a_lad_and_the_icb_get_their_practices(llr) -> None:
    """Practices carry the NHS ICB code (QK1), the ICB area the ONS one: both name the same ICB."""
    from hiexplore.brief import area_lsoas, area_practices

    own = llr.practices[llr.practices["in_area_by"] != "catchment"]
    icb = area_practices(llr, "E54000015", "icb", area_lsoas(llr, "E54000015", "icb"))
    assert set(icb["practice_code"]) == set(own.loc[own["icb_code"] == "QK1", "practice_code"])
    rutland = area_lsoas(llr, "E06000017", "lad")
    lad = area_practices(llr, "E06000017", "lad", rutland)
    standing = set(own.loc[own["lsoa_code"].isin(rutland), "practice_code"])
    assert standing and standing <= set(lad["practice_code"])
    assert lad["share"].is_monotonic_decreasing and lad["share"].iloc[0] > 0.1
