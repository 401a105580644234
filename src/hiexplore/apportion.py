"""Practice figures -> neighbourhoods: apportioning by registrations, and aggregation upwards.

Screening and immunisation are published per GP practice. We estimate them for every LSOA by
splitting each practice's numerator and denominator in proportion to where its registered
patients live (``registrations``: observed NHS Digital counts or the modelled catchments), as one
sparse matrix product:

.. math::

    N_l = \\sum_p s_{pl} N_p, \\qquad D_l = \\sum_p s_{pl} D_p, \\qquad
    s_{pl} = \\frac{r_{pl}}{\\sum_{l'} r_{pl'}}

where :math:`r_{pl}` is the number of patients of practice *p* living in LSOA *l* (the sum in the
denominator runs over every LSOA, in the dataset's area or not, so a practice's figures are
conserved: what falls outside the area is reported, not lost).

Assumption: a practice's uptake is the same for all of its patients wherever they live, and the
eligible population is spread like the practice's patients in the eligible age bands (the
registrations' ``patients_<band>`` columns where the dataset has them, e.g. ages 0-15 for
childhood immunisation: :func:`eligible_columns`; otherwise all ages; not by sex). Apportioned LSOA figures are estimates: the output
carries ``method = "apportioned from practices"`` and the catchment source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .catalogue import get_indicator
from .dataset import Dataset, derived, own_practices
from .errors import RequestError
from .suppression import mark_suppressed, suppression_summary

__all__ = [
    "percent",
    "GEOGRAPHIES",
    "METHOD_APPORTIONED",
    "METHOD_PUBLISHED",
    "METHOD_AGGREGATED",
    "CatchmentMatrix",
    "catchment_matrix",
    "practice_figures",
    "apportion_to_lsoa",
    "aggregate_lsoa",
    "area_figures",
    "commissioned_figures",
    "METHOD_COMMISSIONED",
    "SUPPRESSED_MAX_DENOMINATOR",
]

GEOGRAPHIES = ("lsoa", "msoa", "ward", "lad", "icb", "practice", "pcn", "sub_icb")
METHOD_APPORTIONED = "apportioned from practices"
METHOD_PUBLISHED = "published"
METHOD_AGGREGATED = "sum of practices"
METHOD_COMMISSIONED = "sum of commissioned practices"
#: COVER suppresses practice denominators below 5 but still publishes their coverage
SUPPRESSED_MAX_DENOMINATOR = 4


@dataclass(frozen=True)
class CatchmentMatrix:
    """Sparse shares s[p, l] of each practice's patients living in each in-area LSOA."""

    shares: sp.csr_matrix
    practice_codes: np.ndarray
    lsoa_codes: np.ndarray
    out_of_area_share: np.ndarray  # per practice: share of its patients outside the area
    catchment_source: str

    @cached_property
    def practice_index(self) -> pd.Index:
        """Position of each practice code (built once: a hash table over ~6,500 codes)."""
        return pd.Index(self.practice_codes)

    @cached_property
    def lsoa_code_column(self) -> pd.Series:
        """The LSOA codes as a pandas column (converted once, not for every indicator)."""
        return pd.Series(self.lsoa_codes)


def percent(numerator: pd.Series, denominator: pd.Series) -> np.ndarray:
    """Uptake in percent, 100 x numerator / denominator; NaN where the denominator is not positive
    (no eligible people: no figure, never 0% or infinity)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 100.0 * numerator / denominator, np.nan)


def _in_scope(registrations: pd.DataFrame) -> pd.DataFrame:
    """All-persons rows when the table also has rows by sex (else every row)."""
    reg = registrations
    if "sex" in reg.columns:
        persons = reg["sex"].astype(str).str.upper().isin(["ALL", "PERSONS"])
        if persons.any():
            reg = reg[persons]
    return reg


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique codes as a numpy str array, index of each value): ``np.unique`` on strings.

    ``pd.factorize`` on the (Arrow-backed) string column is several times faster than turning
    1.2M codes into a numpy string array first; the result is the same.
    """
    idx, uniques = pd.factorize(values.astype(str), sort=True, use_na_sentinel=False)
    return np.asarray(uniques, dtype=str), np.asarray(idx, dtype=np.int64)


def catchment_matrix(registrations: pd.DataFrame) -> CatchmentMatrix:
    """Build the practice x LSOA share matrix from the registrations table (one pass, no loops)."""
    return _catchment(registrations)[0]


