"""Compensation tab 'targets': every person's target per metric of the view's plan and period,
with the rule that set it in words (company target; book history + uplift; last period +
uplift; set by hand, its reason in the tooltip; a rule that could not apply says why), and the
"Override target" form, which saves a new version of the plan with the target set by hand
(overrides are part of a plan: nothing is overwritten, and earlier periods keep their version).

Page parameters: `plan`, `version`, `period` (the period picker writes it), and the filter
bar's (team and owner choose the people listed; segment, region and tier the accounts of the
books the book rule weighs).
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.comp_attainment import period_picker
from components.comp_targets import (
    CLEAR,
    CURRENT,
    FORM_FIELDS,
    FORM_MESSAGE,
    FORM_NOTE,
    GRID,
    METRIC,
    PERSON,
    PREFIX,
    REASON,
    SAVE,
    TARGET,
    TARGET_UNIT,
    closed_note,
    current_target,
    feedback_id,
    form_feedback,
    header_line,
    override_form,
    person_options,
    rules_summary,
    target_columns,
    target_records,
    targets_grid,
)
from components.shell import panel
from components.states import error_state
from pages._shared import from_store, guarded, keep_in_url, with_page_param
from services.app_state import AppStateError, Conflict, user_name
from services.comp_actuals import period_measures
from services.comp_overrides import clear_override, field_of, read_override_form, save_override
from services.comp_plan import METRICS, PlanInvalid
from services.comp_plan_store import NotInForce, PlanVersion, holds_until, plan_for_view
from services.comp_targets import UNOWNED, csm_targets
from services.db import get_database
from services.errors import ServiceError

log = logging.getLogger(__name__)

PATH = "/compensation"
VIEW = PREFIX + "view"  # this tab's copy of the view (filters + requested as-of)
PLAN = PREFIX + "plan-params"  # the URL's plan and version
STATE = PREFIX + "state"  # {"expected": the version the tab was drawn with (a change's base)}
PERIOD = PREFIX + "period"
HEADER = PREFIX + "header"
RULES = PREFIX + "rules"
GRID_BOX = PREFIX + "grid-box"
GRID_HELP = (
    "One row per person in scope, a column pair per metric of the plan: the target and the "
    "rule that set it. Hover a cell for how the target was worked out; a target set by hand "
    "is shaded, and its reason is in the tooltip. Managers are measured on their team's books, "
    "the Director on all."
)
RULES_HELP = (
    "Each metric of the plan sets everyone's target by one rule: the company target; the "
    "history of the person's book (the company-wide value per segment x coverage tier over "
    "the 4 latest closed periods, weighted by the ARR they own on the period's first day) plus an "
    "uplift; or their actual in the last closed period plus an uplift. Where a rule cannot apply "
    "(no book, no previous period, no history for the metric) the company target is used and "
    "the grid says why. A target set by hand wins."
)
FORM_HELP = (
    "Sets one person's target for one metric by hand. A reason is required. Saving makes a "
    "new version of the plan, in force from the first day of this period until a later-dated "
    "version takes effect: earlier periods keep the version they were computed with. Clear "
    "override saves a version without the person's target set by hand for that metric."
)


def layout(data, filters, as_of, params):
    """The tab's frame: the period picker, the grid and the override form; the render callback
    fills them for the period."""
    try:
        view = plan_for_view(params, as_of.date)
    except ServiceError as exc:
        return error_state(str(exc))
    except Exception:  # Dash's validation layout, built before there is a database
        log.warning("targets tab: no plan view", exc_info=True)
        return html.Div(id=PREFIX + "tab")
    plan_params = {k: params[k] for k in ("plan", "version") if params.get(k)}
    picker = period_picker(PERIOD, view, as_of.date)
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            dcc.Store(id=PLAN, data=plan_params),
            dcc.Store(id=STATE),
            html.Div(
                [picker, html.Div(id=HEADER, className="small")],
                className="d-flex flex-wrap align-items-center gap-3 mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "How targets are set",
                            html.Div(id=RULES),
                            panel_id=PREFIX + "rules-panel",
                            help_text=RULES_HELP,
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "Override target",
                            override_form(_no_people(), view.plan),
                            panel_id=PREFIX + "form-panel",
                            help_text=FORM_HELP,
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Targets per person",
                        dcc.Loading(
                            html.Div(targets_grid([], view.plan), id=GRID_BOX),
                            type="dot",
                            delay_show=150,
                        ),
                        panel_id=PREFIX + "grid-panel",
                        help_text=GRID_HELP,
                    ),
                    className="mb-3",
                )
            ),
        ],
        id=PREFIX + "tab",
    )


def _no_people():
    import pandas as pd

    return pd.DataFrame(columns=["csm_id", "name", "team"])


def _view(data, period, plan_params):
    """The view's filters, day, plan view and the measures' people (the Unowned row aside)."""
    filters, day = from_store(data)
    view = plan_for_view({**(plan_params or {}), "period": period}, day)
    measures = period_measures(get_database(), filters, view.period, day)
    return filters, day, view, measures


@callback(
    Output(HEADER, "children"),
    Output(RULES, "children"),
    Output(GRID, "rowData"),
    Output(GRID, "columnDefs"),
    Output(GRID, "style"),
    Output(PERSON, "options"),
    Output(METRIC, "options"),
    Output(STATE, "data"),
    Output(FORM_NOTE, "children"),
    Input(VIEW, "data"),
    Input(PERIOD, "value"),
    State(PLAN, "data"),
)
@guarded(None, [], no_update, no_update, no_update, no_update, None, None)
def render(data, period, plan_params):
    """Draws the header, the rules and every person's targets for the period. Called when: the
    view or the period changes."""
    filters, day, view, measures = _view(data, period, plan_params)
    targets = csm_targets(get_database(), filters, view.plan, measures)
    people = measures.people[measures.people["csm_id"] != UNOWNED]
    rows = target_records(targets, people, view.plan)
    height = min(640, 90 + 42 * max(len(rows), 3))
    return (
        header_line(view),
        rules_summary(view.plan),
        rows,
        target_columns(view.plan),
        {"height": f"{height}px", "width": "100%"},
        person_options(people),
        [{"label": m.info.label, "value": m.metric} for m in view.plan.metrics],
        {"expected": view.version},
        closed_note(view, get_database().info().as_of_date),
    )


@callback(
    Output(TARGET_UNIT, "children"),
    Output(CURRENT, "children"),
    Input(PERSON, "value"),
    Input(METRIC, "value"),
    State(GRID, "rowData"),
)
def show_current(person, metric, rows):
    """Shows the unit of the chosen metric and the person's target now. Called when: the
    person or the metric of the form changes."""
    unit = "$" if metric in METRICS and METRICS[metric].unit == "money" else "%"
    row = next((r for r in rows or [] if r.get("csm_id") == person), None)
    return unit, current_target(row, metric)


def _author() -> str:
    """Who is saving: the user an auth proxy names, else "local" (services/app_state)."""
    if not flask.has_request_context():
        return user_name(None)
    return user_name(flask.request.headers, flask.request.environ)


@callback(
    *[Output(feedback_id(f), "children") for f in FORM_FIELDS],
    Output(TARGET, "invalid"),
    Output(REASON, "invalid"),
    Output(FORM_MESSAGE, "children"),
    Output(ids.URL, "href", allow_duplicate=True),
    Input(SAVE, "n_clicks"),
    Input(CLEAR, "n_clicks"),
    State(PERSON, "value"),
    State(METRIC, "value"),
    State(TARGET, "value"),
    State(REASON, "value"),
    State(VIEW, "data"),
    State(PERIOD, "value"),
    State(PLAN, "data"),
    State(STATE, "data"),
    State(ids.PAGE_STATE, "data"),
    prevent_initial_call=True,
)
def save(saves, clears, person, metric, target, reason, data, period, plan_params, state, search):
    """Saves the target set by hand (Save target), or a version without it (Clear override), as
    a new plan version, then shows the plan in force (the new version). Called when: either
    button is pressed. A wrong field: its message, nothing saved; a view not showing the
    version in force, a version in force meanwhile or a closed period: the message, nothing
    saved."""
    clearing = ctx.triggered_id == CLEAR
    if not (clears if clearing else saves):
        raise PreventUpdate
    nothing = [None] * len(FORM_FIELDS)
    try:
        saved = _save(clearing, person, metric, target, reason, data, period, plan_params, state)
    except PlanInvalid as exc:
        by_field: dict[str, str] = {}
        for problem in exc.problems:
            by_field.setdefault(field_of(problem), problem.message)
        general = by_field.pop("form", None)
        return (
            *form_feedback(by_field),
            "target" in by_field,
            "reason" in by_field,
            error_state(f"Nothing was saved: {general}") if general else None,
            no_update,
        )
    except NotInForce as exc:
        return *nothing, False, False, _not_in_force(exc, search, period), no_update
    except Conflict as exc:
        message = f"{exc} Reload the tab to start from the version in force."
        return *nothing, False, False, error_state(message), no_update
    except (AppStateError, ServiceError) as exc:
        return *nothing, False, False, error_state(f"Nothing was saved: {exc}"), no_update
    except Exception:
        log.exception("saving a target override failed")
        return (
            *nothing,
            False,
            False,
            error_state("Nothing was saved: something went wrong."),
            no_update,
        )
    href = with_page_param(with_page_param(search, "plan", saved.item_id), "version", None)
    href = PATH + with_page_param(href, "period", period)
    until = holds_until(saved)
    if until:  # the page stays so this is read; the plan in force one click away
        words = [f"Saved as version {saved.version}. {until} ", html.A("Show it", href=href)]
        return *nothing, False, False, dbc.Alert(words, color="success"), no_update
    return *nothing, False, False, None, href


def _save(
    clearing, person, metric, target, reason, data, period, plan_params, state
) -> PlanVersion:
    """The override set or cleared, saved on the version the tab was drawn with."""
    _, _, view, measures = _view(data, period, plan_params)
    people = measures.people.set_index("csm_id")["name"].drop(UNOWNED, errors="ignore")
    expected = (state or {}).get("expected")
    data_day = get_database().info().as_of_date
    if clearing:
        name = str(people.get(person, person or ""))
        return clear_override(view, person, metric, name, _author(), expected, data_day)
    form = read_override_form(view, set(people.index), person, metric, target, reason)
    return save_override(view, form, str(people[form.csm_id]), _author(), expected, data_day)


def _not_in_force(exc: NotInForce, search: str | None, period) -> dbc.Alert:
    """Why nothing was saved from this view, with a link to the version in force."""
    words: list = [str(exc)]
    if exc.in_force_version is not None:
        href = with_page_param(with_page_param(search, "version", None), "period", period)
        words += [" ", html.A("Open the version in force", href=PATH + href)]
    return dbc.Alert(words, color="danger")


keep_in_url(PERIOD, "value", "period")
