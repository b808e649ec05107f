"""Renewals 'Forecast & accuracy' builders: KPI tiles (expected ARR kept, CSM call, gap,
projected fiscal-year GRR/NRR), the forecast per quarter with its 80% range beside the call, the
gap per CSM or team, the model's rates, and the accuracy of past forecasts.

Pure functions of service results (`services.renewal_forecast`, `services.forecast_accuracy`):
figures are plain dicts in the house template; every clickable bar carries its bucket key.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting, labels
from components.charts import Figure, empty_figure, figure, value_axis
from components.grids import money_column, records_grid, to_records
from components.kpi import definition_body
from components.shell import info_button
from components.theme import BAND_TEXT_COLORS
from services.forecast_accuracy import METHOD_LABELS, Accuracy, Quarter
from services.health import VALIDATION_LEAD_DAYS
from services.metrics import metric
from services.renewal_forecast import Forecast, Rates, model_settings

MODEL_COLOR = "#3b5b92"  # the model: the house blue
UP_COLOR = "#dfe5ec"  # ARR up for renewal: the background it is a share of
CALL_COLOR = "#7b3fa0"  # the CSMs' call: purple (green/amber/red are for health bands only)
BASELINE_COLOR = "#9aa5b1"
ACTUAL_COLOR = "#1b2430"
CLICK = "Click for these renewals"
NO_HISTORY = "no call history in the data"
METHOD_NAMES = {"model": "The model", "call": "The CSM call", "baseline": "Last year's rate"}
NO_CALLS_THEN = "no calls recorded by then"


def range_words() -> str:
    """How the 80% range is made, in words (shown under the chart, not only in a popover)."""
    return (
        "How the range is made: each open renewal is treated as an independent draw that keeps "
        "all its ARR up with its rate r, or loses it. The expected ARR kept is Σ ARR up × r and "
        "its variance Σ ARR up² × r × (1 − r); the 80% range is the expected value ± 1.28 "
        "standard deviations (a normal approximation), kept between 0 and the ARR up. Renewals "
        "that move together, such as a bad quarter for a whole segment, would make it wider."
    )


def model_words() -> str:
    s = model_settings()
    return (
        f"Rates: the renewal rate (ARR) of renewals closed in the {s.trailing_quarters} "
        f"quarters before the date, by segment and health band; a group with fewer than "
        f"{s.min_renewals} closed renewals uses its segment's rate, a segment with fewer the "
        "overall rate."
    )


QUARTERS_HELP = f"{metric('forecast_expected').definition} {metric('forecast_call').definition}"
GAP_HELP = (
    f"{metric('forecast_gap').definition} Over the open renewals of the window (overdue "
    "included). Not called: ARR up of renewals without a call on the date (counted as not kept "
    "in the call). Largest gap first, either way. Click a row for its open renewals."
)
RATES_HELP = (
    f"{model_words()} Band of a closed renewal: its account's band on the snapshot "
    f"{VALIDATION_LEAD_DAYS} days before its renewal date (as the Health model page scores it). "
    "No health score: closed renewals scored after the date or never (they count toward their "
    "segment and overall only), and open renewals whose account has no score on the date."
)
ACCURACY_HELP = (
    "Each of the last 4 closed quarters, forecast as it stood at the quarter's start (the last "
    "weekly snapshot on or before its first day) from data known then: the model (rates, "
    "health and open renewals as of that day; renewals dated in the quarter), the CSM call "
    "then (commit + probable), and last year's rate (the overall renewal rate of the 4 "
    "quarters before) × ARR up. "
    f"{metric('forecast_actual').definition} {metric('forecast_hit_rate').definition}"
)


def _x_label(key: str, label: str, first: date | None, day: date) -> str:
    if key == "overdue":
        return "Overdue"
    if first and first.isoformat() != key:
        return f"{label}<br><sub>from {first:%d %b}</sub>"
    return label


def window_text(fc: Forecast) -> str:
    r = fc.rates
    closed = f"closed {r.since + timedelta(days=1):%d %b %Y} – {r.day:%d %b %Y}"
    return (
        f"Open renewals on {fc.day:%d %b %Y} with a renewal date up to "
        f"{fc.total['last']:%d %b %Y} (4 calendar quarters), and overdue ones. Rates from "
        f"{formatting.count(r.overall_renewals)} renewals {closed}."
    )


# ---- KPI tiles ---------------------------------------------------------------------------------
def _tile(
    name: str, value: float | None, tile_id: str, href: str | None, note: Any = None
) -> dbc.Col:
    m = metric(name)
    shown = formatting.metric_value(m, value)
    if m.unit == "money" and value is not None and not pd.isna(value):
        if name == "forecast_gap":
            shown = ("+" if value >= 0 else "") + shown
        title = {"title": formatting.money_exact(value)}
    else:
        title = {}
    body = [
        html.Div(m.card_label, className="kpi-label"),
        html.Div(shown, className="kpi-value", id=tile_id, **title),
        html.Div(note, className="small text-muted", id=f"{tile_id}-note") if note else None,
    ]
    content = (
        dcc.Link(body, href=href, className="kpi-link", id=f"{tile_id}-link")
        if href
        else html.Div(body)
    )
    card = dbc.Card(
        [
            dbc.CardBody(content),
            html.Div(
                info_button(f"{tile_id}-info", m.label, definition_body(m)),
                className="kpi-info-slot",
            ),
        ],
        className="kpi-card h-100",
    )
    return dbc.Col(card, md=True, sm=6, className="mb-3")


def forecast_tiles(fc: Forecast, list_href: str) -> dbc.Row:
    """Expected ARR kept (and its range), the CSM call and the gap; each opens the window's
    open renewals."""
    t = fc.total
    fitted = fc.fitted and t["renewals"] > 0
    expected = t["expected"] if fitted else None
    rng = (
        f"80% range {formatting.money(t['low'])} – {formatting.money(t['high'])} of "
        f"{formatting.money(t['arr_up'])} up"
        if fitted
        else "no open renewals under these filters"
        if not t["renewals"]
        else "no renewal closed in the window: no model"
    )
    calls = (
        f"called: {formatting.count(t['calls_known'])} of {formatting.count(t['renewals'])} "
        "renewals"
        if t["calls_known"]
        else "no call known on this date"
    )
    call_value = t["called"] if t["calls_known"] else None
    gap = t["gap"] if fitted and t["calls_known"] else None
    side = None if not gap else "model above the calls" if gap > 0 else "calls above the model"
    return dbc.Row(
        [
            _tile("forecast_expected", expected, "rf-kpi-expected", list_href, rng),
            _tile("forecast_call", call_value, "rf-kpi-call", list_href, calls),
            _tile("forecast_gap", gap, "rf-kpi-gap", list_href, side),
        ],
        className="g-3",
    )


def fy_name(proj: dict[str, Any]) -> str:
    label = proj["fy"].label
    return f"FY {label}" if label.isdigit() else label


def fy_tiles(proj: dict[str, Any], fy_href: str | None) -> dbc.Row:
    """Projected GRR and NRR of the fiscal year; each opens the year's movement so far."""
    fy, to_date = proj["fy"], proj["to_date"]
    projected = proj["projected"] or {}
    name = fy_name(proj)
    grr_note = (
        f"{name}, to {fy.last_day:%d %b %Y} · so far {formatting.percent(to_date.get('grr'))}"
    )
    nrr_note = (
        f"{name}, to {fy.last_day:%d %b %Y} · so far {formatting.percent(to_date.get('nrr'))}"
    )
    return dbc.Row(
        [
            _tile("projected_grr", projected.get("grr"), "rf-kpi-grr", fy_href, grr_note),
            _tile("projected_nrr", projected.get("nrr"), "rf-kpi-nrr", fy_href, nrr_note),
        ],
        className="g-3",
    )


