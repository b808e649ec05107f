"""Portfolio health (/): KPIs, band mix, weekly trend, owners, movers and the health model's
backtest in one line (its home is the Health model page)."""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import charts, formatting, ids
from components.grids import records_grid, to_records
from components.health_model import summary_line
from components.kpi import kpi_card
from components.portfolio_columns import MOVER_COLUMNS, OWNER_COLUMNS
from components.shell import page_header, panel_col
from components.states import empty_state, error_state, notice
from pages._shared import (
    accounts_href,
    from_store,
    guarded,
    keep_in_url,
    link_grid_rows,
    page_param,
    retention_href,
    view_state,
)
from services import health
from services.db import get_database
from services.filters import DIMENSION_LABELS
from services.health import health_inputs, inputs_sentence
from services.health_backtest import backtest
from services.metrics import metric
from services.portfolio import portfolio_kpis

dash.register_page(
    __name__, path="/", name="Portfolio health", title="Portfolio health · CS Ops Console", order=0
)

GRAPH_CONFIG = {"displayModeBar": False}
STORE = "portfolio-view"
KPI_ROW = "portfolio-kpis"
PANELS = "portfolio-panels"
MEASURE = "portfolio-measure"
MIX_BY = "portfolio-mix-by"
MIX_BY_OPTIONS = [
    {"label": DIMENSION_LABELS[d].replace(" (CSM)", ""), "value": d}
    for d in ("segment", "region", "team", "tier")
]
BAND_MIX = "portfolio-band-mix"
BAND_HISTORY = "portfolio-band-history"
OWNERS = "portfolio-owners"
MOVERS = "portfolio-movers"
HEALTH_MODEL = "portfolio-health-model"
OWNER_GRID = "portfolio-owner-grid"
MOVER_GRID = "portfolio-movers-grid"
# KPI card -> drill parameters of the Accounts list; GRR and NRR open the retention list.
KPI_DRILL = {
    "arr": {},
    "accounts": {},
    "avg_health": {},
    "pct_arr_red": {"band": "red"},
    "health_coverage": {"inputs": "incomplete"},
}
RETENTION_KPIS = ("grr", "nrr")


MIX_HELP = metric("health_score").definition + " Click a bar to list its accounts."
HISTORY_HELP = (
    "Share of ARR (or accounts) in each band at each weekly snapshot. "
    "Click a bar to list those accounts as of that week."
)
MOVERS_HELP = (
    metric("health_drop_30d").definition
    + " The driver is the component whose weighted score fell most."
)


MEASURES = ("arr", "accounts")
MIX_DIMENSIONS = tuple(o["value"] for o in MIX_BY_OPTIONS)


def layout(**params):
    data, _, as_of = view_state(params)
    subtitle = (
        f"As of {as_of.date:%d %b %Y} · data as of {as_of.data_as_of:%d %b %Y}" if as_of else None
    )
    measure = dbc.RadioItems(
        id=MEASURE,
        options=[{"label": "ARR", "value": "arr"}, {"label": "Accounts", "value": "accounts"}],
        value=page_param(params, "measure", MEASURES, "arr"),
        inline=True,
        className="small measure-toggle",
    )
    mix_by = dcc.Dropdown(
        id=MIX_BY,
        options=MIX_BY_OPTIONS,
        value=page_param(params, "mix_by", MIX_DIMENSIONS, "segment"),
        clearable=False,
        searchable=False,
        className="mix-by",
    )
    panels = [
        dbc.Row(
            [
                panel_col(
                    6,
                    "Health band mix",
                    dcc.Graph(id=BAND_MIX, config=GRAPH_CONFIG),
                    tools=mix_by,
                    help_text=MIX_HELP,
                ),
                panel_col(
                    6,
                    "Weekly band mix, last 26 weeks",
                    dcc.Graph(id=BAND_HISTORY, config=GRAPH_CONFIG),
                    help_text=HISTORY_HELP,
                ),
            ]
        ),
        dbc.Row(
            [
                panel_col(
                    7,
                    "Health by owner (CSM)",
                    [
                        html.Div(id=OWNERS),
                        records_grid(OWNER_GRID, OWNER_COLUMNS, "owner_csm_id", 380),
                    ],
                    help_text="Click a row to list that CSM's accounts.",
                ),
                panel_col(
                    5,
                    "Biggest movers (4 weeks)",
                    [
                        html.Div(id=MOVERS),
                        records_grid(MOVER_GRID, MOVER_COLUMNS, "account_id", 380),
                    ],
                    help_text=MOVERS_HELP,
                ),
            ]
        ),
        html.Div(id=HEALTH_MODEL, className="mb-3"),
    ]
    views = [
        dcc.Loading(html.Div(id=KPI_ROW, className="kpi-row"), type="dot"),
        # Hidden when nothing matches the filters: one empty state for the page, not one a panel.
        html.Div(panels, id=PANELS),
    ]
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            page_header("Portfolio health", subtitle, measure),
            error_state(data["error"])
            if "error" in data
            else notice(as_of.notice if as_of else None),
            html.Div(views, style={"display": "none"} if "error" in data else {}),
        ]
    )


