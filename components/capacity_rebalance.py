"""Builders of the rebalancing tab (pages/_capacity_rebalance.py): the parameters form, the
answer sentence, the top line, before/after utilisation per CSM, the moves table, the solver
against the greedy baseline, the books that stay over and the rules. Pure: a plan in, Dash
components or a figure dict out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting, labels
from components.capacity_books import FLAG_COLORS
from components.charts import Figure, empty_figure, figure
from components.grids import DATE, money_column, to_records
from services.rebalancing import MOVE_WEIGHT, RebalanceOptions, RebalancePlan
from services.rebalancing_view import RebalanceView
from services.workload import WorkloadParams

TEAM = "cr-team"
MOVES = "cr-moves"
FREEZE = "cr-freeze"
KEEP = "cr-keep"
OPEN = "cr-open"
ALL_TEAMS = "_all"  # the team picker's "All teams" (no rbteam in the URL)
FIELD_KEYS = {TEAM: "rbteam", MOVES: "rbmoves", FREEZE: "rbfreeze", KEEP: "rbkeep", OPEN: "rbopen"}
MAX_CHART_CSMS = 60  # beyond this many CSMs the chart shows those whose utilisation moves most
KEEP_COLUMN = "keep"
AFTER_OK = "#3b5b92"
SAME_LEVEL = 0.0005  # utilisation: ends closer than this are one point, with one label


def _line(value: float) -> str:
    """A line or target as set: 110%, 85%, 112.5%."""
    return f"{round(100 * value, 4):g}%"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{formatting.count(n)} {one if n == 1 else (many or one + 's')}"


def message_id(field: str) -> str:
    return f"{field}-msg"


# ---- Parameters ---------------------------------------------------------------------------------
def team_options(teams: Sequence[str]) -> list[dict[str, str]]:
    return [{"label": "All teams", "value": ALL_TEAMS}] + [{"label": t, "value": t} for t in teams]


def keep_options(plan: RebalancePlan | None, picks: Sequence[str], names: Mapping[str, str]):
    """The never-move choices: the accounts the plan moves, then those already kept (a dropdown
    drops a value it has no option for)."""
    options, seen = [], set()
    if plan is not None:
        for r in plan.moves.itertuples():
            owner = r.from_name if isinstance(r.from_name, str) else "no owner"
            options.append({"label": f"{r.name} · {owner}", "value": r.account_id})
            seen.add(r.account_id)
    for account_id in picks:
        if account_id not in seen:
            options.append({"label": names.get(account_id, account_id), "value": account_id})
            seen.add(account_id)
    return options


def _field(label: str, control: Any, field: str, message: str | None = None) -> html.Div:
    """A labelled control with its message below: written by the tab's callback, or (for the
    team and the open-books switch, whose controls cannot hold a bad value) by the layout from
    the link's own value."""
    return html.Div(
        [
            dbc.Label(label, html_for=field, className="small fw-semibold mb-1"),
            control,
            html.Div(message, id=message_id(field), className="invalid-feedback d-block small"),
        ],
        className="rebalance-field",
    )


def parameters_form(
    teams: Sequence[str],
    options: RebalanceOptions,
    keep_choices: list[dict[str, str]],
    raw: Mapping[str, Any],
    errors: Mapping[str, str],
) -> html.Div:
    """The tab's inputs, each a URL parameter; a value in error stays as typed."""

    def typed(key: str, value: Any) -> Any:
        if key in errors:
            got = raw.get(key)
            return (got[0] if isinstance(got, list | tuple) and got else got) or None
        return value

    team = options.team if options.team in teams else ALL_TEAMS
    return html.Div(
        [
            _field(
                "Team",
                dcc.Dropdown(
                    id=TEAM,
                    options=team_options(teams),
                    value=team,
                    clearable=False,
                    className="filter-dropdown",
                    style={"minWidth": "230px"},
                ),
                TEAM,
                errors.get("rbteam"),
            ),
            _field(
                "Moves per CSM, at most",
                dbc.Input(  # text: every value reaches the server, which says what is wrong
                    id=MOVES,
                    type="text",
                    inputmode="numeric",
                    value=typed("rbmoves", options.max_moves),
                    debounce=True,
                    size="sm",
                    invalid="rbmoves" in errors,
                    style={"width": "110px"},
                ),
                MOVES,
            ),
            _field(
                "Keep renewals due within",
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id=FREEZE,
                            type="text",
                            inputmode="numeric",
                            value=typed("rbfreeze", options.freeze_days),
                            debounce=True,
                            invalid="rbfreeze" in errors,
                        ),
                        dbc.InputGroupText("days"),
                    ],
                    size="sm",
                    style={"width": "150px"},
                ),
                FREEZE,
            ),
            _field(
                "Never move",
                dcc.Dropdown(
                    id=KEEP,
                    options=keep_choices,
                    value=list(options.never_move),
                    multi=True,
                    placeholder="Accounts to keep with their owner",
                    className="filter-dropdown",
                    style={"minWidth": "300px"},
                ),
                KEEP,
            ),
            _field(
                "Open books",
                dbc.Switch(
                    id=OPEN,
                    label="Give them an owner",
                    value=options.open_books,
                    className="mt-1",
                ),
                OPEN,
                errors.get("rbopen"),
            ),
        ],
        className="d-flex flex-wrap gap-3 align-items-start",
    )


