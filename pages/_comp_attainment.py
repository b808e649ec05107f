"""Compensation tab 'attainment' (the default): who earns what this period. A header line names
the plan version, the period and the data it was computed with; the top line gives on-target,
payout to date, the projected payout with its 80% range and the budget; the per-person grid
gives every metric's actual, target and attainment (a row opens that person's statement); the
team roll-up and its chart set projected payout against on-target; the definitions sit beside.

Page parameters: `plan`, `version`, `period` (the period picker writes it), and the filter
bar's. The computation: pages/_comp_view.py.
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.comp_attainment import (
    PREFIX,
    UNOWNED,
    budget_scope,
    data_notes,
    definitions,
    grid_style,
    header_line,
    no_people,
    people_grid,
    period_picker,
    person_columns,
    person_records,
    plan_notes,
    slice_notice,
    team_figure,
    team_grid,
    team_grid_style,
    team_records,
    top_line,
)
from components.shell import panel
from components.states import error_state
from pages._comp_view import resolve_comp_view
from pages._shared import clicked_row_id, from_store, guarded, keep_in_url, with_page_param
from services.comp_plan_store import plan_for_view
from services.errors import ServiceError

log = logging.getLogger(__name__)

VIEW = PREFIX + "view"  # this tab's copy of the view (filters + requested as-of)
PLAN = PREFIX + "plan-params"  # the URL's plan and version
PERIOD = PREFIX + "period"
HEADER = PREFIX + "header"
NOTES = PREFIX + "notes"
KPIS = PREFIX + "kpis"
GRID = PREFIX + "grid"
GRID_BOX = PREFIX + "grid-box"
TEAMS = PREFIX + "teams"
CHART = PREFIX + "team-chart"
DEFINITIONS = PREFIX + "definitions-box"
PAGE_PATH = "/compensation"
GRID_HELP = (
    "One row per person in scope: each metric's actual to date, target (hover it for the rule "
    "that set it) and attainment; the weighted attainment; the payout to date and the projected "
    "payout with its 80% range. Managers are measured on their team's books, the Director on "
    "all. Click a row (or press Enter) to open that person's statement."
)
TEAMS_HELP = (
    "Each team's people summed: on-target bonus, payout to date and projected. The chart sets "
    "each team's projected payout (the whiskers: its 80% range) against its on-target bonus "
    "(the black mark); the thin grey bar is what is earned to date."
)


def layout(data, filters, as_of, params):
    """The tab's frame: the period picker (recent periods of the plan's kind) and the slots
    the render callback fills."""
    try:
        plan_view = plan_for_view(params, as_of.date)
    except ServiceError as exc:
        return error_state(str(exc))
    except Exception:  # Dash's validation layout, built before there is a database
        log.warning("attainment tab: no plan view", exc_info=True)
        plan_view = None
    plan_params = {k: params[k] for k in ("plan", "version") if params.get(k)}
    picker = period_picker(PERIOD, plan_view, as_of.date if as_of else None)
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            dcc.Store(id=PLAN, data=plan_params),
            html.Div(
                [picker, html.Div(id=HEADER, className="small")],
                className="d-flex flex-wrap align-items-center gap-3 mb-2",
            ),
            html.Div(id=NOTES, className="small text-muted mb-2"),
            dcc.Loading(html.Div(id=KPIS), type="dot", delay_show=150),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Attainment and payout per person",
                        html.Div(people_grid(GRID, _no_plan(), []), id=GRID_BOX),
                        panel_id=PREFIX + "grid-panel",
                        help_text=GRID_HELP,
                    ),
                    className="mb-3",
                )
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "What the numbers mean",
                        html.Div(id=DEFINITIONS),
                        panel_id=PREFIX + "definitions-panel",
                    ),
                    className="mb-3",
                )
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Projected payout per team",
                            dcc.Graph(id=CHART, config={"displayModeBar": False}),
                            panel_id=PREFIX + "chart-panel",
                            help_text=TEAMS_HELP,
                        ),
                        lg=12,
                        xxl=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "Teams",
                            team_grid(TEAMS, []),
                            panel_id=PREFIX + "teams-panel",
                            help_text=TEAMS_HELP,
                        ),
                        lg=12,
                        xxl=7,
                        className="mb-3",
                    ),
                ]
            ),
        ],
        id=PREFIX + "tab",
    )


def _no_plan():
    from services.comp_plan import Plan

    return Plan("quarter", None, (), {})  # the grid's columns before the first render


@callback(
    Output(HEADER, "children"),
    Output(NOTES, "children"),
    Output(KPIS, "children"),
    Output(GRID, "rowData"),
    Output(GRID, "columnDefs"),
    Output(GRID_BOX, "style"),
    Output(GRID, "style"),
    Output(TEAMS, "rowData"),
    Output(TEAMS, "style"),
    Output(CHART, "figure"),
    Output(DEFINITIONS, "children"),
    Input(VIEW, "data"),
    Input(PERIOD, "value"),
    State(PLAN, "data"),
)
@guarded(None, None, [], no_update, None, no_update, [], no_update, no_update, None)
def render(data, period, plan_params):
    """Redraws the header, the top line, the grid, the teams and the definitions for the
    period. Called when: the view or the period changes."""
    filters, day = from_store(data)
    resolved = resolve_comp_view(filters, day, {**(plan_params or {}), "period": period})
    if resolved.view is None:
        return error_state(resolved.message), *([no_update] * 10)
    cv = resolved.view
    pv, payouts, label = cv.plan_view, cv.payouts, cv.plan_view.period.label()
    plan_href = PAGE_PATH + with_page_param(filters.to_search(), "tab", "plan")
    people, teams = payouts.people, payouts.teams
    notes = [*plan_notes(pv, plan_href), *data_notes(cv.measures, cv.plan, label)]
    if people.empty:
        notes.append(no_people())
    return (
        header_line(pv, cv.measures),
        notes,
        [slice_notice(filters), top_line(people, cv.plan.budget, label, budget_scope(filters))],
        person_records(people, payouts.lines, cv.plan),
        person_columns(cv.plan),
        {"display": "none"} if people.empty else {},
        grid_style(len(people)),
        team_records(teams),
        team_grid_style(len(teams)),
        team_figure(teams),
        definitions(cv.plan, pv.period),
    )


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(GRID, "cellClicked"),
    State(ids.PAGE_STATE, "data"),
    prevent_initial_call=True,
)
def open_statement(cell, search):
    """Opens the clicked person's statement with this view's plan, period and filters.
    Called when: a row of the grid is clicked."""
    csm_id = clicked_row_id(cell)
    if csm_id is None or csm_id == UNOWNED:
        raise PreventUpdate
    return PAGE_PATH + with_page_param(with_page_param(search, "tab", "statement"), "csm", csm_id)


keep_in_url(PERIOD, "value", "period")
