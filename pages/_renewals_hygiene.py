"""Renewals tab 'hygiene': is every renewal due soon ready to be worked? A tile per check
(share passing against the target), owners or teams with a column per check (a cell lists the
renewals missing that check), and the renewals missing something, as a list to act on.

Page parameters: `hyby` (owner | team), `hyowner` (the owner whose renewals the list shows; a
CSM id, or 'none' for accounts without an owner), `sort` (the list's sort).
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.renewals_hygiene import (
    ALL,
    GROUP_OPTIONS,
    group_columns,
    group_records,
    groups_grid,
    groups_title,
    list_href,
    missing_grid,
    missing_records,
    owner_filter_model,
    owner_from_filter_model,
    owner_options,
    past_notes,
    tiles,
    totals_line,
    window_sentence,
)
from components.shell import panel
from components.states import empty_state, error_state
from pages._shared import (
    RowsRequest,
    account_href,
    clicked_row_id,
    from_store,
    guarded,
    keep_grid_sort_in_url,
    keep_in_url,
    link_grid_rows,
    page_param,
)
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters
from services.renewal_hygiene import (
    HYGIENE_CHECKS,
    SORTABLE,
    UNASSIGNED,
    hygiene_by_owner,
    hygiene_by_team,
    hygiene_params,
    hygiene_summary,
    known_checks,
    missing_page,
    missing_totals,
    parse_owner,
    parse_sort,
    window_end,
)
from services.renewal_list import renewal_account

STORE = "rn-view"  # pages/renewals.py: the view (filters + requested as-of) of every tab
# This tab's own copy of the view: its callbacks start from it, so they fire only when this
# tab is shown (a callback started by rn-view alone would fire on every tab and find no output).
VIEW = "rh-view"
WINDOW = "rh-window"
PAST = "rh-past"
TILES = "rh-tiles"
BY = "rh-by"
GROUPS = "rh-groups-grid"
GROUPS_TITLE = "rh-groups-title"
OWNER = "rh-owner"
TOTALS = "rh-missing-totals"
GRID = "rh-missing-grid"
BY_VALUES = ("owner", "team")
GROUPS_HELP = (
    "Each cell is the share of that owner's (team's) renewals in the window passing the check, "
    "with the number missing it; cells below the target are tinted. Worst first: the lowest "
    "share passing every check. Click a cell to list the renewals missing that check; click an "
    "owner to show their renewals in the list below. At most 200 owners are shown."
)
LIST_HELP = (
    "Open renewals in the window (overdue ones included) failing at least one check known on "
    "the date, with the checks they fail in words. Click a row to open the account."
)


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    by = page_param(params, "hyby", BY_VALUES, "owner")
    owner = parse_owner(params.get("hyowner"))
    hp = hygiene_params()
    try:
        sort = parse_sort(params.get("sort"))
        db = get_database()
        known = known_checks(db, filters, as_of.date)
        # The owner choices are built here so the URL's choice is among them from the start
        # (a dropdown drops a value it has no option for).
        options = owner_options(hygiene_by_owner(db, filters, as_of.date, hp), owner)
    except ServiceError as exc:
        return error_state(str(exc))
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            html.Div(id=WINDOW, className="mb-2"),
            html.Div(id=PAST),
            dcc.Loading(html.Div(id=TILES), type="dot", delay_show=150),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Hygiene by owner and team",
                        [
                            html.Div(
                                [
                                    dbc.RadioItems(
                                        id=BY,
                                        options=GROUP_OPTIONS,
                                        value=by,
                                        inline=True,
                                        className="small",
                                    ),
                                    html.Div(id=GROUPS_TITLE, className="fw-semibold small"),
                                ],
                                className="d-flex flex-wrap gap-3 align-items-center mb-2",
                            ),
                            groups_grid(GROUPS, by, hp, known),
                        ],
                        panel_id="rh-groups-panel",
                        help_text=GROUPS_HELP,
                    ),
                    className="mb-3",
                )
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Renewals missing something",
                        [
                            html.Div(
                                [
                                    dcc.Dropdown(
                                        id=OWNER,
                                        options=options,
                                        value=owner or None,
                                        placeholder="All owners",
                                        clearable=True,
                                        className="filter-dropdown",
                                        style={"minWidth": "280px"},
                                    ),
                                    html.Div(id=TOTALS, className="accounts-totals"),
                                ],
                                className="d-flex flex-wrap gap-3 align-items-center mb-2",
                            ),
                            missing_grid(GRID, owner, sort),
                        ],
                        panel_id="rh-missing-panel",
                        help_text=LIST_HELP,
                    ),
                    className="mb-3",
                )
            ),
        ]
    )


@callback(
    Output(TILES, "children"),
    Output(WINDOW, "children"),
    Output(PAST, "children"),
    Input(VIEW, "data"),
)
@guarded(None, None)
def render_tiles(data):
    """Redraws the tiles and the window sentence. Called when: the view changes."""
    filters, day = from_store(data)
    hp, db = hygiene_params(), get_database()
    summary = hygiene_summary(db, filters, day, hp)
    if not summary.renewals:
        return (
            empty_state(
                f"No open renewals due in the next {hp.window_days} days under these filters."
            ),
            None,
            None,
        )
    hrefs = {k: list_href(filters, summary.end, k) for k in (ALL, *HYGIENE_CHECKS)}
    note = past_notes(known_checks(db, filters, day))
    past = html.Div(note, className="small text-muted mb-2", id="rh-past-note") if note else None
    return tiles(summary, hp, hrefs), window_sentence(summary, hp), past


@callback(
    Output(GROUPS_TITLE, "children"),
    Output(GROUPS, "rowData"),
    Output(GROUPS, "columnDefs"),
    Input(VIEW, "data"),
    Input(BY, "value"),
)
@guarded([], no_update)
def render_groups(data, by):
    """Refills the owner (or team) table. Called when: the view or the grouping changes."""
    filters, day = from_store(data)
    by = by if by in BY_VALUES else "owner"
    hp, db = hygiene_params(), get_database()
    service = hygiene_by_owner if by == "owner" else hygiene_by_team
    df = service(db, filters, day, hp)
    columns = group_columns(by, hp, known_checks(db, filters, day))
    return groups_title(df, by, hp), group_records(df, by), columns


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Output(OWNER, "value"),
    Input(GROUPS, "cellClicked"),
    State(VIEW, "data"),
    State(BY, "value"),
    prevent_initial_call=True,
)
def open_cell(cell, data, by):
    """Lists the renewals behind a cell (an owner's or team's renewals missing that check), or
    shows an owner's renewals in the list below. Called when: a cell of the table is clicked."""
    filters, day = from_store(data)
    key, check = clicked_row_id(cell), (cell or {}).get("colId")
    if key is None:
        raise PreventUpdate
    if by == "owner" and (check not in (ALL, *HYGIENE_CHECKS) or key == UNASSIGNED):
        # The owner column, or an account without an owner (the owner filter cannot select
        # those): show the owner's renewals in the list below.
        return no_update, key
    if check not in (ALL, *HYGIENE_CHECKS):
        raise PreventUpdate
    hp = hygiene_params()
    href = cell_href(get_database(), filters, day, by, key, check, hp)
    if href is None:
        raise PreventUpdate
    return href, no_update


