"""Renewal hygiene: is every open renewal due soon ready to be worked (issue #7, item 5)?

The renewals checked are those open on the view's day (services/open_renewals.py) with a
renewal date at most `window_days` (a setting, 90) ahead, overdue ones included: an open
renewal whose date has passed is the most urgent of all. Four checks, each a condition over the
columns of `open_renewals` that is TRUE when the renewal FAILS it (`HYGIENE_CHECKS`). The
renewal list's `missing=<check>` drill filter reads the same conditions, so a count here equals
the list behind it. Keep the keys stable.

Each check has a scope (`CHECK_SCOPE`): the risk reason is asked of at-risk renewals only, so
its share is "at-risk renewals with a reason" (a renewal not at risk neither passes nor fails
it). The close plan is held only as it stands at the build's as-of date (`has_close_plan` is
NULL on any earlier day): on a past date the `plan` check is not known. It is then left out of
the shares, of "all checks" and of the failing checks, never counted as failed
(`checks_known_on`).

Share passing = renewals in scope that pass / renewals in scope (and the same on ARR up); the
target (a setting, 90%) is the same for every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.filters import parse_sort as filters_parse_sort
from services.renewal_pipeline import open_relation
from services.settings import load_settings
from services.sql_fragments import order_by, page_bounds

# check key -> (what failing it means, in words; SQL over open_renewals: TRUE when it fails)
HYGIENE_CHECKS: dict[str, tuple[str, str]] = {
    "category": ("No forecast category", "forecast_category IS NULL"),
    "reason": (
        "At risk without a risk reason",
        "(at_risk AND NULLIF(TRIM(risk_reason), '') IS NULL)",
    ),
    "plan": ("No close plan", "has_close_plan IS NOT TRUE"),
    "owner": ("No active owner", "NOT COALESCE(owner_active, FALSE)"),
}
# What passing each check means (tile and column titles).
PASS_LABELS: dict[str, str] = {
    "category": "Forecast category set",
    "reason": "Risk reason when at risk",
    "plan": "Close plan in place",
    "owner": "Active owner",
}
# The renewals a check is asked of (SQL over open_renewals); every renewal when absent.
CHECK_SCOPE: dict[str, str] = {"reason": "at_risk"}
# Checks whose field is known only at the build's as-of date (not on a past day).
LATEST_ONLY_CHECKS = ("plan",)
# Checks that read the CSM's call: known on a past day only from renewal_forecast_history,
# i.e. when that feed holds a row dated on or before the day.
CALL_CHECKS = ("category", "reason")
UNASSIGNED = "none"  # the owner selection meaning "accounts without an owner"

# Sortable columns of the list of renewals missing something: grid field -> SQL expression.
SORTABLE = {
    "name": "hy.name",
    "renewal_date": "hy.renewal_date",
    "arr_up": "hy.arr_up",
    "owner_name": "hy.owner_name",
    "team": "hy.team",
    "failing_count": "hy.failing_count",
}
DEFAULT_ORDER = "hy.owner_name ASC, hy.renewal_date ASC, hy.arr_up DESC"
MAX_SORT_KEYS = 3
MAX_OWNERS = 200  # rows of the per-owner table (worst first); the panel says how many more


@dataclass(frozen=True)
class HygieneParams:
    """The window (days ahead of the view's date, inclusive) and the target share."""

    window_days: int = 90
    target: float = 0.9


def hygiene_params() -> HygieneParams:
    """The settings in force (CSOPS_HYGIENE_WINDOW_DAYS, CSOPS_HYGIENE_TARGET)."""
    s = load_settings()
    return HygieneParams(s.hygiene_window_days, s.hygiene_target)


def window_end(day: date, window_days: int) -> date:
    """The last renewal date in the window: `window_days` after `day` (day 0 is `day`)."""
    return day + timedelta(days=window_days)


def checks_known_on(day: date, data_as_of: date, calls_from: date | None = None) -> tuple[str, ...]:
    """The check keys that can be evaluated on `day`: all on/after the build's as-of date.
    Before it the close plan is unknown (left out, not failed), and so is the CSM's call (the
    category and risk reason checks) unless the call history reaches back to `day`
    (`calls_from`: its first snapshot date, None without the feed)."""
    if day >= data_as_of:
        return tuple(HYGIENE_CHECKS)
    calls_known = calls_from is not None and day >= calls_from
    return tuple(
        k
        for k in HYGIENE_CHECKS
        if k not in LATEST_ONLY_CHECKS and (calls_known or k not in CALL_CHECKS)
    )


def parse_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The list's sort from `field:asc|desc` URL values (allow-listed)."""
    return filters_parse_sort(values, SORTABLE, MAX_SORT_KEYS)


def parse_owner(value: Any) -> str:
    """The owner selection from the URL: '' (all), UNASSIGNED, or a CSM id (bounded)."""
    value = value[0] if isinstance(value, list | tuple) and value else value
    return str(value or "").strip()[:200]


def hygiene_sql(
    db: Database, filters: Filters, day: date, window_days: int, known: tuple[str, ...]
) -> tuple[str, list[Any]]:
    """`WITH ..., hy AS (...)`: the open renewals on `day` under `filters` dated up to
    `window_end(day, window_days)` (overdue ones included), each with `in_<check>` (the check
    is asked of it and in `known`), `fail_<check>`, `failing_count` and `fails_any`."""
    # The stored open renewals of a picker date when the build has them (same rows, ~10x faster
    # at 100k accounts), else computed live.
    sql, bind = open_relation(db, filters, day, None, window_end(day, window_days) + timedelta(1))
    cols = []
    for key, (_, fails) in HYGIENE_CHECKS.items():
        if key in known:
            scope = CHECK_SCOPE.get(key, "TRUE")
            cols.append(
                f"COALESCE({scope}, FALSE) AS in_{key}, "
                f"COALESCE({scope}, FALSE) AND COALESCE({fails}, FALSE) AS fail_{key}"
            )
        else:
            cols.append(f"FALSE AS in_{key}, FALSE AS fail_{key}")
    count = " + ".join(f"CAST(fail_{k} AS INTEGER)" for k in HYGIENE_CHECKS)
    sql += f"""
        , checked AS (SELECT o.*, {", ".join(cols)} FROM open_renewals o)
        , hy AS (SELECT *, {count} AS failing_count, {count} > 0 AS fails_any FROM checked)
    """
    return sql, bind


def _aggregates() -> str:
    parts = [
        "COUNT(*) AS renewals",
        "COALESCE(SUM(arr_up), 0) AS arr_up",
        "COUNT(*) FILTER (WHERE overdue) AS overdue",
        "COUNT(*) FILTER (WHERE fails_any) AS fail_any",
        "COALESCE(SUM(arr_up) FILTER (WHERE fails_any), 0) AS arr_fail_any",
    ]
    for k in HYGIENE_CHECKS:
        parts += [
            f"COUNT(*) FILTER (WHERE in_{k}) AS in_{k}",
            f"COUNT(*) FILTER (WHERE fail_{k}) AS fail_{k}",
            f"COALESCE(SUM(arr_up) FILTER (WHERE in_{k}), 0) AS arr_in_{k}",
            f"COALESCE(SUM(arr_up) FILTER (WHERE fail_{k}), 0) AS arr_fail_{k}",
        ]
    return ",\n".join(parts)


def _with_shares(df: pd.DataFrame) -> pd.DataFrame:
    """Add share_<k> / arr_share_<k> (passing, of the renewals in scope; NaN when none) and
    share_all / arr_share_all (passing every known check, of all renewals)."""
    out = df.copy()
    for k in HYGIENE_CHECKS:
        n, arr = out[f"in_{k}"].astype(float), out[f"arr_in_{k}"].astype(float)
        out[f"share_{k}"] = (n - out[f"fail_{k}"]) / n.where(n > 0)
        out[f"arr_share_{k}"] = (arr - out[f"arr_fail_{k}"]) / arr.where(arr > 0)
    n, arr = out["renewals"].astype(float), out["arr_up"].astype(float)
    out["share_all"] = (n - out["fail_any"]) / n.where(n > 0)
    out["arr_share_all"] = (arr - out["arr_fail_any"]) / arr.where(arr > 0)
    return out


@dataclass(frozen=True)
class CheckResult:
    """One check over the renewals in the window."""

    key: str
    known: bool  # False: not known on this day (the close plan on a past date)
    in_scope: int  # renewals the check is asked of
    failing: int
    arr_in_scope: float
    arr_failing: float

    @property
    def passing(self) -> int:
        return self.in_scope - self.failing

    @property
    def share(self) -> float | None:
        """Share of the renewals in scope that pass (None when none is in scope or unknown)."""
        return self.passing / self.in_scope if self.known and self.in_scope else None

    @property
    def arr_share(self) -> float | None:
        """Share of the ARR up in scope that passes."""
        if not self.known or not self.arr_in_scope:
            return None
        return (self.arr_in_scope - self.arr_failing) / self.arr_in_scope


@dataclass(frozen=True)
class HygieneSummary:
    """The window and every check's result over it."""

    day: date
    end: date  # last renewal date in the window (overdue ones, dated before `day`, count too)
    renewals: int
    arr_up: float
    overdue: int
    failing_any: int
    arr_failing_any: float
    checks: dict[str, CheckResult]

    @property
    def share_all(self) -> float | None:
        """Share of the renewals passing every check known on the day."""
        return (self.renewals - self.failing_any) / self.renewals if self.renewals else None


@memoize
def _calls_from(db: Database) -> date | None:
    """The first snapshot date of the call history (None when the feed is absent or empty)."""
    value = db.query("SELECT MIN(snapshot_date) AS d FROM renewal_forecast_history").iloc[0]["d"]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _known(db: Database, day: date) -> tuple[str, ...]:
    return checks_known_on(day, db.info().as_of_date, _calls_from(db))


def known_checks(db: Database, filters: Filters, day: date) -> tuple[str, ...]:
    """The checks known on `day` in this database (`checks_known_on` with the build's as-of
    date and the call history's first date). The same under any `filters`: whether a feed
    reaches back to a day is a property of the dataset, as for the health feeds."""
    return _known(db, day)


@memoize
def hygiene_groups(
    db: Database, filters: Filters, day: date, params: HygieneParams = HygieneParams()
) -> pd.DataFrame:
    """The counts and ARR of every check in one pass, per owner, per team and overall
    (GROUPING SETS): the one query behind the tiles, the owner and team tables and the list's
    totals. Column `level`: 'owner' (owner_csm_id, owner_name, team), 'team' (team) or 'all';
    then owner_active (False: the owner has left, or there is none), renewals, arr_up, overdue,
    fail_any, arr_fail_any and in_<k>, fail_<k>, arr_in_<k>, arr_fail_<k> per check."""
    sql, bind = hygiene_sql(db, filters, day, params.window_days, _known(db, day))
    df = db.query(
        f"""{sql}
        SELECT CASE GROUPING(owner_csm_id, owner_name, team)
                    WHEN 0 THEN 'owner' WHEN 6 THEN 'team' ELSE 'all' END AS level,
               owner_csm_id, owner_name, team, BOOL_AND(owner_active) AS owner_active,
               {_aggregates()}
        FROM hy
        GROUP BY GROUPING SETS ((owner_csm_id, owner_name, team), (team), ())
        """,
        bind,
    )
    return _with_shares(df)


def _level(df: pd.DataFrame, level: str) -> pd.DataFrame:
    return df[df["level"] == level].drop(columns="level").reset_index(drop=True)


def _worst_first(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The lowest share passing every check first, then the most renewals failing one, then the
    most ARR up, then by name (a stable order)."""
    return df.sort_values(
        ["share_all", "fail_any", "arr_up", *keys],
        ascending=[True, False, False, *([True] * len(keys))],
        na_position="last",
        kind="mergesort",
    ).reset_index(drop=True)


def hygiene_summary(
    db: Database, filters: Filters, day: date, params: HygieneParams = HygieneParams()
) -> HygieneSummary:
    """Per check, renewals in scope and failing (count and ARR up), over the window as of `day`."""
    known = _known(db, day)
    overall = _level(hygiene_groups(db, filters, day, params), "all")
    row = overall.iloc[0] if len(overall) else None

    def value(col: str) -> float:
        return 0 if row is None or pd.isna(row[col]) else row[col]

    return HygieneSummary(
        day=day,
        end=window_end(day, params.window_days),
        renewals=int(value("renewals")),
        arr_up=float(value("arr_up")),
        overdue=int(value("overdue")),
        failing_any=int(value("fail_any")),
        arr_failing_any=float(value("arr_fail_any")),
        checks={
            k: CheckResult(
                k,
                k in known,
                int(value(f"in_{k}")),
                int(value(f"fail_{k}")),
                float(value(f"arr_in_{k}")),
                float(value(f"arr_fail_{k}")),
            )
            for k in HYGIENE_CHECKS
        },
    )


def hygiene_by_owner(
    db: Database,
    filters: Filters,
    day: date,
    params: HygieneParams = HygieneParams(),
    limit: int = MAX_OWNERS,
) -> pd.DataFrame:
    """Per owner (CSM; accounts without one together as 'Unassigned'), worst first: the lowest
    share passing every check, then the most renewals failing one, then the most ARR up.

    Columns: owner_csm_id (None: unassigned), owner_name, team, owner_active (False: the CSM
    has left, or there is none), the counts and ARR of `hygiene_groups`, share_<k>,
    arr_share_<k>, share_all, arr_share_all, owners_total (owners before the limit).
    """
    df = _level(hygiene_groups(db, filters, day, params), "owner")
    df = _worst_first(df, ["owner_name", "owner_csm_id"])
    return df.assign(owners_total=len(df)).head(int(limit)).reset_index(drop=True)


def hygiene_by_team(
    db: Database, filters: Filters, day: date, params: HygieneParams = HygieneParams()
) -> pd.DataFrame:
    """Per team, worst first (as `hygiene_by_owner`). Columns: team and the same counts and
    shares."""
    df = _level(hygiene_groups(db, filters, day, params), "team")
    return _worst_first(df.drop(columns=["owner_csm_id", "owner_name", "owner_active"]), ["team"])


def _missing_sql(
    db: Database, filters: Filters, day: date, params: HygieneParams, owner: str
) -> tuple[str, list[Any]]:
    sql, bind = hygiene_sql(db, filters, day, params.window_days, _known(db, day))
    where = "hy.fails_any"
    if owner == UNASSIGNED:
        where += " AND hy.owner_csm_id IS NULL"
    elif owner:
        where += " AND hy.owner_csm_id = ?"
        bind = [*bind, owner]
    return f"{sql}, shown AS (SELECT * FROM hy WHERE {where})", bind


def missing_totals(
    db: Database,
    filters: Filters,
    day: date,
    params: HygieneParams = HygieneParams(),
    owner: str = "",
) -> dict[str, float]:
    """Count and Σ ARR up of the renewals failing a check (of one owner when `owner` is a CSM
    id, of accounts without an owner when it is UNASSIGNED): read from `hygiene_groups`."""
    df = hygiene_groups(db, filters, day, params)
    if owner == UNASSIGNED:
        rows = df[(df["level"] == "owner") & df["owner_csm_id"].isna()]
    elif owner:
        rows = df[(df["level"] == "owner") & (df["owner_csm_id"] == owner)]
    else:
        rows = df[df["level"] == "all"]
    return {
        "renewals": int(rows["fail_any"].sum()),
        "arr_up": float(rows["arr_fail_any"].sum()),
    }


@memoize
def missing_page(
    db: Database,
    filters: Filters,
    day: date,
    params: HygieneParams = HygieneParams(),
    owner: str = "",
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of the renewals failing a check, sorted server-side (default: by owner, then
    the soonest renewal date).

    Columns: renewal_id, account_id, name, owner_csm_id, owner_name, team, renewal_date,
    overdue, arr_up, failing_count, fail_<check> for every check.
    """
    sql, bind = _missing_sql(db, filters, day, params, owner)
    order = order_by(sort, SORTABLE, DEFAULT_ORDER, "hy.renewal_id")
    fails = ", ".join(f"hy.fail_{k}" for k in HYGIENE_CHECKS)
    return db.query(
        f"""{sql}
        SELECT hy.renewal_id, hy.account_id, hy.name, hy.owner_csm_id, hy.owner_name, hy.team,
               hy.renewal_date, hy.overdue, hy.arr_up, hy.failing_count, {fails}
        FROM shown hy
        ORDER BY {order}
        LIMIT ? OFFSET ?
        """,
        [*bind, *page_bounds(start, limit)],
    )
