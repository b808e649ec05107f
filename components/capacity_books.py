"""Capacity 'books' tab builders: the top line (KPI tiles), utilisation per CSM (bars, or a
distribution when there are many), the books table, the team roll-up with coverage ratios
against their targets, and the workload model editor. Pure functions of service results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import html, no_update

from components import formatting, labels
from components.charts import Figure, empty_figure, figure
from components.forms import number_input
from components.grids import MONEY, MONEY_TOOLTIP, PERCENT, money_column, paged_grid, to_records
from components.kpi import definition_body
from components.shell import info_button
from services.capacity_books import (
    MIX_COLUMNS,
    NO_OWNER,
    TIER_COLUMNS,
    BooksSummary,
    BooksView,
    TierTarget,
    WorkloadForm,
)
from services.metrics import metric
from services.workload import (
    SEGMENTS,
    TIERS,
    WorkloadParams,
    first_value,
    form_values,
    param_fields,
    points_key,
)

# Flags are not health: no green/amber/red (ARCHITECTURE §6). Over-loaded is the one to see.
FLAG_COLORS = {"over": "#6b3fa0", "ok": "#3b5b92", "under": "#b7c4d6"}
FLAG_TEXT = {"over": "#5a2d8c", "under": "#5c6f82"}
SEGMENT_SHORT = {"Enterprise": "Ent", "Mid-Market": "MM", "SMB": "SMB"}
BARS_WITH_NAMES = 40  # up to this many CSMs the bars carry names
MAX_BARS = 200  # beyond this, a distribution: a bar per CSM would be too thin to click
EDITOR = "cb-wl"  # pattern-matching ids of the editor's fields: {"type": EDITOR, "key": key}
EDITOR_MSG = "cb-wl-msg"
WEIGH = "cb-wl-wh"  # the weigh-by-health switch
RESET = "cb-wl-reset"
TOTAL_ROW = "_all"  # the row id of the roll-up's company line


def field_id(key: str) -> dict[str, str]:
    return {"type": EDITOR, "key": key}


def message_id(key: str) -> dict[str, str]:
    return {"type": EDITOR_MSG, "key": key}


def _pct(value: float | None) -> str:
    return formatting.percent(value)


def _line(value: float) -> str:
    return f"{100 * value:g}%"


# ---- top line ----------------------------------------------------------------------------------
def summary_sentence(s: BooksSummary) -> list[Any]:
    """'39 active CSMs carry 3,047 of the 3,255 workload points in scope; 104 accounts
    ($14.9M ARR) are in open books: 2 departed CSMs' and 21 without an owner.'"""
    if not s.csms and not s.accounts:
        return ["No CSMs or accounts under these filters."]
    parts: list[Any] = [
        html.Span(formatting.count(s.csms), className="fw-bold"),
        f" active {'CSM carries' if s.csms == 1 else 'CSMs carry'} "
        f"{formatting.count(s.points_carried)} "
        f"of the {formatting.count(s.points)} workload points in scope",
    ]
    if s.open_accounts:
        who = []
        if s.departed_with_books:
            n = s.departed_with_books
            who.append(f"{n} departed CSM{'s' if n != 1 else ''}' books")
        if s.unowned_accounts:
            who.append(f"{formatting.count(s.unowned_accounts)} accounts without an owner")
        parts += [
            "; ",
            html.Span(formatting.count(s.open_accounts), className="fw-bold", id="cb-open-count"),
            f" accounts ({formatting.money(s.open_arr)} ARR) are in open books: "
            + " and ".join(who),
        ]
    return [*parts, "."]


def _tile(name: str, value: str, lines: list[Any], tone: str = "", extra: str = "") -> dbc.Col:
    m = metric(name)
    body = [*definition_body(m), html.P(extra, className="mt-2 mb-0 small text-muted")]
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardBody(
                    [
                        html.Div(m.card_label, className="kpi-label"),
                        html.Div(value, className=f"kpi-value {tone}", id=f"cb-kpi-{name}"),
                        *[html.Div(line, className="small") for line in lines if line],
                    ]
                ),
                html.Div(info_button(f"cb-info-{name}", m.label, body), className="kpi-info-slot"),
            ],
            className="kpi-card h-100",
            id=f"cb-tile-{name}",
        ),
        xs=12,
        sm=6,
        lg=True,
        className="mb-3",
    )


def kpi_tiles(s: BooksSummary, params: WorkloadParams) -> dbc.Row:
    """CSMs, utilisation, over- and under-loaded CSMs, open books, ARR per CSM."""
    model = "The workload model in force on this view (the editor below)."
    util_tone = (
        ""
        if s.utilisation is None
        else ("kpi-bad" if s.utilisation > params.overloaded_above else "")
    )
    carried = (
        f"{_pct(s.utilisation_carried)} in active CSMs' books"
        if s.points != s.points_carried
        else None
    )
    new = (
        f"{s.underloaded_new_hires} of them new hires ramping" if s.underloaded_new_hires else None
    )
    arr_ratio = (
        f"{s.arr_per_csm / s.arr_per_csm_target:.1f}× the {formatting.money(s.arr_per_csm_target)}"
        " target"
        if s.arr_per_csm is not None and s.arr_per_csm_target
        else None
    )
    open_lines = [
        f"{formatting.money(s.open_arr)} ARR",
        " · ".join(
            p
            for p in (
                f"{s.departed_with_books} departed CSM{'s' if s.departed_with_books != 1 else ''}"
                if s.departed_with_books
                else "",
                f"{formatting.count(s.unowned_accounts)} without owner"
                if s.unowned_accounts
                else "",
            )
            if p
        ),
    ]
    return dbc.Row(
        [
            _tile(
                "capacity_csms",
                formatting.count(s.csms),
                [f"{formatting.count(s.capacity)} capacity points"],
            ),
            _tile(
                "capacity_utilisation",
                _pct(s.utilisation),
                [f"Target {_line(params.target_utilisation)}", carried],
                util_tone,
                model,
            ),
            _tile(
                "capacity_overloaded",
                formatting.count(s.overloaded),
                [f"Above {_line(params.overloaded_above)}", f"of {s.csms} CSMs"],
                "kpi-bad" if s.overloaded else "",
                model,
            ),
            _tile(
                "capacity_underloaded",
                formatting.count(s.underloaded),
                [f"Below {_line(params.underloaded_below)}", new],
                "",
                model,
            ),
            _tile(
                "capacity_open_books",
                formatting.count(s.open_accounts),
                open_lines,
                "kpi-bad" if s.open_accounts else "",
            ),
            _tile(
                "arr_per_csm",
                formatting.money(s.arr_per_csm),
                [arr_ratio],
            ),
        ],
        className="g-3",
        id="cb-kpis",
    )


# ---- utilisation per CSM -----------------------------------------------------------------------
def _flag_legend(params: WorkloadParams) -> dict[str, str]:
    return {
        "over": f"Over-loaded (> {_line(params.overloaded_above)})",
        "ok": "Within range",
        "under": f"Under-loaded (< {_line(params.underloaded_below)})",
    }


def _level_lines(params: WorkloadParams, vertical: bool) -> tuple[list, list]:
    """Dotted lines at the target, over- and under-loaded levels, each labelled."""
    shapes, notes = [], []
    for value, text, dash in (
        (params.overloaded_above, f"Over-loaded {_line(params.overloaded_above)}", "dot"),
        (params.target_utilisation, f"Target {_line(params.target_utilisation)}", "dash"),
        (params.underloaded_below, f"Under-loaded {_line(params.underloaded_below)}", "dot"),
    ):
        line = {"dash": dash, "color": "#3d4a58", "width": 1.4}
        if vertical:
            shapes.append(
                {"type": "line", "xref": "x", "yref": "paper", "x0": value, "x1": value}
                | {"y0": 0, "y1": 1, "line": line}
            )
            notes.append(
                {"xref": "x", "yref": "paper", "x": value, "y": 1, "yanchor": "bottom"}
                | {"text": text, "showarrow": False, "font": {"size": 11, "color": "#3d4a58"}}
            )
        else:
            shapes.append(
                {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": value}
                | {"y1": value, "line": line}
            )
            notes.append(
                {"xref": "paper", "yref": "y", "x": 1, "y": value, "xanchor": "left"}
                | {"text": text, "showarrow": False, "font": {"size": 11, "color": "#3d4a58"}}
            )
    return shapes, notes


def utilisation_title(s: BooksSummary) -> str:
    if not s.csms:
        return "No active CSMs under these filters"
    under = f"{s.underloaded} under-loaded"
    if s.underloaded_new_hires:
        under += (
            f" ({s.underloaded_new_hires} new hire{'s' if s.underloaded_new_hires > 1 else ''})"
        )
    return f"{s.overloaded} of {s.csms} CSMs over-loaded, {under}"


def utilisation_figure(books: pd.DataFrame, s: BooksSummary, params: WorkloadParams) -> Figure:
    """Utilisation per active CSM, highest first, coloured by flag, with the target and the
    two lines; a bar opens that CSM's accounts. Past MAX_BARS CSMs: the distribution."""
    csms = books[books["kind"] == "csm"]
    title = utilisation_title(s)
    if csms.empty:
        return empty_figure(title, "No active CSMs under these filters")
    if len(csms) > MAX_BARS:
        return _distribution(csms, title, params)
    csms = csms.sort_values(["utilisation", "name"], ascending=[False, True])
    order = list(csms["book_id"])
    legend = _flag_legend(params)
    traces = []
    for flag in ("over", "ok", "under"):
        part = csms[csms["flag"] == flag]
        if part.empty:
            continue
        traces.append(
            {
                "type": "bar",
                "name": legend[flag],
                "x": list(part["book_id"]),
                "y": [float(u) if pd.notna(u) else 0.0 for u in part["utilisation"]],
                "marker": {"color": FLAG_COLORS[flag]},
                "customdata": [
                    [
                        name,
                        team,
                        f"{accounts:,}",
                        formatting.money(arr),
                        f"{points:,.1f}",
                        f"{capacity:g}" + (" (default)" if default else ""),
                    ]
                    for name, team, accounts, arr, points, capacity, default in zip(
                        part["name"],
                        part["team"],
                        part["accounts"],
                        part["arr"],
                        part["points"],
                        part["capacity"],
                        part["capacity_default"],
                        strict=True,
                    )
                ],
                "hovertemplate": "<b>%{customdata[0]}</b> · %{customdata[1]}<br>"
                "Utilisation %{y:.1%}: %{customdata[4]} of %{customdata[5]} points<br>"
                "%{customdata[2]} accounts · %{customdata[3]} ARR<extra></extra>",
            }
        )
    named = len(csms) <= BARS_WITH_NAMES
    # Every CSM may have a capacity of 0 on record (no utilisation): the axis still has a top.
    highest = csms["utilisation"].max()
    top = max(float(highest) if pd.notna(highest) else 0.0, params.overloaded_above) * 1.12
    shapes, notes = _level_lines(params, vertical=False)
    return figure(
        traces,
        title,
        height=380,
        barmode="overlay",
        bargap=0.15,
        showlegend=True,
        xaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": order,
            "tickvals": order if named else [],
            "ticktext": list(csms["name"]) if named else [],
            "tickangle": -45,
            "title": {"text": None if named else f"{len(csms)} CSMs, highest first (hover)"},
        },
        yaxis={"tickformat": ".0%", "range": [0, top], "title": {"text": "Utilisation"}},
        shapes=shapes,
        annotations=notes,
        margin={"l": 8, "r": 110, "t": 76, "b": 8},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        clickmode="event",
    )


