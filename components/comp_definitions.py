"""The Definitions page's compensation section: how bonus metrics are measured and credited,
how targets are set and how the payout curve turns attainment into pay (one wording: the
texts live with the plan model in services/comp_plan.py)."""

from __future__ import annotations

from dash import html

from services.comp_plan import METRICS, ROLE_SCOPE, TARGET_RULES, Curve

ATTRIBUTION = (
    "A renewal or an expansion counts for the account's owner on the day it closed (the CRM's "
    "ownership history; an account the history does not list counts for its current owner). "
    "An account nobody owned that day counts as Unowned."
)
PROJECTION = (
    "Projected = actual to date + the renewal forecast for the rest of the period: each open "
    "renewal due by the period's end at its forecast renewal rate (segment x health band), "
    "with an 80% range treating renewals as independent draws; open expansion opportunities "
    "at the trailing win rate. An open renewal whose next contract is already active counts as "
    "retained; in the current period, renewals and opportunities past their date but still "
    "open are included. Share of ARR green and hygiene carry their current value."
)
FLAGS = (
    "Out of reach: even if every open renewal due in the period renews in full (and every open "
    "opportunity is won) the metric stays below the curve's threshold. Trivially reached: the "
    "target is met even if everything still open is lost. Share of ARR green and hygiene are "
    "not flagged while the period is open (they carry their current value)."
)


def curve_text(curve: Curve) -> str:
    return (
        f"Attainment = actual / target. Below the threshold ({curve.threshold:g}% in the default "
        f"curve) nothing is paid; at the threshold {curve.payout_at_threshold:g}% of the metric's "
        "bonus, rising in a straight line to 100% at target; above target each point of "
        f"attainment adds the accelerator ({curve.accelerator:g}) points of payout, up to the cap "
        f"({curve.cap:g}%). A metric pays its weight's share of the on-target bonus (annual, "
        "times the period's share of a year, times the share of the period the person was "
        "employed)."
    )


def compensation_section() -> html.Div:
    roles = "; ".join(f"{role}: {scope}" for role, scope in ROLE_SCOPE.items())
    return html.Div(
        [
            html.H2("Compensation", className="h6 mt-2"),
            html.Ul(
                [
                    html.Li([html.Span("Credit: ", className="fw-semibold"), ATTRIBUTION]),
                    html.Li(
                        [
                            html.Span("Who is measured on what: ", className="fw-semibold"),
                            roles,
                            ".",
                        ]
                    ),
                    html.Li(
                        [html.Span("Payout curve: ", className="fw-semibold"), curve_text(Curve())]
                    ),
                    html.Li(
                        [
                            html.Span("Targets: ", className="fw-semibold"),
                            "; ".join(TARGET_RULES.values()),
                            "; or set by hand with a reason. History and last period use "
                            "closed periods only. A money target is per CSM (a manager's or "
                            "the Director's is that times the CSMs they are measured on) and "
                            "prorated by the share of the period the person was employed; "
                            "rates are neither. People are as known on the as-of date.",
                        ]
                    ),
                    html.Li([html.Span("Projection: ", className="fw-semibold"), PROJECTION]),
                    html.Li([html.Span("Flags: ", className="fw-semibold"), FLAGS]),
                ],
                className="small mb-1",
            ),
            html.Div("Bonus metrics:", className="small fw-semibold"),
            html.Ul(
                [
                    html.Li([html.Span(f"{m.label}: ", className="fw-semibold"), m.definition])
                    for m in METRICS.values()
                ],
                className="small mb-3",
                id="definitions-compensation-metrics",
            ),
        ],
        id="definitions-compensation",
    )
