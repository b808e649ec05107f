"""Loads a folder of CSV/Parquet exports into a new DuckDB file that follows the data contract.

Every table of `schema.sql` is read from `<folder>/<table>.parquet`, `<table>.csv` or a
`<table>/` folder of such files, checked column by column (types, required values, allowed
values, duplicate keys, the schema's row CHECKs such as no negative ARR), and inserted; then
across tables (references to accounts, CSMs, contracts and renewals; a renewal not dated before
the contract it renews, which is its account's; an account's owner intervals that overlap,
leave a gap, or end on someone other than its current owner).
Errors name the file, row and column. Each build is a new versioned file in `<target>.builds/`; the target is a
symlink swapped to it only after everything succeeded, so a failed import leaves the previous
database intact and readers move to the new file without reopening a path they already hold.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

SCHEMA_PATH = Path(__file__).with_name("schema.sql")
# Bumped whenever schema.sql or the derived tables change: the app refuses files built before.
SCHEMA_VERSION = (
    8  # 3: health_inputs, component scores NULL where a feed is absent; 4: health_by_account;
    # 5: renewal_forecast_history; 6: Renewals tables (pipeline_open, forecast_*,
    # retention_trend_cube, expansion_scores); 7: account_owner_history, owner_spans;
    # 8: target_history (compensation target rates of the current periods)
)
BUILDS_SUFFIX = ".builds"  # data/csops.duckdb -> data/csops.duckdb.builds/<build_id>.duckdb
BUILD_SUFFIX = ".duckdb"
PARTIAL_SUFFIX = ".partial"
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
    "renewal_forecast_history",
    "account_owner_history",
)
# Tables a source may leave out: each then loads empty and the pages say what that means.
OPTIONAL_TABLES = ("renewal_forecast_history", "account_owner_history")
# Columns whose values come from a fixed list (mirrors the CHECKs in schema.sql).
ALLOWED_VALUES = {
    ("csms", "role"): ("CSM", "Manager", "Director"),
    ("accounts", "segment"): ("SMB", "Mid-Market", "Enterprise"),
    ("accounts", "coverage_tier"): ("tech-touch", "pooled", "named"),
    ("accounts", "lifecycle_stage"): ("onboarding", "adoption", "value", "renewal", "churned"),
    ("renewals", "forecast_category"): ("commit", "probable", "at_risk", "churn"),
    ("renewal_forecast_history", "forecast_category"): ("commit", "probable", "at_risk", "churn"),
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
    ("renewal_forecast_history", "renewal_id"): ("renewals", "renewal_id"),
    ("renewals", "contract_id"): ("contracts", "contract_id"),
    ("account_owner_history", "account_id"): ("accounts", "account_id"),
    ("account_owner_history", "owner_csm_id"): ("csms", "csm_id"),
}
# Tables stored sorted (clustered) by these columns: a lookup of a few keys (one account's
# renewals' calls) then reads a row group or two instead of the whole table.
CLUSTER_BY = {
    "renewal_forecast_history": ("renewal_id", "snapshot_date"),
    "account_owner_history": ("account_id", "valid_from"),
}
# The CHECKs of schema.sql on single rows, as (column, condition on the row, what is wrong):
# a row failing its table's CHECK is named with file, row and column.
ROW_CHECKS = {
    "contracts": (
        ("arr", "arr >= 0", "is negative: ARR cannot be below 0"),
        ("end_date", "end_date > start_date", "is not after the contract's start_date"),
    ),
    "renewals": (
        (
            "arr_up_for_renewal",
            "arr_up_for_renewal >= 0",
            "is negative: ARR up for renewal cannot be below 0",
        ),
    ),
    "renewal_forecast_history": (
        ("arr_up", "arr_up >= 0", "is negative: ARR up cannot be below 0"),
    ),
    "usage_daily": (
        ("active_users", "active_users >= 0", "is negative: active users cannot be below 0"),
    ),
    "nps_responses": (("score", "score BETWEEN 0 AND 10", "is not a score from 0 to 10"),),
    "account_owner_history": (
        ("valid_to", "valid_to > valid_from", "is not after the interval's valid_from"),
    ),
}


log = logging.getLogger(__name__)


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


def has_source(folder: Path, table: str) -> bool:
    """Whether `folder` holds a file or folder for `table` at all."""
    return any((folder / name).exists() for name in (f"{table}.parquet", f"{table}.csv", table))


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
        select.append(f"CAST({value} AS {col.type}) AS {q}")
    _check_unique_key(con, view, [c for c in columns if c.primary_key], kind)
    # The rows as typed, with their file and row: what later checks name a failing row from.
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {_typed(table)} AS "
        f"SELECT _file, _row, {', '.join(select)} FROM {view}"
    )
    names = ", ".join(_quote(c.name) for c in columns)
    order = ", ".join(_quote(c) for c in CLUSTER_BY.get(table, ()))
    try:
        con.execute(
            f"INSERT INTO {table} SELECT {names} FROM {_typed(table)}"
            + (f" ORDER BY {order}" if order else "")
        )
    except duckdb.Error as exc:
        _check_rows(con, table, kind)  # names the row when it is one of ROW_CHECKS
        raise ImportError_(
            f"{Path(files[0]).name}: a value breaks the data contract: {exc}"
        ) from exc
    return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _typed(table: str) -> str:
    """The temp view of one loaded source: its typed columns plus `_file` and `_row`."""
    return f"typed_{table}"


def _check_rows(con, table: str, kind: str) -> None:
    """Raise naming the first row (file, row, column) that fails one of ROW_CHECKS[table]."""
    for column, condition, wrong in ROW_CHECKS.get(table, ()):
        q = _quote(column)
        _fail_first(
            con,
            f"SELECT _file, _row, {q} FROM {_typed(table)} WHERE NOT ({condition}) "
            f"ORDER BY _file, _row LIMIT 1",
            [],
            lambda r, c=column, w=wrong: f"{_where(r[0], r[1], kind)}, column {c}: {r[2]!s} {w}.",
        )


def _first_row(con, table: str, condition: str, params: list) -> tuple | None:
    """(file, row) of the first source row of `table` meeting `condition` (over its typed
    columns), or None."""
    return con.execute(
        f"SELECT _file, _row FROM {_typed(table)} WHERE {condition} ORDER BY _file, _row LIMIT 1",
        params,
    ).fetchone()


def _check_unique_key(con, view: str, key: list[Column], kind: str) -> None:
    """The first row repeating an earlier row's key (all key columns together), by position."""
    if not key:
        return
    values = [
        f"NULLIF(TRIM({_quote(c.name)}), '')" if kind == "csv" else _quote(c.name) for c in key
    ]
    together = ", ".join(values)
    shown = " || ' / ' || ".join(f"CAST({v} AS VARCHAR)" for v in values)
    names = " + ".join(c.name for c in key)
    _fail_first(
        con,
        f"SELECT _file, _row, shown, first_row FROM (SELECT _file, _row, {shown} AS shown, "
        f"ROW_NUMBER() OVER (PARTITION BY {together} ORDER BY _file, _row) AS n, "
        f"MIN(_row) OVER (PARTITION BY {together}) AS first_row FROM {view}) "
        f"WHERE n = 2 ORDER BY _file, _row LIMIT 1",
        [],
        lambda r: (
            f"{_where(r[0], r[1], kind)}, column {names}: duplicate key "
            f"{str(r[2])[:60]!r} (first at row {r[3]})."
        ),
    )


