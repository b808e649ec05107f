"""Account 360 (/accounts/<account_id>): one account's facts, health, usage, support, voice and history."""

from __future__ import annotations

from datetime import date

import dash
from dash import dcc, html

from components.account_360 import account_view
from components.states import error_state, notice
from pages._shared import accounts_href, from_store, guarded, view_state
from services.account_360 import account_360
from services.cache import memoize
from services.db import Database, get_database
from services.filters import Filters

dash.register_page(
    __name__,
    path_template="/accounts/<account_id>",
    name="Account 360",
    title="Account 360 · CS Ops Console",
    order=9,
    nav=False,
)

CONTENT = "account360-content"


def layout(account_id: str | None = None, **params):
    data, filters, as_of = view_state(params)
    if "error" not in data:
        data["account_id"] = (account_id or "")[:64]
    back = dcc.Link("← Accounts", href=accounts_href(filters or Filters()), className="small")
    return html.Div(
        [
            back,
            error_state(data["error"])
            if "error" in data
            else notice(as_of.notice if as_of else None),
            # Drawn in the layout, not by a callback: one round trip and one redraw fewer.
            html.Div(
                render_account(data) if "error" not in data and data["account_id"] else None,
                id=CONTENT,
            ),
        ]
    )


@memoize
def _account_page(db: Database, filters: Filters, account_id: str, snapshot: date):
    """The drawn page of one account (None when there is none): cached like a service result
    (keyed by the data build), since drawing it costs ~30 ms of pandas and components."""
    acc = account_360(db, filters, account_id, snapshot)
    return None if acc is None else account_view(acc, snapshot)


@guarded()
def render_account(data):
    """The whole Account 360 of the account in the page's store (or why there is none)."""
    filters, snapshot = from_store(data)
    page = _account_page(get_database(), filters, data["account_id"], snapshot)
    if page is None:
        within = "" if filters.is_empty() else " within the current filters"
        return error_state(
            f"There is no account with id “{data['account_id']}”{within}. "
            "Find it on the Accounts page."
        )
    return page
