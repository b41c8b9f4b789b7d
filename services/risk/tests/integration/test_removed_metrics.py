"""A metric the office removes from the model: its devices' open windows can no longer be judged, and they do not
hold up the periodic scan of quiet windows and silent devices (picked again round after round, a full batch of
them kept every live window open)."""

from __future__ import annotations

from datetime import timedelta

from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import delete, update

from jsp_common import clock
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, unique, wait_until

from risk.adapters import monitoring as mon
from risk.adapters.tables import device_windows, stream_offsets
from risk.usecases.monitoring import scan_windows

READINGS = "monitoring.device-readings.v1"
# A database of its own: the test changes the model in force, and it starts from no open window.
RISK_DATABASE = "risk_test_removed_metrics"


def on_one_partition(n: int) -> list[str]:
    """``n`` device ids whose readings share a partition (and so its event time)."""
    part, partitions = DefaultPartitioner(), list(range(12))
    first = unique("dev")
    target = part(first.encode(), partitions, partitions)
    found = [first]
    while len(found) < n:
        other = unique("dev")
        if part(other.encode(), partitions, partitions) == target:
            found.append(other)
    return found


async def send(service, device: str, uscc: str, metric: str, unit: str, value: float, at) -> None:
    await service.send(READINGS, "monitoring.device.reading-recorded.v1", {
        "device_id": device, "uscc": uscc, "metric": metric, "value": value, "unit": unit,
        "measured_at": at.isoformat()}, device)


async def window(service, device: str):
    async with service.deps.db.transaction() as s:
        return (await mon.devices_with_windows(s, [device]))[device][1]


async def model_in_force(service, *, lifts: bool) -> None:
    """The starter model, with or without its lift metric (and the lift indicator), saved as the version in force."""
    doc = (await service.client.get("/models/1", headers=OFFICE)).json()["model"]
    if not lifts:
        doc["metrics"] = [m for m in doc["metrics"] if m["metric"] != "lift_fault"]
        doc["indicators"] = [i for i in doc["indicators"] if i.get("metric") != "lift_fault"]
    r = await service.post("/models", OFFICE, {"model": doc, "note": "lifts" if lifts else "no lifts"})
    assert r.status_code in (200, 201), r.text


async def test_windows_of_a_removed_metric_do_not_block_the_scan(service):
    await model_in_force(service, lifts=True)
    async with service.deps.db.transaction() as s:  # this module's database: no window or event time of an earlier run
        await s.execute(delete(device_windows))
        await s.execute(update(stream_offsets).values(watermark=None))
    quiet, busy, lift = on_one_partition(3)
    q_uscc, b_uscc, l_uscc = new_uscc(), new_uscc(), new_uscc()
    for device, uscc, metric in ((quiet, q_uscc, "gas_lel"), (busy, b_uscc, "gas_lel"), (lift, l_uscc, "lift_fault")):
        r = await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": metric})
        assert r.status_code == 200
    t0 = clock.now().replace(second=0, microsecond=0) - timedelta(days=1)
    await send(service, lift, l_uscc, "lift_fault", "count", 1, t0 + timedelta(seconds=5))  # a fault: window open
    await send(service, quiet, q_uscc, "gas_lel", "%LEL", 30, t0 + timedelta(seconds=5))   # over 25 %LEL, then quiet
    await wait_until(lambda: window(service, lift), what="the lift's window open")
    await wait_until(lambda: window(service, quiet), what="the quiet detector's window open")

    await model_in_force(service, lifts=False)  # the office drops lifts from the model
    await send(service, busy, b_uscc, "gas_lel", "%LEL", 2, t0 + timedelta(hours=2))  # the partition moves on

    async def moved():
        w = await window(service, busy)
        return w is not None and w.start >= t0 + timedelta(hours=2)
    await wait_until(moved, what="the busy detector's reading applied")

    batch = service.deps.settings.window_scan_batch
    service.deps.settings.window_scan_batch = 1  # as many windows of the removed metric as the batch holds
    try:
        assert await scan_windows(service.deps) == 1
        standing = await service.standing(q_uscc)
        assert standing is not None and standing["counts"]["gas_over_limit"] == 1.0  # the quiet window closed
        assert await scan_windows(service.deps) == 0  # and the lift's window is not picked again and again
    finally:
        service.deps.settings.window_scan_batch = batch
    assert (await window(service, lift)).readings == 1  # kept as it was: judged again if the metric comes back
