"""Risk figures, each beside a baseline from the same run:

* device readings evaluated per second by the risk service's monitoring group (consumer loop, the devices'
  windows read and written once per poll with the partition offset, out-of-range windows scored, alerts and
  clues through the outbox) beside a bare aiokafka loop consuming the same readings and producing each to
  an output topic;
* indicator events per second with alert evaluation (inspection results with a failed item, ten per entity:
  observation, re-scoring of the entity, alert evaluation; alerts and class changes through the outbox where
  the level or class moves) beside the bare loop forwarding them;
* a full re-scoring of 1,000,000 entities (``python -m risk rescore`` in its own process: time and peak
  memory) beside one ``UPDATE``
  re-stamping the same rows (the cost of writing each standing once, nothing computed).
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
import io
import json
import random
import time
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from harness import BenchEnv, Figure, bare_consume_produce, measure_pipeline, random_uscc
from jsp_common import clock, topics
from jsp_common.offsets import assign_all, move_group_to_end
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import Envelope, new_envelope
from jsp_common.topics import Topic, create_topics

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "risk"
READING = "monitoring.device.reading-recorded.v1"


def readings(run: str, devices: list[tuple[str, str]], n: int, leaking: set[str]):
    """``n`` readings round-robin over the devices, 5 s apart per device (12 per 60 s window)."""
    base = clock.now().replace(second=0, microsecond=0) - timedelta(days=1)
    out = []
    for i in range(n):
        device, uscc = devices[i % len(devices)]
        at = base + timedelta(seconds=5 * (i // len(devices)))
        value = 31.0 if device in leaking else 4.0
        env = new_envelope(type=READING, source="/bench/iot", data={
            "device_id": device, "uscc": uscc, "metric": "gas_lel", "value": value, "unit": "%LEL",
            "measured_at": at.isoformat()})
        out.append((env.id, device, env.to_bytes()))
    return out


async def _end_offsets(env: BenchEnv, topic: str) -> dict[int, int]:
    c = AIOKafkaConsumer(bootstrap_servers=env.bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        return {tp.partition: o for tp, o in (await c.end_offsets(await assign_all(c, [topic]))).items()}
    finally:
        await c.stop()


async def _send(env: BenchEnv, topic: str, msgs) -> None:
    p = AIOKafkaProducer(bootstrap_servers=env.bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                         max_batch_size=512 * 1024)
    await p.start()
    try:
        for _, key, value in msgs:
            await p.send(topic, value, key=key.encode())
        await p.flush()
    finally:
        await p.stop()


async def readings_figure(env: BenchEnv, runtime, db_url: str, run: str) -> tuple[float, float, int]:
    from risk.adapters import monitoring as mon

    n_devices, n = env.n(2000), env.n(60000)
    devices = [(f"gd-{run}-{i:05d}", random_uscc()) for i in range(n_devices)]
    leaking = {d for d, _ in random.Random(7).sample(devices, max(1, n_devices // 50))}
    async with runtime.db.transaction() as session:
        for device, uscc in devices:
            await mon.register_device(session, device_id=device, uscc=uscc, metric="gas_lel", by="bench")
    group = runtime.deps.settings.monitoring_group

    # baseline: the bare loop forwards every reading to an output topic
    out = f"bench.{run}.readings-out"
    await create_topics(env.bootstrap, [Topic(out, "device_id", (), (), (), "bench", partitions=12)])
    async with bare_consume_produce(env.bootstrap, in_topic=topics.DEVICE_READINGS, route=lambda r: [out]):
        base = await measure_pipeline(env, in_topic=topics.DEVICE_READINGS, out_topics=[out],
                                      make_message=lambda i, m=readings(run + "b", devices, n + 200, leaking): m[i],
                                      correlate=lambda r: Envelope.from_bytes(r.value).id,
                                      n_throughput=n, n_latency=100, latency_rate=200)
    await move_group_to_end(group, [topics.DEVICE_READINGS], bootstrap_servers=env.bootstrap)

    msgs = readings(run, devices, n, leaking)
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    await runtime.start()
    try:
        await runtime.assigned()
        before = await _end_offsets(env, topics.DEVICE_READINGS)
        started = time.perf_counter()
        await _send(env, topics.DEVICE_READINGS, msgs)
        end = await _end_offsets(env, topics.DEVICE_READINGS)
        wanted = {p: o - 1 for p, o in end.items() if o > before.get(p, 0)}
        while True:
            rows = await conn.fetch("SELECT partition, \"offset\" FROM stream_offsets WHERE consumer_group = $1 "
                                    "AND topic = $2", group, topics.DEVICE_READINGS)
            got = {r["partition"]: r["offset"] for r in rows}
            if all(got.get(p, -1) >= o for p, o in wanted.items()):
                break
            await asyncio.sleep(0.01)
        ours = n / (time.perf_counter() - started)
        alerts = await conn.fetchval("SELECT count(*) FROM alerts WHERE uscc = ANY($1)", [u for d, u in devices if d in leaking])
    finally:
        await runtime.stop()
        await conn.close()
    return ours, base.throughput, alerts


def inspection(run: str, entities: list[str]):
    """The i-th inspection result: one failed item (a code of its own) of one of ``entities``, in turn."""
    def build(i: int):
        uscc = entities[i % len(entities)]
        env = new_envelope(type="inspection.result.published.v1", source="/bench/inspection", data={
            "uscc": uscc, "entity_name": f"企业{i % len(entities)}", "task_id": f"T{run}-{i}", "matter_code": "food-001",
            "lead_department": "samr-410100", "departments": ["samr-410100"], "inspected_on": clock.today().isoformat(),
            "items": [{"item_code": "i1", "department": "samr-410100", "outcome": "correction_ordered"}],
            "problems_found": True, "published_at": clock.now().isoformat()})
        return env.id, uscc, env.to_bytes()
    return build


async def indicators_figure(env: BenchEnv, build, settings, run: str):
    """Inspection results, ten per entity: each re-scores its entity and evaluates its alert; the level rises
    at the first three (blue, yellow, orange: an alert raised, the previous one closed), then stays."""
    n_entities, per = env.n(500, minimum=20), 10
    n = n_entities * per
    out = f"bench.{run}.indicators-out"
    await create_topics(env.bootstrap, [Topic(out, "uscc", (), (), (), "bench", partitions=6)])
    base_entities = [random_uscc() for _ in range(n_entities)]
    async with bare_consume_produce(env.bootstrap, in_topic=topics.INSPECTION_RESULTS, route=lambda r: [out]):
        base = await measure_pipeline(env, in_topic=topics.INSPECTION_RESULTS, out_topics=[out],
                                      make_message=inspection(run + "b", base_entities),
                                      correlate=lambda r: Envelope.from_bytes(r.value).id,
                                      n_throughput=n, n_latency=100, latency_rate=100)
    await move_group_to_end(settings.indicators_group, [topics.CLUE_LIFECYCLE, topics.INSPECTION_RESULTS],
                            bootstrap_servers=env.bootstrap)
    entities = [random_uscc() for _ in range(n_entities)]
    msgs = [inspection(run, entities)(i) for i in range(n)]
    runtime = build(settings, periodic=False)
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    await runtime.start()
    try:
        await runtime.assigned()
        started = time.perf_counter()
        await _send(env, topics.INSPECTION_RESULTS, msgs)
        while await conn.fetchval("SELECT count(*) FROM observations WHERE uscc = ANY($1)", entities) < n:
            await asyncio.sleep(0.02)
        ours = n / (time.perf_counter() - started)
        alerts = await conn.fetchval("SELECT count(*) FROM alerts WHERE uscc = ANY($1)", entities)
    finally:
        await runtime.stop()
        await conn.close()
    return ours, base.throughput, n, n_entities, alerts


async def rescoring_figure(env: BenchEnv, build, settings) -> list[Figure]:
    from risk.adapters.model_rows import latest_model
    from risk.domain.scoring import assess

    n = env.n(1_000_000, minimum=1000)
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    runtime = build(settings, consume=False, periodic=False)
    try:
        await conn.execute("TRUNCATE standings, observations, alerts, alert_history, class_history")
        async with runtime.db.transaction() as session:
            version, model = await latest_model(session)
        # a mix of entities: most with one clue, some with substantiated clues or failed inspections
        patterns = [{"clues_received": 1}, {"clues_received": 2, "clues_substantiated": 1},
                    {"inspection_items_failed": 1}, {"clues_received": 3, "clues_substantiated": 2,
                                                     "inspection_items_failed": 1}]
        weights = [80, 12, 6, 2]
        assessed = [assess(model, version, p) for p in patterns]
        now = clock.now()
        rng = random.Random(11)
        standings, observations = io.StringIO(), io.StringIO()
        sw, ow = csv.writer(standings), csv.writer(observations)
        for i in range(n):
            uscc = f"X{i:017d}"
            k = rng.choices(range(len(patterns)), weights)[0]
            a = assessed[k]
            sw.writerow([uscc, a.score, a.level.value if a.level else "", json.dumps(a.counts),
                         json.dumps(a.contributions), version, a.computed_class.value,
                         json.dumps(a.class_reasons, ensure_ascii=False), a.computed_class.value])
            for code, count in patterns[k].items():
                for j in range(count):
                    ow.writerow([uscc, code, f"{uscc}:{code}:{j}", (now - timedelta(days=j + 1)).isoformat(), 1])
        await conn.copy_to_table("standings", source=io.BytesIO(standings.getvalue().encode()), format="csv",
                                 null="", columns=["uscc", "score", "level", "counts", "contributions", "model_version",
                                                   "computed_class", "class_reasons", "credit_class"])
        await conn.copy_to_table("observations", source=io.BytesIO(observations.getvalue().encode()), format="csv",
                                 columns=["uscc", "indicator", "ref", "at", "amount"])
        await conn.execute("ANALYZE standings; ANALYZE observations")
        n_obs = await conn.fetchval("SELECT count(*) FROM observations")
        del standings, observations

        started = time.perf_counter()
        await conn.execute("UPDATE standings SET scored_at = now()")  # writing every row once, nothing else
        baseline_s = time.perf_counter() - started

        # the command as an operator runs it, in its own process: its peak memory is its own
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "risk", "rescore", env={
            **os.environ, "JSP_RISK_DATABASE_URL": settings.database_url, "JSP_LOG_LEVEL": "WARNING"},
            stdout=asyncio.subprocess.PIPE)
        said = (await proc.stdout.read()).decode().strip()
        if await proc.wait() != 0:
            raise RuntimeError(f"python -m risk rescore failed: {said}")
        ours_s = time.perf_counter() - started
        peak_mib = float(said.rsplit("peak memory ", 1)[1].split()[0])  # the command's own max RSS
    finally:
        await runtime.db.dispose()
        await conn.close()
    return [
        Figure("full re-scoring: entities/s (ours: pages of 5,000, read, score, write back)", n / ours_s,
               n / baseline_s, "entities/s",
               note=f"{n} entities, {n_obs} observations: `python -m risk rescore` {ours_s:.1f} s (process start "
                    f"included), beside {baseline_s:.1f} s for one UPDATE re-stamping every standing"),
        Figure("full re-scoring: peak memory (max RSS) of the rescore process", peak_mib, 0, "MiB",
               higher_is_better=False, note="no baseline: the figure itself (the process's max RSS, imports "
                                            "and connections included)"),
    ]


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_common.migrations import upgrade

    from risk.bootstrap import build
    from risk.settings import Settings

    run_id = uuid.uuid4().hex[:6]
    settings = Settings(database_url=f"{env.postgres_url.rstrip('/')}/risk_bench", log_level="WARNING",
                        outbox_poll_interval_s=0.05)
    await upgrade(SERVICE_DIR, settings.database_url)
    for group, ts in ((settings.monitoring_group, [topics.DEVICE_READINGS]),
                      (settings.indicators_group, [topics.CLUE_LIFECYCLE, topics.INSPECTION_RESULTS]),
                      (settings.replica_group, [topics.REGISTRY_ENTITIES])):
        await move_group_to_end(group, ts, bootstrap_servers=env.bootstrap)

    runtime = build(settings, periodic=False)
    ours_r, base_r, alerts = await readings_figure(env, runtime, settings.database_url, run_id)
    ours_i, base_i, n_i, e_i, alerts_i = await indicators_figure(env, build, settings, run_id)
    figures = [
        Figure("device readings evaluated/s, readings topic → windows (+ alerts)", ours_r, base_r, "readings/s",
               note=f"{env.n(60000)} readings of {env.n(2000)} gas detectors, 2% leaking: {alerts} alerts"),
        Figure("indicator events/s with alert evaluation, inspection results → scores, alerts", ours_i, base_i,
               "events/s", note=f"{n_i} inspection results on {e_i} entities: each re-scored and its alert "
                                f"evaluated; {alerts_i} alerts raised"),
    ]
    figures += await rescoring_figure(env, build, settings)
    return figures
