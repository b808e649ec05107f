"""The Hygiene tab of /renewals in the browser: the shares the service computes, a team filter
changing them, an owner's cell drilling to the renewal list with the cell's count, the owner
selection and the list's sort kept in the URL, a row opening Account 360."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

from components import formatting
from components.ids import filter_id
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.renewal_hygiene import (
    HYGIENE_CHECKS,
    hygiene_by_owner,
    hygiene_by_team,
    hygiene_params,
    hygiene_summary,
    missing_totals,
    window_end,
)
from tests.browser.helpers import assert_clean_console, choose, click, url_contains, wait

TAB = "/renewals?tab=hygiene"

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def _view(filters: Filters):
    db = get_database()
    day = resolve_as_of(db, filters).date
    return db, day, hygiene_params()


def shown_share(check) -> str:
    """What a tile shows for a check: its share, 'Not known' or '–'."""
    if not check.known:
        return "Not known"
    return formatting.percent(check.share)


def wait_for_shares(console, filters: Filters) -> None:
    db, day, hp = _view(filters)
    summary = hygiene_summary(db, filters, day, hp)
    console.wait_for_text_to_equal("#rh-renewals", formatting.count(summary.renewals), timeout=30)
    console.wait_for_text_to_equal("#rh-share-all", formatting.percent(summary.share_all))
    for key, check in summary.checks.items():
        console.wait_for_text_to_equal(f"#rh-share-{key}", shown_share(check))


def test_the_tab_shows_the_services_shares(console):
    console.wait_for_page(url=console.server_url + TAB)
    wait_for_shares(console, Filters())
    db, day, hp = _view(Filters())
    summary = hygiene_summary(db, Filters(), day, hp)
    # A tile with renewals missing its check links to them.
    key = next(k for k, c in summary.checks.items() if c.failing)
    link = console.find_element(f"#rh-drill-{key}")
    assert link.text.startswith(formatting.count(summary.checks[key].failing) + " of ")
    assert f"missing={key}" in link.get_attribute("href")
    # The owner table's worst row is the service's.
    worst = hygiene_by_owner(db, Filters(), day, hp).iloc[0]
    cell = console.wait_for_element(
        "#rh-groups-grid .ag-row[row-index='0'] [col-id='owner_name']", timeout=30
    )
    assert cell.text.startswith(worst["owner_name"])
    assert_clean_console(console)


def test_a_team_filter_changes_the_shares(console):
    console.wait_for_page(url=console.server_url + TAB)
    wait_for_shares(console, Filters())
    db, day, hp = _view(Filters())
    overall = hygiene_summary(db, Filters(), day, hp)
    # The team whose share passing every check differs most from the whole.
    teams = hygiene_by_team(db, Filters(), day, hp)
    team = teams.iloc[(teams["share_all"] - overall.share_all).abs().argmax()]["team"]
    choose(console, filter_id("team"), team)
    url_contains(console, "team=")
    wait_for_shares(console, Filters(team=(team,)))
    team_summary = hygiene_summary(db, Filters(team=(team,)), day, hp)
    assert formatting.percent(team_summary.share_all) != formatting.percent(overall.share_all)
    assert "tab=hygiene" in console.driver.current_url
    assert_clean_console(console)


def test_an_owner_cell_drills_to_the_list_with_its_count(console):
    console.wait_for_page(url=console.server_url + TAB)
    db, day, hp = _view(Filters())
    owners = hygiene_by_owner(db, Filters(), day, hp)
    owners = owners[owners["owner_csm_id"].notna()]
    key = next(k for k in HYGIENE_CHECKS if owners[f"fail_{k}"].sum())
    owner = owners[owners[f"fail_{key}"] > 0].iloc[0]
    count = int(owner[f"fail_{key}"])
    selector = f"#rh-groups-grid .ag-row[row-id='{owner['owner_csm_id']}'] [col-id='{key}']"
    cell = console.wait_for_element(selector, timeout=30)
    wait(console, lambda d: f"{count} missing" in d.find_element(By.CSS_SELECTOR, selector).text)
    click(console, cell)
    url = url_contains(console, "/renewals/list")
    params = parse_qs(urlparse(url).query)
    assert params["status"] == ["open"]
    assert params["missing"] == [key]
    assert params["owner"] == [owner["owner_csm_id"]]
    assert params["to"] == [window_end(day, hp.window_days).isoformat()]
    assert "from" not in params  # overdue renewals included
    # The list behind the cell has the cell's count.
    console.wait_for_text_to_equal("#renewals-count", formatting.count(count), timeout=30)
    assert_clean_console(console)


def test_owner_selection_and_sort_stay_in_the_url(console):
    console.wait_for_page(url=console.server_url + TAB)
    db, day, hp = _view(Filters())
    owners = hygiene_by_owner(db, Filters(), day, hp)
    owner = owners[owners["owner_csm_id"].notna() & (owners["fail_any"] > 0)].iloc[0]
    owner_id = owner["owner_csm_id"]
    expected = missing_totals(db, Filters(), day, hp, owner_id)
    name = console.wait_for_element(
        f"#rh-groups-grid .ag-row[row-id='{owner_id}'] [col-id='owner_name']", timeout=30
    )
    click(console, name)
    url_contains(console, f"hyowner={owner_id}")
    console.wait_for_text_to_equal(
        "#rh-missing-count", formatting.count(expected["renewals"]), timeout=30
    )
    # Sort the list by ARR up (descending after two clicks), then reload: both are kept.
    header = console.find_element("#rh-missing-grid .ag-header-cell[col-id='arr_up']")
    click(console, header)
    url_contains(console, "sort=arr_up")
    console.driver.refresh()
    console.wait_for_text_to_equal(
        "#rh-missing-count", formatting.count(expected["renewals"]), timeout=30
    )
    assert f"hyowner={owner_id}" in console.driver.current_url
    first = console.wait_for_element(
        "#rh-missing-grid .ag-row[row-index='0'] [col-id='owner_name']", timeout=30
    )
    assert first.text == owner["owner_name"]
    account = console.find_element("#rh-missing-grid .ag-row[row-index='0'] [col-id='name']")
    account_name = account.text
    click(console, account)
    url_contains(console, "/accounts/A")
    console.wait_for_contains_text(".page-header h1", account_name, timeout=20)
    assert_clean_console(console)
