"""Forecast accuracy: for each of the last 4 closed quarters, the forecasts as they stood at the
quarter's start beside what the renewals actually kept (issue #7 item 4).

For a calendar quarter [start, end) the forecast date is the last weekly snapshot on or before
its first day (at most 6 days earlier: health is scored weekly). On that date, with only what
was known then:

- the model (`services.renewal_forecast`): rates fitted on the renewals closed by then, the
  health band on that snapshot, applied to the renewals open then with a renewal date in the
  quarter (known then: their contract had started; overdue ones are not the quarter's); its
  80% range as on the Forecast tab;
- the CSMs' call: ARR up of those renewals called commit or probable in the call history as of
  that date (`calls_on_sql`); without a call history in the data there is none to show;
- a naive baseline: the overall renewal rate (ARR) of the renewals closed in the 4 quarters
  before that date, times the ARR up.

The actual is the ARR those renewals kept (min(renewed ARR, ARR up), churned 0) as known on the
view's as-of date: a renewal that closed after the quarter's end counts at its outcome (the
forecasts are of whether renewals renew, as the rates are, not of when they close); one still
open on the as-of date counts as not kept, and the page says how many there are.

The per-renewal forecasts are computed when the database is built (`create_forecast_backtest`:
8 quarters, the table `forecast_backtest`); a request sums them under the filters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.renewal_forecast import (
    CALLED,
    ModelSettings,
    create_forecast_weekly,
    fit_rates,
    forecast_sql,
    model_settings,
    range_of,
    retained_arr_sql,
)
from services.renewal_pipeline import add_months, quarter_start
from services.settings import load_settings
from services.sql_fragments import year_before

BASELINE_QUARTERS = 4  # "last year's renewal rate"
SHOWN_QUARTERS = 4
STORED_QUARTERS = 8  # enough for every as-of date the picker offers (about 2 quarters back)
METHODS = ("model", "call", "baseline")
METHOD_LABELS = {
    "model": "Model",
    "call": "CSM call (commit + probable)",
    "baseline": "Last year's rate",
    "actual": "Actual kept",
}


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter [start, end)."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def key(self) -> str:
        """The quarter in a URL: '2026-Q3' (the renewal list's `backtest=`)."""
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @classmethod
    def from_key(cls, key: str) -> Quarter | None:
        """The quarter of a key '2026-Q3' (case and the dash optional); None if malformed."""
        m = re.fullmatch(r"(\d{4})-?q([1-4])", key.strip().lower())
        if not m:
            return None
        start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
        return cls(start, add_months(start, 3))


def closed_quarters(day: date, n: int = SHOWN_QUARTERS) -> list[Quarter]:
    """The last `n` calendar quarters that ended on or before `day`, oldest first."""
    current = quarter_start(day)
    return [
        Quarter(add_months(current, -3 * k), add_months(current, -3 * (k - 1)))
        for k in range(n, 0, -1)
    ]


# ---- build time ----------------------------------------------------------------------------------
BACKTEST_COLUMNS = """
    quarter_start DATE, quarter_end DATE, forecast_on DATE, renewal_id VARCHAR,
    account_id VARCHAR, arr_up DOUBLE, p DOUBLE, level VARCHAR, baseline_p DOUBLE,
    forecast_category VARCHAR, closed_on DATE, retained DOUBLE
"""


def quarter_rows_sql(
    quarter: Quarter, forecast_on: date, settings: ModelSettings, run
) -> tuple[str, list[Any]]:
    """SELECT of one quarter's rows of `forecast_backtest` (forecasts made on `forecast_on`)."""
    rates = fit_rates(run, forecast_on, settings)
    baseline = fit_rates(run, forecast_on, ModelSettings(BASELINE_QUARTERS, 1)).overall
    sql, bind = forecast_sql(Filters(), forecast_on, rates, quarter.start, quarter.end)
    return (
        f"""SELECT * FROM ({sql}
        SELECT CAST(? AS DATE) AS quarter_start, CAST(? AS DATE) AS quarter_end,
               CAST(? AS DATE) AS forecast_on, f.renewal_id, f.account_id, f.arr_up, f.p,
               f.level, CAST(? AS DOUBLE) AS baseline_p, f.forecast_category,
               CASE WHEN r.outcome <> 'open' THEN COALESCE(r.closed_date, r.renewal_date) END
                   AS closed_on,
               CASE WHEN r.outcome <> 'open' THEN {retained_arr_sql("r")} ELSE 0 END AS retained
        FROM forecast f JOIN renewals r ON r.renewal_id = f.renewal_id)
        """,
        [*bind, quarter.start, quarter.end, forecast_on, baseline],
    )


def offered_dates(grid: list[date], lead_days: int) -> list[date]:
    """The snapshot dates the as-of picker offers: `services.asof.earliest_complete_as_of`'s
    rule on the build's grid (a test checks the two agree)."""
    complete = [d for d in grid if year_before(d) + timedelta(days=1 - lead_days) >= grid[0]]
    return complete or grid[-1:]


def create_forecast_tables(con, as_of: date) -> None:
    """Everything the Forecast & accuracy tab reads, built with the database: the forecast on
    every date the picker offers (`renewal_forecast.create_forecast_weekly`) and the backtest
    (`create_forecast_backtest`)."""
    grid = [
        r[0] for r in con.execute("SELECT snapshot_date FROM snapshot_dates ORDER BY 1").fetchall()
    ]
    # While a build derives its tables `meta` is empty, so `calls_on_sql` would read the call
    # history even on the build's own date, where the call is the renewal's own fields: the
    # build's as-of is stated for the while.
    con.execute(
        "INSERT INTO meta (build_id, built_at, as_of_date, schema_version) "
        "VALUES ('deriving-forecast', now(), ?, 0)",
        [as_of],
    )
    try:
        if grid:
            create_forecast_weekly(con, offered_dates(grid, load_settings().validation_lead_days))
        create_forecast_backtest(con, as_of)
    finally:
        con.execute("DELETE FROM meta WHERE build_id = 'deriving-forecast'")


def create_forecast_backtest(con, as_of: date) -> None:
    """`forecast_backtest`: per closed quarter of the last STORED_QUARTERS before `as_of` whose
    start the weekly grid reaches, each renewal the forecasts covered, with its rate (`p`, and
    the `level` it came from), the baseline rate, the call, and its outcome (closed_on, retained)."""

    def run(sql: str, params: list[Any]) -> pd.DataFrame:
        return con.execute(sql, params).df()

    settings = model_settings()
    grid = [
        r[0] for r in con.execute("SELECT snapshot_date FROM snapshot_dates ORDER BY 1").fetchall()
    ]
    con.execute("DROP TABLE IF EXISTS forecast_backtest")
    con.execute(f"CREATE TABLE forecast_backtest ({BACKTEST_COLUMNS})")
    con.execute("DROP TABLE IF EXISTS forecast_backtest_quarters")
    con.execute(
        "CREATE TABLE forecast_backtest_quarters "
        "(quarter_start DATE, quarter_end DATE, forecast_on DATE)"
    )
    for quarter in closed_quarters(as_of, STORED_QUARTERS):
        on = [d for d in grid if d <= quarter.start]
        if not on or (quarter.start - on[-1]).days >= 7:
            continue  # the grid does not reach this quarter's start
        sql, bind = quarter_rows_sql(quarter, on[-1], settings, run)
        con.execute("INSERT INTO forecast_backtest " + sql, bind)
        con.execute(
            "INSERT INTO forecast_backtest_quarters VALUES (?, ?, ?)",
            [quarter.start, quarter.end, on[-1]],
        )


# ---- request time --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Accuracy:
    """The backtest as of a day: one row per quarter (oldest first) and the verdict."""

    as_of: date
    quarters: pd.DataFrame
    has_history: bool  # the data has a call history (else the CSM call cannot be backtested)

    @property
    def hits(self) -> int:
        return int(self.quarters["hit"].fillna(False).astype(bool).sum())

    @property
    def judged(self) -> int:
        return int(self.quarters["hit"].notna().sum())

    def totals(self) -> dict[str, dict[str, float | None]]:
        """Per method over the quarters it has a forecast for: Σ |error|, Σ actual, and the
        weighted absolute % error Σ |error| / Σ actual."""
        cached = self.__dict__.get("_totals")
        if cached is not None:  # asked three times per redraw; the quarters never change
            return cached
        out = {}
        for m in METHODS:
            q = self.quarters[self.quarters[m].notna() & (self.quarters["renewals"] > 0)]
            err = float((q[m] - q["actual"]).abs().sum()) if not q.empty else None
            actual = float(q["actual"].sum()) if not q.empty else None
            out[m] = {
                "quarters": len(q),
                "abs_error": err,
                "actual": actual,
                "wape": err / actual if err is not None and actual else None,
            }
        object.__setattr__(self, "_totals", out)
        return out

    def closest(self) -> str | None:
        """The method with the smallest total absolute error over the quarters every method
        has a forecast for (None when nothing can be compared)."""
        totals = self.totals()
        scored = [(t["abs_error"], m) for m, t in totals.items() if t["abs_error"] is not None]
        full = [
            (e, m)
            for e, m in scored
            if totals[m]["quarters"] == max(t["quarters"] for t in totals.values())
        ]
        return min(full)[1] if full else None


def _has_call_history(db: Database) -> bool:
    return bool(db.scalar("SELECT COUNT(*) > 0 FROM renewal_forecast_history"))


@memoize
def accuracy_cells(db: Database, filters: Filters, as_of: date) -> pd.DataFrame:
    """The stored forecasts of the last SHOWN_QUARTERS closed quarters summed per quarter under
    `filters`, the actual as known on `as_of`."""
    where, scope = filters.where("ad")
    starts = [q.start for q in closed_quarters(as_of)]
    calls = ", ".join(f"'{c}'" for c in CALLED)
    return db.query(
        f"""
        SELECT fb.quarter_start, COUNT(*) AS renewals,
               COALESCE(SUM(fb.arr_up), 0) AS arr_up,
               SUM(fb.arr_up * fb.p) AS model,
               SUM(fb.arr_up * fb.arr_up * fb.p * (1 - fb.p)) AS variance,
               SUM(fb.arr_up * fb.baseline_p) AS baseline,
               COALESCE(SUM(fb.arr_up) FILTER (WHERE fb.forecast_category IN ({calls})), 0)
                   AS call,
               COUNT(fb.forecast_category) AS calls_known,
               COALESCE(SUM(fb.retained) FILTER (WHERE fb.closed_on <= ?), 0) AS actual,
               COUNT(*) FILTER (WHERE fb.closed_on IS NULL OR fb.closed_on > ?) AS still_open,
               COALESCE(SUM(fb.arr_up) FILTER (WHERE fb.closed_on IS NULL OR fb.closed_on > ?), 0)
                   AS still_open_arr,
               COUNT(*) FILTER (WHERE fb.level = 'group') AS at_group
        FROM forecast_backtest fb JOIN account_dim ad ON ad.account_id = fb.account_id
        WHERE {where} AND list_contains(CAST(? AS DATE[]), fb.quarter_start)
        GROUP BY fb.quarter_start
        """,
        [as_of, as_of, as_of, *scope, starts],
    )


@memoize
def backtest_dates(db: Database, filters: Filters) -> dict[date, date]:
    """Quarter start -> forecast date of every quarter the database holds forecasts for
    (whatever the filters: which quarters were computed does not depend on the view)."""
    del filters
    df = db.query("SELECT quarter_start, forecast_on FROM forecast_backtest_quarters")
    return {
        pd.Timestamp(s).date(): pd.Timestamp(f).date()
        for s, f in zip(df["quarter_start"], df["forecast_on"], strict=True)
    }


def backtest_rows_sql(filters: Filters, quarter: Quarter, as_of: date) -> tuple[str, list[Any]]:
    """`WITH bt AS (...)` + parameters: one row per renewal behind a quarter of the accuracy
    table under `filters` (the rows `accuracy_cells` sums, so the list's totals are its
    numbers): renewal_id, account_id, name, owner_name, segment, renewal_date, arr_up, band (on
    the forecast date, the band the model used), p (model rate), expected (arr_up × p), call
    (the CSM call then; 'none': no call known), kept (the ARR kept as known on `as_of`; 0 while
    open), outcome (as known on `as_of`: 'open' until it closed), forecast_on."""
    where, scope = filters.where("ad")
    return (
        f"""
        WITH bt AS (
            SELECT fb.renewal_id, fb.account_id, ad.name, ad.owner_name, ad.segment,
                   r.renewal_date, fb.arr_up, h.band, fb.p, fb.arr_up * fb.p AS expected,
                   COALESCE(fb.forecast_category, 'none') AS call,
                   CASE WHEN fb.closed_on <= ? THEN fb.retained ELSE 0 END AS kept,
                   CASE WHEN fb.closed_on <= ? THEN r.outcome ELSE 'open' END AS outcome,
                   fb.forecast_on
            FROM forecast_backtest fb
            JOIN account_dim ad ON ad.account_id = fb.account_id
            JOIN renewals r ON r.renewal_id = fb.renewal_id
            LEFT JOIN (  -- the snapshot of the forecast date only (read before the join)
                SELECT account_id, band FROM health_snapshots
                WHERE snapshot_date = (SELECT forecast_on FROM forecast_backtest_quarters
                                       WHERE quarter_start = ?)
            ) h ON h.account_id = fb.account_id
            WHERE {where} AND fb.quarter_start = ?
        )""",
        [as_of, as_of, quarter.start, *scope, quarter.start],
    )


def forecast_accuracy(db: Database, filters: Filters, as_of: date) -> Accuracy:
    """Model, CSM call and baseline against the actual, per closed quarter (oldest first).

    Columns: label, start, last, forecast_on, available (the database holds this quarter),
    renewals, arr_up, model, low, high, call (NaN: no call known), calls_known, baseline,
    actual, still_open, still_open_arr, hit (the actual within the model's 80% range; None
    when not judged), and per method `<m>_error` (forecast − actual) and `<m>_error_pct`.
    """
    cells = accuracy_cells(db, filters, as_of).copy()
    cells["quarter_start"] = [pd.Timestamp(d).date() for d in cells["quarter_start"]]
    per = cells.set_index("quarter_start")
    stored = backtest_dates(db, filters)
    history = _has_call_history(db)
    rows = []
    for q in closed_quarters(as_of):
        row: dict[str, Any] = {
            "label": q.label,
            "start": q.start,
            "last": q.last,
            "available": q.start in stored,
        }
        if q.start in per.index:
            c = per.loc[q.start]
            row.update({k: c[k] for k in per.columns})
            row["forecast_on"] = stored.get(q.start)
        else:
            row.update(
                forecast_on=stored.get(q.start),
                renewals=0,
                arr_up=0.0,
                model=0.0 if q.start in stored else math.nan,
                variance=0.0,
                baseline=0.0 if q.start in stored else math.nan,
                call=0.0,
                calls_known=0,
                actual=0.0,
                still_open=0,
                still_open_arr=0.0,
                at_group=0,
            )
        model = None if pd.isna(row["model"]) else float(row["model"])
        row["low"], row["high"] = range_of(model, float(row["variance"] or 0), float(row["arr_up"]))
        if not history or not row["calls_known"]:
            row["call"] = math.nan
        row["hit"] = (
            None
            if model is None or not row["renewals"]
            else bool(row["low"] - 1e-6 <= row["actual"] <= row["high"] + 1e-6)
        )
        for m in METHODS:
            value = row[m]
            if value is None or pd.isna(value) or not row["renewals"]:
                row[f"{m}_error"] = math.nan
                row[f"{m}_error_pct"] = math.nan
            else:
                row[f"{m}_error"] = float(value) - float(row["actual"])
                row[f"{m}_error_pct"] = (
                    row[f"{m}_error"] / float(row["actual"]) if row["actual"] else math.nan
                )
        rows.append(row)
    return Accuracy(as_of, pd.DataFrame(rows), history)
