"""Page helpers: parse the view from URL parameters, render service errors, build drill links."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from dash import Input, Output, State, callback, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.charts import empty_figure
from components.states import error_state
from services.asof import AsOf, resolve_as_of
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters

log = logging.getLogger(__name__)
UNEXPECTED = "Something went wrong while preparing this view. It has been logged; try again or reset the filters."


def view_state(params: Mapping[str, Any]) -> tuple[dict[str, Any], Filters | None, AsOf | None]:
    """Store payload for a page's callbacks, plus the parsed filters and as-of (None on error)."""
    try:
        filters = Filters.from_params(params)
        as_of = resolve_as_of(get_database(), filters)
    except ServiceError as exc:
        return {"error": str(exc)}, None, None
    except Exception:  # never show a stack trace; the log has it
        log.exception("cannot resolve view")
        return {"error": UNEXPECTED}, None, None
    return {"search": filters.to_search(), "snapshot": as_of.date.isoformat()}, filters, as_of


def from_store(data: Mapping[str, Any] | None) -> tuple[Filters, date]:
    """Filters and snapshot date from a page's store; stops the callback if the view is invalid."""
    if not data or "error" in data:
        raise PreventUpdate
    return Filters.from_search(data["search"]), date.fromisoformat(data["snapshot"])


def guarded(*fallback_outputs: Any, figures: int = 0) -> Callable:
    """Turn service errors into a message in the first output; nothing else reaches the user.

    `fallback_outputs` are returned for the remaining outputs when an error is shown. With
    `figures=n` the first n outputs are graphs and each gets the message as an empty figure.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except PreventUpdate:
                raise
            except ServiceError as exc:
                text = str(exc)
            except Exception:
                log.exception("callback %s failed", fn.__name__)
                text = UNEXPECTED
            if figures:
                shown = tuple(empty_figure("", text) for _ in range(figures))
                return (
                    (*shown, *fallback_outputs)
                    if len(shown) + len(fallback_outputs) > 1
                    else shown[0]
                )
            message = error_state(text)
            return (message, *fallback_outputs) if fallback_outputs else message

        return wrapper

    return decorate


def clicked_row_id(cell: Mapping[str, Any] | None) -> str | None:
    """The row id of an AG Grid `cellClicked` event (None when nothing usable was clicked)."""
    return (cell or {}).get("rowId") or None


def link_grid_rows(
    grid_id: str, store_id: str, href_for: Callable[[str, Filters], str] | None = None
) -> None:
    """Register: clicking a row of `grid_id` navigates to `href_for(row id, filters)`.

    By default the row id is an account id and the row opens that Account 360.
    """
    href_for = href_for or account_href

    @callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input(grid_id, "cellClicked"),
        State(store_id, "data"),
        prevent_initial_call=True,
    )
    def open_row(cell, data):
        """Opens the page behind a row. Called when: a row of the grid is clicked."""
        filters, _ = from_store(data)
        row_id = clicked_row_id(cell)
        return href_for(row_id, filters) if row_id else no_update


def accounts_href(filters: Filters, **drill: Any) -> str:
    """Link to the Accounts list under `filters` plus drill parameters."""
    return "/accounts" + filters.to_search(drill)


def account_href(account_id: str, filters: Filters) -> str:
    return f"/accounts/{account_id}" + filters.to_search()
