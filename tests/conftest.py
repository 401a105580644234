"""Shared fixtures: where the real official files live, and a skip with a clear reason if absent."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Flags computed on first use stay in memory during tests: never written into the committed
# data/llr (the app servers the tests start inherit this). tests/test_derived.py turns it on for
# its own temporary datasets. See hiexplore.derived.writes_allowed.
os.environ.setdefault("HIEXPLORE_DERIVED_WRITE", "0")
# The Map explorer's geometry files (hiexplore.map_payload.geometry_files_dir) go to a temporary
# folder, not the user's cache (the app servers the tests start inherit this too).
os.environ.setdefault("HIEXPLORE_MAP_FILES", tempfile.mkdtemp(prefix="hiexplore-map-files-"))
SHARED_DATA = Path(os.environ.get("HIEXPLORE_SHARED_DATA", REPO.parent / "shared" / "data"))
EMBEDDED = REPO / "data" / "llr"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; the test is skipped (with the reason) if it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data file not available: {path} (../shared/data is absent)")
    return path


def small_demo(out: Path, lsoas: int, practices: int, seed: int, keep: Iterable[str], *,
               latest_only: bool = True) -> Path:
    """A small seeded synthetic dataset at ``out`` holding only the indicators ``keep`` (only
    their latest period when ``latest_only``), without a derived store: each test module then
    stores the flags it needs, so that a derivation takes seconds, not minutes."""
    import shutil

    import pandas as pd

    from hiexplore.demo import write_demo
    from hiexplore.derived import DERIVED_DIR

    write_demo(out, lsoas, practices, seed)
    shutil.rmtree(out / DERIVED_DIR, ignore_errors=True)
    table = out / "indicators.parquet"
    frame = pd.read_parquet(table)
    frame = frame[frame["indicator"].isin(list(keep))]
    if latest_only:
        frame = frame[frame["period"] == frame.groupby("indicator")["period"].transform("max")]
    frame.to_parquet(table, index=False)
    return out


def wait_healthy(url: str, proc: subprocess.Popen, log: Callable[[], str], timeout_s: float = 90.0) -> None:
    """Return once the server at ``url`` answers ``/_stcore/health``; fail the test with the end of
    its ``log`` if it exits or does not answer within ``timeout_s``."""
    deadline = time.time() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"the app at {url} did not become healthy; log:\n{log()[-3000:]}")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: real-data tests skipped")
    return SHARED_DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run only with ``-m slow`` or HIEXPLORE_SLOW=1 (benchmarks cover speed)."""
    if os.environ.get("HIEXPLORE_SLOW") == "1" or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow test: run with -m slow or HIEXPLORE_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset (seeded), written once per test session."""
    from hiexplore.demo import write_demo

    out = tmp_path_factory.mktemp("demo") / "demo"
    write_demo(out, 300, 40, 7)
    return out


@pytest.fixture(scope="session")
def embedded_dataset() -> Path:
    """The committed LLR dataset (real data); skipped if it has not been built."""
    if not (EMBEDDED / "manifest.json").is_file():
        pytest.skip("data/llr has not been built (run the build command in data/README.md)")
    return EMBEDDED


@pytest.fixture(scope="session")
def payload_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rutland in real file layouts, every name carrying the injection payloads (tests/payloads.py),
    built by ``hiexplore build`` as an upload would be."""
    from payloads import make_payload_sources
    from typer.testing import CliRunner

    from hiexplore.cli import app

    root = tmp_path_factory.mktemp("payloads")
    sources = make_payload_sources(root / "sources")
    # the folder name is shown as the dataset's name (sidebar, Data page): it carries payloads too
    out = root / "T{{ 7*7 }}T <img src=x onerror=alert(1)>T ${7*7} %{x} javascript:alert(1)"
    result = CliRunner().invoke(
        app, ["build", "--source", str(sources), "--out", str(out), "--areas", "E06000017",
              "--name", "Rutland T{{ 7*7 }}T T<img src=x onerror=alert(1)>T"],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def postgres_url_factory():
    """Make a fresh database on a real PostgreSQL server the suite starts (and stops) itself.

    Skipped, with the reason, only where the PostgreSQL binaries are not installed.
    """
    import itertools

    from pg_server import pg_bin, postgres_server

    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    import psycopg

    counter = itertools.count(1)
    with postgres_server() as (host, port):
        def make() -> str:
            name = f"hiexplore_t{os.getpid()}_{next(counter)}"
            with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            return f"postgresql+psycopg://postgres@{host}:{port}/{name}"

        yield make


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty campaign database on each engine; HIEXPLORE_DB points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'campaigns.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url_factory")()
    monkeypatch.setenv("HIEXPLORE_DB", url)
    return url
