"""Setting a target by hand (services/comp_overrides.py): the form read field by field, the new
plan version it saves (from the view's period on), and what is refused with nothing saved."""

from datetime import date

import pytest

from services.app_state import Conflict
from services.comp_overrides import field_of, read_override_form, save_override
from services.comp_periods import period_of
from services.comp_plan import PlanInvalid, Problem, default_plan, plan_to_payload
from services.comp_plan_store import default_view, plan_for_view, save_plan, versions

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
