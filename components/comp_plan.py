"""The Plan tab's builders: the plan in use and its versions, the editor (period, effective date,
bonuses, budget, metrics with their weights, targets, rules and payout curves), each metric's
curve drawn from the fields as typed, and the form <-> plan payload conversion (rates are shown
as %, the payload keeps shares). Pure: plans and field values in, components and payloads out.

Every editable field's id is `{"type": FIELD, "field": <name>}` where the name is the one
`services.comp_plan.plan_from_payload` gives its problems (`metrics.grr.curve.cap`), so a
problem marks its own field; `{"type": MESSAGE, "field": <name>}` holds the message under it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import formatting
from components.charts import Figure, empty_figure, figure
from components.forms import number_input
from components.shell import panel
from services.comp_periods import KIND_LABELS, KINDS
from services.comp_plan import (
    METRICS,
    ROLE_SCOPE,
    ROLES,
    TARGET_RULES,
    Curve,
    Plan,
    Problem,
    validate_curve,
)
from services.comp_plan_store import PlanVersion, PlanView

FIELD = "cm-plan-field"
MESSAGE = "cm-plan-message"
CURVE = "cm-plan-curve"
CARD = "cm-plan-card"
METRIC_PICKER = "cm-plan-metrics"
WEIGHTS = "cm-plan-weights"
OTHER_PROBLEMS = "cm-plan-problems"
CURVE_FIELDS = ("threshold", "payout_at_threshold", "accelerator", "cap")
CURVE_LABELS = {
    "threshold": ("Threshold", "% att."),
    "payout_at_threshold": ("Pays at threshold", "%"),
    "accelerator": ("Accelerator", "pts/pt"),
    "cap": ("Cap", "%"),
}
# Where a problem without a field of its own is shown: under the metric picker or the weights.
SHARED_MESSAGES = ("metrics", "weights")
CURVE_COLOR = "#2f5fa7"
MARK_COLOR = "#5c6f82"


def field_id(name: str) -> dict[str, str]:
    return {"type": FIELD, "field": name}


def message_id(name: str) -> dict[str, str]:
    return {"type": MESSAGE, "field": name}


def metric_fields(key: str) -> tuple[str, ...]:
    where = f"metrics.{key}"
    return (
        f"{where}.weight",
        f"{where}.target",
        f"{where}.rule",
        f"{where}.uplift",
        *(f"{where}.curve.{name}" for name in CURVE_FIELDS),
    )


def all_fields() -> tuple[str, ...]:
    """Every editable field, in the order the form lays them out."""
    general = ("period", "effective_from", *(f"on_target_bonus.{r}" for r in ROLES), "budget")
    return general + tuple(f for key in METRICS for f in metric_fields(key))


# ---- numbers as shown <-> as kept --------------------------------------------------------------
def _shown(value: float | None, scale: float = 1.0) -> str:
    if value is None:
        return ""
    return f"{round(value * scale, 6):g}"


def _is_rate(key: str) -> bool:
    return METRICS[key].unit == "rate"


def field_values(plan: Plan) -> dict[str, str]:
    """The plan's fields as the form shows them (rates and uplifts as %; metrics not in the plan
    get their defaults, ready to be ticked)."""
    values = {
        "period": plan.period,
        "effective_from": plan.effective_from.isoformat(),
        "budget": _shown(plan.budget),
    }
    for role in ROLES:
        values[f"on_target_bonus.{role}"] = _shown(plan.on_target_bonus.get(role, 0.0))
    for key, info in METRICS.items():
        chosen = plan.metric(key)
        where = f"metrics.{key}"
        curve = chosen.curve if chosen else Curve()
        values[f"{where}.weight"] = _shown(chosen.weight) if chosen else ""
        target = chosen.target if chosen else info.default_target
        values[f"{where}.target"] = _shown(target, 100.0 if _is_rate(key) else 1.0)
        values[f"{where}.rule"] = chosen.rule if chosen else "company"
        values[f"{where}.uplift"] = _shown(chosen.uplift if chosen else 0.0, 100.0)
        for name in CURVE_FIELDS:
            values[f"{where}.curve.{name}"] = _shown(getattr(curve, name))
    return values


def _number(text: Any) -> float | None:
    try:
        value = float(str(text).replace(",", "").replace("$", "").replace("%", "").strip())
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _kept(text: Any, scale: float = 1.0) -> Any:
    """A typed number as the payload keeps it; anything else as typed (the check names it)."""
    value = _number(text)
    if value is None:
        return None if text in (None, "") else str(text)[:40]
    return round(value / scale, 10)


def draft_payload(
    values: Mapping[str, Any], chosen: Sequence[str], base: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The plan payload the form describes: the fields on top of the version it was opened from
    (`base` keeps what the form does not edit: the targets set by hand)."""
    payload = dict(base or {})
    payload["period"] = values.get("period")
    payload["effective_from"] = str(values.get("effective_from") or "").strip()
    payload["on_target_bonus"] = {r: _kept(values.get(f"on_target_bonus.{r}")) for r in ROLES}
    payload["budget"] = _kept(values.get("budget"))
    metrics = []
    for key in (k for k in METRICS if k in set(chosen or ())):
        where = f"metrics.{key}"
        metrics.append(
            {
                "metric": key,
                "weight": _kept(values.get(f"{where}.weight")),
                "target": _kept(values.get(f"{where}.target"), 100.0 if _is_rate(key) else 1.0),
                "rule": values.get(f"{where}.rule"),
                "uplift": _kept(values.get(f"{where}.uplift"), 100.0) or 0.0,
                "curve": {n: _kept(values.get(f"{where}.curve.{n}")) for n in CURVE_FIELDS},
            }
        )
    payload["metrics"] = metrics
    # A target set by hand for a metric no longer in the plan has nothing left to set: dropped
    # (the save says how many, `dropped_overrides`), not a problem with no field to fix.
    payload["overrides"] = [
        o
        for o in payload.get("overrides") or []
        if not isinstance(o, Mapping) or o.get("metric") in {m["metric"] for m in metrics}
    ]
    return payload


