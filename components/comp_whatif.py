"""Compensation 'what-if' tab builders: the inputs (per plan metric: target level and payout
curve, each a URL parameter), the projected payout before and after (and against the budget),
the distribution of projected payout per person before and after, and the fairness view
(projected attainment by segment, tenure and book size; the people whose target is out of
reach or trivially reached, and why). Pure functions of the payouts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import dcc, html

from components import formatting
from components.charts import Figure, empty_figure, figure
from components.comp_attainment import money_card
from components.forms import number_input
from components.grids import to_records
from services.comp_actuals_people import BOOK_BANDS, TENURE_BANDS
from services.comp_plan import METRICS, Plan
from services.comp_whatif import CURVE_FIELDS, what_if_keys

PREFIX = "cm-whatif-"
FIELD = PREFIX + "field"  # pattern-matching ids: {"type": FIELD, "key": "wi_grr_target"}
FIELD_MSG = PREFIX + "field-msg"
BEFORE_COLOR = "#9aa5b1"
AFTER_COLOR = "#3b5b92"
FIELD_LABELS = {
    "target": ("Target level", "% of each target"),
    "threshold": ("Threshold", "% attainment"),
    "payout_at_threshold": ("Payout at threshold", "%"),
    "accelerator": ("Accelerator", "points per point"),
    "cap": ("Cap", "% payout"),
}
FAIRNESS_TITLES = {"segment": "Segment", "tenure": "Tenure", "book size": "Book size"}
# Bands read in their natural order (the service sorts them as text).
GROUP_ORDER = {"tenure": TENURE_BANDS, "book size": BOOK_BANDS}


def ordered(name: str, stats: pd.DataFrame) -> pd.DataFrame:
    """A grouping's rows in the bands' natural order (unknown groups after, as given)."""
    order = GROUP_ORDER.get(name)
    if not order or stats.empty:
        return stats
    rank = stats["group"].map({g: i for i, g in enumerate(order)}).fillna(len(order))
    return stats.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def field_id(key: str) -> dict[str, str]:
    return {"type": FIELD, "key": key}


def message_id(key: str) -> dict[str, str]:
    return {"type": FIELD_MSG, "key": key}


def _number(text: Any) -> float | None:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _shown(value: float) -> str:
    return f"{value:g}"


def plan_defaults(plan: Plan) -> dict[str, str]:
    """Each what-if key's value when nothing is changed: targets at 100%, the plan's curves."""
    out = {}
    for m in plan.metrics:
        keys = what_if_keys(m.metric)
        out[keys["target"]] = "100"
        for name in CURVE_FIELDS:
            out[keys[name]] = _shown(getattr(m.curve, name))
    return out


def field_values(plan: Plan, params: Mapping[str, Any]) -> dict[str, str]:
    """The fields as the URL has them (a value in error too, so its message shows by it),
    else the plan's values."""
    values = plan_defaults(plan)
    for key in values:
        raw = params.get(key)
        raw = raw[0] if isinstance(raw, list | tuple) and raw else raw
        if raw not in (None, ""):
            values[key] = str(raw)[:40]
    return values


def url_changes(
    values: Mapping[str, Any], defaults: Mapping[str, str], problems: Mapping[str, str]
) -> dict[str, str | None]:
    """The URL parameters of the fields: a value equal to the plan's is dropped (the link
    follows the plan), a value that cannot be used is left as the URL has it."""
    out: dict[str, str | None] = {}
    for key, value in values.items():
        if key in problems:
            continue
        text = str(value).strip() if value is not None else ""
        number, default = _number(text), _number(defaults.get(key))
        out[key] = None if text == "" or number == default else text
    return out


def _field(key: str, value: str, error: str | None, label: str, unit: str) -> dbc.Col:
    return dbc.Col(
        html.Label(
            [
                html.Span(label, className="small d-block"),
                dbc.InputGroup(
                    [
                        number_input(field_id(key), value, error),
                        dbc.InputGroupText(unit, className="small"),
                        dbc.FormFeedback(error or "", id=message_id(key), type="invalid"),
                    ],
                    size="sm",
                    className="has-validation",
                ),
            ],
            className="d-block mb-0 w-100",
        ),
        xs=6,
        className="mb-2",
    )


