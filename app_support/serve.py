"""Serve ``app.py`` warm: what ``hiexplore app`` runs (``python app_support/serve.py [streamlit options]``).

Warms the server process first (:func:`app_support.warm.warm_up`: flags stored, libraries
imported, the dataset loaded and shared, its first flags read), then starts Streamlit in this
same process, so the first page after start finds all of it done (issue 13: cold first page
<= 3x a bare Streamlit page). Then :func:`app_support.warm.warm_frame` (the router from the first
run on; every page's libraries imported) and :func:`app_support.warm.freeze_heap` (the warmed
heap out of the per-run garbage collection), and Streamlit starts with :data:`SERVE_OPTIONS`
before the caller's own. The options after the script are Streamlit's ``run`` options
(``--server.port 8501 --server.address 127.0.0.1 ...``). ``HIEXPLORE_DATASET`` picks the
dataset, as for ``streamlit run app.py``; ``HIEXPLORE_WARM=0`` skips the warm-up.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WARM_ENV = "HIEXPLORE_WARM"
#: Streamlit settings of a served app (also in .streamlit/config.toml for ``streamlit run app.py``;
#: tests/test_serve_frame.py keeps the two equal). Given before the caller's options, which win.
#: Each cuts work every page load paid (issue 13, item 3):
#: no "magic" (no page writes a bare expression): app.py and the page were parsed and rewritten
#: (``ast``) for every new browser session, since Streamlit drops its compiled scripts whenever
#: no session is left; no file watcher: a served app's code does not change under it, and the
#: watcher re-listed every loaded module on every run.
SERVE_OPTIONS: dict[str, str] = {
    "runner.magicEnabled": "false",
    "server.fileWatcherType": "none",
}
#: Streamlit loggers that say "no runtime / no script run context": expected before it serves
_NOT_RUNNING_YET = ("streamlit.runtime.caching.cache_data_api",
                    "streamlit.runtime.scriptrunner_utils.script_run_context")


def serve_flags() -> list[str]:
    """:data:`SERVE_OPTIONS` as ``streamlit run`` command-line options."""
    return [arg for key, value in SERVE_OPTIONS.items() for arg in (f"--{key}", value)]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get(WARM_ENV, "1").strip().lower() not in ("0", "false", "no"):
        # Streamlit warns, once per cached function and call, that no server runs yet: true and
        # expected here, so those two loggers are quiet while warming up (levels put back after)
        import streamlit  # noqa: F401 - creates its loggers (with their levels) first

        quiet = [logging.getLogger(name) for name in _NOT_RUNNING_YET]
        levels = [log.level for log in quiet]
        for log in quiet:
            log.setLevel(logging.ERROR)

        def echo(msg: str) -> None:
            print(msg, flush=True)

        echo("hiexplore: warming up before serving (stored flags, libraries, dataset) ...")
        from app_support.warm import freeze_heap, warm_frame, warm_up
        from hiexplore.errors import HiexploreError

        try:
            warm_up(echo=echo)
        except HiexploreError as err:  # the pages show it too; the server still serves the others
            echo(f"hiexplore: warm-up stopped: {err}")
        finally:
            warm_frame(echo=echo)
            freeze_heap()
            for log, level in zip(quiet, levels, strict=True):
                log.setLevel(level)
    else:
        from app_support.router import router_from_start

        router_from_start()
    from app_support.frontend import install

    install()  # the frontend told where the server is: no 404 probe and retry per page address
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *serve_flags(), *args]
    return int(stcli.main() or 0)


if __name__ == "__main__":
    raise SystemExit(main())
