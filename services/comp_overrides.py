"""Setting a person's target by hand, or clearing one: the override form read field by field,
and saved as a new version of the view's plan (overrides are part of a plan, so nothing is ever
overwritten).

The new version is built on the version in force for the view's period (a view pinned to another
version, or a preview, cannot be changed: `comp_plan_store.check_in_force`) and takes effect on
the period's first day, so earlier periods keep the version they were computed with. The new
target holds from this period until a later-dated version of the plan takes effect (that version
does not carry it; `comp_plan_store.holds_until` says so). A period the data already covers to
its last day is closed: the store refuses the change and says so (`closed_problem`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from services.comp_plan import MAX_REASON, METRICS, PlanInvalid, Problem, _number, plan_to_payload
from services.comp_plan_store import (
    DEFAULT_NAME,
    PlanVersion,
    PlanView,
    check_in_force,
    save_plan,
)

FIELDS = ("person", "metric", "target", "reason")  # the form's fields, as problems name them
MAX_RATE_PCT = 500.0  # a rate target in % (as plan_from_payload allows a share up to 5)


@dataclass(frozen=True)
class OverrideForm:
    """A valid override: whose target, of which metric, the target (in the metric's unit:
    a share or money) and why."""

    csm_id: str
    metric: str
    target: float
    reason: str


def read_override_form(
    plan_view: PlanView,
    people: Collection[str],
    csm_id: object,
    metric: object,
    target: object,
    reason: object,
) -> OverrideForm:
    """The form's values checked (a rate target is typed in %, money as an amount); PlanInvalid
    naming each wrong field ("person", "metric", "target", "reason") at once."""
    problems = []
    csm = str(csm_id or "")
    if csm not in people:
        problems.append(Problem("person", "Choose a person listed in this view."))
    key = str(metric or "")
    in_plan = plan_view.plan.metric(key) is not None
    if not in_plan:
        problems.append(Problem("metric", "Choose a metric of this plan."))
    value = _number(target)
    rate = in_plan and METRICS[key].unit == "rate"
    if value is None:
        problems.append(
            Problem("target", "Type the target: a percentage." if rate else "Type the target.")
        )
    elif value < 0 or (rate and value > MAX_RATE_PCT):
        problems.append(
            Problem(
                "target",
                f"A rate target is between 0% and {MAX_RATE_PCT:g}%."
                if rate
                else "A target is an amount of 0 or more.",
            )
        )
    why = str(reason or "").strip()
    if not why:
        problems.append(Problem("reason", "Say why this target is set by hand."))
    elif len(why) > MAX_REASON:
        problems.append(
            Problem("reason", f"Keep the reason to {MAX_REASON} characters ({len(why)} now).")
        )
    if problems:
        raise PlanInvalid(problems)
    assert value is not None
    return OverrideForm(csm, key, value / 100.0 if rate else value, why)


def _payload_from_period(plan_view: PlanView, overrides: list[dict]) -> dict:
    """The view's plan as a payload with these overrides, taking effect on the period's first
    day (the plan's own date when that is later: the unsaved default plan)."""
    payload = plan_to_payload(plan_view.plan)
    payload["overrides"] = overrides
    payload["effective_from"] = max(plan_view.plan.effective_from, plan_view.period.start)
    payload["effective_from"] = payload["effective_from"].isoformat()
    return payload


def _others(plan_view: PlanView, csm_id: str, metric: str) -> list[dict]:
    """The view's overrides but the one of this person and metric."""
    return [
        o
        for o in plan_to_payload(plan_view.plan)["overrides"]
        if (o["csm_id"], o["metric"]) != (csm_id, metric)
    ]


def override_payload(plan_view: PlanView, form: OverrideForm) -> dict:
    """The view's plan as a payload with the override set (replacing one for the same person
    and metric), taking effect from the view's period."""
    mine = {"csm_id": form.csm_id, "metric": form.metric, "target": form.target}
    return _payload_from_period(
        plan_view, _others(plan_view, form.csm_id, form.metric) + [{**mine, "reason": form.reason}]
    )


def save_override(
    plan_view: PlanView,
    form: OverrideForm,
    person_name: str,
    author: str,
    expected_version: int | None,
    as_of: date,
) -> PlanVersion:
    """Saves the plan with the override as a new version (or, for the unsaved default plan,
    as a new plan), from the view's period until a later-dated version takes effect.
    `expected_version`: the version the page was built from. NotInForce (the view does not show
    the version in force), PlanInvalid (e.g. a closed period, field "effective_from"), Conflict
    (another version in force now), NotFound: nothing is saved."""
    check_in_force(plan_view)
    note = f"{METRICS[form.metric].label} target of {person_name} set by hand: {form.reason}"
    return save_plan(
        plan_view.item_id,
        plan_view.name or DEFAULT_NAME,
        override_payload(plan_view, form),
        author,
        expected_version if plan_view.item_id else None,
        as_of,
        note=note[:MAX_REASON],
    )


def clear_override(
    plan_view: PlanView,
    csm_id: object,
    metric: object,
    person_name: str,
    author: str,
    expected_version: int | None,
    as_of: date,
) -> PlanVersion:
    """Saves the plan without the person's target set by hand for the metric (their target is
    the metric's rule again), as `save_override` saves one. PlanInvalid "person" / "metric" when
    none is chosen or the version has no such override; the other refusals as save_override."""
    csm, key = str(csm_id or ""), str(metric or "")
    if not csm or not key:
        problems = [Problem("person", "Choose a person.")] if not csm else []
        problems += [Problem("metric", "Choose a metric.")] if not key else []
        raise PlanInvalid(problems)
    if (csm, key) not in plan_view.plan.overrides:
        label = METRICS[key].label if key in METRICS else key
        raise PlanInvalid(
            [Problem("metric", f"{person_name} has no {label} target set by hand to clear.")]
        )
    check_in_force(plan_view)
    note = f"{METRICS[key].label} target of {person_name} set by hand cleared"
    return save_plan(
        plan_view.item_id,
        plan_view.name or DEFAULT_NAME,
        _payload_from_period(plan_view, _others(plan_view, csm, key)),
        author,
        expected_version,
        as_of,
        note=note[:MAX_REASON],
    )


def field_of(problem: Problem) -> str:
    """Which form field a problem belongs by ("form": the form as a whole)."""
    if problem.field in FIELDS:
        return problem.field
    if problem.field.startswith("overrides."):
        return "reason" if "why" in problem.message else "target"
    return "form"
