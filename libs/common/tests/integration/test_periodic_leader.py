"""Two replicas of a service run a periodic job once between them, not once each: the replica holding the job's
advisory lock runs it; when its session ends (stopped, or its connection cut while the process hangs or dies) the
other takes the job over. A job about the replica itself runs on each. Real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio

import asyncpg

from jsp_common import messaging_tables
from jsp_common.db import Database, asyncpg_dsn, ensure_database
from jsp_common.leadership import job_lock_key
from jsp_common.runtime import ServiceRuntime
from jsp_common.settings import ServiceSettings
from jsp_testkit.testing import unique, unique_database_url, wait_until


def _replica(settings, url: str, service: str, runs: list[str], name: str,
             awake: asyncio.Event) -> ServiceRuntime:
    runtime = ServiceRuntime(ServiceSettings(service_name=service, database_url=url, periodic_leader_retry_s=0.05,
                                             kafka_bootstrap_servers=settings.kafka_bootstrap_servers))

    async def job() -> None:
        runs.append(name)
        await awake.wait()  # cleared: the replica hangs in its job, as a frozen process would

    async def own() -> None:
        runs.append(f"{name}:own")

    runtime.add_periodic("reminders", job, 0.02)
    runtime.add_periodic("own-cache", own, 0.02, every_replica=True)
    return runtime


async def test_a_periodic_job_runs_on_one_replica_and_moves_when_its_session_ends(settings):
    url = unique_database_url(settings, "periodic")
    await ensure_database(url)
    tables = Database(url)
    async with tables.engine.begin() as conn:  # the outbox the runtimes' relays read
        await conn.run_sync(messaging_tables.metadata.create_all)
    await tables.dispose()
    service = unique("periodic-probe")  # no migrations of its own: the runtime works at once
    runs: list[str] = []
    a_awake, b_awake = asyncio.Event(), asyncio.Event()
    a_awake.set()
    b_awake.set()
    a = _replica(settings, url, service, runs, "a", a_awake)
    b = _replica(settings, url, service, runs, "b", b_awake)
    await asyncio.wait_for(a.start(), 120)
    await wait_until(lambda: runs.count("a") >= 3, timeout=30, what="the first replica to lead the job")
    await asyncio.wait_for(b.start(), 120)
    stopped = []
    try:
        await wait_until(lambda: runs.count("b:own") >= 20 and runs.count("a") >= 40, timeout=60,
                         what="both replicas to run their own job many times")
        assert "b" not in runs  # b tried to take the job every round while a held it

        # a hangs in its job and its session ends, as when its process dies (PostgreSQL ends the backend): b
        # takes the job over; a, awake again and reconnected, finds it taken
        a_awake.clear()
        hung = len(runs)
        await wait_until(lambda: "a" in runs[hung:], timeout=30, what="the first replica to hang in its job")
        admin = await asyncpg.connect(asyncpg_dsn(url))
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = $1",
                job_lock_key(service, "reminders"))
            assert ended == 1
        finally:
            await admin.close()
        await wait_until(lambda: runs.count("b") >= 3, timeout=30, what="the second replica to take the job over")
        mark = len(runs)
        a_awake.set()
        await wait_until(lambda: runs[mark:].count("b") >= 20 and runs[mark:].count("a:own") >= 20, timeout=60,
                         what="the job to keep running on its new leader")
        assert "a" not in runs[mark:]

        await asyncio.wait_for(b.stop(), 120)  # a graceful stop gives the job up at once
        stopped.append(b)
        await wait_until(lambda: "a" in runs[mark:], timeout=30, what="the first replica to lead again")
    finally:
        await asyncio.wait_for(a.stop(), 120)
        if b not in stopped:
            await asyncio.wait_for(b.stop(), 120)
