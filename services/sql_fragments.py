"""Metric formulas as SQL fragments, each written once (ARCHITECTURE §4) and used everywhere.

The cube build (`services/build.py`), the direct queries (`services/retention.py`), the
retention list, the Accounts list and Account 360 all build their SQL from these functions, so
a definition changes in one place. Each fragment takes the SQL expressions it applies to (a
table alias, a column, or a `?` placeholder); a fragment that names its argument twice binds a
placeholder twice, as its docstring says.

"A year before" is one function with an SQL twin: the same calendar day a year earlier, and 29
February becomes 28 February (DuckDB's `date - INTERVAL 1 YEAR` does the same; a test checks
the two agree on every day of several years).
"""

from __future__ import annotations

from datetime import date

# ---------------------------------------------------------------------------------------------
# A year before


def year_before(d: date) -> date:
    """The same calendar day a year earlier; 29 Feb becomes 28 Feb (so 2024-02-29 -> 2023-02-28,
    and the 12 months (year_before(d), d] hold 366 days when they span a 29 February)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def year_before_sql(day: str) -> str:
    """SQL twin of `year_before`: `day` (a DATE expression or `?`) a calendar year earlier."""
    return f"CAST({day} - INTERVAL 1 YEAR AS DATE)"


# ---------------------------------------------------------------------------------------------
# ARR on a day


def contract_active_on(day: str, contract: str = "c") -> str:
    """A contract (alias `contract`) counts toward ARR(`day`): start_date <= day < end_date.

    `day` appears twice: a `?` here binds the date twice.
    """
    return f"({contract}.start_date <= {day} AND {day} < {contract}.end_date)"


def arr_on(day: str, contract: str = "c") -> str:
    """ARR(`day`) as an aggregate over contract rows: Σ arr of those active on `day` (0 if none).

    `day` appears twice: a `?` here binds the date twice.
    """
    return f"COALESCE(SUM({contract}.arr) FILTER (WHERE {contract_active_on(day, contract)}), 0)"


def seats_on(day: str, contract: str = "c") -> str:
    """Contracted seats on `day`, the same way as `arr_on` (binds a `?` twice)."""
    return f"COALESCE(SUM({contract}.seats) FILTER (WHERE {contract_active_on(day, contract)}), 0)"


# ---------------------------------------------------------------------------------------------
# Cohort movement over [d0, d1): a0 = ARR(d0) > 0 (the cohort), a1 = ARR(d1)

MOVEMENTS = ("churned", "contracted", "expanded", "flat")


def _conditions(a0: str, a1: str) -> dict[str, str]:
    """The condition of each movement of one cohort account."""
    return {
        "churned": f"{a1} = 0",
        "contracted": f"{a1} > 0 AND {a1} < {a0}",
        "expanded": f"{a1} > {a0}",
    }


def cohort_member(a0: str = "a0") -> str:
    """An account is in the cohort when it had ARR at the start (new logos are excluded)."""
    return f"{a0} > 0"


def movement_case(a0: str = "a0", a1: str = "a1") -> str:
    """Each cohort account's movement: 'churned', 'contracted', 'expanded' or 'flat'."""
    whens = " ".join(f"WHEN {cond} THEN '{name}'" for name, cond in _conditions(a0, a1).items())
    return f"CASE {whens} ELSE 'flat' END"


# The sums every retention ratio is made of, in this order (cube columns, direct-query columns).
MOVEMENT_TOTALS = (
    "start_arr",
    "end_arr",
    "churned_arr",
    "contraction_arr",
    "expansion_arr",
    "logos_start",
    "logos_retained",
)


def movement_sums(a0: str = "a0", a1: str = "a1") -> str:
    """Aggregates over cohort rows, named as MOVEMENT_TOTALS: Σa0, Σa1, churned = Σa0 where
    a1 = 0, contraction = Σ(a0 − a1) where 0 < a1 < a0, expansion = Σ(a1 − a0) where a1 > a0,
    #cohort and #(a1 > 0)."""
    cond = _conditions(a0, a1)
    return f"""
        COALESCE(SUM({a0}), 0) AS start_arr, COALESCE(SUM({a1}), 0) AS end_arr,
        COALESCE(SUM({a0}) FILTER (WHERE {cond["churned"]}), 0) AS churned_arr,
        COALESCE(SUM({a0} - {a1}) FILTER (WHERE {cond["contracted"]}), 0) AS contraction_arr,
        COALESCE(SUM({a1} - {a0}) FILTER (WHERE {cond["expanded"]}), 0) AS expansion_arr,
        COUNT(*) AS logos_start, COUNT(*) FILTER (WHERE {a1} > 0) AS logos_retained
    """


def movement_totals_summed(alias: str = "") -> str:
    """Σ of each MOVEMENT_TOTALS column of partial sums (a cube's rows), under the same names."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"SUM({prefix}{col}) AS {col}" for col in MOVEMENT_TOTALS)


# GRR, NRR and logo retention over the totals (a relation with the MOVEMENT_TOTALS columns).
RETENTION_RATIOS = """
    (start_arr - churned_arr - contraction_arr) / NULLIF(start_arr, 0) AS grr,
    end_arr / NULLIF(start_arr, 0) AS nrr,
    logos_retained / NULLIF(logos_start, 0) AS logo_retention
