"""Compensation tab 'plan': the plan in use for the view (which version computes the period and
why), the plan picker (`plan=`), its versions (each opens by its link, `version=`), and the
editor: every field checked as typed (problems marked by their field), each metric's payout
curve redrawn on every change, and Save (a new version, or a new plan) with the URL then
pointing at the saved plan and version. The edited fields are a draft, not URL parameters.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import flask
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.comp_plan import (
    CARD,
    CURVE,
    FIELD,
    MESSAGE,
    METRIC_PICKER,
    OTHER_PROBLEMS,
    WEIGHTS,
    curve_figure,
    draft_payload,
    dropped_overrides,
    editor,
    marks,
    plan_summary,
    save_panel,
    typed_curve,
    version_table,
    weight_total,
    weights_line,
)
from components.shell import panel
from components.states import error_state
from pages._shared import guarded, with_page_param
from services.app_state import Conflict, InvalidName, NameTaken, user_name
from services.comp_plan import METRICS, PlanInvalid, plan_to_payload
from services.comp_plan_store import (
    NotInForce,
    PlanVersion,
    check_in_force,
    default_view,
    draft_problems,
    holds_until,
    plan_for_view,
    plans,
    save_plan,
    versions,
)
from services.db import get_database
from services.errors import ServiceError

PATH = "/compensation"
# What the editor was opened from: {"item_id", "expected" (the version shown, which a new version
# starts from), "base" (its payload), "refused" (why a new version cannot start from it: the
# version shown is not the one in force for the period) and "in_force" (that version, or None)}.
STATE = "cm-plan-state"
PICKER = "cm-plan-picker"
SAVE_VERSION = "cm-plan-save-version"
SAVE_NEW = "cm-plan-save-new"
SAVE_NAME = "cm-plan-save-name"
SAVE_NAME_FEEDBACK = "cm-plan-save-name-feedback"
SAVE_NOTE = "cm-plan-save-note"
SAVE_MESSAGE = "cm-plan-save-message"
FIX_FIRST = "Nothing was saved: fix the fields marked in red above."
PICKER_HELP = (
    "The plan every tab computes with. Without a choice, the most recently saved plan in force "
    "on the period's first day is used (if none was, the most recently saved, as a preview). "
    "Each period is computed with the version in force on its first day, unless the link "
    "pins a version."
)
EDITOR_HELP = (
    "Changes here are a draft until saved. The payout curve of each metric is redrawn as you "
    "type: below the threshold nothing is paid; at the threshold the payout at threshold, "
    "rising in a straight line to 100% at target; above target the accelerator adds points "
    "per point of attainment, up to the cap. Rate targets and uplifts are in %."
)


def _author() -> str:
    """Who is saving: the user an auth proxy names, else "local" (services/app_state)."""
    if not flask.has_request_context():
        return user_name(None)
    return user_name(flask.request.headers, flask.request.environ)


def plan_href(search: str | None, item_id: str, version: int | None) -> str:
    """The Plan tab of a plan (at a version), keeping every other parameter of the view."""
    search = with_page_param(search, "tab", "plan")
    search = with_page_param(search, "plan", item_id)
    return PATH + with_page_param(search, "version", version)


def _params_search(params: dict[str, Any]) -> str:
    return "?" + urlencode(params, doseq=True) if params else ""


def layout(data, filters, as_of, params):
    """The tab: the plan in use, its versions, the editor and the save panel."""
    problem = None
    try:
        view = plan_for_view(params, as_of.date)
        history = versions(view.item_id) if view.item_id else []
        choices = plans()
    except ServiceError as exc:  # a bad link or an unreadable store: say so, edit the default
        problem, view, history, choices = str(exc), default_view({}, as_of.date), [], []
    search = _params_search({k: v for k, v in params.items() if k != "version"})
    try:
        check_in_force(view)
        refused, in_force_version = None, None
    except NotInForce as exc:
        refused, in_force_version = str(exc), exc.in_force_version
    except ServiceError:
        refused, in_force_version = None, None  # the save says what is wrong
    state = {
        "item_id": view.item_id,
        "expected": view.version,
        "base": plan_to_payload(view.plan),
        "refused": refused,
        "in_force": in_force_version,
    }
    picker = dcc.Dropdown(
        id=PICKER,
        options=[{"label": name, "value": item_id} for item_id, name in choices],
        value=view.item_id,
        placeholder="No saved plan yet" if not choices else "Choose a plan",
        clearable=False,
        className="mb-2",
    )
    in_use = panel(
        "Plan in use",
        [picker, plan_summary(view, history)],
        panel_id="cm-plan-in-use",
        help_text=PICKER_HELP,
    )
    history_panel = panel(
        "Versions",
        version_table(history, view.version, lambda n: plan_href(search, view.item_id or "", n)),
        panel_id="cm-plan-history",
        help_text="Every saved version, newest first. Open one to see or edit it.",
    )
    return html.Div(
        [
            dcc.Store(id=STATE, data=state),
            error_state(problem) if problem else None,
            dbc.Row(
                [
                    dbc.Col(in_use, lg=5, className="mb-3"),
                    dbc.Col(history_panel, lg=7, className="mb-3"),
                ]
            ),
            html.Div(
                panel(
                    "Edit the plan",
                    editor(view.plan),
                    panel_id="cm-plan-editor",
                    help_text=EDITOR_HELP,
                ),
                className="mb-3",
            ),
            save_panel(view, "" if view.item_id else "CSM bonus plan"),
        ]
    )


def _values(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The editor's fields by name, from a callback's ALL input or state (`ctx.inputs_list[i]`,
    `ctx.states_list[i]`): each is {"id": {"type", "field"}, "value"}."""
    return {item["id"]["field"]: item.get("value") for item in items}


