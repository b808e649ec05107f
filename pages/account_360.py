"""Account 360 (/accounts/<account_id>): one account's facts, health, usage, support, voice and history."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from components.account_360 import account_view
from components.states import error_state, notice
from pages._shared import accounts_href, from_store, guarded, view_state
from services.account_360 import account_360
from services.db import get_database
from services.filters import Filters

dash.register_page(
    __name__,
    path_template="/accounts/<account_id>",
    name="Account 360",
    title="Account 360 · CS Ops Console",
    order=9,
    nav=False,
)

STORE = "account360-view"
CONTENT = "account360-content"


def layout(account_id: str | None = None, **params):
    data, filters, as_of = view_state(params)
    if "error" not in data:
        data["account_id"] = (account_id or "")[:64]
    back = dcc.Link("← Accounts", href=accounts_href(filters or Filters()), className="small")
    return html.Div(
        [
            dcc.Store(id=STORE, data=data),
            back,
            error_state(data["error"])
            if "error" in data
            else notice(as_of.notice if as_of else None),
            dcc.Loading(html.Div(id=CONTENT), type="dot", delay_show=150),
        ]
    )


@callback(Output(CONTENT, "children"), Input(STORE, "data"))
@guarded()
def render_account(data):
    """Draws the whole Account 360. Called when: the page opens or the as-of date changes."""
    filters, snapshot = from_store(data)
    acc = account_360(get_database(), filters, data["account_id"], snapshot)
    if acc is None:
        within = "" if filters.is_empty() else " within the current filters"
        return error_state(
            f"There is no account with id “{data['account_id']}”{within}. "
            "Find it on the Accounts page."
        )
    return account_view(acc, snapshot)
