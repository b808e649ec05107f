"""Pure figure builders: DataFrame in, plotly figure (a plain dict) out. Titles state the takeaway.

Figures are built as dicts in the house template rather than through `graph_objects`, which
validates every property and costs several milliseconds per chart on each callback.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.io as pio

from components import formatting, labels
from components.theme import (
    BAND_COLORS,
    BAND_TEXT_COLORS,
    NEUTRAL,
    TEMPLATE_NAME,
    band_labels,
    band_ranges,
    register_template,
)
from services.health_model import COMPONENT_LABELS, COMPONENTS, HealthParams

BAND_ORDER = ("red", "yellow", "green")
Figure = dict[str, Any]

register_template()
_TEMPLATE = pio.templates[TEMPLATE_NAME].to_plotly_json()


def figure(data: list[dict[str, Any]], title: str, **layout: Any) -> Figure:
    """A figure dict in the house template."""
    return {"data": data, "layout": {"template": _TEMPLATE, "title": {"text": title}, **layout}}


def _hline(y: float, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    shape = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"dash": "dot", "color": "#5c6f82", "width": 1.5},
    }
    note = {
        "xref": "paper",
        "x": 0,
        "y": y,
        "yanchor": "bottom",
        "xanchor": "left",
        "text": text,
        "showarrow": False,
        "font": {"size": 12, "color": "#3d4a58"},
    }
    return shape, note


def _measure_format(measure: str):
    return formatting.money if measure == "arr" else formatting.count


def empty_figure(title: str, message: str = "No data for these filters") -> Figure:
    return figure(
        [],
        title,
        height=260,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {"text": message, "showarrow": False, "font": {"size": 14, "color": "#6c757d"}}
        ],
    )


# Red is the band the reader came for: it sits on the baseline, and a label cell beside the
# baseline (the "gutter", an invisible bar carrying the red bar's drill data) shows its value and
# takes clicks, however thin the red bar is. The gutter is this share of the value axis.
RED_GUTTER = 0.16
GUTTER_FILL = "rgba(214, 69, 69, 0.07)"


def _nice_step(top: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) giving about `ticks` ticks up to `top`."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def value_axis(top: float, measure: str) -> dict[str, Any]:
    """Explicit ticks from 0 to `top` in the house format ($500K, $1M; counts as 1,200)."""
    if top <= 0:
        return {}
    step = _nice_step(top)
    values = [i * step for i in range(int(top / step) + 1)]
    text = [formatting.money_tick(v) if measure == "arr" else formatting.count(v) for v in values]
    return {"tickmode": "array", "tickvals": values, "ticktext": text}


def _group_labels(groups: list[Any], by: str | None) -> list[str]:
    return [labels.label(by, g) if by else str(g) for g in groups]


def band_mix_figure(
    df: pd.DataFrame,
    measure: str = "arr",
    by: str | None = None,
    params: HealthParams | None = None,
) -> Figure:
    """Stacked horizontal bars of health bands per group; each bar carries [group, band] to drill.

    Red is drawn first (on the baseline) and labelled in a cell left of the baseline that is also
    a click target for the red bar. `by` names the grouping so coded groups get their labels.
    Legend names carry the bands' ranges under `params` (default: the settings in force).
    """
    names = band_labels(params)
    if df.empty:
        return empty_figure("Health band mix")
    fmt = _measure_format(measure)
    exact = formatting.money_exact if measure == "arr" else formatting.count
    totals = df.groupby("grp")[measure].sum()
    red = df[df.band == "red"].groupby("grp")[measure].sum().reindex(totals.index, fill_value=0)
    share = (red / totals.where(totals > 0)).fillna(0)
    worst = share.idxmax()
    what = "ARR" if measure == "arr" else "accounts"
    title = (
        f"{_group_labels([worst], by)[0]} has the largest red share: "
        f"{formatting.percent(share[worst])} of its {what}"
        if share[worst] > 0
        else f"No {what} in red"
    )
    groups = list(totals.sort_values().index)
    shown = _group_labels(groups, by)
    values = df.pivot_table(index="grp", columns="band", values=measure, aggfunc="sum").reindex(
        groups
    )
    data = []
    for band in BAND_ORDER:
        col = values[band].fillna(0).tolist() if band in values else [0.0] * len(groups)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": shown,
                "x": col,
                "name": names[band],
                "marker": {"color": BAND_COLORS[band]},
                "customdata": [
                    [g, band, fmt(v), exact(v)] for g, v in zip(groups, col, strict=True)
                ],
                # Red's value is shown in the gutter; the other bands inside their bars if they fit.
                "text": [fmt(v) if v and band != "red" else "" for v in col],
                "textposition": "inside",
                "textangle": 0,
                "insidetextanchor": "middle",
                "hovertemplate": f"%{{y}} · {labels.label('band', band)}: "
                "%{customdata[2]} (%{customdata[3]})<extra></extra>",
            }
        )
    top = float(totals.max())
    gutter = top * RED_GUTTER
    red_values = data[0]["x"]
    data.append(
        {
            "type": "bar",
            "orientation": "h",
            "y": shown,
            "x": [-gutter] * len(groups),
            "name": "Red value",
            "showlegend": False,
            "marker": {"color": GUTTER_FILL},
            "customdata": data[0]["customdata"],
            "hovertemplate": "%{y} · Red: %{customdata[2]} (%{customdata[3]})<extra></extra>",
        }
    )
    notes = [
        {
            "x": 0,
            "y": y,
            "xanchor": "right",
            "xshift": -5,
            "text": f"<b>{fmt(v)}</b>",
            "showarrow": False,
            "font": {"size": 12, "color": BAND_TEXT_COLORS["red"]},
        }
        for y, v in zip(shown, red_values, strict=True)
    ]
    notes.append(
        {
            "x": 0,
            "y": 1,
            "yref": "paper",
            "xanchor": "right",
            "yanchor": "bottom",
            "xshift": -5,
            "text": "Red",
            "showarrow": False,
            "font": {"size": 11, "color": BAND_TEXT_COLORS["red"]},
        }
    )
    return figure(
        data,
        title,
        barmode="relative",
        height=max(330, 90 + 70 * len(groups)),
        uniformtext={"minsize": 10, "mode": "hide"},
        clickmode="event",
        annotations=notes,
        xaxis={"range": [-gutter, top * 1.03], "zeroline": False, **value_axis(top, measure)},
        shapes=[
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": 0,
                "x1": 0,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#9aa5b1", "width": 1},
            }
        ],
        yaxis={"ticklabelstandoff": 6},  # keeps group names off the red label cells
        legend={"traceorder": "reversed"},
    )


HISTORY_GUTTER = 0.2  # share of the 0-100% axis below the baseline holding the red labels


def band_history_figure(
    df: pd.DataFrame, measure: str = "arr", params: HealthParams | None = None
) -> Figure:
    """Weekly band mix (share of the measure) as stacked bars; each bar carries [date, band].

    Red sits on the baseline; below it, each week's red share is written in a label cell that
    also takes the click for that week's red bar. Legend names follow `params`' thresholds.
    """
    names = band_labels(params)
    if df.empty:
        return empty_figure("Weekly health band mix")
    pivot = df.pivot_table(
        index="snapshot_date", columns="band", values=measure, aggfunc="sum", fill_value=0
    )
    share = pivot.div(pivot.sum(axis=1), axis=0)
    dates = [pd.Timestamp(d) for d in pivot.index]
    iso = [d.strftime("%Y-%m-%d") for d in dates]
    red_now = float(share["red"].iloc[-1]) if "red" in share else 0.0
    red_then = float(share["red"].iloc[0]) if "red" in share else 0.0
    what = "ARR" if measure == "arr" else "accounts"
    title = (
        f"Red share of {what}: {formatting.percent(red_now)} now vs "
        f"{formatting.percent(red_then)} on {dates[0]:%d %b %Y}"
    )
    fmt = _measure_format(measure)
    data = []
    for band in BAND_ORDER:
        values = share[band].tolist() if band in share else [0.0] * len(dates)
        raw = pivot[band].tolist() if band in pivot else [0.0] * len(dates)
        data.append(
            {
                "type": "bar",
                "x": iso,
                "y": values,
                "name": names[band],
                "marker": {"color": BAND_COLORS[band]},
                "customdata": [[d, band, fmt(v)] for d, v in zip(iso, raw, strict=True)],
                "hovertemplate": "Week of %{x|%d %b %Y} · "
                + labels.label("band", band)
                + ": %{y:.1%} (%{customdata[2]})<extra></extra>",
            }
        )
    red_share = data[0]["y"]
    data.append(
        {
            "type": "bar",
            "x": iso,
            "y": [-HISTORY_GUTTER] * len(iso),
            "name": "Red share",
            "showlegend": False,
            "marker": {"color": GUTTER_FILL},
            "customdata": [
                [*c, formatting.percent(v)]
                for c, v in zip(data[0]["customdata"], red_share, strict=True)
            ],
            "hovertemplate": "Week of %{x|%d %b %Y} · Red: %{customdata[3]} (%{customdata[2]})"
            "<extra></extra>",
        }
    )
    notes = [
        {
            "x": d,
            "y": 0,
            "yanchor": "top",
            "yshift": -3,
            "textangle": -90,
            "text": formatting.percent(v),
            "showarrow": False,
            "font": {"size": 10, "color": BAND_TEXT_COLORS["red"]},
        }
        for d, v in zip(iso, red_share, strict=True)
    ]
    return figure(
        data,
        title,
        barmode="relative",
        bargap=0.15,
        height=350,
        clickmode="event",
        annotations=notes,
        yaxis={
            "range": [-HISTORY_GUTTER, 1],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "tickformat": ".0%",
        },
        xaxis={"tickformat": "%d %b", "type": "date"},
        legend={"traceorder": "reversed"},  # Green, Yellow, Red: as on the band mix
    )


def account_health_figure(df: pd.DataFrame, params: HealthParams | None = None) -> Figure:
    """One account's weekly health score over the bands (their bounds from `params`)."""
    if df.empty:
        return empty_figure("Health over 26 weeks")
    dates = pd.to_datetime(df["snapshot_date"]).dt.strftime("%Y-%m-%d").tolist()
    bands = [
        {
            "type": "rect",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": lo,
            "y1": hi,
            "fillcolor": BAND_COLORS[b],
            "opacity": 0.08,
            "line": {"width": 0},
            "layer": "below",
        }
        for b, (lo, hi) in band_ranges(params).items()
    ] + [  # the band lines: the yellow and green thresholds
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": lo,
            "y1": lo,
            "line": {"color": BAND_COLORS[b], "width": 1, "dash": "dot"},
            "layer": "below",
        }
        for b, (lo, _hi) in band_ranges(params).items()
        if b != "red"
    ]
    line = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": dates,
        "y": df["health_score"].tolist(),
        "name": "Health",
        "line": {"color": NEUTRAL[0], "width": 2.5},
        "marker": {"color": [BAND_COLORS[b] for b in df["band"]], "size": 7},
        "hovertemplate": "%{x|%d %b %Y}: %{y:.1f}<extra></extra>",
    }
    first, last = float(df["health_score"].iloc[0]), float(df["health_score"].iloc[-1])
    return figure(
        [line],
        f"Health {formatting.score(last)} now, {last - first:+.1f} over {len(df)} weeks",
        height=300,
        showlegend=False,
        shapes=bands,
        yaxis={"range": [0, 100]},
        xaxis={"type": "date"},
    )