def dropped_overrides(base: Mapping[str, Any] | None, chosen: Sequence[str]) -> int:
    """How many targets set by hand in `base` a draft with the metrics `chosen` drops."""
    kept = set(chosen or ())
    overrides = (base or {}).get("overrides") or []
    return sum(1 for o in overrides if isinstance(o, Mapping) and o.get("metric") not in kept)


def weight_total(values: Mapping[str, Any], chosen: Sequence[str]) -> float | None:
    """The weights of the chosen metrics added up (None when one is not a number)."""
    numbers = [_number(values.get(f"metrics.{k}.weight")) for k in METRICS if k in set(chosen)]
    return None if any(n is None for n in numbers) else sum(n or 0.0 for n in numbers)


def weights_line(total: float | None, chosen: Sequence[str]) -> tuple[str, str]:
    """'Weights add up to 90% (they must add up to 100%)' and its class."""
    if not chosen:
        return "Choose at least one metric.", "small text-danger"
    if total is None:
        return "Weights add up to –: a weight is not a number.", "small text-danger"
    if abs(total - 100.0) <= 1e-6:
        return "Weights add up to 100%.", "small text-success"
    return (
        f"Weights add up to {total:g}% (they must add up to 100%).",
        "small text-danger fw-semibold",
    )


# ---- the payout curve, drawn from the fields as typed ------------------------------------------
def typed_curve(values: Mapping[str, Any], key: str) -> tuple[Curve | None, list[Problem]]:
    """The curve a metric's four fields describe, and what is wrong with it."""
    where = f"metrics.{key}.curve"
    numbers = {n: _number(values.get(f"{where}.{n}")) for n in CURVE_FIELDS}
    if any(v is None for v in numbers.values()):
        return None, [Problem(f"{where}.{n}", "") for n, v in numbers.items() if v is None]
    curve = Curve(**numbers)  # type: ignore[arg-type]
    return curve, validate_curve(curve, where)


def _mark(x: float, y: float, text: str, ax: int, ay: int) -> dict[str, Any]:
    """A labelled point of the curve; the label sits `ax`, `ay` pixels away (apart from the
    others: the threshold's up and left, the target's down and right, the cap's up)."""
    return {
        "x": x,
        "y": y,
        "text": text,
        "showarrow": True,
        "arrowhead": 0,
        "arrowcolor": MARK_COLOR,
        "ax": ax,
        "ay": ay,
        "font": {"size": 11, "color": "#3d4a58"},
        "bgcolor": "rgba(255,255,255,0.85)",
    }


