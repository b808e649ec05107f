"""Saved bonus plans: versions of a plan in the app-state store, which version is in force for a
period, and the plan a compensation view computes with.

A plan is an item of kind "comp_plan" in `services/app_state.py`; each version's payload is a
whole plan (`services/comp_plan.plan_to_payload`) with the date it takes effect. Nothing is ever
overwritten: a change is a new version. The version that computes a bonus period is the one with
the latest effective date on or before the period's first day (ties: the one saved last), so an
old period is always computed with the plan then in force. A version may not take effect inside
a period the data already covers to its last day (a closed period: its payouts are final).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.app_state import Item, NotFound, app_state, clean_name
from services.comp_periods import KINDS, Period, parse_period, period_of
from services.comp_plan import (
    Plan,
    PlanInvalid,
    Problem,
    default_plan,
    plan_from_payload,
    plan_to_payload,
)
from services.errors import ServiceError
from services.workload import first_value

KIND = "comp_plan"
DEFAULT_NAME = "Default plan"
_KIND_NOUN = {"quarter": "quarter", "half": "half year", "year": "year"}
assert set(_KIND_NOUN) == set(KINDS)


class DamagedPlan(ServiceError):
    """A saved version that no longer reads as a plan (edited outside the console)."""


@dataclass(frozen=True)
class PlanVersion:
    """One saved version of a plan: who saved it, when, why, and the plan it holds."""

    item_id: str
    name: str
    version: int
    saved_by: str
    saved_at: datetime
    note: str
    plan: Plan

    @property
    def effective_from(self) -> date:
        return self.plan.effective_from


@dataclass(frozen=True)
class PlanView:
    """What a compensation view computes with: the plan, its version and the period."""

    item_id: str | None  # None: the default plan, not saved yet
    name: str
    version: int | None
    plan: Plan
    period: Period
    pinned: bool  # the URL asked for this version
    note: str  # which version computes the period, and why
    # False when no version had taken effect by the period's first day (the earliest one is
    # shown as a preview) or the plan is the unsaved default: nothing was in force then.
    in_force: bool = True


# ---- reading -------------------------------------------------------------------------------
def _version(item: Item) -> PlanVersion:
    try:
        plan = plan_from_payload(item.payload)
    except PlanInvalid as exc:
        raise DamagedPlan(
            f"Version {item.version} of the plan “{item.name}” cannot be read as a plan "
            f"({exc}); open another version or ask your administrator."
        ) from None
    return PlanVersion(
        item.id, item.name, item.version, item.saved_by, item.saved_at, item.note, plan
    )


def parse_version(value: Any) -> int | None:
    """A version from the URL (`version=3`); None when absent. Anything else: NotFound."""
    value = first_value(value)
    if value in (None, ""):
        return None
    text = str(value).strip()[:12]
    if not text.isdigit() or int(text) < 1:
        raise NotFound(f"'{text}' is not a plan version: versions are 1, 2, 3...")
    return int(text)


def get_version(item_id: Any, version: int | None = None) -> PlanVersion:
    """One version of a live plan (the latest by default); NotFound / DamagedPlan otherwise."""
    return _version(app_state().get(first_value(item_id), version, kind=KIND))


def versions(item_id: str) -> list[PlanVersion]:
    """Every version of a live plan, oldest first (each with who, when, note, effective date)."""
    store = app_state()
    latest = store.get(item_id, kind=KIND)  # NotFound for an unknown or deleted plan
    numbers = sorted(v.version for v in store.versions(item_id))
    return [
        _version(latest if n == latest.version else store.get(item_id, n, kind=KIND))
        for n in numbers
    ]


def in_force(plan_versions: list[PlanVersion], day: date) -> PlanVersion | None:
    """The version with the greatest effective date on or before `day` (ties: the latest
    saved); None when none has taken effect by then."""
    candidates = [v for v in plan_versions if v.effective_from <= day]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (v.effective_from, v.saved_at, v.version))


def plans() -> list[tuple[str, str]]:
    """(item id, name) of every live plan, the most recently saved first."""
    return [(item.id, item.name) for item in app_state().list(KIND)]


# ---- the plan of a view --------------------------------------------------------------------
def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def _period_of_view(params: Mapping[str, Any], kind: str, as_of: date) -> Period:
    key = first_value(params.get("period"))
    return parse_period(key) if key not in (None, "") else period_of(as_of, kind)


def default_view(params: Mapping[str, Any], as_of: date) -> PlanView:
    """No plan saved: the default plan, quarterly unless the URL's period is another kind."""
    key = first_value(params.get("period"))
    period = parse_period(key) if key not in (None, "") else period_of(as_of, "quarter")
    plan = default_plan(period_of(as_of, period.kind).start, period.kind)
    note = (
        "No plan has been saved yet: this view uses the default plan, which is not saved. "
        "Adjust it on the Plan tab and save it to keep it."
    )
    return PlanView(None, DEFAULT_NAME, None, plan, period, False, note, in_force=False)


