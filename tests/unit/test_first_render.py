"""The first page of a visit comes inside the shell's layout (no router round trip), for this
app's own pages only; anything unexpected falls back to Dash's router."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def client(demo_db_path, use_db):
    use_db(demo_db_path)
    import app as console_app

    c = console_app.server.test_client()
    c.get("/")  # Dash builds its router on the first request
    return c


def _find(node, wanted: str):
    """The component with id `wanted` in a serialised layout."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == wanted:
            return node
        children = props.get("children")
        for child in children if isinstance(children, list) else [children]:
            hit = _find(child, wanted)
            if hit is not None:
                return hit
    elif isinstance(node, list):
        for child in node:
            hit = _find(child, wanted)
            if hit is not None:
                return hit
    return None


def _layout(client, referer: str | None):
    headers = {"Referer": referer} if referer else {}
    return json.loads(client.get("/_dash-layout", headers=headers).get_data(as_text=True))


def test_the_requested_page_is_drawn_with_the_shell(client):
    url = "http://localhost/renewals?tab=hygiene&segment=SMB"
    layout = _layout(client, url)
    location = _find(layout, "_pages_location")["props"]
    # Equal to the address bar, so the router's Location reports no change and no callback runs.
    assert (location["pathname"], location["search"], location["href"]) == (
        "/renewals",
        "?tab=hygiene&segment=SMB",
        url,
    )
    assert _find(layout, "rn-body-hygiene") is not None  # the tab the URL asked for
    assert _find(layout, "_pages_store")["props"]["data"] == {"title": "Renewals · CS Ops Console"}


def test_an_unknown_path_gets_the_not_found_page(client):
    layout = _layout(client, "http://localhost/no/such/page")
    content = json.dumps(_find(layout, "_pages_content"))
    assert "Page not found" in content


@pytest.mark.parametrize(
    "referer",
    [None, "http://elsewhere.example/renewals", "javascript:alert(1)", "not a url"],
)
def test_without_this_apps_address_the_router_draws_the_page(client, referer):
    layout = _layout(client, referer)
    location = _find(layout, "_pages_location")["props"]
    assert "pathname" not in location  # Dash's own container: the router fills it
    assert _find(layout, "_pages_content")["props"].get("children") is None


def test_a_page_that_fails_to_build_falls_back_to_the_router(client, monkeypatch):
    from pages import _first_render

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_first_render, "_page_of", broken)
    layout = _layout(client, "http://localhost/renewals")
    assert "pathname" not in _find(layout, "_pages_location")["props"]
    assert "boom" not in json.dumps(layout)
