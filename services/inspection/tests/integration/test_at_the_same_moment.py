"""What two departments (or a department and the office) do at the same moment: a plan joins one joint task
only, the cap on inspections per entity per year, across all departments, holds from draw to draw, an
entity's results are published once and a draw is not abandoned under results being recorded; a publication
that waited is not passed over by a reader of the public feed; two loads of the same inspectors in different
orders do not deadlock.

Each test holds one request's transaction open (the use case called directly) while the other request comes
through the API, then lets the first commit once the second has finished or is waiting for it."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import AsyncIterator

import httpx
from sqlalchemy import func, select

from jsp_common import clock
from jsp_common.outbox import SessionTx
from jsp_common.principal import Principal, Role
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, unique, until_waiting_or_done

from inspection.adapters import requests as requests_repo
from inspection.adapters.tables import inspection_request_departments, targets
from inspection.api.schemas import InspectorIn
from inspection.usecases import directory as directory_uc
from inspection.usecases import draws as draw_uc
from inspection.usecases import plans as plan_uc
from inspection.usecases import results as result_uc

from .conftest import new_industry

SAMR, NHC = "samr-410100", "nhc-410100"
SAMR_OFFICER = Principal(subject=f"officer@{SAMR}", roles=[Role.DEPARTMENT], department=SAMR)


@asynccontextmanager
async def first_uncommitted(service, cause: str) -> AsyncIterator[SessionTx]:
    async with service.deps.db.transaction() as s:
        yield SessionTx(s, "/test", cause)


async def meanwhile(service, request) -> asyncio.Task[httpx.Response]:
    """Send ``request`` (a coroutine) while the caller's transaction is open; return it, sent, once it is
    finished or waiting for that transaction (the caller then commits and awaits the response)."""
    sent = asyncio.create_task(request)
    await until_waiting_or_done(service.deps.db, sent, what="the second request")
    return sent


async def announced_task(service, industry: str) -> str:
    """A joint task of samr's alone drawing every entity of ``industry`` (class D at 100%), its draw announced."""
    matter = await service.matter(co=())
    plan = await service.plan(SAMR, matter["code"], industry, {"D": 1.0})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [plan["id"]]})).json()
    return (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()["draw_id"]


async def performed_draw(service) -> tuple[str, str, str, list[dict]]:
    """A performed draw of samr's alone with one target: the draw, its task, the entity, and a no-problem result
    for each of its items."""
    industry = new_industry()
    uscc = new_uscc("410102")
    await service.entities(1, industry, usccs=[uscc], classes={uscc: "D"})
    await service.inspectors(SAMR, 2)
    draw_id = await announced_task(service, industry)
    task_id = (await service.post(f"/draws/{draw_id}/perform", dept(SAMR))).json()["task_id"]
    target = (await service.get(f"/tasks/{task_id}/targets/{uscc}", dept(SAMR))).json()
    return draw_id, task_id, uscc, [{"item_code": i, "outcome": "no_problem"} for p in target["parts"]
                                    for i in p["items"]]


async def test_a_plan_joins_one_joint_task_even_when_two_ask_for_it_at_once(service):
    industry = new_industry()
    await service.entities(2, industry)
    matter = await service.matter()
    p1 = await service.plan(SAMR, matter["code"], industry, {"B": 0.2})
    p2 = await service.plan(NHC, matter["code"], industry, {"B": 0.2})
    async with first_uncommitted(service, "task by the lead") as tx:
        first = await plan_uc.create_task(tx, SAMR_OFFICER, [p1["id"], p2["id"]])
        second = await meanwhile(service, service.post("/tasks", OFFICE, {"plan_ids": [p1["id"]]}))
    r = await second
    assert r.status_code == 409, r.text
    assert r.json()["errors"] == [{"field": "plan_ids", "reason": f"already in a joint task: {p1['id']}"}]
    assert [t["id"] for t in (await service.get("/tasks", dept(SAMR))).json() if p1["id"] in t["plan_ids"]] == [first["id"]]


async def test_an_entity_at_its_yearly_cap_is_not_drawn_again_even_by_a_draw_performed_meanwhile(service):
    cap = service.deps.settings.max_inspections_per_entity_per_year
    industry = new_industry()
    usccs = [new_uscc("410102") for _ in range(3)]
    await service.entities(3, industry, usccs=usccs, classes={u: "D" for u in usccs})
    await service.inspectors(SAMR, 2)
    announced = [await announced_task(service, industry) for _ in range(cap + 1)]  # one more than the cap
    *earlier, last_but_one, last = announced

    for draw_id in earlier:
        r = await service.post(f"/draws/{draw_id}/perform", dept(SAMR))
        assert r.status_code == 200 and r.json()["targets"] == 3, r.text

    # The last but one draw is performed and not yet committed when the last one is asked for: the last one
    # must not count without it.
    async with first_uncommitted(service, f"perform {last_but_one}") as tx:
        out = await draw_uc.perform(service.deps, tx, SAMR_OFFICER, last_but_one)
        assert out["targets"] == 3
        second = await meanwhile(service, service.post(f"/draws/{last}/perform", dept(SAMR)))
    r = await second
    assert r.status_code == 200 and r.json()["targets"] == 0, r.text  # every entity is at its cap

    async with service.deps.db.transaction() as s:
        counts = (await s.execute(select(targets.c.uscc, func.count()).where(targets.c.uscc.in_(usccs))
                                  .group_by(targets.c.uscc))).all()
    assert dict(counts) == {u: cap for u in usccs}


async def test_an_entity_s_results_are_published_once_even_when_published_twice_at_once(service):
    _, task_id, uscc, items = await performed_draw(service)
    r = await service.post(f"/tasks/{task_id}/targets/{uscc}/results", dept(SAMR),
                           {"inspected_on": str(clock.today()), "items": items})
    assert r.status_code == 201, r.text

    async with first_uncommitted(service, "publish by the lead") as tx:
        first = await result_uc.publish(tx, SAMR_OFFICER, task_id, uscc)
        second = await meanwhile(service, service.post(f"/tasks/{task_id}/targets/{uscc}/publication", OFFICE))
    r = await second
    assert r.status_code == 409 and "already published" in r.json()["detail"], r.text
    now = (await service.get(f"/tasks/{task_id}/targets/{uscc}", dept(SAMR))).json()
    assert datetime.fromisoformat(now["published_at"]) == first["published_at"]  # the first publication stands


async def test_a_publication_that_waited_is_not_passed_over_by_a_reader_of_the_public_feed(service):
    """An entity's publication waits (a draw holds the targeted inspection asked for it) while another entity's is
    published: a reader of the public feed, paging by time, who has read the other is given it next."""
    waiting, other = [await performed_draw(service) for _ in range(2)]
    for _, task_id, uscc, items in (waiting, other):
        r = await service.post(f"/tasks/{task_id}/targets/{uscc}/results", dept(SAMR),
                               {"inspected_on": str(clock.today()), "items": items})
        assert r.status_code == 201, r.text
    request_id = unique("RQ")
    async with service.deps.db.transaction() as s:  # a risk alert asked yesterday for a targeted inspection of it
        await requests_repo.add(s, [dict(
            request_id=request_id, alert_id=unique("AL"), uscc=waiting[2], entity_name=None, level="red", score=80.0,
            departments=[SAMR], reason="燃气报警", respond_by=None, requested_at=clock.now() - timedelta(days=1))])

    async def feed_after(since: str) -> list[dict]:
        return (await service.get("/public/results", params={"since": since, "limit": 1000})).json()

    async with service.deps.db.transaction() as a_draw:  # a draw taking the request in holds it until it ends
        await a_draw.execute(select(inspection_request_departments)
                             .where(inspection_request_departments.c.request_id == request_id).with_for_update())
        first = await meanwhile(service, service.post(f"/tasks/{waiting[1]}/targets/{waiting[2]}/publication",
                                                      dept(SAMR)))
        r = await service.post(f"/tasks/{other[1]}/targets/{other[2]}/publication", dept(SAMR))
        assert r.status_code == 200, r.text
        read = await feed_after((datetime.fromisoformat(r.json()["published_at"]) - timedelta(seconds=1)).isoformat())
        assert other[2] in {f["uscc"] for f in read} and waiting[2] not in {f["uscc"] for f in read}
    assert (await first).status_code == 200
    assert waiting[2] in {f["uscc"] for f in await feed_after(read[-1]["published_at"])}


async def test_a_draw_is_not_abandoned_while_its_first_results_are_recorded(service):
    """Results recorded at one of a draw's targets while the lead abandons the draw: the abandonment waits and is
    refused (it found no committed result, then deleted the target under the results just recorded)."""
    draw_id, task_id, uscc, items = await performed_draw(service)

    async with first_uncommitted(service, "results by the team") as tx:
        await result_uc.record(service.deps, tx, SAMR_OFFICER, task_id, uscc,
                               {"inspected_on": clock.today(), "items": items})
        abandoned = await meanwhile(service, service.post(f"/draws/{draw_id}/abandon", dept(SAMR),
                                                          {"reason": "抽取有误"}))
    r = await abandoned
    assert r.status_code == 409 and "results are recorded" in r.json()["detail"], r.text
    kept = await service.get(f"/tasks/{task_id}/targets/{uscc}", dept(SAMR))
    assert kept.status_code == 200
    assert {x["item_code"] for x in kept.json()["results"]} == {i["item_code"] for i in items}


async def test_two_loads_of_the_same_inspectors_in_different_orders_do_not_deadlock(service):
    """Two loads sharing certificates (the department's file and the office's, say), one listing them in the other
    order: the second waits for the first, whatever their order, instead of each waiting for the other."""
    prefix = unique("C").replace(".", "-")[:50]
    first_no, second_no = prefix + "-a", prefix + "-b"  # in this order by (department, certificate number)
    one, two = ({"name": f"检查员{n}", "certificate_no": n, "certificate_valid_until": "2030-12-31"}
                for n in (first_no, second_no))
    as_loaded = [InspectorIn.model_validate(x).model_dump() for x in (one, two)]
    async with first_uncommitted(service, "a load in two statements") as tx:
        await directory_uc.load_inspectors(tx, SAMR_OFFICER, as_loaded[:1])          # it has the first...
        other = await meanwhile(service, service.post("/inspectors", dept(SAMR), [two, one]))  # the other order
        await directory_uc.load_inspectors(tx, SAMR_OFFICER, as_loaded[1:])          # ...then the second
    r = await other
    assert r.status_code == 201 and [x["certificate_no"] for x in r.json()] == [second_no, first_no], r.text