def _distribution(csms: pd.DataFrame, title: str, params: WorkloadParams) -> Figure:
    """How many CSMs at each utilisation (10-point bins), coloured by flag."""
    util = csms["utilisation"].fillna(0.0)
    width = 0.1
    top = max(float(util.max()), params.overloaded_above) + width
    edges = [i * width for i in range(int(top / width) + 1)]
    legend = _flag_legend(params)
    traces = []
    for flag in ("over", "ok", "under"):
        part = util[csms["flag"] == flag]
        if part.empty:
            continue
        counts = pd.cut(part, edges, right=False).value_counts(sort=False)
        traces.append(
            {
                "type": "bar",
                "name": legend[flag],
                "x": [iv.left + width / 2 for iv in counts.index],
                "y": [int(c) for c in counts],
                "width": width * 0.95,
                "marker": {"color": FLAG_COLORS[flag]},
                "customdata": [
                    [f"{100 * iv.left:.0f}–{100 * iv.right:.0f}%"] for iv in counts.index
                ],
                "hovertemplate": "%{y} CSMs at %{customdata[0]}<extra></extra>",
            }
        )
    shapes, notes = _level_lines(params, vertical=True)
    return figure(
        traces,
        title,
        height=380,
        barmode="stack",
        showlegend=True,
        xaxis={
            "tickformat": ".0%",
            "title": {"text": f"Utilisation ({len(csms)} CSMs)"},
            # From the lowest bin with CSMs: empty bins say nothing, and the first tick label
            # would sit on the value axis' 0.
            "range": [math.floor(float(util.min()) / width) * width - width / 2, top],
        },
        yaxis={"title": {"text": "CSMs"}},
        shapes=shapes,
        annotations=notes,
        margin={"l": 8, "r": 8, "t": 76, "b": 8},
        legend={"orientation": "h", "y": 1.1, "yanchor": "bottom", "x": 0, "xanchor": "left"},
    )


