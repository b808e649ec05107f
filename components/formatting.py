"""Number formatting shared by cards, tables, charts and exports: $1.2M, 12.3%, 67.1."""

from __future__ import annotations

import math
from typing import Any

from services.metrics import Metric


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None) -> str:
    if _missing(value):
        return "–"
    sign = "-" if value < 0 else ""
    v = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if v >= limit:
            return f"{sign}${v / limit:.1f}{suffix}"
    return f"{sign}${v:,.0f}"


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
