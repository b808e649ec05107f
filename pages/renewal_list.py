"""Renewal list (/renewals/list): one row per renewal, closed or open (`status=`).

Closed (the default): closed renewals of the last 4 quarters, the drill-down target of the
Health model page (the renewals behind a bar, with the band under the model in force or the
proposal in the URL). Open (`status=open`): the renewals open on the as-of date, the drill-down
target of the Renewals page (`from`, `to`, `category`, `risk`, `reason`, `overdue`, `missing`:
see services.renewal_list.OpenDrill). Backtest (`backtest=2026-Q3`): the renewals behind a
quarter of the Forecast tab's accuracy table, its totals that quarter's numbers. A row opens the
account's Account 360.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import labels
from components.grids import paged_grid
from components.health_model import RENEWAL_COLUMNS, renewal_records, renewal_totals_line
from components.renewal_list import (
    BACKTEST_COLUMNS,
    OPEN_COLUMNS,
    backtest_chips,
    backtest_records,
    backtest_subtitle,
    backtest_totals_line,
    open_drill_chips,
    open_subtitle,
    open_totals_line,
)
from components.renewals_pipeline import renewal_records as open_records
from components.shell import page_header
from components.states import error_state, notice
from pages._shared import (
    RowsRequest,
    account_href,
    from_store,
    guarded,
    keep_grid_sort_in_url,
    link_grid_rows,
    view_state,
)
from services.db import get_database
from services.errors import InvalidFilter, ServiceError
from services.filters import Filters
from services.forecast_accuracy import backtest_dates
from services.health_backtest import CURRENT, backtest_window, proposal_from_url
from services.renewal_hygiene import known_checks
from services.renewal_list import (
    BACKTEST_SORTABLE,
    OPEN_SORTABLE,
    SORTABLE,
    OpenDrill,
    RenewalDrill,
    backtest_page,
    backtest_quarter,
    backtest_totals,
    open_renewal_page,
    open_renewal_totals,
    parse_backtest_sort,
    parse_open_sort,
    parse_sort,
    parse_status,
    renewal_account,
    renewal_page,
    renewal_totals,
)

dash.register_page(
    __name__,
    path="/renewals/list",
    name="Renewals",
    title="Renewals · CS Ops Console",
    nav=False,
)

STORE = "renewals-view"
TOTALS = "renewals-totals"
GRID = "renewals-grid"
DRILL_TEXT = "renewals-drill"


def layout(**params):
    data, filters, as_of = view_state(params)
    sort, drill_text, status, quarter = (), None, "closed", None
    if "error" not in data:
        try:
            status = parse_status(params)
            if status == "open":
                drill_text, sort = _open_view(data, params, filters, as_of.date)
            elif status == "backtest":
                quarter, sort = _backtest_view(data, params, as_of.date)
                drill_text = backtest_chips(quarter)
            else:
                drill_text, sort = _closed_view(data, params)
        except ServiceError as exc:
            data = {"error": str(exc)}
    subtitle = None
    if as_of and quarter is not None:
        forecast_on = backtest_dates(get_database(), Filters()).get(quarter.start)
        subtitle = backtest_subtitle(quarter, forecast_on, as_of.date)
    elif as_of and status == "open":
        subtitle = open_subtitle(as_of.date)
    elif as_of:
        start, end = backtest_window(as_of.date)
        subtitle = (
            f"Closed renewals with a renewal date from {start:%d %b %Y} to {end:%d %b %Y} "
            f"(closed by then)"
        )
    columns = {"open": OPEN_COLUMNS, "backtest": BACKTEST_COLUMNS}.get(status, RENEWAL_COLUMNS)
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            page_header("Renewals", subtitle),
            error_state(data["error"])
            if "error" in data
            else notice(as_of.notice if as_of else None),
            html.Div(
                [
                    html.Div(drill_text, id=DRILL_TEXT, className="drill-chips mb-2"),
                    html.Div(id=TOTALS, className="accounts-totals mb-2"),
                    paged_grid(GRID, columns, {}, sort, 620, "renewals-grid", row_id="renewal_id"),
                ],
                style={"display": "none"} if "error" in data else {},
            ),
        ]
    )


def _closed_view(data, params):
    """Closed mode: the drill (band, outcome, lost) and the proposed model into the store."""
    drill = RenewalDrill.from_params(params)
    sort = parse_sort(params.get("sort"))
    proposal = proposal_from_url(params)
    if proposal.params is None:
        raise InvalidFilter(
            "The proposed model in this link is not valid: "
            + " ".join(dict.fromkeys(proposal.errors.values()))
        )
    data["drill"] = drill.to_params()
    data["model"] = {k: params[k] for k in ("w", "green", "yellow") if k in params}
    return _drill_text(drill, proposal.params != CURRENT), sort


def _open_view(data, params, filters, day):
    """Open mode: the drill (dates, call, at risk, reason, overdue, missing) into the store; a
    hygiene check not known on the day is refused here, with the page's message."""
    drill = OpenDrill.from_params(params)
    drill.checks(known_checks(get_database(), filters, day), day)
    sort = parse_open_sort(params.get("sort"))
    data["status"] = "open"
    data["drill"] = drill.to_params()
    return open_drill_chips(drill), sort


