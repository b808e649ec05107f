"""Capacity tab 'books' (being built: see issue #8)."""

from __future__ import annotations

from dash import html


def layout(data, filters, as_of, params):
    return html.Div("This tab is being built.", id="cp-books-placeholder")
