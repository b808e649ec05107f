"""Registry, formatting and figure builders: pure functions, checked by behaviour."""

import json

import pandas as pd
import pytest

from components import charts, formatting, labels
from services import cache
from services.metrics import REGISTRY, metric


def test_every_metric_is_fully_defined():
    for m in REGISTRY.values():
        assert m.label and m.definition and m.formula
        assert m.unit in formatting.FORMATTERS


@pytest.mark.parametrize(
    "value, text",
    [
        (1_234_567, "$1.2M"),
        (950, "$950"),
        (12_500, "$12.5K"),
        (2.5e9, "$2.5B"),
        (None, "–"),
        (float("nan"), "–"),
        (-3_400_000, "-$3.4M"),
        (0, "$0"),
        (999, "$999"),
        (998.5, "$999"),  # ties round up, as JavaScript's toFixed does in the grids
        (999.5, "$1.0K"),  # rounds to 1,000: the next unit, never "$1,000"
        (999_949, "$999.9K"),
        (999_950, "$1.0M"),  # 999.95K rounds to 1,000.0K, so it is shown in M
        (1_000_000, "$1.0M"),
        (999_949_999, "$999.9M"),
        (999_950_000, "$1.0B"),
        (12_250, "$12.3K"),  # 12.25 is exact in binary: half up
        (-999_950, "-$1.0M"),
        (-999.5, "-$1.0K"),
        (-0.4, "$0"),  # rounds to zero: no minus sign
        (1.5e12, "$1,500.0B"),  # B is the largest unit
    ],
)
def test_money(value, text):
    assert formatting.money(value) == text


@pytest.mark.parametrize(
    "value, exact, tick",
    [
        (5_305_120.4, "$5,305,120", "$5.3M"),
        (-1_500, "-$1,500", "-$1.5K"),
        (2_000_000_000, "$2,000,000,000", "$2B"),
        (500_000, "$500,000", "$500K"),
        (None, "–", "–"),
    ],
)
def test_exact_money_for_hover_and_axis_ticks(value, exact, tick):
    assert formatting.money_exact(value) == exact
    assert formatting.money_tick(value) == tick


def test_one_date_format():
    assert formatting.date("2026-11-05") == "05 Nov 2026"
    assert formatting.date(pd.Timestamp("2026-01-02 13:45")) == "02 Jan 2026"
    assert formatting.date(None) == "–" and formatting.date(pd.NaT) == "–"


def test_labels_for_codes_and_unknown_codes_shown_as_given():
    assert labels.label("forecast_category", "at_risk") == "At risk"
    assert labels.label("tier", "tech-touch") == "Tech-touch"
    assert labels.label("coverage_tier", "named") == "Named"
    assert labels.label("band", "red") == "Red"
    assert labels.label("lifecycle_stage", "onboarding") == "Onboarding"
    assert labels.label("renewal_outcome", "contracted") == "Contracted"
    assert labels.label("touchpoint_type", "escalation call") == "Escalation call"
    assert labels.label("expansion_outcome", "won") == "Won"
    assert labels.label("driver", "trend") == "Usage trend"
    assert labels.label("forecast_category", "maybe_later") == "maybe_later"  # never dropped
    assert labels.label("segment", "Mid-Market") == "Mid-Market"  # a kind without codes
    assert labels.label("band", None) == "–"


def test_every_code_in_the_schema_has_a_label():
    import re
    from pathlib import Path

    schema = (Path(__file__).resolve().parents[2] / "data" / "schema.sql").read_text()

    def codes(column: str) -> set[str]:
        found = re.search(rf"{column}\s+VARCHAR.*?CHECK \({column} IN \(([^)]*)\)", schema)
        return set(re.findall(r"'([^']*)'", found.group(1)))

    assert codes("coverage_tier") == set(labels.labels_for("coverage_tier"))
    assert codes("lifecycle_stage") == set(labels.labels_for("lifecycle_stage"))
    assert codes("forecast_category") == set(labels.labels_for("forecast_category"))
    assert codes("role") == set(labels.labels_for("role"))


def test_grid_label_formatter_is_built_from_the_python_map():
    formatter = labels.label_formatter("tier")["function"]
    table = json.loads(formatter[formatter.index("{") : formatter.rindex("}") + 1])
    assert formatter.startswith("codeLabel(params.value, ")
    assert table == {"named": "Named", "pooled": "Pooled", "tech-touch": "Tech-touch"}


