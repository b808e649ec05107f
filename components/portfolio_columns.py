"""Column definitions of the Portfolio page's owner and movers tables, sized to fit at 1280 px.

Number columns have fixed widths (flex 0: they do not grow), so the spare width goes to the
name columns; money is compact ($5.3M, exact on hover), so it never needs more than 72 px.
"""

from __future__ import annotations

from typing import Any

from components.grids import PERCENT, SCORE, SIGNED, band_style, money_column
from components.labels import label_formatter


def _fixed(width: int) -> dict[str, Any]:
    return {"width": width, "minWidth": width, "flex": 0}


OWNER_COLUMNS = [
    {
        "field": "owner_name",
        "headerName": "Owner",
        "minWidth": 110,
        "flex": 1,
        "cellClass": "link-cell",
        "tooltipField": "owner_name",
    },
    {
        "field": "team",
        "headerName": "Team",
        "minWidth": 175,
        "flex": 1.5,
        "tooltipField": "team",
    },
    {"field": "accounts", "headerName": "Accounts", "type": "rightAligned", **_fixed(84)},
    money_column("arr", "ARR", **_fixed(76)),
    {
        "field": "avg_health",
        "headerName": "Avg health",
        "valueFormatter": SCORE,
        "type": "rightAligned",
        **_fixed(96),
    },
    {
        "field": "pct_arr_red",
        "headerName": "% ARR red",
        "valueFormatter": PERCENT,
        "type": "rightAligned",
        **_fixed(96),
    },
]
MOVER_COLUMNS = [
    {
        "field": "name",
        "headerName": "Account",
        "minWidth": 150,
        "flex": 1,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {
        "field": "change",
        "headerName": "Change",
        "valueFormatter": SIGNED,
        "type": "rightAligned",
        **_fixed(68),
    },
    {
        # The score now, in its band's colour: the band needs no column of its own at 1280 px.
        "field": "health_now",
        "headerName": "Now",
        "headerTooltip": "Health score now, coloured by its band",
        "valueFormatter": SCORE,
        "cellStyle": band_style("params.data.band"),
        "type": "rightAligned",
        **_fixed(58),
    },
    {
        "field": "driver",
        "headerName": "Driver",
        "valueFormatter": label_formatter("health_component"),
        **_fixed(102),
    },
]
