"""Gateway figures: requests per second and p99 latency of an authenticated entity lookup through the
gateway (token check, role check, rate limit, audit record, principal header, pooled call to the registry
and back), beside a bare FastAPI endpoint returning the same entity, served the same way (uvicorn, one
process) and driven by the same HTTP load generator (wrk, written in C: a Python client would measure itself) in the
same run; and a bare proxy in front of that endpoint (the same two hops as through the gateway, nothing on them),
the floor of a Python gateway in front of a Python service on this machine.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
import time
import uuid
from typing import Callable

import httpx

from harness import ROOT, BenchEnv, Figure, cpu_seconds, postgres_cpu_seconds, profile
from jsp_testkit.testing import local_stack_module

PORTS = {"gateway": 18400, "registry": 18401, "clues": 18402}
BARE_PORT = 18410
CONCURRENCY = 32

# Both bare apps run on the event loop and HTTP parser the services run on (jsp_common.cli: uvloop, httptools).
BARE_APP = textwrap.dedent('''
    import json, sys
    from fastapi import FastAPI
    import uvicorn
    entity = json.loads(sys.argv[2])
    app = FastAPI()
    @app.get("/registry/entities/{uscc}")
    async def lookup(uscc: str) -> dict:
        return entity
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning",
                access_log=False)
''')

# The same two hops with nothing on them: a FastAPI app (one uvicorn process) passing the lookup to the bare
# endpoint through a pooled aiohttp session, as the gateway calls the services; no token, role, rate limit, audit
# or database. The floor of a Python gateway in front of a Python service on this machine.
BARE_PROXY = textwrap.dedent('''
    import contextlib, sys
    import aiohttp, uvicorn
    from fastapi import FastAPI, Response
    upstream, pool = sys.argv[2], {}
    @contextlib.asynccontextmanager
    async def lifespan(app):
        pool["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        yield
        await pool["session"].close()
    app = FastAPI(lifespan=lifespan)
    @app.get("/registry/entities/{uscc}")
    async def lookup(uscc: str) -> Response:
        async with pool["session"].get(f"{upstream}/registry/entities/{uscc}") as r:
            return Response(await r.read(), status_code=r.status, media_type=r.headers.get("content-type"))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning",
                access_log=False)
''')
PROXY_PORT = BARE_PORT + 1


def _load(url: str, headers: dict, seconds: float, meter: dict[str, Callable[[], float]]
          ) -> tuple[float, float, int, dict[str, float]]:
    """Closed-loop load from wrk (one thread, CONCURRENCY connections): (requests/s, p99 ms, errors, CPU µs per
    request of each process ``meter`` names: its CPU seconds so far)."""
    cmd = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{seconds:.0f}s", "--latency", "--timeout", "30s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    before = {name: used() for name, used in meter.items()}
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    used = {name: meter[name]() - at for name, at in before.items()}
    rps, p99, errors, requests = _wrk_figures(out)
    return rps, p99, errors, {name: seconds * 1e6 / max(requests, 1) for name, seconds in used.items()}


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_figures(out: str) -> tuple[float, float, int, int]:
    """Requests/s, p99 (ms), non-2xx/3xx responses plus socket errors, and requests from wrk's ``--latency``
    report."""
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M).groups()
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return rps, float(value) * _UNIT_MS[unit], errors, requests


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
    bare: list[subprocess.Popen] = []
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
        bare_url, proxy_url = f"http://127.0.0.1:{BARE_PORT}", f"http://127.0.0.1:{PROXY_PORT}"
        bare = [subprocess.Popen([sys.executable, "-c", BARE_APP, str(BARE_PORT), got.text]),
                subprocess.Popen([sys.executable, "-c", BARE_PROXY, str(PROXY_PORT), bare_url])]
        for url, proc in zip((bare_url, proxy_url), bare):
            while not run_mod.ready_url(f"{url}/registry/entities/x"):
                if proc.poll() is not None:
                    raise RuntimeError(f"the bare app on {url} did not start")
                await asyncio.sleep(0.1)
        path = f"/registry/entities/{entity['uscc']}"
        for url in (gw, bare_url, proxy_url):  # warm up the pools
            await asyncio.to_thread(_load, url + path, headers, 2, {})
        gateway_pid, registry_pid = stack.services["gateway"].process.pid, stack.services["registry"].process.pid
        bare_pid, proxy_pid = bare[0].pid, bare[1].pid
        for name, pid in (("gateway", gateway_pid), ("registry", registry_pid)):
            profile(pid, f"{name}-lookups")
        ours_rps, ours_p99, ours_err, ours_cpu = await asyncio.to_thread(
            _load, gw + path, headers, seconds, {"gateway": lambda: cpu_seconds(gateway_pid),
                                                 "registry": lambda: cpu_seconds(registry_pid),
                                                 "postgres": postgres_cpu_seconds})
        bare_rps, bare_p99, _, bare_cpu = await asyncio.to_thread(
            _load, bare_url + path, headers, seconds, {"bare": lambda: cpu_seconds(bare_pid)})
        proxy_rps, proxy_p99, proxy_err, proxy_cpu = await asyncio.to_thread(
            _load, proxy_url + path, headers, seconds, {"proxy": lambda: cpu_seconds(proxy_pid)})
    finally:
        for proc in bare:
            proc.terminate()
            proc.wait()
        await asyncio.to_thread(stack.stop_all)
    note = (f"wrk, {CONCURRENCY} connections, {seconds:.0f}s each; errors through the gateway: {ours_err}; "
            "baseline: the bare endpoint, one uvicorn process")
    proxy_note = (f"wrk as above; errors: {proxy_err}; a FastAPI app passing the lookup to the bare endpoint through "
                  "a pooled aiohttp session (two hops, no checks, no database); baseline: the bare endpoint alone")
    return [
        Figure("gateway: authenticated entity lookup", ours_rps, bare_rps, "req/s", True, note),
        Figure("gateway: authenticated entity lookup p99", ours_p99, bare_p99, "ms", False, note),
        Figure("a bare proxy in front of the bare endpoint", proxy_rps, bare_rps, "req/s", True, proxy_note),
        Figure("a bare proxy in front of the bare endpoint p99", proxy_p99, bare_p99, "ms", False),
        Figure("gateway: authenticated entity lookup vs the bare proxy", ours_rps, proxy_rps, "req/s", True,
               "what the gateway's checks and the registry's database read cost beyond the two hops"),
        Figure("CPU per lookup, the gateway's process", ours_cpu["gateway"], proxy_cpu["proxy"], "µs", False,
               "user + system time from /proc over the run; baseline: the bare proxy's process"),
        Figure("CPU per lookup, the registry's process", ours_cpu["registry"], bare_cpu["bare"], "µs", False,
               "its database read through the gateway; baseline: the bare endpoint's process (no database)"),
        Figure("CPU per lookup, PostgreSQL", ours_cpu["postgres"], bare_cpu["bare"], "µs", False,
               "the whole server (its backends, those that ended included) during the gateway's run: the "
               "gateway's and the registry's statements; baseline: the bare endpoint's process"),
    ]
