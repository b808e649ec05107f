"""The retention list: the accounts behind GRR, NRR and the ARR bridge, one row per account.

Same definitions as the GRR/NRR cards (`services.retention`) and the ARR bridge
(`services.arr_bridge`): over a period (d0, d1], by default the 12 months to the as-of date
(d0 = `year_before(d1)`), a0 = ARR(d0) and a1 = ARR(d1). The cohort is every account with
a0 > 0, each churned, contracted, expanded or flat; `new` lists the accounts with a0 = 0 and
a1 > 0 (new logos and returning customers), `at_end` every account with a1 > 0 (the bridge's end
ARR). The cohort is ~80k rows at 100k accounts, so the list is paged and sorted in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from services.arr_bridge import AT_END, NEW, check_window, moved_params, moved_sql
from services.cache import memoize
from services.db import Database
from services.errors import InvalidFilter
from services.filters import Filters, parse_date
from services.filters import parse_sort as filters_parse_sort
from services.sql_fragments import (
    MOVEMENTS,
    RETENTION_RATIOS,
    cohort_member,
    movement_sums,
    order_by,
    page_bounds,
    year_before,
)

# What the list can show besides the whole cohort ('').
LIST_MOVEMENTS = (*MOVEMENTS, NEW, AT_END)

# Sortable columns of the list: grid field -> SQL expression (the only text that reaches ORDER BY).
SORTABLE = {
    "name": "ad.name",
    "segment": "ad.segment",
    "owner_name": "ad.owner_name",
    "start_arr": "co.a0",
    "end_arr": "co.a1",
    "change": "co.a1 - co.a0",
    "movement": "co.movement",
    "account_id": "ad.account_id",
}
DEFAULT_ORDER = "co.a1 - co.a0 ASC"  # the biggest losses first
# What comes first by default when one movement is listed: the biggest gains, the largest ARR.
DEFAULT_ORDERS = {"expanded": "co.a1 - co.a0 DESC", "new": "co.a1 DESC", "at_end": "co.a1 DESC"}


def parse_movement(value: Any) -> str:
    """The movement filter from the URL ('' = the whole cohort); an unknown value raises
    InvalidFilter."""
    text = str((value[0] if value else "") if isinstance(value, list | tuple) else value or "")
    text = text.strip().lower()
    if text in ("", "all"):
        return ""
    if text not in LIST_MOVEMENTS:
        raise InvalidFilter(
            f"Unknown movement {text[:40]!r}: use churned, contracted, expanded, flat, new or "
            "at_end."
        )
    return text


MAX_SORT_KEYS = 3


def parse_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The list's sort from `field:asc|desc` URL values (allow-listed; see filters.parse_sort)."""
    return filters_parse_sort(values, SORTABLE, MAX_SORT_KEYS)


def retention_window(snapshot: date, since: date | None = None) -> tuple[date, date]:
    """(d0, d1): `since` (by default the day a year before `snapshot`), and `snapshot`."""
    return since or year_before(snapshot), snapshot


def parse_period(params: Mapping[str, Any], as_of: date) -> tuple[date, date] | None:
    """The list's period from the URL's `from` and `to` (ISO dates): ARR on `from` against ARR
    on `to`. None when neither is given or they are the default 12 months to `as_of`. `to`
    defaults to `as_of` and may not be after it (a view never looks past its date); `from`
    defaults to a year before `to` and must be before it."""
    d0, d1 = parse_date(params.get("from"), "from"), parse_date(params.get("to"), "to")
    if d0 is None and d1 is None:
        return None
    d1 = d1 or as_of
    if d1 > as_of:
        raise InvalidFilter(
            f"The period ends on {d1:%d %b %Y}, after the date of this view "
            f"({as_of:%d %b %Y}): choose an end on or before it."
        )
    d0 = d0 or year_before(d1)
    check_window(d0, d1)
    return None if (d0, d1) == retention_window(as_of) else (d0, d1)


