"""The health model's validation summary: renewals scored, loss rate, recall, lift."""

from __future__ import annotations

from dash import html

from components import formatting
from components.shell import info_button
from services.health import Validation
from services.metrics import metric


def validation_stats(v: Validation, renewal_rate: float | None) -> html.Dl:
    """Definition list of the validation figures, each with its definition one hover away."""
    stats = [
        (
            "Renewals scored",
            formatting.count(v.renewals),
            f"closed with a renewal date from {v.window_start:%d %b %Y} to {v.window_end:%d %b %Y}",
        ),
        (
            metric("loss_rate").label + " (all)",
            formatting.percent(v.base_loss_rate),
            metric("loss_rate").definition,
        ),
        (
            metric("health_recall").label,
            formatting.percent(v.recall_lost_arr),
            metric("health_recall").definition,
        ),
        (
            metric("health_lift").label,
            formatting.ratio(v.lift_red),
            metric("health_lift").definition,
        ),
        (
            metric("renewal_rate").label + ", same renewals",
            formatting.percent(renewal_rate),
            metric("renewal_rate").definition,
        ),
    ]
    return html.Dl(
        [
            item
            for i, (label, value, help_text) in enumerate(stats)
            for item in (
                html.Dt([label, *info_button(f"validation-info-{i}", label, help_text)]),
                html.Dd(value, className="stat-value"),
            )
        ],
        className="validation-stats mb-0",
    )
