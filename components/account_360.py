"""Account 360 view: one account's facts, health, usage, support, voice and history, as shown."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import charts, formatting
from components.grids import DATE, money_column, records_grid
from components.labels import label, label_formatter
from components.shell import page_header, panel, panel_col
from components.states import empty_state
from components.theme import BAND_COLORS
from services.account_360 import Account360
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
    _date_column("renewal_date", "Renewal date"),
    money_column("arr_up_for_renewal", "ARR up"),
    _code_column("forecast_category", "CSM call", "forecast_category"),
    {"field": "risk_reason", "headerName": "Risk"},
    _code_column("outcome", "Outcome", "renewal_outcome"),
    money_column("renewed_arr", "Renewed ARR"),
]
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
    tables = dbc.Row(
        [
            _table("Tickets", "tickets", TICKET_COLUMNS, acc.tickets, width=6),
            _table("NPS answers", "nps", NPS_COLUMNS, acc.nps, width=6),
            _table("Touchpoints", "touchpoints", TOUCHPOINT_COLUMNS, acc.touchpoints, width=6),
            _table("Contracts", "contracts", CONTRACT_COLUMNS, acc.contracts, width=6),
            _table("Renewals", "renewals", RENEWAL_COLUMNS, acc.renewals, width=12, height=240),
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
