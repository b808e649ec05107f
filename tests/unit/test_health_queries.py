"""Health queries (summary, mix, owners, movers) and the Accounts list on hand-made snapshots."""

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from services import health
from services.account_list import account_page, account_totals
from services.build import create_health_aggregates, create_health_by_account
from services.db import Database
from services.filter_options import filter_options
from services.filters import AccountDrill, Filters
from services.portfolio import portfolio_kpis
from tests.unit.tiny import account, build_tiny, renewal

D = date(2026, 6, 30)
RENEWAL_DAY = D - timedelta(days=7)  # scored on the snapshot of D - 98


def snap(account_id, on, arr, score, band, missing=None, sentiment=80.0, usage=80.0):
    return (on, account_id, arr, 10, usage, 50.0, 100.0, sentiment, 100.0, score, band, missing)


@pytest.fixture
def db(tmp_path):
    accounts = [
        account("S1", "SMB", owner="C1"),
        account("S2", "SMB", owner="C1"),
        account("E1", "Enterprise", owner="C2"),
        account("E2", "Enterprise", owner="C2"),
        account("S3", "SMB", owner="C1"),
    ]
    renewals = [
        renewal("R1", "S1", RENEWAL_DAY, 100, "renewed", 100),
        renewal("R2", "S2", RENEWAL_DAY, 300, "churned", 0),
        renewal("R3", "E1", RENEWAL_DAY, 1000, "contracted", 800),
        renewal("R4", "E2", RENEWAL_DAY, 600, "expanded", 700),
        renewal("R5", "S3", RENEWAL_DAY, 50, "renewed", 50),
        renewal("R6", "S2", D - timedelta(days=400), 300, "churned", 0),  # outside the window
        renewal("R7", "E1", D + timedelta(days=30), 800, "open", None),  # still open
    ]
    built = build_tiny(tmp_path, {"accounts": accounts, "renewals": renewals}, D)
    scored = D - timedelta(days=98)
    rows = [
        snap("S1", D, 100, 80, "green"),
        snap("S2", D, 300, 30, "red", "NPS", sentiment=20.0),
        snap("E1", D, 1000, 50, "yellow"),
        snap("E2", D, 600, 20, "red"),
        snap("S1", D - timedelta(days=28), 100, 85, "green"),
        snap("S2", D - timedelta(days=28), 300, 60, "yellow", sentiment=100.0),
        snap("E1", D - timedelta(days=28), 1000, 55, "yellow", usage=100.0),
        snap("E2", D - timedelta(days=28), 600, 20, "red"),
        snap("S1", scored, 100, 75, "green"),
        snap("S2", scored, 300, 30, "red"),
        snap("E1", scored, 1000, 72, "green"),
        snap("E2", scored, 600, 35, "red"),
        snap("S3", scored, 50, 90, "green"),
    ]
    con = duckdb.connect(str(built.path))
    con.execute("DELETE FROM health_snapshots")
    con.executemany(
        "INSERT INTO health_snapshots (snapshot_date, account_id, arr, seats, usage_score, "
        "trend_score, support_score, sentiment_score, engagement_score, health_score, band, "
        "missing_inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    create_health_aggregates(con)
    create_health_by_account(con)
    con.close()
    return Database(built.path)


def test_summary(db):
    s = health.health_summary(db, Filters(), D)
    assert s["accounts"] == 4 and s["arr"] == 2000
    assert s["avg_health"] == pytest.approx((80 + 30 + 50 + 20) / 4)
    assert s["pct_arr_red"] == pytest.approx(900 / 2000)
    assert s["health_coverage"] == pytest.approx(3 / 4)
    assert health.health_summary(db, Filters(segment=("SMB",)), D)["pct_arr_red"] == pytest.approx(
        0.75
    )


def test_band_mix_and_owner_table(db):
    mix = health.band_mix(db, Filters(), D).set_index(["grp", "band"])
    assert mix.loc[("SMB", "red"), "arr"] == 300 and mix.loc[("Enterprise", "red"), "arr"] == 600
    assert mix["accounts"].sum() == 4
    owners = health.health_by_owner(db, Filters(), D)
    assert list(owners.owner_csm_id) == ["C1", "C2"]  # worst % of ARR in red first
    c1 = owners.iloc[0]
    assert (c1.accounts, c1.arr, c1.avg_health) == (2, 400, 55.0)
    assert c1.pct_arr_red == pytest.approx(0.75)
    assert owners.iloc[1].pct_arr_red == pytest.approx(600 / 1600)


def test_movers_rank_drops_and_name_the_driver(db):
    m = health.movers(db, Filters(), D)
    assert list(m.account_id) == ["S2", "E1", "S1"]  # -30, then -5 with the larger ARR first
    assert list(m.change) == [-30, -5, -5]
    assert m.iloc[0].driver == "sentiment" and m.iloc[1].driver == "usage"


def test_accounts_list_matches_the_numbers_it_drills_from(db):
    red = AccountDrill(band=("red",))
    assert account_totals(db, Filters(), red, D) == {"accounts": 2, "arr": 900.0}
    page = account_page(db, Filters(), red, D, (("arr", "asc"),), 0, 10)
    assert list(page.account_id) == ["S2", "E2"]
    assert list(page.health_change) == [-30, 0]
    assert account_totals(db, Filters(), AccountDrill(inputs="incomplete"), D)["accounts"] == 1
    assert account_totals(db, Filters(), AccountDrill(search="e2"), D)["accounts"] == 1
    assert account_totals(db, Filters(), AccountDrill(search="%"), D)["accounts"] == 0
    second = account_page(db, Filters(), AccountDrill(), D, (("health_score", "desc"),), 1, 2)
    assert list(second.account_id) == ["E1", "S2"]


def test_kpis_and_options(db):
    kpis = {k.name: k for k in portfolio_kpis(db, Filters(), D)}
    assert kpis["arr"].value == 2000 and kpis["accounts"].value == 4
    assert kpis["pct_arr_red"].value == pytest.approx(0.45)
    assert kpis["arr"].previous_date == D - timedelta(days=91)
    # Customers on D: S1, S2 (SMB, Ana, East) and E1, E2 (Enterprise, Ben, West).
    options = filter_options(db, Filters(), D)
    assert options["segment"] == [
        {"label": "Enterprise (2)", "value": "Enterprise"},
        {"label": "SMB (2)", "value": "SMB"},
    ]
    assert {o["value"] for o in options["owner"]} == {"C1", "C2"}


def test_options_cascade_from_the_other_filters(db):
    smb = filter_options(db, Filters(segment=("SMB",)), D)
    # The segment control still offers every segment; owners narrow to SMB's.
    assert [o["value"] for o in smb["segment"]] == ["Enterprise", "SMB"]
    assert smb["owner"] == [{"label": "Ana Adams (East) (2)", "value": "C1"}]
    west = filter_options(db, Filters(team=("West",)), D)
    assert west["segment"] == [{"label": "Enterprise (2)", "value": "Enterprise"}]
    # A chosen value with no customers stays listed, with 0, so the control keeps it.
    none = filter_options(db, Filters(team=("West",), segment=("SMB",)), D)
    assert {"label": "SMB (0)", "value": "SMB"} in none["segment"]
    assert none["owner"] == []


def test_renewal_rate_caps_expansion_at_the_amount_up(db):
    from services.retention import renewal_rate, year_before

    r = renewal_rate(db, Filters(), year_before(D), D)
    # R1..R5: up 100+300+1000+600+50 = 2050; kept 100+0+800+min(700,600)+50 = 1550
    assert r["renewals"] == 5 and r["arr_up"] == 2050
    assert r["renewal_rate"] == pytest.approx(1550 / 2050)
    assert renewal_rate(db, Filters(segment=("Nope",)), year_before(D), D)["renewal_rate"] is None


def test_account_360_facts_and_unknown_account(db):
    from services.account_360 import account_360

    acc = account_360(db, Filters(), "S2", D)
    assert acc.facts["name"] == "Account S2" and acc.facts["owner_name"] == "Ana Adams"
    assert list(acc.renewals["renewal_date"].dt.date) == [RENEWAL_DAY, D - timedelta(days=400)]
    # Its weekly snapshots within 26 weeks: D - 98, D - 28 and D.
    assert [d.date() for d in acc.health["snapshot_date"]] == [
        D - timedelta(days=98),
        D - timedelta(days=28),
        D,
    ]
    assert account_360(db, Filters(), "NOPE", D) is None
    # Outside the viewer's filters the account is not shown (a scope will work the same way).
    assert account_360(db, Filters(segment=("Enterprise",)), "S2", D) is None
    assert account_360(db, Filters(segment=("SMB",)), "S2", D) is not None


def test_accounts_list_next_renewal_with_and_without_sorting_by_it(db):
    by_arr = account_page(db, Filters(), AccountDrill(), D, (), 0, 10)
    assert list(by_arr.account_id) == ["E1", "E2", "S2", "S1"]
    e1 = by_arr.set_index("account_id").loc["E1"]
    assert e1.next_renewal_date.date() == D + timedelta(days=30) and e1.renewal_arr == 800
    assert by_arr.set_index("account_id").loc["S1"].next_renewal_date is pd.NaT
    by_renewal = account_page(
        db, Filters(), AccountDrill(), D, (("next_renewal_date", "asc"),), 0, 10
    )
    assert list(by_renewal.account_id) == ["E1", "E2", "S1", "S2"]  # then account id (no renewal)
    assert list(by_renewal.columns) == list(by_arr.columns)


def test_owner_search_matches_names_within_teams(db):
    from services.filter_options import owner_options_matching

    assert owner_options_matching(db, Filters(), "ana") == [
        {"value": "C1", "label": "Ana Adams (East)"}
    ]
    assert owner_options_matching(db, Filters(team=("West",)), "a") == [
        {"value": "C2", "label": "Ben Baker (West)"}
    ]
    assert owner_options_matching(db, Filters(), "%") == []  # a wildcard is just a character
