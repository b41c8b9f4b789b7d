"""A Henan day in one go: 5,000 registrations and 65,000 12345 work orders (Henan's daily volumes) put on the
bureau's and the hotline's topics at once, processed end to end by every service started as ``make run``
starts it (registry, clues, inspection, risk, dashboard, gateway; one process each), until every consumer
group's lag is 0. Then a burst of ten times the day's average rate for a minute, and the time until the lags are
0 again. Printed: the time to take the day in (target 60 s) beside a bare aiokafka loop forwarding the same
70,000 messages in the same run, the peak lag, and each service's CPU time over the day and peak resident
memory (VmHWM).

The mix: work orders about businesses registered that day, a fifth of them without USCC (matched by name and
place), a fifth about businesses not in the directory, a tenth repeating an earlier complaint about the same
business; registrations and work orders from every city and the domains of the samples.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid

from aiokafka import AIOKafkaProducer

from harness import (BenchEnv, DatabaseCpuMeter, Figure, bare_consume_produce, count_statements_from_now, cpu_seconds,
                     drop_platform_databases, kafka_cpu_seconds, machine_ticks, measure_pipeline, peak_rss_mib,
                     platform_stack, postgres_cpu_seconds, profile, start_groups_at_end, statements_by_database)
from jsp_common import topics
from jsp_common.envelope import Envelope, new_envelope
from jsp_common.topics import Topic, create_topics
from jsp_testkit import samples
from jsp_testkit.faults.ledger import group_lags

DAY_S = 86_400
TIMEOUT_S = 1800.0


def day(n_registrations: int, n_work_orders: int, rng: random.Random) -> list[tuple[str, str, bytes, str]]:
    """(topic, key, envelope bytes, event id) of a day's registrations, then its work orders."""
    regs = [samples.registration(rng) for _ in range(n_registrations)]
    out = []
    for r in regs:
        env = new_envelope(type="market.entity.registered.v1", source="/bench/samr", subject=r["uscc"], data=r)
        out.append((topics.MARKET_REGISTRATIONS, r["uscc"], env.to_bytes(), env.id))
    complained: list[dict] = []
    for i in range(n_work_orders):
        roll = rng.random()
        if roll < 0.1 and complained:
            order = samples.work_order(rng.choice(complained), rng)          # the same business again
        elif roll < 0.3:
            order = samples.work_order(None, rng)                            # not in the directory
        else:
            about = rng.choice(regs)
            order = samples.work_order(about, rng)
            if roll < 0.45:
                order.pop("uscc")                                            # matched by name and place
            complained.append(about)
        order["work_order_no"] = f"HND{i:08d}{uuid.uuid4().hex[:6]}"
        env = new_envelope(type="hotline.work-order.submitted.v1", source="/bench/12345",
                           subject=order["work_order_no"], data=order)
        out.append((topics.HOTLINE_WORK_ORDERS, order["work_order_no"], env.to_bytes(), env.id))
    return out


async def _drained(env: BenchEnv, timeout: float) -> tuple[float, int, dict[str, float]]:
    """Wait until every group's lag is 0: (when, the largest total lag seen meanwhile, when each group last had a
    lag, in seconds from the call)."""
    peak, started, deadline = 0, time.perf_counter(), time.monotonic() + timeout
    last_behind: dict[str, float] = {}
    while True:
        lags = await group_lags({"bootstrap_servers": env.bootstrap})
        now = time.perf_counter()
        last_behind.update({g: now - started for g, lag in lags.items() if lag})
        total = sum(lags.values())
        peak = max(peak, total)
        if total == 0:
            return now, peak, last_behind
        if time.monotonic() > deadline:
            raise TimeoutError(f"lag still {lags} after {timeout:.0f}s")
        await asyncio.sleep(0.5)


async def _send(producer: AIOKafkaProducer, msgs, *, rate: float | None = None) -> None:
    started = time.perf_counter()
    for i, (topic, key, value, _) in enumerate(msgs):
        if rate:
            wait = started + i / rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
        await producer.send(topic, value, key=key.encode())
    await producer.flush()


async def _baseline(env: BenchEnv, msgs) -> float:
    """Seconds for a bare loop to forward the same messages from one topic to another."""
    run_id = uuid.uuid4().hex[:8]
    t_in, t_out = f"bench.{run_id}.day", f"bench.{run_id}.day-out"
    await create_topics(env.bootstrap, [Topic(t, "k", (), (), (), "bench", partitions=6) for t in (t_in, t_out)])
    def message(i: int) -> tuple[str, str, bytes]:  # (event id, key, value), as measure_pipeline takes them
        _, key, value, event_id = msgs[i % len(msgs)]
        return event_id, key, value

    async with bare_consume_produce(env.bootstrap, in_topic=t_in, route=lambda r: [t_out]):
        result = await measure_pipeline(env, in_topic=t_in, out_topics=[t_out], make_message=message,
                                        correlate=lambda r: Envelope.from_bytes(r.value).id,
                                        n_throughput=len(msgs), n_latency=1)
    return len(msgs) / result.throughput


SERVERS = {"Kafka": kafka_cpu_seconds, "PostgreSQL": postgres_cpu_seconds}  # their CPU over the day is read, too
DATABASES = "day"  # the services' databases: <service>_day


