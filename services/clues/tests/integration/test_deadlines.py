"""Working-day deadlines across a public holiday, chasers and escalations (also for a clue dispatched again),
extensions, a chaser sent again from a restored database; the clues table analysed as it fills."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from jsp_common.clock import TZ
from jsp_common.workdays import deadline_end_of
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, publish_schedule, tail, unique, wait_until

from clues.adapters.tables import clues as clues_table
from clues.adapters.tables import counted_schedules
from clues.usecases.deadlines import scan_deadlines

from .conftest import HOTLINE_P, HOTLINE_REPLIES, clock_at

KAIFENG_SAMR, KAIFENG_OFFICE = "dept.samr-410200.clues.v1", "dept.office-410200.clues.v1"
KAIFENG_MOHURD = "dept.mohurd-410200.clues.v1"


async def test_deadline_crosses_national_day_then_chaser_escalation_extension(service, bootstrap):
    no = unique("WO")
    # Received Tue 30 Sep 2025; Oct 1-8 are holidays and Sat 11 Oct a make-up working day:
    # 5 working days end on Tue 14 Oct.
    async with tail(bootstrap, KAIFENG_SAMR, KAIFENG_OFFICE) as t:
        await service.work_order(no, "开封市龙亭区某商场电梯多次突然停运，存在安全隐患。", address="河南省开封市龙亭区",
                                 uscc=new_uscc("410202"), received_at="2025-09-30T10:00:00+08:00")
        d = (await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no)))[0].envelope.data
        assert datetime.fromisoformat(d["deadline"]) == datetime(2025, 10, 14, 23, 59, 59, tzinfo=TZ)
        clue_id = d["clue_id"]

        # Before the deadline has passed nothing is sent: Mon 13 Oct (one working day left), the deadline's day.
        assert await scans(service, clue_id, datetime(2025, 10, 13, 9, tzinfo=TZ),
                           datetime(2025, 10, 14, 23, 59, tzinfo=TZ)) == []
        # Wed 15 Oct, the working day after the deadline -> a chaser (催办) to the lead department, once.
        assert await scans(service, clue_id, datetime(2025, 10, 15, 0, 1, tzinfo=TZ)) == ["chase"]
        chaser = (await t.wait_for(of_type("clues.clue.chased.v1", clue_id=clue_id)))[0]
        assert chaser.topic == KAIFENG_SAMR and chaser.envelope.data["workdays_left"] == -1
        # No escalation in the four working days after the chaser (Thu 16 to Tue 21 Oct, a weekend between).
        assert await scans(service, clue_id, datetime(2025, 10, 15, 15, tzinfo=TZ),
                           datetime(2025, 10, 16, 9, tzinfo=TZ), datetime(2025, 10, 21, 23, 59, tzinfo=TZ)) == ["chase"]
        # Wed 22 Oct, five working days after the chaser -> escalation (督办) to the department and the city's office.
        assert await scans(service, clue_id, datetime(2025, 10, 22, 9, tzinfo=TZ)) == ["chase", "escalate"]
        esc = await t.wait_for(of_type("clues.clue.escalated.v1", clue_id=clue_id), count=2)
        assert {(m.topic, m.envelope.data["role"]) for m in esc} == {(KAIFENG_SAMR, "lead"), (KAIFENG_OFFICE, "office")}
        assert esc[0].envelope.data["overdue_workdays"] == 6
        assert len([m for m in t.received if of_type("clues.clue.chased.v1", clue_id=clue_id)(m)]) == 1

    samr = dept("samr-410200")
    assert (await service.post(f"/clues/{clue_id}/accept", samr)).status_code == 200
    r = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 3, "reason": "需委托检测机构检验"})
    assert r.status_code == 200, r.text
    ext_id = r.json()["id"]
    twice = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 3, "reason": "需委托检测机构检验"})
    assert twice.status_code == 409 and twice.json()["extension_id"] == ext_id, twice.text  # one pending at a time
    assert (await service.post(f"/clues/{clue_id}/extensions/{ext_id}/decision", samr,
                               {"approved": True})).status_code == 403
    async with tail(bootstrap, KAIFENG_SAMR) as t:  # the department's line system reads the office's answer there
        r = await service.post(f"/clues/{clue_id}/extensions/{ext_id}/decision", OFFICE,
                               {"approved": False, "note": "检验可并行，不予延期"})
        assert r.status_code == 200 and r.json()["status"] == "refused", r.text
        [refused] = await t.wait_for(of_type("clues.clue.extension-decided.v1", extension_id=ext_id))
    assert {k: refused.envelope.data[k] for k in ("approved", "note", "workdays", "role", "department")} == {
        "approved": False, "note": "检验可并行，不予延期", "workdays": 3, "role": "lead", "department": "samr-410200"}
    assert datetime.fromisoformat(refused.envelope.data["deadline"]) == datetime(2025, 10, 14, 23, 59, 59, tzinfo=TZ)
    ext_id = (await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 3, "reason": "检测机构排期"})
              ).json()["id"]
    async with tail(bootstrap, KAIFENG_SAMR) as t:  # the department's line system reads the new deadline there
        r = await service.post(f"/clues/{clue_id}/extensions/{ext_id}/decision", OFFICE, {"approved": True})
        [moved] = await t.wait_for(of_type("clues.clue.deadline-changed.v1", clue_id=clue_id))
        [approved] = await t.wait_for(of_type("clues.clue.extension-decided.v1", extension_id=ext_id))
    assert approved.envelope.data["approved"] and approved.envelope.data["deadline"] == moved.envelope.data["deadline"]
    assert datetime.fromisoformat(r.json()["new_deadline"]) == datetime(2025, 10, 17, 23, 59, 59, tzinfo=TZ)
    assert (datetime.fromisoformat(moved.envelope.data["deadline"]), moved.envelope.data["previous_passed"],
            moved.envelope.data["role"]) == (datetime(2025, 10, 17, 23, 59, 59, tzinfo=TZ), True, "lead")
    assert datetime.fromisoformat(moved.envelope.data["previous_deadline"]) == datetime(2025, 10, 14, 23, 59, 59,
                                                                                           tzinfo=TZ)
    again = await service.post(f"/clues/{clue_id}/extensions/{ext_id}/decision", OFFICE, {"approved": True})
    assert again.status_code == 409
    clue = (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()
    assert clue["escalated_at"] is None and clue["chased_at"] is None  # the new deadline is watched afresh
    assert [h["action"] for h in clue["history"]][-6:] == ["escalate", "accept", "request_extension",
                                                            "refuse_extension", "request_extension",
                                                            "approve_extension"]
    # the lifecycle says which deadline the extension replaced, passed (a read model rebuilt from it alone keeps it)
    details = clue["history"][-1]["details"]
    assert (datetime.fromisoformat(details["previous_deadline"]), details["previous_passed"]) == (
        datetime(2025, 10, 14, 23, 59, 59, tzinfo=TZ), True)


async def test_a_clues_extensions_add_at_most_ten_working_days_in_all(service, bootstrap):
    """Each request was checked against the limit alone: 5 working days and then 10 + 10 more made 25."""
    no, samr = unique("WO"), dept("samr-410100")
    async with tail(bootstrap, HOTLINE_REPLIES) as t:
        await service.work_order(no, "郑州市管城区某饭店后厨食品发霉变质。", uscc=new_uscc("410104"))
        [accepted] = await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=no))
    clue_id = accepted.envelope.data["clue_id"]
    assert (await service.post(f"/clues/{clue_id}/accept", samr)).status_code == 200

    async def extend(workdays: int) -> dict:
        r = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": workdays, "reason": "检验排期"})
        assert r.status_code == 200, r.text
        r = await service.post(f"/clues/{clue_id}/extensions/{r.json()['id']}/decision", OFFICE, {"approved": True})
        assert r.status_code == 200, r.text
        return r.json()

    first = await extend(6)
    too_many = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 10, "reason": "再次延期"})
    assert too_many.status_code == 422, too_many.text
    assert too_many.headers["content-type"].startswith("application/problem+json")
    problem = too_many.json()
    assert problem["workdays_left"] == 4 and "4 working days remain" in problem["detail"], problem
    assert problem["errors"][0]["field"] == "workdays"
    assert datetime.fromisoformat((await extend(4))["new_deadline"]) > datetime.fromisoformat(first["new_deadline"])
    one_more = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 1, "reason": "再次延期"})
    assert one_more.status_code == 422 and one_more.json()["workdays_left"] == 0, one_more.text
    clue = (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()
    assert [(e["workdays"], e["status"]) for e in clue["extensions"]] == [(6, "approved"), (4, "approved")]


async def test_an_extension_the_office_has_not_decided_is_withdrawn_when_the_clue_is_handled(service, bootstrap):
    """The lead asks for more days, then records its finding before the office decides: the request is withdrawn
    (it stayed pending for good, the office's decision refused, and it blocked the lead's next request after the
    clue was reopened)."""
    no, samr = unique("WO"), dept("samr-410100")
    async with tail(bootstrap, HOTLINE_REPLIES) as t:
        await service.work_order(no, "郑州市管城区某餐馆使用过期食材，食品安全堪忧。", uscc=new_uscc("410104"))
        [accepted] = await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=no))
    clue_id = accepted.envelope.data["clue_id"]
    for path in ("accept", "verify"):
        assert (await service.post(f"/clues/{clue_id}/{path}", samr)).status_code == 200
    asked = (await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 2, "reason": "等待检验报告"})).json()
    handled = await service.post(f"/clues/{clue_id}/handle", samr, {"finding": "substantiated", "measures": "责令整改"})
    assert handled.status_code == 200, handled.text
    late = await service.post(f"/clues/{clue_id}/extensions/{asked['id']}/decision", OFFICE, {"approved": True})
    assert late.status_code == 409 and "withdrawn" in late.json()["detail"], late.text
    clue = (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()
    assert [e["status"] for e in clue["extensions"]] == ["withdrawn"]
    assert clue["history"][-1]["details"]["extensions_withdrawn"] == [asked["id"]]

    for path, who in (("reply", samr), ("close", HOTLINE_P)):
        assert (await service.post(f"/clues/{clue_id}/{path}", who, {} if path == "reply" else None)).status_code == 200
    assert (await service.post(f"/clues/{clue_id}/revisit", HOTLINE_P, {"satisfied": False})).status_code == 200
    again = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 2, "reason": "整改复查"})
    assert again.status_code == 200, again.text      # the reopened clue's own request, not a 409


async def test_chasers_count_with_a_schedule_published_while_running(service, raw_producer, bootstrap):
    """The office publishes a year's holidays; the running service's chasers count with them, no restart."""
    year = 2097  # this test's own year: no other test publishes it
    monday = date(year, 1, 7)
    friday = monday - timedelta(days=3)
    clue_id = await clue_due_on(service, bootstrap, friday)
    monday_morning = datetime.combine(monday, time(9), TZ)

    async def chased() -> bool:
        return (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()["chased_at"] is not None

    # First the year's schedule has Monday a holiday; then a correction makes it a working day.
    revision = await publish_schedule(raw_producer, year, [date(year, 1, 1), monday], calendar=service.deps.calendar)
    await scan_deadlines(service.deps, now=monday_morning)
    assert not await chased()  # no working day since Friday's deadline: no chaser yet
    await publish_schedule(raw_producer, year, [date(year, 1, 1)], calendar=service.deps.calendar,
                           revision=revision + 1)
    async with tail(bootstrap, KAIFENG_SAMR) as t:
        await scan_deadlines(service.deps, now=monday_morning)  # the same morning, Monday now a working day
        [chaser] = await t.wait_for(of_type("clues.clue.chased.v1", clue_id=clue_id))
    assert chaser.envelope.data["workdays_left"] == -1 and await chased()


async def test_a_chaser_sent_again_after_a_restore_keeps_its_id(service, bootstrap):
    """The same chaser from a restored database (same event id); a deadline moved later has a new one."""
    tuesday = date(2095, 1, 11)  # this test's own year: no schedule published, Monday to Friday count
    clue_id = await clue_due_on(service, bootstrap, tuesday)

    async def chase(day: date) -> list[str]:
        """The periodic scan on ``day`` morning: the ids of this clue's chasers on the department's topic."""
        async with tail(bootstrap, KAIFENG_SAMR) as t:
            await scan_deadlines(service.deps, now=datetime.combine(day, time(9), TZ))
            got = await t.wait_for(of_type("clues.clue.chased.v1", clue_id=clue_id))
        return [m.envelope.id for m in got]

    wednesday = tuesday + timedelta(days=1)
    [first] = await chase(wednesday)  # the working day after the deadline

    # The database restored to before the scan (the clue not chased yet), and the scan runs again.
    async with service.deps.db.transaction() as s:
        await s.execute(update(clues_table).where(clues_table.c.id == clue_id).values(chased_at=None))
    assert await chase(wednesday) == [first]  # the same chaser: consumers' inboxes skip it

    # Three more working days granted: the new deadline (Friday) has a chaser of its own, on Monday.
    samr = dept("samr-410200")
    assert (await service.post(f"/clues/{clue_id}/accept", samr)).status_code == 200
    r = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 3, "reason": "需委托检测机构检验"})
    assert r.status_code == 200, r.text
    r = await service.post(f"/clues/{clue_id}/extensions/{r.json()['id']}/decision", OFFICE, {"approved": True})
    assert r.status_code == 200, r.text
    [second] = await chase(tuesday + timedelta(days=6))
    assert second != first


async def test_clues_due_the_same_day_already_chased_do_not_hold_up_the_next_day_s_chasers(service, bootstrap):
    """The scan reads the clues owed something a page at a time: clues already chased, due the same day, filled every
    page the scan read, and the clues due after them were never chased (a page of two here, five hundred in use)."""
    wednesday = date(2093, 1, 7)   # this test's own year: no schedule published, Monday to Friday count
    chased = [await clue_due_on(service, bootstrap, wednesday) for _ in range(3)]
    later = await clue_due_on(service, bootstrap, wednesday + timedelta(days=1))
    await scan_deadlines(service.deps, now=datetime(2093, 1, 8, 9, tzinfo=TZ), page=2)   # Thursday: three owed

    async def chasers(clue_id: str) -> int:
        history = (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()["history"]
        return [h["action"] for h in history].count("chase")
    assert [await chasers(c) for c in (*chased, later)] == [1, 1, 1, 0]
    await scan_deadlines(service.deps, now=datetime(2093, 1, 9, 9, tzinfo=TZ), page=2)   # Friday
    assert [await chasers(c) for c in (*chased, later)] == [1, 1, 1, 1]


async def test_a_clue_dispatched_again_is_chased_and_escalated_for_its_new_lead(service, bootstrap):
    """Chased and escalated while with one department, returned by it and dispatched by the office to another: the
    new lead is chased, then escalated, as the first was (the clue kept the first lead's timers: the new lead was
    never told, and the escalation to the city's office, with the id of the first one, was skipped there)."""
    tuesday = date(2091, 1, 9)  # this test's own year: no schedule published, Monday to Friday count
    clue_id = await clue_due_on(service, bootstrap, tuesday)
    wednesday = tuesday + timedelta(days=1)
    escalated = of_type("clues.clue.escalated.v1", clue_id=clue_id)
    async with tail(bootstrap, KAIFENG_SAMR, KAIFENG_OFFICE) as t:
        await scan_deadlines(service.deps, now=datetime.combine(wednesday, time(9), TZ))
        await t.wait_for(of_type("clues.clue.chased.v1", clue_id=clue_id))
        await scan_deadlines(service.deps, now=datetime.combine(wednesday + timedelta(days=7), time(9), TZ))
        [first] = await t.wait_for(lambda m: escalated(m) and m.topic == KAIFENG_OFFICE)
    samr = dept("samr-410200")
    assert (await service.post(f"/clues/{clue_id}/return", samr, {"reason": "属住建部门职责"})).status_code == 200
    r = await service.post(f"/clues/{clue_id}/dispatch", OFFICE, {"lead": "mohurd-410200"})
    assert r.status_code == 200, r.text
    assert r.json()["chased_at"] is None and r.json()["escalated_at"] is None

    async with tail(bootstrap, KAIFENG_MOHURD, KAIFENG_OFFICE) as t:
        await scan_deadlines(service.deps, now=datetime.combine(wednesday + timedelta(days=7), time(10), TZ))
        [chaser] = await t.wait_for(of_type("clues.clue.chased.v1", clue_id=clue_id))
        await scan_deadlines(service.deps, now=datetime.combine(wednesday + timedelta(days=14), time(11), TZ))
        again = await t.wait_for(escalated, count=2)
    assert chaser.topic == KAIFENG_MOHURD and chaser.envelope.data["workdays_left"] == -6
    assert {m.topic for m in again} == {KAIFENG_MOHURD, KAIFENG_OFFICE}
    assert next(m for m in again if m.topic == KAIFENG_OFFICE).envelope.id != first.envelope.id


async def test_a_return_window_counted_into_an_unpublished_year_moves_when_its_schedule_arrives(
        service, bootstrap, raw_producer, monkeypatch):
    """Dispatched on Thu 31 Dec while the next year's schedule is not out, a clue may be returned until the end of
    Mon 4 Jan (1 Jan counted as a working day), provisionally. The schedule makes 1-3 Jan days off: the window
    now ends with Tue 5 Jan, the lead department is told, and its return on 5 Jan is taken (it was refused: the
    window stayed on 4 Jan). A clue the department accepted meanwhile has no window left to move."""
    year = 2082  # this test's own years: 31 Dec 2082 is a Thursday, as 31 Dec 2026
    await publish_schedule(raw_producer, year, [date(year, 10, 1)], calendar=service.deps.calendar)
    samr = dept("samr-410200")
    nos = [unique("WO"), unique("WO")]
    async with tail(bootstrap, KAIFENG_SAMR) as t:
        with clock_at(monkeypatch, datetime(year, 12, 31, 10, tzinfo=TZ)):
            for no in nos:
                await service.work_order(no, "开封市龙亭区某超市销售过期食品。", address="河南省开封市龙亭区",
                                         uscc=new_uscc("410202"))
            dispatched = [(await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no)))[0].envelope.data
                          for no in nos]
            assert (await service.post(f"/clues/{dispatched[1]['clue_id']}/accept", samr)).status_code == 200
    returned_id, accepted_id = (d["clue_id"] for d in dispatched)
    assert {datetime.fromisoformat(d["return_deadline"]) for d in dispatched} == {
        datetime(year + 1, 1, 4, 23, 59, 59, tzinfo=TZ)}
    clue = (await service.client.get(f"/clues/{returned_id}", headers=OFFICE)).json()
    assert (clue["return_deadline_workdays"], clue["return_deadline_provisional"]) == (2, True)

    async with tail(bootstrap, KAIFENG_SAMR) as t:
        await publish_schedule(raw_producer, year + 1, [date(year + 1, 1, d) for d in (1, 2, 3)],
                               calendar=service.deps.calendar)
        [told] = await t.wait_for(of_type("clues.clue.return-deadline-changed.v1", clue_id=returned_id))
        await t.wait_for(of_type("clues.clue.deadline-changed.v1", clue_id=accepted_id))  # its handling deadline
    data = told.envelope.data
    assert (datetime.fromisoformat(data["previous_return_deadline"]), datetime.fromisoformat(data["return_deadline"]),
            data["return_deadline_provisional"], data["previous_passed"], data["role"]) == (
        datetime(year + 1, 1, 4, 23, 59, 59, tzinfo=TZ), datetime(year + 1, 1, 5, 23, 59, 59, tzinfo=TZ), False,
        False, "lead")
    assert f"{year + 1} (revision" in data["reason"]
    assert not [m for m in t.received if of_type("clues.clue.return-deadline-changed.v1", clue_id=accepted_id)(m)]
    accepted = (await service.client.get(f"/clues/{accepted_id}", headers=OFFICE)).json()
    assert datetime.fromisoformat(accepted["return_deadline"]) == datetime(year + 1, 1, 4, 23, 59, 59, tzinfo=TZ)
    assert accepted["return_deadline_provisional"] is False  # accepted: the window no longer runs

    with clock_at(monkeypatch, datetime(year + 1, 1, 5, 10, tzinfo=TZ)):
        r = await service.post(f"/clues/{returned_id}/return", samr, {"reason": "属住建部门职责"})
    assert r.status_code == 200, r.text
    history = (await service.client.get(f"/clues/{returned_id}", headers=OFFICE)).json()["history"]
    [recorded] = [h["details"] for h in history if h["action"] == "recompute_return_deadline"]
    assert (datetime.fromisoformat(recorded["previous_return_deadline"]),
            datetime.fromisoformat(recorded["return_deadline"])) == (datetime(year + 1, 1, 4, 23, 59, 59, tzinfo=TZ),
                                                                     datetime(year + 1, 1, 5, 23, 59, 59, tzinfo=TZ))


