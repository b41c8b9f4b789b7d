"""The clues service against real Kafka and PostgreSQL: its own test database, its real consumers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select, text

from jsp_common import clock
from jsp_common.envelope import new_envelope
from jsp_common.principal import Role
from jsp_testkit.testing import principal, running_service

from clues import subscriptions
from clues.adapters.tables import clues as clues_table
from clues.app import create_app
from clues.bootstrap import build
from clues.deps import Deps
from clues.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]
HOTLINE = "hotline.work-orders.v1"
SUBMISSIONS = "clues.submissions.v1"
HOTLINE_REPLIES = "hotline.replies.v1"
LIFECYCLE = "clues.lifecycle.v1"
HOTLINE_P = principal(Role.HOTLINE, subject="12345")


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
                 rules_cache_s=0.0, match_statistics_cache_s=0.0)
    async with running_service(s, service_dir=SERVICE_DIR, build=build, create_app=create_app, start_from_end=(
            (s.intake_group, subscriptions.INTAKE_TOPICS), (s.replica_group, subscriptions.REPLICA_TOPICS))
            ) as (runtime, client):
        yield Service(runtime.deps, client, raw_producer)


def data_of(m) -> dict:
    return m.envelope.data or {}


def as_json(m) -> dict:
    return json.loads(m.value)


async def topics_keyed(service: Service, key: str) -> set[str]:
    """The topics of every event the service emitted under ``key`` (its outbox, sent or not)."""
    async with service.deps.db.transaction() as s:
        return set(await s.scalars(text("SELECT DISTINCT topic FROM outbox_batches, unnest(topics, keys) "
                                        "AS e(topic, key) WHERE key = :k"), {"k": key}))


@contextmanager
def clock_at(monkeypatch, moment: datetime) -> Iterator[None]:
    """The service's clock (``jsp_common.clock.now``, where every part of it reads the time) at ``moment`` and
    running on from there, inside the block: requests, dispatches and transfers made on a day of the test's
    choosing."""
    real, start = clock.now, clock.now()
    with monkeypatch.context() as m:
        m.setattr(clock, "now", lambda: moment + (real() - start))
        yield
