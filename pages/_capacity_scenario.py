"""Capacity tab 'scenario': how many CSMs the books need each quarter if the business grows
like this, and when to open the requisitions. One sentence answers; the chart sets required
against supply FTE with the requisitions' open-by dates; the quarterly table gives every
number with its unit; the scenario downloads as XLSX or CSV. The model is described under the
chart (services/capacity_projection.py has it in full).

Page parameters: the scenario's (services/capacity_projection.py URL_KEYS: hz, g_*, ch_*,
attr, ramp, rprod, lead, cost, cc_*) and the workload model's (`tu` is edited here; the others
come from the Books tab). An input that cannot be used is marked by its field and the answer is
not recomputed with it.
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import formatting, ids
from components.capacity_scenario import (
    FIELD_KEYS,
    INVALID_KEYS,
    TU,
    actual_texts,
    field_id,
    form_values,
    inputs_form,
    message_id,
    model_notes,
    scenario_tab,
    url_params,
)
from components.shell import panel
from components.states import error_state
from pages._shared import from_store, guarded, keep_params_in_url
from services.capacity_projection import (
    HORIZON,
    projection_quarters,
    scenario_baseline,
)
from services.capacity_scenario_view import scenario_view
from services.db import get_database
from services.errors import ServiceError
from services.settings import load_settings
from services.workload import WorkloadParams

log = logging.getLogger(__name__)

VIEW = "cp-sc-view"  # this tab's copy of the view (filters + requested as-of)
ACTUALS = "cp-sc-actuals"  # each segment's trailing growth and churn as the form shows them
WORKLOAD = "cp-sc-workload"  # the URL's workload model except `tu` (edited here)
URL_STORE = "cp-sc-url"  # {key: value or None}: the scenario's URL parameters
SENTENCE = "cp-sc-sentence"
START = "cp-sc-start"
NOTE = "cp-sc-note"
GRAPH = "cp-sc-graph"
TABLE = "cp-sc-table-box"
REQS = "cp-sc-reqs-box"
XLSX = "cp-sc-xlsx"
CSV = "cp-sc-csv"
CHART_HELP = (
    "Required FTE: the workload points each quarter's books will carry ÷ (capacity per CSM × "
    "target utilisation). Supply: today's active CSMs after attrition and ramp (dashed), and "
    "with the requisitions (solid). Triangles mark the dates the requisitions must be opened "
    "by, with how many; 'now' means that date has passed."
)


def layout(data, filters, as_of, params):
    """The tab's content: the answer, the inputs beside the chart, the quarterly table."""
    workload, _ = WorkloadParams.from_params(params)
    day = as_of.date
    try:
        baseline = scenario_baseline(get_database(), filters, day, workload)
    except ServiceError as exc:
        return error_state(str(exc))
    except Exception:  # e.g. Dash's validation layout, built before a database exists
        log.warning("scenario baseline unavailable", exc_info=True)
        baseline = None
    actuals = actual_texts(baseline)
    values = form_values(params, actuals, workload)
    quarters = projection_quarters(day, HORIZON[1], load_settings().fiscal_year_start_month)
    rest = {k: v for k, v in workload.to_params().items() if k != TU}
    downloads = html.Div(
        [
            html.A("XLSX", id=XLSX, className="btn btn-outline-secondary btn-sm", download=""),
            html.A("CSV", id=CSV, className="btn btn-outline-secondary btn-sm", download=""),
        ],
        className="d-flex gap-2",
    )
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            dcc.Store(id=ACTUALS, data=actuals),
            dcc.Store(id=WORKLOAD, data=rest),
            dcc.Store(id=URL_STORE),
            dcc.Store(id=ids.CAPACITY_SCENARIO_INPUTS),
            dbc.Card(
                dbc.CardBody(
                    [
                        dcc.Loading(
                            html.Div(id=SENTENCE, className="cp-sc-sentence fs-5 fw-semibold"),
                            type="dot",
                            delay_show=150,
                        ),
                        html.Div(id=START, className="small text-muted mt-1"),
                        html.Div(id=NOTE, className="small text-danger mt-1"),
                    ]
                ),
                className="panel mb-3",
                id="cp-sc-answer",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "Scenario inputs",
                            inputs_form(values, {}, actuals, quarters),
                            panel_id="cp-sc-inputs-panel",
                            help_text="Every input is part of the link: copy the address to "
                            "share this scenario. Percentages are per quarter unless marked.",
                        ),
                        lg=4,
                        xl=3,
                        className="mb-3",
                    ),
                    dbc.Col(
                        panel(
                            "Required against supply",
                            [
                                dcc.Graph(
                                    id=GRAPH,
                                    config={"displayModeBar": False},
                                    style={"height": "440px"},
                                ),
                                html.Div(id=REQS),
                                model_notes(),
                            ],
                            panel_id="cp-sc-chart-panel",
                            help_text=CHART_HELP,
                        ),
                        lg=8,
                        xl=9,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Quarter by quarter",
                        html.Div(id=TABLE),
                        panel_id="cp-sc-table-panel",
                        tools=downloads,
                    ),
                    className="mb-3",
                )
            ),
        ]
    )


# What a failed recompute leaves after its message (in the sentence's place): no figure or
# table change, the fields as they are, and no scenario for the save panel.
_FAILED = (
    None,
    no_update,
    None,
    None,
    None,
    *(no_update for _ in (*INVALID_KEYS, *FIELD_KEYS)),
    no_update,
    None,
    no_update,
    no_update,
)


@callback(
    Output(SENTENCE, "children"),
    Output(START, "children"),
    Output(GRAPH, "figure"),
    Output(TABLE, "children"),
    Output(REQS, "children"),
    Output(NOTE, "children"),
    [Output(field_id(k), "invalid") for k in INVALID_KEYS],
    [Output(message_id(k), "children") for k in FIELD_KEYS],
    Output(URL_STORE, "data"),
    Output(ids.CAPACITY_SCENARIO_INPUTS, "data"),
    Output(XLSX, "href"),
    Output(CSV, "href"),
    [Input(field_id(k), "value") for k in FIELD_KEYS],
    Input(VIEW, "data"),
    State(ACTUALS, "data"),
    State(WORKLOAD, "data"),
)
@guarded(*_FAILED)
def recompute(*args):
    """Checks the inputs, marks those that cannot be used, and redraws the answer, the chart,
    the table and the download links for valid ones; keeps the inputs in the URL and in the
    store the save panel reads. Called when: an input or the view changes."""
    *field_values, data, actuals, rest = args
    params = url_params(dict(zip(FIELD_KEYS, field_values, strict=True)), actuals or {})
    filters, day = from_store(data)
    view = scenario_view(get_database(), filters, day, params, rest or {}, formatting.money)
    return scenario_tab(view)


keep_params_in_url(URL_STORE, "data")
