"""Saved what-if scenarios (issue #8 "Scenarios are kept"), on the app-state store.

A saved scenario is an app-state item of kind `capacity_scenario` whose payload holds:
- `inputs`: the complete `ScenarioInputs.to_dict()` (every value, so a later change of a
  default never changes what was saved; `from_dict` fills keys added since with defaults);
- `workload`: `WorkloadParams.to_params()` (the URL keys that differ from the defaults, as the
  page carries them) and `workload_values`: every workload value, for the same reason;
- `scope`: the global filters it was saved under (no as-of: it opens on the latest books).

A scenario's link is `/capacity?<scope>&tab=scenario&scenario=<id>`; `scenario_params` turns
the saved inputs into the URL parameters the scenario tab reads (pages/capacity.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from services.app_state import ITEM_ID, Event, Item, NotFound, Version, app_state
from services.db import Database
from services.errors import ServiceError
from services.filter_options import owner_labels
from services.filters import Filters
from services.workload import WorkloadParams, first_value, form_values

KIND = "capacity_scenario"
NOUN = "scenario"
MAX_COMPARE = 3
PAGE_PATH = "/capacity"


class InvalidScenario(ServiceError):
    """Scenario inputs that cannot be saved or exported as they are (the message says which)."""


class DamagedScenario(ServiceError):
    """A saved scenario whose stored values the model cannot use (edited outside the console)."""


def _projection():
    """services/capacity_projection (imported when used: it builds on the analytics side)."""
    from services import capacity_projection

    return capacity_projection


# ---- the payload ---------------------------------------------------------------------------
def _workload_values(params: WorkloadParams) -> dict[str, Any]:
    values = {f.name: getattr(params, f.name) for f in fields(params) if f.init}
    values["points"] = [list(row) for row in params.points]
    return values


def _workload_from_values(values: Any) -> WorkloadParams | None:
    """The saved workload values as params; None when they no longer fit the model's shape
    (a combination or parameter added or removed since). Values out of the model's bounds
    raise ValueError with the reason: they would divide by a zero capacity, say."""
    if not isinstance(values, Mapping):
        return None
    try:
        points = tuple((str(s), str(t), float(p)) for s, t, p in values["points"])
        rest = {k: v for k, v in values.items() if k != "points"}
        params = WorkloadParams(points=points, **rest)
        base = WorkloadParams.defaults()
        for seg, tier, _ in base.points:
            params.points_for(seg, tier)  # every combination the model knows has points
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(params.weigh_health, bool):
        raise ValueError("Weigh by health must be on or off.")
    _checked(params)
    return params


def _checked(params: WorkloadParams) -> None:
    """ValueError with the first reason when a value is outside the bounds the URL is held to:
    the values go through WorkloadParams.from_params, the one place those bounds live."""
    try:
        url_values = form_values(params)
    except (TypeError, ValueError):
        raise ValueError("a setting is not a number") from None
    _, errors = WorkloadParams.from_params(url_values)
    if errors:
        raise ValueError(next(iter(errors.values())))


def scope_of(filters: Filters | None) -> str:
    """The filters a scenario is saved under, as a query string without the as-of."""
    if filters is None:
        return ""
    return Filters.from_params({**filters.to_params(), "as_of": None}).to_search()


def build_payload(
    inputs_dict: Mapping[str, Any], workload_params: Mapping[str, Any], scope: str = ""
) -> dict[str, Any]:
    """What is stored: the inputs complete and checked, the workload as URL keys and values."""
    if not isinstance(inputs_dict, Mapping) or not isinstance(workload_params, Mapping):
        raise InvalidScenario("The scenario's inputs are not complete; reload the page.")
    inputs_cls = _projection().ScenarioInputs
    try:
        inputs = inputs_cls.from_dict(dict(inputs_dict))
    except (TypeError, ValueError, KeyError):
        raise InvalidScenario("The scenario's inputs cannot be saved; reload the page.") from None
    _, errors = inputs_cls.from_params(inputs.to_params())
    if errors:
        raise InvalidScenario("Fix the inputs marked in the scenario before saving.")
    workload, errors = WorkloadParams.from_params(dict(workload_params))
    if errors:
        raise InvalidScenario("Fix the workload settings marked before saving.")
    return {
        "inputs": inputs.to_dict(),
        "workload": workload.to_params(),
        "workload_values": _workload_values(workload),
        "scope": scope_of(Filters.from_search(scope)),
    }


# ---- the record ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SavedScenario:
    """One saved scenario at one version."""

    id: str
    name: str
    version: int
    latest_version: int
    saved_by: str
    saved_at: datetime
    created_by: str
    created_at: datetime
    note: str
    payload: dict[str, Any]

    @classmethod
    def from_item(cls, item: Item) -> SavedScenario:
        return cls(
            id=item.id,
            name=item.name,
            version=item.version,
            latest_version=item.latest_version,
            saved_by=item.saved_by,
            saved_at=item.saved_at,
            created_by=item.created_by,
            created_at=item.created_at,
            note=item.note,
            payload=item.payload,
        )

    @property
    def is_latest(self) -> bool:
        return self.version == self.latest_version

    @property
    def scope(self) -> Filters:
        return Filters.from_search(self.payload.get("scope") or "")

    def inputs(self):
        """The saved `ScenarioInputs` (keys added since it was saved take their defaults)."""
        return _projection().ScenarioInputs.from_dict(dict(self.payload.get("inputs") or {}))

    def workload(self) -> WorkloadParams:
        """The saved workload model: its complete values when kept, else its URL keys.
        DamagedScenario (in words) when a saved value is outside the model's bounds."""
        try:
            params = _workload_from_values(self.payload.get("workload_values"))
            if params is None:
                keys = self.payload.get("workload") or {}
                params, errors = WorkloadParams.from_params(keys if isinstance(keys, dict) else {})
                if errors:
                    raise ValueError(next(iter(errors.values())))
        except ValueError as exc:
            reason = str(exc).rstrip(".")
            raise DamagedScenario(
                f"The saved scenario “{self.name}” is damaged and cannot be opened: its workload "
                f"model has a value the console does not accept ({reason}). Save the scenario again "
                "from the What-if scenario tab, or delete it."
            ) from None
        return params

    def url_params(self) -> dict[str, str]:
        """The saved inputs and workload as URL parameters (differences from the defaults)."""
        return {**self.inputs().to_params(), **self.workload().to_params()}

    def href(self, filters: Filters | None = None, pinned: bool = False) -> str:
        """The scenario's link under `filters` (its saved scope by default); `pinned` keeps
        this version (a newer save then does not change what the link shows)."""
        extra = {"tab": "scenario", "scenario": self.id}
        if pinned:
            extra["version"] = str(self.version)
        return PAGE_PATH + (filters if filters is not None else self.scope).to_search(extra)


