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
    # The team today (CSMs who left are in csms too: their end_date is past).
    csms = demo.query(
        "SELECT role, COUNT(*) AS n FROM csms WHERE end_date IS NULL GROUP BY role"
    ).set_index("role")["n"]
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


# ---- the CSM's calls week by week (renewal_forecast_history) --------------------------------


def _as_of(demo):
    return demo.scalar("SELECT MAX(as_of_date) FROM meta").date()


def test_the_last_week_of_an_open_renewal_is_its_call_today(demo):
    """Every open renewal has a row on the as-of date, equal to its own fields."""
    df = demo.query("""
        SELECT r.renewal_id, h.snapshot_date,
               h.forecast_category IS NOT DISTINCT FROM r.forecast_category AS same_call,
               h.risk_reason IS NOT DISTINCT FROM r.risk_reason AS same_reason,
               h.arr_up = r.arr_up_for_renewal AS same_arr
        FROM renewals r
        LEFT JOIN renewal_forecast_history h ON h.renewal_id = r.renewal_id
        WHERE r.outcome = 'open'
        QUALIFY ROW_NUMBER() OVER (PARTITION BY r.renewal_id ORDER BY h.snapshot_date DESC) = 1
    """)
    assert len(df) > 1000
    assert (df["snapshot_date"].dt.date == _as_of(demo)).all()
    assert df["same_call"].all() and df["same_reason"].all() and df["same_arr"].all()


def test_one_row_a_week_on_the_snapshot_grid_while_open_and_none_after(demo):
    """Rows fall on the health snapshots' weekly grid, every week from the contract's start (or
    the first week of the history) to the last week before the renewal closed (or the as-of
    date): no gap, no row once closed, none after the as-of date."""
    as_of = _as_of(demo)
    df = demo.query(
        """
        WITH span AS (
            SELECT renewal_id, MIN(snapshot_date) AS first, MAX(snapshot_date) AS last,
                   COUNT(*) AS weeks,
                   COUNT(*) FILTER (WHERE DATEDIFF('day', snapshot_date, ?) % 7 <> 0) AS off_grid
            FROM renewal_forecast_history GROUP BY renewal_id
        ), bounds AS (SELECT MIN(snapshot_date) AS grid0 FROM renewal_forecast_history)
        SELECT s.*, r.outcome, r.closed_date, c.start_date, b.grid0,
               -- the weeks the renewal was open: known (contract started), not closed
               (SELECT COUNT(*) FROM (SELECT unnest(generate_series(b.grid0, ?, INTERVAL 7 DAY))
                    AS d) g
                WHERE g.d >= c.start_date
                  AND (r.outcome = 'open' OR g.d < COALESCE(r.closed_date, r.renewal_date)))
                   AS open_weeks
        FROM span s JOIN renewals r USING (renewal_id)
        LEFT JOIN contracts c ON c.contract_id = r.contract_id
        CROSS JOIN bounds b
        """,
        [as_of, as_of],
    )
    assert (df["off_grid"] == 0).all()
    gapless = (df["last"] - df["first"]).dt.days // 7 + 1
    assert (gapless == df["weeks"]).all()
    assert (df["last"].dt.date <= as_of).all()
    closed = df[df["outcome"] != "open"]
    assert (closed["last"] < closed["closed_date"]).all()
    linked = df[df["start_date"].notna()]
    assert (linked["first"] >= linked["start_date"]).all()
    assert (linked["weeks"] == linked["open_weeks"]).all()
    # Renewals open on a history week but without any row: none (those with a contract).
    missing = demo.scalar(
        """
        SELECT COUNT(*) FROM renewals r JOIN contracts c ON c.contract_id = r.contract_id
        WHERE c.start_date <= ? AND (r.outcome = 'open' OR COALESCE(r.closed_date,
              r.renewal_date) > (SELECT MIN(snapshot_date) FROM renewal_forecast_history))
          AND r.renewal_id NOT IN (SELECT renewal_id FROM renewal_forecast_history)
          AND NOT (r.outcome <> 'open' AND COALESCE(r.closed_date, r.renewal_date) - c.start_date
                   < 7)
        """,
        [as_of],
    )
    assert missing == 0


