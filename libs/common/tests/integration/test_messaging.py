"""The messaging core against the real broker and database: outbox relay, inbox, dead letters, restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from jsp_common import outbox
from jsp_common.consumer import ConsumerLoop, HandlerContext, Reject
from jsp_common.offsets import assign_all
from jsp_common.db import Database, ensure_database
from jsp_common.envelope import new_envelope
from jsp_common.events import EventData, event
from jsp_common.messaging_tables import outbox_batches as outbox_table
from jsp_common.producer import EventProducer
from jsp_testkit.testing import (RawName, database_with_tables, java_produce, loop_not_blocked, raw_names_producer,
                                 tail, unique, unique_database_url, wait_until)
from jsp_common.topics import Topic, create_topics, dead_letter_topic

ROOT = Path(__file__).resolve().parents[4]


@event("test.counter.incremented.v1")
class CounterIncremented(EventData):
    counter: str
    by: int = 1


@event("test.counter.reset.v1")
class CounterReset(EventData):  # a known event type the test group has no handler for
    counter: str


FLAKY: dict[str, int] = {}
effects_metadata = MetaData()
counters = Table("counters", effects_metadata, Column("name", Text, primary_key=True),
                 Column("value", Integer, nullable=False))


@pytest.fixture(scope="module")
async def db(settings):
    async with database_with_tables(f"{settings.postgres_url}/common_test", effects_metadata) as database:
        yield database


@pytest.fixture
async def topic(bootstrap):
    """A fresh topic with a dead-letter topic for the group ``test.loop``."""
    name = unique("test.events")
    await create_topics(bootstrap, [Topic(name, "key", (), (), (), "test", partitions=2),
                                    Topic(dead_letter_topic(name, "test.loop"), "key", (), (), (), "test", 1)])
    return name


async def increment(ctx: HandlerContext) -> None:
    data: CounterIncremented = ctx.data  # type: ignore[assignment]
    if data.by < 0:
        raise Reject("a counter never goes down", {"by": data.by})
    if data.by == 13:
        raise RuntimeError("unlucky number")  # fails on every attempt
    if data.by == 2 and FLAKY.setdefault(data.counter, 0) < 2:
        FLAKY[data.counter] += 1
        raise RuntimeError("flaky dependency")  # fails twice, then succeeds
    await ctx.session.execute(pg_insert(counters).values(name=data.counter, value=data.by)
                              .on_conflict_do_update(index_elements=["name"],
                                                     set_={"value": counters.c.value + data.by}))


async def counter(db: Database, name: str) -> int | None:
    async with db.transaction() as s:
        return await s.scalar(select(counters.c.value).where(counters.c.name == name))


def envelope_for(name: str, by: int = 1, **kw):
    return new_envelope(type=CounterIncremented.event_type, source="/test", subject=name,
                        data=CounterIncremented(counter=name, by=by).model_dump(), **kw)


@pytest.fixture
async def loop(db, producer, bootstrap, topic):
    c = ConsumerLoop(group="test.loop", topics=[topic], handlers={CounterIncremented.event_type: increment},
                     db=db, producer=producer, source="/test", max_attempts=3, backoff_initial_s=0.01,
                     bootstrap_servers=bootstrap)
    await c.start()
    yield c
    await c.stop()


async def test_same_event_delivered_twice_has_one_effect(loop, producer, topic, db):
    name = unique("c")
    twice = envelope_for(name, by=5)
    await producer.publish(topic, twice, key=name)
    await producer.publish(topic, twice, key=name)  # redelivery of the very same event id
    marker = envelope_for(name, by=100)
    await producer.publish(topic, marker, key=name)

    await wait_until(lambda: counter(db, name), what="counter to exist")
    assert await wait_until(lambda: _eq(counter(db, name), 105), what="marker applied") == 105


async def test_a_transient_failure_is_retried_and_applied_once(loop, producer, topic, db, bootstrap):
    name = unique("c")
    async with tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
        await producer.publish(topic, envelope_for(name, by=2), key=name)
        assert await wait_until(lambda: _eq(counter(db, name), 2), what="retried event applied") == 2
        await dead.poll()
    assert FLAKY[name] == 2
    assert [m for m in dead.received if m.key == name] == []


async def test_a_failed_read_from_the_broker_is_retried_and_the_loop_goes_on(loop, producer, topic, db):
    """A fetch that fails (the group's rights withdrawn for a while, a corrupt record) read nothing: the loop
    tries again rather than ending, which would leave the service alive and consuming nothing; a loop that does
    end says so."""
    fetch, failures = loop._consumer.getmany, [KafkaError("topic authorization failed (for a while)")]

    async def failing_once(*args, **kwargs):
        if failures:
            raise failures.pop()
        return await fetch(*args, **kwargs)

    loop._consumer.getmany = failing_once
    await wait_until(lambda: not failures, what="the loop's next read, failing")
    name = unique("c")
    await producer.publish(topic, envelope_for(name, by=7), key=name)
    assert await wait_until(lambda: _eq(counter(db, name), 7), what="the event applied after the failed read") == 7
    assert loop.stopped_by is None

    # Anything else ends the loop: said, for the service's readiness to report.
    failures.append(RuntimeError("a defect in the loop"))
    await wait_until(lambda: loop.stopped_by is not None, what="the loop ended")
    assert isinstance(loop.stopped_by, RuntimeError)


async def _eq(value_coro, expected):
    return (await value_coro) == expected and expected


async def test_poison_messages_go_to_dead_letter_topic_and_the_next_good_one_is_processed(
        loop, producer, raw_producer, topic, db):
    name = unique("c")
    dlq = dead_letter_topic(topic, "test.loop")
    schema_invalid = new_envelope(type=CounterIncremented.event_type, source="/test", data={"by": "many"})
    unknown_type = new_envelope(type="test.nothing.v1", source="/test", data={})
    poison = [
        (b'{"specversion": "1.0", "id": "tr', "not JSON"),
        (b'{"hello": "world"}', "invalid CloudEvents envelope"),
        (schema_invalid.to_bytes(), "schema-invalid: counter: Field required; by: Input should be a valid integer"),
        (unknown_type.to_bytes(), "unknown event type 'test.nothing.v1'"),
        (envelope_for(name, by=-1).to_bytes(), "a counter never goes down"),
        (envelope_for(name, by=13).to_bytes(), "handler failed 3 times: RuntimeError: unlucky number"),
    ]
    # Not this group's to judge: a known event type it does not handle is passed over, even with broken data.
    not_handled = new_envelope(type=CounterReset.event_type, source="/test", data={"counter": 5, "extra": 1})
    async with tail(loop.producer._producer.client._bootstrap_servers, dlq) as dead:
        await raw_producer.send_and_wait(topic, not_handled.to_bytes(), key=name.encode())
        for raw, _ in poison:
            await raw_producer.send_and_wait(topic, raw, key=name.encode(), headers=[("origin", b"test")])
        await producer.publish(topic, envelope_for(name, by=7), key=name)

        got = await dead.wait_for(lambda m: True, count=len(poison), what="dead letters")
    assert await wait_until(lambda: _eq(counter(db, name), 7), what="good message after the poison") == 7
    assert [m.value for m in got] == [raw for raw, _ in poison]  # original bytes, in order
    for m, (_, reason) in zip(got, poison):
        assert m.headers["dlq.reason"].decode().startswith(reason), m.headers["dlq.reason"]
        assert m.headers["origin"] == b"test"  # original headers kept
        assert m.headers["dlq.original.topic"].decode() == topic
        assert m.key == name
    assert b'"field": "by"' in got[2].headers["dlq.details"] or b'"field":"by"' in got[2].headers["dlq.details"]


async def test_an_event_the_group_has_no_use_for_is_validated_but_neither_handled_nor_claimed(
        db, producer, raw_producer, bootstrap, topic):
    name = unique("w")
    unwanted, wanted = envelope_for(name, by=500), envelope_for(name, by=3)
    broken = new_envelope(type=CounterIncremented.event_type, source="/test", data={"counter": name, "by": "x"})
    c = ConsumerLoop(group="test.loop", topics=[topic], handlers={CounterIncremented.event_type: increment},
                     db=db, producer=producer, source="/test", bootstrap_servers=bootstrap,
                     wanted={CounterIncremented.event_type: lambda d: d.by < 100})
    async with tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
        await c.start()
        try:
            await producer.publish(topic, unwanted, key=name)
            await raw_producer.send_and_wait(topic, broken.to_bytes(), key=name.encode())
            await producer.publish(topic, wanted, key=name)
            assert await wait_until(lambda: _eq(counter(db, name), 3), what="the wanted event applied") == 3
            got = await dead.wait_for(lambda m: m.key == name, what="the broken event dead-lettered")
        finally:
            await c.stop()
    assert got[0].headers["dlq.reason"].decode().startswith("schema-invalid: by:")  # validated before judged
    async with db.transaction() as s:
        claimed = set((await s.execute(text("SELECT event_id FROM inbox WHERE consumer_group = 'test.loop' "
                                            "AND event_id = ANY(:ids)"),
                                       {"ids": [unwanted.id, wanted.id]})).scalars())
    assert claimed == {wanted.id}, "the unwanted event was passed over without an inbox row"


async def test_outbox_relay_killed_mid_batch_loses_no_event(db, bootstrap, topic, settings):
    transactions, per_transaction = 30, 100
    envs = [envelope_for(unique("k"), by=i) for i in range(transactions * per_transaction)]
    async with db.transaction() as s:
        await s.execute(update(outbox_table).where(outbox_table.c.sent_at.is_(None)).values(sent_at=func.now()))
    for t in range(transactions):  # each transaction's events are one outbox row
        async with db.transaction() as s:
            for env in envs[t * per_transaction:(t + 1) * per_transaction]:
                await outbox.add(s, topic, env, key=env.subject)

    # A relay in its own process, killed with SIGKILL while it is publishing: 10 ms into its fourth batch of
    # fifteen (the relay itself sets the moment: a test process watching the topic saw the first events too late
    # on a busy machine, when the relay had finished).
    script = textwrap.dedent(f"""
        import asyncio, os, signal
        from jsp_common.db import Database
        from jsp_common.outbox import OutboxRelay
        from jsp_common.producer import EventProducer
        async def main():
            db = Database({db.url!r})
            p = EventProducer(client_id="relay", bootstrap_servers={bootstrap!r})
            await p.start()
            relay = OutboxRelay(db, p, service="test", batch_size=2)
            for done in range(1, {transactions} + 1):
                await relay.publish_batch()
                if done == 3:
                    asyncio.get_running_loop().call_later(0.01, os.kill, os.getpid(), signal.SIGKILL)
        asyncio.run(main())
    """)
    async with tail(bootstrap, topic) as out:
        proc = subprocess.Popen([sys.executable, "-c", script])
        try:
            assert await asyncio.to_thread(proc.wait, 120) == -signal.SIGKILL, "the relay was not killed"
        finally:
            proc.kill()
        async with db.transaction() as s:
            unsent = await s.scalar(select(func.count()).select_from(outbox_table)
                                    .where(outbox_table.c.sent_at.is_(None)))
        assert 0 < unsent < transactions, "the relay was not killed in the middle; nothing was tested"

        p = EventProducer(client_id="relay-2", bootstrap_servers=bootstrap)
        await p.start()
        try:
            from jsp_common.outbox import OutboxRelay
            relay = OutboxRelay(db, p, service="test")
            while await relay.publish_batch():
                pass
        finally:
            await p.stop()
        wanted = {e.id for e in envs}
        await wait_until(lambda: _all_seen(out, wanted), timeout=60, what="every outbox event")


async def test_one_relay_publishes_at_a_time(db, bootstrap, topic):
    """Two replicas' relays never publish at once (an entity's events would race to its partition)."""
    from jsp_common.outbox import RELAY_LOCK, OutboxRelay

    async with db.transaction() as s:
        await s.execute(update(outbox_table).where(outbox_table.c.sent_at.is_(None)).values(sent_at=func.now()))
    envs = [envelope_for("same-entity", by=i) for i in range(3)]
    for env in envs:
        async with db.transaction() as s:
            await outbox.add(s, topic, env, key=env.subject)
    p = EventProducer(client_id="relay-b", bootstrap_servers=bootstrap)
    await p.start()
    try:
        async with tail(bootstrap, topic) as out:
            relay_b = OutboxRelay(db, p, service="test")
            async with db.transaction() as other:  # relay A, in the middle of publishing
                await other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RELAY_LOCK})
                assert await relay_b.publish_batch() == 0
            assert await relay_b.publish_batch() == 3  # A is done: B takes over, in order
            got = await out.wait_for(lambda m: True, count=3, what="the three events")
        assert [m.envelope.id for m in got] == [e.id for e in envs]
    finally:
        await p.stop()


async def test_a_relay_whose_round_failed_stays_stalled_while_another_replica_publishes_for_it(db, bootstrap, topic):
    """A replica whose Kafka client is stuck fails its rounds, and another replica's relay publishes the rows: the
    stuck one still counts as stalled (liveness restarts it) when it then finds the lock taken or nothing left,
    until a round of its own publishes; a relay that never failed counts nothing."""
    from jsp_common.outbox import RELAY_LOCK, OutboxRelay

    class _Stuck:  # a client that no longer gets anything out
        async def enqueue_all(self, messages):
            raise KafkaError("the client is stuck")

        async def delivered(self, futures):
            raise AssertionError("nothing was enqueued")

    async with db.transaction() as s:
        await s.execute(update(outbox_table).where(outbox_table.c.sent_at.is_(None)).values(sent_at=func.now()))
    for key in ("k-stuck", "k-after"):
        env = envelope_for(key)
        async with db.transaction() as s:
            await outbox.add(s, topic, env, key=key)
    p = EventProducer(client_id="relay-healthy", bootstrap_servers=bootstrap)
    await p.start()
    try:
        stuck, healthy = OutboxRelay(db, _Stuck(), service="test"), OutboxRelay(db, p, service="test")
        with pytest.raises(KafkaError):
            await stuck.publish_batch()
        assert await healthy.publish_batch() == 2  # the other replica takes the rows over
        async with db.transaction() as other:  # and is in a round: the lock is taken
            await other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RELAY_LOCK})
            assert await stuck.publish_batch() == 0
        assert await stuck.publish_batch() == 0  # nothing left to publish
        assert stuck.stalled_s() > 0 and healthy.stalled_s() == 0
        stuck.producer = p  # its client works again: its next round of its own publishes
        env = envelope_for("k-recovered")
        async with db.transaction() as s:
            await outbox.add(s, topic, env, key="k-recovered")
        assert await stuck.publish_batch() == 1
        assert stuck.stalled_s() == 0
    finally:
        await p.stop()


async def test_relay_gets_through_when_the_broker_rejects_its_producer(db, bootstrap, topic):
    """After a broker restart the broker may no longer accept the idempotent producer's sequence numbers
    (OutOfOrderSequenceNumber, UnknownProducerId): every later message of that producer fails, or waits for ever
    if its sender stopped. The relay then publishes through a new producer, and nothing is lost."""
    from aiokafka.structs import TopicPartition
    from jsp_common.outbox import OutboxRelay

    async with db.transaction() as s:
        await s.execute(update(outbox_table).where(outbox_table.c.sent_at.is_(None)).values(sent_at=func.now()))
    p = EventProducer(client_id="relay-rejected", bootstrap_servers=bootstrap, delivery_timeout_s=5)
    await p.start()
    relay = OutboxRelay(db, p, service="test", poll_interval_s=0.05)
    try:
        async with tail(bootstrap, topic) as out:
            first = envelope_for("k-first")
            async with db.transaction() as s:
                await outbox.add(s, topic, first, key="k-first")
            assert await relay.publish_batch() == 1
            await out.wait_for(lambda m: m.envelope.id == first.id, what="the first event")
            # The broker's view of this producer's sequence on every partition of the topic no longer matches.
            broken = p._producer
            for partition in range(2):
                broken._txn_manager.increment_sequence_number(TopicPartition(topic, partition), 7)
            envs = [envelope_for(f"k{i}", by=i) for i in range(6)]
            for env in envs:
                async with db.transaction() as s:
                    await outbox.add(s, topic, env, key=env.subject)
            relay.start()
            got = await out.wait_for(lambda m: m.envelope.id != first.id, count=len(envs), what="every event")
            assert {m.envelope.id for m in got} >= {e.id for e in envs}
            assert p._producer is not broken
            # A client whose sender stopped is replaced before it takes a message that would never leave.
            p._producer._sender.sender_task.cancel()
            late = envelope_for("k-late")
            async with db.transaction() as s:
                await outbox.add(s, topic, late, key="k-late")
            await out.wait_for(lambda m: m.envelope.id == late.id, what="the event after the sender stopped")
    finally:
        await relay.stop()
        await p.stop()


async def test_relay_round_keeps_to_its_byte_budget(db, bootstrap, topic):
    """A round takes whole transactions in order while they fit the budget (always at least one)."""
    from jsp_common.outbox import OutboxRelay

    async with db.transaction() as s:
        await s.execute(update(outbox_table).where(outbox_table.c.sent_at.is_(None)).values(sent_at=func.now()))
    sizes = [3, 1, 1, 2]  # events per transaction
    envs = [[envelope_for(unique("k"), by=i) for i in range(n)] for n in sizes]
    for tx in envs:
        async with db.transaction() as s:
            for env in tx:
                await outbox.add(s, topic, env, key=env.subject)
    one_event = len(envs[1][0].to_bytes())
    p = EventProducer(client_id="relay-budget", bootstrap_servers=bootstrap)
    await p.start()
    try:
        relay = OutboxRelay(db, p, service="test", batch_bytes=int(2.5 * one_event))
        # The first transaction alone (the second would start beyond the budget), then the other three.
        assert [await relay.publish_batch() for _ in range(3)] == [1, 3, 0]
    finally:
        await p.stop()


async def test_outbox_upgrade_carries_unsent_events_over_in_order(settings, bootstrap, topic):
    """A service migrating from the one-row-per-event outbox publishes the events it had not sent yet."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from jsp_common.migrations import create_messaging_tables, outbox_per_transaction

    url = unique_database_url(settings, "outbox_upgrade")
    await ensure_database(url)
    database = Database(url)
    envs = [envelope_for("c", by=i) for i in range(5)]

    def migrate(sync_conn, step) -> None:
        step(Operations(MigrationContext.configure(sync_conn)))

    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(migrate, create_messaging_tables)
            for i, env in enumerate(envs):  # the first was sent before the upgrade, the others not yet
                await conn.execute(text(
                    "INSERT INTO outbox (event_id, event_type, topic, key, payload, headers, sent_at) "
                    "VALUES (:id, :type, :topic, 'c', :payload, jsonb_build_object('traceparent', CAST(:tp AS text)), "
                    "CASE WHEN CAST(:sent AS boolean) THEN now() END)"),
                    {"id": env.id, "type": env.type, "topic": topic, "payload": env.to_bytes(),
                     "tp": env.traceparent, "sent": i == 0})
            await conn.run_sync(migrate, outbox_per_transaction)
        async with tail(bootstrap, topic) as out:
            p = EventProducer(client_id="relay-upgrade", bootstrap_servers=bootstrap)
            await p.start()
            try:
                from jsp_common.outbox import OutboxRelay
                assert await OutboxRelay(database, p, service="test").publish_batch() == 1
            finally:
                await p.stop()
            got = await out.wait_for(lambda m: True, count=4, what="the carried-over events")
        assert [m.envelope.id for m in got] == [e.id for e in envs[1:]]  # the sent one is not sent again
        assert got[0].headers["traceparent"] == envs[1].traceparent.encode()
    finally:
        await database.dispose()


