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
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import Input, Output, clientside_callback, dcc, html

from components import ids
from components.shell import page_header
from components.states import error_state, notice
from pages._shared import page_param, view_state, with_page_param
from services.asof import AsOf
from services.errors import ServiceError
from services.filters import Filters

# The chosen tab's content: (tab, module, view store data, filters, as-of, URL params) -> parts.
TabBody = Callable[[str, ModuleType, dict, Filters, AsOf, dict], list]


def module_body(tab, module, data, filters, as_of, params) -> list:
    """A tab's content: its module's layout."""
    return [module.layout(data, filters, as_of, params)]


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

    def layout(
        self,
        params: dict[str, Any],
        title: str,
        store: str,
        body: TabBody = module_body,
        keep_page_params: bool = False,
    ) -> html.Div:
        """The page: its view store, header, tab links and the chosen tab's content (or why
        there is none). Tab links keep the filters and as-of, and every other URL parameter
        too when `keep_page_params` (what-if inputs that hold across tabs)."""
        data, filters, as_of = view_state(params)
        tab = page_param(params, "tab", tuple(self.tabs), self.default)
        if "error" in data:
            content, search = error_state(data["error"]), ""
        else:
            try:
                parts = body(tab, self.tabs[tab][1], data, filters, as_of, params)
                content = html.Div(
                    [notice(as_of.notice), *parts], id=f"{self.id_prefix}-body-{tab}"
                )
            except ServiceError as exc:  # e.g. a saved scenario's link that does not exist
                content = error_state(str(exc))
            search = _all_but_tab(params) if keep_page_params else data.get("search", "")
        return html.Div(
            [
                dcc.Store(id=store, data=data),
                page_header(title, f"As of {as_of.date:%d %b %Y}" if as_of else None),
                self.links(tab, search),
                content,
            ]
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


def _all_but_tab(params: Mapping[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if k != "tab"}
    return "?" + urlencode(kept, doseq=True) if kept else ""
