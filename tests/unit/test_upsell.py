"""The upsell service on hand-made accounts: each reason code fires exactly when its condition
holds (boundaries included), the score is the sum of the points, the validation scores each past
opportunity with what was known when it was created (no leak), expected expansion ARR by hand,
and the open pipeline as known on a day.

Tiny feeds: usage, NPS and expansions only (no tickets or touchpoints, so the support and
engagement components are left out and health = (30·usage + 20·trend + 15·sentiment) / 65).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from services.db import Database
from services.filters import Filters
from services.settings import load_upsell_settings
from services.upsell import (
    DEFAULT_UPSELL,
    OpportunityDrill,
    UpsellParams,
    calibrate,
    candidate_page,
    candidate_totals,
    expansion_sizes,
    opportunity_account,
    opportunity_page,
    opportunity_totals,
    pipeline_by_stage,
    reasons_sql,
    score_sql,
    score_validation,
    upsell_params,
)
from tests.unit.tiny import account, build_tiny, contract

AS_OF = date(2026, 11, 20)  # a Friday; the weekly grid ends here
ALL = Filters()


def usage(account_id: str, first: date, last: date, users: int | dict[date, int]) -> list[dict]:
    """One usage row a day from `first` to `last`: `users` active users (or per-day values)."""
    rows, day = [], first
    while day <= last:
        n = users.get(day, 0) if isinstance(users, dict) else users
        rows.append({"account_id": account_id, "day": day.isoformat(), "active_users": n})
        day += timedelta(days=1)
    return rows


def nps(account_id: str, on: str, score: int) -> dict:
    return {
        "response_id": f"N-{account_id}-{on}",
        "account_id": account_id,
        "responded_at": f"{on} 10:00:00",
        "score": score,
    }


def opportunity(
    opportunity_id: str,
    account_id: str,
    created: str | None,
    closed: str | None,
    outcome: str,
    amount: float,
    stage: str | None = None,
) -> dict:
    return {
        "opportunity_id": opportunity_id,
        "account_id": account_id,
        "type": "Seat upsell",
        "stage": stage or {"won": "Closed won", "lost": "Closed lost"}.get(outcome),
        "amount_arr": amount,
        "created_date": created,
        "close_date": closed,
        "outcome": outcome,
    }


# ---- the reasons, on literal inputs (the one definition, at its boundaries) ---------------------
def _reasons(rows: list[tuple], params: UpsellParams = DEFAULT_UPSELL) -> list[dict]:
    """Reasons and score of literal (seat_use_pct, usage_growth_pct, band, latest_nps, open)."""
    reasons, rbind = reasons_sql(params, "t")
    score, sbind = score_sql(params)
    values = ", ".join("(?, ?, ?, ?, ?)" for _ in rows)
    sql = f"""
        WITH t(seat_use_pct, usage_growth_pct, band, latest_nps, open_opportunities) AS (
            SELECT CAST(c1 AS DOUBLE), CAST(c2 AS DOUBLE), CAST(c3 AS VARCHAR),
                   CAST(c4 AS INTEGER), CAST(c5 AS INTEGER)
            FROM (VALUES {values}) v(c1, c2, c3, c4, c5)
        ), r AS (SELECT {reasons} FROM t)
        SELECT *, {score} AS score FROM r
    """
    import duckdb

    flat = [value for row in rows for value in row]
    return duckdb.connect().execute(sql, [*flat, *rbind, *sbind]).df().to_dict("records")


def test_seat_reason_fires_at_the_threshold_and_not_below():
    at, below, unknown = _reasons([(70, None, None, None, 1), (69.99, None, None, None, 1),
                                   (None, None, None, None, 1)])  # fmt: skip
    assert at["reason_seats"] and at["score"] == 30
    assert not below["reason_seats"] and below["score"] == 0
    assert not unknown["reason_seats"]  # no usage or seats: the reason does not apply


def test_growth_reason_fires_at_the_threshold_and_not_below():
    at, below, unknown = _reasons([(None, 10, None, None, 1), (None, 9.99, None, None, 1),
                                   (None, None, None, None, 1)])  # fmt: skip
    assert at["reason_growth"] and at["score"] == 20
    assert not below["reason_growth"] and not unknown["reason_growth"]


def test_health_reason_is_green_only():
    rows = _reasons([(None, None, b, None, 1) for b in ("green", "yellow", "red", None)])
    assert [r["reason_health"] for r in rows] == [True, False, False, False]
    assert [r["score"] for r in rows] == [20, 0, 0, 0]


def test_promoter_reason_is_nine_or_ten():
    rows = _reasons([(None, None, None, s, 1) for s in (10, 9, 8, 0, None)])
    assert [r["reason_promoter"] for r in rows] == [True, True, False, False, False]


def test_no_open_reason_is_zero_open_opportunities():
    rows = _reasons([(None, None, None, None, n) for n in (0, 1, 3, None)])
    assert [r["reason_no_open"] for r in rows] == [True, False, False, False]


def test_score_is_the_sum_of_the_points_of_the_reasons_that_apply():
    rows = _reasons([(95, 12, "green", 9, 0), (95, 0, "yellow", 9, 2), (10, -5, "red", 3, 1)])
    assert [r["score"] for r in rows] == [100, 30 + 15, 0]
    other = UpsellParams(w_seats=40, w_growth=10, w_health=10, w_promoter=25, w_no_open=15)
    assert [r["score"] for r in _reasons([(95, 0, "green", 10, 1)], other)] == [40 + 10 + 25]


def test_points_and_thresholds_are_settings(monkeypatch):
    monkeypatch.setenv("CSOPS_UPSELL_WEIGHTS", "40,10,10,25,15")
    monkeypatch.setenv("CSOPS_UPSELL_SEAT_MIN_PCT", "80")
    p = upsell_params(load_upsell_settings())
    assert p.points() == {"seats": 40, "growth": 10, "health": 10, "promoter": 25, "no_open": 15}
    assert p.seat_min_pct == 80
    monkeypatch.setenv("CSOPS_UPSELL_WEIGHTS", "40,10,10,25,10")
    with pytest.raises(ValueError, match="add up to 100"):
        upsell_params(load_upsell_settings())
    monkeypatch.setenv("CSOPS_UPSELL_WEIGHTS", "50,50")
    with pytest.raises(ValueError, match="needs 5 numbers"):
        upsell_params(load_upsell_settings())


# ---- calibration: pooled deciles, win rates never falling with the score ----------------------
def test_calibration_pools_small_deciles_then_merges_falling_rates():
    # Deciles 0..9: n and wins. Pools of >= 20 left to right: [0-1] 263/410, [2-4] ... see below.
    n = [17, 393, 3, 277, 62, 255, 153, 22, 172, 13]
    w = [9, 254, 2, 179, 40, 189, 99, 13, 130, 10]
    # Sized pools: [0-1] 263/410, [2-3] 181/280, [4] 40/62, [5] 189/255, [6] 99/153, [7] 13/22,
    # [8] 130/172 + the short remainder [9] 10/13 -> [8-9] 140/185. Falling rates merge:
    # [2-3] .646 > [4] .645 -> [2-4] 221/342; [5] .741 > [6] .647 -> [5-6] 288/408 (.706);
    # .706 > [7] .591 -> [5-7] 301/430 (.700); [8-9] .757 stays.
    assert calibrate(n, w, 20) == [(0, 1, 410, 263), (2, 4, 342, 221), (5, 7, 430, 301),
                                   (8, 9, 185, 140)]  # fmt: skip
    assert calibrate([0] * 10, [0] * 10, 20) == []
    assert calibrate([5, 0, 0, 0, 0, 0, 0, 0, 0, 3], [1] + [0] * 8 + [3], 20) == [(0, 9, 8, 4)]
    # A falling pair merges even when both are big enough: 20/25 then 5/25 -> one pool 25/50.
    assert calibrate([25] + [0] * 7 + [25, 0], [20] + [0] * 7 + [5, 0], 20) == [(0, 9, 50, 25)]


# ---- reasons and score on a built database (health as the build computes it) ------------------
USAGE_FIRST = AS_OF - timedelta(days=89)  # 23 Aug 2026: the 30 days and the 60 before, exactly
LAST30 = AS_OF - timedelta(days=29)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Database:
    accounts = [account(f"A{i}", seats=10) for i in range(1, 9)]
    contracts = [
        contract(f"A{i}", "2026-01-01", "2027-01-01", arr=100, seats=seats)
        for i, seats in zip(range(1, 9), (10, 10, 100, 1000, 10, 10, 10, 10), strict=True)
    ]
    last3 = {AS_OF - timedelta(days=k) for k in range(3)}
    a2 = {
        USAGE_FIRST + timedelta(days=k): 6 if USAGE_FIRST + timedelta(days=k) in last3 else 7
        for k in range(90)
    }
    feeds = [
        *usage("A1", USAGE_FIRST, AS_OF, 7),  # 7 of 10 seats: 70% exactly
        *usage("A2", USAGE_FIRST, AS_OF, a2),  # last 30 days: 27 x 7 + 3 x 6 = 6.9 a day: 69%
        *usage("A3", USAGE_FIRST, LAST30 - timedelta(days=1), 10),  # 10 a day, then 11: +10%
        *usage("A3", LAST30, AS_OF, 11),
        *usage("A4", USAGE_FIRST, LAST30 - timedelta(days=1), 100),  # 100 a day, then 109: +9%
        *usage("A4", LAST30, AS_OF, 109),
        *(row for a in ("A5", "A6", "A7", "A8") for row in usage(a, USAGE_FIRST, AS_OF, 10)),
    ]
    return build_tiny(
        tmp_path_factory.mktemp("upsell"),
        {
            "accounts": accounts,
            "contracts": contracts,
            "usage_daily": feeds,
            "nps_responses": [
                nps("A5", "2026-10-01", 9),
                nps("A6", "2026-10-01", 8),
                nps("A7", "2025-11-20", 10),  # 365 days before: no longer within 12 months
                nps("A8", "2025-11-21", 9),  # 364 days before: still counts
            ],
            "expansions": [
                opportunity("O-A5", "A5", "2026-10-01", "2027-01-15", "open", 40, "Proposal"),
                opportunity("O-A4", "A4", "2026-11-01", "2027-02-01", "open", 25, "Negotiation"),
                opportunity("O-A7", "A7", "2026-12-01", "2027-03-01", "open", 99, "Discovery"),
                opportunity("O-A8", "A8", "2026-09-01", "2026-11-01", "won", 30),
            ],
        },
        AS_OF,
    )


EVERYONE = UpsellParams(candidate_min=0)  # every customer listed, whatever its score


def _scored(db, day=AS_OF, params=EVERYONE) -> dict[str, dict]:
    df = candidate_page(db, ALL, day, params, (), 0, 100)
    return {r["account_id"]: r for r in df.to_dict("records")}


REASON_COLUMNS = ("seats", "growth", "health", "promoter", "no_open")


def _fired(row: dict) -> set[str]:
    return {r for r in REASON_COLUMNS if row[f"reason_{r}"]}


def test_each_reason_fires_exactly_when_its_condition_holds(db):
    s = _scored(db)
    # A1: 7 users / 10 seats = 70.0% (the threshold: fires); flat usage; health
    # (30·70 + 20·50 + 15·50) / 65 = 59.2 yellow; no NPS; no opportunity.
    assert s["A1"]["seat_use_pct"] == pytest.approx(70.0)
    assert s["A1"]["band"] == "yellow" and _fired(s["A1"]) == {"seats", "no_open"}
    # A2: 6.9 a day = 69% of seats: below the threshold.
    assert s["A2"]["seat_use_pct"] == pytest.approx(69.0)
    assert _fired(s["A2"]) == {"no_open"}
    # A3: 11 a day against 10 before: usage +10% (trend 60.0), exactly the threshold.
    assert s["A3"]["usage_growth_pct"] == pytest.approx(10.0)
    assert _fired(s["A3"]) == {"growth", "no_open"}
    # A4: 109 against 100: +9%, below; and an open opportunity: no reason at all.
    assert s["A4"]["usage_growth_pct"] == pytest.approx(9.0)
    assert _fired(s["A4"]) == set() and s["A4"]["score"] == 0
    # A5: all seats used, NPS 9, green (30·100 + 20·50 + 15·100) / 65 = 84.6, but open pipeline.
    assert s["A5"]["band"] == "green" and s["A5"]["open_opportunities"] == 1
    assert _fired(s["A5"]) == {"seats", "health", "promoter"}
    # A6: NPS 8 is passive, not a promoter; green (75.4).
    assert _fired(s["A6"]) == {"seats", "health", "no_open"}
    # A7: its NPS 10 is 365 days old (outside 12 months); its opportunity is created after the
    # day, so not open yet.
    assert pd.isna(s["A7"]["latest_nps"])
    assert _fired(s["A7"]) == {"seats", "health", "no_open"}
    # A8: NPS 9 364 days old counts; its opportunity was won before the day: not open.
    assert _fired(s["A8"]) == {"seats", "health", "promoter", "no_open"}


def test_score_is_the_sum_of_points_on_every_customer(db):
    points = DEFAULT_UPSELL.points()
    scores = {a: r["score"] for a, r in _scored(db).items()}
    assert scores == {"A1": 45, "A2": 15, "A3": 35, "A4": 0, "A5": 65, "A6": 65, "A7": 65,
                      "A8": 80}  # fmt: skip
    for row in _scored(db).values():
        assert row["score"] == sum(points[r] for r in _fired(row))
        assert row["decile"] == min(int(row["score"] // 10), 9)


def test_candidates_are_customers_scoring_at_least_the_minimum(db):
    totals = candidate_totals(db, ALL, AS_OF)  # default: score >= 50
    assert totals["customers"] == 8 and totals["candidates"] == 4  # A5, A6, A7, A8
    listed = candidate_page(db, ALL, AS_OF)
    assert set(listed["account_id"]) == {"A5", "A6", "A7", "A8"}
    segment = candidate_totals(db, Filters(segment=("Enterprise",)), AS_OF)
    assert segment["customers"] == 0 and segment["candidates"] == 0


def test_open_pipeline_as_known_on_the_day(db):
    now = pipeline_by_stage(db, ALL, AS_OF)
    # Proposal before Negotiation (pipeline order); A7's opportunity is not created yet.
    assert now["stage"].tolist() == ["Proposal", "Negotiation"]
    assert now["opportunities"].tolist() == [1, 1] and now["amount_arr"].tolist() == [40, 25]
    # 16 Oct: A5's (created 1 Oct) and A8's (won 1 Nov, open then); stages are known only on
    # the data's date, so the stage is unknown.
    earlier = pipeline_by_stage(db, ALL, date(2026, 10, 16))
    assert earlier["stage"].tolist() == [None]
    assert earlier["opportunities"].tolist() == [2] and earlier["amount_arr"].tolist() == [70]
    drill = OpportunityDrill(stage="unknown")
    totals = opportunity_totals(db, ALL, date(2026, 10, 16), drill)
    assert totals == {"opportunities": 2, "amount_arr": 70, "won": 0}
    rows = opportunity_page(db, ALL, date(2026, 10, 16), drill)
    assert set(rows["opportunity_id"]) == {"O-A5", "O-A8"} and set(rows["outcome"]) == {"open"}


def test_the_list_behind_a_stage_bar_has_its_count_and_sum(db):
    for stage, count, amount in (("Proposal", 1, 40), ("Negotiation", 1, 25), ("all", 2, 65)):
        drill = OpportunityDrill.from_params({"ru_stage": stage})
        assert opportunity_totals(db, ALL, AS_OF, drill)["opportunities"] == count
        assert opportunity_page(db, ALL, AS_OF, drill)["amount_arr"].sum() == amount
    assert opportunity_account(db, ALL, "O-A5") == "A5"
    assert opportunity_account(db, Filters(segment=("Enterprise",)), "O-A5") is None


def test_the_past_opportunity_is_scored_when_it_was_created(db):
    # O-A8 created 1 Sep 2026: scored on the snapshot of 28 Aug (on or before, within a week):
    # 6 customer days of usage at 10 of 10 seats (usage feed from 23 Aug), no trend yet (its 60
    # days are not covered), NPS 9, health (30·100 + 15·100) / 45 = 100 green, nothing open:
    # 30 + 20 + 15 + 15 = 80.
    v = score_validation(db, ALL, AS_OF)
    assert (v.opportunities, v.won, v.not_scored) == (1, 1, 0)
    row = opportunity_page(db, ALL, AS_OF, OpportunityDrill(decile=8)).iloc[0]
    assert row["opportunity_id"] == "O-A8" and row["score"] == 80
    assert row["scored_on"].date() == date(2026, 8, 28)


# ---- validation and expected expansion ARR, by hand -----------------------------------------
def _calibration_tables(spike: tuple[str, str] | None = None) -> dict[str, list[dict]]:
    """B1, B2 (SMB) and B3 (Mid-Market), usage flat since 1 Jan 2026; five past opportunities.

    `spike`: B2 uses all 10 seats from that day (ISO) on, else 3 a day.
    """
    start = date(2026, 1, 1)
    b2 = {start + timedelta(days=k): 3 for k in range((AS_OF - start).days + 1)}
    if spike:
        for day in list(b2):
            if day >= date.fromisoformat(spike[0]):
                b2[day] = 10
    return {
        "accounts": [
            account("B1", seats=10),
            account("B2", seats=10),
            account("B3", segment="Mid-Market", seats=10),
        ],
        "contracts": [
            contract("B1", "2025-11-01", "2027-11-01", arr=100, seats=10),
            contract("B2", "2025-11-01", "2027-11-01", arr=50, seats=10),
            contract("B3", "2025-11-01", "2027-11-01", arr=200, seats=10),
        ],
        "usage_daily": [
            *usage("B1", start, AS_OF, 10),
            *usage("B2", start, AS_OF, b2),
            *usage("B3", start, AS_OF, 10),
        ],
        "nps_responses": [nps("B1", "2026-05-15", 9)],
        "expansions": [
            opportunity("O1", "B1", "2026-06-05", "2026-07-01", "won", 20),  # 20 / 100 = 0.2
            opportunity("O2", "B1", "2026-08-07", "2026-09-01", "lost", 30),
            opportunity("O3", "B2", "2026-06-05", "2026-07-01", "won", 15),  # 15 / 50 = 0.3
            opportunity("O4", "B2", "2026-08-07", "2026-09-01", "lost", 10),
            opportunity("O5", "B2", "2026-09-04", "2026-10-01", "lost", 10),
            opportunity("O6", "B3", "2026-06-05", "2026-07-01", "won", 100),  # 100 / 200 = 0.5
        ],
    }


@pytest.fixture(scope="module")
def cal(tmp_path_factory) -> Database:
    return build_tiny(tmp_path_factory.mktemp("upsell-cal"), _calibration_tables(), AS_OF)


def _decile_table(v) -> dict[int, tuple[int, int]]:
    d = v.deciles
    return {int(r.decile): (r.opportunities, r.won) for r in d.itertuples() if r.opportunities}


def test_win_rate_by_decile_of_the_score_at_creation(cal):
    # Scores at creation (weekly snapshot on the creation day; flat usage, so no growth):
    # B1: seats 100% +30, green (30·100 + 20·50 + 15·100)/65 = 84.6 +20, NPS 9 +15, nothing
    # open (O1 closed 1 Jul before O2's 7 Aug) +15 = 80 -> decile 8 (O1 won, O2 lost).
    # B2: 30% of seats, yellow (30·30 + 20·50 + 15·50)/65 = 40.8, no NPS: only +15 -> decile 1
    # (O3 won, O4 and O5 lost). B3: seats +30, green 73.1 +20, nothing open +15 = 65 -> decile 6.
    v = score_validation(cal, ALL, AS_OF, UpsellParams(min_group=1))
    assert _decile_table(v) == {1: (3, 1), 6: (1, 1), 8: (2, 1)}
    assert (v.opportunities, v.won, v.win_rate) == (6, 3, 0.5)
    # Pools of >= 1: [0-1] 1/3, [2-6] 1/1, [7-9] 1/2; 1.0 > 0.5 merges [2-9] 2/3.
    assert v.used_rates() == pytest.approx([1 / 3] * 2 + [2 / 3] * 8)
    assert (v.start, v.end) == (date(2024, 11, 20), AS_OF)


def test_typical_expansion_size_by_segment_with_fallback(cal):
    sizes = expansion_sizes(cal, ALL, AS_OF, UpsellParams(min_group=1))
    seg = sizes.by_segment.set_index("segment")
    assert seg.loc["SMB", "median_share"] == pytest.approx(0.25)  # median of 0.2 and 0.3
    assert seg.loc["Mid-Market", "median_share"] == pytest.approx(0.5)
    assert sizes.median_share == pytest.approx(0.3)  # median of 0.2, 0.3, 0.5
    few = expansion_sizes(cal, ALL, AS_OF, UpsellParams(min_group=3)).by_segment
    assert few["used_share"].tolist() == pytest.approx([0.3, 0.3])  # both below 3 wins: overall


def test_expected_expansion_arr_by_hand(cal):
    params = UpsellParams(min_group=1, candidate_min=0)
    rows = {r["account_id"]: r for r in candidate_page(cal, ALL, AS_OF, params).to_dict("records")}
    # Today: B1 scores 80 (decile 8), B2 15 (decile 1), B3 65 (decile 6).
    # expected = calibrated win rate × typical share in the segment × ARR
    assert rows["B1"]["expected_arr"] == pytest.approx(2 / 3 * 0.25 * 100)  # 16.67
    assert rows["B2"]["expected_arr"] == pytest.approx(1 / 3 * 0.25 * 50)  # 4.17
    assert rows["B3"]["expected_arr"] == pytest.approx(2 / 3 * 0.5 * 200)  # 66.67
    assert list(rows) == ["B3", "B1", "B2"]  # highest expected first
    totals = candidate_totals(cal, ALL, AS_OF, params)
    assert totals["expected_arr"] == pytest.approx(2 / 3 * 25 + 1 / 3 * 12.5 + 2 / 3 * 100)
    # At least 4 opportunities a pool: deciles 0-6 hold 4 (2 won), the rest joins: one pool of
    # 6 (3 won) = 0.5; no segment has 4 wins: overall share 0.3. B1: 0.5 × 0.3 × 100 = 15.
    four = UpsellParams(min_group=4, candidate_min=0)
    rows = {r["account_id"]: r for r in candidate_page(cal, ALL, AS_OF, four).to_dict("records")}
    assert rows["B1"]["expected_arr"] == pytest.approx(15)
    assert rows["B3"]["expected_arr"] == pytest.approx(0.5 * 0.3 * 200)


def test_the_list_behind_a_decile_bar_is_that_decile(cal):
    params = UpsellParams(min_group=1)
    drill = OpportunityDrill.from_params({"ru_decile": "1"})
    totals = opportunity_totals(cal, ALL, AS_OF, drill, params)
    assert totals == {"opportunities": 3, "amount_arr": 35, "won": 1}
    rows = opportunity_page(cal, ALL, AS_OF, drill, params)
    assert set(rows["opportunity_id"]) == {"O3", "O4", "O5"} and set(rows["score"]) == {15}


def _past_scores(db: Database) -> dict[str, float]:
    rows = [
        opportunity_page(db, ALL, AS_OF, OpportunityDrill(decile=d), UpsellParams(min_group=1))
        for d in range(10)
    ]
    return {r["opportunity_id"]: r["score"] for df in rows for r in df.to_dict("records")}


def test_a_later_usage_spike_does_not_change_an_old_opportunity_s_score(cal, tmp_path):
    # B2 uses every seat from 10 Sep, after its last opportunity was created (4 Sep): what was
    # known at each creation is unchanged, so every past score and the validation are too.
    later = build_tiny(tmp_path / "later", _calibration_tables(("2026-09-10", "")), AS_OF)
    params = UpsellParams(min_group=1)
    assert _past_scores(later) == _past_scores(cal)
    assert _decile_table(score_validation(later, ALL, AS_OF, params)) == _decile_table(
        score_validation(cal, ALL, AS_OF, params)
    )
    # B2 today has changed (all seats used now): the comparison sees today's data.
    assert _scored(later)["B2"]["score"] != _scored(cal)["B2"]["score"]
    # The same spike from 1 Aug is known when O4 (7 Aug) and O5 (4 Sep) are created, so their
    # scores change: the comparison can fail. O4: 7 of its last 30 days at 10 (avg 4.6, 46% of
    # seats), usage up 50%+ (trend 100) +20, yellow (30·46.3 + 20·100 + 15·50)/65 = 63.7: 35.
    # O5: all 10 seats +30, up 50%+ +20, green (30·100 + 20·100 + 15·50)/65 = 88.5 +20: 85.
    earlier = build_tiny(tmp_path / "earlier", _calibration_tables(("2026-08-01", "")), AS_OF)
    scores = _past_scores(earlier)
    assert (scores["O3"], scores["O4"], scores["O5"]) == (15, 35, 85)
    assert scores != _past_scores(cal)


def test_a_decile_outside_0_to_9_is_refused():
    from services.errors import InvalidFilter

    with pytest.raises(InvalidFilter, match="decile"):
        OpportunityDrill.from_params({"ru_decile": "10"})
    assert OpportunityDrill.from_params({"ru_decile": ["3"]}).decile == 3
    assert not OpportunityDrill.from_params({}).active


def test_a_view_as_of_a_past_day_uses_only_what_was_known_then(tmp_path):
    """Everything dated after the day changes (usage, an NPS answer, a new opportunity, the
    outcome and close date of one open then): every upsell view of the day stays the same."""
    day = date(2026, 10, 16)  # a weekly snapshot date
    known = _calibration_tables()
    known["expansions"].append(opportunity("O8", "B1", "2026-10-10", "2026-11-05", "lost", 40))
    changed = _calibration_tables()
    for row in changed["usage_daily"]:
        if row["day"] > day.isoformat():
            row["active_users"] = 10 if row["account_id"] == "B2" else 1
    changed["nps_responses"].append(nps("B1", "2026-10-20", 2))
    changed["expansions"] += [
        opportunity("O8", "B1", "2026-10-10", "2026-11-12", "won", 40),
        opportunity("O9", "B3", "2026-10-20", "2026-11-10", "won", 500),
    ]
    a = build_tiny(tmp_path / "known", known, AS_OF)
    b = build_tiny(tmp_path / "changed", changed, AS_OF)
    params = UpsellParams(min_group=1, candidate_min=0)

    def views(db: Database) -> list[str]:
        frames = [
            candidate_page(db, ALL, day, params),
            pd.DataFrame([candidate_totals(db, ALL, day, params)]),
            score_validation(db, ALL, day, params).deciles,
            expansion_sizes(db, ALL, day, params).by_segment,
            pipeline_by_stage(db, ALL, day),
            opportunity_page(db, ALL, day, OpportunityDrill(stage="all")),
        ]
        return [f.to_json(orient="records", date_format="iso") for f in frames]  # NaN as null

    assert views(a) == views(b)
    # O8 is open on the day in both (created 10 Oct, closed later): B1 has no "no open" points.
    assert not _scored(a, day, params)["B1"]["reason_no_open"]
    # Today the two differ (the comparison can fail).
    assert candidate_totals(a, ALL, AS_OF, params) != candidate_totals(b, ALL, AS_OF, params)