def inputs_form(plan: Plan, values: Mapping[str, str], errors: Mapping[str, str]) -> html.Div:
    """Per plan metric: its target level and the four points of its curve."""
    blocks = []
    for m in plan.metrics:
        keys = what_if_keys(m.metric)
        fields = [
            _field(keys[name], values[keys[name]], errors.get(keys[name]), *FIELD_LABELS[name])
            for name in ("target", *CURVE_FIELDS)
        ]
        blocks.append(
            html.Fieldset(
                [
                    html.Legend(
                        [
                            METRICS[m.metric].label,
                            html.Span(f" · weight {m.weight:g}%", className="text-muted"),
                        ],
                        className="small fw-semibold mb-1",
                    ),
                    dbc.Row(fields, className="g-2"),
                ],
                className="mb-2 pb-1 border-bottom",
                id=f"{PREFIX}metric-{m.metric}",
            )
        )
    return html.Div(blocks, id=PREFIX + "form")


# ---- before and after ---------------------------------------------------------------------------
def _card(key: str, label: str, value: str, lines: list[Any], exact: float | None) -> dbc.Col:
    return money_card(PREFIX, key, label, value, lines, exact)


def _sum(people: pd.DataFrame, column: str) -> float:
    return float(people[column].sum()) if not people.empty else 0.0


def totals(
    before: Any,
    after: Any,
    budget: float | None,
    period_label: str,
    budget_note: str | None = None,
) -> dbc.Row:
    """Projected payout under the plan and under the what-if, the change, and the budget.
    `budget_note` (comp_attainment.budget_scope): the shares are hidden and the note says why."""
    b = _sum(before.people, "projected_payout")
    a = _sum(after.people, "projected_payout")
    on_target = _sum(after.people, "on_target")
    change = a - b
    share = f"{formatting.percent(change / b)}" if b else None
    cards = [
        _card(
            "before",
            "Projected payout, plan",
            formatting.money(b),
            [f"{formatting.percent(b / on_target)} of on-target" if on_target else None],
            b,
        ),
        _card(
            "after",
            "Projected payout, what-if",
            formatting.money(a),
            [
                f"80% range {formatting.money(_sum(after.people, 'projected_low'))} – "
                f"{formatting.money(_sum(after.people, 'projected_high'))}",
                f"{formatting.percent(a / on_target)} of on-target" if on_target else None,
            ],
            a,
        ),
        _card(
            "change",
            "Change",
            ("+" if change > 0 else "-" if change < 0 else "") + formatting.money(abs(change)),
            [
                "No change"
                if abs(change) < 0.5
                else (f"{'+' if change > 0 else ''}{share} on the plan" if share else None)
            ],
            change,
        ),
    ]
    if budget is None:
        cards.append(
            _card("budget", "Bonus budget", "Not set", [f"No budget set for {period_label}"], None)
        )
    else:
        cards.append(
            _card(
                "budget",
                "Bonus budget",
                formatting.money(budget),
                [
                    budget_note
                    or (
                        f"Plan uses {formatting.percent(b / budget)}, what-if "
                        f"{formatting.percent(a / budget)}"
                        if budget
                        else "Budget is zero"
                    )
                ],
                budget,
            )
        )
    return dbc.Row(cards, className="g-3", id=PREFIX + "totals")


def payout_shares(people: pd.DataFrame) -> np.ndarray:
    """Projected payout as a % of on-target, per person with an on-target bonus."""
    if people.empty:
        return np.array([])
    earning = people[people["on_target"] > 0]
    return (earning["projected_payout"] / earning["on_target"] * 100.0).to_numpy(dtype=float)


