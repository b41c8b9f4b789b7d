"""Transactional outbox: write events with the state change, relay them to Kafka afterwards.

A handler calls :func:`add` (or :func:`emit`) inside its transaction; the transaction's events are written
just before it commits, as one ``outbox_batches`` row (parallel arrays, in emission order).
:class:`OutboxRelay` publishes unsent rows in id order and marks them sent. A relay killed at any point
loses nothing: unmarked rows are sent again (a duplicate publish is allowed; consumers' inboxes make it
harmless).

Event ids come from :class:`EventIds`: derived from what caused them (the input event a consumer applies, an
HTTP request's Idempotency-Key, the row and state a periodic job acts on: :meth:`SessionTx.caused_by`), so the
same input applied again to the same state (after a database restore) issues its events under the same ids, and
consumers' inboxes skip them; random only for an HTTP request without Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy import LargeBinary, Text, bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from . import clock
from .connections import Outage
from .db import Database, driver_connection
from .envelope import Envelope, derived_id, encode_event
from .events import EventData
from .logs import get_logger
from .tasks import cancel_until_done
from .metrics import EVENTS_OUT, OUTBOX_BACKLOG
from .producer import EventProducer, event_headers

log = get_logger(__name__)
_WAKE_KEY = "jsp_outbox_written"
_PENDING_KEY = "jsp_outbox_pending"
_COLUMNS = ("topics", "keys", "payloads", "event_ids", "event_types", "traceparents")


async def add(session: AsyncSession, topic: str, env: Envelope, *, key: str | None) -> None:
    """Queue one event for publication, atomically with whatever else this transaction writes."""
    _queue(session, topic, key, env.to_bytes(), env.id, env.type, env.traceparent)


# What one event may weigh with its key: the producers' ``max_request_size`` and the broker's
# ``message.max.bytes`` are Kafka's 1 MiB, and a record's framing and headers fit in what is left over. A larger
# event would never be published: the relay would stop at it, and every event the service issues after it
# would wait behind it for good.
MAX_EVENT_BYTES = 1_000_000


class EventTooLarge(Exception):
    """A transaction issued an event larger than a Kafka message may be. Raised as the event is queued, so the
    transaction changes nothing: a consumer refuses its input to the dead-letter topic with this ``reason``, a
    route answers 422 (``problems``)."""

    def __init__(self, topic: str, event_type: str, size: int):
        super().__init__(f"the {event_type} event it issues on {topic} would be {size:,} bytes with its key, more "
                         f"than the {MAX_EVENT_BYTES:,} a message may be")
        self.reason = str(self)
        self.details = {"topic": topic, "event_type": event_type, "bytes": size, "limit": MAX_EVENT_BYTES}


def _queue(session: AsyncSession, *row) -> None:
    topic, key, payload, _, event_type, _ = row
    size = len(payload) + (len(key.encode()) if key else 0)
    if size > MAX_EVENT_BYTES:
        raise EventTooLarge(topic, event_type, size)
    pending = session.sync_session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.sync_session.info[_PENDING_KEY] = tuple([] for _ in _COLUMNS)
    for column, value in zip(pending, row):
        column.append(value)


_INSERT = text(
    "INSERT INTO outbox_batches (topics, keys, payloads, event_ids, event_types, traceparents) "
    "VALUES (:topics, :keys, :payloads, :event_ids, :event_types, :traceparents)"
).bindparams(*(bindparam(c, type_=ARRAY(LargeBinary if c == "payloads" else Text)) for c in _COLUMNS))
# Unsent rows in id order, up to a row count and (beyond the first row) a byte budget: pg_column_size reads
# the stored size without fetching the payloads.
_SELECT_UNSENT = (
    "WITH unsent AS (SELECT id, sum(pg_column_size(payloads)) OVER (ORDER BY id) - pg_column_size(payloads) AS before "
    "FROM outbox_batches WHERE sent_at IS NULL ORDER BY id LIMIT $1) "
    "SELECT b.id, b.topics, b.keys, b.payloads, b.event_ids, b.event_types, b.traceparents "
    "FROM outbox_batches b JOIN unsent u ON u.id = b.id WHERE u.before < $2 ORDER BY b.id FOR UPDATE OF b")
# One relay publishes at a time (per service database): with several replicas, two relays publishing
# different rows at once could put an entity's later event on its partition before an earlier one.
RELAY_LOCK = 0x6A73_705F_6F75_7462  # "jsp_outb"
_TAKE_RELAY_LOCK = "SELECT pg_try_advisory_xact_lock($1)"
_MARK_SENT = "UPDATE outbox_batches SET sent_at = now() WHERE id = ANY($1::bigint[])"
_DELETE_SENT = "DELETE FROM outbox_batches WHERE sent_at < $1"
# The answers to requests with an Idempotency-Key (jsp_common.answers) are kept as long as sent events.
_DELETE_ANSWERS = "DELETE FROM http_answers WHERE answered_at < $1"
_BACKLOG = "SELECT coalesce(sum(cardinality(topics)), 0) FROM outbox_batches WHERE sent_at IS NULL"


@event.listens_for(Session, "before_commit")
def _insert_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        # Sync API inside the commit, as SQLAlchemy asyncio requires for event hooks.
        session.execute(_INSERT, dict(zip(_COLUMNS, pending)))
        session.info[_WAKE_KEY] = True


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_WAKE_KEY, None)


async def emit(session: AsyncSession, topic: str, data: EventData, *, key: str | None, source: str,
               subject: str | None = None, traceparent: str | None = None, id: str | None = None) -> str:
    """Wrap a contract in a new envelope (continuing the current trace) and queue it in the outbox.
    ``id`` defaults to a random one (a :class:`Transaction` passes its derived ids). Returns the event id."""
    event_id, traceparent, payload = encode_event(type=data.event_type, source=source, subject=subject,
                                                  data_json=data.model_dump_json(), traceparent=traceparent, id=id)
    _queue(session, topic, key, payload, event_id, data.event_type, traceparent)
    return event_id


class EventIds:
    """The ids of what one transaction issues, derived from its ``cause``:

    - a consumer: ``<consumer group>\n<input event id>`` (``consumer.input_cause``); a batch handler issues an
      input's effects through that input's own context, so how a replay cuts the polls does not change them;
    - an HTTP request: the caller, route and Idempotency-Key (``http.request_cause``);
    - a periodic job (reminders, chasers, escalations, timers, deadlines recounted when a holiday schedule
      arrives, re-assessment, replication, rescoring): per row it acts on, the job and the state that makes it
      act (:meth:`SessionTx.caused_by`, e.g. the notification and its reminder's number).

    An event's id is derived from the cause, its topic, type and key, and how many such events were issued
    under this cause before it (the n-th of them); a record's id likewise from the parts the use case names.
    The same input applied to the same state therefore issues the same ids: after a database restore its events
    are re-issued under the ids they first had, and consumers' inboxes skip them. Without a cause (an HTTP
    request without Idempotency-Key), random."""

    __slots__ = ("cause", "_issued")

    def __init__(self, cause: str | None = None):
        self.cause = cause
        self._issued: dict[tuple[str, ...], int] | None = None  # made on first use: most inputs issue nothing

    def _derive(self, *slot: str) -> str:
        if self.cause is None:
            return str(uuid.uuid4())
        if self._issued is None:
            self._issued = {}
        n = self._issued[slot] = self._issued.get(slot, 0) + 1
        return derived_id(self.cause, *slot, str(n))

    def event_id(self, topic: str, event_type: str, key: str | None) -> str:
        return self._derive("event", topic, event_type, key or "")

    def record_id(self, *parts: str) -> str:
        return self._derive("record", *parts)


class Transaction(Protocol):
    """What a handler writes in and emits from: a consumer's ``HandlerContext`` or a :class:`SessionTx`."""

    session: AsyncSession

    async def emit(self, topic: str, data: EventData, *, key: str | None, subject: str | None = None) -> str: ...

    def new_id(self, *parts: str) -> str:
        """An id for a record this transaction creates, derived from its cause like its events' ids
        (``parts`` tell the records of one input apart, e.g. the department notified)."""
        ...


