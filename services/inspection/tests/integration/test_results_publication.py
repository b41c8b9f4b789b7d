"""Results per item, publication within working days (holidays skipped, make-up days counted), the public
feed and the event the risk service consumes, overdue publications for the office, a clue raised from a
problem found, and mutual recognition in a later draw."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from jsp_common import clock, topics
from jsp_common.events.clues import MAX_ADDRESS_CHARS, MAX_CONTENT_CHARS
from jsp_common.workdays import WorkCalendar
from jsp_testkit.testing import OFFICE, dept, of_type, tail

from inspection.adapters.tables import results
from inspection.settings import Settings

from .conftest import new_industry

SAMR, NHC = "samr-410100", "nhc-410100"
TODAY, CALENDAR = clock.today(), WorkCalendar()
WITHIN = Settings.model_fields["publish_within_workdays"].default
# A period of a year up to today (a task is drawn within its period), reaching back over a holiday whose schedule
# is known: the deadline of results recorded for the day before it skips it, and has passed.
PERIOD = {"start": (TODAY - timedelta(days=365)).isoformat(), "end": (TODAY + timedelta(days=1)).isoformat()}


def _before_a_holiday() -> date:
    """The latest working day followed by a weekday off (an official holiday) whose results were due before today."""
    day = TODAY - timedelta(days=1)
    while not (CALENDAR.is_workday(day) and (day + timedelta(days=1)).weekday() < 5
               and not CALENDAR.is_workday(day + timedelta(days=1)) and CALENDAR.add_workdays(day, WITHIN) < TODAY):
        day -= timedelta(days=1)
    assert day.isoformat() >= PERIOD["start"], "no holiday in the period"
    return day


INSPECTED = _before_a_holiday()
DUE = CALENDAR.add_workdays(INSPECTED, WITHIN).isoformat()  # more than four weeks on: the holiday is skipped


async def _drawn_task(service, industry: str, ratios: dict, nhc_ratios: dict | None = None
                      ) -> tuple[dict, dict, list[dict]]:
    matter = await service.matter()
    p1 = await service.plan(SAMR, matter["code"], industry, ratios, **PERIOD)
    p2 = await service.plan(NHC, matter["code"], industry, nhc_ratios or ratios, **PERIOD)
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p1["id"], p2["id"]]})).json()
    d = (await service.post(f"/tasks/{task['id']}/draws", OFFICE)).json()
    r = await service.post(f"/draws/{d['draw_id']}/perform", OFFICE)
    assert r.status_code == 200, r.text
    targets = (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]
    return matter, task, targets


async def _joint_visit(service) -> tuple[dict, dict]:
    """A task drawn over ten entities, both departments' plans sampling alike: the task and an entity both visit."""
    industry = new_industry()
    await service.entities(10, industry)
    await service.inspectors(SAMR, 3)
    await service.inspectors(NHC, 3)
    _, task, targets = await _drawn_task(service, industry, {"B": 0.2})
    return task, next(x for x in targets if len(x["departments"]) == 2)


