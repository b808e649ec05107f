"""Per-person compensation statements (issue #9 "Statement"): what one person is paid for one
bonus period under one plan version, on one data build, and the renewals and expansions that
count for it.

A statement is computed from the same services as the Attainment tab (measures, targets,
payouts) and drawn, exported and issued from one frozen value, `Statement`. Issuing stores the
whole statement (numbers, counted lines, plan, data build id) as one app-state item of kind
`comp_statement`, so an issued statement reads back exactly as it was issued, whatever data
was imported since; `live_check` recomputes it on the current build to say whether the live
numbers now differ.

A statement covers the person's whole book: the account filters of the view (segment, region,
tier) do not apply to pay, and team / owner filters only narrow who can be picked.

Only a statement computed with the plan version in force for its period can be issued
(`issue_refusal`): a pinned older or later version, a preview of a plan that had not taken effect
yet, or the unsaved default plan can be looked at, exported and printed, never issued. The
statement records whether its version was in force (`in_force`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from services.app_state import ITEM_ID, InvalidPayload, NameTaken, NotFound, app_state
from services.comp_periods import MONTHS, parse_period
from services.comp_plan import METRICS, plan_from_payload, plan_to_payload
from services.db import Database
from services.errors import ServiceError
from services.filters import Filters

log = logging.getLogger(__name__)

KIND = "comp_statement"
PAYLOAD_FORMAT = 1
UNOWNED_ID = "__unowned__"
MAX_NAME_TRIES = 50


class StatementUnavailable(ServiceError):
    """No statement can be made for this person and view (the message says why)."""


class DamagedStatement(ServiceError):
    """An issued statement whose stored payload cannot be read back."""


class StatementTooLarge(ServiceError):
    """A statement too large for the saved-items store (too many counted lines)."""


class NotInForce(ServiceError):
    """A statement computed with a plan version that was not in force for its period."""


# ---- the statement -------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricRow:
    """One metric of the statement: how it is weighed, the target and why, the actual, and what
    it pays to date. Rates are shares (0-1), money is ARR; None: nothing to measure."""

    metric: str
    label: str
    unit: str  # "rate" | "money"
    weight: float  # % of the on-target bonus
    target: float | None
    rule_label: str
    reason: str
    actual: float | None
    attainment: float | None  # %
    payout_pct: float  # % of the metric's share of the on-target bonus
    payout: float  # money, to date
    projected: float | None
    projected_attainment: float | None
    projected_payout: float


@dataclass(frozen=True)
class CountedLine:
    """A renewal or an expansion that counts for the person, and its attribution: the owner it
    is credited to (the owner on the day it closed, since `owned_from`) and the owner now."""

    kind: str  # "renewal" | "expansion"
    id: str
    account_id: str
    account_name: str
    closed_date: date | None
    arr_up: float | None
    amount: float | None  # renewed ARR (renewal) or won ARR (expansion)
    retained: float | None
    outcome: str
    credited_to: str
    credited_name: str
    owned_from: date | None
    owner_now: str
    owner_now_name: str


@dataclass(frozen=True)
class Issued:
    """Who issued a statement, when, and the item that keeps it."""

    item_id: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Statement:
    """A person's statement for one period, plan version and data build."""

    csm_id: str
    person: str
    role: str
    team: str
    plan_item_id: str | None  # None: the default plan (never saved)
    plan_name: str
    plan_version: int | None
    plan_effective_from: date
    plan_payload: dict[str, Any]  # the plan exactly as computed with (recomputed from it later)
    period_key: str
    period_label: str
    as_of: date
    to_date: date
    closed: bool  # the data covers the whole period: its numbers are final
    build_id: str
    computed_at: datetime
    scope: str  # the filters the statement was computed under (query string; "" = every account)
    metrics: tuple[MetricRow, ...]
    on_target_annual: float
    year_fraction: float
    employed_share: float
    on_target: float  # prorated to the period and the share of it employed
    proration: str  # the proration in words
    attainment: float | None  # weighted, to date (%)
    total_payout: float  # to date
    projected_payout: float
    projected_low: float
    projected_high: float
    lines: tuple[CountedLine, ...] = ()
    # The plan version was the one in force for the period (PlanView.in_force); None: issued
    # before this was recorded.
    in_force: bool | None = None
    issued: Issued | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The name it is issued under: person, period, plan version."""
        version = f"v{self.plan_version}" if self.plan_version is not None else "default plan"
        return f"{self.person} · {self.period_label} · {version}"


# ---- building one ----------------------------------------------------------------------------
def _value(x: Any) -> float | None:
    """A finite float, or None (NaN, None, missing)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        number = float(x)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _money(x: Any) -> float:
    return _value(x) or 0.0


