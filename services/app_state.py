"""The app-state store (ARCHITECTURE §5): what users save (capacity scenarios now, compensation
plans and an audit log later), kept apart from the read-only analytics database.

A small repository over SQLite. Generic over a `kind`: an item (a short URL-safe id, its kind,
a name unique among the kind's live items, who created it and when, a deleted flag) has
versions (a JSON payload, who saved it, when, a note). Every save appends a version and nothing
is overwritten: a save made on a stale version raises `Conflict` naming who saved meanwhile.
Renames, deletes (soft) and restores are audit rows (`item_events`), so history is complete.

Several gunicorn workers write the same file: WAL mode (readers never block the writer), a
busy timeout, every write in `BEGIN IMMEDIATE` (the write lock is taken up front, so two
writers queue instead of failing half-way) and retries while SQLite reports it busy. The schema
is versioned (`schema_migrations`) and migrated in one transaction when a store is opened.

A file that is not a SQLite database, or fails `PRAGMA quick_check`, raises `StoreCorrupt`: it
is only ever opened read-only for that check, so its bytes stay as they were for whoever
restores it. `AppStateStore` is the interface a server database can implement later.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from services.errors import ServiceError
from services.settings import app_state_path, user_header

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCAL_USER = "local"  # who saved, when no user name reached the app
MAX_NAME = 80
MAX_AUTHOR = 100
MAX_NOTE = 500
MAX_PAYLOAD_BYTES = 256 * 1024
BUSY_TIMEOUT_MS = 5_000  # SQLite's own wait for the write lock, per statement
WRITE_DEADLINE_S = 20.0  # then our retries (SQLITE_BUSY can still escape the busy handler)
SQLITE_HEADER = b"SQLite format 3\x00"
ITEM_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary codes; extended ones add high bits)


# ---- errors: each message is plain and safe to show; never a path --------------------------
class AppStateError(ServiceError):
    """Something about the saved-items store a user should read."""


class StoreCorrupt(AppStateError):
    """The store file cannot be read as a store; it is left exactly as it is."""


class StoreUnavailable(AppStateError):
    """The store could not be opened or stayed busy; nothing was saved."""


class NotFound(AppStateError):
    """No live item (or no such version) answers to the id."""


class InvalidName(AppStateError):
    """An empty, too long or otherwise unusable name."""


class NameTaken(AppStateError):
    """Another live item of the same kind has this name (trimmed, case-insensitive)."""


class InvalidPayload(AppStateError):
    """A payload that is not a JSON object or is too large."""


class Conflict(AppStateError):
    """Someone saved the item after the version this save started from; nothing was saved."""

    def __init__(self, message: str, latest_version: int, saved_by: str, saved_at: datetime):
        super().__init__(message)
        self.latest_version = latest_version
        self.saved_by = saved_by
        self.saved_at = saved_at


# ---- records -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """One saved item at one of its versions (the latest unless asked otherwise)."""

    id: str
    kind: str
    name: str
    created_by: str
    created_at: datetime
    deleted: bool
    version: int
    latest_version: int
    saved_by: str
    saved_at: datetime
    note: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Version:
    """A version's who, when and note (the payload is read with `get(id, version)`)."""

    item_id: str
    version: int
    saved_by: str
    saved_at: datetime
    note: str


@dataclass(frozen=True)
class Event:
    """An audit row: created, saved, renamed, copied, deleted or restored, by whom and when."""

    item_id: str
    action: str
    version: int | None
    detail: str
    by: str
    at: datetime


class AppStateStore(Protocol):
    """What the app needs from a store of saved items; a server database can implement it."""

    def create(
        self, kind: str, name: str, payload: Mapping[str, Any], author: str, note: str = ""
    ) -> Item: ...

    def save(
        self,
        item_id: str,
        payload: Mapping[str, Any],
        author: str,
        expected_version: int | None = None,
        note: str = "",
    ) -> Item: ...

    def rename(self, item_id: str, name: str, author: str) -> Item: ...

    def copy(self, item_id: str, name: str, author: str, version: int | None = None) -> Item: ...

    def delete(self, item_id: str, author: str) -> None: ...

    def restore(self, item_id: str, author: str) -> Item: ...

    def get(self, item_id: str, version: int | None = None, kind: str | None = None) -> Item: ...

    def list(self, kind: str) -> list[Item]: ...

    def versions(self, item_id: str) -> list[Version]: ...

    def events(self, item_id: str) -> list[Event]: ...


