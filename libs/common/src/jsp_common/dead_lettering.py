"""Putting a poison message on its group's dead-letter topic: the original bytes, key and headers, plus why it
was refused and where it came from (``dlq.*`` headers, read back by :mod:`jsp_common.deadletters`).

The consumer loop commits a partition's offset only after its dead letters are on the broker, so a dead letter is
never skipped: a broker that is away is waited for, and a message too large for the dead-letter topic with its
headers goes there without its value, and if still too large with its key and original headers clipped (the
original stays readable at its coordinates on its own topic). A poll's
dead letters are handed to the producer together and acknowledged together (:func:`send_dead_letters`): a line
system sending messages that are not events costs the group one round trip per poll, not one per message, and a
few log lines (:func:`summaries`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from aiokafka.errors import MessageSizeTooLargeError

from . import clock
from .logs import get_logger
from .metrics import EVENTS_OUT
from .producer import EventProducer, Headers
from .topics import dead_letter_topic

if TYPE_CHECKING:
    from .consumer import Delivery

log = get_logger(__name__)

MAX_HEADER_BYTES = 8 * 1024  # a dead letter's reason and details: enough to act on, never the message's size again


def clip(text: str) -> bytes:
    """``text`` as a header value of at most ``MAX_HEADER_BYTES`` (whole characters), saying how long it was."""
    raw = text.encode()
    if len(raw) <= MAX_HEADER_BYTES:
        return raw
    return raw[:MAX_HEADER_BYTES].decode(errors="ignore").encode() + f" ... ({len(raw)} bytes in all)".encode()


def dead_letter_headers(d: Delivery, group: str, reason: str, details: Any) -> Headers:
    """The original headers and the dead letter's own: reason, details, original coordinates, group, time."""
    headers = list(d.headers) + [
        ("dlq.reason", clip(reason)),
        ("dlq.original.topic", d.topic.encode()),
        ("dlq.original.partition", str(d.partition).encode()),
        ("dlq.original.offset", str(d.offset).encode()),
        ("dlq.consumer.group", group.encode()),
        ("dlq.failed_at", clock.now().isoformat().encode()),
    ]
    if details is not None:
        headers.append(("dlq.details", clip(json.dumps(details, ensure_ascii=False, default=str))))
    return headers


@dataclass(frozen=True)
class Refusal:
    """A message a consumer group refused, and why."""
    delivery: Delivery
    reason: str
    details: Any = None


async def send_dead_letters(producer: EventProducer, letters: Sequence[Refusal], *, group: str,
                            env_prefix: str | None, backoff_initial_s: float, backoff_max_s: float) -> None:
    """Send dead letters in the given order and return once the broker has every one: all handed to the producer
    at once, then acknowledged together. From the first one that does not get through (the broker away, a message
    too large), one at a time, each waited for (one already through may be sent again)."""
    dlqs = [dead_letter_topic(letter.delivery.topic, group, env_prefix) for letter in letters]
    acks, _ = await producer.send_all([
        (dlq, letter.delivery.key, letter.delivery.value or b"",  # the key's bytes as they came
         dead_letter_headers(letter.delivery, group, letter.reason, letter.details))
        for letter, dlq in zip(letters, dlqs)])
    through = next((i for i, ack in enumerate(acks) if ack is None), len(acks))
    for dlq in dlqs[:through]:
        EVENTS_OUT.labels(dlq).inc()
    for line in summaries(letters[:through]):
        log.warning("dead-lettered", **line)
    for letter, dlq in zip(letters[through:], dlqs[through:]):
        await _send_one(producer, letter, dlq, group=group, backoff_initial_s=backoff_initial_s,
                        backoff_max_s=backoff_max_s)


def summaries(letters: Sequence[Refusal]) -> list[dict[str, Any]]:
    """The log lines for dead letters sent together: one per partition and reason, in the order they came, naming
    its first offset, and for more than one letter how many there were and the last offset. A line system sending
    thousands of messages that are not events costs a few lines per poll, not one per message (each line took
    about as much CPU as refusing the message); every letter's coordinates are on the dead-letter topic."""
    grouped: dict[tuple[str, int, str], list[int]] = {}
    for letter in letters:
        d = letter.delivery
        grouped.setdefault((d.topic, d.partition, letter.reason), []).append(d.offset)
    lines = []
    for (topic, partition, reason), offsets in grouped.items():
        line = dict(reason=reason, topic=topic, partition=partition, offset=offsets[0])
        if len(offsets) > 1:
            line.update(count=len(offsets), last_offset=offsets[-1])
        lines.append(line)
    return lines


