"""Retention trend: trailing-12-month GRR/NRR per month end, by segment, against hand-computed
points, the direct query and the card."""

from datetime import date

import pandas as pd
import pytest

from components.renewals_trend import trend_figure
from services.asof import snapshot_dates
from services.db import get_database
from services.filters import Filters
from services.retention import cohort_movement, trailing_retention
from services.retention_trend import (
    TOTAL,
    cube_month_ends,
    month_end,
    months_back,
    retention_trend,
    trend_dates,
)
from services.sql_fragments import year_before
from tests.unit.tiny import account, build_tiny, contract

AS_OF = date(2026, 6, 30)  # a month end and the build's as-of (the last weekly snapshot)


@pytest.fixture
def db(tmp_path):
    accounts = [account("A", "SMB"), account("B", "Enterprise"), account("C", "SMB")]
    contracts = [
        # A pays 100 from 2024-01-01 and churns: its contract's last day is 2025-12-31.
        contract("A", "2024-01-01", "2026-01-01", 100),
        # B pays 200 from 2024-01-01 and expands by an add-on of 50 from 2025-10-01.
        contract("B", "2024-01-01", "2027-01-01", 200),
        contract("B", "2025-10-01", "2027-01-01", 50),
        # C is a new logo in March 2026: never in a cohort of this trend.
        contract("C", "2026-03-01", "2027-03-01", 500),
    ]
    return build_tiny(tmp_path, {"accounts": accounts, "contracts": contracts}, AS_OF)


def point(df, segment, day):
    row = df[(df.segment == segment) & (df.point_date == day)]
    assert len(row) == 1, (segment, day)
    return row.iloc[0]


def test_points_are_month_ends_then_the_as_of_date():
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert months_back(date(2026, 1, 15), 1) == date(2025, 12, 31)
    assert months_back(date(2026, 3, 31), 13) == date(2025, 2, 28)
    dates = trend_dates(date(2026, 11, 20))
    assert len(dates) == 24  # 8 quarters of monthly points
    assert dates[0] == date(2024, 12, 31) and dates[-2] == date(2026, 10, 31)
    assert dates[-1] == date(2026, 11, 20)  # the as-of date itself, mid-month
    assert trend_dates(AS_OF)[-2:] == [date(2026, 5, 31), AS_OF]  # a month end once only
    # The build covers every month-end point of every date the views offer (>= first snapshot).
    ends = cube_month_ends(date(2025, 2, 21), date(2026, 11, 20))
    assert ends[0] == date(2023, 3, 31) and ends[-1] == date(2026, 10, 31)
    assert set(trend_dates(date(2025, 2, 21))[:-1]) <= set(ends)


def test_hand_computed_points(db):
    df = retention_trend(db, Filters(), AS_OF)
    assert list(df.point_date.unique()) == trend_dates(AS_OF)
    assert list(df.segment.unique()) == [TOTAL, "Enterprise", "SMB"]
    # 30 Jun 2026 (cohort on 30 Jun 2025: A 100, B 200): A churned, B expanded 200 -> 250.
    p = point(df, TOTAL, AS_OF)
    assert (p.start_arr, p.churned_arr, p.expansion_arr, p.end_arr) == (300, 100, 50, 250)
    assert p.grr == pytest.approx(200 / 300) and p.nrr == pytest.approx(250 / 300)
    # 31 Dec 2025 (cohort on 31 Dec 2024): A still pays on its last day; B expanded.
    p = point(df, TOTAL, date(2025, 12, 31))
    assert p.grr == pytest.approx(1.0) and p.nrr == pytest.approx(350 / 300)
    # 31 Jan 2026: A's 100 has churned.
    p = point(df, TOTAL, date(2026, 1, 31))
    assert p.grr == pytest.approx(200 / 300) and p.nrr == pytest.approx(250 / 300)
    # 30 Sep 2025: nothing moved yet; 31 Oct 2025: B's add-on counts.
    assert point(df, TOTAL, date(2025, 9, 30)).nrr == pytest.approx(1.0)
    assert point(df, TOTAL, date(2025, 10, 31)).nrr == pytest.approx(350 / 300)
    # 31 Dec 2024: nobody paid on 31 Dec 2023, so there is no cohort (a gap, not a zero).
    p = point(df, TOTAL, date(2024, 12, 31))
    assert p.start_arr == 0 and pd.isna(p.grr) and pd.isna(p.nrr)
    # Per segment on the as-of date: SMB is A alone (C is a new logo), Enterprise is B.
    assert point(df, "SMB", AS_OF).grr == pytest.approx(0.0)
    assert point(df, "SMB", AS_OF).start_arr == 100
    ent = point(df, "Enterprise", AS_OF)
    assert ent.grr == pytest.approx(1.0) and ent.nrr == pytest.approx(250 / 200)