def _text(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT:
        return ""
    return str(x)


def _day(x: Any) -> date | None:
    if x is None or x is pd.NaT or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, datetime | pd.Timestamp):
        return x.date()
    if isinstance(x, date):
        return x
    try:
        return date.fromisoformat(str(x)[:10])
    except ValueError:
        return None


def _rows_of(frame: pd.DataFrame, csm_id: str) -> pd.DataFrame:
    """The rows of one person, whether `csm_id` is a column or the index."""
    if "csm_id" in frame.columns:
        return frame[frame["csm_id"] == csm_id]
    return frame[frame.index.get_level_values(0) == csm_id]


def _row_of(frame: pd.DataFrame, csm_id: str) -> Mapping[str, Any] | None:
    rows = _rows_of(frame, csm_id)
    return None if rows.empty else rows.iloc[0].to_dict()


def statement_filters(filters: Filters) -> Filters:
    """The scope of a statement: every account (pay covers the whole book), the view's as-of."""
    return Filters(as_of=filters.as_of)


def _proration(role: str, annual: float, kind: str, share: float, days: int) -> str:
    months = MONTHS[kind]
    text = (
        f"Annual on-target bonus for a {role} ${annual:,.0f} x {months}/12 of a year (one {kind})"
    )
    if share >= 1 - 1e-9:
        return text + ", employed the whole period."
    employed = round(share * days)
    return text + f" x {share:.1%} (employed {employed} of the period's {days} days)."


def _metric_rows(plan, lines: pd.DataFrame, targets: pd.DataFrame) -> tuple[MetricRow, ...]:
    rows = []
    by_metric = {str(r["metric"]): r for r in lines.to_dict("records")}
    reasons = {str(r["metric"]): r for r in targets.to_dict("records")}
    for m in plan.metrics:
        line = by_metric.get(m.metric, {})
        target_row = reasons.get(m.metric, {})
        rows.append(
            MetricRow(
                metric=m.metric,
                label=METRICS[m.metric].label,
                unit=METRICS[m.metric].unit,
                weight=float(m.weight),
                target=_value(line.get("target", target_row.get("target"))),
                rule_label=_text(line.get("rule_label", target_row.get("rule_label"))),
                reason=_text(target_row.get("reason")),
                actual=_value(line.get("actual")),
                attainment=_value(line.get("attainment")),
                payout_pct=_money(line.get("payout_pct")),
                payout=_money(line.get("payout")),
                projected=_value(line.get("projected")),
                projected_attainment=_value(line.get("projected_attainment")),
                projected_payout=_money(line.get("projected_payout")),
            )
        )
    return tuple(rows)


def _counted(lines: pd.DataFrame) -> tuple[CountedLine, ...]:
    out = []
    for r in lines.to_dict("records"):
        out.append(
            CountedLine(
                kind=_text(r.get("kind")),
                id=_text(r.get("id")),
                account_id=_text(r.get("account_id")),
                account_name=_text(r.get("account_name")),
                closed_date=_day(r.get("closed_date")),
                arr_up=_value(r.get("arr_up")),
                amount=_value(r.get("amount")),
                retained=_value(r.get("retained")),
                outcome=_text(r.get("outcome")),
                credited_to=_text(r.get("credited_to")),
                credited_name=_text(r.get("credited_name")),
                owned_from=_day(r.get("owned_from")),
                owner_now=_text(r.get("owner_now")),
                owner_now_name=_text(r.get("owner_now_name")),
            )
        )
    out.sort(key=lambda c: (c.kind != "renewal", c.closed_date or date.min, c.id))
    return tuple(out)


