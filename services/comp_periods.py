"""Bonus periods on the fiscal calendar: fiscal quarters, halves and years (services/fiscal.py).

A period is [start, end); its key (`Q-2026-08-01`, `H-2026-02-01`, `Y-2026-02-01`) is what a
URL carries, its label ("Q3 FY2027", "H1 FY2027", "FY2027") what a person reads. A period is
closed once the data covers its last day: its numbers can no longer change, so no plan change
may reach back into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from services.errors import ServiceError
from services.fiscal import _start_month, add_months, fiscal_month_index, fiscal_year

KINDS = ("quarter", "half", "year")
KIND_LABELS = {"quarter": "Quarter", "half": "Half year", "year": "Year"}
MONTHS = {"quarter": 3, "half": 6, "year": 12}
_LETTER = {"quarter": "Q", "half": "H", "year": "Y"}
_KIND_OF = {letter: kind for kind, letter in _LETTER.items()}
KEY = re.compile(r"^([QHY])-(\d{4})-(\d{2})-01$")


class InvalidPeriod(ServiceError):
    """A period key that names no fiscal period."""


@dataclass(frozen=True, order=True)
class Period:
    """A bonus period [start, end) of a kind (quarter, half or year)."""

    start: date
    end: date
    kind: str

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def key(self) -> str:
        return f"{_LETTER[self.kind]}-{self.start.isoformat()}"

    @property
    def year_fraction(self) -> float:
        """The share of a year the period is (an annual on-target bonus times this)."""
        return MONTHS[self.kind] / 12

    def label(self, fy_month: int | None = None) -> str:
        fy = _start_month(fy_month)
        year = fiscal_year(self.start, fy).label
        index = fiscal_month_index(self.start, fy) // MONTHS[self.kind] + 1
        if self.kind == "year":
            return year
        return f"{_LETTER[self.kind]}{index} {year}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def to_date(self, as_of: date) -> date:
        """The last day with data: the period's last day, or the as-of day inside it."""
        return min(self.last_day, as_of)

    def closed(self, as_of: date) -> bool:
        """The data covers the whole period (its numbers are final)."""
        return self.last_day <= as_of

    def previous(self) -> Period:
        return Period(add_months(self.start, -MONTHS[self.kind]), self.start, self.kind)

    def next(self) -> Period:
        return Period(self.end, add_months(self.end, MONTHS[self.kind]), self.kind)


def period_of(day: date, kind: str, fy_month: int | None = None) -> Period:
    """The period of `kind` holding `day`."""
    if kind not in KINDS:
        raise InvalidPeriod(f"A bonus period is a quarter, a half year or a year, not {kind!r}.")
    fy = _start_month(fy_month)
    first = date(day.year, day.month, 1)
    start = add_months(first, -(fiscal_month_index(first, fy) % MONTHS[kind]))
    return Period(start, add_months(start, MONTHS[kind]), kind)


def is_period_start(day: date, kind: str, fy_month: int | None = None) -> bool:
    return period_of(day, kind, fy_month).start == day


def parse_period(key: object, fy_month: int | None = None) -> Period:
    """The period a key names; InvalidPeriod (a message for the page) if it names none."""
    match = KEY.match(str(key or "").strip())
    if not match:
        raise InvalidPeriod(f"{str(key)[:40]!r} is not a bonus period (e.g. Q-2026-08-01).")
    kind = _KIND_OF[match.group(1)]
    try:
        start = date(int(match.group(2)), int(match.group(3)), 1)
    except ValueError as exc:
        raise InvalidPeriod(f"{str(key)[:40]!r} is not a bonus period.") from exc
    period = period_of(start, kind, fy_month)
    if period.start != start:
        raise InvalidPeriod(
            f"{key} does not start a fiscal {kind}; {period.key} is the one holding that month."
        )
    return period


def recent_periods(as_of: date, kind: str, count: int, fy_month: int | None = None) -> list[Period]:
    """The period holding `as_of` and the `count - 1` before it, newest first."""
    periods = [period_of(as_of, kind, fy_month)]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods
