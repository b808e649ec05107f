"""Pages made of tabs (Renewals, Capacity): the tab is a URL parameter (`tab=`), each tab is a
module with `layout(data, filters, as_of, params)` that registers its own callbacks, and only
the chosen tab is built and queried. Tabs are links that keep the view's filters and as-of.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import ModuleType
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, clientside_callback, dcc, html

from components import ids
from pages._shared import with_page_param
from services.asof import AsOf
from services.filters import Filters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TabbedPage:
    """A page's path, its tabs (key -> (label, module); the first is the default) and the
    prefix of its tab link ids (`<prefix>-tab-<key>`)."""

    path: str
    tabs: Mapping[str, tuple[str, ModuleType]]
    id_prefix: str

    @property
    def default(self) -> str:
        return next(iter(self.tabs))

    def href(self, search: str, tab: str) -> str:
        return self.path + with_page_param(search, "tab", tab, self.default)

    def links(self, active: str, search: str) -> dbc.Nav:
        """The tabs as links: each keeps the filters (and as-of) of the current view."""
        return dbc.Nav(
            [
                dbc.NavItem(
                    dcc.Link(
                        label,
                        href=self.href(search, key),
                        className="nav-link" + (" active" if key == active else ""),
                        id=f"{self.id_prefix}-tab-{key}",
                    )
                )
                for key, (label, _) in self.tabs.items()
            ],
            pills=True,
            className="renewal-tabs mb-3",
        )

    def links_follow_the_url(self) -> None:
        """Register: the tab links follow the address bar, so a what-if typed on one tab (a
        URL parameter written in place, no page rebuild) travels to the others. Clientside."""
        clientside_callback(
            f"""function (search) {{
                var tabs = {json.dumps(list(self.tabs))};
                return tabs.map(function (tab) {{
                    var params = new URLSearchParams(search || "");
                    if (tab === {json.dumps(self.default)}) {{ params.delete("tab"); }}
                    else {{ params.set("tab", tab); }}
                    var query = params.toString();
                    return {json.dumps(self.path)} + (query ? "?" + query : "");
                }});
            }}""",
            [Output(f"{self.id_prefix}-tab-{key}", "href") for key in self.tabs],
            Input(ids.PAGE_STATE, "data"),
            prevent_initial_call=True,
        )

    def all_tabs_layout(self, extra: Callable[[str], Any] | None = None) -> html.Div:
        """Every tab's components, for Dash's validation layout: a visit builds only the
        chosen tab, and Dash checks each callback's ids against the pages' layouts built
        without parameters (the default tab alone), so the other tabs' callbacks would be
        reported missing in the browser's console on every page. Built on a placeholder
        view: only the ids count, never shown."""
        placeholder = AsOf(date.today(), None, date.today())
        parts = []
        for key, (_, module) in self.tabs.items():
            try:
                parts.append(module.layout({"search": ""}, Filters(), placeholder, {}))
                if extra is not None:
                    parts.append(extra(key))
            except Exception:  # a tab that cannot build here (no database yet) is left out
                log.warning("validation layout: %s tab %s left out", self.path, key, exc_info=True)
        return html.Div(parts)
