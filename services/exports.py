"""Exports of the Accounts list (CSV, XLSX): one streamed query, the grid's columns and order.

The rows come from `account_list.list_query`, the same builder as the grid's pages, so an export
holds exactly the rows the grid shows, in the grid's sort order. They are read as Arrow record
batches and written batch by batch, so memory stays flat whatever the size. Every text cell that
a spreadsheet would read as a formula is neutralised (OWASP "CSV injection") by one function both
writers use. Above a row cap the export is refused rather than truncated.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import tempfile
from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from rustpy_xlsxwriter import Format, write_worksheet

from services.account_list import SORTABLE, account_totals, list_query
from services.db import Database
from services.errors import ServiceError
from services.filters import AccountDrill, Filters
from services.filters import parse_sort as filters_parse_sort
from services.settings import load_settings

XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
XLSX_MAX_TEXT = 32_767  # Excel's limit on the characters in a cell
BATCH_ROWS = 20_000
MAX_SORT_KEYS = 5


class ExportTooLarge(ServiceError):
    """The list is longer than the export cap; the message says how to narrow it."""


@dataclass(frozen=True)
class ExportColumn:
    """One column of the export: list field, header (the grid's), and how to format it."""

    field: str
    header: str
    kind: str = "text"  # text | money | score | change | date


# The Accounts grid's columns, in its order, with its headers (components/grids.py
# ACCOUNT_COLUMNS; tests/unit/test_exports.py checks the two agree).
ACCOUNT_EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("name", "Account"),
    ExportColumn("segment", "Segment"),
    ExportColumn("owner_name", "Owner"),
    ExportColumn("arr", "ARR", "money"),
    ExportColumn("health_score", "Health", "score"),
    ExportColumn("band", "Band"),
    ExportColumn("health_change", "Δ 4 wks", "change"),
    ExportColumn("next_renewal_date", "Next renewal", "date"),
    ExportColumn("renewal_arr", "Renewal ARR", "money"),
    ExportColumn("forecast_category", "CSM call"),
    ExportColumn("region", "Region"),
    ExportColumn("coverage_tier", "Tier"),
    ExportColumn("team", "Team"),
    ExportColumn("lifecycle_stage", "Stage"),
    ExportColumn("missing_inputs", "Missing inputs"),
)
XLSX_FORMATS = {"money": "$#,##0", "score": "0.0", "change": "+0.0;-0.0;0.0", "date": "yyyy-mm-dd"}

# A cell starting with one of these is read as a formula (or DDE) by Excel, LibreOffice, Sheets.
FORMULA_TRIGGER = r"^([=+\-@\t\r])"


