"""Compensation actuals on a hand-made portfolio: attribution across an owner change and an
unowned day, managers and the director summing their people, every metric to date, the
projection with its range, best and worst, filters, a past as-of date, and the people's
columns. Every expected number is worked out by hand in the comments.

The portfolio (period Q4 2026 = [1 Oct 2026, 1 Jan 2027), 92 days; data as of 20 Nov 2026):

People: D1 Director; M1 Manager (team East, reports to D1); C1 (East, manager M1, hired
1 Jan 2023); C2 (East, manager M1, hired 1 Nov 2026: mid-period); C3 (West, reports to D1);
C4 left 30 Jun 2026 and owns nothing then: out of scope.

Accounts (ARR from contracts; a0 = ARR on 30 Sep 2026, a1 = ARR on the day with data):
- A1 SMB: C1 until 1 Nov 2026, then C2. Two contracts: 100 renewing 15 Oct (R1, renewed 100 ->
  a new contract of 100) and 200 renewing 10 Nov (R2, churned). a0 = 300, a1(20 Nov) = 100.
  Expansions won: E1 50 on 20 Oct (-> C1), E2 30 on 15 Nov (-> C2).
- A2 SMB, C1 (no history: the current owner all along): 400 to 1 Dec 2026; R3 open, due 1 Dec,
  close plan in place, green (touchpoints). Open opportunities E3 100 (10 Dec), E6 100 (20 Dec).
- A5 SMB, C1: 100 to 15 Dec 2026; R6 open, due 15 Dec, no close plan, red.
- A3 Mid-Market: C3, then nobody from 10 Oct to 20 Oct, then C3 again. R4 (80, renewed 80)
  closed on 12 Oct: unowned. a0 = a1 = 80.
- A4 Enterprise, C3: 1,000 all year, green. Lost opportunity E4 (1 Jun 2026).
- A6 SMB, C3: 120, renewed on 1 Mar 2026 (H1, before the period). Lost opportunity E5.

The renewal model on 20 Nov 2026 (closed in the trailing 8 quarters: H1, R1, R2, R4, fewer than
20 anywhere): the overall rate (120 + 100 + 0 + 80) / (120 + 100 + 200 + 80) = 300 / 500 = 0.6.
The expansion win rate on 20 Nov 2026 (closed won/lost since 20 Nov 2025): E1, E2 won, E4, E5
lost: 2 / 4 = 0.5.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from services.comp_actuals import LINE_COLUMNS, attributed_lines, period_measures
from services.comp_actuals_people import PEOPLE_COLUMNS, UNOWNED
from services.comp_periods import Period
from services.filters import Filters
from services.renewal_forecast import Z80
from services.retention import cohort_movement
from tests.unit.tiny import account, build_tiny, contract, expansion, touchpoints

BUILT = date(2026, 11, 20)  # a Friday: the weekly grid ends here
PAST = date(2026, 11, 6)  # a snapshot date two weeks earlier
Q4 = Period(date(2026, 10, 1), date(2027, 1, 1), "quarter")
Q3 = Period(date(2026, 7, 1), date(2026, 10, 1), "quarter")

CSMS = [
    {"csm_id": "D1", "name": "Dana Director", "team": "Leadership", "role": "Director",
     "hire_date": "2020-01-01"},
    {"csm_id": "M1", "name": "Mia Manager", "team": "East", "role": "Manager",
     "manager_id": "D1", "hire_date": "2021-01-01"},
    {"csm_id": "C1", "name": "Ana Adams", "team": "East", "role": "CSM", "manager_id": "M1",
     "hire_date": "2023-01-01"},
    {"csm_id": "C2", "name": "Ben Baker", "team": "East", "role": "CSM", "manager_id": "M1",
     "hire_date": "2026-11-01"},
    {"csm_id": "C3", "name": "Cy Clark", "team": "West", "role": "CSM", "manager_id": "D1",
     "hire_date": "2019-06-01"},
    {"csm_id": "C4", "name": "Dee Dunn", "team": "West", "role": "CSM", "manager_id": "D1",
     "hire_date": "2022-01-01", "end_date": "2026-06-30"},
]  # fmt: skip


def renewal(rid, acc, on, arr_up, outcome="open", renewed=None, contract_id=None, plan=None):
    return {
        "renewal_id": rid,
        "account_id": acc,
        "contract_id": contract_id,
        "renewal_date": on.isoformat(),
        "arr_up_for_renewal": arr_up,
        "forecast_category": "commit",
        "has_close_plan": plan,
        "outcome": outcome,
        "renewed_arr": renewed,
        "closed_date": on.isoformat() if outcome != "open" else None,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    rows = {
        "csms": CSMS,
        "accounts": [
            account("A1", "SMB", owner="C2"),
            account("A2", "SMB", owner="C1"),
            account("A5", "SMB", owner="C1"),
            account("A3", "Mid-Market", owner="C3"),
            account("A4", "Enterprise", owner="C3"),
            account("A6", "SMB", owner="C3"),
        ],
        "account_owner_history": [
            {
                "account_id": "A1",
                "owner_csm_id": "C1",
                "valid_from": "2020-01-01",
                "valid_to": "2026-11-01",
            },
            {"account_id": "A1", "owner_csm_id": "C2", "valid_from": "2026-11-01"},
            {
                "account_id": "A3",
                "owner_csm_id": "C3",
                "valid_from": "2020-01-01",
                "valid_to": "2026-10-10",
            },
            {
                "account_id": "A3",
                "owner_csm_id": None,
                "valid_from": "2026-10-10",
                "valid_to": "2026-10-20",
            },
            {"account_id": "A3", "owner_csm_id": "C3", "valid_from": "2026-10-20"},
        ],  # fmt: skip
        "contracts": [
            contract("A1", "2025-10-15", "2026-10-15", 100, contract_id="K1a"),
            contract("A1", "2025-11-10", "2026-11-10", 200, contract_id="K1b"),
            contract("A1", "2026-10-15", "2027-10-15", 100, contract_id="K1c"),
            contract("A2", "2025-12-01", "2026-12-01", 400, contract_id="K2"),
            contract("A5", "2025-12-15", "2026-12-15", 100, contract_id="K5"),
            contract("A3", "2025-10-12", "2026-10-12", 80, contract_id="K3a"),
            contract("A3", "2026-10-12", "2027-10-12", 80, contract_id="K3b"),
            contract("A4", "2026-01-01", "2027-06-01", 1000, contract_id="K4"),
            contract("A6", "2025-03-01", "2026-03-01", 120, contract_id="K6a"),
            contract("A6", "2026-03-01", "2027-03-01", 120, contract_id="K6b"),
        ],
        "renewals": [
            renewal("R1", "A1", date(2026, 10, 15), 100, "renewed", 100, "K1a"),
            renewal("R2", "A1", date(2026, 11, 10), 200, "churned", None, "K1b"),
            renewal("R3", "A2", date(2026, 12, 1), 400, contract_id="K2", plan=True),
            renewal("R6", "A5", date(2026, 12, 15), 100, contract_id="K5", plan=False),
            renewal("R4", "A3", date(2026, 10, 12), 80, "renewed", 80, "K3a"),
            renewal("H1", "A6", date(2026, 3, 1), 120, "renewed", 120, "K6a"),
        ],
        "expansions": [
            expansion("E1", "A1", "2026-10-20", 50, "won", created="2026-03-01"),
            expansion("E2", "A1", "2026-11-15", 30, "won", created="2026-03-01"),
            expansion("E3", "A2", "2026-12-10", 100, "open", created="2026-03-01"),
            expansion("E6", "A2", "2026-12-20", 100, "open", created="2026-03-01"),
            expansion("E4", "A4", "2026-06-01", 10, "lost", created="2026-03-01"),
            expansion("E5", "A6", "2026-07-01", 10, "lost", created="2026-03-01"),
        ],
        "touchpoints": touchpoints("A2", date(2024, 1, 1), BUILT)
        + touchpoints("A4", date(2024, 1, 1), BUILT),
    }
    return build_tiny(tmp_path_factory.mktemp("comp-actuals"), rows, BUILT)


@pytest.fixture(scope="module")
def now(db):
    return period_measures(db, Filters(), Q4, BUILT)


def cell(m, csm: str, metric: str, column: str = "actual"):
    row = m.frame[(m.frame["csm_id"] == csm) & (m.frame["metric"] == metric)]
    assert len(row) == 1, (csm, metric)
    return row.iloc[0][column]


def person(m, csm: str):
    row = m.people[m.people["csm_id"] == csm]
    assert len(row) == 1, csm
    return row.iloc[0]


# ---- the shape -----------------------------------------------------------------------------------
def test_columns_and_one_row_per_person_and_metric(now):
    assert list(now.people.columns) == list(PEOPLE_COLUMNS)
    assert list(now.frame.columns) == [
        "csm_id", "metric", "actual", "numerator", "denominator", "projected",
        "projected_low", "projected_high", "best", "worst", "closed_count", "open_count",
    ]  # fmt: skip
    # In scope: D1, M1, C1, C2, C3 (employed) + Unowned (R4); C4 left before the period.
    assert set(now.people["csm_id"]) == {"D1", "M1", "C1", "C2", "C3", UNOWNED}
    assert len(now.frame) == 6 * 7
    assert (now.period, now.as_of, now.to_date) == (Q4, BUILT, BUILT)
    assert now.build_id


# ---- attribution -------------------------------------------------------------------------------
def test_renewals_count_for_the_owner_on_the_day_they_closed(now):
    # R1 closed 15 Oct while C1 owned A1: C1 100 / 100. R2 closed 10 Nov, after A1 moved to C2:
    # C2 keeps 0 of 200.
    assert (cell(now, "C1", "renewal_rate", "numerator"), cell(now, "C1", "renewal_rate",
            "denominator")) == (100, 100)  # fmt: skip
    assert cell(now, "C1", "renewal_rate", "closed_count") == 1
    assert (cell(now, "C2", "renewal_rate"), cell(now, "C2", "renewal_rate", "denominator")) == (
        0.0,
        200,
    )
    # R4 closed on 12 Oct, a day nobody owned A3: Unowned, 80 / 80.
    assert cell(now, UNOWNED, "renewal_rate") == 1.0
    assert person(now, UNOWNED)["role"] == "none"
    # C3 closed nothing in the period (H1 closed in March): nothing to measure.
    assert math.isnan(cell(now, "C3", "renewal_rate"))


def test_expansions_count_for_the_owner_on_the_day_they_closed(now):
    assert cell(now, "C1", "expansion_arr") == 50  # E1, 20 Oct, C1 owned A1
    assert cell(now, "C2", "expansion_arr") == 30  # E2, 15 Nov, C2 owned A1
    assert cell(now, "C3", "expansion_arr") == 0
    assert math.isnan(cell(now, "C1", "expansion_arr", "denominator"))


def test_the_cohort_account_counts_for_the_owner_of_its_last_renewal_of_the_period(now):
    # A1's last renewal of the period (R2, 10 Nov) closed under C2: A1 (a0 300, a1 100) is C2's.
    # GRR = NRR = 100 / 300; one logo, still paying.
    assert cell(now, "C2", "grr") == pytest.approx(1 / 3)
    assert cell(now, "C2", "nrr") == pytest.approx(1 / 3)
    assert cell(now, "C2", "logo_retention") == 1.0
    # C1: A2 (400 -> 400) and A5 (100 -> 100), no renewal closed yet: owner on 20 Nov.
    assert (cell(now, "C1", "grr", "numerator"), cell(now, "C1", "grr", "denominator")) == (
        500,
        500,
    )
    # C3: A4 1,000 and A6 120, unchanged; Unowned: A3 (its renewal closed on the unowned day).
    assert cell(now, "C3", "nrr", "denominator") == 1120
    assert cell(now, UNOWNED, "grr", "denominator") == 80


def test_a_manager_sums_the_team_and_the_director_everyone(now):
    # M1 = M1 (nothing) + C1 + C2. Renewal rate (100 + 0) / (100 + 200) = 1/3.
    assert cell(now, "M1", "renewal_rate") == pytest.approx(100 / 300)
    # Cohort: C1 500 -> 500, C2 300 -> 100: GRR = NRR = 600 / 800 = 0.75; logos 3 / 3.
    assert cell(now, "M1", "grr") == pytest.approx(0.75)
    assert cell(now, "M1", "logo_retention", "denominator") == 3
    assert cell(now, "M1", "expansion_arr") == 80  # 50 + 30
    # D1 = everyone, Unowned included: renewal rate (100 + 0 + 80) / (100 + 200 + 80) = 180/380;
    # GRR: start 300 + 400 + 100 + 80 + 1,000 + 120 = 2,000, kept 100 + 400 + 100 + 80 +
    # 1,000 + 120 = 1,800 -> 0.9; NRR the same (no account grew); 6 logos, all still paying.
    assert cell(now, "D1", "renewal_rate") == pytest.approx(180 / 380)
    assert cell(now, "D1", "grr") == pytest.approx(0.9)
    assert cell(now, "D1", "nrr") == pytest.approx(0.9)
    assert cell(now, "D1", "logo_retention") == 1.0
    assert cell(now, "D1", "logo_retention", "denominator") == 6


def test_the_directors_cohort_equals_the_retention_services_cohort(db, now):
    # Two paths: the company's cohort movement over [30 Sep, 20 Nov] from services.retention.
    ref = cohort_movement(db, Filters(), Q4.start - timedelta(days=1), BUILT).iloc[0]
    assert cell(now, "D1", "grr") == pytest.approx(ref["grr"])
    assert cell(now, "D1", "nrr") == pytest.approx(ref["nrr"])
    assert cell(now, "D1", "logo_retention") == pytest.approx(ref["logo_retention"])


# ---- green share and hygiene on the day with data --------------------------------------------------
def test_green_share_from_the_snapshot_of_the_day(db, now):
    # Checked independently: on 20 Nov A2 and A4 are green (touchpoints), the others red.
    bands = db.query(
        "SELECT account_id, band, arr FROM health_snapshots WHERE snapshot_date = ? "
        "ORDER BY account_id",
        [BUILT],
    ).set_index("account_id")
    assert bands.loc["A2", "band"] == "green" and bands.loc["A4", "band"] == "green"
    assert set(bands.loc[["A1", "A3", "A5", "A6"], "band"]) == {"red"}
    # C1 owns A2 (400, green) and A5 (100, red): 400 / 500. C3 (A3 back since 20 Oct): A4
    # 1,000 green of 1,000 + 120 + 80 = 1,200. C2: A1 red: 0.
    assert cell(now, "C1", "green_share") == pytest.approx(0.8)
    assert cell(now, "C3", "green_share") == pytest.approx(1000 / 1200)
    assert cell(now, "C2", "green_share") == 0.0
    # Carried to the period's end.
    for col in ("projected", "projected_low", "projected_high", "best", "worst"):
        assert cell(now, "C1", "green_share", col) == pytest.approx(0.8)


def test_hygiene_per_owner_on_the_day(now):
    # C1's open renewals due within 90 days: R3 (commit, close plan, green: passes every
    # check) and R6 (no close plan, and at risk because red without a reason): 1 of 2 pass.
    assert cell(now, "C1", "hygiene") == 0.5
    assert cell(now, "C1", "hygiene", "denominator") == 2
    assert math.isnan(cell(now, "C3", "hygiene"))  # nothing open: nothing to check


# ---- the projection ------------------------------------------------------------------------------
def test_projected_renewal_rate_is_actual_plus_forecast(now):
    # C1: closed 100 / 100; open R3 400 and R6 100, each at p = 0.6 (the overall rate).
    # Expected kept 400·0.6 + 100·0.6 = 300 -> (100 + 300) / (100 + 500) = 400/600.
    # Variance 400²·0.24 + 100²·0.24 = 38,400 + 2,400 = 40,800; sd 201.99.
    # Low numerator 400 − 1.2816·201.99 = 141.14 -> / 600 = 0.2352; high 658.86 is above the
    # best case (100 + 500 = 600) -> 600 / 600 = 1. Worst: 100 / 600.
    assert cell(now, "C1", "renewal_rate", "projected") == pytest.approx(400 / 600)
    sd = math.sqrt(40_800)
    assert cell(now, "C1", "renewal_rate", "projected_low") == pytest.approx((400 - Z80 * sd) / 600)
    assert cell(now, "C1", "renewal_rate", "projected_low") == pytest.approx(0.2352, abs=1e-4)
    assert cell(now, "C1", "renewal_rate", "projected_high") == 1.0
    assert cell(now, "C1", "renewal_rate", "best") == 1.0
    assert cell(now, "C1", "renewal_rate", "worst") == pytest.approx(100 / 600)
    assert cell(now, "C1", "renewal_rate", "open_count") == 2
    # C2 has nothing open: projected = actual = 0, best = worst = 0.
    assert cell(now, "C2", "renewal_rate", "projected") == 0.0
    assert cell(now, "C2", "renewal_rate", "best") == 0.0


def test_projected_retention_of_the_cohort(now):
    # C1's cohort: A2 400 and A5 100, each with its whole ARR up at p = 0.6: expected ARR at the
    # end 240 + 60 = 300 -> NRR = GRR = 300 / 500 = 0.6; range 300 ± 1.2816·201.99 =
    # [41.14, 558.86] held within [worst 0, best 500] -> [0.0823, 1.0].
    assert cell(now, "C1", "nrr", "projected") == pytest.approx(0.6)
    assert cell(now, "C1", "grr", "projected") == pytest.approx(0.6)
    assert cell(now, "C1", "nrr", "projected_low") == pytest.approx(
        (300 - Z80 * math.sqrt(40_800)) / 500
    )
    assert cell(now, "C1", "nrr", "projected_high") == 1.0
    assert (cell(now, "C1", "grr", "best"), cell(now, "C1", "grr", "worst")) == (1.0, 0.0)
    # Logos: each account still pays with p = 0.6: 1.2 / 2 = 0.6; sd = √(2·0.24) = 0.6928;
    # 1.2 ± 0.8879 -> [0.3121, 2.0879 -> 2] / 2 = [0.1560, 1].
    assert cell(now, "C1", "logo_retention", "projected") == pytest.approx(0.6)
    assert cell(now, "C1", "logo_retention", "projected_low") == pytest.approx(
        (1.2 - Z80 * math.sqrt(0.48)) / 2
    )
    assert cell(now, "C1", "logo_retention", "projected_high") == 1.0
    # The director adds C1's expected loss to the rest: 1,800 − 500 + 300 = 1,600 of 2,000.
    assert cell(now, "D1", "grr", "projected") == pytest.approx(0.8)


def test_projected_expansion_at_the_win_rate(now):
    # C1: won 50 + open E3 100 and E6 100 at the win rate 0.5: 50 + 100 = 150;
    # sd = √(0.25·(100² + 100²)) = 70.71; 150 ± 90.62 -> [59.38, 240.62], inside [50, 250].
    assert now.win_rate == 0.5
    assert cell(now, "C1", "expansion_arr", "projected") == pytest.approx(150)
    sd = math.sqrt(0.25 * 20_000)
    assert cell(now, "C1", "expansion_arr", "projected_low") == pytest.approx(150 - Z80 * sd)
    assert cell(now, "C1", "expansion_arr", "projected_high") == pytest.approx(150 + Z80 * sd)
    assert (
        cell(now, "C1", "expansion_arr", "best"),
        cell(now, "C1", "expansion_arr", "worst"),
    ) == (
        250,
        50,
    )
    assert cell(now, "C1", "expansion_arr", "open_count") == 2


def test_a_closed_period_has_nothing_to_project(db):
    # Q3 2026 is over on 20 Nov: to_date = 30 Sep. No renewal closed in it (H1 closed in
    # March): the renewal rate has nothing to measure. Cohort on 30 Jun: A1 300, A2 400, A5 100,
    # A3 80, A4 1,000, A6 120 = 2,000, unchanged on 30 Sep: 1 everywhere, projected = actual.
    m = period_measures(db, Filters(), Q3, BUILT)
    assert m.to_date == date(2026, 9, 30)
    assert math.isnan(cell(m, "D1", "renewal_rate"))
    assert cell(m, "D1", "grr", "denominator") == 2000
    for col in ("grr", "nrr", "logo_retention"):
        assert cell(m, "D1", col) == 1.0
        assert cell(m, "D1", col, "projected") == cell(m, "D1", col, "best") == 1.0
        assert cell(m, "D1", col, "open_count") == 0
    # A1 belonged to C1 on 30 Sep: C1's cohort is A1, A2 and A5 then.
    assert cell(m, "C1", "grr", "denominator") == 800
    # Hygiene on the last weekly snapshot of Q3, 25 Sep (a past day: only the active-owner
    # check is known; every owner is active): C1 owns A1, A2 and A5 then -> R1, R2, R3, R6,
    # all due within 90 days, all passing; C3: R4.
    assert (cell(m, "C1", "hygiene"), cell(m, "C1", "hygiene", "denominator")) == (1.0, 4)
    assert cell(m, "C3", "hygiene", "denominator") == 1
    # C2 was hired on 1 Nov: not employed in Q3 and credited with nothing: out of scope.
    assert "C2" not in set(m.people["csm_id"])


def test_a_period_still_ahead_has_no_actual(db):
    # Q1 2027 seen on 20 Nov 2026: nothing measured yet. C1's renewals (R3, R6) are due in Q4,
    # not in Q1: none projected; the cohort is what C1's accounts pay on 20 Nov (500).
    m = period_measures(db, Filters(), Q4.next(), BUILT)
    assert m.frame["actual"].isna().all()
    assert cell(m, "C1", "renewal_rate", "open_count") == 0
    assert cell(m, "C1", "nrr", "denominator") == 500


# ---- point in time -----------------------------------------------------------------------------
def test_a_past_as_of_ignores_what_closed_later(db):
    m = period_measures(db, Filters(), Q4, PAST)
    assert m.to_date == PAST
    # On 6 Nov R2 (10 Nov) and E2 (15 Nov) had not closed: C2 has no closed renewal and no
    # expansion; R2 is open and owned by C2 (since 1 Nov).
    assert math.isnan(cell(m, "C2", "renewal_rate"))
    assert cell(m, "C2", "renewal_rate", "closed_count") == 0
    assert cell(m, "C2", "renewal_rate", "open_count") == 1
    assert cell(m, "C2", "expansion_arr") == 0
    # The model on 6 Nov knows H1, R1 and R4, all kept in full: p = 1, so C2's projected
    # renewal rate is 200 / 200 and its range collapses.
    assert cell(m, "C2", "renewal_rate", "projected") == 1.0
    assert cell(m, "C2", "renewal_rate", "projected_low") == 1.0
    # A1's last renewal closed by 6 Nov is R1 (15 Oct, C1's): A1 (a0 300, a1 = 100 + 200 on
    # 6 Nov) is C1's cohort then, with A2 and A5: 800 -> 800.
    assert cell(m, "C1", "grr", "denominator") == 800
    assert cell(m, "C1", "nrr") == 1.0
    # The director: R1 and R4 only: (100 + 80) / (100 + 80) = 1.
    assert cell(m, "D1", "renewal_rate") == 1.0
    # Open opportunities are not dated on a past day: the expansion projection is the won ARR.
    assert cell(m, "C1", "expansion_arr", "projected") == 50
    assert cell(m, "C1", "expansion_arr", "open_count") == 0


# ---- filters -----------------------------------------------------------------------------------
def test_a_segment_filter_restricts_the_accounts(db):
    m = period_measures(db, Filters(segment=("SMB",)), Q4, BUILT)
    # A3 (Mid-Market) is out: nothing unowned, no Unowned row.
    assert UNOWNED not in set(m.people["csm_id"])
    # C3 keeps A6 only (120); the director: A1 300 -> 100, A2 400, A5 100, A6 120:
    # (100 + 400 + 100 + 120) / 920.
    assert cell(m, "C3", "grr", "denominator") == 120
    assert cell(m, "D1", "grr") == pytest.approx(720 / 920)
    assert cell(m, "D1", "renewal_rate") == pytest.approx(100 / 300)  # R1 and R2


def test_team_and_owner_filters_select_people_not_accounts(db, now):
    east = period_measures(db, Filters(team=("East",)), Q4, BUILT)
    assert set(east.people["csm_id"]) == {"M1", "C1", "C2"}
    # The manager's numbers are those of the unfiltered view: team filters select people.
    assert cell(east, "M1", "grr") == cell(now, "M1", "grr")
    assert cell(east, "M1", "expansion_arr") == 80
    one = period_measures(db, Filters(owner=("C1",)), Q4, BUILT)
    assert list(one.people["csm_id"]) == ["C1"]
    # C1's renewal rate counts R1, closed on A1 while C1 owned it, although A1 is C2's today.
    assert cell(one, "C1", "renewal_rate", "denominator") == 100


# ---- people -----------------------------------------------------------------------------------
def test_people_columns(now):
    c2 = person(now, "C2")
    # Hired 1 Nov 2026: 1 Nov to 31 Dec inclusive = 61 of the quarter's 92 days.
    assert c2["employed_share"] == pytest.approx(61 / 92)
    assert (c2["tenure_years"], c2["tenure_band"]) == (0.0, "< 1 year")
    c1 = person(now, "C1")
    assert c1["employed_share"] == 1.0
    # 1 Jan 2023 to 1 Oct 2026 = 1,369 days = 3.748 years.
    assert c1["tenure_years"] == pytest.approx(1369 / 365.25)
    assert c1["tenure_band"] == "2-4 years"
    assert person(now, "C3")["tenure_band"] == "4+ years"
    # Books on 20 Nov: C1 A2 400 + A5 100 (SMB); C2 A1 100 (SMB); C3 A4 1,000 (Enterprise) +
    # A6 120 (SMB) + A3 80 (Mid-Market).
    assert (c1["book_arr"], c1["main_segment"]) == (500, "SMB")
    assert (person(now, "C3")["book_arr"], person(now, "C3")["main_segment"]) == (
        1200,
        "Enterprise",
    )
    # Quartiles among the 3 CSMs by book: C2 (100) 1st -> floor(4·0/3) = 0; C1 (500) -> 1;
    # C3 (1,200) -> floor(8/3) = 2.
    assert c2["book_band"] == "Smallest 25%"
    assert c1["book_band"] == "Below median"
    assert person(now, "C3")["book_band"] == "Above median"
    assert person(now, "M1")["book_band"] is None  # bands are among CSMs only
    assert person(now, "M1")["book_arr"] == 600  # the team's books: 500 + 100


def test_employment_is_as_known_on_the_as_of_date(db):
    # Q4 seen on 20 Oct 2026: C2 (hired 1 Nov) was not employed yet and is credited with
    # nothing then (A1 is C1's until 1 Nov): out of scope, not 61/92 employed.
    early = period_measures(db, Filters(), Q4, date(2026, 10, 20))
    assert "C2" not in set(early.people["csm_id"])
    # Q3 seen on 15 Jun 2026: C4's end date (30 Jun, before Q3 starts) was not known then, so
    # C4 counts as still employed: in scope for the whole of Q3, with no end date.
    ahead = period_measures(db, Filters(), Q3, date(2026, 6, 15))
    c4 = person(ahead, "C4")
    assert c4["employed_share"] == 1.0
    assert c4["end_date"] is None
    # Seen after it, the end date is known: C4 left before Q3 and is out of scope.
    assert "C4" not in set(period_measures(db, Filters(), Q3, BUILT).people["csm_id"])


# ---- the lines behind the numbers ---------------------------------------------------------------
def test_attributed_lines_of_a_csm_and_a_manager(db):
    lines = attributed_lines(db, Filters(), Q4, BUILT, "C1")
    assert list(lines.columns) == list(LINE_COLUMNS)
    assert lines["id"].tolist() == ["R1", "E1"]
    r1 = lines.iloc[0]
    assert (r1["kind"], r1["credited_to"], r1["credited_name"]) == ("renewal", "C1", "Ana Adams")
    assert (r1["arr_up"], r1["retained"], r1["outcome"]) == (100, 100, "renewed")
    assert (r1["owner_now"], r1["owner_now_name"]) == ("C2", "Ben Baker")
    assert r1["owned_from"] == date(2020, 1, 1)
    team = attributed_lines(db, Filters(), Q4, BUILT, "M1")
    assert team["id"].tolist() == ["R1", "E1", "R2", "E2"]
    r2 = team.set_index("id").loc["R2"]
    assert (r2["credited_to"], r2["owned_from"], r2["retained"]) == ("C2", date(2026, 11, 1), 0)
    unowned = attributed_lines(db, Filters(), Q4, BUILT, UNOWNED)
    assert unowned["id"].tolist() == ["R4"]
    assert unowned.iloc[0]["credited_name"] == "Unowned"
    assert len(attributed_lines(db, Filters(), Q4, BUILT, "D1")) == 5
    assert attributed_lines(db, Filters(), Q4, BUILT, "nobody").empty


def test_without_a_model_nothing_is_projected_but_best_and_worst_remain(tmp_path):
    # No renewal ever closed (no model) and no opportunity ever closed (no win rate). C1 owns
    # Z1 (500 to 1 Dec 2026, R open, due 1 Dec) and an open opportunity of 40 (10 Dec).
    rows = {
        "csms": CSMS[2:3],
        "accounts": [account("Z1", "SMB", owner="C1")],
        "contracts": [contract("Z1", "2025-12-01", "2026-12-01", 500, contract_id="KZ")],
        "renewals": [renewal("RZ", "Z1", date(2026, 12, 1), 500, contract_id="KZ")],
        "expansions": [expansion("EZ", "Z1", "2026-12-10", 40, "open", created="2026-03-01")],
    }
    db = build_tiny(tmp_path, rows, BUILT)
    m = period_measures(db, Filters(), Q4, BUILT)
    assert not m.renewal_model and m.win_rate is None
    for metric in ("renewal_rate", "grr", "nrr", "logo_retention", "expansion_arr"):
        assert math.isnan(cell(m, "C1", metric, "projected")), metric
        assert math.isnan(cell(m, "C1", metric, "projected_low")), metric
    # Renewal rate: nothing closed; best 500 / 500, worst 0 / 500.
    assert (cell(m, "C1", "renewal_rate", "best"), cell(m, "C1", "renewal_rate", "worst")) == (
        1.0,
        0.0,
    )
    # Cohort: Z1 500 -> 500 to date (GRR 1); best keeps it, worst loses it.
    assert cell(m, "C1", "grr") == 1.0
    assert (cell(m, "C1", "nrr", "best"), cell(m, "C1", "nrr", "worst")) == (1.0, 0.0)
    # Expansion: nothing won; best 40, worst 0.
    assert (cell(m, "C1", "expansion_arr", "best"), cell(m, "C1", "expansion_arr", "worst")) == (
        40,
        0,
    )


def test_a_replaced_renewal_is_retained_and_an_overdue_opportunity_is_projected(tmp_path):
    # C1 owns Y1 and Y2. Y1: contract 100 to 15 Oct 2026, its renewal RY1 still open (overdue)
    # but a successor contract of 100 runs from 15 Oct: `replaced`. Y2: 200 to 1 Dec 2026,
    # renewal RY2 open. The model on 20 Nov (closed in the trailing quarters: HY 120 kept, HZ 80
    # churned): p = 120 / 200 = 0.6 for both.
    # Renewal rate (nothing closed in Q4): RY1 kept in full (100) + RY2 200 x 0.6 = 120 ->
    # 220 / 300; worst keeps RY1: 100 / 300; variance 200² x 0.24 = 9,600 (RY1 adds none):
    # 220 - 1.2816 x 97.98 = 94.4 -> held at worst 100 / 300; high 345.6 -> 300 / 300.
    # Expansion: EY (60, expected 10 Nov: past, still open) and EY2 (40, 10 Dec) at the win
    # rate (EW won, EL lost: 0.5): 0.5 x 100 = 50; best 100.
    rows = {
        "csms": CSMS[2:3],
        "accounts": [account(a, "SMB", owner="C1") for a in ("Y1", "Y2", "Y3", "Y4")],
        "contracts": [
            contract("Y1", "2025-10-15", "2026-10-15", 100, contract_id="KY1"),
            contract("Y1", "2026-10-15", "2027-10-15", 100, contract_id="KY1b"),
            contract("Y2", "2025-12-01", "2026-12-01", 200, contract_id="KY2"),
            contract("Y3", "2025-03-01", "2026-03-01", 120, contract_id="KY3"),
            contract("Y3", "2026-03-01", "2027-03-01", 120, contract_id="KY3b"),
            contract("Y4", "2025-04-01", "2026-04-01", 80, contract_id="KY4"),
        ],
        "renewals": [
            renewal("RY1", "Y1", date(2026, 10, 15), 100, contract_id="KY1"),
            renewal("RY2", "Y2", date(2026, 12, 1), 200, contract_id="KY2"),
            renewal("HY", "Y3", date(2026, 3, 1), 120, "renewed", 120, "KY3"),
            renewal("HZ", "Y4", date(2026, 4, 1), 80, "churned", None, "KY4"),
        ],
        "expansions": [
            expansion("EY", "Y2", "2026-11-10", 60, "open", created="2026-03-01"),
            expansion("EY2", "Y2", "2026-12-10", 40, "open", created="2026-03-01"),
            expansion("EW", "Y3", "2026-06-01", 10, "won", created="2026-03-01"),
            expansion("EL", "Y3", "2026-07-01", 10, "lost", created="2026-03-01"),
        ],
    }
    db = build_tiny(tmp_path, rows, BUILT)
    m = period_measures(db, Filters(), Q4, BUILT)
    assert cell(m, "C1", "renewal_rate", "open_count") == 2
    assert cell(m, "C1", "renewal_rate", "projected") == pytest.approx(220 / 300)
    assert cell(m, "C1", "renewal_rate", "worst") == pytest.approx(100 / 300)
    assert cell(m, "C1", "renewal_rate", "projected_low") == pytest.approx(100 / 300)
    assert cell(m, "C1", "renewal_rate", "projected_high") == 1.0
    assert m.win_rate == 0.5
    assert cell(m, "C1", "expansion_arr", "open_count") == 2
    assert cell(m, "C1", "expansion_arr", "projected") == pytest.approx(50)
    assert cell(m, "C1", "expansion_arr", "best") == 100
    # A later period projects only what is expected in it: neither EY (overdue) nor EY2.
    ahead = period_measures(db, Filters(), Q4.next(), BUILT)
    assert cell(ahead, "C1", "expansion_arr", "open_count") == 0
