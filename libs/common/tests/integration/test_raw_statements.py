"""Statements run on a session's own asyncpg connection (``jsp_common.db.driver_connection``: the set-wise inserts,
the outbox relay, hand-written reads) belong to the session's transaction even when they are its first: undone
with it, and a transaction lock they take (the outbox relay's one-publisher lock) held to its end. Real
PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from jsp_common.db import Database, driver_connection, ensure_database
from jsp_testkit.testing import unique_database_url

LOCK = 0x6A73_7074_6573_7431


async def test_a_first_statement_on_the_driver_connection_is_part_of_the_transaction(settings):
    url = unique_database_url(settings, "raw_statements")
    await ensure_database(url)
    db = Database(url)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (n int)"))

        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                await (await driver_connection(session)).execute("INSERT INTO t VALUES (1)")
                raise RuntimeError("the use case refused")
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0

        async with db.transaction() as holder:
            assert await (await driver_connection(holder)).fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK)
            async with db.transaction() as other:  # while the holder's transaction runs, nobody else gets it
                assert not (await other.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK})).scalar()
        async with db.transaction() as other:
            assert (await other.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK})).scalar()
    finally:
        await db.dispose()
