"""Retention (/retention): the accounts behind GRR, NRR and the ARR bridge, account by account.

By default the trailing-12-month cohort behind the GRR/NRR cards; with `from` and `to` (the ARR
bridge's drill) the accounts over that period, the bridge in place of GRR/NRR. `movement` picks
churned, contracted, expanded, flat, new or at_end (every account paying at the end).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components.charts import empty_figure
from components.renewals_trend import bridge_figure
from components.retention import (
    ALL_LABEL,
    AT_END_LABELS,
    MOVEMENT_HELP,
    MOVEMENT_LABELS,
    bridge_tiles,
    movement_filter_model,
    movement_from_filter_model,
    movement_options,
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
    retention_href,
    view_state,
)
from services.arr_bridge import Period, arr_bridge
from services.db import get_database
from services.errors import InvalidFilter, ServiceError
from services.filters import parse_date
from services.retention_list import (
    SORTABLE,
    parse_movement,
    parse_period,
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
    "and their ARR now. New customers are not counted (list them with “New”). Click a step to "
    "list its accounts."
)
BRIDGE_HELP = (
    "ARR at the start of the period, the new ARR of accounts that had none then, what the "
    "start's customers expanded, contracted and churned, and ARR at the end. Click a step to "
    "list its accounts."
)
_LIST_NAMES = {**MOVEMENT_LABELS, "at_end": AT_END_LABELS[False]}
LIST_HELP = f"{ALL_LABEL}: every account paying at the start (the cohort). " + " ".join(
    f"{_LIST_NAMES[m]}: {text}" for m, text in MOVEMENT_HELP.items()
)


def layout(**params):
    data, _, as_of = view_state(params)
    movement, sort, window = "", (), None
    if "error" not in data:
        try:
            movement = parse_movement(params.get("movement"))
            sort = parse_sort(params.get("sort"))
            window = parse_period(params, as_of.date)
            if window:
                data["period"] = [d.isoformat() for d in window]
        except ServiceError as exc:
            data = {"error": str(exc)}
    subtitle = None
    if as_of:
        subtitle = (
            window_text(*window, period=True)
            if window
            else window_text(*retention_window(as_of.date))
        )
    views = [
        dbc.Row(
            [
                panel_col(
                    4,
                    "ARR over the period" if window else "Retention (12 months)",
                    html.Div(id=SUMMARY),
                ),
                panel_col(
                    8,
                    "ARR bridge" if window else "ARR movement",
                    dcc.Graph(id=WATERFALL, config=GRAPH_CONFIG),
                    help_text=BRIDGE_HELP if window else WATERFALL_HELP,
                ),
            ]
        ),
        dbc.Row(
            [
                dbc.Col(
                    dbc.RadioItems(
                        id=MOVEMENT,
                        options=movement_options(window is not None),
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
        retention_grid(GRID, movement, sort, window),
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


def _view(data):
    """Filters, the view's date, the list's end day and its start day (None: the 12 months to
    the view's date).

    The store keeps the period asked for; it is checked again against the as-of date now.
    """
    filters, snapshot = from_store(data)
    period = data.get("period")
    if not period:
        return filters, snapshot, snapshot, None
    d0, d1 = (parse_date(d) for d in period)
    if d1 > snapshot:
        raise InvalidFilter(f"The period ends after the date of this view ({snapshot:%d %b %Y}).")
    return filters, snapshot, d1, d0


@callback(Output(SUMMARY, "children"), Output(WATERFALL, "figure"), Input(STORE, "data"))
@guarded(empty_figure(""))
def render_summary(data):
    """Redraws GRR, NRR and the ARR waterfall (or, for a period, the ARR bridge).

    Called when: the view changes.
    """
    filters, snapshot, end, since = _view(data)
    if since is not None:
        bridge = arr_bridge(get_database(), filters, since, end)
        figure = bridge_figure(bridge, Period("period", "Period", since, end))
        twelve_months = (retention_href(filters), snapshot)
        return bridge_tiles(bridge, "retention", twelve_months), figure
    summary = retention_summary(get_database(), filters, end)
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
    filters, snapshot, end, since = _view(data)
    totals = retention_totals(get_database(), filters, end, movement or "", since)
    window = (since, end) if since else None
    return (
        totals_line(totals, movement or "", "retention", window),
        movement_filter_model(movement or ""),
    )


@callback(Output(GRID, "getRowsResponse"), Input(GRID, "getRowsRequest"), State(STORE, "data"))
def serve_rows(request, data):
    """Serves one block of rows. Called when: the grid scrolls, sorts or the movement changes."""
    block = RowsRequest.from_client(request, SORTABLE)
    if block is None:
        return no_update
    filters, snapshot, end, since = _view(data)
    movement = parse_movement(movement_from_filter_model(request.get("filterModel")))
    db = get_database()
    rows = retention_page(db, filters, end, movement, block.sort, block.start, block.limit, since)
    return {
        "rowData": retention_records(rows),
        "rowCount": retention_totals(db, filters, end, movement, since)["accounts"],
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
