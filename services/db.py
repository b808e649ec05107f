"""Read-only access to the analytics DuckDB file: the only module that imports duckdb for the app.

`CSOPS_DB` is a pointer (a symlink the builder swaps atomically) to a versioned file in
`<db>.builds/`. Each query resolves the pointer (a few syscalls, no database open); when it has
moved, the new build is opened, its `meta` row read and checked, and new queries go there while
queries in flight finish on the old connection, which is closed when its last cursor is done.
Opening a different path per build keeps DuckDB's instance cache from handing back the old
database, so threaded servers follow a rebuild as surely as sync workers do.

One connection per build per process (opened lazily, so never before a gunicorn fork), a fresh
cursor per query (a DuckDB connection is not thread-safe), parameters always bound. Messages
for users name no server path and no command; the log gets both.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from data.loader import SCHEMA_VERSION
from services.errors import DataUnavailable, QueryFailed
from services.settings import load_settings

log = logging.getLogger(__name__)

# For the log only: users are told to ask an administrator, never to run a command.
REBUILD_HINT = (
    "Build the demo database with `make demo-data` "
    "(or import your data with `python -m services.build --source <folder> --target <db>`)."
)
ASK_TO_REBUILD = (
    "Ask an administrator to rebuild it (load the demo data or import your company's exports "
    "again)."
)
NO_DATA = (
    "No data has been loaded yet. An administrator can load the demo data or import your "
    "company's exports."
)
UNREADABLE = f"The database cannot be read. {ASK_TO_REBUILD}"
NO_BUILD_RECORD = f"The database has no build record. {ASK_TO_REBUILD}"
OLDER_VERSION = f"This database was built by an older version of CS Ops Console. {ASK_TO_REBUILD}"
NEWER_VERSION = (
    "This database was built by a newer version of CS Ops Console. Ask an administrator to "
    "update the app or rebuild the database."
)


@dataclass(frozen=True)
class BuildInfo:
    """The `meta` row of the loaded file."""

    build_id: str
    as_of_date: date
    built_at: str
    source: str


class _Build:
    """One opened build: its connection, its meta row and how many cursors are using it."""

    def __init__(self, path: str, key: tuple, con: duckdb.DuckDBPyConnection, info: BuildInfo):
        self.path, self.key, self.con, self.info = path, key, con, info
        self.users = 0  # cursors in flight (guarded by Database._lock)
        self.retired = False  # the pointer has moved on: close when the last user is done
        self.closed = False

    def close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error:  # closing a broken handle must not hide the real problem
            log.exception("closing DuckDB connection to %s failed", self.path)


def _read_meta(con: duckdb.DuckDBPyConnection, path: str) -> BuildInfo:
    """The build record of an open file, checked against this app's schema version."""
    try:
        cursor = con.execute("SELECT * FROM meta")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        log.warning("%s has no readable meta table (%s). %s", path, exc, REBUILD_HINT)
        raise DataUnavailable(NO_BUILD_RECORD) from exc
    if not rows:
        log.warning("%s has an empty meta table. %s", path, REBUILD_HINT)
        raise DataUnavailable(NO_BUILD_RECORD)
    meta = dict(zip(names, rows[0], strict=True))
    version = meta.get("schema_version")
    if version is None or version < SCHEMA_VERSION:
        log.warning(
            "%s has schema version %s, this app needs %s. %s",
            path,
            version,
            SCHEMA_VERSION,
            REBUILD_HINT,
        )
        raise DataUnavailable(OLDER_VERSION)
    if version > SCHEMA_VERSION:
        log.warning("%s has schema version %s, newer than %s", path, version, SCHEMA_VERSION)
        raise DataUnavailable(NEWER_VERSION)
    return BuildInfo(
        meta["build_id"], meta["as_of_date"], str(meta["built_at"]), meta.get("source") or ""
    )


