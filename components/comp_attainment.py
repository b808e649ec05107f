"""Compensation 'attainment' tab builders: the header line (plan, version, period, data), the
top line (on-target, payout to date, projected payout with its range, budget), the per-person
grid, the team roll-up and its chart, and the metric definitions. Pure functions of the plan
view, the measures and the payouts (services/comp_payout.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting
from components.charts import Figure, empty_figure, figure, value_axis
from components.grids import MONEY, money_column, to_records
from components.states import empty_state
from services.comp_periods import Period, recent_periods
from services.comp_plan import METRICS, ROLE_SCOPE, TARGET_RULES, Curve, MetricPlan, Plan
from services.filters import DIMENSION_LABELS, DIMENSIONS, Filters

PREFIX = "cm-attainment-"
UNOWNED = "__unowned__"
# Money over on-target is not health (ARCHITECTURE §6): no green/amber/red.
PROJECTED_COLOR = "#3b5b92"
ON_TARGET_COLOR = "#1b2430"
TO_DATE_COLOR = "#9aa5b1"
CARRIED = ("green_share", "hygiene")  # carry their current value into the projection
PERCENT_OF = {"function": "params.value == null ? '–' : d3.format(',.1f')(params.value) + '%'"}
RATE = {"function": "params.value == null ? '–' : d3.format('.1%')(params.value)"}
GRID_ROWS_SHOWN = 16
ROLE_ORDER = {
    "Director": 0,
    "Manager": 1,
    "CSM": 2,
}  # each team's manager above its CSMs  # beyond this many people the grid scrolls


# ---- header -------------------------------------------------------------------------------------
def plan_name(plan_view: Any) -> str:
    """'Standard CSM plan, version 3' or 'Default plan (not saved)'."""
    if plan_view.item_id is None:
        return "Default plan (not saved)"
    return f"{plan_view.name}, version {plan_view.version}"


def header_line(plan_view: Any, measures: Any) -> list[Any]:
    """Plan · version · period · data to date, as of, build: what the numbers were computed
    with, in one line (the statement repeats it)."""
    period: Period = plan_view.period
    closed = period.closed(measures.as_of)
    data = (
        f"final (data to {formatting.date(measures.to_date)})"
        if closed
        else f"to date: {formatting.date(measures.to_date)}"
    )
    return [
        html.Span(plan_name(plan_view), className="fw-semibold", id=PREFIX + "plan"),
        " · ",
        html.Span(period.label(), className="fw-semibold", id=PREFIX + "period-label"),
        f" ({formatting.date(period.start)} – {formatting.date(period.last_day)}), {data}",
        " · ",
        html.Span(
            f"data as of {formatting.date(measures.as_of)}, build {measures.build_id}",
            className="text-muted",
            id=PREFIX + "build",
        ),
    ]


def plan_notes(plan_view: Any, plan_href: str) -> list[Any]:
    """Which version applies to the period and why; the default plan says it is not saved."""
    notes: list[Any] = []
    if plan_view.item_id is None:
        notes.append(
            html.Div(
                [
                    "No plan is saved yet: these numbers use the default plan (renewal rate "
                    "50%, NRR 30%, expansion ARR 20%, quarterly). ",
                    dcc.Link("Review and save it on the Plan tab", href=plan_href),
                    ".",
                ],
                id=PREFIX + "default-plan",
            )
        )
    elif plan_view.note:
        notes.append(html.Div(plan_view.note, id=PREFIX + "version-note"))
    return notes


def period_options(periods: Sequence[Period], chosen: Period) -> list[dict[str, str]]:
    """The period picker: recent periods of the plan's kind, newest first (the chosen one too
    when it is older)."""
    shown = list(periods)
    if chosen not in shown:
        shown.append(chosen)
    shown.sort(key=lambda p: p.start, reverse=True)
    return [{"label": p.label(), "value": p.key} for p in shown]


RECENT_PERIODS = 8  # periods a picker offers


def period_picker(component_id: str, view: Any, as_of: date | None) -> html.Label:
    """The compensation tabs' period picker: the last RECENT_PERIODS periods of the plan's kind
    to the as-of date, the view's period chosen (`view`: a PlanView; None or no as-of: empty,
    as in Dash's validation layout)."""
    if view is None or as_of is None:
        options, chosen = [], None
    else:
        periods = recent_periods(as_of, view.plan.period, RECENT_PERIODS)
        options, chosen = period_options(periods, view.period), view.period.key
    return html.Label(
        [
            html.Span("Period", className="small text-muted me-2"),
            dcc.Dropdown(
                id=component_id,
                options=options,
                value=chosen,
                clearable=False,
                searchable=False,
                style={"minWidth": "11rem"},
            ),
        ],
        className="d-flex align-items-center mb-0",
    )


