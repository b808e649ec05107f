"""Renewals 'Upsell' in the browser: the tab renders on the demo data with the service's numbers,
a filter change updates the candidates, a candidate opens its Account 360, and a clicked stage or
decile bar lists exactly its opportunities (count and sum from the services, never typed); the
drill lives in the URL and survives a reload."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from components import formatting
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.upsell import (
    OpportunityDrill,
    candidate_page,
    candidate_totals,
    opportunity_totals,
    pipeline_by_stage,
    score_validation,
)
from tests.browser.helpers import assert_clean_console, choose, click, click_bar, url_contains, wait

PAGE = "/renewals?tab=upsell"

pytestmark = pytest.mark.usefixtures("capture_console_errors")
FIRST_NAME = "#ru-candidates-grid .ag-row[row-index='0'] [col-id='name']"


def assert_tab_clean(console) -> None:
    """No console error, and this tab's ids are on the page."""
    assert_clean_console(console)
    for element_id in ("ru-tiles", "ru-candidates-grid", "ru-deciles", "ru-pipeline"):
        assert console.driver.find_elements("id", element_id), element_id


def day_of(filters: Filters):
    db = get_database()
    return db, resolve_as_of(db, filters).date


def open_tab(console, filters: Filters | None = None, extra: str = "") -> None:
    console.wait_for_page(url=console.server_url + "/renewals" + _search(filters) + extra)
    console.wait_for_element("#ru-deciles .trace.bars", timeout=30)


def _search(filters: Filters) -> str:
    return (filters or Filters()).to_search({"tab": "upsell"})


def url_param(console, key: str) -> str:
    values = parse_qs(urlparse(console.driver.current_url).query).get(key, [])
    return values[0] if values else ""


def test_the_tab_shows_the_services_candidates_and_charts(console):
    db, day = day_of(Filters())
    totals = candidate_totals(db, Filters(), day)
    top = candidate_page(db, Filters(), day).iloc[0]
    open_tab(console)
    count = formatting.count(totals["candidates"])
    console.wait_for_text_to_equal("#ru-kpi-candidates", count, timeout=30)
    console.wait_for_text_to_equal("#ru-count", count)
    console.wait_for_text_to_equal("#ru-kpi-expected", formatting.money(totals["expected_arr"]))
    console.wait_for_text_to_equal(FIRST_NAME, top["name"], timeout=30)
    expected = "#ru-candidates-grid .ag-row[row-index='0'] [col-id='expected_arr']"
    assert console.find_element(expected).text == formatting.money(top["expected_arr"])
    reasons = console.find_element("#ru-candidates-grid .ag-row[row-index='0'] [col-id='reasons']")
    assert "+" in reasons.text  # the reasons that apply, each with its points
    pipeline = pipeline_by_stage(db, Filters(), day)
    console.wait_for_text_to_equal(
        "#ru-kpi-pipeline", formatting.money(pipeline["amount_arr"].sum())
    )
    console.wait_for_element("#ru-pipeline .trace.bars")
    validation = score_validation(db, Filters(), day)
    assert (
        f"all: {formatting.percent(validation.win_rate)}"
        in console.find_element("#ru-deciles .gtitle").text
    )
    assert console.find_element("#ru-drill-panel").value_of_css_property("display") == "none"
    assert_tab_clean(console)


def test_a_filter_change_updates_the_candidates(console):
    open_tab(console)
    console.wait_for_element(FIRST_NAME, timeout=30)
    choose(console, "filter-segment", "SMB")
    url = url_contains(console, "segment=SMB")
    assert "tab=upsell" in url  # the tab is kept
    smb = Filters(segment=("SMB",))
    db, day = day_of(smb)
    totals = candidate_totals(db, smb, day)
    top = candidate_page(db, smb, day).iloc[0]
    console.wait_for_text_to_equal("#ru-count", formatting.count(totals["candidates"]), timeout=30)
    console.wait_for_text_to_equal(FIRST_NAME, top["name"], timeout=30)
    segment = console.find_element("#ru-candidates-grid .ag-row[row-index='0'] [col-id='segment']")
    assert segment.text == "SMB"
    assert_tab_clean(console)