def clicked_book(click: Any) -> str | None:
    """The book id of a clicked bar (None for the distribution or anything else)."""
    points = click.get("points") if isinstance(click, dict) else None
    point = points[0] if isinstance(points, list) and points else None
    x = point.get("x") if isinstance(point, dict) else None
    return str(x)[:64] if isinstance(x, str) and x else None


# ---- the books table ---------------------------------------------------------------------------
def _date(value: Any) -> str:
    return formatting.date(value)


def _status_text(row: dict[str, Any]) -> str:
    """'Over-loaded', 'Under-loaded · new hire', 'Left 22 Jul 2026', 'No owner'."""
    if row["kind"] == "open":
        return f"Left {_date(row['end_date'])}"
    text = labels.label("book_flag", row["flag"])
    return f"{text} · new hire" if row["kind"] == "csm" and row["new_hire"] else text


def book_name(row: dict[str, Any]) -> str:
    """'Ana Adams', 'Open book: Elena Ito (left 22 Jul 2026)', 'No owner'."""
    if row["kind"] == "open":
        return f"Open book: {row['name']} (left {_date(row['end_date'])})"
    if row["kind"] == "none":
        return "No owner"
    return str(row["name"])


def _mix_text(row: dict[str, Any]) -> str:
    """'Mid-Market: 55 pooled · SMB: 114 pooled, 3 tech-touch' (cells with accounts only)."""
    parts = []
    for seg in SEGMENTS:
        cells = [f"{row[MIX_COLUMNS[(seg, t)]]:,} {t}" for t in TIERS if row[MIX_COLUMNS[(seg, t)]]]
        if cells:
            parts.append(f"{seg}: {', '.join(cells)}")
    return " · ".join(parts)


