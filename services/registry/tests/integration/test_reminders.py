"""Overdue reminders of dual notifications: a notice the department must supervise an entity is not chased once
its responsibility for that entity ended."""

from __future__ import annotations

from datetime import timedelta

from jsp_common import clock
from jsp_common.topics import NOTIFICATIONS, department_topic
from jsp_testkit.testing import of_type, tail

from registry.usecases import notifications

SAMR_ZZ, MEM_ZZ = (department_topic(NOTIFICATIONS, d) for d in ("samr-410100", "mem-410100"))


def issued_to(topic: str, uscc: str, kind: str):
    return lambda m: (m.topic == topic and of_type("registry.notification.issued.v1", kind=kind)(m)
                      and m.envelope.data["entity"]["uscc"] == uscc)


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
