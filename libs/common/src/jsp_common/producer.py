"""The one Kafka producer: acks=all, idempotent, keyed for per-entity ordering."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from typing import Iterable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, ProducerFenced, UnknownProducerId
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.structs import RecordMetadata

from .envelope import CONTENT_TYPE, Envelope
from .logs import get_logger
from .partitioner import KeyPartitioner
from .metrics import EVENTS_OUT
from .tasks import cancel_until_done

log = get_logger(__name__)
# The broker no longer takes this producer's messages: only a new producer (a new producer id) gets through.
_FATAL = (OutOfOrderSequenceNumber, UnknownProducerId, ProducerFenced)

Headers = list[tuple[str, bytes]]
# One message for enqueue_all: topic, key (text, or bytes as another system sent it), value, headers.
Message = tuple[str, "str | bytes | None", bytes, Headers]


def _key_bytes(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


_CONTENT_TYPE = CONTENT_TYPE.encode()


def event_headers(event_id: str, event_type: str, traceparent: str | None) -> Headers:
    """The Kafka headers of every event: content type, CloudEvents id and type, trace context."""
    headers = [("content-type", _CONTENT_TYPE), ("ce_id", event_id.encode()), ("ce_type", event_type.encode())]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return headers


def envelope_headers(env: Envelope) -> Headers:
    return event_headers(env.id, env.type, env.traceparent)


async def _close_unflushed(producer: AIOKafkaProducer) -> None:
    await producer._sender.close()  # aiokafka: stop() would first wait for the undeliverable messages
    await producer.stop()


@dataclass(frozen=True)
class Pending:
    """A message handed to a producer, not yet acknowledged."""
    producer: AIOKafkaProducer
    future: asyncio.Future

    @property
    def acknowledged(self) -> bool:
        """The broker has it (its future holds its partition and offset)."""
        return self.future.done() and not self.future.cancelled() and self.future.exception() is None


class EventProducer:
    """The service's Kafka producer. A producer the broker can no longer take messages from (it lost the
    idempotent producer's sequence numbers in a restart, or the client's sender stopped, or it delivered nothing
    within ``delivery_timeout_s``) is replaced by a new one, and only by one that has started: while the broker is
    away the new one's start is tried again with backoff (up to ``renew_backoff_max_s`` apart) until it succeeds or
    this producer is stopped, and messages handed over meanwhile wait for it at most ``delivery_timeout_s``. A
    message not acknowledged is sent again by its caller (the outbox relay sends its rows again; the inboxes
    downstream skip a copy)."""

    def __init__(self, *, client_id: str, linger_ms: int = 5, delivery_timeout_s: float = 60.0,
                 renew_backoff_max_s: float = 5.0, **client_options):
        self._options = dict(client_id=client_id, acks="all", enable_idempotence=True, linger_ms=linger_ms,
                             max_batch_size=256 * 1024, request_timeout_ms=30000, **client_options)
        self.delivery_timeout_s, self.renew_backoff_max_s = delivery_timeout_s, renew_backoff_max_s
        self._producer = AIOKafkaProducer(**self._options)
        self._started = False
        self._renewal: asyncio.Task | None = None  # a new producer starting, to take the failed one's place
        self._partitioner = KeyPartitioner()

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        self._started = False
        await cancel_until_done(self._renewal)
        await self._producer.stop()

    def _sender_stopped(self) -> bool:
        task = self._producer._sender.sender_task  # aiokafka: its messages would wait for ever
        return task is not None and task.done()

    def renew(self, failed: AIOKafkaProducer, reason: str) -> None:
        """Replace ``failed`` (if still the current producer) by a new one, in the background: the new one takes
        its place once it has started (never before: a client that never started never learns the cluster, and
        every message handed to it waits for ever). Its unacknowledged messages are given up (their senders send
        them again)."""
        if self._producer is not failed or not self._started or self._renewing():
            return
        log.warning("kafka producer renewed", reason=reason)
        self._renewal = asyncio.create_task(self._replace(failed), name="kafka-producer-renewal")

    def _renewing(self) -> bool:
        return self._renewal is not None and not self._renewal.done()

    async def _replace(self, failed: AIOKafkaProducer) -> None:
        delay, attempts = min(0.5, self.renew_backoff_max_s), 0
        while True:
            candidate = AIOKafkaProducer(**self._options)
            started = False
            try:
                await candidate.start()
                started = True
                break
            except Exception as exc:  # noqa: BLE001 - the broker away: try again until it is back
                attempts += 1
                if attempts % 12 == 1:  # the first time, then about once a minute (the connection watch says more)
                    log.warning("a new kafka producer could not start; trying again", error=repr(exc)[:300],
                                attempts=attempts)
            finally:
                if not started:
                    with contextlib.suppress(Exception):
                        await candidate.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.renew_backoff_max_s)
        if not self._started:  # stopped while it started: it never takes the failed one's place
            await candidate.stop()
            return
        self._producer = candidate
        log.info("kafka producer started in place of the failed one")
        with contextlib.suppress(Exception):  # no flush: what it holds is sent again through the new producer
            await asyncio.wait_for(_close_unflushed(failed), 10)

    async def _current(self) -> AIOKafkaProducer:
        """The producer to hand messages to: a renewal under way is waited for (until the broker lets the new
        producer start; the caller bounds the wait)."""
        if self._started and self._sender_stopped():
            self.renew(self._producer, "its sender stopped")
        if self._renewing():
            await asyncio.wait([self._renewal])  # not shielded: a caller's timeout leaves the renewal running
            if not self._started:
                raise KafkaError("the producer was stopped while it was being renewed")
        return self._producer

    def _handing_over(self) -> asyncio.Timeout:
        """The bound on handing messages over: the broker away (the client waiting for metadata, a renewal
        waiting for the broker) must not keep a caller, the outbox relay in its transaction, waiting for ever."""
        return asyncio.timeout(self.delivery_timeout_s)

    async def enqueue(self, topic: str, value: bytes, *, key: str | bytes | None = None,
                      headers: Iterable[tuple[str, bytes]] = (), partition: int | None = None) -> Pending:
        """Hand one message to the producer's buffer; pass what it returns to :meth:`delivered` for the broker's
        ack. ``partition``: a given one instead of the key's (a re-drive to where it was). Raises
        ``TimeoutError`` when it could not be handed over within ``delivery_timeout_s`` (the broker away)."""
        async with self._handing_over():
            producer = await self._current()
            future = await producer.send(topic, value=value, key=_key_bytes(key),
                                         headers=list(headers), partition=partition)
        return Pending(producer, future)

    async def enqueue_all(self, messages: Iterable[Message]) -> list[Pending]:
        """Hand many messages to the producer's buffer as one batch per partition (more when one fills up), each
        partition's messages in the given order, with the partition the key gives (Kafka's default partitioner,
        as :meth:`enqueue`): the outbox relay's path, without a future per message. Pass what it returns to
        :meth:`delivered`. Raises ``TimeoutError`` when they could not be handed over within
        ``delivery_timeout_s`` (the broker away): the relay's transaction, and its lock, end."""
        async with self._handing_over():
            producer = await self._current()
            batches: dict[tuple[str, int], list] = {}
            partitions: dict[str, list[int]] = {}  # topic -> its partitions, sorted by id
            for topic, key, value, headers in messages:
                if topic not in partitions:
                    await producer.client._wait_on_metadata(topic)  # aiokafka: what send() waits for first
                    partitions[topic] = sorted(producer.client.cluster.partitions_for_topic(topic))
                if key is None:  # no key: the client's choice among the available partitions
                    key_bytes, partition = None, producer._partition(topic, None, None, None, None, value)
                else:
                    key_bytes = _key_bytes(key)
                    partition = self._partitioner.partition(key_bytes, partitions[topic])
                builders = batches.get((topic, partition))
                if builders is None:
                    builders = batches[(topic, partition)] = [producer.create_batch()]
                if builders[-1].append(timestamp=None, key=key_bytes, value=value, headers=headers) is None:
                    builders.append(producer.create_batch())  # full: an empty batch always takes the message
                    builders[-1].append(timestamp=None, key=key_bytes, value=value, headers=headers)
            return [Pending(producer, await producer.send_batch(b, topic, partition=partition))
                    for (topic, partition), builders in batches.items() for b in builders]

    async def delivered(self, pending: Sequence[Pending]) -> list[RecordMetadata]:
        """Wait until the broker has acknowledged every message (their partitions and offsets). Raises the first
        failure once all are settled, or ``TimeoutError`` after ``delivery_timeout_s``; a producer the broker no
        longer accepts (or that delivered nothing in that time) is renewed (the next messages wait for that)."""
        try:
            results = await asyncio.wait_for(asyncio.gather(*(p.future for p in pending), return_exceptions=True),
                                             self.delivery_timeout_s)
        except asyncio.TimeoutError:
            if pending:
                self.renew(pending[0].producer, f"messages not acknowledged within {self.delivery_timeout_s:g} s")
            raise
        for p, result in zip(pending, results):
            if isinstance(result, _FATAL):
                self.renew(p.producer, repr(result))
            if isinstance(result, BaseException):
                raise result
        return results

    async def send_all(self, messages: Sequence[Message], *, partitions: Sequence[int | None] | None = None
                       ) -> tuple[list[RecordMetadata | None], Exception | None]:
        """Send messages, each partition's in the given order: all handed to the producer at once, then acknowledged
        together (one round trip for them all, not one each). Returns each message's acknowledgement (None for one
        the broker did not take, or that was not handed over: those after one the producer refused) and the first
        failure (None when every one got through). ``partitions``: a given one per message instead of its key's."""
        pending: list[Pending] = []
        failure: Exception | None = None
        try:
            for (topic, key, value, headers), partition in zip(messages, partitions or [None] * len(messages)):
                pending.append(await self.enqueue(topic, value, key=key, headers=headers, partition=partition))
        except Exception as exc:  # noqa: BLE001 - the rest are not handed over; those that were are waited for
            failure = exc
        try:
            await self.delivered(pending)
        except Exception as exc:  # noqa: BLE001 - the caller sees which got through
            failure = failure or exc
        acks = [p.future.result() if p.acknowledged else None for p in pending]
        return acks + [None] * (len(messages) - len(acks)), failure

    async def send(self, topic: str, value: bytes, *, key: str | bytes | None = None,
                   headers: Iterable[tuple[str, bytes]] = (), partition: int | None = None) -> RecordMetadata:
        """Send one message and wait for the broker's ack (acks=all)."""
        [meta] = await self.delivered([await self.enqueue(topic, value, key=key, headers=headers, partition=partition)])
        return meta

    async def publish(self, topic: str, env: Envelope, *, key: str | None = None) -> None:
        """Publish one envelope and wait until the broker has it (acks=all)."""
        await self.send(topic, env.to_bytes(), key=key, headers=envelope_headers(env))
        EVENTS_OUT.labels(topic).inc()

    async def ping(self) -> None:
        """Raise unless a broker answers a metadata request. The request names no topic: the broker answers with
        itself and its peers, not with every topic of the cluster (a metadata update of a producer that has sent
        nothing yet asks for all of them: ~1,100 topics, 15 ms of this process's CPU to decode, every few
        seconds)."""
        client = self._producer.client
        brokers = [b.nodeId for b in client.cluster.brokers()]  # known once the producer has started
        if not brokers:  # not started yet: the client's first metadata update, at its start, answers
            if not await client.force_metadata_update():
                raise ConnectionError("no Kafka broker answered a metadata request")
            return
        random.shuffle(brokers)
        failed: Exception = ConnectionError("no Kafka broker answered")
        for node in brokers:  # one broker answering is enough: the others may be restarting
            try:
                await client.send(node, MetadataRequest([]))  # [] (not None): no topic
                return
            except Exception as exc:  # noqa: BLE001 - try the next broker
                failed = exc
        raise failed
