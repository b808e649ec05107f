"""Seeded, deterministic demo portfolio: writes the data-contract tables as Parquet files.

The portfolio is driven by one latent "account health" per account that drifts month by month.
Usage, tickets, NPS and touchpoints are drawn from it, and so are renewal outcomes, so the
health model built on the observable signals has real (but imperfect) lift.

Usage: ``python -m data.generate_demo --accounts 5000 --out data/demo/5000``
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.loader import schema_columns

DEFAULT_AS_OF = date(2026, 11, 20)
# Activity history deep enough for every weekly snapshot the build makes (CSOPS_SNAPSHOT_WEEKS,
# 92 weeks by default) to have its usage windows (90 days) and a year of NPS answers before it.
USAGE_DAYS = 92 * 7 + 91  # 735 days
ACTIVITY_MONTHS = 25  # tickets and touchpoints: 92 weeks + 90 days
NPS_MONTHS = 34  # 92 weeks + the 12 months an answer counts for
HISTORY_MONTHS = 50  # 4 years of account creation + contract history, plus a margin
# Weekly CSM calls (renewal_forecast_history) on the health snapshots' grid (as_of - 7k days):
# two years, so the forecast backtest of the last 4 closed quarters has the calls at each
# quarter's start, with every renewal open then.
FORECAST_HISTORY_WEEKS = 105
CALLS = np.array(["commit", "probable", "at_risk", "churn"])  # levels 0..3, worse to the right
# Columns written as Parquet DATE (the frames hold them as timestamps).
DATE_COLUMNS = {
    "renewal_forecast_history": ("snapshot_date",),
    "account_owner_history": ("valid_from", "valid_to"),
}
# Ownership over time (account_owner_history), per 5,000 accounts: CSMs who left between ~4
# months and 2 years ago, their books handed to teammates the day after their last day.
PAST_LEAVERS_PER_5K = 3
REBALANCED_PER_YEAR = 0.04  # share of accounts moved to a teammate a year, at quarter starts
TAKEOVER_DAYS = 45  # a CSM hired after an account began takes it over within this many days

SEGMENTS = np.array(["SMB", "Mid-Market", "Enterprise"])
SEGMENT_SHARE = [0.64, 0.30, 0.06]
REGIONS = np.array(["North America", "EMEA", "APAC", "LATAM"])
REGION_SHARE = [0.45, 0.30, 0.15, 0.10]
AMERICAS = {"North America", "LATAM"}
INDUSTRIES = np.array(
    [
        "Software",
        "Financial Services",
        "Healthcare",
        "Retail",
        "Manufacturing",
        "Education",
        "Media",
        "Logistics",
    ]
)
PLANS = {
    "SMB": ["Starter", "Growth"],
    "Mid-Market": ["Growth", "Business"],
    "Enterprise": ["Business", "Enterprise"],
}
# (team, CSMs per 5,000 accounts); the books follow segment x tier x region.
TEAMS = [
    ("Enterprise Americas", 6),
    ("Enterprise International", 6),
    ("Mid-Market Americas", 7),
    ("Mid-Market International", 7),
    ("Pooled Success", 10),
    ("Scale Digital", 3),
]
SEGMENT_CHURN = {"SMB": 1.4, "Mid-Market": 1.0, "Enterprise": 0.55}  # relative churn propensity
RISK_REASONS = [
    "Low adoption",
    "Champion left",
    "Budget cuts",
    "Product gaps",
    "Support experience",
    "Competitor evaluation",
    "M&A / reorg",
]
FIRST = [
    "Blue",
    "North",
    "Bright",
    "Silver",
    "Iron",
    "Green",
    "Swift",
    "Clear",
    "Red",
    "Summit",
    "Harbor",
    "Atlas",
    "Nova",
    "Pine",
    "Stone",
    "Maple",
    "Cedar",
    "Golden",
    "Polar",
    "Vivid",
]
SECOND = [
    "Harbor",
    "Peak",
    "River",
    "Field",
    "Bridge",
    "Wave",
    "Forge",
    "Path",
    "Signal",
    "Rock",
    "Leaf",
    "Point",
    "Cloud",
    "Lake",
    "Ridge",
    "Grove",
    "Gate",
    "Works",
    "Line",
    "Spark",
]
SUFFIX = [
    "Labs",
    "Systems",
    "Group",
    "Health",
    "Logistics",
    "Partners",
    "Retail",
    "Capital",
    "Analytics",
    "Software",
    "Foods",
    "Media",
    "Energy",
    "Robotics",
    "Bank",
    "Studio",
]
PEOPLE_FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Isla",
    "Jon",
    "Kira",
    "Liam",
    "Maya",
    "Nico",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Zoe",
]
PEOPLE_LAST = [
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Nagy",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
    "Tanaka",
    "Weber",
]
NPS_COMMENTS = {
    "promoter": ["Great product, the team loves it", "Our CSM is fantastic", "Saves us hours"],
    "passive": ["Does the job", "Some features missing", "Onboarding was slow"],
    "detractor": [
        "Too many bugs lately",
        "Support is slow to respond",
        "Hard to get adoption",
        "Considering alternatives",
    ],
}


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: size, seed and the data's "today"."""

    accounts: int = 5000
    seed: int = 42
    as_of: date = DEFAULT_AS_OF


def _add_months(d: date, months: int) -> date:
    month_index = d.month - 1 + months
    year = d.year + month_index // 12
    month = month_index % 12 + 1
    days_in_month = [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month, min(d.day, days_in_month[month - 1]))


