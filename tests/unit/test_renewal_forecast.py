"""The renewal forecast on hand-made renewals: the rates and their fallback, the expected ARR,
the 80% range, the CSMs' call and the gap, the projected fiscal-year GRR/NRR; every expected
number is worked out by hand in the comments."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from services.asof import earliest_complete_as_of
from services.filters import Filters
from services.renewal_forecast import (
    STORED_COLUMNS,
    Z80,
    _stored_dates,
    fiscal_year,
    fit_rates,
    forecast_gap,
    forecast_sql,
    history_since,
    model_settings,
    months_before,
    projected_retention,
    range_of,
    rate_levels,
    renewal_forecast,
    renewal_rates,
    resolve_rates,
)
from services.renewal_pipeline import horizon_end
from tests.unit.tiny import account, build_tiny, contract, touchpoints

BUILT = date(2026, 11, 20)  # a Friday: the weekly grid ends here, and so the forecast date


def renewal(
    rid: str,
    acc: str,
    on: date,
    arr_up: float,
    outcome: str = "open",
    renewed: float | None = None,
    closed: date | None = None,
    call: str | None = "commit",
    contract_id: str | None = None,
) -> dict:
    return {
        "renewal_id": rid,
        "account_id": acc,
        "contract_id": contract_id,
        "renewal_date": on.isoformat(),
        "arr_up_for_renewal": arr_up,
        "forecast_category": call,
        "outcome": outcome,
        "renewed_arr": renewed,
        "closed_date": (closed or on).isoformat() if outcome != "open" else None,
    }


# ---- the fallback rule, as a pure function ---------------------------------------------------------
def _groups(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["level", "segment", "band", "renewals", "arr_up", "retained"]
    )


def test_a_group_of_19_uses_its_segment_and_a_small_segment_the_overall_rate():
    groups = _groups(
        [
            ("group", "SMB", "green", 20, 2000.0, 1600.0),  # 0.8, n = 20: its own
            ("group", "SMB", "red", 19, 1900.0, 400.0),  # 0.21, n = 19: SMB's rate
            ("group", "SMB", None, 1, 100.0, 0.0),  # never scored: SMB's rate
            ("segment", "SMB", None, 40, 4000.0, 2000.0),  # 0.5
            ("group", "Mid-Market", "green", 5, 1000.0, 1000.0),
            ("segment", "Mid-Market", None, 5, 1000.0, 1000.0),  # n = 5: overall
            ("overall", None, None, 45, 5000.0, 3000.0),  # 0.6
        ]
    )
    rates = resolve_rates(groups, ["Mid-Market", "SMB"], BUILT, date(2024, 11, 20), 20)
    t = rates.table.set_index(["segment", rates.table["band"].fillna("none")])
    assert (t.loc[("SMB", "green"), "p"], t.loc[("SMB", "green"), "level"]) == (0.8, "group")
    assert t.loc[("SMB", "red"), "rate"] == pytest.approx(400 / 1900)  # shown, not used
    assert (t.loc[("SMB", "red"), "p"], t.loc[("SMB", "red"), "level"]) == (0.5, "segment")
    assert (t.loc[("SMB", "yellow"), "p"], t.loc[("SMB", "yellow"), "renewals"]) == (0.5, 0)
    assert (t.loc[("SMB", "none"), "p"], t.loc[("SMB", "none"), "level"]) == (0.5, "segment")
    for band in ("green", "red", "none"):  # Mid-Market's 5 renewals: the overall rate
        assert (t.loc[("Mid-Market", band), "p"], t.loc[("Mid-Market", band), "level"]) == (
            0.6,
            "overall",
        )
    assert rates.overall == 0.6 and rates.overall_renewals == 45


def test_no_closed_renewal_means_no_model():
    rates = resolve_rates(_groups([]), ["SMB"], BUILT, date(2024, 11, 20), 20)
    assert not rates.fitted and rates.table["p"].isna().all()


def test_the_range_of_three_renewals_by_hand():
    # 1,000 at 0.8, 500 at 0.5, 200 at 0.6: expected 800 + 250 + 120 = 1,170;
    # variance 1000²·.8·.2 + 500²·.5·.5 + 200²·.6·.4 = 160,000 + 62,500 + 9,600 = 232,100;
    # sd = 481.768; ± 1.28155 sd = ± 617.41 -> [552.59, 1,787.41], held under ARR up 1,700.
    low, high = range_of(1170.0, 232_100.0, 1700.0)
    assert low == pytest.approx(1170 - 1.2815515655 * math.sqrt(232_100))
    assert low == pytest.approx(552.59, abs=0.01)
    assert high == 1700.0
    # One renewal of 500 at 0.5: 250 ± 1.2816 × 250 = [-70, 570] -> [0, 500].
    assert range_of(250.0, 62_500.0, 500.0) == (0.0, 500.0)
    assert Z80 == pytest.approx(1.28155, abs=1e-5)


def test_dates():
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert history_since(BUILT, 8) == date(2024, 11, 20)
    assert fiscal_year(date(2026, 11, 20), 1).start == date(2026, 1, 1)
    fy = fiscal_year(date(2026, 1, 15), 2)  # February to January
    assert (fy.start, fy.end, fy.label) == (date(2025, 2, 1), date(2026, 2, 1), "FY2026")
    assert fiscal_year(date(2026, 2, 1), 2).label == "FY2027"
    assert fiscal_year(date(2026, 3, 3), 1).label == "2026"


# ---- the model on a database -----------------------------------------------------------------------
# SMB: 20 green renewals (15 renewed 100, 1 expanded 100 -> 150 counted 100, 4 churned, one of
# them with a renewed ARR that must not count): 1,600 / 2,000 = 0.8, n = 20: its own rate.
# 19 red renewals (3 renewed, 2 contracted 100 -> 50, 14 churned): 400 / 1,900, n = 19: SMB's.
# 1 SMB renewal closed on 1 Mar 2025, before health history reaches its scoring date: no band.
# SMB = (1,600 + 400 + 0) / 4,000 = 0.5. One more churned SMB renewal closed on 1 Nov 2024,
# before the 8 quarters (20 Nov 2024): left out, or SMB would be 2,000 / 4,100.
# Mid-Market: 5 renewals of 200, all renewed: n = 5 -> overall = 3,000 / 5,000 = 0.6.
# Open on 20 Nov 2026: G (SMB, green) 1,000 commit by C1 in Q1 2027 -> 800; R (SMB, red) 500 at
# risk by C1 in Q4 2026 -> 250; M (Mid-Market, green) 200 probable by C2 in Q2 2027 -> 120.
HIST_START = date(2025, 6, 5)


def _closed(prefix, n, segment, green, outcomes, arr, rows):
    for i in range(n):
        acc = f"{prefix}{i:02d}"
        on = HIST_START + timedelta(days=17 * i)
        outcome, renewed = outcomes[i]
        rows["accounts"].append(account(acc, segment, owner="C1"))
        start = on - timedelta(days=365)
        rows["contracts"].append(contract(acc, start.isoformat(), on.isoformat(), arr))
        rows["renewals"].append(
            renewal(f"R-{acc}", acc, on, arr, outcome, renewed, contract_id=f"K-{acc}-{start}")
        )
        if green:
            rows["touchpoints"] += touchpoints(acc, date(2024, 1, 1), BUILT)


@pytest.fixture(scope="module")
def model_db(tmp_path_factory):
    rows: dict[str, list] = {"accounts": [], "contracts": [], "renewals": [], "touchpoints": []}
    green = [("renewed", 100)] * 15 + [("expanded", 150)] + [("churned", None)] * 3
    green += [("churned", 100)]  # a churned row carrying a renewed ARR: kept 0
    red = [("renewed", 100)] * 3 + [("contracted", 50)] * 2 + [("churned", None)] * 14
    _closed("SG", 20, "SMB", True, green, 100, rows)
    _closed("SR", 19, "SMB", False, red, 100, rows)
    _closed("MM", 5, "Mid-Market", True, [("renewed", 200)] * 5, 200, rows)
    for acc, on, outcome in (
        ("SU", date(2025, 3, 1), "churned"),
        ("SO", date(2024, 11, 1), "churned"),
    ):
        rows["accounts"].append(account(acc, "SMB"))
        rows["contracts"].append(contract(acc, "2024-03-01", on.isoformat(), 100, 1, f"K-{acc}"))
        rows["renewals"].append(
            renewal(f"R-{acc}", acc, on, 100, outcome, None, contract_id=f"K-{acc}")
        )
    opens = (
        ("G", "SMB", "C1", date(2027, 2, 15), 1000, "commit", True),
        ("R", "SMB", "C1", date(2026, 12, 15), 500, "at_risk", False),
        ("M", "Mid-Market", "C2", date(2027, 5, 10), 200, "probable", True),
    )
    for acc, segment, owner, on, arr, call, green_band in opens:
        rows["accounts"].append(account(acc, segment, owner=owner))
        start = on - timedelta(days=365)
        rows["contracts"].append(
            contract(acc, start.isoformat(), on.isoformat(), arr, 1, f"K-{acc}")
        )
        rows["renewals"].append(
            renewal(f"R-{acc}", acc, on, arr, call=call, contract_id=f"K-{acc}")
        )
        if green_band:
            rows["touchpoints"] += touchpoints(acc, date(2024, 1, 1), BUILT)
    return build_tiny(tmp_path_factory.mktemp("forecast-model"), rows, BUILT)


def _rate(rates, segment, band):
    t = rates.table
    row = t[(t["segment"] == segment) & (t["band"].isna() if band is None else t["band"] == band)]
    return row.iloc[0]


def test_rates_from_the_database(model_db):
    rates = renewal_rates(model_db, Filters(), BUILT)
    green, red = _rate(rates, "SMB", "green"), _rate(rates, "SMB", "red")
    assert (green["renewals"], green["rate"], green["p"], green["level"]) == (20, 0.8, 0.8, "group")
    assert (red["renewals"], red["p"], red["level"]) == (19, 0.5, "segment")
    assert red["rate"] == pytest.approx(400 / 1900)
    assert _rate(rates, "SMB", None)["renewals"] == 1  # closed before its scoring snapshot
    assert green["segment_renewals"] == 40  # the renewal of Nov 2024 is out of the window
    mm = _rate(rates, "Mid-Market", "green")
    assert (mm["renewals"], mm["p"], mm["level"]) == (5, 0.6, "overall")
    assert rates.overall == pytest.approx(0.6) and rates.overall_renewals == 45


def test_the_view_does_not_refit_the_model(model_db):
    smb = renewal_rates(model_db, Filters(segment=("SMB",)), BUILT)
    assert smb.overall == pytest.approx(0.6)  # the company's rates, whatever the view


def test_expected_arr_range_call_and_gap_by_hand(model_db):
    fc = renewal_forecast(model_db, Filters(), BUILT)
    q = fc.quarters.set_index("label")
    assert list(q.index) == ["Overdue", "Q4 2026", "Q1 2027", "Q2 2027", "Q3 2027"]
    assert q.loc["Q4 2026", "expected"] == pytest.approx(250)  # R: 500 × 0.5 (SMB's rate)
    assert q.loc["Q1 2027", "expected"] == pytest.approx(800)  # G: 1,000 × 0.8
    assert q.loc["Q2 2027", "expected"] == pytest.approx(120)  # M: 200 × 0.6 (overall)
    assert (q.loc["Overdue", "renewals"], q.loc["Q3 2027", "expected"]) == (0, 0)
    # R alone: 250 ± 1.2816 × 250 -> [0, 500] (held within 0 and its ARR up)
    assert (q.loc["Q4 2026", "low"], q.loc["Q4 2026", "high"]) == (0.0, 500.0)
    # G alone: sd = √(1000² · 0.16) = 400; 800 ± 512.6 -> [287.4, 1,000 (capped)]
    assert q.loc["Q1 2027", "low"] == pytest.approx(800 - Z80 * 400)
    assert q.loc["Q1 2027", "high"] == 1000.0
    t = fc.total
    assert t["expected"] == pytest.approx(1170) and t["arr_up"] == 1700
    assert t["variance"] == pytest.approx(232_100)
    assert t["low"] == pytest.approx(1170 - Z80 * math.sqrt(232_100)) and t["high"] == 1700
    assert t["called"] == 1200  # G commit 1,000 + M probable 200; R at risk
    assert t["gap"] == pytest.approx(-30)
    levels = rate_levels(model_db, Filters(), BUILT).set_index("level")["renewals"].to_dict()
    assert levels == {"group": 1, "segment": 1, "overall": 1}


def test_gap_per_csm_and_team_largest_first(model_db):
    # C1: 800 + 250 = 1,050 vs call 1,000 -> +50; C2: 120 vs 200 -> -80 (first: |-80| > 50).
    gap = forecast_gap(model_db, Filters(), BUILT, "owner")
    assert gap["key"].tolist() == ["C2", "C1"]
    assert gap["gap"].tolist() == pytest.approx([-80, 50])
    assert gap["gap_share"].iloc[0] == pytest.approx(-80 / 200)
    teams = forecast_gap(model_db, Filters(), BUILT, "team").set_index("key")
    assert teams.loc["West", "gap"] == pytest.approx(-80)  # C2's team (tiny.py)
    only = forecast_gap(model_db, Filters(owner=("C1",)), BUILT, "owner")
    assert only["gap"].tolist() == pytest.approx([50])  # the same rates under a filter


# ---- stored (built with the database) and live: one definition ----------------------------------
def _records(df: pd.DataFrame) -> list[dict]:
    return [
        {
            k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
            for k, v in r.items()
        }
        for r in df.astype(object).to_dict("records")
    ]


def test_the_stored_forecast_is_the_live_one(model_db):
    stored = sorted(_stored_dates(model_db))
    # Stored for every date the as-of picker offers, and only those.
    assert stored[0] == earliest_complete_as_of(model_db) and stored[-1] == BUILT
    for day in (BUILT, stored[0]):
        live_rates = fit_rates(model_db.query, day, model_settings())
        kept = renewal_rates(model_db, Filters(), day)
        cols = ["segment", "band", "renewals", "rate", "p", "level"]
        order = ["segment", "band"]
        assert _records(kept.table[cols].sort_values(order, na_position="last")) == _records(
            live_rates.table[cols].sort_values(order, na_position="last")
        )
        assert (kept.overall, kept.overall_renewals) == (
            live_rates.overall,
            live_rates.overall_renewals,
        )
        sql, bind = forecast_sql(Filters(), day, live_rates, None, horizon_end(day))
        live = model_db.query(f"{sql} SELECT {STORED_COLUMNS} FROM forecast ORDER BY 1", bind)
        rows = model_db.query(
            f"SELECT {STORED_COLUMNS} FROM forecast_open WHERE snapshot_date = ? ORDER BY 1", [day]
        )
        assert len(rows) and _records(rows) == _records(live)


def test_a_date_not_stored_is_computed_live(model_db):
    day = date(2026, 4, 24)  # on the weekly grid, before the first date the picker offers
    assert day not in _stored_dates(model_db)
    fc = renewal_forecast(model_db, Filters(), day)
    assert fc.total["renewals"] > 0 and fc.fitted


# ---- projected fiscal-year GRR and NRR ------------------------------------------------------------
# All SMB, no health feed (no band): every renewal takes SMB's rate, fitted with a minimum of 1
# on H's contraction 100 -> 80 (closed 1 Jun 2026): r = 0.8. FY 2026 = 1 Jan 2026 to 1 Jan 2027.
# account  a0 (1 Jan)  now (20 Nov)  open renewal before 1 Jan 2027        projected
# H        100         80            -                                    80
# A        1,000       1,000         15 Dec, 1,000 in ARR: -1,000 × 0.2   800
# B        500         600 (add-on)  1 Mar 2027: after the FY             600
# C        200         0 (ended)     -                                    0
# E        300         0 (lapsed)    1 Nov overdue, no new contract: +300 × 0.8 = 240
# F        400         400 (renewed  10 Nov overdue, replaced by a running contract: 0  400
#                      backdated)
# G        50          50            1 Dec, no contract, not overdue: -50 × 0.2  40
# N        0 (new)     999           20 Dec: not in the cohort            -
# Σa0 = 2,550. To date: churned C + E = 500, contraction H 20, expansion B 100, Σ now = 2,130:
# GRR (2,550 − 520) / 2,550, NRR 2,130 / 2,550. Projected: Σ = 2,160, Σ min(a0, â1) = 80 + 800
# + 500 + 0 + 240 + 400 + 40 = 2,060: GRR 2,060 / 2,550, NRR 2,160 / 2,550. Loss 200 + 10,
# return 240, over 4 renewals (A, E, F, G).
@pytest.fixture(scope="module")
def fy_db(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("CSOPS_FORECAST_MIN_RENEWALS", "1")
    accs = ["H", "A", "B", "C", "E", "F", "G", "N"]
    contracts = [
        contract("H", "2025-06-01", "2026-06-01", 100, 1, "K-H1"),
        contract("H", "2026-06-01", "2027-06-01", 80, 1, "K-H2"),
        contract("A", "2025-12-15", "2026-12-15", 1000, 1, "K-A"),
        contract("B", "2025-03-01", "2027-03-01", 500, 1, "K-B"),
        contract("B", "2026-05-01", "2027-03-01", 100, 1, "K-B2"),
        contract("C", "2025-09-01", "2026-09-01", 200, 1, "K-C"),
        contract("E", "2025-11-01", "2026-11-01", 300, 1, "K-E"),
        contract("F", "2025-11-10", "2026-11-10", 400, 1, "K-F"),
        contract("F", "2026-11-10", "2027-11-10", 400, 1, "K-F2"),
        contract("G", "2025-01-01", "2027-01-01", 50, 1, "K-G"),
        contract("N", "2026-02-01", "2026-12-20", 999, 1, "K-N"),
    ]
    renewals = [
        renewal("R-H", "H", date(2026, 6, 1), 100, "contracted", 80, contract_id="K-H1"),
        renewal("R-A", "A", date(2026, 12, 15), 1000, contract_id="K-A"),
        renewal("R-B", "B", date(2027, 3, 1), 600, contract_id="K-B"),
        renewal("R-E", "E", date(2026, 11, 1), 300, contract_id="K-E"),
        renewal("R-F", "F", date(2026, 11, 10), 400, contract_id="K-F"),
        renewal("R-G", "G", date(2026, 12, 1), 50),
        renewal("R-N", "N", date(2026, 12, 20), 999, contract_id="K-N"),
    ]
    db = build_tiny(
        tmp_path_factory.mktemp("forecast-fy"),
        {"accounts": [account(a) for a in accs], "contracts": contracts, "renewals": renewals},
        BUILT,
    )
    yield db
    mp.undo()


def test_projected_grr_and_nrr_by_hand(fy_db):
    p = projected_retention(fy_db, Filters(), BUILT)
    assert (p["fy"].start, p["fy"].end) == (date(2026, 1, 1), date(2027, 1, 1))
    to_date, projected = p["to_date"], p["projected"]
    assert to_date["start_arr"] == 2550 and to_date["end_arr"] == 2130
    assert (to_date["churned_arr"], to_date["contraction_arr"]) == (500, 20)
    assert to_date["grr"] == pytest.approx(2030 / 2550)
    assert to_date["nrr"] == pytest.approx(2130 / 2550)
    assert projected["end_arr"] == pytest.approx(2160)
    assert projected["grr"] == pytest.approx(2060 / 2550)
    assert projected["nrr"] == pytest.approx(2160 / 2550)
    assert p["expected_loss"] == pytest.approx(210)
    assert p["expected_return"] == pytest.approx(240)
    assert p["renewals"] == 4


def test_projection_follows_the_filters(fy_db):
    # Owner C2 holds none of these accounts: an empty cohort, no ratio.
    p = projected_retention(fy_db, Filters(owner=("C2",)), BUILT)
    assert p["to_date"]["start_arr"] == 0 and p["projected"]["grr"] is None
