"""A plan's numbers for a period, in one place: measures (actuals, projections), targets and
payouts. The compensation tabs and the statements both start here."""

from __future__ import annotations

from datetime import date

import pandas as pd

from services.comp_actuals import Measures, period_measures
from services.comp_payout import Payouts, compute_payouts
from services.comp_periods import Period
from services.comp_plan import Plan
from services.comp_targets import csm_targets
from services.db import Database
from services.filters import Filters


def plan_numbers(
    db: Database, filters: Filters, plan: Plan, period: Period, as_of: date
) -> tuple[Measures, pd.DataFrame, Payouts]:
    """Measures of the people in scope, their targets under `plan`, and the payouts (the
    measures and targets come from the result cache once computed; payouts are recomputed)."""
    measures = period_measures(db, filters, period, as_of)
    targets = csm_targets(db, filters, plan, measures)
    return measures, targets, compute_payouts(measures, targets, plan)
