"""Replay figures: read models rebuilt from the log. 1,000,000 entity records are put on the compacted
``registry.entities.v1``; ``python -m clues replay-replica`` (in its own process, as an operator runs it) reads
the topic from its beginning and writes every record into an empty replica (the clues service's, with its name
bigrams), and ``python -m dashboard rebuild`` rebuilds the dashboard's read model from every topic it reads
(those records, the others empty), each beside a bare reader of the same topic in the same run (aiokafka,
outside any group, nothing parsed or written).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from harness import BenchEnv, Figure, random_uscc
from jsp_common import clock, topics
from jsp_common.offsets import read_to_end
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import EntityChanged
from jsp_common.migrations import upgrade

SERVICES = Path(__file__).resolve().parents[1] / "services"
NAMES = ("好味道", "老街坊", "金水河", "中原红", "豫香园", "黄河鲤", "嵩山", "二七", "绿城", "商都")


def _template() -> tuple[bytes, bytes]:
    """One record's envelope split around its USCC and name, to put a million of them on the topic quickly."""
    now = clock.now()
    record = EntityChanged(
        uscc="USCC", name="NAME", entity_type="有限责任公司", address="河南省郑州市金水区农业路18号",
        division_code="410105", city_code="410100", industry_code="6210", status="active",
        established_on="2020-05-01", responsible_departments=["samr-410100", "nhc-410100"], domains=["food"],
        assignment_state="assigned", assignment_source="rules", record_version=1, last_changed_at=now,
        updated_at=now)
    raw = new_envelope(type="registry.entity.changed.v1", source="/bench/registry", subject="USCC",
                       data=record.model_dump(mode="json")).to_bytes()
    env = json.loads(raw)
    env["id"] = "ID"
    head, _, rest = json.dumps(env, ensure_ascii=False).partition('"ID"')
    return head.encode(), rest.encode()


async def _fill(env: BenchEnv, n: int) -> None:
    head, rest = _template()
    p = AIOKafkaProducer(bootstrap_servers=env.bootstrap, acks="all", enable_idempotence=True, linger_ms=20,
                         max_batch_size=1024 * 1024, compression_type=None)
    await p.start()
    try:
        for i in range(n):
            uscc = random_uscc()
            name = f"郑州{NAMES[i % len(NAMES)]}{i}餐饮有限公司"
            value = (head + f'"bench-{i}"'.encode() + rest).replace(b'"USCC"', f'"{uscc}"'.encode()) \
                .replace(b'"NAME"', json.dumps(name, ensure_ascii=False).encode())
            await p.send(topics.REGISTRY_ENTITIES, value, key=uscc.encode())
        await p.flush()
    finally:
        await p.stop()


async def _bare_read(env: BenchEnv) -> tuple[int, float]:
    started, n = time.perf_counter(), 0
    async for records in read_to_end([topics.REGISTRY_ENTITIES], bootstrap_servers=env.bootstrap):
        n += len(records)
    return n, time.perf_counter() - started


async def run(env: BenchEnv) -> list[Figure]:
    n = env.n(1_000_000)
    _check_template()
    await _fill(env, n)
    read, read_s = await _bare_read(env)
    proc, _ = await _command(env, "clues", "replay-replica")
    m = re.search(r"([\d,]+) records applied, ([\d,]+) other messages skipped, in ([\d.]+) s", proc.stdout)
    applied, seconds = int(m.group(1).replace(",", "")), float(m.group(3))
    rebuilt, rebuild_s = await _dashboard_rebuild(env)
    return [Figure("replay: directory replica rebuilt from registry.entities.v1", applied / seconds, read / read_s,
                   "entities/s", True,
                   f"{applied:,} records into an empty clues replica (with its name bigrams) in {seconds:.1f} s, "
                   f"`python -m clues replay-replica`; baseline: a bare reader of the same topic ({read:,} "
                   f"messages in {read_s:.1f} s, nothing parsed or written)"),
            Figure("replay: the dashboard's read model rebuilt from every topic it reads", rebuilt / rebuild_s,
                   read / read_s, "entities/s", True,
                   f"{rebuilt:,} entities in {rebuild_s:.1f} s with process start, `python -m dashboard rebuild` "
                   f"(a copy of the read model filled and put in place, the tally triggers on every row); "
                   f"baseline: the same bare reader")]


async def _dashboard_rebuild(env: BenchEnv) -> tuple[int, float]:
    """``python -m dashboard rebuild`` over the same topic (and every other topic it reads, empty here)."""
    proc, seconds = await _command(env, "dashboard", "rebuild")
    return int(re.search(r"\bentities (\d+)", proc.stdout).group(1)), seconds


async def _command(env: BenchEnv, service: str, command: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m <service> <command>`` in its own process, as an operator runs it, on a database of the bench
    migrated first; with its time, process start included."""
    db_url = f"{env.postgres_url.rstrip('/')}/{service}_replay_bench"
    await upgrade(SERVICES / service, db_url)
    started = time.perf_counter()
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", service, command], check=True,
                                   capture_output=True, text=True,
                                   env={**os.environ, f"JSP_{service.upper()}_DATABASE_URL": db_url,
                                        "JSP_KAFKA_BOOTSTRAP_SERVERS": env.bootstrap, "JSP_LOG_LEVEL": "WARNING"})
    return proc, time.perf_counter() - started


def _check_template() -> None:
    """The quick records parse as the contract says (a bench that filled the topic with junk would measure
    skipping it)."""
    head, rest = _template()
    raw = (head + b'"bench-check"' + rest).replace(b'"USCC"', f'"{random_uscc()}"'.encode()).replace(b'"NAME"', b'"x"')
    EntityChanged.model_validate(json.loads(raw)["data"])