# ---- the forecast per quarter ------------------------------------------------------------------
def quarters_figure(fc: Forecast) -> Figure:
    """Per bucket (overdue, 4 quarters): ARR up (light), the model's expected ARR kept with its
    80% range as whiskers, and the CSM call as a marker. Bars carry [bucket key]."""
    q = fc.quarters
    if not q["renewals"].sum():
        return empty_figure(
            "Expected ARR kept", "No open renewals in the next 4 quarters under these filters"
        )
    keys = q["key"].tolist()
    x = [
        _x_label(k, lab, f, fc.day) for k, lab, f in zip(keys, q["label"], q["first"], strict=True)
    ]
    up = q["arr_up"].astype(float).tolist()
    n = q["renewals"].astype(int).tolist()
    exact = [formatting.money_exact(v) for v in up]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "ARR up for renewal",
            "x": x,
            "y": up,
            "width": 0.72,
            "marker": {"color": UP_COLOR},
            "customdata": [[k, e, c] for k, e, c in zip(keys, exact, n, strict=True)],
            "hovertemplate": "%{x} · ARR up: %{customdata[1]}, %{customdata[2]:,} renewals<br>"
            f"{CLICK}<extra></extra>",
        }
    ]
    if fc.fitted:
        exp = q["expected"].astype(float).tolist()
        low, high = q["low"].astype(float).tolist(), q["high"].astype(float).tolist()
        data.append(
            {
                "type": "bar",
                "name": "Expected ARR kept (model), 80% range",
                "x": x,
                "y": exp,
                "width": 0.42,
                "marker": {"color": MODEL_COLOR},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [h - e for h, e in zip(high, exp, strict=True)],
                    "arrayminus": [e - lo for e, lo in zip(exp, low, strict=True)],
                    "color": "#1b2430",
                    "thickness": 1.5,
                    "width": 10,
                },
                "text": [formatting.money(v) if v else "" for v in exp],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textangle": 0,
                "textfont": {"color": "white", "size": 11},
                "customdata": [
                    [k, formatting.money(e), formatting.money(lo), formatting.money(h), u]
                    for k, e, lo, h, u in zip(
                        keys, exp, low, high, [formatting.money(v) for v in up], strict=True
                    )
                ],
                "hovertemplate": "%{x} · Model: %{customdata[1]} kept of %{customdata[4]} up "
                f"(80% range %{{customdata[2]}} – %{{customdata[3]}})<br>{CLICK}<extra></extra>",
            }
        )
    if fc.calls_known:
        called = q["called"].astype(float).tolist()
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "CSM call (commit + probable)",
                "x": x,
                "y": called,
                "marker": {
                    "symbol": "diamond",
                    "size": 13,
                    "color": CALL_COLOR,
                    "line": {"color": "white", "width": 1.5},
                },
                "customdata": [[k, formatting.money(v)] for k, v in zip(keys, called, strict=True)],
                "hovertemplate": f"%{{x}} · CSM call: %{{customdata[1]}}<br>{CLICK}<extra></extra>",
            }
        )
    top = max(up) if up else 0
    notes = [
        {
            "x": xl,
            "y": u,
            "yanchor": "bottom",
            "text": f"{formatting.money(u)} up<br>{c:,} renewal{'' if c == 1 else 's'}",
            "showarrow": False,
            "font": {"size": 11, "color": "#27313d"},
        }
        for xl, u, c in zip(x, up, n, strict=True)
    ]
    t = fc.total
    if fc.fitted:
        title = (
            f"Model expects {formatting.money(t['expected'])} of {formatting.money(t['arr_up'])} "
            f"up to be kept (80% range {formatting.money(t['low'])} – "
            f"{formatting.money(t['high'])})"
        )
        if fc.calls_known:
            title += f"; the CSMs call {formatting.money(t['called'])}"
    else:
        title = "No renewal closed in the last quarters: the model has nothing to learn from"
    return figure(
        data,
        title,
        barmode="overlay",
        height=400,
        clickmode="event",
        annotations=notes,
        margin={"t": 56, "b": 8, "l": 8, "r": 8},
        yaxis={"range": [0, top * 1.22], **value_axis(top * 1.15, "arr")},
        xaxis={"type": "category"},
        legend={"orientation": "h", "y": -0.14, "traceorder": "normal"},
        hovermode="closest",
    )


