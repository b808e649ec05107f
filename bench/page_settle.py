"""Page settle times in headless Chromium: navigation start until a page is fully drawn.

Not a test: it measures and reports. The app is served the production way (gunicorn with the
flags `make run` uses, taken from ``GUNICORN_FLAGS``) on a free loopback port, beside a bare Dash
page (bench/bare_app.py) served the same way. Each page is opened in a new browser with a fresh
profile (empty HTTP cache), then reloaded in the same browser (warm cache); pages are visited
round-robin so noise spreads evenly.

"Settled" is decided inside the page by a poller installed before any page script runs
(``Page.addScriptToEvaluateOnNewDocument``): every 20 ms it checks that the document is
complete, the Dash renderer's store has no requested/blocked/executing callback and is not
loading, no element is marked ``data-dash-is-loading``, no dcc.Loading spinner is visible, and the
page's main content is present (e.g. KPI values, a drawn plotly chart, grid rows). The settle time
is ``performance.now()`` (ms since navigation start) at the first poll of a run of 10 settled
polls (200 ms held). The server's result cache is warmed by one unmeasured visit per page first.

Usage: ``python -m bench.page_settle --db .bench/csops-5000.duckdb [--runs 5] [--detail]``
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What `make run` uses when GUNICORN_FLAGS is not set (keep in step with the Makefile).
DEFAULT_GUNICORN_FLAGS = "--workers 2 --worker-class gthread --threads 8 --timeout 120"
# Headless Chromium as root and offline, a window big enough for dashboards: the benchmarks and
# the browser tests (tests/conftest.py) use the same flags, plus a fresh profile per browser.
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)
POLL_MS = 20
HOLD_POLLS = 10
TIMEOUT_S = 60

POLLER = """
(function () {
  const SELECTORS = %(selectors)s, HOLD = %(hold)d, EVERY = %(every)d;
  const s = (window.__settle = {at: null, streak: 0, done: false, polls: 0, why: '', log: []});
  const QUEUES = ['requested', 'prioritized', 'blocked', 'executing', 'watched', 'executed'];
  function blocker() {
    if (document.readyState !== 'complete') return 'document';
    const st = window.store && window.store.getState && window.store.getState();
    if (!st) return 'renderer';
    if (st.isLoading) return 'isLoading';
    const cb = st.callbacks || {};
    for (const q of QUEUES) if ((cb[q] || []).length) return 'callbacks.' + q;
    if (document.querySelector(
        '[data-dash-is-loading="true"], ._dash-loading, ._dash-loading-callback')) return 'marker';
    for (const el of document.querySelectorAll('.dash-spinner, .dash-spinner-container'))
      if (el.offsetParent !== null) return 'spinner';
    for (const sel of SELECTORS) if (!document.querySelector(sel)) return 'missing ' + sel;
    return '';
  }
  function tick() {
    s.polls++;
    const now = performance.now(), why = blocker();
    if (why !== s.why || !s.log.length) s.log.push([Math.round(now), why || 'settled']);
    s.why = why;
    if (!why) {
      if (s.streak === 0) s.at = now;
      if (++s.streak >= HOLD) { s.done = true; return; }
    } else { s.streak = 0; s.at = null; }
    setTimeout(tick, EVERY);
  }
  setTimeout(tick, 0);
})();
"""

RESOURCES_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource').map(r => ({
  name: r.name, type: r.initiatorType, start: r.startTime, end: r.responseEnd,
  ttfb: r.responseStart, transfer: r.transferSize, body: r.decodedBodySize,
  encoded: r.encodedBodySize}));
return {nav: {response_end: nav.responseEnd, dcl: nav.domContentLoadedEventEnd,
              load: nav.loadEventEnd, transfer: nav.transferSize}, resources: res};
"""


@dataclass
class Page:
    """A page to time: label, path on its server, CSS selectors that must all be present."""

    label: str
    path: str
    selectors: list[str]
    bare: bool = False


@dataclass
class Result:
    page: Page
    fresh_ms: list[float] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    fresh_bytes: list[int] = field(default_factory=list)
    detail: dict | None = None

    @property
    def fresh(self) -> float:
        return statistics.median(self.fresh_ms)

    @property
    def warm(self) -> float:
        return statistics.median(self.warm_ms)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_flags() -> list[str]:
    return shlex.split(os.environ.get("GUNICORN_FLAGS") or DEFAULT_GUNICORN_FLAGS)


