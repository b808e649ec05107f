"""Compensation 'targets' tab builders: the targets grid (one row per person, a column group per
metric of the plan: the target and the rule that set it, in words; a target set by hand is
marked and its reason is in the cell's tooltip), the header line and the "Override target"
form. Pure functions of service results."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting
from components.grids import MONEY
from services.comp_plan import METRICS, OVERRIDE_RULE, MetricPlan, Plan
from services.comp_plan_store import PlanView

PREFIX = "cm-targets-"
GRID = PREFIX + "grid"
FORM = PREFIX + "form"
PERSON = PREFIX + "person"
METRIC = PREFIX + "metric"
TARGET = PREFIX + "target"
TARGET_UNIT = PREFIX + "target-unit"
REASON = PREFIX + "reason"
SAVE = PREFIX + "save"
CLEAR = PREFIX + "clear"  # saves a version without the chosen person's override of the metric
FORM_MESSAGE = PREFIX + "form-message"
CURRENT = PREFIX + "current"  # what the chosen person's target is now, and its rule
FORM_NOTE = PREFIX + "form-note"  # e.g. the period is closed: its targets are final
FORM_FIELDS = ("person", "metric", "target", "reason")
RATE = {"function": "params.value == null ? '–' : d3.format('.1%')(params.value)"}
# Set by hand: marked, not alarming (flags are not health: no red/amber/green).
OVERRIDE_STYLE = {"fontWeight": 600, "backgroundColor": "#f1ebf8", "color": "#4b2a75"}


def feedback_id(field: str) -> str:
    return f"{PREFIX}{field}-feedback"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def format_target(metric: str, value: float | None) -> str:
    """A target as a person reads it: 92.5% for a rate, $50.0K for money."""
    if value is None or pd.isna(value):
        return "–"
    return _pct(value) if METRICS[metric].unit == "rate" else formatting.money(value)


def uplift_words(metric: MetricPlan) -> str:
    """' + 2 pts' for a rate, ' + 10%' for money ('' without an uplift)."""
    if not metric.uplift:
        return ""
    sign = "+" if metric.uplift > 0 else "−"
    points = round(100 * abs(metric.uplift), 4)
    if metric.info.unit == "money":
        amount = f"{points:g}%"
    else:
        amount = f"{points:g} pt" + ("" if points == 1 else "s")
    return f" {sign} {amount}"


def rule_words(metric: MetricPlan, rule: str, rule_label: str) -> str:
    """The rule in a few words for the grid (the tooltip has the whole sentence)."""
    if rule == "book":
        return "Book history" + uplift_words(metric)
    if rule == "last":
        return "Last period" + uplift_words(metric)
    if rule == "override":
        return OVERRIDE_RULE
    return rule_label  # the company target, or why a rule fell back to it


def _tip(metric: MetricPlan, row: Any) -> str:
    key = metric.metric
    if row.rule == "override":
        return (
            f"{OVERRIDE_RULE}: {row.reason} (the plan's rule gives "
            f"{format_target(key, row.rule_target)})"
        )
    if row.rule in ("book", "last"):
        return (
            f"{row.rule_label}: {format_target(key, row.baseline)}{uplift_words(metric)} → "
            f"{format_target(key, row.target)}"
        )
    return row.reason or f"{row.rule_label}: {format_target(key, row.target)}"


def target_records(targets: pd.DataFrame, people: pd.DataFrame, plan: Plan) -> list[dict]:
    """One record per person: name, team, role and, per metric, the target, the rule in words,
    the tooltip and whether it was set by hand."""
    people = people[people["csm_id"].isin(set(targets["csm_id"]))]
    rows = {
        r.csm_id: {"csm_id": r.csm_id, "name": r.name, "team": r.team, "role": r.role}
        for r in people.itertuples(index=False)
    }
    metrics = {m.metric: m for m in plan.metrics}
    for row in targets.itertuples(index=False):
        record, metric = rows.get(row.csm_id), metrics.get(row.metric)
        if record is None or metric is None:
            continue
        key = row.metric
        record[f"{key}__target"] = None if pd.isna(row.target) else float(row.target)
        record[f"{key}__rule"] = rule_words(metric, row.rule, row.rule_label)
        record[f"{key}__tip"] = _tip(metric, row)
        record[f"{key}__override"] = row.rule == "override"
    order = {"Director": 0, "Manager": 1}
    return sorted(
        rows.values(), key=lambda r: (order.get(r["role"], 2), str(r["team"]), str(r["name"]))
    )


def target_columns(plan: Plan) -> list[dict[str, Any]]:
    """Person, team, role, then a group per metric: Target and Rule."""
    columns: list[dict[str, Any]] = [
        {"field": "name", "headerName": "Person", "pinned": "left", "minWidth": 140, "flex": 1.2},
        {"field": "team", "headerName": "Team", "minWidth": 150, "tooltipField": "team"},
        {"field": "role", "headerName": "Role", "width": 95, "flex": 0},
    ]
    for metric in plan.metrics:
        key = metric.metric
        marked = {
            "styleConditions": [
                {
                    "condition": f"params.data && params.data['{key}__override']",
                    "style": OVERRIDE_STYLE,
                }
            ]
        }
        columns.append(
            {
                "headerName": f"{metric.info.label} ({metric.weight:g}%)",
                "groupId": key,
                "children": [
                    {
                        "field": f"{key}__target",
                        "headerName": "Target",
                        "valueFormatter": RATE if metric.info.unit == "rate" else MONEY,
                        "tooltipField": f"{key}__tip",
                        "cellStyle": marked,
                        "type": "rightAligned",
                        "width": 90,
                        "flex": 0,
                    },
                    {
                        "field": f"{key}__rule",
                        "headerName": "Rule",
                        "tooltipField": f"{key}__tip",
                        "cellStyle": marked,
                        "minWidth": 150,
                        "flex": 1.5,
                    },
                ],
            }
        )
    return columns


def targets_grid(rows: list[dict], plan: Plan) -> dag.AgGrid:
    height = min(640, 90 + 42 * max(len(rows), 3))
    return dag.AgGrid(
        id=GRID,
        rowData=rows,
        columnDefs=target_columns(plan),
        defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 90},
        getRowId="params.data.csm_id",
        dashGridOptions={
            "animateRows": False,
            "tooltipShowDelay": 200,
            "enableBrowserTooltips": False,
        },
        style={"height": f"{height}px", "width": "100%"},
        className="cm-targets-grid",
    )


def header_line(view: PlanView) -> list[Any]:
    """'Q4 2026 · Default plan, version 3' and the note saying which version and why."""
    version = f", version {view.version}" if view.version else " (not saved)"
    return [
        html.Span(f"{view.period.label()} · ", className="fw-semibold"),
        html.Span(f"{view.name}{version}", className="fw-semibold", id=PREFIX + "plan-name"),
        html.Div(view.note, className="text-muted"),
    ]


def rules_summary(plan: Plan) -> html.Ul:
    """Each metric's rule for the plan, in words (what the grid's Rule column abbreviates)."""
    items = []
    for m in plan.metrics:
        rule = {
            "company": f"the company target for everyone ({format_target(m.metric, m.target)})",
            "book": "the history of their book's segment x tier mix over the 4 latest closed "
            "periods" + uplift_words(m),
            "last": "their actual in the last closed period" + uplift_words(m),
        }[m.rule]
        items.append(html.Li([html.Span(m.info.label, className="fw-semibold"), f": {rule}."]))
    return html.Ul(items, className="small mb-0 ps-3")


def _field(label: str, field: str, control: Any, width: dict[str, int], note: Any = None):
    return dbc.Col(
        [
            dbc.Label(label, html_for=f"{PREFIX}{field}", className="small mb-0 fw-semibold"),
            control,
            note,
            html.Div(id=feedback_id(field), className="invalid-feedback d-block small"),
        ],
        **width,
        className="mb-2",
    )


def person_options(people: pd.DataFrame) -> list[dict[str, str]]:
    people = people.sort_values(["name"])
    return [
        {"label": f"{r.name} ({r.team})" if r.team else str(r.name), "value": r.csm_id}
        for r in people.itertuples(index=False)
    ]


def override_form(people: pd.DataFrame, plan: Plan) -> html.Div:
    """One row: person, metric (with the person's target now), target (in % for a rate),
    reason (required), Save and Clear override; each field's message below it."""
    metrics = [{"label": m.info.label, "value": m.metric} for m in plan.metrics]
    return html.Div(
        [
            html.Div(id=FORM_NOTE, className="small text-muted mb-2"),
            dbc.Row(
                [
                    _field(
                        "Person",
                        "person",
                        dcc.Dropdown(
                            id=PERSON, options=person_options(people), placeholder="Choose"
                        ),
                        {"md": 6, "xl": 3},
                    ),
                    _field(
                        "Metric",
                        "metric",
                        dcc.Dropdown(
                            id=METRIC, options=metrics, placeholder="Choose", clearable=False
                        ),
                        {"md": 6, "xl": 3},
                        html.Div(id=CURRENT, className="form-text small mt-0"),
                    ),
                    _field(
                        "Target",
                        "target",
                        dbc.InputGroup(
                            [
                                dbc.Input(id=TARGET, type="text", inputMode="decimal"),
                                dbc.InputGroupText("%", id=TARGET_UNIT),
                            ],
                        ),
                        {"md": 4, "xl": 2},
                    ),
                    _field(
                        "Reason (required)",
                        "reason",
                        dbc.Input(id=REASON, type="text", maxLength=400),
                        {"md": 8, "xl": 4},
                    ),
                ],
                className="g-2",
            ),
            html.Div(
                [
                    dbc.Button("Save target", id=SAVE, color="primary", size="sm"),
                    dbc.Button(
                        "Clear override",
                        id=CLEAR,
                        color="secondary",
                        outline=True,
                        size="sm",
                        className="ms-2",
                        title="The person's target for the metric follows the plan's rule again "
                        "(no reason needed).",
                    ),
                    html.Span(
                        "Saved as a new version of the plan, in force from this period's "
                        "first day.",
                        className="small text-muted ms-2",
                    ),
                ],
                className="d-flex align-items-center",
            ),
            html.Div(id=FORM_MESSAGE, className="small mt-2"),
        ],
        id=FORM,
    )


def current_target(targets_row: dict | None, metric: str | None) -> str:
    """'Now 92.5% (Company target)' for the chosen person and metric."""
    if not targets_row or not metric or f"{metric}__rule" not in targets_row:
        return ""
    value = format_target(metric, targets_row.get(f"{metric}__target"))
    return f"Now {value} ({targets_row[f'{metric}__rule']})."


def closed_note(view: PlanView, data_day) -> str | None:
    """Why a target of this period cannot be changed any more (None: it can)."""
    if not view.period.closed(data_day):
        return None
    return (
        f"{view.period.label()} is closed (the data covers it to its last day): its targets "
        "are final and cannot be changed."
    )


def form_feedback(by_field: dict[str, str]) -> list[str | None]:
    """Each field's message (None: fine), in FORM_FIELDS order."""
    return [by_field.get(field) for field in FORM_FIELDS]
