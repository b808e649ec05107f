"""The workload model: what each account costs a CSM, in points, and what a CSM can carry.

An account's points = the points of its segment x coverage tier, times its health band's
weight when the model weighs health (a red account costs more). A CSM carries their
`capacity_points` (the setting when the CSM record has none). Utilisation = points carried /
capacity. One settings object (`WorkloadParams`) holds every parameter; the page changes them
for a what-if through the URL (`to_params` / `from_params`), never the defaults.

Books are today's owners (`accounts.owner_csm_id`): the contract has no ownership history yet,
so a past as-of date uses that date's customers, ARR and health with today's owners.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.settings import load_capacity_settings

SEGMENTS = ("Enterprise", "Mid-Market", "SMB")
TIERS = ("named", "pooled", "tech-touch")
_SEGMENT_KEYS = {"Enterprise": "ent", "Mid-Market": "mm", "SMB": "smb"}
_TIER_KEYS = {"named": "named", "pooled": "pooled", "tech-touch": "tech"}
OWNER_STATES = ("active", "departed", "missing")  # missing: no owner, or one not in `csms`
MAX_POINTS = 1000.0
MAX_WEIGHT = 10.0


class WorkloadInputError(ValueError):
    """A workload parameter the page cannot use; `field` names the URL key."""

    def __init__(self, field_key: str, message: str):
        super().__init__(message)
        self.field = field_key


def points_key(segment: str, tier: str) -> str:
    """The URL key of one segment x tier's points: pts_ent_named, pts_smb_tech."""
    return f"pts_{_SEGMENT_KEYS[segment]}_{_TIER_KEYS[tier]}"


def _parse_points(text: str) -> dict[tuple[str, str], float]:
    points: dict[tuple[str, str], float] = {}
    for part in text.split(","):
        try:
            pair, value = part.split("=")
            segment, tier = pair.strip().split("/")
            points[(segment, tier)] = float(value)
        except ValueError:
            raise ValueError(
                f"CSOPS_WORKLOAD_POINTS: {part!r} is not 'Segment/tier=points'"
            ) from None
    missing = [f"{s}/{t}" for s in SEGMENTS for t in TIERS if (s, t) not in points]
    if missing:
        raise ValueError(f"CSOPS_WORKLOAD_POINTS: no points for {', '.join(missing)}")
    return points


@dataclass(frozen=True)
class WorkloadParams:
    """Every parameter of the workload model (defaults: services/settings CapacitySettings)."""

    points: tuple[tuple[str, str, float], ...]  # (segment, tier, points), every combination
    weigh_health: bool = True
    red_weight: float = 1.5
    yellow_weight: float = 1.15
    capacity_points: float = 100.0
    target_utilisation: float = 0.85
    overloaded_above: float = 1.10
    underloaded_below: float = 0.70
    _lookup: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", {(s, t): p for s, t, p in self.points})

    @classmethod
    def defaults(cls) -> WorkloadParams:
        s = load_capacity_settings()
        points = _parse_points(s.points)
        return cls(
            points=tuple((seg, tier, points[(seg, tier)]) for seg in SEGMENTS for tier in TIERS),
            weigh_health=True,
            red_weight=s.red_weight,
            yellow_weight=s.yellow_weight,
            capacity_points=s.capacity_points,
            target_utilisation=s.target_utilisation,
            overloaded_above=s.overloaded_above,
            underloaded_below=s.underloaded_below,
        )

    def book_model(self) -> WorkloadParams:
        """Only what weighs a book (points, health weights, default capacity): the target and
        the over/under-loaded lines set to the class defaults, so results that do not depend
        on them (the scenario's baseline) are cached once for every target."""
        return replace(
            self,
            target_utilisation=WorkloadParams.target_utilisation,
            overloaded_above=WorkloadParams.overloaded_above,
            underloaded_below=WorkloadParams.underloaded_below,
        )

    def points_for(self, segment: str, tier: str) -> float:
        return self._lookup[(segment, tier)]

    def band_weight(self, band: str | None) -> float:
        if not self.weigh_health:
            return 1.0
        return {"red": self.red_weight, "yellow": self.yellow_weight}.get(band or "", 1.0)

    # ---- URL round trip ----------------------------------------------------------------
    def to_params(self) -> dict[str, str]:
        """The parameters that differ from the defaults, as URL values (percent for shares)."""
        base = WorkloadParams.defaults()
        out: dict[str, str] = {}
        for seg, tier, pts in self.points:
            if pts != base.points_for(seg, tier):
                out[points_key(seg, tier)] = f"{pts:g}"
        if self.weigh_health != base.weigh_health:
            out["wh"] = "1" if self.weigh_health else "0"
        for key, name, scale in _SCALARS:
            value = getattr(self, name)
            if value != getattr(base, name):
                out[key] = f"{round(value * scale, 6):g}"
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> tuple[WorkloadParams, dict[str, str]]:
        """The defaults with the URL's changes; a value that cannot be used is left at its
        default and reported under its key (the page shows the message by the field)."""
        base = cls.defaults()
        errors: dict[str, str] = {}
        points = []
        for seg, tier, default in base.points:
            key = points_key(seg, tier)
            value = _number(
                params, key, default, 0.0, MAX_POINTS, errors, f"Points for {seg} {tier}"
            )
            points.append((seg, tier, value))
        changes: dict[str, Any] = {"points": tuple(points)}
        wh = first_value(params.get("wh"))
        if wh not in (None, ""):
            if wh in ("0", "1"):
                changes["weigh_health"] = wh == "1"
            else:
                errors["wh"] = "Weigh by health must be on or off."
        for key, name, scale in _SCALARS:
            low, high, label = _SCALAR_LIMITS[name]
            value = _number(
                params, key, getattr(base, name) * scale, low * scale, high * scale, errors, label
            )
            changes[name] = value / scale
        params_out = replace(base, **changes)
        if params_out.underloaded_below >= params_out.overloaded_above:
            errors["under"] = "The under-loaded line must be below the over-loaded line."
            params_out = replace(
                params_out,
                underloaded_below=base.underloaded_below,
                overloaded_above=base.overloaded_above,
            )
        return params_out, errors

    # ---- SQL ---------------------------------------------------------------------------
    def values_sql(self) -> tuple[str, list[Any]]:
        """A VALUES relation (segment, coverage_tier, points) with bound parameters."""
        rows = ", ".join("(?, ?, ?)" for _ in self.points)
        params: list[Any] = [v for row in self.points for v in row]
        return f"(VALUES {rows}) AS wp(segment, coverage_tier, points)", params

    def weight_sql(self, band: str = "hs.band") -> tuple[str, list[Any]]:
        """The band weight of an account as SQL with bound parameters."""
        if not self.weigh_health:
            return "1.0", []
        return (
            f"CASE {band} WHEN 'red' THEN ? WHEN 'yellow' THEN ? ELSE 1.0 END",
            [self.red_weight, self.yellow_weight],
        )


