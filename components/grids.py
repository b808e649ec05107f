"""AG Grid factories: the server-paged Accounts grid and small client-side tables."""

from __future__ import annotations

import json
from typing import Any

import dash_ag_grid as dag
import pandas as pd

from components.labels import label_formatter

# Compact money ($5.3M) as components/formatting.money, written once in assets/dashAgGridFunctions.js;
# MONEY_TOOLTIP shows the exact amount on hover. DATE shows ISO dates as 05 Nov 2026 (data stays ISO,
# so sorting works).
MONEY = {"function": "compactMoney(params.value)"}
MONEY_TOOLTIP = {"function": "exactMoney(params.value)"}
DATE = {"function": "isoDate(params.value)"}
PERCENT = {"function": "params.value == null ? '–' : d3.format('.1%')(params.value)"}
SCORE = {"function": "params.value == null ? '–' : d3.format('.1f')(params.value)"}
SIGNED = {"function": "params.value == null ? '–' : d3.format('+.1f')(params.value)"}
BAND_TEXT_COLORS = {"red": "#b02a2a", "yellow": "#9a6b00", "green": "#1f7a45"}


def band_style(band_expr: str = "params.value") -> dict[str, Any]:
    """Cell style colouring the text by a band (the cell's own value by default)."""
    return {
        "styleConditions": [
            {"condition": f"{band_expr} == '{band}'", "style": {"color": color, "fontWeight": 600}}
            for band, color in BAND_TEXT_COLORS.items()
        ]
    }


BAND_STYLE = band_style()


def money_column(field: str, header: str, **extra: Any) -> dict[str, Any]:
    """A right-aligned money column: compact value in the cell, the exact amount on hover."""
    return {
        "field": field,
        "headerName": header,
        "valueFormatter": MONEY,
        "tooltipValueGetter": MONEY_TOOLTIP,
        "type": "rightAligned",
        **extra,
    }


ACCOUNT_COLUMNS = [
    {
        "field": "name",
        "headerName": "Account",
        "pinned": "left",
        "minWidth": 220,
        "cellClass": "link-cell",
        "filter": "agTextColumnFilter",
        "filterParams": {
            "filterOptions": ["contains"],
            "maxNumConditions": 1,
            "buttons": ["reset"],
        },
    },
    {"field": "segment", "minWidth": 110},
    {"field": "owner_name", "headerName": "Owner", "minWidth": 140},
    money_column("arr", "ARR", minWidth=100),
    {
        "field": "health_score",
        "headerName": "Health",
        "valueFormatter": SCORE,
        "type": "rightAligned",
        "maxWidth": 110,
    },
    {
        "field": "band",
        "headerName": "Band",
        "valueFormatter": label_formatter("band"),
        "cellStyle": BAND_STYLE,
        "maxWidth": 100,
    },
    {
        "field": "health_change",
        "headerName": "Δ 4 wks",
        "valueFormatter": SIGNED,
        "type": "rightAligned",
        "maxWidth": 110,
    },
    {
        "field": "next_renewal_date",
        "headerName": "Next renewal",
        "valueFormatter": DATE,
        # Not closed by the view's date although its date has passed: still next, marked (bold,
        # dotted underline, a tooltip; red stays for health bands).
        "tooltipValueGetter": {
            "function": "params.data && params.data.renewal_overdue ? "
            "'Overdue: not closed by the date of this view' : null"
        },
        "cellStyle": {
            "styleConditions": [
                {
                    "condition": "params.data && params.data.renewal_overdue",
                    "style": {"fontWeight": 600, "textDecoration": "underline dotted"},
                }
            ]
        },
        "minWidth": 120,
    },
    money_column("renewal_arr", "Renewal ARR", minWidth=125),
    {
        "field": "forecast_category",
        "headerName": "CSM call",
        "valueFormatter": label_formatter("forecast_category"),
        "minWidth": 100,
    },
    {"field": "region", "minWidth": 120},
    {
        "field": "coverage_tier",
        "headerName": "Tier",
        "valueFormatter": label_formatter("coverage_tier"),
        "minWidth": 100,
    },
    {"field": "team", "minWidth": 170},
    {
        "field": "lifecycle_stage",
        "headerName": "Stage",
        "valueFormatter": label_formatter("lifecycle_stage"),
        "minWidth": 100,
    },
    {"field": "missing_inputs", "headerName": "Missing inputs", "minWidth": 140},
]