def _sent(dlq: str, letter: Refusal) -> None:
    EVENTS_OUT.labels(dlq).inc()
    log.warning("dead-lettered", **summaries([letter])[0])


MAX_CLIPPED_KEY_BYTES = 1024  # a dead letter's key, when the key made it too large: enough to recognise it
MAX_CLIPPED_HEADERS_BYTES = 16 * 1024  # the original headers kept then, each value clipped to MAX_CLIPPED_KEY_BYTES


def clipped(d: Delivery, headers: Headers) -> tuple[bytes | None, Headers]:
    """The dead letter's key and headers when it is too large even without its value (a key or headers of about a
    megabyte): the key's first ``MAX_CLIPPED_KEY_BYTES``; the original headers in order while they fit
    ``MAX_CLIPPED_HEADERS_BYTES``, each value clipped, the rest left out; the dead letter's own headers (reason,
    coordinates) whole; ``dlq.clipped`` says what was clipped (the original is readable at its coordinates)."""
    said = []
    key = d.key
    if key is not None and len(key) > MAX_CLIPPED_KEY_BYTES:
        said.append(f"key: {len(key)} bytes, its first {MAX_CLIPPED_KEY_BYTES} kept")
        key = key[:MAX_CLIPPED_KEY_BYTES]
    original = len(d.headers)
    kept: Headers = []
    size, values_clipped = 0, 0
    for name, value in headers[:original]:
        long = value is not None and len(value) > MAX_CLIPPED_KEY_BYTES
        value = value[:MAX_CLIPPED_KEY_BYTES] if long else value
        size += len(name.encode()) + len(value or b"")
        if size > MAX_CLIPPED_HEADERS_BYTES:
            break
        kept.append((name, value))
        values_clipped += long
    if values_clipped:
        said.append(f"{values_clipped} original header values clipped to {MAX_CLIPPED_KEY_BYTES} bytes")
    if len(kept) < original:
        said.append(f"{original - len(kept)} of the {original} original headers left out")
    own = headers[original:]
    return key, kept + own + [("dlq.clipped", clip("; ".join(said) or "nothing (the dead letter's own headers "
                                                                       "make it too large)"))]


async def _send_one(producer: EventProducer, letter: Refusal, dlq: str, *, group: str, backoff_initial_s: float,
                    backoff_max_s: float) -> None:
    """Send one dead letter and return once the broker has it (waiting, with backoff, while it is away). Too large
    for the dead-letter topic: without its value; still too large: its key and original headers clipped too
    (:func:`clipped`); still too large then, it is given up, logged with its coordinates (the original stays
    readable there). Every attempt awaits (a size refused before anything is sent must not hold the loop)."""
    d = letter.delivery
    headers, key, value = dead_letter_headers(d, group, letter.reason, letter.details), d.key, d.value or b""
    delay, too_large = backoff_initial_s, 0
    while True:
        try:
            await producer.send(dlq, value, key=key, headers=headers)
            break
        except MessageSizeTooLargeError as exc:
            too_large += 1
            if too_large == 1:
                value = b""
                headers.append(("dlq.value_omitted", f"{len(d.value or b'')} bytes, too large for the "
                                                     "dead-letter topic: read it at dlq.original.*".encode()))
            elif too_large == 2:
                key, headers = clipped(d, headers)
            else:
                log.error("dead letter too large even clipped; given up (the message stays at its coordinates)",
                          dlq=dlq, error=repr(exc), **summaries([letter])[0])
                return
            await asyncio.sleep(0)  # the refusal came before anything was sent: let the loop run others
        except Exception as exc:  # noqa: BLE001 - broker away: wait for it
            log.warning("dead-letter publish failed; retrying", error=repr(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, backoff_max_s)
    _sent(dlq, letter)
