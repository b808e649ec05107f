"""Account 360 as of a past date shows only what was known then, and no later row changes it."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from services import asof
from services.account_360 import account_360
from services.filters import Filters
from tests.unit.tiny import account, build_tiny, contract

BUILT_ON = date(2026, 6, 30)
AS_OF = date(2025, 9, 30)


def tables(future_arr: float = 150, renewed: float = 120, later_amount: float = 40) -> dict:
    """One account: a contract known on AS_OF, its renewal closed after AS_OF, a contract that
    starts after it, one expansion created before and one after. The keyword arguments only
    change rows dated after AS_OF."""
    return {
        "accounts": [account("A")],
        "contracts": [
            contract("A", "2025-01-01", "2026-01-01", 100, contract_id="K1"),
            contract("A", "2026-01-01", "2027-01-01", future_arr, contract_id="K2"),
        ],
        "renewals": [
            {
                "renewal_id": "R1",
                "account_id": "A",
                "contract_id": "K1",
                "renewal_date": "2026-01-01",
                "arr_up_for_renewal": 100,
                "forecast_category": "commit",
                "outcome": "expanded",
                "renewed_arr": renewed,
                "closed_date": "2025-12-20",
            },
            {
                "renewal_id": "R2",
                "account_id": "A",
                "contract_id": "K2",
                "renewal_date": "2027-01-01",
                "arr_up_for_renewal": future_arr,
                "forecast_category": "probable",
                "outcome": "open",
            },
        ],
        "expansions": [
            {
                "opportunity_id": "X1",
                "account_id": "A",
                "type": "upsell",
                "stage": "closed_won",
                "amount_arr": 20,
                "created_date": "2025-06-01",
                "close_date": "2025-11-01",
                "outcome": "won",
            },
            {
                "opportunity_id": "X2",
                "account_id": "A",
                "type": "cross-sell",
                "stage": "proposal",
                "amount_arr": later_amount,
                "created_date": "2025-10-15",
                "outcome": "open",
            },
        ],
    }


@pytest.fixture
def db(tmp_path):
    return build_tiny(tmp_path, tables(), BUILT_ON)


def test_account_360_as_of_a_past_date_shows_what_was_known(db):
    acc = account_360(db, Filters(), "A", AS_OF)
    assert list(acc.contracts["contract_id"]) == ["K1"]  # K2 starts on 1 Jan 2026
    assert acc.facts["arr"] == 100
    renewal = acc.renewals.set_index(acc.renewals["renewal_date"].dt.date).loc[date(2026, 1, 1)]
    assert renewal["outcome"] == "open"  # closed on 20 Dec 2025, after AS_OF
    assert pd.isna(renewal["renewed_arr"]) and pd.isna(renewal["closed_date"])
    assert len(acc.renewals) == 1  # R2 renews K2, not signed on AS_OF
    assert list(acc.expansions["amount_arr"]) == [20]  # X2 was created on 15 Oct 2025
    assert acc.expansions["outcome"].iloc[0] == "open"  # won on 1 Nov 2025
    assert pd.isna(acc.expansions["stage"].iloc[0])


def test_account_360_today_shows_the_outcomes(db):
    acc = account_360(db, Filters(), "A", BUILT_ON)
    assert list(acc.contracts["contract_id"]) == ["K2", "K1"]
    closed = acc.renewals[acc.renewals["outcome"] != "open"]
    assert list(closed["renewed_arr"]) == [120]
    assert sorted(acc.expansions["outcome"]) == ["open", "won"]


def test_no_future_data_leaks_into_a_past_view(tmp_path):
    before = build_tiny(tmp_path / "a", tables(), BUILT_ON)
    changed = build_tiny(
        tmp_path / "b", tables(future_arr=999, renewed=1, later_amount=777), BUILT_ON
    )
    a = account_360(before, Filters(), "A", AS_OF)
    b = account_360(changed, Filters(), "A", AS_OF)
    for part in ("contracts", "renewals", "expansions", "tickets", "nps", "usage"):
        pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part))
    assert {k: v for k, v in a.facts.items()} == {k: v for k, v in b.facts.items()}
    # ... while today's view does see the changed rows (the test can fail).
    assert account_360(changed, Filters(), "A", BUILT_ON).facts["arr"] == 999


def test_earliest_complete_as_of_leaves_a_full_validation_window(monkeypatch, db):
    # A grid of 78 weekly snapshots, 7 Jan 2025 to 30 Jun 2026; a 90-day lead.
    grid = [date(2026, 6, 30) - timedelta(weeks=k) for k in range(77, -1, -1)]
    assert grid[0] == date(2025, 1, 7)
    monkeypatch.setattr(asof, "snapshot_dates", lambda _db: grid)
    monkeypatch.setenv("CSOPS_VALIDATION_LEAD_DAYS", "90")
    # On 7 Apr 2026 the window's first renewal date is 8 Apr 2025, scored on the snapshot on or
    # before 8 Jan 2025: 7 Jan 2025, the first. A week earlier, 1 Apr 2025 - 90 days = 1 Jan
    # 2025 precedes the grid.
    assert asof.earliest_complete_as_of(db) == date(2026, 4, 7)
    monkeypatch.setenv("CSOPS_VALIDATION_LEAD_DAYS", "97")  # a week more lead, a week later
    assert asof.earliest_complete_as_of(db) == date(2026, 4, 14)
    # A grid too short for any complete date offers its last date only.
    monkeypatch.setattr(asof, "snapshot_dates", lambda _db: grid[-20:])
    assert asof.earliest_complete_as_of(db) == grid[-1]


def test_an_earlier_as_of_in_the_url_shows_the_earliest_complete_date_and_says_why(db):
    earliest = asof.earliest_complete_as_of(db)
    assert asof.snapshot_dates(db)[0] < earliest <= BUILT_ON
    view = asof.resolve_as_of(db, Filters(as_of=earliest - timedelta(days=1)))
    assert view.date == earliest
    assert "earliest date with complete history" in view.notice
    assert asof.resolve_as_of(db, Filters(as_of=earliest)).notice is None


def test_the_accounts_list_shows_the_call_known_on_its_date(tmp_path):
    """The list's next-renewal call is the one the CSM had made by the list's date (the weekly
    call history), never today's call read back into the past."""
    from services.account_list import account_page
    from services.filters import AccountDrill

    data = tables()
    data["renewal_forecast_history"] = [
        # R1 renews on 1 Jan 2026: called probable in August, at risk from 22 Sep 2025, and
        # (the renewal row, as the build date knows it) commit today.
        {
            "renewal_id": "R1",
            "snapshot_date": "2025-08-04",
            "forecast_category": "probable",
            "arr_up": 100,
        },
        {
            "renewal_id": "R1",
            "snapshot_date": "2025-09-22",
            "forecast_category": "at_risk",
            "arr_up": 100,
            "risk_reason": "Low adoption",
        },
        {
            "renewal_id": "R1",
            "snapshot_date": "2025-10-06",
            "forecast_category": "commit",
            "arr_up": 100,
        },
    ]
    db = build_tiny(tmp_path, data, BUILT_ON)

    def call_on(day: date, sort: tuple = ()) -> str | None:
        page = account_page(db, Filters(), AccountDrill(), day, sort, 0, 10)
        return page.set_index("account_id").at["A", "forecast_category"]

    assert call_on(AS_OF) == "at_risk"  # 30 Sep 2025: the 22 Sep call
    assert call_on(date(2025, 9, 16)) == "probable"  # a snapshot before the at-risk call
    # Sorting by the renewal takes the other query path: the same call.
    assert call_on(AS_OF, (("next_renewal_date", "asc"),)) == "at_risk"
    # On the build's date R1 has closed; R2 (K2's renewal) is next with its own call.
    assert call_on(BUILT_ON) == "probable"
