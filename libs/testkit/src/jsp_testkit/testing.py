"""pytest plugin (``-p jsp_testkit.testing``): real Kafka and PostgreSQL for integration tests.

The servers are started by ``make test`` (on their own ports and data folder); the addresses come
from the same settings the services read. Nothing here fakes a broker or a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Sequence

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import MetaData, text

from jsp_common import clock
from jsp_common.offsets import assign_all, move_group_to_end
from jsp_common.db import Database, ensure_database
from jsp_common.envelope import Envelope, EnvelopeError, new_envelope
from jsp_common.events.calendar import WorkdaySchedulePublished
from jsp_common.messaging_tables import metadata as messaging_metadata
from jsp_common.migrations import upgrade
from jsp_common.producer import EventProducer
from jsp_common.principal import Principal, Role
from jsp_common.runtime import ServiceRuntime
from jsp_common.settings import ServiceSettings
from jsp_common.topics import WORKDAY_SCHEDULES, Topic, all_topics, create_topics
from jsp_common.workdays import WorkCalendar


def pytest_collection_modifyitems(config, items):
    """Tests that restart the broker run last, so they disturb no other test."""
    items.sort(key=lambda item: item.get_closest_marker("broker_restart") is not None)


def caller_headers(principal, service: str | list[str], *, ttl_s: int = 24 * 3600) -> dict[str, str]:
    """The header the gateway sends ``service`` on behalf of ``principal``: its signed assertion
    (jsp_common.caller), signed with the development key the services accept by default. Long-lived, so a
    header built once serves a whole test session."""
    from jsp_common.caller import DEV_SIGNING_KEY, Signer

    return Signer.from_jwk(DEV_SIGNING_KEY, ttl_s=ttl_s).headers(principal, service)


def clocks_at(monkeypatch, at: float) -> None:
    """Both clocks a token meets at ``at`` (seconds since the epoch): ours (``time.time``) and PyJWT's
    (``datetime.now``), for tests of what happens as tokens age."""
    import jwt.api_jwt
    from datetime import datetime

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(at, tz)

    monkeypatch.setattr(time, "time", lambda: at)
    monkeypatch.setattr(jwt.api_jwt, "datetime", Clock)


async def wait_until(predicate: Callable[[], Awaitable[Any] | Any], *, timeout: float = 30.0,
                     interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def until_waiting_or_done(db: Database, sent: asyncio.Future, *, what: str, timeout: float = 60.0) -> None:
    """Wait until ``sent`` (a request sent while the test holds a transaction of ``db`` open) is done, or some
    session of ``db``'s database waits for a lock (the request waiting for that transaction); the test then
    commits and awaits ``sent``. A request that did not wait for the open transaction is done by then."""
    async def waiting_or_done() -> bool:
        if sent.done():
            return True
        async with db.transaction() as probe:
            return bool((await probe.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))).scalar())
    await wait_until(waiting_or_done, timeout=timeout, what=f"{what} finished or waiting for the open transaction")


def local_stack_module(root: Path):
    """``deploy/local/run.py`` (what ``make run`` runs) as a module, for its ``Stack`` of service processes
    (end-to-end tests and benchmarks start the services the way a developer does)."""
    if "jsp_local_run" not in sys.modules:
        spec = importlib.util.spec_from_file_location("jsp_local_run", root / "deploy" / "local" / "run.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["jsp_local_run"] = module
        spec.loader.exec_module(module)
    return sys.modules["jsp_local_run"]


@dataclass
class Received:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, bytes]

    @functools.cached_property
    def _parsed(self) -> Envelope | EnvelopeError:
        """The envelope, or why the bytes are not one (parsed once: predicates look at a message many times)."""
        try:
            return Envelope.from_bytes(self.value)
        except EnvelopeError as exc:
            return exc

    @property
    def envelope(self) -> Envelope:
        if isinstance(self._parsed, EnvelopeError):
            raise self._parsed
        return self._parsed

    def is_envelope(self) -> bool:
        return not isinstance(self._parsed, EnvelopeError)


class TopicTail:
    """Reads topics from the position they had when the tail was opened (or from the beginning)."""

    def __init__(self, bootstrap: str, topics: list[str], from_beginning: bool = False):
        self.bootstrap, self.topics, self.from_beginning = bootstrap, topics, from_beginning
        self.received: list[Received] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> "TopicTail":
        c = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None)
        await c.start()
        tps = await assign_all(c, self.topics)
        if self.from_beginning:
            await c.seek_to_beginning(*tps)
        else:
            for tp, off in (await c.end_offsets(tps)).items():
                c.seek(tp, off)
        self._consumer = c
        return self

    async def __aexit__(self, *exc) -> None:
        if self._consumer:
            await self._consumer.stop()

    async def poll(self) -> list[Received]:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=100)
        new = [Received(r.topic, r.partition, r.offset, r.key.decode() if r.key else None, r.value or b"",
                        {k: v for k, v in (r.headers or ())})
               for recs in batches.values() for r in recs]
        self.received.extend(new)
        return new

    async def catch_up(self, timeout: float = 30.0) -> list[Received]:
        """Read until every partition is at the end it has now: everything published so far is received."""
        assert self._consumer is not None
        ends = await self._consumer.end_offsets(list(self._consumer.assignment()))

        async def caught_up():
            await self.poll()
            for tp, end in ends.items():
                if await self._consumer.position(tp) < end:
                    return False
            return True
        await wait_until(caught_up, timeout=timeout, interval=0, what="the tail to reach the topics' ends")
        return self.received

    async def wait_for(self, predicate: Callable[[Received], bool], *, count: int = 1, timeout: float = 30.0,
                       what: str = "messages") -> list[Received]:
        """Wait until ``count`` received messages satisfy ``predicate``; returns them."""
        async def enough():
            await self.poll()
            hits = [m for m in self.received if predicate(m)]
            return hits if len(hits) >= count else None
        return await wait_until(enough, timeout=timeout, interval=0, what=what)

    def events(self, type_: str | None = None, topic: str | None = None) -> list[Envelope]:
        out = []
        for m in self.received:
            if topic and m.topic != topic:
                continue
            if m.is_envelope():
                env = m.envelope
                if type_ is None or env.type == type_:
                    out.append(env)
        return out


def of_type(type_: str, **data_match: Any) -> Callable[[Received], bool]:
    """Predicate: an envelope of ``type_`` whose data contains ``data_match``."""
    def pred(m: Received) -> bool:
        if not m.is_envelope():
            return False
        env = m.envelope
        return env.type == type_ and all(env.data.get(k) == v for k, v in data_match.items())
    return pred


@pytest.fixture(scope="session")
def settings() -> ServiceSettings:
    return ServiceSettings(service_name="test")


@pytest.fixture(scope="session")
def bootstrap(settings: ServiceSettings) -> str:
    return settings.kafka_bootstrap_servers


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_topics(bootstrap: str) -> list[Topic]:
    """Every catalogue topic exists (created the way the deployment creates them)."""
    topics = all_topics()
    await create_topics(bootstrap, topics)
    return topics


@pytest_asyncio.fixture
async def producer(bootstrap: str) -> AsyncIterator[EventProducer]:
    """The services' own producer (jsp_common.producer), for a test that publishes envelopes as a service would."""
    p = EventProducer(client_id="test", bootstrap_servers=bootstrap)
    await p.start()
    yield p
    await p.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def raw_producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A plain producer for sending what outside systems send, including garbage."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await p.start()
    yield p
    await p.stop()