async def _all_seen(out, wanted: set[str]) -> bool:
    await out.poll()
    return wanted <= {m.envelope.id for m in out.received}


@pytest.mark.broker_restart
async def test_broker_restart_loses_no_committed_message(bootstrap, topic, db, producer, loop):
    names = [unique("r") for _ in range(50)]
    for n in names:
        await producer.publish(topic, envelope_for(n, by=1), key=n)  # acks=all: committed
    env = {**os.environ}
    infra = [sys.executable, str(ROOT / "deploy/local/infra.py")]
    subprocess.run(infra + ["kafka-stop"], check=True, env=env)
    subprocess.run(infra + ["kafka-start"], check=True, env=env)

    async with tail(bootstrap, topic, from_beginning=True) as t:
        await t.wait_for(lambda m: m.key in names, count=len(names), timeout=60, what="messages after restart")
    # The consumer loop and the producer reconnect and carry on.
    after = unique("after")
    await producer.publish(topic, envelope_for(after, by=3), key=after)
    assert await wait_until(lambda: _eq(counter(db, after), 3), timeout=60, what="processing after restart") == 3
    for n in names:
        assert await counter(db, n) == 1


@pytest.mark.parametrize("compression", ["lz4", "snappy", "zstd", "gzip"])
async def test_events_a_java_line_system_sends_compressed_are_applied(compression, loop, producer, topic, db, bootstrap):
    """A Java producer with compression.type set (lz4 is common) once made every read of the partition fail: the
    client had no codec for it, and the group stalled there for good. Every codec Kafka clients write is read."""
    name = unique("c")
    await java_produce(bootstrap, topic, [(name, envelope_for(name, by=2).to_bytes()),
                                          (name, envelope_for(name, by=3).to_bytes())], compression=compression)
    await producer.publish(topic, envelope_for(name, by=5), key=name)  # and one not compressed after them
    assert await wait_until(lambda: _eq(counter(db, name), 10), what=f"the {compression} events applied") == 10


