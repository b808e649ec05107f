"""Compensation actuals: every bonus metric per person for a period, to date and projected.

`period_measures` is what attainment, targets, payouts, fairness and statements compute with:
per person in scope (services/comp_actuals_people.py) and metric of `METRICS`
(services/comp_plan.py, whose definitions are the contract), the actual to date with its
numerator and denominator, and the whole period projected from the renewal forecast of the
as-of date with an 80% range, best and worst cases. `attributed_lines` lists the renewals and
expansions that count for a person, with whom they were credited to and why.

Projection for the rest of the period (to_date, last day]: the open renewals due by the
period's end (overdue ones included) at the forecast's p (services/renewal_forecast.py), each an
independent draw: expected = to date + Σ arr_up·p, range = expected ± 1.2816·√Σ arr_up²·p·(1−p)
on the numerator, held between worst (every open renewal lost, p = 0) and best (every one kept
in full, p = 1). Expansion: won to date + the open opportunities expected to close in the rest at
the trailing-4-quarter win rate (count of won / won or lost). Green share and hygiene carry
their value on to_date (projected = best = worst = actual). Without a renewal model (no renewal
closed in the trailing quarters) or a win rate, a person with something open has no projection
(NaN); best and worst remain.

The SQL lives in services/comp_actuals_sql.py (one grouped query per metric family; only sums
per owner leave DuckDB). Managers and directors are sums of their people's sums, so a team's
rate is its people's pooled numerators over pooled denominators, never an average of rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from services.asof import snapshot_dates
from services.cache import memoize
from services.comp_actuals_people import (
    UNOWNED,
    memberships,
    people_in_scope,
    with_books,
)
from services.comp_actuals_sql import (
    BOOK_COLUMNS,
    COHORT_COLUMNS,
    Window,
    accounts_cte,
    closed_day_sql,
    owner_sums,
    win_rate,
)
from services.comp_periods import Period
from services.comp_plan import METRICS
from services.db import Database
from services.filters import Filters
from services.ownership import owner_on
from services.renewal_forecast import Z80, retained_arr_sql
from services.workload import SEGMENTS

FRAME_COLUMNS = (
    "csm_id",
    "metric",
    "actual",
    "numerator",
    "denominator",
    "projected",
    "projected_low",
    "projected_high",
    "best",
    "worst",
    "closed_count",
    "open_count",
)
LINE_COLUMNS = (
    "kind",
    "id",
    "account_id",
    "account_name",
    "closed_date",
    "arr_up",
    "amount",
    "retained",
    "outcome",
    "credited_to",
    "credited_name",
    "owner_now",
    "owner_now_name",
    "owned_from",
)


@dataclass(frozen=True)
class Measures:
    """Every bonus metric of every person in scope for one period, as of one day."""

    period: Period
    as_of: date
    to_date: date
    build_id: str
    frame: pd.DataFrame  # one row per (csm_id, metric): FRAME_COLUMNS
    people: pd.DataFrame  # one row per person: comp_actuals_people.PEOPLE_COLUMNS
    renewal_model: bool = True  # False: no renewal forecast model on the as-of date
    win_rate: float | None = None  # the expansion win rate the projection used

    def metric(self, key: str) -> pd.DataFrame:
        """The rows of one metric, indexed by csm_id."""
        return self.frame[self.frame["metric"] == key].set_index("csm_id")


# ---- the sums per owner -------------------------------------------------------------------------
# Each family of `owner_sums`: the prefix of its columns here and the columns it fills.
FAMILY_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "closed": ("ren_", ("closed_count", "arr_up", "retained")),
    "open": ("ren_", ("open_count", "open_arr", "expected", "variance", "unpriced")),
    "cohort": ("coh_", COHORT_COLUMNS),
    "won": ("exp_", ("won_count", "won_arr")),
    "pipe": ("exp_", ("open_count", "open_arr", "open_sq")),
    "hygiene": ("hyg_", ("renewals", "passing")),
    "book": ("", BOOK_COLUMNS),
}
SUM_COLUMNS = tuple(p + c for p, cols in FAMILY_COLUMNS.values() for c in cols)


def _owner_sums(db: Database, filters: Filters, w: Window) -> pd.DataFrame:
    """All families' sums per owner key (one row per key, UNOWNED for nobody): SUM_COLUMNS."""
    snaps = [d for d in snapshot_dates(db) if d <= w.to_date]
    raw = owner_sums(db, filters, w, snaps[-1] if snaps else None)
    owners = [UNOWNED if o is None or o != o else o for o in raw["owner"].tolist()]
    keys = list(dict.fromkeys(owners))
    at = {k: i for i, k in enumerate(keys)}
    row_of = np.array([at[o] for o in owners], dtype=int)
    families = raw["family"].to_numpy(dtype=object)
    totals = np.zeros((len(keys), len(SUM_COLUMNS)))
    first = 0
    for family, (_, cols) in FAMILY_COLUMNS.items():
        mask = families == family
        if mask.any():
            values = np.nan_to_num(raw.loc[mask, list(cols)].to_numpy(dtype=float))
            np.add.at(totals[:, first : first + len(cols)], row_of[mask], values)
        first += len(cols)
    return pd.DataFrame(totals, index=pd.Index(keys, name="owner"), columns=list(SUM_COLUMNS))


