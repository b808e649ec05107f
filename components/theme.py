"""The house plotly template and colours: green/amber/red mean health bands and nothing else."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from components.labels import label

BAND_COLORS = {"green": "#2e9e5b", "yellow": "#e0a526", "red": "#d64545"}
BAND_TEXT_COLORS = {"green": "#1f7a45", "yellow": "#9a6b00", "red": "#b02a2a"}  # text on white
BAND_LABELS = {
    band: f"{label('band', band)} ({limits})"
    for band, limits in {"green": "≥ 70", "yellow": "40–69", "red": "< 40"}.items()
}
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
