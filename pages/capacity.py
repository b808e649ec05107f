"""Capacity (/capacity): books of business per CSM against the workload model, what-if hiring
scenarios that are saved, compared and shared, and optimal rebalancing. One section per tab;
the tab is in the URL (`tab=`), and so is every what-if input (the workload model's and the
scenario's), so every view is a link.

A saved scenario's link is `?tab=scenario&scenario=<id>` (optionally `&version=<n>`): its
saved inputs fill the scenario, and any input also in the URL overrides the saved one (that is
how an opened scenario is changed before being saved again).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from pages import _capacity_books, _capacity_rebalance, _capacity_saved, _capacity_scenario
from pages._tabbed import TabbedPage

dash.register_page(
    __name__, path="/capacity", name="Capacity", title="Capacity · CS Ops Console", order=3
)

STORE = "cp-view"  # every tab's callbacks read the view (filters + requested as-of) from here
PAGE = TabbedPage(
    "/capacity",
    {
        "books": ("Books & workload", _capacity_books),
        "scenario": ("What-if scenario", _capacity_scenario),
        "saved": ("Saved scenarios", _capacity_saved),
        "rebalance": ("Rebalancing", _capacity_rebalance),
    },
    "cp",
)
PAGE.links_follow_the_url()


def _scenario_extras(tab: str) -> Any:
    return (
        html.Div()
        if tab != "scenario"
        else _capacity_saved.save_panel({"search": ""}, None, None, {})
    )


def all_tabs_layout() -> html.Div:
    return PAGE.all_tabs_layout(_scenario_extras)


def with_saved_scenario(params: dict[str, Any]) -> dict[str, Any]:
    """The URL's parameters over the saved scenario's inputs, when the URL names one."""
    if not params.get("scenario"):
        return params
    from services.capacity_scenarios import scenario_params  # the store is optional here

    return {**scenario_params(params["scenario"], params.get("version")), **params}


def _tab_body(tab, module, data, filters, as_of, params) -> list:
    """The scenario tab opens a saved scenario's inputs, under which saved scenario it is."""
    if tab != "scenario":
        return [module.layout(data, filters, as_of, params)]
    params = with_saved_scenario(params)
    return [
        _capacity_saved.save_panel(data, filters, as_of, params),
        module.layout(data, filters, as_of, params),
    ]


def layout(**params):
    return PAGE.layout(params, "Capacity", STORE, _tab_body, keep_page_params=True)
