"""Renewal hygiene on hand-made renewals: the window's edges, each check's counts and shares
(overall, per owner, per team), a departed CSM and an unassigned account failing `owner`, and
what a past date knows (the close plan never; the CSM's call only from the call history).

As of 20 Nov 2026 the window ends 18 Feb 2027 (day 90). Renewals (all open, ARR up):
  R0    A1 (C1, East)   20 Nov 2026 (day 0)   100  commit, plan            passes all
  R90   A1 (C1, East)   18 Feb 2027 (day 90)  200  no category, plan       fails category
  R91   A1 (C1, East)   19 Feb 2027 (day 91)  400  no category             outside the window
  Rover A2 (C2, West)   01 Nov 2026 (overdue) 300  at risk, blank reason, no plan
                                                                           fails reason, plan
  Rrisk A2 (C2, West)   15 Dec 2026           150  at risk, reason, plan   passes all
  R3    A3 (C3, East)   10 Jan 2027            50  commit, plan; C3 left 01 Oct 2026
                                                                           fails owner
  R4    A4 (no owner)   20 Jan 2027            25  probable, plan unknown  fails owner, plan
  R6    A6 (C4, West)   05 Jan 2027            10  commit, plan; C4 leaves 15 Nov 2026
                                                                           fails owner (on 20 Nov)
No usage or other feed: health is unknown, so "at risk" is the CSM's call alone.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from components.renewals_hygiene import ALL, list_href, missing_records, owner_options
from services.filters import Filters
from services.renewal_hygiene import (
    UNASSIGNED,
    HygieneParams,
    checks_known_on,
    hygiene_by_owner,
    hygiene_by_team,
    hygiene_summary,
    missing_page,
    missing_totals,
    window_end,
)
from tests.unit.tiny import CSMS, account, build_tiny, contract, renewal

AS_OF = date(2026, 11, 20)
PAST = date(2026, 11, 13)  # after the call history's first row (6 Nov 2026)
BEFORE_CALLS = date(2026, 10, 30)  # before it
TOTAL_ARR = 100 + 200 + 300 + 150 + 50 + 25 + 10  # 835, R91 outside


def _renewal(rid, acc, on, arr, category, reason=None, plan=None):
    row = renewal(rid, acc, on, arr, "open", None)
    row.update(forecast_category=category, risk_reason=reason, has_close_plan=plan)
    return row


def _history(rid, day, category, reason=None):
    return {
        "renewal_id": rid,
        "snapshot_date": day,
        "forecast_category": category,
        "arr_up": 1,
        "risk_reason": reason,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    csms = [
        *CSMS,
        {
            "csm_id": "C3",
            "name": "Cy Cole",
            "team": "East",
            "role": "CSM",
            "end_date": "2026-10-01",
        },
        {
            "csm_id": "C4",
            "name": "Di Dunn",
            "team": "West",
            "role": "CSM",
            "end_date": "2026-11-15",
        },
    ]
    accounts = [
        account("A1", owner="C1"),
        account("A2", owner="C2"),
        account("A3", owner="C3"),
        account("A4", owner=None),
        account("A6", owner="C4"),
    ]
    renewals = [
        _renewal("R0", "A1", date(2026, 11, 20), 100, "commit", plan=True),
        _renewal("R90", "A1", date(2027, 2, 18), 200, None, plan=True),
        _renewal("R91", "A1", date(2027, 2, 19), 400, None),
        _renewal("Rover", "A2", date(2026, 11, 1), 300, "at_risk", reason="  ", plan=False),
        _renewal("Rrisk", "A2", date(2026, 12, 15), 150, "at_risk", reason="Budget", plan=True),
        _renewal("R3", "A3", date(2027, 1, 10), 50, "commit", plan=True),
        _renewal("R4", "A4", date(2027, 1, 20), 25, "probable", plan=None),
        _renewal("R6", "A6", date(2027, 1, 5), 10, "commit", plan=True),
    ]
    return build_tiny(
        tmp_path_factory.mktemp("hygiene"),
        {
            "csms": csms,
            "accounts": accounts,
            "contracts": [contract(a["account_id"], "2026-01-01", "2027-06-01") for a in accounts],
            "renewals": renewals,
            # The call history starts on 6 Nov 2026: two renewals have a call then.
            "renewal_forecast_history": [
                _history("R0", "2026-11-06", "commit"),
                _history("Rover", "2026-11-06", "at_risk"),
            ],
        },
        AS_OF,
    )


def _check(summary, key):
    c = summary.checks[key]
    return c.known, c.in_scope, c.failing, c.arr_in_scope, c.arr_failing


def test_window_edges_day_0_and_90_in_day_91_out_overdue_in(db):
    assert window_end(AS_OF, 90) == date(2027, 2, 18)
    rows = missing_page(db, Filters(), AS_OF, limit=100)
    shown = set(rows["renewal_id"])
    assert "R90" in shown and "R91" not in shown and "Rover" in shown
    s = hygiene_summary(db, Filters(), AS_OF)
    # R0 (day 0, passes all) is counted: 7 renewals in the window, one overdue.
    assert (s.renewals, s.arr_up, s.overdue) == (7, TOTAL_ARR, 1)
    assert bool(rows.set_index("renewal_id").loc["Rover", "overdue"])
    # A shorter window (30 days: to 20 Dec) keeps R0, Rover and Rrisk only.
    short = hygiene_summary(db, Filters(), AS_OF, HygieneParams(window_days=30))
    assert (short.renewals, short.arr_up) == (3, 550)


def test_counts_and_shares_per_check(db):
    s = hygiene_summary(db, Filters(), AS_OF)
    assert _check(s, "category") == (True, 7, 1, TOTAL_ARR, 200)  # R90
    assert _check(s, "reason") == (True, 2, 1, 450, 300)  # at risk: Rover, Rrisk; Rover blank
    assert _check(s, "plan") == (True, 7, 2, TOTAL_ARR, 325)  # Rover false, R4 unknown
    assert _check(s, "owner") == (True, 7, 3, TOTAL_ARR, 85)  # R3 (left), R4 (none), R6 (left)
    assert s.checks["category"].share == pytest.approx(6 / 7)
    assert s.checks["category"].arr_share == pytest.approx(635 / 835)
    assert s.checks["reason"].share == pytest.approx(1 / 2)
    assert s.checks["reason"].arr_share == pytest.approx(150 / 450)
    assert s.checks["plan"].share == pytest.approx(5 / 7)
    assert s.checks["owner"].share == pytest.approx(4 / 7)
    assert s.checks["owner"].arr_share == pytest.approx(750 / 835)
    # Failing something: R90, Rover, R3, R4, R6; passing all: R0, Rrisk.
    assert (s.failing_any, s.arr_failing_any) == (5, 585)
    assert s.share_all == pytest.approx(2 / 7)


def test_per_owner_worst_first(db):
    df = hygiene_by_owner(db, Filters(), AS_OF)
    # Passing all: C3 0/1 ($50), unassigned 0/1 ($25), C4 0/1 ($10), C2 1/2 ($450), C1 1/2 ($300).
    assert df["owner_csm_id"].fillna(UNASSIGNED).tolist() == ["C3", UNASSIGNED, "C4", "C2", "C1"]
    by = df.assign(key=df["owner_csm_id"].fillna(UNASSIGNED)).set_index("key")
    assert by.loc[UNASSIGNED, "owner_name"] == "Unassigned"
    assert not by.loc["C3", "owner_active"] and by.loc["C1", "owner_active"]
    assert (by.loc["C1", "fail_category"], by.loc["C1", "share_category"]) == (1, 0.5)
    assert by.loc["C1", "share_plan"] == 1.0 and by.loc["C1", "share_all"] == 0.5
    assert by.loc["C1", "arr_share_category"] == pytest.approx(100 / 300)
    assert (by.loc["C2", "in_reason"], by.loc["C2", "fail_reason"]) == (2, 1)
    assert by.loc["C2", "share_reason"] == 0.5 and by.loc["C2", "share_plan"] == 0.5
    assert pd.isna(by.loc["C1", "share_reason"])  # nothing at risk: no share, not 100%
    assert by.loc["C3", "fail_owner"] == 1 and by.loc["C3", "share_owner"] == 0.0
    assert by.loc[UNASSIGNED, "fail_owner"] == 1 and by.loc[UNASSIGNED, "fail_plan"] == 1
    assert by.loc["C4", "fail_owner"] == 1
    assert set(df["owners_total"]) == {5}
    # The owners add up to the whole.
    s = hygiene_summary(db, Filters(), AS_OF)
    for key, check in s.checks.items():
        assert df[f"fail_{key}"].sum() == check.failing
    # A limit keeps the worst.
    assert list(hygiene_by_owner(db, Filters(), AS_OF, limit=1)["owner_csm_id"]) == ["C3"]


def test_per_team(db):
    df = hygiene_by_team(db, Filters(), AS_OF).set_index("team")
    # Unassigned 0/1; West 1/3 (Rrisk of Rover, Rrisk, R6; $460); East 1/3 (R0 of R0, R90, R3; $350).
    assert list(df.index) == ["Unassigned", "West", "East"]
    assert df.loc["East", "share_all"] == pytest.approx(1 / 3)
    assert (df.loc["East", "fail_category"], df.loc["East", "fail_owner"]) == (1, 1)
    assert (df.loc["West", "fail_owner"], df.loc["West", "fail_reason"]) == (1, 1)


def test_filters_apply_and_the_paths_agree(db):
    west = hygiene_summary(db, Filters(team=("West",)), AS_OF)
    assert (west.renewals, west.arr_up) == (3, 460)
    # The summary under an owner filter equals that owner's row of the per-owner table.
    row = hygiene_by_owner(db, Filters(), AS_OF).set_index("owner_csm_id").loc["C2"]
    c2 = hygiene_summary(db, Filters(owner=("C2",)), AS_OF)
    for key, check in c2.checks.items():
        assert (check.in_scope, check.failing) == (row[f"in_{key}"], row[f"fail_{key}"])
    assert missing_totals(db, Filters(), AS_OF, owner="C2") == {"renewals": 1, "arr_up": 300}


def test_the_list_of_renewals_missing_something(db):
    assert missing_totals(db, Filters(), AS_OF) == {"renewals": 5, "arr_up": 585}
    assert missing_totals(db, Filters(), AS_OF, owner=UNASSIGNED) == {"renewals": 1, "arr_up": 25}
    rows = missing_page(db, Filters(), AS_OF).set_index("renewal_id")
    # Default order: by owner name, then the soonest renewal date.
    assert list(rows.index) == ["R90", "Rover", "R3", "R6", "R4"]
    assert list(rows.loc["Rover", ["fail_category", "fail_reason", "fail_plan", "fail_owner"]]) == [
        False,
        True,
        True,
        False,
    ]
    assert rows.loc["R4", "failing_count"] == 2
    by_arr = missing_page(db, Filters(), AS_OF, sort=(("arr_up", "desc"),))
    assert list(by_arr["renewal_id"])[:2] == ["Rover", "R90"]
    assert list(missing_page(db, Filters(), AS_OF, start=4, limit=10)["renewal_id"]) == ["R4"]


def test_a_past_date_knows_no_close_plan_and_the_call_from_history(db):
    s = hygiene_summary(db, Filters(), PAST)
    # Window 13 Nov 2026 to 10 Feb 2027: R0, Rover (overdue), Rrisk, R3, R4, R6 = $635.
    assert (s.renewals, s.arr_up) == (6, 635)
    # The close plan is not known then: left out, never failed.
    assert _check(s, "plan") == (False, 0, 0, 0, 0)
    assert s.checks["plan"].share is None
    # C4 left on 15 Nov: still active on 13 Nov. R3 (C3 left in October) and R4 fail.
    assert _check(s, "owner") == (True, 6, 2, 635, 75)
    # The call as of 13 Nov is the history's: R0 commit, Rover at risk (no reason); the others
    # had no call yet (fail category), and only Rover is at risk.
    assert _check(s, "category") == (True, 6, 4, 635, 235)
    assert _check(s, "reason") == (True, 1, 1, 300, 300)
    # Failing any: Rover, Rrisk, R3, R4, R6 (category or owner).
    assert s.failing_any == 5


def test_before_the_call_history_the_call_is_not_known(db):
    s = hygiene_summary(db, Filters(), BEFORE_CALLS)
    assert [k for k, c in s.checks.items() if c.known] == ["owner"]
    # Window 30 Oct 2026 to 28 Jan 2027: R0, Rover, Rrisk, R3, R4, R6; R3 and R4 fail owner.
    assert (s.renewals, s.checks["owner"].failing, s.failing_any) == (6, 2, 2)
    assert missing_totals(db, Filters(), BEFORE_CALLS) == {"renewals": 2, "arr_up": 75}


def test_checks_known_on():
    assert checks_known_on(AS_OF, AS_OF) == ("category", "reason", "plan", "owner")
    assert checks_known_on(PAST, AS_OF) == ("owner",)  # no call history
    assert checks_known_on(PAST, AS_OF, date(2026, 11, 6)) == ("category", "reason", "owner")
    assert checks_known_on(BEFORE_CALLS, AS_OF, date(2026, 11, 6)) == ("owner",)


def test_drill_links_and_words(db):
    end = window_end(AS_OF, 90)
    # An owner's cell: the global filters kept, the owner set, open renewals due by the window's
    # end with no start date (overdue ones included), failing that check.
    assert list_href(Filters(team=("East",)), end, "plan", owner=("C1",)) == (
        "/renewals/list?team=East&owner=C1&status=open&to=2027-02-18&missing=plan"
    )
    assert list_href(Filters(), end, ALL).endswith("&missing=any")
    rows = {r["renewal_id"]: r for r in missing_records(missing_page(db, Filters(), AS_OF))}
    assert rows["Rover"]["missing"] == "At risk without a risk reason; No close plan"
    assert rows["R4"]["missing"] == "No close plan; No active owner"
    options = owner_options(hygiene_by_owner(db, Filters(), AS_OF), "")
    assert {"label": "Unassigned (1 missing)", "value": UNASSIGNED} in options
    assert "C1" in {o["value"] for o in options}
