"""The global filter bar: one multi-select per dimension, the as-of date and a reset button."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from services.filters import DIMENSION_LABELS

PLACEHOLDERS = {
    "segment": "All segments",
    "region": "All regions",
    "team": "All teams",
    "owner": "All owners (CSMs)",
    "tier": "All coverage tiers",
}


def filter_bar(
    options: dict[str, list[dict[str, str]]], data_as_of: date | None, earliest: date | None
) -> html.Div:
    """Filter controls; their values are set from the URL by the app's sync callback.

    The as-of picker offers `earliest` (the first date whose views are complete,
    `services.asof.earliest_complete_as_of`) to `data_as_of`.
    """
    dropdowns = [
        dbc.Col(
            [
                html.Label(label, htmlFor=ids.filter_id(dim), className="filter-label"),
                dcc.Dropdown(
                    id=ids.filter_id(dim),
                    options=options.get(dim, []),
                    multi=True,
                    placeholder=PLACEHOLDERS[dim],
                    className="filter-dropdown",
                ),
            ],
            xs=12,
            sm=6,
            lg=True,
            className="mb-2",
        )
        for dim, label in DIMENSION_LABELS.items()
    ]
    as_of = dbc.Col(
        [
            html.Label("As of", htmlFor=ids.FILTER_AS_OF, className="filter-label"),
            dcc.DatePickerSingle(
                id=ids.FILTER_AS_OF,
                display_format="YYYY-MM-DD",
                placeholder="As of (latest)",
                min_date_allowed=earliest,
                max_date_allowed=data_as_of,
                initial_visible_month=data_as_of,
                clearable=True,
                className="filter-date",
            ),
        ],
        xs=8,
        sm=4,
        lg=2,
        className="mb-2",
    )
    reset = dbc.Col(
        [
            html.Div("\u00a0", className="filter-label"),
            dbc.Button(
                "Reset",
                id=ids.FILTER_RESET,
                color="secondary",
                outline=True,
                size="sm",
                className="w-100",
            ),
        ],
        xs=4,
        sm=2,
        lg="auto",
        className="mb-2",
    )
    return html.Div(
        dbc.Row(dropdowns + [as_of, reset], className="g-2 align-items-end"),
        className="filter-bar px-3 pt-2 pb-1",
        id="filter-bar",
    )