@dataclass
class SessionTx:
    """A transaction outside a consumer (an HTTP request, a periodic job): its session, the events' source and
    what caused it (``cause``, see :class:`EventIds`; an HTTP route passes ``http.request_cause(request)``; a
    periodic job issues each row's events through :meth:`caused_by`)."""

    session: AsyncSession
    source: str
    cause: str | None = None
    ids: EventIds = field(init=False, repr=False)
    _state_caused: bool = field(default=False, kw_only=True, repr=False)

    def __post_init__(self) -> None:
        self.ids = EventIds(self.cause)

    async def emit(self, topic: str, data: EventData, *, key: str | None, subject: str | None = None) -> str:
        return await emit(self.session, topic, data, key=key, source=self.source, subject=subject,
                          id=self.ids.event_id(topic, data.event_type, key))

    def new_id(self, *parts: str) -> str:
        """Derived under :meth:`caused_by` (the same state makes the same record). Otherwise random: a request
        resent with its Idempotency-Key that the service applies again (no state forbids it) must not collide
        with the first one's record."""
        return self.ids.record_id(*parts) if self._state_caused else str(uuid.uuid4())

    def caused_by(self, job: str, *state: object) -> SessionTx:
        """This transaction, issuing what a periodic ``job`` does to one row under ids derived from the row's
        ``state`` that makes the job act: a reminder from the notification and the reminder's number, a chaser
        from the clue and its deadline. The job run again on the same state (a database restored to before it
        ran) issues the same ids, which consumers' inboxes skip; the row's next state (the next reminder) gives
        new ones. Records it creates (``new_id``) take derived ids too."""
        return SessionTx(self.session, self.source, "\n".join(("job", job, *map(str, state))), _state_caused=True)