def _data_as_of():
    return get_database().info().as_of_date


@callback(
    Output({"type": FIELD, "field": ALL}, "invalid"),
    Output({"type": MESSAGE, "field": ALL}, "children"),
    Output({"type": CURVE, "metric": ALL}, "figure"),
    Output({"type": CARD, "metric": ALL}, "className"),
    Output(WEIGHTS, "children"),
    Output(WEIGHTS, "className"),
    Output(OTHER_PROBLEMS, "children"),
    Input({"type": FIELD, "field": ALL}, "value"),
    Input(METRIC_PICKER, "value"),
    State(STATE, "data"),
)
def check_draft(_values_list, chosen, state):
    """Marks every problem by its field, redraws each metric's curve and adds the weights up.
    Called when: the tab opens and any field of the editor changes."""
    values, chosen = _values(ctx.inputs_list[0]), [k for k in (chosen or []) if k in METRICS]
    state = state if isinstance(state, dict) else {}
    payload = draft_payload(values, chosen, state.get("base"))
    _, problems = draft_problems(payload, _data_as_of(), state.get("item_id"))
    fields = [o["id"]["field"] for o in ctx.outputs_list[0]]
    slots = [o["id"]["field"] for o in ctx.outputs_list[1]]
    invalid, messages, rest = marks(problems, fields, slots)
    curves = [o["id"]["metric"] for o in ctx.outputs_list[2]]
    figures = [curve_figure(METRICS[k].label, *typed_curve(values, k)) for k in curves]
    cards = ["" if o["id"]["metric"] in chosen else "d-none" for o in ctx.outputs_list[3]]
    weights_text, weights_class = weights_line(weight_total(values, chosen), chosen)
    other = error_state(" ".join(rest)) if rest else None
    return invalid, messages, figures, cards, weights_text, weights_class, other


