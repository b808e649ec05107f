"""The forecast history and the renewals' bad input: what the loader rejects (with file, row and
column) and the data problems it allows, counted over the open renewals of a day."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from services.build import build
from services.db import Database
from services.errors import ImportRejected
from services.filters import Filters
from services.open_renewals import open_renewals_sql
from services.renewal_data_problems import (
    PROBLEMS,
    problem_where,
    problems_sentence,
    renewal_data_problems,
)
from services.sql_fragments import calls_on_sql
from tests.unit.tiny import account, build_tiny, contract, renewal, write_source

AS_OF = date(2026, 11, 20)  # a Friday: the weekly grid ends here
K_A = contract("A", "2026-01-15", "2027-01-15", 100, contract_id="K-A")
K_B = contract("B", "2026-03-01", "2027-03-01", 60, contract_id="K-B")


def _renewal(renewal_id, account_id, on, arr_up, contract_id=None, outcome="open", **fields):
    row = renewal(
        renewal_id, account_id, on, arr_up, outcome, arr_up if outcome != "open" else None
    )
    return row | {"contract_id": contract_id} | fields


def _call(renewal_id, day, category="commit", arr_up=100, reason=None):
    return {
        "renewal_id": renewal_id,
        "snapshot_date": day,
        "forecast_category": category,
        "arr_up": arr_up,
        "risk_reason": reason,
    }


GOOD = {
    "accounts": [account("A"), account("B", owner="C2")],
    "contracts": [K_A, K_B],
    "renewals": [_renewal("R1", "A", date(2027, 1, 15), 100, "K-A")],
    "renewal_forecast_history": [_call("R1", "2026-11-13"), _call("R1", "2026-11-20")],
}


def _rejected(tmp_path, tables, match, as_of=AS_OF):
    source = write_source(tmp_path / "bad", {**GOOD, **tables})
    with pytest.raises(ImportRejected, match=match):
        build(source, tmp_path / "tiny.duckdb", as_of=as_of)


# ---- rejected by the loader, naming file, row and column ---------------------------------------


def test_the_good_source_loads(tmp_path):
    db = build_tiny(tmp_path, GOOD, AS_OF)
    assert db.scalar("SELECT COUNT(*) FROM renewal_forecast_history") == 2


def test_a_renewal_dated_before_its_contracts_start(tmp_path):
    early = _renewal("R2", "B", date(2026, 2, 27), 60, "K-B")  # K-B starts 2026-03-01
    _rejected(
        tmp_path,
        {"renewals": [GOOD["renewals"][0], early]},
        r"renewals\.csv, row 2, line 3, column renewal_date: 2026-02-27 is before the start of "
        r"its contract 'K-B' \(2026-03-01\)",
    )


def test_a_renewal_on_its_contracts_start_day_is_accepted(tmp_path):
    same_day = _renewal("R2", "B", date(2026, 3, 1), 60, "K-B")
    db = build_tiny(tmp_path, {**GOOD, "renewals": [GOOD["renewals"][0], same_day]}, AS_OF)
    assert db.scalar("SELECT COUNT(*) FROM renewals") == 2


def test_a_renewal_of_another_accounts_contract(tmp_path):
    _rejected(
        tmp_path,
        {"renewals": [_renewal("R1", "B", date(2027, 1, 15), 100, "K-A")]},
        r"renewals\.csv, row 1, line 2, column contract_id: 'K-A' is a contract of account 'A', "
        r"not of the renewal's account 'B'",
    )


def test_a_renewal_of_an_unknown_contract(tmp_path):
    _rejected(
        tmp_path,
        {"renewals": [_renewal("R1", "A", date(2027, 1, 15), 100, "K-nope")]},
        r"renewals\.csv, row 1, line 2, column contract_id: 'K-nope' is not in contracts",
    )


@pytest.mark.parametrize(
    "tables, match",
    [
        (
            {"renewals": [_renewal("R1", "A", date(2027, 1, 15), -100, "K-A")]},
            r"renewals\.csv, row 1, line 2, column arr_up_for_renewal: -100\.0 is negative",
        ),
        (
            {"contracts": [K_A | {"arr": -5}, K_B]},
            r"contracts\.csv, row 1, line 2, column arr: -5\.0 is negative",
        ),
        (
            {
                "renewal_forecast_history": [
                    _call("R1", "2026-11-13"),
                    _call("R1", "2026-11-20", arr_up=-1),
                ]
            },
            r"renewal_forecast_history\.csv, row 2, line 3, column arr_up: -1\.0 is negative",
        ),
    ],
)
def test_negative_arr(tmp_path, tables, match):
    _rejected(tmp_path, tables, match)


@pytest.mark.parametrize(
    "tables, match",
    [
        (
            {
                "renewals": [
                    _renewal("R1", "A", date(2027, 1, 15), 100, "K-A", forecast_category="upside")
                ]
            },
            r"renewals\.csv, row 1, line 2, column forecast_category: 'upside' is not one of "
            r"commit, probable, at_risk, churn",
        ),
        (
            {
                "renewal_forecast_history": [
                    _call("R1", "2026-11-13"),
                    _call("R1", "2026-11-20", category="Commit"),
                ]
            },
            r"renewal_forecast_history\.csv, row 2, line 3, column forecast_category: 'Commit' is "
            r"not one of commit, probable, at_risk, churn",
        ),
    ],
)
def test_an_unknown_forecast_category(tmp_path, tables, match):
    _rejected(tmp_path, tables, match)


def test_a_call_for_an_unknown_renewal(tmp_path):
    _rejected(
        tmp_path,
        {
            "renewal_forecast_history": [
                _call("R1", "2026-11-13"),
                _call("R9", "2026-11-13"),
                _call("R9", "2026-11-20"),
            ]
        },
        r"renewal_forecast_history\.csv, row 2, line 3, column renewal_id: 'R9' is not in "
        r"renewals \(2 row\(s\) of renewal_forecast_history refer to it\)",
    )


def test_calls_dated_after_the_as_of_date_are_kept_and_not_seen_before_them(tmp_path):
    """A database built as of an earlier day from a later export (a quarter-end rebuild) loads:
    like every dated feed, later calls are in the file and a view of an earlier day ignores
    them."""
    source = write_source(
        tmp_path / "later",
        {
            **GOOD,
            "renewal_forecast_history": [
                _call("R1", "2026-11-13", "probable"),
                _call("R1", "2026-11-27", "churn"),
            ],
        },
    )
    build(source, tmp_path / "tiny.duckdb", as_of=AS_OF)
    db = Database(tmp_path / "tiny.duckdb")
    calls = db.query(calls_on_sql("?") + " ORDER BY 1", [date(2026, 11, 13)])
    assert calls.set_index("renewal_id").loc["R1", "forecast_category"] == "probable"


def test_the_same_call_twice(tmp_path):
    _rejected(
        tmp_path,
        {"renewal_forecast_history": [_call("R1", "2026-11-13"), _call("R1", "2026-11-13")]},
        r"renewal_forecast_history\.csv, row 2, line 3, column renewal_id \+ snapshot_date: "
        r"duplicate key 'R1 / 2026-11-13'",
    )


def test_parquet_rows_are_named_too(tmp_path):
    source = write_source(tmp_path / "pq", GOOD)
    (source / "renewal_forecast_history.csv").unlink()
    calls = pd.DataFrame([_call("R1", "2026-11-13"), _call("R1", "2026-11-20", "maybe")])
    calls["snapshot_date"] = pd.to_datetime(calls["snapshot_date"]).dt.date
    calls.to_parquet(source / "renewal_forecast_history.parquet")
    with pytest.raises(
        ImportRejected,
        match=r"renewal_forecast_history\.parquet, row 2, column forecast_category: 'maybe' is not",
    ):
        build(source, tmp_path / "x.duckdb", as_of=AS_OF)


def test_without_a_history_file_calls_are_known_only_on_the_as_of_date(tmp_path):
    source = write_source(tmp_path / "src", GOOD)
    (source / "renewal_forecast_history.csv").unlink()
    build(source, tmp_path / "x.duckdb", as_of=AS_OF)
    from services.db import Database

    db = Database(tmp_path / "x.duckdb")
    assert db.scalar("SELECT COUNT(*) FROM renewal_forecast_history") == 0
    call = f"SELECT forecast_category FROM ({calls_on_sql('?')}) WHERE renewal_id = 'R1'"
    assert db.scalar(call, [AS_OF]) == "commit"
    assert db.scalar(call, [date(2026, 11, 13)]) is None
    # Account 360: today's call is the whole history, and the page says why.
    from components.account_360 import call_history_cols
    from services.account_360 import account_360

    today = account_360(db, Filters(), "A", AS_OF)
    assert not today.facts["history_loaded"] and today.facts["calls_known"]
    assert [(r.snapshot_date.date(), r.forecast_category) for r in today.calls.itertuples()] == [
        (AS_OF, "commit")
    ]
    assert "No forecast history has been loaded" in str(call_history_cols(today))
    earlier = account_360(db, Filters(), "A", date(2026, 11, 13))
    assert earlier.calls.empty and not earlier.facts["calls_known"]
    assert "No forecast history has been loaded" in str(call_history_cols(earlier))


# ---- allowed by the contract: counted as data problems, kept in the figures -------------------


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A (contract K-A): R1 linked (100, fine), R2 not linked (40). B (contracts K-B, owner C2):
    R4 (60) and R5 (70) both renew K-B, R5 the later one. C: no contract at all, R3 (25).
    R6 (B, not linked) closed: never counted. Calls from 2026-10-02 on."""
    tmp = tmp_path_factory.mktemp("problems")
    return build_tiny(
        tmp,
        {
            "accounts": [account("A"), account("B", owner="C2"), account("C")],
            "contracts": [K_A, K_B],
            "renewals": [
                _renewal("R1", "A", date(2027, 1, 15), 100, "K-A"),
                _renewal("R2", "A", date(2026, 12, 1), 40),
                _renewal("R3", "C", date(2027, 2, 1), 25),
                _renewal("R4", "B", date(2027, 3, 1), 60, "K-B"),
                _renewal("R5", "B", date(2027, 3, 2), 70, "K-B"),
                _renewal("R6", "B", date(2026, 6, 1), 30, outcome="renewed"),
            ],
            "renewal_forecast_history": [
                _call("R1", "2026-10-02"),
                _call("R4", "2026-10-02", "probable", 60),
            ],
        },
        AS_OF,
    )


