"""The compensation Targets tab in the browser: each target's rule in words, the filter bar
choosing the people listed, and the Override target form: without a reason it is refused by
the field and nothing is saved; with one it saves a new plan version and the grid shows the new
target as set by hand."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from services.comp_plan import default_plan, plan_to_payload
from services.comp_plan_store import save_plan, versions
from services.db import get_database
from tests.browser.helpers import assert_clean_console, choose, click, url_contains, wait

DATA_AS_OF = date(2026, 11, 20)  # the demo's data date: Q4 2026 is open
QUARTER = date(2026, 10, 1)

pytestmark = pytest.mark.usefixtures("capture_console_errors")


@pytest.fixture
def store(monkeypatch, tmp_path):
    """An empty app-state store for one test (the app in this process reads it per call)."""
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "app_state.sqlite"))
    monkeypatch.setenv("CSOPS_FISCAL_YEAR_START_MONTH", "1")


@pytest.fixture
def plan_id(store):
    """The default plan saved (renewal rate and NRR: company target; expansion: book history)."""
    saved = save_plan(
        None, "Targets plan", plan_to_payload(default_plan(QUARTER)), "test", None, DATA_AS_OF
    )
    return saved.item_id


@pytest.fixture
def person(console):
    """A CSM employed all through Q4 2026 whose name no one else has: (csm_id, name)."""
    found = get_database().query(
        """SELECT min(csm_id) AS csm_id, name FROM csms
           WHERE role = 'CSM' AND end_date IS NULL AND hire_date < DATE '2026-10-01'
           GROUP BY name HAVING count(*) = 1 ORDER BY name LIMIT 1"""
    )
    return str(found["csm_id"][0]), str(found["name"][0])


def _cell(console, csm_id: str, column: str) -> str:
    """The text a user sees in one cell of the targets grid ('' while it is not drawn)."""
    cells = console.driver.find_elements(
        By.CSS_SELECTOR,
        f"#cm-targets-grid .ag-row[row-id='{csm_id}'] .ag-cell[col-id='{column}']",
    )
    return cells[0].text if cells else ""


def _open(console, plan: str, csm_id: str) -> None:
    path = f"/compensation?tab=targets&plan={plan}&owner={csm_id}"
    console.wait_for_page(url=console.server_url + path)
    wait(console, lambda d: _cell(console, csm_id, "renewal_rate__rule") != "")


def test_the_grid_shows_each_rule_in_words(console, plan_id, person):
    csm_id, name = person
    _open(console, plan_id, csm_id)
    assert _cell(console, csm_id, "renewal_rate__rule") == "Company target"
    assert _cell(console, csm_id, "renewal_rate__target") == "90.0%"
    assert _cell(console, csm_id, "nrr__rule") == "Company target"
    assert _cell(console, csm_id, "expansion_arr__rule").startswith(
        ("Book history", "Company target (no book")
    )
    # The owner filter lists that person only.
    rows = console.driver.find_elements(
        By.CSS_SELECTOR, "#cm-targets-grid .ag-center-cols-container .ag-row"
    )
    assert len(rows) == 1
    assert name in console.find_element("#cm-targets-grid").text
    assert "Expansion ARR" in console.find_element("#cm-targets-rules").text
    assert_clean_console(console)


def _fill(console, name: str, target: str, reason: str) -> None:
    choose(console, "cm-targets-person", name)
    choose(console, "cm-targets-metric", "Renewal rate (ARR)")
    wait(
        console,
        lambda d: "Now 90.0% (Company target)" in d.find_element(By.ID, "cm-targets-current").text,
    )
    field = console.find_element("#cm-targets-target")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(target)
    why = console.find_element("#cm-targets-reason")
    why.send_keys(Keys.CONTROL, "a")
    why.send_keys(Keys.DELETE)
    if reason:
        why.send_keys(reason)


def test_an_override_without_a_reason_is_refused_and_with_one_it_is_saved(console, plan_id, person):
    csm_id, name = person
    _open(console, plan_id, csm_id)
    _fill(console, name, "85", "")
    click(console, console.find_element("#cm-targets-save"))
    wait(
        console,
        lambda d: (
            d.find_element(By.ID, "cm-targets-reason-feedback").text
            == "Say why this target is set by hand."
        ),
    )
    assert "is-invalid" in console.find_element("#cm-targets-reason").get_attribute("class")
    assert [v.version for v in versions(plan_id)] == [1]  # nothing saved
    assert _cell(console, csm_id, "renewal_rate__rule") == "Company target"

    console.find_element("#cm-targets-reason").send_keys("Took over three at-risk renewals")
    click(console, console.find_element("#cm-targets-save"))
    wait(console, lambda d: _cell(console, csm_id, "renewal_rate__rule") == "Set by hand")
    assert _cell(console, csm_id, "renewal_rate__target") == "85.0%"
    # The reason is in the cell's tooltip.
    cell = console.find_element(
        f"#cm-targets-grid .ag-row[row-id='{csm_id}'] .ag-cell[col-id='renewal_rate__rule']"
    )
    ActionChains(console.driver).move_to_element(cell).perform()
    wait(
        console,
        lambda d: (
            "Took over three at-risk renewals"
            in " ".join(t.text for t in d.find_elements(By.CSS_SELECTOR, ".ag-tooltip"))
        ),
    )
    query = parse_qs(urlparse(url_contains(console, "plan=")).query)
    assert query["plan"] == [plan_id] and "version" not in query
    assert query["tab"] == ["targets"]
    latest = versions(plan_id)[-1]
    assert latest.version == 2
    override = latest.plan.overrides[(csm_id, "renewal_rate")]
    assert (override.target, override.reason) == (0.85, "Took over three at-risk renewals")
    assert latest.plan.effective_from == QUARTER
    assert_clean_console(console)


def test_clear_override_saves_a_version_without_it(console, plan_id, person):
    csm_id, name = person
    payload = plan_to_payload(versions(plan_id)[-1].plan)
    payload["overrides"] = [
        {"csm_id": csm_id, "metric": "renewal_rate", "target": 0.8, "reason": "Ramp-up"}
    ]
    save_plan(plan_id, "", payload, "test", 1, DATA_AS_OF)
    _open(console, plan_id, csm_id)
    assert _cell(console, csm_id, "renewal_rate__rule") == "Set by hand"
    choose(console, "cm-targets-person", name)
    choose(console, "cm-targets-metric", "Renewal rate (ARR)")
    wait(
        console,
        lambda d: "Now 80.0% (Set by hand)" in d.find_element(By.ID, "cm-targets-current").text,
    )
    click(console, console.find_element("#cm-targets-clear"))  # no reason needed
    wait(console, lambda d: _cell(console, csm_id, "renewal_rate__rule") == "Company target")
    assert _cell(console, csm_id, "renewal_rate__target") == "90.0%"
    latest = versions(plan_id)[-1]
    assert latest.version == 3 and latest.plan.overrides == {}
    assert latest.plan.effective_from == QUARTER
    # Nothing left to clear: said by the metric, nothing saved.
    choose(console, "cm-targets-person", name)
    choose(console, "cm-targets-metric", "Renewal rate (ARR)")
    click(console, console.find_element("#cm-targets-clear"))
    wait(
        console,
        lambda d: (
            "no Renewal rate (ARR) target set by hand to clear"
            in d.find_element(By.ID, "cm-targets-metric-feedback").text
        ),
    )
    assert [v.version for v in versions(plan_id)] == [1, 2, 3]
    assert_clean_console(console)
