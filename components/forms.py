"""Form controls shared by the what-if editors."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc


def number_input(
    component_id: Any, value: Any, error: str | None = None, debounce: bool | int = True, **props
) -> dbc.Input:
    """A small text field for a number typed freely (the model checks it, not the browser):
    decimal keypad on phones, no autofill, marked invalid when `error`; updates after a pause
    (`debounce`: True = on blur or Enter, or milliseconds)."""
    return dbc.Input(
        id=component_id,
        type="text",
        inputMode="decimal",
        value=value,
        debounce=debounce,
        size="sm",
        invalid=bool(error),
        autoComplete="off",
        **props,
    )
