"""Overdue dual notifications: a notice the department must supervise an entity is neither chased nor counted
overdue once its responsibility for that entity ended."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from jsp_common import clock
from jsp_common.schedule_feed import ScheduleFeed
from jsp_common.workdays import WorkCalendar
from jsp_common.topics import NOTIFICATIONS, department_topic
from jsp_testkit.testing import of_type, tail

from registry.usecases import notifications

SAMR_ZZ, MEM_ZZ = (department_topic(NOTIFICATIONS, d) for d in ("samr-410100", "mem-410100"))


def issued_to(topic: str, uscc: str, kind: str):
    return lambda m: (m.topic == topic and of_type("registry.notification.issued.v1", kind=kind)(m)
                      and m.envelope.data["entity"]["uscc"] == uscc)


async def registered(raw_producer, bootstrap, kit):
    """A food business registered in Zhengzhou: its USCC and the market regulator's new-responsibility notice."""
    code = kit.new_uscc("410105")
    async with tail(bootstrap, SAMR_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(code)), code)
        [new] = await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, "new_responsibility")))
    return code, new


async def acknowledged_in_time(registry, bootstrap, kit, who: dict, nid: str) -> None:
    """The department acknowledges the notice: published as acknowledged, not overdue."""
    async with tail(bootstrap, SAMR_ZZ) as t:
        assert (await registry.call("POST", f"/notifications/{nid}/acknowledgement", who)).status_code == 200
        await t.wait_for(kit.mine(of_type("registry.notification.acknowledged.v1", notification_id=nid,
                                          was_overdue=False)))


async def test_a_department_no_longer_responsible_is_not_reminded_to_acknowledge_supervising(
        registry, raw_producer, bootstrap, kit):
    """A restaurant the market regulator was told to supervise turns to selling hazardous chemicals only: the
    regulator is told its responsibility ended, the emergency bureau is told it now supervises. The regulator was
    then reminded every working day to acknowledge supervising the entity it no longer supervised."""
    code = kit.new_uscc("410105")
    async with tail(bootstrap, SAMR_ZZ, MEM_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(code)), code)
        [new] = await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, "new_responsibility")))
        chemicals = kit.entity_data(code, industry_code="5169", business_scope="危险化学品经营",
                                    occurred_at=clock.now().isoformat(), changed_items=["经营范围"])
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.changed.v1", chemicals), code)
        [ended] = await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, "responsibility_ended")))
        [taken] = await t.wait_for(kit.mine(issued_to(MEM_ZZ, code, "new_responsibility")))
    deps, later = registry.runtime.deps, clock.now() + timedelta(days=30)
    while await notifications.remind_overdue(deps, now=later):
        pass
    counts = {n: await registry.fetchval("SELECT reminder_count FROM notifications WHERE id = $1", n)
              for n in (m.envelope.data["notification_id"] for m in (new, ended, taken))}
    assert list(counts.values()) == [0, 1, 1]  # the ended notice and the new department's are reminded

    # Past its acknowledge-by time, the moot notice is not held against the regulator either (it was listed overdue).
    first, samr = new.envelope.data["notification_id"], kit.department("samr-410100")
    await registry.fetchval("UPDATE notifications SET acknowledge_by = now() - interval '1 day' WHERE id = $1 "
                            "RETURNING id", first)
    listed = (await registry.call("GET", f"/notifications?uscc={code}&overdue=true", samr)).json()
    assert [n["kind"] for n in listed["items"]] == ["responsibility_ended"]
    shown = (await registry.call("GET", f"/notifications/{first}", samr)).json()
    assert shown["superseded"] is True and shown["overdue"] is False
    await acknowledged_in_time(registry, bootstrap, kit, samr, first)


async def test_a_deadline_counted_again_to_a_later_time_is_no_longer_overdue_nor_reminded_before_it(
        registry, raw_producer, bootstrap, kit):
    """An acknowledge-by time counted provisionally (the year's holidays not published) passed and the regulator was
    reminded; the schedule published moved the time days ahead. The notice stayed overdue, was reminded every
    working day until then, and acknowledged in time it counted as late."""
    code, new = await registered(raw_producer, bootstrap, kit)
    nid, deps = new.envelope.data["notification_id"], registry.runtime.deps
    issued = datetime.fromisoformat(new.envelope.data["issued_at"])
    counted = issued + timedelta(hours=1)  # as counted provisionally, then reached and passed
    await registry.fetchval("UPDATE notifications SET acknowledge_by = $2, next_reminder_at = $2, "
                            "acknowledge_by_provisional = true WHERE id = $1 RETURNING id", nid, counted)
    reminded_at = counted + timedelta(minutes=1)
    while await notifications.remind_overdue(deps, now=reminded_at):
        pass
    assert await registry.fetchval("SELECT reminder_count FROM notifications WHERE id = $1", nid) == 1

    # The schedule is published: counted again, the time is days ahead.
    async with tail(bootstrap, SAMR_ZZ) as t:
        assert await notifications.recompute_deadlines(deps, [], now=reminded_at) >= 1
        [moved] = await t.wait_for(kit.mine(of_type("registry.notification.due-changed.v1", notification_id=nid)))
    due = datetime.fromisoformat(moved.envelope.data["acknowledge_by"])
    assert due > reminded_at + timedelta(days=1) and moved.envelope.data["previous_passed"] is True

    samr = kit.department("samr-410100")
    shown = (await registry.call("GET", f"/notifications/{nid}", samr)).json()
    assert (shown["overdue"], shown["reminder_count"]) == (False, 1)  # the reminder sent stays on the record
    listed = (await registry.call("GET", f"/notifications?uscc={code}&overdue=true", samr)).json()
    assert listed["total"] == 0
    # Not reminded again before the new time (it was, every working day); first at it.
    while await notifications.remind_overdue(deps, now=due - timedelta(minutes=1)):
        pass
    assert await registry.fetchval("SELECT reminder_count FROM notifications WHERE id = $1", nid) == 1
    assert await registry.fetchval("SELECT next_reminder_at FROM notifications WHERE id = $1", nid) == due
    await acknowledged_in_time(registry, bootstrap, kit, samr, nid)