def curve_figure(label: str, curve: Curve | None, problems: Sequence[Problem] = ()) -> Figure:
    """Payout % against attainment %, with the threshold, the target and the cap marked."""
    if curve is None or problems:
        return empty_figure(label, "Fix the marked curve fields to draw the curve.")
    xs, ys = curve.points()
    knee = curve.knee()
    marks = [
        _mark(
            curve.threshold,
            curve.payout(curve.threshold),
            f"Threshold {curve.threshold:g}% → {curve.payout(curve.threshold):g}%",
            -46,
            -30,
        )
    ]
    if curve.threshold < 100:
        marks.append(_mark(100.0, 100.0, "Target 100% → 100%", 44, 26))
    if knee is not None and knee <= max(xs):
        marks.append(
            _mark(knee, curve.cap, f"Cap {curve.cap:g}% from {round(knee, 1):g}%", -10, -22)
        )
    return figure(
        [
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": ys,
                "line": {"color": CURVE_COLOR, "width": 2.5},
                "hovertemplate": "%{x:.0f}% attained → %{y:.0f}% paid<extra></extra>",
                "name": label,
            }
        ],
        label,
        height=230,
        margin={"l": 48, "r": 16, "t": 36, "b": 40},
        showlegend=False,
        xaxis={"title": {"text": "Attainment %"}, "ticksuffix": "%", "range": [0, max(xs)]},
        yaxis={
            "title": {"text": "Payout %"},
            "ticksuffix": "%",
            "range": [0, max(max(ys), 100.0) * 1.18],
        },
        annotations=marks,
        shapes=[
            {
                "type": "line",
                "x0": 100,
                "x1": 100,
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"dash": "dot", "color": MARK_COLOR, "width": 1},
            }
        ],
    )


# ---- the plan in use and its versions ----------------------------------------------------------
def when(moment: datetime | None) -> str:
    return "–" if moment is None else f"{moment:%d %b %Y %H:%M} UTC"


def plan_summary(view: PlanView, history: Sequence[PlanVersion]) -> html.Div:
    """Name, version, effective date, who and when, and which version computes the period."""
    shown = next((v for v in history if v.version == view.version), None)
    if view.item_id is None:
        line = "Not saved yet: the default plan. Adjust it below and save it to keep it."
    else:
        latest = history[-1].version if history else view.version
        line = (
            f"Version {view.version} of {latest} · effective from "
            f"{formatting.date(view.plan.effective_from)}"
        )
        if shown is not None:
            line += f" · saved by {shown.saved_by} on {when(shown.saved_at)}"
    pays = (
        f"Pays per {KIND_LABELS[view.plan.period].lower()}; on-target bonus (a year): "
        + ", ".join(
            f"{role} {formatting.money(view.plan.on_target_bonus.get(role, 0.0))}" for role in ROLES
        )
    )
    return html.Div(
        [
            html.Div(
                [
                    html.Span(view.name, className="fw-semibold fs-6", id="cm-plan-name"),
                    dbc.Badge(
                        "Pinned version" if view.pinned else "In force",
                        color="secondary" if view.pinned else "light",
                        text_color=None if view.pinned else "dark",
                        className="ms-2",
                    )
                    if view.item_id
                    else dbc.Badge(
                        "Not saved", color="warning", text_color="dark", className="ms-2"
                    ),
                ]
            ),
            html.Div(line, className="small text-muted", id="cm-plan-line"),
            html.Div(view.note, className="small mt-1", id="cm-plan-note"),
            html.Div(pays, className="small text-muted mt-1"),
        ]
    )


def version_table(
    history: Sequence[PlanVersion], current: int | None, href: Callable[[int], str]
) -> Any:
    """Every version, newest first: effective date, who, when, note; each opens by its link."""
    if not history:
        return html.Div(
            "No versions yet: saving the plan below makes version 1.", className="small text-muted"
        )
    rows = [
        html.Tr(
            [
                html.Td(
                    dcc.Link(
                        f"Version {v.version}",
                        href=href(v.version),
                        id={"type": "cm-plan-version-link", "version": v.version},
                    )
                ),
                html.Td(formatting.date(v.effective_from)),
                html.Td(v.saved_by),
                html.Td(when(v.saved_at), className="text-nowrap"),
                html.Td(v.note or "–", className="text-break"),
            ],
            className="table-active" if v.version == current else None,
        )
        for v in reversed(history)
    ]
    head = ("Version", "Effective from", "Saved by", "When", "Note")
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
        size="sm",
        hover=True,
        className="mb-0 small",
        id="cm-plan-versions-table",
    )


