"""The what-if scenario against cases computed by hand: a zero-growth steady state, attrition
with its backfills, ramp and lead time (late requisitions, "open now"), growth making a gap,
churn and ARR, a coverage change; the inputs' checks and round trips; the books summarised
from a tiny database (new logos, churn, median ARR, open books, coverage savings).

The hand-made baselines start on 31 Dec 2026, a quarter's last day, so the four quarters are
whole: Q1 2027 measured on 1 Apr 2027 (91 days on), Q2 on 1 Jul (182), Q3 on 1 Oct (274),
Q4 on 1 Jan 2028 (366). One FTE carries 100 points; target utilisation 80%, so required FTE
= points / 80.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from services.capacity_baseline import LIGHTER_TIERS, Baseline, SegmentBase
from services.capacity_projection import (
    ScenarioInputs,
    project,
    projection_quarters,
    scenario_baseline,
)
from services.filters import Filters
from services.workload import SEGMENTS, TIERS, WorkloadParams
from tests.unit.tiny import account, build_tiny, contract

AS_OF = date(2026, 12, 31)
OLD_HIRE = date(2020, 1, 1)


@pytest.fixture(autouse=True)
def default_settings(monkeypatch):
    """Calendar quarters and the shipped capacity defaults, whatever the shell exports."""
    for name in (
        "CSOPS_FISCAL_YEAR_START_MONTH",
        "CSOPS_LOADED_COST_PER_CSM",
        "CSOPS_CSM_ATTRITION_PER_YEAR",
        "CSOPS_CSM_RAMP_MONTHS",
        "CSOPS_CSM_RAMP_PRODUCTIVITY",
        "CSOPS_HIRING_LEAD_DAYS",
        "CSOPS_TARGET_UTILISATION",
    ):
        monkeypatch.delenv(name, raising=False)


def _segment(name: str, accounts=0, arr=0.0, points=0.0, median=0.0) -> SegmentBase:
    return SegmentBase(
        name, accounts, arr, points, median, 0, 0, 0,
        arr_sorted=np.zeros(0),
        saving={t: np.zeros(0) for t in LIGHTER_TIERS},
    )  # fmt: skip


def _baseline(smb: SegmentBase, csms=((10, OLD_HIRE),), capacity=100.0) -> Baseline:
    """SMB as given, the other segments empty; `csms` are (FTE, hire date) pairs."""
    segments = tuple(smb if s == "SMB" else _segment(s) for s in SEGMENTS)
    fte = tuple(float(f) for f, _ in csms)
    return Baseline(AS_OF, segments, capacity, fte, tuple(h for _, h in csms), 0, 0)


def _team(n: int, hired: date = OLD_HIRE) -> tuple[tuple[float, date], ...]:
    return tuple((1.0, hired) for _ in range(n))


WORKLOAD = replace(WorkloadParams.defaults(), target_utilisation=0.8)


def _inputs(growth=0.0, churn=0.0, **changes) -> ScenarioInputs:
    base = ScenarioInputs(
        horizon=4,
        growth=(0.0, 0.0, growth),
        churn=(0.0, 0.0, churn),
        attrition=0.0,
        ramp_months=0,
        ramp_productivity=0.5,
        lead_days=0,
        loaded_cost=100_000.0,
    )
    return replace(base, **changes)


# ---- quarters ----------------------------------------------------------------------------------
def test_quarters_start_with_the_rest_of_the_current_one():
    # 20 Nov 2026 is in Q4 2026 (1 Oct - 31 Dec, 92 days); 41 days after it are left (21 Nov
    # to 31 Dec), so the first quarter counts 41/92 of its flows.
    quarters = projection_quarters(date(2026, 11, 20), 4, 1)
    assert [q.label for q in quarters] == ["Q4 2026", "Q1 2027", "Q2 2027", "Q3 2027"]
    assert quarters[0].share == pytest.approx(41 / 92)
    assert [q.share for q in quarters[1:]] == [1.0, 1.0, 1.0]
    assert quarters[0].last == date(2026, 12, 31)
    # On a quarter's last day nothing of it is left: the projection starts with the next.
    assert projection_quarters(AS_OF, 4, 1)[0].label == "Q1 2027"
    assert projection_quarters(AS_OF, 4, 1)[0].share == 1.0


def test_fiscal_quarters_follow_the_fiscal_year():
    # A fiscal year from April: Oct-Dec 2026 is Q3 of FY2027 (it ends in March 2027).
    quarters = projection_quarters(date(2026, 11, 20), 3, 4)
    assert [q.label for q in quarters] == ["Q3 FY2027", "Q4 FY2027", "Q1 FY2028"]
    assert quarters[2].first == date(2027, 4, 1)


# ---- projection math -------------------------------------------------------------------------
def test_zero_growth_steady_state_changes_nothing_and_needs_no_one():
    # 100 SMB customers, 800 points: 10 FTE at 80%; a team of 12, nobody leaves.
    smb = _segment("SMB", 100, 1000.0, 800.0, 10.0)
    p = project(_baseline(smb, _team(12)), _inputs(), WORKLOAD)
    q = p.quarters
    assert list(q["accounts_smb"]) == [100] * 4
    assert list(q["arr_smb"]) == [1000] * 4
    assert list(q["required_fte"]) == [10] * 4
    assert list(q["supply_fte"]) == [12] * 4
    assert list(q["gap_fte"]) == [-2] * 4
    assert list(q["requisitions_to_open"]) == [0] * 4
    assert q["open_by"].isna().all()
    assert list(q["cost"]) == [0] * 4
    assert p.total_requisitions == 0 and p.requisitions.empty
    # 800 points / (12 x 100) = 66.7%
    assert p.sentence == (
        "No requisitions needed: today's team (12.0 FTE) stays under 80% utilisation "
        "through Q4 2027 (peak 66.7% in Q1 2027)."
    )


def test_attrition_needs_backfills():
    # Flat demand (10 FTE), a team of 10 with 19% attrition a year: a CSM is still there after
    # d days with probability 0.81^(d/365.25). No ramp, 30 days' lead: a hire for a quarter
    # starts on its measuring day and counts fully.
    smb = _segment("SMB", 100, 1000.0, 800.0, 10.0)
    p = project(_baseline(smb, _team(10)), _inputs(attrition=0.19, lead_days=30), WORKLOAD)
    s = lambda days: 0.81 ** (days / 365.25)  # noqa: E731
    # Q1 (91 d): 10 x 0.9489 = 9.489 -> short 0.511 -> 1 hire starting 1 Apr.
    # Q2 (182 d): 10 x 0.9003 + hire 1 (91 d) 0.9489 = 9.952 -> short 0.048 -> 1 hire (1 Jul).
    # Q3 (274 d): 8.538 + 0.8998 (183 d) + 0.9483 (92 d) = 10.386 -> none.
    # Q4 (366 d): 8.097 + 0.8533 (275 d) + 0.8993 (184 d) = 9.849 -> short 0.151 -> 1 hire.
    q = p.quarters
    assert list(q["supply_fte"]) == pytest.approx([10 * s(d) for d in (91, 182, 274, 366)])
    assert list(q["requisitions_to_open"]) == [1, 1, 0, 1]
    assert list(q["open_by"].dropna()) == [date(2027, 3, 2), date(2027, 6, 1), date(2027, 12, 2)]
    assert q["planned_supply_fte"].iloc[2] == pytest.approx(10 * s(274) + s(183) + s(92))
    assert list(q["cost"]) == [100_000, 200_000, 200_000, 300_000]
    # Demand is flat: every requisition is a backfill.
    assert p.backfills == 3
    assert p.sentence == (
        "Open 3 requisitions (all backfills for attrition), the first by 02 Mar 2027 "
        "and the last by 02 Dec 2027, to stay under 80% utilisation through Q4 2027; "
        "cost $300,000 a year."
    )


def test_growth_ramp_and_lead_time():
    # 10% new logos a quarter on 100 customers: +10 customers, +80 points, +1 FTE a quarter:
    # required 11, 12, 13, 14 against a team of 10 -> one requisition a quarter.
    # Ramp 6 months at 50%, lead 30 days. A hire for quarter q is ramped on its measuring day:
    #   Q1 (1 Apr): starts 1 Oct 2026, opens 1 Sep 2026 -> past: open now, starts 30 Jan 2027,
    #               covered (ramped) 30 Jul 2027.
    #   Q2 (1 Jul): starts 1 Jan 2027, opens 2 Dec 2026 -> past: the same dates.
    #   Q3 (1 Oct): starts 1 Apr 2027, opens 2 Mar 2027.  Q4 (1 Jan): starts 1 Jul, opens 1 Jun.
    # Effective supply (a hire counts 0 on its first day, 50% while ramping):
    #   1 Apr: 10 + 0.5 + 0.5 (late ones) + 0 (Q3's starts that day)           = 11.0
    #   1 Jul: 10 + 0.5 + 0.5 + 0.5 (Q3's ramping) + 0 (Q4's starts that day)  = 11.5 < 12
    #   1 Oct: 10 + 1 + 1 + 1 + 0.5                                          = 13.5
    #   1 Jan: 10 + 4                                                        = 14.0
    smb = _segment("SMB", 100, 1000.0, 800.0, 10.0)
    inputs = _inputs(growth=0.10, ramp_months=6, lead_days=30)
    p = project(_baseline(smb, _team(10)), inputs, WORKLOAD)
    q = p.quarters
    assert list(q["accounts_smb"]) == pytest.approx([110, 120, 130, 140])
    assert list(q["arr_smb"]) == pytest.approx([1100, 1200, 1300, 1400])  # + 10 x median 10
    assert list(q["required_fte"]) == pytest.approx([11, 12, 13, 14])
    assert list(q["requisitions_to_open"]) == [1, 1, 1, 1]
    assert list(q["late"]) == [True, True, False, False]
    assert list(q["open_by"]) == [AS_OF, AS_OF, date(2027, 3, 2), date(2027, 6, 1)]
    assert list(q["covered_from"]) == [
        date(2027, 7, 30),
        date(2027, 7, 30),
        date(2027, 10, 1),
        date(2028, 1, 1),
    ]
    assert list(q["planned_supply_fte"]) == pytest.approx([11.0, 11.5, 13.5, 14.0])
    assert q["utilisation"].iloc[1] == pytest.approx(960 / 1150)  # 83.5%
    assert p.backfills == 0
    assert p.sentence == (
        "Open 4 requisitions, 2 now (covered from 30 Jul 2027) and 2 more by dates from "
        "02 Mar 2027 to 01 Jun 2027, to stay under 80% utilisation through Q4 2027; "
        "cost $400,000 a year. Until they are up to speed utilisation peaks at 83.5% in Q2 2027."
    )


def test_growth_gap_with_attrition_and_ramp_counted_by_hand():
    # As above but on time (no lead, ramp 3 months) and 19% attrition: each quarter's hires
    # must cover the growth and the leavers; a hire ramped by the measuring day has been on
    # the team 3 months (its survival over those days).
    smb = _segment("SMB", 100, 1000.0, 800.0, 10.0)
    inputs = _inputs(growth=0.10, ramp_months=3, attrition=0.19)
    p = project(_baseline(smb, _team(10)), inputs, WORKLOAD)
    s = lambda days: 0.81 ** (days / 365.25)  # noqa: E731
    # Q1: need 11; team 10 s(91) = 9.489; short 1.511; a hire (1 Jan -> 1 Apr, 90 days)
    #     counts s(90) = 0.9495 -> ceil(1.511 / 0.9495) = 2.
    # Q2: need 12; 10 s(182) + 2 s(181) = 9.003 + 1.801 = 10.804; short 1.196; a hire
    #     (1 Apr -> 1 Jul, 91 days) counts 0.9489 -> 2.
    # Q3: need 13; 10 s(274) + 2 s(273) + 2 s(183) = 8.538 + 1.708 + 1.800 = 12.045; short
    #     0.955; a hire (1 Jul -> 1 Oct, 92 days) 0.9483 -> ceil(1.007) = 2.
    # Q4: need 14; 10 s(366) + 2 s(365) + 2 s(275) + 2 s(184) = 8.097 + 1.620 + 1.707
    #     + 1.799 = 13.222; short 0.778; a hire (1 Oct -> 1 Jan, 92 days) 0.9483 -> 1.
    q = p.quarters
    assert list(q["requisitions_to_open"]) == [2, 2, 2, 1]
    assert list(q["open_by"]) == [
        date(2027, 1, 1),
        date(2027, 4, 1),
        date(2027, 7, 1),
        date(2027, 10, 1),
    ]
    assert not q["late"].any()
    expected_q4 = 10 * s(366) + 2 * s(365) + 2 * s(275) + 2 * s(184) + s(92)
    assert q["planned_supply_fte"].iloc[3] == pytest.approx(expected_q4)
    # Without attrition the same growth needs 1 a quarter: 4; so 3 of the 7 are backfills.
    assert p.total_requisitions == 7 and p.backfills == 3
    assert p.annual_cost == 700_000


def test_today_ramping_csms_carry_part_of_a_book():
    # Two CSMs, one hired 1 Nov 2026 with a 3-month ramp at 50%: today 1 + 0.5 = 1.5 FTE,
    # fully ramped on 1 Feb 2027, so 2 FTE on 1 Apr.
    smb = _segment("SMB", 10, 100.0, 80.0, 10.0)  # 1 FTE needed
    team = ((1.0, OLD_HIRE), (1.0, date(2026, 11, 1)))
    p = project(_baseline(smb, team), _inputs(ramp_months=3), WORKLOAD)
    assert p.supply_now == pytest.approx(1.5)
    assert list(p.quarters["supply_fte"]) == pytest.approx([2.0] * 4)


def test_churn_growth_and_arr():
    # 100 customers, $1,000 ARR (average $10), median $8; 5% new logos (5 a quarter) and 2%
    # churn: Q1 100 x 0.98 + 5 = 103 customers, ARR 1000 x 0.98 + 5 x 8 = 1020;
    # Q2 103 x 0.98 + 5 = 105.94, ARR 1020 x 0.98 + 40 = 1039.6.
    smb = _segment("SMB", 100, 1000.0, 800.0, 8.0)
    p = project(_baseline(smb, _team(20)), _inputs(growth=0.05, churn=0.02), WORKLOAD)
    assert list(p.quarters["accounts_smb"][:2]) == pytest.approx([103, 105.94])
    assert list(p.quarters["arr_smb"][:2]) == pytest.approx([1020, 1039.6])
    assert list(p.quarters["points"][:2]) == pytest.approx([103 * 8, 105.94 * 8])


def test_negative_growth_loses_customers_of_average_arr():
    # -10%: 10 fewer customers a quarter, each taking the average ARR ($10): 90 and $900.
    smb = _segment("SMB", 100, 1000.0, 800.0, 8.0)
    p = project(_baseline(smb, _team(20)), _inputs(growth=-0.10), WORKLOAD)
    assert list(p.quarters["accounts_smb"][:2]) == pytest.approx([90, 80])
    assert list(p.quarters["arr_smb"][:2]) == pytest.approx([900, 800])


def test_already_over_now():
    # 10 FTE of work on a team of 5: 800 / 500 = 160% today; 5 hires for Q1 (no ramp, no lead:
    # they start on 1 Apr and the requisitions open then).
    smb = _segment("SMB", 100, 1000.0, 800.0, 10.0)
    p = project(_baseline(smb, _team(5)), _inputs(), WORKLOAD)
    assert p.utilisation_now == pytest.approx(1.6)
    assert list(p.quarters["requisitions_to_open"]) == [5, 0, 0, 0]
    assert p.sentence == (
        "Already over: today's books run at 160.0% utilisation against 80%. Open 5 "
        "requisitions by 01 Apr 2027 to stay under 80% utilisation through Q4 2027; "
        "cost $500,000 a year."
    )


def test_demand_shrinks():
    # 10% churn a quarter, no new logos: 100 -> 65.61 customers by Q4 (0.9^4), 6.561 FTE.
    # Peak utilisation is Q1's: 90 x 8 / 1000 = 72.0%.
    smb = _segment("SMB", 100, 1000.0, 800.0, 10.0)
    p = project(_baseline(smb, _team(10)), _inputs(churn=0.10), WORKLOAD)
    assert p.quarters["required_fte"].iloc[-1] == pytest.approx(6.561)
    assert p.sentence == (
        "Demand shrinks from 10.0 to 6.6 FTE by Q4 2027, and today's team covers it after "
        "attrition: no requisitions needed to stay under 80% utilisation (peak 72.0% in Q1 2027)."
    )


def test_nothing_to_plan_without_customers_or_csms():
    p = project(_baseline(_segment("SMB"), ()), _inputs(), WORKLOAD)
    assert p.sentence == "Nothing to plan: no customers and no active CSMs under these filters."
    assert list(p.quarters["required_fte"]) == [0] * 4


def test_the_sentence_takes_the_page_money_format():
    smb = _segment("SMB", 100, 1000.0, 800.0, 10.0)
    p = project(_baseline(smb, _team(5)), _inputs(), WORKLOAD, money=lambda v: f"{v / 1e6:.1f}M")
    assert p.sentence.endswith("cost 0.5M a year.")


# ---- inputs ------------------------------------------------------------------------------------
def test_defaults_come_from_settings_and_leave_the_url_empty(monkeypatch):
    defaults = ScenarioInputs.defaults()
    assert (defaults.attrition, defaults.ramp_months, defaults.lead_days) == (0.15, 3, 75)
    assert defaults.growth == (None, None, None)
    assert defaults.to_params() == {}
    assert ScenarioInputs.from_params({}) == (defaults, {})
    monkeypatch.setenv("CSOPS_LOADED_COST_PER_CSM", "120000")
    assert ScenarioInputs.defaults().loaded_cost == 120_000


def test_url_round_trip():
    inputs = ScenarioInputs(
        horizon=10,
        growth=(0.025, None, -0.5),
        churn=(None, 0.013, 0.0),
        attrition=0.2,
        ramp_months=4,
        ramp_productivity=0.4,
        lead_days=60,
        loaded_cost=175_000.0,
        cc_segments=("Mid-Market", "SMB"),
        cc_below_arr=25_000.0,
        cc_to_tier="tech-touch",
        cc_from=3,
    )
    params = inputs.to_params()
    assert params["g_ent"] == "2.5" and params["g_smb"] == "-50" and "g_mm" not in params
    assert params["attr"] == "20" and params["cc_seg"] == "mm,smb" and params["cc_tier"] == "tech"
    assert ScenarioInputs.from_params(params) == (inputs, {})
    # Lists (as parsed from a query string) read the same.
    assert ScenarioInputs.from_params({k: [v] for k, v in params.items()}) == (inputs, {})


@pytest.mark.parametrize(
    "params, key, words",
    [
        ({"g_smb": "-150"}, "g_smb", "between -100% and 1,000% a quarter"),
        ({"g_ent": "lots"}, "g_ent", "'lots' is not a number"),
        ({"ch_mm": "120"}, "ch_mm", "between 0% and 100% a quarter"),
        ({"hz": "3"}, "hz", "between 4 and 12 quarters"),
        ({"hz": "13"}, "hz", "between 4 and 12 quarters"),
        ({"hz": "6.5"}, "hz", "whole number"),
        ({"ramp": "30"}, "ramp", "longer than the horizon (8 quarters, 24 months)"),
        ({"rprod": "nan"}, "rprod", "between 0% and 100%."),
        ({"cost": "1e400"}, "cost", "between $0 and $10,000,000 a year"),
        ({"cc_seg": "ent,xx"}, "cc_seg", "Unknown segment 'xx'"),
        ({"cc_tier": "named"}, "cc_tier", "pooled or tech-touch"),
        ({"cc_from": "9"}, "cc_from", "after the horizon"),
    ],
)
def test_bad_input_is_reported_by_its_key_and_not_used(params, key, words):
    inputs, errors = ScenarioInputs.from_params(params)
    assert list(errors) == [key]
    assert words in errors[key]
    assert inputs == ScenarioInputs.defaults()


def test_a_long_ramp_fits_a_long_horizon():
    inputs, errors = ScenarioInputs.from_params({"ramp": "30", "hz": "12"})
    assert errors == {} and inputs.ramp_months == 30


def test_storage_round_trip_and_old_payloads():
    inputs = ScenarioInputs(
        horizon=6,
        growth=(0.03, None, 0.01),
        churn=(None, None, 0.02),
        cc_segments=("SMB",),
        cc_below_arr=10_000.0,
        cc_to_tier="pooled",
        cc_from=2,
    )
    stored = json.loads(json.dumps(inputs.to_dict()))
    assert ScenarioInputs.from_dict(stored) == inputs
    # A payload saved before inputs existed, or damaged, opens with the defaults.
    assert ScenarioInputs.from_dict({}) == ScenarioInputs.defaults()
    assert ScenarioInputs.from_dict(None) == ScenarioInputs.defaults()
    old = ScenarioInputs.from_dict({"horizon": 5, "growth": {"SMB": 0.04}})
    assert old == replace(ScenarioInputs.defaults(), horizon=5, growth=(None, None, 0.04))
    junk = ScenarioInputs.from_dict(
        {"horizon": "x", "coverage": 5, "growth": [1], "ramp_months": 99}
    )
    assert junk == ScenarioInputs.defaults()


def test_labels_show_every_input():
    inputs = replace(ScenarioInputs.defaults(), growth=(0.02, None, None))
    labels = dict(inputs.labels())
    assert labels["Horizon"] == "8 quarters"
    assert labels["New logos a quarter, Enterprise"] == "2.0% of the segment's customers"
    assert labels["New logos a quarter, SMB"] == "Trailing actual"
    assert labels["CSM attrition"] == "15.0% a year"
    assert labels["Loaded cost per CSM"] == "$150,000 a year"
    assert labels["Coverage change"] == "None"
    smb = replace(_segment("SMB", 100), new_logos=20)  # 20 a year / 4 / 100 = 5.0% a quarter
    with_base = dict(inputs.labels(_baseline(smb)))
    assert with_base["New logos a quarter, SMB"] == "Trailing actual (5.0%)"
    changed = replace(inputs, cc_segments=("SMB",), cc_below_arr=20_000.0, cc_to_tier="tech-touch")
    assert dict(changed.labels())["Coverage change"] == (
        "SMB customers under $20,000 ARR to tech-touch from quarter 1"
    )


# ---- the books summarised from a database ------------------------------------------------------
# As of 31 Dec 2026; the cohort is a year earlier (31 Dec 2025).
#   S1 SMB named      C1        ARR  5  since 2023             in the cohort, kept
#   S2 SMB pooled     C1        ARR 10  since 2023             kept
#   S3 SMB named      C2        ARR 20  from 1 Jun 2026        new logo
#   S4 SMB tech-touch C3 (left) ARR 40  since 2023             kept; open book
#   S5 SMB named      C1        ARR  7  2023 - 1 Jun 2026      churned
#   S6 SMB named      C1        ARR  9  from 1 Feb 2027        not known on the day
#   E1 Enterprise named, no owner, ARR 100 from 1 Mar 2026: new logo, open book
#   E2 Enterprise named C1      ARR 50  since 2023             kept
# Points (no health weighting): SMB named 2, pooled 1, tech-touch 0.5; Enterprise named 4.
# CSMs: C1 capacity 100, C2 none (the model's 50), C3 left 30 Jun 2026, C4 capacity 25 hired
# 1 Nov 2026 with no accounts. One FTE = 50 points.
@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory):
    csms = [
        {"csm_id": "C1", "name": "Ana", "team": "East", "role": "CSM", "capacity_points": 100,
         "hire_date": "2020-01-01"},
        {"csm_id": "C2", "name": "Ben", "team": "East", "role": "CSM", "hire_date": "2021-01-01"},
        {"csm_id": "C3", "name": "Cy", "team": "East", "role": "CSM", "hire_date": "2021-01-01",
         "end_date": "2026-06-30"},
        {"csm_id": "C4", "name": "Di", "team": "East", "role": "CSM", "capacity_points": 25,
         "hire_date": "2026-11-01"},
    ]  # fmt: skip
    accounts = [
        account("S1", "SMB", "named", "C1"),
        account("S2", "SMB", "pooled", "C1"),
        account("S3", "SMB", "named", "C2"),
        account("S4", "SMB", "tech-touch", "C3"),
        account("S5", "SMB", "named", "C1"),
        account("S6", "SMB", "named", "C1"),
        account("E1", "Enterprise", "named", None),
        account("E2", "Enterprise", "named", "C1"),
    ]
    contracts = [
        contract("S1", "2023-01-01", "2028-01-01", 5),
        contract("S2", "2023-01-01", "2028-01-01", 10),
        contract("S3", "2026-06-01", "2027-06-01", 20),
        contract("S4", "2023-01-01", "2028-01-01", 40),
        contract("S5", "2023-01-01", "2026-06-01", 7),
        contract("S6", "2027-02-01", "2028-02-01", 9),
        contract("E1", "2026-03-01", "2027-03-01", 100),
        contract("E2", "2023-01-01", "2028-01-01", 50),
    ]
    return build_tiny(
        tmp_path_factory.mktemp("capacity"),
        {"csms": csms, "accounts": accounts, "contracts": contracts},
        AS_OF,
    )


def _tiny_workload() -> WorkloadParams:
    points = {("SMB", "named"): 2.0, ("SMB", "pooled"): 1.0, ("SMB", "tech-touch"): 0.5}
    points[("Enterprise", "named")] = 4.0
    return replace(
        WorkloadParams.defaults(),
        points=tuple((s, t, points.get((s, t), 1.0)) for s in SEGMENTS for t in TIERS),
        weigh_health=False,
        capacity_points=50.0,
        target_utilisation=1.0,
    )


def test_baseline_summarises_the_books(tiny_db):
    b = scenario_baseline(tiny_db, Filters(), AS_OF, _tiny_workload())
    smb, ent, mm = b.segment("SMB"), b.segment("Enterprise"), b.segment("Mid-Market")
    assert (smb.accounts, smb.arr, smb.points) == (4, 75.0, 5.5)  # 2 + 1 + 2 + 0.5
    assert smb.median_arr == 15.0  # of 5, 10, 20, 40
    assert smb.new_logos == 1  # S3 (S6 starts after the day)
    assert (smb.cohort_logos, smb.cohort_retained) == (4, 3)  # S1 S2 S4 S5; S5 churned
    assert smb.growth_actual == pytest.approx(1 / 4 / 4)
    assert smb.churn_actual == pytest.approx(1 - 0.75**0.25)
    assert (ent.accounts, ent.points, ent.new_logos, ent.churn_actual) == (2, 8.0, 1, 0.0)
    assert ent.growth_actual == 1 / 4 / 2 and ent.median_arr == 75.0  # of 50 and 100
    assert (mm.accounts, mm.points, mm.growth_actual, mm.median_arr) == (0, 0.0, 0.0, 0.0)
    # C1 100/50 = 2 FTE, C2 (no capacity: the model's 50) 1, C4 25/50 = 0.5; C3 has left.
    assert sorted(b.csm_fte) == [0.5, 1.0, 2.0]
    assert b.departed_csms == 1 and b.open_book_accounts == 2  # S4 (C3 left), E1 (no owner)


def test_coverage_change_savings(tiny_db):
    b = scenario_baseline(tiny_db, Filters(), AS_OF, _tiny_workload())
    smb = b.segment("SMB")
    # By ARR: S1 5 named, S2 10 pooled, S3 20 named, S4 40 tech-touch.
    # To tech-touch each saves 1.5, 0.5, 1.5, 0; to pooled 1, 0, 1, 0.
    assert smb.points_saved(15, "tech-touch") == 2.0  # S1 + S2
    assert smb.points_saved(15, "pooled") == 1.0  # S1 only: S2 already pooled
    assert smb.points_saved(20, "tech-touch") == 2.0  # under 20: S3 stays
    assert smb.points_saved(1_000, "tech-touch") == 3.5
    assert smb.points_saved(5, "tech-touch") == 0.0


def test_coverage_change_from_a_quarter(tiny_db):
    # SMB under $15 to tech-touch from quarter 2: points 5.5 + 8 = 13.5, then 3.5 + 8 = 11.5.
    # One FTE = 50 points at 100%: 0.27 then 0.23 FTE.
    workload = _tiny_workload()
    b = scenario_baseline(tiny_db, Filters(), AS_OF, workload)
    inputs = _inputs(cc_segments=("SMB",), cc_below_arr=15.0, cc_to_tier="tech-touch", cc_from=2)
    p = project(b, inputs, workload)
    assert list(p.quarters["points"]) == pytest.approx([13.5, 11.5, 11.5, 11.5])
    assert list(p.quarters["required_fte"]) == pytest.approx([0.27, 0.23, 0.23, 0.23])
    # Team: 2 + 1 + C4 ramping (hired 1 Nov, ramp 0 in these inputs) 0.5 = 3.5 FTE.
    assert p.supply_now == pytest.approx(3.5)


def test_baseline_follows_the_filters(tiny_db):
    b = scenario_baseline(tiny_db, Filters(segment=("Enterprise",)), AS_OF, _tiny_workload())
    assert b.segment("SMB").accounts == 0 and b.segment("Enterprise").accounts == 2
    # A segment filter keeps only CSMs who own customers in it (C1: E2; E1 has no owner), each
    # with the share of capacity serving it: C1's Enterprise points 4 of 4 + 2 + 1 = 7.
    assert b.csm_fte == pytest.approx((2 * 4 / 7,))
    b = scenario_baseline(tiny_db, Filters(segment=("SMB",)), AS_OF, _tiny_workload())
    # C1: SMB points 3 of 7 -> 2 FTE x 3/7; C2: all of its book is SMB -> 1 FTE.
    assert sorted(b.csm_fte) == pytest.approx([6 / 7, 1.0])
    b = scenario_baseline(tiny_db, Filters(team=("East",)), AS_OF, _tiny_workload())
    assert sorted(b.csm_fte) == [0.5, 1.0, 2.0]  # a team filter: every CSM whole


# ---- exports -----------------------------------------------------------------------------------
def test_export_holds_the_inputs_and_the_quarters(tiny_db):
    import csv
    import io

    import openpyxl

    from services.capacity_projection_export import scenario_csv, scenario_export, scenario_xlsx

    params = {"hz": "4", "g_smb": "25", "attr": "0", "cc_seg": "smb", "cc_arr": "15"}
    export = scenario_export(tiny_db, Filters(), AS_OF, params)
    book = openpyxl.load_workbook(scenario_xlsx(export))
    assert book.sheetnames == ["Inputs", "Quarters"]
    inputs = {r[0]: r[1:] for r in book["Inputs"].iter_rows(min_row=2, values_only=True)}
    assert inputs["Horizon"] == (4, "quarters")
    assert inputs["New logos a quarter, SMB"] == (25, "% of the segment's customers a quarter")
    # Enterprise follows its trailing actual: 1 new logo a year on 2 customers = 12.5% a quarter.
    assert inputs["New logos a quarter, Enterprise"] == (
        12.5,
        "% of the segment's customers a quarter (trailing actual)",
    )
    assert inputs["Customers today"][0] == 6 and inputs["Active CSMs today"][0] == 3
    quarters = book["Quarters"]
    assert quarters.freeze_panes == "B2" and book["Inputs"].freeze_panes == "A2"
    header = [c.value for c in quarters[1]]
    rows = list(quarters.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == ["Q1 2027", "Q2 2027", "Q3 2027", "Q4 2027"]
    # SMB: 4 customers + 25% of 4 = 1 a quarter; no churn set, so the trailing 1 - 0.75^0.25.
    churn = 1 - 0.75**0.25
    smb = header.index("Customers, SMB")
    assert rows[0][smb] == pytest.approx(4 * (1 - churn) + 1)
    assert quarters.cell(2, smb + 1).number_format == "#,##0.0"
    assert quarters.cell(2, header.index("Quarter end") + 1).number_format == "yyyy-mm-dd"

    text = scenario_csv(export).decode("utf-8-sig")
    top, _, table = text.partition("\n\n")
    assert dict((r[0], r[1]) for r in csv.reader(io.StringIO(top)))["Horizon"] == "4"
    parsed = list(csv.DictReader(io.StringIO(table)))
    assert [r["Quarter"] for r in parsed] == ["Q1 2027", "Q2 2027", "Q3 2027", "Q4 2027"]
    assert float(parsed[0]["Customers, SMB"]) == pytest.approx(4 * (1 - churn) + 1, abs=0.05)


def test_export_text_never_starts_a_formula(tiny_db):
    from services import capacity_projection_export as exporting

    export = exporting.scenario_export(tiny_db, Filters(), AS_OF, {"hz": "4"})
    hostile = export.inputs.copy()
    hostile.loc[len(hostile)] = ['=HYPERLINK("http://x")', "@SUM(A1)", "+1"]
    export = exporting.ScenarioExport(hostile, export.quarters, export.filename)
    text = exporting.scenario_csv(export).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text and ",'+1" in text
    import openpyxl

    sheet = openpyxl.load_workbook(exporting.scenario_xlsx(export))["Inputs"]
    last = [c.value for c in sheet[sheet.max_row]]
    assert last == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'+1"]


def test_export_refuses_unusable_inputs(tiny_db):
    from services.capacity_projection_export import InvalidScenario, scenario_export

    with pytest.raises(InvalidScenario, match="Horizon must be between 4 and 12 quarters"):
        scenario_export(tiny_db, Filters(), AS_OF, {"hz": "20"})
    with pytest.raises(InvalidScenario, match="Target utilisation"):
        scenario_export(tiny_db, Filters(), AS_OF, {"tu": "500"})


# ---- the form (components/capacity_scenario.py) -------------------------------------------------
def test_a_field_left_at_its_trailing_actual_follows_the_data():
    from components.capacity_scenario import FIELD_KEYS, form_values, url_params

    actuals = {"g_smb": "5.3", "ch_smb": "2.5"}
    values = form_values({}, actuals, WORKLOAD)
    assert values["g_smb"] == "5.3" and values["hz"] == "8" and values["tu"] == "80"
    assert set(values) == set(FIELD_KEYS)
    # Nothing changed: nothing in the URL but the target utilisation typed on the page.
    assert url_params(values, actuals) == {
        "hz": "8", "tu": "80", "cost": "150000", "attr": "15", "ramp": "3", "rprod": "50",
        "lead": "75",
    }  # fmt: skip
    assert ScenarioInputs.from_params(url_params(values, actuals))[0].growth == (None, None, None)
    changed = {**values, "g_smb": "7", "cc_seg": ["smb"], "cc_tier": "tech", "cc_from": "2"}
    params = url_params(changed, actuals)
    assert params["g_smb"] == "7" and params["cc_seg"] == "smb" and params["cc_tier"] == "tech"
    # The URL's own text fills a field, an unusable one too (its message shows by the field).
    assert form_values({"g_smb": ["abc"]}, actuals, WORKLOAD)["g_smb"] == "abc"