def distribution_figure(before: Any, after: Any) -> Figure:
    """Per person, projected payout as a % of on-target: the plan's and the what-if's
    distributions over the same bins, and their medians."""
    b, a = payout_shares(before.people), payout_shares(after.people)
    if not len(b):
        return empty_figure("Projected payout per person", "Nobody with a bonus in this view")
    top = max(float(np.nanmax(b)), float(np.nanmax(a)), 100.0)
    size = 10.0 if top <= 250 else 25.0
    bins = {"start": 0, "end": size * math.ceil((top + 1e-9) / size), "size": size}
    med_b, med_a = float(np.median(b)), float(np.median(a))
    title = (
        f"Median payout {med_b:.0f}% of on-target under the plan, {med_a:.0f}% with the what-if"
        if abs(med_a - med_b) >= 0.5
        else f"Median payout {med_b:.0f}% of on-target (unchanged)"
    )

    def hist(values: np.ndarray, name: str, color: str) -> dict[str, Any]:
        return {
            "type": "histogram",
            "x": values.tolist(),
            "name": name,
            "xbins": bins,
            "autobinx": False,
            "marker": {"color": color, "line": {"color": "white", "width": 1}},
            "opacity": 0.75,
            "hovertemplate": f"{name}: %{{y}} people at %{{x}}% of on-target<extra></extra>",
        }

    shapes = [
        {
            "type": "line",
            "x0": x,
            "x1": x,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": color, "dash": "dot", "width": 2},
        }
        for x, color in ((med_b, "#5c6f82"), (med_a, AFTER_COLOR))
    ]
    return figure(
        [hist(b, "Plan", BEFORE_COLOR), hist(a, "What-if", AFTER_COLOR)],
        title,
        barmode="group",
        height=340,
        bargap=0.1,
        xaxis={"title": {"text": "Projected payout, % of on-target"}, "ticksuffix": "%"},
        yaxis={"title": {"text": "People"}, "tickformat": ",d"},
        shapes=shapes,
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        margin={"l": 8, "r": 8, "t": 64, "b": 8},
    )


def curves_figure(plan: Plan, changed: Plan) -> Figure:
    """Each metric's payout curve under the plan (dotted) and the what-if (solid)."""
    data = []
    palette = ("#3b5b92", "#6b3fa0", "#1b2430", "#5c6f82", "#8a6d3b", "#2d7f86", "#9a4b6b")
    for i, m in enumerate(plan.metrics):
        after = changed.metric(m.metric)
        color = palette[i % len(palette)]
        label = METRICS[m.metric].label
        for curve, name, dash, show in (
            (m.curve, f"{label}, plan", "dot", False),
            (after.curve if after else m.curve, label, "solid", True),
        ):
            xs, ys = curve.points(upto=200.0)
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": xs,
                    "y": ys,
                    "name": name,
                    "legendgroup": m.metric,
                    "showlegend": show,
                    "line": {"color": color, "dash": dash, "width": 2 if show else 1.5},
                    "hovertemplate": f"{name}: %{{y:.0f}}% payout at %{{x:.0f}}%<extra></extra>",
                }
            )
    return figure(
        data,
        "Payout % by attainment %: what-if (solid) against the plan (dotted)",
        height=300,
        xaxis={"ticksuffix": "%", "range": [0, 200]},
        yaxis={"ticksuffix": "%", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.12, "x": 0},
        margin={"l": 8, "r": 8, "t": 48, "b": 8},
    )


# ---- fairness -----------------------------------------------------------------------------------
def _pct(value: Any) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.0f}%")
    )


def _share(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * value:.0f}%"


FAIR_HEAD = (
    ("", None),
    ("People", None),
    ("Median", "Median weighted projected attainment"),
    ("P25 – P75", "The middle half of the people"),
    ("At or above threshold", "Share projected at or above their (weighted) threshold"),
    ("At or above target", "Share projected at 100% or more"),
    ("Out of reach", "People with a metric whose target is out of reach"),
    ("Trivially reached", "People with a metric whose target is reached whatever happens"),
)