@callback(Output(KPI_ROW, "children"), Output(PANELS, "style"), Input(STORE, "data"))
@guarded({})
def render_kpis(data):
    """Redraws the KPI cards. Called when: the view (URL filters / as-of) changes."""
    filters, snapshot = from_store(data)
    values = portfolio_kpis(get_database(), filters, snapshot)
    if not values[1].value:
        return empty_state(), {"display": "none"}
    compare = f"{values[0].previous_date:%d %b}" if values[0].previous_date else "90 days earlier"
    cards = [
        dbc.Col(
            kpi_card(
                metric(v.name),
                v.value,
                v.previous,
                compare,
                href=retention_href(filters)
                if v.name in RETENTION_KPIS
                else accounts_href(filters, **KPI_DRILL[v.name]),
            ),
            xs=6,
            md=4,
            xl=True,
            className="mb-3",
        )
        for v in values
    ]
    return dbc.Row(cards, className="g-3"), {}


@callback(
    Output(BAND_MIX, "figure"),
    Input(STORE, "data"),
    Input(MEASURE, "value"),
    Input(MIX_BY, "value"),
)
@guarded(figures=1)
def render_band_mix(data, measure, by):
    """Redraws the band mix. Called when: the view, the ARR/accounts toggle or the grouping changes."""
    filters, snapshot = from_store(data)
    by = by if by in MIX_DIMENSIONS else "segment"
    mix = health.band_mix(get_database(), filters, snapshot, by)
    return charts.band_mix_figure(mix, measure if measure in MEASURES else "arr", by=by)


@callback(Output(BAND_HISTORY, "figure"), Input(STORE, "data"), Input(MEASURE, "value"))
@guarded(figures=1)
def render_band_history(data, measure):
    """Redraws the weekly band mix. Called when: the view or the ARR/accounts toggle changes."""
    filters, snapshot = from_store(data)
    return charts.band_history_figure(
        health.band_history(get_database(), filters, snapshot),
        measure if measure in MEASURES else "arr",
    )


@callback(Output(OWNERS, "children"), Output(OWNER_GRID, "rowData"), Input(STORE, "data"))
@guarded([])
def render_owners(data):
    """Refills the owner table. Called when: the view changes."""
    filters, snapshot = from_store(data)
    df = health.health_by_owner(get_database(), filters, snapshot)
    if df.empty:
        return empty_state(), []
    total = int(df["owners_total"].iloc[0])
    note = (
        html.Div(
            f"Showing the {len(df)} CSMs with the highest share of ARR in red, of {total}. "
            "Filter by team or owner to see the others.",
            className="text-muted small mb-1",
        )
        if total > len(df)
        else None
    )
    return note, to_records(df.drop(columns="owners_total"))


@callback(Output(MOVERS, "children"), Output(MOVER_GRID, "rowData"), Input(STORE, "data"))
@guarded([])
def render_movers(data):
    """Refills the movers table. Called when: the view changes."""
    filters, snapshot = from_store(data)
    df = health.movers(get_database(), filters, snapshot, limit=25)
    message = empty_state("No account lost health in the last 4 weeks.", None) if df.empty else None
    return message, to_records(df)


@callback(Output(HEALTH_MODEL, "children"), Input(STORE, "data"))
@guarded()
def render_health_model(data):
    """Redraws the one-line backtest summary. Called when: the view changes."""
    filters, snapshot = from_store(data)
    db = get_database()
    built_from = inputs_sentence(health_inputs(db, filters, snapshot), formatting.date)
    return summary_line(
        backtest(db, filters, snapshot), "/health-model" + filters.to_search(), built_from
    )


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(BAND_MIX, "clickData"),
    Input(BAND_HISTORY, "clickData"),
    State(STORE, "data"),
    State(MIX_BY, "value"),
    prevent_initial_call=True,
)
def drill_from_charts(mix_click, history_click, data, mix_by):
    """Opens the Accounts list behind a clicked bar. Called when: a chart bar is clicked."""
    filters, _ = from_store(data)
    trigger = dash.ctx.triggered_id
    point = (dash.ctx.triggered[0]["value"] or {}).get("points", [{}])[0]
    custom = point.get("customdata")
    if not custom:
        return no_update
    if trigger == BAND_MIX:
        by = mix_by if mix_by in MIX_DIMENSIONS else "segment"
        return accounts_href(filters.with_values(**{by: custom[0]}), band=custom[1])
    return accounts_href(filters.with_values(as_of=_date(custom[0])), band=custom[1])


link_grid_rows(
    OWNER_GRID, STORE, lambda owner, filters: accounts_href(filters.with_values(owner=owner))
)
link_grid_rows(MOVER_GRID, STORE)
keep_in_url(MEASURE, "value", "measure", "arr")
keep_in_url(MIX_BY, "value", "mix_by", "segment")


def _date(text: str) -> date:
    return date.fromisoformat(text)
