"""Renewal forecast on a day: what the model expects us to keep, beside what the CSMs call.

The model (ARCHITECTURE §4 "Renewal forecast"), fitted on the day with only what was known then:

- r(segment, band) = Σ retained / Σ ARR up over the renewals CLOSED in the trailing
  `forecast_trailing_quarters` (8) quarters before the day (closed date in (day − 24 months,
  day]; a closed row without a closed date counts from its renewal date, as everywhere).
  Retained = min(renewed ARR, ARR up), 0 when churned (`retained_arr_sql`).
- The band of a closed renewal is its band when it was scored: the account's snapshot
  `VALIDATION_LEAD_DAYS` (90) before the renewal date, as the health backtest scores it
  (`renewal_scores`), so the rates read "renewals whose account was red a quarter ahead kept
  x%". It is used only if that snapshot is on or before the day (a renewal closed early may have
  been scored later than the day: it then counts toward its segment and overall only, as does a
  renewal that was never scored).
- A (segment, band) group with fewer than `forecast_min_renewals` (20) closed renewals falls
  back to its segment's rate, a segment with fewer to the overall rate (used whatever its n,
  the page saying when it is under the minimum). No closed renewal at all: no model.
- The model is fitted on every renewal, not on the view's filters: a renewal's forecast is the
  same in every view, and the teams' and CSMs' figures add up to the total. (When a viewer
  scope arrives, `renewal_rates` is the one place to apply it.)

Applied to the renewals open on the day (`services.open_renewals`: known then, not closed by
then, the call known then, the health band on the day), each renewal is an independent draw:
it keeps its ARR up with probability p = r(segment, band on the day) (its segment's rate when it
has no band on the day), else nothing. Expected retained ARR = Σ arr_up·p, variance Σ arr_up²·
p·(1 − p); the 80% range is expected ± 1.2816 standard deviations (normal approximation), held
within [0, Σ ARR up]. The CSMs' call is the ARR up of the renewals called commit or probable.

Windows are the Pipeline tab's (`services.renewal_pipeline.buckets`): overdue, then the day's
calendar quarter (from the day) and the 3 after it. The fiscal-year projection of GRR and NRR
(`projected_retention`) is defined in the metric registry ("projected_grr").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.fiscal import fiscal_year
from services.health_model import BANDS
from services.open_renewals import open_renewals_sql
from services.renewal_pipeline import buckets, horizon_end
from services.settings import load_settings
from services.sql_fragments import (
    RETENTION_RATIOS,
    arr_on,
    cohort_member,
    contract_active_on,
    movement_sums,
    renewal_closed_by,
)

Z80 = 1.2815515655446004  # two-sided 80% normal quantile: 10% of the mass beyond each end
CALLED = ("commit", "probable")  # the CSMs' call counted as ARR kept
# Where a renewal's rate comes from: its segment × band group, its segment, or all renewals.
LEVELS = ("group", "segment", "overall")
Run = Callable[[str, list[Any]], pd.DataFrame]  # a query runner: Database.query or a build's


# ---- settings and dates ------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSettings:
    """The model's parameters (settings CSOPS_FORECAST_*)."""

    trailing_quarters: int = 8
    min_renewals: int = 20


def model_settings() -> ModelSettings:
    s = load_settings()
    return ModelSettings(s.forecast_trailing_quarters, s.forecast_min_renewals)