# ---- The answer ---------------------------------------------------------------------------------
def _because(reason: str, plan: RebalancePlan, target: float) -> str:
    days = plan.options.freeze_days
    return {
        "frozen": (
            f"what else they could give renews within {days} days or is kept"
            if days
            else "what else they could give is kept"
        ),
        "outside": "their other accounts are outside the filters",
        "cap": f"of the cap of {plan.options.max_moves} moves per CSM",
        "no_receiver": "nobody in their team with room serves those segments and regions",
        "no_room": f"their team has no room left under the {_line(target)} target",
        "no_team": "no team serves their segment and region",
    }[reason]


def _reasons(reasons: pd.Series, plan: RebalancePlan, target: float) -> str:
    counts = reasons.value_counts()
    if len(counts) == 1:
        return f" because {_because(counts.index[0], plan, target)}"
    parts = [
        f"{formatting.count(n)} because {_because(r, plan, target)}" for r, n in counts.items()
    ]
    return ": " + ", ".join(parts)


def plan_sentence(plan: RebalancePlan, params: WorkloadParams) -> str:
    """One sentence: the moves, what they achieve, and what stays over and why."""
    line = _line(plan.over_line)
    moves = plan.moves
    open_moves = int((moves["reason"] == "open_book").sum())
    open_in_scope = plan.open_accounts if plan.options.open_books else 0
    if plan.over_before == 0 and open_in_scope == 0:
        owners = " and every account has an owner" if plan.options.open_books else ""
        return f"No book is over {line}{owners}: nothing to move."
    if len(moves):
        csms = set(moves["from_csm_id"].dropna()) | set(moves["to_csm_id"])
        goals = []
        fixed = plan.over_before - len(plan.stuck)
        if plan.over_before and fixed == plan.over_before:
            goals.append(f"bring every book to {line} or below")
        elif fixed > 0:
            goals.append(
                f"bring {fixed} of {plan.over_before} over-loaded books to {line} or below"
            )
        elif plan.over_before:
            goals.append(f"bring the over-loaded books closer to {line}")
        if open_moves:
            goals.append(f"give {_plural(open_moves, 'open-book account')} a new owner")
        text = (
            f"Move {_plural(len(moves), 'account')} ({formatting.money(moves['arr'].sum())} ARR) "
            f"between {_plural(len(csms), 'CSM')} to {' and '.join(goals)}."
        )
    else:
        text = "No move can help."
    if len(plan.stuck):
        n = len(plan.stuck)
        verb = "stays" if n == 1 else "stay"
        text += (
            f" {_plural(n, 'book')} {verb} over {line}"
            f"{_reasons(plan.stuck['reason'], plan, params.target_utilisation)}."
        )
    if len(plan.unplaced):
        n = len(plan.unplaced)
        text += (
            f" {_plural(n, 'open-book account')} {'keeps' if n == 1 else 'keep'} no owner"
            f"{_reasons(plan.unplaced['reason'], plan, params.target_utilisation)}."
        )
    return text


