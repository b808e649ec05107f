"""Ownership over time: the loader's checks on account_owner_history (named by file, row and
column; nothing replaced) and who `owner_on` finds on the days around a change."""

from datetime import date

import pandas as pd
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


# ---- the demo's history (5,000 accounts) ------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_db_path) -> Database:
    return Database(demo_db_path)


def _demo_as_of(demo: Database) -> date:
    return demo.scalar("SELECT MAX(as_of_date) FROM meta").date()


@pytest.mark.demo
def test_the_demo_history_tiles_each_account_from_its_start_to_its_current_owner(demo):
    """Every account is in the history; its first span starts on its created_date, each span
    ends where the next begins, and only the last one is open, on the current owner."""
    checks = demo.query(
        """
        WITH spans AS (
            SELECT h.*, LEAD(valid_from) OVER w AS next_from,
                   ROW_NUMBER() OVER w AS n, COUNT(*) OVER (PARTITION BY account_id) AS spans
            FROM account_owner_history h WINDOW w AS (PARTITION BY account_id ORDER BY valid_from)
        )
        SELECT
            (SELECT COUNT(*) FROM accounts) AS accounts,
            COUNT(DISTINCT s.account_id) AS in_history,
            COUNT(*) FILTER (WHERE n = 1 AND s.valid_from <> CAST(a.created_date AS DATE))
                AS not_from_start,
            COUNT(*) FILTER (WHERE n < spans AND s.valid_to IS DISTINCT FROM next_from) AS broken,
            COUNT(*) FILTER (WHERE n = spans AND s.valid_to IS NOT NULL) AS last_closed,
            COUNT(*) FILTER (WHERE n = spans AND s.owner_csm_id IS DISTINCT FROM a.owner_csm_id)
                AS not_current_owner,
            COUNT(*) FILTER (WHERE s.valid_to <= s.valid_from) AS empty
        FROM spans s JOIN accounts a USING (account_id)
        """
    ).iloc[0]
    assert checks["in_history"] == checks["accounts"] == 5000
    for problem in ("not_from_start", "broken", "last_closed", "not_current_owner", "empty"):
        assert checks[problem] == 0, problem
    # owner_spans is the history itself when every account is in it.
    assert demo.scalar("SELECT COUNT(*) FROM owner_spans WHERE source = 'current'") == 0


@pytest.mark.demo
def test_nobody_owns_an_account_before_their_hire_date_or_after_leaving_but_open_books(demo):
    as_of = _demo_as_of(demo)
    spans = demo.query(
        """
        SELECT h.account_id, h.valid_from, h.valid_to, c.hire_date, c.end_date
        FROM account_owner_history h JOIN csms c ON c.csm_id = h.owner_csm_id
        """
    )
    assert (spans["valid_from"] >= spans["hire_date"]).all()
    left = spans[spans["end_date"].notna()]
    closed = left[left["valid_to"].notna()]
    # [valid_from, valid_to): the last day owned is valid_to - 1, at the latest the end_date.
    assert (closed["valid_to"] <= closed["end_date"] + pd.Timedelta(days=1)).all()
    # Still open after leaving: the open books of recent leavers only (left < 130 days ago).
    open_after = left[left["valid_to"].isna()]
    assert len(open_after) > 0
    assert open_after["end_date"].map(lambda d: (as_of - d.date()).days).between(1, 130).all()


