"""Builds tiny databases from hand-written rows through the real loader (CSV files)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from data.loader import SOURCE_TABLES, schema_columns
from services.build import build
from services.db import Database

COLUMNS = schema_columns()
CSMS = [
    {"csm_id": "C1", "name": "Ana Adams", "team": "East", "role": "CSM", "region": "NA"},
    {"csm_id": "C2", "name": "Ben Baker", "team": "West", "role": "CSM", "region": "NA"},
]


def account(
    account_id: str,
    segment: str = "SMB",
    tier: str = "named",
    owner: str = "C1",
    seats: int = 10,
    created: str = "2023-01-01",
    region: str = "North America",
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "name": f"Account {account_id}",
        "segment": segment,
        "region": region,
        "coverage_tier": tier,
        "owner_csm_id": owner,
        "created_date": created,
        "seats_purchased": seats,
    }


def contract(
    account_id: str, start: str, end: str, arr: float = 10, seats: int = 1, contract_id: str = ""
) -> dict[str, Any]:
    return {
        "contract_id": contract_id or f"K-{account_id}-{start}",
        "account_id": account_id,
        "start_date": start,
        "end_date": end,
        "arr": arr,
        "seats": seats,
    }


def renewal(
    renewal_id: str,
    account_id: str,
    on: date,
    arr_up: float,
    outcome: str,
    renewed: float | None,
    closed: date | None = None,
) -> dict[str, Any]:
    """A renewal on `on`, closed then (or on `closed`) unless it is still open."""
    return {
        "renewal_id": renewal_id,
        "account_id": account_id,
        "renewal_date": on.isoformat(),
        "arr_up_for_renewal": arr_up,
        "forecast_category": "commit",
        "outcome": outcome,
        "renewed_arr": renewed,
        "closed_date": (closed or on).isoformat() if outcome != "open" else None,
    }


def expansion(
    opportunity_id: str,
    account_id: str,
    closed: str,
    amount: float,
    outcome: str = "won",
    created: str = "2025-01-01",
) -> dict[str, Any]:
    """An upsell opportunity closing (or expected to close, when open) on `closed`."""
    return {
        "opportunity_id": opportunity_id,
        "account_id": account_id,
        "type": "upsell",
        "stage": "proposal" if outcome == "open" else "closed",
        "amount_arr": amount,
        "created_date": created,
        "close_date": closed,
        "outcome": outcome,
    }


def touchpoints(acc: str, first: date, last: date) -> list[dict[str, Any]]:
    """A touchpoint on the 1st and 15th of every month from `first`'s month to `last`:
    engagement 100, so with no other health feed the account's health is 100 (green)."""
    rows, d = [], date(first.year, first.month, 1)
    while d <= last:
        for day in (1, 15):
            rows.append(
                {
                    "touchpoint_id": f"T-{acc}-{d.isoformat()}-{day}",
                    "account_id": acc,
                    "csm_id": "C1",
                    "occurred_at": d.replace(day=day).isoformat() + " 10:00:00",
                    "type": "check-in",
                    "channel": "video",
                }
            )
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return rows


def write_source(folder: Path, tables: dict[str, list[dict[str, Any]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table in SOURCE_TABLES:
        rows = tables.get(table, CSMS if table == "csms" else [])
        with open(folder / f"{table}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS[table])
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return folder


def build_tiny(tmp_path: Path, tables: dict[str, list[dict[str, Any]]], as_of: date) -> Database:
    source = write_source(tmp_path / "source", tables)
    target = tmp_path / "tiny.duckdb"
    build(source, target, as_of=as_of)
    return Database(target)
