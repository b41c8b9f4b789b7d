"""Rejection receipts: telling a sender that its message cannot be taken in, and why.

A message is refused when the consumer cannot read it (not JSON, not an envelope, schema-invalid, unknown
type: the consumer loop's ``on_poison`` hook) or when its handler refuses it (an entity the service does not
know, dates that contradict the record, ...). Either way the sender gets a receipt through the transaction
(the outbox) and the message goes to the dead-letter topic with the reason. What the receipt looks like
and where it goes belongs to the service (``market.registration-receipts.v1``, the hotline's replies, ...):
it supplies a function from a :class:`Refusal` to a :class:`Receipt`.

    hook = receipts.on_poison(registration_rejected)           # bootstrap: add_consumer(on_poison=hook)
    await receipts.reject(ctx, registration_rejected, reason, errors)   # in a handler
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .consumer import Delivery, HandlerContext, PoisonContext, PoisonHook
from .events import EventData

# Longest reason a receipt carries (a dead-letter header keeps the whole of it).
MAX_REASON = 2000

_SCAN_CACHE: dict[str, re.Pattern[bytes]] = {}


def _scan(raw: bytes | None, name: str) -> str | None:
    """The string value of ``"name": "..."`` in bytes that are not (readable) JSON: best effort."""
    pattern = _SCAN_CACHE.get(name)
    if pattern is None:
        pattern = _SCAN_CACHE[name] = re.compile(rf'"{re.escape(name)}"\s*:\s*"([^"\\]{{1,200}})"'.encode())
    m = pattern.search(raw or b"")
    return m.group(1).decode(errors="replace") if m else None


def _header(headers: tuple[tuple[str, bytes], ...], name: str) -> str | None:
    for k, v in headers:
        if k == name:
            return v.decode(errors="replace")
    return None


NUL_SHOWN_AS = "\ufffd"  # the replacement character: what a receipt shows for a NUL of the refused message


def receipt_text(value: Any) -> str | None:
    """A refused message's text as a receipt may carry it (None for what is not text): each NUL character shown
    as U+FFFD, as neither the outbox (PostgreSQL text) nor the receipts' contracts take NUL (a receipt that cannot
    be written is no receipt). Not dropped: the reference ``WO\\x001`` would read as another message's, ``WO1``."""
    return value.replace("\x00", NUL_SHOWN_AS) if isinstance(value, str) else None


def field_errors_of(details: Any) -> list[dict[str, str]] | None:
    """Field-level reasons from a poison message's details (the consumer's ``[{"field", "reason"}]``);
    None when the details are something else (or nothing)."""
    if isinstance(details, list) and all(isinstance(e, dict) and "field" in e for e in details):
        return [{"field": str(e["field"]), "reason": str(e.get("reason"))} for e in details]
    return None


@dataclass(frozen=True)
class Refusal:
    """What can be said about a message that is refused, read as far as it can be read."""

    reason: str
    errors: list[dict[str, str]] | None  # field-level reasons; None when the reason is all there is
    event_id: str | None                # the envelope's, else the ``ce_id`` header, else found in the bytes
    event_type: str | None
    sender: str | None                  # the envelope's ``source``
    delivery: Delivery
    data: dict[str, Any] = field(default_factory=dict)   # the envelope's data when it is an object

    def __post_init__(self) -> None:
        for name in ("reason", "event_id", "event_type", "sender"):
            object.__setattr__(self, name, receipt_text(getattr(self, name)))

    @property
    def key(self) -> str | None:
        return receipt_text(self.delivery.key_str)

    def string(self, name: str, *, scan: bool = True) -> str | None:
        """A string field of the data; when it is not there (the message is not even an envelope, or the
        field has the wrong type) and ``scan``, the value found for ``name`` in the raw bytes."""
        value = self.data.get(name)
        if isinstance(value, str):
            return receipt_text(value)
        return receipt_text(_scan(self.delivery.value, name)) if scan else None


def refusal_of_poison(ctx: PoisonContext) -> Refusal:
    """The refusal of a message the consumer could not take in (or that failed too often)."""
    d, env = ctx.delivery, ctx.envelope
    data = env.data if env is not None and isinstance(env.data, dict) else {}
    if env is not None:
        event_id, event_type, sender = env.id, env.type, env.source
    else:
        event_id, event_type, sender = (_header(d.headers, f"ce_{n}") or _scan(d.value, n)
                                        for n in ("id", "type", "source"))
    return Refusal(reason=ctx.reason[:MAX_REASON], errors=field_errors_of(ctx.details), event_id=event_id,
                   event_type=event_type, sender=sender, delivery=d, data=data)


def refusal_in_handler(ctx: HandlerContext, reason: str, errors: list[dict[str, str]]) -> Refusal:
    """The refusal of a valid event its handler cannot apply (``data``: the event's data as validated)."""
    env = ctx.envelope
    data = ctx.data.model_dump(mode="json")
    return Refusal(reason=reason[:MAX_REASON], errors=list(errors), event_id=env.id, event_type=env.type,
                   sender=env.source, delivery=ctx.delivery, data=data)


@dataclass(frozen=True)
class Receipt:
    """A receipt to emit: the topic, the event and its key."""

    topic: str
    event: EventData
    key: str | None


# The service's receipt for a refusal (None: this message gets no receipt, only the dead-letter topic).
ReceiptFor = Callable[[Refusal], "Receipt | None"]


def on_poison(receipt_for: ReceiptFor) -> PoisonHook:
    """The consumer loop's ``on_poison`` hook: the receipt of every message it cannot take in, emitted in the
    hook's transaction before the message goes to the dead-letter topic."""
    async def hook(ctx: PoisonContext) -> None:
        receipt = receipt_for(refusal_of_poison(ctx))
        if receipt is not None:
            await ctx.emit(receipt.topic, receipt.event, key=receipt.key)
    return hook


async def reject(ctx: HandlerContext, receipt_for: ReceiptFor, reason: str, errors: list[dict[str, str]]) -> None:
    """In a handler: refuse this event. Its receipt is emitted in the handler's transaction (which keeps the
    handler's other effects) and the event goes to the dead-letter topic with ``reason`` and ``errors``."""
    receipt = receipt_for(refusal_in_handler(ctx, reason, errors))
    if receipt is not None:
        await ctx.emit(receipt.topic, receipt.event, key=receipt.key)
    ctx.dead_letter(reason, errors)
