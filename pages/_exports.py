"""File downloads served by Flask (not callbacks): the Accounts list as CSV or XLSX.

`/export/accounts.csv` and `/export/accounts.xlsx` take the Accounts page's query parameters
(global filters, drill, `q`, `as_of`) plus `sort=<field>:<asc|desc>` (repeatable), and return
exactly the rows the grid shows, in its order. Build links with `export_href`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from datetime import date
from typing import Any

from flask import Flask, Response, request, send_file

from services.asof import resolve_as_of
from services.capacity_projection_export import scenario_csv, scenario_export, scenario_xlsx
from services.db import get_database
from services.errors import DataUnavailable, ServiceError
from services.exports import accounts_csv, accounts_xlsx, parse_sort
from services.filters import AccountDrill, Filters
from services.rebalancing import RebalanceOptions
from services.rebalancing_export import moves_csv, moves_export
from services.workload import WorkloadParams

log = logging.getLogger(__name__)

KINDS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_href(
    kind: str,
    filters: Filters,
    drill: AccountDrill,
    snapshot: date,
    sort: tuple[tuple[str, str], ...] = (),
) -> str:
    """Link to the export of the Accounts list as the grid shows it (kind: 'csv' or 'xlsx')."""
    if kind not in KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    return f"/export/accounts.{kind}" + filters.to_search(
        {
            **drill.to_params(),
            "as_of": snapshot.isoformat(),
            "sort": [f"{field}:{direction}" for field, direction in sort],
        }
    )


def _message(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _logged_stream(first: bytes, chunks: Generator[bytes]) -> Iterator[bytes]:
    """Pass chunks on; a failure after the response started can only be logged (and cut short).

    Closing this (the server does, also when the client goes away) closes `chunks` and so
    releases its database cursor.
    """
    try:
        yield first
        yield from chunks
    except Exception:
        log.exception("export failed while streaming")
        raise
    finally:
        chunks.close()


def _download(what: str, produce: Callable[[], Response]) -> Response:
    """`produce()`'s file, or a plain message: what went wrong is logged, never shown."""
    try:
        return produce()
    except DataUnavailable:
        log.exception("%s export: no database", what)
        return _message("The data is not available right now; try again in a minute.", 503)
    except ServiceError as exc:
        return _message(str(exc), 400)
    except Exception:
        log.exception("%s export failed", what)
        return _message("The export could not be produced; it has been logged.", 500)


def _csv_response(body: Any, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def register_export_routes(server: Flask) -> None:
    @server.route("/export/accounts.<kind>")
    def export_accounts(kind: str) -> Response:
        if kind not in KINDS:
            return _message("Exports come as accounts.csv or accounts.xlsx.", 404)
        params = request.args.to_dict(flat=False)

        def produce() -> Response:
            filters = Filters.from_params(params)
            drill = AccountDrill.from_params(params)
            sort = parse_sort(params.get("sort"))
            db = get_database()
            snapshot = resolve_as_of(db, filters).date
            filename = f"accounts-{snapshot:%Y%m%d}.{kind}"
            if kind == "xlsx":
                return send_file(
                    accounts_xlsx(db, filters, drill, snapshot, sort),
                    mimetype=XLSX_MIMETYPE,
                    as_attachment=True,
                    download_name=filename,
                )
            chunks = accounts_csv(db, filters, drill, snapshot, sort)
            first = next(chunks)  # runs the query: its errors still get a proper answer
            return _csv_response(_logged_stream(first, chunks), filename)

        return _download("accounts", produce)

    # ---- Capacity: a what-if scenario (pages/_capacity_scenario.py) ------------------------
    @server.route("/export/capacity-scenario.<kind>")
    def export_capacity_scenario(kind: str) -> Response:
        """The scenario of the page's URL parameters: inputs and quarterly table."""
        if kind not in KINDS:
            return _message(
                "Scenario exports come as capacity-scenario.csv or capacity-scenario.xlsx.", 404
            )
        params = request.args.to_dict(flat=False)

        def produce() -> Response:
            filters = Filters.from_params(params)
            db = get_database()
            export = scenario_export(db, filters, resolve_as_of(db, filters).date, params)
            if kind == "xlsx":
                return send_file(
                    scenario_xlsx(export),
                    mimetype=XLSX_MIMETYPE,
                    as_attachment=True,
                    download_name=f"{export.filename}.xlsx",
                )
            return _csv_response(scenario_csv(export), f"{export.filename}.csv")

        return _download("scenario", produce)

    # ---- Capacity: the rebalancing moves (pages/_capacity_rebalance.py) ----------------------
    @server.route("/export/rebalance-moves.csv")
    def export_rebalance_moves() -> Response:
        """The moves of the rebalancing tab's URL parameters, for a CRM update."""
        params = request.args.to_dict(flat=False)

        def produce() -> Response:
            filters = Filters.from_params(params)
            db = get_database()
            export = moves_export(db, filters, resolve_as_of(db, filters).date, params)
            return _csv_response(moves_csv(export.plan), f"{export.filename}.csv")

        return _download("rebalance", produce)

    # ---- Compensation: a person's statement (pages/_comp_statement.py) ----------------------
    @server.route("/export/compensation/statement.xlsx")
    def export_comp_statement() -> Response:
        """A statement as XLSX: an issued one (`statement=<id>`, exactly as issued) or the live
        one of the Statements tab's URL parameters (filters, as_of, plan, version, period, csm)."""
        params = request.args.to_dict(flat=False)

        def produce() -> Response:
            from services.comp_plan_store import plan_for_view
            from services.comp_statement import (
                build_statement,
                issued_statement,
                statement_filename,
                statement_xlsx,
            )

            flat = {k: v[0] for k, v in params.items() if v}
            if flat.get("statement"):
                statement = issued_statement(flat["statement"])
            else:
                if not flat.get("csm"):
                    return _message("Pick a person first: this link names no one (csm=).", 400)
                filters = Filters.from_params(params)
                db = get_database()
                day = resolve_as_of(db, filters).date
                plan_view = plan_for_view(flat, day)
                statement = build_statement(db, filters, plan_view, flat["csm"][:64], day)
            return send_file(
                statement_xlsx(statement),
                mimetype=XLSX_MIMETYPE,
                as_attachment=True,
                download_name=statement_filename(statement),
            )

        return _download("statement", produce)


def rebalance_export_href(
    filters: Filters, snapshot: date, workload: WorkloadParams, options: RebalanceOptions
) -> str:
    """Link to the CSV of the rebalancing moves the tab shows (same parameters)."""
    return "/export/rebalance-moves.csv" + filters.to_search(
        {**workload.to_params(), **options.to_params(), "as_of": snapshot.isoformat()}
    )
