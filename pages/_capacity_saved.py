"""Capacity tab 'saved': the saved what-if scenarios. The list (each scenario's headline:
requisitions and cost, projected on its saved scope and the view's books), actions on the one
ticked (open, duplicate, rename, delete, history, exports) and, with two or three ticked, the
comparison: required vs supply per scenario on one chart and a table of the differences.

Also `save_panel`, drawn under the what-if scenario tab: save the scenario on screen under a
name, or as a new version of the saved one it was opened from; its link to share.

Page parameters: `compare` (repeatable: the ticked scenarios, at most three).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import formatting, ids
from components.capacity_saved import (
    HIDDEN_ACTION,
    history_table,
    list_records,
    saved_grid,
    saved_line,
    selection_outputs,
)
from components.shell import panel
from components.states import empty_state, error_state
from pages._shared import from_store, guarded, keep_params_in_url
from services.app_state import Conflict, InvalidName, NameTaken, user_name
from services.capacity_projection import URL_KEYS
from services.capacity_scenarios import (
    OpenedScenario,
    SavedScenario,
    changed_since_saved,
    copy_name,
    delete_scenario,
    duplicate_scenario,
    export_params,
    get_scenario,
    list_scenarios,
    open_href,
    parse_compare,
    parse_version,
    rename_scenario,
    save_scenario,
    scenario_history,
    scenario_on_screen,
    scenario_outcome,
    scenario_selection,
    scope_of,
    scope_owners,
)
from services.db import get_database
from services.errors import ServiceError
from services.filter_options import owner_labels
from services.filters import Filters

STORE = "cp-view"  # pages/capacity.py: the view (filters + requested as-of) of every tab
VIEW = "cp-saved-view"  # this tab's copy: its callbacks fire only when the tab is shown
REV = "cp-saved-rev"  # bumped after an action: the list is read again
URL_STATE = "cp-saved-url"
GRID = "cp-saved-grid"
COUNT = "cp-saved-count"
SELECTION = "cp-saved-selection"
OPEN = "cp-saved-open"
DUPLICATE = "cp-saved-duplicate"
RENAME = "cp-saved-rename"
DELETE = "cp-saved-delete"
HISTORY = "cp-saved-history"
XLSX = "cp-saved-xlsx"
CSV = "cp-saved-csv"
MESSAGE = "cp-saved-message"
COMPARE = "cp-saved-compare"
# The dialogs: rename and duplicate ask for a name, delete for a confirmation.
DIALOG_KINDS = ("rename", "duplicate", "delete")
HISTORY_MODAL = "cp-saved-history-modal"
HISTORY_BODY = "cp-saved-history-body"

# The save panel under the what-if scenario.
SAVE_PANEL = "cp-save-panel"
SAVE_STATE = "cp-save-state"
SAVE_NAME = "cp-save-name"
SAVE_NAME_FEEDBACK = "cp-save-name-feedback"
SAVE_NAME_ROW = "cp-save-name-row"
SAVE_NEW = "cp-save-new"
SAVE_VERSION = "cp-save-version"
SAVE_AS = "cp-save-as"
SAVE_CHANGED = "cp-save-changed"
SAVE_MESSAGE = "cp-save-message"
SAVE_LINK = "cp-save-link"
SAVE_CURRENT = "cp-save-current-name"
SAVE_LINE = "cp-save-current-line"
SAVE_OLD_NOTE = "cp-save-old-version"
SAVE_URL = "cp-save-url"  # {key: value or None}: the URL after a new version is saved
FIX_FIRST = "Fix the inputs marked above before saving."
REOPEN = (
    "This page lost track of the saved scenario it opened: open it again from the Saved "
    "scenarios tab, then save."
)

LIST_HELP = (
    "Every saved scenario, with the requisitions it opens and what the hires cost a year, "
    "projected on the scope it was saved with and the books of this view's date. Click a name "
    "to open the scenario. Tick one for its actions, two or three to compare them."
)
COMPARE_HELP = (
    "Solid lines: the FTE each scenario's books require at its target utilisation. Dotted: "
    "today's team after attrition and ramp, before any new hire; the requisitions fill the gap. "
    "The table lists every input, the workload model, the scope and the outputs side by side; "
    "rows that differ are highlighted."
)


def _dialog_id(kind: str, part: str) -> str:
    return f"cp-saved-{kind}-{part}"


def _author() -> str:
    """Who is saving: the user an auth proxy names, else "local" (services/app_state)."""
    if not flask.has_request_context():
        return user_name(None)
    return user_name(flask.request.headers, flask.request.environ)


def _host() -> str:
    return flask.request.host_url.rstrip("/") if flask.has_request_context() else ""


# ---- the saved tab -------------------------------------------------------------------------
def _dialog(kind: str, title: str, ok_label: str, ok_color: str) -> dbc.Modal:
    body: list[Any] = [html.Div(id=_dialog_id(kind, "text"), className="mb-2")]
    if kind != "delete":
        body += [
            dbc.Input(id=_dialog_id(kind, "name"), maxLength=80, debounce=False, type="text"),
            dbc.FormFeedback(id=_dialog_id(kind, "feedback"), type="invalid"),
        ]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(title)),
            dbc.ModalBody(body),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=_dialog_id(kind, "cancel"), color="secondary"),
                    dbc.Button(ok_label, id=_dialog_id(kind, "ok"), color=ok_color),
                ]
            ),
        ],
        id=_dialog_id(kind, "modal"),
        is_open=False,
    )


def _action_button(label: str, button_id: str, color: str = "secondary") -> dbc.Button:
    return dbc.Button(label, id=button_id, size="sm", color=color, outline=True, disabled=True)


def layout(data, filters, as_of, params):
    """The tab's frame; the list and the comparison are filled by callbacks (from the store)."""
    picked = list(parse_compare(params.get("compare")))
    toolbar = html.Div(
        [
            html.Div(id=SELECTION, className="small text-muted me-2"),
            dcc.Link(
                dbc.Button("Open", size="sm", color="primary"),
                id=OPEN,
                href="",
                style={"display": "none"},
            ),
            _action_button("Duplicate…", DUPLICATE),
            _action_button("Rename…", RENAME),
            _action_button("History", HISTORY),
            html.A("XLSX", id=XLSX, className="btn btn-sm btn-outline-secondary d-none"),
            html.A("CSV", id=CSV, className="btn btn-sm btn-outline-secondary d-none"),
            _action_button("Delete…", DELETE, color="danger"),
        ],
        className="d-flex flex-wrap gap-2 align-items-center mb-2",
    )
    grid = saved_grid(GRID, picked)
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            dcc.Store(id=REV, data=0),
            dcc.Store(id=URL_STATE),
            html.Div(id=MESSAGE),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Saved scenarios",
                        [html.Div(id=COUNT, className="small mb-2"), toolbar, grid],
                        panel_id="cp-saved-list-panel",
                        help_text=LIST_HELP,
                    ),
                    className="mb-3",
                )
            ),
            dcc.Loading(html.Div(id=COMPARE), type="dot", delay_show=150),
            _dialog("rename", "Rename the scenario", "Rename", "primary"),
            _dialog("duplicate", "Duplicate the scenario", "Duplicate", "primary"),
            _dialog("delete", "Delete the scenario", "Delete", "danger"),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("History")),
                    dbc.ModalBody(id=HISTORY_BODY),
                ],
                id=HISTORY_MODAL,
                is_open=False,
                size="lg",
            ),
        ]
    )


