"""The renewal list, one row per renewal, in two modes (URL `status=`):

- closed (the default): closed renewals of the 4 quarters to the as-of date, the drill-down
  target of the Health model page (the renewals behind a bar). Its rows are the backtest's own
  (`health_backtest.scored_renewals_sql`): the band and score on the scoring date under the
  model in force or a proposed one, so a drilled list has exactly the bar's n.
- open: the renewals open on the as-of date (`services.open_renewals`), the drill-down target of
  the Renewals page. `OpenDrill` narrows them to a renewal-date range, a call, at risk, a risk
  reason, overdue, or failing a hygiene check, with the very expressions the Renewals charts
  group by (`services.renewal_pipeline`), so a drilled list has exactly the bar's count and ARR.
- backtest (`backtest=<quarter key>`, e.g. 2026-Q3): the renewals behind a quarter of the
  Forecast tab's accuracy table, the rows of the build-time `forecast_backtest`
  (`forecast_accuracy.backtest_rows_sql`), so its totals are that quarter's numbers.

All are paged and sorted in SQL (allow-listed sort), with totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.errors import InvalidFilter
from services.filters import Filters, parse_date
from services.filters import parse_sort as filters_parse_sort
from services.forecast_accuracy import Quarter, backtest_dates, backtest_rows_sql
from services.health_backtest import CURRENT, scored_renewals_sql
from services.health_model import BANDS, HealthParams
from services.renewal_hygiene import HYGIENE_CHECKS, known_checks
from services.renewal_pipeline import (
    CALLS,
    RENEWAL_COLUMNS,
    add_months,
    call_sql,
    open_relation,
    reason_sql,
    with_driver,
)
from services.sql_fragments import order_by, page_bounds

OUTCOMES = ("renewed", "expanded", "contracted", "churned")
# Sortable columns: grid field -> SQL expression (the only text that reaches ORDER BY).
SORTABLE = {
    "renewal_date": "rs.renewal_date",
    "name": "rs.name",
    "outcome": "rs.outcome",
    "arr_up": "rs.arr_up",
    "arr_lost": "rs.arr_lost",
    "band": "rs.band",
    "score": "rs.score",
    "scored_on": "rs.scored_on",
    "owner_name": "rs.owner_name",
    "segment": "rs.segment",
}
DEFAULT_ORDER = "rs.arr_lost DESC, rs.arr_up DESC"  # the biggest losses first
MAX_SORT_KEYS = 3


def _first(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    value = value[0] if isinstance(value, list | tuple) and value else value
    return str(value or "").strip().lower()[:40]


@dataclass(frozen=True)
class RenewalDrill:
    """What a clicked number stands for: a band on the scoring date, an outcome, losses only."""

    band: str = ""
    outcome: str = ""
    lost_only: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RenewalDrill:
        """From URL parameters `band`, `outcome`, `lost=1`; an unknown value raises InvalidFilter."""
        band, outcome, lost = (
            _first(params, "band"),
            _first(params, "outcome"),
            _first(params, "lost"),
        )
        if band and band not in BANDS:
            raise InvalidFilter(f"Unknown health band {band!r}: use green, yellow or red.")
        if outcome and outcome not in OUTCOMES:
            raise InvalidFilter(
                f"Unknown outcome {outcome!r}: use renewed, expanded, contracted or churned."
            )
        if lost not in ("", "0", "1"):
            raise InvalidFilter(f"Unknown value {lost!r} for 'lost': use 1.")
        return cls(band=band, outcome=outcome, lost_only=lost == "1")

    def to_params(self) -> dict[str, str]:
        return {"band": self.band, "outcome": self.outcome, "lost": "1" if self.lost_only else ""}

    def where(self) -> tuple[str, list[Any]]:
        clauses, bind = ["TRUE"], []
        if self.band:
            clauses.append("rs.band = ?")
            bind.append(self.band)
        if self.outcome:
            clauses.append("rs.outcome = ?")
            bind.append(self.outcome)
        if self.lost_only:
            clauses.append("rs.lost")
        return " AND ".join(clauses), bind


def parse_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The list's sort from `field:asc|desc` URL values (allow-listed; see filters.parse_sort)."""
    return filters_parse_sort(values, SORTABLE, MAX_SORT_KEYS)


