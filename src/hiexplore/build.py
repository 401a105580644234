"""``hiexplore build``: official files in, one canonical dataset out.

Every file under the source folders is first checked for damage (:mod:`hiexplore.io.damage`: a
data file that cannot be opened or decoded stops the build, or is listed and left out with
``skip_damaged``), then offered to the reader registry, which recognises it by content. What is
recognised is read and validated; what is not is listed as "not recognised" and skipped. The tables
are then assembled on the dataset's geography vintage (LSOA 2021; LSOA 2011 inputs are
crosswalked with the ONS lookup), cut to the requested areas, and written atomically.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import DamagedFileError, DatasetError, HiexploreError, InputFileError, RequestError
from .io import READERS, ReadResult, recognise
from .io.damage import inspect_file
from .io.registry import Reader

__all__ = [
    "discover", "survey", "Survey", "damaged_error", "files_summary_line", "left_out_files", "left_out_lines",
    "LEFT_OUT_SHOWN", "build_dataset",
    "commissioned_codes", "UNPLACED_LIMIT", "COVER_SHARE", "IN_AREA_BY", "RequestedArea", "requested_areas",
    "area_membership", "unplaced_shares",
    "validation_report", "crosswalk_lsoa11_to_21", "resolve_areas", "GENERALISATION_ORDER",
    "check_boundary_codes", "LOOKUP_MATCH_SHARE",
]

Echo = Callable[[str], Any]
# finest first: full extent, full clipped, generalised, super-generalised, ultra-generalised
GENERALISATION_ORDER = ("BFE", "BFC", "BGC", "BSC", "BUC", "unknown")
SKIP_NAMES = {".DS_Store", "Thumbs.db"}
BUFFER_M = 15_000.0  # LSOAs this far beyond the area can hold patients of the area's practices


def _noop(_: str) -> None:
    return None


@dataclass
class Survey:
    """Every file under the source folders, sorted before anything is read.

    ``recognised``: (file, reader) pairs; ``not_recognised``: files of no known layout (README,
    PDF, licence, a workbook of another layout); ``damaged``: (file, reason) for data files that
    cannot be opened or decoded (:func:`hiexplore.io.damage.inspect_file`); ``warnings``: (file,
    message) for files read by their content although their extension says otherwise.
    """

    recognised: list[tuple[Path, Reader]] = field(default_factory=list)
    not_recognised: list[Path] = field(default_factory=list)
    damaged: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)


def survey(sources: Sequence[Path]) -> Survey:
    """Sort every file under ``sources`` into recognised, not recognised and damaged.

    A data file (by extension or leading bytes) that cannot be opened is *damaged*, never "not
    recognised": it is checked to its end (gzip stream, zip CRCs, workbook, SQLite header, JSON)
    before the readers sniff it. A zip bomb raises :class:`InputFileError` here, always.
    """
    out = Survey()
    for src in sources:
        src = Path(src)
        if not src.exists():
            raise RequestError(f"Source folder {src} does not exist.")
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for f in files:
            if f.name in SKIP_NAMES or any(part.startswith(".") for part in f.relative_to(src).parts if src.is_dir()):
                continue
            check = inspect_file(f)  # runs the zip bomb guard before any member is decompressed
            if check.damaged:
                out.damaged.append((f, check.damaged))
                continue
            if check.warning:
                out.warnings.append((f, check.warning))
            reader = recognise(f)
            if reader is None:
                out.not_recognised.append(f)
            else:
                out.recognised.append((f, reader))
    return out


def discover(sources: Sequence[Path]) -> tuple[list[tuple[Path, Reader]], list[Path]]:
    """Every file under ``sources``, split into (file, reader) pairs and unrecognised files.

    A damaged file raises :class:`InputFileError` naming it and the reason (see :func:`survey`).
    """
    found = survey(sources)
    if found.damaged:
        raise damaged_error(found.damaged)
    return found.recognised, found.not_recognised


def damaged_error(damaged: Sequence[tuple[Path, str]]) -> DamagedFileError:
    """One error for the damaged files: the first named with its reason, the others listed."""
    return DamagedFileError(list(damaged))


def _read_all(
    recognised: list[tuple[Path, Reader]], echo: Echo
) -> tuple[dict[str, list[tuple[Path, ReadResult]]], list[str]]:
    by_kind: dict[str, list[tuple[Path, ReadResult]]] = defaultdict(list)
    problems: list[str] = []
    n = len(recognised)
    for i, (path, reader) in enumerate(recognised, 1):
        t0 = time.perf_counter()
        echo(f"[{i}/{n}] reading {path.name} ({reader.description}) ...")
        try:
            results = reader.read(path)
        except InputFileError:
            raise
        except HiexploreError:
            raise
        except Exception as err:  # noqa: BLE001 - a reader bug must still name the file
            raise InputFileError(path, f"could not be read as {reader.description}: {type(err).__name__}: {err}") from err
        dt = time.perf_counter() - t0
        for res in results:
            by_kind[res.kind].append((path, res))
            echo(f"      -> {res.kind}: {len(res.frame):,} rows ({dt:.1f} s)")
            for note in res.notes:
                echo(f"         note: {note}")
    return by_kind, problems


# ---------------------------------------------------------------------------------------------
# crosswalk and lookups


def crosswalk_lsoa11_to_21(
    frame: pd.DataFrame,
    crosswalk: pd.DataFrame,
    *,
    sum_cols: Iterable[str] = (),
    mean_cols: Iterable[str] = (),
    weights21: pd.Series | None = None,
    key: str = "lsoa_code",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Carry LSOA 2011 figures onto LSOA 2021 codes with the ONS best-fit lookup.

    Counts (``sum_cols``) are split among a 2011 LSOA's 2021 successors in proportion to
    ``weights21`` (2021 population; equal shares without it) and summed over merged 2011 LSOAs.
    Ranks, deciles and scores (``mean_cols``) take the mean of the 2011 predecessors. ``by`` keeps
    further key columns (e.g. practice_code) apart.
    """
    sum_cols, mean_cols = list(sum_cols), list(mean_cols)
    cw = crosswalk[["lsoa11_code", "lsoa21_code"]].drop_duplicates()
    if weights21 is not None:
        cw = cw.assign(w=cw["lsoa21_code"].map(weights21).fillna(0.0).to_numpy(dtype=float))
    else:
        cw = cw.assign(w=1.0)
    tot = cw.groupby("lsoa11_code")["w"].transform("sum")
    cw["share"] = np.where(tot > 0, cw["w"] / tot, 1.0 / cw.groupby("lsoa11_code")["w"].transform("size"))
    merged = frame.merge(cw, left_on=key, right_on="lsoa11_code", how="inner")
    for c in sum_cols:
        merged[c] = merged[c].astype(float) * merged["share"]
    agg: dict[str, Any] = {c: "sum" for c in sum_cols}
    agg.update({c: "mean" for c in mean_cols})
    out = merged.groupby([*by, "lsoa21_code"], sort=False).agg(agg).reset_index()
    return out.rename(columns={"lsoa21_code": key})


def _merge_lookups(results: list[tuple[Path, ReadResult]], vintage: str) -> pd.DataFrame:
    frames = [r.frame for _, r in results if str(r.meta.get("vintage")) == vintage]
    if not frames:
        return pd.DataFrame(columns=["lsoa_code"])
    out = frames[0].drop_duplicates("lsoa_code").set_index("lsoa_code")
    for f in frames[1:]:
        out = out.combine_first(f.drop_duplicates("lsoa_code").set_index("lsoa_code"))
    return out.reset_index()


#: share of a boundary file's English LSOA 2021 codes the lookup must hold before the rest are
#: called mismatches; below it the lookup is a local extract beside national boundaries, and
#: codes outside it are simply outside the area
LOOKUP_MATCH_SHARE = 0.9


def check_boundary_codes(
    boundaries: list[tuple[Path, ReadResult]], lookup_codes: Iterable[str],
    share: float = LOOKUP_MATCH_SHARE,
) -> None:
    """Every English LSOA 2021 boundary code is in the LSOA 2021 lookup; else name the file
    and the codes that are not.

    Codes the lookup does not know are polygons the dataset cannot place in a local authority:
    a boundary file of another vintage, mistyped or made-up codes. Checked when the lookup holds
    at least ``share`` of the file's English codes (an ONS national lookup holds all of them).
    """
    known_codes = set(lookup_codes)
    for path, res in boundaries:
        if res.meta.get("area_type") != "lsoa" or str(res.meta.get("vintage")) != "2021":
            continue
        codes = res.frame["area_code"].astype("string")
        eng = codes[codes.str.startswith("E01").fillna(False)]
        if eng.empty:
            continue
        known = eng.isin(known_codes)
        if bool(known.all()) or float(known.mean()) < share:
            continue
        unmatched = sorted(eng[~known].astype(str))
        shown = ", ".join(unmatched[:10]) + (" ..." if len(unmatched) > 10 else "")
        raise InputFileError(
            path,
            f"{len(unmatched):,} of its {len(eng):,} English LSOA 2021 codes "
            f"{'is' if len(unmatched) == 1 else 'are'} not in the LSOA 2021 lookup ({shown}): are the "
            "boundaries and the lookup of the same vintage, and "
            "are these codes right?",
            column=res.meta.get("code_field"),
        )