def neutralise(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Prefix a single quote to every text cell that starts with = + - @ tab or CR.

    Numbers, dates and nulls are left as they are. Both writers call this.
    """
    arrays = []
    for array in batch.columns:
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            array = pc.replace_substring_regex(array, FORMULA_TRIGGER, r"'\1", max_replacements=1)
        elif pa.types.is_string_view(array.type):
            array = pc.replace_substring_regex(
                array.cast(pa.string()), FORMULA_TRIGGER, r"'\1", max_replacements=1
            )
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def parse_sort(values: Any) -> tuple[tuple[str, str], ...]:
    """The list's sort from `field:asc|desc` URL values (allow-listed; see filters.parse_sort)."""
    return filters_parse_sort(values, SORTABLE, MAX_SORT_KEYS)


def check_size(rows: int, cap: int) -> None:
    """Refuse (ExportTooLarge) a list longer than `cap` rows, with a message saying so."""
    if rows > cap:
        raise ExportTooLarge(
            f"This list has {rows:,} accounts; exports are limited to {cap:,} rows. "
            "Narrow the filters."
        )


def account_batches(
    db: Database,
    filters: Filters,
    drill: AccountDrill,
    snapshot: date,
    sort: tuple[tuple[str, str], ...] = (),
    batch_rows: int = BATCH_ROWS,
) -> Generator[pa.RecordBatch]:
    """The whole list as record batches: export columns, grid order, one query (not neutralised)."""
    sql, bind = list_query(
        filters, drill, snapshot, tuple(c.field for c in ACCOUNT_EXPORT_COLUMNS), sort
    )
    return db.stream(sql, bind, batch_rows)


def csv_chunks(
    batches: Iterable[pa.RecordBatch], columns: tuple[ExportColumn, ...] = ACCOUNT_EXPORT_COLUMNS
) -> Generator[bytes]:
    """UTF-8 CSV (with a BOM, so Excel reads accents right), one chunk per batch.

    Nothing is yielded before the first batch arrives, so a failing query fails before the
    response starts; an empty list still gets its header.
    """
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([c.header for c in columns])
    header = ("\ufeff" + out.getvalue()).encode()
    options = pa_csv.WriteOptions(include_header=False)
    for batch in batches:
        buffer = io.BytesIO()
        pa_csv.write_csv(neutralise(batch), buffer, options)
        yield header + buffer.getvalue()
        header = b""
    if header:
        yield header


def _xlsx_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cut text cells to Excel's 32,767-character limit (the writer refuses longer ones)."""
    arrays = []
    for array in batch.columns:
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            longest = pc.max(pc.utf8_length(array)).as_py()
            if longest is not None and longest > XLSX_MAX_TEXT:
                array = pc.utf8_slice_codeunits(array, 0, XLSX_MAX_TEXT)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def write_xlsx(
    batches: Iterable[pa.RecordBatch],
    target: str | os.PathLike[str],
    columns: tuple[ExportColumn, ...] = ACCOUNT_EXPORT_COLUMNS,
) -> int:
    """Write an XLSX file batch by batch (constant memory); returns the number of data rows.

    Money, scores and dates are real numbers and dates with number formats; the header row is
    frozen and carries an autofilter. Text is always written as text, never as a formula or a
    link. rustpy-xlsxwriter (rust_xlsxwriter underneath) writes the rows as they come from a
    generator of records, one batch of Python values at a time; it is ~5x faster than
    XlsxWriter's per-cell calls (docs/PERFORMANCE.md, "Exports").
    """
    headers = [c.header for c in columns]
    if len(set(headers)) != len(headers):
        raise ValueError("export headers must be unique (they key the records)")
    fields = [c.field for c in columns]
    rows = 0

    def records() -> Generator[dict[str, Any]]:
        nonlocal rows
        for batch in batches:
            batch = _xlsx_text(neutralise(batch.select(fields))).rename_columns(headers)
            rows += batch.num_rows
            yield from batch.to_pylist()

    data: Any = records()
    first = next(data, None)
    if first is None:  # no rows: the writer takes the header from an empty frame
        data = pd.DataFrame({h: pd.Series([], dtype=object) for h in headers})
    else:
        data = itertools.chain([first], data)
    write_worksheet(
        data,
        os.fspath(target),
        sheet_name="Accounts",
        freeze_row=1,
        header_format=Format().set_bold(),
        column_formats=[
            Format().set_num_format(XLSX_FORMATS[c.kind]) if c.kind != "text" else None
            for c in columns
        ],
        column_widths=[30 if c.field == "name" else max(12, len(c.header) + 4) for c in columns],
        datetime_format=XLSX_FORMATS["date"],
        autofilter=True,
    )
    return rows


def accounts_csv(
    db: Database,
    filters: Filters,
    drill: AccountDrill,
    snapshot: date,
    sort: tuple[tuple[str, str], ...] = (),
) -> Generator[bytes]:
    """The Accounts list as CSV chunks; raises ExportTooLarge at once above the row cap."""
    rows = account_totals(db, filters, drill, snapshot)["accounts"]
    check_size(rows, load_settings().export_max_rows)
    return csv_chunks(account_batches(db, filters, drill, snapshot, sort))


def accounts_xlsx(
    db: Database,
    filters: Filters,
    drill: AccountDrill,
    snapshot: date,
    sort: tuple[tuple[str, str], ...] = (),
) -> BinaryIO:
    """The Accounts list as an XLSX file, open for reading; the file is already unlinked.

    Written to a temporary file (XLSX is a zip: it cannot be streamed as it is made), which is
    deleted from the directory before returning, so it disappears when the handle is closed.
    """
    rows = account_totals(db, filters, drill, snapshot)["accounts"]
    check_size(rows, min(load_settings().export_max_rows, XLSX_MAX_ROWS))
    fd, path = tempfile.mkstemp(prefix="csops-export-", suffix=".xlsx")
    os.close(fd)
    try:
        with closing(account_batches(db, filters, drill, snapshot, sort)) as batches:
            write_xlsx(batches, path)
        return open(path, "rb")  # noqa: SIM115 - the caller (the response) closes it
    finally:
        os.unlink(path)
