"""Fuzzing with hypothesis: every reader and the statistics may fail only with hiexplore's errors.

Readers get three kinds of input: arbitrary bytes under each file extension; the valid real-file
slices of ``tests/data/bad/valid`` with bytes cut, flipped or inserted; and the same slices with
single cells (CSV fields, workbook cells, GeoJSON properties and coordinates) replaced by hostile
values. The statistics get arrays with NaN, infinities, negatives, zeros, mismatched lengths and
unknown method names. Anything but a result or a :class:`~hiexplore.errors.HiexploreError` fails.

Runs are derandomised (the same examples on every run); set ``HIEXPLORE_FUZZ_EXAMPLES`` (e.g. 500)
and ``HIEXPLORE_FUZZ_RANDOM=1`` to search further.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hiexplore.errors import HiexploreError
from hiexplore.io import READERS, read_any, recognise

VALID = Path(__file__).resolve().parent / "data" / "bad" / "valid"
N = int(os.environ.get("HIEXPLORE_FUZZ_EXAMPLES", "6"))
FUZZ = settings(
    max_examples=N,
    deadline=None,
    derandomize=os.environ.get("HIEXPLORE_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
BY_NAME = {r.name: r for r in READERS}

#: cell values that have broken parsers before
HOSTILE = [
    "", " ", "-1", "-0", "0", "1e308", "-1e308", "1e-320", "nan", "NaN", "inf", "-inf", "1,000,000",
    "1.2.3", "12a", "..", "*", "[c]", "[note 1]", "<under 6>", "n/a", "NULL", "None", "True",
    "=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "<script>alert(1)</script>", "E01999999", "E01000000",
    "S01006506", "W01001958", "E06000017", "C82001", "LE15 6NT", "01APR2020", "2019-13-45",
    "31/12/1974", "\u00c9", "Ynys M\u00f4n", "\U0001f600", "\x00", "\ufeff", "'", '"', "a\nb", "a\rb",
    "x" * 5000, "9" * 40, "0x1F", "1_000", "\u0661\u0662",
]
hostile = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))


def _valid_bases() -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    if not VALID.is_dir():
        return out
    for p in sorted(VALID.iterdir()):
        r = recognise(p)
        if r is not None:
            out.setdefault(r.name, []).append(p)
    return out


BASES = _valid_bases()
needs_bases = pytest.mark.skipif(not BASES, reason=f"corpus not generated: run tests/make_bad_corpus.py ({VALID})")


def _read(reader_name: str, name: str, data: bytes) -> None:
    """Write ``data`` under ``name`` and read it: a result, or hiexplore's own error."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = Path(tmp) / name
        p.write_bytes(data)
        try:
            res = BY_NAME[reader_name].read(p)
            assert isinstance(res, list)
        except HiexploreError:
            pass
        try:
            read_any(p)
        except HiexploreError:
            pass


# ---------------------------------------------------------------------------------------------
# readers: arbitrary bytes


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".xlsx", ".ods", ".geojson", ".zip",
                                                            ".gpkg", ".json", ".gz", ""]))
def test_arbitrary_bytes_never_crash_a_reader(data: bytes, suffix: str) -> None:
    for reader in READERS:
        _read(reader.name, f"upload{suffix}", data)


@FUZZ
@given(head=st.sampled_from([b"PK\x03\x04", b"\x1f\x8b\x08\x00", b"SQLite format 3\x00", b"\xd0\xcf\x11\xe0",
                             b'{"type":"FeatureCollection","features":[', b"\xff\xfe", b"\xef\xbb\xbf"]),
       tail=st.binary(max_size=2048))
def test_magic_numbers_with_garbage_never_crash_a_reader(head: bytes, tail: bytes) -> None:
    for reader in READERS:
        _read(reader.name, "upload", head + tail)


# ---------------------------------------------------------------------------------------------
# readers: the valid slices, damaged


def _cases() -> list[tuple[str, Path]]:
    return [(name, p) for name, paths in sorted(BASES.items()) for p in paths]


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["cut", "flip", "insert", "delete", "duplicate"]))
    n = len(data)
    i = draw(st.integers(0, max(n - 1, 0)))
    if kind == "cut":
        return data[:i]
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:] if n else data
    if kind == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=64)) + data[i:]
    if kind == "delete":
        j = draw(st.integers(i, min(n, i + 256)))
        return data[:i] + data[j:]
    j = draw(st.integers(i, min(n, i + 256)))
    return data[:j] + data[i:j] + data[j:]


