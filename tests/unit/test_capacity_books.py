"""Books of business (services/capacity_books.py) on a tiny, hand-made portfolio.

The model in these tests (not the defaults, so every number below is small):
points Enterprise/named 4, Mid-Market/named 2, SMB/pooled 1, SMB/tech-touch 0.5; red x2,
yellow x1.5; capacity default 20; target 80%; over-loaded above 110%, under-loaded below 70%.

On D (30 Jun 2026), a customer is an account with a health row that day (ARR > 0):

  account  segment     tier        owner  ARR   band    points
  A1       Enterprise  named       C1     1000  red     4 x 2   = 8
  A2       SMB         pooled      C1      100  green   1
  A3       Mid-Market  named       C1      300  yellow  2 x 1.5 = 3
  A4       Mid-Market  named       C2      400  green   2
  A5       SMB         tech-touch  C2       50  red     0.5 x 2 = 1
  A6       Enterprise  named       C3     2000  green   4       (C3 left 15 May: open book)
  A7       SMB         pooled      -        80  yellow  1 x 1.5 = 1.5   (no owner)
  A9       SMB         pooled      C5       60  green   1       (C5 hired 1 Jun: new hire)
  A10      SMB         pooled      C1        -  -       -       (no health row: not a customer)
  A11      Enterprise  named       M1      500  green   4       (M1 is a manager)

CSMs: C1 East capacity 10; C2 East no capacity on record (default 20); C3 West left;
C4 West capacity 8 and no accounts; C5 West capacity 10; C6 West hired after D.
"""

from dataclasses import replace
from datetime import date

import duckdb
import pytest

from services.account_list import account_totals
from services.build import create_health_aggregates, create_health_by_account
from services.capacity_books import (
    NO_OWNER,
    UNASSIGNED_TEAM,
    apply_workload_form,
    books_page,
    books_summary,
    books_view,
    csm_books,
    read_workload_form,
    rollup_total,
    team_rollup,
    tier_targets,
)
from services.db import Database
from services.filters import AccountDrill, Filters
from services.workload import WorkloadParams, points_key
from tests.unit.tiny import account, build_tiny

D = date(2026, 6, 30)


def csm(csm_id, name, team, capacity, hire="2020-01-01", end=None, role="CSM"):
    return {
        "csm_id": csm_id,
        "name": name,
        "team": team,
        "role": role,
        "region": "NA",
        "hire_date": hire,
        "end_date": end,
        "capacity_points": capacity,
    }


CSMS = [
    csm("C1", "Ana Adams", "East", 10),
    csm("C2", "Ben Baker", "East", None),
    csm("C3", "Cy Chen", "West", 10, end="2026-05-15"),
    csm("C4", "Di Diaz", "West", 8),
    csm("C5", "Ed Evans", "West", 10, hire="2026-06-01"),
    csm("C6", "Fay Fox", "West", 10, hire="2026-09-01"),
    csm("M1", "Mo Moss", "East", 0, role="Manager"),
]
ACCOUNTS = [
    ("A1", "Enterprise", "named", "C1", 1000, "red"),
    ("A2", "SMB", "pooled", "C1", 100, "green"),
    ("A3", "Mid-Market", "named", "C1", 300, "yellow"),
    ("A4", "Mid-Market", "named", "C2", 400, "green"),
    ("A5", "SMB", "tech-touch", "C2", 50, "red"),
    ("A6", "Enterprise", "named", "C3", 2000, "green"),
    ("A7", "SMB", "pooled", None, 80, "yellow"),
    ("A9", "SMB", "pooled", "C5", 60, "green"),
    ("A10", "SMB", "pooled", "C1", None, None),
    ("A11", "Enterprise", "named", "M1", 500, "green"),
]