def list_params(d0: date, d1: date, as_of: date, movement: str = "") -> dict[str, str]:
    """URL parameters of the list of `movement` over (d0, d1] as of `as_of`: `from` and `to`
    only when the period is not the default 12 months to `as_of`."""
    params = {"movement": movement}
    if (d0, d1) != retention_window(as_of):
        params |= {"from": d0.isoformat(), "to": d1.isoformat()}
    return params


def _cohort(
    filters: Filters, snapshot: date, movement: str = "", since: date | None = None
) -> tuple[str, list[Any]]:
    """WITH ... of the filtered accounts over the period (`moved`), the cohort (`co`) and the
    rows shown (`shown`), and their parameters."""
    where, params = filters.where("ad")
    sql = f"""
        WITH acc AS (SELECT ad.account_id FROM account_dim ad WHERE {where}),
        moved AS MATERIALIZED ({moved_sql("acc")}),
        co AS (SELECT * FROM moved WHERE {cohort_member()})
    """
    bind = [*params, *moved_params(*retention_window(snapshot, since))]
    movement = parse_movement(movement)
    if movement == AT_END:
        sql += ", shown AS (SELECT * FROM moved WHERE a1 > 0)"
    elif movement:
        sql += ", shown AS (SELECT * FROM moved WHERE movement = ?)"
        bind.append(movement)
    else:
        sql += ", shown AS (SELECT * FROM co)"
    return sql, bind


@memoize
def retention_summary(
    db: Database, filters: Filters, snapshot: date, since: date | None = None
) -> dict[str, float | None]:
    """The cohort's totals (Σa0, churned, contraction, expansion, Σa1) and GRR/NRR from them."""
    sql, bind = _cohort(filters, snapshot, since=since)
    df = db.query(
        f"{sql} SELECT *, {RETENTION_RATIOS} FROM (SELECT {movement_sums()} FROM co)",
        bind,
    )
    row = df.iloc[0]
    return {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}


@memoize
def retention_totals(
    db: Database, filters: Filters, snapshot: date, movement: str = "", since: date | None = None
) -> dict[str, float]:
    """Count, Σa0, Σa1 and Σ change of the rows the list shows (one movement, new, at_end or
    the whole cohort)."""
    sql, bind = _cohort(filters, snapshot, movement, since)
    df = db.query(
        f"""{sql}
        SELECT COUNT(*) AS accounts, COALESCE(SUM(a0), 0) AS start_arr,
               COALESCE(SUM(a1), 0) AS end_arr, COALESCE(SUM(a1 - a0), 0) AS change
        FROM shown
        """,
        bind,
    )
    row = df.iloc[0]
    return {
        "accounts": int(row["accounts"]),
        "start_arr": float(row["start_arr"]),
        "end_arr": float(row["end_arr"]),
        "change": float(row["change"]),
    }


@memoize
def retention_page(
    db: Database,
    filters: Filters,
    snapshot: date,
    movement: str = "",
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
    since: date | None = None,
) -> pd.DataFrame:
    """One page of the list, sorted server-side (sort = ((field, 'asc'|'desc'), ...)).

    Columns: account_id, name, segment, owner_name, start_arr (a0), end_arr (a1), movement,
    change (a1 − a0). Default order: the biggest losses first (expanded: the biggest gains;
    new and at_end: the largest ARR at the end).
    """
    sql, bind = _cohort(filters, snapshot, movement, since)
    default = DEFAULT_ORDERS.get(parse_movement(movement), DEFAULT_ORDER)
    order = order_by(sort, SORTABLE, default, "ad.account_id")
    return db.query(
        f"""{sql}
        SELECT ad.account_id, ad.name, ad.segment, ad.owner_name,
               co.a0 AS start_arr, co.a1 AS end_arr, co.movement, co.a1 - co.a0 AS change
        FROM shown co JOIN account_dim ad ON ad.account_id = co.account_id
        ORDER BY {order}
        LIMIT ? OFFSET ?
        """,
        [*bind, *page_bounds(start, limit)],
    )
