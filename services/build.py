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
import hashlib
import sys
import time
from datetime import date
from pathlib import Path

from data.loader import ImportError_, build_database
from services.comp_targets import create_target_history
from services.errors import ImportRejected
from services.forecast_accuracy import create_forecast_tables
from services.health import VALIDATION_LEAD_DAYS
from services.health_model import (
    COMPONENT_FEEDS,
    COMPONENTS,
    HealthParams,
    feed_extents,
    health_params,
    health_sql,
    health_sql_params,
    weekly_grid,
)
from services.ownership import create_owner_spans
from services.renewal_pipeline import create_pipeline_tables
from services.retention_trend import create_retention_trend
from services.settings import load_settings
from services.sql_fragments import (
    arr_on,
    cohort_member,
    movement_sums,
    movement_totals_summed,
    year_before_sql,
)
from services.upsell import create_expansion_scores

HEALTH_CHUNK_ACCOUNTS = 100_000


def derive_tables(con, as_of: date, params: HealthParams | None = None) -> None:
    """Create account_dim, snapshot_dates, health_snapshots and health_inputs in a new database.

    The health model (weights, thresholds) and the snapshot depth are the settings in force
    when the build runs (CSOPS_HEALTH_*, CSOPS_SNAPSHOT_WEEKS) unless `params` is given.
    """
    settings = load_settings()
    params = params or health_params(settings)
    con.execute("""
        CREATE TABLE account_dim AS
        SELECT a.*, COALESCE(c.name, 'Unassigned') AS owner_name,
               COALESCE(c.team, 'Unassigned') AS team
        FROM accounts a LEFT JOIN csms c ON c.csm_id = a.owner_csm_id
    """)
    create_owner_spans(con)
    dates = weekly_grid(as_of, settings.snapshot_weeks)
    con.execute(
        "CREATE TABLE snapshot_dates AS SELECT CAST(unnest(?) AS DATE) AS snapshot_date",
        [[d.isoformat() for d in dates]],
    )
    # Scored in ranges of accounts: the usage windows of a million accounts at once need more
    # scratch space than a machine has; a range at a time keeps it to one range's worth.
    bounds = account_ranges(con)
    feeds = feed_extents(con)  # over the whole dataset: what "the feed exists" means
    sql = health_sql(params)
    con.execute(
        "CREATE TEMP TABLE scored AS " + sql + " LIMIT 0",
        health_sql_params(dates, params, feeds=feeds),
    )
    for first_id, end_id in zip(bounds, bounds[1:], strict=False):
        con.execute(
            "INSERT INTO scored " + sql,
            health_sql_params(dates, params, first_id, end_id, feeds=feeds),
        )
    # Clustered by date: every page reads one snapshot date (or a range of them).
    con.execute(
        "CREATE TABLE health_snapshots AS SELECT * FROM scored ORDER BY snapshot_date, account_id"
    )
    con.execute("DROP TABLE scored")
    create_health_by_account(con)
    create_health_inputs(con, feeds)
    create_retention_cube(con, bounds)
    create_health_aggregates(con)
    create_expansion_scores(con)
    create_retention_trend(con, bounds)
    create_forecast_tables(con, as_of)
    create_pipeline_tables(con, as_of)
    create_target_history(con, as_of)


def create_health_inputs(con, feeds) -> None:
    """`health_inputs`: per snapshot date and component, whether the score used it (its feed
    existed then), with the feed's rows and first and last date over the whole dataset."""
    counts = ", ".join(f"COUNT({c}_score) > 0 AS {c}" for c in COMPONENTS)
    con.execute(
        "CREATE TEMP TABLE feed_extent (feed VARCHAR, feed_rows BIGINT, "
        "feed_first DATE, feed_last DATE)"
    )
    con.executemany(
        "INSERT INTO feed_extent VALUES (?, ?, ?, ?)",
        [[f.feed, f.rows, f.first_day, f.last_day] for f in feeds.values()],
    )
    con.execute(
        f"""
        CREATE TABLE health_inputs AS
        WITH per_date AS (
            SELECT sd.snapshot_date, {counts}
            FROM snapshot_dates sd LEFT JOIN health_snapshots h USING (snapshot_date)
            GROUP BY sd.snapshot_date
        ), used AS (
            UNPIVOT per_date ON {", ".join(COMPONENTS)} INTO NAME component VALUE present
        )
        SELECT u.snapshot_date, u.component, c.feed, u.present, f.feed_rows, f.feed_first,
               f.feed_last
        FROM used u JOIN (SELECT unnest(?) AS component, unnest(?) AS feed) c USING (component)
        JOIN feed_extent f USING (feed)
        ORDER BY u.snapshot_date, list_position(?, u.component)
        """,
        [list(COMPONENT_FEEDS), list(COMPONENT_FEEDS.values()), list(COMPONENTS)],
    )
    con.execute("DROP TABLE feed_extent")


