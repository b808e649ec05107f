"""Renewals tab 'trend' (placeholder until built): layout and callbacks of this tab only."""

from __future__ import annotations

from components.states import empty_state


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    return empty_state("This section is being built.", None)
