"""Data: upload official files or point at a folder, see a validation report, build a dataset."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

from app_support.data import DATA_DIR, available_datasets, upload_staging
from app_support.layout import current_dataset
from app_support.router import ensure_router  # noqa: E402
from hiexplore.build import build_dataset, left_out_files, validation_report
from hiexplore.dataset import read_manifest, unplaced_practices
from hiexplore.derived import derive_dataset
from hiexplore.errors import DamagedFileError, HiexploreError, InputFileError
from hiexplore.io import READERS
from hiexplore.safe_text import markdown_text as md
from hiexplore.uploads import (
    DEFAULT_MAX_BYTES,
    clear_staging,
    discard_rejected,
    discard_upload,
    safe_dataset_path,
    stage_uploads,
)

ensure_router()

MAX_UPLOAD_MB = DEFAULT_MAX_BYTES // (1024 * 1024)

ds = current_dataset()
st.title("Data")
st.markdown(
    "Load your own official files (the formats below), check what hiexplore makes of them, then build a "
    "new dataset. **Nothing is replaced until a build succeeds**: a failed build leaves the previous "
    "dataset as it was."
)
with st.expander("Formats hiexplore recognises (by content, not by file name)"):
    for r in READERS:
        st.markdown(f"- **{r.description}** ({r.kind})")

st.header("1. Files")
uploads = st.file_uploader("Upload official files", accept_multiple_files=True,
                           help=f"Up to {MAX_UPLOAD_MB} MB each; CSV, gz, zip, xlsx, ods, GeoJSON, GeoPackage.")
folder = st.text_input("…and/or a folder on this machine that holds official files",
                       value="", placeholder="e.g. ../shared/data")

staging, ledger = upload_staging()
sources: list[Path] = []
problems: list[str] = []
if uploads or staging.exists():
    # checked before anything is written; refused files are deleted at once, withdrawn ones too
    staged = stage_uploads(staging, uploads or [], ledger)
    problems.extend(staged.problems)
    if staged.files:
        sources.append(staging)
if folder.strip():
    p = Path(folder.strip()).expanduser()
    if p.is_dir():
        sources.append(p)
    else:
        problems.append(f"{folder}: not a folder on this machine")
for msg in problems:  # messages name the user's files: shown as text, never as markdown
    st.error(md(msg))

st.header("2. Validation report")
if sources and st.button("Check the files", type="secondary"):
    with st.spinner("Reading every file ..."):
        try:
            # a refused upload is not kept: deleted at once, and the report says so
            st.session_state["report"] = discard_rejected(staging, validation_report(sources), ledger)
        except HiexploreError as err:  # e.g. a zip bomb, refused before it is opened
            st.session_state.pop("report", None)
            if isinstance(err, InputFileError):
                discard_upload(staging, err.path, str(err), ledger)
            st.error(md(err))
report = st.session_state.get("report")
if report is not None:
    ok, err, dmg, skip = (report["status"] == s for s in ("ok", "error", "damaged", "skipped"))
    st.markdown(f"**{int(ok.sum())} recognised and valid, {int(err.sum())} with problems, {int(dmg.sum())} damaged, "
                f"{int(skip.sum())} not recognised**")
    if dmg.any():
        st.warning(f"{int(dmg.sum())} damaged file(s) cannot be opened (see 'problem'): the build stops on them "
                   "unless you tick 'Skip damaged files'.")
    st.dataframe(report, hide_index=True)

st.header("3. Build a dataset")
name = st.text_input("Dataset name (letters, digits, - and _)", value="my-area")
areas = st.text_input("Keep only these areas (LAD, county, ICB or region codes, comma-separated; blank = all)",
                      value="", placeholder="E06000016,E06000017,E10000018")
skip_damaged = st.checkbox(
    "Skip damaged files", value=False,
    help="Build without data files that cannot be opened (truncated, empty, an HTML page...). Each is "
    "listed with its reason here and in the dataset's manifest. Unticked, a damaged file stops the build.",
)
allow_unplaced = st.checkbox(
    "Build even if more than 5% of an ICB's practices cannot be placed (they are listed either way)",
    value=False, key="allow_unplaced")
if st.button("Build", type="primary", disabled=not sources):
    try:
        target = safe_dataset_path(DATA_DIR, name)
    except HiexploreError as err:
        st.error(md(err))
        st.stop()
    bar = st.progress(0.0, text="Starting ...")
    log = st.empty()
    lines: list[str] = []

    def echo(msg: str) -> None:
        lines.append(msg)
        m = re.match(r"\[(\d+)/(\d+)\]", msg)
        if m:
            bar.progress(min(0.9, int(m.group(1)) / int(m.group(2)) * 0.8), text=msg)
        log.code("\n".join(lines[-15:]))

    codes = [c.strip() for c in areas.split(",") if c.strip()] or None
    try:
        build_dataset(sources, target, areas=codes, name=name, echo=echo, skip_damaged=skip_damaged,
                      allow_unplaced=allow_unplaced)
    except DamagedFileError as err:
        bar.empty()
        st.error("Build stopped on damaged file(s); nothing was replaced. Replace or remove them, or tick "
                 "'Skip damaged files'.")
        st.dataframe(pd.DataFrame([{"file": p.name, "reason": r} for p, r in err.damaged]), hide_index=True)
        st.stop()
    except HiexploreError as err:
        bar.empty()
        if isinstance(err, InputFileError) and discard_upload(staging, err.path, str(err), ledger):
            st.error("Build failed; nothing was replaced. The refused upload was deleted. " + md(err))
        else:
            st.error("Build failed; nothing was replaced. " + md(err))
        st.stop()
    bar.progress(0.9, text="Computing derived flags ...")
    try:
        derive_dataset(target, echo=echo)
    except HiexploreError as err:
        st.warning(f"Built dataset {name!r}, but its flags could not be stored; pages will compute "
                   f"them on first use. {err}")
    bar.progress(1.0, text="Done")
    used = clear_staging(staging, ledger)
    st.success(f"Built dataset {md(name)}. Choose it in the sidebar."
               + (f" The {len(used)} uploaded file(s) were deleted from the server." if used else ""))
    built = left_out_files(read_manifest(target))
    if (built["status"] == "damaged, left out").any():
        st.warning(f"Built without {int((built['status'] == 'damaged, left out').sum())} damaged file(s):")
        st.dataframe(built[built["status"] == "damaged, left out"], hide_index=True)
    available_datasets()

st.header("Files the current dataset was built without")
left_out = left_out_files(ds.manifest)
n_damaged = int((left_out["status"] == "damaged, left out").sum())
if n_damaged:
    st.warning(f"This dataset was built without {n_damaged} damaged file(s): its figures lack that data.")
if left_out.empty:
    st.caption("None: every file under its sources was read and used (or this dataset predates the listing).")
else:
    st.dataframe(left_out, hide_index=True)

st.header("Practices that could not be placed")
unplaced = unplaced_practices(ds.manifest)
if len(unplaced):
    st.warning(f"{len(unplaced)} practices of {md(ds.name)} could not be placed: those in the dataset keep their "
               "practice figures but are not on the map and have no catchment, so their patients are missing from "
               "neighbourhood figures (areas: the requested areas each belongs to).")
    st.dataframe(unplaced, hide_index=True)
else:
    st.markdown(f"Every practice of {md(ds.name)} was placed from its postcode.")
membership = ds.manifest.get("practice_membership") or {}
if membership:
    st.caption("Practices by why they belong (in_area_by): " + md(", ".join(f"{k} {v}" for k, v in membership.items())))

st.header("Datasets")
for dname, path in available_datasets().items():
    st.markdown(f"- **{md(dname)}**: {md(path)}")
