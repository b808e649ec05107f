"""The renewal pipeline on hand-made renewals: calendar buckets (overdue and not called included),
at-risk ARR by reason (red health without a reason, blank reasons), the top at-risk renewals and
their health driver, the open renewal list's totals equal to every calendar cell, and point in
time (a renewal closed after the day is open then, with the call known then).

Data (as of Fri 20 Nov 2026; the window runs to 30 Sep 2027, the end of Q3 2027). Health comes
from the touchpoints feed alone (engagement: 100 within 30 days of a touchpoint for a named
account, 0 without one), so A3, never touched, is red and every other account green; A4 and A6
have no contract on the day, hence no health snapshot (band unknown).

    id  account renewal     ARR  outcome                  call      reason          plan
    R1  A1      2026-12-15  100  open                     commit    -               -
    R2  A2      2027-02-10  200  open                     at_risk   Budget cuts     yes
    R3  A3 red  2027-03-31   50  open                     (none)    -               no
    R4  A4      2026-11-01   70  open (overdue)           churn     '  ' (blank)    -
    R5  A5      2027-09-30   30  open                     probable  -               -
    R6  A5      2027-10-01  999  open (after the window)  commit    -               -
    R7  A6      2026-11-10   40  renewed, closed 18 Nov   commit    -               -
    R8  A1      2027-05-15   10  open                     at_risk   ' Budget cuts ' -
    R9  A3 red  2027-06-01   25  open                     commit    -               -

Call history: R2 'probable' on 6 Nov; R7 'at_risk' ('Champion left') on 6 Nov; R5 'at_risk'
('Budget cuts') on 6 Nov, then no call on 13 Nov (withdrawn: the latest row wins, blank or not).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from services.errors import InvalidFilter
from services.filters import Filters
from services.open_renewals import open_renewals_sql
from services.renewal_list import (
    OpenDrill,
    open_renewal_page,
    open_renewal_totals,
    parse_status,
)
from services.renewal_pipeline import (
    REASON_HEALTH_RED,
    REASON_NONE,
    _stored_dates,
    at_risk_by_reason,
    bucket_of,
    buckets,
    health_driver,
    horizon_end,
    pipeline_summary,
    renewal_calendar,
    stored_open_renewals_sql,
    top_at_risk,
    window_drill,
)
from tests.unit.tiny import account, build_tiny, contract, renewal

AS_OF = date(2026, 11, 20)
EARLIER = date(2026, 11, 13)  # the snapshot a week before: R7 still open, the calls then


def _renewal(rid, account_id, on, arr, call, reason=None, plan=None, outcome="open", **kw):
    row = renewal(rid, account_id, on, arr, outcome, arr if outcome != "open" else None, **kw)
    row.update(forecast_category=call, risk_reason=reason, has_close_plan=plan)
    return row


def _touch(tid: str, account_id: str, on: str) -> dict:
    return {
        "touchpoint_id": tid,
        "account_id": account_id,
        "csm_id": "C1",
        "occurred_at": f"{on} 10:00:00",
        "type": "check-in",
        "channel": "video",
    }


def _history(rid: str, day: str, call: str, reason: str | None = None) -> dict:
    return {
        "renewal_id": rid,
        "snapshot_date": day,
        "forecast_category": call,
        "arr_up": 1,
        "risk_reason": reason,
    }


def _tables() -> dict[str, list[dict]]:
    owners = {"A1": "C1", "A2": "C2", "A3": "C1", "A4": "C2", "A5": "C1", "A6": "C2"}
    accounts = [account(a, owner=o) for a, o in owners.items()]
    contracts = [
        contract("A1", "2026-01-01", "2027-01-01", 100),
        contract("A2", "2026-02-10", "2027-02-10", 200),
        contract("A3", "2026-03-31", "2027-03-31", 50),
        contract("A4", "2025-11-01", "2026-11-01", 70),
        contract("A5", "2026-09-30", "2027-09-30", 30),
        contract("A6", "2025-11-10", "2026-11-10", 40),
    ]
    renewals = [
        _renewal("R1", "A1", date(2026, 12, 15), 100, "commit"),
        _renewal("R2", "A2", date(2027, 2, 10), 200, "at_risk", "Budget cuts", True),
        _renewal("R3", "A3", date(2027, 3, 31), 50, None, None, False),
        _renewal("R4", "A4", date(2026, 11, 1), 70, "churn", "  "),
        _renewal("R5", "A5", date(2027, 9, 30), 30, "probable"),
        _renewal("R6", "A5", date(2027, 10, 1), 999, "commit"),
        _renewal(
            "R7",
            "A6",
            date(2026, 11, 10),
            40,
            "commit",
            outcome="renewed",
            closed=date(2026, 11, 18),
        ),  # fmt: skip
        _renewal("R8", "A1", date(2027, 5, 15), 10, "at_risk", " Budget cuts "),
        _renewal("R9", "A3", date(2027, 6, 1), 25, "commit"),
    ]
    touches = [
        _touch(f"T{a}", a, "2026-11-10") for a in ("A1", "A2", "A4", "A5", "A6")
    ]  # A3: never touched, engagement 0, red
    history = [
        _history("R2", "2026-11-06", "probable"),
        _history("R7", "2026-11-06", "at_risk", "Champion left"),
        # R5 was called at risk, then the call was withdrawn: no call on 13 Nov.
        _history("R5", "2026-11-06", "at_risk", "Budget cuts"),
        _history("R5", "2026-11-13", None),
    ]
    return {
        "accounts": accounts,
        "contracts": contracts,
        "renewals": renewals,
        "touchpoints": touches,
        "renewal_forecast_history": history,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("pipeline"), _tables(), AS_OF)


@pytest.fixture(scope="module")
def changed_db(tmp_path_factory):
    """The same data with everything dated after EARLIER changed: R7 closes later as churned,
    R2's call today is churn, R1 gets a call on 20 Nov, A3 is touched on 19 Nov (green today)."""
    tables = _tables()
    by_id = {r["renewal_id"]: r for r in tables["renewals"]}
    by_id["R7"].update(outcome="churned", renewed_arr=0, closed_date="2026-11-19")
    by_id["R2"].update(forecast_category="churn", risk_reason="Competitor evaluation")
    tables["renewal_forecast_history"].append(_history("R1", "2026-11-20", "at_risk", "Other"))
    tables["touchpoints"].append(_touch("T-late", "A3", "2026-11-19"))
    return build_tiny(tmp_path_factory.mktemp("pipeline-changed"), tables, AS_OF)


