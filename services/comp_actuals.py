"""Compensation actuals: every bonus metric per person for a period, to date and projected.

`period_measures` is what attainment, targets, payouts, fairness and statements compute with:
per person in scope (services/comp_actuals_people.py) and metric of `METRICS`
(services/comp_plan.py, whose definitions are the contract), the actual to date with its
numerator and denominator, and the whole period projected from the renewal forecast of the
as-of date with an 80% range, best and worst cases. `attributed_lines` lists the renewals and
expansions that count for a person, with whom they were credited to and why.

Projection for the rest of the period (to_date, last day]: the open renewals due by the
period's end (overdue ones included) at the forecast's p (services/renewal_forecast.py), each an
independent draw: expected = to date + Σ arr_up·p, range = expected ± 1.2816·√Σ arr_up²·p·(1−p)
on the numerator, held between worst (every open renewal lost, p = 0) and best (every one kept
in full, p = 1). An open renewal already `replaced` (a successor contract of the account is
active on the as-of date) counts as retained in full in the renewal rate: p = 1, in the worst
case too (the cohort metrics already hold it in the account's ARR). Expansion: won to date + the
open opportunities expected to close by the period's end at the trailing-4-quarter win rate
(count of won / won or lost); when the period holds the as-of date, those whose expected close
date is already past but still open count too (as overdue renewals do). Green share and hygiene are read
on the latest weekly snapshot on or before to_date and carry that value to the period's end
(projected = best = worst = actual). Without a renewal model (no renewal closed in the trailing
quarters) or a win rate, a person with something open has no projection (NaN); best and worst
remain. A period that has not started has no actual (NaN), only a projection: of the accounts
paying on the as-of date, with the renewals and opportunities due in the period.

Modules: the SQL in services/comp_actuals_sql.py (only sums per owner leave DuckDB), the
people in services/comp_actuals_people.py, the metric arithmetic in
services/comp_actuals_metrics.py, the lines in services/comp_actuals_lines.py. Managers and
directors are sums of their people's sums, so a team's rate is its pooled numerators over pooled
denominators, never an average of rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from services.asof import snapshot_dates
from services.cache import memoize
from services.comp_actuals_lines import LINE_COLUMNS, attributed_lines
from services.comp_actuals_metrics import FRAME_COLUMNS, metric_frame
from services.comp_actuals_people import (
    PEOPLE_COLUMNS,
    UNOWNED,
    csm_roster,
    memberships,
    people_in_scope,
    with_books,
)
from services.comp_actuals_sql import (
    BOOK_COLUMNS,
    COHORT_COLUMNS,
    Window,
    owner_sums,
    win_rate,
)
from services.comp_periods import Period
from services.db import Database
from services.filters import Filters
from services.workload import SEGMENTS

__all__ = [
    "FRAME_COLUMNS",
    "LINE_COLUMNS",
    "PEOPLE_COLUMNS",
    "UNOWNED",
    "Measures",
    "attributed_lines",
    "period_measures",
]


@dataclass(frozen=True)
class Measures:
    """Every bonus metric of every person in scope for one period, as of one day."""

    period: Period
    as_of: date
    to_date: date
    build_id: str
    frame: pd.DataFrame  # one row per (csm_id, metric): FRAME_COLUMNS
    people: pd.DataFrame  # one row per person: comp_actuals_people.PEOPLE_COLUMNS
    renewal_model: bool = True  # False: no renewal forecast model on the as-of date
    win_rate: float | None = None  # the expansion win rate the projection used
    # Per person listed: how many CSMs' books (role CSM, in scope) their numbers sum: 1 for a
    # CSM, the team's CSMs for a Manager, every CSM for the Director (money targets scale).
    measured_csms: Mapping[str, int] = field(default_factory=dict)

    def metric(self, key: str) -> pd.DataFrame:
        """The rows of one metric, indexed by csm_id."""
        return self.frame[self.frame["metric"] == key].set_index("csm_id")


# ---- the sums per owner -------------------------------------------------------------------------
# Each family of `owner_sums`: the prefix of its columns here and the columns it fills.
FAMILY_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "closed": ("ren_", ("closed_count", "arr_up", "retained")),
    "open": (
        "ren_",
        ("open_count", "open_arr", "expected", "variance", "unpriced", "replaced_arr"),
    ),
    "cohort": ("coh_", COHORT_COLUMNS),
    "won": ("exp_", ("won_count", "won_arr")),
    "pipe": ("exp_", ("open_count", "open_arr", "open_sq")),
    "hygiene": ("hyg_", ("renewals", "passing")),
    "book": ("", BOOK_COLUMNS),
}
SUM_COLUMNS = tuple(p + c for p, cols in FAMILY_COLUMNS.values() for c in cols)


def _owner_sums(db: Database, filters: Filters, w: Window) -> pd.DataFrame:
    """All families' sums per owner key (one row per key, UNOWNED for nobody): SUM_COLUMNS."""
    snaps = [d for d in snapshot_dates(db) if d <= w.to_date]
    raw = owner_sums(db, filters, w, snaps[-1] if snaps else None)
    owners = [UNOWNED if o is None or o != o else o for o in raw["owner"].tolist()]
    keys = list(dict.fromkeys(owners))
    at = {k: i for i, k in enumerate(keys)}
    row_of = np.array([at[o] for o in owners], dtype=int)
    families = raw["family"].to_numpy(dtype=object)
    totals = np.zeros((len(keys), len(SUM_COLUMNS)))
    first = 0
    for family, (_, cols) in FAMILY_COLUMNS.items():
        mask = families == family
        if mask.any():
            values = np.nan_to_num(raw.loc[mask, list(cols)].to_numpy(dtype=float))
            np.add.at(totals[:, first : first + len(cols)], row_of[mask], values)
        first += len(cols)
    return pd.DataFrame(totals, index=pd.Index(keys, name="owner"), columns=list(SUM_COLUMNS))