def test_grid_money_and_date_columns_use_the_shared_formatters():
    from components.grids import ACCOUNT_COLUMNS, DATE, MONEY, MONEY_TOOLTIP
    from components.portfolio_columns import MOVER_COLUMNS, OWNER_COLUMNS

    by_field = {c["field"]: c for c in ACCOUNT_COLUMNS}
    for field in ("arr", "renewal_arr"):
        assert by_field[field]["valueFormatter"] == MONEY
        assert by_field[field]["tooltipValueGetter"] == MONEY_TOOLTIP
    assert by_field["next_renewal_date"]["valueFormatter"] == DATE
    for field in ("band", "coverage_tier", "forecast_category", "lifecycle_stage"):
        assert by_field[field]["valueFormatter"]["function"].startswith("codeLabel(")
    assert next(c for c in OWNER_COLUMNS if c["field"] == "arr")["valueFormatter"] == MONEY
    # Movers show the score in its band's colour instead of a band column (fits at 1280 px).
    now = next(c for c in MOVER_COLUMNS if c["field"] == "health_now")
    conditions = [c["condition"] for c in now["cellStyle"]["styleConditions"]]
    assert conditions == [f"params.data.band == '{b}'" for b in ("red", "yellow", "green")]
    assert (
        "codeLabel("
        in next(c for c in MOVER_COLUMNS if c["field"] == "driver")["valueFormatter"]["function"]
    )


def _axes(fig):
    layout = fig["layout"]
    template = layout["template"]["layout"]
    return [v for k, v in {**template, **layout}.items() if k.startswith(("xaxis", "yaxis"))]


def test_money_axes_never_print_si_giga():
    df = pd.DataFrame(
        {
            "grp": ["SMB", "SMB", "Enterprise", "Enterprise"],
            "band": ["red", "green", "red", "green"],
            "accounts": [1, 3, 2, 5],
            "arr": [1.2e8, 9e8, 3e8, 2.1e9],
        }
    )
    fig = charts.band_mix_figure(df, "arr")
    axis = fig["layout"]["xaxis"]
    # Largest bar $2.4B; a quarter is $600M, the next round step is $1B: ticks 0, $1B, $2B.
    assert axis["tickvals"] == [0, 1e9, 2e9]
    assert axis["ticktext"] == ["$0", "$1B", "$2B"]
    small = charts.band_mix_figure(df.assign(arr=df.arr / 1000), "arr")["layout"]["xaxis"]
    # $2.4M: a quarter is $600K, next round step $1M.
    assert small["ticktext"] == ["$0", "$1M", "$2M"]
    assert charts.value_axis(1_000, "arr")["ticktext"] == ["$0", "$250", "$500", "$750", "$1K"]
    for ax in _axes(fig):
        assert "s" not in (ax.get("tickformat") or "")  # d3's SI format prints G for billions
        assert ax.get("exponentformat", "B") == "B"
        assert not any("G" in t for t in ax.get("ticktext", []))
    from components.theme import MONEY_AXIS

    assert MONEY_AXIS["exponentformat"] == "B" and "s" not in MONEY_AXIS["tickformat"]


def test_red_is_labelled_on_the_baseline_and_clickable_beside_it():
    df = pd.DataFrame(
        {
            "grp": ["named", "named", "pooled", "pooled"],
            "band": ["red", "green", "red", "green"],
            "accounts": [1, 99, 0, 10],
            "arr": [5_000.0, 995_000.0, 0.0, 100_000.0],
        }
    )
    fig = charts.band_mix_figure(df, "arr", by="tier")
    red, gutter = fig["data"][0], fig["data"][3]
    assert red["name"].startswith("Red") and red["y"] == ["Pooled", "Named"]  # labels, not codes
    # The gutter bar lies left of the baseline, carries the red bars' drill data, and its
    # labels state the red value of each group ($0 for pooled, $5.0K for named).
    assert all(x < 0 for x in gutter["x"]) and gutter["customdata"] == red["customdata"]
    assert [c[:2] for c in gutter["customdata"]] == [["pooled", "red"], ["named", "red"]]
    notes = [a["text"] for a in fig["layout"]["annotations"] if a.get("y") in red["y"]]
    assert notes == ["<b>$0</b>", "<b>$5.0K</b>"]
    # $5K of a $1M bar is 0.5%: far too thin for an inside label, labelled in the gutter anyway.
    assert fig["layout"]["xaxis"]["range"][0] < 0
    assert fig["layout"]["barmode"] == "relative"  # negative gutter below, bands stack above 0


