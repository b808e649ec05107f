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
from urllib.parse import urlencode

import dash
from dash import dcc, html

from components.shell import page_header
from components.states import error_state, notice
from pages import _capacity_books, _capacity_rebalance, _capacity_saved, _capacity_scenario
from pages._shared import page_param, view_state
from pages._tabbed import TabbedPage
from services.errors import ServiceError

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


def _search(params: dict[str, Any]) -> str:
    """The view's whole query string: tab links keep the what-if inputs too."""
    kept = {k: v for k, v in params.items() if k != "tab"}
    return "?" + urlencode(kept, doseq=True) if kept else ""


def layout(**params):
    data, filters, as_of = view_state(params)
    tab = page_param(params, "tab", tuple(PAGE.tabs), PAGE.default)
    _, module = PAGE.tabs[tab]
    if "error" in data:
        body = error_state(data["error"])
    else:
        try:
            if tab == "scenario":
                params = with_saved_scenario(params)
            parts = [notice(as_of.notice)]
            if tab == "scenario":  # which saved scenario this is, above its answer
                parts.append(_capacity_saved.save_panel(data, filters, as_of, params))
            parts.append(module.layout(data, filters, as_of, params))
            body = html.Div(parts, id=f"cp-body-{tab}")
        except ServiceError as exc:  # e.g. a scenario link that does not exist
            body = error_state(str(exc))
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            page_header("Capacity", f"As of {as_of.date:%d %b %Y}" if as_of else None),
            PAGE.links(tab, _search(params) if "error" not in data else ""),
            body,
        ]
    )
