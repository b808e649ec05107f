"""Capacity 'scenario' tab builders: the inputs form (every field a URL parameter), the answer
sentence, today's starting point, the chart of required against supply FTE with the
requisitions' open-by dates marked, and the quarterly table. Pure functions of the baseline
and the projection."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html, no_update

from components import formatting, labels
from components.charts import Figure, empty_figure, figure
from components.states import empty_state
from services.capacity_baseline import Baseline
from services.capacity_projection import (
    CC_SEGMENTS_KEY,
    CC_TIER_KEY,
    SEGMENT_KEYS,
    TIER_KEYS,
    Projection,
    ProjectionQuarter,
    ScenarioInputs,
    churn_key,
    growth_key,
    segment_columns,
)
from services.capacity_scenario_view import TU, ScenarioView
from services.workload import SEGMENTS, WorkloadParams, first_value

PREFIX = "cp-sc-"
REQUIRED_COLOR = "#1b2430"
SUPPLY_COLOR = "#9aa5b1"
HIRED_COLOR = "#3b5b92"
MARKER_COLOR = "#6b3fa0"  # requisitions: not a health colour (ARCHITECTURE §6)


def field_id(key: str) -> str:
    return PREFIX + key.replace("_", "-")


def message_id(key: str) -> str:
    return field_id(key) + "-message"


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    unit: str


PLAN_FIELDS = (
    FormField("hz", "Horizon", "quarters"),
    FormField(TU, "Target utilisation", "%"),
    FormField("cost", "Loaded cost per CSM", "$ a year"),
)
TEAM_FIELDS = (
    FormField("attr", "CSM attrition", "% a year"),
    FormField("ramp", "Ramp to full capacity", "months"),
    FormField("rprod", "Productivity while ramping", "%"),
    FormField("lead", "Hiring lead time", "days"),
)
TEXT_KEYS = (
    *(f.key for f in PLAN_FIELDS),
    *(growth_key(s) for s in SEGMENTS),
    *(churn_key(s) for s in SEGMENTS),
    *(f.key for f in TEAM_FIELDS),
    "cc_arr",
)
# Every field of the form, in the order the recompute callback reads them.
FIELD_KEYS = (*TEXT_KEYS, CC_SEGMENTS_KEY, CC_TIER_KEY, "cc_from")
INVALID_KEYS = (*TEXT_KEYS, "cc_from")  # the fields that can be marked invalid
FIX_NOTE = "Fix the marked input: the answer is not recomputed until every input can be used."
SEGMENT_KEY_OF = {v: k for k, v in SEGMENT_KEYS.items()}


def _pct_text(share: float) -> str:
    """A share as the form shows it: 5.3 (percent, one decimal, no trailing .0)."""
    return f"{round(100 * share, 1):g}"


def actual_texts(baseline: Baseline | None) -> dict[str, str]:
    """Each segment's trailing new logos and churn as the form shows them ('5.3'): a field
    left at this value follows the data (it is not written into the URL)."""
    if baseline is None:
        return {}
    out = {}
    for seg in baseline.segments:
        out[growth_key(seg.segment)] = _pct_text(seg.growth_actual)
        out[churn_key(seg.segment)] = _pct_text(seg.churn_actual)
    return out


def form_values(
    params: Mapping[str, Any], actuals: Mapping[str, str], workload: WorkloadParams
) -> dict[str, Any]:
    """Each field's value for the page: the URL's own text (an invalid one too, so its message
    shows by the field), else the default as the form shows it."""
    defaults = ScenarioInputs.defaults()
    shown = {
        "hz": str(defaults.horizon),
        TU: f"{round(100 * workload.target_utilisation, 6):g}",
        "cost": f"{defaults.loaded_cost:g}",
        "attr": _pct_text(defaults.attrition),
        "ramp": str(defaults.ramp_months),
        "rprod": _pct_text(defaults.ramp_productivity),
        "lead": str(defaults.lead_days),
        "cc_arr": "",
        **actuals,
    }
    values: dict[str, Any] = {}
    for key in TEXT_KEYS:
        raw = first_value(params.get(key))
        values[key] = str(raw)[:40] if raw not in (None, "") else shown.get(key, "")
    segments = first_value(params.get(CC_SEGMENTS_KEY))
    values[CC_SEGMENTS_KEY] = [k for k in str(segments or "").split(",")[:6] if k]
    values[CC_TIER_KEY] = str(first_value(params.get(CC_TIER_KEY)) or TIER_KEYS["pooled"])[:20]
    values["cc_from"] = str(first_value(params.get("cc_from")) or "1")[:8]
    return values


def url_params(values: Mapping[str, Any], actuals: Mapping[str, str]) -> dict[str, str]:
    """The form's values as URL parameters (what ScenarioInputs and WorkloadParams read): a
    growth or churn left at its trailing actual is dropped, so it keeps following the data."""
    out: dict[str, str] = {}
    for key in TEXT_KEYS:
        text = str(values.get(key) or "").strip()
        if text and text != actuals.get(key):
            out[key] = text
    segments = values.get(CC_SEGMENTS_KEY) or []
    if segments:
        out[CC_SEGMENTS_KEY] = ",".join(str(s) for s in segments)
    tier = values.get(CC_TIER_KEY)
    if tier and tier != TIER_KEYS["pooled"]:
        out[CC_TIER_KEY] = str(tier)
    when = values.get("cc_from")
    if when and str(when) != "1":
        out["cc_from"] = str(when)
    return out


# ---- the form ----------------------------------------------------------------------------------
def _text_input(key: str, value: str, label: str, error: str | None) -> dbc.Input:
    return dbc.Input(
        id=field_id(key),
        value=value,
        type="text",
        inputMode="decimal",
        debounce=400,  # one recompute per pause in typing
        size="sm",
        invalid=bool(error),
        placeholder=label,
    )


def _feedback(key: str, error: str | None) -> dbc.FormFeedback:
    return dbc.FormFeedback(error, id=message_id(key), type="invalid", className="d-block")


def _field(f: FormField, values: Mapping[str, Any], errors: Mapping[str, str]) -> html.Div:
    error = errors.get(f.key)
    unit = f.unit
    group = [_text_input(f.key, values[f.key], f.label, error)]
    if unit.startswith("$"):
        group.insert(0, dbc.InputGroupText("$"))
        unit = unit[1:].strip()
    if unit:
        group.append(dbc.InputGroupText(unit))
    return html.Div(
        [
            dbc.Label(f.label, html_for=field_id(f.key), className="small mb-0"),
            dbc.InputGroup(group, size="sm"),
            _feedback(f.key, error),
        ],
        className="mb-2",
    )


def _segment_table(
    values: Mapping[str, Any], errors: Mapping[str, str], actuals: Mapping[str, str]
) -> html.Div:
    """New logos and logo churn per segment, % a quarter, with each trailing actual."""
    head = html.Tr(
        [
            html.Th("Segment", className="fw-normal"),
            html.Th("New logos", className="fw-normal"),
            html.Th("Logo churn", className="fw-normal"),
        ]
    )
    rows = []
    for segment in SEGMENTS:
        cells: list[Any] = [html.Th(segment, scope="row", className="fw-normal small")]
        for key, what in ((growth_key(segment), "New logos"), (churn_key(segment), "Logo churn")):
            error = errors.get(key)
            actual = actuals.get(key)
            cells.append(
                html.Td(
                    [
                        dbc.InputGroup(
                            [
                                _text_input(key, values[key], f"{what}, {segment}", error),
                                dbc.InputGroupText("%"),
                            ],
                            size="sm",
                        ),
                        html.Div(
                            f"actual {actual}%" if actual is not None else None,
                            className="text-muted cp-sc-actual",
                        ),
                        _feedback(key, error),
                    ]
                )
            )
        rows.append(html.Tr(cells))
    return html.Div(
        [
            html.Div("Customers, % of the segment a quarter", className="small fw-semibold"),
            html.Table(
                [html.Thead(head, className="small"), html.Tbody(rows)],
                className="cp-sc-segments mb-1",
            ),
            html.Div(
                "Actual: the trailing 4 quarters as of the view's date. A field left at its "
                "actual follows the data.",
                className="small text-muted mb-2",
            ),
        ]
    )


def _coverage(
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    quarters: list[ProjectionQuarter],
) -> html.Div:
    options = [
        {"label": f"{i}: {q.label}", "value": str(i)} for i, q in enumerate(quarters, start=1)
    ]
    return html.Div(
        [
            html.Div("Coverage change (optional)", className="small fw-semibold"),
            dbc.Checklist(
                id=field_id(CC_SEGMENTS_KEY),
                options=[{"label": s, "value": SEGMENT_KEYS[s]} for s in SEGMENTS],
                value=values[CC_SEGMENTS_KEY],
                inline=True,
                className="small",
            ),
            _feedback(CC_SEGMENTS_KEY, errors.get(CC_SEGMENTS_KEY)),
            _field(FormField("cc_arr", "Customers with ARR under", "$"), values, errors),
            dbc.Label("Move them to", className="small mb-0"),
            dbc.RadioItems(
                id=field_id(CC_TIER_KEY),
                options=[
                    {"label": labels.label("coverage_tier", tier), "value": key}
                    for tier, key in TIER_KEYS.items()
                ],
                value=values[CC_TIER_KEY],
                inline=True,
                className="small",
            ),
            _feedback(CC_TIER_KEY, errors.get(CC_TIER_KEY)),
            dbc.Label("From quarter", html_for=field_id("cc_from"), className="small mb-0"),
            dbc.Select(
                id=field_id("cc_from"),
                options=options,
                value=values["cc_from"],
                size="sm",
            ),
            _feedback("cc_from", errors.get("cc_from")),
        ]
    )


def inputs_form(
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    actuals: Mapping[str, str],
    quarters: list[ProjectionQuarter],
) -> html.Div:
    """The scenario's inputs: the plan, customers per segment, the team, a coverage change."""
    return html.Div(
        [
            html.Div([_field(f, values, errors) for f in PLAN_FIELDS]),
            _segment_table(values, errors, actuals),
            html.Div("Team", className="small fw-semibold"),
            html.Div([_field(f, values, errors) for f in TEAM_FIELDS]),
            _coverage(values, errors, quarters),
        ],
        className="cp-sc-form",
    )


