"""The SQL behind compensation actuals: per owner, the sums every bonus metric is made of.

Each function runs one grouped query for one metric family over the accounts of the view's
account filters (segment, region, tier: never team or owner, which select people, not accounts)
and returns one row per owner key (`owner`: a csm_id, NULL = nobody owned the account then).
Only sums leave DuckDB (a few hundred rows), never per-account rows, so managers and the
director are summed from these rows in pandas (`services.comp_actuals`).

Attribution (services/ownership.py): a closed renewal or a won expansion counts for the owner on
the day it closed; an account of the GRR/NRR cohort for the owner on the day its last renewal of
the period closed, else on the period's last day with data (`to_date`); an open renewal or an
open opportunity for the owner on the view's as-of date; green share, hygiene and the book for
the owner on `to_date`.

Point in time: renewals closed by `to_date` (closed_date, or the renewal date for a closed row
without one), expansions won with a close date by `to_date`, the forecast of the as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.comp_periods import Period
from services.db import Database
from services.filters import Filters
from services.ownership import owner_on
from services.renewal_forecast import (
    forecast_relation,
    forecast_sql,
    months_before,
    renewal_rates,
    retained_arr_sql,
)
from services.renewal_hygiene import hygiene_params, hygiene_sql, known_checks
from services.renewal_pipeline import horizon_end
from services.sql_fragments import arr_on, contract_active_on, known_on_latest, renewal_closed_by
from services.upsell import expansion_open_on

EARLIEST = date(1900, 1, 1)  # "no lower bound" for a renewal date (overdue ones count)
WIN_RATE_MONTHS = 12  # the expansion win rate: opportunities closed in the trailing 4 quarters


def closed_day_sql(renewal: str = "r") -> str:
    """The day a closed renewal counts on: its closed date, else its renewal date (as
    `renewal_closed_by` reads a closed row without a closed date)."""
    return f"COALESCE({renewal}.closed_date, {renewal}.renewal_date)"


@dataclass(frozen=True)
class Window:
    """The days one measurement reads, derived from the period and the view's as-of date."""

    period: Period
    as_of: date

    @property
    def to_date(self) -> date:
        """The last day with data (the period's last day, or the as-of day inside it)."""
        return self.period.to_date(self.as_of)

    @property
    def cohort_start(self) -> date:
        """a0's day: the day before the period starts (the as-of day for a period that has not
        started: the ARR known now is the best guess of the ARR it will start with)."""
        return min(self.period.start - timedelta(days=1), self.to_date)

    @property
    def projecting(self) -> bool:
        """Part of the period is still ahead: (to_date, last day] holds days."""
        return self.to_date < self.period.last_day

    @property
    def first_due(self) -> date:
        """Open renewals due from this day on are projected: all of them (overdue included)
        when the period holds the as-of date, those due in the period for a later period."""
        return self.period.start if self.as_of < self.period.start else EARLIEST


def account_filters(filters: Filters) -> Filters:
    """The filters that select accounts: team and owner select people in compensation (the
    owner of a renewal is the owner when it closed, not today's), so they are dropped here."""
    return filters.with_values(team=(), owner=())


def _accounts(filters: Filters) -> tuple[str, list[Any]]:
    where, scope = account_filters(filters).where("ad")
    return f"acc AS (SELECT ad.account_id, ad.segment FROM account_dim ad WHERE {where})", scope


def _forecast(db: Database, filters: Filters, w: Window) -> tuple[str, list[Any]]:
    """`WITH forecast AS (...)`: the open renewals on the as-of date due before the period's
    end (overdue included) with p, from the stored forecast of that day when it reaches the
    period's end, else computed live (same definition)."""
    acc_filters = account_filters(filters)
    if w.period.end <= horizon_end(w.as_of):
        return forecast_relation(db, acc_filters, w.as_of, w.period.end)
    rates = renewal_rates(db, acc_filters, w.as_of)
    return forecast_sql(acc_filters, w.as_of, rates, None, w.period.end)


def _query(db: Database, sql: str, params: list[Any]) -> pd.DataFrame:
    return db.query(sql, params)


