"""A service started while its release's migration has not run yet (the Job and the new pods start together)
is not ready and neither consumes nor runs its periodic jobs; once the database is at the head of its
migrations it becomes ready and starts them. Real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx

from jsp_common.db import ensure_database
from jsp_common.http import create_service_app
from jsp_common.migrations import head_revisions, upgrade
from jsp_common.runtime import ServiceRuntime
from jsp_common.settings import ServiceSettings
from jsp_testkit.testing import unique_database_url, wait_until

REGISTRY = Path(__file__).resolve().parents[2] / "services/registry"


async def test_a_service_is_ready_and_works_only_once_its_schema_is_at_head(settings):
    url = unique_database_url(settings, "ready_registry")
    await ensure_database(url)
    await upgrade(REGISTRY, url, "0002")  # the previous release's schema
    runtime = ServiceRuntime(ServiceSettings(service_name="registry", database_url=url,
                                             kafka_bootstrap_servers=settings.kafka_bootstrap_servers))
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    runtime.add_periodic("probe", job, 3600)
    await runtime.start()
    try:
        [head] = head_revisions(REGISTRY)[0]
        async def kafka_checked():
            checks = await runtime.readiness()
            return checks if checks["kafka"] != "not checked yet" else None
        checks = await wait_until(kafka_checked, timeout=30, what="the broker checked once")
        assert checks["schema"] == f"behind: at 0002, head {head}"
        assert (checks["database"], checks["kafka"]) == ("ok", "ok")
        assert not ran.is_set()

        await upgrade(REGISTRY, url)  # the migration Job
        await wait_until(ran.is_set, timeout=30, what="periodic job started after the migration")
        assert (await runtime.readiness())["schema"] == "ok"
    finally:
        await runtime.stop()


async def test_a_database_never_migrated_is_not_ready(settings):
    url = unique_database_url(settings, "ready_empty")
    await ensure_database(url)
    runtime = ServiceRuntime(ServiceSettings(service_name="registry", database_url=url,
                                             kafka_bootstrap_servers=settings.kafka_bootstrap_servers))
    try:
        assert (await runtime.readiness())["schema"] == "not migrated"
    finally:
        await runtime.db.dispose()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released): a broker there is unreachable."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_service_whose_broker_is_away_stays_ready_and_says_so(settings):
    """Readiness takes a pod out of its Service: a broker restart must not take every pod's HTTP side out with it
    (sign-in, reads and writes to the outbox work without Kafka). /readyz answers 200 with the database up and the
    schema at head, and reports the broker it cannot reach."""
    url = unique_database_url(settings, "ready_no_kafka")
    await ensure_database(url)
    await upgrade(REGISTRY, url)
    service_settings = ServiceSettings(service_name="registry", database_url=url,
                                       kafka_bootstrap_servers=f"127.0.0.1:{closed_port()}")
    app = create_service_app(title="registry", settings=service_settings,
                             runtime_factory=lambda: ServiceRuntime(service_settings))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
            async def broker_checked():
                answer = await client.get("/readyz")
                return answer if answer.json()["checks"]["kafka"] != "not checked yet" else None
            answer = await wait_until(broker_checked, timeout=30, what="the broker checked once")
            metrics = (await client.get("/metrics")).text
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert (body["checks"]["database"], body["checks"]["schema"]) == ("ok", "ok")
    assert body["checks"]["kafka"].startswith("unreachable"), body
    assert body["checks"]["events"].startswith("waiting for Kafka"), body
    assert 'jsp_connection_up{connection="kafka"} 0.0' in metrics