def test_calls_move_toward_the_outcome_as_the_date_nears(demo):
    """Lost renewals are called at risk or churn more often near their date than months
    before; kept ones mostly commit or probable throughout; surprises both ways exist."""
    df = demo.query("""
        SELECT r.outcome IN ('churned', 'contracted') AS lost,
               r.renewal_date - h.snapshot_date <= 30 AS near,
               AVG(CASE WHEN h.forecast_category IN ('at_risk', 'churn') THEN 1.0 ELSE 0 END)
                   AS risky
        FROM renewal_forecast_history h JOIN renewals r USING (renewal_id)
        WHERE r.outcome <> 'open' AND (r.renewal_date - h.snapshot_date <= 30
              OR r.renewal_date - h.snapshot_date > 150)
        GROUP BY ALL
    """).set_index(["lost", "near"])["risky"]
    assert df[(True, True)] >= 2 * df[(True, False)]
    assert df[(True, True)] >= 0.5 and df[(False, False)] <= 0.15
    surprises = demo.query("""
        SELECT r.outcome, h.forecast_category FROM renewal_forecast_history h
        JOIN renewals r USING (renewal_id) WHERE r.outcome <> 'open'
        QUALIFY ROW_NUMBER() OVER (PARTITION BY h.renewal_id ORDER BY h.snapshot_date DESC) = 1
    """)
    assert ((surprises.outcome == "churned") & (surprises.forecast_category == "commit")).any()
    assert ((surprises.outcome == "renewed") & (surprises.forecast_category == "at_risk")).any()
    changed = demo.scalar("""
        SELECT AVG(CASE WHEN calls > 1 THEN 1.0 ELSE 0 END) FROM (
            SELECT renewal_id, COUNT(DISTINCT forecast_category) AS calls
            FROM renewal_forecast_history GROUP BY renewal_id)
    """)
    assert 0.2 <= changed <= 0.8
    reasons = demo.query("""
        SELECT forecast_category IN ('at_risk', 'churn') AS risky,
               AVG(CASE WHEN risk_reason IS NOT NULL THEN 1.0 ELSE 0 END) AS with_reason
        FROM renewal_forecast_history WHERE forecast_category IS NOT NULL GROUP BY 1
    """).set_index("risky")["with_reason"]
    assert reasons[False] == 0 and 0.8 <= reasons[True] < 1
    revised = demo.scalar("""
        SELECT COUNT(*) FROM (SELECT renewal_id FROM renewal_forecast_history
                              GROUP BY 1 HAVING COUNT(DISTINCT arr_up) > 1)
    """)
    assert revised > 100


def test_calls_are_known_at_each_of_the_last_four_quarter_starts(demo):
    """The forecast backtest asks for the call at each closed quarter's start: nearly every
    renewal due in the quarter and open at its start has one then."""
    as_of = _as_of(demo)
    q = demo.query(
        """
        WITH quarters AS (
            SELECT CAST(date_trunc('quarter', ?::DATE) - INTERVAL (3 * k) MONTH AS DATE) AS qs
            FROM range(1, 5) t(k)
        )
        SELECT q.qs, COUNT(*) AS renewals, COUNT(h.renewal_id) AS with_row,
               COUNT(h.forecast_category) AS called
        FROM quarters q JOIN renewals r
          ON r.renewal_date >= q.qs AND r.renewal_date < q.qs + INTERVAL 3 MONTH
        LEFT JOIN contracts c ON c.contract_id = r.contract_id
        ASOF LEFT JOIN renewal_forecast_history h
          ON h.renewal_id = r.renewal_id AND h.snapshot_date <= q.qs
        WHERE COALESCE(c.start_date, q.qs) <= q.qs - 7
          AND (r.outcome = 'open' OR COALESCE(r.closed_date, r.renewal_date) > q.qs)
        GROUP BY q.qs ORDER BY q.qs
        """,
        [as_of],
    )
    assert len(q) == 4 and (q["renewals"] >= 300).all()
    assert (q["with_row"] >= 0.97 * q["renewals"]).all()
    assert (q["called"] >= 0.85 * q["renewals"]).all()


def test_the_pipeline_has_what_a_real_crm_has(demo):
    """Overdue open renewals, renewals not linked to a contract, renewals not called yet."""
    as_of = _as_of(demo)
    row = demo.query(
        """
        SELECT COUNT(*) FILTER (WHERE renewal_date < ?) AS overdue,
               COUNT(*) FILTER (WHERE contract_id IS NULL) AS unlinked,
               COUNT(*) FILTER (WHERE forecast_category IS NULL) AS not_called,
               COUNT(*) AS open
        FROM renewals WHERE outcome = 'open'
        """,
        [as_of],
    ).iloc[0]
    assert 3 <= row["overdue"] <= 0.02 * row["open"]
    assert 10 <= row["unlinked"] <= 0.03 * row["open"]
    assert 0.02 * row["open"] <= row["not_called"] <= 0.25 * row["open"]
    # An overdue renewal's account is still a customer (its contract extended meanwhile).
    lapsed = demo.scalar(
        """
        SELECT COUNT(*) FROM renewals r WHERE r.outcome = 'open' AND r.renewal_date < ?
          AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.account_id = r.account_id
                          AND c.start_date <= ? AND ? < c.end_date)
        """,
        [as_of, as_of, as_of],
    )
    assert lapsed == 0


