"""Bonus metrics from summed numerators and denominators: to date, projected with an 80%
range, best and worst (the definitions: services/comp_actuals.py's docstring).

Pure numpy on one row of sums per person (`services.comp_actuals` sums them in SQL and rolls
them up to managers and the director), so a team's rate is its pooled numerators over pooled
denominators, never an average of its people's rates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from services.comp_plan import METRICS
from services.renewal_forecast import Z80

# Read on one day (the weekly snapshot) and carried to the period's end: while the period is
# open their best and worst are today's value, not a bound of where they can land.
CARRIED_METRICS = ("green_share", "hygiene")
FRAME_COLUMNS = (
    "csm_id",
    "metric",
    "actual",
    "numerator",
    "denominator",
    "projected",
    "projected_low",
    "projected_high",
    "best",
    "worst",
    "closed_count",
    "open_count",
)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, np.asarray(num, dtype=float) / np.where(den > 0, den, 1), np.nan)


def _rate_rows(
    key: str,
    num,
    den,
    proj_num,
    proj_den,
    best_num,
    worst_num,
    sd,
    closed,
    opened,
    can_project,
) -> dict[str, Any]:
    """One rate metric's columns: actual = num / den; projected = proj_num / proj_den with the
    range ± Z80·sd on the numerator held within [worst_num, best_num]."""
    low = np.clip(proj_num - Z80 * sd, worst_num, best_num)
    high = np.clip(proj_num + Z80 * sd, worst_num, best_num)
    blank = ~can_project
    return {
        "metric": key,
        "actual": _ratio(num, den),
        "numerator": num,
        "denominator": den,
        "projected": np.where(blank, np.nan, _ratio(proj_num, proj_den)),
        "projected_low": np.where(blank, np.nan, _ratio(low, proj_den)),
        "projected_high": np.where(blank, np.nan, _ratio(high, proj_den)),
        "best": _ratio(best_num, proj_den),
        "worst": _ratio(worst_num, proj_den),
        "closed_count": closed,
        "open_count": opened,
    }


def _carried(key: str, num, den, count) -> dict[str, Any]:
    """A metric read on one day (the snapshot): its value carries to the period's end."""
    value = _ratio(num, den)
    return {
        "metric": key,
        "actual": value,
        "numerator": num,
        "denominator": den,
        "projected": value,
        "projected_low": value,
        "projected_high": value,
        "best": value,
        "worst": value,
        "closed_count": count,
        "open_count": np.zeros(len(value)),
    }


def metric_frame(s: pd.DataFrame, renewal_model: bool, rate: float | None) -> pd.DataFrame:
    """FRAME_COLUMNS for every person (rows of `s`, the rolled-up sums) and metric."""
    c = {col: s[col].to_numpy(dtype=float) for col in s.columns}
    ren_open, coh_open, exp_open = c["ren_open_count"], c["coh_open_count"], c["exp_open_count"]
    ren_ok = np.full(len(s), renewal_model) | (ren_open == 0)
    coh_ok = np.full(len(s), renewal_model) | (coh_open == 0)
    arr_sd = np.sqrt(np.clip(c["coh_arr_variance"], 0, None))
    blocks = [
        _rate_rows(
            "renewal_rate",
            c["ren_retained"],
            c["ren_arr_up"],
            c["ren_retained"] + c["ren_expected"],
            c["ren_arr_up"] + c["ren_open_arr"],
            c["ren_retained"] + c["ren_open_arr"],
            c["ren_retained"] + c["ren_replaced_arr"],  # worst: a replaced one is kept
            np.sqrt(np.clip(c["ren_variance"], 0, None)),
            c["ren_closed_count"],
            ren_open,
            ren_ok,
        ),
    ]
    start, logos = c["coh_start_arr"], c["coh_logos_start"]
    for key, num, proj, best, worst, sd, den in (
        ("grr", "kept_arr", "proj_kept", "best_kept", "worst_kept", arr_sd, start),
        ("nrr", "end_arr", "proj_end", "best_end", "worst_end", arr_sd, start),
        (
            "logo_retention",
            "logos_kept",
            "proj_logos",
            "best_logos",
            "worst_logos",
            np.sqrt(np.clip(c["coh_logo_variance"], 0, None)),
            logos,
        ),
    ):
        blocks.append(
            _rate_rows(
                key,
                c[f"coh_{num}"],
                den,
                c[f"coh_{proj}"],
                den,
                c[f"coh_{best}"],
                c[f"coh_{worst}"],
                sd,
                logos,
                coh_open,
                coh_ok,
            )
        )
    won, open_arr = c["exp_won_arr"], c["exp_open_arr"]
    w = math.nan if rate is None else rate
    exp_ok = (exp_open == 0) | (rate is not None)
    expected = won + (0.0 if rate is None else w) * open_arr
    sd = np.sqrt(np.clip((0.0 if rate is None else w * (1 - w)) * c["exp_open_sq"], 0, None))
    best = won + open_arr
    blocks.append(
        {
            "metric": "expansion_arr",
            "actual": won,
            "numerator": won,
            "denominator": np.full(len(s), np.nan),
            "projected": np.where(exp_ok, expected, np.nan),
            "projected_low": np.where(exp_ok, np.clip(expected - Z80 * sd, won, best), np.nan),
            "projected_high": np.where(exp_ok, np.clip(expected + Z80 * sd, won, best), np.nan),
            "best": best,
            "worst": won,
            "closed_count": c["exp_won_count"],
            "open_count": exp_open,
        }
    )
    blocks.append(_carried("green_share", c["green_arr"], c["scored_arr"], c["scored_count"]))
    blocks.append(_carried("hygiene", c["hyg_passing"], c["hyg_renewals"], c["hyg_renewals"]))
    # Person-major (each person's metrics in METRICS order): arrays of shape (metrics, people)
    # read column by column.
    blocks.sort(key=lambda b: list(METRICS).index(b["metric"]))
    n = len(s)
    out: dict[str, Any] = {
        "csm_id": np.tile(np.array(s.index.tolist(), dtype=object), len(blocks)),
        "metric": np.repeat(np.array([b["metric"] for b in blocks], dtype=object), n),
    }
    for col in FRAME_COLUMNS[2:]:
        out[col] = np.concatenate([np.asarray(b[col], dtype=float) for b in blocks])
    order = np.arange(n * len(blocks)).reshape(len(blocks), n).T.ravel()
    frame = pd.DataFrame({k: v[order] for k, v in out.items()})
    return frame.astype({"closed_count": int, "open_count": int})