def _tier_tip(row: dict[str, Any], tier: str) -> str:
    return " · ".join(
        f"{s} {row[MIX_COLUMNS[(s, tier)]]:,}" for s in SEGMENTS if row[MIX_COLUMNS[(s, tier)]]
    )


def _number(value: Any) -> Any:
    """A JSON-ready number: NaN as null, numpy scalars as Python's."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def books_records(books: pd.DataFrame) -> list[dict[str, Any]]:
    """Grid rows: the book's display name, status in words, segment mix and tier tooltips.
    Built row by row (a block is 100 rows): the warm table callback stays near 10 ms."""
    out = []
    for row in books.to_dict("records"):
        record = {
            "book_id": row["book_id"],
            "display_name": book_name(row),
            "kind": row["kind"],
            "team": row["team"] if row["kind"] != "none" else None,
            "status": _status_text(row),
            "mix": _mix_text(row),
            "capacity_default": bool(row["capacity_default"]),
            "flag": row["flag"],
        }
        for key in ("accounts", "arr", "points", "capacity", "utilisation"):
            record[key] = _number(row[key])
        for tier, col in TIER_COLUMNS.items():
            record[col] = _number(row[col])
            record[f"tip_{col}"] = _tier_tip(row, tier)
        out.append(record)
    return out


_FLAG_STYLE = {
    "styleConditions": [
        {
            "condition": f"params.data && params.data.flag == '{flag}'",
            "style": {"color": color, "fontWeight": 600},
        }
        for flag, color in FLAG_TEXT.items()
    ]
}
# Eleven or more columns at 1280 px: half the theme's cell padding (as the Portfolio's grids).
COMPACT_CELLS = {"--ag-cell-horizontal-padding": "9px"}
_COUNT = {"function": "params.value == null ? '–' : d3.format(',')(params.value)"}
_POINTS = {"function": "params.value == null ? '–' : d3.format(',.1f')(params.value)"}


def books_columns() -> list[dict[str, Any]]:
    """The books table: who, team, status (flag, or when they left), accounts by tier (hover:
    by segment), ARR, points, capacity, utilisation. Sized to fit 1280 px without scrolling."""
    tiers = [
        {
            "field": col,
            "headerName": labels.label("coverage_tier", tier),
            "valueFormatter": _COUNT,
            "tooltipField": f"tip_{col}",
            "type": "rightAligned",
            "minWidth": 72,
            "maxWidth": 100,
        }
        for tier, col in TIER_COLUMNS.items()
    ]
    return [
        {
            "field": "name",
            "valueGetter": {"function": "params.data ? params.data.display_name : null"},
            "headerName": "CSM",
            "pinned": "left",
            "minWidth": 290,
            "flex": 2,
            "cellClass": "link-cell",
            "tooltipField": "display_name",
        },
        {
            "field": "team",
            "headerName": "Team",
            "minWidth": 150,
            "flex": 2,
            "tooltipField": "team",
            "valueFormatter": {"function": "params.value == null ? '–' : params.value"},
        },
        {
            "field": "flag",
            "valueGetter": {"function": "params.data ? params.data.status : null"},
            "headerName": "Status",
            "cellStyle": _FLAG_STYLE,
            "tooltipField": "status",
            "minWidth": 130,
            "flex": 1.5,
        },
        {
            "field": "points",
            "headerName": "Points",
            "valueFormatter": _POINTS,
            "type": "rightAligned",
            "minWidth": 76,
            "maxWidth": 100,
        },
        {
            "field": "capacity",
            "headerName": "Capacity",
            "valueFormatter": {
                "function": "!params.data || params.data.kind != 'csm' ? '–' : "
                "d3.format(',~f')(params.value) + (params.data.capacity_default ? '*' : '')"
            },
            "tooltipValueGetter": {
                "function": "params.data && params.data.capacity_default ? "
                "'* No capacity on the CSM record: the model default applies' : null"
            },
            "type": "rightAligned",
            "minWidth": 82,
            "maxWidth": 110,
        },
        {
            "field": "utilisation",
            "headerName": "Utilisation",
            "valueFormatter": PERCENT,
            "cellStyle": _FLAG_STYLE,
            "type": "rightAligned",
            "minWidth": 92,
            "maxWidth": 120,
        },
        {
            "field": "accounts",
            "headerName": "Accounts",
            "valueFormatter": _COUNT,
            "tooltipField": "mix",
            "type": "rightAligned",
            "minWidth": 90,
            "maxWidth": 110,
        },
        *tiers,
        money_column("arr", "ARR", minWidth=86, maxWidth=120),
        WORKLOAD_COLUMN,
    ]


# The workload model travels as the filter model of this hidden column: a change of model
# makes the grid drop its blocks and ask the server again (the server reads it back).
WORKLOAD_COLUMN = {
    "field": "workload",
    "hide": True,
    "filter": "agTextColumnFilter",
    "filterParams": {"filterOptions": ["equals"], "maxNumConditions": 1},
    "suppressColumnsToolPanel": True,
}


def books_filter_model(workload_search: str) -> dict[str, Any]:
    """The workload model's URL parameters as the grid's filter model."""
    if not workload_search:
        return {}
    return {"workload": {"filterType": "text", "type": "equals", "filter": workload_search}}


def workload_search_from_model(model: Any) -> str:
    entry = model.get("workload") if isinstance(model, dict) else None
    return str(entry.get("filter") or "")[:2000] if isinstance(entry, dict) else ""


def books_grid(grid_id: str, workload_search: str, sort: tuple[tuple[str, str], ...]) -> dag.AgGrid:
    """Server-paged books; a row (click or Enter) opens the Accounts list of that book."""
    grid = paged_grid(
        grid_id,
        books_columns(),
        books_filter_model(workload_search),
        sort,
        480,
        "cb-books-grid",
        "book_id",
    )
    grid.dashGridOptions = {**grid.dashGridOptions, "tooltipShowDelay": 200}
    grid.defaultColDef = {**grid.defaultColDef, "wrapHeaderText": True, "autoHeaderHeight": True}
    grid.style = {**grid.style, **COMPACT_CELLS}
    return grid


# ---- team roll-up ------------------------------------------------------------------------------
def _per_csm_header(tier: str, target: TierTarget) -> str:
    goal = (
        f" (target {target.accounts_per_csm:,.0f})" if target.accounts_per_csm is not None else ""
    )
    return f"{labels.label('coverage_tier', tier)} per CSM{goal}"


def team_columns(targets: dict[str, TierTarget], arr_target: float) -> list[dict[str, Any]]:
    """The roll-up's columns; the coverage targets sit in the headers, next to the numbers."""
    per_tier = []
    for tier, col in TIER_COLUMNS.items():
        target = targets[tier].accounts_per_csm
        over = (
            {
                "styleConditions": [
                    {
                        "condition": f"params.value != null && params.value > {target}",
                        "style": {"color": FLAG_TEXT["over"], "fontWeight": 600},
                    }
                ]
            }
            if target
            else None
        )
        per_tier.append(
            {
                "field": f"per_csm_{col[2:]}",
                "headerName": _per_csm_header(tier, targets[tier]),
                "valueFormatter": {
                    "function": "params.value == null || params.value == 0 ? '–' : "
                    "d3.format(',.1f')(params.value)"
                },
                "type": "rightAligned",
                "minWidth": 86,
                **({"cellStyle": over} if over else {}),
            }
        )
    arr_style = {
        "styleConditions": [
            {
                "condition": f"params.value != null && params.value > {arr_target}",
                "style": {"color": FLAG_TEXT["over"], "fontWeight": 600},
            }
        ]
    }
    return [
        {
            "field": "team_label",
            "headerName": "Team",
            "minWidth": 170,
            "pinned": "left",
            "cellClass": "link-cell",
        },
        _num("csms", "CSMs", _COUNT, 78),
        _num("accounts", "Accounts", _COUNT, 98),
        money_column("arr", "ARR", minWidth=88),
        _num(
            "points",
            "Points / capacity",
            {
                "function": "params.data ? d3.format(',.0f')(params.data.points) + ' / ' + "
                "(params.data.csms ? d3.format(',.0f')(params.data.capacity) : '–') : '–'"
            },
            120,
        ),
        _num("utilisation", "Utilisation", PERCENT, 100, cellStyle=_FLAG_STYLE),
        _num(
            "over",
            "Over / under",
            {"function": "params.data ? params.data.over + ' / ' + params.data.under : '–'"},
            82,
            tooltipValueGetter={
                "function": "params.data ? params.data.over + ' over-loaded, ' + "
                "params.data.under + ' under-loaded CSMs' : null"
            },
        ),
        _num("open_accounts", "In open books", _COUNT, 80),
        _num(
            "arr_per_csm",
            f"ARR per CSM (target {formatting.money(arr_target)})",
            MONEY,
            95,
            tooltipValueGetter=MONEY_TOOLTIP,
            cellStyle=arr_style,
        ),
        *per_tier,
    ]


