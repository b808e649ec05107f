"""What-if inputs of the compensation page: URL keys that change a plan's target levels and
payout curves without saving anything.

Keys (values as the URL carries them, a list's first value counts):
- `wi_<metric>_target`: every target of the metric at this % of itself (105 = 5% harder),
  whatever rule set it, overrides included;
- `wi_<metric>_threshold`, `wi_<metric>_payout_at_threshold`, `wi_<metric>_accelerator`,
  `wi_<metric>_cap`: that field of the metric's payout curve.

A value that cannot be used is reported by its key and not applied; the others still apply.
The targets themselves are not recomputed: the changed plan carries the target scale
(`WhatIfPlan.target_scale`) and `services.comp_payout.compute_payouts` applies it to the
targets it is given, so a what-if costs one payout computation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from services.comp_plan import METRICS, Curve, Plan, _number, validate_curve

PREFIX = "wi_"
CURVE_FIELDS = ("threshold", "payout_at_threshold", "accelerator", "cap")
TARGET_PCT = (1.0, 500.0)  # a scale of targets outside this is surely a typo


@dataclass(frozen=True)
class WhatIfPlan(Plan):
    """A plan changed by what-if inputs: also every target of a metric scaled (1.05 = +5%)."""

    target_scale: Mapping[str, float] = field(default_factory=dict)


def what_if_keys(metric: str) -> dict[str, str]:
    """The URL key of each what-if input of a metric: {"target": "wi_grr_target", ...}."""
    return {name: f"{PREFIX}{metric}_{name}" for name in ("target", *CURVE_FIELDS)}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list | tuple) and value else value


def _split(key: str) -> tuple[str | None, str | None]:
    """('grr', 'cap') for 'wi_grr_cap': the metric keys hold underscores, so match the input's
    name from the end, longest first (payout_at_threshold before threshold)."""
    body = key[len(PREFIX) :]
    for name in sorted(("target", *CURVE_FIELDS), key=len, reverse=True):
        if body.endswith("_" + name):
            return body[: -len(name) - 1], name
    return None, None


def what_if_plan(plan: Plan, params: Mapping[str, Any]) -> tuple[Plan, dict[str, str]]:
    """The plan with the what-if inputs of `params` applied, and a message per unusable key."""
    problems: dict[str, str] = {}
    curves = {m.metric: m.curve for m in plan.metrics}
    scale: dict[str, float] = dict(getattr(plan, "target_scale", {}) or {})
    for key in sorted(k for k in params if str(k).startswith(PREFIX)):
        raw = _first(params[key])
        if raw in (None, ""):
            continue
        metric, name = _split(key)
        if metric not in METRICS or name is None:
            problems[key] = f"{key[:40]!r} is not a what-if input."
            continue
        if metric not in curves:
            problems[key] = f"{METRICS[metric].label} is not in this plan."
            continue
        value = _number(raw)
        if value is None:
            problems[key] = "This must be a number."
        elif name == "target":
            low, high = TARGET_PCT
            if not low <= value <= high:
                problems[key] = f"Targets can be scaled from {low:g}% to {high:g}% of themselves."
            else:
                scale[metric] = value / 100.0
        else:
            changed = replace(curves[metric], **{name: value})
            wrong = [p for p in validate_curve(changed, "curve") if p.field == f"curve.{name}"]
            if wrong:
                problems[key] = wrong[0].message
            else:
                curves[metric] = changed
    base = {f.name: getattr(plan, f.name) for f in fields(Plan)}
    base["metrics"] = tuple(replace(m, curve=curves[m.metric]) for m in plan.metrics)
    return WhatIfPlan(**base, target_scale=scale), problems


def curve_of(plan: Plan, metric: str) -> Curve | None:
    """The metric's curve in a (what-if) plan, for drawing it."""
    m = plan.metric(metric)
    return m.curve if m else None
