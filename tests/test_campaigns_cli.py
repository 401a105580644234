"""``hiexplore campaign``: the contract's verbs and options, on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from hiexplore.cli import app

runner = CliRunner()


def _ok(args: list[str]) -> str:
    out = runner.invoke(app, args)
    assert out.exit_code == 0, (out.output, out.exception)
    return out.stdout


def test_campaign_verbs_end_to_end_on_real_llr_areas(db_url: str, embedded_dataset: Path, tmp_path: Path) -> None:
    first = _ok(["campaign", "add", "--name", "MMR catch-up, Leicester 003", "--indicator", "mmr1_24m,menb_12m",
                 "--team", "Leicester CDT", "--start", "2024-01-15", "--areas", "E01013600,E01013601",
                 "--practices", "C82001,C82002", "--notes", "clinics & <b>door-knocking</b>",
                 "--dataset", str(embedded_dataset)])
    assert first.strip() == "1"  # prints the new campaign's integer id, nothing else
    second = _ok(["campaign", "add", "--name", "Rutland MMR", "--indicator", "mmr1_24m", "--team", "Rutland",
                  "--start", "2023-10-01", "--end", "2024-03-31", "--areas", "E06000017"])
    assert second.strip() == "2"
    rows = json.loads(_ok(["campaign", "list", "--json"]))
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[0]["indicators"] == ["mmr1_24m", "menb_12m"] and rows[0]["practices"] == ["C82001", "C82002"]
    assert rows[0]["notes"] == "clinics & <b>door-knocking</b>" and rows[1]["end_date"] == "2024-03-31"
    assert "MMR catch-up, Leicester 003" in _ok(["campaign", "list"])
    assert json.loads(_ok(["campaign", "show", "2", "--json"]))["name"] == "Rutland MMR"
    assert "Leicester CDT" in _ok(["campaign", "show", "1"])
    assert "version 2" in _ok(["campaign", "edit", "1", "--notes", "clinics only"])
    assert json.loads(_ok(["campaign", "show", "1", "--json"]))["notes"] == "clinics only"
    missing = runner.invoke(app, ["campaign", "show", "99"])
    assert missing.exit_code != 0 and "No campaign with id 99" in str(missing.exception)
    assert "Closed campaign 2" in _ok(["campaign", "close", "2", "--end", "2024-04-30"])
    assert json.loads(_ok(["campaign", "show", "2", "--json"]))["status"] == "closed"
    _ok(["campaign", "export", "--out", str(tmp_path / "log.xlsx")])
    _ok(["campaign", "export", "--out", str(tmp_path / "log.csv")])
    assert len(pd.read_excel(tmp_path / "log.xlsx", sheet_name="campaigns")) == 2
    assert pd.read_csv(tmp_path / "log.csv")["status"].tolist() == ["open", "closed"]
    res = json.loads(_ok(["campaign", "evaluate", "1", "--dataset", str(embedded_dataset), "--json"]))
    for key in ("effect", "lower_ci", "upper_ci", "quarters_before", "quarters_after", "treated", "comparison",
                "method"):
        assert key in res
    assert (res["quarters_before"], res["quarters_after"]) == (3, 3)
    assert res["verdict"].startswith(("Too few quarters to tell", "Cannot tell"))
    assert {t["code"] for t in res["treated"]} == {"C82001", "C82002"} and len(res["comparison"]) == 6
    # the overlapping campaign (same programme, overlapping dates) is named
    assert any("Campaign 2 (Rutland MMR" in c for c in res["caveats"])
    text = _ok(["campaign", "evaluate", "1", "--dataset", str(embedded_dataset)])
    assert "What it can and cannot show" in text and "Event study" in text


def test_a_bad_value_is_one_clear_line_exit_2_and_writes_nothing(db_url: str, embedded_dataset: Path) -> None:
    env = dict(os.environ, HIEXPLORE_DB=db_url)
    base = [sys.executable, "-m", "hiexplore", "campaign", "add", "--name", "X", "--indicator", "mmr1_24m",
            "--team", "T", "--start", "2024-02-01", "--dataset", str(embedded_dataset)]
    out = subprocess.run(base + ["--end", "2024-01-01", "--areas", "E01013600"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == "error: The end date 2024-01-01 is before the start date 2024-02-01.\n"
    out = runner.invoke(app, ["campaign", "add", "--name", "X", "--indicator", "mmr1_24m", "--team", "T",
                              "--start", "2024-02-01", "--areas", "E01013600,E0BOGUS", "--dataset",
                              str(embedded_dataset)])
    assert out.exit_code != 0 and "Unknown area code 'E0BOGUS'" in str(out.exception)
    assert json.loads(_ok(["campaign", "list", "--json"])) == []


def test_an_unreachable_database_is_one_clear_line_without_its_password() -> None:
    env = dict(os.environ, HIEXPLORE_DB="postgresql+psycopg://team:s3cret@127.0.0.1:9/campaigns")
    out = subprocess.run([sys.executable, "-m", "hiexplore", "campaign", "list"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: The campaign database postgresql+psycopg://team:***@127.0.0.1:9/campaigns "
                                 "could not be opened: ")
    assert "s3cret" not in out.stderr
