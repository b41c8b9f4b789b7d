"""Next year's holiday schedule, end to end: work received now whose deadline counts into a year whose schedule
is not published is provisional; the office uploads the schedule through the gateway and the running registry
and clues services (no restart) recompute it, mark it final and tell the department on its own topics: a
notification's acknowledge-by time, a clue's handling deadline and, while the department has not taken the clue, its
return window. A later correction of a day moves the final deadlines counted through it the same way."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from jsp_common import clock
from jsp_common.workdays import WorkCalendar
from jsp_testkit import front_door, samples
from jsp_testkit.testing import of_type, tail, unique, wait_until


DEPARTMENT = "samr-410100"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def moved_by_one(deadline: str, holiday: date) -> datetime:
    """The deadline one working day later (Monday to Friday), as the holiday pushes it."""
    due = clock.as_local(at(deadline))
    step = due + timedelta(days=1)
    while step.weekday() >= 5:
        step += timedelta(days=1)
    assert due.date() > holiday
    return step


async def test_an_uploaded_schedule_and_its_correction_move_deadlines_and_departments_are_told(
        front, clients, office, bootstrap, schedule_gap):
    gap = schedule_gap
    if gap.workdays > 60:
        pytest.skip(f"the first unknown year {gap.year} is more than 60 working days away")
    assert WorkCalendar().known_until(clock.today()) < date(gap.year, 1, 1)
    # Complex hotline work orders get the number of working days that reach past the holiday-to-be.
    policy = await front.put("/clues/deadline-policies", headers=office["headers"],
                             json={"channel": "hotline", "urgency": "complex", "workdays": gap.workdays})
    assert policy.status_code == 200, policy.text
    hotline, bureau = await clients.system("hotline"), await clients.system("bureau")
    dept = await clients.system("department", department=DEPARTMENT)
    business = samples.food_business_in_zhengzhou()
    try:
        order = samples.work_order(business) | {"urgency": "complex",
                                                "content": f"{business['name']}销售过期食品，要求查处。"}
        async with tail(bootstrap, f"dept.{DEPARTMENT}.clues.v1", f"dept.{DEPARTMENT}.notifications.v1",
                        "market.registration-receipts.v1") as t:
            reg = await front.post("/ingest/registrations", headers={**bureau["headers"], "Idempotency-Key": unique("r")},
                                   json={"type": "market.entity.registered.v1", "data": business})
            assert reg.status_code == 202, reg.text
            wo = await front.post("/ingest/work-orders", headers={**hotline["headers"], "Idempotency-Key": unique("w")},
                                  json={"type": "hotline.work-order.submitted.v1", "data": order})
            assert wo.status_code == 202, wo.text
            accepted = of_type("registry.registration.accepted.v1", uscc=business["uscc"])
            # the platform's registry (a registry of another test may share the broker)
            [receipt] = await t.wait_for(lambda m: accepted(m) and m.envelope.source == "/jsp/registry", timeout=60)
            assert DEPARTMENT in await front_door.responsible_departments(
                front, office["headers"], receipt.envelope.data, otherwise=DEPARTMENT)
            [dispatched] = await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=order["work_order_no"]),
                                            timeout=60)
            clue_id = dispatched.envelope.data["clue_id"]
            assert dispatched.envelope.data["deadline_provisional"] is True
            assert dispatched.envelope.data["role"] == "lead"  # the one that may return it
            before = (await front.get(f"/clues/clues/{clue_id}", headers=dept["headers"])).json()
            assert before["deadline_provisional"] is True and before["return_deadline_provisional"] is True
            assert at(before["deadline"]) == at(dispatched.envelope.data["deadline"])
            assert at(before["return_deadline"]) == at(dispatched.envelope.data["return_deadline"])

            async def notification():
                page = await front.get("/registry/notifications", params={"uscc": business["uscc"]},
                                       headers=dept["headers"])
                return page.json()["items"]
            [note] = await wait_until(notification, timeout=60, what="the department's notification")
            assert note["acknowledge_by_provisional"] is True

            upload = await front.put(f"/calendar/years/{gap.year}", headers=office["headers"],
                                     json={"holidays": [gap.holiday.isoformat()], "notice": "国务院办公厅通知（测试）"})
            assert upload.status_code in (200, 201), upload.text

            [changed] = await t.wait_for(of_type("clues.clue.deadline-changed.v1", clue_id=clue_id), timeout=60)
            [window] = await t.wait_for(of_type("clues.clue.return-deadline-changed.v1", clue_id=clue_id),
                                        timeout=60)
            [due] = await t.wait_for(of_type("registry.notification.due-changed.v1", notification_id=note["id"]),
                                     timeout=60)
        returnable = window.envelope.data
        assert at(returnable["previous_return_deadline"]) == at(before["return_deadline"])
        assert at(returnable["return_deadline"]) == moved_by_one(before["return_deadline"], gap.holiday)
        assert returnable["return_deadline_provisional"] is False and returnable["previous_passed"] is False
        data = changed.envelope.data
        assert at(data["previous_deadline"]) == at(before["deadline"]) and data["previous_passed"] is False
        assert at(data["deadline"]) == moved_by_one(before["deadline"], gap.holiday)
        assert data["deadline_provisional"] is False and str(gap.year) in data["reason"]
        after = (await front.get(f"/clues/clues/{clue_id}", headers=dept["headers"])).json()
        assert at(after["deadline"]) == at(data["deadline"]) and after["deadline_provisional"] is False
        assert at(after["return_deadline"]) == at(returnable["return_deadline"])
        assert after["return_deadline_provisional"] is False
        [recorded] = [h for h in after["history"] if h["action"] == "recompute_deadline"]
        assert at(recorded["details"]["previous_deadline"]) == at(before["deadline"])

        assert at(due.envelope.data["acknowledge_by"]) == moved_by_one(
            note["acknowledge_by"], gap.holiday)
        assert due.envelope.data["acknowledge_by_provisional"] is False
        now = (await front.get(f"/registry/notifications/{note['id']}", headers=dept["headers"])).json()
        assert now["acknowledge_by_provisional"] is False
        assert at(now["acknowledge_by"]) == at(due.envelope.data["acknowledge_by"])

        # The office corrects the year (its revision 2): the working day after the holiday is a day off too. The
        # deadlines are final now, and both run through that day: each moves one working day more.
        day_off = gap.holiday + timedelta(days=1)
        while day_off.weekday() >= 5:
            day_off += timedelta(days=1)
        assert day_off.year == gap.year
        async with tail(bootstrap, f"dept.{DEPARTMENT}.clues.v1", f"dept.{DEPARTMENT}.notifications.v1") as t:
            fix = await front.put(f"/calendar/days/{day_off.isoformat()}", headers=office["headers"],
                                  json={"is_workday": False})
            assert fix.status_code == 200 and fix.json()["revision"] == upload.json()["revision"] + 1, fix.text
            [changed] = await t.wait_for(of_type("clues.clue.deadline-changed.v1", clue_id=clue_id), timeout=60)
            [window] = await t.wait_for(of_type("clues.clue.return-deadline-changed.v1", clue_id=clue_id),
                                        timeout=60)
            [due] = await t.wait_for(of_type("registry.notification.due-changed.v1", notification_id=note["id"]),
                                     timeout=60)
        assert at(window.envelope.data["return_deadline"]) == moved_by_one(after["return_deadline"], day_off)
        data = changed.envelope.data
        assert at(data["previous_deadline"]) == at(after["deadline"]) and data["deadline_provisional"] is False
        assert at(data["deadline"]) == moved_by_one(after["deadline"], day_off)
        assert f"{gap.year} (revision {fix.json()['revision']}" in data["reason"]
        assert at(due.envelope.data["previous_acknowledge_by"]) == at(now["acknowledge_by"])
        assert at(due.envelope.data["acknowledge_by"]) == moved_by_one(now["acknowledge_by"], day_off)
        corrected = (await front.get(f"/clues/clues/{clue_id}", headers=dept["headers"])).json()
        assert at(corrected["deadline"]) == at(data["deadline"]) and corrected["deadline_provisional"] is False
    finally:
        await front.put("/clues/deadline-policies", headers=office["headers"],
                        json={"channel": "hotline", "urgency": "complex", "workdays": 15})
