"""Exports of a what-if scenario: its inputs and its quarterly table, as XLSX (two sheets,
number formats, the header row frozen) and as CSV (the inputs, a blank line, the table).

Built from the same URL parameters as the page (filters, as-of, the scenario's and the
workload model's keys), so the file holds exactly what the page shows. Text cells go through
the export neutraliser (services/exports.py), so nothing in them is read as a formula.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
from rustpy_xlsxwriter import Format, write_worksheets

from services.capacity_projection import (
    ScenarioInputs,
    project,
    scenario_baseline,
    segment_columns,
)
from services.capacity_scenarios import InvalidScenario
from services.db import Database
from services.exports import XLSX_FORMATS, ExportColumn, neutralise
from services.filters import DIMENSION_LABELS, DIMENSIONS, Filters
from services.workload import SEGMENTS, WorkloadParams

INPUTS_SHEET = "Inputs"
QUARTERS_SHEET = "Quarters"
FORMATS = {**XLSX_FORMATS, "count": "#,##0.0", "fte": "#,##0.0", "percent": "0.0%"}
# CSV cells are rounded to what a reader needs (the XLSX keeps full precision behind formats).
CSV_DIGITS = {"count": 1, "fte": 2, "money": 0, "percent": 4}

QUARTER_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("quarter", "Quarter"),
    ExportColumn("quarter_end", "Quarter end", "date"),
    ExportColumn("share", "Share of the quarter projected", "percent"),
    *(ExportColumn(segment_columns(s)[0], f"Customers, {s}", "count") for s in SEGMENTS),
    ExportColumn("accounts_total", "Customers, all", "count"),
    *(ExportColumn(segment_columns(s)[1], f"ARR, {s} ($)", "money") for s in SEGMENTS),
    ExportColumn("arr_total", "ARR, all ($)", "money"),
    ExportColumn("points", "Workload points", "count"),
    ExportColumn("required_fte", "Required FTE", "fte"),
    ExportColumn("supply_fte", "Supply FTE, today's team after attrition and ramp", "fte"),
    ExportColumn("gap_fte", "Gap FTE (required - supply)", "fte"),
    ExportColumn(
        "requisitions_to_open", "Requisitions (hires needed by the quarter's end)", "count"
    ),
    ExportColumn("open_by", "Open the requisitions by", "date"),
    ExportColumn("late", "Open now (date already past)"),
    ExportColumn("covered_from", "Full capacity from", "date"),
    ExportColumn("planned_supply_fte", "Supply FTE with the requisitions", "fte"),
    ExportColumn("utilisation", "Utilisation with the requisitions", "percent"),
    ExportColumn("cost", "Cost of the hires so far ($ a year)", "money"),
)
INPUT_COLUMNS = (
    ExportColumn("input", "Input"),
    ExportColumn("value", "Value"),
    ExportColumn("unit", "Unit"),
)


@dataclass(frozen=True)
class ScenarioExport:
    """A scenario as exported: its two tables and a file name."""

    inputs: pd.DataFrame  # input, value, unit
    quarters: pd.DataFrame  # QUARTER_COLUMNS
    filename: str


def _scope(filters: Filters) -> str:
    parts = [
        f"{DIMENSION_LABELS[dim]}: {', '.join(getattr(filters, dim))}"
        for dim in DIMENSIONS
        if getattr(filters, dim)
    ]
    return "; ".join(parts) or "All customers"


def scenario_export(
    db: Database, filters: Filters, day: date, params: Mapping[str, Any]
) -> ScenarioExport:
    """The scenario of URL `params` on `day` (a snapshot date) under `filters`; raises
    InvalidScenario when an input cannot be used (as the page would mark it)."""
    inputs, errors = ScenarioInputs.from_params(params)
    workload, workload_errors = WorkloadParams.from_params(params)
    errors.update(workload_errors)
    if errors:
        raise InvalidScenario(
            "This scenario link has inputs that cannot be used: " + " ".join(errors.values())
        )
    baseline = scenario_baseline(db, filters, day, workload)
    p = project(baseline, inputs, workload)
    rows: list[tuple[str, Any, str]] = [
        ("Scenario as of", day.isoformat(), "date"),
        ("Scope", _scope(filters), ""),
        ("Answer", p.sentence, ""),
    ]
    resolved = dict(inputs.labels(baseline))
    for label, text in resolved.items():
        value, unit = _split(label, inputs, baseline)
        rows.append((label, value if value is not None else text, unit))
    rows += [
        ("Target utilisation", round(100 * workload.target_utilisation, 6), "%"),
        ("Capacity per CSM (one FTE)", workload.capacity_points, "workload points"),
        ("Customers today", baseline.accounts, "customers"),
        ("Workload points today", round(baseline.points, 2), "points"),
        ("Active CSMs today", baseline.active_csms, "CSMs"),
        ("Supply today", round(p.supply_now, 2), "FTE"),
        ("Required today", round(p.required_now, 2), "FTE"),
        (
            "Customers in open books (owner left or missing)",
            baseline.open_book_accounts,
            "customers",
        ),
        ("Requisitions", p.total_requisitions, "hires"),
        ("Of them backfills for attrition", p.backfills, "hires"),
        ("Cost of the hires", p.annual_cost, "$ a year"),
    ]
    table = p.quarters[[c.field for c in QUARTER_COLUMNS]].copy()
    table["late"] = table["late"].map({True: "Yes", False: ""})
    return ScenarioExport(
        inputs=pd.DataFrame(rows, columns=["input", "value", "unit"]),
        quarters=table,
        filename=f"capacity-scenario-{day:%Y%m%d}",
    )


def _split(label: str, inputs: ScenarioInputs, baseline) -> tuple[Any, str]:
    """An input's number and unit for the sheet (None: the label's text is the value)."""
    for i, segment in enumerate(SEGMENTS):
        for name, title in (("growth", "New logos a quarter"), ("churn", "Logo churn a quarter")):
            if label == f"{title}, {segment}":
                value = getattr(inputs, name)[i]
                base = baseline.segment(segment)
                actual = base.growth_actual if name == "growth" else base.churn_actual
                unit = "% of the segment's customers a quarter"
                if value is None:
                    return round(100 * actual, 4), unit + " (trailing actual)"
                return round(100 * value, 4), unit
    numbers = {
        "Horizon": (inputs.horizon, "quarters"),
        "CSM attrition": (round(100 * inputs.attrition, 4), "% a year"),
        "Ramp to full capacity": (inputs.ramp_months, "months"),
        "Productivity while ramping": (round(100 * inputs.ramp_productivity, 4), "%"),
        "Hiring lead time": (inputs.lead_days, "days"),
        "Loaded cost per CSM": (inputs.loaded_cost, "$ a year"),
    }
    return numbers.get(label, (None, ""))


def _records(df: pd.DataFrame, headers: list[str]) -> list[dict[str, Any]]:
    """Rows keyed by header, text neutralised (a cell never starts a formula)."""
    batch = pa.RecordBatch.from_pandas(
        df.astype(object).where(df.notna(), None), preserve_index=False
    )
    return neutralise(batch).rename_columns(headers).to_pylist()


def _input_records(export: ScenarioExport) -> list[dict[str, Any]]:
    # Mixed numbers and text in one column: each cell keeps its own type.
    headers = [c.header for c in INPUT_COLUMNS]
    text = export.inputs.assign(
        value=export.inputs["value"].map(lambda v: v if isinstance(v, str) else None)
    )
    neutral = _records(text, headers)
    out = []
    for row, raw in zip(neutral, export.inputs.itertuples(), strict=True):
        if not isinstance(raw.value, str):
            row[headers[1]] = raw.value
        out.append(row)
    return out


def scenario_xlsx(export: ScenarioExport) -> BinaryIO:
    """The scenario as an XLSX file open for reading (already unlinked from the disk)."""
    headers = [c.header for c in QUARTER_COLUMNS]
    fd, path = tempfile.mkstemp(prefix="csops-scenario-", suffix=".xlsx")
    os.close(fd)
    try:
        write_worksheets(
            [
                (INPUTS_SHEET, _input_records(export)),
                (QUARTERS_SHEET, _records(export.quarters, headers)),
            ],
            path,
            freeze_panes={"general": {"row": 1, "col": 0}, QUARTERS_SHEET: {"row": 1, "col": 1}},
            header_format={"general": Format().set_bold()},
            column_formats={
                QUARTERS_SHEET: [
                    Format().set_num_format(FORMATS[c.kind]) if c.kind != "text" else None
                    for c in QUARTER_COLUMNS
                ]
            },
            column_widths={
                INPUTS_SHEET: [46, 60, 40],
                QUARTERS_SHEET: [max(12, min(30, len(c.header) + 2)) for c in QUARTER_COLUMNS],
            },
            datetime_format=FORMATS["date"],
        )
        return open(path, "rb")  # noqa: SIM115 - the caller (the response) closes it
    finally:
        os.unlink(path)


def _csv_cell(value: Any, kind: str) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if kind in CSV_DIGITS and isinstance(value, int | float):
        digits = CSV_DIGITS[kind]
        return f"{value:.{digits}f}"
    return value


def scenario_csv(export: ScenarioExport) -> bytes:
    """The scenario as UTF-8 CSV (with a BOM for Excel): the inputs, a blank line, the table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.header for c in INPUT_COLUMNS])
    for row in _input_records(export):
        writer.writerow(["" if v is None else v for v in row.values()])
    writer.writerow([])
    writer.writerow([c.header for c in QUARTER_COLUMNS])
    headers = [c.header for c in QUARTER_COLUMNS]
    for row in _records(export.quarters, headers):
        writer.writerow([_csv_cell(row[c.header], c.kind) for c in QUARTER_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode()
