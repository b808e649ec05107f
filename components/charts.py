"""Pure figure builders (DataFrame in, go.Figure out) in the house template. Titles state the takeaway."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components import formatting
from components.theme import BAND_COLORS, BAND_LABELS, NEUTRAL
from services.health_model import COMPONENT_LABELS, COMPONENTS

BAND_ORDER = ("red", "yellow", "green")


def _measure_format(measure: str):
    return formatting.money if measure == "arr" else formatting.count


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=260,
                      annotations=[dict(text="No data for these filters", showarrow=False,
                                        font=dict(size=14, color="#6c757d"))])
    return fig


def band_mix_figure(df: pd.DataFrame, measure: str = "arr", group_label: str = "Segment") -> go.Figure:
    """Stacked horizontal bars of health bands per group; each bar carries [group, band] to drill."""
    if df.empty:
        return _empty("Health band mix")
    fmt = _measure_format(measure)
    totals = df.groupby("grp")[measure].sum()
    red = df[df.band == "red"].groupby("grp")[measure].sum().reindex(totals.index, fill_value=0)
    share = (red / totals.where(totals > 0)).fillna(0)
    worst = share.idxmax()
    what = "ARR" if measure == "arr" else "accounts"
    title = (f"{worst} has the largest red share: {formatting.percent(share[worst])} of its {what}"
             if share[worst] > 0 else f"No {what} in red")
    groups = list(totals.sort_values().index)
    fig = go.Figure()
    for band in BAND_ORDER:
        part = df[df.band == band].set_index("grp").reindex(groups)
        values = part[measure].fillna(0)
        fig.add_bar(
            y=groups, x=values, name=BAND_LABELS[band], orientation="h",
            marker_color=BAND_COLORS[band], customdata=[[g, band] for g in groups],
            text=[fmt(v) if v else "" for v in values], textposition="inside", textangle=0,
            insidetextanchor="middle",
            hovertemplate=f"%{{y}} · {band}: %{{text}}<extra></extra>")
    fig.update_layout(barmode="stack", title=title, height=max(330, 90 + 70 * len(groups)),
                      uniformtext=dict(minsize=10, mode="hide"),
                      xaxis=dict(tickprefix="$" if measure == "arr" else "", tickformat="~s"),
                      yaxis_title=None, legend_traceorder="reversed", clickmode="event")
    return fig


def band_history_figure(df: pd.DataFrame, measure: str = "arr") -> go.Figure:
    """Weekly band mix (share of the measure) as stacked bars; each bar carries [date, band]."""
    if df.empty:
        return _empty("Weekly health band mix")
    pivot = df.pivot_table(index="snapshot_date", columns="band", values=measure,
                           aggfunc="sum", fill_value=0)
    share = pivot.div(pivot.sum(axis=1), axis=0)
    dates = [pd.Timestamp(d) for d in pivot.index]
    red_now = share["red"].iloc[-1] if "red" in share else 0.0
    red_then = share["red"].iloc[0] if "red" in share else 0.0
    what = "ARR" if measure == "arr" else "accounts"
    title = (f"Red share of {what}: {formatting.percent(red_now)} now vs "
             f"{formatting.percent(red_then)} on {dates[0]:%d %b %Y}")
    fig = go.Figure()
    for band in BAND_ORDER:
        values = share[band] if band in share else pd.Series(0.0, index=share.index)
        raw = pivot[band] if band in pivot else pd.Series(0.0, index=pivot.index)
        fig.add_bar(
            x=dates, y=values, name=BAND_LABELS[band], marker_color=BAND_COLORS[band],
            customdata=[[d.strftime("%Y-%m-%d"), band, _measure_format(measure)(v)]
                        for d, v in zip(dates, raw, strict=True)],
            hovertemplate="Week of %{x|%d %b %Y} · " + band + ": %{y:.1%} (%{customdata[2]})<extra></extra>")
    fig.update_layout(barmode="stack", bargap=0.15, title=title, height=330,
                      yaxis=dict(tickformat=".0%", range=[0, 1]), xaxis=dict(tickformat="%d %b"),
                      clickmode="event")
    return fig


def validation_figure(by_band: pd.DataFrame, base_rate: float | None, lift: float | None) -> go.Figure:
    """Churn-or-contraction rate per band 90 days before renewal, against the base rate."""
    if by_band["renewals"].sum() == 0:
        return _empty("Health model validation")
    order = ["green", "yellow", "red"]
    data = by_band.set_index("band").reindex(order)
    title = (f"Red accounts lost ARR {formatting.ratio(lift)} as often as average"
             if lift else "Loss rate by health band 90 days before renewal")
    fig = go.Figure(go.Bar(
        x=[BAND_LABELS[b] for b in order], y=data["loss_rate"].fillna(0),
        marker_color=[BAND_COLORS[b] for b in order],
        customdata=[[b, int(n)] for b, n in zip(order, data["renewals"], strict=True)],
        text=[f"{formatting.percent(r)} of {int(n):,}" for r, n in
              zip(data["loss_rate"].fillna(0), data["renewals"], strict=True)],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{x}: %{y:.1%} churned or contracted (%{customdata[1]} renewals)<extra></extra>"))
    if base_rate is not None:
        fig.add_hline(y=base_rate, line_dash="dot", line_color="#5c6f82",
                      annotation_text=f"all renewals {formatting.percent(base_rate)}",
                      annotation_position="top left")
    top = float(data["loss_rate"].fillna(0).max())
    fig.update_layout(title=title, height=330, showlegend=False,
                      yaxis=dict(tickformat=".0%", range=[0, max(0.1, top * 1.25)]),
                      clickmode="event")
    return fig


def account_health_figure(df: pd.DataFrame) -> go.Figure:
    """One account's weekly health score over the bands."""
    if df.empty:
        return _empty("Health over 26 weeks")
    dates = pd.to_datetime(df["snapshot_date"])
    fig = go.Figure()
    for band, (lo, hi) in {"red": (0, 40), "yellow": (40, 70), "green": (70, 100)}.items():
        fig.add_hrect(y0=lo, y1=hi, fillcolor=BAND_COLORS[band], opacity=0.08, line_width=0)
    fig.add_scatter(x=dates, y=df["health_score"], mode="lines+markers", name="Health",
                    line=dict(color=NEUTRAL[0], width=2.5),
                    marker=dict(color=[BAND_COLORS[b] for b in df["band"]], size=7),
                    hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra></extra>")
    first, last = df["health_score"].iloc[0], df["health_score"].iloc[-1]
    fig.update_layout(title=f"Health {formatting.score(last)} now, {last - first:+.1f} over "
                            f"{len(df)} weeks", height=300, showlegend=False,
                      yaxis=dict(range=[0, 100]))
    return fig


def components_figure(row: pd.Series) -> go.Figure:
    """The current component scores of one account (missing inputs shown as such)."""
    labels = [COMPONENT_LABELS[c] for c in COMPONENTS]
    values = [row.get(f"{c}_score") for c in COMPONENTS]
    shown = [50.0 if pd.isna(v) else float(v) for v in values]
    colors = ["#9aa5b1" if pd.isna(v) else NEUTRAL[0] for v in values]
    text = ["missing (scored 50)" if pd.isna(v) else f"{v:.0f}" for v in values]
    weakest = min((v, lbl) for v, lbl in zip(shown, labels, strict=True))[1]
    fig = go.Figure(go.Bar(x=shown, y=labels, orientation="h", marker_color=colors, text=text,
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_layout(title=f"Weakest component: {weakest}", height=260,
                      xaxis=dict(range=[0, 115], showgrid=True, gridcolor="#eef1f5"),
                      yaxis=dict(autorange="reversed"))
    return fig


def usage_figure(df: pd.DataFrame, seats: float | None) -> go.Figure:
    """Daily active users over the last 365 days against seats under contract."""
    if df.empty:
        return _empty("Usage (365 days)")
    days = pd.to_datetime(df["day"])
    weekly = df.assign(day=days).set_index("day")["active_users"].rolling("7D").mean()
    fig = go.Figure()
    fig.add_scatter(x=days, y=df["active_users"], mode="lines", name="Daily active users",
                    line=dict(color="#b7c4d6", width=1))
    fig.add_scatter(x=weekly.index, y=weekly.values, mode="lines", name="7-day average",
                    line=dict(color=NEUTRAL[0], width=2.5))
    if seats:
        fig.add_hline(y=seats, line_dash="dash", line_color="#5c6f82",
                      annotation_text=f"{seats:,.0f} seats", annotation_position="top left")
    util = weekly.iloc[-1] / seats if seats else None
    title = (f"Using {formatting.percent(util)} of seats (7-day average)" if util is not None
             else "Active users (no seats under contract)")
    fig.update_layout(title=title, height=300, yaxis=dict(rangemode="tozero"))
    return fig