async def test_a_batch_the_client_cannot_decompress_is_dead_lettered_and_the_partition_goes_on(
        monkeypatch, loop, producer, topic, db, bootstrap):
    """A record batch the client cannot decompress (here: as a client without the lz4 codec, as the services were
    installed before) made every read fail, retried for ever, nothing dead-lettered. It is one dead letter with
    its coordinates (its first and last offset) and the reason, and the events after it are applied; so are those
    read in the same poll as the failure, before it."""
    import aiokafka.codec

    name = unique("c")
    await producer.publish(topic, envelope_for(name, by=1), key=name)
    assert await wait_until(lambda: _eq(counter(db, name), 1), what="the first event applied") == 1
    monkeypatch.setattr(aiokafka.codec, "cramjam", None)  # the lz4, snappy and zstd codecs gone
    async with tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
        await loop.stop()
        await producer.publish(topic, envelope_for(name, by=2), key=name)  # read in the same poll, before it
        await java_produce(bootstrap, topic, [(name, envelope_for(name, by=100).to_bytes()),
                                              (name, envelope_for(name, by=200).to_bytes())], compression="lz4")
        await producer.publish(topic, envelope_for(name, by=4), key=name)
        again = ConsumerLoop(group="test.loop", topics=[topic], handlers={CounterIncremented.event_type: increment},
                             db=db, producer=producer, source="/test", bootstrap_servers=bootstrap)
        await again.start()
        try:
            [letter] = await dead.wait_for(lambda m: True, what="the batch's dead letter")
            assert await wait_until(lambda: _eq(counter(db, name), 7), what="the events around it applied") == 7
            assert again.stopped_by is None
        finally:
            await again.stop()
    reason = letter.headers["dlq.reason"].decode()
    assert reason.startswith("a record batch compressed with lz4 that cannot be decompressed"), reason
    first = int(letter.headers["dlq.original.offset"])
    assert json.loads(letter.headers["dlq.details"]) == {"last_offset": first + 1, "compression": "lz4"}
    assert letter.key is None and letter.value == b""


