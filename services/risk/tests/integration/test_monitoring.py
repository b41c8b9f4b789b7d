"""Device readings: a gas concentration over the limit becomes an observation, an alert and a clue on the clues
service's intake; bad input (unknown device, wrong unit, overlapping model thresholds) is refused with its
reason and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from jsp_common import clock
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique


READINGS = "monitoring.device-readings.v1"
DLQ = "monitoring.device-readings.v1.dlq.risk.monitoring"
ALERTS = "risk.alerts.v1"
SUBMISSIONS = "clues.submissions.v1"
MOHURD = "mohurd-410100"
SAMR = "samr-410100"


def reading(device: str, uscc: str, value: float, at, *, unit: str = "%LEL", metric: str = "gas_lel") -> dict:
    return {"device_id": device, "uscc": uscc, "metric": metric, "value": value, "unit": unit,
            "measured_at": at.isoformat()}


async def send_reading(service, data: dict) -> str:
    return await service.send(READINGS, "monitoring.device.reading-recorded.v1", data, data["device_id"])


async def test_gas_over_the_limit_raises_an_alert_and_a_clue(service, bootstrap):
    uscc, device = new_uscc(), unique("gd")
    await service.entity(uscc, [SAMR], name="老张烧烤店")  # a restaurant: the market regulator supervises it
    r = await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": "gas_lel"})
    assert r.status_code == 200 and r.json()["uscc"] == uscc
    assert (await service.client.put(f"/devices/{device}", headers=dept(MOHURD),
                                     json={"uscc": uscc, "metric": "gas_lel"})).status_code == 403
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    async with tail(bootstrap, ALERTS, SUBMISSIONS, f"dept.{MOHURD}.alerts.v1", f"dept.{SAMR}.alerts.v1") as t:
        # a minute of readings, a leak peaking at 62 %LEL, then the next minute's first reading closes the window
        for s, v in ((0, 8), (10, 31), (20, 62), (30, 55), (40, 12)):
            await send_reading(service, reading(device, uscc, v, start + timedelta(seconds=s)))
        await send_reading(service, reading(device, uscc, 3, start + timedelta(seconds=65)))
        clue = (await t.wait_for(of_type("clues.clue.submitted.v1", uscc=uscc)))[0]
        alert = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"), count=3)
    data = clue.envelope.data
    assert data["channel"] == "risk" and data["domain"] == "gas" and data["urgency"] == "urgent"
    assert data["business_name"] == "老张烧烤店" and "62%LEL" in data["content"] and device in data["content"]
    assert clue.key == data["channel_ref"] and data["channel_ref"].startswith(f"device:{device}:")
    # the gas authority of the entity's city is alerted beside its responsible department (the model's metric says so)
    assert {m.topic for m in alert} == {ALERTS, f"dept.{MOHURD}.alerts.v1", f"dept.{SAMR}.alerts.v1"}
    assert alert[0].envelope.data["departments"] == [MOHURD, SAMR]
    assert alert[0].envelope.data["score"] == 30
    standing = await service.standing(uscc)
    assert standing["counts"] == {"gas_over_limit": 1.0, "not_inspected_year": 1.0}
    # one clue and one observation per window, however many readings were over the limit
    clues = [m for m in t.received if m.is_envelope() and m.envelope.type == "clues.clue.submitted.v1"
             and m.envelope.data["uscc"] == uscc]
    assert len(clues) == 1


async def test_a_leak_at_a_business_already_on_red_alert_reaches_the_gas_authority(service, bootstrap):
    """A restaurant on red alert for its failed inspection items and clues has a gas leak: the alert stood (the
    level held), the gas authority was told nothing and could not open it (404). It now takes the alert in."""
    uscc, device = new_uscc(), unique("gd")
    await service.entity(uscc, [SAMR], name="老王饭店")
    await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": "gas_lel"})
    async with tail(bootstrap, ALERTS, f"dept.{MOHURD}.alerts.v1") as t:
        # three failed items (60) and two substantiated clues (34): 94 -> red
        await service.inspection(uscc, [SAMR], ["correction_ordered"] * 3, unique("T"))
        for _ in range(2):
            await service.clue_handled(uscc, unique("CL"), SAMR)
        [red] = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="red"))
        assert red.envelope.data["departments"] == [SAMR]
        start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
        for s, v in ((0, 8), (20, 62), (65, 3)):  # a leak at 62 %LEL, the window closed by the next minute's
            await send_reading(service, reading(device, uscc, v, start + timedelta(seconds=s)))
        [added] = await t.wait_for(lambda m: m.topic == f"dept.{MOHURD}.alerts.v1" and of_type(
            "risk.alert.departments-added.v1", uscc=uscc)(m))
    data = added.envelope.data
    assert (data["alert_id"], data["added"], data["departments"]) == (red.envelope.data["alert_id"], [MOHURD],
                                                                       [MOHURD, SAMR])
    seen = await service.client.get(f"/alerts/{data['alert_id']}", headers=dept(MOHURD))
    assert seen.status_code == 200 and seen.json()["level"] == "red", seen.text


async def test_a_device_whose_clock_is_wrong_still_raises_its_clue(service, bootstrap):
    """A detector sending Beijing time marked UTC (eight hours ahead): its leak is a clue received now (a clue may
    not be received in the future) and an observation of now, and its later readings are taken in as before."""
    uscc, device = new_uscc(), unique("gd")
    await service.entity(uscc, [SAMR], name="老李火锅店")
    await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": "gas_lel"})
    ahead = clock.now().replace(second=0, microsecond=0) + timedelta(hours=8)
    async with tail(bootstrap, SUBMISSIONS) as t:
        for s, v in ((0, 40), (10, 70), (65, 3)):
            await send_reading(service, reading(device, uscc, v, ahead + timedelta(seconds=s)))
        clue = (await t.wait_for(of_type("clues.clue.submitted.v1", uscc=uscc)))[0].envelope.data
    assert abs(datetime.fromisoformat(clue["received_at"]) - clock.now()) < timedelta(minutes=5)
    assert "70%LEL" in clue["content"]
    # and its window counts against the entity now, not eight hours on (the score counts nothing in the future)
    assert (await service.standing(uscc))["counts"].get("gas_over_limit") == 1.0


async def test_registering_a_device_again_unchanged_keeps_its_open_window(service):
    """The office sends the same registration again (a retried call, a sync job) mid-excursion: the window keeps the
    readings beyond the limit counted so far, so the sustained excursion is still one observation. A registration
    to another entity or metric starts afresh."""
    from risk.adapters import monitoring as mon
    from jsp_testkit.testing import wait_until

    uscc, device = new_uscc(), unique("cc")
    body = {"uscc": uscc, "metric": "cold_chain_temp"}
    assert (await service.client.put(f"/devices/{device}", headers=OFFICE, json=body)).status_code == 200
    now = clock.now()
    start = datetime.fromtimestamp((now.timestamp() - 3600) // 1800 * 1800, tz=now.tzinfo)  # a window an hour ago

    async def window():
        async with service.deps.db.transaction() as s:
            return (await mon.devices_with_windows(s, [device]))[device][1]

    async def breaches(n: int):
        w = await window()
        return w if w is not None and w.breaches == n else None

    def cold(value: float, seconds: int) -> dict:
        return reading(device, uscc, value, start + timedelta(seconds=seconds), unit="degC", metric="cold_chain_temp")

    for s in (60, 120):  # two of the three readings beyond -18 °C the metric needs in one window
        await send_reading(service, cold(-10, s))
    await wait_until(lambda: breaches(2), what="two excursions counted in the open window")
    assert (await service.client.put(f"/devices/{device}", headers=OFFICE, json=body)).status_code == 200
    kept = await window()
    assert kept is not None and (kept.start, kept.readings, kept.breaches) == (start, 2, 2)

    await send_reading(service, cold(-9, 180))     # the third
    await send_reading(service, cold(-25, 1810))   # the next window's first reading closes this one

    async def observed():
        st = await service.standing(uscc)
        return st if st and st["counts"].get("cold_chain_excursion") else None
    assert (await wait_until(observed, what="the excursion observed"))["counts"]["cold_chain_excursion"] == 1.0

    other = {"uscc": new_uscc(), "metric": "cold_chain_temp"}  # moved to another business: a fresh start
    assert (await service.client.put(f"/devices/{device}", headers=OFFICE, json=other)).status_code == 200
    assert await window() is None


async def test_a_reading_sent_again_under_its_id_counts_once(service):
    """A platform resends a cold-chain reading of -10 °C after a timeout, twice: the same event, under its id, at
    later offsets. It is one reading beyond -18 °C, not the three in one window that make an excursion: the window
    closes in range and nothing is observed (sent three times, it raised an out-of-range observation)."""
    from jsp_common.envelope import new_envelope
    from risk.adapters import monitoring as mon
    from jsp_testkit.testing import wait_until

    uscc, device = new_uscc(), unique("cc")
    assert (await service.client.put(f"/devices/{device}", headers=OFFICE,
                                     json={"uscc": uscc, "metric": "cold_chain_temp"})).status_code == 200
    now = clock.now()
    start = datetime.fromtimestamp((now.timestamp() - 3600) // 1800 * 1800, tz=now.tzinfo)  # a window an hour ago

    def cold(value: float, seconds: int) -> dict:
        return reading(device, uscc, value, start + timedelta(seconds=seconds), unit="degC", metric="cold_chain_temp")

    async def window(seen_at: datetime):
        async with service.deps.db.transaction() as s:
            w = (await mon.devices_with_windows(s, [device]))[device][1]
        return w if w is not None and w.last_seen == seen_at else None

    resent = new_envelope(type="monitoring.device.reading-recorded.v1", source="/test", data=cold(-10, 60))
    for _ in range(3):
        await service.producer.send_and_wait(READINGS, resent.to_bytes(), key=device.encode())
    await send_reading(service, cold(-25, 120))  # a reading of its own after the copies
    w = await wait_until(lambda: window(start + timedelta(seconds=120)), what="the readings applied")
    assert (w.readings, w.breaches) == (2, 1)

    await send_reading(service, cold(-25, 1810))  # the next window's first reading closes this one, in range
    await wait_until(lambda: window(start + timedelta(seconds=1810)), what="the window closed")
    assert await service.standing(uscc) is None  # nothing observed about the entity


async def test_unknown_device_and_wrong_unit_go_to_the_dead_letter_topic(service, bootstrap):
    uscc, device = new_uscc(), unique("gd")
    await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": "gas_lel"})
    now = clock.now()
    async with tail(bootstrap, DLQ) as t:
        await send_reading(service, reading("no-such-device", uscc, 90, now))
        await send_reading(service, reading(device, uscc, 90, now, unit="ppm"))
        await send_reading(service, reading(device, new_uscc(), 90, now))
        await send_reading(service, reading(device, uscc, 90, now, metric="cold_chain_temp", unit="degC"))
        dead = await t.wait_for(lambda m: True, count=4)
    reasons = [m.headers["dlq.reason"].decode() for m in dead]
    assert reasons[0].startswith("unknown device no-such-device")
    assert reasons[1] == "unit 'ppm' does not match metric gas_lel, measured in '%LEL'"
    assert "is registered to" in reasons[2] and "measures gas_lel, not cold_chain_temp" in reasons[3]
    assert all(m.headers["dlq.consumer.group"] == b"risk.monitoring" for m in dead)
    from risk.adapters import monitoring as mon
    async with service.deps.db.transaction() as s:
        assert await mon.devices_with_windows(s, [device]) == {device: (await mon.device(s, device), None)}
    assert await service.standing(uscc) is None


async def test_a_reading_not_keyed_by_its_device_goes_to_the_dead_letter_topic(service, bootstrap):
    """A gas reading sent without a key (kcat without -K) or under another key lands on any partition, where it
    would be applied out of order with the device's other readings: an 80 %LEL leak applied after a later 3 %LEL
    reading was counted as late and lost unseen. It is refused with the reason, and changes nothing."""
    from risk.adapters import monitoring as mon

    uscc, device = new_uscc(), unique("gd")
    await service.client.put(f"/devices/{device}", headers=OFFICE, json={"uscc": uscc, "metric": "gas_lel"})
    now = clock.now()
    async with tail(bootstrap, DLQ) as t:
        await service.send(READINGS, "monitoring.device.reading-recorded.v1", reading(device, uscc, 80, now), None)
        await service.send(READINGS, "monitoring.device.reading-recorded.v1", reading(device, uscc, 80, now), uscc)
        dead = await t.wait_for(lambda m: device in m.headers["dlq.reason"].decode(), count=2)
    reasons = {m.key: m.headers["dlq.reason"].decode() for m in dead}  # each with its key as it arrived
    assert set(reasons) == {None, uscc}
    assert reasons[None].startswith(f"reading of device {device} sent with no key: the key must be the device_id")
    assert reasons[uscc].startswith(f"reading of device {device} sent with key '{uscc}': the key must be the device_id")
    async with service.deps.db.transaction() as s:
        assert (await mon.devices_with_windows(s, [device]))[device][1] is None
    assert await service.standing(uscc) is None


async def test_overlapping_thresholds_are_refused_and_change_nothing(service):
    before = (await service.client.get("/models/current", headers=OFFICE)).json()
    doc = before["model"]
    doc["levels"][2]["min_score"] = 50  # orange from 50 while yellow runs to 60
    for path in ("/models", "/models/dry-run"):
        body = {"model": doc} if path == "/models" else doc
        r = await service.post(path, OFFICE, body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert "the levels overlap: orange starts at 50 but yellow runs to 60" in r.json()["detail"]
    after = (await service.client.get("/models/current", headers=OFFICE)).json()
    assert after["version"] == before["version"]
    assert (await service.post("/models", dept(MOHURD), {"model": before["model"]})).status_code == 403


async def test_dry_run_counts_entities_per_level_under_a_proposal(service):
    uscc = new_uscc()
    await service.inspection(uscc, ["samr-410100"], ["correction_ordered", "correction_ordered"], unique("T"))
    from jsp_testkit.testing import wait_until
    await wait_until(lambda: service.standing(uscc), what="the entity scored")
    doc = (await service.client.get("/models/current", headers=OFFICE)).json()["model"]
    doc["indicators"] = [{**i, "weight": i["weight"] * 3} if i["code"] == "inspection_items_failed" else i
                         for i in doc["indicators"]]
    r = await service.post("/models/dry-run", OFFICE, doc)
    assert r.status_code == 200
    levels = {row["level"]: row for row in r.json()["levels"]}
    assert set(levels) == {"none", "blue", "yellow", "orange", "red"}
    assert sum(row["proposed"] for row in levels.values()) == sum(row["current"] for row in levels.values())
    # this entity moves from yellow (40) to red (120): the proposal holds one more red entity than now, at least
    assert levels["red"]["proposed"] >= levels["red"]["current"] + 1
