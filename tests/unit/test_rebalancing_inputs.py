"""Rebalancing on a tiny database (services/rebalancing_inputs.py, services/rebalancing_export.py
and the /export/rebalance-moves.csv route): whole books under account filters, the renewal
freeze as of the view's date, a departed CSM's open book, and the CSV for a CRM update.

Every account is Enterprise, named (3.5 points; health not weighed), team East; capacity 10 so
the line is 11 points and the target 8.5. As of 20 Nov 2026:
  C1  A1 ($100, open renewal 20 Dec 2026: day 30), A2 ($200, renewed and closed on 10 Nov, next
      open renewal 10 Nov 2027), A3 ($300, EMEA), A4 ($400): 14 points, 3 over the line.
  C2  A5: 3.5 points, room 5.  C4  A7: 3.5 points, room 5.
  C3  left on 1 Oct 2026: A6 ($50) is an open book.
With a 60-day freeze A1 stays; C1 sheds one account: A3 is in EMEA, which nobody else serves;
A2 ($200) is cheaper than A4 ($400). A6 must get an owner: C2 and C4 have room for one each.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import pytest
from flask import Flask

from pages._exports import register_export_routes
from services.asof import resolve_as_of
from services.filters import Filters
from services.rebalancing import RebalanceOptions
from services.rebalancing_export import InvalidRebalanceParameter, moves_csv, moves_export
from services.rebalancing_inputs import (
    book_filters,
    next_renewals,
    rebalance_accounts,
    rebalance_plan,
)
from services.workload import WorkloadParams
from tests.unit.tiny import account, build_tiny, contract, renewal

AS_OF = date(2026, 11, 20)
WORKLOAD = replace(WorkloadParams.defaults(), weigh_health=False)
OPTIONS = RebalanceOptions(max_moves=10, freeze_days=60)
HOSTILE = '=HYPERLINK("http://x","y")'


def _csm(csm_id, **extra):
    return {"csm_id": csm_id, "name": f"CSM {csm_id}", "team": "East", "role": "CSM"} | {
        "region": "Americas",
        "capacity_points": 10,
        **extra,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    accounts = [
        account("A1", "Enterprise", owner="C1"),
        account("A2", "Enterprise", owner="C1"),
        account("A3", "Enterprise", owner="C1", region="EMEA"),
        account("A4", "Enterprise", owner="C1"),
        account("A5", "Enterprise", owner="C2"),
        account("A6", "Enterprise", owner="C3"),
        account("A7", "Enterprise", owner="C4"),
    ]
    accounts[1]["name"] = HOSTILE
    arr = {"A1": 100, "A2": 200, "A3": 300, "A4": 400, "A5": 500, "A6": 50, "A7": 700}
    return build_tiny(
        tmp_path_factory.mktemp("rebalance"),
        {
            "csms": [_csm("C1"), _csm("C2"), _csm("C3", end_date="2026-10-01"), _csm("C4")],
            "accounts": accounts,
            "contracts": [
                contract(a, "2026-01-01", "2027-12-31", arr=v, contract_id=f"K{a}")
                for a, v in arr.items()
            ],
            "renewals": [
                renewal("R1", "A1", date(2026, 12, 20), 100, "open", None),
                renewal("R2old", "A2", date(2026, 11, 10), 200, "renewed", 200),
                renewal("R2", "A2", date(2027, 11, 10), 200, "open", None),
            ],
        },
        AS_OF,
    )


def _day(db):
    return resolve_as_of(db, Filters()).date


def test_next_renewal_is_the_earliest_open_one(db):
    renewals = next_renewals(db, Filters(), _day(db)).set_index("account_id")["next_renewal"]
    assert renewals["A1"].date() == date(2026, 12, 20)
    assert renewals["A2"].date() == date(2027, 11, 10)  # the 10 Nov 2026 one closed
    assert "A3" not in renewals


def test_the_plan_on_the_tiny_database(db):
    plan = rebalance_plan(db, Filters(), _day(db), WORKLOAD, OPTIONS)
    moves = plan.moves.set_index("account_id")
    assert set(moves.index) == {"A2", "A6"}
    assert moves.loc["A2", "from_csm_id"] == "C1"
    assert {moves.loc["A2", "to_csm_id"], moves.loc["A6", "to_csm_id"]} == {"C2", "C4"}
    assert moves.loc["A6", "reason"] == "open_book" and moves.loc["A6", "from_state"] == "departed"
    c1 = plan.csms.set_index("csm_id").loc["C1"]
    assert c1["load_before"] == pytest.approx(14.0) and c1["load_after"] == pytest.approx(10.5)
    assert plan.held_back == 1  # A1, renewing on day 30
    # A1 renews on day 30: a 30-day freeze holds it, a 29-day one does not, and then A1 ($100)
    # is the cheapest to move.
    assert _day(db) == AS_OF
    for days, expected in ((30, {"A2", "A6"}), (29, {"A1", "A6"}), (0, {"A1", "A6"})):
        plan = rebalance_plan(db, Filters(), AS_OF, WORKLOAD, replace(OPTIONS, freeze_days=days))
        assert set(plan.moves["account_id"]) == expected, days


def test_account_filters_keep_books_whole(db):
    # Under a North America filter C1's book still counts A3 (EMEA): 14 points, over; only
    # accounts in the filter move.
    filters = Filters(region=("North America",))
    assert book_filters(filters) == Filters()
    accounts = rebalance_accounts(db, filters, _day(db), WORKLOAD).set_index("account_id")
    assert not accounts.loc["A3", "in_view"] and accounts.loc["A2", "in_view"]
    plan = rebalance_plan(db, filters, _day(db), WORKLOAD, OPTIONS)
    assert set(plan.moves["account_id"]) == {"A2", "A6"}
    # Under EMEA only A3 may move, and nobody else serves EMEA: C1 stays over, and says why.
    emea = rebalance_plan(db, Filters(region=("EMEA",)), _day(db), WORKLOAD, OPTIONS)
    assert emea.moves.empty
    assert list(emea.stuck["csm_id"]) == ["C1"] and emea.stuck.iloc[0]["reason"] == "no_receiver"


def test_the_csv_for_a_crm_update_is_neutralised(db):
    export = moves_export(db, Filters(), _day(db), {})
    rows = list(csv.reader(io.StringIO(moves_csv(export.plan).decode("utf-8-sig"))))
    assert rows[0] == [
        "Account ID", "Account", "From CSM ID", "From CSM", "To CSM ID", "To CSM", "Team", "ARR"
    ]  # fmt: skip
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {"A2", "A6"}
    assert by_id["A2"][1] == "'" + HOSTILE  # a formula is never a formula in a spreadsheet
    assert by_id["A2"][2:4] == ["C1", "CSM C1"] and by_id["A6"][2] == "C3"
    assert export.filename == "rebalance-moves-20261120"


def test_an_export_link_with_a_bad_parameter_is_refused(db):
    with pytest.raises(InvalidRebalanceParameter, match="Moves per CSM"):
        moves_export(db, Filters(), _day(db), {"rbmoves": ["lots"]})
    with pytest.raises(InvalidRebalanceParameter, match="No team"):
        moves_export(db, Filters(), _day(db), {"rbteam": ["Nowhere"]})


def test_the_export_route(db, use_db):
    use_db(db.path)
    server = Flask("rebalance-test")
    register_export_routes(server)
    client = server.test_client()
    ok = client.get("/export/rebalance-moves.csv?rbfreeze=0")
    assert ok.status_code == 200
    assert "rebalance-moves-20261120.csv" in ok.headers["Content-Disposition"]
    ids = [r[0] for r in csv.reader(io.StringIO(ok.data.decode("utf-8-sig")))][1:]
    assert sorted(ids) == ["A1", "A6"]
    bad = client.get("/export/rebalance-moves.csv?rbfreeze=-3")
    assert bad.status_code == 400 and b"Freeze days" in bad.data
    assert b"Traceback" not in bad.data
