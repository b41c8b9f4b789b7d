"""The registry-directory replica against the real database and broker: the version guard, set-wise batches,
the consumer group's handlers, and the frozen first-revision SQL matching the declared table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, Text, text
from sqlalchemy.dialects.postgresql import ARRAY

from jsp_common import clock, replica, statistics
from jsp_common.consumer import ConsumerLoop
from jsp_common.db import Database, ensure_database
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import EntityChanged
from jsp_common.producer import EventProducer
from jsp_common.topics import Topic, create_topics, dead_letter_topic
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import database_with_tables, unique, unique_database_url, wait_until

metadata = MetaData()
# A service's replica with a column of its own, derived from the record.
entities = replica.entity_table(metadata, Column("name_upper", Text), name="test_replica_entities")


def upper(record: EntityChanged) -> dict:
    return {"name_upper": record.name.upper()}


def record(uscc: str, version: int, name: str, **more) -> EntityChanged:
    now = clock.now()
    return EntityChanged(
        uscc=uscc, name=name, entity_type="有限责任公司", address="河南省郑州市金水区农业路18号",
        division_code="410105", industry_code="6210", status="active", established_on="2020-05-01",
        responsible_departments=["samr-410100"], domains=["food"], assignment_state="assigned",
        assignment_source="rules", record_version=version, last_changed_at=now - timedelta(days=10 - version),
        updated_at=now, **more)


@pytest.fixture(scope="module")
async def db(settings):
    async with database_with_tables(f"{settings.postgres_url}/common_test", metadata) as database:
        yield database


async def current(db: Database, uscc: str) -> dict | None:
    async with db.transaction() as s:
        return await replica.entity(s, entities, uscc)


async def test_an_older_record_arriving_after_a_newer_one_does_not_overwrite_it(db):
    uscc = new_uscc()
    async with db.transaction() as s:
        await replica.upsert(s, entities, [replica.entity_row(entities, record(uscc, 3, "好味道餐饮"), upper)])
    async with db.transaction() as s:
        await replica.upsert(s, entities, [replica.entity_row(entities, record(uscc, 1, "旧名称"), upper)])
    row = await current(db, uscc)
    assert row["version"] == 3 and row["name"] == "好味道餐饮"
    assert row["city_code"] == "410100" and row["industry_code"] == "6210" and row["status"] == "active"
    assert row["responsible_departments"] == ["samr-410100"]

    async with db.transaction() as s:  # a newer one does
        await replica.upsert(s, entities, [replica.entity_row(entities, record(uscc, 4, "新名称 abc"), upper)])
    row = await current(db, uscc)
    assert (row["version"], row["name"], row["name_upper"]) == (4, "新名称 abc", "新名称 ABC")


async def test_one_batch_keeps_the_newest_record_of_each_entity_whatever_the_order(db):
    a, b = new_uscc(), new_uscc()
    rows = [replica.entity_row(entities, r, upper)
            for r in (record(a, 2, "甲二"), record(b, 1, "乙一"), record(a, 5, "甲五"), record(a, 4, "甲四"),
                      record(b, 2, "乙二"))]
    async with db.transaction() as s:
        await replica.upsert(s, entities, rows)
    assert [(r["version"], r["name"]) for r in [await current(db, a), await current(db, b)]] == [(5, "甲五"),
                                                                                                (2, "乙二")]


def test_extras_must_name_columns_of_the_table():
    with pytest.raises(ValueError, match="nickname"):
        replica.entity_row(entities, record(new_uscc(), 1, "甲"), lambda r: {"nickname": "x"})


async def test_the_consumer_groups_handlers_keep_the_newest_record(db, bootstrap):
    topic = unique("test.replica")
    group = "test.replica"
    await create_topics(bootstrap, [Topic(topic, "uscc", (), (), (), "test", partitions=1),
                                    Topic(dead_letter_topic(topic, group), "uscc", (), (), (), "test", 1)])
    producer = EventProducer(client_id="test", bootstrap_servers=bootstrap)
    await producer.start()
    loop = ConsumerLoop(group=group, topics=[topic], handlers={}, db=db, producer=producer, source="/test",
                        batch_handlers=replica.batch_handlers(entities, upper), bootstrap_servers=bootstrap)
    await loop.start()
    try:
        await loop.assigned()
        uscc, marker = new_uscc(), new_uscc()
        for r in (record(uscc, 3, "好味道餐饮"), record(uscc, 1, "旧名称"), record(marker, 1, "标记")):
            await producer.publish(topic, new_envelope(type=replica.ENTITY_CHANGED, source="/test",
                                                       data=r.model_dump(mode="json")), key=r.uscc)
        await wait_until(lambda: current(db, marker), what="the marker replicated after the stale record")
        row = await current(db, uscc)
        assert (row["version"], row["name"], row["name_upper"]) == (3, "好味道餐饮", "好味道餐饮")
    finally:
        await loop.stop()
        await producer.stop()


async def test_a_replica_filling_through_its_group_is_analysed_as_it_grows(settings, bootstrap):
    """Without waiting for autovacuum (turned off for this table): the planner's estimate follows the rows in, and
    the GIN indexes' pending entries (which every look-up through the index reads whole) are merged."""
    filling = replica.entity_table(MetaData(), Index("test_filling_departments", "responsible_departments",
                                                     postgresql_using="gin"), name="test_filling_entities")
    topic, group, n = unique("test.replica-fill"), "test.replica-fill", 1_000
    await create_topics(bootstrap, [Topic(topic, "uscc", (), (), (), "test", partitions=2),
                                    Topic(dead_letter_topic(topic, group), "uscc", (), (), (), "test", 1)])
    async with database_with_tables(unique_database_url(settings, "replica_fill"), filling.metadata) as fdb:
        async with fdb.transaction() as s:
            await s.execute(text(f"ALTER TABLE {filling.name} SET (autovacuum_enabled = false)"))
            await s.execute(text("CREATE EXTENSION IF NOT EXISTS pgstattuple"))  # pgstatginindex: what is pending
        producer = EventProducer(client_id="test", bootstrap_servers=bootstrap)
        await producer.start()
        loop = ConsumerLoop(group=group, topics=[topic], handlers={}, db=fdb, producer=producer, source="/test",
                            batch_handlers=replica.batch_handlers(filling), bootstrap_servers=bootstrap)
        await loop.start()
        try:
            await loop.assigned()
            for k in range(n):
                r = record(new_uscc(), 1, f"企业{k}")
                await producer.publish(topic, new_envelope(type=replica.ENTITY_CHANGED, source="/test",
                                                           data=r.model_dump(mode="json")), key=r.uscc)

            async def all_in() -> bool:
                async with fdb.transaction() as s:
                    return (await s.execute(text(f"SELECT count(*) FROM {filling.name}"))).scalar_one() == n

            await wait_until(all_in, what=f"{n} records replicated")
        finally:
            await loop.stop()
            await producer.stop()
        async with fdb.transaction() as s:
            estimated = await statistics.estimated_rows(s, filling.name)
            named = (await s.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = :t AND attname = 'name'"),
                                     {"t": filling.name})).scalar_one()
            pending = (await s.execute(text("SELECT pending_tuples FROM pgstatginindex('test_filling_departments')"))
                       ).scalar_one()
        assert estimated >= n / 1.5 and named == 1, (estimated, named)
        assert pending <= n / 2, pending  # written since the last analysis at most


