"""The scenario tab's one call (services/capacity_scenario_view.py) and its builder
(components/capacity_scenario.py `scenario_tab`): the same projection as the baseline and
`project` called one by one, the inputs it cannot use marked without touching the database,
and a view with nothing in it said in plain words.

Tiny data on 31 Dec 2026: CSM C1 (capacity 100) owns S1 (SMB named, ARR 10); E1 (Enterprise
named, ARR 100) has no owner. The URL's model: SMB named 2 points, Enterprise named 4, health
not weighed, 50 points a CSM; the form's target utilisation 100%. So the books carry 2 + 4 = 6
points and one FTE carries 50 x 100% = 50 of them: 6 / 50 = 0.12 FTE required today.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from components.capacity_scenario import FIELD_KEYS, FIX_NOTE, INVALID_KEYS, scenario_tab
from services.capacity_baseline import scenario_baseline
from services.capacity_projection import ScenarioInputs, project
from services.capacity_scenario_view import scenario_view
from services.filters import Filters
from services.workload import SEGMENTS, TIERS, WorkloadParams
from tests.unit.tiny import account, build_tiny, contract

AS_OF = date(2026, 12, 31)
MODEL = {"pts_smb_named": "2", "pts_ent_named": "4", "wh": "0", "cap": "50"}


@pytest.fixture(autouse=True)
def default_settings(monkeypatch):
    """The shipped capacity defaults, whatever the shell exports."""
    for name in ("CSOPS_FISCAL_YEAR_START_MONTH", "CSOPS_TARGET_UTILISATION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    csms = [
        {"csm_id": "C1", "name": "Ana", "team": "East", "role": "CSM", "capacity_points": 100,
         "hire_date": "2020-01-01"},
    ]  # fmt: skip
    accounts = [account("S1", "SMB", "named", "C1"), account("E1", "Enterprise", "named", None)]
    contracts = [
        contract("S1", "2023-01-01", "2028-01-01", 10),
        contract("E1", "2023-01-01", "2028-01-01", 100),
    ]
    return build_tiny(
        tmp_path_factory.mktemp("scenario-view"),
        {"csms": csms, "accounts": accounts, "contracts": contracts},
        AS_OF,
    )


def _workload() -> WorkloadParams:
    """MODEL with the form's 100%, written out by hand."""
    base = WorkloadParams.defaults()
    points = {("SMB", "named"): 2.0, ("Enterprise", "named"): 4.0}
    return replace(
        base,
        points=tuple(
            (s, t, points.get((s, t), base.points_for(s, t))) for s in SEGMENTS for t in TIERS
        ),
        weigh_health=False,
        capacity_points=50.0,
        target_utilisation=1.0,
    )


def test_one_call_projects_what_the_parts_project(db):
    view = scenario_view(db, Filters(), AS_OF, {"tu": "100", "hz": "4"}, MODEL)
    assert view.errors == {} and view.workload == _workload()
    baseline = scenario_baseline(db, Filters(), AS_OF, _workload())
    inputs, _ = ScenarioInputs.from_params({"hz": "4"})
    direct = project(baseline, inputs, _workload())
    assert view.projection.required_now == pytest.approx(6 / 50)
    assert view.projection.required_now == pytest.approx(direct.required_now)
    assert view.projection.quarters.equals(direct.quarters)
    assert view.url_changes()["tu"] == "100" and view.url_changes()["hz"] == "4"
    assert view.saved()["workload"] == {**MODEL, "tu": "100"}

    outputs = scenario_tab(view)
    assert outputs[0] == view.projection.sentence and outputs[5] is None  # no note to fix
    xlsx, csv = outputs[-2:]
    assert xlsx.startswith("/export/capacity-scenario.xlsx?") and "as_of=2026-12-31" in xlsx
    assert csv.startswith("/export/capacity-scenario.csv?") and "tu=100" in csv


def test_inputs_it_cannot_use_are_marked_and_nothing_is_projected():
    """The database is not read (None would fail) when an input cannot be used."""
    view = scenario_view(None, Filters(), AS_OF, {"tu": "abc", "hz": "99"}, MODEL)
    assert set(view.errors) == {"tu", "hz"} and view.projection is None
    outputs = scenario_tab(view)
    assert outputs[5] == FIX_NOTE
    invalid = dict(zip(INVALID_KEYS, outputs[6 : 6 + len(INVALID_KEYS)], strict=True))
    assert invalid["tu"] and invalid["hz"] and not invalid["attr"]
    messages = outputs[6 + len(INVALID_KEYS) : 6 + len(INVALID_KEYS) + len(FIELD_KEYS)]
    assert dict(zip(FIELD_KEYS, messages, strict=True))["tu"] == view.errors["tu"]
    assert outputs[-3] is None  # no scenario for the save panel


def test_a_view_with_nothing_in_it_says_so(db):
    # A segment filter keeps only the owners of its accounts: no Mid-Market account, no CSM.
    view = scenario_view(db, Filters(segment=("Mid-Market",)), AS_OF, {}, MODEL)
    assert (view.baseline.accounts, view.baseline.active_csms) == (0, 0)
    _, start, _, table, reqs = scenario_tab(view)[:5]
    assert start is None and reqs is None
    assert table.children[0].children == "No customers or CSMs under these filters."


def test_a_new_target_reuses_the_books_summary(monkeypatch):
    """The baseline does not depend on the target utilisation or the load lines: asking with
    another target must not summarise the books again."""
    from dataclasses import replace

    from services import capacity_baseline
    from services.workload import WorkloadParams

    seen = []
    monkeypatch.setattr(
        capacity_baseline, "_baseline", lambda db, f, d, w: seen.append(w) or len(seen)
    )
    base = WorkloadParams.defaults()
    for tu in (0.7, 0.85, 0.95):
        capacity_baseline.scenario_baseline(None, None, None, replace(base, target_utilisation=tu))
    capacity_baseline.scenario_baseline(None, None, None, replace(base, overloaded_above=1.3))
    assert len(set(seen)) == 1  # one cache key for all four
    heavier = replace(base, red_weight=3.0)
    capacity_baseline.scenario_baseline(None, None, None, heavier)
    assert seen[-1] != seen[0]  # a weight that changes the books is a new summary