def export_href(kind: str, saved: SavedScenario, day) -> str:
    """The scenario tab's export of a saved scenario (its scope, inputs and workload) on the
    books the list shows."""
    return f"/export/capacity-scenario.{kind}" + export_params(saved, day)


def _owner_names(scenarios: list[SavedScenario]) -> dict[str, str]:
    """The names of the owners saved scopes name ("Ana Ruiz (EMEA)"), for the scope column."""
    owners = scope_owners(scenarios)
    return owner_labels(get_database(), Filters(owner=owners)) if owners else {}


def _outcome(saved: SavedScenario, day):
    """The saved scenario projected on its scope (None when that fails: the row shows dashes)."""
    try:
        return scenario_outcome(get_database(), saved.scope, day, saved, money=formatting.money)
    except ServiceError:
        return None


@callback(
    Output(COUNT, "children"),
    Output(GRID, "rowData"),
    Input(VIEW, "data"),
    Input(REV, "data"),
)
@guarded([])
def render_list(data, _rev):
    """Refills the list of saved scenarios. Called when: the tab opens or an action changed
    the list."""
    _, day = from_store(data)
    saved = list_scenarios()
    rows = list_records([(s, _outcome(s, day)) for s in saved], _owner_names(saved))
    if not saved:
        return empty_state(
            "No saved scenarios yet.",
            "Set up a scenario on the What-if scenario tab and save it under a name.",
        ), rows
    plural = "" if len(saved) == 1 else "s"
    return f"{len(saved):,} saved scenario{plural}, projected on the books of {day:%d %b %Y}.", rows


