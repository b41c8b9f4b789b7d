"""The rate-limit lease renewal in flight for each bucket on a replica (``usecases.limits``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class Renewals:
    """Each bucket's renewal in flight: a future the renewing request resolves (True: the database answered,
    False: it was away) and the requests arriving meanwhile await."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[bool]] = {}

    def in_flight(self, bucket: str) -> asyncio.Future[bool] | None:
        return self._pending.get(bucket)

    @contextmanager
    def renewing(self, bucket: str) -> Iterator[asyncio.Future[bool]]:
        done = self._pending[bucket] = asyncio.get_running_loop().create_future()
        try:
            yield done
        finally:
            del self._pending[bucket]
            if not done.done():  # the renewal failed or was cancelled: the waiting requests try for themselves
                done.set_result(True)
