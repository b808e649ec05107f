"""Saved-scenario builders: the list's columns and rows, the save panel's lines, the comparison
(required vs supply per scenario on one chart, the sentences, the table of differences) and a
scenario's history. Pure: saved scenarios and their projections in, components out."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import formatting, labels
from components.charts import Figure, figure
from components.grids import money_column
from components.shell import panel
from components.states import error_state
from services.capacity_scenarios import MAX_COMPARE, Outcome, SavedScenario, Selection
from services.filters import DIMENSION_LABELS, Filters
from services.workload import WorkloadParams

# One colour per compared scenario, the same in the chart, the cards and the table. None of
# them green, amber or red: those mean health bands everywhere else.
COMPARE_GRAPH = "cp-saved-compare-graph"
COMPARE_PANEL = "cp-saved-compare-panel"
SCENARIO_COLORS = ("#2f5fa7", "#8a4fb0", "#37474f")
# The cell shows the time as written on the server (05 Nov 2026 14:03); it sorts by the ISO value.
UTC_FORMAT = {"function": "params.data ? params.data.saved_when : ''"}
ACTION_WORDS = {
    "created": "Saved as a new scenario",
    "saved": "Saved a new version",
    "renamed": "Renamed",
    "copied": "Created as a copy",
    "deleted": "Deleted",
    "restored": "Restored",
}


def when(moment: datetime | None) -> str:
    """'05 Nov 2026 14:03 UTC' (what the store keeps is UTC)."""
    return "–" if moment is None else f"{moment:%d %b %Y %H:%M} UTC"


def color_of(position: int) -> str:
    return SCENARIO_COLORS[position % len(SCENARIO_COLORS)]


def saved_line(saved: SavedScenario) -> str:
    """'Version 2 of 3 · saved by ann on 05 Nov 2026 14:03 UTC'."""
    version = (
        f"Version {saved.version}"
        if saved.is_latest and saved.version == 1
        else f"Version {saved.version} of {saved.latest_version}"
    )
    return f"{version} · saved by {saved.saved_by} on {when(saved.saved_at)}"


def scope_text(filters: Filters, owner_names: Mapping[str, str] | None = None) -> str:
    """'All accounts' or 'Segment: SMB · Coverage tier: Tech-touch · Owner (CSM): Ana Ruiz
    (EMEA)': the saved scope in words (owners by name when known)."""
    parts = []
    for dim, label in DIMENSION_LABELS.items():
        values = getattr(filters, dim)
        if not values:
            continue
        if dim == "owner":
            shown = [(owner_names or {}).get(v, v) for v in values]
        else:
            shown = [labels.label(dim, v) for v in values]
        parts.append(f"{label}: {', '.join(shown)}")
    return " · ".join(parts) or "All accounts"


# ---- the list ------------------------------------------------------------------------------
def list_columns() -> list[dict[str, Any]]:
    """Name (opens it), scope, version, who and when, and the headline of the projection."""
    return [
        {
            "field": "name",
            "headerName": "Scenario",
            "minWidth": 220,
            "flex": 2,
            "cellClass": "link-cell",
            "tooltipField": "sentence",
        },
        {"field": "scope", "headerName": "Scope", "minWidth": 150, "flex": 1},
        {
            "field": "requisitions",
            "headerName": "Requisitions",
            "type": "rightAligned",
            "minWidth": 120,
            "tooltipField": "sentence",
            "valueFormatter": {
                "function": "params.value == null ? '–' : d3.format(',')(params.value)"
            },
        },
        money_column("annual_cost", "Cost a year", minWidth=115),
        {"field": "through", "headerName": "Through", "minWidth": 100},
        {
            "field": "version",
            "headerName": "Version",
            "type": "rightAligned",
            "minWidth": 95,
            "maxWidth": 110,
        },
        {"field": "saved_by", "headerName": "Saved by", "minWidth": 120},
        {
            "field": "saved_at",
            "headerName": "Saved (UTC)",
            "valueFormatter": UTC_FORMAT,
            "minWidth": 150,
            "sort": "desc",
        },
    ]


