"""The house plotly template and colours: green/amber/red mean health bands and nothing else."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from components.labels import label
from services.health_model import HealthParams, health_params
from services.metrics import band_limits

BAND_COLORS = {"green": "#2e9e5b", "yellow": "#e0a526", "red": "#d64545"}
BAND_TEXT_COLORS = {"green": "#1f7a45", "yellow": "#9a6b00", "red": "#b02a2a"}  # text on white


def band_labels(params: HealthParams | None = None) -> dict[str, str]:
    """ "Green (70 or more)", "Yellow (40 to < 70)", "Red (under 40)": from the model's
    thresholds (`params`, default the settings in force), never typed."""
    limits = band_limits(params or health_params())
    return {band: f"{label('band', band)} ({limits[band]})" for band in ("green", "yellow", "red")}


def band_ranges(params: HealthParams | None = None) -> dict[str, tuple[float, float]]:
    """Each band's score range [low, high) on the 0-100 axis (chart band lines and areas)."""
    p = params or health_params()
    return {
        "red": (0.0, float(p.yellow_min)),
        "yellow": (float(p.yellow_min), float(p.green_min)),
        "green": (float(p.green_min), 100.0),
    }


BAND_LABELS = band_labels()  # the settings in force when the app started
# A money axis plotly formats itself: "$1.5M", "$2B" (exponentformat B, never d3's SI "G").
# components/charts.value_axis() gives explicit ticks in our money format where the range is known.
MONEY_AXIS = {"tickprefix": "$", "exponentformat": "B", "tickformat": ""}
NEUTRAL = ["#3b5b92", "#7a8fb8", "#9aa5b1", "#5c6f82", "#b7c4d6"]
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
TEMPLATE_NAME = "csops"


def register_template() -> None:
    """Register the house template and make it the default for every figure."""
    pio.templates[TEMPLATE_NAME] = go.layout.Template(
        layout=go.Layout(
            font=dict(family=FONT, size=13, color="#27313d"),
            title=dict(font=dict(size=15, color="#1b2430"), x=0, xanchor="left", y=0.97),
            colorway=NEUTRAL,
            paper_bgcolor="white",
            plot_bgcolor="white",
            margin=dict(l=8, r=8, t=48, b=8),
            xaxis=dict(
                showgrid=False, linecolor="#c9d1db", ticks="", automargin=True, exponentformat="B"
            ),
            yaxis=dict(
                gridcolor="#eef1f5",
                zeroline=False,
                linecolor="#c9d1db",
                automargin=True,
                exponentformat="B",
            ),
            legend=dict(
                orientation="h",
                yanchor="top",
                y=-0.12,
                xanchor="left",
                x=0,
                title_text="",
                font=dict(size=12),
            ),
            hoverlabel=dict(font_family=FONT),
            separators=".,",
        )
    )
    pio.templates.default = TEMPLATE_NAME


register_template()