# ---- the answer ------------------------------------------------------------------------------
def starting_point(baseline: Baseline, p: Projection) -> list[Any]:
    """'Today: 4,255 customers, 3,240 workload points, 39 active CSMs (39.0 FTE) at 83.1%
    utilisation; 120 customers in open books.'"""
    parts: list[Any] = [
        "Today: ",
        html.Span(formatting.count(baseline.accounts), className="fw-semibold"),
        f" customers, {formatting.count(baseline.points)} workload points, ",
        html.Span(formatting.count(baseline.active_csms), className="fw-semibold"),
        f" active CSMs ({p.supply_now:,.1f} FTE) at "
        f"{formatting.percent(p.utilisation_now)} utilisation; {p.required_now:,.1f} FTE "
        f"needed at {formatting.percent(p.target_utilisation)}.",
    ]
    if baseline.open_book_accounts:
        parts.append(
            f" {formatting.count(baseline.open_book_accounts)} customers are in open books "
            "(owner left or missing): their points count in the demand."
        )
    return parts


def chart_title(p: Projection) -> str:
    """The chart's takeaway."""
    table = p.quarters
    last = table.iloc[-1]
    gap = last["gap_fte"]
    if p.total_requisitions:
        return (
            f"Without hires the team is {gap:,.1f} FTE short by {last['quarter']}; "
            f"{p.total_requisitions:,} requisitions close the gap"
        )
    return f"Today's team covers the work through {last['quarter']} ({-gap:,.1f} FTE spare)"