def _cells(cal) -> dict[tuple[str, str], tuple[int, float]]:
    return {(r.bucket, r.call): (int(r.renewals), float(r.arr_up)) for r in cal.cells.itertuples()}


# ---- the window ----------------------------------------------------------------------------------
def test_the_window_is_the_days_quarter_and_the_three_after_it():
    assert horizon_end(AS_OF) == date(2027, 10, 1)
    q = buckets(AS_OF, "quarter")
    assert [b.label for b in q] == ["Overdue", "Q4 2026", "Q1 2027", "Q2 2027", "Q3 2027"]
    assert (q[1].first, q[1].last) == (AS_OF, date(2026, 12, 31))  # from the day on
    assert q[0].drill() == {"overdue": "1"}
    assert q[4].drill() == {"from": "2027-07-01", "to": "2027-09-30"}
    months = buckets(AS_OF, "month")
    assert [b.label for b in months][:3] == ["Overdue", "Nov 2026", "Dec 2026"]
    assert months[-1].label == "Sep 2027" and len(months) == 12  # overdue + Nov..Sep
    assert months[1].first == AS_OF
    # On a quarter's first day the quarter is whole; on its last day it is that day alone.
    assert buckets(date(2026, 10, 1))[1].first == date(2026, 10, 1)
    assert horizon_end(date(2026, 12, 31)) == date(2027, 10, 1)
    assert buckets(date(2026, 12, 31))[1].drill() == {"from": "2026-12-31", "to": "2026-12-31"}
    assert bucket_of(AS_OF, "quarter", "2027-01-01").label == "Q1 2027"
    assert bucket_of(AS_OF, "quarter", "2030-01-01") is None


