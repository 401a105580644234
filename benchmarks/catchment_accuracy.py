"""Accuracy of modelled GP catchments against real registrations (Pennine Lancashire, April 2020).

Prints the accuracy (list-weighted mean overlap of observed and modelled patient shares by LSOA,
see ``hiexplore.catchments.catchment_accuracy``) of

* the plain doubly constrained model of the issue: Pennine LSOA populations as origins (polygon
  centroids), the 79 practices' list sizes as destinations, exponential decay, its one constant
  fitted to the observed data;
* the same model fed the observed LSOA totals (which a user would not have);
* hiexplore's model with its default constants, from user inputs only;

and the runtime. ``--heldout`` also refits the constants on half of the practices and scores the
other half (both ways round), which takes a few minutes. ``--json`` prints one JSON line.

Data: ../shared/data (see its SOURCES.md sections 2, 6, 8), read with hiexplore's own readers
(``hiexplore.io.practices``, ``.registrations``, ``.population``, ``.geography``).
Method, figures and limitations: docs/catchments.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from hiexplore.catchments import (
    AGE_BANDS,
    DEFAULT_PARAMS,
    PLAIN_PARAMS,
    calibrate_decay,
    catchment_accuracy,
    catchment_accuracy_by_practice,
    fit_catchments,
    lsoa_age_bands,
    lsoa_points,
    practice_age_bands,
    registration_ratios,
)
from hiexplore.io.geography import read_boundaries, read_lookup
from hiexplore.io.population import read_population_syoa
from hiexplore.io.practices import place_practices, read_codepoint, read_epraccur
from hiexplore.io.registrations import read_list_sizes, read_registrations

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HIEXPLORE_SHARED_DATA", REPO.parent / "shared" / "data"))

REGISTRATIONS = "gp_registrations/bwdph_lsoapops_gp-reg-pat-prac-lsoa-all_2020-04_pennine.csv"
LIST_SIZES = "gp_registrations/hoclib_gp-by-age.csv"
EPRACCUR = "gp/epraccur_2023-02-20.zip"
CODEPOINT = "postcodes/os_codepoint_open_2025_4/{area}.csv"
CODEPOINT_AREAS = ("bb", "bl", "ol", "pr")
BOUNDARIES = "boundaries/geographr_ons_bsc/boundaries_lsoa11.gpkg.zip"
POPULATION = "population/demographr_population20_lsoa11_syoa.csv.gz"
LSOA_LOOKUP = "lookups/hoclib_lsoa_geog_lookup.csv.gz"
PENNINE_LADS = (
    "Blackburn with Darwen",
    "Burnley",
    "Hyndburn",
    "Pendle",
    "Rossendale",
    "Ribble Valley",
)
MIN_PATIENTS = 1000  # practices scored: over 1,000 patients in the extract
BUFFER_M = 10_000.0  # origins: LSOAs within this distance of any placed practice
SEED = 20200401  # the split of practices for the held-out check


@dataclass(frozen=True)
class PennineData:
    """Everything the benchmark needs, in model-ready frames."""

    observed: pd.DataFrame  # practice_code, lsoa_code, patients
    scored: list[str]  # the practices with > MIN_PATIENTS observed patients
    partial: list[str]  # scored practices whose extract covers only the Pennine LSOAs
    area: set[str]  # Pennine Lancashire LSOA 2011 codes
    practices: pd.DataFrame  # every practice placed from BB/BL/OL/PR, with list sizes by band
    origins: pd.DataFrame  # LSOAs within BUFFER_M of a practice: postcode-mean points + bands
    centroids: pd.DataFrame  # lsoa_code, x, y: polygon centroids, same LSOAs
    ratios: dict[str, float]  # national registered / resident, overall and by band


def _one(results: list, kind: str, path: Path) -> pd.DataFrame:
    frames = [r.frame for r in results if r.kind == kind]
    if len(frames) != 1:
        raise RuntimeError(f"{path}: expected one {kind!r} table, got {len(frames)}")
    return frames[0]


def read_codepoint_areas(data: Path = SHARED_DATA) -> pd.DataFrame:
    """Code-Point Open postcodes of the BB, BL, OL and PR areas (easting/northing, EPSG:27700)."""
    frames = []
    for area in CODEPOINT_AREAS:
        path = data / CODEPOINT.format(area=area)
        frames.append(_one(read_codepoint(path), "postcodes", path))
    return pd.concat(frames, ignore_index=True)


def read_boundaries_england(data: Path = SHARED_DATA):
    """LSOA 2011 polygons of England (EPSG:4326), with ``lsoa_code``."""
    bounds, _meta, _notes = read_boundaries(data / BOUNDARIES)
    bounds = bounds.rename(columns={"area_code": "lsoa_code"})
    return bounds[bounds["lsoa_code"].str.startswith("E")]


def read_population_bands(data: Path = SHARED_DATA) -> pd.DataFrame:
    """Mid-2020 LSOA 2011 population of England in the model's age bands."""
    pop, _meta, _notes = read_population_syoa(data / POPULATION)
    pop = pop[pop["lsoa_code"].str.startswith("E")]
    return lsoa_age_bands(pop)


