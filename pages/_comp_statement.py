"""Compensation tab 'statement' (being built: see issue #9)."""

from __future__ import annotations

from dash import html


def layout(data, filters, as_of, params):
    return html.Div("This tab is being built.", id="cm-statement-placeholder")
