"""Compensation tab 'statement': one person's statement for the view's plan version and period,
drawn as a document, with its XLSX, a printable version and "Issue statement", which freezes
it in the saved-items store under a link that shows it exactly as issued.

Page parameters: `csm` (the person), `print=1` (the statement alone, to print), `statement`
(an issued statement's id: shown as issued, with whether the live numbers now differ), and
the view's `plan`, `version`, `period` (services/comp_plan_store.plan_for_view).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from components import ids
from components.comp_statement import document, issued_note
from components.shell import panel
from components.states import empty_state, error_state
from pages._shared import from_store, guarded
from services.app_state import user_name
from services.db import get_database
from services.errors import ServiceError
from services.filters import DIMENSION_LABELS, Filters

PATH = "/compensation"
PARAMS = "cm-statement-params"  # the view's URL parameters (the picker and Issue rebuild from them)
PERSON = "cm-statement-person"
XLSX = "cm-statement-xlsx"
PRINT = "cm-statement-print"
PRINT_NOW = "cm-statement-print-now"
ISSUE = "cm-statement-issue"
ISSUE_MESSAGE = "cm-statement-issue-message"
ISSUE_REFUSAL = "cm-statement-issue-refusal"  # why Issue is disabled (not the version in force)
ISSUED_LINK = "cm-statement-issued-link"
BACK = "cm-statement-back"
PRINTABLE = "cm-statement-printable"  # the class of the printable version (assets/print.css)
EXPORT_PATH = "/export/compensation/statement.xlsx"
ACCOUNT_FILTERS = ("segment", "region", "tier")
HELP = (
    "What the person is paid for the period under the plan version in force: each metric's "
    "weight, target and the rule that set it, the actual to date, attainment and payout, the "
    "on-target bonus prorated to the period and the time employed, and every renewal and "
    "expansion that counts (credited to the account's owner on the day it closed). Issuing "
    "the statement keeps it, with the data build it was computed on, under a link that shows "
    "it exactly as issued after any later import."
)


def _first(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    value = value[0] if isinstance(value, list | tuple) and value else value
    return str(value)[:64] if value not in (None, "") else None


def _search(params: Mapping[str, Any], **changes: Any) -> str:
    """The tab's query string with some parameters set (None removes them)."""
    kept = {k: v for k, v in params.items() if k not in changes}
    kept.update({k: v for k, v in changes.items() if v is not None})
    kept["tab"] = "statement"
    return "?" + urlencode(kept, doseq=True)


def _author() -> str:
    if not flask.has_request_context():
        return user_name(None)
    return user_name(flask.request.headers, flask.request.environ)


def _host() -> str:
    return flask.request.host_url.rstrip("/") if flask.has_request_context() else ""


def issued_href(item_id: str) -> str:
    return f"{PATH}?tab=statement&statement={item_id}"


def _button_link(label: str, href: str, link_id: str, **extra: Any) -> html.A:
    return html.A(
        label, href=href, id=link_id, className="btn btn-sm btn-outline-secondary", **extra
    )


def _scope_note(filters: Filters) -> Any:
    restricted = [DIMENSION_LABELS[d] for d in ACCOUNT_FILTERS if getattr(filters, d)]
    if not restricted:
        return None
    return html.Div(
        f"A statement covers the person's whole book: the {', '.join(restricted).lower()} "
        "filter does not apply to it.",
        className="small text-muted mb-2",
    )


def _printable(body: Any, back_href: str) -> html.Div:
    """The statement alone: assets/print.css hides the console's chrome around it."""
    return html.Div(
        [
            html.Div(
                [
                    dcc.Link("← Back to the console", href=back_href, id=BACK, className="me-3"),
                    html.Button(
                        "Print", id=PRINT_NOW, className="btn btn-sm btn-primary", n_clicks=0
                    ),
                ],
                className="cm-statement-actions d-flex align-items-center mb-3",
            ),
            html.Div(body, className="cm-statement-paper"),
        ],
        className=PRINTABLE,
    )


def _issued_layout(params: Mapping[str, Any], item_id: str) -> html.Div:
    from services.comp_statement import issued_statement, live_check

    statement = issued_statement(item_id)  # NotFound / DamagedStatement: the page says so
    check = live_check(get_database(), statement)
    body = [issued_note(statement, check), document(statement)]
    if _first(params, "print") == "1":
        return _printable(body, issued_href(item_id))
    actions = html.Div(
        [
            _button_link("Download XLSX", f"{EXPORT_PATH}?statement={item_id}", XLSX, download=""),
            _button_link("Printable version", issued_href(item_id) + "&print=1", PRINT),
            dcc.Link(
                "Open the live statement",
                href=PATH
                + _search(
                    {},
                    csm=statement.csm_id,
                    period=statement.period_key,
                    plan=statement.plan_item_id,
                    version=statement.plan_version,
                    as_of=statement.as_of.isoformat(),
                ),
                className="btn btn-sm btn-outline-secondary",
                id="cm-statement-live",
            ),
        ],
        className="cm-statement-actions d-flex flex-wrap gap-2 mb-3",
    )
    return html.Div([actions, panel("Issued statement", body, help_text=HELP)])


def _picker(options: list[tuple[str, str]], csm: str | None) -> html.Div:
    return html.Div(
        [
            html.Label("Person", htmlFor=PERSON, className="small fw-semibold mb-1"),
            dcc.Dropdown(
                id=PERSON,
                options=[{"label": label, "value": value} for value, label in options],
                value=csm,
                placeholder="Pick a person…",
                clearable=False,
                style={"maxWidth": "460px"},
            ),
        ],
        className="mb-3 cm-statement-picker",
    )


