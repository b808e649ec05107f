"""Account 360 view: one account's facts, health, usage, support, voice and history, as shown."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import charts, formatting
from components.grids import DATE, money_column, records_grid
from components.labels import label, label_formatter
from components.shell import page_header, panel, panel_col
from components.states import empty_state
from components.theme import BAND_COLORS, NEUTRAL
from services.account_360 import Account360, call_changes
from services.metrics import missing_input_help

GRAPH_CONFIG = {"displayModeBar": False}


def _date_column(field: str, header: str) -> dict:
    return {"field": field, "headerName": header, "valueFormatter": DATE}


def _code_column(field: str, header: str, kind: str, **extra) -> dict:
    return {"field": field, "headerName": header, "valueFormatter": label_formatter(kind), **extra}


TICKET_COLUMNS = [
    _date_column("opened_at", "Opened"),
    {"field": "priority", "headerName": "Priority", "maxWidth": 100},
    {"field": "category", "headerName": "Category"},
    {"field": "escalated", "headerName": "Escalated", "maxWidth": 110},
    _date_column("closed_at", "Closed"),
]
NPS_COLUMNS = [
    _date_column("responded_at", "Answered"),
    {"field": "score", "headerName": "Score", "maxWidth": 90},
    {"field": "comment", "headerName": "Comment", "minWidth": 220},
]
TOUCHPOINT_COLUMNS = [
    _date_column("occurred_at", "When"),
    _code_column("type", "Type", "touchpoint_type"),
    _code_column("channel", "Channel", "touchpoint_channel"),
    {"field": "csm", "headerName": "CSM"},
]
CONTRACT_COLUMNS = [
    _date_column("start_date", "Start"),
    _date_column("end_date", "End"),
    money_column("arr", "ARR"),
    {"field": "seats", "headerName": "Seats", "type": "rightAligned"},
]
RENEWAL_COLUMNS = [
    _date_column("renewal_date", "Date") | {"minWidth": 115},
    money_column("arr_up_for_renewal", "ARR up"),
    _code_column("forecast_category", "CSM call", "forecast_call"),
    {"field": "risk_reason", "headerName": "Risk reason", "flex": 1.6},
    _code_column("outcome", "Outcome", "renewal_outcome"),
    money_column("renewed_arr", "Renewed ARR"),
]
CALL_COLUMNS = [
    _date_column("renewal_date", "Renewal"),
    _date_column("since", "From"),
    _date_column("until", "To"),
    {"field": "weeks", "headerName": "Weeks", "type": "rightAligned", "maxWidth": 100},
    _code_column("forecast_category", "CSM call", "forecast_call"),
    money_column("arr_up", "ARR up"),
    {"field": "risk_reason", "headerName": "Risk reason"},
    {"field": "change", "headerName": "What changed", "minWidth": 220, "flex": 2},
]
# A row whose call changed: bold on a light neutral ground (green/amber/red are for bands).
CHANGED_ROW_STYLE = {
    "styleConditions": [
        {
            "condition": "params.data.call_changed",
            "style": {"fontWeight": "600", "backgroundColor": "#eef2f8"},
        }
    ]
}
# The calls bottom to top on the step chart.
CALL_LEVELS = {"none": 0, "churn": 1, "at_risk": 2, "probable": 3, "commit": 4}
CALL_HISTORY_HELP = (
    "The CSM's forecast call on each renewal of this account, week by week while it was open, "
    "as recorded in the forecast history (on the data's as-of date, the renewal's call as it "
    "stands). Commit and probable: the CSM expects it to renew; at risk and churn: expects to "
    "lose some or all of it. A highlighted row is a change of call; ARR up and risk reason are "
    "the figures recorded with the call. Not called: no call recorded that week."
)

EXPANSION_COLUMNS = [
    _date_column("created_date", "Created"),
    {"field": "type", "headerName": "Type", "minWidth": 130},
    _code_column("stage", "Stage", "expansion_stage"),
    money_column("amount_arr", "ARR"),
    _code_column("outcome", "Outcome", "expansion_outcome"),
]


def _table(title: str, key: str, columns, df, width: int, height: int = 300) -> dbc.Col:
    """One history table of the account, titled with its row count."""
    grid = records_grid(f"account360-{key}", columns, height=height, df=df)
    return panel_col(width, f"{title} ({len(df)})", grid)


def _fact(name: str, value: str) -> html.Div:
    return html.Div(
        [html.Div(name, className="fact-label"), html.Div(value, className="fact-value")],
        className="fact",
    )


def _code(value) -> str:
    """A call code for the labels: 'none' when no call was recorded."""
    return value if isinstance(value, str) else "none"


def _change_text(row: pd.Series) -> str:
    """What changed from the renewal's span before, in words ("" for its first span)."""
    parts = []
    now = label("forecast_call", _code(row["forecast_category"]))
    if row["call_changed"]:
        before = _code(row["previous_category"])
        parts.append(
            f"First call: {now}"
            if before == "none"
            else f"Call {label('forecast_call', before)} → {now}"
        )
    if row["arr_changed"]:
        parts.append(
            f"ARR up {formatting.money(row['previous_arr_up'])} → {formatting.money(row['arr_up'])}"
        )
    if row["reason_changed"]:
        reason = row["risk_reason"]
        parts.append(f"Risk reason: {reason}" if isinstance(reason, str) else "Risk reason cleared")
    return "; ".join(parts)


