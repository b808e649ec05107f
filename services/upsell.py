"""Upsell: a transparent expansion propensity score per current customer, its validation on past
expansion opportunities, expected expansion ARR, and the open expansion pipeline by stage.

The score (ARCHITECTURE §4 "Upsell propensity") is the sum of fixed points for the reasons that
apply on the day (points and thresholds are settings: `services.settings.UpsellSettings`):

- seats: average daily active users over the last 30 customer days / seats at or above
  `seat_min_pct`% (health_model's usage input, read from the weekly snapshot);
- growth: usage up at least `growth_min_pct`% (last 30 days against the 60 before: the usage
  trend component, trend_score − 50);
- health: health band green (the snapshot's band);
- promoter: the latest NPS answer within 12 months is 9 or 10 (the snapshot's latest_nps);
- no_open: no expansion opportunity open on the day.

Validation: each expansion opportunity closed won or lost in the `validation_quarters` quarters
to the day is scored with what was known when it was created (its account's weekly snapshot on
or before the creation date, at most 6 days earlier; the other opportunities open then), and win
rates are read per score decile (10-point bands of the 0-100 scale). `expansion_scores`, built
with the database (`create_expansion_scores`), holds those inputs; points and thresholds apply
at query time, so changing a weight needs no rebuild.

Expected expansion ARR = win rate of the customer's score decile (the decile's own when it has at
least `min_group` opportunities, else the overall rate) × typical expansion size (median won
amount as a share of the account's ARR when the opportunity was created, in its segment when the
segment has at least `min_group` such wins, else over all segments; wins known by the day) × the
customer's ARR. Rates and sizes come from the accounts under the same filters as the view.

Point in time: an opportunity counts once created (one without a creation date always does) and
is closed only when won or lost with a close date on or before the day; its stage and expected
close date are held only as they stand at the build's as-of date (`known_on_latest`): on an
earlier day they are not known. Its amount is as it stands (no history of amounts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.errors import InvalidFilter
from services.filters import Filters
from services.settings import UPSELL_REASONS, UpsellSettings, load_upsell_settings
from services.sql_fragments import arr_on, known_on_latest, order_by, page_bounds

REASONS = UPSELL_REASONS  # seats, growth, health, promoter, no_open
PROMOTER_MIN = 9  # NPS promoters answer 9 or 10 (the NPS scale; health_model's sentiment too)
DECILES = tuple(range(10))  # 0: score 0-9, ..., 9: score 90-100
# Pipeline stages in their usual order; others follow alphabetically, an unknown stage last.
STAGE_ORDER = ("Discovery", "Qualification", "Proposal", "Negotiation")
UNKNOWN_STAGE = "unknown"  # the drill value of opportunities whose stage is not known on the day
ALL_STAGES = "all"  # the drill value of the whole open pipeline


@dataclass(frozen=True)
class UpsellParams:
    """Points per reason and thresholds of the score (settings, not literals)."""

    w_seats: float = 30
    w_growth: float = 20
    w_health: float = 20
    w_promoter: float = 15
    w_no_open: float = 15
    seat_min_pct: float = 70
    growth_min_pct: float = 10
    candidate_min: float = 50
    min_group: int = 20
    validation_quarters: int = 8

    def __post_init__(self) -> None:
        points = list(self.points().values())
        if any(not math.isfinite(p) or p < 0 for p in points):
            raise ValueError("CSOPS_UPSELL_WEIGHTS: points must be non-negative numbers")
        if abs(sum(points) - 100) > 1e-6:
            raise ValueError(
                f"CSOPS_UPSELL_WEIGHTS: the points must add up to 100 (they add up to "
                f"{sum(points):g}), so the score runs from 0 to 100"
            )
        if not 0 < self.seat_min_pct <= 1000:
            raise ValueError("CSOPS_UPSELL_SEAT_MIN_PCT must be above 0 (a share of seats, %)")
        if not 0 < self.growth_min_pct <= 50:
            raise ValueError(
                "CSOPS_UPSELL_GROWTH_MIN_PCT must be above 0 and at most 50 (the usage trend "
                "tops out at +50%)"
            )
        if not 0 <= self.candidate_min <= 100:
            raise ValueError("CSOPS_UPSELL_CANDIDATE_MIN must be a score from 0 to 100")
        if self.min_group < 1:
            raise ValueError("CSOPS_UPSELL_MIN_GROUP must be at least 1")
        if not 1 <= self.validation_quarters <= 40:
            raise ValueError("CSOPS_UPSELL_VALIDATION_QUARTERS must be from 1 to 40")

    def points(self) -> dict[str, float]:
        """Points of each reason, in REASONS order."""
        return {r: float(getattr(self, f"w_{r}")) for r in REASONS}


def upsell_params(settings: UpsellSettings | None = None) -> UpsellParams:
    """The score in force: points and thresholds from the settings."""
    s = settings or load_upsell_settings()
    if len(s.weights) != len(REASONS):
        raise ValueError(
            f"CSOPS_UPSELL_WEIGHTS needs {len(REASONS)} numbers ({', '.join(REASONS)})"
        )
    return UpsellParams(
        **{f"w_{r}": w for r, w in zip(REASONS, s.weights, strict=True)},
        seat_min_pct=s.seat_min_pct,
        growth_min_pct=s.growth_min_pct,
        candidate_min=s.candidate_min,
        min_group=s.min_group,
        validation_quarters=s.validation_quarters,
    )


DEFAULT_UPSELL = upsell_params()


# ---------------------------------------------------------------------------------------------
# The score, once: inputs, reasons, points, decile


def snapshot_inputs_sql(h: str = "h") -> str:
    """The score's usage inputs from a health snapshot (alias `h`), as health_model computed them.

    seat_use_pct = 100 × average daily active users over the last 30 customer days / seats (NULL
    without usage or seats: the reason does not fire); usage_growth_pct = trend_score − 50 = 100 ×
    (avg last 30 days / avg 60 days before − 1), capped at ±50 like the trend component (NULL when
    the trend is a missing input, scored neutral, or its feed is absent).
    """
    return f"""
        CASE WHEN {h}.seats > 0 THEN 100.0 * {h}.avg_active_users_30d / {h}.seats END
            AS seat_use_pct,
        CASE WHEN NOT contains(COALESCE({h}.missing_inputs, ''), 'usage trend')
             THEN {h}.trend_score - 50 END AS usage_growth_pct
    """


def reasons_sql(params: UpsellParams, alias: str = "") -> tuple[str, list[Any]]:
    """Select-list `reason_<r>` (TRUE when the reason applies) over a relation with the columns
    seat_use_pct, usage_growth_pct, band, latest_nps, open_opportunities; and its binds.

    A reason whose input is unknown does not apply. Thresholds are inclusive (a boundary fires).
    """
    p = f"{alias}." if alias else ""
    conditions = {
        "seats": (f"{p}seat_use_pct >= CAST(? AS DOUBLE)", [params.seat_min_pct]),
        "growth": (f"{p}usage_growth_pct >= CAST(? AS DOUBLE)", [params.growth_min_pct]),
        "health": (f"{p}band = 'green'", []),
        "promoter": (f"{p}latest_nps >= {PROMOTER_MIN}", []),
        "no_open": (f"{p}open_opportunities = 0", []),
    }
    sql = ", ".join(f"COALESCE({conditions[r][0]}, FALSE) AS reason_{r}" for r in REASONS)
    return sql, [v for r in REASONS for v in conditions[r][1]]


def score_sql(params: UpsellParams, alias: str = "") -> tuple[str, list[Any]]:
    """The score over the `reason_<r>` columns: Σ points of the reasons that apply (0-100)."""
    p = f"{alias}." if alias else ""
    terms = " + ".join(
        f"CASE WHEN {p}reason_{r} THEN CAST(? AS DOUBLE) ELSE 0 END" for r in REASONS
    )
    return f"CAST(ROUND({terms}, 4) AS DOUBLE)", list(params.points().values())


def decile_sql(score: str) -> str:
    """The score's decile: 10-point bands of the 0-100 scale, 0 (0-9) to 9 (90-100)."""
    # LEAST ignores NULLs in DuckDB: an unscored row must stay NULL, not land in decile 9.
    return f"CASE WHEN {score} IS NOT NULL THEN LEAST(CAST(FLOOR({score} / 10) AS INTEGER), 9) END"


