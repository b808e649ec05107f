"""Renewal hygiene: is every open renewal ready to be worked (issue #7, item 5)?

A hygiene check is a condition over the columns of `open_renewals`
(services/open_renewals.py) that is TRUE when the renewal FAILS it. The renewal list's
`missing=<check>` drill filter reads the same conditions, so a count here equals the list
behind it. Keep the keys stable.

The close plan is held only as it stands at the build's as-of date (`has_close_plan` is NULL
on any earlier day): on a past date the `plan` check is not known. It is then left out of the
shares and of the failing checks, never counted as failed (see `checks_known_on`).
"""

from __future__ import annotations

from datetime import date

# check key -> (human label, SQL over open_renewals' columns: TRUE when the renewal fails it)
HYGIENE_CHECKS: dict[str, tuple[str, str]] = {
    "category": ("Forecast category set", "forecast_category IS NULL"),
    "reason": (
        "Risk reason given when at risk",
        "(at_risk AND NULLIF(TRIM(risk_reason), '') IS NULL)",
    ),
    "plan": ("Close plan in place", "has_close_plan IS NOT TRUE"),
    "owner": ("Active owner", "NOT COALESCE(owner_active, FALSE)"),
}

# Checks whose field is known only at the build's as-of date (not on a past day).
LATEST_ONLY_CHECKS = ("plan",)


def checks_known_on(day: date, data_as_of: date) -> tuple[str, ...]:
    """The check keys that can be evaluated on `day`: all on/after the build's as-of date;
    before it, all but the close plan (unknown then, not failed)."""
    return tuple(k for k in HYGIENE_CHECKS if day >= data_as_of or k not in LATEST_ONLY_CHECKS)
