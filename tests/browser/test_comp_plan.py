"""The compensation Plan tab in the browser: a curve field edited redraws that metric's curve
(its points and its marked threshold), weights that do not add up to 100% and an effective date
in a closed period are marked by their fields and Save refuses them, a saved plan is listed in
the version history with its author and survives a reload, and a save after someone else saved
is a conflict naming them."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components.comp_plan import CURVE, FIELD, MESSAGE
from services.comp_plan import default_plan, plan_to_payload
from services.comp_plan_store import plans, save_plan, versions
from tests.browser.helpers import assert_clean_console, click, url_contains, wait

PLAN_TAB = "/compensation?tab=plan"
DATA_AS_OF = date(2026, 11, 20)  # the demo's data date: Q4 2026 open, Q3 closed

pytestmark = pytest.mark.usefixtures("capture_console_errors")


@pytest.fixture
def store(monkeypatch, tmp_path):
    """An empty app-state store for one test (the app in this process reads it per call)."""
    path = tmp_path / "app_state.sqlite"
    monkeypatch.setenv("CSOPS_APP_STATE", str(path))
    monkeypatch.setenv("CSOPS_FISCAL_YEAR_START_MONTH", "1")
    return path


def _dom_id(component_id: dict) -> str:
    """The id attribute Dash gives a pattern-matching id (its JSON, keys sorted)."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def _element(console, component_id: dict):
    """The element of a pattern-matching id (its JSON id has quotes no CSS selector takes)."""
    found = console.driver.execute_script(
        "return document.getElementById(arguments[0])", _dom_id(component_id)
    )
    assert found is not None, component_id
    return found


def _field(console, name: str):
    return _element(console, {"type": FIELD, "field": name})


def _message(console, name: str) -> str:
    return _element(console, {"type": MESSAGE, "field": name}).text


def _type(console, name: str, text: str) -> None:
    field = _field(console, name)
    console.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", field)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)
    field.send_keys(Keys.TAB)


def _curve(console, metric: str) -> dict:
    """The drawn figure of a metric's curve: its line's points and its marks' texts."""
    graph_id = _dom_id({"type": CURVE, "metric": metric})
    return console.driver.execute_script(
        "var el = document.getElementById(arguments[0]); if (!el) { return null; }"
        "var gd = el.classList.contains('js-plotly-plot') ? el"
        " : el.querySelector('.js-plotly-plot');"
        "if (!gd || !gd.layout) { return null; }"
        "return {x: gd.data.length ? Array.from(gd.data[0].x) : [],"
        " y: gd.data.length ? Array.from(gd.data[0].y) : [],"
        " marks: (gd.layout.annotations || []).map(a => a.text)};",
        graph_id,
    )


def _marks(console, metric: str) -> list[str]:
    drawn = _curve(console, metric)
    return drawn["marks"] if drawn else []


def _open(console, path: str = PLAN_TAB) -> None:
    console.wait_for_page(url=console.server_url + path)
    wait(console, lambda d: "Threshold 90% → 50%" in _marks(console, "renewal_rate"))


def test_editing_a_curve_field_redraws_its_curve(console, store):
    _open(console)
    _type(console, "metrics.renewal_rate.curve.threshold", "80")
    wait(console, lambda d: "Threshold 80% → 50%" in _marks(console, "renewal_rate"))
    drawn = _curve(console, "renewal_rate")
    # The step is now at 80% (0 just below, 50% at it); the target and the cap are unchanged.
    points = dict(zip(drawn["x"], drawn["y"], strict=True))
    assert points[80] == 50 and points[100] == 100 and points[125] == 150
    assert any(79 < x < 80 and y == 0 for x, y in points.items())
    assert "Cap 150% from 125%" in drawn["marks"]

    _type(console, "metrics.renewal_rate.curve.accelerator", "4")
    # Cap 150% from 100 + 50 / 4 = 112.5%.
    wait(console, lambda d: "Cap 150% from 112.5%" in _marks(console, "renewal_rate"))

    # A cap below target: the field is marked with its message, the curve says to fix it.
    _type(console, "metrics.renewal_rate.curve.cap", "90")
    wait(
        console,
        lambda d: "below the target payout" in _message(console, "metrics.renewal_rate.curve.cap"),
    )
    field = _field(console, "metrics.renewal_rate.curve.cap")
    assert "is-invalid" in field.get_attribute("class")
    wait(
        console,
        lambda d: (
            _marks(console, "renewal_rate") == ["Fix the marked curve fields to draw the curve."]
        ),
    )
    assert plans() == []  # drafts are never saved
    assert_clean_console(console)


