"""Two departments' overlapping plans become one joint inspection per shared entity covering both
departments' items; the draw replays from its published record; a conflicted inspector is never drawn;
each department gets its part on its own topic; another department sees none of it (404)."""

from __future__ import annotations

import contextlib
import io
import json

from jsp_common import clock, topics
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail

from inspection.__main__ import main as cli
from inspection.domain import draw, joint

from .conftest import new_industry

SAMR, NHC, OTHER = "samr-410100", "nhc-410100", "samr-410200"


async def test_overlapping_plans_make_one_joint_visit_per_entity_replayable_from_the_record(service, bootstrap, tmp_path):
    industry = new_industry()
    usccs = await service.entities(40, industry, classes={u: "D" for u in []})
    conflicted_everywhere = await service.inspectors(SAMR, 3, conflicts=usccs)
    await service.inspectors(NHC, 3)
    matter = await service.matter()
    p1 = await service.plan(SAMR, matter["code"], industry, {"B": 0.2})
    p2 = await service.plan(NHC, matter["code"], industry, {"B": 0.15})
    assert p1["items"] == [f"{matter['code']}-S1"] and p2["items"] == [f"{matter['code']}-NHC1"]

    # Only the lead department (or the office) merges the plans.
    assert (await service.post("/tasks", dept(NHC), {"plan_ids": [p1["id"], p2["id"]]})).status_code == 403
    r = await service.post("/tasks", dept(SAMR), {"plan_ids": [p1["id"], p2["id"]]})
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["lead_department"] == SAMR and task["departments"] == [NHC, SAMR]

    async with tail(bootstrap, topics.INSPECTION_DRAWS, f"dept.{SAMR}.inspections.v1", f"dept.{NHC}.inspections.v1") as t:
        announced = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
        assert "seed" not in announced
        assert (await service.get(f"/public/draws/{announced['draw_id']}")).json()["seed_hash"] == announced["seed_hash"]
        r = await service.post(f"/draws/{announced['draw_id']}/perform", dept(SAMR))
        assert r.status_code == 200, r.text
        assert draw.seed_hash(r.json()["seed"]) == announced["seed_hash"]
        first = (await t.wait_for(of_type("inspection.draw.announced.v1", task_id=task["id"])))[0]
        performed = (await t.wait_for(of_type("inspection.draw.performed.v1", task_id=task["id"])))[0]
        assert first.offset < performed.offset  # the seed's hash went out before the result
        def part_of(topic: str):
            return lambda m: m.topic == topic and of_type("inspection.task.assigned.v1", task_id=task["id"])(m)
        await t.wait_for(part_of(f"dept.{SAMR}.inspections.v1"), what="samr's part")
        first_nhc = (await t.wait_for(part_of(f"dept.{NHC}.inspections.v1"), what="nhc's part"))[0].envelope.data
        nhc_parts = await t.wait_for(part_of(f"dept.{NHC}.inspections.v1"), count=first_nhc["parts"])

    detail = (await service.get(f"/tasks/{task['id']}", OFFICE)).json()
    targets = detail["targets"]
    assert len({x["uscc"] for x in targets}) == len(targets)  # one visit per entity
    shared = [x for x in targets if len(x["departments"]) == 2]
    assert shared, "one seed ranks an entity alike in both plans: the samples overlap"
    for x in shared:
        assert {p["department"]: p["items"] for p in x["parts"]} == {SAMR: p1["items"], NHC: p2["items"]}
        assert len(x["inspectors"]) >= 2
    sampled = 8 + 6  # 20% and 15% of 40 unrated (class B) entities
    assert len(targets) == sampled - len(shared)
    # nhc's part, in messages of at most 5 targets (max_targets_per_assignment), covers its entities once.
    nhc_targets = [x for m in nhc_parts for x in m.envelope.data["targets"]]
    assert sorted(m.envelope.data["part"] for m in nhc_parts) == list(range(1, first_nhc["parts"] + 1))
    assert all(len(m.envelope.data["targets"]) <= 5 for m in nhc_parts)
    assert sorted(x["uscc"] for x in nhc_targets) == sorted(x["uscc"] for x in targets if NHC in x["departments"])
    assert all(x["items"] == p2["items"] and x["inspectors"] for x in nhc_targets)

    # The conflicted inspector is never drawn.
    drawn = {i for x in targets for i in x["inspectors"]}
    assert conflicted_everywhere[0]["id"] not in drawn

    # Anyone can replay the draw from what was published (the record, its populations' members), here and with the
    # command (a record kept with its members in it, offline).
    rec, kept = await service.record(announced["draw_id"])
    assert joint.verify(rec, kept) == []
    assert [t_["uscc"] for t_ in rec["targets"]] == [x["uscc"] for x in targets]
    assert {s["digest"] for s in performed.envelope.data["strata"]} == {s["digest"] for p in rec["plans"] for s in p["strata"]}
    rec = await service.full_record(announced["draw_id"])
    path = tmp_path / "record.json"
    path.write_text(json.dumps(rec))
    assert cli(["verify", str(path)]) == 0
    rec["targets"][0]["inspectors"].reverse()
    path.write_text(json.dumps(rec))
    assert cli(["verify", str(path)]) == 1

    # A draw cannot be silently re-run: a second one needs the first abandoned, on the record.
    assert (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).status_code == 409

    # Another department sees none of it.
    other = dept(OTHER)
    assert (await service.get(f"/tasks/{task['id']}", other)).status_code == 404
    assert (await service.get(f"/plans/{p2['id']}", dept(SAMR))).status_code == 404
    assert (await service.get(f"/plans/{p1['id']}", other)).status_code == 404
    assert (await service.get(f"/inspectors/{conflicted_everywhere[1]['id']}", dept(NHC))).status_code == 404
    assert (await service.post(f"/draws/{announced['draw_id']}/abandon", other, {"reason": "x"})).status_code == 404
    assert task["id"] not in {x["id"] for x in (await service.get("/tasks", other)).json()}
    # Nor learns that another department's plan exists by naming it for a task: answered as a plan that does not
    # exist (it was a 409: "already in a joint task", or "the lead department's own plan is part of ...").
    free = await service.plan(NHC, matter["code"], industry, {"B": 0.15})
    for who, plan_id in ((other, p2["id"]), (dept(SAMR), free["id"]), (dept(NHC), p1["id"]),
                         (dept(SAMR), "PL-000000000000")):
        r = await service.post("/tasks", who, {"plan_ids": [plan_id]})
        assert r.status_code == 404 and r.json()["detail"] == f"no plan {plan_id}", r.text
    # With a plan of its own, a department not of the lead agency is told so before anything about the others.
    r = await service.post("/tasks", dept(NHC), {"plan_ids": [free["id"], p1["id"]]})
    assert r.status_code == 403 and "merges the plans" in r.json()["detail"], r.text
    assert task["id"] in {x["id"] for x in (await service.get("/tasks", dept(NHC))).json()}
    # Nor does a department of the task see an entity it does not inspect.
    samr_only = next(x["uscc"] for x in targets if x["departments"] == [SAMR])
    assert (await service.get(f"/tasks/{task['id']}/targets/{samr_only}", dept(NHC))).status_code == 404
    assert (await service.get(f"/tasks/{task['id']}/targets/{samr_only}", dept(SAMR))).status_code == 200
    assert (await service.get(f"/tasks/{task['id']}/targets/{shared[0]['uscc']}", dept(NHC))).status_code == 200
    # Nor learns which entities were drawn for the others by recording results: such an entity is answered as one
    # not drawn (it was a 403, a not-drawn one a 404: the difference told which USCCs samr inspects).
    not_drawn = next(u for u in usccs if u not in {x["uscc"] for x in targets})
    result = {"inspected_on": clock.today().isoformat(),
              "items": [{"item_code": p2["items"][0], "outcome": "no_problem"}]}
    for uscc in (samr_only, not_drawn):
        r = await service.post(f"/tasks/{task['id']}/targets/{uscc}/results", dept(NHC), result)
        assert r.status_code == 404, r.text
        assert (r.json()["detail"], r.json()["errors"]) == (
            f"entity {uscc} was not drawn in joint task {task['id']}: no result can be recorded for it",
            [{"field": "uscc", "reason": "not a target of this task"}]), r.text


