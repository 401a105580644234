"""Data: upload official files or point at a folder, see a validation report, build a dataset."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import streamlit as st

from app_support.data import DATA_DIR, available_datasets
from app_support.layout import current_dataset
from app_support.router import ensure_router  # noqa: E402
from hiexplore.build import build_dataset, validation_report
from hiexplore.dataset import unplaced_practices
from hiexplore.errors import HiexploreError
from hiexplore.io import READERS
from hiexplore.uploads import ALLOWED_SUFFIXES, DEFAULT_MAX_BYTES, check_upload, safe_dataset_path

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

staging = DATA_DIR / ".uploads" / st.session_state.setdefault("upload_id", uuid.uuid4().hex[:12])
sources: list[Path] = []
problems = []
if uploads:
    staging.mkdir(parents=True, exist_ok=True)
    for up in uploads:
        try:  # size and type are checked before anything is written or parsed
            name = check_upload(up.name, up.size, head=bytes(up.getbuffer()[:16]), allowed=ALLOWED_SUFFIXES)
        except HiexploreError as err:
            problems.append(str(err))
            continue
        (staging / name).write_bytes(up.getbuffer())
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
            st.session_state["report"] = validation_report(sources)
        except HiexploreError as err:  # e.g. a zip bomb, refused before it is opened
            st.session_state.pop("report", None)
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
allow_unplaced = st.checkbox(
    "Build even if more than 5% of an ICB's practices cannot be placed (they are listed either way)",
    value=False, key="allow_unplaced")
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
        build_dataset(sources, target, areas=codes, name=name, echo=echo, allow_unplaced=allow_unplaced)
    except HiexploreError as err:
        bar.empty()
        st.error(f"Build failed; nothing was replaced. {err}")
        st.stop()
    bar.progress(1.0, text="Done")
    st.success(f"Built dataset {name!r}. Choose it in the sidebar.")
    shutil.rmtree(staging, ignore_errors=True)
    available_datasets()

st.subheader("Practices that could not be placed")
unplaced = unplaced_practices(ds.manifest)
if len(unplaced):
    st.warning(f"{len(unplaced)} practices of {ds.name!r} could not be placed: they keep their practice figures "
               "but are not on the map and have no catchment, so their patients are missing from neighbourhood figures.")
    st.dataframe(unplaced, hide_index=True)
else:
    st.markdown(f"Every practice of {ds.name!r} was placed from its postcode.")
membership = ds.manifest.get("practice_membership") or {}
if membership:
    st.caption("Practices by why they belong (in_area_by): " + ", ".join(f"{k} {v}" for k, v in membership.items()))

st.subheader("Datasets")
for dname, path in available_datasets().items():
    st.markdown(f"- **{dname}**: `{path}`")