def model(**changes) -> WorkloadParams:
    base = WorkloadParams.defaults()
    points = {
        ("Enterprise", "named"): 4.0,
        ("Mid-Market", "named"): 2.0,
        ("SMB", "pooled"): 1.0,
        ("SMB", "tech-touch"): 0.5,
    }
    settings = {
        "points": tuple((s, t, points.get((s, t), p)) for s, t, p in base.points),
        "weigh_health": True,
        "red_weight": 2.0,
        "yellow_weight": 1.5,
        "capacity_points": 20.0,
        "target_utilisation": 0.8,
        "overloaded_above": 1.1,
        "underloaded_below": 0.7,
    }
    return replace(base, **{**settings, **changes})


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("books")
    accounts = [account(a, seg, tier, owner=o) for a, seg, tier, o, _, _ in ACCOUNTS]
    built = build_tiny(tmp, {"csms": CSMS, "accounts": accounts}, D)
    rows = [
        (D, a, arr, 10, None, None, None, None, None, 50.0, band, None)
        for a, _, _, _, arr, band in ACCOUNTS
        if arr is not None
    ]
    con = duckdb.connect(str(built.path))
    con.execute("DELETE FROM health_snapshots")
    con.executemany(
        "INSERT INTO health_snapshots (snapshot_date, account_id, arr, seats, usage_score, "
        "trend_score, support_score, sentiment_score, engagement_score, health_score, band, "
        "missing_inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    create_health_aggregates(con)
    create_health_by_account(con)
    con.close()
    return Database(built.path)


@pytest.fixture(scope="module")
def books(db):
    return csm_books(db, Filters(), D, model()).set_index("book_id")


def test_utilisation_weighs_health_and_flags_the_lines(books):
    c1 = books.loc["C1"]
    # A1 red 4 x 2 = 8, A2 green 1, A3 yellow 2 x 1.5 = 3: 12 points over capacity 10.
    assert (c1.accounts, c1.arr, c1.points, c1.capacity) == (3, 1400, pytest.approx(12), 10)
    assert c1.utilisation == pytest.approx(1.2) and c1.flag == "over"
    assert c1.red_accounts == 1 and c1.kind == "csm" and not c1.capacity_default
    # By segment x tier: 1 Enterprise named, 1 Mid-Market named, 1 SMB pooled.
    assert (c1.n_ent_named, c1.n_mm_named, c1.n_smb_pooled, c1.n_smb_tech) == (1, 1, 1, 0)
    assert (c1.n_named, c1.n_pooled, c1.n_tech_touch) == (2, 1, 0)


def test_health_weights_off_count_every_account_at_its_base_points(db):
    c1 = csm_books(db, Filters(), D, model(weigh_health=False)).set_index("book_id").loc["C1"]
    # 4 + 1 + 2 = 7 over 10 = 70%: on the under-loaded line, not below it.
    assert c1.points == pytest.approx(7) and c1.utilisation == pytest.approx(0.7)
    assert c1.flag == "ok"


def test_a_csm_without_capacity_on_record_uses_the_default(books):
    c2 = books.loc["C2"]
    # A4 green 2 + A5 red 0.5 x 2 = 1: 3 points over the default 20 = 15%.
    assert c2.capacity == 20 and c2.capacity_default
    assert c2.utilisation == pytest.approx(0.15) and c2.flag == "under"


def test_a_departed_csms_accounts_are_an_open_book(books):
    c3 = books.loc["C3"]
    assert (c3.kind, c3.state, c3.flag) == ("open", "departed", "open")
    assert c3.end_date.date() == date(2026, 5, 15)
    assert (c3.accounts, c3.arr, c3.points, c3.capacity) == (1, 2000, 4, 0)
    assert c3.utilisation != c3.utilisation  # none: nobody carries it


def test_accounts_without_an_owner_are_one_row(books):
    none = books.loc[NO_OWNER]
    assert (none.kind, none.state, none.accounts, none.arr) == ("none", "missing", 1, 80)
    assert none.points == pytest.approx(1.5)  # SMB pooled 1, yellow x 1.5


def test_a_csm_with_no_accounts_is_at_zero_and_under_loaded(books):
    c4 = books.loc["C4"]
    assert (c4.accounts, c4.points, c4.capacity) == (0, 0, 8)
    assert c4.utilisation == 0 and c4.flag == "under"


def test_new_hires_managers_and_future_hires(books):
    c5 = books.loc["C5"]
    assert c5.new_hire and c5.utilisation == pytest.approx(0.1) and c5.flag == "under"
    assert not books.loc["C1"].new_hire
    m1 = books.loc["M1"]  # owns an account but is not a CSM: shown, not counted as one
    assert (m1.kind, m1.accounts, m1.points, m1.capacity) == ("other", 1, 4, 0)
    assert "C6" not in books.index  # hired after D, no accounts
    assert "A10" not in set(books.index)  # (not a customer: no health row)


def test_open_books_come_first_then_csms_by_utilisation(books):
    assert list(books.index) == ["C3", NO_OWNER, "M1", "C1", "C2", "C5", "C4"]


def test_summary(books):
    s = books_summary(books.reset_index())
    # Active CSMs C1, C2, C4, C5: capacity 10 + 20 + 8 + 10 = 48.
    assert (s.csms, s.capacity) == (4, 48)
    # Every point: 12 + 3 + 4 (open) + 1.5 (no owner) + 1 + 4 (manager) = 25.5.
    assert s.points == pytest.approx(25.5) and s.points_carried == pytest.approx(16)
    assert s.utilisation == pytest.approx(25.5 / 48)
    assert s.utilisation_carried == pytest.approx(16 / 48)
    assert (s.overloaded, s.underloaded, s.underloaded_new_hires) == (1, 3, 1)
    # 9 customers: 1000 + 100 + 300 + 400 + 50 + 2000 + 80 + 60 + 500 = 4490.
    assert (s.accounts, s.arr) == (9, 4490)
    assert (s.open_accounts, s.open_arr) == (2, 2080)
    assert (s.departed_with_books, s.unowned_accounts) == (1, 1)
    assert s.arr_per_csm == pytest.approx(4490 / 4)


def test_coverage_targets_come_from_the_model(books):
    t = tier_targets(books.reset_index(), model())
    # Named: A1 8, A3 3, A4 2, A6 4, A11 4 = 21 points over 5 accounts = 4.2;
    # a CSM at target carries 20 x 80% = 16 points: 16 / 4.2 named accounts.
    assert t["named"].accounts == 5 and t["named"].avg_points == pytest.approx(4.2)
    assert t["named"].accounts_per_csm == pytest.approx(16 / 4.2)
    # Pooled: A2 1, A7 1.5, A9 1 = 3.5 over 3; tech-touch: A5 1 over 1.
    assert t["pooled"].accounts_per_csm == pytest.approx(16 / (3.5 / 3))
    assert t["tech-touch"].accounts_per_csm == pytest.approx(16)


def test_team_rollup(books):
    teams = team_rollup(books.reset_index(), model()).set_index("team", drop=False)
    east = teams.loc["East"]
    # C1, C2 and the manager's account: 3 + 2 + 1 accounts, 12 + 3 + 4 points over 10 + 20.
    assert (east.csms, east.accounts, east.arr) == (2, 6, 2350)
    assert east.utilisation == pytest.approx(19 / 30)
    assert (east.over, east.under, east.open_accounts) == (1, 1, 0)
    assert east.arr_per_csm == pytest.approx(2350 / 2)
    assert east.per_csm_named == pytest.approx(4 / 2)  # A1, A3, A4, A11
    west = teams.loc["West"]
    # C3's open book (4 points) and C5's 1 point over C4 8 + C5 10.
    assert (west.csms, west.accounts, west.open_accounts) == (2, 2, 1)
    assert west.utilisation == pytest.approx(5 / 18)
    assert (west.over, west.under) == (0, 2)
    unowned = teams[teams["team"].isna()].iloc[0]
    assert (unowned.csms, unowned.accounts, unowned.open_accounts) == (0, 1, 1)
    assert unowned.utilisation != unowned.utilisation
    assert list(teams["team"].fillna("-")) == ["East", "West", "-"]  # by utilisation
    total = rollup_total(teams)
    assert (total["csms"], total["accounts"]) == (4, 9)
    assert total["utilisation"] == pytest.approx(25.5 / 48)


def test_filters_narrow_the_books(db):
    west = csm_books(db, Filters(team=("West",)), D, model()).set_index("book_id")
    # West's accounts (A6, A9) and CSMs employed on D (C4, C5), plus C3's open book.
    assert list(west.index) == ["C3", "C5", "C4"]
    assert books_summary(west.reset_index()).utilisation == pytest.approx(5 / 18)
    smb = csm_books(db, Filters(segment=("SMB",)), D, model()).set_index("book_id")
    # A segment filter keeps the owners of its accounts only (C4 owns none).
    assert set(smb.index) == {"C1", "C2", "C5", NO_OWNER}
    assert smb.loc["C1"].points == pytest.approx(1) and smb.loc["C2"].points == pytest.approx(1)
    only_c4 = csm_books(db, Filters(owner=("C4",)), D, model())
    assert list(only_c4["book_id"]) == ["C4"] and only_c4.iloc[0]["utilisation"] == 0


def test_a_scope_without_csms_or_without_anything(db):
    unassigned = csm_books(db, Filters(team=(UNASSIGNED_TEAM,)), D, model())
    assert list(unassigned["book_id"]) == [NO_OWNER]  # A7 alone, no CSM in that "team"
    s = books_summary(unassigned)
    assert (s.csms, s.accounts, s.open_accounts, s.utilisation) == (0, 1, 1, None)
    nothing = csm_books(db, Filters(segment=("Mid-Market",), tier=("tech-touch",)), D, model())
    assert nothing.empty and "utilisation" in nothing.columns
    s = books_summary(nothing)
    assert (s.csms, s.accounts, s.points, s.arr_per_csm) == (0, 0, 0, None)
    assert team_rollup(nothing, model()).empty
    assert tier_targets(nothing, model())["named"].accounts_per_csm is None


def test_a_book_drills_to_the_same_accounts(db, books):
    """The Accounts list the page opens for a book counts what the book counts."""
    for book_id in ("C1", "C2", "C3", "C5"):
        listed = account_totals(db, Filters(owner=(book_id,)), AccountDrill(), D)
        assert listed["accounts"] == books.loc[book_id].accounts
        assert listed["arr"] == pytest.approx(books.loc[book_id].arr)
    unowned = account_totals(db, Filters(team=(UNASSIGNED_TEAM,)), AccountDrill(), D)
    assert unowned["accounts"] == books.loc[NO_OWNER].accounts


def test_books_page_sorts_on_the_server(books):
    df = books.reset_index()
    by_util = books_page(df, (("utilisation", "desc"),), 0, 3)
    assert list(by_util["book_id"]) == ["C1", "C2", "C5"]  # books without one come last
    by_arr = books_page(df, (("arr", "asc"),), 1, 2)
    assert list(by_arr["book_id"]) == ["C5", NO_OWNER]  # 0 (C4), then 60, 80
    by_flag = books_page(df, (("flag", "asc"),), 0, 10)
    assert list(by_flag["flag"])[:3] == ["open", "none", "over"]


def test_the_editor_keeps_the_last_good_value_of_a_bad_field():
    key = points_key("Enterprise", "named")
    previous = {key: "5"}
    params, errors = apply_workload_form({key: "abc", "tu": "90"}, previous)
    assert key in errors and "not a number" in errors[key]
    assert params.points_for("Enterprise", "named") == 5  # the previous value, not the default
    assert params.target_utilisation == pytest.approx(0.9)  # the good field is applied
    params, errors = apply_workload_form({key: ""}, previous)
    assert "enter a number" in errors[key] and params.points_for("Enterprise", "named") == 5
    params, errors = apply_workload_form({"over": "60", "under": "80"}, {})
    assert "under" in errors  # the lines crossed: neither is applied
    assert params.underloaded_below < params.overloaded_above
    params, errors = apply_workload_form({"cap": "-3"}, {})
    assert "cap" in errors and params.capacity_points == WorkloadParams.defaults().capacity_points


def test_the_chart_has_an_axis_when_no_csm_has_a_utilisation(books):
    """Every active CSM with a capacity of 0 on record: no utilisation, and still a finite
    axis (NaN would reach the browser). The axis then stops at the over-loaded line x 1.12."""
    from components.capacity_books import utilisation_figure

    df = books.reset_index()
    active = df["kind"] == "csm"
    df.loc[active, "capacity"] = 0.0
    df.loc[active, "utilisation"] = float("nan")
    fig = utilisation_figure(df, books_summary(df), model())
    low, high = fig["layout"]["yaxis"]["range"]
    assert (low, high) == (0, pytest.approx(1.1 * 1.12))


def test_the_tab_view_holds_what_the_tab_draws(db):
    """One call gives the books tab everything: the same numbers as the parts computed one by
    one, and the roll-up's company line pinned under the teams."""
    from dash import no_update

    from components.capacity_books import books_tab

    west = Filters(team=("West",))
    view = books_view(db, west, D, model())
    # West: C4 and C5 active (capacity 8 + 10), C3's open book; 4 + 1 points.
    assert (view.summary.csms, view.summary.capacity, view.summary.points) == (2, 18, 5)
    assert view.summary == books_summary(csm_books(db, west, D, model()))
    assert list(view.teams["team"]) == ["West"]
    assert view.total["utilisation"] == pytest.approx(5 / 18)
    assert view.targets["named"].accounts_per_csm == pytest.approx(16 / 4)  # A6: 4 points
    outputs = books_tab(view, None, {"rowHeight": 40})
    options = outputs[5]
    assert options["rowHeight"] == 40  # the grid's own options are kept
    (total,) = options["pinnedBottomRowData"]
    assert (total["team_label"], total["csms"], total["accounts"]) == ("All teams", 2, 2)
    assert outputs[8]["workload"]["type"] == "equals"  # the model differs from the defaults
    assert books_tab(view, outputs[8], None)[8] is no_update  # the table has it already


def test_the_editor_form_writes_the_url_and_resets_to_the_defaults():
    """A field it cannot use stays out of the URL (the link keeps its last good value) and is
    marked; a reset clears every key and rewrites the fields with the defaults."""
    from dash import no_update

    from components.capacity_books import editor_outputs

    key = points_key("Enterprise", "named")
    keys = [key, "tu", "cap"]
    defaults = WorkloadParams.defaults()
    cap = f"{defaults.capacity_points:g}"  # at its default: not written into the stored model
    form = read_workload_form({key: "abc", "tu": "90", "cap": cap}, False, {key: "5"}, False)
    assert key not in form.url_changes and form.url_changes["tu"] == "90"
    assert form.url_changes["wh"] == "0"  # the switch is off: health is not weighed
    stored, url, messages, invalid, values, weigh = editor_outputs(form, keys)
    assert stored == {key: "5", "tu": "90", "wh": "0"} and url is form.url_changes
    assert "not a number" in messages[0] and invalid == [True, False, False]
    assert values == [no_update] * 3 and weigh is no_update  # typing is never overwritten
    reset = read_workload_form({key: "abc"}, False, {key: "5"}, True)
    stored, url, messages, invalid, values, weigh = editor_outputs(reset, keys)
    assert stored == {} and set(url.values()) == {None} and len(url) == 16  # 9 + wh + 6
    assert messages == ["", "", ""] and invalid == [False] * 3
    assert values[1] == f"{100 * defaults.target_utilisation:g}" and weigh is True


def test_the_definitions_section_speaks_plainly():
    """Business users read the Definitions page: the model's numbers and where they come from
    in plain words, never the settings' variable names (README lists those)."""
    from components.capacity_books import workload_model_section

    def text(node) -> str:
        if isinstance(node, str | int | float):
            return str(node)
        if isinstance(node, list | tuple):
            return " ".join(text(n) for n in node)
        children = getattr(node, "children", None)
        return text(children) if children is not None else ""

    shown = text(workload_model_section(model(red_weight=2.0), 1_500_000))
    assert "CSOPS_" not in shown
    assert "defaults your administrator set" in shown
    assert "a red account costs 2× its points" in shown  # the model in force, not the defaults
