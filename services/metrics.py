"""The metric registry: every metric defined once (label, definition, formula, format).

KPI cards show `definition` in their tooltip, the Definitions page renders the whole registry,
and exports footnote it. Formulas follow docs ARCHITECTURE §4.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One metric as users see it."""

    name: str
    label: str
    definition: str
    formula: str
    unit: str  # money | percent | count | score | days
    higher_is_better: bool = True
    caveats: str = ""
    short_label: str = ""

    @property
    def card_label(self) -> str:
        return self.short_label or self.label


_METRICS = [
    Metric(
        "arr",
        "ARR",
        "Annual recurring revenue under contract on the as-of date.",
        "ARR(d) = Σ contracts.arr where start_date ≤ d < end_date",
        "money",
    ),
    Metric(
        "accounts",
        "Customers",
        "Accounts with ARR above zero on the as-of date.",
        "#accounts with ARR(d) > 0",
        "count",
    ),
    Metric(
        "grr",
        "Gross revenue retention",
        "Share of the ARR held a year ago that is still held, counting losses (churn and "
        "contraction) but not expansion. New logos are excluded.",
        "GRR = (Σa0 − churned − contraction) / Σa0 over the cohort with a0 = ARR(as_of − 12 "
        "months) > 0, a1 = ARR(as_of)",
        "percent",
        short_label="GRR (12 months)",
        caveats="Cohort by current owner and segment; accounts moved between books count "
        "where they are now.",
    ),
    Metric(
        "nrr",
        "Net revenue retention",
        "ARR today from the customers of a year ago, as a share of their ARR then: losses "
        "and expansion both count. New logos are excluded.",
        "NRR = Σa1 / Σa0 over the cohort with a0 = ARR(as_of − 12 months) > 0",
        "percent",
        short_label="NRR (12 months)",
    ),
    Metric(
        "logo_retention",
        "Logo retention",
        "Share of last year's customers still paying today.",
        "#(a1 > 0) / #(a0 > 0)",
        "percent",
    ),
    Metric(
        "churned_arr",
        "Churned ARR",
        "ARR of cohort accounts that dropped to zero.",
        "Σ a0 where a1 = 0",
        "money",
        higher_is_better=False,
    ),
    Metric(
        "contraction_arr",
        "Contraction ARR",
        "ARR lost by cohort accounts that shrank.",
        "Σ (a0 − a1) where 0 < a1 < a0",
        "money",
        higher_is_better=False,
    ),
    Metric(
        "expansion_arr",
        "Expansion ARR",
        "ARR gained by cohort accounts that grew.",
        "Σ (a1 − a0) where a1 > a0",
        "money",
    ),
    Metric(
        "renewal_rate",
        "Renewal rate (ARR)",
        "Share of ARR up for renewal that renewed, counting expansion only up to the "
        "original amount.",
        "Σ min(renewed_arr, arr_up_for_renewal) / Σ arr_up_for_renewal over closed renewals",
        "percent",
    ),
    Metric(
        "avg_health",
        "Average health",
        "Mean health score (0–100) of current customers, from usage, usage trend, support, "
        "sentiment and engagement.",
        "mean(health_score); health = Σ weight × component / Σ weights (30/20/15/15/20)",
        "score",
        caveats="Health is computed weekly when the database is built; an as-of "
        "date uses the latest weekly score on or before it.",
    ),
    Metric(
        "pct_arr_red",
        "% of ARR in red",
        "Share of ARR held by customers whose health band is red (score below 40).",
        "Σ arr where band = red / Σ arr",
        "percent",
        higher_is_better=False,
    ),
    Metric(
        "health_coverage",
        "Health coverage",
        "Share of customers whose health score has every input (usage feed, seats, 90 days "
        "of usage history, an NPS answer in 12 months). Missing inputs count as neutral (50).",
        "#(accounts with no missing input) / #accounts",
        "percent",
    ),
    Metric(
        "health_score",
        "Health score",
        "0–100 score: usage 30%, usage trend 20%, support 15%, sentiment 15%, engagement "
        "20%. Bands: green ≥ 70, yellow 40–69, red < 40.",
        "Σ wᵢ × componentᵢ / Σ wᵢ",
        "score",
    ),
    Metric(
        "usage_score",
        "Usage",
        "Average daily active users over the last 30 days against seats under contract.",
        "100 × min(1, avg active users (30 d) / seats)",
        "score",
    ),
    Metric(
        "trend_score",
        "Usage trend",
        "Active users in the last 30 days against the 60 days before: flat scores 50.",
        "clamp(50 + 100 × (avg30 / avg prior 60 − 1), 0, 100)",
        "score",
    ),
    Metric(
        "support_score",
        "Support",
        "Penalises open P1/P2 tickets and escalations opened in the last 90 days.",
        "clamp(100 − 25 × open P1/P2 − 20 × escalations, 0, 100)",
        "score",
    ),
    Metric(
        "sentiment_score",
        "Sentiment",
        "Latest NPS answer in the last 12 months: "
        "promoter 100, passive 60, detractor 20; none = neutral 50 (flagged missing).",
        "by NPS category of the latest answer",
        "score",
    ),
    Metric(
        "engagement_score",
        "Engagement",
        "Days since the last touchpoint against the "
        "cadence the coverage tier expects (named 30, pooled 60, tech-touch 120 days).",
        "100 if days ≤ cadence, falling linearly to 0 at 3 × cadence; never = 0",
        "score",
    ),
    Metric(
        "health_recall",
        "Recall of lost ARR",
        "Share of ARR lost at renewal (churn or contraction) in the last 4 quarters whose "
        "account was red or yellow 90 days before the renewal date.",
        "Σ lost ARR (band ∈ red, yellow) / Σ lost ARR",
        "percent",
    ),
    Metric(
        "health_lift",
        "Lift of red",
        "How many times more often red accounts churned or contracted than the average "
        "renewal (band 90 days before, renewals of the last 4 quarters).",
        "loss rate(red) / loss rate(all)",
        "ratio",
    ),
    Metric(
        "loss_rate",
        "Churn or contraction rate",
        "Share of closed renewals that churned or contracted.",
        "#(outcome ∈ churned, contracted) / #closed renewals",
        "percent",
        higher_is_better=False,
    ),
    Metric(
        "health_drop_30d",
        "Health change (4 weeks)",
        "Health score now minus 4 weekly scores ago (28 days).",
        "health(s) − health(s − 28 days)",
        "score",
    ),
]

REGISTRY: dict[str, Metric] = {m.name: m for m in _METRICS}


def metric(name: str) -> Metric:
    """Look a metric up by name (KeyError names the missing one)."""
    return REGISTRY[name]
