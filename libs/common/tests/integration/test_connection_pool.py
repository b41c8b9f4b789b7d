"""A busy service keeps the database connections it opened: load that comes and goes does not make the pool
close connections only to open new ones (each a new PostgreSQL backend), and it never opens more than twice its
size. Real PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from jsp_common.db import Database, ensure_database
from jsp_testkit.testing import unique_database_url


async def _backends_at_once(db: Database, n: int) -> set[int]:
    """The backends of ``n`` transactions held open together (as many requests at once would)."""
    all_in = asyncio.Barrier(n)

    async def one() -> int:
        async with db.transaction() as tx:
            pid = (await tx.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.wait_for(all_in.wait(), 10)
            return pid

    return set(await asyncio.gather(*(one() for _ in range(n))))


async def test_connections_opened_under_load_are_kept_and_bounded(settings):
    url = unique_database_url(settings, "pool")
    await ensure_database(url)
    db = Database(url, pool_size=2)
    try:
        first = await _backends_at_once(db, 4)  # twice the pool's size at once
        again = await _backends_at_once(db, 4)
        assert len(first) == 4 and again == first  # the same four backends served the second wave

        async def one() -> int:
            async with db.transaction() as tx:
                return (await tx.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        many = set(await asyncio.gather(*(one() for _ in range(12))))
        assert many <= first  # twelve at once took turns on the four rather than opening more
        async with db.transaction() as tx:
            open_now = (await tx.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))).scalar_one()
        assert open_now == 4
    finally:
        await db.dispose()
