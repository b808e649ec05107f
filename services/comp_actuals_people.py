"""The people a compensation view measures: who is in scope, whose books each one is measured
on, and the descriptive columns the fairness view groups by (tenure, main segment, book size).

In scope: everyone in `csms` employed at some point of the period (hired by its last day, not
left before its first), anyone credited with anything in it (an owner key of the sums), and an
"Unowned" pseudo-person (`UNOWNED`) when accounts nobody owned closed or hold anything.

Point in time: employment is as known on the view's as-of date. Someone hired after it was not
employed yet (in scope only when credited with something, with an employed share of 0); an end
date after it was not known then, so the person counts as still employed (end date empty).

Measured on (`ROLE_SCOPE` in services/comp_plan.py): a CSM their own book; a Manager their own
and every CSM's whose manager_id is theirs; a Director every book, the unowned accounts
included (the company's number).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from services.cache import memoize
from services.comp_periods import Period
from services.db import Database

UNOWNED = "__unowned__"
UNOWNED_NAME = "Unowned"
UNOWNED_ROLE = "none"
TENURE_BANDS = ("< 1 year", "1-2 years", "2-4 years", "4+ years")
TENURE_EDGES = (1.0, 2.0, 4.0)  # years: the upper edges of the first three bands
BOOK_BANDS = ("Smallest 25%", "Below median", "Above median", "Largest 25%")
DAYS_PER_YEAR = 365.25
PEOPLE_COLUMNS = (
    "csm_id",
    "name",
    "team",
    "manager_id",
    "role",
    "hire_date",
    "end_date",
    "employed_share",
    "tenure_years",
    "main_segment",
    "book_arr",
    "tenure_band",
    "book_band",
)


@memoize
def csm_roster(db: Database) -> pd.DataFrame:
    """Every row of `csms` (the columns people are described by), by name."""
    return db.query(
        "SELECT csm_id, name, team, manager_id, role, hire_date, end_date FROM csms ORDER BY name"
    )


def _day(value) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def employed_share(hire: date | None, end: date | None, period: Period) -> float:
    """Share of the period's days from the hire date to the end date, both inclusive (no hire
    date: from the start; no end date: to the last day)."""
    first = max(hire or period.start, period.start)
    last = min(end or period.last_day, period.last_day)
    return max((last - first).days + 1, 0) / period.days


def tenure_years(hire: date | None, period: Period) -> float:
    """Years from the hire date to the period's start (0 for someone hired during it)."""
    if hire is None:
        return math.nan
    return max((period.start - hire).days, 0) / DAYS_PER_YEAR


def tenure_band(years: float) -> str | None:
    if years is None or math.isnan(years):
        return None
    for edge, band in zip(TENURE_EDGES, TENURE_BANDS, strict=False):
        if years < edge:
            return band
    return TENURE_BANDS[-1]


