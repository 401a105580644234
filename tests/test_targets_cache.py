"""The Targets page made once per choice for every session (issue 13, item 3): correctness only.

The targets map and the outreach patches' map are rendered once per dataset and choice
(``app_support.targets_cache``, ``app_support.patches_section``), the patches' files written once
per settings, and the default choice made before the server listens (``warm_targets``). These
tests check that each cache answers for its own choice and dataset only, that what it keeps is
what streamlit-folium would have sent, and that the warm-up makes exactly what a first visitor's
page asks for. The speed itself is measured by ``/work/prof/wscpu.py`` and the benchmarks.
"""

from __future__ import annotations

import copy
import io
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import small_demo

REPO = Path(__file__).resolve().parents[1]
KEEP = ("mmr1_24m", "cervical_screening_25_49")
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_CODE = re.compile(r'"c": ?"([^"]+)"')  # an area's code in the map's GeoJSON properties


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset (two indicators, latest period) with its flags stored."""
    from hiexplore.dataset import load_dataset
    from hiexplore.derived import derive_flags

    out = small_demo(tmp_path_factory.mktemp("tcache") / "demo", 80, 10, 5, KEEP)
    derive_flags(load_dataset(out))
    return out


def _choice(path: Path, top: int = 50, indicators: tuple[str, ...] = KEEP):
    """What the page computes before asking for the map (default filters, ``top`` areas)."""
    from app_support.data import get_dataset
    from app_support.layout import GEO_LABELS
    from app_support.targets_cache import get_map_text, shared_targets
    from hiexplore.targets_view import select_targets

    ds = get_dataset(path)
    targets = shared_targets(ds, list(indicators), "lsoa")
    sel = select_targets(ds, targets, "lsoa", top=top)
    return ds, targets, sel, get_map_text(ds, list(indicators), "lsoa", len(sel), GEO_LABELS["lsoa"])


def test_the_rendered_map_is_what_st_folium_sends(demo: Path) -> None:
    """folium_frame gives streamlit-folium's component the same script, header, html, id, key and
    asset links as st_folium(m, key, returned_objects=[]) works out from the same map."""
    import streamlit_folium as sf

    from app_support.foliumview import folium_frame
    from hiexplore.a11y import label_map_frame
    from hiexplore.charts import targets_map
    from hiexplore.maps import use_vendored_assets

    ds, _targets, sel, text = _choice(demo, top=12)
    m = targets_map(ds, sel, "lsoa", title=text.title, source=text.source, note=text.note)
    label_map_frame(m, text.label)
    use_vendored_assets(m)
    twin = copy.deepcopy(m)
    got = folium_frame(m, key="tmap", scroll_wheel_zoom=True)  # as st_folium leaves the map
    # st_folium's own steps, in its order
    twin.get_root().render()
    twin.render()
    html, header = sf._get_html(twin), sf._get_header(twin)
    script = sf._get_map_string(twin)
    assert got["script"] == script
    assert got["header"] == header and got["html"] == html
    assert got["id"] == sf.get_full_id(twin) == "map_div"
    assert got["key"] == sf.generate_js_hash(script, "tmap", False)
    assert got["js_links"] and all(link.startswith("data:") for link in got["js_links"] + got["css_links"])
    assert "aria-label" in script and text.label in script  # the frame is still named
    assert '"scrollWheelZoom": false' not in script


def test_the_page_maps_leave_the_mouse_wheel_to_the_page(demo: Path) -> None:
    """A wheel turned over an in-page map scrolls the page: the Targets map is drawn with
    Leaflet's scrollWheelZoom off (buttons, double click and keyboard still zoom)."""
    from app_support.foliumview import folium_frame
    from app_support.targets_cache import get_targets_map
    from hiexplore.charts import targets_map

    ds, _targets, sel, text = _choice(demo, top=4)
    frame = get_targets_map(ds, list(KEEP), "lsoa", sel, text)
    assert '"scrollWheelZoom": false' in frame["script"]
    m = targets_map(ds, sel, "lsoa", title=text.title, source=text.source, note=text.note)
    assert '"scrollWheelZoom": false' in folium_frame(m, key="t")["script"]


