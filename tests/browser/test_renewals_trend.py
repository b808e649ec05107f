"""Renewals · Retention trend in the browser: the GRR/NRR lines and the ARR bridge, the toggle
and the period in the URL, and a bridge step opening the retention list whose sum is the step."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

from components import formatting
from services.arr_bridge import arr_bridge, period_window
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.retention import trailing_retention
from tests.browser.helpers import assert_clean_console, choose, click, click_bar, url_contains, wait

TAB = "/renewals?tab=retention"


pytestmark = pytest.mark.usefixtures("capture_console_errors")


def snapshot(filters: Filters):
    db = get_database()
    return resolve_as_of(db, filters).date


def card(filters: Filters) -> dict:
    return trailing_retention(get_database(), filters, snapshot(filters))


def bridge(filters: Filters, key: str) -> tuple[dict, object]:
    period = period_window(key, snapshot(filters))
    return arr_bridge(get_database(), filters, period.start, period.end), period


def title(console, graph_id: str) -> str:
    return console.find_element(f"#{graph_id} .gtitle").text


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def choose_ratio(console, label: str) -> None:
    xpath = f"//*[@id='rt-ratio']//label[normalize-space(.)='{label}']"
    wait(console, lambda d: d.find_elements(By.XPATH, xpath))
    console.driver.find_element(By.XPATH, xpath).click()


def test_tab_renders_and_the_toggle_lives_in_the_url(console):
    console.wait_for_page(url=console.server_url + TAB)
    expected = card(Filters())
    # The trend's latest value is the GRR card's; the bridge is drawn with its steps.
    console.wait_for_contains_text(
        "#rt-trend .gtitle", f"GRR {formatting.percent(expected['grr'])}", timeout=30
    )
    console.wait_for_element("#rt-trend .scatterlayer .trace")
    console.wait_for_element("#rt-bridge .trace.bars")
    t12m, _ = bridge(Filters(), "t12m")
    assert formatting.money(t12m["end"]) in title(console, "rt-bridge")
    console.wait_for_contains_text("#rt-bridge-window", "Last 12 months")
    # The definitions are one click away.
    console.find_element("#rt-trend-panel-info").click()
    console.wait_for_contains_text("#rt-trend-panel-info-popover", "GRR =")
    choose_ratio(console, "NRR")
    url = url_contains(console, "ratio=nrr")
    assert query(url)["tab"] == ["retention"]
    nrr = f"NRR {formatting.percent(expected['nrr'])}"
    console.wait_for_contains_text("#rt-trend .gtitle", nrr, timeout=20)
    console.driver.refresh()
    console.wait_for_contains_text("#rt-trend .gtitle", nrr, timeout=30)
    checked = console.find_element("#rt-ratio input:checked")
    assert checked.get_attribute("value") == "nrr"
    assert_clean_console(console)


def test_a_bridge_step_opens_the_list_that_sums_to_it(console):
    filters = Filters(segment=("SMB",))
    console.wait_for_page(url=console.server_url + TAB + "&" + filters.to_search()[1:])
    console.wait_for_element("#rt-bridge .trace.bars", timeout=30)
    expected, period = bridge(filters, "last_quarter")
    choose(console, "rt-period", period.label)
    url = url_contains(console, "period=last_quarter")
    assert query(url)["segment"] == ["SMB"]
    console.wait_for_contains_text("#rt-bridge-window", period.label, timeout=20)
    console.wait_for_contains_text(
        "#rt-bridge .gtitle", formatting.money(expected["end"]), timeout=20
    )
    click_bar(console, "rt-bridge", trace_index=0, point_index=4)  # Churn
    url = url_contains(console, "/retention?")
    params = query(url)
    assert params["movement"] == ["churned"] and params["segment"] == ["SMB"]
    assert params["from"] == [period.start.isoformat()] and params["to"] == [period.end.isoformat()]
    # The list's Σ ARR at the start is the step, and it lists the step's accounts.
    churned = formatting.money(expected["churned"])
    console.wait_for_text_to_equal("#retention-start-arr", churned, timeout=30)
    console.wait_for_text_to_equal(
        "#retention-count", formatting.count(expected["churned_accounts"])
    )
    console.wait_for_text_to_equal("#retention-end-arr", "$0")
    assert period.start.strftime("%d %b %Y") in console.find_element(".page-header").text
    console.wait_for_element("#retention-grid .ag-row")
    assert_clean_console(console)


def test_new_step_link_lists_the_new_accounts(console):
    console.wait_for_page(url=console.server_url + TAB)
    expected, _ = bridge(Filters(), "t12m")
    link = console.wait_for_element("#rt-step-new", timeout=30)
    assert link.text == f"New ({formatting.count(expected['new_accounts'])})"
    click(console, link)
    url = url_contains(console, "movement=new")
    assert "from" not in query(url)  # the 12 months to the as-of date: the list's default
    console.wait_for_text_to_equal(
        "#retention-end-arr", formatting.money(expected["new"]), timeout=30
    )
    console.wait_for_text_to_equal("#retention-start-arr", "$0")
    console.wait_for_text_to_equal("#retention-count", formatting.count(expected["new_accounts"]))
    checked = console.find_element("#retention-movement input:checked")
    assert checked.get_attribute("value") == "new"
    assert_clean_console(console)


def test_a_period_ending_after_the_view_says_so(console):
    as_of = snapshot(Filters())
    console.wait_for_page(url=console.server_url + f"/retention?to={as_of.year + 1}-01-01")
    console.wait_for_contains_text(".error-state", "after the date of this view", timeout=30)
    assert_clean_console(console)