def export_params(saved: SavedScenario, as_of: date | None = None) -> str:
    """The query string of a saved scenario's exports: its scope, inputs and workload, on the
    books of `as_of` (the latest without one)."""
    scope = saved.scope.with_values(as_of=as_of) if as_of else saved.scope
    params = {**scope.to_params(), **saved.url_params()}
    return "?" + urlencode(params, doseq=True)


# ---- what the page keeps in the browser (checked: a client may send anything) ---------------
MAX_VERSION = 1_000_000_000


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_VERSION


@dataclass(frozen=True)
class OpenedScenario:
    """The saved scenario the save panel was opened from: its id, the version on screen and
    the latest version the user has seen (a save expects it)."""

    id: str
    version: int
    expected: int

    @classmethod
    def of(cls, saved: SavedScenario) -> OpenedScenario:
        return cls(saved.id, saved.version, saved.latest_version)

    @classmethod
    def from_client(cls, state: Any) -> OpenedScenario | None:
        """The panel's store as the browser sent it; None when empty or not of the shape the
        page writes (a tampered store opens nothing rather than failing)."""
        if not isinstance(state, Mapping):
            return None
        sid, version, expected = state.get("id"), state.get("version"), state.get("expected")
        if not (isinstance(sid, str) and ITEM_ID.match(sid)):
            return None
        if not (_whole(version) and _whole(expected) and version <= expected):
            return None
        return cls(sid, version, expected)

    def to_client(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "expected": self.expected}


