"""Targets per person and bonus metric, each with the rule that set it (TARGET_RULES):

- company: the plan's target for the metric;
- book: what the person's book would have done historically, plus the uplift. The history is
  the company-wide value of the metric per segment x coverage tier over the 4 latest periods of
  the same kind closed on the view's as-of date (before the period; a period not over yet is
  left out, so a later period learns from the same closed periods as the current one),
  weighted by the person's book:
    grr / nrr / logo_retention: weight = ARR the person owned (owner_spans) on the period's
      first day (the as-of date when the period starts later);
    renewal_rate: weight = ARR up for renewal in the period on the accounts they owned then;
    expansion_arr: baseline = historical expansion ARR won per period per $ of ARR at the
      period's start, per cell, x the person's ARR in that cell (money, not a weighted mean).
  A cell without history uses the history of all cells together. green_share and hygiene have
  no such history: the company target, saying so.
- last: the person's actual in the last period of the same kind closed on the view's as-of
  date (the previous period, or an earlier one when the previous is not over yet; its
  `period_measures` as of the same day), plus the uplift; a person with no actual then gets the
  company target, saying so.
- override: a target set by hand in the plan (with its reason) wins over every rule.

Uplift: points of a share for rates (0.02 -> +2 points), a share of the baseline for money
(0.1 -> +10%). A rate that cannot exceed 100% (all but NRR) gets a target of at most 100%.

Money metrics (expansion ARR): the plan's company target is per CSM. A Manager or the
Director is measured on the sum of several books, so under the company rule (and wherever a
rule falls back to the company target) their target is the company target x the number of
CSMs they are measured on (`Measures.measured_csms`): "Company target x 8 CSMs". Every money
target (any rule but an override, which is set by hand) is then prorated by the share of the
period the person was employed, as the on-target bonus is: "prorated: employed 33% of the
period". Rates are neither scaled nor prorated.

Managers and the Director: the book rule weights the books they are measured on the same way,
summed cell by cell (their own, plus every CSM whose manager is them; the Director every book,
the accounts nobody owns included), exactly as the measures aggregate them
(services/comp_actuals_people.memberships). The last rule reads their own previous actual,
which the measures already aggregate over their team or everyone.

The SQL (two grouped queries returning a few dozen rows per person) is memoised; putting a plan
on top of it is pandas.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from services.cache import memoize
from services.comp_actuals import period_measures
from services.comp_actuals_people import csm_roster, memberships
from services.comp_actuals_sql import account_filters
from services.comp_periods import KINDS, Period, period_of
from services.comp_plan import OVERRIDE_RULE, TARGET_RULES, Curve, MetricPlan, Plan
from services.db import Database
from services.filters import Filters
from services.ownership import owner_on
from services.renewal_forecast import retained_arr_sql
from services.sql_fragments import arr_on, renewal_known_by

HISTORY_PERIODS = 4
UNOWNED = "__unowned__"
COHORT_METRICS = ("grr", "nrr", "logo_retention")
BOOK_METRICS = (*COHORT_METRICS, "renewal_rate", "expansion_arr")
AT_MOST_ONE = ("grr", "logo_retention", "renewal_rate", "green_share", "hygiene")
CELL = ["segment", "coverage_tier"]
COLUMNS = ["csm_id", "metric", "target", "rule", "rule_label", "baseline", "reason"]


def last_closed(period: Period, as_of: date) -> Period:
    """The latest period of the same kind before `period` that is closed on `as_of` (its data
    covers its last day): the previous one, unless that is not over yet."""
    p = period.previous()
    while not p.closed(as_of):
        p = p.previous()
    return p


def history_periods(period: Period, as_of: date) -> list[Period]:
    """The periods the book rule learns from: the HISTORY_PERIODS latest periods of the same
    kind before `period` closed on `as_of`, latest first."""
    periods = [last_closed(period, as_of)]
    while len(periods) < HISTORY_PERIODS:
        periods.append(periods[-1].previous())
    return periods


def book_day(period: Period, as_of: date) -> date:
    """The day a book is read: the period's first day, or the as-of date if that is earlier."""
    return min(period.start, as_of)