def book_bands(book_arr: pd.Series, ids: pd.Series) -> list[str]:
    """Quartile of each book by size (ties by id, so every CSM has exactly one): the i-th
    smallest of n is in quarter floor(4·i / n)."""
    order = pd.DataFrame({"arr": book_arr.fillna(0).to_numpy(), "id": ids.to_numpy()})
    ranks = order.sort_values(["arr", "id"]).index.to_numpy()
    position = np.empty(len(order), dtype=int)
    position[ranks] = np.arange(len(order))
    return [BOOK_BANDS[min(3, 4 * p // max(len(order), 1))] for p in position]


def people_in_scope(
    csms: pd.DataFrame, credited: set[str], period: Period, as_of: date
) -> pd.DataFrame:
    """The people of the view before the team/owner filters: csm_id, name, team, manager_id,
    role, hire_date, end_date (dates), employed_share, tenure_years, tenure_band. Employment as
    known on `as_of` (the module docstring)."""
    hire = pd.to_datetime(csms["hire_date"]).to_numpy()
    end = pd.to_datetime(csms["end_date"]).to_numpy()
    day = np.datetime64(as_of)
    end = np.where(~np.isnat(end) & (end > day), np.datetime64("NaT"), end)  # not known yet
    start, last = np.datetime64(period.start), np.datetime64(period.last_day)
    hired = np.isnat(hire) | (hire <= day)
    employed = hired & (np.isnat(hire) | (hire <= last)) & (np.isnat(end) | (end >= start))
    ids = csms["csm_id"].tolist()
    keep = np.array([e or i in credited for e, i in zip(employed, ids, strict=True)], dtype=bool)
    hire, end, employed = hire[keep], end[keep], employed[keep]
    # Days from max(hire, start) to min(end, last), both inclusive, over the period's days.
    first_day = np.where(np.isnat(hire) | (hire < start), start, hire)
    last_day = np.where(np.isnat(end) | (end > last), last, end)
    days = (last_day - first_day) / np.timedelta64(1, "D") + 1
    share = np.where(employed, np.clip(days, 0, None) / period.days, 0.0)
    years = np.clip((start - hire) / np.timedelta64(1, "D"), 0, None) / DAYS_PER_YEAR

    def kept(column: str) -> list:
        return [v for v, k in zip(csms[column].tolist(), keep, strict=True) if k]

    rows = {
        "csm_id": kept("csm_id"),
        "name": kept("name"),
        "team": kept("team"),
        "manager_id": [None if pd.isna(m) else m for m in kept("manager_id")],
        "role": kept("role"),
        "hire_date": [_day(d) for d in hire],
        "end_date": [_day(d) for d in end],
        "employed_share": share.tolist(),
        "tenure_years": years.tolist(),
        "tenure_band": [tenure_band(y) for y in years.tolist()],
    }
    extra = sorted(credited - set(ids) - {UNOWNED})  # an owner the csms file does not list
    extras = [(k, k, "CSM") for k in extra]
    if UNOWNED in credited:
        extras.append((UNOWNED, UNOWNED_NAME, UNOWNED_ROLE))
    for key, name, role in extras:
        for column, value in rows.items():
            value.append(
                {"csm_id": key, "name": name, "role": role}.get(
                    column, math.nan if column in ("employed_share", "tenure_years") else None
                )
            )
    return pd.DataFrame(rows, dtype=object).astype({"employed_share": float, "tenure_years": float})


def memberships(people: pd.DataFrame, owner_keys: list[str]) -> list[tuple[str, str]]:
    """(csm_id, owner) pairs: whose sums each person of `people` adds up. Everyone their own;
    a Manager also every CSM whose manager_id is theirs; a Director every owner key."""
    ids, roles = people["csm_id"].tolist(), people["role"].tolist()
    pairs = [(p, p) for p in ids]
    managers = {p for p, r in zip(ids, roles, strict=True) if r == "Manager"}
    for csm, manager in zip(ids, people["manager_id"].tolist(), strict=True):
        if manager in managers and csm != manager:
            pairs.append((manager, csm))
    everyone = sorted(set(owner_keys) | set(ids))
    for director in (p for p, r in zip(ids, roles, strict=True) if r == "Director"):
        pairs += [(director, key) for key in everyone if key != director]
    return list(dict.fromkeys(pairs))


def with_books(people: pd.DataFrame, segment_arr: pd.DataFrame) -> pd.DataFrame:
    """Adds main_segment (the segment with the most of the person's book ARR; ties by name),
    book_arr, and book_band (quartiles among the CSMs in scope; others None). `segment_arr`:
    per csm_id (index, as summed for the person), one column of book ARR per segment."""
    out = people.copy()
    ids = out["csm_id"].tolist()
    segments = sorted(segment_arr.columns)
    arr = segment_arr.reindex(index=ids, columns=segments).fillna(0.0).to_numpy(dtype=float)
    total = arr.sum(axis=1) if segments else np.zeros(len(ids))
    best = arr.argmax(axis=1) if segments else np.zeros(len(ids), dtype=int)
    out["main_segment"] = [
        segments[b] if t > 0 else None for b, t in zip(best.tolist(), total.tolist(), strict=True)
    ]
    out["main_segment"] = out["main_segment"].astype(object)
    out["book_arr"] = total
    csm = (out["role"] == "CSM").to_numpy()
    bands: list[str | None] = [None] * len(out)
    if csm.any():
        quartiles = book_bands(pd.Series(total[csm]), pd.Series(np.array(ids, dtype=object)[csm]))
        for i, band in zip(np.flatnonzero(csm).tolist(), quartiles, strict=True):
            bands[i] = band
    out["book_band"] = pd.Series(bands, index=out.index, dtype=object)
    return out[list(PEOPLE_COLUMNS)]
