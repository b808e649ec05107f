"""Read-only access to the analytics DuckDB file: the only module that imports duckdb for the app.

One connection per process (opened lazily, so never before a gunicorn fork), a fresh cursor per
query (a DuckDB connection is not thread-safe), parameters always bound. When the loader swaps a
new file into place the inode changes and the next query reopens it, so a new import takes
effect without a restart and the cache key (build_id) changes with it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from services.errors import DataUnavailable, QueryFailed
from services.settings import load_settings

log = logging.getLogger(__name__)

REBUILD_HINT = "Build the demo database with `make demo-data` (or import your data with `python -m services.build`)."


@dataclass(frozen=True)
class BuildInfo:
    """The `meta` row of the loaded file."""

    build_id: str
    as_of_date: date
    built_at: str
    source: str


class Database:
    """A read-only DuckDB file that follows atomic swaps of the file on disk."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._inode: tuple[int, int] | None = None
        self._info: BuildInfo | None = None

    def __repr__(self) -> str:  # part of every cache key: the data version, not the object
        return f"Database({self.path}, build={self.info().build_id})"

    def _connection(self) -> duckdb.DuckDBPyConnection:
        try:
            st = os.stat(self.path)
        except FileNotFoundError as exc:
            self._close()
            raise DataUnavailable(f"No database at {self.path}. {REBUILD_HINT}") from exc
        inode = (st.st_ino, st.st_mtime_ns)
        with self._lock:
            if self._con is None or inode != self._inode:
                self._close()
                try:
                    con = duckdb.connect(
                        str(self.path),
                        read_only=True,
                        config={"memory_limit": load_settings().duckdb_memory},
                    )
                    row = con.execute(
                        "SELECT build_id, as_of_date, CAST(built_at AS VARCHAR), source FROM meta"
                    ).fetchone()
                except duckdb.Error as exc:
                    raise DataUnavailable(
                        f"The database at {self.path} cannot be read ({type(exc).__name__}). "
                        f"{REBUILD_HINT}"
                    ) from exc
                if row is None:
                    con.close()
                    raise DataUnavailable(
                        f"The database at {self.path} has no build record. {REBUILD_HINT}"
                    )
                self._con, self._inode = con, inode
                self._info = BuildInfo(row[0], row[1], row[2], row[3])
            return self._con

    def _close(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            except duckdb.Error:  # closing a broken handle must not hide the real problem
                log.exception("closing DuckDB connection failed")
        self._con, self._info = None, None

    def info(self) -> BuildInfo:
        """The loaded build's id and as-of date (raises DataUnavailable)."""
        self._connection()
        assert self._info is not None
        return self._info

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run one parameterised query on a fresh cursor and return a DataFrame."""
        cursor = self._connection().cursor()
        try:
            return cursor.execute(sql, params or []).df()
        except duckdb.Error as exc:
            log.exception("query failed")
            raise QueryFailed(f"The query could not be answered ({type(exc).__name__}).") from exc
        finally:
            cursor.close()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        df = self.query(sql, params)
        return None if df.empty else df.iat[0, 0]


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
