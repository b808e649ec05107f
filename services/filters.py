"""Global filters: URL query string <-> Filters <-> a SQL WHERE clause with bound parameters.

This is the one place a filter value meets SQL. Column names come only from the allow-list
below; every value is a bound parameter, so a hostile value is just a value that matches nothing.
A later access-control layer ANDs the viewer's scope in here, so no query can bypass it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

from services.errors import InvalidFilter
from services.health_model import BANDS

# URL key -> column of the `account_dim` table (built by the loader).
DIMENSIONS: dict[str, str] = {
    "segment": "segment",
    "region": "region",
    "team": "team",
    "owner": "owner_csm_id",
    "tier": "coverage_tier",
}
DIMENSION_LABELS = {
    "segment": "Segment",
    "region": "Region",
    "team": "Team",
    "owner": "Owner (CSM)",
    "tier": "Coverage tier",
}
MAX_VALUES_PER_DIMENSION = 200
MAX_VALUE_LENGTH = 200  # longer than any real segment, team or CSM id


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    values = value if isinstance(value, list | tuple) else [value]
    cleaned = sorted({str(v) for v in values if v is not None and str(v) != ""})
    too_long = next((v for v in cleaned if len(v) > MAX_VALUE_LENGTH), None)
    if too_long is not None:
        raise InvalidFilter(
            f"A filter value is too long ({len(too_long):,} characters; at most "
            f"{MAX_VALUE_LENGTH}). Check the link or reset the filters."
        )
    return tuple(cleaned[:MAX_VALUES_PER_DIMENSION])


def parse_date(value: Any, name: str = "as_of") -> date | None:
    """Parse an ISO date from the URL; a malformed one raises InvalidFilter with a clear message."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value[0] if isinstance(value, list | tuple) else value)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidFilter(
            f"'{text[:40]}' is not a valid date for '{name}': use YYYY-MM-DD, e.g. 2026-09-30."
        ) from exc


@dataclass(frozen=True)
class Filters:
    """The global filter state of every view (empty tuple = no restriction)."""

    segment: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    as_of: date | None = None

    def __post_init__(self) -> None:
        # One canonical form (sorted, de-duplicated) so equal views share URLs and cache keys.
        for dim in DIMENSIONS:
            object.__setattr__(self, dim, _as_tuple(list(getattr(self, dim))))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Filters:
        """Build from parsed query parameters (values may be strings or lists)."""
        values = {dim: _as_tuple(params.get(dim)) for dim in DIMENSIONS}
        return cls(**values, as_of=parse_date(params.get("as_of")))

    @classmethod
    def from_search(cls, search: str | None) -> Filters:
        """Build from a URL query string such as '?segment=SMB&segment=Enterprise'."""
        return cls.from_params(parse_query(search))

    def to_params(self) -> dict[str, list[str]]:
        params: dict[str, list[str]] = {
            dim: list(getattr(self, dim)) for dim in DIMENSIONS if getattr(self, dim)
        }
        if self.as_of:
            params["as_of"] = [self.as_of.isoformat()]
        return params

    def to_search(self, extra: Mapping[str, Any] | None = None) -> str:
        """The canonical query string (with '?'), optionally with page-level parameters."""
        params: dict[str, Any] = dict(self.to_params())
        for key, value in (extra or {}).items():
            if value not in (None, "", [], ()):
                params[key] = value
        return "?" + urlencode(params, doseq=True) if params else ""

    def with_values(self, **changes: Any) -> Filters:
        """A copy with some dimensions replaced (used by drill-downs)."""
        unknown = [k for k in changes if k not in DIMENSIONS and k != "as_of"]
        if unknown:
            raise InvalidFilter(f"Unknown filter {unknown[0][:40]!r}.")
        normalised = {
            k: (_as_tuple(v) if k in DIMENSIONS else parse_date(v)) for k, v in changes.items()
        }
        return replace(self, **normalised)

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def where(self, alias: str = "ad") -> tuple[str, list[str]]:
        """SQL condition over `account_dim` (aliased) plus its bound parameters."""
        clauses, params = ["TRUE"], []
        for dim, column in DIMENSIONS.items():
            values = getattr(self, dim)
            if values:
                placeholders = ", ".join("?" for _ in values)
                clauses.append(f"{alias}.{column} IN ({placeholders})")
                params.extend(values)
        return " AND ".join(clauses), params


