"""Targets per person (services/comp_targets.py) on a tiny portfolio built through the loader.

The view: Q2 2026 [1 Apr, 1 Jul) as of 15 May 2026. History: the 4 quarters before it,
Q2 2025, Q3 2025, Q4 2025 and Q1 2026 (a0 = ARR the day before each starts, a1 = ARR on its
last day).

  account  segment/tier     owner                            contracts (ARR)
  A1       SMB/named        C1                               100 all along
  A2       SMB/named        C2                               100 until 15 Aug 2025 (churned)
  A3       Enterprise/named C2                               1000 all along, +200 from 1 Nov 2025
  A4       Enterprise/named C2 until 1 Mar 2026, then C1     500 all along
  A5       SMB/named        nobody                           300 from 15 Mar 2026 (no history:
                                                             a0 of Q1 2026 is 0)

People: C1, C2 (CSMs managed by M1), C3 (a CSM hired 10 Apr 2026, no accounts), M1 (Manager),
D1 (Director).

History per cell (4 quarters):
  SMB/named: a0/a1 per quarter: A1 100/100 x 4; A2 100/100, 100/0 (then not in the cohort).
    start 600, kept 500, end 500, logos 6, kept 5 -> GRR 5/6, NRR 5/6, logo 5/6.
    Renewals closed: A1 on 10 May 2025 (100 up, 100 renewed), A2 on 15 Aug 2025 (100 up,
    churned) -> 100 / 200 = 0.5. Expansion won: A1 20 (20 May 2025) -> 20 / 600 per $.
  Enterprise/named: A3 1000/1000, 1000/1000, 1000/1200, 1200/1200; A4 500/500 x 4.
    start 6200, kept 6200, end 6400, logos 8 kept 8 -> GRR 1, NRR 6400/6200, logo 1.
    Renewals closed: A3 1 Nov 2025 (1000 up, 1200 renewed: keeps 1000), A4 10 Feb 2026 (500
    up, 400 renewed) -> 1400 / 1500. Expansion won: A3 200 -> 200 / 6200 per $.

Books on 1 Apr 2026 (the period's first day):
  C1: SMB/named 100 (A1), Enterprise/named 500 (A4: C1 owns it since 1 Mar)
  C2: Enterprise/named 1200 (A3); A2 has no ARR any more.
  M1: C1 + C2 = SMB/named 100, Enterprise/named 1700.
  D1: every book, the unowned A5 included: SMB/named 400, Enterprise/named 1700.
ARR up for renewal in Q2 2026: A1 100 (C1), A4 500 (C1), A3 1000 (C2).

Book rule baselines:
  C1 GRR (100 x 5/6 + 500 x 1) / 600 = 0.972222; + uplift 0.005 -> 0.977222
  C2 GRR 1.0; + 0.005 -> 1.005, a share that cannot pass 100% -> 1.0
  M1 GRR (83.3333 + 1700) / 1800 = 0.990741; + 0.005 -> 0.995741
  D1 GRR (400 x 5/6 + 1700) / 2100 = 2033.3333 / 2100 = 0.968254
  C1 renewal rate (100 x 0.5 + 500 x 1400/1500) / 600 = 0.861111
  C1 expansion 100 x 20/600 + 500 x 200/6200 = 3.333333 + 16.129032 = 19.462366;
     + 10% -> 21.408602
  C2 expansion 1200 x 200/6200 = 38.709677
  D1 expansion 400 x 20/600 + 1700 x 200/6200 = 13.333333 + 54.838710 = 68.172043
  C3: no book on 1 Apr 2026 -> the company target.

Last rule (Q1 2026): A4's renewal closed 10 Feb 2026, when C2 owned A4: C2's renewal rate
400 / 500 = 0.8, + 0.05 -> 0.85; M1 (C2 is in the team) the same; C1 closed nothing -> the
company target "(no previous period)".
"""

from datetime import date

import pandas as pd
import pytest

from services.comp_actuals import period_measures
from services.comp_periods import period_of
from services.comp_plan import Curve, MetricPlan, Override, Plan
from services.comp_targets import cell_history, cell_history_sql, csm_targets
from services.filters import Filters
from tests.unit.tiny import account, build_tiny, contract, expansion, renewal

