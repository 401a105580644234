"""Start the app warm: what ``hiexplore app`` does before it serves the first page (issue 13).

Without it the first session after start pays for everything at once: importing the pages'
libraries (pandas, geopandas, folium, plotly, esda: seconds on a busy machine), loading the
dataset, and, when the dataset's ``derived/`` store is absent or stale, computing the flags of
every key it opens, with every other session of those first minutes racing to do the same.
:func:`warm_up` does these once, in the server process, before it listens:

1. store the default dataset's flags if ``derived/`` is not fresh
   (:func:`hiexplore.derived.ensure_derived`, with progress; not when ``HIEXPLORE_DERIVED_WRITE=0``,
   as in the test suite, which never writes into the committed ``data/llr``);
2. import the modules the pages use;
3. load the dataset into the process-wide cache every session shares (:func:`.data.get_dataset`);
4. read the stored flags the first pages show (every indicator's latest period, by neighbourhood
   and by practice) into that dataset's memory.

``app_support/serve.py`` runs it and then starts Streamlit in the same process.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from hiexplore.errors import HiexploreError
from hiexplore.page_views import warm_pages

from .data import EMBEDDED, available_datasets, ensure_demo, get_dataset

#: what the pages import (each costs 0.1-2 s on first import on the shared 2-core machine).
#: Not streamlit_folium, nor any custom component: importing one declares it, and declared
#: before the server's runtime exists its frontend files are not served (the map then waited
#: about 60 s for a component that never loaded).
WARM_MODULES = (
    "pandas",
    "geopandas",
    "folium",
    "plotly.graph_objects",
    "hiexplore.flags",
    "hiexplore.mapping",
    "hiexplore.maps",
    "hiexplore.profile",
    "hiexplore.practice_compare",
    "hiexplore.inequality_report",
    "hiexplore.la_deprivation",
    "hiexplore.periods",
    "hiexplore.exports",
)
#: geographies whose stored flags are read at start (the Overview, the map's area profile, Practices)
WARM_GEOGRAPHIES = ("lsoa", "practice")

Echo = Callable[[str], None]


def default_dataset() -> Path:
    """The dataset the sidebar opens on: ``HIEXPLORE_DATASET``, else the embedded LLR data,
    else the first built one, else the synthetic demo (generated, flags stored)."""
    options = available_datasets()
    env = os.environ.get("HIEXPLORE_DATASET")
    if env and Path(env).name in options:
        return options[Path(env).name]
    if EMBEDDED.name in options:
        return options[EMBEDDED.name]
    if options:
        return next(iter(options.values()))
    return ensure_demo()


def warm_up(path: Path | None = None, *, echo: Echo | None = None) -> dict[str, float]:
    """Do once what the first sessions would each do; seconds per step.

    A dataset that cannot be read raises its :class:`~hiexplore.errors.HiexploreError` (file
    and reason; ``serve.py`` prints it and serves anyway, so the pages show it too). A folder
    where the flags cannot be stored is said on ``echo``; its flags are then left to the pages
    (computed once on first use, kept in memory), not computed here for every indicator.
    """
    say = echo or (lambda _msg: None)
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    path = Path(path) if path is not None else default_dataset()
    took["dataset_found_s"] = time.perf_counter() - t0

    from hiexplore.derived import (
        WRITE_ENV,
        ensure_derived,
        store_is_fresh,
        stored_flags,
        writes_allowed,
    )

    t = time.perf_counter()
    summary = None
    if not writes_allowed() and not store_is_fresh(path):
        say(f"note: {path}: derived flags not stored ({WRITE_ENV}=0); pages compute them on first use, in memory")
    else:
        try:
            summary = ensure_derived(path, echo=say)
        except HiexploreError as err:
            say(f"note: derived flags not stored ({err}); pages compute them on first use, in memory")
    took["derived_s"] = time.perf_counter() - t
    if summary is not None:
        say(f"{path}: {summary.line()}")

    t = time.perf_counter()
    for name in WARM_MODULES:
        importlib.import_module(name)
    took["imports_s"] = time.perf_counter() - t

    t = time.perf_counter()
    ds = get_dataset(path)
    took["load_s"] = time.perf_counter() - t

    t = time.perf_counter()
    keys = ds.indicator_keys() if store_is_fresh(path) else []
    for key in keys:
        for geography in WARM_GEOGRAPHIES:
            try:
                stored_flags(ds, key, geography)
            except HiexploreError:
                continue  # a key without flags: the page says why when it is opened
    took["flags_s"] = time.perf_counter() - t
    took["pages_s"] = sum(warm_pages(ds).values())  # the pages' default choices (hiexplore.page_views)
    took["targets_s"] = importlib.import_module("app_support.targets_cache").warm_targets(ds, echo=say)  # Targets page
    from hiexplore.map_payload import warm_map

    took.update(warm_map(ds))  # the Map explorer's default view (serve.py then freezes the heap)
    took["total_s"] = time.perf_counter() - t0
    say(f"{path}: warmed up in {took['total_s']:.1f} s (flags {took['derived_s']:.1f} s, imports "
        f"{took['imports_s']:.1f} s, load {took['load_s']:.1f} s, stored flags read {took['flags_s']:.1f} s)")
    return took


# --- the frame every page shares (issue 13, item 3: what every page pays) ----------------------

#: what the pages import on their first visit that the list above leaves out (measured with
#: ``python -X importtime`` on a warmed server, page by page: mapclassify 0.43 s on the Map
#: explorer, libpysal/spopt/pyogrio/xlsxwriter 0.45 s on Targets, hiexplore.build 0.07 s on Data).
#: Still no module that declares a custom component (streamlit_folium, app_support.mapview,
#: app_support.patches_section): see WARM_MODULES.
FRAME_MODULES = (
    "PIL.Image",
    "mapclassify",
    "libpysal.weights",
    "spopt.region.maxp",
    "pyogrio",
    "xlsxwriter",
    "sqlalchemy",
    "streamlit.material_icon_names",
    "streamlit.dataframe.lazy_df_adapters",
    "hiexplore.charts",
    "hiexplore.map_payload",
    "hiexplore.spatial",
    "hiexplore.patches",
    "hiexplore.trends",
    "hiexplore.brief",
    "hiexplore.build",
    "hiexplore.uploads",
    "hiexplore.campaigns.store",
    "app_support.layout",
    "app_support.state",
    "app_support.router",
    "app_support.trends_block",
    "app_support.briefing",
)


def warm_frame(echo: Echo | None = None) -> dict[str, float]:
    """Before Streamlit serves: the router from the first run on, and every page's first-visit
    imports done, so no page's first visit pays them (seconds per step).

    A module that cannot be imported is said on ``echo`` and skipped: the page that needs it
    shows the error when it is opened, as it would without the warm-up.
    """
    from .router import router_from_start

    say = echo or (lambda _msg: None)
    took: dict[str, float] = {}
    t = time.perf_counter()
    router_from_start()
    for name in FRAME_MODULES:
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - said; the page shows it when opened
            say(f"note: {name} not imported at start ({err}); the page that uses it imports it when opened")
    took["frame_imports_s"] = time.perf_counter() - t
    _skip_bare_mode_check()
    return took


def _skip_bare_mode_check() -> None:
    """Streamlit checks once per process, on the first element any page draws, whether it runs
    outside ``streamlit run`` (to print a warning): through ``inspect.stack()``, which reads the
    source of every frame of the script thread, 30-70 ms of the first page after start. Served
    by ``serve.py`` it always runs under ``streamlit run``, so the check is marked done."""
    try:
        from streamlit import delta_generator
    except ImportError:  # pragma: no cover - Streamlit without that module
        return
    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


def freeze_heap() -> int:
    """Move everything the warm-up made (modules, the loaded dataset, its flags) out of the
    garbage collector's sight; how many objects that was.

    Streamlit runs a full collection (``gc.collect(2)``) after every script run: over the
    warmed process's ~200,000 long-lived objects that took 50-65 ms, most of the server's work
    for a page such as Data. Frozen objects are still freed by reference counting when dropped
    (a replaced dataset); only cycles among them are no longer looked for, and they are made
    once, at start. Objects made later (sessions, caches) are collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
