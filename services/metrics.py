"""The metric registry: every metric defined once (label, definition, formula, format).

KPI cards show `definition` in their tooltip, the Definitions page renders the whole registry,
and exports footnote it. Formulas follow docs ARCHITECTURE §4.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.health import VALIDATION_LEAD_DAYS
from services.health_model import DEFAULT_HEALTH, HealthParams, health_params
from services.settings import load_settings
from services.upsell import DEFAULT_UPSELL


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


def _n(value: float) -> str:
    """A parameter as written in a definition: 70, 12.5."""
    return f"{float(value):g}"


def band_limits(params: HealthParams) -> dict[str, str]:
    """Each band's range in words: green "70 or more", yellow "40 to < 70", red "under 40"."""
    return {
        "green": f"{_n(params.green_min)} or more",
        "yellow": f"{_n(params.yellow_min)} to < {_n(params.green_min)}",
        "red": f"under {_n(params.yellow_min)}",
    }


def missing_input_help(params: HealthParams | None = None) -> str:
    """The one-line rule for missing health inputs, with the neutral score in force."""
    p = params or health_params()
    return (
        f"An account's missing input scores a neutral {_n(p.neutral_score)} and is flagged; "
        "a feed not supplied is left out of the score."
    )


def health_metrics(params: HealthParams) -> list[Metric]:
    """The health score and its components, their weights and thresholds those of `params`."""
    total = sum(params.weights().values())
    weights = "/".join(_n(v) for v in params.weights().values())
    w = {c: _n(round(100 * v / total, 1)) for c, v in params.weights().items()}  # shares, %
    bands = band_limits(params)
    neutral = _n(params.neutral_score)
    return [
        Metric(
            "avg_health",
            "Average health",
            "Mean health score (0–100) of current customers, from usage, usage trend, support, "
            "sentiment and engagement.",
            f"mean(health_score); health = Σ weight × component / Σ weights ({weights})",
            "score",
            caveats="Health is computed weekly when the database is built; an as-of "
            "date uses the latest weekly score on or before it.",
        ),
        Metric(
            "pct_arr_red",
            "% of ARR in red",
            f"Share of ARR held by customers whose health band is red (score {bands['red']}).",
            "Σ arr where band = red / Σ arr",
            "percent",
            higher_is_better=False,
        ),
        Metric(
            "health_coverage",
            "Health coverage",
            "Share of customers whose health score has every input it should have: seats, "
            "usage in the last 30 days and the 60 before while a customer, an NPS answer in 12 "
            f"months. A missing input scores a neutral {neutral} and is flagged. A feed not "
            "supplied at all (no NPS survey, no touchpoints) is left out of everyone's score "
            "and lowers nobody's coverage.",
            "#(accounts with no missing input) / #accounts",
            "percent",
        ),
        Metric(
            "health_score",
            "Health score",
            f"0–100 score: usage {w['usage']}%, usage trend {w['trend']}%, support "
            f"{w['support']}%, sentiment {w['sentiment']}%, engagement {w['engagement']}%. "
            f"Bands: green {bands['green']}, yellow {bands['yellow']}, red {bands['red']} "
            "(of the score rounded to 1 decimal). A component whose feed was not supplied is "
            "left out and its weight spread over the others.",
            "Σ wᵢ × componentᵢ / Σ wᵢ over the components with a feed",
            "score",
        ),
        Metric(
            "usage_score",
            "Usage",
            "Average daily active users over the last 30 days against seats under contract. "
            "The average is over the calendar days the account was a customer (a day without "
            "a usage row is a day without activity); no activity at all scores 0.",
            "100 × min(1, Σ active users (30 d) / customer days / seats)",
            "score",
        ),
        Metric(
            "trend_score",
            "Usage trend",
            "Daily active users in the last 30 days against the 60 days before (both averaged "
            "over customer days): flat scores 50, no activity in the last 30 days scores 0.",
            "clamp(50 + 100 × (avg30 / avg prior 60 − 1), 0, 100)",
            "score",
        ),
        Metric(
            "support_score",
            "Support",
            "Penalises open P1/P2 tickets and escalations opened in the last 90 days.",
            f"clamp(100 − {_n(params.penalty_open_p1p2)} × open P1/P2 − "
            f"{_n(params.penalty_escalation)} × escalations, 0, 100)",
            "score",
        ),
        Metric(
            "sentiment_score",
            "Sentiment",
            f"Latest NPS answer in the last 12 months: promoter {_n(params.promoter_score)}, "
            f"passive {_n(params.passive_score)}, detractor {_n(params.detractor_score)}; "
            f"none = neutral {neutral} (flagged missing).",
            "by NPS category of the latest answer",
            "score",
        ),
        Metric(
            "engagement_score",
            "Engagement",
            "Days since the last touchpoint against the cadence the coverage tier expects "
            f"(named {params.cadence_named_days}, pooled {params.cadence_pooled_days}, "
            f"tech-touch {params.cadence_tech_touch_days} days).",
            "100 if days ≤ cadence, falling linearly to 0 at 3 × cadence; never = 0",
            "score",
        ),
    ]


