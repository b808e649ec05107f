"""Payouts (services/comp_payout.py) and what-ifs (services/comp_whatif.py) on hand-made
measures: no database, every expected value worked out by hand below.

The plan (a quarter: a person's on-target bonus is a quarter of the annual amount):
  metric          weight  company target  curve (threshold, payout at threshold, accel, cap)
  expansion_arr     50%      100,000          90, 50, 2, 110
  renewal_rate      30%         0.80          80, 40, 1, 150
  nrr               20%         1.00          95, 50, 2, 150
On-target bonus: CSM 40,000 a year -> 10,000 a quarter; Manager 60,000 -> 15,000.
Budget: 50,000 for the period.

  person  role     team  employed  segment     expansion  renewal  nrr
  A       CSM      East  1         SMB          80,000    0.60     0.92
  B       CSM      East  1         SMB          90,000    0.80     1.00
  C       CSM      East  1         SMB          95,000    0.80     1.00
  D       CSM      West  1         Enterprise  100,000    0.80     1.00
  E       CSM      West  1         Enterprise  104,000    0.80     1.00
  F       CSM      West  0.5       Enterprise  120,000    0.88     1.00
  M       Manager  East  1         SMB             NaN    0.80     1.00
  (and the Unowned pseudo-person, paid nothing)

Expansion attainment (actual / 100,000) and payout % on its curve:
  A 80% below the threshold -> 0;  B 90% at the threshold -> 50;
  C 95% between -> 50 + (100 - 50) / (100 - 90) x 5 = 75;  D 100% at target -> 100;
  E 104% above -> 100 + 2 x 4 = 108;  F 120% -> 100 + 2 x 20 = 140, capped -> 110;
  M: nothing measured (NaN) -> 0.
Renewal rate: 0.80 -> 100% -> 100; A 0.60 -> 75% below 80 -> 0; F 0.88 -> 110% -> 110.
NRR: 1.00 -> 100% -> 100; A 0.92 -> 92% below 95 -> 0.

Payout to date = on-target x weight x payout %:
  A 0;  B 10,000 x (0.5 x 0.50 + 0.3 + 0.2) = 7,500;  C 10,000 x (0.5 x 0.75 + 0.5) = 8,750;
  D 10,000;  E 10,000 x (0.5 x 1.08 + 0.5) = 10,400;
  F on-target 5,000: 5,000 x (0.5 x 1.10 + 0.3 x 1.10 + 0.2) = 2,750 + 1,650 + 1,000 = 5,400;
  M on-target 15,000: 15,000 x (0 + 0.3 + 0.2) = 7,500.
  East (A, B, C, M) 23,750; West (D, E, F) 25,800; company 49,550; on-target 70,000.
Projected = actual for everyone but D, whose expansion is projected at 110,000 (80% range
90,000 to 130,000): 110% -> 120 capped 110 -> 5,500 (low 90% -> 50 -> 2,500; high 130% -> 110
-> 5,500). D projected 10,500 (low 7,500, high 10,500); company projected 50,050: 100.1% of
the budget (99.1% to date).
Flags: A's expansion best case 85,000 (85% < 90): out of reach. E's expansion worst case
104,000 (104%) and F's renewal rate worst case 0.80 (100%): trivially reached.
Weighted attainment (weights 50/30/20): A 80 x .5 + 75 x .3 + 92 x .2 = 80.9; B 95;
C 97.5; D projected 105 (to date 100); E 102; F 120 x .5 + 110 x .3 + 100 x .2 = 113;
M (expansion unknown) (100 x 30 + 100 x 20) / 50 = 100. Weighted threshold: 88 for all.
"""

from dataclasses import replace
from datetime import date
from time import perf_counter

import numpy as np
import pandas as pd
import pytest

from services.comp_actuals import Measures
from services.comp_payout import compute_payouts, fairness
from services.comp_periods import Period, period_of
from services.comp_plan import Curve, MetricPlan, Plan
from services.comp_whatif import WhatIfPlan, what_if_keys, what_if_plan

QUARTER = period_of(date(2026, 5, 15), "quarter")