# ---- the calendar --------------------------------------------------------------------------------
def test_calendar_by_quarter_with_overdue_and_not_called(db):
    cal = renewal_calendar(db, Filters(), AS_OF, "quarter")
    assert _cells(cal) == {
        ("overdue", "churn"): (1, 70.0),  # R4: dated 1 Nov, still open
        ("2026-10-01", "commit"): (1, 100.0),  # R1
        ("2027-01-01", "at_risk"): (1, 200.0),  # R2
        ("2027-01-01", "none"): (1, 50.0),  # R3: no call
        ("2027-04-01", "at_risk"): (1, 10.0),  # R8
        ("2027-04-01", "commit"): (1, 25.0),  # R9
        ("2027-07-01", "probable"): (1, 30.0),  # R5 on the window's last day; R6 after it
    }
    totals = cal.totals().set_index("bucket")
    assert list(totals.index) == ["overdue", "2026-10-01", "2027-01-01", "2027-04-01", "2027-07-01"]
    assert list(totals["arr_up"]) == [70.0, 100.0, 250.0, 35.0, 30.0]
    assert totals["renewals"].sum() == 7  # R6 (after the window) and R7 (closed) are out


def test_calendar_by_month(db):
    cal = renewal_calendar(db, Filters(), AS_OF, "month")
    totals = cal.totals().set_index("bucket")["arr_up"]
    assert totals["overdue"] == 70.0
    assert totals["2026-11-01"] == 0.0  # nothing open from 20 Nov to 30 Nov
    assert totals["2026-12-01"] == 100.0
    assert totals["2027-02-01"] == 200.0 and totals["2027-03-01"] == 50.0
    assert totals["2027-05-01"] == 10.0 and totals["2027-06-01"] == 25.0
    assert totals["2027-09-01"] == 30.0
    assert totals.sum() == 485.0  # the same window as the quarters


# ---- at risk and why -----------------------------------------------------------------------------
def test_at_risk_by_reason_names_red_health_and_blank_reasons(db):
    df = at_risk_by_reason(db, Filters(), AS_OF)
    got = {(r.reason, r.bucket): (int(r.renewals), float(r.arr_up)) for r in df.itertuples()}
    assert got == {
        ("Budget cuts", "2027-01-01"): (1, 200.0),  # R2
        ("Budget cuts", "2027-04-01"): (1, 10.0),  # R8: ' Budget cuts ', trimmed
        (REASON_HEALTH_RED, "2027-01-01"): (1, 50.0),  # R3: red, no call, no reason
        (REASON_HEALTH_RED, "2027-04-01"): (1, 25.0),  # R9: red although called commit
        (REASON_NONE, "overdue"): (1, 70.0),  # R4: called churn, reason blank
    }
    # Biggest reason first: Budget cuts 210, health red 75, none 70.
    assert list(dict.fromkeys(df["reason"])) == ["Budget cuts", REASON_HEALTH_RED, REASON_NONE]


def test_summary_counts_the_window_and_overdue(db):
    s = pipeline_summary(db, Filters(), AS_OF)
    assert (s["renewals"], s["arr_up"]) == (7, 485.0)
    assert (s["at_risk_renewals"], s["at_risk_arr"]) == (5, 355.0)  # R2, R3, R4, R8, R9
    assert s["at_risk_share"] == pytest.approx(355 / 485)
    assert (s["overdue_renewals"], s["overdue_arr"]) == (1, 70.0)