@callback(
    Output(SAVE_MESSAGE, "children"),
    Output(ids.URL, "href", allow_duplicate=True),
    Output(SAVE_NAME, "invalid"),
    Output(SAVE_NAME_FEEDBACK, "children"),
    Input(SAVE_VERSION, "n_clicks"),
    Input(SAVE_NEW, "n_clicks"),
    State({"type": FIELD, "field": ALL}, "value"),
    State(METRIC_PICKER, "value"),
    State(STATE, "data"),
    State(SAVE_NAME, "value"),
    State(SAVE_NOTE, "value"),
    State(ids.PAGE_STATE, "data"),
    prevent_initial_call=True,
)
@guarded(no_update, False, None)
def save(version_clicks, new_clicks, _values_list, chosen, state, name, note, search):
    """Saves the draft as a new version of the plan on view (or as a new plan under the name),
    then opens the saved version (or, when it dropped targets set by hand or a later-dated
    version replaces it, says so with a link to it). Called when: a Save button is pressed. A
    plan with problems, a view not showing the version in force, a change built on another
    version than the one in force, or a bad name: nothing is saved and the message says why."""
    # A page drawn again (after a save, a version opened) announces its buttons with no click:
    # only a real click saves.
    clicks = {SAVE_VERSION: version_clicks, SAVE_NEW: new_clicks}.get(ctx.triggered_id)
    if not clicks:
        raise PreventUpdate
    state = state if isinstance(state, dict) else {}
    item_id = state.get("item_id") if ctx.triggered_id == SAVE_VERSION else None
    if item_id and state.get("refused"):
        return _refused(state, search, item_id), no_update, False, None
    expected = state.get("expected") if item_id else None
    chosen = [k for k in (chosen or []) if k in METRICS]
    payload = draft_payload(_values(ctx.states_list[0]), chosen, state.get("base"))
    try:
        saved = save_plan(
            item_id, name or "", payload, _author(), expected, _data_as_of(), note or ""
        )
    except PlanInvalid:
        return error_state(FIX_FIRST), no_update, False, None
    except (InvalidName, NameTaken) as exc:
        return None, no_update, True, str(exc)
    except Conflict as exc:
        # A full load (not a dcc.Link): the version in force may be at this very address.
        reload = html.A("Open the version in force", href=plan_href(search, item_id, None))
        return (
            dbc.Alert(
                [str(exc), " ", reload, " (your edits here are lost when you do)."], color="danger"
            ),
            no_update,
            False,
            None,
        )
    href = plan_href(search, saved.item_id, saved.version)
    said = _saved_words(saved, dropped_overrides(state.get("base"), chosen))
    if not said:
        return None, href, False, None
    # Something to read first: the page stays, the saved version one click away.
    opened = html.A(f"Open version {saved.version}", href=href)
    return dbc.Alert([*said, " ", opened], color="success"), no_update, False, None


def _refused(state: dict, search: str | None, item_id: str) -> Any:
    """Why no version can be saved from this view, with a link to the version in force."""
    words: list[Any] = [state["refused"]]
    if state.get("in_force"):
        words += [" ", html.A("Open the version in force", href=plan_href(search, item_id, None))]
    return dbc.Alert(words, color="danger")


def _saved_words(saved: PlanVersion, dropped: int) -> list[str]:
    """What a user must know about a saved version beyond 'saved': the targets set by hand it
    dropped (their metric left the plan) and a later-dated version replacing it."""
    words = []
    if dropped:
        targets = "target" if dropped == 1 else "targets"
        words.append(
            f"Saved as version {saved.version}. {dropped} {targets} set by hand for metrics no "
            "longer in the plan dropped."
        )
    until = holds_until(saved)
    if until:
        words.append(until if words else f"Saved as version {saved.version}. {until}")
    return words


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(PICKER, "value"),
    State(STATE, "data"),
    State(ids.PAGE_STATE, "data"),
    prevent_initial_call=True,
)
def open_plan(item_id, state, search):
    """Opens the chosen plan (the version in force for the period). Called when: a plan is
    picked."""
    current = state.get("item_id") if isinstance(state, dict) else None
    if not isinstance(item_id, str) or item_id == current:
        raise PreventUpdate
    return plan_href(search, item_id[:40], None)