PLAN = Plan(
    period="quarter",
    effective_from=QUARTER.start,
    metrics=(
        MetricPlan("expansion_arr", 50.0, 100_000.0, curve=Curve(90.0, 50.0, 2.0, 110.0)),
        MetricPlan("renewal_rate", 30.0, 0.8, curve=Curve(80.0, 40.0, 1.0, 150.0)),
        MetricPlan("nrr", 20.0, 1.0, curve=Curve(95.0, 50.0, 2.0, 150.0)),
    ),
    on_target_bonus={"CSM": 40_000.0, "Manager": 60_000.0, "Director": 80_000.0},
    budget=50_000.0,
)
PEOPLE = [
    # csm_id, role, team, employed_share, segment, tenure band
    ("A", "CSM", "East", 1.0, "SMB", "< 1 year"),
    ("B", "CSM", "East", 1.0, "SMB", "2-4 years"),
    ("C", "CSM", "East", 1.0, "SMB", "2-4 years"),
    ("D", "CSM", "West", 1.0, "Enterprise", "< 1 year"),
    ("E", "CSM", "West", 1.0, "Enterprise", "2-4 years"),
    ("F", "CSM", "West", 0.5, "Enterprise", "2-4 years"),
    ("M", "Manager", "East", 1.0, "SMB", "4+ years"),
    ("__unowned__", "none", None, np.nan, None, None),
]
ACTUALS = {  # person: (expansion, renewal rate, nrr)
    "A": (80_000, 0.60, 0.92),
    "B": (90_000, 0.80, 1.00),
    "C": (95_000, 0.80, 1.00),
    "D": (100_000, 0.80, 1.00),
    "E": (104_000, 0.80, 1.00),
    "F": (120_000, 0.88, 1.00),
    "M": (np.nan, 0.80, 1.00),
    "__unowned__": (5_000, 0.5, 0.5),
}
WIDE_OPEN = {"expansion_arr": (200_000, 0.0), "renewal_rate": (1.0, 0.0), "nrr": (2.0, 0.0)}
CASES = {  # (person, metric): (best, worst) where not WIDE_OPEN
    ("A", "expansion_arr"): (85_000, 80_000),
    ("E", "expansion_arr"): (150_000, 104_000),
    ("F", "renewal_rate"): (0.95, 0.80),
}


def measures(period: Period = QUARTER) -> Measures:
    rows = []
    for person, values in ACTUALS.items():
        for metric, actual in zip(("expansion_arr", "renewal_rate", "nrr"), values, strict=True):
            projected, low, high = actual, actual, actual
            if (person, metric) == ("D", "expansion_arr"):
                projected, low, high = 110_000, 90_000, 130_000
            best, worst = CASES.get((person, metric), WIDE_OPEN[metric])
            if np.isnan(actual):
                best = worst = np.nan
            rows.append(
                {
                    "csm_id": person,
                    "metric": metric,
                    "actual": actual,
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "projected": projected,
                    "projected_low": low,
                    "projected_high": high,
                    "best": best,
                    "worst": worst,
                    "closed_count": 1,
                    "open_count": 1,
                }
            )
    people = pd.DataFrame(
        [
            {
                "csm_id": csm,
                "name": f"Person {csm}",
                "team": team,
                "manager_id": None,
                "role": role,
                "employed_share": share,
                "main_segment": segment,
                "tenure_band": tenure,
                "book_band": "Smallest 25%",
            }
            for csm, role, team, share, segment, tenure in PEOPLE
        ]
    )
    return Measures(period, date(2026, 6, 15), date(2026, 6, 15), "b1", pd.DataFrame(rows), people)


def company_targets(plan: Plan = PLAN) -> pd.DataFrame:
    people = [p[0] for p in PEOPLE if p[1] != "none"]
    return pd.DataFrame(
        [
            {
                "csm_id": csm,
                "metric": m.metric,
                "target": m.target,
                "rule": "company",
                "rule_label": "Company target",
                "baseline": m.target,
                "reason": "",
            }
            for csm in people
            for m in plan.metrics
        ]
    )


def line(payouts, csm: str, metric: str) -> pd.Series:
    lines = payouts.lines
    return lines[(lines["csm_id"] == csm) & (lines["metric"] == metric)].iloc[0]


def person(payouts, csm: str) -> pd.Series:
    return payouts.people.set_index("csm_id").loc[csm]


@pytest.fixture(scope="module")
def payouts():
    return compute_payouts(measures(), company_targets(), PLAN)