# How missing_inputs names a component (services/health_model.py).
MISSING_NAMES = {"usage": "usage", "trend": "usage trend", "sentiment": "NPS"}


def components_figure(row: pd.Series) -> Figure:
    """The current component scores of one account: a component without a feed (NULL) is left
    out of the score and shown as such; the account's own missing inputs show their neutral
    score, flagged."""
    labels = [COMPONENT_LABELS[c] for c in COMPONENTS]
    values = [row.get(f"{c}_score") for c in COMPONENTS]
    missing = str(row.get("missing_inputs") or "").split(", ")
    flagged = [MISSING_NAMES.get(c) in missing for c in COMPONENTS]
    shown = [0.0 if pd.isna(v) else float(v) for v in values]
    weakest = (
        min(
            (v, lab) for v, lab, raw in zip(shown, labels, values, strict=True) if not pd.isna(raw)
        )[1]
        if any(not pd.isna(v) for v in values)
        else "–"
    )
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": shown,
        "y": labels,
        "marker": {"color": ["#9aa5b1" if pd.isna(v) else NEUTRAL[0] for v in values]},
        "text": [
            "no feed: left out"
            if pd.isna(v)
            else f"{v:.0f} (missing, neutral)"
            if f
            else f"{v:.0f}"
            for v, f in zip(values, flagged, strict=True)
        ],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{y}: %{text}<extra></extra>",
    }
    return figure(
        [bars],
        f"Weakest component: {weakest}",
        height=260,
        xaxis={"range": [0, 115], "showgrid": True, "gridcolor": "#eef1f5"},
        yaxis={"autorange": "reversed"},
    )


