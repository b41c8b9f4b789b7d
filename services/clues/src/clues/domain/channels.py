"""Whose clues each intake topic carries: the topic says it, not the message. Kafka grants a sender topics, not the
channel a message names, so each outside channel sends on its own topic (``clues.submissions.<channel>.v1``), which
no other may write, and a clue taken from it is that channel's; the platform's own services (risk, inspection) raise
theirs on ``clues.submissions.v1``, which no outside channel may write; the hotline sends its work orders on its
own."""

from __future__ import annotations

from jsp_common import topics
from jsp_common.events.clues import Channel

OUR_SERVICES = (Channel.RISK.value, Channel.INSPECTION.value)  # the channels of clues.submissions.v1


def sender_of(topic: str) -> str | None:
    """The one channel that writes ``topic`` (the hotline, or an outside channel on its own topic); None for the
    platform's own services' topic (two channels write it) and any other."""
    if topic == topics.HOTLINE_WORK_ORDERS:
        return Channel.HOTLINE.value
    return next((c for c, t in topics.CHANNEL_SUBMISSIONS.items() if t == topic), None)


def channels_on(topic: str) -> tuple[str, ...]:
    """The channels whose clues ``topic`` carries (none: no intake topic)."""
    sender = sender_of(topic)
    if sender is not None:
        return (sender,)
    return OUR_SERVICES if topic == topics.CLUE_SUBMISSIONS else ()


def misnamed(topic: str, named: str) -> str | None:
    """Why a clue on ``topic`` naming the channel ``named`` is refused: it is another channel's topic (None: the
    topic carries that channel's clues)."""
    carried = channels_on(topic)
    if named in carried:
        return None
    return (f"{topic} carries the clues of channel {' or '.join(carried) or '(none)'} only, not of {named!r}: "
            "each channel sends on its own topic")