def _axis_bounds(smallest: float, largest: float) -> tuple[float, float]:
    """The FTE axis: from a round number under the smallest value (0 when the lines come
    near it), so the gap between the lines reads, to a little above the largest."""
    top = max(largest * 1.08, 1.0)
    low = 0.0 if smallest < 0.5 * largest else 5 * math.floor(0.85 * smallest / 5)
    return top, low


def scenario_figure(p: Projection, baseline: Baseline) -> Figure:
    """Required FTE against supply (today's team, and with the requisitions) at each quarter's
    end, from today; the requisitions' open-by dates as labelled markers along the bottom."""
    table = p.quarters
    if baseline.accounts == 0 and baseline.active_csms == 0:
        return empty_figure(
            "Required against supply FTE", "No customers or CSMs under these filters"
        )
    day = baseline.day.isoformat()
    x = [day, *(d.isoformat() for d in table["quarter_end"])]
    labels_x = ["Today", *table["quarter"]]

    def line(name: str, values: list[float], color: str, dash: str = "solid") -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": x,
            "y": values,
            "customdata": labels_x,
            "line": {"color": color, "width": 3 if dash == "solid" else 2, "dash": dash},
            "marker": {"size": 6},
            "hovertemplate": f"%{{customdata}}: %{{y:,.1f}} FTE<extra>{name}</extra>",
        }

    tu = formatting.percent(p.target_utilisation)
    data = [
        line(
            f"Required at {tu} utilisation",
            [p.required_now, *table["required_fte"]],
            REQUIRED_COLOR,
        ),
        line(
            "Today's team after attrition and ramp",
            [p.supply_now, *table["supply_fte"]],
            SUPPLY_COLOR,
            "dash",
        ),
    ]
    if p.total_requisitions:
        data.append(
            line("With the requisitions", [p.supply_now, *table["planned_supply_fte"]], HIRED_COLOR)
        )
    values = [
        p.required_now,
        p.supply_now,
        *table["required_fte"],
        *table["planned_supply_fte"],
        *table["supply_fte"],
    ]
    top, low = _axis_bounds(min(values), max(values))
    shapes, notes = [], []
    reqs = p.requisitions
    if not reqs.empty:
        grouped = reqs.groupby("open_by", sort=True).agg(
            count=("count", "sum"),
            quarters=("quarter", lambda s: ", ".join(s)),
            covered=("covered_from", "max"),
            late=("late", "any"),
        )
        marker_y = low - 0.07 * (top - low)
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "Open requisitions by (count)",
                "x": [d.isoformat() for d in grouped.index],
                "y": [marker_y] * len(grouped),
                "text": [f"{'now: ' if r.late else ''}{r.count:,}" for r in grouped.itertuples()],
                "textposition": "top center",
                "textfont": {"color": MARKER_COLOR, "size": 12},
                "marker": {"symbol": "triangle-up", "size": 11, "color": MARKER_COLOR},
                "customdata": [
                    [
                        formatting.date(d),
                        r.count,
                        r.quarters,
                        formatting.date(r.covered),
                        "open now (the date has passed)" if r.late else "open by",
                    ]
                    for d, r in zip(grouped.index, grouped.itertuples(), strict=True)
                ],
                "hovertemplate": "%{customdata[1]} requisition(s) %{customdata[4]} "
                "%{customdata[0]}<br>for %{customdata[2]}; full capacity from "
                "%{customdata[3]}<extra></extra>",
                "cliponaxis": False,
            }
        )
        for d in grouped.index:
            shapes.append(
                {
                    "type": "line",
                    "x0": d.isoformat(),
                    "x1": d.isoformat(),
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": MARKER_COLOR, "width": 1, "dash": "dot"},
                    "opacity": 0.35,
                }
            )
    shapes.append(
        {
            "type": "line",
            "x0": day,
            "x1": day,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": "#5c6f82", "width": 1},
        }
    )
    notes.append(
        {
            "x": day,
            "yref": "paper",
            "y": 1,
            "text": f"Today ({formatting.date(baseline.day)})",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
            "font": {"size": 11, "color": "#5c6f82"},
        }
    )
    return figure(
        data,
        chart_title(p),
        height=440,
        xaxis={
            "type": "date",
            "tickmode": "array",
            "tickvals": x[1:],  # today is labelled at the top of its line
            "ticktext": labels_x[1:],
            "title": {"text": "End of quarter"},
        },
        yaxis={
            "title": {"text": "FTE (CSMs at full capacity)"},
            "range": [low - 0.12 * (top - low), top],
            "tickformat": ",.0f",
        },
        shapes=shapes,
        annotations=notes,
        legend={"orientation": "h", "y": -0.2, "x": 0},
        margin={"l": 8, "r": 8, "t": 56, "b": 8},
        hovermode="closest",
    )


