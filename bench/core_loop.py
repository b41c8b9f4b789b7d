"""The messaging core alone in its own process: the floor under a service's pipeline.

    python bench/core_loop.py IN_TOPIC DATABASE_URL GROUP

The platform's consumer loop, inbox, outbox and relay (as every service runs them) with a handler that does no
work of its own: each input's data is emitted again, through the outbox, to every topic named in its
``bench-route`` header (comma-separated, in order: a topic named twice gets two events), as ``bench/bare_loop.py``
forwards it. Given the topics a service's handler emits to for one input, the harness reads what the core alone
costs for that shape from /proc (``harness.cpu_seconds``). Prints ``ready`` once it has its partitions; stops
gracefully on SIGTERM.
"""

from __future__ import annotations

import os
import sys

from harness import ready_until_terminated  # also registers the benches' own contract
from jsp_common.cli import run_loop
from jsp_common.consumer import BatchHandler, ConsumerLoop, HandlerContext
from jsp_common.db import Database, ensure_database
from jsp_common.events import CATALOGUE
from jsp_common.messaging_tables import metadata as messaging_metadata
from jsp_common.outbox import OutboxRelay
from jsp_common.producer import EventProducer


def routed(ctx: HandlerContext) -> list[str]:
    route = dict(ctx.delivery.headers).get("bench-route", b"").decode()
    return [t for t in route.split(",") if t]


async def forward(contexts: list[HandlerContext]) -> None:
    for ctx in contexts:
        for topic in routed(ctx):
            await ctx.emit(topic, ctx.data, key=ctx.delivery.key_str, subject=ctx.envelope.id)


async def main(in_topic: str, database_url: str, group: str, handle: BatchHandler = forward) -> None:
    """Run the core on ``in_topic`` with ``handle`` as the batch handler of every event type (``forward``: the core
    alone) until the harness terminates it."""
    bootstrap = os.environ.get("JSP_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    await ensure_database(database_url)
    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
    producer = EventProducer(client_id=group, bootstrap_servers=bootstrap)
    await producer.start()
    relay = OutboxRelay(db, producer, service=group, poll_interval_s=0.05)
    loop = ConsumerLoop(group=group, topics=[in_topic], handlers={}, db=db, producer=producer, source="/bench/core",
                        batch_handlers=dict.fromkeys(CATALOGUE, handle), bootstrap_servers=bootstrap)
    await loop.start()
    relay.start()
    try:
        await loop.assigned()
        await ready_until_terminated()
    finally:
        await loop.stop()
        await relay.stop()
        await producer.stop()
        await db.dispose()


if __name__ == "__main__":
    run_loop(main(*sys.argv[1:4]))
