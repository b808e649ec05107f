"""The Books tab of /capacity in the browser: a CSM's utilisation as an independent query
computes it, a points change redrawing it and kept in the URL across a reload, a bad value
refused by its field, a row (and a bar) opening the Accounts list of that book with its count.
"""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components import formatting
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.workload import WorkloadParams, points_key
from tests.browser.helpers import assert_clean_console, click, click_bar, url_contains, wait

TAB = "/capacity?tab=books"
# Sorted by capacity, smallest first: open books (no capacity), then the part-timers.
BY_CAPACITY = TAB + "&sort=capacity:asc"
GRID = "#cb-books-grid"

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def _day():
    db = get_database()
    return db, resolve_as_of(db, Filters()).date


def book_rows(db, day, csm_id):
    """The customers a CSM owns on the day, straight from the tables (not the service)."""
    return db.query(
        "SELECT a.segment, a.coverage_tier, h.band, h.arr FROM health_snapshots h "
        "JOIN accounts a USING (account_id) "
        "WHERE h.snapshot_date = ? AND h.arr > 0 AND a.owner_csm_id = ?",
        [day, csm_id],
    )


def utilisation(db, day, csm_id, params: WorkloadParams) -> float:
    """Points of the CSM's accounts (segment x tier, x the band's weight) over their capacity
    (the record's, else the model's), computed here independently of the service."""
    rows = book_rows(db, day, csm_id)
    points = sum(
        params.points_for(r.segment, r.coverage_tier) * params.band_weight(r.band)
        for r in rows.itertuples()
    )
    capacity = db.scalar("SELECT capacity_points FROM csms WHERE csm_id = ?", [csm_id])
    return points / (capacity if capacity is not None else params.capacity_points)


def part_timer(db, day) -> str:
    """An active part-time CSM (capacity on record below 100) with the largest book."""
    return db.scalar(
        "SELECT c.csm_id FROM csms c JOIN accounts a ON a.owner_csm_id = c.csm_id "
        "JOIN health_snapshots h ON h.account_id = a.account_id AND h.snapshot_date = ? "
        "WHERE c.role = 'CSM' AND c.end_date IS NULL AND c.capacity_points < 100 "
        "AND h.arr > 0 GROUP BY c.csm_id ORDER BY COUNT(*) DESC, c.csm_id LIMIT 1",
        [day],
    )


def cell(csm_id: str, column: str) -> str:
    return f"{GRID} .ag-row[row-id='{csm_id}'] [col-id='{column}']"


def wait_for_cell(console, csm_id: str, column: str, text: str) -> None:
    selector = cell(csm_id, column)
    console.wait_for_element(selector, timeout=30)
    wait(console, lambda d: d.find_element(By.CSS_SELECTOR, selector).text == text, 30)


def field(console, key: str, kind: str = "cb-wl"):
    """An editor field (or its message) by its pattern-matching id as Dash renders it."""
    element_id = json.dumps({"key": key, "type": kind}, separators=(",", ":"), sort_keys=True)
    return console.driver.find_element(By.XPATH, f"//*[@id='{element_id}']")


def type_into(console, key: str, text: str) -> None:
    element = field(console, key)
    click(console, element)
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text, Keys.ENTER)


def test_the_tab_shows_a_csms_utilisation_and_the_active_csms(console):
    db, day = _day()
    csm_id = part_timer(db, day)
    console.wait_for_page(url=console.server_url + BY_CAPACITY)
    expected = utilisation(db, day, csm_id, WorkloadParams.defaults())
    wait_for_cell(console, csm_id, "utilisation", formatting.percent(expected))
    active = db.scalar(
        "SELECT COUNT(*) FROM csms WHERE role = 'CSM' AND hire_date <= ? "
        "AND (end_date IS NULL OR end_date > ?)",
        [day, day],
    )
    console.wait_for_text_to_equal("#cb-kpi-capacity_csms", formatting.count(active))
    # The open books are rows of their own, named with the day their CSM left.
    left = db.query(
        "SELECT csm_id, name, end_date FROM csms WHERE end_date <= ? AND csm_id IN "
        "(SELECT owner_csm_id FROM accounts)",
        [day],
    ).iloc[0]
    name = f"Open book: {left['name']} (left {formatting.date(left['end_date'])})"
    wait_for_cell(console, left["csm_id"], "name", name)
    wait_for_cell(console, "_none", "name", "No owner")
    assert_clean_console(console)


