"""Browser-test helpers: the app on the demo database, waits, screenshots of what the user sees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def console(dash_duo, demo_db_path, use_db):
    """Start the app on the demo database; returns dash_duo."""
    use_db(demo_db_path)
    import app as console_app

    dash_duo.start_server(console_app.app)
    return dash_duo


def screenshot(dash_duo, name: str) -> None:
    """Save a PNG of the current page into docs/screenshots when CSOPS_SCREENSHOTS=1."""
    if os.environ.get("CSOPS_SCREENSHOTS") == "1":
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        dash_duo.driver.set_window_size(1400, 1800)
        dash_duo.driver.save_screenshot(str(SCREENSHOT_DIR / f"{name}.png"))
        dash_duo.driver.set_window_size(1400, 1000)
