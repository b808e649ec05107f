"""Saved capacity scenarios in the browser: save the scenario on screen under a name and reload
it by its link (same inputs, same sentence), names the store refuses, a conflict with someone
who saved meanwhile, duplicate / rename / delete from the list, compare two (both scenarios'
lines on the chart, the differing inputs highlighted), a link to a scenario that does not exist
and a damaged store file."""

from __future__ import annotations

import urllib.request
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components.capacity_scenario import field_id
from services.app_state import CORRUPT_MESSAGE
from services.capacity_projection import ScenarioInputs
from services.capacity_scenarios import get_scenario, list_scenarios, save_scenario
from tests.browser.helpers import assert_clean_console, click, url_contains, wait

SCENARIO = "/capacity?tab=scenario"
SAVED = "/capacity?tab=saved"
SENTENCE = "#cp-sc-sentence"

pytestmark = pytest.mark.usefixtures("capture_console_errors")


@pytest.fixture
def store(monkeypatch, tmp_path):
    """An empty app-state store for one test (the app in this process reads it per call)."""
    path = tmp_path / "app_state.sqlite"
    monkeypatch.setenv("CSOPS_APP_STATE", str(path))
    return path


def _inputs(**changes) -> dict:
    return replace(ScenarioInputs.defaults(), **changes).to_dict()


def _seed(name: str, author: str = "maria", workload: dict | None = None, **changes):
    return save_scenario(name, _inputs(**changes), workload or {}, author)


def _sentence(console) -> str:
    wait(console, lambda d: d.find_element(By.CSS_SELECTOR, SENTENCE).text.strip())
    return console.find_element(SENTENCE).text


def _type(console, element_id: str, text: str) -> None:
    field = console.find_element(f"#{element_id}")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)


def _set_horizon(console, quarters: int) -> None:
    """Change the horizon field and wait for the answer to follow (it names the last quarter)."""
    before = _sentence(console)
    _type(console, field_id("hz"), str(quarters))
    console.find_element(f"#{field_id('hz')}").send_keys(Keys.TAB)
    wait(console, lambda d: d.find_element(By.CSS_SELECTOR, SENTENCE).text != before)


def _tick(console, name: str) -> None:
    """Tick the list's checkbox of the scenario called `name` (rows are keyed by scenario id)."""
    scenario_id = next(s.id for s in list_scenarios() if s.name == name)
    row = f"#cp-saved-grid .ag-row[row-id='{scenario_id}']"
    box = wait(
        console, lambda d: d.find_element(By.CSS_SELECTOR, f"{row} .ag-checkbox-input-wrapper")
    )
    if not console.find_element(f"{row} input").is_selected():  # a rename keeps the tick
        click(console, box)
    wait(console, lambda d: d.find_element(By.CSS_SELECTOR, f"{row} input").is_selected())


def _grid_names(console) -> list[str]:
    cells = console.driver.find_elements(By.CSS_SELECTOR, "#cp-saved-grid .ag-cell[col-id='name']")
    return sorted(c.text for c in cells)


def test_save_then_reload_by_its_link_shows_the_same_inputs_and_sentence(console, store):
    console.wait_for_page(url=console.server_url + SCENARIO)
    _set_horizon(console, 6)
    sentence = _sentence(console)
    # Nothing has been said about saving yet (no message before a click).
    assert console.find_element("#cp-save-message").text == ""
    _type(console, "cp-save-name", "  Browser plan  ")
    click(console, console.find_element("#cp-save-new"))
    url = url_contains(console, "scenario=")
    scenario_id = parse_qs(urlparse(url).query)["scenario"][0]
    console.wait_for_text_to_equal("#cp-save-current-name", "Browser plan")
    assert "Version 1 · saved by local" in console.find_element("#cp-save-current-line").text
    saved = get_scenario(scenario_id)
    assert (saved.name, saved.saved_by, saved.inputs().horizon) == ("Browser plan", "local", 6)
    console.wait_for_text_to_equal("#cp-save-changed", "Saved")
    link = console.find_element("#cp-save-link").get_attribute("value")
    assert link.endswith(f"/capacity?tab=scenario&scenario={scenario_id}")

    # A fresh visit of the shared link: the saved inputs and the same answer.
    console.wait_for_page(url=link)
    console.wait_for_text_to_equal(SENTENCE, sentence, timeout=30)
    assert console.find_element(f"#{field_id('hz')}").get_attribute("value") == "6"
    console.wait_for_text_to_equal("#cp-save-changed", "Saved")

    # A change marks it; "Save new version" appends version 2 under the same link.
    _set_horizon(console, 9)
    console.wait_for_text_to_equal("#cp-save-changed", "Changed since saved")
    click(console, console.find_element("#cp-save-version"))
    wait(console, lambda d: "Version 2" in d.find_element(By.ID, "cp-save-current-line").text)
    # The address is the scenario's link again: its inputs are saved, not carried in the URL.
    query = parse_qs(urlparse(console.driver.current_url).query)
    assert query == {"tab": ["scenario"], "scenario": [scenario_id]}
    console.wait_for_text_to_equal("#cp-save-changed", "Saved")
    assert get_scenario(scenario_id).inputs().horizon == 9
    assert get_scenario(scenario_id, 1).inputs().horizon == 6
    assert_clean_console(console)


