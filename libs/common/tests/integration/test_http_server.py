"""How ``serve`` runs a service's HTTP API (``cli.http_server_options``), on a real uvicorn: the caller's address
is the one X-Forwarded-For names only when the peer is a trusted proxy (JSP_HTTP_FORWARDED_ALLOW_IPS), so the
gateway behind the cluster's ingress rate-limits and audits each caller, not the ingress."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn
from fastapi import FastAPI, Request

from jsp_common.cli import http_server_options
from jsp_common.settings import ServiceSettings


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
