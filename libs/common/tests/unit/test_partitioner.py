"""A keyed message goes to the partition every Kafka client gives its key: the Java client's own test vectors, and
aiokafka's default partitioner (what ``EventProducer.enqueue`` uses) for random keys and partition counts."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner

from jsp_common.partitioner import KeyPartitioner, murmur2

# org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed 32-bit results)
JAVA = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, b"abc": 479470107}


def test_murmur2_is_the_java_clients():
    for key, expected in JAVA.items():
        assert murmur2(key) == expected & 0xFFFFFFFF, key


def test_every_key_goes_where_the_kafka_client_puts_it_also_after_the_kept_hashes_are_dropped():
    rng = random.Random(7)
    partitioner = KeyPartitioner(size=64)  # small: most keys are hashed after the kept ones were cleared
    for _ in range(5000):
        key = rng.randbytes(rng.randrange(0, 48)) if rng.random() < 0.5 else \
            f"91410100{rng.randrange(10**9):09d}X-{rng.randrange(100)}".encode()
        partitions = list(range(rng.choice((1, 3, 6, 12, 64))))
        assert partitioner.partition(key, partitions) == DefaultPartitioner()(key, partitions, partitions), key
        assert partitioner.partition(key, partitions) == DefaultPartitioner()(key, partitions, partitions), key