def _num(field: str, header: str, formatter: dict, width: int, **extra: Any) -> dict[str, Any]:
    return {
        "field": field,
        "headerName": header,
        "valueFormatter": formatter,
        "type": "rightAligned",
        "minWidth": width,
        **extra,
    }


def team_records(teams: pd.DataFrame, params: WorkloadParams) -> list[dict[str, Any]]:
    """Rows of the roll-up: one per team (the unowned accounts as 'No owner'), flagged like a
    book by their utilisation; the company line is pinned below."""
    df = teams.copy()
    df["team_label"] = df["team"].where(df["team"].notna(), "No owner")
    df["team_id"] = df["team"].where(df["team"].notna(), NO_OWNER)
    df["flag"] = [_flag(u, params) for u in df["utilisation"]]
    return to_records(df)


def team_total_record(total: dict[str, Any], params: WorkloadParams) -> dict[str, Any]:
    row = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in total.items()}
    row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    return {
        **row,
        "team_label": "All teams",
        "team_id": TOTAL_ROW,
        "flag": _flag(row["utilisation"], params),
    }


def _flag(util: float | None, params: WorkloadParams) -> str | None:
    if util is None or pd.isna(util):
        return None
    if util > params.overloaded_above:
        return "over"
    return "under" if util < params.underloaded_below else "ok"


