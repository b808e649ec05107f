"""The rebalancing tab of /capacity in the browser: the sentence and the moves are the
services' plan, a lower cap per CSM changes them and the URL (and a reload keeps them), Keep
keeps an account with its owner, a bad value is marked by its field, the CSV download holds the
moves, and an account opens Account 360."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.keys import Keys

from components.capacity_rebalance import FREEZE, MOVES, message_id, plan_sentence
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.rebalancing import RebalanceOptions
from services.rebalancing_inputs import rebalance_plan
from services.workload import WorkloadParams
from tests.browser.helpers import assert_clean_console, click, url_contains, wait

TAB = "/capacity?tab=rebalance"
SENTENCE = "#cr-sentence"
GRID = "#cr-moves-grid"

pytestmark = pytest.mark.usefixtures("capture_console_errors")


def plan_for(params: dict):
    """The plan the services make of these URL parameters (what the page must show)."""
    db, filters = get_database(), Filters()
    day = resolve_as_of(db, filters).date
    workload, errors = WorkloadParams.from_params(params)
    options, option_errors = RebalanceOptions.from_params(params)
    assert not errors and not option_errors
    return rebalance_plan(db, filters, day, workload, options), workload


def a_view_where_the_cap_matters() -> tuple[dict, int]:
    """Workload lines (URL parameters) under which one move per CSM gives another plan than the
    default cap, and that lower cap: found on the demo data, never assumed."""
    for base in ({}, {"over": "100"}, {"over": "95"}):
        plan, _ = plan_for(base)
        for cap in (1, 2):
            capped, _ = plan_for({**base, "rbmoves": str(cap)})
            if set(capped.moves["account_id"]) != set(plan.moves["account_id"]):
                return base, cap
    raise AssertionError("no view of the demo data where the cap changes the plan")


def shown_moves(duo) -> list[str]:
    """Every row of the moves table, drawn or not (the grid draws only what it shows)."""
    ids = duo.driver.execute_script(
        "try { const ids = []; dash_ag_grid.getApi('cr-moves-grid').forEachNode("
        "n => ids.push(n.id)); return ids; } catch (e) { return null; }"
    )
    return sorted(ids) if ids is not None else ["(not ready)"]


def wait_for_plan(duo, params: dict, timeout: int = 30):
    """Until the page shows the services' plan of `params`: its sentence and its moves."""
    plan, workload = plan_for(params)
    sentence, expected = plan_sentence(plan, workload), sorted(plan.moves["account_id"])
    try:
        wait(duo, lambda d: duo.find_element(SENTENCE).text == sentence, timeout)
        wait(duo, lambda d: shown_moves(duo) == expected, timeout)
    except TimeoutException:  # say what differs
        assert (duo.find_element(SENTENCE).text, shown_moves(duo)) == (sentence, expected)
        raise
    return plan


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def type_into(duo, field_id: str, text: str) -> None:
    field = duo.find_element(f"#{field_id}")
    click(duo, field)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.TAB)


def test_the_tab_shows_the_plan(console):
    console.wait_for_page(url=console.server_url + TAB)
    plan = wait_for_plan(console, {})
    assert plan.over_before > 0 and len(plan.moves)  # the demo has over-loaded books
    assert console.find_element("#cr-tile-moves").text == str(len(plan.moves))
    first = plan.moves.iloc[0]
    cell = console.find_element(f"{GRID} .ag-row[row-id='{first['account_id']}'] [col-id='name']")
    assert cell.text == first["name"]
    assert "greedy" in console.find_element("#cr-compare").text.lower()
    assert_clean_console(console)


def test_a_lower_cap_changes_the_moves_and_the_link(console):
    base, cap = a_view_where_the_cap_matters()
    console.wait_for_page(url=console.server_url + TAB + "&" + urlencode(base))
    wait_for_plan(console, base)
    type_into(console, MOVES, str(cap))
    url_contains(console, f"rbmoves={cap}")
    capped = wait_for_plan(console, {**base, "rbmoves": str(cap)})
    assert query(console.driver.current_url).get("over") == ([base["over"]] if base else None)
    # The link reproduces the view.
    console.driver.refresh()
    wait_for_plan(console, {**base, "rbmoves": str(cap)})
    # Keep: the first move's account stays with its owner, and the link says so.
    kept = capped.moves.iloc[0]["account_id"]
    click(console, console.find_element(f"{GRID} .ag-row[row-id='{kept}'] [col-id='keep']"))
    url_contains(console, f"rbkeep={kept}")
    after = wait_for_plan(console, {**base, "rbmoves": str(cap), "rbkeep": kept})
    assert kept not in set(after.moves["account_id"])
    assert_clean_console(console)


def test_a_bad_value_is_marked_by_its_field_and_not_used(console):
    console.wait_for_page(url=console.server_url + TAB)
    plan = wait_for_plan(console, {})
    type_into(console, FREEZE, "-3")
    console.wait_for_contains_text(f"#{message_id(FREEZE)}", "from 0 to 730", timeout=20)
    assert "rbfreeze" not in query(console.driver.current_url)
    assert shown_moves(console) == sorted(plan.moves["account_id"])  # the last good plan
    assert_clean_console(console)


def test_the_csv_download_holds_the_moves(console):
    console.wait_for_page(url=console.server_url + TAB + "&rbfreeze=0")
    plan = wait_for_plan(console, {"rbfreeze": "0"})
    link = console.find_element("#cr-csv")
    wait(console, lambda d: "rbfreeze=0" in (link.get_attribute("href") or ""))
    folder = Path(console.download_path)
    before = set(folder.glob("*.csv"))
    click(console, link)
    wait(console, lambda d: set(folder.glob("*.csv")) - before, timeout=30)
    (path,) = set(folder.glob("*.csv")) - before
    wait(console, lambda d: path.stat().st_size > 0 and not list(folder.glob("*.crdownload")))
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    got = {r["Account ID"]: (r["From CSM ID"], r["To CSM ID"], r["To CSM"]) for r in rows}
    want = {  # an account without an owner has an empty From CSM ID
        m.account_id: (
            m.from_csm_id if isinstance(m.from_csm_id, str) else "",
            m.to_csm_id,
            m.to_name,
        )
        for m in plan.moves.itertuples()
    }
    assert len(want) == len(plan.moves) > 0
    assert got == want
    assert_clean_console(console)


def test_an_account_opens_account_360(console):
    console.wait_for_page(url=console.server_url + TAB)
    plan = wait_for_plan(console, {})
    first = plan.moves.iloc[0]
    cell = console.find_element(f"{GRID} .ag-row[row-id='{first['account_id']}'] [col-id='name']")
    click(console, cell)
    url_contains(console, f"/accounts/{first['account_id']}")
    console.wait_for_contains_text(".page-header h1", first["name"], timeout=20)
    assert_clean_console(console)