# ---- the gap per CSM or team -------------------------------------------------------------------
GAP_OPTIONS = [{"label": "By CSM", "value": "owner"}, {"label": "By team", "value": "team"}]
SIGNED_MONEY = {
    "function": "params.value == null ? '–' : (params.value > 0 ? '+' : "
    "(params.value < 0 ? '−' : '')) + compactMoney(Math.abs(params.value))"
}
SIGNED_PCT = {
    "function": "params.value == null ? '–' : d3.format('+.1%')(params.value).replace('-', '−')"
}


def gap_columns(by: str) -> list[dict[str, Any]]:
    name = {"field": "name", "headerName": "CSM" if by == "owner" else "Team", "minWidth": 150}
    cols: list[dict[str, Any]] = [{**name, "cellClass": "link-cell", "pinned": "left"}]
    if by == "owner":
        cols.append({"field": "team", "headerName": "Team", "minWidth": 190})
    cols += [
        {"field": "renewals", "headerName": "Renewals", "type": "rightAligned", "maxWidth": 110},
        money_column("arr_up", "ARR up", minWidth=95),
        money_column("expected", "Model", minWidth=95),
        money_column("called", "CSM call", minWidth=95),
        {
            **money_column("gap", "Gap", minWidth=95),
            "valueFormatter": SIGNED_MONEY,
            "cellStyle": {"fontWeight": 600},
        },
        {
            "field": "gap_share",
            "headerName": "Gap %",
            "headerTooltip": "The gap as a share of the ARR up",
            "valueFormatter": SIGNED_PCT,
            "type": "rightAligned",
            "minWidth": 110,
        },
        money_column("uncalled_arr", "Not called", minWidth=95),
    ]
    return cols


