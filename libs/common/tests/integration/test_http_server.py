"""How ``serve`` runs a service's HTTP API (``cli.http_server_options``), on a real uvicorn: the caller's address
is the one X-Forwarded-For names only when the peer is a trusted proxy (JSP_HTTP_FORWARDED_ALLOW_IPS), so the
gateway behind the cluster's ingress rate-limits and audits each caller, not the ingress."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import uvicorn
from fastapi import FastAPI, Request

from jsp_common.cli import http_server_options
from jsp_common.settings import ServiceSettings
from jsp_testkit.testing import wait_until


async def caller_seen(trusted: str) -> str:
    app = FastAPI()

    @app.get("/who")
    async def who(request: Request) -> dict:
        return {"host": request.client.host}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    options = http_server_options(ServiceSettings(service_name="test", http_forwarded_allow_ips=trusted))
    options.update(loop="asyncio", log_level="warning", lifespan="off")
    server = uvicorn.Server(uvicorn.Config(app, **options))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as client:
            answer = await client.get("/who", headers={"X-Forwarded-For": "203.0.113.7"})
        return answer.json()["host"]
    finally:
        server.should_exit = True
        await serving


async def test_the_caller_is_the_one_a_trusted_proxy_names():
    assert await caller_seen("*") == "203.0.113.7"        # the proxy in front (here: this test) is trusted
    assert await caller_seen("10.0.0.1") == "127.0.0.1"   # another peer's header is not believed


# A service as `serve` runs it (create_service_app, its runtime, uvicorn with http_server_options) with one route
# that streams for ever, as a live page's event stream does until the browser leaves.
STREAMING_SERVICE = """
import asyncio
import uvicorn
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from jsp_common.cli import http_server_options
from jsp_common.http import create_service_app
from jsp_common.runtime import ServiceRuntime
from jsp_common.settings import ServiceSettings

router = APIRouter()

@router.get("/stream")
async def stream():
    async def events():  # one comment line, then open until the server ends it (as a live page's stream)
        yield ": keep-alive\\n\\n"
        await asyncio.Event().wait()
    return StreamingResponse(events(), media_type="text/event-stream")

def runtime():  # built in the server's loop, as a service's bootstrap is
    built = ServiceRuntime(settings)
    built.on_stop(lambda: print("shutdown ran", flush=True))
    return built

settings = ServiceSettings(service_name="shutdown-probe")
uvicorn.run(create_service_app(title="probe", settings=settings, runtime_factory=runtime, routers=[router]),
            **http_server_options(settings))
"""


async def test_a_sigterm_with_a_live_stream_open_ends_the_process_after_its_shutdown_within_the_bound(
        settings, tmp_path):
    """Before, uvicorn waited for every open response to end: a service with a live page open was still running long
    after SIGTERM, the pod was killed at the end of its grace period and the runtime's shutdown (leaving the consumer
    groups, publishing the outbox's last rows) never ran. Now open responses are ended after
    JSP_HTTP_GRACEFUL_SHUTDOWN_S and the shutdown runs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    grace = 2.0
    env = {**os.environ, "JSP_HTTP_PORT": str(port), "JSP_HTTP_GRACEFUL_SHUTDOWN_S": str(grace),
           "JSP_DATABASE_URL": f"{settings.postgres_url.rstrip('/')}/postgres", "JSP_LOG_JSON": "false"}
    log = tmp_path / "service.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", STREAMING_SERVICE], env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async def serving():
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    assert process.poll() is None, log.read_text()
                    return False
            await wait_until(serving, timeout=60, what="the service to serve")
            async with client.stream("GET", "/stream") as live:
                chunks = live.aiter_text()  # kept: a dropped iterator would close the stream from this side
                assert (await anext(chunks)).startswith(": keep-alive")
                process.send_signal(signal.SIGTERM)
                started = time.monotonic()
                # the bound: the grace, then the runtime's shutdown (here it has little to stop)
                code = await asyncio.to_thread(process.wait, grace + 15)
                took = time.monotonic() - started
                await chunks.aclose()
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {grace + 15:.0f} s after SIGTERM:\n{log.read_text()}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code in (0, -signal.SIGTERM) and "shutdown ran" in log.read_text(), log.read_text()
    assert took >= grace - 0.5  # the open stream was given its grace