def _counts(db, day, filters=None):
    return {
        p["problem"]: (p["renewals"], p["arr_up"])
        for p in renewal_data_problems(db, filters or Filters(), day)
    }


def test_problems_on_the_as_of_date(db):
    assert _counts(db, AS_OF) == {
        "no_contract": (1, 40),  # R2 (A has a contract; the link is missing)
        "account_no_contract": (1, 25),  # R3
        "same_contract": (1, 70),  # R5: R4 renews K-B too and comes first
        "calls_unknown": (0, 0),  # the calls as they stand today are known
    }


def test_problems_follow_the_filters(db):
    assert _counts(db, AS_OF, Filters(owner=("C2",))) == {
        "no_contract": (0, 0),
        "account_no_contract": (0, 0),
        "same_contract": (1, 70),
        "calls_unknown": (0, 0),
    }


def test_before_the_history_starts_no_call_is_known(db):
    # 2026-09-25: K-A (Jan) and K-B (Mar) had started, so R1..R5 were known and open; R6,
    # dated 1 June, had closed. The history starts 2026-10-02: no call known on 25 Sep.
    assert _counts(db, date(2026, 9, 25))["calls_unknown"] == (5, 295)
    assert _counts(db, date(2026, 10, 2))["calls_unknown"] == (0, 0)


