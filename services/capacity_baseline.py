"""The books summarised for the what-if scenario: per segment, today's customers, ARR, workload
points, trailing new logos and logo churn, and what a coverage change would save; the active
CSMs as FTE. Summarised once per view (memoised), so a scenario recomputes as arithmetic.

Everything is as of the view's date (point in time): the customers, ARR and health of that
snapshot (services/workload.py `account_workload`), the CSMs employed then (`csm_capacity`),
new logos whose first contract started in the 12 months to the date, and the logo retention of
the cohort a year earlier (ARCHITECTURE §4 "Cohort movement", services/retention.py).

Under a segment, tier or region filter a CSM's book is partly outside the view, so the CSM
counts the share of their capacity their points in the view take of their whole book; under a
team or owner filter (or none) every CSM counts whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.health_model import BANDS
from services.retention import cohort_movement
from services.sql_fragments import year_before
from services.workload import (
    SEGMENTS,
    TIERS,
    WorkloadParams,
    account_workload,
    csm_capacity,
)

# Coverage tiers from the most touch to the least: a coverage change only moves an account to
# a lighter tier than its own.
LIGHTER_TIERS = ("pooled", "tech-touch")
TRAILING_QUARTERS = 4


@dataclass(frozen=True, eq=False)
class SegmentBase:
    """One segment's books on the view's date and its trailing year."""

    segment: str
    accounts: int
    arr: float
    points: float  # workload points (health-weighted when the model weighs health)
    median_arr: float  # of the segment's customers: a new logo's ARR (0 without customers)
    new_logos: int  # first contract started in the 12 months to the date
    cohort_logos: int  # customers a year before the date ...
    cohort_retained: int  # ... still customers on the date
    # Coverage change: the customers' ARR ascending, and the cumulative points saved by
    # moving the customers up to each position to each lighter tier (0 for one already there).
    arr_sorted: np.ndarray = field(repr=False)
    saving: dict[str, np.ndarray] = field(repr=False)

    @property
    def growth_actual(self) -> float:
        """Trailing new logos a quarter as a share of today's customers (0 without any)."""
        if not self.accounts:
            return 0.0
        return self.new_logos / TRAILING_QUARTERS / self.accounts

    @property
    def churn_actual(self) -> float:
        """Trailing logo churn a quarter: 1 − (logo retention over 12 months)^(1/4)."""
        if not self.cohort_logos:
            return 0.0
        retention = self.cohort_retained / self.cohort_logos
        return 1.0 - retention ** (1.0 / TRAILING_QUARTERS)

    def points_saved(self, below_arr: float, to_tier: str) -> float:
        """Points saved by moving the customers with ARR under `below_arr` to `to_tier`."""
        moved = int(np.searchsorted(self.arr_sorted, below_arr, side="left"))
        return float(self.saving[to_tier][moved - 1]) if moved else 0.0

    def accounts_below(self, below_arr: float) -> int:
        return int(np.searchsorted(self.arr_sorted, below_arr, side="left"))


@dataclass(frozen=True, eq=False)
class Baseline:
    """What the scenario starts from: the view's date, the segments and the team."""

    day: date
    segments: tuple[SegmentBase, ...]  # in SEGMENTS order, every segment (empty ones too)
    capacity_points: float  # the workload model's capacity per CSM: one FTE
    # Active CSMs: FTE (capacity / capacity_points, times the share serving the view) and hire
    # date (None when unknown).
    csm_fte: tuple[float, ...]
    csm_hired: tuple[date | None, ...]
    departed_csms: int  # departed CSMs who still own customers (their books are open)
    open_book_accounts: int  # customers whose owner has left or is missing

    @property
    def accounts(self) -> int:
        return sum(s.accounts for s in self.segments)

    @property
    def points(self) -> float:
        return sum(s.points for s in self.segments)

    @property
    def active_csms(self) -> int:
        return len(self.csm_fte)

    def segment(self, name: str) -> SegmentBase:
        return next(s for s in self.segments if s.segment == name)


@memoize
def trailing_new_logos(db: Database, filters: Filters, day: date) -> pd.DataFrame:
    """New logos per segment: customers in the filters whose first contract (with ARR) started
    in the 12 months to `day` (year_before(day) < first start <= day). Columns: segment,
    new_logos. Contracts starting after `day` are not known on `day`."""
    where, params = filters.where("ad")
    return db.query(
        f"""
        SELECT ad.segment, COUNT(*) AS new_logos
        FROM (SELECT account_id, MIN(start_date) AS first_start
              FROM contracts WHERE arr > 0 AND start_date <= ?
              GROUP BY account_id) f
        JOIN account_dim ad ON ad.account_id = f.account_id
        WHERE f.first_start > ? AND {where}
        GROUP BY ad.segment
        """,
        [day, year_before(day), *params],
    )


