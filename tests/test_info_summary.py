"""``hiexplore info`` counts the files without rows and names a few; ``--json`` keeps them all."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hiexplore.build import LEFT_OUT_SHOWN
from hiexplore.cli import app
from hiexplore.dataset import read_manifest


def test_info_summarises_files_without_rows(embedded_dataset: Path) -> None:
    man = read_manifest(embedded_dataset)
    without, skipped = man["files_without_rows"], man["skipped_files"]
    assert len(without) > LEFT_OUT_SHOWN and len(skipped) > LEFT_OUT_SHOWN  # a real source folder gives many
    runner = CliRunner()
    text = runner.invoke(app, ["info", str(embedded_dataset)])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    head = f"Files with no rows used: {len(without)} (the first {LEFT_OUT_SHOWN} below; "
    i = next(k for k, line in enumerate(lines) if line.startswith(head))
    assert lines[i + 1: i + 1 + LEFT_OUT_SHOWN] == [f"  - {d['file']}: {d['reason']}" for d in without[:LEFT_OUT_SHOWN]]
    assert lines[i + 1 + LEFT_OUT_SHOWN] == f"  ... and {len(without) - LEFT_OUT_SHOWN} more: see manifest files_without_rows"
    # the rest are not listed one by one any more
    assert not any(d["file"] in text.output for d in without[LEFT_OUT_SHOWN:])
    assert not any(line.startswith("File no rows used") for line in lines)
    assert f"Files not recognised: {len(skipped)} (" in text.output
    # the full lists stay in --json
    full = json.loads(runner.invoke(app, ["info", str(embedded_dataset), "--json"]).output)
    assert full["files_without_rows"] == without and full["skipped_files"] == skipped
