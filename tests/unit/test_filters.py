"""Filters: URL round trip, SQL with bound parameters only, hostile values stay values."""

from datetime import date

import pytest

from services.errors import InvalidFilter
from services.filters import Filters, parse_query
from services.retention import arr_at
from tests.unit.tiny import account, build_tiny, contract

HOSTILE = ["'; DROP TABLE accounts; --", "<script>alert(1)</script>", "Unknown segment"]


def test_round_trip_through_the_query_string():
    f = Filters(segment=("SMB", "Enterprise"), owner=("C1",), as_of=date(2026, 9, 30))
    search = f.to_search()
    assert search == "?segment=Enterprise&segment=SMB&owner=C1&as_of=2026-09-30"
    assert Filters.from_search(search) == Filters(
        segment=("Enterprise", "SMB"), owner=("C1",), as_of=date(2026, 9, 30)
    )
    assert Filters.from_search("") == Filters() and Filters().to_search() == ""


def test_page_parameters_ride_along():
    f = Filters(region=("EMEA",))
    assert f.to_search({"band": "red", "q": ""}) == "?region=EMEA&band=red"
    assert parse_query("?band=red&band=green") == {"band": ["red", "green"]}


def test_where_binds_every_value():
    f = Filters(segment=tuple(HOSTILE), team=("East",))
    sql, params = f.where("ad")
    for value in HOSTILE:
        assert value not in sql
    assert sql == "TRUE AND ad.segment IN (?, ?, ?) AND ad.team IN (?)"
    assert sorted(params) == sorted([*HOSTILE, "East"])


def test_malformed_date_gives_a_clear_message():
    with pytest.raises(InvalidFilter, match="not a valid date"):
        Filters.from_search("?as_of=2026-13-45")
    with pytest.raises(InvalidFilter, match="YYYY-MM-DD"):
        Filters.from_params({"as_of": "<script>"})


def test_unknown_dimensions_are_ignored_and_values_capped():
    f = Filters.from_search(
        "?segment=SMB&evil=1&owner=" + "&owner=".join(str(i) for i in range(500))
    )
    assert f.segment == ("SMB",)
    assert len(f.owner) == 200


def test_hostile_values_are_plain_values(tmp_path):
    # One account per hostile string, with that string as its region: a bound value matches
    # exactly its own account; SQL pasted into the query would fail or match something else.
    day = date(2026, 6, 30)
    ids = [f"H{i}" for i in range(len(HOSTILE))]
    db = build_tiny(
        tmp_path,
        {
            "accounts": [account(i, region=v) for i, v in zip(ids, HOSTILE, strict=True)],
            "contracts": [
                contract(i, "2026-01-01", "2027-01-01", arr=10 * (n + 1)) for n, i in enumerate(ids)
            ],
        },
        day,
    )
    for n, value in enumerate(HOSTILE):
        assert arr_at(db, Filters(region=(value,)), day) == {"arr": 10.0 * (n + 1), "accounts": 1}
    assert arr_at(db, Filters(region=("nothing like it",)), day) == {"arr": 0.0, "accounts": 0}
