"""Health model page builders: backtest figures, the comparison table, the recall curve, the band
mix now, component diagnostics, the renewal list's grid, and Portfolio's one-line summary.

Pure functions of service results (`services.health_backtest`): figures are plain dicts in the
house template; a figure from fewer than MIN_RENEWALS renewals is greyed, "too few renewals".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting, labels
from components.charts import Figure, empty_figure, figure
from components.grids import DATE, SCORE, money_column, to_records
from components.shell import info_button
from components.theme import BAND_COLORS, BAND_TEXT_COLORS, NEUTRAL
from services.health import VALIDATION_LEAD_DAYS
from services.health_backtest import MIN_RENEWALS, Backtest, Stat
from services.health_model import COMPONENT_LABELS, COMPONENTS, HealthParams
from services.metrics import metric

BAND_ORDER = ("red", "yellow", "green")
GREY = "#c9d1db"
GREY_TEXT = "#8a96a3"
TOO_FEW = "too few renewals"


def band_range(band: str, params: HealthParams) -> str:
    """'Red (< 40)', 'Yellow (40 to < 70)', 'Green (≥ 70)' for these thresholds."""
    g, y = f"{params.green_min:g}", f"{params.yellow_min:g}"
    limits = {"red": f"< {y}", "yellow": f"{y} to < {g}", "green": f"≥ {g}"}[band]
    return f"{labels.label('band', band)} ({limits})"


def _pct(value: float | None) -> str:
    return formatting.percent(value)


def _tint(hex_color: str, alpha: float) -> str:
    """The colour at `alpha` over white (the count bars: the band's colour, lighter)."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - alpha * (255 - v)):02x}" for v in (r, g, b))


# ---- backtest by band ---------------------------------------------------------------------------
def backtest_figure(bt: Backtest, model: str) -> Figure:
    """Outcome rate per band on ARR and on counts (90% intervals, n on each bar).

    Each bar carries [band] for the drill to the renewal list; bars from fewer than
    MIN_RENEWALS renewals are grey and say so.
    """
    if bt.renewals == 0:
        return empty_figure(f"{model}: outcome by band", "No renewals closed in the window")
    by = bt.by_band.set_index("band").reindex(BAND_ORDER)
    x = [
        f"{band_range(b, bt.params)}<br>n = {int(by.loc[b, 'renewals']):,}"
        + (f" · {TOO_FEW}" if by.loc[b, "too_few"] else "")
        for b in BAND_ORDER
    ]
    data = []
    for measure, name, alpha in (
        ("arr", "ARR lost (ARR)", 1.0),
        ("count", "Renewals lost (count)", 0.45),
    ):
        rate = by[f"rate_{measure}"].astype(float)
        low, high = (
            by[f"rate_{measure}_low"].astype(float),
            by[f"rate_{measure}_high"].astype(float),
        )
        colors = [
            _tint(GREY if by.loc[b, "too_few"] else BAND_COLORS[b], alpha) for b in BAND_ORDER
        ]
        text = [_pct(rate[b]) for b in BAND_ORDER]
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": x,
                "y": rate.fillna(0).tolist(),
                "marker": {"color": colors},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": (high - rate).fillna(0).tolist(),
                    "arrayminus": (rate - low).fillna(0).tolist(),
                    "color": "#5c6f82",
                    "thickness": 1.2,
                    "width": 4,
                },
                "text": text,
                "textposition": "inside",
                "insidetextanchor": "start",
                "textangle": 0,
                "textfont": {"size": 11, "color": "white" if alpha == 1.0 else "#1b2430"},
                "customdata": [
                    [b, int(by.loc[b, "renewals"]), _pct(low[b]), _pct(high[b])] for b in BAND_ORDER
                ],
                "hovertemplate": f"%{{x}} · {name}: %{{y:.1%}} (90% interval %{{customdata[2]}}"
                " to %{customdata[3]}), n = %{customdata[1]:,}<br>Click for these renewals"
                "<extra></extra>",
            }
        )
    red = by.loc["red"]
    if red["too_few"]:
        title = f"{model}: too few red renewals to judge (n = {int(red['renewals']):,})"
    else:
        title = (
            f"{model}: red lost {_pct(red['rate_arr'])} of its renewal ARR, "
            f"{formatting.ratio(bt.lift_red_arr.value)} the base rate"
        )
    base = bt.base_rate_arr.value
    title += (
        f"<br><sup>Dotted line: all renewals, {_pct(base)} of ARR lost "
        f"({_pct(bt.base_rate_count.value)} of renewals). Whiskers: 90% intervals.</sup>"
    )
    shapes = []
    if base is not None:
        shapes = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": base,
                "y1": base,
                "line": {"dash": "dot", "color": "#5c6f82", "width": 1.2},
            }
        ]
    top = max(0.1, float(pd.concat([by["rate_arr_high"], by["rate_count_high"]]).max() or 0))
    return figure(
        data,
        title,
        barmode="group",
        height=360,
        clickmode="event",
        shapes=shapes,
        uniformtext={"minsize": 9, "mode": "hide"},
        margin={"t": 64, "b": 8, "l": 8, "r": 8},
        yaxis={"tickformat": ".0%", "range": [0, min(1.15, top * 1.3)], "title": {"text": ""}},
        legend={"y": -0.14},
    )


