"""Upload staging hygiene (issue 11, item 5): refused uploads are deleted at once, a session's
staging is cleared when the session ends, and all staging is bounded in size.

Plain package functions, no Streamlit: the Data page calls the same ones. Uploads are real files
from the bad-input corpus (``tests/data/bad``), handed over as the browser's uploader does.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from hiexplore.build import validation_report
from hiexplore.errors import RequestError
from hiexplore.uploads import (
    DELETED_NOTE,
    OWNER_FILE,
    StagingLedger,
    clear_staging,
    discard_rejected,
    discard_upload,
    session_staging,
    stage_uploads,
    staging_size,
    sweep_staging,
)

BAD = Path(__file__).resolve().parent / "data" / "bad"
GOOD_CSV = BAD / "cervical_dec2017__utf8_bom.csv"  # accepted by its reader
DAMAGED_CSV = BAD / "cervical_dec2017__negative_count.csv"  # refused by its reader


@dataclass
class Upload:
    """What Streamlit's UploadedFile offers the staging code: id, name, size and the bytes."""

    file_id: str
    name: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def getbuffer(self) -> memoryview:
        return memoryview(self.data)


def _upload(path: Path, name: str | None = None, file_id: str | None = None) -> Upload:
    return Upload(file_id or f"id-{name or path.name}", name or path.name, path.read_bytes())


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("epraccur.csv", b"0" * (8 * 1024 * 1024))  # ~1000-fold: over the 200-fold limit
    return buf.getvalue()


def _files(folder: Path) -> list[str]:
    """What a folder holds, leaving out the hidden owner marker."""
    return sorted(p.name for p in folder.iterdir() if p.name != OWNER_FILE) if folder.exists() else []


@pytest.fixture()
def staging(tmp_path: Path) -> Path:
    return session_staging(tmp_path / "data", "session-aaaa-0001")


def test_a_refused_upload_is_never_kept(staging: Path) -> None:
    ledger = StagingLedger()
    renamed = Upload("id-x", "areas.xlsx", b"area_code,name\nE01,x\n")  # text renamed to .xlsx
    bomb = Upload("id-bomb", "epraccur.zip", _zip_bomb())  # passes the type check, fails the zip check
    good = _upload(GOOD_CSV)
    out = stage_uploads(staging, [renamed, bomb, good], ledger)
    assert _files(staging) == [GOOD_CSV.name]
    assert out.files == (staging / GOOD_CSV.name,)
    assert len(out.problems) == 2
    assert "areas.xlsx: the content is not a .xlsx file" in out.problems[0]
    assert "file epraccur.zip" in out.problems[1] and "zip bomb" in out.problems[1]
    assert "epraccur.zip" in out.removed
    # the browser still holds them at the next rerun: still refused, still not written
    again = stage_uploads(staging, [renamed, bomb, good], ledger)
    assert _files(staging) == [GOOD_CSV.name] and again.problems == out.problems


def test_a_file_the_validation_report_refuses_is_deleted_at_once(staging: Path) -> None:
    ledger = StagingLedger()
    unknown = Upload("id-notes", "notes.txt", b"meeting notes, not an official file\n")
    stage_uploads(staging, [_upload(GOOD_CSV), _upload(DAMAGED_CSV), unknown], ledger)
    assert _files(staging) == sorted([GOOD_CSV.name, DAMAGED_CSV.name, "notes.txt"])
    report = discard_rejected(staging, validation_report([staging]), ledger)
    assert _files(staging) == [GOOD_CSV.name]  # the damaged and the unrecognised file are gone
    skipped = report[report["file"].str.endswith("notes.txt")].iloc[0]
    assert skipped["status"] == "skipped" and DELETED_NOTE in skipped["notes"]
    bad = report[report["file"].str.endswith(DAMAGED_CSV.name)].iloc[0]
    assert bad["status"] == "error" and DELETED_NOTE in bad["notes"]
    good = report[report["file"].str.endswith(GOOD_CSV.name)].iloc[0]
    assert good["status"] == "ok" and DELETED_NOTE not in good["notes"]
    # the uploader still shows the damaged file: it is not written again, and the reason is kept
    out = stage_uploads(staging, [_upload(GOOD_CSV), _upload(DAMAGED_CSV), unknown], ledger)
    assert _files(staging) == [GOOD_CSV.name]
    assert len(out.problems) == 2 and DAMAGED_CSV.name in out.problems[0] and "deleted" in out.problems[0]
    assert "notes.txt" in out.problems[1] and "no reader recognised its content" in out.problems[1]


def test_files_removed_from_the_uploader_and_used_by_a_build_are_deleted(staging: Path) -> None:
    ledger = StagingLedger()
    stage_uploads(staging, [_upload(GOOD_CSV), _upload(DAMAGED_CSV)], ledger)
    out = stage_uploads(staging, [_upload(GOOD_CSV)], ledger)  # the user removed one
    assert _files(staging) == [GOOD_CSV.name] and out.removed == (DAMAGED_CSV.name,)
    assert clear_staging(staging, ledger) == [GOOD_CSV.name]
    assert not staging.exists()
    out = stage_uploads(staging, [_upload(GOOD_CSV)], ledger)  # still in the uploader: not re-staged
    assert _files(staging) == [] and out.files == () and out.problems == ()