def _selected_ids(selected: Any) -> list[str]:
    """The ticked rows' ids, from the grid's row objects or the layout's {"ids": [...]}
    (anything else from the client counts as nothing ticked)."""
    if isinstance(selected, dict):
        selected = selected.get("ids")
        rows = selected if isinstance(selected, list) else []
        return [str(i)[:64] for i in rows if isinstance(i, str | int)]
    rows = selected if isinstance(selected, list) else []
    return [str(r.get("id"))[:64] for r in rows if isinstance(r, dict) and r.get("id")]


@callback(
    Output(SELECTION, "children"),
    Output(URL_STATE, "data"),
    Output(OPEN, "href"),
    Output(OPEN, "style"),
    Output(DUPLICATE, "disabled"),
    Output(RENAME, "disabled"),
    Output(HISTORY, "disabled"),
    Output(DELETE, "disabled"),
    Output(XLSX, "href"),
    Output(XLSX, "className"),
    Output(CSV, "href"),
    Output(CSV, "className"),
    Output(COMPARE, "children"),
    Input(GRID, "selectedRows"),
    State(VIEW, "data"),
)
@guarded(
    no_update,
    "",
    {"display": "none"},
    *([True] * 4),
    None,
    HIDDEN_ACTION,
    None,
    HIDDEN_ACTION,
    None,
)
def render_selection(selected, data):
    """Shows the actions of the ticked scenario or the comparison of two or three, and keeps the
    ticked ones in the URL. Called when: a scenario is ticked or unticked."""
    filters, day = from_store(data)
    ticked = _selected_ids(selected)
    chosen = scenario_selection(get_database(), filters, day, ticked, money=formatting.money)
    return selection_outputs(chosen, lambda kind, s: export_href(kind, s, day), COMPARE_HELP)


@callback(
    Output(MESSAGE, "children", allow_duplicate=True),
    Output(ids.URL, "href", allow_duplicate=True),
    Input(GRID, "cellClicked"),
    State(VIEW, "data"),
    prevent_initial_call=True,
)
@guarded(no_update)
def open_clicked(cell, data):
    """Opens the scenario whose name was clicked. Called when: a name in the list is clicked."""
    if not isinstance(cell, dict) or cell.get("colId") != "name" or not cell.get("rowId"):
        raise PreventUpdate
    filters, _ = from_store(data)
    try:
        return no_update, open_href(get_scenario(str(cell["rowId"])[:40]), filters)
    except ServiceError:
        raise PreventUpdate from None


def _one(selected: Any) -> SavedScenario:
    picked = _selected_ids(selected)
    if len(picked) != 1:
        raise PreventUpdate
    return get_scenario(picked[0])  # an id the console cannot have made: NotFound, in words


