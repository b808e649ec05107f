"""The health model: component scores and the weighted score of every customer at given dates.

One SQL statement defines health (docs ARCHITECTURE §4). The build runs it once over a weekly
grid of dates and stores `health_snapshots`; tests run it on tiny hand-made tables. Windows end
at each date, so health "as of" a past date uses only what was known then.

Real exports are uneven, so the statement follows three rules (docs/DECISIONS.md):
- usage and its trend average over the calendar days the account was a customer in the window
  (and the usage feed covers), not over the rows present: once an account is in the usage feed,
  a day without a row is a day without activity (an account whose rows stop scores 0);
- a component whose feed is absent at a date (no rows at all, or none yet) is NULL for every
  account and its weight is spread over the components present (`weighted_score_sql`);
- where the feed exists, an account missing its own input (never in the usage feed, no seats,
  no NPS answer in 12 months) scores `neutral_score` and is listed in `missing_inputs`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from services.settings import Settings, load_settings

COMPONENTS = ("usage", "trend", "support", "sentiment", "engagement")
COMPONENT_LABELS = {
    "usage": "Usage",
    "trend": "Usage trend",
    "support": "Support",
    "sentiment": "Sentiment",
    "engagement": "Engagement",
}
BANDS = ("green", "yellow", "red")
# The source table each component is computed from, and the column that dates its rows.
COMPONENT_FEEDS = {
    "usage": "usage_daily",
    "trend": "usage_daily",
    "support": "tickets",
    "sentiment": "nps_responses",
    "engagement": "touchpoints",
}
FEED_DATES = {
    "usage_daily": "day",
    "tickets": "opened_at",
    "nps_responses": "responded_at",
    "touchpoints": "occurred_at",
}
FEED_LABELS = {
    "usage_daily": "usage data",
    "tickets": "support tickets",
    "nps_responses": "NPS answers",
    "touchpoints": "touchpoints",
}


@dataclass(frozen=True)
class HealthParams:
    """Weights, thresholds and windows of the health model (settings, not literals)."""

    w_usage: float = 30
    w_trend: float = 20
    w_support: float = 15
    w_sentiment: float = 15
    w_engagement: float = 20
    green_min: float = 70
    yellow_min: float = 40
    neutral_score: float = 50  # an account's own missing input scores this and is flagged
    penalty_open_p1p2: float = 25
    penalty_escalation: float = 20
    promoter_score: float = 100
    passive_score: float = 60
    detractor_score: float = 20
    cadence_named_days: int = 30
    cadence_pooled_days: int = 60
    cadence_tech_touch_days: int = 120

    def __post_init__(self) -> None:
        weights = self.weights().values()
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("health weights must be non-negative numbers with a positive sum")
        if not self.yellow_min <= self.green_min:
            raise ValueError("the yellow threshold must not be above the green one")

    def weights(self) -> dict[str, float]:
        return {c: float(getattr(self, f"w_{c}")) for c in COMPONENTS}


def health_params(settings: Settings | None = None) -> HealthParams:
    """The health model in force: weights and band thresholds from the settings."""
    s = settings or load_settings()
    if len(s.health_weights) != len(COMPONENTS):
        raise ValueError(
            f"CSOPS_HEALTH_WEIGHTS needs {len(COMPONENTS)} numbers ({', '.join(COMPONENTS)})"
        )
    weights = {f"w_{c}": w for c, w in zip(COMPONENTS, s.health_weights, strict=True)}
    return HealthParams(**weights, green_min=s.health_green_min, yellow_min=s.health_yellow_min)


DEFAULT_HEALTH = health_params()


def _number(value: float) -> str:
    """A finite number as a SQL literal (only digits, sign, point, exponent: never text)."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"not a finite number: {value!r}")
    return repr(v)


def _prefix(alias: str) -> str:
    if alias and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
        raise ValueError(f"not a table alias: {alias!r}")
    return f"{alias}." if alias else ""


def _weighted(params: HealthParams, alias: str, number: Callable[[float], str]) -> str:
    p = _prefix(alias)
    weights = params.weights()
    num = " + ".join(f"COALESCE({number(weights[c])} * {p}{c}_score, 0)" for c in COMPONENTS)
    den = " + ".join(
        f"CASE WHEN {p}{c}_score IS NULL THEN 0 ELSE {number(weights[c])} END" for c in COMPONENTS
    )
    return f"CAST(ROUND(CAST(({num}) / NULLIF({den}, 0) AS DECIMAL(18, 6)), 1) AS DOUBLE)"


def _band(score: str, params: HealthParams, number: Callable[[float], str]) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", score):
        raise ValueError(f"band_sql takes a column name, not {score!r}")
    return (
        f"CASE WHEN {score} >= {number(params.green_min)} THEN 'green' "
        f"WHEN {score} >= {number(params.yellow_min)} THEN 'yellow' "
        f"WHEN {score} IS NOT NULL THEN 'red' END"
    )


