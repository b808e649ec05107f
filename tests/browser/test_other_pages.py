"""Accounts, Account 360, Definitions, 404 and a missing database, in the browser."""

from __future__ import annotations

import csv
import io

import requests

from components import formatting
from services.account_list import account_page, account_totals
from services.asof import resolve_as_of
from services.comp_plan import METRICS as COMP_METRICS
from services.db import get_database
from services.filters import AccountDrill, Filters
from services.metrics import REGISTRY
from services.settings import load_capacity_settings


def _totals(filters: Filters, drill: AccountDrill) -> dict[str, float]:
    db = get_database()
    return account_totals(db, filters, drill, resolve_as_of(db, filters).date)


def test_accounts_list_search_sort_and_export(console):
    # Few enough rows that the grid renders them all (AG Grid only draws rows near the view).
    console.wait_for_page(
        url=console.server_url + "/accounts?segment=Enterprise&region=EMEA&band=red"
    )
    drill = AccountDrill(band=("red",))
    filters = Filters(segment=("Enterprise",), region=("EMEA",))
    totals = _totals(filters, drill)
    console.wait_for_text_to_equal(
        "#accounts-count", formatting.count(totals["accounts"]), timeout=30
    )
    console.wait_for_text_to_equal("#accounts-arr", formatting.money(totals["arr"]))
    rows = console.driver.find_elements(
        "css selector", "#accounts-grid .ag-center-cols-container .ag-row"
    )
    assert len(rows) == totals["accounts"]

    db = get_database()
    snapshot = resolve_as_of(db, filters).date
    top = account_page(db, filters, drill, snapshot, (), 0, 1).iloc[0]
    term = top["name"].split()[0]
    search = console.find_element("#accounts-search")
    search.send_keys(term)
    expected = account_totals(db, filters, drill.with_search(term), snapshot)
    console.wait_for_text_to_equal(
        "#accounts-count", formatting.count(expected["accounts"]), timeout=20
    )

    href = console.find_element("#accounts-export").get_attribute("href")
    assert "band=red" in href and f"q={term}" in href
    body = requests.get(href, timeout=30).content.decode("utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(body)))  # headed as the grid: Account, Owner...
    assert len(exported) == expected["accounts"]
    assert all(term.lower() in (r["Account"] + r["Owner"]).lower() for r in exported)
    assert console.get_logs() == []


def test_account_360_shows_the_history(console):
    db = get_database()
    snapshot = resolve_as_of(db, Filters()).date
    top = account_page(db, Filters(), AccountDrill(), snapshot, (("arr", "desc"),), 0, 1).iloc[0]
    console.wait_for_page(url=f"{console.server_url}/accounts/{top['account_id']}")
    console.wait_for_contains_text(".page-header h1", top["name"], timeout=30)
    console.wait_for_element("#account360-components .trace.bars")
    console.wait_for_element("#account360-health .scatter")
    console.wait_for_element("#account360-usage .scatter")
    console.wait_for_element("#account360-contracts .ag-row")
    console.wait_for_element("#account360-renewals .ag-row")
    facts = console.find_element(".facts").text
    assert formatting.money(top["arr"]) in facts
    assert console.get_logs() == []


def test_unknown_account_says_so(console):
    console.wait_for_page(url=console.server_url + "/accounts/NOPE-123")
    console.wait_for_contains_text(
        ".error-state", "There is no account with id “NOPE-123”", timeout=30
    )


def test_unknown_band_says_so(console):
    console.wait_for_page(url=console.server_url + "/accounts?band=purple")
    console.wait_for_contains_text(".error-state", "Unknown health band 'purple'", timeout=30)


def test_definitions_page_lists_every_metric(console):
    console.wait_for_page(url=console.server_url + "/definitions")
    console.wait_for_element("#definition-grr", timeout=30)
    for name, m in REGISTRY.items():
        assert m.label in console.find_element(f"#definition-{name}").text
    # The capacity models beside them, with the defaults in force (settings, not the page).
    settings = load_capacity_settings()
    planning = console.find_element("#definitions-capacity-planning").text
    assert f"A requisition takes {settings.hiring_lead_days} days" in planning
    assert f"No CSM gives or takes more than {settings.rebalance_max_moves_per_csm}" in planning
    # The bonus metrics, each with its definition, and the crediting rule.
    compensation = console.find_element("#definitions-compensation").text
    for metric in COMP_METRICS.values():
        assert f"{metric.label}: {metric.definition}" in compensation
    assert "owner on the day it closed" in compensation
    assert console.get_logs() == []


def test_404_page(console):
    console.wait_for_page(url=console.server_url + "/no/such/page")
    console.wait_for_contains_text(".not-found", "Page not found", timeout=30)


def test_missing_database_tells_how_to_build(dash_duo, tmp_path, use_db):
    use_db(tmp_path / "missing.duckdb")
    import app as console_app

    dash_duo.start_server(console_app.app)
    dash_duo.wait_for_contains_text(".page-body", "No data has been loaded yet", timeout=30)
    text = dash_duo.find_element("body").text
    assert "An administrator can load the demo data or import your company's exports" in text
    # Business users see neither where the server keeps its files nor a command to run.
    assert str(tmp_path) not in text and "missing.duckdb" not in text
    assert "make demo-data" not in text and "services.build" not in text


def test_drill_chips_show_and_remove_filters(console):
    console.wait_for_page(url=console.server_url + "/accounts?segment=SMB&band=red")
    console.wait_for_contains_text("#accounts-chips", "Health band: Red", timeout=30)
    assert "Segment: SMB" in console.find_element("#accounts-chips").text
    chip = console.driver.find_element(
        "xpath", "//*[@id='accounts-chips']/span[contains(., 'Health band: Red')]/a"
    )
    chip.click()
    console.wait_for_text_to_equal(
        "#accounts-count",
        formatting.count(_totals(Filters(segment=("SMB",)), AccountDrill())["accounts"]),
        timeout=20,
    )
    assert "band=red" not in console.driver.current_url


def test_account_360_marks_touchpoints_on_usage(console):
    db = get_database()
    snapshot = resolve_as_of(db, Filters()).date
    top = account_page(db, Filters(), AccountDrill(), snapshot, (("arr", "desc"),), 0, 1).iloc[0]
    console.wait_for_page(url=f"{console.server_url}/accounts/{top['account_id']}")
    console.wait_for_element("#account360-usage .scatter", timeout=30)
    legend = console.find_element("#account360-usage .legend").text
    assert "CSM touchpoint" in legend
