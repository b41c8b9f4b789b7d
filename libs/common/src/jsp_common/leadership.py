"""One leader per periodic job across a service's replicas: a PostgreSQL session advisory lock per job.

Every replica of a service runs the same periodic jobs (reminders, chasers, timers); each job must run once
across the replicas, not once per replica. Before each round a replica asks whether it leads the job: the
first to take the job's advisory lock (``pg_try_advisory_lock``, on one connection of its own per runtime)
keeps it while its connection lives and runs the job; the others find it taken and skip the round, trying
again at their next one (no more than ``retry_s`` apart). A leader that dies (kill -9, lost network) loses its
connection, PostgreSQL releases its locks, and another replica takes the job over at its next try. While the
database is away no replica leads (the job could not run anyway).
"""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg

from .db import asyncpg_dsn
from .logs import get_logger

log = get_logger(__name__)


def job_lock_key(service: str, job: str) -> int:
    """The advisory-lock key of one service's periodic job (a signed 64-bit integer)."""
    return int.from_bytes(hashlib.sha256(f"jsp-periodic:{service}:{job}".encode()).digest()[:8], "big", signed=True)


class Leadership:
    """Which periodic jobs this replica leads; one database connection holds their locks."""

    def __init__(self, database_url: str, service: str):
        self.dsn, self.service = asyncpg_dsn(database_url), service
        self._conn: asyncpg.Connection | None = None
        self._held: set[str] = set()
        self._lock = asyncio.Lock()  # one statement at a time on the connection

    async def leads(self, job: str) -> bool:
        """True when this replica holds ``job``'s lock (taking it if free); False when another replica does or
        the database cannot be reached."""
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._held.clear()  # a new session holds no lock
                    self._conn = await asyncio.wait_for(asyncpg.connect(self.dsn), 10)
                if job in self._held:
                    await asyncio.wait_for(self._conn.fetchval("SELECT 1"), 10)  # still ours while the session lives
                    return True
                if await asyncio.wait_for(self._conn.fetchval("SELECT pg_try_advisory_lock($1)",
                                                              job_lock_key(self.service, job)), 10):
                    self._held.add(job)
                    log.info("leading periodic job", job=job)
                    return True
                return False
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if self._held:
                    log.warning("periodic jobs' lock connection lost; leading none until it is back",
                                jobs=sorted(self._held), error=repr(exc))
                await self._drop()
                return False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            self._held.clear()
            if conn is not None and not conn.is_closed():
                try:
                    await asyncio.wait_for(conn.close(), 5)  # releases the locks at once
                except Exception:  # noqa: BLE001
                    conn.terminate()
