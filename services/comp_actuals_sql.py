"""The SQL behind compensation actuals: per owner, the sums every bonus metric is made of.

One statement (`owner_sums`) reads the accounts of the view's account filters (segment, region,
tier: never team or owner, which select people, not accounts) once and returns, per metric
family, one row per owner key (`owner`: a csm_id, NULL = nobody owned the account then): the
family's sums. Only those few hundred rows leave DuckDB, never per-account rows; managers and
the director are summed from them in pandas (`services.comp_actuals`).

Attribution (services/ownership.py): a closed renewal or a won expansion counts for the owner on
the day it closed; an account of the GRR/NRR cohort for the owner on the day its last renewal of
the period closed, else on the period's last day with data (`to_date`); an open renewal or an
open opportunity for the owner on the view's as-of date; the book and green share for the owner
on `to_date`, hygiene for the owner on the day it is read (the weekly snapshot, below).

Point in time: renewals closed by `to_date` (closed_date, or the renewal date for a closed row
without one), expansions won with a close date by `to_date`, the forecast of the as-of date,
health and hygiene at the latest weekly snapshot on or before `to_date`.
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
from services.sql_fragments import arr_on, known_on_latest, renewal_closed_by
from services.upsell import expansion_open_on
from services.workload import SEGMENTS

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


def accounts_cte(filters: Filters) -> tuple[str, list[Any]]:
    """`acc AS (...)`: account_id and segment of the accounts the view counts."""
    where, scope = account_filters(filters).where("ad")
    return f"acc AS (SELECT ad.account_id, ad.segment FROM account_dim ad WHERE {where})", scope


def in_scope(filters: Filters, alias: str) -> str:
    """`JOIN acc ...` keeping the rows of `alias` on accounts the view counts; nothing when
    the view counts every account (a join of every row for nothing)."""
    if account_filters(filters).where("ad")[1]:
        return f"JOIN acc ON acc.account_id = {alias}.account_id"
    return ""


def _forecast(db: Database, filters: Filters, w: Window) -> tuple[str, list[Any]]:
    """`WITH forecast AS (...)`: the open renewals on the as-of date due before the period's
    end (overdue included) with p, from the stored forecast of that day when it reaches the
    period's end, else computed live (same definition)."""
    acc_filters = account_filters(filters)
    if w.period.end <= horizon_end(w.as_of):
        return forecast_relation(db, acc_filters, w.as_of, w.period.end)
    rates = renewal_rates(db, acc_filters, w.as_of)
    return forecast_sql(acc_filters, w.as_of, rates, None, w.period.end)


def _no_forecast() -> str:
    return """WITH forecast AS (
        SELECT NULL::VARCHAR AS account_id, NULL::DATE AS renewal_date, 0.0 AS arr_up,
               0.0 AS p, FALSE AS in_arr, FALSE AS replaced
        WHERE FALSE)"""


# ---- the per-account relations ------------------------------------------------------------------
def _values_cte() -> str:
    """`v`: the window's days as one row (bound in this order: s, t, l, a, d0, first_due,
    projecting, snap)."""
    return """v AS (
        SELECT CAST(? AS DATE) AS s, CAST(? AS DATE) AS t, CAST(? AS DATE) AS l,
               CAST(? AS DATE) AS a, CAST(? AS DATE) AS d0, CAST(? AS DATE) AS first_due,
               CAST(? AS BOOLEAN) AS projecting, CAST(? AS DATE) AS snap)"""


def _values(w: Window, snapshot: date | None) -> list[Any]:
    p = w.period
    return [p.start, w.to_date, p.last_day, w.as_of, w.cohort_start, w.first_due,
            w.projecting, snapshot]  # fmt: skip


