"""Renewals 'Pipeline & risk' builders: the KPI tiles, the renewal calendar stacked by the CSM's
call, at-risk ARR by reason and by quarter, and the top at-risk renewals table.

Pure functions of service results (`services.renewal_pipeline`): figures are plain dicts in the
house template. Every bar carries what it stands for in `customdata` (bucket key, call or
reason), so the page can open the renewal list behind exactly that bar.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting, labels
from components.charts import Figure, empty_figure, figure, value_axis
from components.grids import BAND_STYLE, DATE, money_column, records_grid, to_records
from components.kpi import definition_body
from components.shell import info_button
from services.metrics import metric
from services.renewal_pipeline import Bucket, Calendar, horizon_end

# Stacked from the baseline up: the safest calls first, the riskiest on top.
CALL_ORDER = ("commit", "probable", "none", "at_risk", "churn")
# Blues for the calls that expect a renewal, grey for no call, a red family (darker than the
# health band's red for churn, lighter for at risk) for the calls that expect a loss.
CALL_COLORS = {
    "commit": "#3b5b92",
    "probable": "#7a8fb8",
    "none": "#c9d1db",
    "at_risk": "#e58a82",
    "churn": "#a32f2f",
}
CALL_TEXT = {"commit": "white", "probable": "white", "none": "#27313d", "at_risk": "#27313d"}
AT_RISK_COLOR = "#c2453f"  # at-risk bars (by reason, by quarter): one colour, the red family
CLICK = "Click for these renewals"
CALENDAR_HELP = (
    "ARR up for renewal on the renewals open on the date, by renewal month or quarter, for the "
    "4 calendar quarters from the date's own (the current month or quarter counts from the date "
    "on), stacked by the CSM's call as known on the date (Not called: no call then). Overdue: "
    "dated before the date and not closed by then; real renewals run late and stay listed "
    "until they close. Above each bar: its ARR up and number of renewals. Click a segment to "
    "list its renewals."
)
REASON_HELP = (
    f"{metric('at_risk_arr').definition} Each at-risk renewal counts under the risk reason its "
    "CSM gave; 'Health red, no reason given': at risk only because its health is red, without a "
    "reason; 'No reason given': called at risk or churn without a reason. Click a bar to list "
    "its renewals."
)
QUARTER_HELP = f"{metric('at_risk_arr').definition} Click a bar to list its renewals."
TOP_HELP = (
    "The biggest open renewals at risk (call At risk or Churn, or health red), by ARR up. "
    "Driver: the input that costs the health score most (its weight × the points it is below "
    "100). Close plan: Unknown on a date before the data's own, when it was not recorded. "
    "Click a row for the account."
)


def window_text(day: date) -> str:
    """'Open renewals on 20 Nov 2026 dated up to 30 Sep 2027, and overdue ones'."""
    last = horizon_end(day) - pd.Timedelta(days=1)
    return (
        f"Open renewals on {day:%d %b %Y} with a renewal date up to {last:%d %b %Y} "
        "(4 calendar quarters), and overdue ones"
    )


# ---- KPI tiles ---------------------------------------------------------------------------------
def _tile(name: str, value: float | None, tile_id: str, href: str, note: str = "") -> dbc.Col:
    m = metric(name)
    shown = formatting.metric_value(m, value)
    title = {"title": formatting.money_exact(value)} if m.unit == "money" and value else {}
    body = [
        html.Div(m.card_label, className="kpi-label"),
        html.Div(shown, className="kpi-value", id=tile_id, **title),
        html.Div(note, className="small text-muted") if note else None,
    ]
    card = dbc.Card(
        [
            dbc.CardBody(dcc.Link(body, href=href, className="kpi-link", id=f"{tile_id}-link")),
            html.Div(
                info_button(f"{tile_id}-info", m.label, definition_body(m)),
                className="kpi-info-slot",
            ),
        ],
        className="kpi-card h-100",
    )
    return dbc.Col(card, md=3, sm=6, className="mb-3")


def kpi_tiles(summary: dict[str, Any], all_href: str, risk_href: str) -> dbc.Row:
    """ARR up for renewal, at-risk ARR, at-risk renewals and the share at risk; each opens the
    renewal list behind it (the window, or its at-risk part)."""
    overdue = summary["overdue_renewals"]
    late = (
        f"{formatting.count(overdue)} overdue ({formatting.money(summary['overdue_arr'])})"
        if overdue
        else "none overdue"
    )
    return dbc.Row(
        [
            _tile(
                "renewal_arr_up",
                summary["arr_up"],
                "rp-kpi-arr-up",
                all_href,
                f"{formatting.count(summary['renewals'])} renewals · {late}",
            ),
            _tile("at_risk_arr", summary["at_risk_arr"], "rp-kpi-at-risk-arr", risk_href),
            _tile(
                "at_risk_renewals", summary["at_risk_renewals"], "rp-kpi-at-risk-count", risk_href
            ),
            _tile(
                "at_risk_share",
                summary["at_risk_share"],
                "rp-kpi-at-risk-share",
                risk_href,
                f"of {formatting.money(summary['arr_up'])} up for renewal",
            ),
        ],
        className="g-3",
    )


# ---- the calendar ------------------------------------------------------------------------------
def _bar_label(arr: float, n: int) -> str:
    return f"<b>{formatting.money(arr)}</b><br>{n:,} renewal{'' if n == 1 else 's'}"


def _total_note(x: str, arr: float, n: int, key: str) -> dict[str, Any]:
    """The ARR and count above a bar; a click on it opens the whole bar's renewals (`name`
    carries the bucket key): a bar too thin to click, such as a small overdue one, still is."""
    note = {
        "x": x,
        "y": arr,
        "yanchor": "bottom",
        "text": _bar_label(arr, n),
        "showarrow": False,
        "font": {"size": 11, "color": "#27313d"},
        "name": key,
    }
    if n:
        note.update(captureevents=True, hovertext=f"Click for these {n:,} renewals")
    return note


def _x_label(b: Bucket) -> str:
    """The bar's name; the current month/quarter says it counts from the date on."""
    if b.overdue:
        return "Overdue"
    if b.first and b.first.isoformat() != b.key:  # starts on the date, not the period's first
        return f"{b.label}<br><sub>from {b.first:%d %b}</sub>"
    return b.label


