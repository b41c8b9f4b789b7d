"""Targeted inspections a risk alert asks for (risk.inspection-requests.v1): on the must-inspect list of the
departments asked (another department does not see them); each department's part taken into the next joint
draw in which that department has a plan covering the entity, beside the random sample and on the draw's
record (which still replays), and covered once a result of a visit where that department inspected is
published. One department's visit does not answer the request for another."""

from __future__ import annotations

from datetime import timedelta

from jsp_common import clock
from jsp_testkit.testing import wait_until

from inspection.domain import joint

from .conftest import OFFICE, dept, new_industry

SAMR, NHC, MEM = "samr-410100", "nhc-410100", "mem-410100"


async def test_a_requested_inspection_joins_the_next_draw_and_is_covered_by_the_published_result(service):
    industry = new_industry()
    usccs = await service.entities(30, industry)
    requested = usccs[7]
    # asked yesterday: today's visits answer it
    request_id = await service.request(requested, [NHC, SAMR], requested_at=clock.now() - timedelta(days=1))
    await service.producer.flush()

    async def listed():
        return [r for r in (await service.get("/requests", dept(SAMR), params={"state": "open"})).json()
                if r["request_id"] == request_id]
    got = await wait_until(listed, timeout=60, what="the request on samr's must-inspect list")

    async def listed_by(department: str, state: str) -> list[dict]:
        return [r for r in (await service.get("/requests", dept(department), params={"state": state})).json()
                if r["request_id"] == request_id]
    assert got[0]["uscc"] == requested and got[0]["departments"] == [NHC, SAMR]
    assert request_id in {r["request_id"] for r in (await service.get("/requests", OFFICE)).json()}
    assert request_id not in {r["request_id"] for r in (await service.get("/requests", dept(MEM))).json()}

    # samr's plan samples 10% of 30 entities (3); the requested one is a target whatever the sample
    await service.inspectors(SAMR, 3)
    await service.inspectors(NHC, 3)
    matter = await service.matter()
    plan = await service.plan(SAMR, matter["code"], industry, {"B": 0.1})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [plan["id"]]})).json()
    announced = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    r = await service.post(f"/draws/{announced['draw_id']}/perform", dept(SAMR))
    assert r.status_code == 200, r.text
    rec, kept = await service.record(announced["draw_id"])
    assert rec["requested"] == {requested: [SAMR]}   # nhc takes no part in this task
    assert joint.verify(rec, kept) == []
    sample = [u for p in rec["plans"] for s in p["strata"] for u in s["sample"]]
    assert len(sample) == 3
    targets = {t["uscc"] for t in (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]}
    assert targets == set(sample) | {requested}
    planned = (await service.get("/requests", dept(SAMR), params={"state": "planned"})).json()
    assert [r["task_id"] for r in planned if r["request_id"] == request_id] == [task["id"]]
    # nhc's part is still open: samr's draw took in only samr's (nhc takes no part in its task)
    assert [r["task_id"] for r in await listed_by(NHC, "open")] == [None]

    # a joint task in which nhc takes part: its draw takes nhc's part in, though samr's task has the entity already
    nhc_plan = await service.plan(NHC, matter["code"], industry, {"B": 0.1})
    samr_again = await service.plan(SAMR, matter["code"], industry, {"B": 0.1})
    nhc_task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [nhc_plan["id"], samr_again["id"]]})).json()
    announced = (await service.post(f"/tasks/{nhc_task['id']}/draws", dept(SAMR))).json()
    r = await service.post(f"/draws/{announced['draw_id']}/perform", dept(SAMR))
    assert r.status_code == 200, r.text
    rec, kept = await service.record(announced["draw_id"])
    assert rec["requested"] == {requested: [NHC]} and joint.verify(rec, kept) == []
    assert requested in {t["uscc"] for t in rec["targets"]}
    assert [r["task_id"] for r in await listed_by(NHC, "planned")] == [nhc_task["id"]]

    # samr's team's result, published: samr's part is covered, nhc's still planned (it has not been)
    item = plan["items"][0]
    r = await service.post(f"/tasks/{task['id']}/targets/{requested}/results", dept(SAMR), {
        "inspected_on": clock.today().isoformat(), "items": [{"item_code": item, "outcome": "no_problem"}]})
    assert r.status_code == 201, r.text
    r = await service.post(f"/tasks/{task['id']}/targets/{requested}/publication", dept(SAMR))
    assert r.status_code == 200, r.text
    assert [bool(r["covered_at"]) for r in await listed_by(SAMR, "covered")] == [True]
    assert [r["task_id"] for r in await listed_by(NHC, "planned")] == [nhc_task["id"]]
    office = [r for r in (await service.get("/requests", OFFICE, params={"state": "planned"})).json()
              if r["request_id"] == request_id]
    assert [(p["department"], p["task_id"], bool(p["covered_at"])) for p in office[0]["parts"]] == \
        [(NHC, nhc_task["id"], False), (SAMR, task["id"], True)]

    # the joint visit there, published: the request is covered for both, and for the office
    visit = (await service.get(f"/tasks/{nhc_task['id']}/targets/{requested}", OFFICE)).json()
    for part in visit["parts"]:
        r = await service.post(f"/tasks/{nhc_task['id']}/targets/{requested}/results", dept(part["department"]), {
            "inspected_on": clock.today().isoformat(),
            "items": [{"item_code": i, "outcome": "no_problem"} for i in part["items"]]})
        assert r.status_code == 201, r.text
    r = await service.post(f"/tasks/{nhc_task['id']}/targets/{requested}/publication", dept(SAMR))
    assert r.status_code == 200, r.text
    assert [bool(r["covered_at"]) for r in await listed_by(NHC, "covered")] == [True]
    covered = (await service.get("/requests", OFFICE, params={"state": "covered"})).json()
    assert any(r["request_id"] == request_id and r["covered_at"] for r in covered)

    # A later alert asks again: the result it may have reacted to does not answer it (a result counts against a
    # request only when inspected on a later day), so the next draw of the period visits the entity again.
    again = await service.request(requested, [SAMR], score=62)
    await service.producer.flush()

    async def listed_again():
        return [r for r in (await service.get("/requests", dept(SAMR), params={"state": "open"})).json()
                if r["request_id"] == again]
    await wait_until(listed_again, timeout=60, what="the second request on the must-inspect list")
    later = await service.plan(SAMR, matter["code"], industry, {"B": 0.1})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [later["id"]]})).json()
    announced = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    assert (await service.post(f"/draws/{announced['draw_id']}/perform", dept(SAMR))).status_code == 200
    targets = {t["uscc"] for t in (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]}
    assert requested in targets
    planned = (await service.get("/requests", dept(SAMR), params={"state": "planned"})).json()
    assert [r["task_id"] for r in planned if r["request_id"] == again] == [task["id"]]
