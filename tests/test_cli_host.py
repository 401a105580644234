"""`hiexplore app` listens on 127.0.0.1 unless told otherwise (issue 11, item 5).

Started for real on a free port: the health endpoint must answer, and the
kernel's socket table (/proc/net/tcp) must show which address the server is bound to. Each server
is stopped (its own process group) before the test ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hiexplore.cli import DEFAULT_HOST, host_notice, is_loopback


def _free_port() -> int:
    """A port nobody holds now (tests run in parallel under xdist)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PORT = int(os.environ.get("HIEXPLORE_TEST_APP_PORT", "0")) or _free_port()
SIGN_IN = "The app has no sign-in of its own"


def _listening(port: int) -> set[str]:
    """IPv4 and IPv6 addresses with a socket in LISTEN state on ``port``, from /proc/net/tcp*."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state != "0A" or int(hexport, 16) != port:
                continue
            if len(addr) == 8:
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1]))
            else:  # /proc/net/tcp6: four little-endian 32-bit words
                raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, 32, 8))
                found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def _run_app(tmp_path: Path, *args: str) -> tuple[set[str], str]:
    """Start ``hiexplore app --port PORT *args``, wait for health, return (bound addresses, stderr)."""
    if not Path("/proc/net/tcp").exists():
        pytest.skip("/proc/net/tcp is not available on this system")
    if _listening(PORT):
        pytest.skip(f"port {PORT} is already in use (set HIEXPLORE_TEST_APP_PORT)")
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {"STREAMLIT_SERVER_HEADLESS": "true"}
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hiexplore", "app", "--port", str(PORT), *args],
            stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/_stcore/health", timeout=2) as r:
                    assert r.status == 200 and r.read().strip() == b"ok"
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"app did not become healthy:\n{out.read_text()}\n{err.read_text()}")
                time.sleep(0.3)
        return _listening(PORT), err.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group started above, and only that
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        _wait_closed(proc.pid)


def _wait_closed(pgid: int) -> None:
    """Wait until the streamlit child (same process group) has let go of the port."""
    deadline = time.time() + 20
    while _listening(PORT) and time.time() < deadline:
        time.sleep(0.2)
    if _listening(PORT):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        time.sleep(0.5)


def test_app_binds_to_loopback_by_default(tmp_path: Path) -> None:
    bound, err = _run_app(tmp_path)
    assert bound == {"127.0.0.1"}, bound
    assert SIGN_IN not in err
    assert not _listening(PORT)  # stopped


def test_app_on_all_interfaces_warns_that_it_has_no_sign_in(tmp_path: Path) -> None:
    bound, err = _run_app(tmp_path, "--host", "0.0.0.0")
    assert "0.0.0.0" in bound, bound
    assert f"WARNING: hiexplore is listening on 0.0.0.0:{PORT}" in err
    assert SIGN_IN in err and "reverse proxy" in err
    assert not _listening(PORT)  # stopped


def test_which_hosts_are_loopback() -> None:
    assert DEFAULT_HOST == "127.0.0.1" and host_notice(DEFAULT_HOST, 8501) is None
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "hiexplore.nhs.uk"))
    assert SIGN_IN in (host_notice("::", 8501) or "")


def test_the_warning_points_to_a_readme_section_that_explains_the_reverse_proxy() -> None:
    """The warning sends people to the README; that section must exist and say how."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    notice = host_notice("0.0.0.0", 8501) or ""
    assert "'Security and data safety'" in notice
    section = readme.split("## Security and data safety", 1)[1].split("\n## ", 1)[0]
    for needed in ("127.0.0.1", "no sign-in of its own", "oauth2-proxy", "auth_request", "proxy_pass http://127.0.0.1:8501",
                   "NFKC", "GeoPackage", "deleted at once", "previous dataset", "HTML-escaped"):
        assert needed.lower() in section.lower(), needed
