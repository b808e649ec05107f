"""The What-if & fairness tab of /compensation in the browser: a harder target changes the
projected total shown and lives in the URL, the link reproduces it after a reload, a value that
cannot be used is marked by its field and not applied, and Reset clears the what-if."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components import formatting
from components.comp_whatif import FIELD, FIELD_MSG
from pages._comp_view import resolve_comp_view, with_plan
from services.asof import resolve_as_of
from services.comp_whatif import what_if_keys, what_if_plan
from services.db import get_database
from services.filters import Filters
from tests.browser.helpers import assert_clean_console, click, url_contains, wait

TAB = "/compensation?tab=whatif"
AFTER = "#cm-whatif-kpi-after"
BEFORE = "#cm-whatif-kpi-before"

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def dom_id(kind: str, key: str) -> str:
    """An XPath to the element of a pattern-matching id (Dash writes it as sorted JSON)."""
    text = json.dumps({"key": key, "type": kind}, separators=(",", ":"), sort_keys=True)
    return f"//*[@id='{text}']"


def base_view():
    filters = Filters()
    day = resolve_as_of(get_database(), filters).date
    resolved = resolve_comp_view(filters, day, {})
    assert resolved.view is not None, resolved.message
    return resolved.view


def projected_total(cv, params: dict[str, str]) -> str:
    """The what-if's projected payout as the page shows it (the services' own answer)."""
    plan, problems = what_if_plan(cv.plan, params)
    assert not problems
    return formatting.money(with_plan(cv, plan).payouts.people["projected_payout"].sum())


def harder_target(cv) -> tuple[str, str]:
    """A metric whose target at 110% changes the projected total, and that total."""
    plain = projected_total(cv, {})
    for m in cv.plan.metrics:
        key = what_if_keys(m.metric)["target"]
        total = projected_total(cv, {key: "110"})
        if total != plain:
            return key, total
    raise AssertionError("no metric's target changes the projected payout")


def type_into(duo, key: str, text: str) -> None:
    field = duo.driver.find_element(By.XPATH, dom_id(FIELD, key))
    click(duo, field)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.TAB)


def field(duo, key: str):
    return duo.driver.find_element(By.XPATH, dom_id(FIELD, key))


def test_a_harder_target_changes_the_total_and_stays_in_the_link(console):
    cv = base_view()
    plain = projected_total(cv, {})
    key, harder = harder_target(cv)
    console.wait_for_page(url=console.server_url + TAB)
    console.wait_for_text_to_equal(AFTER, plain, timeout=30)
    assert console.find_element(BEFORE).text == plain

    type_into(console, key, "110")
    url = url_contains(console, f"{key}=110")
    console.wait_for_text_to_equal(AFTER, harder)
    assert console.find_element(BEFORE).text == plain  # the plan itself is unchanged
    assert parse_qs(urlparse(url).query)["tab"] == ["whatif"]

    # The link reproduces the what-if.
    console.driver.get(url)
    console.wait_for_text_to_equal(AFTER, harder, timeout=30)
    assert field(console, key).get_attribute("value") == "110"

    # Reset clears every what-if key and returns to the plan.
    click(console, console.find_element("#cm-whatif-reset"))
    wait(console, lambda d: "wi_" not in d.current_url)
    console.wait_for_text_to_equal(AFTER, plain, timeout=30)
    assert field(console, key).get_attribute("value") == "100"
    assert_clean_console(console)


def test_a_bad_value_is_marked_and_not_applied(console):
    cv = base_view()
    key, harder = harder_target(cv)
    cap = what_if_keys(cv.plan.metrics[0].metric)["cap"]
    console.wait_for_page(url=console.server_url + TAB + f"&{key}=110")
    console.wait_for_text_to_equal(AFTER, harder, timeout=30)

    type_into(console, cap, "80")  # a cap below the target's 100%
    message = dom_id(FIELD_MSG, cap)
    wait(console, lambda d: "below the target payout" in d.find_element(By.XPATH, message).text)
    assert "is-invalid" in field(console, cap).get_attribute("class")
    console.wait_for_contains_text("#cm-whatif-note", "Fix the marked input")
    assert console.find_element(AFTER).text == harder  # the rest still applies, the cap not
    assert cap not in parse_qs(urlparse(console.driver.current_url).query)

    type_into(console, cap, "lots")
    wait(console, lambda d: "must be a number" in d.find_element(By.XPATH, message).text)

    # Fixed: the mark goes, the value applies and is kept in the link.
    type_into(console, cap, "120")
    url_contains(console, f"{cap}=120")
    wait(console, lambda d: d.find_element(By.XPATH, message).text == "")
    assert "is-invalid" not in field(console, cap).get_attribute("class")
    assert console.find_element("#cm-whatif-note").text == ""
    assert_clean_console(console)


def test_the_fairness_view_and_the_flags_are_shown(console):
    console.wait_for_page(url=console.server_url + TAB)
    wait(console, lambda d: d.find_elements(By.ID, "cm-whatif-fair-segment"), timeout=30)
    for name in ("segment", "tenure", "book-size"):
        rows = console.driver.find_elements(By.CSS_SELECTOR, f"#cm-whatif-fair-{name} tr")
        assert len(rows) > 1, name  # the section heading and its groups
    note = console.find_element("#cm-whatif-flagged-note").text
    assert "flagged" in note or "No target" in note
    assert_clean_console(console)


def test_account_filters_say_the_payouts_are_a_slice_of_each_book(console):
    segment = str(get_database().query("SELECT min(segment) AS s FROM accounts")["s"][0])
    filters = Filters(segment=(segment,))
    console.wait_for_page(url=console.server_url + TAB + "&" + filters.to_search()[1:])
    console.wait_for_contains_text("#cm-whatif-slice-note", "not what anyone is paid", timeout=30)
    note = console.find_element("#cm-whatif-slice-note")
    assert f"segment {segment}" in note.text
    assert note.location["y"] < console.find_element(AFTER).location["y"]  # above the numbers

    console.wait_for_page(url=console.server_url + TAB)
    wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, AFTER), timeout=30)
    assert not console.driver.find_elements(By.ID, "cm-whatif-slice-note")
    assert_clean_console(console)
