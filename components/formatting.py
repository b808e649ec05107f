"""Number formatting shared by cards, tables, charts and exports: $1.2M, 12.3%, 67.1."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from services.metrics import Metric


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _round_half_up(value: float, digits: int) -> float:
    """Round like JavaScript's `toFixed` (ties away from zero on the exact binary value)."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return float(exact)


# Compact money: the largest unit in which the *rounded* value stays below 1,000.
# assets/dashAgGridFunctions.js `compactMoney` applies the same rules in the grids.
MONEY_UNITS = ((1.0, "", 0), (1e3, "K", 1), (1e6, "M", 1), (1e9, "B", 1))


def money(value: float | None) -> str:
    """Compact money for cards, grids and axes: $950, $12.5K, $1.0M, -$3.4M, $2.5B.

    Rounds first, then picks the unit, so 999,950 is $1.0M (never $1000.0K).
    """
    if _missing(value):
        return "–"
    v = abs(float(value))
    limit, suffix, digits = next(
        (u for u in MONEY_UNITS if _round_half_up(v / u[0], u[2]) < 1000), MONEY_UNITS[-1]
    )
    shown = _round_half_up(v / limit, digits)
    sign = "-" if value < 0 and shown != 0 else ""
    return f"{sign}${shown:,.{digits}f}{suffix}"


def money_exact(value: float | None) -> str:
    """The exact amount to the dollar, shown on hover beside a compact figure: $5,305,120."""
    if _missing(value):
        return "–"
    sign = "-" if value < 0 and round(abs(value)) != 0 else ""
    return f"{sign}${_round_half_up(abs(float(value)), 0):,.0f}"


def money_tick(value: float) -> str:
    """An axis tick in the money format without a trailing ".0": $0, $500K, $1.5M, $2B."""
    return re.sub(r"\.0(?=[KMB]$)", "", money(value))


def date(value: Any) -> str:
    """The one date format on screen: 05 Nov 2026 ("–" when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–"
    return f"{pd.Timestamp(value):%d %b %Y}"


def percent(value: float | None) -> str:
    return "–" if _missing(value) else f"{100 * value:.1f}%"


def count(value: float | None) -> str:
    return "–" if _missing(value) else f"{value:,.0f}"


def score(value: float | None) -> str:
    return "–" if _missing(value) else f"{value:.1f}"


def ratio(value: float | None) -> str:
    return "–" if _missing(value) else f"{value:.1f}×"


FORMATTERS = {
    "money": money,
    "percent": percent,
    "count": count,
    "score": score,
    "ratio": ratio,
    "days": count,
}


def metric_value(metric: Metric, value: float | None) -> str:
    return FORMATTERS[metric.unit](value)


def metric_delta(metric: Metric, value: float | None, previous: float | None) -> tuple[str, str]:
    """Change text and its tone ('good', 'bad', 'flat') given whether higher is better."""
    if _missing(value) or _missing(previous):
        return "no comparison", "flat"
    diff = value - previous
    if metric.unit == "percent":
        text = f"{100 * diff:+.1f} pts"
    elif metric.unit == "money":
        text = ("+" if diff >= 0 else "-") + money(abs(diff))
    elif metric.unit == "count":
        text = f"{diff:+,.0f}"
    else:
        text = f"{diff:+.1f}"
    if abs(diff) < 1e-9:
        return text, "flat"
    better = (diff > 0) == metric.higher_is_better
    return text, "good" if better else "bad"
