"""Loads a folder of CSV/Parquet exports into a new DuckDB file that follows the data contract.

Every table of `schema.sql` is read from `<folder>/<table>.parquet`, `<table>.csv` or a
`<table>/` folder of such files, checked column by column (types, required values, allowed
values, duplicate keys, references to accounts and CSMs), and inserted. Errors name the file,
row and column. The file is written next to the target and renamed into place only after
everything succeeded, so a failed import leaves the previous database intact.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

SCHEMA_PATH = Path(__file__).with_name("schema.sql")
SOURCE_TABLES = (
    "csms",
    "accounts",
    "contracts",
    "renewals",
    "expansions",
    "usage_daily",
    "tickets",
    "nps_responses",
    "touchpoints",
)
# Columns whose values come from a fixed list (mirrors the CHECKs in schema.sql).
ALLOWED_VALUES = {
    ("csms", "role"): ("CSM", "Manager", "Director"),
    ("accounts", "segment"): ("SMB", "Mid-Market", "Enterprise"),
    ("accounts", "coverage_tier"): ("tech-touch", "pooled", "named"),
    ("accounts", "lifecycle_stage"): ("onboarding", "adoption", "value", "renewal", "churned"),
    ("renewals", "forecast_category"): ("commit", "probable", "at_risk", "churn"),
    ("renewals", "outcome"): ("open", "renewed", "contracted", "expanded", "churned"),
    ("expansions", "outcome"): ("open", "won", "lost"),
    ("tickets", "priority"): ("P1", "P2", "P3", "P4"),
}
# (table, column) -> (referenced table, key): checked after loading.
REFERENCES = {
    ("accounts", "owner_csm_id"): ("csms", "csm_id"),
    ("contracts", "account_id"): ("accounts", "account_id"),
    ("renewals", "account_id"): ("accounts", "account_id"),
    ("expansions", "account_id"): ("accounts", "account_id"),
    ("usage_daily", "account_id"): ("accounts", "account_id"),
    ("tickets", "account_id"): ("accounts", "account_id"),
    ("nps_responses", "account_id"): ("accounts", "account_id"),
    ("touchpoints", "account_id"): ("accounts", "account_id"),
}


class ImportError_(Exception):  # noqa: N801 - the builtin name is taken
    """A source breaks the data contract; the message names file, row and column."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    primary_key: bool