def test_weights_off_100_and_a_closed_period_are_marked_and_save_is_refused(console, store):
    _open(console)
    _type(console, "metrics.renewal_rate.weight", "40")  # 40 + 30 + 20 = 90
    wait(
        console, lambda d: "Weights add up to 90%" in d.find_element(By.ID, "cm-plan-weights").text
    )
    wait(console, lambda d: _message(console, "weights") == "The weights add up to 90%, not 100%.")
    assert "is-invalid" not in _field(console, "metrics.renewal_rate.weight").get_attribute("class")
    click(console, console.find_element("#cm-plan-save-new"))
    wait(
        console,
        lambda d: "Nothing was saved" in d.find_element(By.ID, "cm-plan-save-message").text,
    )
    assert plans() == []
    assert "plan=" not in console.driver.current_url

    _type(console, "metrics.renewal_rate.weight", "50")
    wait(
        console, lambda d: "Weights add up to 100%" in d.find_element(By.ID, "cm-plan-weights").text
    )
    _type(console, "effective_from", "2026-07-01")  # Q3 2026: the data covers it to 30 Sep
    wait(console, lambda d: "Q3 2026 is closed" in _message(console, "effective_from"))
    assert "first open quarter is Q4 2026" in _message(console, "effective_from")
    assert "is-invalid" in _field(console, "effective_from").get_attribute("class")
    click(console, console.find_element("#cm-plan-save-new"))
    wait(
        console,
        lambda d: "Nothing was saved" in d.find_element(By.ID, "cm-plan-save-message").text,
    )
    assert plans() == []
    assert_clean_console(console)


def test_a_saved_plan_is_listed_with_its_author_and_a_reload_keeps_it(console, store):
    _open(console)
    _type(console, "metrics.renewal_rate.curve.threshold", "85")
    wait(console, lambda d: "Threshold 85% → 50%" in _marks(console, "renewal_rate"))
    name = console.find_element("#cm-plan-save-name")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("Browser plan")
    console.find_element("#cm-plan-save-note").send_keys("Lower renewal threshold")
    click(console, console.find_element("#cm-plan-save-new"))
    url = url_contains(console, "version=1")
    query = parse_qs(urlparse(url).query)
    assert query["tab"] == ["plan"]
    [saved] = versions(query["plan"][0])
    assert (saved.name, saved.saved_by, saved.note) == (
        "Browser plan",
        "local",
        "Lower renewal threshold",
    )
    assert saved.plan.metric("renewal_rate").curve.threshold == 85.0

    def listed(d) -> list[str]:
        rows = d.find_elements(By.CSS_SELECTOR, "#cm-plan-versions-table tbody tr")
        return [r.text for r in rows]

    wait(console, lambda d: len(listed(d)) == 1)
    assert listed(console.driver)[0].startswith("Version 1 01 Oct 2026 local")
    assert "Lower renewal threshold" in listed(console.driver)[0]
    console.wait_for_text_to_equal("#cm-plan-name", "Browser plan")

    console.driver.refresh()
    wait(console, lambda d: "Threshold 85% → 50%" in _marks(console, "renewal_rate"))
    assert _field(console, "metrics.renewal_rate.curve.threshold").get_attribute("value") == "85"
    wait(console, lambda d: len(listed(d)) == 1)
    assert "Version 1 of 1" in console.find_element("#cm-plan-line").text
    assert_clean_console(console)