class Database:
    """A read-only DuckDB database that follows the pointer to the current build."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()  # guards _current and every _Build's users/retired
        self._open_lock = threading.Lock()  # one thread opens a new build; others keep querying
        self._current: _Build | None = None
        self._retired: list[_Build] = []  # replaced builds with cursors still in flight

    def __repr__(self) -> str:  # part of every cache key: the data version, not the object
        return f"Database({self.path}, build={self.info().build_id})"

    # -- the pointer and the open builds ------------------------------------------------------

    def _resolve(self) -> tuple[str, tuple]:
        """The file the pointer leads to now and a key that changes when it moves (no DB open)."""
        try:
            real = os.path.realpath(self.path, strict=True)
            st = os.stat(real)
        except OSError as exc:  # no file, a dangling pointer or a loop of links
            log.warning("no database at %s (%s). %s", self.path, exc, REBUILD_HINT)
            self._retire_current()
            raise DataUnavailable(NO_DATA) from exc
        # The inode and mtime catch a plain file replaced in place (databases built before
        # pointers existed); a versioned build file never changes once written.
        return real, (real, st.st_ino, st.st_mtime_ns)

    def _open(self, real: str, key: tuple) -> _Build:
        try:
            con = duckdb.connect(
                real, read_only=True, config={"memory_limit": load_settings().duckdb_memory}
            )
        except duckdb.Error as exc:
            log.warning("the database at %s cannot be read (%s). %s", real, exc, REBUILD_HINT)
            raise DataUnavailable(UNREADABLE) from exc
        try:
            info = _read_meta(con, real)
        except BaseException:
            con.close()
            raise
        log.info("opened build %s at %s", info.build_id, real)
        return _Build(real, key, con, info)

    def _acquire(self) -> _Build:
        """The current build with one more user (give it back with `_release`)."""
        real, key = self._resolve()
        with self._lock:
            if self._current is not None and self._current.key == key:
                self._current.users += 1
                return self._current
        with self._open_lock:
            with self._lock:  # another thread may have opened it while we waited
                if self._current is not None and self._current.key == key:
                    self._current.users += 1
                    return self._current
            if self._current is not None and self._current.path == real:
                # A plain file replaced in place (no pointer): DuckDB would hand back the open
                # instance for the same path, so let go of it first.
                self._retire_current()
            try:
                new = self._open(real, key)
            except DataUnavailable:
                # The build we resolved may have been pruned before we opened it: follow the
                # pointer once more before giving up.
                again, key_again = self._resolve()
                if key_again == key:
                    raise
                real, key = again, key_again
                new = self._open(real, key)
            with self._lock:
                old, self._current = self._current, new
                new.users += 1
                to_close = self._retire(old)
        if to_close is not None:
            to_close.close()
        return new

    def _retire(self, build: _Build | None) -> _Build | None:
        """Mark a replaced build; returns it if nobody uses it (caller closes it, unlocked)."""
        if build is None or build.retired:
            return None
        build.retired = True
        if build.users == 0:
            build.closed = True
            return build
        self._retired.append(build)
        return None

    def _retire_current(self) -> None:
        with self._lock:
            old, self._current = self._current, None
            to_close = self._retire(old)
        if to_close is not None:
            to_close.close()

    def _release(self, build: _Build) -> None:
        with self._lock:
            build.users -= 1
            last = build.retired and build.users == 0 and not build.closed
            if last:
                build.closed = True
                self._retired.remove(build)
        if last:
            log.info("closed build %s at %s", build.info.build_id, build.path)
            build.close()

    def _open_builds(self) -> list[str]:
        """Paths of the builds this process holds open: the current one and any still in use."""
        with self._lock:
            held = [b.path for b in self._retired]
            if self._current is not None:
                held.append(self._current.path)
            return held

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor on the current build, counted so a swap never closes it under you.

        Anything that runs SQL (query, stream, ...) goes through here: the build it was opened
        on stays open until the `with` block ends, even if the pointer moves meanwhile.
        """
        build = self._acquire()
        try:
            cursor = build.con.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            self._release(build)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """The current build's connection, uncounted: a swap may close it. Prefer `_cursor()`."""
        build = self._acquire()
        self._release(build)
        return build.con

    # -- public API ---------------------------------------------------------------------------

    def info(self) -> BuildInfo:
        """The current build's id and as-of date (raises DataUnavailable)."""
        build = self._acquire()
        self._release(build)
        return build.info

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run one parameterised query on a fresh cursor and return a DataFrame."""
        with self._cursor() as cursor:
            try:
                return cursor.execute(sql, params or []).df()
            except duckdb.Error as exc:
                log.exception("query failed")
                raise QueryFailed(
                    f"The query could not be answered ({type(exc).__name__})."
                ) from exc

    def query_many(
        self, queries: Mapping[str, tuple[str, list[Any]]], workers: int = 4
    ) -> dict[str, pd.DataFrame]:
        """Independent queries at once, each on its own cursor: a page made of many small
        lookups (Account 360) waits for the slowest, not for their sum."""
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(queries)))) as pool:
            futures = {
                k: pool.submit(self.query, sql, params) for k, (sql, params) in queries.items()
            }
            return {k: f.result() for k, f in futures.items()}

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        df = self.query(sql, params)
        return None if df.empty else df.iat[0, 0]

    def stream(
        self, sql: str, params: list[Any] | None = None, batch_rows: int = 50_000
    ) -> Iterator[Any]:
        """Run one parameterised query and yield its rows as pyarrow RecordBatches.

        Memory stays at about one batch whatever the result size. The cursor (and the build it
        reads) is held until the generator is exhausted or closed: always do one or the other.
        """
        with self._cursor() as cursor:
            try:
                yield from cursor.sql(sql, params=params or []).to_arrow_reader(batch_rows)
            except duckdb.Error as exc:
                log.exception("streamed query failed")
                raise QueryFailed(
                    f"The query could not be answered ({type(exc).__name__})."
                ) from exc


_default: Database | None = None
_default_lock = threading.Lock()


def get_database() -> Database:
    """The process-wide database at the configured path (CSOPS_DB)."""
    global _default
    path = load_settings().db_path
    with _default_lock:
        if _default is None or _default.path != path:
            _default = Database(path)
        return _default
