"""The health model: component scores and the weighted score of every customer at given dates.

One SQL statement defines health (docs ARCHITECTURE §4). The build runs it once over a weekly
grid of dates and stores `health_snapshots`; tests run it on tiny hand-made tables. Windows end
at each date, so health "as of" a past date uses only what was known then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

COMPONENTS = ("usage", "trend", "support", "sentiment", "engagement")
COMPONENT_LABELS = {
    "usage": "Usage",
    "trend": "Usage trend",
    "support": "Support",
    "sentiment": "Sentiment",
    "engagement": "Engagement",
}
BANDS = ("green", "yellow", "red")


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
    neutral_score: float = 50  # a missing input scores this and is flagged
    penalty_open_p1p2: float = 25
    penalty_escalation: float = 20
    promoter_score: float = 100
    passive_score: float = 60
    detractor_score: float = 20
    cadence_named_days: int = 30
    cadence_pooled_days: int = 60
    cadence_tech_touch_days: int = 120

    def weights(self) -> dict[str, float]:
        return {c: getattr(self, f"w_{c}") for c in COMPONENTS}


DEFAULT_HEALTH = HealthParams()


HEALTH_SQL = """
WITH snap AS (SELECT DISTINCT CAST(unnest($dates) AS DATE) AS d),
active AS (
    SELECT s.d, c.account_id, SUM(c.arr) AS arr, SUM(c.seats) AS contract_seats
    FROM snap s JOIN contracts c ON c.start_date <= s.d AND s.d < c.end_date
    WHERE ($first_id IS NULL OR c.account_id >= $first_id)
      AND ($end_id IS NULL OR c.account_id < $end_id)
    GROUP BY s.d, c.account_id
    HAVING SUM(c.arr) > 0
),
probe AS (
    SELECT d, account_id, arr, contract_seats, d - 30 AS d30, d - 90 AS d90,
           CAST(d + 1 AS TIMESTAMP) AS d_end, CAST(d - 89 AS TIMESTAMP) AS d_start90
    FROM active
),
usage_cum AS (
    SELECT account_id, day,
           SUM(active_users) OVER w AS cum_users,
           COUNT(*) OVER w AS cum_days
    FROM usage_daily
    WHERE ($first_id IS NULL OR account_id >= $first_id)
      AND ($end_id IS NULL OR account_id < $end_id)
    WINDOW w AS (PARTITION BY account_id ORDER BY day
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
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
    SELECT p.d, p.account_id, p.arr,
           COALESCE(p.contract_seats, acc.seats_purchased) AS seats,
           acc.coverage_tier,
           COALESCE(u0.cum_days, 0) - COALESCE(u30.cum_days, 0) AS days30,
           COALESCE(u0.cum_users, 0) - COALESCE(u30.cum_users, 0) AS users30,
           COALESCE(u30.cum_days, 0) - COALESCE(u90.cum_days, 0) AS days60,
           COALESCE(u30.cum_users, 0) - COALESCE(u90.cum_users, 0) AS users60,
           COALESCE(s.open_p1p2, 0) AS open_p1p2,
           COALESCE(s.escalations, 0) AS escalations,
           CASE WHEN n.day > p.d - 365 THEN n.score END AS latest_nps,
           p.d - t.day AS days_since_touchpoint
    FROM probe p
    JOIN accounts acc ON acc.account_id = p.account_id
    ASOF LEFT JOIN usage_cum u0 ON p.account_id = u0.account_id AND p.d >= u0.day
    ASOF LEFT JOIN usage_cum u30 ON p.account_id = u30.account_id AND p.d30 >= u30.day
    ASOF LEFT JOIN usage_cum u90 ON p.account_id = u90.account_id AND p.d90 >= u90.day
    ASOF LEFT JOIN nps_daily n ON p.account_id = n.account_id AND p.d >= n.day
    ASOF LEFT JOIN touch_daily t ON p.account_id = t.account_id AND p.d >= t.day
    LEFT JOIN support s ON s.d = p.d AND s.account_id = p.account_id
),
scored AS (
    SELECT *,
        CASE WHEN seats > 0 AND days30 > 0
             THEN 100 * LEAST(1.0, (users30 / days30) / seats) END AS usage_score,
        CASE WHEN days30 > 0 AND days60 > 0 THEN
             CASE WHEN users60 = 0 THEN CASE WHEN users30 = 0 THEN 50.0 ELSE 100.0 END
                  ELSE GREATEST(0, LEAST(100, 50 + 100 * ((users30 / days30) / (users60 / days60) - 1)))
             END END AS trend_score,
        GREATEST(0, LEAST(100, 100 - $penalty_open_p1p2 * open_p1p2
                                   - $penalty_escalation * escalations)) AS support_score,
        CASE WHEN latest_nps >= 9 THEN $promoter_score
             WHEN latest_nps >= 7 THEN $passive_score
             WHEN latest_nps >= 0 THEN $detractor_score END AS sentiment_score,
        CASE coverage_tier WHEN 'named' THEN $cadence_named_days
                           WHEN 'pooled' THEN $cadence_pooled_days
                           ELSE $cadence_tech_touch_days END AS cadence_days
    FROM inputs
),
final AS (
    SELECT *,
        CASE WHEN days_since_touchpoint IS NULL THEN 0.0
             WHEN days_since_touchpoint <= cadence_days THEN 100.0
             ELSE GREATEST(0, 100 * (1 - (days_since_touchpoint - cadence_days) / (2.0 * cadence_days)))
        END AS engagement_score
    FROM scored
),
weighted AS (
    SELECT *,
        ROUND(($w_usage * COALESCE(usage_score, $neutral_score)
             + $w_trend * COALESCE(trend_score, $neutral_score)
             + $w_support * support_score
             + $w_sentiment * COALESCE(sentiment_score, $neutral_score)
             + $w_engagement * engagement_score) / $w_total, 1) AS health_score
    FROM final
)
SELECT d AS snapshot_date, account_id, arr, seats,
       ROUND(usage_score, 1) AS usage_score, ROUND(trend_score, 1) AS trend_score,
       ROUND(support_score, 1) AS support_score, ROUND(sentiment_score, 1) AS sentiment_score,
       ROUND(engagement_score, 1) AS engagement_score, health_score,
       CASE WHEN health_score >= $green_min THEN 'green'
            WHEN health_score >= $yellow_min THEN 'yellow' ELSE 'red' END AS band,
       NULLIF(concat_ws(', ',
           CASE WHEN usage_score IS NULL THEN 'usage' END,
           CASE WHEN trend_score IS NULL THEN 'usage trend' END,
           CASE WHEN sentiment_score IS NULL THEN 'NPS' END), '') AS missing_inputs,
       ROUND(CASE WHEN days30 > 0 THEN users30 / days30 END, 1) AS avg_active_users_30d,
       open_p1p2, escalations AS escalations_90d, latest_nps, days_since_touchpoint
FROM weighted
"""


def health_sql_params(
    dates: Sequence[date],
    params: HealthParams = DEFAULT_HEALTH,
    first_id: str | None = None,
    end_id: str | None = None,
) -> dict[str, Any]:
    """Named parameters for HEALTH_SQL; [first_id, end_id) limits it to a range of accounts."""
    values: dict[str, Any] = asdict(params)
    values["first_id"], values["end_id"] = first_id, end_id
    values["w_total"] = sum(params.weights().values())
    values["dates"] = [d.isoformat() for d in dates]
    return values


def weekly_grid(as_of: date, weeks: int) -> list[date]:
    """Snapshot dates: as_of and each 7 days before it, oldest first."""
    return [as_of - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