def requisition_schedule(p: Projection) -> html.Div:
    """The requisitions to open, by open-by date: how many, for which quarter, and when they
    are at full capacity."""
    reqs = p.requisitions
    if reqs.empty:
        return html.Div("No requisitions to open.", className="small text-muted")
    head = html.Thead(
        html.Tr(
            [
                html.Th("Open by"),
                html.Th("Requisitions", className="text-end"),
                html.Th("Needed by the end of"),
                html.Th("Start"),
                html.Th("Full capacity from"),
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td("Now (the date has passed)" if r.late else formatting.date(r.open_by)),
                html.Td(formatting.count(r.count), className="text-end"),
                html.Td(r.quarter),
                html.Td(formatting.date(r.start)),
                html.Td(formatting.date(r.covered_from)),
            ]
        )
        for r in reqs.itertuples()
    ]
    return html.Div(
        [
            html.Div("Requisitions to open", className="small fw-semibold mt-2"),
            dbc.Table(
                [head, html.Tbody(rows)],
                size="sm",
                className="small mb-0 cp-sc-reqs",
                id="cp-sc-reqs",
            ),
        ]
    )


# ---- the quarterly table ---------------------------------------------------------------------
def _fte(value: float) -> str:
    return f"{value:,.1f}"


def _signed_fte(value: float) -> str:
    return f"{value:+,.1f}" if round(value, 1) != 0 else "0.0"


