"""Values the global filters can take (dropdown options), from the account dimension."""

from __future__ import annotations

from services.account_list import contains_pattern
from services.cache import memoize
from services.db import Database
from services.filters import Filters


@memoize
def dimension_options(db: Database) -> dict[str, list[dict[str, str]]]:
    """Values each global filter can take, as dropdown options."""
    df = db.query("SELECT DISTINCT segment, region, team, coverage_tier FROM account_dim")
    owners = db.query(
        "SELECT DISTINCT ad.owner_csm_id AS value, ad.owner_name || ' (' || ad.team || ')' AS label "
        "FROM account_dim ad WHERE ad.owner_csm_id IS NOT NULL ORDER BY label"
    )
    segment_order = {"Enterprise": 0, "Mid-Market": 1, "SMB": 2}

    def opts(col: str, key=None) -> list[dict[str, str]]:
        values = sorted(df[col].dropna().unique(), key=key)
        return [{"label": str(v), "value": str(v)} for v in values]

    return {
        "segment": opts("segment", key=lambda v: segment_order.get(v, 9)),
        "region": opts("region"),
        "team": opts("team"),
        "tier": opts("coverage_tier"),
        "owner": owners.to_dict("records"),
    }


@memoize
def owner_teams(db: Database) -> dict[str, str]:
    """Owner CSM id -> team, to narrow the owner filter to the chosen teams."""
    df = db.query(
        "SELECT DISTINCT owner_csm_id, team FROM account_dim WHERE owner_csm_id IS NOT NULL"
    )
    return dict(zip(df["owner_csm_id"], df["team"], strict=True))


def owner_options_matching(
    db: Database, text: str, teams: tuple[str, ...] = (), limit: int = 50
) -> list[dict[str, str]]:
    """Owner dropdown options whose name contains `text` (optionally within teams)."""
    team_filter = Filters(team=teams).where("ad")
    df = db.query(
        f"""
        SELECT DISTINCT ad.owner_csm_id AS value, ad.owner_name || ' (' || ad.team || ')' AS label
        FROM account_dim ad
        WHERE {team_filter[0]} AND ad.owner_csm_id IS NOT NULL
          AND ad.owner_name ILIKE ? ESCAPE '\\'
        ORDER BY label LIMIT ?
        """,
        [*team_filter[1], contains_pattern(text[:60]), limit],
    )
    return df.to_dict("records")
