"""Empty, error and notice states: what the user sees instead of a chart or a stack trace."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def empty_state(
    message: str = "No accounts match these filters.",
    hint: str | None = "Widen the filters or clear them with “Reset”.",
) -> html.Div:
    return html.Div(
        [
            html.Div(message, className="fw-semibold"),
            html.Div(hint, className="text-muted small") if hint else None,
        ],
        className="empty-state text-center py-4",
    )


def error_state(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="danger", className="error-state mb-3")


def notice(message: str | None) -> dbc.Alert | None:
    return dbc.Alert(message, color="info", className="notice py-2 mb-3") if message else None