def _binder() -> tuple[list[float], Callable[[float], str]]:
    binds: list[float] = []

    def number(value: float) -> str:
        binds.append(float(_number(value)))
        return "CAST(? AS DOUBLE)"

    return binds, number


def weighted_score_sql(params: HealthParams = DEFAULT_HEALTH, alias: str = "") -> str:
    """The health score as a SQL expression over the `<component>_score` columns of `alias`.

    score = Σ w_c·s_c / Σ w_c over the components whose score is not NULL (a NULL component
    has no feed, so its weight is spread over the others), rounded to 1 decimal. The build
    stores it; the Health model page re-weights stored components with the same formula
    (`weighted_score_bound`). The quotient goes through DECIMAL, so a score of 69.95 rounds to
    70.0 whatever the binary error. Weights are written as number literals (`float` only).
    """
    return _weighted(params, alias, _number)


def weighted_score_bound(
    params: HealthParams = DEFAULT_HEALTH, alias: str = ""
) -> tuple[str, list[float]]:
    """`weighted_score_sql` with the weights as `?` parameters: (expression, values in order)."""
    binds, number = _binder()
    return _weighted(params, alias, number), binds


def band_sql(score: str, params: HealthParams = DEFAULT_HEALTH) -> str:
    """The band of a rounded score column: green >= green_min, yellow >= yellow_min, else red
    (NULL without a score). Decided on the rounded score, so the shown score and band agree."""
    return _band(score, params, _number)


def band_bound(score: str, params: HealthParams = DEFAULT_HEALTH) -> tuple[str, list[float]]:
    """`band_sql` with the thresholds as `?` parameters: (expression, values in order)."""
    binds, number = _binder()
    return _band(score, params, number), binds


