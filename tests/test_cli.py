"""The command line: verbs, help, clear errors without tracebacks, and the main flows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hiexplore.cli import app

VERBS = ["build", "info", "demo", "fetch", "flags", "targets", "inequality", "practices", "profile", "map", "app"]
runner = CliRunner()


def test_help_lists_every_verb() -> None:
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0
    for verb in VERBS:
        assert verb in out.output


def test_python_dash_m_is_the_same_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "hiexplore", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and all(v in out.stdout for v in VERBS)


def test_errors_are_one_line_without_traceback(demo_dataset: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hiexplore", "flags", "--dataset", str(demo_dataset), "--indicator", "nope",
         "--geography", "lsoa", "--out", str(tmp_path / "f.csv")],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: Unknown indicator 'nope'")
    assert "Traceback" not in out.stderr


def test_info_flags_targets_inequality_map(demo_dataset: Path, tmp_path: Path) -> None:
    info = runner.invoke(app, ["info", str(demo_dataset), "--json"])
    assert info.exit_code == 0 and json.loads(info.output)["synthetic"] is True
    text = runner.invoke(app, ["info", str(demo_dataset)])
    assert "SYNTHETIC" in text.output
    out = runner.invoke(app, ["flags", "--dataset", str(demo_dataset), "--indicator", "mmr1_24m", "--geography",
                              "msoa", "--out", str(tmp_path / "f.xlsx")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "f.xlsx").is_file()
    out = runner.invoke(app, ["targets", "--dataset", str(demo_dataset), "--indicator", "mmr1_24m,mmr2_5y",
                              "--geography", "lsoa", "--top", "10", "--out", str(tmp_path / "t.csv")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["inequality", "--dataset", str(demo_dataset), "--indicator", "mmr1_24m",
                              "--geography", "lsoa", "--by", "imd_quintile", "--json"])
    assert out.exit_code == 0, out.output
    rep = json.loads(out.output)
    for key in ("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper", "groups"):
        assert key in rep
    assert rep["sii_lower"] <= rep["sii"] <= rep["sii_upper"] and len(rep["groups"]) == 5
    assert "Sign convention" in rep["sign_convention"]
    out = runner.invoke(app, ["map", "--dataset", str(demo_dataset), "--indicator", "mmr1_24m", "--geography",
                              "lsoa", "--out", str(tmp_path / "m.html")])
    assert out.exit_code == 0, out.output
    html = (tmp_path / "m.html").read_text("utf-8")
    assert "SYNTHETIC" in html and "<script src=\"http" not in html


@pytest.mark.parametrize("layer", ["deprivation", "flags"])
def test_map_layers(demo_dataset: Path, tmp_path: Path, layer: str) -> None:
    out = runner.invoke(app, ["map", "--dataset", str(demo_dataset), "--indicator", "mmr1_24m", "--geography",
                              "msoa", "--layer", layer, "--out", str(tmp_path / "m.html")])
    assert out.exit_code == 0, out.output
