"""Transactional outbox: write events with the state change, relay them to Kafka afterwards.

A handler calls :func:`add` inside its transaction; :class:`OutboxRelay` publishes unsent rows in id
order and marks them sent. A relay killed at any point loses nothing: unmarked rows are sent again
(a duplicate publish is allowed; consumers' inboxes make it harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import LargeBinary, Text, bindparam, delete, event, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from . import clock
from .db import Database
from .envelope import CONTENT_TYPE, Envelope, new_envelope
from .events import EventData
from .logs import get_logger
from .messaging_tables import outbox
from .metrics import EVENTS_OUT, OUTBOX_BACKLOG
from .producer import EventProducer, envelope_headers

log = get_logger(__name__)
_WAKE_KEY = "jsp_outbox_written"


_PENDING_KEY = "jsp_outbox_pending"


async def add(session: AsyncSession, topic: str, env: Envelope, *, key: str | None) -> None:
    """Queue one event for publication, atomically with whatever else this transaction writes.

    Rows are buffered on the session and inserted in one statement just before it commits."""
    session.sync_session.info.setdefault(_PENDING_KEY, []).append(dict(
        event_id=env.id, event_type=env.type, topic=topic, key=key, payload=env.to_bytes(),
        headers={k: v.decode() for k, v in envelope_headers(env)},
    ))


_SELECT_UNSENT = ("SELECT id, event_id, event_type, topic, key, payload, headers->>'traceparent' AS traceparent "
                  "FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED")
CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()
_COLUMNS = ("event_id", "event_type", "topic", "key", "payload", "headers")
_INSERT_MANY = text(
    "INSERT INTO outbox (event_id, event_type, topic, key, payload, headers) "
    "SELECT * FROM unnest(:event_id, :event_type, :topic, :key, :payload, :headers)"
).bindparams(bindparam("event_id", type_=ARRAY(Text)), bindparam("event_type", type_=ARRAY(Text)),
             bindparam("topic", type_=ARRAY(Text)), bindparam("key", type_=ARRAY(Text)),
             bindparam("payload", type_=ARRAY(LargeBinary)), bindparam("headers", type_=ARRAY(JSONB)))


@event.listens_for(Session, "before_commit")
def _insert_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING_KEY, None)
    if rows:
        # One statement for the whole transaction's events (sync API inside the commit, as SQLAlchemy
        # asyncio requires for event hooks); arrays keep it one small statement however many rows.
        session.execute(_INSERT_MANY, {c: [r[c] for r in rows] for c in _COLUMNS})
        session.info[_WAKE_KEY] = True


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_WAKE_KEY, None)


async def emit(session: AsyncSession, topic: str, data: EventData, *, key: str | None, source: str,
               subject: str | None = None, traceparent: str | None = None) -> Envelope:
    """Wrap a contract in a new envelope (continuing the current trace) and queue it in the outbox."""
    env = new_envelope(type=data.event_type, source=source, subject=subject, data=data.model_dump(mode="json"),
                       traceparent=traceparent)
    await add(session, topic, env, key=key)
    return env


class OutboxRelay:
    def __init__(self, db: Database, producer: EventProducer, *, service: str, batch_size: int = 500,
                 poll_interval_s: float = 0.5, keep_sent_hours: float = 24.0):
        self.db, self.producer, self.service = db, producer, service
        self.batch_size, self.poll_interval_s = batch_size, poll_interval_s
        self.keep_sent = timedelta(hours=keep_sent_hours)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._last_housekeeping = 0.0
        event.listen(Session, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_WAKE_KEY, False):
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish up to one batch of unsent rows, in order, and mark them sent. Returns how many."""
        async with self.db.transaction() as session:
            conn = await (await session.connection()).get_raw_connection()
            pg = conn.driver_connection  # asyncpg: this loop runs for every event, so no ORM rows here
            rows = await pg.fetch(_SELECT_UNSENT, self.batch_size)
            if not rows:
                return 0
            futures = []
            for r in rows:
                headers = [("content-type", CONTENT_TYPE_BYTES), ("ce_id", r["event_id"].encode()),
                           ("ce_type", r["event_type"].encode())]
                if r["traceparent"]:
                    headers.append(("traceparent", r["traceparent"].encode()))
                futures.append(await self.producer.enqueue(r["topic"], r["payload"], key=r["key"], headers=headers))
            await asyncio.gather(*futures)
            await pg.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        for topic, n in Counter(r["topic"] for r in rows).items():
            EVENTS_OUT.labels(topic).inc(n)
        return len(rows)

    async def housekeeping(self) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(outbox).where(outbox.c.sent_at < clock.now() - self.keep_sent))
            backlog = await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
        OUTBOX_BACKLOG.labels(self.service).set(backlog or 0)

    async def run(self) -> None:
        while True:
            self._wake.clear()  # a commit from now on wakes the next wait
            try:
                sent = await self.publish_batch()
                if time.monotonic() - self._last_housekeeping > 30:
                    self._last_housekeeping = time.monotonic()
                    await self.housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception:  # broker or database away: keep the rows, try again shortly
                log.exception("outbox relay failed; retrying")
                sent = 0
                await asyncio.sleep(self.poll_interval_s)
            if sent < self.batch_size:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        event.remove(Session, "after_commit", self._after_commit)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
