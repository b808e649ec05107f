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
    hire = pd.to_datetime(csms["hire_date"])
    end = pd.to_datetime(csms["end_date"])
    start, last = pd.Timestamp(period.start), pd.Timestamp(period.last_day)
    employed = (hire.isna() | (hire <= last)) & (end.isna() | (end >= start))
    ids = csms["csm_id"].to_numpy(dtype=object)
    keep = employed.to_numpy() | np.isin(ids, list(credited))
    out = csms[keep].reset_index(drop=True)
    hire, end, employed = hire[keep], end[keep], employed[keep].to_numpy()
    # Days from max(hire, start) to min(end, last), both inclusive, over the period's days.
    first_day = hire.fillna(start).clip(lower=start).to_numpy()
    last_day = end.fillna(last).clip(upper=last).to_numpy()
    days = ((last_day - first_day) / np.timedelta64(1, "D")).astype(float) + 1
    share = np.where(employed, np.clip(days, 0, None) / period.days, 0.0)
    years = np.clip(((start - hire) / np.timedelta64(1, "D")).to_numpy(dtype=float), 0, None)
    years = years / DAYS_PER_YEAR
    people = pd.DataFrame(
        {
            "csm_id": out["csm_id"].to_numpy(dtype=object),
            "name": out["name"].to_numpy(dtype=object),
            "team": out["team"].to_numpy(dtype=object),
            "manager_id": [None if pd.isna(m) else m for m in out["manager_id"]],
            "role": out["role"].to_numpy(dtype=object),
            "hire_date": [_day(d) for d in hire],
            "end_date": [_day(d) for d in end],
            "employed_share": share,
            "tenure_years": years,
            "tenure_band": [tenure_band(y) for y in years],
        }
    )
    extra = sorted(credited - set(ids) - {UNOWNED})  # an owner the csms file does not list
    extras = [{"csm_id": k, "name": k, "role": "CSM", "employed_share": math.nan} for k in extra]
    if UNOWNED in credited:
        extras.append(
            {
                "csm_id": UNOWNED,
                "name": UNOWNED_NAME,
                "role": UNOWNED_ROLE,
                "employed_share": math.nan,
            }
        )
    if extras:
        people = pd.concat([people, pd.DataFrame(extras)], ignore_index=True)
    return people.astype({"csm_id": object, "name": object, "role": object})


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
