"""Ownership over time: the loader's checks on account_owner_history (named by file, row and
column; nothing replaced) and who `owner_on` finds on the days around a change."""

from datetime import date

import pytest

from services.build import build
from services.db import Database
from services.errors import ImportRejected
from services.ownership import owner_on
from tests.unit.tiny import account, build_tiny, contract, write_source

AS_OF = date(2026, 6, 30)
ACCOUNTS = [account("A", owner="C2", created="2025-01-01"), account("B", owner="C1")]
CONTRACTS = [contract("A", "2026-01-01", "2027-01-01"), contract("B", "2026-01-01", "2027-01-01")]


def span(account_id: str, owner: str | None, start: str, end: str | None = None) -> dict:
    return {"account_id": account_id, "owner_csm_id": owner, "valid_from": start, "valid_to": end}


# A was C1's until 31 Mar 2026 and is C2's from 1 Apr 2026 on; B is not in the history.
HISTORY = [span("A", "C1", "2025-01-01", "2026-04-01"), span("A", "C2", "2026-04-01")]


def _tables(history: list[dict]) -> dict:
    return {"accounts": ACCOUNTS, "contracts": CONTRACTS, "account_owner_history": history}


@pytest.fixture
def db(tmp_path) -> Database:
    return build_tiny(tmp_path, _tables(HISTORY), AS_OF)


def _owner(db: Database, account_id: str, day: date) -> list:
    """Every owner `owner_on` finds for the account on the day (a list: a gap gives none, an
    overlap would give two)."""
    return db.query(
        f"SELECT os.owner_csm_id FROM (SELECT CAST(? AS DATE) AS d, ? AS a) x "
        f"JOIN owner_spans os ON {owner_on('x.d', 'x.a')}",
        [day, account_id],
    )["owner_csm_id"].tolist()


@pytest.mark.parametrize(
    "day, owner",
    [
        (date(2025, 1, 1), "C1"),  # the first day of the first interval
        (date(2026, 3, 31), "C1"),  # the day before the change: still C1's
        (date(2026, 4, 1), "C2"),  # valid_to is exclusive: the change day is C2's
        (date(2026, 4, 2), "C2"),
        (date(2030, 1, 1), "C2"),  # the open interval runs on
    ],
)
def test_owner_on_the_days_around_a_change(db, day, owner):
    assert _owner(db, "A", day) == [owner]


def test_no_owner_before_the_history_starts(db):
    assert _owner(db, "A", date(2024, 12, 31)) == []


def test_an_account_absent_from_the_history_is_its_current_owners_all_along(db):
    assert _owner(db, "B", date(1990, 5, 1)) == ["C1"]
    assert _owner(db, "B", AS_OF) == ["C1"]


def test_an_unowned_interval_is_a_day_with_no_owner(tmp_path):
    history = [
        span("A", "C1", "2025-01-01", "2026-02-01"),
        span("A", None, "2026-02-01", "2026-04-01"),
        span("A", "C2", "2026-04-01"),
    ]
    db = build_tiny(tmp_path, _tables(history), AS_OF)
    assert _owner(db, "A", date(2026, 3, 1)) == [None]
    assert _owner(db, "A", date(2026, 4, 1)) == ["C2"]


def test_an_unowned_account_may_end_on_an_open_unowned_interval(tmp_path):
    accounts = [account("A", owner=None), account("B")]
    history = [span("A", "C1", "2025-01-01", "2026-04-01"), span("A", None, "2026-04-01")]
    tables = _tables(history) | {"accounts": accounts}
    db = build_tiny(tmp_path, tables, AS_OF)
    assert _owner(db, "A", date(2026, 3, 31)) == ["C1"]
    assert _owner(db, "A", date(2026, 4, 1)) == [None]