def calendar_figure(cal: Calendar) -> Figure:
    """ARR up per bucket stacked by call: money on the segments that fit, ARR and count above
    each bar, hover with count and exact ARR; each segment carries [bucket key, call]."""
    totals = cal.totals()
    if not totals["renewals"].sum():
        return empty_figure("", "No open renewals in the next 4 quarters under these filters")
    keys = [b.key for b in cal.buckets]
    x = [_x_label(b) for b in cal.buckets]
    cells = list(zip(cal.cells["bucket"], cal.cells["call"], strict=True))
    arr_of = dict(zip(cells, cal.cells["arr_up"].astype(float), strict=True))
    n_of = dict(zip(cells, cal.cells["renewals"].astype(int), strict=True))
    data = []
    for call in CALL_ORDER:
        arr = [float(arr_of.get((k, call), 0.0)) for k in keys]
        n = [int(n_of.get((k, call), 0)) for k in keys]
        if not any(n):
            continue
        name = labels.label("forecast_call", call)
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": x,
                "y": arr,
                "marker": {"color": CALL_COLORS[call]},
                "text": [formatting.money(v) if v else "" for v in arr],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textangle": 0,
                "textfont": {"color": CALL_TEXT.get(call, "white"), "size": 11},
                "customdata": [
                    [k, call, formatting.money_exact(v), c]
                    for k, v, c in zip(keys, arr, n, strict=True)
                ],
                "hovertemplate": f"%{{x}} · {name}: %{{customdata[2]}}, "
                f"%{{customdata[3]:,}} renewals<br>{CLICK}<extra></extra>",
            }
        )
    top = float(totals["arr_up"].max())
    notes = [
        _total_note(xl, float(t), int(c), k)
        for xl, t, c, k in zip(x, totals["arr_up"], totals["renewals"], keys, strict=True)
    ]
    window = totals[totals["bucket"] != "overdue"]
    overdue = totals[totals["bucket"] == "overdue"]
    title = (
        f"{formatting.money(window['arr_up'].sum())} up for renewal in the next 4 quarters "
        f"({formatting.count(window['renewals'].sum())} renewals)"
    )
    late = float(overdue["arr_up"].sum())
    title += f"; {formatting.money(late)} overdue" if late else "; none overdue"
    return figure(
        data,
        title,
        barmode="stack",
        height=400,
        clickmode="event",
        annotations=notes,
        uniformtext={"minsize": 10, "mode": "hide"},
        margin={"t": 56, "b": 8, "l": 8, "r": 8},
        yaxis={"range": [0, top * 1.22], **value_axis(top * 1.15, "arr")},
        xaxis={"type": "category"},
        legend={"traceorder": "normal", "y": -0.14},
        hovermode="closest",
    )