def test_the_targets_map_holds_only_the_targets_shapes(demo: Path) -> None:
    """Only the chosen target areas are drawn (not every LSOA of the dataset), each once."""
    from app_support.targets_cache import get_targets_map

    ds, targets, sel, text = _choice(demo, top=6)
    assert len(sel) == 6 and len(targets) > 3 * len(sel)
    frame = get_targets_map(ds, list(KEEP), "lsoa", sel, text)
    codes = _CODE.findall(frame["script"])
    assert sorted(codes) == sorted(sel["area_code"])
    assert not set(targets["area_code"]) - set(sel["area_code"]) & set(codes)


def test_the_map_cache_answers_for_its_own_choice_only(demo: Path) -> None:
    """The same choice is served from the cache (made once); another top N, other indicators or
    another frame name get their own map."""
    from app_support.targets_cache import get_targets_map

    ds, _targets, sel5, text5 = _choice(demo, top=5)
    first = get_targets_map(ds, list(KEEP), "lsoa", sel5, text5)
    again = get_targets_map(ds, list(KEEP), "lsoa", sel5, text5)
    assert again["made_ns"] == first["made_ns"] and again["script"] == first["script"]
    _ds, _t, sel3, text3 = _choice(demo, top=3)
    other = get_targets_map(ds, list(KEEP), "lsoa", sel3, text3)
    assert sorted(_CODE.findall(other["script"])) == sorted(sel3["area_code"])
    assert other["key"] != first["key"]  # a different map remounts the frame
    _ds, t1, sel1, text1 = _choice(demo, top=5, indicators=KEEP[:1])
    one = get_targets_map(ds, list(KEEP[:1]), "lsoa", sel1, text1)
    assert one["made_ns"] != first["made_ns"] and text1.title in one["script"] + one["header"]
    assert text1.title != text5.title


def test_the_shared_list_and_map_words_are_those_of_their_choice(demo: Path) -> None:
    """One ranked list per choice shared by every run (the same object, not a copy), equal to the
    stored targets; the map's words cached per choice equal targets_map_text's."""
    from app_support.data import get_dataset
    from app_support.targets_cache import get_map_text, shared_targets
    from hiexplore.derived import stored_targets
    from hiexplore.targets_view import targets_map_text

    ds = get_dataset(demo)
    both = shared_targets(ds, list(KEEP), "lsoa")
    assert shared_targets(ds, list(KEEP), "lsoa") is both
    pd.testing.assert_frame_equal(both, stored_targets(ds, list(KEEP), "lsoa"))
    one = shared_targets(ds, list(KEEP[:1]), "lsoa")
    assert one is not both and set(one.attrs["periods"]) == {KEEP[0]} and set(both.attrs["periods"]) == set(KEEP)
    assert shared_targets(ds, list(KEEP), "msoa")["area_code"].str.startswith("E02").all()
    for keys, frame in ((KEEP, both), (KEEP[:1], one)):
        assert get_map_text(ds, list(keys), "lsoa", 7, "LSOA") == targets_map_text(ds, frame, list(keys), "lsoa", 7, "LSOA")
    assert get_map_text(ds, list(KEEP), "lsoa", 7, "LSOA").label != get_map_text(ds, list(KEEP), "lsoa", 8, "LSOA").label


def test_a_rebuilt_dataset_gets_new_maps_and_files(demo: Path, tmp_path: Path) -> None:
    """A dataset folder whose manifest changed (a rebuild swaps in a new one) is drawn again and
    its patch files written again, not served from the old dataset's entries."""
    from app_support.data import dataset_stamp
    from app_support.patches_section import get_patch_files, get_patches_map, get_patches_table
    from app_support.targets_cache import get_targets_map, shared_targets

    path = tmp_path / "demo"
    shutil.copytree(demo, path)
    ds, _t, sel, text = _choice(path, top=5)
    old = get_targets_map(ds, list(KEEP), "lsoa", sel, text)
    old_patches = get_patches_map(ds, list(KEEP), "lsoa", 0, 3.0, 0, False)
    old_table = get_patches_table(ds, list(KEEP), "lsoa", 0, 3.0, 0, False)
    old_list = shared_targets(ds, list(KEEP), "lsoa")
    stamp = dataset_stamp(path)
    manifest = path / "manifest.json"
    st_ = manifest.stat()
    os.utime(manifest, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))
    assert dataset_stamp(path) != stamp
    ds2, _t, sel2, text2 = _choice(path, top=5)
    new = get_targets_map(ds2, list(KEEP), "lsoa", sel2, text2)
    assert new["made_ns"] > old["made_ns"]
    assert get_patches_map(ds2, list(KEEP), "lsoa", 0, 3.0, 0, False)["made_ns"] > old_patches["made_ns"]
    assert get_patch_files(ds2, list(KEEP), "lsoa", 0, 3.0, 0, False)[".csv"][0] is not None
    assert shared_targets(ds2, list(KEEP), "lsoa") is not old_list
    assert get_patches_table(ds2, list(KEEP), "lsoa", 0, 3.0, 0, False) is not old_table


