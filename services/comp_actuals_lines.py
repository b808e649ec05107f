"""The renewals and expansions behind a person's numbers, with whom each was credited to and
why (the attribution rule: services/ownership.py; a statement lists these lines).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from services.cache import memoize
from services.comp_actuals_people import UNOWNED, UNOWNED_NAME, csm_roster
from services.comp_actuals_sql import Window, accounts_cte, closed_day_sql
from services.comp_periods import Period
from services.db import Database
from services.filters import Filters
from services.ownership import BEGINNING, owner_on
from services.renewal_forecast import retained_arr_sql
from services.sql_fragments import renewal_closed_by

LINE_COLUMNS = (
    "kind",
    "id",
    "account_id",
    "account_name",
    "closed_date",
    "arr_up",
    "amount",
    "retained",
    "outcome",
    "credited_to",
    "credited_name",
    "owner_now",
    "owner_now_name",
    "owned_from",
)


@memoize
def attributed_lines(
    db: Database, filters: Filters, period: Period, as_of: date, csm_id: str
) -> pd.DataFrame:
    """The renewals closed and expansions won in the period to date credited to `csm_id` or to
    anyone they are measured on (a Manager's team, everyone for a Director; UNOWNED: the lines
    nobody owned), oldest first. Columns: LINE_COLUMNS; `owner_now` is the owner on the as-of
    date, `owned_from` the first day of the credited owner's span (None: the account's only
    known owner, owning it all along)."""
    w = Window(period, as_of)
    members = _measured_on(csm_roster(db), csm_id)
    if members is not None and not members:
        return pd.DataFrame(columns=list(LINE_COLUMNS))
    acc, scope = accounts_cte(filters)
    closed_day = closed_day_sql("r")
    df = db.query(
        f"""WITH v AS (SELECT CAST(? AS DATE) AS s, CAST(? AS DATE) AS t, CAST(? AS DATE) AS a),
        {acc},
        lines AS (
            SELECT 'renewal' AS kind, r.renewal_id AS id, r.account_id, {closed_day} AS closed_date,
                   r.arr_up_for_renewal AS arr_up, r.renewed_arr AS amount,
                   {retained_arr_sql("r")} AS retained, r.outcome
            FROM renewals r JOIN acc ON acc.account_id = r.account_id CROSS JOIN v
            WHERE {renewal_closed_by("v.t", "r")} AND {closed_day} >= v.s
            UNION ALL
            SELECT 'expansion', e.opportunity_id, e.account_id, e.close_date,
                   NULL, COALESCE(e.amount_arr, 0), COALESCE(e.amount_arr, 0), e.outcome
            FROM expansions e JOIN acc ON acc.account_id = e.account_id CROSS JOIN v
            WHERE e.outcome = 'won' AND e.close_date >= v.s AND e.close_date <= v.t
        )
        SELECT l.kind, l.id, l.account_id, ad.name AS account_name, l.closed_date, l.arr_up,
               l.amount, l.retained, l.outcome,
               COALESCE(os.owner_csm_id, ?) AS credited_to,
               COALESCE(cc.name, os.owner_csm_id, ?) AS credited_name,
               COALESCE(onow.owner_csm_id, ?) AS owner_now,
               COALESCE(cn.name, onow.owner_csm_id, ?) AS owner_now_name,
               CASE WHEN os.valid_from > CAST(? AS DATE) THEN os.valid_from END AS owned_from
        FROM lines l CROSS JOIN v
        JOIN account_dim ad ON ad.account_id = l.account_id
        LEFT JOIN owner_spans os ON {owner_on("l.closed_date", "l.account_id")}
        LEFT JOIN owner_spans onow ON {owner_on("v.a", "l.account_id", "onow")}
        LEFT JOIN csms cc ON cc.csm_id = os.owner_csm_id
        LEFT JOIN csms cn ON cn.csm_id = onow.owner_csm_id
        ORDER BY l.closed_date, l.kind DESC, l.id""",
        [w.period.start, w.to_date, w.as_of, *scope]
        + [UNOWNED, UNOWNED_NAME, UNOWNED, UNOWNED_NAME, BEGINNING],
    )
    if members is not None:
        df = df[df["credited_to"].isin(members)]
    df = df[list(LINE_COLUMNS)].reset_index(drop=True)
    for col in ("closed_date", "owned_from"):  # plain dates (None: none), as a statement shows
        df[col] = pd.Series([_as_date(v) for v in df[col]], index=df.index, dtype=object)
    return df


def _as_date(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _measured_on(csms: pd.DataFrame, csm_id: str) -> set[str] | None:
    """The owner keys whose lines count for `csm_id` (None: every one, a Director's; empty:
    nobody of that id)."""
    if csm_id == UNOWNED:
        return {UNOWNED}
    row = csms[csms["csm_id"] == csm_id]
    if row.empty:
        return set()
    role = row["role"].iloc[0]
    if role == "Director":
        return None
    if role == "Manager":
        return {csm_id, *csms.loc[csms["manager_id"] == csm_id, "csm_id"]}
    return {csm_id}
