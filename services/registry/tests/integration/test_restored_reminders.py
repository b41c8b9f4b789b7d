"""A reminder sent again from a restored database is the one the department has (same event id)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from jsp_common import clock
from jsp_common.db import asyncpg_dsn
from jsp_common.topics import NOTIFICATIONS, department_topic
from jsp_testkit.testing import of_type, tail
from registry.usecases import notifications

SAMR_ZZ = department_topic(NOTIFICATIONS, "samr-410100")
REMINDED = "registry.notification.reminded.v1"
REMINDER_STATE = ("reminder_count", "last_reminded_at", "next_reminder_at", "overdue_since")


async def test_a_reminder_sent_again_after_a_restore_keeps_its_id(registry, raw_producer, bootstrap, kit):
    code = kit.new_uscc("410105")
    async with tail(bootstrap, SAMR_ZZ) as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(code)), code)
        [issued] = await t.wait_for(kit.mine(lambda m: of_type("registry.notification.issued.v1")(m)
                                             and m.envelope.data["entity"]["uscc"] == code))
    notification_id = issued.envelope.data["notification_id"]
    conn = await asyncpg.connect(asyncpg_dsn(registry.runtime.settings.database_url))
    try:
        columns = ", ".join(REMINDER_STATE)
        before = await conn.fetchrow(f"SELECT {columns} FROM notifications WHERE id = $1", notification_id)

        async def remind(now) -> list[str]:
            """The periodic job as of ``now``: the ids of this notification's reminders on the department's topic."""
            async with tail(bootstrap, SAMR_ZZ) as t:
                while await notifications.remind_overdue(registry.runtime.deps, now=now):
                    pass  # every overdue notification in the test database, in batches
                got = await t.wait_for(kit.mine(of_type(REMINDED, notification_id=notification_id)))
            return [m.envelope.id for m in got]

        overdue = clock.now() + timedelta(days=30)
        [first] = await remind(overdue)

        # The database restored to before the job ran (the row as it was), and the job runs again.
        await conn.execute(f"UPDATE notifications SET ({columns}) = ($2, $3, $4, $5) WHERE id = $1",
                           notification_id, *before.values())
        assert await remind(overdue) == [first]  # the same reminder: consumers' inboxes skip it

        # The next reminder, due a working week later, is a new one.
        [second] = await remind(overdue + timedelta(days=10))
        assert second != first
        assert await conn.fetchval("SELECT reminder_count FROM notifications WHERE id = $1", notification_id) == 2
    finally:
        await conn.close()
