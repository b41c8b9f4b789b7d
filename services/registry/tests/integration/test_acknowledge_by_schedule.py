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


async def announced(registry, nid: str) -> int:
    """How many due-changed events about notification ``nid`` the registry has written to its outbox (every event it
    publishes goes there first, in the transaction that decides it)."""
    return await registry.fetchval(
        "SELECT count(*) FROM outbox_batches, unnest(event_types, payloads) AS e(type, payload) "
        "WHERE type = 'registry.notification.due-changed.v1' AND position($1 in convert_from(payload, 'UTF8')) > 0",
        nid)


async def as_issued_provisionally(registry, nid: str) -> datetime:
    """The notification as issued on ``ISSUED`` (the clock moved back to that day), due provisionally; that time."""
    provisional = WorkCalendar().add_workdays(ISSUED, 3)
    await registry.fetchval("UPDATE notifications SET issued_at = $2, acknowledge_by = $3, next_reminder_at = $3, "
                            "acknowledge_by_provisional = true WHERE id = $1 RETURNING id", nid, ISSUED, provisional)
    return provisional


async def test_a_notice_acknowledged_while_its_time_was_provisional_gets_the_final_time_quietly(
        registry, raw_producer, bootstrap, kit):
    """A notice acknowledged the morning after its provisional time, having been reminded as overdue: counted late.
    The year's schedule then put the time a working day later. The notice stayed provisional for ever (暂定 on the
    API and the dashboard) and late against a time that never was. Now it takes the final time, not provisional,
    and its history records the acknowledgement as in time against it; the department, done with it, is not told
    of a new time (as for a finished clue)."""
    deps, samr = registry.runtime.deps, kit.department("samr-410100")
    code, other = kit.new_uscc("410105"), kit.new_uscc("410105")
    async with tail(bootstrap, SAMR_ZZ) as t:
        for uscc in (code, other):
            await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(uscc)),
                           uscc)
        [new] = await t.wait_for(kit.mine(issued_to(code, "new_responsibility")))
        [live] = await t.wait_for(kit.mine(issued_to(other, "new_responsibility")))
    nid, live_id = new.envelope.data["notification_id"], live.envelope.data["notification_id"]
    provisional = await as_issued_provisionally(registry, nid)
    await as_issued_provisionally(registry, live_id)  # still to be acknowledged: told of its final time
    await registry.fetchval("UPDATE notifications SET reminder_count = 1, last_reminded_at = $2, overdue_since = $2 "
                            "WHERE id = $1 RETURNING id", nid, provisional + timedelta(seconds=1))
    acknowledged = (await registry.call("POST", f"/notifications/{nid}/acknowledgement", samr)).json()
    assert acknowledged["acknowledge_by_provisional"] is True and acknowledged["acknowledged_at"]
    # acknowledged the next morning (the clock moved back with it)
    await registry.fetchval("UPDATE notifications SET acknowledged_at = $2 WHERE id = $1 RETURNING id", nid,
                            provisional + timedelta(hours=10))

    schedule, calendar = published()
    async with tail(bootstrap, SAMR_ZZ) as t:
        assert await notifications.recompute_deadlines(dataclasses.replace(deps, calendar=calendar), [schedule],
                                                       now=ISSUED + timedelta(hours=1)) >= 1
        await t.wait_for(kit.mine(of_type("registry.notification.due-changed.v1", notification_id=live_id)))
    final = calendar.add_workdays(ISSUED, 3)
    shown = (await registry.call("GET", f"/notifications/{nid}", samr)).json()
    assert datetime.fromisoformat(shown["acknowledge_by"]) == final and shown["acknowledge_by_provisional"] is False
    assert await announced(registry, live_id) == 1 and await announced(registry, nid) == 0
    history = (await registry.call("GET", f"/entities/{code}/history", samr)).json()
    [moved] = [d for d in history["decisions"] if d["action"] == "notification_due_changed"]
    assert moved["details"]["notification_id"] == nid and moved["details"]["was_overdue"] is False
    assert datetime.fromisoformat(moved["details"]["acknowledge_by"]) == final
    assert datetime.fromisoformat(moved["details"]["previous_acknowledge_by"]) == provisional
    # Final now: counted again with the same schedule, nothing moves.
    assert await notifications.recompute_deadlines(dataclasses.replace(deps, calendar=calendar), [schedule]) == 0


async def test_a_superseded_notice_is_not_announced_a_new_time_nor_made_overdue_afresh(
        registry, raw_producer, bootstrap, kit):
    """The regulator told to supervise a restaurant, then told its responsibility ended when the business turned to
    chemicals: its first notice is moot. Both due provisionally, the year's schedule published: the regulator was
    told the moot notice's new time, and the notice's overdue mark was reset. Now only the live notice is announced;
    the moot one takes its final time quietly, its record otherwise as it was."""
    deps, code = registry.runtime.deps, kit.new_uscc("410105")
    async with tail(bootstrap, SAMR_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(code)), code)
        [first] = await t.wait_for(kit.mine(issued_to(code, "new_responsibility")))
        chemicals = kit.entity_data(code, industry_code="5169", business_scope="危险化学品经营",
                                    occurred_at=clock.now().isoformat(), changed_items=["经营范围"])
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.changed.v1", chemicals), code)
        [ended] = await t.wait_for(kit.mine(issued_to(code, "responsibility_ended")))
    moot, live = first.envelope.data["notification_id"], ended.envelope.data["notification_id"]
    for nid in (moot, live):
        provisional = await as_issued_provisionally(registry, nid)
    overdue_since = provisional + timedelta(seconds=1)
    await registry.fetchval("UPDATE notifications SET overdue_since = $2 WHERE id = $1 RETURNING id", moot,
                            overdue_since)

    schedule, calendar = published()
    async with tail(bootstrap, SAMR_ZZ) as t:
        assert await notifications.recompute_deadlines(dataclasses.replace(deps, calendar=calendar), [schedule],
                                                       now=ISSUED + timedelta(hours=1)) >= 1
        await t.wait_for(kit.mine(of_type("registry.notification.due-changed.v1", notification_id=live)))
    assert await announced(registry, live) == 1 and await announced(registry, moot) == 0
    shown = (await registry.call("GET", f"/notifications/{moot}", kit.department("samr-410100"))).json()
    assert shown["superseded"] is True and shown["acknowledge_by_provisional"] is False
    assert datetime.fromisoformat(shown["acknowledge_by"]) == calendar.add_workdays(ISSUED, 3)
    assert await registry.fetchval("SELECT overdue_since FROM notifications WHERE id = $1", moot) == overdue_since