# ---- the editor --------------------------------------------------------------------------------
def _input(name: str, value: str, unit: str = "", prefix: str = "", width: str = "") -> Any:
    parts: list[Any] = []
    if prefix:
        parts.append(dbc.InputGroupText(prefix))
    parts.append(number_input(field_id(name), value, debounce=250))
    if unit:
        parts.append(dbc.InputGroupText(unit))
    return dbc.InputGroup(parts, size="sm", style={"maxWidth": width} if width else None)


def _feedback(name: str) -> html.Div:
    return html.Div(id=message_id(name), className="invalid-feedback d-block small")


def _labelled(label: str, name: str, control: Any, help_text: str = "") -> html.Div:
    return html.Div(
        [
            dbc.Label(label, className="small mb-0 fw-semibold"),
            control,
            html.Div(help_text, className="form-text mt-0") if help_text else None,
            _feedback(name),
        ],
        className="mb-2",
    )


def _select(name: str, value: str, options: Mapping[str, str]) -> dbc.Select:
    return dbc.Select(
        id=field_id(name),
        value=value,
        options=[{"label": label, "value": key} for key, label in options.items()],
        size="sm",
    )


def _scope_words(role: str) -> str:
    scope = ROLE_SCOPE[role]
    return scope if scope.startswith("all") else f"their {scope}"


def general_fields(values: Mapping[str, str]) -> dbc.Row:
    """Period, effective date, on-target bonus per role (a year), bonus budget per period."""
    bonus = [
        dbc.Col(
            _labelled(
                f"{role} on-target bonus",
                f"on_target_bonus.{role}",
                _input(f"on_target_bonus.{role}", values[f"on_target_bonus.{role}"], "a year", "$"),
                f"Measured on {_scope_words(role)}.",
            ),
            md=4,
        )
        for role in ROLES
    ]
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        _labelled(
                            "Bonus period",
                            "period",
                            _select("period", values["period"], {k: KIND_LABELS[k] for k in KINDS}),
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        _labelled(
                            "Takes effect from",
                            "effective_from",
                            _input("effective_from", values["effective_from"]),
                            "The first day of a period, YYYY-MM-DD.",
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        _labelled(
                            "Bonus budget per period",
                            "budget",
                            _input("budget", values["budget"], prefix="$"),
                            "Optional: payouts are compared with it.",
                        ),
                        md=4,
                    ),
                ]
            ),
            dbc.Row(bonus),
        ]
    )


def metric_card(key: str, values: Mapping[str, str], shown: bool) -> html.Div:
    """One metric: weight, company target, target rule + uplift, the curve's four fields, and
    the curve drawn beside them."""
    info = METRICS[key]
    where = f"metrics.{key}"
    rate = _is_rate(key)
    target = _input(
        f"{where}.target", values[f"{where}.target"], "%" if rate else "", "" if rate else "$"
    )
    uplift = _input(f"{where}.uplift", values[f"{where}.uplift"], "pts" if rate else "%")
    curve_cols = [
        dbc.Col(
            _labelled(
                CURVE_LABELS[n][0],
                f"{where}.curve.{n}",
                _input(f"{where}.curve.{n}", values[f"{where}.curve.{n}"], CURVE_LABELS[n][1]),
            ),
            xs=6,
            xl=3,
        )
        for n in CURVE_FIELDS
    ]
    fields = html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        _labelled(
                            "Weight",
                            f"{where}.weight",
                            _input(f"{where}.weight", values[f"{where}.weight"], "%"),
                        ),
                        xs=6,
                        xl=3,
                    ),
                    dbc.Col(_labelled("Company target", f"{where}.target", target), xs=6, xl=4),
                    dbc.Col(
                        _labelled(
                            "Target rule",
                            f"{where}.rule",
                            _select(f"{where}.rule", values[f"{where}.rule"], _RULE_SHORT),
                        ),
                        xs=8,
                        xl=3,
                    ),
                    dbc.Col(_labelled("Uplift", f"{where}.uplift", uplift), xs=4, xl=2),
                ],
                className="g-2",
            ),
            dbc.Row(curve_cols, className="g-2"),
        ]
    )
    return html.Div(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        [
                            html.Span(info.label, className="fw-semibold"),
                            html.Span(f" · {info.definition}", className="small text-muted"),
                        ],
                        className="mb-2",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(fields, lg=7),
                            dbc.Col(
                                dcc.Graph(
                                    id={"type": CURVE, "metric": key},
                                    figure=empty_figure(info.label, ""),
                                    config={"displayModeBar": False},
                                    style={"height": "230px"},
                                ),
                                lg=5,
                            ),
                        ],
                        className="g-3",
                    ),
                ]
            ),
            className="mb-2",
        ),
        id={"type": CARD, "metric": key},
        className="" if shown else "d-none",
    )