def _check_kind(chosen: PlanVersion, period: Period) -> None:
    if chosen.plan.period != period.kind:
        raise ServiceError(
            f"Version {chosen.version} of “{chosen.name}” pays per {_KIND_NOUN[chosen.plan.period]}, but "
            f"{period.label()} is a {_KIND_NOUN[period.kind]}: choose a "
            f"{_KIND_NOUN[chosen.plan.period]} instead."
        )


def plan_for_view(params: Mapping[str, Any], as_of: date) -> PlanView:
    """The plan, version and period a compensation view computes with (see the module's
    docstring and the URL's `plan`, `version`, `period`). Raises a ServiceError with a message
    for the page: an unknown plan or version, a period that is not one, a period of another kind
    than the plan's."""
    item_id = first_value(params.get("plan"))
    pinned = parse_version(params.get("version"))
    if item_id in (None, ""):
        live = plans()
        if not live:
            if pinned is not None:
                raise NotFound("No plan has been saved yet, so there is no version to open.")
            return default_view(params, as_of)
        item_id = live[0][0]
    history = versions(str(item_id)[:40])
    if pinned is not None:
        chosen = next((v for v in history if v.version == pinned), None)
        if chosen is None:
            raise NotFound(f"The plan “{history[-1].name}” has no version {pinned}.")
        period = _period_of_view(params, chosen.plan.period, as_of)
        _check_kind(chosen, period)
        then = in_force(history, period.start)
        why = f"as the link asks (in force from {_day(chosen.effective_from)})"
        if then is not None and then.version != chosen.version:
            why += f"; version {then.version} was the one in force then"
        note = f"{period.label()} is computed with version {chosen.version} {why}."
        return PlanView(
            chosen.item_id,
            chosen.name,
            chosen.version,
            chosen.plan,
            period,
            True,
            note,
            in_force=then is not None and then.version == chosen.version,
        )
    earliest = min(history, key=lambda v: (v.effective_from, v.version))
    now = in_force(history, as_of) or earliest
    period = _period_of_view(params, now.plan.period, as_of)
    chosen = in_force(history, period.start)
    covered = chosen is not None
    if chosen is None:  # the period starts before the plan's first version takes effect
        chosen = earliest
        note = (
            f"No version of “{chosen.name}” was in force on {_day(period.start)}, when "
            f"{period.label()} starts: it first takes effect on {_day(chosen.effective_from)}. "
            f"Shown with version {chosen.version} as a preview."
        )
    else:
        note = (
            f"{period.label()} is computed with version {chosen.version}, the version in force "
            f"on its first day (effective from {_day(chosen.effective_from)})."
        )
    _check_kind(chosen, period)
    return PlanView(
        chosen.item_id,
        chosen.name,
        chosen.version,
        chosen.plan,
        period,
        False,
        note,
        in_force=covered,
    )


# ---- saving --------------------------------------------------------------------------------
def first_open_period(kind: str, as_of: date) -> Period:
    """The first period of `kind` the data does not yet cover to its last day."""
    period = period_of(as_of, kind)
    return period.next() if period.closed(as_of) else period


def closed_problem(plan: Plan, as_of: date) -> Problem | None:
    """Why the plan cannot take effect when it says (its period is closed), or None."""
    period = period_of(plan.effective_from, plan.period)
    if not period.closed(as_of):
        return None
    first_open = first_open_period(plan.period, as_of)
    return Problem(
        "effective_from",
        (
            f"{period.label()} is closed: the data covers it to its last day "
            f"({_day(period.last_day)}), so its payouts are final and no plan change may reach "
            f"back into it. The first open {_KIND_NOUN[plan.period]} is {first_open.label()}, "
            f"from {_day(first_open.start)} ({first_open.start.isoformat()})."
        ),
    )


def save_plan(
    item_id: str | None,
    name: str,
    payload: dict,
    author: str,
    expected_version: int | None,
    as_of: date,
    note: str = "",
) -> PlanVersion:
    """Save a plan: a new plan called `name` (item_id None), or a new version of `item_id` (its
    name stays; `expected_version` is the version the user started from: a newer one saved
    meanwhile raises Conflict). `as_of` is the data's date: a plan may not take effect inside a
    period that date closes. Invalid plans raise PlanInvalid naming every field; a bad name,
    a stale version or an unknown plan raise the store's errors. Nothing is written then."""
    plan = plan_from_payload(payload)
    problem = closed_problem(plan, as_of)
    if problem is not None:
        raise PlanInvalid([problem])
    clean = plan_to_payload(plan)  # what is kept is exactly what the plan reads back as
    store = app_state()
    if item_id is None:
        item = store.create(KIND, clean_name(name, KIND), clean, author, note=note)
    else:
        store.get(first_value(item_id), kind=KIND)
        item = store.save(item_id, clean, author, expected_version, note=note)
    return _version(item)


def draft_problems(payload: Mapping[str, Any], as_of: date) -> tuple[Plan | None, list[Problem]]:
    """An edited plan checked as `save_plan` will check it (its fields, then whether it takes
    effect in a period `as_of` closes): the plan and no problems, or None and every problem."""
    try:
        plan = plan_from_payload(payload)
    except PlanInvalid as exc:
        return None, list(exc.problems)
    problem = closed_problem(plan, as_of)
    return (None, [problem]) if problem else (plan, [])
