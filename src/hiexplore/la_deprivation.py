"""Deprivation of each local authority district, county (upper tier) and ICB of a dataset.

The measures are MHCLG's local authority summaries (average score, rank of average rank, share
of LSOAs in the most deprived 10% nationally), computed by
:func:`hiexplore.stats.deprivation_summary.summarise_deprivation`. Ranks only mean what MHCLG's
mean when every area of England is ranked, so ``hiexplore build`` computes them from the
national IoD file (:func:`build_summary`) and keeps the rows of the dataset's own areas in the
manifest (``deprivation_summary``). A dataset without them (a demo, or one built before this
existed) gets the same figures from its own LSOAs, ranked only among its own areas, and each row
says so in ``ranked_against``.

Weights: the IoD population denominators (File 6) where the files carry them for every LSOA,
else Census 2021 usual residents, else equal weights; each row names its weight in ``weight``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .stats.deprivation_summary import summarise_deprivation

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = [
    "AREA_TYPES",
    "SUMMARY_COLUMNS",
    "MANIFEST_KEY",
    "build_summary",
    "deprivation_summary",
    "summary_for_path",
    "summary_table",
    "summary_caption",
    "summary_lines",
    "summary_records",
]

MANIFEST_KEY = "deprivation_summary"
#: area type -> (code column, name column, label); the upper tier is a county or a unitary authority
AREA_TYPES: dict[str, tuple[str, str, str]] = {
    "lad": ("lad_code", "lad_name", "local authority districts"),
    "utla": ("utla_code", "utla_name", "upper-tier authorities (counties and unitaries)"),
    "icb": ("icb_code", "icb_name", "ICBs"),
}
SUMMARY_COLUMNS = [
    "area_type", "area_code", "area_name", "edition", "average_score", "rank_of_average_score",
    "average_rank", "rank_of_average_rank", "ranked_among", "ranked_against",
    "share_lsoas_most_deprived_10pct", "n_lsoas", "population", "weight", "note",
]
# IoD population denominators' reference year per edition (File 6)
_DENOMINATOR_YEAR = {2015: "mid-2012", 2019: "mid-2015", 2025: "mid-2022"}
_NATIONAL_LSOAS = 32000  # fewer LSOAs than this with IMD ranks: not all of England


def _weights(dep: pd.DataFrame, edition: int, residents: pd.Series | None) -> tuple[pd.Series, str]:
    """Each LSOA's weight and the sentence naming it: IoD denominators, else residents, else 1."""
    codes = dep["lsoa_code"]
    if "population_total" in dep and dep["population_total"].notna().all() and len(dep):
        year = _DENOMINATOR_YEAR.get(edition, "")
        return (dep["population_total"].astype(float).set_axis(codes.to_numpy()),
                f"IoD{edition} population denominators (File 6, total population {year})".replace(" )", ")"))
    if residents is not None and len(residents) and codes.isin(residents.index).mean() >= 0.99:
        w = codes.map(residents).fillna(0.0).astype(float).set_axis(codes.to_numpy())
        return w, (f"Census 2021 usual residents (the IoD{edition} population denominators, File 6, "
                   "are not in the files given)")
    return (pd.Series(1.0, index=codes.to_numpy()),
            "equal weights per LSOA (the files given have no population for every LSOA ranked)")


def _names(lookup: pd.DataFrame, area_type: str) -> pd.Series:
    code_col, name_col, _ = AREA_TYPES[area_type]
    if area_type == "utla":
        names = pd.Series(dtype=object)
        if "county_code" in lookup and "county_name" in lookup:
            c = lookup.dropna(subset=["county_code"]).drop_duplicates("county_code")
            names = c.set_index("county_code")["county_name"]
        if "lad_name" in lookup:
            lad = lookup.dropna(subset=["lad_code"]).drop_duplicates("lad_code").set_index("lad_code")["lad_name"]
            names = pd.concat([names, lad[~lad.index.isin(names.index)]])
        return names
    if name_col not in lookup:
        return pd.Series(dtype=object)
    return lookup.dropna(subset=[code_col]).drop_duplicates(code_col).set_index(code_col)[name_col]


def _with_upper_tier(lookup: pd.DataFrame) -> pd.DataFrame:
    """``utla_code``: the shire county (E10) over its districts, else the LAD itself.

    Recomputed here because lookups built before the fix took metropolitan counties (E11) and
    Inner/Outer London (E13), which are not councils, as upper tiers.
    """
    if "lad_code" not in lookup or "county_code" not in lookup:
        return lookup  # without counties the upper tier is unknown (a district is not its own)
    county = lookup["county_code"].astype("string")
    shire = county.notna() & county.str.startswith("E10").fillna(False)
    return lookup.assign(utla_code=county.where(shire, lookup["lad_code"].astype("string")))


