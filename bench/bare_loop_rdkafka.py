"""The bare loop of ``bench/bare_loop.py`` on librdkafka (confluent-kafka) instead of aiokafka.

    python bench/bare_loop_rdkafka.py IN_TOPIC

The same work: each message forwarded unchanged (same key, value and headers) to the topics named in its
``bench-route`` header, every produce acknowledged by all replicas (idempotent producer) before the batch's
offsets are committed. What a Kafka client whose per-message work is C costs on this machine, beside the
Python client the services use. Prints ``ready`` once it has its partitions at their ends; stops on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition


def routed(headers) -> list[str]:
    route = dict(headers or ()).get("bench-route", b"").decode()
    return [t for t in route.split(",") if t]


def main(in_topic: str) -> None:
    bootstrap = os.environ.get("JSP_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench.{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5})
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    assigned: list[TopicPartition] = []

    def at_end(c: Consumer, partitions: list[TopicPartition]) -> None:
        # From each partition's current end: what is sent from here on is read.
        for tp in partitions:
            tp.offset = c.get_watermark_offsets(tp, timeout=10)[1]
        c.assign(partitions)
        assigned.extend(partitions)

    consumer.subscribe([in_topic], on_assign=at_end)
    while not assigned:
        consumer.poll(0.05)
    print("ready", flush=True)
    try:
        while not stopping:
            batch = consumer.consume(500, timeout=0.05)
            if not batch:
                continue
            for m in batch:
                if m.error():
                    continue
                for topic in routed(m.headers()):
                    producer.produce(topic, m.value(), key=m.key(), headers=m.headers())
            producer.flush()
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()


if __name__ == "__main__":
    main(sys.argv[1])
