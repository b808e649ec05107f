"""Health model page and the renewal list in the browser: backtest, tuning in the URL, bad input,
the drill to the renewals behind a bar, and Portfolio's one-line summary."""

from __future__ import annotations

import os
from dataclasses import replace

from selenium.webdriver.common.keys import Keys

from components import formatting
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.health_backtest import CURRENT, backtest
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.helpers import click, click_bar, url_contains, wait

PAGE = "/health-model"


def current_backtest(params=CURRENT):
    db = get_database()
    return backtest(db, Filters(), resolve_as_of(db, Filters()).date, params)


def type_into(duo, element_id: str, text: str) -> None:
    field = duo.find_element(f"#{element_id}")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)


def snap(duo, name: str, ready: str) -> None:
    """Screenshots at 1440 and 1280 px into docs/screenshots when CSOPS_SCREENSHOTS=1."""
    if os.environ.get("CSOPS_SCREENSHOTS") != "1":
        return
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for width in (1440, 1280):
        duo.driver.set_window_size(width, 1800)
        wait(duo, lambda d, w=width: d.execute_script("return window.innerWidth") <= w)
        duo.wait_for_element(ready)
        duo.driver.save_screenshot(str(SCREENSHOT_DIR / f"{name}-{width}.png"))
    duo.driver.set_window_size(1400, 1000)


def test_page_renders_the_backtest_with_n(console):
    bt = current_backtest()
    console.wait_for_page(url=console.server_url + PAGE)
    console.wait_for_element("#hm-current .trace.bars", timeout=30)
    console.wait_for_text_to_equal("#hm-n-current", formatting.count(bt.renewals), timeout=30)
    red = bt.by_band.set_index("band").loc["red"]
    console.wait_for_contains_text("#hm-current", f"n = {int(red['renewals']):,}")
    console.wait_for_element("#hm-curve .scatterlayer .trace")
    console.wait_for_element("#hm-mix .trace.bars")
    console.wait_for_element("#hm-diag .trace.bars")
    console.wait_for_contains_text("#hm-inputs", "Score built from")
    # The definitions are one click away.
    click(console, console.find_element("#panel-info-backtest-current-model"))
    console.wait_for_contains_text("#panel-info-backtest-current-model-popover", "ARR-based")
    assert console.get_logs() == []


def test_a_weight_change_updates_the_backtest_and_the_url(console):
    console.wait_for_page(url=console.server_url + PAGE)
    console.wait_for_element("#hm-current .trace.bars", timeout=30)
    type_into(console, "hm-w-usage", "40")
    type_into(console, "hm-w-trend", "10")
    url = url_contains(console, "w=40%2C10%2C15%2C15%2C20")
    proposal = replace(CURRENT, w_usage=40.0, w_trend=10.0)
    expected = current_backtest(proposal).by_band.set_index("band").loc["red", "renewals"]
    console.wait_for_contains_text("#hm-proposed", f"n = {int(expected):,}", timeout=30)
    console.wait_for_contains_text("#hm-tune-note", "Proposal shown beside the current model")
    # A reload keeps the proposal (it lives in the URL only).
    console.wait_for_page(url=url)
    console.wait_for_contains_text("#hm-proposed", f"n = {int(expected):,}", timeout=30)
    assert console.find_element("#hm-w-usage").get_attribute("value") == "40"
    snap(console, "health-model", "#hm-proposed .trace.bars")
    assert console.get_logs() == []


def test_bad_input_gives_a_message_by_the_field_and_keeps_the_current_model(console):
    console.wait_for_page(url=console.server_url + PAGE)
    console.wait_for_element("#hm-current .trace.bars", timeout=30)
    type_into(console, "hm-w-usage", "50")
    console.wait_for_contains_text("#hm-weights-message", "add up to 120", timeout=20)
    console.wait_for_contains_text("#hm-tune-note", "Showing the current model")
    console.wait_for_contains_text("#hm-proposed", "Change a weight")
    type_into(console, "hm-w-usage", "-10")
    console.wait_for_text_to_equal("#hm-w-usage-message", "A weight cannot be negative.")
    # A non-number and a red threshold above green, straight from the URL.
    console.wait_for_page(url=console.server_url + PAGE + "?w=abc,20,15,15,20&green=40&yellow=60")
    console.wait_for_text_to_equal("#hm-w-usage-message", "'abc' is not a number.", timeout=30)
    console.wait_for_contains_text("#hm-yellow-message", "above the green one")
    n = current_backtest().renewals
    console.wait_for_text_to_equal("#hm-n-current", formatting.count(n), timeout=30)
    assert console.get_logs() == []


def test_drilling_a_bar_opens_the_renewals_behind_it(console):
    proposal = replace(CURRENT, w_usage=40.0, w_trend=10.0)
    console.wait_for_page(url=console.server_url + PAGE + "?w=40,10,15,15,20")
    console.wait_for_element("#hm-proposed .trace.bars", timeout=30)
    click_bar(console, "hm-proposed", trace_index=0, point_index=0)  # red, on ARR
    url = url_contains(console, "/renewals/list")
    assert "band=red" in url and "w=40" in url
    red = current_backtest(proposal).by_band.set_index("band").loc["red"]
    console.wait_for_text_to_equal(
        "#renewals-count", formatting.count(int(red["renewals"])), timeout=30
    )
    console.wait_for_text_to_equal("#renewals-arr-lost", formatting.money(red["arr_lost"]))
    console.wait_for_element("#renewals-grid .ag-row")
    snap(console, "renewal-list", "#renewals-grid .ag-row")
    # A row opens Account 360.
    click(
        console, console.find_element("#renewals-grid .ag-center-cols-container .ag-row .ag-cell")
    )
    url_contains(console, "/accounts/")
    assert console.get_logs() == []


def test_portfolio_summary_links_to_the_health_model(console):
    bt = current_backtest()
    red = bt.by_band.set_index("band").loc["red"]
    console.wait_for_contains_text(
        "#portfolio-health-model-summary", f"n = {int(red['renewals']):,}", timeout=30
    )
    click(console, console.find_element("#portfolio-health-model-link"))
    url_contains(console, PAGE)
    console.wait_for_element("#hm-current .trace.bars", timeout=30)
