"""``python -m dashboard rebuild`` while the dashboard runs, on real Kafka and PostgreSQL: the read model is
replayed from the topics into a copy and put in place while the pages read and the running group writes;
nothing the group writes around the exchange is lost, and the new tables have the shape the migrations gave
the old ones (keys, indexes and the tally triggers under the same names)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import EntityChanged
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, wait_until

from dashboard.usecases.rebuild import RebuildRefused, rebuild

SHAPE = """
SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'trigger ' || tgname || ' on ' || relname FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid
  WHERE NOT tgisinternal AND relnamespace = 'public'::regnamespace
UNION ALL SELECT 'constraint ' || conname || ' on ' || conrelid::regclass || ': ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace"""
# the rebuild's transaction holds the group's writers / the group's transaction waits for it
HELD = "SELECT count(*) FROM pg_locks WHERE relation = 'public.inbox'::regclass AND mode = 'ExclusiveLock' AND granted"
WAITING = "SELECT count(*) FROM pg_locks WHERE relation = 'public.inbox'::regclass AND NOT granted"


async def send_entities(producer, usccs: list[str], version: int = 1) -> None:
    now = clock.now()
    sent = []
    for uscc in usccs:
        record = EntityChanged(
            uscc=uscc, name=f"郑州{uscc[-6:]}餐饮有限公司", entity_type="有限责任公司",
            address="河南省郑州市金水区农业路18号", division_code="410105", industry_code="6210", status="active",
            established_on="2020-05-01", responsible_departments=["samr-410100"], domains=["food"],
            assignment_state="assigned", assignment_source="rules", record_version=version,
            last_changed_at=now - timedelta(days=3), updated_at=now)
        env = new_envelope(type=record.event_type, source="/test", data=record.model_dump(mode="json"))
        sent.append(await producer.send(topics.REGISTRY_ENTITIES, env.to_bytes(), key=uscc.encode()))
    await asyncio.gather(*sent)