# ---- the comparison table -----------------------------------------------------------------------
def _cell(stat: Stat, fmt: Callable[[float | None], str]) -> html.Td:
    if stat.value is None:
        return html.Td("–", className="text-end")
    text = fmt(stat.value)
    if stat.too_few:
        return html.Td(
            [text, html.Div(f"{TOO_FEW} (n = {stat.n:,})", className="too-few-note")],
            className="text-end too-few",
            title=f"From {stat.n:,} renewals: fewer than {MIN_RENEWALS}, too few to judge.",
        )
    return html.Td(text, className="text-end", title=f"n = {stat.n:,}")


def _interval(stat: Stat) -> str:
    return f"{_pct(stat.low)} to {_pct(stat.high)}" if stat.low is not None else ""


def comparison_table(
    current: Backtest,
    proposed: Backtest | None,
    red_now: tuple[float | None, float | None],
) -> html.Table:
    """Current vs proposed side by side: each figure labelled ARR or count, n on hover, greyed
    when from fewer than MIN_RENEWALS renewals, its definition one click away."""
    rows: list[tuple[str, str, Callable[[Backtest], Stat], Callable]] = [
        ("loss_rate_arr", "Lost at renewal, all (ARR)", lambda b: b.base_rate_arr, _pct),
        ("loss_rate", "Lost at renewal, all (count)", lambda b: b.base_rate_count, _pct),
        ("health_lift", "Lift of red (ARR)", lambda b: b.lift_red_arr, formatting.ratio),
        ("health_lift", "Lift of red (count)", lambda b: b.lift_red_count, formatting.ratio),
        ("health_recall", "Recall of lost ARR: red alone", lambda b: b.recall_red, _pct),
        ("share_flagged", "… share of renewal ARR red", lambda b: b.share_red, _pct),
        (
            "health_recall_ry",
            "Recall of lost ARR: red + yellow",
            lambda b: b.recall_red_yellow,
            _pct,
        ),
        (
            "share_flagged",
            "… share of renewal ARR red or yellow",
            lambda b: b.share_red_yellow,
            _pct,
        ),
        ("health_auc", "AUC (count-based)", lambda b: b.auc_count, lambda v: f"{v:.2f}"),
        ("health_auc", "AUC (ARR-weighted)", lambda b: b.auc_arr, lambda v: f"{v:.2f}"),
    ]
    head = html.Thead(
        html.Tr(
            [
                html.Th(""),
                html.Th("Current", className="text-end"),
                html.Th("Proposed", className="text-end"),
            ]
        )
    )
    body = []
    for i, (name, text, get, fmt) in enumerate(rows):
        m = metric(name)
        help_body = [html.P(m.definition), html.P(f"Formula: {m.formula}", className="mb-0 small")]
        cur = get(current)
        if name in ("loss_rate_arr", "loss_rate"):
            help_body.append(html.P(f"Current: 90% interval {_interval(cur)}", className="small"))
        body.append(
            html.Tr(
                [
                    html.Th([text, *info_button(f"hm-info-{i}", m.label, help_body)], scope="row"),
                    _cell(cur, fmt),
                    _cell(get(proposed), fmt)
                    if proposed
                    else html.Td("same", className="text-end text-muted"),
                ]
            )
        )
    m = metric("pct_arr_red")
    body.append(
        html.Tr(
            [
                html.Th(
                    [
                        "Share of ARR red now",
                        *info_button("hm-info-red-now", m.label, m.definition),
                    ],
                    scope="row",
                ),
                html.Td(_pct(red_now[0]), className="text-end"),
                html.Td(
                    _pct(red_now[1]) if proposed else "same",
                    className="text-end" + ("" if proposed else " text-muted"),
                    id="hm-red-now-proposed",
                ),
            ]
        )
    )
    body.append(
        html.Tr(
            [
                html.Th("Renewals scored", scope="row"),
                html.Td(
                    formatting.count(current.renewals), className="text-end", id="hm-n-current"
                ),
                html.Td(
                    formatting.count(proposed.renewals) if proposed else "same",
                    className="text-end",
                ),
            ]
        )
    )
    return html.Table([head, html.Tbody(body)], className="table table-sm hm-compare mb-0")


