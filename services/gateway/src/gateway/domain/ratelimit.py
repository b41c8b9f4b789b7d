"""Rate limits per client: a token bucket per caller (refills ``per_minute``, holds up to ``burst``). The buckets
the replicas share live in the database (``usecases/limits.py``); ``RateLimiter`` is a replica's own, used while
the database cannot be reached."""

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
