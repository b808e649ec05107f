"""The fiscal calendar, once: fiscal years and quarters counted from the fiscal-year start
month (CSOPS_FISCAL_YEAR_START_MONTH; 1 = calendar years), and their names.

A fiscal year is named by the calendar year it ends in (FY2027 runs Feb 2026 - Jan 2027 when
it starts in February); calendar quarters read "Q4 2026", fiscal ones "Q3 FY2027".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.settings import load_settings


def add_months(d: date, months: int) -> date:
    """The first of the month `months` after d's month (d must be a first of a month)."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _start_month(fy_month: int | None) -> int:
    return fy_month or load_settings().fiscal_year_start_month


def fiscal_month_index(d: date, fy_month: int) -> int:
    """Months since the start of `d`'s fiscal year (0-11)."""
    return (d.month - fy_month) % 12


def quarter_start(d: date, fy_month: int | None = None) -> date:
    """The first day of the fiscal quarter holding `d`."""
    fy = _start_month(fy_month)
    return add_months(date(d.year, d.month, 1), -(fiscal_month_index(d, fy) % 3))


def year_start(d: date, fy_month: int | None = None) -> date:
    """The first day of the fiscal year holding `d`."""
    fy = _start_month(fy_month)
    return add_months(date(d.year, d.month, 1), -fiscal_month_index(d, fy))


@dataclass(frozen=True)
class FiscalYear:
    """The fiscal year holding a day: [start, end), named by the calendar year it ends in."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return str(self.last_day.year) if self.start.month == 1 else f"FY{self.last_day.year}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def fiscal_year(day: date, fy_month: int | None = None) -> FiscalYear:
    """The fiscal year of `day`."""
    start = year_start(day, fy_month)
    return FiscalYear(start, add_months(start, 12))


def quarter_name(first: date, fy_month: int | None = None) -> str:
    """'Q4 2026' (calendar quarters) or 'Q3 FY2027' (a fiscal year starting another month)."""
    fy = _start_month(fy_month)
    number = fiscal_month_index(first, fy) // 3 + 1
    return f"Q{number} {fiscal_year(first, fy).label}"