def load_pennine(data: Path = SHARED_DATA) -> PennineData:
    """Read the published files with hiexplore's readers and build the validation inputs."""
    path = data / REGISTRATIONS
    obs = _one(read_registrations(path), "registrations", path)
    obs = obs[["practice_code", "lsoa_code", "patients"]]
    totals = obs.groupby("practice_code")["patients"].sum()
    scored = sorted(totals.index[totals > MIN_PATIENTS])

    path = data / LIST_SIZES
    lists = practice_age_bands(_one(read_list_sizes(path), "list_sizes", path))
    path = data / EPRACCUR
    epraccur = _one(read_epraccur(path), "practices", path)
    cp = read_codepoint_areas(data)
    placed = place_practices(epraccur[["practice_code", "postcode"]], cp).frame
    placed = placed.dropna(subset=["easting", "northing"])
    placed = placed.rename(columns={"easting": "x", "northing": "y"})[["practice_code", "x", "y"]]
    practices = placed.merge(lists, on="practice_code", how="inner")
    practices = practices[practices["list_size"] > 0].reset_index(drop=True)
    missing = sorted(set(scored) - set(practices["practice_code"]))
    if missing:
        raise RuntimeError(f"scored practices that could not be placed: {missing}")

    bounds = read_boundaries_england(data)
    bands = read_population_bands(data)
    ratios = registration_ratios(bands, lists)

    cp_xy = cp.rename(columns={"easting": "x", "northing": "y"})[["x", "y"]]
    points = lsoa_points(bounds, cp_xy)
    cent = lsoa_points(bounds)
    dist, _ = cKDTree(practices[["x", "y"]].to_numpy()).query(points[["x", "y"]].to_numpy())
    near = points["lsoa_code"][dist < BUFFER_M]
    origins = points[points["lsoa_code"].isin(near)].merge(bands, on="lsoa_code")
    centroids = cent[cent["lsoa_code"].isin(near)].merge(bands, on="lsoa_code")

    path = data / LSOA_LOOKUP
    lookup = [frame for frame, _meta, _notes, _sheet in read_lookup(path)]
    lookup = pd.concat([f for f in lookup if {"lsoa_code", "lad_name"} <= set(f.columns)])
    area = set(lookup.loc[lookup["lad_name"].isin(PENNINE_LADS), "lsoa_code"])
    lists_by_code = practices.set_index("practice_code")["list_size"]
    partial = [p for p in scored if totals[p] < lists_by_code[p]]
    return PennineData(
        obs,
        scored,
        partial,
        area,
        practices,
        origins.reset_index(drop=True),
        centroids.reset_index(drop=True),
        ratios,
    )


def plain_baseline(d: PennineData, *, observed_totals: bool = False) -> tuple[float, float]:
    """The issue's plain model; returns (fitted beta per km, accuracy)."""
    if observed_totals:
        got = d.observed[d.observed["practice_code"].isin(d.scored)]
        o = got.groupby("lsoa_code")["patients"].sum()
        origins = d.centroids[d.centroids["lsoa_code"].isin(o.index)].copy()
        origins["population"] = o.reindex(origins["lsoa_code"]).to_numpy()
        dest = d.practices[d.practices["practice_code"].isin(d.scored)].copy()
        dest["list_size"] = (
            got.groupby("practice_code")["patients"].sum().reindex(dest["practice_code"]).to_numpy()
        )
    else:
        origins = d.centroids[d.centroids["lsoa_code"].isin(d.area)]
        dest = d.practices[d.practices["practice_code"].isin(d.scored)]
    origins = origins[["lsoa_code", "x", "y", "population"]]
    dest = dest[["practice_code", "x", "y", "list_size"]]
    best = (0.0, -1.0)
    for beta in np.arange(0.5, 1.81, 0.1):
        params = replace(PLAIN_PARAMS, beta_per_km=float(beta))
        mod = fit_catchments(origins, dest, params=params, age_bands=False).catchments
        acc = catchment_accuracy(
            d.observed, mod, practices=d.scored, partial=d.partial, area=d.area
        )
        if acc > best[1]:
            best = (round(float(beta), 2), acc)
    return best


