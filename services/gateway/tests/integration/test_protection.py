"""Rate limits, size limits, problem documents and request ids."""

from __future__ import annotations

import asyncio
import json
import socket
from types import SimpleNamespace

import pytest

from jsp_common.db import Database
from jsp_common.principal import Role
from jsp_testkit.testing import unique

from jsp_testkit import samples

from gateway.adapters import repositories as repo
from gateway.domain.ratelimit import Leases, RateLimiter
from gateway.usecases import limits
from gateway.usecases.renewals import Renewals

from .conftest import calling, gateway_settings, is_problem, start


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


def _failures_allowed(settings, burst: int):
    """The gateway with an allowance of ``burst`` failed sign-ins per account that does not refill within a test."""
    return gateway_settings(settings, sign_in_failures_per_minute=0.001, sign_in_failures_burst=burst)


async def test_guesses_at_one_account_from_many_addresses_are_refused_once_its_failures_are_spent(
        settings, gateway_db, kafka_topics):
    """Failed sign-ins count against the account tried, wherever they come from (each address far below its own
    limit): guesses sent at once get no further than its allowance of 3, and then its right password is refused too
    (429, not checked: guessing would go on), on every sign-in route; another account signs in meanwhile. (Not from
    127.0.0.1: the other tests of this file spend that address's bucket.)"""
    running, ctx = await start(_failures_allowed(settings, 3), address="198.51.100.10")
    addresses = [calling(running.app, f"198.51.100.{k}") for k in range(1, 7)]
    try:
        victim = await running.client_for(Role.OFFICE, person=True)
        other = await running.client_for(Role.OFFICE, person=True)
        system = await running.client_for(Role.HOTLINE)
        guesses = await asyncio.gather(*(http.post("/auth/token", data={
            "grant_type": "password", "username": victim["username"], "password": f"guess-{k}"})
            for k, http in enumerate(addresses[:5])))
        assert sorted(r.status_code for r in guesses) == [401, 401, 401, 429, 429], [r.text for r in guesses]
        right = {"username": victim["username"], "password": victim["secret"]}
        refused = await addresses[5].post("/auth/login", json=right)
        assert refused.status_code == 429 and is_problem(refused) and int(refused.headers["Retry-After"]) >= 1
        page = await addresses[5].post("/ui/login", data=right)
        assert "error=busy" in page.headers["location"]
        assert (await addresses[0].post("/auth/token", data={"grant_type": "password", **right})).status_code == 429
        welcome = await addresses[1].post("/auth/login", json={"username": other["username"],
                                                                "password": other["secret"]})
        assert welcome.status_code == 200  # its own allowance, not the victim's
        # A system's secret is generated, not guessed: failures on its client id never keep its data out.
        secrets = [f"guess-{k}" for k in range(4)] + [system["secret"]]
        answers = [(await http.post("/auth/token", data={"grant_type": "client_credentials",
                                                         "client_id": system["client_id"], "client_secret": s}))
                   .status_code for http, s in zip(addresses, secrets)]
        assert answers == [401, 401, 401, 401, 200], answers
    finally:
        for http in (running.http, *addresses):
            await http.aclose()
        await ctx.__aexit__(None, None, None)


async def test_successful_sign_ins_do_not_spend_the_accounts_allowance_of_failures(settings, gateway_db,
                                                                                   kafka_topics):
    """Only failures spend an account's allowance: after two of its three, ten sign-ins with the right password in
    a row all pass, and the account still has the one failure left before its right password is refused."""
    running, ctx = await start(_failures_allowed(settings, 3), address="198.51.100.20")
    try:
        person = await running.client_for(Role.OFFICE, person=True)

        async def sign_in(password: str) -> int:
            return (await running.http.post("/auth/login", json={"username": person["username"],
                                                                 "password": password})).status_code
        assert [await sign_in("guess") for _ in range(2)] == [401, 401]
        assert [await sign_in(person["secret"]) for _ in range(10)] == [200] * 10
        assert await sign_in("guess") == 401
        assert await sign_in(person["secret"]) == 429
    finally:
        await running.http.aclose()
        await ctx.__aexit__(None, None, None)