_LEAD = f"{VALIDATION_LEAD_DAYS} days"
_INTERVAL = (
    "Shown with a 90% interval: Wilson's for counts; for ARR rates Wilson's on the effective "
    "number of renewals (Kish: (Σ ARR up)² / Σ ARR up²), so a few large renewals give a wide "
    "interval. A figure from fewer than 30 renewals is greyed: too few renewals to judge."
)
_PIPELINE = (
    "in the 4 calendar quarters from the date's own (renewal date from the date to the end of "
    "the 4th quarter), plus overdue ones (dated earlier, not closed by the date). On an earlier "
    "date the call is the latest in the call history by then; without one it is 'not called'"
)
_HYGIENE = "due within the hygiene window (the next 90 days by default; overdue ones included)"
_HYGIENE_PAST = (
    "Target: 90% by default. On an earlier date the CSM's call is known only from the call "
    "history; without one it is not known, and the share is not shown."
)

# The expansion propensity score's settings, as its definitions state them (services/upsell.py).
_UP = DEFAULT_UPSELL
_UP_PTS = {r: _n(v) for r, v in _UP.points().items()}
_UP_MIN = _UP.min_group
_UP_Q = _UP.validation_quarters

_FC = load_settings()  # the forecast's window and threshold, as the app runs

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
    *health_metrics(DEFAULT_HEALTH),
    # The health backtest (Health model page): closed renewals of the 4 quarters to the as-of
    # date, each scored on its account's snapshot LEAD days before the renewal date.
    Metric(
        "loss_rate_arr",
        "ARR lost at renewal (ARR)",
        f"Share of the ARR up for renewal that was lost (churned, or the part contracted), "
        f"over renewals closed in the last 4 quarters. ARR-based: large renewals weigh more. "
        f"{_INTERVAL}",
        "Σ ARR lost / Σ ARR up; ARR lost = ARR up if churned, ARR up − renewed ARR if contracted",
        "percent",
        higher_is_better=False,
    ),
    Metric(
        "loss_rate",
        "Renewals lost (count)",
        f"Share of renewals closed in the last 4 quarters that churned or contracted, each "
        f"renewal counting once whatever its size. {_INTERVAL}",
        "#(outcome ∈ churned, contracted) / #closed renewals",
        "percent",
        higher_is_better=False,
    ),
    Metric(
        "health_lift",
        "Lift of red",
        f"How many times the base rate red renewals were lost at: the loss rate of renewals "
        f"whose account was red {_LEAD} before the renewal date, over the loss rate of all "
        f"renewals (on ARR, or on counts, as labelled).",
        "loss rate(red) / loss rate(all)",
        "ratio",
    ),
    Metric(
        "health_recall",
        "Recall of lost ARR by red",
        f"Share of the ARR lost at renewal whose account was red {_LEAD} before the renewal "
        f"date. Read it beside the share of renewal ARR flagged red: flagging everything "
        f"catches everything.",
        "Σ ARR lost (band = red) / Σ ARR lost",
        "percent",
    ),
    Metric(
        "health_recall_ry",
        "Recall of lost ARR by red or yellow",
        f"Share of the ARR lost at renewal whose account was red or yellow {_LEAD} before the "
        f"renewal date. Yellow is a wide band: compare with the share of ARR it flags.",
        "Σ ARR lost (band ∈ red, yellow) / Σ ARR lost",
        "percent",
    ),
    Metric(
        "share_flagged",
        "Share of renewal ARR flagged",
        f"Share of the ARR up for renewal whose account was in the flagged band(s) {_LEAD} "
        f"before the renewal date: what a recall costs in accounts to look after.",
        "Σ ARR up (flagged) / Σ ARR up",
        "percent",
        higher_is_better=False,
    ),
    Metric(
        "health_auc",
        "AUC of the score",
        f"Chance that a renewal later lost (churned or contracted) had a lower health score "
        f"{_LEAD} before its renewal date than one kept, ties counting half: 0.5 is a coin "
        f"toss, 1.0 a perfect ranking. Count-based (each pair of renewals counts once); the "
        f"ARR-weighted one weighs each pair by both renewals' ARR up.",
        "P(score(lost) < score(kept)) + ½ P(equal), over all (lost, kept) pairs",
        "score",
    ),
    Metric(
        "health_drop_30d",
        "Health change (4 weeks)",
        "Health score now minus 4 weekly scores ago (28 days).",
        "health(s) − health(s − 28 days)",
        "score",
    ),
    # Renewal hygiene (Renewals page, Hygiene tab; services/renewal_hygiene.py): open renewals
    # due within the hygiene window, overdue ones included. Window and target are settings.
    Metric(
        "hygiene_category",
        "Renewals with a forecast category",
        f"Share of open renewals {_HYGIENE} that carry the CSM's forecast call (commit, "
        f"probable, at risk or churn). {_HYGIENE_PAST}",
        "#(forecast category set) / #renewals; on ARR: Σ ARR up of those / Σ ARR up",
        "percent",
        short_label="Forecast category set",
    ),
    Metric(
        "hygiene_reason",
        "At-risk renewals with a risk reason",
        f"Share of the at-risk open renewals {_HYGIENE} (CSM call at risk or churn, or health "
        f"red) that give a risk reason. Renewals not at risk are not counted. {_HYGIENE_PAST}",
        "#(at risk and risk reason given) / #(at risk); on ARR likewise",
        "percent",
        short_label="Risk reason when at risk",
    ),
    Metric(
        "hygiene_plan",
        "Renewals with a close plan",
        f"Share of open renewals {_HYGIENE} with a close plan. The close plan is held only as "
        "it stands on the data's as-of date: on an earlier date it is not known, and this "
        "share is not shown (never counted as missing). Target: 90% by default.",
        "#(has close plan) / #renewals; on ARR likewise",
        "percent",
        short_label="Close plan in place",
    ),
    Metric(
        "hygiene_owner",
        "Renewals with an active owner",
        f"Share of open renewals {_HYGIENE} whose account has an owner who is a CSM still "
        "employed on the date (no end date, or one after it). An account without an owner, "
        "or whose CSM has left, fails. Target: 90% by default.",
        "#(owner CSM employed on the date) / #renewals; on ARR likewise",
        "percent",
        short_label="Active owner",
    ),
    Metric(
        "hygiene_all",
        "Renewals passing every check",
        f"Share of open renewals {_HYGIENE} that pass every hygiene check known on the date: "
        "forecast category, risk reason when at risk, close plan, active owner.",
        "#(no check failed) / #renewals",
        "percent",
        short_label="All checks passed",
    ),
    # Renewal pipeline (Renewals page, Pipeline & risk tab; services/renewal_pipeline.py): open
    # renewals dated from the view's date to the end of its 4th calendar quarter, plus overdue.
    Metric(
        "renewal_arr_up",
        "ARR up for renewal",
        f"ARR up for renewal on the renewals open on the date {_PIPELINE}.",
        "Σ arr_up_for_renewal of open renewals dated before the end of the 4th quarter",
        "money",
        short_label="ARR up for renewal",
    ),
    Metric(
        "at_risk_arr",
        "At-risk ARR",
        f"ARR up for renewal whose CSM call known on the date is At risk or Churn, or whose "
        f"account's health band is red on the date: open renewals {_PIPELINE}.",
        "Σ arr_up where call ∈ {at risk, churn} or band = red",
        "money",
        higher_is_better=False,
    ),
    Metric(
        "at_risk_renewals",
        "At-risk renewals",
        f"Number of open renewals at risk (call At risk or Churn, or health red) {_PIPELINE}.",
        "#renewals where call ∈ {at risk, churn} or band = red",
        "count",
        higher_is_better=False,
    ),
    Metric(
        "at_risk_share",
        "Share of ARR up at risk",
        f"At-risk ARR as a share of all ARR up for renewal {_PIPELINE}.",
        "at-risk ARR / ARR up for renewal",
        "percent",
        higher_is_better=False,
        short_label="Share at risk",
    ),
    Metric(
        "renewal_data_problems",
        "Open renewals with data problems",
        "Open renewals on the date with a problem the data contract allows but a CRM should "
        "not hold: not linked to the contract they renew, of an account with no contract at "
        "all, or renewing the same contract as an earlier open renewal (a duplicate); and, on "
        "a date the forecast history does not reach back to, renewals whose CSM call is not "
        "known. Counted with their ARR up, per problem. They stay in every renewal figure: "
        "their ARR is up for renewal all the same (a duplicate counts twice).",
        "#open renewals and Σ arr_up meeting each problem's condition",
        "count",
        higher_is_better=False,
        short_label="Data problems",
    ),
    Metric(
        "upsell_score",
        "Expansion propensity",
        "0–100 score of how ready a customer is to buy more: the sum of fixed points for each "
        f"reason that applies on the day. Seats used: average daily active users over the last "
        f"30 days at or above {_n(_UP.seat_min_pct)}% of the seats under contract "
        f"(+{_UP_PTS['seats']}). Usage growing: active users in the last 30 days at least "
        f"{_n(_UP.growth_min_pct)}% above the 60 days before (+{_UP_PTS['growth']}). Health "
        f"band green (+{_UP_PTS['health']}). Promoter NPS: the latest answer within 12 months "
        f"is 9 or 10 (+{_UP_PTS['promoter']}). No expansion opportunity open "
        f"(+{_UP_PTS['no_open']}). A reason whose input is missing does not apply.",
        "Σ points of the reasons that apply",
        "score",
        short_label="Propensity score",
    ),
    Metric(
        "upsell_candidates",
        "Expansion candidates",
        f"Current customers scoring {_n(_UP.candidate_min)} or more on expansion propensity, "
        "listed by expected expansion ARR.",
        f"#customers with propensity score ≥ {_n(_UP.candidate_min)}",
        "count",
    ),
    Metric(
        "upsell_expected_arr",
        "Expected expansion ARR",
        "What pitching an expansion to each candidate is worth, weighted by its chance: the "
        "calibrated win rate of its score decile × the typical expansion size in its segment × "
        "its ARR. Win rate: past expansion opportunities by their score when created (see "
        "'Expansion win rate by score decile'), deciles pooled with their neighbours until each "
        f"pool has at least {_UP_MIN} opportunities and the rate never falls as the score rises. "
        "Typical size: the median won expansion ARR as a share of the account's ARR when the "
        f"opportunity was created, in the account's segment (over all segments when it has "
        f"fewer than {_UP_MIN} wins), from expansions won by the date. Rates and sizes come "
        "from the accounts under the current filters.",
        "calibrated win rate(decile) × median(won amount / ARR at creation | segment) × ARR",
        "money",
    ),
    Metric(
        "upsell_win_rate",
        "Expansion win rate by score decile",
        f"Share of the expansion opportunities closed won or lost in the last {_UP_Q} quarters "
        "that were won, by the account's propensity score when the opportunity was created: "
        "its weekly health snapshot on or before the creation date (at most 6 days earlier), "
        "its NPS and other open opportunities then; nothing later. Deciles are 10-point bands "
        "of the score (0–9 … 90–100). Win rates rising with the score show that it ranks "
        "customers well. An opportunity created before the health history starts is not "
        f"scored and is counted apart; a decile of fewer than {_UP_MIN} opportunities is "
        "greyed as too few to judge.",
        "#won / #(won + lost) per decile of the score at creation",
        "percent",
    ),
    Metric(
        "expansion_pipeline",
        "Open expansion pipeline",
        "Expansion opportunities open on the date: created by then and not closed won or lost "
        "by then. Count and Σ ARR amount, by stage. Stages and expected close dates are held "
        "as they stand on the data's latest date: on an earlier date they are not known. "
        "Amounts are as they stand.",
        "Σ amount_arr of the opportunities open on d",
        "money",
    ),
    # The ARR bridge (Renewals, retention trend): ARR on d0 to ARR on d1 over a period, steps
    # new, expansion, contraction and churn (the last three are the cohort's, as above).
    Metric(
        "bridge_start_arr",
        "Start ARR",
        "ARR on the day before the period's first day, over every customer under the filters: "
        "where the bridge starts. The customers paying then are the period's cohort.",
        "ARR(d0), d0 = the day before the period starts",
        "money",
    ),
    Metric(
        "new_arr",
        "New ARR",
        "ARR at the end of the period from accounts that had none at its start: new logos and "
        "returning customers (who paid before, had nothing at the start and pay again at the "
        "end; counted apart, never left out).",
        "Σ a1 where a0 = 0 and a1 > 0",
        "money",
    ),
    Metric(
        "bridge_end_arr",
        "End ARR",
        "ARR on the period's last day (the as-of date, or the last day of a past quarter), over "
        "every customer under the filters.",
        "ARR(d1) = start + new + expansion − contraction − churn",
        "money",
    ),
    # Renewal forecast (Renewals page, Forecast & accuracy tab; services/renewal_forecast.py,
    # services/forecast_accuracy.py). Window and threshold are settings (CSOPS_FORECAST_*).
    Metric(
        "forecast_expected",
        "Expected ARR kept (model)",
        f"ARR the open renewals are expected to keep: each renewal's ARR up times the renewal "
        f"rate (ARR) of past renewals like it, same segment and health band, closed in the "
        f"{_FC.forecast_trailing_quarters} quarters before the date. A segment × band group with "
        f"fewer than {_FC.forecast_min_renewals} closed renewals uses its segment's rate, a "
        f"segment with fewer the overall rate. An open renewal's band is its account's on the "
        f"date; a closed renewal's is the one it was scored on, {_LEAD} before its renewal date "
        "(if that was known by the date; otherwise, like a renewal without a band, it counts "
        "toward its segment and overall only). Fitted on every renewal, whatever the filters, "
        "so a renewal's forecast is the same in every view.",
        "Σ arr_up × r(segment, band); r = Σ min(renewed_arr, arr_up) / Σ arr_up over the "
        "group's closed renewals (churned keep 0)",
        "money",
        short_label="Expected ARR kept",
    ),
    Metric(
        "forecast_range",
        "80% range of the ARR kept",
        "Where the ARR kept should land 8 times in 10 if the rates hold: each renewal is "
        "treated as an independent draw that keeps all its ARR up with probability r (its rate) "
        "or loses it, so the ARR kept has variance Σ ARR up² × r × (1 − r). The range is the "
        "expected ARR kept ± 1.28 standard deviations (a normal approximation), held between 0 "
        "and the ARR up. Renewals that move together (a bad quarter for a whole segment) make "
        "the real range wider.",
        "Σ arr·r ± 1.2816 × √(Σ arr² · r · (1 − r))",
        "money",
    ),
    Metric(
        "forecast_call",
        "CSM call (commit + probable)",
        "ARR up of the open renewals their CSM calls Commit or Probable, as the call stood on "
        "the date (on an earlier date, the latest call in the call history by then). Renewals "
        "called At risk or Churn, and renewals without a call, count as not kept.",
        "Σ arr_up where call ∈ {commit, probable}",
        "money",
        short_label="CSM call",
    ),
    Metric(
        "forecast_gap",
        "Gap: model − CSM call",
        "The model's expected ARR kept minus the CSMs' commit + probable on the same renewals. "
        "Positive: the calls are more cautious than the history of similar renewals; negative: "
        "more optimistic.",
        "expected ARR kept (model) − CSM call",
        "money",
        short_label="Model − call",
    ),
    Metric(
        "projected_grr",
        "Projected GRR (fiscal year)",
        "GRR of the fiscal year's cohort (customers with ARR on the year's first day) at the "
        "year's end, projected: their ARR from the year's first day to the date as it happened "
        "(the retention cards' definition), then each of their open renewals due before the "
        "year ends at the model's rate r. One still in today's ARR loses ARR up × (1 − r); one "
        "whose term has ended without a new contract yet (overdue) comes back as ARR up × r; one "
        "already replaced by a running contract is in today's ARR. New customers are excluded; "
        "expansion after the date is not forecast.",
        "Σ min(a0, â1) / Σ a0; a0 = ARR(FY start), â1 = max(0, ARR(date) − Σ arr_up × (1 − r) "
        "+ Σ lapsed arr_up × r)",
        "percent",
        short_label="Projected GRR",
    ),
    Metric(
        "projected_nrr",
        "Projected NRR (fiscal year)",
        "ARR at the fiscal year's end projected for the customers of its first day, as a share "
        "of their ARR then: actual movement to the date plus the model's expected losses on "
        "their renewals due before the year ends (see Projected GRR). Expansion after the date "
        "is not forecast, so this is a floor for NRR rather than a bet on upsell.",
        "Σ â1 / Σ a0 (â1 as for Projected GRR)",
        "percent",
        short_label="Projected NRR",
    ),
    Metric(
        "forecast_baseline",
        "Last year's rate (baseline)",
        "The naive forecast a quarter's model is compared with: the overall renewal rate (ARR) "
        "of the renewals closed in the 4 quarters before the forecast date, times the ARR up.",
        "r(all, last 4 quarters) × Σ arr_up",
        "money",
    ),
    Metric(
        "forecast_actual",
        "ARR kept (actual)",
        "ARR a quarter's renewals kept: renewed ARR up to the ARR up, nothing if churned, as "
        "known on the date viewed. The renewals are those open at the quarter's start with a "
        "renewal date in it. One that closed after the quarter ended counts at its outcome; one "
        "still open counts as not kept (the page says how many).",
        "Σ min(renewed_arr, arr_up) over closed renewals (churned keep 0)",
        "money",
    ),
    Metric(
        "forecast_error",
        "Forecast error",
        "A forecast minus the ARR actually kept, in money and as a share of the ARR kept. Each "
        "forecast is as it stood at the quarter's start (the last weekly snapshot on or before "
        "its first day), from data known then. Over several quarters: Σ |error| / Σ ARR kept.",
        "forecast − actual; Σ |forecast − actual| / Σ actual",
        "percent",
        higher_is_better=False,
    ),
    Metric(
        "forecast_hit_rate",
        "Quarters inside the 80% range",
        "How often the ARR kept fell within the model's 80% range made at the quarter's start. "
        "A range that holds is right about 8 quarters in 10; fewer means the range is too "
        "narrow (renewals are not independent draws).",
        "#(low ≤ actual ≤ high) / #quarters",
        "percent",
    ),
]

