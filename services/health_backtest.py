"""Health model backtest: how well the band 90 days before a renewal predicted losing ARR.

The renewals are the closed ones with a renewal date in the 4 quarters up to the as-of date and
a closed date on or before it (point in time: a renewal closed later was still open then), each
scored on its account's snapshot `VALIDATION_LEAD_DAYS` before the renewal date (materialised as
`renewal_scores` at build time, with the five component scores). A proposed model (other weights
or thresholds) re-weights the stored components at query time, so tuning needs no rebuild.

One query per model groups the renewals by (score, band); every figure is derived from that small
table: outcome rate per band on ARR and on counts with 90% intervals, lift of red, recall of lost
ARR by red alone and by red + yellow beside the share of renewal ARR each flags, the AUC, and the
recall curve as the red threshold moves. The band rule lives in SQL only (`band_sql`), shared with
the renewal list, so a drilled list always has the bar's count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from services.cache import memoize
from services.db import Database
from services.filters import Filters
from services.health_model import (
    BANDS,
    COMPONENTS,
    DEFAULT_HEALTH,
    HealthParams,
    band_bound,
    weighted_score_bound,
)
from services.retention import year_before

CURRENT = DEFAULT_HEALTH  # the model in force (what the build scored)
MIN_RENEWALS = 30  # a figure from fewer renewals is shown greyed, "too few renewals"
Z90 = 1.6448536269514722  # two-sided 90% normal quantile
LOW_COMPONENT = 40  # a component "low" below this (diagnostics: loss rate low vs the rest)
WEIGHT_FIELDS = tuple(f"w_{c}" for c in COMPONENTS)


# ---- the model's score and band in SQL ----------------------------------------------------------
def score_sql(params: HealthParams, alias: str) -> tuple[str, list[float]]:
    """The health score under `params` for the snapshot rows of `alias`, + bound parameters.

    With the weights in force it is the stored score (what every other page shows); other
    weights re-weight the stored component scores at query time with the build's own formula
    (`services.health_model.weighted_score_bound`): a component without its feed is left out.
    """
    if params.weights() == CURRENT.weights() and params.neutral_score == CURRENT.neutral_score:
        return f"{alias}.health_score", []
    return weighted_score_bound(params, alias)


def band_sql(params: HealthParams, score: str, stored: str) -> tuple[str, list[float]]:
    """The band of `params` for a score column (the stored band for the model in force)."""
    if params == CURRENT:
        return stored, []  # the same rule, applied by the build
    return band_bound(score, params)


def backtest_window(as_of: date) -> tuple[date, date]:
    """(start, end]: renewal dates in the 4 quarters up to the as-of date."""
    return year_before(as_of), as_of


def scored_renewals_sql(
    filters: Filters, as_of: date, params: HealthParams
) -> tuple[str, list[Any]]:
    """`WITH ... rs AS (...)`: the backtest's renewals under the filters with `score` and `band`
    under `params` (NULL when the account had no snapshot to score it on), + bound parameters.

    The one definition of "the renewals behind the backtest": the backtest and the renewal list
    both read it, so a bar's n and its drilled list agree.
    """
    where, fbind = filters.where("ad")
    score, sbind = score_sql(params, "r")
    band, bbind = band_sql(params, "score", "stored_band")
    start, end = backtest_window(as_of)
    sql = f"""
        WITH scored AS (
            SELECT r.*, r.band AS stored_band, {score} AS score, ad.name, ad.owner_name,
                   ad.segment
            FROM renewal_scores r JOIN account_dim ad ON ad.account_id = r.account_id
            WHERE {where} AND r.renewal_date > ? AND r.renewal_date <= ? AND r.closed_date <= ?
        ), rs AS (SELECT * EXCLUDE (band), {band} AS band FROM scored)
    """
    return sql, [*sbind, *fbind, start, end, end, *bbind]


# ---- statistics ---------------------------------------------------------------------------------
def wilson(successes: float, n: float, z: float = Z90) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion (90% by default); (None, None) when n = 0."""
    if not n or n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def effective_n(weights_sum: float, weights_sq_sum: float) -> float:
    """Kish's effective sample size (Σw)² / Σw² of an ARR-weighted rate."""
    return weights_sum**2 / weights_sq_sum if weights_sq_sum else 0.0