class DemoGenerator:
    """Builds every table of the data contract from one seeded random state."""

    def __init__(self, spec: DemoSpec):
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        # A second stream for the renewal pipeline's details (late closes, calls week by week):
        # drawing them leaves every other table exactly as the first stream makes it.
        self.pipeline_rng = np.random.default_rng([spec.seed, 7])
        self.as_of = np.datetime64(spec.as_of, "D")
        self.month0 = np.datetime64(_add_months(spec.as_of.replace(day=1), -HISTORY_MONTHS), "D")

    # ---- people -------------------------------------------------------------------------
    def csms(self) -> pd.DataFrame:
        scale = max(1.0, self.spec.accounts / 5000)
        rows = [
            dict(
                csm_id="C0000",
                name="Dana Whitfield",
                team="Customer Success",
                manager_id=None,
                region="Global",
                role="Director",
                hire_date=date(2019, 3, 1),
                capacity_points=0.0,
            )
        ]
        n = 1
        for team, per_5k in TEAMS:
            manager_id = f"C{n:04d}"
            rows.append(
                dict(
                    csm_id=manager_id,
                    name=self._person(n),
                    team=team,
                    manager_id="C0000",
                    region=self._team_region(team),
                    role="Manager",
                    # Spread over the years before as_of; capped, or the managers of a large
                    # demo (n in the hundreds) would be hired years in the future.
                    hire_date=min(
                        date(2020, 1, 6) + timedelta(days=int(n * 37)),
                        self.spec.as_of - timedelta(days=365 + n % 365),
                    ),
                    capacity_points=0.0,
                )
            )
            n += 1
            for _ in range(max(1, round(per_5k * scale))):
                hire = self.spec.as_of - timedelta(days=int(self.rng.integers(60, 2200)))
                rows.append(
                    dict(
                        csm_id=f"C{n:04d}",
                        name=self._person(n),
                        team=team,
                        manager_id=manager_id,
                        region=self._team_region(team),
                        role="CSM",
                        hire_date=hire,
                        capacity_points=100.0,
                    )
                )
                n += 1
        df = pd.DataFrame(rows)
        df["email"] = df["name"].str.lower().str.replace(" ", ".") + "@example.com"
        df["end_date"] = pd.NaT
        return df

    @staticmethod
    def _team_region(team: str) -> str:
        if team.endswith("Americas"):
            return "Americas"
        if team.endswith("International"):
            return "International"
        return "Global"

    @staticmethod
    def _person(n: int) -> str:
        return f"{PEOPLE_FIRST[n % len(PEOPLE_FIRST)]} {PEOPLE_LAST[(n * 7) % len(PEOPLE_LAST)]}"

    # ---- accounts -----------------------------------------------------------------------
    def accounts(self, csms: pd.DataFrame) -> pd.DataFrame:
        n, rng = self.spec.accounts, self.rng
        segment = rng.choice(SEGMENTS, size=n, p=SEGMENT_SHARE)
        region = rng.choice(REGIONS, size=n, p=REGION_SHARE)
        tier = np.where(
            segment == "Enterprise",
            "named",
            np.where(
                segment == "Mid-Market",
                np.where(rng.random(n) < 0.6, "named", "pooled"),
                np.where(rng.random(n) < 0.6, "tech-touch", "pooled"),
            ),
        )
        median_seats = pd.Series(segment).map({"SMB": 14, "Mid-Market": 80, "Enterprise": 600})
        seats = np.maximum(3, np.round(median_seats.to_numpy() * rng.lognormal(0, 0.55, n)))
        price = pd.Series(segment).map({"SMB": 620, "Mid-Market": 540, "Enterprise": 420})
        arr = np.round(seats * price.to_numpy() * rng.lognormal(0, 0.25, n), -2)

        # Deals close at quarter ends, so first terms (and every renewal) cluster there.
        month_weights = np.array(
            [
                3.0 if (m + self.month0.astype(object).month) % 3 == 0 else 1.0
                for m in range(HISTORY_MONTHS - 2)
            ]
        )
        month_weights /= month_weights.sum()
        month = rng.choice(HISTORY_MONTHS - 2, size=n, p=month_weights)
        month_start = np.array(
            [
                np.datetime64(_add_months(self.month0.astype(object), int(m)), "D")
                for m in range(HISTORY_MONTHS)
            ]
        )
        day_in_month = np.floor(27 * (1 - rng.beta(1.0, 2.2, n))).astype(int)
        created = month_start[month] + day_in_month.astype("timedelta64[D]")
        created = np.minimum(created, self.as_of - np.timedelta64(10, "D"))

        team = np.select(
            [
                (segment == "Enterprise") & np.isin(region, list(AMERICAS)),
                segment == "Enterprise",
                (tier == "named") & np.isin(region, list(AMERICAS)),
                tier == "named",
                tier == "pooled",
            ],
            [
                "Enterprise Americas",
                "Enterprise International",
                "Mid-Market Americas",
                "Mid-Market International",
                "Pooled Success",
            ],
            default="Scale Digital",
        )
        team_members = {
            t: g["csm_id"].to_numpy() for t, g in csms[csms.role == "CSM"].groupby("team")
        }
        owner = np.empty(n, dtype=object)
        for t, members in team_members.items():
            idx = np.flatnonzero(team == t)
            owner[idx] = members[rng.integers(0, len(members), len(idx))]

        names = self._company_names(n)
        plan = [PLANS[s][int(r)] for s, r in zip(segment, rng.random(n) < 0.5, strict=True)]
        return pd.DataFrame(
            dict(
                account_id=[f"A{i:06d}" for i in range(1, n + 1)],
                name=names,
                segment=segment,
                region=region,
                industry=rng.choice(INDUSTRIES, n),
                coverage_tier=tier,
                owner_csm_id=owner,
                created_date=created.astype("datetime64[s]"),
                plan=plan,
                seats_purchased=seats.astype(int),
                base_arr=arr,
            )
        )

    def _company_names(self, n: int) -> list[str]:
        rng, seen, names = self.rng, set(), []
        for i in range(n):
            name = (
                f"{FIRST[rng.integers(len(FIRST))]} {SECOND[rng.integers(len(SECOND))]} "
                f"{SUFFIX[rng.integers(len(SUFFIX))]}"
            )
            if name in seen:
                name = f"{name} {i % 97 + 2}"
            if name in seen:
                name = f"{name}-{i}"
            seen.add(name)
            names.append(name)
        return names

    # ---- latent health ------------------------------------------------------------------
    def latent_health(self, n: int) -> np.ndarray:
        """Monthly latent health (0..1) per account: mean-reverting drift plus rare shocks."""
        rng = self.rng
        base = rng.beta(4.0, 1.8, n)
        h = np.empty((n, HISTORY_MONTHS + 14))
        h[:, 0] = base
        for m in range(1, h.shape[1]):
            shock = np.where(rng.random(n) < 0.025, -rng.uniform(0.2, 0.45, n), 0.0)
            recover = np.where(rng.random(n) < 0.02, rng.uniform(0.1, 0.3, n), 0.0)
            h[:, m] = (
                h[:, m - 1] + 0.12 * (base - h[:, m - 1]) + rng.normal(0, 0.05, n) + shock + recover
            )
            np.clip(h[:, m], 0.02, 0.98, out=h[:, m])
        return h

    def _month_index(self, day: np.datetime64) -> float:
        d = day.astype(object)
        m0 = self.month0.astype(object)
        return (d.year - m0.year) * 12 + (d.month - m0.month) + (d.day - 1) / 30.0

    # ---- contracts, renewals, expansions -------------------------------------------------
    def commercial(self, accounts: pd.DataFrame, h: np.ndarray):
        rng, as_of = self.rng, self.spec.as_of
        contracts, renewals, expansions = [], [], []
        churn_day = {}
        k = r = o = 0
        for i, acc in enumerate(accounts.itertuples(index=False)):
            start = acc.created_date.date()
            arr, seats = float(acc.base_arr), int(acc.seats_purchased)
            while True:
                end = _add_months(start, 12)
                k += 1
                base_id = f"K{k:07d}"
                contracts.append((base_id, acc.account_id, start, end, arr, seats))
                term_arr = arr
                mid_h = h[i, int(self._month_index(np.datetime64(start, "D"))) + 5]
                # Mid-term add-on: a won expansion co-termed with the current contract.
                if rng.random() < 0.05 + 0.2 * mid_h**2:
                    close = start + timedelta(days=int(rng.integers(60, 300)))
                    amount = round(arr * rng.uniform(0.1, 0.35), -2)
                    o += 1
                    won = close <= as_of
                    expansions.append(
                        (
                            f"O{o:07d}",
                            acc.account_id,
                            rng.choice(["Seat upsell", "Cross-sell module", "Tier upgrade"]),
                            "Closed won" if won else "Negotiation",
                            amount,
                            close - timedelta(days=int(rng.integers(30, 120))),
                            close,
                            "won" if won else "open",
                        )
                    )
                    if won and close < end:
                        k += 1
                        contracts.append(
                            (
                                f"K{k:07d}",
                                acc.account_id,
                                close,
                                end,
                                amount,
                                int(seats * amount / max(arr, 1)),
                            )
                        )
                        term_arr += amount
                if rng.random() < 0.08:  # a pitched expansion that was lost
                    o += 1
                    lost_close = start + timedelta(days=int(rng.integers(30, 330)))
                    if lost_close <= as_of:
                        expansions.append(
                            (
                                f"O{o:07d}",
                                acc.account_id,
                                "Seat upsell",
                                "Closed lost",
                                round(arr * 0.2, -2),
                                lost_close - timedelta(days=60),
                                lost_close,
                                "lost",
                            )
                        )
                r += 1
                month_at_renewal = self._month_index(np.datetime64(end, "D"))
                pre = h[i, max(0, int(month_at_renewal) - 3) : int(month_at_renewal) + 1].mean()
                call_signal = pre + rng.normal(0, 0.12)
                category = (
                    "commit"
                    if call_signal > 0.65
                    else "probable"
                    if call_signal > 0.45
                    else "at_risk"
                    if call_signal > 0.28
                    else "churn"
                )
                risky = category in ("at_risk", "churn")
                reason = rng.choice(RISK_REASONS) if risky else None
                plan = bool(rng.random() < (0.6 if risky else 0.1))
                if end > as_of:
                    outcome, renewed, closed = "open", None, None
                else:
                    outcome, renewed = self._renewal_outcome(acc.segment, pre, term_arr)
                    closed = min(as_of, end + timedelta(days=int(rng.integers(-25, 6))))
                renewals.append(
                    (
                        f"R{r:07d}",
                        acc.account_id,
                        base_id,
                        end,
                        term_arr,
                        category,
                        reason,
                        plan,
                        outcome,
                        renewed,
                        closed,
                    )
                )
                if outcome == "open":
                    break
                if outcome == "churned":
                    churn_day[acc.account_id] = end
                    break
                seats = max(1, round(seats * renewed / max(term_arr, 1)))
                start, arr = end, renewed
            # Open pipeline for healthy, growing accounts.
            if acc.account_id not in churn_day and rng.random() < 0.04 + 0.25 * h[i, -15] ** 3:
                o += 1
                created = as_of - timedelta(days=int(rng.integers(5, 120)))
                expansions.append(
                    (
                        f"O{o:07d}",
                        acc.account_id,
                        rng.choice(["Seat upsell", "Cross-sell module", "Tier upgrade"]),
                        rng.choice(["Discovery", "Proposal", "Negotiation"]),
                        round(arr * rng.uniform(0.1, 0.3), -2),
                        created,
                        created + timedelta(days=int(rng.integers(60, 150))),
                        "open",
                    )
                )
        columns = schema_columns()
        contracts = pd.DataFrame(contracts, columns=columns["contracts"])
        renewals = pd.DataFrame(renewals, columns=columns["renewals"])
        expansions = pd.DataFrame(expansions, columns=columns["expansions"])
        return contracts, renewals, expansions, churn_day

    def _renewal_outcome(self, segment: str, pre: float, term_arr: float) -> tuple[str, float]:
        """Outcome and renewed ARR, driven by the latent health in the months before renewal."""
        rng = self.rng
        p_churn = min(0.85, SEGMENT_CHURN[segment] * 0.9 * (1 - pre) ** 3)
        p_contract = 0.03 + 0.32 * (1 - pre) ** 2
        p_expand = 0.08 + 0.50 * pre**2
        u = rng.random()
        if u < p_churn:
            return "churned", 0.0
        if u < p_churn + p_contract:
            return "contracted", round(term_arr * (1 - rng.uniform(0.1, 0.4)), -2)
        if u < p_churn + p_contract + p_expand:
            return "expanded", round(term_arr * (1 + rng.uniform(0.1, 0.45)), -2)
        return "renewed", term_arr

    # ---- the renewal pipeline as a CRM holds it ---------------------------------------------
    def late_renewals(self, contracts, renewals, expansions):
        """Late closes, overdue open renewals and renewals without a contract, as in a real CRM.

        About 8% of renewals close 6 to 45 days after their date. One that would close after the
        as-of date (and did not churn) is still open there: overdue. Its contract is extended by
        90 days (billing keeps the customer on while the renewal is negotiated) and the next
        term, its renewal and the add-ons won in it are removed, as they have not happened yet.
        About 1.5% of renewals are not linked to the contract they renew (contract_id blank).
        """
        rng, as_of = self.pipeline_rng, pd.Timestamp(self.spec.as_of)
        r = renewals.copy()
        n = len(r)
        due = pd.to_datetime(r["renewal_date"])
        late = (r["outcome"] != "open").to_numpy() & (rng.random(n) < 0.08)
        closes = due + pd.to_timedelta(rng.integers(6, 46, n), unit="D")
        after = (closes > as_of).to_numpy()
        reopen = late & after & (r["outcome"] != "churned").to_numpy()
        delayed = late & ~after
        r.loc[delayed, "closed_date"] = closes[delayed].dt.date
        r.loc[reopen, ["outcome", "renewed_arr", "closed_date"]] = ["open", None, None]
        lapse = dict(zip(r.loc[reopen, "account_id"], due[reopen], strict=True))

        def _after_lapse(df: pd.DataFrame, column: str, strict: bool) -> np.ndarray:
            cut = df["account_id"].map(lapse)
            day = pd.to_datetime(df[column])
            return (day > cut if strict else day >= cut).fillna(False).to_numpy()

        r = r[~_after_lapse(r, "renewal_date", strict=True)]
        c = contracts[~_after_lapse(contracts, "start_date", strict=False)].copy()
        ends_at_lapse = (pd.to_datetime(c["end_date"]) == c["account_id"].map(lapse)).to_numpy()
        c.loc[ends_at_lapse, "end_date"] = (
            pd.to_datetime(c.loc[ends_at_lapse, "end_date"]) + pd.Timedelta(days=90)
        ).dt.date
        won_later = (
            _after_lapse(expansions, "close_date", strict=False)
            & (expansions["outcome"] == "won").to_numpy()
        )
        e = expansions[~won_later]
        r["contract_id"] = r["contract_id"].where(rng.random(len(r)) >= 0.015, None)
        return c.reset_index(drop=True), r.reset_index(drop=True), e.reset_index(drop=True)

    @staticmethod
    def renewal_terms(contracts, renewals) -> pd.DataFrame:
        """Per renewal (indexed by renewal_id): when the contract it renews started (`start`;
        the history starts then, even for a renewal whose contract link gets blanked: the
        opportunity existed) and the add-on co-termed with it, if any (`addon_start`,
        `addon_arr`: a contract of the account ending on the renewal date that started later).
        Before the add-on started, the ARR up did not include it."""
        started = contracts.set_index("contract_id")["start_date"]
        terms = pd.DataFrame(
            {"start": pd.to_datetime(renewals["contract_id"].map(started)).to_numpy()},
            index=renewals["renewal_id"].to_numpy(),
        )
        ends = contracts.assign(renewal_date=contracts["end_date"])[
            ["account_id", "renewal_date", "start_date", "arr"]
        ]
        pairs = renewals[["renewal_id", "account_id", "renewal_date"]].merge(
            ends, on=["account_id", "renewal_date"]
        )
        pairs["start_date"] = pd.to_datetime(pairs["start_date"])
        pairs = pairs[pairs["start_date"] > pairs["renewal_id"].map(terms["start"])]
        addons = pairs.groupby("renewal_id").agg(
            addon_start=("start_date", "min"), addon_arr=("arr", "sum")
        )
        return terms.join(addons)

    def forecast_history(
        self, renewals: pd.DataFrame, terms: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The CSM's call on each renewal every week it was open (renewal_forecast_history), and
        the renewals with their fields set to the last call (the call as it stands).

        Weeks are the health snapshots' grid (as_of - 7k days), FORECAST_HISTORY_WEEKS back.
        A renewal has a row each week from its contract's start (when it becomes known) until
        it closes (the last week before closed_date) or the as-of date. Per renewal:
        - a first call: most renewals are called from the start, some months later, a few only
          weeks before the date (or never): before it the category is blank;
        - an early call, mostly commit or probable, that moves step by step (commit, probable,
          at risk, churn) to the final call, reached 0-100 days before the renewal date after a
          move of 1 to 17 weeks. A closed renewal's final call follows its outcome, with
          surprises both ways (a churn called commit, a renewal called at risk); an open one's
          is the call the health-driven generator gave it, and its call today is wherever its
          move stands on the as-of date;
        - now and then a scare: two to six weeks called at risk, then back;
        - a risk reason while called at risk or churn (one in ten such renewals never gets one);
        - ARR up lower before a co-termed add-on started, and revised once on about one
          renewal in twelve.
        """
        rng = self.pipeline_rng
        as_of = np.datetime64(self.spec.as_of, "D")
        r = renewals
        n = len(r)
        rid = r["renewal_id"].to_numpy()
        due = pd.to_datetime(r["renewal_date"]).to_numpy().astype("datetime64[D]")
        terms = terms.reindex(rid)
        start = terms["start"].to_numpy().astype("datetime64[D]")
        addon_start = terms["addon_start"].to_numpy().astype("datetime64[D]")
        addon_arr = terms["addon_arr"].fillna(0).to_numpy()
        start = np.where(np.isnat(start), due - np.timedelta64(365, "D"), start)
        is_open = (r["outcome"] == "open").to_numpy()
        closed = pd.to_datetime(r["closed_date"]).to_numpy().astype("datetime64[D]")
        closed = np.where(np.isnat(closed), due, closed)
        last_day = np.where(is_open, as_of, closed - np.timedelta64(1, "D"))

        # The weeks each renewal was open, on the grid; end_day is its last week (or, without
        # any week in the grid, the last day it was open).
        grid0 = as_of - np.timedelta64(7 * (FORECAST_HISTORY_WEEKS - 1), "D")
        first_k = np.ceil(np.maximum((start - grid0).astype(int), 0) / 7).astype(int)
        last_k = np.floor((last_day - grid0).astype(int) / 7).astype(int)
        weeks = np.maximum(last_k - first_k + 1, 0)
        end_day = np.where(weeks > 0, grid0 + (last_k * 7).astype("timedelta64[D]"), last_day)

        # Final call: an open renewal's current call; a closed one's follows its outcome.
        level_of = {c: i for i, c in enumerate(CALLS)}
        current = r["forecast_category"].map(level_of).fillna(-1).to_numpy().astype(int)
        outcome_mix = {
            "churned": [0.12, 0.13, 0.35, 0.40],
            "contracted": [0.15, 0.25, 0.45, 0.15],
            "renewed": [0.62, 0.28, 0.08, 0.02],
            "expanded": [0.75, 0.20, 0.04, 0.01],
        }
        final = np.where(current < 0, 1, current)
        u = rng.random(n)
        outcome = r["outcome"].to_numpy()
        for name, mix in outcome_mix.items():
            pick = outcome == name
            final[pick] = np.searchsorted(np.cumsum(mix), u[pick], side="right").clip(0, 3)
        # The early call: optimistic, mostly commit or probable.
        early_mix = np.array(
            [
                [0.85, 0.15, 0.0, 0.0],
                [0.35, 0.60, 0.05, 0.0],
                [0.30, 0.50, 0.20, 0.0],
                [0.15, 0.45, 0.30, 0.10],
            ]
        )
        early = (rng.random(n)[:, None] > np.cumsum(early_mix[final], axis=1)).sum(axis=1)
        early = early.clip(0, 3)
        # When the first call is made (days before the renewal date; most from the start).
        kind = rng.random(n)
        lead = np.where(
            kind < 0.60,
            10_000,
            np.where(
                kind < 0.94,
                rng.integers(150, 366, n),
                np.where(kind < 0.98, rng.integers(20, 81, n), -10_000),
            ),
        )
        first_call = due - lead.astype("timedelta64[D]")
        called_from = np.minimum(np.maximum(start, first_call), end_day)
        life = (end_day - called_from).astype(int)
        # When the call moves from early to final: reached 0-100 days before the renewal date
        # (a renewal closed or seen before then stands part of the way).
        reach = due - rng.integers(0, 101, n).astype("timedelta64[D]")
        move_from = reach - rng.integers(7, 121, n).astype("timedelta64[D]")
        span = (reach - move_from).astype(int)

        def level_on(on: np.ndarray, i: np.ndarray) -> np.ndarray:
            """The call (level, -1 before the first call) of renewals `i` on days `on`,
            scares aside."""
            progress = np.clip((on - move_from[i]).astype(int) / span[i], 0, 1)
            level = np.rint(early[i] + (final[i] - early[i]) * progress).astype(int)
            return np.where(on >= first_call[i], level, -1)

        # Scares: a few weeks called at risk on a renewal that ends commit or probable.
        scare = (final <= 1) & (rng.random(n) < 0.07)
        scare_from = called_from + (rng.random(n) * np.maximum(life - 14, 0)).astype(
            "timedelta64[D]"
        )
        scare_to = np.minimum(
            scare_from + rng.integers(14, 43, n).astype("timedelta64[D]"), end_day
        )
        # Risk reasons: the renewal's own when it has one, else one drawn for it; one risky
        # renewal in ten never gets one.
        reason_codes = {reason: i for i, reason in enumerate(RISK_REASONS)}
        reason = r["risk_reason"].map(reason_codes).fillna(-1).to_numpy().astype(int)
        reason = np.where(reason < 0, rng.integers(0, len(RISK_REASONS), n), reason)
        has_reason = rng.random(n) >= 0.10
        # ARR up revised once on some renewals: the weeks before show the earlier figure.
        arr_up = r["arr_up_for_renewal"].to_numpy().astype(float)
        revised = rng.random(n) < 0.08
        earlier_arr = np.round(arr_up * rng.uniform(0.8, 1.1, n), -2)
        revised_on = called_from + (rng.random(n) * life).astype("timedelta64[D]")

        row = np.repeat(np.arange(n), weeks)
        offset = np.arange(len(row)) - np.repeat(np.cumsum(weeks) - weeks, weeks)
        day = grid0 + ((first_k[row] + offset) * 7).astype("timedelta64[D]")
        level = level_on(day, row)
        scared = scare[row] & (day >= scare_from[row]) & (day < scare_to[row]) & (level >= 0)
        level = np.where(scared, np.maximum(level, 2), level)
        row_reason = np.where((level >= 2) & has_reason[row], reason[row], -1)
        row_arr = np.where(revised[row] & (day < revised_on[row]), earlier_arr[row], arr_up[row])
        row_arr -= np.where(day < addon_start[row], addon_arr[row], 0)  # NaT compares False
        history = pd.DataFrame(
            {
                "renewal_id": pd.Categorical.from_codes(row, categories=rid),
                "snapshot_date": day.astype("datetime64[s]"),
                "forecast_category": pd.Categorical.from_codes(level, categories=CALLS),
                "arr_up": row_arr,
                "risk_reason": pd.Categorical.from_codes(row_reason, categories=RISK_REASONS),
            }
        )

        # The renewals' own fields: the call as it stands at the last week it was open, and a
        # close plan more often on renewals called at risk or churn.
        out = r.copy()
        final_call = level_on(end_day, np.arange(n))
        out["has_close_plan"] = rng.random(n) < np.where(final_call >= 2, 0.6, 0.1)
        out["forecast_category"] = pd.Series(
            np.where(final_call >= 0, CALLS[final_call.clip(0)], None), dtype=object
        )
        out["risk_reason"] = pd.Series(
            np.where(
                (final_call >= 2) & has_reason,
                np.array(RISK_REASONS, dtype=object)[reason],
                None,
            ),
            dtype=object,
        )
        return out, history

    # ---- activity -----------------------------------------------------------------------
    def _daily_health(self, h: np.ndarray, days: np.ndarray) -> np.ndarray:
        pos = np.array([self._month_index(d) for d in days[::1]])
        m0 = np.floor(pos).astype(int)
        frac = pos - m0
        return h[:, m0] * (1 - frac) + h[:, m0 + 1] * frac

    def usage(self, accounts, h, churn_day, out: Path) -> int:
        """Daily usage rows for the days each customer was active (in Parquet parts).

        Like most CS platforms' exports, a day without activity has no row. Struggling accounts
        have more days without any activity: (1 - health)³ of days at worst.
        """
        rng = self.rng
        days = self.as_of - np.arange(USAGE_DAYS - 1, -1, -1).astype("timedelta64[D]")
        weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
        weekday_factor = np.where(weekday >= 5, 0.5, 1.0)
        created = accounts["created_date"].to_numpy().astype("datetime64[D]")
        ends = np.array(
            [
                np.datetime64(churn_day.get(a, self.spec.as_of + timedelta(days=1)), "D")
                for a in accounts["account_id"]
            ]
        )
        # About 1% of accounts have no usage feed at all: health flags it as a missing input.
        feed_missing = rng.random(len(accounts)) < 0.01
        seats = accounts["seats_purchased"].to_numpy()
        ids = accounts["account_id"].to_numpy()
        (out / "usage_daily").mkdir(parents=True, exist_ok=True)
        total, chunk = 0, 4000
        for part, lo in enumerate(range(0, len(accounts), chunk)):
            hi = min(lo + chunk, len(accounts))
            hd = self._daily_health(h[lo:hi], days)  # per chunk: all days x 1M accounts is GBs
            active = (
                (days[None, :] >= created[lo:hi, None])
                & (days[None, :] < ends[lo:hi, None])
                & ~feed_missing[lo:hi, None]
            )
            util = np.clip(0.15 + 0.85 * hd + rng.normal(0, 0.04, hd.shape), 0, 1)
            users = np.round(
                seats[lo:hi, None]
                * util
                * weekday_factor[None, :]
                * rng.lognormal(0, 0.12, hd.shape)
            )
            users = np.minimum(users, seats[lo:hi, None])
            idle = rng.random(hd.shape) < 0.8 * np.clip(1 - hd, 0, 1) ** 3
            acc_idx, day_idx = np.nonzero(active & ~idle & (users > 0))
            au = users[acc_idx, day_idx].astype(np.int32)
            events = np.round(au * rng.lognormal(3.0, 0.3, len(au))).astype(np.int32)
            features = np.clip(
                np.round(2 + 12 * hd[acc_idx, day_idx] + rng.normal(0, 1, len(au))), 0, 20
            ).astype(np.int32)
            table = pa.table(
                {
                    "account_id": pa.DictionaryArray.from_arrays(
                        pa.array((acc_idx + lo).astype(np.int32)), pa.array(ids)
                    ),
                    "day": pa.array(days[day_idx]),
                    "active_users": au,
                    "events": events,
                    "features_used": features,
                }
            )
            pq.write_table(table, out / "usage_daily" / f"part-{part:04d}.parquet")
            total += len(au)
        return total

    def _monthly_counts(self, accounts, h, churn_day, rate: np.ndarray, months: int):
        """Poisson counts per (account, month) over the last `months` months while a customer."""
        rng = self.rng
        month_starts = np.array(
            [
                np.datetime64(_add_months(self.spec.as_of.replace(day=1), -m), "D")
                for m in range(months - 1, -1, -1)
            ]
        )
        idx = np.array([int(self._month_index(m)) for m in month_starts])
        created = accounts["created_date"].to_numpy().astype("datetime64[D]")
        ends = np.array(
            [
                np.datetime64(churn_day.get(a, self.spec.as_of + timedelta(days=1)), "D")
                for a in accounts["account_id"]
            ]
        )
        alive = (month_starts[None, :] >= created[:, None] - np.timedelta64(20, "D")) & (
            month_starts[None, :] < ends[:, None]
        )
        counts = rng.poisson(rate[:, None] * np.ones((1, months)) * alive * 1.0)
        return counts, month_starts, h[:, idx], created, ends

    def tickets(self, accounts, h, churn_day) -> pd.DataFrame:
        rng = self.rng
        base = accounts["segment"].map({"SMB": 0.25, "Mid-Market": 0.7, "Enterprise": 1.8})
        counts, month_starts, hm, created, ends = self._monthly_counts(
            accounts, h, churn_day, base.to_numpy(), ACTIVITY_MONTHS
        )
        counts = rng.poisson(counts * (0.5 + 1.8 * (1 - hm)))
        acc, mon = np.nonzero(counts)
        acc, mon = np.repeat(acc, counts[acc, mon]), np.repeat(mon, counts[acc, mon])
        bad = 1 - hm[acc, mon]
        opened = month_starts[mon].astype("datetime64[s]") + (
            rng.random(len(acc)) * 30 * 86400
        ).astype("timedelta64[s]")
        opened = np.maximum(opened, created[acc].astype("datetime64[s]"))
        keep = (opened < (self.as_of + 1).astype("datetime64[s]")) & (
            opened < ends[acc].astype("datetime64[s]")
        )
        acc, mon, bad, opened = acc[keep], mon[keep], bad[keep], opened[keep]
        u = rng.random(len(acc))
        p1 = 0.03 + 0.10 * bad
        p2 = p1 + 0.12 + 0.18 * bad
        priority = np.where(u < p1, "P1", np.where(u < p2, "P2", np.where(u < 0.7, "P3", "P4")))
        hours = rng.exponential(np.where(np.isin(priority, ["P1", "P2"]), 60, 120))
        closed = opened + (hours * 3600).astype("timedelta64[s]")
        as_of_end = (self.as_of + 1).astype("datetime64[s]")
        closed_series = pd.Series(closed).where(closed < as_of_end)
        return pd.DataFrame(
            dict(
                ticket_id=[f"T{i:08d}" for i in range(1, len(acc) + 1)],
                account_id=accounts["account_id"].to_numpy()[acc],
                opened_at=opened,
                closed_at=closed_series.to_numpy(),
                priority=priority,
                category=rng.choice(
                    ["Bug", "How-to", "Integration", "Billing", "Performance", "Access"], len(acc)
                ),
                escalated=rng.random(len(acc)) < 0.02 + 0.3 * bad**2,
            )
        )

    def nps(self, accounts, h, churn_day) -> pd.DataFrame:
        rng = self.rng
        rate = accounts["segment"].map({"SMB": 0.12, "Mid-Market": 0.18, "Enterprise": 0.28})
        counts, month_starts, hm, _, ends = self._monthly_counts(
            accounts, h, churn_day, rate.to_numpy(), NPS_MONTHS
        )
        counts = np.minimum(counts, 1)
        acc, mon = np.nonzero(counts)
        score = np.clip(np.round(2.6 + 8.2 * hm[acc, mon] + rng.normal(0, 1.4, len(acc))), 0, 10)
        responded = month_starts[mon].astype("datetime64[s]") + (
            rng.random(len(acc)) * 28 * 86400
        ).astype("timedelta64[s]")
        keep = (responded < (self.as_of + 1).astype("datetime64[s]")) & (
            responded < ends[acc].astype("datetime64[s]")
        )
        acc, score, responded = acc[keep], score[keep].astype(int), responded[keep]
        kind = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
        comments = [
            NPS_COMMENTS[k][int(j) % len(NPS_COMMENTS[k])] if j < 6 else None
            for k, j in zip(kind, rng.integers(0, 10, len(kind)), strict=True)
        ]
        return pd.DataFrame(
            dict(
                response_id=[f"N{i:08d}" for i in range(1, len(acc) + 1)],
                account_id=accounts["account_id"].to_numpy()[acc],
                responded_at=responded,
                score=score,
                comment=comments,
            )
        )

    def touchpoints(self, accounts, h, churn_day) -> pd.DataFrame:
        rng = self.rng
        cadence = accounts["coverage_tier"].map({"named": 20, "pooled": 45, "tech-touch": 80})
        counts, month_starts, hm, created, ends = self._monthly_counts(
            accounts, h, churn_day, (30 / cadence).to_numpy(), ACTIVITY_MONTHS
        )
        # Struggling accounts get less attention: the missing touchpoints that predict churn.
        counts = rng.poisson(counts * (0.15 + 1.25 * hm**1.5))
        acc, mon = np.nonzero(counts)
        acc, mon = np.repeat(acc, counts[acc, mon]), np.repeat(mon, counts[acc, mon])
        occurred = month_starts[mon].astype("datetime64[s]") + (
            rng.random(len(acc)) * 30 * 86400
        ).astype("timedelta64[s]")
        occurred = np.maximum(occurred, created[acc].astype("datetime64[s]"))
        keep = (occurred < (self.as_of + 1).astype("datetime64[s]")) & (
            occurred < ends[acc].astype("datetime64[s]")
        )
        acc, occurred = acc[keep], occurred[keep]
        tier = accounts["coverage_tier"].to_numpy()[acc]
        segment = accounts["segment"].to_numpy()[acc]
        age_days = (
            (occurred - created[acc].astype("datetime64[s]")).astype("timedelta64[D]").astype(int)
        )
        u = rng.random(len(acc))
        kind = np.where(
            age_days < 90,
            "onboarding",
            np.where(
                (tier == "named") & (u < 0.25),
                "QBR",
                np.where(
                    (segment == "Enterprise") & (u < 0.35),
                    "EBR",
                    np.where(u > 0.95, "escalation call", "check-in"),
                ),
            ),
        )
        channel = np.where(
            tier == "tech-touch",
            "email",
            rng.choice(
                ["video", "phone", "email", "in-person"], len(acc), p=[0.55, 0.2, 0.2, 0.05]
            ),
        )
        return pd.DataFrame(
            dict(
                touchpoint_id=[f"P{i:08d}" for i in range(1, len(acc) + 1)],
                account_id=accounts["account_id"].to_numpy()[acc],
                csm_id=accounts["owner_csm_id"].to_numpy()[acc],
                occurred_at=occurred,
                type=kind,
                channel=channel,
            )
        )

    # ---- assembly -----------------------------------------------------------------------
    def write(self, out: Path) -> dict[str, int]:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        csms = self.csms()
        accounts = self.accounts(csms)
        h = self.latent_health(len(accounts))
        contracts, renewals, expansions, churn_day = self.commercial(accounts, h)
        terms = self.renewal_terms(contracts, renewals)
        contracts, renewals, expansions = self.late_renewals(contracts, renewals, expansions)
        renewals, history = self.forecast_history(renewals, terms)
        accounts["lifecycle_stage"] = self._lifecycle(accounts, renewals, churn_day)
        counts = {}
        tables = {
            "csms": csms,
            "accounts": accounts.drop(columns="base_arr"),
            "contracts": contracts,
            "renewals": renewals,
            "renewal_forecast_history": history,
            "expansions": expansions,
            "tickets": self.tickets(accounts, h, churn_day),
            "nps_responses": self.nps(accounts, h, churn_day),
            "touchpoints": self.touchpoints(accounts, h, churn_day),
        }
        tables["csms"], tables["accounts"], tables["touchpoints"], moves = self.staffing(
            csms, tables["accounts"], tables["touchpoints"]
        )
        (
            tables["csms"],
            tables["account_owner_history"],
            tables["touchpoints"],
        ) = self.ownership(tables["csms"], tables["accounts"], tables["touchpoints"], moves)
        for name, df in tables.items():
            table = pa.Table.from_pandas(df, preserve_index=False)
            for column in DATE_COLUMNS.get(name, ()):  # DATE columns, not timestamps
                i = table.schema.get_field_index(column)
                table = table.set_column(
                    i, column, table.column(i).cast(pa.timestamp("s")).cast(pa.date32())
                )
            pq.write_table(table, out / f"{name}.parquet")
            counts[name] = len(df)
        counts["usage_daily"] = self.usage(accounts, h, churn_day, out)
        (out / "meta.json").write_text(
            json.dumps(
                {
                    "as_of_date": self.spec.as_of.isoformat(),
                    "source": f"demo generator (seed {self.spec.seed}, {self.spec.accounts} accounts)",
                }
            )
        )
        return counts

    # ---- staffing: leavers, unowned accounts, part-timers, new hires ----------------------
    def staffing(
        self, csms: pd.DataFrame, accounts: pd.DataFrame, touchpoints: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The staffing a real CS team has on any day, drawn after everything else from a
        stream of its own (so every other table stays exactly what the main stream makes):
        per 5,000 accounts about 2 CSMs who left in the last 4 months with their books still
        assigned to them (open books), 0.5% of accounts with no owner (mostly pooled and
        tech-touch), 3 part-timers (60-80 points), 1 CSM without a capacity on record and 1-2
        hires of the last 60 days who took a few accounts over from their teammates. A leaver
        logs no touchpoint after leaving; a new hire logs the taken-over accounts' touchpoints
        from the hire date on. Also returns the owner changes it made (`moves`: account
        position, from_csm, to_csm (None: left without an owner), hire_date of to_csm) for the
        ownership history."""
        rng = np.random.default_rng([self.spec.seed, 8])
        as_of, scale = self.spec.as_of, self.spec.accounts / 5000
        csms, accounts, touchpoints = csms.copy(), accounts.copy(), touchpoints.copy()
        is_csm = (csms.role == "CSM").to_numpy()
        hired = pd.to_datetime(csms["hire_date"]).dt.date.to_numpy()
        tenured = np.flatnonzero(is_csm & (hired <= as_of - timedelta(days=365)))

        picks = rng.permutation(tenured)
        n_left, n_part, n_null = (max(1, round(k * scale)) for k in (2, 3, 1))
        left = picks[:n_left]
        part = picks[n_left : n_left + n_part]
        no_capacity = picks[n_left + n_part : n_left + n_part + n_null]
        ends = [as_of - timedelta(days=int(d)) for d in rng.integers(7, 122, len(left))]
        end_col = csms.columns.get_loc("end_date")
        for row, end in zip(left, ends, strict=True):
            csms.iat[row, end_col] = pd.Timestamp(end)
        cap_col = csms.columns.get_loc("capacity_points")
        csms.iloc[part, cap_col] = rng.choice([60.0, 70.0, 80.0], len(part))
        csms.iloc[no_capacity, cap_col] = np.nan

        # A leaver's touchpoints stop the day they leave.
        leaver_end = {
            csms.iat[row, 0]: np.datetime64(end, "s") + np.timedelta64(1, "D")
            for row, end in zip(left, ends, strict=True)
        }
        cutoff = pd.to_datetime(touchpoints["csm_id"].map(leaver_end))
        touchpoints = touchpoints[~(touchpoints["occurred_at"] >= cutoff)]

        # New hires take a few live accounts over from the teammates still there.
        leaver_ids = set(leaver_end)
        owner = accounts["owner_csm_id"].to_numpy().copy()
        customer = (accounts["lifecycle_stage"] != "churned").to_numpy()
        teams, team_size = np.unique(csms.loc[is_csm, "team"], return_counts=True)
        n_new = max(1, round(1.5 * scale))
        new_teams = rng.choice(
            teams, n_new, replace=n_new > len(teams), p=team_size / team_size.sum()
        )
        new_rows, next_n = [], int(csms["csm_id"].str[1:].astype(int).max()) + 1
        moves = []
        for team in new_teams:
            members = csms[(csms.team == team) & is_csm & ~csms.csm_id.isin(leaver_ids)]
            manager = csms[(csms.team == team) & (csms.role == "Manager")]
            csm_id = f"C{next_n:04d}"
            hire = as_of - timedelta(days=int(rng.integers(7, 60)))
            new_rows.append(
                dict(
                    csm_id=csm_id,
                    name=self._person(next_n),
                    team=team,
                    manager_id=manager["csm_id"].iloc[0] if len(manager) else None,
                    region=self._team_region(team),
                    role="CSM",
                    hire_date=hire,
                    capacity_points=100.0,
                    email=self._person(next_n).lower().replace(" ", ".") + "@example.com",
                    end_date=pd.NaT,
                )
            )
            next_n += 1
            pool = np.flatnonzero(np.isin(owner, members["csm_id"].to_numpy()) & customer)
            moved = rng.choice(pool, min(len(pool), int(rng.integers(4, 13))), replace=False)
            moves += [(int(i), owner[i], csm_id, hire) for i in moved]
            owner[moved] = csm_id
            taken = touchpoints["account_id"].isin(accounts["account_id"].to_numpy()[moved]) & (
                touchpoints["occurred_at"] >= np.datetime64(hire, "s")
            )
            touchpoints.loc[taken, "csm_id"] = csm_id
        csms = pd.concat([csms, pd.DataFrame(new_rows)[csms.columns]], ignore_index=True)

        # Unowned: mostly pooled and tech-touch accounts, never a leaver's or a new hire's.
        tier = accounts["coverage_tier"].to_numpy()
        eligible = np.isin(owner, csms.loc[is_csm.nonzero()[0], "csm_id"].to_numpy()) & ~np.isin(
            owner, list(leaver_ids)
        )
        weight = np.where(tier == "named", 0.15, 1.0) * eligible
        n_none = max(1, round(0.005 * len(accounts)))
        unowned = rng.choice(len(accounts), n_none, replace=False, p=weight / weight.sum())
        moves += [(int(i), owner[i], None, None) for i in unowned]
        owner[unowned] = None
        accounts["owner_csm_id"] = owner
        moves = pd.DataFrame(moves, columns=["account", "from_csm", "to_csm", "hire_date"])
        return csms, accounts, touchpoints.reset_index(drop=True), moves

    # ---- ownership over time: account_owner_history ----------------------------------------
    def ownership(
        self, csms: pd.DataFrame, accounts: pd.DataFrame, touchpoints: pd.DataFrame, moves
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Who owned each account since it began, drawn last from a stream of its own, so the
        other tables stay as they were except: a few CSMs who left in the past 2 years join
        `csms` (their books went to teammates the day after their last day), and each
        touchpoint is logged by the account's owner on its day (none when nobody owned it).

        Built backwards from today's owner: the staffing moves (a new hire's takeover from
        the teammate it came from, the day an account lost its owner), then, span by span,
        whoever had the account before: a past leaver whose book it was, the teammate it
        came from when its owner was hired after the account began (a takeover within
        TAKEOVER_DAYS of the hire) or, now and then, a quarterly rebalancing move. Nobody
        owns an account before their hire date or after their end date, except the open books
        of recent leavers. Returns (csms, account_owner_history, touchpoints)."""
        rng = np.random.default_rng([self.spec.seed, 9])
        csms, past = self._past_leavers(csms, rng)
        day = np.datetime64("1970-01-01", "D")
        as_of = int((self.as_of - day).astype(int))
        open_end = np.iinfo(np.int64).max // 2  # valid_to of a span that is still open
        ids = csms["csm_id"].to_numpy()
        pos = pd.Series(np.arange(len(ids)), index=ids)
        hire = (pd.to_datetime(csms["hire_date"]).to_numpy().astype("datetime64[D]") - day).astype(
            np.int64
        )
        end = pd.to_datetime(csms["end_date"]).to_numpy().astype("datetime64[D]")
        last_day = np.where(np.isnat(end), open_end, (end - day).astype(np.int64))
        created = (accounts["created_date"].to_numpy().astype("datetime64[D]") - day).astype(
            np.int64
        )
        n = len(accounts)
        spans = []  # (account position, owner position or -1, valid_from, valid_to) arrays

        # Today's owner, and the staffing moves that made it.
        owner = (
            pos.reindex(accounts["owner_csm_id"].fillna(""))
            .fillna(-1)
            .astype(int)
            .to_numpy()
            .copy()
        )
        until = np.full(n, open_end)
        moved = moves["account"].to_numpy(dtype=int)
        came_from = pos[moves["from_csm"]].to_numpy()
        lost = moves["to_csm"].isna().to_numpy()
        # Unowned since a day in the last half year (after the account began and its owner's hire).
        gone = np.maximum.reduce(
            [
                as_of - rng.integers(14, 180, len(moved)),
                created[moved] + 1,
                hire[came_from] + 1,
            ]
        )
        hired = (
            pd.to_datetime(moves["hire_date"].fillna(self.spec.as_of))
            .to_numpy()
            .astype("datetime64[D]")
            - day
        ).astype(np.int64)
        taken = np.minimum(hired + rng.integers(0, 21, len(moved)), as_of)
        change = np.where(lost, gone, taken)
        before = change > created[moved]  # a new hire may have had it from its first day
        spans.append((moved[before], owner[moved[before]], change[before], until[moved[before]]))
        owner[moved[before]], until[moved[before]] = came_from[before], change[before]

        team = csms["team"].to_numpy()[owner]
        book_of = self._past_leaver_books(csms, past, team, created, rng)
        acct = np.arange(n)
        roster, roster_size, team_index = self._rosters(csms, team)
        for _ in range(12):  # each round: the spans before the ones found so far
            if not len(acct):
                break
            low = created[acct]
            earliest = np.maximum(low, hire[owner])
            start = low.copy()
            before = np.full(len(acct), -1)
            # A past leaver's book: handed to this owner the day after the leaver's last day.
            leaver = book_of[acct]
            handed = np.where(leaver >= 0, last_day[np.maximum(leaver, 0)] + 1, 0)
            from_leaver = (leaver >= 0) & (handed > earliest) & (handed < until[acct])
            start[from_leaver], before[from_leaver] = handed[from_leaver], leaver[from_leaver]
            book_of[acct[from_leaver]] = -1
            # Hired after the account began: taken over from a teammate soon after the hire.
            late = ~from_leaver & (hire[owner] > low)
            start[late] = np.minimum(
                hire[owner[late]] + rng.integers(0, TAKEOVER_DAYS, late.sum()),
                until[acct[late]] - 1,
            )
            # Quarterly rebalancing between teammates, a few % of accounts a year.
            span_end = np.minimum(until[acct], as_of + 1)
            quarter = self._quarter_start_between(earliest, span_end, rng)
            years = (span_end - earliest) / 365.25
            chance = 1 - np.exp(-REBALANCED_PER_YEAR * np.maximum(years, 0))
            moved_on = ~from_leaver & ~late & (quarter > 0) & (rng.random(len(acct)) < chance)
            start[moved_on] = quarter[moved_on]
            pick = (late | moved_on) & (start > low)
            before[pick] = self._teammate_before(
                start[pick],
                owner[pick],
                team_index[acct[pick]],
                roster,
                roster_size,
                hire,
                last_day,
                rng,
            )
            start[(late | moved_on) & (before < 0)] = low[(late | moved_on) & (before < 0)]
            spans.append((acct, owner, start, until[acct]))
            more = before >= 0
            acct, owner, until_next = acct[more], before[more], start[more]
            until[acct] = until_next
        history = pd.DataFrame(
            {
                "account": np.concatenate([s[0] for s in spans]),
                "owner": np.concatenate([s[1] for s in spans]),
                "valid_from": np.concatenate([s[2] for s in spans]),
                "valid_to": np.concatenate([s[3] for s in spans]),
            }
        ).sort_values(["account", "valid_from"], ignore_index=True)
        history = pd.DataFrame(
            {
                "account_id": accounts["account_id"].to_numpy()[history["account"]],
                "owner_csm_id": np.where(
                    history["owner"] >= 0, ids[history["owner"].clip(lower=0)], None
                ),
                "valid_from": (day + history["valid_from"].to_numpy()).astype("datetime64[s]"),
                "valid_to": pd.Series(
                    (day + np.minimum(history["valid_to"], 10**6).to_numpy()).astype(
                        "datetime64[s]"
                    )
                ).where(history["valid_to"].to_numpy() < open_end),
            }
        )
        return csms, history, self._logged_by_owner(touchpoints, history)

    def _past_leavers(self, csms: pd.DataFrame, rng) -> tuple[pd.DataFrame, np.ndarray]:
        """CSMs who left between 130 days and 2 years ago (hired 1.5 to 5 years before), added
        to `csms`; also returns their positions in it."""
        as_of, scale = self.spec.as_of, self.spec.accounts / 5000
        is_csm = csms.role == "CSM"
        teams, size = np.unique(csms.loc[is_csm, "team"], return_counts=True)
        count = max(1, round(PAST_LEAVERS_PER_5K * scale))
        picked = rng.choice(teams, count, p=size / size.sum())
        ends = [as_of - timedelta(days=int(d)) for d in rng.integers(130, 730, count)]
        next_n = int(csms["csm_id"].str[1:].astype(int).max()) + 1
        managers = csms[csms.role == "Manager"].set_index("team")["csm_id"]
        rows = []
        for k, (team, end) in enumerate(zip(picked, ends, strict=True)):
            name = self._person(next_n + k)
            rows.append(
                dict(
                    csm_id=f"C{next_n + k:04d}",
                    name=name,
                    team=team,
                    manager_id=managers.get(team),
                    region=self._team_region(team),
                    role="CSM",
                    hire_date=end - timedelta(days=int(rng.integers(550, 1830))),
                    capacity_points=100.0,
                    email=name.lower().replace(" ", ".") + "@example.com",
                    end_date=pd.Timestamp(end),
                )
            )
        past = np.arange(len(csms), len(csms) + count)
        return pd.concat([csms, pd.DataFrame(rows)[csms.columns]], ignore_index=True), past

    @staticmethod
    def _past_leaver_books(csms, past, team, created, rng) -> np.ndarray:
        """Per account (of `team`, begun on `created`, days since 1970), the past leaver whose
        book it was on their last day (-1: none): about a teammate's share of the team's
        accounts begun by then."""
        book_of = np.full(len(team), -1)
        hire = pd.to_datetime(csms["hire_date"])
        end = pd.to_datetime(csms["end_date"])
        is_csm, teams = (csms["role"] == "CSM").to_numpy(), csms["team"].to_numpy()
        for i in past:
            last = (end.iloc[i] - pd.Timestamp("1970-01-01")).days
            staff = np.sum(
                is_csm
                & (teams == teams[i])
                & (hire <= end.iloc[i]).to_numpy()
                & (end.isna() | (end >= end.iloc[i])).to_numpy()
            )
            pool = np.flatnonzero((team == teams[i]) & (created <= last) & (book_of < 0))
            size = min(len(pool), round(len(pool) / max(staff, 1) * rng.uniform(0.6, 1.0)))
            book_of[rng.choice(pool, size, replace=False)] = i
        return book_of

    @staticmethod
    def _rosters(csms, team) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The CSMs (positions in `csms`) of each team as a padded matrix, each team's size, and
        each account's row in it (from `team`, the account's team)."""
        is_csm = (csms["role"] == "CSM").to_numpy()
        names = np.unique(csms.loc[is_csm, "team"])
        members = [np.flatnonzero(is_csm & (csms["team"] == t).to_numpy()) for t in names]
        roster = np.full((len(names), max(len(g) for g in members)), -1)
        for k, g in enumerate(members):
            roster[k, : len(g)] = g
        sizes = np.array([len(g) for g in members])
        return roster, sizes, np.searchsorted(names, team)

    @staticmethod
    def _teammate_before(start, owner, team_row, roster, sizes, hire, last_day, rng) -> np.ndarray:
        """For each handover on `start` (days) to `owner`: a random teammate employed the day
        before (a CSM of the whole company when the team had nobody then); -1 when none was."""
        found = np.full(len(start), -1)
        everyone = roster[roster >= 0][None, :]
        for rows, size in ((roster, sizes[team_row]), (everyone, None)):
            todo = np.flatnonzero(found < 0)
            for _ in range(40):
                if not len(todo):
                    break
                k = rng.integers(0, size[todo] if size is not None else rows.shape[1])
                candidate = rows[team_row[todo] if size is not None else 0, k]
                ok = (
                    (candidate != owner[todo])
                    & (hire[candidate] < start[todo])
                    & (last_day[candidate] >= start[todo] - 1)
                )
                found[todo[ok]] = candidate[ok]
                todo = todo[~ok]
        return found

    @staticmethod
    def _quarter_start_between(low, high, rng) -> np.ndarray:
        """A random calendar-quarter start q with low < q < high (days since 1970), 0 if none."""
        month0 = np.datetime64("1970-01", "M")
        day0 = np.datetime64("1970-01-01", "D")
        first = (day0 + low).astype("datetime64[M]").astype(np.int64) // 3 + 1
        last = (day0 + np.maximum(high - 1, low)).astype("datetime64[M]").astype(np.int64) // 3
        pick = first + np.floor(rng.random(len(low)) * np.maximum(last - first + 1, 0)).astype(
            np.int64
        )
        quarter = ((month0 + pick * 3).astype("datetime64[D]") - day0).astype(np.int64)
        return np.where(last >= first, quarter, 0)

    @staticmethod
    def _logged_by_owner(touchpoints: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
        """Each touchpoint logged by the account's owner on its day (None: nobody owned it)."""
        left = pd.DataFrame(
            {
                "account_id": touchpoints["account_id"].to_numpy(),
                "at": touchpoints["occurred_at"].to_numpy().astype("datetime64[s]"),
                "row": np.arange(len(touchpoints)),
            }
        ).sort_values("at")
        right = history.assign(valid_from=history["valid_from"].astype("datetime64[s]"))
        found = pd.merge_asof(
            left,
            right.sort_values("valid_from"),
            left_on="at",
            right_on="valid_from",
            by="account_id",
            direction="backward",
        )
        inside = found["valid_to"].isna() | (found["at"] < found["valid_to"])
        owner = found["owner_csm_id"].where(inside & found["valid_from"].notna())
        logged = touchpoints.copy()
        logged["csm_id"] = owner.set_axis(found["row"]).sort_index().to_numpy()
        return logged

    def _lifecycle(self, accounts, renewals, churn_day) -> list[str]:
        as_of = self.spec.as_of
        open_r = renewals[renewals.outcome == "open"].set_index("account_id")["renewal_date"]
        stages = []
        for acc in accounts.itertuples(index=False):
            age = (as_of - acc.created_date.date()).days
            next_renewal = open_r.get(acc.account_id)
            if acc.account_id in churn_day:
                stages.append("churned")
            elif age < 90:
                stages.append("onboarding")
            elif next_renewal is not None and (next_renewal - as_of).days <= 120:
                stages.append("renewal")
            elif age < 365:
                stages.append("adoption")
            else:
                stages.append("value")
        return stages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    counts = DemoGenerator(DemoSpec(args.accounts, args.seed, args.as_of)).write(args.out)
    print(f"demo data written to {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