def window_text(bt: Backtest) -> str:
    unscored = (
        f" · {bt.unscored:,} more had no health snapshot to score them on and are left out"
        if bt.unscored
        else ""
    )
    return (
        f"{bt.renewals:,} renewals closed with a renewal date from {bt.window_start:%d %b %Y} "
        f"to {bt.window_end:%d %b %Y}, each scored on its account's health "
        f"{VALIDATION_LEAD_DAYS} days before the renewal date{unscored}."
    )


# ---- the recall curve ---------------------------------------------------------------------------
def curve_figure(current: Backtest, proposed: Backtest | None) -> Figure:
    """Recall of lost ARR against the share of renewal ARR flagged as the red threshold moves
    0..100, for the current and the proposed model, each with its red threshold marked."""
    if current.renewals == 0:
        return empty_figure("Recall against ARR flagged", "No renewals closed in the window")
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [0, 1],
            "y": [0, 1],
            "name": "Chance (flag at random)",
            "line": {"color": GREY, "dash": "dot", "width": 1},
            "hoverinfo": "skip",
        }
    ]
    models = [("Current", current, NEUTRAL[0])]
    if proposed is not None:
        models.append(("Proposed", proposed, "#8e5bb5"))
    for name, bt, color in models:
        c = bt.curve
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": c["share_flagged"].tolist(),
                "y": c["recall"].tolist(),
                "customdata": c["threshold"].tolist(),
                "name": f"{name} model",
                "line": {"color": color, "width": 2.5, "shape": "hv"},
                "hovertemplate": f"{name}: red below %{{customdata}} flags %{{x:.1%}} of renewal "
                "ARR and catches %{y:.1%} of lost ARR<extra></extra>",
            }
        )
        at = c.set_index("threshold").loc[int(round(bt.params.yellow_min))]
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [at["share_flagged"]],
                "y": [at["recall"]],
                "name": f"{name}: red below {bt.params.yellow_min:g}",
                "marker": {"color": color, "size": 11, "line": {"color": "white", "width": 1.5}},
                "text": [f"red < {bt.params.yellow_min:g}"],
                "textposition": "middle right",
                "showlegend": False,
                "hovertemplate": f"{name} red threshold {bt.params.yellow_min:g}: flags "
                "%{x:.1%} of renewal ARR, catches %{y:.1%} of lost ARR<extra></extra>",
            }
        )
    at = current.curve.set_index("threshold").loc[int(round(current.params.yellow_min))]
    title = (
        f"Red below {current.params.yellow_min:g} flags {_pct(at['share_flagged'])} of renewal "
        f"ARR and catches {_pct(at['recall'])} of lost ARR"
    )
    if current.recall_red.too_few:
        title += f" ({TOO_FEW})"
    return figure(
        data,
        title,
        height=360,
        xaxis={
            "tickformat": ".0%",
            "range": [0, 1],
            "title": {"text": "Share of renewal ARR flagged red (ARR)"},
        },
        yaxis={"tickformat": ".0%", "range": [0, 1.02], "title": {"text": "Lost ARR caught (ARR)"}},
        legend={
            "orientation": "v",
            "x": 0.99,
            "xanchor": "right",
            "y": 0.03,
            "yanchor": "bottom",
            "bgcolor": "rgba(255,255,255,0.85)",
        },
    )


# ---- band mix now -------------------------------------------------------------------------------
def band_mix_now_figure(
    current: pd.DataFrame, proposed: pd.DataFrame | None, params: tuple[HealthParams, HealthParams]
) -> Figure:
    """Share of ARR per band at the as-of date, current vs proposed model (stacked, red first)."""
    if current["arr"].sum() == 0:
        return empty_figure("Band mix now", "No customers under these filters")
    rows = [("Current", current, params[0])]
    if proposed is not None:
        rows.append(("Proposed", proposed, params[1]))
    red = [float(df.set_index("band").loc["red", "share_arr"]) for _, df, _ in rows]
    names = [
        f"{name}<br><span style='color:{BAND_TEXT_COLORS['red']}'><b>red {_pct(r)}</b></span>"
        for (name, _, _), r in zip(rows, red, strict=True)
    ]
    data = []
    for band in BAND_ORDER:
        shares = [float(df.set_index("band").loc[band, "share_arr"]) for _, df, _ in rows]
        arr = [float(df.set_index("band").loc[band, "arr"]) for _, df, _ in rows]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": shares,
                "name": labels.label("band", band),
                "marker": {"color": BAND_COLORS[band]},
                "text": ["" if band == "red" else _pct(v) for v in shares],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "customdata": [
                    [band_range(band, p), formatting.money(a)]
                    for (_, _, p), a in zip(rows, arr, strict=True)
                ],
                "hovertemplate": "%{y} · %{customdata[0]}: %{x:.1%} of ARR (%{customdata[1]})"
                "<extra></extra>",
            }
        )
    title = f"Red holds {_pct(red[0])} of ARR now" + (
        f"; {_pct(red[1])} under the proposal" if len(red) > 1 else ""
    )
    return figure(
        data,
        title,
        barmode="stack",
        height=230 if len(rows) > 1 else 180,
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis={"autorange": "reversed"},
        uniformtext={"minsize": 10, "mode": "hide"},
        legend={"y": -0.25},
    )


