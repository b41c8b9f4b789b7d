"""`python -m <service> migrate` started twice at once (a release's Job retried while the first run goes on,
two operators, two replicas' start-up) on an empty database: both succeed and the chain is applied once,
because each run holds the database's migration lock (PostgreSQL advisory lock) while it upgrades. Each run has
what the cluster's migration Job gives it: the production environment and the database, none of the service's
secrets (which only serving needs)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from jsp_common.db import asyncpg_dsn, ensure_database
from jsp_common.migrations import head_revisions, lock_key
from jsp_testkit.testing import unique_database_url, wait_until

SERVICES = Path(__file__).resolve().parents[2] / "services"


async def _migrate(service: str, url: str) -> tuple[int, str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(f"JSP_{service.upper()}_")},
           f"JSP_{service.upper()}_DATABASE_URL": url, "JSP_ENVIRONMENT": "production"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", service, "migrate", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode, out.decode()


@pytest.mark.parametrize("service", sorted(p.name for p in SERVICES.iterdir() if (p / "alembic.ini").exists()))
async def test_two_migrations_started_together_both_succeed_with_the_chain_at_head_once(settings, service):
    url = unique_database_url(settings, f"together_{service}")
    await ensure_database(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        # Hold the migration lock while both start, so that they are really waiting at the same moment ...
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key(url))
        runs = [asyncio.create_task(_migrate(service, url)) for _ in range(2)]
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        await wait_until(lambda: _fetchval(conn, waiting, 2), timeout=120, what="both migrations waiting")
        assert await conn.fetchval("SELECT to_regclass('alembic_version')") is None  # neither went ahead
        # ... then let them race for it: one upgrades, the other finds the chain at head.
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key(url))
        (code_a, out_a), (code_b, out_b) = await asyncio.gather(*runs)
        assert (code_a, code_b) == (0, 0), out_a + out_b

        heads, _ = head_revisions(SERVICES / service)
        rows = await conn.fetch("SELECT version_num FROM alembic_version")
        assert sorted(r["version_num"] for r in rows) == sorted(heads)  # one row per head, not two
    finally:
        await conn.close()


async def _fetchval(conn, query: str, expected) -> bool:
    return await conn.fetchval(query) == expected
