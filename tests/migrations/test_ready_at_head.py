"""A service started while its release's migration has not run yet (the Job and the new pods start together)
is not ready and neither consumes nor runs its periodic jobs; once the database is at the head of its
migrations it becomes ready and starts them. Real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jsp_common.db import ensure_database
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
        checks = await runtime.readiness()
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
