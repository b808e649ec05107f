"""Human labels for the codes in the data (never `at_risk` on screen): one map per kind of code.

`label(kind, code)` serves Python (cards, charts, legends); `label_formatter(kind)` gives grids a
dash-ag-grid valueFormatter whose lookup table is generated from the same map.
"""

from __future__ import annotations

import json
import math
from typing import Any

from services.health_model import COMPONENT_LABELS

LABELS: dict[str, dict[str, str]] = {
    "band": {"red": "Red", "yellow": "Yellow", "green": "Green"},
    "coverage_tier": {"named": "Named", "pooled": "Pooled", "tech-touch": "Tech-touch"},
    "forecast_category": {
        "commit": "Commit",
        "probable": "Probable",
        "at_risk": "At risk",
        "churn": "Churn",
    },
    # An at-risk renewal's reason: its own text, or one of these when none was given.
    "risk_reason": {
        "_health_red": "Health red, no reason given",
        "_none": "No reason given",
    },
    "close_plan": {"yes": "Yes", "no": "No", "unknown": "Unknown"},
    "renewal_outcome": {
        "open": "Open",
        "renewed": "Renewed",
        "contracted": "Contracted",
        "expanded": "Expanded",
        "churned": "Churned",
    },
    "lifecycle_stage": {
        "onboarding": "Onboarding",
        "adoption": "Adoption",
        "value": "Value",
        "renewal": "Renewal",
        "churned": "Churned",
    },
    "touchpoint_type": {
        "onboarding": "Onboarding",
        "check-in": "Check-in",
        "QBR": "QBR",
        "EBR": "EBR",
        "escalation call": "Escalation call",
    },
    "touchpoint_channel": {
        "video": "Video",
        "phone": "Phone",
        "email": "Email",
        "in-person": "In person",
    },
    "expansion_stage": {
        "Negotiation": "Negotiation",
        "Closed won": "Closed won",
        "Closed lost": "Closed lost",
        "Discovery": "Discovery",
        "Proposal": "Proposal",
    },
    "expansion_outcome": {"open": "Open", "won": "Won", "lost": "Lost"},
    "health_component": {**COMPONENT_LABELS, "no_usage": "No usage"},  # movers' driver too
    "role": {"CSM": "CSM", "Manager": "Manager", "Director": "Director"},
    # The expansion propensity score's reasons (services/upsell.REASONS).
    "upsell_reason": {
        "seats": "Seats used",
        "growth": "Usage growing",
        "health": "Health green",
        "promoter": "Promoter NPS",
        "no_open": "No open expansion",
    },
    # Capacity: a book's flag and its owner's state (services/capacity_books.py).
    "book_flag": {
        "over": "Over-loaded",
        "under": "Under-loaded",
        "ok": "Within range",
        "open": "Open book",
        "none": "No owner",
        "other": "Not a CSM on this date",
    },
    "book_state": {
        "active": "Active",
        "departed": "Left",
        "missing": "No owner",
        "other": "Not a CSM on this date",
    },
    # Capacity rebalancing (services/rebalancing.py): why an account moves, and why a book
    # stays over (or an open-book account keeps no owner).
    "rebalance_reason": {"overload": "Over-loaded", "open_book": "Open book"},
    "rebalance_stuck": {
        "frozen": "The rest renews soon or is kept",
        "outside": "The rest is outside the filters",
        "cap": "Move cap reached",
        "no_receiver": "Nobody with room serves it",
        "no_room": "No room left under the target",
        "no_team": "No team serves it",
    },
}
# The call as known on a day, "none" when no call was known then (services/renewal_pipeline.py).
LABELS["forecast_call"] = {**LABELS["forecast_category"], "none": "Not called"}
# Other names the same codes go by (filter dimensions, column names).
ALIASES = {
    "tier": "coverage_tier",
    "driver": "health_component",
    "stage": "lifecycle_stage",
    "outcome": "renewal_outcome",
    "type": "touchpoint_type",
    "channel": "touchpoint_channel",
}


def labels_for(kind: str) -> dict[str, str]:
    """The code -> label map of one kind ({} for a kind without codes, e.g. segment)."""
    return LABELS.get(ALIASES.get(kind, kind), {})


def label(kind: str, code: Any) -> str:
    """The human label of `code`; an unknown code is shown as given, a missing one as "–"."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return "–"
    return labels_for(kind).get(code, str(code))


def label_formatter(kind: str) -> dict[str, str]:
    """A dash-ag-grid valueFormatter showing the labels of `kind` (codeLabel in the assets JS)."""
    table = json.dumps(labels_for(kind), ensure_ascii=False, sort_keys=True)
    return {"function": f"codeLabel(params.value, {table})"}
