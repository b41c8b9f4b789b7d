"""Bad input: a clear problem+json error with field-level reasons, and nothing half-written."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from inspection.adapters.tables import draws, inspectors, matter_batches, matters, plans, results, targets, tasks

from jsp_common import clock
from jsp_common.messaging_tables import http_answers
from jsp_testkit.testing import OFFICE, dept, unique

from .conftest import new_industry

SAMR, NHC = "samr-410100", "nhc-410100"
PROBLEM = "application/problem+json"


async def _count(service, table, *where) -> int:
    async with service.deps.db.transaction() as s:
        return int((await s.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


def _fields(r) -> set[str]:
    assert r.headers["content-type"].startswith(PROBLEM), r.text
    return {e["field"] for e in r.json()["errors"]}


async def test_a_batch_with_an_unknown_department_is_refused_whole(service):
    before = (await _count(service, matter_batches), await _count(service, matters))
    good = {"code": "GOODM1", "name": "燃气安全", "domain": "gas", "division_code": "410100", "kind": "key",
            "lead_department": "mem-410100", "items": [{"code": "G1", "department": "mem-410100"}],
            "effective_from": "2026-01-01"}
    bad = {**good, "code": "BADM1", "cooperating_departments": ["abc-410100"]}
    r = await service.post("/batches", OFFICE, {"division_code": "410100", "title": "第二批", "matters": [good, bad]})
    assert r.status_code == 422
    assert _fields(r) == {"body.matters.1.cooperating_departments.0"}  # the published enumeration of departments
    assert (await _count(service, matter_batches), await _count(service, matters)) == before
    # Luoyang's batch naming Zhengzhou's matter by its code: refused (it became a version of it, moved to
    # Luoyang's list, and Zhengzhou's departments lost it)
    zhengzhou = await service.matter()
    before = (await _count(service, matter_batches), await _count(service, matters))
    luoyang = {**good, "code": zhengzhou["code"], "division_code": "410300", "lead_department": "mem-410300",
               "items": [{"code": "G1", "department": "mem-410300"}], "effective_from": "2026-06-01"}
    r = await service.post("/batches", OFFICE, {"division_code": "410300", "title": "第一批", "matters": [luoyang]})
    assert r.status_code == 409 and r.json()["rejected"][0]["errors"][0]["field"] == "code", r.text
    assert (await _count(service, matter_batches), await _count(service, matters)) == before

    first = unique("CSV").replace(".", "-")
    csv = ("code,name,domain,division_code,kind,lead_department,cooperating_departments,legal_basis,items,effective_from\n"
           f"{first},特种设备,special_equipment,410100,key,samr-410100,,《特种设备安全法》,E1:samr-410100:电梯,2026-01-01\n"
           "CSV2,药品,drugs,410100,key,samr-410100,zz-410100,,D1:samr-410100:x,2026-13-01\n")
    r = await service.post("/batches/file", OFFICE, content=csv.encode(), headers={"content-type": "text/csv"},
                           params={"division_code": "410100", "title": "第三批"})
    assert r.status_code == 422, r.text
    assert {x["row"] for x in r.json()["rejected"]} == {3} and r.json()["accepted"][0]["code"] == first
    assert (await _count(service, matters)) == before[1]
    ok = await service.post("/batches/file", OFFICE, content=csv.splitlines(keepends=True)[0].encode()
                            + csv.splitlines(keepends=True)[1].encode(), headers={"content-type": "text/csv"},
                            params={"division_code": "410100", "title": "第三批"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["accepted"] == [{"row": 2, "code": first, "version": 1}]
    # a row whose code no matter can have (a NUL byte, in a JSON file) is refused like the others (it was a 500)
    r = await service.post("/batches/file", OFFICE, json=[{**good, "code": "NUL\u0000M"}],
                           params={"division_code": "410100", "title": "第四批"})
    assert r.status_code == 422 and "code" in {e["field"] for e in r.json()["rejected"][0]["errors"]}, r.text
    assert r.json()["rejected"][0]["code"] is None



async def test_a_batch_file_of_more_matters_than_a_batch_holds_is_refused_before_anything_is_locked(service):
    """The file route had no row limit (the JSON route's is 2000) and locked every row's code before checking any:
    an 80,000-line CSV overflowed PostgreSQL's lock table, answered 503, so a retry never succeeded. More than
    2000 matters is a 422 naming the limit, as CSV and as JSON; 2000 are checked as before."""
    prefix = unique("MANY").replace(".", "-")[:30]
    header = ("code,name,domain,division_code,kind,lead_department,cooperating_departments,legal_basis,items,"
              "effective_from\n")
    lines = [f"{prefix}-{n},特种设备,special_equipment,410100,key,{SAMR},,,E1:{SAMR}:电梯,2026-01-01\n"
             for n in range(2001)]
    query = {"division_code": "410100", "title": "第七批"}
    before = (await _count(service, matter_batches), await _count(service, matters))
    r = await service.post("/batches/file", OFFICE, content=(header + "".join(lines)).encode(), params=query,
                           headers={"content-type": "text/csv"})
    assert r.status_code == 422 and _fields(r) == {"file"}, r.text[:500]
    assert "more than 2000 matters" in r.json()["detail"]
    one = {"code": prefix, "name": "特种设备", "domain": "special_equipment", "division_code": "410100",
           "kind": "key", "lead_department": SAMR, "items": [{"code": "E1", "department": SAMR}],
           "effective_from": "2026-01-01"}
    r = await service.post("/batches/file", OFFICE, json={"matters": [one] * 2001}, params=query)
    assert r.status_code == 422 and "more than 2000 matters" in r.json()["detail"], r.text[:500]
    assert (await _count(service, matter_batches), await _count(service, matters)) == before
    r = await service.post("/batches/file", OFFICE, content=(header + "".join(lines[:2000])).encode(),
                           params={**query, "dry_run": "true"}, headers={"content-type": "text/csv"})
    assert r.status_code == 201 and len(r.json()["accepted"]) == 2000, r.text[:500]


async def test_a_city_matter_led_by_another_city_s_department_is_refused_with_the_department_named(service):
    """A Zhengzhou matter led by Luoyang's bureau was published: Zhengzhou's own departments were refused when they
    planned, and the public manual named the wrong bureau. Refused now, as a file's row and as JSON, the department
    named; the same row led by Zhengzhou's bureau is published."""
    code = unique("CITY").replace(".", "-")[:30]
    header = ("code,name,domain,division_code,kind,lead_department,cooperating_departments,legal_basis,items,"
              "effective_from\n")
    row = "{code},特种设备,special_equipment,410100,key,{lead},,,E1:{lead}:电梯,2026-01-01\n"
    query = {"division_code": "410100", "title": "第八批"}
    before = (await _count(service, matter_batches), await _count(service, matters))
    luoyang = header + row.format(code=code, lead="samr-410300")
    r = await service.post("/batches/file", OFFICE, content=luoyang.encode(), params=query,
                           headers={"content-type": "text/csv"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), r.text
    [rejected] = r.json()["rejected"]
    assert rejected["row"] == 2 and rejected["code"] == code
    assert [e["field"] for e in rejected["errors"]] == ["lead_department"]
    assert "samr-410300" in rejected["errors"][0]["reason"] and "410100" in rejected["errors"][0]["reason"]
    assert (await _count(service, matter_batches), await _count(service, matters)) == before
    matter = {"code": code, "name": "特种设备", "domain": "special_equipment", "division_code": "410100", "kind": "key",
              "lead_department": "samr-410000", "items": [{"code": "E1", "department": "samr-410000"}],
              "effective_from": "2026-01-01"}
    r = await service.post("/batches", OFFICE, {**query, "matters": [matter]})
    assert r.status_code == 422 and _fields(r) == {"rows[1].lead_department"}, r.text
    assert "samr-410000" in r.json()["errors"][0]["reason"]
    assert (await _count(service, matter_batches), await _count(service, matters)) == before

    ok = await service.post("/batches/file", OFFICE, content=(header + row.format(code=code, lead=SAMR)).encode(),
                            params=query, headers={"content-type": "text/csv"})
    assert ok.status_code == 201 and ok.json()["accepted"] == [{"row": 2, "code": code, "version": 1}], ok.text


async def test_an_inspector_file_without_the_needed_columns_is_refused(service):
    before = await _count(service, inspectors)
    for body in ("{}", "name,certificate_no\n张三,C-1\n"):
        r = await service.post("/inspectors", dept(SAMR), content=body.encode(), headers={"content-type": "text/csv"})
        assert r.status_code == 422 and _fields(r) == {"body"}, r.text
        assert "certificate_valid_until" in r.json()["detail"]
    assert await _count(service, inspectors) == before

async def test_a_file_in_the_charset_its_content_type_names_is_read_and_one_not_utf8_without_it_refused(service):
    """Excel's CSV on a Chinese Windows is GBK: it was stored as U+FFFD ("����"), inspectors' names and a published
    batch's matter names, with 201 (a version is never rewritten). The charset named is honoured; bytes that are not
    UTF-8 with none named are refused (422), a charset not known too (415), nothing written."""
    cert = unique("GBK").replace(".", "-")
    roster = f"name,certificate_no,certificate_valid_until\n张三丰,{cert},2030-12-31\n".encode("gbk")
    before = await _count(service, inspectors)
    for content_type, status in (("text/csv", 422), ("text/csv; charset=x-klingon", 415)):
        r = await service.post("/inspectors", dept(SAMR), content=roster, headers={"content-type": content_type})
        assert r.status_code == status and _fields(r) == ({"body"} if status == 422 else {"content-type"}), r.text
    assert "UTF-8" in r.json()["detail"] or "charset" in r.json()["detail"]
    assert await _count(service, inspectors) == before
    r = await service.post("/inspectors", dept(SAMR), content=roster, headers={"content-type": "text/csv; charset=GBK"})
    assert r.status_code == 201 and r.json()[0]["name"] == "张三丰", r.text

    code = unique("GBKM").replace(".", "-")
    batch = ("code,name,domain,division_code,kind,lead_department,cooperating_departments,legal_basis,items,"
             f"effective_from\n{code},特种设备安全检查,special_equipment,410100,key,samr-410100,,《特种设备安全法》,"
             "E1:samr-410100:电梯,2026-01-01\n").encode("gb18030")
    query = {"division_code": "410100", "title": "第六批"}
    before = await _count(service, matters)
    r = await service.post("/batches/file", OFFICE, content=batch, headers={"content-type": "text/csv"}, params=query)
    assert r.status_code == 422 and "save it as UTF-8, or name its charset" in r.json()["detail"], r.text
    assert await _count(service, matters) == before
    r = await service.post("/batches/file", OFFICE, content=batch, params=query,
                           headers={"content-type": 'text/csv; charset="gb18030"'})
    assert r.status_code == 201, r.text
    assert (await service.get(f"/matters/{code}", OFFICE)).json()[0]["name"] == "特种设备安全检查"
    # UTF-8 with a BOM, as JSON too
    r = await service.post("/inspectors", dept(SAMR), headers={"content-type": "application/json"},
                           content=b"\xef\xbb\xbf" + json.dumps([{"name": "李四", "certificate_no": cert + "-2",
                                                                 "certificate_valid_until": "2030-12-31"}]).encode())
    assert r.status_code == 201 and r.json()[0]["name"] == "李四", r.text


async def test_a_whole_roster_loads_in_one_request_and_a_file_nested_too_deep_is_refused(service):
    """Thousands of inspectors in one load (from 3,277 on, the load passed a statement's 32,767 parameters and
    answered 503 again and again); JSON nested deeper than the parser goes is a 422 (it was a 500)."""
    roster = [{"department": "samr-411600", "name": f"检查员{n}", "certificate_no": f"ZK-{n:05d}",
               "certificate_valid_until": "2030-12-31", "fields": ["食品"]} for n in range(3300)]
    r = await service.post("/inspectors", OFFICE, roster)
    assert r.status_code == 201 and len(r.json()) == 3300, r.text[:500]
    assert (r.json()[3299]["certificate_no"], r.json()[3299]["fields"]) == ("ZK-03299", ["食品"])
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    for path in ("/inspectors", "/batches/file"):
        r = await service.post(path, OFFICE, content=deep, headers={"content-type": "application/json"},
                               params={"division_code": "410100", "title": "第五批"})
        assert r.status_code == 422, (path, r.status_code)


THIS_YEAR = {"period_start": f"{clock.today().year}-01-01", "period_end": f"{clock.today().year}-12-31"}


async def test_a_plan_whose_filter_matches_no_entity_is_refused(service):
    matter = await service.matter()
    before = await _count(service, plans)
    r = await service.post("/plans", dept(SAMR), {"matter_code": matter["code"], **THIS_YEAR,
                                                   "filter": {"industry_code": "0000"}})
    assert r.status_code == 422 and _fields(r) == {"body.filter.industry_code"}  # no such industry
    # a real industry nobody in the directory is in: the directory's state refuses it (409)
    r = await service.post("/plans", dept(SAMR), {"matter_code": matter["code"], **THIS_YEAR,
                                                   "filter": {"industry_code": new_industry()}, "ratios": {"B": 0.1}})
    assert r.status_code == 409 and _fields(r) == {"filter"}
    assert "matches no entity" in r.json()["detail"]
    r = await service.post("/plans", dept(SAMR), {"matter_code": matter["code"], **THIS_YEAR,
                                                   "ratios": {"A": 0.06, "D": 0.3}})
    assert r.status_code == 409 and _fields(r) == {"ratios.A", "ratios.D"}  # outside the bands (the service's data)
    assert await _count(service, plans) == before


async def test_a_general_matter_s_ratios_are_set_up_to_its_cap_and_one_above_it_is_refused_with_the_reason(service):
    """A general matter's classes C and D are capped below their bands (0.2 < 0.21): the published bounds (the
    bands) refused C = 0.2 (422, "at least 0.21") and the service C = 0.21 (409), so no ratio could be named."""
    industry = new_industry()
    await service.entities(2, industry)
    matter = await service.matter(kind="general", co=())
    plan = await service.plan(SAMR, matter["code"], industry, {"B": 0.05, "C": 0.2, "D": 0.2})
    assert plan["ratios"] == {"A": "0", "B": "0.05", "C": "0.2", "D": "0.2"}
    before = await _count(service, plans)
    r = await service.post("/plans", dept(SAMR), {"matter_code": matter["code"], **THIS_YEAR,
                                                   "filter": {"industry_code": industry}, "ratios": {"C": 0.21}})
    assert r.status_code == 409 and _fields(r) == {"ratios.C"}, r.text
    assert r.json()["errors"][0]["reason"] == ("0.21: class C's ratio on a general matter is 0.2 (its band "
                                               "0.21–0.60 capped at 0.2: a general matter's cap wins over the band)")
    r = await service.post("/plans", dept(SAMR), {"matter_code": matter["code"], **THIS_YEAR,
                                                   "filter": {"industry_code": industry}, "ratios": {"C": 1.2}})
    assert r.status_code == 422 and _fields(r) == {"body.ratios.C"}, r.text    # no ratio is above 1
    assert await _count(service, plans) == before


async def test_a_task_with_a_province_and_a_city_department_of_one_agency_is_refused(service):
    """Under a province matter a city department of the lead agency carries out the province's items: both in one
    task would inspect the same items twice, and which of them led depended on their plans' ids."""
    industry = new_industry()
    await service.entities(2, industry)
    matter = await service.matter(lead="samr-410000", co=("nhc-410000",), division="410000")
    ps = [await service.plan(d, matter["code"], industry, {"B": 0.2}) for d in ("samr-410000", SAMR, NHC)]
    before = await _count(service, tasks)
    r = await service.post("/tasks", OFFICE, {"plan_ids": [p["id"] for p in ps]})
    assert r.status_code == 409 and r.json()["errors"] == [{"field": "plan_ids", "reason": (
        "one plan per agency: samr-410000, samr-410100 carry out the same items of the matter (a joint task for "
        "each)")}], r.text
    assert await _count(service, tasks) == before
    for own in (ps[0], ps[1]):  # each with the other departments' plans: led by its samr department
        r = await service.post("/tasks", OFFICE, {"plan_ids": [own["id"]] + ([ps[2]["id"]] if own is ps[0] else [])})
        assert r.status_code == 201 and r.json()["lead_department"] == own["department"], r.text


async def test_an_inspector_pool_too_small_refuses_the_draw_on_the_record_without_targets(service):
    luoyang = "samr-410300"
    industry = new_industry()
    usccs = await service.entities(5, industry, division="410302")
    await service.retire_inspectors(luoyang)
    await service.inspectors(luoyang, 1)          # two needed per entity: one is not enough
    matter = await service.matter(lead=luoyang, co=(), division="410300")
    p = await service.plan(luoyang, matter["code"], industry, {"B": 0.2})
    task = (await service.post("/tasks", dept(luoyang), {"plan_ids": [p["id"]]})).json()
    d = (await service.post(f"/tasks/{task['id']}/draws", dept(luoyang))).json()
    r = await service.post(f"/draws/{d['draw_id']}/perform", dept(luoyang))
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["refusal"]["needed"] == 2 and body["refusal"]["department"] == luoyang
    assert "needs 2 inspector(s) of samr-410300 but only 1 can go" in body["detail"]
    assert await _count(service, targets, targets.c.task_id == task["id"]) == 0
    public = (await service.get(f"/public/draws/{d['draw_id']}")).json()
    assert public["status"] == "refused" and "needs 2" in public["reason"] and len(public["seed"]) == 64
    # The refusal stays on the record; a new draw may be announced for the task.
    assert (await service.post(f"/tasks/{task['id']}/draws", dept(luoyang))).status_code == 201
    assert await _count(service, draws, draws.c.task_id == task["id"]) == 2
    assert len(usccs) == 5


async def test_no_plan_task_or_draw_for_a_period_that_has_ended_and_nothing_written(service):
    """A plan for a period that had ended was made, merged into a joint task and drawn all the same: its targets
    dated in a period over, their results to be recorded in it. Each is refused (409, the period's last day
    named): a plan, a task over plans whose period ended since, announcing a draw, and performing a draw
    announced within the period once it has ended (the draw stays announced, without targets)."""
    industry = new_industry()
    await service.entities(5, industry)
    await service.inspectors(SAMR, 2)
    matter = await service.matter(co=())
    ended = clock.today() - timedelta(days=1)   # the province's date: the period's last day was yesterday

    def refused(r, what: str) -> None:
        assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM), r.text
        assert r.json()["detail"].startswith(f"the period ended on {ended.isoformat()}: {what}"), r.text
        assert r.json()["period_end"] == ended.isoformat()

    async def period_ends(table, row_id: str) -> None:  # the days pass
        async with service.deps.db.transaction() as s:
            await s.execute(update(table).where(table.c.id == row_id).values(period_end=ended))

    refused(await service.post("/plans", dept(SAMR), {
        "matter_code": matter["code"], "period_start": (ended - timedelta(days=90)).isoformat(),
        "period_end": ended.isoformat(), "filter": {"industry_code": industry}, "ratios": {"B": 0.2}}), "no plan")
    assert await _count(service, plans, plans.c.matter_code == matter["code"]) == 0

    p = await service.plan(SAMR, matter["code"], industry, {"B": 0.2})
    await period_ends(plans, p["id"])
    refused(await service.post("/tasks", dept(SAMR), {"plan_ids": [p["id"]]}), "no joint task")
    assert await _count(service, tasks, tasks.c.matter_code == matter["code"]) == 0

    p = await service.plan(SAMR, matter["code"], industry, {"B": 0.2})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p["id"]]})).json()
    d = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    await period_ends(tasks, task["id"])
    refused(await service.post(f"/tasks/{task['id']}/draws", dept(SAMR)), "no draw")
    refused(await service.post(f"/draws/{d['draw_id']}/perform", dept(SAMR)), "no draw")
    assert await _count(service, targets, targets.c.task_id == task["id"]) == 0
    assert (await service.get(f"/public/draws/{d['draw_id']}")).json()["status"] == "announced"