def _open_by(row: pd.Series) -> str:
    if not row["requisitions_to_open"]:
        return "–"
    return "Now" if row["late"] else formatting.date(row["open_by"])


TABLE_ROWS: tuple[tuple[str, str, Any], ...] = (
    *((f"Customers, {s}", segment_columns(s)[0], formatting.count) for s in SEGMENTS),
    ("Customers, all", "accounts_total", formatting.count),
    *((f"ARR, {s}", segment_columns(s)[1], formatting.money) for s in SEGMENTS),
    ("ARR, all", "arr_total", formatting.money),
    ("Workload points", "points", formatting.count),
    ("Required FTE", "required_fte", _fte),
    ("Supply FTE: today's team after attrition and ramp", "supply_fte", _fte),
    ("Gap FTE (required − supply)", "gap_fte", _signed_fte),
    ("Requisitions (hires needed by the quarter's end)", "requisitions_to_open", formatting.count),
    ("Open the requisitions by", "open_by", None),
    ("Full capacity from", "covered_from", formatting.date),
    ("Supply FTE with the requisitions", "planned_supply_fte", _fte),
    ("Utilisation with the requisitions", "utilisation", formatting.percent),
    ("Cost of the hires so far ($ a year)", "cost", formatting.money),
)
BOLD_ROWS = {"required_fte", "gap_fte", "requisitions_to_open", "open_by"}