def test_clicking_a_candidate_opens_its_account_360(console):
    filters = Filters(segment=("Mid-Market",))
    db, day = day_of(filters)
    top = candidate_page(db, filters, day).iloc[0]
    open_tab(console, filters)
    console.wait_for_text_to_equal(FIRST_NAME, top["name"], timeout=30)
    click(console, console.find_element(FIRST_NAME))
    url = url_contains(console, f"/accounts/{top['account_id']}")
    assert "segment=Mid-Market" in url  # the filters travel with the drill
    console.wait_for_contains_text(".page-header h1", top["name"], timeout=30)


def test_a_stage_bar_lists_its_open_opportunities(console):
    db, day = day_of(Filters())
    open_tab(console)
    console.wait_for_element("#ru-pipeline .trace.bars", timeout=30)
    click_bar(console, "ru-pipeline", trace_index=0, point_index=0)
    url_contains(console, "ru_stage=")
    stage = url_param(console, "ru_stage")
    bar = pipeline_by_stage(db, Filters(), day)
    row = bar[bar["stage"] == stage].iloc[0]  # the clicked bar's own numbers
    drill = OpportunityDrill(stage=stage)
    assert opportunity_totals(db, Filters(), day, drill)["opportunities"] == row["opportunities"]
    console.wait_for_text_to_equal(
        "#ru-drill-n", formatting.count(row["opportunities"]), timeout=30
    )
    assert formatting.money(row["amount_arr"]) in console.find_element("#ru-drill-totals").text
    console.wait_for_text_to_equal(
        "#ru-opps-grid .ag-row[row-index='0'] [col-id='stage_label']", stage, timeout=30
    )
    console.driver.refresh()  # the drill is in the URL
    console.wait_for_text_to_equal(
        "#ru-drill-n", formatting.count(row["opportunities"]), timeout=30
    )
    click(console, console.find_element("#ru-drill-close"))
    wait(console, lambda d: "ru_stage" not in d.current_url)
    wait(
        console,
        lambda d: (
            d.find_element("css selector", "#ru-drill-panel").value_of_css_property("display")
            == "none"
        ),
    )
    assert_tab_clean(console)


def test_a_decile_bar_lists_the_opportunities_scored_in_it(console):
    db, day = day_of(Filters())
    open_tab(console)
    click_bar(console, "ru-deciles", trace_index=0, point_index=0)
    url_contains(console, "ru_decile=")
    decile = int(url_param(console, "ru_decile"))
    bar = score_validation(db, Filters(), day).deciles.set_index("decile").loc[decile]
    totals = opportunity_totals(db, Filters(), day, OpportunityDrill(decile=decile))
    assert (totals["opportunities"], totals["won"]) == (bar["opportunities"], bar["won"])
    console.wait_for_text_to_equal(
        "#ru-drill-n", formatting.count(bar["opportunities"]), timeout=30
    )
    assert f"{formatting.count(bar['won'])} won" in console.find_element("#ru-drill-totals").text
    score = console.wait_for_element(
        "#ru-opps-grid .ag-row[row-index='0'] [col-id='score']", timeout=30
    )
    assert decile * 10 <= float(score.text) < decile * 10 + 10 + (decile == 9)
    assert_tab_clean(console)


def test_a_bad_decile_in_the_link_says_so(console):
    console.wait_for_page(url=console.server_url + PAGE + "&ru_decile=12")
    console.wait_for_contains_text(".error-state", "Unknown score decile '12'", timeout=30)


def test_the_pipeline_tile_lists_every_open_opportunity(console):
    db, day = day_of(Filters())
    pipeline = pipeline_by_stage(db, Filters(), day)
    open_tab(console)
    link = console.wait_for_element("#ru-kpi-pipeline-link", timeout=30)
    click(console, link)
    url_contains(console, "ru_stage=all")
    console.wait_for_text_to_equal(
        "#ru-drill-n", formatting.count(pipeline["opportunities"].sum()), timeout=30
    )
    totals = console.find_element("#ru-drill-totals").text
    assert formatting.money(pipeline["amount_arr"].sum()) in totals
    assert_tab_clean(console)
