"""The inspection service against real Kafka and PostgreSQL: its own test database, its real consumers; the
registry's directory and the credit classes arrive on their topics as the registry and risk publish them."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest_asyncio

from jsp_common import clock, industries, replica, topics
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import EntityChanged
from jsp_common.events.risk import CreditClassChanged, InspectionRequested, WarningLevel
from jsp_testkit.samples import new_uscc
from jsp_testkit import testing
from jsp_testkit.testing import OFFICE, dept, running_service, unique, wait_until

from inspection.adapters import directory
from inspection.app import create_app
from inspection.bootstrap import build
from inspection.deps import Deps
from inspection.domain import served_record
from inspection.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]
# a plan's period when a test names none: around today, so results recorded today fall in it in any year
THIS_PERIOD = (clock.today() - timedelta(days=180), clock.today() + timedelta(days=180))


_TAKEN: set[str] = set()


def new_industry() -> str:
    """A 4-digit industry class of this test's own (plans filter by it, so tests do not draw each other's): a
    real class (GB/T 4754-2017), as plans take only those, never the same twice in a test run (there are only
    504: drawn at random, two of a run's tests shared one about one run in eight, and the second waited for a
    population that held the first one's entities too)."""
    code = random.choice([i.code for i in industries.all_industries() if i.level == "class" and i.code not in _TAKEN])
    _TAKEN.add(code)
    return code


@dataclass
class Service:
    deps: Deps
    client: httpx.AsyncClient
    producer: Any
    runtime: Any

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """The service's HTTP API on a real socket too, for a client of its own (the verify command): its address."""
        app = create_app(self.deps.settings)
        app.state.runtime = self.runtime
        async with testing.serving(app) as address:
            yield address

    async def record(self, draw_id: str) -> tuple[dict, dict[tuple[int, str], bytes]]:
        """A draw's public record, and the members of each population it lists, as their public route serves them."""
        rec = (await self.get(f"/public/draws/{draw_id}")).json()["record"]
        kept = {}
        for p in rec.get("populations", ()):
            r = await self.get(f"/public/draws/{draw_id}/populations/{p['population']}/{p['credit_class']}")
            assert r.status_code == 200, r.text
            kept[(p["population"], p["credit_class"])] = r.content
        return rec, kept

    async def full_record(self, draw_id: str) -> dict:
        """A draw's public record with every stratum's members listed (fetched from the populations' route)."""
        rec, kept = await self.record(draw_id)
        return served_record.with_members(rec, {k: served_record.members_of(v) for k, v in kept.items()})

    async def send(self, topic: str, data: Any, key: str) -> None:
        env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
        await self.producer.send(topic, env.to_bytes(), key=key.encode())

    async def request(self, uscc: str, departments: list[str], *, level: str = "orange", score: float = 60,
                      requested_at=None) -> str:
        """A risk alert's request for a targeted inspection of ``uscc`` by ``departments``, sent: its id."""
        request_id = f"alert:{unique('AL')}"
        await self.send(topics.INSPECTION_REQUESTS, InspectionRequested(
            request_id=request_id, alert_id=request_id[6:], uscc=uscc, entity_name="郑州食品有限公司",
            level=WarningLevel(level), score=score, departments=departments,
            reason=f"风险预警（{level}级）风险分值{score:g}", respond_by=None, requested_at=requested_at or clock.now()),
            uscc)
        return request_id

    async def entities(self, n: int, industry: str, *, classes: dict[str, str] | None = None,
                       division: str = "410102", usccs: list[str] | None = None,
                       address: str = "河南省郑州市中原区建设路1号", name_suffix: str = "") -> list[str]:
        """``n`` active entities published by 'the registry' (and their classes by 'risk'), replicated."""
        usccs = usccs or [new_uscc(division) for _ in range(n)]
        now = clock.now()
        for u in usccs:
            await self.send(topics.REGISTRY_ENTITIES, EntityChanged(
                uscc=u, name=f"郑州{u[-6:]}食品有限公司{name_suffix}", entity_type="有限责任公司", address=address,
                division_code=division, city_code=division[:4] + "00", industry_code=industry, status="active",
                established_on=date(2020, 5, 1), responsible_departments=["samr-410100", "nhc-410100"],
                domains=["food"], assignment_state="assigned", assignment_source="rules", record_version=1,
                last_changed_at=now, updated_at=now), u)
        for u, c in (classes or {}).items():
            await self.send(topics.CREDIT_CLASSES, CreditClassChanged(
                uscc=u, credit_class=c, score=80.0, model_version=1, record_version=1, changed_at=now), u)
        await self.producer.flush()

        async def replicated():
            async with self.deps.db.transaction() as s:
                pop, _ = await directory.population(s, {"industry_code": industry}, year=2026, yearly_cap=99)
            got = {c.uscc: c.credit_class for c in pop}
            return len(got) == n and all(got.get(u) == c for u, c in (classes or {}).items())
        # a guard against a replica that never catches up, not a speed check (a busy machine's rebalances are slow)
        await wait_until(replicated, timeout=180, what=f"{n} entities and their classes in the replica")
        return usccs

    async def post(self, path: str, who: dict, body: Any = None, *, headers: dict | None = None,
                   **kw) -> httpx.Response:
        if body is not None:
            kw["json"] = body
        return await self.client.post(path, headers={**who, **(headers or {})}, **kw)

    async def retire_inspectors(self, department: str) -> None:
        """Deactivate a department's inspectors left by earlier tests (a test that counts on its pool)."""
        for i in (await self.get("/inspectors", OFFICE, params={"department": department, "limit": 500})).json():
            if i["active"]:
                r = await self.client.patch(f"/inspectors/{i['id']}", headers=OFFICE, json={"active": False})
                assert r.status_code == 200, r.text

    async def get(self, path: str, who: dict | None = None, **kw) -> httpx.Response:
        return await self.client.get(path, headers=who or {}, **kw)

    async def matter(self, lead: str = "samr-410100", co: tuple[str, ...] = ("nhc-410100",), kind: str = "key",
                     division: str = "410100", items: list[dict] | None = None) -> dict:
        code = unique("M").replace("-", "")[:40]
        items = items or [{"code": f"{code}-S1", "department": lead, "title": "经营许可与进货查验"}] + \
            [{"code": f"{code}-{d[:3].upper()}1", "department": d, "title": "从业人员健康"} for d in co]
        r = await self.post("/batches", OFFICE, {"division_code": division, "title": "第一批", "matters": [{
            "code": code, "name": "餐饮食品安全联合抽查", "domain": "food", "division_code": division, "kind": kind,
            "lead_department": lead, "cooperating_departments": list(co), "legal_basis": "《食品安全法》",
            "items": items, "effective_from": "2025-01-01"}]})
        assert r.status_code == 201, r.text
        return {"code": code, "items": items}

    async def inspectors(self, department: str, n: int, *, conflicts: list[str] | None = None) -> list[dict]:
        r = await self.post("/inspectors", dept(department), [
            {"name": f"检查员{k}", "certificate_no": unique("C").replace(".", "-")[:60], "certificate_valid_until": "2030-12-31",
             "conflicts": conflicts if (k == 0 and conflicts) else []} for k in range(n)])
        assert r.status_code == 201, r.text
        return r.json()

    async def plan(self, department: str, matter: str, industry: str, ratios: dict, **period) -> dict:
        r = await self.post("/plans", dept(department), {
            "matter_code": matter, "period_start": period.get("start", THIS_PERIOD[0].isoformat()),
            "period_end": period.get("end", THIS_PERIOD[1].isoformat()), "filter": {"industry_code": industry},
            "ratios": ratios})
        assert r.status_code == 201, r.text
        return r.json()


@contextlib.asynccontextmanager
async def started(settings, raw_producer, **overrides) -> AsyncIterator[Service]:
    """The service on its test database and the real broker (``overrides``: settings of a test module's own)."""
    s = Settings(**{"database_url": f"{settings.postgres_url.rstrip('/')}/inspection_test",
                    "max_targets_per_inspector": 1000, "max_targets_per_assignment": 5, "max_targets_in_event": 100,
                    # a population of a few members, a record of a few plans: in slices
                    "kept_population_slice_bytes": 64, "draw_record_slice_bytes": 256, **overrides})
    async with running_service(s, service_dir=SERVICE_DIR, build=build, create_app=create_app, start_from_end=(
            (s.replica_group, replica.TOPICS), (s.credit_group, [topics.CREDIT_CLASSES]),
            (s.requests_group, [topics.INSPECTION_REQUESTS]))) as (runtime, client):
        yield Service(runtime.deps, client, raw_producer, runtime)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(settings, kafka_topics, raw_producer):
    async with started(settings, raw_producer) as running:
        yield running
