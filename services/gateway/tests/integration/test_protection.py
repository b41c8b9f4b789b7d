"""Rate limits, size limits, problem documents, and the audit log (append-only, office-readable)."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

import pytest
import uvicorn
from fastapi import FastAPI, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from jsp_common.db import Database
from jsp_common.principal import Role
from jsp_testkit.testing import unique, wait_until

from jsp_testkit import samples

from gateway.adapters import repositories as repo
from gateway.domain.ratelimit import Leases, RateLimiter
from gateway.usecases import limits
from gateway.usecases.renewals import Renewals

from .conftest import gateway_settings, is_problem, start


async def test_each_client_has_its_own_rate_limit(settings, gateway_db, kafka_topics):
    running, ctx = await start(gateway_settings(settings, rate_limit_per_minute=6, rate_limit_burst=3))
    try:
        greedy = await running.client_for(Role.HOTLINE)
        calm = await running.client_for(Role.HOTLINE)
        statuses = [(await running.http.get("/auth/me", headers=greedy["headers"])).status_code for _ in range(5)]
        assert statuses[:2] == [200, 200] and statuses[-1] == 429  # the token request took one
        limited = await running.http.get("/auth/me", headers=greedy["headers"])
        assert is_problem(limited) and int(limited.headers["Retry-After"]) >= 1
        assert (await running.http.get("/auth/me", headers=calm["headers"])).status_code == 200
    finally:
        await running.http.aclose()
        await ctx.__aexit__(None, None, None)


async def test_a_client_has_one_rate_limit_across_the_gateways_replicas(settings, gateway_db, kafka_topics):
    """Two replicas on one database: a client spreading its calls over both gets its limit once, not twice."""
    limited = gateway_settings(settings, rate_limit_per_minute=1, rate_limit_burst=4)
    (a, ctx_a), (b, ctx_b) = await start(limited), await start(limited)
    try:
        greedy = await a.client_for(Role.HOTLINE)  # its token request is counted for the caller's address
        statuses = []
        for i in range(8):
            statuses.append((await (a if i % 2 else b).http.get("/auth/me", headers=greedy["headers"])).status_code)
        passed = statuses.count(200)  # 4, or 3 when the token request was counted for the client too
        assert passed in (3, 4) and statuses == [200] * passed + [429] * (8 - passed), statuses
    finally:
        for running, ctx in ((a, ctx_a), (b, ctx_b)):
            await running.http.aclose()
            await ctx.__aexit__(None, None, None)


async def test_concurrent_calls_within_the_burst_all_pass(settings, gateway_db, kafka_topics):
    """A line system sending its calls many at a time gets its whole burst: requests arriving together while the
    replica's lease is spent renew it once between them, instead of each taking a lease of its own from the shared
    bucket and throwing the others away."""
    running, ctx = await start(gateway_settings(settings, rate_limit_per_minute=60, rate_limit_burst=100))
    try:
        client = await running.client_for(Role.HOTLINE)
        statuses = []
        for _ in range(4):  # 80 calls in waves of 20 at once, and the token request: within the burst of 100
            wave = await asyncio.gather(*(running.http.get("/auth/me", headers=client["headers"]) for _ in range(20)))
            statuses += [r.status_code for r in wave]
        assert statuses == [200] * 80, statuses
    finally:
        await running.http.aclose()
        await ctx.__aexit__(None, None, None)


async def test_calls_arriving_together_while_the_database_is_away_try_it_once():
    """Twenty calls of one client at once while the gateway's database cannot be reached: one of them tries it, the
    others wait for that attempt and then take from the replica's own bucket; all pass within the burst, and the
    database is not tried twenty times in a row."""
    with socket.socket() as s:  # a port nothing listens on: connecting is refused
        s.bind(("127.0.0.1", 0))
        away = s.getsockname()[1]
    attempts = []

    class Counted(Database):
        def transaction(self):
            attempts.append(1)
            return super().transaction()

    db = Counted(f"postgresql+asyncpg://postgres@127.0.0.1:{away}/gateway")
    deps = SimpleNamespace(settings=SimpleNamespace(rate_limit_per_minute=60, rate_limit_burst=100),
                           limiter=RateLimiter(60, 100), leases=Leases(50, 1.0), renewals=Renewals())
    try:
        waits = await asyncio.gather(*(limits.take(deps, db, "client:line-system") for _ in range(20)))
    finally:
        await db.dispose()
    assert waits == [0.0] * 20
    assert len(attempts) == 1


async def test_a_lease_of_tokens_is_taken_whole_or_not_at_all(gateway_db):
    """What a replica's lease takes from a shared bucket (domain.ratelimit.Leases decides how many)."""
    db, bucket = Database(gateway_db), f"lease-{unique()}"
    try:
        async def take(count: int) -> tuple[float, bool]:
            async with db.transaction() as session:
                return await repo.take_rate_tokens(session, bucket, per_second=0.001, burst=10.0, count=count)
        assert await take(1) == (pytest.approx(9.0, abs=0.01), True)
        assert await take(6) == (pytest.approx(3.0, abs=0.01), True)
        assert await take(4) == (pytest.approx(3.0, abs=0.01), False)      # not three of the four
        assert await take(3) == (pytest.approx(0.0, abs=0.01), True)
    finally:
        await db.dispose()


