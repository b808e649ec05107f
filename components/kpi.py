"""KPI card: value, change against the comparison date, and the metric's definition on hover."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import formatting
from services.metrics import Metric


def kpi_card(
    metric: Metric,
    value: float | None,
    previous: float | None,
    comparison_label: str,
    href: str | None = None,
) -> dbc.Card:
    """One KPI card; the whole card links to the accounts behind it when `href` is given."""
    delta_text, tone = formatting.metric_delta(metric, value, previous)
    definition = f"{metric.definition}\nFormula: {metric.formula}"
    body = [
        html.Div(
            [
                html.Span(metric.card_label, className="kpi-label"),
                html.Span(
                    "i", className="info-dot ms-1", title=definition, id=f"kpi-info-{metric.name}"
                ),
            ],
            className="d-flex align-items-center",
        ),
        html.Div(
            formatting.metric_value(metric, value),
            className="kpi-value",
            id=f"kpi-value-{metric.name}",
        ),
        html.Div(
            [
                html.Span(delta_text, className=f"kpi-delta kpi-{tone}"),
                html.Span(f" vs {comparison_label}", className="text-muted"),
            ],
            className="kpi-delta-row small",
        ),
    ]
    content = dcc.Link(body, href=href, className="kpi-link") if href else html.Div(body)
    return dbc.Card(dbc.CardBody(content), className="kpi-card h-100", id=f"kpi-card-{metric.name}")