# ---- renewal rate: renewals closed to date + open renewals due in the rest ---------------------
def renewal_sums(db: Database, filters: Filters, w: Window) -> pd.DataFrame:
    """Per owner: closed_count, arr_up, retained (closed in [start, to_date], owner on the
    closed day) and open_count, open_arr, expected (Σ arr_up·p), variance (Σ arr_up²·p·(1−p))
    of the open renewals due in the rest of the period (owner on the as-of date)."""
    acc, scope = _accounts(filters)
    closed_day = closed_day_sql("r")
    closed = f"""
        SELECT os.owner_csm_id AS owner, COUNT(*) AS closed_count,
               SUM(r.arr_up_for_renewal) AS arr_up, SUM({retained_arr_sql("r")}) AS retained
        FROM renewals r JOIN acc ON acc.account_id = r.account_id CROSS JOIN v
        LEFT JOIN owner_spans os ON {owner_on(closed_day, "r.account_id")}
        WHERE {renewal_closed_by("v.t", "r")} AND {closed_day} >= v.s
        GROUP BY os.owner_csm_id
    """
    values = (
        "v AS (SELECT CAST(? AS DATE) AS s, CAST(? AS DATE) AS t, CAST(? AS DATE) AS a, "
        "CAST(? AS DATE) AS first_due)"
    )
    bind = [w.period.start, w.to_date, w.as_of, w.first_due]
    if not w.projecting:
        return _query(
            db,
            f"""WITH {values}, {acc}, closed AS ({closed})
            SELECT owner, closed_count, arr_up, retained, 0 AS open_count, 0.0 AS open_arr,
                   0.0 AS expected, 0.0 AS variance
            FROM closed""",
            [*bind, *scope],
        )
    forecast, fbind = _forecast(db, filters, w)
    return _query(
        db,
        f"""{forecast}, {values}, {acc}, closed AS ({closed}),
        opened AS (
            SELECT os.owner_csm_id AS owner, COUNT(*) AS open_count, SUM(f.arr_up) AS open_arr,
                   SUM(f.arr_up * COALESCE(f.p, 0)) AS expected,
                   SUM(f.arr_up * f.arr_up * COALESCE(f.p, 0) * (1 - COALESCE(f.p, 0)))
                       AS variance
            FROM forecast f JOIN acc ON acc.account_id = f.account_id CROSS JOIN v
            LEFT JOIN owner_spans os ON {owner_on("v.a", "f.account_id")}
            WHERE f.renewal_date >= v.first_due
            GROUP BY os.owner_csm_id
        )
        SELECT COALESCE(c.owner, o.owner) AS owner,
               COALESCE(c.closed_count, 0) AS closed_count, COALESCE(c.arr_up, 0) AS arr_up,
               COALESCE(c.retained, 0) AS retained, COALESCE(o.open_count, 0) AS open_count,
               COALESCE(o.open_arr, 0) AS open_arr, COALESCE(o.expected, 0) AS expected,
               COALESCE(o.variance, 0) AS variance
        FROM closed c FULL JOIN opened o ON c.owner IS NOT DISTINCT FROM o.owner""",
        [*fbind, *bind, *scope],
    )


# ---- GRR, NRR, logo retention: the cohort of the period's start --------------------------------
COHORT_SUMS = """
    COUNT(*) AS logos_start, SUM(a0) AS start_arr, SUM(a1) AS end_arr,
    SUM(LEAST(a0, a1)) AS kept_arr, COUNT(*) FILTER (WHERE a1 > 0) AS logos_kept,
    SUM(a_proj) AS proj_end, SUM(LEAST(a0, a_proj)) AS proj_kept, SUM(logo_q) AS proj_logos,
    SUM(logo_q * (1 - logo_q)) AS logo_variance, SUM(variance) AS arr_variance,
    SUM(a_best) AS best_end, SUM(LEAST(a0, a_best)) AS best_kept,
    COUNT(*) FILTER (WHERE a_best > 0) AS best_logos,
    SUM(a_worst) AS worst_end, SUM(LEAST(a0, a_worst)) AS worst_kept,
    COUNT(*) FILTER (WHERE a_worst > 0) AS worst_logos,
    SUM(open_count) AS open_count
"""


