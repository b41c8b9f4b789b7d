"""The one consumer loop: consumer groups, inbox de-duplication, retries, dead-lettering.

For every message: parse the CloudEvents envelope, validate ``data`` against the event catalogue,
then run the handler in a database transaction that also writes the inbox row (a second delivery of
the same event id is a no-op). A known event type the group has no handler for is passed over (counted
``ignored``) without reading its data: its dead letters belong to the groups that apply it; so is an event
of a handled type the group has no use for (its ``wanted`` predicate says so: read and validated, no inbox
row, no handler). The offset is
committed only after that transaction has committed. A poison message (not JSON, not an envelope,
schema-invalid, unknown type, rejected by its handler, or still failing after N attempts) goes to the
dead-letter topic with its original bytes, headers and the reason, and the partition moves on. A lost
database connection is retried until it comes back: that is not the message's fault.

Messages of one poll are applied in few transactions for throughput (a partition's together, partitions
with few messages sharing one, see ``ConsumerLoop._chunks``); if one fails, its batch is split
in halves until the failing message is alone, which is retried on its own, so one bad message never
blocks or loses the others and costs a few transactions, not one per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError
from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from . import outbox, tracing, undecodable
from .db import Database, is_unavailable
from .dead_lettering import Refusal, send_dead_letters
from .envelope import Envelope, EnvelopeError, describe, field_errors
from .events import EventData, UnknownEventType, model_for, parse_data
from .logs import get_logger, log_fields
from .metrics import EVENTS_FAILED, EVENTS_IN, HANDLER_SECONDS
from .producer import EventProducer
from .tasks import cancel_until_done
from .topics import declared_types, in_environment

log = get_logger(__name__)
T = TypeVar("T")

_CLAIM = text(
    "INSERT INTO inbox (consumer_group, event_id) SELECT :group, unnest(:ids) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
).bindparams(bindparam("ids", type_=ARRAY(Text)))


async def claim(session: AsyncSession, group: str, ids: list[str]) -> set[str]:
    """Record ``ids`` as taken in by ``group`` in the inbox (one statement, in the caller's transaction); the ones
    seen for the first time (the others took effect before)."""
    return set((await session.execute(_CLAIM, {"group": group, "ids": ids})).scalars())


# A refused event (its handler dead-lettered it) is not applied: its inbox row goes with the same transaction, so
# the event applies when an operator re-drives it after a fix (jsp_common.deadletters).
_FORGET = text(
    "DELETE FROM inbox WHERE consumer_group = :group AND event_id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(Text)))


class Reject(Exception):
    """Raised by a handler: this event can never be processed (dead-letter it, do not retry)."""

    def __init__(self, reason: str, details: Any = None):
        super().__init__(reason)
        self.reason, self.details = reason, details


@dataclass(frozen=True)
class Delivery:
    """One message as Kafka delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def key_str(self) -> str | None:
        return self.key.decode(errors="replace") if self.key is not None else None


@dataclass
class HandlerContext:
    """What a handler gets: the event, its validated data, and the transaction to write in."""

    envelope: Envelope
    data: EventData
    session: AsyncSession
    delivery: Delivery
    group: str
    source: str
    _dead_letter: tuple[str, Any] | None = None
    ids: outbox.EventIds = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ids = outbox.EventIds(input_cause(self.group, self.envelope.id))

    async def emit(self, topic: str, data: EventData, *, key: str | None, subject: str | None = None) -> str:
        """Publish an event after this transaction commits (through the outbox), in this event's trace.
        Its id is derived from this event's id (see ``outbox.EventIds``). Returns the event id."""
        return await outbox.emit(self.session, topic, data, key=key, source=self.source, subject=subject,
                                 traceparent=tracing.child_of(self.envelope.traceparent),
                                 id=self.ids.event_id(topic, data.event_type, key))

    def new_id(self, *parts: str) -> str:
        """An id for a record this event creates, derived from this event's id and ``parts``."""
        return self.ids.record_id(*parts)

    def dead_letter(self, reason: str, details: Any = None) -> None:
        """Keep this transaction's effects (e.g. a rejection receipt) and dead-letter the original message."""
        self._dead_letter = (reason, details)


@dataclass(kw_only=True)
class PoisonContext(outbox.SessionTx):
    """What an ``on_poison`` hook gets, inside a transaction (to emit a receipt, say), before the message is
    dead-lettered."""

    delivery: Delivery
    envelope: Envelope | None
    reason: str
    details: Any


def wrong_key(key: str | None, *, expected: str, field: str, what: str, kept_together: str) -> str | None:
    """Why a message is refused (its dead letter's reason) when its topic is keyed by its data's ``field`` and its
    Kafka key is not ``expected`` (None: keyed right). Sent with no key or another, ``kept_together`` (one device's
    readings, one entity's listings) land on any partitions and are applied out of order."""
    if key == expected:
        return None
    sent = "no key" if key is None else f"key {key!r}"
    return (f"{what} sent with {sent}: the key must be the {field} ({expected!r}), so that {kept_together} stay on "
            "one partition, in order (kcat: -K)")


def input_cause(group: str, event_id: str) -> str:
    """What the ids of a consumer group's effects of one input event derive from."""
    return f"{group}\n{event_id}"


Handler = Callable[[HandlerContext], Awaitable[None]]
# A batch handler gets consecutive events of a poll (in partition order) at once, to work set-wise.
BatchHandler = Callable[[list[HandlerContext]], Awaitable[None]]


def in_rounds(items: Sequence[T], key: Callable[[T], Hashable]) -> list[list[T]]:
    """A batch handler's inputs in rounds, each with at most one input per ``key`` (an entity): the first input
    of each key, then the second, and so on, in order. Applied set-wise round after round, each input's effects,
    issued through its own context, are those of the inputs applied one by one, under the same ids however a
    replay cuts the polls."""
    rounds: list[list[T]] = []
    seen: Counter[Hashable] = Counter()
    for item in items:
        k = key(item)
        if seen[k] == len(rounds):
            rounds.append([])
        rounds[seen[k]].append(item)
        seen[k] += 1
    return rounds
PoisonHook = Callable[[PoisonContext], Awaitable[None]]


@dataclass
class _Item:
    delivery: Delivery
    envelope: Envelope | None = None
    data: EventData | None = None
    handler: Handler | None = None
    batch: BatchHandler | None = None
    poison: tuple[str, Any] | None = None  # (reason, details) found before any handler ran


class ConsumerLoop:
    def __init__(self, *, group: str, topics: Sequence[str], handlers: Mapping[str, Handler], db: Database,
                 producer: EventProducer, source: str, env_prefix: str | None = None,
                 on_poison: PoisonHook | None = None,
                 batch_handlers: Mapping[str, BatchHandler] | None = None,
                 max_attempts: int = 5, backoff_initial_s: float = 0.2, backoff_max_s: float = 5.0,
                 max_records: int = 500, chunk_records: int = 100, inbox: bool = True,
                 kafka_group: str | None = None, wanted: Mapping[str, Callable[[Any], bool]] | None = None,
                 **client_options):
        self.group, self.topics, self.handlers = group, list(topics), dict(handlers)
        # wanted: per event type, whether the group has any use for one (its data given): e.g. of every clue
        # lifecycle event, only a known business's clue taken in or found true makes a risk observation.
        self.wanted = dict(wanted or {})
        # In an environment (JSP_ENV_PREFIX) the Kafka group id and the dead-letter topics carry its prefix; the
        # inbox (in the service's own database) and the metrics keep the group's own name. ``kafka_group``: the
        # Kafka consumer group this loop reads with, when not ``group``: a group whose topics are read by two
        # consumers with their own fetch settings (the dashboard's 801 quiet department partitions apart from
        # its busy topics) keeps one inbox, one set of dead-letter topics and one name in the metrics.
        self.env_prefix, self.group_id = env_prefix, in_environment(kafka_group or group, env_prefix)
        # inbox=False: the handlers de-duplicate themselves (e.g. the risk service's device windows keep each
        # partition's last applied offset in the same transaction as their state), and no inbox row is written
        # per event: for high-volume streams whose event ids would fill the inbox.
        self.inbox = inbox
        self.batch_handlers = dict(batch_handlers or {})
        self.db, self.producer, self.source, self.on_poison = db, producer, source, on_poison
        self.max_attempts, self.backoff_initial_s, self.backoff_max_s = max_attempts, backoff_initial_s, backoff_max_s
        self.max_records, self.chunk_records = max_records, chunk_records
        self._consumer = AIOKafkaConsumer(*self.topics, group_id=self.group_id, enable_auto_commit=False,
                                          auto_offset_reset="earliest", client_id=self.group_id, **client_options)
        self._fetch_bytes = client_options.get("max_partition_fetch_bytes", 1024 * 1024)
        self._failing_since: float | None = None  # since when every read from the broker has failed
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._declared: dict[str, tuple[str, ...] | None] = {}  # topic -> the event types it may carry
        self._counters: dict[tuple[str, str], Any] = {}  # (event type, outcome) -> its EVENTS_IN child

    def _count(self, event_type: str, outcome: str) -> None:
        """One more event in (a metric's child looked up once per type and outcome, not per event)."""
        counter = self._counters.get((event_type, outcome))
        if counter is None:
            counter = self._counters[(event_type, outcome)] = EVENTS_IN.labels(self.group, event_type, outcome)
        counter.inc()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self.run(), name=f"consumer-{self.group}")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task) -> None:
        if self.stopped_by is not None:  # readiness reports it too: the service consumes nothing any more
            log.error("the consumer loop ended", group=self.group, error=repr(self.stopped_by))

    async def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping = True
        if self._task:
            with contextlib.suppress(Exception, asyncio.CancelledError):  # an ended loop was logged as it ended
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            await cancel_until_done(self._task)
        await self._consumer.stop()

    async def assigned(self, timeout_s: float = 30.0) -> None:
        """Wait until the group has given this consumer its partitions (useful in tests and start-up)."""
        deadline = time.monotonic() + timeout_s
        while not self._consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumer group {self.group} got no partitions within {timeout_s}s")
            await asyncio.sleep(0.05)

    @property
    def stopped_by(self) -> BaseException | None:
        """What ended the loop while it was meant to run (None while it runs, and after :meth:`stop`)."""
        if self._task is None or not self._task.done() or self._task.cancelled() or self._stopping:
            return None
        return self._task.exception()

    def failing_s(self) -> float:
        """How long every read from the broker has failed (0 while reads succeed): liveness fails past a limit."""
        return 0.0 if self._failing_since is None else time.monotonic() - self._failing_since

    async def run(self) -> None:
        delay = self.backoff_initial_s
        while not self._stopping:
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self.max_records)
            except Exception as exc:  # noqa: BLE001 - a record the client cannot decode raises anything
                stuck = undecodable.stuck_partitions(self._consumer)
                try:
                    if stuck:  # records the client cannot decode: read them raw, dead-letter what cannot be read
                        await self._read_past(stuck, exc)
                        self._failing_since = None
                        continue
                except KafkaError as again:  # the raw read failed too: the poll tries again
                    exc = again
                if not isinstance(exc, KafkaError):
                    raise  # a defect of the loop: it ends, and says so
                # Nothing was read (the group's rights to a topic withdrawn for a while, the broker away): the
                # loop must not end, or the service stops consuming while it looks alive.
                log.error("reading from the broker failed; retrying", group=self.group, error=str(exc))
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)
                continue
            delay = self.backoff_initial_s
            self._failing_since = None
            if not batches:
                continue
            await self.apply(batches.values())
            await self._commit({tp: records[-1].offset + 1 for tp, records in batches.items()})

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # Partitions moved to another member: it re-reads from the last commit; the inbox dedups.
            log.warning("offset commit failed", error=str(exc))

    async def _read_past(self, stuck: dict[TopicPartition, int], error: Exception) -> None:
        """A poll failed decoding the records of ``stuck`` partitions (each with the offset where it stopped: a
        batch it cannot decompress, a header name that is not UTF-8), and lost what it had decoded of every
        partition: each is read again from its committed offset; a stuck one is read raw (:mod:`.undecodable`)
        through the batch the client could not decode, its records applied in order and each part that cannot be
        read dead-lettered with its coordinates and the reason, and the partition goes on after that batch."""
        consumer = self._consumer
        assigned = consumer.assignment()
        committed = await consumer._coordinator.fetch_committed_offsets(list(assigned))  # aiokafka: one request
        starts = {tp: committed[tp].offset if tp in committed and committed[tp].offset >= 0 else None
                  for tp in assigned}
        unknown = [tp for tp, offset in starts.items() if offset is None]
        if unknown:  # nothing committed yet: from the beginning, as the group starts (auto_offset_reset)
            starts.update(await consumer.beginning_offsets(unknown))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        for tp, failed_at in stuck.items():
            if tp not in starts:
                continue  # no longer this consumer's
            raw = await undecodable.fetch_raw(consumer, tp, starts[tp], self._fetch_bytes)
            records, after = undecodable.read_records(raw, starts[tp], failed_at)
            if after <= starts[tp]:  # nothing read (the broker answered without the records): the poll tries again
                raise KafkaError(f"{tp.topic}[{tp.partition}] could not be read at {starts[tp]} without its decoder")
            log.warning("records the client could not decode read raw", group=self.group, topic=tp.topic,
                        partition=tp.partition, offset=failed_at, error=repr(error)[:300],
                        unreadable=sum(r.problem is not None for r in records))
            items = []
            for r in records:
                d = Delivery(tp.topic, tp.partition, r.offset, r.key, r.value, r.headers)
                items.append(self._prepare(d) if r.problem is None else _Item(d, poison=(r.problem, r.details)))
            if items:
                await self._apply_batch(items)
            await self._commit({tp: after})
            consumer.seek(tp, after)

    async def apply(self, polled: Iterable[list[ConsumerRecord]]) -> None:
        """Apply a poll's messages (each partition's in order): how the loop applies what it reads, and how a
        rebuild applies what it reads outside the group."""
        await asyncio.gather(*(self.process(chunk) for chunk in self._chunks(polled)))

    def _chunks(self, polled: Iterable[list[ConsumerRecord]]) -> list[list[Delivery]]:
        """A poll's messages in chunks, each applied in its own transaction, the chunks concurrently (one chunk's
        database waits overlap another's work). Partitions are independent (one entity's events share a
        partition): each is whole and in order in one chunk, and partitions with few messages share one, up to
        ``chunk_records`` (a group reading many partitions, a few messages each, would otherwise pay a
        transaction for every one)."""
        chunks: list[list[Delivery]] = []
        current: list[Delivery] = []
        for records in polled:
            current.extend(Delivery(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                           for r in records)
            if len(current) >= self.chunk_records:
                chunks.append(current)
                current = []
        if current:
            chunks.append(current)
        return chunks

    # ------------------------------------------------------------------ processing
    def _prepare(self, d: Delivery) -> _Item:
        item = _Item(d)
        try:
            item.envelope = Envelope.from_bytes(d.value)
        except EnvelopeError as exc:
            item.poison = (exc.reason, None)
            return item
        if d.topic not in self._declared:  # looked up once per topic (setdefault would look it up every time)
            self._declared[d.topic] = declared_types(d.topic)
        declared = self._declared[d.topic]
        if declared is not None and item.envelope.type not in declared:
            item.poison = (f"event type {item.envelope.type!r} is not carried on {d.topic}; it carries: "
                           + ", ".join(declared), None)
            return item
        item.handler = self.handlers.get(item.envelope.type)
        item.batch = self.batch_handlers.get(item.envelope.type)
        try:
            if item.handler is None and item.batch is None:
                model_for(item.envelope.type)  # a known type this group does not handle: its data is not read
                return item
            item.data = parse_data(item.envelope.type, item.envelope.data)
            want = self.wanted.get(item.envelope.type)
            if want is not None and not want(item.data):
                item.handler = item.batch = None  # passed over as a type this group does not handle
        except UnknownEventType as exc:
            item.poison = (str(exc.args[0]), None)
        except ValidationError as exc:
            errors = field_errors(exc)
            item.poison = ("schema-invalid: " + describe(errors), errors)
        return item

    async def process(self, deliveries: list[Delivery]) -> None:
        """Apply a batch of deliveries from one partition, in order; returns when every one is settled."""
        started = time.perf_counter()
        await self._apply_batch([self._prepare(d) for d in deliveries])
        HANDLER_SECONDS.labels(self.group).observe(time.perf_counter() - started)

    async def _apply_batch(self, items: list[_Item]) -> None:
        """Apply items in one transaction; if that fails, each half in turn (in order), down to the one that
        fails, which is retried on its own: one bad event costs a few transactions, not one per event."""
        try:
            post: list[tuple[_Item, tuple[str, Any]]] = []
            async with self.db.transaction() as session:
                fresh = await self._claim(session, items)
                await self._apply_all(session, items, post, fresh)
            await self._dead_letter_all(post)
        except Exception as exc:  # noqa: BLE001 - narrow it down
            if len(items) == 1:
                await self._process_one(items[0])
                return
            log.info("batch failed; applying it in halves", error=repr(exc), size=len(items))
            half = len(items) // 2
            await self._apply_batch(items[:half])
            await self._apply_batch(items[half:])

    async def _claim(self, session: AsyncSession, items: list[_Item]) -> set[int]:
        """Write the inbox rows of a whole batch in one statement; the items (by id()) seen for the first time."""
        wanted = {id(it): it.envelope.id for it in items
                  if it.poison is None and (it.handler or it.batch) and it.envelope is not None}
        if not wanted:
            return set()
        if not self.inbox:
            return set(wanted)
        ids = list(dict.fromkeys(wanted.values()))
        new_ids = await claim(session, self.group, ids)
        fresh: set[int] = set()
        for i, e in wanted.items():
            if e in new_ids:
                fresh.add(i)
                new_ids.discard(e)  # a second copy within the same batch is a duplicate
        return fresh

    async def _apply_all(self, session: AsyncSession, items: list[_Item], post: list, fresh: set[int]) -> None:
        """Apply items in order; consecutive items with the same batch handler go to it together."""
        run: list[tuple[_Item, HandlerContext]] = []

        refused: list[str] = []

        async def flush() -> None:
            if run:
                await run[0][0].batch([ctx for _, ctx in run])
                for it, ctx in run:
                    self._settled(it, ctx, post, refused)
                run.clear()

        for item in items:
            if item.poison is not None:
                await flush()  # the messages before it take effect (and are refused) before it is refused
            ctx = await self._context(session, item, post, fresh)
            if ctx is None:
                continue
            if item.batch is not None:
                if run and run[0][0].batch is not item.batch:
                    await flush()
                run.append((item, ctx))
                continue
            await flush()
            token = tracing.current_traceparent.set(ctx.envelope.traceparent)
            try:
                with log_fields(event_id=ctx.envelope.id, trace_id=ctx.envelope.trace_id,
                                       event_type=ctx.envelope.type):
                    await item.handler(ctx)
            finally:
                tracing.current_traceparent.reset(token)
            self._settled(item, ctx, post, refused)
        await flush()
        if refused and self.inbox:
            await session.execute(_FORGET, {"group": self.group, "ids": refused})

    async def _context(self, session: AsyncSession, item: _Item, post: list,
                       fresh: set[int]) -> HandlerContext | None:
        """The handler context of an item to handle, or None when it is poison, ignored or a duplicate."""
        env = item.envelope
        if item.poison is not None:
            await self._run_poison_hook(session, item, *item.poison)
            post.append((item, item.poison))
            return None
        assert env is not None
        if item.handler is None and item.batch is None:  # a known event type (or event) this group has no use for
            self._count(env.type, "ignored")
            return None
        if id(item) not in fresh:
            self._count(env.type, "duplicate")
            return None
        return HandlerContext(env, item.data, session, item.delivery, self.group, self.source)

    def _settled(self, item: _Item, ctx: HandlerContext, post: list, refused: list[str]) -> None:
        if ctx._dead_letter:
            post.append((item, ctx._dead_letter))
            refused.append(ctx.envelope.id)
        else:
            self._count(ctx.envelope.type, "handled")

    async def _process_one(self, item: _Item) -> None:
        attempt, delay = 0, self.backoff_initial_s
        while True:
            try:
                post: list = []
                async with self.db.transaction() as session:
                    await self._apply_all(session, [item], post, await self._claim(session, [item]))
                await self._dead_letter_all(post)
                return
            except (Reject, outbox.EventTooLarge) as exc:
                await self._poison(item, exc.reason, exc.details)
                return
            except Exception as exc:  # noqa: BLE001
                infra = is_unavailable(exc)
                EVENTS_FAILED.labels(self.group, "infrastructure" if infra else "handler").inc()
                if item.poison is not None and not infra:  # its hook failed: refused for its own reason
                    await self._poison(item, *item.poison)
                    return
                if not infra:
                    attempt += 1
                    if attempt >= self.max_attempts:
                        await self._poison(item, f"handler failed {attempt} times: {type(exc).__name__}: {exc}", None)
                        return
                log.warning("handler failed; retrying", error=repr(exc), attempt=attempt, infrastructure=infra,
                            event_id=item.envelope.id if item.envelope else None)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)

    async def _run_poison_hook(self, session: AsyncSession, item: _Item, reason: str, details: Any) -> None:
        if self.on_poison:
            d = item.delivery  # a receipt's id, too, comes from the input (by its coordinates when it has no id)
            cause = input_cause(self.group, item.envelope.id if item.envelope else f"{d.topic}:{d.partition}:{d.offset}")
            await self.on_poison(PoisonContext(session=session, source=self.source, cause=cause, delivery=d,
                                               envelope=item.envelope, reason=reason, details=details))

    async def _poison(self, item: _Item, reason: str, details: Any) -> None:
        delay = self.backoff_initial_s
        while True:
            try:
                async with self.db.transaction() as session:
                    await self._run_poison_hook(session, item, reason, details)
                break
            except Exception as exc:  # noqa: BLE001 - the hook must not keep a message from its dead-letter topic
                if not is_unavailable(exc):
                    log.exception("on_poison hook failed; dead-lettering without it")
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)
        await self._dead_letter_all([(item, (reason, details))])

    async def _dead_letter_all(self, post: list[tuple[_Item, tuple[str, Any]]]) -> None:
        await send_dead_letters(self.producer, [Refusal(item.delivery, *refusal) for item, refusal in post],
                                group=self.group, env_prefix=self.env_prefix,
                                backoff_initial_s=self.backoff_initial_s, backoff_max_s=self.backoff_max_s)
        for item, _ in post:
            self._count(item.envelope.type if item.envelope else "(unparsed)", "dead_lettered")