def tiles(plan: RebalancePlan) -> dbc.Row:
    """Accounts to move, ARR moved, CSMs involved, books over the line before and after."""
    moves = plan.moves
    csms = set(moves["from_csm_id"].dropna()) | set(moves["to_csm_id"])
    after = len(plan.stuck)
    return dbc.Row(
        [
            _tile("Accounts to move", formatting.count(len(moves)), "cr-tile-moves"),
            _tile(
                "ARR moved",
                formatting.money(moves["arr"].sum()),
                "cr-tile-arr",
                formatting.money_exact(moves["arr"].sum()),
            ),
            _tile("CSMs involved", formatting.count(len(csms)), "cr-tile-csms"),
            _tile(
                f"Books over {_line(plan.over_line)}",
                f"{formatting.count(plan.over_before)} → {formatting.count(after)}",
                "cr-tile-over",
            ),
        ],
        className="g-3 mb-3",
    )


def _tile(label: str, value: str, tile_id: str, title: str | None = None) -> dbc.Col:
    extra = {"title": title} if title else {}
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(label, className="kpi-label"),
                    html.Div(value, className="kpi-value", id=tile_id, **extra),
                ]
            ),
            className="kpi-card h-100",
        ),
        xs=6,
        lg=3,
    )


# ---- Before and after ---------------------------------------------------------------------------
def affected(plan: RebalancePlan) -> pd.DataFrame:
    """The CSMs whose book changes or stays over, largest change first (donors, then receivers),
    at most MAX_CHART_CSMS."""
    # A departed CSM has no capacity, so no utilisation: their accounts are in the table.
    csms = plan.csms[plan.csms["affected"] & (plan.csms["state"] == "active")].copy()
    if csms.empty:
        return csms
    csms["change"] = (csms["load_after"] - csms["load_before"]).abs()
    csms = csms.sort_values(["change", "name"], ascending=[False, True]).head(MAX_CHART_CSMS)
    csms["order"] = csms["donor"].map({True: 0, False: 1})
    return csms.sort_values(["order", "util_before", "name"], ascending=[True, False, True])


def before_after_figure(plan: RebalancePlan, params: WorkloadParams) -> Figure:
    """Utilisation before (hollow) and after (filled) per CSM the plan touches, joined by a
    line, each end labelled, with the target and over-loaded lines."""
    csms = affected(plan)
    title = _chart_title(plan)
    if csms.empty:
        return empty_figure(title, "No CSM changes: nothing to move")
    departed = csms["state"] != "active"
    before = csms["util_before"].where(~departed, None)
    after = csms["util_after"].where(~departed, None)
    ids = list(csms["csm_id"])
    names = [f"{n} (left)" if d else n for n, d in zip(csms["name"], departed, strict=True)]
    line_x, line_y = [], []
    for csm_id, b, a in zip(ids, before, after, strict=True):
        if pd.notna(b) and pd.notna(a):
            line_x += [float(b), float(a), None]
            line_y += [csm_id, csm_id, None]
    hover = [
        [
            r.name,
            r.team,
            f"{r.load_before:,.1f}",
            f"{r.load_after:,.1f}",
            f"{r.capacity:g}",
            formatting.count(r.moves_out),
            formatting.count(r.moves_in),
        ]
        for r in csms.itertuples()
    ]
    template = (
        "<b>%{customdata[0]}</b> · %{customdata[1]}<br>"
        "%{customdata[2]} → %{customdata[3]} of %{customdata[4]} points<br>"
        "Gives %{customdata[5]} · takes %{customdata[6]}<extra></extra>"
    )
    still_over = csms["over_after"].to_numpy()
    after_colors = [FLAG_COLORS["over"] if o else AFTER_OK for o in still_over]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": line_x,
            "y": line_y,
            "line": {"color": "#c3cbd6", "width": 3},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "Before",
            "x": [float(v) if pd.notna(v) else None for v in before],
            "y": ids,
            "marker": {"size": 11, "color": "white", "line": {"color": "#5c6f82", "width": 2}},
            "text": [
                formatting.percent(b) if pd.notna(b) and not _same(b, a) else ""
                for b, a in zip(before, after, strict=True)
            ],
            "textposition": [_side(b, a, first=True) for b, a in zip(before, after, strict=True)],
            "textfont": {"size": 11, "color": "#5c6f82"},
            "customdata": hover,
            "hovertemplate": "Before: %{x:.1%}<br>" + template,
        },
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "After the moves",
            "x": [float(v) if pd.notna(v) else None for v in after],
            "y": ids,
            "marker": {"size": 12, "color": after_colors},
            "text": [formatting.percent(v) if pd.notna(v) else "" for v in after],
            "textposition": [_side(b, a, first=False) for b, a in zip(before, after, strict=True)],
            "textfont": {"size": 11, "color": "#27313d"},
            "customdata": hover,
            "hovertemplate": "After: %{x:.1%}<br>" + template,
        },
    ]
    values = pd.concat([before.dropna(), after.dropna()])
    top = max(float(values.max()) if len(values) else 0.0, plan.over_line) + 0.12
    low = max(min(float(values.min()) if len(values) else 0.0, params.target_utilisation) - 0.12, 0)
    shapes, notes = [], []
    for value, text, dash in (
        (plan.over_line, f"Over-loaded {_line(plan.over_line)}", "dot"),
        (params.target_utilisation, f"Target {_line(params.target_utilisation)}", "dash"),
    ):
        shapes.append(
            {"type": "line", "xref": "x", "yref": "paper", "x0": value, "x1": value, "y0": 0}
            | {"y1": 1, "line": {"dash": dash, "color": "#3d4a58", "width": 1.4}}
        )
        notes.append(
            {"xref": "x", "yref": "paper", "x": value, "y": 1, "yanchor": "bottom"}
            | {"text": text, "showarrow": False, "font": {"size": 11, "color": "#3d4a58"}}
        )
    return figure(
        traces,
        title,
        height=max(240, 110 + 26 * len(csms)),
        xaxis={"tickformat": ".0%", "range": [low, top]},
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(reversed(ids)),
            "tickvals": ids,
            "ticktext": names,
        },
        shapes=shapes,
        annotations=notes,
        showlegend=True,
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
        margin={"l": 8, "r": 16, "t": 84, "b": 56},
    )