def _relations(filters: Filters) -> str:
    """The CTEs after `v` and `acc`: closed (renewals closed in [s, t], credited), open_due
    (open renewals projected, owner on the as-of date), per_account (ARR on d0 and t, health
    at snap, owner on t), cohort (per_account with a0 > 0, credited, with its projection)."""
    closed_day = closed_day_sql("r")
    return f"""
    closed AS (
        SELECT r.account_id, {closed_day} AS day, r.arr_up_for_renewal AS arr_up,
               {retained_arr_sql("r")} AS retained, os.owner_csm_id AS owner
        FROM renewals r {in_scope(filters, "r")} CROSS JOIN v
        LEFT JOIN owner_spans os ON {owner_on(closed_day, "r.account_id")}
        WHERE {renewal_closed_by("v.t", "r")} AND {closed_day} >= v.s
    ),
    open_due AS (
        SELECT f.account_id, f.arr_up, COALESCE(f.p, 0) AS p, f.p IS NULL AS unpriced,
               f.in_arr, f.replaced, os.owner_csm_id AS owner
        FROM forecast f CROSS JOIN v  -- the forecast holds the view's accounts only
        LEFT JOIN owner_spans os ON {owner_on("v.a", "f.account_id")}
        WHERE v.projecting AND f.renewal_date >= v.first_due
    ),
    arr AS (
        SELECT c.account_id, {arr_on("v.d0")} AS a0, {arr_on("v.t")} AS a1
        FROM contracts c CROSS JOIN v
        WHERE c.start_date <= v.t AND c.end_date > v.d0
        GROUP BY c.account_id, v.d0, v.t
    ),
    health AS (
        SELECT h.account_id, h.arr AS scored_arr, h.band
        FROM health_snapshots h CROSS JOIN v WHERE h.snapshot_date = v.snap
    ),
    per_account AS (
        SELECT acc.account_id, acc.segment, COALESCE(arr.a0, 0) AS a0,
               COALESCE(arr.a1, 0) AS a1, health.scored_arr, health.band,
               os.owner_csm_id AS owner_t
        FROM acc CROSS JOIN v
        LEFT JOIN arr ON arr.account_id = acc.account_id
        LEFT JOIN health ON health.account_id = acc.account_id
        LEFT JOIN owner_spans os ON {owner_on("v.t", "acc.account_id")}
        WHERE arr.a0 > 0 OR arr.a1 > 0 OR health.band IS NOT NULL
    ),
    last_close AS (
        SELECT account_id, arg_max_null(owner, day) AS owner FROM closed GROUP BY account_id
    ),
    moves AS (
        SELECT account_id, COUNT(*) AS open_count,
               SUM(CASE WHEN in_arr THEN arr_up ELSE 0 END) AS loss_max,
               SUM(CASE WHEN in_arr THEN arr_up * (1 - p) ELSE 0 END) AS loss_exp,
               SUM(CASE WHEN NOT in_arr AND NOT replaced THEN arr_up ELSE 0 END) AS back_max,
               SUM(CASE WHEN NOT in_arr AND NOT replaced THEN arr_up * p ELSE 0 END) AS back_exp,
               SUM(CASE WHEN in_arr OR NOT replaced THEN arr_up * arr_up * p * (1 - p)
                        ELSE 0 END) AS variance,
               PRODUCT(CASE WHEN in_arr OR NOT replaced THEN 1 - p ELSE 1 END) AS p_none
        FROM open_due GROUP BY account_id
    ),
    cohort AS (
        SELECT CASE WHEN lc.account_id IS NULL THEN b.owner_t ELSE lc.owner END AS owner,
               b.a0, b.a1, COALESCE(m.open_count, 0) AS open_count,
               GREATEST(b.a1 - COALESCE(m.loss_exp, 0) + COALESCE(m.back_exp, 0), 0) AS a_proj,
               b.a1 + COALESCE(m.back_max, 0) AS a_best,
               GREATEST(b.a1 - COALESCE(m.loss_max, 0), 0) AS a_worst,
               COALESCE(m.variance, 0) AS variance,
               CASE WHEN m.account_id IS NULL THEN CAST(b.a1 > 0 AS DOUBLE)
                    WHEN b.a1 - m.loss_max > 0 THEN 1.0
                    ELSE 1 - m.p_none END AS logo_q
        FROM per_account b
        LEFT JOIN last_close lc ON lc.account_id = b.account_id
        LEFT JOIN moves m ON m.account_id = b.account_id
        WHERE b.a0 > 0
    )"""


