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

from services.app_state import Conflict, Item, NotFound, app_state, clean_name
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


class NotInForce(ServiceError):
    """A view whose plan version is not the one in force for its period (a version pinned by
    the link, or a preview before the plan's first version): a change cannot start from it."""

    def __init__(self, message: str, in_force_version: int | None):
        super().__init__(message)
        self.in_force_version = in_force_version  # None: no version is in force for the period


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


def _plan_in_force(
    live: list[tuple[str, str]], params: Mapping[str, Any], as_of: date
) -> str | None:
    """With no plan named: the most recently saved live plan with a version in force on the
    first day of the view's period (of its own kind when the URL names no period), so a closed
    period is shown with the plan it was paid under. None when no plan was in force then."""
    key = first_value(params.get("period"))
    asked = parse_period(key) if key not in (None, "") else None
    for item_id, _ in live:
        try:
            history = versions(item_id)
        except ServiceError:  # an unreadable plan is not the one in force; it says so if opened
            continue
        earliest = min(history, key=lambda v: (v.effective_from, v.version))
        kind = (in_force(history, as_of) or earliest).plan.period
        period = asked or period_of(as_of, kind)
        then = in_force(history, period.start)
        if then is not None and then.plan.period == period.kind:
            return item_id
    return None


def plan_for_view(params: Mapping[str, Any], as_of: date) -> PlanView:
    """The plan, version and period a compensation view computes with (see the module's
    docstring and the URL's `plan`, `version`, `period`). With no `plan`, the most recently
    saved live plan in force on the period's first day; when none was, the most recently saved
    one as a preview (`in_force` False). Raises a ServiceError with a message
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
        item_id = _plan_in_force(live, params, as_of) or live[0][0]
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


def kind_problem(plan: Plan, name: str, history: list[PlanVersion]) -> Problem | None:
    """Why a new version may not pay per another kind of period than the plan's versions (its
    closed periods would be paid again under the new kind), or None."""
    if not history or history[-1].plan.period == plan.period:
        return None
    was, asked = _KIND_NOUN[history[-1].plan.period], _KIND_NOUN[plan.period]
    return Problem(
        "period",
        f"“{name}” pays per {was}; to pay per {asked}, save a new plan (a version of this one "
        f"would pay its closed {was}s again).",
    )


def _when(moment: datetime) -> str:
    return f"{_day(moment.date())} {moment:%H:%M}"


def start_problem(plan: Plan, history: list[PlanVersion]) -> Problem | None:
    """Why a new version may not take effect before the plan's first version, or None."""
    if not history or in_force(history, plan.effective_from) is not None:
        return None
    first = min(history, key=lambda v: (v.effective_from, v.version))
    return Problem(
        "effective_from",
        f"“{first.name}” first takes effect on {_day(first.effective_from)}: a new version "
        f"cannot start before it. To pay from {_day(plan.effective_from)}, save a new plan.",
    )


def _version_problems(plan: Plan, history: list[PlanVersion], as_of: date) -> list[Problem]:
    """Why `plan` cannot be saved as a version of the plan whose versions are `history` ([]:
    a new plan): another kind of period, a closed period, a date before the first version."""
    name = history[-1].name if history else ""
    found = (
        kind_problem(plan, name, history),
        closed_problem(plan, as_of),
        start_problem(plan, history),
    )
    return [p for p in found if p is not None]


