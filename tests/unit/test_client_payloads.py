"""Hostile or malformed client payloads get a message or nothing, never a crash or a stack trace.

Callbacks are called over HTTP, as a browser would (Dash's `/_dash-update-component`), so the
app-level error handler and every validation in between take part.
"""

from __future__ import annotations

import json

import pytest

from pages._shared import RowsRequest, page_param, with_page_param
from services.account_list import SORTABLE
from services.errors import InvalidFilter
from services.filters import MAX_VALUE_LENGTH, Filters


@pytest.fixture
def client(demo_db_path, use_db):
    use_db(demo_db_path)
    import app as console_app

    with console_app.server.test_client() as c:
        assert c.get("/").status_code == 200  # the first request registers the page callbacks
        yield c


def _registered_output(output: str, first_input: str) -> str:
    """The output key Dash registered for a callback writing `output` and reading
    `first_input` (multi-output keys list every output; allow_duplicate adds a hash)."""
    import app as console_app

    for key, spec in console_app.app.callback_map.items():
        inputs = [f"{i['id']}.{i['property']}" for i in spec["inputs"]]
        outputs = [o.split("@")[0] for o in key.strip(".").split("...")]
        if output in outputs and first_input in inputs:
            return key
    raise KeyError(output)


def call(client, output: str, inputs: list[dict], state: list[dict] | None = None):
    """POST one callback the way the Dash renderer does; returns (status, body text)."""
    first_input = f"{inputs[0]['id']}.{inputs[0]['property']}"
    key = _registered_output(output, first_input)
    parts = [o.split("@")[0].rsplit(".", 1) for o in key.strip(".").split("...")]
    outputs = [{"id": target, "property": prop} for target, prop in parts]
    body = {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": inputs,
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
        "state": state or [],
    }
    response = client.post("/_dash-update-component", json=body)
    return response.status_code, response.get_data(as_text=True)


def assert_no_trace(text: str) -> None:
    assert "Traceback" not in text and "/work/" not in text and 'File "' not in text


STORE = {"id": "portfolio-view", "property": "data", "value": {"search": ""}}


def test_band_mix_with_a_grouping_outside_the_allow_list_falls_back(client):
    status, text = call(
        client,
        "portfolio-band-mix.figure",
        [
            STORE,
            {"id": "portfolio-measure", "property": "value", "value": "'; DROP"},
            {"id": "portfolio-mix-by", "property": "value", "value": "as_of"},
        ],
    )
    assert status == 200
    assert_no_trace(text)
    figure = json.loads(text)["response"]["portfolio-band-mix"]["figure"]
    assert figure["data"], "the default grouping is drawn instead"


def test_drill_with_a_grouping_outside_the_allow_list_does_not_crash(client):
    click = {"points": [{"customdata": ["Enterprise", "red"]}]}
    status, text = call(
        client,
        "url.href",
        [
            {"id": "portfolio-band-mix", "property": "clickData", "value": click},
            {"id": "portfolio-band-history", "property": "clickData", "value": None},
        ],
        [STORE, {"id": "portfolio-mix-by", "property": "value", "value": "as_of"}],
    )
    assert status == 200
    href = json.loads(text)["response"]["url"]["href"]
    assert "segment=Enterprise" in href and "as_of" not in href


@pytest.mark.parametrize(
    "request_",
    [
        {"startRow": "abc", "endRow": None, "sortModel": "x", "filterModel": []},
        {"startRow": -5, "endRow": 10**12, "sortModel": [{"colId": "1; DROP", "sort": "desc"}]},
        {"startRow": 1e400, "endRow": "1e3"},
        ["not", "a", "dict"],
    ],
)
def test_accounts_grid_rows_with_malformed_requests(client, request_):
    status, text = call(
        client,
        "accounts-grid.getRowsResponse",
        [{"id": "accounts-grid", "property": "getRowsRequest", "value": request_}],
        [{"id": "accounts-view", "property": "data", "value": {"search": "", "drill": {}}}],
    )
    assert status in (200, 204)
    assert_no_trace(text)
    answer = json.loads(text)["response"] if status == 200 else {}
    if isinstance(request_, dict):  # a usable request with odd values: a block of rows
        rows = answer["accounts-grid"]["getRowsResponse"]["rowData"]
        assert 0 < len(rows) <= RowsRequest.MAX_BLOCK
    else:  # not a request at all: nothing is sent
        assert not answer


def test_a_megabyte_filter_value_gets_a_message(client):
    huge = "x" * (1024 * 1024)
    response = client.get(f"/?segment={huge[:100_000]}")
    assert response.status_code in (200, 414, 431)
    status, text = call(
        client,
        "portfolio-kpis.children",
        [{"id": "portfolio-view", "property": "data", "value": {"search": f"?segment={huge}"}}],
    )
    assert status == 413  # above MAX_CONTENT_LENGTH: refused before any callback runs
    assert_no_trace(text)
    with pytest.raises(InvalidFilter, match="too long"):
        Filters.from_search("?segment=" + "x" * (MAX_VALUE_LENGTH + 1))


def test_a_long_filter_value_in_a_callback_becomes_a_plain_message(client):
    search = "?segment=" + "x" * 5_000
    status, text = call(
        client,
        "portfolio-kpis.children",
        [{"id": "portfolio-view", "property": "data", "value": {"search": search}}],
    )
    assert status == 200
    assert "too long" in text
    assert_no_trace(text)


def test_rows_request_parsing():
    block = RowsRequest.from_client(
        {
            "startRow": "200",
            "endRow": 300,
            "sortModel": [{"colId": "arr", "sort": "desc"}, {"colId": "evil", "sort": "asc"}],
            "filterModel": {"name": {"filter": "acme"}},
        },
        SORTABLE,
    )
    assert block == RowsRequest(200, 100, (("arr", "desc"),), "acme")
    assert RowsRequest.from_client(None, SORTABLE) is None


def test_filters_refuse_unknown_drill_keys():
    with pytest.raises(InvalidFilter):
        Filters().with_values(evil="x")
    with pytest.raises(InvalidFilter):
        Filters().with_values(as_of="not a date")


def test_page_params_allow_list_and_url_round_trip():
    assert (
        page_param({"measure": ["accounts"]}, "measure", ("arr", "accounts"), "arr") == "accounts"
    )
    assert page_param({"measure": ["<script>"]}, "measure", ("arr", "accounts"), "arr") == "arr"
    assert with_page_param("?segment=SMB", "measure", "accounts", "arr") == (
        "?segment=SMB&measure=accounts"
    )
    assert with_page_param("?segment=SMB&measure=accounts", "measure", "arr", "arr") == (
        "?segment=SMB"
    )
    assert with_page_param("?q=a", "sort", ["arr:desc", "name:asc"]) == (
        "?q=a&sort=arr%3Adesc&sort=name%3Aasc"
    )
