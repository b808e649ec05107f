"""Definitions (/definitions): the metric registry as a readable page."""

from __future__ import annotations

import dash
from dash import html

from components import formatting
from components.capacity_books import workload_model_section
from components.capacity_rebalance import rules as rebalance_rules
from components.capacity_scenario import MODEL_TEXT
from components.comp_definitions import compensation_section
from components.shell import page_header
from components.theme import band_labels
from services.health_model import COMPONENT_LABELS, HealthParams, health_params
from services.metrics import registry
from services.rebalancing import RebalanceOptions
from services.settings import load_capacity_settings
from services.workload import WorkloadParams

dash.register_page(
    __name__, path="/definitions", name="Definitions", title="Definitions · CS Ops Console", order=8
)

UNIT_LABELS = {
    "money": "US dollars",
    "percent": "percent",
    "count": "count",
    "score": "score 0–100",
    "ratio": "ratio",
    "days": "days",
}


def health_in_force(params: HealthParams) -> html.Div:
    """The weights and band thresholds the health score is built with (the settings)."""
    weights = params.weights()
    total = sum(weights.values())
    parts = ", ".join(f"{COMPONENT_LABELS[c].lower()} {w:g}" for c, w in weights.items())
    return html.Div(
        [
            html.Span("Health model in force: ", className="fw-semibold"),
            f"weights {parts} (of {total:g}); bands ",
            ", ".join(band_labels(params).values()),
            ".",
        ],
        id="definitions-health-model",
        className="mb-3",
    )


def capacity_planning_section() -> html.Div:
    """How the Capacity page's what-if scenario and rebalancing work, with the defaults in
    force (the page can change each one for a what-if)."""
    c = load_capacity_settings()
    defaults = [
        f"Loaded cost per CSM {formatting.money(c.loaded_cost_per_csm)} a year.",
        f"CSM attrition {formatting.percent(c.attrition_per_year)} a year.",
        f"A new CSM ramps for {c.ramp_months} months at {formatting.percent(c.ramp_productivity)} "
        "of a full book.",
        f"A requisition takes {c.hiring_lead_days} days to a first day.",
        "New logos and logo churn: each segment's trailing 4 quarters, unless changed.",
    ]
    return html.Div(
        [
            html.H2("Capacity scenario", className="h6 mt-2"),
            html.Ul([html.Li(t) for t in MODEL_TEXT], className="small mb-1"),
            html.Div("Defaults:", className="small fw-semibold"),
            html.Ul([html.Li(t) for t in defaults], className="small mb-2"),
            html.H2("Rebalancing", className="h6 mt-2"),
            html.Div(
                rebalance_rules(RebalanceOptions.defaults(), WorkloadParams.defaults()),
                className="small mb-3",
            ),
        ],
        id="definitions-capacity-planning",
    )


def layout(**_params):
    params = health_params()
    rows = [
        html.Tr(
            [
                html.Td(
                    [
                        html.Div(m.label, className="fw-semibold"),
                        html.Code(m.name, className="small"),
                    ]
                ),
                html.Td(
                    [
                        html.Div(m.definition),
                        html.Div(m.caveats, className="text-muted small mt-1")
                        if m.caveats
                        else None,
                    ]
                ),
                html.Td(html.Code(m.formula)),
                html.Td(UNIT_LABELS[m.unit]),
                html.Td("higher" if m.higher_is_better else "lower"),
            ],
            id=f"definition-{m.name}",
        )
        for m in registry(params).values()
    ]
    return html.Div(
        [
            page_header("Metric definitions", "Every number in the console is defined once, here."),
            health_in_force(params),
            workload_model_section(
                WorkloadParams.defaults(), load_capacity_settings().arr_per_csm_target
            ),
            capacity_planning_section(),
            compensation_section(),
            html.Table(
                [
                    html.Thead(
                        html.Tr(
                            [
                                html.Th("Metric"),
                                html.Th("Definition"),
                                html.Th("Formula"),
                                html.Th("Unit"),
                                html.Th("Better when"),
                            ]
                        )
                    ),
                    html.Tbody(rows),
                ],
                className="table table-sm definitions-table",
            ),
        ]
    )
