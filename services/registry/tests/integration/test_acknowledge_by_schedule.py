"""An acknowledge-by time counted through a year whose holiday schedule is not published yet is counted again when
the schedule arrives: with the working days the notification was issued with, whatever the setting says by then."""

from __future__ import annotations

import dataclasses
import time
from datetime import date, datetime, time as clock_time, timedelta

from jsp_common import clock, holidays
from jsp_common.topics import NOTIFICATIONS, department_topic
from jsp_common.workdays import WorkCalendar
from jsp_testkit.testing import of_type, tail

from registry.usecases import notifications

SAMR_ZZ = department_topic(NOTIFICATIONS, "samr-410100")
GAP_YEAR = WorkCalendar().known_until(clock.today()).year + 1  # the first year the platform has no schedule for
NEW_YEAR = next(d for d in (date(GAP_YEAR, 1, 1) + timedelta(days=n) for n in range(7)) if d.weekday() < 5)
# Two working days before the year's first weekday (its New Year's Day, a holiday once the schedule says so): in
# 2026, Wednesday 2026-12-30.
ISSUED = datetime.combine(WorkCalendar().add_workdays(NEW_YEAR, -2), clock_time(10), clock.TZ)


def published() -> tuple[holidays.YearSchedule, WorkCalendar]:
    """The gap year's schedule (its first weekday a holiday), and a calendar counting with it, as the service's
    schedule feed makes it. A revision above whatever an earlier run recorded as counted with."""
    schedule = holidays.schedule(GAP_YEAR, [NEW_YEAR], [], notice="国务院办公厅通知（测试）",
                                 revision=int(time.time()))
    calendar = WorkCalendar()
    calendar.apply(schedule)
    return schedule, calendar


def issued_to(uscc: str, kind: str):
    return lambda m: (m.topic == SAMR_ZZ and of_type("registry.notification.issued.v1", kind=kind)(m)
                      and m.envelope.data["entity"]["uscc"] == uscc)


async def test_a_deadline_is_counted_again_with_the_working_days_it_was_issued_with(
        registry, raw_producer, bootstrap, kit):
    """A notification issued on 2026-12-30 with three working days to acknowledge is due, provisionally, on
    2027-01-04 (New Year's Day counted as a working day). The office then gives departments five working days, and
    publishes 2027: the notification moved to 2027-01-07, announced as the holiday schedule published, where three
    working days without the holiday end on 2027-01-05."""
    deps = registry.runtime.deps
    assert deps.settings.ack_workdays == 3
    code = kit.new_uscc("410105")
    async with tail(bootstrap, SAMR_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(code)), code)
        [new] = await t.wait_for(kit.mine(issued_to(code, "new_responsibility")))
    nid = new.envelope.data["notification_id"]
    provisional = WorkCalendar().add_workdays(ISSUED, 3)  # Monday to Friday through the year not published
    assert provisional.date() > NEW_YEAR
    # As issued then (the clock moved back to that day): due provisionally.
    await registry.fetchval("UPDATE notifications SET issued_at = $2, acknowledge_by = $3, next_reminder_at = $3, "
                            "acknowledge_by_provisional = true WHERE id = $1 RETURNING id", nid, ISSUED, provisional)

    schedule, calendar = published()
    later = dataclasses.replace(deps, calendar=calendar, settings=deps.settings.model_copy(update={"ack_workdays": 5}))
    async with tail(bootstrap, SAMR_ZZ) as t:
        assert await notifications.recompute_deadlines(later, [schedule], now=ISSUED + timedelta(hours=1)) >= 1
        [moved] = await t.wait_for(kit.mine(of_type("registry.notification.due-changed.v1", notification_id=nid)))
    final = calendar.add_workdays(ISSUED, 3)  # 2027-01-05 for 2026-12-30
    assert final == calendar.add_workdays(provisional, 1) and final != calendar.add_workdays(ISSUED, 5)
    data = moved.envelope.data
    assert datetime.fromisoformat(data["previous_acknowledge_by"]) == provisional
    assert datetime.fromisoformat(data["acknowledge_by"]) == final and data["acknowledge_by_provisional"] is False
    assert f"holiday schedule published: {GAP_YEAR}" in data["reason"]
    shown = (await registry.call("GET", f"/notifications/{nid}", kit.department("samr-410100"))).json()
    assert datetime.fromisoformat(shown["acknowledge_by"]) == final and shown["acknowledge_by_provisional"] is False