def months_before(d: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when it is shorter)."""
    index = d.year * 12 + d.month - 1 - months
    year, month = index // 12, index % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def history_since(day: date, quarters: int) -> date:
    """Closed dates after this (and on or before `day`) fit the model on `day`."""
    return months_before(day, 3 * quarters)


# ---- one definition of "retained" --------------------------------------------------------------
def retained_arr_sql(renewal: str = "r") -> str:
    """ARR a closed renewal kept: min(renewed ARR, ARR up); churned keeps 0 (ARCHITECTURE §4
    "Renewal rate (ARR)": expansion counts only up to the amount that was up)."""
    r = renewal
    return (
        f"CASE WHEN {r}.outcome = 'churned' THEN 0 "
        f"ELSE LEAST(COALESCE({r}.renewed_arr, 0), {r}.arr_up_for_renewal) END"
    )


# ---- the rates ---------------------------------------------------------------------------------
def rate_groups_sql() -> str:
    """Closed renewals of (since, day] (binds day, since) summed per (segment, band), per
    segment and overall: level, segment, band, renewals, arr_up, retained."""
    return f"""
        WITH hist AS (
            SELECT ad.segment, CASE WHEN s.scored_on <= v.d THEN s.band END AS band,
                   r.arr_up_for_renewal AS arr_up, {retained_arr_sql()} AS retained
            FROM renewals r
            CROSS JOIN (SELECT CAST(? AS DATE) AS d, CAST(? AS DATE) AS since) v
            JOIN account_dim ad ON ad.account_id = r.account_id
            LEFT JOIN renewal_scores s ON s.renewal_id = r.renewal_id
            WHERE {renewal_closed_by("v.d")} AND COALESCE(r.closed_date, r.renewal_date) > v.since
        )
        SELECT CASE WHEN GROUPING(segment) = 1 THEN 'overall'
                    WHEN GROUPING(band) = 1 THEN 'segment' ELSE 'group' END AS level,
               segment, band, COUNT(*) AS renewals, COALESCE(SUM(arr_up), 0) AS arr_up,
               COALESCE(SUM(retained), 0) AS retained
        FROM hist
        GROUP BY GROUPING SETS ((segment, band), (segment), ())
    """


@dataclass(frozen=True)
class Rates:
    """The fitted model on a day: per (segment, band) the rate used and where it comes from.

    `table`: one row per segment of the data × band (red, yellow, green, and None: no band)
    with the group's own closed renewals, ARR up and rate (shown even when too few to be used),
    the segment's renewals and rate, and `p`, `level`: the rate used and its level. `overall`
    is the last fallback (None: no closed renewal at all, no model).
    """

    day: date
    since: date
    min_renewals: int
    table: pd.DataFrame
    overall: float | None
    overall_renewals: int

    @property
    def fitted(self) -> bool:
        return self.overall is not None

    def lookup(self) -> tuple[list[str], list[str | None], list[float | None], list[str]]:
        """(segments, bands, p, levels) to bind as arrays in SQL."""
        t = self.table
        return (
            t["segment"].tolist(),
            [None if pd.isna(b) else b for b in t["band"]],
            [None if pd.isna(p) else float(p) for p in t["p"]],
            t["level"].tolist(),
        )


def _rate(retained: float, arr_up: float) -> float | None:
    return retained / arr_up if arr_up > 0 else None


def resolve_rates(
    groups: pd.DataFrame, segments: list[str], day: date, since: date, min_renewals: int
) -> Rates:
    """The fallback rule on the summed groups (`rate_groups_sql`): a (segment, band) group with
    at least `min_renewals` renewals uses its own rate, else its segment's if the segment has
    that many, else the overall rate. A renewal without a band uses its segment's (or overall)."""
    overall_row = groups[groups["level"] == "overall"]
    overall_n = int(overall_row["renewals"].sum()) if not overall_row.empty else 0
    overall = (
        _rate(float(overall_row["retained"].iloc[0]), float(overall_row["arr_up"].iloc[0]))
        if overall_n
        else None
    )
    seg = groups[groups["level"] == "segment"].set_index("segment")
    grp = groups[groups["level"] == "group"]
    rows = []
    for segment in segments:
        s_n = int(seg.at[segment, "renewals"]) if segment in seg.index else 0
        s_rate = (
            _rate(float(seg.at[segment, "retained"]), float(seg.at[segment, "arr_up"]))
            if s_n
            else None
        )
        s_ok = s_n >= min_renewals and s_rate is not None
        for band in (*BANDS, None):
            if band is None:
                g = grp[(grp["segment"] == segment) & grp["band"].isna()]
            else:
                g = grp[(grp["segment"] == segment) & (grp["band"] == band)]
            n = int(g["renewals"].sum()) if not g.empty else 0
            arr_up = float(g["arr_up"].sum()) if not g.empty else 0.0
            own = _rate(float(g["retained"].sum()), arr_up) if n else None
            if band is not None and n >= min_renewals and own is not None:
                p, level = own, "group"
            elif s_ok:
                p, level = s_rate, "segment"
            else:
                p, level = overall, "overall"
            rows.append(
                {
                    "segment": segment,
                    "band": band,
                    "renewals": n,
                    "arr_up": arr_up,
                    "rate": own,
                    "segment_renewals": s_n,
                    "segment_rate": s_rate,
                    "p": p,
                    "level": level,
                }
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "segment",
            "band",
            "renewals",
            "arr_up",
            "rate",
            "segment_renewals",
            "segment_rate",
            "p",
            "level",
        ],
    )
    return Rates(day, since, min_renewals, table, overall, overall_n)