TEAM_ROW_HEIGHT = 40
TEAM_HEADER_HEIGHT = 76  # three lines of wrapped header (1280 px)


def team_grid_style(rows: int) -> dict[str, str]:
    """The roll-up's height for `rows` rows (the company line included): a few teams need no
    scroll bar and leave no blank band (autoHeight would keep a 150 px minimum)."""
    # + a horizontal scroll bar's height, where the columns do not fit
    height = TEAM_HEADER_HEIGHT + TEAM_ROW_HEIGHT * rows + 20
    return {"width": "100%", "height": f"{height}px", **COMPACT_CELLS}


def team_grid(grid_id: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=[],
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "flex": 1,
            "minWidth": 70,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        getRowId="params.data.team_id",
        dashGridOptions={
            "animateRows": False,
            "rowHeight": TEAM_ROW_HEIGHT,
            "tooltipShowDelay": 200,
            "pinnedBottomRowData": [],
        },
        style=team_grid_style(2),
        className="nav-grid",
    )


def targets_note(targets: dict[str, TierTarget], params: WorkloadParams) -> str:
    """How the accounts-per-CSM targets are derived, with the numbers of this view."""
    parts = [
        f"{labels.label('coverage_tier', t.tier).lower()} {params.capacity_points:g} × "
        f"{_line(params.target_utilisation)} / {t.avg_points:.2f} = {t.accounts_per_csm:,.0f}"
        for t in targets.values()
        if t.accounts_per_csm is not None
    ]
    if not parts:
        return ""
    return (
        "Accounts per CSM targets = capacity × target utilisation / the tier's average points "
        "per account in this view: " + "; ".join(parts) + "."
    )


