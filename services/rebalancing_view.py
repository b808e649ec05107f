"""The rebalancing tab's one service call: the options checked against the view's teams and
the plan they give, for the tab's callback to hand to its builder."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from services.db import Database
from services.filters import Filters
from services.rebalancing import RebalanceOptions, RebalancePlan
from services.rebalancing_inputs import rebalance_plan, rebalance_teams
from services.workload import WorkloadParams


def checked_team(
    options: RebalanceOptions, errors: dict[str, str], teams: list[str]
) -> tuple[RebalanceOptions, dict[str, str]]:
    """A team that is not in the view is reported by the picker, and every team is shown."""
    if options.team and options.team not in teams:
        errors = {**errors, "rbteam": f"No team “{options.team[:60]}” here: every team is shown."}
        options = replace(options, team=None)
    return options, errors


@dataclass(frozen=True)
class RebalanceView:
    """The options the plan was solved with (an unknown team dropped, `team_error` says so)
    and the plan."""

    options: RebalanceOptions
    team_error: str | None
    plan: RebalancePlan


def rebalance_view(
    db: Database,
    filters: Filters,
    day: date,
    params: WorkloadParams,
    options: RebalanceOptions,
) -> RebalanceView:
    """The plan for the view's books under `options`, once the team is checked against the
    teams the view's books belong to. Not memoised itself: the teams and the plan are, and
    caching the view too would store every plan twice."""
    teams = rebalance_teams(db, filters, day, params)
    options, errors = checked_team(options, {}, teams)
    plan = rebalance_plan(db, filters, day, params, options)
    return RebalanceView(options, errors.get("rbteam"), plan)