def test_problem_renewals_stay_in_the_open_renewals(db):
    """The treatment the page states: flagged, not excluded. The open renewals' ARR up is the
    sum over all of them, problems included."""
    sql, bind = open_renewals_sql(Filters(), AS_OF)
    open_arr = db.scalar(sql + " SELECT SUM(arr_up) FROM open_renewals", bind)
    assert open_arr == 100 + 40 + 25 + 60 + 70


def test_each_condition_lists_exactly_the_counted_renewals(db):
    sql, bind = open_renewals_sql(Filters(), AS_OF)
    listed = {}
    for key in PROBLEMS:
        condition, params = problem_where(key, AS_OF)
        df = db.query(
            sql + f" SELECT renewal_id FROM open_renewals WHERE {condition} ORDER BY 1",
            bind + params,
        )
        listed[key] = list(df["renewal_id"])
    assert listed == {
        "no_contract": ["R2"],
        "account_no_contract": ["R3"],
        "same_contract": ["R5"],
        "calls_unknown": [],
    }


def test_the_sentence_says_what_and_how_it_is_treated(db):
    text = problems_sentence(renewal_data_problems(db, Filters(), AS_OF))
    assert text.startswith(
        "Data problems among these open renewals: 1 ($40 up) not linked to a contract, "
        "1 ($25 up) of accounts with no contract at all and 1 ($70 up) renewing the same "
        "contract as another open renewal. They stay in every figure on this page"
    )
    assert "No forecast history" not in text
    early = problems_sentence(renewal_data_problems(db, Filters(owner=("C2",)), date(2026, 9, 25)))
    assert "no CSM call is known then: all 2 open renewals count as not called" in early
    clean = renewal_data_problems(db, Filters(owner=("C2",)), date(2026, 10, 2))
    clean = [p | {"renewals": 0, "arr_up": 0.0} for p in clean]
    assert problems_sentence(clean) == "No data problems among these open renewals."