class OutboxRelay:
    def __init__(self, db: Database, producer: EventProducer, *, service: str, batch_size: int = 500,
                 batch_bytes: int = 16 * 1024 * 1024,
                 poll_interval_s: float = 0.5, keep_sent_hours: float = 24.0):
        self.db, self.producer, self.service = db, producer, service
        self.batch_size, self.batch_bytes, self.poll_interval_s = batch_size, batch_bytes, poll_interval_s
        self.keep_sent = timedelta(hours=keep_sent_hours)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._last_housekeeping = 0.0
        self._unsent_since: float | None = None  # since when this relay has held unsent rows it has not published
        event.listen(Session, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_WAKE_KEY, False):
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish the events of up to ``batch_size`` transactions (and, beyond the first, ``batch_bytes`` of
        payload), in order, and mark them sent. Returns how many transactions (outbox rows); 0 also when
        another relay of the service is publishing."""
        async with self.db.transaction() as session:
            pg = await driver_connection(session)  # this loop runs for every event, so no ORM rows here
            # Another replica's relay publishing, or nothing to publish, says nothing of this one's client: after
            # a round of its own that failed, it counts as stalled until one of its own publishes (a replica whose
            # client is stuck would otherwise never be restarted while another one takes over its rows).
            if not await pg.fetchval(_TAKE_RELAY_LOCK, RELAY_LOCK):
                return 0
            rows = await pg.fetch(_SELECT_UNSENT, self.batch_size, self.batch_bytes)
            if not rows:
                return 0
            if self._unsent_since is None:  # until this round has published
                self._unsent_since = time.monotonic()
            sent = Counter()
            messages = []
            for r in rows:
                messages += [(topic, key, payload, event_headers(event_id, event_type, traceparent))
                             for topic, key, payload, event_id, event_type, traceparent in zip(
                                 r["topics"], r["keys"], r["payloads"], r["event_ids"], r["event_types"],
                                 r["traceparents"])]
                sent.update(r["topics"])
            await self.producer.delivered(await self.producer.enqueue_all(messages))
            await pg.execute(_MARK_SENT, [r["id"] for r in rows])
        self._unsent_since = None
        for topic, n in sent.items():
            EVENTS_OUT.labels(topic).inc(n)
        return len(rows)

    def stalled_s(self) -> float:
        """How long this relay has held unsent events without publishing any (0 while it keeps up, or while another
        replica's relay publishes and its own last round did not fail): a round that fails or never ends (the broker
        away, a client stuck) counts, until a round of its own publishes."""
        return 0.0 if self._unsent_since is None else time.monotonic() - self._unsent_since

    async def housekeeping(self) -> None:
        async with self.db.transaction() as session:
            pg = await driver_connection(session)
            await pg.execute(_DELETE_SENT, clock.now() - self.keep_sent)
            await pg.execute(_DELETE_ANSWERS, clock.now() - self.keep_sent)
            backlog = await pg.fetchval(_BACKLOG)
        OUTBOX_BACKLOG.labels(self.service).set(backlog or 0)

    async def run(self) -> None:
        outage = Outage(lost="outbox relay failed; retrying until it succeeds", still="outbox relay still failing",
                        back="outbox relay resumed")
        while True:
            self._wake.clear()  # a commit from now on wakes the next wait
            try:
                sent = await self.publish_batch()
                if time.monotonic() - self._last_housekeeping > 30:
                    self._last_housekeeping = time.monotonic()
                    await self.housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep the rows, try again shortly
                outage.failed(repr(exc)[:500])
                await asyncio.sleep(min(self.poll_interval_s * 2 ** min(outage.failures, 6), 5.0))
                continue
            outage.succeeded()
            if not sent:  # all published: wait for the next commit (or the poll interval)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        event.remove(Session, "after_commit", self._after_commit)
        await cancel_until_done(self._task)
