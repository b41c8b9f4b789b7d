"""The whole platform under the faults a provincial data centre sees (issue #17).

Uniquely identified registrations (each followed by changes), work orders, device readings and API actions flow
through every service, half through the gateway and half straight onto the topics, while every service process
(and a second replica of the consuming services) is killed with SIGKILL at seeded random moments and restarted,
the broker is restarted and PostgreSQL is stopped. Afterwards a set comparison from outside (the topics and the
databases): every accepted input has exactly one effect of each kind, per-key order holds, every poison message
is in its dead-letter topic with a reason, and every consumer group's lag is back to zero.

``make test`` runs the short form (every fault once, small traffic: a few minutes); ``make faults`` the long
one (``JSP_FAULTS_FORM=long``; ``JSP_FAULTS_FORM=short`` there runs the short one alone).
``JSP_FAULTS_SEED`` replays a schedule (the seed is printed)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from jsp_common import clock, topics
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import new_envelope
from jsp_testkit import front_door, samples
from jsp_testkit.faults.ledger import compare, group_lags
from jsp_testkit.faults.schedule import FaultSchedule, infra
from jsp_testkit.faults.traffic import Credentials, Traffic, register_system
from jsp_testkit.testing import local_stack_module, of_type, tail, unique, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.broker_restart  # restarts the broker and stops the database: runs last
CONSUMING = ("registry", "clues", "inspection", "risk", "dashboard")


@dataclass(frozen=True)
class Plan:
    registrations: int
    changes: int             # per registration, sent in order after it
    work_orders: int
    devices: int
    readings: int            # per device
    poison: int              # of each kind on each inbound topic
    window_s: float          # traffic and faults are spread over this
    kills: int               # per service process
    postgres_outage_s: float
    broker_restarts: int
    replicas: tuple[str, ...]  # consuming services that run a second replica
    concurrency: int


PLANS = {
    # every fault once, small traffic
    "short": Plan(registrations=40, changes=2, work_orders=30, devices=3, readings=30, poison=1, window_s=45,
                  kills=1, postgres_outage_s=10, broker_restarts=1, replicas=("registry", "risk"), concurrency=8),
    # make faults: tens of thousands of inputs, every process killed three times, two replicas of every consumer
    "long": Plan(registrations=5000, changes=2, work_orders=5000, devices=50, readings=200, poison=10, window_s=600,
                 kills=3, postgres_outage_s=30, broker_restarts=2, replicas=CONSUMING, concurrency=32),
}
FORM = os.environ.get("JSP_FAULTS_FORM", "short")


def replica_port(port: int) -> int:
    """The second replica of a service listens beside the first (inside the same block of test ports)."""
    return port + int(os.environ.get("JSP_E2E_REPLICA_PORT_OFFSET", "50"))


@pytest.fixture(scope="module")
def replicas(stack):
    """A second process of each consuming service in the plan: same database, same consumer groups."""
    run = local_stack_module(ROOT)
    names = list(PLANS[FORM].replicas)
    second = run.Stack(names, ports={n: replica_port(stack.services[n].port) for n in names},
                       log_dir=ROOT / ".local" / "e2e-logs" / "replicas",
                       per_service={n: {k: v for k, v in stack.services[n].env.items()
                                        if k != f"JSP_{n.upper()}_HTTP_PORT"} for n in names})
    try:
        for n in names:
            second.start(n)
        yield second
    finally:
        second.stop_all()


def _database(svc) -> str:
    return asyncpg_dsn(svc.env[f"JSP_{svc.name.upper()}_DATABASE_URL"])


async def _unsettled(stack, client_options: dict) -> dict:
    """What is still in flight: consumer lag, unpublished outbox rows, directory records not yet published."""
    left = {f"lag {g}": n for g, n in (await group_lags(client_options)).items() if n}
    for name, svc in stack.services.items():
        conn = await asyncpg.connect(_database(svc))
        try:
            left[f"outbox {name}"] = await conn.fetchval("SELECT count(*) FROM outbox_batches WHERE sent_at IS NULL")
            if name == "registry":
                left["registry unpublished"] = await conn.fetchval(
                    "SELECT count(*) FROM entities WHERE published_version < version")
        finally:
            await conn.close()
    return {k: v for k, v in left.items() if v}


async def _starter_model_in_force(http: httpx.AsyncClient, office: Credentials) -> None:
    """The suite's devices report the shipped model's metrics (gas_lel, …): put that model (version 1) back in force
    when an earlier test (the API fuzzing, say) published another."""
    starter = (await http.get("/risk/models/1", headers=office.headers())).json()["model"]
    current = (await http.get("/risk/models/current", headers=office.headers())).json()["model"]
    if current != starter:
        r = await http.post("/risk/models", headers=office.headers(),
                            json={"model": starter, "note": "fault suite: the shipped model its devices report"})
        assert r.status_code == 201, r.text


async def _all_ready(stacks) -> bool:
    async with httpx.AsyncClient(timeout=3) as http:
        for stack in stacks:
            for svc in stack.services.values():
                try:
                    if (await http.get(f"{svc.url}/readyz")).status_code != 200:
                        return False
                except httpx.TransportError:
                    return False
    return True


async def test_nothing_is_lost_or_duplicated_when_services_broker_and_database_fail(stack, replicas, settings):
    plan = PLANS[FORM]
    seed = int(os.environ.get("JSP_FAULTS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nfault suite ({FORM} form): seed {seed} (JSP_FAULTS_SEED={seed} replays this schedule)", flush=True)
    rng = random.Random(seed)
    client_options = settings.kafka_client_options()
    gw = stack.services["gateway"]
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
        username, password = unique("office"), unique("pw") + "-Aa1"
        await asyncio.to_thread(front_door.create_office_account, gw.env, username, password)
        office = Credentials(http, username=username, password=password)
        await office.renew()
        await _starter_model_in_force(http, office)
        bureau = await register_system(http, office, unique("faults-bureau"), ["bureau"])
        hotline = await register_system(http, office, unique("faults-hotline"), ["hotline"])
        async def new_producer() -> AIOKafkaProducer:
            producer = AIOKafkaProducer(acks="all", enable_idempotence=True, request_timeout_ms=15000,
                                        **client_options)
            await producer.start()
            return producer
        schedule = FaultSchedule.plan(ROOT, {"a": stack, "b": replicas}, rng, window_s=plan.window_s,
                                      kills_per_process=plan.kills, broker_restarts=plan.broker_restarts,
                                      postgres_outage_s=plan.postgres_outage_s)
        traffic = Traffic(run=uuid.uuid4().hex[:8], rng=rng, http=http, new_producer=new_producer, bureau=bureau,
                          hotline=hotline, office=office, concurrency=plan.concurrency)
        await traffic.start()
        # The devices' readings, 10 ms apart from this start, all fall inside one minute's window: a start just before
        # a minute ends would split them between two windows, each counting its own.
        start = clock.now().replace(second=0, microsecond=0) + timedelta(seconds=1)

        async def paced(send):  # inputs spread over the window (a pace, not a synchronisation)
            await asyncio.sleep(rng.uniform(0, plan.window_s))
            await send()

        jobs = [paced(lambda: traffic.registration_chain(plan.changes)) for _ in range(plan.registrations)]
        jobs += [paced(traffic.work_order) for _ in range(plan.work_orders)]
        jobs += [paced(lambda: traffic.device(plan.readings, start)) for _ in range(plan.devices)]
        jobs += [paced(lambda: traffic.poison(plan.poison))]
        schedule.start()
        try:
            await asyncio.gather(*jobs)
            await wait_until(schedule.finished, timeout=plan.window_s + 600, interval=0.5,
                             what="the fault schedule to end")
            await wait_until(lambda: _all_ready([stack, replicas]), timeout=300, interval=0.5,
                             what="every service process to be ready again")
        finally:
            schedule.stop()
            await traffic.stop()
        left: dict = {}

        async def settled():
            left.clear()
            left.update(await _unsettled(stack, client_options))
            return not left
        try:
            await wait_until(settled, timeout=600, interval=1, what="every consumer group and outbox to drain")
        finally:
            print("still in flight:", left or "nothing", flush=True)
    report = await compare(traffic.sent, client_options=client_options,
                           databases={n: _database(s) for n, s in stack.services.items()})
    print("\n".join(schedule.done))
    print(f"inputs accepted by channel: {traffic.sent.by_channel}")
    print(report.text(), flush=True)
    assert (report.lost, report.duplicated) == (0, 0), report.text()
    assert not report.order_violations, report.text()
    assert not report.poison_missing and report.dead_lettered == report.poison > 0, report.text()
    assert not any(report.lags.values()), report.lags
    assert not schedule.unexpected_exits, schedule.unexpected_exits


async def test_while_postgres_is_down_a_service_stays_up_unready_skips_nothing_and_resumes(stack, replicas, settings,
                                                                                        raw_producer, bootstrap):
    """The registry, its database stopped: alive, not ready (saying why), its intake holds its offsets while it
    retries; once the database is back it is ready again and applies every registration sent meanwhile."""
    registry = stack.services["registry"]
    # its second process shares the intake's partitions: either may be the one that takes a registration
    processes = [registry, *([replicas.services["registry"]] if "registry" in replicas.services else [])]
    admin = AIOKafkaAdminClient(**settings.kafka_client_options())
    await admin.start()

    async def committed() -> dict:
        return {tp: om.offset for tp, om in (await admin.list_consumer_group_offsets("registry.intake")).items()
                if tp.topic == topics.MARKET_REGISTRATIONS}

    async def infrastructure_failures(http: httpx.AsyncClient) -> float:
        texts = [(await http.get(f"{p.url}/metrics")).text for p in processes]
        return sum(float(line.rsplit(" ", 1)[1]) for text in texts for line in text.splitlines()
                   if line.startswith("jsp_events_failed_total{") and 'group="registry.intake"' in line
                   and 'kind="infrastructure"' in line)

    registrations = [samples.registration() for _ in range(5)]
    async with httpx.AsyncClient(timeout=10) as http, tail(bootstrap, topics.REGISTRATION_RECEIPTS) as receipts:
        before = await infrastructure_failures(http)
        await asyncio.to_thread(infra, ROOT, "pg-stop")
        try:
            async def unready():
                try:
                    r = await http.get(f"{registry.url}/readyz", timeout=30)
                except httpx.TransportError:
                    return None
                return r if r.status_code == 503 else None
            answer = await wait_until(unready, timeout=60, what="the registry to report not ready")
            assert answer.json()["checks"]["database"].startswith("unavailable"), answer.text
            assert "database" in answer.json()["detail"]
            offsets = await committed()
            for data in registrations:
                env = new_envelope(type="market.entity.registered.v1", source="/faults/outage", data=data)
                await raw_producer.send_and_wait(topics.MARKET_REGISTRATIONS, env.to_bytes(), key=data["uscc"].encode())

            async def retrying():
                return await infrastructure_failures(http) > before
            await wait_until(retrying, timeout=60, what="the registry to try its intake against the stopped database")
            assert await committed() == offsets  # nothing consumed past what it could not apply
            assert (await http.get(f"{registry.url}/healthz")).status_code == 200
            assert registry.process.poll() is None
        finally:
            await asyncio.to_thread(infra, ROOT, "pg-start")
            await admin.close()

        async def ready():
            try:
                return (await http.get(f"{registry.url}/readyz", timeout=30)).status_code == 200
            except httpx.TransportError:
                return False
        await wait_until(ready, timeout=120, what="the registry to be ready again by itself")
        for data in registrations:
            await receipts.wait_for(of_type("registry.registration.accepted.v1", uscc=data["uscc"]), timeout=120,
                                    what=f"the receipt of {data['uscc']}")
    assert registry.process.poll() is None  # the same process throughout


async def test_a_broker_restart_costs_each_service_a_few_json_log_lines(stack):
    """Every line is JSON (the Kafka client's own included); the lost connection is logged once, again while it
    stays lost, and once when it is back; the client's repeated complaints are collapsed."""
    sizes = {name: svc.log.stat().st_size for name, svc in stack.services.items()}

    def added(name: str) -> list[str]:
        with open(stack.services[name].log, "rb") as f:
            f.seek(sizes[name])
            return f.read().decode(errors="replace").splitlines()

    def said(name: str, event: str) -> list[dict]:
        out = []
        for line in added(name):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == event and record.get("connection") == "kafka":
                out.append(record)
        return out

    began = time.monotonic()
    await asyncio.to_thread(infra, ROOT, "kafka-stop")
    try:
        for name in stack.services:
            await wait_until(lambda: said(name, "connection lost"), timeout=60, what=f"{name} to log the lost broker")
        await wait_until(lambda: all(said(n, "connection still lost") for n in stack.services), timeout=120,
                         what="every service to log that the broker is still away")
    finally:
        await asyncio.to_thread(infra, ROOT, "kafka-start")
    for name in stack.services:
        await wait_until(lambda: said(name, "connection restored"), timeout=120,
                         what=f"{name} to log the broker back")
    for name in stack.services:
        lines = added(name)
        not_json = [line for line in lines if not line.startswith("{")]
        assert not not_json, f"{name}: lines that are not JSON: {not_json[:5]}"
        records = [json.loads(line) for line in lines]
        assert len(said(name, "connection lost")) == 1 and len(said(name, "connection restored")) == 1, name
        unable = [r for r in records if str(r.get("event", "")).startswith("Unable connect to node")]
        once_a_minute = 2 + (time.monotonic() - began) // 60  # JSP_LOG_REPEAT_WINDOW_S
        assert len(unable) <= once_a_minute, f"{name}: {len(unable)} lines of the client's connection errors"
        print(f"{name}: {len(lines)} log lines over the broker restart")
        assert len(lines) < 200, f"{name}: {len(lines)} lines over the broker restart:\n" + "\n".join(lines[:50])
