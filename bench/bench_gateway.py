"""Gateway figures: requests per second and p99 latency of an authenticated entity lookup through the
gateway (token check, role check, rate limit, audit record, principal header, pooled call to the registry
and back), beside a bare FastAPI endpoint returning the same entity, served the same way (uvicorn, one
process) and driven by the same client in the same run.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
import uuid

import httpx

from harness import ROOT, BenchEnv, Figure, percentile
from jsp_testkit.testing import local_stack_module

PORTS = {"gateway": 18400, "registry": 18401, "clues": 18402}
BARE_PORT = 18410
CONCURRENCY = 32

BARE_APP = textwrap.dedent('''
    import json, sys
    from fastapi import FastAPI
    import uvicorn
    entity = json.loads(sys.argv[2])
    app = FastAPI()
    @app.get("/registry/entities/{uscc}")
    async def lookup(uscc: str) -> dict:
        return entity
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
''')


async def _load(url: str, headers: dict, seconds: float) -> tuple[float, float, int]:
    """Closed-loop load with CONCURRENCY callers: (requests/s, p99 ms, errors)."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def caller():
            nonlocal errors
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                resp = await client.get(url, headers=headers)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += resp.status_code != 200
        for _ in range(20):  # warm up the pools
            await client.get(url, headers=headers)
        started = time.monotonic()
        await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
        took = time.monotonic() - started
    return len(latencies) / took, percentile(latencies, 99), errors


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_testkit import front_door, samples

    run_mod = local_stack_module(ROOT)
    base = env.postgres_url.rstrip("/")
    names = ["registry", "gateway"]
    stack = run_mod.Stack(names, ports=PORTS, log_dir=ROOT / ".local" / "bench-logs",
                          per_service={n: {f"JSP_{n.upper()}_DATABASE_URL": f"{base}/{n}_bench"} for n in names})
    stack.services["gateway"].env.update(JSP_GATEWAY_RATE_LIMIT_PER_MINUTE="100000000",
                                         JSP_GATEWAY_RATE_LIMIT_BURST="1000000")
    seconds = max(3.0, 10.0 * env.scale)
    bare = None
    await asyncio.to_thread(stack.start_all)
    try:
        gw = stack.services["gateway"].url
        username, password = f"bench-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
        front_door.create_office_account(stack.services["gateway"].env, username, password)
        async with httpx.AsyncClient(base_url=gw, timeout=30) as http:
            headers = await front_door.login(http, username, password)
            _, bureau = await front_door.register_system(http, headers, name="bench bureau", roles=["bureau"])
            data = samples.registration()
            await http.post("/ingest/registrations", headers=bureau,
                            json={"type": "market.entity.registered.v1", "data": data})
            deadline = time.monotonic() + 60
            while True:
                got = await http.get(f"/registry/entities/{data['uscc']}", headers=headers)
                if got.status_code == 200 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            got.raise_for_status()
            entity = got.json()
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(BARE_PORT), got.text])
        while not run_mod.ready_url(f"http://127.0.0.1:{BARE_PORT}/registry/entities/x"):
            if bare.poll() is not None:
                raise RuntimeError("the bare endpoint did not start")
            await asyncio.sleep(0.1)
        path = f"/registry/entities/{entity['uscc']}"
        ours_rps, ours_p99, ours_err = await _load(gw + path, headers, seconds)
        bare_rps, bare_p99, _ = await _load(f"http://127.0.0.1:{BARE_PORT}{path}", headers, seconds)
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait()
        await asyncio.to_thread(stack.stop_all)
    note = f"{CONCURRENCY} concurrent callers, {seconds:.0f}s each; errors through the gateway: {ours_err}"
    return [
        Figure("gateway: authenticated entity lookup", ours_rps, bare_rps, "req/s", True, note),
        Figure("gateway: authenticated entity lookup p99", ours_p99, bare_p99, "ms", False, note),
    ]
