"""The Attainment and What-if tabs' pure builders on hand-made payouts: what goes into the URL,
the top line as the sum of the people, the grid's per-metric columns, the distribution's
shares and the flags' reasons."""

from __future__ import annotations

from datetime import date

import pandas as pd

from components.comp_attainment import budget_scope, person_records, slice_notice, top_line
from components.comp_whatif import (
    flagged_records,
    payout_shares,
    plan_defaults,
    totals,
    url_changes,
)
from services.comp_payout import Payouts
from services.comp_plan import default_plan
from services.filters import Filters

PLAN = default_plan(date(2026, 10, 1))  # renewal_rate 50% (curve 90/50/2/150), nrr, expansion


def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "csm_id": ["a", "b"],
            "name": ["Ann", "Bob"],
            "team": ["T1", "T1"],
            "role": ["CSM", "Manager"],
            "on_target": [5_000.0, 7_500.0],
            "payout": [1_000.0, 3_000.0],
            "projected_payout": [4_000.0, 9_000.0],
            "projected_low": [3_000.0, 8_000.0],
            "projected_high": [5_000.0, 9_500.0],
            "attainment": [80.0, 120.0],
            "projected_attainment": [95.0, 130.0],
            "flags": ["", "Trivially reached: NRR"],
        }
    )


def lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "csm_id": ["a", "b"],
            "metric": ["renewal_rate", "nrr"],
            "target": [0.9, 1.0],
            "rule_label": ["Company target", "Company target"],
            "actual": [0.72, 1.2],
            "attainment": [80.0, 120.0],
            "projected_attainment": [95.0, 130.0],
            "best_attainment": [85.0, 140.0],
            "worst_attainment": [60.0, 110.0],
            "threshold": [90.0, 95.0],
            "out_of_reach": [True, False],
            "trivial": [False, True],
        }
    )


def test_url_keeps_only_changed_usable_values():
    defaults = plan_defaults(PLAN)
    assert defaults["wi_renewal_rate_target"] == "100"
    assert defaults["wi_renewal_rate_threshold"] == "90"
    values = {
        "wi_renewal_rate_target": "110",  # changed: kept
        "wi_renewal_rate_threshold": "90.0",  # the plan's own value: dropped
        "wi_renewal_rate_cap": "80",  # cannot be used: the URL keeps what it had
        "wi_nrr_cap": "",  # emptied: dropped
    }
    changes = url_changes(values, defaults, {"wi_renewal_rate_cap": "below target"})
    assert changes == {
        "wi_renewal_rate_target": "110",
        "wi_renewal_rate_threshold": None,
        "wi_nrr_cap": None,
    }


def test_top_line_is_the_sum_of_the_people():
    row = top_line(people(), 20_000.0, "Q4 2026")
    text = str(row)
    # on-target 5,000 + 7,500; to date 1,000 + 3,000; projected 4,000 + 9,000 (of 20,000: 65%)
    assert "$12.5K" in text and "$4.0K" in text and "$13.0K" in text
    assert "80% range $11.0K – $14.5K" in text
    assert "65.0% used by the projection" in text
    assert "No budget set for Q4 2026" in str(top_line(people(), None, "Q4 2026"))


def test_person_records_put_each_metric_beside_the_person():
    records = {r["csm_id"]: r for r in person_records(people(), lines(), PLAN)}
    assert records["a"]["renewal_rate__actual"] == 0.72
    assert records["a"]["renewal_rate__target"] == 0.9
    assert records["a"]["renewal_rate__attainment"] == 80.0
    assert records["a"]["nrr__actual"] is None  # Ann has no NRR line
    assert records["b"]["range"] == "$8.0K – $9.5K"


def test_payout_shares_and_flag_reasons():
    frame = people()
    payouts = Payouts(lines(), frame, pd.DataFrame(), {})
    # 4,000 / 5,000 = 80%; 9,000 / 7,500 = 120%
    assert payout_shares(frame).round(6).tolist() == [80.0, 120.0]
    flags = {r["name"]: r for r in flagged_records(payouts)}
    assert flags["Ann"]["flag"] == "Out of reach"
    assert "reaches 85% of target, below the 90% threshold" in flags["Ann"]["why"]
    assert flags["Bob"]["flag"] == "Trivially reached"
    assert "is at 110% of target" in flags["Bob"]["why"]


def test_account_filters_say_the_payouts_are_a_slice_of_each_book():
    assert slice_notice(Filters()) is None
    assert slice_notice(Filters(team=("T1",), owner=("a",))) is None  # people, whole books
    notice = str(slice_notice(Filters(segment=("SMB",), tier=("T1", "T2"), team=("T1",))))
    assert "not what anyone is paid" in notice
    assert "Filtered to segment SMB; coverage tier T1, T2" in notice
    assert "statement shows their whole book" in notice
    many = str(slice_notice(Filters(region=("R1", "R2", "R3", "R4", "R5"))))
    assert "region R1, R2, R3 and 2 more" in many


def test_the_budget_share_is_hidden_when_the_view_is_not_everyones_whole_book():
    assert budget_scope(Filters()) is None
    assert "shown for everyone only" in budget_scope(Filters(team=("T1",)))
    assert "shown for everyone only" in budget_scope(Filters(owner=("a",), segment=("SMB",)))
    assert "shown for whole books only" in budget_scope(Filters(segment=("SMB",)))
    note = budget_scope(Filters(team=("T1",)))
    text = str(top_line(people(), 20_000.0, "Q4 2026", note))
    assert "$20.0K" in text and note in text  # the budget itself, and why no share
    assert "used by the projection" not in text
    payouts = Payouts(lines(), people(), pd.DataFrame(), {})
    text = str(totals(payouts, payouts, 20_000.0, "Q4 2026", note))
    assert note in text and "Plan uses" not in text
    # without filters the what-if shows both shares: 13,000 of 20,000
    assert "Plan uses 65.0%, what-if 65.0%" in str(totals(payouts, payouts, 20_000.0, "Q4 2026"))
