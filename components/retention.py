"""Retention list builders: GRR/NRR tiles, the ARR waterfall, the list's grid and its totals line.

The list covers the 12 months to the as-of date by default, or a period (d0, d1] (from the ARR
bridge): then its words say "ARR on <d0>" / "ARR on <d1>" instead of "a year ago" / "now".
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting
from components.charts import Figure, empty_figure, figure
from components.grids import money_column, paged_grid, to_records
from components.kpi import definition_body
from components.shell import info_button
from components.theme import NEUTRAL
from services.metrics import metric

MOVEMENT_LABELS = {
    "churned": "Churned",
    "contracted": "Contracted",
    "expanded": "Expanded",
    "flat": "Flat",
    "new": "New",
}
# Each movement's wording comes from the metric registry (defined once, as on Definitions).
MOVEMENT_HELP = {
    "churned": f"{metric('churned_arr').definition} ({metric('churned_arr').formula})",
    "contracted": f"{metric('contraction_arr').definition} ({metric('contraction_arr').formula})",
    "expanded": f"{metric('expansion_arr').definition} ({metric('expansion_arr').formula})",
    "flat": "ARR at the end equals ARR at the start (a1 = a0).",
    "new": f"{metric('new_arr').definition} ({metric('new_arr').formula})",
    "at_end": "Every account paying at the end: the start's customers still paying and the new "
    "ones (Σ a1 = ARR at the end).",
}
ALL_LABEL = "All"  # the whole cohort: every account paying at the start
AT_END_LABELS = {False: "Paying now", True: "Paying at the end"}  # default period / a period


def movement_options(period: bool = False) -> list[dict[str, str]]:
    """The list's filter: the cohort (all), each movement, new accounts, the accounts paying at
    the end (`period`: the list covers a period other than the 12 months to the as-of date)."""
    return [
        {"label": ALL_LABEL, "value": ""},
        *({"label": label, "value": code} for code, label in MOVEMENT_LABELS.items()),
        {"label": AT_END_LABELS[period], "value": "at_end"},
    ]


SIGNED_MONEY = {
    "function": "params.value == null ? '–' : (params.value > 0 ? '+' : '') + compactMoney(params.value)"
}
COLUMNS = [
    {
        "field": "name",
        "headerName": "Account",
        "pinned": "left",
        "minWidth": 220,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {"field": "segment", "headerName": "Segment", "minWidth": 110},
    {"field": "owner_name", "headerName": "Owner", "minWidth": 140, "tooltipField": "owner_name"},
    money_column("start_arr", "ARR a year ago", minWidth=140),
    money_column("end_arr", "ARR now", minWidth=120),
    money_column("change", "Change", minWidth=120, valueFormatter=SIGNED_MONEY),
    {
        "field": "movement",
        "headerName": "Movement",
        "minWidth": 120,
        # The movement filter (above the grid) travels as this column's filter model, so
        # changing it makes the grid drop its cached blocks and ask the server again.
        "filter": "agTextColumnFilter",
        "filterParams": {"filterOptions": ["equals"], "maxNumConditions": 1},
        "suppressHeaderFilterButton": True,
        "suppressHeaderMenuButton": True,
    },
]
# Waterfall colours: neutral (green/amber/red mean health bands and nothing else).
TOTAL_COLOR, LOSS_COLOR, GAIN_COLOR = NEUTRAL[0], NEUTRAL[2], NEUTRAL[1]


def money_axis(low: float, high: float, ticks: int = 5) -> dict[str, Any]:
    """A money value axis from `low` to `high` with round ticks in the house format ($500K,
    $1.5M, $2B: never d3's "G" for billions)."""
    span = high - low
    if span <= 0:
        return {"range": [low, high]}
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    values = [first + i * step for i in range(int((high - first) / step) + 1)]
    return {
        "range": [low, high],
        "tickmode": "array",
        "tickvals": values,
        "ticktext": [formatting.money_tick(v) for v in values],
    }


def window_text(d0: date, d1: date, period: bool = False) -> str:
    """'12 months to 30 Sep 2026 · cohort: customers on 30 Sep 2025', or for a period
    'ARR on 30 Jun 2026 against ARR on 30 Sep 2026 · cohort: customers on 30 Jun 2026'."""
    if period:
        return (
            f"ARR on {d0:%d %b %Y} against ARR on {d1:%d %b %Y} · cohort: customers on "
            f"{d0:%d %b %Y}"
        )
    return f"12 months to {d1:%d %b %Y} · cohort: customers on {d0:%d %b %Y}"


def arr_headers(window: tuple[date, date] | None = None) -> tuple[str, str]:
    """What the two ARR columns are called: a year ago / now, or on each end of a period."""
    if window is None:
        return "ARR a year ago", "ARR now"
    return f"ARR on {window[0]:%d %b %Y}", f"ARR on {window[1]:%d %b %Y}"


def _signed_money(value: float) -> str:
    return ("+" if value > 0 else "") + formatting.money(value)


def _tile(name: str, value: float | None, tile_id: str) -> dbc.Card:
    m = metric(name)
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Span(m.card_label, className="kpi-label"),
                        *info_button(f"{tile_id}-info", m.label, definition_body(m)),
                    ],
                    className="d-flex align-items-center",
                ),
                html.Div(formatting.metric_value(m, value), className="kpi-value", id=tile_id),
            ]
        ),
        className="kpi-card mb-3",
    )


