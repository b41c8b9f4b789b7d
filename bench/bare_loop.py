"""Baseline pipeline in its own process: a bare aiokafka consume-and-produce loop.

    python bench/bare_loop.py IN_TOPIC

Each message is forwarded unchanged (same key, value and headers) to the topics named in its
``bench-route`` header (comma-separated), offsets committed after each batch. Prints ``ready`` once
it has its partitions.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def main(in_topic: str) -> None:
    bootstrap = os.environ.get("JSP_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    consumer = AIOKafkaConsumer(in_topic, bootstrap_servers=bootstrap, group_id=f"bench.{uuid.uuid4().hex}",
                                enable_auto_commit=False, auto_offset_reset="latest", fetch_max_wait_ms=10)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                                max_batch_size=512 * 1024)
    await consumer.start()
    await producer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():  # resolve "latest" now: what is sent after "ready" is read
        await consumer.position(tp)
    print("ready", flush=True)
    while True:
        batches = await consumer.getmany(timeout_ms=50, max_records=500)
        for tp, recs in batches.items():
            futs = []
            for r in recs:
                route = dict(r.headers or ()).get("bench-route", b"").decode()
                for t in filter(None, route.split(",")):
                    futs.append(await producer.send(t, r.value, key=r.key, headers=list(r.headers or ())))
            await asyncio.gather(*futs)
            await consumer.commit({tp: recs[-1].offset + 1})


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