# ---- SQL (memoised) ----------------------------------------------------------------------------
HISTORY_COLUMNS = [
    *CELL,
    "start_arr",
    "kept_arr",
    "end_arr",
    "logos",
    "logos_kept",
    "renewal_up",
    "renewal_kept",
    "expansion_won",
]


def cell_history_sql(period: Period, as_of: date) -> tuple[str, list] | None:
    """The company-wide history query of `cell_history` and its parameters (None: no
    history period)."""
    periods = history_periods(period, as_of)
    if not periods:
        return None
    starts = [p.start.isoformat() for p in periods]
    d0 = [(p.start - timedelta(days=1)).isoformat() for p in periods]
    d1 = [p.last_day.isoformat() for p in periods]  # closed: their whole days
    sql = f"""
        WITH periods AS (
            SELECT unnest(CAST(? AS DATE[])) AS first_day, unnest(CAST(? AS DATE[])) AS d0,
                   unnest(CAST(? AS DATE[])) AS d1
        ),
        cohort AS (
            SELECT p.first_day, c.account_id, {arr_on("p.d0")} AS a0, {arr_on("p.d1")} AS a1
            FROM periods p JOIN contracts c ON c.start_date <= p.d1 AND c.end_date > p.d0
            GROUP BY p.first_day, c.account_id
        ),
        movement AS (
            SELECT ad.segment, ad.coverage_tier, SUM(a0) AS start_arr,
                   SUM(LEAST(a0, a1)) AS kept_arr, SUM(a1) AS end_arr, COUNT(*) AS logos,
                   COUNT(*) FILTER (WHERE a1 > 0) AS logos_kept
            FROM cohort JOIN account_dim ad ON ad.account_id = cohort.account_id
            WHERE a0 > 0
            GROUP BY ad.segment, ad.coverage_tier
        ),
        renewed AS (
            SELECT ad.segment, ad.coverage_tier, SUM(r.arr_up_for_renewal) AS renewal_up,
                   SUM({retained_arr_sql("r")}) AS renewal_kept
            FROM renewals r
            JOIN periods p ON r.outcome <> 'open'
                AND COALESCE(r.closed_date, r.renewal_date) BETWEEN p.first_day AND p.d1
            JOIN account_dim ad ON ad.account_id = r.account_id
            GROUP BY ad.segment, ad.coverage_tier
        ),
        won AS (
            SELECT ad.segment, ad.coverage_tier, SUM(e.amount_arr) AS expansion_won
            FROM expansions e
            JOIN periods p ON e.outcome = 'won' AND e.close_date BETWEEN p.first_day AND p.d1
            JOIN account_dim ad ON ad.account_id = e.account_id
            GROUP BY ad.segment, ad.coverage_tier
        ),
        cells AS (
            SELECT segment, coverage_tier FROM movement UNION
            SELECT segment, coverage_tier FROM renewed UNION
            SELECT segment, coverage_tier FROM won
        )
        SELECT cells.segment, cells.coverage_tier,
               COALESCE(m.start_arr, 0) AS start_arr, COALESCE(m.kept_arr, 0) AS kept_arr,
               COALESCE(m.end_arr, 0) AS end_arr, COALESCE(m.logos, 0) AS logos,
               COALESCE(m.logos_kept, 0) AS logos_kept, COALESCE(r.renewal_up, 0) AS renewal_up,
               COALESCE(r.renewal_kept, 0) AS renewal_kept,
               COALESCE(w.expansion_won, 0) AS expansion_won
        FROM cells
        LEFT JOIN movement m USING (segment, coverage_tier)
        LEFT JOIN renewed r USING (segment, coverage_tier)
        LEFT JOIN won w USING (segment, coverage_tier)
        ORDER BY cells.segment, cells.coverage_tier
    """
    return sql, [starts, d0, d1]


