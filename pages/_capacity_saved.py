"""Capacity tab 'saved' (being built: see issue #8)."""

from __future__ import annotations

from dash import html


def layout(data, filters, as_of, params):
    return html.Div("This tab is being built.", id="cp-saved-placeholder")


def save_panel(data, filters, as_of, params):
    """The save form under the what-if scenario (placeholder)."""
    return html.Div(id="cp-save-panel")
