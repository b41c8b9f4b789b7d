"""A device that goes quiet: its last window is closed and its silence reported by the periodic scan, once the
other readings of its partition have moved past them (event time), never earlier because of the wall clock."""

from __future__ import annotations

from datetime import timedelta

from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import func, select

from jsp_common import clock
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, unique, wait_until

from risk.adapters import monitoring as mon
from risk.adapters.tables import stream_offsets
from risk.usecases.monitoring import scan_windows


READINGS = "monitoring.device-readings.v1"
# A database of its own, a new one each run: a partition's event time (its watermark) only moves forward, and other
# modules' readings at the wall clock's time, or an earlier run's, would already have moved this module's partitions
# past its readings of a day ago (a reading's time counts no further than the wall clock, so no later time is left).
RISK_DATABASE = unique("risk_test_quiet_devices").replace("-", "_")
PARTITIONS = list(range(12))


def same_partition_pair() -> tuple[str, str]:
    part = DefaultPartitioner()
    first = unique("gd")
    target = part(first.encode(), PARTITIONS, PARTITIONS)
    while True:
        other = unique("gd")
        if part(other.encode(), PARTITIONS, PARTITIONS) == target:
            return first, other


async def send(service, device: str, uscc: str, value: float, at) -> None:
    await service.send(READINGS, "monitoring.device.reading-recorded.v1", {
        "device_id": device, "uscc": uscc, "metric": "gas_lel", "value": value, "unit": "%LEL",
        "measured_at": at.isoformat()}, device)


async def open_window(service, device: str):
    async with service.deps.db.transaction() as s:
        return (await mon.devices_with_windows(s, [device]))[device][1]


async def test_quiet_device_window_closed_and_silence_reported_by_event_time(service):
    quiet, busy = same_partition_pair()
    q_uscc, b_uscc = new_uscc(), new_uscc()
    for device, uscc in ((quiet, q_uscc), (busy, b_uscc)):
        r = await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": "gas_lel"})
        assert r.status_code == 200
    # A day ago (the wall clock is far ahead), after every event time this run's database has seen (none yet).
    async with service.deps.db.transaction() as session:
        assert (await session.execute(select(func.max(stream_offsets.c.watermark)))).scalar() is None
    t0 = clock.now().replace(second=0, microsecond=0) - timedelta(days=1)
    await send(service, quiet, q_uscc, 30, t0 + timedelta(seconds=5))     # over 25 %LEL, then nothing more
    await send(service, busy, b_uscc, 2, t0 + timedelta(seconds=20))
    await wait_until(lambda: open_window(service, busy), what="the busy device's window")
    await scan_windows(service.deps)
    assert await service.standing(q_uscc) is None  # its partition has not moved past the window: still open

    # the busy device's readings move its partition past the quiet window (60 s + 10 s grace) ...
    await send(service, busy, b_uscc, 2, t0 + timedelta(seconds=90))

    async def moved():
        w = await open_window(service, busy)
        return w is not None and w.start >= t0 + timedelta(seconds=60)
    await wait_until(moved, what="the busy device's later reading applied")
    await scan_windows(service.deps)
    standing = await service.standing(q_uscc)
    assert standing is not None and standing["counts"] == {"gas_over_limit": 1.0, "not_inspected_year": 1.0}
    assert standing["level"] == "blue"

    # ... and past the quiet device's heartbeat timeout (300 s): silent, reported once
    await send(service, busy, b_uscc, 2, t0 + timedelta(seconds=330))

    async def later():
        w = await open_window(service, busy)
        return w is not None and w.start >= t0 + timedelta(seconds=300)
    await wait_until(later, what="the busy device's latest reading applied")
    await scan_windows(service.deps)
    await scan_windows(service.deps)
    standing = await service.standing(q_uscc)
    assert standing["counts"] == {"gas_over_limit": 1.0, "gas_detector_silent": 1.0, "not_inspected_year": 1.0}
    assert (await open_window(service, quiet)).silent_since is not None
    assert (await service.standing(b_uscc)) is None  # the busy device's readings were all in range


async def test_a_device_whose_clock_runs_years_ahead_does_not_move_its_partition_past_the_others(service):
    """A device set years ahead shares a partition with another: the other's window is not closed, nor the device
    reported silent, because of it (the partition's event time went to the wrong clock and stayed there, so
    every window of the partition was due, and every device silent, at every scan)."""
    ahead, other = same_partition_pair()
    a_uscc, o_uscc = new_uscc(), new_uscc()
    for device, uscc in ((ahead, a_uscc), (other, o_uscc)):
        r = await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": "gas_lel"})
        assert r.status_code == 200
    soon = clock.now() + timedelta(minutes=10)        # the other device's clock is ten minutes fast
    await send(service, other, o_uscc, 30, soon)      # over the limit: its window, once closed, an observation
    await send(service, ahead, a_uscc, 2, soon + timedelta(days=3 * 365))
    await wait_until(lambda: open_window(service, ahead), what="the device ahead's reading applied")
    await scan_windows(service.deps)
    assert await service.standing(o_uscc) is None
    assert (await open_window(service, other)).silent_since is None