# URL key, attribute, scale (shares travel as percents: tu=85 means 0.85).
_SCALARS = (
    ("red", "red_weight", 1),
    ("yellow", "yellow_weight", 1),
    ("cap", "capacity_points", 1),
    ("tu", "target_utilisation", 100),
    ("over", "overloaded_above", 100),
    ("under", "underloaded_below", 100),
)
_SCALAR_LIMITS = {
    "red_weight": (0.1, MAX_WEIGHT, "Red weight"),
    "yellow_weight": (0.1, MAX_WEIGHT, "Yellow weight"),
    "capacity_points": (1.0, 100_000.0, "Capacity points per CSM"),
    "target_utilisation": (0.1, 1.5, "Target utilisation"),
    "overloaded_above": (0.5, 3.0, "Over-loaded above"),
    "underloaded_below": (0.0, 1.5, "Under-loaded below"),
}


@dataclass(frozen=True)
class ParamField:
    """One scalar of the model as an editor shows it: URL key, label, the unit its URL value
    is written in ('percent': tu=85 is 0.85) and the bounds `from_params` accepts."""

    key: str
    label: str
    unit: str  # weight | points | percent
    low: float
    high: float


def param_fields() -> tuple[ParamField, ...]:
    """The scalar parameters in editor order, with the bounds `from_params` checks."""
    units = {1: "points", 100: "percent"}
    out = []
    for key, name, scale in _SCALARS:
        low, high, label = _SCALAR_LIMITS[name]
        unit = "weight" if name.endswith("_weight") else units[scale]
        out.append(ParamField(key, label, unit, low * scale, high * scale))
    return tuple(out)


def param_keys() -> tuple[str, ...]:
    """Every URL key of the model: the 9 points, weigh-by-health, then the scalars."""
    points = tuple(points_key(s, t) for s in SEGMENTS for t in TIERS)
    return (*points, "wh", *(key for key, _, _ in _SCALARS))


def form_values(params: WorkloadParams) -> dict[str, str]:
    """Every parameter as its URL value (not only those differing from the defaults), for
    an editor's fields: points and weights as numbers, shares as percents, wh as 1/0."""
    out = {points_key(s, t): f"{p:g}" for s, t, p in params.points}
    out["wh"] = "1" if params.weigh_health else "0"
    for key, name, scale in _SCALARS:
        out[key] = f"{round(getattr(params, name) * scale, 6):g}"
    return out


