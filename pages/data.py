"""Data: upload official files or point at a folder, see a validation report, build a dataset."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from app_support.data import DATA_DIR, available_datasets, upload_staging
from app_support.layout import current_dataset
from app_support.router import ensure_router  # noqa: E402
from hiexplore.build import build_dataset, validation_report
from hiexplore.derived import derive_dataset
from hiexplore.errors import HiexploreError, InputFileError
from hiexplore.io import READERS
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

st.subheader("1. Files")
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
for msg in problems:
    st.error(msg)

st.subheader("2. Validation report")
if sources and st.button("Check the files", type="secondary"):
    with st.spinner("Reading every file ..."):
        try:
            # a refused upload is not kept: deleted at once, and the report says so
            st.session_state["report"] = discard_rejected(staging, validation_report(sources), ledger)
        except HiexploreError as err:  # e.g. a zip bomb, refused before it is opened
            st.session_state.pop("report", None)
            if isinstance(err, InputFileError):
                discard_upload(staging, err.path, str(err), ledger)
            st.error(str(err))
report = st.session_state.get("report")
if report is not None:
    ok, err, skip = (report["status"] == s for s in ("ok", "error", "skipped"))
    st.markdown(f"**{int(ok.sum())} recognised and valid, {int(err.sum())} with problems, {int(skip.sum())} not recognised**")
    st.dataframe(report, hide_index=True)

st.subheader("3. Build a dataset")
name = st.text_input("Dataset name (letters, digits, - and _)", value="my-area")
areas = st.text_input("Keep only these areas (LAD, county, ICB or region codes, comma-separated; blank = all)",
                      value="", placeholder="E06000016,E06000017,E10000018")
if st.button("Build", type="primary", disabled=not sources):
    try:
        target = safe_dataset_path(DATA_DIR, name)
    except HiexploreError as err:
        st.error(str(err))
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
        build_dataset(sources, target, areas=codes, name=name, echo=echo)
    except HiexploreError as err:
        bar.empty()
        if isinstance(err, InputFileError) and discard_upload(staging, err.path, str(err), ledger):
            st.error(f"Build failed; nothing was replaced. The refused upload was deleted. {err}")
        else:
            st.error(f"Build failed; nothing was replaced. {err}")
        st.stop()
    bar.progress(0.9, text="Computing derived flags ...")
    try:
        derive_dataset(target, echo=echo)
    except HiexploreError as err:
        st.warning(f"Built dataset {name!r}, but its flags could not be stored; pages will compute "
                   f"them on first use. {err}")
    bar.progress(1.0, text="Done")
    used = clear_staging(staging, ledger)
    st.success(f"Built dataset {name!r}. Choose it in the sidebar."
               + (f" The {len(used)} uploaded file(s) were deleted from the server." if used else ""))
    available_datasets()

st.subheader("Datasets")
for dname, path in available_datasets().items():
    st.markdown(f"- **{dname}**: `{path}`")
