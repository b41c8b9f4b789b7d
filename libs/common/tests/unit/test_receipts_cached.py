"""Rejection receipts read what they can of a refused message; cached configuration is re-read after its
time to live or an invalidation (no servers: the pieces with logic, driven directly)."""

from __future__ import annotations

import json

from jsp_common import receipts
from jsp_common.cached import Refreshing
from jsp_common.consumer import Delivery, PoisonContext
from jsp_common.envelope import new_envelope


class _Poison(PoisonContext):
    """A poison context whose transaction only records what is emitted."""

    emitted: list

    async def emit(self, topic, data, *, key, subject=None) -> str:
        self.emitted.append((topic, data, key))
        return "event-id"


def _poison(value: bytes | None, *, headers=(), key: bytes | None = b"KEY-1", reason="not JSON",
            details=None, envelope=None) -> _Poison:
    d = Delivery(topic="market.registrations.v1", partition=2, offset=41, key=key, value=value,
                 headers=tuple(headers))
    ctx = _Poison(session=None, source="/jsp/test", delivery=d, envelope=envelope,  # type: ignore[arg-type]
                  reason=reason, details=details)
    ctx.emitted = []
    return ctx


def test_an_unreadable_message_is_described_from_its_headers_then_its_bytes():
    raw = b'{"id": "ev-in-bytes", "type": "market.entity.registered.v1", "data": {"uscc": "9141010' 
    r = receipts.refusal_of_poison(_poison(raw, headers=[("ce_id", b"ev-in-header")]))
    assert (r.event_id, r.event_type, r.sender) == ("ev-in-header", "market.entity.registered.v1", None)
    assert r.errors is None and r.reason == "not JSON"
    assert r.string("uscc") is None  # cut off before its closing quote: nothing is made up
    assert r.key == "KEY-1" and r.delivery.offset == 41


def test_a_field_is_taken_from_the_data_before_the_bytes():
    env = new_envelope(type="market.entity.registered.v1", source="/bureau", data={"uscc": 42, "name": "甲"})
    raw = json.dumps({"data": {"uscc": "from-bytes"}}).encode()
    r = receipts.refusal_of_poison(_poison(raw, envelope=env, reason="schema-invalid: uscc: not a string",
                                           details=[{"field": "uscc", "reason": "not a string"}]))
    assert (r.event_id, r.sender) == (env.id, "/bureau")
    assert r.errors == [{"field": "uscc", "reason": "not a string"}]
    assert r.string("name") == "甲"
    assert r.string("uscc") == "from-bytes" and r.string("uscc", scan=False) is None


def test_details_that_are_not_field_level_give_no_errors_and_long_reasons_are_cut():
    r = receipts.refusal_of_poison(_poison(b"x", reason="x" * 5000, details={"attempts": 5}))
    assert r.errors is None and len(r.reason) == receipts.MAX_REASON


async def test_the_hook_emits_what_the_service_makes_of_the_refusal_and_nothing_when_it_says_none():
    ctx = _poison(b"{", key=None)
    await receipts.on_poison(lambda r: receipts.Receipt("receipts.v1", r.reason, r.key or "no-key"))(ctx)  # type: ignore[arg-type]
    await receipts.on_poison(lambda r: None)(ctx)
    assert ctx.emitted == [("receipts.v1", "not JSON", "no-key")]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_configuration_is_read_again_after_its_time_to_live_or_an_invalidation():
    reads = []

    async def load(session) -> int:
        reads.append(session)
        return len(reads)

    clock = _Clock()
    cached = Refreshing(load, ttl_s=5, clock=clock)
    assert not cached.fresh
    assert await cached.get("s1") == 1
    clock.now += 4.9
    assert await cached.get("s2") == 1 and cached.fresh
    clock.now += 0.2
    assert await cached.get("s3") == 2
    cached.invalidate()
    assert await cached.get("s4") == 3
    assert reads == ["s1", "s3", "s4"]


async def test_a_failed_read_is_not_remembered_and_no_time_to_live_reads_every_time():
    calls = 0

    async def load(session) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("database gone")
        return f"v{calls}"

    clock = _Clock()
    cached = Refreshing(load, ttl_s=0, clock=clock)
    assert await cached.get(None) == "v1"
    try:
        await cached.get(None)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failed read was hidden")
    assert not cached.fresh
    assert await cached.get(None) == "v3"
