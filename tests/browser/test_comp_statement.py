"""The Statements tab of /compensation in the browser: picking a person draws their statement
(its link keeps the person), the XLSX download holds what the page shows, the printable version
leaves out the console's chrome, and an issued statement's link shows it as issued."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from selenium.webdriver.common.by import By

from services.asof import resolve_as_of
from services.comp_periods import period_of
from services.comp_plan import default_plan, plan_to_payload
from services.comp_plan_store import plan_for_view, save_plan
from services.comp_statement import LINES_SHEET, SUMMARY_SHEET, build_statement, people
from services.db import get_database
from services.filters import Filters
from tests.browser.helpers import assert_clean_console, choose, click, url_contains, wait

TAB = "/compensation?tab=statement"
METRICS = "#cm-statement-metrics"

ISSUE = "#cm-statement-issue"
REFUSAL = "#cm-statement-issue-refusal"

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def data_day():
    return resolve_as_of(get_database(), Filters()).date


@pytest.fixture
def store(monkeypatch, tmp_path):
    """An empty app-state store for one test (the app in this process reads it per call)."""
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "app_state.sqlite"))


def save_default(item_id=None, expected_version=None, quarter=None):
    """The default plan saved, in force from the start of `quarter` (the data's by default)."""
    day = data_day()
    start = (quarter or period_of(day, "quarter")).start
    payload = plan_to_payload(default_plan(start))
    return save_plan(item_id, "Statement plan", payload, "test", expected_version, day)


@pytest.fixture
def plan_in_force(store):
    """A saved plan whose only version is in force for the data's quarter."""
    return save_default()


def expected(csm_id: str | None = None):
    """The statement the services make for the default view (what the page must show)."""
    db = get_database()
    day = resolve_as_of(db, Filters()).date
    view = plan_for_view({}, day)
    if csm_id is None:  # the first person with something counted, else the first one
        choices = people(db, Filters(), view, day)
        for person, _ in choices:
            statement = build_statement(db, Filters(), view, person, day)
            if statement.lines:
                return statement
        csm_id = choices[0][0]
    return build_statement(db, Filters(), view, csm_id, day)


def money(value: float) -> str:
    return f"${value:,.2f}"


def test_picking_a_person_draws_their_statement(console):
    s = expected()
    console.wait_for_page(url=console.server_url + TAB)
    console.wait_for_text_to_equal(".cm-statement-picker label", "Person", timeout=30)
    choose(console, "cm-statement-person", s.person)
    url_contains(console, f"csm={s.csm_id}", timeout=30)
    console.wait_for_text_to_equal("#cm-statement-person-name", s.person, timeout=30)
    table = console.find_element(METRICS).text
    for m in s.metrics:
        assert m.label in table
    console.wait_for_text_to_equal("#cm-statement-total-payout", money(s.total_payout))
    lines = console.driver.find_elements(By.CSS_SELECTOR, "#cm-statement-lines tbody tr")
    assert len(lines) == len(s.lines)
    assert_clean_console(console)


def test_the_xlsx_download_holds_the_statement(console):
    s = expected()
    console.wait_for_page(url=console.server_url + f"{TAB}&csm={s.csm_id}")
    link = console.find_element("#cm-statement-xlsx")
    wait(console, lambda d: f"csm={s.csm_id}" in (link.get_attribute("href") or ""))
    folder = Path(console.download_path)
    before = set(folder.glob("*.xlsx"))
    click(console, link)
    wait(console, lambda d: set(folder.glob("*.xlsx")) - before, timeout=30)
    (path,) = set(folder.glob("*.xlsx")) - before
    wait(console, lambda d: path.stat().st_size > 0 and not list(folder.glob("*.crdownload")))

    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [SUMMARY_SHEET, LINES_SHEET]
    rows = list(book[SUMMARY_SHEET].iter_rows(values_only=True))
    facts = {r[0]: r[2] for r in rows[1:12] if r[0]}
    assert facts["Person"] == f"{s.person} ({s.csm_id})"
    assert facts["Data build"] == s.build_id
    assert facts["Plan"] == s.plan_name
    at = next(i for i, r in enumerate(rows) if r[0] == "Metric")
    header = rows[at]
    payout = header.index("Payout to date ($)")
    by_label = {r[0]: r for r in rows[at + 1 :] if r[0]}
    for m in s.metrics:
        assert by_label[m.label][payout] == pytest.approx(m.payout, abs=0.005)
    assert by_label["Total"][payout] == pytest.approx(s.total_payout, abs=0.005)
    lines = list(book[LINES_SHEET].iter_rows(min_row=2, values_only=True))
    assert sorted(r[1] for r in lines) == sorted(c.id for c in s.lines)
    assert_clean_console(console)


def test_the_printable_version_is_the_statement_alone(console):
    s = expected()
    console.wait_for_page(url=console.server_url + f"{TAB}&csm={s.csm_id}")
    click(console, console.find_element("#cm-statement-print"))
    url_contains(console, "print=1")
    console.wait_for_text_to_equal("#cm-statement-person-name", s.person, timeout=30)
    navbar = console.driver.find_element(By.CSS_SELECTOR, ".navbar")
    wait(console, lambda d: not navbar.is_displayed())
    assert not console.find_element("#filter-bar").is_displayed()
    assert not console.find_element("#cm-statement-issue").is_displayed()
    assert console.find_element("#cm-statement-print-now").is_displayed()
    assert_clean_console(console)


def test_an_issued_statement_opens_from_its_link_as_issued(console, plan_in_force):
    s = expected()
    assert s.plan_item_id == plan_in_force.item_id and s.in_force
    console.wait_for_page(url=console.server_url + f"{TAB}&csm={s.csm_id}")
    click(console, console.find_element("#cm-statement-issue"))
    link = wait(console, lambda d: d.find_element(By.ID, "cm-statement-issued-link"), timeout=30)
    href = link.get_attribute("href")
    assert "tab=statement&statement=" in href
    click(console, link)
    url_contains(console, "statement=")
    console.wait_for_contains_text(
        "#cm-statement-issued-note", f"on data build {s.build_id}", timeout=30
    )
    assert console.find_element("#cm-statement-issued-note").text.startswith("Issued ")
    assert "live numbers are the same" in console.find_element("#cm-statement-live-note").text
    assert "Yes: the version in force" in console.find_element("#cm-statement-facts").text
    console.wait_for_text_to_equal("#cm-statement-total-payout", money(s.total_payout))
    xlsx = console.find_element("#cm-statement-xlsx").get_attribute("href")
    assert "/export/compensation/statement.xlsx?statement=" in xlsx
    assert_clean_console(console)


def test_a_link_to_no_issued_statement_says_so(console):
    console.wait_for_page(url=console.server_url + f"{TAB}&statement=nope")
    console.wait_for_contains_text(".error-state", "no issued statement", timeout=30)
    assert_clean_console(console)


def test_a_statement_under_a_version_not_in_force_cannot_be_issued(console, store):
    s = expected()  # no plan saved: the default plan, never in force
    console.wait_for_page(url=console.server_url + f"{TAB}&csm={s.csm_id}")
    console.wait_for_contains_text(REFUSAL, "saved plan only", timeout=30)
    assert not console.find_element(ISSUE).is_enabled()
    console.wait_for_text_to_equal("#cm-statement-total-payout", money(s.total_payout))

    # Version 2 takes effect next quarter: pinned for this quarter, it is only a preview.
    quarter = period_of(data_day(), "quarter")
    first = save_default()
    later = save_default(first.item_id, first.version, quarter.next())
    pinned = f"&plan={first.item_id}&version={later.version}&period={quarter.key}"
    console.wait_for_page(url=console.server_url + f"{TAB}&csm={s.csm_id}{pinned}")
    console.wait_for_contains_text(
        REFUSAL, f"not the version in force for {quarter.label()}", timeout=30
    )
    assert not console.find_element(ISSUE).is_enabled()
    facts = console.find_element("#cm-statement-facts").text
    assert "version in force for the period" in facts.lower()  # the label is set in capitals
    assert "No: a preview" in facts

    # The version in force (no version in the link) can be issued.
    console.wait_for_page(url=console.server_url + f"{TAB}&csm={s.csm_id}&plan={first.item_id}")
    console.wait_for_text_to_equal("#cm-statement-person-name", s.person, timeout=30)
    wait(console, lambda d: d.find_element(By.CSS_SELECTOR, ISSUE).is_enabled())
    assert not console.driver.find_elements(By.CSS_SELECTOR, REFUSAL)
    assert_clean_console(console)
