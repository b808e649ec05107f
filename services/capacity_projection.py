"""The what-if capacity scenario: how many CSMs the books need each quarter if the business
grows like this, how many the team will have, and when to open the requisitions.

The model, in plain words (the page says the same):

* Start. The view's books on its date (services/capacity_baseline.py): per segment the
  customers, their ARR and workload points (services/workload.py, health-weighted when the
  model weighs health), and the active CSMs as FTE (capacity / the model's capacity per CSM).
* Quarters. Fiscal quarters (CSOPS_FISCAL_YEAR_START_MONTH). The first is the rest of the
  quarter holding the date (its flows scaled by the share of it left); the horizon counts it.
  Everything is measured at each quarter's end.
* Customers. Each quarter a segment gains new logos = growth x its customers at the start (a
  constant number a quarter, not compounding) and loses churn x its customers at the quarter's
  start. Defaults: the trailing year's new logos a quarter / today's customers, and
  1 − (trailing logo retention)^(1/4). A new logo brings the segment's median ARR (a lost
  logo takes the segment's average ARR then) and the segment's average points, i.e. its
  typical tier mix and health.
* Coverage change. From the chosen quarter on, customers of the chosen segments with ARR under
  the threshold move to the lighter tier (pooled or tech-touch; a customer already as light
  stays), so the segment's average points per customer fall by the points saved today; new
  logos follow the same coverage.
* Required FTE = points / (capacity per CSM x target utilisation).
* Today's team after attrition and ramp: each CSM survives a year with probability 1 − the
  attrition rate (compounded by the day), and one hired less than the ramp before the date
  carries the ramp productivity until then. Gap = required − that supply.
* Requisitions. Each quarter whose required FTE exceeds the supply (today's team plus the
  requisitions planned so far) gets the whole number of hires that covers the gap; backfills for
  attrition are requisitions like any other. A hire for a quarter is fully ramped at its end: it
  starts the ramp before, and its requisition opens the hiring lead time before that. A date
  already past means "open now": the hire starts a lead time after the date and is covered
  (at full capacity) a ramp later, so the gap stays open until then.
* Cost = the requisitions so far x the loaded cost per CSM: what the hires cost a year.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from services.capacity_baseline import (
    Baseline,
    SegmentBase,
    scenario_baseline,
)
from services.fiscal import add_months, quarter_name, quarter_start
from services.renewal_forecast import months_before
from services.settings import load_capacity_settings, load_settings
from services.workload import SEGMENTS, WorkloadParams, first_value, url_number

__all__ = [
    "Baseline",
    "Projection",
    "ScenarioInputs",
    "project",
    "projection_quarters",
    "scenario_baseline",
    "segment_columns",
]

SEGMENT_KEYS = {"Enterprise": "ent", "Mid-Market": "mm", "SMB": "smb"}
TIER_KEYS = {"pooled": "pooled", "tech-touch": "tech"}
HORIZON = (4, 12)
DEFAULT_HORIZON = 8
DAYS_A_YEAR = 365.25
EPS = 1e-9


def segment_columns(segment: str) -> tuple[str, str]:
    """The quarterly table's customers and ARR columns of a segment: accounts_ent, arr_ent."""
    key = SEGMENT_KEYS[segment]
    return f"accounts_{key}", f"arr_{key}"