async def scalar(db: Database, sql: str, **params):
    async with db.transaction() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def test_a_rebuild_while_the_dashboard_runs_loses_nothing_and_keeps_the_tables_shape(
        dashboard, dashboard_settings, raw_producer):
    # One pass, with the group's writers held for all of it: the group's own transactions wait in the middle of
    # the rebuild, the case where a change could be lost (applied to the old tables, or to neither).
    settings = dashboard_settings.model_copy(update={"rebuild_max_passes": 0})
    db = Database(settings.database_url)
    before, burst, after = ([new_uscc() for _ in range(n)] for n in (3000, 20, 20))
    try:
        await send_entities(raw_producer, before)
        present = "SELECT count(*) FROM entities WHERE uscc = ANY(CAST(:u AS text[]))"
        await wait_until(lambda: _equals(db, present, before), timeout=120, what="the running group applied the first entities")
        shape = set((await _all(db, SHAPE)))
        lost = before[0]
        async with db.transaction() as s:  # a row the read model lost: the log still has it
            await s.execute(text("DELETE FROM entities WHERE uscc = :u"), {"u": lost})

        rebuilding = asyncio.create_task(rebuild(settings))
        await wait_until(lambda: _positive(db, HELD), timeout=120, what="the rebuild holding the group's writers")
        with pytest.raises(RebuildRefused, match="another rebuild"):
            await rebuild(settings)
        await send_entities(raw_producer, burst)
        await wait_until(lambda: _positive(db, WAITING), timeout=30, what="the group's transaction waiting")
        page = await dashboard.get("/ui/entities", params={"q": before[1]}, headers=OFFICE)  # the pages still read
        assert page.status_code == 200 and before[1] in page.text
        assert not rebuilding.done()
        counts = await rebuilding
        assert counts["entities"] >= len(before)  # the burst: in the copy, or applied by the group once it goes on
        assert await scalar(db, "SELECT c.reltuples >= :n AND s.last_analyze IS NOT NULL FROM pg_class c "
                                "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = 'public.entities'::regclass",
                            n=len(before))  # the new tables are analysed: the pages' statements planned for them

        await send_entities(raw_producer, after)  # written by the running group into the new tables
        everyone = before + burst + after
        await wait_until(lambda: _equals(db, present, everyone), timeout=60, what="every entity in the read model")
        assert await scalar(db, "SELECT sum(n) FROM entity_tally WHERE department = '' ") == \
            await scalar(db, "SELECT count(*) FROM entities")  # the tally triggers ran on the copy and run now
        assert set(await _all(db, SHAPE)) == shape
        assert await scalar(db, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'read_model_%'") == 0
    finally:
        await db.dispose()


async def _all(db: Database, sql: str) -> list:
    async with db.transaction() as s:
        return list((await s.execute(text(sql))).scalars())


async def _positive(db: Database, sql: str) -> bool:
    return await scalar(db, sql) > 0


async def _equals(db: Database, sql: str, usccs: list[str]) -> bool:
    return await scalar(db, sql, u=usccs) == len(usccs)


async def test_a_rebuild_refuses_to_put_in_place_a_copy_of_tables_migrated_meanwhile(dashboard, dashboard_settings):
    """The copy has the shape the tables had when it was made: if they were migrated during the replay, it is
    not put in place (the live tables stay as they are) and the operator is told to run it again."""
    db = Database(dashboard_settings.database_url)
    try:
        entities = await scalar(db, "SELECT count(*) FROM public.entities")
        async with db.engine.connect() as writer:  # a migration, in a transaction the rebuild's hold waits for
            await writer.execute(text("LOCK TABLE inbox IN ROW EXCLUSIVE MODE"))
            rebuilding = asyncio.create_task(rebuild(dashboard_settings))
            await wait_until(lambda: _positive(db, WAITING), timeout=120, what="the rebuild waiting to hold")
            revision = (await writer.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            await writer.execute(text("UPDATE alembic_version SET version_num = 'migrated_meanwhile'"))
            await writer.commit()
            with pytest.raises(RebuildRefused, match="migrated during the rebuild"):
                await rebuilding
            await writer.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
            await writer.commit()
        assert set(await _all(db, "SELECT nspname FROM pg_namespace")) >= {"public", "read_model_rebuild"}
        assert await scalar(db, "SELECT count(*) FROM public.entities") == entities  # the live tables, as they were
    finally:
        await db.dispose()


async def test_a_rebuild_that_holds_the_writers_too_long_gives_up_and_lets_them_go_on(
        dashboard, dashboard_settings, raw_producer):
    """The final pass cannot end (a row of the copy it must write is locked): once the writers have been held
    ``rebuild_hold_max_s`` the rebuild is refused and rolled back; the group's writers go on, the live tables as
    they were plus what the group applies."""
    settings = dashboard_settings.model_copy(update={"rebuild_max_passes": 1, "rebuild_hold_max_s": 2.0})
    db = Database(settings.database_url)
    blocker = await db.engine.connect()
    uscc, later = new_uscc(), new_uscc()
    version = "SELECT coalesce(max(record_version), 0) FROM {table} WHERE uscc = :u"
    try:
        await send_entities(raw_producer, [uscc])
        await wait_until(lambda: _is(db, version.format(table="entities"), uscc, 1), timeout=60,
                         what="the running group applied the entity")
        rebuilding = asyncio.create_task(rebuild(settings))
        await wait_until(lambda: _is(db, version.format(table="read_model_rebuild.entities"), uscc, 1), timeout=120,
                         what="the rebuild's first pass copied the entity")
        # The next version comes after the first pass's ends: the final pass, writers held, must write this row.
        await blocker.execute(text("SELECT 1 FROM read_model_rebuild.entities WHERE uscc = :u FOR UPDATE"), {"u": uscc})
        await send_entities(raw_producer, [uscc], version=2)
        with pytest.raises(RebuildRefused, match="writers were held 2 s"):
            await rebuilding
        await send_entities(raw_producer, [later])
        await wait_until(lambda: _is(db, version.format(table="entities"), uscc, 2), timeout=60,
                         what="the group's held transaction went on")
        await wait_until(lambda: _is(db, version.format(table="entities"), later, 1), timeout=60,
                         what="the group went on writing the live tables")
    finally:
        await blocker.rollback()
        await blocker.close()
        await db.dispose()


async def _is(db: Database, sql: str, uscc: str, expected: int) -> bool:
    try:
        return await scalar(db, sql, u=uscc) == expected
    except ProgrammingError:  # the copy not made yet
        return False


async def test_a_reader_holding_a_table_neither_deadlocks_with_the_exchange_nor_stops_it(dashboard, dashboard_settings):
    """The exchange locks every live table; a reader (the figure refresh reads several tables in its own order,
    some in one statement) holding the last of them and then reading the first neither deadlocks with it (one of
    them aborted) nor waits for the rebuild: the reader goes on, ends, and the copy is put in place."""
    settings = dashboard_settings.model_copy(update={"rebuild_max_passes": 0})
    db = Database(settings.database_url)
    reader = await db.engine.connect()
    try:
        await reader.execute(text("SELECT count(*) FROM public.credit_classes"))  # held to the reader's end
        rebuilding = asyncio.create_task(rebuild(settings))
        exchanging = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                      "AND pid <> pg_backend_pid() AND (query LIKE 'LOCK TABLE public.inbox%ACCESS EXCLUSIVE%' "
                      "OR query LIKE 'ALTER TABLE public.%')")
        await wait_until(lambda: _positive(db, exchanging), timeout=120,
                         what="the rebuild waiting to put its copy in place")
        assert (await reader.execute(text("SELECT count(*) FROM public.entities"))).scalar_one() >= 0
        await reader.commit()
        counts = await rebuilding
        assert "entities" in counts
    finally:
        await reader.close()
        await db.dispose()