async def test_a_header_name_that_is_not_utf8_is_dead_lettered_and_the_records_around_it_applied(
        loop, topic, db, bootstrap):
    """The client decodes header names as UTF-8: one in GBK made every poll raise UnicodeDecodeError, which ended
    the consumer loop (liveness failed, the pod restarted and died again on the same record). The record is dead-
    lettered with the reason, its key, value and headers (the name escaped), and the records sent in the same
    batch before and after it are applied."""
    name = unique("c")
    bad = envelope_for(name, by=100).to_bytes()
    async with tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
        async with raw_names_producer(bootstrap, linger_ms=100) as gbk:  # sent together: one record batch
            sent = [await gbk.send(topic, envelope_for(name, by=1).to_bytes(), key=name.encode()),
                    await gbk.send(topic, bad, key=name.encode(), headers=[(RawName("来源".encode("gbk")), b"v")]),
                    await gbk.send(topic, envelope_for(name, by=2).to_bytes(), key=name.encode())]
            offsets = [(await s).offset for s in sent]
        assert offsets == list(range(offsets[0], offsets[0] + 3))
        [letter] = await dead.wait_for(lambda m: m.key == name, what="the record's dead letter")
        assert await wait_until(lambda: _eq(counter(db, name), 3), what="the records around it applied") == 3
    assert loop.stopped_by is None
    assert letter.headers["dlq.reason"].decode().startswith("a header name that is not UTF-8"), letter.headers
    assert letter.headers["dlq.original.offset"] == str(offsets[1]).encode() and letter.value == bad
    assert letter.headers["\\xc0\\xb4\\xd4\\xb4"] == b"v", "the header kept, its name escaped"