def _backtest_view(data, params, day):
    """Backtest mode: the quarter (one the database holds, ended by the day) into the store."""
    quarter = backtest_quarter(get_database(), Filters.from_search(data["search"]), params, day)
    sort = parse_backtest_sort(params.get("sort"))
    data["status"] = "backtest"
    data["quarter"] = quarter.key
    return quarter, sort


def _drill_text(drill: RenewalDrill, proposed: bool) -> list:
    chips = []
    if drill.band:
        model = "the proposed model" if proposed else "the current model"
        chips.append(f"Band on the scoring date ({model}): {labels.label('band', drill.band)}")
    if drill.outcome:
        chips.append(f"Outcome: {labels.label('outcome', drill.outcome)}")
    if drill.lost_only:
        chips.append("Lost ARR only")
    return [html.Span(c, className="drill-chip") for c in chips]


def _view(data):
    filters, snapshot = from_store(data)
    params = proposal_from_url(data.get("model") or {}).params or CURRENT
    return filters, RenewalDrill.from_params(data.get("drill") or {}), snapshot, params


def _mode(data) -> str | None:
    return data.get("status") if isinstance(data, dict) else None


def _is_open(data) -> bool:
    return isinstance(data, dict) and data.get("status") == "open"


def _backtest(data):
    """Filters, the quarter (checked again: the store comes from the client) and the day."""
    filters, snapshot = from_store(data)
    db = get_database()
    return (
        db,
        filters,
        backtest_quarter(db, filters, {"backtest": data.get("quarter")}, snapshot),
        snapshot,
    )


def _open_drill(data):
    filters, snapshot = from_store(data)
    return filters, OpenDrill.from_params(data.get("drill") or {}), snapshot


@callback(Output(TOTALS, "children"), Input(STORE, "data"))
@guarded()
def render_totals(data):
    """Redraws the count and ARR totals of the list. Called when: the view changes."""
    if _mode(data) == "backtest":
        db, filters, quarter, snapshot = _backtest(data)
        return backtest_totals_line(backtest_totals(db, filters, quarter, snapshot))
    if _is_open(data):
        filters, drill, snapshot = _open_drill(data)
        return open_totals_line(open_renewal_totals(get_database(), filters, drill, snapshot))
    filters, drill, snapshot, params = _view(data)
    return renewal_totals_line(renewal_totals(get_database(), filters, drill, snapshot, params))


@callback(Output(GRID, "getRowsResponse"), Input(GRID, "getRowsRequest"), State(STORE, "data"))
def serve_rows(request, data):
    """Serves one block of rows. Called when: the grid scrolls or sorts."""
    if _mode(data) == "backtest":
        return _serve_backtest_rows(request, data)
    if _is_open(data):
        return _serve_open_rows(request, data)
    block = RowsRequest.from_client(request, SORTABLE)
    if block is None:
        return no_update
    filters, drill, snapshot, params = _view(data)
    db = get_database()
    rows = renewal_page(db, filters, drill, snapshot, params, block.sort, block.start, block.limit)
    return {
        "rowData": renewal_records(rows),
        "rowCount": renewal_totals(db, filters, drill, snapshot, params)["renewals"],
    }


def _serve_backtest_rows(request, data):
    block = RowsRequest.from_client(request, BACKTEST_SORTABLE)
    if block is None:
        return no_update
    try:
        db, filters, quarter, snapshot = _backtest(data)
    except ServiceError:  # a tampered store: the totals line says why
        return {"rowData": [], "rowCount": 0}
    rows = backtest_page(db, filters, quarter, snapshot, block.sort, block.start, block.limit)
    return {
        "rowData": backtest_records(rows),
        "rowCount": backtest_totals(db, filters, quarter, snapshot)["renewals"],
    }


def _serve_open_rows(request, data):
    block = RowsRequest.from_client(request, OPEN_SORTABLE)
    if block is None:
        return no_update
    filters, drill, snapshot = _open_drill(data)
    db = get_database()
    rows = open_renewal_page(db, filters, drill, snapshot, block.sort, block.start, block.limit)
    return {
        "rowData": open_records(rows),
        "rowCount": open_renewal_totals(db, filters, drill, snapshot)["renewals"],
    }


def renewal_href(renewal_id: str, filters: Filters) -> str:
    """Account 360 of the renewal's account: a row's id is its renewal (an account can renew
    twice in the window), the link is the account's."""
    account_id = renewal_account(get_database(), filters, renewal_id)
    if account_id is None:
        raise PreventUpdate
    return account_href(account_id, filters)


link_grid_rows(GRID, STORE, renewal_href)
keep_grid_sort_in_url(GRID, {**SORTABLE, **OPEN_SORTABLE, **BACKTEST_SORTABLE})