# ---- component diagnostics ----------------------------------------------------------------------
def diagnostics_figure(diag: pd.DataFrame) -> Figure:
    """Per component: loss rate (ARR) of renewals where it was low (< 40) vs the rest."""
    if diag.empty or diag["renewals"].sum() == 0:
        return empty_figure("Which inputs carry signal", "No renewals closed in the window")
    shown = diag[~diag["feed_absent"]]
    names = [COMPONENT_LABELS[c] for c in shown["component"]]
    data = []
    for col, name, color in (
        ("rate_low", "Component below 40", "#5c6f82"),
        ("rate_rest", "40 or more", GREY),
    ):
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": shown[col].fillna(0).tolist(),
                "name": f"{name} (ARR lost)",
                "marker": {"color": color},
                "text": [_pct(v) for v in shown[col]],
                "textposition": "outside",
                "cliponaxis": False,
                "customdata": shown["n_low" if col == "rate_low" else "n_rest"].tolist(),
                "hovertemplate": "%{y} " + name.lower() + ": %{x:.1%} of renewal ARR lost "
                "(n = %{customdata:,})<extra></extra>",
            }
        )
    judged = shown[~shown["too_few"] & shown["lift"].notna()]
    best = judged.loc[judged["lift"].idxmax()] if not judged.empty else None
    title = (
        f"{COMPONENT_LABELS[best['component']]} carries the most signal: low scores lost "
        f"{formatting.ratio(best['lift'])} the ARR of the rest"
        if best is not None
        else "Loss rate when a component is low"
    )
    return figure(
        data,
        title,
        barmode="group",
        height=340,
        xaxis={"tickformat": ".0%", "rangemode": "tozero"},
        yaxis={"autorange": "reversed"},
        legend={"y": -0.12},
    )


def diagnostics_table(
    diag: pd.DataFrame, current: HealthParams, proposed: HealthParams | None
) -> html.Table:
    """Per component: weight (current → proposed), deciles, share missing, lift when low."""
    head = html.Thead(
        html.Tr(
            [
                html.Th("Component"),
                html.Th("Weight", className="text-end"),
                html.Th("p10 · p25 · median · p75 · p90"),
                html.Th("Missing", className="text-end"),
                html.Th("Lift when < 40 (ARR)", className="text-end"),
            ]
        )
    )
    rows = []
    by = diag.set_index("component")
    for c in COMPONENTS:
        r = by.loc[c]
        w_now = current.weights()[c]
        w_new = proposed.weights()[c] if proposed else w_now
        weight = f"{w_now:g}" if w_new == w_now else f"{w_now:g} → {w_new:g}"
        if r["feed_absent"]:
            cells = [
                html.Td("–"),
                html.Td("no feed: not in the score", className="text-end text-muted"),
                html.Td("–", className="text-end"),
            ]
        else:
            deciles = (
                " · ".join(f"{v:.0f}" for v in r["deciles"]) if r["deciles"] is not None else "–"
            )
            lift = formatting.ratio(r["lift"]) if pd.notna(r["lift"]) else "–"
            lift_cell = (
                html.Td(
                    [
                        lift,
                        html.Div(
                            f"{TOO_FEW} (n = {int(r['n_low']):,} low)", className="too-few-note"
                        ),
                    ],
                    className="text-end too-few",
                )
                if r["too_few"]
                else html.Td(
                    lift,
                    className="text-end",
                    title=f"n = {int(r['n_low']):,} low, {int(r['n_rest']):,} the rest",
                )
            )
            cells = [
                html.Td(deciles),
                html.Td(_pct(r["share_missing"]), className="text-end"),
                lift_cell,
            ]
        rows.append(
            html.Tr(
                [
                    html.Th(COMPONENT_LABELS[c], scope="row"),
                    html.Td(weight, className="text-end"),
                    *cells,
                ]
            )
        )
    return html.Table([head, html.Tbody(rows)], className="table table-sm hm-diagnostics mb-0")


