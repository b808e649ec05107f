"""Health model backtest on hand-made snapshots and renewals, every expected number by hand."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from functools import partial

import duckdb
import pytest

from data.loader import build_database
from services.build import create_renewal_scores, derive_tables
from services.db import Database
from services.filters import Filters
from services.health_backtest import (
    CURRENT,
    auc,
    backtest,
    band_mix_now,
    component_diagnostics,
    parse_proposal,
    proposal_from_url,
    proposal_url_params,
    score_sql,
    wilson,
)
from services.health_model import DEFAULT_HEALTH, weighted_score_bound
from services.renewal_list import RenewalDrill, renewal_page, renewal_totals
from tests.unit.tiny import account, build_tiny, contract, write_source
from tests.unit.tiny import renewal as tiny_renewal

D = date(2026, 6, 30)
RD = D - timedelta(days=7)  # renewal date: scored on the snapshot of RD - 90 -> the grid's D - 98
SCORED = D - timedelta(days=98)
# Only usage and engagement weigh in this proposal: its score is (usage + engagement) / 2.
HALF_HALF = replace(
    DEFAULT_HEALTH, w_usage=50, w_trend=0, w_support=0, w_sentiment=0, w_engagement=50
)


def renewal(rid, account_id, arr_up, outcome, renewed, on=RD, closed=None):
    """tiny.renewal with this file's renewal date as the default."""
    return tiny_renewal(rid, account_id, on, arr_up, outcome, renewed, closed)


# account: (stored health score, stored band, usage, engagement) on the scoring snapshot
SNAPSHOTS = {
    "A1": (20.0, "red", 90.0, 10.0),  # lost (churned 100)       HALF_HALF: 50 yellow
    "A2": (30.0, "red", 10.0, 10.0),  # kept (renewed 200)       HALF_HALF: 10 red
    "A3": (60.0, "yellow", 50.0, 30.0),  # lost 100 (contracted)  HALF_HALF: 40 yellow
    "A4": (80.0, "green", 30.0, 30.0),  # kept (expanded)         HALF_HALF: 30 red
    "A5": (60.0, "yellow", 75.0, 75.0),  # kept (renewed 50)      HALF_HALF: 75 green
    "A6": (20.0, "red", 10.0, 10.0),  # churned, but closed after the as-of date
}


