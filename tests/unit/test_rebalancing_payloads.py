"""The rebalancing tab's callback given hostile or malformed values (over HTTP, as the browser
sends them): messages by the fields or a plain message, never a stack trace."""

from __future__ import annotations

import json

from tests.unit.test_client_payloads import assert_no_trace, call, client  # noqa: F401

VIEW = {"id": "cr-view", "property": "data", "value": {"search": ""}}


def render(client, team="_all", moves="10", freeze="60", keep=None, open_books=True, workload=None):  # noqa: F811
    inputs = [
        VIEW,
        {"id": "cr-team", "property": "value", "value": team},
        {"id": "cr-moves", "property": "value", "value": moves},
        {"id": "cr-freeze", "property": "value", "value": freeze},
        {"id": "cr-keep", "property": "value", "value": keep if keep is not None else []},
        {"id": "cr-open", "property": "value", "value": open_books},
    ]
    state = [
        {"id": "cr-workload", "property": "data", "value": workload or {}},
        {"id": "cr-keep", "property": "options", "value": []},
    ]
    status, text = call(client, "cr-sentence.children", inputs, state)
    assert status == 200, text[:300]
    assert_no_trace(text)
    return json.loads(text)["response"]


def test_bad_values_get_messages_by_their_fields(client):  # noqa: F811
    response = render(client, team="<script>alert(1)</script>", moves="1e400", freeze="NaN")
    assert "whole number" in json.dumps(response["cr-moves-msg"])
    assert "whole number" in json.dumps(response["cr-freeze-msg"])
    assert response["cr-moves"]["invalid"] is True
    # Only valid values reach the URL: none of these three.
    url = response["cr-url"]["data"]
    assert {"rbteam", "rbmoves", "rbfreeze"}.isdisjoint(url)


def test_malformed_payloads_are_not_given(client):  # noqa: F811
    for keep in ({"a": 1}, 5, [{"x": 1}, None, "A000001"], ["x" * 100] * 300):
        response = render(client, keep=keep, open_books="yes", workload={"over": "abc", "tu": []})
        assert "cr-sentence" in response
        assert "went wrong" not in json.dumps(response["cr-sentence"])


def _find(component, component_id):
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = _find(child, component_id)
            if found is not None:
                return found
    return None


def test_a_link_with_bad_values_shows_them_by_their_fields(demo_db_path, use_db):
    use_db(demo_db_path)
    from pages._capacity_rebalance import layout
    from services.asof import resolve_as_of
    from services.db import get_database
    from services.filters import Filters

    as_of = resolve_as_of(get_database(), Filters())
    params = {"rbteam": "Nowhere", "rbopen": "maybe", "rbmoves": "x", "tab": "rebalance"}
    page = layout({"search": ""}, Filters(), as_of, params)
    assert "No team “Nowhere”" in _find(page, "cr-team-msg").children
    assert _find(page, "cr-team").value == "_all"
    assert "on or off" in _find(page, "cr-open-msg").children
    moves = _find(page, "cr-moves")
    assert moves.value == "x" and moves.invalid is True  # as typed, beside its message


def test_hostile_never_move_choices_are_not_given(client):  # noqa: F811
    for choices in ("x", [1, None, {"value": ["a"], "label": "b"}], {"value": "A1"}):
        inputs = [
            VIEW,
            {"id": "cr-team", "property": "value", "value": "_all"},
            {"id": "cr-moves", "property": "value", "value": "10"},
            {"id": "cr-freeze", "property": "value", "value": "60"},
            {"id": "cr-keep", "property": "value", "value": []},
            {"id": "cr-open", "property": "value", "value": True},
        ]
        state = [
            {"id": "cr-workload", "property": "data", "value": {}},
            {"id": "cr-keep", "property": "options", "value": choices},
        ]
        status, text = call(client, "cr-sentence.children", inputs, state)
        assert status == 200 and "went wrong" not in text, choices
        assert_no_trace(text)


def test_the_view_drops_an_unknown_team_and_solves_what_the_plan_service_solves(
    demo_db_path, use_db
):
    use_db(demo_db_path)
    from services.asof import resolve_as_of
    from services.db import get_database
    from services.filters import Filters
    from services.rebalancing import RebalanceOptions
    from services.rebalancing_inputs import rebalance_plan
    from services.rebalancing_view import rebalance_view
    from services.workload import WorkloadParams

    db, workload = get_database(), WorkloadParams.defaults()
    day = resolve_as_of(db, Filters()).date
    asked = RebalanceOptions(team="Nowhere", max_moves=3)
    view = rebalance_view(db, Filters(), day, workload, asked)
    assert view.options == RebalanceOptions(team=None, max_moves=3)
    assert view.team_error == "No team “Nowhere” here: every team is shown."
    direct = rebalance_plan(db, Filters(), day, workload, RebalanceOptions(max_moves=3))
    assert view.plan.moves.equals(direct.moves) and len(direct.moves) > 0
