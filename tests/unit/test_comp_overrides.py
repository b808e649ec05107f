"""Setting a target by hand (services/comp_overrides.py): the form read field by field, the new
plan version it saves (from the view's period on), and what is refused with nothing saved."""

from datetime import date

import pytest

from services.app_state import Conflict
from services.comp_overrides import clear_override, field_of, read_override_form, save_override
from services.comp_periods import period_of
from services.comp_plan import PlanInvalid, Problem, default_plan, plan_to_payload
from services.comp_plan_store import (
    NotInForce,
    default_view,
    holds_until,
    plan_for_view,
    save_plan,
    versions,
)

Q3 = period_of(date(2026, 8, 15), "quarter")  # Jul-Sep 2026 (calendar fiscal year)
Q4 = Q3.next()
DATA_DAY = date(2026, 11, 20)  # Q3 closed, Q4 open
PEOPLE = {"C1", "C2"}


@pytest.fixture
def store(monkeypatch, tmp_path):
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "app_state.sqlite"))
    monkeypatch.setenv("CSOPS_FISCAL_YEAR_START_MONTH", "1")


@pytest.fixture
def saved(store):
    """A plan in force since Q3 (effective 1 Jul 2026), version 1."""
    return save_plan(None, "Plan", plan_to_payload(default_plan(Q3.start)), "a", None, Q3.start)


def problems_of(call) -> dict[str, str]:
    with pytest.raises(PlanInvalid) as caught:
        call()
    return {p.field: p.message for p in caught.value.problems}


def test_a_rate_target_is_typed_in_percent_and_money_as_an_amount():
    view = default_view({}, DATA_DAY)
    form = read_override_form(view, PEOPLE, "C1", "renewal_rate", "92.5", "  Ramp-up  ")
    assert (form.csm_id, form.metric, form.reason) == ("C1", "renewal_rate", "Ramp-up")
    assert form.target == pytest.approx(0.925)
    money = read_override_form(view, PEOPLE, "C2", "expansion_arr", "40000", "New book")
    assert money.target == 40_000.0


def test_every_wrong_field_is_named_at_once():
    view = default_view({}, DATA_DAY)
    found = problems_of(lambda: read_override_form(view, PEOPLE, "C9", "grr", "x", " "))
    assert set(found) == {"person", "metric", "target", "reason"}
    assert found["reason"] == "Say why this target is set by hand."
    assert found["metric"] == "Choose a metric of this plan."  # GRR is not in the default plan
    found = problems_of(lambda: read_override_form(view, PEOPLE, "C1", "nrr", "600", "r"))
    assert found == {"target": "A rate target is between 0% and 500%."}
    found = problems_of(lambda: read_override_form(view, PEOPLE, "C1", "expansion_arr", "-1", "r"))
    assert found == {"target": "A target is an amount of 0 or more."}
    found = problems_of(lambda: read_override_form(view, PEOPLE, "C1", "nrr", "95", "x" * 301))
    assert set(found) == {"reason"}


def test_saved_as_a_new_version_from_the_view_period(saved):
    view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    form = read_override_form(view, PEOPLE, "C1", "renewal_rate", "85", "Ramp-up")
    new = save_override(view, form, "Ana Adams", "maria", 1, DATA_DAY)
    assert new.version == 2 and new.saved_by == "maria"
    assert new.plan.effective_from == Q4.start  # Q3 keeps version 1
    assert new.plan.overrides[("C1", "renewal_rate")].target == 0.85
    assert "Ana Adams" in new.note
    # Q3 is still computed with version 1, Q4 with the new one.
    assert plan_for_view({"plan": saved.item_id, "period": Q3.key}, DATA_DAY).version == 1
    assert plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY).version == 2
    # A second override of the same person and metric replaces the first.
    view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    form = read_override_form(view, PEOPLE, "C1", "renewal_rate", "80", "Bigger ramp")
    again = save_override(view, form, "Ana Adams", "maria", 2, DATA_DAY)
    assert dict(again.plan.overrides) == {
        ("C1", "renewal_rate"): again.plan.overrides[("C1", "renewal_rate")]
    }
    assert again.plan.overrides[("C1", "renewal_rate")].target == 0.8


def test_a_closed_period_or_a_stale_version_saves_nothing(saved):
    closed = plan_for_view({"plan": saved.item_id, "period": Q3.key}, DATA_DAY)
    form = read_override_form(closed, PEOPLE, "C1", "renewal_rate", "85", "Ramp-up")
    found = problems_of(lambda: save_override(closed, form, "Ana", "maria", 1, DATA_DAY))
    assert "Q3 2026 is closed" in found["effective_from"]
    assert field_of(Problem("effective_from", "x")) == "form"
    view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    save_plan(saved.item_id, "", plan_to_payload(default_plan(Q4.start)), "someone", 1, DATA_DAY)
    with pytest.raises(Conflict):
        save_override(view, form, "Ana", "maria", 1, DATA_DAY)
    assert [v.version for v in versions(saved.item_id)] == [1, 2]


