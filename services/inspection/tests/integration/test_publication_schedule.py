"""A publication deadline (一公开) counted through a year whose holiday schedule is not published yet is
provisional; when the schedule arrives it is counted again, marked final, and every department of the joint
visit is told on its own topic with both dates. A correction of a day it is counted through moves it again."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta

import pytest_asyncio
from sqlalchemy import select, text

from jsp_common import clock, holidays, topics
from jsp_common.workdays import WorkCalendar
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, until_waiting_or_done

from inspection.adapters.tables import targets
from inspection.usecases.schedules import recompute_deadlines

from .conftest import new_industry, started

SAMR, NHC = "samr-410100", "nhc-410100"
TODAY = clock.today()
GAP_YEAR = WorkCalendar().known_until(TODAY).year + 1  # the first year the platform has no schedule for
HOLIDAY = next(d for d in (date(GAP_YEAR, 1, 1) + timedelta(days=n) for n in range(7)) if d.weekday() < 5)
# Enough working days that a result recorded today is due a week into that year.
WORKDAYS = WorkCalendar().workdays_between(TODAY, HOLIDAY) + 5


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(settings, kafka_topics, raw_producer):
    async with started(settings, raw_producer, publish_within_workdays=WORKDAYS) as running:
        yield running


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _joint_result_recorded_today(service) -> tuple[dict, dict, str, date]:
    """A joint visit of samr and nhc whose results the office recorded today: the task, the target, its path and
    the publication deadline (provisional: counted into GAP_YEAR)."""
    industry = new_industry()
    classes = {new_uscc("410102"): "D" for _ in range(4)}  # class D is drawn at 100%
    await service.entities(4, industry, classes=classes, usccs=list(classes))
    await service.inspectors(SAMR, 3)
    await service.inspectors(NHC, 3)
    matter = await service.matter()
    period = {"start": date(TODAY.year, 1, 1).isoformat(), "end": date(TODAY.year, 12, 31).isoformat()}
    plans = [await service.plan(d, matter["code"], industry, {"D": 1.0}, **period) for d in (SAMR, NHC)]
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p["id"] for p in plans]})).json()
    draw = (await service.post(f"/tasks/{task['id']}/draws", OFFICE)).json()
    assert (await service.post(f"/draws/{draw['draw_id']}/perform", OFFICE)).status_code == 200
    joint = next(x for x in (await service.get(f"/tasks/{task['id']}", OFFICE)).json()["targets"]
                 if len(x["departments"]) == 2)
    base = f"/tasks/{task['id']}/targets/{joint['uscc']}"
    items = [i for p in joint["parts"] for i in p["items"]]
    recorded = await service.post(f"{base}/results", OFFICE, {   # the office records every department's items
        "inspected_on": TODAY.isoformat(), "items": [{"item_code": i, "outcome": "no_problem"} for i in items]})
    assert recorded.status_code == 201, recorded.text
    before = recorded.json()
    assert before["due_provisional"] is True
    previous = date.fromisoformat(before["due_on"])
    assert previous > HOLIDAY
    return task, joint, base, previous


async def test_a_deadline_is_counted_again_with_the_working_days_it_was_counted_with(
        settings, kafka_topics, raw_producer, bootstrap):
    """A result's deadline was counted again with the setting of the day the schedule arrived: inspected on 21
    December with 20 working days, provisionally due 18 January; the setting lowered to 15, then the year
    published with 1 January off, it was moved to 12 January (announced as the schedule's doing) instead of 19
    January. Its own service (run first: the module's calendar does not know GAP_YEAR yet)."""
    async with started(settings, raw_producer, publish_within_workdays=WORKDAYS) as first:
        task, joint, base, previous = await _joint_result_recorded_today(first)
        assert previous == WorkCalendar().add_workdays(TODAY, WORKDAYS)
        # The platform's setting lowered (the service started again with it), then the year's schedule published.
        lowered = dataclasses.replace(first.deps, settings=first.deps.settings.model_copy(
            update={"publish_within_workdays": WORKDAYS - 3}))
        schedule = holidays.schedule(GAP_YEAR, [HOLIDAY], [], notice="国务院办公厅通知（测试）")
        lowered.calendar.apply(schedule)
        async with tail(bootstrap, *(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, d)
                                     for d in (SAMR, NHC))) as t:
            assert await recompute_deadlines(lowered, [schedule]) >= 1
            told = await t.wait_for(of_type("inspection.publication.due-changed.v1", task_id=task["id"],
                                            uscc=joint["uscc"]), count=2, timeout=60)
        counted = (await first.get(base, dept(SAMR))).json()
    assert date.fromisoformat(counted["due_on"]) == next_weekday(previous)   # the holiday pushed it a day
    assert counted["due_provisional"] is False
    assert {date.fromisoformat(m.envelope.data["due_on"]) for m in told} == {next_weekday(previous)}


async def test_a_result_published_while_its_deadline_was_provisional_takes_the_final_one_quietly(
        settings, kafka_topics, raw_producer):
    """Published before the year's schedule was: the target kept its provisional deadline, marked 暂定, for ever
    (only unpublished targets were counted again). Now it takes the final one, and no department is told (their
    results are public already). Its own service, before the module's starts (one group): its calendar does not
    know GAP_YEAR yet."""
    async with started(settings, raw_producer, publish_within_workdays=WORKDAYS) as own:
        task, joint, base, previous = await _joint_result_recorded_today(own)
        published = await own.post(f"{base}/publication", dept(SAMR))
        assert published.status_code == 200, published.text
        schedule = holidays.schedule(GAP_YEAR, [HOLIDAY], [], notice="国务院办公厅通知（测试）")
        own.deps.calendar.apply(schedule)
        assert await recompute_deadlines(own.deps, [schedule]) >= 1
        after = (await own.get(base, dept(SAMR))).json()
        async with own.deps.db.transaction() as session:
            told = (await session.execute(text(
                "SELECT count(*) FROM outbox_batches, unnest(event_types, payloads) AS e(type, payload) "
                "WHERE type = 'inspection.publication.due-changed.v1' "
                "AND position(:uscc in convert_from(payload, 'UTF8')) > 0"), {"uscc": joint["uscc"]})).scalar()
    assert after["published_at"] is not None
    assert date.fromisoformat(after["due_on"]) == next_weekday(previous) and after["due_provisional"] is False
    assert told == 0


async def test_a_published_schedule_moves_a_provisional_publication_deadline_and_departments_are_told(
        service, bootstrap):
    task, joint, base, previous = await _joint_result_recorded_today(service)

    schedule = holidays.schedule(GAP_YEAR, [HOLIDAY], [], notice="国务院办公厅通知（测试）")
    service.deps.calendar.apply(schedule)  # as the service's schedule feed does when the year is published
    async with tail(bootstrap, *(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, d)
                                 for d in (SAMR, NHC))) as t:
        assert await recompute_deadlines(service.deps, [schedule]) >= 1
        told = await t.wait_for(of_type("inspection.publication.due-changed.v1", task_id=task["id"],
                                        uscc=joint["uscc"]), count=2, timeout=60)
    assert {m.topic for m in told} == {f"dept.{SAMR}.inspections.v1", f"dept.{NHC}.inspections.v1"}
    for m in told:
        data = m.envelope.data
        assert date.fromisoformat(data["previous_due_on"]) == previous and data["previous_passed"] is False
        assert date.fromisoformat(data["due_on"]) == next_weekday(previous)  # the holiday pushed it a day
        assert data["due_provisional"] is False and str(GAP_YEAR) in data["reason"]
        assert data["department"] == m.topic.split(".")[1]
    after = (await service.get(base, dept(SAMR))).json()
    assert date.fromisoformat(after["due_on"]) == next_weekday(previous) and after["due_provisional"] is False
    # Final now: counted again with the same schedule, nothing is provisional and nothing moves.
    assert await recompute_deadlines(service.deps, [schedule]) == 0

    # The year corrected (its next revision): the working day after the holiday is a day off too. The final
    # deadline is counted through it, and moves a working day more.
    # The target is held by another transaction meanwhile (a result being recorded): counted once it is free.
    corrected = holidays.with_day(schedule, next_weekday(HOLIDAY), is_workday=False)
    moved = tuple((day, day) for day in service.deps.calendar.days_moved_by(corrected))
    service.deps.calendar.apply(corrected)  # as the feed does, which gives the hook the days moved
    async with service.deps.db.transaction() as holder:
        await holder.execute(select(targets.c.uscc).where(targets.c.task_id == task["id"],
                                                          targets.c.uscc == joint["uscc"]).with_for_update())
        recount = asyncio.create_task(recompute_deadlines(service.deps, [corrected], moved))
        await until_waiting_or_done(service.deps.db, recount, what="the recount")
    assert await recount >= 1
    fixed = (await service.get(base, dept(SAMR))).json()
    assert date.fromisoformat(fixed["due_on"]) == next_weekday(next_weekday(previous))
    assert fixed["due_provisional"] is False

    # Read again at a start (every published schedule applied anew, the days it moved measured against the
    # shipped calendar's): the deadlines were counted with it, so none is read again, nor waited for.
    whole_year = ((date(GAP_YEAR, 1, 1), date(GAP_YEAR, 12, 31)),)
    async with service.deps.db.transaction() as holder:
        await holder.execute(select(targets.c.uscc).where(targets.c.task_id == task["id"],
                                                          targets.c.uscc == joint["uscc"]).with_for_update())
        again = asyncio.create_task(recompute_deadlines(service.deps, [corrected], whole_year))
        await until_waiting_or_done(service.deps.db, again, what="the recount at a start")
        assert again.done(), "the recount waited for a deadline already counted with the schedule"
    assert await again == 0