# ---- the sums per family ------------------------------------------------------------------------
# GRR's numerator: Σ min(a0, a1) = Σa0 − churned − contraction (ARCHITECTURE §4; a test checks
# the director's GRR against services.retention), NRR's Σa1, logo retention's #(a1 > 0); the same
# over the projected (a_proj), best (p = 1) and worst (p = 0) ARR at the period's end.
COHORT_COLUMNS = (
    "logos_start", "start_arr", "end_arr", "kept_arr", "logos_kept", "proj_end", "proj_kept",
    "proj_logos", "logo_variance", "arr_variance", "best_end", "best_kept", "best_logos",
    "worst_end", "worst_kept", "worst_logos", "open_count",
)  # fmt: skip
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


# The book on to_date per owner: ARR per segment (the data contract's segments, in the order
# of SEGMENTS: book_0, book_1, ...) and the health band mix of its scored ARR.
BOOK_COLUMNS = (
    *(f"book_{i}" for i in range(len(SEGMENTS))),
    "green_arr",
    "scored_arr",
    "scored_count",
)
BOOK_SUMS = ", ".join(
    [
        *(
            f"COALESCE(SUM(a1) FILTER (WHERE a1 > 0 AND segment = '{segment}'), 0) AS book_{i}"
            for i, segment in enumerate(SEGMENTS)
        ),
        "COALESCE(SUM(scored_arr) FILTER (WHERE band = 'green'), 0) AS green_arr",
        "COALESCE(SUM(scored_arr) FILTER (WHERE band IS NOT NULL), 0) AS scored_arr",
        "COUNT(*) FILTER (WHERE band IS NOT NULL) AS scored_count",
    ]
)
ACCOUNT_SELECTS = f"""
    SELECT 'closed' AS family, owner, COUNT(*) AS closed_count, SUM(arr_up) AS arr_up,
           SUM(retained) AS retained
    FROM closed GROUP BY owner
    UNION ALL BY NAME
    SELECT 'open' AS family, owner, COUNT(*) AS open_count, SUM(arr_up) AS open_arr,
           SUM(CASE WHEN replaced THEN arr_up ELSE arr_up * p END) AS expected,
           SUM(CASE WHEN replaced THEN 0 ELSE arr_up * arr_up * p * (1 - p) END) AS variance,
           COUNT(*) FILTER (WHERE unpriced) AS unpriced,
           COALESCE(SUM(arr_up) FILTER (WHERE replaced), 0) AS replaced_arr
    FROM open_due GROUP BY owner
    UNION ALL BY NAME
    SELECT 'cohort' AS family, owner, {COHORT_SUMS} FROM cohort GROUP BY owner
    UNION ALL BY NAME
    SELECT 'book' AS family, owner_t AS owner, {BOOK_SUMS}
    FROM per_account GROUP BY owner_t
"""


def _account_query(db: Database, filters: Filters, w: Window, snapshot: date | None):
    """Families closed, open, cohort and book: one statement over renewals, the forecast,
    contracts and health."""
    forecast, fbind = _forecast(db, filters, w) if w.projecting else (_no_forecast(), [])
    acc, scope = accounts_cte(filters)
    return (
        f"{forecast}, {_values_cte()}, {acc}, {_relations(filters)} {ACCOUNT_SELECTS}",
        [*fbind, *_values(w, snapshot), *scope],
    )


