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
    # (30*60 + 20*100 + 15*55 + 15*100 + 20*75) / 100 = 76.25, rounded half up
    assert h.health_score == 76.3
    assert h.band == "green"
    assert pd.isna(h.missing_inputs)


def test_an_account_never_in_the_usage_feed_is_missing_not_zero(db):
    # H2 has no usage row at all (not tracked, or never used: the data cannot tell) and no seats.
    h = scores(db, "H2")
    assert (h.usage_score, h.trend_score) == (50, 50)  # neutral, and flagged
    assert pd.isna(h.avg_active_users_30d)
    assert h.support_score == 100
    assert h.sentiment_score == 50  # no NPS answer: neutral and flagged
    assert h.engagement_score == 0  # never touched
    # (30*50 + 20*50 + 15*100 + 15*50 + 20*0) / 100 = 47.5
    assert h.health_score == pytest.approx(47.5)
    assert h.band == "yellow"
    assert h.missing_inputs == "usage, usage trend, NPS"


def test_rows_of_zero_users_are_no_activity(db):
    h = scores(db, "H3")  # a row every day, all with 0 active users
    assert (h.usage_score, h.trend_score) == (0, 0)
    assert h.avg_active_users_30d == 0
    assert h.engagement_score == 0  # 200 days vs a 60-day cadence
    assert h.sentiment_score == 50  # the answer is 400 days old
    # (0 + 0 + 15*100 + 15*50 + 0) / 100 = 22.5
    assert h.health_score == pytest.approx(22.5)
    assert h.missing_inputs == "NPS"


def test_a_feed_counts_from_its_first_day(db):
    # 98 days back: usage starts at D-89 and tickets at D-40, so neither existed then. Only
    # sentiment (promoter at D-100: 100) and engagement (first touch at D-45: none yet, 0) count.
    h = scores(db, "H1", D - timedelta(days=98))
    assert pd.isna(h.usage_score) and pd.isna(h.trend_score) and pd.isna(h.support_score)
    assert (h.sentiment_score, h.engagement_score) == (100, 0)
    # (15*100 + 20*0) / (15 + 20) = 42.857
    assert h.health_score == pytest.approx(42.9)
    assert pd.isna(h.missing_inputs)  # an absent feed is nobody's missing input
    # 63 days back: usage covers D-89..D-63 of the window D-92..D-63 (27 days of 4 users), but
    # not the 60 days before it, so no trend yet.
    h = scores(db, "H1", D - timedelta(days=63))
    assert h.usage_score == pytest.approx(40.0)  # (27 * 4 / 27) / 10 seats
    assert pd.isna(h.trend_score) and pd.isna(h.support_score)
    # (30*40 + 15*100 + 20*0) / (30 + 15 + 20) = 2700 / 65 = 41.54
    assert h.health_score == pytest.approx(41.5)


def test_stored_score_is_the_weighted_score_of_the_stored_components(db):
    """The Health model page re-weights stored components: it must give the build's score."""
    from services.health_model import DEFAULT_HEALTH, weighted_score_bound, weighted_score_sql

    expr = weighted_score_sql(DEFAULT_HEALTH, "h")
    bound, binds = weighted_score_bound(DEFAULT_HEALTH, "h")
    df = db.query(
        f"SELECT h.health_score, {expr} AS again, {bound} AS bound FROM health_snapshots h",
        binds,
    )
    # Before the first NPS answer (D-400) no feed existed: no score then, and none invented.
    assert df["health_score"].isna().sum() == df["again"].isna().sum() > 0
    assert df["health_score"].notna().sum() > 100
    pd.testing.assert_series_equal(df["again"], df["health_score"], check_names=False)
    pd.testing.assert_series_equal(df["bound"], df["health_score"], check_names=False)


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


def one_contract(account_id: str) -> dict:
    return dict(
        contract_id=f"K{account_id}",
        account_id=account_id,
        start_date="2025-01-01",
        end_date="2027-01-01",
        arr=1000,
        seats=10,
    )


def on_days(account_id: str, offsets: list[int], users: int) -> list[dict]:
    return [r for o in offsets for r in usage(account_id, o, o, users)]