async def test_a_dead_letter_too_large_even_without_its_value_goes_out_clipped_and_the_loop_carries_on(
        loop, raw_producer, topic, db, bootstrap):
    """A message of about 1 MB whose bulk is its key: the broker takes it, but its dead letter (the dead-letter
    headers added) was larger than the client sends even without its value, and sending it again without the value
    spun for ever without awaiting: the event loop froze (HTTP, probes, every other consumer). The dead letter goes
    out with its key clipped, saying so, its coordinates and reason kept, and the partition goes on."""
    name = unique("c")
    async with loop_not_blocked(20), tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
        big = await raw_producer.send_and_wait(topic, b"not an envelope", key=name.encode() + b"K" * 1_048_300)
        await raw_producer.send_and_wait(topic, envelope_for(name, by=3).to_bytes(), key=name.encode(),
                                         partition=big.partition)  # after it, on its partition
        [letter] = await dead.wait_for(lambda m: m.headers.get("dlq.original.offset") == str(big.offset).encode(),
                                       what="the dead letter")
        assert await wait_until(lambda: _eq(counter(db, name), 3), what="the next message applied") == 3
    assert loop.stopped_by is None
    assert letter.headers["dlq.reason"].startswith(b"not JSON")
    assert letter.headers["dlq.original.partition"] == str(big.partition).encode()
    assert letter.key.startswith(name) and len(letter.key) == 1024
    assert letter.headers["dlq.clipped"].decode().startswith(f"key: {len(name) + 1_048_300} bytes, its first 1024 kept")


