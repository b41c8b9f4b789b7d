"""Dual notifications on the dashboard against real Kafka and PostgreSQL: a notice that a department must
supervise an entity whose record no longer names the department (its responsibility ended), or that a later
notice to the department followed, is not counted against it as overdue."""

from __future__ import annotations

from datetime import date, timedelta

from jsp_common import clock, topics
from jsp_common.events.registry import EntityChanged, NotificationIssued
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, unique

from .conftest import SAMR, page_showing, send

ENTITY = {"entity_type": "有限责任公司", "address": "河南省郑州市金水区花园路8号", "division_code": "410105",
          "industry_code": "5169", "status": "active", "established_on": date(2024, 3, 1).isoformat()}


def notice(uscc: str, kind: str, issued_days_ago: int, due_days_ago: int) -> NotificationIssued:
    now = clock.now()
    return NotificationIssued(
        notification_id=unique("N"), department=SAMR, kind=kind, cause="changed",
        entity={"uscc": uscc, "name": f"郑州{uscc[-6:]}商贸有限公司", **ENTITY},
        issued_at=now - timedelta(days=issued_days_ago), acknowledge_by=now - timedelta(days=due_days_ago))


def record(uscc: str, departments: list[str]) -> EntityChanged:
    now = clock.now()
    return EntityChanged(uscc=uscc, name=f"郑州{uscc[-6:]}商贸有限公司", **ENTITY, responsible_departments=departments,
                         assignment_state="assigned", assignment_source="rules", record_version=2,
                         last_changed_at=now, updated_at=now)


async def test_a_notice_to_supervise_an_entity_the_department_no_longer_supervises_is_never_overdue(
        dashboard, raw_producer):
    """The regulator was told to supervise a shop, then (before it acknowledged) that the shop was the emergency
    bureau's after all: the first notice stood overdue in its figures and lists for good."""
    moot, kept = new_uscc("410105"), new_uscc("410105")
    first, other = notice(moot, "new_responsibility", 9, 2), notice(kept, "new_responsibility", 9, 2)
    for uscc, departments in ((moot, ["mem-410100"]), (kept, [SAMR])):
        await send(raw_producer, topics.REGISTRY_ENTITIES, record(uscc, departments), uscc)
    for n in (first, notice(moot, "responsibility_ended", 4, -3), other):
        await send(raw_producer, topics.department_topic(topics.NOTIFICATIONS, SAMR), n, n.entity.uscc)
    html = await page_showing(dashboard, f"/ui/notifications/{first.notification_id}", "不计逾期")
    assert "逾期未签收" not in html
    await page_showing(dashboard, f"/ui/notifications?status=overdue&q={kept}", other.notification_id)
    overdue = (await dashboard.get(f"/ui/notifications?status=overdue&q={moot}", headers=OFFICE)).text
    assert first.notification_id not in overdue
    pending = (await dashboard.get(f"/ui/notifications?status=pending&q={moot}", headers=OFFICE)).text
    assert first.notification_id in pending and "已失效" in pending  # still to acknowledge, not late


async def test_a_notice_issued_before_the_department_was_told_anew_is_not_overdue(dashboard, raw_producer):
    """The regulator's responsibility for a shop ended and began again: it is chased for the new notice, not for
    the one issued before its responsibility ended (the shop's record names it again)."""
    uscc = new_uscc("410105")
    # issued by the registry in one poll (its bureau's three events at once): the same time, told apart by order
    first, ended, anew = (notice(uscc, "new_responsibility", 9, 2), notice(uscc, "responsibility_ended", 9, -1),
                          notice(uscc, "new_responsibility", 9, -3))
    ended, anew = (n.model_copy(update={"issued_at": first.issued_at}) for n in (ended, anew))
    await send(raw_producer, topics.REGISTRY_ENTITIES, record(uscc, [SAMR]), uscc)
    for n in (first, ended, anew):
        await send(raw_producer, topics.department_topic(topics.NOTIFICATIONS, SAMR), n, uscc)
    await page_showing(dashboard, f"/ui/notifications?status=pending&q={uscc}", anew.notification_id)
    assert "不计逾期" in await page_showing(dashboard, f"/ui/notifications/{first.notification_id}", "签收")
    overdue = (await dashboard.get(f"/ui/notifications?status=overdue&q={uscc}", headers=OFFICE)).text
    assert first.notification_id not in overdue
