"""The command line: verbs, help, clear errors without tracebacks, and the main flows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hiexplore.cli import app

VERBS = ["build", "info", "demo", "fetch", "flags", "targets", "inequality", "practices", "profile", "trend", "map", "app"]
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


@pytest.mark.parametrize(
    ("indicator", "words", "significant"),
    [
        # SII 3.0, 95% CI -0.3 to 6.4: compatible with no gradient at all
        ("mmr1_24m", "no significant gradient between most and least deprived groups", False),
        ("cervical_screening_25_49", "higher in less deprived groups", True),
        ("smoking_prevalence_qof", "higher in more deprived groups", True),
    ],
)
def test_inequality_says_whether_the_gradient_is_significant(
    embedded_dataset: Path, indicator: str, words: str, significant: bool
) -> None:
    args = ["inequality", "--dataset", str(embedded_dataset), "--indicator", indicator,
            "--geography", "lsoa", "--by", "imd_decile"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert words in out.output
    if not significant:
        # the direction line makes no claim (the sign convention below it still explains the sign)
        assert not any(line.startswith("higher in") for line in out.output.splitlines())
        assert "includes 0" in out.output
    rep = json.loads(runner.invoke(app, [*args, "--json"]).output)
    assert rep["significant"] is significant
    assert rep["direction"].startswith(words)
    assert (rep["sii_lower"] <= 0 <= rep["sii_upper"]) is not significant
