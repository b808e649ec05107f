"""The what-if scenario tab of /capacity in the browser: an input changes the answer and lives
in the URL, the link reproduces the same answer after a reload, an invalid value is marked by
its field and never used, and the XLSX download holds the inputs and the quarterly table."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components import formatting
from components.capacity_scenario import field_id, message_id
from services.asof import resolve_as_of
from services.capacity_projection import ScenarioInputs, project, scenario_baseline
from services.db import get_database
from services.filters import Filters
from services.workload import WorkloadParams
from tests.browser.helpers import assert_clean_console, click, url_contains, wait

TAB = "/capacity?tab=scenario"
SENTENCE = "#cp-sc-sentence"

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def expected(params: dict[str, str], money=formatting.money):
    """The projection the services make of these URL parameters (what the page must show)."""
    db, filters = get_database(), Filters()
    day = resolve_as_of(db, filters).date
    workload, errors = WorkloadParams.from_params(params)
    inputs, input_errors = ScenarioInputs.from_params(params)
    assert not errors and not input_errors
    baseline = scenario_baseline(db, filters, day, workload)
    if money is None:
        return project(baseline, inputs, workload)
    return project(baseline, inputs, workload, money=money)


def sentence(duo) -> str:
    return duo.find_element(SENTENCE).text


def type_into(duo, key: str, text: str) -> None:
    """Replace a field's text and leave it (its value goes out after the typing pause)."""
    field = duo.find_element(f"#{field_id(key)}")
    click(duo, field)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.TAB)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def test_an_input_changes_the_answer_and_the_link_keeps_it(console):
    console.wait_for_page(url=console.server_url + TAB)
    default = expected({}).sentence
    wait(console, lambda d: sentence(console) == default, timeout=30)

    faster = expected({"g_smb": "20"})
    assert (
        faster.sentence != default and faster.total_requisitions > expected({}).total_requisitions
    )
    type_into(console, "g_smb", "20")
    url = url_contains(console, "g_smb=20")
    wait(console, lambda d: sentence(console) == faster.sentence)
    assert query(url)["tab"] == ["scenario"]

    # A second input travels too; the link reproduces the view after a reload.
    both = expected({"g_smb": "20", "lead": "120"})
    type_into(console, "lead", "120")
    url = url_contains(console, "lead=120")
    wait(console, lambda d: sentence(console) == both.sentence)
    console.driver.get(url)
    wait(console, lambda d: sentence(console) == both.sentence, timeout=30)
    assert console.find_element(f"#{field_id('g_smb')}").get_attribute("value") == "20"
    assert console.find_element(f"#{field_id('lead')}").get_attribute("value") == "120"
    # The chart marks the requisitions and the table shows every quarter.
    wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, "#cp-sc-graph .scatterlayer .trace"))
    rows = console.driver.find_elements(By.CSS_SELECTOR, "#cp-sc-reqs tbody tr")
    assert len(rows) == len(both.requisitions)
    assert_clean_console(console)


def test_an_invalid_value_is_marked_and_not_used(console):
    console.wait_for_page(url=console.server_url + TAB + "&g_smb=20")
    answer = expected({"g_smb": "20"}).sentence
    wait(console, lambda d: sentence(console) == answer, timeout=30)

    type_into(console, "g_smb", "-150")
    console.wait_for_contains_text(
        f"#{message_id('g_smb')}", "must be between -100% and 1,000% a quarter"
    )
    assert "is-invalid" in console.find_element(f"#{field_id('g_smb')}").get_attribute("class")
    console.wait_for_contains_text("#cp-sc-note", "Fix the marked input")
    assert sentence(console) == answer  # not recomputed with -150%
    assert query(console.driver.current_url)["g_smb"] == ["20"]  # nor written into the link

    type_into(console, "g_smb", "lots")
    console.wait_for_contains_text(f"#{message_id('g_smb')}", "'lots' is not a number")
    type_into(console, "g_smb", "20")
    type_into(console, "ramp", "30")
    console.wait_for_contains_text(f"#{message_id('ramp')}", "longer than the horizon")
    wait(console, lambda d: not d.find_element(By.ID, message_id("g_smb")).text)
    assert sentence(console) == answer

    # Fixed: the message goes and the answer follows the new value.
    type_into(console, "ramp", "6")
    six = expected({"g_smb": "20", "ramp": "6"}).sentence
    wait(console, lambda d: sentence(console) == six)
    assert console.find_element(f"#{message_id('ramp')}").text == ""
    assert console.find_element("#cp-sc-note").text == ""
    assert_clean_console(console)


def test_an_invalid_link_shows_the_message_by_the_field(console):
    console.wait_for_page(url=console.server_url + TAB + "&hz=15&ch_mm=abc")
    console.wait_for_contains_text(f"#{message_id('hz')}", "between 4 and 12 quarters", timeout=30)
    console.wait_for_contains_text(f"#{message_id('ch_mm')}", "'abc' is not a number")
    assert sentence(console) == ""
    assert_clean_console(console)


def test_the_xlsx_download_holds_the_inputs_and_the_quarters(console):
    params = {"g_smb": "12", "hz": "6", "cc_seg": "smb", "cc_arr": "15000", "cc_tier": "tech"}
    search = "&".join(f"{k}={v}" for k, v in params.items())
    console.wait_for_page(url=console.server_url + TAB + "&" + search)
    p = expected(params)
    wait(console, lambda d: sentence(console) == p.sentence, timeout=30)
    link = console.find_element("#cp-sc-xlsx")
    wait(console, lambda d: "g_smb=12" in (link.get_attribute("href") or ""))
    folder = Path(console.download_path)
    before = set(folder.glob("*.xlsx"))
    click(console, link)
    wait(console, lambda d: set(folder.glob("*.xlsx")) - before, timeout=30)
    (path,) = set(folder.glob("*.xlsx")) - before
    # The browser writes the file under its own name while downloading, then renames it.
    wait(console, lambda d: path.stat().st_size > 0 and not list(folder.glob("*.crdownload")))

    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Inputs", "Quarters"]
    inputs = {row[0]: row[1:] for row in book["Inputs"].iter_rows(min_row=2, values_only=True)}
    # The file's sentence gives money exactly ($1,650,000) where the page is compact ($1.7M).
    assert inputs["Answer"][0] == expected(params, money=None).sentence
    assert inputs["New logos a quarter, SMB"][0] == 12
    assert inputs["Horizon"][0] == 6
    assert inputs["Coverage change"][0].startswith("SMB customers under $15,000 ARR to tech-touch")
    quarters = book["Quarters"]
    assert quarters.freeze_panes == "B2"
    header = [c.value for c in quarters[1]]
    rows = list(quarters.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 6
    required = [r[header.index("Required FTE")] for r in rows]
    assert required == pytest.approx(list(p.quarters["required_fte"]))
    reqs = [r[header.index("Requisitions (hires needed by the quarter's end)")] for r in rows]
    assert reqs == list(p.quarters["requisitions_to_open"])
    assert quarters.cell(2, header.index("Required FTE") + 1).number_format == "#,##0.0"
    assert_clean_console(console)
