"""Settings from environment variables, each with a working default (the only place they are read)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Runtime settings; see README "Settings" for each variable."""

    db_path: Path
    cache_type: str
    cache_dir: Path
    cache_redis_url: str | None
    cache_timeout_seconds: int
    port: int
    duckdb_memory: str
    build_memory: str
    max_owner_options: int
    export_max_rows: int
    keep_builds: int
    max_request_bytes: int
    # Health model (services/health_model.health_params turns these into HealthParams).
    health_weights: tuple[float, ...]  # usage, trend, support, sentiment, engagement
    health_green_min: float
    health_yellow_min: float
    snapshot_weeks: int
    validation_lead_days: int
    # The month (1-12) a fiscal year starts in: fiscal quarters and years count from it.
    fiscal_year_start_month: int = 1
    # Renewal hygiene (services/renewal_hygiene.py): days ahead checked, target share.
    hygiene_window_days: int = 90
    hygiene_target: float = 0.9
    # Renewal forecast model (services/renewal_forecast.py): closed renewals of the trailing
    # quarters fit the rates; a group with fewer than the minimum falls back (segment, overall).
    forecast_trailing_quarters: int = 8
    forecast_min_renewals: int = 20


def load_settings() -> Settings:
    """Read the environment now (tests change it between cases, so never cache this)."""
    db_path = Path(os.environ.get("CSOPS_DB", PROJECT_ROOT / "data" / "csops.duckdb"))
    if not db_path.is_absolute():
        db_path = PROJECT_ROOT / db_path
    redis_url = os.environ.get("CSOPS_CACHE_REDIS_URL") or None
    cache_type = os.environ.get("CSOPS_CACHE_TYPE", "redis" if redis_url else "filesystem")
    return Settings(
        db_path=db_path,
        cache_type=cache_type,
        cache_dir=Path(os.environ.get("CSOPS_CACHE_DIR", PROJECT_ROOT / ".cache" / "results")),
        cache_redis_url=redis_url,
        cache_timeout_seconds=int(os.environ.get("CSOPS_CACHE_TIMEOUT", "86400")),
        port=int(os.environ.get("CSOPS_PORT", "8050")),
        duckdb_memory=os.environ.get("CSOPS_DUCKDB_MEMORY", "256MB"),
        build_memory=os.environ.get("CSOPS_BUILD_MEMORY", "8GB"),
        max_owner_options=int(os.environ.get("CSOPS_MAX_OWNER_OPTIONS", "1000")),
        export_max_rows=int(os.environ.get("CSOPS_EXPORT_MAX_ROWS", "1000000")),
        keep_builds=int(os.environ.get("CSOPS_KEEP_BUILDS", "3")),
        max_request_bytes=int(os.environ.get("CSOPS_MAX_REQUEST_BYTES", str(1024 * 1024))),
        health_weights=_numbers("CSOPS_HEALTH_WEIGHTS", "30,20,15,15,20"),
        health_green_min=float(os.environ.get("CSOPS_HEALTH_GREEN_MIN", "70")),
        health_yellow_min=float(os.environ.get("CSOPS_HEALTH_YELLOW_MIN", "40")),
        # 4 quarters of renewals (52 weeks) scored 90 days ahead (13 weeks), complete for 26
        # weeks of as-of dates: 52 + 13 + 26 = 91, plus one for the grid's snap.
        snapshot_weeks=int(os.environ.get("CSOPS_SNAPSHOT_WEEKS", "92")),
        validation_lead_days=int(os.environ.get("CSOPS_VALIDATION_LEAD_DAYS", "90")),
        fiscal_year_start_month=_month("CSOPS_FISCAL_YEAR_START_MONTH", "1"),
        hygiene_window_days=int(os.environ.get("CSOPS_HYGIENE_WINDOW_DAYS", "90")),
        hygiene_target=float(os.environ.get("CSOPS_HYGIENE_TARGET", "0.9")),
        forecast_trailing_quarters=int(os.environ.get("CSOPS_FORECAST_TRAILING_QUARTERS", "8")),
        forecast_min_renewals=int(os.environ.get("CSOPS_FORECAST_MIN_RENEWALS", "20")),
    )


def _numbers(name: str, default: str) -> tuple[float, ...]:
    """A comma-separated list of numbers ("30,20,15,15,20"); a bad value names the variable."""
    text = os.environ.get(name, default)
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected numbers separated by commas") from None


def _month(name: str, default: str) -> int:
    """A month number 1-12 (e.g. the fiscal year's first month); a bad value names the variable."""
    text = os.environ.get(name, default)
    try:
        month = int(text)
    except ValueError:
        month = 0
    if not 1 <= month <= 12:
        raise ValueError(f"{name}={text!r}: expected a month number from 1 to 12")
    return month


# ---- Upsell propensity (services/upsell.py; ARCHITECTURE §4 "Upsell propensity") ------------
# The score's reasons, in the order of CSOPS_UPSELL_WEIGHTS.
UPSELL_REASONS = ("seats", "growth", "health", "promoter", "no_open")


