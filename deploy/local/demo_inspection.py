"""The joint inspection part of `make demo`: a matter, two departments' plans, one joint task, a draw anyone
can verify, a result published, all through the gateway (called by demo.py once its registrations are in).

The market regulation bureau registers a few businesses in Zhengzhou; the office publishes a food matter led
by 郑州市市场监督管理局 with 郑州市卫生健康委员会 cooperating and its public service manual; each department
loads its inspectors and plans; the lead department merges the plans and draws; the record is replayed here;
the joint team records a result and the lead publishes it on the public feed. A second visit's results,
recorded two months ago, are left unpublished: the office sees them past their publication deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import timedelta

import httpx

from jsp_common import clock
from jsp_testkit import front_door, samples
from inspection.domain import joint

LEAD, CO = "samr-410100", "nhc-410100"


async def _in_the_directory(http: httpx.AsyncClient, office: dict, usccs: list[str], until: float) -> None:
    """Until the registry holds every one of ``usccs`` (the inspection service's replica follows it on the
    entities' topic): a draw made sooner finds only the registrations through by then."""
    waiting = set(usccs)
    while waiting and time.monotonic() < until:
        waiting = {u for u in waiting if (await http.get(f"/registry/entities/{u}", headers=office)).status_code != 200}
        if waiting:
            await asyncio.sleep(0.5)


def _ok(resp: httpx.Response, *expected: int) -> dict | list:
    if resp.status_code not in expected:
        raise RuntimeError(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {resp.text[:500]}")
    return resp.json()


async def joint_inspection(http: httpx.AsyncClient, office: dict, bureau: dict, rng: random.Random, count: int) -> dict:
    """Runs the whole story; returns what it made (task, draw, published entity) for a caller to check."""
    run = uuid.uuid4().hex[:6].upper()
    registered = []
    for _ in range(count):
        r = samples.registration(rng)
        county = rng.choice(["410102", "410103", "410104", "410105"])
        r.update(uscc=samples.new_uscc(county), division_code=county, address=f"河南省郑州市{county}号 演示路{rng.randint(1, 99)}号")
        _ok(await http.post("/ingest/registrations", headers={**bureau, "Idempotency-Key": str(uuid.uuid4())},
                            json={"type": "market.entity.registered.v1", "data": r}), 202, 200, 201)
        registered.append(r["uscc"])

    code = f"DEMO-FOOD-{run}"
    items = [{"code": f"{code}-S1", "department": LEAD, "title": "食品经营许可与进货查验"},
             {"code": f"{code}-H1", "department": CO, "title": "从业人员健康管理"}]
    _ok(await http.post("/inspection/batches", headers=office, json={
        "division_code": "410100", "title": f"郑州市重点事项 演示批次 {run}", "matters": [{
            "code": code, "name": "餐饮服务食品安全联合抽查", "domain": "food", "division_code": "410100",
            "kind": "key", "lead_department": LEAD, "cooperating_departments": [CO],
            "legal_basis": "《中华人民共和国食品安全法》", "items": items, "effective_from": "2026-01-01"}]}), 201)
    _, samr = await front_door.register_system(http, office, name=f"郑州市市场监管局 (demo {run})", roles=["department"],
                                               department=LEAD)
    _, nhc = await front_door.register_system(http, office, name=f"郑州市卫健委 (demo {run})", roles=["department"],
                                              department=CO)
    _ok(await http.put(f"/inspection/matters/{code}/manual", headers=samr, json={
        "implementing_body": "郑州市市场监督管理局、郑州市卫生健康委员会", "legal_basis": "《中华人民共和国食品安全法》",
        "measures": "双随机抽查，一次进门查多项", "rules_and_standards": "GB 31654-2021 餐饮服务通用卫生规范",
        "procedure": "抽取 → 联合检查 → 结果录入 → 20个工作日内公示", "enquiries": "12345", "complaints": "12345"}), 200)
    for who, dept in ((samr, LEAD), (nhc, CO)):
        _ok(await http.post("/inspection/inspectors", headers=who, json=[
            {"name": f"检查员{dept[:4]}{k}", "certificate_no": f"DEMO{run}{dept[:4]}{k}", "certificate_valid_until": "2030-12-31"}
            for k in range(4)]), 201)

    today = clock.today()
    period = {"period_start": (today - timedelta(days=120)).isoformat(),
              "period_end": (today + timedelta(days=60)).isoformat()}
    deadline = time.monotonic() + 60
    await _in_the_directory(http, office, registered, deadline)
    plans = {}
    for who, dept in ((samr, LEAD), (nhc, CO)):
        while True:  # until the registrations reached the inspection service's replica
            r = await http.post("/inspection/plans", headers=who, json={
                "matter_code": code, **period, "ratios": {"B": 0.2, "C": 0.5, "D": 1.0}})
            if r.status_code == 201 or time.monotonic() > deadline:
                plans[dept] = _ok(r, 201)
                break
            await asyncio.sleep(1)
    task = _ok(await http.post("/inspection/tasks", headers=samr, json={"plan_ids": [p["id"] for p in plans.values()]}), 201)
    announced = _ok(await http.post(f"/inspection/tasks/{task['id']}/draws", headers=samr), 201)
    print(f"\njoint inspection (汇总取重) {task['id']}: seed hash published first {announced['seed_hash'][:16]}…")
    _ok(await http.post(f"/inspection/draws/{announced['draw_id']}/perform", headers=samr), 200)
    public = f"/inspection/public/draws/{announced['draw_id']}"
    record = _ok(await http.get(public), 200)["record"]
    kept = {}
    for pop in record["populations"]:  # each population's members, served apart (the bytes its digest hashes)
        r = (await http.get(f"{public}/populations/{pop['population']}/{pop['credit_class']}")).raise_for_status()
        kept[(pop["population"], pop["credit_class"])] = r.content
    print(f"  replayed from the public record: {'identical' if joint.verify(record, kept) == [] else 'DIFFERENT'}; "
          f"{sum(s['size'] for s in record['plans'][0]['strata'])} candidates, {len(record['targets'])} visits")
    for t in record["targets"][:8]:
        print(f"  {t['uscc']}  {' + '.join(p['department'] for p in t['parts']):<24} team {', '.join(t['inspectors'])}")
    shared = next((t for t in record["targets"] if len(t["parts"]) == 2), record["targets"][0])
    departments = {LEAD: samr, CO: nhc}
    for part in shared["parts"]:  # each department of the visit records its own items
        _ok(await http.post(f"/inspection/tasks/{task['id']}/targets/{shared['uscc']}/results",
                            headers=departments[part["department"]], json={
                                "inspected_on": today.isoformat(),
                                "items": [{"item_code": c, "outcome": "no_problem"} for c in part["items"]]}), 201)
    _ok(await http.post(f"/inspection/tasks/{task['id']}/targets/{shared['uscc']}/publication", headers=samr), 200)
    print(f"  result of {shared['uscc']} published: GET /inspection/public/results; manual: "
          f"GET /inspection/public/matters/{code}/manual.html (no login)")
    late = next((t for t in record["targets"] if t["uscc"] != shared["uscc"]), None)
    if late is not None:
        for part in late["parts"]:
            recorded = _ok(await http.post(
                f"/inspection/tasks/{task['id']}/targets/{late['uscc']}/results", headers=departments[part["department"]],
                json={"inspected_on": (today - timedelta(days=60)).isoformat(),
                      "items": [{"item_code": i, "outcome": "correction_ordered", "note": "演示：整改后复查"}
                                for i in part["items"]]}), 201)
        print(f"  result of {late['uscc']} recorded, to be published by {recorded['due_on']}: not yet (逾期未公示)")
    return {"matter_code": code, "task": task, "draw_id": announced["draw_id"], "published": shared["uscc"],
            "unpublished": late["uscc"] if late else None, "departments": departments}