def test_patch_files_are_the_cli_files_of_their_own_settings(demo: Path, tmp_path: Path) -> None:
    """Each download is what ``hiexplore patches`` writes (write_table) for the settings asked,
    and other settings get their own files."""
    from app_support.data import get_dataset
    from app_support.patches_section import PATCH_FILES, get_patch_files
    from hiexplore.exports import write_table
    from hiexplore.patches import build_patches

    ds = get_dataset(demo)
    files = get_patch_files(ds, list(KEEP), "lsoa", 0, 3.0, 0, False)
    assert list(files) == list(PATCH_FILES)
    expected = build_patches(ds, list(KEEP), "lsoa", min_people=0, max_km=3.0, seed=0, bridges=False)
    assert files[".csv"][0] == write_table(expected, tmp_path / "p.csv", ds=ds, kind="patches").read_bytes()
    assert files[".xlsx"][0][:2] == b"PK"
    big_floor = get_patch_files(ds, list(KEEP), "lsoa", 10**5, 3.0, 0, False)
    assert big_floor[".csv"][0] != files[".csv"][0]


def test_the_patch_table_is_the_patches_without_shapes_for_its_settings(demo: Path) -> None:
    """The section's shared table: the table columns of build_patches' rows for these settings,
    with the summary the section prints; other settings get their own."""
    from app_support.data import get_dataset
    from app_support.patches_section import get_patches_table
    from hiexplore.patches import PATCH_TABLE_COLUMNS, build_patches

    ds = get_dataset(demo)
    table = get_patches_table(ds, list(KEEP), "lsoa", 0, 3.0, 0, False)
    assert get_patches_table(ds, list(KEEP), "lsoa", 0, 3.0, 0, False) is table
    expected = build_patches(ds, list(KEEP), "lsoa", min_people=0, max_km=3.0, seed=0, bridges=False)
    assert list(table.columns) == [c for c in PATCH_TABLE_COLUMNS if c in expected] and "geometry" not in table
    pd.testing.assert_frame_equal(table, pd.DataFrame(expected[list(table.columns)]), check_like=False)
    assert table.attrs["patches"] == expected.attrs["patches"]
    floor = get_patches_table(ds, list(KEEP), "lsoa", 10**5, 3.0, 0, False)
    assert floor.attrs["patches"]["patches"] == 0 < table.attrs["patches"]["patches"]


def test_warm_targets_makes_what_the_first_page_asks_for(demo: Path, tmp_path: Path) -> None:
    """Before the server listens: the default choice's map and patch map are made (so the page's
    own request is answered from the cache)."""
    from app_support.data import get_dataset, get_target_file
    from app_support.patches_section import get_patches_map
    from app_support.targets_cache import get_targets_map, warm_targets
    from hiexplore.patches import DEFAULT_MAX_KM, DEFAULT_MIN_PEOPLE
    from hiexplore.targets_view import DEFAULT_TOP, target_file_stem

    path = tmp_path / "demo"
    shutil.copytree(demo, path)
    ds = get_dataset(path)
    before = time.time_ns()
    lines: list[str] = []
    warm_targets(ds, echo=lines.append)
    after = time.time_ns()
    assert not lines, lines  # nothing left to the page
    ds, _t, sel, text = _choice(path, top=DEFAULT_TOP)
    assert before <= get_targets_map(ds, list(KEEP), "lsoa", sel, text)["made_ns"] <= after
    patches = get_patches_map(ds, list(KEEP), "lsoa", DEFAULT_MIN_PEOPLE, DEFAULT_MAX_KM, 0, False)
    assert before <= patches["made_ns"] <= after
    csv = get_target_file(ds, list(KEEP), "lsoa", sel["area_code"].tolist(), target_file_stem("lsoa", KEEP) + ".csv")
    assert csv.count(b"\r\n") == len(sel) + 1


