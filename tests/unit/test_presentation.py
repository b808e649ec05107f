"""Registry, formatting and figure builders: pure functions, checked by behaviour."""

import pandas as pd
import pytest

from components import charts, formatting
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
        (-3_400_000, "-$3.4M"),
    ],
)
def test_money(value, text):
    assert formatting.money(value) == text


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
    assert red["customdata"] == [["SMB", "red"], ["Enterprise", "red"]]
    assert red["x"] == [100.0, 0.0]
    empty = charts.band_mix_figure(df.iloc[0:0], "arr")
    assert empty["layout"]["annotations"][0]["text"] == "No data for these filters"


def test_history_and_validation_figures():
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
    by_band = pd.DataFrame(
        {"band": ["green", "yellow", "red"], "renewals": [10, 5, 2], "loss_rate": [0.1, 0.2, 0.5]}
    )
    v = charts.validation_figure(by_band, 0.2, 2.5)
    assert v["layout"]["title"]["text"] == "Red accounts lost ARR 2.5× as often as average"
    assert v["layout"]["shapes"][0]["y0"] == 0.2


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
