"""Topics read outside any consumer group, and a group's committed position moved: replays, rebuilds, operators'
tools, tests and benchmarks (the services' own reading is ``jsp_common.consumer``)."""

from __future__ import annotations

from typing import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


async def read_to_end(topics: Sequence[str], *, max_records: int = 2000,
                      **client_options) -> AsyncIterator[list[ConsumerRecord]]:
    """Every record of ``topics`` from the beginning up to the end offsets they have now, a poll at a time, as
    a reader outside any consumer group (it commits nothing and moves no group's position)."""
    async for records in read_from(topics, {}, max_records=max_records, **client_options):
        yield records


async def read_from(topics: Sequence[str], positions: dict[TopicPartition, int], *, max_records: int = 2000,
                    **client_options) -> AsyncIterator[list[ConsumerRecord]]:
    """Like :func:`read_to_end`, from ``positions`` (a partition not in it: from its beginning), which is moved
    past what is read: called again with it, the next call reads only what arrived since (a rebuild's passes)."""
    c = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                         max_poll_records=max_records, **client_options)
    await c.start()
    try:
        tps = await partitions_of(c, topics)
        starts = await c.beginning_offsets(tps)
        ends = {tp: end for tp, end in (await c.end_offsets(tps)).items() if end > positions.get(tp, starts[tp])}
        c.assign(list(ends))  # only what is left to read
        for tp in ends:
            c.seek(tp, max(positions.get(tp, 0), starts[tp]))
        while ends:
            polled = await c.getmany(*ends, timeout_ms=1000)
            records = [r for tp, rs in polled.items() for r in rs if r.offset < ends[tp]]
            for tp in list(ends):
                if (position := await c.position(tp)) >= ends[tp]:
                    positions[tp] = ends.pop(tp)
                else:
                    positions[tp] = position
            if records:
                yield records
    finally:
        await c.stop()


async def assign_all(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    """Assign every partition of ``topics`` to a started consumer (no group membership) and return them.
    Raises ``LookupError`` for a topic that does not exist."""
    tps = await partitions_of(consumer, topics)
    consumer.assign(tps)
    return tps


async def partitions_of(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of ``topics``, from the broker's metadata (a started consumer's client).
    Raises ``LookupError`` for a topic that does not exist."""
    await consumer._client.force_metadata_update()  # noqa: SLF001 - the topics may be new to this client
    tps = []
    for t in topics:
        parts = consumer.partitions_for_topic(t)
        if not parts:
            raise LookupError(f"topic {t} does not exist")
        tps += [TopicPartition(t, p) for p in parts]
    return tps


async def move_group_to_end(group: str, topics: Sequence[str], **client_options) -> None:
    """Commit the end of ``topics`` as consumer group ``group``'s position: it starts from now, skipping any
    backlog (an operator's reset, and how tests and benchmarks keep earlier traffic out). The group must
    have no running member."""
    c = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **client_options)
    await c.start()
    try:
        await c.commit(dict(await c.end_offsets(await assign_all(c, topics))))
    finally:
        await c.stop()