async def test_results_are_published_on_a_working_day_deadline_and_raise_a_clue(service, bootstrap):
    industry = new_industry()
    # the register allows 500 characters of address, and control characters a clue may not carry
    registered = "河南省郑州市中原区建设路1号\x0b" + "附" * (MAX_ADDRESS_CHARS + 100)
    await service.entities(10, industry, address=registered, name_suffix="\x0b分店")
    await service.inspectors(SAMR, 3)
    await service.inspectors(NHC, 3)
    matter, task, targets = await _drawn_task(service, industry, {"B": 0.2})
    joint_ = next(x for x in targets if len(x["departments"]) == 2)
    items = [i for p in joint_["parts"] for i in p["items"]]
    base = f"/tasks/{task['id']}/targets/{joint_['uscc']}"

    dept_topics = [topics.department_topic(topics.DEPARTMENT_INSPECTIONS, d) for d in (SAMR, NHC)]
    async with tail(bootstrap, topics.INSPECTION_RESULTS, topics.CLUE_SUBMISSIONS, *dept_topics) as t:
        # the day before a holiday: 20 working days on, its days off skipped (and any make-up day worked)
        assert (date.fromisoformat(DUE) - INSPECTED).days > 28
        results = {"inspected_on": INSPECTED.isoformat(), "raise_clue": True,
                   "items": [{"item_code": items[0], "outcome": "correction_ordered", "note": "进货查验记录不全"},
                             {"item_code": items[1], "outcome": "no_problem"}]}
        # a clue's text is at most a clue's content: refused longer, nothing written
        r = await service.post(f"{base}/results", OFFICE, {**results, "clue_text": "查" * (MAX_CONTENT_CHARS + 1)})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.clue_text", r.text
        # the text made of the problems found (without clue_text) is cut to a clue's content
        results["items"][0]["note"] += "。" * (2000 - len(results["items"][0]["note"]))
        results["items"][1] = {"item_code": items[1], "outcome": "referred_for_case", "note": "台账" * 1000}
        r = await service.post(f"{base}/results", OFFICE, results)   # the office records any department's items
        assert r.status_code == 201, r.text
        assert r.json()["due_on"] == DUE and r.json()["complete"]
        clue = (await t.wait_for(of_type("clues.clue.submitted.v1", channel_ref=f"{task['id']}.{joint_['uscc']}")))[0]
        assert clue.envelope.data["channel"] == "inspection" and clue.envelope.data["uscc"] == joint_["uscc"]
        assert len(clue.envelope.data["content"]) == MAX_CONTENT_CHARS
        assert clue.envelope.data["address"] == registered[:MAX_ADDRESS_CHARS].replace("\x0b", " ")  # it holds 300
        assert clue.envelope.data["business_name"].endswith("食品有限公司 分店")
        # each department of the visit is told the results are in and by when they are to be published
        told = await t.wait_for(of_type("inspection.result.recorded.v1", task_id=task["id"]), count=2)
        assert sorted(m.topic for m in told) == sorted(dept_topics)
        assert {(m.envelope.data["department"], m.envelope.data["due_on"], m.envelope.data["complete"],
                 len(m.envelope.data["items"])) for m in told} == {(SAMR, DUE, True, 2),
                                                                  (NHC, DUE, True, 2)}

        overdue = (await service.get("/publications/overdue", OFFICE, params={"limit": 500})).json()
        assert any(o["task_id"] == task["id"] and o["uscc"] == joint_["uscc"] for o in overdue)
        assert (await service.get("/publications/overdue", dept(SAMR))).status_code == 403
        # paged: a page of one at offset 1 starts where the first ends (empty past the end)
        pages = [(await service.get("/publications/overdue", OFFICE, params={"limit": 1, "offset": n})).json()
                 for n in (0, 1)]
        assert pages == [overdue[:1], overdue[1:2]]

        assert (await service.post(f"{base}/publication", dept(NHC))).status_code == 403  # the lead publishes
        r = await service.post(f"{base}/publication", dept(SAMR))
        assert r.status_code == 200, r.text
        published = (await t.wait_for(of_type("inspection.result.published.v1", task_id=task["id"])))[0].envelope.data
    assert published["problems_found"] and published["departments"] == [NHC, SAMR]
    assert {i["item_code"]: i["outcome"] for i in published["items"]} == {items[0]: "correction_ordered",
                                                                         items[1]: "referred_for_case"}
    feed = (await service.get("/public/results", params={"since": "2020-01-01T00:00:00Z", "limit": 1000})).json()
    assert any(f["task_id"] == task["id"] and f["uscc"] == joint_["uscc"] for f in feed)
    # a moment whose local date is past the calendar's end is the caller's error (it was a 500)
    assert (await service.get("/public/results", params={"since": "9999-12-31T23:00:00Z"})).status_code == 422
    overdue = (await service.get("/publications/overdue", OFFICE, params={"limit": 500})).json()
    assert not any(o["task_id"] == task["id"] and o["uscc"] == joint_["uscc"] for o in overdue)
    assert (await service.post(f"{base}/publication", dept(SAMR))).status_code == 409


async def test_the_lead_is_told_of_results_at_an_entity_it_does_not_inspect(service, bootstrap):
    """The lead publishes every entity's results by their deadline, but was told of those recorded at an entity
    only a cooperating department inspects by nothing but the office's overdue list."""
    industry = new_industry()
    await service.entities(20, industry)
    await service.inspectors(NHC, 2)
    await service.inspectors(SAMR, 2)
    _, task, targets = await _drawn_task(service, industry, {"B": 0.05}, {"B": 0.2})  # samr's 1 among nhc's 4
    nhc_only = next(x for x in targets if x["departments"] == [NHC])
    dept_topics = [topics.department_topic(topics.DEPARTMENT_INSPECTIONS, d) for d in (SAMR, NHC)]
    async with tail(bootstrap, *dept_topics) as t:
        r = await service.post(f"/tasks/{task['id']}/targets/{nhc_only['uscc']}/results", dept(NHC), {
            "inspected_on": INSPECTED.isoformat(), "items": [{"item_code": i, "outcome": "no_problem"}
                                                   for p in nhc_only["parts"] for i in p["items"]]})
        assert r.status_code == 201, r.text
        told = await t.wait_for(of_type("inspection.result.recorded.v1", uscc=nhc_only["uscc"]), count=2)
    assert sorted((m.topic, m.envelope.data["department"]) for m in told) == sorted(zip(dept_topics, (SAMR, NHC)))
    assert all(m.envelope.data["due_on"] == DUE for m in told)


