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