def _compute(db: Database, filters: Filters, plan, period, as_of: date):
    """Measures, targets and payouts (imported here so this module loads without them in
    tools that only read issued statements)."""
    from services.comp_compute import plan_numbers

    return plan_numbers(db, filters, plan, period, as_of)


def people(db: Database, filters: Filters, plan_view: Any, as_of: date) -> list[tuple[str, str]]:
    """(csm_id, label) of everyone a statement can be made for in this view, by name; the
    view's team and owner filters narrow the list."""
    from services.comp_actuals import period_measures

    measures = period_measures(db, statement_filters(filters), plan_view.period, as_of)
    frame = measures.people.reset_index() if "csm_id" not in measures.people else measures.people
    frame = frame[frame["csm_id"] != UNOWNED_ID]
    if filters.team:
        frame = frame[frame["team"].isin(filters.team)]
    if filters.owner:
        frame = frame[frame["csm_id"].isin(filters.owner)]
    frame = frame.sort_values(["name", "csm_id"])
    return [
        (str(r.csm_id), f"{r.name} ({r.role}, {_text(r.team) or 'no team'})")
        for r in frame.itertuples()
    ]


def build_statement(
    db: Database, filters: Filters, plan_view: Any, csm_id: str, as_of: date
) -> Statement:
    """The statement of `csm_id` for the view's plan version and period on `as_of`.

    `plan_view`: a comp_plan_store.PlanView (item_id, name, version, plan, period, in_force).
    Raises StatementUnavailable when the person is not among the period's people.
    """
    from services.comp_actuals import attributed_lines

    scope = statement_filters(filters)
    plan, period = plan_view.plan, plan_view.period
    measures, targets, payouts = _compute(db, scope, plan, period, as_of)
    person = _row_of(payouts.people, csm_id) if csm_id != UNOWNED_ID else None
    facts = _row_of(measures.people, csm_id)
    if person is None or facts is None:
        raise StatementUnavailable(
            f"No one with the id {str(csm_id)[:40]!r} has a statement for "
            f"{period.label()}: pick a person from the list."
        )
    role = _text(person.get("role") or facts.get("role"))
    annual = float(plan.on_target_bonus.get(role, 0.0))
    share = _value(facts.get("employed_share"))
    share = 1.0 if share is None else share
    lines = attributed_lines(db, scope, period, as_of, csm_id)
    return Statement(
        csm_id=csm_id,
        person=_text(person.get("name") or facts.get("name")),
        role=role,
        team=_text(person.get("team") or facts.get("team")),
        plan_item_id=plan_view.item_id,
        plan_name=plan_view.name,
        plan_version=plan_view.version,
        plan_effective_from=plan.effective_from,
        plan_payload=plan_to_payload(plan),
        period_key=period.key,
        period_label=period.label(),
        as_of=as_of,
        to_date=measures.to_date,
        closed=period.closed(as_of),
        build_id=str(measures.build_id),
        computed_at=datetime.now(UTC).replace(microsecond=0),
        scope=scope.to_search(),
        metrics=_metric_rows(plan, _rows_of(payouts.lines, csm_id), _rows_of(targets, csm_id)),
        on_target_annual=annual,
        year_fraction=period.year_fraction,
        employed_share=share,
        on_target=_money(person.get("on_target")),
        proration=_proration(role, annual, period.kind, share, period.days),
        attainment=_value(person.get("attainment")),
        total_payout=_money(person.get("payout")),
        projected_payout=_money(person.get("projected_payout")),
        projected_low=_money(person.get("projected_low")),
        projected_high=_money(person.get("projected_high")),
        lines=_counted(lines),
        in_force=plan_view.in_force,
    )


