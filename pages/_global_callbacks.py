"""Callbacks of the app shell: the filter bar <-> URL query string, and nav links keeping filters."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, no_update

from components import ids
from services.asof import earliest_complete_as_of, resolve_as_of
from services.db import get_database
from services.errors import InvalidFilter, ServiceError
from services.filter_options import filter_options, owner_labels, owner_options_matching
from services.filters import DIMENSIONS, Filters, parse_date, parse_query
from services.settings import load_settings

FILTER_KEYS = (*DIMENSIONS, "as_of")


def _search_with_filters(current_search: str | None, filters: Filters) -> str:
    """Replace the global filters in a query string, keeping page parameters (band, q, ...)."""
    page_params = {k: v for k, v in parse_query(current_search).items() if k not in FILTER_KEYS}
    return filters.to_search(page_params)


def filter_bar_options(filters: Filters) -> dict[str, list[dict[str, str]]]:
    """Dropdown options of each dimension, narrowed by the other filters, with counts; the
    chosen values are always among them (with 0), so a control never drops a URL's value.
    The shell's first render and every later sync use this, so both show the same lists."""
    try:
        db = get_database()
        options = filter_options(db, replace(filters, as_of=None), resolve_as_of(db, filters).date)
    except ServiceError:
        options = {}
    result = {}
    for dim in DIMENSIONS:
        dim_options = options.get(dim) or [
            {"label": v[:40], "value": v} for v in getattr(filters, dim)
        ]
        if dim == "owner" and len(dim_options) > load_settings().max_owner_options:
            # Thousands of CSMs would make every answer heavy: send the chosen ones and let
            # typing load the rest (see `search_owners`).
            dim_options = [o for o in dim_options if o["value"] in filters.owner]
        result[dim] = dim_options
    return result


def _options_with(filters: Filters) -> list[list[dict[str, str]]]:
    options = filter_bar_options(filters)
    return [options[dim] for dim in DIMENSIONS]


def _picker_bounds() -> tuple[date, date] | None:
    """First and last date the as-of picker offers (None without data)."""
    try:
        db = get_database()
        return earliest_complete_as_of(db), db.info().as_of_date
    except ServiceError:
        return None


def _picker_date(raw: str | None) -> str | None:
    """The URL's as-of as the date picker can show it; None when it cannot (malformed or out of
    the picker's range). Such a value stays in the URL and the page reports it."""
    bounds = _picker_bounds()
    try:
        day = parse_date(raw)
    except InvalidFilter:
        return None
    if day is None or bounds is None or not bounds[0] <= day <= bounds[1]:
        return None
    return day.isoformat()


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _same_view(a: str | None, b: str | None) -> bool:
    """Two query strings ask for the same view (order of parameters and values aside)."""

    def canonical(search):
        return {k: sorted(v) for k, v in parse_query(search).items()}

    return canonical(a) == canonical(b)


@callback(
    Output(ids.URL, "search"),
    *[Output(ids.filter_id(d), "value") for d in DIMENSIONS],
    *[Output(ids.filter_id(d), "options") for d in DIMENSIONS],
    Output(ids.FILTER_AS_OF, "date"),
    Input(ids.URL, "search"),
    *[Input(ids.filter_id(d), "value") for d in DIMENSIONS],
    Input(ids.FILTER_AS_OF, "date"),
    Input(ids.FILTER_RESET, "n_clicks"),
    State(ids.PAGE_STATE, "data"),
)
def sync_filters(search, *values):
    """Keeps the filter bar and the URL in step.

    Called when: the URL changes (load, reload, back, drill) -> the controls show its filters;
    a control changes or Reset is clicked -> the URL gets the new filters (and pages redraw).
    A value the controls cannot show (a malformed or out-of-range as-of) is kept in the URL and
    reported by the page; the control's echo of "nothing" is not taken for a user's choice.
    """
    dims = list(DIMENSIONS)
    *values, current = values  # `current`: the URL as it is now, page state included
    current = current if current is not None else search
    if ctx.triggered_id in (None, ids.URL):
        params = parse_query(search)
        try:
            filters = Filters.from_params({k: v for k, v in params.items() if k != "as_of"})
        except InvalidFilter:  # the page says what is wrong; the controls stay usable
            filters = Filters()
        picker = _picker_date(_first(params.get("as_of")))
        shown = dict(zip(dims, values[: len(dims)], strict=True))
        # Writing a value a control already shows makes it echo a change (one more round trip
        # on every page load): send only what differs.
        return (
            no_update,
            *[
                no_update
                if sorted(shown[d] or []) == list(getattr(filters, d))
                else list(getattr(filters, d))
                for d in dims
            ],
            *_options_with(filters.with_values(as_of=picker)),
            no_update if picker == values[len(dims)] else picker,
        )
    keep = [no_update for _ in dims]
    if ctx.triggered_id == ids.FILTER_RESET:
        return (
            _search_with_filters(current, Filters()),
            *[[] for _ in dims],
            *_options_with(Filters()),
            None,
        )
    chosen = dict(zip(dims, values[: len(dims)], strict=True))
    picked = values[len(dims)]
    raw_as_of = _first(parse_query(current).get("as_of"))
    filters = Filters.from_params(chosen)
    page_params = {k: v for k, v in parse_query(current).items() if k not in FILTER_KEYS}
    if picked is None and raw_as_of and _picker_date(raw_as_of) is None:
        page_params["as_of"] = raw_as_of  # the picker cannot show it: keep it, the page says why
    else:
        filters = filters.with_values(as_of=parse_date(picked))
    new_search = filters.to_search(page_params)
    options = _options_with(filters)
    url = no_update if _same_view(new_search, current) else new_search
    return (url, *keep, *options, no_update)


@callback(
    Output(ids.filter_id("owner"), "options", allow_duplicate=True),
    Input(ids.filter_id("owner"), "search_value"),
    State(ids.filter_id("owner"), "value"),
    State(ids.filter_id("owner"), "options"),
    State(ids.filter_id("team"), "value"),
    prevent_initial_call=True,
)
def search_owners(text, chosen, shown, teams):
    """Loads owners matching the typed text when the list is too long to send whole.

    Called when: the user types in the owner filter.
    """
    db = get_database()
    filters = Filters(team=tuple(teams or ()))
    if len(text or "") < 2 or len(owner_labels(db, filters)) <= load_settings().max_owner_options:
        return no_update
    chosen = chosen or []
    kept = [o for o in shown or [] if isinstance(o, dict) and o.get("value") in chosen]
    found = owner_options_matching(db, filters, str(text))
    return kept + [o for o in found if o["value"] not in chosen]


# Nav links keep the global filters. Clientside: a server round trip here was the last request
# of every first page load, queued behind the charts' first render.
clientside_callback(
    """
    function (search, linkIds) {
        const keep = FILTER_KEYS;
        const params = new URLSearchParams(search || "");
        const kept = new URLSearchParams();
        params.forEach((value, key) => { if (keep.includes(key)) kept.append(key, value); });
        const query = kept.toString();
        return linkIds.map((link) => link.path + (query ? "?" + query : ""));
    }
    """.replace("FILTER_KEYS", json.dumps(list(FILTER_KEYS))),
    Output({"type": ids.NAV_LINK, "path": ALL}, "href"),
    Input(ids.URL, "search"),
    State({"type": ids.NAV_LINK, "path": ALL}, "id"),
)
