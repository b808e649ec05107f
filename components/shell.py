"""The app shell: navbar built from the page registry, the filter bar and the page container."""

from __future__ import annotations

import re
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids


def navbar(pages: list[dict[str, Any]], data_as_of_text: str) -> dbc.Navbar:
    links = [
        dbc.NavItem(
            dcc.Link(
                p["name"],
                href=p["relative_path"],
                id=ids.nav_link(p["relative_path"]),
                className="nav-link",
            )
        )
        for p in pages
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dcc.Link("CS Ops Console", href="/", className="navbar-brand fw-bold"),
                dbc.Nav(links, className="me-auto", navbar=True),
                html.Span(data_as_of_text, id=ids.DATA_AS_OF, className="navbar-text small"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="py-1",
    )


def page_header(title: str, subtitle: str | None = None, extra: Any = None) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H1(title, className="h4 mb-0"),
                    html.Div(subtitle, className="text-muted small") if subtitle else None,
                ]
            ),
            extra,
        ],
        className="page-header d-flex justify-content-between align-items-end mb-3",
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def info_button(button_id: str, title: str, body: Any) -> list[Any]:
    """An "i" button that opens `body` in a popover on click, Enter or Space (keyboard reachable).

    Place both returned components as siblings; keep the button outside any link.
    """
    button = html.Button(
        "i",
        id=button_id,
        type="button",
        className="info-dot ms-1",
        **{"aria-label": f"About {title}"},
    )
    popover = dbc.Popover(
        [dbc.PopoverHeader(title), dbc.PopoverBody(body)],
        target=button_id,
        trigger="legacy",
        placement="bottom",
        id=f"{button_id}-popover",
        class_name="info-popover",
    )
    return [button, popover]


def panel(
    title: str,
    body: Any,
    panel_id: str | None = None,
    help_text: str | None = None,
    tools: Any = None,
) -> dbc.Card:
    """A titled card around one view, with its loading indicator."""
    header = html.Div(
        [
            html.Div(
                [
                    html.Span(title, className="panel-title"),
                    *(
                        info_button(
                            f"{panel_id}-info" if panel_id else f"panel-info-{_slug(title)}",
                            title,
                            help_text,
                        )
                        if help_text
                        else []
                    ),
                ]
            ),
            tools,
        ],
        className="d-flex justify-content-between align-items-center mb-1",
    )
    extra = {"id": panel_id} if panel_id else {}
    return dbc.Card(
        dbc.CardBody([header, dcc.Loading(body, type="dot", delay_show=150)]),
        className="panel h-100",
        **extra,
    )


def panel_col(width: int, title: str, body: Any, **panel_kwargs: Any) -> dbc.Col:
    """A panel in a grid column `width` twelfths wide on large screens."""
    return dbc.Col(panel(title, body, **panel_kwargs), lg=width, className="mb-3")