def decile_label(decile: int) -> str:
    """'0–9', '10–19', ..., '90–100'."""
    low = 10 * int(decile)
    return f"{low}–{low + 9}" if decile < 9 else "90–100"


# ---------------------------------------------------------------------------------------------
# Expansion opportunities on a day


def expansion_open_on(day: str, e: str = "e") -> str:
    """The opportunity (alias `e`) is open on `day`: created by then (one without a creation date
    always counts) and not closed by then (won or lost with a close date on or before `day`; a
    won or lost row without a close date counts as closed from its creation, without either date
    as closed). A missing outcome counts as open. `day` appears 3 times (a `?` binds thrice)."""
    return (
        f"(({e}.created_date IS NULL OR {e}.created_date <= {day}) AND NOT "
        f"(COALESCE({e}.outcome, 'open') <> 'open' "
        f"AND COALESCE({e}.close_date, {e}.created_date, {day}) <= {day}))"
    )


def create_expansion_scores(con) -> None:
    """`expansion_scores`: every expansion opportunity closed won or lost (with a close date),
    with what was known when it was created: the account's weekly health snapshot on or before
    the creation date (at most 6 days earlier; none: not scored), the score's inputs from it
    (seat use, usage growth, band, latest NPS), the other opportunities open then, and the
    account's ARR that day (the base of the typical expansion size). Built with the database."""
    con.execute("DROP TABLE IF EXISTS expansion_scores")
    con.execute(f"""
        CREATE TABLE expansion_scores AS
        WITH closed AS (
            SELECT opportunity_id, account_id, type, stage, amount_arr, created_date,
                   close_date, outcome = 'won' AS won
            FROM expansions
            WHERE outcome IN ('won', 'lost') AND close_date IS NOT NULL
        ), on_grid AS (  -- the weekly snapshot date on or before the creation (within 7 days)
            SELECT c.opportunity_id, c.account_id, g.snapshot_date
            FROM closed c ASOF JOIN snapshot_dates g ON g.snapshot_date <= c.created_date
            WHERE g.snapshot_date > c.created_date - 7
        ), snap AS (  -- an equality join: ~10x faster than an ASOF join on the snapshots
            SELECT o.opportunity_id, h.snapshot_date AS scored_on, h.health_score, h.band,
                   h.latest_nps, {snapshot_inputs_sql("h")}
            FROM on_grid o JOIN health_snapshots h
              ON h.account_id = o.account_id AND h.snapshot_date = o.snapshot_date
        ), others AS (
            SELECT c.opportunity_id, COUNT(*) AS open_opportunities
            FROM closed c JOIN expansions o
              ON o.account_id = c.account_id AND o.opportunity_id <> c.opportunity_id
            WHERE {expansion_open_on("c.created_date", "o")}
            GROUP BY c.opportunity_id
        ), arr AS (
            SELECT c.opportunity_id, {arr_on("c.created_date", "k")} AS arr_at_creation
            FROM closed c JOIN contracts k ON k.account_id = c.account_id
            WHERE c.created_date IS NOT NULL
            GROUP BY c.opportunity_id
        )
        SELECT c.*, s.scored_on, s.health_score, s.band, s.latest_nps, s.seat_use_pct,
               s.usage_growth_pct,
               CASE WHEN s.scored_on IS NOT NULL THEN COALESCE(o.open_opportunities, 0) END
                   AS open_opportunities,
               a.arr_at_creation
        FROM closed c
        LEFT JOIN snap s USING (opportunity_id)
        LEFT JOIN others o USING (opportunity_id)
        LEFT JOIN arr a USING (opportunity_id)
        ORDER BY c.close_date, c.opportunity_id
    """)