def saved_grid(grid_id: str, picked: Sequence[str]) -> dag.AgGrid:
    """The list: rows keyed by scenario id, a tick box each (the ticked ones come from the URL);
    the rows are filled by the page's callback."""
    return dag.AgGrid(
        id=grid_id,
        columnDefs=list_columns(),
        rowData=[],
        getRowId="params.data.id",
        selectedRows={"ids": list(picked)},
        defaultColDef={"sortable": True, "resizable": True, "wrapHeaderText": True},
        dashGridOptions={
            "rowSelection": {
                "mode": "multiRow",
                "checkboxes": True,
                "headerCheckbox": False,
                "enableClickSelection": False,
            },
            "domLayout": "autoHeight",
            "tooltipShowDelay": 300,
        },
        columnSize="responsiveSizeToFit",
        className="ag-theme-alpine",
        style={"width": "100%"},
    )


def list_records(
    rows: Sequence[tuple[SavedScenario, Outcome | None]],
    owner_names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per saved scenario; a scenario whose projection failed shows dashes."""
    records = []
    for saved, outcome in rows:
        p = outcome.projection if outcome is not None else None
        records.append(
            {
                "id": saved.id,
                "name": saved.name,
                "scope": scope_text(saved.scope, owner_names),
                "requisitions": int(p.total_requisitions) if p is not None else None,
                "annual_cost": float(p.annual_cost) if p is not None else None,
                "through": str(p.quarters.iloc[-1]["quarter"]) if p is not None else "–",
                "sentence": p.sentence if p is not None else "Could not be projected.",
                "version": saved.latest_version,
                "saved_by": saved.saved_by,
                "saved_at": saved.saved_at.isoformat(),
                "saved_when": f"{saved.saved_at:%d %b %Y %H:%M}",
            }
        )
    return records


# ---- the comparison ------------------------------------------------------------------------
def _quarter_order(outcomes: Sequence[Outcome]) -> list[str]:
    """Every quarter of the compared projections, in time order (horizons may differ)."""
    ends: dict[str, Any] = {}
    for o in outcomes:
        for row in o.projection.quarters.itertuples():
            ends.setdefault(row.quarter, row.quarter_end)
    return sorted(ends, key=lambda q: ends[q])


def _fte(value: float) -> str:
    return f"{value:,.1f}"


def compare_title(outcomes: Sequence[Outcome]) -> str:
    """The takeaway: the scenario needing the fewest requisitions, against the others."""
    ranked = sorted(outcomes, key=lambda o: (o.projection.total_requisitions, o.saved.name))
    best, rest = ranked[0], ranked[1:]
    p = best.projection
    others = " and ".join(f"{o.projection.total_requisitions:,}" for o in rest)
    if all(o.projection.total_requisitions == p.total_requisitions for o in rest):
        return f"Every scenario opens {p.total_requisitions:,} requisitions: required vs supply FTE"
    return (
        f"Fewest hires: “{_short(best.saved.name, 40)}”, {p.total_requisitions:,} requisitions "
        f"({formatting.money(p.annual_cost)} a year) against {others}"
    )


def same_supply(outcomes: Sequence[Outcome]) -> bool:
    """Whether every scenario's supply line is the same (same team, attrition and ramp)."""
    first = [round(float(v), 6) for v in outcomes[0].projection.quarters["supply_fte"]]
    return all(
        [round(float(v), 6) for v in o.projection.quarters["supply_fte"]][: len(first)]
        == first[: len(o.projection.quarters)]
        for o in outcomes[1:]
    )


def compare_figure(outcomes: Sequence[Outcome]) -> Figure:
    """Each scenario's required FTE (solid) and supply after attrition and ramp without new
    hires (dotted) in the scenario's colour, one chart; the gap between them is what the
    requisitions fill."""
    order = _quarter_order(outcomes)
    data = []
    for i, o in enumerate(outcomes):
        q = o.projection.quarters
        color = color_of(i)
        for column, what, dash in (
            ("required_fte", "required", "solid"),
            ("supply_fte", "supply", "dot"),
        ):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": list(q["quarter"]),
                    "y": [round(float(v), 2) for v in q[column]],
                    "name": f"{o.saved.name} · {what}",
                    "legendgroup": o.saved.id,
                    "line": {"color": color, "width": 3 if dash == "solid" else 2, "dash": dash},
                    "marker": {"size": 6 if dash == "solid" else 4, "color": color},
                    "hovertemplate": f"{_hover_name(o.saved.name)} · {what}<br>"
                    "%{x}: %{y:,.1f} FTE<extra></extra>",
                }
            )
    return figure(
        data,
        compare_title(outcomes),
        height=420,
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": order},
        yaxis={"title": {"text": "FTE"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.15},
        margin={"l": 8, "r": 8, "t": 56, "b": 8},
        hovermode="closest",
    )


def _hover_name(name: str) -> str:
    return name.replace("%", "%%").replace("<", "&lt;")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compare_cards(outcomes: Sequence[Outcome], href_for: Callable[[SavedScenario], str]) -> Any:
    """One card per scenario: its colour, name (a link), version and its sentence."""
    cols = []
    for i, o in enumerate(outcomes):
        cols.append(
            dbc.Col(
                html.Div(
                    [
                        html.Div(
                            [
                                html.Span(
                                    className="scenario-swatch me-2",
                                    style={
                                        "display": "inline-block",
                                        "width": "12px",
                                        "height": "12px",
                                        "borderRadius": "2px",
                                        "backgroundColor": color_of(i),
                                    },
                                ),
                                dcc.Link(
                                    o.saved.name,
                                    href=href_for(o.saved),
                                    className="fw-semibold",
                                    id=f"cp-saved-compare-open-{i}",
                                ),
                            ]
                        ),
                        html.Div(saved_line(o.saved), className="small text-muted mb-1"),
                        html.Div(
                            o.projection.sentence,
                            className="small",
                            id=f"cp-saved-compare-sentence-{i}",
                        ),
                    ],
                    className="p-2 h-100",
                    style={"borderLeft": f"4px solid {color_of(i)}"},
                ),
                md=12 // max(len(outcomes), 1),
                className="mb-2",
            )
        )
    return dbc.Row(cols, className="g-2 mb-2")


def workload_rows(w: WorkloadParams) -> list[tuple[str, str]]:
    """The workload model's values with their labels, for the table of differences."""
    rows = [
        (f"Points, {seg} {labels.label('coverage_tier', tier).lower()}", f"{pts:g}")
        for seg, tier, pts in w.points
    ]
    rows += [
        ("Weigh accounts by health", "Yes" if w.weigh_health else "No"),
        ("Weight of a red account", f"{w.red_weight:g}×"),
        ("Weight of a yellow account", f"{w.yellow_weight:g}×"),
        ("Capacity per CSM", f"{w.capacity_points:g} points"),
        ("Target utilisation", formatting.percent(w.target_utilisation)),
    ]
    return rows


def output_rows(o: Outcome) -> list[tuple[str, str]]:
    """The projection's headline numbers, for the table of differences."""
    p, q = o.projection, o.projection.quarters
    last = q.iloc[-1]
    first_open = p.requisitions["open_by"].min() if len(p.requisitions) else None
    peak = q["utilisation"].max()
    return [
        ("Requisitions to open", f"{p.total_requisitions:,}"),
        ("… of them backfills for attrition", f"{p.backfills:,}"),
        ("First requisition opens by", formatting.date(first_open)),
        ("Cost of the hires a year", formatting.money(p.annual_cost)),
        ("Horizon ends", str(last["quarter"])),
        ("Required FTE at the end", _fte(last["required_fte"])),
        ("Supply FTE at the end (no new hires)", _fte(last["supply_fte"])),
        ("Gap FTE at the end", _fte(last["gap_fte"])),
        ("Customers at the end", formatting.count(last["accounts_total"])),
        ("ARR at the end", formatting.money(last["arr_total"])),
        (
            "Peak utilisation with the hires",
            "–"
            if peak is None or (isinstance(peak, float) and math.isnan(peak))
            else formatting.percent(peak),
        ),
        ("Utilisation today", formatting.percent(p.utilisation_now)),
    ]


def _column_widths(scenarios: int) -> html.Colgroup:
    """The same widths in every section's table, so their columns line up."""
    label = 34
    each = (100 - label) / max(scenarios, 1)
    return html.Colgroup(
        [html.Col(style={"width": f"{label}%"})]
        + [html.Col(style={"width": f"{each:.3f}%"}) for _ in range(scenarios)]
    )


def _rows_table(rows: list[tuple[str, list[str]]], scenarios: int, differ: bool) -> dbc.Table:
    return dbc.Table(
        [
            _column_widths(scenarios),
            html.Tbody(
                [
                    html.Tr(
                        [html.Td(label), *[html.Td(v, className="text-end") for v in values]],
                        className="diff-row table-warning fw-semibold" if differ else "diff-same",
                    )
                    for label, values in rows
                ]
            ),
        ],
        size="sm",
        className="small mb-1",
        style={"tableLayout": "fixed"},
    )


def _section(title: str, rows_per_scenario: list[list[tuple[str, str]]]) -> tuple[Any, int]:
    """A section: the rows whose values differ between the scenarios, highlighted, then the
    rows the same in every scenario folded away (one click opens them). Returns the section
    and how many rows differ."""
    order: list[str] = []
    values: dict[str, list[str]] = {}
    for i, rows in enumerate(rows_per_scenario):
        for label, value in rows:
            if label not in values:
                order.append(label)
                values[label] = ["–"] * len(rows_per_scenario)
            values[label][i] = value
    differ = [(label, values[label]) for label in order if len(set(values[label])) > 1]
    same = [(label, values[label]) for label in order if len(set(values[label])) <= 1]
    n = len(rows_per_scenario)
    parts: list[Any] = [html.Div(title, className="diff-section small text-uppercase fw-bold")]
    if differ:
        parts.append(_rows_table(differ, n, True))
    if same:
        every = "both scenarios" if n == 2 else "every scenario"
        what = "the whole section" if not differ else f"{len(same)} more rows"
        parts.append(
            html.Details(
                [
                    html.Summary(
                        f"The same in {every}: {what}" if differ else f"The same in {every}",
                        className="small text-muted mb-1",
                    ),
                    _rows_table(same, n, False),
                ],
                className="mb-2",
            )
        )
    return html.Div(parts, className="mb-2"), len(differ)


def diff_table(outcomes: Sequence[Outcome], owner_names: Mapping[str, str] | None = None) -> Any:
    """Inputs, workload model, scope and outputs side by side: in each section the rows that
    differ, highlighted, then those the same everywhere, folded."""
    n = len(outcomes)
    sections = [
        ("Outputs", [output_rows(o) for o in outcomes]),
        ("Inputs", [o.saved.inputs().labels(o.baseline) for o in outcomes]),
        ("Workload model", [workload_rows(o.saved.workload()) for o in outcomes]),
        ("Scope", [[("Accounts", scope_text(o.saved.scope, owner_names))] for o in outcomes]),
    ]
    built, differing = [], 0
    for title, rows in sections:
        section, count = _section(title, rows)
        built.append(section)
        differing += count
    head = dbc.Table(
        [
            _column_widths(n),
            html.Thead(
                html.Tr(
                    [
                        html.Th(""),
                        *[
                            html.Th(
                                o.saved.name,
                                className="text-end",
                                style={
                                    "color": color_of(i),
                                    "borderBottom": f"3px solid {color_of(i)}",
                                },
                            )
                            for i, o in enumerate(outcomes)
                        ],
                    ]
                )
            ),
        ],
        size="sm",
        className="small mb-1",
        style={"tableLayout": "fixed"},
    )
    summary = html.Div(
        f"{differing} rows differ between the scenarios (highlighted); the rows that do not "
        "are folded under each section.",
        className="small text-muted mb-1",
        id="cp-saved-diff-count",
    )
    return html.Div([summary, head, *built], id="cp-saved-diff-table", className="diff-table")


# ---- history -------------------------------------------------------------------------------
def comparison_panel(
    outcomes: Sequence[Outcome],
    href_for: Callable[[SavedScenario], str],
    owner_names: Mapping[str, str] | None,
    help_text: str,
) -> Any:
    """Two or three saved scenarios side by side: their cards, required against supply on one
    chart (a note when the supply lines coincide) and the table of their differences."""
    return dbc.Row(
        dbc.Col(
            panel(
                f"Comparing {len(outcomes)} scenarios",
                [
                    compare_cards(outcomes, href_for),
                    dcc.Graph(
                        id=COMPARE_GRAPH,
                        figure=compare_figure(outcomes),
                        config={"displaylogo": False},
                    ),
                    html.Div(
                        "The dotted supply lines lie on one another: these scenarios share "
                        "today's team, its attrition and its ramp."
                        if same_supply(outcomes)
                        else None,
                        className="small text-muted mb-2",
                    ),
                    diff_table(outcomes, owner_names),
                ],
                panel_id=COMPARE_PANEL,
                help_text=help_text,
            ),
            className="mb-3",
        )
    )


def history_table(
    saved: SavedScenario,
    events: Sequence[Any],
    version_href: Callable[[int], str],
) -> Any:
    """Who did what to the scenario and when, newest first; each version opens by its link."""
    rows = []
    for e in events:
        what = ACTION_WORDS.get(e.action, e.action)
        if e.detail:
            what = f"{what}: {e.detail}" if e.action != "renamed" else f"{what} {e.detail}"
        version = (
            dcc.Link(f"Version {e.version}", href=version_href(e.version))
            if e.version and e.action in ("created", "saved", "copied")
            else ""
        )
        rows.append(html.Tr([html.Td(when(e.at)), html.Td(e.by), html.Td(what), html.Td(version)]))
    return html.Div(
        [
            html.Div(
                f"“{saved.name}”: {saved.latest_version} version"
                f"{'' if saved.latest_version == 1 else 's'}, created by {saved.created_by} on "
                f"{when(saved.created_at)}.",
                className="small mb-2",
            ),
            dbc.Table(
                [
                    html.Thead(
                        html.Tr([html.Th("When"), html.Th("Who"), html.Th("What"), html.Th("")])
                    ),
                    html.Tbody(rows),
                ],
                size="sm",
                className="small mb-0",
                id="cp-saved-history-table",
            ),
        ]
    )


HIDDEN_ACTION = "btn btn-sm btn-outline-secondary d-none"
SHOWN_ACTION = "btn btn-sm btn-outline-secondary"


def selection_outputs(
    selection: Selection, export_href: Callable[[str, SavedScenario], str], help_text: str
) -> tuple:
    """The saved tab after a tick: the line above the list, the ticked ids for the URL, Open
    (href, style), Duplicate/Rename/History/Delete disabled, the XLSX and CSV links (href,
    class) and the comparison (or the reason the ticked scenarios could not be read)."""
    saved = selection.one
    if selection.problem:
        text = ""
    elif saved is not None:
        text = f"“{saved.name}”:"
    elif selection.too_many:
        text = f"Compare takes {MAX_COMPARE} scenarios at most: untick one."
    elif len(selection.picked) >= 2:
        text = f"Comparing {len(selection.picked)} scenarios (below)."
    else:
        text = "Tick a scenario for its actions, two or three to compare them."
    if selection.problem:
        compare: Any = error_state(selection.problem)
    elif selection.compared:
        compare = comparison_panel(
            selection.compared, selection.href, selection.owner_names, help_text
        )
    else:
        compare = None
    shown = SHOWN_ACTION if saved else HIDDEN_ACTION
    return (
        text,
        {"compare": list(selection.picked) or None},
        selection.href(saved) if saved else "",
        {} if saved else {"display": "none"},
        *([saved is None] * 4),
        export_href("xlsx", saved) if saved else None,
        shown,
        export_href("csv", saved) if saved else None,
        shown,
        compare,
    )
