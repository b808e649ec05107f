"""Renewals tab 'Pipeline & risk' (the default tab of /renewals): what is up for renewal when and
under which call, what is at risk and why, and the biggest renewals at risk.

Every bar, tile and row opens what is behind it: the open renewal list (`/renewals/list?
status=open&...`) for exactly that bar, or Account 360 for a row. The calendar's month/quarter
toggle is in the URL (`cal=`). Component ids start with `rp-`.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.renewals_pipeline import (
    CALENDAR_HELP,
    QUARTER_HELP,
    REASON_HELP,
    TOP_HELP,
    calendar_figure,
    kpi_tiles,
    reason_figure,
    renewal_records,
    risk_by_quarter_figure,
    top_footer,
    top_table,
    window_text,
)
from components.shell import panel_col
from pages._shared import account_href, from_store, guarded, keep_in_url, link_grid_rows, page_param
from services.db import get_database
from services.filters import Filters
from services.renewal_list import MAX_REASON_LENGTH, renewal_account
from services.renewal_pipeline import (
    CALLS,
    GRAINS,
    at_risk_by_reason,
    bucket_of,
    buckets,
    pipeline_summary,
    renewal_calendar,
    top_at_risk,
    window_drill,
)

STORE = "rn-view"  # pages/renewals.py: the view (filters + requested as-of) of every tab
GRAPH_CONFIG = {"displayModeBar": False}
CAL = "rp-cal"
CALENDAR, REASONS, QUARTERS = "rp-calendar", "rp-reasons", "rp-risk-quarters"
KPIS, WINDOW, TOP, TOP_FOOTER = "rp-kpis", "rp-window", "rp-top", "rp-top-footer"
GRAIN_OPTIONS = [{"label": "Quarter", "value": "quarter"}, {"label": "Month", "value": "month"}]
LIST = "/renewals/list"


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    grain = page_param(params, "cal", GRAINS, "quarter")
    toggle = dbc.RadioItems(
        id=CAL, options=GRAIN_OPTIONS, value=grain, inline=True, className="small"
    )
    graph = {"config": GRAPH_CONFIG}
    return html.Div(
        [
            html.Div(window_text(as_of.date), id=WINDOW, className="small text-muted mb-2"),
            html.Div(id=KPIS),
            dbc.Row(
                panel_col(
                    12,
                    "Renewal calendar",
                    dcc.Graph(id=CALENDAR, **graph),
                    panel_id="rp-calendar-panel",
                    help_text=CALENDAR_HELP,
                    tools=toggle,
                )
            ),
            dbc.Row(
                [
                    panel_col(
                        7,
                        "At risk, by reason",
                        dcc.Graph(id=REASONS, **graph),
                        panel_id="rp-reasons-panel",
                        help_text=REASON_HELP,
                    ),
                    panel_col(
                        5,
                        "At risk, by quarter",
                        dcc.Graph(id=QUARTERS, **graph),
                        panel_id="rp-quarters-panel",
                        help_text=QUARTER_HELP,
                    ),
                ]
            ),
            dbc.Row(
                panel_col(
                    12,
                    "Top renewals at risk",
                    [top_table(TOP), html.Div(id=TOP_FOOTER, className="small mt-2")],
                    panel_id="rp-top-panel",
                    help_text=TOP_HELP,
                )
            ),
        ]
    )


def list_href(filters: Filters, **drill: str) -> str:
    """The open renewal list under `filters`, narrowed by `drill` (OpenDrill's URL keys)."""
    return LIST + filters.to_search({"status": "open", **drill})


@callback(Output(CALENDAR, "figure"), Input(STORE, "data"), Input(CAL, "value"))
@guarded(figures=1)
def render_calendar(data, grain):
    """Redraws the renewal calendar. Called when: the view or the month/quarter toggle changes."""
    filters, day = from_store(data)
    return calendar_figure(renewal_calendar(get_database(), filters, day, grain))


@callback(
    Output(REASONS, "figure"),
    Output(QUARTERS, "figure"),
    Output(KPIS, "children"),
    Input(STORE, "data"),
)
@guarded(None, figures=2)
def render_risk(data):
    """Redraws the KPI tiles and at-risk ARR by reason and by quarter. Called when: the view
    changes."""
    filters, day = from_store(data)
    db = get_database()
    by_reason, quarters = at_risk_by_reason(db, filters, day), buckets(day, "quarter")
    window = window_drill(day)
    tiles = kpi_tiles(
        pipeline_summary(db, filters, day),
        list_href(filters, **window),
        list_href(filters, risk="1", **window),
    )
    return reason_figure(by_reason, quarters), risk_by_quarter_figure(by_reason, quarters), tiles


@callback(Output(TOP, "rowData"), Output(TOP_FOOTER, "children"), Input(STORE, "data"))
@guarded([])
def render_top(data):
    """Redraws the top at-risk renewals. Called when: the view changes."""
    filters, day = from_store(data)
    db = get_database()
    top = top_at_risk(db, filters, day)
    total = pipeline_summary(db, filters, day)["at_risk_renewals"]
    footer = top_footer(len(top), total, list_href(filters, risk="1", **window_drill(day)))
    return renewal_records(top), footer


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(CALENDAR, "clickData"),
    Input(CALENDAR, "clickAnnotationData"),
    Input(REASONS, "clickData"),
    Input(QUARTERS, "clickData"),
    Input(QUARTERS, "clickAnnotationData"),
    State(STORE, "data"),
    State(CAL, "value"),
    prevent_initial_call=True,
)
def drill(*args):
    """Opens the renewal list behind a clicked bar, segment or bar total. Called when: one is
    clicked."""
    *_, data, grain = args
    filters, day = from_store(data)
    grain = grain if grain in GRAINS else "quarter"  # as the calendar drew it
    trigger = dash.ctx.triggered_id
    value = dash.ctx.triggered[0]["value"] or {}
    if dash.ctx.triggered[0]["prop_id"].endswith("clickAnnotationData"):
        custom = [(value.get("annotation") or {}).get("name")]  # a bar's total: the whole bar
    else:
        custom = ((value.get("points") or [{}])[0]).get("customdata") or []
    if not custom or not isinstance(custom[0], str):
        return no_update
    if trigger == REASONS:
        reason = custom[0][:MAX_REASON_LENGTH]
        return list_href(filters, risk="1", reason=reason, **window_drill(day))
    bucket = bucket_of(day, grain if trigger == CALENDAR else "quarter", custom[0])
    if bucket is None:
        return no_update
    if trigger == QUARTERS:
        return list_href(filters, risk="1", **bucket.drill())
    call = custom[1] if len(custom) > 1 else ""
    if call and call not in CALLS:
        return no_update
    return list_href(filters, category=call, **bucket.drill())


def renewal_href(renewal_id: str, filters: Filters) -> str:
    """Account 360 of a renewal's account (rows are renewals: an account can renew twice)."""
    account_id = renewal_account(get_database(), filters, renewal_id)
    if account_id is None:
        raise PreventUpdate
    return account_href(account_id, filters)


link_grid_rows(TOP, STORE, renewal_href)
keep_in_url(CAL, "value", "cal", "quarter")