# ---- the tab as a whole ------------------------------------------------------------------------
def workload_search(params: WorkloadParams) -> str:
    """The model's URL parameters as one query string (the books table carries it)."""
    return urlencode(sorted(params.to_params().items()))


def books_tab(view: BooksView, grid_model: Any, team_options: dict | None) -> tuple:
    """The books tab's outputs for one view: the sentence, the KPI tiles, the utilisation
    chart, the roll-up's rows, columns, options (the company line pinned) and height, the
    targets note, and the books table's filter model (no update when it already has it)."""
    params, summary = view.params, view.summary
    model = books_filter_model(workload_search(params))
    total = team_total_record(view.total, params)
    return (
        summary_sentence(summary),
        kpi_tiles(summary, params),
        utilisation_figure(view.books, summary, params),
        team_records(view.teams, params),
        team_columns(view.targets, summary.arr_per_csm_target),
        {**(team_options or {}), "pinnedBottomRowData": [total]},
        team_grid_style(len(view.teams) + 1),
        targets_note(view.targets, params),
        model if model != grid_model else no_update,
    )


# ---- the workload model editor -----------------------------------------------------------------
def _field(key: str, value: str, error: str | None, label: str, width: str) -> html.Label:
    """A text field (numbers typed freely: the model checks them) with its message below; the
    label names it for screen readers (visible text sits beside it)."""
    return html.Label(
        [
            html.Span(label, className="visually-hidden"),
            number_input(field_id(key), value, error, style={"maxWidth": width}),
            dbc.FormFeedback(error or "", id=message_id(key), type="invalid"),
        ],
        className="d-block mb-0",
    )


def workload_editor(values: dict[str, str], errors: dict[str, str]) -> html.Div:
    """Points per segment x tier (a 3x3 grid), weigh by health with its weights, capacity,
    target utilisation and the over-/under-loaded lines; a reset to the defaults. Each field
    shows the message of a value it cannot use by itself."""
    tier_label = {t: labels.label("coverage_tier", t) for t in TIERS}
    head = html.Tr([html.Th("")] + [html.Th(tier_label[t], className="small") for t in TIERS])
    body = [
        html.Tr(
            [html.Th(seg, scope="row", className="fw-normal small pe-2")]
            + [
                html.Td(
                    _field(
                        points_key(seg, t),
                        values[points_key(seg, t)],
                        errors.get(points_key(seg, t)),
                        f"Points for {seg} {tier_label[t]}",
                        "5.5rem",
                    ),
                    className="pe-1 pb-1 align-top",
                )
                for t in TIERS
            ]
        )
        for seg in SEGMENTS
    ]
    unit = {"percent": " (%)", "points": " (points)", "weight": " (×)"}
    scalars = [
        dbc.Col(
            [
                html.Div(f.label + unit[f.unit], className="small text-muted"),
                _field(f.key, values[f.key], errors.get(f.key), f.label + unit[f.unit], "7rem"),
            ],
            xs=6,
            className="mb-2",
            id=f"cb-wl-{f.key}",
        )
        for f in param_fields()
    ]
    return html.Div(
        [
            html.Div("Points per account", className="small fw-semibold mb-1"),
            html.Table([html.Thead(head), html.Tbody(body)], className="mb-2"),
            dbc.Switch(
                id=WEIGH,
                label="Weigh by health (a red or yellow account costs more)",
                value=values["wh"] == "1",
                className="small mb-2",
            ),
            dbc.Row(scalars, className="g-2"),
            dbc.Button("Reset to defaults", id=RESET, size="sm", color="secondary", outline=True),
            html.Div(
                "Changes apply to this view and are kept in its link; the defaults come from "
                "the settings.",
                className="small text-muted mt-1",
            ),
        ],
        id="cb-wl-editor",
    )


