"""Retention trend tab (Renewals): the trailing-12-month GRR/NRR lines by segment and the ARR
bridge waterfall, with their controls and definitions. Pure builders: data in, components out."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting
from components.charts import Figure, empty_figure, figure
from components.retention import GAIN_COLOR, LOSS_COLOR, TOTAL_COLOR, money_axis
from components.shell import panel_col
from services.arr_bridge import Period, bridge_frame
from services.metrics import metric
from services.retention_trend import TOTAL

GRAPH_CONFIG = {"displayModeBar": False}
RATIO_OPTIONS = [{"label": "GRR", "value": "grr"}, {"label": "NRR", "value": "nrr"}]
RATIOS = tuple(o["value"] for o in RATIO_OPTIONS)
# Lines: the total dark and thick; segments in hues that are not health-band colours.
TOTAL_LINE = {"color": "#1b2430", "width": 3}
SEGMENT_LINES = [
    {"color": "#3b7dd8", "width": 2},
    {"color": "#8e6bbf", "width": 2, "dash": "dash"},
    {"color": "#6b7a8f", "width": 2, "dash": "dot"},
    {"color": "#2f4f7f", "width": 2, "dash": "dashdot"},
    {"color": "#b08bd6", "width": 2, "dash": "longdash"},
]
LABEL_GAP_PX = 15  # the least vertical room between two end-of-line labels
PLOT_HEIGHT = 400

# Bridge steps: label (with the day for start and end), registry metric, how it moves ARR.
STEP_METRICS = {
    "start": "bridge_start_arr",
    "new": "new_arr",
    "expansion": "expansion_arr",
    "contraction": "contraction_arr",
    "churn": "churned_arr",
    "end": "bridge_end_arr",
}
STEP_NAMES = {
    "start": "Start ARR",
    "new": "New",
    "expansion": "Expansion",
    "contraction": "Contraction",
    "churn": "Churn",
    "end": "End ARR",
}


# ---------------------------------------------------------------------------------------------
# Definitions (from the registry)


def _definition(name: str, title: str | None = None) -> html.P:
    m = metric(name)
    return html.P(
        [html.B(f"{title or m.label}: "), m.definition, " ", html.Code(m.formula)],
        className="mb-1 small",
    )


def trend_help() -> list[Any]:
    return [
        _definition("grr"),
        _definition("nrr"),
        html.P(
            "Each point is the 12 months to that day: the last day of each month, and the "
            "as-of date last (the same number as the Portfolio card). A segment's line counts "
            "its accounts by today's segment. Hover a month for every line's value.",
            className="mb-1 small",
        ),
        dcc.Link("All definitions", href="/definitions#definition-grr", className="small"),
    ]


def bridge_help() -> list[Any]:
    return [
        html.P(
            "From ARR on the day before the period starts to ARR on its last day. Every account "
            "with ARR on either day is in exactly one step, so the steps add up to the end. "
            "Expansion, contraction and churn are the movements of the customers paying at the "
            "start (as for GRR and NRR). Click a step to list its accounts.",
            className="mb-1 small",
        ),
        *(_definition(name, STEP_NAMES[step]) for step, name in STEP_METRICS.items()),
        dcc.Link("All definitions", href="/definitions#definition-new_arr", className="small"),
    ]


# ---------------------------------------------------------------------------------------------
# Layout


def trend_layout(
    ids: dict[str, str], ratio: str, period: str, period_options: list[dict[str, Any]]
) -> html.Div:
    """The tab: the GRR/NRR trend (with its toggle) beside the ARR bridge (with its period)."""
    ratio_toggle = dbc.RadioItems(
        id=ids["ratio"],
        options=RATIO_OPTIONS,
        value=ratio,
        inline=True,
        className="small measure-toggle",
    )
    period_picker = dcc.Dropdown(
        id=ids["period"],
        options=period_options,
        value=period,
        clearable=False,
        searchable=False,
        style={"width": "190px", "fontSize": "0.8rem"},
    )
    bridge_body = [
        html.Div(id=ids["bridge_note"], className="small text-muted"),
        dcc.Graph(id=ids["bridge"], config=GRAPH_CONFIG),
        html.Div(id=ids["bridge_links"], className="small mt-1"),
    ]
    return dbc.Row(
        [
            panel_col(
                7,
                "Retention, trailing 12 months, by month",
                dcc.Graph(id=ids["trend"], config=GRAPH_CONFIG),
                panel_id=ids["trend_panel"],
                help_text=trend_help(),
                tools=ratio_toggle,
            ),
            panel_col(
                5,
                "ARR bridge",
                bridge_body,
                panel_id=ids["bridge_panel"],
                help_text=bridge_help(),
                tools=period_picker,
            ),
        ]
    )


# ---------------------------------------------------------------------------------------------
# The trend


def _spread(values: list[float], gap: float) -> list[float]:
    """Positions for labels at `values`, moved apart by at least `gap` (order kept)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed: dict[int, float] = {}
    last = None
    for i in order:
        y = values[i] if last is None else max(values[i], last + gap)
        placed[i] = last = y
    # Centre the moved block on the values so labels do not all drift upwards.
    shift = (sum(placed.values()) - sum(values)) / len(values) if values else 0
    return [placed[i] - shift for i in range(len(values))]


