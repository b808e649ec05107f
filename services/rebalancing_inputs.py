"""The database side of rebalancing: whole books from the workload model, each account's next
open renewal, and the memoised plan (services/rebalancing.py does the solving).

Utilisation counts every account a CSM owns, so the books are read under the view's filters
widened to whole books (`book_filters`: the team filter and the as-of date narrow them; segment,
region, tier and owner do not). Those other filters choose which accounts may move: an account
outside them stays with its owner.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.open_renewals import open_renewals_sql
from services.rebalancing import RebalanceOptions, RebalancePlan, plan_moves
from services.workload import WorkloadParams, account_workload, csm_capacity

# Filters that pick accounts within books, not books (see the module docstring).
ACCOUNT_DIMENSIONS = ("segment", "region", "tier", "owner")


def book_filters(filters: Filters) -> Filters:
    """`filters` widened to whole books: only the team filter (and the as-of date) remain."""
    return replace(filters, **{dim: () for dim in ACCOUNT_DIMENSIONS})


def narrows_accounts(filters: Filters) -> bool:
    """Whether the view's filters leave some accounts of the books out of the moves."""
    return any(getattr(filters, dim) for dim in ACCOUNT_DIMENSIONS)


@memoize
def next_renewals(db: Database, filters: Filters, day: date) -> pd.DataFrame:
    """account_id, next_renewal: the earliest open renewal of each account on `day` (an overdue
    one counts: it is still being worked), for the accounts under `filters`."""
    sql, params = open_renewals_sql(filters, day)
    return db.query(
        sql + " SELECT account_id, min(renewal_date) AS next_renewal FROM open_renewals"
        " GROUP BY account_id",
        params,
    )


def rebalance_accounts(
    db: Database, filters: Filters, day: date, params: WorkloadParams
) -> pd.DataFrame:
    """The workload rows of every account in the books of the view's teams
    (services/workload.account_workload), with `next_renewal` and `in_view` (the account
    matches the view's segment, region, tier and owner filters)."""
    books = book_filters(filters)
    accounts = account_workload(db, books, day, params)
    renewals = next_renewals(db, books, day)
    out = accounts.merge(renewals, on="account_id", how="left")
    if narrows_accounts(filters):
        in_view = set(account_workload(db, filters, day, params)["account_id"])
        out["in_view"] = out["account_id"].isin(in_view)
    else:
        out["in_view"] = True
    return out


def rebalance_csms(
    db: Database, filters: Filters, day: date, params: WorkloadParams
) -> pd.DataFrame:
    """The CSMs of the books' teams (services/workload.csm_capacity under `book_filters`)."""
    return csm_capacity(db, book_filters(filters), day, params)


@memoize
def rebalance_plan(
    db: Database,
    filters: Filters,
    day: date,
    params: WorkloadParams,
    options: RebalanceOptions,
) -> RebalancePlan:
    """The proposed moves for the view (memoised per data build, filters, date, workload model
    and options: a repeat of the same view is a cache read)."""
    return plan_moves(
        rebalance_accounts(db, filters, day, params),
        rebalance_csms(db, filters, day, params),
        params,
        options,
        day,
    )


def rebalance_teams(db: Database, filters: Filters, day: date, params: WorkloadParams) -> list[str]:
    """The teams the view's books belong to (the team picker's choices)."""
    csms = rebalance_csms(db, filters, day, params)
    return sorted(set(csms["team"].dropna()))
