"""``hiexplore fetch onspd --release``: the ONSPD release is an option (default the pinned one),
fetched from a loopback server like the other fetch tests (no internet)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_fetch import server  # noqa: F401 - the loopback server fixture
from typer.testing import CliRunner

from hiexplore.cli import app
from hiexplore.errors import RequestError
from hiexplore.fetch import (
    ONSPD_DEFAULT_RELEASE,
    ONSPD_RELEASES,
    fetch_sources,
    onspd_source,
    resolve_source,
)
from hiexplore.io import recognise

ITEM = "0123456789abcdef0123456789abcdef"


def _serve_onspd(root: Path, url: str, rows: int = 30) -> Path:
    from test_io_postcode_directories import _codepoint_rows, onspd_text

    dest = root / urlsplit(url).path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w") as zf:
        zf.writestr("Data/ONSPD_FEB_2025_UK.csv", onspd_text(_codepoint_rows(n=rows)))
    return dest


def test_default_release_is_the_pinned_one() -> None:
    assert ONSPD_DEFAULT_RELEASE == "MAY_2020"
    assert resolve_source("onspd") == onspd_source() == resolve_source("onspd", release="may_2020")
    assert onspd_source()[0].endswith(f"/items/{ONSPD_RELEASES['MAY_2020']}/data")


def test_release_option_fetches_that_release(server, tmp_path: Path) -> None:  # noqa: F811
    root, base = server
    url, name = onspd_source(f"FEB_2025:{ITEM}")
    assert name == "ONSPD_FEB_2025_UK.zip" and ITEM in url
    served = _serve_onspd(root, url)
    out = tmp_path / "downloads"
    res = CliRunner().invoke(app, ["fetch", "onspd", "--out", str(out), "--base-url", base,
                                   "--release", f"FEB_2025:{ITEM}"])
    assert res.exit_code == 0, res.output
    got = out / name
    assert got.read_bytes() == served.read_bytes()
    log = json.loads((out / "fetch_log.json").read_text("utf-8"))
    assert log[-1]["release"] == "FEB_2025" and ITEM in log[-1]["url"]
    reader = recognise(got)
    assert reader is not None and reader.kind == "postcodes" and len(reader.read(got)[0].frame) == 30
    # without --release the pinned release's own address is asked for (and here not served)
    default_url, default_name = onspd_source()
    _serve_onspd(root, default_url, rows=5)
    done = fetch_sources(["onspd"], out, base_url=base, echo=lambda _: None)
    assert done[0]["file"] == default_name and done[0]["release"] == "MAY_2020"


@pytest.mark.parametrize("release", ["NOV_2099", "FEB_2025:nothex", "bad label:" + ITEM])
def test_bad_release_stops_before_downloading(release: str, tmp_path: Path) -> None:
    with pytest.raises(RequestError, match="ONSPD release"):
        fetch_sources(["onspd"], tmp_path / "d", release=release, echo=lambda _: None)
    assert not (tmp_path / "d").exists()


def test_release_without_onspd_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RequestError, match="applies to the onspd source only"):
        fetch_sources(["epraccur"], tmp_path / "d", release="MAY_2020", echo=lambda _: None)
