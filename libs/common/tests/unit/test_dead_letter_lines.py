"""The log lines for a poll's dead letters: one per partition and reason, every letter counted in one of them."""

from __future__ import annotations

from jsp_common.consumer import Delivery
from jsp_common.dead_lettering import Refusal, summaries


def refused(partition: int, offset: int, reason: str) -> Refusal:
    return Refusal(Delivery("hotline.workorders.v1", partition, offset, None, b"not json", ()), reason)


def test_a_flood_of_refusals_is_a_line_per_partition_and_reason_and_a_single_one_is_named_alone():
    flood = [refused(p, offset, "not an event: invalid JSON") for offset in range(100, 600) for p in (0, 1)]
    other = refused(1, 42, "unknown event type: x.y.v9")
    lines = summaries([*flood[:10], other, *flood[10:]])
    assert lines == [
        dict(reason="not an event: invalid JSON", topic="hotline.workorders.v1", partition=0, offset=100,
             count=500, last_offset=599),
        dict(reason="not an event: invalid JSON", topic="hotline.workorders.v1", partition=1, offset=100,
             count=500, last_offset=599),
        dict(reason="unknown event type: x.y.v9", topic="hotline.workorders.v1", partition=1, offset=42),
    ]
    assert sum(line.get("count", 1) for line in lines) == len(flood) + 1


def test_a_dead_letter_clipped_keeps_its_coordinates_and_reason_and_says_what_was_clipped():
    """Too large even without its value (a key or headers of about a megabyte): the key's first KiB and the original
    headers as far as they fit go with the dead letter's own headers whole."""
    from jsp_common.dead_lettering import clipped, dead_letter_headers

    d = Delivery("t.v1", 2, 7, b"K" * 900_000, b"", tuple((f"h{i}", b"v" * 5000) for i in range(40)))
    headers = dead_letter_headers(d, "g", "not JSON", None)
    key, kept = clipped(d, headers)
    assert key == b"K" * 1024
    names = [name for name, _ in kept]
    assert names[:15] == [f"h{i}" for i in range(15)] and "h15" not in names  # 16 KiB of them
    assert all(len(value) <= 1024 for name, value in kept if name.startswith("h"))
    assert dict(kept)["dlq.original.offset"] == b"7" and dict(kept)["dlq.reason"] == b"not JSON"
    assert dict(kept)["dlq.clipped"] == (b"key: 900000 bytes, its first 1024 kept; 15 original header values clipped "
                                         b"to 1024 bytes; 25 of the 40 original headers left out")
