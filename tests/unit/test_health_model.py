"""Health components and score against hand-computed values, including missing inputs."""

from datetime import date, timedelta

import pandas as pd
import pytest

from services.asof import snapshot_dates
from services.db import Database
from services.health_model import HealthParams, weekly_grid
from tests.unit.tiny import account, build_tiny, contract

D = date(2026, 6, 30)


def day(offset: int) -> str:
    return (D + timedelta(days=offset)).isoformat()


def ticket(
    ticket_id: str, account_id: str, opened: int, closed: int | None, priority: str, escalated: bool
) -> dict:
    """A support ticket opened (and maybe closed) at 09:00 on days offset from D."""
    return dict(
        ticket_id=ticket_id,
        account_id=account_id,
        opened_at=day(opened) + " 09:00:00",
        closed_at=None if closed is None else day(closed) + " 09:00:00",
        priority=priority,
        category="Bug",
        escalated=escalated,
    )


def touch(touchpoint_id: str, account_id: str, offset: int) -> dict:
    """A video check-in by C1 at 10:00 on the day `offset` from D."""
    return dict(
        touchpoint_id=touchpoint_id,
        account_id=account_id,
        csm_id="C1",
        occurred_at=day(offset) + " 10:00:00",
        type="check-in",
        channel="video",
    )


def usage(account_id: str, first: int, last: int, users: int) -> list[dict]:
    return [
        dict(
            account_id=account_id,
            day=day(o),
            active_users=users,
            events=users * 10,
            features_used=3,
        )
        for o in range(first, last + 1)
    ]


@pytest.fixture
def db(tmp_path):
    accounts = [
        account("H1", tier="named", seats=10),
        account("H2", tier="tech-touch", seats=0),
        account("H3", tier="pooled", seats=5),
    ]
    contracts = [
        dict(
            contract_id=f"K{a}",
            account_id=a,
            start_date="2025-01-01",
            end_date="2027-01-01",
            arr=1000,
            seats=s,
        )
        for a, s in (("H1", 10), ("H2", 0), ("H3", 5))
    ]
    usage_rows = usage("H1", -89, -30, 4) + usage("H1", -29, 0, 6) + usage("H3", -89, 0, 0)
    tickets = [
        ticket("T1", "H1", opened=-10, closed=None, priority="P1", escalated=False),
        ticket("T2", "H1", opened=-20, closed=-15, priority="P3", escalated=True),
        # Closed before the date: not open, not escalated.
        ticket("T3", "H1", opened=-40, closed=-39, priority="P2", escalated=False),
    ]
    nps = [
        dict(response_id="N1", account_id="H1", responded_at=day(-100) + " 10:00:00", score=9),
        dict(response_id="N2", account_id="H3", responded_at=day(-400) + " 10:00:00", score=3),
    ]
    touches = [touch("P1", "H1", -45), touch("P2", "H3", -200)]
    return build_tiny(
        tmp_path,
        {
            "accounts": accounts,
            "contracts": contracts,
            "usage_daily": usage_rows,
            "tickets": tickets,
            "nps_responses": nps,
            "touchpoints": touches,
        },
        D,
    )


def scores(db, account_id, on=D):
    df = db.query(
        "SELECT * FROM health_snapshots WHERE account_id = ? AND snapshot_date = ?",
        [account_id, on],
    )
    assert len(df) == 1
    return df.iloc[0]


def test_all_components_present(db):
    h = scores(db, "H1")
    assert h.usage_score == pytest.approx(60.0)  # 6 average active users / 10 seats
    assert h.trend_score == pytest.approx(100.0)  # 50 + 100 * (6 / 4 - 1), capped at 100
    assert h.support_score == pytest.approx(55.0)  # 100 - 25 (open P1) - 20 (escalation)
    assert h.sentiment_score == pytest.approx(100.0)  # promoter, 100 days ago
    assert h.engagement_score == pytest.approx(75.0)  # 45 days vs 30: 100 * (1 - 15 / 60)
    # (30*60 + 20*100 + 15*55 + 15*100 + 20*75) / 100 = 76.25
    assert h.health_score == pytest.approx(76.25, abs=0.051)
    assert h.band == "green"
    assert h.missing_inputs is None or h.missing_inputs != h.missing_inputs  # NULL


def test_no_usage_no_seats_no_nps_are_neutral_and_flagged(db):
    h = scores(db, "H2")
    assert h.usage_score != h.usage_score and h.trend_score != h.trend_score  # NaN = missing
    assert h.support_score == 100
    assert h.engagement_score == 0  # never touched
    # (30*50 + 20*50 + 15*100 + 15*50 + 20*0) / 100 = 47.5
    assert h.health_score == pytest.approx(47.5)
    assert h.band == "yellow"
    assert h.missing_inputs == "usage, usage trend, NPS"


def test_zero_usage_is_real_zero_and_old_nps_is_missing(db):
    h = scores(db, "H3")
    assert h.usage_score == 0
    assert h.trend_score == 50  # no users before, none now: flat
    assert h.engagement_score == 0  # 200 days vs a 60-day cadence
    # (0 + 20*50 + 15*100 + 15*50 + 0) / 100 = 32.5
    assert h.health_score == pytest.approx(32.5)
    assert h.band == "red"
    assert h.missing_inputs == "NPS"


def test_health_as_of_an_earlier_date_uses_only_what_was_known(db):
    earlier = D - timedelta(days=14)
    h = scores(db, "H1", earlier)
    # 14 days earlier the P1 (opened D-10) did not exist yet; the escalation (D-20) did.
    assert h.support_score == pytest.approx(80.0)
    # Last 30 days then: days D-43..D-14 -> 14 days at 4 users and 16 days at 6 users.
    assert h.usage_score == pytest.approx(100 * ((14 * 4 + 16 * 6) / 30) / 10, abs=0.05)


def test_no_snapshot_before_the_first_contract(tmp_path):
    db = build_tiny(
        tmp_path,
        {
            "accounts": [account("X")],
            "contracts": [contract("X", "2026-06-01", "2027-06-01")],
        },
        D,
    )
    rows = db.query("SELECT snapshot_date FROM health_snapshots WHERE account_id = 'X'")
    assert len(rows) == 5  # weekly snapshots from 2 Jun to 30 Jun only
    assert snapshot_dates(db)[-1] == D


def test_weekly_grid_and_weights():
    assert weekly_grid(D, 3) == [D - timedelta(days=14), D - timedelta(days=7), D]
    assert sum(HealthParams().weights().values()) == 100


def test_scoring_in_account_ranges_gives_the_same_snapshots(db, tmp_path, monkeypatch):
    import services.build

    whole = db.query("SELECT * FROM health_snapshots ORDER BY snapshot_date, account_id")
    monkeypatch.setattr(services.build, "HEALTH_CHUNK_ACCOUNTS", 1)  # one account per range
    source = tmp_path / "source"
    services.build.build(source, tmp_path / "chunked.duckdb", as_of=D)
    chunked = Database(tmp_path / "chunked.duckdb").query(
        "SELECT * FROM health_snapshots ORDER BY snapshot_date, account_id"
    )
    assert len(whole) > 3
    pd.testing.assert_frame_equal(whole, chunked)
