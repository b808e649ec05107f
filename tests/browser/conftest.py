"""Browser-test fixtures: one app server and one browser per test module, on the demo database."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(items):
    """Every test under tests/browser drives Chromium: mark it so `-m "not browser"` skips it."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    """A port no other process listens on, so parallel runs never collide."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def console_module(request, demo_db_path, tmp_path_factory):
    """The app served once per module on the demo database, with one headless browser."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSOPS_DB", str(demo_db_path))
        mp.setenv("CSOPS_CACHE_TYPE", "null")
        import app as console_app

        with ThreadedRunner() as server:
            server.start(console_app.app, port=free_port())
            with DashComposite(
                server=server,
                browser="Chrome",
                headless=True,
                options=request.config.hook.pytest_setup_options(),
                download_path=str(tmp_path_factory.mktemp("download")),
            ) as duo:
                duo.server_url = server.url  # what DashComposite.start_server would set
                yield duo


@pytest.fixture
def console(console_module, demo_db_path, use_db):
    """The shared app and browser, at the Portfolio page with an empty console log."""
    use_db(demo_db_path)
    console_module.wait_for_page(url=console_module.server_url + "/")
    console_module.get_logs()  # what earlier tests left in the log is theirs, not this test's
    return console_module


@pytest.fixture(scope="module")
def capture_console_errors(console_module):
    """Keeps every console.error of this module's pages as text (see helpers.assert_clean_console)."""
    from tests.browser.helpers import CONSOLE_ERRORS_SCRIPT

    console_module.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": CONSOLE_ERRORS_SCRIPT}
    )