# ---- Account 360: each renewal's call history, and the call known on a past date ---------------


@pytest.fixture(scope="module")
def calls_db(tmp_path_factory):
    """Account A renewed R0 (K-A0) early on 10 Jan 2026 (a stray row after that is ignored) and
    has R1 (K-A, 15 Jan 2027) open, called at risk for 'Budget' today. The history's row on the
    as-of date says churn: on that date the renewal's own fields stand."""
    tmp = tmp_path_factory.mktemp("calls")
    r0 = _renewal(
        "R0", "A", date(2026, 1, 15), 80, "K-A0", outcome="renewed", closed_date="2026-01-10"
    )
    r1 = _renewal(
        "R1", "A", date(2027, 1, 15), 100, "K-A", forecast_category="at_risk", risk_reason="Budget"
    )
    return build_tiny(
        tmp,
        {
            "accounts": [account("A")],
            "contracts": [contract("A", "2025-01-15", "2026-01-15", 80, contract_id="K-A0"), K_A],
            "renewals": [r0, r1],
            "renewal_forecast_history": [
                _call("R0", "2025-12-26", "commit", 80),
                _call("R0", "2026-01-02", "churn", 80, "Budget"),
                _call("R0", "2026-01-16", "commit", 80),  # after R0 closed: not a call on it
                _call("R1", "2026-10-02", "commit", 90),
                _call("R1", "2026-10-09", "commit", 90),
                _call("R1", "2026-10-16", "probable", 100),
                _call("R1", "2026-10-23", "probable", 100),
                _call("R1", "2026-11-13", "at_risk", 100, "Budget"),
                _call("R1", "2026-11-20", "churn", 100, "Budget"),
            ],
        },
        AS_OF,
    )


def _a360(db, day):
    from services.account_360 import account_360

    return account_360(db, Filters(), "A", day)


def _weeks(calls):
    return [
        (r.renewal_id, r.snapshot_date.date().isoformat(), r.forecast_category, r.arr_up)
        for r in calls.itertuples()
    ]


def test_account_360_renewals_show_the_call_known_on_the_day(calls_db):
    today = _a360(calls_db, AS_OF).renewals.set_index("renewal_id")
    assert (today.at["R1", "forecast_category"], today.at["R1", "risk_reason"]) == (
        "at_risk",
        "Budget",
    )
    then = _a360(calls_db, date(2026, 10, 20)).renewals.set_index("renewal_id")
    assert then.at["R1", "forecast_category"] == "probable"  # the row of 16 Oct
    assert pd.isna(then.at["R1", "risk_reason"])
    assert pd.isna(then.at["R1", "has_close_plan"])  # the close plan: only on the build's date
    # Before the first call on R1 (2 Oct) none is known, and today's is not shown.
    before = _a360(calls_db, date(2026, 9, 25)).renewals.set_index("renewal_id")
    assert pd.isna(before.at["R1", "forecast_category"])


