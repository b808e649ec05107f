"""The renewal list: one row per renewal, so an account renewing twice is listed twice, each row
with its own grid id, and a click on either opens that account's Account 360; closed renewals by
default, open ones with status=open (a bad parameter is a message, not an error)."""

from __future__ import annotations

from datetime import date

import dash
import pytest
from dash.exceptions import PreventUpdate

from services.errors import InvalidFilter
from services.filters import Filters
from services.renewal_list import RenewalDrill, parse_sort, renewal_account, renewal_page
from tests.unit.tiny import account, build_tiny, contract

D = date(2026, 6, 30)  # the window: renewal dates from 2025-06-30 (excluded) to 2026-06-30


def renewal(rid, account_id, on, arr_up, outcome, renewed):
    return dict(
        renewal_id=rid,
        account_id=account_id,
        renewal_date=on,
        arr_up_for_renewal=arr_up,
        forecast_category="commit",
        outcome=outcome,
        renewed_arr=renewed,
        closed_date=on if outcome != "open" else None,
    )


@pytest.fixture
def db_path(tmp_path):
    accounts = [account("A1"), account("A2")]
    contracts = [
        contract("A1", "2025-01-01", "2026-01-01", 100),
        contract("A1", "2026-01-01", "2027-01-01", 100),
        contract("A2", "2025-06-01", "2026-06-01", 50),
    ]
    renewals = [
        # A1 renews twice in the window: two rows, one account.
        renewal("R1", "A1", "2025-09-30", 100, "renewed", 100),
        renewal("R2", "A1", "2026-03-31", 100, "contracted", 60),  # lost 40
        renewal("R3", "A2", "2026-06-01", 50, "churned", 0),  # lost 50
        # Open on D: A1 twice (one overdue), A2 once.
        renewal("R4", "A1", "2026-06-15", 30, "open", None),  # overdue on D
        renewal("R5", "A1", "2026-12-31", 100, "open", None),
        renewal("R6", "A2", "2026-09-30", 50, "open", None),
    ]
    tables = {"accounts": accounts, "contracts": contracts, "renewals": renewals}
    return build_tiny(tmp_path, tables, D).path


@pytest.fixture
def renewal_page_module(db_path, use_db):
    """pages/renewal_list.py on the tiny database (pages register on an app)."""
    use_db(db_path)
    dash.Dash(__name__, use_pages=True, pages_folder="")
    from pages import renewal_list

    return renewal_list


def find(component, component_id):
    """The component with `component_id` in a layout tree."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, component_id)
            if found is not None:
                return found
    return None


def test_an_account_renewing_twice_has_two_rows_with_distinct_grid_ids(renewal_page_module):
    page = renewal_page_module
    layout = page.layout()
    data = find(layout, page.STORE).data
    assert "error" not in data
    # The rows the grid receives, keyed the way the grid keys them (AG Grid needs unique ids).
    row_id = find(layout, page.GRID).getRowId.removeprefix("params.data.")
    rows = page.serve_rows({"startRow": 0, "endRow": 100}, data)["rowData"]
    # Biggest loss first: R3 (50), R2 (40), R1 (0).
    assert [(r["renewal_id"], r["account_id"]) for r in rows] == [
        ("R3", "A2"),
        ("R2", "A1"),
        ("R1", "A1"),
    ]
    ids = [r[row_id] for r in rows]
    assert len(set(ids)) == len(ids) == 3
    # A click on either of A1's rows opens A1's Account 360.
    assert {page.renewal_href(r[row_id], Filters()) for r in rows[1:]} == {"/accounts/A1"}
    assert page.renewal_href(rows[0][row_id], Filters(owner=("C1",))).startswith("/accounts/A2?")
    with pytest.raises(PreventUpdate):
        page.renewal_href("R-unknown", Filters())


def test_renewal_account_within_the_filters(db_path):
    from services.db import Database

    db = Database(db_path)
    assert renewal_account(db, Filters(), "R2") == "A1"
    assert renewal_account(db, Filters(), "nope") is None
    assert renewal_account(db, Filters(owner=("C2",)), "R2") is None  # A1 is C1's: out of scope
    page = renewal_page(db, Filters(), RenewalDrill(), D, sort=(("renewal_date", "asc"),))
    assert list(page["renewal_id"]) == ["R1", "R2", "R3"]


def test_sort_from_url():
    assert parse_sort(["arr_lost:desc", "name"]) == (("arr_lost", "desc"), ("name", "asc"))
    assert parse_sort("score:asc") == (("score", "asc"),)
    assert parse_sort(None) == ()  # the default order
    assert len(parse_sort(["name"] * 5)) == 3  # at most 3 keys
    for bad in ("arr_lost:sideways", "renewal_id:asc", "1;DROP TABLE renewals"):
        with pytest.raises(InvalidFilter, match="Cannot sort by"):
            parse_sort(bad)


def test_open_mode_lists_the_open_renewals_one_row_each(renewal_page_module):
    page = renewal_page_module
    layout = page.layout(status="open", to="2026-12-31")
    data = find(layout, page.STORE).data
    assert data["status"] == "open" and data["drill"]["to"] == "2026-12-31"
    rows = page.serve_rows({"startRow": 0, "endRow": 100}, data)
    # Biggest ARR up first: R5 (100), R6 (50), R4 (30, overdue).
    assert [r["renewal_id"] for r in rows["rowData"]] == ["R5", "R6", "R4"]
    assert rows["rowCount"] == 3
    assert [r["overdue"] for r in rows["rowData"]] == [False, False, True]
    assert {page.renewal_href(r, Filters()) for r in ("R4", "R5")} == {"/accounts/A1"}
    chips = find(layout, page.DRILL_TEXT).children
    assert [c.children for c in chips] == ["Renewal date up to 31 Dec 2026 (overdue ones included)"]
    overdue = find(page.layout(status="open", overdue="1"), page.STORE).data
    assert [r["renewal_id"] for r in page.serve_rows({"startRow": 0}, overdue)["rowData"]] == ["R4"]
    # The closed list still holds only the closed renewals.
    closed = find(page.layout(), page.STORE).data
    assert page.serve_rows({"startRow": 0, "endRow": 100}, closed)["rowCount"] == 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "open", "category": "maybe"}, "Unknown call 'maybe'"),
        ({"status": "open", "band": "red"}, "applies to closed renewals only"),
        ({"overdue": "1"}, "add status=open"),
        ({"status": "open", "sort": "outcome:desc"}, "Cannot sort by 'outcome:desc'"),
        ({"backtest": "2026-Q9"}, "Unknown quarter '2026-Q9' for 'backtest'"),
        ({"backtest": "2026-Q3"}, "There is no forecast backtest for Q3 2026 on 30 Jun 2026"),
        ({"backtest": "2026-Q1", "status": "open"}, "'status' does not apply to the renewals"),
        ({"backtest": "2026-Q1", "band": "red"}, "'band' does not apply to the renewals"),
        ({"backtest": "2026-Q1", "to": "2026-12-31"}, "'to' does not apply to the renewals"),
    ],
)
def test_a_bad_link_is_a_plain_message(renewal_page_module, params, message):
    page = renewal_page_module
    data = find(page.layout(**params), page.STORE).data
    assert message in data["error"]