def _rolled_up(sums: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Each person's sums: the sum over the owner keys they are measured on."""
    people = list(dict.fromkeys(p for p, _ in pairs))
    person_at = {p: i for i, p in enumerate(people)}
    owner_at = {k: i for i, k in enumerate(sums.index.tolist())}
    index = [(person_at[p], owner_at[o]) for p, o in pairs if o in owner_at]
    totals = np.zeros((len(people), sums.shape[1]))
    if index:
        rows, cols = np.array(index).T
        np.add.at(totals, rows, sums.to_numpy(dtype=float)[cols])
    return pd.DataFrame(totals, index=pd.Index(people, name="csm_id"), columns=sums.columns)


# ---- the metrics from the sums ------------------------------------------------------------------
def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, np.asarray(num, dtype=float) / np.where(den > 0, den, 1), np.nan)


def _rate_rows(
    key: str,
    num,
    den,
    proj_num,
    proj_den,
    best_num,
    worst_num,
    sd,
    closed,
    opened,
    can_project,
) -> dict[str, Any]:
    """One rate metric's columns: actual = num / den; projected = proj_num / proj_den with the
    range ± Z80·sd on the numerator held within [worst_num, best_num]."""
    low = np.clip(proj_num - Z80 * sd, worst_num, best_num)
    high = np.clip(proj_num + Z80 * sd, worst_num, best_num)
    blank = ~can_project
    return {
        "metric": key,
        "actual": _ratio(num, den),
        "numerator": num,
        "denominator": den,
        "projected": np.where(blank, np.nan, _ratio(proj_num, proj_den)),
        "projected_low": np.where(blank, np.nan, _ratio(low, proj_den)),
        "projected_high": np.where(blank, np.nan, _ratio(high, proj_den)),
        "best": _ratio(best_num, proj_den),
        "worst": _ratio(worst_num, proj_den),
        "closed_count": closed,
        "open_count": opened,
    }


def _carried(key: str, num, den, count) -> dict[str, Any]:
    """A metric measured on to_date only: its value carries to the period's end."""
    value = _ratio(num, den)
    return {
        "metric": key,
        "actual": value,
        "numerator": num,
        "denominator": den,
        "projected": value,
        "projected_low": value,
        "projected_high": value,
        "best": value,
        "worst": value,
        "closed_count": count,
        "open_count": np.zeros(len(value)),
    }


