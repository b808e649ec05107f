"""Imports: bad files are rejected with file, row and column; the previous database stays."""

from datetime import date

import pytest

from services.build import build
from services.db import Database
from services.errors import DataUnavailable, ImportRejected
from tests.unit.tiny import account, build_tiny, contract, write_source

AS_OF = date(2026, 6, 30)
CONTRACT = contract("A", "2026-01-01", "2027-01-01", contract_id="K")


def _good(tmp_path):
    return build_tiny(tmp_path, {"accounts": [account("A")], "contracts": [CONTRACT]}, AS_OF)


def _rejected(tmp_path, tables, match):
    source = write_source(tmp_path / "bad", tables)
    with pytest.raises(ImportRejected, match=match):
        build(source, tmp_path / "tiny.duckdb", as_of=AS_OF)


def test_bad_date_names_file_row_and_column_and_keeps_old_data(tmp_path):
    db = _good(tmp_path)
    build_id = db.info().build_id
    bad = dict(CONTRACT, start_date="31/01/2026")
    _rejected(
        tmp_path,
        {"accounts": [account("A")], "contracts": [CONTRACT | {"contract_id": "K0"}, bad]},
        r"contracts\.csv, row 2, line 3, column start_date: '31/01/2026' is not a valid DATE",
    )
    assert Database(db.path).info().build_id == build_id
    assert [p.name for p in (tmp_path / "tiny.duckdb.builds").iterdir()] == [f"{build_id}.duckdb"]


@pytest.mark.parametrize(
    "tables, match",
    [
        (
            {"accounts": [account("A", segment="Startup")]},
            r"accounts\.csv, row 1, line 2, column segment: 'Startup' is not one of SMB, Mid-Market, Enterprise",
        ),
        ({"accounts": [account("A"), account("A")]}, r"accounts\.csv, row 2, .*duplicate key 'A'"),
        (
            {"accounts": [account("A") | {"name": ""}]},
            r"accounts\.csv, row 1, .*column name: a value is required",
        ),
        (
            {"accounts": [account("A")], "contracts": [CONTRACT | {"account_id": "Z"}]},
            r"contracts\.csv, row 1, line 2, column account_id: 'Z' is not in accounts \(1 row\(s\) "
            r"of contracts refer to it\)",
        ),
        (
            {"accounts": [account("A")], "contracts": [CONTRACT | {"arr": "lots"}]},
            r"contracts\.csv, row 1, line 2, column arr: 'lots' is not a valid DOUBLE",
        ),
        (
            {
                "accounts": [account("A")],
                "contracts": [CONTRACT | {"contract_id": "K0"}, CONTRACT | {"arr": -1}],
            },
            r"contracts\.csv, row 2, line 3, column arr: -1\.0 is negative: ARR cannot be below 0",
        ),
        (
            {"accounts": [account("A")], "contracts": [CONTRACT | {"end_date": "2025-12-31"}]},
            r"contracts\.csv, row 1, line 2, column end_date: 2025-12-31 is not after the "
            r"contract's start_date",
        ),
    ],
)
def test_contract_violations_are_named(tmp_path, tables, match):
    _rejected(tmp_path, tables, match)


def test_missing_table_is_named(tmp_path):
    source = write_source(tmp_path / "src", {"accounts": [account("A")]})
    (source / "tickets.csv").unlink()
    with pytest.raises(ImportRejected, match="Missing table 'tickets'"):
        build(source, tmp_path / "x.duckdb", as_of=AS_OF)


def test_missing_or_corrupt_database_says_what_to_do_without_path_or_command(tmp_path):
    with pytest.raises(DataUnavailable, match="No data has been loaded yet") as missing:
        Database(tmp_path / "nope.duckdb").info()
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataUnavailable, match="cannot be read") as unreadable:
        Database(corrupt).info()
    for message in (str(missing.value), str(unreadable.value)):
        assert str(tmp_path) not in message and ".duckdb" not in message
        assert "make" not in message and "python" not in message


def test_swapped_file_is_picked_up(tmp_path):
    db = _good(tmp_path)
    first = db.info().build_id
    build(
        write_source(
            tmp_path / "again", {"accounts": [account("A"), account("B")], "contracts": [CONTRACT]}
        ),
        db.path,
        as_of=AS_OF,
    )
    assert db.info().build_id != first
    assert db.scalar("SELECT COUNT(*) FROM accounts") == 2


def test_parquet_sources_report_rows_too(tmp_path):
    import pandas as pd

    source = write_source(tmp_path / "pq", {"accounts": [account("A")], "contracts": [CONTRACT]})
    (source / "accounts.csv").unlink()
    pd.DataFrame([account("A"), account("B"), account("A")]).to_parquet(source / "accounts.parquet")
    with pytest.raises(
        ImportRejected,
        match=r"accounts\.parquet, row 3, column account_id: duplicate key 'A' \(first at row 1\)",
    ):
        build(source, tmp_path / "x.duckdb", as_of=AS_OF)


def test_a_new_import_invalidates_cached_results(tmp_path, monkeypatch):
    from services import cache
    from services.filters import Filters
    from services.retention import arr_at

    monkeypatch.setenv("CSOPS_CACHE_DIR", str(tmp_path / "cache"))
    cache.configure("filesystem")
    db = _good(tmp_path)
    queries = []
    run_query = db.query
    monkeypatch.setattr(db, "query", lambda *a, **k: queries.append(a) or run_query(*a, **k))
    assert arr_at(db, Filters(), AS_OF)["arr"] == 10
    asked = len(queries)
    assert asked > 0
    assert arr_at(db, Filters(), AS_OF)["arr"] == 10
    assert len(queries) == asked  # served from the cache: no query ran
    bigger = CONTRACT | {"arr": 25}
    build(
        write_source(tmp_path / "v2", {"accounts": [account("A")], "contracts": [bigger]}),
        db.path,
        as_of=AS_OF,
    )
    assert arr_at(db, Filters(), AS_OF)["arr"] == 25