def cell_href(db, filters: Filters, day, by, key, check, hp) -> str | None:
    """The renewal list behind a cell; None when the cell has nothing missing or is unknown."""
    if by == "owner":
        df = hygiene_by_owner(db, filters, day, hp)
        row = df[df["owner_csm_id"] == key]
    else:
        df = hygiene_by_team(db, filters, day, hp)
        row = df[df["team"] == key]
    fail = "fail_any" if check == ALL else f"fail_{check}"
    if row.empty or not int(row.iloc[0][fail]):
        return None
    dims = {"owner": (key,)} if by == "owner" else {"team": (key,)}
    return list_href(filters, window_end(day, hp.window_days), check, **dims)


@callback(
    Output(TOTALS, "children"),
    Output(GRID, "filterModel"),
    Input(VIEW, "data"),
    Input(OWNER, "value"),
)
@guarded(no_update)
def render_missing(data, owner):
    """Redraws the count and ARR of the renewals missing something and passes the owner to the
    list. Called when: the view or the chosen owner changes."""
    filters, day = from_store(data)
    owner = parse_owner(owner)
    totals = missing_totals(get_database(), filters, day, hygiene_params(), owner)
    return totals_line(totals), owner_filter_model(owner)


@callback(Output(GRID, "getRowsResponse"), Input(GRID, "getRowsRequest"), State(VIEW, "data"))
def serve_rows(request, data):
    """Serves one block of the list. Called when: the grid scrolls, sorts or the owner changes."""
    block = RowsRequest.from_client(request, SORTABLE)
    if block is None:
        return no_update
    filters, day = from_store(data)
    owner = owner_from_filter_model(request.get("filterModel"))
    db, hp = get_database(), hygiene_params()
    rows = missing_page(db, filters, day, hp, owner, block.sort, block.start, block.limit)
    return {
        "rowData": missing_records(rows),
        "rowCount": missing_totals(db, filters, day, hp, owner)["renewals"],
    }


def renewal_href(renewal_id: str, filters: Filters) -> str:
    """Account 360 of a listed renewal's account (a row's id is its renewal)."""
    account_id = renewal_account(get_database(), filters, renewal_id)
    if account_id is None:
        raise PreventUpdate
    return account_href(account_id, filters)


link_grid_rows(GRID, VIEW, renewal_href)
keep_grid_sort_in_url(GRID, SORTABLE)
keep_in_url(BY, "value", "hyby", "owner")
keep_in_url(OWNER, "value", "hyowner", None)