async def test_a_replay_of_the_log_restores_the_replica_without_undoing_newer_rows(db, bootstrap):
    """The rebuild command reads the whole compacted topic outside every consumer group: a row lost from the
    replica comes back, a derived column is refreshed, a row the running service already has at a newer version
    stays, and a message that is no entity record is skipped (the replica group dead-letters it)."""
    topic = unique("test.replica-log")
    await create_topics(bootstrap, [Topic(topic, "uscc", (), (), (), "test", partitions=2)])
    lost, stale, ahead = new_uscc(), new_uscc(), new_uscc()
    producer = EventProducer(client_id="test", bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for r in (record(lost, 1, "甲一"), record(lost, 2, "甲二"), record(stale, 1, "乙 abc"), record(ahead, 1, "丙一")):
            await producer.publish(topic, new_envelope(type=replica.ENTITY_CHANGED, source="/test",
                                                       data=r.model_dump(mode="json")), key=r.uscc)
        await producer.send(topic, b"{not an envelope", key=lost)
    finally:
        await producer.stop()
    async with db.transaction() as s:
        await replica.upsert(s, entities, [replica.entity_row(entities, record(stale, 1, "乙 abc")),  # no extras
                                           replica.entity_row(entities, record(ahead, 3, "丙三"), upper)])

    done = await replica.replay(db, entities, upper, from_topics=[topic], max_records=2, bootstrap_servers=bootstrap)

    assert (done.applied, done.skipped) == (4, 1)
    rows = {u: await current(db, u) for u in (lost, stale, ahead)}
    assert (rows[lost]["version"], rows[lost]["name"], rows[lost]["name_upper"]) == (2, "甲二", "甲二")
    assert rows[stale]["name_upper"] == "乙 ABC"
    assert (rows[ahead]["version"], rows[ahead]["name"]) == (3, "丙三")
    async with db.transaction() as s:  # the planner knows the rebuilt replica's size at once
        assert (await s.execute(text(f"SELECT reltuples::bigint = (SELECT count(*) FROM {entities.name}) "
                                     f"FROM pg_class WHERE oid = '{entities.name}'::regclass"))).scalar_one()


class _Op:
    """What run_script needs of alembic.op, over a plain connection."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str) -> None:
        self.conn.exec_driver_sql(sql)


@pytest.mark.parametrize("industry_code", [True, False])
async def test_the_first_revision_creates_exactly_the_declared_table(settings, industry_code):
    declared = MetaData()
    replica.entity_table(declared, Column("name_grams", ARRAY(Text), nullable=False, server_default=text("'{}'")),
                         Index("replica_entities_grams", "name_grams", postgresql_using="gin"),
                         industry_code=industry_code)
    url = unique_database_url(settings, "replica_sql")
    await ensure_database(url)
    database = Database(url)
    try:
        async with database.engine.begin() as conn:
            def create(sync_conn) -> list:
                replica.create_entity_table(_Op(sync_conn), industry_code=industry_code)
                sync_conn.exec_driver_sql("ALTER TABLE replica_entities ADD COLUMN name_grams TEXT[] DEFAULT '{}' "
                                          "NOT NULL")
                sync_conn.exec_driver_sql("CREATE INDEX replica_entities_grams ON replica_entities "
                                          "USING gin (name_grams)")
                return compare_metadata(MigrationContext.configure(sync_conn), declared)
            assert await conn.run_sync(create) == []
    finally:
        await database.dispose()
