"""The app-state store (services/app_state.py): what is saved stays saved (a new store object, a
second process, an app restart), versions are appended and never overwritten, stale saves and
bad names save nothing, two processes writing at once lose nothing, older schemas migrate, and a
damaged file is reported and left byte for byte as it was."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services import app_state as store_module
from services.app_state import (
    CORRUPT_MESSAGE,
    LOCAL_USER,
    SCHEMA_VERSION,
    Conflict,
    InvalidName,
    InvalidPayload,
    NameTaken,
    NotFound,
    SqliteAppState,
    StoreCorrupt,
    StoreUnavailable,
    app_state,
    migrate,
    user_name,
)

ROOT = Path(__file__).resolve().parents[2]
KIND = "capacity_scenario"


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "state" / "app_state.sqlite"


@pytest.fixture
def store(path) -> SqliteAppState:
    return SqliteAppState(path)


# ---- saving, versions, names -----------------------------------------------------------------
def test_missing_folder_is_created_and_the_file_is_a_wal_store(path, store):
    assert not path.parent.exists()
    item = store.create(KIND, "Plan", {"a": 1}, "ann")
    assert path.exists()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert item.version == item.latest_version == 1
    assert item.created_by == item.saved_by == "ann"


def test_ids_are_short_url_safe_and_distinct(store):
    ids = {store.create(KIND, f"Plan {i}", {}, "ann").id for i in range(40)}
    assert len(ids) == 40
    assert all(len(i) == 8 and i.replace("-", "").replace("_", "").isalnum() for i in ids)


def test_every_save_appends_a_version_and_each_stays_readable(store):
    item = store.create(KIND, "Growth 20%", {"growth": 20}, "ann", note="first cut")
    store.save(item.id, {"growth": 25}, "bob", expected_version=1)
    latest = store.save(item.id, {"growth": 30}, "cid", expected_version=2, note="board ask")
    assert (latest.version, latest.latest_version, latest.payload) == (3, 3, {"growth": 30})
    # Each version keeps its own payload, author and note.
    assert store.get(item.id, 1).payload == {"growth": 20}
    assert store.get(item.id, 2).payload == {"growth": 25}
    assert store.get(item.id, 2).saved_by == "bob"
    assert store.get(item.id, 2).latest_version == 3
    history = store.versions(item.id)
    assert [(v.version, v.saved_by, v.note) for v in history] == [
        (3, "cid", "board ask"),
        (2, "bob", ""),
        (1, "ann", "first cut"),
    ]
    assert history[0].saved_at >= history[1].saved_at >= history[2].saved_at


def test_a_stale_save_raises_conflict_naming_who_saved_meanwhile_and_saves_nothing(store):
    item = store.create(KIND, "Plan", {"v": 1}, "ann")
    # Bob and Cid both opened version 1; Bob saves first.
    bob = store.save(item.id, {"v": "bob"}, "bob", expected_version=1)
    with pytest.raises(Conflict) as caught:
        store.save(item.id, {"v": "cid"}, "cid", expected_version=1)
    assert caught.value.latest_version == 2
    assert caught.value.saved_by == "bob"
    assert caught.value.saved_at == bob.saved_at
    message = str(caught.value)
    assert "bob" in message and "version 2" in message and f"{bob.saved_at:%d %b %Y}" in message
    assert store.get(item.id).payload == {"v": "bob"}
    assert [v.version for v in store.versions(item.id)] == [2, 1]


def test_names_are_trimmed_and_unique_per_kind_case_insensitively(store):
    first = store.create(KIND, "  EMEA   growth ", {}, "ann")
    assert first.name == "EMEA growth"
    for clash in ("emea growth", "EMEA GROWTH", " emea  growth"):
        with pytest.raises(NameTaken, match="EMEA growth"):
            store.create(KIND, clash, {}, "bob")
    # Another kind may use the name.
    assert store.create("compensation_plan", "EMEA growth", {}, "bob").name == "EMEA growth"
    assert [i.name for i in store.list(KIND)] == ["EMEA growth"]


@pytest.mark.parametrize("bad", ["", "   ", None, 12, "a" * 81, "two\nlines", "tab\there"])
def test_unusable_names_are_rejected_and_nothing_is_saved(store, bad):
    with pytest.raises(InvalidName):
        store.create(KIND, bad, {"x": 1}, "ann")
    assert store.list(KIND) == []


def test_rename_checks_the_name_and_is_an_audit_row_not_a_version(store):
    a = store.create(KIND, "Plan A", {"v": 1}, "ann")
    store.create(KIND, "Plan B", {"v": 2}, "ann")
    with pytest.raises(NameTaken):
        store.rename(a.id, " plan b ", "bob")
    with pytest.raises(InvalidName):
        store.rename(a.id, " ", "bob")
    renamed = store.rename(a.id, "Plan A (board)", "bob")
    assert (renamed.name, renamed.latest_version, renamed.payload) == (
        "Plan A (board)",
        1,
        {"v": 1},
    )
    # A rename to its own name, other case: allowed (the key is its own).
    assert store.rename(a.id, "plan a (BOARD)", "bob").name == "plan a (BOARD)"
    events = store.events(a.id)
    assert [(e.action, e.by) for e in events] == [
        ("renamed", "bob"),
        ("renamed", "bob"),
        ("created", "ann"),
    ]
    assert events[1].detail == "from “Plan A” to “Plan A (board)”"


def test_copy_starts_a_new_item_from_a_chosen_version(store):
    a = store.create(KIND, "Plan", {"v": 1}, "ann")
    store.save(a.id, {"v": 2}, "ann", expected_version=1)
    copy = store.copy(a.id, "Plan (copy)", "bob", version=1)
    assert copy.id != a.id
    assert (copy.version, copy.payload, copy.created_by) == (1, {"v": 1}, "bob")
    assert copy.note == "Copy of “Plan” version 1"
    with pytest.raises(NameTaken):
        store.copy(a.id, "PLAN", "bob")
    assert store.get(a.id).payload == {"v": 2}  # the source is untouched


def test_delete_hides_the_item_keeps_its_versions_and_can_be_undone(store):
    a = store.create(KIND, "Plan A", {"v": 1}, "ann")
    b = store.create(KIND, "Plan B", {"v": 1}, "ann")
    store.save(a.id, {"v": 2}, "ann", expected_version=1)
    store.delete(a.id, "bob")
    assert [i.name for i in store.list(KIND)] == ["Plan B"]
    with pytest.raises(NotFound, match="“Plan A” was deleted by bob"):
        store.get(a.id)
    with pytest.raises(NotFound):
        store.save(a.id, {"v": 3}, "ann")
    assert [v.version for v in store.versions(a.id)] == [2, 1]
    assert store.events(a.id)[0].action == "deleted"
    # The name is free again; restoring the old item then has to wait for it.
    reused = store.create(KIND, "plan a", {"v": 9}, "cid")
    with pytest.raises(NameTaken):
        store.restore(a.id, "bob")
    store.delete(reused.id, "cid")
    restored = store.restore(a.id, "bob")
    assert (restored.name, restored.payload, restored.latest_version) == ("Plan A", {"v": 2}, 2)
    assert sorted(i.id for i in store.list(KIND)) == sorted([a.id, b.id])


def test_unknown_ids_versions_and_kinds_are_not_found(store):
    a = store.create(KIND, "Plan", {}, "ann")
    for bad in ("nope1234", "'; DROP TABLE items; --", "", "x" * 200, None):
        with pytest.raises(NotFound):
            store.get(bad)
    with pytest.raises(NotFound, match="no version 7"):
        store.get(a.id, 7)
    with pytest.raises(NotFound):
        store.get(a.id, kind="compensation_plan")
    assert store.get(a.id, kind=KIND).id == a.id


def test_payloads_must_be_json_objects_of_bounded_size(store):
    for bad in ([1, 2], "text", {"x": float("nan")}, {"x": object()}, {"x": "y" * 300_000}):
        with pytest.raises(InvalidPayload):
            store.create(KIND, "Plan", bad, "ann")
    assert store.list(KIND) == []


def test_who_saved_is_the_proxy_user_or_local():
    assert user_name({}, {}) == LOCAL_USER
    assert user_name(None) == LOCAL_USER
    # A header anyone can send is not believed unless the deployment names it.
    assert user_name({"X-Forwarded-User": "maria@acme.com"}, {}, "") == LOCAL_USER
    trusted = "X-Forwarded-User"
    assert user_name({"X-Forwarded-User": " maria@acme.com "}, {}, trusted) == "maria@acme.com"
    assert user_name({"Remote-User": "eve"}, {}, trusted) == LOCAL_USER
    assert (
        user_name({"X-Forwarded-User": "proxy"}, {"REMOTE_USER": "wsgi-user"}, trusted)
        == "wsgi-user"
    )
    assert user_name({"X-Forwarded-User": "   "}, {}, trusted) == LOCAL_USER
    assert user_name({"X-Forwarded-User": "a\x00b" + "c" * 300}, {}, trusted) == "ab" + "c" * 98


def test_the_trusted_header_is_a_setting(monkeypatch):
    monkeypatch.delenv("CSOPS_USER_HEADER", raising=False)
    assert user_name({"X-Forwarded-User": "maria"}) == LOCAL_USER
    monkeypatch.setenv("CSOPS_USER_HEADER", "X-Forwarded-User")
    assert user_name({"X-Forwarded-User": "maria"}) == "maria"


# ---- across restarts and processes -----------------------------------------------------------
def test_a_new_store_object_reads_what_the_first_saved(path):
    first = SqliteAppState(path)
    item = first.create(KIND, "Plan", {"v": 1}, "ann")
    first.save(item.id, {"v": 2}, "bob", expected_version=1)
    second = SqliteAppState(path)
    again = second.get(item.id)
    assert (again.name, again.payload, again.latest_version, again.saved_by) == (
        "Plan",
        {"v": 2},
        2,
        "bob",
    )


def test_the_app_store_follows_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "one.sqlite"))
    app_state().create(KIND, "Plan", {}, "ann")
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "two.sqlite"))
    assert app_state().list(KIND) == []
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "one.sqlite"))
    assert [i.name for i in app_state().list(KIND)] == ["Plan"]


def test_a_second_python_process_reads_what_this_one_saved_and_saves_back(path):
    item = SqliteAppState(path).create(KIND, "Plan", {"v": 1}, "ann")
    code = (
        "import sys, json\n"
        "from services.app_state import SqliteAppState\n"
        "s = SqliteAppState(sys.argv[1])\n"
        "item = s.get(sys.argv[2])\n"
        "s.save(item.id, {'v': item.payload['v'] + 1}, 'other', expected_version=1)\n"
        "print(json.dumps([item.name, item.payload]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), item.id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '["Plan", {"v": 1}]'
    latest = SqliteAppState(path).get(item.id)
    assert (latest.payload, latest.saved_by, latest.latest_version) == ({"v": 2}, "other", 2)


def _saver(path: str, tag: str, shared_id: str, own_id: str, saves: int, barrier, times) -> None:
    """One 'gunicorn worker': after the barrier, alternates saves to a shared and its own item
    without expected versions (each must land as a version) and creates uniquely named items.
    Reports when its first save started and its last one ended."""
    store = SqliteAppState(path)
    barrier.wait()
    start = time.time()
    for i in range(saves):
        store.save(shared_id, {"by": tag, "i": i}, tag)
        store.save(own_id, {"by": tag, "i": i}, tag)
        if i % 10 == 0:
            store.create(KIND, f"{tag} {i}", {"by": tag}, tag)
    times.put((tag, start, time.time()))


def test_two_processes_saving_at_the_same_moment_lose_nothing(path):
    store = SqliteAppState(path)
    shared = store.create(KIND, "Shared", {"seed": True}, "setup")
    own = {tag: store.create(KIND, f"Own {tag}", {"seed": True}, "setup") for tag in ("p1", "p2")}
    saves = 50
    ctx = multiprocessing.get_context("spawn")
    barrier, times = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(
            target=_saver, args=(str(path), tag, shared.id, own[tag].id, saves, barrier, times)
        )
        for tag in ("p1", "p2")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    spans = dict((tag, (start, end)) for tag, start, end in (times.get(timeout=5) for _ in workers))
    # They wrote at the same time: each started before the other finished.
    assert spans["p1"][0] < spans["p2"][1] and spans["p2"][0] < spans["p1"][1], spans

    # The shared item: 1 seed + 2 x 50 versions, numbered 1..101 without a gap, every save there.
    versions = sorted(store.versions(shared.id), key=lambda v: v.version)
    assert [v.version for v in versions] == list(range(1, 2 * saves + 2))
    payloads = [store.get(shared.id, v.version).payload for v in versions[1:]]
    for tag in ("p1", "p2"):
        # Each process's saves, every one of them once, in the order it made them.
        assert [p["i"] for p in payloads if p["by"] == tag] == list(range(saves))
    # Each own item: 1 + 50 versions; 5 created items per process; the audit has every save.
    for tag in ("p1", "p2"):
        assert store.get(own[tag].id).latest_version == saves + 1
        assert [v.version for v in store.versions(own[tag].id)] == list(range(saves + 1, 0, -1))
    names = sorted(i.name for i in store.list(KIND))
    created = sorted(f"{tag} {i}" for tag in ("p1", "p2") for i in range(0, saves, 10))
    assert names == sorted(["Shared", "Own p1", "Own p2", *created])
    assert len([e for e in store.events(shared.id) if e.action == "saved"]) == 2 * saves


# ---- schema migrations -----------------------------------------------------------------------
def _v1_store(path: Path) -> None:
    """A store as the first schema version left it, with two live items whose names differ
    only in case and spaces (allowed then), a deleted one, and three versions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn, target=1) == 1
        rows = [
            ("aaaa1111", "Plan", "2026-01-01T10:00:00.000+00:00", 0),
            ("bbbb2222", " plan ", "2026-01-02T10:00:00.000+00:00", 0),
            ("cccc3333", "PLAN", "2026-01-03T10:00:00.000+00:00", 1),
        ]
        for item_id, name, at, deleted in rows:
            conn.execute(
                "INSERT INTO items (id, kind, name, created_by, created_at, deleted) "
                "VALUES (?, ?, ?, 'ann', ?, ?)",
                (item_id, KIND, name, at, deleted),
            )
            conn.execute(
                "INSERT INTO versions VALUES (?, 1, '{\"v\": 1}', 'ann', ?, 'first')",
                (item_id, at),
            )
        conn.execute(
            "INSERT INTO versions VALUES ('aaaa1111', 2, '{\"v\": 2}', 'bob', "
            "'2026-01-05T10:00:00.000+00:00', '')"
        )
    finally:
        conn.close()


