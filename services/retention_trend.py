"""Retention trend: trailing-12-month GRR and NRR at each month end of the last 8 quarters, by
segment and in total, with the same definitions as the GRR/NRR cards.

Each point d1 is the cohort movement over (year_before(d1), d1] (services/sql_fragments.py:
`arr_on`, `cohort_member`, `movement_sums`, `RETENTION_RATIOS`). The points are the last days of
the 23 months before the as-of date's month, then the as-of date itself:
- month ends come from `retention_trend_cube`, summed at build time per month end and
  combination of the filter dimensions, exactly as `retention_cube` is per snapshot date (the
  direct computation at request time took ~500 ms at 100k accounts);
- the as-of point is the card's own number: the total is `retention.trailing_retention` (the
  Portfolio card), the segments come from `retention_cube` on that date.
No point lies after the as-of date, and a month end uses only contracts started by then.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from services.asof import snapshot_dates
from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.retention import cohort_movement, trailing_retention
from services.sql_fragments import (
    MOVEMENT_TOTALS,
    RETENTION_RATIOS,
    arr_on,
    cohort_member,
    movement_sums,
    movement_totals_summed,
    year_before,
    year_before_sql,
)

TREND_MONTHS = 24  # 8 quarters of monthly points, the last one the as-of date
TOTAL = "All customers"  # the line over every segment (under the filters)
CUBE_DIMENSIONS = ("segment", "region", "team", "owner_csm_id", "coverage_tier")
RATIOS = ("grr", "nrr", "logo_retention")


def month_end(d: date) -> date:
    """The last day of `d`'s month."""
    first_next = (d.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_next - timedelta(days=1)


def months_back(d: date, n: int) -> date:
    """The last day of the month `n` months before `d`'s month."""
    index = d.year * 12 + d.month - 1 - n
    return month_end(date(index // 12, index % 12 + 1, 1))


def trend_dates(as_of: date, months: int = TREND_MONTHS) -> list[date]:
    """The trend's points, oldest first: the last days of the `months` − 1 months before
    `as_of`'s month, then `as_of` (itself a month end or not)."""
    return [months_back(as_of, n) for n in range(months - 1, 0, -1)] + [as_of]


def cube_month_ends(first_snapshot: date, as_of: date) -> list[date]:
    """Month ends the build sums: every month-end point of any as-of date the views offer
    (none earlier than the first weekly snapshot), up to the build's as-of date."""
    first = months_back(first_snapshot, TREND_MONTHS - 1)
    ends, d = [], first
    while d < as_of:
        ends.append(d)
        d = month_end(d + timedelta(days=1))
    return ends


# Cohort movement over the 12 months to each month end, per combination of the filter
# dimensions: the same fragments and shape as services/build.py's retention cube.
TREND_PARTS_SQL = f"""
    WITH grid AS (
        SELECT d1, {year_before_sql("d1")} AS d0
        FROM (SELECT CAST(unnest(?) AS DATE) AS d1)
    ), per_account AS (
        SELECT g.d1, c.account_id, {arr_on("g.d0")} AS a0, {arr_on("g.d1")} AS a1
        FROM grid g JOIN contracts c ON c.start_date <= g.d1 AND c.end_date > g.d0
        WHERE (CAST(? AS VARCHAR) IS NULL OR c.account_id >= ?)
          AND (CAST(? AS VARCHAR) IS NULL OR c.account_id < ?)
        GROUP BY g.d1, c.account_id
    )
    SELECT p.d1 AS month_end, {", ".join(f"ad.{d}" for d in CUBE_DIMENSIONS)}, {movement_sums()}
    FROM per_account p JOIN account_dim ad ON ad.account_id = p.account_id
    WHERE {cohort_member()}
    GROUP BY ALL
"""


def create_retention_trend(con, bounds: list[str | None]) -> None:
    """`retention_trend_cube`: trailing-12-month cohort movement per month end (see
    `cube_month_ends`) and combination of the filter dimensions, summed over account ranges
    `bounds` ([None, id, ..., None], as the retention cube) to bound the build's memory."""
    first, last = con.execute(
        "SELECT MIN(snapshot_date), MAX(snapshot_date) FROM snapshot_dates"
    ).fetchone()
    ends = [d.isoformat() for d in cube_month_ends(first, last)]
    con.execute(
        "CREATE TEMP TABLE trend_parts AS " + TREND_PARTS_SQL + " LIMIT 0",
        [ends, None, None, None, None],
    )
    for first_id, end_id in zip(bounds, bounds[1:], strict=False):
        con.execute(
            "INSERT INTO trend_parts " + TREND_PARTS_SQL,
            [ends, first_id, first_id, end_id, end_id],
        )
    con.execute(f"""
        CREATE TABLE retention_trend_cube AS
        SELECT month_end, {", ".join(CUBE_DIMENSIONS)}, {movement_totals_summed()}
        FROM trend_parts GROUP BY ALL ORDER BY month_end
    """)
    con.execute("DROP TABLE trend_parts")


def _by_segment(where: str, table: str, date_column: str) -> str:
    """Sums per (date, segment) and per date (segment NULL) of a cube, with the ratios."""
    return f"""
        SELECT *, {RETENTION_RATIOS} FROM (
            SELECT t.{date_column} AS point_date, t.segment, {movement_totals_summed("t")}
            FROM {table} t WHERE {where}
            GROUP BY GROUPING SETS ((t.{date_column}, t.segment), (t.{date_column}))
        )
    """


@memoize
def retention_trend(db: Database, filters: Filters, as_of: date) -> pd.DataFrame:
    """Trailing-12-month retention at each point of `trend_dates(as_of)`, per segment and in
    total, under the filters.

    Columns: point_date, segment (TOTAL for the line over all segments), the MOVEMENT_TOTALS
    sums and grr, nrr, logo_retention (NaN where the cohort is empty). Sorted by segment, then
    date; the total comes first. The total on `as_of` is the card's value
    (`trailing_retention`), to the last bit.
    """
    dates = trend_dates(as_of)
    months = dates[:-1]
    where, params = filters.where("t")
    monthly = db.query(
        _by_segment(
            f"{where} AND list_contains(?, t.month_end)", "retention_trend_cube", "month_end"
        ),
        [*params, months],
    )
    if as_of in snapshot_dates(db):
        latest = db.query(
            _by_segment(f"{where} AND t.snapshot_date = ?", "retention_cube", "snapshot_date"),
            [*params, as_of],
        )
    else:  # off the weekly grid (not reachable from the UI): the same sums from contracts
        latest = cohort_movement(db, filters, year_before(as_of), as_of, by="segment")
        latest = latest.rename(columns={"grp": "segment"}).assign(point_date=pd.Timestamp(as_of))
        total = latest[list(MOVEMENT_TOTALS)].sum().to_frame().T
        latest = pd.concat([latest, total.assign(point_date=pd.Timestamp(as_of))])
    df = pd.concat([monthly, latest], ignore_index=True)
    df["point_date"] = pd.to_datetime(df["point_date"]).dt.date
    df["segment"] = df["segment"].where(df["segment"].notna(), TOTAL)
    # The as-of total is the card's number itself.
    card = trailing_retention(db, filters, as_of)
    is_card = (df["segment"] == TOTAL) & (df["point_date"] == as_of)
    for key in RATIOS:
        df.loc[is_card, key] = card[key]
    segments = [TOTAL, *sorted(s for s in df["segment"].unique() if s != TOTAL)]
    grid = pd.MultiIndex.from_product([segments, dates], names=["segment", "point_date"])
    df = df.set_index(["segment", "point_date"]).reindex(grid).reset_index()
    df[list(MOVEMENT_TOTALS)] = df[list(MOVEMENT_TOTALS)].fillna(0)
    df[list(RATIOS)] = df[list(RATIOS)].astype(float)
    return df[["point_date", "segment", *MOVEMENT_TOTALS, *RATIOS]]