async def test_a_result_for_an_entity_not_drawn_is_refused_and_nothing_written(service):
    industry = new_industry()
    usccs = await service.entities(10, industry)
    await service.inspectors(SAMR, 2)
    matter = await service.matter(co=())
    p = await service.plan(SAMR, matter["code"], industry, {"B": 0.1})
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p["id"]]})).json()
    d = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    assert (await service.post(f"/draws/{d['draw_id']}/perform", dept(SAMR))).status_code == 200
    drawn = {t["uscc"] for t in (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]}
    not_drawn = next(u for u in usccs if u not in drawn)
    body = {"inspected_on": clock.today().isoformat(),
            "items": [{"item_code": matter["items"][0]["code"], "outcome": "no_problem"}]}
    r = await service.post(f"/tasks/{task['id']}/targets/{not_drawn}/results", dept(SAMR), body)
    assert r.status_code == 404 and _fields(r) == {"uscc"}
    assert "was not drawn" in r.json()["detail"]
    one = next(iter(drawn))
    r = await service.post(f"/tasks/{task['id']}/targets/{one}/results", dept(SAMR), {
        **body, "items": [*body["items"], {"item_code": "NOPE", "outcome": "no_problem"}]})
    assert r.status_code == 409 and _fields(r) == {"items[1].item_code"}  # not an item of this entity's
    assert await _count(service, results, results.c.task_id == task["id"]) == 0
    assert await _count(service, tasks, tasks.c.id == task["id"]) == 1