def start_server(
    target: str, port: int, env: dict[str, str], pid_dir: Path, flags: list[str] | None = None
) -> subprocess.Popen:
    """gunicorn with `make run`'s flags (or `flags`) on 127.0.0.1:port; waits until / answers."""
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        *(gunicorn_flags() if flags is None else flags),
        "-b",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "--pid",
        str(pid_dir / f"gunicorn-{port}.pid"),
        target,
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {' '.join(cmd)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def large_account(db_path: Path) -> str:
    """The account with the most ARR: the fullest Account 360 (contracts, tickets, usage)."""
    from services.db import Database

    df = Database(db_path).query(
        "SELECT account_id FROM contracts GROUP BY account_id ORDER BY sum(arr) DESC LIMIT 1"
    )
    return str(df.iat[0, 0])


def app_pages(account_id: str) -> list[Page]:
    return [
        Page("Portfolio `/`", "/", [".kpi-value", ".js-plotly-plot .main-svg", ".ag-row"]),
        Page("Accounts `/accounts`", "/accounts", ["#accounts-count", ".ag-row"]),
        Page(
            "Account 360 `/accounts/<id>`",
            f"/accounts/{account_id}",
            [".fact-value", ".js-plotly-plot .main-svg"],
        ),
        Page("Definitions `/definitions`", "/definitions", [".definitions-table"]),
        Page("Health model `/health-model`", "/health-model", [".js-plotly-plot .main-svg"]),
        Page("Retention list `/retention`", "/retention", [".kpi-value", ".ag-row"]),
        Page("Renewals `/renewals`", "/renewals", [".js-plotly-plot .main-svg", ".ag-row"]),
        Page("Capacity `/capacity`", "/capacity", [".js-plotly-plot .main-svg", ".ag-row"]),
        Page(
            "Compensation `/compensation`",
            "/compensation",
            ["#cm-attainment-kpis .kpi-value", ".js-plotly-plot .main-svg", ".ag-row"],
        ),
    ]


BARE = Page("bare Dash page", "/", [".js-plotly-plot .main-svg", ".ag-row"], bare=True)


def new_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    profile = tempfile.mkdtemp(prefix="csops-settle-chrome-")
    options = Options()
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options), profile


def wait_settled(driver) -> float:
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        state = driver.execute_script("return window.__settle || null")
        if state and state["done"]:
            return float(state["at"])
        time.sleep(0.05)
    raise TimeoutError(f"{driver.current_url} did not settle: {state}")


def visit(base: str, page: Page, detail: bool = False) -> tuple[float, float, int, dict | None]:
    """Fresh-profile load then a reload in the same browser: (fresh ms, warm ms, bytes, detail)."""
    driver, profile = new_browser()
    try:
        poller = POLLER % {
            "selectors": json.dumps(page.selectors),
            "hold": HOLD_POLLS,
            "every": POLL_MS,
        }
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": poller})
        driver.get(base + page.path)
        fresh = wait_settled(driver)
        timing = driver.execute_script(RESOURCES_JS)
        timing["blockers"] = driver.execute_script("return window.__settle.log")
        sent = timing["nav"]["transfer"] + sum(r["transfer"] for r in timing["resources"])
        driver.refresh()
        warm = wait_settled(driver)
        return fresh, warm, sent, ({"settle": fresh, **timing} if detail else None)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


STUCK: list[str] = []  # visits that did not settle in TIMEOUT_S, reported under the table


def visit_retrying(base: str, page: Page, detail: bool = False):
    """`visit`, once more if the page did not settle: a stuck load is reported, not fatal."""
    try:
        return visit(base, page, detail)
    except TimeoutError as exc:
        STUCK.append(f"{page.label}: {exc}")
        print(f"  {page.label} did not settle in {TIMEOUT_S} s; visiting again", flush=True)
        return visit(base, page, detail)