async def test_the_lead_lists_every_entity_of_its_task_those_it_does_not_inspect_too(service):
    """The lead publishes every target's results, but its task listed only the entities it inspects itself."""
    industry = new_industry()
    await service.entities(20, industry)
    await service.inspectors(SAMR, 2)
    await service.inspectors(NHC, 2)
    matter = await service.matter()
    p1 = await service.plan(SAMR, matter["code"], industry, {"B": 0.05})
    p2 = await service.plan(NHC, matter["code"], industry, {"B": 0.2})  # one seed ranks alike: samr's 1 among these 4
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p1["id"], p2["id"]]})).json()
    await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))
    draw_id = (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["draws"][0]["id"]
    assert (await service.post(f"/draws/{draw_id}/perform", dept(SAMR))).status_code == 200
    every = {x["uscc"] for x in (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]}
    led = {x["uscc"] for x in (await service.get(f"/tasks/{task['id']}", dept(SAMR))).json()["targets"]}
    inspected = (await service.get(f"/tasks/{task['id']}", dept(NHC))).json()["targets"]
    assert len(every) == 4 and led == every
    assert {x["uscc"] for x in inspected} == every and all(NHC in x["departments"] for x in inspected)


def test_a_draw_recorded_in_an_earlier_run_still_replays_identically():
    """The record of a draw made through the service in an earlier run (kept in tests/integration/data)."""
    from pathlib import Path

    rec = json.loads((Path(__file__).parent / "data" / "earlier_draw.json").read_text())
    assert joint.verify(rec) == []
    assert joint.replay(rec)["targets"] == rec["targets"]


async def test_a_roster_loaded_again_keeps_the_conflicts_and_deactivations_it_does_not_give(service):
    """The department's roster file (name, certificate, validity) loaded again, as JSON and as CSV: an inspector's
    declared conflict and another's deactivation stay (they were erased and reactivated: both were then drawn for
    the entity); a new inspector in the same file takes the defaults; conflicts given as [] are cleared."""
    pingdingshan = "samr-410400"
    industry, uscc = new_industry(), new_uscc("410402")
    await service.entities(1, industry, division="410402", usccs=[uscc], classes={uscc: "D"})
    await service.retire_inspectors(pingdingshan)
    conflicted, free, retired = await service.inspectors(pingdingshan, 3)
    r = await service.client.patch(f"/inspectors/{conflicted['id']}", headers=OFFICE, json={"conflicts": [uscc]})
    assert r.status_code == 200
    r = await service.client.patch(f"/inspectors/{retired['id']}", headers=OFFICE, json={"active": False})
    assert r.status_code == 200
    roster = [{k: i[k] for k in ("name", "certificate_no")} | {"certificate_valid_until": "2031-12-31"}
              for i in (conflicted, free, retired)]
    r = await service.post("/inspectors", dept(pingdingshan), roster)
    assert r.status_code == 201, r.text
    csv = "name,certificate_no,certificate_valid_until,fields,conflicts,active\n" + "".join(
        f"{x['name']},{x['certificate_no']},2031-12-31,食品,,\n" for x in roster) + f"新人,NEW-{uscc},2031-12-31,,,\n"
    r = await service.post("/inspectors", dept(pingdingshan), content=csv.encode(),
                           headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    after = {i["id"]: i for i in r.json()}
    assert after[conflicted["id"]]["conflicts"] == [uscc] and after[conflicted["id"]]["active"]
    assert not after[retired["id"]]["active"] and after[retired["id"]]["conflicts"] == []
    assert all(after[i["id"]]["fields"] == ["食品"] and after[i["id"]]["certificate_valid_until"] == "2031-12-31"
               for i in (conflicted, free, retired))
    new = next(i for i in r.json() if i["certificate_no"] == f"NEW-{uscc}")
    assert (new["active"], new["conflicts"], new["fields"]) == (True, [], [])
    r = await service.client.patch(f"/inspectors/{new['id']}", headers=OFFICE, json={"active": False})
    assert r.status_code == 200

    # Two go to every entity: only one can go to this one (the other conflicted, the third inactive).
    matter = await service.matter(lead=pingdingshan, co=(), division="410400")
    plan = await service.plan(pingdingshan, matter["code"], industry, {"D": 1.0})
    task = (await service.post("/tasks", dept(pingdingshan), {"plan_ids": [plan["id"]]})).json()
    d = (await service.post(f"/tasks/{task['id']}/draws", dept(pingdingshan))).json()
    r = await service.post(f"/draws/{d['draw_id']}/perform", dept(pingdingshan))
    assert r.status_code == 409 and r.json()["refusal"]["conflicted"] == 1, r.text
    # The refusal is on the public record with the draw's inputs, which replay to the same refusal.
    answer = (await service.get(f"/public/draws/{d['draw_id']}")).json()
    assert answer["status"] == "refused" and answer["record"]["refused"] == answer["reason"]
    assert answer["record"]["refusal"] == {"uscc": uscc, "department": pingdingshan, "needed": 2, "available": 1}
    rec, kept = await service.record(d["draw_id"])
    assert rec["targets"] == [] and rec["populations"] == [
        {"population": 0, "credit_class": "D", "size": 1, "digest": draw.snapshot([uscc]).digest}]
    assert kept == {(0, "D"): uscc.encode()} and joint.verify(rec, kept) == []

    # Conflicts given (here: none) are what the inspector has from then on.
    r = await service.post("/inspectors", dept(pingdingshan), [{**roster[0], "conflicts": []}])
    assert r.status_code == 201 and r.json()[0]["conflicts"] == [], r.text


async def test_a_performed_draw_abandoned_is_told_to_every_department_on_its_own_topic(service, bootstrap):
    """The departments' line systems read only their own topic, where their part of the draw came: the
    abandonment went only to inspection.draws.v1, and the visits they were assigned stayed live there."""
    industry = new_industry()
    classes = {new_uscc("410102"): "D" for _ in range(2)}
    await service.entities(2, industry, usccs=list(classes), classes=classes)
    await service.inspectors(SAMR, 2)
    await service.inspectors(NHC, 2)
    matter = await service.matter()
    plans = [await service.plan(d, matter["code"], industry, {"D": 1.0}) for d in (SAMR, NHC)]
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p["id"] for p in plans]})).json()
    d = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    own = {dep: topics.department_topic(topics.DEPARTMENT_INSPECTIONS, dep) for dep in (SAMR, NHC)}
    async with tail(bootstrap, topics.INSPECTION_DRAWS, *own.values()) as t:
        assert (await service.post(f"/draws/{d['draw_id']}/perform", dept(SAMR))).status_code == 200
        parts = await t.wait_for(of_type("inspection.task.assigned.v1", draw_id=d["draw_id"]), count=2)
        assert sorted(m.topic for m in parts) == sorted(own.values())
        r = await service.post(f"/draws/{d['draw_id']}/abandon", dept(SAMR), {"reason": "抽取范围有误"})
        assert r.status_code == 200, r.text
        told = await t.wait_for(of_type("inspection.draw.abandoned.v1", draw_id=d["draw_id"]), count=3)
    assert sorted(m.topic for m in told) == sorted([topics.INSPECTION_DRAWS, *own.values()])
    assert all(m.envelope.data["status"] == "abandoned" and m.key == task["id"] for m in told)
    assert all(m.offset > p.offset for m in told for p in parts if p.topic == m.topic)   # after the part