def scenario_on_screen(current: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """The scenario tab's `{"inputs", "workload"}` store as (inputs, workload URL params);
    None when its inputs need fixing (the tab writes None) or the store is not of that shape."""
    if not isinstance(current, Mapping):
        return None
    inputs, workload = current.get("inputs"), current.get("workload") or {}
    if not isinstance(inputs, Mapping) or not isinstance(workload, Mapping):
        return None
    return inputs, workload


# ---- reading -------------------------------------------------------------------------------
def parse_version(value: Any) -> int | None:
    """A version from the URL (`version=3`); None when absent. Anything else: NotFound."""
    value = first_value(value)
    if value in (None, ""):
        return None
    text = str(value)[:12]
    if not text.isdigit() or int(text) < 1:
        raise NotFound(f"'{text}' is not a version number: versions are 1, 2, 3...")
    return int(text)


def get_scenario(scenario_id: Any, version: Any = None) -> SavedScenario:
    """A live saved scenario at a version (the latest by default); NotFound otherwise."""
    item = app_state().get(first_value(scenario_id), parse_version(version), kind=KIND)
    return SavedScenario.from_item(item)


def scenario_params(scenario_id: Any, version: Any = None) -> dict[str, str]:
    """The saved scenario's inputs as URL parameters (pages/capacity.py lays the URL's own
    parameters over them). Raises a ServiceError with a plain message when it does not exist."""
    return get_scenario(scenario_id, version).url_params()


def list_scenarios() -> list[SavedScenario]:
    """Every live saved scenario at its latest version, most recently saved first."""
    return [SavedScenario.from_item(item) for item in app_state().list(KIND)]


def scenario_versions(scenario_id: str) -> list[Version]:
    get_scenario(scenario_id)  # a deleted or unknown one answers NotFound, as everywhere
    return app_state().versions(scenario_id)


def scenario_history(scenario_id: str) -> list[Event]:
    """Who created, saved, renamed, copied it and when, newest first."""
    get_scenario(scenario_id)
    return app_state().events(scenario_id)


def changed_since_saved(saved: SavedScenario, current: Mapping[str, Any] | None) -> bool:
    """Whether the scenario on screen (the tab's `{"inputs", "workload"}`) differs from the
    saved version; invalid inputs on screen (None) count as changed."""
    screen = scenario_on_screen(current)
    if screen is None:
        return True
    inputs, workload = screen
    inputs_cls = _projection().ScenarioInputs
    try:
        now_inputs = inputs_cls.from_dict(dict(inputs))
    except (TypeError, ValueError, KeyError):
        return True
    now_workload, _ = WorkloadParams.from_params(dict(workload))
    return now_inputs != saved.inputs() or now_workload != saved.workload()


def parse_compare(values: Any) -> tuple[str, ...]:
    """The scenarios picked for comparison (`compare=<id>`, repeatable): distinct, in order,
    at most three; ids the console cannot have made are dropped."""
    raw = values if isinstance(values, list | tuple) else [values] if values else []
    picked: list[str] = []
    for value in raw:
        text = str(value)[:40]
        if text and text not in picked and text.replace("-", "").replace("_", "").isalnum():
            picked.append(text)
    return tuple(picked[:MAX_COMPARE])


# ---- writing -------------------------------------------------------------------------------
def save_scenario(
    name: str,
    inputs_dict: Mapping[str, Any],
    workload_params_dict: Mapping[str, Any],
    author: str,
    expected_version: int | None = None,
    scenario_id: str | None = None,
    scope: str = "",
    note: str = "",
) -> SavedScenario:
    """Save the scenario on screen: a new scenario called `name`, or, with `scenario_id`, a new
    version of that one (`expected_version`: the latest version the user had; a newer one saved
    meanwhile raises Conflict). Empty or taken names, bad inputs: nothing is saved."""
    payload = build_payload(inputs_dict, workload_params_dict, scope)
    store = app_state()
    if scenario_id is None:
        item = store.create(KIND, name, payload, author, note=note)
    else:
        store.get(scenario_id, kind=KIND)
        item = store.save(scenario_id, payload, author, expected_version, note=note)
    return SavedScenario.from_item(item)


def rename_scenario(scenario_id: str, name: str, author: str) -> SavedScenario:
    app_state().get(scenario_id, kind=KIND)
    return SavedScenario.from_item(app_state().rename(scenario_id, name, author))


def duplicate_scenario(
    scenario_id: str, name: str, author: str, version: int | None = None
) -> SavedScenario:
    """A new scenario with a version's inputs (the latest by default) under a new name."""
    app_state().get(scenario_id, version, kind=KIND)
    return SavedScenario.from_item(app_state().copy(scenario_id, name, author, version))


def delete_scenario(scenario_id: str, author: str) -> None:
    """Out of the list (its versions are kept; the store can restore it)."""
    app_state().get(scenario_id, kind=KIND)
    app_state().delete(scenario_id, author)


def copy_name(name: str, taken: set[str]) -> str:
    """The first free "<name> (copy)", "<name> (copy 2)"... (names compared as the store does)."""
    taken_keys = {" ".join(t.split()).casefold() for t in taken}
    base = " ".join(name.split())[:70]
    candidate, n = f"{base} (copy)", 2
    while candidate.casefold() in taken_keys:
        candidate, n = f"{base} (copy {n})", n + 1
    return candidate


@dataclass(frozen=True, eq=False)
class Outcome:
    """A saved scenario projected: the books it started from and the projection."""

    saved: SavedScenario
    baseline: Any  # capacity_baseline.Baseline
    projection: Any  # capacity_projection.Projection


def scenario_outcome(
    db: Database, filters: Filters, day: date, saved: SavedScenario, money: Any = None
) -> Outcome:
    """The saved scenario projected on the books under `filters` on `day` (the page passes its
    saved scope): `capacity_projection.project` over the memoised baseline."""
    projection = _projection()
    workload = saved.workload()
    baseline = projection.scenario_baseline(db, filters, day, workload)
    extra = {} if money is None else {"money": money}
    return Outcome(saved, baseline, projection.project(baseline, saved.inputs(), workload, **extra))


def open_href(saved: SavedScenario, view: Filters) -> str:
    """A saved scenario opens on its saved scope, at the date the view looks at."""
    scope = saved.scope.with_values(as_of=view.as_of) if view.as_of else saved.scope
    return saved.href(scope)


def scope_owners(scenarios: Sequence[SavedScenario]) -> tuple[str, ...]:
    """Every owner a saved scope names (the scope column shows their names)."""
    return tuple(sorted({o for s in scenarios for o in s.scope.owner}))


def _owner_names(db: Database, scenarios: Sequence[SavedScenario]) -> dict[str, str]:
    """The names of the owners saved scopes name ("Ana Ruiz (EMEA)")."""
    owners = scope_owners(scenarios)
    return owner_labels(db, Filters(owner=owners)) if owners else {}


@dataclass(frozen=True, eq=False)
class Selection:
    """The saved list's ticks, resolved: nothing, one scenario (its actions), two or three
    compared, more than the comparison takes, or the plain reason they could not be read."""

    view: Filters
    picked: tuple[str, ...]
    too_many: bool = False
    one: SavedScenario | None = None
    compared: tuple[Outcome, ...] = ()
    owner_names: dict[str, str] = field(default_factory=dict)
    problem: str | None = None

    def href(self, saved: SavedScenario) -> str:
        return open_href(saved, self.view)


def scenario_selection(
    db: Database,
    filters: Filters,
    day: date,
    ticked: Sequence[str],
    money: Callable[[float], str] | None = None,
) -> Selection:
    """What the ticked ids ask for, under the view `filters` on `day`: one scenario read from
    the store, or two or three projected on their saved scopes (scenario_outcome, over the
    memoised baseline). The store is read each time: a rename or save shows at once."""
    picked = parse_compare(ticked)
    too_many = len(ticked) > MAX_COMPARE
    try:
        if len(picked) == 1 and not too_many:
            return Selection(filters, picked, one=get_scenario(picked[0]))
        if too_many or len(picked) < 2:
            return Selection(filters, picked, too_many)
        scenarios = [get_scenario(i) for i in picked]
        return Selection(
            filters,
            picked,
            compared=tuple(scenario_outcome(db, s.scope, day, s, money) for s in scenarios),
            owner_names=_owner_names(db, scenarios),
        )
    except ServiceError as exc:
        return Selection(filters, picked, too_many, problem=str(exc))
