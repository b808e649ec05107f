"""ARR bridge: start + new + expansion − contraction − churn = end, against hand-computed
periods, the cards' cohort numbers and ARR(d) computed on its own."""

from datetime import date

import pytest

from components.renewals_trend import bridge_axis, bridge_figure
from services.arr_bridge import (
    PERIODS,
    STEP_MOVEMENTS,
    arr_bridge,
    bridge_frame,
    period_options,
    period_window,
    quarter_start,
    year_start,
)
from services.asof import snapshot_dates
from services.db import get_database
from services.errors import InvalidFilter
from services.filters import Filters
from services.retention import arr_at, trailing_retention
from services.retention_list import retention_totals
from services.retention_trend import retention_trend
from tests.unit.tiny import account, build_tiny, contract

AS_OF = date(2026, 6, 30)
CENT = 0.005


@pytest.fixture
def db(tmp_path):
    accounts = [
        account("A", "SMB"),
        account("B", "Enterprise"),
        account("C", "SMB", owner="C2"),
        account("D", "SMB"),
        account("E", "Enterprise"),
        account("F", "Enterprise", owner="C2"),
        account("G", "SMB"),
    ]
    contracts = [
        # A churns: 100 until its last day, 31 Dec 2025.
        contract("A", "2025-01-01", "2026-01-01", 100),
        # B expands: 200, plus an add-on of 50 from 1 Mar 2026.
        contract("B", "2025-01-01", "2027-01-01", 200),
        contract("B", "2026-03-01", "2027-01-01", 50),
        # C contracts at renewal: 300 -> 240 from 1 Jan 2026.
        contract("C", "2025-01-01", "2026-01-01", 300),
        contract("C", "2026-01-01", "2027-01-01", 240),
        # D is a new logo from 15 Apr 2026.
        contract("D", "2026-04-15", "2027-04-15", 500),
        # E paid 40 until Feb 2025, nothing for a year, and returns at 70 on 1 May 2026.
        contract("E", "2024-01-01", "2025-03-01", 40),
        contract("E", "2026-05-01", "2027-05-01", 70),
        # F is flat at 80.
        contract("F", "2025-01-01", "2027-01-01", 80),
        # G comes and goes inside the year: nothing on either end of the 12 months.
        contract("G", "2025-08-01", "2026-02-01", 30),
    ]
    return build_tiny(tmp_path, {"accounts": accounts, "contracts": contracts}, AS_OF)


def identity(b):
    return b["start"] + b["new"] + b["expansion"] - b["contraction"] - b["churned"]


def test_trailing_12_months_by_hand(db):
    b = arr_bridge(db, Filters(), date(2025, 6, 30), AS_OF)
    assert b["start"] == 680  # A 100 + B 200 + C 300 + F 80
    assert b["new"] == 570 and b["new_accounts"] == 2  # D 500 + E 70 (returning)
    assert b["reactivated"] == 70 and b["reactivated_accounts"] == 1  # E, inside new
    assert b["expansion"] == 50 and b["expanded_accounts"] == 1  # B
    assert b["contraction"] == 60 and b["contracted_accounts"] == 1  # C
    assert b["churned"] == 100 and b["churned_accounts"] == 1  # A (G never on either end)
    assert b["flat_accounts"] == 1 and b["start_accounts"] == 4
    assert b["end"] == 1140 and b["end_accounts"] == 5  # B 250 + C 240 + D 500 + E 70 + F 80
    assert identity(b) == b["end"]


