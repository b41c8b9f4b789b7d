"""An alert's response deadline counted in working days through a year whose holiday schedule is not published
yet is provisional; when the schedule arrives it is counted again, marked final, recorded on the alert's
history and announced on the general alerts topic and each responsible department's topic, both times given;
counted again on a restored database, the change is announced under the ids it first had. A correction of a
day it is counted through moves it again."""

from __future__ import annotations

import dataclasses
import time
from datetime import date, datetime, time as clock_time, timedelta

import pytest
from sqlalchemy import select, text, update

from jsp_common import clock, holidays
from jsp_common.workdays import WorkCalendar
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique

from risk.adapters.tables import alerts
from risk.usecases.schedules import recompute_deadlines

ALERTS = "risk.alerts.v1"
SAMR, NHC = "samr-410100", "nhc-410100"
TODAY = clock.today()
GAP_YEAR = WorkCalendar().known_until(TODAY).year + 1  # the first year the platform has no schedule for
HOLIDAY = next(d for d in (date(GAP_YEAR, 1, 1) + timedelta(days=n) for n in range(7)) if d.weekday() < 5)
# Enough working days that an alert raised now is due a week into that year.
WORKDAYS = WorkCalendar().workdays_between(TODAY, HOLIDAY) + 5
# Two working days before the holiday (in 2026, Wednesday 2026-12-30): three working days from it end,
# provisionally, the working day after the holiday, and a working day later once the year is published.
RAISED = datetime.combine(WorkCalendar().add_workdays(HOLIDAY, -2), clock_time(10), clock.TZ)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def next_weekday(moment: datetime) -> datetime:
    moment = clock.as_local(moment) + timedelta(days=1)
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


async def test_a_published_schedule_moves_a_provisional_response_deadline_and_departments_are_told(
        service, bootstrap):
    if WORKDAYS > 60:
        pytest.skip(f"the first unknown year {GAP_YEAR} is more than 60 working days away (a plan's limit)")
    current = (await service.client.get("/models/current", headers=OFFICE)).json()["model"]
    blue_in_workdays = {**current, "plans": [{**p, "respond_within_workdays": WORKDAYS} if p["level"] == "blue"
                                             else p for p in current["plans"]]}
    r = await service.post("/models", OFFICE, {"model": blue_in_workdays, "note": "blue answered in the new year"})
    assert r.status_code == 201, r.text
    try:
        uscc = new_uscc()
        await service.entity(uscc, [SAMR, NHC])
        async with tail(bootstrap, ALERTS) as t:
            for _ in range(2):  # two substantiated clues: 34 points, blue
                await service.clue_handled(uscc, unique("CL"), SAMR)
            [raised] = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"), timeout=60)
        data = raised.envelope.data
        assert data["respond_by_provisional"] is True and at(data["respond_by"]).date() > HOLIDAY
        alert_id, departments = data["alert_id"], data["departments"]
        assert (await service.client.get(f"/alerts/{alert_id}", headers=dept(SAMR))).json()["respond_by_provisional"]

        # A revision above what an earlier run left: the database keeps the schedule its deadlines were last
        # counted with, never replaced by a lower revision, and a correction with the days it holds moves nothing.
        schedule = holidays.schedule(GAP_YEAR, [HOLIDAY], [], notice="国务院办公厅通知（测试）",
                                     revision=int(time.time()))
        service.deps.calendar.apply(schedule)  # as the service's schedule feed does when the year is published
        async with service.deps.db.transaction() as s:
            before = dict((await s.execute(select(alerts).where(alerts.c.id == alert_id))).mappings().one())

        async def recount() -> list:
            """The recomputation, and what it announced about the alert."""
            async with tail(bootstrap, ALERTS, *(f"dept.{d}.alerts.v1" for d in departments)) as t:
                assert await recompute_deadlines(service.deps, [schedule]) >= 1
                return await t.wait_for(of_type("risk.alert.respond-by-changed.v1", alert_id=alert_id),
                                        count=1 + len(departments), timeout=60)

        told = await recount()
        assert sorted(m.topic for m in told) == sorted([ALERTS, *(f"dept.{d}.alerts.v1" for d in departments)])
        changed = told[0].envelope.data
        assert at(changed["previous_respond_by"]) == at(data["respond_by"]) and changed["previous_passed"] is False
        assert at(changed["respond_by"]) == next_weekday(at(data["respond_by"]))  # the holiday pushed it a day
        assert changed["respond_by_provisional"] is False and str(GAP_YEAR) in changed["reason"]

        after = (await service.client.get(f"/alerts/{alert_id}", headers=OFFICE)).json()
        assert at(after["respond_by"]) == at(changed["respond_by"]) and after["respond_by_provisional"] is False
        [recorded] = [h for h in after["history"] if h["action"] == "recompute_respond_by"]
        assert at(recorded["details"]["previous_respond_by"]) == at(data["respond_by"])
        # Final now: counted again with the same schedule, nothing is provisional and nothing moves.
        assert await recompute_deadlines(service.deps, [schedule]) == 0

        # The database restored to before the recomputation (the alert as it was): counted again with the same
        # schedules, the change is announced under the ids it first had (consumers' inboxes skip it).
        async with service.deps.db.transaction() as s:
            await s.execute(update(alerts).where(alerts.c.id == alert_id).values(**before))
        assert sorted(m.envelope.id for m in await recount()) == sorted(m.envelope.id for m in told)

        # The year corrected (its next revision): the working day after the holiday is a day off too. The final
        # deadline is counted through it, and moves a working day more.
        corrected = holidays.with_day(schedule, next_weekday(datetime.combine(HOLIDAY, datetime.min.time(),
                                                                              clock.TZ)).date(), is_workday=False)
        moved = tuple((day, day) for day in service.deps.calendar.days_moved_by(corrected))
        service.deps.calendar.apply(corrected)  # as the feed does, which gives the hook the days moved
        assert await recompute_deadlines(service.deps, [corrected], moved) >= 1
        fixed = (await service.client.get(f"/alerts/{alert_id}", headers=OFFICE)).json()
        assert at(fixed["respond_by"]) == next_weekday(at(changed["respond_by"]))
        assert fixed["respond_by_provisional"] is False
    finally:
        r = await service.post("/models", OFFICE, {"model": current, "note": "back to the model before this test"})
        assert r.status_code == 201, r.text