AREA_CODE_COLUMNS = (
    "lad_code", "county_code", "utla_code", "icb_code", "icb_code_nhs", "sub_icb_code",
    "sub_icb_code_nhs", "region_code", "msoa_code", "ward_code", "lsoa_code",
)


def resolve_areas(lookup: pd.DataFrame, codes: Sequence[str] | None) -> pd.Index:
    """LSOA codes inside the given LAD / county / ICB / sub-ICB / region codes (all if None)."""
    all_lsoas = pd.Index(lookup["lsoa_code"])
    if not codes:
        return all_lsoas
    mask = np.zeros(len(lookup), dtype=bool)
    unknown = []
    for code in codes:
        hit = np.zeros(len(lookup), dtype=bool)
        for col in AREA_CODE_COLUMNS:
            if col in lookup.columns:
                hit |= (lookup[col].astype("string") == code).fillna(False).to_numpy()
        if not hit.any():
            unknown.append(code)
        mask |= hit
    if unknown:
        sample = sorted(lookup["lad_code"].dropna().unique())[:20] if "lad_code" in lookup else []
        raise RequestError(
            f"Area code(s) {', '.join(unknown)} not found in the lookups read (LAD, county, ICB, "
            "sub-ICB or region codes are accepted).",
            valid=list(sample),
        )
    return pd.Index(lookup.loc[mask, "lsoa_code"])


# ---------------------------------------------------------------------------------------------
# boundaries


def _choose_boundaries(
    results: list[tuple[Path, ReadResult]], area_type: str, needed: set[str], echo: Echo, notes: list[str]
) -> tuple[gpd.GeoDataFrame | None, Path | None]:
    """The finest boundary file of ``area_type`` that covers every needed code."""
    best: tuple[int, int, float, Path, gpd.GeoDataFrame] | None = None
    for path, res in results:
        if res.meta.get("area_type") != area_type:
            continue
        gdf = res.frame
        have = set(gdf["area_code"])
        covered = len(needed & have)
        if covered == 0:
            continue
        gen = str(res.meta.get("generalisation", "unknown"))
        rank = GENERALISATION_ORDER.index(gen) if gen in GENERALISATION_ORDER else len(GENERALISATION_ORDER)
        full = covered == len(needed)
        key = (0 if full else 1, rank, -covered)
        if best is None or key < best[:3]:
            best = (*key, path, gdf)  # type: ignore[assignment]
    if best is None:
        return None, None
    full_flag, _, neg_cov, path, gdf = best
    sub = gdf[gdf["area_code"].isin(needed)].copy()
    if full_flag == 0:
        echo(f"boundaries for {area_type}: using {path.name} ({len(sub):,} areas)")
    else:
        notes.append(f"{area_type} boundaries from {path.name} cover {-neg_cov:,} of {len(needed):,} areas")
    return sub, path


def _dissolve(lsoa_gdf: gpd.GeoDataFrame, mapping: pd.DataFrame, code_col: str, name_col: str | None) -> gpd.GeoDataFrame:
    g = lsoa_gdf.merge(mapping, left_on="area_code", right_on="lsoa_code", how="inner")
    g = g.dropna(subset=[code_col])
    dissolved = g[[code_col, "geometry"]].dissolve(by=code_col).reset_index()
    dissolved = dissolved.rename(columns={code_col: "area_code"})
    if name_col and name_col in mapping:
        names = mapping.dropna(subset=[code_col]).drop_duplicates(code_col).set_index(code_col)[name_col]
        dissolved["area_name"] = dissolved["area_code"].map(names)
    else:
        dissolved["area_name"] = dissolved["area_code"]
    return dissolved


# ---------------------------------------------------------------------------------------------
# the build


def _relative(path: Path, sources: Sequence[Path]) -> str:
    """A file's path inside the source folder it came from (stable across machines)."""
    for src in sources:
        try:
            return str(Path(path).resolve().relative_to(Path(src).resolve()))
        except ValueError:
            continue
    return Path(path).name


def build_dataset(
    sources: Sequence[Path],
    out: Path,
    *,
    areas: Sequence[str] | None = None,
    name: str | None = None,
    echo: Echo = _noop,
    skip_damaged: bool = False,
    allow_unplaced: bool = False,
) -> Path:
    """Read every recognised official file under ``sources`` and write the dataset to ``out``.

    A damaged file stops the build before anything is read (:class:`InputFileError` naming it
    and the reason) unless ``skip_damaged``: then each is listed with its reason, in the output
    and in the manifest (``damaged_files``). Leftovers of killed builds beside ``out`` are
    removed first. The output ends with one line: files read, not recognised, damaged.

    ``allow_unplaced``: build even when more than :data:`UNPLACED_LIMIT` of a requested area's
    practices (commissioned for it or standing in it; per ICB when ``areas`` is empty), or of
    their registered patients, cannot be placed from the postcode files found; they are listed
    in the manifest (``unplaced_practices``, each with the requested ``areas`` it belongs to)
    either way.
    """
    from .dataset import remove_leftovers

    t_start = time.perf_counter()
    for msg in remove_leftovers(out):
        echo(msg)
    found = survey(sources)
    recognised, skipped, damaged = found.recognised, found.not_recognised, found.damaged
    echo(
        f"Found {len(recognised)} recognised, {len(skipped)} unrecognised and {len(damaged)} damaged files."
    )
    for f in skipped:
        echo(f"  skipped (not recognised): {f}")
    for f, reason in found.warnings:
        echo(f"  warning: {f}: {reason}")
    for f, reason in damaged:
        echo(f"  {'skipped (damaged)' if skip_damaged else 'DAMAGED'}: {f}: {reason}")
    if damaged and not skip_damaged:
        echo(files_summary_line(0, len(skipped), len(damaged)))
        raise damaged_error(damaged)
    if not recognised:
        raise RequestError(
            "No official file was recognised under the source folder(s); nothing to build.",
            valid=[r.description for r in READERS],
        )
    by_kind, _ = _read_all(recognised, echo)
    notes: list[str] = []
    used: dict[Path, dict[str, Any]] = {}

    def use(path: Path, res: ReadResult, kept: int) -> None:
        entry = used.setdefault(path, {**asdict(res.source), "kinds": [], "rows_kept": 0, "notes": []})
        if res.kind not in entry["kinds"]:
            entry["kinds"].append(res.kind)
            # what the reader dropped, repaired or assumed travels with the source
            entry["notes"].extend(n for n in res.notes if n not in entry["notes"])
        entry["rows_kept"] += int(kept)

    # --- lookups on LSOA 2021
    lookup = _merge_lookups(by_kind.get("lookup", []), "2021")
    if lookup.empty:
        raise DatasetError(
            "No LSOA 2021 lookup was recognised (e.g. the ONS LSOA21 -> ward -> LAD lookup); "
            "the dataset needs one to place neighbourhoods in local authorities."
        )
    lookup = lookup[lookup["lsoa_code"].astype(str).str.startswith("E01")]
    check_boundary_codes(by_kind.get("boundaries", []), lookup["lsoa_code"].astype(str))
    wl = by_kind.get("ward_lookup", [])
    if wl:
        wframe = pd.concat([r.frame for _, r in wl]).drop_duplicates("lad_code")
        for col in ("region_code", "region_name", "county_code", "county_name"):
            if col in wframe and col not in lookup:
                lookup[col] = lookup["lad_code"].map(wframe.set_index("lad_code")[col])
    if "county_code" in lookup:
        # unitary authorities, metropolitan districts and London boroughs are their own upper
        # tier; only a shire county (E10) is above its districts (E11 metropolitan counties and
        # E13 Inner/Outer London are not councils)
        lookup["utla_code"] = lookup["county_code"].where(
            lookup["county_code"].notna() & (lookup["county_code"].astype("string").str.startswith("E10")),
            lookup["lad_code"],
        )
    if "msoa_code" not in lookup or lookup["msoa_code"].isna().all():
        # no national LSOA21 -> MSOA21 lookup exists: ONS names an LSOA after its MSOA + a letter
        from .io.geography import msoa21_from_names

        msoa_polys = [
            r.frame for _, r in by_kind.get("boundaries", [])
            if r.meta.get("area_type") == "msoa" and str(r.meta.get("vintage")) == "2021"
        ]
        if msoa_polys and "lsoa_name" in lookup:
            msoas = max(msoa_polys, key=len)
            by_name = msoa21_from_names(lookup[["lsoa_code", "lsoa_name"]], msoas)
            lookup = lookup.drop(columns=[c for c in ("msoa_code", "msoa_name") if c in lookup]).merge(
                by_name, on="lsoa_code", how="left"
            )
            n_missing = int(lookup["msoa_code"].isna().sum())
            notes.append(
                "LSOA 2021 -> MSOA 2021 taken from ONS names (an LSOA's name is its MSOA's plus a letter)"
                + (f"; {n_missing} LSOAs unmatched" if n_missing else "")
            )
    keep_lsoas = resolve_areas(lookup, areas)
    lookup_all = lookup  # every LSOA the lookups place: ranks areas against all of England
    commissioners = commissioned_codes(lookup, keep_lsoas)
    lookup = lookup[lookup["lsoa_code"].isin(keep_lsoas)].reset_index(drop=True)
    for path, res in by_kind.get("lookup", []):
        if str(res.meta.get("vintage")) == "2021":
            use(path, res, int(res.frame["lsoa_code"].isin(keep_lsoas).sum()))
    for path, res in wl:
        use(path, res, int(res.frame["lad_code"].isin(lookup["lad_code"]).sum()))
    lsoa_set = set(lookup["lsoa_code"])
    echo(f"Areas: {len(lsoa_set):,} LSOAs (2021) in {lookup['lad_code'].nunique()} local authorities")

    crosswalk = pd.concat([r.frame for _, r in by_kind.get("lsoa_crosswalk", [])]) if by_kind.get("lsoa_crosswalk") else None
    for path, res in by_kind.get("lsoa_crosswalk", []):
        use(path, res, int(res.frame["lsoa21_code"].isin(lsoa_set).sum()))

    # --- population (2021 residents first: they weight crosswalks)
    population, pop_weights, national_ages = _population(by_kind, lsoa_set, crosswalk, use, notes)

    # --- boundaries
    areas_gdf, lsoa_all_gdf = _areas(by_kind, lookup, use, echo, notes)

    # --- deprivation
    deprivation, deprivation_national = _deprivation(by_kind, lsoa_set, crosswalk, pop_weights, use, notes)
    from .la_deprivation import MANIFEST_KEY, build_summary

    deprivation_summary = build_summary(deprivation_national, lookup_all, lookup, pop_weights)

    # --- practices
    practices, unplaced = _practices(
        by_kind, lookup, lookup_all, areas_gdf, commissioners, requested_areas(lookup_all, areas), use, echo, notes,
        allow_unplaced=allow_unplaced,
    )

    # --- registrations (observed or modelled catchments)
    postcodes_all = (
        pd.concat([r.frame for _, r in by_kind.get("postcodes", [])], ignore_index=True)
        if by_kind.get("postcodes") else None
    )
    registrations, catchments = _registrations(
        by_kind, practices, lsoa_set, lsoa_all_gdf, crosswalk, pop_weights, national_ages, postcodes_all,
        use, echo, notes,
    )
    # neighbours stay only when the model gives them patients living in the areas
    reaching = set(registrations.loc[registrations["in_area"], "practice_code"])
    practices = practices[(practices["in_area_by"] != "catchment") | practices["practice_code"].isin(reaching)]
    registrations = registrations[registrations["practice_code"].isin(set(practices["practice_code"]))]
    registrations = registrations.reset_index(drop=True)
    membership = {k: int(v) for k, v in practices["in_area_by"].value_counts().sort_index().items()}
    echo("Practices by membership: " + ", ".join(f"{k} {v}" for k, v in membership.items()))

    # PCN areas: the LSOAs where each PCN has most of its patients
    areas_gdf = _add_pcn_areas(areas_gdf, registrations, practices)

    # --- indicators
    indicators = _indicators(by_kind, practices, lookup, use, notes)

    sources_list = [used[p] for p in sorted(used, key=lambda p: p.name)]
    known = _dataset_codes(areas_gdf, lookup, practices, crosswalk, lsoa_set)
    without_rows = _files_without_rows(by_kind, used, sources, areas, known)
    for item in without_rows:
        echo(f"  no rows from {item['file']}: {item['reason']}")
    manifest = {
        "name": name or Path(out).name,
        "synthetic": False,
        "geography_vintage": "2021",
        "catchments": catchments,
        "areas_filter": list(areas or []),
        "deprivation_editions": sorted(int(e) for e in deprivation["edition"].unique()),
        MANIFEST_KEY: deprivation_summary,
        "comparability": (
            "IoD2019 was published on LSOA 2011 and is carried onto LSOA 2021 with the ONS best-fit "
            "lookup (split LSOAs copy their parent's rank and decile; merged LSOAs take the mean). "
            "IoD2019 and IoD2025 ranks are relative within each edition: compare positions, not scores."
        ),
        "practice_membership": membership,
        "unplaced_practices": unplaced,
        "sources": sources_list,
        "skipped_files": [_relative(p, sources) for p in skipped],
        "damaged_files": [{"file": _relative(p, sources), "reason": r} for p, r in damaged],
        "files_without_rows": without_rows,
        "notes": notes + [f"{_relative(p, sources)}: {w}" for p, w in found.warnings],
    }
    tables = {
        "areas": areas_gdf,
        "lookup": lookup,
        "deprivation": deprivation,
        "practices": practices.reset_index(drop=True),
        "registrations": registrations,
        "indicators": indicators,
        "population": population,
    }
    from .dataset import write_dataset

    echo("Validating and writing the dataset ...")
    path = write_dataset(out, tables, manifest)
    echo("")
    echo("Summary")
    echo(f"  {'file':<60} {'kind':<22} rows kept")
    for p in sorted(used, key=lambda p: p.name):
        echo(f"  {p.name[:60]:<60} {','.join(used[p]['kinds'])[:22]:<22} {used[p]['rows_kept']:,}")
    unused = sorted({p for _, (p, _) in enumerate((p, r) for k in by_kind.values() for p, r in k)} - set(used))
    for p in unused:
        echo(f"  {p.name[:60]:<60} {'(read, not needed)':<22} 0")
    for table, frame in tables.items():
        echo(f"  table {table:<14} {len(frame):>10,} rows")
    echo(f"  catchments: {catchments}")
    echo(f"Wrote {path} in {time.perf_counter() - t_start:.1f} s")
    echo(files_summary_line(len(recognised), len(skipped), len(damaged)))
    return path


