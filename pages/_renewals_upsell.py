"""Renewals tab 'Upsell': the customers most worth an expansion offer (a transparent propensity
score with its reasons, and the expected expansion ARR), the proof that the score predicts wins
(win rate of past opportunities by their score when created), and the open expansion pipeline.

Every row opens its Account 360; every bar opens the list of its opportunities below the charts
(the Accounts list cannot filter by opportunity). Page state in the URL: the drilled bar
(`ru_stage=` or `ru_decile=`) and the sort of each list (`ru_sort=`, `ru_osort=`). Component ids
start with `ru-`.
"""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.renewals_upsell import (
    CANDIDATES_HELP,
    CHART_HEIGHT,
    PIPELINE_HELP,
    VALIDATION_HELP,
    candidate_records,
    candidates_grid,
    candidates_line,
    decile_figure,
    drill_filter_model,
    drill_from_filter_model,
    drill_title,
    drill_totals,
    opportunity_columns,
    opportunity_grid,
    opportunity_records,
    pipeline_figure,
    reason_legend,
    summary_tiles,
    validation_note,
)
from components.shell import panel_col
from components.states import error_state
from pages._shared import (
    RowsRequest,
    account_href,
    from_store,
    guarded,
    keep_params_in_url,
    link_grid_rows,
)
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters, parse_sort
from services.upsell import (
    ALL_STAGES,
    CANDIDATE_SORTABLE,
    DEFAULT_UPSELL,
    OPPORTUNITY_SORTABLE,
    OpportunityDrill,
    candidate_page,
    candidate_totals,
    opportunity_account,
    opportunity_page,
    opportunity_totals,
    pipeline_by_stage,
    score_validation,
)

STORE = "rn-view"  # pages/renewals.py: the view (filters + requested as-of) of every tab
GRAPH_CONFIG = {"displayModeBar": False}
TILES, COUNT, GRID = "ru-tiles", "ru-candidates-count", "ru-candidates-grid"
DECILES, DECILE_NOTE, PIPELINE = "ru-deciles", "ru-deciles-note", "ru-pipeline"
DRILL, DRILL_PANEL, DRILL_TITLE = "ru-drill", "ru-drill-panel", "ru-drill-title"
DRILL_TOTALS, DRILL_CLOSE, OPPS = "ru-drill-totals", "ru-drill-close", "ru-opps-grid"
SORT_KEYS = 3
HIDDEN = {"display": "none"}


def layout(data, filters, as_of, params):
    """The tab's content for the view in the store `data` (filters, as-of already parsed)."""
    try:
        drill = OpportunityDrill.from_params(params)
        sort = parse_sort(params.get("ru_sort"), CANDIDATE_SORTABLE, SORT_KEYS)
        opp_sort = parse_sort(params.get("ru_osort"), OPPORTUNITY_SORTABLE, SORT_KEYS)
    except ServiceError as exc:
        return error_state(str(exc))
    graph = {"config": GRAPH_CONFIG, "style": {"height": f"{CHART_HEIGHT}px"}}
    return html.Div(
        [
            dcc.Store(id=DRILL, data=drill.to_params()),
            html.Div(id=TILES),
            dbc.Row(
                panel_col(
                    12,
                    "Top expansion candidates",
                    [
                        reason_legend(DEFAULT_UPSELL),
                        html.Div(id=COUNT, className="accounts-totals mb-2"),
                        candidates_grid(GRID, sort),
                    ],
                    panel_id="ru-candidates-panel",
                    help_text=CANDIDATES_HELP,
                )
            ),
            dbc.Row(
                [
                    panel_col(
                        7,
                        "Does the score predict wins?",
                        [
                            dcc.Graph(id=DECILES, **graph),
                            html.Div(id=DECILE_NOTE, className="small text-muted"),
                        ],
                        panel_id="ru-deciles-panel",
                        help_text=VALIDATION_HELP,
                    ),
                    panel_col(
                        5,
                        "Open expansion pipeline",
                        dcc.Graph(id=PIPELINE, **graph),
                        panel_id="ru-pipeline-panel",
                        help_text=PIPELINE_HELP,
                    ),
                ]
            ),
            html.Div(
                dbc.Row(
                    panel_col(
                        12,
                        "Opportunities behind the bar",
                        [
                            html.Div(
                                [
                                    html.Div(
                                        [
                                            html.Div(id=DRILL_TITLE, className="fw-semibold"),
                                            html.Div(id=DRILL_TOTALS, className="accounts-totals"),
                                        ]
                                    ),
                                    dbc.Button(
                                        "Close list",
                                        id=DRILL_CLOSE,
                                        color="secondary",
                                        outline=True,
                                        size="sm",
                                    ),
                                ],
                                className="d-flex justify-content-between align-items-start mb-2",
                            ),
                            opportunity_grid(OPPS, drill, opp_sort),
                        ],
                        panel_id="ru-drill-list",
                    )
                ),
                id=DRILL_PANEL,
                style={} if drill.active else HIDDEN,
            ),
        ]
    )


@callback(Output(TILES, "children"), Output(COUNT, "children"), Input(STORE, "data"))
@guarded(None)
def render_summary(data):
    """Redraws the KPI tiles and the candidates' count line. Called when: the view changes."""
    filters, day = from_store(data)
    db = get_database()
    totals = candidate_totals(db, filters, day)
    pipeline = pipeline_by_stage(db, filters, day)
    href = "/renewals" + filters.to_search({"tab": "upsell", "ru_stage": ALL_STAGES})
    return summary_tiles(totals, pipeline, href), candidates_line(totals, DEFAULT_UPSELL)


