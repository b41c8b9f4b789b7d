"""Operators' tools for the dead-letter topics: list, inspect and re-drive dead letters after a fix.

``python -m jsp_common.deadletters list [--dlq TOPIC] [filters]``   one line per dead letter
``python -m jsp_common.deadletters show TOPIC:OFFSET``               reason, details, coordinates, headers, payload
``python -m jsp_common.deadletters redrive (TOPIC:OFFSET | --dlq TOPIC [filters]) --by NAME [--note TEXT]``

Filters: ``--reason TEXT`` (part of the reason, any case), ``--type EVENT_TYPE``, ``--event-id ID``,
``--since`` / ``--until`` (when it was dead-lettered, ISO 8601). Without ``--dlq`` every dead-letter topic of the
catalogue is read (of the environment ``JSP_ENV_PREFIX``, if set).

A re-drive puts the original bytes back on the original topic and partition, with the original key and
headers, plus ``redrive.from`` (``<dead-letter topic>:<offset>``), ``redrive.by``, ``redrive.at`` and
``redrive.note``; and records ``operations.dead-letter.redriven.v1`` on ``operations.dead-letter-redrives.v1``.
The envelope keeps its ``id``: every consumer group's inbox applies it once only (a group that applied it before
skips it, and a dead letter re-driven twice is applied once). A group that runs without the inbox keeps its own
per-partition offsets: re-drive to such a topic only what that group never applied (its own dead letters).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from . import clock, topics
from .cli import run_loop
from .offsets import assign_all
from .envelope import Envelope, EnvelopeError
from .events.operations import DeadLetterRedriven

REDRIVE_HEADERS = ("redrive.from", "redrive.by", "redrive.at", "redrive.note")


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    offset: int
    key: bytes | None  # as the original message had it (a Java LongSerializer's eight bytes are no text)
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def key_text(self) -> str | None:
        return self.key.decode(errors="replace") if self.key is not None else None

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k == name]
        return found[-1].decode(errors="replace") if found else None

    @property
    def reason(self) -> str:
        return self.header("dlq.reason") or "(no reason recorded)"

    @property
    def details(self) -> Any:
        raw = self.header("dlq.details")
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw

    @property
    def group(self) -> str:
        return self.header("dlq.consumer.group") or self.topic.split(".dlq.", 1)[-1]

    @property
    def original(self) -> tuple[str, int, int]:
        return (self.header("dlq.original.topic") or self.topic.split(".dlq.", 1)[0],
                int(self.header("dlq.original.partition") or 0), int(self.header("dlq.original.offset") or -1))

    @property
    def failed_at(self) -> datetime | None:
        raw = self.header("dlq.failed_at")
        return datetime.fromisoformat(raw) if raw else None

    @property
    def envelope(self) -> Envelope | None:
        try:
            return Envelope.from_bytes(self.value)
        except EnvelopeError:
            return None

    @property
    def event_id(self) -> str | None:
        env = self.envelope
        return env.id if env else self.header("ce_id")

    @property
    def event_type(self) -> str | None:
        env = self.envelope
        return env.type if env else self.header("ce_type")

    @property
    def address(self) -> str:
        return f"{self.topic}:{self.offset}"

    def summary(self) -> dict[str, Any]:
        topic, partition, offset = self.original
        return {"dead_letter": self.address, "failed_at": self.failed_at.isoformat() if self.failed_at else None,
                "group": self.group, "reason": self.reason, "original": f"{topic}/{partition}@{offset}",
                "event_type": self.event_type, "event_id": self.event_id, "key": self.key_text,
                "redriven_before": self.header("redrive.from")}


@dataclass(frozen=True)
class Filter:
    reason: str | None = None         # part of the reason, any case
    event_type: str | None = None
    event_id: str | None = None
    since: datetime | None = None     # dead-lettered at or after
    until: datetime | None = None     # dead-lettered before

    def matches(self, dl: DeadLetter) -> bool:
        if self.reason and self.reason.casefold() not in dl.reason.casefold():
            return False
        if self.event_type and dl.event_type != self.event_type:
            return False
        if self.event_id and dl.event_id != self.event_id:
            return False
        at = dl.failed_at
        if (self.since or self.until) and at is None:
            return False
        return not ((self.since and at < self.since) or (self.until and at >= self.until))


def redrive_headers(dl: DeadLetter, *, by: str, at: datetime, note: str) -> list[tuple[str, bytes]]:
    """The original headers (without the dead-letter and earlier re-drive ones) and this re-drive's own."""
    kept = [(k, v) for k, v in dl.headers if not k.startswith("dlq.") and k not in REDRIVE_HEADERS]
    return kept + [("redrive.from", dl.address.encode()), ("redrive.by", by.encode()),
                   ("redrive.at", at.isoformat().encode()), ("redrive.note", note.encode())]


