"""The exec's read-aloud view: definitions by keyboard, red always labelled, compact money, labels."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlparse

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components import formatting
from services.asof import resolve_as_of
from services.db import get_database
from services.filters import Filters
from services.health import band_mix
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.helpers import click_bar, url_contains, wait

COMPACT_MONEY = re.compile(r"^-?\$[\d.]+[KMB]?$")
SHOWN_DATE = re.compile(r"^\d{2} [A-Z][a-z]{2} \d{4}$")


def red_by_segment() -> dict[str, float]:
    db = get_database()
    mix = band_mix(db, Filters(), resolve_as_of(db, Filters()).date, "segment")
    return mix[mix.band == "red"].set_index("grp")["arr"].to_dict()


def test_kpi_definition_opens_by_keyboard_and_the_card_still_links(console):
    button = console.wait_for_element("#kpi-info-grr", timeout=30)
    console.driver.execute_script("arguments[0].focus()", button)
    assert console.driver.switch_to.active_element == button  # reachable: a focusable button
    ActionChains(console.driver).send_keys(Keys.ENTER).perform()
    console.wait_for_contains_text("#kpi-info-grr-popover", "Formula: GRR =", timeout=10)
    popover = console.find_element("#kpi-info-grr-popover")
    assert popover.is_displayed()
    assert "Share of the ARR held a year ago" in popover.text
    link = popover.find_element(By.LINK_TEXT, "All definitions")
    assert link.get_attribute("href").endswith("/definitions#definition-grr")
    assert urlparse(console.driver.current_url).path == "/"  # opening it did not navigate
    # The info button of a panel works the same way.
    console.find_element("#panel-info-health-band-mix").click()
    console.wait_for_contains_text("#panel-info-health-band-mix-popover", "Click a bar", timeout=10)
    # The card itself still links to its accounts.
    console.find_element("#kpi-card-pct_arr_red a").click()
    url_contains(console, "band=red")
    assert console.get_logs() == []


def test_band_mix_labels_every_red_bar_and_the_label_cell_drills(console):
    expected = {formatting.money(v) for v in red_by_segment().values()}
    console.wait_for_element("#portfolio-band-mix .trace.bars", timeout=30)
    wait(
        console,
        lambda d: (
            expected
            <= {
                a.text
                for a in d.find_elements(By.CSS_SELECTOR, "#portfolio-band-mix .annotation-text")
            }
        ),
    )
    # The label cell left of the baseline (trace 3) takes the click for the red bar.
    click_bar(console, "portfolio-band-mix", trace_index=3, point_index=0)
    params = parse_qs(urlparse(url_contains(console, "/accounts?")).query)
    assert params["band"] == ["red"] and len(params["segment"]) == 1
    assert console.get_logs() == []


def _texts(driver, selector: str) -> list[str]:
    """The shown text of every element matching `selector` (read at once: rows re-render)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim())",
        selector,
    )


def test_accounts_grid_shows_compact_money_dates_and_labels(console):
    console.wait_for_page(url=console.server_url + "/accounts")
    cells = "#accounts-grid .ag-center-cols-container .ag-row [col-id='{}']"

    # The first block of rows has loaded when a cell shows money; then every one shows it compact.
    wait(console, lambda d: any(t.startswith("$") for t in _texts(d, cells.format("arr"))), 30)
    money = _texts(console.driver, cells.format("arr"))
    assert money and all(COMPACT_MONEY.match(t) for t in money), money
    for column in ("next_renewal_date", "forecast_category", "coverage_tier", "lifecycle_stage"):
        console.driver.execute_script(
            "dash_ag_grid.getApi('accounts-grid').ensureColumnVisible(arguments[0])", column
        )
        wait(console, lambda d, c=column: d.find_elements(By.CSS_SELECTOR, cells.format(c)))
    text = {
        c: _texts(console.driver, cells.format(c))
        for c in ("next_renewal_date", "forecast_category", "coverage_tier", "lifecycle_stage")
    }
    assert all(SHOWN_DATE.match(t) or t == "–" for t in text["next_renewal_date"])
    assert set(text["coverage_tier"]) <= {"Named", "Pooled", "Tech-touch"}
    assert set(text["forecast_category"]) <= {"Commit", "Probable", "At risk", "Churn", "–"}
    assert set(text["lifecycle_stage"]) <= {"Onboarding", "Adoption", "Value", "Renewal", "–"}
    assert console.get_logs() == []


def _charts_fit(driver) -> bool:
    """Every chart has redrawn at its container's width after a window resize."""
    return driver.execute_script(
        "return [...document.querySelectorAll('.js-plotly-plot')].every(p => {"
        " const svg = p.querySelector('.main-svg');"
        " return svg && Math.abs(svg.getBoundingClientRect().width - p.clientWidth) < 2; });"
    )


def _cut_cells(driver, grid_id: str) -> list[str]:
    """Texts of the cells in a grid whose content is wider than the cell (shown with an ellipsis)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".filter(c => { const v = c.querySelector('.ag-cell-value') || c;"
        " return v.scrollWidth > v.clientWidth + 1; }).map(c => c.textContent);",
        f"#{grid_id} .ag-cell",
    )


def test_portfolio_fits_at_1440_and_1280(console):
    console.wait_for_element("#portfolio-owner-grid .ag-row", timeout=30)
    console.wait_for_element("#portfolio-movers-grid .ag-row", timeout=30)
    console.wait_for_element("#portfolio-health-model-link", timeout=30)
    try:
        for width in (1440, 1280):
            console.driver.set_window_size(width, 1800)
            wait(console, lambda d, w=width: d.execute_script("return window.innerWidth") <= w)
            wait(console, _charts_fit)
            if os.environ.get("CSOPS_SCREENSHOTS") == "1":
                SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
                console.driver.save_screenshot(str(SCREENSHOT_DIR / f"portfolio-{width}.png"))
            for grid in ("portfolio-owner-grid", "portfolio-movers-grid"):
                assert not _cut_cells(console.driver, grid), (
                    width,
                    _cut_cells(console.driver, grid),
                )
    finally:
        console.driver.set_window_size(1400, 1000)
    assert console.get_logs() == []
