"""ARR and cohort retention (GRR, NRR, logo retention) from contracts, by any dimension."""

from __future__ import annotations

from datetime import date

import pandas as pd

from services.asof import snapshot_dates
from services.cache import memoize
from services.db import Database
from services.filters import DIMENSIONS, Filters
from services.sql_fragments import (
    RETENTION_RATIOS,
    arr_on,
    cohort_member,
    contract_active_on,
    movement_case,
    movement_sums,
    movement_totals_summed,
    renewal_closed_by,
    year_before,
)


def _group_expr(by: str | None) -> str:
    if by is None:
        return "'All'"
    if by not in DIMENSIONS:
        raise ValueError(f"cannot group by {by!r}")
    return f"ad.{DIMENSIONS[by]}"


@memoize
def arr_at(db: Database, filters: Filters, day: date) -> dict[str, float]:
    """ARR(d) and the number of paying accounts on `day` under the filters."""
    where, params = filters.where("ad")
    df = db.query(
        f"""
        SELECT COALESCE(SUM(arr), 0) AS arr, COUNT(*) AS accounts FROM (
            SELECT c.account_id, SUM(c.arr) AS arr
            FROM contracts c JOIN account_dim ad ON ad.account_id = c.account_id
            WHERE {where} AND {contract_active_on("?")}
            GROUP BY c.account_id HAVING SUM(c.arr) > 0)
        """,
        [*params, day, day],
    )
    return {"arr": float(df.at[0, "arr"]), "accounts": int(df.at[0, "accounts"])}


# The cohort behind GRR/NRR, from contracts; `build.py` sums the same fragments into
# `retention_cube` (services/sql_fragments.py holds the definitions).
def cohort_sql(accounts: str) -> str:
    """One row per cohort account of `accounts` (a relation with account_id): a0, a1, movement.

    Binds four parameters after those of `accounts`: start, start, end, end.
    """
    return f"""
        SELECT account_id, a0, a1, {movement_case()} AS movement FROM (
            SELECT c.account_id, {arr_on("?")} AS a0, {arr_on("?")} AS a1
            FROM contracts c JOIN {accounts} acc_ ON acc_.account_id = c.account_id
            GROUP BY c.account_id
        ) WHERE {cohort_member()}
    """


def cohort_params(start: date, end: date) -> list[date]:
    return [start, start, end, end]


@memoize
def cohort_movement(
    db: Database, filters: Filters, start: date, end: date, by: str | None = None
) -> pd.DataFrame:
    """Cohort ARR movement over [start, end) per group, with GRR, NRR and logo retention.

    The cohort is every account with ARR(start) > 0; new logos are excluded.
    """
    where, params = filters.where("ad")
    return db.query(
        f"""
        WITH acc AS (
            SELECT ad.account_id, {_group_expr(by)} AS grp FROM account_dim ad WHERE {where}
        ), cohort AS ({cohort_sql("acc")}
        ), moved AS (
            SELECT acc.grp, {movement_sums()}
            FROM cohort JOIN acc ON acc.account_id = cohort.account_id
            GROUP BY acc.grp
        )
        SELECT *, {RETENTION_RATIOS} FROM moved ORDER BY grp
        """,
        [*params, *cohort_params(start, end)],
    )


@memoize
def _retention_from_cube(db: Database, filters: Filters, snapshot: date) -> pd.DataFrame:
    where, params = filters.where("rc")
    return db.query(
        f"""
        SELECT *, {RETENTION_RATIOS} FROM (
            SELECT {movement_totals_summed("rc")}
            FROM retention_cube rc WHERE {where} AND rc.snapshot_date = ?
            HAVING SUM(start_arr) > 0)
        """,
        [*params, snapshot],
    )


def trailing_retention(db: Database, filters: Filters, as_of: date) -> dict[str, float | None]:
    """GRR, NRR and logo retention over the 12 months to `as_of` (None when no cohort).

    On a snapshot date the answer comes from `retention_cube` (summed at build time); on any
    other date it is computed from contracts. Both follow the same definition.
    """
    if as_of in snapshot_dates(db):
        df = _retention_from_cube(db, filters, as_of)
    else:
        df = cohort_movement(db, filters, year_before(as_of), as_of)
    if df.empty:
        return {"grr": None, "nrr": None, "logo_retention": None, "start_arr": 0.0}
    row = df.iloc[0]
    return {
        k: (None if pd.isna(row[k]) else float(row[k]))
        for k in (
            "grr",
            "nrr",
            "logo_retention",
            "start_arr",
            "churned_arr",
            "contraction_arr",
            "expansion_arr",
        )
    }


@memoize
def renewal_rate(db: Database, filters: Filters, start: date, end: date) -> dict[str, float | None]:
    """Renewal rate (ARR) over renewals with a renewal date in (start, end], closed by `end`.

    Point in time: a renewal counts only if it had closed on or before `end` (its closed_date;
    see `renewal_closed_by`); one closed later was open then. Expansion counts only up to the
    amount that was up for renewal.
    """
    where, params = filters.where("ad")
    df = db.query(
        f"""
        SELECT COUNT(*) AS renewals, COALESCE(SUM(r.arr_up_for_renewal), 0) AS arr_up,
               SUM(LEAST(COALESCE(r.renewed_arr, 0), r.arr_up_for_renewal))
                   / NULLIF(SUM(r.arr_up_for_renewal), 0) AS renewal_rate
        FROM renewals r JOIN account_dim ad ON ad.account_id = r.account_id
        WHERE {where} AND {renewal_closed_by("?")}
          AND r.renewal_date > ? AND r.renewal_date <= ?
        """,
        [*params, end, start, end],
    )
    row = df.iloc[0]
    return {
        "renewals": int(row["renewals"]),
        "arr_up": float(row["arr_up"]),
        "renewal_rate": None if pd.isna(row["renewal_rate"]) else float(row["renewal_rate"]),
    }