# ---- inputs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    """One scalar input: URL key, attribute, URL scale (shares travel as percents), bounds in
    URL units, whether it is a whole number, the label and the unit shown with the message."""

    key: str
    name: str
    scale: float
    low: float
    high: float
    whole: bool
    label: str
    unit: str


_SCALARS = (
    _Field("hz", "horizon", 1, *HORIZON, True, "Horizon", "quarters"),
    _Field("attr", "attrition", 100, 0, 90, False, "CSM attrition", "% a year"),
    _Field("ramp", "ramp_months", 1, 0, 36, True, "Ramp to full capacity", "months"),
    _Field("rprod", "ramp_productivity", 100, 0, 100, False, "Productivity while ramping", "%"),
    _Field("lead", "lead_days", 1, 0, 730, True, "Hiring lead time", "days"),
    _Field("cost", "loaded_cost", 1, 0, 10_000_000, False, "Loaded cost per CSM", "$ a year"),
    _Field("cc_arr", "cc_below_arr", 1, 0, 1e10, False, "Coverage change: ARR under", "$"),
    _Field("cc_from", "cc_from", 1, 1, HORIZON[1], True, "Coverage change from quarter", ""),
)
_GROWTH = {
    s: _Field(f"g_{k}", s, 100, -100, 1000, False, f"New logos, {s}", "% a quarter")
    for s, k in SEGMENT_KEYS.items()
}
_CHURN = {
    s: _Field(f"ch_{k}", s, 100, 0, 100, False, f"Logo churn, {s}", "% a quarter")
    for s, k in SEGMENT_KEYS.items()
}
CC_SEGMENTS_KEY = "cc_seg"
CC_TIER_KEY = "cc_tier"
# Every URL key of the scenario (the workload model's keys, `tu` among them, are its own).
URL_KEYS = (
    *(f.key for f in _SCALARS),
    *(f.key for f in _GROWTH.values()),
    *(f.key for f in _CHURN.values()),
    CC_SEGMENTS_KEY,
    CC_TIER_KEY,
)


def growth_key(segment: str) -> str:
    return _GROWTH[segment].key


def churn_key(segment: str) -> str:
    return _CHURN[segment].key


@dataclass(frozen=True)
class ScenarioInputs:
    """Every input of the scenario except the workload model's (target utilisation included:
    that is WorkloadParams). Shares are fractions (0.15), percents only in the URL.

    growth and churn: one value per segment (SEGMENTS order), a share of the segment's
    customers a quarter; None means the segment's trailing actual (from the data)."""

    horizon: int = DEFAULT_HORIZON
    growth: tuple[float | None, ...] = (None, None, None)
    churn: tuple[float | None, ...] = (None, None, None)
    attrition: float = 0.15
    ramp_months: int = 3
    ramp_productivity: float = 0.5
    lead_days: int = 75
    loaded_cost: float = 150_000.0
    cc_segments: tuple[str, ...] = ()  # coverage change: the segments it applies to (none: off)
    cc_below_arr: float = 0.0
    cc_to_tier: str = "pooled"
    cc_from: int = 1  # the quarter of the projection (1 = the first) it takes effect in

    @classmethod
    def defaults(cls) -> ScenarioInputs:
        """The settings' defaults (services/settings.py CapacitySettings); growth and churn
        follow the data."""
        s = load_capacity_settings()
        return cls(
            attrition=s.attrition_per_year,
            ramp_months=s.ramp_months,
            ramp_productivity=s.ramp_productivity,
            lead_days=s.hiring_lead_days,
            loaded_cost=s.loaded_cost_per_csm,
        )

    # ---- per segment -------------------------------------------------------------------
    def growth_for(self, segment: SegmentBase) -> float:
        value = self.growth[SEGMENTS.index(segment.segment)]
        return segment.growth_actual if value is None else value

    def churn_for(self, segment: SegmentBase) -> float:
        value = self.churn[SEGMENTS.index(segment.segment)]
        return segment.churn_actual if value is None else value

    @property
    def coverage_change(self) -> bool:
        return bool(self.cc_segments) and self.cc_below_arr > 0

    # ---- URL round trip ----------------------------------------------------------------
    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> tuple[ScenarioInputs, dict[str, str]]:
        """The defaults with the URL's changes; a value that cannot be used is left at its
        default and reported under its URL key (the page shows the message by the field)."""
        base = cls.defaults()
        errors: dict[str, str] = {}
        changes: dict[str, Any] = {}
        for f in _SCALARS:
            value = _parse(params, f, errors)
            if value is not None:
                changes[f.name] = int(value) if f.whole else _share(value, f.scale)
        for name, spec in (("growth", _GROWTH), ("churn", _CHURN)):
            values = []
            for segment in SEGMENTS:
                value = _parse(params, spec[segment], errors)
                values.append(None if value is None else _share(value, 100))
            changes[name] = tuple(values)
        segments = _segments(params.get(CC_SEGMENTS_KEY), errors)
        changes["cc_segments"] = segments
        tier = first_value(params.get(CC_TIER_KEY))
        if tier not in (None, ""):
            by_key = {v: k for k, v in TIER_KEYS.items()}
            if tier in by_key:
                changes["cc_to_tier"] = by_key[tier]
            else:
                errors[CC_TIER_KEY] = "Move the customers to pooled or tech-touch coverage."
        inputs = replace(base, **changes)
        months = 3 * inputs.horizon
        if inputs.ramp_months > months and "ramp" not in errors:
            errors["ramp"] = (
                f"A ramp of {inputs.ramp_months} months is longer than the horizon "
                f"({inputs.horizon} quarters, {months} months)."
            )
            inputs = replace(inputs, ramp_months=base.ramp_months)
        if inputs.cc_from > inputs.horizon and "cc_from" not in errors:
            errors["cc_from"] = (
                f"The coverage change starts in quarter {inputs.cc_from}, after the horizon "
                f"({inputs.horizon} quarters)."
            )
            inputs = replace(inputs, cc_from=1)
        return inputs, errors

    def to_params(self) -> dict[str, str]:
        """The inputs that differ from the defaults, as URL values (percents for shares)."""
        base = ScenarioInputs.defaults()
        out: dict[str, str] = {}
        for f in _SCALARS:
            value = getattr(self, f.name)
            if value != getattr(base, f.name):
                out[f.key] = _url_number(value * f.scale)
        for name, spec in (("growth", _GROWTH), ("churn", _CHURN)):
            for segment, value in zip(SEGMENTS, getattr(self, name), strict=True):
                if value is not None:
                    out[spec[segment].key] = _url_number(value * 100)
        if self.cc_segments:
            out[CC_SEGMENTS_KEY] = ",".join(SEGMENT_KEYS[s] for s in self.cc_segments)
        if self.cc_to_tier != base.cc_to_tier:
            out[CC_TIER_KEY] = TIER_KEYS[self.cc_to_tier]
        return out

    # ---- storage -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every input, for storage (JSON-ready; None growth or churn: the trailing actual)."""
        return {
            "horizon": self.horizon,
            "growth": dict(zip(SEGMENTS, self.growth, strict=True)),
            "churn": dict(zip(SEGMENTS, self.churn, strict=True)),
            "attrition": self.attrition,
            "ramp_months": self.ramp_months,
            "ramp_productivity": self.ramp_productivity,
            "lead_days": self.lead_days,
            "loaded_cost": self.loaded_cost,
            "coverage": {
                "segments": list(self.cc_segments),
                "below_arr": self.cc_below_arr,
                "to_tier": self.cc_to_tier,
                "from_quarter": self.cc_from,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ScenarioInputs:
        """Inputs from `to_dict`'s form. A missing or unusable value takes its default, so a
        scenario saved before an input existed still opens; values are checked as the URL's."""
        data = data if isinstance(data, Mapping) else {}
        params: dict[str, str] = {}
        for f in _SCALARS:
            value = data.get(f.name)
            if f.name.startswith("cc_"):
                coverage = data.get("coverage")
                coverage = coverage if isinstance(coverage, Mapping) else {}
                value = coverage.get(
                    {"cc_below_arr": "below_arr", "cc_from": "from_quarter"}[f.name]
                )
            if _is_number(value):
                params[f.key] = _url_number(float(value) * f.scale)
        for name, spec in (("growth", _GROWTH), ("churn", _CHURN)):
            values = data.get(name)
            for segment in SEGMENTS:
                value = values.get(segment) if isinstance(values, Mapping) else None
                if _is_number(value):
                    params[spec[segment].key] = _url_number(float(value) * 100)
        coverage = data.get("coverage")
        if isinstance(coverage, Mapping):
            segments = coverage.get("segments")
            if isinstance(segments, list | tuple):
                keys = [SEGMENT_KEYS[s] for s in segments if s in SEGMENT_KEYS]
                if keys:
                    params[CC_SEGMENTS_KEY] = ",".join(keys)
            if coverage.get("to_tier") in TIER_KEYS:
                params[CC_TIER_KEY] = TIER_KEYS[coverage["to_tier"]]
        inputs, errors = cls.from_params(params)
        return inputs

    # ---- display -----------------------------------------------------------------------
    def labels(self, baseline: Baseline | None = None) -> list[tuple[str, str]]:
        """(label, value) of every input, in the page's order, for display and diff tables.
        With a baseline, a trailing actual shows its value."""
        rows: list[tuple[str, str]] = [("Horizon", f"{self.horizon} quarters")]
        for name, title, unit in (
            ("growth", "New logos a quarter", "of the segment's customers"),
            ("churn", "Logo churn a quarter", "of the segment's customers"),
        ):
            for i, segment in enumerate(SEGMENTS):
                value = getattr(self, name)[i]
                if value is None:
                    actual = None
                    if baseline is not None:
                        base = baseline.segment(segment)
                        actual = base.growth_actual if name == "growth" else base.churn_actual
                    text = "Trailing actual" + (f" ({_pct(actual)})" if actual is not None else "")
                else:
                    text = f"{_pct(value)} {unit}"
                rows.append((f"{title}, {segment}", text))
        rows += [
            ("CSM attrition", f"{_pct(self.attrition)} a year"),
            ("Ramp to full capacity", f"{self.ramp_months} months"),
            ("Productivity while ramping", _pct(self.ramp_productivity)),
            ("Hiring lead time", f"{self.lead_days} days"),
            ("Loaded cost per CSM", f"{_plain_money(self.loaded_cost)} a year"),
            ("Coverage change", self.coverage_words()),
        ]
        return rows

    def coverage_words(self) -> str:
        """'SMB customers under $20,000 ARR to tech-touch from quarter 3' or 'None'."""
        if not self.coverage_change:
            return "None"
        return (
            f"{', '.join(self.cc_segments)} customers under {_plain_money(self.cc_below_arr)} "
            f"ARR to {self.cc_to_tier} from quarter {self.cc_from}"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _share(value: float, scale: float) -> float:
    """A URL value in its own units (1.3 percent -> 0.013, not 0.013000000000000001)."""
    return round(value / scale, 10)


def _url_number(value: float) -> str:
    return f"{round(value, 6):g}"


def _parse(params: Mapping[str, Any], f: _Field, errors: dict[str, str]) -> float | None:
    """The URL value of `f` (None when absent or unusable; the reason goes to `errors`)."""
    bounds = f"{f.label} must be between {_bound(f, f.low)} and {_bound(f, f.high)}{_after(f)}."
    value = url_number(params, f.key, f.low, f.high, errors, f.label, out_of_range=bounds)
    if value is not None and f.whole and not value.is_integer():
        errors[f.key] = f"{f.label} must be a whole number{_after(f)}."
        return None
    return value


def _bound(f: _Field, value: float) -> str:
    """A bound in the field's unit: $10,000,000, 1,000%, 12."""
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
    if f.unit.startswith("$"):
        return f"${number}"
    return f"{number}%" if f.unit.startswith("%") else number


def _after(f: _Field) -> str:
    """What follows a bound: ' a year' for '$ a year', ' quarters' for 'quarters'."""
    rest = f.unit.lstrip("$%").strip()
    return f" {rest}" if rest else ""


def _segments(raw: Any, errors: dict[str, str]) -> tuple[str, ...]:
    values = raw if isinstance(raw, list | tuple) else [raw]
    keys = [k.strip() for v in values if v for k in str(v)[:200].split(",") if k.strip()]
    by_key = {v: k for k, v in SEGMENT_KEYS.items()}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        errors[CC_SEGMENTS_KEY] = f"Unknown segment '{unknown[0][:20]}' for the coverage change."
        return ()
    return tuple(s for s in SEGMENTS if SEGMENT_KEYS[s] in keys)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _plain_money(value: float) -> str:
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


# ---- quarters ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectionQuarter:
    """One quarter of the projection: measured at `end` (the day after its last day)."""

    first: date
    end: date
    share: float  # the share of the quarter inside the projection (the first may be partial)
    label: str

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)


def projection_quarters(day: date, horizon: int, fy_month: int) -> list[ProjectionQuarter]:
    """The `horizon` fiscal quarters from the one holding `day` (the rest of it: its share is
    the days after `day` over its days); on a quarter's last day, from the next one."""
    first = quarter_start(day, fy_month)
    end = add_months(first, 3)
    left = (end - day).days - 1
    share = left / (end - first).days
    if left <= 0:
        first, end, share = end, add_months(end, 3), 1.0
    out = []
    for _ in range(horizon):
        out.append(ProjectionQuarter(first, end, share, quarter_name(first, fy_month)))
        first, end, share = end, add_months(end, 3), 1.0
    return out


def months_after(day: date, months: int) -> date:
    return months_before(day, -months)


# ---- demand --------------------------------------------------------------------------------
def _segment_path(
    seg: SegmentBase, inputs: ScenarioInputs, quarters: list[ProjectionQuarter]
) -> list[tuple[float, float, float]]:
    """(customers, ARR, points) of one segment at each quarter's end."""
    growth, churn = inputs.growth_for(seg), inputs.churn_for(seg)
    per_account = seg.points / seg.accounts if seg.accounts else 0.0
    after_change = per_account
    if inputs.coverage_change and seg.segment in inputs.cc_segments and seg.accounts:
        saved = seg.points_saved(inputs.cc_below_arr, inputs.cc_to_tier)
        after_change = (seg.points - saved) / seg.accounts
    n, arr = float(seg.accounts), seg.arr
    out = []
    for i, q in enumerate(quarters, start=1):
        kept = 1.0 - churn * q.share
        n, arr = n * kept, arr * kept
        new = growth * seg.accounts * q.share
        if new >= 0:
            n, arr = n + new, arr + new * seg.median_arr
        elif n > 0:  # fewer logos than churn alone: lose more customers of average ARR
            left = max(0.0, 1.0 + new / n)
            n, arr = n * left, arr * left
        points_each = after_change if i >= inputs.cc_from else per_account
        out.append((n, arr, n * points_each))
    return out


# ---- supply --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Hire:
    """Requisitions for one quarter: `count` CSMs starting `start`, fully ramped `full`."""

    quarter: int
    count: int
    open_by: date
    start: date
    full: date
    late: bool
    nominal_start: date
    nominal_full: date


@dataclass(frozen=True)
class _Team:
    day: date
    attrition: float
    ramp_months: int
    ramp_productivity: float
    full_fte: float  # today's CSMs already ramped
    ramping: tuple[tuple[float, date], ...]  # (FTE, ramped on) of today's CSMs still ramping

    def survival(self, days: int) -> float:
        """The share of CSMs still on the team `days` after a day (attrition compounded)."""
        return (1.0 - self.attrition) ** (max(days, 0) / DAYS_A_YEAR)

    def today(self, on: date) -> float:
        """Today's CSMs' effective FTE on `on` (after attrition and ramp)."""
        carried = self.full_fte + sum(
            fte * (self.ramp_productivity if on < ramped else 1.0) for fte, ramped in self.ramping
        )
        return carried * self.survival((on - self.day).days)

    def hire(self, start: date, full: date, on: date) -> float:
        """One hire's effective FTE on `on`: nothing on their first day (a hire for the next
        quarter starting on this quarter's measuring day does not count in it yet)."""
        if on >= full:
            productivity = 1.0
        elif on > start:
            productivity = self.ramp_productivity
        else:
            return 0.0
        return productivity * self.survival((on - start).days)


def _team(baseline: Baseline, inputs: ScenarioInputs) -> _Team:
    full, ramping = 0.0, []
    for fte, hired in zip(baseline.csm_fte, baseline.csm_hired, strict=True):
        ramped = months_after(hired, inputs.ramp_months) if hired else None
        if ramped and ramped > baseline.day:
            ramping.append((fte, ramped))
        else:
            full += fte
    return _Team(
        baseline.day,
        inputs.attrition,
        inputs.ramp_months,
        inputs.ramp_productivity,
        full,
        tuple(ramping),
    )


def _plan_hires(
    team: _Team, quarters: list[ProjectionQuarter], required: list[float], lead_days: int
) -> list[_Hire]:
    """The requisitions each quarter needs, in order (see the module docstring). Planned hires
    count as if on time, so a late requisition is not followed by more to cover its ramp."""
    hires: list[_Hire] = []
    for i, (q, need) in enumerate(zip(quarters, required, strict=True)):
        planned = team.today(q.end) + sum(
            h.count * team.hire(h.nominal_start, h.nominal_full, q.end) for h in hires
        )
        gap = need - planned
        if gap <= EPS:
            continue
        start = months_after(q.end, -team.ramp_months)
        each = team.hire(start, q.end, q.end)
        count = math.ceil(gap / each - EPS)
        open_by = start - timedelta(days=lead_days)
        late = open_by < team.day
        if late:
            actual = team.day + timedelta(days=lead_days)
            hire = _Hire(
                i,
                count,
                team.day,
                actual,
                months_after(actual, team.ramp_months),
                True,
                start,
                q.end,
            )
        else:
            hire = _Hire(i, count, open_by, start, q.end, False, start, q.end)
        hires.append(hire)
    return hires


# ---- the projection ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Projection:
    """The scenario's answer: the quarterly table, the requisitions and the sentence."""

    quarters: pd.DataFrame
    requisitions: pd.DataFrame  # quarter, count, open_by, start, covered_from, late
    sentence: str
    total_requisitions: int
    backfills: int  # of the requisitions, those only attrition needs
    annual_cost: float
    required_now: float
    supply_now: float
    utilisation_now: float | None
    target_utilisation: float


def project(
    baseline: Baseline,
    inputs: ScenarioInputs,
    workload: WorkloadParams,
    money: Callable[[float], str] = _plain_money,
) -> Projection:
    """Project the baseline over the inputs' horizon (module docstring: the model). `money`
    formats amounts in the sentence (the page passes its compact format)."""
    fy = load_settings().fiscal_year_start_month
    quarters = projection_quarters(baseline.day, inputs.horizon, fy)
    paths = {s.segment: _segment_path(s, inputs, quarters) for s in baseline.segments}
    fte_points = baseline.capacity_points * workload.target_utilisation
    points = [sum(paths[s][i][2] for s in SEGMENTS) for i in range(len(quarters))]
    required = [p / fte_points for p in points]
    team = _team(baseline, inputs)
    hires = _plan_hires(team, quarters, required, inputs.lead_days)
    without_attrition = _plan_hires(
        replace(team, attrition=0.0), quarters, required, inputs.lead_days
    )
    total = sum(h.count for h in hires)
    backfills = max(0, total - sum(h.count for h in without_attrition))

    rows = []
    hired_so_far = 0
    by_quarter = {h.quarter: h for h in hires}
    for i, q in enumerate(quarters):
        row: dict[str, Any] = {"quarter": q.label, "quarter_end": q.last, "share": q.share}
        for segment in SEGMENTS:
            n, arr, _ = paths[segment][i]
            accounts_col, arr_col = segment_columns(segment)
            row[accounts_col], row[arr_col] = n, arr
        row["accounts_total"] = sum(paths[s][i][0] for s in SEGMENTS)
        row["arr_total"] = sum(paths[s][i][1] for s in SEGMENTS)
        supply = team.today(q.end)
        with_hires = supply + sum(h.count * team.hire(h.start, h.full, q.end) for h in hires)
        hire = by_quarter.get(i)
        hired_so_far += hire.count if hire else 0
        row.update(
            points=points[i],
            required_fte=required[i],
            supply_fte=supply,
            gap_fte=required[i] - supply,
            requisitions_to_open=hire.count if hire else 0,
            open_by=hire.open_by if hire else None,
            covered_from=hire.full if hire else None,
            late=bool(hire and hire.late),
            planned_supply_fte=with_hires,
            utilisation=_utilisation(points[i], with_hires, baseline.capacity_points),
            utilisation_without_hires=_utilisation(points[i], supply, baseline.capacity_points),
            cost=hired_so_far * inputs.loaded_cost,
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    requisitions = pd.DataFrame(
        [
            {
                "quarter": quarters[h.quarter].label,
                "count": h.count,
                "open_by": h.open_by,
                "start": h.start,
                "covered_from": h.full,
                "late": h.late,
            }
            for h in hires
        ],
        columns=["quarter", "count", "open_by", "start", "covered_from", "late"],
    )
    required_now = baseline.points / fte_points
    supply_now = team.today(baseline.day)
    utilisation_now = _utilisation(baseline.points, supply_now, baseline.capacity_points)
    answer = Projection(
        quarters=table,
        requisitions=requisitions,
        sentence="",
        total_requisitions=total,
        backfills=backfills,
        annual_cost=total * inputs.loaded_cost,
        required_now=required_now,
        supply_now=supply_now,
        utilisation_now=utilisation_now,
        target_utilisation=workload.target_utilisation,
    )
    return replace(answer, sentence=_sentence(answer, baseline, money))


def _utilisation(points: float, fte: float, capacity_points: float) -> float | None:
    if fte <= EPS:
        return None if points > EPS else 0.0
    return points / (fte * capacity_points)


# ---- the sentence --------------------------------------------------------------------------
def _day(d: date) -> str:
    return f"{d:%d %b %Y}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _target(value: float) -> str:
    return f"{round(100 * value, 1):g}%"


def _timing(requisitions: pd.DataFrame) -> str:
    """'by 15 Jan 2027', 'now (covered from 1 Jun 2027)', or the first and last dates."""
    late = requisitions[requisitions["late"]]
    on_time = requisitions[~requisitions["late"]]
    parts = []
    if not late.empty:
        parts.append(f"now (covered from {_day(late['covered_from'].max())})")
    if not on_time.empty:
        first, last = on_time.iloc[0], on_time.iloc[-1]
        if late.empty and len(on_time) == 1:
            return f"by {_day(first['open_by'])}"
        if late.empty:
            lead = "the first" if first["count"] == 1 else f"the first {first['count']:,}"
            return f"{lead} by {_day(first['open_by'])} and the last by {_day(last['open_by'])}"
        rest = int(on_time["count"].sum())
        parts[0] = f"{int(late['count'].sum()):,} {parts[0]}"
        if len(on_time) == 1:
            parts.append(f"{rest:,} more by {_day(last['open_by'])}")
        else:
            parts.append(
                f"{rest:,} more by dates from {_day(first['open_by'])} to {_day(last['open_by'])}"
            )
        return " and ".join(parts)
    return parts[0]


def _sentence(p: Projection, baseline: Baseline, money: Callable[[float], str]) -> str:
    table = p.quarters
    if baseline.accounts == 0 and baseline.active_csms == 0:
        return "Nothing to plan: no customers and no active CSMs under these filters."
    last = table.iloc[-1]
    through = last["quarter"]
    target = _target(p.target_utilisation)
    over_now = p.required_now > p.supply_now + EPS
    shrinks = last["required_fte"] < p.required_now - EPS
    lead = ""
    if over_now:
        lead = (
            f"Already over: today's books run at {_pct(p.utilisation_now)} utilisation "
            f"against {target}. "
            if p.utilisation_now is not None
            else "Already over: no active CSM carries today's books. "
        )
    elif shrinks and p.total_requisitions:
        lead = (
            f"Demand shrinks (from {p.required_now:,.1f} to {last['required_fte']:,.1f} FTE "
            f"by {through}), but attrition leaves gaps. "
        )
    if not p.total_requisitions:
        peak = table["utilisation_without_hires"].max()
        at = table.loc[table["utilisation_without_hires"].idxmax(), "quarter"]
        if shrinks:
            return lead + (
                f"Demand shrinks from {p.required_now:,.1f} to {last['required_fte']:,.1f} FTE "
                f"by {through}, and today's team covers it after attrition: no requisitions "
                f"needed to stay under {target} utilisation (peak {_pct(peak)} in {at})."
            )
        return lead + (
            f"No requisitions needed: today's team ({p.supply_now:,.1f} FTE) stays under "
            f"{target} utilisation through {through} (peak {_pct(peak)} in {at})."
        )
    count = _plural(p.total_requisitions, "requisition")
    if p.backfills == p.total_requisitions:
        many = p.total_requisitions > 1
        count += " (all backfills for attrition)" if many else " (a backfill for attrition)"
    elif p.backfills:
        count += f" ({p.backfills:,} of them backfills for attrition)"
    timing = _timing(p.requisitions)
    comma = "," if timing.startswith("the first") or " and " in timing else ""
    text = (
        f"{lead}Open {count}{comma} {timing}{comma} to stay under {target} utilisation "
        f"through {through}; cost {money(p.annual_cost)} a year."
    )
    short = table[table["planned_supply_fte"] < table["required_fte"] - EPS]
    if not short.empty:
        worst = short.loc[short["utilisation"].fillna(math.inf).idxmax()]
        peak = worst["utilisation"]
        text += (
            f" Until they are up to speed utilisation peaks at {_pct(peak)} in {worst['quarter']}."
            if peak is not None and not pd.isna(peak)
            else f" Until they are up to speed nobody carries the books ({worst['quarter']})."
        )
    return text
