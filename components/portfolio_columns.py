"""Column definitions of the Portfolio page's owner and movers tables (sized to fit at 1280 px)."""

from __future__ import annotations

from components.grids import BAND_STYLE, PERCENT, SCORE, SIGNED, money_column
from components.labels import label_formatter

OWNER_COLUMNS = [
    {
        "field": "owner_name",
        "headerName": "Owner",
        "minWidth": 130,
        "flex": 2,
        "cellClass": "link-cell",
        "tooltipField": "owner_name",
    },
    {"field": "team", "headerName": "Team", "minWidth": 120, "flex": 2, "tooltipField": "team"},
    {
        "field": "accounts",
        "headerName": "Accounts",
        "type": "rightAligned",
        "minWidth": 92,
        "maxWidth": 100,
    },
    money_column("arr", "ARR", minWidth=80, maxWidth=100),
    {
        "field": "avg_health",
        "headerName": "Avg health",
        "valueFormatter": SCORE,
        "type": "rightAligned",
        "minWidth": 100,
        "maxWidth": 110,
    },
    {
        "field": "pct_arr_red",
        "headerName": "% ARR red",
        "valueFormatter": PERCENT,
        "type": "rightAligned",
        "minWidth": 100,
        "maxWidth": 110,
    },
]
MOVER_COLUMNS = [
    {
        "field": "name",
        "headerName": "Account",
        "minWidth": 130,
        "flex": 2,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {
        "field": "change",
        "headerName": "Change",
        "valueFormatter": SIGNED,
        "type": "rightAligned",
        "minWidth": 84,
        "maxWidth": 95,
    },
    {
        "field": "health_now",
        "headerName": "Now",
        "valueFormatter": SCORE,
        "minWidth": 62,
        "maxWidth": 75,
        "type": "rightAligned",
    },
    {
        "field": "band",
        "headerName": "Band",
        "valueFormatter": label_formatter("band"),
        "cellStyle": BAND_STYLE,
        "minWidth": 72,
        "maxWidth": 85,
    },
    {
        "field": "driver",
        "headerName": "Driver",
        "valueFormatter": label_formatter("health_component"),
        "minWidth": 110,
        "flex": 1,
        "tooltipField": "driver",
    },
]
