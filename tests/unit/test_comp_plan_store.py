"""Saved bonus plans (services/comp_plan_store.py): every change is a version with its effective
date, an old period is computed with the version then in force (a pinned version wins), a plan
may not take effect inside a closed period (nothing is written), the view's plan / version /
period come from the URL with plain errors, and two processes editing one plan lose nothing."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime, timedelta

import pytest

from services.app_state import Conflict, InvalidName, NotFound, SqliteAppState, app_state
from services.comp_periods import InvalidPeriod
from services.comp_plan import PlanInvalid, default_plan, plan_to_payload
from services.comp_plan_store import (
    DEFAULT_NAME,
    KIND,
    NotInForce,
    PlanVersion,
    check_in_force,
    draft_problems,
    holds_until,
    in_force,
    plan_for_view,
    plans,
    save_plan,
    versions,
)
from services.errors import ServiceError

# Calendar quarters (fiscal year = calendar year): Q1 2026 = Jan-Mar, Q2 = Apr-Jun, ...
Q1, Q2, Q3, Q4 = date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)
AUG_15 = date(2026, 8, 15)  # the data's date in most tests: Q3 2026 is open, Q2 closed


@pytest.fixture(autouse=True)
def store(monkeypatch, tmp_path):
    """An empty store of saved items for each test, and calendar quarters."""
    path = tmp_path / "app_state.sqlite"
    monkeypatch.setenv("CSOPS_APP_STATE", str(path))
    monkeypatch.setenv("CSOPS_FISCAL_YEAR_START_MONTH", "1")
    return path


def _payload(effective_from: date, renewal_target: float = 0.9, period: str = "quarter") -> dict:
    """The default plan, told apart by the renewal-rate target."""
    payload = plan_to_payload(default_plan(effective_from, period))
    payload["metrics"][0]["target"] = renewal_target
    return payload


def _renewal_target(view) -> float:
    return view.plan.metric("renewal_rate").target


def _two_versions() -> str:
    """v1 effective from Q1 2026 (saved in December 2025), v2 from Q3 2026 (saved in May)."""
    v1 = save_plan(None, "FY26 plan", _payload(Q1, 0.90), "ann", None, date(2025, 12, 15), "First")
    save_plan(v1.item_id, "", _payload(Q3, 0.95), "bob", 1, date(2026, 5, 1), "Harder renewals")
    return v1.item_id


# ---- which version computes a period ---------------------------------------------------------
def test_an_old_period_is_computed_with_the_version_then_in_force():
    plan_id = _two_versions()
    q2 = plan_for_view({"plan": plan_id, "period": "Q-2026-04-01"}, AUG_15)
    assert (q2.version, _renewal_target(q2), q2.pinned, q2.in_force) == (1, 0.90, False, True)
    assert q2.period.start == Q2
    assert q2.note == (
        "Q2 2026 is computed with version 1, the version in force on its first day "
        "(effective from 1 Jan 2026)."
    )
    q3 = plan_for_view({"plan": plan_id, "period": "Q-2026-07-01"}, AUG_15)
    assert (q3.version, _renewal_target(q3)) == (2, 0.95)
    assert "Q3 2026 is computed with version 2" in q3.note
    # Q1 starts on v1's effective date exactly: v1.
    assert plan_for_view({"plan": plan_id, "period": "Q-2026-01-01"}, AUG_15).version == 1


def test_without_a_period_the_view_takes_the_period_holding_the_as_of_date():
    plan_id = _two_versions()
    view = plan_for_view({"plan": plan_id}, AUG_15)
    assert (view.period.start, view.period.end, view.version) == (Q3, Q4, 2)
    view = plan_for_view({"plan": plan_id}, date(2026, 5, 20))
    assert (view.period.start, view.version) == (Q2, 1)


def test_a_pinned_version_wins_and_the_note_says_which_was_in_force():
    plan_id = _two_versions()
    view = plan_for_view({"plan": plan_id, "version": "1", "period": "Q-2026-07-01"}, AUG_15)
    assert (view.version, _renewal_target(view), view.pinned, view.in_force) == (
        1,
        0.9,
        True,
        False,
    )
    assert view.note == (
        "Q3 2026 is computed with version 1 as the link asks (in force from 1 Jan 2026); "
        "version 2 was the one in force then."
    )
    same = plan_for_view({"plan": plan_id, "version": "2", "period": "Q-2026-07-01"}, AUG_15)
    assert (same.version, same.pinned, same.in_force) == (2, True, True)


def test_a_period_before_the_first_version_is_a_preview_said_so():
    plan_id = _two_versions()
    view = plan_for_view({"plan": plan_id, "period": "Q-2025-10-01"}, AUG_15)
    assert (view.version, view.in_force) == (1, False)
    assert "No version of “FY26 plan” was in force on 1 Oct 2025" in view.note
    assert "first takes effect on 1 Jan 2026" in view.note


def test_in_force_takes_the_latest_effective_date_and_on_a_tie_the_latest_saved():
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    plan = default_plan(Q1)

    def v(number: int, effective: date, hours: int) -> PlanVersion:
        return PlanVersion(
            "p",
            "P",
            number,
            "ann",
            t0 + timedelta(hours=hours),
            "",
            plan.__class__(**{**plan.__dict__, "effective_from": effective}),
        )

    history = [v(1, Q1, 0), v(2, Q3, 1), v(3, Q1, 2)]  # v3 re-does Q1 after v2 was saved
    assert in_force(history, date(2025, 12, 31)) is None
    assert in_force(history, Q1).version == 3  # tie on 1 Jan: the latest saved
    assert in_force(history, date(2026, 6, 30)).version == 3
    assert in_force(history, Q3).version == 2  # the greatest effective date wins over saved order
    assert in_force([], Q3) is None


def test_a_new_version_for_the_same_effective_date_replaces_it_from_then_on():
    plan_id = _two_versions()
    save_plan(plan_id, "", _payload(Q3, 0.97), "cleo", 2, AUG_15, "Q3 target softened")
    view = plan_for_view({"plan": plan_id}, AUG_15)
    assert (view.version, _renewal_target(view)) == (3, 0.97)
    assert plan_for_view({"plan": plan_id, "period": "Q-2026-04-01"}, AUG_15).version == 1


# ---- the URL's plan, version and period ------------------------------------------------------
def test_no_saved_plan_gives_the_unsaved_default_plan_of_the_as_of_quarter():
    view = plan_for_view({}, AUG_15)
    assert (view.item_id, view.version, view.name, view.pinned) == (None, None, DEFAULT_NAME, False)
    assert view.plan == default_plan(Q3, "quarter")
    assert (view.period.start, view.period.end) == (Q3, Q4)
    assert "not saved" in view.note
    with pytest.raises(NotFound, match="No plan has been saved yet"):
        plan_for_view({"version": "1"}, AUG_15)


def test_no_plan_in_the_url_opens_the_most_recently_saved_live_plan():
    first = _two_versions()
    other = save_plan(None, "Pilot plan", _payload(Q3, 0.8), "dan", None, AUG_15)
    assert [name for _, name in plans()] == ["Pilot plan", "FY26 plan"]
    assert plan_for_view({}, AUG_15).item_id == other.item_id
    save_plan(first, "", _payload(Q4, 0.99), "ann", 2, AUG_15)  # FY26 saved last now
    assert plan_for_view({}, AUG_15).item_id == first


@pytest.mark.parametrize(
    ("params", "error", "words"),
    [
        ({"period": "Q3-2026"}, InvalidPeriod, "is not a bonus period"),
        ({"period": "Q-2026-08-01"}, InvalidPeriod, "does not start a fiscal quarter"),
        ({"version": "two"}, NotFound, "is not a plan version"),
        ({"version": "0"}, NotFound, "is not a plan version"),
        ({"version": "9"}, NotFound, "has no version 9"),
        ({"period": "H-2026-07-01"}, ServiceError, "pays per quarter, but H2 2026 is a half year"),
    ],
)
def test_bad_url_values_raise_plain_messages(params, error, words):
    plan_id = _two_versions()
    with pytest.raises(error, match=words):
        plan_for_view({"plan": plan_id, **params}, AUG_15)


def test_an_unknown_or_malformed_plan_id_is_not_found():
    _two_versions()
    with pytest.raises(NotFound):
        plan_for_view({"plan": "nope123"}, AUG_15)
    with pytest.raises(NotFound):
        plan_for_view({"plan": "../../etc"}, AUG_15)


# ---- saving ----------------------------------------------------------------------------------
def test_versions_list_who_when_why_and_from_when_oldest_first():
    plan_id = _two_versions()
    history = versions(plan_id)
    assert [(v.version, v.saved_by, v.note, v.effective_from) for v in history] == [
        (1, "ann", "First", Q1),
        (2, "bob", "Harder renewals", Q3),
    ]
    assert history[0].saved_at <= history[1].saved_at
    assert {v.name for v in history} == {"FY26 plan"}


def test_an_effective_date_inside_a_closed_period_is_refused_and_nothing_is_written(store):
    # On 30 Jun 2026 the data covers Q2 to its last day: Q2 is closed, Q3 is the first open one.
    with pytest.raises(PlanInvalid) as caught:
        save_plan(None, "Late plan", _payload(Q2), "ann", None, date(2026, 6, 30))
    [problem] = caught.value.problems
    assert problem.field == "effective_from"
    assert "Q2 2026 is closed" in problem.message
    assert "The first open quarter is Q3 2026, from 1 Jul 2026" in problem.message
    assert plans() == []
    assert SqliteAppState(store).list(KIND) == []
    # The day before, Q2 is still open: the same plan is saved.
    saved = save_plan(None, "Late plan", _payload(Q2), "ann", None, date(2026, 6, 29))
    assert saved.version == 1


def test_a_new_version_reaching_back_into_a_closed_period_leaves_the_plan_as_it_was():
    plan_id = _two_versions()
    with pytest.raises(PlanInvalid, match="Q1 2026 is closed"):
        save_plan(plan_id, "", _payload(Q1, 0.5), "eve", 2, AUG_15)
    assert [v.version for v in versions(plan_id)] == [1, 2]


def test_an_invalid_plan_or_name_saves_nothing():
    payload = _payload(Q3)
    payload["metrics"][0]["weight"] = 10
    with pytest.raises(PlanInvalid) as caught:
        save_plan(None, "Bad weights", payload, "ann", None, AUG_15)
    assert [p.field for p in caught.value.problems] == ["weights"]
    with pytest.raises(InvalidName):
        save_plan(None, "   ", _payload(Q3), "ann", None, AUG_15)
    assert plans() == []


def test_the_saved_payload_is_the_plan_as_read_and_the_author_is_kept():
    payload = _payload(Q3)
    payload["metrics"][0]["weight"] = "50"  # text from a form
    saved = save_plan(None, "  Tidy   plan ", payload, "  ann  ", None, AUG_15)
    item = app_state().get(saved.item_id)
    assert item.payload == plan_to_payload(saved.plan)
    assert item.payload["metrics"][0]["weight"] == 50.0
    assert (saved.name, saved.saved_by) == ("Tidy plan", "ann")


def test_a_stale_save_raises_conflict_naming_who_saved_meanwhile():
    plan_id = _two_versions()
    save_plan(plan_id, "", _payload(Q4, 0.93), "cleo", 2, AUG_15)
    with pytest.raises(Conflict, match="saved by cleo") as caught:
        save_plan(plan_id, "", _payload(Q4, 0.99), "dan", 2, AUG_15)
    assert (caught.value.latest_version, caught.value.saved_by) == (3, "cleo")
    assert [v.version for v in versions(plan_id)] == [1, 2, 3]


# ---- two processes editing one plan ---------------------------------------------------------
def _editor(path: str, plan_id: str, tag: str, expected, barrier, results) -> None:
    """One app worker: after the barrier, saves its change from `expected`; reports the outcome."""
    import os

    os.environ["CSOPS_APP_STATE"] = path
    os.environ["CSOPS_FISCAL_YEAR_START_MONTH"] = "1"
    target = {"p1": 0.91, "p2": 0.92}[tag]
    barrier.wait()
    try:
        saved = save_plan(plan_id, "", _payload(Q4, target), tag, expected, AUG_15, f"by {tag}")
        results.put((tag, "saved", saved.version))
    except Conflict as exc:
        results.put((tag, "conflict", exc.saved_by))


def _race(path, plan_id: str, expected) -> dict[str, tuple[str, object]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_editor, args=(str(path), plan_id, tag, expected, barrier, results))
        for tag in ("p1", "p2")
    ]
    for w in workers:
        w.start()
    outcome = dict(
        (tag, (what, detail)) for tag, what, detail in (results.get(timeout=60) for _ in workers)
    )
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    return outcome


def test_two_processes_saving_from_the_same_version_one_wins_the_other_is_told(store):
    plan_id = _two_versions()
    outcome = _race(store, plan_id, expected=2)
    kinds = sorted(what for what, _ in outcome.values())
    assert kinds == ["conflict", "saved"]
    winner = next(tag for tag, (what, _) in outcome.items() if what == "saved")
    loser = next(tag for tag in outcome if tag != winner)
    assert outcome[winner] == ("saved", 3)
    assert outcome[loser] == ("conflict", winner)  # the message names who saved meanwhile
    history = versions(plan_id)
    assert [(v.version, v.saved_by) for v in history] == [(1, "ann"), (2, "bob"), (3, winner)]


def test_a_save_without_the_version_it_starts_from_is_a_conflict_and_nothing_is_written():
    plan_id = _two_versions()
    with pytest.raises(Conflict, match="which version of “FY26 plan” your change starts from"):
        save_plan(plan_id, "", _payload(Q4, 0.99), "dan", None, AUG_15)
    assert [v.version for v in versions(plan_id)] == [1, 2]


# ---- review findings: kind changes, changes built on another version, the plan of a view -----
def test_a_plan_cannot_change_how_often_it_pays_its_closed_quarters_stay_paid():
    # Quarterly from 1 Jan 2026; on 15 Aug Q1 and Q2 are closed but FY2026 is open, so a yearly
    # version from 1 Jan 2026 would pay Q1 and Q2 again: refused at the period field.
    v1 = save_plan(None, "FY26 plan", _payload(Q1), "ann", None, date(2025, 12, 15))
    yearly = _payload(Q1, period="year")
    with pytest.raises(PlanInvalid) as caught:
        save_plan(v1.item_id, "", yearly, "bob", 1, AUG_15)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        (
            "period",
            "“FY26 plan” pays per quarter; to pay per year, save a new plan (a version of this "
            "one would pay its closed quarters again).",
        )
    ]
    assert [v.version for v in versions(v1.item_id)] == [1]
    # The editor marks the same field before Save; as a new plan the yearly plan is fine.
    assert [p.field for p in draft_problems(yearly, AUG_15, v1.item_id)[1]] == ["period"]
    assert draft_problems(yearly, AUG_15)[1] == []
    assert save_plan(None, "FY26 yearly", yearly, "bob", None, AUG_15).plan.period == "year"


def test_a_change_built_on_a_version_not_in_force_on_its_date_is_refused():
    # v1 from Q1 (target 0.90), v2 from Q3 (0.95). A change built on v1 taking effect in Q3 or
    # Q4 would undo v2 there: a conflict naming v2, nothing written.
    plan_id = _two_versions()
    for day in (Q3, Q4):
        with pytest.raises(Conflict, match="version 2 \\(saved by bob on") as caught:
            save_plan(plan_id, "", _payload(day, 0.90), "eve", 1, AUG_15)
        assert "is the one in force on" in str(caught.value)
        assert caught.value.latest_version == 2
    assert [v.version for v in versions(plan_id)] == [1, 2]
    q3 = plan_for_view({"plan": plan_id, "period": "Q-2026-07-01"}, AUG_15)
    assert (q3.version, _renewal_target(q3)) == (2, 0.95)


def test_a_version_before_the_plans_first_one_is_refused_at_the_effective_date():
    first = save_plan(None, "Late plan", _payload(Q4), "ann", None, AUG_15)
    with pytest.raises(PlanInvalid) as caught:
        save_plan(first.item_id, "", _payload(Q3), "bob", 1, AUG_15)
    [problem] = caught.value.problems
    assert problem.field == "effective_from"
    assert "first takes effect on 1 Oct 2026" in problem.message
    assert [v.version for v in versions(first.item_id)] == [1]


def test_a_view_not_showing_the_version_in_force_cannot_be_changed():
    plan_id = _two_versions()
    pinned = plan_for_view({"plan": plan_id, "version": "1", "period": "Q-2026-07-01"}, AUG_15)
    with pytest.raises(NotInForce, match="version 2 is the one in force for Q3 2026") as caught:
        check_in_force(pinned)
    assert caught.value.in_force_version == 2
    # Pinned, and in force: fine.
    check_in_force(
        plan_for_view({"plan": plan_id, "version": "2", "period": "Q-2026-07-01"}, AUG_15)
    )
    preview = plan_for_view({"plan": plan_id, "period": "Q-2025-10-01"}, AUG_15)
    with pytest.raises(NotInForce, match="first takes effect on 1 Jan 2026") as caught:
        check_in_force(preview)
    assert caught.value.in_force_version is None


def test_a_version_replaced_on_a_later_date_says_until_when_it_holds():
    plan_id = _two_versions()
    q2_change = save_plan(plan_id, "", _payload(Q2, 0.92), "cleo", 1, date(2026, 5, 1))
    assert holds_until(q2_change) == (
        "Version 3 holds until 1 Jul 2026, when version 2 takes effect: version 2 does not "
        "include this change."
    )
    assert holds_until(versions(plan_id)[1]) == ""


def test_without_a_plan_in_the_url_a_period_uses_the_plan_in_force_on_its_first_day():
    # Plan A quarterly from 1 Jan 2026; plan B created later, from 1 Jul 2026 (saved last).
    a = save_plan(None, "Plan A", _payload(Q1, 0.90), "ann", None, date(2025, 12, 15))
    b = save_plan(None, "Plan B", _payload(Q3, 0.80), "bob", None, AUG_15)
    q2 = plan_for_view({"period": "Q-2026-04-01"}, AUG_15)  # closed Q2 was paid under A
    assert (q2.item_id, q2.version, q2.in_force) == (a.item_id, 1, True)
    q3 = plan_for_view({"period": "Q-2026-07-01"}, AUG_15)  # both in force: B, saved last
    assert (q3.item_id, q3.in_force) == (b.item_id, True)
    assert plan_for_view({}, AUG_15).item_id == b.item_id
    assert plan_for_view({}, date(2026, 5, 20)).item_id == a.item_id  # Q2 holds 20 May
    # No plan in force on 1 Oct 2025: the latest saved, as a preview.
    before = plan_for_view({"period": "Q-2025-10-01"}, AUG_15)
    assert (before.item_id, before.in_force) == (b.item_id, False)
