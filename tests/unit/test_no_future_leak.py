"""No future data leaks into a past view: changing every row dated after an as-of date leaves
every as-of service result on that date unchanged; changing one row dated before it does not.

Two tiny datasets are built through the real loader and build (health snapshots included: they
are computed at build time with windows ending at each snapshot date, so they are point in time
by construction, and this test proves it). They differ only in rows dated after AS_OF:
contracts starting later (and a new logo), renewals closed later with other outcomes, every
CSM call (the data holds it only as it stands at the build date), expansions created or closed
later, usage, tickets, NPS answers and touchpoints after AS_OF.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from services.account_360 import account_360
from services.account_list import account_page, account_totals
from services.filter_options import filter_options
from services.filters import AccountDrill, Filters
from services.health import band_history, band_mix, health_by_owner, movers
from services.portfolio import portfolio_kpis
from services.retention import cohort_movement, renewal_rate, trailing_retention
from services.retention_list import retention_page, retention_summary, retention_totals
from services.sql_fragments import MOVEMENTS, year_before
from tests.unit.tiny import account, build_tiny, contract

BUILT_ON = date(2026, 6, 30)
AS_OF = BUILT_ON - timedelta(weeks=39)  # 2025-09-30, on the weekly snapshot grid
ACCOUNTS = ("A", "B", "C", "D")


def d(offset: int) -> str:
    """The date `offset` days from AS_OF (negative: known on AS_OF)."""
    return (AS_OF + timedelta(days=offset)).isoformat()


def renewal(rid, acc, contract_id, on, up, outcome, renewed, closed, call="commit", reason=None):
    return dict(
        renewal_id=rid,
        account_id=acc,
        contract_id=contract_id,
        renewal_date=on,
        arr_up_for_renewal=up,
        forecast_category=call,
        risk_reason=reason,
        has_close_plan=reason is not None,
        outcome=outcome,
        renewed_arr=renewed,
        closed_date=closed,
    )


def tables(future: bool = False, past: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The dataset; `future` changes every row dated after AS_OF, `past` one row before it."""
    f = future
    accounts = [
        account("A", "SMB", owner="C1"),
        account("B", "SMB", owner="C2"),
        account("C", "Enterprise", tier="pooled", owner="C1", seats=50),
        account("D", "Enterprise", owner="C2", seats=20),
    ]
    contracts = [
        # A: renews on 1 Jan 2026 (after AS_OF) into K2.
        contract("A", "2025-01-01", "2026-01-01", 100, 10, "K1"),
        contract("A", "2026-01-01", "2027-01-01", 999 if f else 120, 10, "K2"),
        # B: contracted 200 -> 150 on 1 Jul 2025, known on AS_OF.
        contract("B", "2024-07-01", "2025-07-01", 200, 10, "K3"),
        contract("B", "2025-07-01", "2026-07-01", 140 if past else 150, 10, "K4"),
        # C: a term known on AS_OF, an add-on starting after it.
        contract("C", "2024-10-01", "2026-10-01", 500 if not past else 480, 40, "K5"),
        contract("C", "2025-11-01", "2026-10-01", 77 if f else 60, 5, "K6"),
        # D: a two-year term with a renewal checkpoint on 1 Sep 2025, overdue on AS_OF (closed
        # after it).
        contract("D", "2024-09-01", "2026-09-01", 300, 20, "K7"),
    ]
    renewals = [
        # Closed before AS_OF: known.
        renewal("R1", "B", "K3", "2025-07-01", 200, "contracted", 150, "2025-06-20"),
        # Closed after AS_OF: open on AS_OF, whatever the row says.
        renewal(
            "R2",
            "A",
            "K1",
            "2026-01-01",
            100,
            "churned" if f else "expanded",
            0 if f else 120,
            "2025-12-31" if f else "2025-12-20",
            call="churn" if f else "commit",
            reason="Budget" if f else None,
        ),
        # Overdue on AS_OF: renewal date passed, closed later.
        renewal(
            "R3",
            "D",
            "K7",
            "2025-09-01",
            300,
            "contracted" if f else "renewed",
            250 if f else 300,
            "2025-10-15" if f else "2025-10-05",
            call="at_risk" if f else "probable",
        ),
        # Renewals of contracts that start after AS_OF: unknown on AS_OF.
        renewal("R4", "A", "K2", "2027-01-01", 999 if f else 120, "open", None, None),
        renewal(
            "R5",
            "D",
            "K7",
            "2026-09-01",
            300,
            "open",
            None,
            None,
            call="at_risk" if f else "commit",
        ),
        renewal(
            "R6", "C", "K5", "2026-10-01", 500, "open", None, None, call="churn" if f else "commit"
        ),
    ]
    expansions = [
        dict(
            opportunity_id="X1",
            account_id="C",
            type="upsell",
            stage="closed_lost" if f else "closed_won",
            amount_arr=60,
            created_date="2025-06-01",
            close_date="2025-10-20",
            outcome="lost" if f else "won",
        ),
        dict(
            opportunity_id="X2",
            account_id="A",
            type="cross-sell",
            stage="proposal",
            amount_arr=777 if f else 40,
            created_date=d(15),
            outcome="open",
        ),
    ]
    usage = []
    for acc, users in (("A", 6), ("B", 3), ("C", 30), ("D", 12)):
        for offset in range(-150, 200):
            if offset % 3 == 0:  # a sparse feed: rows on active days only
                later = offset > 0
                n = users + (5 if later and f else 0) - (2 if later and acc == "C" else 0)
                if past and acc == "B" and offset == -3:
                    n = 9  # the one changed row dated before AS_OF
                usage.append(
                    dict(
                        account_id=acc,
                        day=d(offset),
                        active_users=n,
                        events=10 * n,
                        features_used=3,
                    )
                )
    tickets = [
        dict(
            ticket_id="T1",
            account_id="A",
            opened_at=d(-20) + " 09:00:00",
            closed_at=d(-2) + " 09:00:00",
            priority="P2",
            category="Bug",
            escalated=False,
        ),
        # Open on AS_OF, closed after it.
        dict(
            ticket_id="T2",
            account_id="D",
            opened_at=d(-10) + " 09:00:00",
            closed_at=(d(3) if f else d(30)) + " 09:00:00",
            priority="P1",
            category="Bug",
            escalated=False,
        ),
        dict(
            ticket_id="T3",
            account_id="B",
            opened_at=d(10) + " 09:00:00",
            closed_at=None,
            priority="P1" if f else "P4",
            category="Bug",
            escalated=f,
        ),
    ]
    nps = [
        dict(response_id="N1", account_id="A", responded_at=d(-40) + " 12:00:00", score=9),
        dict(response_id="N2", account_id="D", responded_at=d(-100) + " 12:00:00", score=4),
        dict(
            response_id="N3", account_id="A", responded_at=d(5) + " 12:00:00", score=0 if f else 10
        ),
    ]
    touchpoints = [
        dict(
            touchpoint_id="P1",
            account_id="A",
            csm_id="C1",
            occurred_at=d(-12) + " 10:00:00",
            type="check-in",
            channel="video",
        ),
        dict(
            touchpoint_id="P2",
            account_id="C",
            csm_id="C1",
            occurred_at=d(-70) + " 10:00:00",
            type="QBR",
            channel="onsite",
        ),
        dict(
            touchpoint_id="P3",
            account_id="B",
            csm_id="C2",
            occurred_at=(d(1) if f else d(50)) + " 10:00:00",
            type="EBR",
            channel="video",
        ),
    ]
    if f:
        # A new logo after AS_OF, with everything that comes with it.
        accounts.append(account("E", "SMB", owner="C2", created=d(20)))
        contracts.append(contract("E", d(20), d(385), 5000, 50, "K9"))
        renewals.append(renewal("R7", "E", "K9", d(385), 5000, "open", None, None))
        usage.append(dict(account_id="E", day=d(25), active_users=50, events=1, features_used=1))
        touchpoints.append(
            dict(
                touchpoint_id="P4",
                account_id="C",
                csm_id="C1",
                occurred_at=d(2) + " 10:00:00",
                type="QBR",
                channel="onsite",
            )
        )
        expansions.append(
            dict(
                opportunity_id="X3",
                account_id="D",
                type="upsell",
                stage="proposal",
                amount_arr=50,
                created_date=d(1),
                outcome="open",
            )
        )
    return {
        "accounts": accounts,
        "contracts": contracts,
        "renewals": renewals,
        "expansions": expansions,
        "usage_daily": usage,
        "tickets": tickets,
        "nps_responses": nps,
        "touchpoints": touchpoints,
    }


