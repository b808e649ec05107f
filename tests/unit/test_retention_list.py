"""The retention list (cohort behind GRR/NRR) against hand-computed values and the cards' numbers."""

from datetime import date, timedelta

import pytest

from services.arr_bridge import PERIODS, arr_bridge, period_window
from services.asof import snapshot_dates
from services.db import get_database
from services.errors import InvalidFilter
from services.filters import Filters
from services.retention import trailing_retention
from services.retention_list import (
    parse_movement,
    parse_period,
    parse_sort,
    retention_page,
    retention_summary,
    retention_totals,
    retention_window,
)
from services.sql_fragments import MOVEMENTS
from tests.unit.tiny import account, build_tiny, contract

AS_OF = date(2026, 6, 30)  # cohort date d0 = 2025-06-30


@pytest.fixture
def db(tmp_path):
    accounts = [
        account("A", "SMB"),
        account("B", "SMB", owner="C2"),
        account("C", "Enterprise"),
        account("D", "Enterprise"),
        account("E", "SMB", created="2025-09-01"),
        account("F", "Enterprise"),
    ]
    contracts = [
        # A churns: 100 on d0, nothing on d1 (the contract ends 2025-07-01, exclusive).
        contract("A", "2024-07-01", "2025-07-01", 100),
        # B contracts: 200 -> 150.
        contract("B", "2024-07-15", "2025-07-15", 200),
        contract("B", "2025-07-15", "2026-07-15", 150),
        # C expands through an add-on: 300 -> 300 + 60 = 360.
        contract("C", "2025-01-01", "2026-01-01", 300),
        contract("C", "2026-01-01", "2027-01-01", 300),
        contract("C", "2026-03-01", "2027-01-01", 60),
        # D renews flat at 400.
        contract("D", "2025-06-01", "2026-06-01", 400),
        contract("D", "2026-06-01", "2027-06-01", 400),
        # E is a new logo (nothing on d0): not in the cohort.
        contract("E", "2025-09-01", "2026-09-01", 500),
        # F churns: 50 -> 0 (ends on d1 itself, end date exclusive).
        contract("F", "2025-06-30", "2026-06-30", 50),
    ]
    return build_tiny(tmp_path, {"accounts": accounts, "contracts": contracts}, AS_OF)


def rows(db, filters=None, movement="", sort=(), start=0, limit=100, since=None):
    return retention_page(db, filters or Filters(), AS_OF, movement, sort, start, limit, since)


def test_one_row_per_cohort_account_with_its_movement(db):
    df = rows(db).set_index("account_id")
    assert sorted(df.index) == ["A", "B", "C", "D", "F"]  # E (new logo) excluded
    assert df["movement"].to_dict() == {
        "A": "churned",
        "B": "contracted",
        "C": "expanded",
        "D": "flat",
        "F": "churned",
    }
    assert df.loc["B", "start_arr"] == 200 and df.loc["B", "end_arr"] == 150
    assert df.loc["B", "change"] == -50
    assert df.loc["C", "change"] == 60  # 360 - 300
    assert df.loc["F", "change"] == -50
    assert df.loc["A", "name"] == "Account A" and df.loc["B", "owner_name"] == "Ben Baker"
    assert retention_window(AS_OF) == (date(2025, 6, 30), AS_OF)


def test_summary_totals_and_ratios(db):
    s = retention_summary(db, Filters(), AS_OF)
    assert s["start_arr"] == 1050  # 100 + 200 + 300 + 400 + 50
    assert s["churned_arr"] == 150  # A 100 + F 50
    assert s["contraction_arr"] == 50  # B 200 - 150
    assert s["expansion_arr"] == 60  # C 360 - 300
    assert s["end_arr"] == 910  # 0 + 150 + 360 + 400 + 0
    assert s["grr"] == pytest.approx(850 / 1050)  # (1050 - 150 - 50) / 1050
    assert s["nrr"] == pytest.approx(910 / 1050)
    # Same as the card's definition.
    card = trailing_retention(db, Filters(), AS_OF)
    assert card["grr"] == pytest.approx(s["grr"]) and card["nrr"] == pytest.approx(s["nrr"])