def _summary_rows(
    dep: pd.DataFrame,
    lookup: pd.DataFrame,
    edition: int,
    residents: pd.Series | None,
    keep: Mapping[str, set[str]] | None,
    scope: str,
) -> list[dict[str, Any]]:
    """Rows for one edition: every area type ranked among all its areas in ``lookup``."""
    if "imd_rank" not in dep or "imd_decile" not in dep or "lsoa_code" not in lookup:
        return []  # e.g. only population denominators or domain files: no IMD to summarise
    dep = dep.dropna(subset=["imd_rank"]).drop_duplicates("lsoa_code")
    weights, weight_label = _weights(dep, edition, residents)
    note = ""
    if "crosswalked" in dep and dep["crosswalked"].fillna(False).astype(bool).any():
        note = (f"IoD{edition} carried from LSOA 2011 to LSOA 2021 (best-fit lookup): close to, "
                "not the same as, MHCLG's published figures")
    lookup = _with_upper_tier(lookup)
    rows: list[dict[str, Any]] = []
    for area_type, (code_col, _, label) in AREA_TYPES.items():
        if code_col not in lookup or lookup[code_col].isna().all():
            continue
        m = lookup[["lsoa_code", code_col]].dropna().drop_duplicates("lsoa_code")
        lsoas = dep.merge(m, on="lsoa_code", how="inner")
        if lsoas.empty:
            continue
        lsoas["weight"] = lsoas["lsoa_code"].map(weights).to_numpy()
        s = summarise_deprivation(lsoas, area=code_col)
        n = int(s["ranked_among"].iloc[0])
        against = (f"all {n} {label} in England" if scope == "england"
                   else f"only the {n} {label} in this dataset (not all of England)")
        names = _names(lookup, area_type)
        wanted = keep.get(area_type) if keep is not None else None
        for code, r in s.iterrows():
            if wanted is not None and code not in wanted:
                continue
            rows.append({
                "area_type": area_type, "area_code": str(code), "area_name": str(names.get(code, code)),
                "edition": int(edition),
                "average_score": _num(r["average_score"]), "rank_of_average_score": _int(r["rank_of_average_score"]),
                "average_rank": _num(r["average_rank"]), "rank_of_average_rank": _int(r["rank_of_average_rank"]),
                "ranked_among": n, "ranked_against": against,
                "share_lsoas_most_deprived_10pct": _num(r["share_lsoas_most_deprived_10pct"]),
                "n_lsoas": int(r["n_lsoas"]), "population": _num(r["population"]), "weight": weight_label,
                "note": note,
            })
    return rows


def _num(v: Any) -> float | None:
    return None if pd.isna(v) else round(float(v), 6)


def _int(v: Any) -> int | None:
    return None if pd.isna(v) else int(v)


def build_summary(
    national: Mapping[int, pd.DataFrame],
    lookup_all: pd.DataFrame,
    lookup_kept: pd.DataFrame,
    residents: pd.Series | None,
) -> list[dict[str, Any]]:
    """The manifest's ``deprivation_summary``: the kept areas' figures, ranked nationally.

    ``national`` holds each edition's IoD table on LSOA 2021 for every LSOA the files cover;
    ``lookup_all`` places those LSOAs in areas, ``lookup_kept`` is the dataset's own lookup (its
    LAD, upper-tier and ICB codes are the rows kept). An area only partly in the dataset keeps
    its whole-area figures and says how many of its LSOAs the dataset holds.
    """
    lookup_kept = _with_upper_tier(lookup_kept)
    keep = {t: set(lookup_kept[c].dropna().astype(str)) for t, (c, _, _) in AREA_TYPES.items() if c in lookup_kept}
    rows: list[dict[str, Any]] = []
    for edition, dep in sorted(national.items()):
        n_dep = int(dep["imd_rank"].notna().sum()) if "imd_rank" in dep else 0
        placed = float(dep["lsoa_code"].isin(lookup_all["lsoa_code"]).mean()) if len(dep) else 0.0
        scope = "england" if n_dep >= _NATIONAL_LSOAS and placed >= 0.99 else "files"
        for row in _summary_rows(dep, lookup_all, edition, residents, keep, scope):
            if scope == "files":
                row["ranked_against"] = row["ranked_against"].replace("in this dataset", "in the files given")
            code_col = AREA_TYPES[row["area_type"]][0]
            held = int((lookup_kept[code_col].astype(str) == row["area_code"]).sum())
            extra = [row["note"]]
            if held < row["n_lsoas"]:
                extra.append(f"the dataset holds {held} of its {row['n_lsoas']} LSOAs; figures are for the whole area")
            row["note"] = "; ".join(e for e in extra if e)
            rows.append(row)
    return rows