def _segment_base(
    name: str,
    books: pd.DataFrame,
    workload: WorkloadParams,
    new_logos: int,
    cohort: tuple[int, int],
) -> SegmentBase:
    rows = books[books["segment"] == name].sort_values("arr", kind="stable")
    arr = rows["arr"].to_numpy(dtype=float)
    points = rows["points"].to_numpy(dtype=float)
    bands = rows["band"].to_numpy(dtype=object)
    weights = np.ones(len(rows))
    for band in BANDS:
        weights[bands == band] = workload.band_weight(band)
    tiers = rows["coverage_tier"].to_numpy(dtype=object)
    rank = np.zeros(len(rows), dtype=int)
    for i, tier in enumerate(TIERS):
        rank[tiers == tier] = i
    saving = {}
    for to_tier in LIGHTER_TIERS:
        heavier = rank < TIERS.index(to_tier)
        moved_points = workload.points_for(name, to_tier) * weights
        saving[to_tier] = np.cumsum(np.where(heavier, points - moved_points, 0.0))
    return SegmentBase(
        segment=name,
        accounts=len(rows),
        arr=float(arr.sum()),
        points=float(points.sum()),
        median_arr=float(np.median(arr)) if len(arr) else 0.0,
        new_logos=new_logos,
        cohort_logos=cohort[0],
        cohort_retained=cohort[1],
        arr_sorted=arr,
        saving=saving,
    )


def _capacity_shares(
    db: Database,
    filters: Filters,
    day: date,
    workload: WorkloadParams,
    books: pd.DataFrame,
    active: pd.DataFrame,
) -> list[float]:
    """Each active CSM's share of capacity that serves the view. A segment, tier or region
    filter keeps only part of a CSM's book: the CSM then counts the share their points in the
    view take of their whole book (the rest of their capacity serves customers outside it)."""
    if not (filters.segment or filters.tier or filters.region):
        return [1.0] * len(active)
    whole = Filters(team=filters.team, owner=filters.owner, as_of=filters.as_of)
    everything = account_workload(db, whole, day, workload).groupby("owner_csm_id")["points"].sum()
    inside = books.groupby("owner_csm_id")["points"].sum()
    shares = []
    for csm in active["csm_id"]:
        total = float(everything.get(csm, 0.0))
        shares.append(float(inside.get(csm, 0.0)) / total if total > 0 else 1.0)
    return shares


def scenario_baseline(
    db: Database, filters: Filters, day: date, workload: WorkloadParams
) -> Baseline:
    """Today's books and team under the filters on `day` (a snapshot date), summarised. The
    target utilisation is a scenario input that the books do not depend on: changing it
    reuses the cached summary (~0.4 s cold at 100k accounts)."""
    return _baseline(db, filters, day, workload.book_model())


@memoize
def _baseline(db: Database, filters: Filters, day: date, workload: WorkloadParams) -> Baseline:
    books = account_workload(db, filters, day, workload)
    team = csm_capacity(db, filters, day, workload)
    new = trailing_new_logos(db, filters, day)
    new_by_segment = dict(zip(new["segment"], new["new_logos"].astype(int), strict=True))
    cohort = cohort_movement(db, filters, year_before(day), day, "segment")
    cohort_by_segment = {
        row.grp: (int(row.logos_start), int(row.logos_retained)) for row in cohort.itertuples()
    }
    active = team[team["state"] == "active"]
    hired = [None if pd.isna(h) else pd.Timestamp(h).date() for h in active["hire_date"]]
    shares = _capacity_shares(db, filters, day, workload, books, active)
    return Baseline(
        day=day,
        segments=tuple(
            _segment_base(
                name,
                books,
                workload,
                new_by_segment.get(name, 0),
                cohort_by_segment.get(name, (0, 0)),
            )
            for name in SEGMENTS
        ),
        capacity_points=workload.capacity_points,
        csm_fte=tuple(
            float(c) * share / workload.capacity_points
            for c, share in zip(active["capacity"], shares, strict=True)
        ),
        csm_hired=tuple(hired),
        departed_csms=int((team["state"] == "departed").sum()),
        open_book_accounts=int((books["owner_state"] != "active").sum()),
    )