def create_health_by_account(con) -> None:
    """A copy of health_snapshots clustered by account: Account 360 reads one account's weeks,
    ~2 ms from this copy against ~30 ms from the date-ordered table at 100k accounts."""
    con.execute("DROP TABLE IF EXISTS health_by_account")
    con.execute(
        "CREATE TABLE health_by_account AS "
        "SELECT * FROM health_snapshots ORDER BY account_id, snapshot_date"
    )


def account_ranges(con) -> list[str | None]:
    """Boundaries [None, id, id, ..., None] of consecutive ranges of HEALTH_CHUNK_ACCOUNTS accounts."""
    ids = [
        r[0] for r in con.execute("SELECT account_id FROM accounts ORDER BY account_id").fetchall()
    ]
    return [None, *ids[HEALTH_CHUNK_ACCOUNTS::HEALTH_CHUNK_ACCOUNTS], None]


# Cohort movement over the 12 months to each snapshot date, summed per combination of the
# filter dimensions: GRR/NRR/logo retention for any filter are then a sum over a small table.
# The formulas are services/sql_fragments.py's, as in the direct queries (services/retention.py).
# The join keeps the contracts overlapping [d0, d1] (the only ones ARR(d0) or ARR(d1) can count).
RETENTION_PARTS_SQL = f"""
    WITH grid AS (
        SELECT snapshot_date AS d1, {year_before_sql("snapshot_date")} AS d0
        FROM snapshot_dates
    ), per_account AS (
        SELECT g.d1, c.account_id, {arr_on("g.d0")} AS a0, {arr_on("g.d1")} AS a1
        FROM grid g JOIN contracts c ON c.start_date <= g.d1 AND c.end_date > g.d0
        WHERE (CAST(? AS VARCHAR) IS NULL OR c.account_id >= ?)
          AND (CAST(? AS VARCHAR) IS NULL OR c.account_id < ?)
        GROUP BY g.d1, c.account_id
    )
    SELECT p.d1 AS snapshot_date, ad.segment, ad.region, ad.team, ad.owner_csm_id,
           ad.coverage_tier, {movement_sums()}
    FROM per_account p JOIN account_dim ad ON ad.account_id = p.account_id
    WHERE {cohort_member()}
    GROUP BY ALL
"""


def create_retention_cube(con, bounds: list[str | None]) -> None:
    """`retention_cube`: trailing-12-month cohort movement per snapshot date and dimensions."""
    con.execute(
        "CREATE TEMP TABLE retention_parts AS " + RETENTION_PARTS_SQL + " LIMIT 0",
        [None, None, None, None],
    )
    for first_id, end_id in zip(bounds, bounds[1:], strict=False):
        con.execute(
            "INSERT INTO retention_parts " + RETENTION_PARTS_SQL,
            [first_id, first_id, end_id, end_id],
        )
    con.execute(f"""
        CREATE TABLE retention_cube AS
        SELECT snapshot_date, segment, region, team, owner_csm_id, coverage_tier,
               {movement_totals_summed()}
        FROM retention_parts GROUP BY ALL ORDER BY snapshot_date
    """)
    con.execute("DROP TABLE retention_parts")