def _expansion_query(filters: Filters, w: Window) -> tuple[str, list[Any]]:
    """Families won and pipe: expansions won to date, opportunities open on the as-of date
    expected to close by the period's end (those whose expected close date is past included
    when the period holds the as-of date, as overdue renewals; for a later period, those
    expected in it)."""
    acc, scope = accounts_cte(filters)
    close = known_on_latest("v.a", "e.close_date")
    return (
        f"""WITH {_values_cte()}, {acc}
    SELECT 'won' AS family, os.owner_csm_id AS owner, COUNT(*) AS won_count,
           SUM(COALESCE(e.amount_arr, 0)) AS won_arr
    FROM expansions e {in_scope(filters, "e")} CROSS JOIN v
    LEFT JOIN owner_spans os ON {owner_on("e.close_date", "e.account_id")}
    WHERE e.outcome = 'won' AND e.close_date >= v.s AND e.close_date <= v.t
    GROUP BY os.owner_csm_id
    UNION ALL BY NAME
    SELECT 'pipe' AS family, os.owner_csm_id AS owner, COUNT(*) AS open_count,
           SUM(COALESCE(e.amount_arr, 0)) AS open_arr,
           SUM(COALESCE(e.amount_arr, 0) ^ 2) AS open_sq
    FROM expansions e {in_scope(filters, "e")} CROSS JOIN v
    LEFT JOIN owner_spans os ON {owner_on("v.a", "e.account_id")}
    WHERE v.projecting AND {expansion_open_on("v.a", "e")}
      AND {close} >= v.first_due AND {close} <= v.l
    GROUP BY os.owner_csm_id""",
        [*_values(w, None), *scope],
    )


def _hygiene_query(db: Database, filters: Filters, day: date) -> tuple[str, list[Any]]:
    """Family hygiene: the open renewals checked on `day` per owner then."""
    acc_filters = account_filters(filters)
    checks = known_checks(db, acc_filters, day)
    sql, bind = hygiene_sql(db, acc_filters, day, hygiene_params().window_days, checks)
    return (
        f"""{sql}
        SELECT 'hygiene' AS family, os.owner_csm_id AS owner, COUNT(*) AS renewals,
               COUNT(*) FILTER (WHERE NOT hy.fails_any) AS passing
        FROM hy CROSS JOIN (SELECT CAST(? AS DATE) AS t) v
        LEFT JOIN owner_spans os ON {owner_on("v.t", "hy.account_id")}
        GROUP BY os.owner_csm_id""",
        [*bind, day],
    )


def owner_sums(db: Database, filters: Filters, w: Window, snapshot: date | None) -> pd.DataFrame:
    """Every family's sums per owner key. Column `family`, `owner` (NULL: unowned), `segment`
    (book rows only), then per family (NULL in other families' rows):

    - closed: closed_count, arr_up, retained (renewals closed in [start, to_date]);
    - open: open_count, open_arr, expected (Σ arr_up·p), variance (Σ arr_up²·p·(1−p)) of the
      open renewals projected (due in the rest of the period, overdue included), unpriced
      (how many have no p: no renewal model on the as-of date), replaced_arr (Σ arr_up of
      those already `replaced`: a successor contract is active on the as-of date, so they
      count as retained in full: p = 1 in expected, no variance);
    - cohort: COHORT_COLUMNS;
    - book (per owner on to_date): BOOK_COLUMNS, book_<i> the ARR of segment SEGMENTS[i],
      then green_arr, scored_arr, scored_count (health at `snapshot`, the latest weekly
      snapshot on or before to_date);
    - won: won_count, won_arr; pipe: open_count, open_arr, open_sq (Σ amount²) of the
      opportunities open on the as-of date expected to close by the period's end (overdue
      ones included when the period holds the as-of date, as overdue renewals). Their
      expected close date is known only on the build's as-of date (`known_on_latest`, as on
      the Upsell tab): on an earlier day none is dated, so none is projected;
    - hygiene: renewals (open on `snapshot`, due within the hygiene window, overdue included:
      services/renewal_hygiene.py) and passing (failing no check known then), per owner then.
      Read on the weekly snapshot like green share: the open renewals of a snapshot date are
      stored with the build, another day's are computed from the call history (~0.4 s at 100k
      accounts). Without any snapshot on or before to_date, on to_date itself.

    Three statements run at once (each on its own cursor): planning a statement is single
    threaded, and the three share nothing.
    """
    results = db.query_many(
        {
            "accounts": _account_query(db, filters, w, snapshot),
            "expansions": _expansion_query(filters, w),
            "hygiene": _hygiene_query(db, filters, snapshot or w.to_date),
        }
    )
    return pd.concat(list(results.values()), ignore_index=True)


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
