"""Compensation statements on tiny data: the numbers by hand, the counted lines and their
attribution, an issued statement reading back exactly after the data is rebuilt from changed
sources (while a fresh statement differs), and the XLSX read back with openpyxl.

The data: C1 (Ana Adams) owns A1 and A2 all along, and A3 from 1 May 2026 (C2 before).
Quarter Q2 2026 (Apr-Jun, calendar fiscal year), data as of 30 Jun 2026.
Renewals closed in the quarter:
- R1 A1 15 May: 100 up, 100 renewed -> C1
- R2 A2 10 Jun: 100 up,  80 renewed -> C1 (60 after the rebuild)
- R3 A3 15 Apr: 100 up, 100 renewed -> C2 (A3 was C2's then)
- R4 A3 15 Jun:  50 up,  50 renewed -> C1 (owner since 1 May)
Expansions won: E1 A1 20 May 30 -> C1; E2 A3 20 Apr 40 -> C2.
Plan: renewal rate only (weight 100%), company target 90%, curve threshold 50% paying 50%,
accelerator 2, cap 200%; on-target bonus for a CSM 20,000 a year -> 5,000 a quarter.
C1's renewal rate = (100 + 80 + 50) / (100 + 100 + 50) = 0.92; attainment 0.92 / 0.9 =
102.2222%; payout 100 + 2 x 2.2222 = 104.4444% -> 5,222.22.
After the rebuild: (100 + 60 + 50) / 250 = 0.84; attainment 93.3333%; payout
50 + (93.3333 - 50) x (100 - 50) / (100 - 50) = 93.3333% -> 4,666.67.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import openpyxl
import pytest

from services.app_state import NotFound, app_state
from services.build import build
from services.comp_periods import period_of
from services.comp_plan import Curve, MetricPlan, Plan
from services.comp_plan_store import PlanView
from services.comp_statement import (
    KIND,
    LINES_SHEET,
    SUMMARY_SHEET,
    DamagedStatement,
    NotInForce,
    StatementUnavailable,
    build_statement,
    issue_refusal,
    issue_statement,
    issued_statement,
    live_check,
    statement_xlsx,
    summary_facts,
)
from services.db import Database
from services.filters import Filters
from tests.unit.tiny import CSMS, account, contract, expansion, renewal, write_source

AS_OF = date(2026, 6, 30)
PERIOD = period_of(AS_OF, "quarter")
HYPERLINK = '=HYPERLINK("http://evil.example","click")'
PLAN = Plan(
    period="quarter",
    effective_from=date(2026, 4, 1),
    metrics=(MetricPlan("renewal_rate", 100.0, 0.9, curve=Curve(50.0, 50.0, 2.0, 200.0)),),
    on_target_bonus={"CSM": 20_000.0, "Manager": 30_000.0, "Director": 40_000.0},
)
VIEW = PlanView("plan1", "Test plan", 3, PLAN, PERIOD, False, "")


def _tables(r2_renewed: float) -> dict:
    a1 = {**account("A1"), "name": HYPERLINK}
    return {
        "csms": CSMS,
        "accounts": [a1, account("A2"), account("A3", owner="C1")],
        "contracts": [
            contract(a, "2025-07-01", "2027-07-01", arr=100, contract_id=f"K{a}")
            for a in ("A1", "A2", "A3")
        ],
        "renewals": [
            renewal("R1", "A1", date(2026, 5, 15), 100, "renewed", 100),
            renewal("R2", "A2", date(2026, 6, 10), 100, "contracted", r2_renewed),
            renewal("R3", "A3", date(2026, 4, 15), 100, "renewed", 100),
            renewal("R4", "A3", date(2026, 6, 15), 50, "renewed", 50),
        ],
        "expansions": [
            expansion("E1", "A1", "2026-05-20", 30, created="2026-01-15"),
            expansion("E2", "A3", "2026-04-20", 40, created="2026-01-15"),
        ],
        "account_owner_history": [
            {
                "account_id": "A3",
                "owner_csm_id": "C2",
                "valid_from": "2020-01-01",
                "valid_to": "2026-05-01",
            },
            {
                "account_id": "A3",
                "owner_csm_id": "C1",
                "valid_from": "2026-05-01",
                "valid_to": None,
            },
        ],
    }


def _build(tmp_path, target, r2_renewed: float, name: str) -> Database:
    build(write_source(tmp_path / name, _tables(r2_renewed)), target, as_of=AS_OF)
    return Database(target)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("CSOPS_APP_STATE", str(tmp_path / "app_state.sqlite"))
    return app_state()


@pytest.fixture
def target(tmp_path):
    return tmp_path / "csops.duckdb"


@pytest.fixture
def db(tmp_path, target):
    return _build(tmp_path, target, 80, "src80")


def _statement(db: Database):
    return build_statement(db, Filters(), VIEW, "C1", AS_OF)


def test_the_statement_pays_what_the_plan_says_on_c1s_renewals(db):
    s = _statement(db)
    assert (s.person, s.role, s.team) == ("Ana Adams", "CSM", "East")
    assert (s.plan_item_id, s.plan_name, s.plan_version) == ("plan1", "Test plan", 3)
    assert s.plan_effective_from == date(2026, 4, 1)
    assert (s.period_key, s.as_of, s.to_date) == ("Q-2026-04-01", AS_OF, AS_OF)
    assert s.build_id == db.info().build_id
    (row,) = s.metrics
    assert row.metric == "renewal_rate" and row.weight == 100.0
    assert row.target == pytest.approx(0.9)
    assert row.actual == pytest.approx(0.92)
    assert row.attainment == pytest.approx(102.2222, abs=1e-3)
    assert row.payout_pct == pytest.approx(104.4444, abs=1e-3)
    assert row.payout == pytest.approx(5222.22, abs=0.01)
    assert s.on_target == pytest.approx(5000.0)
    assert "x 3/12 of a year" in s.proration
    assert s.total_payout == pytest.approx(5222.22, abs=0.01)


def test_the_counted_lines_are_those_closed_while_c1_owned_the_account(db):
    s = _statement(db)
    renewals = {c.id: c for c in s.lines if c.kind == "renewal"}
    expansions = {c.id: c for c in s.lines if c.kind == "expansion"}
    assert set(renewals) == {"R1", "R2", "R4"}  # R3 closed while A3 was C2's
    assert set(expansions) == {"E1"}  # E2 too
    r4 = renewals["R4"]
    assert (r4.credited_to, r4.credited_name) == ("C1", "Ana Adams")
    assert r4.owned_from == date(2026, 5, 1)
    assert (r4.owner_now, r4.arr_up, r4.amount) == ("C1", 50.0, 50.0)
    assert renewals["R2"].retained == pytest.approx(80.0)
    assert expansions["E1"].amount == pytest.approx(30.0)


def test_someone_without_a_statement_is_told_so(db):
    with pytest.raises(StatementUnavailable, match="pick a person"):
        build_statement(db, Filters(), VIEW, "nobody", AS_OF)


def test_an_issued_statement_reads_back_exactly_after_a_rebuild(tmp_path, target, db, store):
    issued = _statement(db)
    item_id = issue_statement(issued, "ana.lead")
    item = store.get(item_id, kind=KIND)
    assert item.name == "Ana Adams · Q2 2026 · v3"

    rebuilt = _build(tmp_path, target, 60, "src60")  # R2 now renewed 60, not 80
    assert rebuilt.info().build_id != issued.build_id

    again = issued_statement(item_id)
    assert again == issued  # every number, line, date and the build id
    assert again.build_id == issued.build_id
    assert again.metrics[0].payout == pytest.approx(5222.22, abs=0.01)
    assert (again.issued.item_id, again.issued.by) == (item_id, "ana.lead")

    fresh = build_statement(rebuilt, Filters(), VIEW, "C1", AS_OF)
    assert fresh.build_id == rebuilt.info().build_id
    assert fresh.metrics[0].actual == pytest.approx(0.84)
    assert fresh.total_payout == pytest.approx(4666.67, abs=0.01)

    check = live_check(rebuilt, again)
    assert not check.same_build
    assert check.difference == pytest.approx(4666.67 - 5222.22, abs=0.01)
    assert "$556 less than issued" in check.message


def test_an_issued_statement_on_the_same_build_is_unchanged(db, store):
    s = _statement(db)
    check = live_check(db, issued_statement(issue_statement(s, "me")))
    assert check.same_build and check.difference == 0.0


def test_issuing_twice_keeps_both_under_distinct_names(db, store):
    s = _statement(db)
    first, second = issue_statement(s, "me"), issue_statement(s, "me")
    assert first != second
    assert store.get(second, kind=KIND).name == "Ana Adams · Q2 2026 · v3 (2)"


def test_a_missing_or_damaged_issued_statement_says_so(db, store):
    with pytest.raises(NotFound, match="no issued statement"):
        issued_statement("nope")
    with pytest.raises(NotFound, match="no issued statement"):
        issued_statement("../../etc")
    damaged = store.create(KIND, "Broken", {"format": 1, "statement": {}}, "me")
    with pytest.raises(DamagedStatement, match="cannot be read"):
        issued_statement(damaged.id)


def test_the_xlsx_holds_the_summary_and_the_lines_with_text_neutralised(db):
    s = _statement(db)
    book = openpyxl.load_workbook(io.BytesIO(statement_xlsx(s).read()))
    assert book.sheetnames == [SUMMARY_SHEET, LINES_SHEET]
    summary = book[SUMMARY_SHEET]
    facts = {
        row[0]: row[2]
        for row in summary.iter_rows(min_row=2, max_row=11, values_only=True)
        if row[0]
    }
    assert facts["Plan"] == "Test plan"
    assert facts["Plan version"] == "3"
    assert facts["Period"] == "Q2 2026 (Q-2026-04-01)"
    assert facts["Data build"] == s.build_id
    assert facts["Data as of"].startswith("30 Jun 2026")
    rows = list(summary.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "Metric")
    header = rows[header_at]
    metric = dict(zip(header, rows[header_at + 1], strict=True))
    assert metric["Metric"] == "Renewal rate (ARR)"
    assert metric["Target"] == pytest.approx(90.0)
    assert metric["Actual to date"] == pytest.approx(92.0)
    assert metric["Payout to date ($)"] == pytest.approx(5222.22, abs=0.01)
    totals = {r[0]: r[header.index("Payout to date ($)")] for r in rows[header_at + 2 :] if r[0]}
    assert totals["Total"] == pytest.approx(5222.22, abs=0.01)
    assert totals["On-target bonus for the period ($)"] == pytest.approx(5000.0)

    lines = book[LINES_SHEET]
    head = [c.value for c in lines[1]]
    body = [dict(zip(head, r, strict=True)) for r in lines.iter_rows(min_row=2, values_only=True)]
    assert sorted(r["Id"] for r in body) == ["E1", "R1", "R2", "R4"]
    r1 = next(r for r in body if r["Id"] == "R1")
    assert r1["Account"] == "'" + HYPERLINK  # text, never a formula
    assert lines.cell(2, head.index("Account") + 1).data_type == "s"
    r4 = next(r for r in body if r["Id"] == "R4")
    assert r4["Credited to"] == "Ana Adams" and r4["Owner since"].date() == date(2026, 5, 1)


def test_an_issued_statement_in_the_xlsx_says_who_issued_it(db, store):
    s = issued_statement(issue_statement(_statement(db), "=cmd|' /C calc'!A0"))
    book = openpyxl.load_workbook(io.BytesIO(statement_xlsx(s).read()))
    facts = {r[0]: r[2] for r in book[SUMMARY_SHEET].iter_rows(values_only=True) if r[0]}
    assert facts["Issued"].endswith(f"({s.issued.item_id})")
    assert "by =cmd" in facts["Issued"]  # inside the text, not at its start: not a formula


def test_a_statement_records_that_its_version_was_in_force(db, store):
    s = _statement(db)
    assert s.in_force is True
    assert issue_refusal(s) is None
    again = issued_statement(issue_statement(s, "me"))
    assert again.in_force is True  # kept in the payload
    facts = dict(summary_facts(again))
    assert facts["Version in force for the period"].startswith("Yes")


def test_a_version_not_in_force_is_never_issued(db, store):
    preview = replace(VIEW, in_force=False)  # e.g. version 3 pinned while version 2 was in force
    s = build_statement(db, Filters(), preview, "C1", AS_OF)
    assert s.in_force is False
    assert s.total_payout == pytest.approx(5222.22, abs=0.01)  # still shown, numbers and all
    assert dict(summary_facts(s))["Version in force for the period"].startswith("No")
    assert "not the version in force for Q2 2026" in issue_refusal(s)
    with pytest.raises(NotInForce, match="cannot be issued"):
        issue_statement(s, "me")
    assert store.list(KIND) == []  # nothing saved


def test_the_unsaved_default_plan_is_never_issued(db, store):
    default = PlanView(None, "Default plan", None, PLAN, PERIOD, False, "", in_force=False)
    s = build_statement(db, Filters(), default, "C1", AS_OF)
    assert "saved plan only" in issue_refusal(s)
    with pytest.raises(NotInForce, match="Save it on the Plan tab"):
        issue_statement(s, "me")
    assert store.list(KIND) == []


def test_an_issued_statement_whose_recompute_breaks_is_still_shown(db, monkeypatch, caplog):
    issued = replace(_statement(db), build_id="an-earlier-build")

    def broken(db, statement):
        raise RuntimeError("a bug in the live recompute")

    monkeypatch.setattr("services.comp_statement.recompute", broken)
    check = live_check(db, issued)
    assert not check.same_build
    assert (check.total_payout, check.difference) == (None, None)
    assert "cannot recompute it" in check.message and "cannot be compared" in check.message
    assert "a bug" not in check.message  # the error itself stays in the log
    assert "live check of an issued statement failed" in caplog.text