async def test_a_plan_resent_with_its_idempotency_key_is_made_once_and_answered_again(service):
    """A client that lost the answer resends with the same key: one plan (it was a second plan, whose events carried
    the first one's ids and were dropped by every consumer), and the resend gets the answer it missed, the plan's
    id with it (it was a 409 saying it took effect: the client could not learn which plan it had made)."""
    industry = new_industry()
    await service.entities(3, industry)
    matter = await service.matter()
    body = {"matter_code": matter["code"], "period_start": f"{clock.today().year}-01-01",
            "period_end": f"{clock.today().year}-12-31", "filter": {"industry_code": industry}, "ratios": {"B": 0.2}}
    key = {"Idempotency-Key": unique("plan")}
    first = await service.post("/plans", dept(SAMR), body, headers=key)
    assert first.status_code == 201, first.text
    again = await service.post("/plans", dept(SAMR), body, headers=key)
    assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (201, first.json(), "true")
    changed = await service.post("/plans", dept(SAMR), {**body, "ratios": {"B": 0.15}}, headers=key)
    assert changed.status_code == 409 and "used for a different request" in changed.json()["detail"]
    assert await _count(service, plans, plans.c.matter_code == matter["code"]) == 1
    other = await service.post("/plans", dept(SAMR), body, headers={"Idempotency-Key": unique("plan")})
    assert other.status_code == 201  # a new key, a new request

    # The same key and file with another query is another request: the real load is not answered the dry run's.
    code, key = unique("IDEM").replace(".", "-"), {"Idempotency-Key": unique("batch"), "content-type": "text/csv"}
    csv = ("code,name,domain,division_code,kind,lead_department,cooperating_departments,legal_basis,items,"
           f"effective_from\n{code},特种设备,special_equipment,410100,key,samr-410100,,《特种设备安全法》,"
           "E1:samr-410100:电梯,2026-01-01\n").encode()
    query = {"division_code": "410100", "title": "第五批"}
    tried = await service.post("/batches/file", OFFICE, content=csv, headers=key, params={**query, "dry_run": "true"})
    assert tried.status_code == 201, tried.text
    real = await service.post("/batches/file", OFFICE, content=csv, headers=key, params=query)
    assert real.status_code == 409 and "used for a different request" in real.json()["detail"], real.text