def create_target_history(con, as_of: date) -> None:
    """Build time: `target_history`, the history of the current quarter, half and year on the
    build's as-of date (the periods every compensation view opens on), so their first view
    reads 9 cells instead of scanning 4 periods of contracts. Other periods are computed live."""
    con.execute(
        "CREATE TABLE target_history (kind VARCHAR, period_start DATE, as_of DATE, "
        + ", ".join(f"{c} {'VARCHAR' if c in CELL else 'DOUBLE'}" for c in HISTORY_COLUMNS)
        + ")"
    )
    for kind in KINDS:
        period = period_of(as_of, kind)
        query = cell_history_sql(period, as_of)
        if query is not None:
            sql, params = query
            con.execute(
                f"INSERT INTO target_history SELECT ?, ?, ?, * FROM ({sql})",
                [kind, period.start, as_of, *params],
            )


@memoize
def cell_history(db: Database, period: Period, as_of: date) -> pd.DataFrame:
    """Company-wide sums per segment x coverage tier over the history periods: start_arr
    (ARR the day before each period, cohort accounts), kept_arr (min(start, end)), end_arr,
    logos, logos_kept, renewal_up / renewal_kept (renewals closed in the period),
    expansion_won (won expansions closed in the period). Read from `target_history`
    when the build stored that period and day."""
    query = cell_history_sql(period, as_of)
    if query is None:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    stored = db.query(
        f"SELECT {', '.join(HISTORY_COLUMNS)} FROM target_history "
        "WHERE kind = ? AND period_start = ? AND as_of = ? ORDER BY segment, coverage_tier",
        [period.kind, period.start, as_of],
    )
    if not stored.empty:
        return stored
    return db.query(*query)


@memoize
def book_cells(db: Database, filters: Filters, period: Period, as_of: date) -> pd.DataFrame:
    """Per owner and segment x coverage tier, the accounts (under the account filters) owned on
    the book day: book_arr (their ARR that day) and renewal_up (ARR up for renewal on renewals
    dated in the period, known on as_of). Accounts nobody owned that day are under UNOWNED
    (part of the Director's book, as of the Director's actual)."""
    where, scope = account_filters(filters).where("ad")
    sql = f"""
        WITH v AS (SELECT CAST(? AS DATE) AS day),
        owned AS (
            SELECT COALESCE(os.owner_csm_id, ?) AS csm_id, ad.account_id, ad.segment,
                   ad.coverage_tier
            FROM account_dim ad CROSS JOIN v
            LEFT JOIN owner_spans os ON {owner_on("v.day", "ad.account_id")}
            WHERE {where}
        ),
        arr AS (
            SELECT o.account_id, {arr_on("v.day")} AS arr
            FROM owned o CROSS JOIN v JOIN contracts c ON c.account_id = o.account_id
            GROUP BY o.account_id
        ),
        up AS (
            SELECT r.account_id, SUM(r.arr_up_for_renewal) AS renewal_up
            FROM renewals r LEFT JOIN contracts kc ON kc.contract_id = r.contract_id
            WHERE r.renewal_date >= ? AND r.renewal_date < ? AND {renewal_known_by("?", "kc")}
            GROUP BY r.account_id
        )
        SELECT o.csm_id, o.segment, o.coverage_tier, COALESCE(SUM(arr.arr), 0) AS book_arr,
               COALESCE(SUM(up.renewal_up), 0) AS renewal_up
        FROM owned o
        LEFT JOIN arr ON arr.account_id = o.account_id
        LEFT JOIN up ON up.account_id = o.account_id
        GROUP BY o.csm_id, o.segment, o.coverage_tier
        ORDER BY o.csm_id, o.segment, o.coverage_tier
    """
    params = [book_day(period, as_of), UNOWNED, *scope, period.start, period.end, as_of]
    return db.query(sql, params)