# ---- what the filters do to pay ------------------------------------------------------------------
PEOPLE_FILTERS = ("team", "owner")  # choose who is listed; every other filter chooses accounts
VALUES_NAMED = 3  # a filter's values named in the notice before "and n more"


def _filter_text(filters: Filters, dim: str) -> str:
    values = list(getattr(filters, dim))
    named = ", ".join(values[:VALUES_NAMED])
    more = len(values) - VALUES_NAMED
    return f"{DIMENSION_LABELS[dim].lower()} {named}" + (f" and {more} more" if more > 0 else "")


def account_filters_applied(filters: Filters | None) -> list[str]:
    """The account filters of the view (segment, region, coverage tier...) as 'segment SMB'."""
    if filters is None:
        return []
    return [
        _filter_text(filters, dim)
        for dim in DIMENSIONS
        if dim not in PEOPLE_FILTERS and getattr(filters, dim)
    ]


def slice_notice(filters: Filters | None, prefix: str = PREFIX) -> dbc.Alert | None:
    """With account filters, the actuals count only those accounts of each person's book: the
    payouts shown are for that slice, not what anyone is paid (a statement covers the whole
    book). None without account filters."""
    applied = account_filters_applied(filters)
    if not applied:
        return None
    return dbc.Alert(
        [
            html.Strong("These payouts are for a slice of each book, not what anyone is paid. "),
            f"Filtered to {'; '.join(applied)}: the actuals count only those accounts of each "
            "person's book, against targets for the whole book. A person's statement shows "
            "their whole book.",
        ],
        color="warning",
        id=prefix + "slice-note",
        className="small py-2 mb-2",
    )


def budget_scope(filters: Filters | None) -> str | None:
    """Why the budget's share used cannot be shown for this view (the budget is the whole
    company's: people listed by team / owner, or a slice of each book, spend only part of it);
    None when the view is everyone's whole books."""
    if filters is None:
        return None
    if any(getattr(filters, dim) for dim in PEOPLE_FILTERS):
        return "The budget is the company's: the share used is shown for everyone only."
    if account_filters_applied(filters):
        return "The budget is the company's: the share used is shown for whole books only."
    return None


# ---- top line -----------------------------------------------------------------------------------
def money_card(
    prefix: str, key: str, label: str, value: str, lines: list[Any], exact: float | None
) -> dbc.Col:
    """A compensation top-line card (`<prefix>kpi-<key>` holds the value; hover: the exact
    amount)."""
    title = {"title": formatting.money_exact(exact)} if exact is not None else {}
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(label, className="kpi-label"),
                    html.Div(value, className="kpi-value", id=f"{prefix}kpi-{key}", **title),
                    *[html.Div(line, className="small text-muted") for line in lines if line],
                ]
            ),
            className="kpi-card h-100",
            id=f"{prefix}card-{key}",
        ),
        xs=12,
        sm=6,
        lg=True,
        className="mb-3",
    )


def _card(key: str, label: str, value: str, lines: list[Any], exact: float | None) -> dbc.Col:
    return money_card(PREFIX, key, label, value, lines, exact)


def _share(part: float, whole: float) -> str | None:
    return formatting.percent(part / whole) if whole and not math.isnan(whole) else None