def create_health_aggregates(con) -> None:
    """Tables derived from `health_snapshots`: the health cube and the renewal scores."""
    con.execute("DROP TABLE IF EXISTS health_cube")
    # Per snapshot date, band and combination of filter dimensions (~70k rows a date at 1M
    # accounts instead of ~850k): what every portfolio chart sums over.
    con.execute("""
        CREATE TABLE health_cube AS
        SELECT h.snapshot_date, ad.segment, ad.region, ad.team, ad.owner_csm_id, ad.owner_name,
               ad.coverage_tier, h.band, COUNT(*) AS accounts, SUM(h.arr) AS arr,
               SUM(h.health_score) AS health_sum,
               COUNT(*) FILTER (WHERE h.missing_inputs IS NULL) AS complete
        FROM health_snapshots h JOIN account_dim ad ON ad.account_id = h.account_id
        GROUP BY ALL ORDER BY h.snapshot_date
    """)
    create_renewal_scores(con)


def create_renewal_scores(con) -> None:
    """`renewal_scores`: every closed renewal with what the health backtest needs.

    Per renewal: account, renewal and closed dates (a missing closed date counts as the renewal
    date), outcome, ARR up, ARR lost (churned: all of it; contracted: ARR up − renewed ARR;
    otherwise 0) and the lost flag; and the account's scoring snapshot, the latest on or before
    renewal date − VALIDATION_LEAD_DAYS (at most 6 days earlier, the weekly grid), with its five
    component scores, health score, band and missing inputs. A renewal whose account had no
    snapshot then keeps NULL scores (counted as "not scored"). A re-weighted score is a linear
    combination of the stored components, so tuning the model needs no rebuild.
    """
    con.execute("DROP TABLE IF EXISTS renewal_scores")
    con.execute(
        """
        CREATE TABLE renewal_scores AS
        WITH closed AS (
            SELECT r.renewal_id, r.account_id, r.renewal_date,
                   COALESCE(r.closed_date, r.renewal_date) AS closed_date, r.outcome,
                   r.arr_up_for_renewal AS arr_up, r.renewed_arr,
                   CASE r.outcome
                        WHEN 'churned' THEN r.arr_up_for_renewal
                        WHEN 'contracted' THEN GREATEST(
                            r.arr_up_for_renewal - COALESCE(r.renewed_arr, 0), 0)
                        ELSE 0 END AS arr_lost,
                   r.outcome IN ('churned', 'contracted') AS lost,
                   CAST(r.renewal_date - ? AS DATE) AS score_due
            FROM renewals r WHERE r.outcome <> 'open'
        ), scored AS (
            SELECT c.renewal_id, h.snapshot_date AS scored_on, h.usage_score, h.trend_score,
                   h.support_score, h.sentiment_score, h.engagement_score, h.health_score,
                   h.band, h.missing_inputs
            FROM closed c ASOF JOIN health_snapshots h
              ON h.account_id = c.account_id AND h.snapshot_date <= c.score_due
            WHERE h.snapshot_date > c.score_due - 7
        )
        SELECT c.renewal_id, c.account_id, c.renewal_date, c.closed_date, c.outcome, c.arr_up,
               c.renewed_arr, c.arr_lost, c.lost, s.scored_on,
               CAST(s.usage_score AS DOUBLE) AS usage_score,
               CAST(s.trend_score AS DOUBLE) AS trend_score,
               CAST(s.support_score AS DOUBLE) AS support_score,
               CAST(s.sentiment_score AS DOUBLE) AS sentiment_score,
               CAST(s.engagement_score AS DOUBLE) AS engagement_score,
               s.health_score, s.band, s.missing_inputs
        FROM closed c LEFT JOIN scored s ON s.renewal_id = c.renewal_id
        ORDER BY c.renewal_date, c.renewal_id
    """,
        [VALIDATION_LEAD_DAYS],
    )


def source_fingerprint() -> str:
    """Hash of every source file that shapes a built database (generator, loader, schema and
    the services that derive tables): a cached demo database is stale when it changes."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    files = [*(root / "data").glob("*.py"), *(root / "data").glob("*.sql")]
    for f in sorted([*files, *(root / "services").glob("*.py")]):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def build(source: Path, target: Path, as_of: date | None = None) -> dict[str, int]:
    """Build a new version of `target` from `source` and point `target` to it.

    The build lands in `<target>.builds/`; the last CSOPS_KEEP_BUILDS builds are kept.
    Raises ImportRejected with a user-facing message (the current build stays in place).
    """
    settings = load_settings()
    try:
        return build_database(
            source,
            target,
            as_of=as_of,
            derive=derive_tables,
            memory_limit=settings.build_memory,
            keep_builds=settings.keep_builds,
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
