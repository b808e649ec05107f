"""The first page of a visit drawn with the shell, not by the pages router.

Dash pages fills the page in a callback: the browser asks for the shell (`_dash-layout`), the
router's Location reports the address, the router callback builds the page, and only then do
the page's own callbacks start. That round trip (and a second render of the whole body) is why
every chart page settled at ~1.35x a bare Dash page that ships its layout at once.

`page_container()` is Dash's `page_container` with the requested page already inside and the
router's Location already holding the address: its props equal `window.location`, so it reports
no change on mount, the router callback (prevent_initial_call) does not run, and the page's own
callbacks fire from the initial layout. Later navigation goes through the router as before.
The address is the `_dash-layout` request's Referer (same-origin fetches send the page's URL);
without one, or on any error, the container is Dash's own, empty, and the router draws the page.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import dash
from dash import dcc, html
from dash._pages import _parse_query_string, _path_to_page  # the router's own matching
from flask import has_request_context, request

log = logging.getLogger(__name__)

LOCATION, CONTENT, STORE, DUMMY = (
    "_pages_location",
    "_pages_content",
    "_pages_store",
    "_pages_dummy",
)  # dash.dash._ID_LOCATION, _ID_CONTENT, _ID_STORE, _ID_DUMMY


def requested_address() -> tuple[str, str, str] | None:
    """(href, pathname, search) of the page that asked for the layout, when it is this app's."""
    if not has_request_context():
        return None
    referer = request.headers.get("Referer", "")
    parts = urlsplit(referer)
    if not referer or parts.netloc != request.host or parts.scheme not in ("http", "https"):
        return None
    href = referer.split("#", 1)[0]
    return href, parts.path or "/", f"?{parts.query}" if parts.query else ""


def _page_of(app: dash.Dash, pathname: str, search: str) -> tuple[Any, str]:
    """What the router would return for this address: the layout and the title."""
    page, path_variables = _path_to_page(app.strip_relative_path(pathname))
    if not page:
        page = next(
            (p for m, p in dash.page_registry.items() if m.split(".")[-1] == "not_found_404"), {}
        )
    layout, title = page.get("layout", ""), page.get("title", app.title)
    if callable(layout):
        layout = layout(**{**(path_variables or {}), **_parse_query_string(search)})
    if callable(title):
        title = title(**(path_variables or {}))
    return layout, title


def page_container(app: dash.Dash) -> html.Div:
    """Dash's page container, with the requested page drawn in it when the address is known."""
    address = requested_address()
    if address is not None:
        href, pathname, search = address
        try:
            layout, title = _page_of(app, pathname, search)
        except Exception:  # the router will draw it (and show its error) instead
            log.exception("first render of %s failed; the router draws it", pathname)
        else:
            return html.Div(
                [
                    dcc.Location(
                        id=LOCATION,
                        refresh="callback-nav",
                        pathname=pathname,
                        search=search,
                        href=href,
                        hash="",
                    ),
                    html.Div(layout, id=CONTENT, disable_n_clicks=True),
                    dcc.Store(id=STORE, data={"title": title}),
                    html.Div(id=DUMMY, disable_n_clicks=True),
                ]
            )
    return dash.page_container
