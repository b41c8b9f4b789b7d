"""The cap on inspections per entity per year, across all departments, holds from draw to draw, also when
two lead departments perform their draws at the same moment."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from jsp_common.outbox import SessionTx
from jsp_common.principal import Principal, Role
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import dept, wait_until

from inspection.adapters.tables import targets
from inspection.usecases import draws as uc

from .conftest import new_industry

SAMR = "samr-410100"


async def test_an_entity_at_its_yearly_cap_is_not_drawn_again_even_by_a_draw_performed_meanwhile(service):
    cap = service.deps.settings.max_inspections_per_entity_per_year
    industry = new_industry()
    usccs = [new_uscc("410102") for _ in range(3)]
    await service.entities(3, industry, usccs=usccs, classes={u: "D" for u in usccs})
    await service.inspectors(SAMR, 2)
    announced = []
    for _ in range(cap + 1):  # one task more than the cap, each drawing every entity (class D at 100%)
        matter = await service.matter(co=())
        plan = await service.plan(SAMR, matter["code"], industry, {"D": 1.0})
        task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [plan["id"]]})).json()
        announced.append((await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()["draw_id"])
    *earlier, last_but_one, last = announced

    for draw_id in earlier:
        r = await service.post(f"/draws/{draw_id}/perform", dept(SAMR))
        assert r.status_code == 200 and r.json()["targets"] == 3, r.text

    # The last but one draw is performed and not yet committed when the last one is asked for: the last one
    # must not count without it.
    samr = Principal(subject=f"officer@{SAMR}", roles=[Role.DEPARTMENT], department=SAMR)
    async with service.deps.db.transaction() as s:
        out = await uc.perform(service.deps, SessionTx(s, "/test", f"perform {last_but_one}"), samr, last_but_one)
        assert out["targets"] == 3
        meanwhile = asyncio.create_task(service.post(f"/draws/{last}/perform", dept(SAMR)))

        async def waiting_or_done() -> bool:
            if meanwhile.done():
                return True
            async with service.deps.db.transaction() as probe:
                return bool((await probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"))).scalar())
        await wait_until(waiting_or_done, timeout=60, what="the last draw performed or waiting for the one before")
    r = await meanwhile
    assert r.status_code == 200 and r.json()["targets"] == 0, r.text  # every entity is at its cap

    async with service.deps.db.transaction() as s:
        counts = (await s.execute(select(targets.c.uscc, func.count()).where(targets.c.uscc.in_(usccs))
                                  .group_by(targets.c.uscc))).all()
    assert dict(counts) == {u: cap for u in usccs}
