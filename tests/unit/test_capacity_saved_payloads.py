"""The saved-scenario callbacks given tampered client stores (over HTTP, as the browser sends
them): a plain message or no update, never a stack trace, and nothing saved by mistake."""

from __future__ import annotations

import json

import pytest

from services.capacity_projection import ScenarioInputs
from services.capacity_scenarios import OpenedScenario, list_scenarios, save_scenario
from tests.unit.test_client_payloads import _registered_output, assert_no_trace, client  # noqa: F401

VIEW = {"search": ""}
MEGABYTE = "a" * 1_000_000
# What a tampered store may hold where the page keeps {"id", "version", "expected"}.
HOSTILE_STATES = (
    {"version": 1, "expected": 1},  # no id
    {"id": 12, "version": 1, "expected": 1},  # not a string
    {"id": MEGABYTE, "version": 1, "expected": 1},
    {"id": ["x"], "version": 1, "expected": 1},
    {"id": "abc", "version": "1", "expected": True},
    {"id": "abc", "version": 3, "expected": 2},  # a version past the latest
    ["abc", 1, 1],
    "abc",
)


@pytest.fixture(autouse=True)
def _own_store(monkeypatch, tmp_path):
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "state.sqlite"))


def post(client, output: str, inputs: list[dict], state: list[dict], changed: str | None = None):  # noqa: F811
    """One callback as the renderer sends it; `changed` is the input that fired (default: the
    first). Returns (status, the response's outputs or None for no update)."""
    first = f"{inputs[0]['id']}.{inputs[0]['property']}"
    key = _registered_output(output, first)
    parts = [o.split("@")[0].rsplit(".", 1) for o in key.strip(".").split("...")]
    body = {
        "output": key,
        "outputs": [{"id": t, "property": p} for t, p in parts],
        "inputs": inputs,
        "changedPropIds": [changed or first],
        "state": state,
    }
    response = client.post("/_dash-update-component", json=body)
    text = response.get_data(as_text=True)
    assert_no_trace(text)
    assert response.status_code in (200, 204), text[:300]
    return response.status_code, json.loads(text)["response"] if text else None


def _value(component_id: str, prop: str, value) -> dict:
    return {"id": component_id, "property": prop, "value": value}


def _screen() -> dict:
    return {"inputs": ScenarioInputs.defaults().to_dict(), "workload": {"tu": "80"}}


def _text(response) -> str:
    return json.dumps(response)


def test_the_store_parser_takes_only_the_shape_the_page_writes():
    assert OpenedScenario.from_client({"id": "abc_1-2", "version": 2, "expected": 3}) == (
        OpenedScenario("abc_1-2", 2, 3)
    )
    for state in (None, {}, *HOSTILE_STATES):
        assert OpenedScenario.from_client(state) is None, state


def test_save_version_with_a_tampered_store_says_so_and_saves_nothing(client):  # noqa: F811
    saved = save_scenario("Plan", ScenarioInputs.defaults().to_dict(), {}, "ann")
    for state in HOSTILE_STATES:
        _, response = post(
            client,
            "cp-save-message.children",
            [_value("cp-save-version", "n_clicks", 1)],
            [
                _value("cp-scenario-inputs", "data", _screen()),
                _value("cp-save-state", "data", state),
                _value("cp-view", "data", VIEW),
            ],
        )
        assert "lost track of the saved scenario" in _text(response["cp-save-message"]), state
    assert [s.latest_version for s in list_scenarios()] == [saved.latest_version]


def test_save_version_of_a_scenario_that_is_not_there_is_a_plain_message(client):  # noqa: F811
    state = {"id": "nosuchid", "version": 1, "expected": 1}
    _, response = post(
        client,
        "cp-save-message.children",
        [_value("cp-save-version", "n_clicks", 1)],
        [
            _value("cp-scenario-inputs", "data", _screen()),
            _value("cp-save-state", "data", state),
            _value("cp-view", "data", VIEW),
        ],
    )
    assert "No capacity scenario has the id" in _text(response["cp-save-message"])
    assert "went wrong" not in _text(response)


def test_the_changed_badge_stays_blank_for_a_tampered_store(client):  # noqa: F811
    for state in HOSTILE_STATES:
        status, response = post(
            client,
            "cp-save-changed.children",
            [_value("cp-scenario-inputs", "data", _screen())],
            [_value("cp-save-state", "data", state)],
        )
        assert status == 200
        assert response["cp-save-changed"]["children"] == ""
        assert response["cp-save-version"]["disabled"] is True


def test_save_new_with_hostile_inputs_or_names_saves_nothing(client):  # noqa: F811
    def save_new(name, current):
        return post(
            client,
            "cp-save-message.children",
            [_value("cp-save-new", "n_clicks", 1), _value("cp-save-name", "n_submit", None)],
            [
                _value("cp-save-name", "value", name),
                _value("cp-scenario-inputs", "data", current),
                _value("cp-view", "data", VIEW),
            ],
        )[1]

    for current in (["inputs"], {"inputs": "x"}, {"inputs": {}, "workload": [1]}, "x" * 1000):
        response = save_new("Plan", current)
        assert "Fix the inputs" in _text(response["cp-save-message"]), current
    for name in (MEGABYTE, ["Plan"], {"a": 1}, None):
        response = save_new(name, _screen())
        assert response["cp-save-name"]["invalid"] is True
        assert "name" in _text(response["cp-save-name-feedback"])
    assert list_scenarios() == []


def test_a_tampered_click_or_selection_opens_nothing(client):  # noqa: F811
    for cell in ({"colId": "name", "rowId": MEGABYTE}, {"colId": "name", "rowId": ["x"]}, [1]):
        status, _ = post(
            client,
            "cp-saved-message.children",
            [_value("cp-saved-grid", "cellClicked", cell)],
            [_value("cp-saved-view", "data", VIEW)],
        )
        assert status == 204, cell
    inputs = [
        _value("cp-saved-delete", "n_clicks", 1),
        _value("cp-saved-delete-cancel", "n_clicks", None),
        _value("cp-saved-delete-ok", "n_clicks", 1),
    ]
    for selected in ({"ids": 5}, {"ids": [MEGABYTE]}, [{"id": ["x"]}], "abc", [{"id": "../x"}]):
        status, response = post(
            client,
            "cp-saved-message.children",
            inputs,
            [_value("cp-saved-grid", "selectedRows", selected), _value("cp-saved-rev", "data", 0)],
            changed="cp-saved-delete-ok.n_clicks",
        )
        assert "went wrong" not in _text(response)
        if status == 200:  # one id the console cannot have made: said plainly, dialog closed
            assert "No capacity scenario has" in _text(response["cp-saved-message"])
            assert response["cp-saved-delete-modal"]["is_open"] is False