AS_OF = date(2026, 5, 15)
PERIOD = period_of(AS_OF, "quarter")
CSMS = [
    {"csm_id": "C1", "name": "Ana Adams", "team": "East", "role": "CSM", "manager_id": "M1"},
    {"csm_id": "C2", "name": "Ben Baker", "team": "East", "role": "CSM", "manager_id": "M1"},
    {"csm_id": "C3", "name": "Cy Cole", "team": "East", "role": "CSM", "hire_date": "2026-04-10"},
    {"csm_id": "M1", "name": "Mo Mills", "team": "East", "role": "Manager"},
    {"csm_id": "D1", "name": "Di Dunn", "team": "HQ", "role": "Director"},
]
for person in CSMS:
    person.setdefault("hire_date", "2020-01-01")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tables = {
        "csms": CSMS,
        "accounts": [
            account("A1", "SMB", "named", "C1"),
            account("A2", "SMB", "named", "C2"),
            account("A3", "Enterprise", "named", "C2"),
            account("A4", "Enterprise", "named", "C1"),
            account("A5", "SMB", "named", None),
        ],
        "contracts": [
            contract("A1", "2024-01-01", "2027-01-01", 100),
            contract("A2", "2024-01-01", "2025-08-15", 100),
            contract("A3", "2024-01-01", "2027-01-01", 1000),
            contract("A3", "2025-11-01", "2027-01-01", 200),
            contract("A4", "2024-01-01", "2027-01-01", 500),
            contract("A5", "2026-03-15", "2027-01-01", 300),
        ],
        "account_owner_history": [
            {
                "account_id": "A4",
                "owner_csm_id": "C2",
                "valid_from": "2024-01-01",
                "valid_to": "2026-03-01",
            },
            {
                "account_id": "A4",
                "owner_csm_id": "C1",
                "valid_from": "2026-03-01",
                "valid_to": None,
            },
        ],
        "renewals": [
            renewal("R1", "A1", date(2025, 5, 10), 100, "renewed", 100),
            renewal("R2", "A2", date(2025, 8, 15), 100, "churned", 0),
            renewal("R3", "A3", date(2025, 11, 1), 1000, "expanded", 1200),
            renewal("R4", "A4", date(2026, 2, 10), 500, "contracted", 400),
            # due in the view's period (the renewal-rate book weights)
            renewal("R5", "A1", date(2026, 6, 1), 100, "open", None),
            renewal("R6", "A4", date(2026, 5, 1), 500, "renewed", 500),
            renewal("R7", "A3", date(2026, 6, 15), 1000, "open", None),
        ],
        "expansions": [
            expansion("E1", "A1", "2025-05-20", 20),
            expansion("E2", "A3", "2025-11-01", 200),
            expansion("E3", "A4", "2025-12-01", 999, "lost"),
        ],
    }
    return build_tiny(tmp_path_factory.mktemp("comp_targets"), tables, AS_OF)


def plan(rules: dict[str, tuple[str, float]], overrides=None) -> Plan:
    weight = 100 / len(rules)
    return Plan(
        "quarter",
        PERIOD.start,
        tuple(
            MetricPlan(key, weight, target, rule, uplift, Curve())
            for key, (rule, uplift, target) in (
                (k, (*v, {"expansion_arr": 50.0}.get(k, 0.9))) for k, v in rules.items()
            )
        ),
        {"CSM": 20_000.0, "Manager": 30_000.0, "Director": 40_000.0},
        overrides=overrides or {},
    )


def at(targets: pd.DataFrame, csm: str, metric: str) -> pd.Series:
    return targets[(targets["csm_id"] == csm) & (targets["metric"] == metric)].iloc[0]


@pytest.fixture(scope="module")
def measures(db):
    return period_measures(db, Filters(), PERIOD, AS_OF)


def test_history_per_cell(db):
    history = cell_history(db, PERIOD, AS_OF).set_index(["segment", "coverage_tier"])
    smb = history.loc[("SMB", "named")]
    assert (smb["start_arr"], smb["kept_arr"], smb["end_arr"]) == (600, 500, 500)
    assert (smb["logos"], smb["logos_kept"]) == (6, 5)
    assert (smb["renewal_up"], smb["renewal_kept"], smb["expansion_won"]) == (200, 100, 20)
    ent = history.loc[("Enterprise", "named")]
    assert (ent["start_arr"], ent["kept_arr"], ent["end_arr"]) == (6200, 6200, 6400)
    assert (ent["renewal_up"], ent["renewal_kept"], ent["expansion_won"]) == (1500, 1400, 200)