def quarter_table(p: Projection) -> dbc.Table:
    """The projection with quarters as columns (as a plan reads) and every row's unit."""
    table = p.quarters
    head = html.Thead(
        html.Tr(
            [html.Th("Quarter end", className="cp-sc-rowhead")]
            + [
                html.Th(
                    [q, html.Div(formatting.date(d), className="fw-normal text-muted")],
                    className="text-end",
                )
                for q, d in zip(table["quarter"], table["quarter_end"], strict=True)
            ]
        )
    )
    # A segment without customers throughout (e.g. filtered out) would only add rows of zeros.
    empty = {
        col
        for s in SEGMENTS
        if not table[segment_columns(s)[0]].any()
        for col in segment_columns(s)
    }
    body = []
    for label, column, fmt in TABLE_ROWS:
        if column in empty:
            continue
        cells = []
        for _, row in table.iterrows():
            if column == "open_by":
                text = _open_by(row)
            elif column == "covered_from":
                text = fmt(row[column]) if row["requisitions_to_open"] else "–"
            else:
                text = fmt(row[column])
            cells.append(html.Td(text, className="text-end"))
        body.append(
            html.Tr(
                [html.Th(label, scope="row", className="cp-sc-rowhead fw-normal"), *cells],
                className="fw-semibold" if column in BOLD_ROWS else None,
            )
        )
    if (table["share"] < 1).any():
        first = table.iloc[0]
        note = (
            f"{first['quarter']} counts from the view's date: {formatting.percent(first['share'])} "
            "of the quarter is left, so its new logos and churn are scaled to that share."
        )
    else:
        note = None
    return html.Div(
        [
            dbc.Table(
                [head, html.Tbody(body)],
                size="sm",
                bordered=False,
                hover=True,
                className="cp-sc-table small mb-1",
                id="cp-sc-table",
            ),
            html.Div(note, className="small text-muted") if note else None,
        ],
        className="table-responsive",
    )


MODEL_TEXT = [
    "Customers: each quarter a segment gains new logos (the percent of its customers today, "
    "the same number every quarter) and loses logo churn (the percent of its customers at the "
    "quarter's start). A new logo brings the segment's median ARR and its average workload "
    "points (its usual coverage tiers and health).",
    "Required FTE = workload points ÷ (capacity per CSM × target utilisation).",
    "Supply: today's active CSMs in FTE (capacity ÷ the model's capacity per CSM); each CSM "
    "stays a year with the probability 1 − attrition, and a CSM still ramping counts the "
    "ramping productivity until the ramp ends.",
    "Requisitions: a quarter whose required FTE exceeds the supply gets the whole number of "
    "hires that closes the gap, backfills for leavers included. A hire must be fully ramped by "
    "the quarter's end, so it starts one ramp earlier and its requisition opens one hiring lead "
    "time before that. If that date has passed, open it now: it is covered a lead time plus a "
    "ramp from today, and the quarter stays short until then.",
    "Coverage change: from the chosen quarter, the chosen segments' customers under the ARR "
    "threshold move to the lighter tier (none moves to a heavier one); new logos follow it.",
    "Cost: the requisitions opened so far × the loaded cost per CSM, a year.",
]


def model_notes() -> html.Details:
    return html.Details(
        [
            html.Summary("How the scenario is computed", className="small"),
            html.Ul([html.Li(t) for t in MODEL_TEXT], className="small text-muted mt-1"),
        ],
        className="mt-2",
        id="cp-sc-model",
    )


# ---- the tab as a whole ------------------------------------------------------------------------
EXPORT_PATHS = ("/export/capacity-scenario.xlsx", "/export/capacity-scenario.csv")


def answer(view: ScenarioView) -> tuple:
    """Sentence, starting point, figure, table and requisitions of a projected scenario; a
    view with no customers and no CSMs says so in the table's place."""
    p, baseline = view.projection, view.baseline
    if baseline.accounts == 0 and baseline.active_csms == 0:
        nothing = empty_state("No customers or CSMs under these filters.")
        return (p.sentence, None, scenario_figure(p, baseline), nothing, None)
    return (
        p.sentence,
        starting_point(baseline, p),
        scenario_figure(p, baseline),
        quarter_table(p),
        requisition_schedule(p),
    )


def scenario_tab(view: ScenarioView) -> tuple:
    """The recompute's outputs: the answer (left as it is when an input cannot be used), the
    note to fix, each field's invalid mark and message, the URL changes, the save panel's
    scenario (None when invalid) and the two download links."""
    marks = [k in view.errors for k in INVALID_KEYS] + [view.errors.get(k) for k in FIELD_KEYS]
    if view.projection is None:
        return (no_update,) * 5 + (FIX_NOTE, *marks, no_update, None, no_update, no_update)
    links = tuple(path + view.search() for path in EXPORT_PATHS)
    return (*answer(view), None, *marks, view.url_changes(), view.saved(), *links)