def editor_values(params: Mapping[str, Any], workload: WorkloadParams, errors: dict) -> dict:
    """The fields as the URL has them: a value in error stays as typed, beside its message."""
    values = form_values(workload)
    for key in errors:
        values[key] = str(first_value(params.get(key)) or "")[:40]
    return values


def editor_outputs(form: WorkloadForm, keys: list[str]) -> tuple:
    """The editor after a change, for its fields in `keys` order: the model's URL parameters
    (those off the default), the URL changes, each field's message and invalid mark, and the
    fields' values and the switch (rewritten only on a reset: typing is never overwritten)."""
    if form.reset:
        shown = form_values(form.params)
        values, weigh = [shown[k] for k in keys], shown["wh"] == "1"
    else:
        values, weigh = [no_update] * len(keys), no_update
    return (
        form.params.to_params(),
        form.url_changes,
        [form.errors.get(k, "") for k in keys],
        [k in form.errors for k in keys],
        values,
        weigh,
    )


# ---- the Definitions page's section --------------------------------------------------------------
CAPACITY_METRICS = (
    "capacity_csms",
    "workload_points",
    "capacity_utilisation",
    "capacity_overloaded",
    "capacity_underloaded",
    "capacity_open_books",
    "arr_per_csm",
    "accounts_per_csm",
)


def workload_model_section(params: WorkloadParams, arr_target: float) -> html.Div:
    """The workload model in force: points per segment x tier, the health weights, capacity,
    target and lines, and the capacity metrics defined from them (links to their rows)."""
    tier_label = {t: labels.label("coverage_tier", t) for t in TIERS}
    table = html.Table(
        [
            html.Thead(
                html.Tr([html.Th("Points per account")] + [html.Th(tier_label[t]) for t in TIERS])
            ),
            html.Tbody(
                [
                    html.Tr(
                        [html.Th(seg, className="fw-normal")]
                        + [
                            html.Td(f"{params.points_for(seg, t):g}", className="text-end")
                            for t in TIERS
                        ]
                    )
                    for seg in SEGMENTS
                ]
            ),
        ],
        className="table table-sm w-auto mb-2",
        id="definitions-workload-points",
    )
    weights = (
        f"a red account costs {params.red_weight:g}× its points, a yellow one "
        f"{params.yellow_weight:g}×"
        if params.weigh_health
        else "health is not weighed"
    )
    facts = [
        f"Weigh by health: {weights}.",
        f"A CSM carries {params.capacity_points:g} points when their record has no capacity.",
        f"Target utilisation {_line(params.target_utilisation)}; over-loaded above "
        f"{_line(params.overloaded_above)}, under-loaded below "
        f"{_line(params.underloaded_below)}.",
        f"ARR per CSM target {formatting.money(arr_target)}.",
        # Business users read this page: the settings' names are in README's Settings.
        "These are the defaults your administrator set; the Capacity page can change any of "
        "them for a what-if, kept in its link.",
    ]
    links = [
        html.A(metric(name).label, href=f"#definition-{name}", className="me-3")
        for name in CAPACITY_METRICS
    ]
    return html.Div(
        [
            html.H2("Workload model", className="h6 mt-2"),
            table,
            html.Ul([html.Li(f) for f in facts], className="small mb-1"),
            html.Div(["Capacity metrics: ", *links], className="small mb-3"),
        ],
        id="definitions-workload-model",
    )