def left_out_files(manifest: dict[str, Any]) -> pd.DataFrame:
    """The files a dataset was built without, from its manifest: one row per file with
    ``file``, ``status`` ("damaged, left out" / "no rows used" / "not recognised") and ``reason``.

    The Data page shows it and ``hiexplore info`` prints it. Older manifests lack the keys:
    the frame is then empty (nothing is invented).
    """
    rows = [{"file": d["file"], "status": "damaged, left out", "reason": d["reason"]}
            for d in manifest.get("damaged_files", [])]
    rows += [{"file": d["file"], "status": "no rows used", "reason": d["reason"]}
             for d in manifest.get("files_without_rows", [])]
    rows += [{"file": f, "status": "not recognised", "reason": "no reader matched its content"}
             for f in manifest.get("skipped_files", [])]
    return pd.DataFrame(rows, columns=["file", "status", "reason"])


#: files of each left-out group that ``hiexplore info`` names before pointing to the manifest
LEFT_OUT_SHOWN = 3


def left_out_lines(manifest: dict[str, Any], shown: int = LEFT_OUT_SHOWN) -> list[str]:
    """What ``hiexplore info`` prints about the files a dataset was built without.

    Damaged files are each named with the reason (they may hold figures the user expects);
    files that gave no rows and files not recognised are counted, the first ``shown`` named, and
    the rest left to the manifest (``files_without_rows``, ``skipped_files``; ``hiexplore info
    --json`` prints them all): a national source folder gives dozens of each.

    >>> man = {"files_without_rows": [{"file": f"f{i}.csv", "reason": "0 rows"} for i in range(5)]}
    >>> for line in left_out_lines(man, shown=2):
    ...     print(line)
    Files with no rows used: 5 (the first 2 below; all 5 in the manifest's files_without_rows, hiexplore info --json)
      - f0.csv: 0 rows
      - f1.csv: 0 rows
      ... and 3 more: see manifest files_without_rows
    """
    table = left_out_files(manifest)
    lines = [f"File {r.status}: {r.file}: {r.reason}" for r in table[table["status"] == "damaged, left out"].itertuples()]
    for status, title, key, with_reason in (
        ("no rows used", "Files with no rows used", "files_without_rows", True),
        ("not recognised", "Files not recognised", "skipped_files", False),
    ):
        rows = table[table["status"] == status]
        if rows.empty:
            continue
        n = len(rows)
        if n <= shown:
            lines.append(f"{title}: {n}")
        else:
            lines.append(f"{title}: {n} (the first {shown} below; all {n} in the manifest's {key}, hiexplore info --json)")
        lines += [f"  - {r.file}" + (f": {r.reason}" if with_reason else "") for r in rows.head(shown).itertuples()]
        if n > shown:
            lines.append(f"  ... and {n - shown} more: see manifest {key}")
    return lines


def files_summary_line(read: int, not_recognised: int, damaged: int) -> str:
    """The build's last line.

    >>> files_summary_line(41, 5, 1)
    'files read: 41, not recognised: 5, damaged: 1'
    """
    return f"files read: {read}, not recognised: {not_recognised}, damaged: {damaged}"


#: columns whose code prefixes say where a file's rows are (W01 = Welsh LSOAs, S01 = Scottish ...)
_CODE_COLUMNS = ("lsoa_code", "lsoa11_code", "lsoa21_code", "area_code", "lad_code", "ward_code", "practice_code")


def _dataset_codes(
    areas_gdf: pd.DataFrame, lookup: pd.DataFrame, practices: pd.DataFrame, crosswalk: pd.DataFrame | None,
    lsoa_set: set[str],
) -> set[str]:
    """Every area and practice code of the dataset (LSOA 2011 predecessors included)."""
    known = set(areas_gdf["area_code"].astype(str)) | set(practices["practice_code"].astype(str))
    for col in lookup.columns:
        if col.endswith("_code"):
            known |= set(lookup[col].dropna().astype(str))
    if crosswalk is not None:
        known |= set(crosswalk.loc[crosswalk["lsoa21_code"].isin(lsoa_set), "lsoa11_code"].astype(str))
    return known


