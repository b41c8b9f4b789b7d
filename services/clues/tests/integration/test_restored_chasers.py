"""A chaser sent again from a restored database is the one the department has (same event id); the chaser of
a deadline moved later is a new one."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import update

from jsp_common.clock import TZ
from jsp_common.workdays import deadline_end_of
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique

from clues.adapters.tables import clues as clues_table
from clues.usecases.deadlines import scan_deadlines

KAIFENG_SAMR = "dept.samr-410200.clues.v1"
CHASED = "clues.clue.chased.v1"


async def test_a_chaser_sent_again_after_a_restore_keeps_its_id(service, bootstrap):
    tuesday = date(2095, 1, 11)  # this test's own year: no schedule published, Monday to Friday count
    no = unique("WO")
    async with tail(bootstrap, KAIFENG_SAMR) as t:
        await service.work_order(no, "开封市龙亭区某超市销售过期食品。", address="河南省开封市龙亭区",
                                 uscc=new_uscc("410202"))
        clue_id = (await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no)))[0].envelope.data["clue_id"]
    async with service.deps.db.transaction() as s:
        await s.execute(update(clues_table).where(clues_table.c.id == clue_id)
                        .values(deadline=deadline_end_of(tuesday), deadline_provisional=False))

    async def chase(day: date) -> list[str]:
        """The periodic scan on ``day`` morning: the ids of this clue's chasers on the department's topic."""
        async with tail(bootstrap, KAIFENG_SAMR) as t:
            await scan_deadlines(service.deps, now=datetime.combine(day, time(9), TZ))
            got = await t.wait_for(of_type(CHASED, clue_id=clue_id))
        return [m.envelope.id for m in got]

    monday = tuesday - timedelta(days=1)
    [first] = await chase(monday)  # one working day left

    # The database restored to before the scan (the clue not chased yet), and the scan runs again.
    async with service.deps.db.transaction() as s:
        await s.execute(update(clues_table).where(clues_table.c.id == clue_id).values(chased_at=None))
    assert await chase(monday) == [first]  # the same chaser: consumers' inboxes skip it

    # Three more working days granted: the new deadline (Friday) has a chaser of its own.
    samr = dept("samr-410200")
    assert (await service.post(f"/clues/{clue_id}/accept", samr)).status_code == 200
    r = await service.post(f"/clues/{clue_id}/extensions", samr, {"workdays": 3, "reason": "需委托检测机构检验"})
    assert r.status_code == 200, r.text
    r = await service.post(f"/clues/{clue_id}/extensions/{r.json()['id']}/decision", OFFICE, {"approved": True})
    assert r.status_code == 200, r.text
    [second] = await chase(tuesday + timedelta(days=2))  # Thursday: one working day left
    assert second != first