def metric_frame(s: pd.DataFrame, renewal_model: bool, rate: float | None) -> pd.DataFrame:
    """FRAME_COLUMNS for every person (rows of `s`, the rolled-up sums) and metric."""
    c = {col: s[col].to_numpy(dtype=float) for col in s.columns}
    ren_open, coh_open, exp_open = c["ren_open_count"], c["coh_open_count"], c["exp_open_count"]
    ren_ok = np.full(len(s), renewal_model) | (ren_open == 0)
    coh_ok = np.full(len(s), renewal_model) | (coh_open == 0)
    arr_sd = np.sqrt(np.clip(c["coh_arr_variance"], 0, None))
    blocks = [
        _rate_rows(
            "renewal_rate",
            c["ren_retained"],
            c["ren_arr_up"],
            c["ren_retained"] + c["ren_expected"],
            c["ren_arr_up"] + c["ren_open_arr"],
            c["ren_retained"] + c["ren_open_arr"],
            c["ren_retained"],
            np.sqrt(np.clip(c["ren_variance"], 0, None)),
            c["ren_closed_count"],
            ren_open,
            ren_ok,
        ),
    ]
    start, logos = c["coh_start_arr"], c["coh_logos_start"]
    for key, num, proj, best, worst, sd, den in (
        ("grr", "kept_arr", "proj_kept", "best_kept", "worst_kept", arr_sd, start),
        ("nrr", "end_arr", "proj_end", "best_end", "worst_end", arr_sd, start),
        (
            "logo_retention",
            "logos_kept",
            "proj_logos",
            "best_logos",
            "worst_logos",
            np.sqrt(np.clip(c["coh_logo_variance"], 0, None)),
            logos,
        ),
    ):
        blocks.append(
            _rate_rows(
                key,
                c[f"coh_{num}"],
                den,
                c[f"coh_{proj}"],
                den,
                c[f"coh_{best}"],
                c[f"coh_{worst}"],
                sd,
                logos,
                coh_open,
                coh_ok,
            )
        )
    won, open_arr = c["exp_won_arr"], c["exp_open_arr"]
    w = math.nan if rate is None else rate
    exp_ok = (exp_open == 0) | (rate is not None)
    expected = won + (0.0 if rate is None else w) * open_arr
    sd = np.sqrt(np.clip((0.0 if rate is None else w * (1 - w)) * c["exp_open_sq"], 0, None))
    best = won + open_arr
    blocks.append(
        {
            "metric": "expansion_arr",
            "actual": won,
            "numerator": won,
            "denominator": np.full(len(s), np.nan),
            "projected": np.where(exp_ok, expected, np.nan),
            "projected_low": np.where(exp_ok, np.clip(expected - Z80 * sd, won, best), np.nan),
            "projected_high": np.where(exp_ok, np.clip(expected + Z80 * sd, won, best), np.nan),
            "best": best,
            "worst": won,
            "closed_count": c["exp_won_count"],
            "open_count": exp_open,
        }
    )
    blocks.append(_carried("green_share", c["green_arr"], c["scored_arr"], c["scored_count"]))
    blocks.append(_carried("hygiene", c["hyg_passing"], c["hyg_renewals"], c["hyg_renewals"]))
    # Person-major (each person's metrics in METRICS order): arrays of shape (metrics, people)
    # read column by column.
    blocks.sort(key=lambda b: list(METRICS).index(b["metric"]))
    n = len(s)
    out: dict[str, Any] = {
        "csm_id": np.tile(np.array(s.index.tolist(), dtype=object), len(blocks)),
        "metric": np.repeat(np.array([b["metric"] for b in blocks], dtype=object), n),
    }
    for col in FRAME_COLUMNS[2:]:
        out[col] = np.concatenate([np.asarray(b[col], dtype=float) for b in blocks])
    order = np.arange(n * len(blocks)).reshape(len(blocks), n).T.ravel()
    frame = pd.DataFrame({k: v[order] for k, v in out.items()})
    return frame.astype({"closed_count": int, "open_count": int})


