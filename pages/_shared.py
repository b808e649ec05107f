"""Page helpers: parse the view from URL parameters, render service errors, build drill links."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from dash import Input, Output, State, callback, clientside_callback, no_update, set_props
from dash.exceptions import PreventUpdate

from components import ids
from components.charts import empty_figure
from components.grids import search_from_filter_model
from components.states import error_state
from services.asof import AsOf, resolve_as_of
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters, parse_query

log = logging.getLogger(__name__)
PAGES_LOCATION = "_pages_location"  # the dcc.Location Dash pages routes on (dash.dash._ID_LOCATION)
UNEXPECTED = "Something went wrong while preparing this view. It has been logged; try again or reset the filters."


def view_state(params: Mapping[str, Any]) -> tuple[dict[str, Any], Filters | None, AsOf | None]:
    """Store payload for a page's callbacks, plus the parsed filters and as-of (None on error).

    The store keeps the *requested* view (the URL's filters and as-of), never the snapshot it
    resolved to: each callback resolves it again, so a page left open across a rebuild keeps
    working on the new build's dates.
    """
    try:
        filters = Filters.from_params(params)
        as_of = resolve_as_of(get_database(), filters)
    except ServiceError as exc:
        return {"error": str(exc)}, None, None
    except Exception:  # never show a stack trace; the log has it
        log.exception("cannot resolve view")
        return {"error": UNEXPECTED}, None, None
    return {"search": filters.to_search()}, filters, as_of


def from_store(data: Mapping[str, Any] | None) -> tuple[Filters, date]:
    """Filters and the snapshot they resolve to now; stops the callback if the view is invalid."""
    if not data or "error" in data:
        raise PreventUpdate
    filters = Filters.from_search(data["search"])
    return filters, resolve_as_of(get_database(), filters).date


def page_param(params: Mapping[str, Any], key: str, allowed: Sequence[str], default: str) -> str:
    """A page-level URL parameter from an allow-list; anything else falls back to `default`."""
    value = params.get(key)
    value = value[0] if isinstance(value, list | tuple) and value else value
    return value if isinstance(value, str) and value in allowed else default


def with_page_param(search: str | None, key: str, value: Any, default: Any = None) -> str:
    """`search` with one page-level parameter set (removed when it equals `default`)."""
    params = parse_query(search)
    if value in (None, "", [], ()) or value == default:
        params.pop(key, None)
    else:
        params[key] = value if isinstance(value, list) else [str(value)]
    return "?" + urlencode(params, doseq=True) if params else ""


def _write_page_state(changes_js: str) -> str:
    """A clientside function body: `changes_js` (JS evaluating to {key: value}) written into
    the URL by assets/30_page_state.js."""
    return f"function (value) {{ return window.csopsPageState.write({changes_js}); }}"


def keep_in_url(component_id: str, prop: str, key: str, default: Any = None) -> None:
    """Register: the value of `component_id.prop` lives in the URL as `key` (shareable, survives
    reload and back) without rebuilding the page. Clientside: no round trip."""
    clientside_callback(
        _write_page_state(f"{{{json.dumps(key)}: value === {json.dumps(default)} ? null : value}}"),
        Output(ids.PAGE_STATE, "data", allow_duplicate=True),
        Input(component_id, prop),
        prevent_initial_call=True,
    )


def keep_params_in_url(component_id: str, prop: str) -> None:
    """Register: `component_id.prop` holds {key: value or None} and each key lives in the URL
    (None removes it). For a view whose state is several parameters that change together."""
    clientside_callback(
        _write_page_state("value || {}"),
        Output(ids.PAGE_STATE, "data", allow_duplicate=True),
        Input(component_id, prop),
        prevent_initial_call=True,
    )


def report_callback_error(err: Exception) -> None:
    """App-level handler (Dash `on_error`) for an exception no callback caught itself.

    The log gets the detail; the user gets one plain sentence at the top of the page.
    """
    if isinstance(err, ServiceError):
        text = str(err)
    else:
        log.error("callback failed", exc_info=err)
        text = UNEXPECTED
    set_props(ids.GLOBAL_MESSAGE, {"children": error_state(text)})


# The page state as it is in the address bar, refreshed on every navigation (load, link, back):
# the filter bar keeps these parameters when it rewrites the URL. Triggered by the pages
# router's own Location, which no callback writes: an input that the filter bar's callback
# outputs (ids.URL) would make Dash hold this one back until the filter bar had run on a
# stale value.
clientside_callback(
    "function () { return window.location.search; }",
    Output(ids.PAGE_STATE, "data"),
    Input(PAGES_LOCATION, "pathname"),
    Input(PAGES_LOCATION, "search"),
)


@callback(Output(ids.GLOBAL_MESSAGE, "children"), Input(ids.URL, "pathname"))
def clear_global_message(_):
    """Clears the app-level message. Called when: the user goes to another page."""
    return None


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


def _bounded_int(value: Any, low: int, high: int, default: int) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError, OverflowError):
        return default


@dataclass(frozen=True)
class RowsRequest:
    """A server-paged grid's request for rows, checked: the client may send anything."""

    start: int
    limit: int
    sort: tuple[tuple[str, str], ...]
    search: str

    MAX_BLOCK = 1000
    MAX_SORT_KEYS = 5

    @classmethod
    def from_client(cls, request: Any, sortable: Mapping[str, str]) -> RowsRequest | None:
        """None when there is no request; unknown sort columns and odd numbers are dropped."""
        if not isinstance(request, Mapping):
            return None
        start = _bounded_int(request.get("startRow"), 0, 100_000_000, 0)
        end = _bounded_int(request.get("endRow"), start + 1, start + cls.MAX_BLOCK, start + 100)
        model = request.get("sortModel")
        sort = tuple(
            (s["colId"], s["sort"])
            for s in (model if isinstance(model, list) else [])[: cls.MAX_SORT_KEYS]
            if isinstance(s, Mapping)
            and s.get("colId") in sortable
            and s.get("sort") in ("asc", "desc")
        )
        return cls(start, end - start, sort, search_from_filter_model(request.get("filterModel")))


def keep_grid_sort_in_url(grid_id: str, sortable: Mapping[str, str]) -> None:
    """Register: a server-paged grid's sort lives in the URL as `sort=field:dir` (repeatable),
    allow-listed as RowsRequest reads it. Clientside: no round trip."""
    clientside_callback(
        _write_page_state(
            "{sort: ((value && value.sortModel) || [])"
            f".filter(s => s && {json.dumps(sorted(sortable))}.includes(s.colId)"
            " && (s.sort === 'asc' || s.sort === 'desc'))"
            f".slice(0, {RowsRequest.MAX_SORT_KEYS}).map(s => s.colId + ':' + s.sort)}}"
        ),
        Output(ids.PAGE_STATE, "data", allow_duplicate=True),
        Input(grid_id, "getRowsRequest"),
        prevent_initial_call=True,
    )


def clicked_row_id(cell: Mapping[str, Any] | None) -> str | None:
    """The row id of an AG Grid `cellClicked` event (None when nothing usable was clicked)."""
    row_id = cell.get("rowId") if isinstance(cell, Mapping) else None
    return str(row_id)[:64] if row_id else None


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


def retention_href(filters: Filters, **params: Any) -> str:
    """Link to the retention list (the cohort behind GRR/NRR) under `filters`, e.g. movement=."""
    return "/retention" + filters.to_search(params)


def account_href(account_id: str, filters: Filters) -> str:
    return f"/accounts/{account_id}" + filters.to_search()