FILTERS = (Filters(), Filters(segment=("SMB",)), Filters(owner=("C2",)))


def as_of_results(db) -> dict[str, Any]:
    """Every as-of service result on AS_OF, as comparable values."""
    out: dict[str, Any] = {}
    for i, f in enumerate(FILTERS):
        out[f"kpis{i}"] = [asdict(k) for k in portfolio_kpis(db, f, AS_OF)]
        out[f"band_mix{i}"] = band_mix(db, f, AS_OF)
        out[f"band_history{i}"] = band_history(db, f, AS_OF)
        out[f"owners{i}"] = health_by_owner(db, f, AS_OF)
        out[f"movers{i}"] = movers(db, f, AS_OF)
        out[f"retention{i}"] = trailing_retention(db, f, AS_OF)
        out[f"cohort{i}"] = cohort_movement(db, f, year_before(AS_OF), AS_OF, by="segment")
        out[f"renewal_rate{i}"] = renewal_rate(db, f, year_before(AS_OF), AS_OF)
        out[f"totals{i}"] = account_totals(db, f, AccountDrill(), AS_OF)
        out[f"page{i}"] = account_page(db, f, AccountDrill(), AS_OF)
        out[f"page_by_renewal{i}"] = account_page(
            db, f, AccountDrill(), AS_OF, sort=(("next_renewal_date", "asc"),)
        )
        out[f"options{i}"] = filter_options(db, f, AS_OF)
        out[f"ret_summary{i}"] = retention_summary(db, f, AS_OF)
        for m in ("", *MOVEMENTS):
            out[f"ret_totals{i}{m}"] = retention_totals(db, f, AS_OF, m)
            out[f"ret_page{i}{m}"] = retention_page(db, f, AS_OF, m)
    for acc in ACCOUNTS:
        a = account_360(db, Filters(), acc, AS_OF)
        out[f"360{acc}"] = {k: v for k, v in asdict(a).items()}
    return out


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Names of the results that differ (DataFrames compared cell by cell, NaN = NaN)."""
    diff = []
    for key in a:
        if not _equal(a[key], b[key]):
            diff.append(key)
    return diff


def _equal(x: Any, y: Any) -> bool:
    if isinstance(x, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True))
        except AssertionError:
            return False
        return True
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return len(x) == len(y) and all(_equal(i, j) for i, j in zip(x, y, strict=True))
    if pd.isna(x) if not isinstance(x, list | tuple) else False:
        return bool(pd.isna(y))
    return x == y


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("leak")
    return {
        name: build_tiny(root / name, tables(**kw), BUILT_ON)
        for name, kw in (("base", {}), ("future", {"future": True}), ("past", {"past": True}))
    }


def test_the_dataset_exercises_what_it_should(built):
    base = as_of_results(built["base"])
    # A point-in-time view: A's renewal (closed after AS_OF) is open, D's is overdue, the
    # renewal rate counts only B's renewal, closed before AS_OF.
    assert base["renewal_rate0"] == {"renewals": 1, "arr_up": 200.0, "renewal_rate": 0.75}
    page = base["page_by_renewal0"].set_index("account_id")
    assert page.loc["A", "next_renewal_date"].date() == date(2026, 1, 1)
    assert page.loc["D", "next_renewal_date"].date() == date(2025, 9, 1)
    assert bool(page.loc["D", "renewal_overdue"]) and not bool(page.loc["A", "renewal_overdue"])
    assert page["forecast_category"].isna().all()  # today's CSM call is not known then
    assert base["360A"]["facts"]["arr"] == 100
    assert list(base["360A"]["renewals"]["outcome"]) == ["open"]
    # ... and the latest view sees what happened.
    today = renewal_rate(built["base"], Filters(), year_before(BUILT_ON), BUILT_ON)
    assert today["renewals"] == 3  # R1 (B), R2 (A) and R3 (D)


def test_rows_dated_after_the_as_of_date_change_nothing_on_it(built):
    base, future = as_of_results(built["base"]), as_of_results(built["future"])
    assert differences(base, future) == []
    # The future copy really differs, seen from its own build date.
    assert account_360(built["future"], Filters(), "A", BUILT_ON).facts["arr"] == 999
    assert renewal_rate(built["future"], Filters(), year_before(BUILT_ON), BUILT_ON) != (
        renewal_rate(built["base"], Filters(), year_before(BUILT_ON), BUILT_ON)
    )


def test_a_row_dated_before_the_as_of_date_does_change_it(built):
    """The comparison can fail: two contracts and one usage day dated before AS_OF changed."""
    changed = differences(as_of_results(built["base"]), as_of_results(built["past"]))
    assert "retention0" in changed and "cohort0" in changed and "3600" not in changed
    assert "360C" in changed and "kpis0" in changed and "band_mix0" in changed
