"""Renewals tab 'Forecast & accuracy': what the model expects us to keep per quarter with an 80%
range, beside the CSMs' call; the gap per CSM or team; the model's rates; projected fiscal-year
GRR and NRR; and how close past forecasts came (model, call, last year's rate).

Bars, tiles and rows open what is behind them: the open renewal list
(`/renewals/list?status=open&...`) for a quarter, an owner or a team, the retention list of the
fiscal year so far for the projected GRR/NRR, and for a past quarter of the accuracy chart or
table the renewals its forecasts covered (`/renewals/list?backtest=2026-Q3`). The gap grouping is in the URL (`gap=`). Component
ids start with `rf-`.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.renewals_forecast import (
    ACCURACY_HELP,
    GAP_HELP,
    GAP_OPTIONS,
    QUARTERS_HELP,
    RATES_HELP,
    accuracy_figure,
    accuracy_table,
    forecast_tiles,
    fy_table,
    fy_tiles,
    gap_columns,
    gap_grid,
    gap_records,
    gap_title,
    quarter_key,
    quarters_figure,
    range_words,
    rates_table,
    window_text,
)
from components.shell import panel_col
from pages._shared import from_store, guarded, keep_in_url, link_grid_rows, page_param
from services.db import get_database
from services.filters import Filters
from services.forecast_accuracy import forecast_accuracy
from services.metrics import metric
from services.renewal_forecast import (
    GAP_GROUPS,
    forecast_gap,
    projected_retention,
    rate_levels,
    renewal_forecast,
)
from services.renewal_pipeline import bucket_of, window_drill
from services.retention_list import list_params

STORE = "rn-view"  # pages/renewals.py: the view (filters + requested as-of) of every tab
GRAPH_CONFIG = {"displayModeBar": False}
KPIS, FY_KPIS, WINDOW, FY = "rf-kpis", "rf-fy-kpis", "rf-window", "rf-fy"
QUARTERS, RATES = "rf-quarters", "rf-rates"
GAP_BY, GAP, GAP_TITLE = "rf-gap-by", "rf-gap", "rf-gap-title"
ACCURACY, ACCURACY_TABLE = "rf-accuracy", "rf-accuracy-detail"
LIST = "/renewals/list"


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    by = page_param(params, "gap", GAP_GROUPS, "owner")
    graph = {"config": GRAPH_CONFIG}
    toggle = dbc.RadioItems(
        id=GAP_BY, options=GAP_OPTIONS, value=by, inline=True, className="small"
    )
    return html.Div(
        [
            html.Div(id=WINDOW, className="small text-muted mb-2"),
            dbc.Row(
                [dbc.Col(html.Div(id=KPIS), lg=7), dbc.Col(html.Div(id=FY_KPIS), lg=5)],
                className="g-3",
            ),
            dbc.Row(
                panel_col(
                    12,
                    "Expected ARR kept per quarter, beside the CSMs' call",
                    [
                        dcc.Graph(id=QUARTERS, **graph),
                        html.P(
                            range_words(),
                            className="small text-muted mb-0 mt-1",
                            id="rf-range-words",
                        ),
                    ],
                    panel_id="rf-quarters-panel",
                    help_text=QUARTERS_HELP,
                )
            ),
            dbc.Row(
                panel_col(
                    12,
                    "Model vs CSM call",
                    [html.Div(id=GAP_TITLE, className="small mb-2"), gap_grid(GAP, by)],
                    panel_id="rf-gap-panel",
                    help_text=GAP_HELP,
                    tools=toggle,
                )
            ),
            dbc.Row(
                [
                    panel_col(
                        6,
                        "The model's renewal rates",
                        html.Div(id=RATES),
                        panel_id="rf-rates-panel",
                        help_text=RATES_HELP,
                    ),
                    panel_col(
                        6,
                        "Projected fiscal year",
                        html.Div(id=FY),
                        panel_id="rf-fy-panel",
                        help_text=f"{metric('projected_grr').definition} "
                        f"{metric('projected_nrr').definition}",
                    ),
                ]
            ),
            dbc.Row(
                panel_col(
                    12,
                    "Accuracy: how close past forecasts came",
                    [
                        dcc.Graph(id=ACCURACY, **graph),
                        html.Div(id=ACCURACY_TABLE, className="mt-2 table-responsive"),
                    ],
                    panel_id="rf-accuracy-panel",
                    help_text=ACCURACY_HELP,
                )
            ),
        ]
    )


def list_href(filters: Filters, **drill: str) -> str:
    """The open renewal list under `filters`, narrowed by `drill` (OpenDrill's URL keys)."""
    return LIST + filters.to_search({"status": "open", **drill})


def backtest_href(filters: Filters, key: str) -> str:
    """The renewals behind a past quarter of the accuracy table (`key`: e.g. 2026-Q3), under
    `filters`: its count and sums are that quarter's row."""
    return LIST + filters.to_search({"backtest": key})


def fy_hrefs(filters: Filters, proj: dict) -> dict[str, str]:
    """The retention list of the fiscal year so far (the projection's actuals): all of the
    cohort ('') and each movement."""
    start, day = proj["fy"].start, proj["day"]
    if start >= day:
        return {}
    return {
        m: "/retention" + filters.to_search(list_params(start, day, day, m))
        for m in ("", "churned", "contracted", "expanded")
    }


@callback(
    Output(QUARTERS, "figure"),
    Output(KPIS, "children"),
    Output(WINDOW, "children"),
    Output(RATES, "children"),
    Input(STORE, "data"),
)
@guarded(None, None, None, figures=1)
def render_forecast(data):
    """Redraws the forecast tiles, the forecast per quarter and the rates. Called when: the
    view changes."""
    filters, day = from_store(data)
    db = get_database()
    fc = renewal_forecast(db, filters, day)
    tiles = forecast_tiles(fc, list_href(filters, **window_drill(day)))
    rates = rates_table(fc.rates, rate_levels(db, filters, day))
    return quarters_figure(fc), tiles, window_text(fc), rates


@callback(Output(FY, "children"), Output(FY_KPIS, "children"), Input(STORE, "data"))
@guarded(None)
def render_fiscal_year(data):
    """Redraws projected fiscal-year GRR and NRR and their steps. Called when: the view
    changes."""
    filters, day = from_store(data)
    proj = projected_retention(get_database(), filters, day)
    hrefs = fy_hrefs(filters, proj)
    return fy_table(proj, hrefs), fy_tiles(proj, hrefs.get(""))


@callback(
    Output(GAP_TITLE, "children"),
    Output(GAP, "rowData"),
    Output(GAP, "columnDefs"),
    Input(STORE, "data"),
    Input(GAP_BY, "value"),
)
@guarded([], no_update)
def render_gap(data, by):
    """Redraws the gap per CSM or team. Called when: the view or the grouping changes."""
    filters, day = from_store(data)
    by = by if by in GAP_GROUPS else "owner"
    df = forecast_gap(get_database(), filters, day, by)
    return gap_title(df, by), gap_records(df, by), gap_columns(by)


@callback(
    Output(ACCURACY, "figure"),
    Output(ACCURACY_TABLE, "children"),
    Input(STORE, "data"),
)
@guarded(None, figures=1)
def render_accuracy(data):
    """Redraws the accuracy chart and table. Called when: the view changes."""
    filters, day = from_store(data)
    acc = forecast_accuracy(get_database(), filters, day)
    hrefs = {k: backtest_href(filters, k) for k in map(quarter_key, acc.quarters["start"])}
    return accuracy_figure(acc), accuracy_table(acc, hrefs)


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(ACCURACY, "clickData"),
    State(STORE, "data"),
    prevent_initial_call=True,
)
def drill_backtest(click, data):
    """Opens the renewals behind a clicked past quarter (its backtest). Called when: a bar of
    the accuracy chart is clicked."""
    filters, _ = from_store(data)
    point = ((click or {}).get("points") or [{}])[0]
    custom = point.get("customdata") or []
    key = custom[-1] if custom else None
    return backtest_href(filters, key) if isinstance(key, str) else no_update


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(QUARTERS, "clickData"),
    State(STORE, "data"),
    prevent_initial_call=True,
)
def drill_quarter(click, data):
    """Opens the open renewals of a clicked quarter (or the overdue ones). Called when: a bar
    or marker of the forecast chart is clicked."""
    filters, day = from_store(data)
    point = ((click or {}).get("points") or [{}])[0]
    custom = point.get("customdata") or []
    if not custom or not isinstance(custom[0], str):
        return no_update
    bucket = bucket_of(day, "quarter", custom[0])
    return list_href(filters, **bucket.drill()) if bucket else no_update


def gap_href(row_id: str, filters: Filters) -> str:
    """A gap row's open renewals: its owner's (or team's) over the whole window."""
    by, _, key = row_id.partition(":")
    if by not in GAP_GROUPS or not key:
        raise PreventUpdate
    _, day = from_store({"search": filters.to_search()})
    narrowed = filters.with_values(**{by: (key,)})
    return list_href(narrowed, **window_drill(day))


link_grid_rows(GAP, STORE, gap_href)
keep_in_url(GAP_BY, "value", "gap", "owner")
