"""Scaling out one consumer group: the registry's intake (group on market.registrations.v1, 6 partitions) with
one replica and then two, each replica its own process as a Deployment's pods are. Figures: registrations/s
with two replicas beside one (ideal ratio 2.0), and CPU per registration of the replicas (from /proc), which
shows where the 2-core machine stops the second replica from adding its share. These per-replica rates are
what docs/capacity.md plans with (deploy/k8s/capacity.yaml, per_replica)."""

from __future__ import annotations

import contextlib

from bench_registry import BENCH_SERVICE, INTAKE, _measure, _skip_backlog, correlate_ours
from harness import BenchEnv, Figure, cpu_seconds, service_process
from jsp_common.topics import by_name

GROUP = "registry.intake-scaling"


async def _replicas(env: BenchEnv, settings, count: int, n: int) -> tuple[float, float]:
    """Throughput (events/s) and CPU µs per event of ``count`` replicas of the intake."""
    await _skip_backlog(env, GROUP)
    async with contextlib.AsyncExitStack() as stack:
        procs = [await stack.enter_async_context(service_process(
            "bench/service_consumers.py", "registry", settings.database_url, BENCH_SERVICE, GROUP)) for _ in range(count)]
        before = sum(cpu_seconds(p.pid) for p in procs)
        result = await _measure(env, {}, correlate_ours, n)
        used = sum(cpu_seconds(p.pid) for p in procs) - before
    return result.throughput, used / (n + 100 + 300) * 1e6  # the warm-up and paced messages count too


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_common.migrations import upgrade
    from registry.__main__ import SERVICE_DIR
    from registry.settings import Settings

    settings = Settings(database_url=f"{env.postgres_url.rstrip('/')}/registry_scaling", log_level="WARNING",
                        outbox_poll_interval_s=0.05, service_name=BENCH_SERVICE, intake_group=GROUP)
    await upgrade(SERVICE_DIR, settings.database_url)
    n = env.n(5000)
    one, cpu_one = await _replicas(env, settings, 1, n)
    two, cpu_two = await _replicas(env, settings, 2, n)
    partitions = by_name(INTAKE).partitions
    return [
        Figure("registry.intake: registrations/s, 2 replicas vs 1", two, one, "events/s",
               note=f"{n} registrations on {partitions} partitions; ideal ratio 2.0 (each replica its own process)"),
        Figure("registry.intake: replicas' CPU per registration, 2 replicas vs 1", cpu_two, cpu_one, "µs",
               higher_is_better=False, note="user + system time of the replica processes, from /proc"),
    ]