def test_expansion_curve_at_every_edge(payouts):
    expected = {"A": 0.0, "B": 50.0, "C": 75.0, "D": 100.0, "E": 108.0, "F": 110.0, "M": 0.0}
    for csm, pct in expected.items():
        assert line(payouts, csm, "expansion_arr")["payout_pct"] == pytest.approx(pct), csm
    assert line(payouts, "A", "expansion_arr")["attainment"] == pytest.approx(80.0)
    assert line(payouts, "F", "expansion_arr")["attainment"] == pytest.approx(120.0)


def test_unknown_actual_has_no_attainment_and_pays_nothing(payouts):
    m = line(payouts, "M", "expansion_arr")
    assert np.isnan(m["attainment"]) and m["payout"] == 0.0
    assert not m["out_of_reach"] and not m["trivial"]


def test_payout_per_person_with_weights_and_proration(payouts):
    expected = {
        "A": 0.0,
        "B": 7_500.0,
        "C": 8_750.0,
        "D": 10_000.0,
        "E": 10_400.0,
        "F": 5_400.0,
        "M": 7_500.0,
    }
    for csm, amount in expected.items():
        assert person(payouts, csm)["payout"] == pytest.approx(amount), csm
    assert person(payouts, "F")["on_target"] == pytest.approx(5_000.0)
    assert person(payouts, "M")["on_target"] == pytest.approx(15_000.0)
    assert line(payouts, "F", "renewal_rate")["payout"] == pytest.approx(1_650.0)
    assert "__unowned__" not in set(payouts.people["csm_id"])
    assert "__unowned__" not in set(payouts.lines["csm_id"])


def test_a_half_year_doubles_the_on_target_bonus():
    half = Period(date(2026, 2, 1), date(2026, 8, 1), "half")
    result = compute_payouts(measures(half), company_targets(), PLAN)
    assert person(result, "D")["on_target"] == pytest.approx(20_000.0)
    assert person(result, "D")["payout"] == pytest.approx(20_000.0)


def test_a_target_of_zero_pays_nothing():
    targets = company_targets()
    zero = (targets["csm_id"] == "D") & (targets["metric"] == "nrr")
    targets.loc[zero, "target"] = 0.0
    result = compute_payouts(measures(), targets, PLAN)
    assert np.isnan(line(result, "D", "nrr")["attainment"])
    assert person(result, "D")["payout"] == pytest.approx(8_000.0)


def test_projected_payout_and_its_range(payouts):
    d = person(payouts, "D")
    assert line(payouts, "D", "expansion_arr")["projected_payout_pct"] == pytest.approx(110.0)
    assert d["projected_payout"] == pytest.approx(10_500.0)
    assert d["projected_low"] == pytest.approx(7_500.0)
    assert d["projected_high"] == pytest.approx(10_500.0)


def test_weighted_attainment(payouts):
    assert person(payouts, "A")["attainment"] == pytest.approx(80.9)
    assert person(payouts, "D")["attainment"] == pytest.approx(100.0)
    assert person(payouts, "D")["projected_attainment"] == pytest.approx(105.0)
    assert person(payouts, "F")["projected_attainment"] == pytest.approx(113.0)
    assert person(payouts, "M")["attainment"] == pytest.approx(100.0)


def test_flags(payouts):
    assert line(payouts, "A", "expansion_arr")["out_of_reach"]
    assert line(payouts, "E", "expansion_arr")["trivial"]
    assert line(payouts, "F", "renewal_rate")["trivial"]
    assert not line(payouts, "B", "expansion_arr")["out_of_reach"]
    assert not line(payouts, "D", "expansion_arr")["trivial"]
    assert person(payouts, "A")["flags"] == "Out of reach: Expansion ARR"
    assert person(payouts, "F")["flags"] == "Trivially reached: Renewal rate (ARR)"
    assert person(payouts, "B")["flags"] == ""


