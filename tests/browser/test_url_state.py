"""Every view is a URL: toggles, grouping, search and sort survive reload and sharing; filters
cascade; Enter opens a row; one empty state; a page left open across a rebuild keeps working."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components import formatting
from services.account_list import account_page, account_totals
from services.asof import resolve_as_of
from services.db import get_database
from services.filter_options import filter_options
from services.filters import AccountDrill, Filters
from services.portfolio import portfolio_kpis
from tests.browser.helpers import choose, url_contains, wait


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def pick_option(duo, dropdown_id: str, label: str) -> None:
    duo.find_element(f"#{dropdown_id}").click()
    xpath = f"//*[@role='option'][normalize-space(.)='{label}']"
    wait(duo, lambda d: d.find_elements(By.XPATH, xpath))
    duo.driver.find_element(By.XPATH, xpath).click()


def test_portfolio_toggle_and_grouping_live_in_the_url(console):
    console.wait_for_element("#kpi-value-accounts", timeout=30)
    console.driver.find_element(
        By.XPATH, "//*[@id='portfolio-measure']//label[normalize-space(.)='Accounts']"
    ).click()
    url_contains(console, "measure=accounts")
    pick_option(console, "portfolio-mix-by", "Team")
    url = url_contains(console, "mix_by=team")
    assert urlparse(url).path == "/"
    console.wait_for_contains_text("#portfolio-band-mix", "Scale Digital", timeout=20)

    console.driver.refresh()
    console.wait_for_contains_text("#portfolio-band-mix", "Scale Digital", timeout=30)
    checked = console.driver.find_element(By.CSS_SELECTOR, "#portfolio-measure input:checked")
    assert checked.get_attribute("value") == "accounts"

    # A global filter change keeps the page's own state in the URL.
    choose(console, "filter-segment", _segment_label("Enterprise"))
    url = url_contains(console, "segment=Enterprise")
    assert query(url)["measure"] == ["accounts"] and query(url)["mix_by"] == ["team"]
    # Nav links carry the global filters, not this page's own state.
    link = "//nav//a[normalize-space(.)='Accounts']"
    wait(
        console,
        lambda d: "segment=Enterprise" in d.find_element(By.XPATH, link).get_attribute("href"),
    )
    assert "measure" not in console.driver.find_element(By.XPATH, link).get_attribute("href")
    assert console.get_logs() == []


def _segment_label(value: str) -> str:
    filters = Filters()
    db = get_database()
    options = filter_options(db, filters, resolve_as_of(db, filters).date)["segment"]
    return next(o["label"] for o in options if o["value"] == value)


def test_accounts_search_and_sort_survive_reload_and_reach_the_export(console):
    filters = Filters(segment=("Enterprise",))
    console.wait_for_page(url=console.server_url + "/accounts?segment=Enterprise")
    console.wait_for_element("#accounts-grid .ag-row", timeout=30)
    console.find_element("#accounts-search").send_keys("an")
    url_contains(console, "q=an")
    console.find_element(
        "#accounts-grid .ag-header-cell[col-id='arr'] .ag-header-cell-label"
    ).click()
    url = url_contains(console, "sort=arr%3Aasc")
    assert query(url)["q"] == ["an"] and query(url)["segment"] == ["Enterprise"]

    db = get_database()
    snapshot = resolve_as_of(db, filters).date
    drill = AccountDrill(search="an")
    smallest = account_page(db, filters, drill, snapshot, (("arr", "asc"),), 0, 1).iloc[0]
    first_cell = "#accounts-grid .ag-row[row-index='0'] [col-id='name']"
    console.wait_for_text_to_equal(first_cell, smallest["name"], timeout=20)

    href = console.find_element("#accounts-export").get_attribute("href")
    assert "sort=arr%3Aasc" in href and "q=an" in href
    rows = list(csv.reader(io.StringIO(requests.get(href, timeout=60).text.lstrip("\ufeff"))))
    assert rows[1][rows[0].index("Account")] == smallest["name"]
    assert len(rows) - 1 == account_totals(db, filters, drill, snapshot)["accounts"]
    xlsx = console.find_element("#accounts-export-xlsx").get_attribute("href")
    assert "/export/accounts.xlsx" in xlsx and "sort=arr%3Aasc" in xlsx

    console.driver.refresh()
    console.wait_for_text_to_equal(first_cell, smallest["name"], timeout=30)
    assert console.find_element("#accounts-search").get_attribute("value") == "an"
    header = console.find_element("#accounts-grid .ag-header-cell[col-id='arr']")
    assert header.get_attribute("aria-sort") == "ascending"
    assert console.get_logs() == []


def test_enter_on_a_focused_row_opens_account_360(console):
    console.wait_for_page(url=console.server_url + "/accounts?segment=SMB")
    row = "#accounts-grid .ag-row[row-index='0']"
    console.wait_for_element(f"{row} [col-id='segment']", timeout=30)

    def focus_first_row(driver):
        """Focus a cell of the first row, as Tab and the arrow keys would; its account name."""
        try:
            cell = driver.find_element(By.CSS_SELECTOR, f"{row} [col-id='segment']")
            name = driver.find_element(By.CSS_SELECTOR, f"{row} [col-id='name']").text
            driver.execute_script("arguments[0].focus()", cell)
            focused = driver.execute_script("return document.activeElement === arguments[0]", cell)
        except StaleElementReferenceException:  # the grid redrew its rows: try again
            return False
        return name if focused and name else False

    name = wait(console, focus_first_row)
    ActionChains(console.driver).send_keys(Keys.ENTER).perform()
    url_contains(console, "/accounts/")
    console.wait_for_contains_text(".page-header h1", name, timeout=20)


def test_filter_options_narrow_to_combinations_with_data(console):
    console.wait_for_element("#kpi-value-accounts", timeout=30)
    team = "Enterprise Americas"
    db = get_database()
    snapshot = resolve_as_of(db, Filters()).date
    team_label = next(
        o["label"] for o in filter_options(db, Filters(), snapshot)["team"] if o["value"] == team
    )
    choose(console, "filter-team", team_label)
    url_contains(console, "team=Enterprise+Americas")
    expected = [o["label"] for o in filter_options(db, Filters(team=(team,)), snapshot)["segment"]]
    console.find_element("#filter-segment").click()
    wait(
        console,
        lambda d: (
            sorted(o.text for o in d.find_elements(By.CSS_SELECTOR, "[role=option]"))
            == sorted(expected)
        ),
    )
    assert all(label.endswith(")") for label in expected)
    assert len(expected) < 3  # an enterprise team has no SMB customers to offer


def test_one_empty_state_when_nothing_matches(console):
    console.wait_for_page(url=console.server_url + "/?segment=Nope")
    console.wait_for_contains_text(".empty-state", "No accounts match these filters", timeout=30)
    wait(console, lambda d: not d.find_element(By.ID, "portfolio-panels").is_displayed())
    shown = [
        e for e in console.driver.find_elements(By.CSS_SELECTOR, ".empty-state") if e.is_displayed()
    ]
    assert len(shown) == 1
    assert "Nope (0)" in console.find_element("#filter-segment").text


def test_a_page_left_open_across_a_rebuild_keeps_working(console, tmp_path_factory, use_db):
    from data.generate_demo import DemoGenerator, DemoSpec
    from services.build import build

    folder = tmp_path_factory.mktemp("rebuild")
    source = folder / "source"
    DemoGenerator(DemoSpec(accounts=300)).write(source)
    target = folder / "csops.duckdb"
    build(source, target)
    use_db(target)
    first_as_of = get_database().info().as_of_date
    console.wait_for_page(url=console.server_url + "/")
    console.wait_for_element("#kpi-value-accounts", timeout=30)

    # A new build whose weekly grid does not contain the date the page resolved to.
    build(source, target, as_of=first_as_of - timedelta(days=3))
    assert get_database().info().as_of_date != first_as_of
    console.driver.find_element(
        By.XPATH, "//*[@id='portfolio-measure']//label[normalize-space(.)='Accounts']"
    ).click()
    kpis = {
        k.name: k.value
        for k in portfolio_kpis(
            get_database(), Filters(), resolve_as_of(get_database(), Filters()).date
        )
    }
    console.wait_for_element("#portfolio-band-mix .trace.bars", timeout=30)
    assert not [
        e for e in console.driver.find_elements(By.CSS_SELECTOR, ".empty-state") if e.is_displayed()
    ]
    assert kpis["accounts"] and formatting.count(kpis["accounts"])
