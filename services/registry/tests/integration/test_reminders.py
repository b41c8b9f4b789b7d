"""Overdue dual notifications: a notice the department must supervise an entity is neither chased nor counted
overdue once its responsibility for that entity ended."""

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

    # Past its acknowledge-by time, the moot notice is not held against the regulator either (it was listed overdue).
    first, samr = new.envelope.data["notification_id"], kit.department("samr-410100")
    await registry.fetchval("UPDATE notifications SET acknowledge_by = now() - interval '1 day' WHERE id = $1 "
                            "RETURNING id", first)
    listed = (await registry.call("GET", f"/notifications?uscc={code}&overdue=true", samr)).json()
    assert [n["kind"] for n in listed["items"]] == ["responsibility_ended"]
    shown = (await registry.call("GET", f"/notifications/{first}", samr)).json()
    assert shown["superseded"] is True and shown["overdue"] is False
    async with tail(bootstrap, SAMR_ZZ) as t:
        assert (await registry.call("POST", f"/notifications/{first}/acknowledgement", samr)).status_code == 200
        await t.wait_for(kit.mine(of_type("registry.notification.acknowledged.v1", notification_id=first,
                                          was_overdue=False)))