def fit_rates(run: Run, day: date, settings: ModelSettings | None = None) -> Rates:
    """Fit the model on `day` through a query runner (the app's Database or a build's cursor)."""
    settings = settings or ModelSettings()
    since = history_since(day, settings.trailing_quarters)
    groups = run(rate_groups_sql(), [day, since])
    segments = run("SELECT DISTINCT segment FROM account_dim ORDER BY segment", [])
    return resolve_rates(groups, segments["segment"].tolist(), day, since, settings.min_renewals)


RATE_COLUMNS = (
    "segment",
    "band",
    "renewals",
    "arr_up",
    "rate",
    "segment_renewals",
    "segment_rate",
    "p",
    "level",
)


@memoize
def _stored_dates(db: Database) -> frozenset[date]:
    """The days the build stored the forecast for (`forecast_rates`, `forecast_open`)."""
    df = db.query("SELECT DISTINCT snapshot_date FROM forecast_rates")
    return frozenset(pd.Timestamp(d).date() for d in df["snapshot_date"])


@memoize
def _rates(db: Database, day: date, settings: ModelSettings) -> Rates:
    if day in _stored_dates(db):
        t = db.query(
            f"SELECT {', '.join(RATE_COLUMNS)}, since, overall, overall_renewals, min_renewals "
            "FROM forecast_rates WHERE snapshot_date = ? ORDER BY segment, band NULLS LAST",
            [day],
        )
        first = t.iloc[0]
        table = t[list(RATE_COLUMNS)].astype(object).where(t[list(RATE_COLUMNS)].notna(), None)
        return Rates(
            day,
            pd.Timestamp(first["since"]).date(),
            int(first["min_renewals"]),
            table.reset_index(drop=True),
            None if pd.isna(first["overall"]) else float(first["overall"]),
            int(first["overall_renewals"]),
        )
    return fit_rates(db.query, day, settings)


def renewal_rates(db: Database, filters: Filters, day: date) -> Rates:
    """The model fitted on `day` (closed renewals of the trailing quarters, known then).

    `filters` do not narrow the fit: the model is the company's (see the module docstring), so a
    renewal's forecast does not depend on the view.
    """
    del filters  # the view's filters select the renewals forecast, not the fit
    return _rates(db, day, model_settings())