# ---- the payload: the statement as JSON, and back --------------------------------------------
_DATE_FIELDS = {"plan_effective_from", "as_of", "to_date", "closed_date", "owned_from"}
_LINE_FIELDS = tuple(f.name for f in fields(CountedLine))
_METRIC_FIELDS = tuple(f.name for f in fields(MetricRow))


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_payload(statement: Statement) -> dict[str, Any]:
    """The statement as a JSON object: every field; the counted lines as columns and rows
    (compact: a manager's statement can count hundreds)."""
    head = {
        f.name: _json(getattr(statement, f.name))
        for f in fields(Statement)
        if f.name not in ("metrics", "lines", "issued")
    }
    return {
        "format": PAYLOAD_FORMAT,
        "statement": head,
        "metrics": [{k: _json(getattr(m, k)) for k in _METRIC_FIELDS} for m in statement.metrics],
        "lines": {
            "columns": list(_LINE_FIELDS),
            "rows": [[_json(getattr(c, k)) for k in _LINE_FIELDS] for c in statement.lines],
        },
    }


def _parsed(name: str, value: Any) -> Any:
    if name in _DATE_FIELDS:
        return None if value is None else date.fromisoformat(value)
    if name == "computed_at":
        return datetime.fromisoformat(value)
    return value


def from_payload(payload: Mapping[str, Any]) -> Statement:
    """The statement a payload holds; DamagedStatement when it is not one this code wrote."""
    try:
        if payload.get("format") != PAYLOAD_FORMAT:
            raise ValueError("format")
        head = {k: _parsed(k, v) for k, v in payload["statement"].items()}
        metrics = tuple(MetricRow(**m) for m in payload["metrics"])
        columns = payload["lines"]["columns"]
        lines = tuple(
            CountedLine(**{k: _parsed(k, v) for k, v in zip(columns, row, strict=True)})
            for row in payload["lines"]["rows"]
        )
        return Statement(**head, metrics=metrics, lines=lines)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise DamagedStatement(
            "This issued statement cannot be read (it was changed outside the console)."
        ) from None


# ---- issuing and reading back ----------------------------------------------------------------
def issue_refusal(statement: Statement) -> str | None:
    """Why this statement cannot be issued (its plan version was not the one in force for the
    period, or the plan is not saved); None when it can."""
    if statement.plan_item_id is None:
        return (
            "Statements are issued under a saved plan only: this one uses the default plan, "
            "which is not saved. Save it on the Plan tab first."
        )
    if statement.in_force:
        return None
    return (
        f"Version {statement.plan_version} of “{statement.plan_name}” is not the version in "
        f"force for {statement.period_label}, so this statement is a preview and cannot be "
        "issued. Statements are issued under the version in force on the period's first day "
        "(open the period without a version in the link)."
    )


def issue_statement(statement: Statement, author: str) -> str:
    """Freeze the statement in the app-state store; returns the item id (its link's key).

    Named "<person> · <period> · v<version>", with " (2)", " (3)"... when issued again.
    NotInForce (nothing saved) when its plan version was not in force for the period.
    """
    refusal = issue_refusal(statement)
    if refusal is not None:
        raise NotInForce(refusal)
    payload = to_payload(statement)
    store = app_state()
    for n in range(1, MAX_NAME_TRIES + 1):
        name = statement.name if n == 1 else f"{statement.name} ({n})"
        try:
            item = store.create(
                KIND, name, payload, author, note=f"data build {statement.build_id}"
            )
        except NameTaken:
            continue
        except InvalidPayload:
            raise StatementTooLarge(
                f"This statement counts {len(statement.lines):,} renewals and expansions, too "
                "many to issue as one statement; issue the statements of the people it covers."
            ) from None
        return item.id
    raise NameTaken(f"{statement.name} has been issued {MAX_NAME_TRIES} times; nothing was saved.")


def issued_statement(item_id: Any) -> Statement:
    """An issued statement exactly as it was issued, with who issued it and when."""
    text = str(item_id or "")[:64]
    if not ITEM_ID.match(text):
        raise NotFound("There is no issued statement with this id; check the link.")
    try:
        item = app_state().get(text, kind=KIND)
    except NotFound:
        raise NotFound("There is no issued statement with this id; check the link.") from None
    statement = from_payload(item.payload)
    return replace(statement, issued=Issued(item.id, item.created_by, item.created_at))


