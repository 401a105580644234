"""Issue 11: a damaged file stops the build (item 2) and killed builds leave nothing behind (item 5).

End to end through the real command line (``python -m hiexplore``), on the corpus's valid slices
of the real official files (``tests/data/bad/valid``) plus one damaged file; the Data page in
AppTest and in a real browser. The damaged kinds themselves are checked case by case in
``tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, shared_path
from hiexplore.build import build_dataset, left_out_files
from hiexplore.dataset import is_dataset, list_datasets, read_manifest, remove_leftovers
from hiexplore.demo import write_demo

BAD = Path(__file__).resolve().parent / "data" / "bad"
VALID = BAD / "valid"
TRUNCATED = "iod2019_file1__gzip_cut_in_header.csv.gz"
HTML_PAGE = "fingertips__html_error_page.csv"
needs_corpus = pytest.mark.skipif(not VALID.is_dir(), reason=f"corpus not generated: run tests/make_bad_corpus.py ({BAD})")


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _sources(tmp_path: Path, *extra: str) -> Path:
    src = tmp_path / "sources"
    src.mkdir()
    for p in sorted(VALID.iterdir()):
        if p.name != "epraccur.csv":  # epraccur.zip holds the same rows
            shutil.copyfile(p, src / p.name)
    for name in extra:
        shutil.copyfile(BAD / name, src / name)
    return src


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hiexplore", *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    out = tmp_path / "data" / "current"
    write_demo(out, 40, 4, 1)
    return out


# ---------------------------------------------------------------------------------------------
# the command line


@needs_corpus
def test_cli_stops_on_a_damaged_file_and_keeps_the_previous_dataset(tmp_path: Path, previous: Path) -> None:
    before = _digest(previous)
    src = _sources(tmp_path, TRUNCATED, HTML_PAGE)
    res = _cli("build", "--source", str(src), "--out", str(previous))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith(f"error: file {HTML_PAGE}: damaged: an HTML page, not a CSV; also damaged: "
                                 f"{TRUNCATED} (truncated gzip")
    assert "--skip-damaged" in res.stderr
    out_lines = res.stdout.splitlines()
    assert f"  DAMAGED: {src / TRUNCATED}: truncated gzip" in "\n".join(out_lines)
    assert out_lines[-1] == "files read: 0, not recognised: 0, damaged: 2"
    assert "not recognised" not in "\n".join(out_lines[:-1]).replace("unrecognised", "")
    assert _digest(previous) == before
    assert sorted(p.name for p in previous.parent.iterdir()) == ["current"]


@needs_corpus
def test_cli_skip_damaged_builds_and_records_damaged_files(tmp_path: Path, previous: Path) -> None:
    src = _sources(tmp_path, TRUNCATED)
    (src / "LICENCE.pdf").write_bytes(b"%PDF-1.4\n% the Open Government Licence\n")
    res = _cli("build", "--source", str(src), "--out", str(previous), "--skip-damaged")
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert any(line.startswith(f"  skipped (damaged): {src / TRUNCATED}: truncated gzip") for line in lines)
    assert f"  skipped (not recognised): {src / 'LICENCE.pdf'}" in lines  # no known layout
    n_read = len([p for p in VALID.iterdir() if p.name != "epraccur.csv"])
    assert lines[-1] == f"files read: {n_read}, not recognised: 1, damaged: 1"
    man = read_manifest(previous)
    assert len(man["damaged_files"]) == 1
    assert man["damaged_files"][0]["file"] == TRUNCATED
    assert man["damaged_files"][0]["reason"].startswith("truncated gzip")
    assert man["skipped_files"] == ["LICENCE.pdf"]
    info = _cli("info", str(previous))
    assert f"File damaged, left out: {TRUNCATED}: truncated gzip" in info.stdout


def test_cli_help_documents_skip_damaged() -> None:
    res = _cli("build", "--help")
    assert res.returncode == 0
    assert "--skip-damaged" in res.stdout


# ---------------------------------------------------------------------------------------------
# a recognised file that contributes no rows is named, with the reason


@needs_corpus
def test_a_file_with_only_welsh_rows_is_named_with_the_reason(tmp_path: Path) -> None:
    real = shared_path("lookups", "Ward_to_Local_Authority_District_to_County_to_Region_to_Country_"
                       "(December_2022)_Lookup_in_United_Kingdom.csv")
    src = _sources(tmp_path)
    lines = real.read_text("utf-8-sig").splitlines(keepends=True)
    welsh = [ln for ln in lines[1:] if ln.split(",")[2].startswith("W06")]
    assert len(welsh) > 100
    (src / "wards_wales.csv").write_text(lines[0] + "".join(welsh), "utf-8")
    echo: list[str] = []
    out = build_dataset([src], tmp_path / "out", areas=["E06000017"], echo=echo.append)
    items = {d["file"]: d for d in read_manifest(out)["files_without_rows"]}
    assert "wards_wales.csv" in items
    item = items["wards_wales.csv"]
    assert item["kinds"] == ["ward_lookup"] and item["rows_read"] == len(welsh)
    assert item["reason"].startswith(f"0 rows for the chosen areas (E06000017): none of its {len(welsh):,} rows matched")
    assert "W06" in item["reason"]
    assert any(line.startswith("  no rows from wards_wales.csv: 0 rows for the chosen areas") for line in echo)
    assert "ward_lookup.csv" not in items  # the English file gave rows
    table = left_out_files(read_manifest(out)).set_index("file")
    assert table.loc["wards_wales.csv", "status"] == "no rows used"


# ---------------------------------------------------------------------------------------------
# leftovers of killed builds (item 5)

_KILLED = textwrap.dedent("""
    import os, signal, sys
    import hiexplore.dataset as d
    from hiexplore.demo import write_demo

    where = sys.argv[2]

    def die(tmp, out):  # killed while writing: after the tables and manifest, before the swap
        if where == "between":  # ... or between moving the old dataset aside and the swap
            os.rename(out, out.parent / f".{out.name}.old-{os.getpid()}-deadbeef")
        os.kill(os.getpid(), signal.SIGKILL)

    d._swap_into_place = die
    write_demo(sys.argv[1], 40, 4, 2)