def _same(before: Any, after: Any) -> bool:
    """A book the plan leaves as it was: one label (the ends sit on each other)."""
    return pd.notna(after) and abs(float(before) - float(after)) < SAME_LEVEL


def _side(before: Any, after: Any, first: bool) -> str:
    """Labels outside the dumbbell: the lower end's on the left, the higher end's on the right."""
    if pd.isna(before) or pd.isna(after):
        return "middle right"
    lower_is_this = (before <= after) if first else (after < before)
    return "middle left" if lower_is_this else "middle right"


def _chart_title(plan: RebalancePlan) -> str:
    line = _line(plan.over_line)
    csms = plan.csms
    shown = int((csms["affected"] & (csms["state"] == "active")).sum()) if len(csms) else 0
    more = f" (the {MAX_CHART_CSMS} that change most of {shown})" if shown > MAX_CHART_CSMS else ""
    if plan.over_before == 0:
        return f"Utilisation before and after{more}"
    fixed = plan.over_before - len(plan.stuck)
    return f"{fixed} of {plan.over_before} over-loaded books end at or under {line}{more}"


# ---- The moves ----------------------------------------------------------------------------------
def moves_columns(show_team: bool, show_reason: bool) -> list[dict[str, Any]]:
    """The moves table's columns: the account opens Account 360; "Keep" adds it to the
    never-move list. Team with every team in view; Why when open books move too. Long team and
    region names wrap, so every column fits at 1280 px."""
    wrap = {"wrapText": True, "autoHeight": True, "cellStyle": {"lineHeight": "1.35"}}
    columns = [
        {
            "field": "name",
            "headerName": "Account",
            "cellClass": "link-cell",
            "minWidth": 125,
            "flex": 2,
            "tooltipField": "name",
        },
        {
            "field": "from_name",
            "headerName": "From",
            "minWidth": 122,
            "flex": 1,
            "tooltipField": "from_name",
        },
        {
            "field": "to_name",
            "headerName": "To",
            "minWidth": 122,
            "flex": 1,
            "tooltipField": "to_name",
        },
        {"field": "market", "headerName": "Segment · region", "minWidth": 135, **wrap},
        money_column("arr", "ARR", minWidth=78),
        {
            "field": "points",
            "headerName": "Points",
            "type": "rightAligned",
            "valueFormatter": {"function": "d3.format('.2f')(params.value)"},
            "minWidth": 58,
        },
        {
            "field": "next_renewal",
            "headerName": "Next renewal",
            "valueFormatter": DATE,
            "minWidth": 126,
        },
        {
            "field": "reason",
            "headerName": "Why",
            "valueFormatter": labels.label_formatter("rebalance_reason"),
            "minWidth": 96,
        },
        {
            "field": KEEP_COLUMN,
            "headerName": "",
            "cellClass": "link-cell",
            "sortable": False,
            "minWidth": 56,
            "maxWidth": 76,
        },
    ]
    if show_team:
        columns.insert(3, {"field": "team", "headerName": "Team", "minWidth": 112, **wrap})
    if not show_reason:
        columns = [c for c in columns if c.get("field") != "reason"]
    return [{**c, "wrapHeaderText": True, "autoHeaderHeight": True} for c in columns]


