"""What a compensation tab computes with, resolved once from its URL: the plan version and
period of the view, the measures of the people in scope, their targets and their payouts.

The Attainment, What-if and Statement tabs all start from the same four steps:

1. `plan_for_view(params, day)`: the plan (`plan=`, `version=`, else the latest saved live
   plan with a version in force on the period's first day, else the default plan) and the
   period (`period=`, else the plan's period holding the view's as-of date);

then `services.comp_compute.plan_numbers` (which the statements use too) runs the other three:

2. `period_measures(db, filters, period, day)`: actual, projected and best/worst per person and
   metric, with the people in scope (filters: segment/region restrict the accounts counted,
   team/owner the people listed; with account filters the numbers are a slice of each book, not
   pay, and the tabs say so: components/comp_attainment.slice_notice and budget_scope);
3. `csm_targets(db, filters, plan, measures)`: each person's target per metric and its rule;
4. `compute_payouts(measures, targets, plan)`: attainment and payout, per metric, person, team
   and company.

Usage in a callback::

    filters, day = from_store(data)
    resolved = resolve_comp_view(filters, day, params)
    if resolved.message:                  # a ServiceError's user message (bad period, ...)
        return error_state(resolved.message), ...
    cv = resolved.view                    # CompView: .plan_view .measures .targets .payouts

`with_plan(cv, plan)` pays the same view under another plan (a what-if): only the payouts are
recomputed; measures and targets are reused. Nothing here draws: builders in `components/` do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd

from pages._shared import UNEXPECTED
from services.comp_actuals import Measures
from services.comp_compute import plan_numbers
from services.comp_payout import Payouts, compute_payouts
from services.comp_plan import Plan
from services.comp_plan_store import PlanView, plan_for_view
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompView:
    """One compensation view: its plan version and period, and what they give."""

    plan_view: PlanView  # .plan, .period, .name, .version, .item_id (None: default plan), .note
    plan: Plan  # what the payouts were computed with: the view's plan, or a what-if of it
    measures: Measures
    targets: pd.DataFrame  # the view's plan's targets (a what-if scales them in the payouts)
    payouts: Payouts
    filters: Filters
    day: date  # the view's as-of date (the data known on it)


@dataclass(frozen=True)
class Resolved:
    """A view, or the message saying why there is none (safe to show: no trace, no path)."""

    view: CompView | None
    message: str | None = None


def resolve_comp_view(filters: Filters, day: date, params: Mapping[str, Any]) -> Resolved:
    """The plan version, period, measures, targets and payouts of the view `params` names
    (URL parameters: plan, version, period) under `filters` as of `day`; a ServiceError
    becomes its message, anything else the generic one (logged)."""
    try:
        plan_view = plan_for_view(params, day)
        db = get_database()
        measures, targets, payouts = plan_numbers(
            db, filters, plan_view.plan, plan_view.period, day
        )
    except ServiceError as exc:
        return Resolved(None, str(exc))
    except Exception:
        log.exception("compensation view failed")
        return Resolved(None, UNEXPECTED)
    return Resolved(CompView(plan_view, plan_view.plan, measures, targets, payouts, filters, day))


def with_plan(cv: CompView, plan: Plan) -> CompView:
    """The same view (people, period, measures, targets) paid under another plan, e.g. a
    what-if (`services.comp_whatif.what_if_plan`: its target scale applies to the view's
    targets inside `compute_payouts`). Only the payouts are recomputed."""
    payouts = compute_payouts(cv.measures, cv.targets, plan)
    return replace(cv, plan=plan, payouts=payouts)