def call_history_rows(calls: pd.DataFrame, spans: pd.DataFrame | None = None) -> pd.DataFrame:
    """The changes table's rows: spans of unchanged call, newest first, with what changed
    (`spans`: the calls' `call_changes`, when already computed)."""
    spans = call_changes(calls) if spans is None else spans
    if spans.empty:
        return spans.assign(change=pd.Series(dtype=object))
    spans = spans.assign(
        forecast_category=spans["forecast_category"].fillna("none"),
        change=spans.apply(_change_text, axis=1),
    )
    return spans.sort_values(["renewal_date", "since"], ascending=False)


def call_history_figure(calls: pd.DataFrame, spans: pd.DataFrame | None = None) -> charts.Figure:
    """Each renewal's call week by week as a step line (commit at the top, churn at the bottom),
    one neutral colour per renewal; the title says where the latest renewal's call stands."""
    if calls.empty:
        return charts.empty_figure("CSM call history", "No calls recorded up to this date")
    df = calls.assign(call=calls["forecast_category"].fillna("none"))
    data = []
    for i, (renewal_date, g) in enumerate(df.groupby("renewal_date", sort=True)):
        text = [
            f"{label('forecast_call', c)} · {formatting.money(a)} up"
            + (f" · {r}" if isinstance(r, str) else "")
            for c, a, r in zip(g["call"], g["arr_up"], g["risk_reason"], strict=True)
        ]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "line": {"shape": "hv", "width": 3, "color": NEUTRAL[i % len(NEUTRAL)]},
                # A dot where the call was first made or changed (and a lone week's call).
                "marker": {
                    "size": (g["call"] != g["call"].shift()).map({True: 8, False: 0}).tolist()
                },
                "x": pd.to_datetime(g["snapshot_date"]).dt.strftime("%Y-%m-%d").tolist(),
                "y": [CALL_LEVELS[c] for c in g["call"]],
                "name": f"Renewal {formatting.date(renewal_date)}",
                "text": text,
                "hovertemplate": "%{x|%d %b %Y}: %{text}<extra>%{fullData.name}</extra>",
            }
        )
    spans = call_changes(calls) if spans is None else spans
    latest = spans[spans["renewal_date"] == spans["renewal_date"].max()]
    now = label("forecast_call", _code(latest["forecast_category"].iloc[-1]))
    changes = int(latest["call_changed"].sum())
    when = formatting.date(latest["renewal_date"].iloc[-1])
    title = (
        f"Renewal {when}: {now}, after {changes} change{'s' if changes != 1 else ''} of call"
        if changes
        else f"Renewal {when}: {now}, unchanged"
    )
    return charts.figure(
        data,
        title,
        height=260,
        yaxis={
            "tickvals": list(CALL_LEVELS.values()),
            "ticktext": [label("forecast_call", c) for c in CALL_LEVELS],
            "range": [-0.4, 4.4],
            "fixedrange": True,
        },
        xaxis={"type": "date"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 80, "r": 16, "t": 48, "b": 40},
    )