def _check_base(
    history: list[PlanVersion], plan: Plan, expected_version: int | None
) -> PlanVersion:
    """The version in force on the day `plan` takes effect, which the change must start from
    (`expected_version`); Conflict otherwise (None included): nothing is saved."""
    latest = history[-1]
    base = in_force(history, plan.effective_from)
    assert base is not None  # start_problem refused a date before the first version
    if expected_version is None:
        raise Conflict(
            f"Nothing was saved: which version of “{latest.name}” your change starts from is "
            f"not known. Open the version in force and make your change again.",
            latest.version,
            latest.saved_by,
            latest.saved_at,
        )
    if base.version != expected_version:
        raise Conflict(
            f"Nothing was saved: your change starts from version {expected_version} of "
            f"“{latest.name}”, but version {base.version} (saved by {base.saved_by} on "
            f"{_when(base.saved_at)}) is the one in force on {_day(plan.effective_from)}, and "
            f"saving would undo it. Open version {base.version} and make your change there.",
            base.version,
            base.saved_by,
            base.saved_at,
        )
    return base


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
    name stays). `expected_version` is the version the change starts from: it must be the one
    in force on the new version's effective date (anything else, None included, or a version
    saved meanwhile raises Conflict), and the new version pays per the same kind of period
    (Problem "period"). `as_of` is the data's date: a plan may not take effect inside a period
    that date closes. Invalid plans raise PlanInvalid naming every field; a bad name or an
    unknown plan raise the store's errors. Nothing is written then."""
    plan = plan_from_payload(payload)
    store = app_state()
    history = versions(str(first_value(item_id))[:40]) if item_id is not None else []
    problems = _version_problems(plan, history, as_of)
    if problems:
        raise PlanInvalid(problems)
    clean = plan_to_payload(plan)  # what is kept is exactly what the plan reads back as
    if item_id is None:
        item = store.create(KIND, clean_name(name, KIND), clean, author, note=note)
    else:
        _check_base(history, plan, expected_version)
        # The store refuses the save when anything was saved since `history` was read.
        item = store.save(history[-1].item_id, clean, author, history[-1].version, note=note)
    return _version(item)


def check_in_force(view: PlanView) -> None:
    """NotInForce when a change cannot start from the view: its version is not the one in force
    for its period (pinned by the link, or a preview before the plan's first version)."""
    if view.item_id is None or view.in_force:
        return
    history = versions(view.item_id)
    then = in_force(history, view.period.start)
    if then is None:
        first = min(history, key=lambda v: (v.effective_from, v.version))
        raise NotInForce(
            f"No version of “{view.name}” is in force in {view.period.label()}: it first takes "
            f"effect on {_day(first.effective_from)}, and this view shows version "
            f"{view.version} as a preview. Nothing was saved: open a period from "
            f"{_day(first.effective_from)} on, or save your change as a new plan.",
            None,
        )
    raise NotInForce(
        f"This view shows version {view.version} of “{view.name}” (the link pins it), but "
        f"version {then.version} is the one in force for {view.period.label()}. A change is "
        f"built on the version in force, so nothing was saved: open version {then.version} "
        "and make your change there.",
        then.version,
    )


def replaced_by(saved: PlanVersion) -> PlanVersion | None:
    """The version that takes over from `saved` on a later date (the first dated after it):
    `saved` holds until then. None: it holds from its date on."""
    later = [v for v in versions(saved.item_id) if v.effective_from > saved.effective_from]
    if not later:
        return None
    return in_force(later, min(v.effective_from for v in later))


def holds_until(saved: PlanVersion) -> str:
    """'' or the sentence saying a later-dated version replaces `saved` (without its change)."""
    later = replaced_by(saved)
    if later is None:
        return ""
    return (
        f"Version {saved.version} holds until {_day(later.effective_from)}, when version "
        f"{later.version} takes effect: version {later.version} does not include this change."
    )


def draft_problems(
    payload: Mapping[str, Any], as_of: date, item_id: str | None = None
) -> tuple[Plan | None, list[Problem]]:
    """An edited plan checked as `save_plan` will check it (its fields, then whether it takes
    effect in a period `as_of` closes, and for a new version of `item_id`, whether it keeps the
    plan's kind of period and starts once the plan is in force): the plan and no problems, or
    None and every problem."""
    try:
        plan = plan_from_payload(payload)
    except PlanInvalid as exc:
        return None, list(exc.problems)
    history = versions(item_id) if item_id else []
    problems = _version_problems(plan, history, as_of)
    return (None, problems) if problems else (plan, [])
