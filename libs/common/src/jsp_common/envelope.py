"""The one event envelope: CloudEvents 1.0, structured JSON mode, with W3C trace context.

Every message on every topic is one of these, serialised as UTF-8 JSON
(``content-type: application/cloudevents+json``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from . import clock, tracing

CONTENT_TYPE = "application/cloudevents+json"
# The namespace of derived ids (uuid5): fixed, so an id derived today is the same after any restart or restore.
DERIVED_ID_NAMESPACE = uuid.UUID("5b0f6c1e-4a8d-5e2b-9c37-6a4f0d2e8b71")
_NAMESPACE_BYTES = DERIVED_ID_NAMESPACE.bytes


class EnvelopeError(ValueError):
    """The bytes are not a valid CloudEvents envelope; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    # As the contract (docs/asyncapi.yaml) has them: what it forbids is refused on arrival with its reason.
    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500)
    type: str = Field(min_length=1, max_length=200)
    time: AwareDatetime  # RFC 3339 with its offset: a local time without one is not a moment
    subject: str | None = Field(None, max_length=500)
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    data: dict[str, Any]  # required by the contract: an event without its data is refused on arrival

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @property
    def trace_id(self) -> str | None:
        return tracing.trace_id_of(self.traceparent)

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> "Envelope":
        if raw is None:
            raise EnvelopeError("empty message (tombstone)")
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            kinds = {e["type"] for e in exc.errors()}
            if "json_invalid" in kinds:
                raise EnvelopeError(f"not JSON: {exc.errors()[0]['msg']}") from None
            if "model_type" in kinds and all(not e["loc"] for e in exc.errors()):
                raise EnvelopeError("not a CloudEvents envelope: the JSON is not an object") from None
            raise EnvelopeError("invalid CloudEvents envelope: " + describe_errors(exc)) from None


def describe_errors(exc: ValidationError) -> str:
    return describe(field_errors(exc))


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Field-level reasons, as senders and the dead-letter topic see them."""
    return [{"field": ".".join(str(p) for p in e["loc"]) or "(root)", "reason": e["msg"]} for e in exc.errors()]


def describe(errors: list[dict[str, str]]) -> str:
    """Field-level reasons in one line: ``field: reason; field: reason``."""
    return "; ".join(f"{e['field']}: {e['reason']}" for e in errors)


def derived_id(cause: str, *parts: str) -> str:
    """The id of something ``cause`` (an input event, an HTTP request's Idempotency-Key) brought about, told
    apart by ``parts``: the same cause and parts give the same id, on any replica and after a database restore,
    so a re-applied input re-issues its events under the ids they had and consumers' inboxes skip them."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "\n".join((cause, *parts)).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()  # uuid.uuid5's text, without building a UUID object (this runs for every event issued)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_envelope(*, type: str, source: str, data: dict[str, Any], subject: str | None = None,
                 id: str | None = None, time: datetime | None = None, traceparent: str | None = None,
                 dataschema: str | None = None) -> Envelope:
    """Build an envelope; the trace continues the current one (HTTP request or consumed event).

    Built without re-validation: every field comes from this function, and ``data`` from a contract."""
    return Envelope.model_construct(
        specversion="1.0", datacontenttype="application/json",
        id=id or str(uuid.uuid4()),
        source=source,
        type=type,
        time=time or clock.now(),
        subject=subject,
        data=data,
        dataschema=dataschema,
        traceparent=_continue_trace(traceparent),
    )


def _continue_trace(traceparent: str | None) -> str:
    """The given trace context, or a child of the current one (the HTTP request or consumed event)."""
    return traceparent or tracing.child_of(tracing.current_traceparent.get())


_quote = json.JSONEncoder(ensure_ascii=False).encode


def encode_event(*, type: str, source: str, data_json: str, subject: str | None = None,
                 traceparent: str | None = None, id: str | None = None) -> tuple[str, str, bytes]:
    """The bytes of a new envelope around ``data_json`` (a contract's ``model_dump_json()``), as
    :meth:`Envelope.to_bytes` writes them, without building the envelope or serialising ``data`` twice:
    the outbox's path for every emitted event. ``id`` defaults to a random one. Returns (id, traceparent, bytes)."""
    event_id = id or str(uuid.uuid4())
    traceparent = _continue_trace(traceparent)
    parts = ['{"specversion":"1.0","id":"', event_id, '","source":', _quote(source), ',"type":', _quote(type),
             ',"time":"', clock.now().isoformat(), '"']
    if subject is not None:
        parts += [',"subject":', _quote(subject)]
    parts += [',"datacontenttype":"application/json","traceparent":"', traceparent, '","data":', data_json, "}"]
    return event_id, traceparent, "".join(parts).encode()
