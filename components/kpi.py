"""KPI card: value, change against the comparison date, and the metric's definition one click away."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import formatting
from components.shell import info_button
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
    body = [
        html.Div(metric.card_label, className="kpi-label"),
        html.Div(
            formatting.metric_value(metric, value),
            className="kpi-value",
            id=f"kpi-value-{metric.name}",
            **(
                {"title": formatting.money_exact(value)}
                if metric.unit == "money" and value is not None
                else {}
            ),
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
    # The "i" sits beside the link, not in it: opening the definition never navigates.
    info = info_button(f"kpi-info-{metric.name}", metric.label, definition_body(metric))
    return dbc.Card(
        [dbc.CardBody(content), html.Div(info, className="kpi-info-slot")],
        className="kpi-card h-100",
        id=f"kpi-card-{metric.name}",
    )


def definition_body(metric: Metric) -> list:
    """A metric's definition, formula and a link to the Definitions page, for its popover."""
    return [
        html.P(metric.definition, className="mb-1"),
        html.P(["Formula: ", html.Code(metric.formula)], className="mb-1 small"),
        dcc.Link(
            "All definitions", href=f"/definitions#definition-{metric.name}", className="small"
        ),
    ]