# The largest gaps only: 787 CSMs at 100k accounts made a 200 KB answer; the title says so.
MAX_GAP_ROWS = 200


def gap_records(df: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """Grid rows (the MAX_GAP_ROWS largest gaps, the frame's order); the row id says what a
    click opens ('owner:<id>' or 'team:<name>')."""
    out = df.head(MAX_GAP_ROWS).copy()
    out["row_id"] = [f"{by}:{k}" for k in out["key"]]
    out["name"] = out["name"].fillna("Unassigned")
    return to_records(out)


def gap_grid(grid_id: str, by: str) -> Any:
    return records_grid(grid_id, gap_columns(by), row_id="row_id", height=420)


def gap_title(df: pd.DataFrame, by: str) -> str:
    if df.empty:
        return "No open renewals in the window under these filters."
    top = df.iloc[0]
    who = "CSM" if by == "owner" else "team"
    name = top["name"] if isinstance(top["name"], str) else "Unassigned"
    direction = "above" if top["gap"] >= 0 else "below"
    shown = (
        f" Showing the {MAX_GAP_ROWS} largest gaps of {len(df):,} {who}s."
        if len(df) > MAX_GAP_ROWS
        else ""
    )
    return (
        f"Largest gap: {name} ({who}), where the model is {formatting.money(abs(top['gap']))} "
        f"{direction} the CSM call on {formatting.money(top['arr_up'])} up.{shown}"
    )


# ---- the model's rates --------------------------------------------------------------------------
BAND_ROWS = ("red", "yellow", "green", None)
LEVEL_SHORT = {"group": "Segment × band", "segment": "Segment", "overall": "Overall"}


def rates_table(rates: Rates, levels: pd.DataFrame) -> list[Any]:
    """Segment × band: closed renewals, their rate, the rate used and where it comes from."""
    if not rates.fitted:
        return [
            html.Div("No renewal closed in the window: the model has no rates.", className="py-3")
        ]
    t = rates.table
    head = html.Thead(
        html.Tr(
            [
                html.Th("Segment"),
                html.Th("Health band"),
                html.Th("Closed renewals", className="text-end"),
                html.Th("Their rate", className="text-end"),
                html.Th("Rate used", className="text-end"),
                html.Th("From"),
            ]
        )
    )
    body = []
    # One pass over plain records: indexing the frame per cell cost ~8 ms a redraw.
    by_cell: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in t.to_dict("records"):
        band_key = None if pd.isna(r["band"]) else r["band"]
        by_cell.setdefault((r["segment"], band_key), r)
    for segment in sorted(t["segment"].unique()):
        for band in BAND_ROWS:
            r = by_cell.get((segment, band))
            if r is None:
                continue
            band_cell = (
                html.Span(
                    labels.label("band", band),
                    style={"color": BAND_TEXT_COLORS[band], "fontWeight": 600},
                )
                if band
                else html.Span("No health score", className="text-muted")
            )
            own = formatting.percent(r["rate"]) if r["renewals"] else "–"
            used_here = r["level"] == "group"
            body.append(
                html.Tr(
                    [
                        html.Td(segment if band == "red" else "", className="fw-semibold"),
                        html.Td(band_cell),
                        html.Td(formatting.count(r["renewals"]), className="text-end"),
                        html.Td(own, className="text-end" + ("" if used_here else " text-muted")),
                        html.Td(formatting.percent(r["p"]), className="text-end fw-semibold"),
                        html.Td(LEVEL_SHORT[r["level"]], className="small"),
                    ]
                )
            )
        s = next(r for (seg_name, _), r in by_cell.items() if seg_name == segment)
        body.append(
            html.Tr(
                [
                    html.Td(""),
                    html.Td(f"All {segment}", className="small text-muted"),
                    html.Td(
                        formatting.count(s["segment_renewals"]),
                        className="text-end small text-muted",
                    ),
                    html.Td(
                        formatting.percent(s["segment_rate"]), className="text-end small text-muted"
                    ),
                    html.Td(""),
                    html.Td(""),
                ],
                className="rf-rates-segment",
            )
        )
    table = dbc.Table(
        [head, html.Tbody(body)],
        size="sm",
        className="rf-rates mb-2 small",
        id="rf-rates-table",
    )
    lv = levels.set_index("level")
    used = " · ".join(
        f"{LEVEL_SHORT[level]}: {formatting.count(lv.at[level, 'renewals'])}" for level in lv.index
    )
    overall = (
        f"Overall rate {formatting.percent(rates.overall)} over "
        f"{formatting.count(rates.overall_renewals)} closed renewals"
        + (
            f" (under {rates.min_renewals}: too few to trust)"
            if rates.overall_renewals < rates.min_renewals
            else ""
        )
        + "."
    )
    return [
        table,
        html.Div(overall, className="small"),
        html.Div(f"Open renewals forecast from each level: {used}.", className="small text-muted"),
    ]


# ---- accuracy of past forecasts ------------------------------------------------------------------
def _err(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * value:+.1f}%".replace("-", "−")


def quarter_key(start: date) -> str:
    """A past quarter's key in the renewal list's `backtest=` (e.g. 2026-Q3)."""
    return Quarter(start, start).key


def accuracy_figure(acc: Accuracy) -> Figure:
    """Per past quarter: each method's error (% of the ARR kept; 0 = exact), the model's 80%
    range as whiskers around its bar (crossing 0: the actual fell inside the range). Every bar
    carries its quarter's key last in its customdata: a click opens the renewals behind it."""
    q = acc.quarters[acc.quarters["renewals"] > 0]
    if q.empty:
        return empty_figure(
            "Forecast accuracy", "No renewals in the last 4 closed quarters under these filters"
        )
    x = [
        f"{lab}<br><sub>forecast {pd.Timestamp(f):%d %b %Y}</sub>" if f else lab
        for lab, f in zip(q["label"], q["forecast_on"], strict=True)
    ]
    actual = q["actual"].astype(float).where(q["actual"] > 0)
    keys = [quarter_key(d) for d in q["start"]]  # what a click opens (`backtest=`)
    data = []
    colors = {"model": MODEL_COLOR, "call": CALL_COLOR, "baseline": BASELINE_COLOR}
    for m in ("model", "call", "baseline"):
        if m == "call" and q["call"].isna().all():
            continue
        pct = q[f"{m}_error_pct"].astype(float)
        trace: dict[str, Any] = {
            "type": "bar",
            "name": METHOD_LABELS[m],
            "x": x,
            "y": pct.fillna(0).tolist(),
            "marker": {"color": colors[m]},
            "customdata": [
                [formatting.money(v), formatting.money(a), _err(p), k]
                for v, a, p, k in zip(q[m], q["actual"], pct, keys, strict=True)
            ],
            "hovertemplate": f"%{{x}} · {METHOD_LABELS[m]}: %{{customdata[0]}} against "
            f"%{{customdata[1]}} kept (%{{customdata[2]}})<br>{CLICK}<extra></extra>",
        }
        if m == "model":
            low = ((q["low"] - q["actual"]) / actual).fillna(0)
            high = ((q["high"] - q["actual"]) / actual).fillna(0)
            trace["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": (high - pct.fillna(0)).tolist(),
                "arrayminus": (pct.fillna(0) - low).tolist(),
                "color": "#1b2430",
                "thickness": 1.5,
                "width": 6,
            }
            trace["name"] = "Model (whiskers: its 80% range)"
        data.append(trace)
    return figure(
        data,
        accuracy_summary(acc),
        barmode="group",
        height=380,
        clickmode="event",
        margin={"t": 72, "b": 8, "l": 8, "r": 8},
        yaxis={
            "tickformat": "+.0%",
            "zeroline": True,
            "zerolinecolor": ACTUAL_COLOR,
            "zerolinewidth": 2,
            "title": {"text": "Error vs ARR kept (0 = exact)"},
        },
        xaxis={"type": "category"},
        legend={"orientation": "h", "y": -0.16},
        hovermode="closest",
    )


def accuracy_summary(acc: Accuracy) -> str:
    """One plain sentence: which method was closest, by how much, and the range's hit rate."""
    closest = acc.closest()
    if closest is None:
        return "No past quarter to judge the forecasts on under these filters"
    totals = acc.totals()
    best = totals[closest]
    full = best["quarters"]

    def lower(m: str) -> str:
        return METHOD_NAMES[m][0].lower() + METHOD_NAMES[m][1:]

    others = [
        f"{formatting.money(totals[m]['abs_error'])} for {lower(m)}"
        for m in ("model", "call", "baseline")
        if m != closest and totals[m]["abs_error"] is not None and totals[m]["quarters"] == full
    ]
    text = (
        f"{METHOD_NAMES[closest]} was closest: off by {formatting.money(best['abs_error'])} in "
        f"total ({formatting.percent(best['wape'])} of the ARR kept)"
    )
    if others:
        text += ", against " + " and ".join(others)
    partial = [
        m for m in ("call",) if totals[m]["abs_error"] is not None and totals[m]["quarters"] < full
    ]
    for m in partial:
        text += (
            f"; {lower(m)}, known for {totals[m]['quarters']} of {full} quarters, was off by "
            f"{formatting.money(totals[m]['abs_error'])}"
        )
    if not acc.has_history:
        text += "; there is no call history in the data to check the CSM call against"
    text += (
        f"<br><sup>The ARR kept fell inside the model's 80% range in {acc.hits} of "
        f"{acc.judged} quarters.</sup>"
    )
    return text


def _quarter_link(r: pd.Series, hrefs: dict[str, str]) -> Any:
    href = hrefs.get(quarter_key(r["start"])) if r["renewals"] else None
    if not href:
        return r["label"]
    return dcc.Link(
        r["label"],
        href=href,
        id=f"rf-accuracy-link-{r['start'].isoformat()}",
        title="The renewals behind this quarter's forecasts",
    )


def accuracy_table(acc: Accuracy, hrefs: dict[str, str] | None = None) -> Any:
    """Per past quarter: ARR up, the ARR kept, each method's forecast and error, the range.
    The quarter cell opens `hrefs[quarter key]` (the renewals behind it) when given."""
    hrefs = hrefs or {}
    q = acc.quarters
    if not q["renewals"].sum():
        return None  # the chart says there is nothing to judge
    head = html.Thead(
        html.Tr(
            [
                html.Th("Quarter"),
                html.Th("Forecast on"),
                html.Th("Renewals", className="text-end"),
                html.Th("ARR up", className="text-end"),
                html.Th("Kept (actual)", className="text-end"),
                html.Th("Model", className="text-end"),
                html.Th("80% range", className="text-end"),
                html.Th("CSM call", className="text-end"),
                html.Th("Last year's rate", className="text-end"),
            ]
        )
    )

    def method_cell(r: pd.Series, m: str) -> html.Td:
        if m == "call" and pd.isna(r["call"]):
            text = NO_HISTORY if not acc.has_history else NO_CALLS_THEN
            return html.Td(text, className="text-end text-muted small rf-no-call")
        if pd.isna(r[m]) or not r["renewals"]:
            return html.Td("–", className="text-end")
        return html.Td(
            [
                html.Span(formatting.money(r[m]), title=formatting.money_exact(r[m])),
                html.Span(f" {_err(r[f'{m}_error_pct'])}", className="small text-muted"),
            ],
            className="text-end",
        )

    rows = []
    for _, r in q.iterrows():
        if not r["available"]:
            rows.append(
                html.Tr(
                    [
                        html.Td(r["label"]),
                        html.Td(
                            "before the health history: not computed",
                            colSpan=8,
                            className="text-muted small",
                        ),
                    ]
                )
            )
            continue
        still = (
            html.Div(
                f"{formatting.count(r['still_open'])} still open",
                className="small text-muted",
            )
            if r["still_open"]
            else None
        )
        hit = r["hit"]
        range_text = (
            "–"
            if hit is None or pd.isna(r["low"])
            else f"{formatting.money(r['low'])} – {formatting.money(r['high'])}"
        )
        verdict = (
            None
            if hit is None
            else html.Span(" inside" if hit else " outside", className="small fw-semibold")
        )
        rows.append(
            html.Tr(
                [
                    html.Td(_quarter_link(r, hrefs), className="fw-semibold"),
                    html.Td(formatting.date(r["forecast_on"]), className="small"),
                    html.Td(formatting.count(r["renewals"]), className="text-end"),
                    html.Td(formatting.money(r["arr_up"]), className="text-end"),
                    html.Td(
                        [
                            html.Span(
                                formatting.money(r["actual"]),
                                title=formatting.money_exact(r["actual"]),
                            ),
                            still,
                        ],
                        className="text-end fw-semibold",
                    ),
                    method_cell(r, "model"),
                    html.Td([range_text, verdict], className="text-end small"),
                    method_cell(r, "call"),
                    method_cell(r, "baseline"),
                ],
                id=f"rf-accuracy-row-{r['start'].isoformat()}",
            )
        )
    totals = acc.totals()

    def total_cell(m: str) -> html.Td:
        t = totals[m]
        if t["abs_error"] is None:
            if m == "call":
                return html.Td(
                    NO_HISTORY if not acc.has_history else "–",
                    className="text-end text-muted small rf-no-call",
                )
            return html.Td("–", className="text-end")
        return html.Td(
            f"{formatting.money(t['abs_error'])} off ({formatting.percent(t['wape'])})",
            className="text-end small",
            title="Σ |forecast − actual| over the quarters, and as a share of the ARR kept",
        )

    foot = html.Tfoot(
        html.Tr(
            [
                html.Td("Total error", colSpan=5, className="small fw-semibold"),
                total_cell("model"),
                html.Td(
                    f"{acc.hits} of {acc.judged} inside", className="text-end small fw-semibold"
                ),
                total_cell("call"),
                total_cell("baseline"),
            ]
        )
    )
    return dbc.Table(
        [head, html.Tbody(rows), foot], size="sm", className="small mb-0", id="rf-accuracy-table"
    )


def fy_table(proj: dict[str, Any], hrefs: dict[str, str]) -> list[Any]:
    """The projection step by step: the cohort's ARR on the year's first day, its movement to
    the date (each step opens its accounts: `hrefs` by movement, '' for the cohort), what the
    model expects before the year ends, and the projected ratios with their formulas."""
    fy, to_date, projected = proj["fy"], proj["to_date"], proj["projected"]
    if not to_date.get("start_arr"):
        return [html.Div("No customers on the fiscal year's first day under these filters.")]

    def row(label, value, sign="", strong=False, note="", href=None, row_id=None):
        money = formatting.money(value)
        shown = f"{sign}{money}" if sign and value else money
        cls = "text-end" + (" fw-semibold" if strong else "")
        name = dcc.Link(label, href=href) if href else label
        return html.Tr(
            [
                html.Td(name, className="fw-semibold" if strong else ""),
                html.Td(
                    shown,
                    className=cls,
                    title=formatting.money_exact(value),
                    **({"id": row_id} if row_id else {}),
                ),
                html.Td(note, className="small text-muted"),
            ]
        )

    rows = [
        row(
            f"Customers' ARR on {fy.start:%d %b %Y}",
            to_date["start_arr"],
            strong=True,
            href=hrefs.get(""),
            row_id="rf-fy-start",
        ),
        row("Churned so far", to_date["churned_arr"], "−", href=hrefs.get("churned")),
        row("Contracted so far", to_date["contraction_arr"], "−", href=hrefs.get("contracted")),
        row("Expanded so far", to_date["expansion_arr"], "+", href=hrefs.get("expanded")),
        row(
            f"Their ARR on {proj['day']:%d %b %Y}",
            to_date["end_arr"],
            strong=True,
            note=f"GRR {formatting.percent(to_date['grr'])} · NRR "
            f"{formatting.percent(to_date['nrr'])} so far",
        ),
    ]
    if projected:
        rows += [
            row(
                f"Expected losses by {fy.last_day:%d %b %Y}",
                proj["expected_loss"],
                "−",
                note=f"{formatting.count(proj['renewals'])} open renewals due before the year "
                "ends: ARR up × (1 − rate) on those in today's ARR",
            ),
            row(
                "Expected back from overdue renewals",
                proj["expected_return"],
                "+",
                note="term ended, no new contract yet: ARR up × rate",
            ),
            row(
                f"Projected ARR on {fy.last_day:%d %b %Y}",
                projected["end_arr"],
                strong=True,
                note=f"GRR {formatting.percent(projected['grr'])} · NRR "
                f"{formatting.percent(projected['nrr'])}",
                row_id="rf-fy-end",
            ),
        ]
    table = dbc.Table([html.Tbody(rows)], size="sm", className="small mb-2", id="rf-fy-table")
    grr, nrr = metric("projected_grr"), metric("projected_nrr")
    return [
        table,
        html.Div(["Projected GRR = ", html.Code(grr.formula)], className="small mb-1"),
        html.Div(["Projected NRR = ", html.Code(nrr.formula)], className="small mb-1"),
        html.Div(
            "a0: an account's ARR on the year's first day (the cohort: a0 > 0); â1: its projected "
            "ARR at the year's end. GRR counts a loss only below a0, so a loss on an account "
            "that has grown since is not a GRR loss. Expansion after the date is not forecast.",
            className="small text-muted",
        ),
    ]
