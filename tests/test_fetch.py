"""hiexplore fetch against a local HTTP server on 127.0.0.1 serving the real files (no internet)."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import shared_path
from hiexplore.errors import HiexploreError, RequestError
from hiexplore.fetch import KNOWN_SOURCES, fetch_sources, resolve_source
from hiexplore.io import recognise


class _Flaky(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; the first request for any path ending in 'flaky.csv' fails with a 503."""

    failed: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path.endswith("flaky.csv") and self.path not in self.failed:
            self.failed.add(self.path)
            self.send_error(503, "try again")
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture()
def server(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Flaky(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_real_files_from_local_server_then_build_recognises_them(server, tmp_path: Path) -> None:
    root, base = server
    # the real IoD2019 File 1 served at the publisher's path (as gz CSV, the form in ../shared)
    real = shared_path("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
    url, _ = resolve_source("iod2019-file1")
    dest = root / urlsplit(url).path.lstrip("/")
    dest.parent.mkdir(parents=True)
    shutil.copy(real, dest)
    out = tmp_path / "downloads"
    done = fetch_sources(["iod2019-file1"], out, base_url=base, echo=lambda _: None)
    got = out / KNOWN_SOURCES["iod2019-file1"].filename
    assert got.read_bytes() == real.read_bytes()
    assert done[0]["sha256"] == hashlib.sha256(real.read_bytes()).hexdigest()
    log = json.loads((out / "fetch_log.json").read_text("utf-8"))
    assert log[0]["url"].startswith("http://127.0.0.1")
    reader = recognise(got)
    assert reader is not None and reader.kind == "deprivation"
    assert recognise(out / "fetch_log.json") is None


def test_fingertips_source_and_retry_on_server_error(server, tmp_path: Path) -> None:
    root, base = server
    real = shared_path("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
    (root / "flaky.csv").write_bytes(real.read_bytes())
    lines: list[str] = []
    fetch_sources([f"{base}/flaky.csv"], tmp_path / "d", retries=2, echo=lines.append)
    assert (tmp_path / "d" / "flaky.csv").read_bytes() == real.read_bytes()
    assert any("retrying" in line for line in lines)
    url, name = resolve_source("fingertips:92600")
    assert "indicator_ids=92600" in url and "child_area_type_id=7" in url and name.endswith(".csv")


def test_fetch_errors(server, tmp_path: Path) -> None:
    _, base = server
    with pytest.raises(HiexploreError, match="answered 404"):
        fetch_sources([f"{base}/missing.csv"], tmp_path / "d", retries=0, echo=lambda _: None)
    assert not list((tmp_path / "d").glob("*.part"))
    with pytest.raises(RequestError, match="Unknown source 'bogus'"):
        resolve_source("bogus")
    with pytest.raises(RequestError, match="fingertips:<indicator id>"):
        resolve_source("fingertips:abc")


@pytest.mark.parametrize("key", ["codepoint-open", "onspd"])
def test_fetch_knows_postcode_sources(server, tmp_path: Path, key: str) -> None:
    """Code-Point Open and the ONSPD at their official open addresses, served from 127.0.0.1."""
    import zipfile

    from test_io_postcode_directories import _codepoint_rows, onspd_text

    root, base = server
    url, name = resolve_source(key)
    assert url.startswith("https://") and name.endswith(".zip")
    dest = root / urlsplit(url).path.lstrip("/")  # the query (?area=GB&format=CSV&redirect) is not a path
    dest.parent.mkdir(parents=True)
    rows = _codepoint_rows(n=40)
    with zipfile.ZipFile(dest, "w") as zf:
        if key == "codepoint-open":  # the product's layout: Data/CSV/<area>.csv, headerless
            zf.writestr("Data/CSV/le.csv", "".join(",".join(f'"{c}"' if not c.isdigit() else c for c in r) + "\n"
                                                   for r in rows))
        else:
            zf.writestr("Data/ONSPD_MAY_2020_UK.csv", onspd_text(rows))
    out = tmp_path / "downloads"
    fetch_sources([key], out, base_url=base, echo=lambda _: None)
    got = out / name
    assert got.read_bytes() == dest.read_bytes()
    reader = recognise(got)
    assert reader is not None and reader.kind == "postcodes"
    frame = reader.read(got)[0].frame
    assert len(frame) == 40 and frame["easting"].notna().all()
