"""ONS and NHS Postcode Directory readers (issue 12 item 2).

No ONSPD or NHSPD release is in ../shared/data, so the fixtures are written here in the published
layouts (ONS "ONS Postcode Directory User Guide" record specification: a header row ``pcd, pcd2,
pcds, dointr, doterm, oscty, ..., oseast1m, osnrth1m, osgrdind, ..., lsoa11, ..., lsoa21, msoa21``;
NHSPD User Guide record specification: headerless, ``PCD2, PCDS, DOINTR, DOTERM, OSEAST100M,
OSNRTH100M, OSCTY, ODSLAUA, OSLAUA, OSWARD, USERTYPE, OSGRDIND, ..., OSEAST1M`` at field 37,
``OSNRTH1M`` at 38, ``LSOA21`` at 48 of 49), with the postcodes and grid references of real OS
Code-Point Open rows (postcodes/os_codepoint_open_2025_4/gp_practice_postcodes.csv), so the
positions are the published ones.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import SHARED_DATA, shared_path
from hiexplore.errors import InputFileError
from hiexplore.io import recognise
from hiexplore.io.postcodes import NHSPD_COLUMNS, read_nhspd, read_onspd

CP = ("postcodes", "os_codepoint_open_2025_4", "gp_practice_postcodes.csv")
ONSPD_HEADER = (
    "pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,parish,usertype,oseast1m,osnrth1m,osgrdind,"
    "oshlthau,nhser,ctry,rgn,streg,pcon,eer,teclec,ttwa,pct,itl,statsward,oa01,casward,npark,lsoa01,"
    "msoa01,ur01ind,oac01,oa11,lsoa11,msoa11,wz11,sicbl,bua24,ru11ind,oac11,lat,long,lep1,lep2,pfa,"
    "imd,calncv,icb,oa21,lsoa21,msoa21"
).split(",")


def _codepoint_rows(prefix: str = "LE", n: int = 400) -> list[list[str]]:
    path = shared_path(*CP)
    rows = [r for r in csv.reader(path.read_text("utf-8").splitlines()) if r and r[0].startswith(prefix)]
    return rows[:n]


def _pcd7(pc: str) -> str:
    out, inw = pc.split()
    return f"{out:<4}{inw}"[:7] if len(out) < 4 else out + inw


def onspd_text(rows: list[list[str]], *, terminated: set[str] = frozenset()) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ONSPD_HEADER)
    for r in rows:
        rec = dict.fromkeys(ONSPD_HEADER, "")
        rec.update(pcd=_pcd7(r[0]), pcd2=f"{r[0].split()[0]:<4} {r[0].split()[1]}", pcds=r[0], dointr="198001",
                   doterm="202301" if r[0] in terminated else "", oslaua=r[8], osward=r[9], oseast1m=r[2],
                   osnrth1m=r[3], osgrdind="1", ctry="E92000001", lsoa21="E01025787")
        w.writerow([rec[c] for c in ONSPD_HEADER])
    return buf.getvalue()


def nhspd_text(rows: list[list[str]], n_fields: int = 49) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for r in rows:
        rec = [""] * n_fields
        out, inw = r[0].split()
        rec[NHSPD_COLUMNS["pcd2"]] = f"{out:<4} {inw}"
        rec[NHSPD_COLUMNS["pcds"]] = r[0]
        rec[NHSPD_COLUMNS["dointr"]] = "198001"
        rec[NHSPD_COLUMNS["oslaua"]] = r[8]
        rec[NHSPD_COLUMNS["osgrdind"]] = "1"
        rec[NHSPD_COLUMNS["oseast1m"]] = r[2]
        rec[NHSPD_COLUMNS["osnrth1m"]] = r[3].zfill(7)  # NHSPD pads northings to 7 digits
        if n_fields > NHSPD_COLUMNS["lsoa21"]:
            rec[NHSPD_COLUMNS["lsoa21"]] = "E01025787"
        w.writerow(rec)
    return buf.getvalue()


def test_onspd_is_recognised_and_read(tmp_path: Path) -> None:
    rows = _codepoint_rows()
    f = tmp_path / "ONSPD_NOV_2025_UK.csv"
    f.write_text(onspd_text(rows, terminated={rows[0][0]}), "utf-8")
    assert recognise(f).name == "ons_postcode_directory"
    res = read_onspd(f)[0]
    fr = res.frame.set_index("postcode")
    assert res.kind == "postcodes" and len(fr) == len(rows)
    for r in rows[:20]:
        assert fr.loc[r[0], "easting"] == float(r[2]) and fr.loc[r[0], "northing"] == float(r[3])
    assert fr.loc[rows[0][0], "terminated"] and not fr.loc[rows[1][0], "terminated"]
    assert (fr["lsoa_code"] == "E01025787").all()
    assert any("terminated" in n for n in res.notes)


def test_onspd_2025_header_names_and_zip(tmp_path: Path) -> None:
    rows = _codepoint_rows(n=50)
    text = onspd_text(rows)
    renamed = {"pcd": "PCD7", "pcd2": "PCD8", "pcds": "PCDS", "dointr": "DOINTR", "doterm": "DOTERM",
               "oseast1m": "EAST1M", "osnrth1m": "NORTH1M", "osgrdind": "GRIDIND", "lsoa21": "LSOA21CD"}
    head, body = text.split("\n", 1)
    head = ",".join(renamed.get(h, h.upper()) for h in head.split(","))
    z = tmp_path / "ONSPD_NOV_2025.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Documents/readme.txt", "user guide")
        zf.writestr("Data/ONSPD_NOV_2025_UK.csv", head + "\n" + body)
    assert recognise(z).name == "ons_postcode_directory"
    fr = read_onspd(z)[0].frame
    assert len(fr) == 50 and fr["easting"].notna().all() and (fr["lsoa_code"] == "E01025787").all()


def test_nhspd_is_recognised_and_read(tmp_path: Path) -> None:
    rows = _codepoint_rows()
    f = tmp_path / "nhg25nov.csv.gz"
    f.write_bytes(gzip.compress(nhspd_text(rows).encode(), mtime=0))
    assert recognise(f).name == "nhs_postcode_directory"
    fr = read_nhspd(f)[0].frame.set_index("postcode")
    assert len(fr) == len(rows)
    for r in rows[:20]:
        assert fr.loc[r[0], "easting"] == float(r[2]) and fr.loc[r[0], "northing"] == float(r[3])
        assert fr.loc[r[0], "lad_code"] == r[8]
    # an older release without the 2021 geographies (43 fields) still places postcodes
    old = tmp_path / "gridall.csv"
    old.write_text(nhspd_text(rows[:10], n_fields=43), "utf-8")
    assert recognise(old).name == "nhs_postcode_directory"
    fr = read_nhspd(old)[0].frame
    assert fr["lsoa_code"].isna().all() and fr["easting"].notna().all()


def test_postcode_directory_errors_name_row_and_column(tmp_path: Path) -> None:
    rows = _codepoint_rows(n=30)
    text = onspd_text(rows).splitlines()
    cells = text[5].split(",")
    cells[ONSPD_HEADER.index("oseast1m")] = "4593x8"
    text[5] = ",".join(cells)
    f = tmp_path / "onspd_bad.csv"
    f.write_text("\n".join(text) + "\n", "utf-8")
    with pytest.raises(InputFileError) as err:
        read_onspd(f)
    assert err.value.row == 6 and err.value.column == "oseast1m" and "4593x8" in str(err.value)
    bad = nhspd_text(rows).splitlines()
    cells = next(csv.reader([bad[2]]))
    cells[NHSPD_COLUMNS["osnrth1m"]] = "9999999"
    bad[2] = ",".join(f'"{c}"' for c in cells)
    g = tmp_path / "nhspd_bad.csv"
    g.write_text("\n".join(bad) + "\n", "utf-8")
    with pytest.raises(InputFileError) as err:
        read_nhspd(g)
    assert err.value.row == 3 and err.value.column == "38 (OSNRTH1M)"


def test_build_places_practices_from_onspd_alone(tmp_path: Path) -> None:
    """Without any Code-Point file, an ONSPD-layout file places Rutland's practices."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}")
    from hiexplore.build import build_dataset
    from hiexplore.dataset import load_dataset

    src = tmp_path / "src"
    skip = ("postcodes/", "immunisation/cover_quarterly_utla", "fingertips_gp/", "iod2019/",
            "leicester_city_council/", "boundaries/ons_2011_bgc_martinjc/", "gp_registrations/bwdph",
            "lookups/LSOA11_WD21", "lookups/Rural_Urban", "lookups/hoclib", "population/SAPE21")
    for f in SHARED_DATA.rglob("*"):
        rel = str(f.relative_to(SHARED_DATA))
        if f.is_file() and not rel.startswith(skip):
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(f, src / rel)
    every = [r for r in csv.reader(shared_path(*CP).read_text("utf-8").splitlines()) if r]
    (src / "onspd.csv").write_text(onspd_text(every), "utf-8")
    out = build_dataset([src], tmp_path / "out", areas=["E06000017"], name="rutland")
    ds = load_dataset(out)
    pr = ds.practices
    assert len(pr) >= 4 and pr["latitude"].notna().all() and ds.manifest["unplaced_practices"] == []
    titles = {s["title"] for s in ds.manifest["sources"]}
    assert "ONS Postcode Directory (ONSPD)" in titles and not any("Code-Point" in t for t in titles)
    assert pd.Series(pr["in_area_by"]).isin(["location", "both", "commissioner", "catchment"]).all()