def test_carried_metrics_are_not_flagged_while_the_period_is_open():
    # Green share 0.5 against 0.9: 55.6% attainment, below the 90% threshold; hygiene 1.0
    # against 0.9: 111%. Both carry today's value (best = worst = actual), which says nothing
    # about where they land while the quarter runs: no flag. Once the period is over the
    # value is final and the flags apply.
    plan = Plan(
        "quarter",
        QUARTER.start,
        (MetricPlan("green_share", 50.0, 0.9), MetricPlan("hygiene", 50.0, 0.9)),
        {"CSM": 40_000.0},
    )
    frame = pd.DataFrame(
        [
            {"csm_id": "A", "metric": key, "actual": value, "projected": value,
             "projected_low": value, "projected_high": value, "best": value, "worst": value}
            for key, value in (("green_share", 0.5), ("hygiene", 1.0))
        ]
    )  # fmt: skip
    people = pd.DataFrame(
        [{"csm_id": "A", "name": "A", "team": "East", "role": "CSM", "employed_share": 1.0}]
    )
    targets = company_targets(plan).query("csm_id == 'A'")
    open_view = Measures(QUARTER, date(2026, 6, 15), date(2026, 6, 15), "b", frame, people)
    result = compute_payouts(open_view, targets, plan)
    assert line(result, "A", "green_share")["attainment"] == pytest.approx(500 / 9)
    assert not result.lines["out_of_reach"].any() and not result.lines["trivial"].any()
    assert person(result, "A")["flags"] == ""
    over = replace(open_view, as_of=QUARTER.end, to_date=QUARTER.last_day)
    closed = compute_payouts(over, targets, plan)
    assert line(closed, "A", "green_share")["out_of_reach"]
    assert line(closed, "A", "hygiene")["trivial"]


def test_team_and_company_totals_and_budget(payouts):
    teams = payouts.teams.set_index("team")
    assert teams.loc["East", "payout"] == pytest.approx(23_750.0)
    assert teams.loc["West", "payout"] == pytest.approx(25_800.0)
    assert teams.loc["East", "people"] == 4
    assert teams.loc["East", "on_target"] == pytest.approx(45_000.0)
    company = payouts.company
    assert company["payout"] == pytest.approx(49_550.0)
    assert company["projected_payout"] == pytest.approx(50_050.0)
    assert company["on_target"] == pytest.approx(70_000.0)
    assert company["budget"] == 50_000.0
    assert company["budget_used"] == pytest.approx(1.001)
    assert company["budget_used_to_date"] == pytest.approx(0.991)
    assert company["people"] == 7


def test_no_budget_no_share():
    result = compute_payouts(measures(), company_targets(), replace(PLAN, budget=None))
    assert result.company["budget_used"] is None


def test_fairness_by_segment_and_tenure(payouts):
    groups = fairness(payouts, measures())
    segment = groups["segment"].set_index("group")
    # SMB: A 80.9, B 95, C 97.5 (the manager is not in the fairness view)
    smb = segment.loc["SMB"]
    assert smb["people"] == 3
    assert smb["median"] == pytest.approx(95.0)
    assert smb["p25"] == pytest.approx(87.95)
    assert smb["p75"] == pytest.approx(96.25)
    assert smb["share_at_threshold"] == pytest.approx(2 / 3)
    assert smb["share_at_target"] == 0.0
    assert (smb["out_of_reach"], smb["trivial"]) == (1, 0)
    # Enterprise: D 105, E 102, F 113
    ent = segment.loc["Enterprise"]
    assert (ent["median"], ent["p25"], ent["p75"]) == pytest.approx((105.0, 103.5, 109.0))
    assert ent["share_at_target"] == 1.0
    assert (ent["out_of_reach"], ent["trivial"]) == (0, 2)
    tenure = groups["tenure"].set_index("group")
    assert tenure.loc["< 1 year", "people"] == 2  # A and D
    assert tenure.loc["2-4 years", "people"] == 4
    assert set(groups) == {"segment", "tenure", "book size"}


# ---- what-if ------------------------------------------------------------------------------------
def test_what_if_scales_every_target_of_a_metric():
    plan, problems = what_if_plan(PLAN, {"wi_expansion_arr_target": ["110"]})
    assert problems == {}
    assert isinstance(plan, WhatIfPlan)
    result = compute_payouts(measures(), company_targets(), plan)
    # D: 100,000 / 110,000 = 90.909% -> 50 + 5 x 0.909 = 54.545% -> 5,000 x 0.54545 = 2,727.27
    assert line(result, "D", "expansion_arr")["target"] == pytest.approx(110_000.0)
    assert person(result, "D")["payout"] == pytest.approx(2_727.2727 + 5_000.0)


