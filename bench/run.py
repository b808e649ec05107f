"""`make bench`: build-time, service-call and HTTP-callback timings at 5k and 100k accounts.

Not a test: it measures and reports. For each size it builds (or reuses) a demo database under
.bench/, times every service call the Portfolio, Accounts and Account 360 pages make (cold: the
uncached service function, i.e. the DuckDB query plus its pandas work; warm: through the result
cache), then starts gunicorn (2 workers) on that database and times each page callback over
HTTP (`POST /_dash-update-component`) with an empty and a filled cache. Results go to stdout and
to docs/PERFORMANCE.md (between the generated markers).

Usage: ``python -m bench.run [--sizes 5000 100000] [--repeat 15]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench import page_settle, rebalance
from services.build import source_fingerprint

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".bench"
REPORT = ROOT / "docs" / "PERFORMANCE.md"
MARK_START = "<!-- bench:start -->"
MARK_END = "<!-- bench:end -->"
PORT = 8061


@dataclass
class Sample:
    name: str
    times_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def p(self, q: float) -> float:
        ordered = sorted(self.times_ms)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def ensure_database(accounts: int) -> tuple[Path, dict]:
    """Build (once) the demo database of a size; returns its path and build timings."""
    source = BENCH_DIR / f"src-{accounts}"
    target = BENCH_DIR / f"csops-{accounts}.duckdb"
    stamp = BENCH_DIR / f"build-{accounts}.json"
    fingerprint = source_fingerprint()
    if target.exists() and stamp.exists():
        info = json.loads(stamp.read_text())
        if info.get("fingerprint") == fingerprint:  # else: built by other code, rebuild
            return target, info
    BENCH_DIR.mkdir(exist_ok=True)
    python = sys.executable
    t0 = time.perf_counter()
    subprocess.run(
        [python, "-m", "data.generate_demo", "--accounts", str(accounts), "--out", str(source)],
        check=True,
        cwd=ROOT,
    )
    t1 = time.perf_counter()
    subprocess.run(
        [python, "-m", "services.build", "--source", str(source), "--target", str(target)],
        check=True,
        cwd=ROOT,
    )
    t2 = time.perf_counter()
    info = {
        "generate_s": round(t1 - t0, 1),
        "build_s": round(t2 - t1, 1),
        "file_mb": round(target.stat().st_size / 1e6, 1),
        "fingerprint": fingerprint,
    }
    stamp.write_text(json.dumps(info))
    return target, info


def filter_variants(db) -> list:
    from services.filter_options import filter_options
    from services.filters import Filters

    options = filter_options(db, Filters(), db.info().as_of_date)
    first = {k: v[0]["value"] for k, v in options.items() if v}
    return [
        Filters(),
        Filters(segment=("Enterprise",)),
        Filters(segment=("SMB",)),
        Filters(region=(options["region"][1]["value"],)),
        Filters(team=(first["team"],)),
        Filters(owner=(first["owner"],)),
        Filters(tier=("pooled",)),
        Filters(segment=("Mid-Market",), region=(first["region"],)),
    ]


def _proposals() -> list:
    """Proposed health models the benchmark tunes to (each a different cache key)."""
    from dataclasses import replace

    from services.health_backtest import CURRENT

    return [
        replace(CURRENT, w_usage=40, w_trend=10, w_support=15, w_sentiment=15, w_engagement=20),
        replace(CURRENT, w_usage=25, w_trend=25, w_support=20, w_sentiment=10, w_engagement=20),
        replace(CURRENT, green_min=75, yellow_min=45),
    ]


PROPOSALS = _proposals()


def service_calls(db, snapshot: date, account_ids: list[str]):
    """(name, function(filters, i)) for every service call the three pages make."""
    from services import health
    from services.account_360 import account_360
    from services.account_list import account_page, account_totals
    from services.filter_options import filter_options
    from services.filters import AccountDrill
    from services.health_backtest import backtest, band_mix_now, component_diagnostics
    from services.portfolio import portfolio_kpis
    from services.renewal_list import RenewalDrill, renewal_page, renewal_totals
    from services.retention_list import retention_summary

    red = AccountDrill(band=("red",))
    return [
        (
            "portfolio: KPIs (7 metrics, now and 90 days earlier)",
            lambda f, i: portfolio_kpis(db, f, snapshot),
        ),
        ("portfolio: band mix by segment", lambda f, i: health.band_mix(db, f, snapshot)),
        (
            "portfolio: weekly band mix (26 weeks)",
            lambda f, i: health.band_history(db, f, snapshot),
        ),
        ("portfolio: health by owner", lambda f, i: health.health_by_owner(db, f, snapshot)),
        ("portfolio: movers", lambda f, i: health.movers(db, f, snapshot, limit=25)),
        ("portfolio: health model summary (backtest)", lambda f, i: backtest(db, f, snapshot)),
        (
            "health model: backtest of a proposal",
            lambda f, i: backtest(db, f, snapshot, PROPOSALS[i % len(PROPOSALS)]),
        ),
        (
            "health model: band mix now, proposal",
            lambda f, i: band_mix_now(db, f, snapshot, PROPOSALS[i % len(PROPOSALS)]),
        ),
        (
            "health model: component diagnostics",
            lambda f, i: component_diagnostics(db, f, snapshot),
        ),
        (
            "renewal list: totals + first 100 rows (red, proposal)",
            lambda f, i: (
                renewal_totals(db, f, RenewalDrill(band="red"), snapshot, PROPOSALS[0]),
                renewal_page(db, f, RenewalDrill(band="red"), snapshot, PROPOSALS[0]),
            ),
        ),
        ("accounts: totals (band=red)", lambda f, i: account_totals(db, f, red, snapshot)),
        (
            "accounts: first 100 rows (band=red)",
            lambda f, i: account_page(db, f, red, snapshot, (), 0, 100),
        ),
        (
            "accounts: 100 rows sorted by health, all",
            lambda f, i: account_page(
                db, f, AccountDrill(), snapshot, (("health_score", "asc"),), 0, 100
            ),
        ),
        (
            "account 360",
            lambda f, i: account_360(db, f, account_ids[i % len(account_ids)], snapshot),
        ),
        (
            "shell: filter options (cascading, with counts)",
            lambda f, i: filter_options(db, f, snapshot),
        ),
        ("retention: cohort summary", lambda f, i: retention_summary(db, f, snapshot)),
    ]


def bench_services(db_path: Path, repeat: int) -> tuple[list[Sample], list[Sample]]:
    from services import cache
    from services.account_list import account_page
    from services.asof import resolve_as_of
    from services.db import Database
    from services.filters import AccountDrill, Filters

    db = Database(db_path)
    cache.configure("null")
    snapshot = resolve_as_of(db, Filters()).date
    variants = filter_variants(db)
    ids = list(account_page(db, Filters(), AccountDrill(), snapshot, (), 0, 50)["account_id"])
    calls = service_calls(db, snapshot, ids)
    for _, fn in calls:  # let DuckDB load its blocks once; cold below means "no result cache"
        fn(Filters(), 0)
    cold, warm = [], []
    tmp = tempfile.mkdtemp(prefix="csops-bench-cache-")
    for name, fn in calls:
        c, w = Sample(name), Sample(name)
        for r in range(repeat):
            for i, filters in enumerate(variants):
                if r * len(variants) + i >= max(repeat, len(variants)):
                    break
                cache.configure("null")
                c.times_ms.append(timed(lambda fn=fn, f=filters, i=i: fn(f, i)))
        os.environ["CSOPS_CACHE_DIR"] = tmp
        cache.configure("filesystem")
        cache.clear()
        fn(Filters(), 0)
        for _ in range(repeat):
            w.times_ms.append(timed(lambda fn=fn: fn(Filters(), 0)))
        cold.append(c)
        warm.append(w)
    cache.configure("null")
    shutil.rmtree(tmp, ignore_errors=True)
    return cold, warm


def bench_compensation(db_path: Path, repeat: int) -> tuple[list[Sample], list[Sample]]:
    """Compensation against issue #9's targets: attainment and payout for everyone in the
    current quarter (measures + targets + payouts; cold = an empty result cache, under each
    filter variant; warm = from the cache), and a what-if recompute (the measures and targets
    at hand, as the page has them cached: the what-if plan and the payouts only)."""
    from services import cache
    from services.asof import resolve_as_of
    from services.comp_actuals import period_measures
    from services.comp_payout import compute_payouts
    from services.comp_periods import period_of
    from services.comp_plan import default_plan
    from services.comp_targets import csm_targets
    from services.comp_whatif import what_if_plan
    from services.db import Database
    from services.filters import Filters

    db = Database(db_path)
    cache.configure("null")
    as_of = resolve_as_of(db, Filters()).date
    period = period_of(as_of, "quarter")
    plan = default_plan(period.start)

    def attainment(filters):
        measures = period_measures(db, filters, period, as_of)
        return measures, compute_payouts(measures, csm_targets(db, filters, plan, measures), plan)

    measures, payouts = attainment(Filters())  # DuckDB's blocks loaded once, as elsewhere
    people = len(payouts.people)
    cold = Sample(f"compensation: attainment + payout, all {people:,} people")
    warm = Sample(cold.name)
    variants = filter_variants(db)
    # Cold = the first request after a build: the result cache on but empty (the targets read
    # the measures the same request just cached, as they do in the app; a disabled cache
    # would compute them twice).
    tmp = tempfile.mkdtemp(prefix="csops-bench-cache-")
    os.environ["CSOPS_CACHE_DIR"] = tmp
    cache.configure("filesystem")
    for i in range(max(repeat, len(variants))):
        filters = variants[i % len(variants)]
        cache.clear()
        cold.times_ms.append(timed(lambda f=filters: attainment(f)))
    cache.clear()
    attainment(Filters())
    for _ in range(repeat):
        warm.times_ms.append(timed(lambda: attainment(Filters())))
    cache.configure("null")
    shutil.rmtree(tmp, ignore_errors=True)

    targets = csm_targets(db, Filters(), plan, measures)
    what_if = Sample("compensation: what-if recompute (targets and curves changed)")
    for i in range(repeat):
        params = {
            f"wi_{m.metric}_{key}": [str(value + i)]
            for m in plan.metrics
            for key, value in (("target", 95), ("cap", 140))
        }
        what_if.times_ms.append(
            timed(lambda p=params: compute_payouts(measures, targets, what_if_plan(plan, p)[0]))
        )
    return [cold, what_if], [warm, what_if]


# ---- HTTP ---------------------------------------------------------------------------------
def start_gunicorn(db_path: Path, cache_dir: Path) -> subprocess.Popen:
    """The app on PORT with 2 sync workers, for callback timings (one request per worker)."""
    env = dict(
        os.environ,
        CSOPS_DB=str(db_path),
        CSOPS_CACHE_DIR=str(cache_dir),
        CSOPS_CACHE_TYPE="filesystem",
    )
    flags = ["-w", "2", "--timeout", "300"]
    return page_settle.start_server("app:server", PORT, env, Path(tempfile.mkdtemp()), flags)


def post(path: str, body: dict) -> tuple[float, int, int]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        payload = r.read()
        status = r.status
    return (time.perf_counter() - start) * 1000, len(payload), status


def dependencies() -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/_dash-dependencies", timeout=30) as r:
        return json.loads(r.read())


def callback_body(dep: dict, values: dict[str, object]) -> dict:
    def outputs(spec: str):
        parts = [p for p in spec.strip(".").split("...")]
        out = []
        for part in parts:
            ident, prop = part.rsplit(".", 1)
            out.append({"id": ident.split("@")[0], "property": prop})
        return out if spec.startswith("..") else out[0]

    def items(entries):
        return [
            {
                "id": e["id"],
                "property": e["property"],
                "value": values.get(f"{e['id']}.{e['property']}"),
            }
            for e in entries
        ]

    inputs = items(dep["inputs"])
    return {
        "output": dep["output"],
        "outputs": outputs(dep["output"]),
        "inputs": inputs,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        "state": items(dep.get("state", [])),
    }


def whatif_body(dep: dict, view: dict, i: int) -> dict:
    """The What-if tab's recompute (pages/_comp_whatif.py) for the default plan with every
    target at (95 + i)% and each cap at 140 + i: its inputs are pattern-matched ids, one per
    field, so the request lists them (what Dash's renderer sends) instead of `callback_body`."""
    from services.comp_plan import default_plan
    from services.comp_whatif import what_if_keys

    plan = default_plan(date.today())
    values = {}
    for m in plan.metrics:
        keys = what_if_keys(m.metric)
        values[keys["target"]] = 95 + i
        values[keys["cap"]] = 140 + i
        for name in ("threshold", "payout_at_threshold", "accelerator"):
            values[keys[name]] = getattr(m.curve, name)

    def ident(spec: str):
        return json.loads(spec) if spec.startswith("{") else spec

    outputs = []
    for part in dep["output"].strip(".").split("..."):
        spec, prop = part.rsplit(".", 1)
        spec = ident(spec)
        if isinstance(spec, dict):
            outputs.append([{"id": {**spec, "key": k}, "property": prop} for k in values])
        else:
            outputs.append({"id": spec, "property": prop})
    field = json.loads(dep["inputs"][0]["id"])["type"]
    ids_ = [{"type": field, "key": k} for k in values]
    return {
        "output": dep["output"],
        "outputs": outputs,
        "inputs": [
            [{"id": x, "property": "value", "value": values[x["key"]]} for x in ids_],
            {"id": "cm-whatif-view", "property": "data", "value": view},
        ],
        "changedPropIds": [json.dumps(ids_[0], separators=(",", ":")) + ".value"],
        "state": [
            [{"id": x, "property": "id", "value": x} for x in ids_],
            {"id": "cm-whatif-plan-params", "property": "data", "value": {}},
            {"id": "cm-whatif-defaults", "property": "data", "value": {}},
        ],
    }


def request_body(dep: dict, values: dict) -> dict:
    """A case's request: its values as `callback_body` fills them, or a body built whole."""
    return values if "outputs" in values else callback_body(dep, values)


def find_dep(deps: list[dict], output_fragment: str) -> dict:
    for dep in deps:
        if output_fragment in dep["output"]:
            return dep
    raise KeyError(output_fragment)


def worker_memory_mb(proc: subprocess.Popen) -> list[float]:
    children = subprocess.run(
        ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
    ).stdout.split()
    result = []
    for pid in children:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        result.append(int(peak.split()[1]) / 1024)
    return result


# The Renewals tabs' callbacks: (name, an output of it, the view store it reads, other inputs).
RENEWALS_CASES = [
    ("calendar", "rp-calendar.figure", "rn-view", {"rp-cal.value": "quarter"}),
    ("at risk by reason + KPIs", "rp-reasons.figure", "rn-view", {}),
    ("top at-risk renewals", "rp-top.rowData", "rn-view", {}),
    ("forecast per quarter", "rf-quarters.figure", "rn-view", {}),
    ("projected fiscal year", "rf-fy.children", "rn-view", {}),
    ("model vs call gap", "rf-gap.rowData", "rn-view", {"rf-gap-by.value": "owner"}),
    ("forecast accuracy", "rf-accuracy.figure", "rn-view", {}),
    ("hygiene tiles", "rh-tiles.children", "rh-view", {}),
    ("hygiene by owner", "rh-groups-grid.rowData", "rh-view", {"rh-by.value": "owner"}),
    ("retention trend", "rt-trend.figure", "rn-view", {"rt-ratio.value": "grr"}),
    ("ARR bridge", "rt-bridge.figure", "rn-view", {"rt-period.value": "t12m"}),
    ("upsell tiles", "ru-tiles.children", "rn-view", {}),
    ("upsell deciles", "ru-deciles.figure", "rn-view", {}),
    ("expansion pipeline", "ru-pipeline.figure", "rn-view", {}),
]


def scenario_form(view: dict, i: int) -> dict[str, object]:
    """The what-if tab's inputs (pages/_capacity_scenario.py), SMB growth varied by `i`: every
    field at its default but that one (an empty text field means the default)."""
    from components.capacity_scenario import FIELD_KEYS, field_id

    values: dict[str, object] = {f"{field_id(k)}.value": "" for k in FIELD_KEYS}
    values.update(
        {
            f"{field_id('cc_seg')}.value": [],
            f"{field_id('cc_tier')}.value": "pooled",
            f"{field_id('cc_from')}.value": "1",
            f"{field_id('g_smb')}.value": str(3 + i % 8),
            "cp-sc-view.data": view,
            "cp-sc-actuals.data": {},
            "cp-sc-workload.data": {},
        }
    )
    return values


def capacity_books_cases(view, request) -> list:
    """The Capacity books tab: its table (a block of 100 books, sorted by utilisation) and its
    top line (KPIs, chart, team roll-up), under the default workload model and a changed one."""
    changed = {"pts_ent_named": "4", "red": "2"}
    rows = {**request, "sortModel": [{"colId": "utilisation", "sort": "desc"}]}

    def model_rows(i):
        if i % 2 == 0:
            return rows
        search = "&".join(f"{k}={v}" for k, v in sorted(changed.items()))
        model = {"workload": {"filterType": "text", "type": "equals", "filter": search}}
        return {**rows, "filterModel": model}

    return [
        (
            "capacity: books table (100)",
            "cb-books-grid.getRowsResponse",
            lambda f, i: {"cb-view.data": view(f), "cb-books-grid.getRowsRequest": model_rows(i)},
        ),
        (
            "capacity: books top line, chart, teams",
            "cb-sentence.children",
            lambda f, i: {"cb-view.data": view(f), "cb-workload.data": {} if i % 2 else changed},
        ),
    ]


def bench_http(db_path: Path, repeat: int) -> tuple[list[Sample], list[Sample], list[float]]:
    from services.account_list import account_page
    from services.asof import resolve_as_of
    from services.db import Database
    from services.filters import AccountDrill, Filters

    db = Database(db_path)
    snapshot = resolve_as_of(db, Filters()).date
    variants = filter_variants(db)
    ids = list(account_page(db, Filters(), AccountDrill(), snapshot, (), 0, 50)["account_id"])
    cache_dir = Path(tempfile.mkdtemp(prefix="csops-bench-http-"))
    proc = start_gunicorn(db_path, cache_dir)
    try:
        deps = dependencies()

        def view(f):
            return {"search": f.to_search(), "snapshot": snapshot.isoformat()}

        def accounts_view(f):
            return {**view(f), "drill": AccountDrill(band=("red",)).to_params()}

        request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}

        def model(i):
            """A proposal's URL parameters, as the Health model page's store holds them."""
            from services.health_backtest import parse_proposal, proposal_url_params
            from services.health_model import COMPONENTS

            p = PROPOSALS[i % len(PROPOSALS)]
            weights = [str(int(getattr(p, f"w_{c}"))) for c in COMPONENTS]
            return proposal_url_params(
                parse_proposal(weights, str(int(p.green_min)), str(int(p.yellow_min)))
            )

        cases = [
            (
                "portfolio: KPI cards",
                "portfolio-kpis.children",
                lambda f, i: {"portfolio-view.data": view(f)},
            ),
            (
                "portfolio: band mix",
                "portfolio-band-mix.figure",
                lambda f, i: {
                    "portfolio-view.data": view(f),
                    "portfolio-measure.value": "arr",
                    "portfolio-mix-by.value": "segment",
                },
            ),
            (
                "portfolio: weekly band mix",
                "portfolio-band-history.figure",
                lambda f, i: {"portfolio-view.data": view(f), "portfolio-measure.value": "arr"},
            ),
            (
                "portfolio: owner table",
                "portfolio-owners.children",
                lambda f, i: {"portfolio-view.data": view(f)},
            ),
            (
                "portfolio: movers",
                "portfolio-movers.children",
                lambda f, i: {"portfolio-view.data": view(f)},
            ),
            (
                "portfolio: health model summary",
                "portfolio-health-model.children",
                lambda f, i: {"portfolio-view.data": view(f)},
            ),
            (
                "accounts: totals + export link",
                "accounts-totals.children",
                lambda f, i: {"accounts-view.data": accounts_view(f), "accounts-search.value": ""},
            ),
            (
                "accounts: grid rows (100)",
                "accounts-grid.getRowsResponse",
                lambda f, i: {
                    "accounts-view.data": accounts_view(f),
                    "accounts-grid.getRowsRequest": request,
                },
            ),
            (
                "account 360: page",
                "_pages_content.children",
                lambda f, i: {
                    "_pages_location.pathname": f"/accounts/{ids[i % len(ids)]}",
                    "_pages_location.search": "",
                },
            ),
            (
                "shell: filter bar from the URL",
                "filter-owner.options",
                lambda f, i: {"url.search": f.to_search()},
            ),
            (
                "health model: backtests, current + proposal",
                "hm-current.figure",
                lambda f, i: {"hm-view.data": view(f), "hm-model.data": model(i)},
            ),
            (
                "health model: recall curve + band mix now",
                "hm-curve.figure",
                lambda f, i: {"hm-view.data": view(f), "hm-model.data": model(i)},
            ),
            (
                "health model: component diagnostics",
                "hm-diag.figure",
                lambda f, i: {"hm-view.data": view(f), "hm-model.data": model(i)},
            ),
            (
                "retention: summary + waterfall",
                "retention-summary.children",
                lambda f, i: {"retention-view.data": view(f)},
            ),
            *(
                (
                    f"renewals: {name}",
                    output,
                    lambda f, i, extra=extra, store=store: {f"{store}.data": view(f), **extra},
                )
                for name, output, store, extra in RENEWALS_CASES
            ),
            (
                "renewals: upsell candidates (100)",
                "ru-candidates-grid.getRowsResponse",
                lambda f, i: {
                    "rn-view.data": view(f),
                    "ru-candidates-grid.getRowsRequest": request,
                },
            ),
            (
                "renewals: hygiene list (100)",
                "rh-missing-grid.getRowsResponse",
                lambda f, i: {"rh-view.data": view(f), "rh-missing-grid.getRowsRequest": request},
            ),
            *capacity_books_cases(view, request),
            (
                "compensation: attainment tab (top line, people, teams, chart)",
                "cm-attainment-header.children",
                lambda f, i: {
                    "cm-attainment-view.data": view(f),
                    "cm-attainment-period.value": None,
                    "cm-attainment-plan-params.data": {},
                },
            ),
            (
                # warm = a recompute: the books summarised (cached), the projection new each time
                "capacity: scenario recompute",
                "cp-sc-sentence.children",
                lambda f, i: scenario_form(view(f), i),
            ),
        ]
        whatif = find_dep(deps, "cm-whatif-header.children")
        cases.append(
            (
                # warm = a recompute: measures and targets cached, the what-if new each time
                "compensation: what-if recompute",
                "cm-whatif-header.children",
                lambda f, i: whatif_body(whatif, view(f), i),
            )
        )
        cold, warm = [], []
        for name, fragment, values in cases:
            dep = find_dep(deps, fragment)
            c, w = Sample(name), Sample(name)
            for round_ in range(max(1, repeat // len(variants) + 1)):
                for i, filters in enumerate(variants):
                    shutil.rmtree(cache_dir, ignore_errors=True)
                    cache_dir.mkdir()
                    ms, size, status = post(
                        "/_dash-update-component",
                        request_body(dep, values(filters, i + round_ * len(variants))),
                    )
                    assert status == 200, (name, status)
                    c.times_ms.append(ms)
                    c.sizes.append(size)
            body = request_body(dep, values(variants[0], 0))
            post("/_dash-update-component", body)
            for _ in range(repeat):
                ms, size, _ = post("/_dash-update-component", body)
                w.times_ms.append(ms)
                w.sizes.append(size)
            cold.append(c)
            warm.append(w)
        memory = worker_memory_mb(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(cache_dir, ignore_errors=True)
    return cold, warm, memory


# ---- exports ------------------------------------------------------------------------------
EXPORT_SCRIPT = """
import json, os, sys, time
from pathlib import Path
from services import cache
from services.filters import AccountDrill
from services.account_list import account_totals
from services.asof import resolve_as_of
from services.db import Database
from services.exports import accounts_csv, accounts_xlsx
from services.filters import Filters

def peak_mb():
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024

cache.configure("null")
db, kind = Database(sys.argv[1]), sys.argv[2]
snapshot = resolve_as_of(db, Filters()).date
args = (db, Filters(), AccountDrill(), snapshot, (("health_score", "asc"),))
rows = account_totals(*args[:4])["accounts"]
before = peak_mb()
start = time.perf_counter()
if kind == "csv":
    size = sum(len(chunk) for chunk in accounts_csv(*args))
else:
    with accounts_xlsx(*args) as fh:
        size = os.fstat(fh.fileno()).st_size
seconds = time.perf_counter() - start
print(json.dumps({"rows": rows, "s": seconds, "mb": size / 1e6, "rss0": before, "rss": peak_mb()}))
"""


def bench_exports(db_path: Path) -> list[str]:
    """Whole-list CSV and XLSX export (sorted by health): wall time, file size, peak RSS.

    Each format runs in a fresh process so its peak RSS is its own; "before" is the peak after
    imports and opening the database.
    """
    lines = [
        "| export (whole list, sorted) | rows | wall s | file MB | peak RSS before | peak RSS after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in ("csv", "xlsx"):
        done = subprocess.run(
            [sys.executable, "-c", EXPORT_SCRIPT, str(db_path), kind],
            check=True,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, CSOPS_DB=str(db_path), CSOPS_CACHE_TYPE="null"),
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        lines.append(
            f"| {kind.upper()} | {r['rows']:,} | {r['s']:.2f} | {r['mb']:.1f} | "
            f"{r['rss0']:.0f} MB | {r['rss']:.0f} MB |"
        )
    print("\n".join(lines), flush=True)
    return [*lines, ""]


# ---- report -------------------------------------------------------------------------------
def service_table(cold: list[Sample], warm: list[Sample]) -> list[str]:
    lines = [
        "| service call | cold p50 | cold p95 | warm p50 | warm p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for c, w in zip(cold, warm, strict=True):
        lines.append(
            f"| {c.name} | {c.p(0.5):.1f} | {c.p(0.95):.1f} | {w.p(0.5):.2f} | {w.p(0.95):.2f} |"
        )
    return lines


HTTP_TO_SERVICE = {
    "portfolio: KPI cards": ["portfolio: KPIs (7 metrics, now and 90 days earlier)"],
    "portfolio: band mix": ["portfolio: band mix by segment"],
    "portfolio: weekly band mix": ["portfolio: weekly band mix (26 weeks)"],
    "portfolio: owner table": ["portfolio: health by owner"],
    "portfolio: movers": ["portfolio: movers"],
    "portfolio: health model summary": ["portfolio: health model summary (backtest)"],
    "accounts: totals + export link": ["accounts: totals (band=red)"],
    "accounts: grid rows (100)": [
        "accounts: first 100 rows (band=red)",
        "accounts: totals (band=red)",
    ],
    "account 360: page": ["account 360"],
    "shell: filter bar from the URL": ["shell: filter options (cascading, with counts)"],
    "health model: backtests, current + proposal": [
        "portfolio: health model summary (backtest)",
        "health model: backtest of a proposal",
    ],
    "health model: recall curve + band mix now": ["health model: band mix now, proposal"],
    "health model: component diagnostics": ["health model: component diagnostics"],
    "retention: summary + waterfall": ["retention: cohort summary"],
}


def http_table(cold: list[Sample], warm: list[Sample], service_cold: list[Sample]) -> list[str]:
    raw = {s.name: s.p(0.5) for s in service_cold}
    lines = [
        "| callback (HTTP round trip) | cold p50 | cold p95 | warm p50 | warm p95 | max response | "
        "raw query p50 | cold / raw | framework share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c, w in zip(cold, warm, strict=True):
        # Callbacks without a separately timed service call (the Renewals tabs) show "–".
        names = HTTP_TO_SERVICE.get(c.name)
        query = sum(raw[n] for n in names) if names else None
        split = (
            f"{query:.1f} | {c.p(0.5) / query:.2f}× | {c.p(0.5) - query:.1f}"
            if query
            else "– | – | –"
        )
        lines.append(
            f"| {c.name} | {c.p(0.5):.1f} | {c.p(0.95):.1f} | {w.p(0.5):.1f} | {w.p(0.95):.1f} | "
            f"{max(c.sizes + w.sizes) / 1024:.1f} KB | {split} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 100000])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--no-write", action="store_true", help="print only, keep docs/PERFORMANCE.md"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    out = [
        f"Measured {date.today():%Y-%m-%d} by `make bench` on {os.cpu_count()} cores "
        f"(times in ms; cold = no result cache, warm = filesystem cache hit).",
        "",
    ]
    for size in args.sizes:
        db_path, build = ensure_database(size)
        print(f"== {size:,} accounts: {build}", flush=True)
        s_cold, s_warm = bench_services(db_path, args.repeat)
        c_cold, c_warm = bench_compensation(db_path, args.repeat)
        s_cold, s_warm = s_cold + c_cold, s_warm + c_warm
        h_cold, h_warm, memory = bench_http(db_path, args.repeat)
        out += [
            f"### {size:,} accounts",
            "",
            f"Demo generation {build['generate_s']} s, database build (load + checks + health "
            f"snapshots) {build['build_s']} s, file {build['file_mb']} MB. Peak memory per gunicorn "
            f"worker after the run: " + ", ".join(f"{m:.0f} MB" for m in memory) + ".",
            "",
        ]
        out += service_table(s_cold, s_warm) + [""] + http_table(h_cold, h_warm, s_cold) + [""]
        print("\n".join(out[-(len(s_cold) + len(h_cold) + 8) :]), flush=True)
        out += bench_exports(db_path)
        out += page_settle.section(db_path, size)
        out += rebalance.section(db_path, size)
    if not args.no_write:
        text = (
            REPORT.read_text()
            if REPORT.exists()
            else f"# Performance\n\n{MARK_START}\n{MARK_END}\n"
        )
        head, _, rest = text.partition(MARK_START)
        _, _, tail = rest.partition(MARK_END)
        REPORT.write_text(head + MARK_START + "\n" + "\n".join(out) + "\n" + MARK_END + tail)
        print(f"written to {REPORT}")


if __name__ == "__main__":
    main()
