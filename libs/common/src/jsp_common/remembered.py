"""Results kept until a time of their own, instead of being worked out again (a verified token until it
expires). Pure: no I/O."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
T = TypeVar("T")


class Remembered(Generic[K, T]):
    """Values kept until a time of their own (``time.time()`` seconds), at most ``size`` of them: past that, the
    one kept longest goes first."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._kept: dict[K, tuple[T, float]] = {}

    def get(self, key: K) -> T | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if time.time() > kept[1]:
            del self._kept[key]
            return None
        return kept[0]

    def put(self, key: K, value: T, until: float) -> None:
        if key not in self._kept and len(self._kept) >= self.size:
            del self._kept[next(iter(self._kept))]
        self._kept[key] = (value, until)