async def test_an_alert_answered_while_its_deadline_was_provisional_takes_the_final_one_quietly(service, bootstrap):
    """An alert answered while its response deadline was provisional: once the year's schedule was published it stayed
    provisional for ever (暂定 on the API and the dashboard). Now it takes its final deadline, recorded on its
    history; the departments, done with it, are not told of a new deadline (as for a finished clue), while an
    alert still to answer is."""
    ids = {}
    for role in ("answered", "unanswered"):
        uscc = new_uscc()
        await service.entity(uscc, [SAMR])
        async with tail(bootstrap, ALERTS) as t:
            for _ in range(2):  # two substantiated clues: an alert
                await service.clue_handled(uscc, unique("CL"), SAMR)
            [raised] = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc), timeout=60)
        ids[role] = raised.envelope.data["alert_id"]
    # As raised then (the clock moved back to that day), three working days to answer: due provisionally.
    provisional = WorkCalendar().add_workdays(RAISED, 3)
    async with service.deps.db.transaction() as s:
        await s.execute(update(alerts).where(alerts.c.id.in_(list(ids.values()))).values(
            raised_at=RAISED, respond_within_workdays=3, respond_by=provisional, respond_by_provisional=True))
    r = await service.post(f"/alerts/{ids['answered']}/response", dept(SAMR), {"measures": "已责令停业整改"})
    assert r.status_code == 200, r.text

    schedule = holidays.schedule(GAP_YEAR, [HOLIDAY], [], notice="国务院办公厅通知（测试）", revision=int(time.time()))
    calendar = WorkCalendar()
    calendar.apply(schedule)  # as the service's schedule feed does when the year is published
    async with tail(bootstrap, ALERTS) as t:
        assert await recompute_deadlines(dataclasses.replace(service.deps, calendar=calendar), [schedule]) >= 1
        await t.wait_for(of_type("risk.alert.respond-by-changed.v1", alert_id=ids["unanswered"]), timeout=60)

    final = calendar.add_workdays(RAISED, 3)
    assert final == calendar.add_workdays(provisional, 1)
    answered = (await service.client.get(f"/alerts/{ids['answered']}", headers=dept(SAMR))).json()
    assert answered["state"] == "responded"
    assert at(answered["respond_by"]) == final and answered["respond_by_provisional"] is False
    [recorded] = [h for h in answered["history"] if h["action"] == "recompute_respond_by"]
    assert at(recorded["details"]["respond_by"]) == final and recorded["details"]["announced"] is False

    async def announced(alert_id: str) -> int:
        async with service.deps.db.transaction() as s:
            return (await s.execute(text(
                "SELECT count(*) FROM outbox_batches, unnest(event_types, payloads) AS e(type, payload) "
                "WHERE type = 'risk.alert.respond-by-changed.v1' "
                "AND position(:id in convert_from(payload, 'UTF8')) > 0"), {"id": alert_id})).scalar_one()
    assert await announced(ids["unanswered"]) >= 1 and await announced(ids["answered"]) == 0