def call_history_cols(acc: Account360) -> list[dbc.Col]:
    """The CSM call history of the account's renewals: a step chart (beside the renewals table)
    and the table of its changes below, full width; one empty state when no call is recorded."""
    no_feed = (
        None
        if acc.facts.get("history_loaded", True)
        else "No forecast history has been loaded: only the calls as they stand on the data's "
        "as-of date are known."
    )
    if acc.calls.empty:
        body = empty_state(
            "No CSM calls recorded for this account's renewals up to this date.", no_feed
        )
        return [panel_col(5, "CSM call history", body, help_text=CALL_HISTORY_HELP)]
    rows = call_history_rows(acc.calls, acc.call_spans)
    grid = records_grid("account360-calls", CALL_COLUMNS, height=240, df=rows)
    grid.getRowStyle = CHANGED_ROW_STYLE
    chart = [
        dcc.Graph(
            figure=call_history_figure(acc.calls, acc.call_spans),
            id="account360-call-chart",
            config=GRAPH_CONFIG,
        ),
        html.Div(no_feed, className="text-muted small") if no_feed else None,
    ]
    changed = int(rows["call_changed"].sum())
    return [
        panel_col(5, "CSM call history", chart, help_text=CALL_HISTORY_HELP),
        panel_col(
            12,
            f"CSM calls over time ({changed} change{'s' if changed != 1 else ''} of call)",
            grid,
            help_text=CALL_HISTORY_HELP,
            panel_id="account360-calls-panel",
        ),
    ]


def account_view(acc: Account360, snapshot: date) -> list:
    """The whole Account 360 below the back link, for one account as of `snapshot`."""
    f = acc.facts
    latest = acc.health.iloc[-1] if not acc.health.empty else None
    band = (
        latest["band"]
        if latest is not None and latest["snapshot_date"].date() == snapshot
        else None
    )
    badge = (
        dbc.Badge(
            f"{band} · {latest['health_score']:.1f}",
            className="band-badge",
            color=BAND_COLORS[band],
            id="account360-band",
        )
        if band
        else dbc.Badge("not a customer on this date", color="secondary")
    )
    facts = html.Div(
        [
            _fact("Segment", f["segment"]),
            _fact("Region", f["region"]),
            _fact("Owner", f"{f['owner_name']} ({f['team']})"),
            _fact("Tier", label("tier", f["coverage_tier"])),
            _fact("ARR", formatting.money(f["arr"])),
            _fact("Seats", f"{int(f['contract_seats'] or f['seats_purchased'] or 0):,}"),
            _fact("Next renewal", formatting.date(f["next_renewal_date"])),
            _fact("Lifecycle", label("lifecycle_stage", f["lifecycle_stage"])),
            _fact("Customer since", formatting.date(f["created_date"])),
        ],
        className="facts d-flex flex-wrap gap-4 mb-3",
    )
    missing = latest["missing_inputs"] if latest is not None and band else None
    components = (
        dcc.Graph(
            figure=charts.components_figure(latest), id="account360-components", config=GRAPH_CONFIG
        )
        if band
        else empty_state("No health score on this date.", None)
    )
    health_row = dbc.Row(
        [
            panel_col(
                5,
                "Health components",
                components,
                help_text=missing_input_help() + (f" Missing now: {missing}." if missing else ""),
            ),
            panel_col(
                7,
                "Health, last 26 weeks",
                dcc.Graph(
                    figure=charts.account_health_figure(acc.health),
                    id="account360-health",
                    config=GRAPH_CONFIG,
                ),
            ),
        ]
    )
    seats = float(f["contract_seats"] or f["seats_purchased"] or 0) or None
    usage = panel(
        "Usage, last 365 days",
        dcc.Graph(
            figure=charts.usage_figure(acc.usage, seats, acc.touchpoints),
            id="account360-usage",
            config=GRAPH_CONFIG,
        ),
    )
    renewals = acc.renewals
    if f.get("calls_known"):  # a blank call is "not called", not "not known"
        renewals = renewals.assign(forecast_category=renewals["forecast_category"].fillna("none"))
    tables = dbc.Row(
        [
            _table("Tickets", "tickets", TICKET_COLUMNS, acc.tickets, width=6),
            _table("NPS answers", "nps", NPS_COLUMNS, acc.nps, width=6),
            _table("Touchpoints", "touchpoints", TOUCHPOINT_COLUMNS, acc.touchpoints, width=6),
            _table("Contracts", "contracts", CONTRACT_COLUMNS, acc.contracts, width=6),
            _table("Renewals", "renewals", RENEWAL_COLUMNS, renewals, width=7, height=280),
            *call_history_cols(acc),
            _table(
                "Expansion opportunities",
                "expansions",
                EXPANSION_COLUMNS,
                acc.expansions,
                width=12,
                height=240,
            ),
        ]
    )
    title = html.Div([html.Span(f["name"], className="me-2"), badge])
    return [
        page_header(
            title,
            f"{f['account_id']} · {f['industry'] or ''} · {f['plan'] or ''} plan · "
            f"as of {snapshot:%d %b %Y}",
        ),
        facts,
        health_row,
        html.Div(usage, className="mb-3"),
        tables,
    ]
