"""Shared test set-up: headless Chromium options, the demo database, a per-test cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from selenium.webdriver.chrome.options import Options

from bench.page_settle import CHROME_FLAGS
from services import cache

ROOT = Path(__file__).resolve().parent.parent
# A helper building with changed sources can point this elsewhere (CSOPS_TEST_DEMO_DIR).
DEMO_CACHE = Path(os.environ.get("CSOPS_TEST_DEMO_DIR", ROOT / ".cache" / "test-demo"))


def pytest_setup_options():
    """Chromium flags for root, offline, headless; a window big enough for dashboards."""
    options = Options()
    for flag in (
        *CHROME_FLAGS,
        f"--user-data-dir={tempfile.mkdtemp(prefix='csops-chrome-')}",
    ):
        options.add_argument(flag)
    return options


@pytest.fixture(scope="session")
def demo_db_path() -> Path:
    """The default 5,000-account demo database, built once and reused while its sources are unchanged."""
    from data.generate_demo import DemoGenerator, DemoSpec
    from services.build import build

    DEMO_CACHE.mkdir(parents=True, exist_ok=True)
    target = DEMO_CACHE / "csops.duckdb"
    stamp = DEMO_CACHE / "fingerprint"
    from services.build import source_fingerprint

    fingerprint = source_fingerprint()
    if not target.exists() or not stamp.exists() or stamp.read_text() != fingerprint:
        DemoGenerator(DemoSpec(accounts=5000)).write(DEMO_CACHE / "source")
        build(DEMO_CACHE / "source", target)
        stamp.write_text(fingerprint)
    return target


@pytest.fixture
def use_db(monkeypatch):
    """Point the app's services at a database file for one test (no result cache)."""

    def _use(path: Path | str) -> None:
        monkeypatch.setenv("CSOPS_DB", str(path))
        monkeypatch.setenv("CSOPS_CACHE_TYPE", "null")
        cache.configure()

    return _use


@pytest.fixture(autouse=True)
def _no_cache_by_default(monkeypatch):
    monkeypatch.setenv("CSOPS_CACHE_TYPE", "null")
    cache.configure()
    yield
    cache.configure("null")


if os.environ.get("CSOPS_DB") is None:
    os.environ["CSOPS_DB"] = str(DEMO_CACHE / "csops.duckdb")

# No test writes to the real app-state store (saved scenarios): the session gets a file of its
# own, in a fresh folder; a test needing an empty store points CSOPS_APP_STATE at its tmp_path.
os.environ["CSOPS_APP_STATE"] = str(
    Path(tempfile.mkdtemp(prefix="csops-state-")) / "app_state.sqlite"
)