"""


# ---------------------------------------------------------------------------------------------
# Renewals as known on a day (point in time)


def renewal_closed_by(day: str, renewal: str = "r") -> str:
    """The renewal had closed on `day`: its outcome is not 'open' and it closed on or before
    `day`. A closed row without a closed_date counts as closed from its renewal date.

    `day` appears once.
    """
    r = renewal
    return f"({r}.outcome <> 'open' AND COALESCE({r}.closed_date, {r}.renewal_date) <= {day})"


def renewal_known_by(day: str, contract: str = "c") -> str:
    """The renewal existed on `day`: the contract it renews (LEFT JOINed as `contract`) had
    started by then. A renewal without a contract counts as known. `day` appears once."""
    return f"({contract}.start_date IS NULL OR {contract}.start_date <= {day})"


def renewal_outcome_on(day: str, renewal: str = "r") -> str:
    """The renewal's outcome as known on `day`: 'open' until it closed. `day` appears once."""
    return f"CASE WHEN {renewal_closed_by(day, renewal)} THEN {renewal}.outcome ELSE 'open' END"


def known_on_latest(day: str, value: str) -> str:
    """`value`, a field the data holds only as it stands at the build's as-of date (the CSM's
    forecast call, risk reason, close plan), shown only when `day` is that date: on an earlier
    day its value then is unknown (NULL), and today's value would leak what happened since.
    `day` appears once."""
    return f"CASE WHEN {day} >= (SELECT MAX(as_of_date) FROM meta) THEN {value} END"


def calls_on_sql(day: str) -> str:
    """Relation: per renewal, the CSM's call as known on `day`. On or after the build's as-of
    date, the renewal's own fields (the call as it stands); before it, the latest
    `renewal_forecast_history` row dated on or before `day` (NULL without one: a call never
    leaks back from later). Columns: renewal_id, forecast_category, risk_reason, arr_called
    (the ARR up as the call saw it; NULL when unknown).

    `day` appears once. While a build derives its tables `meta` is still empty, so there every
    day reads the history. The latest row per renewal is an aggregate (arg_max over the rows
    dated on or before the day, read only before the build's date): ~40 ms over 5M history
    rows where an ASOF join took seconds.
    """
    return f"""
        WITH calls_day AS (
            SELECT CAST({day} AS DATE) AS d, (SELECT MAX(as_of_date) FROM meta) AS as_of
        ),
        calls_then AS (
            SELECT h.renewal_id,
                   arg_max_null(h.forecast_category, h.snapshot_date) AS forecast_category,
                   arg_max_null(h.risk_reason, h.snapshot_date) AS risk_reason,
                   arg_max_null(h.arr_up, h.snapshot_date) AS arr_up
            FROM renewal_forecast_history h CROSS JOIN calls_day v
            WHERE h.snapshot_date <= v.d AND (v.as_of IS NULL OR v.d < v.as_of)
            GROUP BY h.renewal_id
        )
        SELECT r.renewal_id,
               CASE WHEN v.d >= v.as_of THEN r.forecast_category ELSE h.forecast_category END
                   AS forecast_category,
               CASE WHEN v.d >= v.as_of THEN r.risk_reason ELSE h.risk_reason END
                   AS risk_reason,
               CASE WHEN v.d >= v.as_of THEN r.arr_up_for_renewal ELSE h.arr_up END
                   AS arr_called
        FROM renewals r CROSS JOIN calls_day v
        LEFT JOIN calls_then h ON h.renewal_id = r.renewal_id
    """


def next_renewal_sql(accounts: str = "") -> str:
    """Per account, its next renewal as known on a day: the earliest renewal known then and not
    closed by then. One whose date has passed without closing is still next (overdue), not
    skipped. Columns: account_id, renewal_date, arr_up_for_renewal, forecast_category (the CSM
    call known on the day, `calls_on_sql`), renewal_overdue.

    Binds the day twice (two `?`), then the parameters of `accounts`, an extra condition on the
    renewal `r` (e.g. "AND list_contains(?, r.account_id)").
    """
    first = "(r.renewal_date, r.renewal_id)"  # ties broken by id: the same row every time
    return f"""
        SELECT r.account_id, MIN(r.renewal_date) AS renewal_date,
               arg_min_null(r.arr_up_for_renewal, {first}) AS arr_up_for_renewal,
               arg_min_null(cl.forecast_category, {first}) AS forecast_category,
               MIN(r.renewal_date) < v.d AS renewal_overdue
        FROM renewals r CROSS JOIN (SELECT CAST(? AS DATE) AS d) v
        LEFT JOIN ({calls_on_sql("?")}) cl ON cl.renewal_id = r.renewal_id
        LEFT JOIN contracts c ON c.contract_id = r.contract_id
        WHERE {renewal_known_by("v.d")} AND NOT {renewal_closed_by("v.d")} {accounts}
        GROUP BY r.account_id, v.d
    """


def order_by(
    sort: tuple[tuple[str, str], ...], sortable: dict[str, str], default: str, tiebreak: str
) -> str:
    """ORDER BY list of a server-paged list: the chosen columns (allow-listed expressions only,
    missing values last), else `default`; then `tiebreak`, so pages never overlap."""
    order = [
        f"{sortable[f]} {'DESC' if d == 'desc' else 'ASC'} NULLS LAST"
        for f, d in sort
        if f in sortable
    ]
    return ", ".join([*(order or [default]), tiebreak])


def page_bounds(start: int, limit: int, max_rows: int = 1000) -> list[int]:
    """The bound LIMIT and OFFSET of one page, clamped to 1..max_rows rows from row 0 on."""
    return [max(1, min(int(limit), max_rows)), max(0, int(start))]
