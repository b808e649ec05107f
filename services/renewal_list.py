"""The renewal list: closed renewals of the 4 quarters to the as-of date, one row per renewal.

The drill-down target of the Health model page (the renewals behind a bar) and, later, of the
Renewals page. Its rows are the backtest's own (`health_backtest.scored_renewals_sql`): the band
and score on the scoring date under the model in force or a proposed one, so a drilled list has
exactly the bar's n. Paged and sorted in SQL (allow-listed sort), with totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.errors import InvalidFilter
from services.filters import Filters
from services.filters import parse_sort as filters_parse_sort
from services.health_backtest import CURRENT, scored_renewals_sql
from services.health_model import BANDS, HealthParams
from services.sql_fragments import order_by, page_bounds

OUTCOMES = ("renewed", "expanded", "contracted", "churned")
# Sortable columns: grid field -> SQL expression (the only text that reaches ORDER BY).
SORTABLE = {
    "renewal_date": "rs.renewal_date",
    "name": "rs.name",
    "outcome": "rs.outcome",
    "arr_up": "rs.arr_up",
    "arr_lost": "rs.arr_lost",
    "band": "rs.band",
    "score": "rs.score",
    "scored_on": "rs.scored_on",
    "owner_name": "rs.owner_name",
    "segment": "rs.segment",
}
DEFAULT_ORDER = "rs.arr_lost DESC, rs.arr_up DESC"  # the biggest losses first
MAX_SORT_KEYS = 3


def _first(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    value = value[0] if isinstance(value, list | tuple) and value else value
    return str(value or "").strip().lower()[:40]


@dataclass(frozen=True)
class RenewalDrill:
    """What a clicked number stands for: a band on the scoring date, an outcome, losses only."""

    band: str = ""
    outcome: str = ""
    lost_only: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RenewalDrill:
        """From URL parameters `band`, `outcome`, `lost=1`; an unknown value raises InvalidFilter."""
        band, outcome, lost = (
            _first(params, "band"),
            _first(params, "outcome"),
            _first(params, "lost"),
        )
        if band and band not in BANDS:
            raise InvalidFilter(f"Unknown health band {band!r}: use green, yellow or red.")
        if outcome and outcome not in OUTCOMES:
            raise InvalidFilter(
                f"Unknown outcome {outcome!r}: use renewed, expanded, contracted or churned."
            )
        if lost not in ("", "0", "1"):
            raise InvalidFilter(f"Unknown value {lost!r} for 'lost': use 1.")
        return cls(band=band, outcome=outcome, lost_only=lost == "1")

    def to_params(self) -> dict[str, str]:
        return {"band": self.band, "outcome": self.outcome, "lost": "1" if self.lost_only else ""}

    def where(self) -> tuple[str, list[Any]]:
        clauses, bind = ["TRUE"], []
        if self.band:
            clauses.append("rs.band = ?")
            bind.append(self.band)
        if self.outcome:
            clauses.append("rs.outcome = ?")
            bind.append(self.outcome)
        if self.lost_only:
            clauses.append("rs.lost")
        return " AND ".join(clauses), bind


def parse_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The list's sort from `field:asc|desc` URL values (allow-listed; see filters.parse_sort)."""
    return filters_parse_sort(values, SORTABLE, MAX_SORT_KEYS)


def renewal_account(db: Database, filters: Filters, renewal_id: str) -> str | None:
    """The account a renewal belongs to, None for an unknown id or an account outside `filters`
    (a viewer's scope included): a list row opens that account's 360.

    Not memoised: the id comes from the client, one lookup per click.
    """
    where, scope = filters.where("ad")
    df = db.query(
        f"""
        SELECT r.account_id FROM renewals r JOIN account_dim ad ON ad.account_id = r.account_id
        WHERE r.renewal_id = ? AND {where}
        """,
        [str(renewal_id), *scope],
    )
    return None if df.empty else str(df.iloc[0]["account_id"])


def _shown(
    filters: Filters, drill: RenewalDrill, as_of: date, params: HealthParams
) -> tuple[str, list[Any]]:
    sql, bind = scored_renewals_sql(filters, as_of, params)
    where, dbind = drill.where()
    return f"{sql}, shown AS (SELECT * FROM rs WHERE {where})", [*bind, *dbind]


@memoize
def renewal_totals(
    db: Database,
    filters: Filters,
    drill: RenewalDrill,
    as_of: date,
    params: HealthParams = CURRENT,
) -> dict[str, float]:
    """Count, Σ ARR up and Σ ARR lost of the renewals the list shows (before paging)."""
    sql, bind = _shown(filters, drill, as_of, params)
    df = db.query(
        f"""{sql}
        SELECT COUNT(*) AS renewals, COALESCE(SUM(arr_up), 0) AS arr_up,
               COALESCE(SUM(arr_lost), 0) AS arr_lost
        FROM shown
        """,
        bind,
    )
    row = df.iloc[0]
    return {
        "renewals": int(row["renewals"]),
        "arr_up": float(row["arr_up"]),
        "arr_lost": float(row["arr_lost"]),
    }


@memoize
def renewal_page(
    db: Database,
    filters: Filters,
    drill: RenewalDrill,
    as_of: date,
    params: HealthParams = CURRENT,
    sort: tuple[tuple[str, str], ...] = (),
    start: int = 0,
    limit: int = 100,
) -> pd.DataFrame:
    """One page of the list, sorted server-side (default: the biggest ARR lost first).

    Columns: renewal_id, account_id, name, segment, owner_name, renewal_date, closed_date,
    outcome, arr_up, arr_lost, scored_on, score, band.
    """
    sql, bind = _shown(filters, drill, as_of, params)
    order = order_by(sort, SORTABLE, DEFAULT_ORDER, "rs.renewal_id")
    return db.query(
        f"""{sql}
        SELECT rs.renewal_id, rs.account_id, rs.name, rs.segment, rs.owner_name,
               rs.renewal_date, rs.closed_date, rs.outcome, rs.arr_up, rs.arr_lost,
               rs.scored_on, rs.score, rs.band
        FROM shown rs
        ORDER BY {order}
        LIMIT ? OFFSET ?
        """,
        [*bind, *page_bounds(start, limit)],
    )