def issued_list(csm_id: str | None = None) -> list[tuple[str, str]]:
    """(item id, name) of the issued statements, newest first (of one person when given)."""
    items = [i for i in app_state().list(KIND)]
    if csm_id:
        items = [i for i in items if i.payload.get("statement", {}).get("csm_id") == csm_id]
    items.sort(key=lambda i: i.created_at, reverse=True)
    return [(i.id, i.name) for i in items]


# ---- an issued statement against the current data --------------------------------------------
@dataclass(frozen=True)
class LiveCheck:
    """How the current data build compares with an issued statement's."""

    build_id: str
    same_build: bool
    total_payout: float | None  # the payout to date recomputed on the current build
    difference: float | None  # current - issued
    message: str


class _PlanOf:
    """The plan view an issued statement was computed with (its saved plan payload)."""

    def __init__(self, statement: Statement):
        self.item_id = statement.plan_item_id
        self.name = statement.plan_name
        self.version = statement.plan_version
        self.plan = plan_from_payload(statement.plan_payload)
        self.period = parse_period(statement.period_key)
        self.in_force = statement.in_force


def recompute(db: Database, statement: Statement) -> Statement:
    """The same statement (person, plan version, period, as-of, scope) on the current build."""
    filters = Filters.from_search(statement.scope)
    return build_statement(db, filters, _PlanOf(statement), statement.csm_id, statement.as_of)


def _money_text(value: float) -> str:
    return f"${value:,.0f}"


def live_check(db: Database, statement: Statement) -> LiveCheck:
    """Whether the current data would give the statement different numbers, and by how much."""
    build_id = db.info().build_id
    if build_id == statement.build_id:
        return LiveCheck(build_id, True, statement.total_payout, 0.0, "")
    try:
        now = recompute(db, statement)
    except ServiceError as exc:
        return LiveCheck(
            build_id,
            False,
            None,
            None,
            f"The current data (build {build_id}) cannot recompute it: {exc}",
        )
    except Exception:  # the issued statement is shown whatever the live recompute does
        log.exception("live check of an issued statement failed")
        return LiveCheck(
            build_id,
            False,
            None,
            None,
            f"The current data (build {build_id}) cannot recompute it, so the live numbers "
            "cannot be compared.",
        )
    difference = now.total_payout - statement.total_payout
    changed = _differs(statement, now)
    if not changed:
        message = (
            f"The current data (build {build_id}) gives the same numbers: the live statement "
            "is unchanged."
        )
    elif abs(difference) < 0.005:
        message = (
            f"On the current data (build {build_id}) some numbers differ, but the payout to "
            f"date is the same ({_money_text(now.total_payout)})."
        )
    else:
        direction = "more" if difference > 0 else "less"
        message = (
            f"On the current data (build {build_id}) the live numbers differ: the payout to "
            f"date would be {_money_text(now.total_payout)}, {_money_text(abs(difference))} "
            f"{direction} than issued."
        )
    return LiveCheck(build_id, False, now.total_payout, difference, message)


def _differs(issued: Statement, now: Statement) -> bool:
    """Any number or counted line differs (who computed it when, and the build, aside)."""
    keep = {"computed_at": issued.computed_at, "build_id": issued.build_id}
    return replace(now, **keep) != issued


# ---- the XLSX ----------------------------------------------------------------------------------
SUMMARY_SHEET = "Summary"
LINES_SHEET = "Counted renewals & expansions"
METRIC_HEADERS = (
    "Metric",
    "Unit",
    "Weight (%)",
    "Target",
    "Target rule",
    "Actual to date",
    "Attainment (%)",
    "Payout (%)",
    "Payout to date ($)",
    "Projected payout ($)",
)
LINE_HEADERS = (
    "Kind",
    "Id",
    "Account id",
    "Account",
    "Closed",
    "ARR up ($)",
    "Renewed / won ARR ($)",
    "Retained ARR ($)",
    "Outcome",
    "Credited to",
    "Credited to (id)",
    "Owner since",
    "Owner now",
    "Owner now (id)",
)
FORMULA_TRIGGER = re.compile(r"^([=+\-@\t\r])")


