"""Read routes' sessions (``Database.reading``): each statement runs on its own, as it would take its own snapshot in
a READ COMMITTED transaction, without the round trips to begin and commit one; the pooled connection it used is a
transaction's again afterwards. Real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from jsp_common.db import Database, ensure_database
from jsp_testkit.testing import unique_database_url

_XID = text("SELECT pg_current_xact_id()::text")  # the id of the statement's transaction (assigned if it has none)


async def test_reads_run_statement_by_statement_and_leave_the_connection_transactional(settings):
    url = unique_database_url(settings, "reading")
    await ensure_database(url)
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (n int)"))
            in_one = [(await session.execute(_XID)).scalar_one() for _ in range(2)]
        async with db.reading() as session:
            reads = [(await session.execute(_XID)).scalar_one() for _ in range(2)]
        assert in_one[0] == in_one[1]
        assert reads[0] != reads[1]

        with pytest.raises(RuntimeError):  # on the connection the reads just used (the pool hands out the last one)
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("the use case refused")
        async with db.reading() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    finally:
        await db.dispose()