@pytest.mark.parametrize(
    "history, match",
    [
        (  # the second row starts while the first still runs
            [span("A", "C1", "2025-01-01", "2026-05-01"), span("A", "C2", "2026-04-01")],
            r"account_owner_history\.csv, row 2, line 3, column valid_from: 2026-04-01 falls "
            r"inside row 1 \(account 'A', from 2025-01-01 to 2026-05-01\): one account's owner "
            r"intervals may not overlap",
        ),
        (  # two open rows: the earlier one never ended
            [span("A", "C1", "2025-01-01"), span("A", "C2", "2026-04-01")],
            r"account_owner_history\.csv, row 2, line 3, column valid_from: 2026-04-01 falls "
            r"inside row 1 \(account 'A', from 2025-01-01 on, still open\)",
        ),
        (  # rows out of order in the file: still the later-starting row is named
            [span("A", "C2", "2026-04-01"), span("A", "C1", "2025-01-01", "2026-05-01")],
            r"account_owner_history\.csv, row 1, line 2, column valid_from: 2026-04-01 falls "
            r"inside row 2 ",
        ),
        (
            [span("A", "C1", "2025-01-01", "2026-03-01"), span("A", "C2", "2026-04-01")],
            r"account_owner_history\.csv, row 2, line 3, column valid_from: 2026-04-01 leaves a "
            r"gap after row 1 \(account 'A', ended 2026-03-01\): a day nobody owned must be a "
            r"row with an empty owner_csm_id",
        ),
        (
            [span("A", "C2", "2025-01-01", "2026-04-01"), span("A", "C1", "2026-04-01")],
            r"account_owner_history\.csv, row 2, line 3, column owner_csm_id: 'C1' holds the "
            r"open interval of account 'A' but accounts\.owner_csm_id is 'C2': the open "
            r"interval must name the account's current owner",
        ),
        (
            [span("A", "C1", "2025-01-01", "2026-04-01"), span("A", None, "2026-04-01")],
            r"row 2, line 3, column owner_csm_id: empty holds the open interval of account 'A' "
            r"but accounts\.owner_csm_id is 'C2'",
        ),
        (
            [
                span("A", "C1", "2025-01-01", "2026-04-01"),
                span("A", "C2", "2026-04-01", "2026-06-01"),
            ],
            r"row 2, line 3, column valid_to: 2026-06-01 ends the last interval of account 'A': "
            r"its last interval must be open \(empty valid_to\) and name its current owner "
            r"\('C2'\)",
        ),
        (
            [span("A", "C1", "2025-01-01", "2025-01-01"), span("A", "C2", "2025-01-01")],
            r"row 2, line 3, column account_id \+ valid_from: duplicate key 'A / 2025-01-01' "
            r"\(first at row 1\)",
        ),
        (  # an interval of no day at all
            [span("A", "C1", "2025-01-01"), span("A", "C1", "2025-06-01", "2025-06-01")],
            r"account_owner_history\.csv, row 2, line 3, column valid_to: 2025-06-01 is not "
            r"after the interval's valid_from",
        ),
        (
            [span("A", "C1", "2025-02-01", "2025-01-01"), span("A", "C2", "2025-01-01")],
            r"account_owner_history\.csv, row 1, line 2, column valid_to: 2025-01-01 is not "
            r"after the interval's valid_from",
        ),
        (
            [span("A", "C9", "2025-01-01", "2026-04-01"), span("A", "C2", "2026-04-01")],
            r"account_owner_history\.csv, row 1, line 2, column owner_csm_id: 'C9' is not in csms",
        ),
    ],
)
def test_bad_history_is_named_and_the_previous_database_stays(tmp_path, db, history, match):
    build_id = db.info().build_id
    source = write_source(tmp_path / "bad", _tables(history))
    with pytest.raises(ImportRejected, match=match):
        build(source, db.path, as_of=AS_OF)
    assert Database(db.path).info().build_id == build_id
    assert [p.name for p in (tmp_path / "tiny.duckdb.builds").iterdir()] == [f"{build_id}.duckdb"]
    assert _owner(Database(db.path), "A", date(2026, 3, 31)) == ["C1"]


def test_a_history_before_the_account_or_its_owner_existed_is_accepted(tmp_path):
    """Real CRMs are messy: intervals are not checked against created_date or hire dates."""
    csms = [
        {"csm_id": "C1", "name": "Ana", "team": "East", "role": "CSM", "hire_date": "2024-01-01"},
        {"csm_id": "C2", "name": "Ben", "team": "East", "role": "CSM", "hire_date": "2026-05-01"},
    ]
    history = [span("A", "C1", "2020-01-01", "2026-04-01"), span("A", "C2", "2026-04-01")]
    db = build_tiny(tmp_path, _tables(history) | {"csms": csms}, AS_OF)
    assert _owner(db, "A", date(2020, 1, 1)) == ["C1"]