def test_quarters_and_year_by_hand(db):
    # Q2 2026 to date: ARR on 31 Mar 2026 (B 250, C 240, F 80) -> 30 Jun; D and E new.
    q = period_window("qtd", AS_OF, 1)
    assert (q.start, q.end, q.label) == (date(2026, 3, 31), AS_OF, "Q2 2026 to date")
    b = arr_bridge(db, Filters(), q.start, q.end)
    assert (b["start"], b["new"], b["expansion"], b["contraction"], b["churned"]) == (
        570,
        570,
        0,
        0,
        0,
    )
    assert b["reactivated"] == 70  # E paid before 31 Mar 2026
    # Q1 2026: ARR on 31 Dec 2025 (A 100, B 200, C 300, F 80, G 30) -> 31 Mar 2026.
    last = period_window("last_quarter", AS_OF, 1)
    assert (last.start, last.end, last.label) == (date(2025, 12, 31), date(2026, 3, 31), "Q1 2026")
    b = arr_bridge(db, Filters(), last.start, last.end)
    assert (b["start"], b["new"], b["expansion"], b["contraction"], b["churned"], b["end"]) == (
        710,
        0,
        50,
        60,
        130,  # A 100 + G 30
        570,
    )
    # 2026 to date: from 710 on 31 Dec 2025 to 1,140.
    y = period_window("ytd", AS_OF, 1)
    assert (y.start, y.label) == (date(2025, 12, 31), "Year to date")
    b = arr_bridge(db, Filters(), y.start, y.end)
    assert (b["start"], b["new"], b["churned"], b["end"]) == (710, 570, 130, 1140)
    for key in PERIODS:
        p = period_window(key, AS_OF, 1)
        b = arr_bridge(db, Filters(), p.start, p.end)
        assert identity(b) == b["end"], key


def test_filters_apply(db):
    ent = arr_bridge(db, Filters(segment=("Enterprise",)), date(2025, 6, 30), AS_OF)
    assert (ent["start"], ent["new"], ent["expansion"], ent["end"]) == (280, 70, 50, 400)
    c2 = arr_bridge(db, Filters(owner=("C2",)), date(2025, 6, 30), AS_OF)
    assert (c2["start"], c2["contraction"], c2["end"]) == (380, 60, 320)
    none = arr_bridge(db, Filters(segment=("Nowhere",)), date(2025, 6, 30), AS_OF)
    assert none["start"] == 0 and none["end"] == 0 and none["new_accounts"] == 0


def test_bridge_steps_in_order(db):
    steps = bridge_frame(arr_bridge(db, Filters(), date(2025, 6, 30), AS_OF))
    assert list(steps.step) == ["start", "new", "expansion", "contraction", "churn", "end"]
    assert list(steps.value) == [680, 570, 50, -60, -100, 1140]
    assert list(steps.movement) == ["", "new", "expanded", "contracted", "churned", "at_end"]
    assert steps.value.iloc[:-1].sum() == steps.value.iloc[-1]


def test_period_must_start_before_it_ends(db):
    with pytest.raises(InvalidFilter, match="must start before it ends"):
        arr_bridge(db, Filters(), AS_OF, AS_OF)


def test_fiscal_quarters_and_years():
    # Fiscal year from February: quarters Feb-Apr, May-Jul, Aug-Oct, Nov-Jan.
    assert quarter_start(date(2026, 6, 30), 2) == date(2026, 5, 1)
    assert quarter_start(date(2026, 1, 15), 2) == date(2025, 11, 1)
    assert year_start(date(2026, 1, 15), 2) == date(2025, 2, 1)
    assert year_start(date(2026, 2, 1), 2) == date(2026, 2, 1)
    q = period_window("qtd", date(2026, 6, 30), 2)
    # FY2027 runs Feb 2026 - Jan 2027 (named by the year it ends in); May-Jul is its Q2.
    assert (q.start, q.label) == (date(2026, 4, 30), "Q2 FY2027 to date")
    last = period_window("last_quarter", date(2026, 1, 15), 11)  # FY from November
    assert (last.start, last.end) == (date(2025, 7, 31), date(2025, 10, 31))
    assert last.label == "Q4 FY2025"  # Aug-Oct 2025 closes the Nov 2024 - Oct 2025 year
    y = period_window("ytd", date(2026, 1, 15), 11)
    assert (y.start, y.end, y.label) == (
        date(2025, 10, 31),
        date(2026, 1, 15),
        "Fiscal year to date",
    )
    # The first day of a quarter: quarter to date is that one day.
    one = period_window("qtd", date(2026, 10, 1), 1)
    assert (one.start, one.end, one.describe()) == (
        date(2026, 9, 30),
        date(2026, 10, 1),
        "01 Oct 2026 – 01 Oct 2026",
    )
    # 29 Feb: the 12 months start on 28 Feb a year earlier (sql_fragments.year_before).
    assert period_window("t12m", date(2024, 2, 29), 1).start == date(2023, 2, 28)
    with pytest.raises(InvalidFilter, match="Unknown period 'decade'"):
        period_window("decade", AS_OF, 1)


