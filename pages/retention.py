"""Retention (/retention): the trailing-12-month cohort behind GRR and NRR, account by account."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components.charts import empty_figure
from components.retention import (
    MOVEMENT_HELP,
    MOVEMENT_LABELS,
    MOVEMENT_OPTIONS,
    movement_filter_model,
    movement_from_filter_model,
    retention_grid,
    retention_records,
    summary_tiles,
    totals_line,
    waterfall_figure,
    window_text,
)
from components.shell import info_button, page_header, panel_col
from components.states import empty_state, error_state, notice
from pages._shared import (
    RowsRequest,
    from_store,
    guarded,
    keep_grid_sort_in_url,
    keep_in_url,
    link_grid_rows,
    view_state,
)
from services.db import get_database
from services.errors import ServiceError
from services.retention_list import (
    SORTABLE,
    parse_movement,
    parse_sort,
    retention_page,
    retention_summary,
    retention_totals,
    retention_window,
)

dash.register_page(
    __name__, path="/retention", name="Retention", title="Retention · CS Ops Console", nav=False
)

GRAPH_CONFIG = {"displayModeBar": False}
STORE = "retention-view"
SUMMARY = "retention-summary"
WATERFALL = "retention-waterfall"
MOVEMENT = "retention-movement"
TOTALS = "retention-totals"
GRID = "retention-grid"
WATERFALL_HELP = (
    "ARR of last year's customers a year ago, what churned, contracted and expanded since, "
    "and their ARR now. New customers are not counted. Click a step to list its accounts."
)
LIST_HELP = " ".join(f"{MOVEMENT_LABELS[m]}: {text}" for m, text in MOVEMENT_HELP.items())


def layout(**params):
    data, _, as_of = view_state(params)
    movement, sort = "", ()
    if "error" not in data:
        try:
            movement = parse_movement(params.get("movement"))
            sort = parse_sort(params.get("sort"))
        except ServiceError as exc:
            data = {"error": str(exc)}
    subtitle = window_text(*retention_window(as_of.date)) if as_of else None
    views = [
        dbc.Row(
            [
                panel_col(4, "Retention (12 months)", html.Div(id=SUMMARY)),
                panel_col(
                    8,
                    "ARR movement",
                    dcc.Graph(id=WATERFALL, config=GRAPH_CONFIG),
                    help_text=WATERFALL_HELP,
                ),
            ]
        ),
        dbc.Row(
            [
                dbc.Col(
                    dbc.RadioItems(
                        id=MOVEMENT,
                        options=MOVEMENT_OPTIONS,
                        value=movement,
                        inline=True,
                        className="small",
                    ),
                    md="auto",
                ),
                dbc.Col(
                    html.Div(info_button("retention-list-info", "Retention list", LIST_HELP)),
                    width="auto",
                    className="ps-0",
                ),
                dbc.Col(html.Div(id=TOTALS, className="accounts-totals text-md-end")),
            ],
            className="mb-2 align-items-center g-2",
        ),
        retention_grid(GRID, movement, sort),
    ]
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            page_header("Retention", subtitle),
            error_state(data["error"])
            if "error" in data
            else notice(as_of.notice if as_of else None),
            html.Div(views, style={"display": "none"} if "error" in data else {}),
        ]
    )


@callback(Output(SUMMARY, "children"), Output(WATERFALL, "figure"), Input(STORE, "data"))
@guarded(empty_figure(""))
def render_summary(data):
    """Redraws GRR, NRR and the ARR waterfall. Called when: the view changes."""
    filters, snapshot = from_store(data)
    summary = retention_summary(get_database(), filters, snapshot)
    if not summary["start_arr"]:
        message = empty_state("No customers a year ago under these filters.")
        return message, waterfall_figure(summary)
    return summary_tiles(summary, "retention"), waterfall_figure(summary)


@callback(
    Output(TOTALS, "children"),
    Output(GRID, "filterModel"),
    Input(STORE, "data"),
    Input(MOVEMENT, "value"),
)
@guarded(no_update)
def render_totals(data, movement):
    """Redraws the count and ARR of the listed accounts and passes the movement to the grid.

    Called when: the view or the movement filter changes.
    """
    filters, snapshot = from_store(data)
    totals = retention_totals(get_database(), filters, snapshot, movement or "")
    return totals_line(totals, movement or "", "retention"), movement_filter_model(movement or "")


@callback(Output(GRID, "getRowsResponse"), Input(GRID, "getRowsRequest"), State(STORE, "data"))
def serve_rows(request, data):
    """Serves one block of rows. Called when: the grid scrolls, sorts or the movement changes."""
    block = RowsRequest.from_client(request, SORTABLE)
    if block is None:
        return no_update
    filters, snapshot = from_store(data)
    movement = parse_movement(movement_from_filter_model(request.get("filterModel")))
    db = get_database()
    rows = retention_page(db, filters, snapshot, movement, block.sort, block.start, block.limit)
    return {
        "rowData": retention_records(rows),
        "rowCount": retention_totals(db, filters, snapshot, movement)["accounts"],
    }


@callback(
    Output(MOVEMENT, "value"),
    Input(WATERFALL, "clickData"),
    prevent_initial_call=True,
)
def select_step(click):
    """Lists the accounts of a waterfall step. Called when: a step of the waterfall is clicked."""
    point = ((click or {}).get("points") or [{}])[0]
    return (point.get("customdata") or [""])[0]


link_grid_rows(GRID, STORE)
keep_grid_sort_in_url(GRID, SORTABLE)
keep_in_url(MOVEMENT, "value", "movement", default="")
