"""The fault suite's traffic: uniquely identified registrations (each followed by changes, in order), work
orders, device readings and API actions, half through the gateway and half straight onto the topics as the
outside systems send them, plus poison messages on every inbound topic. A sender whose call fails (the gateway
killed, the broker or the database away) sends again as a real sender does: the same Idempotency-Key, the
same envelope id. What was accepted is recorded for the set comparison."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber, UnknownProducerId

from jsp_common import clock, topics
from jsp_common.envelope import new_envelope

from .. import samples

RETRY_S = 0.3           # between two attempts of a failed call (a sender's back-off, not synchronisation)
GIVE_UP_S = 600.0       # an input never accepted within this fails the suite


@dataclass
class Credentials:
    """A line system's client credentials, or the office's login; a fresh token when the old one is refused."""

    http: httpx.AsyncClient
    client_id: str = ""
    secret: str = ""
    username: str = ""
    password: str = ""
    token: str = ""

    async def renew(self) -> None:
        async def get():
            if self.username:
                return await self.http.post("/auth/login", json={"username": self.username, "password": self.password})
            return await self.http.post("/auth/token", data={"grant_type": "client_credentials",
                                                             "client_id": self.client_id, "client_secret": self.secret})
        self.token = (await _retry(get, "a token")).json()["access_token"]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _retry(call, what: str, ok=(200, 201, 202), creds: Credentials | None = None) -> httpx.Response:
    """``call()`` until it answers one of ``ok``; transport errors, 5xx and 429 are tried again, a 401 renews the
    token; any other answer is a failure of the suite."""
    deadline = time.monotonic() + GIVE_UP_S
    last = "no answer"
    while True:
        try:
            r = await call()
            if r.status_code in ok:
                return r
            last = f"{r.status_code} {r.text[:300]}"
            if r.status_code == 401 and creds is not None:
                await creds.renew()
            elif r.status_code < 500 and r.status_code != 429:
                raise AssertionError(f"{what}: refused: {last}")
        except httpx.TransportError as exc:
            last = repr(exc)
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not accepted within {GIVE_UP_S:.0f}s; last: {last}")
        await asyncio.sleep(RETRY_S)


async def register_system(http: httpx.AsyncClient, office: Credentials, name: str, roles: list[str]) -> Credentials:
    created = await _retry(lambda: http.post("/admin/clients", headers=office.headers(),
                                             json={"name": name, "kind": "system", "roles": roles}),
                           "a line system", creds=office)
    body = created.json()
    creds = Credentials(http, client_id=body["client"]["client_id"], secret=body["credential"]["secret"])
    await creds.renew()
    return creds


@dataclass
class Sent:
    """What the platform accepted, for the set comparison."""

    registrations: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # uscc -> (event id, type, name)
    work_orders: dict[str, str] = field(default_factory=dict)          # work order no -> event id
    devices: dict[str, tuple[str, int]] = field(default_factory=dict)  # device id -> (uscc, readings sent)
    poison: list[tuple[str, str, str]] = field(default_factory=list)   # (topic, key, kind)
    by_channel: dict[str, int] = field(default_factory=dict)

    def count(self, channel: str, n: int = 1) -> None:
        self.by_channel[channel] = self.by_channel.get(channel, 0) + n


POISON_TARGETS = (topics.MARKET_REGISTRATIONS, topics.HOTLINE_WORK_ORDERS, *topics.CHANNEL_SUBMISSIONS.values(),
                  topics.DEVICE_READINGS)


class Traffic:
    def __init__(self, *, run: str, rng: random.Random, http: httpx.AsyncClient,
                 new_producer: Callable[[], Awaitable[AIOKafkaProducer]], bureau: Credentials, hotline: Credentials,
                 office: Credentials, concurrency: int):
        self.run, self.rng, self.http = run, rng, http
        self.producer: AIOKafkaProducer | None = None
        self._new_producer, self._renewing = new_producer, asyncio.Lock()
        self.bureau, self.hotline, self.office = bureau, hotline, office
        self.sent = Sent()
        self._slots = asyncio.Semaphore(concurrency)
        self._poison_n = 0

    # ------------------------------------------------------------ the two ways in
    async def _post(self, path: str, creds: Credentials, body: dict, key: str) -> str:
        r = await _retry(lambda: self.http.post(path, json=body, headers={**creds.headers(), "Idempotency-Key": key}),
                         f"POST {path} {key}", creds=creds)
        return r.json()["event_id"]

    async def start(self) -> None:
        self.producer = await self._new_producer()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

    async def _produce(self, topic: str, key: str, value: bytes) -> None:
        deadline = time.monotonic() + GIVE_UP_S
        while True:
            producer = self.producer
            try:
                await producer.send_and_wait(topic, value, key=key.encode())
                return
            except Exception as exc:  # noqa: BLE001 - broker away: send the same bytes again
                if time.monotonic() > deadline:
                    raise AssertionError(f"{topic} {key}: not accepted by the broker: {exc!r}") from exc
                if isinstance(exc, (OutOfOrderSequenceNumber, UnknownProducerId)):
                    await self._renew(producer)
                await asyncio.sleep(RETRY_S)

    async def _renew(self, failed: AIOKafkaProducer) -> None:
        """The broker lost track of this idempotent producer's sequence numbers (a restart): as an outside system's
        client would, start a new producer (a new producer id) and send the same bytes again with it."""
        async with self._renewing:
            if self.producer is failed:
                self.producer = await self._new_producer()
                with contextlib.suppress(Exception):
                    await failed.stop()

    async def _event(self, topic: str, key: str, type_: str, data: dict, *, gateway: str | None,
                     creds: Credentials | None, idem: str) -> str:
        if gateway:
            event_id = await self._post(gateway, creds, {"type": type_, "data": data}, idem)
            self.sent.count("gateway")
            return event_id
        env = new_envelope(type=type_, source=f"/faults/{self.run}", data=data)
        await self._produce(topic, key, env.to_bytes())
        self.sent.count("kafka")
        return env.id

    # ------------------------------------------------------------ registrations, work orders, readings
    async def registration_chain(self, changes: int) -> None:
        """One entity: registered, then ``changes`` changes of its name, each sent only after the previous one
        was accepted (one sender, in order: the directory must end with the last name)."""
        async with self._slots:
            data = samples.registration(self.rng)
            uscc, via = data["uscc"], self.rng.random() < 0.5
            chain = self.sent.registrations.setdefault(uscc, [])
            for i in range(changes + 1):
                type_ = "market.entity.registered.v1" if i == 0 else "market.entity.changed.v1"
                if i:
                    data = {**data, "name": data["name"].removesuffix("有限公司").rstrip("甲乙丙丁戊己") + "甲乙丙丁戊己"[i - 1]
                            + "有限公司", "changed_items": ["名称"], "occurred_at": clock.now().isoformat()}
                event_id = await self._event(topics.MARKET_REGISTRATIONS, uscc, type_, data,
                                             gateway="/ingest/registrations" if via else None, creds=self.bureau,
                                             idem=f"{self.run}-{uscc}-{i}")
                chain.append((event_id, type_, data["name"]))

    async def work_order(self) -> None:
        async with self._slots:
            order = samples.work_order(rng=self.rng)
            order["work_order_no"] = f"FT{self.run}{len(self.sent.work_orders):06d}{self.rng.randrange(10**6):06d}"
            via = self.rng.random() < 0.5
            self.sent.work_orders[order["work_order_no"]] = await self._event(
                topics.HOTLINE_WORK_ORDERS, order["work_order_no"], "hotline.work-order.submitted.v1", order,
                gateway="/ingest/work-orders" if via else None, creds=self.hotline, idem=f"{self.run}-{order['work_order_no']}")

    async def device(self, readings: int, start: datetime) -> None:
        """An API action (the office registers a gas detector to an entity), then its readings in order, all
        inside one minute's window and below the limit: the window must count each reading once."""
        async with self._slots:
            device, uscc = f"ft-{self.run}-{len(self.sent.devices):04d}", samples.new_uscc("410102")
            self.sent.devices[device] = (uscc, 0)
            await _retry(lambda: self.http.put(f"/risk/devices/{device}", headers=self.office.headers(),
                                               json={"uscc": uscc, "metric": "gas_lel"}),
                         f"PUT /risk/devices/{device}", creds=self.office)
            self.sent.count("gateway")
            for i in range(readings):
                env = new_envelope(type="monitoring.device.reading-recorded.v1", source="/faults/iot", data={
                    "device_id": device, "uscc": uscc, "metric": "gas_lel", "value": round(self.rng.uniform(0, 20), 1),
                    "unit": "%LEL", "measured_at": (start + timedelta(milliseconds=10 * i)).isoformat()})
                await self._produce(topics.DEVICE_READINGS, device, env.to_bytes())
                self.sent.devices[device] = (uscc, i + 1)
                self.sent.count("kafka")

    # ------------------------------------------------------------ poison
    async def poison(self, per_kind: int) -> None:
        """On every inbound topic: bytes that are not JSON, JSON that is not an envelope, an unknown event type,
        data that breaks the contract, and a reading of a device nobody registered."""
        for topic in POISON_TARGETS:
            type_ = topics.by_name(topic).event_types[0]
            for _ in range(per_kind):
                kinds = {"not-json": b"\xff\xfe{not json",
                         "not-an-envelope": json.dumps({"hello": "world"}).encode(),
                         "unknown-type": new_envelope(type="faults.unknown.v1", source="/faults", data={}).to_bytes(),
                         "schema-invalid": new_envelope(type=type_, source="/faults", data={"oops": 1}).to_bytes()}
                if topic == topics.DEVICE_READINGS:
                    kinds["unknown-device"] = new_envelope(type=type_, source="/faults", data={
                        "device_id": f"ft-{self.run}-nobody", "uscc": samples.new_uscc("410102"), "metric": "gas_lel",
                        "value": 1.0, "unit": "%LEL", "measured_at": clock.now().isoformat()}).to_bytes()
                for kind, value in kinds.items():
                    self._poison_n += 1
                    key = f"poison-{self.run}-{self._poison_n}"
                    await self._produce(topic, key, value)
                    self.sent.poison.append((topic, key, kind))
