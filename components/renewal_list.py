"""Renewal list builders for open renewals (status=open): columns, the drill chips saying what the
list is narrowed to, and the totals line (whose count and ARR equal the bar clicked)."""

from __future__ import annotations

from typing import Any

from dash import html

from components import formatting, labels
from components.renewals_pipeline import renewal_columns
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
