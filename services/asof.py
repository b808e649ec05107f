"""Resolve the as-of date of a view: the data's "today" by default, snapped to the weekly grid.

Health is materialised every 7 days back from the build's as-of date, so every view snaps the
requested date to the latest snapshot on or before it. ARR, retention and health then all
describe the same day, and drill-down totals match the numbers they came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.cache import memoize
from services.db import Database
from services.filters import Filters


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


def resolve_as_of(db: Database, filters: Filters) -> AsOf:
    """Snap the filters' as-of date to the weekly grid, clamped to the data's range."""
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
    if requested < grid[0]:
        return AsOf(
            grid[0],
            requested,
            data_as_of,
            f"Health history starts on {grid[0]:%d %b %Y}; showing that date instead of "
            f"{requested:%d %b %Y}.",
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