def _register_dialog(kind: str) -> None:
    """Open (prefilled), cancel and confirm of one dialog; the confirm does the action and
    bumps the list's revision. A name the store refuses stays in the dialog, by the field."""
    has_name = kind != "delete"
    trigger = {"rename": RENAME, "duplicate": DUPLICATE, "delete": DELETE}[kind]
    outputs = [  # the message first: guarded() shows an unexpected error there
        Output(MESSAGE, "children", allow_duplicate=True),
        Output(_dialog_id(kind, "modal"), "is_open"),
        Output(_dialog_id(kind, "text"), "children"),
        Output(REV, "data", allow_duplicate=True),
        Output(GRID, "selectedRows", allow_duplicate=True),
    ]
    inputs = [
        Input(trigger, "n_clicks"),
        Input(_dialog_id(kind, "cancel"), "n_clicks"),
        Input(_dialog_id(kind, "ok"), "n_clicks"),
    ]
    states = [State(GRID, "selectedRows"), State(REV, "data")]
    if has_name:
        outputs += [
            Output(_dialog_id(kind, "name"), "value"),
            Output(_dialog_id(kind, "name"), "invalid"),
            Output(_dialog_id(kind, "feedback"), "children"),
        ]
        inputs.append(Input(_dialog_id(kind, "name"), "n_submit"))
        states.append(State(_dialog_id(kind, "name"), "value"))

    tail = (no_update, no_update, no_update) if has_name else ()

    @callback(*outputs, *inputs, *states, prevent_initial_call=True)
    @guarded(False, no_update, no_update, no_update, *tail)
    def dialog(*args):
        """Opens, cancels or confirms the dialog. Called when: its button, Cancel or the
        confirm (Enter in the name) is pressed."""
        selected, rev = args[-2:] if not has_name else args[-3:-1]
        typed = args[-1] if has_name else None
        trig = ctx.triggered_id
        if trig == _dialog_id(kind, "cancel"):
            return (no_update, False, no_update, no_update, no_update, *tail)
        saved = _one(selected)  # a ServiceError (gone, a bad id) closes the dialog: guarded
        if trig == trigger:
            return _opened(kind, saved)
        try:
            message, keep = _confirm(kind, saved, typed)
        except (InvalidName, NameTaken) as exc:
            return (no_update, True, no_update, no_update, no_update, no_update, True, str(exc))
        done = dbc.Alert(message, color="success", className="py-2 mb-3", dismissable=True)
        again = tail if not has_name else (no_update, False, "")
        rev = rev if isinstance(rev, int) and not isinstance(rev, bool) else 0
        return (done, False, no_update, rev + 1, keep, *again)


def _opened(kind: str, saved: SavedScenario) -> tuple:
    if kind == "delete":
        text = [
            html.Span(f"Delete “{saved.name}”? ", className="fw-semibold"),
            "It leaves this list and its link stops opening it. Its versions are kept in the "
            "store, where an administrator can restore it.",
        ]
        return (no_update, True, text, no_update, no_update)
    if kind == "rename":
        text, value = f"A new name for “{saved.name}”:", saved.name
    else:
        value = copy_name(saved.name, {s.name for s in list_scenarios()})
        text = (
            f"A copy of “{saved.name}” (version {saved.latest_version}) to change without "
            "touching it. Its name:"
        )
    return (no_update, True, text, no_update, no_update, value, False, "")


def _confirm(kind: str, saved: SavedScenario, typed: str | None) -> tuple[str, Any]:
    """Does the action; the message and the grid's selection after it."""
    author = _author()
    if kind == "rename":
        renamed = rename_scenario(saved.id, typed or "", author)
        return f"Renamed “{saved.name}” to “{renamed.name}”.", no_update
    if kind == "duplicate":
        copy = duplicate_scenario(saved.id, typed or "", author)
        return f"Duplicated “{saved.name}” as “{copy.name}”.", []
    delete_scenario(saved.id, author)
    return f"Deleted “{saved.name}”.", []


for _kind in DIALOG_KINDS:
    _register_dialog(_kind)


@callback(
    Output(HISTORY_BODY, "children"),
    Output(HISTORY_MODAL, "is_open"),
    Input(HISTORY, "n_clicks"),
    State(GRID, "selectedRows"),
    State(VIEW, "data"),
    prevent_initial_call=True,
)
@guarded(True)
def show_history(_, selected, data):
    """Shows who saved, renamed or copied the ticked scenario and when, each version a link.
    Called when: History is pressed."""
    filters, _ = from_store(data)
    saved = _one(selected)
    scope = saved.scope.with_values(as_of=filters.as_of) if filters.as_of else saved.scope

    def version_href(version: int) -> str:
        extra = {"tab": "scenario", "scenario": saved.id, "version": str(version)}
        return "/capacity" + scope.to_search(extra)

    return history_table(saved, scenario_history(saved.id), version_href), True


keep_params_in_url(URL_STATE, "data")


# ---- the save panel under the what-if scenario ---------------------------------------------
def _old_version_note(saved: SavedScenario, filters: Filters | None) -> Any:
    if saved.is_latest:
        return None
    latest = saved.href(filters) if filters is not None else ""
    return [
        f"This is version {saved.version}; the latest is {saved.latest_version}. ",
        dcc.Link("Open the latest", href=latest),
        ". Saving a new version makes these inputs the latest.",
    ]


