"""File downloads served by Flask (not callbacks): CSV of the Accounts list as filtered."""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from services.account_list import AccountDrill, account_rows_for_export
from services.asof import resolve_as_of
from services.db import get_database
from services.errors import ServiceError
from services.filters import Filters

log = logging.getLogger(__name__)


def register_export_routes(server: Flask) -> None:
    @server.route("/export/accounts.csv")
    def export_accounts_csv() -> Response:
        params = request.args.to_dict(flat=False)
        try:
            filters = Filters.from_params(params)
            drill = AccountDrill.from_params(params)
            db = get_database()
            snapshot = resolve_as_of(db, filters).date
            df = account_rows_for_export(db, filters, drill, snapshot)
        except ServiceError as exc:
            return Response(str(exc), status=400, mimetype="text/plain")
        except Exception:
            log.exception("export failed")
            return Response(
                "The export could not be produced; it has been logged.",
                status=500,
                mimetype="text/plain",
            )
        return Response(
            df.to_csv(index=False),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=accounts-{snapshot:%Y%m%d}.csv"},
        )