def top_line(
    people: pd.DataFrame, budget: float | None, period_label: str, budget_note: str | None = None
) -> dbc.Row:
    """On-target total, payout to date, projected payout with its 80% range, and the budget
    with the share the projection uses. Sums of the grid's rows, so they add up to it.
    `budget_note` (see `budget_scope`): the share is hidden and the note says why."""
    on_target = float(people["on_target"].sum())
    paid = float(people["payout"].sum())
    projected = float(people["projected_payout"].sum())
    low, high = float(people["projected_low"].sum()), float(people["projected_high"].sum())
    earning = int((people["on_target"] > 0).sum())
    to_date = _share(paid, on_target)
    proj_share = _share(projected, on_target)
    cards = [
        _card(
            "on_target",
            "On-target bonus",
            formatting.money(on_target),
            [f"{earning} {'person' if earning == 1 else 'people'} with a bonus, prorated"],
            on_target,
        ),
        _card(
            "payout",
            "Payout to date",
            formatting.money(paid),
            [f"{to_date} of on-target" if to_date else None],
            paid,
        ),
        _card(
            "projected",
            "Projected payout",
            formatting.money(projected),
            [
                f"80% range {formatting.money(low)} – {formatting.money(high)}",
                f"{proj_share} of on-target" if proj_share else None,
            ],
            projected,
        ),
    ]
    if budget is None:
        cards.append(
            _card("budget", "Bonus budget", "Not set", [f"No budget set for {period_label}"], None)
        )
    else:
        used = _share(projected, budget)
        line = budget_note or (f"{used} used by the projection" if used else "Budget is zero")
        cards.append(_card("budget", "Bonus budget", formatting.money(budget), [line], budget))
    return dbc.Row(cards, className="g-3", id=PREFIX + "top-line")


# ---- the per-person grid ------------------------------------------------------------------------
def _metric_field(metric: str, what: str) -> str:
    return f"{metric}__{what}"


def _value_format(metric: str) -> dict[str, str]:
    return MONEY if METRICS[metric].unit == "money" else RATE


def person_records(people: pd.DataFrame, lines: pd.DataFrame, plan: Plan) -> list[dict]:
    """One record per person: their money and attainment columns, and each plan metric's
    actual, target and attainment side by side (columns `<metric>__actual` etc.)."""
    if people.empty:
        return []
    rank = people["role"].map(ROLE_ORDER).fillna(len(ROLE_ORDER))
    wide = people.assign(_rank=rank).sort_values(["team", "_rank", "name"]).drop(columns="_rank")
    for m in plan.metrics:
        mine = lines[lines["metric"] == m.metric].set_index("csm_id")
        for what, column in (
            ("actual", "actual"),
            ("target", "target"),
            ("attainment", "attainment"),
            ("projected_attainment", "projected_attainment"),
            ("rule", "rule_label"),
        ):
            wide[_metric_field(m.metric, what)] = wide["csm_id"].map(mine[column])
    wide["range"] = [
        f"{formatting.money(lo)} – {formatting.money(hi)}"
        for lo, hi in zip(wide["projected_low"], wide["projected_high"], strict=True)
    ]
    wide["flags"] = wide["flags"].fillna("")
    shown = ["csm_id", *_fields(person_columns(plan))]  # only what the grid shows or opens
    return to_records(wide[[c for c in shown if c in wide.columns]])


def _fields(columns: list[dict[str, Any]]) -> list[str]:
    """The fields a grid's column definitions (groups included) read."""
    out: list[str] = []
    for column in columns:
        out += _fields(column.get("children", [])) if "children" in column else []
        out += [column[k] for k in ("field", "tooltipField") if k in column]
    return list(dict.fromkeys(out))


