"""Renewals 'Pipeline & risk' in the browser: the tab renders on the demo data, the calendar's
month/quarter toggle lives in the URL and survives a reload, a segment filter changes the
totals, and a clicked calendar segment or reason bar opens the open-renewal list with exactly
its count and ARR (expected numbers from the services, never typed)."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from components import formatting
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.renewal_pipeline import (
    at_risk_by_reason,
    pipeline_summary,
    renewal_calendar,
    top_at_risk,
)
from tests.browser.helpers import assert_clean_console, choose, click, click_bar, url_contains, wait

PAGE = "/renewals"
CALL_TRACES = ("commit", "probable", "none", "at_risk", "churn")  # drawn in this order

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def day_of(filters: Filters):
    db = get_database()
    return db, resolve_as_of(db, filters).date


def wait_for_tab(console, path: str = PAGE) -> None:
    console.wait_for_page(url=console.server_url + path)
    console.wait_for_element("#rp-calendar .trace.bars", timeout=30)


def click_fresh(console, selector: str) -> bool:
    """Click the element now matching `selector`; False (try again) if it was just redrawn."""
    try:
        click(console, console.find_element(selector))
    except StaleElementReferenceException:
        return False
    return True


def test_the_tab_renders_the_calendar_risk_and_top_renewals(console):
    db, day = day_of(Filters())
    summary = pipeline_summary(db, Filters(), day)
    wait_for_tab(console)
    console.wait_for_text_to_equal("#rp-kpi-arr-up", formatting.money(summary["arr_up"]), 30)
    console.wait_for_text_to_equal("#rp-kpi-at-risk-arr", formatting.money(summary["at_risk_arr"]))
    console.wait_for_text_to_equal(
        "#rp-kpi-at-risk-count", formatting.count(summary["at_risk_renewals"])
    )
    console.wait_for_text_to_equal(
        "#rp-kpi-at-risk-share", formatting.percent(summary["at_risk_share"])
    )
    console.wait_for_contains_text(
        "#rp-calendar", f"{formatting.count(summary['renewals'] - summary['overdue_renewals'])}"
    )
    console.wait_for_element("#rp-reasons .trace.bars")
    console.wait_for_element("#rp-risk-quarters .trace.bars")
    # The top table: the biggest renewal at risk first, its reason in words.
    top = top_at_risk(db, Filters(), day)
    first = console.wait_for_element("#rp-top .ag-row[row-index='0'] [col-id='name']")
    assert first.text == top.iloc[0]["name"]
    assert "_" not in console.find_element("#rp-top .ag-center-cols-container").text  # no codes
    # Definitions are one click away.
    click(console, console.find_element("#rp-kpi-at-risk-arr-info"))
    console.wait_for_contains_text("#rp-kpi-at-risk-arr-info-popover", "health band is red")
    assert_clean_console(console)


def test_the_month_toggle_is_in_the_url_and_survives_reload(console):
    wait_for_tab(console)
    month = console.driver.find_element(By.XPATH, "//*[@id='rp-cal']//label[.='Month']")
    click(console, month)
    url = url_contains(console, "cal=month")
    _, day = day_of(Filters())
    cal = renewal_calendar(get_database(), Filters(), day, "month")
    last = cal.buckets[-1].label  # e.g. 'Sep 2027': only the month view has it as a bar
    console.wait_for_contains_text("#rp-calendar .xaxislayer-above", last, timeout=30)
    console.driver.refresh()
    console.wait_for_contains_text("#rp-calendar .xaxislayer-above", last, timeout=30)
    checked = console.find_element("#rp-cal input:checked")
    assert checked.get_attribute("value") == "month"
    assert console.driver.current_url == url
    assert_clean_console(console)


def test_a_segment_filter_changes_the_totals(console):
    db, day = day_of(Filters())
    everyone = pipeline_summary(db, Filters(), day)
    smb = pipeline_summary(db, Filters(segment=("SMB",)), day)
    assert smb["arr_up"] < everyone["arr_up"]  # the check below can fail
    wait_for_tab(console)
    console.wait_for_text_to_equal("#rp-kpi-arr-up", formatting.money(everyone["arr_up"]), 30)
    choose(console, "filter-segment", "SMB")
    url_contains(console, "segment=SMB")
    console.wait_for_text_to_equal("#rp-kpi-arr-up", formatting.money(smb["arr_up"]), 30)
    console.wait_for_text_to_equal("#rp-kpi-at-risk-arr", formatting.money(smb["at_risk_arr"]))
    assert_clean_console(console)


def test_a_calendar_segment_opens_the_renewals_behind_it(console):
    filters = Filters(segment=("Mid-Market",))
    db, day = day_of(filters)
    cal = renewal_calendar(db, filters, day, "quarter")
    bucket = cal.buckets[2]  # the first whole quarter
    cell = cal.cells.set_index(["bucket", "call"]).loc[(bucket.key, "commit")]
    wait_for_tab(console, PAGE + filters.to_search())
    traces = [c for c in CALL_TRACES if c in set(cal.cells["call"])]
    point = [b.key for b in cal.buckets].index(bucket.key)
    click_bar(console, "rp-calendar", trace_index=traces.index("commit"), point_index=point)
    url = url_contains(console, "/renewals/list")
    assert "status=open" in url and "category=commit" in url and "segment=Mid-Market" in url
    assert f"from={bucket.first.isoformat()}" in url and f"to={bucket.last.isoformat()}" in url
    console.wait_for_text_to_equal("#renewals-count", formatting.count(cell["renewals"]), 30)
    console.wait_for_text_to_equal("#renewals-arr-up", formatting.money(cell["arr_up"]))
    # A row opens Account 360 (the grid may redraw its first block: click what is there).
    first = "#renewals-grid .ag-row[row-index='0'] [col-id='name']"
    name = wait(console, lambda d: d.find_element(By.CSS_SELECTOR, first).text or None)
    wait(console, lambda d: click_fresh(console, first), timeout=20)
    url_contains(console, "/accounts/A")
    console.wait_for_contains_text(".page-header h1", name, timeout=20)
    assert_clean_console(console)


def test_a_reason_bar_opens_its_at_risk_renewals(console):
    db, day = day_of(Filters())
    by_reason = at_risk_by_reason(db, Filters(), day)
    biggest = by_reason["reason"].iloc[0]
    part = by_reason[by_reason["reason"] == biggest]
    reasons = list(dict.fromkeys(by_reason["reason"]))
    wait_for_tab(console)
    console.wait_for_element("#rp-reasons .trace.bars")
    # Bars are drawn bottom-up: the biggest reason is the last point.
    click_bar(console, "rp-reasons", trace_index=0, point_index=len(reasons) - 1)
    url = url_contains(console, "/renewals/list")
    assert "risk=1" in url and "reason=" in url
    console.wait_for_text_to_equal("#renewals-count", formatting.count(part["renewals"].sum()), 30)
    console.wait_for_text_to_equal("#renewals-arr-up", formatting.money(part["arr_up"].sum()))
    wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, "#renewals-drill .drill-chip"))
    assert "Risk reason" in console.find_element("#renewals-drill").text
    assert_clean_console(console)


def test_a_bar_total_opens_the_whole_bar_however_thin(console):
    db, day = day_of(Filters())
    totals = renewal_calendar(db, Filters(), day, "quarter").totals()
    shown = totals[totals["renewals"] > 0]
    thinnest = shown.loc[shown["arr_up"].idxmin()]  # e.g. the overdue bar
    index = list(totals["bucket"]).index(thinnest["bucket"])
    wait_for_tab(console)
    notes = "#rp-calendar .annotation"
    wait(console, lambda d: len(d.find_elements(By.CSS_SELECTOR, notes)) == len(totals))
    note = console.driver.find_elements(By.CSS_SELECTOR, notes)[index]
    ActionChains(console.driver).move_to_element(note).click().perform()
    url = url_contains(console, "/renewals/list")
    assert "category=" not in url
    console.wait_for_text_to_equal("#renewals-count", formatting.count(thinnest["renewals"]), 30)
    console.wait_for_text_to_equal("#renewals-arr-up", formatting.money(thinnest["arr_up"]))
    assert_clean_console(console)
