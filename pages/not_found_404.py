"""404: a page that does not exist."""

import dash
from dash import dcc, html

dash.register_page(__name__, name="Not found", title="Not found · CS Ops Console", nav=False)


def layout(**_params):
    return html.Div(
        [
            html.H1("Page not found", className="h4"),
            html.P("There is no page at this address."),
            dcc.Link("Go to Portfolio health", href="/"),
        ],
        className="not-found py-4",
    )