def renewal_account(db: Database, filters: Filters, renewal_id: str) -> str | None:
    """The account a renewal belongs to, None for an unknown id or an account outside `filters`
    (a viewer's scope included): a list row opens that account's 360.

    Not memoised: the id comes from the client, one lookup per click.
    """
    where, scope = filters.where("ad")
    df = db.query(
        f"""
        SELECT r.account_id FROM renewals r JOIN account_dim ad ON ad.account_id = r.account_id
        WHERE r.renewal_id = ? AND {where}
        """,
        [str(renewal_id), *scope],
    )
    return None if df.empty else str(df.iloc[0]["account_id"])


def _shown(
    filters: Filters, drill: RenewalDrill, as_of: date, params: HealthParams
) -> tuple[str, list[Any]]:
    sql, bind = scored_renewals_sql(filters, as_of, params)
    where, dbind = drill.where()
    return f"{sql}, shown AS (SELECT * FROM rs WHERE {where})", [*bind, *dbind]


@memoize
def renewal_totals(
    db: Database,
    filters: Filters,
    drill: RenewalDrill,
    as_of: date,
    params: HealthParams = CURRENT,
) -> dict[str, float]:
    """Count, Σ ARR up and Σ ARR lost of the renewals the list shows (before paging)."""
    sql, bind = _shown(filters, drill, as_of, params)
    df = db.query(
        f"""{sql}
        SELECT COUNT(*) AS renewals, COALESCE(SUM(arr_up), 0) AS arr_up,
               COALESCE(SUM(arr_lost), 0) AS arr_lost
        FROM shown
        """,
        bind,
    )
    row = df.iloc[0]
    return {
        "renewals": int(row["renewals"]),
        "arr_up": float(row["arr_up"]),
        "arr_lost": float(row["arr_lost"]),
    }


