"""The health model's weights and thresholds are settings: every place that shows them follows.

A model with other weights (40/20/15/15/10) and thresholds (green 75, yellow 35) is passed to
each renderer, or set through the environment, and every text, legend and band line must change
with it: nothing shows a typed 70 or 40.
"""

from datetime import date

import pandas as pd
import pytest

from components import charts
from components.theme import band_labels, band_ranges
from services.health_model import HealthParams, health_params
from services.metrics import missing_input_help, registry

OTHER = HealthParams(w_usage=40, w_engagement=10, green_min=75, yellow_min=35, neutral_score=45)
OTHER_ENV = {
    "CSOPS_HEALTH_WEIGHTS": "40,20,15,15,10",
    "CSOPS_HEALTH_GREEN_MIN": "75",
    "CSOPS_HEALTH_YELLOW_MIN": "35",
}
OTHER_LABELS = {
    "green": "Green (75 or more)",
    "yellow": "Yellow (35 to < 75)",
    "red": "Red (under 35)",
}


def mix() -> pd.DataFrame:
    return pd.DataFrame(
        {"grp": ["SMB", "SMB"], "band": ["red", "green"], "accounts": [1, 3], "arr": [1.0, 3.0]}
    )


def test_defaults_read_as_the_design_says():
    assert band_labels(HealthParams()) == {
        "green": "Green (70 or more)",
        "yellow": "Yellow (40 to < 70)",
        "red": "Red (under 40)",
    }


def test_registry_text_follows_the_model():
    r = registry(OTHER)
    score = r["health_score"].definition
    for part in ("usage 40%", "engagement 10%", "green 75 or more", "yellow 35 to < 75"):
        assert part in score
    assert "red under 35" in score and "70" not in score
    assert "40/20/15/15/10" in r["avg_health"].formula
    assert "(score under 35)" in r["pct_arr_red"].definition
    assert "neutral 45" in r["health_coverage"].definition
    assert "neutral 45" in r["sentiment_score"].definition
    assert "neutral 45" in missing_input_help(OTHER)  # Account 360's help text
    # Weights that do not sum to 100 are shown as shares: 20 of 80 is 25%.
    shares = registry(
        HealthParams(w_usage=20, w_trend=20, w_support=20, w_sentiment=20, w_engagement=0)
    )
    assert "usage 25%" in shares["health_score"].definition


def test_band_labels_legends_and_band_lines_follow_the_model():
    assert band_labels(OTHER) == OTHER_LABELS
    legend = {t["name"] for t in charts.band_mix_figure(mix(), "arr", params=OTHER)["data"]}
    assert set(OTHER_LABELS.values()) <= legend
    history = mix().assign(snapshot_date=pd.Timestamp("2026-01-05"))
    legend = {t["name"] for t in charts.band_history_figure(history, "arr", params=OTHER)["data"]}
    assert set(OTHER_LABELS.values()) <= legend
    health = pd.DataFrame(
        {
            "snapshot_date": pd.to_datetime(["2026-01-05", "2026-01-12"]),
            "health_score": [50.0, 80.0],
            "band": ["yellow", "green"],
        }
    )
    shapes = charts.account_health_figure(health, params=OTHER)["layout"]["shapes"]
    areas = {(s["y0"], s["y1"]) for s in shapes if s["type"] == "rect"}
    assert areas == {(0.0, 35.0), (35.0, 75.0), (75.0, 100.0)}
    assert sorted(s["y0"] for s in shapes if s["type"] == "line") == [35.0, 75.0]
    assert band_ranges(OTHER)["yellow"] == (35.0, 75.0)


def test_settings_set_the_model_and_definitions_show_it(monkeypatch):
    for name, value in OTHER_ENV.items():
        monkeypatch.setenv(name, value)
    params = health_params()
    assert params.weights() == {
        "usage": 40.0,
        "trend": 20.0,
        "support": 15.0,
        "sentiment": 15.0,
        "engagement": 10.0,
    }
    assert (params.green_min, params.yellow_min) == (75, 35)
    assert band_labels() == OTHER_LABELS  # the default is the settings in force

    import dash

    dash.Dash(__name__, use_pages=True, pages_folder="")  # pages register on an app
    from pages import definitions

    text = str(definitions.layout())
    assert "usage 40, usage trend 20, support 15, sentiment 15, engagement 10 (of 100)" in text
    assert all(label in text for label in OTHER_LABELS.values())
    assert "green 75 or more" in text and "Green (70" not in text


@pytest.mark.parametrize(
    "env, message",
    [
        ({"CSOPS_HEALTH_WEIGHTS": "30,20,15,15"}, "needs 5 numbers"),
        ({"CSOPS_HEALTH_WEIGHTS": "30,20,x,15,20"}, "expected numbers"),
        ({"CSOPS_HEALTH_WEIGHTS": "30,20,-15,15,20"}, "non-negative"),
        ({"CSOPS_HEALTH_YELLOW_MIN": "80"}, "yellow threshold"),
    ],
)
def test_bad_settings_say_what_is_wrong(monkeypatch, env, message):
    with monkeypatch.context() as m:  # undone before teardown reads the settings again
        for name, value in env.items():
            m.setenv(name, value)
        with pytest.raises(ValueError, match=message):
            health_params()


def test_the_build_scores_with_the_settings_in_force(tmp_path, monkeypatch):
    from tests.unit.tiny import account, build_tiny, contract

    # Usage only: 6 of 10 seats every day scores 60, a flat trend 50.
    usage = [
        dict(
            account_id="A",
            day=date.fromordinal(date(2026, 6, 30).toordinal() - k).isoformat(),
            active_users=6,
            events=60,
            features_used=3,
        )
        for k in range(120)
    ]
    tables = {
        "accounts": [account("A")],
        "contracts": [contract("A", "2025-01-01", "2027-01-01", seats=10)],
        "usage_daily": usage,
    }
    monkeypatch.setenv("CSOPS_HEALTH_WEIGHTS", "20,60,0,0,20")
    monkeypatch.setenv("CSOPS_HEALTH_GREEN_MIN", "52")
    monkeypatch.setenv("CSOPS_SNAPSHOT_WEEKS", "3")
    db = build_tiny(tmp_path, tables, date(2026, 6, 30))
    h = db.query("SELECT * FROM health_snapshots ORDER BY snapshot_date")
    assert len(h) == 3  # three weekly snapshots
    # (20*60 + 60*50) / (20 + 60) = 4200 / 80 = 52.5: green at 52 (it would be yellow at 70)
    assert h["health_score"].tolist() == [52.5, 52.5, 52.5]
    assert h["band"].tolist() == ["green"] * 3
