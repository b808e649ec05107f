"""Bonus payout: attainment, payout to date and projected, per person, team and company, the
fairness flags and the fairness view. Pure pandas/numpy over a period's measures
(`services.comp_actuals.Measures`) and the targets (`services.comp_targets.csm_targets`): no
database, so a what-if (`services.comp_whatif`) recomputes in a few milliseconds.

The arithmetic (one wording, also on the Definitions page):
- attainment % = actual / target x 100; a target of 0 or an unknown actual: NaN, which pays 0;
- payout % = the metric's curve at that attainment (`Curve.payouts`);
- a person's on-target bonus for the period = the annual on-target bonus of their role x the
  period's share of a year x the share of the period they were employed;
- a metric pays on-target x weight / 100 x payout % / 100;
- projected: the same at the projected whole-period actual; its range is the payout at the
  low and at the high end of the projection, metric by metric, summed (a cautious range: it
  assumes every metric of a person lands low, or high, together);
- out of reach: even the best case (everything still open renews in full / is won) leaves the
  metric below the curve's threshold; trivial: the target is met even in the worst case.
  Green share and hygiene carry today's value to the period's end (no best or worst case), so
  they are never flagged while the period is open.

The "Unowned" pseudo-person of the measures (accounts nobody owned) is paid nothing and is not
listed here; the attainment page shows it from the measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.comp_actuals_metrics import CARRIED_METRICS
from services.comp_plan import METRICS, Plan

UNOWNED = "__unowned__"  # the measures' pseudo-person for accounts without an owner
MONEY_COLUMNS = ["on_target", "payout", "projected_payout", "projected_low", "projected_high"]
FAIRNESS_GROUPS = {"segment": "main_segment", "tenure": "tenure_band", "book size": "book_band"}


@dataclass(frozen=True)
class Payouts:
    """A period's payouts: per (person, metric), per person, per team and for the company."""

    lines: pd.DataFrame
    people: pd.DataFrame
    teams: pd.DataFrame
    company: dict


def on_target_bonus(people: pd.DataFrame, plan: Plan, year_fraction: float) -> np.ndarray:
    """Each person's on-target bonus for the period: the role's annual amount x the period's
    share of a year x the share of the period they were employed. An owner the CSM list does
    not know has no employment share (NaN): nothing is due to them."""
    annual = people["role"].map(lambda role: plan.on_target_bonus.get(role, 0.0)).astype(float)
    employed = people["employed_share"].astype(float).fillna(0.0).clip(0.0, 1.0)
    return (annual * year_fraction * employed).to_numpy()


