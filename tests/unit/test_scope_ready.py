"""Every service that reads accounts takes the Filters it applies, so a viewer's scope can be
ANDed into all of them (ARCHITECTURE §2). A new service that bypasses Filters fails here."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import services
from services.filters import Filters

# Build-time code works on the whole dataset by design; it runs before any viewer exists.
BUILD_MODULES = {"services.build", "services.health_model"}
# Functions that read only the weekly snapshot grid (dates), never an account.
DATE_ONLY = {
    "services.asof.snapshot_dates",
    "services.asof.shift_to_grid",
    "services.asof.earliest_complete_as_of",
    "services.health.previous_snapshot",
}
# Company-wide by design, never a list of accounts: the roster of people (who reports to whom,
# needed to sum a manager's team whatever the view shows), aggregate rates that set targets and
# project expansion (like the renewal model, fitted on the whole company), and an issued
# statement's recomputation, which applies the scope the statement recorded.
COMPANY_WIDE = {
    "services.comp_actuals_people.csm_roster",
    "services.comp_actuals_sql.win_rate",
    "services.comp_targets.cell_history",
    "services.comp_statement.recompute",
    "services.comp_statement.live_check",
}
ACCOUNT_TABLES = re.compile(
    r"\b(account_dim|accounts|contracts|renewals|expansions|usage_daily|tickets|nps_responses|"
    r"touchpoints|health_snapshots|health_cube|retention_cube|renewal_scores|csms)\b"
)


def service_functions():
    for info in pkgutil.iter_modules(services.__path__):
        module = importlib.import_module(f"services.{info.name}")
        if module.__name__ in BUILD_MODULES:
            continue
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", inspect.unwrap(fn)


def reads_data(fn) -> bool:
    params = list(inspect.signature(fn).parameters)
    return bool(params) and params[0] == "db"


def test_every_service_that_reads_data_takes_filters():
    checked, missing = [], []
    for qualified, fn in service_functions():
        if not reads_data(fn) or qualified in DATE_ONLY | COMPANY_WIDE:
            continue
        checked.append(qualified)
        parameter = inspect.signature(fn).parameters.get("filters")
        if parameter is None or parameter.annotation not in (Filters, "Filters"):
            missing.append(qualified)
    assert not missing, f"services reading data without Filters: {missing}"
    assert len(checked) >= 20  # the walk found the services (it would pass vacuously otherwise)


def test_date_only_functions_read_no_account_table():
    found = dict(service_functions())
    for qualified in DATE_ONLY:
        assert qualified in found, f"{qualified} is gone: drop it from DATE_ONLY"
        assert not ACCOUNT_TABLES.search(inspect.getsource(found[qualified])), qualified
