"""The capacity scenario tab's answer for one view: the form's URL parameters read and checked
(the scenario inputs and the workload model's target utilisation, the one workload parameter
that tab edits) and, when every one can be used, the baseline and its projection. One call per
recompute; the baseline behind it is memoised, the projection is arithmetic over it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.capacity_baseline import Baseline, scenario_baseline
from services.capacity_projection import URL_KEYS, Projection, ScenarioInputs, project
from services.db import Database
from services.filters import Filters
from services.workload import WorkloadParams

TU = "tu"  # the workload model's target utilisation (WorkloadParams URL key)


@dataclass(frozen=True, eq=False)
class ScenarioView:
    """A scenario under the view's filters on `day`. With `errors` (messages by URL key) the
    inputs are not projected: `baseline` and `projection` are None."""

    filters: Filters
    day: date
    inputs: ScenarioInputs
    workload: WorkloadParams
    errors: dict[str, str] = field(default_factory=dict)
    baseline: Baseline | None = None
    projection: Projection | None = None

    def url_changes(self) -> dict[str, str | None]:
        """Every scenario key and `tu` as its URL value; None: the default (dropped)."""
        url: dict[str, str | None] = dict.fromkeys((*URL_KEYS, TU))
        url.update(self.inputs.to_params())
        url[TU] = self.workload.to_params().get(TU)
        return url

    def saved(self) -> dict[str, Any]:
        """What a save stores: the complete inputs and the workload model's URL parameters."""
        return {"inputs": self.inputs.to_dict(), "workload": self.workload.to_params()}

    def search(self) -> str:
        """The view, the inputs and the model as one query string (the downloads carry it)."""
        return self.filters.to_search(
            {
                **self.inputs.to_params(),
                **self.workload.to_params(),
                "as_of": self.day.isoformat(),
            }
        )


def read_scenario(
    params: Mapping[str, Any], workload_params: Mapping[str, Any]
) -> tuple[ScenarioInputs, WorkloadParams, dict[str, str]]:
    """The scenario inputs from `params` and the workload model from `workload_params` (the
    URL's, kept as they are) with `params`' `tu`; the messages of both by URL key."""
    inputs, errors = ScenarioInputs.from_params(params)
    workload, workload_errors = WorkloadParams.from_params({**workload_params, TU: params.get(TU)})
    if TU in workload_errors:
        errors[TU] = workload_errors[TU]
    return inputs, workload, errors


def scenario_view(
    db: Database,
    filters: Filters,
    day: date,
    params: Mapping[str, Any],
    workload_params: Mapping[str, Any],
    money: Callable[[float], str] | None = None,
) -> ScenarioView:
    """The scenario of `params` (see `read_scenario`) projected from the filters' books on
    `day` (a snapshot date), or its messages when an input cannot be used. `money` formats
    the amounts of the projection's sentence (the page passes its compact format)."""
    inputs, workload, errors = read_scenario(params, workload_params)
    if errors:
        return ScenarioView(filters, day, inputs, workload, errors)
    baseline = scenario_baseline(db, filters, day, workload)
    extra = {"money": money} if money else {}
    projection = project(baseline, inputs, workload, **extra)
    return ScenarioView(filters, day, inputs, workload, {}, baseline, projection)