def search_filter_model(text: str) -> dict[str, Any]:
    """The grid filter model that carries the quick search (the server applies it)."""
    if not text:
        return {}
    return {"name": {"filterType": "text", "type": "contains", "filter": text}}


def search_from_filter_model(model: Any) -> str:
    """The quick search inside a grid filter model from the client (anything malformed: none)."""
    name = model.get("name") if isinstance(model, dict) else None
    return str(name.get("filter") or "")[:100] if isinstance(name, dict) else ""


def sorted_columns(
    columns: list[dict[str, Any]], sort: tuple[tuple[str, str], ...]
) -> list[dict[str, Any]]:
    """Column definitions with the grid's initial sort (from the URL) applied."""
    order = {field: (i, direction) for i, (field, direction) in enumerate(sort)}
    return [
        {**c, "sort": order[c["field"]][1], "sortIndex": order[c["field"]][0]}
        if c.get("field") in order
        else c
        for c in columns
    ]


def paged_grid(
    grid_id: str,
    columns: list[dict[str, Any]],
    filter_model: dict[str, Any],
    sort: tuple[tuple[str, str], ...] = (),
    height: int = 620,
    class_name: str = "",
    row_id: str = "account_id",
) -> dag.AgGrid:
    """Server-paged (infinite row model) grid of accounts: sort and filters run in the service,
    100 rows a block. Rows are keyboard-focusable and Enter opens one (assets/20_grid_keys.js).
    `row_id` names the field that identifies a row (unique per row, as AG Grid requires).

    Page-level filters travel as the grid's filter model, so changing one makes the grid drop
    its cached blocks and ask the server again.
    """
    return dag.AgGrid(
        id=grid_id,
        filterModel=filter_model,
        columnDefs=sorted_columns(columns, sort),
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "filter": False,
            "flex": 1,
            "minWidth": 90,
        },
        rowModelType="infinite",
        getRowId=f"params.data.{row_id}",
        dashGridOptions={
            "cacheBlockSize": 100,
            "maxBlocksInCache": 20,
            "rowBuffer": 0,
            "infiniteInitialRowCount": 1,
            "animateRows": False,
            "tooltipShowDelay": 300,
        },
        style={"height": f"{height}px", "width": "100%"},
        className=f"{class_name} nav-grid".strip(),
    )


def accounts_grid(
    grid_id: str, search: str = "", sort: tuple[tuple[str, str], ...] = ()
) -> dag.AgGrid:
    """The Accounts list: the quick search travels as the Account column's filter model."""
    return paged_grid(
        grid_id, ACCOUNT_COLUMNS, search_filter_model(search), sort, 620, "accounts-grid"
    )


def to_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a grid: dates as ISO text, missing values as null.

    Goes through pandas' JSON writer: several times faster than `astype(object).where(...)`.
    """
    data = df.copy(deep=False)
    for col in data.columns:
        if pd.api.types.is_datetime64_any_dtype(data[col]):
            data[col] = data[col].dt.strftime("%Y-%m-%d")
    return json.loads(data.to_json(orient="records", date_format="iso"))


def records_grid(
    grid_id: str,
    columns: list[dict[str, Any]],
    row_id: str | None = None,
    height: int = 360,
    df: pd.DataFrame | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> dag.AgGrid:
    """A small client-side grid (sortable); rows come from `df`, `rows` (grid records) or a
    callback's `rowData`."""
    # A grid with row ids opens a row on click or Enter; one without is read-only.
    extra = {"getRowId": f"params.data.{row_id}", "className": "nav-grid"} if row_id else {}
    return dag.AgGrid(
        id=grid_id,
        rowData=to_records(df) if df is not None else (rows or []),
        columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 90},
        dashGridOptions={"animateRows": False, "suppressCellFocus": not row_id},
        style={"height": f"{height}px", "width": "100%"},
        **extra,
    )