def person_columns(plan: Plan) -> list[dict[str, Any]]:
    """Name, team, role; per plan metric (its definition on hover of the group header): actual,
    target (its rule on hover), attainment; then weighted attainment, payout, projected payout
    with its range, flags."""
    groups = []
    for m in plan.metrics:
        info = METRICS[m.metric]
        value = _value_format(m.metric)
        groups.append(
            {
                "headerName": f"{info.label} ({m.weight:g}%)",
                "headerTooltip": info.definition,
                "groupId": m.metric,
                "children": [
                    {
                        "field": _metric_field(m.metric, "actual"),
                        "headerName": "Actual",
                        "valueFormatter": value,
                        "type": "rightAligned",
                        "minWidth": 95,
                    },
                    {
                        "field": _metric_field(m.metric, "target"),
                        "headerName": "Target",
                        "valueFormatter": value,
                        "tooltipField": _metric_field(m.metric, "rule"),
                        "type": "rightAligned",
                        "minWidth": 95,
                    },
                    {
                        "field": _metric_field(m.metric, "attainment"),
                        "headerName": "Att.",
                        "headerTooltip": "Attainment to date: actual / target",
                        "valueFormatter": PERCENT_OF,
                        "type": "rightAligned",
                        "minWidth": 85,
                    },
                ],
            }
        )
    return [
        {
            "field": "name",
            "headerName": "Person",
            "pinned": "left",
            "minWidth": 170,
            "cellClass": "link-cell",
            "tooltipField": "name",
        },
        {"field": "team", "minWidth": 165, "tooltipField": "team"},
        {"field": "role", "minWidth": 90, "maxWidth": 105},
        {
            "headerName": "Payout",
            "children": [
                money_column("on_target", "On-target", minWidth=100),
                money_column("payout", "To date", minWidth=95),
                money_column("projected_payout", "Projected", minWidth=105),
                {
                    "field": "range",
                    "headerName": "80% range",
                    "headerTooltip": "The projected payout's range: 80% of outcomes fall in it",
                    "sortable": False,
                    "minWidth": 155,
                },
            ],
        },
        {
            "headerName": "Weighted attainment",
            "children": [
                {
                    "field": "attainment",
                    "headerName": "To date",
                    "valueFormatter": PERCENT_OF,
                    "type": "rightAligned",
                    "minWidth": 90,
                },
                {
                    "field": "projected_attainment",
                    "headerName": "Projected",
                    "headerTooltip": "Actual + the renewal forecast for the rest of the period "
                    "(share of ARR green and hygiene carry their current value)",
                    "valueFormatter": PERCENT_OF,
                    "type": "rightAligned",
                    "minWidth": 100,
                },
            ],
        },
        *groups,
        {"field": "flags", "headerName": "Flags", "minWidth": 220, "tooltipField": "flags"},
    ]


def grid_style(rows: int) -> dict[str, str]:
    """Tall enough for every row up to GRID_ROWS_SHOWN (then the grid scrolls)."""
    return {"height": f"{96 + 42 * min(max(rows, 2), GRID_ROWS_SHOWN)}px", "width": "100%"}


def people_grid(grid_id: str, plan: Plan, rows: list[dict]) -> dag.AgGrid:
    """The per-person grid; a row click (or Enter) opens that person's statement."""
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=person_columns(plan),
        defaultColDef={"sortable": True, "resizable": True, "flex": 1},
        getRowId="params.data.csm_id",
        dashGridOptions={
            "animateRows": False,
            "tooltipShowDelay": 300,
            "rowBuffer": 40,
        },
        style=grid_style(len(rows)),
        className="nav-grid",
    )


# ---- teams --------------------------------------------------------------------------------------
TEAM_COLUMNS = [
    {"field": "team", "headerName": "Team", "minWidth": 170, "flex": 2, "tooltipField": "team"},
    {"field": "people", "headerName": "People", "type": "rightAligned", "minWidth": 90},
    money_column("on_target", "On-target", minWidth=110),
    money_column("payout", "To date", minWidth=100),
    money_column(
        "projected_payout",
        "Projected",
        minWidth=110,
        tooltipValueGetter={"function": "params.data ? params.data.range : null"},
    ),
    {
        "field": "share",
        "headerName": "Of on-target",
        "headerTooltip": "Projected payout / on-target bonus",
        "valueFormatter": RATE,
        "type": "rightAligned",
        "minWidth": 125,
    },
]


def team_records(teams: pd.DataFrame) -> list[dict]:
    if teams.empty:
        return []
    out = teams.copy()
    if "people" not in out.columns:
        out["people"] = None
    out["range"] = [
        f"80% range {formatting.money(lo)} – {formatting.money(hi)}"
        for lo, hi in zip(out["projected_low"], out["projected_high"], strict=True)
    ]
    out["share"] = out["projected_payout"] / out["on_target"].where(out["on_target"] > 0)
    return to_records(out)