def cohort_sums(db: Database, filters: Filters, w: Window) -> pd.DataFrame:
    """Per owner, the cohort (accounts with a0 = ARR(day before the period) > 0) to date and
    projected. kept_arr = Σ min(a0, a1) = Σa0 − churned − contraction (ARCHITECTURE §4: GRR's
    numerator); end_arr = Σa1 (NRR's); logos_kept = #(a1 > 0). The projection mirrors
    `renewal_forecast.projected_retention`: an open renewal due in the rest of the period whose
    ARR is in today's ARR loses arr_up·(1 − p); one whose term is over without a new contract
    comes back as arr_up·p. proj_logos = Σ P(the account still pays) (1 when ARR outside its
    open renewals remains, else 1 − Π(1 − p)); best: p = 1, worst: p = 0."""
    acc, scope = _accounts(filters)
    values = (
        "v AS (SELECT CAST(? AS DATE) AS d0, CAST(? AS DATE) AS d1, CAST(? AS DATE) AS s, "
        "CAST(? AS DATE) AS first_due)"
    )
    bind = [w.cohort_start, w.to_date, w.period.start, w.first_due]
    closed_day = closed_day_sql("r")
    if w.projecting:
        forecast, fbind = _forecast(db, filters, w)
        moves = """
            SELECT f.account_id, COUNT(*) AS open_count,
                   SUM(CASE WHEN f.in_arr THEN f.arr_up ELSE 0 END) AS loss_max,
                   SUM(CASE WHEN f.in_arr THEN f.arr_up * (1 - COALESCE(f.p, 0)) ELSE 0 END)
                       AS loss_exp,
                   SUM(CASE WHEN NOT f.in_arr AND NOT f.replaced THEN f.arr_up ELSE 0 END)
                       AS back_max,
                   SUM(CASE WHEN NOT f.in_arr AND NOT f.replaced
                            THEN f.arr_up * COALESCE(f.p, 0) ELSE 0 END) AS back_exp,
                   SUM(CASE WHEN f.in_arr OR NOT f.replaced
                            THEN f.arr_up * f.arr_up * COALESCE(f.p, 0) * (1 - COALESCE(f.p, 0))
                            ELSE 0 END) AS variance,
                   PRODUCT(CASE WHEN f.in_arr OR NOT f.replaced THEN 1 - COALESCE(f.p, 0)
                                ELSE 1 END) AS p_none
            FROM forecast f JOIN cohort c ON c.account_id = f.account_id CROSS JOIN v
            WHERE f.renewal_date >= v.first_due
            GROUP BY f.account_id
        """
        head, head_bind = f"{forecast}, {values}", [*fbind, *bind]
    else:
        moves = """
            SELECT NULL::VARCHAR AS account_id, 0 AS open_count, 0.0 AS loss_max,
                   0.0 AS loss_exp, 0.0 AS back_max, 0.0 AS back_exp, 0.0 AS variance,
                   1.0 AS p_none
            WHERE FALSE
        """
        head, head_bind = f"WITH {values}", bind
    return _query(
        db,
        f"""{head}, {acc},
        arr AS (
            SELECT c.account_id, {arr_on("v.d0")} AS a0, {arr_on("v.d1")} AS a1
            FROM contracts c JOIN acc ON acc.account_id = c.account_id CROSS JOIN v
            WHERE c.start_date <= v.d1 AND c.end_date > v.d0
            GROUP BY c.account_id, v.d0, v.d1
        ),
        cohort AS (SELECT * FROM arr WHERE a0 > 0),
        last_close AS (
            SELECT r.account_id, MAX({closed_day}) AS closed_day
            FROM renewals r JOIN cohort c ON c.account_id = r.account_id CROSS JOIN v
            WHERE {renewal_closed_by("v.d1", "r")} AND {closed_day} >= v.s
            GROUP BY r.account_id
        ),
        moves AS ({moves}),
        per_account AS (
            SELECT os.owner_csm_id AS owner, c.a0, c.a1,
                   COALESCE(m.open_count, 0) AS open_count,
                   GREATEST(c.a1 - COALESCE(m.loss_exp, 0) + COALESCE(m.back_exp, 0), 0)
                       AS a_proj,
                   c.a1 + COALESCE(m.back_max, 0) AS a_best,
                   GREATEST(c.a1 - COALESCE(m.loss_max, 0), 0) AS a_worst,
                   COALESCE(m.variance, 0) AS variance,
                   CASE WHEN m.account_id IS NULL THEN CAST(c.a1 > 0 AS DOUBLE)
                        WHEN c.a1 - m.loss_max > 0 THEN 1.0
                        ELSE 1 - m.p_none END AS logo_q
            FROM cohort c CROSS JOIN v
            LEFT JOIN last_close lc ON lc.account_id = c.account_id
            LEFT JOIN moves m ON m.account_id = c.account_id
            LEFT JOIN owner_spans os
              ON {owner_on("COALESCE(lc.closed_day, v.d1)", "c.account_id")}
        )
        SELECT owner, {COHORT_SUMS} FROM per_account GROUP BY owner""",
        [*head_bind, *scope],
    )


