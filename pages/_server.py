"""Flask-level serving: compressed responses and long-lived caching of versioned static files.

A first visit downloads ~9 MB of JavaScript (plotly.js alone 4.7 MB). `configure_server` makes
the server answer it brotli- or gzip-compressed (~2.5 MB), compressing each static file once
per worker, and lets the browser keep every file whose URL carries a version (Dash's
fingerprinted component bundles, `/assets/...?m=<mtime>`) for a year without asking again.
"""

from __future__ import annotations

from dash import Dash
from dash.fingerprint import check_fingerprint
from flask import Response, request
from flask_compress import Compress

ONE_YEAR = "public, max-age=31536000, immutable"
# Bundles Dash loads only once the page has drawn the component that needs them (one more round
# trip, after the layout and the first callbacks). Every console page shows the filter bar
# (dropdowns, a date picker) and most show charts and grids, so the HTML names them in a `Link:
# rel=preload` header and the browser fetches them beside the main bundles.
SHELL_CHUNKS = (
    "dash/dcc/async-dropdown.js",
    "dash/dcc/async-datepicker.js",
    "dash/dcc/async-graph.js",
    "plotly/package_data/plotly.min.js",
    "dash_ag_grid/async-community.js",
)
NOT_CACHED = "-"  # compression cache key of responses that are not static files


class StaticFileCache:
    """Compressed bodies of static files, per worker; other responses are never stored.

    Keys are ``"<algorithm>;<file>"`` with ``<file>`` from `_static_key`, so the cache holds at
    most one entry per encoding and packaged file (a few MB).
    """

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";" + NOT_CACHED):
            self._data[key] = value


def configure_server(app: Dash, preload: tuple[str, ...] = SHELL_CHUNKS) -> None:
    """Compression (brotli, else gzip), cache headers and preload hints for `app`'s server.

    `preload` lists component-suite files (relative to /_dash-component-suites/) that every
    page will load lazily.
    """
    prefix = app.config.requests_pathname_prefix
    suites = f"{prefix}_dash-component-suites/"
    assets = f"{prefix}{app.config.assets_url_path.strip('/')}/"
    preload_header = ", ".join(f"<{suites}{path}>; rel=preload; as=script" for path in preload)

    def static_key(req) -> str:
        # A suite's fingerprint is ignored by Dash (any fingerprint serves the same file), and
        # only registered files answer 200, so keying on the bare path keeps the cache bounded.
        if req.path.startswith(suites):
            return check_fingerprint(req.path)[0]
        if req.path.startswith(assets):
            return req.path
        return NOT_CACHED

    def cache_headers(response: Response) -> Response:
        if response.status_code == 200 and (
            (request.path.startswith(suites) and check_fingerprint(request.path)[1])
            or (request.path.startswith(assets) and "m" in request.args)
        ):
            response.headers["Cache-Control"] = ONE_YEAR
        elif preload_header and response.status_code == 200 and response.mimetype == "text/html":
            response.headers["Link"] = preload_header
        return response

    server = app.server
    server.config.update(
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=5,  # plotly.min.js: 4.7 MB -> 1.3 MB in ~0.3 s, once per worker
        COMPRESS_LEVEL=6,
        COMPRESS_MIN_SIZE=1024,
        # Files under /assets/ are sent as streams: compress those too (br, else gzip) and still
        # answer a matching If-None-Match with 304.
        COMPRESS_ALGORITHM_STREAMING=["br", "gzip"],
        COMPRESS_STREAMING_ENDPOINT_CONDITIONAL=["static", "_dash_assets.static"],
        COMPRESS_CACHE_KEY=static_key,
        COMPRESS_CACHE_BACKEND=StaticFileCache,
    )
    Compress(server)
    server.after_request(cache_headers)