async def test_an_abandoned_draw_replays_from_its_public_record(service, tmp_path):
    """Every draw, kept or not, is on the record: an abandoned draw's public answer says so and holds the record
    with the discarded targets, which the verify command replays; a draw abandoned before it was performed has
    none (only its seed and reason)."""
    industry = new_industry()
    classes = {new_uscc("410102"): "D" for _ in range(3)}
    await service.entities(3, industry, usccs=list(classes), classes=classes)
    await service.inspectors(SAMR, 2)
    matter = await service.matter()
    plan = await service.plan(SAMR, matter["code"], industry, {"D": 1.0})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [plan["id"]]})).json()
    d = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    assert (await service.post(f"/draws/{d['draw_id']}/perform", dept(SAMR))).status_code == 200
    drawn = (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]
    r = await service.post(f"/draws/{d['draw_id']}/abandon", dept(SAMR), {"reason": "抽取范围有误"})
    assert r.status_code == 200, r.text
    assert (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"] == []

    answer = (await service.get(f"/public/draws/{d['draw_id']}")).json()
    assert (answer["status"], answer["reason"]) == ("abandoned", "抽取范围有误")
    rec = await service.full_record(d["draw_id"])
    assert [t["uscc"] for t in rec["targets"]] == [x["uscc"] for x in drawn]
    assert sorted(x["uscc"] for x in drawn) == sorted(classes)
    assert {s["credit_class"]: sorted(s["members"]) for s in rec["plans"][0]["strata"]}["D"] == sorted(classes)
    assert joint.verify(rec) == []
    path = tmp_path / "abandoned.json"
    path.write_text(json.dumps({**answer, "record": rec}))
    with contextlib.redirect_stdout(io.StringIO()) as said:
        assert cli(["verify", str(path)]) == 0
    assert "verified" in said.getvalue() and "abandoned" in said.getvalue()

    # The next draw, abandoned before it is performed: its seed and reason, nothing to replay.
    again = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    r = await service.post(f"/draws/{again['draw_id']}/abandon", dept(SAMR), {"reason": "重新抽取"})
    assert r.status_code == 200, r.text
    answer = (await service.get(f"/public/draws/{again['draw_id']}")).json()
    assert answer["status"] == "abandoned" and "record" not in answer and answer["seed"]
    path.write_text(json.dumps(answer))
    assert cli(["verify", str(path)]) == 2
