"""Renewals 'Forecast & accuracy' in the browser: the tab shows the services' numbers (tiles,
accuracy table), a segment filter changes them, the gap grouping lives in the URL, and a gap row
or a quarter bar opens the open-renewal list with exactly its count and ARR (expected numbers
from the services, never typed)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from components import formatting
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.forecast_accuracy import forecast_accuracy
from services.renewal_forecast import forecast_gap, projected_retention, renewal_forecast
from tests.browser.helpers import assert_clean_console, choose, click, click_bar, url_contains, wait

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def day_of(filters: Filters):
    db = get_database()
    return db, resolve_as_of(db, filters).date


def wait_for_tab(console, filters: Filters | None = None) -> None:
    search = (filters or Filters()).to_search({"tab": "forecast"})
    console.wait_for_page(url=console.server_url + "/renewals" + search)
    console.wait_for_element("#rf-quarters .trace.bars", timeout=30)


def test_the_tab_shows_the_services_numbers(console):
    db, day = day_of(Filters())
    fc = renewal_forecast(db, Filters(), day)
    proj = projected_retention(db, Filters(), day)
    acc = forecast_accuracy(db, Filters(), day)
    wait_for_tab(console)
    t = fc.total
    console.wait_for_text_to_equal("#rf-kpi-expected", formatting.money(t["expected"]), 30)
    console.wait_for_contains_text(
        "#rf-kpi-expected-note",
        f"{formatting.money(t['low'])} – {formatting.money(t['high'])}",
    )
    console.wait_for_text_to_equal("#rf-kpi-call", formatting.money(t["called"]))
    gap = ("+" if t["gap"] >= 0 else "") + formatting.money(t["gap"])
    console.wait_for_text_to_equal("#rf-kpi-gap", gap)
    console.wait_for_text_to_equal("#rf-kpi-grr", formatting.percent(proj["projected"]["grr"]))
    console.wait_for_text_to_equal("#rf-kpi-nrr", formatting.percent(proj["projected"]["nrr"]))
    # The range is said in words on the page, not only in a popover.
    assert "independent draw" in console.find_element("#rf-range-words").text
    # The rates are on the page with the level each comes from.
    console.wait_for_element("#rf-rates-table")
    assert "Segment × band" in console.find_element("#rf-rates-table").text
    # Accuracy: each past quarter's ARR kept, and the verdict in a sentence.
    table = console.wait_for_element("#rf-accuracy-table", timeout=30)
    for _, q in acc.quarters[acc.quarters["renewals"] > 0].iterrows():
        row = console.find_element(f"#rf-accuracy-row-{q['start'].isoformat()}")
        assert formatting.money(q["actual"]) in row.text
        assert formatting.money(q["model"]) in row.text
    assert f"{acc.hits} of {acc.judged} inside" in table.text
    console.wait_for_contains_text("#rf-accuracy .gtitle", "was closest", timeout=30)
    if not acc.has_history:
        assert "no call history in the data" in table.text
    assert "_" not in console.find_element("#rf-gap .ag-center-cols-container").text  # no codes
    click(console, console.find_element("#rf-kpi-grr-info"))
    console.wait_for_contains_text("#rf-kpi-grr-info-popover", "fiscal year")
    assert_clean_console(console)


def test_a_segment_filter_changes_the_numbers(console):
    db, day = day_of(Filters())
    everyone = renewal_forecast(db, Filters(), day).total
    smb = renewal_forecast(db, Filters(segment=("SMB",)), day).total
    assert smb["expected"] < everyone["expected"]  # the check below can fail
    smb_grr = projected_retention(db, Filters(segment=("SMB",)), day)["projected"]["grr"]
    wait_for_tab(console)
    console.wait_for_text_to_equal("#rf-kpi-expected", formatting.money(everyone["expected"]), 30)
    choose(console, "filter-segment", "SMB")
    url = url_contains(console, "segment=SMB")
    assert "tab=forecast" in url
    console.wait_for_text_to_equal("#rf-kpi-expected", formatting.money(smb["expected"]), 30)
    console.wait_for_text_to_equal("#rf-kpi-call", formatting.money(smb["called"]))
    console.wait_for_text_to_equal("#rf-kpi-grr", formatting.percent(smb_grr))
    assert_clean_console(console)


def test_a_gap_row_opens_that_owners_open_renewals(console):
    filters = Filters(segment=("Enterprise",))
    db, day = day_of(filters)
    top = forecast_gap(db, filters, day, "owner").iloc[0]
    wait_for_tab(console, filters)
    first = "#rf-gap .ag-row[row-index='0'] [col-id='name']"
    wait(console, lambda d: d.find_element(By.CSS_SELECTOR, first).text == top["name"], 30)
    click(console, console.find_element(first))
    url = url_contains(console, "/renewals/list")
    assert "status=open" in url and f"owner={top['key']}" in url and "segment=Enterprise" in url
    assert "to=" in url and "from=" not in url  # the whole window, overdue included
    console.wait_for_text_to_equal("#renewals-count", formatting.count(top["renewals"]), 30)
    console.wait_for_text_to_equal("#renewals-arr-up", formatting.money(top["arr_up"]))
    assert_clean_console(console)


def test_the_team_grouping_is_in_the_url_and_a_team_row_drills(console):
    db, day = day_of(Filters())
    teams = forecast_gap(db, Filters(), day, "team")
    wait_for_tab(console)
    click(
        console, console.driver.find_element(By.XPATH, "//*[@id='rf-gap-by']//label[.='By team']")
    )
    url_contains(console, "gap=team")
    first = "#rf-gap .ag-row[row-index='0'] [col-id='name']"
    wait(
        console, lambda d: d.find_element(By.CSS_SELECTOR, first).text == teams.iloc[0]["name"], 30
    )
    console.driver.refresh()
    wait(
        console, lambda d: d.find_element(By.CSS_SELECTOR, first).text == teams.iloc[0]["name"], 30
    )
    assert console.find_element("#rf-gap-by input:checked").get_attribute("value") == "team"
    # The grid may redraw the row after the reload: click the row as it is drawn now.
    wait(console, lambda d: click(console, d.find_element(By.CSS_SELECTOR, first)) is None)
    url = url_contains(console, "/renewals/list")
    assert "team=" in url and "status=open" in url
    console.wait_for_text_to_equal(
        "#renewals-count", formatting.count(teams.iloc[0]["renewals"]), 30
    )
    assert_clean_console(console)


def test_a_quarter_bar_opens_its_open_renewals(console):
    db, day = day_of(Filters())
    q = renewal_forecast(db, Filters(), day).quarters
    point = 2  # the first whole quarter (after overdue and the current one)
    row = q.iloc[point]
    wait_for_tab(console)
    click_bar(console, "rf-quarters", trace_index=1, point_index=point)  # the model's bar
    url = url_contains(console, "/renewals/list")
    assert f"from={row['first'].isoformat()}" in url and f"to={row['last'].isoformat()}" in url
    console.wait_for_text_to_equal("#renewals-count", formatting.count(row["renewals"]), 30)
    console.wait_for_text_to_equal("#renewals-arr-up", formatting.money(row["arr_up"]))
    assert_clean_console(console)


def test_the_fiscal_year_steps_open_the_retention_list(console):
    db, day = day_of(Filters())
    proj = projected_retention(db, Filters(), day)
    wait_for_tab(console)
    console.wait_for_text_to_equal(
        "#rf-fy-start", formatting.money(proj["to_date"]["start_arr"]), timeout=30
    )
    console.wait_for_text_to_equal("#rf-fy-end", formatting.money(proj["projected"]["end_arr"]))
    link = console.driver.find_element(By.LINK_TEXT, "Churned so far")
    click(console, link)
    url = url_contains(console, "/retention")
    assert "movement=churned" in url and f"from={proj['fy'].start.isoformat()}" in url
    churned = formatting.money(proj["to_date"]["churned_arr"])
    console.wait_for_text_to_equal("#retention-start-arr", churned, timeout=30)
    assert_clean_console(console)


def test_a_past_quarter_of_the_accuracy_chart_opens_the_renewals_behind_it(console):
    filters = Filters(segment=("SMB",))
    db, day = day_of(filters)
    q = forecast_accuracy(db, filters, day).quarters
    q = q[q["renewals"] > 0].reset_index(drop=True)  # the chart's points
    # A quarter whose model bar has a height (an error of 0 draws no bar to click).
    point = next(i for i in reversed(range(len(q))) if abs(q.at[i, "model_error_pct"]) > 0.002)
    row = q.iloc[point]
    assert row["still_open"] < row["renewals"]  # the actual kept below can differ from 0
    wait_for_tab(console, filters)
    console.wait_for_element("#rf-accuracy .trace.bars", timeout=30)
    click_bar(console, "rf-accuracy", trace_index=0, point_index=point)  # the model's bar
    key = f"{row['start'].year}-Q{(row['start'].month - 1) // 3 + 1}"
    url = url_contains(console, "/renewals/list")
    assert f"backtest={key}" in url and "segment=SMB" in url
    console.wait_for_text_to_equal("#renewals-count", formatting.count(row["renewals"]), 30)
    console.wait_for_text_to_equal("#renewals-kept", formatting.money(row["actual"]))
    console.wait_for_text_to_equal("#renewals-arr-up", formatting.money(row["arr_up"]))
    console.wait_for_text_to_equal("#renewals-expected", formatting.money(row["model"]))
    # The rows are there, and one opens its account's Account 360.
    first = "#renewals-grid .ag-row[row-index='0'] [col-id='name']"
    cell = console.wait_for_element(first, timeout=30)
    click(console, cell)
    url_contains(console, "/accounts/")
    assert_clean_console(console)


def test_the_quarter_cell_of_the_accuracy_table_opens_the_same_list(console):
    db, day = day_of(Filters())
    q = forecast_accuracy(db, Filters(), day).quarters
    row = q[q["renewals"] > 0].iloc[-1]
    wait_for_tab(console)
    link = console.wait_for_element(f"#rf-accuracy-link-{row['start'].isoformat()}", timeout=30)
    assert link.text == row["label"]
    click(console, link)
    url_contains(console, "backtest=")
    console.wait_for_text_to_equal("#renewals-count", formatting.count(row["renewals"]), 30)
    console.wait_for_text_to_equal("#renewals-kept", formatting.money(row["actual"]))
    assert_clean_console(console)
