"""The page Streamlit's frontend boots from, told where the server is (issue 13, item 3).

Opened at a page's own address (``/data``, ``/targets``: every link and every click in the
sidebar), Streamlit's frontend does not know whether ``/data`` is a page or the prefix the app is
served under. It asks ``/data/_stcore/health`` first, gets a 404, waits its 100 ms retry delay and
only then asks ``/_stcore/health`` and opens the websocket: about 0.1 s of every page load
(measured in headless Chromium: the first message sent at 250 ms instead of 160 ms), paid by
every page but the root one.

Streamlit reads ``window.__streamlit.BACKEND_BASE_URL`` (its documented hook for hosts that embed
it) to know the server's address. :func:`install` makes the served ``index.html`` set it, worked
out in the browser from the address bar: the path less its last segment when that segment is one
of the app's pages (:data:`PAGE_PATHS`), so the app's own prefix behind a proxy is kept. At any
other address nothing is set and Streamlit probes as before. Nothing else of the page changes.
"""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path

#: the app's icon (browser tab, bookmarks)
ICON = Path(__file__).resolve().parent / "icon.png"

#: the ``url_path`` of every page in app.py (tests/test_serve_frame.py keeps them equal)
PAGE_PATHS = ("home", "map_explorer", "practices", "targets", "inequalities", "campaigns", "data", "overview")
#: marks the served index.html as already carrying the hook
MARK = "hiexplore-backend-base-url"


#: the app's prefix from the address bar's path, or null where the path is not one of ``pages``
#: under Streamlit's own ``server.baseUrlPath`` (``prefix``, "" when none): e.g. with the base
#: path "data", /data is the app's root, not its Data page
BASE_JS = (
    "function (path, pages, prefix) {"
    ' path = path.replace(/\\/+$/, "");'
    ' var last = path.slice(path.lastIndexOf("/") + 1);'
    " if (!last || pages.indexOf(last) < 0) { return null; }"
    " var base = path.slice(0, path.length - last.length);"
    ' if (prefix && base.replace(/\\/+$/, "").slice(-prefix.length - 1) !== "/" + prefix) { return null; }'
    " return base; }"
)


def _js(value: object) -> str:
    """A JSON literal that cannot end the ``<script>`` it sits in."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def boot_script(pages: tuple[str, ...] = PAGE_PATHS, base_url: str | None = None) -> str:
    """The ``<script>`` that sets ``window.__streamlit.BACKEND_BASE_URL`` before Streamlit loads
    (the root and unknown addresses: nothing set, Streamlit probes as before)."""
    return (
        f'<script id="{MARK}">(function () {{'
        f" var base = ({BASE_JS})(window.location.pathname, {_js(list(pages))}, {_js((base_url or '').strip('/'))});"
        " if (base === null) { return; }"
        " window.__streamlit = Object.assign({}, window.__streamlit || {},"
        " {BACKEND_BASE_URL: window.location.origin + base});"
        " }());</script>"
    )


def with_boot_script(html: str, pages: tuple[str, ...] = PAGE_PATHS, base_url: str | None = None) -> str:
    """``html`` (Streamlit's index.html) with :func:`boot_script` first in its ``<head>``; unchanged
    when it has no ``<head>`` or already carries it."""
    if MARK in html or "<head>" not in html:
        return html
    return html.replace("<head>", "<head>\n    " + boot_script(pages, base_url), 1)


def install(pages: tuple[str, ...] = PAGE_PATHS) -> bool:
    """Serve Streamlit's ``index.html`` with the boot script; True when installed.

    Before Streamlit starts (``app_support/serve.py``): wraps the handler of Streamlit's own
    static files so that where it answers with ``index.html`` (the root, and any page address)
    it answers with the same page plus the script. False, and nothing changed, where this
    Streamlit serves its files otherwise (the app then works as before, without the saving).
    """
    try:
        from starlette.responses import FileResponse, Response
        from streamlit.web.server.starlette import starlette_static_routes as routes
    except ImportError:
        return False
    original = getattr(routes, "create_streamlit_static_handler", None)
    if original is None:
        return False
    if getattr(original, "_hiexplore_boot", False):
        return True

    def create_handler(directory: str, base_url: str | None):  # noqa: ANN202 - Streamlit's StaticFiles
        handler = original(directory, base_url)
        index = Path(directory) / "index.html"
        try:
            body = with_boot_script(index.read_text(encoding="utf-8"), pages, base_url).encode("utf-8")
        except OSError:
            return handler
        served = handler.get_response

        async def get_response(path: str, scope):  # noqa: ANN001, ANN202 - Starlette's signature
            response = await served(path, scope)
            if isinstance(response, FileResponse) and Path(str(response.path)).name == "index.html":
                return Response(body, status_code=response.status_code, media_type="text/html",
                                headers={"Cache-Control": "no-cache"})
            return response

        handler.get_response = get_response
        return handler

    create_handler._hiexplore_boot = True  # type: ignore[attr-defined]
    routes.create_streamlit_static_handler = create_handler
    return True


@functools.cache
def page_icon(path: Path = ICON) -> str:
    """The app's icon as a ``data:`` URL, read once per process.

    Given as a file path, Streamlit read, hashed and registered the image as a media file on
    every run of every session, and the browser fetched it again (up to ten times in one load of
    the Practices page, each a request to the server). A ``data:`` URL is passed through as it
    is: the same icon, no file and no request."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
