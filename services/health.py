"""Health queries over the materialised weekly snapshots: mix, history, owners, movers, inputs.

The backtest of the health model (renewals vs the band before them) is services/health_backtest.py.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from services.asof import shift_to_grid
from services.cache import memoize
from services.db import Database
from services.filters import DIMENSIONS, Filters
from services.health_model import (
    COMPONENT_LABELS,
    COMPONENTS,
    DEFAULT_HEALTH,
    FEED_LABELS,
    HealthParams,
)
from services.settings import load_settings

# Days before the renewal date a renewal is scored on (CSOPS_VALIDATION_LEAD_DAYS), as the
# process started; the build reads the setting again when it runs.
VALIDATION_LEAD_DAYS = load_settings().validation_lead_days
MOVER_WINDOW_DAYS = 28  # four weekly snapshots: the grid's closest match to "30 days"


@memoize
def health_summary(db: Database, filters: Filters, snapshot: date) -> dict[str, float | None]:
    """Average health, % of ARR in red, coverage, ARR and customers at one snapshot."""
    where, params = filters.where("hc")
    df = db.query(
        f"""
        SELECT COALESCE(SUM(hc.accounts), 0) AS accounts, COALESCE(SUM(hc.arr), 0) AS arr,
               SUM(hc.health_sum) / NULLIF(SUM(hc.accounts), 0) AS avg_health,
               COALESCE(SUM(hc.arr) FILTER (WHERE hc.band = 'red'), 0)
                   / NULLIF(SUM(hc.arr), 0) AS pct_arr_red,
               SUM(hc.complete) / NULLIF(SUM(hc.accounts), 0) AS health_coverage
        FROM health_cube hc
        WHERE {where} AND hc.snapshot_date = ?
        """,
        [*params, snapshot],
    )
    row = df.iloc[0]
    return {k: (None if pd.isna(row[k]) else float(row[k])) for k in df.columns}


@memoize
def band_mix(db: Database, filters: Filters, snapshot: date, by: str = "segment") -> pd.DataFrame:
    """Accounts and ARR per (group, band) at one snapshot."""
    where, params = filters.where("hc")
    column = DIMENSIONS[by] if by in DIMENSIONS else "segment"
    return db.query(
        f"""
        SELECT hc.{column} AS grp, hc.band, SUM(hc.accounts) AS accounts, SUM(hc.arr) AS arr
        FROM health_cube hc
        WHERE {where} AND hc.snapshot_date = ?
        GROUP BY ALL ORDER BY grp, hc.band
        """,
        [*params, snapshot],
    )


@memoize
def band_history(db: Database, filters: Filters, end: date, weeks: int = 26) -> pd.DataFrame:
    """Accounts and ARR per band for each weekly snapshot in the `weeks` up to `end`."""
    where, params = filters.where("hc")
    start = end - timedelta(days=7 * (weeks - 1))
    return db.query(
        f"""
        SELECT hc.snapshot_date, hc.band, SUM(hc.accounts) AS accounts, SUM(hc.arr) AS arr
        FROM health_cube hc
        WHERE {where} AND hc.snapshot_date BETWEEN ? AND ?
        GROUP BY ALL ORDER BY hc.snapshot_date, hc.band
        """,
        [*params, start, end],
    )


@memoize
def health_by_owner(
    db: Database, filters: Filters, snapshot: date, limit: int = 200
) -> pd.DataFrame:
    """Per owner CSM: accounts, ARR, average health and % of ARR in red at one snapshot.

    The `limit` owners with the highest share of ARR in red; `owners_total` counts them all.
    """
    where, params = filters.where("hc")
    return db.query(
        f"""
        SELECT hc.owner_csm_id, hc.owner_name, hc.team, SUM(hc.accounts) AS accounts,
               SUM(hc.arr) AS arr, ROUND(SUM(hc.health_sum) / SUM(hc.accounts), 1) AS avg_health,
               COALESCE(SUM(hc.arr) FILTER (WHERE hc.band = 'red'), 0)
                   / NULLIF(SUM(hc.arr), 0) AS pct_arr_red,
               COALESCE(SUM(hc.accounts) FILTER (WHERE hc.band = 'red'), 0) AS red_accounts,
               COUNT(*) OVER () AS owners_total
        FROM health_cube hc
        WHERE {where} AND hc.snapshot_date = ?
        GROUP BY ALL ORDER BY pct_arr_red DESC, arr DESC, hc.owner_csm_id
        LIMIT ?
        """,
        [*params, snapshot, limit],
    )


@memoize
def movers(
    db: Database,
    filters: Filters,
    snapshot: date,
    limit: int = 10,
    params: HealthParams = DEFAULT_HEALTH,
) -> pd.DataFrame:
    """Largest health drops over the last 4 weekly snapshots, with the component that drove each.

    The driver is the component whose weighted score fell most (a component without a feed on
    either date did not move); "no_usage" when that is usage or its trend and the account had
    no activity at all in the last 30 days.
    """
    where, bind = filters.where("ad")
    weights = params.weights()
    drops = ", ".join(f"? * COALESCE(p.{c}_score - h.{c}_score, 0) AS drop_{c}" for c in COMPONENTS)
    df = db.query(
        f"""
        SELECT h.account_id, ad.name, ad.segment, ad.owner_name, h.arr,
               p.health_score AS health_before, h.health_score AS health_now,
               h.health_score - p.health_score AS change, h.band,
               h.avg_active_users_30d = 0 AS no_usage, {drops}
        FROM health_snapshots h
        JOIN health_snapshots p ON p.account_id = h.account_id AND p.snapshot_date = ?
        JOIN account_dim ad ON ad.account_id = h.account_id
        WHERE {where} AND h.snapshot_date = ? AND h.health_score < p.health_score
        ORDER BY change, h.arr DESC LIMIT ?
        """,
        [
            *(weights[c] for c in COMPONENTS),
            snapshot - timedelta(days=MOVER_WINDOW_DAYS),
            *bind,
            snapshot,
            limit,
        ],
    )
    drop_cols = [f"drop_{c}" for c in COMPONENTS]
    if df.empty:
        df["driver"] = pd.Series(dtype=str)
    else:
        driver = df[drop_cols].astype(float).idxmax(axis=1).str.removeprefix("drop_")
        dark = df["no_usage"].fillna(False).astype(bool) & driver.isin(["usage", "trend"])
        df["driver"] = driver.where(~dark, "no_usage")
    return df.drop(columns=[*drop_cols, "no_usage"])


def previous_snapshot(db: Database, snapshot: date, days: int = 90) -> date | None:
    """The grid date about `days` earlier (for "change vs 90 days ago")."""
    return shift_to_grid(db, snapshot - timedelta(days=days))


@memoize
def health_inputs(db: Database, filters: Filters, snapshot: date) -> pd.DataFrame:
    """Which inputs the health score at `snapshot` is built from, one row per component.

    Columns: component, label, feed, feed_label, present (the score used it on that date),
    feed_rows, feed_first, feed_last. A feed absent from the dataset (or not started yet on that
    date) leaves its component out of every account's score, its weight spread over the others.
    The same model scores every account, so this is the dataset's and the filters do not change
    it (they are taken so a viewer's scope reaches every service).
    """
    del filters  # dataset-wide: which feeds were supplied, not anything about an account
    df = db.query(
        """
        SELECT component, feed, present, feed_rows, feed_first, feed_last
        FROM health_inputs WHERE snapshot_date = ?
        """,
        [snapshot],
    )
    order = {c: i for i, c in enumerate(COMPONENTS)}
    df = df.sort_values("component", key=lambda s: s.map(order)).reset_index(drop=True)
    df.insert(1, "label", df["component"].map(COMPONENT_LABELS))
    df.insert(3, "feed_label", df["feed"].map(FEED_LABELS))
    df["present"] = df["present"].astype(bool)
    return df


def inputs_sentence(inputs: pd.DataFrame, date_format=date.isoformat) -> str:
    """ "Score built from: usage, usage trend, support, sentiment (no touchpoints supplied)."

    A feed whose rows start after the date reads "no touchpoints before <first day>"; usage
    trend without enough usage history before the date reads "usage trend: too little history".
    """
    used = inputs.loc[inputs["present"], "label"].str.lower().tolist()
    used_feeds = set(inputs.loc[inputs["present"], "feed"])
    absent = []
    for _, row in inputs.loc[~inputs["present"]].iterrows():
        if row["feed"] in used_feeds:
            note = f"{row['label'].lower()}: too little history"
        elif row["feed_rows"] and not pd.isna(row["feed_first"]):
            first = date_format(pd.Timestamp(row["feed_first"]).date())
            note = f"no {row['feed_label']} before {first}"
        else:
            note = f"no {row['feed_label']} supplied"
        if note not in absent:
            absent.append(note)
    text = "Score built from: " + (", ".join(used) if used else "no inputs")
    return text + (f" ({'; '.join(absent)})." if absent else ".")