def test_summary_under_filters(db):
    ent = retention_summary(db, Filters(segment=("Enterprise",)), AS_OF)
    assert ent["start_arr"] == 750  # C 300 + D 400 + F 50
    assert ent["grr"] == pytest.approx(700 / 750)  # (750 - 50 churned) / 750
    assert ent["nrr"] == pytest.approx(760 / 750)  # (360 + 400 + 0) / 750
    assert list(rows(db, Filters(owner=("C2",)))["account_id"]) == ["B"]


def test_totals_of_shown_rows_per_movement(db):
    churned = retention_totals(db, Filters(), AS_OF, "churned")
    assert churned == {"accounts": 2, "start_arr": 150, "end_arr": 0, "change": -150}
    assert retention_totals(db, Filters(), AS_OF, "flat")["start_arr"] == 400
    everything = retention_totals(db, Filters(), AS_OF)
    assert everything["accounts"] == 5 and everything["change"] == 910 - 1050
    assert list(rows(db, movement="expanded")["account_id"]) == ["C"]


def test_default_order_sort_and_paging(db):
    # Default: biggest loss first (change A -100, B -50, F -50, D 0, C +60), ties by id.
    assert list(rows(db)["account_id"]) == ["A", "B", "F", "D", "C"]
    by_start = (("start_arr", "desc"),)  # D 400, C 300, B 200, A 100, F 50
    assert list(rows(db, sort=by_start)["account_id"]) == ["D", "C", "B", "A", "F"]
    assert list(rows(db, sort=by_start, start=1, limit=2)["account_id"]) == ["C", "B"]
    assert list(rows(db, sort=(("name", "asc"),), start=4)["account_id"]) == ["F"]
    # A column that is not allow-listed is ignored, never reaches SQL.
    hostile = (("a0; DROP TABLE contracts", "asc"),)
    assert list(rows(db, sort=hostile)["account_id"]) == ["A", "B", "F", "D", "C"]


def test_sort_from_url():
    assert parse_sort(["change:asc", "name"]) == (("change", "asc"), ("name", "asc"))
    with pytest.raises(InvalidFilter, match="Cannot sort by 'a0; DROP"):
        parse_sort("a0; DROP TABLE contracts")


def test_movement_from_url():
    assert parse_movement(None) == "" and parse_movement(["All"]) == ""
    assert parse_movement(["Churned"]) == "churned"
    with pytest.raises(InvalidFilter, match="Unknown movement 'lost'"):
        parse_movement("lost")


def test_empty_cohort(db):
    early = date(2020, 1, 1)
    s = retention_summary(db, Filters(), early)
    assert s["start_arr"] == 0 and s["grr"] is None and s["nrr"] is None
    assert retention_page(db, Filters(), early).empty


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(segment=("SMB",)), Filters(segment=("Enterprise",), region=("EMEA",))],
)
def test_list_matches_the_cards_on_demo_data(demo_db_path, use_db, filters):
    use_db(demo_db_path)
    db = get_database()
    snapshot = snapshot_dates(db)[-1]
    # On a snapshot date the card reads the build-time cube; off it, contracts directly.
    for day in (snapshot, snapshot - timedelta(days=3)):
        card = trailing_retention(db, filters, day)
        s = retention_summary(db, filters, day)
        assert s["start_arr"] > 0
        for key in ("grr", "nrr", "start_arr", "churned_arr", "contraction_arr", "expansion_arr"):
            assert s[key] == pytest.approx(card[key]), key
    # The churned rows, paged through, add up to the churned total.
    churned = retention_totals(db, filters, snapshot, "churned")
    pages = [
        retention_page(db, filters, snapshot, "churned", (), start, 100)
        for start in range(0, churned["accounts"], 100)
    ]
    assert sum(len(p) for p in pages) == churned["accounts"]
    assert sum(p["start_arr"].sum() for p in pages) == pytest.approx(card_churned(db, filters))
    # Every cohort account is in exactly one movement.
    parts = [retention_totals(db, filters, snapshot, m) for m in MOVEMENTS]
    assert sum(p["accounts"] for p in parts) == retention_totals(db, filters, snapshot)["accounts"]


def card_churned(db, filters):
    return trailing_retention(db, filters, snapshot_dates(db)[-1])["churned_arr"]


# ---------------------------------------------------------------------------------------------
# New ARR, the accounts at the end, and a period other than the 12 months (the ARR bridge's drill)