def _frame(
    params: Mapping[str, Any],
    *content: Any,
    picker: Any = None,
    has_issue: bool = False,
    has_print: bool = False,
) -> html.Div:
    """The tab's content with every component its callbacks name (hidden where unused), so
    Dash finds them whichever view is drawn."""
    hidden = {"display": "none"}
    spare = [
        *([] if has_issue else [html.Button(id=ISSUE, n_clicks=0)]),
        *([] if has_print else [html.Button(id=PRINT_NOW, n_clicks=0)]),
    ]
    return html.Div(
        [
            dcc.Store(id=PARAMS, data=dict(params)),
            picker if picker is not None else html.Div(dcc.Dropdown(id=PERSON), style=hidden),
            *content,
            html.Div(id=ISSUE_MESSAGE, className="mb-2"),
            html.Div(spare, style=hidden) if spare else None,
        ]
    )


def _print_mode(params: Mapping[str, Any]) -> bool:
    return _first(params, "print") == "1"


def _live_layout(params: Mapping[str, Any], filters: Filters, day) -> html.Div:
    from services.comp_plan_store import plan_for_view
    from services.comp_statement import build_statement, issue_refusal, people

    db = get_database()
    csm = _first(params, "csm")
    try:
        plan_view = plan_for_view(params, day)
        options = people(db, filters, plan_view, day)
        statement = build_statement(db, filters, plan_view, csm, day) if csm else None
    except ServiceError as exc:
        return _frame(params, error_state(str(exc)), picker=_picker([], csm))
    if statement is None:
        body: Any = empty_state(
            "Pick a person to see their statement.",
            f"{plan_view.name} · {plan_view.period.label()}",
        )
    else:
        body = document(statement)
    if _print_mode(params) and statement is not None:
        printable = _printable(body, PATH + _search(params, print=None))
        return _frame(params, printable, has_print=True)
    export = (
        EXPORT_PATH + "?" + urlencode({k: v for k, v in params.items() if k != "print"}, doseq=True)
    )
    refusal = issue_refusal(statement) if statement is not None else None
    actions = html.Div(
        [
            _button_link("Download XLSX", export, XLSX, download=""),
            _button_link(
                "Printable version", PATH + _search(params, print=None) + "&print=1", PRINT
            ),
            dbc.Button(
                "Issue statement",
                id=ISSUE,
                color="primary",
                size="sm",
                n_clicks=0,
                disabled=refusal is not None,
                title=refusal or "Keep this statement, exactly as shown, under its own link",
            ),
        ],
        id="cm-statement-controls",
        className="cm-statement-actions d-flex flex-wrap gap-2 mb-2"
        + ("" if statement else " d-none"),
    )
    return _frame(
        params,
        html.Div(plan_view.note, id="cm-statement-plan-note", className="small text-muted mb-1"),
        _scope_note(filters),
        actions,
        dbc.Alert(refusal, id=ISSUE_REFUSAL, color="warning", className="small py-2 mb-2")
        if refusal
        else None,
        panel("Statement", body, panel_id="cm-statement-panel", help_text=HELP),
        picker=_picker(options, csm),
        has_issue=True,
    )


def layout(data, filters, as_of, params):
    """The tab: the picker and the chosen person's statement (built here, on page load), or
    an issued statement (`statement=`) exactly as issued."""
    params = {k: v for k, v in (params or {}).items() if k != "tab"}
    issued_id = _first(params, "statement")
    if issued_id:
        try:
            return _frame(params, _issued_layout(params, issued_id), has_print=_print_mode(params))
        except ServiceError as exc:
            return _frame(params, error_state(str(exc)))
    return _live_layout(params, filters, as_of.date)


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(PERSON, "value"),
    State(PARAMS, "data"),
    prevent_initial_call=True,
)
def pick_person(csm, params):
    """Opens the picked person's statement (its own link). Called when: a person is picked."""
    params = params if isinstance(params, dict) else {}
    if not csm or csm == _first(params, "csm"):
        raise PreventUpdate
    return PATH + _search(params, csm=str(csm)[:64], print=None, statement=None)


@callback(
    Output(ISSUE_MESSAGE, "children"),
    Input(ISSUE, "n_clicks"),
    State(PARAMS, "data"),
    State("cm-view", "data"),
    prevent_initial_call=True,
)
@guarded()
def issue(clicks, params, data):
    """Issues the statement on screen (computed again on the same data) and shows its link.
    Called when: "Issue statement" is pressed. Anything wrong: nothing is saved, it says why."""
    from services.comp_plan_store import plan_for_view
    from services.comp_statement import build_statement, issue_statement

    csm = _first(params, "csm") if isinstance(params, dict) else None
    if not clicks or not csm:
        raise PreventUpdate
    filters, day = from_store(data)
    plan_view = plan_for_view(params, day)
    statement = build_statement(get_database(), filters, plan_view, csm, day)
    item_id = issue_statement(statement, _author())
    href = issued_href(item_id)
    return dbc.Alert(
        [
            "Statement issued. Its link shows it exactly as issued, whatever data is imported "
            "later: ",
            dcc.Link(_host() + href, href=href, id=ISSUED_LINK),
        ],
        color="success",
        className="py-2 mb-0",
    )


clientside_callback(
    "function (n) { if (n) { window.print(); } return ''; }",
    Output(PRINT_NOW, "title"),
    Input(PRINT_NOW, "n_clicks"),
    prevent_initial_call=True,
)