def test_sparse_and_dense_feeds_with_the_same_activity_score_the_same(tmp_path):
    # 10 users on D-5 in the last 30 days and on D-50 and D-70 in the 60 days before. Sparse
    # exports only those days; dense has a row for every day, zero on the others.
    active = {-5: 10, -50: 10, -70: 10}
    sparse = on_days("SPARSE", list(active), 10)
    dense = [
        r
        for o in range(-89, 1)
        for r in usage("DENSE", o, o, active.get(o, 0))  # rows of 0 users on the other days
    ]
    # NEW became a customer 10 days ago (contract from D-9): 5 users on each of its 10 days.
    # Its trial before the contract (10 users, D-20..D-10) is not customer activity.
    new = usage("NEW", -9, 0, 5) + usage("NEW", -20, -10, 10)
    db = build_tiny(
        tmp_path,
        {
            "accounts": [account("SPARSE"), account("DENSE"), account("NEW")],
            "contracts": [
                one_contract("SPARSE"),
                one_contract("DENSE"),
                contract("NEW", day(-9), "2027-06-01", arr=500, seats=10),
            ],
            "usage_daily": sparse + dense + new,
        },
        D,
    )
    s, d = scores(db, "SPARSE"), scores(db, "DENSE")
    assert s.usage_score == pytest.approx(3.3)  # (10 users / 30 days) / 10 seats = 3.33%
    assert s.avg_active_users_30d == pytest.approx(0.3)  # 10 / 30
    assert s.trend_score == 50  # 10/30 a day now vs 20/60 before: flat
    # Only usage and trend have feeds: (30*3.3 + 20*50) / 50 = 1099 / 50 = 21.98
    assert s.health_score == pytest.approx(22.0)
    pd.testing.assert_series_equal(s.drop("account_id"), d.drop("account_id"), check_names=False)
    n = scores(db, "NEW")
    assert n.usage_score == 50  # 5 users a day over its 10 customer days / 10 seats
    assert n.trend_score == 50 and n.missing_inputs == "usage trend"  # no 60 days before yet
    assert n.health_score == 50


def test_a_dark_account_scores_no_usage_and_movers_say_so(tmp_path):
    from components.labels import label
    from services.filters import Filters
    from services.health import movers

    db = build_tiny(
        tmp_path,
        {
            "accounts": [account("LIVE"), account("DARK")],
            "contracts": [one_contract("LIVE"), one_contract("DARK")],
            # DARK: 8 of 10 seats active daily until D-41, then no rows at all.
            "usage_daily": usage("LIVE", -150, 0, 5) + usage("DARK", -150, -41, 8),
        },
        D,
    )
    now, before = scores(db, "DARK"), scores(db, "DARK", D - timedelta(days=28))
    assert (now.usage_score, now.trend_score, now.health_score, now.band) == (0, 0, 0, "red")
    assert pd.isna(now.missing_inputs)  # zero activity is a score, not a missing input
    # 28 days earlier: window D-57..D-28 has 17 active days of 8 users: 136 / 30 = 4.53 a day
    assert before.usage_score == pytest.approx(45.3)
    # against 8 a day in the 60 days before: 50 + 100 * (4.533 / 8 - 1) = 6.67
    assert before.trend_score == pytest.approx(6.7)
    # no tickets, NPS or touchpoints supplied: (30*45.3 + 20*6.7) / 50 = 1493 / 50 = 29.86
    assert before.health_score == pytest.approx(29.9)
    moved = movers(db, Filters(), D)
    assert moved["account_id"].tolist() == ["DARK"]  # LIVE did not move
    assert moved.loc[0, "driver"] == "no_usage"
    assert label("driver", "no_usage") == "No usage"


def feeds_without(missing: str) -> dict:
    """W1 and W2 (named, 10 seats, 6 users every day: usage 60, trend flat 50). W1 has an open
    P1 (support 75), a promoter answer (100) and a touch 45 days ago (engagement 75); W2 has no
    ticket (100), no NPS answer and a touch 10 days ago (100). `missing` feed is left out."""
    tables = {
        "accounts": [account("W1"), account("W2")],
        "contracts": [one_contract("W1"), one_contract("W2")],
        "usage_daily": usage("W1", -120, 0, 6) + usage("W2", -120, 0, 6),
        "tickets": [ticket("T1", "W1", opened=-10, closed=None, priority="P1", escalated=False)],
        "nps_responses": [
            dict(response_id="N1", account_id="W1", responded_at=day(-100) + " 10:00:00", score=9)
        ],
        "touchpoints": [touch("P1", "W1", -45), touch("P2", "W2", -10)],
    }
    del tables[missing]
    return tables


