"""Renewal list builders for open renewals (status=open) and for the renewals behind a forecast
backtest quarter (backtest=): columns, the drill chips saying what the list is narrowed to, and
the totals line (whose count and sums equal the number clicked)."""

from __future__ import annotations

from typing import Any

from dash import html

from components import formatting, labels
from components.grids import BAND_STYLE, DATE, PERCENT, money_column, to_records
from components.renewals_pipeline import renewal_columns
from services.forecast_accuracy import Quarter
from services.metrics import metric
from services.renewal_hygiene import HYGIENE_CHECKS
from services.renewal_list import MISSING_ANY, OpenDrill

OPEN_COLUMNS = renewal_columns(with_overdue=True)


def open_subtitle(day: Any) -> str:
    return (
        f"Renewals open on {day:%d %b %Y} (not closed by then), with the CSM's call and health "
        "as known on that date"
    )


def open_drill_chips(drill: OpenDrill) -> list[Any]:
    """One chip per narrowing: renewal dates, call, at risk, reason, overdue, failing checks."""
    chips = []
    if drill.first and drill.last:
        chips.append(f"Renewal date {drill.first:%d %b %Y} to {drill.last:%d %b %Y}")
    elif drill.first:
        chips.append(f"Renewal date from {drill.first:%d %b %Y}")
    elif drill.last:
        chips.append(f"Renewal date up to {drill.last:%d %b %Y} (overdue ones included)")
    if drill.category:
        chips.append(f"Call: {labels.label('forecast_call', drill.category)}")
    if drill.at_risk:
        chips.append("At risk (call At risk or Churn, or health red)")
    if drill.reason:
        chips.append(f"Risk reason: {labels.label('risk_reason', drill.reason)}")
    if drill.overdue:
        chips.append("Overdue: dated before this date, not closed")
    if MISSING_ANY in drill.missing:
        chips.append("Failing any hygiene check")
    else:
        chips += [HYGIENE_CHECKS[m][0] for m in drill.missing]
    return [html.Span(c, className="drill-chip") for c in chips]


def open_totals_line(totals: dict[str, float]) -> list[Any]:
    """'701 open renewals · ARR up $33.7M · at risk $33.7M'."""
    n = totals["renewals"]
    return [
        html.Span(formatting.count(n), id="renewals-count", className="fw-bold"),
        f" open renewal{'' if n == 1 else 's'} · ARR up ",
        html.Span(formatting.money(totals["arr_up"]), id="renewals-arr-up", className="fw-bold"),
        " · at risk ",
        html.Span(
            formatting.money(totals["at_risk_arr"]),
            id="renewals-at-risk-arr",
            className="fw-bold",
        ),
        f" ({formatting.count(totals['at_risk_renewals'])} renewals)",
    ]


# ---- the renewals behind a forecast backtest quarter (backtest=) ---------------------------------
BACKTEST_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "name",
        "headerName": "Account",
        "pinned": "left",
        "minWidth": 150,
        "flex": 1.4,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {"field": "owner_name", "headerName": "Owner", "minWidth": 130, "tooltipField": "owner_name"},
    {"field": "segment", "headerName": "Segment", "minWidth": 110},
    {
        "field": "renewal_date",
        "headerName": "Renewal date",
        "valueFormatter": DATE,
        "minWidth": 118,
    },
    money_column("arr_up", "ARR up", minWidth=88),
    {
        "field": "band",
        "headerName": "Band then",
        "headerTooltip": "The account's health band on the forecast date (the one the model used)",
        "valueFormatter": labels.label_formatter("band"),
        "cellStyle": BAND_STYLE,
        "wrapHeaderText": True,
        "autoHeaderHeight": True,
        "minWidth": 95,
    },
    {
        "field": "p",
        "headerName": "Model rate",
        "headerTooltip": "The renewal rate (ARR) the model gave this renewal on the forecast date",
        "valueFormatter": PERCENT,
        "type": "rightAligned",
        "wrapHeaderText": True,
        "autoHeaderHeight": True,
        "minWidth": 98,
    },
    money_column(
        "expected",
        "Model expected kept",
        headerTooltip="ARR up × model rate",
        wrapHeaderText=True,
        autoHeaderHeight=True,
        minWidth=110,
    ),
    {
        "field": "call",
        "headerName": "CSM call then",
        "headerTooltip": "The CSM's call as it stood on the forecast date",
        "valueFormatter": labels.label_formatter("forecast_call"),
        "wrapHeaderText": True,
        "autoHeaderHeight": True,
        "minWidth": 100,
    },
    money_column(
        "kept",
        "Actual kept",
        headerTooltip=metric("forecast_actual").definition,
        minWidth=105,
    ),
    {
        "field": "outcome",
        "headerName": "Outcome",
        "headerTooltip": "As known on the date viewed (Open: not closed yet, counted as not kept)",
        "valueFormatter": labels.label_formatter("outcome"),
        "minWidth": 118,
    },
]


def backtest_records(df: Any) -> list[dict[str, Any]]:
    return to_records(df)


def backtest_subtitle(quarter: Quarter, forecast_on: Any, day: Any) -> str:
    on = f"{forecast_on:%d %b %Y}" if forecast_on else "the quarter's start"
    return (
        f"Forecast backtest of {quarter.label}: the renewals open on {on} (the forecast date) "
        f"with a renewal date from {quarter.start:%d %b %Y} to {quarter.last:%d %b %Y}, with "
        f"the band, model rate and CSM call as they stood then, and what they kept as known on "
        f"{day:%d %b %Y}"
    )


def backtest_chips(quarter: Quarter) -> list[Any]:
    return [html.Span(f"Forecast backtest: {quarter.label}", className="drill-chip")]


def backtest_totals_line(totals: dict[str, Any]) -> list[Any]:
    """'412 renewals · ARR up $20.1M · model expected $17.9M · actually kept $17.2M (3 still
    open)': the quarter's row of the accuracy table."""
    n = totals["renewals"]
    still = totals["still_open"]
    return [
        html.Span(formatting.count(n), id="renewals-count", className="fw-bold"),
        f" renewal{'' if n == 1 else 's'} · ARR up ",
        html.Span(formatting.money(totals["arr_up"]), id="renewals-arr-up", className="fw-bold"),
        " · model expected kept ",
        html.Span(
            formatting.money(totals["expected"]), id="renewals-expected", className="fw-bold"
        ),
        " · actual kept ",
        html.Span(formatting.money(totals["kept"]), id="renewals-kept", className="fw-bold"),
        f" ({formatting.count(still)} still open, counted as not kept)" if still else "",
    ]
