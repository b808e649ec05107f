"""The retention list in the browser: from the GRR card, movement filter in the URL, rows to Account 360."""

from __future__ import annotations

import os

import pytest
from selenium.webdriver.common.by import By

from components import formatting
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.retention import trailing_retention
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.helpers import assert_clean_console, click_bar, url_contains, wait

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def card_retention(filters: Filters) -> dict:
    """GRR/NRR and movement totals as the Portfolio cards compute them."""
    db = get_database()
    return trailing_retention(db, filters, resolve_as_of(db, filters).date)


def choose_movement(console, label: str) -> None:
    xpath = f"//*[@id='retention-movement']//label[normalize-space(.)='{label}']"
    wait(console, lambda d: d.find_elements(By.XPATH, xpath))
    console.driver.find_element(By.XPATH, xpath).click()


def test_grr_card_opens_the_retention_list(console):
    card = console.wait_for_element("#kpi-value-grr", timeout=30)
    expected = card_retention(Filters())
    console.wait_for_text_to_equal("#kpi-value-grr", formatting.percent(expected["grr"]))
    grr_text = card.text
    nrr_text = console.find_element("#kpi-value-nrr").text
    console.find_element("#kpi-card-grr a").click()
    url_contains(console, "/retention")
    console.wait_for_text_to_equal("#retention-grr", grr_text, timeout=30)
    console.wait_for_text_to_equal("#retention-nrr", nrr_text)
    assert "12 months to" in console.find_element(".page-header").text
    console.wait_for_element("#retention-waterfall .trace.bars")
    console.wait_for_element("#retention-grid .ag-row")
    assert_clean_console(console)
    if os.environ.get("CSOPS_SCREENSHOTS") == "1":
        for width in (1440, 1280):  # loaded at that width, so the charts lay out for it
            console.driver.set_window_size(width, 1800)
            console.wait_for_page(url=console.driver.current_url)
            console.wait_for_text_to_equal("#retention-grr", grr_text, timeout=30)
            console.wait_for_element("#retention-waterfall .trace.bars")
            console.wait_for_element("#retention-grid .ag-row[row-index='0'] [col-id='name']")
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            console.driver.save_screenshot(str(SCREENSHOT_DIR / f"retention-{width}.png"))
        console.driver.set_window_size(1400, 1000)


def test_churned_rows_add_up_to_the_churned_total_and_survive_reload(console):
    filters = Filters(segment=("SMB",))
    console.wait_for_page(url=console.server_url + "/retention" + filters.to_search())
    expected = card_retention(filters)
    console.wait_for_text_to_equal("#retention-grr", formatting.percent(expected["grr"]), 30)
    choose_movement(console, "Churned")
    url = url_contains(console, "movement=churned")
    assert "segment=SMB" in url  # the global filters are kept
    churned = formatting.money(expected["churned_arr"])
    console.wait_for_text_to_equal("#retention-start-arr", churned, timeout=30)
    console.wait_for_text_to_equal("#retention-end-arr", "$0")
    console.driver.refresh()
    console.wait_for_text_to_equal("#retention-start-arr", churned, timeout=30)
    checked = console.find_element("#retention-movement input:checked")
    assert checked.get_attribute("value") == "churned"
    cell = console.wait_for_element("#retention-grid .ag-row[row-index='0'] [col-id='name']")
    movement = console.find_element("#retention-grid .ag-row[row-index='0'] [col-id='movement']")
    assert movement.text == "Churned"
    name = cell.text
    cell.click()
    url_contains(console, "/accounts/A")
    console.wait_for_contains_text(".page-header h1", name, timeout=20)
    assert_clean_console(console)


def test_waterfall_step_filters_the_list(console):
    console.wait_for_page(url=console.server_url + "/retention")
    console.wait_for_element("#retention-waterfall .trace.bars", timeout=30)
    click_bar(console, "retention-waterfall", trace_index=0, point_index=3)  # Expanded
    url_contains(console, "movement=expanded")
    console.wait_for_contains_text("#retention-totals", "expanded accounts", timeout=30)
    assert console.find_element("#retention-movement input:checked").get_attribute("value") == (
        "expanded"
    )


def test_unknown_movement_says_so(console):
    console.wait_for_page(url=console.server_url + "/retention?movement=lost")
    console.wait_for_contains_text(".error-state", "Unknown movement 'lost'", timeout=30)
    assert_clean_console(console)


def test_empty_cohort_says_so(console):
    console.wait_for_page(url=console.server_url + "/retention?segment=Nowhere")
    console.wait_for_contains_text(
        "#retention-summary", "No customers a year ago under these filters", timeout=30
    )
    console.wait_for_text_to_equal("#retention-count", "0")
    assert_clean_console(console)