""")


def _killed_build(out: Path, where: str = "writing") -> None:
    res = subprocess.run([sys.executable, "-c", _KILLED, str(out), where], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == -9, res.stderr  # really killed


@needs_corpus
def test_a_killed_build_leaves_a_leftover_the_next_build_removes(tmp_path: Path, previous: Path) -> None:
    before = _digest(previous)
    _killed_build(previous)
    data = previous.parent
    leftovers = [p for p in data.iterdir() if p.name.startswith(".current.building-")]
    assert len(leftovers) == 1 and is_dataset(leftovers[0])  # half-built, with a manifest
    assert _digest(previous) == before
    assert list_datasets(data) == [previous]  # never listed
    src = _sources(tmp_path)
    res = _cli("build", "--source", str(src), "--out", str(previous), "--name", "current")
    assert res.returncode == 0, res.stdout + res.stderr
    first = res.stdout.splitlines()[0]
    assert first == f"removed leftover {leftovers[0].name} (half-written folder of an interrupted build of current)"
    assert sorted(p.name for p in data.iterdir()) == ["current"]
    assert read_manifest(previous)["name"] == "current"


def test_a_build_killed_between_the_renames_gets_the_previous_dataset_back(previous: Path) -> None:
    before = _digest(previous)
    _killed_build(previous, "between")
    assert not previous.exists()
    assert list_datasets(previous.parent) == []  # neither the old copy nor the half-built one
    messages = remove_leftovers(previous)
    assert messages[0].startswith("restored the previous dataset current from .current.old-")
    assert any(m.startswith("removed leftover .current.building-") for m in messages)
    assert _digest(previous) == before
    assert sorted(p.name for p in previous.parent.iterdir()) == ["current"]


def test_live_builds_are_left_alone_and_dead_ones_of_any_name_removed(previous: Path) -> None:
    live = previous.parent / f".current.building-{os.getppid()}-abcd1234"  # our parent process is alive
    live.mkdir()
    other = previous.parent / ".other.building-1-abcd1234"  # pid 1 runs: a live build of another name
    other.mkdir()
    assert remove_leftovers(previous) == []
    assert live.is_dir() and other.is_dir()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = previous.parent / f".other.building-{int(done.stdout)}-abcd1234"  # that process has ended
    dead.mkdir()
    assert remove_leftovers(previous) == [
        f"removed leftover {dead.name} (half-written folder of an interrupted build of other)"
    ]
    assert not dead.exists() and live.is_dir() and other.is_dir()


def test_app_dataset_list_never_shows_hidden_or_building_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app_support.data as app_data

    data = tmp_path / "data"
    write_demo(data / "mine", 40, 4, 1)
    for hidden in (".mine.building-123-abcd1234", ".mine.old-123-abcd1234", ".uploads"):
        shutil.copytree(data / "mine", data / hidden)
    monkeypatch.setattr(app_data, "DATA_DIR", data)
    monkeypatch.delenv("HIEXPLORE_DATASET", raising=False)
    assert list(app_data.available_datasets()) == ["mine"]
    monkeypatch.setenv("HIEXPLORE_DATASET", str(data / ".mine.building-123-abcd1234"))
    assert list(app_data.available_datasets()) == ["mine"]


# ---------------------------------------------------------------------------------------------
# the Data page shows what a dataset was built without


@pytest.fixture(scope="module")
def skipped_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not VALID.is_dir():
        pytest.skip(f"corpus not generated: run tests/make_bad_corpus.py ({BAD})")
    tmp = tmp_path_factory.mktemp("skipped")
    src = _sources(tmp, TRUNCATED, HTML_PAGE)
    return build_dataset([src], tmp / "data" / "skipped", skip_damaged=True)


def test_data_page_lists_damaged_files_of_the_current_dataset(
    skipped_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HIEXPLORE_DATASET", str(skipped_dataset))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("built without 2 damaged file(s)" in w.value for w in at.warning)
    assert any(w.value.startswith("PARTIAL: built without 2 damaged source file(s)") for w in at.sidebar.warning)
    shown = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    damaged = shown[shown["status"] == "damaged, left out"].set_index("file")["reason"]
    assert damaged[HTML_PAGE] == "an HTML page, not a CSV"
    assert damaged[TRUNCATED].startswith("truncated gzip")
    assert any(c.label == "Skip damaged files" for c in at.checkbox)


@pytest.mark.browser
def test_data_page_in_a_browser_shows_damaged_files(skipped_dataset: Path,
                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    from test_e2e_app import CHROMIUM, _serve

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    served = _serve(tmp_path_factory, skipped_dataset)  # a free port, healthy before it yields
    url, log = next(served)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{url}/data", wait_until="domcontentloaded")
            page.get_by_text("Files the current dataset was built without").wait_for(timeout=90_000)
            page.get_by_text("built without 2 damaged file(s)").wait_for(timeout=30_000)
            heading = page.get_by_text("Files the current dataset was built without")
            heading.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            artifacts = REPO / "tests" / "_artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "data_page_damaged_files.png"))
            # the table is a canvas grid: its content is checked through the page's text and AppTest
            body = page.inner_text("body")
            assert "Skip damaged files" in body
            browser.close()
    finally:
        next(served, None)  # stops the server
    assert "Traceback" not in log.read_text()


def test_manifest_keys_are_json_lists(skipped_dataset: Path) -> None:
    man = json.loads((skipped_dataset / "manifest.json").read_text("utf-8"))
    assert [sorted(d) for d in man["damaged_files"]] == [["file", "reason"], ["file", "reason"]]
    assert all(sorted(d) == ["file", "kinds", "reason", "rows_read"] for d in man["files_without_rows"])


# ---------------------------------------------------------------------------------------------
# what is not damaged stays so


@pytest.mark.shared
def test_no_real_official_file_is_damaged_and_readmes_are_not_data(shared_data: Path) -> None:
    from hiexplore.io.damage import inspect_file

    checks = {p.relative_to(shared_data).as_posix(): inspect_file(p)
              for p in sorted(shared_data.rglob("*")) if p.is_file()}
    assert len(checks) > 100
    assert {k: c.damaged for k, c in checks.items() if c.damaged} == {}
    assert {k: c.warning for k, c in checks.items() if c.warning} == {}
    not_data = sorted(k for k, c in checks.items() if not c.data_like)
    assert not_data == ["SOURCES.md", "postcodes/os_codepoint_open_2025_4/licence.txt",
                        "postcodes/os_codepoint_open_2025_4/metadata.txt",
                        "postcodes/os_codepoint_open_2025_4/readme.txt"]


def test_a_zip_bomb_is_refused_even_when_skipping_damaged_files(tmp_path: Path) -> None:
    import zipfile

    from hiexplore.errors import DamagedFileError, InputFileError

    src = tmp_path / "src"
    src.mkdir()
    with zipfile.ZipFile(src / "epraccur.zip", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("epraccur.csv", "w", force_zip64=True) as fh:
            for _ in range(260):
                fh.write(bytes(1 << 20))
    with pytest.raises(InputFileError, match=r"would expand [\d,]+-fold") as err:
        build_dataset([src], tmp_path / "out", skip_damaged=True)
    assert not isinstance(err.value, DamagedFileError)
    assert not (tmp_path / "out").exists()


def test_a_zip_whose_central_directory_is_corrupt_is_damaged_not_a_crash(tmp_path: Path) -> None:
    import zipfile

    from hiexplore.io.damage import inspect_file

    z = tmp_path / "lookup.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("lookup.csv", "lsoa21_code,lad_code\nE01013606,E06000016\n")
    data = bytearray(z.read_bytes())
    cd = data.rfind(b"PK\x01\x02")  # the central directory entry: break its signature
    data[cd:cd + 4] = b"XX\x01\x02"
    z.write_bytes(bytes(data))
    check = inspect_file(z)
    assert check.data_like and check.damaged and check.damaged.startswith(("corrupt zip", "truncated zip"))


def test_a_partial_dataset_says_so_on_screens_and_in_exports(skipped_dataset: Path, tmp_path: Path) -> None:
    import pandas as pd

    from hiexplore.dataset import load_dataset
    from hiexplore.exports import write_table
    from hiexplore.mapping import caveat_note

    ds = load_dataset(skipped_dataset)
    for geography in ("lsoa", "practice"):
        note = caveat_note(ds, geography)
        assert note is not None and "PARTIAL: this dataset was built without 2 damaged source file(s)" in note
    frame = pd.DataFrame({"area_code": ["E01013606"], "value": [1.0]})
    out = write_table(frame, tmp_path / "flags.xlsx", ds=ds)
    meta = pd.read_excel(out, sheet_name="metadata")
    partial = meta[meta.iloc[:, 0] == "PARTIAL"].iloc[0, 1]
    assert HTML_PAGE in partial and "an HTML page, not a CSV" in partial and TRUNCATED in partial


def test_a_complete_dataset_has_no_partial_note(demo_dataset: Path) -> None:
    from hiexplore.dataset import load_dataset
    from hiexplore.mapping import caveat_note

    assert "PARTIAL" not in (caveat_note(load_dataset(demo_dataset), "lsoa") or "")


def test_a_large_json_file_cut_off_is_damaged_without_parsing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hiexplore.io import damage

    gj = (VALID / "boundaries_lsoa11_rutland.geojson").read_bytes() if VALID.is_dir() else b'{"a": [1, 2, 3]}'
    whole, cut = tmp_path / "whole.geojson", tmp_path / "cut.geojson"
    whole.write_bytes(gj)
    cut.write_bytes(gj[: len(gj) * 2 // 3])
    monkeypatch.setattr(damage, "_JSON_PARSE_LIMIT", 10)  # both count as large: only their end is read
    assert damage.inspect_file(whole).damaged is None
    assert damage.inspect_file(cut).damaged.startswith("JSON cut off mid-way (it ends with ")