# ---------------------------------------------------------------------------------------------
# Validation: win rate by score decile, scored at creation


def months_before(day: date, months: int) -> date:
    """The same calendar day `months` months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def validation_window(day: date, params: UpsellParams = DEFAULT_UPSELL) -> tuple[date, date]:
    """(start, end]: opportunities closed after `start` and on or before `day`."""
    return months_before(day, 3 * params.validation_quarters), day


def _past_sql(filters: Filters, day: date, params: UpsellParams) -> tuple[str, list[Any]]:
    """`WITH ... past AS (...)`: opportunities closed won or lost in the validation window under
    `filters`, each with its reasons, score and decile at creation (NULL when not scored)."""
    start, end = validation_window(day, params)
    where, scope = filters.where("ad")
    reasons, rbind = reasons_sql(params)
    score, sbind = score_sql(params)
    sql = f"""
        WITH past_base AS (
            SELECT x.*, ad.name, ad.segment, ad.owner_name
            FROM expansion_scores x JOIN account_dim ad ON ad.account_id = x.account_id
            WHERE x.close_date > ? AND x.close_date <= ? AND {where}
        ), past_reasons AS (
            SELECT *, {reasons} FROM past_base
        ), past_scored AS (
            SELECT *, CASE WHEN scored_on IS NOT NULL THEN {score} END AS score
            FROM past_reasons
        ), past AS (
            SELECT *, {decile_sql("score")} AS decile FROM past_scored
        )
    """
    return sql, [start, end, *scope, *rbind, *sbind]


@dataclass(frozen=True)
class Validation:
    """Win rates of past expansion opportunities by their score at creation."""

    start: date  # the window: closed after start, on or before end
    end: date
    # decile, label, opportunities, won, win_rate, used_rate (calibrated), pool (the deciles
    # pooled into it, '50–79'), too_few (fewer than min_group)
    deciles: pd.DataFrame
    opportunities: int  # scored opportunities closed in the window
    won: int
    win_rate: float | None  # overall, over the scored opportunities
    not_scored: int  # closed in the window without a snapshot at creation (or creation date)
    min_group: int

    def used_rates(self) -> list[float | None]:
        """The win rate each decile's customers are expected at (10 values, decile order)."""
        return [None if pd.isna(v) else float(v) for v in self.deciles["used_rate"]]


