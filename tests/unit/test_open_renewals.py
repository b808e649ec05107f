"""The open-renewals relation: point in time (known, not yet closed, the call known then) and
the at-risk rule (call at_risk/churn or health red), on hand-made rows."""

from __future__ import annotations

from datetime import date

import pytest

from services.filters import Filters
from services.open_renewals import open_renewals_sql
from tests.unit.tiny import account, build_tiny, contract, renewal

AS_OF = date(2026, 11, 20)  # a Friday; the weekly grid ends here


def _history(renewal_id: str, day: str, category: str, reason: str | None = None) -> dict:
    return {
        "renewal_id": renewal_id,
        "snapshot_date": day,
        "forecast_category": category,
        "arr_up": 100,
        "risk_reason": reason,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("open-renewals")
    open_now = renewal("R-open", "A1", date(2027, 1, 15), 100, "open", None)
    open_now["forecast_category"] = "at_risk"
    open_now["risk_reason"] = "Budget"
    closed_later = renewal(
        "R-later", "A2", date(2026, 11, 1), 50, "renewed", 50, date(2026, 11, 10)
    )
    return build_tiny(
        tmp,
        {
            "accounts": [account("A1"), account("A2", owner="C2")],
            "contracts": [
                contract("A1", "2026-01-15", "2027-01-15", 100),
                contract("A2", "2025-11-01", "2026-11-01", 50),
            ],
            "renewals": [open_now, closed_later],
            "renewal_forecast_history": [
                _history("R-open", "2026-10-02", "commit"),
                _history("R-open", "2026-10-30", "probable"),
            ],
        },
        AS_OF,
    )


def _open(db, day: date, filters: Filters | None = None) -> dict:
    sql, bind = open_renewals_sql(filters or Filters(), day)
    df = db.query(sql + " SELECT * FROM open_renewals ORDER BY renewal_id", bind)
    return {r["renewal_id"]: r for r in df.to_dict("records")}


def test_the_call_is_the_one_known_on_the_day(db):
    assert _open(db, AS_OF)["R-open"]["forecast_category"] == "at_risk"
    assert _open(db, AS_OF)["R-open"]["risk_reason"] == "Budget"
    assert _open(db, date(2026, 11, 6))["R-open"]["forecast_category"] == "probable"
    assert _open(db, date(2026, 10, 9))["R-open"]["forecast_category"] == "commit"
    # Before the first history row the call is unknown, not today's.
    assert _open(db, date(2026, 9, 25))["R-open"]["forecast_category"] is None


def test_a_renewal_closed_after_the_day_is_still_open_then_and_overdue(db):
    assert "R-later" not in _open(db, AS_OF)
    before_close = _open(db, date(2026, 11, 6))
    assert before_close["R-later"]["overdue"]  # renewal date 1 Nov passed, closed 10 Nov


def test_at_risk_is_the_call_or_red_health(db):
    assert _open(db, AS_OF)["R-open"]["at_risk"]  # called at risk
    assert not _open(db, date(2026, 11, 6))["R-open"]["at_risk"] or (
        _open(db, date(2026, 11, 6))["R-open"]["band"] == "red"
    )


def test_filters_apply(db):
    assert set(_open(db, date(2026, 11, 6), Filters(owner=("C2",)))) == {"R-later"}
