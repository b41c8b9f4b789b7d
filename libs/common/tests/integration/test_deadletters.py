"""Operators' tools for the dead-letter topics against the real broker and database: dead letters are listed
with their reason and original coordinates, re-driven after a fix (one by its address, others by a filter,
through the command line), the re-drive is recorded, and a re-driven event is applied once only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from sqlalchemy import Column, MetaData, Table, Text, func, select

from jsp_common import deadletters, topics
from jsp_common.consumer import ConsumerLoop, HandlerContext, Reject
from jsp_common.db import Database, ensure_database
from jsp_common.envelope import new_envelope
from jsp_common.events import EventData, event
from jsp_common.messaging_tables import metadata as messaging_metadata
from jsp_common.producer import EventProducer
from jsp_common.topics import Topic, create_topics, dead_letter_topic
from jsp_testkit.testing import tail, unique, unique_database_url, wait_until

GROUP = "test.redrive"
FIXED: set[str] = set()     # counters whose cause has been "fixed" by the operator
effects = MetaData()
applied = Table("applied", effects, Column("event_id", Text, nullable=False), Column("counter", Text, nullable=False))


@event("test.redrive.counted.v1")
class Counted(EventData):
    counter: str
    refuse: str = "reject"    # how the handler refuses before the fix: raise Reject, or ctx.dead_letter


async def count(ctx: HandlerContext) -> None:
    data: Counted = ctx.data  # type: ignore[assignment]
    if data.counter.startswith("wait") and data.counter not in FIXED:
        if data.refuse == "reject":
            raise Reject("waiting for the rule set", {"counter": data.counter})
        ctx.dead_letter("waiting for the directory", {"counter": data.counter})   # as receipts.reject does
        return
    await ctx.session.execute(applied.insert().values(event_id=ctx.envelope.id, counter=data.counter))


@pytest.fixture
async def setup(settings, bootstrap, kafka_topics):
    topic = unique("test.redrive-events")
    dlq = dead_letter_topic(topic, GROUP)
    await create_topics(bootstrap, [Topic(topic, "key", (), (), (), "test", partitions=3),
                                    Topic(dlq, "key", (), (), (), "test", 1)])
    url = unique_database_url(settings, "redrive")
    await ensure_database(url)
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
        await conn.run_sync(effects.create_all)
    producer = EventProducer(client_id="test", bootstrap_servers=bootstrap)
    await producer.start()
    loop = ConsumerLoop(group=GROUP, topics=[topic], handlers={Counted.event_type: count}, db=db, producer=producer,
                        source="/test", max_attempts=2, backoff_initial_s=0.01, bootstrap_servers=bootstrap)
    await loop.start()
    await loop.assigned()
    yield topic, dlq, db, producer
    await loop.stop()
    await producer.stop()
    await db.dispose()


async def times_applied(db: Database, event_id: str) -> int:
    async with db.transaction() as s:
        return await s.scalar(select(func.count()).select_from(applied).where(applied.c.event_id == event_id))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jsp_common.deadletters", *args], capture_output=True, text=True,
                          env={**os.environ, "JSP_LOG_JSON": "true"}, timeout=120)


async def test_dead_letters_are_listed_redriven_after_a_fix_recorded_and_applied_once(setup, bootstrap):
    topic, dlq, db, producer = setup
    counters = {name: unique(name) for name in ("wait-rule", "wait-dir-1", "wait-dir-2", "fine")}
    sent = {}
    for name, counter in counters.items():
        env = new_envelope(type=Counted.event_type, source="/test", subject=counter,
                           data=Counted(counter=counter, refuse="reject" if name == "wait-rule" else "dead-letter")
                           .model_dump())
        await producer.publish(topic, env, key=counter)
        sent[name] = env
    await producer.send(topic, b"{not json", key="junk")

    await wait_until(lambda: times_applied(db, sent["fine"].id), what="the good event applied")
    letters = await wait_until(lambda: _dead(bootstrap, dlq, 4), what="four dead letters")
    by_id = {dl.event_id: dl for dl in letters}
    rule = by_id[sent["wait-rule"].id]
    assert rule.reason == "waiting for the rule set" and rule.details == {"counter": counters["wait-rule"]}
    assert rule.group == GROUP and rule.event_type == Counted.event_type and rule.key_text == counters["wait-rule"]
    original_topic, partition, offset = rule.original
    assert original_topic == topic and offset >= 0
    [junk] = [dl for dl in letters if dl.event_id is None]
    assert junk.value == b"{not json" and "JSON" in junk.reason
    assert {dl.event_id for dl in await deadletters.read([dlq], only=deadletters.Filter(reason="DIRECTORY"),
                                                         bootstrap_servers=bootstrap)} == \
        {sent["wait-dir-1"].id, sent["wait-dir-2"].id}

    FIXED.update(counters.values())      # the operator fixes the cause
    async with tail(bootstrap, topic, topics.DEAD_LETTER_REDRIVES) as out:
        [record] = await deadletters.redrive([rule], by="ops-li", note="rule set v7 published",
                                             bootstrap_servers=bootstrap)
        assert (record.original_partition, record.redriven_partition) == (partition, partition)
        listed = cli("list", "--dlq", dlq, "--reason", "directory")
        assert listed.returncode == 0, listed.stderr
        assert {json.loads(line)["event_id"] for line in listed.stdout.splitlines()} == \
            {sent["wait-dir-1"].id, sent["wait-dir-2"].id}
        driven = cli("redrive", "--dlq", dlq, "--reason", "directory", "--by", "ops-wang", "--note", "replica caught up")
        assert driven.returncode == 0, driven.stderr

        for name in ("wait-rule", "wait-dir-1", "wait-dir-2"):
            await wait_until(lambda name=name: times_applied(db, sent[name].id), what=f"{name} applied after re-drive")
        copy = (await out.wait_for(lambda m: m.topic == topic and m.headers.get("redrive.by") == b"ops-li",
                                   what="the re-driven copy"))[0]
        assert copy.headers["redrive.from"] == rule.address.encode() and copy.partition == partition
        assert not any(k.startswith("dlq.") for k in copy.headers) and copy.value == rule.value
        recorded = await out.wait_for(lambda m: m.topic == topics.DEAD_LETTER_REDRIVES and m.is_envelope()
                                      and m.envelope.data["dead_letter_topic"] == dlq, count=3, what="3 records")
        assert sorted((r.envelope.data["event_id"], r.envelope.data["redriven_by"]) for r in recorded) == sorted(
            [(sent["wait-rule"].id, "ops-li"), (sent["wait-dir-1"].id, "ops-wang"), (sent["wait-dir-2"].id, "ops-wang")])

    # Re-driven a second time: still applied once each.
    again = await deadletters.read([dlq], only=deadletters.Filter(reason="waiting"), bootstrap_servers=bootstrap)
    assert len(again) == 3
    await deadletters.redrive(again, by="ops-li", note="twice", bootstrap_servers=bootstrap)
    for dl in again:   # a marker behind each re-driven copy, on its partition: once it is applied, so was the copy
        marker = new_envelope(type=Counted.event_type, source="/test", subject="m",
                              data=Counted(counter=unique("m")).model_dump())
        await producer.send(topic, marker.to_bytes(), key=dl.key, partition=dl.original[1])
        await wait_until(lambda marker=marker: times_applied(db, marker.id), what="the marker applied")
    for name in ("wait-rule", "wait-dir-1", "wait-dir-2", "fine"):
        assert await times_applied(db, sent[name].id) == 1, name


async def _dead(bootstrap: str, dlq: str, n: int):
    found = await deadletters.read([dlq], bootstrap_servers=bootstrap)
    return found if len(found) >= n else None


async def _eq(value, expected) -> bool:
    return (await value) == expected


def test_a_filter_selects_by_reason_type_id_and_time():
    from datetime import datetime, timedelta

    from jsp_common import clock
    at = clock.now()
    dl = deadletters.DeadLetter("t.dlq.g", 3, b"k", new_envelope(type=Counted.event_type, source="/t", subject="s",
                                                                 data={"counter": "c"}).to_bytes(),
                                (("dlq.reason", b"schema-invalid: uscc"), ("dlq.failed_at", at.isoformat().encode())))
    F = deadletters.Filter
    assert F(reason="SCHEMA").matches(dl) and not F(reason="handler failed").matches(dl)
    assert F(event_type=Counted.event_type).matches(dl) and not F(event_type="x.v1").matches(dl)
    assert F(since=at - timedelta(seconds=1), until=at + timedelta(seconds=1)).matches(dl)
    assert not F(since=at + timedelta(seconds=1)).matches(dl) and not F(until=at).matches(dl)
    assert F(event_id=dl.event_id).matches(dl) and not F(event_id="other").matches(dl)
    assert isinstance(dl.failed_at, datetime)


async def test_an_entitys_dead_letters_redriven_together_go_back_in_their_order_each_recorded_where_it_went(
        setup, bootstrap):
    topic, dlq, db, producer = setup
    key = unique("entity")
    sent = []
    for i in range(6):
        env = new_envelope(type=Counted.event_type, source="/test", subject=key,
                           data=Counted(counter=unique(f"wait-{i}"), refuse="dead-letter").model_dump())
        await producer.publish(topic, env, key=key)
        sent.append(env)
    letters = await wait_until(lambda: _dead_of(bootstrap, dlq, key, 6), what="six dead letters")
    assert [dl.event_id for dl in letters] == [env.id for env in sent]

    FIXED.update(env.data["counter"] for env in sent)
    async with tail(bootstrap, topic) as out:
        records = await deadletters.redrive(letters, by="ops-zhao", note="directory caught up",
                                            bootstrap_servers=bootstrap)
        copies = await out.wait_for(lambda m: m.headers.get("redrive.by") == b"ops-zhao", count=6,
                                    what="the re-driven copies")
    assert [c.value for c in copies] == [env.to_bytes() for env in sent]  # the entity's order holds
    assert [(r.event_id, r.redriven_partition, r.redriven_offset) for r in records] == \
        [(env.id, c.partition, c.offset) for env, c in zip(sent, copies)]
    for env in sent:
        await wait_until(lambda env=env: times_applied(db, env.id), what="each applied after the re-drive")


async def _dead_of(bootstrap: str, dlq: str, key: str, n: int):
    found = [dl for dl in await deadletters.read([dlq], bootstrap_servers=bootstrap) if dl.key_text == key]
    return found if len(found) >= n else None


async def test_a_redrive_that_cannot_be_recorded_sends_nothing_and_unreadable_letters_headers_are_kept_short(
        setup, bootstrap):
    topic, dlq, db, producer = setup
    key = unique("unreadable")     # not an envelope: known by its headers only, of any length
    await producer.send(topic, b"{not json", key=key, headers=[("ce_id", b"i" * 300), ("ce_type", b"t" * 300)])
    [letter] = await wait_until(lambda: _dead_of(bootstrap, dlq, key, 1), what="the dead letter")
    async with tail(bootstrap, topic, topics.DEAD_LETTER_REDRIVES) as out:
        with pytest.raises(ValueError, match="redriven_by"):
            await deadletters.redrive([letter], by="o" * 201, bootstrap_servers=bootstrap)
        driven = cli("redrive", letter.address, "--by", "ops-sun", "--note", "n" * 2001)
        assert driven.returncode != 0 and "nothing re-driven" in driven.stderr and "note" in driven.stderr
        # A letter kept without its message (too large) would go back empty: refused, naming it.
        omitted = replace(letter, offset=letter.offset + 1000, value=b"",
                          headers=(*letter.headers, ("dlq.value_omitted", b"80009 bytes, too large")))
        with pytest.raises(ValueError, match=f"original records.*{omitted.address}"):
            await deadletters.redrive([letter, omitted], by="ops-sun", bootstrap_servers=bootstrap)

        [record] = await deadletters.redrive([letter], by="ops-sun", note="unreadable, sent back as it was",
                                             bootstrap_servers=bootstrap)
        assert (record.event_id, record.dead_event_type) == ("i" * 200, "t" * 200)
        copies = await out.wait_for(lambda m: m.topic == topic and m.key == key, what="the re-driven copy")
        await out.wait_for(lambda m: m.topic == topics.DEAD_LETTER_REDRIVES and m.is_envelope()
                           and m.envelope.data["event_id"] == "i" * 200, what="its record")
    assert [(c.value, c.partition, c.headers["redrive.by"]) for c in copies] == \
        [(b"{not json", letter.original[1], b"ops-sun")]      # the refused re-drives sent nothing


async def test_a_dead_letter_keeps_its_messages_key_byte_for_byte(setup, bootstrap):
    """A Java system's LongSerializer key (eight bytes, no text): the dead letter carried it decoded and encoded
    again (00 ... C8 became 00 ... EF BF BD), so the original key was lost and a re-drive sent another one."""
    topic, dlq, _, producer = setup
    key = b"\x00\x00\x00\x00\x00\x00\x00\xc8"
    marker = unique("not-json").encode()
    await producer.send(topic, marker, key=key)
    [letter] = await wait_until(lambda: _letters_of(bootstrap, dlq, marker), what="the message dead-lettered")
    assert letter.key == key and letter.reason.startswith("not JSON")


async def _letters_of(bootstrap: str, dlq: str, value: bytes):
    return [dl for dl in await deadletters.read([dlq], bootstrap_servers=bootstrap) if dl.value == value] or None
