"""Configuration kept in the database (rule sets, routing rules, deadline policies) and read by every
handler: re-read at most every ``ttl_s`` seconds, at once after :meth:`Refreshing.invalidate` (the replica
that changed it), and within ``ttl_s`` in every other replica. (Or any other slowly changing value: the
loader's arguments are passed through, e.g. none for a list fetched from another service.)

    rules = Refreshing(load_rules, ttl_s=settings.rules_cache_s)     # deps, built once in bootstrap
    compiled = await rules.get(session)                              # in a use case, in its transaction
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")


class Refreshing(Generic[T]):
    """A value loaded by ``load(*args)`` (from the database: ``load(session)``), kept ``ttl_s`` seconds (0: read
    every time)."""

    def __init__(self, load: Callable[..., Awaitable[T]], ttl_s: float, *,
                 clock: Callable[[], float] = time.monotonic):
        self._load, self.ttl_s, self._clock = load, ttl_s, clock
        self._held: tuple[T, float] | None = None  # the value and when it was loaded

    @property
    def fresh(self) -> bool:
        """Whether :meth:`get` would answer without reading the database."""
        return self._held is not None and self._clock() - self._held[1] < self.ttl_s

    def invalidate(self) -> None:
        """The next :meth:`get` reads the database (after this replica changed the configuration)."""
        self._held = None

    async def get(self, *args: Any) -> T:
        """The value, loaded again (``load(*args)``: through the session given) when older than ``ttl_s``; a
        failed load keeps the previous value out of use (the next call loads again) and raises."""
        held = self._held
        if held is not None and self._clock() - held[1] < self.ttl_s:
            return held[0]
        self._held = None
        value = await self._load(*args)
        self._held = (value, self._clock())
        return value