@callback(Output(DECILES, "figure"), Output(DECILE_NOTE, "children"), Input(STORE, "data"))
@guarded(None, figures=1)
def render_validation(data):
    """Redraws win rate by score decile. Called when: the view changes."""
    filters, day = from_store(data)
    validation = score_validation(get_database(), filters, day)
    return decile_figure(validation), validation_note(validation)


@callback(Output(PIPELINE, "figure"), Input(STORE, "data"))
@guarded(figures=1)
def render_pipeline(data):
    """Redraws the open expansion pipeline by stage. Called when: the view changes."""
    filters, day = from_store(data)
    return pipeline_figure(pipeline_by_stage(get_database(), filters, day), day)


@callback(Output(GRID, "getRowsResponse"), Input(GRID, "getRowsRequest"), State(STORE, "data"))
def serve_candidates(request, data):
    """Serves one block of candidates. Called when: the grid scrolls or sorts."""
    block = RowsRequest.from_client(request, CANDIDATE_SORTABLE)
    if block is None:
        return no_update
    filters, day = from_store(data)
    db = get_database()
    rows = candidate_page(db, filters, day, DEFAULT_UPSELL, block.sort, block.start, block.limit)
    count = (
        int(rows["rows_total"].iloc[0])
        if len(rows)
        else candidate_totals(db, filters, day)["candidates"]
    )
    return {"rowData": candidate_records(rows, DEFAULT_UPSELL), "rowCount": count}


@callback(
    Output(DRILL, "data"),
    Input(DECILES, "clickData"),
    Input(PIPELINE, "clickData"),
    Input(DRILL_CLOSE, "n_clicks"),
    prevent_initial_call=True,
)
def select_drill(decile_click, stage_click, _close):
    """Lists the opportunities behind a bar, or closes the list. Called when: a decile or stage
    bar is clicked, or "Close list"."""
    if ctx.triggered_id == DRILL_CLOSE:
        return OpportunityDrill().to_params()
    click = decile_click if ctx.triggered_id == DECILES else stage_click
    point = ((click or {}).get("points") or [{}])[0]
    value = (point.get("customdata") or [None])[0]
    if value is None:
        raise PreventUpdate
    key = "ru_decile" if ctx.triggered_id == DECILES else "ru_stage"
    return OpportunityDrill.from_params({key: str(value)}).to_params()


@callback(
    Output(DRILL_TOTALS, "children"),
    Output(DRILL_TITLE, "children"),
    Output(DRILL_PANEL, "style"),
    Output(OPPS, "columnDefs"),
    Output(OPPS, "filterModel"),
    Input(DRILL, "data"),
    Input(STORE, "data"),
)
@guarded(None, no_update, no_update, no_update)
def render_drill(drill_params, data):
    """Shows the list behind the clicked bar (title, count and sum; the grid reloads through
    its filter model) or hides it. Called when: the drill or the view changes."""
    drill = OpportunityDrill.from_params(drill_params or {})
    if not drill.active:
        return None, None, HIDDEN, no_update, {}
    filters, day = from_store(data)
    db = get_database()
    validation = score_validation(db, filters, day) if drill.decile is not None else None
    totals = opportunity_totals(db, filters, day, drill)
    return (
        drill_totals(drill, totals),
        drill_title(drill, day, validation),
        {},
        opportunity_columns(drill),
        drill_filter_model(drill),
    )


@callback(Output(OPPS, "getRowsResponse"), Input(OPPS, "getRowsRequest"), State(STORE, "data"))
def serve_opportunities(request, data):
    """Serves one block of the opportunity list. Called when: it scrolls, sorts or the drill
    changes."""
    block = RowsRequest.from_client(request, OPPORTUNITY_SORTABLE)
    if block is None:
        return no_update
    drill = drill_from_filter_model(request.get("filterModel"))
    if not drill.active:
        return {"rowData": [], "rowCount": 0}
    filters, day = from_store(data)
    db = get_database()
    rows = opportunity_page(
        db, filters, day, drill, DEFAULT_UPSELL, block.sort, block.start, block.limit
    )
    return {
        "rowData": opportunity_records(rows),
        "rowCount": opportunity_totals(db, filters, day, drill)["opportunities"],
    }


def opportunity_href(opportunity_id: str, filters: Filters) -> str:
    """Account 360 of the opportunity's account (a row's id is the opportunity)."""
    account_id = opportunity_account(get_database(), filters, opportunity_id)
    if account_id is None:
        raise PreventUpdate
    return account_href(account_id, filters)


def keep_sort_in_url(grid_id: str, sortable, key: str) -> None:
    """Register: a server-paged grid's sort lives in the URL as `key=field:dir` (repeatable;
    allow-listed as the layout reads it). Clientside, as pages/_shared.keep_grid_sort_in_url,
    under this tab's own key so the two lists (and other tabs) never share one."""
    clientside_callback(
        "function (req) { return window.csopsPageState.write({"
        f"{json.dumps(key)}: ((req && req.sortModel) || [])"
        f".filter(s => s && {json.dumps(sorted(sortable))}.includes(s.colId)"
        " && (s.sort === 'asc' || s.sort === 'desc'))"
        f".slice(0, {SORT_KEYS}).map(s => s.colId + ':' + s.sort)}}); }}",
        Output(ids.PAGE_STATE, "data", allow_duplicate=True),
        Input(grid_id, "getRowsRequest"),
        prevent_initial_call=True,
    )


link_grid_rows(GRID, STORE)
link_grid_rows(OPPS, STORE, opportunity_href)
keep_params_in_url(DRILL, "data")
keep_sort_in_url(GRID, CANDIDATE_SORTABLE, "ru_sort")
keep_sort_in_url(OPPS, OPPORTUNITY_SORTABLE, "ru_osort")