def contract_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[Column]]:
    """Columns of every table in the data contract, read from the schema just created."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall()
    keys = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, unnest(constraint_column_names) FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }
    tables: dict[str, list[Column]] = {}
    for table, column, dtype, nullable in rows:
        tables.setdefault(table, []).append(
            Column(column, dtype, nullable == "NO", (table, column) in keys)
        )
    return tables


def schema_columns() -> dict[str, list[str]]:
    """Column names of every contract table, in schema order (for writers of source files)."""
    con = duckdb.connect()
    try:
        con.execute(SCHEMA_PATH.read_text())
        return {table: [c.name for c in cols] for table, cols in contract_columns(con).items()}
    finally:
        con.close()


def find_source(folder: Path, table: str) -> tuple[str, list[str]]:
    """Return (reader kind, file list) for one table, or raise naming what is missing."""
    candidates = [folder / f"{table}.parquet", folder / f"{table}.csv"]
    for path in candidates:
        if path.is_file():
            return ("parquet" if path.suffix == ".parquet" else "csv"), [str(path)]
    sub = folder / table
    if sub.is_dir():
        files = sorted(str(p) for p in sub.iterdir() if p.suffix in (".parquet", ".csv"))
        kinds = {Path(f).suffix for f in files}
        if files and len(kinds) == 1:
            return ("parquet" if kinds == {".parquet"} else "csv"), files
    raise ImportError_(
        f"Missing table '{table}': expected {table}.parquet, {table}.csv or a folder {table}/ "
        f"in {folder}."
    )


def _quote(identifier: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", identifier):
        raise ImportError_(f"Unusable column name {identifier!r}.")
    return '"' + identifier + '"'


def _sql_path_list(files: list[str]) -> str:
    """Paths as a SQL list literal (table functions in a view cannot take bound parameters)."""
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _stage(con, table: str, kind: str, files: list[str]) -> tuple[str, list[str]]:
    """Expose the source as a staging view with `_file` and `_row` (1-based, per file)."""
    view = f"stage_{table}"
    paths = _sql_path_list(files)
    if kind == "parquet":
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * EXCLUDE (filename, file_row_number), "
            f"filename AS _file, file_row_number + 1 AS _row "
            f"FROM read_parquet({paths}, filename = true, file_row_number = true)"
        )
    else:
        parts = [
            f"SELECT *, {_sql_path_list([f])[1:-1]} AS _file, ROW_NUMBER() OVER () AS _row "
            f"FROM read_csv({_sql_path_list([f])[1:-1]}, header = true, all_varchar = true)"
            for f in files
        ]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS " + " UNION ALL BY NAME ".join(parts))
    cols = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
    return view, [c for c in cols if c not in ("_file", "_row")]


def _fail_first(con, sql: str, params: list, message: Callable[[tuple], str]) -> None:
    row = con.execute(sql, params).fetchone()
    if row is not None:
        raise ImportError_(message(row))


def _where(file: str, row: int, kind: str) -> str:
    line = f", line {row + 1}" if kind == "csv" else ""
    return f"{Path(file).name}, row {row}{line}"


def validate_and_insert(con, table: str, columns: list[Column], kind: str, files: list[str]) -> int:
    """Check one source table against the contract, then insert it. Returns the row count."""
    view, present = _stage(con, table, kind, files)
    missing = [c.name for c in columns if c.name not in present and c.not_null]
    if missing:
        raise ImportError_(
            f"{Path(files[0]).name}: required column(s) missing: {', '.join(missing)}."
        )
    select = []
    for col in columns:
        q = _quote(col.name)
        if col.name not in present:
            select.append(f"NULL::{col.type} AS {q}")
            continue
        value = f"NULLIF(TRIM({q}), '')" if kind == "csv" else q
        _fail_first(
            con,
            f"SELECT _file, _row, {q} FROM {view} WHERE {value} IS NOT NULL "
            f"AND TRY_CAST({value} AS {col.type}) IS NULL ORDER BY _file, _row LIMIT 1",
            [],
            lambda r, c=col: (
                f"{_where(r[0], r[1], kind)}, column {c.name}: "
                f"{str(r[2])[:60]!r} is not a valid {c.type}."
            ),
        )
        if col.not_null:
            _fail_first(
                con,
                f"SELECT _file, _row FROM {view} WHERE {value} IS NULL "
                f"ORDER BY _file, _row LIMIT 1",
                [],
                lambda r, c=col: (
                    f"{_where(r[0], r[1], kind)}, column {c.name}: a value is required."
                ),
            )
        allowed = ALLOWED_VALUES.get((table, col.name))
        if allowed:
            _fail_first(
                con,
                f"SELECT _file, _row, {q} FROM {view} WHERE {value} IS NOT NULL "
                f"AND NOT list_contains(?, CAST({value} AS VARCHAR)) ORDER BY _file, _row LIMIT 1",
                [list(allowed)],
                lambda r, c=col, a=allowed: (
                    f"{_where(r[0], r[1], kind)}, column {c.name}: "
                    f"{str(r[2])[:60]!r} is not one of {', '.join(a)}."
                ),
            )
        if col.primary_key:
            _fail_first(
                con,
                f"SELECT _file, _row, {q}, first_row FROM (SELECT _file, _row, {q}, "
                f"ROW_NUMBER() OVER (PARTITION BY {value} ORDER BY _file, _row) AS n, "
                f"MIN(_row) OVER (PARTITION BY {value}) AS first_row FROM {view}) "
                f"WHERE n = 2 ORDER BY _file, _row LIMIT 1",
                [],
                lambda r, c=col: (
                    f"{_where(r[0], r[1], kind)}, column {c.name}: duplicate key "
                    f"{str(r[2])[:60]!r} (first at row {r[3]})."
                ),
            )
        select.append(f"CAST({value} AS {col.type}) AS {q}")
    try:
        con.execute(f"INSERT INTO {table} SELECT {', '.join(select)} FROM {view}")
    except duckdb.Error as exc:
        raise ImportError_(
            f"{Path(files[0]).name}: a value breaks the data contract: {exc}"
        ) from exc
    return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def check_references(con) -> None:
    for (table, column), (ref_table, ref_key) in REFERENCES.items():
        _fail_first(
            con,
            f"SELECT t.{column}, COUNT(*) FROM {table} t LEFT JOIN {ref_table} r "
            f"ON t.{column} = r.{ref_key} WHERE t.{column} IS NOT NULL AND r.{ref_key} IS NULL "
            f"GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
            [],
            lambda r, t=table, c=column, rt=ref_table: (
                f"{t}: column {c} refers to {r[0]!r}, which is not in {rt} ({r[1]} row(s))."
            ),
        )


def read_source_meta(folder: Path) -> dict:
    path = folder / "meta.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def build_database(
    source: Path,
    target: Path,
    as_of: date | None = None,
    derive: Callable[[duckdb.DuckDBPyConnection, date], None] | None = None,
    memory_limit: str = "8GB",
) -> dict[str, int]:
    """Build `target` from the files in `source`; the old file is replaced only on success.

    Args:
        source: folder with one file (or folder of files) per contract table.
        target: the DuckDB file to (re)place.
        as_of: the data's "today"; defaults to meta.json's as_of_date, else the last usage day.
        derive: builds derived tables (health snapshots, ...) inside the new file.
        memory_limit: DuckDB's memory limit for the build (beyond it, work spills to disk).
    """
    source, target = Path(source), Path(target)
    if not source.is_dir():
        raise ImportError_(f"Source folder {source} does not exist.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    # A bounded buffer pool: a 1M-account build spills to disk instead of taking the machine.
    con = duckdb.connect(str(tmp), config={"memory_limit": memory_limit})
    try:
        con.execute(SCHEMA_PATH.read_text())
        columns = contract_columns(con)
        counts = {}
        for table in SOURCE_TABLES:
            kind, files = find_source(source, table)
            counts[table] = validate_and_insert(con, table, columns[table], kind, files)
        check_references(con)
        meta = read_source_meta(source)
        if as_of is None and meta.get("as_of_date"):
            as_of = date.fromisoformat(meta["as_of_date"])
        if as_of is None:
            as_of = con.execute("SELECT MAX(day) FROM usage_daily").fetchone()[0]
        if as_of is None:
            raise ImportError_("Cannot tell the data's as-of date: give --as-of or usage rows.")
        if derive is not None:
            derive(con, as_of)
        build_id = f"{datetime.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
        con.execute(
            "INSERT INTO meta VALUES (?, ?, ?, ?, ?)",
            [build_id, datetime.now(), as_of, meta.get("source", str(source)), json.dumps(counts)],
        )
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, target)
        return counts
    except BaseException:
        con.close()
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
