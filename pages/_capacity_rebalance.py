"""Capacity tab 'rebalance': which accounts should move so that no book is over-loaded. One
sentence answers; below it the moves (an account opens Account 360, "Keep" keeps it with its
owner), utilisation before and after per CSM, the plan against a greedy baseline, the books that
stay over and why, and the rules. The moves download as CSV for a CRM update.

Page parameters: `rbteam` (a team; all teams without it), `rbmoves` (moves per CSM, at most),
`rbfreeze` (days: accounts renewing within them never move), `rbkeep` (repeatable: accounts
that never move), `rbopen` (0: leave open books alone), and the workload model's
(services/workload.py `to_params`, edited on the Books tab).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.capacity_rebalance import (
    ALL_TEAMS,
    FREEZE,
    KEEP,
    KEEP_COLUMN,
    MOVES,
    OPEN,
    TEAM,
    keep_options,
    message_id,
    moves_columns,
    parameters_form,
    plan_outputs,
)
from components.charts import empty_figure
from components.grids import records_grid
from components.shell import panel
from components.states import error_state, notice
from pages._exports import rebalance_export_href
from pages._shared import account_href, clicked_row_id, from_store, guarded, keep_params_in_url
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters
from services.rebalancing import RebalanceOptions
from services.rebalancing_inputs import narrows_accounts, rebalance_accounts, rebalance_teams
from services.rebalancing_view import checked_team, rebalance_view
from services.workload import WorkloadParams

VIEW = "cr-view"  # this tab's copy of the view: its callbacks fire only when the tab is shown
WORKLOAD = "cr-workload"  # the workload model's URL parameters (edited on the Books tab)
URL_CHANGES = "cr-url"  # {key: value or None}: the options written into the URL
SENTENCE = "cr-sentence"
TILES = "cr-tiles"
CHART = "cr-chart"
GRID = "cr-moves-grid"
COMPARE = "cr-compare-slot"
STUCK = "cr-stuck"
STUCK_PANEL = "cr-stuck-panel"
RULES = "cr-rules-slot"
CSV = "cr-csv"
MOVES_HELP = (
    "Each proposed move: the account, its owner now and the CSM who takes it. Click an account "
    "to open it; click Keep to keep it with its owner (it joins Never move and the plan is "
    "solved again). Download the moves as CSV for a CRM update."
)
CHART_HELP = (
    "Utilisation of each CSM the plan touches: before (hollow) and after the moves (filled; "
    "purple: still over the line). Donors first, then the CSMs who take accounts."
)
COMPARE_HELP = (
    "The plan is an integer program solved by HiGHS (scipy's milp), team by team. The greedy "
    "baseline: the most over-loaded book first gives its account with the most points per ARR "
    "to the least-loaded CSM who can take it."
)


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    workload, workload_errors = WorkloadParams.from_params(params)
    options, errors = RebalanceOptions.from_params(params)
    try:
        db = get_database()
        teams = rebalance_teams(db, filters, as_of.date, workload)
        options, errors = checked_team(options, errors, teams)
        names = _names(db, filters, as_of.date, workload, options.never_move)
    except ServiceError as exc:
        return error_state(str(exc))
    model_note = (
        "The workload model in the link has values that cannot be used; their defaults apply "
        "(see the Books & workload tab)."
        if workload_errors
        else None
    )
    scope_note = (
        "Books count every account of their CSMs; only the accounts in your segment, region, "
        "tier or owner filters may move."
        if narrows_accounts(filters)
        else None
    )
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            dcc.Store(id=WORKLOAD, data=workload.to_params()),
            dcc.Store(id=URL_CHANGES),
            notice(model_note),
            panel(
                "Rebalancing parameters",
                parameters_form(
                    teams, options, keep_options(None, options.never_move, names), params, errors
                ),
                panel_id="cr-params-panel",
                tools=html.A(
                    "Download moves (CSV)",
                    id=CSV,
                    href="#",
                    className="btn btn-outline-secondary btn-sm",
                    download="",
                ),
            ),
            html.Div(scope_note, className="small text-muted mt-2") if scope_note else None,
            dcc.Loading(
                html.Div(id=SENTENCE, className="answer-sentence my-3 fw-semibold"),
                type="dot",
                delay_show=150,
            ),
            html.Div(id=TILES),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Utilisation before and after",
                            dcc.Graph(id=CHART, config={"displayModeBar": False}),
                            panel_id="cr-chart-panel",
                            help_text=CHART_HELP,
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            html.Div(  # a wrapper: the panel's full height is its own
                                panel(
                                    "This plan against a greedy baseline",
                                    html.Div(id=COMPARE),
                                    panel_id="cr-compare-panel",
                                    help_text=COMPARE_HELP,
                                )
                            ),
                            html.Div(
                                panel(
                                    "What the plan cannot fix",
                                    html.Div(id=STUCK),
                                    panel_id="cr-stuck-inner",
                                ),
                                id=STUCK_PANEL,
                                className="mt-3",
                            ),
                        ],
                        lg=4,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Proposed moves",
                        records_grid(
                            GRID, moves_columns(True, True), row_id="account_id", height=420
                        ),
                        panel_id="cr-moves-panel",
                        help_text=MOVES_HELP,
                    ),
                    className="mb-3",
                )
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "How the moves are chosen", html.Div(id=RULES), panel_id="cr-rules-panel"
                    ),
                    className="mb-3",
                )
            ),
        ]
    )


def _names(db, filters: Filters, day, workload: WorkloadParams, account_ids) -> dict[str, str]:
    """Names of the kept accounts (the never-move picker shows names, not ids)."""
    if not account_ids:
        return {}
    accounts = rebalance_accounts(db, filters, day, workload)
    kept = accounts[accounts["account_id"].isin(list(account_ids))]
    return dict(zip(kept["account_id"], kept["name"], strict=True))


def _raw(team, moves, freeze, keep, open_books) -> dict[str, Any]:
    """The form's values as URL parameters (what RebalanceOptions.from_params reads and checks);
    anything of the wrong type from the client counts as not given."""
    return {
        "rbteam": team if isinstance(team, str) and team != ALL_TEAMS else None,
        "rbmoves": "" if moves is None else str(moves)[:40],
        "rbfreeze": "" if freeze is None else str(freeze)[:40],
        "rbkeep": [str(k) for k in keep if isinstance(k, str | int)]
        if isinstance(keep, list)
        else [],
        "rbopen": "1" if open_books is True else "0",
    }


@callback(
    Output(SENTENCE, "children"),
    Output(TILES, "children"),
    Output(CHART, "figure"),
    Output(GRID, "rowData"),
    Output(GRID, "columnDefs"),
    Output(GRID, "style"),
    Output(COMPARE, "children"),
    Output(STUCK, "children"),
    Output(STUCK_PANEL, "style"),
    Output(RULES, "children"),
    Output(CSV, "href"),
    Output(KEEP, "options"),
    Output(URL_CHANGES, "data"),
    Output(message_id(MOVES), "children"),
    Output(message_id(FREEZE), "children"),
    Output(message_id(KEEP), "children"),
    Output(MOVES, "invalid"),
    Output(FREEZE, "invalid"),
    Input(VIEW, "data"),
    Input(TEAM, "value"),
    Input(MOVES, "value"),
    Input(FREEZE, "value"),
    Input(KEEP, "value"),
    Input(OPEN, "value"),
    State(WORKLOAD, "data"),
    State(KEEP, "options"),
)
@guarded(
    None,
    empty_figure("Utilisation before and after", "Not available"),
    [],
    no_update,
    no_update,
    None,
    None,
    {"display": "none"},
    None,
    "#",
    no_update,
    no_update,
    None,
    None,
    None,
    no_update,
    no_update,
)
def render_plan(data, team, moves, freeze, keep, open_books, workload_params, keep_choices):
    """Solves (or reads from the cache) the plan and redraws the whole tab; writes the valid
    options into the URL. Called when: the view or any parameter changes."""
    filters, day = from_store(data)
    workload, _ = WorkloadParams.from_params(workload_params or {})
    options, errors = RebalanceOptions.from_params(_raw(team, moves, freeze, keep, open_books))
    view = rebalance_view(get_database(), filters, day, workload, options)
    export = rebalance_export_href(filters, day, workload, view.options)
    return plan_outputs(view, errors, workload, export, keep_choices)


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Output(KEEP, "value"),
    Input(GRID, "cellClicked"),
    State(VIEW, "data"),
    State(KEEP, "value"),
    prevent_initial_call=True,
)
def open_or_keep(cell, data, keep):
    """Opens the clicked account's Account 360, or keeps it with its owner (Keep). Called when:
    a cell of the moves table is clicked."""
    account_id = clicked_row_id(cell)
    if account_id is None:
        raise PreventUpdate
    if cell.get("colId") == KEEP_COLUMN:
        return no_update, sorted({*(keep or []), account_id})
    filters, _ = from_store(data)
    return account_href(account_id, filters), no_update


keep_params_in_url(URL_CHANGES, "data")
