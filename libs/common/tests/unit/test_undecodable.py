"""Reading record batches without the client's decoder (what the consumer loop does with a partition whose records
the client could not decode): the readable records in order, each part that cannot be read with its reason."""

import struct

from aiokafka.record.default_records import DefaultRecordBatchBuilder

from jsp_common.undecodable import read_records

NONE, LZ4 = 0, 3


def batch(base: int, records: list[tuple[bytes, bytes, list]], compression: int = NONE) -> bytearray:
    """A record batch (format v2) at offset ``base``, as the broker stores it."""
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=0, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i, (key, value, headers) in enumerate(records):
        builder.append(i, timestamp=None, key=key, value=value, headers=headers)
    raw = bytearray(builder.build())
    struct.pack_into(">q", raw, 0, base)
    return raw


def test_a_batch_that_cannot_be_decompressed_is_one_unreadable_part_between_readable_records():
    broken = batch(12, [(b"k", b"x" * 100, []), (b"k", b"y" * 100, [])], LZ4)
    broken[61 + 8:61 + 40] = b"\xff" * 32  # the compressed bytes (after the batch's header) corrupted
    raw = bytes(batch(10, [(b"a", b"one", [("ce_id", b"1")]), (b"a", b"two", [])]) + broken
                + batch(14, [(b"b", b"four", [])]) + batch(15, [(b"b", b"five", [])]))
    records, after = read_records(raw, start=11, through=12)
    assert [(r.offset, r.value, r.problem is None) for r in records] == [(11, b"two", True), (12, None, False)]
    assert records[1].problem.startswith("a record batch compressed with lz4 that cannot be decompressed")
    assert records[1].details == {"last_offset": 13, "compression": "lz4"}
    assert after == 14, "the partition goes on after the batch that failed, not further"


def test_records_are_read_as_they_were_sent_compressed_or_not():
    raw = bytes(batch(0, [(b"a", b"one", [("ce_type", b"t")]), (None, b"two", [("x", None)])], LZ4))
    records, after = read_records(raw, start=0, through=1)
    assert [(r.offset, r.key, r.value, r.headers, r.problem) for r in records] == [
        (0, b"a", b"one", (("ce_type", b"t"),), None), (1, None, b"two", (("x", None),), None)]
    assert after == 2


def test_a_batch_cut_off_at_the_end_of_the_fetch_is_left_for_the_next_read():
    whole, cut = batch(0, [(b"a", b"one", [])]), batch(1, [(b"a", b"two", [])])
    records, after = read_records(bytes(whole + cut[:-5]), start=0, through=5)
    assert [r.offset for r in records] == [0] and after == 1


def test_a_header_name_that_is_not_utf8_makes_its_record_unreadable_and_is_kept_escaped():
    """A GBK header name (a librdkafka or Go client passes the bytes through): the client cannot decode the
    record; read here, it is refused with the reason, its key, value and other headers kept."""
    raw = bytearray(batch(7, [(b"a", b"one", []), (b"a", b"two", [("ce_id", b"2"), ("src", b"v")]),
                              (b"a", b"three", [])]))
    at = raw.index(b"src")
    raw[at:at + 3] = "来".encode("gbk") + b"x"  # the same length: the record's framing holds
    records, after = read_records(bytes(raw), start=7, through=8)
    assert [(r.offset, r.value, r.problem is None) for r in records] == [(7, b"one", True), (8, b"two", False),
                                                                          (9, b"three", True)]
    assert records[1].problem.startswith("a header name that is not UTF-8 (\\xc0\\xb4x)")
    assert records[1].headers == (("ce_id", b"2"), ("\\xc0\\xb4x", b"v"))
    assert after == 10