def moves_grid_style(plan: RebalancePlan) -> dict[str, str]:
    """The moves table as tall as its rows, up to 12 of them (then it scrolls)."""
    return {"height": f"{60 + 52 * min(max(len(plan.moves), 1), 12)}px", "width": "100%"}


def moves_records(plan: RebalancePlan) -> list[dict[str, Any]]:
    moves = plan.moves.assign(
        **{KEEP_COLUMN: "Keep", "market": plan.moves["segment"] + " · " + plan.moves["region"]}
    )
    # A departed owner's name as it is (Why says "Open book"); none: "No owner".
    moves["from_name"] = [
        "No owner" if s == "missing" else n
        for n, s in zip(moves["from_name"], moves["from_state"], strict=True)
    ]
    moves["next_renewal"] = pd.to_datetime(moves["next_renewal"])
    return to_records(moves)


# ---- Solver and baseline ------------------------------------------------------------------------
def comparison(plan: RebalancePlan) -> html.Div:
    """The plan against the greedy baseline, and how the solver ran per team."""
    if plan.teams.empty:
        return html.Div("Nothing to solve: no book is over the line.", className="small")
    solver, greedy = plan.solver, plan.greedy
    rows = [
        ("Accounts moved", formatting.count(solver.moves), formatting.count(greedy.moves)),
        ("ARR moved", formatting.money(solver.moved_arr), formatting.money(greedy.moved_arr)),
        (
            "Objective",
            formatting.money(solver.objective),
            formatting.money(greedy.objective),
        ),
        ("Overload left (points)", f"{solver.uncovered:,.1f}", f"{greedy.uncovered:,.1f}"),
        (
            "Books still over",
            formatting.count(solver.books_over),
            formatting.count(greedy.books_over),
        ),
        (
            "Time",
            f"{plan.teams['seconds'].sum():.2f} s",
            f"{plan.teams['greedy_seconds'].sum():.2f} s",
        ),
    ]
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(""), html.Th("This plan"), html.Th("Greedy")])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(a),
                            html.Td(b, id=f"cr-cmp-solver-{i}"),
                            html.Td(c, id=f"cr-cmp-greedy-{i}"),
                        ]
                    )
                    for i, (a, b, c) in enumerate(rows)
                ]
            ),
        ],
        size="sm",
        className="mb-2 rebalance-compare",
    )
    return html.Div(
        [
            table,
            html.Div(
                "Objective = ARR moved off over-loaded books + ARR of open-book accounts left "
                f"without an owner + {formatting.money(MOVE_WEIGHT)} a move. The plan leaves "
                "the least overload it can first, then has the lowest objective.",
                className="small text-muted mb-2",
            ),
            html.Ul(
                [html.Li(_team_line(r)) for r in plan.teams.itertuples()], className="small mb-0"
            ),
        ],
        id="cr-compare",
    )


def _team_line(r: Any) -> str:
    if r.variables == 0:
        how = "nothing can move"
    elif r.status == "optimal":
        how = f"optimal in {r.seconds:.2f} s"
    elif r.status == "time_limit" and r.gap is not None:
        how = (
            f"stopped at its {r.seconds:.1f} s limit within {100 * r.gap:.2f}% of the best possible"
        )
    elif r.status == "time_limit":
        how = f"stopped at its {r.seconds:.1f} s limit"
    else:
        how = "no plan found in time"
    if r.chosen == "greedy" and r.variables:
        how += "; the greedy plan did better and is shown"
    least = (
        f"; no plan can leave less than {r.least_uncovered:,.1f} points of overload"
        if r.least_uncovered is not None and r.least_uncovered > 1e-6
        else ""
    )
    return f"{r.team}: {how}{least}."