def test_a_save_after_someone_else_saved_is_a_conflict_naming_them(console, store):
    first = save_plan(
        None,
        "Team plan",
        plan_to_payload(default_plan(date(2026, 10, 1))),
        "maria",
        None,
        DATA_AS_OF,
    )
    console.wait_for_page(url=console.server_url + f"{PLAN_TAB}&plan={first.item_id}")
    wait(console, lambda d: "Threshold 90% → 50%" in _marks(console, "renewal_rate"))
    # Someone saves version 2 while this page is open ...
    save_plan(
        first.item_id, "", plan_to_payload(default_plan(date(2026, 10, 1))), "sam", 1, DATA_AS_OF
    )
    _type(console, "metrics.nrr.curve.cap", "175")
    wait(console, lambda d: "Cap 175% from 137.5%" in _marks(console, "nrr"))  # 100 + 75 / 2
    click(console, console.find_element("#cm-plan-save-version"))
    wait(
        console,
        lambda d: (
            "version 2 (saved by sam on" in d.find_element(By.ID, "cm-plan-save-message").text
        ),
    )
    # ... so nothing was saved, and the message offers the version in force.
    assert [v.version for v in versions(first.item_id)] == [1, 2]
    link = console.find_element("#cm-plan-save-message a")
    assert link.text == "Open the version in force"
    click(console, link)
    wait(console, lambda d: "Version 2 of 2" in d.find_element(By.ID, "cm-plan-line").text)
    assert "version=" not in console.driver.current_url
    assert_clean_console(console)


def test_a_pinned_version_not_in_force_cannot_be_saved_over_the_one_in_force(console, store):
    quarter = date(2026, 10, 1)
    first = save_plan(
        None, "Pinned plan", plan_to_payload(default_plan(quarter)), "maria", None, DATA_AS_OF
    )
    save_plan(first.item_id, "", plan_to_payload(default_plan(quarter)), "sam", 1, DATA_AS_OF)
    # Version 1 pinned by the link: version 2 (same date, saved later) is in force for Q4.
    _open(console, f"{PLAN_TAB}&plan={first.item_id}&version=1")
    _type(console, "metrics.nrr.curve.cap", "175")
    wait(console, lambda d: "Cap 175% from 137.5%" in _marks(console, "nrr"))
    click(console, console.find_element("#cm-plan-save-version"))
    wait(
        console,
        lambda d: (
            "version 2 is the one in force for Q4 2026"
            in d.find_element(By.ID, "cm-plan-save-message").text
        ),
    )
    assert [v.version for v in versions(first.item_id)] == [1, 2]  # nothing saved
    link = console.find_element("#cm-plan-save-message a")
    assert link.text == "Open the version in force"
    click(console, link)
    wait(console, lambda d: "Version 2 of 2" in d.find_element(By.ID, "cm-plan-line").text)
    assert "version=" not in console.driver.current_url
    assert_clean_console(console)


def test_taking_out_a_metric_drops_its_targets_set_by_hand_and_says_so(console, store):
    payload = plan_to_payload(default_plan(date(2026, 10, 1)))
    payload["overrides"] = [
        {"csm_id": "C1", "metric": "expansion_arr", "target": 50_000, "reason": "New book"}
    ]
    first = save_plan(None, "Override plan", payload, "maria", None, DATA_AS_OF)
    _open(console, f"{PLAN_TAB}&plan={first.item_id}")
    box = console.driver.find_element(
        By.CSS_SELECTOR, "#cm-plan-metrics input[value='expansion_arr']"
    )
    click(console, box)  # expansion leaves the plan: 50 + 30 = 80
    _type(console, "metrics.nrr.weight", "50")
    wait(
        console, lambda d: "Weights add up to 100%" in d.find_element(By.ID, "cm-plan-weights").text
    )
    click(console, console.find_element("#cm-plan-save-version"))
    wait(
        console,
        lambda d: (
            "1 target set by hand for metrics no longer in the plan dropped"
            in d.find_element(By.ID, "cm-plan-save-message").text
        ),
    )
    saved = versions(first.item_id)[-1]
    assert saved.version == 2 and saved.plan.overrides == {}
    assert saved.plan.metric("expansion_arr") is None
    click(console, console.find_element("#cm-plan-save-message a"))
    wait(console, lambda d: "Version 2 of 2" in d.find_element(By.ID, "cm-plan-line").text)
    assert_clean_console(console)
