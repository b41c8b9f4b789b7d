"""Rate limits per client: a token bucket per caller (refills ``per_minute``, holds up to ``burst``). The buckets
the replicas share live in the database (``usecases/limits.py``); ``RateLimiter`` is a replica's own, used while
the database cannot be reached; ``Leases`` are the tokens a replica took from a shared bucket at once."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, max_callers: int = 100_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_callers = max_callers
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str, now: float) -> float:
        """Take one request from ``caller``'s bucket: 0.0 if allowed, else seconds until the next one is."""
        b = self._buckets.get(caller)
        if b is None:
            b = self._buckets[caller] = _Bucket(self.burst, now)
            if len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
            b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
            b.at = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return wait_after(b.tokens, self.rate)


def wait_after(tokens: float, per_second: float) -> float:
    """Seconds until a bucket holding ``tokens`` (< 1) has one again."""
    return max(0.0, 1.0 - tokens) / per_second if per_second > 0 else 60.0


@dataclass
class _Lease:
    tokens: int        # left to hand out here
    until: float       # not after this (monotonic seconds)
    level: float       # what the shared bucket held when they were taken


class Leases:
    """Tokens a replica took from a caller's shared bucket in one statement and hands out itself, so a busy
    caller costs the database one statement per lease instead of one per request. A lease is taken only from
    a bucket holding many tokens (at most ``1/share`` of them, at most ``most``) and kept ``for_s`` seconds;
    tokens not used by then are lost, so the limit across replicas is never exceeded and a caller spread over
    them loses at most one lease per replica. A bucket near its end is taken from one token at a time, as
    before leases (``most`` 1: always)."""

    def __init__(self, most: int, for_s: float, share: int = 8, max_callers: int = 100_000):
        self.most, self.for_s, self.share, self.max_callers = most, for_s, share, max_callers
        self._held: OrderedDict[str, _Lease] = OrderedDict()

    def take(self, bucket: str, now: float) -> bool:
        """One token from this replica's lease on ``bucket``, if it holds one still good at ``now``."""
        lease = self._held.get(bucket)
        if lease is None or lease.tokens < 1 or now > lease.until:
            return False
        lease.tokens -= 1
        return True

    def wanted(self, bucket: str) -> int:
        """How many tokens to ask the shared bucket for: one, unless it held many when last seen."""
        lease = self._held.get(bucket)
        if lease is None:
            return 1
        return max(1, min(self.most, int(lease.level // self.share)))

    def taken(self, bucket: str, tokens: int, level: float, now: float) -> None:
        """``tokens`` were taken from the shared bucket (one is this request's; 0: refused), which then held
        ``level``."""
        self._held[bucket] = _Lease(max(0, tokens - 1), now + self.for_s, level)
        self._held.move_to_end(bucket)
        if len(self._held) > self.max_callers:
            self._held.popitem(last=False)