def auc(groups: pd.DataFrame, weighted: bool = False) -> float | None:
    """P(a lost renewal scored lower than a kept one), ties counted half.

    `groups` has one row per distinct score with the lost and kept counts (`n_lost`, `n_kept`)
    and ARR up (`arr_up_lost`, `arr_up_kept`); `weighted` weighs each pair by both ARRs.
    """
    g = groups.sort_values("score")
    lost = (g["arr_up_lost"] if weighted else g["n_lost"]).to_numpy(dtype=float)
    kept = (g["arr_up_kept"] if weighted else g["n_kept"]).to_numpy(dtype=float)
    total_lost, total_kept = lost.sum(), kept.sum()
    if total_lost <= 0 or total_kept <= 0:
        return None
    kept_above = total_kept - np.cumsum(kept)  # kept with a strictly higher score
    return float((lost * (kept_above + 0.5 * kept)).sum() / (total_lost * total_kept))


# ---- the backtest -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stat:
    """One backtest figure with the number of renewals it is computed from."""

    value: float | None
    n: int
    low: float | None = None
    high: float | None = None

    @property
    def too_few(self) -> bool:
        return self.n < MIN_RENEWALS


@dataclass(frozen=True)
class Backtest:
    """The backtest of one model over the renewals of the window."""

    params: HealthParams
    window_start: date
    window_end: date
    renewals: int  # scored
    unscored: int  # closed in the window, but the account had no snapshot to score it on
    by_band: pd.DataFrame  # band, renewals, lost, arr_up, arr_lost, rate_arr(+_low/_high), rate_count(+...), n_eff, too_few
    base_rate_arr: Stat
    base_rate_count: Stat
    lift_red_arr: Stat
    lift_red_count: Stat
    recall_red: Stat
    recall_red_yellow: Stat
    share_red: Stat
    share_red_yellow: Stat
    auc_count: Stat
    auc_arr: Stat
    curve: pd.DataFrame  # threshold 0..100, share_flagged, recall


def _by_band(groups: pd.DataFrame) -> pd.DataFrame:
    sums = groups.groupby("band")[["n_lost", "n_kept", "arr_up", "arr_lost", "arr_up_sq"]].sum()
    out = pd.DataFrame({"band": list(BANDS)}).set_index("band").join(sums).fillna(0)
    out["renewals"] = (out["n_lost"] + out["n_kept"]).astype(int)
    out["lost"] = out["n_lost"].astype(int)
    rows = []
    for band, r in out.iterrows():
        n_eff = effective_n(r.arr_up, r.arr_up_sq)
        rate_arr = r.arr_lost / r.arr_up if r.arr_up else None
        rate_count = r.lost / r.renewals if r.renewals else None
        arr_lo, arr_hi = wilson((rate_arr or 0) * n_eff, n_eff)
        cnt_lo, cnt_hi = wilson(r.lost, r.renewals)
        rows.append(
            {
                "band": band,
                "renewals": int(r.renewals),
                "lost": int(r.lost),
                "arr_up": float(r.arr_up),
                "arr_lost": float(r.arr_lost),
                "rate_arr": rate_arr,
                "rate_arr_low": arr_lo,
                "rate_arr_high": arr_hi,
                "rate_count": rate_count,
                "rate_count_low": cnt_lo,
                "rate_count_high": cnt_hi,
                "n_eff": n_eff,
                "too_few": int(r.renewals) < MIN_RENEWALS,
            }
        )
    return pd.DataFrame(rows)