def team_grid_style(rows: int) -> dict[str, str]:
    return {"height": f"{62 + 42 * min(max(rows, 2), 12)}px", "width": "100%"}


def team_grid(grid_id: str, rows: list[dict]) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=TEAM_COLUMNS,
        defaultColDef={"sortable": True, "resizable": True, "flex": 1},
        dashGridOptions={"animateRows": False, "suppressCellFocus": True, "tooltipShowDelay": 300},
        style=team_grid_style(len(rows)),
    )


def team_figure(teams: pd.DataFrame) -> Figure:
    """Projected payout per team (bar, with its 80% range) against the team's on-target
    (a mark), and the payout to date; the title says how the company stands."""
    title = "Projected payout per team against on-target"
    if teams.empty or not teams["on_target"].sum():
        return empty_figure(title, "No on-target bonus under these filters")
    t = teams.sort_values("projected_payout")
    names = t["team"].tolist()
    share = t["projected_payout"].sum() / t["on_target"].sum()
    title = f"Teams are projected to earn {formatting.percent(share)} of their on-target bonus"
    err_plus = (t["projected_high"] - t["projected_payout"]).clip(lower=0).tolist()
    err_minus = (t["projected_payout"] - t["projected_low"]).clip(lower=0).tolist()
    text = [formatting.money(v) for v in t["projected_payout"]]
    custom = [
        [formatting.money(p), formatting.money(lo), formatting.money(hi), formatting.money(o)]
        for p, lo, hi, o in zip(
            t["projected_payout"],
            t["projected_low"],
            t["projected_high"],
            t["on_target"],
            strict=True,
        )
    ]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": names,
            "x": t["projected_payout"].tolist(),
            "name": "Projected payout (80% range)",
            "marker": {"color": PROJECTED_COLOR},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": err_plus,
                "arrayminus": err_minus,
                "color": "#1b2430",
                "thickness": 1.2,
                "width": 4,
            },
            "text": text,
            "textposition": "inside",
            "insidetextanchor": "start",
            "textfont": {"color": "white"},
            "customdata": custom,
            "hovertemplate": "%{y}: projected %{customdata[0]} (80%: %{customdata[1]} – "
            "%{customdata[2]}); on-target %{customdata[3]}<extra></extra>",
        },
        {
            "type": "bar",
            "orientation": "h",
            "y": names,
            "x": t["payout"].tolist(),
            "name": "Paid to date",
            "marker": {"color": TO_DATE_COLOR},
            "width": 0.25,
            "hovertemplate": "%{y}: %{x:$,.0f} to date<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "y": names,
            "x": t["on_target"].tolist(),
            "name": "On-target",
            "marker": {
                "symbol": "line-ns-open",
                "size": 26,
                "color": ON_TARGET_COLOR,
                "line": {"width": 3},
            },
            "hovertemplate": "%{y}: on-target %{x:$,.0f}<extra></extra>",
        },
    ]
    top = max(t["projected_high"].max(), t["on_target"].max()) * 1.08
    return figure(
        data,
        title,
        barmode="overlay",
        height=max(280, 110 + 46 * len(names)),
        xaxis={"range": [0, top], **value_axis(top, "arr")},
        yaxis={"automargin": True},
        legend={"orientation": "h", "y": -0.15, "x": 0},
        margin={"l": 8, "r": 16, "t": 48, "b": 8},
        uniformtext={"minsize": 10, "mode": "hide"},
    )


# ---- definitions and notes ----------------------------------------------------------------------
def curve_text(curve: Curve) -> str:
    """'Below 90% nothing; 50% at 90%, rising to 100% at target; +2 points per point above,
    capped at 150%.'"""
    if curve.threshold >= 100:
        start = "Below target nothing; 100% from target"
    else:
        start = (
            f"Below {curve.threshold:g}% nothing; {curve.payout_at_threshold:g}% at "
            f"{curve.threshold:g}%, rising to 100% at target"
        )
    above = (
        f"+{curve.accelerator:g} points per point above target"
        if curve.accelerator
        else "flat above target"
    )
    return f"{start}; {above}, capped at {curve.cap:g}%."