async def test_a_deadline_counted_with_the_revision_another_replica_recounted_away_is_counted_again(
        service, bootstrap, raw_producer):
    """Two replicas: one applies a year's corrected schedule (revision 2, Tuesday now a holiday), counts the
    deadlines again and records them as counted with it, while the other, whose feed is a moment behind, dispatches
    a clue due that Tuesday (counted with revision 1, final) and commits after the first's recount passed it. When
    the second applies revision 2 in turn, the clue is counted again: due on Wednesday (it kept Tuesday for good:
    the revision recorded was 2 already, so no day had moved since)."""
    year = 2085  # this test's own year: no other test publishes it
    tuesday = date(year, 3, 6)
    revision = await publish_schedule(raw_producer, year, [date(year, 1, 1)], calendar=service.deps.calendar)
    clue_id = await clue_due_on(service, bootstrap, tuesday)  # counted with revision 1 here
    corrected = [date(year, 1, 1), tuesday]
    recorded = {"revision": revision + 1, "holidays": corrected, "makeup_workdays": [], "counted_at": datetime.now(TZ)}
    async with service.deps.db.transaction() as s:  # the other replica's record of its recount
        await s.execute(insert(counted_schedules).values(year=year, **recorded).on_conflict_do_update(
            index_elements=[counted_schedules.c.year], set_=recorded))
    async with tail(bootstrap, KAIFENG_SAMR) as t:
        await publish_schedule(raw_producer, year, corrected, calendar=service.deps.calendar, revision=revision + 1)
        [changed] = await t.wait_for(of_type("clues.clue.deadline-changed.v1", clue_id=clue_id))
    assert (datetime.fromisoformat(changed.envelope.data["previous_deadline"]),
            datetime.fromisoformat(changed.envelope.data["deadline"])) == (
        deadline_end_of(tuesday), deadline_end_of(tuesday + timedelta(days=1)))


