"""Baseline pipeline in its own process: the harness's bare aiokafka consume-and-produce loop.

    python bench/bare_loop.py IN_TOPIC

Each message is forwarded unchanged (same key, value and headers) to the topics named in its
``bench-route`` header (comma-separated), offsets committed after each batch. Prints ``ready`` once
it has its partitions and their start offsets.
"""

from __future__ import annotations

import asyncio
import os
import sys

from jsp_common.cli import run_loop

from harness import bare_consume_produce


def routed(record) -> list[str]:
    route = dict(record.headers or ()).get("bench-route", b"").decode()
    return [t for t in route.split(",") if t]


async def main(in_topic: str) -> None:
    bootstrap = os.environ.get("JSP_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    async with bare_consume_produce(bootstrap, in_topic=in_topic, route=routed):
        print("ready", flush=True)
        await asyncio.Event().wait()  # until terminated


if __name__ == "__main__":
    run_loop(main(sys.argv[1]))