def neutral(text: Any) -> Any:
    """A text cell that no spreadsheet reads as a formula: services/exports' neutraliser on one
    value (numbers and dates pass)."""
    if not isinstance(text, str):
        return text
    import pyarrow as pa

    from services.exports import neutralise

    batch = pa.RecordBatch.from_arrays([pa.array([text], pa.string())], names=["v"])
    return neutralise(batch).column(0)[0].as_py()


def _shown(unit: str, value: float | None) -> float | None:
    """A metric value as the sheet shows it: rates in %, money as is."""
    if value is None:
        return None
    return value * 100 if unit == "rate" else value


def _metric_records(statement: Statement) -> list[dict[str, Any]]:
    rows = []
    for m in statement.metrics:
        rule = m.rule_label + (f" ({m.reason})" if m.reason else "")
        rows.append(
            {
                "Metric": m.label,
                "Unit": "%" if m.unit == "rate" else "$",
                "Weight (%)": m.weight,
                "Target": _shown(m.unit, m.target),
                "Target rule": rule,
                "Actual to date": _shown(m.unit, m.actual),
                "Attainment (%)": m.attainment,
                "Payout (%)": m.payout_pct,
                "Payout to date ($)": m.payout,
                "Projected payout ($)": m.projected_payout,
            }
        )
    blank = dict.fromkeys(METRIC_HEADERS)
    rows.append(
        {
            **blank,
            "Metric": "Total",
            "Weight (%)": sum(m.weight for m in statement.metrics),
            "Attainment (%)": statement.attainment,
            "Payout to date ($)": statement.total_payout,
            "Projected payout ($)": statement.projected_payout,
        }
    )
    rows.append(blank)
    totals = (
        ("On-target bonus for the period ($)", statement.on_target, statement.proration),
        ("Payout to date ($)", statement.total_payout, f"Data to {statement.to_date:%d %b %Y}"),
        (
            "Projected payout, whole period ($)",
            statement.projected_payout,
            "Actual to date + the forecast for the rest of the period",
        ),
        ("Projected payout, low ($)", statement.projected_low, "80% range"),
        ("Projected payout, high ($)", statement.projected_high, "80% range"),
    )
    for label, value, detail in totals:
        rows.append({**blank, "Metric": label, "Target rule": detail, "Payout to date ($)": value})
    return [{k: neutral(v) for k, v in r.items()} for r in rows]


def _line_records(statement: Statement) -> list[dict[str, Any]]:
    rows = [
        {
            "Kind": c.kind.capitalize(),
            "Id": c.id,
            "Account id": c.account_id,
            "Account": c.account_name,
            "Closed": c.closed_date,
            "ARR up ($)": c.arr_up,
            "Renewed / won ARR ($)": c.amount,
            "Retained ARR ($)": c.retained,
            "Outcome": (c.outcome or "").capitalize(),
            "Credited to": c.credited_name,
            "Credited to (id)": c.credited_to,
            "Owner since": c.owned_from,
            "Owner now": c.owner_now_name or "Unowned",
            "Owner now (id)": c.owner_now,
        }
        for c in statement.lines
    ]
    if not rows:  # the writer takes the header from the first record
        rows = [dict.fromkeys(LINE_HEADERS)]
    return [{k: neutral(v) for k, v in r.items()} for r in rows]


def _in_force_text(in_force: bool | None) -> str:
    if in_force is None:
        return "Not recorded"
    if in_force:
        return "Yes: the version in force on the period's first day"
    return "No: a preview under a version not in force for the period"