def _rolled_up(sums: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Each person's sums: the sum over the owner keys they are measured on."""
    people = list(dict.fromkeys(p for p, _ in pairs))
    person_at = {p: i for i, p in enumerate(people)}
    owner_at = {k: i for i, k in enumerate(sums.index.tolist())}
    index = [(person_at[p], owner_at[o]) for p, o in pairs if o in owner_at]
    totals = np.zeros((len(people), sums.shape[1]))
    if index:
        rows, cols = np.array(index).T
        np.add.at(totals, rows, sums.to_numpy(dtype=float)[cols])
    return pd.DataFrame(totals, index=pd.Index(people, name="csm_id"), columns=sums.columns)


# ---- the people shown ----------------------------------------------------------------------------
def _shown(people: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Team and owner filters select the people listed (team = the person's team, owner = the
    person); the Unowned row shows only when neither is set."""
    keep = pd.Series(True, index=people.index)
    if filters.team:
        keep &= people["team"].isin(filters.team)
    if filters.owner:
        keep &= people["csm_id"].isin(filters.owner)
    return people[keep]


def _csm_counts(people: pd.DataFrame, pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Per person, the number of CSMs (role CSM) among the books they are measured on."""
    csms = set(people.loc[people["role"] == "CSM", "csm_id"])
    counts = dict.fromkeys(people["csm_id"], 0)
    for person, owner in pairs:
        if owner in csms:
            counts[person] += 1
    return counts


@memoize
def _win_rate(db: Database, as_of: date) -> float | None:
    return win_rate(db, as_of)


@memoize
def period_measures(db: Database, filters: Filters, period: Period, as_of: date) -> Measures:
    """Every metric of `METRICS` for every person in scope over `period` as of `as_of`: the
    actual to date (to_date = the period's last day, or `as_of` inside it) and the projection
    of the whole period. See the module docstring for the definitions."""
    w = Window(period, as_of)
    sums = _owner_sums(db, filters, w)
    people = people_in_scope(csm_roster(db), set(sums.index), period, as_of)
    pairs = memberships(people, sums.index.tolist())
    rolled = _rolled_up(sums, pairs)
    book = rolled[[f"book_{i}" for i in range(len(SEGMENTS))]].set_axis(list(SEGMENTS), axis=1)
    people = with_books(people, book)
    shown = _shown(people, filters).reset_index(drop=True)
    # No renewal model on the as-of date: the forecast has no p for any open renewal.
    model = not sums["ren_unpriced"].any()
    rate = _win_rate(db, as_of) if w.projecting else None
    frame = metric_frame(rolled.loc[shown["csm_id"]], model, rate).reset_index(drop=True)
    if as_of < period.start:  # a period still ahead: nothing measured yet, only the projection
        frame["actual"] = np.nan
    return Measures(
        period=period,
        as_of=as_of,
        to_date=w.to_date,
        build_id=db.info().build_id,
        frame=frame,
        people=shown,
        renewal_model=model,
        win_rate=rate,
        measured_csms=_csm_counts(people, pairs),
    )