async def test_a_deadline_counted_while_the_schedule_is_applied_is_counted_again(service, bootstrap, raw_producer):
    """A clue dispatched again (its deadline counted with revision 1, due Tuesday) in a transaction still open
    while the service applies revision 2, which makes that Tuesday a holiday: the recount waits for it, and the
    clue is due on Wednesday (the recount ran past the row before it was committed, and it kept Tuesday for good)."""
    year = 2086  # this test's own year: no other test publishes it
    tuesday = date(year, 3, 5)
    revision = await publish_schedule(raw_producer, year, [date(year, 1, 1)], calendar=service.deps.calendar)
    clue_id = await clue_due_on(service, bootstrap, date(year, 6, 5))  # nowhere near the day that moves
    db = service.deps.db

    async def recount_done_or_waiting() -> bool:
        async with db.transaction() as s:
            counted = await s.scalar(select(counted_schedules.c.revision).where(counted_schedules.c.year == year))
        return counted == revision + 1 or db.waiting_for_earlier > 0

    async with tail(bootstrap, KAIFENG_SAMR) as t:
        async with db.transaction() as in_flight:
            await in_flight.execute(update(clues_table).where(clues_table.c.id == clue_id).values(
                deadline=deadline_end_of(tuesday), deadline_from=datetime.combine(tuesday, time(9), TZ)
                - timedelta(days=1)))
            await publish_schedule(raw_producer, year, [date(year, 1, 1), tuesday], calendar=service.deps.calendar,
                                   revision=revision + 1)
            await wait_until(recount_done_or_waiting, what="the recount done, or waiting for the open transaction")
        [changed] = await t.wait_for(of_type("clues.clue.deadline-changed.v1", clue_id=clue_id))
    assert datetime.fromisoformat(changed.envelope.data["deadline"]) == deadline_end_of(tuesday + timedelta(days=1))


