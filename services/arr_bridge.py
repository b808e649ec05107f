"""The ARR bridge over a period: start ARR, + new, + expansion, − contraction, − churn = end ARR.

Over (d0, d1]: start = ARR(d0) and end = ARR(d1), over every account under the filters. Each
account with ARR at either end is in exactly one step:
- the cohort (a0 = ARR(d0) > 0) moves as on the GRR/NRR cards (services/sql_fragments.py:
  churned, contracted, expanded, flat; `movement_sums`);
- `new`: a0 = 0 and a1 = ARR(d1) > 0. New logos *and* returning customers (an account that paid
  before d0, had nothing on d0 and pays again on d1) are both new ARR of the period; the
  returning ones are counted apart too (`reactivated`), never moved out of the step.
So start + new + expansion − contraction − churn = end for any period, and over the trailing 12
months the cohort steps are the cards' numbers.

Periods end on the as-of date (or, for the last quarter, on its last day) and start on the day
before their first day: quarter and year boundaries follow the fiscal-year start month
(CSOPS_FISCAL_YEAR_START_MONTH).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.errors import InvalidFilter
from services.filters import Filters
from services.fiscal import quarter_name, quarter_start, year_start
from services.settings import load_settings
from services.sql_fragments import (
    arr_on,
    cohort_member,
    movement_case,
    movement_sums,
    year_before,
)

NEW = "new"
AT_END = "at_end"  # every account with ARR at the end (the end step's accounts)
# Each step of the bridge and the retention list's movement that lists its accounts.
STEP_MOVEMENTS = {
    "start": "",  # the cohort: every account paying at the start
    "new": NEW,
    "expansion": "expanded",
    "contraction": "contracted",
    "churn": "churned",
    "end": AT_END,
}


def new_member(a0: str = "a0", a1: str = "a1") -> str:
    """An account is new ARR of the period when it had no ARR at the start and has some at the
    end (new logos and returning customers alike)."""
    return f"({a0} = 0 AND {a1} > 0)"


def moved_sql(accounts: str) -> str:
    """One row per account of `accounts` (a relation with account_id) with ARR at either end:
    account_id, a0 = ARR(d0), a1 = ARR(d1), movement (the cohort's churned / contracted /
    expanded / flat, or 'new'), came_back (a new account that paid before d0).

    Binds, after the parameters of `accounts`: d0, d0, d1, d1 (the two ARRs), d0 (returning),
    d1, d0 (the contracts that can count).
    """
    return f"""
        SELECT account_id, a0, a1, came_back,
               CASE WHEN {cohort_member()} THEN {movement_case()} ELSE '{NEW}' END AS movement
        FROM (
            SELECT c.account_id, {arr_on("?")} AS a0, {arr_on("?")} AS a1,
                   bool_or(c.start_date < ?) AS came_back
            FROM contracts c JOIN {accounts} acc_ ON acc_.account_id = c.account_id
            WHERE c.start_date <= ?
            GROUP BY c.account_id
        ) WHERE {cohort_member()} OR {new_member()}
    """


def moved_params(d0: date, d1: date) -> list[date]:
    """The parameters of `moved_sql` after those of its accounts relation."""
    return [d0, d0, d1, d1, d0, d1]


def check_window(d0: date, d1: date) -> None:
    """A period must start before it ends (InvalidFilter otherwise)."""
    if d0 >= d1:
        raise InvalidFilter(
            f"The period must start before it ends: {d0:%d %b %Y} is not before {d1:%d %b %Y}."
        )


@memoize
def arr_bridge(db: Database, filters: Filters, d0: date, d1: date) -> dict[str, float]:
    """The bridge from ARR(d0) to ARR(d1) under the filters.

    Keys: start, new, expansion, contraction, churned, end (money; start and end over every
    account), and accounts per step: start_accounts (the cohort), new_accounts, expanded_accounts,
    contracted_accounts, churned_accounts, flat_accounts, end_accounts (a1 > 0); reactivated and
    reactivated_accounts (the returning customers inside `new`).
    """
    check_window(d0, d1)
    where, params = filters.where("ad")
    df = db.query(
        f"""
        WITH acc AS (SELECT ad.account_id FROM account_dim ad WHERE {where}),
        moved AS MATERIALIZED ({moved_sql("acc")})
        SELECT * FROM
            (SELECT {movement_sums()},
                    COUNT(*) FILTER (WHERE movement = 'churned') AS churned_accounts,
                    COUNT(*) FILTER (WHERE movement = 'contracted') AS contracted_accounts,
                    COUNT(*) FILTER (WHERE movement = 'expanded') AS expanded_accounts,
                    COUNT(*) FILTER (WHERE movement = 'flat') AS flat_accounts
             FROM moved WHERE {cohort_member()}),
            (SELECT COALESCE(SUM(a1), 0) AS new, COUNT(*) AS new_accounts,
                    COALESCE(SUM(a1) FILTER (WHERE came_back), 0) AS reactivated,
                    COUNT(*) FILTER (WHERE came_back) AS reactivated_accounts
             FROM moved WHERE movement = '{NEW}'),
            (SELECT COALESCE(SUM(a0), 0) AS all_start, COALESCE(SUM(a1), 0) AS all_end,
                    COUNT(*) FILTER (WHERE a1 > 0) AS end_accounts
             FROM moved)
        """,
        [*params, *moved_params(d0, d1)],
    )
    row = {k: float(v) for k, v in df.iloc[0].items()}
    return {
        "start": row["all_start"],
        "new": row["new"],
        "expansion": row["expansion_arr"],
        "contraction": row["contraction_arr"],
        "churned": row["churned_arr"],
        "end": row["all_end"],
        "start_accounts": int(row["logos_start"]),
        "new_accounts": int(row["new_accounts"]),
        "expanded_accounts": int(row["expanded_accounts"]),
        "contracted_accounts": int(row["contracted_accounts"]),
        "churned_accounts": int(row["churned_accounts"]),
        "flat_accounts": int(row["flat_accounts"]),
        "end_accounts": int(row["end_accounts"]),
        "reactivated": row["reactivated"],
        "reactivated_accounts": int(row["reactivated_accounts"]),
    }


# ---------------------------------------------------------------------------------------------
# Periods

PERIODS = {
    "t12m": "Last 12 months",
    "qtd": "Quarter to date",
    "last_quarter": "Last full quarter",
    "ytd": "Year to date",
}
DEFAULT_PERIOD = "t12m"


@dataclass(frozen=True)
class Period:
    """A bridge period: ARR on `start` (the day before its first day) to ARR on `end`."""

    key: str
    label: str
    start: date
    end: date

    @property
    def first_day(self) -> date:
        return self.start + timedelta(days=1)

    def describe(self) -> str:
        """'1 Oct 2026 – 20 Nov 2026'."""
        return f"{self.first_day:%d %b %Y} – {self.end:%d %b %Y}"


def period_window(key: str, as_of: date, fy_month: int | None = None) -> Period:
    """The period `key` (one of PERIODS) as of `as_of`; an unknown key raises InvalidFilter."""
    fy = fy_month or load_settings().fiscal_year_start_month
    if key == "t12m":
        return Period(key, PERIODS[key], year_before(as_of), as_of)
    if key == "qtd":
        first = quarter_start(as_of, fy)
        return Period(key, f"{quarter_name(first, fy)} to date", first - timedelta(days=1), as_of)
    if key == "last_quarter":
        end = quarter_start(as_of, fy) - timedelta(days=1)
        first = quarter_start(end, fy)
        return Period(key, quarter_name(first, fy), first - timedelta(days=1), end)
    if key == "ytd":
        first = year_start(as_of, fy)
        label = "Year to date" if fy == 1 else "Fiscal year to date"
        return Period(key, label, first - timedelta(days=1), as_of)
    raise InvalidFilter(
        f"Unknown period {str(key)[:40]!r}: use " + ", ".join(sorted(PERIODS)) + "."
    )


def period_options(as_of: date, fy_month: int | None = None) -> list[dict[str, Any]]:
    """The periods as options for a selector, each labelled with its quarter or year."""
    return [{"label": period_window(key, as_of, fy_month).label, "value": key} for key in PERIODS]


def bridge_frame(bridge: dict[str, float]) -> pd.DataFrame:
    """The bridge as ordered steps: step, movement (the retention list's filter), value (signed
    as it moves ARR), accounts."""
    values = {
        "start": (bridge["start"], bridge["start_accounts"]),
        "new": (bridge["new"], bridge["new_accounts"]),
        "expansion": (bridge["expansion"], bridge["expanded_accounts"]),
        "contraction": (-bridge["contraction"], bridge["contracted_accounts"]),
        "churn": (-bridge["churned"], bridge["churned_accounts"]),
        "end": (bridge["end"], bridge["end_accounts"]),
    }
    rows = [(step, movement, *values[step]) for step, movement in STEP_MOVEMENTS.items()]
    return pd.DataFrame(rows, columns=["step", "movement", "value", "accounts"])
