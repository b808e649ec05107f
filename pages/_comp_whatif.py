"""Compensation tab 'whatif': change target levels or payout curves and see the projected payout
and its spread over people change at once; the fairness view shows projected attainment by
segment, tenure and book size under the what-if, and every person whose target is out of
reach or trivially reached, with why. Nothing is saved: the inputs are URL parameters.

Page parameters: `wi_<metric>_target` (% of each target), `wi_<metric>_threshold`,
`wi_<metric>_payout_at_threshold`, `wi_<metric>_accelerator`, `wi_<metric>_cap`
(services/comp_whatif.py reads them), with `plan`, `version`, `period` and the filter bar's.
An input that cannot be used is marked by its field and not applied; the others apply.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from components.comp_whatif import (
    FIELD,
    FIELD_MSG,
    PREFIX,
    curves_figure,
    distribution_figure,
    fairness_figure,
    fairness_table,
    field_values,
    flagged_grid,
    flagged_records,
    inputs_form,
    plan_defaults,
    reset_link,
    totals,
    url_changes,
)
from components.shell import panel
from components.states import error_state
from pages._comp_view import resolve_comp_view, with_plan
from pages._shared import from_store, guarded, keep_params_in_url
from services.comp_payout import fairness
from services.comp_plan_store import plan_for_view
from services.comp_whatif import PREFIX as WI
from services.comp_whatif import what_if_plan
from services.errors import ServiceError

log = logging.getLogger(__name__)

VIEW = PREFIX + "view"
PLAN = PREFIX + "plan-params"  # the URL's plan, version and period
DEFAULTS = PREFIX + "defaults"  # each field's value under the plan (dropped from the URL)
URL_STORE = PREFIX + "url"  # {key: value or None}: the what-if's URL parameters
HEADER = PREFIX + "header"
NOTE = PREFIX + "note"
TOTALS = PREFIX + "totals-box"
DISTRIBUTION = PREFIX + "distribution"
CURVES = PREFIX + "curves"
FAIR_CHART = PREFIX + "fair-chart"
FAIR_TABLES = PREFIX + "fair-tables"
FLAGGED = PREFIX + "flagged"
FLAGGED_NOTE = PREFIX + "flagged-note"
PAGE_PATH = "/compensation"
FORM_HELP = (
    "Target level: every person's target for the metric at this % of itself (110 = 10% "
    "harder), whatever rule set it. The curve: below the threshold nothing; the payout at "
    "threshold rising to 100% at target; the accelerator's points per point above target, up "
    "to the cap. Every input is part of the link; nothing is saved."
)
DISTRIBUTION_HELP = (
    "Each person with a bonus: the projected payout (actual to date + the renewal forecast "
    "for the rest of the period) as a % of their on-target bonus, under the plan (grey) and "
    "the what-if (blue); the dotted lines are the medians."
)
FAIR_HELP = (
    "CSMs only (managers and the director are measured on others' books), under the what-if: "
    "their weighted projected attainment by the segment holding most of their book's ARR, "
    "their tenure at the period's start, and the size of their book (quartiles of ARR). "
    "Flagged: how many have a metric whose target is out of reach / trivially reached."
)
FLAGGED_HELP = (
    "Out of reach: even if every open renewal due in the period renews in full and every "
    "open opportunity is won, attainment stays below the curve's threshold. Trivially "
    "reached: even if everything still open is lost, the target is met."
)


def layout(data, filters, as_of, params):
    """The tab's frame: the inputs (the plan's metrics; the URL's values) and the slots the
    recompute callback fills."""
    try:
        plan = plan_for_view(params, as_of.date).plan
    except ServiceError as exc:
        return error_state(str(exc))
    except Exception:  # Dash's validation layout, built before there is a database
        log.warning("what-if tab: no plan view", exc_info=True)
        plan = None
    if plan is not None:
        values, defaults = field_values(plan, params), plan_defaults(plan)
        _, errors = what_if_plan(plan, {k: v for k, v in values.items() if v != defaults.get(k)})
        form = inputs_form(plan, values, errors)
    else:
        defaults, form = {}, html.Div()
    kept = {k: v for k, v in params.items() if not str(k).startswith(WI)}
    plan_params = {k: params[k] for k in ("plan", "version", "period") if params.get(k)}
    return html.Div(
        [
            dcc.Store(id=VIEW, data=data),
            dcc.Store(id=PLAN, data=plan_params),
            dcc.Store(id=DEFAULTS, data=defaults),
            dcc.Store(id=URL_STORE),
            html.Div(id=HEADER, className="small mb-2"),
            dcc.Loading(html.Div(id=TOTALS), type="dot", delay_show=150),
            dbc.Row(
                [
                    dbc.Col(
                        panel(
                            "What-if inputs",
                            [
                                html.Div(id=NOTE, className="small text-danger mb-1"),
                                form,
                            ],
                            panel_id=PREFIX + "inputs-panel",
                            help_text=FORM_HELP,
                            tools=reset_link(PAGE_PATH + "?" + urlencode(kept, doseq=True)),
                        ),
                        lg=5,
                        xl=4,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            panel(
                                "Projected payout per person, plan against what-if",
                                [
                                    dcc.Graph(id=DISTRIBUTION, config={"displayModeBar": False}),
                                    dcc.Graph(id=CURVES, config={"displayModeBar": False}),
                                ],
                                panel_id=PREFIX + "distribution-panel",
                                help_text=DISTRIBUTION_HELP,
                            ),
                        ],
                        lg=7,
                        xl=8,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Fairness: projected attainment by group",
                        [
                            dcc.Graph(id=FAIR_CHART, config={"displayModeBar": False}),
                            html.Div(id=FAIR_TABLES),
                        ],
                        panel_id=PREFIX + "fair-panel",
                        help_text=FAIR_HELP,
                    ),
                    className="mb-3",
                )
            ),
            dbc.Row(
                dbc.Col(
                    panel(
                        "Targets out of reach or trivially reached",
                        [
                            html.Div(id=FLAGGED_NOTE, className="small text-muted mb-1"),
                            flagged_grid(FLAGGED, []),
                        ],
                        panel_id=PREFIX + "flagged-panel",
                        help_text=FLAGGED_HELP,
                    ),
                    className="mb-3",
                )
            ),
        ],
        id=PREFIX + "tab",
    )


@callback(
    Output(HEADER, "children"),
    Output(NOTE, "children"),
    Output(TOTALS, "children"),
    Output(DISTRIBUTION, "figure"),
    Output(CURVES, "figure"),
    Output(FAIR_CHART, "figure"),
    Output(FAIR_TABLES, "children"),
    Output(FLAGGED, "rowData"),
    Output(FLAGGED_NOTE, "children"),
    Output({"type": FIELD, "key": ALL}, "invalid"),
    Output({"type": FIELD_MSG, "key": ALL}, "children"),
    Output(URL_STORE, "data"),
    Input({"type": FIELD, "key": ALL}, "value"),
    Input(VIEW, "data"),
    State({"type": FIELD, "key": ALL}, "id"),
    State(PLAN, "data"),
    State(DEFAULTS, "data"),
)
@guarded(
    None, None, no_update, no_update, no_update, None, [], None, no_update, no_update, no_update
)
def recompute(values, data, field_ids, plan_params, defaults):
    """Applies the what-if inputs (a value that cannot be used is marked and left out) and
    redraws the totals, the distribution, the fairness view and the flagged people; keeps the
    inputs in the URL. Called when: an input or the view changes."""
    filters, day = from_store(data)
    keys = [i["key"] for i in field_ids]
    fields = dict(zip(keys, values, strict=True))
    resolved = resolve_comp_view(filters, day, plan_params or {})
    if resolved.view is None:
        return error_state(resolved.message), *([no_update] * 11)
    before = resolved.view
    changed, problems = what_if_plan(before.plan, fields)
    after = with_plan(before, changed)
    return whatif_outputs(before, after, keys, problems, url_changes(fields, defaults, problems))


def whatif_outputs(before, after, keys, problems, changes) -> tuple:
    """The recompute's outputs for a plan and its what-if."""
    from components.comp_attainment import budget_scope, header_line, slice_notice

    groups = fairness(after.payouts, after.measures)
    flagged = flagged_records(after.payouts)
    label = before.plan_view.period.label()
    return (
        header_line(before.plan_view, before.measures),
        "Fix the marked input: it is not applied." if problems else None,
        [
            slice_notice(before.filters, PREFIX),
            totals(
                before.payouts,
                after.payouts,
                before.plan.budget,
                label,
                budget_scope(before.filters),
            ),
        ],
        distribution_figure(before.payouts, after.payouts),
        curves_figure(before.plan, after.plan),
        fairness_figure(groups),
        fairness_table(groups),
        flagged,
        f"{len(flagged)} targets flagged under the what-if."
        if flagged
        else "No target is out of reach or trivially reached.",
        [k in problems for k in keys],
        [problems.get(k, "") for k in keys],
        changes,
    )


keep_params_in_url(URL_STORE, "data")
