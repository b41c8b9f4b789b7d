"""Mutual recognition in a later draw of the same matter: only an item that was inspected is not inspected
again. A visit where the entity refused the team or could not be found covers nothing, and a targeted
inspection a risk alert asked for is not answered by a result from before the request."""

from __future__ import annotations

from jsp_common import clock
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import dept, wait_until

from inspection.domain import joint

from .conftest import new_industry

SAMR = "samr-410100"


async def _draw(service, matter: dict, industry: str) -> tuple[dict, dict]:
    """samr's plan drawing every entity of the industry, drawn: the task and the draw's public record, its
    members listed (from the populations' route)."""
    plan = await service.plan(SAMR, matter["code"], industry, {"D": 1.0})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [plan["id"]]})).json()
    announced = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    r = await service.post(f"/draws/{announced['draw_id']}/perform", dept(SAMR))
    assert r.status_code == 200, r.text
    return task, await service.full_record(announced["draw_id"])


async def test_a_visit_where_nothing_was_inspected_or_a_result_before_a_request_leaves_the_entity_drawn(service):
    industry = new_industry()
    usccs = [new_uscc("410102") for _ in range(4)]
    refused, not_found, inspected, ordered = await service.entities(4, industry, classes=dict.fromkeys(usccs, "D"),
                                                                    usccs=usccs)
    await service.inspectors(SAMR, 3)
    matter = await service.matter()
    item = f"{matter['code']}-S1"
    task, rec = await _draw(service, matter, industry)
    assert sorted(t["uscc"] for t in rec["targets"]) == sorted([refused, not_found, inspected, ordered])
    for uscc, outcome in ((refused, "not_cooperating"), (not_found, "not_found_at_address"),
                          (inspected, "no_problem"), (ordered, "correction_ordered")):
        r = await service.post(f"/tasks/{task['id']}/targets/{uscc}/results", dept(SAMR), {
            "inspected_on": clock.today().isoformat(), "items": [{"item_code": item, "outcome": outcome}]})
        assert r.status_code == 201, r.text

    # Later that day a risk alert asks samr to inspect the entity that refused the team, and the one inspected.
    ids = [await service.request(uscc, [SAMR], level="red", score=90) for uscc in (refused, inspected)]
    await service.producer.flush()

    async def listed():
        open_ = {r["request_id"] for r in (await service.get("/requests", dept(SAMR), params={"state": "open"})).json()}
        return set(ids) <= open_
    await wait_until(listed, timeout=60, what="the requests on samr's must-inspect list")

    # The next draw of the matter: only the item inspected without a request after it counts as done (recorded,
    # not yet published); the others are visited, the requests taken in by it.
    later, rec = await _draw(service, matter, industry)
    assert rec["recognised"] == {ordered: [item]}
    assert rec["requested"] == {refused: [SAMR], inspected: [SAMR]}
    assert sorted(t["uscc"] for t in rec["targets"]) == sorted([refused, not_found, inspected])
    assert joint.verify(rec) == []
    planned = (await service.get("/requests", dept(SAMR), params={"state": "planned"})).json()
    assert {r["request_id"]: r["task_id"] for r in planned if r["request_id"] in ids} == dict.fromkeys(ids, later["id"])

    # The visits of the later task: the entity refuses the team again; the other is inspected, the day of the
    # request. Published, neither answers its request (nothing inspected; a result of the request's own day):
    # both are open again for the next draw. They stayed planned in the ended task, on no one's list to visit.
    for uscc, outcome in ((refused, "not_cooperating"), (inspected, "no_problem")):
        r = await service.post(f"/tasks/{later['id']}/targets/{uscc}/results", dept(SAMR), {
            "inspected_on": clock.today().isoformat(), "items": [{"item_code": item, "outcome": outcome}]})
        assert r.status_code == 201, r.text
        r = await service.post(f"/tasks/{later['id']}/targets/{uscc}/publication", dept(SAMR))
        assert r.status_code == 200, r.text
    open_ = {r["request_id"]: r["task_id"] for r in (await service.get("/requests", dept(SAMR),
                                                                        params={"state": "open"})).json()}
    assert {i: open_.get(i, "not open") for i in ids} == dict.fromkeys(ids)