# ---- the people shown ----------------------------------------------------------------------------
def _shown(people: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Team and owner filters select the people listed (team = the person's team, owner = the
    person); the Unowned row shows only when neither is set."""
    keep = pd.Series(True, index=people.index)
    if filters.team:
        keep &= people["team"].isin(filters.team)
    if filters.owner:
        keep &= people["csm_id"].isin(filters.owner)
    return people[keep]


@memoize
def _csms(db: Database) -> pd.DataFrame:
    return db.query(
        "SELECT csm_id, name, team, manager_id, role, hire_date, end_date FROM csms ORDER BY name"
    )


@memoize
def _win_rate(db: Database, as_of: date) -> float | None:
    return win_rate(db, as_of)


@memoize
def period_measures(db: Database, filters: Filters, period: Period, as_of: date) -> Measures:
    """Every metric of `METRICS` for every person in scope over `period` as of `as_of`: the
    actual to date (to_date = the period's last day, or `as_of` inside it) and the projection
    of the whole period. See the module docstring for the definitions."""
    w = Window(period, as_of)
    sums = _owner_sums(db, filters, w)
    people = people_in_scope(_csms(db), set(sums.index), period)
    rolled = _rolled_up(sums, memberships(people, sums.index.tolist()))
    book = rolled[[f"book_{i}" for i in range(len(SEGMENTS))]].set_axis(list(SEGMENTS), axis=1)
    people = with_books(people, book)
    shown = _shown(people, filters).reset_index(drop=True)
    # No renewal model on the as-of date: the forecast has no p for any open renewal.
    model = not sums["ren_unpriced"].any()
    rate = _win_rate(db, as_of) if w.projecting else None
    frame = metric_frame(rolled.loc[shown["csm_id"]], model, rate).reset_index(drop=True)
    return Measures(
        period=period,
        as_of=as_of,
        to_date=w.to_date,
        build_id=db.info().build_id,
        frame=frame,
        people=shown,
        renewal_model=model,
        win_rate=rate,
    )


# ---- the lines that count ----------------------------------------------------------------------
@memoize
def attributed_lines(
    db: Database, filters: Filters, period: Period, as_of: date, csm_id: str
) -> pd.DataFrame:
    """The renewals closed and expansions won in the period to date credited to `csm_id` or to
    anyone they are measured on (a Manager's team, everyone for a Director; UNOWNED: the lines
    nobody owned), oldest first. Columns: LINE_COLUMNS; `owner_now` is the owner on the as-of
    date, `owned_from` the first day of the credited owner's span (None: the account's only
    known owner, owning it all along)."""
    w = Window(period, as_of)
    members = _measured_on(_csms(db), csm_id)
    if members is not None and not members:
        return pd.DataFrame(columns=list(LINE_COLUMNS))
    acc, scope = accounts_cte(filters)
    closed_day = closed_day_sql("r")
    df = db.query(
        f"""WITH v AS (SELECT CAST(? AS DATE) AS s, CAST(? AS DATE) AS t, CAST(? AS DATE) AS a),
        {acc},
        lines AS (
            SELECT 'renewal' AS kind, r.renewal_id AS id, r.account_id, {closed_day} AS closed_date,
                   r.arr_up_for_renewal AS arr_up, r.renewed_arr AS amount,
                   {retained_arr_sql("r")} AS retained, r.outcome
            FROM renewals r JOIN acc ON acc.account_id = r.account_id CROSS JOIN v
            WHERE r.outcome <> 'open' AND {closed_day} <= v.t AND {closed_day} >= v.s
            UNION ALL
            SELECT 'expansion', e.opportunity_id, e.account_id, e.close_date,
                   NULL, COALESCE(e.amount_arr, 0), COALESCE(e.amount_arr, 0), e.outcome
            FROM expansions e JOIN acc ON acc.account_id = e.account_id CROSS JOIN v
            WHERE e.outcome = 'won' AND e.close_date >= v.s AND e.close_date <= v.t
        )
        SELECT l.kind, l.id, l.account_id, ad.name AS account_name, l.closed_date, l.arr_up,
               l.amount, l.retained, l.outcome,
               COALESCE(os.owner_csm_id, ?) AS credited_to,
               COALESCE(cc.name, 'Unowned') AS credited_name,
               COALESCE(onow.owner_csm_id, ?) AS owner_now,
               COALESCE(cn.name, 'Unowned') AS owner_now_name,
               CASE WHEN os.valid_from > DATE '1900-01-01' THEN os.valid_from END AS owned_from
        FROM lines l CROSS JOIN v
        JOIN account_dim ad ON ad.account_id = l.account_id
        LEFT JOIN owner_spans os ON {owner_on("l.closed_date", "l.account_id")}
        LEFT JOIN owner_spans onow ON {owner_on("v.a", "l.account_id", "onow")}
        LEFT JOIN csms cc ON cc.csm_id = os.owner_csm_id
        LEFT JOIN csms cn ON cn.csm_id = onow.owner_csm_id
        ORDER BY l.closed_date, l.kind DESC, l.id""",
        [w.period.start, w.to_date, w.as_of, *scope, UNOWNED, UNOWNED],
    )
    if members is not None:
        df = df[df["credited_to"].isin(members)]
    df = df[list(LINE_COLUMNS)].reset_index(drop=True)
    for col in ("closed_date", "owned_from"):  # plain dates (None: none), as a statement shows
        df[col] = pd.Series([_as_date(v) for v in df[col]], index=df.index, dtype=object)
    return df


def _as_date(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _measured_on(csms: pd.DataFrame, csm_id: str) -> set[str] | None:
    """The owner keys whose lines count for `csm_id` (None: every one, a Director's; empty:
    nobody of that id)."""
    if csm_id == UNOWNED:
        return {UNOWNED}
    row = csms[csms["csm_id"] == csm_id]
    if row.empty:
        return set()
    role = row["role"].iloc[0]
    if role == "Director":
        return None
    if role == "Manager":
        return {csm_id, *csms.loc[csms["manager_id"] == csm_id, "csm_id"]}
    return {csm_id}
