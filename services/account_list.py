"""The Accounts list (the drill-down target): its filters, SQL, totals and pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import AccountDrill, Filters
from services.health import MOVER_WINDOW_DAYS
from services.sql_fragments import next_renewal_sql, order_by, page_bounds

# Sortable columns of the list: grid field -> SQL expression (the only text that reaches ORDER BY).
SORTABLE = {
    "name": "ad.name",
    "segment": "ad.segment",
    "region": "ad.region",
    "coverage_tier": "ad.coverage_tier",
    "owner_name": "ad.owner_name",
    "team": "ad.team",
    "arr": "h.arr",
    "health_score": "h.health_score",
    "band": "h.band",
    "health_change": "h.health_score - p.health_score",
    "next_renewal_date": "nr.renewal_date",
    "renewal_arr": "nr.arr_up_for_renewal",
    "lifecycle_stage": "ad.lifecycle_stage",
    "missing_inputs": "h.missing_inputs",
    "account_id": "ad.account_id",
}


NEXT_RENEWAL_FIELDS = ("next_renewal_date", "renewal_arr")


def _list_sql(
    filters: Filters, drill: AccountDrill, snapshot: date, with_next_renewal: bool = False
) -> tuple[str, list[Any]]:
    """FROM ... WHERE of the Accounts list and its parameters, in textual order.

    The next-renewal join (`nr`) is costly at 1M accounts; it is added only when sorting by it.
    """
    sql = """
        FROM account_dim ad
        LEFT JOIN health_snapshots p ON p.account_id = ad.account_id AND p.snapshot_date = ?
    """
    bind: list[Any] = [snapshot - timedelta(days=MOVER_WINDOW_DAYS)]
    if with_next_renewal:
        # The next renewal as known on the list's date: not closed by then, overdue ones included.
        sql += f" LEFT JOIN ({next_renewal_sql()}) nr ON nr.account_id = ad.account_id"
        bind.extend([snapshot, snapshot])
    sql += " JOIN health_snapshots h ON h.account_id = ad.account_id AND h.snapshot_date = ?"
    bind.append(snapshot)
    where, params = filters.where("ad")
    drill_where, drill_params = drill.where("ad", "h")
    return sql + f" WHERE {where} AND {drill_where}", [*bind, *params, *drill_params]


@memoize
def account_totals(
    db: Database, filters: Filters, drill: AccountDrill, snapshot: date
) -> dict[str, float]:
    """Count and ARR of every account the list shows (before paging)."""
    from_where, bind = _list_sql(filters, drill, snapshot)
    df = db.query("SELECT COUNT(*) AS accounts, COALESCE(SUM(h.arr), 0) AS arr " + from_where, bind)
    return {"accounts": int(df.at[0, "accounts"]), "arr": float(df.at[0, "arr"])}


# Columns the list can return: field -> SQL expression (the only text that reaches SELECT).
LIST_COLUMNS = {
    "account_id": "ad.account_id",
    "name": "ad.name",
    "segment": "ad.segment",
    "region": "ad.region",
    "coverage_tier": "ad.coverage_tier",
    "owner_name": "ad.owner_name",
    "team": "ad.team",
    "arr": "COALESCE(h.arr, 0)",
    "health_score": "h.health_score",
    "band": "h.band",
    "health_change": "ROUND(h.health_score - p.health_score, 1)",
    "missing_inputs": "h.missing_inputs",
    "next_renewal_date": "nr.renewal_date",
    "renewal_arr": "nr.arr_up_for_renewal",
    "forecast_category": "nr.forecast_category",
    "renewal_overdue": "nr.renewal_overdue",
    "lifecycle_stage": "ad.lifecycle_stage",
}
RENEWAL_COLUMNS = (
    "next_renewal_date",
    "renewal_arr",
    "forecast_category",
    "renewal_overdue",
)  # need the nr join
PAGE_COLUMNS = tuple(LIST_COLUMNS)  # what account_page returns, in this order


def clean_sort(sort: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The sort keys the list understands: known fields only, direction 'asc' or 'desc'."""
    return tuple((f, "desc" if d == "desc" else "asc") for f, d in sort if f in SORTABLE)


def list_query(
    filters: Filters,
    drill: AccountDrill,
    snapshot: date,
    columns: tuple[str, ...],
    sort: tuple[tuple[str, str], ...] = (),
) -> tuple[str, list[Any]]:
    """The Accounts list as one SELECT (the grid's order: `sort`, then ARR, then id) + parameters.

    The one builder behind the grid's pages and the exports, so both show the same rows in the
    same order. `columns` are LIST_COLUMNS keys; the costly next-renewal join is added only when
    a renewal column is selected or sorted on.
    """
    sort = clean_sort(sort)
    with_renewal = any(c in RENEWAL_COLUMNS for c in columns) or any(
        f in NEXT_RENEWAL_FIELDS for f, _ in sort
    )
    from_where, bind = _list_sql(filters, drill, snapshot, with_next_renewal=with_renewal)
    select = ", ".join(f"{LIST_COLUMNS[c]} AS {c}" for c in columns)
    order = order_by(sort, SORTABLE, "h.arr DESC NULLS LAST", "ad.account_id")
    return f"SELECT {select} {from_where} ORDER BY {order}", bind


@memoize
def account_page(
    db: Database,
    filters: Filters,
    drill: AccountDrill,
    snapshot: date,
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of the Accounts list, sorted server-side (sort = ((field, 'asc'|'desc'), ...))."""
    sort = clean_sort(sort)
    by_renewal = any(f in NEXT_RENEWAL_FIELDS for f, _ in sort)
    columns = tuple(c for c in PAGE_COLUMNS if by_renewal or c not in RENEWAL_COLUMNS)
    sql, bind = list_query(filters, drill, snapshot, columns, sort)
    rows = db.query(sql + " LIMIT ? OFFSET ?", [*bind, *page_bounds(start, limit)])
    if by_renewal:
        return rows[list(PAGE_COLUMNS)]
    # Next renewal for just this page's accounts (left merge keeps the page order).
    renewals = db.query(
        next_renewal_sql("AND list_contains(?, r.account_id)"),
        [snapshot, snapshot, rows["account_id"].tolist()],
    ).rename(columns={"renewal_date": "next_renewal_date", "arr_up_for_renewal": "renewal_arr"})
    return rows.merge(renewals, on="account_id", how="left")[list(PAGE_COLUMNS)]
