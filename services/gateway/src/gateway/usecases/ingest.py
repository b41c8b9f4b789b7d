"""Ingest: senders that cannot speak Kafka post events over HTTP; each is checked against its published
contract and queued on its feed's topic through the caller's transaction (outbox), together with the
Idempotency-Key record that makes a resent POST have one effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from jsp_common import outbox
from jsp_common.envelope import describe, field_errors, new_envelope
from jsp_common.events import UnknownEventType, parse_data
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import repositories as repo
from ..domain.ingest import Feed, event_id_for, request_hash


def checked_data(feed: Feed, body: dict[str, Any]) -> dict[str, Any]:
    """The event's data as its contract reads it (422 with field-level errors when it does not match)."""
    event_type = body["type"]
    if event_type not in feed.event_types:
        raise Problem(422, f"{event_type!r} is not sent on {feed.topic}; expected one of: "
                           + ", ".join(feed.event_types),
                      errors=[{"field": "type", "reason": "unexpected event type"}])
    try:
        data = parse_data(event_type, body["data"])
    except UnknownEventType:
        raise Problem(503, f"the contract of {event_type} is not published yet; the event was not accepted") from None
    except ValidationError as exc:
        errors = [{**e, "field": f"data.{e['field']}"} for e in field_errors(exc)]
        raise Problem(422, "the event does not match its contract: " + describe(errors), errors=errors) from None
    return data.model_dump(mode="json")


async def ingest(tx: Transaction, principal: Principal, feed: Feed, body: dict[str, Any], *,
                 idempotency_key: str | None, route: str) -> tuple[int, dict, bool]:
    """Queue one event on the feed's topic. Returns (status, answer, replayed)."""
    payload = checked_data(feed, body)
    key = payload.get(feed.key_field)
    event_id = event_id_for(principal.subject, idempotency_key, body.get("id"))
    fingerprint = request_hash(route, body)
    if idempotency_key:
        earlier = await repo.claim_idempotency_key(tx.session, subject=principal.subject, key=idempotency_key,
                                                   route=route, request_hash=fingerprint)
        if earlier is not None:
            if earlier["request_hash"] != fingerprint:
                raise Problem(409, "this Idempotency-Key was used for a different request; "
                                   "use a new key for a new request")
            return earlier["status"], earlier["response"], True
    sent_at = datetime.fromisoformat(body["time"]) if body.get("time") else None  # checked RFC 3339 by the route
    env = new_envelope(type=body["type"], id=event_id, source=f"/jsp/gateway/ingest/{principal.subject}",
                       subject=str(key) if key is not None else None, data=payload, time=sent_at)
    await outbox.add(tx.session, feed.topic, env, key=str(key) if key is not None else None)
    answer = {"event_id": env.id, "type": env.type, "topic": feed.topic, "key": key, "status": "accepted",
              "trace_id": env.trace_id}
    if idempotency_key:
        await repo.record_idempotent_response(tx.session, subject=principal.subject, key=idempotency_key,
                                              status=202, response=answer)
    return 202, answer, False