def test_top_at_risk_by_arr_with_band_driver_reason_and_plan(db):
    top = top_at_risk(db, Filters(), AS_OF)
    assert list(top["renewal_id"]) == ["R2", "R4", "R3", "R9", "R8"]
    rows = top.set_index("renewal_id")
    assert rows.loc["R2", "close_plan"] == "yes" and rows.loc["R3", "close_plan"] == "no"
    assert rows.loc["R4", "close_plan"] == "unknown"
    assert rows.loc["R3", "band"] == "red" and rows.loc["R2", "band"] == "green"
    assert rows.loc["R3", "driver"] == "engagement"  # the only component with a feed
    assert rows.loc["R4", "driver"] is None and pd.isna(rows.loc["R4", "band"])  # no snapshot
    assert rows.loc["R4", "overdue"] and not rows.loc["R2", "overdue"]
    assert rows.loc["R9", "reason"] == REASON_HEALTH_RED and rows.loc["R4", "reason"] == REASON_NONE
    assert list(top_at_risk(db, Filters(), AS_OF, limit=2)["renewal_id"]) == ["R2", "R4"]


def test_health_driver_is_the_component_costing_most_points():
    nan = np.nan
    df = pd.DataFrame(
        {
            # weights 30/20/15/15/20: cost = weight × (100 − score)
            "usage_score": [90.0, nan, 100.0, nan],  # 300 | - | 0 | -
            "trend_score": [50.0, 80.0, 100.0, nan],  # 1000 | 400 | 0 | -
            "support_score": [100.0, 0.0, 100.0, nan],  # 0 | 1500 | 0 | -
            "sentiment_score": [50.0, 50.0, 100.0, nan],  # 750 | 750 | 0 | -
            "engagement_score": [60.0, 100.0, 100.0, nan],  # 800 | 0 | 0 | -
        }
    )
    assert list(health_driver(df)) == ["trend", "support", "usage", None]  # tie: first listed


# ---- the open renewal list: its totals are the clicked number -------------------------------------
@pytest.mark.parametrize("grain", ["quarter", "month"])
def test_the_list_behind_each_calendar_cell_has_its_count_and_arr(db, grain):
    cal = renewal_calendar(db, Filters(), AS_OF, grain)
    for b in cal.buckets:
        for call in ("commit", "probable", "at_risk", "churn", "none"):
            drill = OpenDrill.from_params({**b.drill(), "category": call})
            want = _cells(cal).get((b.key, call), (0, 0.0))
            got = open_renewal_totals(db, Filters(), drill, AS_OF)
            assert (got["renewals"], got["arr_up"]) == want, (b.key, call)
        bar = cal.totals().set_index("bucket").loc[b.key]
        got = open_renewal_totals(db, Filters(), OpenDrill.from_params(b.drill()), AS_OF)
        assert (got["renewals"], got["arr_up"]) == (bar["renewals"], bar["arr_up"])


def test_the_list_behind_each_reason_quarter_and_kpi(db):
    window = window_drill(AS_OF)
    assert window == {"to": "2027-09-30"}
    by_reason = at_risk_by_reason(db, Filters(), AS_OF)
    for reason, part in by_reason.groupby("reason"):
        drill = OpenDrill.from_params({"risk": "1", "reason": reason, **window})
        got = open_renewal_totals(db, Filters(), drill, AS_OF)
        assert (got["renewals"], got["arr_up"]) == (part["renewals"].sum(), part["arr_up"].sum())
    for b in buckets(AS_OF, "quarter"):
        part = by_reason[by_reason["bucket"] == b.key]
        drill = OpenDrill.from_params({"risk": "1", **b.drill()})
        got = open_renewal_totals(db, Filters(), drill, AS_OF)
        assert (got["renewals"], got["arr_up"]) == (part["renewals"].sum(), part["arr_up"].sum())
    summary = pipeline_summary(db, Filters(), AS_OF)
    everything = open_renewal_totals(db, Filters(), OpenDrill.from_params(window), AS_OF)
    assert (everything["renewals"], everything["arr_up"]) == (7, 485.0)
    assert (everything["at_risk_renewals"], everything["at_risk_arr"]) == (
        summary["at_risk_renewals"],
        summary["at_risk_arr"],
    )
    # Without dates the list holds every open renewal, R6 after the window too.
    assert open_renewal_totals(db, Filters(), OpenDrill(), AS_OF)["arr_up"] == 485.0 + 999.0