def test_stored_history_is_the_live_query(db):
    """The build stores the current quarter's, half's and year's history on its as-of date;
    reading it gives exactly what the live query gives (the hand-made values above)."""
    kinds = set(db.query("SELECT DISTINCT kind FROM target_history")["kind"])
    assert kinds == {"quarter", "half", "year"}
    for kind in ("quarter", "half", "year"):
        period = period_of(AS_OF, kind)
        stored = cell_history(db, period, AS_OF).reset_index(drop=True)
        live = db.query(*cell_history_sql(period, AS_OF))
        pd.testing.assert_frame_equal(stored, live, check_dtype=False)
    # Another day is not stored: computed live.
    other = date(2026, 5, 1)
    assert db.query("SELECT COUNT(*) AS n FROM target_history WHERE as_of = ?", [other]).n[0] == 0
    assert len(cell_history(db, PERIOD, other)) == 2


def test_book_rule(db, measures):
    rules = {
        "grr": ("book", 0.005),
        "renewal_rate": ("book", 0.0),
        "expansion_arr": ("book", 0.1),
        "hygiene": ("book", 0.0),
    }
    targets = csm_targets(db, Filters(), plan(rules), measures)
    c1 = at(targets, "C1", "grr")
    assert c1["rule"] == "book" and c1["baseline"] == pytest.approx(0.972222, abs=1e-6)
    assert c1["target"] == pytest.approx(0.977222, abs=1e-6)
    assert c1["rule_label"].startswith("Book-adjusted")
    assert at(targets, "C2", "grr")["target"] == 1.0  # 1.005 capped: a share
    assert at(targets, "M1", "grr")["target"] == pytest.approx(0.995741, abs=1e-6)
    assert at(targets, "C1", "renewal_rate")["target"] == pytest.approx(0.861111, abs=1e-6)
    assert at(targets, "C1", "expansion_arr")["baseline"] == pytest.approx(19.462366, abs=1e-5)
    assert at(targets, "C1", "expansion_arr")["target"] == pytest.approx(21.408602, abs=1e-5)
    assert at(targets, "C2", "expansion_arr")["baseline"] == pytest.approx(38.709677, abs=1e-5)
    # The Director's book holds the unowned A5, as the Director's actual does.
    assert at(targets, "D1", "expansion_arr")["baseline"] == pytest.approx(68.172043, abs=1e-5)
    assert at(targets, "D1", "grr")["baseline"] == pytest.approx(0.968254, abs=1e-6)
    c3 = at(targets, "C3", "grr")
    assert (c3["rule"], c3["target"]) == ("company", 0.9)
    assert c3["rule_label"] == "Company target (no book on 1 Apr 2026)"
    assert "company target" in c3["reason"]
    hygiene = at(targets, "C1", "hygiene")
    assert hygiene["rule_label"] == "Company target (no history for this metric)"
    assert "__unowned__" not in set(targets["csm_id"])
    assert len(targets) == 5 * 4  # C1, C2, C3, M1, D1 x 4 metrics


def test_last_rule_and_overrides(db, measures):
    overrides = {("C2", "grr"): Override(0.95, "Territory change")}
    rules = {"renewal_rate": ("last", 0.05), "grr": ("company", 0.0)}
    targets = csm_targets(db, Filters(), plan(rules, overrides), measures)
    c2 = at(targets, "C2", "renewal_rate")
    assert (c2["rule"], c2["baseline"]) == ("last", pytest.approx(0.8))
    assert c2["target"] == pytest.approx(0.85)
    assert c2["rule_label"] == "Last period's actual + uplift"
    assert at(targets, "M1", "renewal_rate")["target"] == pytest.approx(0.85)
    c1 = at(targets, "C1", "renewal_rate")
    assert (c1["rule"], c1["target"]) == ("company", 0.9)
    assert c1["rule_label"] == "Company target (no previous period)"
    grr = at(targets, "C2", "grr")
    assert (grr["rule"], grr["target"], grr["reason"]) == ("override", 0.95, "Territory change")
    assert grr["rule_label"] == "Set by hand"
    assert grr["rule_target"] == 0.9  # what the rule would give
    assert at(targets, "C1", "grr")["rule"] == "company"


