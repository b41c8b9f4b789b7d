"""Rebuilding the read model from the topics: forget it, move the consumer group back to the start of every
topic, and replay until the group has caught up with what the topics held when the rebuild began."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from jsp_common.offsets import assign_all

from .. import subscriptions
from ..adapters import writes
from ..bootstrap import build
from ..settings import Settings


class RebuildRefused(RuntimeError):
    """The read model was left as it was."""


async def _rewind(group: str, topics: list[str], options: dict) -> dict:
    """Commit the beginning of every topic as the group's position; returns the end offsets to catch up to.
    Fails if a dashboard is still running in the group (stop it first)."""
    c = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **options)
    await c.start()
    try:
        tps = await assign_all(c, topics)
        ends = await c.end_offsets(tps)
        starts = await c.beginning_offsets(tps)
        await c.commit({tp: max(offset, 0) for tp, offset in starts.items()})
        return {tp: end for tp, end in ends.items() if end > starts[tp]}
    finally:
        await c.stop()


async def _caught_up(group: str, ends: dict, options: dict) -> bool:
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return all(committed.get(tp) is not None and committed[tp].offset >= end for tp, end in ends.items())


async def rebuild(settings: Settings, timeout_s: float = 3600.0) -> dict[str, int]:
    options = settings.kafka_client_options()
    runtime = build(settings)
    started = False
    try:
        # Rewind first: it fails while a dashboard still consumes in the group, before anything is forgotten.
        try:
            ends = await _rewind(settings.kafka_group(settings.read_model_group), subscriptions.read_model_topics(), options)
        except KafkaError as exc:
            raise RebuildRefused(f"cannot move consumer group {settings.read_model_group} back to the start of "
                                 f"the topics ({type(exc).__name__}): stop every running dashboard first") from None
        async with runtime.db.transaction() as session:
            await writes.empty_read_model(session, settings.read_model_group)
        await runtime.start()
        started = True
        deadline = time.monotonic() + timeout_s
        while not await _caught_up(settings.kafka_group(settings.read_model_group), ends, options):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the read model did not catch up within {timeout_s:.0f}s")
            await asyncio.sleep(1.0)
    finally:
        if started:
            await runtime.stop()
        else:
            await runtime.deps.gateway.aclose()
            await runtime.db.dispose()
    async with runtime.db.transaction() as session:  # the engine opens a new pool after dispose()
        counts = await writes.counts(session)
    await runtime.db.dispose()
    return counts
