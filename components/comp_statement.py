"""The compensation statement drawn as a document (pages/_comp_statement.py): a header with the
person, plan, version, period, data build and as-of; the metrics table; the totals with the
proration explained; and the renewals and expansions that count, with their attribution.

Plain HTML tables (not a virtual grid) so the printable version prints every line.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import formatting
from components.labels import label
from services.comp_statement import LiveCheck, MetricRow, Statement, summary_facts

DOC = "cm-statement-doc"
METRICS_TABLE = "cm-statement-metrics"
TOTALS = "cm-statement-totals"
LINES_TABLE = "cm-statement-lines"
ISSUED_NOTE = "cm-statement-issued-note"
LIVE_NOTE = "cm-statement-live-note"


def _dash(text: str) -> str:
    return text if text else "–"


def metric_value(unit: str, value: float | None) -> str:
    """A target or an actual in its unit: a share as a percentage, money in dollars."""
    if value is None:
        return "–"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    return formatting.money_exact(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _money(value: float | None) -> str:
    return "–" if value is None else f"${value:,.2f}"


def _arr(value: float | None) -> str:
    """ARR to the dollar (the XLSX keeps the cents)."""
    return formatting.money_exact(value)


def _metric_row(m: MetricRow) -> html.Tr:
    rule = [html.Div(m.rule_label or "–")]
    if m.reason:
        rule.append(html.Div(m.reason, className="small text-muted"))
    return html.Tr(
        [
            html.Td(m.label),
            html.Td(f"{m.weight:g}%", className="text-end"),
            html.Td(metric_value(m.unit, m.target), className="text-end"),
            html.Td(rule),
            html.Td(metric_value(m.unit, m.actual), className="text-end"),
            html.Td(_pct(m.attainment), className="text-end"),
            html.Td(_pct(m.payout_pct), className="text-end"),
            html.Td(_money(m.payout), className="text-end fw-semibold"),
            html.Td(_money(m.projected_payout), className="text-end text-muted"),
        ],
        **{"data-metric": m.metric},
    )


def metrics_table(statement: Statement) -> dbc.Table:
    head = html.Thead(
        html.Tr(
            [
                html.Th("Metric"),
                html.Th("Weight", className="text-end"),
                html.Th("Target", className="text-end"),
                html.Th("Target rule"),
                html.Th("Actual to date", className="text-end"),
                html.Th("Attainment", className="text-end"),
                html.Th("Payout %", className="text-end"),
                html.Th("Payout to date", className="text-end"),
                html.Th("Projected payout", className="text-end"),
            ]
        )
    )
    total = html.Tr(
        [
            html.Td("Total", className="fw-semibold"),
            html.Td(f"{sum(m.weight for m in statement.metrics):g}%", className="text-end"),
            html.Td(""),
            html.Td(""),
            html.Td(""),
            html.Td(_pct(statement.attainment), className="text-end", title="Weighted"),
            html.Td(""),
            html.Td(_money(statement.total_payout), className="text-end fw-bold"),
            html.Td(_money(statement.projected_payout), className="text-end text-muted"),
        ],
        className="cm-statement-total-row",
    )
    return dbc.Table(
        [head, html.Tbody([*(_metric_row(m) for m in statement.metrics), total])],
        id=METRICS_TABLE,
        size="sm",
        bordered=False,
        hover=True,
        className="cm-statement-table mb-0",
    )


def totals(statement: Statement) -> html.Div:
    """On-target (prorated, explained), payout to date, projected payout and its range."""

    def fact(label: str, value: str, detail: Any = None, key: str = "") -> html.Div:
        return html.Div(
            [
                html.Div(label, className="fact-label"),
                html.Div(value, className="fact-value fs-5", id=f"cm-statement-total-{key}"),
                html.Div(detail, className="small text-muted") if detail else None,
            ],
            className="cm-statement-fact",
        )

    state = "Final" if statement.closed else f"Data to {statement.to_date:%d %b %Y}"
    return html.Div(
        [
            fact("On-target bonus", _money(statement.on_target), statement.proration, "on-target"),
            fact("Payout to date", _money(statement.total_payout), state, "payout"),
            fact(
                "Projected payout",
                _money(statement.projected_payout),
                f"80% range {_money(statement.projected_low)} – {_money(statement.projected_high)}",
                "projected",
            ),
        ],
        id=TOTALS,
        className="cm-statement-totals",
    )


def _owner(name: str, csm_id: str) -> str:
    return name or ("Unowned" if not csm_id else csm_id)


def lines_table(statement: Statement) -> Any:
    if not statement.lines:
        return html.Div(
            "No renewal or expansion closed in the period counts for this person yet.",
            id=LINES_TABLE,
            className="text-muted small",
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th("Kind"),
                html.Th("Account"),
                html.Th("Closed"),
                html.Th("ARR up", className="text-end"),
                html.Th("Renewed / won", className="text-end"),
                html.Th("Retained", className="text-end"),
                html.Th("Outcome"),
                html.Th("Credited to"),
                html.Th("Owner now"),
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(c.kind.capitalize()),
                html.Td([html.Div(c.account_name), html.Div(c.id, className="small text-muted")]),
                html.Td(formatting.date(c.closed_date)),
                html.Td(_arr(c.arr_up) if c.kind == "renewal" else "–", className="text-end"),
                html.Td(_arr(c.amount), className="text-end"),
                html.Td(_arr(c.retained) if c.kind == "renewal" else "–", className="text-end"),
                html.Td(_dash(c.outcome and label(f"{c.kind}_outcome", c.outcome))),
                html.Td(
                    [
                        html.Div(_owner(c.credited_name, c.credited_to)),
                        html.Div(
                            f"owner since {formatting.date(c.owned_from)}",
                            className="small text-muted",
                        )
                        if c.owned_from
                        else None,
                    ]
                ),
                html.Td(
                    _owner(c.owner_now_name, c.owner_now),
                    className="text-muted" if c.owner_now == c.credited_to else "fw-semibold",
                ),
            ]
        )
        for c in statement.lines
    ]
    return dbc.Table(
        [head, html.Tbody(rows)],
        id=LINES_TABLE,
        size="sm",
        striped=True,
        className="cm-statement-table mb-0",
    )


def header(statement: Statement) -> html.Div:
    facts = summary_facts(statement)
    return html.Div(
        [
            html.Div("Compensation statement", className="fact-label"),
            html.H2(statement.person, className="h4 mb-1", id="cm-statement-person-name"),
            html.Div(
                f"{statement.role} · {statement.team or 'no team'} · {statement.period_label}",
                className="text-muted mb-3",
            ),
            html.Dl(
                [
                    part
                    for label, text in facts[2:]
                    for part in (
                        html.Dt(label, className="fact-label"),
                        html.Dd(text, className="mb-0"),
                    )
                ],
                className="mb-0 small cm-statement-facts",
                id="cm-statement-facts",
            ),
        ],
        className="cm-statement-header",
    )


def document(statement: Statement) -> html.Div:
    """The statement as one document (screen and print)."""
    return html.Div(
        [
            header(statement),
            html.H3("Metrics", className="h6 mt-4 mb-2"),
            metrics_table(statement),
            html.H3("Totals", className="h6 mt-4 mb-2"),
            totals(statement),
            html.H3(
                f"Renewals and expansions that count ({len(statement.lines):,})",
                className="h6 mt-4 mb-1",
            ),
            html.Div(
                "Each counts for the account's owner on the day it closed.",
                className="small text-muted mb-2",
            ),
            lines_table(statement),
        ],
        id=DOC,
        className="cm-statement-doc",
    )


def issued_note(statement: Statement, check: LiveCheck | None) -> html.Div:
    """ "Issued <when> by <who> on data build <id>", and whether the live numbers now differ."""
    issued = statement.issued
    if issued is None:
        return html.Div()
    text = (
        f"Issued {issued.at:%d %b %Y %H:%M} UTC by {issued.by} on data build "
        f"{statement.build_id}. Shown exactly as issued."
    )
    live = None
    if check is not None:
        if check.same_build:
            live = "The data has not been rebuilt since: the live numbers are the same."
        else:
            live = check.message
    changed = check is not None and not check.same_build and bool(check.difference)
    return dbc.Alert(
        [
            html.Div(text, id=ISSUED_NOTE, className="fw-semibold"),
            html.Div(live, id=LIVE_NOTE, className="small mt-1") if live else None,
        ],
        color="warning" if changed else "secondary",
        className="py-2 mb-3 cm-statement-issued",
    )
