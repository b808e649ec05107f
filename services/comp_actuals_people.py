"""The people a compensation view measures: who is in scope, whose books each one is measured
on, and the descriptive columns the fairness view groups by (tenure, main segment, book size).

In scope: everyone in `csms` employed at some point of the period (hired by its last day, not
left before its first), anyone credited with anything in it (an owner key of the sums), and an
"Unowned" pseudo-person (`UNOWNED`) when accounts nobody owned closed or hold anything.

Measured on (`ROLE_SCOPE` in services/comp_plan.py): a CSM their own book; a Manager their own
and every CSM's whose manager_id is theirs; a Director every book, the unowned accounts
included (the company's number).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from services.comp_periods import Period

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


def people_in_scope(csms: pd.DataFrame, credited: set[str], period: Period) -> pd.DataFrame:
    """The people of the view before the team/owner filters: csm_id, name, team, manager_id,
    role, hire_date, end_date (dates), employed_share, tenure_years, tenure_band."""
    rows = []
    for r in csms.itertuples(index=False):
        hire, end = _day(r.hire_date), _day(r.end_date)
        employed = (hire is None or hire <= period.last_day) and (
            end is None or end >= period.start
        )
        if not employed and r.csm_id not in credited:
            continue
        years = tenure_years(hire, period)
        rows.append(
            {
                "csm_id": r.csm_id,
                "name": r.name,
                "team": r.team,
                "manager_id": None if pd.isna(r.manager_id) else r.manager_id,
                "role": r.role,
                "hire_date": hire,
                "end_date": end,
                "employed_share": employed_share(hire, end, period) if employed else 0.0,
                "tenure_years": years,
                "tenure_band": tenure_band(years),
            }
        )
    known = set(csms["csm_id"])
    for key in sorted(credited - known - {UNOWNED}):  # an owner the csms file does not list
        rows.append({"csm_id": key, "name": key, "role": "CSM", "employed_share": math.nan})
    if UNOWNED in credited:
        rows.append(
            {
                "csm_id": UNOWNED,
                "name": UNOWNED_NAME,
                "role": UNOWNED_ROLE,
                "employed_share": math.nan,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[c for c in PEOPLE_COLUMNS if c not in ("main_segment", "book_arr", "book_band")],
    )


def memberships(people: pd.DataFrame, owner_keys: list[str]) -> pd.DataFrame:
    """(csm_id, owner) pairs: whose sums each person of `people` adds up. Everyone their own;
    a Manager also every CSM whose manager_id is theirs; a Director every owner key."""
    pairs = [(p, p) for p in people["csm_id"]]
    managers = set(people.loc[people["role"] == "Manager", "csm_id"])
    for csm, manager in zip(people["csm_id"], people["manager_id"], strict=True):
        if manager in managers and csm != manager:
            pairs.append((manager, csm))
    everyone = sorted(set(owner_keys) | set(people["csm_id"]))
    for director in people.loc[people["role"] == "Director", "csm_id"]:
        pairs += [(director, key) for key in everyone if key != director]
    return pd.DataFrame(pairs, columns=["csm_id", "owner"]).drop_duplicates()


def with_books(people: pd.DataFrame, books: pd.DataFrame) -> pd.DataFrame:
    """Adds main_segment (the segment with the most of the person's book ARR; ties by name),
    book_arr, and book_band (quartiles among the CSMs in scope; others None). `books`: per
    csm_id (as summed for the person) and segment, book_arr."""
    out = people.copy()
    positive = books[books["book_arr"] > 0].sort_values(
        ["csm_id", "book_arr", "segment"], ascending=[True, False, True]
    )
    main = positive.drop_duplicates("csm_id").set_index("csm_id")["segment"]
    total = books.groupby("csm_id")["book_arr"].sum()
    out["main_segment"] = out["csm_id"].map(main).astype(object)
    out["main_segment"] = out["main_segment"].where(out["main_segment"].notna(), None)
    out["book_arr"] = out["csm_id"].map(total).fillna(0.0).astype(float)
    csm = out["role"] == "CSM"
    bands = pd.Series([None] * len(out), index=out.index, dtype=object)
    if csm.any():
        bands[csm] = book_bands(out.loc[csm, "book_arr"], out.loc[csm, "csm_id"])
    out["book_band"] = bands
    return out[list(PEOPLE_COLUMNS)]
