"""Accounts exports: formula neutralisation, faithful rows and order, header, row cap, routes."""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from flask import Flask

from components.grids import ACCOUNT_COLUMNS
from pages._exports import export_href, register_export_routes
from services.account_list import account_page, account_totals
from services.asof import resolve_as_of
from services.db import get_database
from services.errors import InvalidFilter
from services.exports import (
    ACCOUNT_EXPORT_COLUMNS,
    ExportColumn,
    ExportTooLarge,
    account_batches,
    accounts_csv,
    accounts_xlsx,
    check_size,
    csv_chunks,
    parse_sort,
    write_xlsx,
)
from services.filters import AccountDrill, Filters
from tests.unit.tiny import account, build_tiny, contract

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tx", "\rx"]
SAFE = ["Acme Corp", "O'Brien & Sons", "3M", "a=b", ""]
COLUMNS = (
    ExportColumn("name", "Account"),
    ExportColumn("arr", "ARR", "money"),
    ExportColumn("health_change", "Δ 4 wks", "change"),
    ExportColumn("next_renewal_date", "Next renewal", "date"),
)
GRID_HEADERS = [
    c.get("headerName") or c["field"].replace("_", " ").title() for c in ACCOUNT_COLUMNS
]


def _batch() -> pa.RecordBatch:
    names = HOSTILE + SAFE + ["Null Co"]  # the last row has no numbers and no date
    n = len(names)
    frame = pd.DataFrame(
        {
            "name": names,
            "arr": [1000.0 * (i + 1) for i in range(n - 1)] + [None],
            "health_change": [-3.2] + [1.5] * (n - 2) + [None],
            "next_renewal_date": [date(2026, 9, 30)] * (n - 1) + [None],
        }
    )
    return pa.RecordBatch.from_pandas(frame, preserve_index=False)


def _read_csv(data: bytes) -> list[list[str]]:
    # newline="" keeps a CR inside a quoted cell, as a spreadsheet would.
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _read_xlsx(source) -> list[list]:
    sheet = openpyxl.load_workbook(source).active
    return [[cell for cell in row] for row in sheet.iter_rows()]


def test_csv_neutralises_every_formula_prefix_and_keeps_numbers():
    rows = _read_csv(b"".join(csv_chunks([_batch()], COLUMNS)))
    assert rows[0] == ["Account", "ARR", "Δ 4 wks", "Next renewal"]
    names = [r[0] for r in rows[1:]]
    assert names[: len(HOSTILE)] == ["'" + h for h in HOSTILE]
    assert names[len(HOSTILE) : len(HOSTILE) + len(SAFE)] == SAFE  # untouched
    assert rows[-1][1:] == ["", "", ""]  # nulls stay empty
    first = rows[1]
    assert first[2] == "-3.2"  # a negative number is not text: no quote prefix
    assert float(first[1]) == 1000.0 and first[3] == "2026-09-30"


def test_xlsx_neutralises_every_formula_prefix_and_keeps_types(tmp_path):
    target = tmp_path / "out.xlsx"
    assert write_xlsx([_batch()], target, COLUMNS) == len(HOSTILE) + len(SAFE) + 1
    book = openpyxl.load_workbook(target)
    sheet = book.active
    rows = _read_xlsx(target)
    assert [c.value for c in rows[0]] == ["Account", "ARR", "Δ 4 wks", "Next renewal"]
    for cell, text in zip((r[0] for r in rows[1:]), HOSTILE, strict=False):
        assert cell.data_type == "s" and cell.value.startswith("'"), cell.value
        assert cell.value[1:].replace("_x000D_", "\r") == text  # openpyxl leaves CR escaped
    assert [r[0].value for r in rows[7:11]] == SAFE[:4]
    money, change, when = rows[1][1], rows[1][2], rows[1][3]
    assert money.data_type == "n" and money.value == 1000 and money.number_format == "$#,##0"
    assert change.data_type == "n" and change.value == -3.2
    assert change.number_format == "+0.0;-0.0;0.0" and when.number_format == "yyyy-mm-dd"
    assert when.is_date and when.value.date() == date(2026, 9, 30)
    assert rows[-1][0].value == "Null Co" and rows[-1][1].value is None  # null: empty cell
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:D{len(rows)}"


