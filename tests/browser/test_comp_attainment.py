"""The Attainment & payout tab of /compensation in the browser: the grid lists the people of the
view with their payouts and the top line adds up to it, the period picker changes the link and
the header, and a row opens that person's statement with the view's other parameters."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

from components import formatting
from pages._comp_view import resolve_comp_view
from services.asof import resolve_as_of
from services.comp_periods import recent_periods
from services.db import get_database
from services.filters import Filters
from tests.browser.helpers import assert_clean_console, choose, click, url_contains, wait

PAGE = "/compensation"
ROWS = "#cm-attainment-grid .ag-center-cols-container .ag-row"
NAMES = "#cm-attainment-grid .ag-pinned-left-cols-container .ag-row"
LOADING = "[data-dash-is-loading='true']"
UNITS = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9}

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def biggest_team() -> str:
    """The team with the most people: a view of one team fits the grid without scrolling."""
    csms = get_database().query(
        "SELECT team, count(*) AS n FROM csms GROUP BY team ORDER BY n DESC"
    )
    return str(csms["team"].iloc[0])


def view_of(params: dict[str, str], filters: Filters):
    """What the page must show for these URL parameters (the services' own answer)."""
    day = resolve_as_of(get_database(), filters).date
    resolved = resolve_comp_view(filters, day, params)
    assert resolved.view is not None, resolved.message
    return resolved.view


def money_value(text: str) -> float:
    """'$4.6K' -> 4600.0 (what a compact money cell says, to its rounding)."""
    match = re.fullmatch(r"(-?)\$([\d,.]+)([KMB]?)", text.strip())
    assert match, text
    sign = -1.0 if match.group(1) else 1.0
    return sign * float(match.group(2).replace(",", "")) * UNITS[match.group(3)]


def rounding_of(text: str) -> float:
    """Half the last shown digit of a compact money text ($4.6K: $50; $950: $0.5)."""
    unit = UNITS[text.strip()[-1]] if text.strip()[-1] in UNITS else 1.0
    return 0.5 * (unit / 10 if unit > 1 else 1.0)


def grid_rows(duo) -> dict[str, dict[str, str]]:
    """Each grid row's cells by column, keyed by the row id (the person)."""
    rows: dict[str, dict[str, str]] = {}
    for row in duo.driver.find_elements(By.CSS_SELECTOR, f"{ROWS}, {NAMES}"):
        cells = rows.setdefault(row.get_attribute("row-id"), {})
        for cell in row.find_elements(By.CSS_SELECTOR, ".ag-cell"):
            cells[cell.get_attribute("col-id")] = cell.text
    return rows


def test_the_grid_lists_the_people_and_the_top_line_adds_up(console):
    team = biggest_team()
    filters = Filters(team=(team,))
    cv = view_of({}, filters)
    people = cv.payouts.people
    assert len(people) >= 3 and people["payout"].sum() > 0  # a view with payouts to add up
    console.wait_for_page(url=console.server_url + PAGE + filters.to_search())
    wait(console, lambda d: len(grid_rows(console)) == len(people), timeout=30)
    rows = grid_rows(console)

    # Every person of the view, each with their payouts as the service computed them.
    assert set(rows) == set(people["csm_id"])
    for person in people.itertuples():
        shown = rows[person.csm_id]
        assert shown["name"] == person.name
        assert shown["payout"] == formatting.money(person.payout)
        assert shown["projected_payout"] == formatting.money(person.projected_payout)

    # The top line is the sum of the grid: the exact amounts on the cards' hover, against the
    # grid's compact cells added up (each off by at most half its last digit).
    for key, column in (
        ("payout", "payout"),
        ("projected", "projected_payout"),
        ("on_target", "on_target"),
    ):
        card = console.find_element(f"#cm-attainment-kpi-{key}")
        total = money_value(card.get_attribute("title"))
        cells = [r[column] for r in rows.values()]
        slack = sum(rounding_of(c) for c in cells) + 0.5
        assert abs(sum(money_value(c) for c in cells) - total) <= slack, key
        assert card.text == formatting.money(total)
    assert team in console.find_element("#cm-attainment-teams").text
    assert_clean_console(console)


def test_the_period_picker_changes_the_link_and_the_header(console):
    filters = Filters()
    cv = view_of({}, filters)
    current = cv.plan_view.period
    previous = recent_periods(cv.day, cv.plan.period, 2)[1]
    console.wait_for_page(url=console.server_url + PAGE)
    console.wait_for_text_to_equal("#cm-attainment-period-label", current.label(), timeout=30)

    choose(console, "cm-attainment-period", previous.label())
    url = url_contains(console, f"period={previous.key}")
    console.wait_for_text_to_equal("#cm-attainment-period-label", previous.label())
    before = view_of({"period": previous.key}, filters)
    wait(
        console,
        lambda d: (
            d.find_element(By.ID, "cm-attainment-kpi-payout").text
            == formatting.money(before.payouts.people["payout"].sum())
        ),
    )
    # The link reproduces it.
    console.driver.get(url)
    console.wait_for_text_to_equal("#cm-attainment-period-label", previous.label(), timeout=30)
    assert_clean_console(console)


def test_a_row_opens_that_persons_statement(console):
    team = biggest_team()
    filters = Filters(team=(team,))
    cv = view_of({}, filters)
    period = cv.plan_view.period.key
    person = cv.payouts.people.sort_values("name").iloc[0]
    console.wait_for_page(url=console.server_url + PAGE + filters.to_search() + f"&period={period}")
    cell = f"{NAMES}[row-id='{person.csm_id}'] .ag-cell[col-id='name']"
    wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, cell), timeout=30)
    click(console, console.find_element(cell))
    url = url_contains(console, "tab=statement")
    query = parse_qs(urlparse(url).query)
    assert query["csm"] == [person.csm_id]
    assert query["period"] == [period] and query["team"] == [team]
    # The statement tab is the one shown, and it has finished loading.
    wait(console, lambda d: d.find_elements(By.ID, "cm-body-statement"), timeout=30)
    wait(console, lambda d: not d.find_elements(By.CSS_SELECTOR, LOADING), timeout=30)


def test_account_filters_say_the_payouts_are_a_slice_of_each_book(console):
    segment = str(get_database().query("SELECT min(segment) AS s FROM accounts")["s"][0])
    filters = Filters(segment=(segment,))
    console.wait_for_page(url=console.server_url + PAGE + filters.to_search())
    console.wait_for_contains_text(
        "#cm-attainment-slice-note", "not what anyone is paid", timeout=30
    )
    note = console.find_element("#cm-attainment-slice-note")
    assert f"segment {segment}" in note.text and "whole book" in note.text
    top = console.find_element("#cm-attainment-top-line")
    assert note.location["y"] < top.location["y"]  # above the numbers

    # A team chooses people, whose whole books count: no notice.
    team_view = Filters(team=(biggest_team(),))
    console.wait_for_page(url=console.server_url + PAGE + team_view.to_search())
    wait(console, lambda d: d.find_elements(By.ID, "cm-attainment-top-line"), timeout=30)
    assert not console.driver.find_elements(By.ID, "cm-attainment-slice-note")
    assert_clean_console(console)
