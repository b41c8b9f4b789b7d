"""Ingest feeds: senders that cannot speak Kafka post events over HTTP; the gateway puts them on the same
topic with the same envelope as if they had published them themselves."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from jsp_common import topics
from jsp_common.principal import Role

_EVENT_ID_NAMESPACE = uuid.UUID("6f1f7d0e-4f0b-4c36-9a4e-0d6c8f1e2a10")


@dataclass(frozen=True)
class Feed:
    name: str           # the route segment: /ingest/<name>
    topic: str
    key_field: str      # the data field that keys the message (per-entity ordering)
    role: Role          # who may send on it
    summary: str

    @property
    def event_types(self) -> tuple[str, ...]:
        return topics.by_name(self.topic).event_types


FEEDS: tuple[Feed, ...] = (
    Feed("registrations", topics.MARKET_REGISTRATIONS, "uscc", Role.BUREAU,
         "Registration events of market entities from the market regulation bureau"),
    Feed("work-orders", topics.HOTLINE_WORK_ORDERS, "work_order_no", Role.HOTLINE,
         "Work orders (complaints, reports) from the 12345 hotline system"),
)


def request_hash(route: str, body: Any) -> str:
    """A fingerprint of a request, to tell a resend from a different request reusing an Idempotency-Key."""
    canonical = json.dumps({"route": route, "body": body}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_id_for(subject: str, idempotency_key: str | None, sender_id: str | None) -> str:
    """The envelope id: the sender's own id if given; else derived from the Idempotency-Key, so even a
    resend after the key record expired is recognised downstream by event id; else a fresh one."""
    if sender_id:
        return sender_id
    if idempotency_key:
        return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{subject}\n{idempotency_key}"))
    return str(uuid.uuid4())
