"""Account 360: everything known about one account up to an as-of date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.sql_fragments import (
    arr_on,
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


@memoize
def account_360(db: Database, filters: Filters, account_id: str, as_of: date) -> Account360 | None:
    """One account's full history as known on `as_of`; None if no such account is within
    `filters` (a viewer's scope included).

    Point in time: contracts that start later, renewals of such contracts and expansion
    opportunities created later are left out; a renewal or opportunity closed after `as_of`
    shows as open, as it was then.
    """
    where, scope = filters.where("ad")
    facts = db.query(
        f"""
        WITH nr AS ({next_renewal_sql("AND r.account_id = ?")})
        SELECT ad.*, (SELECT {arr_on("?")} FROM contracts c
                      WHERE c.account_id = ad.account_id) AS arr,
               (SELECT {seats_on("?")} FROM contracts c
                      WHERE c.account_id = ad.account_id) AS contract_seats,
               nr.renewal_date AS next_renewal_date, nr.renewal_overdue
        FROM account_dim ad LEFT JOIN nr ON nr.account_id = ad.account_id
        WHERE ad.account_id = ? AND {where}
        """,
        [as_of, account_id, as_of, as_of, as_of, as_of, account_id, *scope],
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
            SELECT r.renewal_date, r.arr_up_for_renewal,
                   {known_on_latest("?", "r.forecast_category")} AS forecast_category,
                   {known_on_latest("?", "r.risk_reason")} AS risk_reason,
                   {known_on_latest("?", "r.has_close_plan")} AS has_close_plan,
                   {renewal_outcome_on("?")} AS outcome,
                   CASE WHEN {renewal_closed_by("?")} THEN r.renewed_arr END AS renewed_arr,
                   CASE WHEN {renewal_closed_by("?")} THEN r.closed_date END AS closed_date
            FROM renewals r LEFT JOIN contracts c ON c.contract_id = r.contract_id
            WHERE r.account_id = ? AND {renewal_known_by("?")}
            ORDER BY r.renewal_date DESC
            """,
                [as_of, as_of, as_of, as_of, as_of, as_of, account_id, as_of],
            ),
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
    return Account360(facts=facts.iloc[0].to_dict(), **parts)
