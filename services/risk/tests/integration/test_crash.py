"""kill -9 of the risk service while it evaluates device readings loses no window and counts no reading twice.

Cold-chain thermometers report sustained excursions: a 30-minute window is out of range with three readings
above -18 degC, not with two. Each device alternates windows of two and of three warm readings, so a reading
lost in the crash would drop an alert and a reading applied twice would raise one that must not exist. The
service runs as its own process (as `make run` runs it) and is killed with SIGKILL mid-stream, twice, and
its Kafka offsets are rewound as if no commit since had reached the broker: what it applied comes again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer

from jsp_common import clock
from jsp_common.offsets import assign_all, move_group_to_end
from jsp_common.db import asyncpg_dsn
from jsp_common.envelope import new_envelope
from jsp_common.migrations import upgrade
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import free_port, local_stack_module, unique, unique_database_url, wait_until

from risk import subscriptions


ROOT = Path(__file__).resolve().parents[4]
SERVICE_DIR = Path(__file__).resolve().parents[2]
READINGS = "monitoring.device-readings.v1"
DEVICES, WINDOWS = 12, 6


def plan(run: str):
    """Readings per device: windows alternating 3 and 2 warm readings (plus a cold one), then one reading that
    closes the last window. Returns the messages in time order and the number of windows out of range."""
    start = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    devices = [(f"cc-{run}-{d}", new_uscc()) for d in range(DEVICES)]
    messages, expected = [], 0
    for w in range(WINDOWS):
        warm = 3 if w % 2 == 0 else 2
        expected += DEVICES if warm == 3 else 0
        for r in range(4):
            at = start + timedelta(minutes=30 * w + 5 * r + 1)
            for device, uscc in devices:
                value = -12.0 if r < warm else -22.0
                messages.append((device, uscc, value, at))
    for device, uscc in devices:
        messages.append((device, uscc, -22.0, start + timedelta(minutes=30 * WINDOWS + 1)))
    return devices, messages, expected, start + timedelta(minutes=30 * WINDOWS)


async def test_kill_9_loses_and_repeats_nothing(settings, kafka_topics, raw_producer):
    url = unique_database_url(settings, "risk_crash")
    await upgrade(SERVICE_DIR, url)
    group = "risk.monitoring"
    await move_group_to_end(group, subscriptions.MONITORING_TOPICS, bootstrap_servers=settings.kafka_bootstrap_servers)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    devices, messages, expected, last_window = plan(unique("k")[-8:])
    for device, uscc in devices:
        await conn.execute("INSERT INTO devices (device_id, uscc, metric, registered_by) VALUES ($1, $2, "
                           "'cold_chain_temp', 'test')", device, uscc)

    run = local_stack_module(ROOT)
    stack = run.Stack(["risk"], ports={"risk": free_port()}, log_dir=ROOT / ".local" / "crash-logs",
                      per_service={"risk": {"JSP_RISK_DATABASE_URL": url, "JSP_OUTBOX_POLL_INTERVAL_S": "0.1",
                                            "JSP_CONSUMER_MAX_RECORDS": "7",  # small polls: many commits to crash between
                                            "JSP_RISK_WINDOW_SCAN_INTERVAL_S": "3600"}})

    async def send(chunk) -> None:
        for device, uscc, value, at in chunk:
            env = new_envelope(type="monitoring.device.reading-recorded.v1", source="/test/iot", data={
                "device_id": device, "uscc": uscc, "metric": "cold_chain_temp", "value": value, "unit": "degC",
                "measured_at": at.isoformat()})
            await raw_producer.send(READINGS, env.to_bytes(), key=device.encode())
        await raw_producer.flush()

    third = len(messages) // 3
    rewind = await _end_offsets(settings.kafka_bootstrap_servers)  # where this test's readings begin
    try:
        for chunk in (messages[:third], messages[third:2 * third]):
            before = await _applied(conn, group)
            await asyncio.to_thread(stack.start, "risk")
            await send(chunk)
            # kill as soon as part of the chunk is applied: windows open, offsets committed or not
            await wait_until(lambda b=before: _progress(conn, group, b), timeout=60, interval=0.01,
                             what="some readings applied")
            stack.services["risk"].process.kill()
            stack.services["risk"].process.wait()
            stack.services["risk"].process = None
            # the worst case: none of the offset commits since the test began reached Kafka (a commit can fail
            # after the database committed): everything applied since is delivered again on restart
            await _commit(settings.kafka_bootstrap_servers, group, rewind)
        await asyncio.to_thread(stack.start, "risk")
        await send(messages[2 * third:])

        async def out_of_range() -> int:
            return await conn.fetchval("SELECT count(*) FROM observations WHERE indicator = 'cold_chain_excursion' "
                                       "AND uscc = ANY($1)", [u for _, u in devices])
        # every reading applied: each device's windows all closed
        await wait_until(lambda: _all_closed(conn, devices, last_window), timeout=90, what="every window closed")
        assert await out_of_range() == expected
        # the alerts follow from those observations: 3 windows x 10 points = 30: one blue alert per entity
        alerts = await conn.fetch("SELECT uscc, level FROM alerts WHERE uscc = ANY($1)", [u for _, u in devices])
        assert sorted(a["level"] for a in alerts) == ["blue"] * DEVICES
    finally:
        stack.stop_all()
        await conn.close()


async def _end_offsets(bootstrap: str) -> dict:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        return await c.end_offsets(await assign_all(c, [READINGS]))
    finally:
        await c.stop()


async def _commit(bootstrap: str, group: str, offsets: dict) -> None:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        await assign_all(c, [READINGS])
        # the killed member stays in the group until its session times out: commit once it is gone
        await wait_until(lambda: _try_commit(c, offsets), timeout=60, interval=0.5, what="the group empty")
    finally:
        await c.stop()


async def _try_commit(c, offsets) -> bool:
    try:
        await c.commit(offsets)
        return True
    except Exception:  # noqa: BLE001 - the dead member's session has not expired yet
        return False


async def _applied(conn, group: str) -> int:
    """Sum of the partitions' last applied offsets: rises as readings are applied."""
    return await conn.fetchval("SELECT coalesce(sum(\"offset\" + 1), 0) FROM stream_offsets WHERE "
                               "consumer_group = $1", group) or 0


async def _progress(conn, group: str, before: int) -> bool:
    return await _applied(conn, group) > before


async def _all_closed(conn, devices, last_window) -> bool:
    """Every device's open window is the last one: every reading has been applied."""
    rows = await conn.fetch("SELECT start FROM device_windows WHERE device_id = ANY($1)", [d for d, _ in devices])
    return len(rows) == len(devices) and all(r["start"] == last_window for r in rows)