def test_fiscal_year_start_is_a_setting(monkeypatch):
    monkeypatch.setenv("CSOPS_FISCAL_YEAR_START_MONTH", "2")
    assert period_window("qtd", date(2026, 6, 30)).start == date(2026, 4, 30)
    labels = [o["label"] for o in period_options(date(2026, 6, 30))]
    assert labels == ["Last 12 months", "Q2 FY2027 to date", "Q1 FY2027", "Fiscal year to date"]
    monkeypatch.setenv("CSOPS_FISCAL_YEAR_START_MONTH", "13")
    with pytest.raises(ValueError, match="CSOPS_FISCAL_YEAR_START_MONTH"):
        period_window("qtd", date(2026, 6, 30))
    monkeypatch.delenv("CSOPS_FISCAL_YEAR_START_MONTH")  # before the cache reads the settings


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(segment=("SMB",)), Filters(segment=("Enterprise",), tier=("named",))],
)
def test_bridge_on_demo_data(demo_db_path, use_db, filters):
    use_db(demo_db_path)
    db = get_database()
    as_of = snapshot_dates(db)[-1]
    for key in PERIODS:
        p = period_window(key, as_of)
        b = arr_bridge(db, filters, p.start, p.end)
        # Start and end are ARR(d) over every account, computed on their own.
        assert b["start"] == pytest.approx(arr_at(db, filters, p.start)["arr"], abs=CENT)
        assert b["end"] == pytest.approx(arr_at(db, filters, p.end)["arr"], abs=CENT)
        assert abs(identity(b) - b["end"]) < CENT, key  # to the cent
        assert b["start"] > 0, key
    # Over the trailing 12 months the cohort steps are the cards' numbers.
    t12m = period_window("t12m", as_of)
    b = arr_bridge(db, filters, t12m.start, t12m.end)
    assert min(b["new"], b["expansion"], b["contraction"], b["churned"]) > 0  # every step moves
    card = trailing_retention(db, filters, as_of)
    assert b["start"] == pytest.approx(card["start_arr"], abs=CENT)
    assert b["churned"] == pytest.approx(card["churned_arr"], abs=CENT)
    assert b["contraction"] == pytest.approx(card["contraction_arr"], abs=CENT)
    assert b["expansion"] == pytest.approx(card["expansion_arr"], abs=CENT)
    grr = (b["start"] - b["churned"] - b["contraction"]) / b["start"]
    assert grr == pytest.approx(card["grr"], abs=1e-12)