def test_the_open_list_rows_and_filters(db):
    page = open_renewal_page(db, Filters(), OpenDrill.from_params({"risk": "1"}), AS_OF)
    assert list(page["renewal_id"]) == ["R2", "R4", "R3", "R9", "R8"]  # biggest first
    by_date = open_renewal_page(
        db, Filters(), OpenDrill(), AS_OF, sort=(("renewal_date", "asc"),), start=1, limit=2
    )
    assert list(by_date["renewal_id"]) == ["R1", "R2"]  # after R4 (1 Nov)
    c2 = open_renewal_totals(db, Filters(owner=("C2",)), OpenDrill(), AS_OF)
    assert (c2["renewals"], c2["arr_up"]) == (2, 270.0)  # A2's R2 and A4's R4
    # Hygiene checks (services.renewal_hygiene): no call; at risk without a reason.
    missing = OpenDrill.from_params({"missing": "category"})
    assert list(open_renewal_page(db, Filters(), missing, AS_OF)["renewal_id"]) == ["R3"]
    no_reason = OpenDrill.from_params({"missing": ["reason"]})
    got = set(open_renewal_page(db, Filters(), no_reason, AS_OF)["renewal_id"])
    assert got == {"R3", "R4", "R9"}
    assert open_renewal_totals(db, Filters(), OpenDrill(overdue=True), AS_OF)["renewals"] == 1


# ---- point in time -------------------------------------------------------------------------------
def test_a_week_earlier_the_later_closed_renewal_is_open_with_the_call_known_then(db):
    cal = renewal_calendar(db, Filters(), EARLIER, "quarter")
    assert _cells(cal) == {
        ("overdue", "at_risk"): (1, 40.0),  # R7: dated 10 Nov, closed 18 Nov; called at risk
        ("overdue", "none"): (1, 70.0),  # R4: today's 'churn' was not known then
        ("2026-10-01", "none"): (1, 100.0),  # R1
        ("2027-01-01", "probable"): (1, 200.0),  # R2: 'probable' on 6 Nov, not today's at_risk
        ("2027-01-01", "none"): (1, 50.0),  # R3
        ("2027-04-01", "none"): (2, 35.0),  # R8, R9
        ("2027-07-01", "none"): (1, 30.0),  # R5: the call of 6 Nov was withdrawn on 13 Nov
    }
    df = at_risk_by_reason(db, Filters(), EARLIER)
    got = {(r.reason, r.bucket): float(r.arr_up) for r in df.itertuples()}
    assert got == {
        ("Champion left", "overdue"): 40.0,  # R7's reason then
        (REASON_HEALTH_RED, "2027-01-01"): 50.0,  # R3
        (REASON_HEALTH_RED, "2027-04-01"): 25.0,  # R9
    }
    top = top_at_risk(db, Filters(), EARLIER).set_index("renewal_id")
    assert set(top["close_plan"]) == {"unknown"}  # the close plan is known only today
    drill = OpenDrill.from_params({"overdue": "1", "category": "at_risk"})
    assert open_renewal_totals(db, Filters(), drill, EARLIER)["arr_up"] == 40.0
    # The close plan cannot be listed as missing on a day it is not known.
    with pytest.raises(InvalidFilter, match="not known"):
        open_renewal_totals(db, Filters(), OpenDrill.from_params({"missing": "plan"}), EARLIER)
    no_plan = open_renewal_totals(db, Filters(), OpenDrill.from_params({"missing": "plan"}), AS_OF)
    assert no_plan["renewals"] == 7  # of the 8 open (R6 too: no dates given), all but R2