@contextlib.asynccontextmanager
async def tail(bootstrap: str, *topics: str, from_beginning: bool = False) -> AsyncIterator[TopicTail]:
    async with TopicTail(bootstrap, list(topics), from_beginning) as t:
        yield t


async def publish_schedule(producer: AIOKafkaProducer, year: int, holidays: list[date], *,
                           makeup_workdays: Sequence[date] = (), calendar: WorkCalendar | None = None,
                           revision: int | None = None) -> int:
    """Publish ``year``'s holiday schedule on the reference topic, as the calendar API does when the office
    uploads it; with ``calendar`` (a running service's), wait until that service counts with it. The
    revision defaults to the clock's seconds, above whatever earlier runs left on a shared broker."""
    revision = revision or int(time.time())
    data = WorkdaySchedulePublished(year=year, holidays=holidays, makeup_workdays=list(makeup_workdays),
                                    notice="国务院办公厅通知（测试）", revision=revision, published_at=clock.now())
    envelope = new_envelope(type=data.event_type, source="/test/calendar", data=data.model_dump(mode="json"))
    await producer.send_and_wait(WORKDAY_SCHEDULES, envelope.to_bytes(), key=str(year).encode())
    if calendar is not None:
        def applied() -> bool:
            current = calendar.schedule_of(year)
            return current is not None and current.revision >= revision
        await wait_until(applied, timeout=60, what=f"the {year} schedule to reach the running service")
    return revision