def save_panel(data, filters, as_of, params):
    """Save the scenario on screen: under a new name, or as a new version of the saved one the
    URL opened (`scenario=`, `version=`), with its link to share. Every part is drawn either
    way (hidden when it does not apply): the callbacks find their components."""
    saved, problem = None, None
    if params.get("scenario"):
        try:
            saved = get_scenario(params["scenario"], parse_version(params.get("version")))
        except ServiceError as exc:
            problem = str(exc)
    state = OpenedScenario.of(saved).to_client() if saved else None
    link = _host() + saved.href(filters) if saved and filters is not None else ""
    opened = html.Div(
        [
            html.Div(
                [
                    html.Span("Saved scenario ", className="text-muted"),
                    html.Span(
                        saved.name if saved else "", id=SAVE_CURRENT, className="fw-semibold"
                    ),
                    dbc.Badge("", id=SAVE_CHANGED, className="ms-2", color="light"),
                ],
                className="mb-1",
            ),
            html.Div(
                saved_line(saved) if saved else "", id=SAVE_LINE, className="small text-muted"
            ),
            html.Div(
                _old_version_note(saved, filters) if saved else None,
                id=SAVE_OLD_NOTE,
                className="small mt-1",
            ),
            html.Div(
                [
                    dbc.Button("Save new version", id=SAVE_VERSION, color="primary", size="sm"),
                    dbc.Button(
                        "Save as new…", id=SAVE_AS, color="secondary", outline=True, size="sm"
                    ),
                ],
                className="d-flex gap-2 mt-2",
            ),
        ],
        className="" if saved else "d-none",
    )
    name_row = dbc.Collapse(
        html.Div(
            [
                html.Label("Name", htmlFor=SAVE_NAME, className="small fw-semibold mb-1"),
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id=SAVE_NAME,
                            placeholder="e.g. FY27 plan, 20% SMB growth",
                            maxLength=80,
                            type="text",
                            value=f"{saved.name} (copy)" if saved else "",
                        ),
                        dbc.Button("Save", id=SAVE_NEW, color="primary"),
                    ],
                    style={"maxWidth": "560px"},
                ),
                # Beside the group, not inside it: the callback shows it with the field marked.
                html.Div(id=SAVE_NAME_FEEDBACK, className="small text-danger mt-1"),
            ],
            className="mt-2",
        ),
        id=SAVE_NAME_ROW,
        is_open=saved is None,
    )
    share = html.Div(
        [
            html.Label("Link to share", htmlFor=SAVE_LINK, className="small fw-semibold mb-1"),
            html.Div(
                [
                    dbc.Input(id=SAVE_LINK, value=link, readonly=True, size="sm"),
                    dcc.Clipboard(
                        target_id=SAVE_LINK,
                        title="Copy the link",
                        className="ms-2 fs-5",
                        id="cp-save-copy",
                    ),
                ],
                className="d-flex align-items-center",
                style={"maxWidth": "720px"},
            ),
        ],
        className="mt-3" if saved else "d-none",
    )
    return html.Div(
        panel(
            "Save this scenario",
            [
                dcc.Store(id=SAVE_STATE, data=state),
                dcc.Store(id=SAVE_URL),
                error_state(problem) if problem else None,
                opened,
                name_row,
                html.Div(id=SAVE_MESSAGE, className="mt-2"),
                share,
            ],
            help_text=(
                "Saved scenarios keep every version, with who saved it and when. Saving never "
                "overwrites: a new version is added, and if someone saved this scenario after "
                "you opened it, you are told and nothing is saved. The link opens the latest "
                "version on the scope it was saved with."
            ),
        ),
        id=SAVE_PANEL,
        className="mb-3",
    )


@callback(
    Output(SAVE_CHANGED, "children"),
    Output(SAVE_CHANGED, "color"),
    Output(SAVE_VERSION, "disabled"),
    Input(ids.CAPACITY_SCENARIO_INPUTS, "data"),
    State(SAVE_STATE, "data"),
)
@guarded("light", True)
def mark_changes(current, state):
    """Says whether the scenario on screen differs from the saved version it was opened from.
    Called when: an input of the scenario changes."""
    if not state:
        raise PreventUpdate
    opened = OpenedScenario.from_client(state)
    if opened is None:
        return "", "light", True
    if scenario_on_screen(current) is None:
        return "Inputs need fixing", "danger", True
    try:  # gone or damaged since: the panel's own message says so, the badge stays blank
        changed = changed_since_saved(get_scenario(opened.id, opened.version), current)
    except ServiceError:
        return "", "light", True
    if changed:
        return "Changed since saved", "warning", False
    return "Saved", "success", True