#: Age bands of the registrations (``patients_<band>`` columns) and the ages each covers.
BAND_AGES: dict[str, tuple[int, int]] = {
    "age_0_15": (0, 15),
    "age_16_49": (16, 49),
    "age_50_64": (50, 64),
    "age_65_plus": (65, 200),
}


def eligible_columns(indicator: str, registrations: pd.DataFrame) -> tuple[str, ...]:
    """The ``patients_<band>`` columns whose ages overlap the indicator's eligible ages.

    Empty when the registrations carry no age bands (then all ages are used). E.g. MMR at 24
    months uses the patients aged 0-15; breast screening at 53-70 those aged 50-64 and 65+.
    """
    lo, hi = get_indicator(indicator).eligible_ages
    cols = tuple(
        f"patients_{band}"
        for band, (b_lo, b_hi) in BAND_AGES.items()
        if b_lo <= hi and lo <= b_hi and f"patients_{band}" in registrations.columns
    )
    if cols and registrations[list(cols)].isna().any().any():
        return ()
    return cols


def _catchment(
    registrations: pd.DataFrame, weight_columns: tuple[str, ...] = ()
) -> tuple[CatchmentMatrix, sp.csr_matrix, sp.csr_matrix]:
    """The share matrix, and the transposed (LSOA x practice) shares and in-area patient counts
    that apportioning multiplies by. ``weight_columns`` (age-band patient columns) replace the
    all-ages ``patients`` when given."""
    reg = _in_scope(registrations)
    pcodes, p_idx = _sorted_codes(reg["practice_code"])
    if weight_columns:
        patients = reg[list(weight_columns)].to_numpy(dtype="float64").sum(axis=1)
    else:
        patients = reg["patients"].to_numpy(dtype="float64")
    totals = np.bincount(p_idx, weights=patients, minlength=len(pcodes))
    in_area = reg["in_area"].to_numpy(dtype=bool)
    inside = np.bincount(p_idx[in_area], weights=patients[in_area], minlength=len(pcodes))
    lcodes, l_idx = _sorted_codes(reg["lsoa_code"][in_area])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(totals[p_idx[in_area]] > 0, patients[in_area] / totals[p_idx[in_area]], 0.0)
    shape = (len(pcodes), len(lcodes))
    mat = sp.csr_matrix((share, (p_idx[in_area], l_idx)), shape=shape)
    counts_t = sp.csr_matrix((patients[in_area], (l_idx, p_idx[in_area])), shape=shape[::-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        out_share = np.where(totals > 0, 1.0 - inside / totals, 0.0)
    sources = sorted(set(reg["catchment_source"].astype(str).unique()))
    cm = CatchmentMatrix(
        shares=mat,
        practice_codes=pcodes,
        lsoa_codes=lcodes,
        out_of_area_share=out_share,
        catchment_source="+".join(sources) if sources else "unknown",
    )
    return cm, mat.T.tocsr(), counts_t


def _dataset_catchment(
    ds: Dataset, weight_columns: tuple[str, ...] = ()
) -> tuple[CatchmentMatrix, sp.csr_matrix, sp.csr_matrix]:
    """:func:`_catchment` of a dataset's registrations, built once per loaded dataset.

    Kept in ``ds.__dict__`` (as the spatial weights are): a loaded dataset is not changed in
    place, and at national size (1.2M registration rows) building the matrix costs far more
    than using it.
    """
    reg: pd.DataFrame = ds.registrations
    return derived(ds, "_catchment_cache", (id(reg), len(reg), weight_columns),
                   lambda: _catchment(reg, weight_columns), keep=len(BAND_AGES) + 1)


def _check_request(indicators: pd.DataFrame, indicator: str, period: str | None) -> str:
    get_indicator(indicator)  # unknown key -> RequestError listing valid ones
    rows = indicators[indicators["indicator"] == indicator]
    if rows.empty:
        loaded = sorted(indicators["indicator"].unique())
        raise RequestError(
            f"Indicator {indicator!r} is not loaded in this dataset "
            f"(load it with {get_indicator(indicator).load_with}).",
            valid=loaded,
        )
    from .dataset import _period_sort_key

    # neighbourhood and practice figures all start from practice rows: offer their periods
    practice_rows = rows[rows["area_type"] == "practice"]
    if practice_rows.empty:
        raise RequestError(
            f"Indicator {indicator!r} has no GP practice figures in this dataset (only "
            f"{', '.join(sorted(rows['area_type'].unique()))} rows); load "
            f"{get_indicator(indicator).load_with}.",
            valid=sorted(indicators.loc[indicators["area_type"] == "practice", "indicator"].unique()),
        )
    periods = sorted(practice_rows["period"].unique(), key=_period_sort_key)
    if period is None:
        return periods[-1]
    if period not in periods:
        raise RequestError(f"Period {period!r} is not in the data for {indicator!r}.", valid=periods)
    return period


def practice_figures(indicators: pd.DataFrame, indicator: str, period: str | None = None) -> pd.DataFrame:
    """Published practice rows for one indicator and period (latest when ``period`` is None)."""
    period = _check_request(indicators, indicator, period)
    rows = indicators[
        (indicators["indicator"] == indicator)
        & (indicators["period"] == period)
        & (indicators["area_type"] == "practice")
    ]
    return rows.reset_index(drop=True)


def apportion_to_lsoa(
    registrations: pd.DataFrame,
    practice_rows: pd.DataFrame,
    *,
    catchments: tuple[CatchmentMatrix, sp.csr_matrix, sp.csr_matrix] | None = None,
) -> pd.DataFrame:
    """Apportion practice numerators/denominators to LSOAs as one sparse product.

    Returns one row per in-area LSOA reached: ``lsoa_code, numerator, denominator, value,
    registered`` (registered patients of practices with data), ``coverage`` (share of the LSOA's
    registered patients whose practice published a figure), ``method``, ``catchment_source``.
    The out-of-area part of each practice is in ``frame.attrs["out_of_area"]`` (numerator and
    denominator totals) so that conservation can be checked and reported.

    ``catchments`` is what ``_catchment(registrations)`` returns, when the caller keeps it (as
    :func:`area_figures` does, once per dataset); by default it is built here.
    """
    cm, st, counts_t = catchments if catchments is not None else _catchment(registrations)
    rows = practice_rows.dropna(subset=["numerator", "denominator"])
    rows = rows[rows["denominator"] > 0]
    codes = rows["practice_code"] if "practice_code" in rows else rows["area_code"]
    pos = cm.practice_index.get_indexer(codes)
    known = pos >= 0
    num = np.zeros(len(cm.practice_codes))
    den = np.zeros(len(cm.practice_codes))
    has = np.zeros(len(cm.practice_codes))
    num[pos[known]] = rows["numerator"].to_numpy(dtype="float64")[known]
    den[pos[known]] = rows["denominator"].to_numpy(dtype="float64")[known]
    has[pos[known]] = 1.0
    lsoa_num = st @ num
    lsoa_den = st @ den
    # registered patients per LSOA (all practices / practices with data) for coverage:
    # column sums of the in-area patient counts, as sparse products
    total = counts_t @ np.ones(len(cm.practice_codes))
    out = pd.DataFrame(
        {
            "lsoa_code": cm.lsoa_code_column.array,
            "numerator": lsoa_num,
            "denominator": lsoa_den,
        }
    )
    out["registered"] = counts_t @ (has > 0).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["coverage"] = np.where(total > 0, out["registered"] / total, np.nan)
    out["value"] = percent(out["numerator"], out["denominator"])
    out["method"] = METHOD_APPORTIONED
    out["catchment_source"] = cm.catchment_source
    out.attrs["out_of_area"] = {
        "numerator": float(np.sum(num * cm.out_of_area_share)),
        "denominator": float(np.sum(den * cm.out_of_area_share)),
        "practices_without_catchment": sorted(set(codes[~known].tolist())),
    }
    return out


def aggregate_lsoa(lsoa_figs: pd.DataFrame, lookup: pd.DataFrame, geography: str) -> pd.DataFrame:
    """Sum LSOA numerators and denominators to MSOA, ward, LAD or ICB via the lookup."""
    col = f"{geography}_code"
    name_col = f"{geography}_name"
    if col not in lookup.columns:
        raise RequestError(f"The lookup has no {geography} codes.", valid=list(GEOGRAPHIES))
    keep = [c for c in ("lsoa_code", col, name_col) if c in lookup.columns]
    merged = lsoa_figs.merge(lookup[keep], on="lsoa_code", how="left")
    grouped = merged.groupby(col, dropna=True).agg(
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        registered=("registered", "sum"),
        lsoas=("lsoa_code", "size"),
    )
    grouped = grouped.reset_index().rename(columns={col: "area_code"})
    if name_col in lookup.columns:
        names = lookup.drop_duplicates(col).set_index(col)[name_col]
        grouped["area_name"] = grouped["area_code"].map(names)
    grouped["value"] = percent(grouped["numerator"], grouped["denominator"])
    grouped["method"] = METHOD_APPORTIONED
    grouped["catchment_source"] = lsoa_figs["catchment_source"].iloc[0] if len(lsoa_figs) else ""
    if "weighted_by" in lsoa_figs:
        grouped["weighted_by"] = lsoa_figs["weighted_by"].iloc[0] if len(lsoa_figs) else ""
    return grouped


def _indicator_rows(ds: Dataset, indicator: str) -> pd.DataFrame:
    """The dataset's rows of ``indicator`` (all of them if it has none, for the error message).

    The table is split by indicator once per dataset: filtering the national table (~250,000
    rows) for every flag, map and chart costs more than the rest, and one split of the whole
    table costs less than taking each indicator's rows on its own. Suppressed COVER practice
    figures get their ``value_note`` here (:func:`hiexplore.suppression.mark_suppressed`), so a
    dataset built before the reader wrote it says so too.
    """
    ind: pd.DataFrame = ds.indicators
    split = derived(
        ds, "_indicator_rows_cache", (id(ind), len(ind)),
        lambda: dict(tuple(mark_suppressed(ind).groupby("indicator", sort=False))) if len(ind) else {}, keep=1,
    )
    rows = split.get(indicator)
    return ind if rows is None or rows.empty else rows


def _lsoa_names(ds: Dataset, codes: pd.Series) -> np.ndarray:
    """Names of the LSOAs ``codes`` (the catchment's LSOA codes, the same for every indicator)."""
    lookup: pd.DataFrame = ds.lookup
    return derived(
        ds, "_lsoa_names_cache", (id(lookup), len(lookup), id(codes), len(codes)),
        lambda: codes.map(lookup.set_index("lsoa_code")["lsoa_name"]).array,
    )


def area_figures(
    ds: Dataset,
    indicator: str,
    geography: str,
    period: str | None = None,
) -> pd.DataFrame:
    """Numerator, denominator and value for every area of ``geography``, with method and source.

    ``ds`` is a :class:`hiexplore.dataset.Dataset`. Practice figures are the published ones; PCN
    and sub-ICB figures sum their practices; LSOA figures are apportioned; MSOA, ward, LAD and
    ICB figures sum the apportioned LSOAs.

    Practices whose denominator is suppressed (fewer than 5 eligible) keep their row and
    ``value_note`` at practice level and are left out of every sum; ``attrs["suppressed"]``
    (:func:`hiexplore.suppression.suppression_summary`, None when there are none) says how many
    and how many eligible people that leaves out.
    """
    if geography not in GEOGRAPHIES:
        raise RequestError(f"Unknown geography {geography!r}.", valid=list(GEOGRAPHIES))
    if ds.practices.empty:  # type: ignore[attr-defined]
        get_indicator(indicator)  # an unknown key is still named as such
        raise RequestError(_no_practices_message(ds))
    indicators: pd.DataFrame = _indicator_rows(ds, indicator)
    period = _check_request(indicators, indicator, period)
    prac_rows = practice_figures(indicators, indicator, period)
    practices: pd.DataFrame = ds.practices
    if geography in ("practice", "pcn"):
        # the areas' own practices; neighbours only lend their patients to LSOA figures
        members = own_practices(practices)
    else:
        members = practices
    known = set(members["practice_code"].tolist())  # a set: Arrow-string isin is slow here
    in_dataset = prac_rows[np.fromiter((c in known for c in prac_rows["area_code"].tolist()), bool, len(prac_rows))]
    if geography == "practice":
        cols = ["area_code", "numerator", "denominator", "value"] + (["value_note"] if "value_note" in in_dataset else [])
        out = in_dataset[cols].copy()
        names = practices.set_index("practice_code")["practice_name"]
        out["area_name"] = out["area_code"].map(names)
        if "in_area_by" in practices:  # commissioner, location or both: why it is the area's
            out["in_area_by"] = out["area_code"].map(practices.set_index("practice_code")["in_area_by"])
        out["method"] = METHOD_PUBLISHED
        out["catchment_source"] = "not used"
    elif geography in ("icb", "sub_icb") and "in_area_by" in practices:
        out = commissioned_figures(ds, indicators, prac_rows, geography, period)
    elif geography in ("pcn", "sub_icb"):
        code_col = f"{geography}_code"
        merged = in_dataset.merge(
            practices[["practice_code", code_col] + ([f"{geography}_name"] if f"{geography}_name" in practices else [])],
            left_on="area_code",
            right_on="practice_code",
            how="left",
        )
        merged = merged.dropna(subset=[code_col, "numerator", "denominator"])
        out = merged.groupby(code_col).agg(
            numerator=("numerator", "sum"),
            denominator=("denominator", "sum"),
            practices=("practice_code", "size"),
        ).reset_index().rename(columns={code_col: "area_code"})
        if f"{geography}_name" in practices:
            names = practices.dropna(subset=[code_col]).drop_duplicates(code_col).set_index(code_col)[f"{geography}_name"]
            out["area_name"] = out["area_code"].map(names)
        else:
            out["area_name"] = out["area_code"]
        out["value"] = percent(out["numerator"], out["denominator"])
        out["method"] = METHOD_AGGREGATED
        out["catchment_source"] = "not used"
    else:
        if ds.registrations.empty:
            raise RequestError(_no_practices_message(ds, placed=True))
        weights = eligible_columns(indicator, ds.registrations)
        catchments = _dataset_catchment(ds, weights)
        lsoa = apportion_to_lsoa(
            ds.registrations,
            in_dataset.rename(columns={"area_code": "practice_code"}),
            catchments=catchments,
        )
        lsoa["weighted_by"] = (
            "registered patients aged "
            + ", ".join(c.removeprefix("patients_age_").replace("_plus", "+").replace("_", "-") for c in weights)
            if weights
            else "registered patients of all ages"
        )
        lookup: pd.DataFrame = ds.lookup
        if geography == "lsoa":
            out = lsoa.rename(columns={"lsoa_code": "area_code"})
            out["area_name"] = _lsoa_names(ds, catchments[0].lsoa_code_column)
        else:
            out = aggregate_lsoa(lsoa, lookup, geography)
        out.attrs.update(lsoa.attrs)
    out["geography"] = geography
    out["indicator"] = indicator
    out["period"] = period
    out = out.reset_index(drop=True)
    out.attrs["suppressed"] = suppression_summary(in_dataset, indicator, period)
    return out


def _no_practices_message(ds: object, *, placed: bool = False) -> str:
    """Why a dataset has no practice (or no catchment) figures: the real cause, from the manifest."""
    man = getattr(ds, "manifest", {}) or {}
    unplaced = man.get("unplaced_practices") or []
    listed = ", ".join(u.get("practice_code", "?") for u in unplaced[:20])
    if placed:
        return (
            "This dataset has no catchments: its practices could not be placed on the map "
            + (f"({len(unplaced)} unplaced: {listed}), " if unplaced else "")
            + "so no neighbourhood figures can be apportioned. Rebuild it with a postcode file "
            "(OS Code-Point Open, ONSPD or NHSPD) that holds the practices' postcodes."
        )
    return (
        "This dataset has no GP practices"
        + (f": {len(unplaced)} could not be placed ({listed})" if unplaced else "")
        + ". Rebuild it with the epraccur file and a postcode file that holds the practices' postcodes."
    )


def _suppressed_estimate(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected denominator and numerator of practices whose denominator (1 to 4) is suppressed.

    COVER publishes the coverage of such practices; the denominators d in 1..4 for which
    d x coverage / 100 is a whole number are equally likely, so the estimate is their mean
    (100% -> 2.5 of 2.5; 75% -> 4 of 4 x 0.75 = 3; 66.7% -> 3). NaN where no d fits.
    """
    den = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        fits = [d for d in range(1, SUPPRESSED_MAX_DENOMINATOR + 1) if abs(d * v / 100 - round(d * v / 100)) < 1e-6]
        if fits:
            den[i] = float(np.mean(fits))
    return den, den * values / 100.0


def commissioned_figures(
    ds: object, indicators: pd.DataFrame, prac_rows: pd.DataFrame, geography: str, period: str
) -> pd.DataFrame:
    """ICB or sub-ICB figures as the sum over the practices each one commissions.

    .. math:: N_a = \\sum_{p \\in C(a)} N_p + \\hat N^{supp}_a + N^{unreg}_a

    :math:`C(a)` are the dataset's practices whose commissioner (epraccur, else the QOF mapping,
    else ePCN) is ``a``, wherever they stand. For COVER (UKHSA, GP-level quarterly tables) two
    published parts complete the ICB total that the ``ICB_Code`` sheet gives: practices whose
    denominator (1-4) is suppressed but whose coverage is published, estimated by
    :func:`_suppressed_estimate`, and the ICB's children with no known practice (COVER's V81999
    row, ``icb_unregistered``; ICB level only). ``estimated_practices`` counts the first;
    ``unregistered`` is the denominator of the second.
    """
    practices: pd.DataFrame = ds.practices  # type: ignore[attr-defined]
    lookup: pd.DataFrame = ds.lookup  # type: ignore[attr-defined]
    members = practices[practices["in_area_by"].isin(["commissioner", "both"])]
    code_col = f"{geography}_code"
    rows = prac_rows.merge(members[["practice_code", code_col]], left_on="area_code", right_on="practice_code")
    rows = rows.dropna(subset=[code_col])
    published = rows.dropna(subset=["numerator", "denominator"])
    supp = rows[rows["denominator"].isna() & rows["value"].notna()]
    supp = supp[supp["source"].astype(str).str.startswith("UKHSA COVER GP-level")]
    est_den, est_num = _suppressed_estimate(supp["value"].to_numpy(dtype="float64"))
    supp = supp.assign(numerator=est_num, denominator=est_den).dropna(subset=["denominator"])
    parts = pd.concat([published.assign(_est=0), supp.assign(_est=1)], ignore_index=True)
    out = parts.groupby(code_col).agg(
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        practices=("practice_code", "nunique"),
        estimated_practices=("_est", "sum"),
    ).reset_index().rename(columns={code_col: "area_code"})
    out["unregistered"] = 0.0
    if geography == "icb":
        ods_to_ons: dict[str, str] = {}
        if {"icb_code_nhs", "icb_code"} <= set(lookup.columns):
            ods_to_ons = lookup.dropna(subset=["icb_code_nhs"]).drop_duplicates("icb_code_nhs").set_index(
                "icb_code_nhs")["icb_code"].astype(str).to_dict()
        out["area_code"] = out["area_code"].map(lambda c: ods_to_ons.get(c, c))
        unreg = indicators[
            (indicators["area_type"] == "icb_unregistered")
            & (indicators["period"] == period)
        ].set_index("area_code")
        hidden = unreg["denominator"].isna() & unreg["value"].notna()
        if hidden.any():  # suppressed like a small practice: same estimate
            d, n = _suppressed_estimate(unreg.loc[hidden, "value"].to_numpy(dtype="float64"))
            unreg = unreg.astype({"numerator": "float64", "denominator": "float64"})
            unreg.loc[hidden, "denominator"] = d
            unreg.loc[hidden, "numerator"] = n
        unreg = unreg.dropna(subset=["numerator", "denominator"])
        codes = out["area_code"].astype(str).to_numpy()
        u_num = unreg["numerator"].astype("float64").reindex(codes).fillna(0.0).to_numpy()
        u_den = unreg["denominator"].astype("float64").reindex(codes).fillna(0.0).to_numpy()
        out["numerator"] = out["numerator"].to_numpy(dtype="float64") + u_num
        out["denominator"] = out["denominator"].to_numpy(dtype="float64") + u_den
        out["unregistered"] = u_den
    name_col = f"{geography}_name"
    key = code_col if geography == "icb" else f"{code_col}_nhs"
    if name_col in lookup and key in lookup:
        names = lookup.dropna(subset=[key]).drop_duplicates(key).set_index(key)[name_col]
        out["area_name"] = out["area_code"].map(names).fillna(out["area_code"])
    else:
        out["area_name"] = out["area_code"]
    out["value"] = percent(out["numerator"], out["denominator"])
    out["method"] = METHOD_COMMISSIONED
    out["catchment_source"] = "not used"
    out["basis_note"] = [
        f"sum of {int(n)} commissioned practices"
        + (f"; {int(e)} with a suppressed denominator (1-4) estimated from their published coverage" if e else "")
        + (f"; {u:g} children with no known practice (COVER V81999) added" if u else "")
        for n, e, u in zip(out["practices"], out["estimated_practices"], out["unregistered"], strict=True)
    ]
    return out
