"""CS Ops Console: wires the Dash app (pages, shell, cache, routes) and exposes `server` for gunicorn."""

from __future__ import annotations

import logging
import threading

import dash
import dash_bootstrap_components as dbc
from dash import Dash, dcc, html

from components import ids
from components.filter_bar import filter_bar
from components.shell import navbar
from components.states import error_state
from components.theme import register_template
from pages._shared import report_callback_error
from services import cache
from services.asof import earliest_complete_as_of
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters
from services.settings import load_settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
register_template()
cache.configure()

app = Dash(
    __name__,
    use_pages=True,
    title="CS Ops Console",
    update_title=None,
    external_stylesheets=[],
    serve_locally=True,
    on_error=report_callback_error,
)
server = app.server
server.config["MAX_CONTENT_LENGTH"] = load_settings().max_request_bytes

from pages import capacity, compensation, renewals  # noqa: E402
from pages._exports import register_export_routes  # noqa: E402  (pages need the app first)
from pages._first_render import page_container  # noqa: E402
from pages._global_callbacks import filter_bar_options  # noqa: E402  (registers shell callbacks)
from pages._server import configure_server  # noqa: E402

_tabs_validated = threading.Lock()


@server.before_request
def validate_every_tab() -> None:
    """Adds the other tabs' ids of the tabbed pages (see TabbedPage.all_tabs_layout) to the
    validation layout Dash builds on the first request (registered after Dash's own
    first-request hook, so it runs after it)."""
    if getattr(app, "_csops_tabs_validated", False) or app.validation_layout is None:
        return
    with _tabs_validated:
        if not getattr(app, "_csops_tabs_validated", False):
            app.validation_layout.children.append(renewals.PAGE.all_tabs_layout())
            app.validation_layout.children.append(capacity.all_tabs_layout())
            app.validation_layout.children.append(compensation.PAGE.all_tabs_layout())
            app._csops_tabs_validated = True


register_export_routes(server)
configure_server(app)


def serve_layout():
    """The shell, rebuilt on each full page load so it follows the current database."""
    nav_pages = sorted(
        (p for p in dash.page_registry.values() if p.get("nav", True)),
        key=lambda p: p.get("order", 99),
    )
    banner, options, as_of_text, data_as_of, first = None, {}, "No data loaded", None, None
    try:
        db = get_database()
        info = db.info()
        data_as_of, first = info.as_of_date, earliest_complete_as_of(db)
        options = filter_bar_options(Filters())
        as_of_text = f"Data as of {data_as_of:%d %b %Y}"
    except ServiceError as exc:
        banner = error_state(str(exc))
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.PAGE_STATE),
            navbar(nav_pages, as_of_text),
            filter_bar(options, data_as_of, first),
            dbc.Container(
                [html.Div(id=ids.GLOBAL_MESSAGE), banner, page_container(app)],
                fluid=True,
                className="page-body pt-3",
            ),
        ]
    )


app.layout = serve_layout

if __name__ == "__main__":
    app.run(debug=False, port=8050)