async def java_produce(bootstrap: str, topic: str, records: Sequence[tuple[str, bytes]], *,
                       compression: str = "none") -> None:
    """Send ``records`` (key, one-line value) as a Java line system does: Kafka's own console producer (from the
    jars ``make kafka-jars`` fetched, as the local broker runs), e.g. with ``compression`` lz4, snappy, zstd or
    gzip. Sent together, they share a record batch."""
    libs = Path(os.environ.get("JSP_LOCAL_DIR", Path(__file__).resolve().parents[4] / ".local")) / "kafka" / "libs"
    lines = b"".join(key.encode() + b"|" + value + b"\n" for key, value in records)
    proc = await asyncio.create_subprocess_exec(
        "java", "-cp", str(libs / "*"), "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", bootstrap,
        "--topic", topic, "--compression-codec", compression, "--property", "parse.key=true",
        "--property", "key.separator=|", "--producer-property", "linger.ms=100",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(lines), 120)
    assert proc.returncode == 0, f"the console producer failed: {out.decode(errors='replace')[-2000:]}"


class EventLoopBlocked(BaseException):
    """Raised into the code that held the event loop past :func:`loop_not_blocked`'s limit (a BaseException: a
    loop catching every Exception and trying again does not swallow it)."""


@contextlib.asynccontextmanager
async def loop_not_blocked(limit_s: float = 20.0) -> AsyncIterator[None]:
    """Fail the test when the event loop runs nothing for ``limit_s`` seconds: code that never awaits freezes every
    other task (HTTP, probes, other consumers), and a test waiting on the same loop would wait for ever. A thread
    watches the loop's heartbeat; past the limit it interrupts whatever holds the loop (``EventLoopBlocked``), and
    the block's failure says so."""
    import signal
    import threading

    loop = asyncio.get_running_loop()
    beat, done, fired = [time.monotonic()], threading.Event(), threading.Event()

    def tick() -> None:
        beat[0] = time.monotonic()
        if not done.is_set():
            loop.call_later(0.1, tick)

    def watch() -> None:
        while not done.wait(0.5):
            if time.monotonic() - beat[0] > limit_s:
                fired.set()
                signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
                return

    def interrupt(signum, frame) -> None:
        raise EventLoopBlocked(f"the event loop ran nothing for {limit_s:g} s")

    previous = signal.signal(signal.SIGUSR1, interrupt)
    loop.call_soon(tick)
    watcher = threading.Thread(target=watch, name="event-loop-watchdog", daemon=True)
    watcher.start()
    try:
        yield
    except BaseException as exc:
        if fired.is_set():
            raise AssertionError(f"the event loop ran nothing for {limit_s:g} s: something never awaited") from exc
        raise
    finally:
        done.set()
        watcher.join()
        signal.signal(signal.SIGUSR1, previous)
    if fired.is_set():
        raise AssertionError(f"the event loop ran nothing for {limit_s:g} s: something never awaited")


