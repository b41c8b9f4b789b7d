"""Calls through the gateway to the services: a long-running route's own timeout, a service's 503 with its
Retry-After, and the live pages' streams on connections of their own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import AsyncIterator

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

from jsp_common.principal import Role
from jsp_testkit.testing import serving, wait_until

from .conftest import gateway_settings, is_problem, start


async def test_the_rule_dry_run_and_publication_may_take_longer_than_other_calls_to_a_service(
        settings, gateway_db, kafka_topics):
    """The dry-run and the publication of a rule set each evaluate up to the whole directory: the gateway waits
    upstream_long_timeout_s for them, while other calls give up after upstream_timeout_s with a 504 problem (a
    publication given up on went on in the registry, and the office, told 504, published again)."""
    slow = FastAPI()
    arrived = {"POST rules/dry-run": asyncio.Event(), "PUT rules": asyncio.Event()}
    release = asyncio.Event()

    @slow.api_route("/{path:path}", methods=["GET", "POST", "PUT"])
    async def answer_when_released(path: str, request: Request) -> dict:
        arrived.setdefault(f"{request.method} {path}", asyncio.Event()).set()
        await release.wait()  # a registry busy until the test lets it answer
        return {"path": path}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections wait in the backlog until the server accepts them
    server = uvicorn.Server(uvicorn.Config(slow, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    running, ctx = await start(gateway_settings(
        settings, registry_url=f"http://127.0.0.1:{sock.getsockname()[1]}", upstream_timeout_s=0.2,
        upstream_long_timeout_s=30.0, upstream_retries=0))
    try:
        office = await running.client_for(Role.OFFICE, person=True)
        dry_run = asyncio.create_task(
            running.http.post("/registry/rules/dry-run", headers=office["headers"], json={"rules": []}))
        publish = asyncio.create_task(
            running.http.put("/registry/rules", headers=office["headers"], json={"rules": []}))
        await asyncio.wait_for(arrived["POST rules/dry-run"].wait(), 10)
        await asyncio.wait_for(arrived["PUT rules"].wait(), 10)
        # While the registry is still busy, another call gives up after upstream_timeout_s ...
        rules = await running.http.get("/registry/rules", headers=office["headers"])
        assert rules.status_code == 504 and is_problem(rules)
        # ... and the dry-run and the publication, sent before it, are still waiting for their answers.
        assert not dry_run.done() and not publish.done()
        release.set()
        dry = await asyncio.wait_for(dry_run, 10)
        assert dry.status_code == 200 and dry.json() == {"path": "rules/dry-run"}
        published = await asyncio.wait_for(publish, 10)
        assert published.status_code == 200 and published.json() == {"path": "rules"}
    finally:
        release.set()
        await running.http.aclose()
        await ctx.__aexit__(None, None, None)
        server.should_exit = True
        await serving


async def test_a_service_that_cannot_serve_now_is_a_503_with_its_retry_after(settings, gateway_db, kafka_topics):
    """A service whose database is away answers 503 with Retry-After: the caller is told so (it was a 502, 'failed
    to answer', with no time to come back); a service's failure stays a 502."""
    away = FastAPI()

    @away.api_route("/{path:path}", methods=["GET", "POST"])
    async def answer(path: str) -> Response:
        if path == "rules":
            return Response(status_code=503, headers={"Retry-After": "7"}, media_type="application/problem+json",
                            content=b'{"status": 503, "title": "Service unavailable"}')
        return Response(status_code=500)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(away, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    running, ctx = await start(gateway_settings(settings, registry_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
                                                upstream_retries=0))
    try:
        office = await running.client_for(Role.OFFICE, person=True)
        unavailable = await running.http.get("/registry/rules", headers=office["headers"])
        assert (unavailable.status_code, unavailable.headers.get("retry-after")) == (503, "7"), unavailable.text
        assert is_problem(unavailable)
        failed = await running.http.get("/registry/adjudication", headers=office["headers"])
        assert failed.status_code == 502 and is_problem(failed)
    finally:
        await running.http.aclose()
        await ctx.__aexit__(None, None, None)
        server.should_exit = True
        await serving


async def test_open_live_pages_do_not_take_the_connections_pages_and_calls_need():
    """A live page holds its stream to the dashboard while it is open: with the streams in the callers' pool, as
    many open pages as the pool has connections made every page and call wait for one, then fail (504)."""
    from fastapi.responses import StreamingResponse

    from gateway.adapters.upstream import Upstream

    dashboard, closing = FastAPI(), asyncio.Event()

    @dashboard.get("/ui/stream")
    async def stream() -> StreamingResponse:
        async def events():
            yield b": open\n\n"
            await closing.wait()   # a page left open
        return StreamingResponse(events(), media_type="text/event-stream")

    @dashboard.get("/ui/")
    async def page() -> dict:
        return {"page": "overview"}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(dashboard, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    upstream = Upstream(name="dashboard", base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", max_connections=2,
                        connect_timeout_s=1.0, retries=0)
    try:
        opened = [await upstream.stream("/ui/stream", headers={}, idle_timeout_s=60) for _ in range(3)]
        assert all(reply is None for reply, _ in opened)    # three pages open, more than the callers' pool
        answer = await upstream.request("GET", "/ui/")
        assert answer.status_code == 200
    finally:
        closing.set()
        await upstream.close()
        server.should_exit = True
        await serving


async def test_the_public_s_live_pages_are_capped_per_address_and_a_closed_one_gives_its_place_back(settings,
                                                                                                   gateway_db):
    """A public page's live stream needs no sign-in and holds a connection of the pool the office's and the
    departments' live pages use: one address opening streams in a loop took the whole pool. Past its share it is
    refused (429 with Retry-After) until one of its streams closes."""
    from fastapi.responses import StreamingResponse

    dashboard, over = FastAPI(), asyncio.Event()

    @dashboard.get("/ui/public/stream")
    async def stream() -> StreamingResponse:
        async def events():
            yield b": open\n\n"
            await over.wait()
        return StreamingResponse(events(), media_type="text/event-stream")

    async def opened(client) -> tuple[contextlib.AbstractAsyncContextManager, AsyncIterator[bytes]] | None:
        """A stream held open (its first chunk read; the reader kept, or the stream would close with it), or None
        when the gateway refused it (429)."""
        held = client.stream("GET", "/ui/public/stream")
        answer = await held.__aenter__()
        if answer.status_code == 200:
            reader = answer.aiter_bytes()
            await anext(reader)
            return held, reader
        assert answer.status_code == 429 and answer.headers["retry-after"], answer.status_code
        await answer.aread()
        assert is_problem(answer)
        await held.__aexit__(None, None, None)
        return None

    async with serving(dashboard) as dashboard_url:
        running, ctx = await start(gateway_settings(settings, dashboard_url=dashboard_url, public_streams_per_address=2))
        try:
            async with serving(running.app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
                first, second = await opened(client), await opened(client)
                assert first and second
                assert await opened(client) is None
                await first[0].__aexit__(None, None, None)  # the page is closed
                third = await wait_until(lambda: opened(client), what="a place given back")
                for held, _ in (second, third):
                    await held.__aexit__(None, None, None)
        finally:
            over.set()
            await running.http.aclose()
            await ctx.__aexit__(None, None, None)


async def test_a_page_path_climbing_out_of_ui_is_not_forwarded(settings, gateway_db):
    """``/ui/static/../../metrics`` passed as a public page (it starts with ``static/``) and the forwarding URL
    resolved the dots: anyone read the dashboard's /metrics (and any other of its routes) without signing in. A
    route's parameter of dots (``/inspection/public/draws/..``) would reach another route of the service alike."""
    dashboard, asked = FastAPI(), []

    @dashboard.get("/{path:path}")
    async def anything(path: str) -> Response:
        asked.append(path)
        return Response("jsp_events_in_total 1", media_type="text/plain")

    async with serving(dashboard) as dashboard_url:
        both = dict(dashboard_url=dashboard_url, inspection_url=dashboard_url)  # the one app plays both services
        running, ctx = await start(gateway_settings(settings, **both))
        try:
            async with serving(running.app) as url:
                host, port = url.removeprefix("http://").split(":")
                for target in ("/ui/static/../../metrics", "/ui/public/%2e%2e/%2E%2E/openapi.json", "/ui/./x",
                               "/inspection/public/draws/..", "/inspection/public/matters/%2e%2e/manual"):
                    reader, writer = await asyncio.open_connection(host, int(port))  # sent as written, not resolved
                    writer.write(f"GET {target} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n".encode())
                    answer = await reader.read()
                    writer.close()
                    assert answer.startswith(b"HTTP/1.1 404") and b"application/problem+json" in answer, answer[:300]
                assert asked == []
                async with httpx.AsyncClient(base_url=url) as client:  # a page of the dashboard's still passes
                    page = await client.get("/ui/static/app.css")
                    assert page.status_code == 200 and asked == ["ui/static/app.css"]
        finally:
            await running.http.aclose()
            await ctx.__aexit__(None, None, None)


async def test_a_draw_s_public_record_is_relayed_as_it_comes_and_whole(settings, gateway_db):
    """A draw's public record (a hundred megabytes for a joint draw over a million entities, the service sending it
    in slices) was read whole into the gateway's memory before its first byte was passed on, for anyone asking
    without a login. It is relayed as it comes now, every slice of it; a service's problem document and its
    failure are answered as on any route."""
    from fastapi.responses import StreamingResponse

    inspection, go_on = FastAPI(), asyncio.Event()
    slices = [f'{{"draw_id":"{k}","x":"'.encode() + bytes([65 + k]) * 65_536 + b'"}' for k in range(8)]
    whole = b"[" + b",".join(slices) + b"]"

    @inspection.get("/public/draws/{draw_id}")
    async def record(draw_id: str) -> Response:
        if draw_id == "DR-000000000000":
            return Response(status_code=404, media_type="application/problem+json",
                            content=b'{"status":404,"title":"Not Found","detail":"no draw DR-000000000000",'
                                    b'"instance":"/public/draws/DR-000000000000"}')
        if draw_id == "DR-failing":
            return Response(status_code=500)

        async def chunks():
            yield whole[:len(slices[0]) + 1]
            await go_on.wait()   # the rest once the caller has had the first slice
            for k in range(len(slices[0]) + 1, len(whole), 65_536):
                yield whole[k:k + 65_536]
        return StreamingResponse(chunks(), media_type="application/json", headers={"Content-Length": str(len(whole))})

    async with serving(inspection) as inspection_url:
        running, ctx = await start(gateway_settings(settings, inspection_url=inspection_url, upstream_retries=0))
        try:
            async with serving(running.app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
                async def first_slice(reader: AsyncIterator[bytes]) -> bytearray:
                    got = bytearray()
                    while len(got) < len(slices[0]) + 1:
                        got += await anext(reader)
                    return got

                async with client.stream("GET", "/inspection/public/draws/DR-0123456789ab") as answer:
                    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
                    assert int(answer.headers["content-length"]) == len(whole)
                    reader = answer.aiter_raw()
                    got = await asyncio.wait_for(first_slice(reader), 10)   # before the service has sent the rest
                    go_on.set()
                    async for chunk in reader:
                        got += chunk
                assert bytes(got) == whole
                missing = await client.get("/inspection/public/draws/DR-000000000000")
                assert missing.status_code == 404 and is_problem(missing)
                assert missing.json()["instance"] == "/inspection/public/draws/DR-000000000000"
                failed = await client.get("/inspection/public/draws/DR-failing")
                assert failed.status_code == 502 and is_problem(failed)
        finally:
            go_on.set()
            await running.http.aclose()
            await ctx.__aexit__(None, None, None)
