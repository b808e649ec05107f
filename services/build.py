"""Builds the analytics database: loads a source folder (data/loader.py) and adds derived tables.

Derived at build time, because they do not depend on filters and would otherwise be recomputed
on every request: `account_dim` (accounts with owner name and team, the table `Filters`
targets) and `health_snapshots` (every customer's health every 7 days back from the as-of date,
long enough to score each renewal of the last 4 quarters 90 days ahead) and `renewal_scores`
(each closed renewal with the band its account had 90 days before).

Usage: ``python -m services.build --source data/demo/5000 --target data/csops.duckdb``
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from data.loader import ImportError_, build_database
from services.errors import ImportRejected
from services.health import VALIDATION_LEAD_DAYS
from services.health_model import (
    DEFAULT_HEALTH,
    HEALTH_SQL,
    HealthParams,
    health_sql_params,
    weekly_grid,
)
from services.settings import load_settings

SNAPSHOT_WEEKS = 70
HEALTH_CHUNK_ACCOUNTS = 100_000  # 26-week history + 90 days before renewals of the past 4 quarters


def derive_tables(con, as_of: date, params: HealthParams = DEFAULT_HEALTH) -> None:
    """Create account_dim, snapshot_dates and health_snapshots inside a database being built."""
    con.execute("""
        CREATE TABLE account_dim AS
        SELECT a.*, COALESCE(c.name, 'Unassigned') AS owner_name,
               COALESCE(c.team, 'Unassigned') AS team
        FROM accounts a LEFT JOIN csms c ON c.csm_id = a.owner_csm_id
    """)
    dates = weekly_grid(as_of, SNAPSHOT_WEEKS)
    con.execute(
        "CREATE TABLE snapshot_dates AS SELECT CAST(unnest(?) AS DATE) AS snapshot_date",
        [[d.isoformat() for d in dates]],
    )
    # Scored in ranges of accounts: the usage windows of a million accounts at once need more
    # scratch space than a machine has; a range at a time keeps it to one range's worth.
    ids = [
        r[0] for r in con.execute("SELECT account_id FROM accounts ORDER BY account_id").fetchall()
    ]
    bounds = [None, *ids[HEALTH_CHUNK_ACCOUNTS::HEALTH_CHUNK_ACCOUNTS], None]
    con.execute(
        "CREATE TEMP TABLE scored AS " + HEALTH_SQL + " LIMIT 0", health_sql_params(dates, params)
    )
    for first_id, end_id in zip(bounds, bounds[1:], strict=False):
        con.execute(
            "INSERT INTO scored " + HEALTH_SQL, health_sql_params(dates, params, first_id, end_id)
        )
    # Clustered by date: every page reads one snapshot date (or a range of them).
    con.execute(
        "CREATE TABLE health_snapshots AS SELECT * FROM scored ORDER BY snapshot_date, account_id"
    )
    con.execute("DROP TABLE scored")
    create_renewal_scores(con)


def create_renewal_scores(con) -> None:
    """Each closed renewal with the band its account had 90 days before (on the weekly grid):
    what the validation panel and its drill-down aggregate, whatever the filters."""
    con.execute("DROP TABLE IF EXISTS renewal_scores")
    con.execute(
        """
        CREATE TABLE renewal_scores AS
        SELECT r.renewal_id, r.account_id, r.renewal_date, r.outcome, r.arr_up_for_renewal,
               r.renewed_arr, h.snapshot_date AS scored_on, h.band AS band_before,
               h.health_score AS health_before
        FROM renewals r ASOF JOIN health_snapshots h
          ON h.account_id = r.account_id AND h.snapshot_date <= r.renewal_date - ?
        WHERE r.outcome <> 'open' AND h.snapshot_date > r.renewal_date - ? - 7
        ORDER BY r.renewal_date
    """,
        [VALIDATION_LEAD_DAYS, VALIDATION_LEAD_DAYS],
    )


def build(source: Path, target: Path, as_of: date | None = None) -> dict[str, int]:
    """Build `target` from `source`; raises ImportRejected with a user-facing message."""
    try:
        return build_database(
            source,
            target,
            as_of=as_of,
            derive=derive_tables,
            memory_limit=load_settings().build_memory,
        )
    except ImportError_ as exc:
        raise ImportRejected(str(exc)) from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the CS Ops Console database.")
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--target", type=Path, default=load_settings().db_path)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        counts = build(args.source, args.target, args.as_of)
    except ImportRejected as exc:
        print(f"Import rejected, database left unchanged: {exc}", file=sys.stderr)
        return 2
    print(
        f"built {args.target} in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
