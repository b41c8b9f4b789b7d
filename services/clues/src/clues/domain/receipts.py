"""The rejection receipt for a message the intake cannot take in, and the channel topic it goes to
(emitted by ``jsp_common.receipts`` before the message goes to the dead-letter topic)."""

from __future__ import annotations

from typing import Any

from jsp_common import topics
from jsp_common.events.clues import SubmissionRejected
from jsp_common.receipts import Receipt, Refusal, receipt_text


def rejection(topic: str, key: str | None, data: Any, reason: str, details: Any,
              source_event_id: str | None) -> tuple[str, SubmissionRejected, str | None]:
    """``(reply topic, receipt, key)`` for a refused message from ``topic``: the hotline's work orders are
    answered on the hotline's topic, every other channel on the channels' topic; the sender's reference (else
    the message's key), a NUL in it shown as U+FFFD (``receipt_text``), keys it."""
    doc = data if isinstance(data, dict) else {}
    hotline = topic == topics.HOTLINE_WORK_ORDERS
    channel = "hotline" if hotline else receipt_text(doc.get("channel"))
    ref = receipt_text(doc.get("work_order_no" if hotline else "channel_ref")) or receipt_text(key)
    errors = details if isinstance(details, list) else []
    return (topics.HOTLINE_REPLIES if hotline else topics.CHANNEL_REPLIES,
            SubmissionRejected(channel=channel, channel_ref=(ref or None) and str(ref)[:200],
                               source_event_id=source_event_id, reason=reason[:2000],
                               errors=[{"field": str(e.get("field")), "reason": str(e.get("reason"))}
                                       for e in errors if isinstance(e, dict)]),
            ref)


def submission_rejected(r: Refusal) -> Receipt:
    """The intake's receipt for a refused message (``jsp_common.receipts``' ``receipt_for``)."""
    topic, receipt, key = rejection(r.delivery.topic, r.key, r.data, r.reason, r.errors, r.event_id)
    return Receipt(topic, receipt, key)