async def test_the_rule_dry_run_may_take_longer_than_other_calls_to_a_service(settings, gateway_db, kafka_topics):
    """The dry-run evaluates up to the whole directory: the gateway waits upstream_long_timeout_s for it, while
    other calls give up after upstream_timeout_s with a 504 problem."""
    slow = FastAPI()
    arrived = {"rules/dry-run": asyncio.Event()}
    release = asyncio.Event()

    @slow.api_route("/{path:path}", methods=["GET", "POST"])
    async def answer_when_released(path: str) -> dict:
        arrived.setdefault(path, asyncio.Event()).set()
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
        await asyncio.wait_for(arrived["rules/dry-run"].wait(), 10)
        # While the registry is still busy, another call gives up after upstream_timeout_s ...
        rules = await running.http.get("/registry/rules", headers=office["headers"])
        assert rules.status_code == 504 and is_problem(rules)
        # ... and the dry-run, sent before it, is still waiting for its answer.
        assert not dry_run.done()
        release.set()
        dry = await asyncio.wait_for(dry_run, 10)
        assert dry.status_code == 200 and dry.json() == {"path": "rules/dry-run"}
    finally:
        release.set()
        await running.http.aclose()
        await ctx.__aexit__(None, None, None)
        server.should_exit = True
        await serving


async def test_sign_in_attempts_from_the_page_are_paced_like_the_api_s(settings, gateway_db, kafka_topics):
    """Password guesses through the sign-in form were not rate limited (the API's /auth/login was)."""
    running, ctx = await start(gateway_settings(settings, rate_limit_per_minute=6, rate_limit_burst=3))
    try:
        answers = [(await running.http.post("/ui/login", data={"username": "office", "password": "guess"}))
                   .headers["location"] for _ in range(5)]
        assert "error=1" in answers[0] and "error=busy" in answers[-1], answers
    finally:
        await running.http.aclose()
        await ctx.__aexit__(None, None, None)


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


async def test_a_request_id_that_is_not_utf_8_is_echoed_and_audited_not_a_500(gw, actors):
    """An X-Request-Id in another encoding (GBK, say) made the call a 500 after the route had done its work."""
    r = await gw.http.get("/auth/me", headers={**actors["office"]["headers"], "X-Request-Id": "请求".encode("gbk")})
    assert r.status_code == 200, r.text


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


async def test_a_body_over_the_limit_is_refused_before_it_is_read(gw, actors):
    big = {"type": "hotline.work-order.submitted.v1", "data": {**samples.work_order(), "content": "投诉" * 600_000}}
    resp = await gw.http.post("/ingest/work-orders", json=big, headers=actors["hotline"]["headers"])
    assert resp.status_code == 413 and is_problem(resp)

    async def chunks():
        for _ in range(30):
            yield b"x" * 50_000
    streamed = await gw.http.post("/ingest/work-orders", content=chunks(),
                                  headers={**actors["hotline"]["headers"], "content-type": "application/json"})
    assert streamed.status_code == 413 and is_problem(streamed)


@pytest.mark.parametrize("method, path, body, expected", [
    ("GET", "/no/such/route", None, 404),
    ("POST", "/ingest/registrations", b"{not json", 422),
    ("DELETE", "/audit", None, 405),
    ("GET", "/entities/not-a-uscc/360", None, 422),
])
async def test_every_error_is_a_problem_document_without_a_stack_trace(gw, actors, method, path, body, expected):
    headers = {**actors["office"]["headers"], "content-type": "application/json"}
    if path.startswith("/ingest"):
        headers = {**actors["bureau"]["headers"], "content-type": "application/json"}
    resp = await gw.http.request(method, path, content=body, headers=headers)
    assert resp.status_code == expected and is_problem(resp), resp.text


async def test_every_call_is_audited_and_the_office_can_query_it(gw, actors):
    dept = await gw.client_for(Role.DEPARTMENT, department="samr-410100")
    uscc = samples.new_uscc("410102")
    denied = await gw.http.get("/audit", headers=dept["headers"])
    await gw.http.get(f"/entities/{uscc}/360", headers=dept["headers"])
    assert denied.status_code == 403

    async def entries():
        resp = await gw.http.get("/audit", params={"subject": dept["client_id"]}, headers=actors["office"]["headers"])
        assert resp.status_code == 200
        rows = resp.json()
        return rows if {r["route"] for r in rows} >= {"/audit", "/entities/{uscc}/360"} else None

    rows = await wait_until(entries, timeout=10, what="audit entries")
    by_route = {r["route"]: r for r in rows}
    assert by_route["/audit"]["outcome"] == "denied" and by_route["/audit"]["status"] == 403
    e360 = by_route["/entities/{uscc}/360"]
    assert e360["object_id"] == uscc and e360["department"] == "samr-410100" and e360["request_id"]
    assert e360["trace_id"] and e360["method"] == "GET" and e360["outcome"] == "ok"  # degraded, not failed
    anonymous = await gw.http.get("/auth/me")
    assert anonymous.status_code == 401
    rid = anonymous.headers["x-request-id"]

    async def anonymous_entry():
        rows = (await gw.http.get("/audit", params={"route": "/auth/me", "outcome": "denied"},
                                  headers=actors["office"]["headers"])).json()
        return [r for r in rows if r["request_id"] == rid]
    [row] = await wait_until(anonymous_entry, timeout=10, what="the anonymous call's entry")
    assert row["subject"] is None