def test_empty_and_duplicate_names_are_refused_by_the_field(console, store):
    _seed("Taken")
    console.wait_for_page(url=console.server_url + SCENARIO)
    _sentence(console)
    click(console, console.find_element("#cp-save-new"))
    console.wait_for_text_to_equal("#cp-save-name-feedback", "Give the capacity scenario a name.")
    assert "is-invalid" in console.find_element("#cp-save-name").get_attribute("class")
    _type(console, "cp-save-name", " taken ")
    click(console, console.find_element("#cp-save-new"))
    wait(
        console,
        lambda d: "already called “Taken”" in d.find_element(By.ID, "cp-save-name-feedback").text,
    )
    assert "scenario=" not in console.driver.current_url
    assert [s.name for s in list_scenarios()] == ["Taken"]
    assert_clean_console(console)


def test_a_save_after_someone_else_saved_is_a_conflict_and_saves_nothing(console, store):
    plan = _seed("Shared plan", horizon=8)
    console.wait_for_page(url=console.server_url + f"{SCENARIO}&scenario={plan.id}")
    _sentence(console)
    # Someone else saves version 2 while this page is open ...
    save_scenario("", _inputs(horizon=10), {}, "sam", expected_version=1, scenario_id=plan.id)
    _set_horizon(console, 5)
    click(console, console.find_element("#cp-save-version"))
    wait(
        console, lambda d: "saved meanwhile by sam" in d.find_element(By.ID, "cp-save-message").text
    )
    # ... so nothing was saved, and a name field offers to keep the change as a new scenario.
    assert get_scenario(plan.id).latest_version == 2
    assert get_scenario(plan.id).inputs().horizon == 10
    wait(console, lambda d: d.find_element(By.ID, "cp-save-name").is_displayed())
    assert_clean_console(console)