def test_an_older_schema_is_migrated_on_open_keeping_every_item_and_version(path):
    _v1_store(path)
    store = SqliteAppState(path)
    live = {i.id: i for i in store.list(KIND)}
    # The older "plan" is renamed so names can be unique; the deleted one keeps its name.
    assert {k: (v.name, v.latest_version) for k, v in live.items()} == {
        "aaaa1111": ("Plan", 2),
        "bbbb2222": ("plan (2)", 1),
    }
    assert store.get("aaaa1111", 1).payload == {"v": 1}
    # The audit starts from the versions saved before it existed.
    assert [(e.action, e.version, e.by) for e in store.events("aaaa1111")] == [
        ("saved", 2, "bob"),
        ("created", 1, "ann"),
    ]
    with pytest.raises(NameTaken):
        store.create(KIND, "PLAN (2)", {}, "ann")
    conn = sqlite3.connect(path)
    try:
        applied = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    finally:
        conn.close()
    assert applied == list(range(1, SCHEMA_VERSION + 1))
    # Opened again (another worker, a restart): nothing left to migrate, nothing changes.
    assert [i.name for i in SqliteAppState(path).list(KIND)] == [i.name for i in live.values()]


def test_a_store_from_a_newer_console_is_refused_and_left_alone(path):
    SqliteAppState(path).create(KIND, "Plan", {}, "ann")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreUnavailable, match="newer version"):
        SqliteAppState(path).list(KIND)
    assert path.read_bytes() == before