REGISTRY: dict[str, Metric] = {m.name: m for m in _METRICS}


def registry(params: HealthParams | None = None) -> dict[str, Metric]:
    """Every metric, in order, with the health wording of `params` (default: the settings)."""
    health = {m.name: m for m in health_metrics(params or health_params())}
    return {name: health.get(name, m) for name, m in REGISTRY.items()}


def metric(name: str, params: HealthParams | None = None) -> Metric:
    """Look a metric up by name (KeyError names the missing one); health ones per `params`."""
    if params is not None:
        return registry(params)[name]
    return REGISTRY[name]


# ---- Capacity: books and the workload model (services/workload.py, services/capacity_books.py)
def capacity_metrics() -> list[Metric]:
    """The books' metrics, their lines and targets those of the settings in force (the page
    can change the model for a what-if; the Definitions page lists the parameters in force)."""
    from services.settings import load_capacity_settings

    s = load_capacity_settings()
    over, under = _n(100 * s.overloaded_above), _n(100 * s.underloaded_below)
    target = _n(100 * s.target_utilisation)
    return [
        Metric(
            "capacity_csms",
            "CSMs (active)",
            "CSMs (role CSM) employed on the date: hired on or before it and not left by it. "
            "In a filtered view, a CSM of the filtered team (owner) or one owning accounts in "
            "the filters. A CSM who left is not counted, even with accounts still assigned.",
            "#csms where role = CSM and hire_date ≤ d and (end_date is null or end_date > d)",
            "count",
        ),
        Metric(
            "workload_points",
            "Workload points",
            "What an account costs its CSM: the points of its segment × coverage tier in the "
            "workload model, times the red (yellow) weight when the model weighs health. A "
            "book's points are its accounts' sum.",
            "points(a) = P[segment, tier] × (w_red | w_yellow | 1 by health band)",
            "count",
        ),
        Metric(
            "capacity_utilisation",
            "Utilisation",
            "A CSM's book points over their capacity (their capacity points, the model's "
            f"default when the record has none). For a team or the company: every account's "
            "points in scope, open books and unowned accounts included (someone has to carry "
            f"them), over the active CSMs' capacity. Target {target}%.",
            "Σ points / Σ capacity(active CSMs)",
            "percent",
            higher_is_better=False,
            caveats="Books are today's owners: the data has no ownership history, so a past "
            "date shows that date's accounts, ARR and health with today's owners.",
            short_label="Utilisation",
        ),
        Metric(
            "capacity_overloaded",
            "Over-loaded CSMs",
            f"Active CSMs whose utilisation is above the over-loaded line ({over}% unless "
            "changed on the page), or who carry accounts with no capacity.",
            f"#CSMs where points / capacity > {over}%",
            "count",
            higher_is_better=False,
        ),
        Metric(
            "capacity_underloaded",
            "Under-loaded CSMs",
            f"Active CSMs whose utilisation is below the under-loaded line ({under}% unless "
            "changed on the page); a CSM without accounts is at 0%. New hires still ramping "
            "are counted and said so.",
            f"#CSMs where points / capacity < {under}%",
            "count",
            higher_is_better=False,
        ),
        Metric(
            "capacity_open_books",
            "Open books",
            "Accounts whose owner has left (an end date on or before the date) or is missing "
            "(no owner, or one not on the CSM list), with their ARR: books nobody carries.",
            "#accounts, Σ arr where owner departed or missing",
            "count",
            higher_is_better=False,
        ),
        Metric(
            "arr_per_csm",
            "ARR per CSM",
            "ARR of the customers in scope (open books included) per active CSM, against the "
            f"coverage target of {money_text(s.arr_per_csm_target)} (a setting).",
            "Σ arr / #active CSMs",
            "money",
            higher_is_better=False,
        ),
        Metric(
            "accounts_per_csm",
            "Accounts per CSM (by tier)",
            "Accounts of a coverage tier per active CSM. Its target comes from the workload "
            "model: a CSM's capacity at the target utilisation over the tier's average points "
            "per account in the view's book mix (segments and health included).",
            "#accounts(tier) / #CSMs; target = capacity × target utilisation / avg points(tier)",
            "count",
        ),
    ]


def money_text(value: float) -> str:
    """A money parameter as written in a definition: $2.5M, $150K."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"${value / size:g}{suffix}"
    return f"${value:g}"


REGISTRY.update({m.name: m for m in capacity_metrics()})
