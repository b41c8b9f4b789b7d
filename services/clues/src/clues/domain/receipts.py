"""Where each channel reads what it is told of its clues, and the rejection receipt for a message the intake
cannot take in (emitted by ``jsp_common.receipts`` before the message goes to the dead-letter topic)."""

from __future__ import annotations

from typing import Any

from jsp_common import topics
from jsp_common.events.clues import Channel, SubmissionRejected
from jsp_common.receipts import Receipt, Refusal, receipt_text

from .channels import sender_of


def reply_topic(channel: str | None) -> str | None:
    """Where a channel reads the outcome of its clues: the hotline and each other channel its own topic, which
    no other channel reads (a reply says what the departments found at a business); the police the outcome of the
    cases they sent back. None for the clues the risk and inspection services raise (they do not read back)."""
    return topics.HOTLINE_REPLIES if channel == Channel.HOTLINE else topics.CHANNEL_REPLIES.get(channel or "")


def receipt_topic(channel: str | None) -> str | None:
    """Where a channel reads the receipts of what it sent: its reply topic, except the police's (a case they send
    back is answered by the HTTP request that sends it)."""
    return None if channel == Channel.PUBLIC_SECURITY else reply_topic(channel)


def rejection(topic: str, key: str | None, data: Any, reason: str, details: Any,
              source_event_id: str | None) -> tuple[str | None, SubmissionRejected, str | None]:
    """``(receipt topic, receipt, key)`` for a refused message from ``topic``: answered on the receipt topic of the
    channel that writes ``topic`` (the hotline's work orders on the hotline's, an outside channel's clues on its own,
    whatever channel a message names: never another's); None for the clues of the platform's own services (their
    refusal is on the dead-letter topic only), except an outside channel's clue left on their topic from before it
    had its own (the channel is told). The sender's reference (else the message's key), a NUL in it shown as
    U+FFFD (``receipt_text``), keys it."""
    doc = data if isinstance(data, dict) else {}
    sender = sender_of(topic)
    hotline = sender == Channel.HOTLINE
    channel = sender or receipt_text(doc.get("channel"))
    ref = receipt_text(doc.get("work_order_no" if hotline else "channel_ref")) or receipt_text(key)
    errors = details if isinstance(details, list) else []
    reply_to = receipt_topic(sender)
    if topic == topics.CLUE_SUBMISSIONS and channel in topics.CHANNEL_SUBMISSIONS:
        # sent there before the channel had a topic of its own (only the platform's services may write it since):
        # the channel is told on its own receipts topic, and sends it again on its own submissions topic
        reply_to = receipt_topic(channel)
    return (reply_to,
            SubmissionRejected(channel=channel, channel_ref=(ref or None) and str(ref)[:200],
                               source_event_id=source_event_id, reason=reason[:2000],
                               errors=[{"field": str(e.get("field")), "reason": str(e.get("reason"))}
                                       for e in errors if isinstance(e, dict)]),
            ref)


def submission_rejected(r: Refusal) -> Receipt | None:
    """The intake's receipt for a refused message (``jsp_common.receipts``' ``receipt_for``)."""
    topic, receipt, key = rejection(r.delivery.topic, r.key, r.data, r.reason, r.errors, r.event_id)
    return Receipt(topic, receipt, key) if topic is not None else None
