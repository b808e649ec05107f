"""Resolve the as-of date of a view: the data's "today" by default, snapped to the weekly grid.

Health is materialised every 7 days back from the build's as-of date, so every view snaps the
requested date to the latest snapshot on or before it. ARR, retention and health then all
describe the same day, and drill-down totals match the numbers they came from.

The earliest date offered is the first snapshot whose every view is complete
(`earliest_complete_as_of`): the health model's validation needs a year of renewal dates, each
scored on a snapshot `validation_lead_days` before it, so the first year and a quarter of the
grid is history for later dates, not a date to view (docs/DECISIONS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.settings import load_settings
from services.sql_fragments import year_before


@dataclass(frozen=True)
class AsOf:
    """The date a view describes, and why it differs from what was asked, if it does."""

    date: date
    requested: date | None
    data_as_of: date
    notice: str | None = None


@memoize
def snapshot_dates(db: Database) -> list[date]:
    """Every weekly health snapshot date, oldest first."""
    df = db.query("SELECT snapshot_date FROM snapshot_dates ORDER BY snapshot_date")
    return [d.date() for d in df["snapshot_date"]]


def earliest_complete_as_of(db: Database) -> date:
    """The first snapshot date on which every view is complete: the picker's first date.

    The strictest view is the health model's validation: it scores each renewal dated in
    (year_before(d), d] on the snapshot on or before its date minus the lead time (within the
    week before). Every such renewal date r has that snapshot iff r - lead >= the first
    snapshot, i.e. iff year_before(d) + 1 day - lead >= first. The other views need less
    history (26 weeks of band history, the 90-day KPI comparison). A grid too short for any
    complete date offers only its last date (the data's as-of).
    """
    grid = snapshot_dates(db)
    lead = load_settings().validation_lead_days
    complete = [d for d in grid if year_before(d) + timedelta(days=1 - lead) >= grid[0]]
    return complete[0] if complete else grid[-1]


def resolve_as_of(db: Database, filters: Filters) -> AsOf:
    """Snap the filters' as-of date to the weekly grid, clamped to the dates views offer:
    from `earliest_complete_as_of` to the data's as-of date."""
    data_as_of = db.info().as_of_date
    grid = snapshot_dates(db)
    requested = filters.as_of
    if requested is None:
        return AsOf(data_as_of, None, data_as_of)
    if requested > data_as_of:
        return AsOf(
            data_as_of,
            requested,
            data_as_of,
            f"The data ends on {data_as_of:%d %b %Y}; showing that date instead of "
            f"{requested:%d %b %Y}.",
        )
    earliest = earliest_complete_as_of(db)
    if requested < earliest:
        return AsOf(
            earliest,
            requested,
            data_as_of,
            f"The earliest date with complete history is {earliest:%d %b %Y} (health history "
            f"starts on {grid[0]:%d %b %Y}, and the health model's validation needs a year of "
            f"renewals each scored {load_settings().validation_lead_days} days ahead); showing "
            f"{earliest:%d %b %Y} instead of {requested:%d %b %Y}.",
        )
    snapped = max(d for d in grid if d <= requested)
    notice = (
        None
        if snapped == requested
        else (
            f"Showing the weekly snapshot of {snapped:%d %b %Y} (the latest on or before "
            f"{requested:%d %b %Y})."
        )
    )
    return AsOf(snapped, requested, data_as_of, notice)


def shift_to_grid(db: Database, day: date) -> date | None:
    """The latest snapshot on or before `day`, or None if `day` precedes the grid."""
    earlier = [d for d in snapshot_dates(db) if d <= day]
    return earlier[-1] if earlier else None