def fairness_table(groups: Mapping[str, pd.DataFrame]) -> html.Div:
    """Every grouping in one table (a section each): people, median and quartiles of the
    projected attainment, the share at or above the threshold and the target, and how many
    have a target flagged."""
    head = html.Thead(
        html.Tr(
            [
                html.Th(text, title=hint, className="text-end" if i else None)
                for i, (text, hint) in enumerate(FAIR_HEAD)
            ]
        )
    )
    sections = []
    for name, stats in groups.items():
        rows = [
            html.Tr(
                html.Th(FAIRNESS_TITLES.get(name, name.title()), colSpan=len(FAIR_HEAD)),
                className="table-light",
            )
        ]
        rows += [
            html.Tr(
                [
                    html.Td(str(r.group), className="ps-3"),
                    html.Td(formatting.count(r.people), className="text-end"),
                    html.Td(_pct(r.median), className="text-end fw-semibold"),
                    html.Td(f"{_pct(r.p25)} – {_pct(r.p75)}", className="text-end"),
                    html.Td(_share(r.share_at_threshold), className="text-end"),
                    html.Td(_share(r.share_at_target), className="text-end"),
                    html.Td(formatting.count(r.out_of_reach), className="text-end"),
                    html.Td(formatting.count(r.trivial), className="text-end"),
                ]
            )
            for r in ordered(name, stats).itertuples()
        ]
        sections.append(html.Tbody(rows, id=f"{PREFIX}fair-{name.replace(' ', '-')}"))
    return html.Div(
        dbc.Table(
            [head, *sections],
            size="sm",
            hover=True,
            className="small mb-0 text-nowrap",
            id=PREFIX + "fair-table",
        ),
        className="table-responsive",
    )


def fairness_figure(groups: Mapping[str, pd.DataFrame]) -> Figure:
    """Projected attainment by segment, tenure and book size: each group's middle half
    (P25 – P75) as a bar and its median as a mark, side by side."""
    data, ticks = [], []
    x = 0
    for name, stats in groups.items():
        for r in ordered(name, stats).itertuples():
            ticks.append(
                (x, str(r.group).replace(" ", "<br>", 1) if len(str(r.group)) > 9 else r.group)
            )
            data.append((x, name, r))
            x += 1
        x += 1  # a gap between groupings
    if not data:
        return empty_figure("Projected attainment by group", "Nobody to compare")
    xs = [d[0] for d in data]
    low = [d[2].p25 for d in data]
    high = [d[2].p75 for d in data]
    med = [d[2].median for d in data]
    custom = [
        [
            FAIRNESS_TITLES.get(n, n),
            str(r.group),
            r.people,
            _pct(r.median),
            _pct(r.p25),
            _pct(r.p75),
        ]
        for _, n, r in data
    ]
    notes = []
    for name in groups:
        members = [d[0] for d in data if d[1] == name]
        if members:
            notes.append(
                {
                    "x": (members[0] + members[-1]) / 2,
                    "y": 1.0,
                    "yref": "paper",
                    "yanchor": "bottom",
                    "text": f"<b>{FAIRNESS_TITLES.get(name, name)}</b>",
                    "showarrow": False,
                    "font": {"size": 12},
                }
            )
    spread = [
        (h - lo) if not (pd.isna(h) or pd.isna(lo)) else 0 for lo, h in zip(low, high, strict=True)
    ]
    return figure(
        [
            {
                "type": "bar",
                "x": xs,
                "y": spread,
                "base": [0 if pd.isna(v) else v for v in low],
                "name": "Middle half (P25 – P75)",
                "marker": {"color": "rgba(59, 91, 146, 0.35)"},
                "width": 0.6,
                "customdata": custom,
                "hovertemplate": "%{customdata[0]} %{customdata[1]}: %{customdata[2]} people, "
                "median %{customdata[3]} (P25 %{customdata[4]}, P75 %{customdata[5]})"
                "<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": xs,
                "y": med,
                "name": "Median",
                "marker": {
                    "symbol": "line-ew-open",
                    "size": 22,
                    "line": {"width": 3},
                    "color": "#1b2430",
                },
                "customdata": custom,
                "hovertemplate": "%{customdata[0]} %{customdata[1]}: median %{customdata[3]}"
                "<extra></extra>",
            },
        ],
        "Projected attainment by segment, tenure and book size",
        height=340,
        xaxis={
            "tickmode": "array",
            "tickvals": [t[0] for t in ticks],
            "ticktext": [t[1] for t in ticks],
            "tickangle": 0,
        },
        yaxis={"title": {"text": "Projected attainment"}, "ticksuffix": "%"},
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": 100,
                "y1": 100,
                "line": {"color": "#5c6f82", "dash": "dot", "width": 1},
            }
        ],
        annotations=notes,
        legend={"orientation": "h", "y": -0.18, "x": 0},
        margin={"l": 8, "r": 8, "t": 72, "b": 8},
    )