async def run(env: BenchEnv) -> list[Figure]:
    rng = random.Random(20261201)
    n_reg, n_wo = env.n(5_000), env.n(65_000)
    msgs = day(n_reg, n_wo, rng)
    burst_rate = 10 * (5_000 + 65_000) / DAY_S   # ten times a real day's average rate, whatever the scale
    in_burst = round(burst_rate * 60)
    burst = day(round(in_burst * 5 / 70), in_burst - round(in_burst * 5 / 70), rng)
    base_s = await _baseline(env, msgs)

    await start_groups_at_end(env)
    await drop_platform_databases(env, DATABASES)
    stack = platform_stack(env, port_offset=100, database_suffix=DATABASES)  # beside bench_idle's ports
    producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap, acks="all", enable_idempotence=True, linger_ms=10,
                                max_batch_size=512 * 1024)
    await asyncio.to_thread(stack.start_all)
    try:
        await producer.start()
        pids = {n: s.process.pid for n, s in stack.services.items()}
        for n, pid in pids.items():
            profile(pid, f"henan-day-{n}")
        meters = {**{n: (lambda pid=pid: cpu_seconds(pid)) for n, pid in pids.items()}, **SERVERS}
        cpu_before = {n: used() for n, used in meters.items()}
        counting = await count_statements_from_now(env)
        async with DatabaseCpuMeter(env) as for_databases:
            busy_before, total_before = machine_ticks()
            started = time.perf_counter()
            await _send(producer, msgs)
            done, peak_lag, behind = await _drained(env, TIMEOUT_S)
            day_s = done - started
            cpu_day = {n: used() - cpu_before[n] for n, used in meters.items()}
            busy_after, total_after = machine_ticks()
            by_database_cpu = await for_databases.stop()
        database_cpu = {n: by_database_cpu.get(f"{n}_{DATABASES}", 0.0) for n in pids}
        statements: dict[str, int] = {}
        if counting:
            by_database = await statements_by_database(env)
            statements = {n: by_database.get(f"{n}_{DATABASES}", 0) for n in pids}
        burst_started = time.perf_counter()
        await _send(producer, burst, rate=burst_rate)
        burst_end = time.perf_counter()
        caught_up, burst_peak, _ = await _drained(env, TIMEOUT_S)
        peaks = {n: peak_rss_mib(s.process.pid) for n, s in stack.services.items()}
    finally:
        await producer.stop()
        await asyncio.to_thread(stack.stop_all)
    mix = f"{n_reg:,} registrations and {n_wo:,} work orders"
    cores = os.cpu_count() or 1
    busy_cores = cores * (busy_after - busy_before) / max(total_after - total_before, 1)
    return [
        Figure("Henan day: every input processed end to end, lag 0", day_s, base_s, "s", higher_is_better=False,
               note=f"{mix} put on the topics at once, six services one process each (target <= 60 s); peak lag "
                    f"{peak_lag:,} messages over every group; each group's lag last seen at: "
                    + ", ".join(f"{g} {t:.0f} s" for g, t in sorted(behind.items(), key=lambda x: -x[1]))
                    + "; baseline: a bare loop forwarding the same messages"),
        Figure("Henan day: then a minute at ten times the day's rate, lag 0 after its last input",
               caught_up - burst_end, 0.0, "s", higher_is_better=False,
               note=f"{len(burst)} inputs at {burst_rate:.1f}/s over {burst_end - burst_started:.0f} s; peak lag "
                    f"{burst_peak:,}; no baseline: the target is back to 0 within 60 s"),
        Figure("Henan day: cores busy over the day, every process on the machine", busy_cores, cores, "cores",
               note="the machine's busy share over the day (/proc/stat: every core's time but idle and iowait) times "
                    "its cores, beside the cores there are: near them, the day is the sum of its processes' CPU "
                    "(the machine sets it, not one process waiting for another)"),
        *(Figure(f"Henan day: {n} CPU over the day", cpu_s, 0.0, "CPU-s", higher_is_better=False,
                 note=f"user + system time of the {'server' if n in SERVERS else 'service'}'s processes (/proc) until "
                      f"every lag was 0; no baseline: the figure itself (two cores give {2 * day_s:.0f} CPU-s in that "
                      "time, shared by the services, Kafka, PostgreSQL and the load generator)")
          for n, cpu_s in cpu_day.items()),
        *(Figure(f"Henan day: PostgreSQL CPU for the {n} database", cpu_s, 0.0, "CPU-s", higher_is_better=False,
                 note="user + system time of the server's processes working for the service's database (its "
                      "connections' backends and autovacuum workers, as pg_stat_activity names them; /proc, read "
                      "every 0.25 s) until every lag was 0; the server's other processes (checkpointer, WAL writer, "
                      f"background writer, the bench's own connections) took "
                      f"{cpu_day['PostgreSQL'] - sum(database_cpu.values()):.1f} of its {cpu_day['PostgreSQL']:.1f} "
                      "CPU-s; no baseline: the figure itself")
          for n, cpu_s in database_cpu.items()),
        *(Figure(f"Henan day: {n} PostgreSQL statements over the day", count, 0.0, "statements",
                 higher_is_better=False,
                 note=f"in the service's database, BEGIN and COMMIT included (pg_stat_statements): "
                      f"{count / len(msgs):.2f} per registration or work order put in; no baseline: the figure itself")
          for n, count in statements.items()),
        *(Figure(f"Henan day: {n} peak resident memory", mib, 0.0, "MiB", higher_is_better=False,
                 note="VmHWM over the day and the burst; no baseline: the figure itself")
          for n, mib in peaks.items()),
    ]