@pytest.fixture
def db(tmp_path):
    accounts = [
        account(a, owner="C1" if a in ("A1", "A2", "A3") else "C2")
        for a in ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8")
    ]
    renewals = [
        renewal("R1", "A1", 100, "churned", 0),
        renewal("R2", "A2", 200, "renewed", 200),
        renewal("R3", "A3", 300, "contracted", 200),
        renewal("R4", "A4", 400, "expanded", 500),
        renewal("R5", "A5", 50, "renewed", 50),
        renewal("R6", "A6", 700, "churned", 0, closed=D + timedelta(days=3)),  # open as of D
        renewal("R7", "A1", 900, "churned", 0, on=D - timedelta(days=400)),  # outside the window
        renewal("R8", "A8", 80, "churned", 0),  # no snapshot to score it on
        renewal("R9", "A7", 60, "open", None),  # still open
    ]
    built = build_tiny(tmp_path, {"accounts": accounts, "renewals": renewals}, D)
    con = duckdb.connect(str(built.path))
    con.execute("DELETE FROM health_snapshots")
    rows = [
        (SCORED, a, 100.0, 10, usage, 50.0, 100.0, 60.0, engagement, score, band, None)
        for a, (score, band, usage, engagement) in SNAPSHOTS.items()
    ]
    rows += [(D, "A2", 200.0, 10, 10.0, 50.0, 100.0, 60.0, 10.0, 30.0, "red", None)]
    rows += [(D, "A4", 400.0, 10, 30.0, 50.0, 100.0, 60.0, 30.0, 80.0, "green", None)]
    con.executemany(
        "INSERT INTO health_snapshots (snapshot_date, account_id, arr, seats, usage_score, "
        "trend_score, support_score, sentiment_score, engagement_score, health_score, band, "
        "missing_inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    create_renewal_scores(con)
    con.close()
    return Database(built.path)


def test_renewal_scores_materialise_the_scoring_snapshot_and_losses(db):
    rs = db.query("SELECT * FROM renewal_scores ORDER BY renewal_id").set_index("renewal_id")
    assert list(rs.index) == ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"]  # R9 is open
    assert rs.loc["R1", "scored_on"].date() == SCORED
    assert list(rs.loc[["R1", "R2", "R3", "R4"], "arr_lost"]) == [100, 0, 100, 0]
    assert list(rs.loc[["R1", "R2", "R3"], "lost"]) == [True, False, True]
    assert (rs.loc["R3", "usage_score"], rs.loc["R3", "engagement_score"]) == (50, 30)
    assert math.isnan(rs.loc["R8", "health_score"])  # A8 had no snapshot: kept, not scored


def test_rates_per_band_on_arr_and_counts(db):
    bt = backtest(db, Filters(), D)
    by = bt.by_band.set_index("band")
    # In the window and closed by D: R1..R5 scored, R8 unscored; R6 closed after D, R7 too old.
    assert (bt.renewals, bt.unscored) == (5, 1)
    # red: R1 (lost 100 of 100), R2 (kept 200) -> ARR 100/300, count 1/2
    assert (by.loc["red", "renewals"], by.loc["red", "lost"]) == (2, 1)
    assert by.loc["red", "rate_arr"] == pytest.approx(1 / 3)
    assert by.loc["red", "rate_count"] == pytest.approx(1 / 2)
    # yellow: R3 (lost 100 of 300), R5 (kept 50) -> ARR 100/350, count 1/2
    assert by.loc["yellow", "rate_arr"] == pytest.approx(100 / 350)
    assert by.loc["yellow", "rate_count"] == pytest.approx(1 / 2)
    assert (by.loc["green", "renewals"], by.loc["green", "rate_arr"]) == (1, 0)
    assert bool(by.loc["red", "too_few"]) and bt.base_rate_arr.too_few  # n < 30
    assert bt.base_rate_arr.value == pytest.approx(200 / 1050)
    assert bt.base_rate_count.value == pytest.approx(2 / 5)
    assert bt.lift_red_arr.value == pytest.approx((1 / 3) / (200 / 1050))  # 1.75
    assert bt.lift_red_count.value == pytest.approx((1 / 2) / (2 / 5))  # 1.25


def test_recall_by_red_alone_and_red_plus_yellow_beside_the_share_flagged(db):
    bt = backtest(db, Filters(), D)
    assert bt.recall_red.value == pytest.approx(100 / 200)  # R1's 100 of 200 lost
    assert bt.recall_red_yellow.value == pytest.approx(200 / 200)  # R1 + R3
    assert bt.share_red.value == pytest.approx(300 / 1050)  # R1 + R2 of all ARR up
    assert bt.share_red_yellow.value == pytest.approx(650 / 1050)  # + R3 + R5
    assert bt.recall_red.n == 2  # computed from the 2 lost renewals


def test_auc_by_hand_with_ties_counted_half(db):
    # Lost: R1 (20), R3 (60). Kept: R2 (30), R4 (80), R5 (60).
    # Pairs lost<kept: (20,30) 1, (20,80) 1, (20,60) 1, (60,30) 0, (60,80) 1, (60,60) ½ -> 4.5/6
    bt = backtest(db, Filters(), D)
    assert bt.auc_count.value == pytest.approx(4.5 / 6)
    # ARR-weighted (each pair weighs ARR up × ARR up): 100·200 + 100·400 + 100·50 + 0
    # + 300·400 + ½·300·50 = 192,500 over (100 + 300) × (200 + 400 + 50) = 260,000
    assert bt.auc_arr.value == pytest.approx(192_500 / 260_000)


def test_auc_four_renewals():
    import pandas as pd

    # scores 20/30/60/80, lost 1/0/1/0: pairs (20,30) 1, (20,80) 1, (60,30) 0, (60,80) 1 -> 3/4
    groups = pd.DataFrame(
        {
            "score": [20, 30, 60, 80],
            "n_lost": [1, 0, 1, 0],
            "n_kept": [0, 1, 0, 1],
            "arr_up_lost": [1, 0, 1, 0],
            "arr_up_kept": [0, 1, 0, 1],
        }
    )
    assert auc(groups) == pytest.approx(3 / 4)
    assert auc(groups.assign(n_lost=0)) is None  # nothing lost: undefined


def test_wilson_interval_small_case():
    # 1 of 2 at 90%: z² = 2.7055; centre (0.5 + z²/4) / (1 + z²/2) = 0.5;
    # half = z / (1 + z²/2) · sqrt(0.25/2 + z²/16) = 1.6449 / 2.3528 · sqrt(0.125 + 0.1691)
    low, high = wilson(1, 2)
    half = 1.6448536 / (1 + 2.7055435 / 2) * math.sqrt(0.125 + 2.7055435 / 16)
    assert (low, high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    assert wilson(0, 0) == (None, None)
    assert wilson(0, 10)[0] == 0


def test_recall_curve_as_the_red_threshold_moves(db):
    curve = backtest(db, Filters(), D).curve.set_index("threshold")
    assert curve.loc[0, "share_flagged"] == 0 and curve.loc[20, "recall"] == 0  # score < 20: none
    assert curve.loc[21, "recall"] == pytest.approx(0.5)  # R1 (20)
    assert curve.loc[21, "share_flagged"] == pytest.approx(100 / 1050)
    assert curve.loc[31, "share_flagged"] == pytest.approx(300 / 1050)  # + R2 (30)
    assert curve.loc[61, "recall"] == pytest.approx(1.0)  # + R3, R5 (60)
    assert curve.loc[100, "share_flagged"] == pytest.approx(1.0)


def test_a_proposal_re_weights_the_components_at_query_time(db):
    bt = backtest(db, Filters(), D, HALF_HALF)
    by = bt.by_band.set_index("band")
    # (usage + engagement) / 2: R1 50 yellow, R2 10 red, R3 40 yellow, R4 30 red, R5 75 green
    assert (by.loc["red", "renewals"], by.loc["red", "lost"]) == (2, 0)
    assert (by.loc["yellow", "renewals"], by.loc["yellow", "lost"]) == (2, 2)
    assert (by.loc["green", "renewals"], by.loc["green", "lost"]) == (1, 0)
    assert bt.recall_red.value == 0
    thresholds = replace(HALF_HALF, green_min=45, yellow_min=35)  # R1 50 green, R3 40 yellow
    by = backtest(db, Filters(), D, thresholds).by_band.set_index("band")
    assert list(by["renewals"]) == [2, 1, 2]  # green, yellow, red
    # The band mix now: A2 (10) and A4 (30) are red under HALF_HALF; stored: A2 red, A4 green.
    assert list(band_mix_now(db, Filters(), D).set_index("band")["arr"]) == [400, 0, 200]
    assert list(band_mix_now(db, Filters(), D, HALF_HALF).set_index("band")["arr"]) == [0, 0, 600]


def test_a_renewal_closed_after_the_as_of_date_is_not_in_the_backtest(db):
    # R6 (A6, red, churned 700) closed 3 days after D: open as of D.
    assert backtest(db, Filters(), D).by_band.set_index("band").loc["red", "renewals"] == 2
    assert "R6" not in set(renewal_page(db, Filters(), RenewalDrill(), D)["renewal_id"])


def test_the_renewal_list_has_the_bars_n(db):
    for params in (CURRENT, HALF_HALF):
        by = backtest(db, Filters(), D, params).by_band.set_index("band")
        for band in ("green", "yellow", "red"):
            totals = renewal_totals(db, Filters(), RenewalDrill(band=band), D, params)
            assert totals["renewals"] == by.loc[band, "renewals"]
            assert totals["arr_lost"] == by.loc[band, "arr_lost"]
    page = renewal_page(db, Filters(), RenewalDrill(band="red"), D, CURRENT, (("arr_up", "asc"),))
    assert list(page["renewal_id"]) == ["R1", "R2"]
    lost = renewal_totals(db, Filters(), RenewalDrill(lost_only=True), D)
    assert lost == {"renewals": 3, "arr_up": 480.0, "arr_lost": 280.0}  # R1, R3 and unscored R8
    c1 = renewal_totals(db, Filters(owner=("C1",)), RenewalDrill(), D)
    assert c1["renewals"] == 3  # R1, R2, R3 (A1..A3 belong to C1)


def test_component_diagnostics(db):
    diag = component_diagnostics(db, Filters(), D).set_index("component")
    # usage on R1..R5: 90, 10, 50, 30, 75 -> low (< 40): R2, R4 (kept) ; rest: R1, R3, R5
    assert (diag.loc["usage", "n_low"], diag.loc["usage", "n_rest"]) == (2, 3)
    assert diag.loc["usage", "rate_low"] == 0
    assert diag.loc["usage", "rate_rest"] == pytest.approx(200 / 450)
    assert diag.loc["usage", "share_missing"] == 0 and not diag.loc["usage", "feed_absent"]
    assert diag.loc["usage", "deciles"][2] == 50  # the median


def test_proposals_from_the_url_and_bad_input():
    assert proposal_from_url({}).params is CURRENT
    p = proposal_from_url({"w": ["50,0,0,0,50"], "green": ["70"], "yellow": ["40"]})
    assert p.params == HALF_HALF and not p.errors
    assert proposal_url_params(p) == {"w": "50,0,0,0,50"}
    assert "add up to 110" in parse_proposal([40, 20, 15, 15, 20], 70, 40).errors["weights"]
    assert (
        parse_proposal([-10, 40, 30, 20, 20], 70, 40)
        .errors["w_usage"]
        .startswith("A weight cannot be negative")
    )
    bad = proposal_from_url({"w": ["abc,20,15,15,20"], "green": ["40"], "yellow": ["60"]})
    assert bad.params is None
    assert bad.errors["w_usage"] == "'abc' is not a number."
    assert "above the green one" in bad.errors["yellow_min"]
    assert parse_proposal(None, "x", None).errors == {"green_min": "'x' is not a number."}


def test_score_sql_for_the_model_in_force_is_the_stored_score():
    assert score_sql(CURRENT, "h") == ("h.health_score", [])
    sql, bind = score_sql(HALF_HALF, "h")
    assert "usage_score" in sql and 50.0 in bind


def test_re_weighting_equals_the_build_on_the_demo_data(demo_db_path):
    """The query-time score with the build's weights equals the stored one, row for row."""
    demo = Database(demo_db_path)
    sql, bind = weighted_score_bound(CURRENT, "h")
    df = demo.query(
        f"SELECT h.health_score, h.band, {sql} AS again FROM health_snapshots h",
        bind,
    )
    assert len(df) > 10_000
    assert (df["again"] == df["health_score"]).all()


def test_re_weighting_equals_a_rebuild_with_those_weights(tmp_path):
    """Build a tiny dataset twice: once with the default model, once with other weights; the
    default build re-weighted at query time gives the second build's scores."""
    other = replace(
        DEFAULT_HEALTH, w_usage=10, w_trend=10, w_support=40, w_sentiment=10, w_engagement=30
    )
    accounts = [account(f"A{i}", seats=10) for i in range(1, 5)]
    contracts = [
        contract(f"A{i}", "2025-01-01", "2027-01-01", arr=100 * i, seats=10) for i in range(1, 5)
    ]
    usage = [
        {
            "account_id": f"A{i}",
            "day": (D - timedelta(days=d)).isoformat(),
            "active_users": i + d % 3,
        }
        for i in range(1, 4)
        for d in range(0, 200, 2)
    ]
    tickets = [
        {
            "ticket_id": "T1",
            "account_id": "A2",
            "opened_at": "2026-03-10 10:00:00",
            "priority": "P1",
            "escalated": True,
        },
    ]
    nps = [
        {"response_id": "N1", "account_id": "A1", "responded_at": "2026-02-01 09:00:00", "score": 4}
    ]
    touch = [{"touchpoint_id": "P1", "account_id": "A3", "occurred_at": "2026-03-01 09:00:00"}]
    renewals = [renewal(f"R{i}", f"A{i}", 100 * i, "renewed", 100 * i) for i in range(1, 5)]
    source = write_source(
        tmp_path / "src",
        {
            "accounts": accounts,
            "contracts": contracts,
            "usage_daily": usage,
            "tickets": tickets,
            "nps_responses": nps,
            "touchpoints": touch,
            "renewals": renewals,
        },
    )
    build_database(source, tmp_path / "a.duckdb", as_of=D, derive=derive_tables)
    build_database(
        source, tmp_path / "b.duckdb", as_of=D, derive=partial(derive_tables, params=other)
    )
    default_db, other_db = Database(tmp_path / "a.duckdb"), Database(tmp_path / "b.duckdb")
    sql, bind = score_sql(other, "r")
    again = default_db.query(
        f"SELECT renewal_id, {sql} AS score FROM renewal_scores r ORDER BY 1", bind
    )
    rebuilt = other_db.query("SELECT renewal_id, health_score FROM renewal_scores ORDER BY 1")
    assert list(again["renewal_id"]) == ["R1", "R2", "R3", "R4"]
    assert again["score"].notna().all()
    assert again["score"].tolist() == rebuilt["health_score"].tolist()