def _key_codes(frames: list[pd.DataFrame]) -> pd.Series | None:
    """A file's key codes: the first of :data:`_CODE_COLUMNS` its tables have."""
    for col in _CODE_COLUMNS:
        values = [f[col] for f in frames if col in f.columns]
        if values:
            codes = pd.concat(values).dropna().astype(str)
            if not codes.empty:
                return codes.rename(col)
    return None


def _code_summary(codes: pd.Series | None) -> str:
    """'lsoa_code W01... x1,909' -- the commonest code prefixes of a file's key column."""
    if codes is None:
        return ""
    top = codes.str[:3].value_counts().head(3)
    return f"{codes.name} " + ", ".join(f"{k}... x{v:,}" for k, v in top.items())


def _files_without_rows(
    by_kind: dict[str, list[tuple[Path, ReadResult]]],
    used: dict[Path, dict[str, Any]],
    sources: Sequence[Path],
    areas: Sequence[str] | None,
    known: set[str],
) -> list[dict[str, Any]]:
    """Recognised files that put no row in the dataset, each with the reason (manifest key
    ``files_without_rows``): none of their codes is one of the dataset's areas (for example a
    file of Welsh LSOAs), or they hold such rows but another file of the same kind was used."""
    results: dict[Path, list[ReadResult]] = defaultdict(list)
    for items in by_kind.values():
        for p, r in items:
            results[p].append(r)
    where = f"the chosen areas ({', '.join(areas)})" if areas else "the dataset's areas"
    out: list[dict[str, Any]] = []
    for p in sorted(results, key=lambda q: _relative(q, sources)):
        if p in used and used[p]["rows_kept"] > 0:
            continue
        res = results[p]
        n = sum(len(r.frame) for r in res)
        codes = _key_codes([r.frame for r in res])
        summary = _code_summary(codes)
        hits = int(codes.isin(known).sum()) if codes is not None else 0
        if hits:
            reason = (
                f"not used: {hits:,} of its {n:,} rows are for {where}, but another file of the same "
                "kind was used instead"
            )
        else:
            reason = f"0 rows for {where}: none of its {n:,} rows matched" + (f" ({summary})" if summary else "")
        out.append({
            "file": _relative(p, sources),
            "kinds": sorted({r.kind for r in res}),
            "rows_read": int(n),
            "reason": reason,
        })
    return out


def _population(by_kind, lsoa_set, crosswalk, use, notes):  # noqa: ANN001, ANN202
    pop = pd.DataFrame({"lsoa_code": sorted(lsoa_set)})
    weights = None
    for path, res in by_kind.get("ethnicity", []):
        f = res.frame[res.frame["lsoa_code"].isin(lsoa_set)]
        use(path, res, len(f))
        pop = pop.merge(f, on="lsoa_code", how="left")
        if "residents" in pop:
            weights = pd.concat([res.frame.set_index("lsoa_code")["residents"]])
    for path, res in by_kind.get("household_deprivation", []):
        f = res.frame[res.frame["lsoa_code"].isin(lsoa_set)]
        use(path, res, len(f))
        pop = pop.merge(f, on="lsoa_code", how="left")
    ages = [(p, r) for p, r in by_kind.get("population", []) if any(c.startswith("age_") for c in r.frame.columns)]
    national_ages = None
    for path, res in ages[:1]:
        frame = res.frame
        age_cols = [c for c in frame.columns if c.startswith("age_")] + ["population"]
        if str(res.meta.get("vintage")) == "2011":
            if crosswalk is None:
                notes.append(f"{path.name}: LSOA 2011 population not used (no LSOA 2011->2021 lookup)")
                continue
            frame = crosswalk_lsoa11_to_21(frame, crosswalk, sum_cols=age_cols, weights21=weights)
            notes.append(f"{path.name}: LSOA 2011 population by age carried to LSOA 2021 (split by 2021 residents)")
        national_ages = frame[frame["lsoa_code"].astype(str).str.startswith("E01")][["lsoa_code", *age_cols]]
        f = frame[frame["lsoa_code"].isin(lsoa_set)][["lsoa_code", *age_cols]]
        f = f.rename(columns={"population": "population_by_age_total"})
        use(path, res, len(f))
        pop = pop.merge(f, on="lsoa_code", how="left")
    if "residents" in pop:
        pop["population"] = pop["residents"].astype(float)
    elif "population_by_age_total" in pop:
        pop["population"] = pop["population_by_age_total"]
    else:
        pop["population"] = np.nan
    if weights is None and "population" in pop:
        weights = pop.set_index("lsoa_code")["population"]
    return pop, weights, national_ages


def _areas(by_kind, lookup, use, echo, notes):  # noqa: ANN001, ANN202
    results = [(p, r) for p, r in by_kind.get("boundaries", [])]
    lsoa_needed = set(lookup["lsoa_code"])
    lsoa21 = [(p, r) for p, r in results if str(r.meta.get("vintage")) == "2021" or r.meta.get("area_type") != "lsoa"]
    lsoa_gdf, lsoa_path = _choose_boundaries(lsoa21, "lsoa", lsoa_needed, echo, notes)
    if lsoa_gdf is None:
        raise DatasetError("No LSOA 2021 boundary file was recognised: the dataset needs neighbourhood polygons.")
    # the full national (or widest) LSOA layer, for catchment buffers beyond the area
    lsoa_all = max(
        (r.frame for p, r in results if r.meta.get("area_type") == "lsoa" and str(r.meta.get("vintage")) == "2021"),
        key=len,
    )
    for p, r in results:
        if p == lsoa_path and r.meta.get("area_type") == "lsoa":
            use(p, r, len(lsoa_gdf))
    lsoa_gdf = lsoa_gdf.assign(area_type="lsoa")
    if "lsoa_name" in lookup:
        lsoa_gdf["area_name"] = lsoa_gdf["area_name"].fillna(lsoa_gdf["area_code"].map(lookup.set_index("lsoa_code")["lsoa_name"]))
    layers = [lsoa_gdf[["area_code", "area_name", "area_type", "geometry"]]]
    for area_type, code_col, name_col in (
        ("msoa", "msoa_code", "msoa_name"),
        ("ward", "ward_code", "ward_name"),
        ("lad", "lad_code", "lad_name"),
        ("icb", "icb_code", "icb_name"),
    ):
        if code_col not in lookup or lookup[code_col].isna().all():
            continue
        needed = set(lookup[code_col].dropna())
        gdf, path = _choose_boundaries(results, area_type, needed, echo, []) if area_type != "icb" else (None, None)
        if gdf is not None and len(gdf) == len(needed):
            for p, r in results:
                if p == path and r.meta.get("area_type") == area_type:
                    use(p, r, len(gdf))
        else:
            gdf = _dissolve(lsoa_gdf, lookup, code_col, name_col)
            msg = f"{area_type} polygons dissolved from LSOA 2021 boundaries (best-fit lookup)"
            echo(msg)
            notes.append(msg)
        if name_col in lookup:
            names = lookup.dropna(subset=[code_col]).drop_duplicates(code_col).set_index(code_col)[name_col]
            gdf["area_name"] = gdf["area_name"].fillna(gdf["area_code"].map(names)) if "area_name" in gdf else gdf["area_code"].map(names)
        gdf = gdf.assign(area_type=area_type)
        layers.append(gdf[["area_code", "area_name", "area_type", "geometry"]])
    areas = gpd.GeoDataFrame(pd.concat(layers, ignore_index=True), geometry="geometry", crs=4326)
    return areas, lsoa_all


def _deprivation(by_kind, lsoa_set, crosswalk, pop_weights, use, notes):  # noqa: ANN001, ANN202
    editions: dict[int, list[tuple[Path, ReadResult]]] = defaultdict(list)
    for path, res in by_kind.get("deprivation", []):
        editions[int(res.frame["edition"].iloc[0]) if len(res.frame) else int(res.meta.get("edition", 0))].append((path, res))
    frames = []
    national: dict[int, pd.DataFrame] = {}
    for edition, items in sorted(editions.items()):
        merged: pd.DataFrame | None = None
        vintage = str(items[0][1].meta.get("vintage"))
        # national files first; a local file (e.g. Leicester only) fills gaps after
        for _path, res in sorted(items, key=lambda pr: -len(pr[1].frame)):
            f = res.frame.drop_duplicates("lsoa_code").set_index("lsoa_code")
            merged = f if merged is None else merged.combine_first(f)
        assert merged is not None
        merged = merged.reset_index()
        if vintage == "2011":
            if crosswalk is None:
                notes.append(f"IoD{edition} is on LSOA 2011 and no LSOA 2011->2021 lookup was given: not used")
                continue
            num_cols = [c for c in merged.columns if c not in ("lsoa_code", "edition") and pd.api.types.is_numeric_dtype(merged[c])]
            pop_cols = [c for c in num_cols if c.startswith("population")]
            mean_cols = [c for c in num_cols if c not in pop_cols]
            merged = crosswalk_lsoa11_to_21(merged, crosswalk, sum_cols=pop_cols, mean_cols=mean_cols, weights21=pop_weights)
            for c in [c for c in merged.columns if c.endswith("_decile")]:
                merged[c] = np.round(merged[c])
            merged["crosswalked"] = True
            notes.append(f"IoD{edition} carried from LSOA 2011 to LSOA 2021 (best-fit lookup; see comparability)")
        else:
            merged["crosswalked"] = False
        merged["edition"] = edition
        national[edition] = merged
        kept = merged[merged["lsoa_code"].isin(lsoa_set)]
        for path, res in items:
            use(path, res, len(kept))
        missing = lsoa_set - set(kept["lsoa_code"])
        if missing:
            notes.append(f"IoD{edition}: {len(missing)} LSOAs have no deprivation figures")
        frames.append(kept)
    if not frames:
        raise DatasetError("No English Indices of Deprivation file was recognised.")
    return pd.concat(frames, ignore_index=True), national