# ---- expansion ARR: won to date + open pipeline of the rest at the win rate ---------------------
def expansion_sums(db: Database, filters: Filters, w: Window) -> pd.DataFrame:
    """Per owner: won_count, won_arr (won, close date in [start, to_date], owner on the close
    day) and open_count, open_arr, open_sq (Σ amount²) of the opportunities open on the as-of
    date expected to close in the rest of the period (owner on the as-of date). The expected
    close date is known only on the build's as-of date (`known_on_latest`, as on the Upsell
    tab): on an earlier day no open opportunity is dated, so none is projected."""
    acc, scope = _accounts(filters)
    close = known_on_latest("v.a", "e.close_date")
    return _query(
        db,
        f"""WITH v AS (SELECT CAST(? AS DATE) AS s, CAST(? AS DATE) AS t, CAST(? AS DATE) AS l,
                              CAST(? AS DATE) AS a, CAST(? AS BOOLEAN) AS projecting),
        {acc},
        won AS (
            SELECT os.owner_csm_id AS owner, COUNT(*) AS won_count,
                   SUM(COALESCE(e.amount_arr, 0)) AS won_arr
            FROM expansions e JOIN acc ON acc.account_id = e.account_id CROSS JOIN v
            LEFT JOIN owner_spans os ON {owner_on("e.close_date", "e.account_id")}
            WHERE e.outcome = 'won' AND e.close_date >= v.s AND e.close_date <= v.t
            GROUP BY os.owner_csm_id
        ),
        pipe AS (
            SELECT os.owner_csm_id AS owner, COUNT(*) AS open_count,
                   SUM(COALESCE(e.amount_arr, 0)) AS open_arr,
                   SUM(COALESCE(e.amount_arr, 0) ^ 2) AS open_sq
            FROM expansions e JOIN acc ON acc.account_id = e.account_id CROSS JOIN v
            LEFT JOIN owner_spans os ON {owner_on("v.a", "e.account_id")}
            WHERE v.projecting AND {expansion_open_on("v.a", "e")}
              AND {close} > v.t AND {close} >= v.s AND {close} <= v.l
            GROUP BY os.owner_csm_id
        )
        SELECT COALESCE(w.owner, p.owner) AS owner, COALESCE(w.won_count, 0) AS won_count,
               COALESCE(w.won_arr, 0) AS won_arr, COALESCE(p.open_count, 0) AS open_count,
               COALESCE(p.open_arr, 0) AS open_arr, COALESCE(p.open_sq, 0) AS open_sq
        FROM won w FULL JOIN pipe p ON w.owner IS NOT DISTINCT FROM p.owner""",
        [w.period.start, w.to_date, w.period.last_day, w.as_of, w.projecting, *scope],
    )