def test_new_accounts_and_accounts_at_the_end(db):
    # E had nothing a year ago and pays 500 now: new, outside the cohort.
    new = retention_totals(db, Filters(), AS_OF, "new")
    assert new == {"accounts": 1, "start_arr": 0, "end_arr": 500, "change": 500}
    df = rows(db, movement="new")
    assert list(df["account_id"]) == ["E"] and list(df["movement"]) == ["new"]
    # Every account paying now: B 150, C 360, D 400, E 500 (= ARR today).
    end = retention_totals(db, Filters(), AS_OF, "at_end")
    assert end["accounts"] == 4 and end["end_arr"] == 1410 and end["start_arr"] == 900
    # Largest ARR at the end first.
    assert list(rows(db, movement="at_end")["account_id"]) == ["E", "D", "C", "B"]
    assert parse_movement("New") == "new" and parse_movement(["at_end"]) == "at_end"


def test_a_period_of_its_own(db):
    since = date(2025, 8, 31)  # ARR on 31 Aug 2025 against ARR on 30 Jun 2026
    moved = rows(db, since=since).set_index("account_id")["movement"].to_dict()
    # A had already gone (its contract ended 1 Jul 2025); B renewed at 150 on 15 Jul 2025.
    assert moved == {"B": "flat", "C": "expanded", "D": "flat", "F": "churned"}
    assert list(rows(db, movement="new", since=since)["account_id"]) == ["E"]
    assert retention_totals(db, Filters(), AS_OF, "churned", since)["start_arr"] == 50
    s = retention_summary(db, Filters(), AS_OF, since)
    assert s["start_arr"] == 150 + 300 + 400 + 50 and s["end_arr"] == 150 + 360 + 400
    # The default period is the 12 months to the as-of date, as before.
    assert retention_window(AS_OF, since) == (since, AS_OF)
    assert retention_totals(db, Filters(), AS_OF, "churned", date(2025, 6, 30)) == (
        retention_totals(db, Filters(), AS_OF, "churned")
    )


def test_period_from_url():
    assert parse_period({}, AS_OF) is None
    assert parse_period({"from": ["2025-06-30"], "to": ["2026-06-30"]}, AS_OF) is None  # default
    assert parse_period({"from": "2026-03-31"}, AS_OF) == (date(2026, 3, 31), AS_OF)
    assert parse_period({"to": "2026-03-31"}, AS_OF) == (date(2025, 3, 31), date(2026, 3, 31))
    with pytest.raises(InvalidFilter, match="after the date of this view"):
        parse_period({"to": "2026-07-01"}, AS_OF)
    with pytest.raises(InvalidFilter, match="must start before it ends"):
        parse_period({"from": "2026-06-30"}, AS_OF)
    with pytest.raises(InvalidFilter, match="not a valid date for 'from'"):
        parse_period({"from": "yesterday"}, AS_OF)


def test_list_totals_are_the_bridge_steps_on_demo_data(demo_db_path, use_db):
    use_db(demo_db_path)
    db = get_database()
    filters = Filters(segment=("SMB",))
    as_of = snapshot_dates(db)[-1]
    for key in PERIODS:
        p = period_window(key, as_of)
        b = arr_bridge(db, filters, p.start, p.end)
        since = p.start if parse_period({"from": p.start, "to": p.end}, as_of) else None

        def totals(movement, since=since, p=p):
            return retention_totals(db, filters, p.end, movement, since)

        assert totals("")["start_arr"] == pytest.approx(b["start"])
        assert totals("new")["end_arr"] == pytest.approx(b["new"])
        assert totals("new")["accounts"] == b["new_accounts"]
        assert totals("expanded")["change"] == pytest.approx(b["expansion"])
        assert -totals("contracted")["change"] == pytest.approx(b["contraction"])
        assert totals("churned")["start_arr"] == pytest.approx(b["churned"])
        assert totals("at_end")["end_arr"] == pytest.approx(b["end"])
        assert totals("at_end")["accounts"] == b["end_accounts"]
    # The new accounts, paged through, add up to the step.
    t12m = period_window("t12m", as_of)
    new = retention_totals(db, filters, as_of, "new")
    pages = [
        retention_page(db, filters, as_of, "new", (), start, 100)
        for start in range(0, new["accounts"], 100)
    ]
    assert sum(p["end_arr"].sum() for p in pages) == pytest.approx(
        arr_bridge(db, filters, t12m.start, t12m.end)["new"]
    )
