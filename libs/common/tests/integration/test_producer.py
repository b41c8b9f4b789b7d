"""The one producer against the real broker: many messages handed over as one batch per partition."""

from __future__ import annotations

from collections import defaultdict

from jsp_common.offsets import read_to_end
from jsp_common.producer import EventProducer
from jsp_common.topics import Topic, create_topics
from jsp_testkit.testing import unique


async def test_messages_handed_over_in_batches_land_once_in_order_on_their_keys_partition(bootstrap):
    topics = [unique("test.batched"), unique("test.batched")]
    await create_topics(bootstrap, [Topic(t, "key", (), (), (), "test", partitions=3) for t in topics])
    keys = [f"k{i}" for i in range(40)]
    # Every fifth message is 100 KiB: a partition's messages fill several batches, handed over one after another.
    sent = [(topics[i % 2], keys[i % 40], f"{i}:".encode() + (b"x" * 100_000 if i % 5 == 0 else b""),
             [("n", str(i).encode())]) for i in range(400)]
    producer = EventProducer(client_id=unique("producer"), bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.delivered(await producer.enqueue_all(sent))
        # The partition a message sent on its own gets for each key (Kafka's default partitioner).
        partition_of = {(t, k): (await producer.send(t, b"probe", key=k)).partition for t in topics for k in keys}
    finally:
        await producer.stop()

    got = [r async for batch in read_to_end(topics, bootstrap_servers=bootstrap) for r in batch if r.value != b"probe"]
    numbers = [int(r.value.split(b":")[0]) for r in got]
    assert sorted(numbers) == list(range(400))  # each once
    by_partition: dict[tuple[str, int], list[int]] = defaultdict(list)
    for r in sorted(got, key=lambda r: r.offset):
        n = int(r.value.split(b":")[0])
        assert (r.topic, r.partition) == (sent[n][0], partition_of[(sent[n][0], sent[n][1])])
        assert r.key.decode() == sent[n][1] and list(r.headers) == sent[n][3]
        by_partition[(r.topic, r.partition)].append(n)
    assert len(by_partition) > 2
    assert all(ns == sorted(ns) for ns in by_partition.values()), "a partition's messages out of their order"