def usage_figure(
    df: pd.DataFrame, seats: float | None, touchpoints: pd.DataFrame | None = None
) -> Figure:
    """Daily active users over the last 365 days against seats, with CSM touchpoints marked."""
    if df.empty:
        return empty_figure("Usage (365 days)", "No usage recorded")
    days = pd.to_datetime(df["day"])
    weekly = df.assign(day=days).set_index("day")["active_users"].rolling("7D").mean()
    iso = days.dt.strftime("%Y-%m-%d").tolist()
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": iso,
            "y": df["active_users"].tolist(),
            "name": "Daily active users",
            "line": {"color": "#b7c4d6", "width": 1},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": iso,
            "y": weekly.round(1).tolist(),
            "name": "7-day average",
            "line": {"color": NEUTRAL[0], "width": 2.5},
        },
    ]
    if touchpoints is not None and not touchpoints.empty:
        shown = touchpoints[pd.to_datetime(touchpoints["occurred_at"]) >= days.min()]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "CSM touchpoint",
                "x": pd.to_datetime(shown["occurred_at"]).dt.strftime("%Y-%m-%d").tolist(),
                "y": [0] * len(shown),
                "text": [labels.label("touchpoint_type", t) for t in shown["type"]],
                "marker": {"symbol": "triangle-up", "size": 10, "color": "#5c6f82"},
                "hovertemplate": "%{x|%d %b %Y}: %{text}<extra></extra>",
                "cliponaxis": False,
            }
        )
    shapes, notes = [], []
    if seats:
        shape, note = _hline(seats, f"{seats:,.0f} seats")
        shapes, notes = [shape], [note]
    util = float(weekly.iloc[-1]) / seats if seats else None
    title = (
        f"Using {formatting.percent(util)} of seats (7-day average)"
        if util is not None
        else "Active users (no seats under contract)"
    )
    return figure(
        data,
        title,
        height=300,
        shapes=shapes,
        annotations=notes,
        yaxis={"rangemode": "tozero"},
        xaxis={"type": "date"},
    )