def model(
    d: PennineData, params=DEFAULT_PARAMS, *, centroids: bool = False, age_bands: bool = True
):
    origins = d.centroids if centroids else d.origins
    return fit_catchments(
        origins,
        d.practices,
        params=params,
        in_area=d.area,
        registration_ratio=d.ratios,
        age_bands=age_bands,
    )


FITTED = ("beta_per_km", "alpha", "child_reach", "age_similarity", "lsoa_constraint")


def _score(d: PennineData, catchments: pd.DataFrame, practices: list[str] | None = None) -> float:
    return catchment_accuracy(
        d.observed,
        catchments,
        practices=d.scored if practices is None else practices,
        partial=d.partial,
        area=d.area,
    )


def _outside_share(d: PennineData, catchments: pd.DataFrame) -> float:
    """Share of the complete practices' patients living outside Pennine Lancashire."""
    complete = set(d.scored) - set(d.partial)
    rows = catchments[catchments["practice_code"].isin(complete)]
    return float(
        rows.loc[~rows["lsoa_code"].isin(d.area), "patients"].sum() / rows["patients"].sum()
    )


def heldout(
    d: PennineData, seeds: tuple[int, ...] = (SEED, 1, 2), max_evaluations: int = 200
) -> dict[str, object]:
    """Refit the constants on a random half of the scored practices, score the other half.

    For each seed both halves take a turn. ``heldout`` is the mean accuracy on the unseen half;
    ``insample`` is the accuracy of the default constants (fitted on all 79) on the same halves.
    """
    runs = []
    default = model(d).catchments
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(d.scored)
        half = len(order) // 2
        halves = [sorted(order[:half]), sorted(order[half:])]
        for fit_on, test_on in ((halves[0], halves[1]), (halves[1], halves[0])):
            cal = calibrate_decay(
                d.origins,
                d.practices,
                d.observed,
                fit=FITTED,
                score_practices=fit_on,
                partial=d.partial,
                area=d.area,
                in_area=d.area,
                registration_ratio=d.ratios,
                max_evaluations=max_evaluations,
            )
            runs.append(
                {
                    "seed": seed,
                    "fit": round(cal.accuracy, 4),
                    "heldout": round(_score(d, model(d, cal.params).catchments, test_on), 4),
                    "insample": round(_score(d, default, test_on), 4),
                    "params": {n: round(float(getattr(cal.params, n)), 3) for n in FITTED},
                }
            )
    return {
        "heldout_mean": round(float(np.mean([r["heldout"] for r in runs])), 4),
        "insample_mean": round(float(np.mean([r["insample"] for r in runs])), 4),
        "runs": runs,
    }


def ablation(d: PennineData, max_evaluations: int = 120) -> dict[str, float]:
    """Add one ingredient at a time, refitting the free constants at each step."""
    plain = replace(
        DEFAULT_PARAMS,
        alpha=0.0,
        child_reach=0.0,
        age_similarity=0.0,
        lsoa_constraint=1.0,
        beta_per_km=1.0,
    )
    steps = [
        (
            "buffer + capped outside LSOAs, centroids, exponential",
            plain,
            ("beta_per_km",),
            True,
            False,
        ),
        ("+ postcode-mean LSOA points", plain, ("beta_per_km",), False, False),
        ("+ Tanner power-exponential decay", plain, ("beta_per_km", "alpha"), False, False),
        ("+ age bands balanced separately", plain, ("beta_per_km", "alpha"), False, True),
        (
            "+ reach by child share of list",
            plain,
            ("beta_per_km", "alpha", "child_reach"),
            False,
            True,
        ),
        (
            "+ age-profile similarity",
            plain,
            ("beta_per_km", "alpha", "child_reach", "age_similarity"),
            False,
            True,
        ),
        ("+ soft LSOA constraint (the default model)", plain, FITTED, False, True),
    ]
    out: dict[str, float] = {}
    for label, initial, fit, centroids, bands in steps:
        start = replace(
            initial, **{n: getattr(DEFAULT_PARAMS, n) for n in fit if n != "lsoa_constraint"}
        )
        if "lsoa_constraint" in fit:
            start = replace(start, lsoa_constraint=0.95)
        cal = calibrate_decay(
            d.centroids if centroids else d.origins,
            d.practices,
            d.observed,
            initial=start,
            fit=fit,
            score_practices=d.scored,
            partial=d.partial,
            area=d.area,
            in_area=d.area,
            registration_ratio=d.ratios,
            age_bands=bands,
            max_evaluations=max_evaluations,
        )
        out[label] = round(cal.accuracy, 4)
    return out