# ---- schema --------------------------------------------------------------------------------
def _v1_items_and_versions(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE items (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
        )"""
    )
    conn.execute(
        """CREATE TABLE versions (
            item_id TEXT NOT NULL REFERENCES items(id),
            version INTEGER NOT NULL CHECK (version >= 1),
            payload TEXT NOT NULL,
            saved_by TEXT NOT NULL,
            saved_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (item_id, version)
        )"""
    )
    conn.execute("CREATE INDEX items_kind ON items(kind, deleted)")


def _v2_unique_names_and_audit(conn: sqlite3.Connection) -> None:
    """Names unique per kind among live items (case and spaces aside), and an audit trail.

    Live items sharing a name before this version keep the oldest's name; each later one gets
    " (2)", " (3)"... so the unique index can be built without losing an item.
    """
    conn.execute("ALTER TABLE items ADD COLUMN name_key TEXT NOT NULL DEFAULT ''")
    taken: set[tuple[str, str]] = set()
    rows = conn.execute(
        "SELECT id, kind, name, deleted FROM items ORDER BY created_at, rowid"
    ).fetchall()
    for item_id, kind, name, deleted in rows:
        clean = _collapse(name) or "Untitled"
        key = (kind, _name_key(clean))
        if not deleted:
            n = 2
            while key in taken:
                clean = f"{_collapse(name) or 'Untitled'} ({n})"
                key, n = (kind, _name_key(clean)), n + 1
            taken.add(key)
        conn.execute(
            "UPDATE items SET name = ?, name_key = ? WHERE id = ?", (clean, key[1], item_id)
        )
    conn.execute("CREATE UNIQUE INDEX items_live_name ON items(kind, name_key) WHERE deleted = 0")
    conn.execute(
        """CREATE TABLE item_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            item_id TEXT NOT NULL REFERENCES items(id),
            action TEXT NOT NULL
                CHECK (action IN ('created', 'saved', 'renamed', 'copied', 'deleted', 'restored')),
            version INTEGER,
            detail TEXT NOT NULL DEFAULT '',
            actor TEXT NOT NULL,
            at TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX item_events_item ON item_events(item_id, seq)")
    # The versions saved before the audit existed are its first rows.
    conn.execute(
        """INSERT INTO item_events (item_id, action, version, detail, actor, at)
           SELECT item_id, CASE version WHEN 1 THEN 'created' ELSE 'saved' END, version, note,
                  saved_by, saved_at
           FROM versions ORDER BY saved_at, item_id, version"""
    )


# Ordered; a store at version n runs the migrations after n, all in one transaction.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _v1_items_and_versions,
    _v2_unique_names_and_audit,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema to `target` inside one `BEGIN IMMEDIATE` transaction (another process
    migrating at the same moment waits, then finds nothing to do). Returns the version reached.
    `target` below the latest exists for tests that build an older store."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        current = int(current[0])
        if current > SCHEMA_VERSION:
            raise StoreUnavailable(
                "The saved-items store was written by a newer version of the console; "
                "update this installation to open it. Nothing was changed."
            )
        for number in range(current + 1, target + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (number, _iso(_now())),
            )
        conn.execute("COMMIT")
        return max(current, target)
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# ---- small pure helpers --------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _collapse(name: str) -> str:
    return " ".join(str(name).split())


def _name_key(name: str) -> str:
    return _collapse(name).casefold()


def _noun(kind: str) -> str:
    return kind.replace("_", " ")


def clean_name(name: Any, kind: str) -> str:
    """The name as kept: trimmed, inner runs of spaces made one; rejected when unusable."""
    if not isinstance(name, str) or not _collapse(name):
        raise InvalidName(f"Give the {_noun(kind)} a name.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name.strip()):
        raise InvalidName("A name cannot contain line breaks or control characters.")
    clean = _collapse(name)
    if len(clean) > MAX_NAME:
        raise InvalidName(f"Keep the name to {MAX_NAME} characters (this one has {len(clean)}).")
    return clean


def clean_author(author: Any) -> str:
    """Who saved: the user name the page passed, else "local"."""
    text = _collapse(author) if isinstance(author, str) else ""
    text = "".join(ch for ch in text if ch.isprintable())[:MAX_AUTHOR]
    return text or LOCAL_USER


def user_name(
    headers: Mapping[str, str] | None,
    environ: Mapping[str, Any] | None = None,
    trusted_header: str | None = None,
) -> str:
    """The user behind a request when the WSGI server or an auth proxy names one, else
    "local". Reads `REMOTE_USER` from the WSGI environ, then the one header the deployment
    says its proxy sets (`CSOPS_USER_HEADER`, e.g. X-Forwarded-User; none by default): any
    client can send a header, so one is believed only when the proxy in front sets it."""
    if trusted_header is None:
        trusted_header = user_header()
    candidates = [(environ or {}).get("REMOTE_USER")]
    if trusted_header:
        candidates.append((headers or {}).get(trusted_header))
    for value in candidates:
        if isinstance(value, str) and _collapse(value):
            return clean_author(value)
    return LOCAL_USER


def _payload_text(payload: Any) -> str:
    if not isinstance(payload, Mapping):
        raise InvalidPayload("What was sent to be saved is not a set of values.")
    try:
        text = json.dumps(payload, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise InvalidPayload(
            "What was sent to be saved contains values that cannot be kept."
        ) from None
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidPayload("What was sent to be saved is too large to keep.")
    return text


def _format_when(moment: datetime) -> str:
    return f"{moment:%d %b %Y %H:%M} UTC"


def _error_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _is_busy(exc: sqlite3.Error) -> bool:
    if _error_code(exc) in _BUSY_CODES:
        return True
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


CORRUPT_MESSAGE = (
    "The saved-items store cannot be read: the file is damaged or is not a store. Nothing was "
    "saved and the file was left untouched; ask your administrator to restore it from a backup "
    "or to point CSOPS_APP_STATE at a new file."
)
BUSY_MESSAGE = "The saved-items store is busy; nothing was saved. Try again in a moment."
UNAVAILABLE_MESSAGE = (
    "The saved-items store cannot be opened right now; nothing was saved. The details are in "
    "the server log."
)


# ---- the SQLite store ----------------------------------------------------------------------
class SqliteAppState:
    """`AppStateStore` over one SQLite file. A connection per call: cheap for SQLite, safe
    across threads, and nothing is held open between requests."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        # The file (device, inode) checked and migrated by this object; another file at the
        # path (restored from a backup, replaced by hand) is checked again before any write.
        self._checked: tuple[int, int] | None = None
        self._lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------------
    def _check_file(self) -> None:
        """Once per store object: a file that exists must be a sound store, read-only checked."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size == 0:
            return  # SQLite's own state of a database not yet written
        with self.path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            self._corrupt("not a SQLite file")
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                result = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
                tables = {
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
            finally:
                conn.close()
        except sqlite3.Error as exc:
            if _is_busy(exc):
                return  # another worker is writing it: a live store, checked by its writes
            self._corrupt(f"unreadable: {exc}")
        if result != ["ok"]:
            self._corrupt(f"quick_check: {'; '.join(map(str, result[:5]))}")
        if tables and "schema_migrations" not in tables:
            self._corrupt(f"a SQLite file of something else (tables: {sorted(tables)[:5]})")

    def _corrupt(self, why: str) -> None:
        log.error("app-state store %s is unusable (%s); left untouched", self.path, why)
        raise StoreCorrupt(CORRUPT_MESSAGE)

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            if self._checked is None or self._checked != self._identity():
                self._checked = None
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError:
                    log.exception("cannot create the folder of the app-state store %s", self.path)
                    raise StoreUnavailable(UNAVAILABLE_MESSAGE) from None
                self._check_file()
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a save the user saw succeed survives a power cut, not only a crash.
            conn.execute("PRAGMA synchronous = FULL")
            with self._lock:
                if self._checked is None:
                    migrate(conn)
                    self._checked = self._identity()
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, work: Callable[[sqlite3.Connection], T], write: bool) -> T:
        """`work` in one transaction (IMMEDIATE for a write), retried while SQLite is busy.
        SQLite errors become the store's own plain ones; the log keeps the detail."""
        deadline = time.monotonic() + WRITE_DEADLINE_S
        delay = 0.005
        while True:
            try:
                conn = self._open()
            except ServiceError:
                raise
            except sqlite3.Error as exc:
                if _is_busy(exc) and time.monotonic() < deadline:
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.25)
                    continue
                raise self._translate(exc) from None
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                result = work(conn)
                conn.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                _rollback(conn)
                if _is_busy(exc) and time.monotonic() < deadline:
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.25)
                    continue
                raise self._translate(exc) from None
            except BaseException:
                _rollback(conn)
                raise
            finally:
                conn.close()

    def _translate(self, exc: sqlite3.Error) -> AppStateError:
        if _is_busy(exc):
            log.warning("app-state store %s stayed busy: %s", self.path, exc)
            return StoreUnavailable(BUSY_MESSAGE)
        if _error_code(exc) in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
            log.error("app-state store %s is damaged: %s", self.path, exc)
            return StoreCorrupt(CORRUPT_MESSAGE)
        log.error("app-state store %s failed: %r", self.path, exc)
        return StoreUnavailable(UNAVAILABLE_MESSAGE)

    # -- reading ---------------------------------------------------------------------------
    _ITEM_SQL = """
        SELECT i.id, i.kind, i.name, i.created_by, i.created_at, i.deleted,
               v.version, (SELECT max(version) FROM versions WHERE item_id = i.id),
               v.saved_by, v.saved_at, v.note, v.payload
        FROM items i JOIN versions v ON v.item_id = i.id
    """

    @staticmethod
    def _item(row: tuple) -> Item:
        return Item(
            id=row[0],
            kind=row[1],
            name=row[2],
            created_by=row[3],
            created_at=_when(row[4]),
            deleted=bool(row[5]),
            version=int(row[6]),
            latest_version=int(row[7]),
            saved_by=row[8],
            saved_at=_when(row[9]),
            note=row[10],
            payload=json.loads(row[11]),
        )

    def _row(self, conn: sqlite3.Connection, item_id: str, version: int | None) -> tuple | None:
        if version is None:
            sql = self._ITEM_SQL + (
                " WHERE i.id = ? AND v.version = "
                "(SELECT max(version) FROM versions WHERE item_id = i.id)"
            )
            return conn.execute(sql, (item_id,)).fetchone()
        sql = self._ITEM_SQL + " WHERE i.id = ? AND v.version = ?"
        return conn.execute(sql, (item_id, version)).fetchone()

    def _live(
        self,
        conn: sqlite3.Connection,
        item_id: Any,
        version: int | None = None,
        kind: str | None = None,
    ) -> Item:
        noun = _noun(kind) if kind else "saved item"
        if not isinstance(item_id, str) or not ITEM_ID.match(item_id):
            raise NotFound(f"No {noun} has this link: the id is not one the console makes.")
        row = self._row(conn, item_id, version)
        if row is None or (kind is not None and row[1] != kind):
            if version is not None and self._row(conn, item_id, None) is not None:
                raise NotFound(f"This {noun} has no version {version}.")
            raise NotFound(f"No {noun} has the id '{item_id}': it may never have been saved here.")
        item = self._item(row)
        if item.deleted:
            deleted = conn.execute(
                "SELECT actor, at FROM item_events WHERE item_id = ? AND action = 'deleted' "
                "ORDER BY seq DESC LIMIT 1",
                (item_id,),
            ).fetchone()
            when = f" by {deleted[0]} on {_format_when(_when(deleted[1]))}" if deleted else ""
            raise NotFound(f"The {_noun(item.kind)} “{item.name}” was deleted{when}.")
        return item

    def get(self, item_id: str, version: int | None = None, kind: str | None = None) -> Item:
        """A live item at `version` (the latest by default); `kind` makes sure it is one."""
        return self._run(lambda conn: self._live(conn, item_id, version, kind), write=False)

    def list(self, kind: str) -> list[Item]:
        """The kind's live items at their latest versions, most recently saved first."""

        def work(conn: sqlite3.Connection) -> list[Item]:
            sql = self._ITEM_SQL + (
                " WHERE i.kind = ? AND i.deleted = 0 AND v.version = "
                "(SELECT max(version) FROM versions WHERE item_id = i.id)"
                " ORDER BY v.saved_at DESC, i.name"
            )
            return [self._item(row) for row in conn.execute(sql, (kind,))]

        return self._run(work, write=False)

    def versions(self, item_id: str) -> list[Version]:
        """Every version of an item, newest first."""

        def work(conn: sqlite3.Connection) -> list[Version]:
            rows = conn.execute(
                "SELECT item_id, version, saved_by, saved_at, note FROM versions "
                "WHERE item_id = ? ORDER BY version DESC",
                (item_id,),
            ).fetchall()
            return [Version(r[0], int(r[1]), r[2], _when(r[3]), r[4]) for r in rows]

        return self._run(work, write=False)

    def events(self, item_id: str) -> list[Event]:
        """The item's audit trail, newest first (deleted items' too)."""

        def work(conn: sqlite3.Connection) -> list[Event]:
            rows = conn.execute(
                "SELECT item_id, action, version, detail, actor, at FROM item_events "
                "WHERE item_id = ? ORDER BY seq DESC",
                (item_id,),
            ).fetchall()
            return [Event(r[0], r[1], r[2], r[3], r[4], _when(r[5])) for r in rows]

        return self._run(work, write=False)

    # -- writing ---------------------------------------------------------------------------
    def _name_free(
        self, conn: sqlite3.Connection, kind: str, name: str, except_id: str | None
    ) -> None:
        row = conn.execute(
            "SELECT name FROM items WHERE kind = ? AND name_key = ? AND deleted = 0 AND id IS NOT ?",
            (kind, _name_key(name), except_id),
        ).fetchone()
        if row is not None:
            raise NameTaken(
                f"Another {_noun(kind)} is already called “{row[0]}”; choose another name."
            )

    @staticmethod
    def _event(
        conn: sqlite3.Connection,
        item_id: str,
        action: str,
        version: int | None,
        detail: str,
        by: str,
        at: datetime,
    ) -> None:
        conn.execute(
            "INSERT INTO item_events (item_id, action, version, detail, actor, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (item_id, action, version, detail[:MAX_NOTE], by, _iso(at)),
        )

    def _insert(
        self,
        conn: sqlite3.Connection,
        kind: str,
        name: str,
        text: str,
        author: str,
        note: str,
        action: str,
    ) -> str:
        self._name_free(conn, kind, name, None)
        now = _now()
        for _ in range(10):  # 48 random bits: a collision is rare, and retried
            item_id = secrets.token_urlsafe(6)
            if conn.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
                break
        else:  # pragma: no cover - ten collisions in a row
            raise StoreUnavailable(UNAVAILABLE_MESSAGE)
        conn.execute(
            "INSERT INTO items (id, kind, name, name_key, created_by, created_at, deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, 0)",
            (item_id, kind, name, _name_key(name), author, _iso(now)),
        )
        conn.execute(
            "INSERT INTO versions (item_id, version, payload, saved_by, saved_at, note) "
            "VALUES (?, 1, ?, ?, ?, ?)",
            (item_id, text, author, _iso(now), note),
        )
        self._event(conn, item_id, action, 1, note, author, now)
        return item_id

    def create(
        self, kind: str, name: str, payload: Mapping[str, Any], author: str, note: str = ""
    ) -> Item:
        """A new item with its first version; `InvalidName`/`NameTaken` save nothing."""
        clean = clean_name(name, kind)
        text, who, note = _payload_text(payload), clean_author(author), str(note)[:MAX_NOTE]

        def work(conn: sqlite3.Connection) -> Item:
            item_id = self._insert(conn, kind, clean, text, who, note, "created")
            return self._live(conn, item_id)

        return self._run(work, write=True)

    def save(
        self,
        item_id: str,
        payload: Mapping[str, Any],
        author: str,
        expected_version: int | None = None,
        note: str = "",
    ) -> Item:
        """A new version of a live item. With `expected_version` (the version the user started
        from), a newer version saved meanwhile raises `Conflict` and nothing is saved."""
        text, who, note = _payload_text(payload), clean_author(author), str(note)[:MAX_NOTE]

        def work(conn: sqlite3.Connection) -> Item:
            latest = self._live(conn, item_id)
            if expected_version is not None and latest.latest_version != expected_version:
                raise Conflict(
                    f"“{latest.name}” was saved meanwhile by {latest.saved_by} on "
                    f"{_format_when(latest.saved_at)} (version {latest.latest_version}); "
                    f"yours was not saved. Save it under a new name, or open the latest version "
                    f"and make your change again.",
                    latest.latest_version,
                    latest.saved_by,
                    latest.saved_at,
                )
            number, now = latest.latest_version + 1, _now()
            conn.execute(
                "INSERT INTO versions (item_id, version, payload, saved_by, saved_at, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (item_id, number, text, who, _iso(now), note),
            )
            self._event(conn, item_id, "saved", number, note, who, now)
            return self._live(conn, item_id)

        return self._run(work, write=True)

    def rename(self, item_id: str, name: str, author: str) -> Item:
        """A new name for a live item (its versions keep their payloads); an audit row."""
        who = clean_author(author)

        def work(conn: sqlite3.Connection) -> Item:
            item = self._live(conn, item_id)
            clean = clean_name(name, item.kind)
            if clean == item.name:
                return item
            self._name_free(conn, item.kind, clean, item_id)
            conn.execute(
                "UPDATE items SET name = ?, name_key = ? WHERE id = ?",
                (clean, _name_key(clean), item_id),
            )
            detail = f"from “{item.name}” to “{clean}”"
            self._event(conn, item_id, "renamed", item.latest_version, detail, who, _now())
            return self._live(conn, item_id)

        return self._run(work, write=True)

    def copy(self, item_id: str, name: str, author: str, version: int | None = None) -> Item:
        """A new item holding a version's payload (the latest by default) under a new name."""
        who = clean_author(author)

        def work(conn: sqlite3.Connection) -> Item:
            source = self._live(conn, item_id, version)
            clean = clean_name(name, source.kind)
            text = _payload_text(source.payload)
            note = f"Copy of “{source.name}” version {source.version}"
            new_id = self._insert(conn, source.kind, clean, text, who, note, "copied")
            return self._live(conn, new_id)

        return self._run(work, write=True)

    def delete(self, item_id: str, author: str) -> None:
        """Soft delete: the item leaves the list, its versions stay; `restore` undoes it."""
        who = clean_author(author)

        def work(conn: sqlite3.Connection) -> None:
            item = self._live(conn, item_id)
            conn.execute("UPDATE items SET deleted = 1 WHERE id = ?", (item_id,))
            self._event(conn, item_id, "deleted", item.latest_version, "", who, _now())

        self._run(work, write=True)

    def restore(self, item_id: str, author: str) -> Item:
        """Undo a delete, unless a live item of its kind has taken the name meanwhile."""
        who = clean_author(author)

        def work(conn: sqlite3.Connection) -> Item:
            row = conn.execute(
                "SELECT kind, name, deleted FROM items WHERE id = ?", (item_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"No saved item has the id '{str(item_id)[:40]}'.")
            kind, name, deleted = row
            if deleted:
                self._name_free(conn, kind, name, item_id)
                conn.execute("UPDATE items SET deleted = 0 WHERE id = ?", (item_id,))
                self._event(conn, item_id, "restored", None, "", who, _now())
            return self._live(conn, item_id)

        return self._run(work, write=True)


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # the connection is closed next; SQLite rolls back what was not committed


_stores: dict[Path, SqliteAppState] = {}
_stores_lock = threading.Lock()


def app_state() -> AppStateStore:
    """The store at `settings.app_state_path()` (read now: tests point it elsewhere)."""
    path = app_state_path()
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = SqliteAppState(path)
        return store
