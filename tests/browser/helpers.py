"""Small browser helpers for Dash 4 controls and plotly charts (no sleeps: explicit waits)."""

from __future__ import annotations

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def wait(duo, condition, timeout: int = 20):
    """Until `condition` holds; an element redrawn under it (stale) is looked up again."""
    return WebDriverWait(
        duo.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition)


def choose(duo, dropdown_id: str, label: str) -> None:
    """Pick one option of a (multi) dcc.Dropdown by its label, then close it.

    Filter options carry a count ("SMB (1,204)"): `label` matches the text before it too.
    """
    duo.find_element(f"#{dropdown_id}").click()
    text = "normalize-space(.)"
    xpath = f"//*[@role='option'][{text}='{label}' or starts-with({text}, '{label} (')]"
    option = wait(duo, EC.element_to_be_clickable((By.XPATH, xpath)))
    option.click()
    duo.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def url_contains(duo, text: str, timeout: int = 20) -> str:
    wait(duo, lambda d: text in d.current_url, timeout)
    return duo.driver.current_url


def click_bar(duo, graph_id: str, trace_index: int, point_index: int) -> None:
    """Hover then click one bar of a plotly bar chart (plotly needs the hover to emit the click)."""
    selector = f"#{graph_id} .trace.bars"
    wait(duo, lambda d: len(d.find_elements(By.CSS_SELECTOR, selector)) > trace_index)
    trace = duo.driver.find_elements(By.CSS_SELECTOR, selector)[trace_index]
    bar = trace.find_elements(By.CSS_SELECTOR, ".point path")[point_index]
    ActionChains(duo.driver).move_to_element(bar).perform()
    # plotly emits the click for the point it hovers: wait until the hover label is drawn.
    wait(duo, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{graph_id} .hoverlayer .hovertext"))
    ActionChains(duo.driver).click().perform()


def text_of(duo, selector: str) -> str:
    return duo.find_element(selector).text


def click(duo, element) -> None:
    """Scroll `element` to the middle of the window, then click it (a fixed bar or the window's
    edge must not take the click)."""
    duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
    )
    wait(duo, EC.element_to_be_clickable(element))
    element.click()


# console.error calls kept as text (selenium's log shows only the renderer's "Object"); installed
# before any page script by the `capture_console_errors` fixture (tests/browser/conftest.py).
CONSOLE_ERRORS_SCRIPT = """
window.__csopsErrors = [];
const original = console.error;
console.error = function (...args) {
  window.__csopsErrors.push(args.map(a => typeof a === 'string' ? a :
    (a && (a.message || '') + ' ' + (a.html || ''))).join(' '));
  return original.apply(console, args);
};
"""


def assert_clean_console(duo) -> None:
    """No error in the browser console: none logged by the browser itself, and no
    console.error call (each is also in `window.__csopsErrors`, as readable text)."""
    logs = duo.get_logs()
    assert [e for e in logs if e.get("source") != "console-api"] == []
    assert duo.driver.execute_script("return window.__csopsErrors || []") == []