def calibrate(
    opportunities: list[int], won: list[int], min_group: int
) -> list[tuple[int, int, int, int]]:
    """Pools of consecutive deciles, each (first decile, last decile, opportunities, won): the
    deciles are pooled left to right until a pool has at least `min_group` opportunities (a
    short remainder joins the last pool), then neighbouring pools are merged wherever the higher
    one won less often (pool-adjacent-violators: an isotonic fit weighted by n), so the expected
    win rate never falls as the score rises. No opportunities at all: no pools."""
    if sum(opportunities) == 0:
        return []
    last = len(opportunities) - 1
    pools: list[list[int]] = []
    first, n, w = 0, 0, 0
    for d in range(last + 1):
        n, w = n + opportunities[d], w + won[d]
        if n >= min_group:
            pools.append([first, d, n, w])
            first, n, w = d + 1, 0, 0
    if first <= last:  # the remainder (too few, or empty top deciles) joins the last pool
        if pools:
            pools[-1] = [pools[-1][0], last, pools[-1][2] + n, pools[-1][3] + w]
        else:
            pools.append([0, last, n, w])
    merged: list[list[int]] = []
    for pool in pools:
        merged.append(pool)
        while len(merged) > 1 and merged[-2][3] * merged[-1][2] > merged[-1][3] * merged[-2][2]:
            high = merged.pop()
            low = merged.pop()
            merged.append([low[0], high[1], low[2] + high[2], low[3] + high[3]])
    return [tuple(p) for p in merged]  # type: ignore[misc]