def test_deltas_know_which_direction_is_good():
    assert formatting.metric_delta(metric("grr"), 0.92, 0.90) == ("+2.0 pts", "good")
    assert formatting.metric_delta(metric("pct_arr_red"), 0.05, 0.03) == ("+2.0 pts", "bad")
    assert formatting.metric_delta(metric("arr"), 1e6, 1.5e6) == ("-$500.0K", "bad")
    assert formatting.metric_delta(metric("arr"), 1e6, None) == ("no comparison", "flat")


def test_band_mix_figure_carries_drill_data_and_states_the_takeaway():
    df = pd.DataFrame(
        {
            "grp": ["SMB", "SMB", "Enterprise"],
            "band": ["red", "green", "green"],
            "accounts": [1, 3, 2],
            "arr": [100.0, 300.0, 1000.0],
        }
    )
    fig = charts.band_mix_figure(df, "arr")
    assert fig["layout"]["title"]["text"] == "SMB has the largest red share: 25.0% of its ARR"
    red = next(t for t in fig["data"] if t["name"].startswith("Red"))
    # Groups ordered by total, smallest first, so the largest bar is drawn on top.
    assert [c[:2] for c in red["customdata"]] == [["SMB", "red"], ["Enterprise", "red"]]
    assert red["customdata"][0][2:] == ["$100", "$100"]  # compact and exact, for the hover
    assert red["x"] == [100.0, 0.0]
    empty = charts.band_mix_figure(df.iloc[0:0], "arr")
    assert empty["layout"]["annotations"][0]["text"] == "No data for these filters"


def test_history_figure():
    history = pd.DataFrame(
        {
            "snapshot_date": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-01-12"]),
            "band": ["red", "green", "green"],
            "accounts": [1, 3, 4],
            "arr": [100.0, 300.0, 400.0],
        }
    )
    fig = charts.band_history_figure(history, "arr")
    assert fig["layout"]["title"]["text"] == "Red share of ARR: 0.0% now vs 25.0% on 05 Jan 2026"
    red = fig["data"][0]
    assert red["y"] == [0.25, 0.0] and red["customdata"][0] == ["2026-01-05", "red", "$100"]
    gutter = fig["data"][3]  # the label cell under each week's red bar takes its click too
    assert gutter["customdata"][0] == ["2026-01-05", "red", "$100", "25.0%"]
    red_labels = [a["text"] for a in fig["layout"]["annotations"]]
    assert red_labels == ["25.0%", "0.0%"]


def test_memoize_keys_on_arguments(monkeypatch):
    calls = []

    @cache.memoize
    def square(db, x):
        calls.append(x)
        return x * x

    monkeypatch.setenv("CSOPS_CACHE_TYPE", "simple")
    cache.configure()
    assert square("db-v1", 3) == 9 and square("db-v1", 3) == 9 and square("db-v2", 3) == 9
    assert calls == [3, 3]  # a new data version (repr of db) is a new key


def test_guarded_callbacks_show_messages_not_tracebacks():
    from pages._shared import guarded
    from services.errors import QueryFailed

    @guarded(figures=2)
    def charts_fail():
        raise QueryFailed("The query could not be answered (IOException).")

    @guarded([])
    def table_crashes():
        raise ZeroDivisionError

    first, second = charts_fail()
    assert (
        first["layout"]["annotations"][0]["text"]
        == "The query could not be answered (IOException)."
    )
    assert second["layout"]["annotations"][0]["text"] == first["layout"]["annotations"][0]["text"]
    message, rows = table_crashes()
    assert "Something went wrong" in message.children and rows == []


def test_grid_records_use_iso_dates_and_null():
    from components.grids import to_records

    df = pd.DataFrame(
        {
            "arr": [1.5, None],
            "day": pd.to_datetime(["2026-01-02", None]),
            "name": ["x", None],
            "flag": [True, False],
        }
    )
    assert to_records(df) == [
        {"arr": 1.5, "day": "2026-01-02", "name": "x", "flag": True},
        {"arr": None, "day": None, "name": None, "flag": False},
    ]


def test_touchpoints_on_the_usage_chart_show_labels():
    usage = pd.DataFrame(
        {"day": pd.to_datetime(["2026-01-01", "2026-01-02"]), "active_users": [3, 4]}
    )
    touches = pd.DataFrame(
        {"occurred_at": pd.to_datetime(["2026-01-02"]), "type": ["escalation call"]}
    )
    fig = charts.usage_figure(usage, 10, touches)
    assert fig["data"][-1]["text"] == ["Escalation call"]
