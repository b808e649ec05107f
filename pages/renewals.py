"""Renewals (/renewals): what is up for renewal, what is at risk and why, what we will keep,
how good the calls are, and where to expand. One section per tab; the tab is in the URL
(`tab=`), so every view is a link, and only the chosen tab's content is built and queried.

Each tab lives in its own module (pages/_renewals_<tab>.py): `layout(data, filters, as_of,
params)` builds its content and the module registers its own callbacks.
"""

from __future__ import annotations

import logging
from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.shell import page_header
from components.states import error_state, notice
from pages import (
    _renewals_forecast,
    _renewals_hygiene,
    _renewals_pipeline,
    _renewals_trend,
    _renewals_upsell,
)
from pages._shared import page_param, view_state, with_page_param
from services.asof import AsOf
from services.filters import Filters

log = logging.getLogger(__name__)

dash.register_page(
    __name__, path="/renewals", name="Renewals", title="Renewals · CS Ops Console", order=2
)

STORE = "rn-view"  # every tab's callbacks read the view (filters + requested as-of) from here
# tab key -> (label, module). The first is the default.
TABS = {
    "pipeline": ("Pipeline & risk", _renewals_pipeline),
    "forecast": ("Forecast & accuracy", _renewals_forecast),
    "hygiene": ("Hygiene", _renewals_hygiene),
    "retention": ("Retention trend", _renewals_trend),
    "upsell": ("Upsell", _renewals_upsell),
}
DEFAULT_TAB = "pipeline"


def tab_links(active: str, search: str) -> dbc.Nav:
    """The tabs as links: each keeps the filters (and as-of) of the current view."""
    return dbc.Nav(
        [
            dbc.NavItem(
                dcc.Link(
                    label,
                    href="/renewals" + _with_tab(search, key),
                    className="nav-link" + (" active" if key == active else ""),
                    id=f"rn-tab-{key}",
                )
            )
            for key, (label, _) in TABS.items()
        ],
        pills=True,
        className="renewal-tabs mb-3",
    )


def _with_tab(search: str, tab: str) -> str:
    return with_page_param(search, "tab", tab, DEFAULT_TAB)


def all_tabs_layout() -> html.Div:
    """Every tab's components, for Dash's validation layout: a visit builds only the chosen
    tab, and Dash checks each callback's ids against the pages' layouts built without
    parameters (the default tab alone), so the other tabs' callbacks would be reported
    missing in the browser's console on every page. Built on a placeholder view: only the
    ids count, never shown."""
    placeholder = AsOf(date.today(), None, date.today())
    tabs = []
    for key, (_, module) in TABS.items():
        try:
            tabs.append(module.layout({"search": ""}, Filters(), placeholder, {}))
        except Exception:  # a tab that cannot build here (no database yet) is left out
            log.warning("validation layout: tab %s left out", key, exc_info=True)
    return html.Div(tabs)


def layout(**params):
    data, filters, as_of = view_state(params)
    tab = page_param(params, "tab", tuple(TABS), DEFAULT_TAB)
    label, module = TABS[tab]
    if "error" in data:
        body = error_state(data["error"])
    else:
        body = html.Div(
            [notice(as_of.notice), module.layout(data, filters, as_of, params)],
            id=f"rn-body-{tab}",
        )
    search = data.get("search", "")
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            page_header("Renewals", f"As of {as_of.date:%d %b %Y}" if as_of else None),
            tab_links(tab, search),
            body,
        ]
    )