_HEALTH_SQL = """
WITH snap AS (SELECT DISTINCT CAST(unnest($dates) AS DATE) AS d),
active AS (
    SELECT s.d, c.account_id, SUM(c.arr) AS arr, SUM(c.seats) AS contract_seats
    FROM snap s JOIN contracts c ON c.start_date <= s.d AND s.d < c.end_date
    WHERE ($first_id IS NULL OR c.account_id >= $first_id)
      AND ($end_id IS NULL OR c.account_id < $end_id)
    GROUP BY s.d, c.account_id
    HAVING SUM(c.arr) > 0
),
-- Which feeds exist at each date (a feed's rows start on its first date; usage must also reach
-- into the 30-day window). A component without its feed is NULL for everyone at that date.
probe AS (
    SELECT d, account_id, arr, contract_seats, d - 30 AS d30, d - 90 AS d90,
           CAST(d + 1 AS TIMESTAMP) AS d_end, CAST(d - 89 AS TIMESTAMP) AS d_start90,
           COALESCE(CAST($usage_first AS DATE) <= d AND CAST($usage_last AS DATE) >= d - 29,
                    false) AS usage_on,
           COALESCE(CAST($usage_first AS DATE) <= d - 30
                    AND CAST($usage_last AS DATE) >= d - 29, false) AS trend_on,
           COALESCE(CAST($tickets_first AS DATE) <= d, false) AS support_on,
           COALESCE(CAST($nps_first AS DATE) <= d, false) AS sentiment_on,
           COALESCE(CAST($touch_first AS DATE) <= d, false) AS engagement_on
    FROM active
),
-- Customer spans: each account's contracts merged into disjoint [span_start, span_end).
contract_rows AS (
    SELECT account_id, start_date, end_date,
           MAX(end_date) OVER (PARTITION BY account_id ORDER BY start_date, end_date
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM contracts
    WHERE arr > 0 AND start_date < end_date
      AND ($first_id IS NULL OR account_id >= $first_id)
      AND ($end_id IS NULL OR account_id < $end_id)
),
islands AS (
    SELECT *, SUM(CASE WHEN reach >= start_date THEN 0 ELSE 1 END)
                  OVER (PARTITION BY account_id ORDER BY start_date, end_date) AS island
    FROM contract_rows
),
spans AS (
    SELECT account_id, MIN(start_date) AS span_start, MAX(end_date) AS span_end
    FROM islands GROUP BY account_id, island
),
-- Days in each window that the account was a customer and the usage feed covers.
customer_days AS (
    SELECT p.d, p.account_id,
           SUM(GREATEST(0, LEAST(p.d + 1, s.cov_end) - GREATEST(p.d - 29, s.cov_start))) AS days30,
           SUM(GREATEST(0, LEAST(p.d - 29, s.cov_end) - GREATEST(p.d - 89, s.cov_start))) AS days60
    FROM probe p JOIN (
        SELECT account_id, GREATEST(span_start, CAST($usage_first AS DATE)) AS cov_start,
               LEAST(span_end, CAST($usage_last AS DATE) + 1) AS cov_end
        FROM spans
    ) s ON s.account_id = p.account_id AND s.cov_start <= p.d AND s.cov_end > p.d - 89
    GROUP BY ALL
),
-- Active users summed over customer days only (a trial before the contract does not count).
usage_cum AS (
    SELECT u.account_id, u.day,
           SUM(u.active_users) OVER (PARTITION BY u.account_id ORDER BY u.day
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_users
    FROM usage_daily u JOIN spans s
      ON s.account_id = u.account_id AND u.day >= s.span_start AND u.day < s.span_end
    WHERE ($first_id IS NULL OR u.account_id >= $first_id)
      AND ($end_id IS NULL OR u.account_id < $end_id)
),
nps_daily AS (
    SELECT account_id, CAST(responded_at AS DATE) AS day, arg_max(score, responded_at) AS score
    FROM nps_responses GROUP BY ALL
),
touch_daily AS (
    SELECT DISTINCT account_id, CAST(occurred_at AS DATE) AS day FROM touchpoints
),
support AS (
    SELECT p.d, p.account_id,
           COUNT(*) FILTER (WHERE t.priority IN ('P1', 'P2')
                            AND (t.closed_at IS NULL OR t.closed_at >= p.d_end)) AS open_p1p2,
           COUNT(*) FILTER (WHERE t.escalated) AS escalations
    FROM probe p JOIN tickets t
      ON t.account_id = p.account_id AND t.opened_at >= p.d_start90 AND t.opened_at < p.d_end
    GROUP BY ALL
),
inputs AS (
    SELECT p.d, p.account_id, p.arr, p.usage_on, p.trend_on, p.support_on, p.sentiment_on,
           p.engagement_on,
           COALESCE(p.contract_seats, acc.seats_purchased) AS seats,
           acc.coverage_tier,
           COALESCE(cd.days30, 0) AS days30,
           COALESCE(cd.days60, 0) AS days60,
           u0.account_id IS NOT NULL AS has_usage,  -- in the usage feed by this date
           COALESCE(u0.cum_users, 0) - COALESCE(u30.cum_users, 0) AS users30,
           COALESCE(u30.cum_users, 0) - COALESCE(u90.cum_users, 0) AS users60,
           COALESCE(s.open_p1p2, 0) AS open_p1p2,
           COALESCE(s.escalations, 0) AS escalations,
           CASE WHEN n.day > p.d - 365 THEN n.score END AS latest_nps,
           p.d - t.day AS days_since_touchpoint
    FROM probe p
    JOIN accounts acc ON acc.account_id = p.account_id
    LEFT JOIN customer_days cd ON cd.d = p.d AND cd.account_id = p.account_id
    ASOF LEFT JOIN usage_cum u0 ON p.account_id = u0.account_id AND p.d >= u0.day
    ASOF LEFT JOIN usage_cum u30 ON p.account_id = u30.account_id AND p.d30 >= u30.day
    ASOF LEFT JOIN usage_cum u90 ON p.account_id = u90.account_id AND p.d90 >= u90.day
    ASOF LEFT JOIN nps_daily n ON p.account_id = n.account_id AND p.d >= n.day
    ASOF LEFT JOIN touch_daily t ON p.account_id = t.account_id AND p.d >= t.day
    LEFT JOIN support s ON s.d = p.d AND s.account_id = p.account_id
),
flags AS (
    SELECT *,
        -- Gone dark: rows before, none (or only zeros) in the last 30 customer days.
        has_usage AND days30 > 0 AND users30 = 0 AS no_usage,
        -- Never in the feed (not tracked, or never used: we cannot tell): missing, flagged.
        usage_on AND NOT (has_usage AND days30 > 0 AND (users30 = 0 OR seats > 0))
            AS usage_missing,
        trend_on AND NOT (has_usage AND days30 > 0 AND (users30 = 0 OR days60 > 0))
            AS trend_missing,
        sentiment_on AND latest_nps IS NULL AS sentiment_missing,
        CASE coverage_tier WHEN 'named' THEN $cadence_named_days
                           WHEN 'pooled' THEN $cadence_pooled_days
                           ELSE $cadence_tech_touch_days END AS cadence_days
    FROM inputs
),
scored AS (
    SELECT *,
        CASE WHEN NOT usage_on THEN NULL
             WHEN usage_missing THEN $neutral_score
             WHEN no_usage THEN 0.0
             ELSE 100 * LEAST(1.0, (users30 / days30) / seats) END AS usage_raw,
        CASE WHEN NOT trend_on THEN NULL
             WHEN trend_missing THEN $neutral_score
             WHEN no_usage THEN 0.0
             WHEN users60 = 0 THEN 100.0
             ELSE GREATEST(0, LEAST(100, 50 + 100 * ((users30 / days30) / (users60 / days60) - 1)))
             END AS trend_raw,
        CASE WHEN support_on THEN
             GREATEST(0, LEAST(100, 100 - $penalty_open_p1p2 * open_p1p2
                                        - $penalty_escalation * escalations)) END AS support_raw,
        CASE WHEN NOT sentiment_on THEN NULL
             WHEN latest_nps >= 9 THEN $promoter_score
             WHEN latest_nps >= 7 THEN $passive_score
             WHEN latest_nps >= 0 THEN $detractor_score
             ELSE $neutral_score END AS sentiment_raw,
        CASE WHEN NOT engagement_on THEN NULL
             WHEN days_since_touchpoint IS NULL THEN 0.0
             WHEN days_since_touchpoint <= cadence_days THEN 100.0
             ELSE GREATEST(0, 100 * (1 - (days_since_touchpoint - cadence_days) / (2.0 * cadence_days)))
        END AS engagement_raw
    FROM flags
),
components AS (
    SELECT *,
        ROUND(CAST(usage_raw AS DOUBLE), 1) AS usage_score,
        ROUND(CAST(trend_raw AS DOUBLE), 1) AS trend_score,
        ROUND(CAST(support_raw AS DOUBLE), 1) AS support_score,
        ROUND(CAST(sentiment_raw AS DOUBLE), 1) AS sentiment_score,
        ROUND(CAST(engagement_raw AS DOUBLE), 1) AS engagement_score
    FROM scored
),
weighted AS (
    SELECT *, {weighted_score} AS health_score FROM components
)
SELECT d AS snapshot_date, account_id, arr, seats,
       usage_score, trend_score, support_score, sentiment_score, engagement_score, health_score,
       {band} AS band,
       NULLIF(concat_ws(', ',
           CASE WHEN usage_missing THEN 'usage' END,
           CASE WHEN trend_missing THEN 'usage trend' END,
           CASE WHEN sentiment_missing THEN 'NPS' END), '') AS missing_inputs,
       CASE WHEN usage_on AND has_usage AND days30 > 0
            THEN ROUND(CAST(users30 / days30 AS DOUBLE), 1) END AS avg_active_users_30d,
       CASE WHEN support_on THEN open_p1p2 END AS open_p1p2,
       CASE WHEN support_on THEN escalations END AS escalations_90d,
       latest_nps, days_since_touchpoint
FROM weighted
"""


