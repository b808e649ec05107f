"""The proposed moves as CSV for a CRM update: one row per move (account id and name, the CSM
it leaves and the one it goes to, ids and names), built from the same URL parameters as the
rebalancing tab, so the file holds exactly the moves the page shows. Text cells go through the
export neutraliser (services/exports.py), so nothing in them is read as a formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from services.db import Database
from services.errors import ServiceError
from services.exports import ExportColumn, csv_chunks
from services.filters import Filters
from services.rebalancing import RebalanceOptions, RebalancePlan
from services.rebalancing_inputs import rebalance_plan, rebalance_teams
from services.workload import WorkloadParams

MOVE_EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("account_id", "Account ID"),
    ExportColumn("name", "Account"),
    ExportColumn("from_csm_id", "From CSM ID"),
    ExportColumn("from_name", "From CSM"),
    ExportColumn("to_csm_id", "To CSM ID"),
    ExportColumn("to_name", "To CSM"),
    ExportColumn("team", "Team"),
    ExportColumn("arr", "ARR", "money"),
)


class InvalidRebalanceParameter(ServiceError):
    """A rebalancing or workload parameter of an export link that cannot be used."""


@dataclass(frozen=True)
class MovesExport:
    plan: RebalancePlan
    filename: str


def moves_export(
    db: Database, filters: Filters, day: date, params: Mapping[str, Any]
) -> MovesExport:
    """The plan of the URL parameters `params` (as the tab reads them); a parameter the tab
    would mark as invalid is refused with its message rather than silently replaced."""
    workload, workload_errors = WorkloadParams.from_params(params)
    options, errors = RebalanceOptions.from_params(params)
    problems = {**workload_errors, **errors}
    if options.team and options.team not in rebalance_teams(db, filters, day, workload):
        problems["rbteam"] = f"No team “{options.team[:60]}” in this view."
    if problems:
        raise InvalidRebalanceParameter(" ".join(problems.values()))
    plan = rebalance_plan(db, filters, day, workload, options)
    team = f"-{_slug(options.team)}" if options.team else ""
    return MovesExport(plan, f"rebalance-moves{team}-{day:%Y%m%d}")


def moves_csv(plan: RebalancePlan) -> bytes:
    """UTF-8 CSV (with a BOM for Excel) of the moves, neutralised against formulas."""
    moves = plan.moves
    fields = [c.field for c in MOVE_EXPORT_COLUMNS]
    table = pa.table(
        {
            f: pa.array(
                [None if v != v else v for v in moves[f].tolist()] if len(moves) else [],
                type=pa.float64() if f == "arr" else pa.string(),
            )
            for f in fields
        }
    )
    return b"".join(csv_chunks(table.to_batches(), MOVE_EXPORT_COLUMNS))


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in text)[:40].strip("-")
