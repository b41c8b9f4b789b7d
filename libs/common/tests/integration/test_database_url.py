"""A server URL with libpq's TLS options (as a managed PostgreSQL gives it: ?sslmode=...&sslrootcert=...) is
taken whole: each service's database on that server keeps them, and the pool, the migrations and the raw
connections (creating the database, COPY, locks) all connect with it. Real PostgreSQL (without TLS here:
sslmode=prefer falls back to plain, sslmode=require is refused by it, which shows the option reaches the server)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from jsp_common.db import Database, asyncpg_dsn, ensure_database
from jsp_common.settings import ServiceSettings
from jsp_testkit.testing import unique


async def test_a_server_url_with_tls_options_reaches_every_connection(settings):
    server = settings.postgres_url.rstrip("/") + "?sslmode=prefer"
    name = unique("tls").replace(".", "_").replace("-", "_")
    derived = ServiceSettings(service_name=name, postgres_url=server)
    assert derived.database_url.endswith(f"/{name}?sslmode=prefer")
    assert await ensure_database(derived.database_url)     # a raw connection, and the database is made
    db = Database(derived.database_url)
    try:
        async with db.transaction() as s:
            assert (await s.execute(text("SELECT current_database()"))).scalar_one() == name
    finally:
        await db.dispose()
    strict = Database(derived.database_url.replace("sslmode=prefer", "sslmode=require"))
    try:
        with pytest.raises((ConnectionError, asyncpg.PostgresError, OSError)):
            async with strict.transaction() as s:     # this server has no TLS: refused, not ignored
                await s.execute(text("SELECT 1"))
    finally:
        await strict.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(derived.database_url))
    await conn.close()