#: share of a requested area's practices (or of their registered patients) that may be left
#: unplaced before the build stops (``--allow-unplaced`` overrides); judged per requested area,
#: or per ICB when no areas are requested
UNPLACED_LIMIT = 0.05
#: a sub-ICB (or ICB) commissions for a requested area when at least half of its own LSOAs lie in
#: the area (the build's rule, :func:`commissioned_codes`) or when it holds at least this share
#: of the area's LSOAs (a district inside a larger sub-ICB: Rutland in 03W)
COVER_SHARE = 0.25
#: practices outside the areas but this close (metres) to one of their LSOAs join the catchment
#: model: their patients who live in the areas are apportioned like everyone else's
REACH_M = 5_000.0
#: ``in_area_by`` values: why a practice is in the dataset
IN_AREA_BY = ("commissioner", "location", "both", "catchment")


def commissioned_codes(lookup: pd.DataFrame, keep_lsoas: Iterable[str]) -> dict[str, set[str]]:
    """Sub-ICB and ICB ODS codes that commission for the dataset's areas.

    A sub-ICB location (or ICB) counts when at least half of its LSOAs (national lookup) are in
    ``keep_lsoas``: its practices are then the areas' practices wherever they stand. Returns
    ``{"sub_icb": {...}, "icb": {...}}`` (empty sets when the lookup has no such codes).
    """
    keep = pd.Index(keep_lsoas)
    out: dict[str, set[str]] = {"sub_icb": set(), "icb": set()}
    inside = lookup["lsoa_code"].isin(keep)
    for level in out:
        col = f"{level}_code_nhs"
        if col not in lookup:
            continue
        share = inside.groupby(lookup[col].astype("string")).mean()
        out[level] = {str(c) for c, v in share.items() if pd.notna(c) and v >= 0.5}
    return out


@dataclass(frozen=True)
class RequestedArea:
    """One ``--areas`` code as the unplaced-practice check judges it.

    ``sub_icb`` / ``icb``: the ODS codes commissioning for it (see :data:`COVER_SHARE`);
    ``touching_sub_icb`` / ``touching_icb``: every one holding any of its LSOAs (the fallback for a
    practice commissioned for the areas together but for none of them alone).
    """

    code: str
    name: str
    lsoas: frozenset[str]
    sub_icb: frozenset[str]
    icb: frozenset[str]
    touching_sub_icb: frozenset[str]
    touching_icb: frozenset[str]

    @property
    def label(self) -> str:
        """'E06000017 Rutland' (the code alone when the lookups give no name)."""
        return self.code if not self.name or self.name == self.code else f"{self.code} {self.name}"


def _area_name(lookup: pd.DataFrame, code: str) -> str:
    """The name the lookups give an area code (the code itself when none does)."""
    for col in AREA_CODE_COLUMNS:
        if col not in lookup.columns:
            continue
        hit = (lookup[col].astype("string") == code).fillna(False).to_numpy()
        if not hit.any():
            continue
        if col == "utla_code":
            name_col = "county_name" if code.startswith("E10") else "lad_name"
        else:
            name_col = col.replace("_code_nhs", "_name").replace("_code", "_name")
        if name_col in lookup.columns:
            names = lookup.loc[hit, name_col].dropna()
            if len(names):
                return str(names.iloc[0])
    return code


def requested_areas(lookup: pd.DataFrame, codes: Sequence[str] | None) -> list[RequestedArea]:
    """Each requested area code with its name, LSOAs and commissioners (none when ``codes`` is empty).

    ``lookup`` is the national LSOA 2021 lookup (before the cut to the areas). A sub-ICB (or, for
    practices whose sub-ICB the lookup does not know, an ICB) commissions for an area when at least
    half of its LSOAs are in the area or it holds at least :data:`COVER_SHARE` of the area's.
    """
    out: list[RequestedArea] = []
    for code in dict.fromkeys(codes or []):
        lsoas = resolve_areas(lookup, [code])
        inside = lookup["lsoa_code"].isin(lsoas)
        found: dict[str, set[str]] = {"sub_icb": set(), "icb": set()}
        touching: dict[str, set[str]] = {"sub_icb": set(), "icb": set()}
        for level in found:
            col = f"{level}_code_nhs"
            if col not in lookup:
                continue
            key = lookup[col].astype("string")
            own_share = inside.groupby(key).mean()
            area_share = key[inside].value_counts() / max(int(inside.sum()), 1)
            touching[level] = {str(c) for c in area_share.index if pd.notna(c)}
            found[level] = {
                str(c) for c in touching[level]
                if own_share.get(c, 0.0) >= 0.5 or area_share.get(c, 0.0) >= COVER_SHARE
            }
        out.append(RequestedArea(
            code=code, name=_area_name(lookup, code), lsoas=frozenset(lsoas),
            sub_icb=frozenset(found["sub_icb"]), icb=frozenset(found["icb"]),
            touching_sub_icb=frozenset(touching["sub_icb"]), touching_icb=frozenset(touching["icb"]),
        ))
    return out


def _commissioned_by(pr: pd.DataFrame, sub_icbs: Iterable[str], icbs: Iterable[str], known_subs: set[str]) -> np.ndarray:
    """Practices whose sub-ICB is one of ``sub_icbs`` (or, sub-ICB unknown to the lookups, whose ICB
    is one of ``icbs``)."""
    sub = pr["sub_icb_code"].isin(set(sub_icbs)).fillna(False).to_numpy(dtype=bool)
    unknown = ~pr["sub_icb_code"].isin(known_subs).fillna(False).to_numpy(dtype=bool)
    return sub | (unknown & pr["icb_code"].isin(set(icbs)).fillna(False).to_numpy(dtype=bool))


def area_membership(
    pr: pd.DataFrame, requested: Sequence[RequestedArea], commissioned: np.ndarray, known_subs: set[str]
) -> list[list[str]]:
    """For each practice, the requested area codes it belongs to (in ``requested`` order).

    A practice belongs to an area commissioned by its sub-ICB/ICB (:func:`requested_areas`) or
    when it stands in one of the area's LSOAs (``pr["lsoa_code"]``). A practice the build counts as
    commissioned (``commissioned``) but that belongs to no single area goes to every area its
    commissioner touches, so that no unplaced practice escapes the per-area check.
    """
    n = len(pr)
    masks = []
    stands = pr["lsoa_code"].astype("string") if "lsoa_code" in pr else pd.Series(pd.NA, index=pr.index, dtype="string")
    for a in requested:
        own = _commissioned_by(pr, a.sub_icb, a.icb, known_subs) | stands.isin(a.lsoas).fillna(False).to_numpy(dtype=bool)
        masks.append(own)
    in_none = np.asarray(commissioned, dtype=bool).copy()
    for m in masks:
        in_none &= ~m
    if in_none.any():
        for a, m in zip(requested, masks, strict=True):
            m |= in_none & _commissioned_by(pr, a.touching_sub_icb, a.touching_icb, known_subs)
    return [[a.code for a, m in zip(requested, masks, strict=True) if m[i]] for i in range(n)]


def _commissioner(pr: pd.DataFrame, by_kind: dict, lookup_sub_to_icb: dict[str, str]) -> pd.DataFrame:
    """Fill each practice's commissioner: epraccur first, then the QOF mapping, then ePCN."""
    for col in ("sub_icb_code", "icb_code"):
        if col not in pr:
            pr[col] = pd.NA
        pr[col] = pr[col].astype("string")
    for _p, r in by_kind.get("practice_geography", []):
        g = r.frame.drop_duplicates("practice_code").set_index("practice_code")
        pr["sub_icb_code"] = pr["sub_icb_code"].fillna(pr["practice_code"].map(g["sub_icb_code"]).astype("string"))
        if "icb_code_nhs" in g:
            pr["icb_code"] = pr["icb_code"].fillna(pr["practice_code"].map(g["icb_code_nhs"]).astype("string"))
    for _p, r in by_kind.get("pcn_membership", []):
        f = r.frame
        if "sub_icb_code" not in f:
            continue
        f = f[f["end_date"].isna()] if "end_date" in f else f
        g = f.dropna(subset=["sub_icb_code"]).drop_duplicates("practice_code", keep="last").set_index("practice_code")
        pr["sub_icb_code"] = pr["sub_icb_code"].fillna(pr["practice_code"].map(g["sub_icb_code"]).astype("string"))
    pr["icb_code"] = pr["icb_code"].fillna(pr["sub_icb_code"].map(lookup_sub_to_icb).astype("string"))
    return pr