def test_select_targets_applies_the_pages_filters_in_rank_order(demo: Path) -> None:
    """The page's filters (now a package function the warm-up shares): flagged rows only, each
    filter kept, best first, at most ``top``; the list's notes (attrs) travel with it."""
    from app_support.data import get_dataset
    from app_support.targets_cache import shared_targets
    from hiexplore.targets_view import select_targets

    ds = get_dataset(demo)
    targets = shared_targets(ds, list(KEEP), "lsoa")
    flagged = targets[targets["flagged"]]
    assert select_targets(ds, targets, "lsoa", top=10)["area_code"].tolist() == flagged["area_code"].head(10).tolist()
    lad = str(ds.lookup["lad_code"].iloc[0])
    in_lad = set(ds.lookup.loc[ds.lookup["lad_code"] == lad, "lsoa_code"])
    sel = select_targets(ds, targets, "lsoa", lads=[lad], deciles=["1", "2", "3"], min_reach=5, top=10**6)
    assert len(sel) and set(sel["area_code"]) <= in_lad
    assert sel["imd_decile"].astype(int).isin([1, 2, 3]).all() and (sel["people_to_reach"] >= 5).all()
    assert sel["priority_rank"].is_monotonic_increasing and sel.attrs.get("periods") == targets.attrs.get("periods")
    core = select_targets(ds, targets, "lsoa", core20=True, top=10**6)
    assert len(core) and core["core20"].astype(bool).all()
    assert len(core) == int((flagged["core20"].fillna(False).astype(bool)).sum())


def test_the_patches_map_is_fitted_clear_of_its_title_and_legend(demo: Path) -> None:
    """As the Targets map: the patches' bounds are fitted with room for the title box (top left)
    and the legend (right), so that no patch starts hidden under them."""
    from app_support.data import get_dataset
    from app_support.patches_section import get_patches_map
    from hiexplore.charts import TARGETS_MAP_PADDING

    drawn = get_patches_map(get_dataset(demo), list(KEEP), "lsoa", 0, 3.0, 0, False)
    script = drawn["frame"]["script"]
    fit = script[script.rindex("fitBounds("):]  # the last fit wins (the choropleth's own comes first)
    fit = fit[:fit.index(");")]
    (left, top), (right, bottom) = TARGETS_MAP_PADDING
    assert re.search(rf'"paddingTopLeft": \[{left}, {top}\]', fit), fit
    assert re.search(rf'"paddingBottomRight": \[{right}, {bottom}\]', fit), fit


def _patch_codes(script: str) -> set[str]:
    return {c for c in _CODE.findall(script) if c.startswith("P")}