def test_the_sweep_clears_ended_and_idle_sessions_and_keeps_the_current_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    names = ["session-live-0001", "session-gone-0002", "session-idle-0003", "session-mine-0004"]
    for n in names:
        stage_uploads(session_staging(data, n), [_upload(GOOD_CSV)], StagingLedger())
    root = data / ".uploads"
    old = time.time() - 7 * 3600
    os.utime(root / "session-idle-0003", (old, old))
    os.utime(root / "session-mine-0004", (old, old))
    (root / "stray.csv").write_bytes(b"x")
    live = {"session-live-0001", "session-idle-0003", "session-mine-0004"}
    removed = dict(sweep_staging(root, keep="session-mine-0004", live=live))
    assert removed == {
        "session-gone-0002": "its session has ended",
        "session-idle-0003": "idle for more than 6 hours",
        "stray.csv": "not a session folder",
    }
    assert _files(root) == ["session-live-0001", "session-mine-0004"]
    # at app start nothing is live yet but the first session: everything else goes
    assert [n for n, _ in sweep_staging(root, live=set())] and _files(root) == []


def test_staging_is_bounded_oldest_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    size = GOOD_CSV.stat().st_size
    for i, n in enumerate(["session-old-0001", "session-mid-0002", "session-new-0003"]):
        stage_uploads(session_staging(data, n), [_upload(GOOD_CSV)], StagingLedger())
        t = time.time() - 3600 + i * 60
        os.utime(data / ".uploads" / n, (t, t))
    root = data / ".uploads"
    bound = 2 * size + 100  # two sessions' files and their small owner markers
    removed = sweep_staging(root, max_bytes=bound)
    assert [n for n, _ in removed] == ["session-old-0001"] and "oldest evicted" in removed[0][1]
    assert staging_size(root) <= bound
    # a new upload makes room by evicting the oldest other session, never the uploader's own
    mine = session_staging(data, "session-mine-0004")
    out = stage_uploads(mine, [_upload(GOOD_CSV)], StagingLedger(), total_max_bytes=bound)
    assert out.files and _files(root) == ["session-mine-0004", "session-new-0003"]
    # one that cannot fit even alone is refused, not written
    out = stage_uploads(mine, [_upload(GOOD_CSV), _upload(DAMAGED_CSV)], StagingLedger(),
                        total_max_bytes=size + 10)
    assert _files(mine) == [GOOD_CSV.name]
    assert any("upload staging is full" in p for p in out.problems)


def test_session_ids_cannot_leave_the_staging_folder(tmp_path: Path) -> None:
    for bad in ("../../etc", "a/b/c/d/e/f", "", ".hidden-000"):
        with pytest.raises(RequestError, match="not a valid staging folder name"):
            session_staging(tmp_path, bad)


def test_a_file_a_build_refuses_is_deleted_and_files_outside_staging_never_are(staging: Path, tmp_path: Path) -> None:
    from hiexplore.build import build_dataset
    from hiexplore.errors import InputFileError

    ledger = StagingLedger()
    stage_uploads(staging, [_upload(GOOD_CSV), _upload(DAMAGED_CSV)], ledger)
    with pytest.raises(InputFileError) as info:
        build_dataset([staging], tmp_path / "out", name="x", echo=lambda _m: None)
    assert info.value.path.name == DAMAGED_CSV.name
    assert discard_upload(staging, info.value.path, str(info.value), ledger)
    assert _files(staging) == [GOOD_CSV.name]
    assert any(DAMAGED_CSV.name in m and "deleted" in m for m in ledger.rejected.values())
    # a folder the user pointed at (here the corpus itself) is never touched
    assert not discard_upload(staging, DAMAGED_CSV, "refused", ledger)
    assert not discard_upload(staging, staging / ".." / ".." / "elsewhere.csv", "refused", ledger)
    assert DAMAGED_CSV.is_file()


def test_another_running_servers_sessions_are_left_to_the_ttl(tmp_path: Path) -> None:
    """Two app servers may share a data folder: one never sweeps the other's live sessions."""
    import subprocess
    import sys

    data = tmp_path / "data"
    root = data / ".uploads"
    for n in ("session-other-0001", "session-dead-0002"):
        stage_uploads(session_staging(data, n), [_upload(GOOD_CSV)], StagingLedger())
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (root / "session-other-0001" / OWNER_FILE).write_text(str(other.pid))
        # above Linux's largest pid (2**22): a server that is certainly not running
        (root / "session-dead-0002" / OWNER_FILE).write_text(str(2**22 + 12345))
        removed = dict(sweep_staging(root, live=set()))
        assert removed == {"session-dead-0002": "its session has ended"}  # its server is gone
        assert _files(root) == ["session-other-0001"]
        later = time.time() + 7 * 3600
        assert dict(sweep_staging(root, live=set(), now=later)) == {
            "session-other-0001": "idle for more than 6 hours"}
    finally:
        other.kill()
        other.wait()
