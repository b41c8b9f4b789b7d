"""The registry against the real Kafka and PostgreSQL: its own test database, the real app and consumer."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest

from jsp_common import clock
from jsp_common.offsets import move_group_to_end
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import new_envelope
from jsp_common.migrations import upgrade
from jsp_common.principal import Principal, Role
from jsp_common.topics import Topic, by_name, create_topics, dead_letter_topic
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import caller_headers
from registry.__main__ import SERVICE_DIR
from registry.app import create_app
from registry.bootstrap import build
from registry.settings import Settings

BUREAU = "/bureau/henan-samr"
TEST_GROUP = "registry.intake-test"
SOURCE = "/jsp/registry-test"


@pytest.fixture(scope="session")
def registry_settings(settings) -> Settings:
    # Its own consumer group and event source, so a registry started by other tests on the same broker
    # neither takes this one's partitions nor is mistaken for it.
    return Settings(database_url=f"{settings.postgres_url}/registry_test", service_name="registry-test",
                    intake_group=TEST_GROUP, overdue_scan_interval_s=3600,
                    reassess_interval_s=0.2, replicate_interval_s=0.2, rules_cache_s=0.0)


@pytest.fixture(scope="session")
async def registry_db(registry_settings: Settings) -> str:
    """A fresh, migrated test database for this session."""
    url = registry_settings.database_url
    admin = await asyncpg.connect(asyncpg_dsn(url.rsplit("/", 1)[0] + "/postgres"))
    try:
        await admin.execute("DROP DATABASE IF EXISTS registry_test WITH (FORCE)")
    finally:
        await admin.close()
    await upgrade(SERVICE_DIR, url)
    return url


@pytest.fixture(scope="module")  # stopped after each module: it must not consume beside later tests' registries
async def registry(registry_settings, registry_db, kafka_topics, bootstrap):
    """The running service: HTTP app, intake consumer (partitions assigned), outbox relay."""
    intake = by_name("market.registrations.v1")
    await create_topics(bootstrap, [Topic(dead_letter_topic(intake.name, TEST_GROUP), intake.key, (), (), (),
                                          "test dead letters", partitions=1)])
    # Start from now: registrations left on a shared broker by other runs are not this session's to process.
    await move_group_to_end(TEST_GROUP, [intake.name], bootstrap_servers=bootstrap)
    app = create_app(registry_settings)
    runtime = build(registry_settings)
    app.state.runtime = runtime
    await runtime.start()
    await runtime.assigned()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry")
    yield RegistryUnderTest(app, runtime, client)
    await client.aclose()
    await runtime.stop()


class RegistryUnderTest:
    def __init__(self, app, runtime, client):
        self.app, self.runtime, self.client = app, runtime, client

    async def call(self, method: str, path: str, principal: Principal | None = None, **kw) -> httpx.Response:
        headers = kw.pop("headers", {})
        if principal is not None:
            headers.update(caller_headers(principal, self.app.state.callers.audience))  # its service_name
        return await self.client.request(method, path, headers=headers, **kw)

    async def fetchval(self, sql: str, *args):
        conn = await asyncpg.connect(asyncpg_dsn(self.runtime.settings.database_url))
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


OFFICE = Principal(subject="office-user", kind="person", roles=[Role.OFFICE], department="office-410000",
                   division="410000")


def department(code: str) -> Principal:
    return Principal(subject=f"{code}-clerk", kind="person", roles=[Role.DEPARTMENT], department=code,
                     division=code.split("-")[1])


def entity_data(code: str, **over) -> dict:
    data = {
        "uscc": code, "name": "郑州市金水区好味道餐饮有限公司", "entity_type": "有限责任公司",
        "legal_representative": "张三", "address": "河南省郑州市金水区花园路8号", "division_code": "410105",
        "industry_code": "6210", "business_scope": "餐饮服务；食品经营（销售预包装食品）",
        "licences": [], "established_on": "2024-03-01",
        "occurred_at": (clock.now() - timedelta(hours=1)).isoformat(),
    }
    data.update(over)
    return data


def envelope_bytes(event_type: str, data: dict, *, event_id: str | None = None) -> bytes:
    return new_envelope(type=event_type, source=BUREAU, data=data, subject=data.get("uscc"),
                        id=event_id or str(uuid.uuid4())).to_bytes()


async def send(raw_producer, value: bytes, key: str | None) -> None:
    await raw_producer.send_and_wait("market.registrations.v1", value=value, key=key.encode() if key else None)


@pytest.fixture(scope="session")
def kit():
    """Helpers for building and sending bureau events (test modules cannot import conftest)."""
    from types import SimpleNamespace
    def mine(pred):
        """Only what this test's registry published (another registry may share the broker)."""
        return lambda m: m.is_envelope() and m.envelope.source == SOURCE and pred(m)

    return SimpleNamespace(OFFICE=OFFICE, department=department, new_uscc=new_uscc, entity_data=entity_data,
                           envelope_bytes=envelope_bytes, send=send, BUREAU=BUREAU, mine=mine,
                           DLQ=dead_letter_topic("market.registrations.v1", TEST_GROUP))