def _infra(command: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "deploy/local/infra.py"), command], check=True, env={**os.environ})


async def _relay_lock_free(db: Database) -> bool:
    """Another replica's relay could take the relay's lock now (taken and given back at once)."""
    from jsp_common.outbox import RELAY_LOCK
    async with db.transaction() as s:
        return bool(await s.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RELAY_LOCK}))


@pytest.mark.broker_restart
async def test_the_relay_publishes_what_it_kept_after_an_outage_longer_than_its_delivery_timeout(db, bootstrap, topic):
    """A relay round whose events the broker did not acknowledge in time (the broker away) gave its producer up for
    a new one that could not start while the broker was away: every later round waited for ever for that producer
    inside its transaction, holding the relay's lock, so no replica published anything even once the broker was
    back. Now the producer is replaced only by one that started, a round ends within its bound while the broker is
    away (the lock free for another replica), the relay reports it is stalled, and once the broker is back the
    events it kept go out."""
    from jsp_common.outbox import OutboxRelay

    async with db.transaction() as s:
        await s.execute(update(outbox_table).where(outbox_table.c.sent_at.is_(None)).values(sent_at=func.now()))
    p = EventProducer(client_id="relay-outage", bootstrap_servers=bootstrap, delivery_timeout_s=3)
    await p.start()
    relay = OutboxRelay(db, p, service="test", poll_interval_s=0.05)
    failures: list[BaseException] = []
    publish_batch = relay.publish_batch

    async def watched() -> int:  # the relay's rounds, as they fail
        try:
            return await publish_batch()
        except Exception as exc:
            failures.append(exc)
            raise
    relay.publish_batch = watched  # type: ignore[method-assign]
    try:
        async with tail(bootstrap, topic) as out:
            first = envelope_for(unique("k"))
            async with db.transaction() as s:
                await outbox.add(s, topic, first, key=first.subject)
            assert await publish_batch() == 1  # the producer knows the topic's partitions
            _infra("kafka-stop")
            try:
                envs = [envelope_for(unique("k"), by=i) for i in range(5)]
                for env in envs:
                    async with db.transaction() as s:
                        await outbox.add(s, topic, env, key=env.subject)
                relay.start()
                await wait_until(lambda: len(failures) >= 2, timeout=120, what="two relay rounds to fail")
                await wait_until(lambda: _relay_lock_free(db), timeout=60,
                                 what="the relay's lock free while the broker is away")
                assert relay.stalled_s() > 0, "a relay with unsent rows and no progress reports it"
            finally:
                _infra("kafka-start")
            kept = {e.id for e in envs}

            async def every_one_published() -> bool:  # at least once: a round the outage cut off may have landed
                await out.poll()
                return kept <= {m.envelope.id for m in out.received}
            await wait_until(every_one_published, timeout=120, interval=0, what="every event kept through the outage")
            await wait_until(lambda: relay.stalled_s() == 0, timeout=30, what="the relay to report progress")
            await asyncio.wait_for(p.ping(), 10)
    finally:
        await relay.stop()
        await p.stop()


