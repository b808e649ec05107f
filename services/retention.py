"""ARR and cohort retention (GRR, NRR, logo retention) from contracts, by any dimension."""

from __future__ import annotations

from datetime import date

import pandas as pd

from services.asof import snapshot_dates
from services.cache import memoize
from services.db import Database
from services.filters import DIMENSIONS, Filters


def year_before(d: date) -> date:
    """Same calendar day a year earlier (29 Feb becomes 28 Feb)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


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
            WHERE {where} AND c.start_date <= ? AND ? < c.end_date
            GROUP BY c.account_id HAVING SUM(c.arr) > 0)
        """,
        [*params, day, day],
    )
    return {"arr": float(df.at[0, "arr"]), "accounts": int(df.at[0, "accounts"])}


# Cohort movement, defined once (ARCHITECTURE §4). The cohort is every account with a0 > 0;
# new logos are excluded. `build.py` sums the same definition into `retention_cube`.
MOVEMENTS = ("churned", "contracted", "expanded", "flat")
MOVEMENT_SQL = """
    CASE WHEN a1 = 0 THEN 'churned'
         WHEN a1 > 0 AND a1 < a0 THEN 'contracted'
         WHEN a1 > a0 THEN 'expanded'
         ELSE 'flat' END
"""


def cohort_sql(accounts: str) -> str:
    """One row per cohort account of `accounts` (a relation with account_id): a0, a1, movement.

    Binds four parameters after those of `accounts`: start, start, end, end.
    """
    return f"""
        SELECT account_id, a0, a1, {MOVEMENT_SQL} AS movement FROM (
            SELECT c.account_id,
                   COALESCE(SUM(c.arr) FILTER (WHERE c.start_date <= ? AND ? < c.end_date), 0) AS a0,
                   COALESCE(SUM(c.arr) FILTER (WHERE c.start_date <= ? AND ? < c.end_date), 0) AS a1
            FROM contracts c JOIN {accounts} acc_ ON acc_.account_id = c.account_id
            GROUP BY c.account_id
        ) WHERE a0 > 0
    """


def cohort_params(start: date, end: date) -> list[date]:
    return [start, start, end, end]


# Sums over cohort rows (a0, a1, movement), then the ratios over those sums.
MOVEMENT_SUMS_SQL = """
    COALESCE(SUM(a0), 0) AS start_arr, COALESCE(SUM(a1), 0) AS end_arr,
    COALESCE(SUM(a0) FILTER (WHERE movement = 'churned'), 0) AS churned_arr,
    COALESCE(SUM(a0 - a1) FILTER (WHERE movement = 'contracted'), 0) AS contraction_arr,
    COALESCE(SUM(a1 - a0) FILTER (WHERE movement = 'expanded'), 0) AS expansion_arr,
    COUNT(*) AS logos_start, COUNT(*) FILTER (WHERE a1 > 0) AS logos_retained
"""
RATIOS_SQL = """
    (start_arr - churned_arr - contraction_arr) / NULLIF(start_arr, 0) AS grr,
    end_arr / NULLIF(start_arr, 0) AS nrr,
    logos_retained / NULLIF(logos_start, 0) AS logo_retention
"""


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
            SELECT acc.grp, {MOVEMENT_SUMS_SQL}
            FROM cohort JOIN acc ON acc.account_id = cohort.account_id
            GROUP BY acc.grp
        )
        SELECT *, {RATIOS_SQL} FROM moved ORDER BY grp
        """,
        [*params, *cohort_params(start, end)],
    )


@memoize
def _retention_from_cube(db: Database, filters: Filters, snapshot: date) -> pd.DataFrame:
    where, params = filters.where("rc")
    return db.query(
        f"""
        SELECT *, {RATIOS_SQL} FROM (
            SELECT SUM(start_arr) AS start_arr, SUM(end_arr) AS end_arr,
                   SUM(churned_arr) AS churned_arr, SUM(contraction_arr) AS contraction_arr,
                   SUM(expansion_arr) AS expansion_arr, SUM(logos_start) AS logos_start,
                   SUM(logos_retained) AS logos_retained
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
    """Renewal rate (ARR) over renewals closed with a renewal date in (start, end].

    Expansion counts only up to the amount that was up for renewal.
    """
    where, params = filters.where("ad")
    df = db.query(
        f"""
        SELECT COUNT(*) AS renewals, COALESCE(SUM(r.arr_up_for_renewal), 0) AS arr_up,
               SUM(LEAST(COALESCE(r.renewed_arr, 0), r.arr_up_for_renewal))
                   / NULLIF(SUM(r.arr_up_for_renewal), 0) AS renewal_rate
        FROM renewals r JOIN account_dim ad ON ad.account_id = r.account_id
        WHERE {where} AND r.outcome <> 'open' AND r.renewal_date > ? AND r.renewal_date <= ?
        """,
        [*params, start, end],
    )
    row = df.iloc[0]
    return {
        "renewals": int(row["renewals"]),
        "arr_up": float(row["arr_up"]),
        "renewal_rate": None if pd.isna(row["renewal_rate"]) else float(row["renewal_rate"]),
    }