# ---- the forecast relation ---------------------------------------------------------------------
def forecast_sql(
    filters: Filters, day: date, rates: Rates, first: date | None, end: date | None
) -> tuple[str, list[Any]]:
    """`WITH open_renewals AS (...), rates AS (...), forecast AS (...)` + parameters: the open
    renewals on `day` (renewal date in [first, end); first=None keeps the overdue ones) with
    `p` (the rate used; NULL when there is no model), `level`, `called` (commit or probable,
    known on the day), every column of `open_renewals`, and for the fiscal-year projection
    `in_arr` (its ARR is in ARR(day): its contract is active then, or it has none and is not
    overdue) and `replaced` (a contract of the account starting on or after its renewal date
    is active on the day)."""
    sql, bind = open_renewals_sql(filters, day, first, end)
    segments, bands, ps, levels = rates.lookup()
    calls = ", ".join(f"'{c}'" for c in CALLED)
    sql += f""",
        rates AS (
            SELECT unnest(CAST(? AS VARCHAR[])) AS segment, unnest(CAST(? AS VARCHAR[])) AS band,
                   unnest(CAST(? AS DOUBLE[])) AS p, unnest(CAST(? AS VARCHAR[])) AS level
        ), forecast AS (
            SELECT o.*, COALESCE(t.p, CAST(? AS DOUBLE)) AS p,
                   COALESCE(t.level, 'overall') AS level,
                   COALESCE(o.forecast_category IN ({calls}), FALSE) AS called,
                   CASE WHEN fc.contract_id IS NULL THEN NOT o.overdue
                        ELSE {contract_active_on("fv.d", "fc")} END AS in_arr,
                   EXISTS (SELECT 1 FROM contracts c2
                           WHERE c2.account_id = o.account_id
                             AND c2.start_date >= o.renewal_date
                             AND {contract_active_on("fv.d", "c2")}) AS replaced
            FROM open_renewals o
            CROSS JOIN (SELECT CAST(? AS DATE) AS d) fv
            JOIN renewals fr ON fr.renewal_id = o.renewal_id
            LEFT JOIN contracts fc ON fc.contract_id = fr.contract_id
            LEFT JOIN rates t ON t.segment = o.segment AND t.band IS NOT DISTINCT FROM o.band
        )
    """
    return sql, [*bind, segments, bands, ps, levels, rates.overall, day]


# The columns of a forecast row as stored (`forecast_open`) and as computed live.
STORED_COLUMNS = (
    "renewal_id, account_id, renewal_date, overdue, arr_up, p, level, forecast_category, "
    "called, in_arr, replaced"
)


def forecast_relation(
    db: Database, filters: Filters, day: date, end: date
) -> tuple[str, list[Any]]:
    """`WITH ... forecast AS (...)`: the open renewals on `day` dated before `end` (overdue
    ones included) under `filters`, with their rate, from `forecast_open` when the build stored
    that day (every date the picker offers), else computed live (the same definition:
    `forecast_sql`). Columns: STORED_COLUMNS, name, segment, owner_csm_id, owner_name, team."""
    if day in _stored_dates(db):
        where, scope = filters.where("ad")
        return (
            f"""WITH forecast AS (
                SELECT fo.*, ad.name, ad.segment, ad.owner_csm_id, ad.owner_name, ad.team
                FROM forecast_open fo JOIN account_dim ad ON ad.account_id = fo.account_id
                WHERE fo.snapshot_date = ? AND fo.renewal_date < ? AND {where}
            )""",
            [day, end, *scope],
        )
    return forecast_sql(filters, day, renewal_rates(db, filters, day), None, end)


SUMS = """
    COUNT(*) AS renewals, COALESCE(SUM(arr_up), 0) AS arr_up,
    SUM(arr_up * p) AS expected, SUM(arr_up * arr_up * p * (1 - p)) AS variance,
    COALESCE(SUM(arr_up) FILTER (WHERE called), 0) AS called,
    COUNT(forecast_category) AS calls_known,
    COALESCE(SUM(arr_up) FILTER (WHERE forecast_category IS NULL), 0) AS uncalled_arr
"""
SUM_COLUMNS = (
    "renewals",
    "arr_up",
    "expected",
    "variance",
    "called",
    "calls_known",
    "uncalled_arr",
)


@memoize
def forecast_cells(db: Database, filters: Filters, day: date) -> pd.DataFrame:
    """The open renewals of the window on `day` (overdue, then 4 quarters) under `filters`,
    summed per quarter (first day; NULL: overdue), owner and rate level: the one query behind
    the chart, the KPIs and the gap table, so they agree by construction.

    Columns: quarter, owner_csm_id, owner_name, team, level, and SUM_COLUMNS.
    """
    sql, bind = forecast_relation(db, filters, day, horizon_end(day))
    return db.query(
        f"""{sql}
        SELECT CASE WHEN overdue THEN NULL
                    ELSE CAST(date_trunc('quarter', renewal_date) AS DATE) END AS quarter,
               owner_csm_id, owner_name, team, level, {SUMS}
        FROM forecast
        GROUP BY ALL
        """,
        bind,
    )


