"""hiexplore build: recognition by content, listing what is skipped, clear errors, atomicity."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from hiexplore.build import discover, validation_report
from hiexplore.demo import write_demo

IOD = ("iod2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _run_build(src: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hiexplore", "build", "--source", str(src), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )


def test_recognised_by_content_not_name(tmp_path: Path) -> None:
    real = shared_path(*IOD)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(real, src / "renamed_by_a_user.dat")
    (src / "notes.txt").write_text("meeting notes, not data\n", "utf-8")
    found, skipped = discover([src])
    assert [r.kind for _, r in found] == ["deprivation"]
    assert [p.name for p in skipped] == ["notes.txt"]
    report = validation_report([src])
    assert set(report["status"]) == {"ok", "skipped"}


def _broken_cases(tmp_path: Path) -> dict[str, Path]:
    real = shared_path(*IOD)
    text = gzip.open(real, "rt", encoding="utf-8-sig").read()
    lines = text.splitlines(keepends=True)
    cases = {}
    cases["truncated"] = "".join(lines[:500]) + lines[500][: len(lines[500]) // 2].rstrip(",") + ',"1,2'
    # a Fingertips export whose Count column was renamed: recognised, then rejected by name
    ft = shared_path("fingertips_gp", "fingertips_91547_smoking_prevalence_qof_gp.csv")
    ft_lines = ft.read_text("utf-8-sig").splitlines(keepends=True)[:200]
    cases["wrong_header"] = ft_lines[0].replace("Count", "Count of people", 1) + "".join(ft_lines[1:])
    cases["duplicate_codes"] = "".join(lines[:300]) + lines[5]
    out = {}
    for name, body in cases.items():
        p = tmp_path / f"{name}.csv"
        p.write_text(body, "utf-8")
        out[name] = p
    enc = tmp_path / "utf16.csv"
    enc.write_bytes("".join(lines[:200]).encode("utf-16"))  # with BOM: readable, so accepted or clear
    out["utf16"] = enc
    return out


@pytest.mark.parametrize("case", ["truncated", "wrong_header", "duplicate_codes", "utf16"])
def test_bad_input_clear_error_and_previous_dataset_intact(tmp_path: Path, case: str) -> None:
    path = _broken_cases(tmp_path)[case]
    src = tmp_path / f"src_{case}"
    src.mkdir()
    shutil.copy(path, src / path.name)
    out = tmp_path / "dataset"
    write_demo(out, 40, 4, 1)
    before = _digest(out)
    res = _run_build(src, out)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("error: ")
    assert _digest(out) == before
    msg = res.stderr
    if case != "utf16":
        assert path.name in msg and "row" in msg, msg
    if case in ("wrong_header", "duplicate_codes"):
        assert "column" in msg, msg


def test_nothing_recognised_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "readme.md").write_text("# nothing here\n", "utf-8")
    res = _run_build(src, tmp_path / "out")
    assert res.returncode == 2 and "No official file was recognised" in res.stderr
    assert not (tmp_path / "out").exists()


def test_observed_catchments_where_the_registrations_cover_the_practices(tmp_path: Path) -> None:
    """Pennine Lancashire: the real NHS Digital patients-by-LSOA sample covers its practices, so
    catchments are observed (LSOA 2011 rows carried to 2021 codes, patients conserved)."""
    from conftest import SHARED_DATA
    from hiexplore.build import build_dataset
    from hiexplore.dataset import load_dataset
    from hiexplore.io.registrations import read_registrations

    shared_path("gp_registrations")
    out = tmp_path / "pennine"
    build_dataset([SHARED_DATA], out, areas=["E06000008", "E07000117", "E07000120", "E07000122", "E07000125"])
    ds = load_dataset(out)
    # MHCLG's LA summaries, ranked against every LAD in England at build time (not only these 5)
    summary = pd.DataFrame(ds.manifest["deprivation_summary"])
    lads = summary[(summary["area_type"] == "lad") & (summary["edition"] == 2025)]
    assert len(lads) == 5 and (lads["ranked_among"] == 296).all()
    assert lads["ranked_against"].str.contains("in England").all()
    # upper tiers: shire counties plus unitaries, metropolitan districts and London boroughs
    utla = summary[summary["area_type"] == "utla"]
    assert set(utla["area_code"]) == {"E06000008", "E10000017"} and (utla["ranked_among"] == 153).all()
    assert lads.loc[lads["area_code"] == "E06000008", "rank_of_average_rank"].iloc[0] <= 30  # Blackburn
    assert ds.catchment_source == "observed"
    assert (ds.registrations["catchment_source"] == "observed").all()
    assert ds.registrations.loc[ds.registrations["in_area"], "lsoa_code"].isin(ds.lookup["lsoa_code"]).all()
    raw = read_registrations(shared_path("gp_registrations", "bwdph_lsoapops_gp-reg-pat-prac-lsoa-all_2020-04_pennine.csv"))[0].frame
    published = raw.groupby("practice_code")["patients"].sum()
    got = ds.registrations.groupby("practice_code")["patients"].sum()
    assert np.allclose(got, published.reindex(got.index), rtol=1e-9)  # nothing lost in the crosswalk
