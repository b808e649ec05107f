"""ARR, GRR, NRR and logo retention against hand-computed values."""

from datetime import date

import pytest

from services.filters import Filters
from services.retention import arr_at, cohort_movement, trailing_retention, year_before
from tests.unit.tiny import account, build_tiny

AS_OF = date(2026, 6, 30)


@pytest.fixture
def db(tmp_path):
    accounts = [
        account("A", "SMB"),
        account("B", "SMB", owner="C2"),
        account("C", "Enterprise"),
        account("D", "Enterprise"),
        account("E", "SMB", created="2025-09-01"),
    ]
    contracts = [
        # A churns: 100 at the cohort start, nothing at the end.
        ("K1", "A", "2024-07-01", "2025-07-01", 100),
        # B contracts: 200 -> 150.
        ("K2", "B", "2024-07-15", "2025-07-15", 200),
        ("K3", "B", "2025-07-15", "2026-07-15", 150),
        # C expands through an add-on: 300 -> 360.
        ("K4", "C", "2025-01-01", "2026-01-01", 300),
        ("K5", "C", "2026-01-01", "2027-01-01", 300),
        ("K6", "C", "2026-03-01", "2027-01-01", 60),
        # D renews flat at 400.
        ("K7", "D", "2025-06-01", "2026-06-01", 400),
        ("K8", "D", "2026-06-01", "2027-06-01", 400),
        # E is a new logo: excluded from the cohort.
        ("K9", "E", "2025-09-01", "2026-09-01", 500),
    ]
    rows = [
        dict(contract_id=k, account_id=a, start_date=s, end_date=e, arr=v, seats=10)
        for k, a, s, e, v in contracts
    ]
    return build_tiny(tmp_path, {"accounts": accounts, "contracts": rows}, AS_OF)


def test_arr_at_counts_contracts_active_on_the_day(db):
    assert arr_at(db, Filters(), AS_OF) == {"arr": 150 + 360 + 400 + 500, "accounts": 4}
    # The end date is exclusive: A's contract ending 2025-07-01 still counts on 2025-06-30.
    assert arr_at(db, Filters(), date(2025, 6, 30))["arr"] == 100 + 200 + 300 + 400
    assert arr_at(db, Filters(), date(2025, 7, 1))["arr"] == 200 + 300 + 400


def test_cohort_movement_overall(db):
    row = cohort_movement(db, Filters(), year_before(AS_OF), AS_OF).iloc[0]
    assert row.start_arr == 1000
    assert row.churned_arr == 100
    assert row.contraction_arr == 50
    assert row.expansion_arr == 60
    assert row.grr == pytest.approx(850 / 1000)
    assert row.nrr == pytest.approx(910 / 1000)
    assert row.logo_retention == pytest.approx(3 / 4)


def test_cohort_movement_by_segment_and_filter(db):
    df = cohort_movement(db, Filters(), year_before(AS_OF), AS_OF, by="segment").set_index("grp")
    assert df.loc["SMB", "grr"] == pytest.approx(150 / 300)
    assert df.loc["SMB", "nrr"] == pytest.approx(150 / 300)
    assert df.loc["Enterprise", "grr"] == pytest.approx(1.0)
    assert df.loc["Enterprise", "nrr"] == pytest.approx(760 / 700)
    owner = trailing_retention(db, Filters(owner=("C2",)), AS_OF)
    assert owner["grr"] == pytest.approx(150 / 200)


def test_no_cohort_gives_none_not_an_error(db):
    before_any_data = date(2020, 1, 1)
    result = trailing_retention(db, Filters(), before_any_data)
    assert result["grr"] is None and result["nrr"] is None
    assert arr_at(db, Filters(), before_any_data) == {"arr": 0.0, "accounts": 0}


def test_year_before_handles_leap_day():
    assert year_before(date(2024, 2, 29)) == date(2023, 2, 28)