@memoize
def score_validation(
    db: Database, filters: Filters, day: date, params: UpsellParams = DEFAULT_UPSELL
) -> Validation:
    """Win rate of expansion opportunities closed won/lost in the window to `day`, per decile
    of their score at creation, with n (a decile of fewer than `min_group` is flagged too few);
    and the calibrated rate each decile's customers are expected to win at (`calibrate`)."""
    sql, bind = _past_sql(filters, day, params)
    df = db.query(
        f"""{sql}
        SELECT decile, COUNT(*) AS opportunities, COUNT(*) FILTER (WHERE won) AS won
        FROM past GROUP BY decile
        """,
        bind,
    )
    scored = df[df["decile"].notna()]
    n, won = int(scored["opportunities"].sum()), int(scored["won"].sum())
    not_scored = int(df.loc[df["decile"].isna(), "opportunities"].sum())
    by = scored.assign(decile=scored["decile"].astype(int)).set_index("decile")
    counts = [int(by.loc[d, "opportunities"]) if d in by.index else 0 for d in DECILES]
    wins = [int(by.loc[d, "won"]) if d in by.index else 0 for d in DECILES]
    pool_of = {}
    for first, last, pool_n, pool_won in calibrate(counts, wins, params.min_group):
        for d in range(first, last + 1):
            pool_of[d] = (first, last, pool_won / pool_n)
    rows = []
    for d in DECILES:
        first, last, used = pool_of.get(d, (d, d, None))
        rows.append(
            {
                "decile": d,
                "label": decile_label(d),
                "opportunities": counts[d],
                "won": wins[d],
                "win_rate": wins[d] / counts[d] if counts[d] else None,
                "used_rate": used,
                "pool": decile_label(first).split("–")[0] + "–" + decile_label(last).split("–")[1],
                "too_few": counts[d] < params.min_group,
            }
        )
    start, end = validation_window(day, params)
    overall = won / n if n else None
    return Validation(start, end, pd.DataFrame(rows), n, won, overall, not_scored, params.min_group)


@dataclass(frozen=True)
class ExpansionSizes:
    """Typical expansion size: median won amount as a share of ARR at creation, by segment."""

    by_segment: pd.DataFrame  # segment, wins, median_share, used_share, too_few
    wins: int
    median_share: float | None  # over all segments

    def used(self) -> tuple[list[str], list[float | None]]:
        return (
            [str(s) for s in self.by_segment["segment"]],
            [None if pd.isna(v) else float(v) for v in self.by_segment["used_share"]],
        )


@memoize
def expansion_sizes(
    db: Database, filters: Filters, day: date, params: UpsellParams = DEFAULT_UPSELL
) -> ExpansionSizes:
    """Median won expansion amount / the account's ARR when it was created, per segment and
    overall, over expansions won by `day` (all history known then) under `filters`. A segment
    with fewer than `min_group` such wins uses the overall median."""
    where, scope = filters.where("ad")
    df = db.query(
        f"""
        SELECT ad.segment, GROUPING(ad.segment) = 1 AS overall, COUNT(*) AS wins,
               MEDIAN(x.amount_arr / x.arr_at_creation) AS median_share
        FROM expansion_scores x JOIN account_dim ad ON ad.account_id = x.account_id
        WHERE x.won AND x.close_date <= ? AND x.arr_at_creation > 0 AND x.amount_arr > 0
          AND {where}
        GROUP BY GROUPING SETS ((ad.segment), ())
        ORDER BY ad.segment
        """,
        [day, *scope],
    )
    total = df[df["overall"]]
    wins = int(total["wins"].iloc[0]) if not total.empty else 0
    overall = float(total["median_share"].iloc[0]) if wins else None
    seg = df[~df["overall"]][["segment", "wins", "median_share"]].reset_index(drop=True)
    seg["too_few"] = seg["wins"] < params.min_group
    seg["used_share"] = seg["median_share"].where(~seg["too_few"], overall)
    return ExpansionSizes(seg, wins, overall)


# ---------------------------------------------------------------------------------------------
# Candidates: current customers scored on the day

CANDIDATE_SORTABLE = {
    "name": "c.name",
    "segment": "c.segment",
    "owner_name": "c.owner_name",
    "arr": "c.arr",
    "score": "c.score",
    "expected_arr": "c.expected_arr",
}
CANDIDATE_ORDER = "c.expected_arr DESC NULLS LAST, c.score DESC, c.arr DESC"


def _lookup_sql(column: str, keys: list[Any], values: list[Any], default: Any) -> tuple[str, list]:
    """`CASE column WHEN key THEN value ... ELSE default END` with every key and value bound: a
    small lookup evaluated per row without a join."""
    if not keys:
        return "CAST(? AS DOUBLE)", [default]
    whens = " ".join("WHEN ? THEN CAST(? AS DOUBLE)" for _ in keys)
    bind = [x for k, v in zip(keys, values, strict=True) for x in (k, v)]
    return f"CASE {column} {whens} ELSE CAST(? AS DOUBLE) END", [*bind, default]