async def scans(service, clue_id: str, *moments: datetime) -> list[str]:
    """The periodic scan run at each of ``moments``; then the chasers and escalations on the clue's history (the
    scan's own count takes in other tests' clues)."""
    for moment in moments:
        await scan_deadlines(service.deps, now=moment)
    history = (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()["history"]
    return [h["action"] for h in history if h["action"] in ("chase", "escalate")]


async def clue_due_on(service, bootstrap, day: date) -> str:
    """A clue taken in by Kaifeng's market regulator, due at the end of ``day`` (one working day from the day
    before: counted again after a schedule's change, it stays due then); its id."""
    no = unique("WO")
    async with tail(bootstrap, KAIFENG_SAMR) as t:
        await service.work_order(no, "开封市龙亭区某超市销售过期食品。", address="河南省开封市龙亭区",
                                 uscc=new_uscc("410202"))
        clue_id = (await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no)))[0].envelope.data["clue_id"]
    async with service.deps.db.transaction() as s:
        await s.execute(update(clues_table).where(clues_table.c.id == clue_id)
                        .values(deadline=deadline_end_of(day), deadline_provisional=False, deadline_workdays=1,
                                deadline_from=datetime.combine(day - timedelta(days=1), time(9), TZ)))
    return clue_id


async def test_the_clues_table_is_analysed_as_the_intake_fills_it(service):
    """A first day's clues: the duplicate look-ups are planned for the table's size, not for an empty table,
    without waiting for autovacuum (turned off for the table here: only the intake's own analyses count)."""
    async def analysed() -> tuple[int, float]:
        async with service.deps.db.transaction() as s:
            row = (await s.execute(text(
                "SELECT t.analyze_count, c.reltuples FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid "
                "WHERE t.relname = 'clues'"))).one()
            return row.analyze_count, row.reltuples

    async with service.deps.db.transaction() as s:
        await s.execute(text("ALTER TABLE clues SET (autovacuum_enabled = false)"))
    try:
        before, _ = await analysed()
        growth = service.deps.clue_rows  # how many more rows this process writes before it analyses the table
        due = growth.rows_until_due()
        nos = [unique("WO") for _ in range(due)]
        for no in nos:
            await service.work_order(no, "郑州市金水区某超市销售过期食品。", address="河南省郑州市金水区",
                                     uscc=new_uscc("410105"))
        await wait_until(lambda: service.clue("hotline", nos[-1]), what="the last work order taken in")
        await wait_until(lambda: _more(analysed, before), what="the clues table analysed by the intake")
        async with service.deps.db.transaction() as s:
            count = (await s.execute(text("SELECT count(*) FROM clues"))).scalar_one()
        assert (await analysed())[1] >= count / 1.5
    finally:
        async with service.deps.db.transaction() as s:
            await s.execute(text("ALTER TABLE clues RESET (autovacuum_enabled)"))


async def _more(analysed, before: int) -> bool:
    return (await analysed())[0] > before