def _with_range(df: pd.DataFrame) -> pd.DataFrame:
    """Adds sd, low and high (the 80% range, held within [0, ARR up]) and the gap."""
    out = df.copy()
    expected = out["expected"].astype(float)
    sd = out["variance"].astype(float).clip(lower=0) ** 0.5
    out["sd"] = sd
    out["low"] = (expected - Z80 * sd).clip(lower=0)
    out["high"] = pd.concat([expected + Z80 * sd, out["arr_up"].astype(float)], axis=1).min(axis=1)
    out["gap"] = expected - out["called"].astype(float)
    return out


def _sum(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    cols = list(SUM_COLUMNS)
    if df.empty:
        return pd.DataFrame(columns=[*by, *cols])
    summed = df.groupby(by, dropna=False, as_index=False)[cols].sum(min_count=1)
    return summed


@dataclass(frozen=True)
class Forecast:
    """The forecast on a day: per bucket (overdue + 4 quarters) and in total."""

    day: date
    rates: Rates
    quarters: pd.DataFrame  # key, label, first, last, + sums, sd, low, high, gap
    total: dict[str, Any]
    calls_known: bool  # some open renewal of the view has a call known on the day

    @property
    def fitted(self) -> bool:
        return self.rates.fitted


def range_of(expected: float | None, variance: float, arr_up: float) -> tuple[float, float]:
    """The 80% range around `expected` for a sum of independent draws with `variance`."""
    if expected is None:
        return (math.nan, math.nan)
    sd = math.sqrt(max(variance, 0.0))
    return max(0.0, expected - Z80 * sd), min(arr_up, expected + Z80 * sd)


@memoize
def renewal_forecast(db: Database, filters: Filters, day: date) -> Forecast:
    """Expected retained ARR with its 80% range beside the CSMs' call, per quarter and in total."""
    cells = forecast_cells(db, filters, day)
    rates = renewal_rates(db, filters, day)
    keyed = cells.assign(
        key=[
            "overdue" if pd.isna(q) else pd.Timestamp(q).date().isoformat()
            for q in cells["quarter"]
        ]
    )
    per = _sum(keyed, ["key"]).set_index("key")
    rows = []
    for b in buckets(day, "quarter"):
        row = {"key": b.key, "label": b.label, "first": b.first, "last": b.last}
        for col in SUM_COLUMNS:
            value = per.at[b.key, col] if b.key in per.index else 0
            row[col] = 0 if pd.isna(value) and col not in ("expected", "variance") else value
        rows.append(row)
    quarters = pd.DataFrame(rows)
    for col in ("expected", "variance"):
        quarters[col] = quarters[col].astype(float)
        if rates.fitted:
            quarters[col] = quarters[col].fillna(0.0)
    quarters = _with_range(quarters)
    total = {col: float(quarters[col].sum()) for col in SUM_COLUMNS}
    if not rates.fitted:
        total["expected"] = math.nan
    total["low"], total["high"] = range_of(
        None if not rates.fitted else total["expected"], total["variance"], total["arr_up"]
    )
    total["gap"] = total["expected"] - total["called"]
    total["last"] = horizon_end(day) - timedelta(days=1)
    return Forecast(day, rates, quarters, total, bool(total["calls_known"]))


GAP_GROUPS = ("owner", "team")


@memoize
def forecast_gap(db: Database, filters: Filters, day: date, by: str = "owner") -> pd.DataFrame:
    """Model minus call per CSM (`by="owner"`) or team over the window's open renewals (overdue
    included), the largest absolute gap first.

    Columns: key (owner id or team; '' for no owner), name, team, renewals, arr_up, expected,
    called, gap (expected − called), gap_share (gap / ARR up), uncalled_arr, calls_known.
    """
    cells = forecast_cells(db, filters, day)
    if by == "team":
        out = _sum(cells, ["team"])
        out["key"] = out["team"]
        out["name"] = out["team"]
    else:
        out = _sum(cells, ["owner_csm_id", "owner_name", "team"])
        out["key"] = out["owner_csm_id"].fillna("")
        out["name"] = out["owner_name"]
    out["expected"] = out["expected"].astype(float)
    out["gap"] = out["expected"] - out["called"].astype(float)
    out["gap_share"] = out["gap"] / out["arr_up"].astype(float).where(out["arr_up"] > 0)
    out = out.assign(order=out["gap"].abs()).sort_values(
        ["order", "arr_up", "key"], ascending=[False, False, True]
    )
    return out[
        [
            "key",
            "name",
            "team",
            "renewals",
            "arr_up",
            "expected",
            "called",
            "gap",
            "gap_share",
            "uncalled_arr",
            "calls_known",
        ]
    ].reset_index(drop=True)


@memoize
def rate_levels(db: Database, filters: Filters, day: date) -> pd.DataFrame:
    """How many open renewals of the window (and their ARR up) take their rate from each level."""
    cells = forecast_cells(db, filters, day)
    out = _sum(cells, ["level"]).set_index("level").reindex(list(LEVELS))
    return out[["renewals", "arr_up"]].fillna(0).reset_index()


# ---- projected fiscal-year GRR and NRR ---------------------------------------------------------
@memoize
def projected_retention(db: Database, filters: Filters, day: date) -> dict[str, Any]:
    """Projected GRR and NRR of the fiscal year holding `day` (registry "projected_grr",
    "projected_nrr"): the cohort's movement from the FY's first day to `day` (actuals, the
    retention cards' fragments), then each cohort account's open renewals due before the FY
    ends at the model's rate.

    Returns fy (FiscalYear), to_date and projected (dicts of MOVEMENT_TOTALS with grr, nrr,
    logo_retention), expected_loss, expected_return, renewals (open renewals in the projection)
    and fitted (False: no model, projected is None).
    """
    fy = fiscal_year(day)
    rates = renewal_rates(db, filters, day)
    sql, bind = forecast_relation(db, filters, day, fy.end)
    where, scope = filters.where("ad")
    df = db.query(
        f"""{sql},
        acc AS (SELECT ad.account_id FROM account_dim ad WHERE {where}),
        per_account AS (
            SELECT c.account_id, {arr_on("?")} AS a0, {arr_on("?")} AS a_now
            FROM contracts c JOIN acc ON acc.account_id = c.account_id
            WHERE c.start_date <= ? AND c.end_date > ?
            GROUP BY c.account_id
        ), moves AS (
            -- Each open renewal due before the FY's end: still in today's ARR (in_arr) it
            -- loses ARR up × (1 − p); its term over without a new contract yet, it comes back
            -- as ARR up × p; replaced by a contract already running, today's ARR holds it.
            SELECT f.account_id,
                   SUM(CASE WHEN f.in_arr THEN f.arr_up * (1 - f.p) ELSE 0 END) AS loss,
                   SUM(CASE WHEN NOT f.in_arr AND NOT f.replaced THEN f.arr_up * f.p ELSE 0 END)
                       AS back,
                   COUNT(*) AS renewals
            FROM forecast f
            GROUP BY f.account_id
        ), proj AS (
            SELECT p.a0, p.a_now,
                   GREATEST(p.a_now - COALESCE(m.loss, 0) + COALESCE(m.back, 0), 0) AS a_proj,
                   COALESCE(m.loss, 0) AS loss, COALESCE(m.back, 0) AS back,
                   COALESCE(m.renewals, 0) AS renewals
            FROM per_account p LEFT JOIN moves m ON m.account_id = p.account_id
            WHERE {cohort_member("p.a0")}
        ), to_date AS (SELECT 'to_date' AS kind, {movement_sums("a0", "a_now")} FROM proj
        ), projected AS (SELECT 'projected' AS kind, {movement_sums("a0", "a_proj")} FROM proj)
        SELECT t.*, {RETENTION_RATIOS},
               (SELECT COALESCE(SUM(loss), 0) FROM proj) AS expected_loss,
               (SELECT COALESCE(SUM(back), 0) FROM proj) AS expected_return,
               (SELECT COALESCE(SUM(renewals), 0) FROM proj) AS renewals
        FROM (SELECT * FROM to_date UNION ALL SELECT * FROM projected) t
        """,
        [*bind, *scope, fy.start, fy.start, day, day, day, fy.start],
    )
    rows = {r["kind"]: r for r in df.to_dict("records")}

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        return {k: (None if pd.isna(v) else v) for k, v in row.items() if k != "kind"}

    to_date = clean(rows["to_date"])
    return {
        "fy": fy,
        "day": day,
        "to_date": to_date,
        "projected": clean(rows["projected"]) if rates.fitted else None,
        "expected_loss": float(rows["projected"]["expected_loss"]) if rates.fitted else None,
        "expected_return": float(rows["projected"]["expected_return"]) if rates.fitted else None,
        "renewals": int(rows["projected"]["renewals"]),
        "fitted": rates.fitted,
    }


# ---- build time --------------------------------------------------------------------------------
def create_forecast_weekly(con, dates: list[date]) -> None:
    """`forecast_rates` and `forecast_open`: the model fitted on each of `dates` (the days the
    as-of picker offers) and the window's open renewals on that day with their rate, so a
    request sums stored rows instead of fitting and joining the call history (the live path,
    `forecast_sql`, is the same definition; a test checks the two agree)."""

    def run(sql: str, params: list[Any]) -> pd.DataFrame:
        return con.execute(sql, params).df()

    settings = model_settings()
    con.execute("DROP TABLE IF EXISTS forecast_rates")
    con.execute(
        "CREATE TABLE forecast_rates (snapshot_date DATE, segment VARCHAR, band VARCHAR, "
        "renewals BIGINT, arr_up DOUBLE, rate DOUBLE, segment_renewals BIGINT, "
        "segment_rate DOUBLE, p DOUBLE, level VARCHAR, since DATE, overall DOUBLE, "
        "overall_renewals BIGINT, min_renewals INTEGER)"
    )
    con.execute("DROP TABLE IF EXISTS forecast_open")
    con.execute(
        "CREATE TABLE forecast_open (snapshot_date DATE, renewal_id VARCHAR, account_id VARCHAR, "
        "renewal_date DATE, overdue BOOLEAN, arr_up DOUBLE, p DOUBLE, level VARCHAR, "
        "forecast_category VARCHAR, called BOOLEAN, in_arr BOOLEAN, replaced BOOLEAN)"
    )
    for day in dates:
        rates = fit_rates(run, day, settings)
        rows = rates.table.assign(
            snapshot_date=day,
            since=rates.since,
            overall=rates.overall,
            overall_renewals=rates.overall_renewals,
            min_renewals=rates.min_renewals,
        )
        con.executemany(
            "INSERT INTO forecast_rates (snapshot_date, segment, band, renewals, arr_up, rate, "
            "segment_renewals, segment_rate, p, level, since, overall, overall_renewals, "
            "min_renewals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    day,
                    r["segment"],
                    None if pd.isna(r["band"]) else r["band"],  # pandas reads None as NaN
                    int(r["renewals"]),
                    float(r["arr_up"]),
                    _float(r["rate"]),
                    int(r["segment_renewals"]),
                    _float(r["segment_rate"]),
                    _float(r["p"]),
                    r["level"],
                    rates.since,
                    rates.overall,
                    rates.overall_renewals,
                    rates.min_renewals,
                ]
                for r in rows.to_dict("records")
            ],
        )
        sql, bind = forecast_sql(Filters(), day, rates, None, horizon_end(day))
        con.execute(
            f"INSERT INTO forecast_open SELECT * FROM ({sql} "
            f"SELECT CAST(? AS DATE) AS snapshot_date, {STORED_COLUMNS} FROM forecast)",
            [*bind, day],
        )
    con.execute(
        "CREATE TABLE forecast_open_sorted AS "
        "SELECT * FROM forecast_open ORDER BY snapshot_date, account_id"
    )
    con.execute("DROP TABLE forecast_open")
    con.execute("ALTER TABLE forecast_open_sorted RENAME TO forecast_open")


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
