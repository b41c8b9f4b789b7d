"""The one Kafka producer: acks=all, idempotent, keyed for per-entity ordering."""

from __future__ import annotations

import asyncio
from typing import Iterable

from aiokafka import AIOKafkaProducer

from .envelope import CONTENT_TYPE, Envelope
from .metrics import EVENTS_OUT

Headers = list[tuple[str, bytes]]


_CONTENT_TYPE = CONTENT_TYPE.encode()


def event_headers(event_id: str, event_type: str, traceparent: str | None) -> Headers:
    """The Kafka headers of every event: content type, CloudEvents id and type, trace context."""
    headers = [("content-type", _CONTENT_TYPE), ("ce_id", event_id.encode()), ("ce_type", event_type.encode())]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return headers


def envelope_headers(env: Envelope) -> Headers:
    return event_headers(env.id, env.type, env.traceparent)


class EventProducer:
    def __init__(self, *, client_id: str, linger_ms: int = 5, **client_options):
        self._producer = AIOKafkaProducer(
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            max_batch_size=256 * 1024,
            request_timeout_ms=30000,
            **client_options,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def enqueue(self, topic: str, value: bytes, *, key: str | None = None,
                      headers: Iterable[tuple[str, bytes]] = (), partition: int | None = None) -> asyncio.Future:
        """Hand one message to the producer's buffer; await the returned future for the broker's ack (its
        partition and offset). ``partition``: a given one instead of the key's (a re-drive to where it was)."""
        return await self._producer.send(topic, value=value, key=key.encode() if key is not None else None,
                                         headers=list(headers), partition=partition)

    async def publish(self, topic: str, env: Envelope, *, key: str | None = None) -> None:
        """Publish one envelope and wait until the broker has it (acks=all)."""
        await (await self.enqueue(topic, env.to_bytes(), key=key, headers=envelope_headers(env)))
        EVENTS_OUT.labels(topic).inc()

    async def ping(self) -> None:
        """Raise unless a broker answers a metadata request."""
        ok = await self._producer.client.force_metadata_update()
        if not ok:
            raise ConnectionError("no Kafka broker answered a metadata request")