def summary_facts(statement: Statement) -> list[tuple[str, str]]:
    """The statement's header as (label, text): who, which plan, which data."""
    version = (
        f"{statement.plan_version}" if statement.plan_version is not None else "default (unsaved)"
    )
    facts = [
        ("Person", f"{statement.person} ({statement.csm_id})"),
        ("Role and team", f"{statement.role}, {statement.team or 'no team'}"),
        ("Plan", statement.plan_name),
        ("Plan version", version),
        ("Plan in force from", f"{statement.plan_effective_from:%d %b %Y}"),
        ("Version in force for the period", _in_force_text(statement.in_force)),
        ("Period", f"{statement.period_label} ({statement.period_key})"),
        ("Data as of", f"{statement.as_of:%d %b %Y}; actuals to {statement.to_date:%d %b %Y}"),
        ("Data build", statement.build_id),
        ("Computed", f"{statement.computed_at:%d %b %Y %H:%M} UTC"),
    ]
    if statement.issued is not None:
        issued = statement.issued
        facts.append(
            ("Issued", f"{issued.at:%d %b %Y %H:%M} UTC by {issued.by} ({issued.item_id})")
        )
    return facts


MONEY = "$#,##0.00"
PCT = "0.0"


def statement_xlsx(statement: Statement) -> Any:
    """The statement as an XLSX file open for reading (already unlinked from the disk): a
    Summary sheet (who, plan, version, period, build, as-of above the metrics table and the
    totals) and the counted renewals and expansions. Every text cell is neutralised."""
    import os
    import tempfile

    from rustpy_xlsxwriter import Format, write_worksheets

    facts = summary_facts(statement)
    top = [(0, 0, 0, 5, neutral(f"Compensation statement: {statement.name}"), Format().set_bold())]
    for i, (label, text) in enumerate(facts, start=1):
        top.append((i, 0, i, 1, neutral(label), Format().set_bold()))
        top.append((i, 2, i, 6, neutral(text)))
    header_row = len(facts) + 2
    number = {"Weight (%)": PCT, "Target": "#,##0.0##", "Actual to date": "#,##0.0##"}
    number |= {"Attainment (%)": PCT, "Payout (%)": PCT}
    number |= {"Payout to date ($)": MONEY, "Projected payout ($)": MONEY}
    money_lines = {"ARR up ($)", "Renewed / won ARR ($)", "Retained ARR ($)"}
    fd, path = tempfile.mkstemp(prefix="csops-statement-", suffix=".xlsx")
    os.close(fd)
    try:
        write_worksheets(
            [(SUMMARY_SHEET, _metric_records(statement)), (LINES_SHEET, _line_records(statement))],
            path,
            header_row={SUMMARY_SHEET: header_row},
            merge_ranges={SUMMARY_SHEET: top},
            freeze_panes={LINES_SHEET: {"row": 1, "col": 0}},
            header_format={"general": Format().set_bold()},
            column_formats={
                SUMMARY_SHEET: [
                    Format().set_num_format(number[h]) if h in number else None
                    for h in METRIC_HEADERS
                ],
                LINES_SHEET: [
                    Format().set_num_format(MONEY)
                    if h in money_lines
                    else (
                        Format().set_num_format("yyyy-mm-dd")
                        if h in ("Closed", "Owner since")
                        else None
                    )
                    for h in LINE_HEADERS
                ],
            },
            column_widths={
                SUMMARY_SHEET: [34, 6, 11, 12, 44, 14, 14, 11, 18, 20],
                LINES_SHEET: [11, 16, 14, 30, 12, 14, 20, 16, 12, 22, 16, 12, 22, 16],
            },
            datetime_format="yyyy-mm-dd",
        )
        return open(path, "rb")  # noqa: SIM115 - the caller (the response) closes it
    finally:
        os.unlink(path)


def statement_filename(statement: Statement) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{statement.person} {statement.period_label}").strip("-")
    return f"statement-{slug.lower() or 'person'}.xlsx"


__all__: Sequence[str] = (
    "KIND",
    "CountedLine",
    "Issued",
    "LiveCheck",
    "MetricRow",
    "Statement",
    "build_statement",
    "issue_refusal",
    "issue_statement",
    "issued_statement",
    "live_check",
    "statement_xlsx",
)
