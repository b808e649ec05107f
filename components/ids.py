"""Every component id used across modules, in one place (page-local ids live in their page)."""

URL = "url"
FILTER_PREFIX = "filter-"  # + dimension key, e.g. "filter-segment"
FILTER_AS_OF = "filter-as_of"
FILTER_RESET = "filter-reset"
NAV_LINK = "nav-link"  # pattern-matching: {"type": NAV_LINK, "path": "/accounts"}
DATA_AS_OF = "data-as-of"


def filter_id(dimension: str) -> str:
    return FILTER_PREFIX + dimension


def nav_link(path: str) -> dict[str, str]:
    return {"type": NAV_LINK, "path": path}


# The query string as it is in the address bar, page state included (search text, sort,
# toggles: written clientside with history.replaceState, see assets/30_page_state.js).
PAGE_STATE = "page-state"
GLOBAL_MESSAGE = "global-message"  # where the app-level error handler puts its message

# Capacity: the what-if scenario on screen, {"inputs": ScenarioInputs.to_dict(), "workload":
# WorkloadParams.to_params()} or None while an input is invalid (written by the scenario tab,
# read by the save panel under it: pages/_capacity_scenario.py, pages/_capacity_saved.py).
CAPACITY_SCENARIO_INPUTS = "cp-scenario-inputs"
