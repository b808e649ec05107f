"""Portfolio health in the browser: KPIs, filters in the URL, drill-downs, reload and back."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from selenium.webdriver.common.by import By

from components import formatting
from services.account_list import account_totals
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import AccountDrill, Filters
from services.health import band_mix
from services.health_backtest import backtest
from services.portfolio import portfolio_kpis
from tests.browser.helpers import choose, click, click_bar, text_of, url_contains, wait


def expected_kpis(filters: Filters) -> dict[str, str]:
    db = get_database()
    snapshot = resolve_as_of(db, filters).date
    return {k.name: k.value for k in portfolio_kpis(db, filters, snapshot)}


def accounts_count(filters: Filters, drill: AccountDrill) -> int:
    db = get_database()
    return account_totals(db, filters, drill, resolve_as_of(db, filters).date)["accounts"]


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def test_portfolio_shows_kpis_charts_and_tables(console):
    kpis = expected_kpis(Filters())
    console.wait_for_text_to_equal("#kpi-value-arr", formatting.money(kpis["arr"]), timeout=30)
    console.wait_for_text_to_equal("#kpi-value-accounts", formatting.count(kpis["accounts"]))
    console.wait_for_text_to_equal("#kpi-value-grr", formatting.percent(kpis["grr"]))
    console.wait_for_element("#portfolio-band-mix .trace.bars")
    console.wait_for_element("#portfolio-band-history .trace.bars")
    console.wait_for_element("#portfolio-health-model-link")
    # Which inputs the score is built from (the demo supplies every feed).
    console.wait_for_text_to_equal(
        "#portfolio-health-inputs",
        "Score built from: usage, usage trend, support, sentiment, engagement.",
    )
    console.wait_for_element("#portfolio-owner-grid .ag-row")
    console.wait_for_element("#portfolio-movers-grid .ag-row")
    # The definition is one click away.
    console.find_element("#kpi-info-grr").click()
    console.wait_for_contains_text("#kpi-info-grr-popover", "Formula: GRR =")
    assert "Data as of" in text_of(console, "#data-as-of")
    assert console.get_logs() == []


def test_filter_change_updates_kpis_and_url(console):
    console.wait_for_element("#kpi-value-accounts", timeout=30)
    choose(console, "filter-segment", "Enterprise")
    url = url_contains(console, "segment=Enterprise")
    assert query(url)["segment"] == ["Enterprise"]
    kpis = expected_kpis(Filters(segment=("Enterprise",)))
    console.wait_for_text_to_equal(
        "#kpi-value-accounts", formatting.count(kpis["accounts"]), timeout=20
    )
    console.wait_for_text_to_equal("#kpi-value-arr", formatting.money(kpis["arr"]))
    assert console.get_logs() == []


def test_reload_keeps_filters(console):
    console.wait_for_page(url=console.server_url + "/?segment=SMB&region=EMEA")
    kpis = expected_kpis(Filters(segment=("SMB",), region=("EMEA",)))
    console.wait_for_text_to_equal(
        "#kpi-value-accounts", formatting.count(kpis["accounts"]), timeout=30
    )
    console.driver.refresh()
    console.wait_for_text_to_equal(
        "#kpi-value-accounts", formatting.count(kpis["accounts"]), timeout=30
    )
    assert "SMB" in text_of(console, "#filter-segment")
    assert "EMEA" in text_of(console, "#filter-region")


def test_drill_from_band_chart_to_accounts_to_account_360_and_back(console):
    console.wait_for_element("#portfolio-band-mix .trace.bars", timeout=30)
    click_bar(console, "portfolio-band-mix", trace_index=0, point_index=2)  # red, largest group
    url = url_contains(console, "/accounts?")
    params = query(url)
    assert params["band"] == ["red"]
    filters = Filters(segment=tuple(params["segment"]))
    expected = accounts_count(filters, AccountDrill(band=("red",)))
    mix = band_mix(get_database(), Filters(), resolve_as_of(get_database(), Filters()).date)
    clicked = mix[(mix.grp == params["segment"][0]) & (mix.band == "red")]["accounts"].iloc[0]
    assert expected == clicked  # the list holds exactly the accounts behind the bar
    console.wait_for_text_to_equal("#accounts-count", formatting.count(expected), timeout=20)
    first_name = console.wait_for_element("#accounts-grid .ag-row[row-index='0'] [col-id='name']")
    name = first_name.text
    first_name.click()
    url_contains(console, "/accounts/A")
    console.wait_for_contains_text(".page-header h1", name, timeout=20)
    console.wait_for_element("#account360-health .scatter")
    console.driver.back()
    url_contains(console, "band=red")
    console.wait_for_text_to_equal("#accounts-count", formatting.count(expected), timeout=20)
    console.driver.back()
    wait(console, lambda d: urlparse(d.current_url).path == "/")
    console.wait_for_element("#kpi-value-arr", timeout=20)
    assert console.get_logs() == []


def test_drill_from_weekly_history_owner_table_and_kpi(console):
    console.wait_for_element("#portfolio-band-history .trace.bars", timeout=30)
    click_bar(console, "portfolio-band-history", trace_index=0, point_index=0)  # red, oldest week
    url = url_contains(console, "/accounts?")
    params = query(url)
    filters = Filters.from_params(params)
    assert params["band"] == ["red"] and filters.as_of is not None
    expected = accounts_count(filters, AccountDrill(band=("red",)))
    console.wait_for_text_to_equal("#accounts-count", formatting.count(expected), timeout=20)

    console.driver.back()
    owner_cell = console.wait_for_element(
        "#portfolio-owner-grid .ag-row[row-index='0'] [col-id='owner_name']", timeout=30
    )
    click(console, owner_cell)
    params = query(url_contains(console, "owner="))
    expected = accounts_count(Filters(owner=tuple(params["owner"])), AccountDrill())
    console.wait_for_text_to_equal("#accounts-count", formatting.count(expected), timeout=20)

    console.driver.back()
    click(console, console.wait_for_element("#kpi-card-pct_arr_red a", timeout=30))
    url_contains(console, "band=red")
    console.wait_for_text_to_equal(
        "#accounts-count",
        formatting.count(accounts_count(Filters(), AccountDrill(band=("red",)))),
        timeout=20,
    )


def test_health_model_summary_opens_the_backtest_and_its_renewals(console):
    """The validation panel is now one line; its link opens the Health model page, whose red
    bar lists exactly the renewals it counts."""
    console.wait_for_element("#portfolio-health-model-link", timeout=30)
    click(console, console.find_element("#portfolio-health-model-link"))
    url_contains(console, "/health-model")
    console.wait_for_element("#hm-current .trace.bars", timeout=30)
    click_bar(console, "hm-current", trace_index=0, point_index=0)  # red, on ARR
    params = query(url_contains(console, "band=red"))
    db = get_database()
    filters = Filters.from_params(params)
    bt = backtest(db, filters, resolve_as_of(db, filters).date)
    expected = int(bt.by_band.set_index("band").loc["red", "renewals"])
    console.wait_for_text_to_equal("#renewals-count", formatting.count(expected), timeout=20)
    assert expected > 0


def test_hostile_and_malformed_urls_give_messages_not_errors(console):
    console.wait_for_page(
        url=console.server_url + "/?segment=%27%3B%20DROP%20TABLE%20accounts%3B%20--"
    )
    console.wait_for_contains_text(".empty-state", "No accounts match these filters", timeout=30)
    console.wait_for_page(url=console.server_url + "/?segment=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    console.wait_for_contains_text(".empty-state", "No accounts match these filters", timeout=30)
    console.wait_for_page(url=console.server_url + "/?as_of=2026-13-45&segment=SMB")
    console.wait_for_contains_text(".error-state", "is not a valid date", timeout=30)
    # The picker cannot show the value; its echo must not rewrite the URL the user typed.
    assert "SMB" in text_of(console, "#filter-segment")
    choose(console, "filter-region", "EMEA")
    url = url_contains(console, "region=EMEA")
    assert query(url)["as_of"] == ["2026-13-45"], "a value the controls cannot show is kept"
    console.wait_for_contains_text(".error-state", "is not a valid date", timeout=30)
    console.wait_for_page(url=console.server_url + "/?as_of=2099-01-31")
    console.wait_for_contains_text(".notice", "The data ends on", timeout=30)
    assert query(console.driver.current_url)["as_of"] == ["2099-01-31"]
    # The data survived the hostile value.
    console.wait_for_page(url=console.server_url + "/")
    kpis = expected_kpis(Filters())
    console.wait_for_text_to_equal(
        "#kpi-value-accounts", formatting.count(kpis["accounts"]), timeout=30
    )
    assert not console.driver.find_elements(By.CSS_SELECTOR, ".error-state")
    assert console.get_logs() == []


def test_band_mix_by_team_drills_to_that_team(console):
    console.wait_for_element("#portfolio-band-mix .trace.bars", timeout=30)
    console.find_element("#portfolio-mix-by").click()
    wait(
        console,
        lambda d: d.find_elements(By.XPATH, "//*[@role='option'][normalize-space(.)='Team']"),
    )
    console.driver.find_element(By.XPATH, "//*[@role='option'][normalize-space(.)='Team']").click()
    console.wait_for_contains_text("#portfolio-band-mix", "Scale Digital", timeout=20)
    click_bar(console, "portfolio-band-mix", trace_index=2, point_index=0)  # green, smallest team
    params = query(url_contains(console, "team="))
    assert params["band"] == ["green"] and len(params["team"]) == 1
    expected = accounts_count(Filters(team=tuple(params["team"])), AccountDrill(band=("green",)))
    console.wait_for_text_to_equal("#accounts-count", formatting.count(expected), timeout=20)


def test_team_filter_narrows_the_owner_choices(console):
    console.wait_for_element("#kpi-value-accounts", timeout=30)
    choose(console, "filter-team", "Enterprise Americas")
    url_contains(console, "team=Enterprise+Americas")
    console.find_element("#filter-owner").click()
    wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, "[role=option]"))
    labels = [o.text for o in console.driver.find_elements(By.CSS_SELECTOR, "[role=option]")]
    assert labels and all("(Enterprise Americas)" in label for label in labels)


def test_as_of_date_snaps_to_the_weekly_snapshot(console):
    db = get_database()
    grid_day = resolve_as_of(db, Filters()).date
    requested = grid_day - timedelta(days=10)  # not a multiple of 7: between two snapshots
    console.wait_for_page(url=f"{console.server_url}/?as_of={requested.isoformat()}")
    snapped = resolve_as_of(db, Filters(as_of=requested))
    console.wait_for_contains_text(
        ".notice", f"Showing the weekly snapshot of {snapped.date:%d %b %Y}", timeout=30
    )
    kpis = expected_kpis(Filters(as_of=requested))
    console.wait_for_text_to_equal(
        "#kpi-value-accounts", formatting.count(kpis["accounts"]), timeout=20
    )


def test_mover_row_opens_account_360(console):
    cell = console.wait_for_element(
        "#portfolio-movers-grid .ag-row[row-index='0'] [col-id='name']", timeout=30
    )
    name = cell.text
    click(console, cell)
    url_contains(console, "/accounts/A")
    console.wait_for_contains_text(".page-header h1", name, timeout=20)


def test_owner_filter_loads_matches_as_you_type_when_there_are_many(console, monkeypatch):
    monkeypatch.setenv("CSOPS_MAX_OWNER_OPTIONS", "10")  # the demo's 39 CSMs count as "many"
    console.wait_for_page(url=console.server_url + "/")
    console.wait_for_element("#kpi-value-accounts", timeout=30)
    console.find_element("#filter-owner").click()
    search = console.wait_for_element(".dash-dropdown-search", timeout=10)
    # The shell's first render and every sync send the same capped list (filter_bar_options),
    # so "no owner listed" holds from the moment the menu opens; uncapped, 39 would show.
    assert not console.driver.find_elements(By.CSS_SELECTOR, "[role=option]")
    search.send_keys("Ana")
    wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, "[role=option]"))
    labels = [o.text for o in console.driver.find_elements(By.CSS_SELECTOR, "[role=option]")]
    assert labels and all("ana" in label.lower() for label in labels)
    console.driver.find_elements(By.CSS_SELECTOR, "[role=option]")[0].click()
    url_contains(console, "owner=")
