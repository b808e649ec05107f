"""Health model (/health-model): does the score predict lost ARR, and would other weights do better?

The backtest of the model in force beside a proposal typed on the page (weights and thresholds),
the recall curve, the band mix now and the component diagnostics. The proposal lives in the URL
(`?w=30,20,15,15,20&green=70&yellow=40`): shareable, and nothing changes for anyone else.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import formatting, ids
from components.charts import empty_figure
from components.health_model import (
    backtest_figure,
    band_mix_now_figure,
    comparison_table,
    curve_figure,
    diagnostics_figure,
    diagnostics_table,
    number_field,
    window_text,
)
from components.shell import page_header, panel, panel_col
from components.states import error_state, notice
from pages._shared import from_store, guarded, keep_params_in_url, view_state
from services.db import get_database
from services.health import health_inputs, inputs_sentence
from services.health_backtest import (
    CURRENT,
    backtest,
    band_mix_now,
    component_diagnostics,
    parse_proposal,
    proposal_from_url,
    proposal_url_params,
)
from services.health_model import COMPONENT_LABELS, COMPONENTS
from services.metrics import metric

dash.register_page(
    __name__,
    path="/health-model",
    name="Health model",
    title="Health model · CS Ops Console",
    order=2,
)

GRAPH_CONFIG = {"displayModeBar": False}
STORE = "hm-view"
URL_PARAMS = "hm-url-params"  # the proposal as typed, kept in the URL
MODEL = "hm-model"  # the valid proposal's URL parameters, or None (show the current model)
WEIGHTS = [f"hm-w-{c}" for c in COMPONENTS]
GREEN, YELLOW = "hm-green", "hm-yellow"
SUM_MESSAGE = "hm-weights-message"
TUNE_NOTE = "hm-tune-note"
CURRENT_FIG, PROPOSED_FIG = "hm-current", "hm-proposed"
COMPARE, WINDOW = "hm-compare", "hm-window"
CURVE, MIX = "hm-curve", "hm-mix"
DIAG_FIG, DIAG_TABLE, INPUTS = "hm-diag", "hm-diag-table", "hm-inputs"
URL_KEYS = ("w", "green", "yellow")
BACKTEST_HELP = (
    f"{metric('loss_rate_arr').definition} {metric('loss_rate').definition.split('. ')[0]}. "
    "Bars are grouped by the band each account had before its renewal; "
    "click a bar to list those renewals."
)
CURVE_HELP = (
    "Move the red threshold from 0 to 100: each point is the share of renewal ARR it would flag "
    "red and the share of lost ARR it would have caught. The dots are the thresholds in use. "
    + metric("health_recall").definition
)
DIAG_HELP = (
    "For each input of the score, over the same renewals: its spread (percentiles), how often it "
    "was missing (scored neutral and flagged), and how much more ARR was lost when it was below "
    "40 than when it was not (lift). An input whose data is absent is left out of the score."
)


def layout(**params):
    data, filters, as_of = view_state(params)
    proposal = proposal_from_url(params)
    subtitle = f"As of {as_of.date:%d %b %Y}" if as_of else None
    fields = [
        number_field(fid, f"{COMPONENT_LABELS[c]} weight", text, "%")
        for fid, c, text in zip(WEIGHTS, COMPONENTS, proposal.weights_text, strict=True)
    ]
    fields += [
        number_field(GREEN, "Green from", proposal.green_text),
        number_field(YELLOW, "Red below", proposal.yellow_text),
    ]
    current_w = ",".join(f"{v:g}" for v in CURRENT.weights().values())
    tune = panel(
        "Tune the model",
        [
            dbc.Row(fields, className="g-2"),
            html.Div(id=SUM_MESSAGE, className="invalid-feedback d-block"),
            html.Div(
                [
                    html.Span(id=TUNE_NOTE),
                    " ",
                    dcc.Link(
                        "Back to the current model",
                        href="/health-model" + (filters.to_search() if filters else ""),
                        id="hm-reset",
                    ),
                    html.Span(
                        f" (weights {current_w}, green from {CURRENT.green_min:g}, red below "
                        f"{CURRENT.yellow_min:g}). A proposal is only a link: nothing changes "
                        "for anyone else.",
                        className="text-muted",
                    ),
                ],
                className="small mt-1",
            ),
            html.Div(id=INPUTS, className="small text-muted mt-1"),
        ],
        help_text="Weights are percentages of the score and must add up to 100. The backtest, "
        "the curve and the band mix recompute for the proposal; the current model stays beside it.",
    )
    views = [
        dbc.Row(dbc.Col(tune, className="mb-3")),
        html.Div(id=WINDOW, className="small text-muted mb-2"),
        dbc.Row(
            [
                panel_col(
                    6,
                    "Backtest: current model",
                    dcc.Graph(id=CURRENT_FIG, config=GRAPH_CONFIG),
                    help_text=BACKTEST_HELP,
                ),
                panel_col(
                    6,
                    "Backtest: proposed model",
                    dcc.Graph(id=PROPOSED_FIG, config=GRAPH_CONFIG),
                    help_text=BACKTEST_HELP,
                ),
            ]
        ),
        dbc.Row(
            [
                panel_col(5, "Current vs proposed", html.Div(id=COMPARE)),
                panel_col(
                    7,
                    "Recall against ARR flagged",
                    dcc.Graph(id=CURVE, config=GRAPH_CONFIG),
                    help_text=CURVE_HELP,
                ),
            ]
        ),
        dbc.Row(
            [
                panel_col(
                    5,
                    "Band mix now",
                    dcc.Graph(id=MIX, config=GRAPH_CONFIG),
                    help_text=metric("pct_arr_red").definition,
                ),
                panel_col(
                    7,
                    "Component diagnostics",
                    [dcc.Graph(id=DIAG_FIG, config=GRAPH_CONFIG), html.Div(id=DIAG_TABLE)],
                    help_text=DIAG_HELP,
                ),
            ]
        ),
    ]
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            dcc.Store(id=MODEL),
            dcc.Store(id=URL_PARAMS),
            page_header("Health model", subtitle),
            error_state(data["error"])
            if "error" in data
            else notice(as_of.notice if as_of else None),
            html.Div(views, style={"display": "none"} if "error" in data else {}),
        ]
    )


def _proposed(model):
    """The valid proposal in the MODEL store, or None (the current model is shown alone)."""
    params = proposal_from_url(model or {}).params if model else None
    return None if params is None or params == CURRENT else params


@callback(
    [Output(f, "invalid") for f in (*WEIGHTS, GREEN, YELLOW)],
    [Output(f"{f}-message", "children") for f in (*WEIGHTS, GREEN, YELLOW)],
    Output(SUM_MESSAGE, "children"),
    Output(TUNE_NOTE, "children"),
    Output(MODEL, "data"),
    Output(URL_PARAMS, "data"),
    [Input(f, "value") for f in (*WEIGHTS, GREEN, YELLOW)],
)
def check_proposal(*values):
    """Checks the proposal, marks bad fields, keeps it in the URL. Called when: a field changes."""
    fields = values
    p = parse_proposal(fields[:5], fields[5], fields[6])
    keys = (*(f"w_{c}" for c in COMPONENTS), "green_min", "yellow_min")
    invalid = [k in p.errors for k in keys]
    messages = [p.errors.get(k) for k in keys]
    typed = proposal_url_params(p)
    if p.errors:
        note = "Showing the current model: fix the marked fields to see the proposal."
    elif p.is_current:
        note = "This is the current model: change a weight or a threshold to compare."
    else:
        note = "Proposal shown beside the current model."
    model = proposal_url_params(p) if p.params is not None and not p.is_current else None
    return (
        *invalid,
        *messages,
        p.errors.get("weights"),
        note,
        model,
        {key: typed.get(key) for key in URL_KEYS},
    )


@callback(
    Output(CURRENT_FIG, "figure"),
    Output(PROPOSED_FIG, "figure"),
    Output(COMPARE, "children"),
    Output(WINDOW, "children"),
    Input(STORE, "data"),
    Input(MODEL, "data"),
)
@guarded(empty_figure(""), None, None, figures=1)
def render_backtest(data, model):
    """Redraws both backtests and the comparison. Called when: the view or the proposal changes."""
    filters, snapshot = from_store(data)
    db, proposed = get_database(), _proposed(model)
    current = backtest(db, filters, snapshot)
    other = backtest(db, filters, snapshot, proposed) if proposed else None
    red_now = (
        band_mix_now(db, filters, snapshot).set_index("band").loc["red", "share_arr"],
        band_mix_now(db, filters, snapshot, proposed).set_index("band").loc["red", "share_arr"]
        if proposed
        else None,
    )
    proposed_fig = (
        backtest_figure(other, "Proposed")
        if other
        else empty_figure("Proposed model", "Change a weight or a threshold above to compare")
    )
    return (
        backtest_figure(current, "Current"),
        proposed_fig,
        comparison_table(current, other, red_now),
        window_text(current),
    )


@callback(
    Output(CURVE, "figure"),
    Output(MIX, "figure"),
    Input(STORE, "data"),
    Input(MODEL, "data"),
)
@guarded(figures=2)
def render_curve_and_mix(data, model):
    """Redraws the recall curve and the band mix now. Called when: the view or proposal changes."""
    filters, snapshot = from_store(data)
    db, proposed = get_database(), _proposed(model)
    current = backtest(db, filters, snapshot)
    other = backtest(db, filters, snapshot, proposed) if proposed else None
    mix = band_mix_now(db, filters, snapshot)
    mix_other = band_mix_now(db, filters, snapshot, proposed) if proposed else None
    return curve_figure(current, other), band_mix_now_figure(
        mix, mix_other, (CURRENT, proposed or CURRENT)
    )


@callback(
    Output(DIAG_FIG, "figure"),
    Output(DIAG_TABLE, "children"),
    Output(INPUTS, "children"),
    Input(STORE, "data"),
    Input(MODEL, "data"),
)
@guarded(None, None, figures=1)
def render_diagnostics(data, model):
    """Redraws the component diagnostics. Called when: the view or the proposal changes."""
    filters, snapshot = from_store(data)
    db = get_database()
    diag = component_diagnostics(db, filters, snapshot)
    return (
        diagnostics_figure(diag),
        diagnostics_table(diag, CURRENT, _proposed(model)),
        inputs_sentence(health_inputs(db, filters, snapshot), formatting.date),
    )


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(CURRENT_FIG, "clickData"),
    Input(PROPOSED_FIG, "clickData"),
    State(STORE, "data"),
    State(MODEL, "data"),
    prevent_initial_call=True,
)
def drill_to_renewals(current_click, proposed_click, data, model):
    """Opens the renewals behind a clicked bar. Called when: a backtest bar is clicked."""
    filters, _ = from_store(data)
    point = (dash.ctx.triggered[0]["value"] or {}).get("points", [{}])[0]
    band = (point.get("customdata") or [None])[0]
    if not band:
        return no_update
    extra = dict(model or {}) if dash.ctx.triggered_id == PROPOSED_FIG else {}
    return "/renewals/list" + filters.to_search({"band": band, **extra})


keep_params_in_url(URL_PARAMS, "data")