class RawName(str):
    """A header name sent as the bytes it is given, not as UTF-8: what a system writing GBK sends through
    librdkafka or a Go client (``RawName("来源".encode("gbk"))``)."""

    raw: bytes

    def __new__(cls, raw: bytes) -> "RawName":
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw
        return name

    def encode(self, *args, **kwargs) -> bytes:
        return self.raw


@contextlib.asynccontextmanager
async def raw_names_producer(bootstrap: str, **options) -> AsyncIterator[AIOKafkaProducer]:
    """A producer that writes header names (``RawName``) as their bytes. aiokafka's compiled record builder takes
    only text; its pure-Python one, used while this is open, encodes what it is given."""
    import aiokafka.producer.message_accumulator as accumulator
    import aiokafka.producer.producer as producer_module
    from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

    builders = [(m, m.DefaultRecordBatchBuilder) for m in (accumulator, producer_module)]
    for module, _ in builders:
        module.DefaultRecordBatchBuilder = _DefaultRecordBatchBuilderPy
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, **options)
    try:
        await p.start()
        yield p
    finally:
        await p.stop()
        for module, builder in builders:
            module.DefaultRecordBatchBuilder = builder


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    """A local TCP port nothing listens on now (the system's pick), for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_database_url(settings: ServiceSettings, prefix: str) -> str:
    """The URL of a database of its own on the test server (created on first use, e.g. by a migration)."""
    return f"{settings.postgres_url.rstrip('/')}/{unique(prefix).replace('.', '_').replace('-', '_')}"


SERVICES = ("registry", "clues", "inspection", "risk", "dashboard", "gateway")


def principal(*roles: Role, department: str | None = None, subject: str | None = None) -> dict[str, str]:
    """The headers of a call the gateway vouches for (its signed assertion), as a service receives it; valid
    for every service (``aud`` lists them all), so one header serves a service's whole test module."""
    p = Principal(subject=subject or (department or roles[0].value), roles=list(roles), department=department)
    return caller_headers(p, list(SERVICES))


OFFICE = principal(Role.OFFICE, subject="office-duty")


def dept(code: str) -> dict[str, str]:
    """A department's officer calling."""
    return principal(Role.DEPARTMENT, department=code, subject=f"officer@{code}")


@contextlib.asynccontextmanager
async def running_service(settings: ServiceSettings, *, service_dir: Path,
                          build: Callable[..., ServiceRuntime[Any]], create_app: Callable[[Any], FastAPI],
                          start_from_end: Iterable[tuple[str, Sequence[str]]] = ()
                          ) -> AsyncIterator[tuple[ServiceRuntime[Any], httpx.AsyncClient]]:
    """One service on its test database (migrated to head) and the real broker, without periodic jobs; and a
    client of its app on that runtime. ``start_from_end``: (consumer group, topics) moved to the end first,
    since traffic left on a shared broker by other runs is not the test's to process. Stopped on exit."""
    await upgrade(service_dir, settings.database_url)
    for group, topic_names in start_from_end:
        await move_group_to_end(group, topic_names, bootstrap_servers=settings.kafka_bootstrap_servers)
    runtime = build(settings, periodic=False)
    await runtime.start()
    try:
        await runtime.assigned()
        app = create_app(settings)
        app.state.runtime = runtime
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=f"http://{settings.service_name}") as client:
            yield runtime, client
    finally:
        await runtime.stop()


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[str]:
    """``app`` on a port of its own (its lifespan left to the caller), for what needs a real connection: a
    stream read as it comes (an ``httpx.ASGITransport`` answers once the app has finished). Yields its address."""
    import uvicorn  # every service runs on it; the testkit does not depend on it for the rest

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def database_with_tables(url: str, *metadatas: MetaData) -> AsyncIterator[Database]:
    """A database on the test server (created when missing) with the messaging tables and ``metadatas``'
    tables created, for tests of the common library that have no migrations of their own."""
    await ensure_database(url)
    database = Database(url)
    try:
        async with database.engine.begin() as conn:
            for m in (messaging_metadata, *metadatas):
                await conn.run_sync(m.create_all)
        yield database
    finally:
        await database.dispose()