def national_timing(data: Path = SHARED_DATA, seed: int = SEED) -> dict[str, float]:
    """Time the default model at national size on real inputs with synthetic practice places.

    National practice locations are not in ../shared/data (Code-Point only covers a few postcode
    areas), so each of the 6,730 practices of ``gp-by-age.csv`` is put at a random English LSOA
    point (chosen with probability proportional to population, jittered by 300 m), and its
    list (by band) is made from the registered residents of its 8 nearest LSOA points, weighted
    by distance, times lognormal noise (sd 0.2). Real, not synthetic: the 32,844 LSOAs, their
    points and populations. Only the runtime is meaningful.
    """
    rng = np.random.default_rng(seed)
    bands = read_population_bands(data)
    origins = lsoa_points(read_boundaries_england(data)).merge(bands, on="lsoa_code")
    path = data / LIST_SIZES
    lists = practice_age_bands(_one(read_list_sizes(path), "list_sizes", path))
    prac = lists[["practice_code"]].copy()
    weights = origins["population"].to_numpy() / origins["population"].sum()
    at = rng.choice(len(origins), size=len(prac), p=weights)
    prac["x"] = origins["x"].to_numpy()[at] + rng.normal(0, 300, len(prac))
    prac["y"] = origins["y"].to_numpy()[at] + rng.normal(0, 300, len(prac))
    ratios = registration_ratios(bands, lists)
    dist, near = cKDTree(prac[["x", "y"]].to_numpy()).query(origins[["x", "y"]].to_numpy(), k=8)
    w = np.exp(-dist / 1500.0)
    w /= w.sum(axis=1, keepdims=True)
    noise = rng.lognormal(0.0, 0.2, len(prac))
    for band in AGE_BANDS:
        mass = origins[band].to_numpy() * ratios[band]
        prac[band] = (
            np.bincount(near.ravel(), (w * mass[:, None]).ravel(), minlength=len(prac)) * noise
        )
    prac["list_size"] = prac[list(AGE_BANDS)].sum(axis=1)
    prac = prac[prac["list_size"] > 0]
    t0 = time.perf_counter()
    fit = fit_catchments(origins, prac)
    return {
        "lsoas": len(origins),
        "practices": len(prac),
        "pairs": len(fit.catchments),
        "iterations": fit.iterations,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument("--heldout", action="store_true", help="refit on halves (minutes)")
    ap.add_argument("--ablation", action="store_true", help="score each model ingredient")
    ap.add_argument("--national", action="store_true", help="time a national-size run")
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"shared data not found at {args.data}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    d = load_pennine(args.data)
    t_load = time.perf_counter() - t0
    beta0, base = plain_baseline(d)
    beta1, base_obs = plain_baseline(d, observed_totals=True)
    t1 = time.perf_counter()
    fit = model(d)
    t_model = time.perf_counter() - t1
    mod = fit.catchments
    acc = _score(d, mod)
    strict = catchment_accuracy(d.observed, mod, practices=d.scored)
    per = catchment_accuracy_by_practice(
        d.observed, mod, practices=d.scored, partial=d.partial, area=d.area
    )
    res: dict[str, object] = {
        "benchmark": "catchment_accuracy",
        "practices_scored": len(d.scored),
        "partial_practices": len(d.partial),
        "origins": len(d.origins),
        "in_area_lsoas": len(d.area),
        "practices_modelled": len(d.practices),
        "baseline_plain": round(base, 4),
        "baseline_beta_per_km": beta0,
        "baseline_observed_totals": round(base_obs, 4),
        "accuracy": round(acc, 4),
        "accuracy_partial_scored_whole": round(strict, 4),
        "accuracy_median_practice": round(float(per["overlap"].median()), 4),
        "accuracy_worst_practice": round(float(per["overlap"].min()), 4),
        "iterations": fit.iterations,
        "converged": fit.converged,
        "out_of_area_share_observed": round(_outside_share(d, d.observed), 4),
        "out_of_area_share_modelled": round(_outside_share(d, mod), 4),
        "seconds_load": round(t_load, 2),
        "seconds_model": round(t_model, 2),
        "params": {
            n: getattr(DEFAULT_PARAMS, n)
            for n in (
                "beta_per_km",
                "alpha",
                "offset_km",
                "child_reach",
                "age_similarity",
                "lsoa_constraint",
                "k_nearest",
                "reach_multiple",
                "max_distance_m",
            )
        },
    }
    if args.ablation:
        res["ablation"] = ablation(d)
    if args.heldout:
        res["heldout"] = heldout(d)
    if args.national:
        res["national"] = national_timing(args.data)
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:>32}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
