"""Renewal hygiene tab builders: a tile per check (share against the target), the table of
owners or teams with a column per check, and the list of renewals missing something."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting
from components.grids import DATE, money_column, paged_grid, to_records
from components.kpi import definition_body
from components.shell import info_button
from services.filters import Filters
from services.metrics import metric
from services.renewal_hygiene import (
    HYGIENE_CHECKS,
    PASS_LABELS,
    UNASSIGNED,
    HygieneParams,
    HygieneSummary,
)

ALL = "all"  # the "every check" column and tile
MISSING_ANY = "any"  # the renewal list's `missing=` value for "failing any check known then"
METRIC_OF = {ALL: "hygiene_all", **{k: f"hygiene_{k}" for k in HYGIENE_CHECKS}}
GROUP_OPTIONS = [{"label": "By owner", "value": "owner"}, {"label": "By team", "value": "team"}]
# Below target: dark red text on a light tint (the KPI cards' "bad" tone), bold.
BELOW_STYLE = {"color": "#b02a2a", "backgroundColor": "#fbeceb"}
GOOD, BAD = "kpi-good", "kpi-bad"
PAST_NOTE = "not known on this date"


def list_href(filters: Filters, end: date, check: str, **dims: Any) -> str:
    """The renewal list (open mode) behind a hygiene number: the open renewals due by `end`
    (overdue ones included: no start date) failing `check` ('all': any check known on the
    day), under `filters` narrowed by `dims` (owner=, team=)."""
    narrowed = filters.with_values(**dims) if dims else filters
    missing = MISSING_ANY if check == ALL else check
    return "/renewals/list" + narrowed.to_search(
        {"status": "open", "to": end.isoformat(), "missing": missing}
    )


def _pct(value: float | None) -> str:
    return formatting.percent(value)


def window_sentence(summary: HygieneSummary, params: HygieneParams) -> list[Any]:
    """'1,004 open renewals ($51.3M ARR up) due by 18 Feb 2027 (the next 90 days), 3 of them
    overdue: 807 ($41.2M) miss at least one check.'"""
    overdue = f", {formatting.count(summary.overdue)} of them overdue" if summary.overdue else ""
    return [
        html.Span(formatting.count(summary.renewals), id="rh-renewals", className="fw-bold"),
        f" open renewals ({formatting.money(summary.arr_up)} ARR up) due by "
        f"{formatting.date(summary.end)} (the next {params.window_days} days){overdue}: ",
        html.Span(formatting.count(summary.failing_any), id="rh-failing", className="fw-bold"),
        f" ({formatting.money(summary.arr_failing_any)}) miss at least one check. "
        f"Target: {_pct(params.target)} of renewals passing each check.",
    ]


def _status(share: float | None, target: float) -> tuple[str, str]:
    """('6.5 pts below the 90.0% target', 'kpi-bad') or ('at or above ...', 'kpi-good')."""
    if share is None:
        return "", "kpi-flat"
    gap = 100 * (share - target)
    if share >= target:
        return f"Meets the {_pct(target)} target", GOOD
    return f"{-gap:.1f} pts below the {_pct(target)} target", BAD