@dataclass(frozen=True)
class UpsellSettings:
    """Points and thresholds of the expansion propensity score (services/upsell.UpsellParams
    checks them): score = Σ points of the reasons that apply, so it stays explainable."""

    weights: tuple[float, ...]  # points per reason (UPSELL_REASONS order), adding up to 100
    seat_min_pct: float  # seats used: avg daily active users (30 d) / seats at or above this %
    growth_min_pct: float  # usage growth: last 30 days vs the 60 before up at least this %
    candidate_min: float  # a customer scoring at least this is an expansion candidate
    min_group: int  # a score decile (segment) with fewer opportunities (wins) uses the overall
    validation_quarters: int  # expansions closed in this many quarters validate the score


def load_upsell_settings() -> UpsellSettings:
    """Read the upsell settings from the environment now (never cached, like load_settings)."""
    return UpsellSettings(
        weights=_numbers("CSOPS_UPSELL_WEIGHTS", "30,20,20,15,15"),
        seat_min_pct=float(os.environ.get("CSOPS_UPSELL_SEAT_MIN_PCT", "70")),
        growth_min_pct=float(os.environ.get("CSOPS_UPSELL_GROWTH_MIN_PCT", "10")),
        candidate_min=float(os.environ.get("CSOPS_UPSELL_CANDIDATE_MIN", "50")),
        min_group=int(os.environ.get("CSOPS_UPSELL_MIN_GROUP", "20")),
        validation_quarters=int(os.environ.get("CSOPS_UPSELL_VALIDATION_QUARTERS", "8")),
    )


# ---- App state (services/app_state.py; ARCHITECTURE §5) ---------------------------------------
def app_state_path() -> Path:
    """The SQLite file that keeps what users save (scenarios, plans); CSOPS_APP_STATE."""
    path = Path(os.environ.get("CSOPS_APP_STATE", PROJECT_ROOT / ".state" / "app_state.sqlite"))
    return path if path.is_absolute() else PROJECT_ROOT / path


def user_header() -> str:
    """The request header an auth proxy in front of the app sets to the signed-in user's name
    (CSOPS_USER_HEADER, e.g. X-Forwarded-User); empty: no header is believed."""
    return os.environ.get("CSOPS_USER_HEADER", "").strip()


# ---- Capacity (services/workload.py, services/capacity_*.py) ----------------------------------
@dataclass(frozen=True)
class CapacitySettings:
    """Defaults of the workload model and the what-if scenario; the page can change each one
    for a what-if (the URL keeps the change), never the defaults."""

    # Workload points per account, "Segment/tier=points" pairs (services/workload.py).
    points: str
    red_weight: float  # a red account costs this many times its points (1 = health ignored)
    yellow_weight: float
    capacity_points: float  # a CSM whose capacity_points is missing carries this many points
    target_utilisation: float  # 0-1: plan books and hiring to this share of capacity
    overloaded_above: float  # 0-1+: utilisation above this flags an overloaded book
    underloaded_below: float
    arr_per_csm_target: float  # coverage ratio target (named and pooled CSMs)
    loaded_cost_per_csm: float  # a year, salary and overheads, for the scenario's cost
    attrition_per_year: float  # 0-1: share of CSMs who leave in a year
    ramp_months: int  # months until a new CSM carries a full book
    ramp_productivity: float  # 0-1: share of a full book carried while ramping
    hiring_lead_days: int  # from opening a requisition to the CSM's first day
    rebalance_max_moves_per_csm: int
    rebalance_freeze_renewal_days: int  # accounts renewing within this many days never move


def load_capacity_settings() -> CapacitySettings:
    """Read the capacity settings from the environment now (never cached, like load_settings)."""
    env = os.environ.get
    return CapacitySettings(
        points=env(
            "CSOPS_WORKLOAD_POINTS",
            "Enterprise/named=3.5,Enterprise/pooled=1.2,Enterprise/tech-touch=0.4,"
            "Mid-Market/named=1.4,Mid-Market/pooled=0.6,Mid-Market/tech-touch=0.2,"
            "SMB/named=0.9,SMB/pooled=0.4,SMB/tech-touch=0.14",
        ),
        red_weight=float(env("CSOPS_WORKLOAD_RED_WEIGHT", "1.5")),
        yellow_weight=float(env("CSOPS_WORKLOAD_YELLOW_WEIGHT", "1.15")),
        capacity_points=float(env("CSOPS_CSM_CAPACITY_POINTS", "100")),
        target_utilisation=float(env("CSOPS_TARGET_UTILISATION", "0.85")),
        overloaded_above=float(env("CSOPS_OVERLOADED_ABOVE", "1.10")),
        underloaded_below=float(env("CSOPS_UNDERLOADED_BELOW", "0.70")),
        arr_per_csm_target=float(env("CSOPS_ARR_PER_CSM_TARGET", "5000000")),
        loaded_cost_per_csm=float(env("CSOPS_LOADED_COST_PER_CSM", "150000")),
        attrition_per_year=float(env("CSOPS_CSM_ATTRITION_PER_YEAR", "0.15")),
        ramp_months=int(env("CSOPS_CSM_RAMP_MONTHS", "3")),
        ramp_productivity=float(env("CSOPS_CSM_RAMP_PRODUCTIVITY", "0.5")),
        hiring_lead_days=int(env("CSOPS_HIRING_LEAD_DAYS", "75")),
        rebalance_max_moves_per_csm=int(env("CSOPS_REBALANCE_MAX_MOVES_PER_CSM", "10")),
        rebalance_freeze_renewal_days=int(env("CSOPS_REBALANCE_FREEZE_RENEWAL_DAYS", "60")),
    )
