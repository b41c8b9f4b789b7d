"""Dashboard figure: first paint of the command page (navigation until its figures are rendered, in Debian's
headless Chromium) with 1,000,000 entities and 100,000 clues in the read model, beside a bare FastAPI page
with the same figures hard-coded, served the same way (uvicorn, one process) and loaded by the same browser
in the same run. The read model is loaded with COPY (what the topics would have built); the dashboard runs
as `make run` runs it (`python -m dashboard serve`), reached directly with the office's principal header.
The page is served from the office's figures kept in memory (computed at start, refreshed in the background
when the read model changes); the note gives what computing them takes (a page waits for that only when it
comes while a change is being taken in).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import asyncpg

from harness import ROOT, BenchEnv, Figure, start_groups_at_end
from jsp_common import clock, departments, divisions
from jsp_common.db import asyncpg_dsn
from jsp_common.migrations import upgrade
from jsp_common.principal import Principal, Role
from jsp_testkit.testing import caller_headers, local_stack_module

# Ports of the dashboard under test and of the bare page (several benches may run on one machine).
PORT = int(os.environ.get("JSP_BENCH_DASHBOARD_PORT", "18420"))
BARE_PORT = int(os.environ.get("JSP_BENCH_BARE_PAGE_PORT", "18421"))
RUNS = 7
STATES = ("dispatched", "accepted", "verifying", "handled", "replied", "closed", "returned", "pending_dispatch")

BARE_APP = textwrap.dedent('''
    import sys
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    import uvicorn
    cards = "".join(f'<a class="card" data-figure="f{i}"><b>{i * 1234}</b><span>指标{i}</span></a>' for i in range(13))
    rows = "".join(f"<tr><th>城市{i}</th>" + "<td>0</td>" * 7 + "</tr>" for i in range(19))
    page = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>调度总览</title></head><body>'
            f'<main><h1>调度总览</h1><section class="cards">{cards}</section><table>{rows}</table></main></body></html>')
    app = FastAPI()
    @app.get("/ui/")
    async def home() -> HTMLResponse:
        return HTMLResponse(page)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
''')


async def _load(url: str, entities: int, clues: int) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    rng = random.Random(7)
    counties = [d for d in divisions.all_divisions() if d.level == "county"]
    samr = {d.division_code: d.code for d in departments.all_departments() if d.agency_code == "samr"}
    now = clock.now()
    try:
        await conn.execute("TRUNCATE entities, clues")
        batch = 100_000
        for start in range(0, entities, batch):
            rows = []
            for i in range(start, min(entities, start + batch)):
                county = rng.choice(counties)
                city = divisions.city_code(county.code)
                seen = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
                rows.append((f"BENCH{i:013d}", f"基准{i}商贸有限公司", county.code, city, "active",
                             [samr.get(city, "samr-410000")], "assigned", 1, seen, seen, seen))
            await conn.copy_records_to_table("entities", records=rows, columns=[
                "uscc", "name", "division_code", "city_code", "status", "departments", "assignment_state",
                "record_version", "first_seen_at", "last_changed_at", "updated_at"])
        rows = []
        for i in range(clues):
            county = rng.choice(counties)
            city = divisions.city_code(county.code)
            received = now - timedelta(minutes=rng.randint(0, 60 * 24 * 120))
            rows.append((f"CLBENCH-{i:08d}", "hotline", f"WO{i:010d}", rng.choice(STATES), county.code, city,
                         samr.get(city, "samr-410000"), received + timedelta(days=rng.randint(1, 30)), received,
                         received, rng.randint(0, 1) if rng.random() < 0.1 else 0, 0))
        await conn.copy_records_to_table("clues", records=rows, columns=[
            "clue_id", "channel", "channel_ref", "state", "division_code", "city_code", "lead_department",
            "deadline", "received_at", "updated_at", "returns", "redispatches"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _first_paint(browser, url: str, headers: dict) -> float:
    """Milliseconds from navigation until the page's figures are rendered (the median of several loads)."""
    times = []
    for i in range(RUNS + 1):
        context = await browser.new_context(extra_http_headers=headers, viewport={"width": 1366, "height": 768})
        page = await context.new_page()
        started = time.perf_counter()
        await page.goto(url, wait_until="commit")
        await page.wait_for_selector(".cards .card b", state="visible")
        took = (time.perf_counter() - started) * 1000
        await context.close()
        if i:  # the first load warms connections and caches
            times.append(took)
    return statistics.median(times)


async def _compute_ms(url: str) -> float:
    """What computing the office's figures takes (the second of two runs: the first warms the caches)."""
    from jsp_common.db import Database

    from dashboard.settings import Settings
    from dashboard.usecases import overview

    db, took = Database(url), 0.0
    try:
        for _ in range(2):
            started = time.perf_counter()
            async with db.transaction() as session:
                await overview.overview(session, Settings(database_url=url), None, clock.now())
            took = (time.perf_counter() - started) * 1000
    finally:
        await db.dispose()
    return took


async def run(env: BenchEnv) -> list[Figure]:
    from playwright.async_api import async_playwright

    entities, clues = env.n(1_000_000), env.n(100_000)
    run_mod = local_stack_module(ROOT)
    url = f"{env.postgres_url.rstrip('/')}/dashboard_bench"
    await upgrade(ROOT / "services" / "dashboard", url)
    started = time.perf_counter()
    await _load(url, entities, clues)
    loaded_s = time.perf_counter() - started
    compute_ms = await _compute_ms(url)
    # The read model is what the COPY made: what earlier benches left on the topics it reads (the clue lifecycle
    # after the clues bench, a million directory records after the replay bench) would have it taking changes in,
    # and recomputing its figures, while measured.
    await start_groups_at_end(env)
    stack = run_mod.Stack(["dashboard"], ports={"dashboard": PORT}, log_dir=ROOT / ".local" / "bench-logs",
                          per_service={"dashboard": {"JSP_DASHBOARD_DATABASE_URL": url}})
    office = Principal(subject="bench-office", kind="person", roles=[Role.OFFICE])
    bare = None
    await asyncio.to_thread(stack.start, "dashboard")
    try:
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(BARE_PORT)])
        while not run_mod.ready_url(f"http://127.0.0.1:{BARE_PORT}/ui/"):
            if bare.poll() is not None:
                raise RuntimeError("the bare page did not start")
            await asyncio.sleep(0.1)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            try:
                ours = await _first_paint(browser, f"{stack.services['dashboard'].url}/ui/",
                                          caller_headers(office, "dashboard"))
                baseline = await _first_paint(browser, f"http://127.0.0.1:{BARE_PORT}/ui/", {})
            finally:
                await browser.close()
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait()
        await asyncio.to_thread(stack.stop, "dashboard")
    note = (f"{entities:,} entities and {clues:,} clues in the read model (loaded in {loaded_s:.0f}s); the "
            f"office's figures, served from memory, take {compute_ms:,.0f} ms to compute after a change; "
            f"median of {RUNS} loads in headless Chromium, 1366x768")
    return [Figure("dashboard: command page first paint (figures rendered)", ours, baseline, "ms", False, note)]