def test_duplicate_rename_and_delete_from_the_list(console, store):
    _seed("Base case")
    console.wait_for_page(url=console.server_url + SAVED)
    wait(console, lambda d: _grid_names(console) == ["Base case"])

    _tick(console, "Base case")
    click(console, console.find_element("#cp-saved-duplicate"))
    wait(
        console,
        lambda d: (
            d.find_element(By.ID, "cp-saved-duplicate-name").get_attribute("value")
            == "Base case (copy)"
        ),
    )
    click(console, console.find_element("#cp-saved-duplicate-ok"))
    wait(console, lambda d: _grid_names(console) == ["Base case", "Base case (copy)"])
    assert sorted(s.name for s in list_scenarios()) == ["Base case", "Base case (copy)"]

    _tick(console, "Base case (copy)")
    click(console, console.find_element("#cp-saved-rename"))
    wait(console, lambda d: d.find_element(By.ID, "cp-saved-rename-name").is_displayed())
    _type(console, "cp-saved-rename-name", "base CASE")
    click(console, console.find_element("#cp-saved-rename-ok"))
    wait(
        console,
        lambda d: "already called" in d.find_element(By.ID, "cp-saved-rename-feedback").text,
    )
    _type(console, "cp-saved-rename-name", "Hiring freeze")
    click(console, console.find_element("#cp-saved-rename-ok"))
    wait(console, lambda d: _grid_names(console) == ["Base case", "Hiring freeze"])

    # Its history: created as a copy, then renamed, each by whoever did it.
    _tick(console, "Hiring freeze")
    click(console, console.find_element("#cp-saved-history"))
    table = wait(console, lambda d: d.find_element(By.ID, "cp-saved-history-table"))
    rows = [r.text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert "local Renamed from “Base case (copy)” to “Hiring freeze”" in rows[0]
    assert "local Created as a copy: Copy of “Base case” version 1" in rows[1]
    click(console, console.find_element("#cp-saved-history-modal .btn-close"))
    wait(console, lambda d: not d.find_elements(By.ID, "cp-saved-history-table"))

    # Its exports: the scenario tab's XLSX and CSV of the saved inputs.
    href = console.find_element("#cp-saved-csv").get_attribute("href")
    with urllib.request.urlopen(href, timeout=60) as answer:
        assert answer.status == 200
        assert "text/csv" in answer.headers["Content-Type"]
        assert answer.read()
    xlsx = console.find_element("#cp-saved-xlsx").get_attribute("href")
    assert parse_qs(urlparse(xlsx).query) == parse_qs(urlparse(href).query)

    click(console, console.find_element("#cp-saved-delete"))
    wait(
        console,
        lambda d: "Delete “Hiring freeze”?" in d.find_element(By.ID, "cp-saved-delete-text").text,
    )
    click(console, console.find_element("#cp-saved-delete-ok"))
    wait(console, lambda d: _grid_names(console) == ["Base case"])
    assert [s.name for s in list_scenarios()] == ["Base case"]
    assert_clean_console(console)


def test_compare_two_shows_both_lines_and_the_differing_inputs(console, store):
    slow = _seed("Slow growth", horizon=6)
    fast = _seed("Fast growth", horizon=8, growth=(None, None, 0.08))
    console.wait_for_page(url=console.server_url + SAVED)
    wait(console, lambda d: len(_grid_names(console)) == 2)
    _tick(console, "Slow growth")
    _tick(console, "Fast growth")
    wait(
        console,
        lambda d: (
            parse_qs(urlparse(d.current_url).query).get("compare", []) == [slow.id, fast.id]
            or sorted(parse_qs(urlparse(d.current_url).query).get("compare", []))
            == sorted([slow.id, fast.id])
        ),
    )
    url = console.driver.current_url
    wait(
        console,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#cp-saved-compare-graph .scatterlayer .trace"),
    )
    legend = console.find_element("#cp-saved-compare-graph .legend").text
    for name in ("Slow growth · required", "Slow growth · supply", "Fast growth · required"):
        assert name in legend
    traces = console.driver.find_elements(
        By.CSS_SELECTOR, "#cp-saved-compare-graph .scatterlayer .trace"
    )
    assert len(traces) == 4
    highlighted = [
        r.text
        for r in console.driver.find_elements(By.CSS_SELECTOR, "#cp-saved-diff-table tr.diff-row")
    ]
    assert any(
        r.startswith("Horizon") and "6 quarters" in r and "8 quarters" in r for r in highlighted
    )
    assert any(r.startswith("New logos a quarter, SMB") for r in highlighted)
    assert not any(r.startswith("CSM attrition") for r in highlighted)  # the same in both

    # The comparison is a link: a fresh visit shows it again.
    console.wait_for_page(url=url)
    wait(
        console,
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "#cp-saved-compare-graph .scatterlayer .trace"))
            == 4
        ),
    )
    assert_clean_console(console)


def test_a_link_to_a_scenario_that_does_not_exist_says_so(console, store):
    console.wait_for_page(url=console.server_url + f"{SCENARIO}&scenario=nosuch12")
    message = "No capacity scenario has the id 'nosuch12'"
    wait(console, lambda d: message in d.find_element(By.CSS_SELECTOR, ".error-state").text)
    assert "Traceback" not in console.find_element("body").text
    assert_clean_console(console)


def test_a_damaged_store_is_reported_and_left_as_it_was(console, tmp_path, monkeypatch):
    path = tmp_path / "damaged.sqlite"
    path.write_bytes(b"not a database, a spreadsheet someone saved here\n" * 40)
    before = path.read_bytes()
    monkeypatch.setenv("CSOPS_APP_STATE", str(path))
    console.wait_for_page(url=console.server_url + SAVED)
    wait(console, lambda d: CORRUPT_MESSAGE in d.find_element(By.ID, "cp-saved-count").text)
    console.wait_for_page(url=console.server_url + SCENARIO)
    _sentence(console)
    _type(console, "cp-save-name", "Plan")
    click(console, console.find_element("#cp-save-new"))
    wait(console, lambda d: CORRUPT_MESSAGE in d.find_element(By.ID, "cp-save-message").text)
    assert path.read_bytes() == before
