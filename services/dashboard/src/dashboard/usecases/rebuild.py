"""Rebuilding the read model from the topics while the dashboard runs.

The group's handlers replay every topic from its beginning into a copy of the read model and its inbox
(``adapters.shadow``), read outside the consumer group, while the pages read and the running dashboards' group
writes the live tables. Each pass reads up to the ends the topics have when it starts; once a pass finds fewer
than ``rebuild_final_pass_records`` new messages, the rebuild holds the group's writers (its transactions wait;
the pages still read), reads what arrived since, and puts the copy in place of the live tables in the same
transaction. The copy then holds every message up to ends read after the writers were held, so it has every
effect the live tables had; a message the group had read but not applied yet is applied to the copy when its
transaction goes on, or skipped by the copy's inbox when the rebuild applied it already. The group's position
in Kafka is not moved. A copy made before the live tables were migrated (their revision differs once the writers
are held) is not put in place. The writers are held at most ``rebuild_hold_max_s``: a final pass not ended by then is
rolled back, the writers go on and the rebuild is refused.
"""

from __future__ import annotations

import asyncio

from jsp_common import statistics
from jsp_common.db import Database
from jsp_common.logs import get_logger
from jsp_common.messaging_tables import inbox
from jsp_common.offsets import read_from
from jsp_common.runtime import ServiceRuntime

from .. import subscriptions
from ..adapters import shadow, writes
from ..adapters.tables import READ_MODEL
from ..bootstrap import add_read_model
from ..settings import Settings

log = get_logger(__name__)
TABLES = (inbox.name, *(t.name for t in READ_MODEL))  # the inbox first: a group's transaction writes it first


class RebuildRefused(RuntimeError):
    """The read model was left as it was."""


async def rebuild(settings: Settings) -> dict[str, int]:
    """Rebuild the read model; returns the rows per table of the new one."""
    runtime = ServiceRuntime(settings)  # its producer dead-letters what the group dead-letters; its db: the live tables
    copy = Database(settings.database_url, pool_size=settings.db_pool_size, search_path=shadow.SEARCH_PATH,
                    session_info={writes.QUIET: True})
    group = add_read_model(runtime, settings, db=copy)
    topics = subscriptions.read_model_topics()
    positions: dict = {}

    async def apply_pass() -> int:
        n = 0
        async for records in read_from(topics, positions, max_records=settings.consumer_max_records,
                                       **settings.kafka_client_options()):
            await group.apply(_by_partition(records))
            n += len(records)
        return n

    await runtime.producer.start()
    try:
        if not await runtime.leadership.leads("read-model-rebuild"):  # one rebuild at a time, as one job leader
            raise RebuildRefused("another rebuild of the read model is running (or the database is away)")
        async with runtime.db.transaction() as session:
            await shadow.create(session, TABLES)
            shaped_at = await shadow.revision(session)
        passes, n = 0, None
        while passes < settings.rebuild_max_passes and (n is None or n >= settings.rebuild_final_pass_records):
            passes, n = passes + 1, await apply_pass()
            log.info("read model rebuild: pass applied", passes=passes, messages=n)
        async def held(session) -> int:
            if (now := await shadow.revision(session)) != shaped_at:  # the copy has the tables' old shape
                raise RebuildRefused(f"the read model's tables were migrated during the rebuild ({shaped_at} -> "
                                     f"{now}): run it again")
            n = await apply_pass()
            await shadow.carry_over_inbox(session, group.group)
            await shadow.put_in_place(session, TABLES)
            for area in writes.AREAS:
                await writes.announce(session, area)
            return n

        async with runtime.db.transaction() as session:
            await shadow.hold_writers(session, TABLES)
            try:
                n = await asyncio.wait_for(held(session), settings.rebuild_hold_max_s)
            except asyncio.TimeoutError:  # rolled back: the writers go on, the live tables as they were
                raise RebuildRefused(f"the group's writers were held {settings.rebuild_hold_max_s:g} s and the "
                                     "final pass had not ended: the read model is as it was; run it again") from None
        log.info("read model rebuilt and in place", final_pass_messages=n)
        await _analyse(runtime.db)
        async with runtime.db.transaction() as session:
            return await writes.counts(session)
    finally:
        await runtime.leadership.close()
        for consumer in runtime.consumers:  # the group's two consumers (never started: only their handlers ran)
            await consumer.stop()
        await runtime.producer.stop()
        await copy.dispose()
        await runtime.db.dispose()


async def _analyse(db: Database) -> None:
    """Planner statistics for the tables put in place, which have none of their own until autovacuum comes round
    (for the pages' next statements; the writers go on meanwhile), in a transaction of its own: the rebuild is
    done and in place whether or not this succeeds."""
    try:
        async with db.transaction() as session:
            for table in TABLES:
                await statistics.analyse(session, table)
    except Exception as exc:  # noqa: BLE001 - autovacuum analyses them in time
        log.warning("read model rebuilt and in place, not analysed", error=repr(exc))


def _by_partition(records: list) -> list[list]:
    """A poll's records as the consumer loop takes them: each partition's together, in order."""
    parts: dict = {}
    for r in records:
        parts.setdefault((r.topic, r.partition), []).append(r)
    return list(parts.values())