async def test_a_notice_superseded_stays_so_when_the_department_becomes_responsible_again(
        registry, raw_producer, bootstrap, kit):
    """The regulator told to supervise a restaurant, told its responsibility ended when the business turned to
    chemicals, then told anew when it turned back: its first notice counted again as live (the record named it
    again), so it was reminded and listed overdue beside the new one."""
    code, now = kit.new_uscc("410105"), clock.now()
    food = kit.entity_data(code, occurred_at=(now - timedelta(minutes=30)).isoformat())
    chemicals = kit.entity_data(code, industry_code="5169", business_scope="危险化学品经营",
                                occurred_at=(now - timedelta(minutes=20)).isoformat(), changed_items=["经营范围"])
    back = {**food, "occurred_at": (now - timedelta(minutes=10)).isoformat(), "changed_items": ["经营范围"]}
    async with tail(bootstrap, SAMR_ZZ, MEM_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", food), code)
        [first] = await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, "new_responsibility")))
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.changed.v1", chemicals), code)
        await t.wait_for(kit.mine(issued_to(SAMR_ZZ, code, "responsibility_ended")))
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.changed.v1", back), code)
        await t.wait_for(kit.mine(issued_to(MEM_ZZ, code, "responsibility_ended")))
        [again] = await t.wait_for(kit.mine(lambda m: issued_to(SAMR_ZZ, code, "new_responsibility")(m)
                                            and m.envelope.data["notification_id"] != first_id(first)))
    while await notifications.remind_overdue(registry.runtime.deps, now=clock.now() + timedelta(days=30)):
        pass
    reminded = {n: await registry.fetchval("SELECT reminder_count FROM notifications WHERE id = $1", n)
                for n in (first_id(first), first_id(again))}
    assert list(reminded.values()) == [0, 1]  # the new notice is the live one

    samr = kit.department("samr-410100")
    shown = (await registry.call("GET", f"/notifications/{first_id(first)}", samr)).json()
    assert shown["superseded"] is True and shown["overdue"] is False
    listed = (await registry.call("GET", f"/notifications?uscc={code}&overdue=true", samr)).json()
    assert sorted((n["kind"], n["id"] == first_id(again)) for n in listed["items"]) == [
        ("new_responsibility", True), ("responsibility_ended", False)]


def first_id(message) -> str:
    return message.envelope.data["notification_id"]


async def test_a_deadline_counted_before_the_packaged_calendar_knew_its_year_is_counted_again_at_start(
        registry, raw_producer, bootstrap, kit):
    """An acknowledge-by time counted while the installed calendar package did not know the year (provisional,
    Monday to Friday), then a release of the package that knows it deployed, and no schedule published for the
    year: at start the service counts it again with the package's holidays. It stayed provisional for ever, and
    was never counted with the year's holidays."""
    _, new = await registered(raw_producer, bootstrap, kit)
    nid, deps = new.envelope.data["notification_id"], registry.runtime.deps
    issued = datetime.fromisoformat(new.envelope.data["issued_at"])
    assert deps.calendar.schedule_of(issued.year) is None and WorkCalendar.has_official_data(issued.year)
    counted = issued + timedelta(days=7)  # Monday to Friday, by the release that did not know the year
    await registry.fetchval("UPDATE notifications SET acknowledge_by = $2, acknowledge_by_provisional = true "
                            "WHERE id = $1 RETURNING id", nid, counted)

    feed = ScheduleFeed(deps.calendar, on_change=partial(notifications.recompute_deadlines, deps),
                        bootstrap_servers=bootstrap)  # what the service's start runs
    async with tail(bootstrap, SAMR_ZZ) as t:
        await feed.start()
        await feed.stop()
        [moved] = await t.wait_for(kit.mine(of_type("registry.notification.due-changed.v1", notification_id=nid)))
    assert moved.envelope.data["acknowledge_by_provisional"] is False
    assert "packaged calendar" in moved.envelope.data["reason"]
    assert await registry.fetchval("SELECT acknowledge_by_provisional FROM notifications WHERE id = $1", nid) is False
    # counted with the package's holidays, it is the time the service counts for a notice issued with it
    assert await registry.fetchval("SELECT acknowledge_by FROM notifications WHERE id = $1", nid) == \
        datetime.fromisoformat(new.envelope.data["acknowledge_by"])
