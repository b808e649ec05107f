"""Compensation (/compensation): bonus plans and their versions, targets per CSM, attainment and
payout to date and projected, what-ifs with a fairness view, and per-CSM statements. One section
per tab; the tab is in the URL (`tab=`), and so are the plan (`plan=<id>`, optionally
`version=<n>`), the bonus period (`period=Q-2026-08-01`), the CSM of a statement (`csm=`) and
every what-if input, so every view is a link.
"""

from __future__ import annotations

import dash

from pages import _comp_attainment, _comp_plan, _comp_statement, _comp_targets, _comp_whatif
from pages._tabbed import TabbedPage

dash.register_page(
    __name__,
    path="/compensation",
    name="Compensation",
    title="Compensation · CS Ops Console",
    order=4,
)

STORE = "cm-view"  # every tab's callbacks read the view (filters + requested as-of) from here
PAGE = TabbedPage(
    "/compensation",
    {
        "attainment": ("Attainment & payout", _comp_attainment),
        "plan": ("Plan", _comp_plan),
        "targets": ("Targets", _comp_targets),
        "whatif": ("What-if & fairness", _comp_whatif),
        "statement": ("Statements", _comp_statement),
    },
    "cm",
)
PAGE.links_follow_the_url()


def layout(**params):
    return PAGE.layout(params, "Compensation", STORE, keep_page_params=True)
