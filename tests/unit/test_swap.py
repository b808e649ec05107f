"""Database swaps: versioned builds behind a pointer, readers on every thread follow it."""

from __future__ import annotations

import os
import threading
from datetime import date

import duckdb
import pytest

from data.loader import SCHEMA_VERSION, build_database, point_to, prune_builds
from services.build import build
from services.db import Database
from services.errors import DataUnavailable, ImportRejected
from tests.unit.tiny import account, contract, write_source

AS_OF = date(2026, 6, 30)
WAIT = 60  # seconds: an upper bound for a thread to report, never a pause


def _source(tmp_path, name: str, accounts: int):
    """A source folder with `accounts` accounts, so each build is recognisable by its count."""
    ids = [f"A{i}" for i in range(accounts)]
    return write_source(
        tmp_path / name,
        {
            "accounts": [account(i) for i in ids],
            "contracts": [contract(i, "2026-01-01", "2027-01-01") for i in ids],
        },
    )


def _build(tmp_path, target, accounts: int) -> str:
    build(_source(tmp_path, f"src{accounts}", accounts), target, as_of=AS_OF)
    return Database(target).info().build_id


def _builds(target) -> list[str]:
    return sorted(p.name for p in target.with_name(target.name + ".builds").iterdir())


@pytest.fixture
def target(tmp_path):
    return tmp_path / "csops.duckdb"


def test_a_query_in_flight_finishes_on_the_old_build_and_the_next_sees_the_new(tmp_path, target):
    first = _build(tmp_path, target, 1)
    db = Database(target)
    assert db.scalar("SELECT COUNT(*) FROM accounts") == 1
    holding, swapped, result = threading.Event(), threading.Event(), {}

    def in_flight():
        with db._cursor() as cursor:  # what query() uses: the cursor outlives the swap
            holding.set()
            swapped.wait(WAIT)
            result["row"] = cursor.execute(
                "SELECT build_id, (SELECT COUNT(*) FROM accounts) FROM meta"
            ).fetchone()

    thread = threading.Thread(target=in_flight)
    thread.start()
    assert holding.wait(WAIT)
    old = db._current
    second = _build(tmp_path, target, 2)
    assert db.info().build_id == second != first
    assert second in repr(db)  # the cache key moves with the data
    assert db.scalar("SELECT COUNT(*) FROM accounts") == 2
    assert len(db._open_builds()) == 2  # the old build stays open for the query in flight
    swapped.set()
    thread.join(WAIT)
    assert result["row"] == (first, 1)
    assert db._open_builds() == [os.path.realpath(target)]
    with pytest.raises(duckdb.ConnectionException):
        old.con.execute("SELECT 1")  # released when its last cursor finished


def test_threads_querying_through_three_rebuilds_end_on_the_last_without_errors(tmp_path, target):
    sources = {n: _source(tmp_path, f"src{n}", n) for n in (1, 2, 3, 4)}
    build(sources[1], target, as_of=AS_OF)
    db = Database(target)
    counts = {db.info().build_id: 1}
    seen_builds = [db._current]
    stop, errors, last = threading.Event(), [], {}
    final_seen = threading.Barrier(9)  # 8 readers + this test, once all saw the last build

    def reader(n: int) -> None:
        reported = False
        while not stop.is_set():
            try:
                build_id, accounts = db.query(
                    "SELECT build_id, (SELECT COUNT(*) FROM accounts) AS n FROM meta"
                ).iloc[0]
            except Exception as exc:  # noqa: BLE001 - any error is the failure we look for
                errors.append(repr(exc))
                final_seen.abort()
                return
            last[n] = (build_id, int(accounts))
            if not reported and build_id == final.get("id"):
                reported = True
                final_seen.wait(WAIT)

    final: dict[str, str] = {}
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for n in (2, 3, 4):
        build(sources[n], target, as_of=AS_OF)
        counts[db.info().build_id] = n
        seen_builds.append(db._current)
    final["id"] = db.info().build_id
    try:
        final_seen.wait(WAIT)
    except threading.BrokenBarrierError:  # a reader failed: its error is asserted below
        pass
    stop.set()
    for t in threads:
        t.join(WAIT)
    assert errors == []
    assert len(counts) == 4
    # Every reader ends on the last build, and each answer came from one build only.
    assert set(last.values()) == {(final["id"], 4)}
    assert db._open_builds() == [os.path.realpath(target)]
    for old in seen_builds[:-1]:
        with pytest.raises(duckdb.ConnectionException):
            old.con.execute("SELECT 1")


