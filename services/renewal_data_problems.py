"""Data problems among the open renewals that the data contract allows (issue #7, "Bad input").

The loader rejects what breaks the contract (a renewal dated before its contract's start,
negative ARR, an unknown forecast category, a call for an unknown renewal or dated after the
as-of date). What the contract allows but a CRM should not hold is counted here, per problem,
over the renewals open on the view's day (`services/open_renewals.py`):

- `no_contract`: the renewal is not linked to the contract it renews (contract_id blank) while
  its account has contracts: the link got lost in the export;
- `account_no_contract`: the renewal's account has no contract at all: nothing it renews is in
  the data (and the account has no ARR);
- `same_contract`: the renewal renews the same contract as an earlier open renewal (a duplicate
  in the CRM; the earliest one, by date then id, is not counted);
- `calls_unknown`: on a day before the build's as-of date, no forecast history reaches back to
  the day (the feed is absent, or starts later): no call is known for any renewal then.

Treatment: these renewals STAY IN the open renewals and in every figure built on them, flagged
here with their count and ARR up. Their ARR is up for renewal all the same: leaving it out
would understate what the company has to renew (a duplicate counts twice: the page says so).
`problems_sentence` states this in words the page shows. The problems are disjoint except
`calls_unknown`, which concerns the call, not the renewal: a renewal can have both.
`problem_where` gives each condition as SQL over `open_renewals`, for a drill to the list.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.open_renewals import open_renewals_sql

# problem key -> what it means, in words (the page's row label). Keep the keys stable.
PROBLEMS: dict[str, str] = {
    "no_contract": "Not linked to a contract",
    "account_no_contract": "Account has no contract at all",
    "same_contract": "Renews the same contract as another open renewal",
    "calls_unknown": "CSM call not known on this date (no forecast history this far back)",
}
# The renewal problems as they read inside a sentence ("12 ...: 3 <phrase>, ...").
PHRASES: dict[str, str] = {
    "no_contract": "not linked to a contract",
    "account_no_contract": "of accounts with no contract at all",
    "same_contract": "renewing the same contract as another open renewal",
}


def problem_where(problem: str, day: date) -> tuple[str, list[Any]]:
    """The SQL condition (over the columns of `open_renewals`, which it may also select from)
    that is TRUE when an open renewal has `problem` on `day`, and its parameters."""
    conditions: dict[str, tuple[str, list[Any]]] = {
        "no_contract": (
            "(renewal_id IN (SELECT renewal_id FROM renewals WHERE contract_id IS NULL) "
            "AND account_id IN (SELECT account_id FROM contracts))",
            [],
        ),
        "account_no_contract": ("account_id NOT IN (SELECT account_id FROM contracts)", []),
        "same_contract": (
            """renewal_id IN (
                SELECT o2.renewal_id FROM open_renewals o2
                JOIN renewals r2 ON r2.renewal_id = o2.renewal_id
                WHERE r2.contract_id IS NOT NULL
                QUALIFY ROW_NUMBER() OVER (
                    PARTITION BY r2.contract_id ORDER BY r2.renewal_date, r2.renewal_id) > 1)""",
            [],
        ),
        "calls_unknown": (
            """(CAST(? AS DATE) < (SELECT MAX(as_of_date) FROM meta)
                AND COALESCE(CAST(? AS DATE) < (SELECT MIN(snapshot_date)
                                                FROM renewal_forecast_history), TRUE))""",
            [day, day],
        ),
    }
    return conditions[problem]


@memoize
def renewal_data_problems(db: Database, filters: Filters, day: date) -> list[dict[str, Any]]:
    """Per problem (PROBLEMS order): {problem, label, renewals, arr_up} over the renewals open
    on `day` of accounts under `filters`. Every problem is listed, with 0 when none has it."""
    sql, bind = open_renewals_sql(filters, day)
    flags, sums, params = [], [], []
    for key in PROBLEMS:  # each condition evaluated once per renewal, then summed
        condition, cond_bind = problem_where(key, day)
        flags.append(f"{condition} AS {key}")
        sums.append(
            f"COUNT(*) FILTER (WHERE {key}) AS {key}_n, "
            f"COALESCE(SUM(arr_up) FILTER (WHERE {key}), 0) AS {key}_arr"
        )
        params += cond_bind
    row = db.query(
        f"{sql}, flagged AS (SELECT arr_up, {', '.join(flags)} FROM open_renewals) "
        f"SELECT {', '.join(sums)} FROM flagged",
        bind + params,
    )
    r = row.iloc[0]
    return [
        {
            "problem": key,
            "label": label,
            "renewals": int(r[f"{key}_n"]),
            "arr_up": float(r[f"{key}_arr"]),
        }
        for key, label in PROBLEMS.items()
    ]


def _plain_money(value: float) -> str:
    return f"${value:,.0f}"


def problems_sentence(
    problems: list[dict[str, Any]], money: Callable[[float], str] = _plain_money
) -> str:
    """What the page says about the data problems among the open renewals and how the figures
    treat them. `money` formats an amount (the page passes its compact money format)."""
    found = [p for p in problems if p["renewals"] and p["problem"] in PHRASES]
    sentences = []
    if found:
        parts = [
            f"{p['renewals']:,} ({money(p['arr_up'])} up) {PHRASES[p['problem']]}" for p in found
        ]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        sentences.append(
            f"Data problems among these open renewals: {listed}. They stay in every figure on "
            "this page, since their ARR is up for renewal all the same (a renewal duplicating "
            "another counts twice); fix them in the CRM export."
        )
    unknown = next((p for p in problems if p["problem"] == "calls_unknown"), None)
    if unknown and unknown["renewals"]:
        sentences.append(
            "No forecast history reaches back to this date, so no CSM call is known then: "
            f"all {unknown['renewals']:,} open renewals count as not called."
        )
    return " ".join(sentences) or "No data problems among these open renewals."