def test_account_360_call_history_up_to_the_day(calls_db):
    then = _a360(calls_db, date(2026, 10, 20))
    assert _weeks(then.calls) == [
        ("R0", "2025-12-26", "commit", 80),
        ("R0", "2026-01-02", "churn", 80),
        ("R1", "2026-10-02", "commit", 90),
        ("R1", "2026-10-09", "commit", 90),
        ("R1", "2026-10-16", "probable", 100),
    ]
    today = _a360(calls_db, AS_OF)
    assert _weeks(today.calls)[-2:] == [
        ("R1", "2026-11-13", "at_risk", 100),
        ("R1", "2026-11-20", "at_risk", 100),  # the renewal's own call, not the row's churn
    ]
    # R1 was not known before its contract started (15 Jan 2026).
    assert set(_a360(calls_db, date(2026, 1, 9)).calls["renewal_id"]) == {"R0"}


def test_calls_are_known_only_where_the_history_reaches(calls_db):
    assert not _a360(calls_db, date(2025, 12, 19)).facts["calls_known"]
    assert _a360(calls_db, date(2025, 12, 26)).facts["calls_known"]
    assert _a360(calls_db, AS_OF).facts["calls_known"]


def test_call_changes_collapse_unchanged_weeks_and_say_what_changed(calls_db):
    from components.account_360 import call_history_rows
    from services.account_360 import call_changes

    spans = call_changes(_a360(calls_db, AS_OF).calls)
    r1 = spans[spans.renewal_id == "R1"]
    assert [
        (s.since.date().isoformat(), s.until.date().isoformat(), s.weeks, s.forecast_category)
        for s in r1.itertuples()
    ] == [
        ("2026-10-02", "2026-10-09", 2, "commit"),
        ("2026-10-16", "2026-10-23", 2, "probable"),
        ("2026-11-13", "2026-11-20", 2, "at_risk"),
    ]
    assert list(r1.call_changed) == [False, True, True]
    assert list(r1.arr_changed) == [False, True, False]
    assert list(r1.reason_changed) == [False, False, True]
    rows = call_history_rows(_a360(calls_db, AS_OF).calls)
    assert list(rows.change) == [  # newest first
        "Call Probable → At risk; Risk reason: Budget",
        "Call Commit → Probable; ARR up $90 → $100",
        "",
        "Call Commit → Churn; Risk reason: Budget",
        "",
    ]


def test_account_360_carries_its_calls_spans(calls_db):
    acc = _a360(calls_db, AS_OF)
    from services.account_360 import call_changes

    assert not acc.call_spans.empty
    pd.testing.assert_frame_equal(acc.call_spans, call_changes(acc.calls))


def test_call_changes_of_no_calls_is_empty():
    from services.account_360 import call_changes

    empty = pd.DataFrame(
        columns=[
            "renewal_id",
            "renewal_date",
            "snapshot_date",
            "forecast_category",
            "arr_up",
            "risk_reason",
        ]
    )
    assert call_changes(empty).empty


@pytest.mark.parametrize(
    "day", ["2025-12-19", "2025-12-26", "2026-01-09", "2026-01-16", "2026-10-20", "2026-11-20"]
)
def test_account_360_reads_the_same_calls_as_the_shared_fragment(calls_db, day):
    """Account 360 narrows the tables to one account before `calls_on_sql`: the same calls as
    the fragment over every renewal, renewal by renewal."""
    on = date.fromisoformat(day)
    shared = calls_db.query(
        f"SELECT renewal_id, forecast_category, risk_reason FROM ({calls_on_sql('?')})", [on]
    ).set_index("renewal_id")
    shown = _a360(calls_db, on).renewals.set_index("renewal_id")
    assert len(shown) > 0
    for rid, row in shown.iterrows():
        for col in ("forecast_category", "risk_reason"):
            a, b = row[col], shared.at[rid, col]
            assert (pd.isna(a) and pd.isna(b)) or a == b, (rid, col, a, b)