def test_last_point_is_the_card_and_filters_apply(db):
    for filters in (Filters(), Filters(segment=("Enterprise",)), Filters(owner=("C2",))):
        df = retention_trend(db, filters, AS_OF)
        card = trailing_retention(db, filters, AS_OF)
        last = point(df, TOTAL, AS_OF)
        for key in ("grr", "nrr"):
            assert (pd.isna(last[key]) and card[key] is None) or last[key] == card[key]
    smb = retention_trend(db, Filters(segment=("SMB",)), AS_OF)
    assert set(smb.segment) == {TOTAL, "SMB"}
    assert point(smb, TOTAL, date(2026, 1, 31)).grr == pytest.approx(0.0)
    nobody = retention_trend(db, Filters(owner=("C2",)), AS_OF)  # every account is C1's
    assert list(nobody.segment.unique()) == [TOTAL] and nobody.grr.isna().all()


def test_an_earlier_as_of_has_no_later_point(db):
    earlier = date(2026, 6, 23)  # the weekly snapshot before AS_OF
    assert earlier in snapshot_dates(db)
    df = retention_trend(db, Filters(), earlier)
    assert df.point_date.max() == earlier
    assert trend_dates(earlier)[-2] == date(2026, 5, 31)
    p = point(df, TOTAL, earlier)  # cohort on 23 Jun 2025: A churned, B expanded
    assert p.grr == pytest.approx(200 / 300)
    assert p.grr == trailing_retention(db, Filters(), earlier)["grr"]


def test_off_the_grid_the_point_comes_from_contracts(db):
    day = date(2026, 6, 27)  # not a snapshot date
    p = point(retention_trend(db, Filters(), day), TOTAL, day)
    assert p.grr == pytest.approx(200 / 300) and p.start_arr == 300
    assert p.grr == trailing_retention(db, Filters(), day)["grr"]


@pytest.mark.parametrize(
    "filters", [Filters(), Filters(segment=("Enterprise",)), Filters(region=("EMEA",))]
)
def test_trend_matches_the_direct_query_and_the_card_on_demo_data(demo_db_path, use_db, filters):
    use_db(demo_db_path)
    db = get_database()
    as_of = snapshot_dates(db)[-1]
    df = retention_trend(db, filters, as_of)
    dates = trend_dates(as_of)
    assert df.point_date.max() == as_of and len(df[df.segment == TOTAL]) == 24
    # Month ends from the build-time cube = the same cohort computed from contracts now.
    for day in (dates[0], dates[11], dates[-2]):
        direct = cohort_movement(db, filters, year_before(day), day, by="segment")
        direct = direct.set_index("grp")
        for segment in direct.index:
            p = point(df, segment, day)
            for key in ("start_arr", "churned_arr", "contraction_arr", "expansion_arr"):
                assert p[key] == pytest.approx(direct.loc[segment, key]), (day, segment, key)
            assert p.grr == pytest.approx(direct.loc[segment, "grr"])
        total = cohort_movement(db, filters, year_before(day), day).iloc[0]
        assert point(df, TOTAL, day).nrr == pytest.approx(total.nrr)
    # The last point of the total line is the card's value exactly.
    card = trailing_retention(db, filters, as_of)
    assert point(df, TOTAL, as_of).grr == card["grr"]
    assert point(df, TOTAL, as_of).nrr == card["nrr"]
    # Segments on the as-of date add up to the total.
    segments = df[(df.segment != TOTAL) & (df.point_date == as_of)]
    assert segments.start_arr.sum() == pytest.approx(point(df, TOTAL, as_of).start_arr)


def test_trend_figure_labels_the_latest_values(db):
    df = retention_trend(db, Filters(), AS_OF)
    fig = trend_figure(df, "grr")
    names = [t["name"] for t in fig["data"]]
    assert names == [TOTAL, "Enterprise", "SMB"]
    total = fig["data"][0]
    assert total["x"][-1] == AS_OF.isoformat() and total["y"][-1] == pytest.approx(200 / 300)
    assert total["y"][0] is None  # no cohort yet: a gap, not 0%
    labels = sorted(a["text"] for a in fig["layout"]["annotations"])
    assert labels == ["0.0%", "100.0%", "<b>66.7%</b>"]  # SMB, Enterprise, the total in bold
    title = fig["layout"]["title"]["text"]
    assert title.startswith("GRR 66.7% over the 12 months to 30 Jun 2026")
    assert "down 33.3 pts since 30 Jun 2025" in title  # 100% a year earlier (nothing moved)
    assert fig["layout"]["yaxis"]["tickformat"] == ".0%"
    assert trend_figure(df, "nrr")["layout"]["title"]["text"].startswith("NRR 83.3%")
    # One segment under the filters: its line is the total, drawn once.
    smb = trend_figure(retention_trend(db, Filters(segment=("SMB",)), AS_OF), "grr")
    assert [t["name"] for t in smb["data"]] == [TOTAL]
    nobody = trend_figure(retention_trend(db, Filters(owner=("C2",)), AS_OF), "grr")
    assert (
        nobody["data"] == []
        and "No customers under these filters" in nobody["layout"]["annotations"][0]["text"]
    )
