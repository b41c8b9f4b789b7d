"""A pass over what transactions wrote, after a change of what they decide with (a working-day schedule applied),
waits for the transactions under way at the change: one that decided with the old and committed after the pass
would be missed. Not for its own task's, nor for those opened after. Real PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from jsp_common.db import Database, ensure_database
from jsp_testkit.testing import unique_database_url, wait_until


async def test_the_transactions_under_way_are_waited_for_and_no_others(settings):
    url = unique_database_url(settings, "under_way")
    await ensure_database(url)
    db = Database(url, pool_size=2)
    opened, release = asyncio.Event(), asyncio.Event()

    async def under_way() -> None:
        async with db.transaction() as tx:
            await tx.execute(text("SELECT 1"))
            opened.set()
            await release.wait()

    try:
        async with db.transaction(), asyncio.timeout(10):  # the caller's own transaction is not waited for
            await db.earlier_transactions_ended()
        holder = asyncio.create_task(under_way())
        await asyncio.wait_for(opened.wait(), 10)
        waiting = asyncio.create_task(db.earlier_transactions_ended())
        await wait_until(lambda: db.waiting_for_earlier == 1, what="the pass waiting")
        async with db.transaction() as later:  # opened after the call: not waited for, and not a wake-up for good
            await later.execute(text("SELECT 1"))
        assert not waiting.done()
        release.set()
        await asyncio.wait_for(waiting, 10)
        await holder
        assert db.waiting_for_earlier == 0
    finally:
        release.set()
        await db.dispose()
