"""Account 360: the history of each renewal's CSM call, and the call known on a past date."""

from __future__ import annotations

from datetime import timedelta

from components import formatting
from components.account_360 import call_history_rows
from components.labels import label
from services.account_360 import account_360
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.sql_fragments import calls_on_sql

from .helpers import wait


def _as_of():
    db = get_database()
    return db, resolve_as_of(db, Filters()).date


def _grid_text(console, grid_id: str, expected: str) -> str:
    """The text of a grid once it shows `expected` (scrolled into view: the grids sit low on
    the page)."""
    grid = console.find_element(f"#{grid_id}")
    console.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", grid)
    wait(console, lambda d: expected in grid.text)
    return grid.text


def _renewal_cells(console, renewal_date) -> dict[str, str]:
    """The cells of the renewals grid's row of the renewal dated `renewal_date`, by column."""
    shown = formatting.date(renewal_date)
    _grid_text(console, "account360-renewals", shown)
    selector = "#account360-renewals .ag-center-cols-container .ag-row"

    def row(driver):
        for r in driver.find_elements("css selector", selector):
            cells = {
                c.get_attribute("col-id"): c.text
                for c in r.find_elements("css selector", ".ag-cell")
            }
            if cells.get("renewal_date") == shown and cells.get("forecast_category"):
                return cells
        return None

    return wait(console, row)


def test_an_accounts_call_history_with_its_changes(console):
    db, as_of = _as_of()
    # An account with an open renewal whose call changed at least twice.
    account_id = db.scalar(
        """
        SELECT r.account_id FROM renewals r
        JOIN renewal_forecast_history h ON h.renewal_id = r.renewal_id
        WHERE r.outcome = 'open' AND r.forecast_category IS NOT NULL
        GROUP BY r.account_id, r.renewal_id
        HAVING COUNT(DISTINCT h.forecast_category) >= 3
        ORDER BY r.account_id LIMIT 1
        """
    )
    acc = account_360(db, Filters(), account_id, as_of)
    rows = call_history_rows(acc.calls)
    changed = int(rows["call_changed"].sum())
    assert changed >= 2

    console.wait_for_page(url=f"{console.server_url}/accounts/{account_id}")
    console.wait_for_element("#account360-call-chart .scatter", timeout=30)
    console.wait_for_contains_text(
        "#account360-calls-panel", f"CSM calls over time ({changed} changes of call)"
    )
    # The newest change is highlighted and says what changed, in labels (never a raw code).
    newest = rows[rows["call_changed"]].iloc[0]
    first_row = console.find_element("#account360-calls .ag-row[row-index='0']")
    assert first_row.value_of_css_property("font-weight") in ("600", "bold")
    text = _grid_text(console, "account360-calls", newest["change"])
    assert "at_risk" not in text and "→" in text
    # The chart's title says where the latest renewal's call stands.
    latest = acc.renewals.sort_values("renewal_date").iloc[-1]
    title = console.find_element("#account360-call-chart .gtitle").text
    assert label("forecast_call", latest["forecast_category"]) in title
    assert console.get_logs() == []


def test_a_past_date_shows_the_call_known_then(console):
    db, as_of = _as_of()
    past = as_of - timedelta(weeks=8)
    # An open renewal (then and now) whose call then differs from today's.
    found = db.query(
        f"""
        SELECT r.account_id, r.renewal_id, r.renewal_date, t.forecast_category AS now,
               p.forecast_category AS then
        FROM renewals r
        JOIN ({calls_on_sql("?")}) t ON t.renewal_id = r.renewal_id
        JOIN ({calls_on_sql("?")}) p ON p.renewal_id = r.renewal_id
        JOIN contracts c ON c.contract_id = r.contract_id
        WHERE r.outcome = 'open' AND c.start_date <= ? AND p.forecast_category IS NOT NULL
          AND t.forecast_category IS NOT NULL AND p.forecast_category <> t.forecast_category
        ORDER BY r.account_id LIMIT 1
        """,
        [as_of, past, past],
    ).iloc[0]
    then = account_360(db, Filters(as_of=past), found["account_id"], past)
    shown = then.renewals.set_index("renewal_id").loc[found["renewal_id"]]
    assert shown["forecast_category"] == found["then"]  # the service: the call known then

    console.wait_for_page(
        url=f"{console.server_url}/accounts/{found['account_id']}?as_of={past.isoformat()}"
    )
    console.wait_for_contains_text(".page-header", f"as of {past:%d %b %Y}", timeout=30)
    cells = _renewal_cells(console, found["renewal_date"])
    assert cells["forecast_category"] == label("forecast_call", found["then"])
    assert cells["forecast_category"] != label("forecast_call", found["now"])
    # The call history stops at that date: no week after it.
    rows = call_history_rows(then.calls)
    assert rows["until"].max().date() <= past
    _grid_text(console, "account360-calls", formatting.date(rows["until"].max()))

    # Today, the same renewal shows today's call.
    console.wait_for_page(url=f"{console.server_url}/accounts/{found['account_id']}")
    console.wait_for_contains_text(".page-header", f"as of {as_of:%d %b %Y}", timeout=30)
    cells = _renewal_cells(console, found["renewal_date"])
    assert cells["forecast_category"] == label("forecast_call", found["now"])
    assert console.get_logs() == []
