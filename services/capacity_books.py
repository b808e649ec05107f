"""Books of business today: per CSM the accounts (segment x coverage tier), ARR, workload
points, capacity and utilisation against the workload model (services/workload.py), the open
books (accounts whose owner has left or is missing), a team roll-up and the coverage ratios
against their targets.

A book is the accounts one owner holds on the view's date (today's owners: the contract has
no ownership history, see services/workload.py). Kinds of book:
- `csm`: an active CSM's; utilisation = points / capacity, flagged over or under the lines.
- `open`: a departed CSM's accounts still assigned to them (no capacity carries them).
- `none`: accounts with no owner, or an owner the CSM list does not know (one row).
- `other`: an owner on the CSM list who is not a CSM on the date (a manager, or hired later).

Team and company utilisation put every point in scope over the active CSMs' capacity: open
books and unowned accounts still have to be carried by someone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters, parse_sort
from services.settings import load_capacity_settings
from services.workload import (
    SEGMENTS,
    TIERS,
    WorkloadParams,
    account_workload_sql,
    csm_capacity,
    param_fields,
    param_keys,
    points_key,
)

NO_OWNER = "_none"  # the book id of the accounts without a (known) owner
KINDS = ("open", "none", "other", "csm")  # the default order: what needs action first
FLAGS = ("open", "none", "over", "under", "ok", "other")  # sorting by flag: this order
# Book columns of the accounts per segment x tier: n_ent_named ... n_smb_tech.
MIX_COLUMNS = {(s, t): "n_" + points_key(s, t)[4:] for s in SEGMENTS for t in TIERS}
TIER_COLUMNS = {t: f"n_{t.replace('-', '_')}" for t in TIERS}  # n_named, n_pooled, n_tech_touch
# Sortable fields of the books table -> the column it sorts on.
SORTABLE = {
    "name": "name",
    "team": "team",
    "state": "state",
    "accounts": "accounts",
    "arr": "arr",
    "points": "points",
    "capacity": "capacity",
    "utilisation": "utilisation",
    "flag": "flag_rank",
    **{c: c for c in TIER_COLUMNS.values()},
}


def new_hire_days() -> int:
    """A CSM hired within this many days is ramping (the settings' ramp, in days)."""
    return 30 * load_capacity_settings().ramp_months


def _owner_sql(filters: Filters, day: date, params: WorkloadParams) -> tuple[str, list]:
    """The accounts in scope summed per owner (all unknown owners together), in DuckDB: at
    100k accounts this is what keeps the books under 100 ms."""
    base, args = account_workload_sql(filters, day, params)
    mix = ",\n".join(
        f"COUNT(*) FILTER (WHERE segment = ? AND coverage_tier = ?) AS {col}"
        for col in MIX_COLUMNS.values()
    )
    mix_args = [v for key in MIX_COLUMNS for v in key]
    tier_points = ",\n".join(
        f"COALESCE(SUM(points) FILTER (WHERE coverage_tier = ?), 0) AS pts_{col[2:]}"
        for col in TIER_COLUMNS.values()
    )
    sql = f"""
        SELECT CASE WHEN owner_state = 'missing' THEN NULL ELSE owner_csm_id END AS csm_id,
               any_value(owner_state) AS owner_state, any_value(owner_name) AS owner_name,
               any_value(owner_team) AS owner_team, any_value(owner_region) AS owner_region,
               COUNT(*) AS accounts, SUM(arr) AS arr, SUM(points) AS points,
               COUNT(*) FILTER (WHERE band = 'red') AS red_accounts,
               {mix},
               {tier_points}
        FROM ({base}) w
        GROUP BY 1
    """
    return sql, [*mix_args, *TIERS, *args]


@memoize
def csm_books(db: Database, filters: Filters, day: date, params: WorkloadParams) -> pd.DataFrame:
    """One row per book in the filters on `day` (a snapshot date): book_id (the CSM id, or
    NO_OWNER), csm_id, name, team, region, kind (csm | open | none | other), state (active |
    departed | missing | other), hire_date, end_date, new_hire, capacity, capacity_default
    (True when the CSM record has no capacity and the model's applies), accounts, arr,
    points, red_accounts, the accounts per segment x tier (MIX_COLUMNS) and per tier
    (TIER_COLUMNS), the points per tier (pts_<tier>), utilisation (points / capacity; None
    for a book no active CSM carries) and flag (over | under | ok for a CSM; else the kind).
    Active CSMs without accounts in scope are rows of 0 accounts (0% utilisation). Ordered
    open books first, then unowned, then CSMs by utilisation, highest first."""
    sql, args = _owner_sql(filters, day, params)
    owners = db.query(sql, args)
    csms = csm_capacity(db, filters, day, params)
    books = csms.merge(owners, on="csm_id", how="left")
    books["kind"] = books["state"].map({"active": "csm", "departed": "open"})
    known = set(csms["csm_id"])
    others = owners[owners["csm_id"].notna() & ~owners["csm_id"].isin(known)].copy()
    others = others.assign(
        name=others["owner_name"],
        team=others["owner_team"],
        region=others["owner_region"],
        kind="other",
        state="other",
        capacity=0.0,
    )
    unowned = owners[owners["csm_id"].isna()].assign(kind="none", state="missing", capacity=0.0)
    frames = [df for df in (books, others, unowned) if len(df)]
    columns = list(dict.fromkeys([*books.columns, *others.columns, *unowned.columns]))
    # A scope may hold no CSM (team=Unassigned) or nothing at all: the columns stay.
    books = pd.concat(frames, ignore_index=True) if frames else books.iloc[0:0]
    return _finish(books.reindex(columns=columns), day, params)


def _finish(books: pd.DataFrame, day: date, params: WorkloadParams) -> pd.DataFrame:
    counts = ["accounts", "red_accounts", *MIX_COLUMNS.values()]
    sums = ["arr", "points", *(f"pts_{c[2:]}" for c in TIER_COLUMNS.values())]
    for col in counts:
        books[col] = books[col].fillna(0).astype(int)
    for col in sums:
        books[col] = books[col].fillna(0.0).astype(float)
    for tier, col in TIER_COLUMNS.items():
        books[col] = sum(books[MIX_COLUMNS[(s, tier)]] for s in SEGMENTS)
    books["book_id"] = books["csm_id"].fillna(NO_OWNER)
    active = books["kind"] == "csm"
    books["capacity_default"] = active & books["capacity_on_record"].isna()
    books["utilisation"] = (books["points"] / books["capacity"]).where(
        active & (books["capacity"] > 0)
    )
    util, over = books["utilisation"], active & (books["capacity"] <= 0) & (books["points"] > 0)
    books["flag"] = np.select(
        [~active, over | util.gt(params.overloaded_above), util.lt(params.underloaded_below)],
        [books["kind"], "over", "under"],
        default="ok",
    )
    books["flag_rank"] = books["flag"].map({f: i for i, f in enumerate(FLAGS)})
    hired = pd.to_datetime(books["hire_date"])
    books["new_hire"] = active & (hired > pd.Timestamp(day - timedelta(days=new_hire_days())))
    books["order"] = books["kind"].map({k: i for i, k in enumerate(KINDS)})
    books = books.sort_values(
        ["order", "utilisation", "name"], ascending=[True, False, True], na_position="last"
    )
    columns = [
        "book_id",
        "csm_id",
        "name",
        "team",
        "region",
        "kind",
        "state",
        "hire_date",
        "end_date",
        "new_hire",
        "capacity",
        "capacity_default",
        "accounts",
        "arr",
        "points",
        "red_accounts",
        "utilisation",
        "flag",
        "flag_rank",
        *MIX_COLUMNS.values(),
        *TIER_COLUMNS.values(),
        *(f"pts_{c[2:]}" for c in TIER_COLUMNS.values()),
    ]
    return books[columns].reset_index(drop=True)


def books_page(
    books: pd.DataFrame, sort: tuple[tuple[str, str], ...], start: int, limit: int
) -> pd.DataFrame:
    """Rows `start`..`start + limit` of the books in `sort` order (SORTABLE fields; the
    default order without one). Rows without a value for a sorted field come last."""
    keys = [(SORTABLE[f], d == "asc") for f, d in sort if f in SORTABLE]
    if keys:
        books = books.sort_values(
            [k for k, _ in keys] + ["book_id"],
            ascending=[a for _, a in keys] + [True],
            na_position="last",
            kind="stable",
        )
    return books.iloc[start : start + limit]


@dataclass(frozen=True)
class BooksSummary:
    """The top line of the books: the company (or the filters' scope) at a glance."""

    csms: int  # active CSMs in scope
    capacity: float  # their capacity, points
    points: float  # every account's points in scope (open books and unowned included)
    points_carried: float  # the points in active CSMs' books
    utilisation: float | None  # points / capacity
    utilisation_carried: float | None  # points_carried / capacity
    overloaded: int
    underloaded: int
    underloaded_new_hires: int  # of the under-loaded, hired within the ramp
    accounts: int
    arr: float
    open_accounts: int  # accounts of departed or missing owners
    open_arr: float
    departed_with_books: int  # departed CSMs whose accounts are still assigned to them
    unowned_accounts: int
    arr_per_csm: float | None
    arr_per_csm_target: float


def books_summary(books: pd.DataFrame) -> BooksSummary:
    """The top line of `csm_books` (a pure function of its rows)."""
    active = books[books["kind"] == "csm"]
    open_books = books[books["kind"].isin(("open", "none"))]
    capacity = float(active["capacity"].sum())
    points = float(books["points"].sum())
    carried = float(active["points"].sum())
    csms = len(active)
    arr = float(books["arr"].sum())
    under = active["flag"] == "under"
    return BooksSummary(
        csms=csms,
        capacity=capacity,
        points=points,
        points_carried=carried,
        utilisation=points / capacity if capacity else None,
        utilisation_carried=carried / capacity if capacity else None,
        overloaded=int((active["flag"] == "over").sum()),
        underloaded=int(under.sum()),
        underloaded_new_hires=int((under & active["new_hire"]).sum()),
        accounts=int(books["accounts"].sum()),
        arr=arr,
        open_accounts=int(open_books["accounts"].sum()),
        open_arr=float(open_books["arr"].sum()),
        departed_with_books=int((books["kind"] == "open").sum()),
        unowned_accounts=int(books.loc[books["kind"] == "none", "accounts"].sum()),
        arr_per_csm=arr / csms if csms else None,
        arr_per_csm_target=load_capacity_settings().arr_per_csm_target,
    )


@dataclass(frozen=True)
class TierTarget:
    """Accounts per CSM a tier allows: a CSM's capacity at the target utilisation over the
    tier's average points per account in the scope's book mix."""

    tier: str
    accounts: int  # accounts of the tier in scope
    avg_points: float | None  # their average points (health weights included)
    accounts_per_csm: float | None  # capacity x target utilisation / avg_points


def tier_targets(books: pd.DataFrame, params: WorkloadParams) -> dict[str, TierTarget]:
    """The accounts-per-CSM target of each tier, from the workload model (one definition)."""
    out = {}
    for tier, col in TIER_COLUMNS.items():
        n = int(books[col].sum())
        pts = float(books[f"pts_{col[2:]}"].sum())
        avg = pts / n if n else None
        target = params.capacity_points * params.target_utilisation / avg if avg else None
        out[tier] = TierTarget(tier, n, avg, target)
    return out


def team_rollup(books: pd.DataFrame, params: WorkloadParams) -> pd.DataFrame:
    """One row per team (a departed CSM's open book counts in their team; unowned accounts
    are a row of their own, team None): csms (active), accounts, arr, points, capacity,
    utilisation (every point of the team over its active CSMs' capacity), over, under,
    open_accounts, arr_per_csm, per tier the accounts and accounts_per_<tier> (per active
    CSM). Ordered by utilisation, highest first; the unowned row last."""
    kind, flag = books["kind"].to_numpy(), books["flag"].to_numpy()
    df = books[["accounts", "arr", "points", "capacity", *TIER_COLUMNS.values()]].assign(
        team=books["team"].where(kind != "none"),
        active=kind == "csm",
        over=flag == "over",
        under=flag == "under",
        open_accounts=np.where(np.isin(kind, ("open", "none")), books["accounts"], 0),
    )
    # One plain sum per column (named aggregations cost ~10 ms more at 6 teams).
    teams = df.groupby("team", dropna=False).sum().reset_index()
    teams = teams.rename(columns={"active": "csms"})
    teams["team"] = teams["team"].astype(object).where(teams["team"].notna(), None)
    for col in ("csms", "accounts", "over", "under", "open_accounts", *TIER_COLUMNS.values()):
        teams[col] = teams[col].astype(int)
    has_csms = teams["csms"] > 0
    teams["utilisation"] = (teams["points"] / teams["capacity"]).where(teams["capacity"] > 0)
    teams["arr_per_csm"] = (teams["arr"] / teams["csms"]).where(has_csms)
    for col in TIER_COLUMNS.values():
        teams[f"per_csm_{col[2:]}"] = (teams[col] / teams["csms"]).where(has_csms)
    teams["order"] = teams["team"].isna()
    teams = teams.sort_values(["order", "utilisation"], ascending=[True, False], na_position="last")
    return teams.drop(columns="order").reset_index(drop=True)


def rollup_total(teams: pd.DataFrame) -> dict:
    """The company line under the team roll-up (the sums, the same ratios)."""
    total = {c: teams[c].sum() for c in teams.columns if c not in ("team",)}
    csms = int(total["csms"])
    total.update(
        team="All teams",
        utilisation=total["points"] / total["capacity"] if total["capacity"] else None,
        arr_per_csm=total["arr"] / csms if csms else None,
        **{
            f"per_csm_{col[2:]}": int(total[col]) / csms if csms else None
            for col in TIER_COLUMNS.values()
        },
    )
    return total


@dataclass(frozen=True, eq=False)
class BooksView:
    """Everything the books tab draws for one view: the books, their top line, the team
    roll-up with its company line and the coverage targets, under the model in force."""

    params: WorkloadParams
    books: pd.DataFrame
    summary: BooksSummary
    teams: pd.DataFrame
    total: dict
    targets: dict[str, TierTarget]


@memoize
def books_view(db: Database, filters: Filters, day: date, params: WorkloadParams) -> BooksView:
    """The books tab's view of the filters on `day` under `params` (one call per redraw)."""
    books = csm_books(db, filters, day, params)
    teams = team_rollup(books, params)
    return BooksView(
        params=params,
        books=books,
        summary=books_summary(books),
        teams=teams,
        total=rollup_total(teams),
        targets=tier_targets(books, params),
    )


# ---- the editor ---------------------------------------------------------------------------------
UNASSIGNED_TEAM = "Unassigned"  # account_dim.team of accounts without a known owner (build.py)


def field_labels() -> dict[str, str]:
    """The editor's fields by URL key, as their messages name them."""
    points = {
        points_key(s, t): f"Points for {s} {t.replace('-', ' ')}" for s in SEGMENTS for t in TIERS
    }
    return {**points, **{f.key: f.label for f in param_fields()}}


def apply_workload_form(
    raw: Mapping[str, Any], previous: Mapping[str, Any]
) -> tuple[WorkloadParams, dict[str, str]]:
    """The model from an editor's fields (URL keys -> text). A field that cannot be used is
    not applied: it keeps its value in `previous` (the URL parameters in force) and its
    message is returned under its key. An emptied field is a message too, not the default."""
    names = field_labels()
    empty = {
        key: f"{names[key]}: enter a number."
        for key, value in raw.items()
        if key in names and (value is None or str(value).strip() == "")
    }
    candidate = {k: str(v).strip() for k, v in raw.items() if k not in empty and v is not None}
    params, errors = WorkloadParams.from_params(candidate)
    errors = {**errors, **empty}
    if errors:
        kept = {k: v for k, v in candidate.items() if k not in errors}
        kept.update({k: previous[k] for k in errors if k in previous})
        params, _ = WorkloadParams.from_params(kept)
    return params, errors


@dataclass(frozen=True)
class WorkloadForm:
    """What the editor's fields amount to: the model to apply, the message of each field it
    could not use (by URL key), every model key's URL value (None: the default; a field in
    error is left out, so the URL keeps its value) and whether the fields go back to the
    defaults (a reset)."""

    params: WorkloadParams
    errors: dict[str, str]
    url_changes: dict[str, str | None]
    reset: bool = False


def read_workload_form(
    fields: Mapping[str, Any], weigh: bool, previous: Mapping[str, Any] | None, reset: bool
) -> WorkloadForm:
    """The editor's text fields (URL key -> text) and weigh-by-health switch read against
    the model in force (`previous`, its URL parameters), or the defaults on a reset."""
    if reset:
        return WorkloadForm(WorkloadParams.defaults(), {}, dict.fromkeys(param_keys()), True)
    raw = {**fields, "wh": "1" if weigh else "0"}
    params, errors = apply_workload_form(raw, previous or {})
    applied = params.to_params()
    url = {key: applied.get(key) for key in param_keys() if key not in errors}
    return WorkloadForm(params, errors, url)


def parse_books_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The books table's sort from `field:asc|desc` URL values (allow-listed)."""
    return parse_sort(values, SORTABLE)
