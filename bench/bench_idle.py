"""Idle memory: every service started as ``make run`` starts it (deploy/local/run.py: migrate, serve, ready),
left idle, then each process's resident memory (VmRSS from /proc) beside a bare FastAPI app under uvicorn
started the same way in the same run. The target is under 150 MB for every service. Every consumer group of
the services starts at the end of its topics (what other benchmarks left there is not theirs), so the figure
is a service that has caught up, not one working through a backlog."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from harness import ROOT, BenchEnv, Figure

from jsp_testkit.testing import local_stack_module

SERVICES = ("registry", "clues", "inspection", "risk", "dashboard", "gateway")
IDLE_S = 20.0  # after every service is ready: start-up work done, consumers polling an empty topic
BARE_APP = ("import fastapi, uvicorn\napp = fastapi.FastAPI()\n@app.get('/readyz')\ndef ready(): return {}\n"
            "uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n")


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure(env: BenchEnv) -> tuple[dict[str, float], float]:
    run = local_stack_module(ROOT)
    base_port = int(os.environ.get("JSP_BENCH_PORT_BASE", "18200"))
    ports = {name: base_port + i for i, name in enumerate(SERVICES)}
    db = env.postgres_url.rstrip("/")
    stack = run.Stack(list(SERVICES), ports=ports, log_dir=ROOT / ".local" / "bench-logs",
                      per_service={n: {f"JSP_{n.upper()}_DATABASE_URL": f"{db}/{n}_idle"} for n in SERVICES})
    bare_port = base_port + len(SERVICES)
    bare = None
    try:
        stack.start_all()
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP.replace("{port}", str(bare_port))], cwd=ROOT)
        deadline = time.monotonic() + 60
        while not run.ready(f"http://127.0.0.1:{bare_port}") and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(IDLE_S)
        ours = {n: rss_mib(s.process.pid) for n, s in stack.services.items()}
        return ours, rss_mib(bare.pid)
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait()
        stack.stop_all()


async def _start_at_the_end(env: BenchEnv) -> None:
    from jsp_common.consumer import move_group_to_end
    from jsp_common.topics import consumer_groups

    for group, names in consumer_groups().items():
        await move_group_to_end(group, names, bootstrap_servers=env.bootstrap)


async def run(env: BenchEnv) -> list[Figure]:
    await _start_at_the_end(env)
    ours, bare = await asyncio.to_thread(_measure, env)
    return [Figure(f"{name}: resident memory when idle", mib, bare, "MiB", higher_is_better=False,
                   note=f"VmRSS after {IDLE_S:.0f}s idle; baseline: a bare FastAPI app under uvicorn; target < 150 MB")
            for name, mib in ours.items()]
