"""Everything a service runs besides its routes: database, producer, outbox relay, consumer loops and
periodic jobs, built once (in the service's bootstrap) and started and stopped together.

``ServiceRuntime[Deps]`` is generic over the service's dependency container (``deps.py``): the bootstrap
sets ``runtime.deps`` once, and routes reach it typed through ``jsp_common.http.get_runtime``.

The relay, the consumers and the periodic jobs start only once the service's database is at the head of
its migration chain (the migration Job of a release may still be running): until then the service is
not ready (``/readyz`` says ``schema: behind ...``) and touches none of its tables."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, Mapping, Sequence, TypeVar

from . import clock
from .connections import ConnectionWatch
from .consumer import BatchHandler, ConsumerLoop, Handler, PoisonHook
from .db import Database, is_unavailable
from .leadership import Leadership
from .logs import get_logger
from .migrations import schema_state, service_dir_of
from .metrics import WORKDAY_CALENDAR_KNOWN_UNTIL
from .outbox import OutboxRelay
from .producer import EventProducer
from .schedule_feed import OnChange, ScheduleFeed
from .settings import ServiceSettings
from .tasks import cancel_until_done
from .workdays import WorkCalendar, deadline_end_of

log = get_logger(__name__)

DepsT = TypeVar("DepsT")


@dataclass
class _Periodic:
    name: str
    job: Callable[[], Awaitable[None]]
    interval_s: float
    every_replica: bool = False


async def _until_done(start: Callable[[], Awaitable[None]], what: str, interval_s: float = 2.0) -> None:
    """Start something that needs the broker, trying again while the broker is away."""
    while True:
        try:
            await start()
            return
        except Exception as exc:  # noqa: BLE001
            log.warning("could not start; trying again", what=what, error=repr(exc))
            await asyncio.sleep(interval_s)


def tune_gc(young_threshold: int) -> None:
    """Freeze what start-up made and collect the young generation less often (``gc_young_threshold``)."""
    if young_threshold:
        gc.freeze()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(young_threshold, older, oldest)


class ServiceRuntime(Generic[DepsT]):
    """The shared runtime of one service; ``deps`` is what its use cases need (set once by its bootstrap)."""

    deps: DepsT

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.source = f"/jsp/{settings.service_name}"
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size,
                           ping_after_idle_s=settings.db_ping_after_idle_s)
        kafka = settings.kafka_client_options()
        self.producer = EventProducer(client_id=settings.service_name, **kafka)
        self.relay = OutboxRelay(self.db, self.producer, service=settings.service_name,
                                 batch_size=settings.outbox_batch_size, batch_bytes=settings.outbox_batch_bytes,
                                 poll_interval_s=settings.outbox_poll_interval_s,
                                 keep_sent_hours=settings.outbox_keep_sent_hours)
        self.consumers: list[ConsumerLoop] = []
        self._periodic: list[_Periodic] = []
        self.leadership = Leadership(settings.database_url, settings.service_name)
        self.connections = ConnectionWatch({"kafka": self.producer.ping, "database": self.db.ping},
                                           check_s=settings.connection_check_s, report_s=settings.connection_report_s)
        self._tasks: list[asyncio.Task] = []
        self.schedule_feed: ScheduleFeed | None = None
        self._on_start: list[Callable[[], Awaitable[None] | None]] = []
        self._on_stop: list[Callable[[], Awaitable[None] | None]] = []
        self._service_dir = service_dir_of(settings.service_name)
        self._schema_ok = self._service_dir is None  # a runtime without migrations of its own
        self._working = False   # the relay and consumers were started (to be stopped)
        self._started = False   # everything runs: the service is ready to work
        self._steps_done = 0
        self._schedules_read = False
        self._producer_started = False
        self._waiting: asyncio.Task | None = None

    def add_consumer(self, *, group: str, topics: Sequence[str], handlers: Mapping[str, Handler],
                     on_poison: PoisonHook | None = None,
                     batch_handlers: Mapping[str, BatchHandler] | None = None, inbox: bool = True,
                     db: Database | None = None, kafka_group: str | None = None,
                     wanted: Mapping[str, Callable[[Any], bool]] | None = None,
                     **fetch_options) -> ConsumerLoop:
        """A consumer loop of this service (started with it); ``fetch_options``: the Kafka client's, e.g.
        ``fetch_min_bytes`` for a group reading many partitions. ``db``: another database than the service's
        (a rebuild writing its tables again in a schema of its own). ``kafka_group``, ``wanted``: see
        :class:`ConsumerLoop`."""
        s = self.settings
        loop = ConsumerLoop(group=group, env_prefix=s.env_prefix, topics=topics, handlers=handlers, db=db or self.db,
                            producer=self.producer,
                            source=self.source, on_poison=on_poison, batch_handlers=batch_handlers, max_attempts=s.consumer_max_attempts,
                            backoff_initial_s=s.consumer_backoff_initial_s, backoff_max_s=s.consumer_backoff_max_s,
                            max_records=s.consumer_max_records, chunk_records=s.consumer_chunk_records, inbox=inbox,
                            kafka_group=kafka_group, wanted=wanted, **fetch_options,
                            **s.kafka_client_options())
        self.consumers.append(loop)
        return loop

    async def assigned(self, timeout_s: float = 30.0) -> None:
        """Wait until every consumer has its partitions (tests and benchmarks start producing after this)."""
        for c in self.consumers:
            await c.assigned(timeout_s)

    def on_start(self, step: Callable[[], Awaitable[None] | None]) -> None:
        """A service's own start-up step (e.g. load state before the first request, start a writer task), run
        in order before the runtime's producer, relay, consumers and periodic jobs start."""
        self._on_start.append(step)

    def on_stop(self, step: Callable[[], Awaitable[None] | None]) -> None:
        """A service's own shutdown step (e.g. flush a queue, close HTTP clients), run in order before the
        runtime stops its consumers, jobs, relay, producer and database."""
        self._on_stop.append(step)

    def add_periodic(self, name: str, job: Callable[[], Awaitable[None]], interval_s: float, *,
                     every_replica: bool = False) -> None:
        """A job run every ``interval_s`` seconds (e.g. scanning for overdue deadlines), by one replica of the
        service at a time (the one that holds the job's advisory lock: ``jsp_common.leadership``).
        ``every_replica``: a job about the replica itself (refreshing its own cache, setting its own gauge)."""
        self._periodic.append(_Periodic(name, job, interval_s, every_replica))

    def watch_calendar(self, calendar: WorkCalendar) -> None:
        """For a service that counts working days: once a day, publish how far ahead ``calendar`` knows the
        holidays (a gauge to alert on) and warn when that is less than ``workday_calendar_warn_days``."""
        async def check() -> None:
            today = clock.today()
            until = calendar.known_until(today)
            WORKDAY_CALENDAR_KNOWN_UNTIL.set(deadline_end_of(until).timestamp())
            if (until - today).days < self.settings.workday_calendar_warn_days:
                log.warning("the working-day calendar has no holiday schedule after this date: deadlines later "
                            "than it are provisional and count Monday to Friday; the office uploads the official "
                            "schedule through the gateway (PUT /calendar/years/{year})", known_until=until.isoformat())
        self.add_periodic("workday-calendar", check, 24 * 3600, every_replica=True)

    def follow_schedules(self, calendar: WorkCalendar, on_change: OnChange | None = None) -> None:
        """Keep ``calendar`` current from the published working-day schedules (read whole before the consumers
        start, then followed); ``on_change`` counts the service's deadlines again (:mod:`.schedule_feed`)."""
        self.schedule_feed = ScheduleFeed(calendar, on_change=on_change, **self.settings.kafka_client_options())

    async def _run_periodic(self, p: _Periodic) -> None:
        while True:
            wait = p.interval_s
            try:
                if p.every_replica or await self.leadership.leads(p.name):
                    await p.job()
                else:  # another replica leads it: try to take over soon after that one is gone
                    wait = min(p.interval_s, self.settings.periodic_leader_retry_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - log and try again next round
                if is_unavailable(exc):  # the connection watch reports the outage: no traceback every round
                    log.warning("periodic job skipped: a server it needs is unavailable", job=p.name,
                                error=repr(exc)[:300])
                else:
                    log.exception("periodic job failed", job=p.name)
            await asyncio.sleep(wait)

    async def schema(self) -> str:
        """``"ok"`` once the database is at (or past) the head of this service's migrations."""
        if not self._schema_ok:
            async with self.db.engine.connect() as conn:
                state = await schema_state(conn, self._service_dir)
            self._schema_ok = state == "ok"
            return state
        return "ok"

    async def start(self) -> None:
        """Start what can be started; what needs a server that is away (Kafka, the database) or a schema not
        migrated yet is started in the background as soon as it can be: the process stays up, not ready."""
        self.connections.start()
        try:
            state = await self._prepare()
        except Exception as exc:  # noqa: BLE001 - a server away: wait for it like for a migration
            state = f"unavailable: {type(exc).__name__}"
        if state == "ok":
            await self._start_work()
        else:
            self._waiting = asyncio.create_task(self._start_when_ready(state), name="wait-to-start")

    async def _prepare(self) -> str:
        """The service's own start-up steps and the producer (each done once), then the schema's state."""
        while self._steps_done < len(self._on_start):
            if asyncio.iscoroutine(done := self._on_start[self._steps_done]()):
                await done
            self._steps_done += 1
        if not self._producer_started:
            await self.producer.start()
            self._producer_started = True
        return await self.schema()

    async def _start_when_ready(self, state: str, interval_s: float = 2.0) -> None:
        said = None
        while state != "ok":
            if state != said:  # once per state, not every round
                log.info("waiting before consuming", state=state)
                said = state
            await asyncio.sleep(interval_s)
            try:
                state = await self._prepare()
            except Exception as exc:  # noqa: BLE001
                state = f"unavailable: {type(exc).__name__}"
        await self._start_work()

    async def _start_work(self) -> None:
        self.relay.start()
        self._working = True
        if self.schedule_feed is not None:
            await _until_done(self.schedule_feed.start, "working-day schedules")
            self._schedules_read = True
        for c in self.consumers:
            await _until_done(c.start, f"consumer {c.group}")
        self._tasks = [asyncio.create_task(self._run_periodic(p), name=p.name) for p in self._periodic]
        self._started = True
        tune_gc(self.settings.gc_young_threshold)
        log.info("service started", consumers=[c.group for c in self.consumers])

    async def stop(self) -> None:
        """Graceful shutdown: finish the current batches, publish what is committed, close connections."""
        for step in self._on_stop:
            if asyncio.iscoroutine(done := step()):
                await done
        await self.connections.stop()
        await cancel_until_done(self._waiting)
        if self._working:
            for c in self.consumers:
                await c.stop()
            for t in self._tasks:
                await cancel_until_done(t)
            await self.leadership.close()  # another replica takes the jobs over at once
            if self.schedule_feed is not None:
                await self.schedule_feed.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.relay.publish_batch(), 10)
            await self.relay.stop()
        if self._producer_started:
            await self.producer.stop()
        await self.db.dispose()
        log.info("service stopped")

    def stopped_consumers(self) -> list[str]:
        """The consumer groups whose loop ended while it was meant to run, with what ended it."""
        return [f"{c.group} ({type(c.stopped_by).__name__})" for c in self.consumers if c.stopped_by]

    def stalled(self) -> list[str]:
        """What keeps this replica from working that a restart may cure (liveness, ``/healthz``): consumer loops
        that ended, or whose every read from the broker has failed for ``liveness_stall_s``, and an outbox relay
        that has held unsent events without publishing any for that long."""
        limit = self.settings.liveness_stall_s
        stalled = self.stopped_consumers()
        stalled += [f"{c.group} (every read failing for {failing:.0f} s)" for c in self.consumers
                    if (failing := c.failing_s()) > limit]
        relay_stalled_s = self.relay.stalled_s() if self._working else 0.0
        if relay_stalled_s > limit:
            stalled.append(f"outbox relay (no event published for {relay_stalled_s:.0f} s)")
        return stalled

    async def readiness(self) -> dict[str, str]:
        """What ``/readyz`` answers: each check's state. Ready (:func:`is_ready`) takes the database, the schema at
        head and the service's own start-up done; Kafka is reported, not required (:data:`REPORTED_ONLY`)."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.db.ping(), 3)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["kafka"] = self.connections.state("kafka")  # the last check's: a probe of an absent broker is slow
        if checks["database"] == "ok":
            try:
                checks["schema"] = await asyncio.wait_for(self.schema(), 3)
            except Exception as exc:  # noqa: BLE001
                checks["schema"] = f"unavailable: {type(exc).__name__}"
        if checks.get("schema") == "ok":  # the servers it needs are there: is what serves requests started?
            stopped = self.stopped_consumers()
            kafka_away = checks["kafka"].startswith("unreachable")
            checks["work"] = "stopped: " + ", ".join(stopped) if stopped else self._serving(kafka_away)
            checks["events"] = ("waiting for Kafka to start: the outbox keeps what is written" if not self._started
                                else "paused until Kafka is back: the outbox keeps what is written"
                                if kafka_away else "ok")
        return checks

    def _serving(self, kafka_away: bool) -> str:
        """Whether requests can be answered: the service's own start-up steps done and, for one that counts working
        days, the published holiday schedules read once (from Kafka, at start only); with the broker there, the
        relay and consumers started too (a moment after the schema reached head)."""
        if self._steps_done < len(self._on_start):
            return "starting"
        if self.schedule_feed is not None and not self._schedules_read:
            return "starting: the working-day schedules are not read yet (Kafka)"
        if not self._started and not kafka_away:
            return "starting"
        return "ok"


# Reported by readiness, not required: a pod out of its Service answers nothing, and without Kafka a service still
# signs in, reads and takes writes into its outbox (the relay publishes them once the broker is back; the consumer
# loops wait and resume from their committed offsets). A broker restart must not take the platform's HTTP side out.
REPORTED_ONLY = frozenset({"kafka", "events"})


def is_ready(checks: Mapping[str, str]) -> bool:
    return all(v == "ok" for k, v in checks.items() if k not in REPORTED_ONLY)
