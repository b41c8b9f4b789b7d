"""The risk service against real Kafka and PostgreSQL: its own test database, its real consumers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from jsp_common import clock
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import EntityChanged
from jsp_common.runtime import ServiceRuntime
from jsp_testkit.testing import running_service

from risk import subscriptions
from risk.app import create_app
from risk.bootstrap import build
from risk.deps import Deps
from risk.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]


@dataclass
class Service:
    runtime: ServiceRuntime[Deps]
    client: httpx.AsyncClient
    producer: Any

    @property
    def deps(self) -> Deps:
        return self.runtime.deps

    async def send(self, topic: str, type_: str, data: dict, key: str | None) -> str:
        env = new_envelope(type=type_, source="/test", data=data)
        await self.producer.send_and_wait(topic, env.to_bytes(), key=key.encode() if key else None)
        return env.id

    async def entity(self, uscc: str, departments: list[str], name: str = "好味道餐馆",
                     division: str = "410105", version: int = 1, status: str = "active") -> None:
        """The registry's record of a business, as the registry publishes it."""
        now = clock.now()
        record = EntityChanged(uscc=uscc, name=name, entity_type="个体工商户", address=f"河南省郑州市金水区花园路{random.randint(1, 999)}号",
                               division_code=division, industry_code="6210", status=status,
                               established_on=date(2020, 1, 1), responsible_departments=departments,
                               assignment_state="assigned", assignment_source="rules", record_version=version,
                               last_changed_at=now, updated_at=now)
        await self.send("registry.entities.v1", "registry.entity.changed.v1", record.model_dump(mode="json"), uscc)

    async def clue_handled(self, uscc: str, clue_id: str, lead: str, finding: str = "substantiated",
                           channel: str = "hotline") -> None:
        base = {"clue_id": clue_id, "channel": channel, "channel_ref": clue_id, "actor": "x", "uscc": uscc,
                "lead_department": lead, "domain": "food", "at": clock.now().isoformat()}
        await self.send("clues.lifecycle.v1", "clues.clue.transitioned.v1",
                        {**base, "action": "receive", "from_state": None, "to_state": "received"}, clue_id)
        await self.send("clues.lifecycle.v1", "clues.clue.transitioned.v1",
                        {**base, "action": "handle", "from_state": "verifying", "to_state": "handled",
                         "details": {"finding": finding, "measures": "责令整改"}}, clue_id)

    async def inspection(self, uscc: str, departments: list[str], outcomes: list[str], task: str) -> None:
        data = {"uscc": uscc, "entity_name": "好味道餐馆", "task_id": task, "matter_code": "food-001",
                "lead_department": departments[0], "departments": departments,
                "inspected_on": clock.today().isoformat(),
                "items": [{"item_code": f"item-{n}", "department": departments[0], "outcome": o}
                          for n, o in enumerate(outcomes)],
                "problems_found": any(o != "no_problem" for o in outcomes), "published_at": clock.now().isoformat()}
        await self.send("inspection.results.v1", "inspection.result.published.v1", data, uscc)

    async def standing(self, uscc: str) -> dict | None:
        from risk.adapters import repository as repo
        async with self.deps.db.transaction() as s:
            return await repo.standing(s, uscc)

    async def post(self, path: str, who: dict, body: dict | None = None) -> httpx.Response:
        return await self.client.post(path, headers=who, json=body)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(request, settings, kafka_topics, raw_producer):
    """The service for one test module (stopped after it), on the test database (a module that needs one of its
    own names it in ``RISK_DATABASE``)."""
    database = getattr(request.module, "RISK_DATABASE", "risk_test")
    s = Settings(database_url=f"{settings.postgres_url.rstrip('/')}/{database}", model_cache_s=0.0,
                 window_scan_interval_s=3600, escalation_scan_interval_s=3600, outbox_poll_interval_s=0.05)
    async with running_service(s, service_dir=SERVICE_DIR, build=build, create_app=create_app, start_from_end=(
            (s.replica_group, subscriptions.REPLICA_TOPICS), (s.indicators_group, subscriptions.INDICATOR_TOPICS),
            (s.monitoring_group, subscriptions.MONITORING_TOPICS))) as (runtime, client):
        yield Service(runtime, client, raw_producer)


def data_of(m) -> dict:
    return m.envelope.data or {}


def at(moment: datetime) -> str:
    return moment.isoformat()