def check_references(con, kinds: dict[str, str]) -> None:
    """Every reference in REFERENCES points at an existing row; the first row that does not is
    named with file, row and column. `kinds`: the reader kind ('csv', 'parquet') of each table
    loaded from a source (a table left out has nothing to check)."""
    for (table, column), (ref_table, ref_key) in REFERENCES.items():
        if table not in kinds:
            continue
        bad = con.execute(
            f"SELECT t.{column}, COUNT(*) FROM {table} t LEFT JOIN {ref_table} r "
            f"ON t.{column} = r.{ref_key} WHERE t.{column} IS NOT NULL AND r.{ref_key} IS NULL "
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchone()
        if bad is None:
            continue
        value, rows = bad
        first = _first_row(con, table, f"{column} = ?", [value])
        where = _where(first[0], first[1], kinds[table]) + ", " if first else f"{table}: "
        raise ImportError_(
            f"{where}column {column}: {value!r} is not in {ref_table} "
            f"({rows} row(s) of {table} refer to it)."
        )


def check_renewals(con, kinds: dict[str, str]) -> None:
    """A renewal and the contract it renews (contract_id; may be blank) belong together: the
    contract is the renewal's account's, and the renewal is not dated before the contract
    started (the renewal would be known before it existed). First failing row named."""
    if "renewals" not in kinds:
        return
    checks = (
        (
            "contract_id",
            "c.account_id <> r.account_id",
            lambda v, c: (
                f"{v!r} is a contract of account {c['account_id']!r}, "
                f"not of the renewal's account {c['renewal_account']!r}"
            ),
        ),
        (
            "renewal_date",
            "r.renewal_date < c.start_date",
            lambda v, c: (
                f"{v} is before the start of its contract {c['contract_id']!r} ({c['start_date']})"
            ),
        ),
    )
    for column, condition, wrong in checks:
        row = con.execute(
            f"""
            SELECT t._file, t._row, t.{column}, c.contract_id, c.account_id, c.start_date,
                   t.account_id AS renewal_account
            FROM {_typed("renewals")} t JOIN renewals r ON r.renewal_id = t.renewal_id
            JOIN contracts c ON c.contract_id = r.contract_id
            WHERE {condition} ORDER BY t._file, t._row LIMIT 1
            """
        ).fetchone()
        if row is not None:
            keys = ("contract_id", "account_id", "start_date", "renewal_account")
            found = dict(zip(keys, row[3:], strict=True))
            raise ImportError_(
                f"{_where(row[0], row[1], kinds['renewals'])}, column {column}: "
                f"{wrong(row[2], found)}."
            )


def check_owner_history(con, kinds: dict[str, str]) -> None:
    """One account's owner intervals [valid_from, valid_to) tile its history: no two overlap
    (two open rows included), none leaves a gap before the next (a day nobody owned is a row
    with an empty owner_csm_id), and the last one is open and names the account's current
    owner (accounts.owner_csm_id; empty in both is fine). Every check is an error: the loader
    has no warnings, and compensation credits each renewal to the owner on its day, so a gap
    or an overlap would silently drop or double a credit. The first failing row is named with
    file, row and column, and the other row involved with its row.

    Deliberately not checked: an interval starting before the account's created_date or
    before its owner's hire_date (or running past their end_date). Real CRMs backfill and
    migrate owners loosely; such rows still say who was credited, and rejecting them would
    refuse most real exports."""
    table = "account_owner_history"
    if table not in kinds:
        return
    kind = kinds[table]
    row = con.execute(
        f"""
        WITH ordered AS (
            SELECT _file, _row, account_id, owner_csm_id, valid_from, valid_to,
                   LAG(_file) OVER w AS prev_file, LAG(_row) OVER w AS prev_row,
                   LAG(valid_from) OVER w AS prev_from, LAG(valid_to) OVER w AS prev_to,
                   LAG(account_id) OVER w AS prev_account
            FROM {_typed(table)}
            WINDOW w AS (PARTITION BY account_id ORDER BY valid_from)
        )
        SELECT _file, _row, account_id, valid_from, prev_file, prev_row, prev_from, prev_to,
               CASE WHEN prev_to IS NULL OR valid_from < prev_to THEN 'overlap' ELSE 'gap' END
        FROM ordered
        WHERE prev_account IS NOT NULL AND (prev_to IS NULL OR valid_from <> prev_to)
        ORDER BY _file, _row LIMIT 1
        """
    ).fetchone()
    if row is not None:
        file, at, account, start, prev_file, prev_row, prev_from, prev_to, problem = row
        other = f"row {prev_row}" + (f" of {Path(prev_file).name}" if prev_file != file else "")
        if problem == "overlap":
            held = (
                f"from {prev_from} on, still open"
                if prev_to is None
                else (f"from {prev_from} to {prev_to}")
            )
            wrong = (
                f"{start} falls inside {other} (account {account!r}, {held}): "
                "one account's owner intervals may not overlap"
            )
        else:
            wrong = (
                f"{start} leaves a gap after {other} (account {account!r}, ended {prev_to}): "
                "a day nobody owned must be a row with an empty owner_csm_id"
            )
        raise ImportError_(f"{_where(file, at, kind)}, column valid_from: {wrong}.")
    row = con.execute(
        f"""
        SELECT h._file, h._row, h.account_id, h.owner_csm_id, h.valid_to, a.owner_csm_id
        FROM {_typed(table)} h JOIN accounts a USING (account_id)
        WHERE h.valid_from = (SELECT MAX(l.valid_from) FROM {_typed(table)} l
                              WHERE l.account_id = h.account_id)
          AND (h.valid_to IS NOT NULL OR h.owner_csm_id IS DISTINCT FROM a.owner_csm_id)
        ORDER BY h._file, h._row LIMIT 1
        """
    ).fetchone()
    if row is not None:
        file, at, account, owner, end, current = row
        current_shown = "no owner" if current is None else repr(current)
        if end is not None:
            column, wrong = (
                "valid_to",
                (
                    f"{end} ends the last interval of account {account!r}: its last interval must "
                    f"be open (empty valid_to) and name its current owner ({current_shown})"
                ),
            )
        else:
            column, wrong = (
                "owner_csm_id",
                (
                    f"{'empty' if owner is None else repr(owner)} holds the open interval of "
                    f"account {account!r} but accounts.owner_csm_id is {current_shown}: the open "
                    "interval must name the account's current owner"
                ),
            )
        raise ImportError_(f"{_where(file, at, kind)}, column {column}: {wrong}.")


def read_source_meta(folder: Path) -> dict:
    path = folder / "meta.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def builds_folder(target: Path) -> Path:
    """The folder of versioned builds beside a target: `<target>.builds/`."""
    target = Path(target)
    return target.with_name(target.name + BUILDS_SUFFIX)


def new_build_id() -> str:
    """A build id that sorts by time: `YYYYmmddHHMMSS-<8 hex>`."""
    return f"{datetime.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"


def point_to(target: Path, build_file: Path) -> None:
    """Atomically make `target` a symlink to `build_file` (relative, so the folder can move).

    A new symlink is made beside the target and renamed onto it: a reader sees either the old
    pointer or the new one, never none. A plain file left there by an older version of the app
    is replaced the same way (with its stale WAL, if any).
    """
    target = Path(target)
    was_plain_file = target.exists() and not target.is_symlink()
    link = target.with_name(f".{target.name}.link-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    os.symlink(os.path.relpath(build_file, target.parent), link)
    try:
        os.replace(link, target)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    if was_plain_file:
        target.with_name(target.name + ".wal").unlink(missing_ok=True)


def current_build_file(target: Path) -> Path | None:
    """The versioned file the target points to (None if the target is not a pointer)."""
    target = Path(target)
    if not target.is_symlink():
        return None
    return Path(os.path.realpath(target))


def prune_builds(target: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` builds (never the one the target points to).

    Returns the files deleted. A reader in another process that still has a deleted file open
    keeps reading it (POSIX); its next query follows the pointer to the current build.
    """
    folder = builds_folder(target)
    current = current_build_file(target)
    builds = sorted(
        folder.glob("*" + BUILD_SUFFIX), key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True
    )
    deleted = []
    for old in builds[max(keep, 1) :]:
        if current is not None and old.resolve() == current:
            continue
        for f in (old, old.with_name(old.name + ".wal")):
            f.unlink(missing_ok=True)
        deleted.append(old)
    return deleted


def build_database(
    source: Path,
    target: Path,
    as_of: date | None = None,
    derive: Callable[[duckdb.DuckDBPyConnection, date], None] | None = None,
    memory_limit: str = "8GB",
    keep_builds: int = 3,
) -> dict[str, int]:
    """Build a new versioned file from the files in `source` and point `target` to it.

    The build is written to `<target>.builds/<build_id>.duckdb` and `target` (a symlink) is
    swapped to it only when everything succeeded: a failed import leaves the pointer and the
    current build untouched and removes its own partial file. The newest `keep_builds` builds
    are kept for rollback; older ones are deleted (never the current one).

    Args:
        source: folder with one file (or folder of files) per contract table.
        target: the pointer to (re)place, e.g. data/csops.duckdb.
        as_of: the data's "today"; defaults to meta.json's as_of_date, else the last usage day.
        derive: builds derived tables (health snapshots, ...) inside the new file.
        memory_limit: DuckDB's memory limit for the build (beyond it, work spills to disk).
        keep_builds: how many builds to keep in the builds folder (at least 1).
    """
    source, target = Path(source), Path(target)
    if not source.is_dir():
        raise ImportError_(f"Source folder {source} does not exist.")
    folder = builds_folder(target)
    folder.mkdir(parents=True, exist_ok=True)
    build_id = new_build_id()
    final = folder / f"{build_id}{BUILD_SUFFIX}"
    # Written under a name no reader or pruner looks at, renamed once complete and closed.
    partial = folder / f"{build_id}{PARTIAL_SUFFIX}"
    # A bounded buffer pool: a 1M-account build spills to disk instead of taking the machine.
    con = duckdb.connect(str(partial), config={"memory_limit": memory_limit})
    try:
        con.execute(SCHEMA_PATH.read_text())
        columns = contract_columns(con)
        counts, kinds = {}, {}
        for table in SOURCE_TABLES:
            if table in OPTIONAL_TABLES and not has_source(source, table):
                counts[table] = 0
                continue
            kinds[table], files = find_source(source, table)
            counts[table] = validate_and_insert(con, table, columns[table], kinds[table], files)
        check_references(con, kinds)
        check_renewals(con, kinds)
        check_owner_history(con, kinds)
        meta = read_source_meta(source)
        if as_of is None and meta.get("as_of_date"):
            as_of = date.fromisoformat(meta["as_of_date"])
        if as_of is None:
            as_of = con.execute("SELECT MAX(day) FROM usage_daily").fetchone()[0]
        if as_of is None:
            raise ImportError_("Cannot tell the data's as-of date: give --as-of or usage rows.")
        if derive is not None:
            derive(con, as_of)
        con.execute(
            "INSERT INTO meta (build_id, built_at, as_of_date, source, row_counts, schema_version) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                build_id,
                datetime.now(),
                as_of,
                meta.get("source", str(source)),
                json.dumps(counts),
                SCHEMA_VERSION,
            ],
        )
        con.execute("CHECKPOINT")
        con.close()
        os.replace(partial, final)
        point_to(target, final)
    except BaseException:
        con.close()
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            leftover.unlink(missing_ok=True)
        if final.exists() and current_build_file(target) != final.resolve():
            final.unlink()
        raise
    try:
        prune_builds(target, keep_builds)
    except OSError:  # the new build is in place; an old file that will not go is no failure
        log.warning("could not delete old builds in %s", folder, exc_info=True)
    return counts