def test_a_points_change_redraws_the_utilisation_and_stays_in_the_url(console):
    db, day = _day()
    csm_id = part_timer(db, day)
    console.wait_for_page(url=console.server_url + BY_CAPACITY)
    defaults = WorkloadParams.defaults()
    wait_for_cell(
        console, csm_id, "utilisation", formatting.percent(utilisation(db, day, csm_id, defaults))
    )
    # Double the points of the segment x tier this CSM carries most.
    mix = book_rows(db, day, csm_id).groupby(["segment", "coverage_tier"]).size().idxmax()
    key = points_key(*mix)
    doubled = 2 * defaults.points_for(*mix)
    type_into(console, key, f"{doubled:g}")
    url = url_contains(console, f"{key}=")
    assert parse_qs(urlparse(url).query)[key] == [f"{doubled:g}"]
    # The other tabs' links carry the change (written in place, the page was not rebuilt).
    wait(
        console,
        lambda d: (
            f"{key}={doubled:g}" in d.find_element(By.ID, "cp-tab-rebalance").get_attribute("href")
        ),
    )
    changed = replace(
        defaults,
        points=tuple((s, t, doubled if (s, t) == mix else p) for s, t, p in defaults.points),
    )
    shown = formatting.percent(utilisation(db, day, csm_id, changed))
    assert shown != formatting.percent(utilisation(db, day, csm_id, defaults))
    wait_for_cell(console, csm_id, "utilisation", shown)
    # A reload of that link keeps the model (and the sort).
    console.driver.get(url)
    wait_for_cell(console, csm_id, "utilisation", shown)
    assert field(console, key).get_attribute("value") == f"{doubled:g}"
    # Reset puts every field and the URL back to the defaults.
    click(console, console.find_element("#cb-wl-reset"))
    wait(console, lambda d: f"{key}=" not in d.current_url)
    wait_for_cell(
        console, csm_id, "utilisation", formatting.percent(utilisation(db, day, csm_id, defaults))
    )
    assert field(console, key).get_attribute("value") == f"{defaults.points_for(*mix):g}"
    assert_clean_console(console)


def test_a_bad_value_is_refused_by_its_field(console):
    db, day = _day()
    csm_id = part_timer(db, day)
    console.wait_for_page(url=console.server_url + BY_CAPACITY)
    before = formatting.percent(utilisation(db, day, csm_id, WorkloadParams.defaults()))
    wait_for_cell(console, csm_id, "utilisation", before)
    type_into(console, "cap", "lots")
    message = field(console, "cap", "cb-wl-msg")
    wait(console, lambda d: "is not a number" in message.text)
    assert "is-invalid" in field(console, "cap").get_attribute("class")
    assert "cap=" not in console.driver.current_url
    type_into(console, "tu", "400")  # out of bounds
    tu_message = field(console, "tu", "cb-wl-msg")
    wait(console, lambda d: "must be between" in tu_message.text)
    assert "tu=" not in console.driver.current_url
    wait_for_cell(console, csm_id, "utilisation", before)  # nothing applied
    # A bad value in a link: the field shows it with its message, the default applies.
    console.driver.get(console.server_url + BY_CAPACITY + "&cap=abc")
    wait_for_cell(console, csm_id, "utilisation", before)
    assert field(console, "cap").get_attribute("value") == "abc"
    assert "is not a number" in field(console, "cap", "cb-wl-msg").text
    assert_clean_console(console)


def test_a_row_opens_the_accounts_list_of_that_book(console):
    db, day = _day()
    csm_id = part_timer(db, day)
    count = len(book_rows(db, day, csm_id))
    console.wait_for_page(url=console.server_url + BY_CAPACITY)
    wait_for_cell(console, csm_id, "accounts", formatting.count(count))
    click(console, console.find_element(cell(csm_id, "name")))
    url = url_contains(console, "/accounts?")
    assert parse_qs(urlparse(url).query)["owner"] == [csm_id]
    console.wait_for_text_to_equal("#accounts-count", formatting.count(count), timeout=30)
    assert_clean_console(console)


def test_an_open_book_and_the_unowned_accounts_open_their_accounts(console):
    db, day = _day()
    departed = db.scalar(
        "SELECT csm_id FROM csms WHERE end_date <= ? AND csm_id IN "
        "(SELECT owner_csm_id FROM accounts) ORDER BY csm_id LIMIT 1",
        [day],
    )
    count = len(book_rows(db, day, departed))
    console.wait_for_page(url=console.server_url + TAB)
    wait_for_cell(console, departed, "accounts", formatting.count(count))
    click(console, console.find_element(cell(departed, "name")))
    url_contains(console, f"owner={departed}")
    console.wait_for_text_to_equal("#accounts-count", formatting.count(count), timeout=30)
    unowned = db.scalar(
        "SELECT COUNT(*) FROM health_snapshots h JOIN accounts a USING (account_id) "
        "WHERE h.snapshot_date = ? AND h.arr > 0 AND a.owner_csm_id IS NULL",
        [day],
    )
    console.wait_for_page(url=console.server_url + TAB)
    wait_for_cell(console, "_none", "accounts", formatting.count(unowned))
    click(console, console.find_element(cell("_none", "name")))
    url_contains(console, "team=Unassigned")
    console.wait_for_text_to_equal("#accounts-count", formatting.count(unowned), timeout=30)
    assert_clean_console(console)


def test_a_bar_opens_that_csms_accounts(console):
    db, day = _day()
    console.wait_for_page(url=console.server_url + TAB)
    console.wait_for_element("#cb-utilisation .trace.bars", timeout=30)
    click_bar(console, "cb-utilisation", 0, 0)  # the most loaded CSM
    url = url_contains(console, "owner=")
    owner = parse_qs(urlparse(url).query)["owner"][0]
    count = len(book_rows(db, day, owner))
    console.wait_for_text_to_equal("#accounts-count", formatting.count(count), timeout=30)
    # It is the CSM whose utilisation is the highest, by the independent computation.
    params = WorkloadParams.defaults()
    active = db.query(
        "SELECT csm_id FROM csms WHERE role = 'CSM' AND hire_date <= ? AND end_date IS NULL",
        [day],
    )["csm_id"]
    top = max(active, key=lambda c: utilisation(db, day, c, params))
    assert owner == top
    assert_clean_console(console)