def measure(db_path: Path, runs: int = 5, detail: bool = False) -> list[Result]:
    """Median settle times of every app page and the bare page, `runs` visits each."""
    db_path = Path(db_path).resolve()
    work = Path(tempfile.mkdtemp(prefix="csops-settle-"))
    env = dict(
        os.environ,
        CSOPS_DB=str(db_path),
        CSOPS_CACHE_TYPE="filesystem",
        CSOPS_CACHE_DIR=str(work / "cache"),
    )
    app_port, bare_port = free_port(), free_port()
    servers = []
    try:
        servers.append(start_server("app:server", app_port, env, work))
        servers.append(start_server("bench.bare_app:server", bare_port, env, work))
        pages = [*app_pages(large_account(db_path)), BARE]
        results = [Result(p) for p in pages]
        base = {False: f"http://127.0.0.1:{app_port}", True: f"http://127.0.0.1:{bare_port}"}
        for page in pages:  # warm the result cache, DuckDB and the workers; not measured
            visit_retrying(base[page.bare], page)
        for run in range(runs):
            for result in results:
                fresh, warm, sent, info = visit_retrying(
                    base[result.page.bare], result.page, detail and run == runs - 1
                )
                result.fresh_ms.append(fresh)
                result.warm_ms.append(warm)
                result.fresh_bytes.append(sent)
                result.detail = info or result.detail
                print(
                    f"  run {run + 1}/{runs} {result.page.label}: fresh {fresh:.0f} ms, "
                    f"warm {warm:.0f} ms, {sent / 1e6:.2f} MB",
                    flush=True,
                )
        return results
    finally:
        for proc in servers:
            stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)


def table(results: list[Result], size: int) -> list[str]:
    """Markdown rows: page, size, fresh median, warm median, bare fresh median, ratio."""
    bare = next(r for r in results if r.page.bare)
    lines = [
        f"Page settle ({len(bare.fresh_ms)} runs per page, median ms from navigation start; "
        f"gunicorn `{' '.join(gunicorn_flags())}`; ratio = fresh / bare fresh):",
        "",
        "| page | accounts | fresh profile | warm cache | bare page | ratio | sent (fresh) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.page.label} | {size:,} | {r.fresh:.0f} | {r.warm:.0f} | {bare.fresh:.0f} | "
            f"{r.fresh / bare.fresh:.2f}× | {statistics.median(r.fresh_bytes) / 1e6:.2f} MB |"
        )
    return lines


def section(db_path: Path, size: int, runs: int = 5) -> list[str]:
    """For bench/run.py: measure one database and return its markdown table (and print it)."""
    print(f"== page settle, {size:,} accounts", flush=True)
    STUCK.clear()
    lines = table(measure(db_path, runs), size) + [""]
    if STUCK:  # a user would have seen these loads hang: keep them in the report
        lines += [f"Visits that did not settle in {TIMEOUT_S} s (visited again):", ""]
        lines += [f"- {s[:300]}" for s in STUCK] + [""]
    print("\n".join(lines), flush=True)
    return lines


def waterfall(result: Result) -> list[str]:
    """Every request of one fresh load in start order: where the time went."""
    d = result.detail
    if not d:
        return []
    nav = d["nav"]
    lines = [
        f"-- {result.page.label}: settled {d['settle']:.0f} ms; HTML at {nav['response_end']:.0f}, "
        f"DOMContentLoaded {nav['dcl']:.0f}, load {nav['load']:.0f}",
        "waiting on: " + ", ".join(f"{t} {why}" for t, why in d["blockers"]),
        f"{'start':>7} {'ttfb':>7} {'end':>7} {'sent KB':>8} {'body KB':>8}  resource",
    ]
    entries = sorted(d["resources"], key=lambda r: r["start"])
    for r in entries:
        name = r["name"].split("//", 1)[-1].split("/", 1)[-1][:90]
        lines.append(
            f"{r['start']:7.0f} {r['ttfb']:7.0f} {r['end']:7.0f} {r['transfer'] / 1024:8.1f} "
            f"{r['body'] / 1024:8.1f}  /{name}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="DuckDB file to serve")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--detail", action="store_true", help="print a request waterfall")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from services.db import Database

    size = int(Database(args.db).scalar("SELECT count(*) FROM accounts"))
    results = measure(args.db, args.runs, args.detail)
    if args.detail:
        for r in results:
            print("\n".join(waterfall(r)))
    print("\n".join(table(results, size)))


if __name__ == "__main__":
    main()