async def test_a_request_id_that_is_not_utf_8_is_echoed_and_audited_not_a_500(gw, actors):
    """An X-Request-Id in another encoding (GBK, say) made the call a 500 after the route had done its work."""
    r = await gw.http.get("/auth/me", headers={**actors["office"]["headers"], "X-Request-Id": "请求".encode("gbk")})
    assert r.status_code == 200, r.text


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


async def test_a_batch_over_the_body_limit_is_refused_with_the_limit_and_how_to_send_it(gw, actors):
    """The inspection service takes 2000 matters in a batch, but 2000 modest ones make a JSON file of some 1.3 MB:
    the gateway's 413 said only that the body was too large. It names the limit and says to split the load."""
    matters = [{"code": f"HN-SP-{n:04d}", "name": "餐饮服务食品安全联合抽查", "domain": "food",
                "division_code": "410100", "kind": "key", "lead_department": "samr-410100",
                "cooperating_departments": ["nhc-410100"], "legal_basis": "《中华人民共和国食品安全法》第八十七条",
                "items": [{"code": f"HN-SP-{n:04d}-S1", "department": "samr-410100", "title": "经营许可与进货查验"},
                          {"code": f"HN-SP-{n:04d}-H1", "department": "nhc-410100", "title": "从业人员健康管理"}],
                "effective_from": "2027-01-01"} for n in range(2000)]
    file = json.dumps(matters, indent=1).encode()   # as json.dump writes it: 1.4 MB
    headers = {**actors["office"]["headers"], "content-type": "application/json"}
    resp = await gw.http.post("/inspection/batches/file", content=file, headers=headers,
                              params={"division_code": "410100", "title": "第一批"})
    assert resp.status_code == 413 and is_problem(resp), resp.text
    detail = resp.json()["detail"]
    assert "1,000,000 bytes" in detail and "split" in detail, detail
    assert resp.json()["max_body_bytes"] == 1_000_000


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


async def test_a_date_time_at_the_ends_of_the_calendar_is_refused_with_its_field(gw, actors):
    # Valid RFC 3339, but year 0 in UTC: neither Python nor the driver can take it (it answered 503).
    resp = await gw.http.get("/audit", params={"since": "0001-01-01T00:00:00+01:00"}, headers=actors["office"]["headers"])
    assert resp.status_code == 422 and is_problem(resp), resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["query.since"]


async def test_buckets_full_again_are_purged_by_the_hourly_job(settings, gateway_db):
    """Every caller, address and user name tried left its bucket's row for good (one more per name a guesser tried):
    the hourly job removes the rows untouched for longer than any bucket takes to fill up again."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from jsp_common import clock
    from gateway.adapters.tables import rate_buckets
    from gateway.usecases import housekeeping

    limited = gateway_settings(settings)
    db = Database(limited.database_url)
    try:
        idle, recent = unique("ip:203.0.113.1-"), unique("sign-in user:")
        async with db.transaction() as s:
            for caller in (idle, recent):
                await repo.take_rate_tokens(s, caller, per_second=10.0, burst=100.0)
            long_ago = clock.now() - housekeeping.refilled_within(limited) - timedelta(minutes=1)
            await s.execute(update(rate_buckets).where(rate_buckets.c.caller == idle).values(at=long_ago))
        async with db.transaction() as s:
            await housekeeping.purge_idempotency_keys(SimpleNamespace(settings=limited), SimpleNamespace(session=s))
        async with db.transaction() as s:
            left = set(await s.scalars(select(rate_buckets.c.caller).where(rate_buckets.c.caller.in_([idle, recent]))))
        assert left == {recent}
    finally:
        await db.dispose()