def test_what_if_changes_a_curve():
    plan, problems = what_if_plan(
        PLAN, {"wi_expansion_arr_cap": "105", "wi_expansion_arr_payout_at_threshold": "60"}
    )
    assert problems == {}
    result = compute_payouts(measures(), company_targets(), plan)
    assert line(result, "F", "expansion_arr")["payout"] == pytest.approx(2_625.0)  # 5,000 x .5
    assert line(result, "E", "expansion_arr")["payout_pct"] == pytest.approx(105.0)
    assert line(result, "B", "expansion_arr")["payout_pct"] == pytest.approx(60.0)
    # C at 95%: 60 + (100 - 60) / 10 x 5 = 80
    assert line(result, "C", "expansion_arr")["payout_pct"] == pytest.approx(80.0)


def test_a_bad_what_if_value_is_reported_by_key_and_the_rest_applies():
    params = {
        "wi_expansion_arr_cap": "90",  # below 100%
        "wi_nrr_threshold": "abc",
        "wi_grr_cap": "120",  # not in the plan
        "wi_bogus": "1",
        "wi_renewal_rate_target": "0",
        "wi_nrr_accelerator": "3",  # fine
        "period": "Q-2026-05-01",  # not a what-if key: ignored
    }
    plan, problems = what_if_plan(PLAN, params)
    assert set(problems) == {
        "wi_expansion_arr_cap",
        "wi_nrr_threshold",
        "wi_grr_cap",
        "wi_bogus",
        "wi_renewal_rate_target",
    }
    assert "below the target payout" in problems["wi_expansion_arr_cap"]
    assert problems["wi_nrr_threshold"] == "This must be a number."
    assert "not in this plan" in problems["wi_grr_cap"]
    assert plan.metric("nrr").curve.accelerator == 3.0
    assert plan.metric("expansion_arr").curve.cap == 110.0  # the bad value not applied
    assert plan.target_scale == {}


def test_what_if_keys():
    assert what_if_keys("expansion_arr")["payout_at_threshold"] == (
        "wi_expansion_arr_payout_at_threshold"
    )


# ---- speed --------------------------------------------------------------------------------------
def synthetic(people: int = 800) -> tuple[Measures, pd.DataFrame, Plan]:
    """800 people x 7 metrics with random actuals (the what-if budget is for this size)."""
    rng = np.random.default_rng(7)
    keys = ["grr", "nrr", "logo_retention", "expansion_arr", "renewal_rate", "green_share"]
    keys.append("hygiene")
    plan = Plan(
        "quarter",
        QUARTER.start,
        tuple(MetricPlan(k, 100 / 7, 50_000.0 if k == "expansion_arr" else 0.9) for k in keys),
        {"CSM": 20_000.0, "Manager": 30_000.0, "Director": 40_000.0},
        budget=5_000_000.0,
    )
    ids = [f"P{i}" for i in range(people)]
    csm = np.repeat(ids, len(keys))
    metric = np.tile(keys, people)
    actual = rng.uniform(0.5, 1.2, len(csm)) * np.where(metric == "expansion_arr", 50_000, 0.9)
    frame = pd.DataFrame(
        {
            "csm_id": csm,
            "metric": metric,
            "actual": actual,
            "projected": actual * 1.05,
            "projected_low": actual * 0.95,
            "projected_high": actual * 1.15,
            "best": actual * 1.3,
            "worst": actual * 0.8,
        }
    )
    people_frame = pd.DataFrame(
        {
            "csm_id": ids,
            "name": ids,
            "team": [f"T{i % 40}" for i in range(people)],
            "role": ["Manager" if i % 20 == 0 else "CSM" for i in range(people)],
            "employed_share": 1.0,
            "main_segment": "SMB",
            "tenure_band": "2-4 years",
            "book_band": "Smallest 25%",
        }
    )
    targets = pd.DataFrame(
        {
            "csm_id": csm,
            "metric": metric,
            "target": np.where(metric == "expansion_arr", 50_000.0, 0.9),
            "rule": "company",
            "rule_label": "Company target",
        }
    )
    m = Measures(QUARTER, QUARTER.start, QUARTER.start, "b", frame, people_frame)
    return m, targets, plan


def test_a_what_if_at_800_people_is_well_under_100_ms():
    m, targets, plan = synthetic()
    compute_payouts(m, targets, plan)  # warm pandas' code paths
    timings = []
    for _ in range(5):
        start = perf_counter()
        changed, _ = what_if_plan(plan, {"wi_grr_target": "105", "wi_nrr_cap": "180"})
        compute_payouts(m, targets, changed)
        timings.append(perf_counter() - start)
    assert min(timings) < 0.1