# ---- flagged people -----------------------------------------------------------------------------
def _metric_value(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return formatting.money(value) if METRICS[metric].unit == "money" else formatting.percent(value)


def flagged_records(payouts: Any) -> list[dict[str, Any]]:
    """One row per flagged (person, metric): the target, the best and worst case, and why."""
    lines = payouts.lines
    if lines.empty:
        return []
    flagged = lines[lines["out_of_reach"] | lines["trivial"]]
    names = payouts.people.set_index("csm_id")[["name", "team"]]
    rows = []
    for r in flagged.itertuples():
        label = METRICS[r.metric].label
        if r.out_of_reach:
            flag = "Out of reach"
            why = (
                f"Even if everything still open closes in full, {label} reaches "
                f"{_pct(r.best_attainment)} of target, below the {r.threshold:g}% threshold."
            )
        else:
            flag = "Trivially reached"
            why = (
                f"Even if everything still open is lost, {label} is at "
                f"{_pct(r.worst_attainment)} of target."
            )
        person = names.loc[r.csm_id] if r.csm_id in names.index else None
        rows.append(
            {
                "id": f"{r.csm_id}:{r.metric}",
                "name": person["name"] if person is not None else r.csm_id,
                "team": person["team"] if person is not None else None,
                "metric": label,
                "flag": flag,
                "target": _metric_value(r.metric, r.target),
                "best": r.best_attainment,
                "worst": r.worst_attainment,
                "why": why,
            }
        )
    if not rows:
        return []
    return to_records(pd.DataFrame(rows).sort_values(["flag", "team", "name"], kind="stable"))


PCT_CELL = {"function": "params.value == null ? '–' : d3.format(',.0f')(params.value) + '%'"}
FLAG_COLUMNS = [
    {"field": "name", "headerName": "Person", "minWidth": 150, "pinned": "left"},
    {"field": "team", "minWidth": 120, "tooltipField": "team"},
    {"field": "metric", "headerName": "Metric", "minWidth": 140, "tooltipField": "metric"},
    {"field": "flag", "headerName": "Flag", "minWidth": 145},
    {"field": "target", "headerName": "Target", "type": "rightAligned", "minWidth": 90},
    {
        "field": "best",
        "headerName": "Best case",
        "headerTooltip": "Attainment if every open renewal renews in full and every open "
        "opportunity is won",
        "valueFormatter": PCT_CELL,
        "type": "rightAligned",
        "minWidth": 100,
    },
    {
        "field": "worst",
        "headerName": "Worst case",
        "headerTooltip": "Attainment if everything still open is lost",
        "valueFormatter": PCT_CELL,
        "type": "rightAligned",
        "minWidth": 100,
    },
    {
        "field": "why",
        "headerName": "Why",
        "minWidth": 320,
        "flex": 3,
        "wrapText": True,
        "autoHeight": True,
        "cellStyle": {"lineHeight": "1.35", "paddingTop": "6px", "paddingBottom": "6px"},
    },
]


def flagged_grid(grid_id: str, rows: list[dict[str, Any]]) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=FLAG_COLUMNS,
        defaultColDef={"sortable": True, "resizable": True, "flex": 1},
        getRowId="params.data.id",
        dashGridOptions={"animateRows": False, "suppressCellFocus": True, "tooltipShowDelay": 300},
        style={"height": "320px", "width": "100%"},
    )


def reset_link(href: str) -> dcc.Link:
    return dcc.Link("Reset", href=href, id=PREFIX + "reset", className="small")
