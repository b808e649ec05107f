"""The retention list: the trailing-12-month cohort behind GRR and NRR, one row per account.

Same definitions as the GRR/NRR cards (`services.retention`): the cohort at snapshot d1 is every
account with ARR(d0) > 0, d0 = `year_before(d1)`; a0 = ARR(d0), a1 = ARR(d1); each account's
movement is churned, contracted, expanded or flat. The cohort is ~80k rows at 100k accounts, so
the list is paged and sorted in SQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.errors import InvalidFilter
from services.filters import Filters
from services.filters import parse_sort as filters_parse_sort
from services.retention import cohort_params, cohort_sql
from services.sql_fragments import (
    MOVEMENTS,
    RETENTION_RATIOS,
    movement_sums,
    order_by,
    page_bounds,
    year_before,
)

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


def parse_movement(value: Any) -> str:
    """The movement filter from the URL ('' = all); an unknown value raises InvalidFilter."""
    text = str((value[0] if value else "") if isinstance(value, list | tuple) else value or "")
    text = text.strip().lower()
    if text in ("", "all"):
        return ""
    if text not in MOVEMENTS:
        raise InvalidFilter(
            f"Unknown movement {text[:40]!r}: use churned, contracted, expanded or flat."
        )
    return text


MAX_SORT_KEYS = 3


def parse_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The list's sort from `field:asc|desc` URL values (allow-listed; see filters.parse_sort)."""
    return filters_parse_sort(values, SORTABLE, MAX_SORT_KEYS)


def retention_window(snapshot: date) -> tuple[date, date]:
    """(d0, d1): the cohort date a year before `snapshot`, and `snapshot`."""
    return year_before(snapshot), snapshot


def _cohort(filters: Filters, snapshot: date, movement: str = "") -> tuple[str, list[Any]]:
    """WITH ... of the filtered cohort (`co`, joined to `ad`) and its parameters."""
    where, params = filters.where("ad")
    sql = f"""
        WITH acc AS (SELECT ad.account_id FROM account_dim ad WHERE {where}),
        co AS ({cohort_sql("acc")})
    """
    bind = [*params, *cohort_params(*retention_window(snapshot))]
    if movement:
        sql += ", shown AS (SELECT * FROM co WHERE movement = ?)"
        bind.append(parse_movement(movement))
    else:
        sql += ", shown AS (SELECT * FROM co)"
    return sql, bind


@memoize
def retention_summary(db: Database, filters: Filters, snapshot: date) -> dict[str, float | None]:
    """The cohort's totals (Σa0, churned, contraction, expansion, Σa1) and GRR/NRR from them."""
    sql, bind = _cohort(filters, snapshot)
    df = db.query(
        f"{sql} SELECT *, {RETENTION_RATIOS} FROM (SELECT {movement_sums()} FROM co)",
        bind,
    )
    row = df.iloc[0]
    return {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}


@memoize
def retention_totals(
    db: Database, filters: Filters, snapshot: date, movement: str = ""
) -> dict[str, float]:
    """Count, Σa0, Σa1 and Σ change of the rows the list shows (one movement or all)."""
    sql, bind = _cohort(filters, snapshot, movement)
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
) -> pd.DataFrame:
    """One page of the cohort, sorted server-side (sort = ((field, 'asc'|'desc'), ...)).

    Columns: account_id, name, segment, owner_name, start_arr (a0), end_arr (a1), movement,
    change (a1 − a0). Default order: the biggest losses first.
    """
    sql, bind = _cohort(filters, snapshot, movement)
    order = order_by(sort, SORTABLE, DEFAULT_ORDER, "ad.account_id")
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