async def test_a_batch_handler_gets_a_poll_at_once_and_a_rejected_event_alone_by_halving(db, producer, bootstrap, topic):
    name = unique("b")
    batches: list[int] = []

    async def increment_all(ctxs: list[HandlerContext]) -> None:
        batches.append(len(ctxs))
        for ctx in ctxs:
            await increment(ctx)

    for by in [1] * 30 + [-1] + [1] * 9:  # one poison event among forty, all waiting before the loop starts
        await producer.publish(topic, envelope_for(name, by=by), key=name)
    c = ConsumerLoop(group="test.loop", topics=[topic], handlers={},
                     batch_handlers={CounterIncremented.event_type: increment_all}, db=db, producer=producer,
                     source="/test", max_attempts=2, backoff_initial_s=0.01, bootstrap_servers=bootstrap)
    async with tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
        await c.start()
        try:
            assert await wait_until(lambda: _eq(counter(db, name), 39), what="39 good events applied") == 39
            await dead.wait_for(lambda m: m.key == name, what="the rejected event dead-lettered")
        finally:
            await c.stop()
    assert batches[0] == 40, "the whole poll went to the batch handler at once"
    assert batches.count(1) >= 2, "the rejected event was tried alone (and once more: max_attempts=2)"
    assert len(batches) <= 16, f"the good events went on in batches, not one by one: {batches}"


async def test_a_batch_handler_s_refusal_is_dead_lettered_before_a_later_unreadable_message(
        db, bootstrap, producer, raw_producer, topic):
    """Offset order holds for dead letters (and receipts) across a batch handler's run: the unreadable message
    after a refused one was dead-lettered first (its refusal taken when reached, the run's at its end)."""
    name = unique("c")

    async def refuse_negative(ctxs: list[HandlerContext]) -> None:
        for ctx in ctxs:
            if ctx.data.by < 0:
                ctx.dead_letter("a counter never goes down")
            else:
                await increment(ctx)

    sent = [envelope_for(name, by=-1).to_bytes(), b"not JSON", envelope_for(name, by=5).to_bytes()]
    c = ConsumerLoop(group="test.loop", topics=[topic], handlers={},
                     batch_handlers={CounterIncremented.event_type: refuse_negative}, db=db, producer=producer,
                     source="/test", backoff_initial_s=0.01, bootstrap_servers=bootstrap)
    got = await _one_poll_dead_lettered(c, raw_producer, bootstrap, db, topic, name, sent, letters=2, total=5)
    assert [m.headers["dlq.original.offset"] for m in got] == [b"0", b"1"]
    assert [m.value for m in got] == sent[:2]


async def _one_poll_dead_lettered(loop: ConsumerLoop, raw_producer, bootstrap: str, db: Database, topic: str,
                                  name: str, sent: list[bytes], *, letters: int, total: int) -> list:
    """``sent`` put on the topic before ``loop`` starts (so read in one poll), then run until ``name`` has
    ``letters`` dead letters and its counter ``total``; the dead letters, in the order they arrived."""
    for value in sent:
        await raw_producer.send(topic, value, key=name.encode())
    await raw_producer.flush()
    try:
        async with tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
            await loop.start()
            got = await dead.wait_for(lambda m: m.key == name, count=letters, what="the dead letters")
        assert await wait_until(lambda: _eq(counter(db, name), total), what="the good messages applied") == total
    finally:
        await loop.stop()
    return got


async def _outbox_ids(db: Database, out_topic: str) -> list[str]:
    async with db.transaction() as s:
        rows = (await s.execute(select(outbox_table.c.event_ids, outbox_table.c.topics)
                                .where(outbox_table.c.topics.any(out_topic)).order_by(outbox_table.c.id))).all()
    return [i for ids, tops in rows for i, t in zip(ids, tops) if t == out_topic]


async def _rewind_group(group: str, topic: str, bootstrap: str) -> None:
    """The group's committed offsets back to the beginning of ``topic`` (the runbook's reset, in the test)."""
    c = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, bootstrap_servers=bootstrap)
    await c.start()
    try:
        await c.commit(dict(await c.beginning_offsets(await assign_all(c, [topic]))))
    finally:
        await c.stop()


async def test_the_same_input_applied_again_after_a_restore_issues_its_events_under_the_same_ids(
        db, producer, bootstrap, topic):
    """Outward event ids derive from the input event: the database restored to before the input (its inbox and
    outbox rows gone, as in a backup taken earlier) and the group rewound, the input is applied again and its
    events carry the ids they had, so consumers' inboxes skip them."""
    out, group, name = unique("test.out"), unique("test.ids"), unique("i")
    records: list[str] = []

    async def fan_out(ctx: HandlerContext) -> None:
        data: CounterIncremented = ctx.data  # type: ignore[assignment]
        for target in ("a", "b", "a"):  # the third is a second event of the same topic, type and key
            await ctx.emit(out, CounterIncremented(counter=f"{data.counter}-{target}"), key=target)
        records.append(ctx.new_id("counter", data.counter))

    def consumer() -> ConsumerLoop:
        return ConsumerLoop(group=group, topics=[topic], handlers={CounterIncremented.event_type: fan_out}, db=db,
                            producer=producer, source="/test", bootstrap_servers=bootstrap)

    await producer.publish(topic, envelope_for(name), key=name)
    first = consumer()
    await first.start()
    try:
        ids = await wait_until(lambda: _outbox_ids(db, out), what="the input's events in the outbox")
    finally:
        await first.stop()
    assert len(ids) == len(set(ids)) == 3

    async with db.transaction() as s:  # the restore: back to a copy taken before the input was applied
        await s.execute(text("DELETE FROM inbox WHERE consumer_group = :g"), {"g": group})
        await s.execute(outbox_table.delete().where(outbox_table.c.topics.any(out)))
    await _rewind_group(group, topic, bootstrap)
    again = consumer()
    await again.start()
    try:
        assert await wait_until(lambda: _outbox_ids(db, out), what="the input applied again") == ids
    finally:
        await again.stop()
    assert records[0] == records[1], "a record the input creates gets the same id too"