def test_bridge_figure_steps_drill_and_axis(db):
    period = period_window("t12m", AS_OF, 1)
    fig = bridge_figure(arr_bridge(db, Filters(), period.start, period.end), period)
    trace = fig["data"][0]
    assert (
        trace["x"][0] == "Start ARR<br>30 Jun 2025" and trace["x"][-1] == "End ARR<br>30 Jun 2026"
    )
    assert [c[0] for c in trace["customdata"]] == list(STEP_MOVEMENTS.values())
    assert trace["text"] == ["$680", "+$570", "+$50", "-$60", "-$100", "$1.1K"]
    assert "returning" in trace["customdata"][1][3]  # E came back: said on hover
    assert fig["layout"]["title"]["text"].startswith("ARR up 67.6% to $1.1K")  # 1,140 / 680
    assert fig["layout"]["yaxis"]["range"][0] == 0  # big moves: the axis starts at $0
    # Small moves beside a large ARR: the axis starts near the lowest level, and says so.
    small = {**arr_bridge(db, Filters(), period.start, period.end), "start": 10_000.0}
    small |= {"new": 50.0, "expansion": 20.0, "contraction": 10.0, "churned": 30.0}
    small["end"] = 10_030.0
    y_range, title = bridge_axis(small)
    assert 0 < y_range[0] < 10_000 and title["text"].startswith("Axis starts at $")
    # Billions read $2B, never d3's "2G".
    money = ("start", "new", "expansion", "contraction", "churned", "end", "reactivated")
    big = {k: v * 1e7 if k in money else v for k, v in small.items()}
    ticks = bridge_figure(big, period)["layout"]["yaxis"]["ticktext"]
    assert ticks and all("G" not in t for t in ticks) and any(t.endswith("B") for t in ticks)
    empty = arr_bridge(db, Filters(segment=("Nowhere",)), period.start, period.end)
    assert bridge_figure(empty, period)["data"] == []


# ---------------------------------------------------------------------------------------------
# Point in time: a view as of a past date uses only contracts known then


VIEW = date(2026, 3, 31)  # a weekly snapshot 13 weeks before the build's as-of date


def leak_tables(future: bool = False, past: bool = False) -> dict[str, list]:
    """The dataset; `future` changes every contract starting after VIEW (and adds a new logo
    and a return after it), `past` changes one contract that started before it."""
    accounts = [account(a, "SMB" if a in "ACD" else "Enterprise") for a in "ABCDEFH"]
    contracts = [
        contract("A", "2025-01-01", "2026-01-01", 100),
        contract("B", "2025-01-01", "2027-01-01", 200),
        contract("C", "2025-01-01", "2026-01-01", 300),
        contract("C", "2026-01-01", "2027-01-01", 240),
        contract("E", "2024-01-01", "2025-03-01", 40),
        contract("F", "2025-01-01", "2027-01-01", 81 if past else 80),
    ]
    if future:  # all after VIEW: an add-on, a new logo, a returning customer
        contracts += [
            contract("B", "2026-04-01", "2027-01-01", 50),
            contract("H", "2026-04-15", "2027-04-15", 500),
            contract("E", "2026-05-01", "2027-05-01", 70),
        ]
    return {"accounts": accounts, "contracts": contracts}


def answers(db) -> dict:
    out = {}
    for key in PERIODS:
        p = period_window(key, VIEW, 1)
        out[f"bridge-{key}"] = arr_bridge(db, Filters(), p.start, p.end)
        for movement in ("", "new", "churned", "expanded", "at_end"):
            since = p.start if key != "t12m" else None
            out[f"list-{key}-{movement}"] = retention_totals(db, Filters(), VIEW, movement, since)
    out["trend"] = retention_trend(db, Filters(), VIEW).to_dict("records")
    return out


def test_contracts_after_the_view_date_change_nothing_on_it(tmp_path):
    base = answers(build_tiny(tmp_path / "base", leak_tables(), AS_OF))
    future = answers(build_tiny(tmp_path / "future", leak_tables(future=True), AS_OF))
    past = answers(build_tiny(tmp_path / "past", leak_tables(past=True), AS_OF))
    assert base["bridge-t12m"]["churned"] == 100 and base["bridge-qtd"]["start"] > 0
    assert repr(future) == repr(base)  # NaN-safe comparison of every answer
    changed = {k for k in base if repr(base[k]) != repr(past[k])}
    assert {"bridge-t12m", "trend", "list-t12m-"} <= changed
