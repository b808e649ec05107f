"""Open renewals as known on a day: the one relation every Renewals section starts from.

A renewal is open on `day` when it was known then (its contract had started) and had not
closed by then (services/sql_fragments.py). Its CSM call is the one known on `day`
(`calls_on_sql`), its health the account's snapshot on `day` (a weekly snapshot date), and it
is at risk (ARCHITECTURE §4) when that call is at_risk/churn or that band is red. A renewal
whose date has passed without closing is still open (overdue), never dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.filters import Filters
from services.sql_fragments import (
    calls_on_sql,
    known_on_latest,
    renewal_closed_by,
    renewal_known_by,
)

AT_RISK_CALLS = ("at_risk", "churn")


def at_risk_sql(category: str = "o.forecast_category", band: str = "o.band") -> str:
    """At risk (ARCHITECTURE §4): the CSM calls it at_risk or churn, or health is red."""
    calls = ", ".join(f"'{c}'" for c in AT_RISK_CALLS)
    return f"(COALESCE({category} IN ({calls}), FALSE) OR COALESCE({band} = 'red', FALSE))"


def open_renewals_sql(
    filters: Filters, day: date, first: date | None = None, end: date | None = None
) -> tuple[str, list[Any]]:
    """`WITH open_renewals AS (...)` and its parameters: the open renewals on `day` of accounts
    under `filters`, renewal date in [first, end) when given (overdue ones have a date before
    `day`; pass first=None to keep them).

    Columns: renewal_id, account_id, name, segment, region, team, owner_csm_id, owner_name,
    coverage_tier, renewal_date, overdue, arr_up (the renewal's ARR up), forecast_category,
    risk_reason (the call known on `day`), has_close_plan (known only on the build's date),
    health_score, band, usage_score ... engagement_score (the snapshot on `day`), at_risk,
    owner_active (an owner who is a CSM still employed on `day`).
    Append more CTEs with ", name AS (...)" and select from `open_renewals`.
    """
    where, scope = filters.where("ad")
    sql = f"""
        WITH open_renewals AS (
            SELECT r.renewal_id, r.account_id, ad.name, ad.segment, ad.region, ad.team,
                   ad.owner_csm_id, ad.owner_name, ad.coverage_tier, r.renewal_date,
                   r.renewal_date < v.d AS overdue, r.arr_up_for_renewal AS arr_up,
                   k.forecast_category, k.risk_reason,
                   {known_on_latest("v.d", "r.has_close_plan")} AS has_close_plan,
                   h.health_score, h.band, h.usage_score, h.trend_score, h.support_score,
                   h.sentiment_score, h.engagement_score,
                   {at_risk_sql("k.forecast_category", "h.band")} AS at_risk,
                   (cs.csm_id IS NOT NULL AND (cs.end_date IS NULL OR cs.end_date > v.d))
                       AS owner_active
            FROM renewals r
            CROSS JOIN (SELECT CAST(? AS DATE) AS d) v
            JOIN account_dim ad ON ad.account_id = r.account_id
            LEFT JOIN csms cs ON cs.csm_id = ad.owner_csm_id
            LEFT JOIN contracts c ON c.contract_id = r.contract_id
            LEFT JOIN ({calls_on_sql("?")}) k ON k.renewal_id = r.renewal_id
            LEFT JOIN health_snapshots h
              ON h.account_id = r.account_id AND h.snapshot_date = v.d
            WHERE {renewal_known_by("v.d")} AND NOT {renewal_closed_by("v.d")}
              AND (CAST(? AS DATE) IS NULL OR r.renewal_date >= ?)
              AND (CAST(? AS DATE) IS NULL OR r.renewal_date < ?)
              AND {where}
        )
    """
    return sql, [day, day, first, first, end, end, *scope]