def _tile(
    key: str,
    share: float | None,
    arr_share: float | None,
    failing: int,
    in_scope: int,
    known: bool,
    href: str | None,
    params: HygieneParams,
    window_text: str,
) -> dbc.Col:
    m = metric(METRIC_OF[key])
    status, tone = _status(share, params.target)
    if not known:
        why = (
            "Held only as of the data's date" if key == "plan" else "No call history this far back"
        )
        value, lines = "Not known", [html.Div(why, className="small text-muted")]
    elif share is None:
        value = "–"
        lines = [
            html.Div("No renewal at risk" if key == "reason" else "No renewals", className="small")
        ]
    else:
        value = _pct(share)
        what = "at-risk renewals" if key == "reason" else "renewals"
        missing = f"{formatting.count(failing)} of {formatting.count(in_scope)} {what} missing it"
        lines = [
            html.Div(status, className=f"small {tone}", id=f"rh-status-{key}"),
            html.Div(f"{_pct(arr_share)} of ARR up passes", className="small text-muted"),
            html.Div(
                dcc.Link(missing, href=href, id=f"rh-drill-{key}")
                if href and failing
                else html.Span(missing, id=f"rh-drill-{key}"),
                className="small",
            ),
        ]
    body = [
        *definition_body(m),
        html.P(window_text, className="mt-2 mb-0 small text-muted"),
    ]
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardBody(
                    [
                        html.Div(m.card_label, className="kpi-label"),
                        html.Div(
                            value,
                            className=f"kpi-value {tone if known and share is not None else ''}",
                            id=f"rh-share-{key}",
                        ),
                        *lines,
                    ]
                ),
                html.Div(info_button(f"rh-info-{key}", m.label, body), className="kpi-info-slot"),
            ],
            className="kpi-card h-100",
            id=f"rh-tile-{key}",
        ),
        xs=12,
        sm=6,
        lg=True,
        className="mb-3",
    )


def tiles(summary: HygieneSummary, params: HygieneParams, hrefs: dict[str, str]) -> list[Any]:
    """A tile per check and one for "every check", each drilling to its failing renewals."""
    window_text = (
        f"Window: open renewals due by {formatting.date(summary.end)} (the next "
        f"{params.window_days} days), overdue ones included. Target {_pct(params.target)}."
    )
    cols = [
        _tile(
            ALL,
            summary.share_all,
            (summary.arr_up - summary.arr_failing_any) / summary.arr_up if summary.arr_up else None,
            summary.failing_any,
            summary.renewals,
            True,
            hrefs.get(ALL),
            params,
            window_text,
        )
    ]
    for key, c in summary.checks.items():
        cols.append(
            _tile(
                key,
                c.share,
                c.arr_share,
                c.failing,
                c.in_scope,
                c.known,
                hrefs.get(key),
                params,
                window_text,
            )
        )
    return [dbc.Row(cols, className="g-3")]


# ---- the table of owners or teams ---------------------------------------------------------------


def _share_column(key: str, target: float, known: bool) -> dict[str, Any]:
    """A check's column: share passing, the count missing beside it; below target tinted; a
    cell with renewals missing is a link to them."""
    fail, scope = ("fail_any", "renewals") if key == ALL else (f"fail_{key}", f"in_{key}")
    what = "at-risk renewals" if key == "reason" else "renewals"
    header = "All checks" if key == ALL else PASS_LABELS[key]
    m = metric(METRIC_OF[key])
    empty = "No renewal at risk" if key == "reason" else "No renewals"
    empty = empty if known else "Not known on this date"
    return {
        "field": "share_all" if key == ALL else f"share_{key}",
        "colId": key,
        "headerName": header,
        "headerTooltip": m.definition if known else f"{header}: {PAST_NOTE}.",
        "type": "rightAligned",
        "minWidth": 124,
        "wrapText": True,
        "autoHeight": True,
        "sortable": True,
        "comparator": {"function": "(a, b) => (a == null ? 2 : a) - (b == null ? 2 : b)"},
        "valueFormatter": {
            "function": (
                f"params.value == null ? '{'–' if known else 'Not known'}' : "
                "d3.format('.1%')(params.value) + "
                f"(params.data.{fail} > 0 ? ' · ' + params.data.{fail} + ' missing' : '')"
            )
        },
        "tooltipValueGetter": {
            "function": (
                f"params.value == null ? '{empty}' : params.data.{fail} + ' of ' + "
                f"params.data.{scope} + ' {what} missing it' + "
                f"(params.data.{fail} > 0 ? ': click to list them' : '')"
            )
        },
        "cellStyle": {
            "styleConditions": [
                {
                    "condition": f"params.value != null && params.value < {target}",
                    "style": BELOW_STYLE,
                }
            ]
        },
        "cellClassRules": {"link-cell": f"params.data && params.data.{fail} > 0"},
    }


