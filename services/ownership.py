"""Who owned an account on a day: the one place ownership over time is read.

`owner_spans` (derived at build time) holds one row per account and owner interval
[valid_from, valid_to) (valid_to NULL = still owns it): the `account_owner_history` rows where
the source has them, and for every account the history does not list, its current owner
(`accounts.owner_csm_id`) from the beginning of time. A day no span covers (a gap in the
history) has no owner. Compensation credits a renewal or an expansion to the owner on the day
it closed (`owner_on`).
"""

from __future__ import annotations

BEGINNING = "1900-01-01"  # valid_from of a span that only knows the current owner


def create_owner_spans(con) -> None:
    """Create `owner_spans` in a new build (account_owner_history may be empty)."""
    con.execute(f"""
        CREATE TABLE owner_spans AS
        SELECT h.account_id, h.owner_csm_id, h.valid_from, h.valid_to, 'history' AS source
        FROM account_owner_history h
        UNION ALL
        SELECT a.account_id, a.owner_csm_id, DATE '{BEGINNING}' AS valid_from,
               CAST(NULL AS DATE) AS valid_to, 'current' AS source
        FROM accounts a
        WHERE NOT EXISTS (SELECT 1 FROM account_owner_history h WHERE h.account_id = a.account_id)
        ORDER BY account_id, valid_from
    """)


def owner_on(day: str, account: str, spans: str = "os") -> str:
    """Join condition: the span of `spans` (an alias of owner_spans) holding `account` on `day`
    (SQL expressions). Use as `LEFT JOIN owner_spans os ON {owner_on('r.closed_date',
    'r.account_id')}`: no match means nobody owned the account that day."""
    return (
        f"{spans}.account_id = {account} AND {spans}.valid_from <= {day} "
        f"AND ({spans}.valid_to IS NULL OR {day} < {spans}.valid_to)"
    )
