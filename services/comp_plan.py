"""A bonus plan: which metrics pay, their weights, targets and payout curves, and the on-target
bonus per role. Pure data and arithmetic, no database: the payout curve is defined here once.

Payout curve (per metric; x = attainment % = actual / target x 100, y = payout % of the
metric's share of the on-target bonus):
- below the threshold: 0;
- at the threshold: the payout at threshold, rising in a straight line to 100% at 100%
  attainment (a threshold of 100% pays 100% from there);
- above 100%: 100% + accelerator x (attainment - 100), never more than the cap.

A plan is a JSON payload in the app-state store (`services/comp_plan_store.py`); every saved
change is a new version with the date it takes effect. `validate` names each problem by its
field so the editor can mark it; nothing invalid is ever saved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from services.comp_periods import KINDS, is_period_start
from services.errors import ServiceError


@dataclass(frozen=True)
class MetricInfo:
    """What a bonus metric is, once: its name, unit and definition (shown beside the number)."""

    key: str
    label: str
    unit: str  # "rate" (a share, 0-1) or "money" (ARR)
    definition: str
    default_target: float


METRICS: dict[str, MetricInfo] = {
    m.key: m
    for m in (
        MetricInfo(
            "grr",
            "Gross revenue retention",
            "rate",
            "(ARR at the period's start - churn - contraction) / ARR at the start, over the "
            "accounts the CSM owned when their ARR changed (or at the period's end when it did "
            "not); expansion does not count.",
            0.97,
        ),
        MetricInfo(
            "nrr",
            "Net revenue retention",
            "rate",
            "ARR at the period's end / ARR at its start, over the same accounts as GRR: "
            "expansion counts.",
            1.0,
        ),
        MetricInfo(
            "logo_retention",
            "Logo retention",
            "rate",
            "Accounts still paying at the period's end / accounts paying at its start, over "
            "the same accounts as GRR.",
            0.97,
        ),
        MetricInfo(
            "expansion_arr",
            "Expansion ARR",
            "money",
            "ARR of the expansion opportunities won in the period, credited to the account's "
            "owner on the day each closed.",
            50_000.0,
        ),
        MetricInfo(
            "renewal_rate",
            "Renewal rate (ARR)",
            "rate",
            "Sum of min(renewed ARR, ARR up) / sum of ARR up, over the renewals closed in the "
            "period, credited to the account's owner on the day each closed.",
            0.9,
        ),
        MetricInfo(
            "green_share",
            "Share of ARR green",
            "rate",
            "ARR of the CSM's accounts in the green health band / ARR of those with a health "
            "score, on the latest weekly health snapshot on or before the period's last day "
            "with data (accounts owned that day).",
            0.6,
        ),
        MetricInfo(
            "hygiene",
            "Renewal hygiene",
            "rate",
            "Share of the CSM's renewals due in the next 90 days that pass every hygiene check "
            "(forecast category, risk reason when at risk, close plan, active owner), on the "
            "latest weekly snapshot on or before the period's last day with data.",
            0.9,
        ),
    )
}
ROLES = ("CSM", "Manager", "Director")
ROLE_SCOPE = {"CSM": "own book", "Manager": "team's books", "Director": "all books"}
TARGET_RULES = {
    "company": "Company target",
    "book": "Book-adjusted (history of the book's segment x tier mix) + uplift",
    "last": "Last period's actual + uplift",
}
OVERRIDE_RULE = "Set by hand"
MAX_METRICS = len(METRICS)
MAX_BONUS = 10_000_000.0
MAX_REASON = 300
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---- the payout curve --------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    """A payout curve: attainment % in, payout % out (see the module's docstring)."""

    threshold: float = 90.0  # attainment %: below it nothing
    payout_at_threshold: float = 50.0  # payout % at the threshold
    accelerator: float = 2.0  # payout points per attainment point above 100%
    cap: float = 150.0  # payout %: never more

    def payout(self, attainment: float | None) -> float:
        """Payout % at one attainment % (None or NaN: nothing known, nothing paid)."""
        return float(self.payouts(np.array([np.nan if attainment is None else attainment]))[0])

    def payouts(self, attainment: np.ndarray) -> np.ndarray:
        """Payout % at each attainment % (vectorised; NaN pays 0)."""
        a = np.asarray(attainment, dtype=float)
        if self.threshold >= 100:
            below_target = np.full_like(a, 100.0)
        else:
            slope = (100.0 - self.payout_at_threshold) / (100.0 - self.threshold)
            below_target = self.payout_at_threshold + slope * (a - self.threshold)
        above_target = 100.0 + self.accelerator * (a - 100.0)
        pay = np.where(a < 100.0, below_target, above_target)
        pay = np.where(a < self.threshold, 0.0, np.minimum(pay, self.cap))
        return np.where(np.isnan(a), 0.0, pay)

    def knee(self) -> float | None:
        """The attainment % where the cap is reached (None: a flat top, no accelerator)."""
        return 100.0 + (self.cap - 100.0) / self.accelerator if self.accelerator > 0 else None

    def points(self, upto: float = 0.0) -> tuple[list[float], list[float]]:
        """The curve's corners (x: attainment %, y: payout %) for drawing it, to `upto` at least."""
        knee = self.knee()
        top = max(upto, (knee if knee is not None else 100.0) + 25.0, 150.0)
        xs = {0.0, self.threshold, 100.0, top} | ({knee} if knee is not None else set())
        if self.threshold > 0:  # the step at the threshold: the point just below it too
            xs.add(self.threshold - 1e-6)
        xs_sorted = sorted(x for x in xs if 0.0 <= x <= top)
        return xs_sorted, [float(y) for y in self.payouts(np.array(xs_sorted))]


# ---- the plan ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricPlan:
    """One metric of a plan: its weight (% of the bonus), company target, target rule and curve."""

    metric: str
    weight: float  # percent; a plan's weights sum to 100
    target: float  # the company target, in the metric's unit (a share 0-1, or money)
    rule: str = "company"  # how each CSM's target is set: TARGET_RULES
    uplift: float = 0.0  # added to a rule's baseline: points of a share, or a % for money
    curve: Curve = field(default_factory=Curve)

    @property
    def info(self) -> MetricInfo:
        return METRICS[self.metric]


@dataclass(frozen=True)
class Override:
    """A CSM's target for one metric set by hand, and why."""

    target: float
    reason: str


@dataclass(frozen=True)
class Plan:
    """A bonus plan as one version of it defines it."""

    period: str  # "quarter", "half" or "year"
    effective_from: date  # the first day of the first period it applies to
    metrics: tuple[MetricPlan, ...]
    on_target_bonus: Mapping[str, float]  # role -> annual on-target bonus
    budget: float | None = None  # bonus budget per period (money); None: not set
    overrides: Mapping[tuple[str, str], Override] = field(default_factory=dict)  # (csm, metric)

    def metric(self, key: str) -> MetricPlan | None:
        return next((m for m in self.metrics if m.metric == key), None)

    def with_metric(self, key: str, **changes: Any) -> Plan:
        """A copy with one metric's fields (or its curve's, as curve=Curve(...)) changed."""
        return replace(
            self,
            metrics=tuple(replace(m, **changes) if m.metric == key else m for m in self.metrics),
        )


def default_plan(effective_from: date, period: str = "quarter") -> Plan:
    """The plan a company starts from: renewal rate, NRR and expansion, quarterly."""
    return Plan(
        period=period,
        effective_from=effective_from,
        metrics=(
            MetricPlan("renewal_rate", 50.0, METRICS["renewal_rate"].default_target),
            MetricPlan(
                "nrr", 30.0, METRICS["nrr"].default_target, curve=Curve(95.0, 50.0, 2.0, 150.0)
            ),
            MetricPlan(
                "expansion_arr",
                20.0,
                METRICS["expansion_arr"].default_target,
                rule="book",
                curve=Curve(50.0, 25.0, 1.5, 200.0),
            ),
        ),
        on_target_bonus={"CSM": 20_000.0, "Manager": 30_000.0, "Director": 40_000.0},
        budget=None,
    )


# ---- payload <-> plan, with every problem named by its field -----------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong with a plan: the field (as the editor names it) and a plain message."""

    field: str
    message: str


class PlanInvalid(ServiceError):
    """The plan cannot be saved; `problems` says what, field by field."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def validate_curve(curve: Curve, where: str) -> list[Problem]:
    """The curve's own rules: a threshold at or below target, a cap at or above 100%, ..."""
    problems = []
    if not 0 <= curve.threshold <= 100:
        problems.append(
            Problem(
                f"{where}.threshold",
                (
                    f"The threshold ({curve.threshold:g}%) must be between 0% and the target (100%)."
                    if curve.threshold > 100
                    else "The threshold cannot be below 0%."
                ),
            )
        )
    if not 0 <= curve.payout_at_threshold <= 100:
        problems.append(
            Problem(
                f"{where}.payout_at_threshold",
                "The payout at threshold must be between 0% and 100%.",
            )
        )
    if curve.accelerator < 0 or curve.accelerator > 10:
        problems.append(
            Problem(
                f"{where}.accelerator",
                "The accelerator must be between 0 and 10 (points per point).",
            )
        )
    if curve.cap < 100:
        problems.append(
            Problem(
                f"{where}.cap",
                (
                    f"The cap ({curve.cap:g}%) is below the target payout (100%): a CSM on target "
                    "would be paid less than the plan promises."
                ),
            )
        )
    elif curve.cap > 500:
        problems.append(Problem(f"{where}.cap", "The cap cannot be above 500%."))
    return problems


def plan_from_payload(payload: Mapping[str, Any]) -> Plan:
    """The plan a payload describes; PlanInvalid naming every problem (all at once)."""
    problems: list[Problem] = []
    if not isinstance(payload, Mapping):
        raise PlanInvalid([Problem("plan", "A plan must be an object.")])

    period = payload.get("period")
    if period not in KINDS:
        problems.append(Problem("period", "The period must be a quarter, a half year or a year."))
        period = "quarter"
    try:
        # Only the YYYY-MM-DD text: date.fromisoformat also takes 20260701 (a JSON number too).
        raw_date = payload.get("effective_from")
        if not isinstance(raw_date, str) or not _ISO_DATE.match(raw_date.strip()):
            raise ValueError(raw_date)
        effective_from = date.fromisoformat(raw_date.strip())
    except ValueError:
        problems.append(
            Problem("effective_from", "The effective date must be a date (YYYY-MM-DD).")
        )
        effective_from = None
    if effective_from and not is_period_start(effective_from, period):
        problems.append(
            Problem(
                "effective_from",
                (
                    f"A plan takes effect on the first day of a {period}; "
                    f"{effective_from.isoformat()} is not one."
                ),
            )
        )

    metrics: list[MetricPlan] = []
    raw_metrics = payload.get("metrics")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        problems.append(Problem("metrics", "Choose at least one metric."))
        raw_metrics = []
    seen: set[str] = set()
    for raw in raw_metrics[: MAX_METRICS + 1]:
        raw = raw if isinstance(raw, Mapping) else {}
        key = raw.get("metric")
        if key not in METRICS:
            problems.append(Problem("metrics", f"{str(key)[:40]!r} is not a bonus metric."))
            continue
        if key in seen:
            problems.append(
                Problem(f"metrics.{key}", f"{METRICS[key].label} is in the plan twice.")
            )
            continue
        seen.add(key)
        where = f"metrics.{key}"
        weight, target, uplift = (
            _number(raw.get(k, d)) for k, d in (("weight", None), ("target", None), ("uplift", 0.0))
        )
        if weight is None or not 0 < weight <= 100:
            problems.append(
                Problem(f"{where}.weight", "A weight must be a number above 0 and at most 100.")
            )
            weight = 0.0
        if target is None or target < 0 or (METRICS[key].unit == "rate" and target > 5):
            problems.append(
                Problem(
                    f"{where}.target",
                    (
                        "A target must be a share between 0% and 500%."
                        if METRICS[key].unit == "rate"
                        else "A target must be an amount of 0 or more."
                    ),
                )
            )
            target = METRICS[key].default_target
        rule = raw.get("rule", "company")
        if rule not in TARGET_RULES:
            problems.append(Problem(f"{where}.rule", f"{str(rule)[:40]!r} is not a target rule."))
            rule = "company"
        if uplift is None or abs(uplift) > (1 if METRICS[key].unit == "rate" else 5):
            problems.append(
                Problem(f"{where}.uplift", "The uplift must be a small number (a share).")
            )
            uplift = 0.0
        raw_curve = raw.get("curve") if isinstance(raw.get("curve"), Mapping) else {}
        values = {
            name: _number(raw_curve.get(name, getattr(Curve(), name)))
            for name in ("threshold", "payout_at_threshold", "accelerator", "cap")
        }
        for name, value in values.items():
            if value is None:
                problems.append(Problem(f"{where}.curve.{name}", "This must be a number."))
        curve = Curve(
            **{k: (v if v is not None else getattr(Curve(), k)) for k, v in values.items()}
        )
        problems += validate_curve(curve, f"{where}.curve")
        metrics.append(MetricPlan(key, weight, target, rule, uplift, curve))
    total = sum(m.weight for m in metrics)
    if metrics and abs(total - 100.0) > 1e-6:
        problems.append(Problem("weights", f"The weights add up to {total:g}%, not 100%."))

    bonus: dict[str, float] = {}
    raw_bonus = (
        payload.get("on_target_bonus")
        if isinstance(payload.get("on_target_bonus"), Mapping)
        else {}
    )
    for role in ROLES:
        value = _number(raw_bonus.get(role, 0))
        if value is None or value < 0:
            problems.append(
                Problem(
                    f"on_target_bonus.{role}",
                    f"The {role} on-target bonus must be an amount of 0 or more.",
                )
            )
            value = 0.0
        elif value > MAX_BONUS:
            problems.append(
                Problem(f"on_target_bonus.{role}", "That on-target bonus is too large.")
            )
        bonus[role] = value
    budget = payload.get("budget")
    if budget not in (None, ""):
        budget = _number(budget)
        if budget is None or budget < 0:
            problems.append(Problem("budget", "The bonus budget must be an amount of 0 or more."))
            budget = None
    else:
        budget = None

    overrides: dict[tuple[str, str], Override] = {}
    raw_overrides = payload.get("overrides") if isinstance(payload.get("overrides"), list) else []
    for raw in raw_overrides[:5000]:
        raw = raw if isinstance(raw, Mapping) else {}
        csm, key = str(raw.get("csm_id") or "")[:64], raw.get("metric")
        target, reason = _number(raw.get("target")), str(raw.get("reason") or "").strip()
        where = f"overrides.{csm}.{key}"
        if not csm or key not in seen:
            problems.append(Problem(where, "An override needs a CSM and a metric of the plan."))
        elif target is None or target < 0:
            problems.append(Problem(where, "An override's target must be a number of 0 or more."))
        elif not reason:
            problems.append(Problem(where, "Say why this target is set by hand."))
        else:
            overrides[(csm, key)] = Override(target, reason[:MAX_REASON])

    if problems:
        raise PlanInvalid(problems)
    assert effective_from is not None
    return Plan(period, effective_from, tuple(metrics), bonus, budget, overrides)


def plan_to_payload(plan: Plan) -> dict[str, Any]:
    """The JSON payload that `plan_from_payload` reads back to the same plan."""
    return {
        "period": plan.period,
        "effective_from": plan.effective_from.isoformat(),
        "metrics": [
            {
                "metric": m.metric,
                "weight": m.weight,
                "target": m.target,
                "rule": m.rule,
                "uplift": m.uplift,
                "curve": {
                    "threshold": m.curve.threshold,
                    "payout_at_threshold": m.curve.payout_at_threshold,
                    "accelerator": m.curve.accelerator,
                    "cap": m.curve.cap,
                },
            }
            for m in plan.metrics
        ],
        "on_target_bonus": dict(plan.on_target_bonus),
        "budget": plan.budget,
        "overrides": [
            {"csm_id": csm, "metric": key, "target": o.target, "reason": o.reason}
            for (csm, key), o in sorted(plan.overrides.items())
        ],
    }