# ---- the book rule -----------------------------------------------------------------------------
def cell_rates(history: pd.DataFrame) -> pd.DataFrame:
    """Per cell (and '*', all cells together) the historical value of each book metric: a
    share for rates, expansion ARR won per period per $ of starting ARR for expansion."""
    total = history.drop(columns=CELL).sum().to_frame().T.assign(segment="*", coverage_tier="*")
    sums = pd.concat([history, total], ignore_index=True)

    def ratio(numerator: str, denominator: str) -> pd.Series:
        den = sums[denominator].astype(float)
        return sums[numerator].astype(float) / den.where(den > 0)

    return pd.DataFrame(
        {
            "segment": sums["segment"],
            "coverage_tier": sums["coverage_tier"],
            "grr": ratio("kept_arr", "start_arr"),
            "nrr": ratio("end_arr", "start_arr"),
            "logo_retention": ratio("logos_kept", "logos"),
            "renewal_rate": ratio("renewal_kept", "renewal_up"),
            "expansion_arr": ratio("expansion_won", "start_arr"),
        }
    )


def measured_books(cells: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """The book each person is measured on, per cell, summed by the one membership rule of
    the measures (services/comp_actuals_people.memberships): everyone their own; a manager
    also every CSM whose manager is them; the Director every book."""
    pairs = pd.DataFrame(
        memberships(members, cells["csm_id"].dropna().unique().tolist()),
        columns=["person", "csm_id"],
    )
    books = (
        pairs.merge(cells, on="csm_id").drop(columns="csm_id").rename(columns={"person": "csm_id"})
    )
    return books.groupby(["csm_id", *CELL], as_index=False)[["book_arr", "renewal_up"]].sum()


@memoize
def book_baselines(
    db: Database, filters: Filters, period: Period, as_of: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per person (csm_id index) the book rule's baseline of each book metric (NaN: no book or
    no history), and each person's book weights (book_arr, renewal_up totals)."""
    rates = cell_rates(cell_history(db, period, as_of))
    books = measured_books(book_cells(db, filters, period, as_of), csm_roster(db))
    overall = rates[rates["segment"] == "*"].iloc[0]
    merged = books.merge(rates, on=CELL, how="left")
    value = merged[list(BOOK_METRICS)].astype(float)
    value = value.fillna(overall[list(BOOK_METRICS)].astype(float))  # a cell with no history
    weight = pd.DataFrame(
        {m: merged["renewal_up" if m == "renewal_rate" else "book_arr"] for m in BOOK_METRICS}
    ).astype(float)
    known = value.notna() & (weight > 0)
    sums = (
        pd.concat(
            [
                (value * weight).where(known, 0.0).add_prefix("wx_"),
                weight.where(known, 0.0).add_prefix("w_"),
                merged[["book_arr", "renewal_up"]],
            ],
            axis=1,
        )
        .groupby(merged["csm_id"].to_numpy(dtype=object))
        .sum()
    )
    out = {}
    for metric in BOOK_METRICS:
        wx, w = sums[f"wx_{metric}"], sums[f"w_{metric}"].where(sums[f"w_{metric}"] > 0)
        # money: the expected amount (rate x ARR, summed); a rate: the weighted mean
        out[metric] = (wx + 0 * w) if metric == "expansion_arr" else wx / w
    return pd.DataFrame(out), sums[["book_arr", "renewal_up"]]


# ---- assembling the targets --------------------------------------------------------------------
def with_uplift(metric: MetricPlan, baseline: pd.Series) -> pd.Series:
    """The rule's baseline plus the uplift (points of a share, or a share of money)."""
    if metric.info.unit == "money":
        target = baseline * (1.0 + metric.uplift)
    else:
        target = baseline + metric.uplift
    target = target.clip(lower=0.0)
    return target.clip(upper=1.0) if metric.metric in AT_MOST_ONE else target


RULE_NAMES = {"book": "The book-adjusted rule", "last": "The last-period rule"}


def day_words(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _fallback(why: str) -> str:
    return f"{TARGET_RULES['company']} ({why})"


def _noted(label: str, note: str) -> str:
    """`label` with a note in its parentheses: "Company target (no book; <note>)"."""
    return f"{label[:-1]}; {note})" if label.endswith(")") else f"{label} ({note})"


def money_targets(targets: pd.DataFrame, plan: Plan, measures) -> pd.DataFrame:
    """The money metrics' targets per person (module docstring): company targets (and
    fallbacks to it) x the CSMs the person is measured on, then every rule's target prorated by
    the employed share; the labels say both."""
    money = {m.metric for m in plan.metrics if m.info.unit == "money"}
    if not money or targets.empty:
        return targets
    out = targets.copy()
    people = measures.people.set_index("csm_id")
    roles = out["csm_id"].map(people["role"]).to_numpy(dtype=object)
    shares = out["csm_id"].map(people["employed_share"]).astype(float).fillna(1.0).clip(0, 1)
    counts = out["csm_id"].map(lambda c: measures.measured_csms.get(c, 1)).astype(int)
    is_money = out["metric"].isin(money).to_numpy()
    company = TARGET_RULES["company"]
    labels, reasons = out["rule_label"].tolist(), out["reason"].tolist()
    factor = np.ones(len(out))
    for i in np.flatnonzero(is_money & (out["rule"] == "company").to_numpy()):
        n = int(counts.iat[i])
        if roles[i] != "CSM" and n > 0:  # a CSM is measured on one book: theirs
            factor[i] = n
            times = f"{company} x {n} CSM{'' if n == 1 else 's'}"
            labels[i] = labels[i].replace(company, times, 1)
    out["baseline"] = out["baseline"].astype(float) * factor
    prorate = is_money & (shares < 1.0).to_numpy()
    for i in np.flatnonzero(prorate):
        percent = min(round(100 * float(shares.iat[i])), 99)
        note = f"prorated: employed {percent}% of the period"
        labels[i] = _noted(labels[i], note)
        if reasons[i]:
            reasons[i] = f"{reasons[i]} The target is {note}."
    factor = factor * np.where(prorate, shares.to_numpy(), 1.0)
    out["target"] = out["target"].astype(float) * factor
    out["rule_label"], out["reason"] = labels, reasons
    return out


def _rule_rows(
    metric: MetricPlan, people: pd.Index, baseline: pd.Series, why_missing: pd.Series
) -> pd.DataFrame:
    """A rule's rows: the target from the baseline where there is one, else the company
    target with the reason (`why_missing`: a short phrase per person)."""
    baseline = baseline.reindex(people)
    has = baseline.notna()
    target = with_uplift(metric, baseline)
    why = why_missing.reindex(people).fillna("no value")
    return pd.DataFrame(
        {
            "csm_id": people,
            "metric": metric.metric,
            "target": target.where(has, metric.target).to_numpy(),
            "rule": np.where(has, metric.rule, "company"),
            "rule_label": np.where(has, TARGET_RULES[metric.rule], why.map(_fallback)),
            "baseline": baseline.where(has, metric.target).to_numpy(),
            "reason": np.where(
                has,
                "",
                RULE_NAMES.get(metric.rule, "The rule") + " has " + why + ": the "
                "company target applies.",
            ),
        }
    )


def _book_rows(db, filters, metric: MetricPlan, people: pd.Index, measures) -> pd.DataFrame:
    if metric.metric not in BOOK_METRICS:
        why = pd.Series("no history for this metric", index=people)
        return _rule_rows(metric, people, pd.Series(np.nan, index=people), why)
    baselines, totals = book_baselines(db, filters, measures.period, measures.as_of)
    weight = totals["renewal_up" if metric.metric == "renewal_rate" else "book_arr"]
    weight = weight.reindex(people).fillna(0.0)
    day = day_words(book_day(measures.period, measures.as_of))
    nothing = (
        f"no ARR up for renewal in the period on the book of {day}"
        if metric.metric == "renewal_rate"
        else f"no book on {day}"
    )
    why = pd.Series(np.where(weight > 0, "no history for the book's mix", nothing), index=people)
    return _rule_rows(metric, people, baselines[metric.metric], why)


def _last_rows(db, filters, metric: MetricPlan, people: pd.Index, measures) -> pd.DataFrame:
    last = last_closed(measures.period, measures.as_of)
    frame = period_measures(db, filters, last, measures.as_of).frame
    actual = frame.loc[frame["metric"] == metric.metric].set_index("csm_id")["actual"]
    why = pd.Series("no previous period", index=people)
    rows = _rule_rows(metric, people, actual[~actual.index.duplicated()].astype(float), why)
    if last != measures.period.previous():  # the previous period is not over yet: say which
        note = f"{last.label()}: the last period closed on {day_words(measures.as_of)}"
        used = rows["rule"] == "last"
        rows.loc[used, "rule_label"] = rows.loc[used, "rule_label"] + f" ({note})"
    return rows


def csm_targets(db: Database, filters: Filters, plan: Plan, measures) -> pd.DataFrame:
    """One row per (person in the measures' scope, metric of the plan): target, rule
    ('company' | 'book' | 'last' | 'override'), rule_label (words; a rule that fell back says
    why), baseline (the rule's value before the uplift), reason (an override's reason, or why
    a rule fell back) and rule_target (what the rule gives, also under an override).

    `measures` is `period_measures(db, filters, period, as_of)`: the targets are memoised by
    its period and as-of date and by what sets targets in the plan (its targets, rules, uplifts
    and overrides; not weights, curves or a what-if's scale), so a redraw or a what-if finds
    them in the cache."""
    return plan_targets(db, filters, target_rules(plan), measures.period, measures.as_of)


def target_rules(plan: Plan) -> Plan:
    """The part of a plan that sets targets: a plain Plan (no what-if scale) whose metrics keep
    their target, rule and uplift only (weights and curves do not change a target)."""
    metrics = tuple(
        MetricPlan(m.metric, 0.0, m.target, m.rule, m.uplift, Curve()) for m in plan.metrics
    )
    return Plan(plan.period, plan.effective_from, metrics, {}, None, dict(plan.overrides))


@memoize
def plan_targets(
    db: Database, filters: Filters, plan: Plan, period: Period, as_of: date
) -> pd.DataFrame:
    """csm_targets for the people of `period_measures(db, filters, period, as_of)`."""
    measures = period_measures(db, filters, period, as_of)
    people = measures.people
    people = pd.Index(people.loc[people["csm_id"] != UNOWNED, "csm_id"].astype(object))
    parts = []
    for metric in plan.metrics:
        if metric.rule == "book":
            rows = _book_rows(db, filters, metric, people, measures)
        elif metric.rule == "last":
            rows = _last_rows(db, filters, metric, people, measures)
        else:
            rows = pd.DataFrame(
                {
                    "csm_id": people,
                    "metric": metric.metric,
                    "target": metric.target,
                    "rule": "company",
                    "rule_label": TARGET_RULES["company"],
                    "baseline": metric.target,
                    "reason": "",
                }
            )
        parts.append(rows)
    targets = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    targets = money_targets(targets, plan, measures)
    targets["rule_target"] = targets["target"].astype(float)
    if plan.overrides:  # set by hand: wins over every rule (a lookup, not a loop per row)
        keys = pd.MultiIndex.from_arrays([targets["csm_id"], targets["metric"]])
        chosen = pd.Index(list(plan.overrides)).get_indexer(keys)
        hit = chosen >= 0
        overrides = list(plan.overrides.values())
        targets.loc[hit, "target"] = [overrides[i].target for i in chosen[hit]]
        targets.loc[hit, "reason"] = [overrides[i].reason for i in chosen[hit]]
        targets.loc[hit, "rule"] = "override"
        targets.loc[hit, "rule_label"] = OVERRIDE_RULE
    targets["target"] = targets["target"].astype(float)
    targets["baseline"] = targets["baseline"].astype(float)
    return targets[[*COLUMNS, "rule_target"]]