@memoize
def renewal_page(
    db: Database,
    filters: Filters,
    drill: RenewalDrill,
    as_of: date,
    params: HealthParams = CURRENT,
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of the list, sorted server-side (default: the biggest ARR lost first).

    Columns: renewal_id, account_id, name, segment, owner_name, renewal_date, closed_date,
    outcome, arr_up, arr_lost, scored_on, score, band.
    """
    sql, bind = _shown(filters, drill, as_of, params)
    order = order_by(sort, SORTABLE, DEFAULT_ORDER, "rs.renewal_id")
    return db.query(
        f"""{sql}
        SELECT rs.renewal_id, rs.account_id, rs.name, rs.segment, rs.owner_name,
               rs.renewal_date, rs.closed_date, rs.outcome, rs.arr_up, rs.arr_lost,
               rs.scored_on, rs.score, rs.band
        FROM shown rs
        ORDER BY {order}
        LIMIT ? OFFSET ?
        """,
        [*bind, *page_bounds(start, limit)],
    )


# ---- open renewals (status=open) ----------------------------------------------------------------
STATUSES = ("closed", "open")
BACKTEST_PARAM = "backtest"
# URL parameters of each mode: a parameter of the other mode is refused with a message.
CLOSED_PARAMS = ("band", "outcome", "lost", "w", "green", "yellow")
OPEN_PARAMS = ("from", "to", "category", "risk", "reason", "overdue", "missing")
MISSING_ANY = "any"  # failing any hygiene check known on the day
MAX_REASON_LENGTH = 200
_ORDINAL = {
    "call": "CASE o.call " + " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(CALLS)) + " END",
    "band": "CASE o.band WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 WHEN 'green' THEN 2 END",
    "close_plan": "CASE o.close_plan WHEN 'no' THEN 0 WHEN 'unknown' THEN 1 ELSE 2 END",
}
OPEN_SORTABLE = {
    "name": "o.name",
    "owner_name": "o.owner_name",
    "renewal_date": "o.renewal_date",
    "arr_up": "o.arr_up",
    "call": _ORDINAL["call"],
    "reason": "o.reason",
    "close_plan": _ORDINAL["close_plan"],
    "band": _ORDINAL["band"],
    "health_score": "o.health_score",
    "segment": "o.segment",
    "overdue": "o.overdue",
}
OPEN_DEFAULT_ORDER = "o.arr_up DESC, o.renewal_date ASC"  # the biggest renewals first


def _values(params: Mapping[str, Any], key: str) -> list[str]:
    value = params.get(key)
    values = value if isinstance(value, list | tuple) else [value]
    return [str(v).strip() for v in values if v is not None and str(v).strip() != ""]


def parse_status(params: Mapping[str, Any]) -> str:
    """'closed' (the default), 'open', or 'backtest' (a `backtest=` quarter given); refuses
    another status and the other modes' parameters with a message saying what to use."""
    if _values(params, BACKTEST_PARAM):
        used = next(
            (k for k in ("status", *CLOSED_PARAMS, *OPEN_PARAMS) if _values(params, k)), None
        )
        if used:
            raise InvalidFilter(
                f"'{used}' does not apply to the renewals behind a forecast backtest quarter "
                "(backtest=): remove one or the other."
            )
        return "backtest"
    status = _first(params, "status") or "closed"
    if status not in STATUSES:
        raise InvalidFilter(f"Unknown status {status!r}: use open or closed.")
    other = CLOSED_PARAMS if status == "open" else OPEN_PARAMS
    used = next((k for k in other if _values(params, k)), None)
    if used and status == "open":
        raise InvalidFilter(
            f"'{used}' applies to closed renewals only; this is the list of open renewals "
            "(status=open)."
        )
    if used:
        raise InvalidFilter(f"'{used}' applies to open renewals only: add status=open.")
    return status


def _flag(params: Mapping[str, Any], key: str) -> bool:
    value = _first(params, key)
    if value not in ("", "0", "1"):
        raise InvalidFilter(f"Unknown value {value!r} for '{key}': use 1.")
    return value == "1"


@dataclass(frozen=True)
class OpenDrill:
    """What a clicked number on the Renewals page stands for, among the renewals open on the
    day: renewal dates in [first, last] (either end optional), a call ('none': no call known),
    at risk only, a risk reason key (`services.renewal_pipeline.reason_sql`), overdue only,
    failing hygiene checks (`missing`: any of them; 'any' = any check known on the day)."""

    first: date | None = None
    last: date | None = None
    category: str = ""
    at_risk: bool = False
    reason: str = ""
    overdue: bool = False
    missing: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> OpenDrill:
        """From URL parameters from, to, category, risk=1, reason, overdue=1, missing; a bad
        value raises InvalidFilter with a sentence saying what to use."""
        first = parse_date(params.get("from"), "from")
        last = parse_date(params.get("to"), "to")
        if first and last and first > last:
            raise InvalidFilter(
                f"The renewal dates run backwards: 'from' ({first:%d %b %Y}) is after 'to' "
                f"({last:%d %b %Y})."
            )
        category = _first(params, "category")
        if category and category not in CALLS:
            raise InvalidFilter(
                f"Unknown call {category!r} for 'category': use commit, probable, at_risk, "
                "churn or none (no call)."
            )
        reason = (_values(params, "reason") or [""])[0]
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidFilter(
                f"The risk reason is too long ({len(reason):,} characters; at most "
                f"{MAX_REASON_LENGTH})."
            )
        missing = tuple(sorted({v.lower()[:40] for v in _values(params, "missing")}))
        unknown = [m for m in missing if m not in HYGIENE_CHECKS and m != MISSING_ANY]
        if unknown:
            keys = ", ".join(HYGIENE_CHECKS)
            raise InvalidFilter(f"Unknown check {unknown[0]!r} for 'missing': use {keys} or any.")
        return cls(
            first=first,
            last=last,
            category=category,
            at_risk=_flag(params, "risk"),
            reason=reason,
            overdue=_flag(params, "overdue"),
            missing=missing,
        )

    def to_params(self) -> dict[str, Any]:
        return {
            "status": "open",
            "from": self.first.isoformat() if self.first else "",
            "to": self.last.isoformat() if self.last else "",
            "category": self.category,
            "risk": "1" if self.at_risk else "",
            "reason": self.reason,
            "overdue": "1" if self.overdue else "",
            "missing": list(self.missing),
        }

    def checks(self, known: tuple[str, ...], day: date) -> tuple[str, ...]:
        """The hygiene checks the drill asks for among those `known` on `day` ('any' = every
        one of them); asking for a check not known on `day` is refused with a message (the close
        plan before the data's date; the call before the call history starts)."""
        if MISSING_ANY in self.missing:
            return known
        unknown = [m for m in self.missing if m not in known]
        if unknown:
            label = HYGIENE_CHECKS[unknown[0]][0]
            raise InvalidFilter(
                f"'{label}' cannot be listed on {day:%d %b %Y}: what it checks is not known on "
                "that date."
            )
        return self.missing

    def where(self, checks: tuple[str, ...] = ()) -> tuple[str, list[Any]]:
        """SQL condition over the columns of `open_renewals`, plus its bound parameters."""
        clauses, bind = ["TRUE"], []
        if self.first:
            clauses.append("renewal_date >= ?")
            bind.append(self.first)
        if self.last:
            clauses.append("renewal_date <= ?")
            bind.append(self.last)
        if self.category:
            clauses.append(f"{call_sql()} = ?")
            bind.append(self.category)
        if self.at_risk:
            clauses.append("at_risk")
        if self.reason:
            clauses.append(f"{reason_sql()} = ?")
            bind.append(self.reason)
        if self.overdue:
            clauses.append("overdue")
        if self.missing:  # failing any of `checks` (none known: nothing fails)
            fails = [HYGIENE_CHECKS[k][1] for k in checks] or ["FALSE"]
            clauses.append("(" + " OR ".join(fails) + ")")
        return " AND ".join(clauses), bind


def parse_open_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The open list's sort from `field:asc|desc` URL values (allow-listed)."""
    return filters_parse_sort(values, OPEN_SORTABLE, MAX_SORT_KEYS)


def _open_shown(
    db: Database, filters: Filters, drill: OpenDrill, day: date
) -> tuple[str, list[Any]]:
    """WITH ... `o`: the open renewals on `day` the drill selects, with call, reason and close
    plan as keys."""
    sql, bind = open_relation(db, filters, day)
    where, dbind = drill.where(drill.checks(known_checks(db, filters, day), day))
    return (
        f"{sql}, o AS (SELECT {RENEWAL_COLUMNS} FROM open_renewals WHERE {where})",
        [*bind, *dbind],
    )


@memoize
def open_renewal_totals(
    db: Database, filters: Filters, drill: OpenDrill, day: date
) -> dict[str, float]:
    """Count and Σ ARR up of the open renewals the list shows (before paging), and the part of
    them at risk."""
    sql, bind = _open_shown(db, filters, drill, day)
    row = db.query(
        f"""{sql}
        SELECT COUNT(*) AS renewals, COALESCE(SUM(arr_up), 0) AS arr_up,
               COUNT(*) FILTER (WHERE at_risk) AS at_risk_renewals,
               COALESCE(SUM(arr_up) FILTER (WHERE at_risk), 0) AS at_risk_arr
        FROM o
        """,
        bind,
    ).iloc[0]
    return {
        "renewals": int(row["renewals"]),
        "arr_up": float(row["arr_up"]),
        "at_risk_renewals": int(row["at_risk_renewals"]),
        "at_risk_arr": float(row["at_risk_arr"]),
    }


@memoize
def open_renewal_page(
    db: Database,
    filters: Filters,
    drill: OpenDrill,
    day: date,
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of the open list, sorted server-side (default: the biggest ARR up first).

    Columns: renewal_id, account_id, name, segment, owner_name, renewal_date, overdue, arr_up,
    call, reason, close_plan, health_score, band, at_risk, driver.
    """
    sql, bind = _open_shown(db, filters, drill, day)
    order = order_by(sort, OPEN_SORTABLE, OPEN_DEFAULT_ORDER, "o.renewal_id")
    df = db.query(
        f"""{sql}
        SELECT * FROM o
        ORDER BY {order}
        LIMIT ? OFFSET ?
        """,
        [*bind, *page_bounds(start, limit)],
    )
    return with_driver(df)


# ---- a forecast backtest quarter (backtest=<quarter key>) -----------------------------------------
_CALL_ORDER = ("commit", "probable", "at_risk", "churn", "none")
BACKTEST_SORTABLE = {
    "name": "bt.name",
    "owner_name": "bt.owner_name",
    "segment": "bt.segment",
    "renewal_date": "bt.renewal_date",
    "arr_up": "bt.arr_up",
    "band": _ORDINAL["band"].replace("o.", "bt."),
    "p": "bt.p",
    "expected": "bt.expected",
    "call": "CASE bt.call "
    + " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(_CALL_ORDER))
    + " END",
    "kept": "bt.kept",
    "outcome": "bt.outcome",
}
BACKTEST_DEFAULT_ORDER = "bt.arr_up DESC, bt.renewal_date ASC"  # the biggest renewals first


def backtest_quarter(
    db: Database, filters: Filters, params: Mapping[str, Any], as_of: date
) -> Quarter:
    """The quarter of `backtest=` (e.g. 2026-Q3): one the database holds forecasts for and that
    had ended by `as_of` (a view of an earlier day does not see a later quarter's backtest);
    otherwise InvalidFilter with the quarters there are."""
    key = (_values(params, BACKTEST_PARAM) or [""])[0][:20]
    quarter = Quarter.from_key(key)
    if quarter is None:
        raise InvalidFilter(f"Unknown quarter {key!r} for 'backtest': use a quarter like 2026-Q3.")
    held = [
        q
        for q in (Quarter(s, add_months(s, 3)) for s in sorted(backtest_dates(db, filters)))
        if q.end <= as_of
    ]
    if quarter not in held:
        known = ", ".join(q.label for q in held) or "none"
        raise InvalidFilter(
            f"There is no forecast backtest for {quarter.label} on {as_of:%d %b %Y}: the "
            f"quarters backtested by then are {known}."
        )
    return quarter


def parse_backtest_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The backtest list's sort from `field:asc|desc` URL values (allow-listed)."""
    return filters_parse_sort(values, BACKTEST_SORTABLE, MAX_SORT_KEYS)


@memoize
def backtest_totals(
    db: Database, filters: Filters, quarter: Quarter, as_of: date
) -> dict[str, float | None]:
    """Count, Σ ARR up, Σ expected (the model), Σ ARR kept and the renewals still open on
    `as_of`: the quarter's numbers in the accuracy table."""
    sql, bind = backtest_rows_sql(filters, quarter, as_of)
    row = db.query(
        f"""{sql}
        SELECT COUNT(*) AS renewals, COALESCE(SUM(arr_up), 0) AS arr_up,
               SUM(expected) AS expected, COALESCE(SUM(kept), 0) AS kept,
               COUNT(*) FILTER (WHERE outcome = 'open') AS still_open,
               MIN(forecast_on) AS forecast_on
        FROM bt
        """,
        bind,
    ).iloc[0]
    expected = row["expected"]
    return {
        "renewals": int(row["renewals"]),
        "arr_up": float(row["arr_up"]),
        "expected": None if pd.isna(expected) else float(expected),
        "kept": float(row["kept"]),
        "still_open": int(row["still_open"]),
    }


@memoize
def backtest_page(
    db: Database,
    filters: Filters,
    quarter: Quarter,
    as_of: date,
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of the backtest list, sorted server-side (default: the biggest ARR up first).

    Columns: renewal_id, account_id, name, owner_name, segment, renewal_date, arr_up, band, p,
    expected, call, kept, outcome, forecast_on.
    """
    sql, bind = backtest_rows_sql(filters, quarter, as_of)
    order = order_by(sort, BACKTEST_SORTABLE, BACKTEST_DEFAULT_ORDER, "bt.renewal_id")
    return db.query(
        f"""{sql}
        SELECT * FROM bt
        ORDER BY {order}
        LIMIT ? OFFSET ?
        """,
        [*bind, *page_bounds(start, limit)],
    )
