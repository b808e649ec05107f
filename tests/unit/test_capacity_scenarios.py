"""Saved capacity scenarios (services/capacity_scenarios.py): what is saved reopens as the same
URL parameters, also after the defaults changed; versions, names, conflicts and deletes behave
as the store promises; bad links give plain messages."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pandas as pd
import pytest

from components.capacity_saved import (
    _section,
    compare_title,
    list_records,
    same_supply,
    scope_text,
    selection_outputs,
)
from services.app_state import Conflict, InvalidName, NameTaken, NotFound, app_state
from services.capacity_projection import ScenarioInputs
from services.capacity_scenarios import (
    KIND,
    DamagedScenario,
    InvalidScenario,
    build_payload,
    changed_since_saved,
    copy_name,
    delete_scenario,
    duplicate_scenario,
    get_scenario,
    list_scenarios,
    parse_compare,
    parse_version,
    rename_scenario,
    save_scenario,
    scenario_history,
    scenario_params,
    scenario_selection,
    scenario_versions,
    scope_of,
)
from services.errors import ServiceError
from services.filters import Filters
from services.workload import WorkloadParams


@pytest.fixture(autouse=True)
def _own_store(monkeypatch, tmp_path):
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "state.sqlite"))


def _inputs() -> ScenarioInputs:
    """Horizon 6, Enterprise growth 2% and SMB 5% a quarter (Mid-Market: trailing actual),
    attrition 20%, SMB customers under $20,000 to tech-touch from quarter 2."""
    return ScenarioInputs(
        horizon=6,
        growth=(0.02, None, 0.05),
        attrition=0.20,
        cc_segments=("SMB",),
        cc_below_arr=20_000.0,
        cc_to_tier="tech-touch",
        cc_from=2,
    )


# The URL form of _inputs() over the settings' defaults (attrition 15%, pooled, from quarter 1),
# written out by hand: shares as percents, only what differs from the defaults.
INPUT_PARAMS = {
    "hz": "6",
    "g_ent": "2",
    "g_smb": "5",
    "attr": "20",
    "cc_seg": "smb",
    "cc_arr": "20000",
    "cc_tier": "tech",
    "cc_from": "2",
}
# Target utilisation 80% (default 85%) and 0.2 points for an SMB tech-touch account (0.14).
WORKLOAD_PARAMS = {"tu": "80", "pts_smb_tech": "0.2"}


def _save(name: str = "FY27 plan", **kwargs):
    return save_scenario(name, _inputs().to_dict(), WORKLOAD_PARAMS, "ann", **kwargs)


def test_a_saved_scenario_reopens_as_the_same_url_parameters():
    saved = _save()
    assert scenario_params(saved.id) == {**INPUT_PARAMS, **WORKLOAD_PARAMS}
    again = get_scenario(saved.id)
    assert again.inputs() == _inputs()
    assert again.workload().target_utilisation == 0.80
    assert again.workload().points_for("SMB", "tech-touch") == 0.2
    assert (again.name, again.version, again.saved_by) == ("FY27 plan", 1, "ann")


def test_changing_a_default_later_does_not_change_a_saved_scenario(monkeypatch):
    # Saved with the default attrition (15%) and target utilisation (85%)...
    saved = save_scenario("Defaults", ScenarioInputs.defaults().to_dict(), {}, "ann")
    assert scenario_params(saved.id) == {}
    # ... then the administrator changes both defaults: the saved scenario keeps 15% and 85%,
    # so its link now carries them explicitly.
    monkeypatch.setenv("CSOPS_CSM_ATTRITION_PER_YEAR", "0.30")
    monkeypatch.setenv("CSOPS_TARGET_UTILISATION", "0.90")
    assert scenario_params(saved.id) == {"attr": "15", "tu": "85"}
    inputs, errors = ScenarioInputs.from_params(scenario_params(saved.id))
    assert errors == {} and inputs.attrition == 0.15


def test_every_save_is_a_version_and_old_versions_open_by_link():
    first = _save()
    changed = {**_inputs().to_dict(), "horizon": 10}
    second = save_scenario(
        "ignored", changed, WORKLOAD_PARAMS, "bob", expected_version=1, scenario_id=first.id
    )
    assert (second.id, second.version, second.name, second.saved_by) == (
        first.id,
        2,
        "FY27 plan",
        "bob",
    )
    assert scenario_params(first.id)["hz"] == "10"
    assert scenario_params(first.id, "1")["hz"] == "6"
    assert scenario_params(first.id, ["2"])["hz"] == "10"
    assert [v.version for v in scenario_versions(first.id)] == [2, 1]
    assert get_scenario(first.id, 1).is_latest is False


def test_a_stale_version_is_a_conflict_and_nothing_is_saved():
    first = _save()
    save_scenario(
        "x", _inputs().to_dict(), {"tu": "75"}, "bob", expected_version=1, scenario_id=first.id
    )
    with pytest.raises(Conflict, match="bob"):
        save_scenario(
            "x", _inputs().to_dict(), {"tu": "70"}, "cid", expected_version=1, scenario_id=first.id
        )
    assert scenario_params(first.id)["tu"] == "75"
    assert get_scenario(first.id).latest_version == 2


def test_empty_duplicate_and_invalid_saves_store_nothing():
    _save("Plan")
    with pytest.raises(InvalidName):
        _save("   ")
    with pytest.raises(NameTaken):
        _save(" PLAN ")
    with pytest.raises(InvalidScenario):
        save_scenario("Bad workload", _inputs().to_dict(), {"tu": "500"}, "ann")
    with pytest.raises(InvalidScenario):
        save_scenario("Bad inputs", None, {}, "ann")  # the tab's store while inputs are invalid
    assert [s.name for s in list_scenarios()] == ["Plan"]


def test_links_that_do_not_exist_say_so_plainly():
    saved = _save()
    for bad_id in ("nosuch12", "../etc", "", ["nope"]):
        with pytest.raises(ServiceError):
            scenario_params(bad_id)
    with pytest.raises(NotFound, match="no version 9"):
        scenario_params(saved.id, "9")
    with pytest.raises(NotFound, match="not a version number"):
        scenario_params(saved.id, "two")
    with pytest.raises(NotFound, match="not a version number"):
        parse_version("0")
    assert parse_version(None) is None and parse_version("3") == 3
    # Another kind of item in the same store is not a scenario.
    plan = app_state().create("compensation_plan", "Bonus", {"x": 1}, "ann")
    with pytest.raises(NotFound):
        scenario_params(plan.id)


def test_rename_duplicate_delete_and_the_history_of_each():
    saved = _save("Base")
    renamed = rename_scenario(saved.id, "Base case", "bob")
    assert renamed.name == "Base case" and renamed.latest_version == 1
    copy = duplicate_scenario(saved.id, copy_name("Base case", {"Base case"}), "cid")
    assert copy.name == "Base case (copy)" and copy.id != saved.id
    assert scenario_params(copy.id) == scenario_params(saved.id)
    delete_scenario(saved.id, "dan")
    assert [s.name for s in list_scenarios()] == ["Base case (copy)"]
    with pytest.raises(NotFound, match="deleted by dan"):
        scenario_params(saved.id)
    history = scenario_history(copy.id)
    assert [(e.action, e.by) for e in history] == [("copied", "cid")]
    assert "Copy of “Base case” version 1" in history[0].detail
    with pytest.raises(NotFound):
        scenario_history(saved.id)


def test_changed_since_saved_compares_the_inputs_not_their_spelling():
    saved = _save()
    same = {"inputs": _inputs().to_dict(), "workload": dict(WORKLOAD_PARAMS)}
    assert changed_since_saved(saved, same) is False
    # The same target utilisation written differently is no change.
    assert not changed_since_saved(saved, {**same, "workload": {**WORKLOAD_PARAMS, "tu": "80.0"}})
    assert not changed_since_saved(
        saved, {**same, "workload": {"tu": "80.000", "pts_smb_tech": "0.20"}}
    )
    longer = {**same, "inputs": {**_inputs().to_dict(), "horizon": 7}}
    assert changed_since_saved(saved, longer) is True
    assert changed_since_saved(saved, {**same, "workload": {}}) is True
    assert changed_since_saved(saved, None) is True


def test_a_scenario_saved_before_an_input_existed_still_opens():
    # An older payload: no coverage block, no workload values, an input the model dropped.
    item = app_state().create(
        KIND,
        "Old",
        {"inputs": {"horizon": 5, "attrition": 0.1, "retired_input": 3}, "workload": {"tu": "90"}},
        "ann",
    )
    assert scenario_params(item.id) == {"hz": "5", "attr": "10", "tu": "90"}


def _hand_edited(**changes) -> str:
    """A scenario saved through the console whose stored workload values were then edited by
    hand in the store (as an administrator with a SQLite shell might): its id."""
    saved = _save("Edited")
    payload = dict(saved.payload)
    payload["workload_values"] = {**payload["workload_values"], **changes}
    app_state().save(saved.id, payload, "mallory")
    return saved.id


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # 0 points of capacity would divide every utilisation and FTE by zero; the bound is 1.
        ({"capacity_points": 0}, "Capacity points per CSM must be between 1 and 100000"),
        ({"capacity_points": "100"}, "a setting is not a number"),
        # A share of 0.05 is a 5% target; the lowest the model takes is 10%.
        ({"target_utilisation": 0.05}, "Target utilisation must be between 10 and 150"),
        # Under-loaded at 120% while over-loaded is at 110%: the lines cross.
        ({"underloaded_below": 1.2}, "The under-loaded line must be below the over-loaded line"),
        ({"weigh_health": "no"}, "Weigh by health must be on or off"),
    ],
)
def test_a_hand_edited_workload_out_of_bounds_is_reported_in_words(changes, reason):
    scenario_id = _hand_edited(**changes)
    with pytest.raises(DamagedScenario) as caught:
        get_scenario(scenario_id).workload()
    message = str(caught.value)
    assert "“Edited” is damaged" in message and reason in message
    # The link the page opens it by says the same (a ServiceError: the shell shows it).
    with pytest.raises(ServiceError, match="is damaged"):
        scenario_params(scenario_id)
    # The version before the edit still opens.
    assert get_scenario(scenario_id, 1).workload().capacity_points == 100.0


def test_negative_points_in_a_saved_scenario_are_reported():
    points = build_payload(_inputs().to_dict(), WORKLOAD_PARAMS)["workload_values"]["points"]
    points = [[s, t, -1 if (s, t) == ("SMB", "tech-touch") else p] for s, t, p in points]
    scenario_id = _hand_edited(points=points)
    with pytest.raises(DamagedScenario, match="Points for SMB tech-touch must be between 0"):
        get_scenario(scenario_id).workload()


def test_an_old_scenario_with_unusable_workload_keys_is_reported_not_defaulted():
    # No workload values (saved before they were kept) and a capacity of 0 in its URL keys:
    # opening it with the default capacity instead would show another scenario than saved.
    item = app_state().create(KIND, "Old", {"inputs": {}, "workload": {"cap": "0"}}, "ann")
    with pytest.raises(DamagedScenario, match="Capacity points per CSM must be between 1"):
        get_scenario(item.id).workload()


def test_the_scope_is_kept_without_the_as_of_and_makes_the_link():
    filters = Filters(segment=("SMB",), team=("EMEA",), as_of=date(2026, 6, 30))
    assert scope_of(filters) == "?segment=SMB&team=EMEA"
    saved = _save(scope=scope_of(filters))
    assert saved.scope == Filters(segment=("SMB",), team=("EMEA",))
    assert saved.href() == f"/capacity?segment=SMB&team=EMEA&tab=scenario&scenario={saved.id}"
    assert saved.href(pinned=True).endswith(f"scenario={saved.id}&version=1")


def test_payload_keeps_complete_inputs_and_workload():
    payload = build_payload(_inputs().to_dict(), WORKLOAD_PARAMS)
    assert payload["inputs"] == _inputs().to_dict()
    assert payload["workload"] == WORKLOAD_PARAMS
    values = payload["workload_values"]
    assert values["target_utilisation"] == 0.80
    assert ["SMB", "tech-touch", 0.2] in values["points"]
    assert len(values["points"]) == len(WorkloadParams.defaults().points)


def test_compare_picks_at_most_three_distinct_ids():
    assert parse_compare(None) == ()
    assert parse_compare("abc") == ("abc",)
    assert parse_compare(["a", "b", "a", "c", "d"]) == ("a", "b", "c")
    assert parse_compare(["a", "x y", "<b>", "b-_1"]) == ("a", "b-_1")


def test_copy_names_skip_the_taken_ones():
    assert copy_name("Plan", set()) == "Plan (copy)"
    assert copy_name("Plan", {"plan (COPY)", "Plan (copy 2)"}) == "Plan (copy 3)"


# ---- builders of the list and the comparison (components/capacity_saved.py) -------------------
def _outcome(name: str, requisitions: int, cost: float, supply: list[float]):
    """A stand-in for a projected scenario: what the builders read of it."""
    quarters = pd.DataFrame(
        {
            "quarter": [f"Q{i + 1} 2027" for i in range(len(supply))],
            "quarter_end": [date(2027, 3 * i + 3, 28) for i in range(len(supply))],
            "supply_fte": supply,
        }
    )
    saved = SimpleNamespace(name=name, id=name.lower())
    projection = SimpleNamespace(
        quarters=quarters, total_requisitions=requisitions, annual_cost=cost
    )
    return SimpleNamespace(saved=saved, projection=projection)


def test_the_scope_reads_in_words_with_owner_names_and_tier_labels():
    scope = Filters(segment=("SMB",), tier=("tech-touch",), owner=("c1", "c9"))
    text = scope_text(scope, {"c1": "Ana Ruiz (EMEA)"})
    assert text == "Segment: SMB · Owner (CSM): Ana Ruiz (EMEA), c9 · Coverage tier: Tech-touch"
    assert scope_text(Filters()) == "All accounts"


def test_the_comparison_title_names_the_scenario_with_the_fewest_hires():
    a = _outcome("Lean", 12, 1_800_000, [10.0, 9.0])
    b = _outcome("Growth", 20, 3_000_000, [10.0, 9.0])
    assert compare_title([b, a]) == (
        "Fewest hires: “Lean”, 12 requisitions ($1.8M a year) against 20"
    )
    same = _outcome("Copy", 12, 1_800_000, [10.0, 9.0])
    assert compare_title([a, same]).startswith("Every scenario opens 12 requisitions")
    assert same_supply([a, b]) is True
    assert same_supply([a, _outcome("Other team", 12, 0, [10.0, 8.5])]) is False


def test_the_differences_table_highlights_only_rows_that_differ():
    section, differing = _section(
        "Inputs",
        [
            [("Horizon", "8 quarters"), ("CSM attrition", "15.0% a year")],
            [("Horizon", "10 quarters"), ("CSM attrition", "15.0% a year")],
        ],
    )
    assert differing == 1
    tables = [c for c in section.children if c.__class__.__name__ in ("Table", "Details")]
    highlighted, folded = tables
    rows = highlighted.children[1].children
    assert [r.children[0].children for r in rows] == ["Horizon"]
    assert "table-warning" in rows[0].className
    folded_rows = folded.children[1].children[1].children
    assert [r.children[0].children for r in folded_rows] == ["CSM attrition"]


def test_list_rows_carry_the_headline_or_dashes_when_not_projected():
    saved = save_scenario("Plan", _inputs().to_dict(), WORKLOAD_PARAMS, "ann")
    outcome = _outcome("Plan", 7, 1_050_000, [4.0])
    outcome.projection.sentence = "Open 7 requisitions."
    record, failed = list_records([(saved, outcome), (saved, None)])
    assert (record["requisitions"], record["annual_cost"], record["through"]) == (
        7,
        1_050_000.0,
        "Q1 2027",
    )
    assert (record["version"], record["saved_by"], record["scope"]) == (1, "ann", "All accounts")
    assert (failed["requisitions"], failed["annual_cost"]) == (None, None)


def test_the_page_signs_saves_with_the_proxy_user_or_local(monkeypatch):
    import flask

    from pages._capacity_saved import _author

    app = flask.Flask(__name__)
    forwarded = {"X-Forwarded-User": "maria@acme.com"}
    monkeypatch.delenv("CSOPS_USER_HEADER", raising=False)
    with app.test_request_context(headers=forwarded):
        assert _author() == "local"  # any client can send the header: not believed by default
    with app.test_request_context(environ_base={"REMOTE_USER": "ann"}):
        assert _author() == "ann"  # the WSGI server's own user is
    monkeypatch.setenv("CSOPS_USER_HEADER", "X-Forwarded-User")
    with app.test_request_context(headers=forwarded):
        assert _author() == "maria@acme.com"  # the header the deployment names is
    with app.test_request_context():
        assert _author() == "local"
    assert _author() == "local"  # outside a request (the validation layout)


def test_the_selection_reads_one_tick_too_many_and_unknown_ids_plainly():
    saved = _save()
    view = Filters(as_of=date(2026, 6, 30))
    one = scenario_selection(None, view, date(2026, 6, 30), [saved.id])
    assert one.one.id == saved.id and one.problem is None and one.compared == ()
    assert one.href(saved).endswith(f"as_of=2026-06-30&tab=scenario&scenario={saved.id}")
    four = scenario_selection(None, view, date(2026, 6, 30), ["a", "b", "c", "d"])
    assert four.too_many and four.one is None and four.picked == ("a", "b", "c")
    gone = scenario_selection(None, view, date(2026, 6, 30), ["nosuchid"])
    assert gone.one is None and "No capacity scenario has the id" in gone.problem
    text, url, *_ = selection_outputs(four, lambda kind, s: "", "")
    assert text == "Compare takes 3 scenarios at most: untick one."
    assert url == {"compare": ["a", "b", "c"]}