_RULE_SHORT = {"company": "Company target", "book": "Book-adjusted", "last": "Last period"}
assert set(_RULE_SHORT) == set(TARGET_RULES)


def metric_picker(chosen: Sequence[str]) -> html.Div:
    return html.Div(
        [
            dbc.Label("Metrics that pay", className="small mb-0 fw-semibold"),
            dbc.Checklist(
                id=METRIC_PICKER,
                options=[{"label": info.label, "value": key} for key, info in METRICS.items()],
                value=list(chosen),
                inline=True,
                className="small",
            ),
            _feedback("metrics"),
            html.Div(id=WEIGHTS, className="small mt-1"),
            _feedback("weights"),
        ],
        className="mb-2",
    )


def editor(plan: Plan) -> html.Div:
    """The whole form, filled from a plan (every metric has a card; those not in the plan are
    hidden until ticked)."""
    values = field_values(plan)
    chosen = [m.metric for m in plan.metrics]
    return html.Div(
        [
            general_fields(values),
            metric_picker(chosen),
            html.Div(id=OTHER_PROBLEMS),
            *(metric_card(key, values, key in chosen) for key in METRICS),
        ]
    )


# ---- the live check's outputs ------------------------------------------------------------------
def marks(
    problems: Sequence[Problem], field_names: Sequence[str], message_names: Sequence[str]
) -> tuple[list[bool], list[Any], list[str]]:
    """Each field's invalid flag and each message slot's text, in the given orders, plus the
    problems no slot shows (listed above the metrics)."""
    by_field: dict[str, list[str]] = {}
    for p in problems:
        by_field.setdefault(p.field, []).append(p.message)
    slots = set(message_names)
    invalid = [name in by_field for name in field_names]
    messages = [" ".join(by_field.get(name, [])) or None for name in message_names]
    rest = [m for f, ms in by_field.items() if f not in slots for m in ms]
    return invalid, messages, rest


def save_panel(view: PlanView, name_value: str) -> Any:
    """Save: a new version of the plan on view, or a new plan under a name; a note says why."""
    saved = view.item_id is not None
    return panel(
        "Save",
        [
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Note (why this change)", className="small mb-0 fw-semibold"),
                            dbc.Input(
                                id="cm-plan-save-note", maxLength=500, size="sm", type="text"
                            ),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Name of a new plan", className="small mb-0 fw-semibold"),
                            dbc.Input(
                                id="cm-plan-save-name",
                                maxLength=80,
                                size="sm",
                                type="text",
                                value=name_value,
                                placeholder="e.g. FY27 CSM plan",
                            ),
                            html.Div(
                                id="cm-plan-save-name-feedback",
                                className="invalid-feedback d-block small",
                            ),
                        ],
                        md=6,
                    ),
                ],
                className="g-2 mb-2",
            ),
            html.Div(
                [
                    dbc.Button(
                        "Save new version",
                        id="cm-plan-save-version",
                        color="primary",
                        size="sm",
                        className="" if saved else "d-none",
                    ),
                    dbc.Button(
                        "Save as a new plan",
                        id="cm-plan-save-new",
                        color="secondary" if saved else "primary",
                        outline=saved,
                        size="sm",
                    ),
                ],
                className="d-flex gap-2",
            ),
            html.Div(id="cm-plan-save-message", className="mt-2"),
        ],
        panel_id="cm-plan-save-panel",
        help_text=(
            "Saving never overwrites: a new version is added with who saved it, when and your "
            "note, and takes effect from its date until a later-dated version does; earlier "
            "periods keep the version then in force. A new version starts from the version in "
            "force for the period (not one pinned by the link), keeps the plan's kind of "
            "period (another kind is a new plan), and drops targets set by hand for metrics "
            "taken out. If another version is in force by now, you are told who saved it, "
            "and nothing is saved."
        ),
    )
