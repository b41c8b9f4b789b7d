"""`make demo`: realistic sample traffic through the front door and the topics, so a newcomer sees
notifications, clues and a joint inspection flow within a minute.

Registrations as the market regulation bureau sends them and 12345 work orders about those businesses
(Faker zh_CN over real Henan division codes), half through the gateway's ingest routes (with an
Idempotency-Key) and half straight onto the bureau's and hotline's topics with the same envelope. Then
it reads, through the gateway, the departments' notifications and the routed clues, and prints them; then a
joint inspection of two departments, drawn and verified (deploy/local/demo_inspection.py). Last, a gas
leak: the office registers a gas detector in one restaurant, the detector's readings go onto the
monitoring topic, and the risk service turns the leak into a risk alert and a clue that the clues service
dispatches.

    python deploy/local/demo.py [--count 20] [--gateway http://127.0.0.1:8000]

Needs `make run` running; logs in with the office account from .local/office-account.txt
(or JSP_DEMO_USERNAME / JSP_DEMO_PASSWORD).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from jsp_common import clock
from jsp_common.envelope import new_envelope
from jsp_common.producer import EventProducer
from jsp_common.settings import ServiceSettings

from jsp_testkit import front_door, samples

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_inspection import joint_inspection  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def office_credentials() -> tuple[str, str]:
    if os.environ.get("JSP_DEMO_USERNAME"):
        return os.environ["JSP_DEMO_USERNAME"], os.environ["JSP_DEMO_PASSWORD"]
    path = ROOT / ".local" / "office-account.txt"
    if not path.exists():
        sys.exit("no office account: start `make run` first (it creates one), or set JSP_DEMO_USERNAME/PASSWORD")
    username, _, password = path.read_text().strip().partition(" ")
    return username, password


async def main(count: int, gateway: str) -> int:
    rng = random.Random()
    username, password = office_credentials()
    settings = ServiceSettings(service_name="demo")
    producer = EventProducer(client_id="demo", **settings.kafka_client_options())
    await producer.start()
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        try:
            office = await front_door.login(http, username, password)
        except front_door.FrontDoorError as exc:
            sys.exit(f"cannot log in as {username}: {exc}")
        _, bureau = await front_door.register_system(http, office, name="省市场监管局登记系统 (demo)", roles=["bureau"])
        _, hotline = await front_door.register_system(http, office, name="12345热线系统 (demo)", roles=["hotline"])

        started = time.monotonic()
        registrations = [samples.registration(rng, trade_word="餐饮" if k == 0 else None) for k in range(count)]
        registrations[0].update(industry_code="6210", business_scope="餐饮服务；食品经营；热食类食品制售")  # the gas leak's
        orders = [samples.work_order(r, rng) for r in rng.sample(registrations, max(1, count // 2))]
        async def deliver(i: int, route: str, headers: dict, type_: str, topic: str, source: str, key: str,
                          data: dict) -> None:
            """Every other one through the gateway's ingest route, the rest straight onto the topic."""
            if i % 2 == 0:
                resp = await http.post(route, headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                                       json={"type": type_, "data": data})
                resp.raise_for_status()
            else:
                env = new_envelope(type=type_, source=source, subject=key, data=data)
                await producer.publish(topic, env, key=key)

        for i, data in enumerate(registrations):
            await deliver(i, "/ingest/registrations", bureau, "market.entity.registered.v1",
                          "market.registrations.v1", "/henan/samr/registration", data["uscc"], data)
        for i, data in enumerate(orders):
            await deliver(i, "/ingest/work-orders", hotline, "hotline.work-order.submitted.v1",
                          "hotline.work-orders.v1", "/henan/12345", data["work_order_no"], data)
        print(f"sent {len(registrations)} registrations and {len(orders)} work orders "
              f"(half through {gateway}, half on the topics)")

        usccs = {r["uscc"]: r for r in registrations}
        seen_notes: dict[str, list[str]] = {}
        seen_clues: dict[str, dict] = {}
        waiting: set[str] = set()  # no rule matched: in the office's adjudication queue (研判定性)
        refs = {o["work_order_no"] for o in orders}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(seen_notes) + len(waiting) < len(usccs)
                                               or len(seen_clues) < len(refs)):
            notes = (await http.get("/registry/notifications", headers=office, params={"page_size": 200})).json()
            for n in notes.get("items", []):
                if n["uscc"] in usccs:
                    seen_notes.setdefault(n["uscc"], []).append(n["department"])
            clues = (await http.get("/clues/clues", headers=office, params={"channel": "hotline", "limit": 500})).json()
            for c in clues if isinstance(clues, list) else []:
                if c.get("channel_ref") in refs:
                    seen_clues[c["channel_ref"]] = c
            for uscc in set(usccs) - set(seen_notes) - waiting:
                entity = await http.get(f"/registry/entities/{uscc}", headers=office)
                if entity.status_code == 200 and entity.json().get("assignment_state") == "adjudication":
                    waiting.add(uscc)
            await asyncio.sleep(1)
        took = time.monotonic() - started
        print(f"\nafter {took:.0f}s: {len(seen_notes)} of {len(usccs)} entities notified, {len(waiting)} waiting "
              f"for the office's adjudication, {len(seen_clues)} of {len(refs)} work orders routed\n")
        print("dual notification (双告知):")
        for uscc, depts in list(seen_notes.items())[:10]:
            print(f"  {usccs[uscc]['name']:<24} {uscc}  -> {', '.join(sorted(set(depts)))}")
        for uscc in list(waiting)[:5]:
            print(f"  {usccs[uscc]['name']:<24} {uscc}  -> adjudication queue (no rule matched)")
        print("\nclues (12345 work orders):")
        for ref, c in list(seen_clues.items())[:10]:
            print(f"  {ref}  {c.get('state'):<16} lead={c.get('lead_department')}  {c.get('content', '')[:30]}")
        await joint_inspection(http, office, bureau, rng, max(6, count // 2))
        await gas_leak(http, office, producer, registrations[0])
        print(f"\nsee more: {gateway}/docs (log in as {username}); the departments' topics are "
              "dept.<department>.notifications.v1 and dept.<department>.clues.v1")
    await producer.stop()
    return 0


async def gas_leak(http: httpx.AsyncClient, office: dict, producer: EventProducer, restaurant: dict) -> None:
    """A gas detector in ``restaurant`` reports a leak: an alert and an automatically raised, dispatched clue."""
    device = f"GD-{uuid.uuid4().hex[:8]}"
    resp = await http.put(f"/risk/devices/{device}", headers=office, json={"uscc": restaurant["uscc"], "metric": "gas_lel"})
    resp.raise_for_status()
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    for s, value in ((0, 5), (15, 33), (30, 68), (45, 41), (65, 6)):  # %LEL; the last reading opens the next minute
        env = new_envelope(type="monitoring.device.reading-recorded.v1", source="/henan/iot/gas", subject=device,
                           data={"device_id": device, "uscc": restaurant["uscc"], "metric": "gas_lel", "value": value,
                                 "unit": "%LEL", "measured_at": (start + timedelta(seconds=s)).isoformat()})
        await producer.publish("monitoring.device-readings.v1", env, key=device)
    print(f"\ngas leak: detector {device} at {restaurant['name']} reported up to 68 %LEL")
    deadline = time.monotonic() + 60
    alert, clue = None, None
    while time.monotonic() < deadline and not (alert and clue):
        alerts = (await http.get("/risk/alerts", headers=office, params={"uscc": restaurant["uscc"]})).json()
        alert = alerts[0] if isinstance(alerts, list) and alerts else None
        clues = (await http.get("/clues/clues", headers=office, params={"uscc": restaurant["uscc"], "channel": "risk"})).json()
        clue = next((c for c in clues if c.get("state") == "dispatched"), None) if isinstance(clues, list) else None
        await asyncio.sleep(1)
    if alert:
        print(f"  risk alert {alert['id']}: {alert['level']} (score {alert['score']:g}) -> {', '.join(alert['departments'])}")
    if clue:
        print(f"  clue {clue['id']} dispatched to {clue['lead_department']}: {clue['content'][:40]}")
    if not (alert and clue):
        print("  (not yet: is the risk service running? see .local/logs/risk.log)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--gateway", default=f"http://127.0.0.1:{os.environ.get('JSP_GATEWAY_HTTP_PORT') or 8000}",
                   help="the gateway make run started (its port: JSP_GATEWAY_HTTP_PORT, else 8000)")
    a = p.parse_args()
    sys.exit(asyncio.run(main(a.count, a.gateway)))