def test_above_the_threshold_the_patch_map_draws_the_patches_holding_the_targets_shown(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A national list of patches (thousands of SVG shapes in one frame) took the browser seconds:
    above MAP_MAX_PATCHES the map draws only the patches holding the target areas shown, says so,
    and the table and downloads still hold every patch; below it, every patch whatever the targets."""
    import hiexplore.patches as hp
    from app_support.data import get_dataset
    from app_support.patches_section import get_patch_files, get_patches_map, get_patches_table

    ds = get_dataset(demo)
    table = get_patches_table(ds, list(KEEP), "lsoa", 0, 3.0, 0, False)
    patches = table[table["patch_id"].str.startswith("P")]  # then S001...: the areas left alone
    every = set(patches["patch_id"])
    assert len(every) >= 4, every
    # below the threshold: every patch, no note (the LLR page as it was)
    full = get_patches_map(ds, list(KEEP), "lsoa", 0, 3.0, 0, False, ["no-such-code"])
    assert full["note"] is None and _patch_codes(full["frame"]["script"]) == every
    monkeypatch.setattr(hp, "MAP_MAX_PATCHES", 2)
    monkeypatch.setattr(hp, "MAP_FALLBACK_PATCHES", 1)
    second = patches.iloc[1]
    target = str(second["area_codes"]).split(",")[0]
    drawn = get_patches_map(ds, list(KEEP), "lsoa", 0, 3.0, 0, False, [target])
    assert drawn["frame"] is not None, drawn["error"]
    assert _patch_codes(drawn["frame"]["script"]) == {second["patch_id"]}
    assert drawn["note"] == (f"Map: the 1 patch holding the targets shown; all {len(every):,} are in the table "
                             "and downloads.")
    assert f"1 of the {len(every)} outreach patches" in drawn["frame"]["script"]  # the frame's name says so
    # more patches hold targets than the cap: the first by people to reach, and the note says so
    many = [str(c).split(",")[0] for c in patches["area_codes"]]
    capped = get_patches_map(ds, list(KEEP), "lsoa", 0, 3.0, 0, False, many)
    assert _patch_codes(capped["frame"]["script"]) == set(patches["patch_id"].iloc[:2])
    assert "the 2 patches with the most people to reach among the" in capped["note"]
    # no patch holds a target shown: the first by people to reach
    none = get_patches_map(ds, list(KEEP), "lsoa", 0, 3.0, 0, False, [])
    assert _patch_codes(none["frame"]["script"]) == {patches["patch_id"].iloc[0]}
    assert "none holds a target shown" in none["note"]
    # the table and the downloads keep every patch
    assert get_patches_table(ds, list(KEEP), "lsoa", 0, 3.0, 0, False) is table
    csv = pd.read_csv(io.BytesIO(get_patch_files(ds, list(KEEP), "lsoa", 0, 3.0, 0, False)[".csv"][0]),
                      encoding="utf-8-sig")
    assert every <= set(csv["patch_id"])


def test_the_targets_page_says_which_patches_its_map_draws(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the page, above the threshold: the note above the patches map, the map frame, and the
    table of every patch directly below."""
    from streamlit.testing.v1 import AppTest

    import hiexplore.patches as hp

    monkeypatch.setattr(hp, "MAP_MAX_PATCHES", 1)
    monkeypatch.setattr(hp, "TABLE_MAX_ROWS", 2)
    monkeypatch.setenv("HIEXPLORE_DATASET", str(demo))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.switch_page("pages/targets.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    notes = [c.value.replace("\\", "") for c in at.caption if c.value.replace("\\", "").startswith("Map: the ")]
    tables = [d.value for d in at.dataframe if "patch_id" in d.value.columns]
    assert len(tables) == 1
    from app_support.data import get_dataset
    from app_support.patches_section import get_patch_files, get_patches_table
    from hiexplore.targets_view import default_indicators

    ds = get_dataset(demo)
    shown = [m.value for m in at.multiselect if m.label == "Indicators"]
    inds = list(shown[0]) if shown else default_indicators(ds)
    full = get_patches_table(ds, inds, "lsoa", hp.DEFAULT_MIN_PEOPLE, hp.DEFAULT_MAX_KM, 0, False)
    total = int(full["patch_id"].str.startswith("P").sum())
    assert total > 1 and len(full) > 2
    assert len(notes) == 1 and notes[0].endswith(f"all {total:,} are in the table and downloads."), notes
    # the table: at most TABLE_MAX_ROWS rows, the patch on the map among them, in rank order, and a line saying so
    drawn = re.search(r"Map: the 1 patch", notes[0]) and tables[0]
    assert len(drawn) == 2 and list(drawn["patch_id"]) == sorted(drawn["patch_id"], key=list(full["patch_id"]).index)
    cap = [c.value.replace("\\", "") for c in at.caption if c.value.replace("\\", "").startswith("Table: ")]
    assert cap == [f"Table: 2 of {len(full):,} rows (the patches on the map, then the first by people to reach); "
                   "the downloads hold every patch and every area left alone."], cap
    # the downloads: every row
    csv = pd.read_csv(io.BytesIO(get_patch_files(ds, inds, "lsoa", hp.DEFAULT_MIN_PEOPLE, hp.DEFAULT_MAX_KM,
                                                 0, False)[".csv"][0]), encoding="utf-8-sig")
    assert list(csv["patch_id"]) == list(full["patch_id"])


def test_the_patch_table_keeps_the_patches_on_the_map_above_its_row_limit() -> None:
    """patches_table_rows: every row up to the limit; above it the patches on the map (wherever
    they rank) and the first rows, in rank order, with a line saying so."""
    from hiexplore.patches import patches_table_rows

    table = pd.DataFrame({"patch_id": ["P001", "P002", "P003", "P004", "S001", "S002"]})
    rows, note = patches_table_rows(table, ["P004"], max_rows=6)
    assert rows is table and note is None
    rows, note = patches_table_rows(table, ["P004"], max_rows=3)
    assert list(rows["patch_id"]) == ["P001", "P002", "P004"]
    assert note.startswith("Table: 3 of 6 rows")
    rows, _ = patches_table_rows(table, ["P002", "P003", "P004", "S002"], max_rows=2)
    assert list(rows["patch_id"]) == ["P002", "P003", "P004", "S002"]  # every patch drawn stays listed