def redrive_record(dl: DeadLetter, *, by: str, at: datetime, note: str, partition: int = 0,
                   offset: int = 0) -> DeadLetterRedriven:
    """The record of a re-drive (where the copy went: ``partition`` and ``offset``). A dead letter whose envelope
    is unreadable is known by its ``ce_id``/``ce_type`` headers, which no contract limits: kept to the record's."""
    topic, original_partition, original_offset = dl.original
    return DeadLetterRedriven(
        dead_letter_topic=dl.topic, dead_letter_offset=dl.offset, consumer_group=dl.group, reason=dl.reason[:4000],
        failed_at=dl.failed_at, original_topic=topic, original_partition=original_partition,
        original_offset=max(original_offset, 0), event_id=dl.event_id and dl.event_id[:200],
        dead_event_type=dl.event_type and dl.event_type[:200],
        redriven_partition=partition, redriven_offset=offset, redriven_at=at, redriven_by=by, note=note)


def dead_letter_topics(env_prefix: str | None = None) -> list[str]:
    return [t.name for t in topics.all_topics([], env_prefix=env_prefix) if ".dlq." in t.name]


async def read(names: Iterable[str], *, only: Filter = Filter(), at: dict[str, int] | None = None,
               **client_options) -> list[DeadLetter]:
    """The dead letters of ``names`` that ``only`` lets through, oldest first per topic; ``at``: just these
    offsets (topic -> offset). Reads up to the end each topic had when called; topics that do not exist are
    skipped."""
    c = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **client_options)
    await c.start()
    try:
        existing = await c.topics()
        wanted = [n for n in dict.fromkeys(names) if n in existing]
        if not wanted:
            return []
        tps = sorted(await assign_all(c, wanted))
        ends, starts = await c.end_offsets(tps), await c.beginning_offsets(tps)
        out: list[DeadLetter] = []
        for tp in tps:
            if at is not None:
                if tp.topic not in at or not starts[tp] <= at[tp.topic] < ends[tp]:
                    continue
                c.seek(tp, at[tp.topic])
                end = at[tp.topic] + 1
            else:
                c.seek(tp, starts[tp])
                end = ends[tp]
            while (await c.position(tp)) < end:
                for r in (await c.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if r.offset >= end:
                        break
                    dl = DeadLetter(tp.topic, r.offset, r.key,
                                    r.value or b"", tuple((k, v) for k, v in (r.headers or ())))
                    if only.matches(dl):
                        out.append(dl)
        return out
    finally:
        await c.stop()


async def redrive(letters: list[DeadLetter], *, by: str, note: str = "", **client_options) -> list[DeadLetterRedriven]:
    """Put each dead letter back on its original topic and partition, and record it; returns the records. The
    copies are handed to the producer at once, in order (a partition's keep their order), then acknowledged
    together, and each one the broker took is recorded; if one was not taken, that failure is raised after."""
    from .envelope import new_envelope
    from .producer import EventProducer, envelope_headers

    at = clock.now()
    # A letter kept without its message (too large for the dead-letter topic) would go back empty.
    if omitted := [dl.address for dl in letters if dl.header("dlq.value_omitted") is not None]:
        raise ValueError("nothing re-driven: kept without their message, these dead letters are sent again from "
                         "their original records (dlq.original.*): " + ", ".join(omitted))
    # Each record is built before anything is sent: what it cannot hold (an operator's name of over 200
    # characters, say) is refused while nothing has been re-driven, rather than after, unrecorded.
    unsent = [redrive_record(dl, by=by, at=at, note=note) for dl in letters]
    producer = EventProducer(client_id=f"deadletters-redrive-{by}"[:100], **client_options)
    await producer.start()
    try:
        acks, failure = await producer.send_all(  # the original partition: the key's order holds
            [(dl.original[0], dl.key, dl.value, redrive_headers(dl, by=by, at=at, note=note)) for dl in letters],
            partitions=[dl.original[1] for dl in letters])
        taken = [(dl, meta) for dl, meta in zip(letters, acks) if meta is not None]
        records = [record.model_copy(update={"redriven_partition": meta.partition, "redriven_offset": meta.offset})
                   for record, meta in zip(unsent, acks) if meta is not None]
        envs = [(dl, new_envelope(type=DeadLetterRedriven.event_type, source="/jsp/operations/deadletters",
                                  subject=dl.address, data=record.model_dump(mode="json")))
                for (dl, _), record in zip(taken, records)]
        _, unrecorded = await producer.send_all([(topics.DEAD_LETTER_REDRIVES, dl.topic, env.to_bytes(),
                                                  envelope_headers(env)) for dl, env in envs])
        failure = failure or unrecorded
    finally:
        await producer.stop()
    if failure is not None:
        raise failure
    return records


# ---------------------------------------------------------------- the command line (through jsp_common.cli)
def _selection(parser: argparse.ArgumentParser, *, address: bool) -> None:
    if address:
        parser.add_argument("address", nargs="?", help="one dead letter: <dead-letter topic>:<offset>")
    parser.add_argument("--dlq", action="append", help="a dead-letter topic (repeatable; default: every one)")
    parser.add_argument("--reason", help="part of the reason, any case")
    parser.add_argument("--type", dest="event_type", help="event type, e.g. market.entity.changed.v1")
    parser.add_argument("--event-id")
    parser.add_argument("--since", type=datetime.fromisoformat, help="dead-lettered at or after (ISO 8601)")
    parser.add_argument("--until", type=datetime.fromisoformat, help="dead-lettered before (ISO 8601)")


def _letters(settings, args) -> list[DeadLetter]:
    only = Filter(args.reason, args.event_type, args.event_id, _aware(args.since), _aware(args.until))
    options = settings.kafka_client_options()
    if getattr(args, "address", None):
        topic, _, offset = args.address.rpartition(":")
        if not topic or not offset.isdigit():
            raise SystemExit(f"not a dead letter's address (<topic>:<offset>): {args.address}")
        return run_loop(read([topic], only=only, at={topic: int(offset)}, **options))
    return run_loop(read(args.dlq or dead_letter_topics(settings.env_prefix), only=only, **options))


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=clock.TZ) if at is not None and at.tzinfo is None else at