def test_nothing_dated_after_the_day_changes_the_view_of_that_day(db, changed_db):
    for grain in ("quarter", "month"):
        assert _cells(renewal_calendar(changed_db, Filters(), EARLIER, grain)) == _cells(
            renewal_calendar(db, Filters(), EARLIER, grain)
        )
    pd.testing.assert_frame_equal(
        at_risk_by_reason(changed_db, Filters(), EARLIER), at_risk_by_reason(db, Filters(), EARLIER)
    )
    pd.testing.assert_frame_equal(
        top_at_risk(changed_db, Filters(), EARLIER), top_at_risk(db, Filters(), EARLIER)
    )
    assert pipeline_summary(changed_db, Filters(), EARLIER) == pipeline_summary(
        db, Filters(), EARLIER
    )
    # The comparison can fail: on the day itself the changes show.
    assert pipeline_summary(changed_db, Filters(), AS_OF) != pipeline_summary(db, Filters(), AS_OF)


# ---- the URL ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "open", "from": "2027-13-01"}, "not a valid date for 'from'"),
        ({"status": "open", "from": "2027-03-01", "to": "2027-01-01"}, "run backwards"),
        ({"status": "open", "category": "maybe"}, "Unknown call 'maybe'"),
        ({"status": "open", "risk": "yes"}, "for 'risk': use 1"),
        ({"status": "open", "overdue": "2"}, "for 'overdue': use 1"),
        ({"status": "open", "missing": "coffee"}, "Unknown check 'coffee'"),
        ({"status": "open", "reason": "x" * 201}, "too long"),
    ],
)
def test_bad_drill_values_give_a_plain_message(params, message):
    assert parse_status(params) == "open"
    with pytest.raises(InvalidFilter, match=message):
        OpenDrill.from_params(params)


def test_status_and_the_parameters_of_each_mode():
    assert parse_status({}) == "closed"
    assert parse_status({"status": "open", "category": "none"}) == "open"
    with pytest.raises(InvalidFilter, match="Unknown status"):
        parse_status({"status": "pending"})
    with pytest.raises(InvalidFilter, match="closed renewals only"):
        parse_status({"status": "open", "band": "red"})
    with pytest.raises(InvalidFilter, match="add status=open"):
        parse_status({"from": "2027-01-01"})
    drill = OpenDrill.from_params({"from": "2027-01-01", "category": "none", "missing": "any"})
    assert OpenDrill.from_params(drill.to_params()) == drill


# ---- stored with the database: the same rows as computed live -------------------------------------
def _rows(db, sql_bind) -> pd.DataFrame:
    sql, bind = sql_bind
    df = db.query(f"{sql} SELECT * FROM open_renewals ORDER BY renewal_id", bind)
    return df.reset_index(drop=True)


def test_the_stored_open_renewals_are_the_live_ones_on_every_stored_day(db):
    days = _stored_dates(db)
    assert {AS_OF, EARLIER} <= days  # the tests above read the stored rows
    assert len(days) > 10  # every date the picker offers, not only the last
    for day in sorted(days):
        for filters, first, end in (
            (Filters(), None, None),
            (Filters(owner=("C2",)), None, horizon_end(day)),
            (Filters(), day, date(2027, 4, 1)),
        ):
            live = _rows(db, open_renewals_sql(filters, day, first, end))
            stored = _rows(db, stored_open_renewals_sql(filters, day, first, end))
            pd.testing.assert_frame_equal(stored, live, check_dtype=False)
    # A day the build did not store is computed live (never an error).
    assert date(2026, 11, 19) not in days
    off_grid = renewal_calendar(db, Filters(), date(2026, 11, 19), "quarter")
    assert off_grid.totals()["renewals"].sum() == 7