def deprivation_summary(ds: Dataset) -> pd.DataFrame:
    """Per LAD, upper-tier authority and ICB of the dataset, per IoD edition (see module doc).

    From the manifest when the build ranked them nationally, else computed from the dataset's
    LSOAs and ranked among its own areas only (``ranked_against`` says which).
    """
    stored = ds.manifest.get(MANIFEST_KEY)
    if stored:
        return pd.DataFrame(stored).reindex(columns=SUMMARY_COLUMNS)
    dep = ds.deprivation
    residents = None
    if len(ds.population) and "population" in ds.population:
        residents = ds.population.set_index("lsoa_code")["population"].dropna()
    label = ("Census 2021 usual residents" if len(ds.population) and "residents" in ds.population
             else "the dataset's LSOA population")
    rows: list[dict[str, Any]] = []
    for edition in sorted(dep["edition"].unique()) if len(dep) else []:
        d = dep[dep["edition"] == edition]
        for row in _summary_rows(d, ds.lookup, int(edition), residents, None, "dataset"):
            row["weight"] = row["weight"].replace("Census 2021 usual residents", label)
            if ds.synthetic:
                row["note"] = "SYNTHETIC demo data: not real figures"
            rows.append(row)
    return pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)


def summary_for_path(path: Path, manifest: Mapping[str, Any]) -> pd.DataFrame:
    """``hiexplore info``'s rows: the manifest's national figures, without loading the tables;
    else the dataset is loaded and its figures computed (ranked among its own areas)."""
    if manifest.get(MANIFEST_KEY):
        return pd.DataFrame(manifest[MANIFEST_KEY]).reindex(columns=SUMMARY_COLUMNS)
    from .dataset import load_dataset

    return deprivation_summary(load_dataset(path))


_TYPE_LABELS = {"lad": "LA district", "utla": "upper-tier LA", "icb": "ICB"}  # short: the table fits


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The Overview's table: one row per area and edition (latest edition first), readable headers."""
    if frame.empty:
        return pd.DataFrame()
    order = {t: i for i, t in enumerate(AREA_TYPES)}
    frame = frame.assign(_t=frame["area_type"].map(order)).sort_values(
        ["edition", "_t"], ascending=[False, True], kind="stable").drop(columns="_t")
    score = [("n/a: no IMD scores in the files" if pd.isna(v) else f"{float(v):.2f}") for v in frame["average_score"]]
    rank = frame.apply(
        lambda r: "" if pd.isna(r["rank_of_average_rank"]) else f"{int(r['rank_of_average_rank'])} of {int(r['ranked_among'])}",
        axis=1,
    )
    return pd.DataFrame({
        "area": frame["area_name"].astype(str) + " (" + frame["area_code"].astype(str) + ")",
        "type": frame["area_type"].map(_TYPE_LABELS).fillna(frame["area_type"]),
        "IoD": "IoD" + frame["edition"].astype(int).astype(str),
        "average score": score,
        "rank of average rank": rank,
        "% LSOAs in most deprived 10%": 100 * frame["share_lsoas_most_deprived_10pct"].astype(float),
        "LSOAs": frame["n_lsoas"].astype(int),
        "note": frame["note"].fillna("").astype(str),
    }).reset_index(drop=True)


def summary_caption(frame: pd.DataFrame) -> str:
    """What the figures are, the weights used and what the ranks are taken against."""
    if frame.empty:
        return "No deprivation summary: the dataset has no IMD ranks."
    weights = "; ".join(f"IoD{int(e)}: {w}" for (e, w), _ in frame.groupby(["edition", "weight"], sort=True))
    against = "; ".join(dict.fromkeys(frame["ranked_against"].astype(str)))
    return (
        "MHCLG's local authority summary measures: average score = population-weighted mean of the "
        "LSOAs' IMD scores (higher = more deprived); rank of average rank = rank (1 = most deprived) by "
        "the population-weighted mean of the LSOAs' national IMD ranks; share of the LSOAs in the most "
        f"deprived 10% of England. Weights: {weights}. Ranked against {against}."
    )


def summary_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows (missing figures as null, ranks as integers), for ``hiexplore info --json``."""
    ints = ("edition", "rank_of_average_score", "rank_of_average_rank", "ranked_among", "n_lsoas")
    return [
        {k: (None if pd.isna(v) else int(v) if k in ints else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def summary_lines(frame: pd.DataFrame) -> list[str]:
    """Printable lines (``hiexplore info``): one per area and edition, then weights and ranking."""
    lines: list[str] = []
    if frame.empty:
        return lines
    for _, r in frame.iterrows():
        score = "n/a (no scores in the files)" if pd.isna(r["average_score"]) else f"{r['average_score']:.2f}"
        rank = "n/a" if pd.isna(r["rank_of_average_rank"]) else f"{int(r['rank_of_average_rank'])} of {int(r['ranked_among'])}"
        share = f"{100 * r['share_lsoas_most_deprived_10pct']:.1f}%"
        lines.append(
            f"  IoD{int(r['edition'])} {r['area_type']:<4} {r['area_code']} {str(r['area_name'])[:40]:<40} "
            f"average score {score}; rank of average rank {rank}; LSOAs in most deprived 10% {share}"
            + (f" [{r['note']}]" if isinstance(r["note"], str) and r["note"] else "")
        )
    for (edition, weight), _ in frame.groupby(["edition", "weight"], sort=True):
        lines.append(f"  IoD{int(edition)} weights: {weight}")
    for against in dict.fromkeys(frame["ranked_against"].astype(str)):
        lines.append(f"  ranked against {against}")
    return lines
