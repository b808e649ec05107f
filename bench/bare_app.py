"""A bare Dash page, the yardstick for bench/page_settle.py.

It loads the component libraries the console loads (dash, dash-bootstrap-components, dcc.Graph,
dash-ag-grid) and the same stylesheets, and fills two graphs and one grid with one callback: the
least any data-driven Dash page pays. Served by gunicorn like the app (``bench.bare_app:server``),
with the same Flask-level setup (pages/_server.py).
"""

from __future__ import annotations

from pathlib import Path

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, callback, dcc, html

from pages._server import configure_server

ROOT = Path(__file__).resolve().parent.parent

app = Dash(
    __name__,
    title="Bare page",
    update_title=None,
    serve_locally=True,
    assets_folder=str(ROOT / "assets"),
)
server = app.server
# Served like the app, so the comparison is the page's own cost (it has no filter bar to preload).
configure_server(
    app,
    preload=(
        "dash/dcc/async-graph.js",
        "plotly/package_data/plotly.min.js",
        "dash_ag_grid/async-community.js",
    ),
)

app.layout = dbc.Container(
    [
        dcc.Store(id="bare-store", data={"rows": 25}),
        dbc.Row(
            [
                dbc.Col(dcc.Graph(id="bare-graph-1", config={"displayModeBar": False}), md=6),
                dbc.Col(dcc.Graph(id="bare-graph-2", config={"displayModeBar": False}), md=6),
            ]
        ),
        dag.AgGrid(
            id="bare-grid",
            columnDefs=[{"field": "name"}, {"field": "segment"}, {"field": "arr"}],
            rowData=[],
            style={"height": 380},
        ),
        html.Div(id="bare-note"),
    ],
    fluid=True,
)


@callback(
    Output("bare-graph-1", "figure"),
    Output("bare-graph-2", "figure"),
    Output("bare-grid", "rowData"),
    Input("bare-store", "data"),
)
def fill(data):
    """Two small bar charts and a page of grid rows. Called when: the page loads."""
    n = data["rows"]
    bars = {"data": [{"type": "bar", "x": ["green", "yellow", "red"], "y": [60, 25, 15]}]}
    weeks = {
        "data": [{"type": "bar", "x": list(range(26)), "y": [60 + i % 5 for i in range(26)]}],
        "layout": {"barmode": "stack"},
    }
    rows = [{"name": f"Account {i}", "segment": "SMB", "arr": 1000 * i} for i in range(n)]
    return bars, weeks, rows