def summary_tiles(summary: dict[str, float | None], id_prefix: str) -> list[Any]:
    """GRR and NRR (as on the Portfolio cards), logo retention, the cohort's size and ARR."""
    logos = summary.get("logos_start") or 0
    return [
        _tile("grr", summary["grr"], f"{id_prefix}-grr"),
        _tile("nrr", summary["nrr"], f"{id_prefix}-nrr"),
        _tile("logo_retention", summary.get("logo_retention"), f"{id_prefix}-logos"),
        html.Div(
            [
                html.Span(formatting.count(logos), className="fw-bold"),
                " customers a year ago, with ",
                html.Span(formatting.money(summary["start_arr"]), className="fw-bold"),
                " ARR.",
            ],
            className="small text-muted",
        ),
    ]


def bridge_tiles(
    bridge: dict[str, float], id_prefix: str, twelve_months: tuple[str, date]
) -> list[Any]:
    """Start and end ARR of a period (the ARR bridge's ends), who moved in between, and a link
    to the 12 months to the as-of date (`twelve_months`: href, as-of date), where GRR/NRR are."""
    return [
        _tile("bridge_start_arr", bridge["start"], f"{id_prefix}-bridge-start"),
        _tile("bridge_end_arr", bridge["end"], f"{id_prefix}-bridge-end"),
        html.Div(
            [
                html.Span(formatting.count(bridge["start_accounts"]), className="fw-bold"),
                " customers at the start, ",
                html.Span(formatting.count(bridge["end_accounts"]), className="fw-bold"),
                " at the end, of whom ",
                html.Span(formatting.count(bridge["new_accounts"]), className="fw-bold"),
                " new. GRR and NRR cover 12 months: ",
                dcc.Link(
                    f"see the 12 months to {twelve_months[1]:%d %b %Y}",
                    href=twelve_months[0],
                    id=f"{id_prefix}-twelve-months",
                ),
                ".",
            ],
            className="small text-muted",
        ),
    ]