# ---- at risk by reason and by quarter ----------------------------------------------------------
def reason_figure(by_reason: pd.DataFrame, quarter_buckets: list[Bucket]) -> Figure:
    """At-risk ARR per risk reason (the whole window), biggest on top, ARR and count beside each
    bar; the hover splits it by quarter. Each bar carries [reason key]."""
    if by_reason.empty:
        return empty_figure("", "No renewals at risk in the next 4 quarters or overdue")
    names = {b.key: b.label for b in quarter_buckets}
    parts: dict[str, dict[str, tuple[float, int]]] = {}  # reason -> bucket -> (ARR, count)
    for reason, bucket, arr, n in zip(
        by_reason["reason"], by_reason["bucket"], by_reason["arr_up"], by_reason["renewals"],
        strict=True,
    ):  # fmt: skip
        parts.setdefault(reason, {})[bucket] = (float(arr), int(n))
    rows = []
    for reason, part in parts.items():  # biggest first, as the service orders them
        split = "<br>".join(
            f"{names[k]}: {formatting.money(part[k][0])} ({part[k][1]:,})"
            for k in names
            if k in part
        )
        rows.append(
            (
                labels.label("risk_reason", reason),
                reason,
                sum(a for a, _ in part.values()),
                sum(n for _, n in part.values()),
                split,
            )
        )
    rows.reverse()  # plotly draws the first category at the bottom
    top = max(r[2] for r in rows)
    total = sum(r[2] for r in rows)
    first = rows[-1]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [r[0] for r in rows],
            "x": [r[2] for r in rows],
            "marker": {"color": AT_RISK_COLOR},
            "text": [
                f"{formatting.money(r[2])} · {r[3]:,} renewal{'' if r[3] == 1 else 's'}"
                for r in rows
            ],
            "textposition": "outside",
            "cliponaxis": False,
            "customdata": [[r[1], formatting.money_exact(r[2]), r[3], r[4]] for r in rows],
            "hovertemplate": "%{y}: %{customdata[1]}, %{customdata[2]:,} renewals<br>"
            f"%{{customdata[3]}}<br>{CLICK}<extra></extra>",
        }
    ]
    return figure(
        data,
        f"{first[0]} leads: {formatting.money(first[2])} of "
        f"{formatting.money(total)} at risk ({formatting.percent(first[2] / total)})",
        height=max(300, 90 + 34 * len(rows)),
        showlegend=False,
        clickmode="event",
        margin={"t": 48, "b": 8, "l": 8, "r": 8},
        xaxis={"range": [0, top * 1.45], **value_axis(top, "arr")},
        yaxis={"ticklabelstandoff": 4},
    )


def risk_by_quarter_figure(by_reason: pd.DataFrame, quarter_buckets: list[Bucket]) -> Figure:
    """At-risk ARR per quarter bucket (overdue first), ARR and count above each bar; each bar
    carries [bucket key]."""
    if by_reason.empty:
        return empty_figure("", "No renewals at risk in the next 4 quarters or overdue")
    sums = by_reason.groupby("bucket")[["arr_up", "renewals"]].sum()
    keys = [b.key for b in quarter_buckets]
    arr = [float(sums["arr_up"].get(k, 0.0)) for k in keys]
    n = [int(sums["renewals"].get(k, 0)) for k in keys]
    x = [_x_label(b) for b in quarter_buckets]
    top = max(arr) or 1.0
    soonest = next(
        ((b, a) for b, a in zip(quarter_buckets, arr, strict=True) if not b.overdue), None
    )
    late = arr[0]
    title = (
        f"{formatting.money(late)} at risk is already overdue"
        if late
        else f"{formatting.money(soonest[1])} at risk in {soonest[0].label}"
        if soonest
        else "At-risk ARR by quarter"
    )
    data = [
        {
            "type": "bar",
            "x": x,
            "y": arr,
            "marker": {"color": AT_RISK_COLOR},
            "customdata": [
                [k, formatting.money_exact(a), c] for k, a, c in zip(keys, arr, n, strict=True)
            ],
            "hovertemplate": "%{x}: %{customdata[1]} at risk, %{customdata[2]:,} renewals<br>"
            f"{CLICK}<extra></extra>",
        }
    ]
    notes = [_total_note(xl, a, c, k) for xl, a, c, k in zip(x, arr, n, keys, strict=True)]
    return figure(
        data,
        title,
        height=320,
        showlegend=False,
        clickmode="event",
        annotations=notes,
        margin={"t": 48, "b": 8, "l": 8, "r": 8},
        yaxis={"range": [0, top * 1.3], **value_axis(top * 1.2, "arr")},
        xaxis={"type": "category"},
    )