def test_old_builds_are_pruned_to_the_setting_and_the_current_is_never_deleted(
    tmp_path, target, monkeypatch
):
    monkeypatch.setenv("CSOPS_KEEP_BUILDS", "2")
    ids = [_build(tmp_path, target, n) for n in (1, 2, 3, 4)]
    assert _builds(target) == sorted(f"{i}.duckdb" for i in ids[-2:])
    # Roll back to the older of the two kept builds, then keep only one: the pointed-to stays.
    oldest_kept = target.with_name(target.name + ".builds") / f"{ids[-2]}.duckdb"
    point_to(target, oldest_kept)
    assert Database(target).info().build_id == ids[-2]
    prune_builds(target, keep=1)
    assert _builds(target) == sorted(f"{i}.duckdb" for i in ids[-2:])
    prune_builds(target, keep=0)  # at least one build is always kept
    assert Database(target).info().build_id == ids[-2]


def test_a_failed_build_leaves_the_current_build_serving_and_no_partial_file(tmp_path, target):
    first = _build(tmp_path, target, 1)
    db = Database(target)
    pointer = os.readlink(target)
    bad = _source(tmp_path, "bad", 2)
    (bad / "contracts.csv").write_text(
        "contract_id,account_id,start_date,end_date,arr,seats\nK,A0,31/01/2026,2027-01-01,10,1\n"
    )
    with pytest.raises(ImportRejected, match="start_date"):
        build(bad, target, as_of=AS_OF)
    with pytest.raises(ImportRejected, match="does not exist"):
        build(tmp_path / "no-such-folder", target, as_of=AS_OF)

    def derive_fails(con, as_of):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):  # a failure after the tables are loaded
        build_database(_source(tmp_path, "good", 2), target, as_of=AS_OF, derive=derive_fails)
    assert os.readlink(target) == pointer
    assert _builds(target) == [f"{first}.duckdb"]
    assert db.info().build_id == first
    assert db.scalar("SELECT COUNT(*) FROM accounts") == 1


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE meta DROP COLUMN schema_version",
        f"UPDATE meta SET schema_version = {SCHEMA_VERSION - 1}",
    ],
)
def test_a_database_from_an_older_version_asks_for_a_rebuild(tmp_path, target, change):
    _build(tmp_path, target, 1)
    con = duckdb.connect(os.path.realpath(target))
    con.execute(change)
    con.close()
    with pytest.raises(DataUnavailable) as caught:
        Database(target).info()
    message = str(caught.value)
    assert message.startswith(
        "This database was built by an older version of CS Ops Console. "
        "Ask an administrator to rebuild it"
    )
    assert str(tmp_path) not in message and "make" not in message


def test_a_plain_file_from_an_older_version_is_replaced_by_the_pointer(tmp_path, target):
    legacy = tmp_path / "elsewhere.duckdb"
    _build(tmp_path, legacy, 1)
    target.write_bytes(legacy.read_bytes())  # a plain file, as older versions left it
    db = Database(target)
    first = db.info().build_id
    target.with_name(target.name + ".wal").write_bytes(b"stale")
    second = _build(tmp_path, target, 2)
    assert target.is_symlink()
    assert not target.with_name(target.name + ".wal").exists()
    assert _builds(target) == [f"{second}.duckdb"]
    assert db.info().build_id == second != first
    assert db.scalar("SELECT COUNT(*) FROM accounts") == 2