def group_columns(by: str, params: HygieneParams, known: tuple[str, ...]) -> list[dict[str, Any]]:
    """Owners (or teams) as rows, the checks as columns; the first column selects an owner."""
    if by == "owner":
        first = [
            {
                "field": "owner_name",
                "headerName": "Owner",
                "pinned": "left",
                "minWidth": 150,
                "cellClass": "link-cell",
                "tooltipValueGetter": {
                    "function": "params.data ? params.data.team + (params.data.owner_left ? "
                    "' · has left: the renewals need a new owner' : '') + "
                    "' · click to show the renewals below' : null"
                },
                "valueFormatter": {
                    "function": "params.value + (params.data && params.data.owner_left ? ' (left)' : '')"
                },
            },
        ]
    else:
        first = [{"field": "team", "headerName": "Team", "pinned": "left", "minWidth": 170}]
    return [
        *first,
        {"field": "renewals", "headerName": "Renewals", "type": "rightAligned", "maxWidth": 100},
        money_column("arr_up", "ARR up", maxWidth=100),
        _share_column(ALL, params.target, True),
        *(_share_column(k, params.target, k in known) for k in HYGIENE_CHECKS),
    ]


def group_records(df: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """Rows of the table: only the fields its cells read, shares rounded (a small response)."""
    keep = ["renewals", "arr_up", "fail_any", "share_all"]
    for k in HYGIENE_CHECKS:
        keep += [f"in_{k}", f"fail_{k}", f"share_{k}"]
    out = df[keep].copy()
    for col in [c for c in keep if c.startswith("share_")]:
        out[col] = out[col].round(4)
    if by == "owner":
        out.insert(0, "key", df["owner_csm_id"].fillna(UNASSIGNED))
        out.insert(1, "owner_name", df["owner_name"])
        out.insert(2, "team", df["team"])
        out.insert(
            3,
            "owner_left",
            ~df["owner_active"].fillna(False).astype(bool) & df["owner_csm_id"].notna(),
        )
    else:
        out.insert(0, "key", df["team"])
        out.insert(1, "team", df["team"])
    return to_records(out)


def groups_title(df: pd.DataFrame, by: str, params: HygieneParams) -> str:
    """The table's takeaway: how many owners (teams) are below target on some check."""
    if df.empty:
        return "No open renewals due in the window under these filters."
    shares = [c for c in df.columns if c.startswith("share_") and c != "share_all"]
    below = int((df[shares] < params.target).any(axis=1).sum()) if len(df) else 0
    noun = "owners" if by == "owner" else "teams"
    total = int(df["owners_total"].iloc[0]) if by == "owner" and len(df) else len(df)
    return f"{below} of {total} {noun} below the {_pct(params.target)} target on at least one check"


def groups_grid(grid_id: str, by: str, params: HygieneParams, known: tuple[str, ...]) -> dag.AgGrid:
    """A client-side table (at most 200 owners, worst first); rows filled by a callback."""
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=group_columns(by, params, known),
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "flex": 1,
            "minWidth": 90,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        getRowId="params.data.key",
        dashGridOptions={
            "animateRows": False,
            "tooltipShowDelay": 300,
        },
        style={"height": "380px", "width": "100%", "--ag-cell-horizontal-padding": "9px"},
        className="nav-grid",
    )


# ---- the list of renewals missing something -----------------------------------------------------