# ---- damaged files ---------------------------------------------------------------------------
def _damaged_sqlite(path: Path) -> None:
    """A sound store, then the root page of its versions table overwritten: the header still
    says SQLite, `PRAGMA quick_check` does not pass."""
    store = SqliteAppState(path)
    for i in range(20):
        store.create(KIND, f"Plan {i}", {"filler": "x" * 1500}, "ann")
    conn = sqlite3.connect(path, isolation_level=None)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'versions'").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start : start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))


def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(b"these are my notes, not a database\n" * 50),
        lambda p: p.write_bytes(b"SQLite format 3\x00" + os.urandom(4096)),
        _damaged_sqlite,
        _foreign_sqlite,
    ],
    ids=["text", "header-then-noise", "failing-quick-check", "another-apps-sqlite"],
)
def test_a_damaged_store_is_reported_in_plain_words_and_never_touched(path, make):
    path.parent.mkdir(parents=True, exist_ok=True)
    make(path)
    before = path.read_bytes()
    store = SqliteAppState(path)
    attempts = [
        lambda: store.list(KIND),
        lambda: store.create(KIND, "New plan", {"v": 1}, "ann"),
        lambda: store.get("aaaa1111"),
        lambda: store.save("aaaa1111", {}, "ann"),
        lambda: store.delete("aaaa1111", "ann"),
    ]
    for attempt in attempts:
        with pytest.raises(StoreCorrupt) as caught:
            attempt()
        assert str(caught.value) == CORRUPT_MESSAGE
        assert str(path.parent) not in str(caught.value) and "sqlite" not in str(caught.value)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_a_file_replaced_under_a_running_app_is_checked_again(path):
    store = SqliteAppState(path)
    store.create(KIND, "Plan", {}, "ann")
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    path.unlink()
    path.write_bytes(b"restored from the wrong backup" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt):
        store.create(KIND, "Another", {}, "ann")
    assert path.read_bytes() == before


def test_the_corrupt_message_names_no_path():
    assert "/" not in CORRUPT_MESSAGE and "\\" not in CORRUPT_MESSAGE
    assert store_module.BUSY_MESSAGE.count("/") == 0