def _curve(groups: pd.DataFrame) -> pd.DataFrame:
    """Recall of lost ARR and share of renewal ARR flagged when red means score < t, t = 0..100."""
    thresholds = np.arange(0, 101)
    g = groups.groupby("score")[["arr_up", "arr_lost"]].sum().sort_index()
    total_up, total_lost = float(g["arr_up"].sum()), float(g["arr_lost"].sum())
    # Cumulative sums with a leading 0: entry k = renewals with the k lowest scores.
    up = np.concatenate([[0.0], np.cumsum(g["arr_up"].to_numpy(dtype=float))])
    lost = np.concatenate([[0.0], np.cumsum(g["arr_lost"].to_numpy(dtype=float))])
    k = np.searchsorted(g.index.to_numpy(dtype=float), thresholds, side="left")  # score < t
    return pd.DataFrame(
        {
            "threshold": thresholds,
            "share_flagged": up[k] / total_up if total_up else np.nan,
            "recall": lost[k] / total_lost if total_lost else np.nan,
        }
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return float(a / b) if a is not None and b else None


@memoize
def backtest(
    db: Database, filters: Filters, as_of: date, params: HealthParams = CURRENT
) -> Backtest:
    """Backtest `params` (default: the model in force) on the renewals of the 4 quarters to `as_of`."""
    sql, bind = scored_renewals_sql(filters, as_of, params)
    groups = db.query(
        f"""{sql}
        SELECT score, band, COUNT(*) FILTER (WHERE lost) AS n_lost,
               COUNT(*) FILTER (WHERE NOT lost) AS n_kept,
               COALESCE(SUM(arr_up), 0) AS arr_up, COALESCE(SUM(arr_lost), 0) AS arr_lost,
               COALESCE(SUM(arr_up * arr_up), 0) AS arr_up_sq,
               COALESCE(SUM(arr_up) FILTER (WHERE lost), 0) AS arr_up_lost,
               COALESCE(SUM(arr_up) FILTER (WHERE NOT lost), 0) AS arr_up_kept
        FROM rs GROUP BY score, band
        """,
        bind,
    )
    unscored = int((groups.loc[groups["score"].isna(), ["n_lost", "n_kept"]]).to_numpy().sum())
    groups = groups[groups["score"].notna()]
    by_band = _by_band(groups)
    n = int(by_band["renewals"].sum())
    n_lost = int(by_band["lost"].sum())
    arr_up, arr_lost = float(by_band["arr_up"].sum()), float(by_band["arr_lost"].sum())
    band = by_band.set_index("band")
    base_arr = arr_lost / arr_up if arr_up else None
    base_count = n_lost / n if n else None
    n_eff_all = effective_n(arr_up, float(groups["arr_up_sq"].sum()))
    red, yellow = band.loc["red"], band.loc["yellow"]
    flagged_lost_ry = red.arr_lost + yellow.arr_lost
    flagged_up_ry = red.arr_up + yellow.arr_up
    start, end = backtest_window(as_of)
    return Backtest(
        params=params,
        window_start=start,
        window_end=end,
        renewals=n,
        unscored=unscored,
        by_band=by_band,
        base_rate_arr=Stat(base_arr, n, *wilson((base_arr or 0) * n_eff_all, n_eff_all)),
        base_rate_count=Stat(base_count, n, *wilson(n_lost, n)),
        lift_red_arr=Stat(_ratio(red.rate_arr, base_arr), int(red.renewals)),
        lift_red_count=Stat(_ratio(red.rate_count, base_count), int(red.renewals)),
        recall_red=Stat(_ratio(red.arr_lost, arr_lost), n_lost),
        recall_red_yellow=Stat(_ratio(flagged_lost_ry, arr_lost), n_lost),
        share_red=Stat(_ratio(red.arr_up, arr_up), n),
        share_red_yellow=Stat(_ratio(flagged_up_ry, arr_up), n),
        auc_count=Stat(auc(groups) if n else None, n),
        auc_arr=Stat(auc(groups, weighted=True) if n else None, n),
        curve=_curve(groups),
    )


@memoize
def band_mix_now(
    db: Database, filters: Filters, snapshot: date, params: HealthParams = CURRENT
) -> pd.DataFrame:
    """Accounts and ARR per band at one snapshot under `params` (re-weighted for a proposal)."""
    where, fbind = filters.where("ad")
    score, sbind = score_sql(params, "h")
    band, bbind = band_sql(params, "score", "stored_band")
    df = db.query(
        f"""
        WITH s AS (
            SELECT h.arr, h.band AS stored_band, {score} AS score
            FROM health_snapshots h JOIN account_dim ad ON ad.account_id = h.account_id
            WHERE {where} AND h.snapshot_date = ?
        )
        SELECT {band} AS band, COUNT(*) AS accounts, COALESCE(SUM(arr), 0) AS arr
        FROM s GROUP BY ALL
        """,
        [*sbind, *fbind, snapshot, *bbind],
    )
    out = pd.DataFrame({"band": list(BANDS)}).merge(df, on="band", how="left").fillna(0)
    total = out["arr"].sum()
    out["share_arr"] = out["arr"] / total if total else np.nan
    return out


@memoize
def component_diagnostics(db: Database, filters: Filters, as_of: date) -> pd.DataFrame:
    """Per component, over the backtest's scored renewals: deciles, share missing, and the
    outcome rate (ARR) when the component is low (< LOW_COMPONENT) vs the rest, with the lift.

    A component missing for every renewal is a feed absent from the data: not in the score.
    """
    sql, bind = scored_renewals_sql(filters, as_of, CURRENT)
    parts = " UNION ALL ".join(
        f"""
        SELECT '{c}' AS component, COUNT(*) AS renewals,
               COUNT(*) FILTER (WHERE {c}_score IS NULL) AS missing,
               quantile_cont({c}_score, [0.1, 0.25, 0.5, 0.75, 0.9]) AS deciles,
               COUNT(*) FILTER (WHERE {c}_score < {LOW_COMPONENT}) AS n_low,
               SUM(arr_lost) FILTER (WHERE {c}_score < {LOW_COMPONENT})
                   / NULLIF(SUM(arr_up) FILTER (WHERE {c}_score < {LOW_COMPONENT}), 0) AS rate_low,
               COUNT(*) FILTER (WHERE {c}_score >= {LOW_COMPONENT}) AS n_rest,
               SUM(arr_lost) FILTER (WHERE {c}_score >= {LOW_COMPONENT})
                   / NULLIF(SUM(arr_up) FILTER (WHERE {c}_score >= {LOW_COMPONENT}), 0) AS rate_rest
        FROM rs WHERE score IS NOT NULL
        """
        for c in COMPONENTS  # column names from a constant tuple, never from input
    )
    df = db.query(f"{sql} {parts}", bind)
    df["share_missing"] = df["missing"] / df["renewals"].where(df["renewals"] > 0)
    df["feed_absent"] = (df["renewals"] > 0) & (df["missing"] == df["renewals"])
    df["lift"] = df["rate_low"] / df["rate_rest"].where(df["rate_rest"] > 0)
    df["too_few"] = (df["n_low"] < MIN_RENEWALS) | (df["n_rest"] < MIN_RENEWALS)
    return df


# ---- a proposed model from the URL or the page's fields -----------------------------------------
@dataclass(frozen=True)
class Proposal:
    """A proposed model as typed: the params when valid, else a message per field."""

    params: HealthParams | None
    errors: Mapping[str, str]
    weights_text: tuple[str, ...]
    green_text: str
    yellow_text: str

    @property
    def is_current(self) -> bool:
        return self.params == CURRENT


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()[:20]


def _number(text: str, what: str) -> tuple[float | None, str | None]:
    if text == "":
        return None, f"Enter {what}."
    try:
        value = float(text)
    except ValueError:
        return None, f"'{text}' is not a number."
    if not math.isfinite(value):
        return None, f"'{text}' is not a number."
    return value, None


def parse_proposal(weights: Sequence[Any] | None, green: Any, yellow: Any) -> Proposal:
    """Check a proposed model: 5 weights ≥ 0 summing to 100, thresholds 0..100 with the red
    threshold (yellow_min) not above green_min. Missing values take the current model's."""
    current = CURRENT.weights()
    given = list(weights or [])
    texts = tuple(
        _text(given[i]) if i < len(given) and given[i] not in (None, "") else _text(current[c])
        for i, c in enumerate(COMPONENTS)
    )
    green_text = _text(green) if green not in (None, "") else _text(CURRENT.green_min)
    yellow_text = _text(yellow) if yellow not in (None, "") else _text(CURRENT.yellow_min)
    errors: dict[str, str] = {}
    values: dict[str, float] = {}
    for field, text in zip(WEIGHT_FIELDS, texts, strict=True):
        value, error = _number(text, "a weight")
        if error:
            errors[field] = error
        elif value < 0:
            errors[field] = "A weight cannot be negative."
        else:
            values[field] = value
    if len(values) == len(WEIGHT_FIELDS) and abs(sum(values.values()) - 100) > 1e-6:
        errors["weights"] = (
            f"The weights add up to {sum(values.values()):g}; they must add up to 100."
        )
    for field, text, what in (
        ("green_min", green_text, "the green threshold"),
        ("yellow_min", yellow_text, "the red threshold"),
    ):
        value, error = _number(text, what)
        if error:
            errors[field] = error
        elif not 0 <= value <= 100:
            errors[field] = "Use a score from 0 to 100."
        else:
            values[field] = value
    if (
        "green_min" in values
        and "yellow_min" in values
        and values["yellow_min"] > values["green_min"]
    ):
        errors["yellow_min"] = (
            f"The red threshold ({values['yellow_min']:g}) is above the green one "
            f"({values['green_min']:g}): red must start below green."
        )
    params = None if errors else replace(CURRENT, **values)
    if (
        params is not None
        and params.weights() == CURRENT.weights()
        and (
            params.green_min,
            params.yellow_min,
        )
        == (CURRENT.green_min, CURRENT.yellow_min)
    ):
        params = CURRENT
    return Proposal(params, errors, texts, green_text, yellow_text)


def proposal_from_url(params: Mapping[str, Any]) -> Proposal:
    """The proposal in a URL: `w=30,20,15,15,20&green=70&yellow=40` (absent: the current model)."""

    def first(key: str) -> Any:
        value = params.get(key)
        return value[0] if isinstance(value, list | tuple) and value else value

    raw = first("w")
    weights = str(raw).split(",")[: len(COMPONENTS)] if raw not in (None, "") else []
    return parse_proposal(weights, first("green"), first("yellow"))


def proposal_url_params(p: Proposal) -> dict[str, str]:
    """URL parameters of a proposal as typed (nothing for values equal to the current model's)."""
    current = parse_proposal(None, None, None)
    out = {}
    if p.weights_text != current.weights_text:
        out["w"] = ",".join(p.weights_text)
    if p.green_text != current.green_text:
        out["green"] = p.green_text
    if p.yellow_text != current.yellow_text:
        out["yellow"] = p.yellow_text
    return out