def test_without_touchpoints_the_weights_spread_over_the_rest(tmp_path):
    from services.filters import Filters
    from services.health import health_inputs, health_summary, inputs_sentence

    db = build_tiny(tmp_path, feeds_without("touchpoints"), D)
    w1, w2 = scores(db, "W1"), scores(db, "W2")
    assert pd.isna(w1.engagement_score) and pd.isna(w2.engagement_score)
    # (30*60 + 20*50 + 15*75 + 15*100) / (30 + 20 + 15 + 15) = 5425 / 80 = 67.81
    assert w1.health_score == pytest.approx(67.8) and w1.band == "yellow"
    # W2 has no NPS answer: neutral 50, flagged. (1800 + 1000 + 15*100 + 15*50) / 80 = 63.125
    assert w2.health_score == pytest.approx(63.1)
    assert pd.isna(w1.missing_inputs) and w2.missing_inputs == "NPS"
    # Coverage counts W2's missing NPS only: the absent touchpoints are nobody's gap.
    assert health_summary(db, Filters(), D)["health_coverage"] == pytest.approx(0.5)
    inputs = health_inputs(db, Filters(), D)
    assert inputs.set_index("component")["present"].to_dict() == {
        "usage": True,
        "trend": True,
        "support": True,
        "sentiment": True,
        "engagement": False,
    }
    assert inputs_sentence(inputs) == (
        "Score built from: usage, usage trend, support, sentiment (no touchpoints supplied)."
    )


def test_without_nps_sentiment_is_left_out_not_flagged(tmp_path):
    from services.filters import Filters
    from services.health import health_summary

    db = build_tiny(tmp_path, feeds_without("nps_responses"), D)
    w1, w2 = scores(db, "W1"), scores(db, "W2")
    assert pd.isna(w1.sentiment_score) and pd.isna(w2.sentiment_score)
    # (30*60 + 20*50 + 15*75 + 20*75) / (30 + 20 + 15 + 20) = 5425 / 85 = 63.82
    assert w1.health_score == pytest.approx(63.8)
    # (1800 + 1000 + 15*100 + 20*100) / 85 = 6300 / 85 = 74.12
    assert w2.health_score == pytest.approx(74.1) and w2.band == "green"
    assert pd.isna(w1.missing_inputs) and pd.isna(w2.missing_inputs)
    assert health_summary(db, Filters(), D)["health_coverage"] == 1.0


@pytest.mark.parametrize(
    "components, score, band",
    [
        # (30*100 + 20*100 + 15*100 + 15*33 + 20*0) / 100 = 6995 / 100 = 69.95 -> 70.0
        ((100, 100, 100, 33, 0), 70.0, "green"),
        # (3000 + 2000 + 1500 + 15*32.8 + 20*0.1) / 100 = 6994 / 100 = 69.94 -> 69.9
        ((100, 100, 100, 32.8, 0.1), 69.9, "yellow"),
        # (30*100 + 20*1 + 15*65 + 0 + 0) / 100 = 3995 / 100 = 39.95 -> 40.0
        ((100, 1, 65, 0, 0), 40.0, "yellow"),
        # without engagement: (30*100 + 20*1 + 15*65 + 0) / 80 = 3995 / 80 = 49.94 -> 49.9
        ((100, 1, 65, 0, None), 49.9, "yellow"),
        ((None, None, None, None, None), None, None),
    ],
)
def test_band_is_decided_on_the_rounded_score(components, score, band):
    import duckdb

    from services.health_model import (
        COMPONENTS,
        HealthParams,
        band_bound,
        band_sql,
        weighted_score_bound,
        weighted_score_sql,
    )

    params = HealthParams()
    columns = ", ".join(f"CAST(? AS DOUBLE) AS {c}_score" for c in COMPONENTS)
    bound_score, score_binds = weighted_score_bound(params, "t")
    bound_band, band_binds = band_bound("s2", params)
    row = (
        duckdb.connect()
        .execute(
            f"SELECT s, {band_sql('s', params)}, s2, {bound_band} FROM ("
            f"SELECT {weighted_score_sql(params, 't')} AS s, {bound_score} AS s2 "
            f"FROM (SELECT {columns}) t)",
            [*band_binds, *score_binds, *components],  # in the order the ? appear
        )
        .fetchone()
    )
    assert row == (score, band, score, band)