def win_rate(db: Database, as_of: date) -> float | None:
    """Share of the expansion opportunities closed won or lost in the trailing 4 quarters to
    the as-of date (close date in (as_of − 12 months, as_of]) that were won, by count; the
    company's rate, whatever the view (as the renewal model). None: none closed."""
    row = db.query(
        """SELECT COUNT(*) AS closed, COUNT(*) FILTER (WHERE outcome = 'won') AS won
        FROM expansions
        WHERE outcome IN ('won', 'lost') AND close_date > ? AND close_date <= ?""",
        [months_before(as_of, WIN_RATE_MONTHS), as_of],
    ).iloc[0]
    return float(row["won"]) / float(row["closed"]) if row["closed"] else None


# ---- the book on to_date: ARR per segment, green share ------------------------------------------
def book_sums(db: Database, filters: Filters, w: Window, snapshot: date | None) -> pd.DataFrame:
    """Per owner on `to_date` and segment: book_arr (ARR on to_date), accounts (paying then),
    green_arr, scored_arr, scored_count (health at `snapshot`, the latest weekly snapshot on or
    before to_date; its ARR is the snapshot's)."""
    acc, scope = _accounts(filters)
    return _query(
        db,
        f"""WITH v AS (SELECT CAST(? AS DATE) AS t, CAST(? AS DATE) AS snap),
        {acc},
        arr AS (
            SELECT c.account_id, SUM(c.arr) AS arr
            FROM contracts c JOIN acc ON acc.account_id = c.account_id CROSS JOIN v
            WHERE {contract_active_on("v.t", "c")}
            GROUP BY c.account_id
        ),
        health AS (
            SELECT h.account_id, h.arr, h.band
            FROM health_snapshots h JOIN acc ON acc.account_id = h.account_id CROSS JOIN v
            WHERE h.snapshot_date = v.snap
        ),
        book AS (
            SELECT acc.account_id, acc.segment, arr.arr, health.arr AS scored_arr,
                   health.band
            FROM acc LEFT JOIN arr ON arr.account_id = acc.account_id
            LEFT JOIN health ON health.account_id = acc.account_id
            WHERE arr.arr > 0 OR health.band IS NOT NULL
        )
        SELECT os.owner_csm_id AS owner, b.segment,
               COALESCE(SUM(b.arr), 0) AS book_arr,
               COUNT(*) FILTER (WHERE b.arr > 0) AS accounts,
               COALESCE(SUM(b.scored_arr) FILTER (WHERE b.band = 'green'), 0) AS green_arr,
               COALESCE(SUM(b.scored_arr) FILTER (WHERE b.band IS NOT NULL), 0) AS scored_arr,
               COUNT(*) FILTER (WHERE b.band IS NOT NULL) AS scored_count
        FROM book b CROSS JOIN v
        LEFT JOIN owner_spans os ON {owner_on("v.t", "b.account_id")}
        GROUP BY os.owner_csm_id, b.segment""",
        [w.to_date, snapshot, *scope],
    )


# ---- hygiene on to_date ------------------------------------------------------------------------
def hygiene_sums(db: Database, filters: Filters, w: Window) -> pd.DataFrame:
    """Per owner on `to_date`: renewals (open on to_date, due within the hygiene window,
    overdue included: `services.renewal_hygiene`) and passing (failing no check known then)."""
    acc_filters = account_filters(filters)
    day = w.to_date
    params = hygiene_params()
    sql, bind = hygiene_sql(
        db, acc_filters, day, params.window_days, known_checks(db, acc_filters, day)
    )
    return _query(
        db,
        f"""{sql}
        SELECT os.owner_csm_id AS owner, COUNT(*) AS renewals,
               COUNT(*) FILTER (WHERE NOT hy.fails_any) AS passing
        FROM hy CROSS JOIN (SELECT CAST(? AS DATE) AS t) v
        LEFT JOIN owner_spans os ON {owner_on("v.t", "hy.account_id")}
        GROUP BY os.owner_csm_id""",
        [*bind, day],
    )