def list_command(settings, args) -> int:
    letters = _letters(settings, args)
    for dl in letters:
        print(json.dumps(dl.summary(), ensure_ascii=False))
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return 0


def show_command(settings, args) -> int:
    letters = _letters(settings, args)
    if not letters:
        print(f"no dead letter at {args.address}", file=sys.stderr)
        return 1
    for dl in letters:
        env = dl.envelope
        payload: Any = env.model_dump(mode="json") if env else dl.value.decode(errors="replace")
        print(json.dumps({**dl.summary(), "details": dl.details,
                          "headers": {k: v.decode(errors="replace") for k, v in dl.headers}, "payload": payload},
                         ensure_ascii=False, indent=2))
    return 0


def redrive_command(settings, args) -> int:
    if not args.address and not (args.dlq and (args.reason or args.event_type or args.event_id or args.since
                                                or args.until or args.all)):
        raise SystemExit("name one dead letter (<topic>:<offset>), or --dlq with a filter (or --all)")
    letters = _letters(settings, args)
    if args.dry_run:
        for dl in letters:
            print(json.dumps(dl.summary(), ensure_ascii=False))
        print(f"{len(letters)} dead letter(s) would be re-driven", file=sys.stderr)
        return 0
    try:
        records = run_loop(redrive(letters, by=args.by, note=args.note, **settings.kafka_client_options()))
    except ValidationError as e:     # raised before anything is sent
        raise SystemExit("nothing re-driven, the re-drive cannot be recorded: " + "; ".join(
            f"{'/'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())) from None
    except ValueError as e:          # so is this
        raise SystemExit(str(e)) from None
    for r in records:
        print(json.dumps(r.model_dump(mode="json"), ensure_ascii=False))
    print(f"{len(records)} dead letter(s) re-driven, recorded on {topics.DEAD_LETTER_REDRIVES}", file=sys.stderr)
    return 0


def _redrive_arguments(parser: argparse.ArgumentParser) -> None:
    _selection(parser, address=True)
    parser.add_argument("--by", required=True, help="who re-drives (recorded)")
    parser.add_argument("--note", default="", help="what was fixed (recorded)")
    parser.add_argument("--all", action="store_true", help="every dead letter of the --dlq topics")
    parser.add_argument("--dry-run", action="store_true", help="list what would be re-driven, send nothing")


def main(argv: list[str] | None = None) -> int:
    from .cli import Command, tool_main

    return tool_main(prog="python -m jsp_common.deadletters", description=__doc__.split("\n\n")[0], argv=argv,
                     commands={"list": Command("list dead letters (one JSON line each)", list_command,
                                               lambda p: _selection(p, address=False)),
                               "show": Command("show one dead letter whole", show_command,
                                               lambda p: _selection(p, address=True)),
                               "redrive": Command("put dead letters back on their original topic, recorded",
                                                  redrive_command, _redrive_arguments)})


if __name__ == "__main__":
    sys.exit(main())