def test_xlsx_keeps_links_as_text_bolds_the_header_and_cuts_overlong_text(tmp_path):
    long = "x" * 40_000  # over Excel's 32,767-character cell limit
    names = ["http://example.com", "mailto:a@b.c", "www.example.com", long]
    batch = pa.RecordBatch.from_pandas(
        pd.DataFrame(
            {
                "name": names,
                "arr": [1.0] * 4,
                "health_change": [0.5] * 4,
                "next_renewal_date": [date(2026, 1, 2)] * 4,
            }
        ),
        preserve_index=False,
    )
    target = tmp_path / "links.xlsx"
    assert write_xlsx([batch.slice(0, 2), batch.slice(2)], target, COLUMNS) == 4  # two batches
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows())
    assert all(c.font.b for c in rows[0]) and not rows[1][0].font.b
    cells = [r[0] for r in rows[1:]]
    assert [c.value for c in cells[:3]] == names[:3]
    assert all(c.data_type == "s" and c.hyperlink is None for c in cells)
    assert cells[3].value == long[:32_767]
    assert not sheet._hyperlinks


def test_xlsx_of_an_empty_list_has_the_header_only(tmp_path):
    target = tmp_path / "empty.xlsx"
    assert write_xlsx([_batch().slice(0, 0)], target, COLUMNS) == 0
    assert write_xlsx([], tmp_path / "none.xlsx", COLUMNS) == 0
    for path in (target, tmp_path / "none.xlsx"):
        sheet = openpyxl.load_workbook(path).active
        assert [[c.value for c in r] for r in sheet.iter_rows()] == [
            ["Account", "ARR", "Δ 4 wks", "Next renewal"]
        ]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D1"


def test_hostile_names_in_the_database_are_neutralised_in_both_formats(tmp_path):
    names = HOSTILE[:4] + ["Plain Co"]  # tab and CR are covered above (CSV loader trims them)
    accounts, contracts = [], []
    for i, name in enumerate(names):
        accounts.append({**account(f"A{i}"), "name": name})
        contracts.append(contract(f"A{i}", "2025-01-01", "2027-01-01", arr=100 * (i + 1)))
    db = build_tiny(tmp_path, {"accounts": accounts, "contracts": contracts}, date(2026, 6, 30))
    sort = (("name", "asc"),)
    snapshot = resolve_as_of(db, Filters()).date
    rows = _read_csv(b"".join(accounts_csv(db, Filters(), AccountDrill(), snapshot, sort)))
    expected = sorted(names)
    neutral = ["'" + n if n in HOSTILE else n for n in expected]
    assert [r[0] for r in rows[1:]] == neutral
    with accounts_xlsx(db, Filters(), AccountDrill(), snapshot, sort) as fh:
        assert [r[0].value for r in _read_xlsx(fh)[1:]] == neutral


def test_export_header_is_the_grids():
    assert [c.field for c in ACCOUNT_EXPORT_COLUMNS] == [c["field"] for c in ACCOUNT_COLUMNS]
    assert [c.header for c in ACCOUNT_EXPORT_COLUMNS] == GRID_HEADERS


def test_row_cap_message():
    check_size(1_000_000, 1_000_000)  # at the cap: allowed
    with pytest.raises(ExportTooLarge) as err:
        check_size(1_234_567, 1_000_000)
    assert str(err.value) == (
        "This list has 1,234,567 accounts; exports are limited to 1,000,000 rows. "
        "Narrow the filters."
    )


def test_sort_parameter_is_allow_listed():
    assert parse_sort(["arr:desc", "name"]) == (("arr", "desc"), ("name", "asc"))
    assert parse_sort(None) == ()
    for bad in ["ad.name; DROP TABLE x:asc", "arr:sideways", "industry:asc"]:
        with pytest.raises(InvalidFilter):
            parse_sort([bad])