def waterfall_figure(summary: dict[str, float | None]) -> Figure:
    """ARR a year ago → churned → contracted → expanded → ARR now; each step carries its movement.

    Clicking a step filters the list to that movement (the two totals carry '' = all).
    """
    start = summary.get("start_arr") or 0.0
    if not start:
        return empty_figure("ARR movement", "No customers a year ago under these filters")
    churned = summary["churned_arr"] or 0.0
    contraction = summary["contraction_arr"] or 0.0
    expansion = summary["expansion_arr"] or 0.0
    end = summary["end_arr"] or 0.0
    steps = [
        ("ARR a year ago", "absolute", start, "", start),
        ("Churned", "relative", -churned, "churned", -churned),
        ("Contracted", "relative", -contraction, "contracted", -contraction),
        ("Expanded", "relative", expansion, "expanded", expansion),
        ("ARR now", "total", 0.0, "", end),
    ]
    trace = {
        "type": "waterfall",
        "x": [s[0] for s in steps],
        "measure": [s[1] for s in steps],
        "y": [s[2] for s in steps],
        "customdata": [[s[3], f"${abs(s[4]):,.0f}"] for s in steps],
        "text": [
            formatting.money(v) if measure != "relative" else _signed_money(v)
            for _, measure, _, _, v in steps
        ],
        "textposition": "outside",
        "cliponaxis": False,
        "connector": {"line": {"color": "#c9d1db", "width": 1}},
        "increasing": {"marker": {"color": GAIN_COLOR}},
        "decreasing": {"marker": {"color": LOSS_COLOR}},
        "totals": {"marker": {"color": TOTAL_COLOR}},
        "hovertemplate": "%{x}: %{customdata[1]}<extra></extra>",
    }
    lost = churned + contraction
    grr, nrr = formatting.percent(summary["grr"]), formatting.percent(summary["nrr"])
    if expansion >= lost:
        takeaway = (
            f"expansion of {formatting.money(expansion)} outweighed {formatting.money(lost)} lost"
        )
    else:
        takeaway = (
            f"{formatting.money(lost)} lost outweighed {formatting.money(expansion)} expansion"
        )
    top = max(start, end, start + expansion - lost, start - churned) * 1.15
    return figure(
        [trace],
        f"GRR {grr}, NRR {nrr}: {takeaway}",
        height=330,
        showlegend=False,
        clickmode="event",
        hovermode="x",  # the whole column hovers and clicks, however thin the step
        yaxis=money_axis(0, top),
    )


def movement_filter_model(movement: str) -> dict[str, Any]:
    """The grid filter model that carries the movement filter (the server applies it)."""
    if not movement:
        return {}
    return {"movement": {"filterType": "text", "type": "equals", "filter": movement}}


def movement_from_filter_model(model: Any) -> str:
    """The movement inside a grid filter model from the client ('' when none or malformed)."""
    entry = model.get("movement") if isinstance(model, dict) else None
    return str(entry.get("filter") or "")[:40] if isinstance(entry, dict) else ""


def retention_grid(
    grid_id: str,
    movement: str = "",
    sort: tuple[tuple[str, str], ...] = (),
    window: tuple[date, date] | None = None,
) -> dag.AgGrid:
    """Server-paged grid of the list: the movement travels as the grid's filter model; the ARR
    columns name the period's days when `window` (d0, d1) is given."""
    start, end = arr_headers(window)
    headers = {"start_arr": start, "end_arr": end}
    columns = [
        {**c, "headerName": headers[c["field"]]} if c["field"] in headers else c for c in COLUMNS
    ]
    return paged_grid(
        grid_id, columns, movement_filter_model(movement), sort, 560, "retention-grid"
    )


def retention_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Grid rows with the movement's human label."""
    return to_records(df.assign(movement=df["movement"].map(MOVEMENT_LABELS)))


def totals_line(
    totals: dict[str, float],
    movement: str,
    id_prefix: str,
    window: tuple[date, date] | None = None,
) -> list[Any]:
    """'307 churned accounts · ARR a year ago $10.0M · ARR now $0 · change -$10.0M' (for a
    period `window`, 'ARR on 30 Jun 2026 ...')."""
    if movement == "at_end":
        what = "accounts paying at the end" if window else "accounts paying now"
    else:
        what = f"{MOVEMENT_LABELS[movement].lower()} accounts" if movement else "accounts"
    start, end = arr_headers(window)
    return [
        html.Span(
            formatting.count(totals["accounts"]), id=f"{id_prefix}-count", className="fw-bold"
        ),
        f" {what} · {start} ",
        html.Span(
            formatting.money(totals["start_arr"]), id=f"{id_prefix}-start-arr", className="fw-bold"
        ),
        f" · {end} ",
        html.Span(
            formatting.money(totals["end_arr"]), id=f"{id_prefix}-end-arr", className="fw-bold"
        ),
        " · change ",
        html.Span(_signed_money(totals["change"]), id=f"{id_prefix}-change", className="fw-bold"),
    ]