def metric_definition(m: MetricPlan) -> html.Div:
    info = METRICS[m.metric]
    carried = (
        " Projected: carries its current value to the period's end." if m.metric in CARRIED else ""
    )
    return html.Div(
        [
            html.Div(
                [
                    html.Span(info.label, className="fw-semibold"),
                    html.Span(f" · weight {m.weight:g}%", className="text-muted"),
                ]
            ),
            html.Div(info.definition + carried, className="small"),
            html.Div(
                [
                    f"Target: {TARGET_RULES.get(m.rule, m.rule)}. ",
                    "Payout: ",
                    curve_text(m.curve),
                ],
                className="small text-muted",
            ),
        ],
        className="mb-2",
        id=f"{PREFIX}definition-{m.metric}",
    )


def definitions(plan: Plan, period: Period) -> html.Div:
    """The plan's metrics with their definitions, targets and curves, and how a person's
    numbers are made (attainment, weighting, projection, bonus)."""
    how = [
        "Attainment = actual / target. Weighted attainment = the metrics' attainments "
        "weighted by the plan's weights. Payout of a metric = on-target × weight × the "
        "curve's payout % at its attainment.",
        "Projected = actual to date + the renewal forecast for the rest of the period: open "
        "renewals due by its end × their probability, open expansion opportunities × the "
        "trailing win rate; the range covers 80% of outcomes. Share of ARR green and hygiene "
        "carry their current value.",
        "On-target bonus = the role's annual on-target × "
        f"{period.year_fraction:g} of a year × the share of the period employed. "
        + "; ".join(f"{role}: {scope}" for role, scope in ROLE_SCOPE.items())
        + ".",
        "A renewal or an expansion counts for the account's owner on the day it closed.",
    ]
    return dbc.Row(
        [
            *[dbc.Col(metric_definition(m), md=6, xl=True) for m in plan.metrics],
            dbc.Col(
                html.Ul([html.Li(t) for t in how], className="small text-muted ps-3 mb-0"),
                md=12,
                xl=4,
            ),
        ],
        className="g-3",
        id=PREFIX + "definitions",
    )


def data_notes(measures: Any, plan: Plan, period_label: str) -> list[Any]:
    """What the numbers cannot show: no renewals in the period (renewal metrics measure
    nothing), people without a bonus."""
    notes = []
    frame = measures.frame
    renewal_metrics = [
        m.metric
        for m in plan.metrics
        if m.metric in ("renewal_rate", "grr", "nrr", "logo_retention")
    ]
    if renewal_metrics and not frame.empty:
        counted = frame[frame["metric"] == "renewal_rate"]
        if (
            not counted.empty
            and counted["closed_count"].fillna(0).sum() + counted["open_count"].fillna(0).sum() == 0
        ):
            notes.append(
                html.Div(
                    f"No renewals closed or due in {period_label} under these filters: the "
                    "renewal rate has nothing to measure (no attainment, no payout).",
                    id=PREFIX + "no-renewals",
                )
            )
    unowned = frame[frame["csm_id"] == UNOWNED] if not frame.empty else frame
    if not unowned.empty:
        renewals = unowned.loc[unowned["metric"] == "renewal_rate", "closed_count"].fillna(0).sum()
        won = unowned.loc[unowned["metric"] == "expansion_arr", "actual"].fillna(0).sum()
        if renewals or won:
            notes.append(
                html.Div(
                    "Accounts without an owner on the day they closed: "
                    + " and ".join(
                        part
                        for part in (
                            f"{int(renewals):,} renewal{'s' if renewals != 1 else ''}"
                            if renewals
                            else "",
                            f"{formatting.money(won)} of expansion" if won else "",
                        )
                        if part
                    )
                    + " count for nobody.",
                    id=PREFIX + "unowned",
                )
            )
    return notes


def no_people() -> html.Div:
    return empty_state(
        "No people under these filters for this period.",
        "Widen the filters (team, owner) or choose another period.",
    )