def first_value(value: Any) -> Any:
    """A URL parameter's first value (parameters may repeat); None for an empty list."""
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def url_number(
    params: Mapping[str, Any],
    key: str,
    low: float,
    high: float,
    errors: dict[str, str],
    label: str,
    *,
    whole: bool = False,
    out_of_range: str | None = None,
) -> float | None:
    """The URL value of `key` as a finite number in [low, high] (a whole one when `whole`).

    None when absent or blank, and None when it cannot be used, with the reason under `key`
    in `errors` (`out_of_range` words the bounds message; by default "between low and high").
    The one parser of bounded numbers from the URL: the workload model, the scenario inputs
    and the rebalancing options all read theirs with it.
    """
    raw = first_value(params.get(key))
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()[:40]
    try:
        value = float(text)
    except ValueError:
        errors[key] = f"{label}: '{text[:20]}' is not a {'whole ' if whole else ''}number."
        return None
    if not (math.isfinite(value) and low <= value <= high and (value.is_integer() or not whole)):
        errors[key] = out_of_range or f"{label} must be between {low:g} and {high:g}."
        return None
    return value


def _number(
    params: Mapping[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    errors: dict[str, str],
    label: str,
) -> float:
    value = url_number(params, key, low, high, errors, label)
    return default if value is None else value


# ---- Books ---------------------------------------------------------------------------------
def account_workload_sql(filters: Filters, day: date, params: WorkloadParams) -> tuple[str, list]:
    """One row per customer on `day` (a snapshot date) in the filters: its owner, the owner's
    state, ARR, health band, base points and weighted points. Other services build on it."""
    where, where_params = filters.where("ad")
    values, value_params = params.values_sql()
    weight, weight_params = params.weight_sql("hs.band")
    sql = f"""
        SELECT ad.account_id, ad.name, ad.segment, ad.region, ad.coverage_tier,
               ad.owner_csm_id, c.name AS owner_name, c.team AS owner_team,
               c.region AS owner_region,
               CASE WHEN c.csm_id IS NULL THEN 'missing'
                    WHEN c.end_date IS NOT NULL AND c.end_date <= ? THEN 'departed'
                    ELSE 'active' END AS owner_state,
               hs.arr, hs.band, wp.points AS base_points,
               wp.points * {weight} AS points
        FROM health_snapshots hs
        JOIN account_dim ad USING (account_id)
        LEFT JOIN csms c ON c.csm_id = ad.owner_csm_id
        JOIN {values} USING (segment, coverage_tier)
        WHERE hs.snapshot_date = ? AND hs.arr > 0 AND {where}
    """
    return sql, [day, *weight_params, *value_params, day, *where_params]


@memoize
def account_workload(
    db: Database, filters: Filters, day: date, params: WorkloadParams
) -> pd.DataFrame:
    """`account_workload_sql` as a frame, ordered by account id."""
    sql, args = account_workload_sql(filters, day, params)
    return db.query(f"SELECT * FROM ({sql}) ORDER BY account_id", args)


@memoize
def csm_capacity(db: Database, filters: Filters, day: date, params: WorkloadParams) -> pd.DataFrame:
    """The CSMs (role CSM) of the filters' teams, regions and owners who are employed on
    `day`, or who still own accounts in the filters (departed with an open book): csm_id,
    name, team, region, hire_date, end_date, state (active | departed), capacity (0 for a
    departed CSM: their book is open), capacity_on_record (the CSM record's own; NULL when
    the record has none and the model's default applies). Scope: a CSM in the filters'
    team/owner, or owning at least one account in the filters."""
    where, where_params = filters.where("ad")
    team_owner, team_owner_params = _csm_scope(filters)
    sql = f"""
        WITH owned AS (
            SELECT DISTINCT ad.owner_csm_id AS csm_id
            FROM health_snapshots hs JOIN account_dim ad USING (account_id)
            WHERE hs.snapshot_date = ? AND hs.arr > 0 AND {where}
        )
        SELECT c.csm_id, c.name, c.team, c.region, c.hire_date, c.end_date,
               CASE WHEN c.end_date IS NOT NULL AND c.end_date <= ? THEN 'departed'
                    ELSE 'active' END AS state,
               CASE WHEN c.end_date IS NOT NULL AND c.end_date <= ? THEN 0.0
                    ELSE coalesce(c.capacity_points, ?) END AS capacity,
               c.capacity_points AS capacity_on_record
        FROM csms c
        WHERE c.role = 'CSM'
          AND (c.hire_date IS NULL OR c.hire_date <= ?)
          AND (c.csm_id IN (SELECT csm_id FROM owned)
               OR ((c.end_date IS NULL OR c.end_date > ?) AND {team_owner}))
        ORDER BY c.team, c.name, c.csm_id
    """
    args = [day, *where_params, day, day, params.capacity_points, day, day, *team_owner_params]
    return db.query(sql, args)


def _csm_scope(filters: Filters) -> tuple[str, list[str]]:
    """CSMs with no accounts yet count in a view when the view's team/owner/region would
    include them; segment and tier filters need accounts, so they leave only owners."""
    if filters.segment or filters.tier:
        return "FALSE", []
    clauses, params = ["TRUE"], []
    for dim, column in (("team", "team"), ("owner", "csm_id")):
        values = getattr(filters, dim)
        if values:
            clauses.append(f"c.{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if filters.region:  # account regions; a CSM with an empty book has none, so is left out
        return "FALSE", []
    return " AND ".join(clauses), params