def _practices(by_kind, lookup, lookup_all, areas_gdf, commissioners, requested, use, echo, notes, *, allow_unplaced=False):  # noqa: ANN001, ANN202, E501
    """The dataset's practices and the list of those that could not be placed.

    Members are the open GP practices commissioned for the areas (their sub-ICB or ICB is one of
    ``commissioners``) together with those standing inside the areas: ``in_area_by`` says which
    (``commissioner``, ``location``, ``both``). Practices outside the areas within
    :data:`REACH_M` of them join as ``catchment`` (kept only if the catchment model gives them
    patients living in the areas).
    """
    from .io.practices import place_practices

    if not by_kind.get("practices"):
        raise DatasetError("No GP practice file (epraccur) was recognised.")
    path, res = by_kind["practices"][0]
    pr = res.frame
    pr = pr[(pr["setting"] == 4) & (pr["status"] == "open")].copy()
    # PCN membership: current ePCN partnerships first, then the QOF mapping
    pcn = None
    for _p, r in by_kind.get("pcn_membership", []):
        f = r.frame
        f = f[f["end_date"].isna()] if "end_date" in f else f
        f = f.sort_values("start_date").drop_duplicates("practice_code", keep="last") if "start_date" in f else f.drop_duplicates("practice_code")
        pcn = f if pcn is None else pd.concat([pcn, f[~f["practice_code"].isin(pcn["practice_code"])]])
    geo = None
    for _p, r in by_kind.get("practice_geography", []):
        geo = r.frame.drop_duplicates("practice_code")
    if pcn is not None:
        pr = pr.merge(pcn[["practice_code", "pcn_code", "pcn_name"]], on="practice_code", how="left")
    if geo is not None:
        fill = geo.set_index("practice_code")
        for col in ("pcn_code", "pcn_name"):
            if col in fill:
                if col not in pr:
                    pr[col] = np.nan
                pr[col] = pr[col].fillna(pr["practice_code"].map(fill[col]))
    for col in ("pcn_code", "pcn_name"):
        if col not in pr:
            pr[col] = pd.NA
    # QOF marks practices in no PCN with the code "U": not a PCN
    no_pcn = pr["pcn_code"].notna() & ~pr["pcn_code"].astype("string").str.fullmatch(r"[A-Z0-9]{3,10}").fillna(False)
    if no_pcn.any():
        pr.loc[no_pcn, ["pcn_code", "pcn_name"]] = pd.NA
    sub_to_icb: dict[str, str] = {}
    if {"sub_icb_code_nhs", "icb_code_nhs"} <= set(lookup.columns):
        sub_to_icb = lookup.dropna(subset=["sub_icb_code_nhs"]).drop_duplicates("sub_icb_code_nhs").set_index(
            "sub_icb_code_nhs")["icb_code_nhs"].astype(str).to_dict()
    pr = _commissioner(pr, by_kind, sub_to_icb)
    known_subs = set(sub_to_icb)
    commissioned = _commissioned_by(pr, commissioners["sub_icb"], commissioners["icb"], known_subs)
    # place from every postcode file found (Code-Point Open areas or subsets, ONSPD, NHSPD)
    pcs = [r.frame for _, r in by_kind.get("postcodes", [])]
    if pcs:
        postcodes = pd.concat([f[["postcode", "easting", "northing"]] for f in pcs], ignore_index=True)
        postcodes = postcodes.sort_values("easting", na_position="last").drop_duplicates("postcode")
        pr = place_practices(pr, postcodes).frame
    else:
        pr["easting"] = pr["northing"] = pr["latitude"] = pr["longitude"] = np.nan
        notes.append("No postcode file (OS Code-Point Open, ONSPD or NHSPD) was recognised: practices cannot be placed")
    placed = pr["easting"].notna().to_numpy()
    # the LSOA each practice stands in
    lsoa_polys = areas_gdf[areas_gdf["area_type"] == "lsoa"][["area_code", "geometry"]]
    pts = gpd.GeoDataFrame(pr, geometry=gpd.points_from_xy(pr["longitude"], pr["latitude"]), crs=4326)
    joined = gpd.sjoin(pts, lsoa_polys, how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    pr["lsoa_code"] = joined["area_code"].to_numpy()
    located = pr["lsoa_code"].notna().to_numpy()
    # neighbours: placed practices within reach of an in-area LSOA
    near = np.zeros(len(pr), dtype=bool)
    if placed.any() and len(lsoa_polys):
        from scipy.spatial import cKDTree

        cent = lsoa_polys.to_crs(27700).geometry.centroid
        tree = cKDTree(np.c_[cent.x.to_numpy(), cent.y.to_numpy()])
        d, _ = tree.query(pr.loc[placed, ["easting", "northing"]].to_numpy(), k=1)
        near[np.flatnonzero(placed)] = d <= REACH_M
    pr["in_area_by"] = np.select(
        [commissioned & located, commissioned, located, near],
        ["both", "commissioner", "location", "catchment"],
        default="",
    )
    # list sizes by age band first (they feed the catchment model, whose totals must match)
    sizes = None
    ordered = sorted(by_kind.get("list_sizes", []), key=lambda pr: "list_65_plus" not in pr[1].frame.columns)
    for _p, r in ordered:
        f = r.frame.drop_duplicates("practice_code").set_index("practice_code")["list_size"]
        sizes = f if sizes is None else sizes.combine_first(f)
    pr["list_size"] = pr["practice_code"].map(sizes) if sizes is not None else np.nan
    if not placed.any():  # without positions no practice can be found inside the areas either
        raise DatasetError(
            f"None of the {len(pr):,} open GP practices could be placed: no postcode file (OS Code-Point "
            "Open, ONS or NHS Postcode Directory) "
            + ("was recognised" if not pcs else "holds their postcodes")
            + ", so neither the practices standing in the areas nor any catchment can be found. Add the "
            "postcode file(s) to the source folder."
        )
    icb_names: dict[str, str] = {}
    if {"icb_code_nhs", "icb_name"} <= set(lookup_all.columns):
        icb_names = lookup_all.dropna(subset=["icb_code_nhs", "icb_name"]).drop_duplicates("icb_code_nhs").set_index(
            "icb_code_nhs")["icb_name"].astype(str).to_dict()
    # the per-area check knows every sub-ICB of the national lookup (a Rutland-only build must not
    # judge Leicester's practices for Rutland because 04C is outside its cut of the lookup)
    subs_all = set(lookup_all["sub_icb_code_nhs"].dropna().astype(str)) if "sub_icb_code_nhs" in lookup_all else known_subs
    unplaced = _check_unplaced(pr, commissioned, requested, subs_all, icb_names, allow_unplaced, echo, notes)
    pr = pr[pr["in_area_by"] != ""].copy()
    if not (pr["in_area_by"] != "catchment").any():
        raise DatasetError(
            "No open GP practice is commissioned for, or stands inside, the requested areas: "
            "the dataset would have no practices. Check the epraccur file and --areas."
        )
    if not pr["easting"].notna().any():
        raise DatasetError(
            f"None of the {len(pr)} practices of the areas could be placed: no postcode file (OS "
            "Code-Point Open, ONS or NHS Postcode Directory) holds their postcodes, so no catchment "
            "can be modelled. Add the postcode file(s) to the source folder."
        )
    counts = pr["in_area_by"].value_counts()
    echo(
        f"Practices: {int((pr['in_area_by'] != 'catchment').sum())} open GP practices of the areas "
        f"(commissioned {int(counts.get('commissioner', 0) + counts.get('both', 0))}, inside "
        f"{int(counts.get('location', 0) + counts.get('both', 0))}, both {int(counts.get('both', 0))}); "
        f"{int(counts.get('catchment', 0))} more within {REACH_M / 1000:.0f} km join the catchment model"
    )
    use(path, res, len(pr))
    for p, r in by_kind.get("postcodes", []):
        use(p, r, int(r.frame["postcode"].isin(pr["postcode"]).sum()))
    for p, r in by_kind.get("pcn_membership", []) + by_kind.get("practice_geography", []):
        use(p, r, int(r.frame["practice_code"].isin(pr["practice_code"]).sum()))
    for p, r in by_kind.get("list_sizes", []):
        use(p, r, int(r.frame["practice_code"].isin(pr["practice_code"]).sum()))
    missing_size = pr["list_size"].isna().sum()
    if missing_size:
        notes.append(f"{missing_size} practices have no published list size")
    pr["status"] = "open"
    cols = [
        "practice_code", "practice_name", "pcn_code", "pcn_name", "sub_icb_code", "icb_code", "postcode",
        "easting", "northing", "latitude", "longitude", "list_size", "status", "lsoa_code", "in_area_by",
    ]
    return pr[[c for c in cols if c in pr.columns]].reset_index(drop=True), unplaced


def _unplaced_entry(r: Any, areas: list[str], names: dict[str, str], in_dataset: bool) -> dict[str, Any]:
    """One ``unplaced_practices`` manifest entry.

    ``in_dataset``: False for a practice whose sub-ICB commissions for a requested area but lies
    mostly outside the requested areas (Rutland alone within 03W): judged for the area, yet, as
    it cannot be found standing inside it, not one of the dataset's practices.
    """
    def text(v: Any) -> str | None:
        return None if pd.isna(v) else str(v)

    reason = "no postcode in epraccur" if pd.isna(r.postcode) else "postcode not in the postcode file(s) found"
    if not in_dataset:
        reason += ("; not in the dataset (its commissioner serves the area but lies mostly outside the "
                   "requested areas, and without a position it cannot be found inside them)")
    return {
        "practice_code": str(r.practice_code),
        "practice_name": text(r.practice_name),
        "postcode": text(r.postcode),
        "icb_code": text(r.icb_code),
        "sub_icb_code": text(getattr(r, "sub_icb_code", None)),
        "reason": reason,
        "areas": list(areas),
        "area_names": [names.get(c, c) for c in areas],
        "in_dataset": bool(in_dataset),
    }


def unplaced_shares(
    practices: pd.DataFrame, groups: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Per group of practices: how many and what share of them, and of their registered patients
    (``list_size``), could not be placed (no ``easting``).

    Columns ``group, practices, unplaced, share_practices, patients, unplaced_patients,
    share_patients`` (the patient share is NaN when no list size is known).

    >>> pr = pd.DataFrame({"easting": [1.0, None, 2.0, None], "list_size": [9000, 1000, 5000, 5000]})
    >>> unplaced_shares(pr, {"A": np.array([True, True, True, False])})[["unplaced", "share_practices", "share_patients"]].round(3).to_dict("records")
    [{'unplaced': 1, 'share_practices': 0.333, 'share_patients': 0.067}]
    """
    miss = practices["easting"].isna().to_numpy()
    size = pd.to_numeric(practices["list_size"], errors="coerce").to_numpy(dtype="float64")
    rows = []
    for g, mask in groups.items():
        mask = np.asarray(mask, dtype=bool)
        n, k = int(mask.sum()), int((mask & miss).sum())
        pats = float(np.nansum(size[mask]))
        lost = float(np.nansum(size[mask & miss]))
        rows.append({
            "group": g, "practices": n, "unplaced": k, "share_practices": k / n if n else 0.0,
            "patients": pats, "unplaced_patients": lost, "share_patients": lost / pats if pats > 0 else np.nan,
        })
    return pd.DataFrame(rows, columns=["group", "practices", "unplaced", "share_practices", "patients",
                                       "unplaced_patients", "share_patients"])


def _check_unplaced(
    pr: pd.DataFrame, commissioned: np.ndarray, requested: Sequence[RequestedArea], known_subs: set[str],
    icb_names: dict[str, str], allow: bool, echo: Echo, notes: list[str],
) -> list[dict[str, Any]]:
    """List the practices of the requested areas that could not be placed; stop past :data:`UNPLACED_LIMIT`.

    The share is judged for each requested area (:func:`requested_areas`, :func:`area_membership`:
    the practices commissioned for it or standing in it), by practices and by registered patients
    (list size); with no areas requested, for each ICB over its commissioned practices. ``pr``:
    every open GP practice, placed or not, with ``lsoa_code`` where it stands in the dataset's areas.
    """
    if requested:
        member_of = area_membership(pr, requested, commissioned, known_subs)
        groups = {a.code: np.array([a.code in m for m in member_of], dtype=bool) for a in requested}
        names = {a.code: a.name for a in requested}
        labels = {a.code: a.label for a in requested}
        per = "requested area"
    else:
        icb = pr["icb_code"].astype("string").fillna("?").to_numpy()
        com = np.asarray(commissioned, dtype=bool)  # every practice judged here is in the dataset
        member_of = [[str(icb[i])] if com[i] else [] for i in range(len(pr))]
        groups = {str(c): com & (icb == c) for c in sorted(set(icb[com]))}
        names = {c: icb_names.get(c, c) for c in groups}
        labels = {c: c if names[c] == c else f"{c} {names[c]}" for c in groups}
        per = "ICB (no --areas given: all of England, judged per ICB)"
    miss = pr["easting"].isna().to_numpy()
    rows = [i for i in range(len(pr)) if miss[i] and member_of[i]]
    if not rows:
        return []
    com = np.asarray(commissioned, dtype=bool)
    listed = [_unplaced_entry(r, member_of[i], names, bool(com[i]))
              for i, r in zip(rows, pr.iloc[rows].itertuples(), strict=True)]

    def line(u: dict[str, Any]) -> str:
        return (f"  {u['practice_code']}  {u['practice_name'] or ''}  {u['postcode'] or '(no postcode)'}"
                f"  [{', '.join(u['areas'])}]")

    echo(f"Unplaced: {len(listed)} GP practices of the areas could not be placed (code, name, postcode, area):")
    for u in listed[:200]:
        echo(line(u))
    shares = unplaced_shares(pr, groups).set_index("group")

    def describe(c: str) -> str:
        s = shares.loc[c]
        pats = ("no list sizes to weigh patients" if pd.isna(s["share_patients"]) else
                f"{s['unplaced_patients']:,.0f} of {s['patients']:,.0f} registered patients ({s['share_patients']:.1%})")
        return f"{labels[c]}: {int(s['unplaced'])} of {int(s['practices'])} practices ({s['share_practices']:.1%}), {pats}"

    for c in shares.index[shares["unplaced"] > 0]:
        echo(f"  {describe(c)}")
    over = [
        c for c in shares.index
        if shares.loc[c, "share_practices"] > UNPLACED_LIMIT
        or (pd.notna(shares.loc[c, "share_patients"]) and shares.loc[c, "share_patients"] > UNPLACED_LIMIT)
    ]
    msg = (
        f"{len(listed)} GP practices of the areas could not be placed (their postcode is missing from "
        "the postcode files): " + ", ".join(u["practice_code"] for u in listed[:50])
        + (" ..." if len(listed) > 50 else "")
    )
    outside = [u["practice_code"] for u in listed if not u["in_dataset"]]
    notes.append(msg + "; they keep their practice figures but have no catchment" + (
        f" ({len(outside)} of them, {', '.join(outside[:20])}, are not in the dataset: their commissioner serves "
        "a requested area but lies mostly outside the requested areas)" if outside else ""))
    if over:
        detail = "; ".join(describe(c) for c in over)
        if not allow:
            blocks = []
            for c in over:
                blocks.append(describe(c) + ". Unplaced (code, name, postcode):")
                blocks += [f"    {u['practice_code']}  {u['practice_name'] or ''}  {u['postcode'] or '(no postcode)'}"
                           for u in listed if c in u["areas"]]
            raise DatasetError(
                f"More than {UNPLACED_LIMIT:.0%} of the GP practices of a {per} (commissioned for it or "
                "standing in it), or of their registered patients, could not be placed:\n"
                + "\n".join(blocks)
                + "\nAdd a postcode file that holds them (OS Code-Point Open, ONSPD or NHSPD), or "
                "build anyway with --allow-unplaced."
            )
        notes.append(f"built with --allow-unplaced although {detail}")
    return listed


def _registrations(by_kind, practices, lsoa_set, lsoa_all_gdf, crosswalk, pop_weights, national_ages, postcodes, use, echo, notes):  # noqa: ANN001, ANN202, E501
    codes = set(practices["practice_code"])
    observed = []
    for path, res in by_kind.get("registrations", []):
        f = res.frame
        if "sex" in f:
            f = f[f["sex"].astype(str).str.upper().isin(["ALL", "PERSONS"])]
        f = f[f["practice_code"].isin(codes)]
        if f.empty:
            continue
        if str(res.meta.get("vintage")) == "2011":
            real = f[f["lsoa_code"].str.match(r"^[EW]01")]
            if crosswalk is not None:
                real = crosswalk_lsoa11_to_21(real, crosswalk, sum_cols=["patients"], weights21=pop_weights, by=["practice_code"])
            nolsoa = f[~f["lsoa_code"].str.match(r"^[EW]01")].groupby("practice_code", as_index=False)["patients"].sum()
            nolsoa["lsoa_code"] = "NO_LSOA"
            f = pd.concat([real, nolsoa], ignore_index=True)
        f = f.groupby(["practice_code", "lsoa_code"], as_index=False)["patients"].sum()
        use(path, res, len(f))
        observed.append(f)
    if observed:
        obs = pd.concat(observed).groupby(["practice_code", "lsoa_code"], as_index=False)["patients"].sum()
        share = obs["practice_code"].nunique() / max(len(codes), 1)
        if share >= 0.9:
            obs["catchment_source"] = "observed"
            obs["in_area"] = obs["lsoa_code"].isin(lsoa_set)
            echo(f"Catchments: observed NHS Digital registrations for {share:.0%} of practices")
            return obs, "observed"
        notes.append(f"Registrations by LSOA cover only {share:.0%} of the practices: catchments modelled instead")
    # modelled catchments: the calibrated spatial interaction model (docs/catchments.md)
    from scipy.spatial import cKDTree

    from .catchments import (
        AGE_BANDS,
        fit_catchments,
        lsoa_age_bands,
        lsoa_points,
        practice_age_bands,
        registration_ratios,
    )

    echo("Catchments: no patients-by-LSOA file covers these practices; modelling them (spatial interaction) ...")
    if national_ages is None:
        raise DatasetError(
            "Catchments cannot be modelled without LSOA populations by age (ONS mid-year estimates)."
        )
    bands = lsoa_age_bands(national_ages)
    lists = None
    for _p, r in by_kind.get("list_sizes", []):
        if {"list_16_plus", "list_50_plus", "list_65_plus"} <= set(r.frame.columns):
            lists = practice_age_bands(r.frame.dropna(subset=["list_size", "list_16_plus", "list_50_plus", "list_65_plus"]))
            break
    prac = practices.dropna(subset=["easting", "northing"]).copy()
    if lists is None:
        raise DatasetError("Catchments cannot be modelled without practice list sizes by age (e.g. gp-by-age.csv).")
    ratios = registration_ratios(bands, lists)
    shares = lists[list(AGE_BANDS)].sum() / lists["list_size"].sum()
    prac = prac.merge(
        lists[["practice_code", "list_size", *AGE_BANDS]].rename(columns={"list_size": "banded_size"}),
        on="practice_code", how="left",
    )
    prac["list_size"] = prac["banded_size"].fillna(prac["list_size"])
    no_bands = prac[list(AGE_BANDS)].isna().any(axis=1)
    no_size = prac["list_size"].isna() | (prac["list_size"] <= 0)
    if no_size.any():
        notes.append(
            f"{int(no_size.sum())} practices without a published list size left out of the catchment model: "
            + ", ".join(prac.loc[no_size, "practice_code"].astype(str))
        )
        prac = prac[~no_size]
        no_bands = no_bands[~no_size]
    if no_bands.any():
        for band in AGE_BANDS:
            prac.loc[no_bands, band] = prac.loc[no_bands, "list_size"] * shares[band]
        notes.append(f"{int(no_bands.sum())} practices without list sizes by age given England's age mix")
    prac = prac.rename(columns={"easting": "x", "northing": "y"})[["practice_code", "x", "y", "list_size", *AGE_BANDS]]
    boundaries = lsoa_all_gdf.rename(columns={"area_code": "lsoa_code"})
    cent = boundaries.to_crs(27700).geometry.centroid
    tree = cKDTree(prac[["x", "y"]].to_numpy())
    dist, _ = tree.query(np.c_[cent.x.to_numpy(), cent.y.to_numpy()], k=1)
    near = boundaries[(dist <= BUFFER_M) | boundaries["lsoa_code"].isin(lsoa_set)]
    cp_xy = None
    if postcodes is not None:
        cp_xy = postcodes.rename(columns={"easting": "x", "northing": "y"})[["x", "y"]].dropna()
    points = lsoa_points(near, cp_xy)
    origins = points.merge(bands, on="lsoa_code", how="inner")
    fit = fit_catchments(origins, prac, in_area=lsoa_set, registration_ratio=ratios)
    reg = fit.catchments
    if getattr(fit, "unallocated", None) is not None and len(fit.unallocated):
        notes.append(f"{len(fit.unallocated)} practices could not be allocated by the catchment model")
    reg = reg[reg["patients"] > 0].reset_index(drop=True)
    reg["catchment_source"] = "modelled"
    own = reg
    if "in_area_by" in practices:
        own = reg[reg["practice_code"].isin(set(practices.loc[practices["in_area_by"] != "catchment", "practice_code"]))]
    outside = own.loc[~own["in_area"], "patients"].sum() / max(own["patients"].sum(), 1)
    msg = (
        f"Catchments MODELLED for {reg['practice_code'].nunique()} practices (spatial interaction model; "
        f"{outside:.1%} of the areas' own practices' patients modelled as living outside the dataset's areas)"
    )
    echo(msg)
    notes.append(msg)
    return reg, "modelled"


def _add_pcn_areas(areas_gdf: gpd.GeoDataFrame, registrations: pd.DataFrame, practices: pd.DataFrame) -> gpd.GeoDataFrame:
    if "in_area_by" in practices:  # the areas' own PCNs, not their neighbours'
        practices = practices[practices["in_area_by"] != "catchment"]
    if practices["pcn_code"].isna().all():
        return areas_gdf
    reg = registrations[registrations["in_area"]].merge(practices[["practice_code", "pcn_code", "pcn_name"]], on="practice_code")
    by = reg.groupby(["lsoa_code", "pcn_code"], as_index=False)["patients"].sum()
    top = by.sort_values("patients").drop_duplicates("lsoa_code", keep="last")
    lsoa = areas_gdf[areas_gdf["area_type"] == "lsoa"]
    mapping = top[["lsoa_code", "pcn_code"]].merge(
        practices.drop_duplicates("pcn_code")[["pcn_code", "pcn_name"]], on="pcn_code", how="left"
    )
    pcn = _dissolve(lsoa, mapping, "pcn_code", "pcn_name").assign(area_type="pcn")
    return gpd.GeoDataFrame(pd.concat([areas_gdf, pcn[["area_code", "area_name", "area_type", "geometry"]]], ignore_index=True), crs=4326)


def _indicators(by_kind, practices, lookup, use, notes):  # noqa: ANN001, ANN202
    frames = []
    codes = set(practices["practice_code"])
    area_codes: set[str] = set()
    for col in ("lad_code", "utla_code", "county_code", "icb_code", "icb_code_nhs", "sub_icb_code", "sub_icb_code_nhs", "region_code"):
        if col in lookup:
            area_codes |= set(lookup[col].dropna().astype(str))
    area_codes |= set(practices["pcn_code"].dropna().astype(str))
    area_codes |= set(practices.get("sub_icb_code", pd.Series(dtype=str)).dropna().astype(str))
    icb_ods_to_ons = {}
    if "icb_code_nhs" in lookup:
        icb_ods_to_ons = lookup.dropna(subset=["icb_code_nhs"]).drop_duplicates("icb_code_nhs").set_index("icb_code_nhs")["icb_code"].to_dict()
    for path, res in by_kind.get("indicators", []):
        f = res.frame.copy()
        # England benchmark from every practice of a national practice-level file, when not published
        pr_rows = f[f["area_type"] == "practice"]
        have_eng = set(map(tuple, f.loc[f["area_type"] == "england", ["indicator", "period"]].to_numpy()))
        if len(pr_rows) > 1000:
            eng = (
                pr_rows.dropna(subset=["numerator", "denominator"])
                .groupby(["indicator", "period"], as_index=False)[["numerator", "denominator"]]
                .sum()
            )
            eng = eng[[(i, p) not in have_eng for i, p in zip(eng["indicator"], eng["period"], strict=True)]]
            if len(eng):
                eng["area_type"] = "england"
                eng["area_code"] = "E92000001"
                eng["area_name"] = "England (sum of practices)"
                eng["value"] = 100 * eng["numerator"] / eng["denominator"]
                eng["source"] = f.get("source", pd.Series(["?"])).iloc[0] + " (England = sum of all practices)"
                f = pd.concat([f, eng], ignore_index=True)
        icb = f["area_type"].isin(["icb", "icb_unregistered"])
        f.loc[icb, "area_code"] = f.loc[icb, "area_code"].map(lambda c: icb_ods_to_ons.get(c, c))
        keep = (
            ((f["area_type"] == "practice") & f["area_code"].isin(codes))
            | (f["area_type"] == "england")
            | ((~f["area_type"].isin(["practice", "england"])) & f["area_code"].astype(str).isin(area_codes))
        )
        kept = f[keep]
        use(path, res, len(kept))
        frames.append(kept)
    if not frames:
        notes.append("No screening or immunisation file was recognised: the dataset has no indicators")
        from .schemas import Indicators

        return pd.DataFrame({c: pd.Series(dtype="object") for c in Indicators.to_schema().columns})
    out = pd.concat(frames, ignore_index=True)
    out = out.drop_duplicates(["indicator", "area_type", "area_code", "period"], keep="first")
    return out.reset_index(drop=True)


def validation_report(sources: Sequence[Path]) -> pd.DataFrame:
    """What ``build`` would make of each file, without writing anything.

    One row per file: ``file``, ``recognised_as`` (reader description or "not recognised"),
    ``kind``, ``rows``, ``status`` ("ok" / "error" / "damaged" / "skipped"), ``problem`` (the
    error naming file, row and column; for a damaged file what is wrong with it), ``notes``.
    """
    found = survey(sources)
    recognised, skipped = found.recognised, found.not_recognised
    warned = dict(found.warnings)
    rows: list[dict[str, Any]] = []
    for path, reason in found.damaged:
        rows.append({"file": str(path), "recognised_as": "damaged", "kind": "", "rows": 0, "status": "damaged",
                     "problem": f"file {path.name}: damaged: {reason}",
                     "notes": "the build stops on it unless damaged files are skipped"})
    for path, reader in recognised:
        try:
            results = reader.read(path)
            rows.append({
                "file": str(path), "recognised_as": reader.description,
                "kind": ", ".join(sorted({r.kind for r in results})),
                "rows": int(sum(len(r.frame) for r in results)), "status": "ok", "problem": "",
                "notes": "; ".join([*([warned[path]] if path in warned else []), *(n for r in results for n in r.notes)]),
            })
        except HiexploreError as err:
            rows.append({"file": str(path), "recognised_as": reader.description, "kind": reader.kind,
                         "rows": 0, "status": "error", "problem": str(err), "notes": ""})
        except Exception as err:  # noqa: BLE001 - a reader bug still gets reported against its file
            rows.append({"file": str(path), "recognised_as": reader.description, "kind": reader.kind,
                         "rows": 0, "status": "error", "problem": f"{path.name}: {type(err).__name__}: {err}",
                         "notes": ""})
    for path in skipped:
        rows.append({"file": str(path), "recognised_as": "not recognised", "kind": "", "rows": 0,
                     "status": "skipped", "problem": "", "notes": "listed and skipped: no reader matched its content"})
    return pd.DataFrame(rows, columns=["file", "recognised_as", "kind", "rows", "status", "problem", "notes"])
