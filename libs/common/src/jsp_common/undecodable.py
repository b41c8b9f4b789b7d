"""Records the Kafka client cannot decode, read past instead of retried for ever.

aiokafka decodes a partition's records lazily, as a poll hands them out; a record batch it cannot decompress (a
codec it lacks, compressed bytes it cannot read) or a record whose header name is not UTF-8 (a GBK name, written
by a librdkafka or Go client that passes bytes through) makes the whole poll fail, every time, at the same place:
the consumer group would stall on that partition for good, or its loop end and the service restart on it. After such a failure the consumer loop asks
:func:`stuck_partitions` where decoding stopped, reads those bytes itself (:func:`fetch_raw`, the record batch
format v2 read here without the client's decoder: :func:`read_records`) and applies what it can read, each part
it cannot read becoming a dead letter with its coordinates and the reason.

The client's internals are touched here and nowhere else in the consumer (as ``producer.py`` does for the
producer's): which partition's fetched records failed is not in the error aiokafka raises.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka import codec as codecs
from aiokafka import errors as kafka_errors
from aiokafka.consumer.fetcher import FetchResult
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.util import decode_varint
from aiokafka.structs import TopicPartition

# A record batch's header (message format v2): base offset, length, leader epoch, magic, CRC, attributes, last
# offset delta, first and max timestamp, producer id and epoch, base sequence, record count.
_BATCH = struct.Struct(">qiibIhiqqqhii")
# attributes & 7: the codec's name, whether it is installed, its decoder
_CODECS = {1: ("gzip", codecs.has_gzip, codecs.gzip_decode), 2: ("snappy", codecs.has_snappy, codecs.snappy_decode),
           3: ("lz4", codecs.has_lz4, codecs.lz4_decode), 4: ("zstd", codecs.has_zstd, codecs.zstd_decode)}
_CONTROL = 0x20  # attributes: a transaction marker, not a message


@dataclass(frozen=True)
class RawRecord:
    """A record read without the client's decoder; ``problem`` says why it cannot be applied (None: it can).
    A part that cannot be read at all (a batch that cannot be decompressed) is one ``RawRecord`` at its first
    offset, without key or value, ``details`` naming its last offset."""

    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def stuck_partitions(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    """After a poll failed: the partitions whose fetched records could not be decoded, each with the offset where
    decoding stopped (the records before it in that poll were decoded, and lost with the poll). Empty when the
    failure was not the decoding of records (a fetch the broker refused, say)."""
    stuck = {}
    for tp, result in list(consumer._fetcher._records.items()):  # aiokafka: a partition's fetched records
        records = getattr(result, "_partition_records", None) if isinstance(result, FetchResult) else None
        iterator = getattr(records, "_records_iterator", None)
        # A generator that raised is finished without having been exhausted (exhausted, the client drops it).
        if iterator is not None and getattr(iterator, "gi_frame", True) is None:
            stuck[tp] = records.next_fetch_offset
    return stuck


async def fetch_raw(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, max_bytes: int) -> bytes:
    """The record batches of ``tp`` from the one holding ``offset`` on, as the broker stores them (at least one
    batch, even one larger than ``max_bytes``)."""
    client = consumer._client  # aiokafka: the consumer's connection to the cluster
    leader = client.cluster.leader_for_partition(tp)
    if leader is None or leader < 0:
        raise kafka_errors.NotLeaderForPartitionError(f"no leader for {tp.topic}[{tp.partition}]")
    request = FetchRequest(0, 1, max_bytes, 0, [(tp.topic, [(tp.partition, offset, max_bytes)])])
    response = await client.send(leader, request)
    for topic, partitions in response.topics:
        for partition, error_code, _highwater, *data in partitions:
            if (topic, partition) == (tp.topic, tp.partition):
                error = kafka_errors.for_code(error_code)
                if error is not kafka_errors.NoError:
                    raise error(f"reading {tp.topic}[{tp.partition}] at {offset}")
                return bytes(data[-1] or b"")
    return b""


def read_records(raw: bytes, start: int, through: int) -> tuple[list[RawRecord], int]:
    """The records of fetched ``raw`` batches from offset ``start`` to the end of the batch holding ``through``
    (the first offset the client could not decode), in order, each readable or with its problem; and the offset
    after the last batch read (where the partition goes on). Stops early at the end of ``raw``."""
    out: list[RawRecord] = []
    pos, after = 0, start
    while pos + 17 <= len(raw):
        base, length = struct.unpack_from(">qi", raw, pos)
        end = pos + 12 + length
        if end > len(raw):  # the response ends in the middle of a batch: the next read starts there
            break
        magic = raw[pos + 16]
        if magic < 2:
            last = base  # an old message set entry: one message (a compressed one's offset is its last)
            if last >= start:
                out.append(RawRecord(max(base, start), None, None, problem=f"a message in the old format v{magic}, "
                                     "which this consumer does not read", details={"last_offset": last}))
            after = max(after, last + 1)
        else:
            batch = _BATCH.unpack_from(raw, pos)
            attributes, last_delta, count = batch[5], batch[6], batch[12]
            last = base + last_delta
            if last >= start and not attributes & _CONTROL:
                out += _batch_records(raw[pos + _BATCH.size:end], base, start, last, attributes, count)
            after = max(after, last + 1)
        pos = end
        if after > through:
            break
    return out, after


def _batch_records(body: bytes, base: int, start: int, last: int, attributes: int, count: int) -> list[RawRecord]:
    first = max(base, start)
    codec = None
    try:
        if attributes & 0x07:
            codec, installed, decode = _CODECS.get(attributes & 0x07, (f"codec {attributes & 0x07}", None, None))
            if installed is None or not installed():
                raise kafka_errors.UnsupportedCodecError(f"{codec} is not installed")
            body = decode(body)
    except Exception as exc:  # noqa: BLE001 - whatever the codec says, the batch cannot be read
        return [RawRecord(first, None, None, problem=f"a record batch compressed with {codec} that cannot be "
                          f"decompressed ({type(exc).__name__}: {exc})",
                          details={"last_offset": last, "compression": codec})]
    out: list[RawRecord] = []
    pos = 0
    for _ in range(count):
        try:
            record, pos = _record(body, pos, base)
        except (ValueError, IndexError, struct.error) as exc:
            offset = max(out[-1].offset + 1 if out else base, start)
            out.append(RawRecord(offset, None, None, problem=f"a record batch whose records cannot be read from "
                                 f"offset {offset} on ({type(exc).__name__}: {exc})", details={"last_offset": last}))
            break
        if record.offset >= start:
            out.append(record)
    return out


def _bytes(buf: bytes, pos: int) -> tuple[bytes | None, int]:
    n, pos = decode_varint(buf, pos)
    if n < 0:
        return None, pos
    if pos + n > len(buf):
        raise ValueError(f"{n} bytes announced, {len(buf) - pos} left")
    return bytes(buf[pos:pos + n]), pos + n


def _record(buf: bytes, pos: int, base: int) -> tuple[RawRecord, int]:
    """One record (format v2) at ``pos``: the record and the position after it."""
    length, pos = decode_varint(buf, pos)
    end = pos + length
    _, pos = decode_varint(buf, pos)  # attributes (unused)
    _, pos = decode_varint(buf, pos)  # timestamp delta
    delta, pos = decode_varint(buf, pos)
    key, pos = _bytes(buf, pos)
    value, pos = _bytes(buf, pos)
    n, pos = decode_varint(buf, pos)
    headers: list[tuple[str, bytes | None]] = []
    problem, details = None, {}
    for _ in range(n):
        name, pos = _bytes(buf, pos)
        header_value, pos = _bytes(buf, pos)
        try:
            text = (name or b"").decode()
        except UnicodeDecodeError:  # kept, escaped: every byte past ASCII as \xNN (b"\xc0\xb4" as "\\xc0\\xb4")
            text = (name or b"").decode("ascii", errors="backslashreplace")
            problem = problem or (f"a header name that is not UTF-8 ({text}): Kafka header names are UTF-8 text "
                                  "(the dead letter keeps it escaped)")
            details.setdefault("header_names_not_utf8", []).append(text)
        headers.append((text, header_value))
    if pos != end:
        raise ValueError(f"a record of {length} bytes read as {length + pos - end}")
    return RawRecord(base + delta, key, value, tuple(headers), problem, details), end
