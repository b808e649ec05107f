"""The forecast backtest on hand-made renewals (model, CSM call and baseline against the ARR
kept, the range's hit rate) and the no-leak test: changing anything dated after a forecast date
(a later outcome, a later call, later usage, a later contract or customer) leaves that forecast
unchanged, while changing a row dated before it changes it."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Any

import dash
import pandas as pd
import pytest

from components.renewal_list import BACKTEST_COLUMNS
from components.renewals_forecast import accuracy_summary
from services.errors import InvalidFilter
from services.filters import Filters
from services.forecast_accuracy import Accuracy, Quarter, closed_quarters, forecast_accuracy
from services.renewal_forecast import (
    Z80,
    forecast_gap,
    projected_retention,
    rate_levels,
    renewal_forecast,
    renewal_rates,
)
from services.renewal_list import backtest_page, backtest_quarter, backtest_totals
from tests.unit.tiny import account, build_tiny, contract

BUILT = date(2026, 11, 20)  # the build's as-of (a Friday: the weekly grid ends here)
Q3_ON = date(2026, 6, 26)  # the last snapshot on or before 1 Jul 2026: Q3 2026's forecast date


def renewal(rid, acc, on, arr_up, outcome="open", renewed=None, closed=None, call="commit"):
    return {
        "renewal_id": rid,
        "account_id": acc,
        "contract_id": f"K-{acc}",
        "renewal_date": on,
        "arr_up_for_renewal": arr_up,
        "forecast_category": call,
        "outcome": outcome,
        "renewed_arr": renewed,
        "closed_date": (closed or on) if outcome != "open" else None,
    }


def call(rid: str, day: str, category: str, arr: float) -> dict[str, Any]:
    return {
        "renewal_id": rid,
        "snapshot_date": day,
        "forecast_category": category,
        "arr_up": arr,
        "risk_reason": None,
    }


def usage(acc: str, users_after: int, first: date = date(2024, 6, 1)) -> list[dict]:
    """Daily usage to the build date: 8 active users, `users_after` after Q3_ON."""
    rows, d = [], first
    while d <= BUILT:
        users = 8 if d <= Q3_ON else users_after
        rows.append({"account_id": acc, "day": d.isoformat(), "active_users": users})
        d += timedelta(days=1)
    return rows


# All SMB, one account per renewal, each renewing the contract K-<account> that ends on its
# renewal date. Rates are fitted with a minimum of 1 renewal (set below).
# Closed before Q3's forecast date: H1 renewed 100 (1 Mar 2026), H2 churned 100 (1 Apr 2026),
# H3 renewed 100 (1 Mar 2025), QE renewed 100 (closed 20 Jun 2026 although due 3 Jul). On 26
# Jun 2026 the model's SMB rate is 300 / 400 = 0.75 (8 quarters); the baseline, the 4 quarters
# before (after 26 Jun 2025), is H1, H2 and QE: 200 / 300 = 2/3.
# Q3 2026 (1 Jul - 30 Sep), open on 26 Jun 2026:
#   QA 300, renewed 300 on 1 Aug; called commit (19 Jun)                     kept 300
#   QB 600, churned on 10 Sep; called at risk (19 Jun)                      kept 0
#   QC 300 due 28 Sep, renewed on 3 Oct (after the quarter); probable (26 Jun)  kept 300
#   QD 100 due 20 Sep, still open on 20 Nov; its first call is of 3 Jul      kept 0
# Not the quarter's: QE (due 3 Jul) closed on 20 Jun, before the forecast date; QF (due 20 Jun,
# overdue then) is Q2's; QG's contract starts on 15 Jul, after the forecast date.
# Model 1,300 × 0.75 = 975, variance 0.75 × 0.25 × (300² + 600² + 300² + 100²) = 103,125
# (sd 321.13): range [975 − 411.55, 1,300 (capped)] = [563.45, 1,300]. Baseline 866.67.
# Call 300 + 300 = 600. Actual 600: in the range. Errors: model +375 (+62.5%), call 0,
# baseline +266.67 (+44.4%).
# Q2 2026 (forecast 27 Mar 2026, rates H3 + H1 = 1.0, baseline H1 = 1.0): H2 100 churned, QF 70
# renewed, H4 40 renewed on 5 Jul (after the quarter: counted at its outcome): model = baseline
# = 210 (range [210, 210]), actual 110: a miss, errors +100.
# Q1 2026 (forecast 26 Dec 2025, rates H3 = 1.0): H1 100 renewed: 100 everywhere, a hit.
# Q4 2025: nothing was open then for that quarter.
def tables(
    future: bool = False, past: bool = False, history: bool = True, with_usage: bool = False
):
    f = future
    spec = [
        # account, contract start, renewal date, arr, outcome, renewed, closed, call
        ("H1", "2025-03-01", "2026-03-01", 100, "churned" if past else "renewed", 100, None),
        ("H2", "2025-04-01", "2026-04-01", 100, "churned", None, None),
        ("H3", "2024-03-01", "2025-03-01", 100, "renewed", 100, None),
        ("QA", "2025-08-01", "2026-08-01", 300, "churned" if f else "renewed", 300, None),
        ("QB", "2025-09-15", "2026-09-15", 600, "churned", None, "2026-09-10"),
        ("QC", "2025-09-28", "2026-09-28", 300, "renewed", 300, "2026-10-03"),
        ("QD", "2025-09-20", "2026-09-20", 100, "open", None, None),
        ("QE", "2025-07-03", "2026-07-03", 100, "renewed", 100, "2026-06-20"),
        ("QF", "2025-06-20", "2026-06-20", 70, "renewed", 70, "2026-06-29"),
        ("QG", "2026-07-15", "2026-09-01", 80, "renewed", 80, None),
        # H4: due 15 Jun, closed on 5 Jul (after the forecast date): open and overdue then
        ("H4", "2025-06-15", "2026-06-15", 40, "churned" if f else "renewed", 40, "2026-07-05"),
    ]
    if with_usage:
        # QH closed on 10 Jun 2026, over 90 days early: it was scored on the snapshot of 17 Jul
        # (its date − 90 days), after the forecast date, from usage that changes after it.
        spec.append(("QH", "2025-10-15", "2026-10-15", 200, "renewed", 200, "2026-06-10"))
    accounts = [account(s[0], "SMB", owner="C1") for s in spec]
    contracts = [contract(s[0], s[1], s[2], s[3], 1, f"K-{s[0]}") for s in spec]
    renewals = [renewal(f"R-{s[0]}", s[0], s[2], s[3], s[4], s[5], s[6]) for s in spec]
    renewals[6]["forecast_category"] = "at_risk" if f else "commit"  # QD's call today
    # QA renewed into a contract starting 1 Aug (after the forecast date).
    contracts.append(contract("QA", "2026-08-01", "2027-08-01", 999 if f else 300, 1, "K-QA2"))
    if f:  # a customer signed after the forecast date, with its renewal
        accounts.append(account("NL", "SMB", owner="C2"))
        contracts.append(contract("NL", "2026-08-01", "2027-08-01", 500, 1, "K-NL"))
        renewals.append(renewal("R-NL", "NL", "2027-08-01", 500))
    calls = []
    if history:
        calls = [
            call("R-QA", "2026-06-19", "commit", 300),
            call("R-QB", "2026-06-19", "at_risk", 600),
            call("R-QC", "2026-06-26", "probable", 300),
            call("R-QD", "2026-07-03", "churn" if f else "commit", 100),
        ]
        if f:  # a later call on QB
            calls.append(call("R-QB", "2026-07-10", "commit", 600))
    usage_rows = []
    if with_usage:  # later usage differs: 0 users after the forecast date in the future copy
        usage_rows = [u for a in ("QA", "QB", "QH") for u in usage(a, 0 if f else 8)]
    return {
        "accounts": accounts,
        "contracts": contracts,
        "renewals": renewals,
        "renewal_forecast_history": calls,
        "usage_daily": usage_rows,
    }


@pytest.fixture(scope="module")
def min_one():
    mp = pytest.MonkeyPatch()
    mp.setenv("CSOPS_FORECAST_MIN_RENEWALS", "1")
    yield
    mp.undo()


@pytest.fixture(scope="module")
def acc_db(min_one, tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("accuracy"), tables(), BUILT)


def _q(acc: Accuracy, label: str) -> pd.Series:
    return acc.quarters.set_index("label").loc[label]


def test_the_last_four_closed_quarters():
    assert [q.label for q in closed_quarters(BUILT)] == ["Q4 2025", "Q1 2026", "Q2 2026", "Q3 2026"]
    # A quarter ending on the day before is closed; the day's own quarter is not.
    assert closed_quarters(date(2026, 10, 1))[-1].label == "Q3 2026"
    assert closed_quarters(date(2026, 9, 30))[-1].label == "Q2 2026"


def test_q3_by_hand(acc_db):
    acc = forecast_accuracy(acc_db, Filters(), BUILT)
    q3 = _q(acc, "Q3 2026")
    assert q3["forecast_on"] == Q3_ON and q3["renewals"] == 4 and q3["arr_up"] == 1300
    assert q3["model"] == pytest.approx(975)
    assert q3["baseline"] == pytest.approx(1300 * 2 / 3)
    assert q3["call"] == 600 and q3["calls_known"] == 3  # QD's first call came later
    assert q3["actual"] == 600 and (q3["still_open"], q3["still_open_arr"]) == (1, 100)
    sd = math.sqrt(0.75 * 0.25 * 550_000)
    assert q3["low"] == pytest.approx(975 - Z80 * sd)
    assert q3["low"] == pytest.approx(563.45, abs=0.01)
    assert q3["high"] == 1300 and q3["hit"]
    assert q3["model_error"] == pytest.approx(375)
    assert q3["model_error_pct"] == pytest.approx(0.625)
    assert (q3["call_error"], q3["baseline_error"]) == (0, pytest.approx(266.667, abs=1e-3))


def test_other_quarters_the_hit_rate_and_the_verdict(acc_db):
    acc = forecast_accuracy(acc_db, Filters(), BUILT)
    q2, q1, q4 = _q(acc, "Q2 2026"), _q(acc, "Q1 2026"), _q(acc, "Q4 2025")
    assert (q2["model"], q2["baseline"], q2["actual"]) == (210, 210, 110)
    assert (q2["low"], q2["high"], q2["hit"]) == (210, 210, False)
    assert math.isnan(q2["call"])  # no call recorded by then
    assert (q1["model"], q1["actual"], q1["hit"]) == (100, 100, True)
    assert q4["available"] and q4["renewals"] == 0 and q4["hit"] is None
    assert (acc.hits, acc.judged) == (2, 3)
    totals = acc.totals()
    # The baseline: |0| + |100| + |266.67| = 366.67 against the model's 0 + 100 + 375.
    assert totals["baseline"]["abs_error"] == pytest.approx(366.667, abs=1e-3)
    assert totals["baseline"]["wape"] == pytest.approx(366.667 / 810, abs=1e-6)
    assert totals["model"]["abs_error"] == pytest.approx(475)
    assert totals["call"]["quarters"] == 1  # the call is known for Q3 only
    assert acc.closest() == "baseline"  # over the quarters every compared method covers
    assert acc.has_history
    # The sentence on the page.
    assert accuracy_summary(acc).startswith(
        "Last year's rate was closest: off by $367 in total (45.3% of the ARR kept), against "
        "$475 for the model; the CSM call, known for 1 of 3 quarters, was off by $0"
    )
    assert "inside the model's 80% range in 2 of 3 quarters" in accuracy_summary(acc)


def test_the_actual_is_as_known_on_the_date_viewed(acc_db):
    # On 2 Oct 2026 QC (closed 3 Oct) was still open: not kept yet.
    q3 = _q(forecast_accuracy(acc_db, Filters(), date(2026, 10, 2)), "Q3 2026")
    assert (q3["actual"], q3["still_open"], q3["model"]) == (
        300,
        2,
        pytest.approx(975),
    )


def test_filters_narrow_the_backtest(acc_db):
    acc = forecast_accuracy(acc_db, Filters(owner=("C2",)), BUILT)
    assert acc.quarters["renewals"].sum() == 0 and acc.judged == 0 and acc.closest() is None


def test_without_a_call_history_there_is_no_call_to_backtest(min_one, tmp_path_factory):
    db = build_tiny(tmp_path_factory.mktemp("no-history"), tables(history=False), BUILT)
    acc = forecast_accuracy(db, Filters(), BUILT)
    assert not acc.has_history and acc.quarters["call"].isna().all()
    assert "no call history in the data" in accuracy_summary(acc)
    assert _q(acc, "Q3 2026")["model"] == pytest.approx(975)


# ---- no leak ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def leak_dbs(min_one, tmp_path_factory):
    """The dataset (with usage, so health bands are real), a copy differing only after Q3_ON,
    and a copy differing in one row before it."""
    return {
        name: build_tiny(
            tmp_path_factory.mktemp(f"leak-{name}"),
            tables(future=name == "future", past=name == "past", with_usage=True),
            BUILT,
        )
        for name in ("base", "future", "past")
    }


def forecast_on(db, day: date) -> dict[str, Any]:
    """Everything the Forecast tab shows for `day` (and the backtest's forecasts of Q3)."""
    filters = Filters()
    fc = renewal_forecast(db, filters, day)
    proj = projected_retention(db, filters, day)
    acc = forecast_accuracy(db, filters, BUILT).quarters.set_index("label").loc["Q3 2026"]
    return {
        "quarters": fc.quarters.to_dict("records"),
        "total": fc.total,
        "rates": renewal_rates(db, filters, day).table.to_dict("records"),
        "gap_owner": forecast_gap(db, filters, day, "owner").to_dict("records"),
        "gap_team": forecast_gap(db, filters, day, "team").to_dict("records"),
        "levels": rate_levels(db, filters, day).to_dict("records"),
        "projected": {k: v for k, v in proj.items() if k != "fy"},
        "q3_forecasts": {
            k: acc[k] for k in ("renewals", "arr_up", "model", "low", "high", "call", "baseline")
        },
    }


def _equal(x: Any, y: Any) -> bool:
    """Equal to 6 decimals, NaN equal to NaN (no forecast is the same forecast)."""
    return repr(_normalise(x)) == repr(_normalise(y))


def _normalise(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _normalise(w) for k, w in v.items()}
    if isinstance(v, list):
        return [_normalise(w) for w in v]
    if isinstance(v, float):
        return "nan" if math.isnan(v) else round(v, 6)
    return v


def test_nothing_dated_after_the_forecast_date_changes_the_forecast(leak_dbs):
    base, future = forecast_on(leak_dbs["base"], Q3_ON), forecast_on(leak_dbs["future"], Q3_ON)
    assert base["total"]["renewals"] >= 5  # QA, QB, QC, QD and H4 (overdue) were open then
    assert any(r["band"] for r in base["rates"] if r["renewals"])  # health bands are in play
    for key in base:
        assert _equal(base[key], future[key]), key
    # The future copy really is different after the date.
    later_base = forecast_accuracy(leak_dbs["base"], Filters(), BUILT).quarters
    later_future = forecast_accuracy(leak_dbs["future"], Filters(), BUILT).quarters
    assert later_base["actual"].tolist() != later_future["actual"].tolist()
    assert not _equal(
        forecast_on(leak_dbs["base"], BUILT)["total"],
        forecast_on(leak_dbs["future"], BUILT)["total"],
    )


def test_a_row_dated_before_the_forecast_date_does_change_it(leak_dbs):
    base, past = forecast_on(leak_dbs["base"], Q3_ON), forecast_on(leak_dbs["past"], Q3_ON)
    assert not _equal(base["total"], past["total"])
    assert not _equal(base["q3_forecasts"], past["q3_forecasts"])


# ---- the renewals behind a quarter (the renewal list's backtest mode) ------------------------------
def _list_totals(db, filters: Filters, key: str, day: date) -> dict[str, Any]:
    quarter = backtest_quarter(db, Filters(), {"backtest": key}, day)
    return backtest_totals(db, filters, quarter, day)


@pytest.mark.parametrize("day", [BUILT, date(2026, 10, 2)])
def test_the_backtest_list_totals_are_the_quarters_numbers(acc_db, day):
    acc = forecast_accuracy(acc_db, Filters(), day)
    for label in ("Q1 2026", "Q2 2026", "Q3 2026"):
        q = _q(acc, label)
        t = _list_totals(acc_db, Filters(), Quarter(q["start"], q["start"]).key, day)
        assert t["renewals"] == q["renewals"] and t["arr_up"] == q["arr_up"]
        assert t["expected"] == pytest.approx(q["model"]) and t["kept"] == q["actual"]
        assert t["still_open"] == q["still_open"]
    # By hand: Q3 2026 on the build's date is QA, QB, QC and QD (1,300 up, 975 expected, 600
    # kept, QD still open); on 2 Oct QC had not closed yet: 300 kept, 2 still open.
    t = _list_totals(acc_db, Filters(), "2026-Q3", day)
    assert (t["renewals"], t["arr_up"], t["expected"]) == (4, 1300, pytest.approx(975))
    assert (t["kept"], t["still_open"]) == ((600, 1) if day == BUILT else (300, 2))


def test_the_backtest_list_rows(acc_db):
    quarter = backtest_quarter(acc_db, Filters(), {"backtest": "2026-q3"}, BUILT)
    page = backtest_page(acc_db, Filters(), quarter, BUILT, (("renewal_date", "asc"),))
    got = [
        (r.renewal_id, r.arr_up, r.p, r.expected, r.call, r.kept, r.outcome)
        for r in page.itertuples()
    ]
    assert got == [
        ("R-QA", 300, 0.75, 225, "commit", 300, "renewed"),
        ("R-QB", 600, 0.75, 450, "at_risk", 0, "churned"),
        ("R-QD", 100, 0.75, 75, "none", 0, "open"),  # first called on 3 Jul: no call then
        ("R-QC", 300, 0.75, 225, "probable", 300, "renewed"),
    ]
    # Default order: the biggest ARR up first; a second page; an owner filter narrows it.
    assert backtest_page(acc_db, Filters(), quarter, BUILT)["renewal_id"].iloc[0] == "R-QB"
    assert list(backtest_page(acc_db, Filters(), quarter, BUILT, (), 3, 10)["renewal_id"]) == [
        "R-QD"
    ]
    assert _list_totals(acc_db, Filters(owner=("C2",)), "2026-Q3", BUILT)["renewals"] == 0


@pytest.mark.parametrize(
    ("key", "day", "message"),
    [
        ("2026-Q5", BUILT, "Unknown quarter '2026-Q5' for 'backtest': use a quarter like 2026-Q3"),
        ("last", BUILT, "Unknown quarter 'last'"),
        # Not stored: before the health history (the grid starts in 2024) and not closed yet.
        ("2020-Q1", BUILT, "There is no forecast backtest for Q1 2020 on 20 Nov 2026"),
        ("2026-Q4", BUILT, "There is no forecast backtest for Q4 2026"),
        # Stored, but it had not ended on the day viewed.
        ("2026-Q3", date(2026, 9, 30), "There is no forecast backtest for Q3 2026 on 30 Sep"),
    ],
)
def test_an_unknown_backtest_quarter_is_a_plain_message(acc_db, key, day, message):
    with pytest.raises(InvalidFilter, match=re.escape(message)):
        backtest_quarter(acc_db, Filters(), {"backtest": key}, day)


def test_the_list_page_in_backtest_mode(acc_db, use_db):
    """/renewals/list?backtest=2026-Q3: the store, the totals line, the rows and a row's link."""
    use_db(acc_db.path)
    dash.Dash(__name__, use_pages=True, pages_folder="")
    from pages import renewal_list as page
    from tests.unit.test_renewal_list import find

    layout = page.layout(backtest="2026-Q3", sort="kept:desc")
    data = find(layout, page.STORE).data
    assert data["status"] == "backtest" and data["quarter"] == "2026-Q3"
    columns = find(layout, page.GRID).columnDefs
    assert [c["field"] for c in columns] == [c["field"] for c in BACKTEST_COLUMNS]
    assert [c["field"] for c in columns if c.get("sort")] == ["kept"]  # the URL's sort
    rows = page.serve_rows({"startRow": 0, "endRow": 100}, data)
    assert rows["rowCount"] == 4 and len(rows["rowData"]) == 4
    assert {r["renewal_id"] for r in rows["rowData"]} == {"R-QA", "R-QB", "R-QC", "R-QD"}
    text = "".join(
        str(getattr(c, "children", c)) for c in page.render_totals(data) if c is not None
    )
    assert "4 renewals · ARR up $1.3K · model expected kept $975 · actual kept $600" in text
    assert "1 still open" in text
    assert page.renewal_href("R-QB", Filters()) == "/accounts/QB"
    # A sort outside the list's columns is refused with a message.
    bad = find(page.layout(backtest="2026-Q3", sort="arr_lost:desc"), page.STORE).data
    assert "Cannot sort by 'arr_lost:desc'" in bad["error"]
