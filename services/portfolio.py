"""Portfolio KPIs: each value now and 90 days earlier, from retention and health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.db import Database
from services.filters import Filters
from services.health import health_summary, previous_snapshot
from services.retention import trailing_retention

KPI_ORDER = ("arr", "accounts", "avg_health", "pct_arr_red", "grr", "nrr", "health_coverage")


@dataclass(frozen=True)
class KpiValue:
    """A KPI's value now and at the comparison date (None when not computable)."""

    name: str
    value: float | None
    previous: float | None
    previous_date: date | None


def _kpis_at(db: Database, filters: Filters, snapshot: date) -> dict[str, float | None]:
    health = health_summary(db, filters, snapshot)
    retention = trailing_retention(db, filters, snapshot)
    return {**health, "grr": retention["grr"], "nrr": retention["nrr"]}


def portfolio_kpis(db: Database, filters: Filters, snapshot: date) -> list[KpiValue]:
    """The portfolio page's KPI cards at `snapshot`, each with its value ~90 days earlier."""
    now = _kpis_at(db, filters, snapshot)
    before_date = previous_snapshot(db, snapshot)
    before = _kpis_at(db, filters, before_date) if before_date else {}
    return [KpiValue(k, now.get(k), before.get(k), before_date) for k in KPI_ORDER]