# ---- the top at-risk renewals ------------------------------------------------------------------
OVERDUE_STYLE = {
    "styleConditions": [
        {
            "condition": "params.data && params.data.overdue",
            "style": {"fontWeight": 600, "textDecoration": "underline dotted"},
        }
    ]
}
OVERDUE_TIP = {
    "function": "params.data && params.data.overdue ? "
    "'Overdue: not closed by the date of this view' : null"
}


def renewal_columns(with_overdue: bool = False) -> list[dict[str, Any]]:
    """Grid columns of open renewals (the top table; the open renewal list adds Overdue).
    Widths let every header and 'Health red, no reason given' show whole at 1280 px."""
    cols: list[dict[str, Any]] = [
        {
            "field": "name",
            "headerName": "Account",
            "pinned": "left",
            "minWidth": 170,
            "flex": 1.4,
            "cellClass": "link-cell",
            "tooltipField": "name",
        },
        money_column("arr_up", "ARR up", minWidth=90, maxWidth=110),
        {
            "field": "renewal_date",
            "headerName": "Renewal date",
            "valueFormatter": DATE,
            "cellStyle": OVERDUE_STYLE,
            "tooltipValueGetter": OVERDUE_TIP,
            "minWidth": 128,
            "maxWidth": 140,
        },
        {
            "field": "owner_name",
            "headerName": "Owner",
            "minWidth": 130,
            "maxWidth": 160,
            "tooltipField": "owner_name",
        },
        {
            "field": "call",
            "headerName": "Call",
            "valueFormatter": labels.label_formatter("forecast_call"),
            "minWidth": 100,
            "maxWidth": 115,
        },
        {
            "field": "band",
            "headerName": "Health",
            "valueFormatter": labels.label_formatter("band"),
            "cellStyle": BAND_STYLE,
            "minWidth": 80,
            "maxWidth": 95,
        },
        {
            "field": "driver",
            "headerName": "Driver",
            "valueFormatter": labels.label_formatter("health_component"),
            "headerTooltip": "The input that costs the health score most",
            "sortable": False,
            "minWidth": 115,
            "maxWidth": 135,
        },
        {
            "field": "reason",
            "headerName": "Risk reason",
            "valueFormatter": labels.label_formatter("risk_reason"),
            "tooltipValueGetter": labels.label_formatter("risk_reason"),
            "minWidth": 205,
            "flex": 2,
        },
        {
            "field": "close_plan",
            "headerName": "Close plan",
            "valueFormatter": labels.label_formatter("close_plan"),
            "minWidth": 105,
            "maxWidth": 120,
        },
    ]
    if with_overdue:
        cols.append(
            {
                "field": "overdue",
                "headerName": "Overdue",
                "valueFormatter": {"function": "params.value ? 'Overdue' : ''"},
                "minWidth": 90,
                "maxWidth": 105,
            }
        )
    return cols


def renewal_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Grid rows of open renewals (codes stay codes; the columns label them)."""
    return to_records(df)


def top_table(grid_id: str) -> Any:
    """The top at-risk renewals: one row per renewal (an account may renew twice)."""
    grid = records_grid(grid_id, renewal_columns(), row_id="renewal_id", height=480)
    grid.dashGridOptions = {
        **grid.dashGridOptions,
        "localeText": {"noRowsToShow": "No renewals at risk in the next 4 quarters or overdue"},
    }
    return grid


def top_footer(shown: int, total: int, href: str) -> list[Any]:
    """'The 10 biggest of 701 renewals at risk · All at-risk renewals →'."""
    if not total:
        return []
    return [
        f"The {shown:,} biggest of {total:,} renewals at risk. ",
        dcc.Link("All at-risk renewals →", href=href, id="rp-top-all"),
    ]