MISSING_COLUMNS = [
    {
        "field": "name",
        "headerName": "Account",
        "pinned": "left",
        "minWidth": 200,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {
        "field": "renewal_date",
        "headerName": "Renewal date",
        "valueFormatter": DATE,
        "tooltipValueGetter": {
            "function": "params.data && params.data.overdue ? "
            "'Overdue: not closed by the date of this view' : null"
        },
        "cellStyle": {
            "styleConditions": [
                {
                    "condition": "params.data && params.data.overdue",
                    "style": {"fontWeight": 600, "textDecoration": "underline dotted"},
                }
            ]
        },
        "minWidth": 120,
    },
    money_column("arr_up", "ARR up", minWidth=100),
    {
        "field": "failing_count",
        "headerName": "Missing",
        "minWidth": 280,
        "flex": 2.5,
        "valueFormatter": {"function": "params.data ? params.data.missing : ''"},
        "tooltipValueGetter": {"function": "params.data ? params.data.missing : null"},
    },
    {
        "field": "owner_name",
        "headerName": "Owner",
        "minWidth": 140,
        "tooltipField": "owner_name",
        # The owner chosen above the list travels as this column's filter model, so changing
        # it makes the grid drop its cached blocks and ask the server again.
        "filter": "agTextColumnFilter",
        "filterParams": {"filterOptions": ["equals"], "maxNumConditions": 1},
        "suppressHeaderFilterButton": True,
        "suppressHeaderMenuButton": True,
    },
    {"field": "team", "headerName": "Team", "minWidth": 150, "tooltipField": "team"},
]


def missing_words(row: pd.Series) -> str:
    """The checks a renewal fails, in words: 'No forecast category; No close plan'."""
    return "; ".join(label for k, (label, _) in HYGIENE_CHECKS.items() if row[f"fail_{k}"])


def missing_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Grid rows: the failing checks as words, the flags dropped."""
    if df.empty:
        return []
    out = df.assign(missing=df.apply(missing_words, axis=1))
    return to_records(
        out[
            [
                "renewal_id",
                "name",
                "renewal_date",
                "overdue",
                "arr_up",
                "failing_count",
                "missing",
                "owner_name",
                "team",
            ]
        ]
    )


def owner_filter_model(owner: str) -> dict[str, Any]:
    """The owner selection travels as the grid's filter model (changing it reloads the grid)."""
    if not owner:
        return {}
    return {"owner_name": {"filterType": "text", "type": "equals", "filter": owner}}


def owner_from_filter_model(model: Any) -> str:
    entry = model.get("owner_name") if isinstance(model, dict) else None
    return str(entry.get("filter") or "")[:200] if isinstance(entry, dict) else ""


def missing_grid(grid_id: str, owner: str, sort: tuple[tuple[str, str], ...]) -> dag.AgGrid:
    """Server-paged list of the renewals missing something; a row opens its Account 360."""
    return paged_grid(
        grid_id,
        MISSING_COLUMNS,
        owner_filter_model(owner),
        sort,
        480,
        "rh-missing-grid",
        "renewal_id",
    )


def owner_options(df: pd.DataFrame, selected: str) -> list[dict[str, str]]:
    """The owner choices of the list: owners with renewals missing something, worst first,
    labelled with that count; the selected one always listed."""
    options = [
        {
            "label": f"{row.owner_name} ({formatting.count(row.fail_any)} missing)",
            "value": UNASSIGNED if pd.isna(row.owner_csm_id) else str(row.owner_csm_id),
        }
        for row in df.itertuples()
        if row.fail_any > 0
    ]
    if selected and selected not in {o["value"] for o in options}:
        options.append({"label": "The chosen owner: nothing missing", "value": selected})
    return options


def totals_line(totals: dict[str, float], owner_label: str | None = None) -> list[Any]:
    """'807 renewals missing something · $41.2M ARR up' (of one owner when selected)."""
    whose = f" of {owner_label}" if owner_label else ""
    return [
        html.Span(formatting.count(totals["renewals"]), id="rh-missing-count", className="fw-bold"),
        f" renewals{whose} missing something · ",
        html.Span(formatting.money(totals["arr_up"]), id="rh-missing-arr", className="fw-bold"),
        " ARR up",
    ]


WHY_UNKNOWN = {
    "category": "the CSM's forecast category (before the data's date, known only from the call "
    "history, which does not reach back to this date)",
    "reason": "the risk reason (likewise)",
    "plan": "the close plan (held only as of the data's date)",
}


def past_notes(known: tuple[str, ...]) -> str | None:
    """What is not known on a past date, in one sentence (None when everything is)."""
    unknown = [WHY_UNKNOWN[k] for k in HYGIENE_CHECKS if k not in known and k in WHY_UNKNOWN]
    if not unknown:
        return None
    return (
        "Not known on this date, so left out of the shares and never counted as missing: "
        + "; ".join(unknown)
        + "."
    )