@needs_bases
@pytest.mark.parametrize(("reader_name", "base"), _cases(), ids=lambda v: v.name if isinstance(v, Path) else v)
@FUZZ
@given(data=st.data())
def test_damaged_bytes_of_a_real_file(reader_name: str, base: Path, data: st.DataObject) -> None:
    raw = base.read_bytes()
    _read(reader_name, base.name, data.draw(byte_mutation(raw)))


# ---------------------------------------------------------------------------------------------
# readers: the valid slices, hostile values in single cells


def _mutate_csv(raw: bytes, draw: st.DrawFn) -> bytes:
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(rows) - 1))
        if not rows[i]:
            continue
        j = draw(st.integers(0, len(rows[i]) - 1))
        rows[i][j] = draw(hostile)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _mutate_package(raw: bytes, draw: st.DrawFn) -> bytes:
    """xlsx/ods: replace a cell's text or value inside the sheet XML (openpyxl is too slow here)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    targets = [n for n in src.namelist() if n == "content.xml" or re.match(r"xl/(worksheets/sheet\d+|sharedStrings)\.xml$", n)]
    target = draw(st.sampled_from(targets))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == target:
                text = body.decode("utf-8")
                spots = [m.span(1) for m in re.finditer(r'(?:<t(?: [^>]*)?>|<v>|<text:p>|office:value=")([^<"]*)', text)]
                for _ in range(draw(st.integers(1, 3))):
                    if not spots:
                        break
                    a, b = spots[draw(st.integers(0, len(spots) - 1))]
                    value = draw(hostile)
                    value = value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
                    value = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)
                    text = text[:a] + value + text[b:]
                    spots = [m.span(1) for m in re.finditer(r'(?:<t(?: [^>]*)?>|<v>|<text:p>|office:value=")([^<"]*)', text)]
                body = text.encode("utf-8")
            zf.writestr(info, body)
    return out.getvalue()


_WEIRD_COORDS = [[0, 0], [1e308, -1e308], [181, 91], [-0.7], [], [None, 1], ["a", "b"]]


def _mutate_geojson(raw: bytes, draw: st.DrawFn) -> bytes:
    fc = json.loads(raw)
    feats = fc.get("features", [])
    for _ in range(draw(st.integers(1, 3))):
        if not feats:
            break
        f = feats[draw(st.integers(0, len(feats) - 1))]
        what = draw(st.sampled_from(["property", "geometry", "type", "coords", "drop"]))
        if what == "property" and f.get("properties"):
            key = draw(st.sampled_from(sorted(f["properties"])))
            f["properties"][key] = draw(st.one_of(hostile, st.none(), st.integers(), st.floats()))
        elif what == "geometry":
            f["geometry"] = draw(st.sampled_from([None, {}, {"type": "Polygon"}, {"type": "Polygon", "coordinates": [[]]},
                                                  {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                                                  {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}]))
        elif what == "type":
            f["type"] = draw(hostile)
        elif what == "coords" and isinstance(f.get("geometry"), dict):
            f["geometry"]["coordinates"] = [[draw(st.sampled_from(_WEIRD_COORDS)) for _ in range(4)]]
        elif what == "drop":
            f.pop(draw(st.sampled_from(["geometry", "properties", "type"])), None)
    return json.dumps(fc, allow_nan=True).encode()


def _mutate(base: Path, raw: bytes, draw: st.DrawFn) -> bytes:
    if raw[:2] == b"PK" and base.suffix in (".xlsx", ".ods"):
        return _mutate_package(raw, draw)
    if base.suffix == ".geojson":
        return _mutate_geojson(raw, draw)
    if base.suffix == ".csv":
        return _mutate_csv(raw, draw)
    return draw(byte_mutation(raw))


@needs_bases
@pytest.mark.parametrize(("reader_name", "base"), _cases(), ids=lambda v: v.name if isinstance(v, Path) else v)
@FUZZ
@given(data=st.data())
def test_hostile_cells_in_a_real_file(reader_name: str, base: Path, data: st.DataObject) -> None:
    raw = base.read_bytes()
    _read(reader_name, base.name, _mutate(base, raw, data.draw))


# ---------------------------------------------------------------------------------------------
# statistics

finite = st.floats(min_value=-1e6, max_value=1e9, allow_nan=False)
wild = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e308, 5e-324]))


def arrays(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[list[float]]:
    return st.lists(wild, min_size=min_size, max_size=max_size)


confidences = st.one_of(st.sampled_from([0.95, 0.998, 0.5, 0.0, 1.0, -0.1, 95.0, np.nan]), st.floats(allow_nan=False))
methods = st.one_of(st.sampled_from(["wilson", "exact", "normal", "binomial", "poisson", "multiplicative",
                                     "additive", "WILSON", ""]), st.text(max_size=8))
STATS = settings(FUZZ, max_examples=max(N * 4, 40))


def _only_ours(fn, *args, **kwargs) -> None:  # noqa: ANN001
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            fn(*args, **kwargs)
        except HiexploreError:
            pass


@STATS
@given(x=arrays(), n=arrays(), confidence=confidences, method=methods, multiplier=wild)
def test_fuzz_intervals(x, n, confidence, method, multiplier) -> None:  # noqa: ANN001
    from hiexplore.stats import proportion_ci, proportion_table

    _only_ours(proportion_ci, x, n, confidence, method, multiplier)
    _only_ours(proportion_table, x, n, confidence, method, multiplier)


@STATS
@given(lo=arrays(), hi=arrays(), bench=st.one_of(wild, arrays()), polarity=st.one_of(
    st.sampled_from(["higher is better", "lower is better", "not applicable"]), st.text(max_size=10)),
    x=arrays(), n=arrays(), confidence=confidences, method=methods)
def test_fuzz_benchmark_comparisons(lo, hi, bench, polarity, x, n, confidence, method) -> None:  # noqa: ANN001
    from hiexplore.stats import (
        compare_proportion_with_benchmark,
        compare_with_benchmark,
        standard_band,
        vs_expected,
    )

    _only_ours(compare_with_benchmark, lo, hi, bench, polarity=polarity)
    _only_ours(compare_proportion_with_benchmark, x, n, bench, confidence=confidence, polarity=polarity, method=method)
    _only_ours(standard_band, lo, bench, hi, polarity=polarity)
    _only_ours(vs_expected, x, lo, hi, n)


@STATS
@given(x=arrays(), n=arrays(), target=st.one_of(st.none(), wild), method=methods,
       od=st.one_of(st.none(), methods), confidence=st.one_of(confidences, st.tuples(confidences, confidences)),
       winsorise=wild)
def test_fuzz_funnels(x, n, target, method, od, confidence, winsorise) -> None:  # noqa: ANN001
    from hiexplore.stats import (
        estimate_overdispersion,
        funnel_curve,
        funnel_limits,
        funnel_significance,
    )

    _only_ours(funnel_limits, n, target, numerators=x, confidence=confidence, method=method, overdispersion=od,
               winsorise=winsorise)
    _only_ours(funnel_significance, x, n, target, method=method, overdispersion=od, winsorise=winsorise)
    _only_ours(estimate_overdispersion, x, n, target, winsorise=winsorise)
    if target is not None:
        _only_ours(funnel_curve, target, max_denominator=abs(winsorise) if np.isfinite(winsorise) else 10.0,
                   points=5, confidence=confidence, method=method)


@STATS
@given(pop=arrays(max_size=10), value=st.one_of(st.none(), arrays(max_size=10)), num=st.one_of(st.none(), arrays(max_size=10)),
       lo=st.one_of(st.none(), arrays(max_size=10)), hi=st.one_of(st.none(), arrays(max_size=10)),
       value_type=st.one_of(st.sampled_from(["proportion", "rate", "mean", "percentage"]), st.text(max_size=6)),
       transform=st.booleans(), confidence=confidences)
def test_fuzz_sii_rii(pop, value, num, lo, hi, value_type, transform, confidence) -> None:  # noqa: ANN001
    from hiexplore.stats import relative_ranks, sii_rii

    _only_ours(relative_ranks, pop)
    _only_ours(sii_rii, pop, value=value, numerator=num, lower_ci=lo, upper_ci=hi, value_type=value_type,
               transform=transform, confidence=confidence, reps=200)


@STATS
@given(rows=st.lists(st.tuples(st.one_of(st.integers(-2, 12), st.just(np.nan)), wild, wild), max_size=15),
       confidence=confidences, by=st.sampled_from(["imd_decile", "missing"]))
def test_fuzz_gradient_table(rows, confidence, by) -> None:  # noqa: ANN001
    from hiexplore.stats import gradient_table

    frame = pd.DataFrame(rows, columns=["imd_decile", "numerator", "denominator"])
    _only_ours(gradient_table, frame, by, confidence=confidence)


@settings(FUZZ, max_examples=max(N, 10))
@given(rows=st.lists(st.tuples(wild, wild, wild, wild), max_size=25), model=methods, cv=st.integers(-1, 6))
def test_fuzz_expected_uptake(rows, model, cv) -> None:  # noqa: ANN001
    from hiexplore.stats import expected_uptake

    frame = pd.DataFrame(rows, columns=["value", "denominator", "imd_score", "share_65_plus"])
    _only_ours(expected_uptake, frame, "value", "denominator", ["imd_score", "share_65_plus"], model=model, cv=cv)
