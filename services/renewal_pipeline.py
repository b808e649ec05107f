"""The renewal pipeline on a day: what is up for renewal when, under which CSM call, what is at
risk and why, and the biggest renewals at risk (issue #7, items 1 and 2).

Everything starts from `services.open_renewals.open_renewals_sql`: the renewals open on the day
(known then, not closed by then) with the call known then, the health snapshot of the day and
the at-risk rule (ARCHITECTURE §4: call at_risk/churn or band red). The window is the 4 calendar
quarters from the day's quarter on (`horizon_end`), plus the overdue renewals: open on the day
although their date has passed (real renewals run late; they are listed, never dropped).

One grouped query per view (`pipeline_cells`) feeds the calendar, the at-risk chart and the KPIs,
so their numbers agree by construction; the renewal list (`services.renewal_list`, open mode)
filters the same relation with the same expressions, so a drilled list has the clicked count.

The relation is stored with the database for every date the as-of picker offers
(`create_pipeline_tables`: table `pipeline_open`, the open renewals of each such day with their
call, health and at-risk flag) and read from there (`open_relation`); another day, or a database
built without the table, computes it live with `open_renewals_sql`. A test checks both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.fiscal import add_months
from services.health_model import COMPONENTS, HealthParams, health_params
from services.open_renewals import AT_RISK_CALLS, open_renewals_sql
from services.settings import load_settings

HORIZON_QUARTERS = 4  # the calendar: the day's quarter and the 3 after it
CATEGORIES = ("commit", "probable", "at_risk", "churn")
NOT_CALLED = "none"  # the key of a renewal without a call known on the day
CALLS = (*CATEGORIES, NOT_CALLED)
# Reason keys of at-risk renewals without a risk reason (any other key is the reason's text).
REASON_HEALTH_RED = "_health_red"  # at risk only because health is red, no reason given
REASON_NONE = "_none"  # called at risk or churn, no reason given
GRAINS = ("quarter", "month")
TOP_AT_RISK = 10
OVERDUE = "overdue"


# ---- SQL over the columns of `open_renewals` -----------------------------------------------------
def call_sql() -> str:
    """The call as a key: the category known on the day, 'none' when none was known."""
    return f"COALESCE(forecast_category, '{NOT_CALLED}')"


def reason_sql() -> str:
    """The risk reason of an at-risk renewal as a key: its text (trimmed) when given; else
    '_health_red' when it is at risk only because health is red, '_none' when the CSM called it
    at risk or churn without a reason. NULL for a renewal not at risk without a reason."""
    calls = ", ".join(f"'{c}'" for c in AT_RISK_CALLS)
    return f"""CASE
        WHEN NULLIF(TRIM(risk_reason), '') IS NOT NULL THEN TRIM(risk_reason)
        WHEN at_risk AND NOT COALESCE(forecast_category IN ({calls}), FALSE)
            THEN '{REASON_HEALTH_RED}'
        WHEN at_risk THEN '{REASON_NONE}'
    END"""


def close_plan_sql() -> str:
    """'yes', 'no' or 'unknown' (the close plan is known only on the build's as-of date)."""
    return (
        "CASE WHEN has_close_plan THEN 'yes' WHEN NOT has_close_plan THEN 'no' ELSE 'unknown' END"
    )


# ---- the window and its buckets ------------------------------------------------------------------
def quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def horizon_end(day: date) -> date:
    """The first day after the window: the end of the 4th calendar quarter from `day`'s."""
    return add_months(quarter_start(day), 3 * HORIZON_QUARTERS)


@dataclass(frozen=True)
class Bucket:
    """One bar of the calendar: overdue, or the renewal dates [first, last] of a month/quarter
    (the day's own month or quarter starts on the day: earlier open renewals are overdue)."""

    key: str
    label: str
    first: date | None
    last: date

    @property
    def overdue(self) -> bool:
        return self.key == OVERDUE

    def drill(self) -> dict[str, str]:
        """The renewal-list parameters of exactly this bucket."""
        if self.overdue:
            return {"overdue": "1"}
        assert self.first is not None
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def buckets(day: date, grain: str = "quarter") -> list[Bucket]:
    """Overdue, then each month or quarter of the window, in order."""
    step = 3 if grain == "quarter" else 1
    start = quarter_start(day)
    end = horizon_end(day)
    out = [Bucket(OVERDUE, "Overdue", None, day - timedelta(days=1))]
    period = start if grain == "quarter" else date(day.year, day.month, 1)
    while period < end:
        nxt = add_months(period, step)
        if grain == "quarter":
            label = f"Q{(period.month - 1) // 3 + 1} {period.year}"
        else:
            label = f"{period:%b %Y}"
        out.append(Bucket(period.isoformat(), label, max(period, day), nxt - timedelta(days=1)))
        period = nxt
    return out


def bucket_of(day: date, grain: str, key: str) -> Bucket | None:
    """The bucket with `key` in the window of `day` (None for a key not in it)."""
    return next((b for b in buckets(day, grain) if b.key == key), None)


def _bucket_keys(df: pd.DataFrame, day: date, grain: str) -> pd.Series:
    """Each row's bucket key, from its `overdue` flag and `renewal_month` (first of month)."""
    keys = []
    for overdue, month in zip(df["overdue"], df["renewal_month"], strict=True):
        if overdue:
            keys.append(OVERDUE)
            continue
        m = pd.Timestamp(month).date()
        keys.append((quarter_start(m) if grain == "quarter" else m).isoformat())
    return pd.Series(keys, index=df.index, dtype=object)


# ---- the open renewals on a day: stored for the picker's dates, else live ------------------------
STORED_TABLE = "pipeline_open"
# open_renewals' own columns (renewal level); the account's come from account_dim when read.
STORED_COLUMNS = (
    "renewal_id",
    "account_id",
    "renewal_date",
    "overdue",
    "arr_up",
    "forecast_category",
    "risk_reason",
    "has_close_plan",
    "health_score",
    "band",
    *(f"{c}_score" for c in COMPONENTS),
    "at_risk",
    "owner_active",
)
ACCOUNT_COLUMNS = (
    "name",
    "segment",
    "region",
    "team",
    "owner_csm_id",
    "owner_name",
    "coverage_tier",
)


@memoize
def _stored_dates(db: Database) -> frozenset[date]:
    """The days `pipeline_open` holds (none in a database built without it)."""
    exists = db.query(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = ?",
        [STORED_TABLE],
    ).iloc[0]["n"]
    if not exists:
        return frozenset()
    df = db.query(f"SELECT DISTINCT snapshot_date FROM {STORED_TABLE}")
    return frozenset(pd.Timestamp(d).date() for d in df["snapshot_date"])


def stored_open_renewals_sql(
    filters: Filters, day: date, first: date | None = None, end: date | None = None
) -> tuple[str, list[Any]]:
    """`open_renewals_sql` read from `pipeline_open` (the same columns, the same rows on a
    stored day): the stored renewal columns joined to today's account attributes."""
    where, scope = filters.where("ad")
    cols = ", ".join(
        [*(f"s.{c}" for c in STORED_COLUMNS[:2]), *(f"ad.{c}" for c in ACCOUNT_COLUMNS)]
        + [f"s.{c}" for c in STORED_COLUMNS[2:]]
    )
    sql = f"""
        WITH open_renewals AS (
            SELECT {cols}
            FROM {STORED_TABLE} s JOIN account_dim ad ON ad.account_id = s.account_id
            WHERE s.snapshot_date = ?
              AND (CAST(? AS DATE) IS NULL OR s.renewal_date >= ?)
              AND (CAST(? AS DATE) IS NULL OR s.renewal_date < ?)
              AND {where}
        )
    """
    return sql, [day, first, first, end, end, *scope]


def open_relation(
    db: Database, filters: Filters, day: date, first: date | None = None, end: date | None = None
) -> tuple[str, list[Any]]:
    """`WITH open_renewals AS (...)`: the open renewals on `day` (see `open_renewals_sql`),
    from `pipeline_open` when the build stored that day, else computed live."""
    if day in _stored_dates(db):
        return stored_open_renewals_sql(filters, day, first, end)
    return open_renewals_sql(filters, day, first, end)


def create_pipeline_tables(con, as_of: date) -> None:
    """`pipeline_open`: the open renewals (all of them, overdue included) on every date the
    as-of picker offers, with the call known then, health then and the at-risk flag, clustered
    by date. A request then reads one date's rows instead of joining the call history."""
    from services.forecast_accuracy import offered_dates  # the picker's rule, written once

    grid = [
        r[0] for r in con.execute("SELECT snapshot_date FROM snapshot_dates ORDER BY 1").fetchall()
    ]
    cols = ", ".join(STORED_COLUMNS)
    con.execute(f"DROP TABLE IF EXISTS {STORED_TABLE}")
    sql, bind = open_renewals_sql(Filters(), as_of)
    con.execute(
        f"CREATE TABLE {STORED_TABLE} AS {sql} "
        f"SELECT CAST(NULL AS DATE) AS snapshot_date, {cols} FROM open_renewals LIMIT 0",
        bind,
    )
    # While a build derives its tables `meta` is empty; the call and close plan on the build's
    # own date are the renewal's fields, so the build's as-of is stated for the while.
    con.execute(
        "INSERT INTO meta (build_id, built_at, as_of_date, schema_version) "
        "VALUES ('deriving-pipeline', now(), ?, 0)",
        [as_of],
    )
    try:
        days = offered_dates(grid, load_settings().validation_lead_days) if grid else []
        for day in days:
            sql, bind = open_renewals_sql(Filters(), day)
            con.execute(
                f"INSERT INTO {STORED_TABLE} {sql} SELECT CAST(? AS DATE), {cols} "
                "FROM open_renewals",
                [*bind, day],
            )
    finally:
        con.execute("DELETE FROM meta WHERE build_id = 'deriving-pipeline'")
    con.execute(
        f"CREATE TABLE {STORED_TABLE}_sorted AS SELECT * FROM {STORED_TABLE} "
        "ORDER BY snapshot_date, renewal_id"
    )
    con.execute(f"DROP TABLE {STORED_TABLE}")
    con.execute(f"ALTER TABLE {STORED_TABLE}_sorted RENAME TO {STORED_TABLE}")


# ---- the one grouped query -----------------------------------------------------------------------
@memoize
def pipeline_cells(db: Database, filters: Filters, day: date) -> pd.DataFrame:
    """The open renewals of the window on `day` under `filters`, grouped by overdue, renewal
    month, call and, for those at risk, reason. Columns: overdue, renewal_month, call, at_risk,
    reason (NULL unless at risk), renewals, arr_up."""
    sql, bind = open_relation(db, filters, day, None, horizon_end(day))
    return db.query(
        f"""{sql}
        SELECT overdue, CAST(date_trunc('month', renewal_date) AS DATE) AS renewal_month,
               {call_sql()} AS call, at_risk,
               CASE WHEN at_risk THEN {reason_sql()} END AS reason,
               COUNT(*) AS renewals, COALESCE(SUM(arr_up), 0) AS arr_up
        FROM open_renewals
        GROUP BY ALL
        """,
        bind,
    )


@dataclass(frozen=True)
class Calendar:
    """ARR up per bucket and call (`cells`: bucket, call, renewals, arr_up) and the buckets."""

    grain: str
    buckets: tuple[Bucket, ...]
    cells: pd.DataFrame

    def totals(self) -> pd.DataFrame:
        """Per bucket (all of them, in order): renewals and ARR up."""
        keys = [b.key for b in self.buckets]
        sums = self.cells.groupby("bucket")[["renewals", "arr_up"]].sum()
        return sums.reindex(keys, fill_value=0).rename_axis("bucket").reset_index()


@memoize
def renewal_calendar(db: Database, filters: Filters, day: date, grain: str = "quarter") -> Calendar:
    """ARR up for renewal per month or quarter of the window (and overdue), per call."""
    grain = grain if grain in GRAINS else "quarter"
    df = pipeline_cells(db, filters, day)
    cells = (
        df.assign(bucket=_bucket_keys(df, day, grain))
        .groupby(["bucket", "call"], as_index=False)[["renewals", "arr_up"]]
        .sum()
    )
    return Calendar(grain, tuple(buckets(day, grain)), cells)


@memoize
def at_risk_by_reason(db: Database, filters: Filters, day: date) -> pd.DataFrame:
    """At-risk ARR per reason and quarter bucket (overdue included), biggest reason first.

    Columns: reason, bucket, renewals, arr_up, reason_arr (the reason's total, for ordering).
    """
    df = pipeline_cells(db, filters, day)
    risky = df[df["at_risk"].fillna(False).astype(bool)]
    if risky.empty:
        return pd.DataFrame(columns=["reason", "bucket", "renewals", "arr_up", "reason_arr"])
    out = (
        risky.assign(bucket=_bucket_keys(risky, day, "quarter"))
        .groupby(["reason", "bucket"], as_index=False)[["renewals", "arr_up"]]
        .sum()
    )
    out["reason_arr"] = out.groupby("reason")["arr_up"].transform("sum")
    return out.sort_values(["reason_arr", "reason"], ascending=[False, True]).reset_index(drop=True)


@memoize
def pipeline_summary(db: Database, filters: Filters, day: date) -> dict[str, float | None]:
    """ARR up and renewals in the window (overdue included), the at-risk part and its share,
    and the overdue part."""
    df = pipeline_cells(db, filters, day)
    risky = df["at_risk"].fillna(False).astype(bool)
    late = df["overdue"].fillna(False).astype(bool)
    arr_up = float(df["arr_up"].sum())
    at_risk_arr = float(df.loc[risky, "arr_up"].sum())
    return {
        "renewals": int(df["renewals"].sum()),
        "arr_up": arr_up,
        "at_risk_renewals": int(df.loc[risky, "renewals"].sum()),
        "at_risk_arr": at_risk_arr,
        "at_risk_share": at_risk_arr / arr_up if arr_up else None,
        "overdue_renewals": int(df.loc[late, "renewals"].sum()),
        "overdue_arr": float(df.loc[late, "arr_up"].sum()),
    }


# ---- the health driver ---------------------------------------------------------------------------
def health_driver(df: pd.DataFrame, params: HealthParams | None = None) -> pd.Series:
    """Per row, the component that costs the score most: the largest weight × (100 − score)
    among the components with a score (a component without its feed is NULL and left out);
    ties go to the first in COMPONENTS order. NULL without any component score.

    Reads the `<component>_score` columns of `df` (a snapshot's components)."""
    p = params or health_params()
    weights = p.weights()
    cols = [f"{c}_score" for c in COMPONENTS]
    if df.empty:
        return pd.Series([], index=df.index, dtype=object)
    scores = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    cost = np.array([weights[c] for c in COMPONENTS]) * (100.0 - scores)
    none = np.isnan(cost).all(axis=1)
    best = np.nanargmax(np.where(np.isnan(cost), -np.inf, cost), axis=1)
    names = np.array(COMPONENTS, dtype=object)[best]
    return pd.Series(np.where(none, None, names), index=df.index, dtype=object)


# ---- the top renewals at risk --------------------------------------------------------------------
RENEWAL_COLUMNS = f"""renewal_id, account_id, name, segment, owner_name, renewal_date, overdue,
    arr_up, {call_sql()} AS call, {reason_sql()} AS reason, {close_plan_sql()} AS close_plan,
    health_score, band, at_risk, usage_score, trend_score, support_score, sentiment_score,
    engagement_score"""


def with_driver(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of `RENEWAL_COLUMNS` with `driver` (see `health_driver`), without the components."""
    comps = [f"{c}_score" for c in COMPONENTS]
    return df.assign(driver=health_driver(df)).drop(columns=comps)


@memoize
def top_at_risk(
    db: Database, filters: Filters, day: date, limit: int = TOP_AT_RISK
) -> pd.DataFrame:
    """The biggest open renewals at risk in the window (overdue included), by ARR up.

    Columns: renewal_id, account_id, name, segment, owner_name, renewal_date, overdue, arr_up,
    call, reason, close_plan, health_score, band, at_risk, driver."""
    sql, bind = open_relation(db, filters, day, None, horizon_end(day))
    df = db.query(
        f"""{sql}
        SELECT {RENEWAL_COLUMNS}
        FROM open_renewals WHERE at_risk
        ORDER BY arr_up DESC, renewal_date, renewal_id
        LIMIT ?
        """,
        [*bind, max(1, min(int(limit), 100))],
    )
    return with_driver(df)


def window_drill(day: date) -> dict[str, Any]:
    """The renewal-list parameters of the whole window: overdue and the 4 quarters."""
    return {"to": (horizon_end(day) - timedelta(days=1)).isoformat()}
