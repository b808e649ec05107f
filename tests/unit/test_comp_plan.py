"""The bonus plan model (services/comp_plan.py): the payout curve at every edge, with each value
worked out by hand from the curve's definition, and a plan payload's validation naming every
problem by its field (weights, cap, threshold, bonuses, effective date), and its round trip."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from services.comp_plan import (
    METRICS,
    Curve,
    PlanInvalid,
    default_plan,
    plan_from_payload,
    plan_to_payload,
)


@pytest.fixture(autouse=True)
def calendar_quarters(monkeypatch):
    """Fiscal year = calendar year: quarters start on 1 Jan, 1 Apr, 1 Jul, 1 Oct."""
    monkeypatch.setenv("CSOPS_FISCAL_YEAR_START_MONTH", "1")


# Threshold 90% paying 50%, accelerator 2 points per point above target, cap 150%.
# Between threshold and target the slope is (100 - 50) / (100 - 90) = 5 points per point.
CURVE = Curve(threshold=90.0, payout_at_threshold=50.0, accelerator=2.0, cap=150.0)


@pytest.mark.parametrize(
    ("attainment", "payout"),
    [
        (0.0, 0.0),  # nothing attained
        (-20.0, 0.0),  # a negative actual: below the threshold
        (80.0, 0.0),  # below the threshold: nothing
        (89.999, 0.0),  # just below: still nothing (the step)
        (90.0, 50.0),  # at the threshold: the payout at threshold
        (95.0, 75.0),  # between: 50 + 5 x (95 - 90)
        (98.0, 90.0),  # between: 50 + 5 x 8
        (100.0, 100.0),  # at target
        (110.0, 120.0),  # above, with the accelerator: 100 + 2 x 10
        (120.0, 140.0),  # 100 + 2 x 20
        (125.0, 150.0),  # exactly the cap: 100 + 2 x 25 = 150
        (140.0, 150.0),  # above the cap's knee: capped (100 + 2 x 40 = 180 -> 150)
        (1000.0, 150.0),
    ],
)
def test_the_payout_curve_at_each_edge(attainment, payout):
    assert CURVE.payout(attainment) == pytest.approx(payout)


def test_the_vectorised_curve_agrees_and_nan_pays_nothing():
    attainment = np.array([80.0, 90.0, 95.0, 100.0, 110.0, 140.0, np.nan])
    assert CURVE.payouts(attainment).tolist() == pytest.approx(
        [0.0, 50.0, 75.0, 100.0, 120.0, 150.0, 0.0]
    )
    assert CURVE.payout(float("nan")) == 0.0
    assert CURVE.payout(None) == 0.0


def test_a_threshold_of_100_pays_100_from_target_and_nothing_below():
    curve = Curve(threshold=100.0, payout_at_threshold=40.0, accelerator=3.0, cap=130.0)
    assert curve.payout(99.9) == 0.0
    assert curve.payout(100.0) == 100.0  # not the 40% "at threshold": the target pays 100%
    assert curve.payout(105.0) == pytest.approx(115.0)  # 100 + 3 x 5
    assert curve.payout(110.0) == pytest.approx(130.0)  # 100 + 3 x 10 = the cap
    assert curve.payout(200.0) == pytest.approx(130.0)


def test_a_zero_threshold_pays_from_zero_and_no_accelerator_is_flat_above_target():
    curve = Curve(threshold=0.0, payout_at_threshold=20.0, accelerator=0.0, cap=200.0)
    assert curve.payout(0.0) == pytest.approx(20.0)
    assert curve.payout(50.0) == pytest.approx(60.0)  # 20 + (80 / 100) x 50
    assert curve.payout(150.0) == pytest.approx(100.0)  # no accelerator: 100 flat
    assert curve.knee() is None


def test_the_drawn_points_mark_the_step_the_target_and_the_cap():
    xs, ys = CURVE.points()
    # The knee (where the cap is reached): 100 + (150 - 100) / 2 = 125.
    assert CURVE.knee() == pytest.approx(125.0)
    drawn = dict(zip(xs, ys, strict=True))
    assert drawn[0.0] == 0.0
    assert drawn[90.0] == 50.0
    assert drawn[100.0] == 100.0
    assert drawn[125.0] == 150.0
    assert max(xs) == 150.0  # the axis runs 25 points past the knee (and at least to 150)
    below = [y for x, y in drawn.items() if 89.0 < x < 90.0]
    assert below == [0.0]  # the point just below the threshold draws the step


# ---- payloads ---------------------------------------------------------------------------------
def _payload(**changes) -> dict:
    payload = plan_to_payload(default_plan(date(2026, 7, 1)))
    payload.update(changes)
    return payload


def _fields(payload) -> dict[str, str]:
    with pytest.raises(PlanInvalid) as caught:
        plan_from_payload(payload)
    return {p.field: p.message for p in caught.value.problems}


def test_the_default_plan_is_valid_and_its_payload_reads_back_to_the_same_plan():
    plan = default_plan(date(2026, 7, 1))
    assert sum(m.weight for m in plan.metrics) == 100.0
    assert plan_from_payload(plan_to_payload(plan)) == plan


def test_a_payload_round_trip_keeps_every_field_including_overrides_and_budget():
    payload = _payload(budget=125_000.0, period="quarter")
    payload["metrics"][0]["uplift"] = 0.02
    payload["metrics"][0]["curve"] = {
        "threshold": 85,
        "payout_at_threshold": 30,
        "accelerator": 1.5,
        "cap": 175,
    }
    payload["overrides"] = [
        {"csm_id": "C7", "metric": "nrr", "target": 1.05, "reason": "Inherited a big upsell"}
    ]
    plan = plan_from_payload(payload)
    assert plan.budget == 125_000.0
    assert plan.metrics[0].curve == Curve(85.0, 30.0, 1.5, 175.0)
    assert plan.metrics[0].uplift == 0.02
    assert plan.overrides[("C7", "nrr")].target == 1.05
    assert plan_from_payload(plan_to_payload(plan)) == plan


def test_weights_not_summing_to_100_are_rejected_naming_the_total():
    payload = _payload()
    payload["metrics"][0]["weight"] = 40  # 40 + 30 + 20 = 90
    fields = _fields(payload)
    assert set(fields) == {"weights"}
    assert "90%" in fields["weights"] and "100%" in fields["weights"]


def test_a_cap_below_target_is_rejected_at_the_cap():
    payload = _payload()
    payload["metrics"][1]["curve"]["cap"] = 90
    fields = _fields(payload)
    assert set(fields) == {"metrics.nrr.curve.cap"}
    assert "90%" in fields["metrics.nrr.curve.cap"]


def test_a_threshold_above_target_is_rejected_at_the_threshold():
    payload = _payload()
    payload["metrics"][0]["curve"]["threshold"] = 105
    fields = _fields(payload)
    assert set(fields) == {"metrics.renewal_rate.curve.threshold"}
    assert "105%" in fields["metrics.renewal_rate.curve.threshold"]


def test_negative_bonuses_and_budgets_are_rejected_by_role():
    payload = _payload(budget=-1)
    payload["on_target_bonus"] = {"CSM": -5000, "Manager": 30000, "Director": "lots"}
    fields = _fields(payload)
    assert set(fields) == {"on_target_bonus.CSM", "on_target_bonus.Director", "budget"}


@pytest.mark.parametrize(
    "value", ["2026-13-01", "soon", None, "", 20260701, "2026-07-15", "2026-08-01"]
)
def test_an_effective_date_that_is_not_a_periods_first_day_is_rejected(value):
    # Calendar quarters: 1 Jul 2026 starts Q3; 15 Jul and 1 Aug do not start a quarter.
    fields = _fields(_payload(effective_from=value))
    assert set(fields) == {"effective_from"}


def test_a_half_year_plan_takes_effect_on_a_half_years_first_day():
    assert plan_from_payload(_payload(period="half", effective_from="2026-07-01")).period == "half"
    assert set(_fields(_payload(period="half", effective_from="2026-04-01"))) == {"effective_from"}
    assert set(_fields(_payload(period="month"))) == {"period"}


@pytest.mark.parametrize("bad", [math.nan, math.inf, "NaN", "abc", True, None])
def test_non_numbers_and_nan_are_rejected_by_field(bad):
    payload = _payload()
    payload["metrics"][0]["curve"]["accelerator"] = bad
    assert "metrics.renewal_rate.curve.accelerator" in _fields(payload)


def test_every_problem_is_named_at_once():
    payload = _payload(budget="x")
    payload["metrics"][0]["weight"] = 0  # also makes the weights 50%
    payload["metrics"][1]["curve"]["cap"] = 50
    payload["metrics"][2]["metric"] = "nrr"  # twice
    payload["on_target_bonus"]["Manager"] = -1
    fields = _fields(payload)
    assert {
        "metrics.renewal_rate.weight",
        "metrics.nrr.curve.cap",
        "metrics.nrr",
        "weights",
        "on_target_bonus.Manager",
        "budget",
    } <= set(fields)


def test_unknown_metrics_rules_and_empty_plans_are_rejected():
    assert set(_fields(_payload(metrics=[]))) == {"metrics"}
    payload = _payload()
    payload["metrics"][0]["rule"] = "vibes"
    assert "metrics.renewal_rate.rule" in _fields(payload)
    payload = _payload()
    payload["metrics"].append({"metric": "arr_of_friends", "weight": 1, "target": 1})
    assert "metrics" in _fields(payload)
    assert set(METRICS) >= {m["metric"] for m in _payload()["metrics"]}


def test_a_rate_target_above_500_percent_or_a_negative_target_is_rejected():
    payload = _payload()
    payload["metrics"][0]["target"] = 6  # a share: 600%
    payload["metrics"][2]["target"] = -10  # money
    assert {"metrics.renewal_rate.target", "metrics.expansion_arr.target"} <= set(_fields(payload))


def test_an_override_needs_a_reason_and_a_metric_of_the_plan():
    payload = _payload()
    payload["overrides"] = [
        {"csm_id": "C1", "metric": "nrr", "target": 1.1, "reason": " "},
        {"csm_id": "C2", "metric": "grr", "target": 0.9, "reason": "x"},
    ]
    assert set(_fields(payload)) == {"overrides.C1.nrr", "overrides.C2.grr"}


def test_a_metric_with_targets_set_by_hand_can_leave_the_plan_its_overrides_dropped():
    # The editor's draft (components/comp_plan.draft_payload) keeps the version's targets set by
    # hand; taking expansion out of the plan must drop its override, not leave a problem at
    # "overrides.C1.expansion_arr" that no field of the editor can fix.
    from components.comp_plan import draft_payload, dropped_overrides, field_values

    base = _payload()
    base["overrides"] = [
        {"csm_id": "C1", "metric": "expansion_arr", "target": 50_000, "reason": "New book"},
        {"csm_id": "C2", "metric": "expansion_arr", "target": 60_000, "reason": "Big book"},
        {"csm_id": "C1", "metric": "nrr", "target": 1.05, "reason": "Stretch"},
    ]
    values = field_values(plan_from_payload(base))
    values["metrics.nrr.weight"] = "50"  # renewal rate 50 + NRR 50 = 100
    chosen = ["renewal_rate", "nrr"]
    plan = plan_from_payload(draft_payload(values, chosen, base))
    assert sorted(m.metric for m in plan.metrics) == sorted(chosen)
    assert list(plan.overrides) == [("C1", "nrr")]
    assert dropped_overrides(base, chosen) == 2
    assert dropped_overrides(base, [*chosen, "expansion_arr"]) == 0