@pytest.fixture
def demo(demo_db_path, use_db):
    use_db(demo_db_path)
    db = get_database()
    return db, resolve_as_of(db, Filters()).date


def _all_pages(db, filters, drill, snapshot, sort) -> pd.DataFrame:
    total = account_totals(db, filters, drill, snapshot)["accounts"]
    pages = [
        account_page(db, filters, drill, snapshot, sort, start, 1000)
        for start in range(0, total, 1000)
    ]
    return pd.concat(pages, ignore_index=True)


@pytest.mark.demo
@pytest.mark.parametrize(
    "sort",
    [(), (("next_renewal_date", "asc"),), (("band", "desc"), ("health_change", "asc"))],
)
def test_streamed_rows_equal_the_lists_pages_in_order(demo, sort):
    db, snapshot = demo
    filters, drill = Filters(segment=("SMB", "Mid-Market")), AccountDrill()
    batches = list(account_batches(db, filters, drill, snapshot, sort, batch_rows=1000))
    assert len(batches) > 1 and all(b.num_rows <= 1000 for b in batches)
    streamed = pa.Table.from_batches(batches).to_pandas()
    fields = [c.field for c in ACCOUNT_EXPORT_COLUMNS]
    paged = _all_pages(db, filters, drill, snapshot, sort)[fields]
    for frame in (streamed, paged):
        frame["next_renewal_date"] = pd.to_datetime(frame["next_renewal_date"])
    assert len(streamed) == len(paged) > 1000
    pd.testing.assert_frame_equal(streamed, paged, check_dtype=False)


@pytest.mark.demo
def test_routes_serve_the_grids_rows_sorted(demo, monkeypatch):
    db, snapshot = demo
    filters, drill = Filters(segment=("Enterprise",)), AccountDrill(band=("red", "yellow"))
    sort = (("health_score", "asc"), ("name", "desc"))
    expected = _all_pages(db, filters, drill, snapshot, sort)
    server = Flask(__name__)  # the routes alone: the test does not depend on every page
    register_export_routes(server)
    client = server.test_client()

    href = export_href("csv", filters, drill, snapshot, sort)
    assert parse_qs(urlsplit(href).query)["sort"] == ["health_score:asc", "name:desc"]
    response = client.get(href)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f"accounts-{snapshot:%Y%m%d}.csv")
    rows = _read_csv(response.get_data())
    assert rows[0] == GRID_HEADERS
    assert [r[0] for r in rows[1:]] == expected["name"].tolist()
    assert [float(r[3]) for r in rows[1:]] == expected["arr"].tolist()

    response = client.get(export_href("xlsx", filters, drill, snapshot, sort))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f"accounts-{snapshot:%Y%m%d}.xlsx")
    sheet = _read_xlsx(io.BytesIO(response.get_data()))
    response.close()
    assert [c.value for c in sheet[0]] == GRID_HEADERS
    assert [r[0].value for r in sheet[1:]] == expected["name"].tolist()
    assert [r[3].value for r in sheet[1:]] == expected["arr"].tolist()
    formats = [c.number_format for c in sheet[1]]
    assert formats[3:9] == ["$#,##0", "0.0", "General", "+0.0;-0.0;0.0", "yyyy-mm-dd", "$#,##0"]

    monkeypatch.setenv("CSOPS_EXPORT_MAX_ROWS", "10")
    for kind in ("csv", "xlsx"):
        response = client.get(export_href(kind, Filters(), AccountDrill(), snapshot))
        total = account_totals(db, Filters(), AccountDrill(), snapshot)["accounts"]
        assert response.status_code == 400
        assert response.get_data(as_text=True) == (
            f"This list has {total:,} accounts; exports are limited to 10 rows. Narrow the filters."
        )
    response = client.get("/export/accounts.csv?sort=owner_csm_id:asc")
    assert response.status_code == 400 and "Cannot sort by" in response.get_data(as_text=True)
