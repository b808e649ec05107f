"""Renewals (/renewals): what is up for renewal, what is at risk and why, what we will keep,
how good the calls are, and where to expand. One section per tab; the tab is in the URL
(`tab=`), so every view is a link, and only the chosen tab's content is built and queried.

Each tab lives in its own module (pages/_renewals_<tab>.py): `layout(data, filters, as_of,
params)` builds its content and the module registers its own callbacks.
"""

from __future__ import annotations

import dash

from pages import (
    _renewals_forecast,
    _renewals_hygiene,
    _renewals_pipeline,
    _renewals_trend,
    _renewals_upsell,
)
from pages._tabbed import TabbedPage

dash.register_page(
    __name__, path="/renewals", name="Renewals", title="Renewals · CS Ops Console", order=2
)

STORE = "rn-view"  # every tab's callbacks read the view (filters + requested as-of) from here
PAGE = TabbedPage(
    "/renewals",
    {
        "pipeline": ("Pipeline & risk", _renewals_pipeline),
        "forecast": ("Forecast & accuracy", _renewals_forecast),
        "hygiene": ("Hygiene", _renewals_hygiene),
        "retention": ("Retention trend", _renewals_trend),
        "upsell": ("Upsell", _renewals_upsell),
    },
    "rn",
)


def layout(**params):
    return PAGE.layout(params, "Renewals", STORE)
