"""The clues service against real Kafka and PostgreSQL: its own test database, its real consumers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select

from jsp_common import clock
from jsp_common.consumer import move_group_to_end
from jsp_common.envelope import new_envelope
from jsp_common.http import create_service_app
from jsp_common.migrations import upgrade
from jsp_common.principal import Principal, Role
from jsp_testkit.testing import caller_headers

from clues import subscriptions
from clues.adapters.tables import clues as clues_table
from clues.api.routes import router
from clues.bootstrap import build
from clues.deps import Deps
from clues.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]
HOTLINE = "hotline.work-orders.v1"
SUBMISSIONS = "clues.submissions.v1"
HOTLINE_REPLIES = "hotline.replies.v1"
LIFECYCLE = "clues.lifecycle.v1"


def principal(*roles: Role, department: str | None = None, subject: str | None = None) -> dict[str, str]:
    p = Principal(subject=subject or (department or roles[0].value), roles=list(roles), department=department)
    return caller_headers(p, "clues")


OFFICE = principal(Role.OFFICE, subject="office-duty")
HOTLINE_P = principal(Role.HOTLINE, subject="12345")


def dept(code: str) -> dict[str, str]:
    return principal(Role.DEPARTMENT, department=code, subject=f"officer@{code}")


@dataclass
class Service:
    deps: Deps
    client: httpx.AsyncClient
    producer: Any

    async def send(self, topic: str, type_: str, data: dict, key: str | None) -> str:
        env = new_envelope(type=type_, source="/test/12345", data=data)
        await self.producer.send_and_wait(topic, env.to_bytes(), key=key.encode() if key else None)
        return env.id

    async def work_order(self, no: str, content: str, **more: Any) -> str:
        data = {"work_order_no": no, "content": content, "received_at": clock.now().isoformat(), **more}
        if isinstance(data["received_at"], datetime):
            data["received_at"] = data["received_at"].isoformat()
        return await self.send(HOTLINE, "hotline.work-order.submitted.v1", data, no)

    async def clue(self, channel: str, ref: str) -> dict | None:
        async with self.deps.db.transaction() as s:
            row = (await s.execute(select(clues_table).where(clues_table.c.channel == channel,
                                                             clues_table.c.channel_ref == ref))).mappings().first()
        return dict(row) if row else None

    async def post(self, path: str, who: dict, body: dict | None = None) -> httpx.Response:
        return await self.client.post(path, headers=who, json=body if body is not None else None)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(settings, kafka_topics, raw_producer):
    """The service for one test module; stopped after it, so its consumer groups do not linger beside the
    services that end-to-end tests start later in the same run."""
    s = Settings(database_url=f"{settings.postgres_url.rstrip('/')}/clues_test", deadline_scan_interval_s=3600,
                 rules_cache_s=0.0)
    await upgrade(SERVICE_DIR, s.database_url)
    # Start from now: traffic left on a shared broker by other runs is not this test's to process.
    for group, topics in ((s.intake_group, subscriptions.INTAKE_TOPICS),
                          (s.replica_group, subscriptions.REPLICA_TOPICS)):
        await move_group_to_end(group, topics, bootstrap_servers=s.kafka_bootstrap_servers)
    runtime = build(s, periodic=False)
    deps = runtime.deps
    await runtime.start()
    for c in runtime.consumers:
        await c.assigned()
    app = create_service_app(title="clues-test", settings=s, runtime_factory=lambda: runtime, routers=[router])
    app.state.runtime = runtime
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://clues") as client:
        yield Service(deps, client, raw_producer)
    await runtime.stop()


def data_of(m) -> dict:
    return m.envelope.data or {}


def as_json(m) -> dict:
    return json.loads(m.value)


def new_uscc(division: str = "410105") -> str:
    """A valid, unique USCC (each test names its own business, so no two tests' clues are duplicates)."""
    import random

    from jsp_common.uscc import ALPHABET, with_check_char

    body = "".join(random.choice(ALPHABET) for _ in range(9))
    return with_check_char(f"91{division}{body}")