def health_sql(params: HealthParams = DEFAULT_HEALTH) -> str:
    """The health statement (named parameters from `health_sql_params`) for these weights."""
    return _HEALTH_SQL.replace("{weighted_score}", weighted_score_sql(params)).replace(
        "{band}", band_sql("health_score", params)
    )


@dataclass(frozen=True)
class FeedExtent:
    """How much of one optional feed the dataset holds."""

    feed: str
    rows: int
    first_day: date | None
    last_day: date | None


def feed_extents(con) -> dict[str, FeedExtent]:
    """Rows, first and last date of each optional feed (the whole dataset, every account)."""
    out = {}
    for feed, column in FEED_DATES.items():  # table and column names are constants
        rows, first, last = con.execute(
            f"SELECT COUNT(*), CAST(MIN({column}) AS DATE), CAST(MAX({column}) AS DATE) FROM {feed}"
        ).fetchone()
        out[feed] = FeedExtent(feed, int(rows), first, last)
    return out


def health_sql_params(
    dates: Sequence[date],
    params: HealthParams = DEFAULT_HEALTH,
    first_id: str | None = None,
    end_id: str | None = None,
    feeds: dict[str, FeedExtent] | None = None,
) -> dict[str, Any]:
    """Named parameters for `health_sql`; [first_id, end_id) limits it to a range of accounts.

    `feeds` (from `feed_extents`) says which feeds exist; without it every feed is absent.
    """
    values: dict[str, Any] = asdict(params)
    for weight in ("w_usage", "w_trend", "w_support", "w_sentiment", "w_engagement"):
        del values[weight]  # rendered into the statement by weighted_score_sql
    del values["green_min"], values["yellow_min"]  # rendered by band_sql
    values["first_id"], values["end_id"] = first_id, end_id
    values["dates"] = [d.isoformat() for d in dates]
    feeds = feeds or {}

    def first(feed: str) -> date | None:
        return feeds[feed].first_day if feed in feeds and feeds[feed].rows else None

    values["usage_first"] = first("usage_daily")
    values["usage_last"] = feeds["usage_daily"].last_day if values["usage_first"] else None
    values["tickets_first"] = first("tickets")
    values["nps_first"] = first("nps_responses")
    values["touch_first"] = first("touchpoints")
    return values


def weekly_grid(as_of: date, weeks: int) -> list[date]:
    """Snapshot dates: as_of and each 7 days before it, oldest first."""
    return [as_of - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