def _candidates_sql(
    db: Database, filters: Filters, day: date, params: UpsellParams
) -> tuple[str, list[Any]]:
    """`WITH ... scored_customers, candidates`: every current customer under `filters` with its
    reasons and score on `day`; candidates (score >= candidate_min) with their decile's win
    rate, typical expansion share and expected expansion ARR. Only the columns the score needs
    are carried (names are joined for the rows shown: `candidate_page`)."""
    validation = score_validation(db, filters, day, params)
    sizes = expansion_sizes(db, filters, day, params)
    segments, shares = sizes.used()
    where, scope = filters.where("ad")
    reasons, rbind = reasons_sql(params)
    score, sbind = score_sql(params)
    rate, rate_bind = _lookup_sql("decile", list(DECILES), validation.used_rates(), None)
    share, share_bind = _lookup_sql("segment", segments, shares, sizes.median_share)
    sql = f"""
        WITH v AS (SELECT CAST(? AS DATE) AS d),
        open_opps AS (
            SELECT e.account_id, COUNT(*) AS n FROM expansions e CROSS JOIN v
            WHERE {expansion_open_on("v.d")} GROUP BY e.account_id
        ), base AS (
            SELECT h.account_id, ad.segment, h.arr, h.health_score, h.band, h.latest_nps,
                   {snapshot_inputs_sql("h")}, COALESCE(o.n, 0) AS open_opportunities
            FROM health_snapshots h
            JOIN account_dim ad ON ad.account_id = h.account_id
            LEFT JOIN open_opps o ON o.account_id = h.account_id
            WHERE h.snapshot_date = ? AND {where}
        ), with_reasons AS (
            SELECT *, {reasons} FROM base
        ), scored_customers AS (
            SELECT *, {score} AS score FROM with_reasons
        ), with_decile AS (
            SELECT *, {decile_sql("score")} AS decile
            FROM scored_customers WHERE score >= CAST(? AS DOUBLE)
        ), calibrated AS (
            SELECT *, {rate} AS win_rate, {share} AS typical_share FROM with_decile
        ), candidates AS (
            SELECT *, win_rate * typical_share * arr AS expected_arr FROM calibrated
        )
    """
    bind = [
        day,
        day,
        *scope,
        *rbind,
        *sbind,
        params.candidate_min,
        *rate_bind,
        *share_bind,
    ]
    return sql, bind


@memoize
def candidate_totals(
    db: Database, filters: Filters, day: date, params: UpsellParams = DEFAULT_UPSELL
) -> dict[str, float]:
    """Customers scored, candidates (score >= candidate_min), their ARR and Σ expected
    expansion ARR on `day`."""
    sql, bind = _candidates_sql(db, filters, day, params)
    row = db.query(
        f"""{sql}
        SELECT (SELECT COUNT(*) FROM scored_customers) AS customers, COUNT(*) AS candidates,
               COALESCE(SUM(arr), 0) AS arr, COALESCE(SUM(expected_arr), 0) AS expected_arr
        FROM candidates
        """,
        bind,
    ).iloc[0]
    return {
        "customers": int(row["customers"]),
        "candidates": int(row["candidates"]),
        "arr": float(row["arr"]),
        "expected_arr": float(row["expected_arr"]),
    }