def trend_figure(df: pd.DataFrame, ratio: str) -> Figure:
    """One line per segment and the total (the first), GRR or NRR at each point; the latest
    value of each line labelled at its end, every line's value and date on hover."""
    name = ratio.upper()
    if df.empty or df[ratio].isna().all():
        return empty_figure("", "No customers under these filters a year before these dates")
    dates = sorted(df["point_date"].unique())
    iso = [d.isoformat() for d in dates]
    segments = list(dict.fromkeys(df["segment"]))
    if len(segments) == 2:  # one segment under the filters: its line is the total
        segments = [TOTAL]
    data, ends = [], []
    for i, segment in enumerate(segments):
        line = df[df["segment"] == segment].set_index("point_date").reindex(dates)
        values = [None if pd.isna(v) else float(v) for v in line[ratio]]
        style = TOTAL_LINE if segment == TOTAL else SEGMENT_LINES[(i - 1) % len(SEGMENT_LINES)]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": iso,
                "y": values,
                "name": segment,
                "line": style,
                "marker": {"size": 6 if segment == TOTAL else 4, "color": style["color"]},
                "customdata": [formatting.money(v) for v in line["start_arr"]],
                "hovertemplate": f"{segment}: %{{y:.1%}} "
                "(of %{customdata} a year earlier)<extra></extra>",
                "connectgaps": False,
            }
        )
        last = next(
            ((d, v) for d, v in zip(iso[::-1], values[::-1], strict=True) if v is not None), None
        )
        if last:
            ends.append((last[0], last[1], style["color"], segment == TOTAL))
    shown = [v for t in data for v in t["y"] if v is not None]
    low, high = min(shown + [1.0]), max(shown + [1.0])
    pad = max(0.02, (high - low) * 0.08)
    y_range = [low - pad, high + pad]
    gap = (y_range[1] - y_range[0]) * LABEL_GAP_PX / (PLOT_HEIGHT - 110)
    label_y = _spread([v for _, v, _, _ in ends], gap)
    notes = [
        {
            "x": x,
            "y": y,
            "xref": "x",
            "yref": "y",
            "xanchor": "left",
            "xshift": 8,
            "text": f"<b>{formatting.percent(v)}</b>" if total else formatting.percent(v),
            "showarrow": False,
            "font": {"size": 12, "color": color},
        }
        for (x, v, color, total), y in zip(ends, label_y, strict=True)
    ]
    total_line = data[0]["y"]
    latest = total_line[-1]
    earlier_index = max(0, len(dates) - 13)  # the point about a year before the latest
    earlier = total_line[earlier_index]
    title = f"{name} {formatting.percent(latest)} over the 12 months to {dates[-1]:%d %b %Y}"
    if latest is not None and earlier is not None:
        diff = 100 * (latest - earlier)
        way = "up" if diff > 0.05 else "down" if diff < -0.05 else "level"
        since = f"{dates[earlier_index]:%d %b %Y}"
        title += (
            f", {way} {abs(diff):.1f} pts since {since}"
            if way != "level"
            else f", level with {since}"
        )
    elif latest is None:
        title = f"{name}: no customers a year before {dates[-1]:%d %b %Y}"
    hundred = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": 1,
        "y1": 1,
        "line": {"dash": "dot", "color": "#9aa5b1", "width": 1},
        "layer": "below",
    }
    return figure(
        data,
        title,
        height=PLOT_HEIGHT,
        hovermode="x unified",
        annotations=notes,
        shapes=[hundred],
        margin={"l": 8, "r": 64, "t": 48, "b": 8},
        yaxis={"tickformat": ".0%", "range": y_range, "hoverformat": ".1%"},
        xaxis={
            "type": "date",
            "tickformat": "%b %Y",
            "dtick": "M3",
            "hoverformat": "%d %b %Y",
            "range": [iso[0], iso[-1]],
        },
        legend={"orientation": "h", "y": -0.12, "x": 0},
    )


# ---------------------------------------------------------------------------------------------
# The bridge


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + formatting.money(value)


def step_labels(period: Period) -> dict[str, str]:
    """The x labels of the steps; start and end name their day."""
    return {
        **STEP_NAMES,
        "start": f"Start ARR<br>{period.start:%d %b %Y}",
        "end": f"End ARR<br>{period.end:%d %b %Y}",
    }


