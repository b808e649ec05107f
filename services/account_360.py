"""Account 360: everything known about one account up to an as-of date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.sql_fragments import (
    arr_on,
    calls_on_sql,
    known_on_latest,
    next_renewal_sql,
    renewal_closed_by,
    renewal_known_by,
    renewal_outcome_on,
    seats_on,
    year_before,
)


@dataclass(frozen=True)
class Account360:
    """Everything the Account 360 page shows about one account."""

    facts: dict[str, Any]
    health: pd.DataFrame
    usage: pd.DataFrame
    tickets: pd.DataFrame
    nps: pd.DataFrame
    touchpoints: pd.DataFrame
    contracts: pd.DataFrame
    renewals: pd.DataFrame
    expansions: pd.DataFrame
    calls: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The calls collapsed into spans (`call_changes`), computed once with the cached result:
    # the page drew it twice per visit (~25 ms of pandas each at 100k's call history).
    call_spans: pd.DataFrame = field(default_factory=pd.DataFrame)


@memoize
def account_360(db: Database, filters: Filters, account_id: str, as_of: date) -> Account360 | None:
    """One account's full history as known on `as_of`; None if no such account is within
    `filters` (a viewer's scope included).

    Point in time: contracts that start later, renewals of such contracts and expansion
    opportunities created later are left out; a renewal or opportunity closed after `as_of`
    shows as open, as it was then. A renewal's CSM call and risk reason are the ones known on
    `as_of` (`calls_on_sql`: from the forecast history before the build's date); its close plan
    only on the build's date. `calls` is each renewal's call week by week up to `as_of`
    (`CALLS_SQL`).
    """
    where, scope = filters.where("ad")
    facts = db.query(
        f"""
        WITH nr AS ({next_renewal_sql("AND r.account_id = ?")})
        SELECT ad.*, (SELECT {arr_on("?")} FROM contracts c
                      WHERE c.account_id = ad.account_id) AS arr,
               (SELECT {seats_on("?")} FROM contracts c
                      WHERE c.account_id = ad.account_id) AS contract_seats,
               nr.renewal_date AS next_renewal_date, nr.renewal_overdue,
               {CALLS_KNOWN_SQL} AS calls_known,
               EXISTS (SELECT 1 FROM renewal_forecast_history) AS history_loaded
        FROM account_dim ad LEFT JOIN nr ON nr.account_id = ad.account_id
        WHERE ad.account_id = ? AND {where}
        """,
        [as_of, as_of, account_id, as_of, as_of, as_of, as_of, as_of, as_of, account_id, *scope],
    )
    if facts.empty:
        return None
    year_ago = year_before(as_of)
    end_ts = as_of + timedelta(days=1)
    parts = db.query_many(
        {
            "health": (
                "SELECT * FROM health_by_account WHERE account_id = ? AND snapshot_date <= ? "
                "AND snapshot_date > ? ORDER BY snapshot_date",
                [account_id, as_of, as_of - timedelta(days=7 * 26)],
            ),
            "usage": (
                "SELECT day, active_users, events, features_used FROM usage_daily "
                "WHERE account_id = ? AND day > ? AND day <= ? ORDER BY day",
                [account_id, year_ago, as_of],
            ),
            "tickets": (
                "SELECT ticket_id, opened_at, CASE WHEN closed_at < ? THEN closed_at END AS closed_at, "
                "priority, category, escalated "
                "FROM tickets WHERE account_id = ? AND opened_at < ? ORDER BY opened_at DESC",
                [end_ts, account_id, end_ts],
            ),
            "nps": (
                "SELECT responded_at, score, comment FROM nps_responses WHERE account_id = ? "
                "AND responded_at < ? ORDER BY responded_at DESC",
                [account_id, end_ts],
            ),
            "touchpoints": (
                "SELECT t.occurred_at, t.type, t.channel, c.name AS csm FROM touchpoints t "
                "LEFT JOIN csms c ON c.csm_id = t.csm_id WHERE t.account_id = ? "
                "AND t.occurred_at < ? ORDER BY t.occurred_at DESC",
                [account_id, end_ts],
            ),
            "contracts": (
                "SELECT contract_id, start_date, end_date, arr, seats FROM contracts "
                "WHERE account_id = ? AND start_date <= ? ORDER BY start_date DESC",
                [account_id, as_of],
            ),
            "renewals": (
                f"""
            {ONE_ACCOUNT}
            SELECT r.renewal_id, r.renewal_date, r.arr_up_for_renewal,
                   k.forecast_category, k.risk_reason,
                   {known_on_latest("?", "r.has_close_plan")} AS has_close_plan,
                   {renewal_outcome_on("?")} AS outcome,
                   CASE WHEN {renewal_closed_by("?")} THEN r.renewed_arr END AS renewed_arr,
                   CASE WHEN {renewal_closed_by("?")} THEN r.closed_date END AS closed_date
            FROM renewals r LEFT JOIN contracts c ON c.contract_id = r.contract_id
            LEFT JOIN ({calls_on_sql("?")}) k ON k.renewal_id = r.renewal_id
            WHERE {renewal_known_by("?")}
            ORDER BY r.renewal_date DESC
            """,
                [account_id, as_of, as_of, as_of, as_of, as_of, as_of],
            ),
            "calls": (CALLS_SQL, [account_id, account_id, as_of]),
            "expansions": (
                "SELECT created_date, close_date, type, "
                "CASE WHEN close_date <= ? OR outcome = 'open' THEN stage END AS stage, amount_arr, "
                "CASE WHEN close_date <= ? THEN outcome ELSE 'open' END AS outcome "
                "FROM expansions WHERE account_id = ? AND (created_date IS NULL OR created_date <= ?) "
                "ORDER BY created_date DESC",
                [as_of, as_of, account_id, as_of],
            ),
        }
    )
    return Account360(
        facts=facts.iloc[0].to_dict(), **parts, call_spans=call_changes(parts["calls"])
    )


# Whether CSM calls are known on a day (binds it twice): on the build's as-of date (the renewals'
# own fields), or before it when the forecast history reaches back that far. When not, a blank
# call means "not known", not "not called".
CALLS_KNOWN_SQL = """(CAST(? AS DATE) >= (SELECT MAX(as_of_date) FROM meta)
    OR EXISTS (SELECT 1 FROM renewal_forecast_history WHERE snapshot_date <= ?))"""

# `renewals` and `renewal_forecast_history` narrowed to one account's (binds the account): put
# before a query, they stand for the tables in it, so the shared fragments (`calls_on_sql`)
# read a handful of rows instead of every renewal's history (the history is stored clustered
# by renewal, data/loader.py).
ONE_ACCOUNT = """
    WITH renewals AS (SELECT * FROM main.renewals WHERE account_id = ?),
    renewal_forecast_history AS (
        SELECT * FROM main.renewal_forecast_history
        WHERE renewal_id IN (SELECT renewal_id FROM renewals))
"""

# Each renewal's CSM call week by week as known on a day (bound: account twice, day): the rows
# of renewal_forecast_history dated on or before the day while the renewal was open, except on
# the build's as-of date, where the renewal's own fields are the call as it stands (as in
# `calls_on_sql`); renewals known on the day only. Oldest renewal first, then by date.
CALLS_SQL = f"""
    {ONE_ACCOUNT},
    v AS (SELECT CAST(? AS VARCHAR) AS account_id, CAST(? AS DATE) AS d,
                 (SELECT MAX(as_of_date) FROM meta) AS built),
    mine AS (
        SELECT r.* FROM renewals r CROSS JOIN v
        LEFT JOIN contracts c ON c.contract_id = r.contract_id
        WHERE r.account_id = v.account_id AND {renewal_known_by("v.d")}
    )
    SELECT r.renewal_id, r.renewal_date, h.snapshot_date, h.forecast_category, h.arr_up,
           h.risk_reason
    FROM mine r CROSS JOIN v JOIN renewal_forecast_history h ON h.renewal_id = r.renewal_id
    WHERE h.snapshot_date <= v.d AND h.snapshot_date < v.built
      AND NOT {renewal_closed_by("h.snapshot_date")}
    UNION ALL
    SELECT r.renewal_id, r.renewal_date, v.built, r.forecast_category, r.arr_up_for_renewal,
           r.risk_reason
    FROM mine r CROSS JOIN v
    WHERE v.d >= v.built AND NOT {renewal_closed_by("v.built")}
    ORDER BY renewal_date, renewal_id, snapshot_date
"""


def call_changes(calls: pd.DataFrame) -> pd.DataFrame:
    """The weekly calls of `account_360(...).calls` collapsed into spans of unchanged call,
    ARR up and risk reason, per renewal, oldest first.

    Columns: renewal_id, renewal_date, since, until (the first and last week of the span),
    weeks, forecast_category, arr_up, risk_reason, and what changed from the renewal's span
    before: call_changed (the category), arr_changed, reason_changed, with the values before
    (previous_category, previous_arr_up, previous_risk_reason). The first span of a renewal
    changed nothing.
    """
    columns = [
        "renewal_id",
        "renewal_date",
        "since",
        "until",
        "weeks",
        "forecast_category",
        "arr_up",
        "risk_reason",
        "call_changed",
        "arr_changed",
        "reason_changed",
        "previous_category",
        "previous_arr_up",
        "previous_risk_reason",
    ]
    if calls.empty:
        return pd.DataFrame(columns=columns)
    df = calls.sort_values(["renewal_date", "renewal_id", "snapshot_date"]).reset_index(drop=True)
    fields = ["forecast_category", "arr_up", "risk_reason"]
    same_renewal = df["renewal_id"].eq(df["renewal_id"].shift())
    differs = {f: ~_same(df[f], df[f].shift()) & same_renewal for f in fields}
    starts = ~same_renewal | differs["forecast_category"] | differs["arr_up"]
    starts |= differs["risk_reason"]
    span = starts.cumsum()
    spans = df.groupby(span, sort=True).agg(
        renewal_id=("renewal_id", "first"),
        renewal_date=("renewal_date", "first"),
        since=("snapshot_date", "first"),
        until=("snapshot_date", "last"),
        weeks=("snapshot_date", "size"),
        forecast_category=("forecast_category", "first"),
        arr_up=("arr_up", "first"),
        risk_reason=("risk_reason", "first"),
    )
    spans = spans.reset_index(drop=True)
    first = ~spans["renewal_id"].eq(spans["renewal_id"].shift())
    for f, flag, before in (
        ("forecast_category", "call_changed", "previous_category"),
        ("arr_up", "arr_changed", "previous_arr_up"),
        ("risk_reason", "reason_changed", "previous_risk_reason"),
    ):
        spans[before] = spans[f].shift().where(~first)
        spans[flag] = ~_same(spans[f], spans[f].shift()) & ~first
    return spans[columns]


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Element-wise equality in which two missing values are the same."""
    return (a == b) | (a.isna() & b.isna())