@callback(
    Output(SAVE_NAME_ROW, "is_open", allow_duplicate=True),
    Input(SAVE_AS, "n_clicks"),
    prevent_initial_call=True,
)
def show_name(_):
    """Shows the name field for a copy. Called when: "Save as new…" is pressed."""
    return True


@callback(
    Output(SAVE_MESSAGE, "children", allow_duplicate=True),
    Output(ids.URL, "href", allow_duplicate=True),
    Output(SAVE_NAME, "invalid"),
    Output(SAVE_NAME_FEEDBACK, "children"),
    Input(SAVE_NEW, "n_clicks"),
    Input(SAVE_NAME, "n_submit"),
    State(SAVE_NAME, "value"),
    State(ids.CAPACITY_SCENARIO_INPUTS, "data"),
    State(STORE, "data"),
    prevent_initial_call=True,
)
@guarded(no_update, False, "")
def save_new(clicks, submits, name, current, data):
    """Saves the scenario on screen as a new one under the name, then goes to its link.
    Called when: Save (or Enter in the name) is pressed. Invalid inputs or a damaged store:
    nothing is saved and guarded() says why."""
    if not clicks and not submits:
        raise PreventUpdate
    filters, _ = from_store(data)
    screen = scenario_on_screen(current)
    if screen is None:
        return error_state(FIX_FIRST), no_update, False, ""
    try:
        saved = save_scenario(name, *screen, _author(), scope=scope_of(filters))
    except (InvalidName, NameTaken) as exc:
        return None, no_update, True, str(exc)
    return None, saved.href(filters), False, ""


@callback(
    Output(SAVE_MESSAGE, "children", allow_duplicate=True),
    Output(SAVE_NAME_ROW, "is_open", allow_duplicate=True),
    Output(SAVE_STATE, "data"),
    Output(SAVE_LINE, "children"),
    Output(SAVE_OLD_NOTE, "children"),
    Output(SAVE_CHANGED, "children", allow_duplicate=True),
    Output(SAVE_CHANGED, "color", allow_duplicate=True),
    Output(SAVE_VERSION, "disabled", allow_duplicate=True),
    Output(SAVE_URL, "data"),
    Input(SAVE_VERSION, "n_clicks"),
    State(ids.CAPACITY_SCENARIO_INPUTS, "data"),
    State(SAVE_STATE, "data"),
    State(STORE, "data"),
    prevent_initial_call=True,
)
@guarded(*(no_update,) * 8)
def save_version(clicks, current, state, data):
    """Saves the scenario on screen as the opened one's next version; the panel and the URL
    then show that version (the URL: the scenario's own link, its inputs now saved). Called
    when: "Save new version" is pressed. Invalid inputs, a damaged store: nothing is saved
    and guarded() says why."""
    if not clicks or not state:
        raise PreventUpdate
    filters, _ = from_store(data)
    unchanged = (no_update,) * 7
    opened = OpenedScenario.from_client(state)
    if opened is None:
        return error_state(REOPEN), *unchanged, no_update
    screen = scenario_on_screen(current)
    if screen is None:
        return error_state(FIX_FIRST), *unchanged, no_update
    try:
        saved = save_scenario(
            "",
            *screen,
            _author(),
            expected_version=opened.expected,
            scenario_id=opened.id,
            scope=scope_of(filters),
        )
    except Conflict as exc:  # someone saved meanwhile: offer to keep this as a new scenario
        return error_state(str(exc)), True, *unchanged[1:], no_update
    # The inputs the URL carried are now the saved ones: the link alone opens them.
    url = {key: None for key in (*saved.url_params(), *URL_KEYS, "tu")}
    url.update(scenario=saved.id, version=None)
    return (
        None,
        no_update,
        OpenedScenario.of(saved).to_client(),
        saved_line(saved),
        None,
        "Saved",
        "success",
        True,
        url,
    )


keep_params_in_url(SAVE_URL, "data")
