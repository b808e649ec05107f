"""Each formula is written once (services/sql_fragments.py); every place that uses it agrees.

Hand-computed cases for the fragments on inline rows, then the demo database: the cube, the
direct queries, the retention list, the Accounts list, health snapshots and Account 360 against
an independent pandas implementation of ARCHITECTURE §4, for several filters and dates.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from services.account_360 import account_360
from services.account_list import account_totals
from services.asof import snapshot_dates
from services.db import get_database
from services.filters import AccountDrill, Filters
from services.health import health_summary
from services.retention import arr_at, cohort_movement, trailing_retention
from services.retention_list import retention_summary
from services.sql_fragments import (
    RETENTION_RATIOS,
    arr_on,
    cohort_member,
    movement_case,
    movement_sums,
    renewal_closed_by,
    year_before,
    year_before_sql,
)
from tests.unit.tiny import account, build_tiny, contract


def test_year_before_is_the_same_calendar_day_and_29_february_becomes_28():
    assert year_before(date(2024, 2, 29)) == date(2023, 2, 28)
    assert year_before(date(2025, 2, 28)) == date(2024, 2, 28)  # not 29 Feb
    assert year_before(date(2025, 3, 1)) == date(2024, 3, 1)  # 366 days: spans 29 Feb 2024
    assert year_before(date(2026, 6, 30)) == date(2025, 6, 30)


def test_year_before_sql_agrees_with_python_on_every_day_of_eight_years():
    days = [date(2021, 1, 1) + timedelta(days=i) for i in range(8 * 366)]
    got = duckdb.execute(
        f"SELECT d, {year_before_sql('d')} AS y FROM (SELECT unnest(?::DATE[]) AS d) ORDER BY d",
        [days],
    ).fetchall()
    assert len(got) == len(days)
    mismatches = [(d, y) for d, y in got if y != year_before(d)]
    assert mismatches == []


def test_arr_on_counts_start_inclusive_end_exclusive():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE c AS SELECT * FROM (VALUES "
        "(DATE '2025-01-01', DATE '2026-01-01', 100.0), "
        "(DATE '2026-01-01', DATE '2027-01-01', 150.0), "
        "(DATE '2025-06-01', DATE '2025-07-01', 7.0)) t(start_date, end_date, arr)"
    )

    def arr(day: str) -> float:
        return con.execute(f"SELECT {arr_on('?')} FROM c", [day, day]).fetchone()[0]

    assert arr("2025-12-31") == 100  # K1 only
    assert arr("2026-01-01") == 150  # K1 ended (exclusive), K2 started (inclusive)
    assert arr("2025-06-15") == 107
    assert arr("2024-12-31") == 0  # COALESCE: no contract is 0, not NULL


def test_movement_case_sums_and_ratios_on_hand_made_cohort():
    # a0 -> a1: churned 100 -> 0; contracted 200 -> 150; expanded 300 -> 360; flat 400 -> 400;
    # a new logo 0 -> 500 is not in the cohort.
    rows = "(100.0, 0.0), (200.0, 150.0), (300.0, 360.0), (400.0, 400.0), (0.0, 500.0)"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE p AS SELECT * FROM (VALUES {rows}) t(a0, a1)")
    moves = con.execute(
        f"SELECT {movement_case()} FROM p WHERE {cohort_member()} ORDER BY a0"
    ).fetchall()
    assert [m for (m,) in moves] == ["churned", "contracted", "expanded", "flat"]
    df = con.execute(
        f"SELECT *, {RETENTION_RATIOS} FROM (SELECT {movement_sums()} FROM p "
        f"WHERE {cohort_member()})"
    ).df()
    row = df.iloc[0]
    assert (row.start_arr, row.end_arr) == (1000, 910)
    assert (row.churned_arr, row.contraction_arr, row.expansion_arr) == (100, 50, 60)
    assert row.grr == pytest.approx((1000 - 100 - 50) / 1000)
    assert row.nrr == pytest.approx(910 / 1000)
    assert row.logo_retention == pytest.approx(3 / 4)


def test_a_renewal_is_closed_only_from_its_closed_date():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES "
        "('R1', 'renewed', DATE '2026-01-01', DATE '2025-12-20'), "
        "('R2', 'open', DATE '2026-01-01', NULL), "
        "('R3', 'churned', DATE '2026-01-01', NULL)) t(id, outcome, renewal_date, closed_date)"
    )

    def closed(day: str) -> list[str]:
        return [
            i
            for (i,) in con.execute(
                f"SELECT id FROM r WHERE {renewal_closed_by('?')} ORDER BY id", [day]
            ).fetchall()
        ]

    assert closed("2025-12-19") == []
    assert closed("2025-12-20") == ["R1"]  # on its closed date
    # R3 has no closed date: closed from its renewal date. R2 is open whatever the day.
    assert closed("2026-01-01") == ["R1", "R3"]


# --- every place agrees on the demo database ------------------------------------------------


def _independent_cohort(contracts: pd.DataFrame, accounts: set[str], d0: date, d1: date):
    """ARCHITECTURE §4 in pandas, sharing no code with the services."""

    def arr(day: date) -> pd.Series:
        on = contracts[(contracts.start_date <= day) & (day < contracts.end_date)]
        return on[on.account_id.isin(accounts)].groupby("account_id")["arr"].sum()

    a0, a1 = arr(d0), arr(d1)
    cohort = pd.DataFrame({"a0": a0[a0 > 0]}).join(a1.rename("a1")).fillna(0.0)
    churned = cohort.a0[cohort.a1 == 0].sum()
    contraction = (cohort.a0 - cohort.a1)[(cohort.a1 > 0) & (cohort.a1 < cohort.a0)].sum()
    expansion = (cohort.a1 - cohort.a0)[cohort.a1 > cohort.a0].sum()
    start = cohort.a0.sum()
    return {
        "start_arr": start,
        "churned_arr": churned,
        "contraction_arr": contraction,
        "expansion_arr": expansion,
        "grr": (start - churned - contraction) / start,
        "nrr": cohort.a1.sum() / start,
        "arr_d1": arr(d1).sum(),
        "customers_d1": int((arr(d1) > 0).sum()),
    }


FILTERS = [
    Filters(),
    Filters(segment=("SMB",)),
    Filters(segment=("Enterprise",), region=("EMEA",)),
    Filters(tier=("named", "pooled")),
]


@pytest.mark.demo
@pytest.mark.parametrize("filters", FILTERS, ids=["all", "smb", "ent-emea", "named-pooled"])
def test_every_place_agrees_with_an_independent_computation(demo_db_path, use_db, filters):
    use_db(demo_db_path)
    db = get_database()
    where, params = filters.where("ad")
    accounts = set(
        db.query(f"SELECT account_id FROM account_dim ad WHERE {where}", params)["account_id"]
    )
    contracts = db.query("SELECT account_id, start_date, end_date, arr FROM contracts")
    for col in ("start_date", "end_date"):
        contracts[col] = contracts[col].dt.date
    grid = snapshot_dates(db)
    for d1 in (grid[-1], grid[-14], grid[-27]):
        want = _independent_cohort(contracts, accounts, year_before(d1), d1)
        cube = trailing_retention(db, filters, d1)  # retention_cube (build time)
        direct = cohort_movement(db, filters, year_before(d1), d1).iloc[0]  # contracts
        listed = retention_summary(db, filters, d1)  # the retention list's cohort
        for key in ("start_arr", "churned_arr", "contraction_arr", "expansion_arr", "grr", "nrr"):
            assert cube[key] == pytest.approx(want[key]), (d1, key, "cube")
            assert float(direct[key]) == pytest.approx(want[key]), (d1, key, "direct")
            assert listed[key] == pytest.approx(want[key]), (d1, key, "list")
        # ARR(d1): direct query, health snapshots (the cube), the Accounts list.
        assert arr_at(db, filters, d1) == {
            "arr": pytest.approx(want["arr_d1"]),
            "accounts": want["customers_d1"],
        }
        summary = health_summary(db, filters, d1)
        assert (summary["arr"], summary["accounts"]) == (
            pytest.approx(want["arr_d1"]),
            want["customers_d1"],
        )
        totals = account_totals(db, filters, AccountDrill(), d1)
        assert (totals["arr"], totals["accounts"]) == (
            pytest.approx(want["arr_d1"]),
            want["customers_d1"],
        )
    # Account 360's ARR for a few accounts on an earlier date.
    d1 = grid[-27]
    on = contracts[(contracts.start_date <= d1) & (d1 < contracts.end_date)]
    per_account = on[on.account_id.isin(accounts)].groupby("account_id")["arr"].sum()
    for account_id in sorted(per_account.index)[:5]:
        acc = account_360(db, filters, account_id, d1)
        assert acc.facts["arr"] == pytest.approx(per_account[account_id])


def test_a_year_before_29_february_2024_is_28_february_in_the_cube_and_the_query(tmp_path):
    """Built with as-of 29 Feb 2024, the cube's cohort date (SQL twin) and the direct query's
    (`year_before`) are both 28 Feb 2023; 365 days earlier (1 Mar 2023) would be another cohort."""
    leap = date(2024, 2, 29)
    contracts = [
        # A: ARR on 28 Feb 2023, gone on 1 Mar 2023 (end date exclusive) -> churned.
        contract("A", "2022-03-01", "2023-03-01", 100),
        # B: starts 1 Mar 2023 -> a new logo for the 29 Feb 2024 cohort.
        contract("B", "2023-03-01", "2025-03-01", 50),
    ]
    db = build_tiny(
        tmp_path, {"accounts": [account("A"), account("B")], "contracts": contracts}, leap
    )
    assert snapshot_dates(db)[-1] == leap
    cube = trailing_retention(db, Filters(), leap)  # retention_cube
    direct = cohort_movement(db, Filters(), year_before(leap), leap).iloc[0]
    assert (cube["start_arr"], cube["churned_arr"], cube["grr"]) == (100, 100, 0)
    assert (direct.start_arr, direct.churned_arr, direct.grr) == (100, 100, 0)
    # The day after: the cohort date is 1 Mar 2023, where only B has ARR (flat).
    after = trailing_retention(db, Filters(), date(2024, 3, 1))
    assert (after["start_arr"], after["grr"], after["nrr"]) == (50, 1, 1)


def test_order_by_allow_lists_and_always_breaks_ties():
    from services.sql_fragments import order_by, page_bounds

    sortable = {"arr": "h.arr", "name": "ad.name"}
    assert order_by((("arr", "asc"), ("evil; DROP", "desc")), sortable, "x DESC", "ad.id") == (
        "h.arr ASC NULLS LAST, ad.id"
    )
    assert order_by((), sortable, "x DESC", "ad.id") == "x DESC, ad.id"
    assert order_by((("name", "desc"),), sortable, "x", "t") == "ad.name DESC NULLS LAST, t"
    assert page_bounds(200, 100) == [100, 200]
    assert page_bounds(-5, 10**9) == [1000, 0]
    assert page_bounds(0, 0) == [1, 0]
