"""Values the global filters can take (dropdown options), within the viewer's filters.

Options cascade: each dimension lists the values that have customers under the *other*
dimensions' filters on the view's date, with how many, so a manager cannot pick an empty
combination by accident. Every function takes the `Filters` it applies, so a viewer's scope
ANDed into them narrows the options too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.cache import memoize
from services.db import Database
from services.filters import DIMENSIONS, Filters, contains_pattern

SEGMENT_ORDER = {"Enterprise": 0, "Mid-Market": 1, "SMB": 2}


@memoize
def owner_labels(db: Database, filters: Filters) -> dict[str, str]:
    """Owner CSM id -> "Name (Team)" for the owners of accounts within `filters`."""
    where, params = filters.where("ad")
    df = db.query(
        f"""
        SELECT DISTINCT ad.owner_csm_id AS value, ad.owner_name || ' (' || ad.team || ')' AS label
        FROM account_dim ad WHERE {where} AND ad.owner_csm_id IS NOT NULL ORDER BY label
        """,
        params,
    )
    return dict(zip(df["value"], df["label"], strict=True))


@memoize
def filter_options(
    db: Database, filters: Filters, snapshot: date
) -> dict[str, list[dict[str, str]]]:
    """Per dimension: the values with customers on `snapshot` under the other dimensions'
    filters, labelled with their customer count, e.g. {"label": "SMB (1,204)", "value": "SMB"}.

    A value chosen in `filters` is always listed (with 0 when nothing matches), so the control
    keeps it.
    """
    labels = owner_labels(db, replace(filters, owner=()))
    result = {}
    for dim, column in DIMENSIONS.items():
        others = replace(filters, **{dim: ()})
        where, params = others.where("hc")
        df = db.query(
            f"""
            SELECT hc.{column} AS value, SUM(hc.accounts) AS accounts
            FROM health_cube hc
            WHERE {where} AND hc.snapshot_date = ? AND hc.{column} IS NOT NULL
            GROUP BY ALL
            """,
            [*params, snapshot],
        )
        counts = dict(zip(df["value"].astype(str), df["accounts"].astype(int), strict=True))
        for chosen in getattr(filters, dim):
            counts.setdefault(chosen, 0)
        names = {v: labels.get(v, v) for v in counts} if dim == "owner" else {v: v for v in counts}
        order = sorted(counts, key=lambda v: (SEGMENT_ORDER.get(v, 9), names[v].lower()))
        result[dim] = [{"label": f"{names[v]} ({counts[v]:,})", "value": v} for v in order]
    return result


@memoize
def owner_teams(db: Database, filters: Filters) -> dict[str, str]:
    """Owner CSM id -> team, for the owners of accounts within `filters`."""
    where, params = filters.where("ad")
    df = db.query(
        f"SELECT DISTINCT ad.owner_csm_id, ad.team FROM account_dim ad "
        f"WHERE {where} AND ad.owner_csm_id IS NOT NULL",
        params,
    )
    return dict(zip(df["owner_csm_id"], df["team"], strict=True))


def owner_options_matching(
    db: Database, filters: Filters, text: str, limit: int = 50
) -> list[dict[str, str]]:
    """Owner options whose name contains `text`, among the owners within `filters` (the
    chosen owners aside, so typing finds the others)."""
    where, params = replace(filters, owner=()).where("ad")
    df = db.query(
        f"""
        SELECT DISTINCT ad.owner_csm_id AS value, ad.owner_name || ' (' || ad.team || ')' AS label
        FROM account_dim ad
        WHERE {where} AND ad.owner_csm_id IS NOT NULL
          AND ad.owner_name ILIKE ? ESCAPE '\\'
        ORDER BY label LIMIT ?
        """,
        [*params, contains_pattern(text[:60]), limit],
    )
    return df.to_dict("records")