def parse_query(search: str | None) -> dict[str, list[str]]:
    """Parse '?a=1&a=2' into {'a': ['1', '2']} (blank values dropped)."""
    if not search:
        return {}
    return parse_qs(search.lstrip("?"), keep_blank_values=False)


def contains_pattern(text: str) -> str:
    """ILIKE pattern (with ESCAPE '\\') matching `text` anywhere, wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class AccountDrill:
    """Drill-down parameters of an account list (beyond the global Filters): the band, inputs
    and search a clicked number stands for. (Renewals behind a backtest bar are a renewal list:
    services/renewal_list.py.)"""

    band: tuple[str, ...] = ()
    inputs: str = ""  # "incomplete": accounts whose health misses an input
    search: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AccountDrill:
        def first(key: str) -> str:
            value = params.get(key) or ""
            return str(value[0] if isinstance(value, list | tuple) else value)[:100]

        raw_band = params.get("band") or ()
        bands = tuple(
            sorted(
                {str(b) for b in (raw_band if isinstance(raw_band, list | tuple) else [raw_band])}
            )
        )
        unknown = [b for b in bands if b not in BANDS]
        if unknown:
            raise InvalidFilter(
                f"Unknown health band {unknown[0][:40]!r}: use green, yellow or red."
            )
        inputs = first("inputs")
        if inputs not in ("", "incomplete"):
            raise InvalidFilter(f"Unknown value {inputs[:40]!r} for 'inputs': use 'incomplete'.")
        return cls(band=bands, inputs=inputs, search=first("q"))

    def to_params(self) -> dict[str, Any]:
        return {
            "band": list(self.band),
            "inputs": self.inputs,
            "q": self.search,
        }

    def with_search(self, text: str) -> AccountDrill:
        return replace(self, search=(text or "").strip()[:100])

    def where(self, account_alias: str = "ad", health_alias: str = "h") -> tuple[str, list[str]]:
        """SQL condition over `account_dim` and `health_snapshots` (aliased) plus its bound
        parameters."""
        clauses, params = ["TRUE"], []
        if self.band:
            clauses.append(f"{health_alias}.band IN (" + ", ".join("?" for _ in self.band) + ")")
            params += list(self.band)
        if self.inputs == "incomplete":
            clauses.append(f"{health_alias}.missing_inputs IS NOT NULL")
        if self.search:
            a = account_alias
            clauses.append(
                f"({a}.name ILIKE ? ESCAPE '\\' OR {a}.account_id ILIKE ? ESCAPE '\\' "
                f"OR {a}.owner_name ILIKE ? ESCAPE '\\')"
            )
            params += [contains_pattern(self.search)] * 3
        return " AND ".join(clauses), params


def parse_sort(
    values: Any, sortable: Mapping[str, str], max_keys: int = 5
) -> tuple[tuple[str, str], ...]:
    """`field:asc|desc` values from the URL as a list's sort, fields from `sortable` only;
    anything else is refused with a message naming the value."""
    if isinstance(values, str):
        values = [values]
    sort = []
    for value in list(values or [])[:max_keys]:
        field, _, direction = str(value).partition(":")
        direction = direction or "asc"
        if field not in sortable or direction not in ("asc", "desc"):
            example = next(iter(sortable), "name")
            raise InvalidFilter(
                f"Cannot sort by {str(value)[:40]!r}: use a column name and asc or desc, "
                f"for example sort={example}:desc."
            )
        sort.append((field, direction))
    return tuple(sort)