@pytest.mark.demo
def test_past_leavers_books_went_to_teammates_the_day_after_they_left(demo):
    """A few CSMs left 130 days to 2 years ago: they own nothing now, and on the day after
    their last day a real book moved from them to CSMs of their team."""
    as_of = _demo_as_of(demo)
    handed = demo.query(
        """
        SELECT c.csm_id, c.end_date, COUNT(h.account_id) AS handed, COUNT(n.account_id) AS kept,
               COUNT(*) FILTER (WHERE t.team = c.team) AS to_teammates,
               (SELECT COUNT(*) FROM accounts a WHERE a.owner_csm_id = c.csm_id) AS owns_now
        FROM csms c
        JOIN account_owner_history h ON h.owner_csm_id = c.csm_id AND h.valid_to = c.end_date + 1
        LEFT JOIN account_owner_history n ON n.account_id = h.account_id
             AND n.valid_from = h.valid_to AND n.owner_csm_id IS NOT NULL
        LEFT JOIN csms t ON t.csm_id = n.owner_csm_id
        WHERE c.end_date < ? - INTERVAL 130 DAY
        GROUP BY ALL
        """,
        [as_of],
    )
    assert 2 <= len(handed) <= 5
    assert (handed["owns_now"] == 0).all()
    assert (handed["handed"] >= 10).all()
    assert (handed["kept"] == handed["handed"]).all()  # each one went to somebody
    assert (handed["to_teammates"] >= 0.9 * handed["handed"]).all()
    days_ago = handed["end_date"].map(lambda d: (as_of - d.date()).days)
    assert days_ago.between(130, 731).all()


@pytest.mark.demo
def test_new_hires_takeovers_and_the_unowned_are_in_the_history(demo):
    """The accounts a recent hire took over name the teammate they came from, from the day of
    the takeover (on or after the hire date); an unowned account had an owner until lately."""
    as_of = _demo_as_of(demo)
    takeovers = demo.query(
        """
        SELECT c.csm_id, h.valid_from, c.hire_date, p.owner_csm_id AS before, b.team AS before_team,
               c.team
        FROM csms c JOIN account_owner_history h ON h.owner_csm_id = c.csm_id
        LEFT JOIN account_owner_history p ON p.account_id = h.account_id AND p.valid_to = h.valid_from
        LEFT JOIN csms b ON b.csm_id = p.owner_csm_id
        WHERE c.hire_date > ? - INTERVAL 60 DAY
        """,
        [as_of],
    )
    assert len(takeovers) >= 4
    taken = takeovers[takeovers["before"].notna()]
    assert len(taken) >= 0.8 * len(takeovers)
    assert (taken["before_team"] == taken["team"]).all()
    assert (taken["valid_from"] >= taken["hire_date"]).all()
    unowned = demo.query(
        """
        SELECT a.account_id, p.owner_csm_id AS before, h.valid_from
        FROM accounts a JOIN account_owner_history h ON h.account_id = a.account_id
             AND h.valid_to IS NULL
        LEFT JOIN account_owner_history p ON p.account_id = a.account_id
             AND p.valid_to = h.valid_from
        WHERE a.owner_csm_id IS NULL
        """
    )
    assert len(unowned) >= 15
    assert unowned["before"].notna().all()
    assert unowned["valid_from"].map(lambda d: (as_of - d.date()).days).between(0, 180).all()


@pytest.mark.demo
def test_ownership_changes_are_common_and_some_are_recent(demo):
    """About a third of accounts had more than one owner: ~30% began before their current
    owner was hired (the demo's hire dates), plus leavers' books and rebalancing; changes
    happen in every recent quarter, so attribution inside a bonus period matters."""
    as_of = _demo_as_of(demo)
    share = demo.scalar(
        "SELECT AVG(CASE WHEN n > 1 THEN 1.0 ELSE 0 END) FROM "
        "(SELECT account_id, COUNT(*) AS n FROM account_owner_history GROUP BY 1)"
    )
    assert 0.10 <= share <= 0.45
    changes = demo.query(
        """
        SELECT date_trunc('quarter', h.valid_from) AS quarter, COUNT(*) AS changes
        FROM account_owner_history h JOIN accounts a USING (account_id)
        WHERE h.valid_from > CAST(a.created_date AS DATE) AND h.valid_from > ? - INTERVAL 1 YEAR
        GROUP BY 1
        """,
        [as_of],
    )
    assert len(changes) >= 4
    assert (changes["changes"] >= 10).all()


@pytest.mark.demo
def test_touchpoints_are_logged_by_the_owner_of_the_day(demo):
    wrong = demo.scalar(
        f"""
        SELECT COUNT(*) FROM touchpoints t
        LEFT JOIN owner_spans os ON {owner_on("CAST(t.occurred_at AS DATE)", "t.account_id")}
        WHERE t.csm_id IS DISTINCT FROM os.owner_csm_id
        """
    )
    assert wrong == 0