def bridge_figure(bridge: dict[str, float], period: Period) -> Figure:
    """Start ARR → + new → + expansion → − contraction → − churn → end ARR. Each step carries
    [movement, exact amount, accounts, extra] in customdata; a click on a step lists its
    accounts (movement = the retention list's filter)."""
    steps = bridge_frame(bridge)
    if not bridge["start"] and not bridge["end"]:
        return empty_figure("", "No ARR under these filters at either end of this period")
    labels = step_labels(period)
    measure = {"start": "absolute", "end": "total"}
    returning = (
        f"incl. {formatting.money(bridge['reactivated'])} from "
        f"{formatting.count(bridge['reactivated_accounts'])} returning customers"
        if bridge["reactivated_accounts"]
        else "all new logos"
        if bridge["new_accounts"]
        else ""
    )
    extra = {"new": returning}
    trace = {
        "type": "waterfall",
        "x": [labels[s] for s in steps["step"]],
        "measure": [measure.get(s, "relative") for s in steps["step"]],
        "y": [0.0 if s == "end" else v for s, v in zip(steps["step"], steps["value"], strict=True)],
        "customdata": [
            [
                mv,
                formatting.money_exact(abs(v)),
                f"{formatting.count(n)} accounts",
                extra.get(s, ""),
            ]
            for s, mv, v, n in zip(
                steps["step"], steps["movement"], steps["value"], steps["accounts"], strict=True
            )
        ],
        "text": [
            formatting.money(v) if s in measure else _signed(v)
            for s, v in zip(steps["step"], steps["value"], strict=True)
        ],
        "textposition": "outside",
        "cliponaxis": False,
        "connector": {"line": {"color": "#c9d1db", "width": 1}},
        "increasing": {"marker": {"color": GAIN_COLOR}},
        "decreasing": {"marker": {"color": LOSS_COLOR}},
        "totals": {"marker": {"color": TOTAL_COLOR}},
        "hovertemplate": "%{x}: %{customdata[1]} · %{customdata[2]}"
        "<br>%{customdata[3]}<extra></extra>",
    }
    start, end = bridge["start"], bridge["end"]
    if start:
        change = (end - start) / start
        way = "up" if change > 0 else "down" if change < 0 else "unchanged"
        title = (
            f"ARR {way} {formatting.percent(abs(change))} to {formatting.money(end)}"
            if way != "unchanged"
            else f"ARR unchanged at {formatting.money(end)}"
        )
    else:
        title = f"ARR from nothing to {formatting.money(end)}"
    title += (
        f": {formatting.money(bridge['new'])} new, {formatting.money(bridge['churned'])} churned"
    )
    y_range, axis_title = bridge_axis(bridge)
    return figure(
        [trace],
        title,
        height=PLOT_HEIGHT - 30,
        showlegend=False,
        clickmode="event",
        hovermode="x",  # the whole column hovers and clicks, however thin the step
        yaxis={**money_axis(*y_range), **({"title": axis_title} if axis_title else {})},
        xaxis={"tickfont": {"size": 11}},
    )


ZOOM_BELOW = 0.25  # steps moving ARR by less than this share of it get an axis not from $0


def bridge_axis(bridge: dict[str, float]) -> tuple[list[float], dict[str, Any] | None]:
    """The value axis of the bridge: from $0, unless the steps are small beside ARR (a quarter
    of small moves under two tall bars shows nothing); then it starts near the lowest level the
    bridge reaches, and the axis title says where."""
    levels = [bridge["start"]]
    for step in ("new", "expansion", "contraction", "churned"):
        sign = -1 if step in ("contraction", "churned") else 1
        levels.append(levels[-1] + sign * bridge[step])
    low, high = min(levels), max(levels)
    moved = bridge["new"] + bridge["expansion"] + bridge["contraction"] + bridge["churned"]
    if low <= 0 or moved >= ZOOM_BELOW * high:
        return [0, high * 1.18], None
    span = max(high - low, 0.02 * high)
    bottom = max(0.0, low - 1.2 * span)
    title = {
        "text": f"Axis starts at {formatting.money_tick(bottom)}",
        "font": {"size": 11, "color": "#5c6f82"},
    }
    return [bottom, high + 0.45 * span], title


def period_note(period: Period) -> str:
    """'Q4 2026 to date: ARR on 30 Sep 2026 → ARR on 20 Nov 2026'."""
    return f"{period.label}: ARR on {period.start:%d %b %Y} → ARR on {period.end:%d %b %Y}"


def step_links(bridge: dict[str, float], hrefs: dict[str, str]) -> list[Any]:
    """'Accounts behind each step: Start ARR (4,210) · New (312) · ...' as links."""
    counts = {
        "start": bridge["start_accounts"],
        "new": bridge["new_accounts"],
        "expansion": bridge["expanded_accounts"],
        "contraction": bridge["contracted_accounts"],
        "churn": bridge["churned_accounts"],
        "end": bridge["end_accounts"],
    }
    if not bridge["start"] and not bridge["end"]:
        return []
    links: list[Any] = [html.Span("Accounts behind each step: ", className="text-muted")]
    for i, (step, href) in enumerate(hrefs.items()):
        if i:
            links.append(html.Span(" · ", className="text-muted"))
        links.append(
            dcc.Link(
                f"{STEP_NAMES[step]} ({formatting.count(counts[step])})",
                href=href,
                id=f"rt-step-{step}",
            )
        )
    return links
