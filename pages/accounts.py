"""Accounts (/accounts): the drill-down target, a server-paged grid of the accounts behind a number."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import formatting, ids
from components.grids import (
    accounts_grid,
    search_filter_model,
    to_records,
)
from components.labels import label
from components.shell import page_header
from components.states import error_state, notice
from pages._exports import export_href
from pages._shared import (
    RowsRequest,
    from_store,
    guarded,
    keep_grid_sort_in_url,
    keep_in_url,
    link_grid_rows,
    view_state,
)
from services.account_list import SORTABLE, account_page, account_totals
from services.db import get_database
from services.errors import ServiceError
from services.exports import parse_sort
from services.filter_options import owner_labels
from services.filters import DIMENSION_LABELS, AccountDrill, Filters, parse_query

dash.register_page(
    __name__, path="/accounts", name="Accounts", title="Accounts · CS Ops Console", order=1
)

STORE = "accounts-view"
TOTALS = "accounts-totals"
SEARCH = "accounts-search"
GRID = "accounts-grid"
EXPORT = "accounts-export"
EXPORT_XLSX = "accounts-export-xlsx"
DRILL_TEXT = "accounts-drill"


def layout(**params):
    data, filters, as_of = view_state(params)
    drill, sort = AccountDrill(), ()
    if "error" not in data:
        try:
            drill = AccountDrill.from_params(params)
            sort = parse_sort(params.get("sort"))
            data["drill"] = drill.to_params()
        except ServiceError as exc:
            data = {"error": str(exc)}
    subtitle = f"As of {as_of.date:%d %b %Y}" if as_of else None
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            page_header("Accounts", subtitle),
            drill_chips(params, filters) if "error" not in data else None,
            error_state(data["error"])
            if "error" in data
            else notice(as_of.notice if as_of else None),
            html.Div(
                [
                    dbc.Row(
                        [
                            dbc.Col(html.Div(id=TOTALS, className="accounts-totals"), md=6),
                            dbc.Col(
                                dbc.InputGroup(
                                    [
                                        dbc.Input(
                                            id=SEARCH,
                                            placeholder="Search account, id or owner",
                                            type="search",
                                            debounce=400,  # milliseconds: one query per pause in typing
                                            value=drill.search,
                                        ),
                                        html.A(
                                            "Export CSV",
                                            id=EXPORT,
                                            href="#",
                                            className="btn btn-outline-secondary",
                                        ),
                                        html.A(
                                            "Excel",
                                            id=EXPORT_XLSX,
                                            href="#",
                                            className="btn btn-outline-secondary",
                                            title="Export to Excel (.xlsx)",
                                        ),
                                    ],
                                    size="sm",
                                ),
                                md=6,
                            ),
                        ],
                        className="mb-2 align-items-center",
                    ),
                    accounts_grid(GRID, drill.search, sort),
                ],
                style={"display": "none"} if "error" in data else {},
            ),
        ]
    )


# URL key -> the label kind of its values (components/labels.py); others are shown as given.
CHIP_KINDS = {"band": "band", "tier": "coverage_tier"}
DRILL_LABELS = {
    "band": "Health band",
    "inputs": "Health inputs",
    "as_of": "As of",
    "q": "Search",
}


def drill_chips(params: dict, filters: Filters) -> html.Div | None:
    """One chip per filter or drill value, each with a link to the same list without it."""
    query = {
        k: (v if isinstance(v, list) else [v]) for k, v in params.items() if v not in (None, "")
    }
    labels = {**DIMENSION_LABELS, **DRILL_LABELS}
    owners = owner_labels(get_database(), filters)
    chips = []
    for key, values in query.items():
        if key not in labels:
            continue
        for value in values:
            rest = {**query, key: [v for v in values if v != value]}
            shown = (
                owners.get(value, value)
                if key == "owner"
                else label(CHIP_KINDS.get(key, key), value)
            )
            chips.append(
                html.Span(
                    [
                        f"{labels[key]}: {shown} ",
                        dcc.Link(
                            "×",
                            href="/accounts"
                            + ("?" + urlencode(rest, doseq=True) if any(rest.values()) else ""),
                            className="chip-remove",
                            title="Remove this filter",
                        ),
                    ],
                    className="drill-chip",
                )
            )
    return html.Div(chips, className="drill-chips mb-2", id="accounts-chips") if chips else None


def _view(data):
    filters, snapshot = from_store(data)
    return filters, AccountDrill.from_params(data.get("drill", {})), snapshot


@callback(
    Output(TOTALS, "children"),
    Output(GRID, "filterModel"),
    Input(STORE, "data"),
    Input(SEARCH, "value"),
)
@guarded(no_update)
def render_totals(data, search):
    """Redraws the count and ARR total and passes the search to the grid.

    Called when: the view or the search text changes.
    """
    filters, drill, snapshot = _view(data)
    drill = drill.with_search(search)
    totals = account_totals(get_database(), filters, drill, snapshot)
    text = [
        html.Span(formatting.count(totals["accounts"]), id="accounts-count", className="fw-bold"),
        " accounts · ",
        html.Span(formatting.money(totals["arr"]), id="accounts-arr", className="fw-bold"),
        " ARR",
    ]
    return text, search_filter_model(drill.search)


@callback(
    Output(EXPORT, "href"),
    Output(EXPORT_XLSX, "href"),
    Input(STORE, "data"),
    Input(SEARCH, "value"),
    Input(ids.PAGE_STATE, "data"),
)
def export_links(data, search, url_search):
    """Points the export buttons at the list as shown: filters, search and the grid's sort.

    Called when: the view, the search text or the sort (kept in the URL) changes.
    """
    filters, drill, snapshot = _view(data)
    drill = drill.with_search(search)
    try:
        sort = parse_sort(parse_query(url_search).get("sort"))
    except ServiceError:
        sort = ()
    return tuple(export_href(kind, filters, drill, snapshot, sort) for kind in ("csv", "xlsx"))


@callback(Output(GRID, "getRowsResponse"), Input(GRID, "getRowsRequest"), State(STORE, "data"))
def serve_rows(request, data):
    """Serves one block of rows. Called when: the grid scrolls, sorts or its search changes."""
    block = RowsRequest.from_client(request, SORTABLE)
    if block is None:
        return no_update
    filters, drill, snapshot = _view(data)
    drill = drill.with_search(block.search)
    db = get_database()
    rows = account_page(db, filters, drill, snapshot, block.sort, block.start, block.limit)
    return {
        "rowData": to_records(rows),
        "rowCount": account_totals(db, filters, drill, snapshot)["accounts"],
    }


link_grid_rows(GRID, STORE)
keep_grid_sort_in_url(GRID, SORTABLE)
keep_in_url(SEARCH, "value", "q")