def stuck_list(plan: RebalancePlan) -> html.Div | None:
    """The books that stay over and the open-book accounts left without an owner, with why."""
    if plan.stuck.empty and plan.unplaced.empty:
        return None
    rows = [
        html.Tr(
            [
                html.Td([html.Div(r.name), html.Div(r.team, className="text-muted")]),
                html.Td(
                    f"{formatting.percent(r.util_before)} → {formatting.percent(r.util_after)}",
                    className="text-nowrap",
                ),
                html.Td(labels.label("rebalance_stuck", r.reason)),
            ]
        )
        for r in plan.stuck.itertuples()
    ] + [
        html.Tr(
            [
                html.Td(
                    [
                        html.Div(r.name),
                        html.Div(
                            f"Open book of {r.from_name}"
                            if isinstance(r.from_name, str)
                            else "No owner",
                            className="text-muted",
                        ),
                    ]
                ),
                html.Td(formatting.money(r.arr), className="text-nowrap"),
                html.Td(labels.label("rebalance_stuck", r.reason)),
            ]
        )
        for r in plan.unplaced.itertuples()
    ]
    return html.Div(
        dbc.Table(
            [
                html.Thead(html.Tr([html.Th("Book"), html.Th("Before → after"), html.Th("Why")])),
                html.Tbody(rows),
            ],
            size="sm",
            className="mb-0 small",
        ),
        id="cr-stuck-list",
        style={"maxHeight": "340px", "overflowY": "auto"},
    )


# ---- The rules ----------------------------------------------------------------------------------
def rules(plan_options: RebalanceOptions, params: WorkloadParams) -> html.Ul:
    """The rules in force, with this view's numbers."""
    line, target = (
        _line(params.overloaded_above),
        _line(min(params.target_utilisation, params.overloaded_above)),
    )
    freeze = (
        f"Accounts with an open renewal (overdue ones too) in the next {plan_options.freeze_days} "
        "days, and the accounts you pick, never move."
        if plan_options.freeze_days
        else "The accounts you pick never move (no renewal freeze)."
    )
    return html.Ul(
        [
            html.Li(f"A book over {line} gives accounts until it is at or under {line}."),
            html.Li(
                f"A CSM of the same team takes them, up to {target}: a move never makes a new "
                "problem. They must already serve the account's segment in the account's region "
                "(a new CSM with no accounts: what their region covers)."
            ),
            html.Li(f"No CSM gives or takes more than {plan_options.max_moves} accounts."),
            html.Li(freeze),
            html.Li(
                "Open books (an owner who left, or none) are given an owner in the same team."
                if plan_options.open_books
                else "Open books are left as they are (switched off)."
            ),
            html.Li(
                f"Least ARR moved, and each move counts as {formatting.money(MOVE_WEIGHT)}: fewer "
                "moves win a tie; when room is short, the largest open-book accounts get an owner "
                "first. When no plan clears every book, the least overload left comes first."
            ),
        ],
        className="small mb-0 ps-3",
        id="cr-rules",
    )


def plan_outputs(
    view: RebalanceView,
    errors: Mapping[str, str],
    params: WorkloadParams,
    export_href: str,
    keep_choices: Any,
) -> tuple:
    """The whole tab for a solved plan, in the order the tab's callback writes it: sentence,
    tiles, chart, the moves grid (rows, columns, style), the comparison, what stays over (and
    whether its panel shows), the rules, the CSV link, the never-move choices, the valid
    options for the URL, then each field's message and invalid mark. `errors`: the fields'
    messages from parsing; `keep_choices`: the never-move picker's options as the browser
    sent them (their labels are kept for the accounts no longer in the plan)."""
    plan, options = view.plan, view.options
    errors = {**errors, "rbteam": view.team_error} if view.team_error else dict(errors)
    choices = keep_choices if isinstance(keep_choices, list) else []
    names = {
        o["value"]: o["label"]
        for o in choices
        if isinstance(o, dict) and isinstance(o.get("value"), str) and "label" in o
    }
    url = {key: options.to_params().get(key) for key in FIELD_KEYS.values() if key not in errors}
    return (
        plan_sentence(plan, params),
        tiles(plan),
        before_after_figure(plan, params),
        moves_records(plan),
        moves_columns(
            show_team=options.team is None,
            show_reason=bool(plan.moves["reason"].ne("overload").any()),
        ),
        moves_grid_style(plan),
        comparison(plan),
        stuck_list(plan),
        None if len(plan.stuck) or len(plan.unplaced) else {"display": "none"},
        rules(options, params),
        export_href,
        keep_options(plan, options.never_move, names),
        url,
        errors.get("rbmoves"),
        errors.get("rbfreeze"),
        errors.get("rbkeep"),
        "rbmoves" in errors,
        "rbfreeze" in errors,
    )
