"""Off-site monitoring end to end: a gas detector in a registered restaurant reports a leak; the risk service
raises an alert for the responsible departments and a clue that the clues service takes in and dispatches."""

from __future__ import annotations

from datetime import timedelta

from jsp_common import clock
from jsp_common.envelope import new_envelope
from jsp_testkit.testing import of_type, tail, unique, wait_until

from jsp_testkit import samples


def restaurant_in_zhengzhou() -> dict:
    data = samples.registration()
    county = "410105"
    data.update(uscc=samples.new_uscc(county), division_code=county, industry_code="6210",
                business_scope="餐饮服务；热食类食品制售", licences=[],
                name=f"郑州{unique('烧烤')[-6:]}餐饮有限公司", address="河南省郑州市金水区花园路88号")
    return data


async def test_gas_leak_becomes_an_alert_and_a_dispatched_clue(front, clients, office, bootstrap, raw_producer):
    bureau = await clients.system("bureau")
    data = restaurant_in_zhengzhou()
    async with tail(bootstrap, "market.registration-receipts.v1") as receipts:
        resp = await front.post("/ingest/registrations", json={"type": "market.entity.registered.v1", "data": data},
                                headers={**bureau["headers"], "Idempotency-Key": unique("reg")})
        assert resp.status_code == 202, resp.text
        [receipt] = await receipts.wait_for(of_type("registry.registration.accepted.v1", uscc=data["uscc"]), timeout=60)
    departments = receipt.envelope.data["responsible_departments"]
    assert departments, receipt.envelope.data

    device = unique("gd")
    r = await front.put(f"/risk/devices/{device}", headers=office["headers"],
                        json={"uscc": data["uscc"], "metric": "gas_lel"})
    assert r.status_code == 200, r.text

    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=3)
    async with tail(bootstrap, "risk.alerts.v1") as alerts:
        for s, value in ((0, 6), (15, 38), (30, 64), (45, 20), (70, 4)):  # the last one is the next minute's
            env = new_envelope(type="monitoring.device.reading-recorded.v1", source="/henan/iot/gas", data={
                "device_id": device, "uscc": data["uscc"], "metric": "gas_lel", "value": value, "unit": "%LEL",
                "measured_at": (start + timedelta(seconds=s)).isoformat()})
            await raw_producer.send_and_wait("monitoring.device-readings.v1", env.to_bytes(), key=device.encode())
        [alert] = await alerts.wait_for(of_type("risk.alert.raised.v1", uscc=data["uscc"]), timeout=60)
    assert alert.envelope.data["level"] == "blue" and alert.envelope.data["entity_name"] == data["name"]

    async def dispatched():
        page = await front.get("/clues/clues", headers=office["headers"], params={"uscc": data["uscc"], "channel": "risk"})
        assert page.status_code == 200, page.text
        return [c for c in page.json() if c["state"] == "dispatched"]
    [clue] = await wait_until(dispatched, timeout=60, what="the automatic clue dispatched by the clues service")
    assert clue["domain"] == "gas" and clue["urgency"] == "urgent" and "64%LEL" in clue["content"]
    assert clue["lead_department"]

    # the responsible department sees the alert through the gateway; another department does not
    responsible = await clients.system("department", department=alert.envelope.data["departments"][0])
    other = await clients.system("department", department="samr-410300")
    alert_id = alert.envelope.data["alert_id"]
    assert (await front.get(f"/risk/alerts/{alert_id}", headers=responsible["headers"])).status_code == 200
    assert (await front.get(f"/risk/alerts/{alert_id}", headers=other["headers"])).status_code == 404
    ack = await front.post(f"/risk/alerts/{alert_id}/acknowledgement", headers=responsible["headers"])
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