async def _refused_then_the_next_applied(handler, name: str, db, producer, bootstrap: str, topic: str):
    """``handler`` applying counter ``name``'s messages: it refuses the first (by 1) and applies the next (by 5);
    the first one's dead letter."""
    c = ConsumerLoop(group="test.loop", topics=[topic], handlers={CounterIncremented.event_type: handler}, db=db,
                     producer=producer, source="/test", max_attempts=3, backoff_initial_s=0.01,
                     bootstrap_servers=bootstrap)
    await c.start()
    try:
        async with tail(bootstrap, dead_letter_topic(topic, "test.loop")) as dead:
            await producer.publish(topic, envelope_for(name, by=1), key=name)
            await producer.publish(topic, envelope_for(name, by=5), key=name)
            [letter] = await dead.wait_for(lambda m: m.key == name, what="the dead letter")
        assert await wait_until(lambda: _eq(counter(db, name), 5), what="the next message applied") == 5
    finally:
        await c.stop()
    return letter


async def test_a_rejection_with_huge_details_is_dead_lettered_with_them_clipped_and_the_partition_moves_on(
        db, producer, bootstrap, topic):
    """Details larger than a Kafka message (a handler echoing what it refused, say) once kept the dead letter
    from being published, and the partition from moving on, for ever."""
    async def refuse_loudly(ctx: HandlerContext) -> None:
        if ctx.data.by == 1:
            raise Reject("refused", {"echo": ctx.envelope.data, "pad": "x" * 1_500_000})
        await increment(ctx)

    letter = await _refused_then_the_next_applied(refuse_loudly, unique("c"), db, producer, bootstrap, topic)
    assert letter.headers["dlq.reason"] == b"refused"
    assert len(letter.headers["dlq.details"]) < 9 * 1024 and letter.headers["dlq.details"].endswith(b"bytes in all)")


async def test_an_input_whose_event_would_be_too_large_for_kafka_is_refused_and_the_next_one_goes_out(
        db, producer, bootstrap, topic):
    """An event larger than a Kafka message was queued with its input's effects: the relay could never publish
    it, and every event the service issued after it waited behind it. The input is refused instead (its effects
    undone, nothing queued), with the reason on its dead letter, and the next input's event is queued."""
    out, name = unique("test.out"), unique("c")

    async def echo(ctx: HandlerContext) -> None:
        await increment(ctx)
        data: CounterIncremented = ctx.data  # type: ignore[assignment]
        await ctx.emit(out, CounterIncremented(counter=data.counter * (200_000 if data.by == 1 else 1)), key=name)

    letter = await _refused_then_the_next_applied(echo, name, db, producer, bootstrap, topic)
    reason = letter.headers["dlq.reason"].decode()
    assert reason.startswith(f"the test.counter.incremented.v1 event it issues on {out} would be "), reason
    async with db.transaction() as s:
        sizes = (await s.execute(select(func.max(func.pg_column_size(outbox_table.c.payloads)))
                                 .where(outbox_table.c.topics.any(out)))).scalar_one()
    assert len(await _outbox_ids(db, out)) == 1 and sizes < 10_000


async def test_a_poll_of_refused_messages_is_dead_lettered_in_order_one_too_large_without_its_value(
        db, bootstrap, raw_producer, topic):
    """A poll's dead letters go to the broker together; from one the dead-letter topic cannot take (here: larger
    than the group's producer sends) on, one at a time. Every one arrives, in order, and the good messages around
    them are applied."""
    name = unique("c")
    big = b"not JSON " + b"x" * 80_000
    sent = [envelope_for(name, by=3).to_bytes(), b"not JSON 1", b'{"not": "an envelope"}', big,
            envelope_for(name, by=-1).to_bytes(), b"not JSON 2", envelope_for(name, by=4).to_bytes()]
    small = EventProducer(client_id="test.small", bootstrap_servers=bootstrap, max_request_size=64 * 1024)
    await small.start()
    c = ConsumerLoop(group="test.loop", topics=[topic], handlers={CounterIncremented.event_type: increment},
                     db=db, producer=small, source="/test", max_attempts=3, backoff_initial_s=0.01,
                     bootstrap_servers=bootstrap)
    try:
        got = await _one_poll_dead_lettered(c, raw_producer, bootstrap, db, topic, name, sent, letters=5, total=7)
    finally:
        await small.stop()
    refused = [sent[1], sent[2], sent[3], sent[4], sent[5]]
    assert [m.headers["dlq.original.offset"] for m in got] == [str(sent.index(v)).encode() for v in refused]
    assert [m.value for m in got] == [sent[1], sent[2], b"", sent[4], sent[5]]
    assert got[2].headers["dlq.value_omitted"].startswith(b"80009 bytes, too large")
    assert got[3].headers["dlq.reason"] == b"a counter never goes down"
