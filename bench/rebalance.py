"""Rebalancing benchmark: the plan for the whole company and for its hardest team, solver
(scipy's milp, HiGHS) against the greedy baseline, objective and time.

Cold = no result cache (the workload queries, the renewals query and the solves); warm = the
plan read back from the result cache (what the tab's callback does on a repeat). Part of
`make bench` (bench/run.py calls `section`), or alone:

Usage: ``python -m bench.rebalance [--db .bench/csops-100000.duckdb] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _money(value: float) -> str:
    return f"${value / 1e6:,.2f}M"


def section(db_path: Path, size: int | None = None, repeat: int = 3) -> list[str]:
    """Markdown lines: a table per scope (company, hardest team) and the per-team solves."""
    from services import cache
    from services.asof import resolve_as_of
    from services.db import Database
    from services.filters import Filters
    from services.rebalancing import COMPANY_TIME_LIMIT, TEAM_TIME_LIMIT, RebalanceOptions
    from services.rebalancing_inputs import rebalance_accounts, rebalance_plan
    from services.workload import WorkloadParams

    db = Database(db_path)
    filters, workload = Filters(), WorkloadParams.defaults()
    day = resolve_as_of(db, filters).date
    options = RebalanceOptions.defaults()
    cache.configure("null")
    rebalance_accounts(db, filters, day, workload)  # DuckDB reads its blocks once
    company, _ = _timed(lambda: rebalance_plan(db, filters, day, workload, options))
    busy = company.teams.sort_values("seconds", ascending=False)
    hardest = busy.iloc[0]["team"] if len(busy) else None
    scopes = [("Whole company", options)]
    if hardest:
        scopes.append((f"One team ({hardest})", replace(options, team=hardest)))
    title = f"### Rebalancing{f' at {size:,} accounts' if size else ''}"
    lines = [
        title,
        "",
        f"Defaults: over-loaded above {workload.overloaded_above:.0%}, receivers up to "
        f"{workload.target_utilisation:.0%}, at most {options.max_moves} moves per CSM, renewals "
        f"within {options.freeze_days} days never move; solver time limit {TEAM_TIME_LIMIT:g} s "
        f"a team, {COMPANY_TIME_LIMIT:g} s in all. Median of {repeat} cold runs.",
        "",
        "| scope | cold total | of which solver | greedy | warm (cache) | plan: moves, ARR, "
        "objective, overload left | greedy: moves, ARR, objective, overload left |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    tmp = tempfile.mkdtemp(prefix="csops-bench-rebalance-")
    try:
        for label, opts in scopes:
            runs = []
            for _ in range(repeat):
                cache.configure("null")
                plan, seconds = _timed(lambda o=opts: rebalance_plan(db, filters, day, workload, o))
                runs.append((seconds, plan))
            runs.sort(key=lambda r: r[0])
            seconds, plan = runs[len(runs) // 2]
            os.environ["CSOPS_CACHE_DIR"] = tmp
            cache.configure("filesystem")
            cache.clear()
            rebalance_plan(db, filters, day, workload, opts)
            _, warm = _timed(lambda o=opts: rebalance_plan(db, filters, day, workload, o))
            s, g = plan.solver, plan.greedy
            lines.append(
                f"| {label} | {seconds * 1000:,.0f} ms | {plan.teams['seconds'].sum() * 1000:,.0f}"
                f" ms | {plan.teams['greedy_seconds'].sum() * 1000:,.0f} ms | {warm * 1000:,.1f} ms"
                f" | {s.moves}, {_money(s.moved_arr)}, {_money(s.objective)}, {s.uncovered:,.1f} pts"
                f" | {g.moves}, {_money(g.moved_arr)}, {_money(g.objective)}, {g.uncovered:,.1f} pts |"
            )
        lines += [
            "",
            "Per team (whole company run): solver status and MIP gap, and the least overload any "
            "plan can leave (proved by the first solve).",
            "",
            "| team | donors | candidates | variables | status | gap | solver s | least left | "
            "plan objective | greedy objective |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
        for r in company.teams.itertuples():
            gap = "–" if r.gap is None else f"{100 * r.gap:.2f}%"
            least = "–" if r.least_uncovered is None else f"{r.least_uncovered:,.1f}"
            shown = r.greedy_objective if r.chosen == "greedy" else r.solver_objective
            lines.append(
                f"| {r.team} | {r.donors} | {r.candidates} | {r.variables} | {r.status} | {gap} "
                f"| {r.seconds:.2f} | {least} | {_money(shown)} | {_money(r.greedy_objective)} |"
            )
    finally:
        cache.configure("null")
        shutil.rmtree(tmp, ignore_errors=True)
    return lines + [""]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / ".bench" / "csops-100000.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print("\n".join(section(args.db, repeat=args.repeat)))


if __name__ == "__main__":
    main()
