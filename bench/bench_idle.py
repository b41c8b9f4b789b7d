"""Idle memory and CPU: every service started as ``make run`` starts it (deploy/local/run.py: migrate, serve,
ready), left idle, then each process's resident memory (VmRSS from /proc) and the share of a core it used over the
idle period's second half (user + system time from /proc), beside a bare FastAPI app under uvicorn started the
same way in the same run. The target is under 150 MB for every service. Every consumer group of
the services starts at the end of its topics (what other benchmarks left there is not theirs), so the figure
is a service that has caught up, not one working through a backlog."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from harness import PLATFORM, ROOT, BenchEnv, Figure, cpu_seconds, platform_stack, rss_mib, start_groups_at_end

from jsp_testkit.testing import local_stack_module

IDLE_S = 60.0  # after every service is ready: start-up work done, consumers polling an empty topic (CPU is read
# over the second half: 30 s, over which a job every few seconds is a steady share, not a chance of the window)
BARE_APP = ("import fastapi, uvicorn\napp = fastapi.FastAPI()\n@app.get('/readyz')\ndef ready(): return {}\n"
            "uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n")


def _measure(env: BenchEnv) -> tuple[dict[str, tuple[float, float]], tuple[float, float]]:
    """(resident MiB, percent of a core) per service, and the bare app's."""
    run = local_stack_module(ROOT)
    stack = platform_stack(env, port_offset=0, database_suffix="idle")
    base_port = int(os.environ.get("JSP_BENCH_PORT_BASE", "18200"))
    bare_port = base_port + len(PLATFORM)
    bare = None
    try:
        stack.start_all()
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP.replace("{port}", str(bare_port))], cwd=ROOT)
        deadline = time.monotonic() + 60
        while not run.ready(f"http://127.0.0.1:{bare_port}") and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(IDLE_S / 2)
        pids = {n: s.process.pid for n, s in stack.services.items()} | {"": bare.pid}
        cpu = {n: cpu_seconds(pid) for n, pid in pids.items()}
        time.sleep(IDLE_S / 2)
        used = {n: (rss_mib(pid), 100 * (cpu_seconds(pid) - cpu[n]) / (IDLE_S / 2)) for n, pid in pids.items()}
        return {n: used[n] for n in stack.services}, used[""]
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait()
        stack.stop_all()


async def run(env: BenchEnv) -> list[Figure]:
    await start_groups_at_end(env)
    ours, bare = await asyncio.to_thread(_measure, env)
    return [figure
            for name, (mib, cpu) in ours.items()
            for figure in (
                Figure(f"{name}: resident memory when idle", mib, bare[0], "MiB", higher_is_better=False,
                       note=f"VmRSS after {IDLE_S:.0f}s idle; baseline: a bare FastAPI app under uvicorn; target < 150 MB"),
                Figure(f"{name}: CPU when idle", cpu, bare[1], "% of a core", higher_is_better=False,
                       note=f"over the last {IDLE_S / 2:.0f}s of the idle period; baseline: the same bare app"))]
