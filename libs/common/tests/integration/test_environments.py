"""Two environments on one broker (JSP_ENV_PREFIX): the same consumer group of each gets every message of the
topic (they do not split its partitions), and each dead-letters into its own topic."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from jsp_common.consumer import ConsumerLoop, HandlerContext
from jsp_common.db import Database, ensure_database
from jsp_common.envelope import new_envelope
from jsp_common.events import EventData, event
from jsp_common.messaging_tables import metadata as messaging_metadata
from jsp_common.producer import EventProducer
from jsp_common.settings import ServiceSettings
from jsp_common.topics import Topic, create_topics, dead_letter_topic
from jsp_testkit.testing import tail, unique, unique_database_url, wait_until

GROUP = "test.environments"


@event("test.environment.probed.v1")
class Probed(EventData):
    key: str


async def test_two_environments_on_one_broker_each_get_every_message_and_their_own_dead_letters(settings, bootstrap):
    topic = unique("test.env-events")
    envs = (unique("alpha").replace("-", "")[:20], unique("beta").replace("-", "")[:20])
    await create_topics(bootstrap, [Topic(topic, "key", (), (), (), "test", partitions=4)] + [
        Topic(dead_letter_topic(topic, GROUP, env), "key", (), (), (), "test", 1) for env in envs])
    seen: dict[str, list[str]] = {env: [] for env in envs}
    producer = EventProducer(client_id="test", bootstrap_servers=bootstrap)
    await producer.start()
    loops, dbs = [], []
    try:
        for env in envs:   # each environment has its own database (inbox), as it would
            url = unique_database_url(settings, "envs")
            await ensure_database(url)
            db = Database(url)
            async with db.engine.begin() as conn:
                await conn.run_sync(messaging_metadata.create_all)

            async def record(ctx: HandlerContext, env=env) -> None:
                seen[env].append(ctx.envelope.id)

            loop = ConsumerLoop(group=GROUP, env_prefix=env, topics=[topic], db=db, producer=producer,
                                source="/test", handlers={Probed.event_type: record},
                                max_attempts=2, backoff_initial_s=0.01, bootstrap_servers=bootstrap)
            await loop.start()
            loops.append(loop)
            dbs.append(db)
        for loop in loops:
            await loop.assigned()

        async with tail(bootstrap, *(dead_letter_topic(topic, GROUP, env) for env in envs)) as dead:
            sent = []
            for i in range(40):
                env = new_envelope(type=Probed.event_type, source="/test", subject=f"k{i}",
                                   data=Probed(key=f"k{i}").model_dump())
                await producer.publish(topic, env, key=f"k{i}")
                sent.append(env.id)
            await producer.send(topic, b"not json", key="k0")

            for env in envs:
                await wait_until(lambda env=env: sorted(seen[env]) == sorted(sent), what=f"{env} applied all 40")
            letters = await dead.wait_for(lambda m: m.value == b"not json", count=2, what="a dead letter per env")
            assert sorted(m.topic for m in letters) == sorted(dead_letter_topic(topic, GROUP, env) for env in envs)
            assert all(m.headers["dlq.consumer.group"] == GROUP.encode() for m in letters)

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            groups = {g[0] for g in await admin.list_consumer_groups()}
        finally:
            await admin.close()
        assert {f"{env}.{GROUP}" for env in envs} <= groups
        assert GROUP not in groups     # no environment consumed as the bare group
    finally:
        for loop in loops:
            await loop.stop()
        await producer.stop()
        for db in dbs:
            await db.dispose()


def test_the_prefix_names_groups_and_dead_letter_topics_and_nothing_else():
    s = ServiceSettings(service_name="registry", env_prefix="staging")
    assert s.kafka_group("registry.intake") == "staging.registry.intake"
    assert dead_letter_topic("market.registrations.v1", "registry.intake", s.env_prefix) == \
        "staging.market.registrations.v1.dlq.registry.intake"
    plain = ServiceSettings(service_name="registry")
    assert plain.kafka_group("registry.intake") == "registry.intake"
    assert dead_letter_topic("market.registrations.v1", "registry.intake", plain.env_prefix) == \
        "market.registrations.v1.dlq.registry.intake"