async def test_a_new_version_of_a_matter_takes_effect_no_earlier_than_the_day_it_is_published(service):
    """A new version from a day past (after the current version's date) was published: the manual and the version
    in effect on the days between were rewritten. Refused (409, a conflict with what is published), as JSON, as a
    CSV file and as a dry run."""
    matter = await service.matter()                     # version 1, from 2025-01-01
    today = clock.today()
    yesterday = today - timedelta(days=1)
    v2 = {"code": matter["code"], "name": "餐饮食品安全联合抽查（修订）", "domain": "food", "division_code": "410100",
          "kind": "key", "lead_department": SAMR, "items": [{"code": f"{matter['code']}-S1", "department": SAMR}],
          "effective_from": yesterday.isoformat()}
    before = await _count(service, matters, matters.c.code == matter["code"])
    for dry_run in (True, False):
        r = await service.post("/batches", OFFICE, {"division_code": "410100", "title": "修订", "dry_run": dry_run,
                                                    "matters": [v2]})
        assert r.status_code == 409 and _fields(r) == {"rows[1].effective_from"}, r.text
        assert "no earlier than the day it is published" in r.json()["errors"][0]["reason"]
    csv = (",".join(("code", "name", "domain", "division_code", "kind", "lead_department", "cooperating_departments",
                     "legal_basis", "items", "effective_from")) + "\n"
           f"{matter['code']},修订,food,410100,key,{SAMR},,,{matter['code']}-S1:{SAMR}:x,{yesterday.isoformat()}\n")
    r = await service.post("/batches/file", OFFICE, content=csv.encode(), headers={"content-type": "text/csv"},
                           params={"division_code": "410100", "title": "修订"})
    assert r.status_code == 409 and _fields(r) == {"rows[2].effective_from"}, r.text
    assert await _count(service, matters, matters.c.code == matter["code"]) == before
    r = await service.post("/batches", OFFICE, {"division_code": "410100", "title": "修订",
                                                "matters": [{**v2, "effective_from": today.isoformat()}]})
    assert r.status_code == 201 and r.json()["accepted"][0]["version"] == 2, r.text


async def test_the_answer_to_a_request_with_a_key_is_kept_before_it_goes_out(service):
    """A system that has the answer may send the request again at once (a retry that crossed the answer, a gateway
    resending): it must get the answer replayed. The answer was kept after it had gone out, so a resend at that
    moment was a second request, refused 409 (seen by an end-to-end flow on a busy machine)."""
    industry = new_industry()
    await service.entities(2, industry)
    matter = await service.matter()
    body = {"matter_code": matter["code"], "period_start": f"{clock.today().year}-01-01",
            "period_end": f"{clock.today().year}-12-31", "filter": {"industry_code": industry}, "ratios": {"B": 0.2}}
    app, kept_as_it_went_out = service.client._transport.app, []

    async def watching(scope, receive, send):  # what the caller sees, the moment it sees it
        async def watch(message):
            if message["type"] == "http.response.start":
                kept_as_it_went_out.append(await _count(service, http_answers))
            await send(message)
        await app(scope, receive, watch)

    before = await _count(service, http_answers)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=watching), base_url="http://test") as client:
        first = await client.post("/plans", json=body, headers={**dept(SAMR), "Idempotency-Key": unique("plan")})
    assert first.status_code == 201, first.text
    assert kept_as_it_went_out == [before + 1]