async def test_each_recording_with_a_problem_raises_a_clue_of_its_own(service, bootstrap):
    """The departments of a visit record their items one after the other, each raising a clue for the problem it
    found: two clues (the second was taken for a resend of the first, and dropped)."""
    task, joint_ = await _joint_visit(service)
    owned = {p["department"]: p["items"] for p in joint_["parts"]}
    async with tail(bootstrap, topics.CLUE_SUBMISSIONS) as t:
        for department in (SAMR, NHC):
            r = await service.post(f"/tasks/{task['id']}/targets/{joint_['uscc']}/results", dept(department), {
                "inspected_on": INSPECTED.isoformat(), "raise_clue": True,
                "items": [{"item_code": owned[department][0], "outcome": "correction_ordered", "note": department}]})
            assert r.status_code == 201, r.text
        raised = await t.wait_for(of_type("clues.clue.submitted.v1", uscc=joint_["uscc"]), count=2)
    assert sorted(m.envelope.data["channel_ref"] for m in raised) == \
        [f"{task['id']}.{joint_['uscc']}", f"{task['id']}.{joint_['uscc']}.1"]
    assert [SAMR in m.envelope.data["content"] for m in raised].count(True) == 1


async def test_a_result_counts_for_the_other_departments_on_the_same_items(service):
    """Mutual recognition: once the items have an accepted result in the period, a later joint task of the
    same matter does not visit the entity for them again (every entity is class D, drawn at 100%); a task of
    another matter whose items have the same codes does."""
    from jsp_testkit.samples import new_uscc

    industry = new_industry()
    classes = {new_uscc("410102"): "D" for _ in range(4)}
    await service.entities(4, industry, classes=classes, usccs=list(classes))
    await service.inspectors(SAMR, 4)
    await service.inspectors(NHC, 4)
    matter, task, targets = await _drawn_task(service, industry, {"D": 1.0})
    assert sorted(t["uscc"] for t in targets) == sorted(classes)
    x = targets[0]
    items = [i for p in x["parts"] for i in p["items"]]
    r = await service.post(f"/tasks/{task['id']}/targets/{x['uscc']}/results", OFFICE, {
        "inspected_on": INSPECTED.isoformat(), "items": [{"item_code": i, "outcome": "no_problem"} for i in items]})
    assert r.status_code == 201, r.text
    again = [await service.plan(d, matter["code"], industry, {"D": 1.0}, **PERIOD) for d in (SAMR, NHC)]
    later = (await service.post("/tasks", OFFICE, {"plan_ids": [p["id"] for p in again]})).json()
    d = (await service.post(f"/tasks/{later['id']}/draws", OFFICE)).json()
    assert (await service.post(f"/draws/{d['draw_id']}/perform", OFFICE)).status_code == 200
    rec = (await service.get(f"/public/draws/{d['draw_id']}")).json()["record"]
    assert sorted(rec["recognised"][x["uscc"]]) == sorted(items)
    assert sorted(t["uscc"] for t in rec["targets"]) == sorted(set(classes) - {x["uscc"]})
    # another matter whose items happen to have the same codes: its items are others, the entity is visited
    other = await service.matter(items=matter["items"])
    plans = [await service.plan(d, other["code"], industry, {"D": 1.0}, **PERIOD) for d in (SAMR, NHC)]
    third = (await service.post("/tasks", OFFICE, {"plan_ids": [p["id"] for p in plans]})).json()
    d = (await service.post(f"/tasks/{third['id']}/draws", OFFICE)).json()
    assert (await service.post(f"/draws/{d['draw_id']}/perform", OFFICE)).status_code == 200
    rec = (await service.get(f"/public/draws/{d['draw_id']}")).json()["record"]
    # the entity is visited; the others were visited twice this year, the yearly cap
    assert rec["recognised"] == {} and [t["uscc"] for t in rec["targets"]] == [x["uscc"]]


async def test_a_department_records_its_own_items_and_no_day_before_the_draw(service):
    """At a joint visit nhc recorded samr's item, and the result could not be changed: samr's own was then
    refused. Another department's item is now 403, nothing written; each department then records its own."""
    task, joint_ = await _joint_visit(service)
    owned = {p["department"]: p["items"][0] for p in joint_["parts"]}
    url = f"/tasks/{task['id']}/targets/{joint_['uscc']}/results"

    def body(department: str, day: str = INSPECTED.isoformat()) -> dict:
        return {"inspected_on": day, "items": [{"item_code": owned[department], "outcome": "no_problem"}]}

    r = await service.post(url, dept(NHC), {**body(NHC), "items": body(NHC)["items"] + body(SAMR)["items"]})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert [e["field"] for e in r.json()["errors"]] == ["items[1].item_code"]
    assert SAMR in r.json()["errors"][0]["reason"]
    async with service.deps.db.transaction() as s:
        written = select(func.count()).select_from(results).where(results.c.task_id == task["id"])
        assert (await s.execute(written)).scalar_one() == 0
    for department in (NHC, SAMR):
        r = await service.post(url, dept(department), body(department))
        assert r.status_code == 201, r.text
    assert r.json()["complete"] and {x["recorded_by"] for x in r.json()["results"]} == {f"officer@{d}" for d in
                                                                                        (SAMR, NHC)}
