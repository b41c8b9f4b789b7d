"""Foundation figures: the messaging core (consumer loop + inbox + outbox relay) beside a bare aiokafka
consume-and-produce loop, each in its own process (``bench/core_loop.py``, ``bench/bare_loop.py``) with its CPU per
message read from /proc: passing events through, and refusing messages that are not events (the core puts them on
its dead-letter topic, the bare loop forwards them); asyncpg COPY (what the services use for bulk loads) beside
``psql \\copy`` of the same generated file."""

from __future__ import annotations

import asyncio
import csv
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import asyncpg

from harness import (CORE_GROUP, BenchEnv, Figure, PingSent, PipelineResult, core_alone, measure_pipeline,
                     psql_copy, service_process)
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import Envelope, new_envelope
from jsp_common.topics import Topic, create_topics, dead_letter_topic


def messages(out_topic: str):
    def message(i: int) -> tuple[str, str, bytes, list[tuple[str, bytes]]]:
        env = new_envelope(type=PingSent.event_type, source="/bench", data={"n": i, "body": "x" * 200})
        return env.id, f"k{i % 64}", env.to_bytes(), [("bench-route", out_topic.encode())]
    return message


def malformed(out_topic: str):
    """Messages that are not events (a line system sending garbage): the core dead-letters each, the bare loop
    forwards each."""
    def message(i: int) -> tuple[str, str, bytes, list[tuple[str, bytes]]]:
        mark = uuid.uuid4().hex
        return mark, f"k{i % 64}", f"not an event {mark} {'x' * 200}".encode(), [("bench-route", out_topic.encode())]
    return message


def correlate_malformed(record) -> str | None:
    return record.value.split(b" ", 4)[3].decode()  # dead letters keep the original bytes


def correlate_baseline(record) -> str | None:
    return Envelope.from_bytes(record.value).id


def correlate_ours(record) -> str | None:
    return Envelope.from_bytes(record.value).subject  # the core alone names the input event


async def run(env: BenchEnv) -> list[Figure]:
    run_id = uuid.uuid4().hex[:8]
    t_in, t_base, t_ours = f"bench.{run_id}.in", f"bench.{run_id}.base", f"bench.{run_id}.ours"
    t_bad, t_bad_base = f"bench.{run_id}.bad", f"bench.{run_id}.bad-base"
    t_dlq = dead_letter_topic(t_bad, CORE_GROUP)
    await create_topics(env.bootstrap, [Topic(t, "k", (), (), (), "bench", partitions=3)
                                        for t in (t_in, t_base, t_ours, t_bad, t_bad_base)]
                        + [Topic(dlq, "k", (), (), (), "bench", partitions=1)
                           for dlq in (dead_letter_topic(t_in, CORE_GROUP), t_dlq)])
    n = env.n(20000)

    ours, base = await both_loops(env, t_in, n, messages, outs=(t_ours, t_base),
                                  correlates=(correlate_ours, correlate_baseline))
    bad_ours, bad_base = await both_loops(env, t_bad, env.n(5000), malformed, outs=(t_dlq, t_bad_base),
                                          correlates=(correlate_malformed, correlate_malformed))

    copy_ours, copy_base, rows = await copy_figures(env)
    return [
        Figure("events/s through consumer loop + inbox + outbox relay", ours.throughput, base.throughput, "events/s",
               note="each pipeline in its own process"),
        Figure("p50 latency, input topic → output topic", ours.p50_ms, base.p50_ms, "ms", higher_is_better=False),
        Figure("p99 latency, input topic → output topic", ours.p99_ms, base.p99_ms, "ms", higher_is_better=False),
        Figure("CPU per event, the messaging core's process alone", ours.cpu_us, base.cpu_us, "µs",
               higher_is_better=False, note="user + system time from /proc over the throughput phase; baseline: the "
                                            "bare loop's process"),
        Figure("messages/s refused, not an event → dead-letter topic", bad_ours.throughput, bad_base.throughput,
               "messages/s", note="baseline: the bare loop forwarding the same messages"),
        Figure("CPU per refused message, the messaging core's process alone", bad_ours.cpu_us, bad_base.cpu_us, "µs",
               higher_is_better=False),
        Figure(f"rows/s, asyncpg COPY of {rows} generated rows vs psql \\copy", copy_ours, copy_base, "rows/s"),
    ]


async def both_loops(env: BenchEnv, in_topic: str, n: int, make: Callable, *, outs: tuple[str, str],
                     correlates: tuple[Callable, Callable]) -> tuple[PipelineResult, PipelineResult]:
    """The messaging core alone and the bare loop (its baseline), each in its own process, each driven with ``n``
    messages made by ``make(its output topic)`` (the bare loop forwards to the topic a message names) and read
    where it puts them: (ours, baseline)."""
    (ours_out, base_out), (ours_correlate, base_correlate) = outs, correlates
    async with service_process("bench/bare_loop.py", in_topic) as proc:
        base = await measure_pipeline(env, in_topic=in_topic, out_topics=[base_out], make_message=make(base_out),
                                      correlate=base_correlate, n_throughput=n, cpu_pid=proc.pid)
    async with core_alone(env, in_topic, "bench_core") as proc:
        ours = await measure_pipeline(env, in_topic=in_topic, out_topics=[ours_out], make_message=make(ours_out),
                                      correlate=ours_correlate, n_throughput=n, cpu_pid=proc.pid)
    return ours, base


async def copy_figures(env: BenchEnv) -> tuple[float, float, int]:
    rows = env.n(500_000)
    db_url = f"{env.postgres_url}/bench_core"
    ddl = "CREATE UNLOGGED TABLE IF NOT EXISTS {t} (id bigint, uscc text, name text, address text, division text)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "uscc", "name", "address", "division"])
            for i in range(rows):
                w.writerow([i, f"91410100MA{i:07d}X", f"河南某某食品有限公司{i}", f"郑州市金水区花园路{i}号", "410105"])
        conn = await asyncpg.connect(asyncpg_dsn(db_url))
        try:
            for t in ("copy_base", "copy_ours"):
                await conn.execute(f"DROP TABLE IF EXISTS {t}")
                await conn.execute(ddl.format(t=t))
            base_s = await asyncio.to_thread(psql_copy, db_url, "copy_base",
                                             ["id", "uscc", "name", "address", "division"], path)
            started = time.perf_counter()
            with path.open("rb") as f:
                await conn.copy_to_table("copy_ours", source=f, format="csv", header=True)
            ours_s = time.perf_counter() - started
        finally:
            await conn.close()
    return rows / ours_s, rows / base_s, rows