def _attainment(actual: np.ndarray, target: np.ndarray) -> np.ndarray:
    """actual / target x 100; NaN where the target is 0 (or unknown) or the actual unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(target > 0, actual / target * 100.0, np.nan)


def _target_grids(targets: pd.DataFrame, ids: pd.Index, keys: list[str], scale):
    """targets[person, metric] (times the metric's what-if scale), rule and rule label as 2-D
    arrays (NaN / None where none): lookups by integer codes instead of merging strings."""
    shape = (len(ids), len(keys))
    person = ids.get_indexer(targets["csm_id"].to_numpy(dtype=object))
    metric = pd.Index(keys).get_indexer(targets["metric"].to_numpy(dtype=object))
    known = (person >= 0) & (metric >= 0)
    at = (person[known], metric[known])
    target = np.full(shape, np.nan)
    target[at] = targets["target"].to_numpy(dtype=float)[known]
    rule, label = np.full(shape, None, dtype=object), np.full(shape, None, dtype=object)
    rule[at] = targets["rule"].to_numpy(dtype=object)[known]
    label[at] = targets["rule_label"].to_numpy(dtype=object)[known]
    return target * np.array([scale.get(k, 1.0) for k in keys]), rule, label


def _lines(measures, targets: pd.DataFrame, plan: Plan, ids: pd.Index, on_target: np.ndarray):
    """One row per (person, metric of the plan) with attainment and payout, to date and
    projected, and the integer code of each row's person (for summing per person)."""
    keys = [m.metric for m in plan.metrics]
    frame = measures.frame
    person = ids.get_indexer(frame["csm_id"].to_numpy(dtype=object))
    metric = pd.Index(keys).get_indexer(frame["metric"].to_numpy(dtype=object))
    keep = (person >= 0) & (metric >= 0)
    frame = frame[keep].reset_index(drop=True)
    person, metric = person[keep], metric[keep]
    scale = getattr(plan, "target_scale", None) or {}
    targets_grid, rules_grid, labels_grid = _target_grids(targets, ids, keys, scale)
    target = targets_grid[person, metric]
    rule, rule_label = rules_grid[person, metric], labels_grid[person, metric]

    weight = np.array([m.weight for m in plan.metrics])[metric]
    threshold = np.array([m.curve.threshold for m in plan.metrics])[metric]
    attainment = {
        name: _attainment(frame[column].to_numpy(dtype=float), target)
        for name, column in (
            ("attainment", "actual"),
            ("projected_attainment", "projected"),
            ("low", "projected_low"),
            ("high", "projected_high"),
            ("best_attainment", "best"),
            ("worst_attainment", "worst"),
        )
    }
    pct = {name: np.zeros(len(frame)) for name in ("attainment", "projected_attainment", "low")}
    pct["high"] = np.zeros(len(frame))
    for code, m in enumerate(plan.metrics):  # one vectorised curve per metric
        rows = metric == code
        for name, out in pct.items():
            out[rows] = m.curve.payouts(attainment[name][rows])
    share = on_target[person] * weight / 100.0 / 100.0
    best, worst = attainment["best_attainment"], attainment["worst_attainment"]
    # A carried metric's best = worst = today's value: no bound while the period is open.
    bounded = np.ones(len(keys), dtype=bool)
    if measures.to_date < measures.period.last_day:
        bounded = np.array([k not in CARRIED_METRICS for k in keys], dtype=bool)
    flaggable = bounded[metric]
    with np.errstate(invalid="ignore"):
        out_of_reach = flaggable & ~np.isnan(best) & (best < threshold)
        trivial = flaggable & ~np.isnan(worst) & (worst >= 100.0)
    columns = {
        "csm_id": ids.to_numpy()[person],
        "metric": np.array(keys, dtype=object)[metric],
        "weight": weight,
        "target": target,
        "rule": rule,
        "rule_label": rule_label,
        "actual": frame["actual"].to_numpy(dtype=float),
        "attainment": attainment["attainment"],
        "payout_pct": pct["attainment"],
        "payout": share * pct["attainment"],
        "projected": frame["projected"].to_numpy(dtype=float),
        "projected_attainment": attainment["projected_attainment"],
        "projected_payout_pct": pct["projected_attainment"],
        "projected_payout": share * pct["projected_attainment"],
        "projected_payout_low": share * pct["low"],
        "projected_payout_high": share * pct["high"],
        "best_attainment": best,
        "worst_attainment": worst,
        "threshold": threshold,
        "out_of_reach": out_of_reach,
        "trivial": trivial,
    }
    return pd.DataFrame(columns), person


def _per_person(person: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    return np.bincount(person, weights=values, minlength=count)


def _weighted(person: np.ndarray, weight: np.ndarray, value: np.ndarray, count: int):
    """Per person: the weighted mean of a per-metric % over the metrics where it is known
    (NaN when none is)."""
    known = ~np.isnan(value)
    wx = _per_person(person, np.where(known, value * weight, 0.0), count)
    w = _per_person(person, np.where(known, weight, 0.0), count)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w > 0, wx / w, np.nan)


def _flags(lines: pd.DataFrame) -> dict[str, str]:
    """Per flagged person: 'Out of reach: Renewal rate (ARR); Trivially reached: NRR'. Flags
    are few, so a loop over the flagged lines only (a pandas apply per person is 50 ms)."""
    found: dict[str, dict[str, list[str]]] = {}
    csm, metric = lines["csm_id"].to_numpy(), lines["metric"].to_numpy()
    for column, words in (("out_of_reach", "Out of reach"), ("trivial", "Trivially reached")):
        flagged = lines[column].to_numpy()
        for who, key in zip(csm[flagged], metric[flagged], strict=True):
            found.setdefault(who, {}).setdefault(words, []).append(METRICS[key].label)
    return {
        who: "; ".join(f"{words}: {', '.join(labels)}" for words, labels in kinds.items())
        for who, kinds in found.items()
    }


def _teams(per_person: pd.DataFrame) -> pd.DataFrame:
    """Per team: people and the money columns summed (bincount: a groupby costs 15 ms)."""
    team = pd.Series(per_person["team"].to_numpy(dtype=object)).fillna("Unassigned")
    codes, names = pd.factorize(team, sort=True)
    count = len(names)
    return pd.DataFrame(
        {
            "team": np.asarray(names, dtype=object),
            "people": np.bincount(codes, minlength=count),
            **{
                c: np.bincount(codes, weights=per_person[c].to_numpy(), minlength=count)
                for c in MONEY_COLUMNS
            },
        }
    )


def compute_payouts(measures, targets: pd.DataFrame, plan: Plan) -> Payouts:
    """Attainment and payout, to date and projected, for everyone in the measures' scope."""
    people = measures.people
    people = people[people["csm_id"] != UNOWNED].reset_index(drop=True)
    ids = pd.Index(people["csm_id"].to_numpy(dtype=object))
    count = len(ids)
    on_target = on_target_bonus(people, plan, measures.period.year_fraction)
    lines, person = _lines(measures, targets, plan, ids, on_target)
    weight = lines["weight"].to_numpy()
    flags = _flags(lines)
    per_person = pd.DataFrame(
        {
            "csm_id": ids.to_numpy(),
            "name": people["name"].to_numpy(dtype=object),
            "team": people["team"].to_numpy(dtype=object),
            "role": people["role"].to_numpy(dtype=object),
            "on_target": on_target,
            **{
                name: _per_person(person, lines[column].to_numpy(), count)
                for name, column in (
                    ("payout", "payout"),
                    ("projected_payout", "projected_payout"),
                    ("projected_low", "projected_payout_low"),
                    ("projected_high", "projected_payout_high"),
                )
            },
            "attainment": _weighted(person, weight, lines["attainment"].to_numpy(), count),
            "projected_attainment": _weighted(
                person, weight, lines["projected_attainment"].to_numpy(), count
            ),
            "threshold": _weighted(person, weight, lines["threshold"].to_numpy(), count),
            "out_of_reach": _per_person(person, lines["out_of_reach"].to_numpy(), count) > 0,
            "trivial": _per_person(person, lines["trivial"].to_numpy(), count) > 0,
            "flags": [flags.get(csm, "") for csm in ids],
        }
    )
    teams = _teams(per_person)
    company = {c: float(per_person[c].sum()) for c in MONEY_COLUMNS}
    company["people"] = count
    company["budget"] = plan.budget
    company["budget_used"] = (
        company["projected_payout"] / plan.budget if plan.budget else None
    )  # the projected cost of the period against its budget
    company["budget_used_to_date"] = company["payout"] / plan.budget if plan.budget else None
    return Payouts(lines, per_person, teams, company)


def _group_stats(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    grouped = frame.groupby(by, sort=True, observed=True)
    attainment = grouped["projected_attainment"]
    stats = pd.DataFrame(
        {
            "people": grouped.size(),
            "median": attainment.median(),
            "p25": attainment.quantile(0.25),
            "p75": attainment.quantile(0.75),
            "share_at_threshold": grouped["at_threshold"].mean(),
            "share_at_target": grouped["at_target"].mean(),
            "out_of_reach": grouped["any_out_of_reach"].sum().astype(int),
            "trivial": grouped["any_trivial"].sum().astype(int),
        }
    )
    return stats.rename_axis("group").reset_index()


def fairness(payouts: Payouts, measures) -> dict[str, pd.DataFrame]:
    """Projected attainment of the CSMs (managers and the director are measured on others'
    books) by segment, tenure and book size: people, median and quartiles of the weighted
    projected attainment, the share at or above their weighted threshold, the share at or
    above target (100%), and how many have a metric flagged out of reach / trivial."""
    people = measures.people
    csms = people[people["role"] == "CSM"]
    paid = payouts.people.set_index("csm_id")
    frame = pd.DataFrame(
        {column: csms[column].to_numpy(dtype=object) for column in FAIRNESS_GROUPS.values()}
    )
    rows = paid.index.get_indexer(csms["csm_id"])
    for column in ("projected_attainment", "threshold", "out_of_reach", "trivial"):
        values = paid[column].to_numpy()[rows]
        frame[column] = np.where(rows >= 0, values, np.nan if values.dtype.kind == "f" else False)
    projected = frame["projected_attainment"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        frame["at_threshold"] = projected >= frame["threshold"].to_numpy(dtype=float)
        frame["at_target"] = projected >= 100.0
    frame["any_out_of_reach"] = frame["out_of_reach"].astype(bool)
    frame["any_trivial"] = frame["trivial"].astype(bool)
    return {name: _group_stats(frame, column) for name, column in FAIRNESS_GROUPS.items()}
