"""Screenshots of every page at 1440 and 1280 px, as a user sees them once the page settled.

Serves the app the production way (bench/page_settle.py's gunicorn), opens each page in headless
Chromium, waits until it has settled (same signal as the page-settle benchmark) and saves a PNG
of the whole page into docs/screenshots/<name>-<width>.png.

Usage: ``python -m bench.screenshots --db data/csops.duckdb [--only portfolio,accounts]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.page_settle import free_port, large_account, new_browser, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
WIDTHS = (1440, 1280)


def pages(account_id: str) -> dict[str, str]:
    """Screenshot name -> path (with the query string a user would share)."""
    return {
        "portfolio": "/",
        "portfolio-enterprise": "/?segment=Enterprise&mix_by=team",
        "accounts": "/accounts?band=red&sort=arr%3Adesc",
        "account-360": f"/accounts/{account_id}",
        "retention": "/retention",
        "health-model": "/health-model",
        "renewal-list": "/renewals/list",
        "renewals-pipeline": "/renewals",
        "renewals-forecast": "/renewals?tab=forecast",
        "renewals-hygiene": "/renewals?tab=hygiene",
        "renewals-retention": "/renewals?tab=retention",
        "renewals-upsell": "/renewals?tab=upsell",
        "definitions": "/definitions",
        "capacity-books": "/capacity?tab=books",
        "capacity-scenario": "/capacity?tab=scenario&g_smb=7&cc_seg=smb&cc_arr=15000"
        "&cc_tier=tech&cc_from=3",
        "capacity-rebalance": "/capacity?tab=rebalance",
        # Compensation under the newest saved plan (seed_plans): attainment, and a what-if.
        "compensation-attainment": "/compensation",
        "compensation-whatif": "/compensation?tab=whatif&wi_renewal_rate_target=110"
        "&wi_expansion_arr_cap=150",
        "empty": "/?segment=Nope",
        "not-found": "/no/such/page",
    }


QUIET = """return document.readyState === 'complete'
    && !document.querySelector('[data-dash-is-loading="true"]')
    && !document.querySelector('._dash-loading, .dash-spinner')"""


def wait_quiet(driver, hold: int = 10, timeout_s: float = 30) -> None:
    """Until nothing is loading for `hold` polls in a row (a tool, not a test: it may poll)."""
    streak, deadline = 0, time.time() + timeout_s
    while streak < hold and time.time() < deadline:
        streak = streak + 1 if driver.execute_script(QUIET) else 0
        time.sleep(0.1)


def capture(base: str, name: str, path: str, width: int) -> Path:
    driver, _profile = new_browser()
    try:
        driver.set_window_size(width, 1000)
        driver.get(base + path)
        wait_quiet(driver)
        # The window's height includes the browser's own bars: size the viewport, not the
        # window, to the page; again while the page grows (panels that load late, charts
        # redrawn at the new size).
        chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
        shown = 0
        for _ in range(4):
            height = driver.execute_script("return document.documentElement.scrollHeight")
            if height == shown:
                break
            shown = min(max(height, 800), 6000)
            driver.set_window_size(width, shown + chrome)
            wait_quiet(driver, hold=5)
        target = OUT / f"{name}-{width}.png"
        driver.save_screenshot(str(target))
        return target
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=ROOT / "data" / "csops.duckdb")
    parser.add_argument("--only", default="", help="comma-separated screenshot names")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        saved = seed_scenarios(Path(tmp) / "app_state.sqlite")  # sets CSOPS_APP_STATE
        saved.update(seed_targets(args.db))  # a plan with targets set by hand (Targets tab)
        saved.update(seed_plans(args.db))  # compensation plans, in the same store
        saved.update(seed_statements(args.db))  # a compensation statement, issued
        env = {**os.environ, "CSOPS_DB": str(args.db.resolve())}
        server = start_server("app:server", port, env, Path(tmp))
        try:
            wanted = {n for n in args.only.split(",") if n}
            for name, path in {**pages(large_account(args.db)), **saved}.items():
                if wanted and name not in wanted:
                    continue
                for width in WIDTHS:
                    print(capture(f"http://127.0.0.1:{port}", name, path, width))
        finally:
            stop_server(server)


# ---- Saved capacity scenarios (pages/_capacity_saved.py): a fresh store, seeded -------------
def seed_scenarios(state_path: Path) -> dict[str, str]:
    """Three saved scenarios (one with two versions) in a new app-state store at `state_path`,
    which the server then uses; screenshot name -> path."""
    from dataclasses import replace

    os.environ["CSOPS_APP_STATE"] = str(state_path)
    from services.capacity_projection import ScenarioInputs
    from services.capacity_scenarios import save_scenario

    base = ScenarioInputs.defaults()

    def inputs(**changes) -> dict:
        return replace(base, **changes).to_dict()

    plan = save_scenario("Base case", inputs(), {}, "maria.lopez")
    plan = save_scenario(
        "", inputs(horizon=10), {}, "sam.okafor", expected_version=1, scenario_id=plan.id
    )
    fast = save_scenario("Fast SMB growth", inputs(growth=(None, None, 0.06)), {}, "maria.lopez")
    lean = save_scenario(
        "Fast growth, SMB under $15K to tech-touch",
        inputs(
            growth=(None, None, 0.06),
            cc_segments=("SMB",),
            cc_below_arr=15_000.0,
            cc_to_tier="tech-touch",
            cc_from=2,
        ),
        {"tu": "80"},
        "sam.okafor",
    )
    compare = "&".join(f"compare={s.id}" for s in (plan, fast, lean))
    return {
        "capacity-saved": f"/capacity?tab=saved&{compare}",
        "capacity-scenario-saved": f"/capacity?tab=scenario&scenario={lean.id}",
    }


# ---- Compensation plans (pages/_comp_plan.py): two versions of one plan, in the same store ------
def seed_plans(db: Path) -> dict[str, str]:
    """A plan whose version 2 takes effect this quarter (version 1 the quarter before), saved
    in the store seed_scenarios opened; screenshot name -> path."""
    os.environ["CSOPS_DB"] = str(db.resolve())
    from services.comp_periods import period_of
    from services.comp_plan import default_plan, plan_to_payload
    from services.comp_plan_store import save_plan
    from services.db import get_database

    as_of = get_database().info().as_of_date
    now = period_of(as_of, "quarter")
    before = now.previous()
    first = plan_to_payload(default_plan(before.start))
    v1 = save_plan(None, "FY27 CSM plan", first, "maria.lopez", None, before.start, "First plan")
    second = plan_to_payload(default_plan(now.start))
    second["metrics"][0]["curve"]["threshold"] = 85.0
    second["budget"] = 400_000.0
    save_plan(v1.item_id, "", second, "sam.okafor", 1, as_of, "Lower renewal threshold")
    return {
        "compensation-plan": f"/compensation?tab=plan&plan={v1.item_id}",
    }


# ---- Compensation targets (pages/_comp_targets.py): every rule, and a target set by hand -------
def seed_targets(db: Path) -> dict[str, str]:
    """A plan whose metrics use each target rule (company, last period + uplift, book history
    + uplift) with one target set by hand, saved before the plans above (so theirs stays the
    newest); screenshot name -> path."""
    os.environ["CSOPS_DB"] = str(db.resolve())
    from services.comp_periods import period_of
    from services.comp_plan import default_plan, plan_to_payload
    from services.comp_plan_store import save_plan
    from services.db import get_database

    database = get_database()
    now = period_of(database.info().as_of_date, "quarter")
    payload = plan_to_payload(default_plan(now.start))
    payload["metrics"][1].update(rule="last", uplift=0.01)  # NRR: last quarter + 1 point
    payload["metrics"][2].update(uplift=0.1)  # expansion: book history + 10%
    someone = database.query("SELECT csm_id FROM csms WHERE role = 'CSM' ORDER BY csm_id LIMIT 1")
    payload["overrides"] = [
        {
            "csm_id": str(someone["csm_id"][0]),
            "metric": "renewal_rate",
            "target": 0.85,
            "reason": "Took over a book with three at-risk renewals this quarter",
        }
    ]
    plan = save_plan(None, "Targets demo", payload, "maria.lopez", None, now.start, "Targets")
    return {"compensation-targets": f"/compensation?tab=targets&plan={plan.item_id}"}


# ---- Compensation statements (pages/_comp_statement.py): a live one, printable, issued ---------
def seed_statements(db: Path) -> dict[str, str]:
    """The statement of the CSM with the most counted lines (at most 12, so the page stays a
    page) under the view's plan, issued once in the store seed_scenarios opened; screenshot
    name -> path."""
    os.environ["CSOPS_DB"] = str(db.resolve())
    from services.comp_plan_store import plan_for_view
    from services.comp_statement import build_statement, issue_statement, people
    from services.db import get_database
    from services.filters import Filters

    database = get_database()
    day = database.info().as_of_date
    view = plan_for_view({}, day)
    best = None
    for csm_id, _ in people(database, Filters(), view, day)[:40]:
        statement = build_statement(database, Filters(), view, csm_id, day)
        if statement.role == "CSM" and len(statement.lines) <= 12:
            if best is None or len(statement.lines) > len(best.lines):
                best = statement
    if best is None:
        return {}
    issued = issue_statement(best, "maria.lopez")
    live = f"/compensation?tab=statement&csm={best.csm_id}"
    return {
        "compensation-statement": live,
        "compensation-statement-print": live + "&print=1",
        "compensation-statement-issued": f"/compensation?tab=statement&statement={issued}",
    }


if __name__ == "__main__":
    main()