def test_a_later_period_learns_from_closed_periods_only(db):
    """Q3 2026 seen on 15 May 2026: Q2 2026 is not over. The book history is the 4 latest
    closed quarters, Q2 2025 to Q1 2026 (the hand-made values above; Q2 2026 to date would add
    A4's renewal of 1 May, 500 up and 500 kept, to Enterprise/named). The last rule reads Q1
    2026: C2 0.8 + 0.05; C1 closed nothing then (its 1 May renewal is in Q2, not over)."""
    later = PERIOD.next()
    history = cell_history(db, later, AS_OF).set_index(["segment", "coverage_tier"])
    ent = history.loc[("Enterprise", "named")]
    assert (ent["start_arr"], ent["kept_arr"], ent["end_arr"]) == (6200, 6200, 6400)
    assert (ent["renewal_up"], ent["renewal_kept"]) == (1500, 1400)
    assert history.loc[("SMB", "named"), "start_arr"] == 600
    m = period_measures(db, Filters(), later, AS_OF)
    targets = csm_targets(db, Filters(), plan({"renewal_rate": ("last", 0.05)}), m)
    c2 = at(targets, "C2", "renewal_rate")
    assert (c2["rule"], c2["baseline"]) == ("last", pytest.approx(0.8))
    assert c2["target"] == pytest.approx(0.85)
    assert c2["rule_label"] == (
        "Last period's actual + uplift (Q1 2026: the last period closed on 15 May 2026)"
    )
    c1 = at(targets, "C1", "renewal_rate")
    assert (c1["rule"], c1["target"]) == ("company", 0.9)
    assert c1["rule_label"] == "Company target (no previous period)"


def test_money_targets_per_csm_measured_and_prorated(db, measures):
    """Expansion's company target (50) is per CSM: M1 is measured on C1 and C2 -> 100; D1 on
    C1, C2 and C3 -> 150. C3 was hired on 10 Apr: employed 10 Apr to 30 Jun = 82 of Q2's 91
    days -> 50 x 82/91 = 45.054945 (90%). A rate (GRR 0.9) is neither scaled nor prorated."""
    rules = {"expansion_arr": ("company", 0.0), "grr": ("company", 0.0)}
    targets = csm_targets(db, Filters(), plan(rules), measures)
    c1 = at(targets, "C1", "expansion_arr")
    assert (c1["target"], c1["rule_label"]) == (50.0, "Company target")
    m1 = at(targets, "M1", "expansion_arr")
    assert (m1["target"], m1["baseline"]) == (100.0, 100.0)
    assert m1["rule_label"] == "Company target x 2 CSMs"
    d1 = at(targets, "D1", "expansion_arr")
    assert (d1["target"], d1["rule_label"]) == (150.0, "Company target x 3 CSMs")
    c3 = at(targets, "C3", "expansion_arr")
    assert c3["target"] == pytest.approx(50 * 82 / 91)
    assert c3["rule_label"] == "Company target (prorated: employed 90% of the period)"
    assert (at(targets, "C3", "grr")["target"], at(targets, "M1", "grr")["target"]) == (0.9, 0.9)
    # A fallback to the company target scales and prorates the same way: no Mid-Market
    # account, so nobody has a book for the book rule.
    mid = Filters(segment=("Mid-Market",))
    m = period_measures(db, mid, PERIOD, AS_OF)
    fallback = csm_targets(db, mid, plan({"expansion_arr": ("book", 0.1)}), m)
    m1 = at(fallback, "M1", "expansion_arr")
    assert (m1["rule"], m1["target"]) == ("company", 100.0)
    assert m1["rule_label"] == "Company target x 2 CSMs (no book on 1 Apr 2026)"
    c3 = at(fallback, "C3", "expansion_arr")
    assert c3["target"] == pytest.approx(50 * 82 / 91)
    assert c3["rule_label"] == (
        "Company target (no book on 1 Apr 2026; prorated: employed 90% of the period)"
    )
    assert c3["reason"].endswith("The target is prorated: employed 90% of the period.")