async def test_a_sign_in_is_audited_with_the_account_or_client_it_tried(gw, actors):
    """A token asked for, right or wrong, names on the audit log the account or client it was for (the entry had
    no subject and no object: the office could not tell who signed in, or which account was being guessed)."""
    account, client = unique("nobody"), unique("no-client")
    assert (await gw.http.post("/auth/login", json={"username": account, "password": "guess"})).status_code == 401
    assert (await gw.http.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client,
                                                     "client_secret": "guess"})).status_code == 401

    async def entries():
        rows = (await gw.http.get("/audit", params={"limit": 500}, headers=actors["office"]["headers"])).json()
        tried = {(r["route"], r["object_id"]) for r in rows}
        return tried if {("/auth/login", account), ("/auth/token", client)} <= tried else None
    await wait_until(entries, timeout=10, what="both attempts' audit entries")


async def test_audit_entries_wait_while_the_database_is_away_none_dropped(settings):
    """Callers keep recording while the database is away (their calls need no database): a batch that failed to
    be written went back into the queue the waiting callers had just filled, and was dropped there."""
    from gateway.adapters.audit import AuditWriter

    away = Database(f"{settings.postgres_url}/{unique('no_such_database').replace('-', '_')}")  # every write fails
    writer = AuditWriter(away, batch_size=5, flush_interval_s=0.01, queue_max=10)
    recording = [asyncio.create_task(writer.record({"n": n})) for n in range(30)]

    async def full() -> bool:
        return writer.queue.full()
    try:
        await wait_until(full, what="the queue full")
        with pytest.raises(Exception):   # the callers it made room for recorded while it tried the database
            await writer.flush()
        assert writer.queue.full() and len(writer.held) == 5
        assert writer.queue.qsize() + len(writer.held) + sum(not r.done() for r in recording) == 30
    finally:
        for r in recording:
            r.cancel()
        await away.dispose()


async def test_the_audit_log_cannot_be_edited_or_deleted(gw):
    async with gw.runtime.db.engine.connect() as conn:
        for stmt in ("UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(stmt))
            await conn.rollback()
    doc = (await gw.http.get("/openapi.json")).json()
    assert {(p, m) for p, item in doc["paths"].items() for m in item if p.startswith("/audit")} == {("/audit", "get")}


async def test_only_entries_past_retention_are_purged(gw):
    from datetime import timedelta

    from jsp_common import clock
    from gateway.adapters.repositories import purge_audit
    from gateway.adapters.tables import audit_log

    subject = unique("purge")
    entry = dict(subject=subject, method="GET", route="/audit", path="/audit", status=200, outcome="ok")
    async with gw.runtime.db.transaction() as s:
        await s.execute(audit_log.insert(), [{**entry, "at": clock.now() - timedelta(days=200)},
                                             {**entry, "at": clock.now() - timedelta(days=10)}])
    async with gw.runtime.db.transaction() as s:
        await purge_audit(s, retention_days=190)
    async with gw.runtime.db.transaction() as s:
        left = (await s.execute(audit_log.select().where(audit_log.c.subject == subject))).all()
    assert len(left) == 1 and clock.now() - left[0].at < timedelta(days=11)  # the recent one stays


async def test_a_path_holding_a_nul_byte_is_audited_and_the_audit_goes_on(gw, actors):
    """A caller may put %00 in a path (PostgreSQL's text cannot hold it): the call is refused (400), audited
    with the byte shown as U+FFFD, and every call after it is audited too."""
    office = actors["office"]["headers"]
    odd_path = f"/entities/{unique('nul')}%00/360"
    odd = await gw.http.get(odd_path, headers=office)
    assert odd.status_code == 400 and is_problem(odd), odd.text
    later = (await gw.http.get("/auth/me", headers=office)).headers["x-request-id"]
    stored = odd_path.replace("%00", "\ufffd")

    async def both():
        rows = (await gw.http.get("/audit", params={"limit": 500}, headers=office)).json()
        mine = [r for r in rows if r["path"] == stored]
        return mine if mine and later in {r["request_id"] for r in rows} else None
    [entry] = await wait_until(both, timeout=10, what="both calls' audit entries")
    assert entry["status"] == 400 and entry["method"] == "GET"


async def test_a_date_time_at_the_ends_of_the_calendar_is_refused_with_its_field(gw, actors):
    # Valid RFC 3339, but year 0 in UTC: neither Python nor the driver can take it (it answered 503).
    resp = await gw.http.get("/audit", params={"since": "0001-01-01T00:00:00+01:00"}, headers=actors["office"]["headers"])
    assert resp.status_code == 422 and is_problem(resp), resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["query.since"]
