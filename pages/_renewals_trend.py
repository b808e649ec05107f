"""Renewals tab 'Retention trend' (`?tab=retention`): trailing-12-month GRR/NRR by month and
segment, and the ARR bridge over a chosen period whose steps open the retention list.

Page state in the URL: `ratio` (grr | nrr) and `period` (services.arr_bridge.PERIODS).
"""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from components import ids
from components.renewals_trend import (
    RATIOS,
    bridge_figure,
    period_note,
    step_links,
    trend_figure,
    trend_layout,
)
from pages._shared import from_store, guarded, keep_in_url, page_param, retention_href
from services.arr_bridge import (
    DEFAULT_PERIOD,
    PERIODS,
    STEP_MOVEMENTS,
    arr_bridge,
    period_options,
    period_window,
)
from services.db import get_database
from services.retention_list import list_params
from services.retention_trend import retention_trend

STORE = "rn-view"
IDS = {
    "ratio": "rt-ratio",
    "period": "rt-period",
    "trend": "rt-trend",
    "trend_panel": "rt-trend-panel",
    "bridge": "rt-bridge",
    "bridge_panel": "rt-bridge-panel",
    "bridge_note": "rt-bridge-window",
    "bridge_links": "rt-bridge-links",
}


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    ratio = page_param(params, "ratio", RATIOS, "grr")
    period = page_param(params, "period", tuple(PERIODS), DEFAULT_PERIOD)
    return trend_layout(IDS, ratio, period, period_options(as_of.date))


@callback(Output(IDS["trend"], "figure"), Input(STORE, "data"), Input(IDS["ratio"], "value"))
@guarded(figures=1)
def render_trend(data, ratio):
    """Redraws the GRR/NRR lines. Called when: the view or the GRR/NRR toggle changes."""
    filters, snapshot = from_store(data)
    df = retention_trend(get_database(), filters, snapshot)
    return trend_figure(df, ratio if ratio in RATIOS else "grr")


def _step_hrefs(filters, period, snapshot) -> dict[str, str]:
    """Each bridge step's retention list (its accounts over the period), filters kept."""
    return {
        step: retention_href(filters, **list_params(period.start, period.end, snapshot, movement))
        for step, movement in STEP_MOVEMENTS.items()
    }


@callback(
    Output(IDS["bridge"], "figure"),
    Output(IDS["bridge_note"], "children"),
    Output(IDS["bridge_links"], "children"),
    Input(STORE, "data"),
    Input(IDS["period"], "value"),
)
@guarded(None, None, figures=1)
def render_bridge(data, period_key):
    """Redraws the ARR bridge, its dates and its step links. Called when: the view or the
    period changes."""
    filters, snapshot = from_store(data)
    period = period_window(period_key or DEFAULT_PERIOD, snapshot)
    bridge = arr_bridge(get_database(), filters, period.start, period.end)
    hrefs = _step_hrefs(filters, period, snapshot)
    return bridge_figure(bridge, period), period_note(period), step_links(bridge, hrefs)


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(IDS["bridge"], "clickData"),
    State(STORE, "data"),
    State(IDS["period"], "value"),
    prevent_initial_call=True,
)
def open_step(click, data, period_key):
    """Opens the retention list of a bridge step. Called when: a step is clicked."""
    point = ((click or {}).get("points") or [{}])[0]
    movement = (point.get("customdata") or [None])[0]
    if movement is None:
        return no_update
    filters, snapshot = from_store(data)
    period = period_window(period_key or DEFAULT_PERIOD, snapshot)
    return retention_href(filters, **list_params(period.start, period.end, snapshot, movement))


keep_in_url(IDS["ratio"], "value", "ratio", default="grr")
keep_in_url(IDS["period"], "value", "period", default=DEFAULT_PERIOD)