# ---- the tuning form ----------------------------------------------------------------------------
def number_field(field_id: str, label: str, value: str, suffix: str = "") -> dbc.Col:
    """One labelled text field for a number, with room for its message (checked server-side)."""
    return dbc.Col(
        [
            dbc.Label(label, html_for=field_id, className="small mb-0"),
            dbc.InputGroup(
                [
                    dbc.Input(
                        id=field_id,
                        value=value,
                        type="text",
                        inputMode="decimal",
                        debounce=400,  # milliseconds: one update per pause in typing
                        size="sm",
                    ),
                    dbc.InputGroupText(suffix) if suffix else None,
                ],
                size="sm",
            ),
            dbc.FormFeedback(id=f"{field_id}-message", type="invalid", className="d-block"),
        ],
        xs=6,
        md=True,
        className="mb-1",
    )


# ---- the renewal list ---------------------------------------------------------------------------
RENEWAL_COLUMNS = [
    {
        "field": "renewal_date",
        "headerName": "Renewal date",
        "valueFormatter": DATE,
        "minWidth": 120,
    },
    {
        "field": "name",
        "headerName": "Account",
        "pinned": "left",
        "minWidth": 200,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {
        "field": "outcome",
        "headerName": "Outcome",
        "valueFormatter": labels.label_formatter("outcome"),
        "minWidth": 110,
    },
    money_column("arr_up", "ARR up", minWidth=100),
    money_column("arr_lost", "ARR lost", minWidth=100),
    {
        "field": "band",
        "headerName": "Band then",
        "valueFormatter": labels.label_formatter("band"),
        "cellStyle": {
            "styleConditions": [
                {
                    "condition": f"params.value == '{b}'",
                    "style": {"color": BAND_TEXT_COLORS[b], "fontWeight": 600},
                }
                for b in BAND_ORDER
            ]
        },
        "minWidth": 100,
    },
    {
        "field": "score",
        "headerName": "Score then",
        "valueFormatter": SCORE,
        "type": "rightAligned",
        "minWidth": 100,
    },
    {"field": "scored_on", "headerName": "Scored on", "valueFormatter": DATE, "minWidth": 115},
    {"field": "owner_name", "headerName": "Owner", "minWidth": 140, "tooltipField": "owner_name"},
    {"field": "segment", "headerName": "Segment", "minWidth": 110},
]


def renewal_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return to_records(df)


def renewal_totals_line(totals: dict[str, float]) -> list[Any]:
    """'612 renewals · ARR up $30.1M · ARR lost $2.5M'."""
    return [
        html.Span(formatting.count(totals["renewals"]), id="renewals-count", className="fw-bold"),
        " renewals · ARR up ",
        html.Span(formatting.money(totals["arr_up"]), id="renewals-arr-up", className="fw-bold"),
        " · ARR lost ",
        html.Span(
            formatting.money(totals["arr_lost"]), id="renewals-arr-lost", className="fw-bold"
        ),
    ]


# ---- Portfolio's summary ------------------------------------------------------------------------
def summary_line(bt: Backtest, href: str, inputs: str = "") -> html.Div:
    """One line for Portfolio: red's loss rate, its lift and recall, with n and a link; then
    which inputs the score is built from."""
    built_from = html.Div(inputs, className="text-muted", id="portfolio-health-inputs")
    link = dcc.Link("Health model →", href=href, id="portfolio-health-model-link", className="ms-1")
    if bt.renewals == 0:
        return html.Div(
            [
                "No renewals closed in the last 4 quarters under these filters to test the score on. ",
                link,
                built_from,
            ],
            className="health-model-summary small",
        )
    red = bt.by_band.set_index("band").loc["red"]
    caveat = f" ({TOO_FEW})" if red["too_few"] else ""
    text = (
        f"Red accounts {VALIDATION_LEAD_DAYS} days before renewal lost {_pct(red['rate_arr'])} of their "
        f"renewal ARR, {formatting.ratio(bt.lift_red_arr.value)} the base rate "
        f"(n = {int(red['renewals']):,}{caveat}) · recall of lost ARR by red alone "
        f"{_pct(bt.recall_red.value)}, flagging {_pct(bt.share_red.value)} of renewal ARR · "
    )
    return html.Div(
        [text, link, built_from],
        className="health-model-summary small",
        id="portfolio-health-model-summary",
    )
