"""Capacity tab 'books': who is over-loaded today. The top line (CSMs, utilisation, over- and
under-loaded CSMs, open books, ARR per CSM), utilisation per CSM, the books table (a row opens
that book's accounts), the team roll-up with coverage ratios against their targets, and the
workload model editor whose every change is a URL parameter (WorkloadParams keys), so the
other capacity tabs and a shared link use the same model.

Page parameters: the workload model's (services/workload.py `to_params`), `sort` (the books
table's sort).
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.capacity_books import (
    EDITOR,
    EDITOR_MSG,
    RESET,
    TOTAL_ROW,
    WEIGH,
    books_grid,
    books_records,
    books_tab,
    clicked_book,
    editor_outputs,
    editor_values,
    team_grid,
    workload_editor,
    workload_search,
    workload_search_from_model,
)
from components.charts import empty_figure
from components.shell import panel
from components.states import error_state
from pages._shared import (
    RowsRequest,
    accounts_href,
    clicked_row_id,
    from_store,
    guarded,
    keep_grid_sort_in_url,
    keep_params_in_url,
    link_grid_rows,
)
from services.capacity_books import (
    NO_OWNER,
    SORTABLE,
    UNASSIGNED_TEAM,
    books_page,
    books_view,
    csm_books,
    parse_books_sort,
    read_workload_form,
)
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters, parse_query
from services.workload import WorkloadParams

VIEW = "cb-view"  # this tab's copy of the view: its callbacks fire only when the tab is shown
WORKLOAD = "cb-workload"  # the model in force: its URL parameters (only those off the default)
URL_CHANGES = "cb-url"  # {key: value or None} for every model key, written into the URL
SENTENCE = "cb-sentence"
KPIS = "cb-kpis-slot"
CHART = "cb-utilisation"
GRID = "cb-books-grid"
TEAMS = "cb-teams-grid"
TARGETS = "cb-targets-note"
CHART_HELP = (
    "Utilisation of each active CSM: the workload points of their book over their capacity, "
    "highest first, with the target and the over- and under-loaded lines. Click a bar to open "
    "that CSM's accounts. With more than 200 CSMs in view the chart shows how many CSMs are at "
    "each level instead: filter a team to see each CSM."
)
EDITOR_HELP = (
    "What an account costs (points by segment and coverage tier, more when red or yellow), "
    "what a CSM carries (capacity, when their record has none) and the lines that flag a "
    "book. A change redraws this tab and is kept in the link, so the scenario and rebalancing "
    "tabs use it too. A value that cannot be used is not applied and says why."
)
BOOKS_HELP = (
    "One row per book: each active CSM (those without accounts too), each departed CSM whose "
    "accounts are still assigned to them (an open book) and the accounts without an owner. "
    "Hover a tier's count for its segments. Click a row (or press Enter) to open its accounts."
)
TEAMS_HELP = (
    "Per team: every account of its CSMs, open books included, over the capacity of its "
    "active CSMs, and the coverage ratios against their targets (headers). Purple: above the "
    "target. Click a team to open its accounts."
)


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    workload, errors = WorkloadParams.from_params(params)
    try:
        sort = parse_books_sort(params.get("sort"))
    except ServiceError as exc:
        return error_state(str(exc))
    values = editor_values(params, workload, errors)
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            dcc.Store(id=WORKLOAD, data=workload.to_params()),
            dcc.Store(id=URL_CHANGES),
            html.Div(id=SENTENCE, className="mb-2"),
            dcc.Loading(html.Div(id=KPIS), type="dot", delay_show=150),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Utilisation per CSM",
                            dcc.Graph(id=CHART, config={"displayModeBar": False}),
                            panel_id="cb-chart-panel",
                            help_text=CHART_HELP,
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "Workload model",
                            workload_editor(values, errors),
                            panel_id="cb-editor-panel",
                            help_text=EDITOR_HELP,
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Books per CSM",
                        books_grid(GRID, workload_search(workload), sort),
                        panel_id="cb-books-panel",
                        help_text=BOOKS_HELP,
                    ),
                    className="mb-3",
                )
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Teams and coverage",
                        [team_grid(TEAMS), html.Div(id=TARGETS, className="small text-muted mt-2")],
                        panel_id="cb-teams-panel",
                        help_text=TEAMS_HELP,
                    ),
                    className="mb-3",
                )
            ),
        ]
    )


@callback(
    Output(WORKLOAD, "data"),
    Output(URL_CHANGES, "data"),
    Output({"type": EDITOR_MSG, "key": ALL}, "children"),
    Output({"type": EDITOR, "key": ALL}, "invalid"),
    Output({"type": EDITOR, "key": ALL}, "value"),
    Output(WEIGH, "value"),
    Input({"type": EDITOR, "key": ALL}, "value"),
    Input(WEIGH, "value"),
    Input(RESET, "n_clicks"),
    State({"type": EDITOR, "key": ALL}, "id"),
    State(WORKLOAD, "data"),
    prevent_initial_call=True,
)
def apply_workload(values, weigh, _reset, field_ids, current):
    """Applies the workload model's fields (a field it cannot use keeps its previous value and
    shows why), or resets them all. Called when: a field changes or Reset is clicked."""
    keys = [i["key"] for i in field_ids]
    fields = dict(zip(keys, values, strict=True))
    form = read_workload_form(fields, weigh, current, reset=ctx.triggered_id == RESET)
    return editor_outputs(form, keys)


@callback(
    Output(SENTENCE, "children"),
    Output(KPIS, "children"),
    Output(CHART, "figure"),
    Output(TEAMS, "rowData"),
    Output(TEAMS, "columnDefs"),
    Output(TEAMS, "dashGridOptions"),
    Output(TEAMS, "style"),
    Output(TARGETS, "children"),
    Output(GRID, "filterModel"),
    Input(VIEW, "data"),
    Input(WORKLOAD, "data"),
    State(GRID, "filterModel"),
    State(TEAMS, "dashGridOptions"),
)
@guarded(
    None,
    empty_figure("Utilisation per CSM", "Not available"),
    [],
    no_update,
    no_update,
    no_update,
    None,
    no_update,
)
def render_books(data, workload_params, grid_model, team_options):
    """Redraws the top line, the chart, the team roll-up and tells the books table the model.
    Called when: the view or the workload model changes."""
    filters, day = from_store(data)
    workload, _ = WorkloadParams.from_params(workload_params or {})
    view = books_view(get_database(), filters, day, workload)
    return books_tab(view, grid_model, team_options)


@callback(Output(GRID, "getRowsResponse"), Input(GRID, "getRowsRequest"), State(VIEW, "data"))
def serve_books(request, data):
    """Serves one block of the books. Called when: the table loads, scrolls, sorts or the
    workload model changes."""
    block = RowsRequest.from_client(request, SORTABLE)
    if block is None:
        return no_update
    filters, day = from_store(data)
    workload, _ = WorkloadParams.from_params(
        parse_query(workload_search_from_model(request.get("filterModel")))
    )
    books = csm_books(get_database(), filters, day, workload)
    rows = books_page(books, block.sort, block.start, block.limit)
    return {"rowData": books_records(rows), "rowCount": len(books)}


def book_href(book_id: str, filters: Filters) -> str:
    """The Accounts list of a book: its owner's accounts, or those without an owner."""
    if book_id == NO_OWNER:
        return accounts_href(filters.with_values(team=(UNASSIGNED_TEAM,)))
    return accounts_href(filters.with_values(owner=(book_id,)))


def team_href(team_id: str, filters: Filters) -> str:
    """The Accounts list of a team ('No owner': the accounts without an owner)."""
    if team_id == NO_OWNER:
        return book_href(NO_OWNER, filters)
    return accounts_href(filters.with_values(team=(team_id,)))


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(CHART, "clickData"),
    State(VIEW, "data"),
    prevent_initial_call=True,
)
def open_bar(click, data):
    """Opens the accounts of a clicked CSM. Called when: a bar of the chart is clicked."""
    book_id = clicked_book(click)
    if book_id is None:
        raise PreventUpdate
    filters, _ = from_store(data)
    return book_href(book_id, filters)


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(TEAMS, "cellClicked"),
    State(VIEW, "data"),
    prevent_initial_call=True,
)
def open_team(cell, data):
    """Opens the accounts of a clicked team. Called when: a row of the roll-up is clicked."""
    team_id = clicked_row_id(cell)
    if team_id is None or team_id == TOTAL_ROW:
        raise PreventUpdate
    filters, _ = from_store(data)
    return team_href(team_id, filters)


link_grid_rows(GRID, VIEW, book_href)
keep_grid_sort_in_url(GRID, SORTABLE)
keep_params_in_url(URL_CHANGES, "data")