def test_the_share_called_at_risk_is_steady_week_to_week(demo):
    """Open renewals' calls today come from the same process as the history's: the share of
    open renewals called at risk or churn on the as-of date is that of the weeks before, not a
    jump in the last weeks."""
    weekly = demo.query("""
        SELECT snapshot_date,
               AVG(CASE WHEN forecast_category IN ('at_risk', 'churn') THEN 1.0 ELSE 0 END)
                   AS risky
        FROM renewal_forecast_history GROUP BY 1 ORDER BY 1 DESC LIMIT 27
    """)["risky"]
    today, before = weekly.iloc[0], weekly.iloc[1:].mean()
    assert 0.04 <= before <= 0.2
    assert abs(today - before) <= 0.2 * before
    assert abs(weekly.iloc[:6].mean() - before) <= 0.2 * before


# ---- staffing: leavers with open books, unowned accounts, part-timers, new hires ------------


def test_some_csms_left_recently_and_their_books_are_still_assigned_to_them(demo):
    """About 2 CSMs per 5,000 accounts left in the last ~4 months; their customers still name
    them as owner (open books), and none of their touchpoints is dated after they left. (CSMs
    who left earlier own nothing now: test_owner_history.)"""
    as_of = _as_of(demo)
    left = demo.query(
        """
        SELECT c.csm_id, c.hire_date, c.end_date,
               COUNT(a.account_id) FILTER (WHERE a.lifecycle_stage <> 'churned') AS customers
        FROM csms c LEFT JOIN accounts a ON a.owner_csm_id = c.csm_id
        WHERE c.end_date IS NOT NULL GROUP BY ALL HAVING COUNT(a.account_id) > 0
        """
    )
    assert 1 <= len(left) <= 4
    days_ago = left["end_date"].map(lambda d: (as_of - d.date()).days)
    assert days_ago.between(1, 130).all()
    assert (left["hire_date"] < left["end_date"]).all()
    assert (left["customers"] >= 5).all()
    late = demo.scalar(
        """
        SELECT COUNT(*) FROM touchpoints t JOIN csms c USING (csm_id)
        WHERE c.end_date IS NOT NULL AND t.occurred_at >= c.end_date + INTERVAL 1 DAY
        """
    )
    assert late == 0


def test_a_few_accounts_have_no_owner_mostly_pooled_and_tech_touch(demo):
    by_tier = demo.query(
        "SELECT coverage_tier, COUNT(*) AS n FROM accounts WHERE owner_csm_id IS NULL GROUP BY 1"
    ).set_index("coverage_tier")["n"]
    total = int(by_tier.sum())
    assert 0.003 * 5000 <= total <= 0.008 * 5000
    assert by_tier.get("pooled", 0) + by_tier.get("tech-touch", 0) >= 0.7 * total


def test_capacities_differ_part_timers_and_one_without_a_capacity_on_record(demo):
    caps = demo.query("SELECT capacity_points FROM csms WHERE role = 'CSM' AND end_date IS NULL")[
        "capacity_points"
    ]
    part_time = caps[(caps >= 60) & (caps <= 80)]
    assert 2 <= len(part_time) <= 5
    assert caps.isna().sum() >= 1
    assert (caps.dropna() <= 100).all()


def test_new_hires_of_the_last_60_days_have_small_books(demo):
    as_of = _as_of(demo)
    books = demo.query(
        """
        SELECT *, MEDIAN(accounts) OVER (PARTITION BY team) AS team_median FROM (
            SELECT c.csm_id, c.hire_date, c.team, COUNT(a.account_id) AS accounts
            FROM csms c LEFT JOIN accounts a ON a.owner_csm_id = c.csm_id
            WHERE c.role = 'CSM' AND c.end_date IS NULL GROUP BY ALL)
        """
    )
    assert demo.scalar("SELECT COUNT(*) FROM csms WHERE hire_date > ?", [as_of]) == 0
    new = books[books["hire_date"].map(lambda d: (as_of - d.date()).days <= 60)]
    assert 1 <= len(new) <= 3
    assert (new["accounts"] >= 1).all()
    assert (new["accounts"] <= 0.5 * new["team_median"]).all()
    # Touchpoints of the accounts they took over: theirs only from their hire date on.
    early = demo.scalar(
        """
        SELECT COUNT(*) FROM touchpoints t JOIN csms c USING (csm_id)
        WHERE c.hire_date > ? - INTERVAL 60 DAY AND t.occurred_at < c.hire_date
        """,
        [as_of],
    )
    assert early == 0
