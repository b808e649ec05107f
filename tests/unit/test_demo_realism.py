"""The default demo (5,000 accounts) looks like a real B2B SaaS base."""

import pytest

from services.asof import resolve_as_of
from services.db import Database
from services.filters import Filters
from services.health_backtest import backtest
from services.retention import trailing_retention

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def demo(demo_db_path):
    return Database(demo_db_path)


def test_size_matches_the_spec(demo):
    assert demo.scalar("SELECT COUNT(*) FROM accounts") == 5000
    csms = demo.query("SELECT role, COUNT(*) AS n FROM csms GROUP BY role").set_index("role")["n"]
    assert 40 <= csms["CSM"] + csms["Manager"] <= 50 and csms["Manager"] == 6
    assert demo.scalar("SELECT COUNT(DISTINCT team) FROM csms WHERE role = 'CSM'") == 6
    span = demo.query(
        "SELECT MIN(start_date) AS first, MAX(day) AS last FROM contracts, "
        "(SELECT MAX(day) AS day FROM usage_daily)"
    )
    assert (span.at[0, "last"] - span.at[0, "first"]).days >= 3 * 365
    usage_days = demo.scalar("SELECT DATEDIFF('day', MIN(day), MAX(day)) FROM usage_daily")
    assert usage_days >= 540  # 18 months
    open_quarters = demo.scalar(
        "SELECT COUNT(DISTINCT date_trunc('quarter', renewal_date)) "
        "FROM renewals WHERE outcome = 'open'"
    )
    assert open_quarters >= 4


def test_retention_in_a_realistic_range(demo):
    as_of = resolve_as_of(demo, Filters()).date
    r = trailing_retention(demo, Filters(), as_of)
    assert 0.85 <= r["grr"] <= 0.95
    assert 1.00 <= r["nrr"] <= 1.15


def test_red_accounts_lose_at_least_three_times_as_often_as_green(demo):
    by = backtest(demo, Filters(), resolve_as_of(demo, Filters()).date).by_band.set_index("band")
    assert by.loc["red", "rate_count"] >= 3 * by.loc["green", "rate_count"]
    assert by.loc["red", "rate_arr"] >= 3 * by.loc["green", "rate_arr"]
    assert by.loc["red", "renewals"] >= 30


def test_renewals_cluster_at_quarter_ends(demo):
    share = demo.scalar(
        "SELECT AVG(CASE WHEN month(renewal_date) IN (3, 6, 9, 12) THEN 1 ELSE 0 END) FROM renewals"
    )
    assert share >= 0.5  # a uniform calendar would give 1/3


def test_arr_is_heavy_tailed(demo):
    medians = demo.query(
        "SELECT a.segment, MEDIAN(c.arr) AS arr FROM contracts c JOIN accounts a USING (account_id) "
        "GROUP BY 1"
    ).set_index("segment")["arr"]
    assert medians["Enterprise"] >= 10 * medians["SMB"]


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(segment=("SMB",)), Filters(team=("Scale Digital",), region=("EMEA",))],
)
def test_build_time_aggregates_agree_with_the_direct_queries(demo, filters):
    from services.account_list import account_totals
    from services.filters import AccountDrill
    from services.health import health_summary
    from services.retention import cohort_movement, year_before

    as_of = resolve_as_of(demo, Filters()).date
    cube = trailing_retention(demo, filters, as_of)
    direct = cohort_movement(demo, filters, year_before(as_of), as_of).iloc[0]
    for key in ("grr", "nrr", "logo_retention", "churned_arr", "expansion_arr"):
        assert cube[key] == pytest.approx(float(direct[key]))
    summary = health_summary(demo, filters, as_of)
    listed = account_totals(demo, filters, AccountDrill(), as_of)
    assert (summary["accounts"], summary["arr"]) == (
        listed["accounts"],
        pytest.approx(listed["arr"]),
    )