def test_the_unsaved_default_plan_becomes_a_saved_plan(store):
    view = default_view({"period": Q4.key}, DATA_DAY)
    form = read_override_form(view, PEOPLE, "C2", "nrr", "101", "Stretch")
    new = save_override(view, form, "Ben Baker", "maria", None, DATA_DAY)
    assert (new.version, new.name) == (1, "Default plan")
    assert new.plan.overrides[("C2", "nrr")].target == pytest.approx(1.01)


def _harder_from(start: date) -> dict:
    """The default plan from `start` with a 95% renewal target and a 30k CSM bonus."""
    payload = plan_to_payload(default_plan(start))
    payload["metrics"][0]["target"] = 0.95
    payload["on_target_bonus"]["CSM"] = 30_000.0
    return payload


def test_an_override_from_a_pinned_older_version_is_refused_and_undoes_nothing(saved):
    # v1 from Q3; v2 from Q4 (95%, 30k). A view of Q4 pinned to version 1 cannot be the base
    # of a change: saving it would make a v3 from 1 Oct built on v1 (90%, 20k), undoing v2.
    save_plan(saved.item_id, "", _harder_from(Q4.start), "bob", 1, DATA_DAY)
    pinned = plan_for_view({"plan": saved.item_id, "version": "1", "period": Q4.key}, DATA_DAY)
    form = read_override_form(pinned, PEOPLE, "C1", "renewal_rate", "85", "Ramp-up")
    with pytest.raises(NotInForce, match="version 2 is the one in force for Q4 2026"):
        save_override(pinned, form, "Ana", "maria", 1, DATA_DAY)
    # The page's view of Q4 (v2) with the version it was built from being 1: a conflict.
    view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    with pytest.raises(Conflict, match="starts from version 1"):
        save_override(view, form, "Ana", "maria", 1, DATA_DAY)
    # No version it was built from: a conflict too, never a save that skips the check.
    with pytest.raises(Conflict):
        save_override(view, form, "Ana", "maria", None, DATA_DAY)
    assert [v.version for v in versions(saved.item_id)] == [1, 2]
    q4 = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY).plan
    assert (q4.metric("renewal_rate").target, q4.on_target_bonus["CSM"]) == (0.95, 30_000.0)
    # Built on the version in force (2), it keeps v2's plan and adds the override.
    new = save_override(view, form, "Ana", "maria", 2, DATA_DAY)
    assert (new.plan.metric("renewal_rate").target, new.plan.on_target_bonus["CSM"]) == (
        0.95,
        30_000.0,
    )
    assert new.plan.overrides[("C1", "renewal_rate")].target == 0.85


def test_an_override_before_a_later_dated_version_says_until_when_it_holds(saved):
    next_year = Q4.next()  # Q1 2027: a version dated later than the view's period
    save_plan(saved.item_id, "", _harder_from(next_year.start), "bob", 1, DATA_DAY)
    view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    assert view.version == 1
    form = read_override_form(view, PEOPLE, "C1", "renewal_rate", "85", "Ramp-up")
    new = save_override(view, form, "Ana", "maria", 1, DATA_DAY)
    assert (new.version, new.plan.effective_from) == (3, Q4.start)
    assert holds_until(new) == (
        "Version 3 holds until 1 Jan 2027, when version 2 takes effect: version 2 does not "
        "include this change."
    )
    q1 = plan_for_view({"plan": saved.item_id, "period": next_year.key}, DATA_DAY)
    assert (q1.version, dict(q1.plan.overrides)) == (2, {})


def test_clearing_an_override_saves_a_version_without_it(saved):
    view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    for csm, target in (("C1", "85"), ("C2", "88")):
        form = read_override_form(view, PEOPLE, csm, "renewal_rate", target, "Ramp-up")
        save_override(view, form, csm, "maria", view.version, DATA_DAY)
        view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    assert set(view.plan.overrides) == {("C1", "renewal_rate"), ("C2", "renewal_rate")}
    cleared = clear_override(view, "C1", "renewal_rate", "Ana Adams", "maria", 3, DATA_DAY)
    assert cleared.version == 4 and cleared.plan.effective_from == Q4.start
    assert set(cleared.plan.overrides) == {("C2", "renewal_rate")}  # the other one is kept
    assert cleared.note == "Renewal rate (ARR) target of Ana Adams set by hand cleared"
    # Nothing to clear, or no person chosen: refused by the field, nothing saved.
    view = plan_for_view({"plan": saved.item_id, "period": Q4.key}, DATA_DAY)
    found = problems_of(lambda: clear_override(view, "C1", "renewal_rate", "Ana", "m", 4, DATA_DAY))
    assert found == {"metric": "Ana has no Renewal rate (ARR) target set by hand to clear."}
    found = problems_of(lambda: clear_override(view, None, "nrr", "", "m", 4, DATA_DAY))
    assert found == {"person": "Choose a person."}
    assert [v.version for v in versions(saved.item_id)] == [1, 2, 3, 4]
