"""The public's live streams a replica relays (the public pages' `/ui/public/stream`, no sign-in): each holds a
connection to the dashboard from the pool the office's and the departments' live pages draw on too
(``upstream_max_streams``). One address may hold ``per_address`` of them at once and all addresses together
``total``, so neither one caller opening streams in a loop nor a crowd takes the pool from the people who
supervise: past either, a new public stream is refused (429) until one ends."""

from __future__ import annotations

from collections import Counter


class PublicStreams:
    def __init__(self, *, per_address: int, total: int):
        self.per_address, self.total = per_address, total
        self._open: Counter[str] = Counter()
        self._count = 0

    def take(self, address: str) -> bool:
        """One more stream for ``address``, if it and the replica have room; False when either is full."""
        if self._count >= self.total or self._open[address] >= self.per_address:
            return False
        self._open[address] += 1
        self._count += 1
        return True

    def give_back(self, address: str) -> None:
        """A stream of ``address`` ended."""
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
        self._count -= 1