@memoize
def candidate_page(
    db: Database,
    filters: Filters,
    day: date,
    params: UpsellParams = DEFAULT_UPSELL,
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of candidates (default: the highest expected expansion ARR first).

    Columns: account_id, name, segment, owner_name, arr, health_score, band, latest_nps,
    seat_use_pct, usage_growth_pct, open_opportunities, reason_<r> for each reason, score,
    decile, win_rate, typical_share, expected_arr; rows_total (every candidate, before paging:
    the grid's row count without a second query). Names are joined for the page's rows only,
    unless the list is sorted by one.
    """
    sql, bind = _candidates_sql(db, filters, day, params)
    order = order_by(sort, CANDIDATE_SORTABLE, CANDIDATE_ORDER, "c.account_id")
    reasons = ", ".join(f"c.reason_{r}" for r in REASONS)
    by_name = any(field in ("name", "owner_name") for field, _ in sort)
    named = (
        "(SELECT c.*, ad.name, ad.owner_name FROM candidates c "
        "JOIN account_dim ad ON ad.account_id = c.account_id)"
        if by_name
        else "candidates"
    )
    return db.query(
        f"""{sql}, page AS (
            SELECT c.*, COUNT(*) OVER () AS rows_total FROM {named} c
            ORDER BY {order}
            LIMIT ? OFFSET ?
        )
        SELECT c.account_id, ad.name, c.segment, ad.owner_name, c.arr, c.health_score, c.band,
               c.latest_nps, c.seat_use_pct, c.usage_growth_pct, c.open_opportunities,
               {reasons}, c.score, c.decile, c.win_rate, c.typical_share, c.expected_arr,
               c.rows_total
        FROM page c JOIN account_dim ad ON ad.account_id = c.account_id
        ORDER BY {order}
        """,
        [*bind, *page_bounds(start, limit)],
    )


# ---------------------------------------------------------------------------------------------
# Open expansion pipeline by stage, and the opportunity list behind a bar


def _pipeline_sql(filters: Filters, day: date) -> tuple[str, list[Any]]:
    """`WITH ... pipe AS (...)`: expansion opportunities open on `day` under `filters`, with the
    stage and expected close date known on the day (NULL before the build's as-of date: the row
    holds them as they stand now, and an opportunity since closed would show its real close).
    Amounts are as they stand now (the data holds no history of them)."""
    where, scope = filters.where("ad")
    sql = f"""
        WITH v AS (SELECT CAST(? AS DATE) AS d),
        pipe AS (
            SELECT e.opportunity_id, e.account_id, ad.name, ad.segment, ad.owner_name, e.type,
                   {known_on_latest("v.d", "e.stage")} AS stage, e.amount_arr, e.created_date,
                   {known_on_latest("v.d", "e.close_date")} AS close_date, 'open' AS outcome,
                   CAST(NULL AS DOUBLE) AS score,
                   CAST(NULL AS DATE) AS scored_on
            FROM expansions e CROSS JOIN v
            JOIN account_dim ad ON ad.account_id = e.account_id
            WHERE {expansion_open_on("v.d")} AND {where}
        )
    """
    return sql, [day, *scope]


def stage_rank(stage: Any) -> tuple[int, str]:
    """Sort key of a stage: the usual order first, then others alphabetically, unknown last."""
    if stage is None or (isinstance(stage, float) and math.isnan(stage)):
        return (2, "")
    if stage in STAGE_ORDER:
        return (0, f"{STAGE_ORDER.index(stage):02d}")
    return (1, str(stage))


@memoize
def pipeline_by_stage(db: Database, filters: Filters, day: date) -> pd.DataFrame:
    """Open expansion opportunities on `day` per stage: stage (None when not known on the day),
    opportunities, amount_arr (Σ, missing amounts as 0), in pipeline order."""
    sql, bind = _pipeline_sql(filters, day)
    df = db.query(
        f"""{sql}
        SELECT stage, COUNT(*) AS opportunities, COALESCE(SUM(amount_arr), 0) AS amount_arr
        FROM pipe GROUP BY stage
        """,
        bind,
    )
    df["stage"] = df["stage"].astype(object).where(df["stage"].notna(), None)
    order = sorted(range(len(df)), key=lambda i: stage_rank(df["stage"].iloc[i]))
    return df.iloc[order].reset_index(drop=True)


@dataclass(frozen=True)
class OpportunityDrill:
    """The opportunities behind a clicked bar: the open pipeline in one stage, or the past
    opportunities scored in one decile at creation."""

    stage: str = ""  # a stage, UNKNOWN_STAGE (not known on the day) or ALL_STAGES
    decile: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> OpportunityDrill:
        """From the page parameters `ru_stage` / `ru_decile` (a decile wins when both are set);
        a decile that is not 0-9 raises InvalidFilter."""

        def first(key: str) -> str:
            value = params.get(key)
            value = value[0] if isinstance(value, list | tuple) and value else value
            return str(value or "").strip()[:100]

        decile = first("ru_decile")
        if decile:
            if decile not in {str(d) for d in DECILES}:
                raise InvalidFilter(
                    f"Unknown score decile {decile[:40]!r}: use 0 (scores 0–9) to 9 (90–100)."
                )
            return cls(decile=int(decile))
        return cls(stage=first("ru_stage"))

    def to_params(self) -> dict[str, Any]:
        return {
            "ru_stage": self.stage or None,
            "ru_decile": None if self.decile is None else str(self.decile),
        }

    @property
    def active(self) -> bool:
        return bool(self.stage) or self.decile is not None


OPPORTUNITY_SORTABLE = {
    "name": "o.name",
    "segment": "o.segment",
    "owner_name": "o.owner_name",
    "type": "o.type",
    "stage": "o.stage",
    "amount_arr": "o.amount_arr",
    "created_date": "o.created_date",
    "close_date": "o.close_date",
    "outcome": "o.outcome",
    "score": "o.score",
}
OPPORTUNITY_ORDER = "o.amount_arr DESC NULLS LAST"


def _drilled_sql(
    filters: Filters, day: date, drill: OpportunityDrill, params: UpsellParams
) -> tuple[str, list[Any]]:
    """`WITH ... shown AS (...)`: the rows of the bar `drill` stands for (the chart's own
    relation, so the list has exactly the bar's count and sum)."""
    columns = (
        "opportunity_id, account_id, name, segment, owner_name, type, stage, amount_arr, "
        "created_date, close_date, outcome, score, scored_on"
    )
    if drill.decile is not None:
        sql, bind = _past_sql(filters, day, params)
        return (
            f"""{sql}, shown AS (
                SELECT opportunity_id, account_id, name, segment, owner_name, type, stage,
                       amount_arr, created_date, close_date,
                       CASE WHEN won THEN 'won' ELSE 'lost' END AS outcome, score, scored_on
                FROM past WHERE decile = ?)""",
            [*bind, drill.decile],
        )
    sql, bind = _pipeline_sql(filters, day)
    if drill.stage == ALL_STAGES:
        return f"{sql}, shown AS (SELECT {columns} FROM pipe)", bind
    if drill.stage == UNKNOWN_STAGE:
        return f"{sql}, shown AS (SELECT {columns} FROM pipe WHERE stage IS NULL)", bind
    return f"{sql}, shown AS (SELECT {columns} FROM pipe WHERE stage = ?)", [*bind, drill.stage]


@memoize
def opportunity_totals(
    db: Database,
    filters: Filters,
    day: date,
    drill: OpportunityDrill,
    params: UpsellParams = DEFAULT_UPSELL,
) -> dict[str, float]:
    """Count, Σ amount and wins of the opportunities behind `drill` (before paging)."""
    sql, bind = _drilled_sql(filters, day, drill, params)
    row = db.query(
        f"""{sql}
        SELECT COUNT(*) AS opportunities, COALESCE(SUM(amount_arr), 0) AS amount_arr,
               COUNT(*) FILTER (WHERE outcome = 'won') AS won
        FROM shown
        """,
        bind,
    ).iloc[0]
    return {
        "opportunities": int(row["opportunities"]),
        "amount_arr": float(row["amount_arr"]),
        "won": int(row["won"]),
    }


@memoize
def opportunity_page(
    db: Database,
    filters: Filters,
    day: date,
    drill: OpportunityDrill,
    params: UpsellParams = DEFAULT_UPSELL,
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of the opportunities behind `drill` (default: the largest amount first).

    Columns: opportunity_id, account_id, name, segment, owner_name, type, stage, amount_arr,
    created_date, close_date, outcome (as of `day`), score and scored_on (at creation; past
    opportunities only).
    """
    sql, bind = _drilled_sql(filters, day, drill, params)
    order = order_by(sort, OPPORTUNITY_SORTABLE, OPPORTUNITY_ORDER, "o.opportunity_id")
    return db.query(
        f"""{sql}
        SELECT * FROM shown o ORDER BY {order} LIMIT ? OFFSET ?
        """,
        [*bind, *page_bounds(start, limit)],
    )


def opportunity_account(db: Database, filters: Filters, opportunity_id: str) -> str | None:
    """The account of an opportunity, None for an unknown id or an account outside `filters`
    (a viewer's scope included): a list row opens that account's 360. Not memoised."""
    where, scope = filters.where("ad")
    df = db.query(
        f"""
        SELECT e.account_id FROM expansions e JOIN account_dim ad ON ad.account_id = e.account_id
        WHERE e.opportunity_id = ? AND {where}
        """,
        [str(opportunity_id), *scope],
    )
    return None if df.empty else str(df.iloc[0]["account_id"])
